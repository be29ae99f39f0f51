//! From per-tick deviations to one explainable risk score.
//!
//! A [`RiskEngine`] follows one rollout. Every tick it receives the control cohort's and
//! the canary cohort's values (dense `segments × metrics` slices, NaN for missing) and
//! returns a [`RiskAssessment`]: the seed's four factors, the risk, a prediction of where
//! the risk is heading, and the contributors behind it. The mathematics is in
//! `docs/algorithms.md`; in short, per (segment, metric) and tick:
//!
//! 1. The profile's detector, fed the **control** cohort, forecasts the metric and keeps
//!    the canary's deviation *against the profile* (`deviation_vs_profile`) honest about
//!    seasonality.
//! 2. The **net deviation** is the canary-minus-control difference `d = y_c − y_b`
//!    standardised by its own centred, exponentially weighted scale (seeded from the
//!    profile, so the first ticks are judged against history). A global event that moves
//!    both cohorts cancels in `d`; a constant offset (a bad canary from its first tick)
//!    does not inflate a *centred* scale.
//! 3. Only the harmful direction counts for directed metrics.
//! 4. The per-series tail probabilities, with each segment's autoencoder (net of the
//!    control's own joint anomaly), form one family; Holm's step-down procedure decides
//!    which are significant at the family-wise level, and the Bonferroni-adjusted
//!    smallest p-value sets the severity.

use serde::{Deserialize, Serialize};

use crate::comparison::{SequentialConfig, SequentialTest};
use crate::profile::{BehaviorProfile, SeriesDetector};
use crate::schema::{Direction, Schema, SeriesId};
use crate::{AnomalyDetector, Autoencoder, Error, stats};

/// Settings of the risk computation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RiskConfig {
    /// Family-wise significance level for "this series is anomalous now" (Holm).
    pub significance: f64,
    /// `−log10` of the adjusted p-value at which severity reaches 1.
    pub severity_saturation: f64,
    /// Weight of the current tick in the persistence average, in `(0, 1]`: a single
    /// significant tick gives this persistence.
    pub persistence_rate: f64,
    /// Ticks over which feature correlation is measured (at least 4).
    pub correlation_window: usize,
    /// Prediction horizon in ticks.
    pub horizon: usize,
    /// Level smoothing of the net-deviation trend used for prediction.
    pub trend_alpha: f64,
    /// Slope smoothing of the net-deviation trend used for prediction.
    pub trend_beta: f64,
    /// Smoothing of the canary-minus-control noise scale, in `(0, 1]`.
    pub difference_alpha: f64,
    /// Weight of the current tick in the accumulated net deviation, in `(0, 1]`.
    pub window_rate: f64,
    /// Weight of the profile-based prior on that scale, in pseudo-ticks. The canary's
    /// sampling noise is unknown at the start (a 1 % canary is about ten times noisier
    /// than its control), so the prior is weak and the tail probability uses Student's t
    /// with `prior_ticks + n − 1` degrees of freedom.
    pub prior_ticks: f64,
    /// Ticks over which each segment's joint (autoencoder) baseline is measured before
    /// the joint model gives evidence.
    pub joint_warmup: u64,
    /// Contributors named in an assessment.
    pub max_contributors: usize,
    /// Consecutive significant ticks after which a metric flagged `critical` is
    /// reported as a critical breach (at least 1).
    pub critical_ticks: u32,
    /// Family-wise level of the per-series sequential tests (Bonferroni over series).
    pub sequential_alpha: f64,
    /// Scale `τ` of the sequential tests' mixing distribution, in reference standard
    /// deviations of the difference (`√2 ·` the profile's one-step scale). Faults worth
    /// a rollback are usually several standard deviations, and a canary is noisier
    /// than its history, so the default is 5; any fixed value keeps the test valid.
    pub sequential_tau: f64,
    /// Evidence is sufficient once every observed series could reject an effect of
    /// this many standard deviations of its canary-minus-control difference now (its
    /// minimum detectable effect).
    pub target_effect: f64,
    /// Which scorer turns the factors into the risk.
    pub scorer: Scorer,
}

impl Default for RiskConfig {
    fn default() -> Self {
        RiskConfig {
            significance: 0.01,
            severity_saturation: 6.0,
            persistence_rate: 0.25,
            correlation_window: 12,
            horizon: 10,
            trend_alpha: 0.3,
            trend_beta: 0.1,
            difference_alpha: 0.05,
            window_rate: 0.2,
            prior_ticks: 2.0,
            joint_warmup: 12,
            max_contributors: 5,
            critical_ticks: 2,
            sequential_alpha: 0.05,
            sequential_tau: 5.0,
            target_effect: 2.0,
            scorer: Scorer::Persistent,
        }
    }
}

