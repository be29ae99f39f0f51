//! Properties of the univariate scoring pipeline (`coalmine::scoring`): totality,
//! strict causality, determinism, the non-finite policy and the behaviour on a spike.
//! NAB itself is scored by `scripts/nab.sh` through `coalmine score`.

use coalmine::scoring::{AnomalyScorer, DetectorChoice, ScoringConfig, score_series};
use proptest::prelude::*;

/// Finite values across many magnitudes, with repeats and exact zeros.
fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => -1e3..1e3f64,
        2 => -1e12..1e12f64,
        1 => Just(0.0),
        1 => Just(42.0),
        1 => -1e-9..1e-9f64,
        1 => -1e100..1e100f64,
    ]
}

fn detector() -> impl Strategy<Value = DetectorChoice> {
    prop_oneof![
        Just(DetectorChoice::Auto),
        Just(DetectorChoice::Ewma),
        Just(DetectorChoice::HoltWinters),
    ]
}

/// A configuration with a short learning period, so that the likelihood, the range
/// rule, the pulse and the season checkpoints are all exercised on short series.
fn config() -> impl Strategy<Value = ScoringConfig> {
    (detector(), 1usize..80, 1usize..15, 0usize..60).prop_map(
        |(detector, probation, short_window, pulse_window)| ScoringConfig {
            detector,
            probation,
            short_window,
            pulse_window,
            ..ScoringConfig::default()
        },
    )
}

/// A smooth daily-like cycle with a little deterministic noise, `m` ticks long.
fn cycle(n: usize, m: usize) -> Vec<f64> {
    (0..n)
        .map(|t| {
            let phase = std::f64::consts::TAU * (t % m) as f64 / m as f64;
            100.0 + 20.0 * phase.sin() + ((t * 7919) % 13) as f64 / 13.0
        })
        .collect()
}

proptest! {
    #[test]
    fn scores_are_finite_and_in_the_unit_interval(
        values in prop::collection::vec(value(), 0..400),
        config in config(),
    ) {
        let scores = score_series(&values, config).unwrap();
        prop_assert_eq!(scores.len(), values.len());
        for s in &scores {
            prop_assert!(s.is_finite() && (0.0..=1.0).contains(s), "{}", s);
        }
        // The automatic learning period too.
        let auto = ScoringConfig { probation: 0, ..config };
        for s in score_series(&values, auto).unwrap() {
            prop_assert!((0.0..=1.0).contains(&s), "{}", s);
        }
    }

    #[test]
    fn scores_never_depend_on_later_values(
        prefix in prop::collection::vec(value(), 1..300),
        tail_a in prop::collection::vec(value(), 0..120),
        tail_b in prop::collection::vec(value(), 0..120),
        config in config(),
    ) {
        let mut a = AnomalyScorer::new(config).unwrap();
        let mut b = AnomalyScorer::new(config).unwrap();
        for &v in &prefix {
            prop_assert_eq!(a.score(v).to_bits(), b.score(v).to_bits());
        }
        for &v in &tail_a {
            a.score(v);
        }
        for &v in &tail_b {
            b.score(v);
        }
        // And the batch helper: same prefix, any tail, same scores on the prefix.
        let mut full_a = prefix.clone();
        full_a.extend(&tail_a);
        let mut full_b = prefix.clone();
        full_b.extend(&tail_b);
        let sa = score_series(&full_a, config).unwrap();
        let sb = score_series(&full_b, config).unwrap();
        prop_assert_eq!(&sa[..prefix.len()], &sb[..prefix.len()]);
    }

    #[test]
    fn non_finite_values_score_zero_and_are_skipped(
        values in prop::collection::vec(value(), 1..300),
        holes in prop::collection::vec((0usize..300, 0usize..3), 1..10),
        config in config(),
    ) {
        let bad = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY];
        let mut with_holes = values.clone();
        for &(at, which) in holes.iter().rev() {
            with_holes.insert(at.min(with_holes.len()), bad[which]);
        }
        let clean = score_series(&values, config).unwrap();
        let holed = score_series(&with_holes, config).unwrap();
        let mut kept = Vec::new();
        for (v, s) in with_holes.iter().zip(&holed) {
            if v.is_finite() {
                kept.push(*s);
            } else {
                prop_assert_eq!(*s, 0.0);
            }
        }
        prop_assert_eq!(kept, clean);
    }
}

