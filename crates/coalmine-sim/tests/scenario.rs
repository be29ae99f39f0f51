//! The simulator: determinism, sensible data for every kind, faults that change the
//! canary only (and only the metrics they should), healthy traps that do what they
//! say, and static thresholds.

use coalmine::profile::{ProfileBuilder, ProfileConfig};
use coalmine::schema::Schema;
use coalmine::traffic::TrafficConfig;
use coalmine_sim::scenario::{
    API_CALLS, CHECKOUT_USAGE, ERROR_RATE, LATENCY_MS, MEMORY_MB, N_METRICS, N_SEGMENTS,
    SEARCH_USAGE, SESSION_DURATION,
};
use coalmine_sim::{LiveTick, Scenario, ScenarioKind};

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn same(a: &LiveTick, b: &LiveTick) -> bool {
    a.k == b.k
        && a.timestamp == b.timestamp
        && bits(&a.control) == bits(&b.control)
        && bits(&a.canary) == bits(&b.canary)
}

fn at(v: &[f64], s: usize, m: usize) -> f64 {
    v[s * N_METRICS + m]
}

#[test]
fn the_same_seed_gives_the_same_scenario_and_ticks_in_any_order() {
    for kind in ScenarioKind::ALL {
        let a = Scenario::generate(kind, 5);
        let b = Scenario::generate(kind, 5);
        let ja = serde_json::to_string(&a).expect("serialises");
        assert_eq!(ja, serde_json::to_string(&b).expect("serialises"));
        assert_ne!(
            ja,
            serde_json::to_string(&Scenario::generate(kind, 6)).expect("serialises"),
            "{}: another seed, another scenario",
            kind.name()
        );
        let forward: Vec<Option<LiveTick>> = (0..30).map(|k| a.live_tick(k, 0.05)).collect();
        for k in (0..30).rev() {
            match (b.live_tick(k, 0.05), &forward[k]) {
                (Some(x), Some(y)) => assert!(same(&x, y), "{} tick {k}", kind.name()),
                (None, None) => {}
                _ => panic!("{} tick {k}: missing in one order only", kind.name()),
            }
        }
    }
}

#[test]
fn every_kind_generates_finite_valid_data_a_profile_accepts() {
    for kind in ScenarioKind::ALL {
        for seed in 1..=3 {
            let sc = Scenario::generate(kind, seed);
            let name = kind.name();
            let schema = Schema::new(sc.schema.clone()).expect("valid schema");
            assert_eq!(schema.n_segments(), N_SEGMENTS);
            assert_eq!(schema.n_metrics(), N_METRICS);
            assert_eq!(sc.history.len(), sc.history_len());
            assert!(sc.history.len() >= 6 * 48);
            assert!(
                sc.history
                    .windows(2)
                    .all(|w| w[1].timestamp - w[0].timestamp == 1800)
            );
            let mut builder =
                ProfileBuilder::new(schema.clone(), ProfileConfig::default()).expect("builder");
            let mut nan = 0;
            for row in sc.history_rows() {
                assert_eq!(row.len(), N_SEGMENTS * N_METRICS);
                builder
                    .push_tick(row)
                    .expect("history values are valid for their kinds");
                nan += row.iter().filter(|v| v.is_nan()).count();
                for s in 0..N_SEGMENTS {
                    let (e, l, m) = (
                        at(row, s, ERROR_RATE),
                        at(row, s, LATENCY_MS),
                        at(row, s, MEMORY_MB),
                    );
                    if !e.is_nan() {
                        assert!((0.0..0.1).contains(&e), "{name}: error {e}");
                    }
                    if !l.is_nan() {
                        assert!((20.0..2000.0).contains(&l), "{name}: latency {l}");
                    }
                    if !m.is_nan() {
                        assert!((400.0..1200.0).contains(&m), "{name}: memory {m}");
                    }
                }
            }
            assert_eq!(
                nan > 0,
                kind == ScenarioKind::MissingTicks,
                "{name}: NaN in history only when data goes missing"
            );
            let onset = sc.onset().unwrap_or(0);
            let mut last_ts = sc.history.last().map_or(0, |h| h.timestamp);
            for k in 0..onset + 40 {
                for share in [0.005, 0.05, 0.5] {
                    let Some(t) = sc.live_tick(k, share) else {
                        assert_eq!(kind, ScenarioKind::MissingTicks, "{name}: tick {k} missing");
                        continue;
                    };
                    assert!(t.timestamp > last_ts);
                    for (i, v) in t.control.iter().chain(&t.canary).enumerate() {
                        if v.is_nan() {
                            assert_eq!(kind, ScenarioKind::MissingTicks, "{name}: NaN at {i}");
                        } else {
                            assert!(v.is_finite());
                            schema
                                .metric(i % N_METRICS)
                                .kind
                                .check(*v)
                                .expect("live values are valid for their kinds");
                        }
                    }
                }
                if let Some(t) = sc.live_tick(k, 0.05) {
                    last_ts = t.timestamp;
                }
            }
            // After a rollback the canary gets no traffic; at full promotion the
            // control has none.
            if let Some(t) = sc.live_tick(onset + 41, 0.0) {
                assert!(t.canary.iter().all(|v| v.is_nan()));
            }
            if let Some(t) = sc.live_tick(onset + 41, 1.0) {
                assert!(t.control.iter().all(|v| v.is_nan()));
            }
        }
    }
}

