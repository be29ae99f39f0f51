//! Property tests of the univariate detectors: totality, checkpoints, serde, batches,
//! and the reduction of Holt-Winters to simple exponential smoothing.

use coalmine::{
    Anomaly, AnomalyColumns, AnomalyDetector, Error, Ewma, EwmaConfig, HoltWinters,
    HoltWintersConfig, HoltWintersParams,
};
use proptest::prelude::*;

/// Finite values across many magnitudes, with repeats and exact zeros, which is where
/// a zero scale or cancellation would show.
fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => -1e3..1e3f64,
        2 => -1e12..1e12f64,
        1 => Just(0.0),
        1 => Just(42.0),
        1 => -1e-9..1e-9f64,
        1 => prop::num::f64::NORMAL,
    ]
}

fn series() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(value(), 0..300)
}

fn ewma_config() -> impl Strategy<Value = EwmaConfig> {
    (
        0.001..=1.0f64,
        2u64..30,
        prop_oneof![Just(0.0), 1.0..10.0f64],
    )
        .prop_map(|(alpha, warmup, clip)| EwmaConfig {
            alpha,
            warmup,
            clip,
            ..EwmaConfig::default()
        })
}

fn hw_config() -> impl Strategy<Value = HoltWintersConfig> {
    (
        1usize..30,
        0.001..=1.0f64,
        0.0..=1.0f64,
        0.0..=1.0f64,
        0.5..=1.0f64,
    )
        .prop_map(|(m, alpha, beta, gamma, phi)| HoltWintersConfig {
            season_length: m,
            params: HoltWintersParams {
                alpha,
                beta,
                gamma,
                phi,
            },
            ..HoltWintersConfig::default()
        })
}

fn assert_sane(a: &Anomaly) {
    assert!(a.expected.is_finite() && a.residual.is_finite(), "{a:?}");
    assert!(a.deviation.is_finite(), "{a:?}");
    assert!((0.0..=1.0).contains(&a.tail_probability()), "{a:?}");
}

/// Feeds `xs`, checking every accepted observation's output; rejected ones must leave
/// the detector unchanged.
fn feed<D>(det: &mut D, xs: &[f64]) -> Vec<Anomaly>
where
    D: AnomalyDetector<Input = f64> + Clone + PartialEq + std::fmt::Debug,
{
    let mut out = Vec::with_capacity(xs.len());
    for x in xs {
        let before = det.clone();
        match det.observe(x) {
            Ok(a) => {
                assert_sane(&a);
                out.push(a);
            }
            Err(_) => assert_eq!(*det, before),
        }
    }
    out
}

/// The five output columns of a batch, owned.
struct Columns {
    expected: Vec<f64>,
    residual: Vec<f64>,
    deviation: Vec<f64>,
    tail_probability: Vec<f64>,
    ready: Vec<bool>,
}

impl Columns {
    fn new(n: usize) -> Self {
        Columns {
            expected: vec![-7.0; n],
            residual: vec![-7.0; n],
            deviation: vec![-7.0; n],
            tail_probability: vec![-7.0; n],
            ready: vec![false; n],
        }
    }

    fn view(&mut self) -> AnomalyColumns<'_> {
        AnomalyColumns {
            expected: &mut self.expected,
            residual: &mut self.residual,
            deviation: &mut self.deviation,
            tail_probability: &mut self.tail_probability,
            ready: &mut self.ready,
        }
    }
}

