//! Scenario and property tests of a whole rollout: decisions, traffic, checkpoints,
//! feedback.

mod common;

use coalmine::analysis::{
    Analysis, AnalysisConfig, BatchOptions, CHECKPOINT_VERSION, Decision, Tick, TickBatch,
};
use coalmine::feedback::Outcome;
use coalmine::policy::{Action, Level, PolicyConfig, Reason};
use coalmine::profile::BehaviorProfile;
use coalmine::risk::{RiskConfig, RiskEngine};
use coalmine::schema::SeriesId;
use coalmine::traffic::{Phase, TrafficConfig, TrafficMode};
use coalmine::{Error, Verdict, VerdictReason};
use common::*;
use proptest::prelude::*;

/// One rollout's inputs: from `onset` to `until` the canary in `segments` gets
/// `effect`.
#[derive(Clone, Copy)]
struct Scenario<'a> {
    ticks: usize,
    onset: usize,
    until: usize,
    segments: &'a [usize],
    effect: Effect,
    seed: u64,
}

impl Default for Scenario<'_> {
    fn default() -> Self {
        Scenario {
            ticks: 100,
            onset: usize::MAX,
            until: usize::MAX,
            segments: &[0, 1],
            effect: Effect::default(),
            seed: 11,
        }
    }
}

/// The tick values for step `k`: the canary's noise grows as its share shrinks.
fn tick_values(sc: &Scenario, k: usize, share: f64, n: &mut Noise) -> (Vec<f64>, Vec<f64>) {
    let t = DAY * 6 + k;
    let canary_noise = (0.25 / share.max(1e-3)).sqrt().clamp(1.0, 5.0);
    let control_noise = (0.25 / (1.0 - share).max(0.05)).sqrt().max(1.0);
    let on = k >= sc.onset && k < sc.until;
    let mut control = Vec::with_capacity(2 * METRICS);
    let mut canary = Vec::with_capacity(2 * METRICS);
    for s in 0..2 {
        control.extend(metrics(t, s, control_noise, Effect::default(), 0, n));
        let e = if on && sc.segments.contains(&s) {
            sc.effect
        } else {
            Effect::default()
        };
        canary.extend(metrics(
            t,
            s,
            canary_noise,
            e,
            (DAY * 6).saturating_add(sc.onset),
            n,
        ));
    }
    (control, canary)
}

fn drive(a: &mut Analysis, sc: &Scenario) -> Vec<Decision> {
    let mut n = Noise(sc.seed);
    let mut out = Vec::with_capacity(sc.ticks);
    for k in 0..sc.ticks {
        let (control, canary) = tick_values(sc, k, a.decision().canary_share.max(0.01), &mut n);
        let tick = Tick {
            timestamp: 1_800.0 * k as f64,
            control: &control,
            canary: &canary,
            control_counts: None,
            canary_counts: None,
        };
        let d = a.observe(&tick).unwrap().clone();
        let done = d.phase == Phase::Promoted;
        out.push(d);
        // A promoted release has no canary left to compare.
        if done {
            break;
        }
    }
    out
}

fn first(decisions: &[Decision], level: Level) -> Option<usize> {
    decisions.iter().position(|d| d.action.level() == level)
}

#[test]
fn an_obvious_error_spike_is_rolled_back_within_a_few_ticks() {
    let p = profile();
    let mut a = Analysis::new(&p, AnalysisConfig::default()).unwrap();
    let sc = Scenario {
        onset: 30,
        effect: Effect {
            errors: 0.05,
            ..Effect::default()
        },
        ..Scenario::default()
    };
    let d = drive(&mut a, &sc);
    let rb = first(&d, Level::Rollback).expect("rolled back");
    assert!((30..=34).contains(&rb), "rolled back at {rb}");
    assert_eq!(d[rb].canary_share, 0.0);
    assert_eq!(d.last().unwrap().phase, Phase::RolledBack);
    assert!(a.summary().contains("ROLL BACK"), "{}", a.summary());
}

#[test]
fn a_healthy_canary_ramps_to_full_traffic_and_is_promoted() {
    let p = profile();
    for seed in [1, 2, 3] {
        let mut a = Analysis::new(&p, AnalysisConfig::default()).unwrap();
        let d = drive(
            &mut a,
            &Scenario {
                ticks: 120,
                seed,
                ..Scenario::default()
            },
        );
        assert!(
            first(&d, Level::Rollback).is_none(),
            "seed {seed}: {}",
            a.summary()
        );
        let last = d.last().unwrap();
        assert_eq!(
            (last.phase, last.canary_share),
            (Phase::Promoted, 1.0),
            "seed {seed}"
        );
        // The share never decreased without a pause.
        assert!(
            d.windows(2)
                .all(|w| w[1].canary_share >= w[0].canary_share
                    || w[1].action.level() == Level::Pause)
        );
    }
}

/// A moderate shift that persists pauses the rollout, and the pause does not resume
/// while the shift lasts: the accumulated evidence keeps it, and confirms the harm.
#[test]
fn a_persisting_moderate_shift_pauses_and_never_resumes_while_it_lasts() {
    let p = profile();
    let config = AnalysisConfig {
        policy: PolicyConfig {
            max_pause_ticks: 60,
            ..PolicyConfig::default()
        },
        ..AnalysisConfig::default()
    };
    let mut paused = 0;
    for seed in 11..21 {
        let mut a = Analysis::new(&p, config.clone()).unwrap();
        let sc = Scenario {
            ticks: 110,
            onset: 20,
            until: 60,
            effect: Effect {
                latency: 8.0,
                ..Effect::default()
            },
            seed,
            ..Scenario::default()
        };
        let d = drive(&mut a, &sc);
        let rb = first(&d, Level::Rollback).expect("the persisting shift is rolled back");
        assert!((20..60).contains(&rb), "seed {seed}: rolled back at {rb}");
        let Some(pause) = first(&d, Level::Pause) else {
            continue; // straight to a rollback
        };
        assert!(pause >= 20, "paused before the onset at {pause}");
        assert!(
            d[pause].canary_share < d[pause - 1].canary_share,
            "scaled back"
        );
        assert!(
            matches!(d[pause].action, Action::Pause { interval_factor, .. }
                if interval_factor < 1.0),
            "the pause shortens the evaluation interval: {:?}",
            d[pause].action
        );
        // Pauses that resumed while the fault persisted: none.
        let resumed = (pause + 1..d.len().min(60))
            .filter(|&k| {
                d[k].action.level() == Level::Continue && d[k - 1].action.level() == Level::Pause
            })
            .count();
        assert_eq!(resumed, 0, "seed {seed}: {}", a.summary());
        paused += 1;
    }
    // The rest went straight to a rollback: harm confirmed before the risk paused.
    assert!(paused >= 3, "only {paused} of 10 rollouts paused first");
}

