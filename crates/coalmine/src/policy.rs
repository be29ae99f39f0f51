//! From risk to action: continue, pause, or roll back.
//!
//! The seed's semantics are exact: with thresholds `t1 < t2`, `risk < t1` continues,
//! `t1 <= risk < t2` pauses, `risk >= t2` rolls back ([`DecisionPolicy::classify`]).
//! On top of that the stateful [`DecisionPolicy::decide`] adds what real rollouts need:
//! a critical metric's significant anomaly rolls back by itself; a prediction at or
//! above `t2` for consecutive ticks rolls back early (and says so); a pause is left only
//! after the risk stays below `t1 − margin` for some ticks (hysteresis) and the
//! accumulated evidence no longer supports harm ([`crate::Evidence::harm_supported`]);
//! a pause that lasts too long becomes a rollback; and a rollback is final.

use serde::{Deserialize, Serialize};

use crate::Error;
pub use crate::feedback::Thresholds;
use crate::risk::{Contributor, RiskAssessment};

/// Settings of the decision policy.
///
/// Read from a document, a `resume_ticks` or `max_pause_ticks` given without its time
/// form counts in ticks, as it did before the time forms existed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(from = "PolicyConfigDocument")]
pub struct PolicyConfig {
    /// `t1`: risk at or above which the rollout pauses.
    pub pause_at: f64,
    /// `t2`: risk at or above which the rollout rolls back.
    pub rollback_at: f64,
    /// A pause is left only when the risk stays below `pause_at − resume_margin`...
    pub resume_margin: f64,
    /// ...for this many consecutive ticks (in force when `resume_seconds` is `None` or
    /// the tick interval unknown: code that sets this field from the default must also
    /// set `resume_seconds: None`).
    pub resume_ticks: u32,
    /// The same in seconds: when set and the tick interval is known, it replaces
    /// `resume_ticks` (at least two ticks). See
    /// [`crate::analysis::AnalysisConfig::at_interval`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resume_seconds: Option<f64>,
    /// A pause unresolved after this many ticks becomes a rollback (0 = never; in force
    /// when `max_pause_seconds` is `None` or the tick interval unknown, as above).
    pub max_pause_ticks: u32,
    /// The same in seconds (0 = never): when set and the tick interval is known, it
    /// replaces `max_pause_ticks` (at least one tick more than the resume needs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_pause_seconds: Option<f64>,
    /// Roll back when the predicted risk reaches `rollback_at` for this many
    /// consecutive ticks (0 = ignore predictions).
    pub prediction_ticks: u32,
    /// Roll back when a metric flagged `critical` is significant.
    pub critical_rollback: bool,
    /// Roll back only on confirmed harm ([`crate::Evidence::confirmed`]: the
    /// accumulated evidence reached the risk configuration's `evidence_alpha`,
    /// family-wise): a rule that fires before that pauses instead. The per-tick rules
    /// (the risk, critical metrics, predictions) are fast but not valid over an
    /// unbounded number of ticks; with this, a healthy canary is rolled back with
    /// probability at most `evidence_alpha` however long it runs (a pause that times
    /// out aside).
    pub require_confirmation: bool,
    /// A pause multiplies the evaluation interval by this factor, in `(0, 1]`.
    pub interval_factor: f64,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            pause_at: 0.5,
            rollback_at: 0.8,
            resume_margin: 0.1,
            resume_ticks: 3,
            // An hour and a half, fifteen hours: the tick counts above at half-hour
            // ticks.
            resume_seconds: Some(5_400.0),
            max_pause_ticks: 30,
            max_pause_seconds: Some(54_000.0),
            prediction_ticks: 2,
            critical_rollback: true,
            require_confirmation: true,
            interval_factor: 0.5,
        }
    }
}

