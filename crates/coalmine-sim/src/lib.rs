//! # coalmine-sim
//!
//! A seeded, deterministic simulator of canary rollouts and an evaluation harness
//! that scores coalmine's [`Analysis`](coalmine::analysis::Analysis) on them.
//!
//! - [`scenario`]: a simulated service (three user segments, nine metric families, a
//!   daily cycle, sampling noise that grows as a cohort shrinks) with a history of
//!   the stable version and a live generator for the rollout, carrying one of seven
//!   faults or one of eight healthy traps ([`ScenarioKind`]).
//!   [`SimConfig::preset`] names the configurations reported separately: half-hour
//!   ticks (the default), half-hour with widened traps and mid-ramp faults, one-minute
//!   ticks with sparse error counts, and segments of very different sizes. Every live
//!   tick carries the count behind each value.
//! - [`eval`]: runs an analysis on every (kind, seed), tick by tick at the share the
//!   analysis decides, and reports rollback rates, false rollbacks, detection delay,
//!   lead time against a static threshold, user exposure, pauses that resumed on a
//!   live fault, and each fault's delay against an oracle that knows the fault (a CUSUM
//!   calibrated to coalmine's own false-rollback count), with the quality targets
//!   ([`EvalReport::to_markdown`], JSON through serde).
//! - [`suite`]: one configuration on the tuning seeds, on held-out seeds and in long
//!   A/A rollouts, with a verify table of every target.
//!
//! ```
//! use coalmine_sim::{Scenario, ScenarioKind};
//!
//! let sc = Scenario::generate(ScenarioKind::ErrorSpike, 7);
//! let again = Scenario::generate(ScenarioKind::ErrorSpike, 7);
//! assert_eq!(sc.live_tick(3, 0.05), again.live_tick(3, 0.05));
//! assert!(sc.kind.harmful() && sc.onset().is_some());
//! ```
//!
//! No threads, no clock, no I/O: the same configuration gives the same report.

pub mod eval;
mod oracle;
mod rng;
pub mod scenario;
pub mod suite;

pub use eval::{
    EvalConfig, EvalReport, RunOutcome, RunResult, Summary, Target, evaluate,
    evaluate_with_progress, run_scenario, run_scenario_traced, run_scenario_with,
};
pub use scenario::{
    AffectedSeries, Gaps, HistoryTick, Injection, LiveTick, Moment, OnsetConfig, Scenario,
    ScenarioKind, ServiceModel, SimConfig, TrapConfig,
};
pub use suite::{ConfigReport, LongAaReport, SuiteConfig, long_aa, run_suite};
