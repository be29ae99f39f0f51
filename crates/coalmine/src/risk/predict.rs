//! Stage 7: where the risk is heading — each series' harmful deviation projected along
//! its trend, and metric limits the canary's level is heading for.

use super::RiskConfig;
use super::assessment::LimitBreach;
use super::family::severity_of;
use super::joint::JointState;
use super::scorer::RiskFactors;
use super::series::{SeriesState, Trend, harm_p};
use crate::schema::{Direction, MetricSpec, Schema};

/// Distinct (degrees of freedom, tail) groups whose projected tails are computed once
/// per group; a series in none of them pays its own tail.
const MAX_TAIL_GROUPS: usize = 8;

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
    let h = cfg.horizon as f64;
    // Only the smallest projected p-value matters. The tail falls as the statistic
    // grows, so among series with the same degrees of freedom and the same tail (one-
    // or two-sided) only the largest statistic's tail can be it: `predicted` holds one
    // `(statistic, series)` per such group, and a tail is computed per group, not per
    // series. Groups beyond the first few pay their tail at once (bounded search).
    predicted.clear();
    let mut pred_min = 1.0f64;
    let mut projected = 0usize;
    let mut limit_breach: Option<LimitBreach> = None;
    for (i, st) in series.iter().enumerate() {
        // A slope from a handful of ticks is noise: project only after a few.
        if st.harm.n < 5 {
            continue;
        }
        projected += 1;
        pred_min = pred_min.min(st.p);
        let metric = schema.metric(i % nm);
        let two_sided = metric.direction == Direction::Any;
        let zh = st.harm.ahead(h);
        // What orders the tail: `|z|` two-sided, `z` one-sided.
        let key = if two_sided { zh.abs() } else { zh };
        let group = predicted.iter().position(|&(_, j)| {
            series[j].dof == st.dof
                && (schema.metric(j % nm).direction == Direction::Any) == two_sided
        });
        match group {
            // No order to keep for a statistic that is not a number: its own tail.
            _ if key.is_nan() => pred_min = pred_min.min(harm_p(metric.direction, zh, st.dof)),
            Some(g) => {
                if key > predicted[g].0 {
                    predicted[g] = (key, i);
                }
            }
            None if predicted.len() < MAX_TAIL_GROUPS => predicted.push((key, i)),
            None => pred_min = pred_min.min(harm_p(metric.direction, zh, st.dof)),
        }
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
    for &(_, i) in predicted.iter() {
        let st = &series[i];
        let direction = schema.metric(i % nm).direction;
        pred_min = pred_min.min(harm_p(direction, st.harm.ahead(h), st.dof));
    }
    for j in joint.iter().flatten() {
        projected += 1;
        pred_min = pred_min.min(j.p);
    }
    let kp = projected.max(1) as f64;
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
