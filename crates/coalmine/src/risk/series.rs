//! Stage 1: each series' deviation net of control, and the per-series state that
//! carries it from tick to tick (noise scale, accumulated deviation, trends, the
//! sequential test).

use serde::{Deserialize, Serialize};

use super::RiskConfig;
use super::assessment::Evidence;
use super::evidence::{Accumulated, Counted, Dispersion, count_cap};
use crate::compare::SequentialTest;
use crate::detect::AnomalyDetector;
use crate::math::{dist, ew};
use crate::profile::SeriesDetector;
use crate::schema::{Direction, MetricKind, Schema};

/// Centred, exponentially weighted variance with a prior worth `prior_ticks`
/// observations; a constant offset moves the mean, not the variance.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(super) struct CentredScale {
    pub(super) mean: f64,
    pub(super) var: f64,
    pub(super) n: u64,
}

impl CentredScale {
    /// The live estimate, worth `n − 1` observations, blended with a prior worth
    /// `prior_ticks`; and the degrees of freedom of the blend.
    pub(super) fn variance(&self, prior: f64, prior_ticks: f64) -> (f64, f64) {
        let live = self.n.saturating_sub(1) as f64;
        ew::with_prior(self.var, live, prior, prior_ticks)
    }

    pub(super) fn absorb(&mut self, x: f64, alpha: f64) {
        self.n += 1;
        if self.n == 1 {
            self.mean = x;
            self.var = 0.0;
            return;
        }
        let a = ew::weight(alpha, self.n);
        (self.mean, self.var) = ew::centred(self.mean, self.var, x, a);
    }
}

/// The noise scale of the canary-minus-control difference, from its first differences:
/// `σ² ≈ EW mean of (d_t − d_{t−1})² / 2`. A level shift (a canary bad from its first
/// tick, or a step fault later) moves one difference only — and that one is winsorised
/// once the scale is warm — so faults do not inflate the scale they are judged against.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub(super) struct NoiseScale {
    pub(super) last: f64,
    pub(super) var: f64,
    /// Differences absorbed (observations minus one once started).
    pub(super) k: u64,
    pub(super) started: bool,
}

impl NoiseScale {
    /// The live estimate worth `k` differences blended with a prior worth
    /// `prior_ticks`, and the degrees of freedom of the blend.
    pub(super) fn variance(&self, prior: f64, prior_ticks: f64) -> (f64, f64) {
        ew::with_prior(self.var, self.k as f64, prior, prior_ticks)
    }

    pub(super) fn absorb(&mut self, d: f64, alpha: f64, prior: f64, prior_ticks: f64) {
        if self.started {
            let (current, _) = self.variance(prior, prior_ticks);
            let r = d - self.last;
            let half_sq = 0.5 * r * r;
            // Winsorise at 5 standard deviations once a few differences are in.
            let half_sq = if self.k >= 5 {
                half_sq.min(25.0 * current)
            } else {
                half_sq
            };
            self.k += 1;
            self.var = ew::mean(self.var, half_sq, ew::weight(alpha, self.k));
        }
        self.last = d;
        self.started = true;
    }
}

/// An exponentially weighted mean of unit-variance scores with its exact effective
/// sample size, so that `mean · sqrt(n_eff)` is again a unit-variance score: persistent
/// moderate deviations accumulate, single spikes are diluted.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub(super) struct Accumulator {
    pub(super) mean: f64,
    pub(super) w1: f64,
    pub(super) w2: f64,
    pub(super) n: u64,
}

impl Accumulator {
    pub(super) fn absorb(&mut self, z: f64, rate: f64) {
        self.n += 1;
        let a = ew::weight(rate, self.n);
        self.mean = ew::mean(self.mean, z, a);
        (self.w1, self.w2) = ew::weight_sums(self.w1, self.w2, a);
    }

    pub(super) fn score(&self) -> f64 {
        if self.w2 > 0.0 {
            self.mean * self.w1 / self.w2.sqrt()
        } else {
            0.0
        }
    }
}

