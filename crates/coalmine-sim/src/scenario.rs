//! Seeded, deterministic canary-rollout scenarios.
//!
//! A [`Scenario`] is a simulated service — three user segments, nine metric families,
//! a daily cycle, common shocks and sampling noise — with a history of the stable
//! version (what a profile is learnt from) and a live generator for the rollout,
//! optionally carrying a fault in the canary or a healthy "trap" that must not cause a
//! rollback.
//!
//! # The service
//!
//! | segment | weight | active users at mean load | API calls per user per tick | daily peak |
//! | --- | --- | --- | --- | --- |
//! | `enterprise` | 3 | 1,500 | 120 | 14:00, strong cycle |
//! | `pro` | 2 | 4,000 | 80 | 16:00 |
//! | `free` | 1 | 12,000 | 30 | 20:00, weaker cycle |
//!
//! Values are per-tick cohort aggregates (means and rates over the cohort's users,
//! never per-user data), in the order of [`metric_names`]: `api_calls` (calls per user
//! per tick, direction `any`: a retry storm raises it), `session_duration` (minutes,
//! decrease is bad), `checkout_usage` and `search_usage` (uses per user per tick of the
//! `checkout` and `search` features, decrease is bad), `cpu` (percent, follows API
//! calls), `memory_mb` (per instance, limit [`MEMORY_LIMIT_MB`]), `network_mb` (per
//! user, follows API calls), `error_rate` (ratio, critical) and `latency_ms`; errors
//! and latency rise mildly with load.
//!
//! **Noise.** A cohort with `n` users in a segment has sampling noise with standard
//! deviation `σ_user / √n` (per instance, 40 users to an instance, for CPU and memory),
//! so a 1 % canary is about ten times noisier than the whole population the history
//! was recorded on. Errors are counted: a Poisson count over the cohort's requests
//! (a 1 % enterprise canary sees about five errors per tick), with some
//! overdispersion between users. Session length and latency have occasional
//! Student-t(3) outliers. Load and infrastructure have common AR(1) shocks that move
//! both cohorts alike. Each (segment, metric) draws from its own stream, so a fault
//! on one metric leaves the others' values bit-identical.
//!
//! **Determinism.** Every random quantity comes from a stream keyed by the seed and
//! what it is for (and the tick), so [`Scenario::live_tick`] is a pure function of
//! `(scenario, tick, share)`: calling it in any order, or twice, gives identical values.
//! Scenarios of different kinds with the same seed share the same service — the same
//! history, so one profile serves them all — except where the kind changes the
//! service itself (heavy tails, a sharp daily peak, missing data); their live noise
//! is independent, so every (kind, seed) is a separate sample.
//!
//! **Policy after a rollback.** The canary gets no traffic at share 0: its values are
//! all NaN (and at share 1 the control's are). The evaluation harness stops a rollout
//! at its first rollback or at promotion.

use coalmine::Error;
use coalmine::math::robust::nearest_rank;
use coalmine::profile::{BehaviorProfile, ProfileBuilder, ProfileConfig};
use coalmine::schema::{
    Direction, FeatureSpec, MetricKind, MetricSpec, Schema, SchemaSpec, SegmentSpec,
};
use coalmine::traffic::TrafficConfig;
use serde::{Deserialize, Serialize};

use crate::rng::{Rng, tag};

/// Index of `api_calls` (calls per user per tick).
pub const API_CALLS: usize = 0;
/// Index of `session_duration` (minutes).
pub const SESSION_DURATION: usize = 1;
/// Index of `checkout_usage` (uses of the checkout feature per user per tick).
pub const CHECKOUT_USAGE: usize = 2;
/// Index of `search_usage` (uses of the search feature per user per tick).
pub const SEARCH_USAGE: usize = 3;
/// Index of `cpu` (percent per instance).
pub const CPU: usize = 4;
/// Index of `memory_mb` (resident memory per instance).
pub const MEMORY_MB: usize = 5;
/// Index of `network_mb` (megabytes per user per tick).
pub const NETWORK_MB: usize = 6;
/// Index of `error_rate` (failed share of requests).
pub const ERROR_RATE: usize = 7;
/// Index of `latency_ms` (mean request latency).
pub const LATENCY_MS: usize = 8;
/// Metrics per segment.
pub const N_METRICS: usize = 9;
/// Segments.
pub const N_SEGMENTS: usize = 3;
/// The configured memory limit per instance (`memory_mb`'s `limit`).
pub const MEMORY_LIMIT_MB: f64 = 1200.0;
/// Timestamp (Unix seconds) of the first history tick: a Monday, 00:00 UTC.
pub const EPOCH: i64 = 1_704_067_200;

/// The metric names in index order.
pub fn metric_names() -> [&'static str; N_METRICS] {
    [
        "api_calls",
        "session_duration",
        "checkout_usage",
        "search_usage",
        "cpu",
        "memory_mb",
        "network_mb",
        "error_rate",
        "latency_ms",
    ]
}

/// One segment of the simulated service.
struct SegmentModel {
    name: &'static str,
    weight: f64,
    /// Active users at mean load.
    users: f64,
    api: f64,
    session: f64,
    checkout: f64,
    search: f64,
    error: f64,
    latency: f64,
    /// Daily amplitude of the load.
    amplitude: f64,
    /// Time of the daily peak, as a fraction of the day.
    peak: f64,
}

const SEGMENTS: [SegmentModel; N_SEGMENTS] = [
    SegmentModel {
        name: "enterprise",
        weight: 3.0,
        users: 1_500.0,
        api: 120.0,
        session: 25.0,
        checkout: 2.0,
        search: 6.0,
        error: 0.003,
        latency: 110.0,
        amplitude: 0.6,
        peak: 14.0 / 24.0,
    },
    SegmentModel {
        name: "pro",
        weight: 2.0,
        users: 4_000.0,
        api: 80.0,
        session: 18.0,
        checkout: 1.2,
        search: 5.0,
        error: 0.005,
        latency: 130.0,
        amplitude: 0.5,
        peak: 16.0 / 24.0,
    },
    SegmentModel {
        name: "free",
        weight: 1.0,
        users: 12_000.0,
        api: 30.0,
        session: 8.0,
        checkout: 0.3,
        search: 3.0,
        error: 0.008,
        latency: 160.0,
        amplitude: 0.45,
        peak: 20.0 / 24.0,
    },
];

/// Users per instance (CPU and memory noise is per instance).
const USERS_PER_INSTANCE: f64 = 40.0;

/// When faults begin.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OnsetConfig {
    /// Probability that a fault is present from the canary's first tick (default 1/3).
    pub at_start: f64,
    /// Otherwise the onset is drawn uniformly from `first..=last` live ticks (default
    /// 1 and 25).
    pub first: usize,
    /// See `first`.
    pub last: usize,
}

impl Default for OnsetConfig {
    fn default() -> Self {
        OnsetConfig {
            at_start: 1.0 / 3.0,
            first: 1,
            last: 25,
        }
    }
}

/// How hard the healthy traps are. The defaults are the original traps; the
/// [`SimConfig::wide_traps`] values are sharper (see the presets).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrapConfig {
    /// A global surge multiplies the users of both cohorts by a factor drawn from this
    /// range (default 1.5 to 2.2).
    pub surge_users: (f64, f64),
    /// Ticks over which a surge builds up: half its size before that (default 2; 0
    /// for a surge that arrives in full at once).
    pub surge_build_ticks: usize,
    /// Factor on the error ratio of both cohorts at the height of a surge (default
    /// 1.6).
    pub surge_errors: f64,
    /// Factor on latency at the height of a surge (default 1.2).
    pub surge_latency: f64,
    /// Relative height of the sharp daily peak of `across-daily-peak` (default 0.8).
    pub peak_boost: f64,
    /// Its standard width in hours (default 1.5).
    pub peak_width_hours: f64,
    /// The rollout starts this many ticks before that peak, drawn from the range
    /// (default 3 to 8).
    pub peak_lead_ticks: (usize, usize),
    /// Share of heavy-tailed draws that are outliers (default 0.03).
    pub outlier_rate: f64,
    /// Factor on an outlier (default 4).
    pub outlier_scale: f64,
    /// Outliers on every metric, not only latency and session length (default false).
    pub outliers_everywhere: bool,
    /// The ramp of `tiny-canary` (default 0.5, 1, 2, 3, 5 %).
    pub tiny_steps: Vec<f64>,
}

impl Default for TrapConfig {
    fn default() -> Self {
        TrapConfig {
            surge_users: (1.5, 2.2),
            surge_build_ticks: 2,
            surge_errors: 1.6,
            surge_latency: 1.2,
            peak_boost: 0.8,
            peak_width_hours: 1.5,
            peak_lead_ticks: (3, 8),
            outlier_rate: 0.03,
            outlier_scale: 4.0,
            outliers_everywhere: false,
            tiny_steps: vec![0.005, 0.01, 0.02, 0.03, 0.05],
        }
    }
}