#[test]
fn a_memory_leak_is_rolled_back_on_prediction_before_it_crosses_its_limit() {
    let p = profile();
    let mut a = Analysis::new(&p, AnalysisConfig::default()).unwrap();
    // +4 MB per tick from ~810 MB: the 1400 MB limit is crossed about 148 ticks in.
    let sc = Scenario {
        ticks: 300,
        onset: 10,
        effect: Effect {
            memory_per_tick: 4.0,
            ..Effect::default()
        },
        ..Scenario::default()
    };
    let d = drive(&mut a, &sc);
    let rb = first(&d, Level::Rollback).expect("rolled back");
    // The trend's projection, or the evidence accumulated on the growing deviation,
    // whichever comes first.
    assert!(
        matches!(d[rb].reason, Reason::Predicted | Reason::RiskHigh),
        "{}",
        a.summary()
    );
    assert!(
        rb < 10 + 40,
        "rolled back at {rb}, too close to the crossing"
    );
    // The projection points at memory (the limit itself is checked in tests/risk.rs).
    assert_eq!(
        d[rb].assessment.contributors[0].metric,
        MEMORY,
        "{}",
        a.summary()
    );
}

#[test]
fn the_ab_allocation_moves_back_to_control_as_risk_rises() {
    let p = profile();
    let config = AnalysisConfig {
        traffic: TrafficConfig {
            steps: vec![0.1, 0.3, 0.5, 1.0],
            min_dwell_ticks: 8,
            min_evidence_ticks: 8,
            mode: TrafficMode::AbTest { variants: 2 },
            ..TrafficConfig::default()
        },
        ..AnalysisConfig::default()
    };
    let mut a = Analysis::new(&p, config).unwrap();
    let sc = Scenario {
        ticks: 50,
        onset: 12,
        effect: Effect {
            errors: 0.05,
            ..Effect::default()
        },
        ..Scenario::default()
    };
    let d = drive(&mut a, &sc);
    assert_eq!(d[11].allocation.control, 0.7, "ramped before the fault");
    assert_eq!(
        (d[11].allocation.variants, d[11].allocation.per_variant),
        (2, 0.15)
    );
    let rb = first(&d, Level::Rollback).unwrap();
    assert_eq!(d[rb].allocation.control, 1.0);
    assert_eq!(d[rb].allocation.per_variant, 0.0);
}

#[test]
fn shadow_mode_decides_but_never_moves_traffic() {
    let p = profile();
    let config = AnalysisConfig {
        traffic: TrafficConfig {
            mode: TrafficMode::Shadow,
            ..TrafficConfig::default()
        },
        ..AnalysisConfig::default()
    };
    let mut a = Analysis::new(&p, config).unwrap();
    let sc = Scenario {
        ticks: 40,
        onset: 20,
        effect: Effect {
            errors: 0.05,
            ..Effect::default()
        },
        ..Scenario::default()
    };
    let d = drive(&mut a, &sc);
    assert!(first(&d, Level::Rollback).is_some());
    assert!(d.iter().all(|x| x.shadow && x.canary_share == 0.01));
}

#[test]
fn feedback_closes_the_loop_through_the_profile() {
    let mut p: BehaviorProfile = profile();
    let before = Analysis::new(&p, AnalysisConfig::default())
        .unwrap()
        .thresholds();
    // One outcome, even a false alarm, never moves the thresholds.
    p.record_outcome(Outcome::RolledBackFalseAlarm, 1.3)
        .unwrap();
    let after_one = Analysis::new(&p, AnalysisConfig::default())
        .unwrap()
        .thresholds();
    assert_eq!(after_one, before);
    p.record_outcome(Outcome::PromotedHealthy, 0.2).unwrap();
    p.record_outcome(Outcome::PromotedHealthy, 0.3).unwrap();
    let raised = Analysis::new(&p, AnalysisConfig::default())
        .unwrap()
        .thresholds();
    assert!(raised.rollback_at > 1.3, "{raised:?}");
    // The learnt state persists with the profile.
    let back = BehaviorProfile::from_json(&p.to_json()).unwrap();
    assert_eq!(back.feedback(), p.feedback());
    // An explicit policy without learning uses the configured thresholds exactly.
    let fixed = AnalysisConfig {
        learned_thresholds: false,
        ..AnalysisConfig::default()
    };
    assert_eq!(Analysis::new(&p, fixed).unwrap().thresholds(), before);
    p.record_outcome(Outcome::PromotedLaterBad, 0.7).unwrap();
    let lowered = Analysis::new(&p, AnalysisConfig::default())
        .unwrap()
        .thresholds();
    assert!(lowered.rollback_at < before.rollback_at, "{lowered:?}");
    // A healthy rollout folds its behaviour into the profile.
    let mut a = Analysis::new(&p, AnalysisConfig::default()).unwrap();
    drive(
        &mut a,
        &Scenario {
            ticks: 30,
            ..Scenario::default()
        },
    );
    assert_eq!(a.outcome(false), Outcome::PromotedHealthy);
    let loc = p.series(0, LATENCY).unwrap().location;
    a.fold_into(&mut p).unwrap();
    assert_ne!(p.series(0, LATENCY).unwrap().location, loc);
}

#[test]
fn bad_timestamps_are_rejected_and_change_nothing() {
    let p = profile();
    let mut a = Analysis::new(&p, AnalysisConfig::default()).unwrap();
    drive(
        &mut a,
        &Scenario {
            ticks: 5,
            ..Scenario::default()
        },
    );
    let before = a.checkpoint();
    let (control, canary) = tick_values(&Scenario::default(), 5, 0.01, &mut Noise(1));
    for ts in [f64::NAN, f64::INFINITY, 0.0, 1_800.0 * 4.0, -5.0] {
        let err = a.observe(&Tick {
            timestamp: ts,
            control: &control,
            canary: &canary,
            control_counts: None,
            canary_counts: None,
        });
        assert!(err.is_err(), "{ts}");
        assert_eq!(a.checkpoint(), before);
    }
    assert!(
        a.observe(&Tick {
            timestamp: 1e9,
            control: &control,
            canary: &canary,
            control_counts: None,
            canary_counts: None,
        })
        .is_ok()
    );
}