/// Holt's linear smoothing of a series (level and slope per tick).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub(super) struct Trend {
    pub(super) level: f64,
    pub(super) slope: f64,
    pub(super) n: u64,
}

impl Trend {
    pub(super) fn absorb(&mut self, x: f64, alpha: f64, beta: f64) {
        self.n += 1;
        match self.n {
            1 => self.level = x,
            _ => {
                let prev = self.level;
                self.level = alpha * x + (1.0 - alpha) * (self.level + self.slope);
                self.slope = beta * (self.level - prev) + (1.0 - beta) * self.slope;
            }
        }
    }

    pub(super) fn ahead(&self, h: f64) -> f64 {
        self.level + h * self.slope
    }
}

/// Live state of one (segment, metric).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct SeriesState {
    pub(super) detector: SeriesDetector,
    /// Prior variance of the canary-minus-control difference: twice the profile's
    /// one-step variance.
    pub(super) prior_var: f64,
    pub(super) sequential: SequentialTest,
    pub(super) seq_mde: f64,
    pub(super) seq_sd: f64,
    pub(super) seq_sufficient: bool,
    pub(super) seq_rejected: bool,
    pub(super) noise: NoiseScale,
    pub(super) window: Accumulator,
    pub(super) harm: Trend,
    pub(super) canary: Trend,
    pub(super) paired: u64,
    /// This tick: whether both cohorts were observed; harmful net z, net z, z vs
    /// profile, p. (No NaN in the state: checkpoints are JSON, which has no NaN.)
    pub(super) observed: bool,
    /// Consecutive ticks on which Holm found this series significant.
    pub(super) significant_run: u32,
    /// Degrees of freedom of the noise scale at the last observation.
    pub(super) dof: f64,
    pub(super) harm_z: f64,
    pub(super) net_z: f64,
    pub(super) profile_z: f64,
    pub(super) p: f64,
    /// Anytime-valid evidence of harm accumulated over the rollout.
    pub(super) accumulated: Accumulated,
    /// This tick's calibrated score fed to the accumulated evidence (canary minus
    /// control, a standard normal score under "no harm"); not stored, NaN when the
    /// series gave none this tick.
    #[serde(skip, default = "nan")]
    pub(super) score: f64,
    /// This tick's counts of a counted ratio, for the pooled evidence (not stored).
    #[serde(skip)]
    pub(super) counted: Option<Counted>,
    /// The variance factor `1/n_canary + 1/n_control` at the first tick with counts,
    /// and `1/share + 1/(1 − share)` at the first tick without (0 until then): each
    /// tick's difference is rescaled to the cohort sizes of that reference tick.
    pub(super) reference_counts: f64,
    pub(super) reference_share: f64,
    /// A counted ratio's dispersion relative to binomial sampling (absent from
    /// version 6 checkpoints, which start it afresh).
    #[serde(default)]
    pub(super) dispersion: Dispersion,
}

fn nan() -> f64 {
    f64::NAN
}

/// One tick's values, and what says how much evidence each carries: the counts
/// behind them and the canary's share of traffic (NaN when unknown).
#[derive(Debug, Clone, Copy)]
pub(super) struct Weights<'a> {
    pub(super) control: &'a [f64],
    pub(super) canary: &'a [f64],
    pub(super) control_counts: Option<&'a [f64]>,
    pub(super) canary_counts: Option<&'a [f64]>,
    pub(super) canary_share: f64,
}

/// Records the series' reference tick, once per tick before [`variance_ratio`] reads
/// it: the canary's share at the first tick it is known, and the cohort sizes at the
/// first tick with counts.
fn record_reference(st: &mut SeriesState, w: &Weights, i: usize) {
    // The share is recorded with or without counts: counts weigh one tick against
    // another, but only the share relates the canary's noise to the profile's.
    let s = w.canary_share;
    if s > 0.0 && s < 1.0 && st.reference_share == 0.0 {
        st.reference_share = 1.0 / s + 1.0 / (1.0 - s);
    }
    if st.reference_counts == 0.0
        && let Some(f) = counts_factor(w, i)
    {
        st.reference_counts = f;
    }
}

