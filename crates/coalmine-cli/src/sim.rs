//! `simulate`, `eval` and `demo`: the scenario simulator and the evaluation harness
//! from the shell.

use std::fmt::Write as _;
use std::path::Path;

use coalmine::policy::Level;
use coalmine::traffic::{TrafficConfig, TrafficController};
use coalmine_sim::eval::EvalConfig;
use coalmine_sim::scenario::{Scenario, ScenarioKind, SimConfig};
use coalmine_sim::suite::{SuiteConfig, run_suite};

use crate::CliError;
use crate::analyze::Printer;
use crate::config::ConfigFile;
use crate::output::{Out, note, write_file};
use crate::progress::Progress;
use crate::replay::Replayer;
use crate::report;
use crate::timestamp::Style;

/// Live ticks written by `simulate` and streamed by `demo`.
const LIVE_TICKS: usize = 120;

/// Most seeds `eval` accepts per scenario type: about two hours of work at the time of
/// writing (15 rollouts per seed take under a second).
pub const MAX_SEEDS: u64 = 10_000;

/// The scenario names, for the command line's list of possible values.
pub fn scenario_names() -> Vec<&'static str> {
    ScenarioKind::ALL.iter().map(|k| k.name()).collect()
}

fn kind(name: &str) -> Result<ScenarioKind, CliError> {
    ScenarioKind::from_name(name).ok_or_else(|| {
        CliError::Usage(format!(
            "unknown scenario `{name}`; known: {}",
            scenario_names().join(", ")
        ))
    })
}