#[test]
fn bad_counts_are_rejected_and_change_nothing() {
    let p = profile();
    let mut a = Analysis::new(&p, AnalysisConfig::default()).unwrap();
    drive(
        &mut a,
        &Scenario {
            ticks: 5,
            ..Scenario::default()
        },
    );
    let before = a.checkpoint();
    let (control, canary) = tick_values(&Scenario::default(), 5, 0.01, &mut Noise(1));
    let good = vec![100.0; control.len()];
    let short = vec![100.0; control.len() - 1];
    let ts = 1_800.0 * 5.0;
    let err = a
        .observe(&Tick::new(ts, &control, &canary).with_counts(&short, &good))
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::LengthMismatch {
                what: "control counts",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.code(), 3);
    assert_eq!(a.checkpoint(), before);
    for bad in [-1.0, f64::INFINITY, f64::NEG_INFINITY, 1e101] {
        let mut counts = good.clone();
        counts[3] = bad;
        let err = a
            .observe(&Tick::new(ts, &control, &canary).with_counts(&good, &counts))
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidCount {
                    what: "canary counts",
                    index: 3,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(err.code(), 19);
        assert_eq!(a.checkpoint(), before);
    }
    // NaN is an unknown count, accepted.
    let unknown = vec![f64::NAN; control.len()];
    assert!(
        a.observe(&Tick::new(ts, &control, &canary).with_counts(&unknown, &good))
            .is_ok()
    );
}

/// Unknown (NaN) counts change nothing; a count of 0 makes its value missing, exactly
/// as a NaN value would.
#[test]
fn unknown_counts_change_nothing_and_zero_counts_make_a_value_missing() {
    let p = profile();
    let cfg = AnalysisConfig::default;
    let (mut plain, mut unknown, mut zero, mut missing) = (
        Analysis::new(&p, cfg()).unwrap(),
        Analysis::new(&p, cfg()).unwrap(),
        Analysis::new(&p, cfg()).unwrap(),
        Analysis::new(&p, cfg()).unwrap(),
    );
    let sc = Scenario {
        onset: 20,
        effect: Effect {
            errors: 0.05,
            ..Effect::default()
        },
        ..Scenario::default()
    };
    let mut n = Noise(5);
    for k in 0..40 {
        let share = plain.decision().canary_share.max(0.01);
        let (control, canary) = tick_values(&sc, k, share, &mut n);
        let ts = 1_800.0 * k as f64;
        let nan = vec![f64::NAN; control.len()];
        let d = plain.observe(&Tick::new(ts, &control, &canary)).unwrap();
        let u = unknown
            .observe(&Tick::new(ts, &control, &canary).with_counts(&nan, &nan))
            .unwrap();
        assert_eq!(d, u, "tick {k}");
        // Every third tick, the canary's first segment rests on no requests.
        let mut counts = vec![500.0; control.len()];
        let mut holes = canary.clone();
        if k % 3 == 0 {
            counts[..METRICS].fill(0.0);
            holes[..METRICS].fill(f64::NAN);
        }
        let z = zero
            .observe(&Tick::new(ts, &control, &canary).with_counts(&nan, &counts))
            .unwrap()
            .clone();
        let m = missing.observe(&Tick::new(ts, &control, &holes)).unwrap();
        assert_eq!(&z, m, "tick {k}");
        if k % 3 == 0 {
            assert_eq!(z.assessment.evidence.missing, METRICS, "tick {k}");
        }
    }
}

#[test]
fn foreign_and_corrupt_checkpoints_are_typed_errors() {
    let p = profile();
    let a = Analysis::new(&p, AnalysisConfig::default()).unwrap();
    let json = a.checkpoint();
    assert!(Analysis::restore(&json).is_ok());
    assert!(matches!(
        Analysis::restore(&json[..json.len() / 2]),
        Err(Error::CorruptCheckpoint { .. })
    ));
    let version = format!("\"version\":{CHECKPOINT_VERSION}");
    assert!(matches!(
        Analysis::restore(&json.replacen(&version, "\"version\":9", 1)),
        Err(Error::CheckpointVersion {
            found: 9,
            supported: CHECKPOINT_VERSION
        })
    ));
    // Version 6 had no dispersion of counted ratios, and stored each series'
    // sequential p-value and e-value: restored, the dispersion starts afresh and the
    // stored values are read from the test instead.
    let mut v6: serde_json::Value = serde_json::from_str(&json).unwrap();
    fn strip(v: &mut serde_json::Value) -> usize {
        match v {
            serde_json::Value::Object(m) => {
                let here = usize::from(m.remove("dispersion").is_some());
                if here == 1 {
                    m.insert("seq_p".into(), 1.0.into());
                    m.insert("seq_e".into(), 1.0.into());
                }
                here + m.values_mut().map(strip).sum::<usize>()
            }
            serde_json::Value::Array(a) => a.iter_mut().map(strip).sum(),
            _ => 0,
        }
    }
    assert!(strip(&mut v6) > 0);
    v6["version"] = 6.into();
    let restored = Analysis::restore(&v6.to_string()).expect("a version 6 checkpoint");
    assert_eq!(restored.checkpoint(), json);
    // Version 5 had no pooled evidence to continue from: refused by number.
    assert!(matches!(
        Analysis::restore(&json.replacen(&version, "\"version\":5", 1)),
        Err(Error::CheckpointVersion { found: 5, .. })
    ));
    // Version 1, whose breaches were arrays, is refused by number, not half-read.
    assert!(matches!(
        Analysis::restore(&json.replacen(&version, "\"version\":1", 1)),
        Err(Error::CheckpointVersion { found: 1, .. })
    ));
    // A profile is not a checkpoint, and the error says which document was expected.
    assert!(matches!(
        Analysis::restore(&p.to_json()),
        Err(Error::CorruptCheckpoint { .. })
    ));
}

/// A checkpoint whose parts do not fit together is refused when it is restored, not
/// at the next tick.
#[test]
fn restore_validates_every_part() {
    let p = profile();
    let mut a = Analysis::new(&p, AnalysisConfig::default()).unwrap();
    drive(
        &mut a,
        &Scenario {
            ticks: 30,
            onset: 15,
            effect: Effect {
                latency: 12.0,
                ..Effect::default()
            },
            ..Scenario::default()
        },
    );
    let json = a.checkpoint();
    let corrupt = |text: String, what: &str| match Analysis::restore(&text) {
        Err(Error::CorruptCheckpoint { reason }) => {
            assert!(reason.contains(what), "{what}: {reason}")
        }
        other => panic!("{what}: {other:?}"),
    };
    // The risk state's configuration differs from the analysis configuration (the
    // second occurrence of the key is inside the risk state).
    let key = "\"correlation_window\":12";
    let at = json.rfind(key).unwrap();
    let mut other = json.clone();
    other.replace_range(at..at + key.len(), "\"correlation_window\":13");
    corrupt(other, "length mismatch for `risk evidence ring`");
    // One series state too few for the schema.
    let start = json.find("\"series\":[{").unwrap() + "\"series\":[".len();
    let end = start + json[start..].find("},{\"detector\"").unwrap() + 2;
    let mut fewer = json.clone();
    fewer.replace_range(start..end, "");
    corrupt(fewer, "risk series states");
    // An invalid policy inside the state.
    corrupt(
        json.replacen("\"pause_at\":0.5", "\"pause_at\":5.0", 2),
        "pause_at",
    );
    // A ramp step beyond the ramp.
    corrupt(json.replacen("\"step\":", "\"step\":9", 1), "ramp step");
    // Counters that disagree.
    let ticks = format!("\"ticks\":{}", a.ticks());
    corrupt(json.replacen(&ticks, "\"ticks\":999", 1), "ticks");
    // The untouched checkpoint still restores and continues identically.
    assert_eq!(Analysis::restore(&json).unwrap().checkpoint(), json);
}

#[test]
fn series_views_follow_the_control_cohort() {
    let p = profile();
    let mut a = Analysis::new(&p, AnalysisConfig::default()).unwrap();
    let spec = p.schema_spec();
    let (ns, nm) = (spec.segments.len(), spec.metrics.len());
    assert_eq!(a.series_views().count(), ns * nm);
    assert!(a.series(ns, 0).is_none() && a.series(0, nm).is_none());
    let first = a.series(0, LATENCY).unwrap();
    let learnt = p.series(0, LATENCY).unwrap();
    assert_eq!(first.canary_level, None);
    assert!((first.expected - learnt.location).abs() < 5.0 * learnt.scale);
    assert!(first.scale > 0.0);
    let band = first.band(2.0);
    assert!(band.lower < first.expected && first.expected < band.upper);
    drive(
        &mut a,
        &Scenario {
            ticks: 10,
            ..Scenario::default()
        },
    );
    let later = a.series(0, LATENCY).unwrap();
    assert!(later.canary_level.is_some());
    assert_ne!(later.expected, first.expected);
    assert_eq!(a.series_views().nth(LATENCY), Some(later));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn checkpoint_restore_at_any_tick_continues_identically(cut in 1usize..60, seed in 1u64..1000) {
        let p = profile();
        let sc = Scenario { ticks: 60, onset: 25, effect: Effect { latency: 12.0, ..Effect::default() }, seed, ..Scenario::default() };
        let mut whole = Analysis::new(&p, AnalysisConfig::default()).unwrap();
        let all = drive(&mut whole, &sc);
        // Replay up to the cut, checkpoint, restore, continue.
        let mut first_half = Analysis::new(&p, AnalysisConfig::default()).unwrap();
        let mut n = Noise(sc.seed);
        let mut restored: Option<Analysis> = None;
        for (k, expected) in all.iter().enumerate() {
            let a = restored.as_mut().unwrap_or(&mut first_half);
            let (control, canary) = tick_values(&sc, k, a.decision().canary_share.max(0.01), &mut n);
            let d = a.observe(&Tick::new(1_800.0 * k as f64, &control, &canary)).unwrap().clone();
            prop_assert_eq!(&d, expected);
            if k + 1 == cut {
                restored = Some(Analysis::restore(&a.checkpoint()).unwrap());
            }
        }
    }

    #[test]
    fn garbage_ticks_never_panic_and_never_change_state_when_rejected(
        len_c in 0usize..14, len_k in 0usize..14,
        values in prop::collection::vec(prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(-1.0), Just(2.0), -1e3..1e3f64, Just(1e200)], 28),
        ts in prop_oneof![Just(f64::NAN), Just(-1.0), Just(0.0), 1.0..1e6f64],
    ) {
        let p = profile();
        let mut a = Analysis::new(&p, AnalysisConfig::default()).unwrap();
        drive(&mut a, &Scenario { ticks: 3, ..Scenario::default() });
        let before = a.checkpoint();
        let tick = Tick::new(ts + 1e4, &values[..len_c], &values[14..14 + len_k]);
        match a.observe(&tick) {
            Ok(d) => prop_assert!(d.assessment.risk.is_finite()),
            Err(_) => prop_assert_eq!(a.checkpoint(), before),
        }
    }
}