/// The variance factor `1/n_canary + 1/n_control` of this tick, when both counts are
/// known and positive.
fn counts_factor(w: &Weights, i: usize) -> Option<f64> {
    let count = |c: Option<&[f64]>| c.map_or(f64::NAN, |c| c[i]);
    let (nc, nk) = (count(w.control_counts), count(w.canary_counts));
    (nc > 0.0 && nk > 0.0).then(|| 1.0 / nk + 1.0 / nc)
}

/// How a tick's difference variance compares with the series' reference tick, and
/// whether it comes from counts.
fn variance_ratio(st: &SeriesState, w: &Weights, i: usize) -> (f64, bool) {
    if let Some(f) = counts_factor(w, i) {
        return (f / st.reference_counts, true);
    }
    // Without counts the share is recorded for the accumulated evidence's prior
    // only: rescaling each tick by it moved healthy rollouts' false rollbacks from
    // 0.6 % to 9.4 % on the harness (noise that does not shrink with the cohort:
    // per-instance resources, outliers), so the difference is used as it is.
    (1.0, false)
}

/// The share factor `1/s + 1/(1 − s)` that scales the accumulated evidence's prior
/// (0 when unknown). With counts the difference is at the reference tick's cohort
/// sizes, and so is the prior; without, the difference is at the tick's own, and the
/// prior follows the share in force (the share the rollout began with would keep a 1 %
/// canary's prior, fifty times the profile's variance, all the way up the ramp, and
/// leaks and creeps were caught after the static threshold).
fn share_factor(st: &SeriesState, share: f64, counted: bool) -> f64 {
    if !counted && share > 0.0 && share < 1.0 {
        1.0 / share + 1.0 / (1.0 - share)
    } else {
        st.reference_share
    }
}

/// Standardises the tick's difference `d` (already rescaled to the reference cohort
/// sizes) into the series' net z, feeds the noise scale and the accumulated evidence,
/// and returns the degrees of freedom of the scale.
///
/// The accumulated evidence, which sums many ticks, must not be fed a scale that is
/// too small while it warms up: its prior is the profile's variance scaled to the
/// share `share_factor = 1/s + 1/(1 − s)` (the profile's variance is that of two whole
/// populations; a cohort of a share `s` is `1/s` times as noisy, so the difference
/// `(1/s + 1/(1 − s)) / 2` times the profile's); 0 when the share is unknown. With
/// counts, a ratio is never given less noise than the binomial sampling of the
/// reference counts.
fn standardise(
    st: &mut SeriesState,
    cfg: &RiskConfig,
    kind: MetricKind,
    forecast: f64,
    (d, counted): (f64, bool),
    share_factor: f64,
    events: Option<Counted>,
) -> f64 {
    let floor = if counted && kind == MetricKind::Ratio {
        let q = forecast.clamp(0.0, 1.0);
        q * (1.0 - q) * st.reference_counts
    } else {
        0.0
    };
    let (var, dof) = st.noise.variance(st.prior_var, cfg.prior_ticks);
    st.net_z = (d / var.max(floor).max(1e-300).sqrt()).clamp(-1e12, 1e12);
    // Share unknown: the profile says nothing about the canary's noise (the history
    // carries no counts, so counts alone cannot scale it either), so the accumulated
    // evidence waits for a live scale and trusts it only as far as its own degrees of
    // freedom go.
    let (scaled, prior_ticks) = if share_factor > 0.0 {
        (
            st.prior_var * (0.5 * share_factor).max(1.0),
            cfg.prior_ticks,
        )
    } else {
        (st.prior_var, 0.0)
    };
    let (acc_var, acc_dof) = st.noise.variance(scaled, prior_ticks);
    // An exponentially weighted variance is worth at most `(2 − α)/α` observations
    // however many ticks it has seen (39 at α = 0.05): counting every tick as a degree
    // of freedom overstated its certainty, and two of 100 A/A rollouts of 500 ticks
    // accumulated false evidence instead of one.
    let acc_dof = acc_dof.min(prior_ticks + ew::effective_weight(cfg.difference_alpha));
    let acc_z = (d / acc_var.max(floor).max(1e-300).sqrt()).clamp(-1e12, 1e12);
    let warm = prior_ticks > 0.0 || st.noise.k >= 2;
    st.noise
        .absorb(d, cfg.difference_alpha, st.prior_var, cfg.prior_ticks);
    st.score = match events {
        // The binomial test needs no warm scale, the counts are its noise; the score
        // (the resume CUSUM's, and the pooled evidence's) waits for one. Nor does it
        // need the control's forecast: a ratio that has always been 0 is judged too.
        Some(mut events) => {
            events.dispersion = st.dispersion.phi();
            if let Some(z) = events.binomial_z() {
                st.dispersion.absorb(z, cfg.difference_alpha);
            }
            st.counted = Some(events);
            if warm {
                st.accumulated.absorb_counted(acc_z, acc_dof, &events)
            } else {
                st.accumulated.absorb_counted(0.0, 1.0, &events);
                f64::NAN
            }
        }
        _ if warm => st.accumulated.absorb(acc_z, acc_dof),
        _ => f64::NAN,
    };
    dof
}

