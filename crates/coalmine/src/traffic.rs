//! The canary's share of traffic over a rollout, moved by decisions.
//!
//! The controller is told the policy's [`Level`] each tick, nothing more: what to do,
//! not why. A ramp of steps (by default 1 %, 5 %, 10 %, 25 %, 50 %, 100 %). `Continue`
//! advances to the next step once the current one has lasted its minimum dwell *and*
//! gathered its minimum evidence (paired ticks with data) — never on "no data"; the
//! last step additionally needs the evidence to be *sufficient* (see
//! [`crate::risk::Evidence::sufficient`]). Reaching the last step promotes the release.
//! `Pause` scales the share back by [`TrafficConfig::shrink_factor`] (not below the
//! first step) and holds. `Rollback` sets it to 0 for good.
//!
//! The same controller serves A/B tests and feature flags: [`TrafficController::allocation`]
//! gives plain weights for control and each variant, which shift back to control as
//! the risk rises. In shadow mode the controller only observes: the share never moves.

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::policy::Level;

/// The most variants an A/B allocation may have.
pub const MAX_VARIANTS: usize = 64;

/// How decisions act on traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TrafficMode {
    /// A canary rollout: the canary's share follows the ramp.
    #[default]
    Canary,
    /// An A/B test with `variants` treatment arms sharing the ramp's share equally.
    AbTest {
        /// Number of treatment variants (at least 1).
        variants: usize,
    },
    /// Observe only: decisions are computed and reported, traffic never moves.
    Shadow,
}

/// Settings of the traffic controller.
///
/// Read from a document, a `min_dwell_ticks` given without `min_dwell_seconds` counts
/// in ticks, as it did before the time form existed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "TrafficConfigDocument")]
pub struct TrafficConfig {
    /// Increasing shares in `(0, 1]`; the last one is full promotion when it is 1.
    pub steps: Vec<f64>,
    /// Ticks a step must last before the next: in force when `min_dwell_seconds` is
    /// `None` or the tick interval unknown. The default sets the seconds, so code that
    /// sets this field from the default must also set `min_dwell_seconds: None` to
    /// count in ticks.
    pub min_dwell_ticks: u32,
    /// How long a step must last before the next, in seconds: when set and the tick
    /// interval is known, it replaces `min_dwell_ticks` (at least one tick; the
    /// evidence a step needs is `min_evidence_ticks` whatever the clock says). See
    /// [`crate::analysis::AnalysisConfig::at_interval`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_dwell_seconds: Option<f64>,
    /// Ticks with paired data a step must gather before the next.
    pub min_evidence_ticks: u32,
    /// A pause scales the canary's share by this factor, in `(0, 1)` (never below the
    /// first step).
    pub shrink_factor: f64,
    /// Canary, A/B or shadow.
    pub mode: TrafficMode,
}

impl Default for TrafficConfig {
    fn default() -> Self {
        TrafficConfig {
            steps: vec![0.01, 0.05, 0.10, 0.25, 0.50, 1.0],
            min_dwell_ticks: 10,
            // Five hours: the ten ticks above at half-hour ticks.
            min_dwell_seconds: Some(18_000.0),
            min_evidence_ticks: 8,
            shrink_factor: 0.5,
            mode: TrafficMode::Canary,
        }
    }
}

/// A [`TrafficConfig`] as a document gives it: every key optional.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TrafficConfigDocument {
    #[serde(default, deserialize_with = "crate::duration::present")]
    steps: Option<Vec<f64>>,
    #[serde(default, deserialize_with = "crate::duration::present")]
    min_dwell_ticks: Option<u32>,
    #[serde(default, deserialize_with = "crate::duration::present")]
    min_dwell_seconds: Option<f64>,
    #[serde(default, deserialize_with = "crate::duration::present")]
    min_evidence_ticks: Option<u32>,
    #[serde(default, deserialize_with = "crate::duration::present")]
    shrink_factor: Option<f64>,
    #[serde(default, deserialize_with = "crate::duration::present")]
    mode: Option<TrafficMode>,
}

impl From<TrafficConfigDocument> for TrafficConfig {
    fn from(d: TrafficConfigDocument) -> Self {
        let base = TrafficConfig::default();
        let (min_dwell_ticks, min_dwell_seconds) = crate::duration::duration_pair(
            d.min_dwell_ticks,
            d.min_dwell_seconds,
            (base.min_dwell_ticks, base.min_dwell_seconds),
        );
        TrafficConfig {
            steps: d.steps.unwrap_or(base.steps),
            min_dwell_ticks,
            min_dwell_seconds,
            min_evidence_ticks: d.min_evidence_ticks.unwrap_or(base.min_evidence_ticks),
            shrink_factor: d.shrink_factor.unwrap_or(base.shrink_factor),
            mode: d.mode.unwrap_or(base.mode),
        }
    }
}

