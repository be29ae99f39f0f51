//! `simulate`, `eval` and `demo`: the scenario simulator and the evaluation harness
//! from the shell.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::path::Path;

use coalmine::policy::Level;
use coalmine::traffic::{TrafficConfig, TrafficController};
use coalmine_sim::eval::{EvalConfig, evaluate_with_progress};
use coalmine_sim::scenario::{Scenario, ScenarioKind};

use crate::CliError;
use crate::analyze::{Replayer, print_replay};
use crate::config::ConfigFile;
use crate::report;

/// Live ticks written by `simulate` and streamed by `demo`.
const LIVE_TICKS: usize = 120;

fn kind(name: &str) -> Result<ScenarioKind, CliError> {
    ScenarioKind::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = ScenarioKind::ALL.iter().map(|k| k.name()).collect();
        CliError::Runtime(format!(
            "unknown scenario `{name}`; known: {}",
            names.join(", ")
        ))
    })
}

fn config_of(s: &Scenario) -> ConfigFile {
    ConfigFile {
        metrics: s.schema.metrics.clone(),
        segments: s.schema.segments.clone(),
        features: s.schema.features.clone(),
        policy: Some(coalmine::policy::PolicyConfig::default()),
        traffic: s.traffic.clone(),
        risk: None,
        profile: Some(s.profile_config()),
    }
}

fn csv_rows(out: &mut String, ts: i64, cohort: &str, s: &Scenario, values: &[f64]) {
    let nm = s.schema.metrics.len();
    for (i, v) in values.iter().enumerate() {
        if v.is_nan() {
            continue;
        }
        let seg = &s.schema.segments[i / nm].name;
        let metric = &s.schema.metrics[i % nm].name;
        let _ = writeln!(out, "{ts},{cohort},{seg},{metric},{v}");
    }
}

/// `coalmine simulate`: writes config.toml, history.csv and live.csv. The live file is
/// generated with the canary share a healthy rollout would have (the ramp advancing on
/// schedule), since a file cannot react to decisions; `demo` and `eval` stream instead.
pub fn simulate(name: &str, seed: u64, out: &Path) -> Result<(), CliError> {
    let s = Scenario::generate(kind(name)?, seed);
    std::fs::create_dir_all(out).map_err(|e| CliError::io(out, e))?;
    let write = |file: &str, text: String| {
        let path = out.join(file);
        std::fs::write(&path, text).map_err(|e| CliError::io(&path, e))
    };
    write("config.toml", config_of(&s).to_toml())?;
    let mut history = String::from("timestamp,cohort,segment,metric,value\n");
    for t in &s.history {
        csv_rows(&mut history, t.timestamp, "baseline", &s, &t.values);
    }
    write("history.csv", history)?;
    let mut traffic = TrafficController::new(s.traffic_for(&TrafficConfig::default()))?;
    let mut live = String::from("timestamp,cohort,segment,metric,value\n");
    for k in 0..LIVE_TICKS {
        if let Some(t) = s.live_tick(k, traffic.share()) {
            csv_rows(&mut live, t.timestamp, "control", &s, &t.control);
            csv_rows(&mut live, t.timestamp, "canary", &s, &t.canary);
        }
        traffic.apply(Level::Continue, true, true);
    }
    write("live.csv", live)?;
    eprintln!(
        "wrote {} scenario (seed {seed}) to {}: config.toml, history.csv ({} ticks), live.csv ({LIVE_TICKS} ticks{})",
        s.kind.name(),
        out.display(),
        s.history.len(),
        s.onset()
            .map_or(String::new(), |o| format!(", fault from tick {o}"))
    );
    Ok(())
}

/// `coalmine eval`.
pub fn eval(seeds: u64, json: bool) -> Result<(), CliError> {
    let config = EvalConfig {
        seeds,
        ..EvalConfig::default()
    };
    let tty = std::io::stderr().is_terminal();
    let report = evaluate_with_progress(&config, |done, total| {
        if tty {
            let width = 40;
            let filled = done * width / total.max(1);
            eprint!(
                "\r[{}{}] {done}/{total} rollouts",
                "#".repeat(filled),
                " ".repeat(width - filled)
            );
            let _ = std::io::stderr().flush();
            if done == total {
                eprintln!();
            }
        }
    })?;
    if json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_markdown());
    }
    Ok(())
}

/// `coalmine demo`: a healthy and a faulty release of the simulated service, streamed
/// through the analysis with timelines, verdicts and an HTML report.
pub fn demo(report_path: &Path) -> Result<(), CliError> {
    let mut pages = Vec::new();
    for (title, kind, seed) in [
        (
            "healthy release (identical versions)",
            ScenarioKind::AaIdentical,
            7,
        ),
        (
            "faulty release (one feature's usage drops, no errors at all)",
            ScenarioKind::FeatureUsageDrop,
            7,
        ),
    ] {
        let s = Scenario::generate(kind, seed);
        let profile = s.build_profile()?;
        let config = coalmine::analysis::AnalysisConfig {
            traffic: s.traffic_for(&TrafficConfig::default()),
            ..coalmine::analysis::AnalysisConfig::default()
        };
        let mut r = Replayer::new(&profile, config)?;
        for k in 0..LIVE_TICKS {
            let Some(t) = s.live_tick(k, r.share()) else {
                continue;
            };
            let rec = r.push(t.timestamp as f64, &t.control, &t.canary)?;
            if rec.level == Level::Rollback || r.done() {
                break;
            }
        }
        let replay = r.finish();
        println!(
            "== {title}{}",
            s.onset()
                .map_or(String::new(), |o| format!(" — fault from live tick {o}"))
        );
        print_replay(&replay, false);
        println!();
        pages.push((title, replay));
    }
    let html = report::html_pages(&pages, "coalmine demo");
    std::fs::write(report_path, html).map_err(|e| CliError::io(report_path, e))?;
    println!("report: {}", report_path.display());
    Ok(())
}
