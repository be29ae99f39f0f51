//! Stage 4 of the pipeline, risk: from per-tick deviations to one explainable risk
//! score.
//!
//! A [`RiskEngine`] follows one rollout. Every tick it receives the control cohort's and
//! the canary cohort's values (dense `segments × metrics` slices, NaN for missing) and
//! returns a [`RiskAssessment`]: the seed's four factors, the risk, a prediction of where
//! the risk is heading, and the contributors behind it. The mathematics is in
//! `docs/algorithms.md`. [`RiskEngine::assess`] runs these stages in order, each a
//! function that takes what it needs explicitly:
//!
//! 1. **Deviations net of control** (`series.rs`): per (segment, metric), the profile's
//!    detector follows the control cohort; the canary-minus-control difference is
//!    standardised by its own noise scale (from first differences, seeded from the
//!    profile), and this tick's z and the accumulated z give a harmful-direction
//!    p-value. Each series' sequential test says whether the evidence so far is
//!    sufficient.
//! 2. **Joint behaviour** (`joint.rs`): each segment's autoencoder, the canary's
//!    anomaly net of the control's, against a baseline set over the first ticks.
//! 3. **The family** (`family.rs`): the tick's p-values as one family; Holm's
//!    step-down procedure decides which are significant, the Bonferroni-adjusted
//!    minimum sets the severity.
//! 4. **Persistence** (`family.rs`): an exponentially weighted share of significant
//!    ticks; critical metrics significant on consecutive ticks are a breach.
//! 5. **Segment weight** (`weight.rs`): the weight of the segments the significant
//!    anomalies touch, scaled by criticality.
//! 6. **Feature correlation** (`weight.rs`): how the tick's evidence moves with each
//!    feature's metrics over a recent window.
//! 7. **Prediction** (`predict.rs`): trends projected `horizon` ticks ahead, limits the
//!    canary is heading for.
//! 8. **Contributors** (`assessment.rs`): the strongest reasons, most significant
//!    first; the scorer (`scorer.rs`) turns the factors into the risk.

use serde::{Deserialize, Serialize};

use self::joint::JointState;
use self::series::{Pooled, SeriesState, Weights};
use self::weight::FeatureWindow;
use crate::Error;
use crate::compare::{SequentialConfig, SequentialTest};
use crate::profile::{BehaviorProfile, SeriesDetector};
use crate::schema::{Schema, SchemaSpec};

mod assessment;
mod evidence;
mod family;
mod joint;
mod predict;
mod scorer;
mod series;
mod weight;

pub use assessment::{Contributor, Evidence, LimitBreach, RiskAssessment, Source};
pub use scorer::{PersistentScorer, RiskFactors, RiskScorer, Scorer, SeedScorer};

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
    /// Prediction horizon in seconds: when set and the tick interval is known, it
    /// replaces `horizon` (at least one tick). See
    /// [`crate::analysis::AnalysisConfig::at_interval`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub horizon_seconds: Option<f64>,
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
    /// Family-wise level of the accumulated evidence (Bonferroni over series, valid
    /// over the whole rollout however long): at this level the evidence factor
    /// reaches 1, which puts the risk at or above 1.
    pub evidence_alpha: f64,
    /// A pause clears only while no series' resume CUSUM exceeds
    /// `ln(series / resume_alpha)` nats: the data since the latest plausible onset no
    /// longer favour harm.
    pub resume_alpha: f64,
}

