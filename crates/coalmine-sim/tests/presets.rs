//! The simulator's configurations: the presets do what they say (tick rate, sparse
//! error counts, non-critical errors, uneven segments, mid-ramp onsets, wider traps),
//! each live tick carries the counts behind its values, and the noise model the oracle
//! is given matches the noise the simulator draws.

use coalmine_sim::scenario::{ERROR_RATE, LATENCY_MS, N_METRICS, N_SEGMENTS};
use coalmine_sim::{Scenario, ScenarioKind, SimConfig};

fn preset(name: &str) -> SimConfig {
    SimConfig::preset(name).unwrap_or_else(|| panic!("preset {name}"))
}

#[test]
fn every_preset_is_named_and_the_default_is_half_hour() {
    for name in SimConfig::PRESETS {
        let c = preset(name);
        assert_eq!(c.sanitised(), c, "{name} is within its documented ranges");
    }
    assert_eq!(preset("half-hour"), SimConfig::default());
    assert!(SimConfig::preset("fortnightly").is_none());
}

#[test]
fn one_minute_ticks_give_a_day_of_1440_ticks_and_sparse_error_counts() {
    let c = preset("one-minute");
    let sc = Scenario::generate_with(ScenarioKind::AaIdentical, 3, &c);
    assert_eq!(sc.history.len(), sc.history_len());
    assert!(sc.history.len() >= 2 * 1440);
    let steps = sc
        .history
        .windows(2)
        .map(|w| w[1].timestamp - w[0].timestamp);
    assert!(steps.into_iter().all(|d| d == 60));
    assert!(!sc.schema.metrics[ERROR_RATE].critical);
    assert!(
        Scenario::generate(ScenarioKind::AaIdentical, 3)
            .schema
            .metrics[ERROR_RATE]
            .critical
    );
    // Errors per tick in a 1 % canary: a few, and often none.
    let (mut total, mut ticks, mut zero) = (0.0, 0, 0);
    for k in 0..200 {
        let Some(t) = sc.live_tick(k, 0.01) else {
            continue;
        };
        for s in 0..N_SEGMENTS {
            let i = s * N_METRICS + ERROR_RATE;
            let errors = t.canary[i] * t.canary_counts[i];
            assert!((errors - errors.round()).abs() < 1e-6, "{errors}");
            total += errors;
            ticks += 1;
            zero += usize::from(errors == 0.0);
        }
    }
    let mean = total / ticks as f64;
    assert!(
        (0.5..5.0).contains(&mean),
        "{mean} errors per segment and tick"
    );
    assert!(
        zero * 10 > ticks,
        "{zero} of {ticks} segment-ticks without errors"
    );
}

#[test]
fn counts_follow_the_cohort_sizes_and_go_with_missing_values() {
    let sc = Scenario::generate(ScenarioKind::MissingTicks, 2);
    let mut nan_values = 0;
    for k in 0..80 {
        let Some(t) = sc.live_tick(k, 0.1) else {
            continue;
        };
        assert_eq!(t.canary_counts.len(), t.canary.len());
        assert_eq!(t.control_counts.len(), t.control.len());
        for (v, c) in t
            .canary
            .iter()
            .zip(&t.canary_counts)
            .chain(t.control.iter().zip(&t.control_counts))
        {
            assert_eq!(v.is_nan(), c.is_nan());
            nan_values += usize::from(v.is_nan());
        }
        for i in 0..t.canary.len() {
            if t.canary_counts[i].is_finite() && t.control_counts[i].is_finite() {
                // A tenth of the traffic: about a ninth of the control's count.
                let r = t.canary_counts[i] / t.control_counts[i];
                assert!((0.05..0.2).contains(&r), "tick {k} value {i}: {r}");
            }
        }
    }
    assert!(nan_values > 0);
    let none = Scenario::generate(ScenarioKind::AaIdentical, 2)
        .live_tick(0, 0.0)
        .expect("tick");
    assert!(none.canary_counts.iter().all(|&c| c == 0.0));
}