#[test]
fn the_three_way_rule_holds_at_and_around_the_thresholds() {
    let config = PolicyConfig::default();
    let policy = coalmine::policy::DecisionPolicy::new(config).unwrap();
    let (t1, t2) = (config.pause_at, config.rollback_at);
    for (r, want) in [
        (0.0, Level::Continue),
        (t1 - 1e-12, Level::Continue),
        (t1, Level::Pause),
        (t1 + 1e-12, Level::Pause),
        (t2 - 1e-12, Level::Pause),
        (t2, Level::Rollback),
        (t2 + 1e-12, Level::Rollback),
        (2.0, Level::Rollback),
        (f64::NAN, Level::Rollback),
    ] {
        assert_eq!(policy.classify(r), want, "risk {r}");
    }
}

#[test]
fn every_configuration_validates_its_defaults_and_names_a_bad_field() {
    use coalmine::{
        AutoencoderConfig, EwmaConfig, FeedbackConfig, FitOptions, HoltWintersConfig,
        ProfileConfig, RiskConfig, SequentialConfig, TrafficConfig, scoring::ScoringConfig,
    };
    AnalysisConfig::default().validate().unwrap();
    RiskConfig::default().validate().unwrap();
    PolicyConfig::default().validate().unwrap();
    TrafficConfig::default().validate().unwrap();
    FeedbackConfig::default().validate().unwrap();
    ProfileConfig::default().validate().unwrap();
    EwmaConfig::default().validate().unwrap();
    HoltWintersConfig::default().validate().unwrap();
    FitOptions::default().validate().unwrap();
    AutoencoderConfig::default().validate().unwrap();
    SequentialConfig::default().validate().unwrap();
    ScoringConfig::default().validate().unwrap();
    let mut spec = profile().schema_spec().clone();
    spec.validate().unwrap();
    spec.segments.push(spec.segments[0].clone());
    assert!(matches!(spec.validate(), Err(Error::Duplicate { .. })));

    let mut bad = AnalysisConfig::default();
    bad.traffic.steps = vec![0.5, 0.2];
    assert!(matches!(
        bad.validate(),
        Err(Error::InvalidParameter { name: "steps", .. })
    ));
    let bad = ProfileConfig {
        season_length: Some(usize::MAX),
        ..ProfileConfig::default()
    };
    assert!(matches!(
        bad.validate(),
        Err(Error::TooLarge {
            what: "season_length",
            ..
        })
    ));
    let bad = ProfileConfig {
        ewma: EwmaConfig {
            alpha: 0.0,
            ..EwmaConfig::default()
        },
        ..ProfileConfig::default()
    };
    assert!(matches!(
        bad.validate(),
        Err(Error::InvalidParameter { name: "alpha", .. })
    ));
}

