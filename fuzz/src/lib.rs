//! What the fuzz targets share: a small schema, a profile learnt from deterministic
//! history (built once per process), and the mapping from fuzzer bytes to ticks that
//! are mostly plausible, so the fuzzer spends its time inside the analysis rather than
//! on inputs the first check rejects.

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use coalmine::profile::{BehaviorProfile, ProfileBuilder, ProfileConfig};
use coalmine::schema::{
    Direction, FeatureSpec, MetricKind, MetricSpec, Schema, SchemaSpec, SegmentSpec,
};

/// Metrics per segment in the fixture schema.
pub const METRICS: usize = 3;
/// Segments in the fixture schema.
pub const SEGMENTS: usize = 2;
/// Ticks per day of the fixture history.
pub const DAY: usize = 24;

/// Typical level of each metric (error ratio, latency in ms, checkout calls).
const LEVEL: [f64; METRICS] = [0.01, 120.0, 200.0];
/// Typical spread of each metric.
const SPREAD: [f64; METRICS] = [0.002, 5.0, 10.0];

/// The fixture schema: an error ratio, a latency gauge and a feature's call count, in
/// two segments of different weight.
pub fn spec() -> SchemaSpec {
    let metric = |name: &str, direction, kind, feature: Option<&str>| MetricSpec {
        kind,
        feature: feature.map(str::to_string),
        ..MetricSpec::new(name, direction)
    };
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
        ],
        segments: vec![
            SegmentSpec {
                name: "enterprise".into(),
                weight: 3.0,
            },
            SegmentSpec {
                name: "free".into(),
                weight: 1.0,
            },
        ],
        features: vec![FeatureSpec {
            name: "checkout".into(),
            weight: 2.0,
        }],
    }
}

/// A deterministic xorshift generator: the history must not depend on the fuzzer.
struct Noise(u64);

impl Noise {
    fn normal(&mut self) -> f64 {
        let mut uniform = || {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        let (u, v) = (uniform(), uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// The fixture profile, learnt once per process from four days of history.
pub fn profile() -> &'static BehaviorProfile {
    static PROFILE: OnceLock<BehaviorProfile> = OnceLock::new();
    PROFILE.get_or_init(|| {
        let schema = Schema::new(spec()).expect("the fixture schema is valid");
        let mut builder =
            ProfileBuilder::new(schema, ProfileConfig::default()).expect("default config");
        let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
        for t in 0..DAY * 4 {
            let daily = (std::f64::consts::TAU * (t % DAY) as f64 / DAY as f64).sin();
            let mut row = [0.0; SEGMENTS * METRICS];
            for (i, v) in row.iter_mut().enumerate() {
                let m = i % METRICS;
                let level = LEVEL[m] * (1.0 + 0.2 * daily);
                *v = (level + SPREAD[m] * noise.normal()).max(0.0);
            }
            builder.push_tick(&row).expect("fixture history is valid");
        }
        builder.build().expect("the fixture profile builds")
    })
}

/// One value of a fuzzed tick.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum Value {
    /// The metric's typical level moved by `offset` hundredths of its spread.
    Near(i16),
    /// The metric's typical level scaled by `factor` tenths.
    Scaled(u8),
    /// Missing.
    Missing,
    /// Any bit pattern, infinities and absurd magnitudes included.
    Raw(f64),
}

impl Value {
    /// The number this value stands for, as metric `m` of a tick.
    pub fn resolve(self, m: usize) -> f64 {
        match self {
            Value::Near(o) => LEVEL[m] + SPREAD[m] * f64::from(o) / 100.0,
            Value::Scaled(f) => LEVEL[m] * f64::from(f) / 10.0,
            Value::Missing => f64::NAN,
            Value::Raw(x) => x,
        }
    }
}

/// How far the clock moves before a fuzzed tick.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum Dt {
    /// One tick interval (60 s), the common case.
    Next,
    /// A gap of this many intervals (0 repeats the previous timestamp).
    Gap(u16),
    /// Any number of seconds: negative, zero, non-finite and absurd included.
    Raw(f64),
}

impl Dt {
    /// The timestamp after `last`.
    pub fn after(self, last: f64) -> f64 {
        match self {
            Dt::Next => last + 60.0,
            Dt::Gap(n) => last + 60.0 * f64::from(n),
            Dt::Raw(x) => last + x,
        }
    }
}

/// One fuzzed tick: how far the clock moved and the two cohorts' values. Vectors of
/// the wrong length are kept as they are, so length checks are fuzzed too.
#[derive(Debug, Clone, Arbitrary)]
pub struct Step {
    /// How far the clock moved since the last accepted tick.
    pub dt: Dt,
    /// The control cohort's values.
    pub control: Vec<Value>,
    /// The canary cohort's values.
    pub canary: Vec<Value>,
}

/// Resolves a cohort's values into `out` (cleared first).
pub fn resolve(values: &[Value], out: &mut Vec<f64>) {
    out.clear();
    out.extend(
        values
            .iter()
            .enumerate()
            .map(|(i, v)| v.resolve(i % METRICS)),
    );
}

/// The configuration of the command's tests (`crates/coalmine-cli/tests/fixtures`),
/// whose schema the metrics CSV target reads against, so that the fixtures' rows are
/// valid seeds.
pub const CLI_CONFIG: &str = include_str!("../../crates/coalmine-cli/tests/fixtures/config.toml");

/// The schema of [`CLI_CONFIG`], read once per process.
pub fn cli_schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        coalmine_cli::config::ConfigFile::from_bytes(CLI_CONFIG.as_bytes(), "config.toml")
            .and_then(|c| c.schema().map_err(Into::into))
            .expect("the test configuration is valid")
    })
}

/// Longest message the command's readers may print: fields from the input are cut to
/// 40 characters, so no message grows with the input.
pub const MAX_MESSAGE: usize = 600;

/// Checks the shape of a reader's error: it names `file` first, is one line, and is
/// short whatever the input held.
pub fn assert_one_line(message: &str, file: &str) {
    assert!(
        message.starts_with(file),
        "the message must name the file: {message}"
    );
    assert!(
        !message.contains('\n'),
        "the message must be one line: {message}"
    );
    assert!(
        message.chars().count() <= MAX_MESSAGE,
        "the message is too long ({} characters): {message}",
        message.chars().count()
    );
}
