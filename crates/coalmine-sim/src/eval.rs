//! The evaluation harness: coalmine's [`Analysis`] on every scenario kind and seed.
//!
//! For each (kind, seed) the harness generates the [`Scenario`], learns a profile
//! from its history ([`Scenario::build_profile`]; identical histories share one
//! profile), and runs an [`Analysis`] tick by tick: before each tick it reads the
//! decision's `canary_share` and generates the tick at that share; a missing tick is
//! skipped; the rollout stops at the first rollback, at promotion, or after
//! `max_live_ticks`. Everything is single-threaded and deterministic: the same
//! configuration gives the same [`EvalReport`] bit for bit.
//!
//! **Measures** (per kind, per group, and against the targets):
//!
//! - *rolled back*: for a harmful kind, a rollback at or after the fault's onset (a
//!   rollback before the onset is a false alarm that happened to help, counted apart
//!   as "before onset"); for a healthy kind, any rollback (a false rollback);
//! - *paused at least once*;
//! - *detection delay*: rollback tick − onset tick, in ticks, over detected runs
//!   (median and p90, nearest rank);
//! - *lead time against a static threshold*: static trip tick − rollback tick (see
//!   [`Scenario::static_trip_tick`]); and the share of harmful runs rolled back
//!   strictly before the static threshold trips (a run whose static threshold never
//!   trips within the horizon counts as before, a missed run as not);
//! - *user exposure*: the sum, over the ticks of the rollout during which the canary
//!   was faulty, of the canary's share (in share × ticks; a promoted faulty rollout is
//!   counted only up to promotion, after which everyone is exposed).

use coalmine::Error;
use coalmine::analysis::{Analysis, AnalysisConfig, Decision, Tick};
use coalmine::math::robust;
use coalmine::policy::{Action, Reason};
use coalmine::profile::BehaviorProfile;
use coalmine::traffic::Phase;
use serde::{Deserialize, Serialize};

use crate::oracle::{ObservedTick, Oracle, threshold};
use crate::scenario::{LiveTick, Scenario, ScenarioKind, SimConfig};

/// What to evaluate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvalConfig {
    /// Seeds per kind (default 20).
    pub seeds: u64,
    /// The first seed (default 1): seeds are `first_seed..first_seed + seeds`.
    pub first_seed: u64,
    /// The kinds to run (default: all of them).
    pub kinds: Vec<ScenarioKind>,
    /// The analysis settings (a scenario with its own ramp, the tiny canary, replaces
    /// `traffic.steps`).
    pub analysis: AnalysisConfig,
    /// Live ticks after which an undecided rollout is stopped (default 150).
    pub max_live_ticks: usize,
    /// The simulator's settings.
    pub sim: SimConfig,
    /// Pass the count behind each value to the analysis (default false: values
    /// only, as before counts existed).
    #[serde(default)]
    pub with_counts: bool,
}

impl Default for EvalConfig {
    fn default() -> Self {
        EvalConfig {
            seeds: 20,
            first_seed: 1,
            kinds: ScenarioKind::ALL.to_vec(),
            analysis: AnalysisConfig::default(),
            max_live_ticks: 150,
            sim: SimConfig::default(),
            with_counts: false,
        }
    }
}

/// How a rollout ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// Rolled back.
    RolledBack,
    /// Reached the last ramp step.
    Promoted,
    /// Neither within `max_live_ticks`.
    Undecided,
}

/// One rollout's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// The scenario kind.
    pub kind: ScenarioKind,
    /// The seed.
    pub seed: u64,
    /// Whether the canary was truly bad.
    pub harmful: bool,
    /// The fault's (or event's) onset tick.
    pub onset: Option<usize>,
    /// How it ended.
    pub outcome: RunOutcome,
    /// The live tick of the rollback or promotion.
    pub decided_at: Option<usize>,
    /// Why it was rolled back.
    pub rollback_reason: Option<Reason>,
    /// The first live tick with a pause (at any time).
    pub first_pause: Option<usize>,
    /// The first live tick at or after the onset at which any series (or joint model)
    /// was significant under Holm's procedure: when the detectors first saw it.
    pub first_signal: Option<usize>,
    /// The first live tick at or after the onset with a pause or a rollback: when the
    /// canary's exposure was first cut.
    pub first_alarm: Option<usize>,
    /// Ticks observed (missing ticks excluded).
    pub ticks_observed: usize,
    /// When a static threshold would have tripped (see [`Scenario::static_trip_tick`]).
    pub static_trip_tick: Option<usize>,
    /// Σ canary share over the ticks during which the canary was faulty.
    pub exposure: f64,
    /// The highest risk seen.
    pub peak_risk: f64,
    /// The canary share at the end.
    pub final_share: f64,
    /// Pauses that resumed the ramp while the fault was active (harmful kinds).
    #[serde(default)]
    pub resumes_while_faulty: usize,
    /// The oracle's detection delay in ticks after the onset (see the `oracle`
    /// section of the module documentation); `None` when it was not computed (no
    /// healthy rollouts to calibrate it on) or never alarmed.
    #[serde(default)]
    pub oracle_delay: Option<usize>,
    /// Oracle alarms before the onset (its false alarms in this rollout).
    #[serde(default)]
    pub oracle_early_alarms: usize,
    /// `(coalmine's delay + 1) / (oracle's delay + 1)`, both counted in ticks with the
    /// onset tick included; a fault coalmine did not roll back counts as rolled back at
    /// the tick limit (a lower bound). `None` without an oracle delay.
    #[serde(default)]
    pub delay_ratio: Option<f64>,
}