/// A counted ratio's events and trials per cohort this tick (the dispersion is the
/// caller's to set), when both counts are known and the metric is a ratio.
fn events(w: &Weights, i: usize, kind: MetricKind, cap: f64) -> Option<Counted> {
    if kind != MetricKind::Ratio {
        return None;
    }
    let (nc, nk) = (w.control_counts?[i], w.canary_counts?[i]);
    Some(Counted {
        canary: (w.canary[i] * nk, nk),
        control: (w.control[i] * nc, nc),
        dispersion: 1.0,
        cap,
    })
}

impl SeriesState {
    /// A series that has seen no tick of the rollout yet.
    pub(super) fn new(
        detector: SeriesDetector,
        prior_var: f64,
        sequential: SequentialTest,
    ) -> Self {
        SeriesState {
            detector,
            prior_var,
            sequential,
            seq_mde: f64::MAX,
            seq_sd: 0.0,
            seq_sufficient: false,
            seq_rejected: false,
            noise: NoiseScale::default(),
            window: Accumulator::default(),
            harm: Trend::default(),
            canary: Trend::default(),
            paired: 0,
            harm_z: 0.0,
            observed: false,
            significant_run: 0,
            dof: 1.0,
            net_z: 0.0,
            profile_z: 0.0,
            p: 1.0,
            accumulated: Accumulated::default(),
            score: f64::NAN,
            counted: None,
            reference_counts: 0.0,
            reference_share: 0.0,
            dispersion: Dispersion::default(),
        }
    }
}

/// The p-value of a deviation already turned in the harmful direction, under Student's
/// t with `dof` degrees of freedom: one-sided for directed metrics, two-sided for `Any`.
pub(super) fn harm_p(direction: Direction, harm: f64, dof: f64) -> f64 {
    match direction {
        Direction::Any => dist::student_t_two_sided(harm, dof),
        _ => dist::student_t_upper(harm, dof),
    }
}

/// The harmful part of a net deviation: `|z|` for `Any`, `±z` for directed metrics.
fn harmful(direction: Direction, z: f64) -> f64 {
    match direction {
        Direction::Any => z.abs(),
        d => d.sign() * z,
    }
}

