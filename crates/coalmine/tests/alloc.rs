//! Proves that the detectors allocate nothing per observation once built: a counting
//! global allocator watches 100,000 updates of each. This file holds one test so that
//! no other test thread allocates while it counts.

// A global allocator cannot be written without `unsafe`; it only forwards to `System`.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use coalmine::analysis::{Analysis, AnalysisConfig, BatchOptions, Tick, TickBatch};
use coalmine::risk::{RiskConfig, RiskEngine};
use coalmine::schema::FeatureSpec;
use coalmine::traffic::TrafficConfig;
use coalmine::{
    AnomalyColumns, AnomalyDetector, Autoencoder, AutoencoderConfig, Ewma, EwmaConfig, FitOptions,
    HoltWinters, HoltWintersConfig,
};
use coalmine::{
    Direction, MetricSpec, ProfileBuilder, ProfileConfig, Schema, SchemaSpec, SegmentSpec,
};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator, which upholds
// the `GlobalAlloc` contract; counting has no effect on the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The univariate detectors, behind one object for the batch loop below.
trait BatchTarget {
    fn batch(&mut self, xs: &[f64], out: &mut AnomalyColumns<'_>);
}

impl<D: AnomalyDetector<Input = f64> + Clone> BatchTarget for D {
    fn batch(&mut self, xs: &[f64], out: &mut AnomalyColumns<'_>) {
        self.observe_batch(xs, out).unwrap();
    }
}

const UPDATES: usize = 100_000;

/// A cheap deterministic signal with a daily-like season and some noise.
fn signal(t: usize) -> f64 {
    let noise = ((t.wrapping_mul(2_654_435_761) % 1000) as f64 / 1000.0) - 0.5;
    100.0 + 20.0 * ((t % 1440) as f64 * std::f64::consts::TAU / 1440.0).sin() + noise
}

/// Runs `f` and returns how many allocations it made.
fn allocations_during(mut f: impl FnMut()) -> usize {
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    f();
    ALLOCATIONS.load(Ordering::SeqCst) - before
}

#[test]
fn no_allocation_per_observation() {
    let mut ewma = Ewma::new(EwmaConfig::default()).unwrap();
    let history: Vec<f64> = (0..1440 * 3).map(signal).collect();
    let mut hw24 = HoltWinters::fit(
        HoltWintersConfig {
            season_length: 24,
            ..HoltWintersConfig::default()
        },
        &history[..24 * 20],
        &FitOptions::default(),
    )
    .unwrap();
    let mut hw1440 = HoltWinters::from_history(
        HoltWintersConfig {
            season_length: 1440,
            ..HoltWintersConfig::default()
        },
        &history,
    )
    .unwrap();

    let mut sink = 0.0;
    let n = allocations_during(|| {
        for t in 0..UPDATES {
            sink += ewma.observe(&signal(t)).unwrap().tail_probability();
        }
    });
    assert_eq!(n, 0, "Ewma allocated {n} times in {UPDATES} updates");

    let n = allocations_during(|| {
        for t in 0..UPDATES {
            sink += hw24.observe(&signal(t)).unwrap().tail_probability();
        }
    });
    assert_eq!(n, 0, "HoltWinters(m=24) allocated {n} times");

    let n = allocations_during(|| {
        for t in 0..UPDATES {
            sink += hw1440.observe(&signal(t)).unwrap().deviation;
            sink += hw1440.forecast(30) + hw1440.forecast_std(30);
        }
    });
    assert_eq!(n, 0, "HoltWinters(m=1440) allocated {n} times");

    // Rejected observations allocate nothing either (the error is a plain value).
    let n = allocations_during(|| {
        for _ in 0..1_000 {
            assert!(hw24.observe(&f64::NAN).is_err());
            assert!(ewma.observe(&f64::INFINITY).is_err());
        }
    });
    assert_eq!(n, 0, "rejections allocated {n} times");

    // Batches: nothing per observation. The EWMA allocates nothing at all; Holt-Winters
    // copies its season once per batch, the price of a batch that applies atomically.
    let xs: Vec<f64> = (0..1_000).map(signal).collect();
    let mut cols = [
        vec![0.0; xs.len()],
        vec![0.0; xs.len()],
        vec![0.0; xs.len()],
        vec![0.0; xs.len()],
    ];
    let mut ready = vec![false; xs.len()];
    let batches = 100;
    for (det, most) in [(&mut ewma as &mut dyn BatchTarget, 0), (&mut hw24, batches)] {
        let n = allocations_during(|| {
            for _ in 0..batches {
                let [e, r, d, p] = &mut cols;
                let mut out = AnomalyColumns {
                    expected: e,
                    residual: r,
                    deviation: d,
                    tail_probability: p,
                    ready: &mut ready,
                };
                det.batch(&xs, &mut out);
            }
        });
        assert!(
            n <= most,
            "{batches} batches allocated {n} times (at most {most})"
        );
    }

    let d = 9;
    let rows = 600;
    let data = ndarray_data(rows, d);
    let mut ae = Autoencoder::train(
        AutoencoderConfig {
            epochs: 5,
            ..AutoencoderConfig::default()
        },
        data.view(),
    )
    .unwrap();
    let mut x = vec![0.0; d];
    let mut shares = vec![0.0; d];
    let n = allocations_during(|| {
        for t in 0..UPDATES {
            for (i, xi) in x.iter_mut().enumerate() {
                *xi = signal(t + 97 * i);
            }
            sink += ae.observe(&x).unwrap().tail_probability();
            sink += ae.score_into(&x, &mut shares).unwrap().deviation;
        }
    });
    assert_eq!(n, 0, "Autoencoder allocated {n} times");

    // The per-tick risk path: 3 segments x 4 metrics, with missing values and a fault.
    let (segments, metrics) = (3, 4);
    let schema = Schema::new(SchemaSpec {
        metrics: (0..metrics)
            .map(|m| {
                let mut spec = MetricSpec::new(format!("m{m}"), Direction::IncreaseIsBad);
                spec.feature = (m == 2).then(|| "f".to_string());
                spec.limit = (m == 3).then_some(1e6);
                spec
            })
            .collect(),
        segments: (0..segments)
            .map(|s| SegmentSpec {
                name: format!("s{s}"),
                weight: 1.0 + s as f64,
            })
            .collect(),
        features: vec![FeatureSpec {
            name: "f".into(),
            weight: 2.0,
        }],
    })
    .unwrap();
    let cells = segments * metrics;
    let mut builder = ProfileBuilder::new(schema, ProfileConfig::default()).unwrap();
    let mut row = vec![0.0; cells];
    for t in 0..24 * 6 {
        for (i, v) in row.iter_mut().enumerate() {
            *v = signal(t * 60 + 7 * i);
        }
        builder.push_tick(&row).unwrap();
    }
    let profile = builder.build().unwrap();
    let mut engine = RiskEngine::new(&profile, RiskConfig::default()).unwrap();
    let (mut control, mut canary) = (vec![0.0; cells], vec![0.0; cells]);
    let n = allocations_during(|| {
        for t in 0..20_000 {
            for i in 0..cells {
                control[i] = signal(t * 60 + 7 * i);
                canary[i] = signal(t * 60 + 7 * i + 1) + if t > 10_000 { 5.0 } else { 0.0 };
            }
            if t % 17 == 0 {
                canary[t % cells] = f64::NAN;
            }
            sink += engine.assess(&control, &canary).unwrap().risk;
        }
        // Rejected ticks allocate nothing either.
        assert!(engine.assess(&control[1..], &canary).is_err());
    });
    assert_eq!(n, 0, "RiskEngine::assess allocated {n} times");

    // A whole rollout: decisions, traffic and the copied assessment. The ramp dwells on
    // each step for ever, so the analysis is never promoted (promotion ends it) and
    // observes every one of the 20,000 ticks.
    let endless = AnalysisConfig {
        traffic: TrafficConfig {
            min_dwell_ticks: u32::MAX,
            ..TrafficConfig::default()
        },
        ..AnalysisConfig::default()
    };
    let mut analysis = Analysis::new(&profile, endless).unwrap();
    let n = allocations_during(|| {
        for t in 0..20_000 {
            for i in 0..cells {
                control[i] = signal(t * 60 + 7 * i);
                canary[i] = signal(t * 60 + 7 * i + 1) + if t > 15_000 { 50.0 } else { 0.0 };
            }
            let tick = Tick {
                timestamp: t as f64,
                control: &control,
                canary: &canary,
                control_counts: None,
                canary_counts: None,
            };
            sink += analysis.observe(&tick).unwrap().assessment.risk;
        }
        let stale = Tick {
            timestamp: 0.0,
            control: &control,
            canary: &canary,
            control_counts: None,
            canary_counts: None,
        };
        assert!(analysis.observe(&stale).is_err());
    });
    assert_eq!(n, 0, "Analysis::observe allocated {n} times");

    // A restored analysis is as frugal from its very first tick, with counts too.
    let mut restored = Analysis::restore(&analysis.checkpoint()).unwrap();
    let counts: Vec<f64> = (0..cells).map(|i| (i % 7) as f64 * 100.0).collect();
    let n = allocations_during(|| {
        for t in 20_000..21_000 {
            for i in 0..cells {
                control[i] = signal(t * 60 + 7 * i);
                canary[i] = signal(t * 60 + 7 * i + 1) + 50.0;
            }
            let tick = Tick::new(t as f64, &control, &canary).with_counts(&counts, &counts);
            sink += restored.observe(&tick).unwrap().assessment.risk;
        }
    });
    assert_eq!(n, 0, "a restored Analysis allocated {n} times");

    // Batches: nothing at all, however many ticks (every tick is checked before any is
    // applied, so atomicity needs no copy of the analysis).
    let ticks = 400;
    let timestamps: Vec<f64> = (0..ticks).map(|t| 21_000.0 + t as f64).collect();
    let rows = |shift: f64| -> Vec<f64> {
        (0..ticks * cells)
            .map(|j| signal((21_000 + j / cells) * 60 + 7 * (j % cells)) + shift)
            .collect()
    };
    let (control_rows, canary_rows) = (rows(0.0), rows(50.0));
    let count_rows: Vec<f64> = (0..ticks).flat_map(|_| counts.iter().copied()).collect();
    let mut observed = 0;
    let n = allocations_during(|| {
        for b in 0..4 {
            let batch = TickBatch::new(
                &timestamps[b * 100..(b + 1) * 100],
                &control_rows[b * 100 * cells..(b + 1) * 100 * cells],
                &canary_rows[b * 100 * cells..(b + 1) * 100 * cells],
            )
            .with_counts(
                &count_rows[b * 100 * cells..(b + 1) * 100 * cells],
                &count_rows[b * 100 * cells..(b + 1) * 100 * cells],
            );
            observed += restored
                .observe_batch(&batch, BatchOptions::default(), |a| {
                    sink += a.decision().assessment.risk;
                })
                .unwrap();
        }
    });
    assert_eq!(observed, 400);
    assert_eq!(n, 0, "Analysis::observe_batch allocated {n} times");
    assert!(sink.is_finite());
}

fn ndarray_data(rows: usize, d: usize) -> ndarray::Array2<f64> {
    ndarray::Array2::from_shape_fn((rows, d), |(r, c)| signal(r * 13 + 97 * c))
}
