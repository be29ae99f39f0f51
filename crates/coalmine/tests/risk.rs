//! Behaviour of the risk computation on simulated rollouts: what must raise risk and
//! what must not.

mod common;

use coalmine::profile::BehaviorProfile;
use coalmine::risk::{RiskConfig, RiskEngine, Source};
use common::*;

struct Run {
    risks: Vec<f64>,
    predicted: Vec<f64>,
    /// The accumulated evidence's adjusted p-value after each tick.
    accumulated: Vec<f64>,
    engine: RiskEngine,
}

/// Streams `ticks` ticks after the history; from `onset`, `canary_effect` applies to
/// the canary in the segments listed and `global` to both cohorts.
fn run(
    p: &BehaviorProfile,
    ticks: usize,
    onset: usize,
    segments: &[usize],
    canary_effect: Effect,
    global: Effect,
) -> Run {
    let mut engine = RiskEngine::new(p, RiskConfig::default()).unwrap();
    let mut n = Noise(99);
    let (mut risks, mut predicted, mut accumulated) = (vec![], vec![], vec![]);
    let start = DAY * 6;
    for k in 0..ticks {
        let t = start + k;
        let on = k >= onset;
        let mut control = Vec::with_capacity(2 * METRICS);
        let mut canary = Vec::with_capacity(2 * METRICS);
        for s in 0..2 {
            let g = if on { global } else { Effect::default() };
            control.extend(metrics(t, s, 1.0, g, start + onset, &mut n));
            let mut e = g;
            if on && segments.contains(&s) {
                e.errors += canary_effect.errors;
                e.latency += canary_effect.latency;
                e.checkout += canary_effect.checkout;
                e.search += canary_effect.search;
                e.memory_per_tick += canary_effect.memory_per_tick;
            }
            canary.extend(metrics(t, s, 3.0, e, start + onset, &mut n));
        }
        let a = engine.assess(&control, &canary).unwrap();
        risks.push(a.risk);
        predicted.push(a.predicted_risk);
        accumulated.push(a.evidence.accumulated_p);
    }
    Run {
        risks,
        predicted,
        accumulated,
        engine,
    }
}

fn max_after(xs: &[f64], from: usize) -> f64 {
    xs[from..].iter().cloned().fold(0.0, f64::max)
}

#[test]
fn a_healthy_canary_stays_low() {
    let p = profile();
    let r = run(&p, 60, 1000, &[], Effect::default(), Effect::default());
    // 0.5 is the default pause threshold; a lone false positive of the per-tick family
    // (1 % per tick) may lift the risk briefly, never to a pause.
    assert!(max_after(&r.risks, 0) < 0.5, "{:?}", r.risks);
    let high = r.risks.iter().filter(|&&x| x > 0.2).count();
    assert!(high <= 3, "{:?}", r.risks);
}

#[test]
fn evidence_tells_not_enough_data_from_healthy() {
    let p = profile();
    let healthy = run(&p, 60, 1000, &[], Effect::default(), Effect::default());
    let e = healthy.engine.last().evidence;
    assert!(e.sufficient && e.max_detectable_effect <= 2.0, "{e:?}");
    assert_eq!(e.sequential_rejections, 0);
    // A canary that sends nothing is never "healthy".
    let mut engine = RiskEngine::new(&p, RiskConfig::default()).unwrap();
    let mut n = Noise(1);
    for k in 0..60 {
        let mut control = vec![];
        for s in 0..2 {
            control.extend(metrics(DAY * 6 + k, s, 1.0, Effect::default(), 0, &mut n));
        }
        let canary = vec![f64::NAN; control.len()];
        let e = engine.assess(&control, &canary).unwrap().evidence;
        assert!(!e.sufficient && e.observed == 0 && e.missing == 2 * METRICS);
    }
}