impl RunResult {
    /// The rollback tick, if rolled back.
    pub fn rollback_tick(&self) -> Option<usize> {
        match self.outcome {
            RunOutcome::RolledBack => self.decided_at,
            _ => None,
        }
    }

    /// First signal tick − onset tick, for a harmful rollout.
    pub fn signal_delay(&self) -> Option<usize> {
        match (self.harmful, self.first_signal, self.onset) {
            (true, Some(f), Some(o)) => f.checked_sub(o),
            _ => None,
        }
    }

    /// First pause-or-rollback tick − onset tick, for a harmful rollout.
    pub fn alarm_delay(&self) -> Option<usize> {
        match (self.harmful, self.first_alarm, self.onset) {
            (true, Some(f), Some(o)) => f.checked_sub(o),
            _ => None,
        }
    }

    /// A harmful rollout rolled back at or after its onset.
    pub fn detected(&self) -> bool {
        self.harmful && matches!((self.rollback_tick(), self.onset), (Some(r), Some(o)) if r >= o)
    }

    /// Rolled back before the fault's onset (harmful kinds) — a false alarm.
    pub fn rolled_back_before_onset(&self) -> bool {
        self.harmful && matches!((self.rollback_tick(), self.onset), (Some(r), Some(o)) if r < o)
    }

    /// Rollback tick − onset tick, for a detected fault.
    pub fn delay(&self) -> Option<usize> {
        match (self.detected(), self.rollback_tick(), self.onset) {
            (true, Some(r), Some(o)) => Some(r - o),
            _ => None,
        }
    }

    /// Static trip tick − rollback tick, for a detected fault whose static threshold
    /// trips within the horizon (positive: coalmine was earlier).
    pub fn lead_time(&self) -> Option<i64> {
        match (self.detected(), self.rollback_tick(), self.static_trip_tick) {
            (true, Some(r), Some(s)) => Some(s as i64 - r as i64),
            _ => None,
        }
    }

    /// Detected strictly before the static threshold trips (or it never trips).
    pub fn before_static(&self) -> bool {
        self.detected()
            && match (self.rollback_tick(), self.static_trip_tick) {
                (Some(r), Some(s)) => r < s,
                _ => true,
            }
    }
}

/// Aggregate measures over a group of runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The group: a scenario name, or "harmful", "healthy", "step faults", "leak and
    /// creep".
    pub label: String,
    /// Whether the group's canaries are truly bad.
    pub harmful: bool,
    /// Runs.
    pub runs: usize,
    /// Harmful: rolled back at or after onset. Healthy: rolled back at all.
    pub rolled_back: usize,
    /// Harmful runs rolled back before the onset (false alarms).
    pub rolled_back_before_onset: usize,
    /// Runs with at least one pause.
    pub paused: usize,
    /// Runs promoted.
    pub promoted: usize,
    /// Runs neither rolled back nor promoted within the tick limit.
    pub undecided: usize,
    /// Median delay from the onset to the first significant series, in ticks.
    pub signal_delay_median: Option<f64>,
    /// Median delay from the onset to the first pause or rollback, in ticks.
    pub alarm_delay_median: Option<f64>,
    /// Median detection (rollback) delay in ticks (detected runs).
    pub delay_median: Option<f64>,
    /// 90th percentile of the detection delay (nearest rank).
    pub delay_p90: Option<f64>,
    /// Median lead time against the static threshold, in ticks.
    pub lead_median: Option<f64>,
    /// Harmful runs rolled back strictly before the static threshold trips.
    pub before_static: usize,
    /// Mean exposure (share × ticks while faulty) over harmful runs.
    pub exposure_mean: Option<f64>,
    /// Rollbacks (at any time) because a critical metric was significant.
    pub by_critical_metric: usize,
    /// Rollbacks because the risk reached `t2`.
    pub by_risk_high: usize,
    /// Rollbacks because the predicted risk reached `t2` on consecutive ticks.
    pub by_prediction: usize,
    /// Rollbacks because a pause lasted too long.
    pub by_pause_timeout: usize,
    /// `rolled_back / runs`.
    pub rollback_rate: f64,
    /// `paused / runs`.
    pub pause_rate: f64,
    /// `before_static / runs`.
    pub before_static_rate: f64,
    /// Pauses that resumed while the fault was active, summed over the runs.
    #[serde(default)]
    pub resumes_while_faulty: usize,
    /// Runs with at least one such resume.
    #[serde(default)]
    pub runs_resumed_while_faulty: usize,
    /// Median oracle delay in ticks (runs where the oracle alarmed).
    #[serde(default)]
    pub oracle_delay_median: Option<f64>,
    /// Median of [`RunResult::delay_ratio`].
    #[serde(default)]
    pub delay_ratio_median: Option<f64>,
    /// Runs with a delay ratio.
    #[serde(default)]
    pub delay_ratio_runs: usize,
    /// Oracle alarms before the onset, summed over the runs.
    #[serde(default)]
    pub oracle_early_alarms: usize,
}