/// A batch gives exactly what a loop of `observe` gives (bit for bit, with NaN for the
/// expected value and residual where there was no forecast), or, where the loop would
/// reject a value, refuses the whole batch with that value's index and leaves the
/// detector as it was.
fn batch_matches_loop<D>(det: &D, xs: &[f64]) -> Result<(), TestCaseError>
where
    D: AnomalyDetector<Input = f64> + Clone + PartialEq + std::fmt::Debug,
{
    let mut cols = Columns::new(xs.len());
    let mut batch = det.clone();
    let result = batch.observe_batch(xs, &mut cols.view());
    let mut looped = det.clone();
    for (i, x) in xs.iter().enumerate() {
        let forecast = looped.has_forecast();
        match looped.observe(x) {
            Ok(a) => {
                let (e, r) = if forecast {
                    (a.expected, a.residual)
                } else {
                    (f64::NAN, f64::NAN)
                };
                prop_assert_eq!(cols.expected[i].to_bits(), e.to_bits());
                prop_assert_eq!(cols.residual[i].to_bits(), r.to_bits());
                prop_assert_eq!(cols.deviation[i].to_bits(), a.deviation.to_bits());
                prop_assert_eq!(
                    cols.tail_probability[i].to_bits(),
                    a.tail_probability().to_bits()
                );
                prop_assert_eq!(cols.ready[i], a.ready);
            }
            Err(e) => {
                let want = Error::Batch {
                    index: i,
                    error: Box::new(e),
                };
                prop_assert_eq!(result, Err(want));
                prop_assert_eq!(&batch, det);
                return Ok(());
            }
        }
    }
    prop_assert_eq!(result, Ok(()));
    prop_assert_eq!(&batch, &looped);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn ewma_batches_match_a_loop(cfg in ewma_config(), head in series(), xs in series()) {
        let mut det = Ewma::new(cfg).unwrap();
        // From a fresh detector and from one that has seen some history.
        batch_matches_loop(&det, &xs)?;
        feed(&mut det, &head);
        batch_matches_loop(&det, &xs)?;
    }

    #[test]
    fn holt_winters_batches_match_a_loop(cfg in hw_config(), head in series(), xs in series()) {
        let mut det = HoltWinters::new(cfg, 10.0, 0.1, &vec![0.0; cfg.season_length]).unwrap();
        batch_matches_loop(&det, &xs)?;
        feed(&mut det, &head);
        batch_matches_loop(&det, &xs)?;
    }

    #[test]
    fn ewma_is_total_on_finite_input(cfg in ewma_config(), xs in series()) {
        let mut e = Ewma::new(cfg).unwrap();
        feed(&mut e, &xs);
    }

    #[test]
    fn holt_winters_is_total_on_finite_input(cfg in hw_config(), xs in series()) {
        let m = cfg.season_length;
        let mut hw = HoltWinters::new(cfg, 0.0, 0.0, &vec![0.0; m]).unwrap();
        feed(&mut hw, &xs);
    }

    #[test]
    fn holt_winters_from_history_is_total(cfg in hw_config(), xs in prop::collection::vec(value(), 0..200)) {
        // Errors are fine (too short, state out of range); panics and NaN are not.
        if let Ok(mut hw) = HoltWinters::from_history(cfg, &xs) {
            feed(&mut hw, &xs);
            assert!(hw.forecast(3).is_finite());
            assert!(hw.forecast_std(5).is_finite());
        }
    }

    #[test]
    fn ewma_clone_mid_stream_continues_identically(cfg in ewma_config(), xs in series(), cut in 0usize..300) {
        let cut = cut.min(xs.len());
        let mut a = Ewma::new(cfg).unwrap();
        feed(&mut a, &xs[..cut]);
        let mut b = a.clone();
        let json = serde_json::to_string(&a).unwrap();
        let mut c: Ewma = serde_json::from_str(&json).unwrap();
        let ra = feed(&mut a, &xs[cut..]);
        prop_assert_eq!(&ra, &feed(&mut b, &xs[cut..]));
        prop_assert_eq!(&ra, &feed(&mut c, &xs[cut..]));
        prop_assert_eq!(a, c);
    }

    #[test]
    fn holt_winters_clone_and_serde_mid_stream_continue_identically(
        cfg in hw_config(), xs in series(), cut in 0usize..300
    ) {
        let cut = cut.min(xs.len());
        let m = cfg.season_length;
        let mut a = HoltWinters::new(cfg, 1.0, 0.5, &vec![0.25; m]).unwrap();
        feed(&mut a, &xs[..cut]);
        let mut b = a.clone();
        let json = serde_json::to_string(&a).unwrap();
        let mut c: HoltWinters = serde_json::from_str(&json).unwrap();
        let ra = feed(&mut a, &xs[cut..]);
        prop_assert_eq!(&ra, &feed(&mut b, &xs[cut..]));
        prop_assert_eq!(&ra, &feed(&mut c, &xs[cut..]));
        prop_assert_eq!(a, c);
    }

    #[test]
    fn holt_winters_without_trend_or_season_is_simple_exponential_smoothing(
        alpha in 0.001..=1.0f64, m in 1usize..50, xs in prop::collection::vec(-1e6..1e6f64, 1..300)
    ) {
        let cfg = HoltWintersConfig {
            season_length: m,
            params: HoltWintersParams { alpha, beta: 0.0, gamma: 0.0, phi: 1.0 },
            ..HoltWintersConfig::default()
        };
        // SES started at the first observation: l_0 = y_1, so l_1 = y_1 as for EWMA.
        let mut hw = HoltWinters::new(cfg, xs[0], 0.0, &vec![0.0; m]).unwrap();
        let mut ewma = Ewma::new(EwmaConfig { alpha, ..EwmaConfig::default() }).unwrap();
        let mut largest: f64 = 1.0;
        for x in &xs {
            hw.observe(x).unwrap();
            ewma.observe(x).unwrap();
            // Equal up to rounding: l_1 = α y_1 + (1 - α) y_1 need not be y_1 exactly,
            // and that one-ulp difference of the largest value seen decays only as
            // (1 - α)^t, so the tolerance is relative to the largest magnitude so far.
            largest = largest.max(x.abs());
            let ses = ewma.mean().unwrap();
            let tol = 1e-12 * largest;
            prop_assert!((hw.forecast(1) - ses).abs() <= tol, "{} vs {}", hw.forecast(1), ses);
            prop_assert!((hw.forecast(7) - ses).abs() <= tol);
        }
    }

    #[test]
    fn corrupted_checkpoints_never_panic(xs in prop::collection::vec(-1e3..1e3f64, 0..40), cut in 0usize..2000, byte in any::<u8>()) {
        let mut hw = HoltWinters::new(
            HoltWintersConfig { season_length: 3, ..HoltWintersConfig::default() }, 0.0, 0.0, &[0.0; 3],
        ).unwrap();
        feed(&mut hw, &xs);
        let mut json = serde_json::to_vec(&hw).unwrap();
        let i = cut % json.len();
        json[i] = byte;
        // Either a typed error or a detector that still satisfies its invariants.
        if let Ok(mut back) = serde_json::from_slice::<HoltWinters>(&json) {
            feed(&mut back, &xs);
        }
        let mut e = Ewma::new(EwmaConfig::default()).unwrap();
        feed(&mut e, &xs);
        let mut json = serde_json::to_vec(&e).unwrap();
        let i = cut % json.len();
        json[i] = byte;
        if let Ok(mut back) = serde_json::from_slice::<Ewma>(&json) {
            feed(&mut back, &xs);
        }
    }
}