#[test]
fn a_small_canary_is_noisier_than_a_large_one() {
    let sc = Scenario::generate(ScenarioKind::AaIdentical, 3);
    let spread = |share: f64| {
        let d: Vec<f64> = (0..200)
            .filter_map(|k| sc.live_tick(k, share))
            .map(|t| at(&t.canary, 0, SESSION_DURATION) - at(&t.control, 0, SESSION_DURATION))
            .collect();
        let mean = d.iter().sum::<f64>() / d.len() as f64;
        (d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / d.len() as f64).sqrt()
    };
    let (small, large) = (spread(0.01), spread(0.25));
    // Noise ∝ 1/√users: 25 times the users, about 5 times less noise.
    assert!(small > 3.0 * large, "{small} vs {large}");
}

/// The metrics a fault may change in the canary; every other canary value must be
/// bit-identical to the fault-free counterfactual.
fn touched(kind: ScenarioKind, sc: &Scenario) -> Vec<usize> {
    match kind {
        ScenarioKind::ErrorSpike => vec![ERROR_RATE, LATENCY_MS],
        ScenarioKind::ErrorRatioStep => vec![ERROR_RATE],
        ScenarioKind::LatencyRegressionOneSegment | ScenarioKind::LatencyCreep => {
            vec![LATENCY_MS]
        }
        ScenarioKind::MemoryLeak => vec![MEMORY_MB],
        ScenarioKind::FeatureUsageDrop => {
            vec![
                sc.injection
                    .and_then(|i| i.metric)
                    .unwrap_or(CHECKOUT_USAGE),
            ]
        }
        ScenarioKind::ShorterSessions => vec![SESSION_DURATION],
        // More calls: CPU, memory, network, errors (more requests) and latency follow.
        ScenarioKind::RetryStorm => (0..N_METRICS)
            .filter(|&m| m != SESSION_DURATION && m != CHECKOUT_USAGE && m != SEARCH_USAGE)
            .collect(),
        _ => vec![],
    }
}

#[test]
fn faults_change_the_canary_from_their_onset_and_never_the_control() {
    for kind in ScenarioKind::ALL.into_iter().filter(|k| k.harmful()) {
        for seed in 1..=5 {
            let sc = Scenario::generate(kind, seed);
            let cf = sc.without_injection();
            let inj = sc.injection.expect("a fault has an injection");
            let name = kind.name();
            let metrics = touched(kind, &sc);
            let mut moved = 0.0;
            for k in 0..inj.onset + 25 {
                let (Some(a), Some(b)) = (sc.live_tick(k, 0.1), cf.live_tick(k, 0.1)) else {
                    panic!("{name}: no missing ticks expected");
                };
                assert_eq!(
                    bits(&a.control),
                    bits(&b.control),
                    "{name}: control moved at {k}"
                );
                for s in 0..N_SEGMENTS {
                    for m in 0..N_METRICS {
                        let (x, y) = (at(&a.canary, s, m), at(&b.canary, s, m));
                        let may = k >= inj.onset
                            && metrics.contains(&m)
                            && inj.segment.is_none_or(|only| only == s);
                        if !may {
                            assert_eq!(
                                x.to_bits(),
                                y.to_bits(),
                                "{name} seed {seed}: {s}/{m} at {k}"
                            );
                        }
                    }
                }
                if k >= inj.onset {
                    for a_s in &sc.affected {
                        let (x, y) = (
                            at(&a.canary, a_s.segment, a_s.metric),
                            at(&b.canary, a_s.segment, a_s.metric),
                        );
                        moved += if a_s.below { y - x } else { x - y } / y.abs().max(1e-9);
                    }
                }
            }
            assert!(
                moved > 0.0,
                "{name} seed {seed}: the fault does not hurt ({moved})"
            );
        }
    }
}