#[test]
fn an_error_spike_raises_risk_quickly_and_names_errors() {
    let p = profile();
    let fault = Effect {
        errors: 0.05,
        ..Effect::default()
    };
    let r = run(&p, 40, 20, &[0, 1], fault, Effect::default());
    assert!(max_after(&r.risks[..20], 0) < 0.3, "{:?}", &r.risks[..20]);
    assert!(r.risks[25] > 0.6, "{:?}", &r.risks[20..30]);
    let a = r.engine.last();
    assert_eq!(a.contributors[0].metric, ERRORS, "{a:#?}");
    assert!(a.contributors[0].significant);
    // The always-valid sequential evidence agrees.
    assert!(a.evidence.sequential_rejections >= 1, "{a:#?}");
    assert!(a.contributors[0].e_value > 1e3 && a.contributors[0].always_valid_p < 1e-3);
}

#[test]
fn a_global_surge_in_both_cohorts_does_not_raise_risk() {
    let p = profile();
    let surge = Effect {
        traffic: 1.5,
        latency: 40.0,
        errors: 0.02,
        ..Effect::default()
    };
    let r = run(&p, 50, 20, &[], Effect::default(), surge);
    assert!(max_after(&r.risks, 0) < 0.3, "{:?}", r.risks);
    // The canary is far from the profile, but not from control.
    let a = r.engine.last();
    assert!(a.contributors.iter().all(|c| !c.significant), "{a:#?}");
}

#[test]
fn an_improvement_is_not_a_risk() {
    let p = profile();
    let better = Effect {
        errors: -0.009,
        latency: -30.0,
        checkout: 0.3,
        search: 0.3,
        ..Effect::default()
    };
    let r = run(&p, 50, 10, &[0, 1], better, Effect::default());
    assert!(max_after(&r.risks, 0) < 0.3, "{:?}", r.risks);
}

#[test]
fn a_single_tick_spike_is_not_persistent() {
    let p = profile();
    let spike = Effect {
        errors: 0.2,
        ..Effect::default()
    };
    let mut engine = RiskEngine::new(&p, RiskConfig::default()).unwrap();
    // Drive the engine by hand: one faulty tick in the middle.
    let mut n = Noise(5);
    let start = DAY * 6;
    let mut persistence = vec![];
    let mut risks = vec![];
    for k in 0..20 {
        let t = start + k;
        let mut control = vec![];
        let mut canary = vec![];
        for s in 0..2 {
            control.extend(metrics(t, s, 1.0, Effect::default(), 0, &mut n));
            let e = if k == 10 { spike } else { Effect::default() };
            canary.extend(metrics(t, s, 3.0, e, 0, &mut n));
        }
        let a = engine.assess(&control, &canary).unwrap();
        persistence.push(a.factors.persistence);
        risks.push(a.risk);
    }
    assert!(persistence[10] <= 0.3, "{persistence:?}");
    assert!(risks.iter().all(|&r| r < 0.5), "{risks:?}");
    assert!(persistence[19] < 0.1);
}

#[test]
fn a_fault_in_a_heavy_segment_outweighs_the_same_fault_in_a_light_one() {
    let p = profile();
    let fault = Effect {
        latency: 25.0,
        ..Effect::default()
    };
    let heavy = run(&p, 40, 10, &[0], fault, Effect::default());
    let light = run(&p, 40, 10, &[1], fault, Effect::default());
    let (h, l) = (heavy.engine.last(), light.engine.last());
    assert!(
        h.factors.segment_weight > l.factors.segment_weight,
        "{h:#?} {l:#?}"
    );
    assert!(max_after(&heavy.risks, 15) > max_after(&light.risks, 15));
}

#[test]
fn a_drop_in_one_features_usage_is_detected_and_attributed() {
    let p = profile();
    let fault = Effect {
        checkout: -0.4,
        ..Effect::default()
    };
    let r = run(&p, 40, 15, &[0, 1], fault, Effect::default());
    assert!(max_after(&r.risks[..15], 0) < 0.3);
    let a = r.engine.last();
    assert!(a.risk > 0.6, "{a:#?}");
    assert_eq!(a.top_feature, Some(0), "{a:#?}");
    assert!(a.factors.feature_correlation > 0.5);
    assert!(
        a.contributors
            .iter()
            .any(|c| c.metric == CHECKOUT && c.significant && c.feature == Some(0))
    );
    assert!(
        a.contributors
            .iter()
            .all(|c| c.metric != ERRORS || !c.significant)
    );
}