#[test]
fn a_batch_without_a_forecast_says_so_with_nan() {
    let mut e = Ewma::new(EwmaConfig::default()).unwrap();
    let mut cols = Columns::new(3);
    e.observe_batch(&[5.0, 6.0, 7.0], &mut cols.view()).unwrap();
    assert!(cols.expected[0].is_nan() && cols.residual[0].is_nan());
    assert_eq!(
        (cols.deviation[0], cols.tail_probability[0], cols.ready[0]),
        (0.0, 1.0, false)
    );
    assert_eq!((cols.expected[1], cols.residual[1]), (5.0, 1.0));
    assert_eq!(e.observations(), 3);
    // A detector built with a known state forecasts from its first observation.
    let mut hw = HoltWinters::new(HoltWintersConfig::default(), 5.0, 0.0, &[0.0]).unwrap();
    hw.observe_batch(&[5.0, 6.0, 7.0], &mut cols.view())
        .unwrap();
    assert_eq!((cols.expected[0], cols.residual[0]), (5.0, 0.0));
}

#[test]
fn a_batch_with_a_bad_value_changes_nothing_and_names_it() {
    let mut e = Ewma::new(EwmaConfig::default()).unwrap();
    e.observe(&1.0).unwrap();
    let before = e.clone();
    let mut cols = Columns::new(4);
    let err = e
        .observe_batch(&[1.0, 2.0, f64::NAN, 4.0], &mut cols.view())
        .unwrap_err();
    assert!(matches!(
        &err,
        Error::Batch { index: 2, error } if matches!(**error, Error::NonFinite { .. })
    ));
    assert_eq!(err.code(), 17);
    assert_eq!(e, before);
    // Columns of the wrong length are refused before anything is looked at.
    let mut short = Columns::new(3);
    assert!(matches!(
        e.observe_batch(&[1.0, 2.0, 3.0, 4.0], &mut short.view()),
        Err(Error::LengthMismatch {
            expected: 4,
            got: 3,
            ..
        })
    ));
    assert_eq!(e, before);
    // An empty batch is a no-op.
    e.observe_batch(&[], &mut Columns::new(0).view()).unwrap();
    assert_eq!(e, before);
}
