//! Learning from finished rollouts.
//!
//! Each finished rollout is recorded with its outcome and the peak risk it reached.
//! The thresholds an analysis uses are the *configured* policy's, adjusted by what the
//! recorded outcomes show, and never by accident:
//!
//! - nothing moves until [`FeedbackConfig::min_outcomes`] rollouts are recorded (one
//!   outcome, whatever it is, never changes `t2`);
//! - false alarms raise `t2` just above their peaks, and once
//!   [`FeedbackConfig::min_healthy`] healthy rollouts are known, `t2` is at least the
//!   `(1 − target)` quantile of their peaks, so about `target` of healthy rollouts would
//!   reach it — healthy rollouts with low peaks never lower `t2`;
//! - a missed fault (promoted, later found bad) lowers `t2` just below its peak, and this
//!   safety rule wins over the two above;
//! - `t2` stays within `[max_tighten, max_loosen] × configured t2`, and `t1` keeps the
//!   configured ratio `t1 / t2`.
//!
//! The outcomes are plain data that persist inside the [`crate::BehaviorProfile`];
//! the thresholds are computed from them and the configured policy when an analysis
//! starts ([`Feedback::thresholds`]).

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::math::robust::nearest_rank;

/// The two thresholds of the seed's rule, `t1 < t2`: what the policy applies and what
/// feedback learns (defined here, below both, so that neither imports the other).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// `t1`: risk at or above which the rollout pauses.
    pub pause_at: f64,
    /// `t2`: risk at or above which the rollout rolls back.
    pub rollback_at: f64,
}

/// How a finished rollout turned out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Rolled back, and the release was indeed bad.
    RolledBackTrulyBad,
    /// Rolled back, but the release was fine (a false alarm).
    RolledBackFalseAlarm,
    /// Promoted, and the release was healthy.
    PromotedHealthy,
    /// Promoted, but the release was later found bad (a missed fault).
    PromotedLaterBad,
}

impl Outcome {
    /// Whether the release was healthy.
    pub fn healthy(self) -> bool {
        matches!(
            self,
            Outcome::RolledBackFalseAlarm | Outcome::PromotedHealthy
        )
    }
}

/// Settings of threshold learning.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeedbackConfig {
    /// Share of healthy rollouts that may be rolled back.
    pub target_false_rollback_rate: f64,
    /// Recorded outcomes needed before the thresholds move at all.
    pub min_outcomes: usize,
    /// Healthy rollouts needed before the quantile rule applies.
    pub min_healthy: usize,
    /// Lowest `t2` feedback may set, as a multiple of the configured `t2` (in (0, 1]).
    pub max_tighten: f64,
    /// Highest `t2` feedback may set, as a multiple of the configured `t2` (>= 1).
    pub max_loosen: f64,
    /// How far beyond a mistaken rollout's peak `t2` moves.
    pub step: f64,
    /// Peaks remembered per kind (oldest forgotten first).
    pub memory: usize,
    /// Weight of a healthy rollout's canary behaviour when folded into the profile.
    pub fold_rate: f64,
}

impl Default for FeedbackConfig {
    fn default() -> Self {
        FeedbackConfig {
            target_false_rollback_rate: 0.02,
            min_outcomes: 3,
            min_healthy: 20,
            max_tighten: 0.75,
            max_loosen: 2.0,
            step: 0.05,
            memory: 500,
            fold_rate: 0.2,
        }
    }
}

impl FeedbackConfig {
    /// Checks every setting's range ([`Error::InvalidParameter`] naming the first one
    /// out of range).
    pub fn validate(&self) -> Result<(), Error> {
        let c = self;
        if !(c.target_false_rollback_rate > 0.0 && c.target_false_rollback_rate < 0.5) {
            return Err(Error::param(
                "target_false_rollback_rate",
                c.target_false_rollback_rate,
                "must be in (0, 0.5)",
            ));
        }
        if !(2..=100_000).contains(&c.min_outcomes) {
            return Err(Error::param(
                "min_outcomes",
                c.min_outcomes as f64,
                "must be in 2..=100000 (one outcome must never move a threshold)",
            ));
        }
        if !(1..=100_000).contains(&c.min_healthy) {
            return Err(Error::param(
                "min_healthy",
                c.min_healthy as f64,
                "must be in 1..=100000",
            ));
        }
        if !(c.max_tighten > 0.0 && c.max_tighten <= 1.0) {
            return Err(Error::param(
                "max_tighten",
                c.max_tighten,
                "must be in (0, 1]",
            ));
        }
        if !(c.max_loosen >= 1.0 && c.max_loosen <= 10.0) {
            return Err(Error::param(
                "max_loosen",
                c.max_loosen,
                "must be in [1, 10]",
            ));
        }
        if !(c.step.is_finite() && (0.0..=10.0).contains(&c.step)) {
            return Err(Error::param("step", c.step, "must be in [0, 10]"));
        }
        if !(1..=100_000).contains(&c.memory) {
            return Err(Error::param(
                "memory",
                c.memory as f64,
                "must be in 1..=100000",
            ));
        }
        if !(c.fold_rate > 0.0 && c.fold_rate <= 1.0) {
            return Err(Error::param("fold_rate", c.fold_rate, "must be in (0, 1]"));
        }
        Ok(())
    }
}

