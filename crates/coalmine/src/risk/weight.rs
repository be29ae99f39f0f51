//! Stages 5 and 6: which users and which features the anomaly touches — the impacted
//! segment weight, and the correlation of the tick's evidence with each feature's
//! metrics over a recent window.

use serde::Serialize;

use super::joint::JointState;
use super::series::SeriesState;
use crate::schema::Schema;

/// Stage 5: the summed weight shares of the segments with a significant test, each
/// scaled by the criticality of its most critical significant metric (a joint test
/// counts with the metric it blames most); at most 1. `significant_tests` are the
/// tick's significant `(p, index)` tests; `crit` is scratch, one slot per segment.
pub(super) fn segment_weight(
    schema: &Schema,
    joint: &[Option<JointState>],
    significant_tests: &[(f64, usize)],
    crit: &mut [f64],
) -> f64 {
    let (nm, ns) = (schema.n_metrics(), schema.n_segments());
    let n_series = nm * ns;
    crit.iter_mut().for_each(|x| *x = 0.0);
    for &(_, idx) in significant_tests {
        let (s, m) = if idx < n_series {
            (idx / nm, idx % nm)
        } else {
            let s = idx - n_series;
            let top = joint[s].as_ref().map_or(usize::MAX, |j| j.top_metric);
            (s, top)
        };
        if m < nm {
            crit[s] = crit[s].max(schema.criticality(m));
        }
    }
    (0..ns)
        .map(|s| schema.segment_share(s) * crit[s])
        .sum::<f64>()
        .min(1.0)
}

/// The recent window of the feature correlation: per tick, the total harmful evidence
/// and each feature's net deviation, in ring buffers. Serialised flat into the risk
/// engine (the checkpoint keeps its field names).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(super) struct FeatureWindow {
    /// Total harmful evidence per tick; its length is the window.
    pub(super) evidence_ring: Vec<f64>,
    /// Per feature `f`, its net deviation per tick at `f * window ..`.
    pub(super) feature_ring: Vec<f64>,
    /// Where the next tick goes.
    pub(super) ring_pos: usize,
    /// Ticks in the window so far (at most the window).
    pub(super) ring_len: usize,
}

impl FeatureWindow {
    /// An empty window of `window` ticks for `features` features.
    pub(super) fn new(window: usize, features: usize) -> Self {
        FeatureWindow {
            evidence_ring: vec![0.0; window],
            feature_ring: vec![0.0; window * features],
            ring_pos: 0,
            ring_len: 0,
        }
    }

    /// Stage 6: records this tick and returns the largest absolute Pearson correlation,
    /// over the window, between the total harmful evidence and a feature's net
    /// deviation (the share-weighted mean z of its observed metrics), with that
    /// feature; nothing before 4 ticks. `sum` and `count` are scratch, one slot per
    /// feature.
    pub(super) fn feature_correlation(
        &mut self,
        schema: &Schema,
        series: &[SeriesState],
        sum: &mut [f64],
        count: &mut [f64],
    ) -> (f64, Option<usize>) {
        let (nm, nf) = (schema.n_metrics(), schema.n_features());
        let w = self.evidence_ring.len();
        let total_evidence: f64 = series
            .iter()
            .filter(|st| st.observed)
            .map(|st| st.harm_z.max(0.0))
            .sum();
        sum.iter_mut().for_each(|x| *x = 0.0);
        count.iter_mut().for_each(|x| *x = 0.0);
        for (i, st) in series.iter().enumerate() {
            if let (Some(f), false) = (schema.metric_feature(i % nm), !st.observed) {
                let share = schema.segment_share(i / nm);
                sum[f] += share * st.net_z;
                count[f] += share;
            }
        }
        self.evidence_ring[self.ring_pos] = total_evidence;
        for f in 0..nf {
            let c = count[f];
            self.feature_ring[f * w + self.ring_pos] = if c > 0.0 { sum[f] / c } else { 0.0 };
        }
        self.ring_pos = (self.ring_pos + 1) % w;
        self.ring_len = (self.ring_len + 1).min(w);
        let (mut correlation, mut top) = (0.0, None);
        if self.ring_len >= 4 {
            for f in 0..nf {
                let r = pearson(
                    &self.evidence_ring[..self.ring_len],
                    &self.feature_ring[f * w..f * w + self.ring_len],
                )
                .abs();
                if r > correlation {
                    correlation = r;
                    top = Some(f);
                }
            }
        }
        (correlation, top)
    }
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
    fn pearson_is_bounded_and_zero_for_constants() {
        assert!((pearson(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.0]) - 1.0).abs() < 1e-12);
        assert!((pearson(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        assert_eq!(pearson(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]), 0.0);
    }
}