/// Stage 1: every series' deviation net of control. The profile's detector follows the
/// control value; the canary-minus-control difference is standardised by its own noise
/// scale; this tick's z and the accumulated z each give a harmful-direction p-value,
/// Bonferroni-combined. Observed series push `(p, index)` onto `tests`. Returns the
/// tick's evidence counts (sufficiency is [`sufficiency`]'s).
pub(super) fn deviations(
    schema: &Schema,
    cfg: &RiskConfig,
    series: &mut [SeriesState],
    weights: &Weights,
    ticks: u64,
    tests: &mut Vec<(f64, usize)>,
) -> Evidence {
    let nm = schema.n_metrics();
    let mut evidence = Evidence {
        ticks,
        min_paired_ticks: u64::MAX,
        accumulated_p: 1.0,
        ..Evidence::default()
    };
    let cap = count_cap(accumulated_family(schema), cfg.evidence_alpha);
    for (i, st) in series.iter_mut().enumerate() {
        let metric = schema.metric(i % nm);
        let (yb, yc) = (weights.control[i], weights.canary[i]);
        let forecast = st.detector.forecast();
        let sd = st.detector.residual_scale();
        if yb.is_nan() {
            st.detector.skip();
        } else if st.detector.observe(&yb).is_err() {
            // Values were checked; a state overflow is treated as a missing tick.
            st.detector.skip();
        }
        st.harm_z = 0.0;
        st.observed = false;
        st.p = 1.0;
        st.score = f64::NAN;
        st.counted = None;
        if yb.is_nan() || yc.is_nan() {
            evidence.missing += 1;
            evidence.min_paired_ticks = evidence.min_paired_ticks.min(st.paired);
            continue;
        }
        evidence.observed += 1;
        // Rescaled to the reference tick's cohort sizes, so that neither a pause's
        // smaller canary nor a ramp's larger one moves the noise scale.
        record_reference(st, weights, i);
        let (ratio, counted) = variance_ratio(st, weights, i);
        let d = (yc - yb) / ratio.sqrt();
        let share_factor = share_factor(st, weights.canary_share, counted);
        let counts = if counted {
            events(weights, i, metric.kind, cap)
        } else {
            None
        };
        let dof = standardise(
            st,
            cfg,
            metric.kind,
            forecast,
            (d, counted),
            share_factor,
            counts,
        );
        // Only sufficiency's parts: the e-value is computed for the contributors.
        if let Ok(q) = st.sequential.advance(d) {
            st.seq_mde = q.minimum_detectable_effect.min(f64::MAX);
            st.seq_sd = if q.sd.is_finite() { q.sd } else { 0.0 };
            st.seq_sufficient = q.sufficient;
            st.seq_rejected = q.rejected;
        }
        // Winsorised so that one huge spike cannot keep the average significant.
        st.window.absorb(st.net_z.clamp(-4.0, 4.0), cfg.window_rate);
        st.profile_z = ((yc - forecast) / sd.max(f64::MIN_POSITIVE)).clamp(-1e12, 1e12);
        // Two views of the same series, Bonferroni-combined: this tick alone (sharp
        // faults) and the recent average (persistent moderate shifts).
        // Both have the same degrees of freedom and the tail falls as the harmful
        // statistic grows, so the smaller p-value is the larger statistic's: one tail.
        let h = harmful(metric.direction, st.net_z);
        let h_window = harmful(metric.direction, st.window.score());
        let h_max = h.max(h_window);
        // A directed metric's one-sided tail is at least 1/2 from 0 down, so its
        // doubled p-value is 1 exactly: no tail to compute.
        let p = if metric.direction != Direction::Any && h_max <= 0.0 {
            1.0
        } else {
            (2.0 * harm_p(metric.direction, h_max, dof)).min(1.0)
        };
        st.harm_z = h;
        st.observed = true;
        st.dof = dof;
        st.p = p;
        // Winsorised like the accumulator: the trend is for drifts, not spikes.
        st.harm
            .absorb(h.clamp(-4.0, 4.0), cfg.trend_alpha, cfg.trend_beta);
        st.canary.absorb(yc, cfg.trend_alpha, cfg.trend_beta);
        st.paired += 1;
        evidence.min_paired_ticks = evidence.min_paired_ticks.min(st.paired);
        tests.push((p, i));
    }
    if evidence.min_paired_ticks == u64::MAX {
        evidence.min_paired_ticks = 0;
    }
    evidence
}