/// Outcomes seen so far, from which thresholds are derived.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Feedback {
    config: FeedbackConfig,
    /// Peaks of every healthy rollout (promoted or falsely rolled back).
    healthy_peaks: Vec<f64>,
    /// Peaks of false alarms only (a subset of the healthy ones, kept apart because
    /// each one raises `t2` on its own).
    false_alarm_peaks: Vec<f64>,
    /// Peaks of missed faults.
    missed_peaks: Vec<f64>,
    counts: [u64; 4],
}

impl Feedback {
    /// No outcomes yet, with the given settings.
    pub fn new(config: FeedbackConfig) -> Result<Self, Error> {
        config.validate()?;
        Ok(Feedback {
            config,
            ..Feedback::default()
        })
    }

    /// The settings.
    pub fn config(&self) -> &FeedbackConfig {
        &self.config
    }

    /// Replaces the settings (validated); the recorded outcomes stay.
    pub fn set_config(&mut self, config: FeedbackConfig) -> Result<(), Error> {
        config.validate()?;
        self.config = config;
        Ok(())
    }

    /// Checks the settings and the recorded peaks of a deserialised state.
    pub fn validate(&self) -> Result<(), Error> {
        self.config.validate()?;
        let peaks = [
            &self.healthy_peaks,
            &self.false_alarm_peaks,
            &self.missed_peaks,
        ];
        for list in peaks {
            if list.len() > self.config.memory {
                return Err(Error::TooLarge {
                    what: "remembered feedback peaks",
                    got: list.len(),
                    limit: self.config.memory,
                });
            }
            for &p in list.iter() {
                check_peak(p)?;
            }
        }
        Ok(())
    }