/// The simulator's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    /// Ticks per day (default 48: half-hour ticks); 4 to 1,440.
    pub ticks_per_day: usize,
    /// Days of history before the rollout (default 6); at least 2. The profile's
    /// season detection needs three cycles, so a daily season is only found from
    /// three days on.
    pub history_days: usize,
    /// Weekly seasonality: load on Saturdays and Sundays is scaled by
    /// `1 − weekly_amplitude` (default 0, off; in `[0, 0.9]`).
    pub weekly_amplitude: f64,
    /// Seconds per tick (default 1800).
    pub tick_seconds: i64,
    /// Live ticks over which the static threshold's trip is looked for (default 400).
    pub static_horizon: usize,
    /// Factor on every segment's active users per tick (default 1): a larger service,
    /// or fewer users active within a short tick.
    pub users_scale: f64,
    /// Factor on each segment's active users, in segment order (default 1, 1, 1):
    /// segments of very different sizes.
    pub segment_scale: [f64; N_SEGMENTS],
    /// Requests and feature uses per user per tick, relative to a half-hour tick
    /// (default 1; 1/30 for one-minute ticks). CPU and memory follow the request
    /// *rate* and do not change with it; counts per tick (errors, uses) get sparser.
    pub volume: f64,
    /// Whether `error_rate` is marked critical in the schema (default true).
    pub critical_errors: bool,
    /// When faults begin.
    pub onset: OnsetConfig,
    /// How hard the healthy traps are.
    pub traps: TrapConfig,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            ticks_per_day: 48,
            history_days: 6,
            weekly_amplitude: 0.0,
            tick_seconds: 1800,
            static_horizon: 400,
            users_scale: 1.0,
            segment_scale: [1.0; N_SEGMENTS],
            volume: 1.0,
            critical_errors: true,
            onset: OnsetConfig::default(),
            traps: TrapConfig::default(),
        }
    }
}

/// Clamps a finite value into `[lo, hi]`; `fallback` for NaN or infinities.
fn finite_in(v: f64, lo: f64, hi: f64, fallback: f64) -> f64 {
    if v.is_finite() {
        v.clamp(lo, hi)
    } else {
        fallback
    }
}

impl SimConfig {
    /// The named presets, in the order reports list them.
    pub const PRESETS: [&'static str; 4] = [
        "half-hour",
        "half-hour-wide",
        "one-minute",
        "uneven-segments",
    ];

    /// A named preset (see [`SimConfig::PRESETS`]):
    ///
    /// - `half-hour` — the default: half-hour ticks, six days of history, the original
    ///   traps, a critical error metric, faults from the first tick a third of the time
    ///   and otherwise within 25 ticks.
    /// - `half-hour-wide` — half-hour ticks with the widened traps
    ///   ([`SimConfig::wide_traps`]), faults that begin mid-ramp (ticks 10 to 40, when
    ///   the canary has 5 to 50 % of traffic), and an error metric that is not critical.
    /// - `one-minute` — 1,440 ticks a day and two days of history (the profile is
    ///   given the day, 1,440 ticks, as its candidate season; with fewer than three
    ///   days it learns no season), a service four times the size per tick with a
    ///   thirtieth of the requests per user per tick, so that a 1 % canary sees about
    ///   one to four errors per tick, an error metric that is not critical, the widened
    ///   traps (a tiny canary of 0.2 to 3 %, the peak crossed 20 to 60 ticks after the
    ///   start), and faults mid-ramp.
    /// - `uneven-segments` — half-hour ticks with segments of very different sizes
    ///   (300 enterprise users, 4,000 pro, 60,000 free: a 1 % enterprise canary has
    ///   three users) and an error metric that is not critical.
    pub fn preset(name: &str) -> Option<SimConfig> {
        let mid_ramp = OnsetConfig {
            at_start: 0.0,
            first: 10,
            last: 40,
        };
        match name {
            "half-hour" => Some(SimConfig::default()),
            "half-hour-wide" => Some(SimConfig {
                critical_errors: false,
                onset: mid_ramp,
                traps: Self::wide_traps(),
                ..SimConfig::default()
            }),
            "one-minute" => Some(SimConfig {
                ticks_per_day: 1440,
                history_days: 2,
                tick_seconds: 60,
                static_horizon: 1000,
                users_scale: 4.0,
                volume: 1.0 / 30.0,
                critical_errors: false,
                onset: mid_ramp,
                traps: TrapConfig {
                    peak_lead_ticks: (20, 60),
                    ..Self::wide_traps()
                },
                ..SimConfig::default()
            }),
            "uneven-segments" => Some(SimConfig {
                segment_scale: [0.2, 1.0, 5.0],
                critical_errors: false,
                ..SimConfig::default()
            }),
            _ => None,
        }
    }

    /// The widened healthy traps: a surge of ×2 to ×4 users that arrives in full at
    /// once, with errors ×2.5 and latency ×1.5 in both cohorts (a push notification, a
    /// marketing e-mail, a bot wave); a daily peak twice as high (+1.6) and half as wide
    /// (45 minutes); heavy tails with 5 % outliers at six times the scale on every
    /// metric (a slow dependency, a client retrying in bulk); and a tiny canary of 0.2,
    /// 0.5, 1, 2 and 3 %.
    pub fn wide_traps() -> TrapConfig {
        TrapConfig {
            surge_users: (2.0, 4.0),
            surge_build_ticks: 0,
            surge_errors: 2.5,
            surge_latency: 1.5,
            peak_boost: 1.6,
            peak_width_hours: 0.75,
            peak_lead_ticks: (3, 8),
            outlier_rate: 0.05,
            outlier_scale: 6.0,
            outliers_everywhere: true,
            tiny_steps: vec![0.002, 0.005, 0.01, 0.02, 0.03],
        }
    }

    /// The settings with every field clamped to its documented range.
    pub fn sanitised(&self) -> SimConfig {
        let t = &self.traps;
        let (s_lo, s_hi) = (
            finite_in(t.surge_users.0, 0.1, 20.0, 1.5),
            finite_in(t.surge_users.1, 0.1, 20.0, 2.2),
        );
        let (l_lo, l_hi) = (
            t.peak_lead_ticks.0.min(100_000),
            t.peak_lead_ticks.1.min(100_000),
        );
        let mut steps: Vec<f64> = t
            .tiny_steps
            .iter()
            .copied()
            .filter(|s| s.is_finite() && *s > 0.0 && *s <= 1.0)
            .collect();
        steps.sort_by(f64::total_cmp);
        steps.dedup();
        if steps.is_empty() {
            steps = TrapConfig::default().tiny_steps;
        }
        let onset_first = self.onset.first.min(100_000);
        SimConfig {
            ticks_per_day: self.ticks_per_day.clamp(4, 1440),
            history_days: self.history_days.clamp(2, 60),
            weekly_amplitude: finite_in(self.weekly_amplitude, 0.0, 0.9, 0.0),
            tick_seconds: self.tick_seconds.clamp(1, 86_400),
            static_horizon: self.static_horizon.clamp(1, 100_000),
            users_scale: finite_in(self.users_scale, 1e-3, 1e3, 1.0),
            segment_scale: self.segment_scale.map(|v| finite_in(v, 1e-3, 1e3, 1.0)),
            volume: finite_in(self.volume, 1e-4, 100.0, 1.0),
            critical_errors: self.critical_errors,
            onset: OnsetConfig {
                at_start: finite_in(self.onset.at_start, 0.0, 1.0, 1.0 / 3.0),
                first: onset_first,
                last: self.onset.last.clamp(onset_first, 100_000),
            },
            traps: TrapConfig {
                surge_users: (s_lo.min(s_hi), s_lo.max(s_hi)),
                surge_build_ticks: t.surge_build_ticks.min(1000),
                surge_errors: finite_in(t.surge_errors, 0.0, 100.0, 1.6),
                surge_latency: finite_in(t.surge_latency, 0.0, 100.0, 1.2),
                peak_boost: finite_in(t.peak_boost, 0.0, 20.0, 0.8),
                peak_width_hours: finite_in(t.peak_width_hours, 0.05, 12.0, 1.5),
                peak_lead_ticks: (l_lo.min(l_hi), l_lo.max(l_hi)),
                outlier_rate: finite_in(t.outlier_rate, 0.0, 1.0, 0.03),
                outlier_scale: finite_in(t.outlier_scale, 0.0, 1000.0, 4.0),
                outliers_everywhere: t.outliers_everywhere,
                tiny_steps: steps,
            },
        }
    }
}