impl TrafficConfig {
    /// Checks the ramp (between 1 and 64 steps, increasing within `(0, 1]`), the
    /// shrink factor (in `(0, 1)`) and the number of A/B variants (1 to
    /// [`MAX_VARIANTS`]).
    pub fn validate(&self) -> Result<(), Error> {
        crate::duration::check_seconds("min_dwell_seconds", self.min_dwell_seconds)?;
        if !(self.shrink_factor > 0.0 && self.shrink_factor < 1.0) {
            return Err(Error::param(
                "shrink_factor",
                self.shrink_factor,
                "must be in (0, 1)",
            ));
        }
        if self.steps.is_empty() || self.steps.len() > 64 {
            return Err(Error::param(
                "steps",
                self.steps.len() as f64,
                "between 1 and 64 steps are needed",
            ));
        }
        let mut prev = 0.0;
        for &s in &self.steps {
            if !(s > prev && s <= 1.0) {
                return Err(Error::param(
                    "steps",
                    s,
                    "steps must increase within (0, 1]",
                ));
            }
            prev = s;
        }
        if let TrafficMode::AbTest { variants } = self.mode {
            if !(1..=MAX_VARIANTS).contains(&variants) {
                return Err(Error::param(
                    "variants",
                    variants as f64,
                    "must be in 1..=64",
                ));
            }
        }
        Ok(())
    }
}

/// Where the rollout stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Ramping up.
    Ramping,
    /// Held by a pause.
    Paused,
    /// Reached the last step.
    Promoted,
    /// Rolled back.
    RolledBack,
}

/// Traffic weights for an A/B or feature-flag framework: they sum to 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Allocation {
    /// Share of traffic on the stable version / control arm.
    pub control: f64,
    /// Share of traffic on each variant (all equal).
    pub per_variant: f64,
    /// Number of variants.
    pub variants: usize,
}

/// The traffic state of one rollout. See the [module documentation](self).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "TrafficState")]
pub struct TrafficController {
    config: TrafficConfig,
    step: usize,
    share: f64,
    phase: Phase,
    dwell: u32,
    evidence: u32,
}

/// The serialised form of a [`TrafficController`], validated before it becomes one.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TrafficState {
    config: TrafficConfig,
    step: usize,
    share: f64,
    phase: Phase,
    dwell: u32,
    evidence: u32,
}

impl TryFrom<TrafficState> for TrafficController {
    type Error = Error;

    fn try_from(s: TrafficState) -> Result<Self, Error> {
        s.config.validate()?;
        if s.step >= s.config.steps.len() {
            return Err(Error::LengthMismatch {
                what: "ramp step",
                expected: s.config.steps.len(),
                got: s.step,
            });
        }
        if !(0.0..=1.0).contains(&s.share) {
            return Err(Error::param("share", s.share, "must be in [0, 1]"));
        }
        Ok(TrafficController {
            config: s.config,
            step: s.step,
            share: s.share,
            phase: s.phase,
            dwell: s.dwell,
            evidence: s.evidence,
        })
    }
}

impl TrafficController {
    /// A controller at the first step.
    pub fn new(config: TrafficConfig) -> Result<Self, Error> {
        config.validate()?;
        Ok(TrafficController {
            share: config.steps[0],
            config,
            step: 0,
            phase: Phase::Ramping,
            dwell: 0,
            evidence: 0,
        })
    }

    /// The settings.
    pub fn config(&self) -> &TrafficConfig {
        &self.config
    }

    /// The canary's (or all variants') current share of traffic.
    pub fn share(&self) -> f64 {
        self.share
    }

    /// Index of the current ramp step.
    pub fn step(&self) -> usize {
        self.step
    }

    /// Where the rollout stands.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Weights for control and each variant (canary mode: one variant).
    pub fn allocation(&self) -> Allocation {
        let variants = match self.config.mode {
            TrafficMode::AbTest { variants } => variants,
            _ => 1,
        };
        Allocation {
            control: 1.0 - self.share,
            per_variant: self.share / variants as f64,
            variants,
        }
    }

