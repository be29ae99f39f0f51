//! Stage 7: where the risk is heading — each series' harmful deviation projected along
//! its trend, and metric limits the canary's level is heading for.

use super::RiskConfig;
use super::assessment::LimitBreach;
use super::family::severity_of;
use super::joint::JointState;
use super::scorer::RiskFactors;
use super::series::{SeriesState, Trend, harm_p};
use crate::schema::{Direction, MetricSpec, Schema};

/// The projection of a tick.
#[derive(Debug, Clone, Copy)]
pub(super) struct Prediction {
    /// The four factors `horizon` ticks ahead.
    pub(super) factors: RiskFactors,
    /// The earliest limit crossing within the horizon.
    pub(super) limit_breach: Option<LimitBreach>,
}

/// Stage 7: projects every series with a few ticks of trend `horizon` ticks ahead (its
/// projected p-value, never above the current one) and looks for limit crossings; the
/// projected p-values and the joint models' current ones give a projected severity,
/// and a projected persistence follows from whether that projection is significant.
/// `current` are this tick's factors; `predicted` is scratch.
pub(super) fn predict(
    schema: &Schema,
    cfg: &RiskConfig,
    series: &[SeriesState],
    joint: &[Option<JointState>],
    current: &RiskFactors,
    predicted: &mut Vec<(f64, usize)>,
) -> Prediction {
    let nm = schema.n_metrics();
    let n_series = series.len();
    let h = cfg.horizon as f64;
    predicted.clear();
    let mut limit_breach: Option<LimitBreach> = None;
    for (i, st) in series.iter().enumerate() {
        // A slope from a handful of ticks is noise: project only after a few.
        if st.harm.n < 5 {
            continue;
        }
        let metric = schema.metric(i % nm);
        let zh = st.harm.ahead(h);
        let ph = harm_p(metric.direction, zh, st.dof);
        predicted.push((ph.min(st.p), i));
        if let Some(eta) = ticks_to_limit(metric, &st.canary).filter(|&e| e <= h) {
            if limit_breach.is_none_or(|b| eta < b.ticks_ahead) {
                limit_breach = Some(LimitBreach {
                    segment: i / nm,
                    metric: i % nm,
                    ticks_ahead: eta,
                });
            }
        }
    }
    for (s, j) in joint.iter().enumerate() {
        if let Some(j) = j {
            predicted.push((j.p, n_series + s));
        }
    }
    let kp = predicted.len().max(1) as f64;
    let pred_min = predicted.iter().map(|t| t.0).fold(1.0, f64::min);
    let mut severity = severity_of((pred_min * kp).min(1.0), cfg.severity_saturation);
    let significant = pred_min * kp <= cfg.significance;
    let mut segment_weight = current.segment_weight;
    if let Some(LimitBreach {
        segment: s,
        metric: m,
        ..
    }) = limit_breach
    {
        severity = 1.0;
        segment_weight = segment_weight.max(schema.segment_share(s) * schema.criticality(m));
    }
    let decay = (1.0 - cfg.persistence_rate).powf(h);
    let p = current.persistence;
    let persistence = if significant || limit_breach.is_some() {
        p + (1.0 - p) * (1.0 - decay)
    } else {
        p * decay
    };
    Prediction {
        factors: RiskFactors {
            severity: severity.max(current.severity),
            persistence,
            segment_weight,
            feature_correlation: current.feature_correlation,
        },
        limit_breach,
    }
}

/// Ticks until the canary's smoothed level crosses the metric's limit at its current
/// slope: 0 when it already has, `None` without a limit or when moving away from it.
fn ticks_to_limit(metric: &MetricSpec, canary: &Trend) -> Option<f64> {
    let limit = metric.limit?;
    let gap = limit - canary.level;
    let slope = canary.slope;
    let towards = match metric.direction {
        Direction::DecreaseIsBad => gap < 0.0 && slope < 0.0,
        _ => gap > 0.0 && slope > 0.0,
    };
    let already = match metric.direction {
        Direction::DecreaseIsBad => gap >= 0.0,
        _ => gap <= 0.0,
    };
    if already {
        Some(0.0)
    } else if towards {
        Some(gap / slope)
    } else {
        None
    }
}