/// Refuses to write into `out` if it holds anything, unless `force`.
fn check_folder(out: &Path, force: bool) -> Result<(), CliError> {
    let name = out.display();
    match std::fs::read_dir(out) {
        Ok(mut entries) => {
            if entries.next().is_some() && !force {
                return Err(CliError::Usage(format!(
                    "{name} is not empty: refusing to overwrite what it holds (pass --force to \
                     replace config.toml, history.csv and live.csv in it)"
                )));
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(CliError::Output {
            target: name.to_string(),
            message: e.to_string(),
        }),
    }
}

fn config_of(s: &Scenario) -> ConfigFile {
    ConfigFile {
        metrics: s.schema.metrics.clone(),
        segments: s.schema.segments.clone(),
        features: s.schema.features.clone(),
        policy: Some(coalmine::policy::PolicyConfig::default()),
        // A scenario that holds its canary at one share needs the dwell that holds it.
        traffic: if s.hold_share {
            Some(s.traffic_for(&TrafficConfig::default()))
        } else {
            s.traffic.clone()
        },
        risk: None,
        profile: Some(s.profile_config()),
        feedback: None,
        source: None,
        // The written [policy] table carries both thresholds.
        explicit_thresholds: true,
    }
}

/// Rows of one cohort's tick; with `counts` (laid out like `values`), each row gets
/// the sixth column, empty where the count is unknown.
fn csv_rows(
    out: &mut String,
    ts: i64,
    cohort: &str,
    s: &Scenario,
    values: &[f64],
    counts: Option<&[f64]>,
) {
    let nm = s.schema.metrics.len();
    for (i, v) in values.iter().enumerate() {
        if v.is_nan() {
            continue;
        }
        let seg = &s.schema.segments[i / nm].name;
        let metric = &s.schema.metrics[i % nm].name;
        let _ = write!(out, "{ts},{cohort},{seg},{metric},{v}");
        if let Some(counts) = counts {
            match counts.get(i) {
                Some(n) if n.is_finite() => {
                    let _ = write!(out, ",{n}");
                }
                _ => out.push(','),
            }
        }
        out.push('\n');
    }
}

/// `coalmine simulate`: writes config.toml, history.csv and live.csv. The live file is
/// generated with the canary share a healthy rollout would have (the ramp advancing on
/// schedule), since a file cannot react to decisions; `demo` and `eval` stream instead.
/// With `counts`, live.csv has the sixth column `count`: the count behind each value
/// (requests, users, instances). History keeps five columns: a profile does not use
/// counts.
pub fn simulate(
    name: &str,
    seed: u64,
    out: &Path,
    force: bool,
    counts: bool,
    progress: Progress,
) -> Result<(), CliError> {
    let kind = kind(name)?;
    check_folder(out, force)?;
    let s = Scenario::generate(kind, seed);
    std::fs::create_dir_all(out).map_err(|e| CliError::Output {
        target: out.display().to_string(),
        message: e.to_string(),
    })?;
    write_file(
        &out.join("config.toml"),
        config_of(&s).to_toml()?.as_bytes(),
    )?;
    let mut history = String::from("timestamp,cohort,segment,metric,value\n");
    for t in &s.history {
        csv_rows(&mut history, t.timestamp, "baseline", &s, &t.values, None);
    }
    write_file(&out.join("history.csv"), history.as_bytes())?;
    let mut traffic = TrafficController::new(s.traffic_for(&TrafficConfig::default()))?;
    let mut live = String::from(if counts {
        "timestamp,cohort,segment,metric,value,count\n"
    } else {
        "timestamp,cohort,segment,metric,value\n"
    });
    for k in 0..LIVE_TICKS {
        if let Some(t) = s.live_tick(k, traffic.share()) {
            let (control, canary) = if counts {
                (Some(&t.control_counts[..]), Some(&t.canary_counts[..]))
            } else {
                (None, None)
            };
            csv_rows(&mut live, t.timestamp, "control", &s, &t.control, control);
            csv_rows(&mut live, t.timestamp, "canary", &s, &t.canary, canary);
        }
        traffic.apply(Level::Continue, true, true);
    }
    write_file(&out.join("live.csv"), live.as_bytes())?;
    if progress.chatty() {
        note(format_args!(
            "wrote {} scenario (seed {seed}) to {}: config.toml, history.csv ({} ticks), live.csv ({LIVE_TICKS} ticks{})",
            s.kind.name(),
            out.display(),
            s.history.len(),
            s.onset()
                .map_or(String::new(), |o| format!(", fault from tick {o}"))
        ));
    }
    Ok(())
}

/// The configuration names `eval --config` accepts.
pub fn config_names() -> Vec<&'static str> {
    let mut names = SimConfig::PRESETS.to_vec();
    names.push("all");
    names
}

/// What `coalmine eval` was asked for.
pub struct EvalArgs {
    /// Seeds per scenario type.
    pub seeds: u64,
    /// Scenario names (empty: all).
    pub scenarios: Vec<String>,
    /// JSON instead of Markdown.
    pub json: bool,
    /// Configuration names (empty: the default; `all`: every preset).
    pub configs: Vec<String>,
    /// Held-out seeds 1001–1100 beside the others.
    pub held_out: bool,
    /// 100 A/A rollouts of 500 ticks.
    pub long_aa: bool,
    /// Give the analysis the count behind each value.
    pub counts: bool,
}

/// `coalmine eval`. One configuration without the long modes prints the evaluation's
/// report as it always has; otherwise one report per configuration, each with its
/// verify table (JSON: an array).
pub fn eval(args: &EvalArgs, progress: Progress) -> Result<(), CliError> {
    let seeds = args.seeds;
    if !(1..=MAX_SEEDS).contains(&seeds) {
        return Err(CliError::Usage(format!(
            "--seeds {seeds}: between 1 and {MAX_SEEDS} seeds per scenario type"
        )));
    }
    let mut base = EvalConfig {
        seeds,
        with_counts: args.counts,
        ..EvalConfig::default()
    };
    if !args.scenarios.is_empty() {
        base.kinds = args
            .scenarios
            .iter()
            .map(|name| kind(name))
            .collect::<Result<_, _>>()?;
    }
    let mut names: Vec<&str> = Vec::new();
    for c in &args.configs {
        if c == "all" {
            names.extend(SimConfig::PRESETS);
        } else {
            names.push(c);
        }
    }
    if names.is_empty() {
        names.push("half-hour");
    }
    let mut reports = Vec::with_capacity(names.len());
    for name in names {
        let suite = SuiteConfig::preset(name).ok_or_else(|| {
            CliError::Usage(format!(
                "unknown configuration `{name}`; known: {}",
                config_names().join(", ")
            ))
        })?;
        let suite = SuiteConfig {
            eval: EvalConfig {
                sim: suite.eval.sim.clone(),
                ..base.clone()
            },
            held_out: args.held_out.then_some((1001, 100)),
            long_aa_seeds: if args.long_aa { 100 } else { 0 },
            ..suite
        };
        let mut total = base.kinds.len() as u64 * seeds;
        if args.held_out {
            total += base.kinds.len() as u64 * 100;
        }
        if args.long_aa {
            total += 100;
        }
        let bar = progress.count(total, "rollouts");
        let mut offset = 0u64;
        let mut stage_seen = String::new();
        let mut last = 0u64;
        reports.push(run_suite(&suite, |stage, done, _| {
            if stage != stage_seen {
                offset += last;
                stage_seen = stage.to_string();
            }
            last = done as u64;
            if let Some(bar) = &bar {
                bar.set_position(offset + last);
            }
        })?);
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
    }
    let mut out = Out::stdout();
    let single = reports.len() == 1 && !args.held_out && !args.long_aa;
    match (single, args.json) {
        (true, true) => out.print(format_args!("{}\n", reports[0].tuning.to_json()))?,
        (true, false) => out.print(format_args!("{}", reports[0].tuning.to_markdown()))?,
        (false, true) => out.print(format_args!(
            "{}\n",
            serde_json::to_string_pretty(&reports).unwrap_or_default()
        ))?,
        (false, false) => {
            for r in &reports {
                out.print(format_args!("{}\n", r.to_markdown()))?;
            }
        }
    }
    out.finish()
}

/// `coalmine demo`: a healthy and a faulty release of the simulated service, streamed
/// through the analysis with timelines, verdicts and an HTML report.
pub fn demo(report_path: &Path) -> Result<(), CliError> {
    let mut out = Out::stdout();
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
        out.print(format_args!(
            "== {title}{}\n",
            s.onset()
                .map_or(String::new(), |o| format!(" — fault from live tick {o}"))
        ))?;
        let mut r = Replayer::new(&profile, config, true)?;
        let mut printer = Printer::new(&mut out, false);
        for k in 0..LIVE_TICKS {
            let Some(t) = s.live_tick(k, r.share()) else {
                continue;
            };
            let rec = r.push(t.timestamp as f64, Style::Unix, &t.control, &t.canary, None)?;
            printer.tick(rec)?;
            if rec.level == Level::Rollback || r.done() {
                break;
            }
        }
        let replay = r.finish();
        printer.summary(&replay)?;
        out.print(format_args!("\n"))?;
        pages.push((title, replay));
    }
    let html = report::html_pages(&pages, "coalmine demo");
    write_file(report_path, html.as_bytes())?;
    out.print(format_args!("report: {}\n", report_path.display()))?;
    out.finish()
}