/// The core's median, `None` for no values.
fn median(sorted: &[f64]) -> Option<f64> {
    (!sorted.is_empty()).then(|| robust::median_sorted(sorted))
}

/// The core's nearest-rank quantile, `None` for no values.
fn nearest_rank(sorted: &[f64], q: f64) -> Option<f64> {
    (!sorted.is_empty()).then(|| robust::nearest_rank(sorted, q))
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

impl Summary {
    /// Summarises `runs` under `label`.
    pub fn of<'a>(
        label: &str,
        harmful: bool,
        runs: impl IntoIterator<Item = &'a RunResult>,
    ) -> Self {
        let runs: Vec<&RunResult> = runs.into_iter().collect();
        let n = runs.len();
        let rolled_back = runs
            .iter()
            .filter(|r| {
                if r.harmful {
                    r.detected()
                } else {
                    r.outcome == RunOutcome::RolledBack
                }
            })
            .count();
        let sorted = |f: &dyn Fn(&RunResult) -> Option<usize>| {
            let mut v: Vec<f64> = runs.iter().filter_map(|r| f(r)).map(|d| d as f64).collect();
            v.sort_by(f64::total_cmp);
            v
        };
        let delays = sorted(&|r| r.delay());
        let mut leads: Vec<f64> = runs
            .iter()
            .filter_map(|r| r.lead_time())
            .map(|d| d as f64)
            .collect();
        leads.sort_by(f64::total_cmp);
        let harmful_runs: Vec<&&RunResult> = runs.iter().filter(|r| r.harmful).collect();
        let exposure_mean = (!harmful_runs.is_empty()).then(|| {
            harmful_runs.iter().map(|r| r.exposure).sum::<f64>() / harmful_runs.len() as f64
        });
        let before_static = runs.iter().filter(|r| r.before_static()).count();
        let paused = runs.iter().filter(|r| r.first_pause.is_some()).count();
        let mut ratios: Vec<f64> = runs.iter().filter_map(|r| r.delay_ratio).collect();
        ratios.sort_by(f64::total_cmp);
        let by = |reason: Reason| {
            runs.iter()
                .filter(|r| r.rollback_reason == Some(reason))
                .count()
        };
        Summary {
            label: label.to_string(),
            harmful,
            runs: n,
            rolled_back,
            rolled_back_before_onset: runs.iter().filter(|r| r.rolled_back_before_onset()).count(),
            paused,
            promoted: runs
                .iter()
                .filter(|r| r.outcome == RunOutcome::Promoted)
                .count(),
            undecided: runs
                .iter()
                .filter(|r| r.outcome == RunOutcome::Undecided)
                .count(),
            signal_delay_median: median(&sorted(&|r| r.signal_delay())),
            alarm_delay_median: median(&sorted(&|r| r.alarm_delay())),
            delay_median: median(&delays),
            delay_p90: nearest_rank(&delays, 0.9),
            lead_median: median(&leads),
            before_static,
            exposure_mean,
            by_critical_metric: by(Reason::CriticalMetric),
            by_risk_high: by(Reason::RiskHigh),
            by_prediction: by(Reason::Predicted),
            by_pause_timeout: by(Reason::PauseTimeout),
            rollback_rate: ratio(rolled_back, n),
            pause_rate: ratio(paused, n),
            before_static_rate: ratio(before_static, n),
            resumes_while_faulty: runs.iter().map(|r| r.resumes_while_faulty).sum(),
            runs_resumed_while_faulty: runs.iter().filter(|r| r.resumes_while_faulty > 0).count(),
            oracle_delay_median: median(&sorted(&|r| r.oracle_delay)),
            delay_ratio_median: median(&ratios),
            delay_ratio_runs: ratios.len(),
            oracle_early_alarms: runs.iter().map(|r| r.oracle_early_alarms).sum(),
        }
    }
}

