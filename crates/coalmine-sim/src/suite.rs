//! One configuration measured against every target: the evaluation on the tuning
//! seeds, optionally the same on held-out seeds, and optionally long A/A rollouts.
//!
//! **Long A/A rollouts.** The same version in both cohorts, observed for
//! [`SuiteConfig::long_aa_ticks`] live ticks (500 by default) on
//! [`SuiteConfig::long_aa_seeds`] seeds. An analysis takes no ticks after promotion,
//! so the ramp's dwell is stretched until the last step comes after those ticks: the
//! default ramp (1, 5, 10, 25, 50, 100 %) then spends about 100 ticks at each step
//! below 100 %, with every rule of the analysis active throughout. Any rollback is a
//! false rollback.
//!
//! Every [`ConfigReport`] ends with a *verify* table: each target of the evaluation as
//! a row, met or missed, on the tuning seeds and (when run) on the held-out seeds,
//! and the long A/A target.

use coalmine::Error;
use coalmine::analysis::AnalysisConfig;
use coalmine::policy::{Action, Reason};
use coalmine::traffic::TrafficConfig;
use serde::{Deserialize, Serialize};

use crate::eval::{
    EvalConfig, EvalReport, RunOutcome, Target, evaluate_with_progress, run_scenario_with,
    wilson_interval,
};
use crate::scenario::{Scenario, ScenarioKind, SimConfig};

/// What to run for one configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SuiteConfig {
    /// The configuration's name (a [`SimConfig::PRESETS`] name, or free text).
    pub name: String,
    /// The evaluation on the tuning seeds (its `sim` is the configuration).
    pub eval: EvalConfig,
    /// Held-out seeds, `(first, count)`: the same evaluation on them (default none;
    /// the reports use 1001 and 100).
    pub held_out: Option<(u64, u64)>,
    /// Seeds of long A/A rollouts (default 0: none; the target is stated for 100).
    pub long_aa_seeds: u64,
    /// Live ticks of each long A/A rollout (default 500).
    pub long_aa_ticks: usize,
}

impl Default for SuiteConfig {
    fn default() -> Self {
        SuiteConfig {
            name: "half-hour".into(),
            eval: EvalConfig::default(),
            held_out: None,
            long_aa_seeds: 0,
            long_aa_ticks: 500,
        }
    }
}

impl SuiteConfig {
    /// The suite of preset `name` (see [`SimConfig::preset`]) with the default
    /// evaluation settings; `None` for an unknown name.
    pub fn preset(name: &str) -> Option<SuiteConfig> {
        let sim = SimConfig::preset(name)?;
        Some(SuiteConfig {
            name: name.to_string(),
            eval: EvalConfig {
                sim,
                ..EvalConfig::default()
            },
            ..SuiteConfig::default()
        })
    }
}

/// Long A/A rollouts of one configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LongAaReport {
    /// The first seed.
    pub first_seed: u64,
    /// Rollouts (one per seed).
    pub runs: usize,
    /// Live ticks each was observed for (at most; a rollback ends one).
    pub ticks: usize,
    /// The ramp used.
    pub steps: Vec<f64>,
    /// Ticks each step lasts at least (stretched so that promotion comes after
    /// `ticks`).
    pub dwell: u32,
    /// Rollouts rolled back (false rollbacks), as `(seed, live tick, reason)`.
    pub rollbacks: Vec<(u64, usize, Option<Reason>)>,
    /// Rollouts with at least one pause.
    pub paused: usize,
    /// `rollbacks.len() / runs`.
    pub rate: f64,
    /// The target's row.
    pub target: Target,
}

/// One configuration's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigReport {
    /// What was run.
    pub config: SuiteConfig,
    /// The evaluation on the tuning seeds.
    pub tuning: EvalReport,
    /// The evaluation on the held-out seeds, if run.
    pub held_out: Option<EvalReport>,
    /// The long A/A rollouts, if run.
    pub long_aa: Option<LongAaReport>,
}

