//! A small deterministic simulator shared by the integration tests: two segments,
//! five metrics with a daily cycle, a control cohort and a noisier canary cohort, and
//! effects (faults or global events) applied from an onset tick.
#![allow(dead_code)]

use coalmine::profile::{BehaviorProfile, ProfileBuilder, ProfileConfig};
use coalmine::schema::{
    Direction, FeatureSpec, MetricKind, MetricSpec, Schema, SchemaSpec, SegmentSpec,
};

pub const DAY: usize = 48;
pub const METRICS: usize = 5;
pub const ERRORS: usize = 0;
pub const LATENCY: usize = 1;
pub const CHECKOUT: usize = 2;
pub const SEARCH: usize = 3;
pub const MEMORY: usize = 4;

pub fn spec() -> SchemaSpec {
    let metric = |name: &str, direction, kind, feature: Option<&str>| MetricSpec {
        kind,
        feature: feature.map(str::to_string),
        ..MetricSpec::new(name, direction)
    };
    let mut memory = metric(
        "memory_mb",
        Direction::IncreaseIsBad,
        MetricKind::Gauge,
        None,
    );
    memory.limit = Some(1400.0);
    SchemaSpec {
        metrics: vec![
            metric(
                "error_rate",
                Direction::IncreaseIsBad,
                MetricKind::Ratio,
                None,
            ),
            metric(
                "latency_ms",
                Direction::IncreaseIsBad,
                MetricKind::Gauge,
                None,
            ),
            metric(
                "checkout_calls",
                Direction::DecreaseIsBad,
                MetricKind::Count,
                Some("checkout"),
            ),
            metric(
                "search_calls",
                Direction::DecreaseIsBad,
                MetricKind::Count,
                Some("search"),
            ),
            memory,
        ],
        segments: vec![
            SegmentSpec {
                name: "enterprise".into(),
                weight: 4.0,
            },
            SegmentSpec {
                name: "free".into(),
                weight: 1.0,
            },
        ],
        features: vec![
            FeatureSpec {
                name: "checkout".into(),
                weight: 2.0,
            },
            FeatureSpec {
                name: "search".into(),
                weight: 1.0,
            },
        ],
    }
}

/// A small deterministic normal generator (xorshift + Box-Muller).
pub struct Noise(pub u64);
impl Noise {
    pub fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    pub fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// What a fault does to the canary (or to both cohorts, for global events).
#[derive(Clone, Copy, Default)]
pub struct Effect {
    pub errors: f64,
    pub latency: f64,
    pub checkout: f64,
    pub search: f64,
    pub memory_per_tick: f64,
    pub traffic: f64,
}

/// One cohort's metrics for segment `s` at tick `t`; `noise_scale` grows as the cohort
/// shrinks.
pub fn metrics(
    t: usize,
    s: usize,
    noise_scale: f64,
    e: Effect,
    since: usize,
    n: &mut Noise,
) -> [f64; METRICS] {
    let phase = std::f64::consts::TAU * (t % DAY) as f64 / DAY as f64;
    let size = if s == 0 { 1.0 } else { 2.0 };
    let traffic = (1.0 + 0.5 * phase.sin()) * (1.0 + e.traffic);
    let z = |n: &mut Noise| n.normal() * noise_scale;
    let elapsed = t.saturating_sub(since) as f64;
    [
        (0.01 + e.errors + 0.001 * z(n)).clamp(0.0, 1.0),
        120.0 + 20.0 * traffic + e.latency + 3.0 * z(n),
        (200.0 * size * traffic * (1.0 + e.checkout) + 6.0 * z(n)).max(0.0),
        (500.0 * size * traffic * (1.0 + e.search) + 10.0 * z(n)).max(0.0),
        800.0 + 10.0 * traffic + e.memory_per_tick * elapsed + 4.0 * z(n),
    ]
}

pub fn profile() -> BehaviorProfile {
    let schema = Schema::new(spec()).unwrap();
    let mut b = ProfileBuilder::new(schema, ProfileConfig::default()).unwrap();
    let mut n = Noise(7);
    for t in 0..DAY * 6 {
        let mut row = Vec::with_capacity(2 * METRICS);
        for s in 0..2 {
            row.extend(metrics(t, s, 1.0, Effect::default(), 0, &mut n));
        }
        b.push_tick(&row).unwrap();
    }
    b.build().unwrap()
}