/// The kinds of scenario: seven faults and eight healthy traps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScenarioKind {
    /// The canary's error ratio jumps (all segments) from the onset.
    ErrorSpike,
    /// The canary's latency rises by 30–80 % in one segment only.
    LatencyRegressionOneSegment,
    /// The canary's memory grows linearly from the onset (3–8 MB per tick).
    MemoryLeak,
    /// Usage of one feature (checkout or search) drops by 20–50 %, with no errors.
    FeatureUsageDrop,
    /// Sessions get 15–35 % shorter.
    ShorterSessions,
    /// API calls rise by 50–100 % (retries), taking CPU and network with them.
    RetryStorm,
    /// Latency creeps up by 0.4–1.2 % of its baseline per tick.
    LatencyCreep,
    /// Healthy: the canary runs the same version as the control (A/A).
    AaIdentical,
    /// Healthy: a traffic surge hits both cohorts for 6–16 ticks.
    GlobalSurge,
    /// Healthy: the canary is faster, less error-prone and lighter than the control.
    CanaryBetter,
    /// Healthy: one tick of a latency and CPU spike in the canary (a GC pause, a cold
    /// cache), then nothing.
    SingleTickSpike,
    /// Healthy: the rollout starts just before a sharp daily peak.
    AcrossDailyPeak,
    /// Healthy: heavy-tailed noise (Student-t(3) and outliers) in history and both
    /// cohorts.
    HeavyTails,
    /// Healthy: the canary's share starts at 0.5 % and never exceeds 5 %.
    TinyCanary,
    /// Healthy: 8 % of live ticks and two blocks of three are missing entirely, and
    /// 3 % of values are NaN (1 % in history, plus 2 % missing history rows).
    MissingTicks,
    /// Probe: the canary's error ratio triples in every segment while its share is
    /// held at 1 % (with one-minute ticks that is at most five errors per tick and
    /// segment before the fault). Harmful, but kept out of the groups: it measures one
    /// target, how close a sparse count fault comes to the oracle.
    ErrorRatioStep,
}

impl ScenarioKind {
    /// Every kind: faults, healthy traps, then the probe.
    pub const ALL: [ScenarioKind; 16] = [
        ScenarioKind::ErrorSpike,
        ScenarioKind::LatencyRegressionOneSegment,
        ScenarioKind::MemoryLeak,
        ScenarioKind::FeatureUsageDrop,
        ScenarioKind::ShorterSessions,
        ScenarioKind::RetryStorm,
        ScenarioKind::LatencyCreep,
        ScenarioKind::AaIdentical,
        ScenarioKind::GlobalSurge,
        ScenarioKind::CanaryBetter,
        ScenarioKind::SingleTickSpike,
        ScenarioKind::AcrossDailyPeak,
        ScenarioKind::HeavyTails,
        ScenarioKind::TinyCanary,
        ScenarioKind::MissingTicks,
        ScenarioKind::ErrorRatioStep,
    ];

    /// The kebab-case name, e.g. `"error-spike"`.
    pub fn name(&self) -> &'static str {
        match self {
            ScenarioKind::ErrorSpike => "error-spike",
            ScenarioKind::LatencyRegressionOneSegment => "latency-regression-one-segment",
            ScenarioKind::MemoryLeak => "memory-leak",
            ScenarioKind::FeatureUsageDrop => "feature-usage-drop",
            ScenarioKind::ShorterSessions => "shorter-sessions",
            ScenarioKind::RetryStorm => "retry-storm",
            ScenarioKind::LatencyCreep => "latency-creep",
            ScenarioKind::AaIdentical => "aa-identical",
            ScenarioKind::GlobalSurge => "global-surge",
            ScenarioKind::CanaryBetter => "canary-better",
            ScenarioKind::SingleTickSpike => "single-tick-spike",
            ScenarioKind::AcrossDailyPeak => "across-daily-peak",
            ScenarioKind::HeavyTails => "heavy-tails",
            ScenarioKind::TinyCanary => "tiny-canary",
            ScenarioKind::MissingTicks => "missing-ticks",
            ScenarioKind::ErrorRatioStep => "error-ratio-step",
        }
    }

    /// The kind called `name` (as [`ScenarioKind::name`] spells it).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// One line describing the scenario.
    pub fn description(&self) -> &'static str {
        match self {
            ScenarioKind::ErrorSpike => "canary error ratio +1 to +4 points, all segments",
            ScenarioKind::LatencyRegressionOneSegment => {
                "canary latency x1.3 to x1.8 in one segment only"
            }
            ScenarioKind::MemoryLeak => "canary memory +3 to +8 MB per tick",
            ScenarioKind::FeatureUsageDrop => "checkout or search usage -20 to -50 %, no errors",
            ScenarioKind::ShorterSessions => "canary sessions 15 to 35 % shorter",
            ScenarioKind::RetryStorm => "canary API calls x1.5 to x2, CPU and network follow",
            ScenarioKind::LatencyCreep => "canary latency +0.4 to +1.2 % of baseline per tick",
            ScenarioKind::AaIdentical => "same version in both cohorts",
            ScenarioKind::GlobalSurge => "x1.5 to x2.2 users in both cohorts for 6-16 ticks",
            ScenarioKind::CanaryBetter => "canary faster, fewer errors, less CPU and memory",
            ScenarioKind::SingleTickSpike => "one tick of canary latency x2.5 and CPU +25",
            ScenarioKind::AcrossDailyPeak => "rollout starts 3-8 ticks before a sharp peak",
            ScenarioKind::HeavyTails => "Student-t(3) noise with outliers, both cohorts",
            ScenarioKind::TinyCanary => "canary share 0.5 % to 5 %, never more",
            ScenarioKind::MissingTicks => "missing ticks and NaN values",
            ScenarioKind::ErrorRatioStep => "probe: error ratio x3 in a canary held at 1 %",
        }
    }

    /// Whether the canary is truly bad (a rollback is the right outcome).
    pub fn harmful(&self) -> bool {
        matches!(
            self,
            ScenarioKind::ErrorSpike
                | ScenarioKind::LatencyRegressionOneSegment
                | ScenarioKind::MemoryLeak
                | ScenarioKind::FeatureUsageDrop
                | ScenarioKind::ShorterSessions
                | ScenarioKind::RetryStorm
                | ScenarioKind::LatencyCreep
                | ScenarioKind::ErrorRatioStep
        )
    }

    /// Whether the kind is a probe for one target, kept out of the groups (harmful,
    /// step faults, ...): the error-ratio step.
    pub fn is_probe(&self) -> bool {
        matches!(self, ScenarioKind::ErrorRatioStep)
    }

    /// Whether the fault is a step (present in full from its onset): error spike,
    /// latency regression, feature drop, shorter sessions, retry storm.
    pub fn is_step_fault(&self) -> bool {
        matches!(
            self,
            ScenarioKind::ErrorSpike
                | ScenarioKind::LatencyRegressionOneSegment
                | ScenarioKind::FeatureUsageDrop
                | ScenarioKind::ShorterSessions
                | ScenarioKind::RetryStorm
        )
    }

    /// Whether the fault grows gradually (memory leak, latency creep): the faults a
    /// static threshold catches late.
    pub fn is_gradual_fault(&self) -> bool {
        matches!(self, ScenarioKind::MemoryLeak | ScenarioKind::LatencyCreep)
    }

    fn index(&self) -> u64 {
        Self::ALL.iter().position(|k| k == self).unwrap_or(0) as u64
    }
}

/// What the simulated service itself is like (shared by history and both cohorts).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ServiceModel {
    /// Student-t(3) sampling noise everywhere, with extra outliers in latency and
    /// session length (otherwise normal noise with rare outliers).
    pub heavy_tails: bool,
    /// Height of an extra sharp daily peak (relative load; 0 for none).
    pub peak_boost: f64,
    /// Time of that peak, as a fraction of the day.
    pub peak_boost_at: f64,
    /// Share of history ticks missing entirely (all NaN).
    pub history_missing_ticks: f64,
    /// Share of history values missing (NaN).
    pub history_missing_values: f64,
}

impl Default for ServiceModel {
    fn default() -> Self {
        ServiceModel {
            heavy_tails: false,
            peak_boost: 0.0,
            peak_boost_at: 0.5,
            history_missing_ticks: 0.0,
            history_missing_values: 0.0,
        }
    }
}

/// Which live data is missing.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Gaps {
    /// Probability that a live tick is missing entirely.
    pub tick_rate: f64,
    /// Blocks of consecutive missing live ticks, as `(first, length)`.
    pub blocks: Vec<(usize, usize)>,
    /// Probability that one value of one cohort is NaN.
    pub value_rate: f64,
}

