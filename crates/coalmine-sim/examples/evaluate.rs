//! Runs the evaluation harness and prints the Markdown report (or JSON with `--json`).
//!
//! ```sh
//! cargo run --release -p coalmine-sim --example evaluate -- --seeds 20
//! cargo run --release -p coalmine-sim --example evaluate -- --seeds 5 --kind memory-leak --json
//! cargo run --release -p coalmine-sim --example evaluate -- --config one-minute
//! cargo run --release -p coalmine-sim --example evaluate -- --config all --held-out --long-aa
//! ```
//!
//! `--config NAME` picks a simulator configuration (`half-hour`, the default,
//! `half-hour-wide`, `one-minute`, `uneven-segments`, or `all`; repeatable).
//! `--counts` gives the analysis the count behind each value (the "with counts" run
//! mode; without it, values only). `--held-out` adds seeds 1001–1100 beside the tuning seeds, `--long-aa` adds 100
//! A/A rollouts of 500 live ticks. With one configuration and neither long mode the
//! report is the evaluation's own; otherwise one report per configuration, each with
//! its verify table (JSON: an array of them). `--json-file PATH` also writes the
//! configuration reports as JSON to PATH. `--analysis PATH` reads the analysis
//! settings (an `AnalysisConfig` as JSON) instead of the defaults.

use coalmine_sim::{EvalConfig, ScenarioKind, SimConfig, SuiteConfig, run_suite};

fn main() {
    let mut config = EvalConfig::default();
    let mut json = false;
    let mut json_file: Option<String> = None;
    let (mut held_out, mut long) = (false, false);
    let mut kinds = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--json" => json = true,
            "--held-out" => held_out = true,
            "--counts" => config.with_counts = true,
            "--json-file" => match args.next() {
                Some(p) => json_file = Some(p),
                None => return usage("--json-file needs a path"),
            },
            "--long-aa" => long = true,
            "--analysis" => match args.next().map(|p| {
                std::fs::read_to_string(&p)
                    .map_err(|e| e.to_string())
                    .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
            }) {
                Some(Ok(a)) => config.analysis = a,
                Some(Err(e)) => return usage(&format!("--analysis: {e}")),
                None => return usage("--analysis needs a path"),
            },
            "--seeds" => match args.next().and_then(|v| v.parse().ok()) {
                Some(n) => config.seeds = n,
                None => return usage("--seeds needs a number"),
            },
            "--first-seed" => match args.next().and_then(|v| v.parse().ok()) {
                Some(n) => config.first_seed = n,
                None => return usage("--first-seed needs a number"),
            },
            "--config" => match args.next() {
                Some(n) if n == "all" => {
                    names.extend(SimConfig::PRESETS.iter().map(|s| s.to_string()))
                }
                Some(n) if SimConfig::preset(&n).is_some() => names.push(n),
                _ => return usage("--config needs a configuration name"),
            },
            "--kind" => match args.next().as_deref().and_then(ScenarioKind::from_name) {
                Some(k) => kinds.push(k),
                None => return usage("--kind needs a scenario name"),
            },
            other => return usage(&format!("unknown argument {other}")),
        }
    }
    if !kinds.is_empty() {
        config.kinds = kinds;
    }
    if names.is_empty() {
        names.push("half-hour".into());
    }
    let start = std::time::Instant::now();
    let mut reports = Vec::new();
    for name in &names {
        let Some(sim) = SimConfig::preset(name) else {
            return usage("--config needs a configuration name");
        };
        let suite = SuiteConfig {
            name: name.clone(),
            eval: EvalConfig {
                sim,
                ..config.clone()
            },
            held_out: held_out.then_some((1001, 100)),
            long_aa_seeds: if long { 100 } else { 0 },
            ..SuiteConfig::default()
        };
        let report = run_suite(&suite, |stage, done, total| {
            eprint!("\r{name}, {stage}: {done}/{total} rollouts   ");
        });
        eprintln!();
        match report {
            Ok(r) => reports.push(r),
            Err(e) => {
                eprintln!("evaluation failed: {e}");
                std::process::exit(1);
            }
        }
    }
    eprintln!("in {:.1} s", start.elapsed().as_secs_f64());
    if let Some(path) = json_file {
        let text = serde_json::to_string_pretty(&reports).unwrap_or_default();
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("cannot write {path}: {e}");
            std::process::exit(1);
        }
    }
    match (reports.as_slice(), held_out || long, json) {
        ([one], false, true) => println!("{}", one.tuning.to_json()),
        ([one], false, false) => print!("{}", one.tuning.to_markdown()),
        (all, _, true) => println!("{}", serde_json::to_string_pretty(all).unwrap_or_default()),
        (all, _, false) => {
            for r in all {
                println!("{}", r.to_markdown());
            }
        }
    }
}

fn usage(problem: &str) {
    eprintln!("{problem}");
    eprintln!(
        "usage: evaluate [--seeds N] [--first-seed N] [--kind NAME]... [--config NAME|all]... \
         [--held-out] [--long-aa] [--counts] [--analysis PATH] [--json] [--json-file PATH]"
    );
    let names: Vec<&str> = ScenarioKind::ALL.iter().map(|k| k.name()).collect();
    eprintln!("scenario names: {}", names.join(", "));
    eprintln!("configurations: {}", SimConfig::PRESETS.join(", "));
    std::process::exit(2);
}