/// One quality target and whether it was met.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// What is measured.
    pub name: String,
    /// The goal, in words ("≥ 95 %").
    pub goal: String,
    /// The measured value (a share in `[0, 1]` or ticks); `None` without runs.
    pub measured: Option<f64>,
    /// Whether it is a share (printed as a percentage) or ticks.
    pub is_share: bool,
    /// Met, missed, or `None` without runs.
    pub met: Option<bool>,
    /// For a share: `(count, runs)` behind it.
    pub count: Option<(usize, usize)>,
    /// For a share: its 95 % Wilson score interval.
    pub interval: Option<(f64, f64)>,
    /// The unit of a measure that is not a share (`None`: ticks; `"count"`: a plain
    /// number; `"×"`: a ratio).
    #[serde(default)]
    pub unit: Option<String>,
}

/// The 95 % Wilson score interval of `k` successes in `n` trials (`(0, 1)` for none).
pub fn wilson_interval(k: usize, n: usize) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let (k, n) = (k as f64, n as f64);
    let z: f64 = 1.959_963_984_540_054;
    let p = k / n;
    let denom = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / denom;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// The result of an evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// What was evaluated.
    pub config: EvalConfig,
    /// Per kind, in the order of `config.kinds`.
    pub kinds: Vec<Summary>,
    /// Harmful, healthy, step faults, leak and creep (groups with no runs left out).
    pub groups: Vec<Summary>,
    /// The targets.
    pub targets: Vec<Target>,
    /// Every run, kind by kind, seed by seed.
    pub runs: Vec<RunResult>,
}

/// Runs one scenario against `profile` (learnt from its history) and reports how the
/// rollout ended. `config.traffic.steps` is replaced by the scenario's own ramp, if
/// it has one.
pub fn run_scenario(
    scenario: &Scenario,
    profile: &BehaviorProfile,
    config: &AnalysisConfig,
    max_live_ticks: usize,
) -> Result<RunResult, Error> {
    run_scenario_traced(scenario, profile, config, max_live_ticks, |_, _| {})
}

/// [`run_scenario`], calling `trace` with every observed tick and its decision.
pub fn run_scenario_traced(
    scenario: &Scenario,
    profile: &BehaviorProfile,
    config: &AnalysisConfig,
    max_live_ticks: usize,
    trace: impl FnMut(&LiveTick, &Decision),
) -> Result<RunResult, Error> {
    run_scenario_with(scenario, profile, config, max_live_ticks, false, trace)
}

/// [`run_scenario_traced`], passing the count behind each value to the analysis when
/// `with_counts`.
pub fn run_scenario_with(
    scenario: &Scenario,
    profile: &BehaviorProfile,
    config: &AnalysisConfig,
    max_live_ticks: usize,
    with_counts: bool,
    mut trace: impl FnMut(&LiveTick, &Decision),
) -> Result<RunResult, Error> {
    let config = AnalysisConfig {
        traffic: scenario.traffic_for(&config.traffic),
        // The harness learns its profiles without timestamps: the interval comes from
        // the simulator, unless the settings name one.
        tick_seconds: config
            .tick_seconds
            .or(Some(scenario.config.tick_seconds as f64)),
        ..config.clone()
    };
    let mut analysis = Analysis::new(profile, config)?;
    let mut result = RunResult {
        kind: scenario.kind,
        seed: scenario.seed,
        harmful: scenario.kind.harmful(),
        onset: scenario.onset(),
        outcome: RunOutcome::Undecided,
        decided_at: None,
        rollback_reason: None,
        first_pause: None,
        first_signal: None,
        first_alarm: None,
        ticks_observed: 0,
        static_trip_tick: scenario.static_trip_tick,
        exposure: 0.0,
        peak_risk: 0.0,
        final_share: analysis.decision().canary_share,
        resumes_while_faulty: 0,
        oracle_delay: None,
        oracle_early_alarms: 0,
        delay_ratio: None,
    };
    for k in 0..max_live_ticks {
        let was_paused = analysis.decision().phase == Phase::Paused;
        let share = analysis.decision().canary_share;
        if scenario.fault_active(k) {
            result.exposure += share;
        }
        let Some(tick) = scenario.live_tick(k, share) else {
            continue;
        };
        let mut observed = Tick::new(tick.timestamp as f64, &tick.control, &tick.canary);
        if with_counts {
            observed = observed.with_counts(&tick.control_counts, &tick.canary_counts);
        }
        let decision = analysis.observe(&observed)?;
        trace(&tick, decision);
        result.ticks_observed += 1;
        if was_paused && decision.phase == Phase::Ramping && scenario.fault_active(k) {
            result.resumes_while_faulty += 1;
        }
        let paused = matches!(decision.action, Action::Pause { .. });
        let rolled_back = matches!(decision.action, Action::Rollback { .. });
        if paused && result.first_pause.is_none() {
            result.first_pause = Some(k);
        }
        if let Some(onset) = result.onset.filter(|&o| k >= o) {
            let _ = onset;
            if decision.assessment.significant > 0 && result.first_signal.is_none() {
                result.first_signal = Some(k);
            }
            if (paused || rolled_back) && result.first_alarm.is_none() {
                result.first_alarm = Some(k);
            }
        }
        if matches!(decision.action, Action::Rollback { .. }) {
            result.outcome = RunOutcome::RolledBack;
            result.decided_at = Some(k);
            result.rollback_reason = Some(decision.reason);
            break;
        }
        if decision.phase == Phase::Promoted {
            result.outcome = RunOutcome::Promoted;
            result.decided_at = Some(k);
            break;
        }
    }
    result.peak_risk = analysis.peak_risk();
    result.final_share = analysis.decision().canary_share;
    Ok(result)
}