#[test]
fn a_global_surge_moves_both_cohorts_alike() {
    for seed in 1..=5 {
        let sc = Scenario::generate(ScenarioKind::GlobalSurge, seed);
        let cf = sc.without_injection();
        let inj = sc.injection.expect("a surge has an injection");
        let duration = inj.duration.expect("a surge ends");
        for k in 0..inj.onset + duration + 5 {
            let (Some(a), Some(b)) = (sc.live_tick(k, 0.25), cf.live_tick(k, 0.25)) else {
                panic!("no missing ticks expected");
            };
            let during = k > inj.onset && k < inj.onset + duration;
            for s in 0..N_SEGMENTS {
                for cohort in [(&a.control, &b.control), (&a.canary, &b.canary)] {
                    let ratio = at(cohort.0, s, API_CALLS) / at(cohort.1, s, API_CALLS);
                    let slower = at(cohort.0, s, LATENCY_MS) / at(cohort.1, s, LATENCY_MS);
                    if during {
                        assert!(
                            ratio > 1.15 && slower > 1.1,
                            "seed {seed} tick {k}: {ratio} {slower}"
                        );
                    } else if k < inj.onset || k >= inj.onset + duration {
                        assert_eq!(ratio, 1.0, "seed {seed} tick {k}");
                    }
                }
            }
        }
    }
}

#[test]
fn healthy_traps_do_what_they_say() {
    // A better canary: faster from the first tick, control untouched.
    let sc = Scenario::generate(ScenarioKind::CanaryBetter, 2);
    let cf = sc.without_injection();
    for k in 0..30 {
        let (Some(a), Some(b)) = (sc.live_tick(k, 0.05), cf.live_tick(k, 0.05)) else {
            panic!("no missing ticks expected");
        };
        assert_eq!(bits(&a.control), bits(&b.control));
        for s in 0..N_SEGMENTS {
            assert!(at(&a.canary, s, LATENCY_MS) < at(&b.canary, s, LATENCY_MS));
            assert!(at(&a.canary, s, MEMORY_MB) < at(&b.canary, s, MEMORY_MB));
        }
    }
    // A single-tick spike: one tick differs, and only in the canary.
    let sc = Scenario::generate(ScenarioKind::SingleTickSpike, 2);
    let cf = sc.without_injection();
    let onset = sc.onset().expect("a spike has an onset");
    for k in 0..onset + 10 {
        let (Some(a), Some(b)) = (sc.live_tick(k, 0.05), cf.live_tick(k, 0.05)) else {
            panic!("no missing ticks expected");
        };
        assert_eq!(bits(&a.control), bits(&b.control));
        assert_eq!(bits(&a.canary) == bits(&b.canary), k != onset, "tick {k}");
    }
    // A/A: nothing injected, no static trip.
    let sc = Scenario::generate(ScenarioKind::AaIdentical, 2);
    assert!(sc.injection.is_none() && sc.affected.is_empty() && sc.static_trip_tick.is_none());
    // Across the daily peak: the rollout starts 3-8 ticks before noon's sharp peak, and
    // load (memory follows it) rises into it.
    for seed in 1..=5 {
        let sc = Scenario::generate(ScenarioKind::AcrossDailyPeak, seed);
        assert!((16..=21).contains(&sc.start_of_day), "{}", sc.start_of_day);
        let lead = 24 - sc.start_of_day;
        let mem = |k: usize| {
            let t = sc.live_tick(k, 0.01).expect("present");
            (0..N_SEGMENTS)
                .map(|s| at(&t.control, s, MEMORY_MB))
                .sum::<f64>()
        };
        assert!(
            mem(lead) > mem(0) + 60.0,
            "seed {seed}: {} -> {}",
            mem(0),
            mem(lead)
        );
    }
    // A tiny canary: 0.5 % to 5 %, never more, with the base ramp's other settings.
    let sc = Scenario::generate(ScenarioKind::TinyCanary, 2);
    let base = TrafficConfig {
        min_dwell_ticks: 4,
        ..TrafficConfig::default()
    };
    let t = sc.traffic_for(&base);
    assert_eq!(t.steps.first(), Some(&0.005));
    assert!(t.steps.iter().all(|&s| s <= 0.05));
    assert_eq!(t.min_dwell_ticks, 4);
    assert!(sc.reference_shares(200, &base).iter().all(|&s| s <= 0.05));
    assert_eq!(
        Scenario::generate(ScenarioKind::AaIdentical, 2).traffic_for(&base),
        base
    );
}

