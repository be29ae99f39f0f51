//! Counter-based deterministic randomness: every random quantity of a scenario is drawn
//! from a stream keyed by `(seed, purpose, tick, …)`, so a tick's values are a pure
//! function of the seed, the tick and the canary share — never of the order in which
//! ticks were generated. SplitMix64 throughout (no dependency, identical on every
//! platform), normals by Box-Muller, Student-t from normals.

/// Purpose tags that separate the streams of one seed.
pub(crate) mod tag {
    /// Scenario parameters (onset, magnitude, start of day).
    pub const PARAMS: u64 = 1;
    /// History sampling noise.
    pub const HISTORY: u64 = 2;
    /// Live control-cohort sampling noise.
    pub const CONTROL: u64 = 3;
    /// Live canary-cohort sampling noise.
    pub const CANARY: u64 = 4;
    /// The full-traffic counterfactual used for the static threshold.
    pub const STATIC: u64 = 5;
    /// Common shocks to load (both cohorts).
    pub const SHOCK_LOAD: u64 = 6;
    /// Common shocks to infrastructure (latency, errors; both cohorts).
    pub const SHOCK_INFRA: u64 = 7;
    /// Which live ticks and values are missing.
    pub const GAPS: u64 = 8;
    /// Which history ticks and values are missing.
    pub const HISTORY_GAPS: u64 = 9;
}

/// SplitMix64's output function: a bijective 64-bit mixer.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A SplitMix64 generator.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    state: u64,
}

impl Rng {
    /// A stream keyed by `parts` (order matters).
    pub(crate) fn stream(parts: &[u64]) -> Self {
        let mut h = 0x6A09_E667_F3BC_C909_u64;
        for &p in parts {
            h = mix(h ^ p);
        }
        Rng { state: h }
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in the open interval `(0, 1)`.
    pub(crate) fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `[lo, hi)`.
    pub(crate) fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }

    /// Uniform integer in `lo..=hi` (`lo <= hi`).
    pub(crate) fn int(&mut self, lo: usize, hi: usize) -> usize {
        let span = (hi - lo) as u64 + 1;
        lo + (((self.next_u64() >> 32) * span) >> 32) as usize
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.uniform() < p
    }

    /// A standard normal draw (Box-Muller; the uniforms are in `(0, 1)`, so the
    /// logarithm is finite).
    pub(crate) fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// A Student-t draw with 3 degrees of freedom, rescaled to unit variance.
    pub(crate) fn student_t3_unit(&mut self) -> f64 {
        let z = self.normal();
        let chi2: f64 = (0..3).map(|_| self.normal().powi(2)).sum();
        // t3 = z / sqrt(chi2 / 3) has variance 3.
        z / chi2.max(1e-300).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = {
            let mut r = Rng::stream(&[1, 2, 3]);
            (0..4).map(|_| r.next_u64()).collect()
        };
        let b: Vec<u64> = {
            let mut r = Rng::stream(&[1, 2, 3]);
            (0..4).map(|_| r.next_u64()).collect()
        };
        let c: Vec<u64> = {
            let mut r = Rng::stream(&[1, 3, 2]);
            (0..4).map(|_| r.next_u64()).collect()
        };
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn draws_have_the_right_moments() {
        let mut r = Rng::stream(&[42]);
        let n = 40_000;
        let xs: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(
            mean.abs() < 0.03 && (var - 1.0).abs() < 0.05,
            "{mean} {var}"
        );
        let ts: Vec<f64> = (0..n).map(|_| r.student_t3_unit()).collect();
        let big = ts.iter().filter(|t| t.abs() > 4.0).count() as f64 / n as f64;
        // Far heavier tails than the normal's 6e-5 beyond 4 sd.
        assert!(big > 2e-3, "{big}");
        for _ in 0..1000 {
            let u = r.uniform();
            assert!(u > 0.0 && u < 1.0);
            let k = r.int(3, 7);
            assert!((3..=7).contains(&k));
        }
    }
}