/// Computes every harmful run's oracle delay and delay ratio (see the `oracle`
/// section of the module documentation), calibrating each oracle on the healthy runs
/// among `runs` at coalmine's own count of false rollbacks there. Without healthy
/// runs nothing is computed.
fn apply_oracle(runs: &mut [RunResult], paths: &[(Scenario, Vec<(usize, f64)>)], max_ticks: usize) {
    // The oracle knows the noise, not the traps: each healthy rollout is replayed
    // with its event (surge, spike, better canary) removed, at the shares it had.
    let healthy: Vec<(Scenario, Vec<ObservedTick>)> = paths
        .iter()
        .filter(|(sc, _)| !sc.kind.harmful())
        .map(|(sc, path)| {
            let quiet = sc.without_injection();
            let ticks = path
                .iter()
                .filter_map(|&(k, share)| ObservedTick::new(&quiet, k, share))
                .collect();
            (quiet, ticks)
        })
        .collect();
    if healthy.is_empty() {
        return;
    }
    let allowed = runs
        .iter()
        .filter(|r| !r.harmful && r.outcome == RunOutcome::RolledBack)
        .count();
    for (run, (sc, path)) in runs.iter_mut().zip(paths) {
        let Some(oracle) = Oracle::new(sc) else {
            continue;
        };
        let mut nulls: Vec<f64> = healthy
            .iter()
            .map(|(h, ticks)| oracle.null_max(h, ticks))
            .collect();
        let h = threshold(&mut nulls, allowed);
        let (alarm, early) = oracle.alarm(path, h, max_ticks);
        let onset = sc.onset().unwrap_or(0);
        run.oracle_early_alarms = early;
        run.oracle_delay = alarm.map(|a| a - onset);
        run.delay_ratio = run.oracle_delay.map(|o| {
            let ours = run
                .delay()
                .unwrap_or_else(|| max_ticks.saturating_sub(onset + 1));
            (ours + 1) as f64 / (o + 1) as f64
        });
    }
}

/// Evaluates `config`. See the [module documentation](self).
pub fn evaluate(config: &EvalConfig) -> Result<EvalReport, Error> {
    evaluate_with_progress(config, |_, _| {})
}

/// [`evaluate`], calling `progress(done, total)` after every rollout (for a progress
/// bar).
pub fn evaluate_with_progress(
    config: &EvalConfig,
    mut progress: impl FnMut(usize, usize),
) -> Result<EvalReport, Error> {
    let total = config
        .kinds
        .len()
        .saturating_mul(usize::try_from(config.seeds).unwrap_or(usize::MAX));
    let mut runs = Vec::with_capacity(total.min(1 << 16));
    // What the oracle needs of each rollout: the scenario (without its history) and
    // the (tick, share) of every observed tick.
    let mut paths: Vec<(Scenario, Vec<(usize, f64)>)> = Vec::with_capacity(total.min(1 << 16));
    let mut done = 0;
    for seed in config.first_seed..config.first_seed.saturating_add(config.seeds) {
        // Kinds that only change the canary share the service's history: learn its
        // profile once per seed.
        let mut cache: Vec<(Vec<u64>, BehaviorProfile)> = Vec::new();
        for &kind in &config.kinds {
            let mut scenario = Scenario::generate_with(kind, seed, &config.sim);
            let key: Vec<u64> = scenario
                .history
                .iter()
                .flat_map(|h| h.values.iter().map(|v| v.to_bits()))
                .collect();
            let index = match cache.iter().position(|(k, _)| *k == key) {
                Some(i) => i,
                None => {
                    cache.push((key, scenario.build_profile()?));
                    cache.len() - 1
                }
            };
            let profile = &cache[index].1;
            let mut path = Vec::new();
            runs.push(run_scenario_with(
                &scenario,
                profile,
                &config.analysis,
                config.max_live_ticks,
                config.with_counts,
                |t, _| path.push((t.k, t.share)),
            )?);
            scenario.history = Vec::new();
            paths.push((scenario, path));
            done += 1;
            progress(done, total);
        }
    }
    apply_oracle(&mut runs, &paths, config.max_live_ticks);
    // Kind by kind (in the configured order), then seed by seed.
    let order = |k: ScenarioKind| {
        config
            .kinds
            .iter()
            .position(|&x| x == k)
            .unwrap_or(usize::MAX)
    };
    runs.sort_by_key(|r| (order(r.kind), r.seed));
    Ok(EvalReport::from_runs(config.clone(), runs))
}