/// Runs long A/A rollouts: `seeds` seeds from `first_seed`, `ticks` live ticks each,
/// with the count behind each value when `with_counts`.
/// See the [module documentation](self).
pub fn long_aa(
    sim: &SimConfig,
    analysis: &AnalysisConfig,
    first_seed: u64,
    seeds: u64,
    ticks: usize,
    with_counts: bool,
    mut progress: impl FnMut(usize, usize),
) -> Result<LongAaReport, Error> {
    let steps = analysis.traffic.steps.clone();
    let transitions = steps.len().saturating_sub(1).max(1);
    // The configured dwell as the analysis will count it at the simulated interval.
    let configured = analysis
        .at_interval(Some(sim.tick_seconds as f64))?
        .traffic
        .min_dwell_ticks;
    let dwell = u32::try_from(ticks.div_ceil(transitions) + 1)
        .unwrap_or(u32::MAX)
        .max(configured);
    let config = AnalysisConfig {
        traffic: TrafficConfig {
            min_dwell_ticks: dwell,
            min_dwell_seconds: None,
            ..analysis.traffic.clone()
        },
        ..analysis.clone()
    };
    let total = usize::try_from(seeds).unwrap_or(usize::MAX);
    let (mut rollbacks, mut paused) = (Vec::new(), 0);
    for (i, seed) in (first_seed..first_seed.saturating_add(seeds)).enumerate() {
        let sc = Scenario::generate_with(ScenarioKind::AaIdentical, seed, sim);
        let profile = sc.build_profile()?;
        let mut was_paused = false;
        let r = run_scenario_with(&sc, &profile, &config, ticks, with_counts, |_, d| {
            was_paused |= matches!(d.action, Action::Pause { .. });
        })?;
        paused += usize::from(was_paused);
        if r.outcome == RunOutcome::RolledBack {
            rollbacks.push((seed, r.decided_at.unwrap_or(0), r.rollback_reason));
        }
        progress(i + 1, total);
    }
    let runs = total;
    let rate = if runs == 0 {
        0.0
    } else {
        rollbacks.len() as f64 / runs as f64
    };
    let target = Target {
        name: format!("A/A over {ticks} ticks: false rollbacks"),
        goal: "≤ 1 %".into(),
        measured: (runs > 0).then_some(rate),
        is_share: true,
        met: (runs > 0).then_some(rate <= 0.01),
        count: Some((rollbacks.len(), runs)),
        interval: (runs > 0).then(|| wilson_interval(rollbacks.len(), runs)),
        unit: None,
    };
    Ok(LongAaReport {
        first_seed,
        runs,
        ticks,
        steps,
        dwell,
        rollbacks,
        paused,
        rate,
        target,
    })
}

/// Runs one configuration: the evaluation, then the held-out seeds and the long A/A
/// rollouts when asked for. `progress(stage, done, total)` after every rollout.
pub fn run_suite(
    config: &SuiteConfig,
    mut progress: impl FnMut(&str, usize, usize),
) -> Result<ConfigReport, Error> {
    let tuning = evaluate_with_progress(&config.eval, |d, t| progress("tuning seeds", d, t))?;
    let held_out = match config.held_out {
        Some((first_seed, seeds)) => Some(evaluate_with_progress(
            &EvalConfig {
                first_seed,
                seeds,
                ..config.eval.clone()
            },
            |d, t| progress("held-out seeds", d, t),
        )?),
        None => None,
    };
    let long_aa = if config.long_aa_seeds > 0 {
        Some(long_aa(
            &config.eval.sim,
            &config.eval.analysis,
            1,
            config.long_aa_seeds,
            config.long_aa_ticks,
            config.eval.with_counts,
            |d, t| progress("long A/A", d, t),
        )?)
    } else {
        None
    };
    Ok(ConfigReport {
        config: config.clone(),
        tuning,
        held_out,
        long_aa,
    })
}

fn measured(t: &Target) -> String {
    match (t.measured, t.is_share) {
        (None, _) => "n/a".to_string(),
        (Some(v), true) => match (t.count, t.interval) {
            (Some((k, n)), Some((lo, hi))) => format!(
                "{:.1} % ({k}/{n}; CI {:.1}–{:.1} %)",
                100.0 * v,
                100.0 * lo,
                100.0 * hi
            ),
            _ => format!("{:.1} %", 100.0 * v),
        },
        (Some(v), false) => match t.unit.as_deref() {
            None => format!("{v:.1} ticks"),
            Some("×") => format!("{v:.2}×"),
            Some("count") => format!("{v:.0}"),
            Some(u) => format!("{v:.0} {u}"),
        },
    }
}

fn status(t: Option<&Target>) -> &'static str {
    match t.and_then(|t| t.met) {
        Some(true) => "met",
        Some(false) => "**missed**",
        None => "–",
    }
}