/// A [`PolicyConfig`] as a document gives it: every key optional.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyConfigDocument {
    #[serde(default, deserialize_with = "crate::duration::present")]
    pause_at: Option<f64>,
    #[serde(default, deserialize_with = "crate::duration::present")]
    rollback_at: Option<f64>,
    #[serde(default, deserialize_with = "crate::duration::present")]
    resume_margin: Option<f64>,
    #[serde(default, deserialize_with = "crate::duration::present")]
    resume_ticks: Option<u32>,
    #[serde(default, deserialize_with = "crate::duration::present")]
    resume_seconds: Option<f64>,
    #[serde(default, deserialize_with = "crate::duration::present")]
    max_pause_ticks: Option<u32>,
    #[serde(default, deserialize_with = "crate::duration::present")]
    max_pause_seconds: Option<f64>,
    #[serde(default, deserialize_with = "crate::duration::present")]
    prediction_ticks: Option<u32>,
    #[serde(default, deserialize_with = "crate::duration::present")]
    critical_rollback: Option<bool>,
    #[serde(default, deserialize_with = "crate::duration::present")]
    require_confirmation: Option<bool>,
    #[serde(default, deserialize_with = "crate::duration::present")]
    interval_factor: Option<f64>,
}

impl From<PolicyConfigDocument> for PolicyConfig {
    fn from(d: PolicyConfigDocument) -> Self {
        let base = PolicyConfig::default();
        let (resume_ticks, resume_seconds) = crate::duration::duration_pair(
            d.resume_ticks,
            d.resume_seconds,
            (base.resume_ticks, base.resume_seconds),
        );
        let (max_pause_ticks, max_pause_seconds) = crate::duration::duration_pair(
            d.max_pause_ticks,
            d.max_pause_seconds,
            (base.max_pause_ticks, base.max_pause_seconds),
        );
        PolicyConfig {
            pause_at: d.pause_at.unwrap_or(base.pause_at),
            rollback_at: d.rollback_at.unwrap_or(base.rollback_at),
            resume_margin: d.resume_margin.unwrap_or(base.resume_margin),
            resume_ticks,
            resume_seconds,
            max_pause_ticks,
            max_pause_seconds,
            prediction_ticks: d.prediction_ticks.unwrap_or(base.prediction_ticks),
            critical_rollback: d.critical_rollback.unwrap_or(base.critical_rollback),
            require_confirmation: d.require_confirmation.unwrap_or(base.require_confirmation),
            interval_factor: d.interval_factor.unwrap_or(base.interval_factor),
        }
    }
}

impl PolicyConfig {
    /// Checks ranges and `pause_at < rollback_at`.
    pub fn validate(&self) -> Result<(), Error> {
        crate::duration::check_seconds("resume_seconds", self.resume_seconds)?;
        crate::duration::check_seconds("max_pause_seconds", self.max_pause_seconds)?;
        let finite_pos = |name, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(Error::param(name, v, "must be finite and > 0"))
            }
        };
        finite_pos("pause_at", self.pause_at)?;
        finite_pos("rollback_at", self.rollback_at)?;
        if self.pause_at >= self.rollback_at {
            return Err(Error::param(
                "pause_at",
                self.pause_at,
                "must be below rollback_at (t1 < t2)",
            ));
        }
        if !(self.resume_margin.is_finite() && self.resume_margin >= 0.0) {
            return Err(Error::param(
                "resume_margin",
                self.resume_margin,
                "must be >= 0",
            ));
        }
        if !(self.interval_factor > 0.0 && self.interval_factor <= 1.0) {
            return Err(Error::param(
                "interval_factor",
                self.interval_factor,
                "must be in (0, 1]",
            ));
        }
        Ok(())
    }
}

/// The three levels of the seed's threshold rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// `risk < t1`.
    Continue,
    /// `t1 <= risk < t2`.
    Pause,
    /// `risk >= t2`.
    Rollback,
}

/// Why a decision was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The risk is below `t1` (or the pause has cleared).
    RiskLow,
    /// The risk is between `t1` and `t2`, or the pause has not cleared yet.
    RiskElevated,
    /// The risk reached `t2`.
    RiskHigh,
    /// The predicted risk reached `t2` for consecutive ticks.
    Predicted,
    /// A metric flagged critical is significantly anomalous.
    CriticalMetric,
    /// A pause lasted longer than allowed.
    PauseTimeout,
    /// The rollout was already rolled back.
    AlreadyRolledBack,
    /// No evidence this tick (every series missing): nothing moves.
    NoData,
}

/// How urgent an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertSeverity {
    /// Rolled back on a prediction: harm has not fully shown yet.
    Warning,
    /// Rolled back on present evidence.
    Critical,
}

/// What to tell a person when rolling back. The one-line summary is built on demand
/// (see `Analysis::summary`), so deciding allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// How urgent.
    pub severity: AlertSeverity,
    /// The strongest contributor, if any.
    pub top: Option<Contributor>,
}