/// The fault or event of a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Injection {
    /// Live tick at which it starts (counted from the start of the rollout).
    pub onset: usize,
    /// Live ticks it lasts (`None`: until the end).
    pub duration: Option<usize>,
    /// The only segment it touches (`None`: all).
    pub segment: Option<usize>,
    /// The metric it targets, where the kind leaves a choice (the feature metric of a
    /// feature drop).
    pub metric: Option<usize>,
    /// Its size, in the kind's own terms: added error ratio (error spike), latency
    /// factor (regression), MB per tick (leak), usage factor (feature drop), session
    /// factor (shorter sessions), API call factor (retry storm), relative latency per
    /// tick (creep), user factor (surge); unused (1) otherwise.
    pub magnitude: f64,
}

impl Injection {
    /// Whether it is in effect at live tick `k`.
    pub fn active(&self, k: usize) -> bool {
        k >= self.onset && self.duration.is_none_or(|d| k < self.onset + d)
    }
}

/// One (segment, metric) series, and the side of the static threshold that counts as
/// harmful.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AffectedSeries {
    /// Segment index.
    pub segment: usize,
    /// Metric index.
    pub metric: usize,
    /// True when a *drop* below the threshold is the harm (usage, sessions).
    pub below: bool,
    /// The static threshold: the stricter of the history's p99.9 and mean + 4 sd
    /// (p0.1 and mean − 4 sd when `below`), over the segment's full-population history.
    pub threshold: f64,
}

/// One tick of the stable version's history: `values[s * N_METRICS + m]`, NaN for a
/// missing value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryTick {
    /// Unix seconds.
    pub timestamp: i64,
    /// Dense segment-major values.
    pub values: Vec<f64>,
}

/// One live tick of the rollout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveTick {
    /// Live tick index (0 is the first tick of the rollout).
    pub k: usize,
    /// Unix seconds (jumps over missing ticks).
    pub timestamp: i64,
    /// The canary share the tick was generated with.
    pub share: f64,
    /// The control cohort's values, laid out like history.
    pub control: Vec<f64>,
    /// The canary cohort's values (all NaN at share 0).
    pub canary: Vec<f64>,
    /// The count behind each control value, laid out like the values: users for
    /// per-user means and ratios (`api_calls`, `session_duration`, the usages,
    /// `network_mb`), instances for `cpu` and `memory_mb`, requests for `error_rate`
    /// and `latency_ms` (requests × error ratio is the tick's error count). Not
    /// rounded: user and instance counts are expected values. 0 for a cohort without
    /// traffic, NaN where the value is missing.
    #[serde(default)]
    pub control_counts: Vec<f64>,
    /// The count behind each canary value, as `control_counts`.
    #[serde(default)]
    pub canary_counts: Vec<f64>,
}

/// A simulated rollout. See the [module documentation](self).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    /// What happens.
    pub kind: ScenarioKind,
    /// The seed everything is drawn from.
    pub seed: u64,
    /// The simulator's settings (sanitised).
    pub config: SimConfig,
    /// What is measured.
    pub schema: SchemaSpec,
    /// The traffic ramp this scenario needs, when not the analysis's default (only the
    /// `steps` matter; see [`Scenario::traffic_for`]).
    pub traffic: Option<TrafficConfig>,
    /// The service itself.
    pub service: ServiceModel,
    /// Time of day at which the rollout starts, in ticks after midnight.
    pub start_of_day: usize,
    /// The stable version's history, ending just before the rollout's first tick.
    pub history: Vec<HistoryTick>,
    /// The fault or event, if any.
    pub injection: Option<Injection>,
    /// The series a fault affects, with their static thresholds (empty for healthy
    /// kinds).
    pub affected: Vec<AffectedSeries>,
    /// The first live tick at or after the onset at which a plain static threshold
    /// (see [`AffectedSeries::threshold`]) on any affected series trips, looking at the
    /// canary's values *as if it served all traffic* (the same noise level as the
    /// history the threshold was set on), within `config.static_horizon` ticks.
    /// `None` for healthy kinds or when it never trips.
    pub static_trip_tick: Option<usize>,
    /// Missing live data.
    pub gaps: Gaps,
    /// The canary is held at its first step for the whole rollout (the probe).
    #[serde(default)]
    pub hold_share: bool,
}

/// Multiplicative and additive changes to one cohort's metrics at one tick.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Effect {
    users: f64,
    api: f64,
    session: f64,
    checkout: f64,
    search: f64,
    cpu_add: f64,
    memory_add: f64,
    error_add: f64,
    error_mult: f64,
    latency_mult: f64,
    latency_add: f64,
}

impl Effect {
    /// Both effects at once: factors multiply, additions add.
    pub(crate) fn and(self, o: Effect) -> Effect {
        Effect {
            users: self.users * o.users,
            api: self.api * o.api,
            session: self.session * o.session,
            checkout: self.checkout * o.checkout,
            search: self.search * o.search,
            cpu_add: self.cpu_add + o.cpu_add,
            memory_add: self.memory_add + o.memory_add,
            error_add: self.error_add + o.error_add,
            error_mult: self.error_mult * o.error_mult,
            latency_mult: self.latency_mult * o.latency_mult,
            latency_add: self.latency_add + o.latency_add,
        }
    }

    pub(crate) const NONE: Effect = Effect {
        users: 1.0,
        api: 1.0,
        session: 1.0,
        checkout: 1.0,
        search: 1.0,
        cpu_add: 0.0,
        memory_add: 0.0,
        error_add: 0.0,
        error_mult: 1.0,
        latency_mult: 1.0,
        latency_add: 0.0,
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cohort {
    Control,
    Canary,
}

/// Common shocks of one tick, per segment: (load, infrastructure), in log units.
pub(crate) type Shocks = [(f64, f64); N_SEGMENTS];

/// The schema of the simulated service with the default settings.
pub fn schema() -> SchemaSpec {
    schema_with(&SimConfig::default())
}

/// The schema of the simulated service: `error_rate` is critical when
/// `config.critical_errors`.
pub fn schema_with(config: &SimConfig) -> SchemaSpec {
    let metric = |name: &str, direction, kind, feature: Option<&str>| MetricSpec {
        kind,
        feature: feature.map(str::to_string),
        ..MetricSpec::new(name, direction)
    };
    use Direction::{Any, DecreaseIsBad, IncreaseIsBad};
    use MetricKind::{Count, Gauge, Ratio};
    let mut memory = metric("memory_mb", IncreaseIsBad, Gauge, None);
    memory.limit = Some(MEMORY_LIMIT_MB);
    let mut errors = metric("error_rate", IncreaseIsBad, Ratio, None);
    errors.critical = config.critical_errors;
    errors.weight = 2.0;
    let mut latency = metric("latency_ms", IncreaseIsBad, Gauge, None);
    latency.weight = 1.5;
    SchemaSpec {
        metrics: vec![
            metric("api_calls", Any, Count, None),
            metric("session_duration", DecreaseIsBad, Gauge, None),
            metric("checkout_usage", DecreaseIsBad, Count, Some("checkout")),
            metric("search_usage", DecreaseIsBad, Count, Some("search")),
            metric("cpu", IncreaseIsBad, Gauge, None),
            memory,
            metric("network_mb", IncreaseIsBad, Gauge, None),
            errors,
            latency,
        ],
        segments: SEGMENTS
            .iter()
            .map(|s| SegmentSpec {
                name: s.name.into(),
                weight: s.weight,
            })
            .collect(),
        features: vec![
            FeatureSpec {
                name: "checkout".into(),
                weight: 2.0,
            },
            FeatureSpec {
                name: "search".into(),
                weight: 1.0,
            },
        ],
    }
}

/// The noise model of a service.
#[derive(Debug, Clone, Copy)]
struct Tails {
    /// Student-t(3) with outliers, not normal.
    heavy: bool,
    /// Share of heavy draws that are outliers (on outlier-prone metrics, or all).
    rate: f64,
    /// Factor on an outlier.
    scale: f64,
    /// Outliers on every metric.
    everywhere: bool,
}

impl Tails {
    /// The variance of [`draw`].
    fn variance(&self, outlier_prone: bool) -> f64 {
        if self.heavy {
            if outlier_prone || self.everywhere {
                1.0 + self.rate * (self.scale * self.scale - 1.0)
            } else {
                1.0
            }
        } else if outlier_prone {
            1.0 + 0.02 * (2.5 * 2.5 - 1.0)
        } else {
            1.0
        }
    }
}

/// The noise-free quantities of one segment of one cohort at one tick.
#[derive(Debug, Clone, Copy)]
struct SegmentMeans {
    n: f64,
    root_n: f64,
    root_inst: f64,
    lf: f64,
    api: f64,
    session: f64,
    checkout: f64,
    search: f64,
    error: f64,
    latency: f64,
}

/// What the simulator knows about one value of one cohort at one tick: its mean
/// without noise, the standard deviation of its sampling noise, and the expected count
/// behind it (users, instances or requests).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Moment {
    /// Mean without sampling noise (common shocks and the tick's effects included).
    pub mean: f64,
    /// Standard deviation of the sampling noise.
    pub sd: f64,
    /// Expected count behind the value.
    pub count: f64,
}

impl Moment {
    /// A cohort without traffic.
    pub const MISSING: Moment = Moment {
        mean: f64::NAN,
        sd: f64::NAN,
        count: 0.0,
    };
}

/// A draw for a noise term: normal with rare outliers, or unit-variance Student-t(3)
/// (with extra outliers on `outlier_prone` metrics, or on all) when the service is
/// heavy-tailed.
fn draw(rng: &mut Rng, tails: Tails, outlier_prone: bool) -> f64 {
    if tails.heavy {
        let t = rng.student_t3_unit();
        if (outlier_prone || tails.everywhere) && rng.chance(tails.rate) {
            tails.scale * t
        } else {
            t
        }
    } else if outlier_prone && rng.chance(0.02) {
        2.5 * rng.student_t3_unit()
    } else {
        rng.normal()
    }
}

/// A Poisson count with mean `lambda`: Knuth's product of uniforms below 30, a
/// rounded normal (or heavy-tailed) approximation above.
fn poisson(rng: &mut Rng, lambda: f64, tails: Tails) -> f64 {
    if lambda.is_nan() || lambda <= 0.0 {
        0.0
    } else if lambda < 30.0 {
        let limit = (-lambda).exp();
        let mut product = rng.uniform();
        let mut k = 0.0;
        while product > limit {
            product *= rng.uniform();
            k += 1.0;
        }
        k
    } else {
        (lambda + lambda.sqrt() * draw(rng, tails, false))
            .round()
            .max(0.0)
    }
}

fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let n = xs.len().max(1) as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    (mean, var.sqrt())
}

