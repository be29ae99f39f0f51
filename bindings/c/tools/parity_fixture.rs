//! Writes the parity fixture: simulated rollouts, each with its schema, settings,
//! history and live ticks, and the decisions the core takes on them, called from Rust
//! directly. The C and Go tests replay the same rollouts through the C ABI and must
//! take the same decisions, with the same risk to the last bit.
//!
//! Run: `cargo run --release -p coalmine-ffi --example parity_fixture -- OUT_FILE`
//!
//! The format is line-oriented text, easy to read from C: numbers are the 16 hex
//! digits of an IEEE-754 double's bits (so NaN and every last bit survive), JSON texts
//! are one line preceded by their length in bytes.
//!
//! ```text
//! coalmine-parity 2
//! rollouts N
//! rollout NAME
//! json schema BYTES / one line of JSON
//! json profile_config BYTES / ...
//! json analysis_config BYTES / ...
//! history ROWS COLS / ROWS lines of COLS numbers
//! live TICKS COLS / TICKS lines: timestamp, COLS control values, COLS canary values
//! checkpoint_at K      (replays checkpoint and restore before live tick K)
//! decisions TICKS / TICKS lines: action reason phase risk predicted_risk canary_share
//! counts TICKS COLS / TICKS lines: COLS control counts, COLS canary counts
//! counted_decisions N / N lines as `decisions`: the live ticks again, with the counts,
//!     one by one until the promotion (N < TICKS) or the last tick
//! end
//! ```

use std::fmt::Write as _;

use coalmine::{Action, Analysis, AnalysisConfig, Decision, Phase, Tick, TrafficConfig};
use coalmine_sim::scenario::{Scenario, ScenarioKind};

/// The rollouts: a healthy one with missing ticks and values, and a faulty one that
/// pauses and then rolls back on a prediction.
const ROLLOUTS: [(ScenarioKind, u64); 2] = [
    (ScenarioKind::MissingTicks, 2),
    (ScenarioKind::FeatureUsageDrop, 1),
];
const MAX_TICKS: usize = 150;

/// The count behind value `i` of live tick `k`: a few of them 0 (the value is then
/// missing) or unknown (NaN), the canary's smaller than the control's.
fn count(k: usize, i: usize, canary: bool) -> f64 {
    match (7 * k + 3 * i + canary as usize) % 19 {
        4 => 0.0,
        13 => f64::NAN,
        r => (if canary { 30.0 } else { 900.0 }) + (11 * r) as f64,
    }
}

/// A decision as a fixture line.
fn decision_line(d: &Decision) -> Result<String, Box<dyn std::error::Error>> {
    Ok(format!(
        "{} {} {} {} {} {}",
        action_name(&d.action),
        name(&d.reason)?,
        name(&d.phase)?,
        hex(d.assessment.risk),
        hex(d.assessment.predicted_risk),
        hex(d.canary_share)
    ))
}

fn hex(x: f64) -> String {
    format!("{:016x}", x.to_bits())
}

fn row(values: &[f64]) -> String {
    values.iter().map(|&v| hex(v)).collect::<Vec<_>>().join(" ")
}

fn name<T: serde::Serialize>(value: &T) -> Result<String, Box<dyn std::error::Error>> {
    // The snake_case names the core serialises its enums with.
    Ok(serde_json::to_value(value)?
        .as_str()
        .ok_or("enum did not serialise as a name")?
        .to_string())
}

fn action_name(a: &Action) -> &'static str {
    match a {
        Action::Continue => "continue",
        Action::Pause { .. } => "pause",
        Action::Rollback { .. } => "rollback",
    }
}

fn json(out: &mut String, label: &str, text: &str) {
    let _ = writeln!(out, "json {label} {}\n{text}", text.len());
}

fn rollout(
    out: &mut String,
    kind: ScenarioKind,
    seed: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    let scenario = Scenario::generate(kind, seed);
    let profile = scenario.build_profile()?;
    let config = AnalysisConfig {
        traffic: scenario.traffic_for(&TrafficConfig::default()),
        ..AnalysisConfig::default()
    };
    let mut analysis = Analysis::new(&profile, config.clone())?;
    let mut ticks = Vec::new();
    let mut decisions = Vec::new();
    for k in 0..MAX_TICKS {
        // The canary is served at the share the analysis decided, as a deployer would.
        let share = analysis.decision().canary_share;
        let Some(t) = scenario.live_tick(k, share) else {
            continue;
        };
        let d = analysis.observe(&Tick {
            timestamp: t.timestamp as f64,
            control: &t.control,
            canary: &t.canary,
            control_counts: None,
            canary_counts: None,
        })?;
        decisions.push(decision_line(d)?);
        let done = matches!(d.phase, Phase::RolledBack | Phase::Promoted);
        ticks.push(t);
        if done {
            break;
        }
    }
    let cols = scenario.schema.metrics.len() * scenario.schema.segments.len();
    let _ = writeln!(out, "rollout {}-{seed}", kind.name());
    json(out, "schema", &serde_json::to_string(&scenario.schema)?);
    json(
        out,
        "profile_config",
        &serde_json::to_string(&scenario.profile_config())?,
    );
    json(out, "analysis_config", &serde_json::to_string(&config)?);
    let history: Vec<&[f64]> = scenario.history_rows().collect();
    let _ = writeln!(out, "history {} {cols}", history.len());
    for h in history {
        let _ = writeln!(out, "{}", row(h));
    }
    let _ = writeln!(out, "live {} {cols}", ticks.len());
    for t in &ticks {
        let _ = writeln!(
            out,
            "{} {} {}",
            hex(t.timestamp as f64),
            row(&t.control),
            row(&t.canary)
        );
    }
    let _ = writeln!(out, "checkpoint_at {}", ticks.len() / 2);
    let _ = writeln!(out, "decisions {}", decisions.len());
    for d in decisions {
        let _ = writeln!(out, "{d}");
    }
    // The same ticks with counts, one tick per call, as the bindings' batches with
    // counts must decide them.
    let cols_counts =
        |k: usize, canary: bool| -> Vec<f64> { (0..cols).map(|i| count(k, i, canary)).collect() };
    let mut counted = Analysis::new(&profile, config)?;
    let mut counted_decisions = Vec::new();
    let _ = writeln!(out, "counts {} {cols}", ticks.len());
    for (k, t) in ticks.iter().enumerate() {
        let (cc, kc) = (cols_counts(k, false), cols_counts(k, true));
        let _ = writeln!(out, "{} {}", row(&cc), row(&kc));
        if counted.decision().phase == Phase::Promoted {
            continue;
        }
        let tick = Tick::new(t.timestamp as f64, &t.control, &t.canary).with_counts(&cc, &kc);
        counted_decisions.push(decision_line(counted.observe(&tick)?)?);
    }
    let _ = writeln!(out, "counted_decisions {}", counted_decisions.len());
    for d in counted_decisions {
        let _ = writeln!(out, "{d}");
    }
    let _ = writeln!(out, "end");
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: parity_fixture OUT_FILE")?;
    let mut out = String::from("coalmine-parity 2\n");
    let _ = writeln!(out, "rollouts {}", ROLLOUTS.len());
    for (kind, seed) in ROLLOUTS {
        rollout(&mut out, kind, seed)?;
    }
    if let Some(dir) = std::path::Path::new(&path).parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&path, out)?;
    println!("wrote {path}");
    Ok(())
}