#[test]
fn uneven_segments_differ_in_size_by_two_hundred_fold() {
    let sc = Scenario::generate_with(ScenarioKind::AaIdentical, 1, &preset("uneven-segments"));
    let t = sc.live_tick(0, 0.01).expect("tick");
    let users = |s: usize| t.canary_counts[s * N_METRICS];
    let ratio = users(2) / users(0);
    assert!((100.0..400.0).contains(&ratio), "{ratio}");
}

#[test]
fn mid_ramp_presets_start_faults_mid_ramp() {
    for name in ["half-hour-wide", "one-minute"] {
        let c = preset(name);
        for seed in 1..=10 {
            let sc = Scenario::generate_with(ScenarioKind::ErrorSpike, seed, &c);
            let onset = sc.onset().expect("onset");
            assert!((10..=40).contains(&onset), "{name} seed {seed}: {onset}");
        }
    }
}

#[test]
fn wide_traps_are_sharper_than_the_original_ones() {
    let wide = preset("half-hour-wide");
    let mut higher = 0;
    for seed in 1..=10 {
        let a = Scenario::generate(ScenarioKind::GlobalSurge, seed);
        let b = Scenario::generate_with(ScenarioKind::GlobalSurge, seed, &wide);
        let (ia, ib) = (a.injection.expect("surge"), b.injection.expect("surge"));
        assert!((1.5..=2.2).contains(&ia.magnitude) && (2.0..=4.0).contains(&ib.magnitude));
        // The wide surge arrives in full on its first tick: the control's users jump.
        let users = |sc: &Scenario, k: usize| sc.live_tick(k, 0.05).map(|t| t.control_counts[0]);
        if let (Some(before), Some(first)) = (users(&b, ib.onset - 1), users(&b, ib.onset)) {
            higher += usize::from(first > 1.7 * before);
        }
    }
    assert!(higher >= 8, "{higher} of 10 surges arrived at once");
    let tiny = Scenario::generate_with(ScenarioKind::TinyCanary, 1, &wide);
    assert_eq!(tiny.traffic.expect("own ramp").steps[0], 0.002);
}

/// The oracle is told the noise: the moments must describe what the simulator draws.
/// Over many ticks of an A/A rollout, the canary-minus-control difference standardised
/// with the moments has mean about 0 and variance about 1, for every series.
#[test]
fn the_noise_model_matches_the_drawn_noise() {
    for (name, share) in [
        ("half-hour", 0.05),
        ("one-minute", 0.05),
        ("half-hour", 0.5),
    ] {
        let c = preset(name);
        let sc = Scenario::generate_with(ScenarioKind::AaIdentical, 5, &c);
        let width = N_SEGMENTS * N_METRICS;
        let (mut sum, mut sq, mut n) = (vec![0.0; width], vec![0.0; width], 0.0);
        for k in 0..2000 {
            let (Some(t), Some((mc, mk))) = (sc.live_tick(k, share), sc.live_moments(k, share))
            else {
                continue;
            };
            for i in 0..width {
                let sd = (mc[i].sd.powi(2) + mk[i].sd.powi(2)).sqrt();
                let z = (t.canary[i] - t.control[i] - (mk[i].mean - mc[i].mean)) / sd;
                sum[i] += z;
                sq[i] += z * z;
            }
            n += 1.0;
        }
        for i in 0..width {
            let mean = sum[i] / n;
            let var = sq[i] / n - mean * mean;
            // The error ratio's Poisson counts are skewed and clamp at 0; latency has
            // outliers: a looser band for both.
            let loose = i % N_METRICS == ERROR_RATE || i % N_METRICS == LATENCY_MS;
            let (lo, hi) = if loose { (0.6, 1.5) } else { (0.8, 1.25) };
            assert!(
                mean.abs() < 0.15 && (lo..hi).contains(&var),
                "{name} at {share}: series {i}: mean {mean:.3}, variance {var:.3}"
            );
        }
    }
}
