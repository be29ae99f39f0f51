//! Stages 3 and 4: the tick's p-values as one family (Holm's step-down procedure and
//! the severity from the Bonferroni-adjusted minimum), persistence, and critical
//! metrics that stay significant.

use super::RiskConfig;
use super::series::SeriesState;
use crate::schema::{Schema, SeriesId};

/// What the family of the tick's tests says.
#[derive(Debug, Clone, Copy)]
pub(super) struct Family {
    /// Tests significant under Holm's procedure (the first ones of the sorted tests).
    pub(super) significant: usize,
    /// The smallest unadjusted p-value (1 without tests).
    pub(super) min_p: f64,
    /// `min(1, K · min_p)`.
    pub(super) adjusted: f64,
    /// The severity factor.
    pub(super) severity: f64,
}

/// Stage 3: orders `tests` by p-value (ties by index, for determinism), runs Holm's
/// step-down procedure at `significance`, marks `significant[index]`, and maps the
/// Bonferroni-adjusted minimum to the severity.
///
/// Only a prefix of `tests` ends sorted: every test with `p <= significance` (no other
/// can pass a Holm threshold, `significance / (K − rank) <= significance`) and at
/// least the first `keep_sorted` (the contributors) and the first; the rest hold the
/// larger p-values in no particular order. That prefix is exactly the full sort's
/// (the order is total: indices are distinct), at O(K) instead of O(K log K).
pub(super) fn holm(
    cfg: &RiskConfig,
    tests: &mut [(f64, usize)],
    significant: &mut [bool],
    keep_sorted: usize,
) -> Family {
    let k = tests.len();
    let order = |a: &(f64, usize), b: &(f64, usize)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
    let below = tests.iter().filter(|t| t.0 <= cfg.significance).count();
    let prefix = below.max(keep_sorted).max(1).min(k);
    if prefix < k {
        tests.select_nth_unstable_by(prefix - 1, order);
    }
    tests[..prefix].sort_unstable_by(order);
    significant.iter_mut().for_each(|x| *x = false);
    let mut count = 0;
    for (rank, &(p, idx)) in tests.iter().enumerate() {
        if p <= cfg.significance / (k - rank) as f64 {
            significant[idx] = true;
            count += 1;
        } else {
            break;
        }
    }
    let min_p = tests.first().map_or(1.0, |t| t.0);
    let adjusted = (min_p * k.max(1) as f64).min(1.0);
    Family {
        significant: count,
        min_p,
        adjusted,
        severity: severity_of(adjusted, cfg.severity_saturation),
    }
}

/// `min(1, −log10(p_adj) / saturation)`.
pub(super) fn severity_of(adjusted_p: f64, saturation: f64) -> f64 {
    (-adjusted_p.max(1e-300).log10() / saturation).clamp(0.0, 1.0)
}

/// Stage 4: the persistence after this tick, an exponentially weighted share of ticks
/// with any significant test.
pub(super) fn persistence(previous: f64, rate: f64, any_significant: bool) -> f64 {
    (1.0 - rate) * previous + rate * any_significant as u8 as f64
}

/// Stage 4, continued: updates each series' run of significant ticks and returns the
/// first metric flagged `critical` whose run reached `critical_ticks` (one tick is a
/// 1-in-100 event under the per-tick family).
pub(super) fn critical_breach(
    schema: &Schema,
    cfg: &RiskConfig,
    series: &mut [SeriesState],
    significant: &[bool],
) -> Option<SeriesId> {
    let nm = schema.n_metrics();
    let mut breach = None;
    for (i, st) in series.iter_mut().enumerate() {
        st.significant_run = if significant[i] {
            st.significant_run.saturating_add(1)
        } else {
            0
        };
        if breach.is_none()
            && st.significant_run >= cfg.critical_ticks
            && schema.metric(i % nm).critical
        {
            breach = Some(SeriesId {
                segment: i / nm,
                metric: i % nm,
            });
        }
    }
    breach
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::rng::Rng;

    #[test]
    fn holm_sorts_the_prefix_it_reads_as_a_full_sort_would() {
        let cfg = RiskConfig::default();
        let mut rng = Rng::new(17);
        for case in 0..300 {
            let k = 1 + case % 40;
            // Ties (at 1 and at 0 especially) are ordered by index.
            let mut tests: Vec<(f64, usize)> = (0..k)
                .map(|i| {
                    let p = match rng.uniform() {
                        u if u < 0.2 => 1.0,
                        u if u < 0.3 => 0.0,
                        u if u < 0.5 => u * 1e-3,
                        u => u,
                    };
                    (p, i)
                })
                .collect();
            // Shuffled, so that the input order is not the index order.
            rng.shuffle(&mut tests);
            let mut sorted = tests.clone();
            let mut want = vec![false; k];
            let full = holm(&cfg, &mut sorted, &mut want, k);
            let keep = case % 7;
            let mut got = vec![false; k];
            let part = holm(&cfg, &mut tests, &mut got, keep);
            assert_eq!(got, want);
            assert_eq!(
                (part.significant, part.min_p, part.adjusted),
                (full.significant, full.min_p, full.adjusted)
            );
            let prefix = keep.max(part.significant).max(1).min(k);
            assert_eq!(tests[..prefix], sorted[..prefix], "{case}");
            let mut rest = tests.clone();
            rest.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            assert_eq!(rest, sorted);
        }
    }

    #[test]
    fn severity_maps_adjusted_p_values() {
        assert_eq!(severity_of(1.0, 8.0), 0.0);
        assert!((severity_of(1e-4, 8.0) - 0.5).abs() < 1e-12);
        assert_eq!(severity_of(1e-12, 8.0), 1.0);
        assert_eq!(severity_of(0.0, 8.0), 1.0);
    }

    #[test]
    fn holm_steps_down_and_stops_at_the_first_failure() {
        let cfg = RiskConfig {
            significance: 0.05,
            ..RiskConfig::default()
        };
        // K = 4: thresholds 0.0125, 0.01667, 0.025, 0.05 in rank order.
        // The third fails (0.03 > 0.025), so the fourth is not significant either,
        // though it is below its own threshold.
        let mut tests = vec![(0.03, 1), (0.001, 3), (0.012, 0), (0.04, 2)];
        let mut significant = vec![true; 4];
        let f = holm(&cfg, &mut tests, &mut significant, 4);
        assert_eq!(tests, vec![(0.001, 3), (0.012, 0), (0.03, 1), (0.04, 2)]);
        assert_eq!(f.significant, 2);
        assert_eq!(significant, vec![true, false, false, true]);
        assert_eq!((f.min_p, f.adjusted), (0.001, 0.004));
        let none = holm(&cfg, &mut [], &mut significant, 5);
        assert_eq!((none.significant, none.min_p, none.severity), (0, 1.0, 0.0));
        assert_eq!(significant, vec![false; 4]);
    }
}