/// Feeds `ticks` ticks of the healthy scenario through `mask`, which may blank values.
fn drive_masked(
    a: &mut Analysis,
    ticks: usize,
    mask: impl Fn(usize, &mut [f64], &mut [f64]),
) -> Result<(), Error> {
    let sc = Scenario::default();
    let mut n = Noise(sc.seed);
    for k in 0..ticks {
        let (mut control, mut canary) =
            tick_values(&sc, k, a.decision().canary_share.max(0.01), &mut n);
        mask(k, &mut control, &mut canary);
        a.observe(&Tick {
            timestamp: 1_800.0 * k as f64,
            control: &control,
            canary: &canary,
            control_counts: None,
            canary_counts: None,
        })?;
    }
    Ok(())
}

#[test]
fn nothing_seen_is_inconclusive_never_promote() {
    let p = profile();
    let fresh = Analysis::new(&p, AnalysisConfig::default()).unwrap();
    let v = fresh.verdict();
    assert_eq!(
        (v.verdict, v.reason),
        (Verdict::Inconclusive, VerdictReason::NoTicks)
    );

    let mut a = Analysis::new(&p, AnalysisConfig::default()).unwrap();
    drive_masked(&mut a, 80, |_, _, canary| canary.fill(f64::NAN)).unwrap();
    let v = a.verdict();
    assert_eq!(
        (v.verdict, v.reason),
        (Verdict::Inconclusive, VerdictReason::NoCanaryData)
    );
    assert_eq!((v.ticks, v.canary_ticks), (80, 0));

    let mut a = Analysis::new(&p, AnalysisConfig::default()).unwrap();
    drive_masked(&mut a, 80, |_, control, _| control.fill(f64::NAN)).unwrap();
    let v = a.verdict();
    assert_eq!(
        (v.verdict, v.reason),
        (Verdict::Inconclusive, VerdictReason::NoControlData)
    );

    // One quiet tick is not evidence that the canary is fine.
    let mut a = Analysis::new(&p, AnalysisConfig::default()).unwrap();
    drive_masked(&mut a, 1, |_, _, _| {}).unwrap();
    let v = a.verdict();
    assert_eq!(
        (v.verdict, v.reason),
        (Verdict::Inconclusive, VerdictReason::RampIncomplete)
    );
    assert!(
        v.explain(&p.schema_spec().clone())
            .starts_with("inconclusive: the ramp stopped")
    );
}

#[test]
fn a_series_never_observed_holds_the_ramp_and_is_named() {
    let p = profile();
    let mut a = Analysis::new(&p, AnalysisConfig::default()).unwrap();
    // Segment 1's checkout calls never arrive from the canary.
    let hole = METRICS + CHECKOUT;
    drive_masked(&mut a, 100, |_, _, canary| canary[hole] = f64::NAN).unwrap();
    let v = a.verdict();
    assert_ne!(a.decision().phase, Phase::Promoted);
    assert_eq!(
        (v.verdict, v.reason),
        (Verdict::Inconclusive, VerdictReason::SeriesNeverObserved)
    );
    assert_eq!(
        v.unobserved,
        vec![SeriesId {
            segment: 1,
            metric: CHECKOUT
        }]
    );
    let text = v.explain(p.schema_spec());
    assert!(text.contains("checkout_calls in free"), "{text}");
}

#[test]
fn promotion_is_terminal_and_refusing_changes_nothing() {
    let p = profile();
    let mut a = Analysis::new(&p, AnalysisConfig::default()).unwrap();
    let d = drive(&mut a, &Scenario::default());
    assert_eq!(d.last().unwrap().phase, Phase::Promoted);
    let v = a.verdict();
    assert_eq!(
        (v.verdict, v.reason),
        (Verdict::Promote, VerdictReason::Promoted)
    );
    assert_eq!(v.decided_at, Some(d.len() as u64));
    let before = a.checkpoint();
    let values = vec![1.0; 2 * METRICS];
    let after = a.observe(&Tick {
        timestamp: 1e9,
        control: &values,
        canary: &values,
        control_counts: None,
        canary_counts: None,
    });
    assert!(matches!(after, Err(Error::Finished { tick }) if tick == d.len() as u64));
    assert_eq!(a.checkpoint(), before);
    // The verdict survives a checkpoint.
    assert_eq!(Analysis::restore(&before).unwrap().verdict(), v);
}

#[test]
fn a_rollback_verdict_carries_its_reason_and_tick() {
    let p = profile();
    let mut a = Analysis::new(&p, AnalysisConfig::default()).unwrap();
    let sc = Scenario {
        onset: 30,
        effect: Effect {
            errors: 0.05,
            ..Effect::default()
        },
        ..Scenario::default()
    };
    let d = drive(&mut a, &sc);
    let rb = first(&d, Level::Rollback).expect("rolled back");
    let v = a.verdict();
    assert_eq!(v.verdict, Verdict::Rollback);
    assert_eq!(v.decided_at, Some(rb as u64 + 1));
    assert_eq!(
        v.reason,
        VerdictReason::RolledBack {
            because: d[rb].reason
        }
    );
}

/// Errors counted over `requests` at probability `p`: a Poisson draw (Knuth's product
/// of uniforms), as a ratio.
fn counted_ratio(p: f64, requests: f64, n: &mut Noise) -> f64 {
    let limit = (-p * requests).exp();
    let (mut product, mut k) = (n.uniform(), 0.0);
    while product > limit {
        product *= n.uniform();
        k += 1.0;
    }
    k / requests
}

