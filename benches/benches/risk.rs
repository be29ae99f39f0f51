//! One tick of the risk path (`RiskEngine::assess`): 10 segments × 20 metrics with the
//! default profile (seasonality detection, autoencoders), and 1,000 × 1,000 series
//! (EWMA detectors, no autoencoder, learnt from 24 ticks so that setup takes seconds).
//! A counting global allocator gives the engine's state in bytes per series: the heap
//! it holds after construction (its per-series states are on the heap) plus its
//! `size_of`.

// A global allocator cannot be written without `unsafe`; it only forwards to `System`.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

use coalmine::risk::{RiskConfig, RiskEngine};
use coalmine::{
    Direction, MetricSpec, ProfileBuilder, ProfileConfig, Schema, SchemaSpec, SegmentSpec,
};
use coalmine_benches::signal;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

struct Counting;

/// Bytes currently allocated.
static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator, which upholds
// the `GlobalAlloc` contract; counting has no effect on the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn schema(segments: usize, metrics: usize) -> Schema {
    Schema::new(SchemaSpec {
        metrics: (0..metrics)
            .map(|m| MetricSpec::new(format!("m{m}"), Direction::IncreaseIsBad))
            .collect(),
        segments: (0..segments)
            .map(|s| SegmentSpec {
                name: format!("s{s}"),
                weight: 1.0,
            })
            .collect(),
        features: vec![],
    })
    .unwrap()
}

/// The engine for a profile learnt from `ticks` ticks of history, and its state in
/// bytes per series.
fn engine(
    segments: usize,
    metrics: usize,
    config: ProfileConfig,
    ticks: usize,
) -> (RiskEngine, f64) {
    let cells = segments * metrics;
    let history = signal(ticks * cells + 1000, 24);
    let mut builder = ProfileBuilder::new(schema(segments, metrics), config).unwrap();
    for t in 0..ticks {
        builder
            .push_tick(&history[t * cells..(t + 1) * cells])
            .unwrap();
    }
    let profile = builder.build().unwrap();
    drop(builder);
    let before = LIVE.load(Ordering::Relaxed);
    let engine = RiskEngine::new(&profile, RiskConfig::default()).unwrap();
    let heap = LIVE.load(Ordering::Relaxed) - before;
    let bytes = (heap as f64 + std::mem::size_of::<RiskEngine>() as f64) / cells as f64;
    (engine, bytes)
}

/// Ticks `(control, canary)` cycling through `n` distinct ones.
fn live(cells: usize, n: usize) -> Vec<f64> {
    signal(n * cells + 1, 24)
}

fn one_tick(c: &mut Criterion, name: &str, segments: usize, metrics: usize, mut e: RiskEngine) {
    let cells = segments * metrics;
    let n = if cells > 100_000 { 4 } else { 2_000 };
    let xs = live(cells, n);
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(cells as u64));
    if cells > 100_000 {
        g.sample_size(10).measurement_time(Duration::from_secs(10));
    }
    let mut k = 0;
    g.bench_function("assess_tick", |b| {
        b.iter(|| {
            let t = k % n;
            k += 1;
            let control = &xs[t * cells..(t + 1) * cells];
            let canary = &xs[t * cells + 1..(t + 1) * cells + 1];
            e.assess(black_box(control), black_box(canary))
                .map(|a| a.risk)
                .unwrap_or(0.0)
        })
    });
    g.finish();
}

fn risk_10x20(c: &mut Criterion) {
    let (e, bytes) = engine(10, 20, ProfileConfig::default(), 24 * 7);
    println!("risk_10x20: engine state {bytes:.0} bytes per series (heap + size_of)");
    one_tick(c, "risk_10x20", 10, 20, e);
}

fn risk_1000x1000(c: &mut Criterion) {
    let config = ProfileConfig {
        season_length: Some(1),
        autoencoder: None,
        ..ProfileConfig::default()
    };
    let (e, bytes) = engine(1000, 1000, config, 24);
    println!("risk_1000x1000: engine state {bytes:.0} bytes per series (heap + size_of)");
    one_tick(c, "risk_1000x1000", 1000, 1000, e);
}

criterion_group!(benches, risk_10x20, risk_1000x1000);
criterion_main!(benches);