impl EvalReport {
    /// Summarises `runs` (as produced by [`run_scenario`]) into a report.
    pub fn from_runs(config: EvalConfig, runs: Vec<RunResult>) -> Self {
        let kinds: Vec<Summary> = config
            .kinds
            .iter()
            .map(|&k| Summary::of(k.name(), k.harmful(), runs.iter().filter(|r| r.kind == k)))
            .collect();
        let group = |label: &str, harmful: bool, f: &dyn Fn(ScenarioKind) -> bool| {
            Summary::of(label, harmful, runs.iter().filter(|r| f(r.kind)))
        };
        let harmful = group("harmful", true, &|k| k.harmful() && !k.is_probe());
        let healthy = group("healthy", false, &|k| !k.harmful());
        let step = group("step faults", true, &|k| k.is_step_fault());
        let gradual = group("leak and creep", true, &|k| k.is_gradual_fault());
        let share_target = |name: &str,
                            goal: &str,
                            s: &Summary,
                            at_least: Option<f64>,
                            at_most: Option<f64>,
                            count: usize| {
            let measured = (s.runs > 0).then_some(ratio(count, s.runs));
            Target {
                count: Some((count, s.runs)),
                interval: (s.runs > 0).then(|| wilson_interval(count, s.runs)),
                name: name.to_string(),
                goal: goal.to_string(),
                measured,
                is_share: true,
                unit: None,
                met: measured
                    .map(|v| at_least.is_none_or(|lo| v >= lo) && at_most.is_none_or(|hi| v <= hi)),
            }
        };
        let plain = |name: &str,
                     goal: &str,
                     measured: Option<f64>,
                     unit: &str,
                     ok: &dyn Fn(f64) -> bool| {
            Target {
                name: name.to_string(),
                goal: goal.to_string(),
                measured,
                is_share: false,
                met: measured.map(ok),
                count: None,
                interval: None,
                unit: Some(unit.to_string()),
            }
        };
        let mut targets = vec![
            share_target(
                "harmful rollouts rolled back",
                "≥ 98 %",
                &harmful,
                Some(0.98),
                None,
                harmful.rolled_back,
            ),
            share_target(
                "healthy rollouts rolled back",
                "≤ 1 %",
                &healthy,
                None,
                Some(0.01),
                healthy.rolled_back,
            ),
            plain(
                "pauses that resumed while the fault persisted",
                "0",
                (harmful.runs > 0).then_some(harmful.resumes_while_faulty as f64),
                "count",
                &|v| v == 0.0,
            ),
        ];
        // The delay target is stated for half-hour ticks only.
        if config.sim.tick_seconds == 1800 {
            targets.push(Target {
                name: "median detection delay, step faults".into(),
                goal: "≤ 3 ticks".into(),
                measured: step.delay_median,
                is_share: false,
                count: None,
                interval: None,
                unit: None,
                met: if step.runs == 0 {
                    None
                } else {
                    Some(step.delay_median.is_some_and(|d| d <= 3.0))
                },
            });
        }
        targets.push(plain(
            "detection delay ÷ oracle's (median over harmful rollouts)",
            "≤ 2×",
            harmful.delay_ratio_median,
            "×",
            &|v| v <= 2.0,
        ));
        targets.push(share_target(
            "leak and creep rolled back before the static threshold",
            "≥ 90 %",
            &gradual,
            Some(0.90),
            None,
            gradual.before_static,
        ));
        let probe = group("error-ratio step", true, &|k| k.is_probe());
        if probe.runs > 0 {
            targets.push(plain(
                if config.with_counts {
                    "3× error-ratio step in a 1 % canary: delay ÷ oracle's (median), with counts"
                } else {
                    "3× error-ratio step in a 1 % canary: delay ÷ oracle's (median), without counts"
                },
                "≤ 2×",
                probe.delay_ratio_median,
                "×",
                &|v| v <= 2.0,
            ));
        }
        let groups = [harmful, healthy, step, gradual]
            .into_iter()
            .filter(|g| g.runs > 0)
            .collect();
        EvalReport {
            config,
            kinds,
            groups,
            targets,
            runs,
        }
    }

