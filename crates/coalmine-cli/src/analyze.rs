//! `learn` and `analyze`: profiles from history, decisions from live ticks.

use std::path::Path;

use coalmine::analysis::{Analysis, AnalysisConfig, Tick as AnalysisTick};
use coalmine::policy::{Action, Level};
use coalmine::profile::{BehaviorProfile, ProfileBuilder};
use coalmine::schema::{Schema, SchemaSpec};
use coalmine::traffic::Phase;
use serde_json::json;

use crate::config::ConfigFile;
use crate::input::{Tick, read_metrics};
use crate::{CliError, report};

/// Exit status when the rollout ends paused.
pub const EXIT_PAUSED: u8 = 3;
/// Exit status when the rollout is rolled back.
pub const EXIT_ROLLBACK: u8 = 4;

/// Learns a profile from history ticks.
pub fn learn_profile(
    config: &ConfigFile,
    schema: Schema,
    history: &[Tick],
) -> Result<BehaviorProfile, CliError> {
    let mut builder = ProfileBuilder::new(schema, config.profile_config())?;
    for t in history {
        builder.push_tick(&t.control)?;
    }
    Ok(builder.build()?)
}

/// `coalmine learn`.
pub fn learn(config: &Path, history: &Path, out: &Path) -> Result<(), CliError> {
    let cfg = ConfigFile::load(config)?;
    let schema = cfg.schema()?;
    let ticks = read_metrics(history, &schema, true)?;
    let profile = learn_profile(&cfg, schema, &ticks)?;
    std::fs::write(out, profile.to_json()).map_err(|e| CliError::io(out, e))?;
    eprintln!(
        "learnt a profile from {} ticks of {} segments x {} metrics into {}",
        ticks.len(),
        cfg.segments.len(),
        cfg.metrics.len(),
        out.display()
    );
    Ok(())
}

/// One replayed tick, for timelines and reports.
#[derive(Debug, Clone)]
pub struct Record {
    /// Unix seconds.
    pub timestamp: f64,
    /// Risk.
    pub risk: f64,
    /// Predicted risk.
    pub predicted: f64,
    /// The action's level.
    pub level: Level,
    /// Canary share after the decision.
    pub share: f64,
    /// One-line summary.
    pub summary: String,
    /// Per series: control, canary, expected (profile forecast), band half-width.
    pub series: Vec<[f64; 4]>,
}

/// The outcome of a replay.
#[derive(Debug, Clone)]
pub struct Replay {
    /// Per tick.
    pub records: Vec<Record>,
    /// "promote", "pause" or "rollback".
    pub verdict: &'static str,
    /// Timestamp of the rollback.
    pub decided_at: Option<f64>,
    /// The highest risk.
    pub max_risk: f64,
    /// The contributors behind the verdict: (segment, metric, deviation, p-value).
    pub contributors: Vec<(usize, usize, f64, f64)>,
    /// Thresholds (t1, t2).
    pub thresholds: (f64, f64),
    /// The schema replayed against.
    pub schema: SchemaSpec,
}

/// Feeds ticks to an analysis one at a time and records what a report needs.
pub struct Replayer {
    analysis: Analysis,
    records: Vec<Record>,
    max_risk: f64,
    decided_at: Option<f64>,
    strongest: Vec<(usize, usize, f64, f64)>,
    schema: SchemaSpec,
}

impl Replayer {
    /// Starts a replay against `profile` with `config`.
    pub fn new(profile: &BehaviorProfile, config: AnalysisConfig) -> Result<Self, CliError> {
        Ok(Replayer {
            analysis: Analysis::new(profile, config)?,
            records: Vec::new(),
            max_risk: 0.0,
            decided_at: None,
            strongest: Vec::new(),
            schema: profile.schema_spec().clone(),
        })
    }

    /// The canary share the next tick will be served with.
    pub fn share(&self) -> f64 {
        self.analysis.decision().canary_share
    }

    /// Whether the rollout is over (rolled back or promoted).
    pub fn done(&self) -> bool {
        matches!(
            self.analysis.decision().phase,
            Phase::RolledBack | Phase::Promoted
        ) && self.analysis.ticks() > 0
    }

    /// Observes one tick.
    pub fn push(
        &mut self,
        timestamp: f64,
        control: &[f64],
        canary: &[f64],
    ) -> Result<&Record, CliError> {
        let series: Vec<[f64; 4]> = (self.analysis.series_views().enumerate())
            .map(|(i, view)| {
                let band = 2.0 * view.scale;
                let (c, k) = (control.get(i).copied(), canary.get(i).copied());
                [
                    c.unwrap_or(f64::NAN),
                    k.unwrap_or(f64::NAN),
                    view.expected,
                    band,
                ]
            })
            .collect();
        let d = self.analysis.observe(&AnalysisTick {
            timestamp,
            control,
            canary,
        })?;
        let (risk, predicted, level, share) = (
            d.assessment.risk,
            d.assessment.predicted_risk,
            d.action.level(),
            d.canary_share,
        );
        let contributors: Vec<(usize, usize, f64, f64)> = d
            .assessment
            .contributors
            .iter()
            .map(|c| (c.segment, c.metric, c.deviation, c.p_value))
            .collect();
        let rollback = matches!(d.action, Action::Rollback { .. });
        if rollback && self.decided_at.is_none() {
            self.decided_at = Some(timestamp);
            self.strongest = contributors;
        } else if self.decided_at.is_none() && risk >= self.max_risk && !contributors.is_empty() {
            self.strongest = contributors;
        }
        self.max_risk = self.max_risk.max(risk);
        let summary = self.analysis.summary();
        self.records.push(Record {
            timestamp,
            risk,
            predicted,
            level,
            share,
            summary,
            series,
        });
        self.records
            .last()
            .ok_or_else(|| CliError::Runtime("no tick recorded".into()))
    }

