//! Learning from finished rollouts.
//!
//! Each finished rollout is recorded with its outcome and the peak risk it reached.
//! Thresholds move towards a target false-rollback rate: a false alarm raises `t2`
//! just above its peak; a fault that was promoted lowers `t2` just below its peak;
//! and once enough healthy rollouts are known, `t2` never sits below the
//! `(1 − target)` quantile of their peak risks (so at most about `target` of healthy
//! rollouts would reach it). `t2` stays within bounds and `t1 = pause_ratio · t2`.
//! The state is plain data that persists inside the [`crate::BehaviorProfile`].

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::policy::Thresholds;

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
    /// Lowest `t2` feedback may set.
    pub min_rollback_at: f64,
    /// Highest `t2` feedback may set.
    pub max_rollback_at: f64,
    /// `t1 = pause_ratio · t2`, in `(0, 1)`.
    pub pause_ratio: f64,
    /// How far beyond a mistaken rollout's peak `t2` moves.
    pub step: f64,
    /// Healthy rollouts needed before the quantile rule applies.
    pub min_healthy: usize,
    /// Peaks remembered per kind (oldest forgotten first).
    pub memory: usize,
    /// Weight of a healthy rollout's canary behaviour when folded into the profile.
    pub fold_rate: f64,
}

impl Default for FeedbackConfig {
    fn default() -> Self {
        FeedbackConfig {
            target_false_rollback_rate: 0.02,
            min_rollback_at: 0.6,
            max_rollback_at: 1.8,
            pause_ratio: 0.5,
            step: 0.05,
            min_healthy: 20,
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
        if !(c.min_rollback_at > 0.0
            && c.min_rollback_at < c.max_rollback_at
            && c.max_rollback_at.is_finite())
        {
            return Err(Error::param(
                "min_rollback_at",
                c.min_rollback_at,
                "need 0 < min_rollback_at < max_rollback_at < inf",
            ));
        }
        if !(c.pause_ratio > 0.0 && c.pause_ratio < 1.0) {
            return Err(Error::param(
                "pause_ratio",
                c.pause_ratio,
                "must be in (0, 1)",
            ));
        }
        if !(c.step.is_finite() && c.step >= 0.0) {
            return Err(Error::param("step", c.step, "must be finite and >= 0"));
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

/// Outcomes seen so far and the thresholds they imply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Feedback {
    config: FeedbackConfig,
    healthy_peaks: Vec<f64>,
    bad_peaks: Vec<f64>,
    rollback_at: f64,
    counts: [u64; 4],
}

impl Default for Feedback {
    fn default() -> Self {
        Feedback {
            config: FeedbackConfig::default(),
            healthy_peaks: Vec::new(),
            bad_peaks: Vec::new(),
            rollback_at: 1.0,
            counts: [0; 4],
        }
    }
}

impl Feedback {
    /// Starts from thresholds `t2 = rollback_at` with the given settings.
    pub fn new(config: FeedbackConfig, rollback_at: f64) -> Result<Self, Error> {
        config.validate()?;
        let c = &config;
        Error::check_value("rollback_at", rollback_at)?;
        Ok(Feedback {
            config,
            rollback_at: rollback_at.clamp(c.min_rollback_at, c.max_rollback_at),
            ..Feedback::default()
        })
    }

    /// The settings.
    pub fn config(&self) -> &FeedbackConfig {
        &self.config
    }

    /// Rollouts recorded so far.
    pub fn recorded(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Rollouts recorded with `outcome`.
    pub fn count(&self, outcome: Outcome) -> u64 {
        self.counts[outcome as usize]
    }

    /// The learnt thresholds.
    pub fn thresholds(&self) -> Thresholds {
        Thresholds {
            pause_at: self.config.pause_ratio * self.rollback_at,
            rollback_at: self.rollback_at,
        }
    }

    /// Records a finished rollout and its peak risk, and moves the thresholds.
    pub fn record(&mut self, outcome: Outcome, peak_risk: f64) -> Result<Thresholds, Error> {
        let peak = Error::check_value("peak risk", peak_risk)?;
        if peak < 0.0 {
            return Err(Error::InvalidValue {
                what: "peak risk",
                value: peak,
                reason: "risk is never negative",
            });
        }
        let c = self.config;
        let memory = c.memory;
        let push = |v: &mut Vec<f64>| {
            if v.len() >= memory {
                v.remove(0);
            }
            v.push(peak);
        };
        let mut t2 = self.rollback_at;
        match outcome {
            Outcome::RolledBackFalseAlarm => {
                push(&mut self.healthy_peaks);
                t2 = t2.max(peak + c.step);
            }
            Outcome::PromotedHealthy => push(&mut self.healthy_peaks),
            Outcome::PromotedLaterBad => {
                push(&mut self.bad_peaks);
                t2 = t2.min(peak - c.step);
            }
            Outcome::RolledBackTrulyBad => push(&mut self.bad_peaks),
        }
        if self.healthy_peaks.len() >= c.min_healthy {
            let mut sorted = self.healthy_peaks.clone();
            sorted.sort_by(f64::total_cmp);
            let q = 1.0 - c.target_false_rollback_rate;
            let idx = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
            // Just above the quantile: a rollout at exactly that peak is not rolled back.
            t2 = t2.max(sorted[idx] + 1e-9);
        }
        self.rollback_at = t2.clamp(c.min_rollback_at, c.max_rollback_at);
        self.counts[outcome as usize] += 1;
        Ok(self.thresholds())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn false_alarms_raise_and_missed_faults_lower_within_bounds() {
        let mut f = Feedback::new(FeedbackConfig::default(), 1.0).unwrap();
        let t = f.record(Outcome::RolledBackFalseAlarm, 1.2).unwrap();
        assert!(t.rollback_at > 1.2 && (t.pause_at - 0.5 * t.rollback_at).abs() < 1e-12);
        let lowered = f.record(Outcome::PromotedLaterBad, 0.8).unwrap();
        assert!(lowered.rollback_at < 0.8);
        for _ in 0..20 {
            f.record(Outcome::PromotedLaterBad, 0.0).unwrap();
        }
        assert_eq!(f.thresholds().rollback_at, 0.6, "lower bound");
        for _ in 0..20 {
            f.record(Outcome::RolledBackFalseAlarm, 5.0).unwrap();
        }
        assert_eq!(f.thresholds().rollback_at, 1.8, "upper bound");
        assert_eq!(f.count(Outcome::RolledBackFalseAlarm), 21);
        assert_eq!(f.recorded(), 42);
    }

    #[test]
    fn healthy_peaks_set_a_floor_at_the_target_quantile() {
        let mut f = Feedback::new(
            FeedbackConfig {
                min_healthy: 50,
                ..FeedbackConfig::default()
            },
            0.6,
        )
        .unwrap();
        for i in 0..100 {
            f.record(Outcome::PromotedHealthy, i as f64 / 100.0)
                .unwrap();
        }
        // 98 % of healthy peaks (0.00 .. 0.97) stay below t2.
        let t2 = f.thresholds().rollback_at;
        assert!(t2 > 0.97 && t2 < 0.98 + 1e-6, "{t2}");
        let below = (0..100).filter(|i| (*i as f64 / 100.0) < t2).count();
        assert!(below >= 98);
    }

    #[test]
    fn bad_input_is_rejected() {
        let mut f = Feedback::default();
        assert!(f.record(Outcome::PromotedHealthy, f64::NAN).is_err());
        assert!(f.record(Outcome::PromotedHealthy, -1.0).is_err());
        assert_eq!(f.recorded(), 0);
        assert!(
            Feedback::new(
                FeedbackConfig {
                    pause_ratio: 1.0,
                    ..FeedbackConfig::default()
                },
                1.0
            )
            .is_err()
        );
        assert!(
            Feedback::new(
                FeedbackConfig {
                    target_false_rollback_rate: 0.0,
                    ..FeedbackConfig::default()
                },
                1.0
            )
            .is_err()
        );
    }
}
