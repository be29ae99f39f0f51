//! The oracle floor: how fast a detector that knows the fault could have seen it.
//!
//! For a harmful scenario the oracle knows which series the fault touches (its
//! [`Scenario::affected`] series), the direction and size of the fault (its effect on
//! each of those series' means at every tick), and the noise (the simulator's
//! sampling standard deviations at the tick's cohort sizes, see
//! [`Scenario::live_moments`]). It does not know the onset. It watches the same ticks
//! coalmine saw, at the shares coalmine's decisions set, and runs a one-sided CUSUM of
//! log-likelihood ratios on the canary-minus-control difference:
//!
//! - a series with Gaussian noise contributes `u·z − u²/2` per tick, where `z` is the
//!   canary-minus-control difference over its standard deviation and `u` the fault's
//!   shift of the difference in the same units (its sign is the fault's direction);
//! - the error ratio contributes the exact conditional log-likelihood ratio of the
//!   canary's share of the tick's errors (binomial given both cohorts' errors and
//!   requests: `r0 = R_k / (R_k + R_c)` without the fault, `r1 = f·R_k / (f·R_k + R_c)`
//!   with the fault's rate ratio `f`), the count test the noise calls for;
//! - for a step fault the statistic is the classical CUSUM, `S = max(0, S + ℓ)`; for a
//!   fault that grows linearly (a leak, a creep) it is the same maximum over every
//!   possible onset `j` of the summed log-likelihood ratios with the shift grown to
//!   `(t − j + 1)` times one tick's growth.
//!
//! **Its threshold** is set on the healthy rollouts of the same evaluation: the
//! oracle's statistic for this fault is run over each healthy rollout's ticks (with the
//! fault's shift computed at that rollout's own levels and cohort sizes), and the
//! threshold is the smallest one that at most as many healthy rollouts cross as
//! coalmine rolled back (so the oracle false-alarms at most as often as coalmine on the
//! same healthy rollouts). An oracle alarm before the onset is counted and the
//! statistic restarted.
//!
//! After coalmine's rollout ends (rolled back, promoted or undecided) the oracle keeps
//! watching ticks generated at the share of the rollout's last tick, up to the
//! evaluation's tick limit.

use crate::scenario::{
    Cohort, ERROR_RATE, Effect, LiveTick, Moment, N_METRICS, N_SEGMENTS, Scenario, Shocks,
};

/// What one observed tick tells the oracle, before a fault template is applied.
#[derive(Debug, Clone)]
pub(crate) struct ObservedTick {
    k: usize,
    t: usize,
    share: f64,
    shocks: Shocks,
    tick: LiveTick,
    /// Standard deviation of the canary-minus-control difference, per series.
    sd_diff: Vec<f64>,
    /// Means of the control (its own effects only), per series.
    base: Vec<f64>,
}

impl ObservedTick {
    /// Live tick `k` of `sc` at `share`, or `None` when it is missing.
    pub(crate) fn new(sc: &Scenario, k: usize, share: f64) -> Option<ObservedTick> {
        let tick = sc.live_tick(k, share)?;
        let (control, canary) = sc.live_moments(k, share)?;
        let t = sc.history_len().saturating_add(k);
        let sd_diff = control
            .iter()
            .zip(&canary)
            .map(|(c, k)| (c.sd * c.sd + k.sd * k.sd).sqrt())
            .collect();
        Some(ObservedTick {
            k,
            t,
            share: tick.share,
            shocks: sc.shocks(t),
            base: control.iter().map(|m| m.mean).collect(),
            tick,
            sd_diff,
        })
    }
}

/// One tick's evidence for one fault template: `a = Σ u·z`, `b = Σ u²` over the
/// Gaussian series, `c` the count log-likelihood ratio of the error ratio.
#[derive(Debug, Clone, Copy, Default)]
struct Increment {
    a: f64,
    b: f64,
    c: f64,
}

/// The oracle for one harmful scenario (its fault template).
#[derive(Debug, Clone)]
pub(crate) struct Oracle {
    template: Scenario,
    ramp: bool,
    /// The fault's unit effect per segment.
    unit: [Effect; N_SEGMENTS],
}

/// Ticks of history the linear-growth statistic looks back over.
const RAMP_WINDOW: usize = 400;

/// The running statistic.
#[derive(Debug, Clone, Default)]
struct Statistic {
    ramp: bool,
    s: f64,
    /// For the linear-growth statistic: the summed log-likelihood ratio of each
    /// candidate onset still in the window, oldest first.
    sums: Vec<f64>,
}

impl Statistic {
    fn push(&mut self, inc: Increment) -> f64 {
        if !self.ramp {
            self.s = (self.s + inc.a - 0.5 * inc.b + inc.c).max(0.0);
            return self.s;
        }
        if self.sums.len() == RAMP_WINDOW {
            self.sums.remove(0);
        }
        self.sums.push(0.0);
        let len = self.sums.len();
        let mut best = 0.0f64;
        for (i, sum) in self.sums.iter_mut().enumerate() {
            let g = (len - i) as f64;
            *sum += g * inc.a - 0.5 * g * g * inc.b + inc.c;
            best = best.max(*sum);
        }
        self.s = best;
        best
    }

    fn reset(&mut self) {
        self.s = 0.0;
        self.sums.clear();
    }
}

impl Oracle {
    /// The oracle of a harmful scenario; `None` for a healthy one.
    pub(crate) fn new(template: &Scenario) -> Option<Oracle> {
        if !template.kind.harmful() || template.affected.is_empty() {
            return None;
        }
        let mut bare = template.clone();
        bare.history = Vec::new();
        let unit = std::array::from_fn(|s| template.fault_unit_effect(s));
        Some(Oracle {
            ramp: template.kind.is_gradual_fault(),
            template: bare,
            unit,
        })
    }