    /// The replay so far.
    pub fn finish(self) -> Replay {
        let verdict = match (self.decided_at, self.records.last().map(|r| r.level)) {
            (Some(_), _) => "rollback",
            (None, Some(Level::Pause)) => "pause",
            _ => "promote",
        };
        Replay {
            verdict,
            decided_at: self.decided_at,
            max_risk: self.max_risk,
            contributors: self.strongest,
            thresholds: {
                let t = self.analysis.thresholds();
                (t.pause_at, t.rollback_at)
            },
            schema: self.schema,
            records: self.records,
        }
    }
}

/// Replays live ticks through an analysis, stopping at the first rollback.
pub fn replay(
    profile: &BehaviorProfile,
    config: &ConfigFile,
    live: &[Tick],
) -> Result<Replay, CliError> {
    let mut r = Replayer::new(profile, config.analysis()?)?;
    for t in live {
        if r.push(t.timestamp, &t.control, &t.canary)?.level == Level::Rollback {
            break;
        }
    }
    Ok(r.finish())
}

fn action_name(level: Level) -> &'static str {
    match level {
        Level::Continue => "continue",
        Level::Pause => "pause",
        Level::Rollback => "rollback",
    }
}

/// Prints a replay as a timeline or as JSON lines.
pub fn print_replay(r: &Replay, json_lines: bool) {
    let names = |s: usize, m: usize| {
        (
            r.schema
                .segments
                .get(s)
                .map_or("?", |x| x.name.as_str())
                .to_string(),
            r.schema
                .metrics
                .get(m)
                .map_or("?", |x| x.name.as_str())
                .to_string(),
        )
    };
    if json_lines {
        for rec in &r.records {
            println!(
                "{}",
                json!({
                    "timestamp": rec.timestamp,
                    "risk": rec.risk,
                    "predicted_risk": rec.predicted,
                    "action": action_name(rec.level),
                    "canary_weight": rec.share,
                })
            );
        }
        let contributors: Vec<_> = r
            .contributors
            .iter()
            .map(|&(s, m, dev, p)| {
                let (segment, metric) = names(s, m);
                json!({"segment": segment, "metric": metric, "deviation": dev, "p_value": p})
            })
            .collect();
        println!(
            "{}",
            json!({
                "verdict": r.verdict,
                "decided_at": r.decided_at,
                "max_risk": r.max_risk,
                "thresholds": [r.thresholds.0, r.thresholds.1],
                "contributors": contributors,
            })
        );
    } else {
        for rec in &r.records {
            println!(
                "{:>14}  share {:>6.2} %  {}",
                format_ts(rec.timestamp),
                100.0 * rec.share,
                rec.summary
            );
        }
        println!();
        println!(
            "verdict: {} (max risk {:.2}; pause at {:.2}, roll back at {:.2})",
            r.verdict, r.max_risk, r.thresholds.0, r.thresholds.1
        );
        let mut shown: Vec<(usize, usize)> = Vec::new();
        for &(s, m, dev, p) in &r.contributors {
            if shown.contains(&(s, m)) || shown.len() == 3 {
                continue;
            }
            shown.push((s, m));
            let (segment, metric) = names(s, m);
            println!("  {metric} in {segment}: {dev:+.1} sd vs control (p = {p:.1e})");
        }
    }
}

fn format_ts(ts: f64) -> String {
    if ts.fract() == 0.0 {
        format!("{ts:.0}")
    } else {
        format!("{ts:.3}")
    }
}

/// `coalmine analyze`.
pub fn analyze(
    config: &Path,
    history: Option<&Path>,
    profile: Option<&Path>,
    live: &Path,
    json_lines: bool,
    report_path: Option<&Path>,
) -> Result<u8, CliError> {
    let cfg = ConfigFile::load(config)?;
    let schema = cfg.schema()?;
    let profile = match (history, profile) {
        (Some(h), _) => learn_profile(&cfg, schema.clone(), &read_metrics(h, &schema, true)?)?,
        (None, Some(p)) => {
            let text = std::fs::read_to_string(p).map_err(|e| CliError::io(p, e))?;
            let profile = BehaviorProfile::from_json(&text).map_err(|e| CliError::Input {
                file: p.display().to_string(),
                line: None,
                message: e.to_string(),
            })?;
            if profile.schema_spec() != &cfg.schema_spec() {
                return Err(CliError::Input {
                    file: p.display().to_string(),
                    line: None,
                    message: format!(
                        "the profile was learnt for another schema than {}",
                        config.display()
                    ),
                });
            }
            profile
        }
        (None, None) => {
            return Err(CliError::Runtime(
                "either --history or --profile is needed".into(),
            ));
        }
    };
    let ticks = read_metrics(live, &schema, false)?;
    let r = replay(&profile, &cfg, &ticks)?;
    print_replay(&r, json_lines);
    if let Some(path) = report_path {
        std::fs::write(path, report::html(&r, "coalmine analysis"))
            .map_err(|e| CliError::io(path, e))?;
        if !json_lines {
            println!("report: {}", path.display());
        }
    }
    Ok(match r.verdict {
        "rollback" => EXIT_ROLLBACK,
        "pause" => EXIT_PAUSED,
        _ => 0,
    })
}