impl RiskConfig {
    /// Checks every setting's range ([`Error::InvalidParameter`] naming the first one
    /// out of range).
    pub fn validate(&self) -> Result<(), Error> {
        let unit = |name, v: f64| {
            if v > 0.0 && v <= 1.0 {
                Ok(())
            } else {
                Err(Error::param(name, v, "must be in (0, 1]"))
            }
        };
        if !(self.significance > 0.0 && self.significance < 1.0) {
            return Err(Error::param(
                "significance",
                self.significance,
                "must be in (0, 1)",
            ));
        }
        if !(self.severity_saturation.is_finite() && self.severity_saturation > 0.0) {
            return Err(Error::param(
                "severity_saturation",
                self.severity_saturation,
                "must be finite and > 0",
            ));
        }
        unit("persistence_rate", self.persistence_rate)?;
        unit("trend_alpha", self.trend_alpha)?;
        unit("trend_beta", self.trend_beta)?;
        unit("difference_alpha", self.difference_alpha)?;
        unit("window_rate", self.window_rate)?;
        if !(self.sequential_alpha > 0.0 && self.sequential_alpha < 1.0) {
            return Err(Error::param(
                "sequential_alpha",
                self.sequential_alpha,
                "must be in (0, 1)",
            ));
        }
        if !(self.sequential_tau.is_finite() && self.sequential_tau > 0.0) {
            return Err(Error::param(
                "sequential_tau",
                self.sequential_tau,
                "must be finite and > 0",
            ));
        }
        if !(self.target_effect.is_finite() && self.target_effect > 0.0) {
            return Err(Error::param(
                "target_effect",
                self.target_effect,
                "must be finite and > 0",
            ));
        }
        if !(self.prior_ticks.is_finite() && self.prior_ticks >= 0.0) {
            return Err(Error::param(
                "prior_ticks",
                self.prior_ticks,
                "must be finite and >= 0",
            ));
        }
        if !(2..=10_000).contains(&self.joint_warmup) {
            return Err(Error::param(
                "joint_warmup",
                self.joint_warmup as f64,
                "must be in 2..=10000",
            ));
        }
        if !(4..=10_000).contains(&self.correlation_window) {
            return Err(Error::param(
                "correlation_window",
                self.correlation_window as f64,
                "must be in 4..=10000",
            ));
        }
        if self.horizon > 1_000_000 {
            return Err(Error::param(
                "horizon",
                self.horizon as f64,
                "must be at most 1e6",
            ));
        }
        if self.critical_ticks == 0 {
            return Err(Error::param("critical_ticks", 0.0, "must be at least 1"));
        }
        if self.max_contributors > 1_000 {
            return Err(Error::param(
                "max_contributors",
                self.max_contributors as f64,
                "must be at most 1000",
            ));
        }
        Ok(())
    }
}

/// The four factors of the seed's risk formula, each in `[0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct RiskFactors {
    /// How far the behaviour deviates: `min(1, −log10(p_adj) / saturation)` with `p_adj`
    /// the Bonferroni-adjusted smallest p-value of the tick.
    pub severity: f64,
    /// How long it has lasted: an exponentially weighted share of recent ticks with a
    /// significant anomaly.
    pub persistence: f64,
    /// Which users: the summed weight shares of the segments with a significant anomaly,
    /// each scaled by the criticality of its most critical anomalous metric.
    pub segment_weight: f64,
    /// How strongly the anomaly moves with a feature's metrics: the largest absolute
    /// correlation, over the recent window, between the tick's total harmful evidence
    /// and a feature's net deviation.
    pub feature_correlation: f64,
}

/// Turns risk factors into a risk score.
pub trait RiskScorer {
    /// The risk for these factors.
    fn score(&self, factors: &RiskFactors) -> f64;
}

/// The seed's formula, exactly:
/// `risk = severity * persistence + segment_weight * feature_correlation` (in `[0, 2]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SeedScorer;

impl RiskScorer for SeedScorer {
    fn score(&self, f: &RiskFactors) -> f64 {
        f.severity * f.persistence + f.segment_weight * f.feature_correlation
    }
}

/// The seed's formula with its second term also weighted by persistence:
/// `risk = persistence * (severity + segment_weight * feature_correlation)`. One
/// extreme tick can then no longer reach a rollback threshold through the segment and
/// feature term alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PersistentScorer;

impl RiskScorer for PersistentScorer {
    fn score(&self, f: &RiskFactors) -> f64 {
        f.persistence * (f.severity + f.segment_weight * f.feature_correlation)
    }
}

/// The available scorers, as plain data (so a configuration and a checkpoint can name
/// one). The default is [`Scorer::Persistent`]: on the evaluation harness it halves the
/// false rollbacks of [`Scorer::Seed`] (0.4 % against 1.0 % on 800 held-out healthy
/// rollouts) with the same detection of faults (see `docs/evaluation.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scorer {
    /// [`SeedScorer`]: the seed's formula exactly.
    Seed,
    /// [`PersistentScorer`], the default.
    #[default]
    Persistent,
}

impl RiskScorer for Scorer {
    fn score(&self, f: &RiskFactors) -> f64 {
        match self {
            Scorer::Seed => SeedScorer.score(f),
            Scorer::Persistent => PersistentScorer.score(f),
        }
    }
}

/// Where a contributor's evidence comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// One metric's canary-minus-control deviation.
    Metric,
    /// A segment's joint behaviour (autoencoder), net of the control's; `metric` is the
    /// metric with the largest share of the canary's reconstruction error.
    Joint,
    /// A projected crossing of the metric's configured limit.
    Limit,
}

/// One reason behind an assessment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Contributor {
    /// What kind of evidence.
    pub source: Source,
    /// Segment index.
    pub segment: usize,
    /// Metric index.
    pub metric: usize,
    /// The metric's feature, if any.
    pub feature: Option<usize>,
    /// Net deviation (canary against control) in standard deviations, signed.
    pub deviation: f64,
    /// The canary's deviation against the profile's forecast, in the profile's one-step
    /// standard deviations (includes whatever the control cohort also shows).
    pub deviation_vs_profile: f64,
    /// The tail probability in the harmful direction (unadjusted).
    pub p_value: f64,
    /// Whether Holm's procedure found it significant this tick.
    pub significant: bool,
    /// The series' sequential e-value (mixture likelihood ratio) since the start of
    /// the rollout; 1 for joint contributors.
    pub e_value: f64,
    /// The series' always-valid p-value since the start of the rollout.
    pub always_valid_p: f64,
}

