//! What an assessment says: the risk and its factors, the evidence gathered, and the
//! contributors that explain it; and the last stage, which names those contributors.

use serde::{Deserialize, Serialize};

use super::joint::JointState;
use super::scorer::RiskFactors;
use super::series::SeriesState;
use crate::schema::{Schema, SeriesId};

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
    /// The Bonferroni-adjusted smallest anytime-valid p-value of harm accumulated
    /// over the rollout (restarting wherever a fault may begin), over all series.
    pub accumulated_p: f64,
    /// `accumulated_p` reached the risk configuration's `evidence_alpha`: harm is
    /// confirmed family-wise, at a level that holds however long the rollout runs.
    /// The policy rolls back only on confirmed harm (unless told otherwise).
    #[serde(default)]
    pub confirmed: bool,
    /// Some series' data since the latest plausible onset still favour harm: a pause
    /// does not clear while this holds.
    pub harm_supported: bool,
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

/// The tick's tests after the family stage.
#[derive(Debug, Clone, Copy)]
pub(super) struct Tests<'a> {
    /// `(p, index)`, most significant first: sorted at least over the significant
    /// tests and the first `max_contributors` (see `family::holm`).
    pub(super) sorted: &'a [(f64, usize)],
    /// Per index, whether Holm's procedure found it significant.
    pub(super) significant: &'a [bool],
}

/// Stage 8: the contributors of the tick, most significant first, at most
/// `max_contributors` of them, then a limit breach, which takes the last place when
/// the list is full.
pub(super) fn explain(
    schema: &Schema,
    max_contributors: usize,
    series: &[SeriesState],
    joint: &[Option<JointState>],
    tests: Tests<'_>,
    limit_breach: Option<LimitBreach>,
    contributors: &mut Vec<Contributor>,
) {
    let nm = schema.n_metrics();
    let n_series = series.len();
    let significant = tests.significant;
    contributors.clear();
    for &(p, idx) in tests.sorted.iter().take(max_contributors) {
        let c = if idx < n_series {
            let st = &series[idx];
            Contributor {
                source: Source::Metric,
                segment: idx / nm,
                metric: idx % nm,
                feature: schema.metric_feature(idx % nm),
                deviation: st.net_z,
                deviation_vs_profile: st.profile_z,
                p_value: p,
                significant: significant[idx],
                e_value: st.sequential.e_value(),
                always_valid_p: st.sequential.p_value(),
            }
        } else {
            let s = idx - n_series;
            let Some(j) = &joint[s] else { continue };
            let m = j.top_metric.min(nm - 1);
            Contributor {
                source: Source::Joint,
                segment: s,
                metric: m,
                feature: schema.metric_feature(m),
                deviation: j.z,
                deviation_vs_profile: series[s * nm + m].profile_z,
                p_value: p,
                significant: significant[idx],
                e_value: 1.0,
                always_valid_p: 1.0,
            }
        };
        contributors.push(c);
    }
    if let Some(LimitBreach {
        segment: s,
        metric: m,
        ..
    }) = limit_breach
    {
        if contributors.len() >= max_contributors {
            contributors.pop();
        }
        let st = &series[s * nm + m];
        contributors.push(Contributor {
            source: Source::Limit,
            segment: s,
            metric: m,
            feature: schema.metric_feature(m),
            deviation: st.net_z,
            deviation_vs_profile: st.profile_z,
            p_value: st.p,
            significant: significant[s * nm + m],
            e_value: st.sequential.e_value(),
            always_valid_p: st.sequential.p_value(),
        });
    }
}
