//! `coalmine-python-parity SCENARIO SEED DIR` writes a simulated rollout in the
//! `coalmine` command's formats (`config.json`, `history.csv`, `live.csv`) and what the
//! Rust crate makes of it when fed the same values directly, without any parsing:
//! `profile.json` and `decisions.jsonl` (one serialised `Decision` and its summary per
//! tick, up to the first rollback or the promotion). It also writes `counts.json`, a
//! count behind each live value (`{"control": [[...], ...], "canary": ...}`, one row
//! per tick, `null` for an unknown count), and `decisions_counts.jsonl`, the decisions
//! on the same ticks with those counts. The Python tests read the CSV files with
//! pandas, replay them through the Python package and require the same profile and
//! decisions, bit for bit.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use coalmine::analysis::{Analysis, AnalysisConfig, Tick};
use coalmine::policy::{Level, PolicyConfig};
use coalmine::schema::{Schema, SchemaSpec};
use coalmine::traffic::{Phase, TrafficConfig, TrafficController};
use coalmine::{Error, ProfileBuilder};
use coalmine_sim::scenario::{Scenario, ScenarioKind};

/// Live ticks, as `coalmine simulate` writes.
const LIVE_TICKS: usize = 120;

fn rows(out: &mut String, ts: i64, cohort: &str, spec: &SchemaSpec, values: &[f64]) {
    let nm = spec.metrics.len();
    for (i, v) in values.iter().enumerate() {
        if v.is_nan() {
            continue;
        }
        // `{v}` prints the shortest text that reads back as the same f64.
        let _ = writeln!(
            out,
            "{ts},{cohort},{},{},{v}",
            spec.segments[i / nm].name,
            spec.metrics[i % nm].name
        );
    }
}

fn run(kind: ScenarioKind, seed: u64, dir: &Path) -> Result<(), String> {
    let s = Scenario::generate(kind, seed);
    let spec = s.schema.clone();
    let write = |name: &str, text: &str| {
        std::fs::write(dir.join(name), text).map_err(|e| format!("{name}: {e}"))
    };
    let policy = PolicyConfig::default();
    let config = serde_json::json!({
        "metrics": spec.metrics,
        "segments": spec.segments,
        "features": spec.features,
        "policy": policy,
        "traffic": s.traffic,
        "profile": s.profile_config(),
    });
    write("config.json", &config.to_string())?;

    // A tick with no value at all has no row in a CSV file, so it is left out here too.
    let mut history = String::from("timestamp,cohort,segment,metric,value\n");
    let mut builder = ProfileBuilder::new(
        Schema::new(spec.clone()).map_err(|e| e.to_string())?,
        s.profile_config(),
    )
    .map_err(|e| e.to_string())?;
    for t in s
        .history
        .iter()
        .filter(|t| t.values.iter().any(|v| !v.is_nan()))
    {
        rows(&mut history, t.timestamp, "baseline", &spec, &t.values);
        builder
            .push_tick_at(t.timestamp as f64, &t.values)
            .map_err(|e| e.to_string())?;
    }
    write("history.csv", &history)?;
    let profile = builder.build().map_err(|e| e.to_string())?;
    write("profile.json", &profile.to_json())?;

    // The live file follows a healthy ramp, as `coalmine simulate` writes it.
    let mut traffic = TrafficController::new(s.traffic_for(&TrafficConfig::default()))
        .map_err(|e| e.to_string())?;
    let mut live = String::from("timestamp,cohort,segment,metric,value\n");
    let mut ticks = Vec::new();
    for k in 0..LIVE_TICKS {
        if let Some(t) = s.live_tick(k, traffic.share()) {
            let any = t.control.iter().chain(&t.canary).any(|v| !v.is_nan());
            if any {
                rows(&mut live, t.timestamp, "control", &spec, &t.control);
                rows(&mut live, t.timestamp, "canary", &spec, &t.canary);
                ticks.push(t);
            }
        }
        traffic.apply(Level::Continue, true, true);
    }
    write("live.csv", &live)?;

    let analysis_config = AnalysisConfig {
        policy,
        traffic: s.traffic.clone().unwrap_or_default(),
        learned_thresholds: false,
        ..AnalysisConfig::default()
    };
    let cols = spec.metrics.len() * spec.segments.len();
    let counts = |canary: bool| -> Vec<Vec<f64>> {
        (0..ticks.len())
            .map(|k| (0..cols).map(|i| count(k, i, canary)).collect())
            .collect()
    };
    let (control_counts, canary_counts) = (counts(false), counts(true));
    let counts_json = serde_json::json!({"control": control_counts, "canary": canary_counts});
    write("counts.json", &counts_json.to_string())?;
    write(
        "decisions.jsonl",
        &decide(&profile, &analysis_config, &ticks, None)?,
    )?;
    write(
        "decisions_counts.jsonl",
        &decide(
            &profile,
            &analysis_config,
            &ticks,
            Some((&control_counts, &canary_counts)),
        )?,
    )
}

/// The count behind value `i` of live tick `k`: a few 0 (the value is then missing)
/// or unknown (NaN), the canary's smaller than the control's.
fn count(k: usize, i: usize, canary: bool) -> f64 {
    match (7 * k + 3 * i + canary as usize) % 19 {
        4 => 0.0,
        13 => f64::NAN,
        r => (if canary { 30.0 } else { 900.0 }) + (11 * r) as f64,
    }
}

type CountRows<'a> = (&'a [Vec<f64>], &'a [Vec<f64>]);

/// The analysis's decisions on `ticks` one by one, as JSON lines.
fn decide(
    profile: &coalmine::BehaviorProfile,
    config: &AnalysisConfig,
    ticks: &[coalmine_sim::scenario::LiveTick],
    counts: Option<CountRows<'_>>,
) -> Result<String, String> {
    let mut analysis = Analysis::new(profile, config.clone()).map_err(|e| e.to_string())?;
    let mut decisions = String::new();
    for (k, t) in ticks.iter().enumerate() {
        let d = analysis
            .observe(&Tick {
                timestamp: t.timestamp as f64,
                control: &t.control,
                canary: &t.canary,
                control_counts: counts.map(|c| c.0[k].as_slice()),
                canary_counts: counts.map(|c| c.1[k].as_slice()),
            })
            .map_err(|e: Error| e.to_string())?;
        // The rollout ends at a rollback (as the command stops there) or at promotion
        // (after which the analysis takes no more ticks).
        let rollback = d.action.level() == Level::Rollback || d.phase == Phase::Promoted;
        let decision = serde_json::to_value(d).map_err(|e| e.to_string())?;
        let line = serde_json::json!({"decision": decision, "summary": analysis.summary()});
        let _ = writeln!(decisions, "{line}");
        if rollback {
            break;
        }
    }
    Ok(decisions)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [scenario, seed, dir] = args.as_slice() else {
        eprintln!("usage: coalmine-python-parity SCENARIO SEED DIR");
        return ExitCode::from(2);
    };
    let Some(kind) = ScenarioKind::from_name(scenario) else {
        eprintln!("unknown scenario `{scenario}`");
        return ExitCode::from(2);
    };
    let Ok(seed) = seed.parse::<u64>() else {
        eprintln!("seed `{seed}` is not a number");
        return ExitCode::from(2);
    };
    match run(kind, seed, Path::new(dir)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("coalmine-python-parity: {e}");
            ExitCode::FAILURE
        }
    }
}