/// A projected crossing of a metric's configured limit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LimitBreach {
    /// Segment index.
    pub segment: usize,
    /// Metric index.
    pub metric: usize,
    /// Ticks from now until the canary's trend crosses the limit (0 when it already
    /// has).
    pub ticks_ahead: f64,
}

/// How much evidence the rollout has gathered.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Evidence {
    /// Ticks assessed.
    pub ticks: u64,
    /// The fewest ticks on which any series had both cohorts observed.
    pub min_paired_ticks: u64,
    /// Series missing in either cohort this tick.
    pub missing: usize,
    /// Series observed in both cohorts this tick.
    pub observed: usize,
    /// Every observed series has at least the sequential test's minimum samples and
    /// could now reject an effect of `target_effect` standard deviations:
    /// "no alarm" now means "healthy", not "not enough data yet".
    pub sufficient: bool,
    /// The largest minimum detectable effect among observed series, in standard
    /// deviations of the canary-minus-control difference (`f64::MAX` before any data).
    pub max_detectable_effect: f64,
    /// Series whose sequential test has rejected "no difference" in the harmful
    /// direction (family-wise level `sequential_alpha`).
    pub sequential_rejections: usize,
}

/// The risk of a rollout at one tick, with its reasons.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RiskAssessment {
    /// The tick's risk (the scorer applied to `factors`).
    pub risk: f64,
    /// The four factors.
    pub factors: RiskFactors,
    /// The risk projected `horizon` ticks ahead.
    pub predicted_risk: f64,
    /// The factors projected `horizon` ticks ahead.
    pub predicted_factors: RiskFactors,
    /// The horizon of the prediction, in ticks.
    pub horizon: usize,
    /// The smallest unadjusted p-value of the tick.
    pub min_p_value: f64,
    /// The Bonferroni-adjusted smallest p-value (`min(1, K · p_min)`).
    pub adjusted_p_value: f64,
    /// Series (and joint models) significant under Holm's procedure this tick.
    pub significant: usize,
    /// A critical metric significant on `critical_ticks` consecutive ticks.
    pub critical_breach: Option<SeriesId>,
    /// The earliest projected crossing of a metric's limit within the horizon.
    pub limit_breach: Option<LimitBreach>,
    /// The feature whose metrics move most with the anomaly.
    pub top_feature: Option<usize>,
    /// The strongest reasons, most significant first.
    pub contributors: Vec<Contributor>,
    /// Evidence gathered so far.
    pub evidence: Evidence,
}

impl RiskAssessment {
    /// Copies `other` into `self`, reusing `self`'s contributor buffer (the derived
    /// `clone_from` would allocate a new one every time).
    pub fn copy_from(&mut self, other: &RiskAssessment) {
        let RiskAssessment {
            risk,
            factors,
            predicted_risk,
            predicted_factors,
            horizon,
            min_p_value,
            adjusted_p_value,
            significant,
            critical_breach,
            limit_breach,
            top_feature,
            contributors,
            evidence,
        } = other;
        self.risk = *risk;
        self.factors = *factors;
        self.predicted_risk = *predicted_risk;
        self.predicted_factors = *predicted_factors;
        self.horizon = *horizon;
        self.min_p_value = *min_p_value;
        self.adjusted_p_value = *adjusted_p_value;
        self.significant = *significant;
        self.critical_breach = *critical_breach;
        self.limit_breach = *limit_breach;
        self.top_feature = *top_feature;
        self.evidence = *evidence;
        self.contributors.clear();
        self.contributors.extend_from_slice(contributors);
    }
}

/// Centred, exponentially weighted variance with a prior worth `prior_ticks`
/// observations; a constant offset moves the mean, not the variance.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct CentredScale {
    mean: f64,
    var: f64,
    n: u64,
}

impl CentredScale {
    /// The live estimate, worth `n − 1` observations, blended with a prior worth
    /// `prior_ticks`; and the degrees of freedom of the blend.
    fn variance(&self, prior: f64, prior_ticks: f64) -> (f64, f64) {
        let live = self.n.saturating_sub(1) as f64;
        let dof = prior_ticks + live;
        let var = (prior_ticks * prior + live * self.var) / dof.max(f64::MIN_POSITIVE);
        (var, dof.max(1.0))
    }

    fn absorb(&mut self, x: f64, alpha: f64) {
        self.n += 1;
        if self.n == 1 {
            self.mean = x;
            self.var = 0.0;
            return;
        }
        let a = alpha.max(1.0 / self.n as f64);
        let diff = x - self.mean;
        self.mean += a * diff;
        self.var = (1.0 - a) * (self.var + a * diff * diff);
    }
}

/// The noise scale of the canary-minus-control difference, from its first differences:
/// `σ² ≈ EW mean of (d_t − d_{t−1})² / 2`. A level shift (a canary bad from its first
/// tick, or a step fault later) moves one difference only — and that one is winsorised
/// once the scale is warm — so faults do not inflate the scale they are judged against.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
struct NoiseScale {
    last: f64,
    var: f64,
    /// Differences absorbed (observations minus one once started).
    k: u64,
    started: bool,
}

impl NoiseScale {
    /// The live estimate worth `k` differences blended with a prior worth
    /// `prior_ticks`, and the degrees of freedom of the blend.
    fn variance(&self, prior: f64, prior_ticks: f64) -> (f64, f64) {
        let live = self.k as f64;
        let dof = prior_ticks + live;
        let var = (prior_ticks * prior + live * self.var) / dof.max(f64::MIN_POSITIVE);
        (var, dof.max(1.0))
    }

