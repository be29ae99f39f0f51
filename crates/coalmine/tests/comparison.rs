//! The comparison statistics against scipy (fixture made by
//! `scripts/oracles_comparison.py`), and simulated rollouts showing why canary
//! analysis uses the sequential test rather than a fixed-horizon test checked at every
//! tick.

use coalmine::compare::{
    Direction, MannWhitneyScratch, SequentialConfig, SequentialTest, hodges_lehmann, mann_whitney_u,
};
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    x: Vec<f64>,
    y: Vec<f64>,
    u: f64,
    p_two_sided: f64,
    p_greater: f64,
    p_less: f64,
    hodges_lehmann: Option<f64>,
}

/// Absolute below 1, relative above (p-values: 1e-12).
fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1.0)
}

#[test]
fn mann_whitney_equals_scipy() {
    let path = format!(
        "{}/tests/fixtures/mann_whitney.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let cases = serde_json::from_str::<Fixture>(&text).unwrap().cases;
    assert!(cases.len() >= 12);
    let mut scratch = MannWhitneyScratch::with_capacity(200);
    let mut with_hl = 0;
    for c in &cases {
        let r = mann_whitney_u(&c.x, &c.y, &mut scratch).unwrap();
        let name = &c.name;
        assert_eq!(r.u, c.u, "{name}: U");
        assert_eq!((r.n_x, r.n_y), (c.x.len(), c.y.len()));
        for (what, got, want) in [
            ("two-sided", r.p_value, c.p_two_sided),
            ("greater", r.p_greater, c.p_greater),
            ("less", r.p_less, c.p_less),
        ] {
            assert!(
                close(got, want, 1e-12),
                "{name}: {what} p {got} vs scipy {want}"
            );
        }
        assert_eq!(r.effect_size, c.u / (c.x.len() * c.y.len()) as f64);
        // The signed z agrees with the one-sided p-values.
        assert!(
            r.z == 0.0 || (r.z > 0.0) == (r.p_greater < r.p_less),
            "{name}"
        );
        if let Some(want) = c.hodges_lehmann {
            let e = hodges_lehmann(&c.x, &c.y, 0.95, &mut scratch).unwrap();
            assert_eq!(e.shift, want, "{name}: Hodges-Lehmann");
            assert!(e.lower <= e.shift && e.shift <= e.upper, "{name}");
            with_hl += 1;
        }
    }
    assert!(with_hl >= 5);
}

/// SplitMix64 with Box-Muller normals: the tests' own deterministic generator.
struct TestRng(u64);

impl TestRng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1].
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    fn normal(&mut self) -> f64 {
        let (u1, u2) = (self.uniform(), self.uniform());
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

const ROLLOUTS: u64 = 1000;
const TICKS: usize = 50;
const ALPHA: f64 = 0.05;
/// First tick at which the repeated fixed-horizon test is run.
const FIRST_LOOK: usize = 5;

/// What fraction of rollouts each procedure flagged, checking at every tick.
struct Rates {
    sequential: f64,
    repeated_mann_whitney: f64,
}

/// Simulates rollouts whose canary and control per-tick values are iid normal with sd
/// 1, the canary shifted by `shift`, and counts the rollouts in which the mSPRT on the
/// paired differences (and, if asked, a Mann-Whitney test at level `ALPHA` on the
/// cumulative samples) rejects at any tick.
fn simulate(shift: f64, direction: Direction, seed: u64, with_mann_whitney: bool) -> Rates {
    // The differences of two independent unit-variance values have sd sqrt(2).
    let config = SequentialConfig {
        alpha: ALPHA,
        direction,
        ..SequentialConfig::with_reference_sd(std::f64::consts::SQRT_2)
    };
    let mut scratch = MannWhitneyScratch::with_capacity(TICKS);
    let (mut sequential, mut repeated) = (0u64, 0u64);
    let mut canary = Vec::with_capacity(TICKS);
    let mut control = Vec::with_capacity(TICKS);
    for rollout in 0..ROLLOUTS {
        let mut rng = TestRng(seed.wrapping_mul(1_000_003).wrapping_add(rollout));
        let mut test = SequentialTest::new(config).unwrap();
        canary.clear();
        control.clear();
        let (mut seq_hit, mut mw_hit) = (false, false);
        for tick in 1..=TICKS {
            canary.push(10.0 + shift + rng.normal());
            control.push(10.0 + rng.normal());
            let state = test.observe(canary[tick - 1] - control[tick - 1]).unwrap();
            seq_hit |= state.rejected;
            if with_mann_whitney && tick >= FIRST_LOOK && !mw_hit {
                let r = mann_whitney_u(&canary, &control, &mut scratch).unwrap();
                mw_hit = r.p_value <= ALPHA;
            }
        }
        sequential += u64::from(seq_hit);
        repeated += u64::from(mw_hit);
    }
    Rates {
        sequential: sequential as f64 / ROLLOUTS as f64,
        repeated_mann_whitney: repeated as f64 / ROLLOUTS as f64,
    }
}

/// Nominal level plus three binomial standard errors over `ROLLOUTS` rollouts (≈ 0.071).
fn false_alarm_limit() -> f64 {
    ALPHA + 3.0 * (ALPHA * (1.0 - ALPHA) / ROLLOUTS as f64).sqrt()
}

/// An A/A experiment: no real difference, and every tick checked. This is why the
/// sequential test is used: the mSPRT keeps its false-alarm rate at or below alpha
/// however often it is looked at, whereas a fixed-horizon Mann-Whitney test repeated
/// at every tick on the growing samples rejects at least once in several times alpha
/// of the rollouts (each look is another chance for noise to cross the line).
#[test]
fn a_a_rollouts_false_alarms_sequential_versus_repeated_fixed_horizon() {
    let rates = simulate(0.0, Direction::Any, 1, true);
    eprintln!(
        "A/A false alarms over {ROLLOUTS} rollouts x {TICKS} ticks: mSPRT {:.3}, repeated Mann-Whitney {:.3}",
        rates.sequential, rates.repeated_mann_whitney
    );
    assert!(
        rates.sequential <= false_alarm_limit(),
        "mSPRT false-alarm rate {} above {}",
        rates.sequential,
        false_alarm_limit()
    );
    assert!(
        rates.repeated_mann_whitney > 0.15,
        "repeated Mann-Whitney false-alarm rate only {}",
        rates.repeated_mann_whitney
    );
    // A one-sided test is no more trigger-happy.
    let one_sided = simulate(0.0, Direction::IncreaseIsBad, 2, false).sequential;
    eprintln!("A/A false alarms, one-sided (Increase): {one_sided:.3}");
    assert!(one_sided <= false_alarm_limit(), "{one_sided}");
}

#[test]
fn sequential_test_power_and_direction() {
    // A true shift of one standard deviation is caught within 50 ticks.
    let power = simulate(1.0, Direction::Any, 3, false).sequential;
    let power_one_sided = simulate(1.0, Direction::IncreaseIsBad, 4, false).sequential;
    // An improvement (the canary's metric is lower) is not evidence of harm when only
    // increases are harmful.
    let improvement = simulate(-1.0, Direction::IncreaseIsBad, 5, false).sequential;
    eprintln!(
        "power at a 1 sd shift within {TICKS} ticks: two-sided {power:.3}, one-sided {power_one_sided:.3}; \
         Increase test on a -1 sd improvement rejects {improvement:.3}"
    );
    assert!(power >= 0.9, "power {power}");
    assert!(
        power_one_sided >= power - 0.02,
        "one-sided power {power_one_sided}"
    );
    assert!(
        improvement <= ALPHA,
        "improvement flagged in {improvement} of rollouts"
    );
}