/// Error ratios with the requests behind them: a 1 % canary sees about five errors a
/// tick. `step` multiplies the canary's error probability from `onset` on. Returns the
/// first rollback, or `None`.
fn counted_rollout(seed: u64, onset: usize, step: f64, ticks: usize) -> Option<usize> {
    let p = profile();
    let config = AnalysisConfig {
        traffic: TrafficConfig {
            // Held at its first step: the count test, not the ramp, is under test.
            min_dwell_ticks: u32::MAX,
            ..TrafficConfig::default()
        },
        ..AnalysisConfig::default()
    };
    let mut a = Analysis::new(&p, config).unwrap();
    let mut n = Noise(seed);
    let len = 2 * METRICS;
    let mut control_counts = vec![f64::NAN; len];
    let mut canary_counts = vec![f64::NAN; len];
    for k in 0..ticks {
        let (mut control, mut canary) = tick_values(&Scenario::default(), k, 0.01, &mut n);
        for s in 0..2 {
            let i = s * METRICS + ERRORS;
            let (rc, rk) = (50_000.0, 500.0);
            let q = if k >= onset { 0.01 * step } else { 0.01 };
            control[i] = counted_ratio(0.01, rc, &mut n);
            canary[i] = counted_ratio(q, rk, &mut n);
            control_counts[i] = rc;
            canary_counts[i] = rk;
        }
        let tick = Tick::new(1_800.0 * k as f64, &control, &canary)
            .with_counts(&control_counts, &canary_counts);
        if a.observe(&tick).unwrap().action.level() == Level::Rollback {
            return Some(k);
        }
    }
    None
}

#[test]
fn counted_error_ratios_a_long_aa_rollout_is_not_rolled_back() {
    for seed in 1..=5 {
        assert_eq!(
            counted_rollout(seed, usize::MAX, 1.0, 600),
            None,
            "seed {seed}"
        );
    }
}

#[test]
fn counted_error_ratios_a_threefold_step_in_a_small_canary_is_rolled_back_quickly() {
    for seed in 1..=5 {
        let rb = counted_rollout(seed, 40, 3.0, 120).expect("rolled back");
        assert!((40..=48).contains(&rb), "seed {seed}: rolled back at {rb}");
    }
}

/// Anytime validity over long runs: an A/A canary held at its first step for 600 ticks
/// (the ramp never advances, so nothing ends the rollout) is never rolled back.
#[test]
fn a_long_aa_rollout_without_counts_is_not_rolled_back() {
    let p = profile();
    let config = AnalysisConfig {
        traffic: TrafficConfig {
            min_dwell_ticks: u32::MAX,
            ..TrafficConfig::default()
        },
        ..AnalysisConfig::default()
    };
    for seed in 1..=5 {
        let mut a = Analysis::new(&p, config.clone()).unwrap();
        let d = drive(
            &mut a,
            &Scenario {
                ticks: 600,
                seed,
                ..Scenario::default()
            },
        );
        assert_eq!(d.len(), 600);
        assert_eq!(
            first(&d, Level::Rollback),
            None,
            "seed {seed}: {}",
            a.summary()
        );
    }
}

/// A rollout's ticks as the arrays of a batch: `ticks` rows of 2 × METRICS values per
/// cohort, with counts (some unknown, some 0) and a few missing values.
struct Rows {
    timestamps: Vec<f64>,
    control: Vec<f64>,
    canary: Vec<f64>,
    control_counts: Vec<f64>,
    canary_counts: Vec<f64>,
}

impl Rows {
    fn new(sc: &Scenario, share: f64) -> Rows {
        let mut n = Noise(sc.seed);
        let mut r = Rows {
            timestamps: Vec::new(),
            control: Vec::new(),
            canary: Vec::new(),
            control_counts: Vec::new(),
            canary_counts: Vec::new(),
        };
        for k in 0..sc.ticks {
            let (mut control, canary) = tick_values(sc, k, share, &mut n);
            if n.uniform() < 0.1 {
                let i = (n.uniform() * control.len() as f64) as usize;
                control[i] = f64::NAN;
            }
            r.timestamps.push(1_800.0 * k as f64);
            r.control.extend(control);
            r.canary.extend(canary);
            for _ in 0..2 * METRICS {
                let count = |n: &mut Noise| match n.uniform() {
                    u if u < 0.05 => 0.0,
                    u if u < 0.1 => f64::NAN,
                    u => (2_000.0 * u).round(),
                };
                r.control_counts.push(count(&mut n));
                r.canary_counts.push(count(&mut n));
            }
        }
        r
    }

    fn batch(&self, from: usize, to: usize) -> TickBatch<'_> {
        let w = 2 * METRICS;
        TickBatch::new(
            &self.timestamps[from..to],
            &self.control[from * w..to * w],
            &self.canary[from * w..to * w],
        )
        .with_counts(
            &self.control_counts[from * w..to * w],
            &self.canary_counts[from * w..to * w],
        )
    }

    fn tick(&self, k: usize) -> Tick<'_> {
        let row = k * 2 * METRICS..(k + 1) * 2 * METRICS;
        Tick::new(
            self.timestamps[k],
            &self.control[row.clone()],
            &self.canary[row.clone()],
        )
        .with_counts(&self.control_counts[row.clone()], &self.canary_counts[row])
    }
}

/// Tick by tick until the end or the promotion, as the batch does.
fn one_by_one(a: &mut Analysis, rows: &Rows, from: usize, to: usize) -> Vec<Decision> {
    let mut out = Vec::new();
    for k in from..to {
        let d = a.observe(&rows.tick(k)).unwrap().clone();
        let promoted = d.phase == Phase::Promoted;
        out.push(d);
        if promoted {
            break;
        }
    }
    out
}