    fn absorb(&mut self, d: f64, alpha: f64, prior: f64, prior_ticks: f64) {
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
            let a = alpha.max(1.0 / self.k as f64);
            self.var = (1.0 - a) * self.var + a * half_sq;
        }
        self.last = d;
        self.started = true;
    }
}

/// An exponentially weighted mean of unit-variance scores with its exact effective
/// sample size, so that `mean · sqrt(n_eff)` is again a unit-variance score: persistent
/// moderate deviations accumulate, single spikes are diluted.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
struct Accumulator {
    mean: f64,
    w1: f64,
    w2: f64,
    n: u64,
}

impl Accumulator {
    fn absorb(&mut self, z: f64, rate: f64) {
        self.n += 1;
        let a = rate.max(1.0 / self.n as f64);
        self.mean = (1.0 - a) * self.mean + a * z;
        self.w1 = (1.0 - a) * self.w1 + a;
        self.w2 = (1.0 - a) * (1.0 - a) * self.w2 + a * a;
    }

    fn score(&self) -> f64 {
        if self.w2 > 0.0 {
            self.mean * self.w1 / self.w2.sqrt()
        } else {
            0.0
        }
    }
}

/// Holt's linear smoothing of a series (level and slope per tick).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
struct Trend {
    level: f64,
    slope: f64,
    n: u64,
}

impl Trend {
    fn absorb(&mut self, x: f64, alpha: f64, beta: f64) {
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

    fn ahead(&self, h: f64) -> f64 {
        self.level + h * self.slope
    }
}

/// Live state of one (segment, metric).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SeriesState {
    detector: SeriesDetector,
    /// Prior variance of the canary-minus-control difference: twice the profile's
    /// one-step variance.
    prior_var: f64,
    sequential: SequentialTest,
    seq_p: f64,
    seq_e: f64,
    seq_mde: f64,
    seq_sd: f64,
    seq_sufficient: bool,
    seq_rejected: bool,
    noise: NoiseScale,
    window: Accumulator,
    harm: Trend,
    canary: Trend,
    paired: u64,
    /// This tick: whether both cohorts were observed; harmful net z, net z, z vs
    /// profile, p. (No NaN in the state: checkpoints are JSON, which has no NaN.)
    observed: bool,
    /// Consecutive ticks on which Holm found this series significant.
    significant_run: u32,
    /// Degrees of freedom of the noise scale at the last observation.
    dof: f64,
    harm_z: f64,
    net_z: f64,
    profile_z: f64,
    p: f64,
}

/// Live state of one segment's joint model.
///
/// The canary's joint anomaly is compared with the control's (`Δ = z_canary − z_control`,
/// the autoencoders' one-sided z-values). A smaller cohort is noisier and so looks
/// jointly more unusual than the control even when nothing is wrong; the first
/// `joint_warmup` paired ticks therefore set a baseline (mean and spread of `Δ`), and
/// the evidence afterwards is `Δ` standardised against that frozen baseline. Offsets
/// present from the very first tick are left to the per-metric tests.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct JointState {
    model: Autoencoder,
    baseline: CentredScale,
    /// This tick: net z, p, metric with the largest canary share (`usize::MAX` if none).
    z: f64,
    p: f64,
    top_metric: usize,
}

/// The per-rollout risk computation. See the [module documentation](self).
///
/// Deserialising validates the state against its schema and configuration (sizes,
/// ranges), so a restored engine is ready for its next tick.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "RiskEngineState")]
pub struct RiskEngine {
    /// Always `Some`; taken out for the duration of an update.
    #[serde(skip)]
    schema: Option<Schema>,
    schema_spec: crate::schema::SchemaSpec,
    config: RiskConfig,
    series: Vec<SeriesState>,
    joint: Vec<Option<JointState>>,
    persistence: f64,
    ticks: u64,
    /// Ring buffers for the feature correlation: total evidence and, per feature, net
    /// deviation.
    evidence_ring: Vec<f64>,
    feature_ring: Vec<f64>,
    ring_pos: usize,
    ring_len: usize,
    #[serde(skip)]
    scratch: Scratch,
    assessment: RiskAssessment,
}

/// The serialised form of a [`RiskEngine`], validated before it becomes one.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RiskEngineState {
    schema_spec: crate::schema::SchemaSpec,
    config: RiskConfig,
    series: Vec<SeriesState>,
    joint: Vec<Option<JointState>>,
    persistence: f64,
    ticks: u64,
    evidence_ring: Vec<f64>,
    feature_ring: Vec<f64>,
    ring_pos: usize,
    ring_len: usize,
    assessment: RiskAssessment,
}

impl TryFrom<RiskEngineState> for RiskEngine {
    type Error = Error;

