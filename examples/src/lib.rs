//! Shared pieces of the runnable examples: a small deterministic simulator of a service
//! with user segments, a daily cycle, and a canary cohort that may carry a fault.

use coalmine::schema::{Direction, FeatureSpec, MetricKind, MetricSpec, SchemaSpec, SegmentSpec};

/// Ticks per simulated day (30-minute ticks).
pub const DAY: usize = 48;

/// The example service's schema: two segments, five metrics, two features.
pub fn schema() -> SchemaSpec {
    let metric = |name: &str, direction, kind, feature: Option<&str>| MetricSpec {
        kind,
        feature: feature.map(str::to_string),
        ..MetricSpec::new(name, direction)
    };
    let mut errors = metric(
        "error_rate",
        Direction::IncreaseIsBad,
        MetricKind::Ratio,
        None,
    );
    errors.critical = false;
    let mut memory = metric(
        "memory_mb",
        Direction::IncreaseIsBad,
        MetricKind::Gauge,
        None,
    );
    memory.limit = Some(1400.0);
    SchemaSpec {
        metrics: vec![
            errors,
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

/// A fault the canary may carry.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fault {
    /// Added to the error ratio.
    pub errors: f64,
    /// Added to latency (ms).
    pub latency: f64,
    /// Relative change of checkout calls (−0.3 = 30 % fewer).
    pub checkout: f64,
    /// Memory growth per tick since onset (MB).
    pub leak_per_tick: f64,
}

/// Deterministic noise (xorshift64 with Box-Muller).
#[derive(Debug, Clone)]
pub struct Noise(pub u64);

impl Noise {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// A standard normal draw.
    pub fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// One cohort's values for all segments at tick `t` (`values[s * 5 + m]`). `share` is
/// the cohort's share of traffic: a smaller cohort is noisier. `since` is the tick
/// the fault started (for a leak).
pub fn cohort(t: usize, share: f64, fault: Fault, since: usize, n: &mut Noise) -> Vec<f64> {
    let noise = (0.25 / share.clamp(0.01, 0.95)).sqrt().max(1.0);
    let phase = std::f64::consts::TAU * (t % DAY) as f64 / DAY as f64;
    let traffic = 1.0 + 0.5 * phase.sin();
    let elapsed = t.saturating_sub(since) as f64;
    let mut out = Vec::with_capacity(10);
    for s in 0..2 {
        let size = if s == 0 { 1.0 } else { 2.0 };
        let mut z = || n.normal() * noise;
        out.push((0.01 + fault.errors + 0.001 * z()).clamp(0.0, 1.0));
        out.push(120.0 + 20.0 * traffic + fault.latency + 3.0 * z());
        out.push((200.0 * size * traffic * (1.0 + fault.checkout) + 6.0 * z()).max(0.0));
        out.push((500.0 * size * traffic + 10.0 * z()).max(0.0));
        out.push(800.0 + 10.0 * traffic + fault.leak_per_tick * elapsed + 4.0 * z());
    }
    out
}