impl Default for RiskConfig {
    fn default() -> Self {
        RiskConfig {
            significance: 0.01,
            severity_saturation: 6.0,
            persistence_rate: 0.25,
            correlation_window: 12,
            horizon: 10,
            horizon_seconds: None,
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
            evidence_alpha: 0.01,
            resume_alpha: 0.1,
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
        for (name, v) in [
            ("evidence_alpha", self.evidence_alpha),
            ("resume_alpha", self.resume_alpha),
        ] {
            if !(v > 0.0 && v < 1.0) {
                return Err(Error::param(name, v, "must be in (0, 1)"));
            }
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
        crate::duration::check_seconds("horizon_seconds", self.horizon_seconds)?;
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

/// The per-rollout risk computation. See the [module documentation](self).
///
/// Deserialising validates the state against its schema and configuration (sizes,
/// ranges), so a restored engine is ready for its next tick.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "RiskEngineState")]
pub struct RiskEngine {
    /// The schema resolved from `schema_spec` (not stored: it is derived).
    #[serde(skip)]
    schema: Schema,
    schema_spec: SchemaSpec,
    config: RiskConfig,
    series: Vec<SeriesState>,
    /// Per metric, the evidence pooled across segments.
    pooled: Vec<Pooled>,
    joint: Vec<Option<JointState>>,
    persistence: f64,
    ticks: u64,
    /// The feature correlation's recent window, stored flat.
    #[serde(flatten)]
    window: FeatureWindow,
    #[serde(skip)]
    scratch: Scratch,
    assessment: RiskAssessment,
}

/// The serialised form of a [`RiskEngine`], validated before it becomes one.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RiskEngineState {
    schema_spec: SchemaSpec,
    config: RiskConfig,
    series: Vec<SeriesState>,
    pooled: Vec<Pooled>,
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
            ("risk pooled states", nm, s.pooled.len()),
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
            schema,
            schema_spec: s.schema_spec,
            config: s.config,
            series: s.series,
            pooled: s.pooled,
            joint: s.joint,
            persistence: s.persistence,
            ticks: s.ticks,
            window: FeatureWindow {
                evidence_ring: s.evidence_ring,
                feature_ring: s.feature_ring,
                ring_pos: s.ring_pos,
                ring_len: s.ring_len,
            },
            assessment,
        })
    }
}

/// One tick's cohorts as the risk engine reads them ([`RiskEngine::assess_cohorts`]).
#[derive(Debug, Clone, Copy)]
pub struct Cohorts<'a> {
    /// The control cohort's values, `[s * n_metrics + m]`, NaN for missing.
    pub control: &'a [f64],
    /// The canary cohort's values.
    pub canary: &'a [f64],
    /// Optional counts behind the control's values (NaN = unknown, 0 = missing).
    pub control_counts: Option<&'a [f64]>,
    /// Optional counts behind the canary's values.
    pub canary_counts: Option<&'a [f64]>,
    /// The canary's share of traffic during the tick, NaN when unknown.
    pub canary_share: f64,
}

/// Preallocated per-tick buffers.
#[derive(Debug, Clone, Default)]
struct Scratch {
    /// (p, index) of every test of the tick; index < series is a series, else a joint
    /// model (index − series). Sorted by the family stage.
    tests: Vec<(f64, usize)>,
    /// Per test index, whether Holm found it significant this tick.
    significant: Vec<bool>,
    segment_crit: Vec<f64>,
    feature_sum: Vec<f64>,
    feature_count: Vec<f64>,
    predicted: Vec<(f64, usize)>,
    /// The tick's values with those resting on a count of 0 made missing.
    control: Vec<f64>,
    canary: Vec<f64>,
}