#[test]
fn a_memory_leak_is_predicted_before_it_crosses_its_limit() {
    let p = profile();
    // +12 MB per tick from ~810 MB: the 1400 MB limit is crossed after ~49 ticks.
    let leak = Effect {
        memory_per_tick: 12.0,
        ..Effect::default()
    };
    let r = run(&p, 60, 0, &[0, 1], leak, Effect::default());
    let a = r.engine.last();
    let warned = r
        .predicted
        .iter()
        .position(|&x| x >= 0.9)
        .unwrap_or(usize::MAX);
    assert!(warned < 45, "predicted {:?}", r.predicted);
    // The projection warns no later than the present evidence (which accumulates on
    // the growing deviation) reaches the same level.
    let risen = r.risks.iter().position(|&x| x >= 0.9).unwrap_or(usize::MAX);
    assert!(warned <= risen, "predicted at {warned}, risk at {risen}");
    assert!(a.limit_breach.is_some_and(|b| b.metric == MEMORY), "{a:#?}");
    assert!(a.contributors.iter().any(|c| c.source == Source::Limit));
}

#[test]
fn bad_ticks_are_rejected_and_change_nothing() {
    let p = profile();
    let mut engine = RiskEngine::new(&p, RiskConfig::default()).unwrap();
    let ok: Vec<f64> = (0..2 * METRICS)
        .map(|i| if i % METRICS == 0 { 0.01 } else { 100.0 })
        .collect();
    engine.assess(&ok, &ok).unwrap();
    let before = serde_json::to_string(&engine).unwrap();
    assert!(engine.assess(&ok[1..], &ok).is_err());
    let mut inf = ok.clone();
    inf[3] = f64::INFINITY;
    assert!(engine.assess(&ok, &inf).is_err());
    let mut negative = ok.clone();
    negative[CHECKOUT] = -5.0;
    assert!(engine.assess(&negative, &ok).is_err());
    let mut ratio = ok.clone();
    ratio[ERRORS] = 2.0;
    assert!(engine.assess(&ok, &ratio).is_err());
    assert_eq!(serde_json::to_string(&engine).unwrap(), before);
    // Missing values are a policy, not an error.
    let mut missing = ok.clone();
    missing[1] = f64::NAN;
    let a = engine.assess(&ok, &missing).unwrap();
    assert_eq!(a.evidence.missing, 1);
}

#[test]
fn a_restored_engine_continues_identically() {
    let p = profile();
    let r = run(
        &p,
        30,
        10,
        &[0],
        Effect {
            latency: 20.0,
            ..Effect::default()
        },
        Effect::default(),
    );
    let mut a = r.engine;
    let json = serde_json::to_string(&a).unwrap();
    let mut b: RiskEngine = serde_json::from_str(&json).unwrap();
    let mut n = Noise(3);
    for k in 0..10 {
        let mut control = vec![];
        let mut canary = vec![];
        for s in 0..2 {
            control.extend(metrics(DAY * 7 + k, s, 1.0, Effect::default(), 0, &mut n));
            canary.extend(metrics(DAY * 7 + k, s, 3.0, Effect::default(), 0, &mut n));
        }
        let x = a.assess(&control, &canary).unwrap().clone();
        let y = b.assess(&control, &canary).unwrap().clone();
        assert_eq!(x, y);
    }
}