    /// Rollouts recorded so far.
    pub fn recorded(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Rollouts recorded with `outcome`.
    pub fn count(&self, outcome: Outcome) -> u64 {
        self.counts[outcome as usize]
    }

    /// The thresholds to use, given the configured ones (see the module documentation
    /// for the rules). Until enough outcomes are recorded they are `configured` itself.
    pub fn thresholds(&self, configured: Thresholds) -> Thresholds {
        let c = &self.config;
        if self.recorded() < c.min_outcomes as u64 {
            return configured;
        }
        let base = configured.rollback_at;
        let mut t2 = base;
        if let Some(highest) = self.false_alarm_peaks.iter().copied().reduce(f64::max) {
            t2 = t2.max(highest + c.step);
        }
        if self.healthy_peaks.len() >= c.min_healthy {
            let mut sorted = self.healthy_peaks.clone();
            sorted.sort_by(f64::total_cmp);
            let q = nearest_rank(&sorted, 1.0 - c.target_false_rollback_rate);
            // Just above the quantile: a rollout at exactly that peak is not rolled back.
            t2 = t2.max(q + 1e-9);
        }
        if let Some(lowest) = self.missed_peaks.iter().copied().reduce(f64::min) {
            t2 = t2.min(lowest - c.step);
        }
        let t2 = t2.clamp(base * c.max_tighten, base * c.max_loosen);
        Thresholds {
            pause_at: t2 * (configured.pause_at / base),
            rollback_at: t2,
        }
    }

    /// Records a finished rollout and its peak risk. A rejected peak (negative,
    /// non-finite) records nothing.
    pub fn record(&mut self, outcome: Outcome, peak_risk: f64) -> Result<(), Error> {
        let peak = check_peak(peak_risk)?;
        let memory = self.config.memory;
        let push = |v: &mut Vec<f64>| {
            if v.len() >= memory {
                v.remove(0);
            }
            v.push(peak);
        };
        match outcome {
            Outcome::RolledBackFalseAlarm => {
                push(&mut self.healthy_peaks);
                push(&mut self.false_alarm_peaks);
            }
            Outcome::PromotedHealthy => push(&mut self.healthy_peaks),
            Outcome::PromotedLaterBad => push(&mut self.missed_peaks),
            // A caught fault says nothing about where t2 should be: it was low enough.
            Outcome::RolledBackTrulyBad => {}
        }
        self.counts[outcome as usize] += 1;
        Ok(())
    }
}

fn check_peak(peak: f64) -> Result<f64, Error> {
    let peak = Error::check_value("peak risk", peak)?;
    if peak < 0.0 {
        return Err(Error::InvalidValue {
            what: "peak risk",
            value: peak,
            reason: "risk is never negative",
        });
    }
    Ok(peak)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIGURED: Thresholds = Thresholds {
        pause_at: 0.4,
        rollback_at: 0.8,
    };

    fn t2(f: &Feedback) -> f64 {
        f.thresholds(CONFIGURED).rollback_at
    }

    #[test]
    fn one_outcome_never_moves_a_threshold() {
        for outcome in [
            Outcome::RolledBackTrulyBad,
            Outcome::RolledBackFalseAlarm,
            Outcome::PromotedHealthy,
            Outcome::PromotedLaterBad,
        ] {
            for peak in [0.0, 0.3, 0.79, 1.3, 50.0] {
                let mut f = Feedback::default();
                f.record(outcome, peak).unwrap();
                assert_eq!(
                    f.thresholds(CONFIGURED),
                    CONFIGURED,
                    "{outcome:?} at {peak}"
                );
            }
        }
    }

    #[test]
    fn starts_from_the_configured_policy_not_a_constant() {
        let mut f = Feedback::default();
        for _ in 0..5 {
            f.record(Outcome::RolledBackTrulyBad, 2.0).unwrap();
        }
        // Caught faults confirm the configured thresholds, whatever they are.
        assert_eq!(f.thresholds(CONFIGURED), CONFIGURED);
        let other = Thresholds {
            pause_at: 0.3,
            rollback_at: 0.5,
        };
        assert_eq!(f.thresholds(other), other);
    }

    #[test]
    fn healthy_rollouts_with_low_peaks_tighten_nothing() {
        let mut f = Feedback::default();
        for i in 0..200 {
            f.record(Outcome::PromotedHealthy, 0.1 + (i % 10) as f64 * 0.01)
                .unwrap();
        }
        assert_eq!(f.thresholds(CONFIGURED), CONFIGURED);
    }

    #[test]
    fn a_missed_bad_release_tightens_and_wins_over_false_alarms() {
        let mut f = Feedback::default();
        for _ in 0..3 {
            f.record(Outcome::PromotedHealthy, 0.2).unwrap();
        }
        f.record(Outcome::PromotedLaterBad, 0.7).unwrap();
        let t = f.thresholds(CONFIGURED);
        assert!((t.rollback_at - 0.65).abs() < 1e-12, "{t:?}");
        assert!(
            (t.pause_at / t.rollback_at - 0.5).abs() < 1e-12,
            "ratio kept"
        );
        // A false alarm above the missed fault's peak cannot loosen past it.
        f.record(Outcome::RolledBackFalseAlarm, 1.2).unwrap();
        assert!((t2(&f) - 0.65).abs() < 1e-12);
        // Tightening stops at max_tighten x configured.
        f.record(Outcome::PromotedLaterBad, 0.05).unwrap();
        assert!((t2(&f) - 0.8 * 0.75).abs() < 1e-12);
    }

    #[test]
    fn false_alarms_loosen_within_bounds() {
        let mut f = Feedback::default();
        f.record(Outcome::PromotedHealthy, 0.2).unwrap();
        f.record(Outcome::PromotedHealthy, 0.3).unwrap();
        f.record(Outcome::RolledBackFalseAlarm, 0.9).unwrap();
        assert!((t2(&f) - 0.95).abs() < 1e-12);
        f.record(Outcome::RolledBackFalseAlarm, 40.0).unwrap();
        assert_eq!(t2(&f), 0.8 * 2.0, "upper bound");
        assert_eq!(f.count(Outcome::RolledBackFalseAlarm), 2);
        assert_eq!(f.recorded(), 4);
    }

    #[test]
    fn healthy_peaks_set_a_floor_at_the_target_quantile() {
        let mut f = Feedback::new(FeedbackConfig {
            min_healthy: 50,
            ..FeedbackConfig::default()
        })
        .unwrap();
        for i in 0..100 {
            f.record(Outcome::PromotedHealthy, 0.5 + i as f64 / 200.0)
                .unwrap();
        }
        // 98 % of healthy peaks (0.500 .. 0.985) stay below t2.
        let t2 = t2(&f);
        assert!(t2 > 0.985 && t2 < 0.99 + 1e-6, "{t2}");
    }

    #[test]
    fn bad_input_is_rejected_and_records_nothing() {
        let mut f = Feedback::default();
        assert!(f.record(Outcome::PromotedHealthy, f64::NAN).is_err());
        assert!(f.record(Outcome::PromotedHealthy, -1.0).is_err());
        assert_eq!(f.recorded(), 0);
        for bad in [
            FeedbackConfig {
                min_outcomes: 1,
                ..FeedbackConfig::default()
            },
            FeedbackConfig {
                max_tighten: 0.0,
                ..FeedbackConfig::default()
            },
            FeedbackConfig {
                max_loosen: 0.9,
                ..FeedbackConfig::default()
            },
            FeedbackConfig {
                target_false_rollback_rate: 0.0,
                ..FeedbackConfig::default()
            },
        ] {
            assert!(Feedback::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_corrupt_state_is_refused() {
        let mut f = Feedback::default();
        f.record(Outcome::PromotedHealthy, 0.2).unwrap();
        let json = serde_json::to_string(&f).unwrap();
        let bad: Feedback = serde_json::from_str(&json.replace("0.2", "-3.0")).unwrap();
        assert!(bad.validate().is_err());
        let mut bad = f.clone();
        bad.config.min_outcomes = 0;
        assert!(bad.validate().is_err());
        assert!(f.validate().is_ok());
    }
}
