//! Replaying ticks through an analysis, and what a timeline, a summary and a report
//! need from it. `analyze`, `demo` and the HTML report all build on this module.

use coalmine::analysis::{Analysis, AnalysisConfig, Tick as AnalysisTick};
use coalmine::policy::{Action, Level, Reason};
use coalmine::risk::Source;
use coalmine::schema::SchemaSpec;
use coalmine::traffic::Phase;
use coalmine::{BehaviorProfile, Verdict, VerdictReason, VerdictReport};

use crate::timestamp::Style;

/// Exit status: promote.
pub const EXIT_PROMOTE: u8 = 0;
/// Exit status: the rollout ends paused.
pub const EXIT_PAUSED: u8 = 3;
/// Exit status: roll back.
pub const EXIT_ROLLBACK: u8 = 4;
/// Exit status: inconclusive (not enough evidence to promote).
pub const EXIT_INCONCLUSIVE: u8 = 5;

/// The exit status of `analyze` for a verdict.
pub fn exit_code(verdict: Verdict) -> u8 {
    match verdict {
        Verdict::Promote => EXIT_PROMOTE,
        Verdict::Pause => EXIT_PAUSED,
        Verdict::Rollback => EXIT_ROLLBACK,
        Verdict::Inconclusive => EXIT_INCONCLUSIVE,
    }
}

/// A verdict's reason: its name in JSON.
pub fn verdict_reason_name(reason: VerdictReason) -> &'static str {
    match reason {
        VerdictReason::Promoted => "promoted",
        VerdictReason::RolledBack { because } | VerdictReason::Paused { because } => {
            reason_words(because).0
        }
        VerdictReason::NoTicks => "no_ticks",
        VerdictReason::NoCanaryData => "no_canary_data",
        VerdictReason::NoControlData => "no_control_data",
        VerdictReason::SeriesNeverObserved => "series_never_observed",
        VerdictReason::RampIncomplete => "ramp_incomplete",
    }
}

/// A decision's reason: its name in JSON and its words in text.
pub fn reason_words(reason: Reason) -> (&'static str, &'static str) {
    match reason {
        Reason::RiskLow => ("risk_low", "the risk is below the pause threshold"),
        Reason::RiskElevated => (
            "risk_elevated",
            "the risk is between the pause and roll-back thresholds",
        ),
        Reason::RiskHigh => ("risk_high", "the risk reached the roll-back threshold"),
        Reason::Predicted => (
            "predicted",
            "the predicted risk reached the roll-back threshold on consecutive ticks",
        ),
        Reason::CriticalMetric => (
            "critical_metric",
            "a metric marked critical was significantly anomalous",
        ),
        Reason::PauseTimeout => ("pause_timeout", "a pause lasted longer than allowed"),
        Reason::AlreadyRolledBack => (
            "already_rolled_back",
            "the rollout had already been rolled back",
        ),
        Reason::NoData => ("no_data", "the last tick carried no data"),
    }
}

/// Where a contributor's evidence comes from: its name in output.
pub fn source_name(source: Source) -> &'static str {
    match source {
        Source::Metric => "series",
        Source::Joint => "joint",
        Source::Limit => "limit",
    }
}

/// One reason behind the verdict.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Contributor {
    /// Segment index.
    pub segment: usize,
    /// Metric index.
    pub metric: usize,
    /// One series, a segment's joint model, or a projected limit crossing.
    pub source: Source,
    /// Net deviation in standard deviations, signed.
    pub deviation: f64,
    /// Tail probability in the harmful direction.
    pub p_value: f64,
}

/// One replayed tick.
#[derive(Debug, Clone)]
pub struct Record {
    /// Unix seconds.
    pub timestamp: f64,
    /// How the input wrote the timestamp.
    pub style: Style,
    /// Risk.
    pub risk: f64,
    /// Predicted risk.
    pub predicted: f64,
    /// The action's level.
    pub level: Level,
    /// Why.
    pub reason: Reason,
    /// Canary share after the decision.
    pub share: f64,
    /// One-line summary.
    pub summary: String,
    /// Per series, for reports only: control, canary, expected (profile forecast),
    /// band half-width.
    pub series: Vec<[f64; 4]>,
}