#[test]
fn a_small_shift_in_every_segment_is_confirmed_by_the_pooled_evidence() {
    let p = profile();
    let shift = Effect {
        latency: 6.0,
        ..Effect::default()
    };
    let confirmed_at = |segments: &[usize]| {
        let r = run(&p, 120, 0, segments, shift, Effect::default());
        let level = RiskConfig::default().evidence_alpha;
        r.accumulated.iter().position(|&q| q <= level)
    };
    let one = confirmed_at(&[0]);
    let both = confirmed_at(&[0, 1]);
    let both = both.expect("the shift in both segments is confirmed");
    assert!(
        one.is_none_or(|one| both * 4 <= one * 3),
        "one {one:?}, both {both}"
    );
    // Healthy: nothing accumulates.
    let healthy = run(&p, 120, 0, &[], shift, Effect::default());
    assert!(healthy.accumulated.iter().all(|&q| q > 0.05));
}

/// Error ratios drawn as counts: `requests` per cohort and tick, Poisson errors at
/// `rate` (Knuth's method below 30, a rounded normal above).
fn errors(n: &mut Noise, requests: f64, rate: f64) -> f64 {
    let mean = requests * rate;
    let k = if mean < 30.0 {
        let (limit, mut product, mut k) = ((-mean).exp(), n.uniform(), 0.0);
        while product > limit {
            product *= n.uniform();
            k += 1.0;
        }
        k
    } else {
        (mean + mean.sqrt() * n.normal()).round().max(0.0)
    };
    k / requests
}

/// The adjusted accumulated p-value after each tick of a 1 % canary whose error ratio
/// is multiplied by `factor` from `onset`, with or without the request counts.
fn counted_run(
    p: &BehaviorProfile,
    ticks: usize,
    onset: usize,
    factor: f64,
    counts: bool,
) -> Vec<f64> {
    let mut engine = RiskEngine::new(p, RiskConfig::default()).unwrap();
    let mut n = Noise(7);
    let (control_requests, canary_requests) = (100_000.0, 1_000.0);
    let mut control_counts = [f64::NAN; 2 * METRICS];
    let mut canary_counts = [f64::NAN; 2 * METRICS];
    for s in 0..2 {
        control_counts[s * METRICS + ERRORS] = control_requests;
        canary_counts[s * METRICS + ERRORS] = canary_requests;
    }
    let start = DAY * 6;
    let mut out = vec![];
    for k in 0..ticks {
        let t = start + k;
        let (mut control, mut canary) = (vec![], vec![]);
        for s in 0..2 {
            let mut c = metrics(t, s, 1.0, Effect::default(), start, &mut n);
            c[ERRORS] = errors(&mut n, control_requests, 0.01);
            control.extend(c);
            let mut y = metrics(t, s, 1.0, Effect::default(), start, &mut n);
            let rate = if k >= onset { 0.01 * factor } else { 0.01 };
            y[ERRORS] = errors(&mut n, canary_requests, rate);
            canary.extend(y);
        }
        let (cc, kc) = if counts {
            (Some(&control_counts[..]), Some(&canary_counts[..]))
        } else {
            (None, None)
        };
        let a = engine
            .assess_with_counts(&control, &canary, cc, kc)
            .unwrap();
        out.push(a.evidence.accumulated_p);
    }
    out
}

#[test]
fn a_tripled_error_ratio_with_its_counts_is_confirmed_within_two_ticks() {
    let p = profile();
    let level = RiskConfig::default().evidence_alpha;
    let onset = 20;
    let with = counted_run(&p, 60, onset, 3.0, true);
    let confirmed = with.iter().position(|&q| q <= level);
    assert!(confirmed.is_some_and(|t| t <= onset + 1), "{confirmed:?}");
    assert!(with[..onset].iter().all(|&q| q > level));
    // Without the counts the same values take longer: one tick's normal score stops
    // at its clip.
    let without = counted_run(&p, 60, onset, 3.0, false);
    let later = without.iter().position(|&q| q <= level);
    assert!(later.is_none_or(|t| t > onset + 1), "{later:?}");
    // Healthy, with counts, for a long rollout: nothing accumulates.
    let healthy = counted_run(&p, 400, 0, 1.0, true);
    assert!(
        healthy.iter().all(|&q| q > 0.05),
        "{:?}",
        healthy.iter().cloned().fold(1.0, f64::min)
    );
}