/// Stage 1, continued: whether the evidence so far is sufficient — every observed
/// series' sequential test could now reject an effect of `target_effect` standard
/// deviations — and how many sequential tests have rejected.
pub(super) fn sufficiency(cfg: &RiskConfig, series: &[SeriesState], evidence: &mut Evidence) {
    evidence.max_detectable_effect = 0.0;
    evidence.sufficient = evidence.observed > 0;
    for st in series.iter().filter(|st| st.observed) {
        // In units of the differences' own standard deviation (the profile's when
        // that is larger): a small, noisy canary needs more ticks for the same power.
        let sd = st.seq_sd.max(st.prior_var.sqrt()).max(f64::MIN_POSITIVE);
        let mde = st.seq_mde / sd;
        evidence.max_detectable_effect = evidence.max_detectable_effect.max(mde.min(f64::MAX));
        evidence.sufficient &= st.seq_sufficient && mde <= cfg.target_effect;
        evidence.sequential_rejections += st.seq_rejected as usize;
    }
    if evidence.observed == 0 {
        evidence.max_detectable_effect = f64::MAX;
    }
}

/// Evidence pooled across segments for one metric: a release that harms every
/// segment a little is seen in the sum of the segments' scores long before any
/// one segment's evidence suffices alone.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub(super) struct Pooled {
    /// The accumulated evidence of the pooled score.
    pub(super) accumulated: Accumulated,
    /// The pooled score's own noise scale: segments whose differences move together
    /// (a shared dependency, shared canary hosts) make the sum noisier than the
    /// independent segments' `√c`, and the pooled score is divided by this scale's
    /// standard deviation whenever it exceeds 1, never trusted more.
    pub(super) noise: NoiseScale,
}

/// Pseudo-observations behind the pooled score's prior variance of 1.
const POOLED_PRIOR_TICKS: f64 = 8.0;

/// Stage 1, continued: per metric, the segments' calibrated scores of this tick
/// summed and divided by `√c` (a standard normal score under "no harm" when the
/// segments are independent, and its own noise scale guards when they are not)
/// feed that metric's pooled evidence. Nothing is pooled with fewer than two
/// segments in the schema, nor on a tick where no segment gave a score.
pub(super) fn pool(
    schema: &Schema,
    cfg: &RiskConfig,
    series: &[SeriesState],
    pooled: &mut [Pooled],
) {
    let (nm, ns) = (schema.n_metrics(), schema.n_segments());
    if ns < 2 {
        return;
    }
    let cap = count_cap(accumulated_family(schema), cfg.evidence_alpha);
    for (m, p) in pooled.iter_mut().enumerate() {
        let (mut sum, mut c, mut counted) = (0.0, 0u32, 0u32);
        for st in series.iter().skip(m).step_by(nm) {
            if !st.score.is_nan() {
                sum += st.score;
                c += 1;
                counted += u32::from(st.counted.is_some());
            }
        }
        if c == 0 {
            continue;
        }
        let x = sum / f64::from(c).sqrt();
        let (var, _) = p.noise.variance(1.0, POOLED_PRIOR_TICKS);
        p.noise
            .absorb(x, cfg.difference_alpha, 1.0, POOLED_PRIOR_TICKS);
        let x = x / var.max(1.0).sqrt();
        match (counted == c)
            .then(|| pooled_counts(series, m, nm, c))
            .flatten()
        {
            Some(ratios) => p.accumulated.absorb_log_ratios(x, ratios, cap),
            None => p.accumulated.absorb_score(x),
        }
    }
}

