//! ns per update of each detector, each beside a bare loop doing the same arithmetic
//! (see `coalmine_benches`), so the API's overhead shows as a ratio in one run.
//!
//! EWMA and Holt-Winters have four rows: `api` (observe and ask the tail
//! probability), `api_deviation` (observe and use the deviation only: the tail is
//! computed on demand, so it is not computed), `bare` (the bare loop with the tail)
//! and `bare_recurrence` (the bare loop without any tail).

use std::hint::black_box;

use coalmine::{
    AnomalyDetector, Autoencoder, AutoencoderConfig, Ewma, EwmaConfig, HoltWinters,
    HoltWintersConfig,
};
use coalmine_benches::{
    AeBare, HwBare, ScaleParams, ewma_bare, ewma_bare_recurrence, hw_bare, hw_bare_recurrence,
    initial_season, signal,
};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

const N: usize = 10_000;

fn ewma(c: &mut Criterion) {
    let xs = signal(N, 24);
    let cfg = EwmaConfig::default();
    let fresh = Ewma::new(cfg).unwrap();
    let scale = ScaleParams::of_ewma(&cfg);
    let mut g = c.benchmark_group("ewma");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("api", |b| {
        b.iter_batched_ref(
            || fresh.clone(),
            |det| {
                let mut sum = 0.0;
                for x in &xs {
                    if let Ok(a) = det.observe(black_box(x)) {
                        sum += a.tail_probability();
                    }
                }
                sum
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("api_deviation", |b| {
        b.iter_batched_ref(
            || fresh.clone(),
            |det| {
                let mut sum = 0.0;
                for x in &xs {
                    if let Ok(a) = det.observe(black_box(x)) {
                        sum += a.deviation;
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
    g.bench_function("bare_recurrence", |b| {
        b.iter(|| ewma_bare_recurrence(black_box(&xs), cfg.alpha, scale))
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
        let season = initial_season(m);
        let fresh = HoltWinters::new(cfg, 100.0, 0.0, &season).unwrap();
        let bare = HwBare::new(&cfg, season);
        let scale = ScaleParams::of_holt_winters(&cfg);
        let mut g = c.benchmark_group(format!("holt_winters_m{m}"));
        g.throughput(Throughput::Elements(N as u64));
        g.bench_function("api", |b| {
            b.iter_batched_ref(
                || fresh.clone(),
                |det| {
                    let mut sum = 0.0;
                    for x in &xs {
                        if let Ok(a) = det.observe(black_box(x)) {
                            sum += a.tail_probability();
                        }
                    }
                    sum
                },
                BatchSize::SmallInput,
            )
        });
        g.bench_function("api_deviation", |b| {
            b.iter_batched_ref(
                || fresh.clone(),
                |det| {
                    let mut sum = 0.0;
                    for x in &xs {
                        if let Ok(a) = det.observe(black_box(x)) {
                            sum += a.deviation;
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
        g.bench_function("bare_recurrence", |b| {
            b.iter_batched_ref(
                || bare.clone(),
                |st| hw_bare_recurrence(st, black_box(&xs), scale),
                BatchSize::SmallInput,
            )
        });
        g.finish();
    }
}

/// Scoring vectors of `d` metrics with a `d -> 4 -> d` autoencoder.
fn autoencoder(c: &mut Criterion) {
    const VECTORS: usize = 1_000;
    for d in [9usize, 16] {
        let h = 4;
        let raw = signal(400 * d, 24);
        let data = coalmine::ndarray::Array2::from_shape_fn((400, d), |(r, k)| raw[r * d + k]);
        let config = AutoencoderConfig {
            hidden: h,
            epochs: 20,
            ..AutoencoderConfig::default()
        };
        let mut det = Autoencoder::train(config, data.view()).unwrap();
        let xs = signal(VECTORS * d, 24);
        let mut bare = AeBare::new(d, h);
        let mut g = c.benchmark_group(format!("autoencoder_d{d}_h{h}"));
        g.throughput(Throughput::Elements(VECTORS as u64));
        g.bench_function("api", |b| {
            b.iter(|| {
                let mut sum = 0.0;
                for x in xs.chunks_exact(d) {
                    if let Ok(a) = det.observe(black_box(x)) {
                        sum += a.tail_probability();
                    }
                }
                sum
            })
        });
        g.bench_function("bare", |b| {
            b.iter(|| {
                let mut sum = 0.0;
                for x in xs.chunks_exact(d) {
                    sum += bare.score(black_box(x));
                }
                sum
            })
        });
        g.finish();
    }
}

/// What one tail probability costs: the Student-t tail every univariate update
/// computes (at the detectors' usual 18 degrees of freedom, at 1,000, and in the far
/// tail), exact and from the per-dof table (`_tabled`, what a settled detector uses),
/// beside the general regularised incomplete beta function it replaced (statrs)
/// and the plain normal tail.
fn tails(c: &mut Criterion) {
    use coalmine::math::dist::{normal_two_sided, student_t_two_sided, student_t_two_sided_tabled};
    let zs: Vec<f64> = signal(N, 24).iter().map(|x| (x - 100.0) / 7.0).collect();
    let far: Vec<f64> = zs.iter().map(|z| 8.0 + z).collect();
    let mut g = c.benchmark_group("tail");
    g.throughput(Throughput::Elements(N as u64));
    for (name, dof, xs) in [
        ("student_t_dof18", 18.0, &zs),
        ("student_t_dof1000", 1000.0, &zs),
        ("student_t_dof18_far", 18.0, &far),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                xs.iter()
                    .map(|&z| student_t_two_sided(black_box(z), dof))
                    .sum::<f64>()
            })
        });
        g.bench_function(format!("{name}_tabled"), |b| {
            b.iter(|| {
                xs.iter()
                    .map(|&z| student_t_two_sided_tabled(black_box(z), dof))
                    .sum::<f64>()
            })
        });
    }
    g.bench_function("statrs_beta_reg_dof18", |b| {
        b.iter(|| {
            zs.iter()
                .map(|&z| {
                    let z = black_box(z);
                    statrs::function::beta::beta_reg(9.0, 0.5, 18.0 / (18.0 + z * z))
                })
                .sum::<f64>()
        })
    });
    g.bench_function("normal", |b| {
        b.iter(|| {
            zs.iter()
                .map(|&z| normal_two_sided(black_box(z)))
                .sum::<f64>()
        })
    });
    g.finish();
}

criterion_group!(benches, ewma, holt_winters, autoencoder, tails);
criterion_main!(benches);
