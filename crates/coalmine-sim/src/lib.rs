//! # coalmine-sim
//!
//! A seeded, deterministic simulator of canary rollouts and an evaluation harness
//! that scores coalmine's [`Analysis`](coalmine::analysis::Analysis) on them.
//!
//! - [`scenario`]: a simulated service (three user segments, nine metric families, a
//!   daily cycle, sampling noise that grows as a cohort shrinks) with a history of
//!   the stable version and a live generator for the rollout, carrying one of seven
//!   faults or one of eight healthy traps ([`ScenarioKind`]).
//! - [`eval`]: runs an analysis on every (kind, seed), tick by tick at the share the
//!   analysis decides, and reports rollback rates, false rollbacks, detection delay,
//!   lead time against a static threshold and user exposure, with the quality targets
//!   ([`EvalReport::to_markdown`], JSON through serde).
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
    evaluate_with_progress, run_scenario, run_scenario_traced,
};
pub use scenario::{
    AffectedSeries, Gaps, HistoryTick, Injection, LiveTick, Moment, OnsetConfig, Scenario,
    ScenarioKind, ServiceModel, SimConfig, TrapConfig,
};
pub use suite::{ConfigReport, LongAaReport, SuiteConfig, long_aa, run_suite};
