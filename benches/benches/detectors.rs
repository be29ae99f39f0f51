//! ns per update of each detector, each beside a bare loop doing the same arithmetic
//! (see `coalmine_benches`), so the API's overhead shows as a ratio in one run.

use std::hint::black_box;

use coalmine::{AnomalyDetector, Ewma, EwmaConfig, HoltWinters, HoltWintersConfig};
use coalmine_benches::{HwBare, ScaleParams, ewma_bare, hw_bare, signal};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

const N: usize = 10_000;

fn ewma(c: &mut Criterion) {
    let xs = signal(N, 24);
    let cfg = EwmaConfig::default();
    let fresh = Ewma::new(cfg).unwrap();
    let scale = ScaleParams {
        alpha: cfg.alpha,
        clip: cfg.clip,
        warmup: cfg.warmup,
    };
    let mut g = c.benchmark_group("ewma");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("api", |b| {
        b.iter_batched_ref(
            || fresh.clone(),
            |det| {
                let mut sum = 0.0;
                for x in &xs {
                    if let Ok(a) = det.observe(black_box(x)) {
                        sum += a.tail_probability;
                    }
                }
                sum
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("bare", |b| {
        b.iter(|| ewma_bare(black_box(&xs), cfg.alpha, scale))
    });
    g.finish();
}

fn holt_winters(c: &mut Criterion) {
    for m in [24usize, 1440] {
        let xs = signal(N, m);
        let cfg = HoltWintersConfig {
            season_length: m,
            ..HoltWintersConfig::default()
        };
        let season: Vec<f64> = (0..m)
            .map(|i| 20.0 * (i as f64 * std::f64::consts::TAU / m as f64).sin())
            .collect();
        let fresh = HoltWinters::new(cfg, 100.0, 0.0, &season).unwrap();
        let p = cfg.params;
        let bare = HwBare {
            level: 100.0,
            trend: 0.0,
            season,
            params: (p.alpha, p.beta, p.gamma, p.phi),
        };
        let scale = ScaleParams {
            alpha: cfg.variance_alpha,
            clip: cfg.clip,
            warmup: cfg.warmup,
        };
        let mut g = c.benchmark_group(format!("holt_winters_m{m}"));
        g.throughput(Throughput::Elements(N as u64));
        g.bench_function("api", |b| {
            b.iter_batched_ref(
                || fresh.clone(),
                |det| {
                    let mut sum = 0.0;
                    for x in &xs {
                        if let Ok(a) = det.observe(black_box(x)) {
                            sum += a.tail_probability;
                        }
                    }
                    sum
                },
                BatchSize::SmallInput,
            )
        });
        g.bench_function("bare", |b| {
            b.iter_batched_ref(
                || bare.clone(),
                |st| hw_bare(st, black_box(&xs), scale),
                BatchSize::SmallInput,
            )
        });
        g.finish();
    }
}

criterion_group!(benches, ewma, holt_winters);
criterion_main!(benches);