/// A suggested remediation while paused.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Remediation {
    /// The segment whose instances to look at (restart, drain).
    pub segment: usize,
    /// The metric that points there.
    pub metric: usize,
}

/// What to do now.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Keep going (the traffic controller decides whether to advance).
    Continue,
    /// Hold, shrink the canary and look more closely (the share to scale back to is
    /// the decision's `canary_share`, set by the traffic controller).
    Pause {
        /// Multiply the evaluation interval by this.
        interval_factor: f64,
        /// A suggestion of where to look.
        remediation: Option<Remediation>,
    },
    /// Send all traffic back to the stable version and alert.
    Rollback {
        /// The alert to raise.
        alert: Alert,
    },
}

impl Action {
    /// The action's level.
    pub fn level(&self) -> Level {
        match self {
            Action::Continue => Level::Continue,
            Action::Pause { .. } => Level::Pause,
            Action::Rollback { .. } => Level::Rollback,
        }
    }
}

/// What the policy rules for one tick: the action, and the reason for it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ruling {
    /// What to do.
    pub action: Action,
    /// Why.
    pub reason: Reason,
}

/// The stateful policy of one rollout. See the [module documentation](self).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "DecisionPolicyState")]
pub struct DecisionPolicy {
    config: PolicyConfig,
    paused_for: u32,
    calm_for: u32,
    predicted_for: u32,
    rolled_back: bool,
}

/// The serialised form of a [`DecisionPolicy`], validated before it becomes one.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionPolicyState {
    config: PolicyConfig,
    paused_for: u32,
    calm_for: u32,
    predicted_for: u32,
    rolled_back: bool,
}

impl TryFrom<DecisionPolicyState> for DecisionPolicy {
    type Error = Error;

    fn try_from(s: DecisionPolicyState) -> Result<Self, Error> {
        s.config.validate()?;
        Ok(DecisionPolicy {
            config: s.config,
            paused_for: s.paused_for,
            calm_for: s.calm_for,
            predicted_for: s.predicted_for,
            rolled_back: s.rolled_back,
        })
    }
}

impl DecisionPolicy {
    /// A policy with validated settings.
    pub fn new(config: PolicyConfig) -> Result<Self, Error> {
        config.validate()?;
        Ok(DecisionPolicy {
            config,
            paused_for: 0,
            calm_for: 0,
            predicted_for: 0,
            rolled_back: false,
        })
    }

    /// The settings.
    pub fn config(&self) -> &PolicyConfig {
        &self.config
    }

    /// The thresholds in use.
    pub fn thresholds(&self) -> Thresholds {
        Thresholds {
            pause_at: self.config.pause_at,
            rollback_at: self.config.rollback_at,
        }
    }

    /// The seed's rule, exactly: `< t1` continue, `t1 <= r < t2` pause, `>= t2` roll
    /// back. NaN is treated as the highest risk (never silently healthy).
    pub fn classify(&self, risk: f64) -> Level {
        let (t1, t2) = (self.config.pause_at, self.config.rollback_at);
        if risk.is_nan() || risk >= t2 {
            Level::Rollback
        } else if risk >= t1 {
            Level::Pause
        } else {
            Level::Continue
        }
    }

    /// Whether the rollout has been rolled back (final).
    pub fn rolled_back(&self) -> bool {
        self.rolled_back
    }

    /// Ticks spent in the current pause (0 when not paused).
    pub fn paused_for(&self) -> u32 {
        self.paused_for
    }

    /// Decides on one assessment.
    pub fn decide(&mut self, a: &RiskAssessment) -> Ruling {
        let (action, reason) = self.rule(a);
        Ruling { action, reason }
    }