impl Scratch {
    fn new(series: usize, segments: usize, features: usize) -> Self {
        Scratch {
            control: Vec::with_capacity(series),
            canary: Vec::with_capacity(series),
            tests: Vec::with_capacity(series + segments),
            significant: vec![false; series + segments],
            segment_crit: vec![0.0; segments],
            feature_sum: vec![0.0; features],
            feature_count: vec![0.0; features],
            predicted: Vec::with_capacity(series + segments),
        }
    }
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
                series.push(SeriesState::new(
                    p.detector.clone(),
                    2.0 * sd * sd,
                    sequential,
                ));
            }
        }
        let joint = profile
            .segments()
            .iter()
            .map(|seg| seg.autoencoder.clone().map(JointState::new))
            .collect();
        let assessment = RiskAssessment {
            contributors: Vec::with_capacity(config.max_contributors),
            horizon: config.horizon,
            ..RiskAssessment::default()
        };
        Ok(RiskEngine {
            scratch: Scratch::new(nm * ns, ns, nf),
            schema_spec: schema.spec().clone(),
            schema,
            config,
            series,
            pooled: vec![Pooled::default(); nm],
            joint,
            persistence: 0.0,
            ticks: 0,
            window: FeatureWindow::new(config.correlation_window, nf),
            assessment,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &RiskConfig {
        &self.config
    }

    /// The schema description the engine follows.
    pub fn schema_spec(&self) -> &SchemaSpec {
        &self.schema_spec
    }

    /// Series `i`'s detector (fed the control cohort) and the canary's smoothed level,
    /// if the canary was observed; `None` beyond the last series.
    pub(crate) fn series_state(&self, i: usize) -> Option<(&SeriesDetector, Option<f64>)> {
        let st = self.series.get(i)?;
        Some((&st.detector, (st.canary.n > 0).then_some(st.canary.level)))
    }

    /// Per series in tick layout order, the ticks on which it was observed in both
    /// cohorts.
    pub(crate) fn paired_ticks(&self) -> impl Iterator<Item = u64> + '_ {
        self.series.iter().map(|st| st.paired)
    }

    /// Ticks assessed.
    pub fn ticks(&self) -> u64 {
        self.ticks
    }

    /// The last assessment.
    pub fn last(&self) -> &RiskAssessment {
        &self.assessment
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
        self.assess_with_counts(control, canary, None, None)
    }

    /// [`RiskEngine::assess_with_counts`] knowing also the canary's share of traffic
    /// during the tick (NaN when unknown): without counts, the share gives the
    /// proportion of the cohort sizes behind each difference.
    pub fn assess_cohorts(&mut self, c: &Cohorts<'_>) -> Result<&RiskAssessment, Error> {
        self.check_cohorts(c)?;
        Ok(self.assess_checked(c))
    }

    /// [`RiskEngine::assess_cohorts`] for a tick [`RiskEngine::check_cohorts`]
    /// accepted.
    pub(crate) fn assess_checked(&mut self, c: &Cohorts<'_>) -> &RiskAssessment {
        let weights = Weights {
            control: c.control,
            canary: c.canary,
            control_counts: c.control_counts,
            canary_counts: c.canary_counts,
            canary_share: c.canary_share,
        };
        if c.control_counts.is_none() && c.canary_counts.is_none() {
            self.update(&weights);
        } else {
            // The stages see a value resting on no observation as missing; the
            // buffers are taken out for the tick so that `update` can borrow the
            // engine whole.
            let mut control = std::mem::take(&mut self.scratch.control);
            let mut canary = std::mem::take(&mut self.scratch.canary);
            mask(&mut control, c.control, c.control_counts);
            mask(&mut canary, c.canary, c.canary_counts);
            self.update(&Weights {
                control: &control,
                canary: &canary,
                ..weights
            });
            self.scratch.control = control;
            self.scratch.canary = canary;
        }
        &self.assessment
    }

    /// Checks a tick without changing anything: what [`RiskEngine::assess_cohorts`]
    /// refuses, and nothing else (a batch checks every tick before it applies any).
    pub(crate) fn check_cohorts(&self, c: &Cohorts<'_>) -> Result<(), Error> {
        check(&self.schema, "control tick", c.control)?;
        check(&self.schema, "canary tick", c.canary)?;
        check_counts(&self.schema, "control counts", c.control_counts)?;
        check_counts(&self.schema, "canary counts", c.canary_counts)
    }

    /// [`RiskEngine::assess`] with, optionally, the count behind each value of each
    /// cohort (same layout as the values; NaN = unknown). A value whose count is 0 is
    /// treated as missing. Counts of the wrong length ([`Error::LengthMismatch`]) or
    /// negative, infinite or beyond [`crate::MAX_ABS_VALUE`] ([`Error::InvalidCount`])
    /// are errors that leave the engine unchanged.
    pub fn assess_with_counts(
        &mut self,
        control: &[f64],
        canary: &[f64],
        control_counts: Option<&[f64]>,
        canary_counts: Option<&[f64]>,
    ) -> Result<&RiskAssessment, Error> {
        self.assess_cohorts(&Cohorts {
            control,
            canary,
            control_counts,
            canary_counts,
            canary_share: f64::NAN,
        })
    }

    /// One tick through the stages of the [module documentation](self), in order.
    fn update(&mut self, weights: &Weights) {
        let (control, canary) = (weights.control, weights.canary);
        let (schema, cfg, sc) = (&self.schema, &self.config, &mut self.scratch);
        self.ticks += 1;
        sc.tests.clear();
        let series = &mut self.series;
        let mut evidence =
            series::deviations(schema, cfg, series, weights, self.ticks, &mut sc.tests);
        series::sufficiency(cfg, series, &mut evidence);
        series::pool(schema, cfg, series, &mut self.pooled);
        let accumulated = series::accumulated(schema, cfg, series, &self.pooled, &mut evidence);
        joint::deviations(
            cfg,
            &mut self.joint,
            schema.n_metrics(),
            control,
            canary,
            &mut sc.tests,
        );
        let family = family::holm(
            cfg,
            &mut sc.tests,
            &mut sc.significant,
            cfg.max_contributors,
        );
        self.persistence = family::persistence(
            self.persistence,
            cfg.persistence_rate,
            family.significant > 0,
        );
        let critical_breach = family::critical_breach(schema, cfg, series, &sc.significant);
        let significant_tests = &sc.tests[..family.significant];
        let segment_weight =
            weight::segment_weight(schema, &self.joint, significant_tests, &mut sc.segment_crit);
        let (feature_correlation, top_feature) = self.window.feature_correlation(
            schema,
            series,
            &mut sc.feature_sum,
            &mut sc.feature_count,
        );
        // Accumulated evidence carries its own persistence: confirmed at
        // `evidence_alpha`, both factors are 1.
        let factors = RiskFactors {
            severity: family.severity.max(accumulated),
            persistence: self.persistence.max(accumulated),
            segment_weight,
            feature_correlation,
        };
        let prediction = predict::predict(
            schema,
            cfg,
            series,
            &self.joint,
            &factors,
            &mut sc.predicted,
        );
        let a = &mut self.assessment;
        let tests = assessment::Tests {
            sorted: &sc.tests,
            significant: &sc.significant,
        };
        assessment::explain(
            schema,
            cfg.max_contributors,
            series,
            &self.joint,
            tests,
            prediction.limit_breach,
            &mut a.contributors,
        );
        a.factors = factors;
        a.risk = cfg.scorer.score(&factors);
        a.predicted_factors = prediction.factors;
        a.predicted_risk = cfg.scorer.score(&prediction.factors).max(a.risk);
        a.horizon = cfg.horizon;
        a.min_p_value = family.min_p;
        a.adjusted_p_value = family.adjusted;
        a.significant = family.significant;
        a.critical_breach = critical_breach;
        a.limit_breach = prediction.limit_breach;
        a.top_feature = top_feature.filter(|_| feature_correlation > 0.0);
        a.evidence = evidence;
    }
}