impl ConfigReport {
    /// The report as Markdown: the configuration, the tuning seeds' tables, the
    /// held-out seeds' targets, the long A/A rollouts and the verify table.
    pub fn to_markdown(&self) -> String {
        let c = &self.config;
        let e = &c.eval;
        let mut out = format!(
            "## Configuration `{}`\n\n{} ticks per day ({} s per tick), {} days of history, \
             users ×{} (segments ×{:?}), requests per user per tick ×{:.4}, error metric {}, \
             faults from the first tick with probability {:.2} else at ticks {}–{}; traps \
             {}.\n\n",
            c.name,
            e.sim.ticks_per_day,
            e.sim.tick_seconds,
            e.sim.history_days,
            e.sim.users_scale,
            e.sim.segment_scale,
            e.sim.volume,
            if e.sim.critical_errors {
                "critical"
            } else {
                "not critical"
            },
            e.sim.onset.at_start,
            e.sim.onset.first,
            e.sim.onset.last,
            serde_json::to_string(&e.sim.traps).unwrap_or_default(),
        );
        out.push_str(&self.tuning.to_markdown());
        if let Some(h) = &self.held_out {
            let hc = &h.config;
            out.push_str(&format!(
                "\nHeld-out seeds {}–{} ({} rollouts):\n\n| target | goal | measured | status |\n\
                 | --- | --- | ---: | --- |\n",
                hc.first_seed,
                hc.first_seed.saturating_add(hc.seeds).saturating_sub(1),
                h.runs.len()
            ));
            for t in &h.targets {
                out.push_str(&format!(
                    "| {} | {} | {} | {} |\n",
                    t.name,
                    t.goal,
                    measured(t),
                    status(Some(t))
                ));
            }
        }
        if let Some(a) = &self.long_aa {
            out.push_str(&format!(
                "\nLong A/A: {} rollouts (seeds {}–{}) of {} live ticks, ramp {:?} with each step \
                 lasting {} ticks; {} rolled back{}; {} paused at least once.\n",
                a.runs,
                a.first_seed,
                a.first_seed + a.runs as u64 - 1,
                a.ticks,
                a.steps,
                a.dwell,
                a.rollbacks.len(),
                if a.rollbacks.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (seed, tick, reason: {})",
                        a.rollbacks
                            .iter()
                            .map(|(s, k, r)| {
                                let why = r
                                    .and_then(|r| serde_json::to_string(&r).ok())
                                    .unwrap_or_default();
                                format!("{s}, {k}, {}", why.trim_matches('"'))
                            })
                            .collect::<Vec<_>>()
                            .join("; ")
                    )
                },
                a.paused,
            ));
        }
        out.push_str(&self.verify_markdown());
        out
    }

    /// The verify table: every target as a row, met or missed, per seed set.
    pub fn verify_markdown(&self) -> String {
        let t = &self.tuning.config;
        let tuning = format!(
            "seeds {}–{}",
            t.first_seed,
            t.first_seed.saturating_add(t.seeds).saturating_sub(1)
        );
        let held = self.held_out.as_ref().map(|h| {
            format!(
                "held-out {}–{}",
                h.config.first_seed,
                h.config
                    .first_seed
                    .saturating_add(h.config.seeds)
                    .saturating_sub(1)
            )
        });
        let mut out = format!(
            "\nVerify (`{}`):\n\n| target | goal | {tuning} | status |{}\n| --- | --- | ---: | --- |{}\n",
            self.config.name,
            held.as_ref()
                .map_or(String::new(), |h| format!(" {h} | status |")),
            if held.is_some() { " ---: | --- |" } else { "" },
        );
        for row in &self.tuning.targets {
            let other = self
                .held_out
                .as_ref()
                .and_then(|h| h.targets.iter().find(|x| x.name == row.name));
            out.push_str(&format!(
                "| {} | {} | {} | {} |",
                row.name,
                row.goal,
                measured(row),
                status(Some(row))
            ));
            if self.held_out.is_some() {
                out.push_str(&format!(
                    " {} | {} |",
                    other.map_or("n/a".to_string(), measured),
                    status(other)
                ));
            }
            out.push('\n');
        }
        if let Some(a) = &self.long_aa {
            let t = &a.target;
            out.push_str(&format!(
                "| {} ({} seeds) | {} | {} | {} |{}\n",
                t.name,
                a.runs,
                t.goal,
                measured(t),
                status(Some(t)),
                if self.held_out.is_some() {
                    " – | – |"
                } else {
                    ""
                }
            ));
        }
        out
    }

    /// The report as JSON (configuration, every report and every run).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}