fn batched(
    a: &mut Analysis,
    batch: &TickBatch<'_>,
    options: BatchOptions,
) -> Result<Vec<Decision>, Error> {
    let mut out = Vec::new();
    let n = a.observe_batch(batch, options, |a| out.push(a.decision().clone()))?;
    assert_eq!(n, out.len());
    Ok(out)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// A batch decides exactly as the same ticks observed one by one, whatever the
    /// split into batches; a refused tick anywhere in a batch leaves the analysis as it
    /// was (same checkpoint), with the tick's index and the reason `observe` gives.
    #[test]
    fn a_batch_decides_as_tick_by_tick_and_a_refused_tick_changes_nothing(
        seed in 1u64..1000,
        onset in 10usize..80,
        effect in prop_oneof![Just(0.0), Just(8.0), Just(40.0)],
        cut in 0usize..90,
        bad_at in 0usize..30,
        bad in 0usize..6,
    ) {
        let p = profile();
        let sc = Scenario { ticks: 90, onset, effect: Effect { latency: effect, ..Effect::default() }, seed, ..Scenario::default() };
        let rows = Rows::new(&sc, 0.05);
        let mut one = Analysis::new(&p, AnalysisConfig::default()).unwrap();
        let want = one_by_one(&mut one, &rows, 0, 90);

        let mut many = Analysis::new(&p, AnalysisConfig::default()).unwrap();
        let mut got = batched(&mut many, &rows.batch(0, cut), BatchOptions::default()).unwrap();
        // A first batch that promoted on its last tick ended the analysis too.
        if got.len() == cut && got.last().is_none_or(|d| d.phase != Phase::Promoted) {
            got.extend(batched(&mut many, &rows.batch(cut, 90), BatchOptions::default()).unwrap());
        }
        prop_assert_eq!(&got, &want);
        prop_assert_eq!(many.checkpoint(), one.checkpoint());

        // A bad tick in the middle of the next batch.
        let mut a = Analysis::new(&p, AnalysisConfig::default()).unwrap();
        let start = cut.min(want.len().saturating_sub(1)).min(50);
        batched(&mut a, &rows.batch(0, start), BatchOptions::default()).unwrap();
        let before = a.checkpoint();
        let mut spoilt = Rows { timestamps: rows.timestamps.clone(), control: rows.control.clone(), canary: rows.canary.clone(), control_counts: rows.control_counts.clone(), canary_counts: rows.canary_counts.clone() };
        let k = start + bad_at;
        let w = 2 * METRICS;
        match bad {
            0 => spoilt.timestamps[k] = f64::NAN,
            1 => spoilt.timestamps[k] = if k == 0 { f64::NEG_INFINITY } else { spoilt.timestamps[k - 1] },
            2 => spoilt.canary[k * w + ERRORS] = 1.5,
            3 => spoilt.control[k * w + LATENCY] = f64::INFINITY,
            4 => spoilt.canary_counts[k * w + 3] = -1.0,
            _ => spoilt.control_counts[k * w + 7] = 1e101,
        }
        let mut calls = 0;
        let err = a.observe_batch(&spoilt.batch(start, 90), BatchOptions::default(), |_| calls += 1).unwrap_err();
        prop_assert_eq!(calls, 0);
        prop_assert_eq!(a.checkpoint(), before.clone());
        let Error::Batch { index, error } = &err else { panic!("{err}") };
        prop_assert_eq!(*index, bad_at);
        prop_assert_eq!(err.code(), 17);
        // What `observe` says of the same tick after the ticks before it (unless the
        // rollout is promoted before it, when `observe` never gets there).
        if want.len() > k {
            one_by_one(&mut a, &spoilt, start, k);
            let single = a.observe(&spoilt.tick(k)).unwrap_err();
            prop_assert_eq!(format!("{single:?}"), format!("{error:?}"));
        }
    }

    /// The analysis checks a tick before the risk engine does: both must refuse the
    /// same ticks for the same reason, or a batch could stop half-applied.
    #[test]
    fn the_analysis_refuses_exactly_what_the_risk_engine_refuses(
        len_c in 8usize..12, len_k in 8usize..12,
        counts in prop::option::of(prop::collection::vec(prop_oneof![Just(f64::NAN), Just(-1.0), Just(f64::INFINITY), Just(1e101), 0.0..1e4f64], 9..12)),
        values in prop::collection::vec(prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(-1.0), Just(2.0), -1e3..1e3f64, Just(1e200)], 24),
    ) {
        let p = profile();
        let mut a = Analysis::new(&p, AnalysisConfig::default()).unwrap();
        let mut engine = RiskEngine::new(&p, RiskConfig::default()).unwrap();
        let (control, canary) = (&values[..len_c], &values[12..12 + len_k]);
        let counts = counts.as_deref();
        let by_analysis = a.observe(&Tick { timestamp: 1.0, control, canary, control_counts: counts, canary_counts: None }).err();
        let by_engine = engine.assess_with_counts(control, canary, counts, None).err();
        prop_assert_eq!(format!("{by_analysis:?}"), format!("{by_engine:?}"));
    }
}

#[test]
fn a_batch_stops_after_the_promoting_tick_and_optionally_after_a_rollback() {
    let p = profile();
    // The healthy rollout's own ticks (its shares follow the decisions), and more after.
    let mut a = Analysis::new(&p, AnalysisConfig::default()).unwrap();
    let sc = Scenario::default();
    let mut n = Noise(sc.seed);
    let mut rows = Rows::new(&Scenario { ticks: 0, ..sc }, 0.05);
    let mut promoted_at = None;
    for k in 0..sc.ticks + 10 {
        let (control, canary) = tick_values(&sc, k, a.decision().canary_share.max(0.01), &mut n);
        rows.timestamps.push(1_800.0 * k as f64);
        rows.control.extend(&control);
        rows.canary.extend(&canary);
        rows.control_counts.extend([500.0; 2 * METRICS]);
        rows.canary_counts.extend([50.0; 2 * METRICS]);
        if promoted_at.is_none() {
            let d = a.observe(&rows.tick(k)).unwrap();
            if d.phase == Phase::Promoted {
                promoted_at = Some(k);
            }
        }
    }
    let promoted_at = promoted_at.expect("the healthy rollout is promoted");
    let mut b = Analysis::new(&p, AnalysisConfig::default()).unwrap();
    let all = rows.timestamps.len();
    let got = batched(&mut b, &rows.batch(0, all), BatchOptions::default()).unwrap();
    assert_eq!(got.len(), promoted_at + 1);
    assert_eq!(b.checkpoint(), a.checkpoint());
    // Promoted before the batch: the first tick is refused, nothing changes.
    let err = batched(&mut b, &rows.batch(all - 2, all), BatchOptions::default()).unwrap_err();
    assert!(
        matches!(&err, Error::Batch { index: 0, error } if matches!(**error, Error::Finished { .. })),
        "{err}"
    );
    assert_eq!(err.code(), 17);
    assert_eq!(b.checkpoint(), a.checkpoint());
    // An empty batch observes nothing, even then.
    assert_eq!(
        batched(&mut b, &rows.batch(0, 0), BatchOptions::default())
            .unwrap()
            .len(),
        0
    );

    // A spike: rolled back; with `stop_at_rollback` the batch ends there.
    let spike = Scenario {
        onset: 20,
        effect: Effect {
            errors: 0.2,
            ..Effect::default()
        },
        ..Scenario::default()
    };
    let rows = Rows::new(&spike, 0.05);
    let mut whole = Analysis::new(&p, AnalysisConfig::default()).unwrap();
    let every = batched(&mut whole, &rows.batch(0, 100), BatchOptions::default()).unwrap();
    assert_eq!(every.len(), 100);
    let first = first(&every, Level::Rollback).expect("the spike is rolled back");
    let mut stopped = Analysis::new(&p, AnalysisConfig::default()).unwrap();
    let stop = BatchOptions {
        stop_at_rollback: true,
    };
    let some = batched(&mut stopped, &rows.batch(0, 100), stop).unwrap();
    assert_eq!(some, every[..=first]);
}