    fn rule(&mut self, a: &RiskAssessment) -> (Action, Reason) {
        let cfg = self.config;
        let top = a.contributors.first().copied();
        let rollback = |severity| Action::Rollback {
            alert: Alert { severity, top },
        };
        if self.rolled_back {
            return (rollback(AlertSeverity::Critical), Reason::AlreadyRolledBack);
        }
        self.predicted_for = if cfg.prediction_ticks > 0 && a.predicted_risk >= cfg.rollback_at {
            self.predicted_for + 1
        } else {
            0
        };
        // The rules that roll back, in order of precedence.
        let wants_rollback = if cfg.critical_rollback && a.critical_breach.is_some() {
            Some((Reason::CriticalMetric, AlertSeverity::Critical))
        } else if self.classify(a.risk) == Level::Rollback {
            Some((Reason::RiskHigh, AlertSeverity::Critical))
        } else if cfg.prediction_ticks > 0 && self.predicted_for >= cfg.prediction_ticks {
            Some((Reason::Predicted, AlertSeverity::Warning))
        } else {
            None
        };
        let confirmed = a.evidence.confirmed || !cfg.require_confirmation;
        let (action, reason) = match wants_rollback {
            Some((reason, severity)) if confirmed => (rollback(severity), reason),
            // Harm not confirmed yet: pause, so the canary shrinks while the evidence
            // gathers.
            Some(_) => {
                self.calm_for = 0;
                (self.pause(top), Reason::RiskElevated)
            }
            None => match self.classify(a.risk) {
                Level::Pause | Level::Rollback => {
                    self.calm_for = 0;
                    (self.pause(top), Reason::RiskElevated)
                }
                Level::Continue if self.paused_for > 0 => {
                    // Hysteresis: leave the pause only after a calm stretch, and
                    // never while the accumulated evidence still supports harm.
                    if a.risk < cfg.pause_at - cfg.resume_margin && !a.evidence.harm_supported {
                        self.calm_for += 1;
                    } else {
                        self.calm_for = 0;
                    }
                    if self.calm_for >= cfg.resume_ticks {
                        (Action::Continue, Reason::RiskLow)
                    } else {
                        (self.pause(top), Reason::RiskElevated)
                    }
                }
                Level::Continue if a.evidence.observed == 0 && a.evidence.ticks > 0 => {
                    (Action::Continue, Reason::NoData)
                }
                Level::Continue => (Action::Continue, Reason::RiskLow),
            },
        };
        let (action, reason) = match action {
            Action::Pause { .. } => {
                self.paused_for += 1;
                if cfg.max_pause_ticks > 0 && self.paused_for > cfg.max_pause_ticks {
                    (rollback(AlertSeverity::Critical), Reason::PauseTimeout)
                } else {
                    (action, reason)
                }
            }
            _ => (action, reason),
        };
        match action {
            Action::Rollback { .. } => self.rolled_back = true,
            Action::Continue => {
                self.paused_for = 0;
                self.calm_for = 0;
            }
            Action::Pause { .. } => {}
        }
        (action, reason)
    }