impl Scenario {
    /// The scenario of `kind` drawn from `seed`, with the default [`SimConfig`].
    pub fn generate(kind: ScenarioKind, seed: u64) -> Scenario {
        Self::generate_with(kind, seed, &SimConfig::default())
    }

    /// The scenario of `kind` drawn from `seed` with `config` (sanitised first).
    pub fn generate_with(kind: ScenarioKind, seed: u64, config: &SimConfig) -> Scenario {
        let config = config.sanitised();
        let traps = config.traps.clone();
        let day = config.ticks_per_day;
        let tick_of = |hours: f64| ((hours / 24.0 * day as f64).round() as usize).min(day - 1);
        // Seed-only draws: the same service and start time for every kind.
        let mut shared = Rng::stream(&[seed, tag::PARAMS, u64::MAX]);
        let mut start_of_day = shared.int(0, day - 1);
        let mut p = Rng::stream(&[seed, tag::PARAMS, kind.index()]);
        let mut service = ServiceModel::default();
        let mut traffic = None;
        let mut gaps = Gaps::default();
        let mut hold_share = false;
        // A fault present from the canary's first tick a third of the time, otherwise
        // appearing during the rollout.
        let onset = config.onset;
        let fault_onset = |p: &mut Rng| {
            if p.chance(onset.at_start) {
                0
            } else {
                p.int(onset.first, onset.last)
            }
        };
        let inj = |onset, magnitude| Injection {
            onset,
            duration: None,
            segment: None,
            metric: None,
            magnitude,
        };
        let injection = match kind {
            ScenarioKind::ErrorSpike => {
                let onset = fault_onset(&mut p);
                Some(inj(onset, p.range(0.01, 0.04)))
            }
            ScenarioKind::LatencyRegressionOneSegment => {
                let onset = fault_onset(&mut p);
                Some(Injection {
                    segment: Some(p.int(0, N_SEGMENTS - 1)),
                    ..inj(onset, p.range(1.3, 1.8))
                })
            }
            ScenarioKind::MemoryLeak => {
                let onset = fault_onset(&mut p);
                Some(inj(onset, p.range(3.0, 8.0)))
            }
            ScenarioKind::FeatureUsageDrop => {
                let onset = fault_onset(&mut p);
                let metric = if p.chance(0.5) {
                    CHECKOUT_USAGE
                } else {
                    SEARCH_USAGE
                };
                Some(Injection {
                    metric: Some(metric),
                    ..inj(onset, p.range(0.5, 0.8))
                })
            }
            ScenarioKind::ShorterSessions => {
                let onset = fault_onset(&mut p);
                Some(inj(onset, p.range(0.65, 0.85)))
            }
            ScenarioKind::RetryStorm => {
                let onset = fault_onset(&mut p);
                Some(inj(onset, p.range(1.5, 2.0)))
            }
            ScenarioKind::LatencyCreep => {
                let onset = fault_onset(&mut p);
                Some(inj(onset, p.range(0.004, 0.012)))
            }
            ScenarioKind::GlobalSurge => {
                let onset = p.int(5, 30);
                Some(Injection {
                    duration: Some(p.int(6, 16)),
                    ..inj(onset, p.range(traps.surge_users.0, traps.surge_users.1))
                })
            }
            ScenarioKind::CanaryBetter => Some(inj(0, 1.0)),
            ScenarioKind::SingleTickSpike => Some(Injection {
                duration: Some(1),
                ..inj(p.int(5, 30), 1.0)
            }),
            ScenarioKind::AcrossDailyPeak => {
                service.peak_boost = traps.peak_boost;
                service.peak_boost_at = 0.5;
                let peak = tick_of(12.0);
                let lead = p
                    .int(traps.peak_lead_ticks.0, traps.peak_lead_ticks.1)
                    .min(peak);
                start_of_day = peak - lead;
                None
            }
            ScenarioKind::HeavyTails => {
                service.heavy_tails = true;
                None
            }
            ScenarioKind::TinyCanary => {
                traffic = Some(TrafficConfig {
                    steps: traps.tiny_steps.clone(),
                    ..TrafficConfig::default()
                });
                None
            }
            ScenarioKind::MissingTicks => {
                service.history_missing_ticks = 0.02;
                service.history_missing_values = 0.01;
                let first = p.int(8, 40);
                let second = p.int(45, 90);
                gaps = Gaps {
                    tick_rate: 0.08,
                    blocks: vec![(first, 3), (second, 3)],
                    value_rate: 0.03,
                };
                None
            }
            ScenarioKind::ErrorRatioStep => {
                let onset = fault_onset(&mut p);
                hold_share = true;
                traffic = Some(TrafficConfig {
                    steps: vec![0.01, 1.0],
                    ..TrafficConfig::default()
                });
                Some(inj(onset, 3.0))
            }
            ScenarioKind::AaIdentical => None,
        };
        let mut scenario = Scenario {
            kind,
            seed,
            schema: schema_with(&config),
            traffic,
            service,
            start_of_day,
            history: Vec::new(),
            injection,
            affected: Vec::new(),
            static_trip_tick: None,
            gaps,
            hold_share,
            config,
        };
        scenario.history = scenario.make_history();
        scenario.affected = scenario.affected_series();
        scenario.static_trip_tick = scenario.find_static_trip();
        scenario
    }

    /// The same scenario without its fault or event: same service, same history, same
    /// noise, so that comparing the two isolates what the injection changes (the
    /// counterfactual healthy rollout).
    pub fn without_injection(&self) -> Scenario {
        Scenario {
            injection: None,
            affected: Vec::new(),
            static_trip_tick: None,
            ..self.clone()
        }
    }

    /// Number of history ticks (the rollout's first tick comes right after them).
    pub fn history_len(&self) -> usize {
        self.config.history_days * self.config.ticks_per_day + self.start_of_day
    }