    fn try_from(s: RiskEngineState) -> Result<Self, Error> {
        s.config.validate()?;
        let schema = Schema::new(s.schema_spec.clone())?;
        let (nm, ns, nf) = (schema.n_metrics(), schema.n_segments(), schema.n_features());
        let w = s.config.correlation_window;
        let lengths = [
            ("risk series states", nm * ns, s.series.len()),
            ("risk joint states", ns, s.joint.len()),
            ("risk evidence ring", w, s.evidence_ring.len()),
            ("risk feature ring", w * nf, s.feature_ring.len()),
        ];
        for (what, expected, got) in lengths {
            if expected != got {
                return Err(Error::LengthMismatch {
                    what,
                    expected,
                    got,
                });
            }
        }
        for j in s.joint.iter().flatten() {
            if j.model.dim() != nm {
                return Err(Error::LengthMismatch {
                    what: "joint model metrics",
                    expected: nm,
                    got: j.model.dim(),
                });
            }
        }
        for st in &s.series {
            if !(st.prior_var > 0.0 && st.prior_var.is_finite()) {
                return Err(Error::param(
                    "prior_var",
                    st.prior_var,
                    "must be finite and > 0",
                ));
            }
        }
        if s.ring_pos >= w || s.ring_len > w {
            return Err(Error::param(
                "ring_pos",
                s.ring_pos as f64,
                "the correlation ring's position and length must lie within its window",
            ));
        }
        if !(0.0..=1.0).contains(&s.persistence) {
            return Err(Error::param(
                "persistence",
                s.persistence,
                "must be in [0, 1]",
            ));
        }
        let most = s.config.max_contributors.max(1);
        if s.assessment.contributors.len() > most {
            return Err(Error::TooLarge {
                what: "assessment contributors",
                got: s.assessment.contributors.len(),
                limit: most,
            });
        }
        let mut assessment = RiskAssessment {
            contributors: Vec::with_capacity(s.config.max_contributors),
            ..RiskAssessment::default()
        };
        assessment.copy_from(&s.assessment);
        Ok(RiskEngine {
            scratch: Scratch::new(nm * ns, ns, nf),
            schema: Some(schema),
            schema_spec: s.schema_spec,
            config: s.config,
            series: s.series,
            joint: s.joint,
            persistence: s.persistence,
            ticks: s.ticks,
            evidence_ring: s.evidence_ring,
            feature_ring: s.feature_ring,
            ring_pos: s.ring_pos,
            ring_len: s.ring_len,
            assessment,
        })
    }
}

/// Preallocated per-tick buffers.
#[derive(Debug, Clone, Default)]
struct Scratch {
    /// (p, index) of every test of the tick; index < series is a series, else a joint
    /// model (index − series).
    tests: Vec<(f64, usize)>,
    significant: Vec<bool>,
    segment_crit: Vec<f64>,
    feature_sum: Vec<f64>,
    feature_count: Vec<f64>,
    predicted: Vec<(f64, usize)>,
}

impl Scratch {
    fn new(series: usize, segments: usize, features: usize) -> Self {
        Scratch {
            tests: Vec::with_capacity(series + segments),
            significant: vec![false; series + segments],
            segment_crit: vec![0.0; segments],
            feature_sum: vec![0.0; features],
            feature_count: vec![0.0; features],
            predicted: Vec::with_capacity(series + segments),
        }
    }
}

/// The p-value of a deviation already turned in the harmful direction, under Student's
/// t with `dof` degrees of freedom: one-sided for directed metrics, two-sided for `Any`.
fn harm_p(direction: Direction, harm: f64, dof: f64) -> f64 {
    match direction {
        Direction::Any => stats::student_t_two_sided(harm, dof),
        _ => stats::student_t_upper(harm, dof),
    }
}

/// The harmful part of a net deviation (`|z|` for `Any`, `±z` for directed metrics)
/// and its p-value.
fn harmful_p(direction: Direction, z: f64, dof: f64) -> (f64, f64) {
    let h = match direction {
        Direction::Any => z.abs(),
        d => d.sign() * z,
    };
    (h, harm_p(direction, h, dof))
}