    fn pause(&self, top: Option<Contributor>) -> Action {
        Action::Pause {
            interval_factor: self.config.interval_factor,
            remediation: top.map(|c| Remediation {
                segment: c.segment,
                metric: c.metric,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::risk::RiskFactors;

    fn assessment(risk: f64) -> RiskAssessment {
        RiskAssessment {
            risk,
            predicted_risk: risk,
            factors: RiskFactors::default(),
            evidence: crate::risk::Evidence {
                ticks: 1,
                observed: 1,
                confirmed: true,
                ..Default::default()
            },
            ..RiskAssessment::default()
        }
    }

    #[test]
    fn invalid_thresholds_are_errors() {
        let bad = |f: fn(&mut PolicyConfig)| {
            let mut c = PolicyConfig::default();
            f(&mut c);
            DecisionPolicy::new(c).is_err()
        };
        assert!(bad(|c| c.pause_at = 1.0));
        assert!(bad(|c| c.pause_at = 2.0));
        assert!(bad(|c| c.rollback_at = f64::NAN));
        assert!(bad(|c| c.pause_at = 0.0));
        assert!(bad(|c| c.interval_factor = 0.0));
    }

    #[test]
    fn a_pause_clears_only_once_the_evidence_no_longer_supports_harm() {
        let mut p = DecisionPolicy::new(PolicyConfig {
            max_pause_ticks: 0,
            ..PolicyConfig::default()
        })
        .unwrap();
        assert_eq!(p.decide(&assessment(0.6)).action.level(), Level::Pause);
        // Quiet ticks, however many, while the accumulated evidence still favours
        // harm: the pause holds.
        let mut quiet_but_supported = assessment(0.0);
        quiet_but_supported.evidence.harm_supported = true;
        for _ in 0..50 {
            assert_eq!(p.decide(&quiet_but_supported).action.level(), Level::Pause);
        }
        // Once it no longer does, the usual calm stretch clears it.
        for _ in 0..2 {
            assert_eq!(p.decide(&assessment(0.0)).action.level(), Level::Pause);
        }
        assert_eq!(p.decide(&assessment(0.0)).action.level(), Level::Continue);
    }

    #[test]
    fn hysteresis_holds_a_pause_until_risk_stays_low() {
        let mut p = DecisionPolicy::new(PolicyConfig::default()).unwrap();
        assert_eq!(p.decide(&assessment(0.6)).action.level(), Level::Pause);
        // Below t1 but inside the margin: still paused.
        assert_eq!(p.decide(&assessment(0.45)).action.level(), Level::Pause);
        for _ in 0..2 {
            assert_eq!(p.decide(&assessment(0.1)).action.level(), Level::Pause);
        }
        let Ruling { action, reason } = p.decide(&assessment(0.1));
        assert_eq!((action.level(), reason), (Level::Continue, Reason::RiskLow));
        assert_eq!(p.paused_for(), 0);
    }

    #[test]
    fn a_long_pause_becomes_a_rollback_and_rollback_is_final() {
        let cfg = PolicyConfig {
            max_pause_ticks: 4,
            ..PolicyConfig::default()
        };
        let mut p = DecisionPolicy::new(cfg).unwrap();
        for _ in 0..4 {
            assert_eq!(p.decide(&assessment(0.7)).action.level(), Level::Pause);
        }
        let Ruling {
            action: a,
            reason: r,
        } = p.decide(&assessment(0.7));
        assert_eq!((a.level(), r), (Level::Rollback, Reason::PauseTimeout));
        let Ruling {
            action: a,
            reason: r,
        } = p.decide(&assessment(0.0));
        assert_eq!((a.level(), r), (Level::Rollback, Reason::AlreadyRolledBack));
    }

    #[test]
    fn predictions_and_critical_metrics_roll_back_and_say_so() {
        let mut p = DecisionPolicy::new(PolicyConfig::default()).unwrap();
        let mut a = assessment(0.2);
        a.predicted_risk = 1.2;
        // Predictions must persist for `prediction_ticks` ticks before they act.
        for _ in 1..PolicyConfig::default().prediction_ticks {
            assert_eq!(p.decide(&a).action.level(), Level::Continue);
        }
        let Ruling { action, reason } = p.decide(&a);
        assert_eq!(reason, Reason::Predicted);
        assert!(
            matches!(action, Action::Rollback { alert } if alert.severity == AlertSeverity::Warning)
        );
        let mut p = DecisionPolicy::new(PolicyConfig::default()).unwrap();
        let mut a = assessment(0.1);
        a.critical_breach = Some(crate::schema::SeriesId {
            segment: 0,
            metric: 2,
        });
        assert_eq!(p.decide(&a).reason, Reason::CriticalMetric);
    }

    #[test]
    fn without_confirmed_harm_every_rollback_rule_pauses() {
        let unconfirmed = |risk: f64| {
            let mut a = assessment(risk);
            a.evidence.confirmed = false;
            a
        };
        let breach = Some(crate::schema::SeriesId {
            segment: 0,
            metric: 2,
        });
        let mut high = unconfirmed(0.9);
        high.predicted_risk = 1.2;
        let mut critical = unconfirmed(0.1);
        critical.critical_breach = breach;
        for a in [&high, &critical] {
            let mut p = DecisionPolicy::new(PolicyConfig::default()).unwrap();
            for _ in 0..5 {
                let r = p.decide(a);
                assert_eq!(
                    (r.action.level(), r.reason),
                    (Level::Pause, Reason::RiskElevated)
                );
            }
            // Once the harm is confirmed, the same rule rolls back.
            let mut confirmed = a.clone();
            confirmed.evidence.confirmed = true;
            assert_eq!(p.decide(&confirmed).action.level(), Level::Rollback);
            // And a policy that does not require confirmation rolls back at once.
            let mut eager = DecisionPolicy::new(PolicyConfig {
                require_confirmation: false,
                prediction_ticks: 1,
                ..PolicyConfig::default()
            })
            .unwrap();
            assert_eq!(eager.decide(a).action.level(), Level::Rollback);
        }
    }
}