#[test]
fn a_batch_not_laid_out_in_rows_of_the_tick_length_is_refused_whole() {
    let p = profile();
    let rows = Rows::new(&Scenario::default(), 0.05);
    let mut a = Analysis::new(&p, AnalysisConfig::default()).unwrap();
    let before = a.checkpoint();
    let w = 2 * METRICS;
    let b = rows.batch(0, 3);
    let cases = [
        (
            TickBatch {
                control: &rows.control[..3 * w - 1],
                ..b
            },
            "control ticks",
        ),
        (
            TickBatch {
                canary: &rows.canary[..4 * w],
                ..b
            },
            "canary ticks",
        ),
        (
            TickBatch {
                control_counts: Some(&rows.control_counts[..2 * w]),
                ..b
            },
            "control counts",
        ),
        (
            TickBatch {
                canary_counts: Some(&[]),
                ..b
            },
            "canary counts",
        ),
    ];
    for (batch, name) in cases {
        let err = a
            .observe_batch(&batch, BatchOptions::default(), |_| ())
            .unwrap_err();
        assert!(
            matches!(err, Error::LengthMismatch { what, expected, .. } if what == name && expected == 3 * w),
            "{err}"
        );
        assert_eq!(a.checkpoint(), before);
    }
    // Counts for one cohort only are fine, as for a single tick.
    let one_side = TickBatch {
        canary_counts: None,
        ..b
    };
    assert_eq!(
        a.observe_batch(&one_side, BatchOptions::default(), |_| ())
            .unwrap(),
        3
    );
}

/// The healthy rollout of [`Scenario::default`] at `interval` seconds a tick, with its
/// durations in seconds: the times (since the first tick) at which the share changed.
fn share_changes_in_time(interval: f64, config: &AnalysisConfig, ticks: usize) -> Vec<f64> {
    let p = profile();
    let config = AnalysisConfig {
        tick_seconds: Some(interval),
        ..config.clone()
    };
    let mut a = Analysis::new(&p, config).unwrap();
    let sc = Scenario::default();
    let mut n = Noise(sc.seed);
    let mut changes = Vec::new();
    for k in 0..ticks {
        let before = a.decision().canary_share;
        let (control, canary) = tick_values(&sc, k, before.max(0.01), &mut n);
        let d = a
            .observe(&Tick::new(interval * k as f64, &control, &canary))
            .unwrap();
        assert_eq!(
            d.action.level(),
            Level::Continue,
            "tick {k}: {}",
            a.summary()
        );
        if d.canary_share != before {
            changes.push(interval * (k + 1) as f64);
        }
    }
    changes
}

/// With its durations in seconds, the same rollout at one-minute and at half-hour ticks
/// dwells as long on each step and may pause as long, in time: thirty times the ticks.
#[test]
fn durations_in_seconds_keep_their_time_at_any_tick_rate() {
    let mut config = AnalysisConfig::default();
    // 7.5 h: 15 half-hour ticks (more than the 8 paired ticks a step needs), 450 minutes.
    config.traffic.min_dwell_seconds = Some(27_000.0);
    config.policy.max_pause_seconds = Some(54_000.0);
    config.policy.resume_seconds = Some(5_400.0);
    // Ten hours: the first step's dwell and not the second's.
    let half_hour = share_changes_in_time(1_800.0, &config, 20);
    let minute = share_changes_in_time(60.0, &config, 20 * 30);
    assert_eq!(half_hour, vec![27_000.0]);
    assert_eq!(minute, half_hour);

    let p = profile();
    let in_force = |interval: f64| {
        let a = Analysis::new(
            &p,
            AnalysisConfig {
                tick_seconds: Some(interval),
                ..config.clone()
            },
        )
        .unwrap();
        a.config().clone()
    };
    let (slow, fast) = (in_force(1_800.0), in_force(60.0));
    assert_eq!(
        (slow.policy.max_pause_ticks, fast.policy.max_pause_ticks),
        (30, 900)
    );
    assert_eq!(
        (slow.policy.resume_ticks, fast.policy.resume_ticks),
        (3, 90)
    );
    // A checkpoint keeps the converted counts: a restored analysis does not convert
    // again.
    let a = Analysis::new(
        &p,
        AnalysisConfig {
            tick_seconds: Some(60.0),
            ..config.clone()
        },
    )
    .unwrap();
    let restored = Analysis::restore(&a.checkpoint()).unwrap();
    assert_eq!(restored.config(), &fast);
}

/// The profile's learnt interval wins over the configured one: its detectors were
/// fitted at that rate.
#[test]
fn the_profile_interval_wins_over_the_configured_one() {
    let schema = coalmine::Schema::new(spec()).unwrap();
    let mut b = coalmine::ProfileBuilder::new(schema, coalmine::ProfileConfig::default()).unwrap();
    let mut n = Noise(7);
    for t in 0..DAY * 6 {
        let mut row = Vec::with_capacity(2 * METRICS);
        for s in 0..2 {
            row.extend(metrics(t, s, 1.0, Effect::default(), 0, &mut n));
        }
        b.push_tick_at(60.0 * t as f64, &row).unwrap();
    }
    let timed = b.build().unwrap();
    assert_eq!(timed.tick_interval(), Some(60.0));
    let mut config = AnalysisConfig {
        tick_seconds: Some(1_800.0),
        ..AnalysisConfig::default()
    };
    config.traffic.min_dwell_seconds = Some(18_000.0);
    let a = Analysis::new(&timed, config.clone()).unwrap();
    assert_eq!(a.config().traffic.min_dwell_ticks, 300);
    // Without a learnt interval the configured one serves; without either, ticks.
    let a = Analysis::new(&profile(), config.clone()).unwrap();
    assert_eq!(a.config().traffic.min_dwell_ticks, 10);
    config.tick_seconds = None;
    config.traffic.min_dwell_ticks = 4;
    let a = Analysis::new(&profile(), config).unwrap();
    assert_eq!(a.config().traffic.min_dwell_ticks, 4);
}
