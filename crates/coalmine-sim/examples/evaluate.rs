//! Runs the evaluation harness and prints the Markdown report (or JSON with `--json`).
//!
//! ```sh
//! cargo run --release -p coalmine-sim --example evaluate -- --seeds 20
//! cargo run --release -p coalmine-sim --example evaluate -- --seeds 5 --kind memory-leak --json
//! ```

use coalmine_sim::{EvalConfig, ScenarioKind, evaluate_with_progress};

fn main() {
    let mut config = EvalConfig::default();
    let mut json = false;
    let mut kinds = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--json" => json = true,
            "--seeds" => match args.next().and_then(|v| v.parse().ok()) {
                Some(n) => config.seeds = n,
                None => return usage("--seeds needs a number"),
            },
            "--first-seed" => match args.next().and_then(|v| v.parse().ok()) {
                Some(n) => config.first_seed = n,
                None => return usage("--first-seed needs a number"),
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
    let start = std::time::Instant::now();
    let report = evaluate_with_progress(&config, |done, total| {
        eprint!("\r{done}/{total} rollouts");
    });
    eprintln!(" in {:.1} s", start.elapsed().as_secs_f64());
    match report {
        Ok(r) if json => println!("{}", r.to_json()),
        Ok(r) => print!("{}", r.to_markdown()),
        Err(e) => {
            eprintln!("evaluation failed: {e}");
            std::process::exit(1);
        }
    }
}

fn usage(problem: &str) {
    eprintln!("{problem}");
    eprintln!("usage: evaluate [--seeds N] [--first-seed N] [--kind NAME]... [--json]");
    let names: Vec<&str> = ScenarioKind::ALL.iter().map(|k| k.name()).collect();
    eprintln!("scenario names: {}", names.join(", "));
    std::process::exit(2);
}