/// The pooled count test of metric `m` when each of the `c` segments that gave a score
/// this tick gave counts: the product of the segments' binomial likelihood ratios, each
/// at a shift of `λ/√c` of its own binomial standard deviation (`c` unit scores so
/// shifted sum, over `√c`, to a score shifted by `λ`: the pooled normal score's
/// alternative), so that a rate ratio shared by every segment is seen in their counts
/// together. Independent given each segment's total, the ratios' product has mean at
/// most 1 under "no harm", as each has.
fn pooled_counts(
    series: &[SeriesState],
    m: usize,
    nm: usize,
    c: u32,
) -> Option<([f64; 4], [f64; 4])> {
    let scale = 1.0 / f64::from(c).sqrt();
    let (mut up, mut down) = ([0.0; 4], [0.0; 4]);
    for st in series.iter().skip(m).step_by(nm) {
        if st.score.is_nan() {
            continue;
        }
        let (u, d) = st.counted?.log_ratios(scale)?;
        for j in 0..4 {
            up[j] += u[j];
            down[j] += d[j];
        }
    }
    Some((up, down))
}

/// The number of tests in the accumulated family: every series, and every metric's
/// pooled evidence when there are segments to pool.
pub(super) fn accumulated_family(schema: &Schema) -> usize {
    let pooled = if schema.n_segments() >= 2 {
        schema.n_metrics()
    } else {
        0
    };
    (schema.n_metrics() * schema.n_segments() + pooled).max(1)
}

/// Stage 1, continued: the accumulated evidence of the family (every series and
/// every metric's pooled evidence). Returns the evidence factor in `[0, 1]`,
/// `1 − log10(p_adj / evidence_alpha)` with `p_adj` the Bonferroni-adjusted smallest
/// anytime-valid p-value of the family, and records that p-value, whether it reached
/// `evidence_alpha` (confirmed) and whether any test still supports harm.
pub(super) fn accumulated(
    schema: &Schema,
    cfg: &RiskConfig,
    series: &[SeriesState],
    pooled: &[Pooled],
    evidence: &mut Evidence,
) -> f64 {
    let nm = schema.n_metrics();
    let k = accumulated_family(schema) as f64;
    let resume_level = (k / cfg.resume_alpha).ln();
    let mut min_p = 1.0f64;
    let mut supported = false;
    for (i, st) in series.iter().enumerate() {
        let direction = schema.metric(i % nm).direction;
        min_p = min_p.min(st.accumulated.p_value(direction));
        supported |= st.accumulated.harm_cusum(direction) > resume_level;
    }
    if schema.n_segments() >= 2 {
        for (m, p) in pooled.iter().enumerate() {
            let direction = schema.metric(m).direction;
            min_p = min_p.min(p.accumulated.p_value(direction));
            supported |= p.accumulated.harm_cusum(direction) > resume_level;
        }
    }
    let adjusted = (k * min_p).min(1.0);
    evidence.accumulated_p = adjusted;
    evidence.confirmed = adjusted <= cfg.evidence_alpha;
    // A CUSUM above its level without accumulated evidence worth counting (the
    // level at which the evidence factor starts to count) is what long healthy
    // rollouts show now and then: it must not hold a pause for ever.
    evidence.harm_supported = supported && adjusted <= 10.0 * cfg.evidence_alpha;
    // Weak evidence (an adjusted p above ten times the level) counts for nothing:
    // it is what a family of healthy series shows now and then.
    let decade = (adjusted.max(1e-300) / cfg.evidence_alpha).log10();
    (1.0 - decade).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centred_scale_ignores_a_constant_offset() {
        let mut c = CentredScale {
            mean: 0.0,
            var: 0.0,
            n: 0,
        };
        for t in 0..200 {
            c.absorb(10.0 + if t % 2 == 0 { 1.0 } else { -1.0 }, 0.05);
        }
        let (var, dof) = c.variance(4.0, 0.0);
        assert!((var - 1.0).abs() < 0.1, "{var}");
        assert_eq!(dof, 199.0);
        assert!((c.mean - 10.0).abs() < 0.2);
    }
}