/// Checks a tick's values without changing anything: the length, finiteness and
/// magnitude, and each metric's kind (NaN is a missing value, not an error).
fn check(schema: &Schema, cohort: &'static str, values: &[f64]) -> Result<(), Error> {
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

/// Checks a cohort's counts without changing anything: the length, and each count NaN
/// (unknown) or finite, `>= 0` and at most [`crate::MAX_ABS_VALUE`].
fn check_counts(
    schema: &Schema,
    cohort: &'static str,
    counts: Option<&[f64]>,
) -> Result<(), Error> {
    let Some(counts) = counts else {
        return Ok(());
    };
    if counts.len() != schema.tick_len() {
        return Err(Error::LengthMismatch {
            what: cohort,
            expected: schema.tick_len(),
            got: counts.len(),
        });
    }
    for (index, &value) in counts.iter().enumerate() {
        if !(value.is_nan() || (0.0..=crate::MAX_ABS_VALUE).contains(&value)) {
            return Err(Error::InvalidCount {
                what: cohort,
                index,
                value,
            });
        }
    }
    Ok(())
}

/// Copies `values` into `out` (whose capacity is the tick's length: no allocation),
/// with every value whose count is 0 made missing.
fn mask(out: &mut Vec<f64>, values: &[f64], counts: Option<&[f64]>) {
    out.clear();
    match counts {
        None => out.extend_from_slice(values),
        Some(n) => out.extend(
            values
                .iter()
                .zip(n)
                .map(|(&v, &n)| if n == 0.0 { f64::NAN } else { v }),
        ),
    }
}