    /// The history values, one dense slice per tick.
    pub fn history_rows(&self) -> impl Iterator<Item = &[f64]> + '_ {
        self.history.iter().map(|h| h.values.as_slice())
    }

    /// The fault's (or event's) onset tick, if any.
    pub fn onset(&self) -> Option<usize> {
        self.injection.map(|i| i.onset)
    }

    /// Whether the canary is faulty at live tick `k`.
    pub fn fault_active(&self, k: usize) -> bool {
        self.kind.harmful() && self.injection.is_some_and(|i| i.active(k))
    }

    /// The traffic settings for this scenario: `base` with this scenario's ramp steps
    /// when it has its own (the tiny canary), `base` unchanged otherwise.
    pub fn traffic_for(&self, base: &TrafficConfig) -> TrafficConfig {
        let mut traffic = match &self.traffic {
            Some(t) => TrafficConfig {
                steps: t.steps.clone(),
                ..base.clone()
            },
            None => base.clone(),
        };
        if self.hold_share {
            traffic.min_dwell_ticks = u32::MAX;
            traffic.min_dwell_seconds = None;
        }
        traffic
    }

    /// The profile settings the harness uses: coalmine's defaults, with the simulated
    /// day (and the week, when the history spans three) as the candidate seasons.
    pub fn profile_config(&self) -> ProfileConfig {
        let day = self.config.ticks_per_day;
        let mut candidate_periods = vec![day];
        if self.config.history_days >= 21 {
            candidate_periods.push(7 * day);
        }
        ProfileConfig {
            candidate_periods,
            ..ProfileConfig::default()
        }
    }

    /// Learns a profile from the history with [`Scenario::profile_config`].
    pub fn build_profile(&self) -> Result<BehaviorProfile, Error> {
        let mut builder =
            ProfileBuilder::new(Schema::new(self.schema.clone())?, self.profile_config())?;
        for row in self.history_rows() {
            builder.push_tick(row)?;
        }
        builder.build()
    }

    /// Timestamp of absolute tick `t` (history ticks first, then live ticks).
    fn timestamp(&self, t: usize) -> i64 {
        (t as i64)
            .saturating_mul(self.config.tick_seconds)
            .saturating_add(EPOCH)
    }

    /// The deterministic daily (and weekly) load of segment `s` at absolute tick `t`,
    /// relative to its mean.
    fn daily_load(&self, s: usize, t: usize) -> f64 {
        let day = self.config.ticks_per_day;
        let tod = (t % day) as f64 / day as f64;
        let m = &SEGMENTS[s];
        let x = std::f64::consts::TAU * (tod - m.peak);
        let mut load = 1.0 + m.amplitude * (x.cos() + 0.2 * (2.0 * x).cos());
        if self.service.peak_boost > 0.0 {
            // A sharp peak about 1.5 hours wide, shared by every segment.
            let mut d = (tod - self.service.peak_boost_at).abs();
            d = d.min(1.0 - d);
            let width = self.config.traps.peak_width_hours / 24.0;
            load += self.service.peak_boost * (-0.5 * (d / width).powi(2)).exp();
        }
        let weekday = (t / day) % 7;
        if weekday >= 5 {
            load *= 1.0 - self.config.weekly_amplitude;
        }
        load.max(0.05)
    }

    /// Common AR(1) shocks at absolute tick `t` (truncated moving-average form, so
    /// that a tick's shock is a pure function of the seed and the tick).
    pub(crate) fn shocks(&self, t: usize) -> Shocks {
        let history = self.history_len() as u64;
        let ar = |kind: u64, s: usize, phi: f64, sd: f64| {
            let mut x = 0.0;
            let mut w = 1.0;
            for j in 0..16u64 {
                let at = (t as u64).wrapping_sub(j);
                // History innovations belong to the service (shared by every kind of
                // this seed); live innovations to the rollout.
                // (`j > t`: before the first history tick, still the service's.)
                let mut rng = if j > t as u64 || at < history {
                    Rng::stream(&[self.seed, kind, s as u64, at])
                } else {
                    Rng::stream(&[self.seed, kind, s as u64, at, self.live_key()])
                };
                x += w * rng.normal();
                w *= phi;
            }
            sd * (1.0 - phi * phi).sqrt() * x
        };
        let mut out = [(0.0, 0.0); N_SEGMENTS];
        for (s, o) in out.iter_mut().enumerate() {
            *o = (
                ar(tag::SHOCK_LOAD, s, 0.8, 0.05),
                ar(tag::SHOCK_INFRA, s, 0.6, 0.04),
            );
        }
        out
    }

    /// The effect on `cohort` in segment `s` at live tick `k`.
    pub(crate) fn effect(&self, k: usize, cohort: Cohort, s: usize) -> Effect {
        let Some(inj) = self.injection else {
            return Effect::NONE;
        };
        if !inj.active(k) || inj.segment.is_some_and(|seg| seg != s) {
            return Effect::NONE;
        }
        let m = inj.magnitude;
        let canary = cohort == Cohort::Canary;
        let since = (k - inj.onset + 1) as f64;
        let e = Effect::NONE;
        match self.kind {
            ScenarioKind::ErrorSpike if canary => Effect {
                error_add: m,
                latency_mult: 1.05,
                ..e
            },
            ScenarioKind::LatencyRegressionOneSegment if canary => Effect {
                latency_mult: m,
                ..e
            },
            ScenarioKind::MemoryLeak if canary => Effect {
                memory_add: m * since,
                ..e
            },
            ScenarioKind::FeatureUsageDrop if canary => {
                if inj.metric == Some(CHECKOUT_USAGE) {
                    Effect { checkout: m, ..e }
                } else {
                    Effect { search: m, ..e }
                }
            }
            ScenarioKind::ShorterSessions if canary => Effect { session: m, ..e },
            ScenarioKind::RetryStorm if canary => Effect {
                api: m,
                latency_mult: 1.05,
                ..e
            },
            ScenarioKind::ErrorRatioStep if canary => Effect { error_mult: m, ..e },
            ScenarioKind::LatencyCreep if canary => Effect {
                latency_add: m * SEGMENTS[s].latency * since,
                ..e
            },
            ScenarioKind::GlobalSurge => {
                // Builds up (half its size at first), both cohorts alike.
                let traps = &self.config.traps;
                let f = if since < traps.surge_build_ticks as f64 {
                    0.5
                } else {
                    1.0
                };
                let lerp = |x: f64| 1.0 + f * (x - 1.0);
                Effect {
                    users: lerp(m),
                    api: lerp(1.25),
                    session: lerp(0.9),
                    error_mult: lerp(traps.surge_errors),
                    latency_mult: lerp(traps.surge_latency),
                    ..e
                }
            }
            ScenarioKind::CanaryBetter if canary => Effect {
                latency_mult: 0.8,
                error_mult: 0.6,
                cpu_add: -5.0,
                memory_add: -40.0,
                ..e
            },
            ScenarioKind::SingleTickSpike if canary => Effect {
                latency_mult: 2.5,
                cpu_add: 25.0,
                ..e
            },
            _ => Effect::NONE,
        }
    }

    fn tails(&self) -> Tails {
        Tails {
            heavy: self.service.heavy_tails,
            rate: self.config.traps.outlier_rate,
            scale: self.config.traps.outlier_scale,
            everywhere: self.config.traps.outliers_everywhere,
        }
    }

    /// The noise-free quantities of segment `s` for a cohort with `fraction` of its
    /// users at absolute tick `t`, or `None` for a cohort without traffic.
    fn segment_means(
        &self,
        s: usize,
        t: usize,
        fraction: f64,
        shocks: &Shocks,
        e: Effect,
    ) -> Option<SegmentMeans> {
        if fraction.is_nan() || fraction <= 0.0 {
            return None;
        }
        let m = &SEGMENTS[s];
        let c = &self.config;
        let (load_shock, infra) = shocks[s];
        let load = self.daily_load(s, t) * load_shock.exp() * e.users;
        let lf = load - 1.0;
        let scale = c.users_scale * c.segment_scale[s];
        let n = (fraction * m.users * scale * load).max(1.0);
        let rate = (1.0 + 0.1 * lf).max(0.2);
        Some(SegmentMeans {
            n,
            root_n: n.sqrt(),
            root_inst: (n / USERS_PER_INSTANCE).max(1.0).sqrt(),
            lf,
            api: m.api * c.volume * rate * (0.3 * load_shock).exp() * e.api,
            session: m.session * (1.0 + 0.05 * lf).max(0.2) * e.session,
            checkout: m.checkout * c.volume * rate * e.checkout,
            search: m.search * c.volume * rate * e.search,
            error: (m.error * (1.0 + 0.4 * lf).max(0.2) * (2.0 * infra).exp() * e.error_mult
                + e.error_add)
                .clamp(0.0, 1.0),
            latency: m.latency * (1.0 + 0.15 * lf).max(0.2) * infra.exp() * e.latency_mult
                + e.latency_add,
        })
    }

    /// Appends one cohort's values at absolute tick `t`, and the count behind each to
    /// `counts`: `fraction` of each segment's users, effects per segment, noise from
    /// the streams keyed by `key` (one per segment and metric, so that an effect on one
    /// metric leaves the others' noise alone). A fraction of 0 gives NaN values and
    /// zero counts.
    #[allow(clippy::too_many_arguments)]
    fn cohort_values(
        &self,
        t: usize,
        fraction: f64,
        shocks: &Shocks,
        effect: impl Fn(usize) -> Effect,
        key: &[u64],
        out: &mut Vec<f64>,
        counts: &mut Vec<f64>,
    ) {
        let tails = self.tails();
        let volume = self.config.volume;
        for s in 0..N_SEGMENTS {
            let Some(g) = self.segment_means(s, t, fraction, shocks, effect(s)) else {
                out.extend([f64::NAN; N_METRICS]);
                counts.extend([0.0; N_METRICS]);
                continue;
            };
            let e = effect(s);
            let sub = |metric: usize| {
                let mut parts = [0u64; 8];
                let len = key.len().min(6);
                parts[..len].copy_from_slice(&key[..len]);
                parts[len] = s as u64;
                parts[len + 1] = metric as u64;
                Rng::stream(&parts[..len + 2])
            };
            let (n, root_n, root_inst) = (g.n, g.root_n, g.root_inst);
            let api_mean = g.api;
            let api = (api_mean * (1.0 + 0.8 / root_n * draw(&mut sub(API_CALLS), tails, false)))
                .max(0.0);
            let session = (g.session
                * (1.0 + 1.0 / root_n * draw(&mut sub(SESSION_DURATION), tails, true)))
            .max(0.0);
            let usage = |mean: f64, metric: usize| {
                (mean + (2.0 * mean / n).sqrt() * draw(&mut sub(metric), tails, false)).max(0.0)
            };
            let checkout = usage(g.checkout, CHECKOUT_USAGE);
            let search = usage(g.search, SEARCH_USAGE);
            // CPU and memory follow the request rate, whatever the tick's length.
            let api_rate = api / volume;
            let cpu = (10.0
                + 0.37 * api_rate
                + e.cpu_add
                + 6.0 / root_inst * draw(&mut sub(CPU), tails, false))
            .clamp(0.0, 100.0);
            let memory = (600.0
                + 1.3 * api_rate
                + 60.0 * g.lf
                + e.memory_add
                + 30.0 / root_inst * draw(&mut sub(MEMORY_MB), tails, false))
            .max(0.0);
            let network = (0.025 * api
                + 0.4 * 0.025 * api_mean / root_n * draw(&mut sub(NETWORK_MB), tails, false))
            .max(0.0);
            let p = g.error;
            // Errors are counted: Poisson over the cohort's requests (small cohorts see
            // a handful of errors per tick), with some overdispersion between users.
            let requests = (n * api).max(1.0);
            let mut errors = sub(ERROR_RATE);
            let rate = (p * (1.0 + 0.5 / root_n * draw(&mut errors, tails, false))).max(0.0);
            let error = (poisson(&mut errors, requests * rate, tails) / requests).clamp(0.0, 1.0);
            let latency = (g.latency
                * (1.0 + 0.6 / root_n * draw(&mut sub(LATENCY_MS), tails, true)))
            .max(1.0);
            out.extend([
                api, session, checkout, search, cpu, memory, network, error, latency,
            ]);
            let instances = (n / USERS_PER_INSTANCE).max(1.0);
            counts.extend([n, n, n, n, instances, instances, n, requests, requests]);
        }
    }

    /// One cohort's noise-free means, noise standard deviations and expected counts at
    /// absolute tick `t`, laid out like its values (all NaN without traffic). The
    /// standard deviations are those of the sampling noise of [`Scenario::live_tick`]'s
    /// draws (outliers included, the clamps at 0 and 100 % left out); common shocks are
    /// part of the mean, since both cohorts share them.
    pub(crate) fn cohort_moments(
        &self,
        t: usize,
        fraction: f64,
        shocks: &Shocks,
        effect: impl Fn(usize) -> Effect,
        out: &mut Vec<Moment>,
    ) {
        let tails = self.tails();
        let var = |prone: bool| tails.variance(prone);
        let volume = self.config.volume;
        for s in 0..N_SEGMENTS {
            let e = effect(s);
            let Some(g) = self.segment_means(s, t, fraction, shocks, e) else {
                out.extend([Moment::MISSING; N_METRICS]);
                continue;
            };
            let (n, root_n, root_inst) = (g.n, g.root_n, g.root_inst);
            let instances = (n / USERS_PER_INSTANCE).max(1.0);
            let sd_api = g.api * 0.8 / root_n * var(false).sqrt();
            let requests = (n * g.api).max(1.0);
            let moment = |mean: f64, sd: f64, count: f64| Moment { mean, sd, count };
            let hypot = |a: f64, b: f64| (a * a + b * b).sqrt();
            out.extend([
                moment(g.api, sd_api, n),
                moment(g.session, g.session / root_n * var(true).sqrt(), n),
                moment(g.checkout, (2.0 * g.checkout / n * var(false)).sqrt(), n),
                moment(g.search, (2.0 * g.search / n * var(false)).sqrt(), n),
                moment(
                    10.0 + 0.37 * g.api / volume + e.cpu_add,
                    hypot(0.37 * sd_api / volume, 6.0 / root_inst * var(false).sqrt()),
                    instances,
                ),
                moment(
                    600.0 + 1.3 * g.api / volume + 60.0 * g.lf + e.memory_add,
                    hypot(1.3 * sd_api / volume, 30.0 / root_inst * var(false).sqrt()),
                    instances,
                ),
                moment(
                    0.025 * g.api,
                    hypot(
                        0.025 * sd_api,
                        0.4 * 0.025 * g.api / root_n * var(false).sqrt(),
                    ),
                    n,
                ),
                moment(
                    g.error,
                    (g.error * g.error * 0.25 / n * var(false) + g.error / requests).sqrt(),
                    requests,
                ),
                moment(
                    g.latency,
                    g.latency * 0.6 / root_n * var(true).sqrt(),
                    requests,
                ),
            ]);
        }
    }

    fn make_history(&self) -> Vec<HistoryTick> {
        let len = self.history_len();
        let mut history = Vec::with_capacity(len);
        for t in 0..len {
            let mut values = Vec::with_capacity(N_SEGMENTS * N_METRICS);
            let key = [self.seed, tag::HISTORY, self.service_key(), t as u64];
            let shocks = self.shocks(t);
            let mut counts = Vec::with_capacity(N_SEGMENTS * N_METRICS);
            self.cohort_values(
                t,
                1.0,
                &shocks,
                |_| Effect::NONE,
                &key,
                &mut values,
                &mut counts,
            );
            let mut gaps = Rng::stream(&[self.seed, tag::HISTORY_GAPS, t as u64]);
            if gaps.chance(self.service.history_missing_ticks) {
                values.fill(f64::NAN);
            }
            for v in &mut values {
                if gaps.chance(self.service.history_missing_values) {
                    *v = f64::NAN;
                }
            }
            history.push(HistoryTick {
                timestamp: self.timestamp(t),
                values,
            });
        }
        history
    }

    /// Separates the history noise of services that differ in their noise model (the
    /// history is otherwise shared by every kind of a seed: one service, one profile).
    fn service_key(&self) -> u64 {
        self.service.heavy_tails as u64
    }

    /// Separates the live noise of every (kind, seed): rollouts of different kinds are
    /// independent samples.
    fn live_key(&self) -> u64 {
        ((self.kind.index() + 1) << 1) | self.service.heavy_tails as u64
    }

    fn affected_series(&self) -> Vec<AffectedSeries> {
        let Some(inj) = self.injection else {
            return Vec::new();
        };
        let (metrics, below): (Vec<usize>, bool) = match self.kind {
            ScenarioKind::ErrorSpike | ScenarioKind::ErrorRatioStep => (vec![ERROR_RATE], false),
            ScenarioKind::LatencyRegressionOneSegment | ScenarioKind::LatencyCreep => {
                (vec![LATENCY_MS], false)
            }
            ScenarioKind::MemoryLeak => (vec![MEMORY_MB], false),
            ScenarioKind::FeatureUsageDrop => (vec![inj.metric.unwrap_or(CHECKOUT_USAGE)], true),
            ScenarioKind::ShorterSessions => (vec![SESSION_DURATION], true),
            ScenarioKind::RetryStorm => (vec![API_CALLS, CPU, NETWORK_MB], false),
            _ => return Vec::new(),
        };
        let segments: Vec<usize> = match inj.segment {
            Some(s) => vec![s],
            None => (0..N_SEGMENTS).collect(),
        };
        let mut out = Vec::new();
        for &s in &segments {
            for &m in &metrics {
                let mut column: Vec<f64> = self
                    .history
                    .iter()
                    .map(|h| h.values[s * N_METRICS + m])
                    .filter(|v| !v.is_nan())
                    .collect();
                column.sort_by(f64::total_cmp);
                let (mean, sd) = mean_sd(&column);
                let threshold = if below {
                    nearest_rank(&column, 0.001).min(mean - 4.0 * sd)
                } else {
                    nearest_rank(&column, 0.999).max(mean + 4.0 * sd)
                };
                out.push(AffectedSeries {
                    segment: s,
                    metric: m,
                    below,
                    threshold,
                });
            }
        }
        out
    }

    /// The canary's values at live tick `k` as if it served all traffic (the
    /// counterfactual a static threshold on the fully rolled-out release would see).
    fn full_traffic_canary(&self, k: usize) -> Vec<f64> {
        let t = self.history_len().saturating_add(k);
        let mut out = Vec::with_capacity(N_SEGMENTS * N_METRICS);
        let key = [self.seed, tag::STATIC, self.live_key(), t as u64];
        let shocks = self.shocks(t);
        let mut counts = Vec::with_capacity(N_SEGMENTS * N_METRICS);
        self.cohort_values(
            t,
            1.0,
            &shocks,
            |s| self.effect(k, Cohort::Canary, s),
            &key,
            &mut out,
            &mut counts,
        );
        out
    }

    fn find_static_trip(&self) -> Option<usize> {
        let onset = self.onset()?;
        if self.affected.is_empty() {
            return None;
        }
        (onset..self.config.static_horizon).find(|&k| {
            let v = self.full_traffic_canary(k);
            self.affected.iter().any(|a| {
                let x = v[a.segment * N_METRICS + a.metric];
                if a.below {
                    x < a.threshold
                } else {
                    x > a.threshold
                }
            })
        })
    }

    /// Whether live tick `k` is missing entirely.
    pub fn tick_missing(&self, k: usize) -> bool {
        if self.gaps.blocks.iter().any(|&(a, n)| k >= a && k < a + n) {
            return true;
        }
        self.gaps.tick_rate > 0.0
            && Rng::stream(&[self.seed, tag::GAPS, k as u64]).chance(self.gaps.tick_rate)
    }

    /// Live tick `k` of the rollout with the canary at `share` of traffic (read from
    /// the analysis's current decision), or `None` when the tick is missing entirely
    /// (skip it: the next tick's timestamp jumps). A pure function of the scenario,
    /// `k` and `share`. At share 0 (after a rollback) the canary's values are NaN; at
    /// share 1 (promoted) the control's are.
    pub fn live_tick(&self, k: usize, share: f64) -> Option<LiveTick> {
        if self.tick_missing(k) {
            return None;
        }
        let share = if share.is_nan() {
            0.0
        } else {
            share.clamp(0.0, 1.0)
        };
        let t = self.history_len().saturating_add(k);
        let shocks = self.shocks(t);
        let key = self.live_key();
        let width = N_SEGMENTS * N_METRICS;
        let (mut control, mut control_counts) =
            (Vec::with_capacity(width), Vec::with_capacity(width));
        let control_key = [self.seed, tag::CONTROL, key, t as u64];
        self.cohort_values(
            t,
            1.0 - share,
            &shocks,
            |s| self.effect(k, Cohort::Control, s),
            &control_key,
            &mut control,
            &mut control_counts,
        );
        let (mut canary, mut canary_counts) =
            (Vec::with_capacity(width), Vec::with_capacity(width));
        let canary_key = [self.seed, tag::CANARY, key, t as u64];
        self.cohort_values(
            t,
            share,
            &shocks,
            |s| self.effect(k, Cohort::Canary, s),
            &canary_key,
            &mut canary,
            &mut canary_counts,
        );
        if self.gaps.value_rate > 0.0 {
            let mut gaps = Rng::stream(&[self.seed, tag::GAPS, self.live_key(), k as u64, 1]);
            // A value lost in reporting loses its count with it.
            for (v, c) in control
                .iter_mut()
                .zip(control_counts.iter_mut())
                .chain(canary.iter_mut().zip(canary_counts.iter_mut()))
            {
                if gaps.chance(self.gaps.value_rate) {
                    *v = f64::NAN;
                    *c = f64::NAN;
                }
            }
        }
        Some(LiveTick {
            k,
            timestamp: self.timestamp(t),
            share,
            control,
            canary,
            control_counts,
            canary_counts,
        })
    }

    /// The noise-free means, noise standard deviations and expected counts behind
    /// [`Scenario::live_tick`]`(k, share)`'s values, as `(control, canary)`, laid out
    /// like them (see [`Moment`]); `None` when the tick is missing.
    pub fn live_moments(&self, k: usize, share: f64) -> Option<(Vec<Moment>, Vec<Moment>)> {
        if self.tick_missing(k) {
            return None;
        }
        let share = if share.is_nan() {
            0.0
        } else {
            share.clamp(0.0, 1.0)
        };
        let t = self.history_len().saturating_add(k);
        let shocks = self.shocks(t);
        let width = N_SEGMENTS * N_METRICS;
        let (mut control, mut canary) = (Vec::with_capacity(width), Vec::with_capacity(width));
        self.cohort_moments(
            t,
            1.0 - share,
            &shocks,
            |s| self.effect(k, Cohort::Control, s),
            &mut control,
        );
        self.cohort_moments(
            t,
            share,
            &shocks,
            |s| self.effect(k, Cohort::Canary, s),
            &mut canary,
        );
        Some((control, canary))
    }

    /// The fault's effect on the canary of segment `s` on its first tick (for a step,
    /// its full effect; for a leak or a creep, one tick's growth); no effect for a
    /// healthy kind or a segment the fault spares.
    pub(crate) fn fault_unit_effect(&self, s: usize) -> Effect {
        match self.injection {
            Some(inj) if self.kind.harmful() => self.effect(inj.onset, Cohort::Canary, s),
            _ => Effect::NONE,
        }
    }

    /// The share schedule of a rollout in which every decision is "continue": each
    /// step of `traffic` (with this scenario's steps, see [`Scenario::traffic_for`])
    /// lasts `max(dwell, min_evidence_ticks)` present ticks (the dwell converted at the
    /// scenario's tick interval when it is given in seconds), and the last
    /// step is held. An approximation of the controller (it ignores the evidence
    /// needed for the final step), for writing a live file without an analysis.
    pub fn reference_shares(&self, ticks: usize, traffic: &TrafficConfig) -> Vec<f64> {
        let mut traffic = self.traffic_for(traffic);
        if let Some(s) = traffic.min_dwell_seconds {
            // The dwell the analysis converts it to at this tick interval.
            let interval = self.config.tick_seconds as f64;
            traffic.min_dwell_ticks = (s / interval).round().clamp(1.0, f64::from(u32::MAX)) as u32;
        }
        let per_step = traffic
            .min_dwell_ticks
            .max(traffic.min_evidence_ticks)
            .max(1) as usize;
        let mut shares = Vec::with_capacity(ticks);
        let (mut step, mut present) = (0usize, 0usize);
        for k in 0..ticks {
            let share = traffic.steps.get(step).copied().unwrap_or(1.0);
            shares.push(share);
            if !self.tick_missing(k) {
                present += 1;
                if present >= per_step && step + 1 < traffic.steps.len() {
                    step += 1;
                    present = 0;
                }
            }
        }
        shares
    }

    /// Pre-generated live ticks `0..shares.len()` with the given share at each tick
    /// (missing ticks left out), e.g. from [`Scenario::reference_shares`].
    pub fn live_rows(&self, shares: &[f64]) -> Vec<LiveTick> {
        shares
            .iter()
            .enumerate()
            .filter_map(|(k, &share)| self.live_tick(k, share))
            .collect()
    }

    /// Pre-generated live ticks `0..ticks` at one fixed share (missing ticks left out).
    pub fn live_rows_fixed_share(&self, ticks: usize, share: f64) -> Vec<LiveTick> {
        self.live_rows(&vec![share; ticks])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_classes_are_consistent() {
        for k in ScenarioKind::ALL {
            assert_eq!(ScenarioKind::from_name(k.name()), Some(k));
            if k.is_step_fault() || k.is_gradual_fault() {
                assert!(k.harmful());
            }
            let json = serde_json::to_string(&k).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", k.name()));
        }
        assert_eq!(ScenarioKind::ALL.iter().filter(|k| k.harmful()).count(), 8);
        assert_eq!(ScenarioKind::from_name("nope"), None);
        assert!(Schema::new(schema()).is_ok());
    }

    #[test]
    fn the_daily_cycle_peaks_in_the_afternoon() {
        let sc = Scenario::generate(ScenarioKind::AaIdentical, 1);
        let at = |h: usize| sc.daily_load(0, h * 2);
        assert!(at(14) > at(3) * 2.0, "{} {}", at(14), at(3));
        let week = Scenario::generate_with(
            ScenarioKind::AaIdentical,
            1,
            &SimConfig {
                weekly_amplitude: 0.3,
                ..SimConfig::default()
            },
        );
        // Day 5 is a Saturday.
        assert!(week.daily_load(0, 5 * 48 + 28) < 0.75 * week.daily_load(0, 28));
    }

    #[test]
    fn quantiles_use_nearest_rank() {
        let v: Vec<f64> = (1..=1000).map(f64::from).collect();
        assert_eq!(nearest_rank(&v, 0.999), 999.0);
        assert_eq!(nearest_rank(&v, 0.001), 1.0);
        assert_eq!(nearest_rank(&[], 0.5), 0.0);
    }
}