    /// Applies the policy's level for this tick; `paired` says whether this tick had
    /// data in both cohorts, `sufficient` whether the evidence so far could detect the
    /// effect size that matters (the last step, full promotion, needs it).
    pub fn apply(&mut self, level: Level, paired: bool, sufficient: bool) {
        if matches!(self.config.mode, TrafficMode::Shadow)
            || matches!(self.phase, Phase::RolledBack | Phase::Promoted)
        {
            if let (Level::Rollback, false) =
                (level, matches!(self.config.mode, TrafficMode::Shadow))
            {
                self.share = 0.0;
                self.phase = Phase::RolledBack;
            }
            return;
        }
        match level {
            Level::Rollback => {
                self.share = 0.0;
                self.phase = Phase::RolledBack;
            }
            Level::Pause => {
                if self.phase != Phase::Paused {
                    let shrink = self.config.shrink_factor;
                    self.share = (self.share * shrink).max(self.config.steps[0]);
                    // The step to resume from is the largest not above the new share.
                    self.step = self
                        .config
                        .steps
                        .iter()
                        .rposition(|&s| s <= self.share + 1e-12)
                        .unwrap_or(0);
                }
                self.phase = Phase::Paused;
                self.dwell = 0;
                self.evidence = 0;
            }
            Level::Continue => {
                if self.phase == Phase::Paused {
                    // Resume at the step we scaled back to.
                    self.share = self.config.steps[self.step];
                    self.phase = Phase::Ramping;
                }
                self.dwell += 1;
                self.evidence += paired as u32;
                let last = self.step + 2 >= self.config.steps.len();
                if self.dwell >= self.config.min_dwell_ticks
                    && self.evidence >= self.config.min_evidence_ticks
                    && (sufficient || !last)
                {
                    if self.step + 1 < self.config.steps.len() {
                        self.step += 1;
                        self.share = self.config.steps[self.step];
                        self.dwell = 0;
                        self.evidence = 0;
                    }
                    // Reaching the last step completes the rollout.
                    if self.step + 1 == self.config.steps.len() {
                        self.phase = Phase::Promoted;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLLBACK: Level = Level::Rollback;
    const PAUSE: Level = Level::Pause;
    const CONTINUE: Level = Level::Continue;

    #[test]
    fn ramps_only_with_dwell_and_evidence_then_promotes() {
        let cfg = TrafficConfig {
            min_dwell_ticks: 2,
            min_evidence_ticks: 2,
            ..TrafficConfig::default()
        };
        let mut t = TrafficController::new(cfg).unwrap();
        // No data: no promotion, however long.
        for _ in 0..10 {
            t.apply(CONTINUE, false, true);
        }
        assert_eq!(t.share(), 0.01);
        let mut shares = vec![];
        for _ in 0..12 {
            t.apply(CONTINUE, true, true);
            shares.push(t.share());
        }
        assert_eq!(t.phase(), Phase::Promoted);
        assert_eq!(t.share(), 1.0);
        assert!(shares.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn pause_scales_back_and_rollback_zeroes() {
        let cfg = TrafficConfig {
            min_dwell_ticks: 1,
            min_evidence_ticks: 1,
            ..TrafficConfig::default()
        };
        let mut t = TrafficController::new(cfg).unwrap();
        for _ in 0..3 {
            t.apply(CONTINUE, true, true);
        }
        assert_eq!(t.share(), 0.25);
        t.apply(PAUSE, true, true);
        assert_eq!(t.share(), 0.125);
        assert_eq!(t.phase(), Phase::Paused);
        t.apply(PAUSE, true, true);
        assert_eq!(t.share(), 0.125, "a held pause does not keep shrinking");
        t.apply(CONTINUE, true, true);
        // Resumes from the largest step not above the scaled-back share, then ramps.
        assert_eq!(t.phase(), Phase::Ramping);
        assert_eq!(t.share(), 0.25);
        t.apply(ROLLBACK, true, true);
        assert_eq!((t.share(), t.phase()), (0.0, Phase::RolledBack));
        t.apply(CONTINUE, true, true);
        assert_eq!(t.share(), 0.0);
    }

    #[test]
    fn ab_allocation_shifts_back_to_control() {
        let cfg = TrafficConfig {
            steps: vec![0.2, 0.5, 1.0],
            min_dwell_ticks: 1,
            min_evidence_ticks: 1,
            mode: TrafficMode::AbTest { variants: 2 },
            ..TrafficConfig::default()
        };
        let mut t = TrafficController::new(cfg).unwrap();
        t.apply(CONTINUE, true, true);
        let a = t.allocation();
        assert_eq!((a.control, a.per_variant, a.variants), (0.5, 0.25, 2));
        t.apply(PAUSE, true, true);
        assert!(t.allocation().control > a.control);
        t.apply(ROLLBACK, true, true);
        assert_eq!(t.allocation().control, 1.0);
    }

    #[test]
    fn shadow_mode_never_moves() {
        let cfg = TrafficConfig {
            mode: TrafficMode::Shadow,
            min_dwell_ticks: 1,
            min_evidence_ticks: 1,
            ..TrafficConfig::default()
        };
        let mut t = TrafficController::new(cfg).unwrap();
        for level in [CONTINUE, PAUSE, ROLLBACK, CONTINUE] {
            t.apply(level, true, true);
            assert_eq!(t.share(), 0.01);
        }
    }

    #[test]
    fn invalid_ramps_are_errors() {
        for steps in [vec![], vec![0.5, 0.2], vec![0.0, 1.0], vec![0.5, 1.5]] {
            assert!(
                TrafficController::new(TrafficConfig {
                    steps,
                    ..TrafficConfig::default()
                })
                .is_err()
            );
        }
        let ab = TrafficConfig {
            mode: TrafficMode::AbTest { variants: 0 },
            ..TrafficConfig::default()
        };
        assert!(TrafficController::new(ab).is_err());
        for shrink_factor in [0.0, 1.0, f64::NAN] {
            let cfg = TrafficConfig {
                shrink_factor,
                ..TrafficConfig::default()
            };
            assert!(matches!(
                TrafficController::new(cfg),
                Err(Error::InvalidParameter {
                    name: "shrink_factor",
                    ..
                })
            ));
        }
    }
}