    /// Serialises the report (configuration, summaries, targets and every run) to
    /// JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The report as Markdown: a table with a row per scenario kind, the groups, and
    /// the targets with met / missed.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let c = &self.config;
        out.push_str(&format!(
            "{} seeds ({}..={}) per scenario, {} rollouts, at most {} live ticks each; \
             {} ticks per day, {} days of history; {}.\n\n",
            c.seeds,
            c.first_seed,
            c.first_seed.saturating_add(c.seeds).saturating_sub(1),
            self.runs.len(),
            c.max_live_ticks,
            c.sim.ticks_per_day,
            c.sim.history_days,
            if c.with_counts {
                "the analysis is given the count behind each value"
            } else {
                "values without counts"
            },
        ));
        out.push_str(
            "Outcomes. *Rolled back*: for a harmful scenario, at or after the fault's onset \
             (earlier rollbacks are counted under *before onset*); for a healthy one, at \
             any time (a false rollback).\n\n\
             | scenario | harmful | runs | rolled back | before onset | paused ≥ 1 | \
             promoted | undecided |\n\
             | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n",
        );
        let all: Vec<(&Summary, bool)> = self
            .kinds
            .iter()
            .map(|s| (s, false))
            .chain(self.groups.iter().map(|s| (s, true)))
            .collect();
        for &(s, group) in &all {
            let count = |n: usize| format!("{n} ({})", pct(ratio(n, s.runs)));
            let before_onset = if s.harmful {
                s.rolled_back_before_onset.to_string()
            } else {
                "–".to_string()
            };
            out.push_str(&format!(
                "| {} | {} | {} | {} | {before_onset} | {} | {} | {} |\n",
                label(s, group),
                if s.harmful { "yes" } else { "no" },
                s.runs,
                count(s.rolled_back),
                count(s.paused),
                s.promoted,
                s.undecided,
            ));
        }
        out.push_str(
            "\nTiming of harmful rollouts, in ticks after the onset (medians over the runs \
             concerned): first significant series, first pause or rollback, rollback \
             (median and p90); lead time against the static threshold (static trip − \
             rollback), rollouts rolled back strictly before it trips, and exposure (Σ \
             canary share over the faulty ticks).\n\n\
             | scenario | first signal | first pause / rollback | rollback median / p90 | \
             lead vs static | before static | exposure (mean) |\n\
             | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n",
        );
        for &(s, group) in all.iter().filter(|(s, _)| s.harmful) {
            out.push_str(&format!(
                "| {} | {} | {} | {} / {} | {} | {} ({}) | {} |\n",
                label(s, group),
                opt(s.signal_delay_median, 1),
                opt(s.alarm_delay_median, 1),
                opt(s.delay_median, 1),
                opt(s.delay_p90, 0),
                opt(s.lead_median, 1),
                s.before_static,
                pct(s.before_static_rate),
                opt(s.exposure_mean, 2),
            ));
        }
        out.push_str(
            "\nAgainst the oracle (a one-sided CUSUM of log-likelihood ratios on the affected \
             series' canary-minus-control difference, knowing the fault's series, direction, \
             size and the noise, at coalmine's false-rollback count on the healthy rollouts): \
             medians of the oracle's delay and of coalmine's, in ticks after the onset; \
             median of (coalmine's delay + 1) ÷ (oracle's delay + 1), a fault coalmine did \
             not roll back counting as rolled back at the tick limit; oracle alarms before \
             the onset; pauses that resumed the ramp while the fault persisted (runs with \
             one or more).\n\n\
             | scenario | oracle delay | coalmine delay | ratio (median) | oracle early alarms \
             | resumes while faulty |\n\
             | --- | ---: | ---: | ---: | ---: | ---: |\n",
        );
        for &(s, group) in all.iter().filter(|(s, _)| s.harmful) {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} ({}) |\n",
                label(s, group),
                opt(s.oracle_delay_median, 1),
                opt(s.delay_median, 1),
                s.delay_ratio_median
                    .map_or("–".to_string(), |v| format!("{v:.2}")),
                s.oracle_early_alarms,
                s.resumes_while_faulty,
                s.runs_resumed_while_faulty,
            ));
        }
        out.push_str(
            "\nWhy rollouts were rolled back (every rollback, before onset included):\n\n\
             | scenario | critical metric | risk ≥ t2 | predicted risk ≥ t2 | pause timeout |\n\
             | --- | ---: | ---: | ---: | ---: |\n",
        );
        for s in &self.kinds {
            out.push_str(&format!(
                "| `{}` | {} | {} | {} | {} |\n",
                s.label, s.by_critical_metric, s.by_risk_high, s.by_prediction, s.by_pause_timeout
            ));
        }
        out.push_str("\n| target | goal | measured | status |\n| --- | --- | ---: | --- |\n");
        for t in &self.targets {
            let measured = match (t.measured, t.is_share) {
                (None, _) => "n/a".to_string(),
                (Some(v), true) => match (t.count, t.interval) {
                    (Some((k, n)), Some((lo, hi))) => format!(
                        "{} ({k}/{n}; 95 % CI {:.1}–{:.1} %)",
                        pct(v),
                        100.0 * lo,
                        100.0 * hi
                    ),
                    _ => pct(v),
                },
                (Some(v), false) => match t.unit.as_deref() {
                    None => format!("{v:.1} ticks"),
                    Some("×") => format!("{v:.2}×"),
                    Some("count") => format!("{v:.0}"),
                    Some(u) => format!("{v:.0} {u}"),
                },
            };
            let status = match t.met {
                Some(true) => "met",
                Some(false) => "**missed**",
                None => "n/a",
            };
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                t.name, t.goal, measured, status
            ));
        }
        let a = &c.analysis;
        out.push_str(&format!(
            "\nAnalysis settings: risk `{}`; policy `{}`; traffic steps `{:?}` (dwell {}, \
             evidence {}); learned thresholds {}.\n",
            serde_json::to_string(&a.risk).unwrap_or_default(),
            serde_json::to_string(&a.policy).unwrap_or_default(),
            a.traffic.steps,
            a.traffic.min_dwell_ticks,
            a.traffic.min_evidence_ticks,
            a.learned_thresholds,
        ));
        out
    }
}