#[test]
fn causality_holds_across_a_season_switch() {
    // Long enough for the Auto checkpoints to fit and adopt a seasonal model.
    let base = cycle(1200, 24);
    let mut other = base.clone();
    for (i, v) in other[700..].iter_mut().enumerate() {
        *v = if i % 2 == 0 { 1e6 } else { -3.0 };
    }
    let config = ScoringConfig {
        probation: 300,
        ..ScoringConfig::default()
    };
    let a = score_series(&base, config).unwrap();
    let b = score_series(&other, config).unwrap();
    assert_eq!(&a[..700], &b[..700]);
    assert_ne!(&a[700..], &b[700..]);
    let mut scorer = AnomalyScorer::new(config).unwrap();
    for &v in &base {
        scorer.score(v);
    }
    assert_eq!(scorer.season(), Some(24));
}

#[test]
fn scoring_is_deterministic() {
    let mut values = cycle(2000, 48);
    values[1500] += 60.0;
    for detector in [
        DetectorChoice::Auto,
        DetectorChoice::Ewma,
        DetectorChoice::HoltWinters,
    ] {
        let config = ScoringConfig {
            detector,
            ..ScoringConfig::default()
        };
        let a = score_series(&values, config).unwrap();
        let b = score_series(&values, config).unwrap();
        let bits = |s: &[f64]| s.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&a), bits(&b));
    }
}

#[test]
fn a_spike_stands_out_and_the_steady_stretch_stays_low() {
    let mut values = cycle(3000, 96);
    values[2400] += 15.0;
    for detector in [DetectorChoice::HoltWinters, DetectorChoice::Auto] {
        let config = ScoringConfig {
            detector,
            ..ScoringConfig::default()
        };
        let scores = score_series(&values, config).unwrap();
        // The spike lies inside the range of the cycle: the model found it, not the
        // range rule.
        assert!(values[2400] < 121.0);
        let steady = scores[450..2400].iter().copied().fold(0.0, f64::max);
        assert!(
            steady < 0.15,
            "{detector:?}: steady stretch peaked at {steady}"
        );
        // One surprising tick moves the 20-tick average surprise by at most 0.05,
        // which the likelihood turns into about 0.27 here (a tenth of the defaults'
        // tail probability at the steady stretch's peak); only the range rule gives 1.
        assert!(
            scores[2400] > 0.25 && scores[2400] > 2.0 * steady,
            "{detector:?}: spike scored {}, steady peak {steady}",
            scores[2400]
        );
        // With a 10-tick average and 10 decades, the point surprise counts double.
        let sharp = ScoringConfig {
            short_window: 10,
            surprise_decades: 10.0,
            ..config
        };
        let sharp = score_series(&values, sharp).unwrap();
        assert!(sharp[2400] > 0.8, "{detector:?}: {}", sharp[2400]);
    }
}

#[test]
fn the_configuration_reads_the_cli_names() {
    let c: ScoringConfig = serde_json::from_str(r#"{"detector":"holt-winters"}"#).unwrap();
    assert_eq!(c.detector, DetectorChoice::HoltWinters);
    assert_eq!(c.probation, 0);
    let c: ScoringConfig = serde_json::from_str(r#"{"detector":"auto","probation":9}"#).unwrap();
    assert_eq!(
        c,
        ScoringConfig {
            detector: DetectorChoice::Auto,
            probation: 9,
            ..ScoringConfig::default()
        }
    );
    assert!(serde_json::from_str::<ScoringConfig>(r#"{"detector":"arima"}"#).is_err());
    assert!(serde_json::from_str::<ScoringConfig>(r#"{"alpah":0.2}"#).is_err());
}