#[test]
fn heavy_tails_have_far_more_extreme_values_than_normal_noise() {
    let extremes = |kind: ScenarioKind| {
        let mut count = 0;
        for seed in 1..=3 {
            let sc = Scenario::generate(kind, seed);
            let d: Vec<f64> = (0..300)
                .filter_map(|k| sc.live_tick(k, 0.05))
                .map(|t| at(&t.canary, 2, LATENCY_MS) / at(&t.control, 2, LATENCY_MS) - 1.0)
                .collect();
            let mut abs: Vec<f64> = d.iter().map(|x| x.abs()).collect();
            abs.sort_by(f64::total_cmp);
            let mad = abs[abs.len() / 2] * 1.4826;
            count += d.iter().filter(|x| x.abs() > 5.0 * mad).count();
        }
        count
    };
    let (heavy, normal) = (
        extremes(ScenarioKind::HeavyTails),
        extremes(ScenarioKind::AaIdentical),
    );
    assert!(heavy > 3 * normal.max(1), "heavy {heavy}, normal {normal}");
}

#[test]
fn missing_ticks_skip_whole_ticks_and_blank_some_values() {
    let sc = Scenario::generate(ScenarioKind::MissingTicks, 4);
    for &(first, len) in &sc.gaps.blocks {
        for k in first..first + len {
            assert!(sc.live_tick(k, 0.05).is_none() && sc.tick_missing(k));
        }
    }
    let present: Vec<LiveTick> = sc.live_rows_fixed_share(120, 0.05);
    let missing = 120 - present.len();
    assert!((6..40).contains(&missing), "{missing}");
    let nan: usize = present
        .iter()
        .map(|t| {
            t.control
                .iter()
                .chain(&t.canary)
                .filter(|v| v.is_nan())
                .count()
        })
        .sum();
    assert!(nan > 0);
    // The timestamp jumps over a missing tick.
    assert!(
        present
            .windows(2)
            .any(|w| w[1].timestamp - w[0].timestamp > 1800)
    );
    assert!(
        sc.history
            .iter()
            .any(|h| h.values.iter().all(|v| v.is_nan()))
    );
    // Other kinds are complete.
    let full = Scenario::generate(ScenarioKind::AaIdentical, 4);
    assert_eq!(full.live_rows_fixed_share(120, 0.05).len(), 120);
}

#[test]
fn static_thresholds_trip_at_or_after_the_onset() {
    for kind in ScenarioKind::ALL {
        for seed in 1..=5 {
            let sc = Scenario::generate(kind, seed);
            let name = kind.name();
            if !kind.harmful() {
                assert!(
                    sc.static_trip_tick.is_none() && sc.affected.is_empty(),
                    "{name}"
                );
                continue;
            }
            assert!(!sc.affected.is_empty(), "{name}");
            let onset = sc.onset().expect("onset");
            for a in &sc.affected {
                // The threshold lies outside the whole history of its series.
                let outside = sc.history_rows().all(|row| {
                    let v = at(row, a.segment, a.metric);
                    v.is_nan()
                        || if a.below {
                            v >= a.threshold
                        } else {
                            v <= a.threshold
                        }
                });
                assert!(outside, "{name} seed {seed}: threshold inside the history");
            }
            if let Some(trip) = sc.static_trip_tick {
                assert!(trip >= onset, "{name} seed {seed}");
            }
            match kind {
                ScenarioKind::ErrorSpike => {
                    assert_eq!(sc.static_trip_tick, Some(onset), "{name} seed {seed}");
                }
                ScenarioKind::MemoryLeak | ScenarioKind::LatencyCreep => {
                    let trip = sc
                        .static_trip_tick
                        .expect("a growing fault trips eventually");
                    assert!(
                        trip > onset,
                        "{name} seed {seed}: a gradual fault trips late"
                    );
                }
                _ => {}
            }
        }
    }
}

#[test]
fn the_reference_schedule_follows_the_ramp() {
    let sc = Scenario::generate(ScenarioKind::AaIdentical, 1);
    let base = TrafficConfig::default();
    let shares = sc.reference_shares(70, &base);
    assert_eq!(shares.len(), 70);
    assert_eq!(shares[0], 0.01);
    assert_eq!(shares[10], 0.05);
    assert_eq!(shares[20], 0.10);
    assert_eq!(shares[69], 1.0);
    assert!(shares.windows(2).all(|w| w[0] <= w[1]));
    let rows = sc.live_rows(&shares);
    assert_eq!(rows.len(), 70);
    assert!(rows.iter().zip(&shares).all(|(r, &s)| r.share == s));
}