impl RiskEngine {
    /// Starts following a rollout from `profile`.
    pub fn new(profile: &BehaviorProfile, config: RiskConfig) -> Result<Self, Error> {
        config.validate()?;
        let schema = profile.schema()?;
        let (nm, ns, nf) = (schema.n_metrics(), schema.n_segments(), schema.n_features());
        let mut series = Vec::with_capacity(nm * ns);
        for s in 0..ns {
            for m in 0..nm {
                // A profile's sizes were checked against its schema when it was built
                // or read.
                let p = profile.series(s, m).ok_or(Error::Internal {
                    reason: "profile without a series of its schema",
                })?;
                let sd = p.detector.residual_scale().max(1e-9 * (1.0 + p.scale));
                let sequential = SequentialTest::new(SequentialConfig {
                    alpha: config.sequential_alpha / (nm * ns) as f64,
                    direction: schema.metric(m).direction,
                    ..SequentialConfig::with_reference_sd(
                        config.sequential_tau * std::f64::consts::SQRT_2 * sd,
                    )
                })?;
                series.push(SeriesState {
                    detector: p.detector.clone(),
                    prior_var: 2.0 * sd * sd,
                    sequential,
                    seq_p: 1.0,
                    seq_e: 1.0,
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
                });
            }
        }
        let joint = profile
            .segments()
            .iter()
            .map(|seg| {
                seg.autoencoder.clone().map(|model| JointState {
                    model,
                    baseline: CentredScale {
                        mean: 0.0,
                        var: 0.0,
                        n: 0,
                    },
                    z: 0.0,
                    p: 1.0,
                    top_metric: usize::MAX,
                })
            })
            .collect();
        let w = config.correlation_window;
        let assessment = RiskAssessment {
            contributors: Vec::with_capacity(config.max_contributors),
            horizon: config.horizon,
            ..RiskAssessment::default()
        };
        Ok(RiskEngine {
            scratch: Scratch::new(nm * ns, ns, nf),
            schema_spec: schema.spec().clone(),
            schema: Some(schema),
            config,
            series,
            joint,
            persistence: 0.0,
            ticks: 0,
            evidence_ring: vec![0.0; w],
            feature_ring: vec![0.0; w * nf],
            ring_pos: 0,
            ring_len: 0,
            assessment,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &RiskConfig {
        &self.config
    }

    /// The schema description the engine follows.
    pub fn schema_spec(&self) -> &crate::schema::SchemaSpec {
        &self.schema_spec
    }

    /// Series `i`'s detector (fed the control cohort) and the canary's smoothed level,
    /// if the canary was observed; `None` beyond the last series.
    pub(crate) fn series_state(&self, i: usize) -> Option<(&SeriesDetector, Option<f64>)> {
        let st = self.series.get(i)?;
        Some((&st.detector, (st.canary.n > 0).then_some(st.canary.level)))
    }

    /// Ticks assessed.
    pub fn ticks(&self) -> u64 {
        self.ticks
    }

    /// The last assessment.
    pub fn last(&self) -> &RiskAssessment {
        &self.assessment
    }

    /// Checks a tick without changing anything.
    fn check(&self, schema: &Schema, cohort: &'static str, values: &[f64]) -> Result<(), Error> {
        if values.len() != schema.tick_len() {
            return Err(Error::LengthMismatch {
                what: cohort,
                expected: schema.tick_len(),
                got: values.len(),
            });
        }
        let nm = schema.n_metrics();
        for (i, &v) in values.iter().enumerate() {
            if !v.is_nan() {
                Error::check_value(cohort, v)?;
                schema.metric(i % nm).kind.check(v)?;
            }
        }
        Ok(())
    }

    /// Assesses one tick: `control[s * n_metrics + m]` and `canary[...]`, NaN for a
    /// missing value.
    ///
    /// Missing data policy: a series missing in the control cohort advances its
    /// detector without learning; a series missing in either cohort contributes no
    /// evidence this tick and is counted in [`Evidence::missing`]; a segment's joint
    /// model is skipped when any of its metrics is missing. Wrong lengths, infinite
    /// values and values impossible for a metric's kind are errors that leave the
    /// engine unchanged.
    pub fn assess(&mut self, control: &[f64], canary: &[f64]) -> Result<&RiskAssessment, Error> {
        let Some(schema) = self.schema.take() else {
            return Err(Error::Internal {
                reason: "risk engine without a schema",
            });
        };
        let checked = self
            .check(&schema, "control tick", control)
            .and_then(|()| self.check(&schema, "canary tick", canary));
        let result = checked.map(|()| self.update(&schema, control, canary));
        self.schema = Some(schema);
        result.map(|()| &self.assessment)
    }

    fn update(&mut self, schema: &Schema, control: &[f64], canary: &[f64]) {
        let cfg = self.config;
        let (nm, ns, nf) = (schema.n_metrics(), schema.n_segments(), schema.n_features());
        let n_series = nm * ns;
        self.ticks += 1;
        let sc = &mut self.scratch;
        sc.tests.clear();
        let mut evidence = Evidence {
            ticks: self.ticks,
            min_paired_ticks: u64::MAX,
            ..Evidence::default()
        };

        // 1-3: per-series deviations.
        for (i, st) in self.series.iter_mut().enumerate() {
            let metric = schema.metric(i % nm);
            let (yb, yc) = (control[i], canary[i]);
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
            if yb.is_nan() || yc.is_nan() {
                evidence.missing += 1;
                evidence.min_paired_ticks = evidence.min_paired_ticks.min(st.paired);
                continue;
            }
            evidence.observed += 1;
            let d = yc - yb;
            let (var, dof) = st.noise.variance(st.prior_var, cfg.prior_ticks);
            st.net_z = (d / var.max(1e-300).sqrt()).clamp(-1e12, 1e12);
            st.noise
                .absorb(d, cfg.difference_alpha, st.prior_var, cfg.prior_ticks);
            if let Ok(q) = st.sequential.observe(d) {
                st.seq_p = q.p_value;
                st.seq_e = q.e_value.min(f64::MAX);
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
            let (h, p_tick) = harmful_p(metric.direction, st.net_z, dof);
            let (_, p_window) = harmful_p(metric.direction, st.window.score(), dof);
            let p = (2.0 * p_tick.min(p_window)).min(1.0);
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
            sc.tests.push((p, i));
        }
        if evidence.min_paired_ticks == u64::MAX {
            evidence.min_paired_ticks = 0;
        }
        evidence.max_detectable_effect = 0.0;
        evidence.sufficient = evidence.observed > 0;
        for st in self.series.iter().filter(|st| st.observed) {
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

        // Joint behaviour per segment, net of the control's own joint anomaly.
        for (s, joint) in self.joint.iter_mut().enumerate() {
            let Some(j) = joint else { continue };
            j.p = 1.0;
            j.top_metric = usize::MAX;
            let (b, c) = (
                &control[s * nm..(s + 1) * nm],
                &canary[s * nm..(s + 1) * nm],
            );
            if b.iter().chain(c).any(|v| v.is_nan()) {
                continue;
            }
            let (Ok(ac), top) = (j.model.observe(c), argmax(j.model.shares())) else {
                continue;
            };
            let Ok(ab) = j.model.observe(b) else { continue };
            let delta = ac.deviation - ab.deviation;
            if j.baseline.n < cfg.joint_warmup {
                // Equal weights over the warm-up: a plain mean and variance.
                j.baseline.absorb(delta, 0.0);
                j.z = 0.0;
                continue;
            }
            let (var, dof) = j.baseline.variance(1.0, 0.0);
            j.z = ((delta - j.baseline.mean) / var.max(1e-12).sqrt()).clamp(-1e12, 1e12);
            j.p = stats::student_t_upper(j.z, dof);
            j.top_metric = top;
            sc.tests.push((j.p, n_series + s));
        }

        // 4: Holm's step-down over the tick's family; Bonferroni-adjusted minimum.
        let k = sc.tests.len();
        sc.tests
            .sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        sc.significant.iter_mut().for_each(|x| *x = false);
        let mut significant = 0;
        for (rank, &(p, idx)) in sc.tests.iter().enumerate() {
            if p <= cfg.significance / (k - rank) as f64 {
                sc.significant[idx] = true;
                significant += 1;
            } else {
                break;
            }
        }
        let min_p = sc.tests.first().map_or(1.0, |t| t.0);
        let adjusted = (min_p * k.max(1) as f64).min(1.0);
        let severity = severity_of(adjusted, cfg.severity_saturation);

        // 5: persistence.
        let any = significant > 0;
        self.persistence = (1.0 - cfg.persistence_rate) * self.persistence
            + cfg.persistence_rate * any as u8 as f64;

        // A critical metric breaches when it stays significant for `critical_ticks`
        // consecutive ticks: one tick is a 1-in-100 event under the per-tick family.
        let mut critical_breach = None;
        for (i, st) in self.series.iter_mut().enumerate() {
            st.significant_run = if sc.significant[i] {
                st.significant_run.saturating_add(1)
            } else {
                0
            };
            if critical_breach.is_none()
                && st.significant_run >= cfg.critical_ticks
                && schema.metric(i % nm).critical
            {
                critical_breach = Some(SeriesId {
                    segment: i / nm,
                    metric: i % nm,
                });
            }
        }

        // 6: impacted segment weight.
        sc.segment_crit.iter_mut().for_each(|x| *x = 0.0);
        for &(_, idx) in sc.tests.iter().take(significant) {
            let (s, m) = if idx < n_series {
                (idx / nm, idx % nm)
            } else {
                let s = idx - n_series;
                let top = self.joint[s].as_ref().map_or(usize::MAX, |j| j.top_metric);
                (s, top)
            };
            if m < nm {
                sc.segment_crit[s] = sc.segment_crit[s].max(schema.criticality(m));
            }
        }
        let segment_weight: f64 = (0..ns)
            .map(|s| schema.segment_share(s) * sc.segment_crit[s])
            .sum::<f64>()
            .min(1.0);

        // 7: feature correlation over the recent window.
        let w = cfg.correlation_window;
        let total_evidence: f64 = self
            .series
            .iter()
            .filter(|st| st.observed)
            .map(|st| st.harm_z.max(0.0))
            .sum();
        sc.feature_sum.iter_mut().for_each(|x| *x = 0.0);
        sc.feature_count.iter_mut().for_each(|x| *x = 0.0);
        for (i, st) in self.series.iter().enumerate() {
            if let (Some(f), false) = (schema.metric_feature(i % nm), !st.observed) {
                let share = schema.segment_share(i / nm);
                sc.feature_sum[f] += share * st.net_z;
                sc.feature_count[f] += share;
            }
        }
        self.evidence_ring[self.ring_pos] = total_evidence;
        for f in 0..nf {
            let c = sc.feature_count[f];
            self.feature_ring[f * w + self.ring_pos] =
                if c > 0.0 { sc.feature_sum[f] / c } else { 0.0 };
        }
        self.ring_pos = (self.ring_pos + 1) % w;
        self.ring_len = (self.ring_len + 1).min(w);
        let (mut feature_correlation, mut top_feature) = (0.0, None);
        if self.ring_len >= 4 {
            for f in 0..nf {
                let r = pearson(
                    &self.evidence_ring[..self.ring_len],
                    &self.feature_ring[f * w..f * w + self.ring_len],
                )
                .abs();
                if r > feature_correlation {
                    feature_correlation = r;
                    top_feature = Some(f);
                }
            }
        }

        let factors = RiskFactors {
            severity,
            persistence: self.persistence,
            segment_weight,
            feature_correlation,
        };

        // Prediction: each series' harmful net deviation projected by its trend, and
        // limits crossed at the canary's current slope.
        let h = cfg.horizon as f64;
        sc.predicted.clear();
        let mut limit_breach: Option<LimitBreach> = None;
        for (i, st) in self.series.iter().enumerate() {
            // A slope from a handful of ticks is noise: project only after a few.
            if st.harm.n < 5 {
                continue;
            }
            let metric = schema.metric(i % nm);
            let zh = st.harm.ahead(h);
            let ph = harm_p(metric.direction, zh, st.dof);
            sc.predicted.push((ph.min(st.p), i));
            if let Some(limit) = metric.limit {
                let gap = limit - st.canary.level;
                let slope = st.canary.slope;
                let towards = match metric.direction {
                    Direction::DecreaseIsBad => gap < 0.0 && slope < 0.0,
                    _ => gap > 0.0 && slope > 0.0,
                };
                let already = match metric.direction {
                    Direction::DecreaseIsBad => gap >= 0.0,
                    _ => gap <= 0.0,
                };
                let eta = if already {
                    Some(0.0)
                } else if towards {
                    Some(gap / slope)
                } else {
                    None
                };
                if let Some(eta) = eta.filter(|&e| e <= h) {
                    if limit_breach.is_none_or(|b| eta < b.ticks_ahead) {
                        limit_breach = Some(LimitBreach {
                            segment: i / nm,
                            metric: i % nm,
                            ticks_ahead: eta,
                        });
                    }
                }
            }
        }
        for (s, j) in self.joint.iter().enumerate() {
            if let Some(j) = j {
                sc.predicted.push((j.p, n_series + s));
            }
        }
        let kp = sc.predicted.len().max(1) as f64;
        let pred_min = sc.predicted.iter().map(|t| t.0).fold(1.0, f64::min);
        let mut predicted_severity = severity_of((pred_min * kp).min(1.0), cfg.severity_saturation);
        let predicted_significant = pred_min * kp <= cfg.significance;
        let mut predicted_segment_weight = segment_weight;
        if let Some(LimitBreach {
            segment: s,
            metric: m,
            ..
        }) = limit_breach
        {
            predicted_severity = 1.0;
            predicted_segment_weight =
                predicted_segment_weight.max(schema.segment_share(s) * schema.criticality(m));
        }
        let decay = (1.0 - cfg.persistence_rate).powf(h);
        let predicted_persistence = if predicted_significant || limit_breach.is_some() {
            self.persistence + (1.0 - self.persistence) * (1.0 - decay)
        } else {
            self.persistence * decay
        };
        let predicted_factors = RiskFactors {
            severity: predicted_severity.max(severity),
            persistence: predicted_persistence,
            segment_weight: predicted_segment_weight,
            feature_correlation,
        };

        // Contributors: the most significant tests of the tick, then a limit breach.
        let a = &mut self.assessment;
        a.contributors.clear();
        for &(p, idx) in sc.tests.iter().take(cfg.max_contributors) {
            let c = if idx < n_series {
                let st = &self.series[idx];
                Contributor {
                    source: Source::Metric,
                    segment: idx / nm,
                    metric: idx % nm,
                    feature: schema.metric_feature(idx % nm),
                    deviation: st.net_z,
                    deviation_vs_profile: st.profile_z,
                    p_value: p,
                    significant: sc.significant[idx],
                    e_value: st.seq_e,
                    always_valid_p: st.seq_p,
                }
            } else {
                let s = idx - n_series;
                let Some(j) = &self.joint[s] else { continue };
                let m = j.top_metric.min(nm - 1);
                Contributor {
                    source: Source::Joint,
                    segment: s,
                    metric: m,
                    feature: schema.metric_feature(m),
                    deviation: j.z,
                    deviation_vs_profile: self.series[s * nm + m].profile_z,
                    p_value: p,
                    significant: sc.significant[idx],
                    e_value: 1.0,
                    always_valid_p: 1.0,
                }
            };
            a.contributors.push(c);
        }
        if let Some(LimitBreach {
            segment: s,
            metric: m,
            ..
        }) = limit_breach
        {
            // The limit contributor takes the last place when the list is full.
            if a.contributors.len() >= cfg.max_contributors {
                a.contributors.pop();
            }
            let st = &self.series[s * nm + m];
            a.contributors.push(Contributor {
                source: Source::Limit,
                segment: s,
                metric: m,
                feature: schema.metric_feature(m),
                deviation: st.net_z,
                deviation_vs_profile: st.profile_z,
                p_value: st.p,
                significant: sc.significant[s * nm + m],
                e_value: st.seq_e,
                always_valid_p: st.seq_p,
            });
        }
        a.factors = factors;
        a.risk = cfg.scorer.score(&factors);
        a.predicted_factors = predicted_factors;
        a.predicted_risk = cfg.scorer.score(&predicted_factors).max(a.risk);
        a.horizon = cfg.horizon;
        a.min_p_value = min_p;
        a.adjusted_p_value = adjusted;
        a.significant = significant;
        a.critical_breach = critical_breach;
        a.limit_breach = limit_breach;
        a.top_feature = top_feature.filter(|_| feature_correlation > 0.0);
        a.evidence = evidence;
    }
}

fn severity_of(adjusted_p: f64, saturation: f64) -> f64 {
    (-adjusted_p.max(1e-300).log10() / saturation).clamp(0.0, 1.0)
}

fn argmax(xs: &[f64]) -> usize {
    let mut best = 0;
    for (i, &x) in xs.iter().enumerate() {
        if x > xs[best] {
            best = i;
        }
    }
    best
}

/// Pearson correlation; 0 when either side is constant.
fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len().min(y.len()) as f64;
    if n < 2.0 {
        return 0.0;
    }
    let mx = x.iter().sum::<f64>() / n;
    let my = y.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    if sxx <= 0.0 || syy <= 0.0 {
        return 0.0;
    }
    (sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_formula_is_exact() {
        let f = RiskFactors {
            severity: 0.7,
            persistence: 0.5,
            segment_weight: 0.4,
            feature_correlation: 0.25,
        };
        assert_eq!(SeedScorer.score(&f), 0.7 * 0.5 + 0.4 * 0.25);
        assert_eq!(Scorer::Seed.score(&f), SeedScorer.score(&f));
        assert_eq!(PersistentScorer.score(&f), 0.5 * (0.7 + 0.4 * 0.25));
        assert_eq!(Scorer::Persistent.score(&f), PersistentScorer.score(&f));
        // One tick of a spike: no persistence yet, no risk from the persistent scorer.
        let spike = RiskFactors {
            severity: 1.0,
            persistence: 0.0,
            segment_weight: 1.0,
            feature_correlation: 1.0,
        };
        assert_eq!(PersistentScorer.score(&spike), 0.0);
        assert_eq!(SeedScorer.score(&spike), 1.0);
        let zero = RiskFactors::default();
        assert_eq!(SeedScorer.score(&zero), 0.0);
        let one = RiskFactors {
            severity: 1.0,
            persistence: 1.0,
            segment_weight: 1.0,
            feature_correlation: 1.0,
        };
        assert_eq!(SeedScorer.score(&one), 2.0);
    }

    #[test]
    fn severity_maps_adjusted_p_values() {
        assert_eq!(severity_of(1.0, 8.0), 0.0);
        assert!((severity_of(1e-4, 8.0) - 0.5).abs() < 1e-12);
        assert_eq!(severity_of(1e-12, 8.0), 1.0);
        assert_eq!(severity_of(0.0, 8.0), 1.0);
    }

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

    #[test]
    fn pearson_is_bounded_and_zero_for_constants() {
        assert!((pearson(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.0]) - 1.0).abs() < 1e-12);
        assert!((pearson(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        assert_eq!(pearson(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]), 0.0);
    }
}