fn pct(v: f64) -> String {
    format!("{:.1} %", 100.0 * v)
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("–".to_string(), |v| format!("{v:.digits$}"))
}

fn label(s: &Summary, group: bool) -> String {
    if group {
        format!("**{}**", s.label)
    } else {
        format!("`{}`", s.label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(kind: ScenarioKind, outcome: RunOutcome, at: Option<usize>, onset: usize) -> RunResult {
        RunResult {
            kind,
            seed: 1,
            harmful: kind.harmful(),
            onset: Some(onset),
            outcome,
            decided_at: at,
            rollback_reason: None,
            first_pause: None,
            first_signal: Some(onset + 1),
            first_alarm: at,
            ticks_observed: 10,
            static_trip_tick: Some(20),
            exposure: 0.5,
            peak_risk: 1.0,
            final_share: 0.0,
            resumes_while_faulty: 0,
            oracle_delay: None,
            oracle_early_alarms: 0,
            delay_ratio: None,
        }
    }

    #[test]
    fn measures_follow_their_definitions() {
        let k = ScenarioKind::MemoryLeak;
        let early = run(k, RunOutcome::RolledBack, Some(3), 5);
        assert!(!early.detected() && early.rolled_back_before_onset());
        let hit = run(k, RunOutcome::RolledBack, Some(12), 5);
        assert_eq!((hit.delay(), hit.lead_time()), (Some(7), Some(8)));
        assert!(hit.before_static());
        let late = run(k, RunOutcome::RolledBack, Some(20), 5);
        assert!(late.detected() && !late.before_static());
        let missed = run(k, RunOutcome::Promoted, Some(50), 5);
        assert!(!missed.detected() && missed.delay().is_none());
        let s = Summary::of("x", true, [&early, &hit, &late, &missed]);
        assert_eq!(
            (s.rolled_back, s.rolled_back_before_onset, s.before_static),
            (2, 1, 1)
        );
        assert_eq!(s.delay_median, Some(11.0));
        assert_eq!(s.delay_p90, Some(15.0));
        assert_eq!(s.promoted, 1);
        let healthy = run(
            ScenarioKind::AaIdentical,
            RunOutcome::RolledBack,
            Some(1),
            0,
        );
        let s = Summary::of("aa", false, [&healthy]);
        assert_eq!((s.rolled_back, s.rollback_rate), (1, 1.0));
    }

    #[test]
    fn wilson_intervals_cover_the_estimate() {
        let (lo, hi) = wilson_interval(13, 160);
        assert!(
            (lo - 0.048).abs() < 0.002 && (hi - 0.134).abs() < 0.002,
            "{lo} {hi}"
        );
        assert_eq!(wilson_interval(0, 0), (0.0, 1.0));
        let (lo, hi) = wilson_interval(0, 20);
        assert!(lo == 0.0 && hi > 0.1 && hi < 0.2);
    }

    #[test]
    fn percentiles() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[1.0, 2.0, 4.0]), Some(2.0));
        assert_eq!(median(&[1.0, 2.0, 4.0, 8.0]), Some(3.0));
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(nearest_rank(&v, 0.9), Some(9.0));
    }
}