/// The outcome of a replay.
#[derive(Debug, Clone)]
pub struct Replay {
    /// The ticks kept (all of them when the replay keeps records, else none).
    pub records: Vec<Record>,
    /// Ticks observed.
    pub ticks: u64,
    /// The verdict.
    pub verdict: Verdict,
    /// The verdict with what it rests on.
    pub report: VerdictReport,
    /// Timestamp of the rollback.
    pub decided_at: Option<f64>,
    /// How the input wrote timestamps.
    pub style: Style,
    /// The highest risk.
    pub max_risk: f64,
    /// The contributors behind the verdict.
    pub contributors: Vec<Contributor>,
    /// Thresholds (t1, t2).
    pub thresholds: (f64, f64),
    /// The schema replayed against.
    pub schema: SchemaSpec,
}

impl Replay {
    /// The names of segment `s` and metric `m`.
    pub fn names(&self, s: usize, m: usize) -> (&str, &str) {
        (
            self.schema.segments.get(s).map_or("?", |x| x.name.as_str()),
            self.schema.metrics.get(m).map_or("?", |x| x.name.as_str()),
        )
    }
}

/// Feeds ticks to an analysis one at a time.
#[derive(Debug)]
pub struct Replayer {
    analysis: Analysis,
    keep: bool,
    records: Vec<Record>,
    last: Option<Record>,
    max_risk: f64,
    decided_at: Option<f64>,
    style: Style,
    strongest: Vec<Contributor>,
    schema: SchemaSpec,
}

impl Replayer {
    /// Starts a replay against `profile` with `config`; with `keep`, every record is
    /// kept for a report.
    pub fn new(
        profile: &BehaviorProfile,
        config: AnalysisConfig,
        keep: bool,
    ) -> Result<Self, coalmine::Error> {
        Ok(Replayer {
            analysis: Analysis::new(profile, config)?,
            keep,
            records: Vec::new(),
            last: None,
            max_risk: 0.0,
            decided_at: None,
            style: Style::Unix,
            strongest: Vec::new(),
            schema: profile.schema_spec().clone(),
        })
    }

    /// The canary share the next tick will be served with.
    pub fn share(&self) -> f64 {
        self.analysis.decision().canary_share
    }

    /// Whether the rollout is over (rolled back or promoted: a promoted analysis takes
    /// no more ticks).
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
        style: Style,
        control: &[f64],
        canary: &[f64],
        counts: Option<(&[f64], &[f64])>,
    ) -> Result<&Record, coalmine::Error> {
        let series: Vec<[f64; 4]> = if self.keep {
            self.analysis
                .series_views()
                .enumerate()
                .map(|(i, view)| {
                    [
                        control.get(i).copied().unwrap_or(f64::NAN),
                        canary.get(i).copied().unwrap_or(f64::NAN),
                        view.expected,
                        2.0 * view.scale,
                    ]
                })
                .collect()
        } else {
            Vec::new()
        };
        let d = self.analysis.observe(&AnalysisTick {
            timestamp,
            control,
            canary,
            control_counts: counts.map(|c| c.0),
            canary_counts: counts.map(|c| c.1),
        })?;
        let (risk, predicted, level, reason, share) = (
            d.assessment.risk,
            d.assessment.predicted_risk,
            d.action.level(),
            d.reason,
            d.canary_share,
        );
        let contributors: Vec<Contributor> = d
            .assessment
            .contributors
            .iter()
            .map(|c| Contributor {
                segment: c.segment,
                metric: c.metric,
                source: c.source,
                deviation: c.deviation,
                p_value: c.p_value,
            })
            .collect();
        let rollback = matches!(d.action, Action::Rollback { .. });
        if self.decided_at.is_none() {
            if rollback {
                self.decided_at = Some(timestamp);
                self.strongest = contributors;
            } else if risk >= self.max_risk && !contributors.is_empty() {
                self.strongest = contributors;
            }
        }
        if self.analysis.ticks() == 1 || style == Style::Rfc3339 {
            self.style = style;
        }
        self.max_risk = self.max_risk.max(risk);
        let record = Record {
            timestamp,
            style,
            risk,
            predicted,
            level,
            reason,
            share,
            summary: self.analysis.summary(),
            series,
        };
        if self.keep {
            self.records.push(record.clone());
        }
        Ok(self.last.insert(record))
    }

    /// The replay so far.
    pub fn finish(self) -> Replay {
        let report = self.analysis.verdict();
        Replay {
            ticks: self.analysis.ticks(),
            verdict: report.verdict,
            report,
            decided_at: self.decided_at,
            style: self.style,
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