    fn statistic(&self) -> Statistic {
        Statistic {
            ramp: self.ramp,
            ..Statistic::default()
        }
    }

    /// The evidence of `obs` (a tick of `sc`) for this fault.
    fn increment(&self, sc: &Scenario, obs: &ObservedTick) -> Increment {
        let mut faulty: Vec<Moment> = Vec::with_capacity(N_SEGMENTS * N_METRICS);
        sc.cohort_moments(
            obs.t,
            obs.share,
            &obs.shocks,
            |s| sc.effect(obs.k, Cohort::Control, s).and(self.unit[s]),
            &mut faulty,
        );
        let mut inc = Increment::default();
        for a in &self.template.affected {
            let i = a.segment * N_METRICS + a.metric;
            let (xc, xk) = (obs.tick.control[i], obs.tick.canary[i]);
            let (p0, p1) = (obs.base[i], faulty[i].mean);
            if !(xc.is_finite() && xk.is_finite() && p0.is_finite() && p1.is_finite()) {
                continue;
            }
            if a.metric == ERROR_RATE && !self.ramp {
                let (rc, rk) = (obs.tick.control_counts[i], obs.tick.canary_counts[i]);
                if !(rc > 0.0 && rk > 0.0 && p0 > 0.0 && p1 > 0.0) {
                    continue;
                }
                let f = p1 / p0;
                let (ec, ek) = ((xc * rc).round(), (xk * rk).round());
                let r0 = rk / (rk + rc);
                let r1 = f * rk / (f * rk + rc);
                inc.c += ek * (r1 / r0).ln() + ec * ((1.0 - r1) / (1.0 - r0)).ln();
            } else {
                let sd = obs.sd_diff[i];
                if sd.is_nan() || sd <= 0.0 {
                    continue;
                }
                let u = (p1 - p0) / sd;
                inc.a += u * (xk - xc) / sd;
                inc.b += u * u;
            }
        }
        inc
    }

    /// The highest value the statistic reaches over `ticks` (of `sc`, a healthy
    /// rollout): one sample of its null distribution.
    pub(crate) fn null_max(&self, sc: &Scenario, ticks: &[ObservedTick]) -> f64 {
        let mut stat = self.statistic();
        ticks
            .iter()
            .map(|o| stat.push(self.increment(sc, o)))
            .fold(0.0, f64::max)
    }

    /// Runs the oracle over the template's own rollout: `path` holds the `(k, share)`
    /// of every tick coalmine observed; after it, ticks are generated at the last
    /// share up to `max_ticks`. Returns the first live tick at or after the onset at
    /// which the statistic exceeds `threshold`, and the number of alarms before the
    /// onset (after each the statistic restarts).
    pub(crate) fn alarm(
        &self,
        path: &[(usize, f64)],
        threshold: f64,
        max_ticks: usize,
    ) -> (Option<usize>, usize) {
        let sc = &self.template;
        let onset = sc.onset().unwrap_or(0);
        let last_share = path
            .last()
            .map(|&(_, s)| s)
            .filter(|s| *s > 0.0 && *s < 1.0)
            .unwrap_or(0.5);
        let after = path.last().map_or(0, |&(k, _)| k + 1);
        let ticks = path
            .iter()
            .copied()
            .chain((after..max_ticks).map(|k| (k, last_share)));
        let mut stat = self.statistic();
        let mut early = 0;
        for (k, share) in ticks {
            let Some(obs) = ObservedTick::new(sc, k, share) else {
                continue;
            };
            if stat.push(self.increment(sc, &obs)) > threshold {
                if k >= onset {
                    return (Some(k), early);
                }
                early += 1;
                stat.reset();
            }
        }
        (None, early)
    }
}

/// The smallest threshold that at most `allowed` of the `nulls` exceed (an alarm is a
/// statistic strictly above the threshold).
pub(crate) fn threshold(nulls: &mut [f64], allowed: usize) -> f64 {
    nulls.sort_by(|a, b| b.total_cmp(a));
    nulls.get(allowed).copied().unwrap_or(0.0).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_threshold_lets_through_at_most_the_allowed_alarms() {
        let mut v = vec![1.0, 5.0, 3.0, 2.0];
        assert_eq!(threshold(&mut v, 0), 5.0);
        assert_eq!(threshold(&mut v, 1), 3.0);
        assert_eq!(threshold(&mut v, 9), 0.0);
        let mut empty: Vec<f64> = Vec::new();
        assert_eq!(threshold(&mut empty, 0), 0.0);
    }

    #[test]
    fn the_step_statistic_is_a_cusum_and_the_ramp_one_looks_for_growth() {
        let mut s = Statistic::default();
        let up = Increment {
            a: 2.0,
            b: 1.0,
            c: 0.0,
        };
        let down = Increment {
            a: -3.0,
            b: 1.0,
            c: 0.0,
        };
        assert_eq!(s.push(up), 1.5);
        assert_eq!(s.push(up), 3.0);
        assert_eq!(s.push(down), 0.0);
        let mut r = Statistic {
            ramp: true,
            ..Statistic::default()
        };
        // Onset at the first tick: g = 1 then 2 for the oldest candidate.
        assert_eq!(r.push(up), 1.5);
        // Oldest: 1.5 + 2·2 − 0.5·4·1 = 3.5; newest: 1.5.
        assert_eq!(r.push(up), 3.5);
        r.reset();
        assert_eq!(r.push(down), 0.0);
    }
}
