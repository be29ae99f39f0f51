//! Unit tests of the ABI, called as C would call it, against the core called directly.

use std::ffi::c_char;
use std::ptr::{null, null_mut};

use crate::core::{Analysis, AnalysisConfig, AnomalyDetector, Error, Ewma, EwmaConfig, Tick};
use crate::guard::call_mut;
use crate::*;

const SCHEMA_JSON: &str = r#"{
  "metrics": [
    {"name": "error_rate", "direction": "increase_is_bad", "kind": "ratio"},
    {"name": "latency_ms", "direction": "increase_is_bad"},
    {"name": "checkouts", "direction": "decrease_is_bad", "kind": "count"}
  ],
  "segments": [{"name": "free", "weight": 1.0}, {"name": "pro", "weight": 2.0}]
}"#;

const SCHEMA_TOML: &str = r#"
[[metrics]]
name = "error_rate"
direction = "increase_is_bad"
kind = "ratio"
[[metrics]]
name = "latency_ms"
direction = "increase_is_bad"
[[metrics]]
name = "checkouts"
direction = "decrease_is_bad"
kind = "count"
[[segments]]
name = "free"
weight = 1.0
[[segments]]
name = "pro"
weight = 2.0
"#;

const PROFILE_CONFIG: &str = r#"{"candidate_periods": [24]}"#;
const ANALYSIS_CONFIG: &str = r#"{"traffic": {"steps": [0.05, 0.25, 0.5, 1.0], "min_dwell_ticks": 10, "min_evidence_ticks": 8}}"#;

/// A small deterministic service: a daily cycle of 24 ticks with noise; from live
/// tick `fault_at` on, the canary's latency is 40 % higher.
struct Service {
    state: u64,
}

impl Service {
    fn new(seed: u64) -> Self {
        Service {
            state: seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407),
        }
    }

    fn uniform(&mut self) -> f64 {
        self.state = self
            .state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.state >> 11) as f64 / (1u64 << 53) as f64
    }

    fn noise(&mut self) -> f64 {
        (0..4).map(|_| self.uniform()).sum::<f64>() - 2.0
    }

    fn tick(&mut self, t: usize, latency_factor: f64) -> Vec<f64> {
        let day = (std::f64::consts::TAU * (t % 24) as f64 / 24.0).sin();
        let mut v = Vec::new();
        for seg in 0..2 {
            let load = 1.0 + 0.3 * day + 0.1 * seg as f64;
            v.push((0.01 + 0.002 * self.noise()).clamp(0.0, 1.0));
            v.push(latency_factor * (120.0 * load + 4.0 * self.noise()));
            v.push((200.0 * load + 10.0 * self.noise()).max(0.0));
        }
        v
    }
}

fn history(n: usize) -> Vec<Vec<f64>> {
    let mut s = Service::new(7);
    (0..n).map(|t| s.tick(t, 1.0)).collect()
}

fn live(n: usize, start: usize, fault_at: usize) -> Vec<(f64, Vec<f64>, Vec<f64>)> {
    let mut s = Service::new(11);
    (0..n)
        .map(|k| {
            let t = start + k;
            let control = s.tick(t, 1.0);
            let canary = s.tick(t, if k >= fault_at { 1.4 } else { 1.0 });
            (t as f64 * 3600.0, control, canary)
        })
        .collect()
}

fn ok(status: coalmine_status) {
    assert_eq!(status, COALMINE_OK, "{}", last_error());
}

fn last_error() -> String {
    let mut n = 0;
    assert_eq!(coalmine_last_error(null_mut(), 0, &mut n), COALMINE_OK);
    let mut buf = vec![0 as c_char; n + 1];
    assert_eq!(
        coalmine_last_error(buf.as_mut_ptr(), buf.len(), &mut n),
        COALMINE_OK
    );
    let bytes: Vec<u8> = buf[..n].iter().map(|&c| c as u8).collect();
    String::from_utf8(bytes).expect("messages are UTF-8")
}

fn schema() -> *mut coalmine_schema {
    let mut s = null_mut();
    ok(coalmine_schema_from_json(
        SCHEMA_JSON.as_ptr().cast(),
        SCHEMA_JSON.len(),
        &mut s,
    ));
    s
}

/// The service's profile, learnt once through the ABI (learning is the slow part
/// in a debug build) and handed to each test as a fresh handle loaded from its bytes.
fn profile() -> *mut coalmine_profile {
    static SAVED: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let saved = SAVED.get_or_init(|| {
        let s = schema();
        let mut b = null_mut();
        ok(coalmine_profile_builder_new(
            s,
            PROFILE_CONFIG.as_ptr().cast(),
            PROFILE_CONFIG.len(),
            &mut b,
        ));
        coalmine_schema_free(s);
        for row in history(24 * 14) {
            ok(coalmine_profile_builder_push_tick(
                b,
                row.as_ptr(),
                row.len(),
            ));
        }
        let mut p = null_mut();
        ok(coalmine_profile_builder_build(b, &mut p));
        coalmine_profile_builder_free(b);
        let mut bytes = null_mut();
        ok(coalmine_profile_to_bytes(p, &mut bytes));
        coalmine_profile_free(p);
        bytes_of(bytes)
    });
    let mut p = null_mut();
    ok(coalmine_profile_from_bytes(
        saved.as_ptr(),
        saved.len(),
        &mut p,
    ));
    p
}

fn analysis(p: *const coalmine_profile) -> *mut coalmine_analysis {
    let mut a = null_mut();
    ok(coalmine_analysis_new(
        p,
        ANALYSIS_CONFIG.as_ptr().cast(),
        ANALYSIS_CONFIG.len(),
        &mut a,
    ));
    a
}

fn bytes_of(b: *mut coalmine_bytes) -> Vec<u8> {
    let data = coalmine_bytes_data(b);
    let len = coalmine_bytes_len(b);
    // SAFETY: the library promises `len` readable bytes at `data` until the free.
    let v = unsafe { std::slice::from_raw_parts(data, len) }.to_vec();
    coalmine_bytes_free(b);
    v
}

#[test]
fn statuses_are_the_cores_error_codes() {
    let cases = [
        (
            Error::InvalidParameter {
                name: "x",
                value: 0.0,
                reason: "r",
            },
            COALMINE_INVALID_PARAMETER,
        ),
        (
            Error::NonFinite {
                what: "x",
                value: f64::NAN,
            },
            COALMINE_NON_FINITE,
        ),
        (
            Error::LengthMismatch {
                what: "x",
                expected: 1,
                got: 2,
            },
            COALMINE_LENGTH_MISMATCH,
        ),
        (
            Error::InsufficientData {
                what: "x",
                needed: 1,
                got: 0,
            },
            COALMINE_INSUFFICIENT_DATA,
        ),
        (
            Error::OutOfRange {
                what: "x",
                value: 1e101,
                limit: 1e100,
            },
            COALMINE_OUT_OF_RANGE,
        ),
        (
            Error::Timestamp {
                last: 1.0,
                got: 1.0,
            },
            COALMINE_TIMESTAMP,
        ),
        (
            Error::Duplicate {
                what: "x",
                name: "a".into(),
            },
            COALMINE_DUPLICATE,
        ),
        (
            Error::UnknownName {
                what: "x",
                name: "a".into(),
            },
            COALMINE_UNKNOWN_NAME,
        ),
        (
            Error::InvalidValue {
                what: "x",
                value: -1.0,
                reason: "r",
            },
            COALMINE_INVALID_VALUE,
        ),
        (
            Error::ProfileVersion {
                found: 0,
                supported: 1,
            },
            COALMINE_PROFILE_VERSION,
        ),
        (
            Error::CorruptProfile { reason: "r".into() },
            COALMINE_CORRUPT_PROFILE,
        ),
        (
            Error::CheckpointVersion {
                found: 0,
                supported: 1,
            },
            COALMINE_CHECKPOINT_VERSION,
        ),
        (
            Error::CorruptCheckpoint { reason: "r".into() },
            COALMINE_CORRUPT_CHECKPOINT,
        ),
        (
            Error::SchemaMismatch { reason: "r".into() },
            COALMINE_SCHEMA_MISMATCH,
        ),
        (
            Error::TooLarge {
                what: "x",
                got: 2,
                limit: 1,
            },
            COALMINE_TOO_LARGE,
        ),
        (Error::Internal { reason: "r" }, COALMINE_INTERNAL),
        (Error::Finished { tick: 3 }, COALMINE_FINISHED),
        (
            Error::InvalidCount {
                what: "x",
                index: 0,
                value: -1.0,
            },
            COALMINE_INVALID_COUNT,
        ),
        // A refused batch reports why its element was refused.
        (
            Error::Batch {
                index: 3,
                error: Box::new(Error::Timestamp {
                    last: 1.0,
                    got: 1.0,
                }),
            },
            COALMINE_TIMESTAMP,
        ),
    ];
    for (e, status) in cases {
        let message = e.to_string();
        let f = crate::error::Failure::from(e);
        assert_eq!((f.status, f.message), (status, message));
        assert!(status < 1000, "core codes stay below the ABI's own");
        assert_ne!(crate::error::status_name(status), "unknown status");
    }
    let batch = Error::Batch {
        index: 0,
        error: Box::new(Error::Internal { reason: "r" }),
    };
    assert_eq!(batch.code(), COALMINE_BATCH);
    // Every status has one name and the names are distinct.
    let names = crate::error::STATUS_NAMES;
    for (i, (s, n)) in names.iter().enumerate() {
        assert!(names[..i].iter().all(|(t, m)| t != s && m != n), "{s} {n}");
    }
    assert_eq!(crate::error::status_name(999), "unknown status");
}

#[test]
fn messages_are_copied_measured_or_refused_whole() {
    let name = "timestamp not after the previous tick's";
    let mut n = 0;
    assert_eq!(
        coalmine_status_message(COALMINE_TIMESTAMP, null_mut(), 0, &mut n),
        COALMINE_OK
    );
    assert_eq!(n, name.len());
    let mut small = [b'x' as c_char; 8];
    let mut untouched = 77;
    assert_eq!(
        coalmine_status_message(
            COALMINE_TIMESTAMP,
            small.as_mut_ptr(),
            small.len(),
            &mut untouched
        ),
        COALMINE_BUFFER_TOO_SMALL
    );
    assert_eq!(untouched, 77);
    assert!(small.iter().all(|&c| c == b'x' as c_char));
    let mut buf = [0 as c_char; 64];
    assert_eq!(
        coalmine_status_message(COALMINE_TIMESTAMP, buf.as_mut_ptr(), buf.len(), &mut n),
        COALMINE_OK
    );
    assert_eq!(buf[n], 0);
    let text: Vec<u8> = buf[..n].iter().map(|&c| c as u8).collect();
    assert_eq!(text, name.as_bytes());
    assert_eq!(
        coalmine_status_message(0, buf.as_mut_ptr(), buf.len(), null_mut()),
        COALMINE_NULL_POINTER
    );
    assert_eq!(
        coalmine_status_message(0, null_mut(), 3, &mut n),
        COALMINE_NULL_POINTER
    );
    // Reading a message never replaces the last error.
    let mut s = null_mut();
    assert_eq!(
        coalmine_schema_from_json(c"{".as_ptr(), 1, &mut s),
        COALMINE_PARSE_ERROR
    );
    let before = last_error();
    assert!(before.contains("schema JSON"), "{before}");
    assert_eq!(
        coalmine_last_error(small.as_mut_ptr(), 2, &mut n),
        COALMINE_BUFFER_TOO_SMALL
    );
    assert_eq!(last_error(), before);
    // SAFETY: a static NUL-terminated string.
    let version = unsafe { std::ffi::CStr::from_ptr(coalmine_version()) };
    assert_eq!(version.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
}

#[test]
fn a_panic_becomes_a_status_and_poisons_the_handle() {
    let mut e = null_mut();
    ok(coalmine_ewma_new(null(), 0, &mut e));
    let status = guard(|| call_mut(e, |_| panic!("deliberate panic in a test")));
    assert_eq!(status, COALMINE_PANIC);
    assert!(
        last_error().contains("deliberate panic"),
        "{}",
        last_error()
    );
    let mut a = coalmine_anomaly {
        expected: 0.0,
        residual: 0.0,
        deviation: 0.0,
        tail_probability: 0.0,
        ready: false,
    };
    assert_eq!(coalmine_ewma_observe(e, 1.0, &mut a), COALMINE_POISONED);
    assert_eq!(coalmine_ewma_observations(e), 0);
    coalmine_ewma_free(e);
    // Functions without a status fall back to a neutral value.
    assert!(guard(|| -> *const u8 { panic!("deliberate") }).is_null());
    assert!(guard(|| -> f64 { panic!("deliberate") }).is_nan());
}

#[test]
fn json_and_toml_schemas_agree_and_bad_specs_are_statuses() {
    let (mut a, mut b) = (null_mut(), null_mut());
    ok(coalmine_schema_from_json(
        SCHEMA_JSON.as_ptr().cast(),
        SCHEMA_JSON.len(),
        &mut a,
    ));
    ok(coalmine_schema_from_toml(
        SCHEMA_TOML.as_ptr().cast(),
        SCHEMA_TOML.len(),
        &mut b,
    ));
    // SAFETY: both handles are live.
    assert_eq!(unsafe { &*a }.h_inner(), unsafe { &*b }.h_inner());
    assert_eq!(coalmine_schema_tick_len(a), 6);
    let mut i = 0;
    ok(coalmine_schema_segment_index(a, c"pro".as_ptr(), 3, &mut i));
    assert_eq!(i, 1);
    assert_eq!(
        coalmine_schema_metric_index(a, c"nope".as_ptr(), 4, &mut i),
        COALMINE_UNKNOWN_NAME
    );
    let mut n = 0;
    let mut buf = [0 as c_char; 32];
    ok(coalmine_schema_metric_name(
        a,
        1,
        buf.as_mut_ptr(),
        buf.len(),
        &mut n,
    ));
    assert_eq!(n, "latency_ms".len());
    assert_eq!(
        coalmine_schema_metric_name(a, 3, buf.as_mut_ptr(), buf.len(), &mut n),
        COALMINE_INDEX_OUT_OF_RANGE
    );
    coalmine_schema_free(a);
    coalmine_schema_free(b);

    let mut s = null_mut();
    let dup = r#"{"metrics": [{"name": "a"}, {"name": "a"}], "segments": [{"name": "s"}]}"#;
    assert_eq!(
        coalmine_schema_from_json(dup.as_ptr().cast(), dup.len(), &mut s),
        COALMINE_DUPLICATE
    );
    let unknown_key = r#"{"metrics": [{"name": "a", "colour": 1}], "segments": [{"name": "s"}]}"#;
    assert_eq!(
        coalmine_schema_from_json(unknown_key.as_ptr().cast(), unknown_key.len(), &mut s),
        COALMINE_PARSE_ERROR
    );
    let not_utf8 = [b'{', 0xff, b'}'];
    assert_eq!(
        coalmine_schema_from_json(not_utf8.as_ptr().cast(), 3, &mut s),
        COALMINE_INVALID_UTF8
    );
    assert_eq!(
        coalmine_schema_from_json(null(), 5, &mut s),
        COALMINE_NULL_POINTER
    );
    assert_eq!(
        coalmine_schema_from_json(SCHEMA_JSON.as_ptr().cast(), SCHEMA_JSON.len(), null_mut()),
        COALMINE_NULL_POINTER
    );
    assert!(s.is_null(), "no output on failure");
    assert_eq!(coalmine_schema_n_metrics(null()), 0);
}

impl coalmine_schema {
    fn h_inner(&self) -> &crate::core::Schema {
        crate::guard::borrow(self as *const Self).expect("live")
    }
}

/// The decision fields a caller acts on, bit for bit.
fn key(d: &coalmine_decision) -> (u64, u32, u32, u32, u64, u64, u64) {
    (
        d.tick,
        d.action as u32,
        d.reason as u32,
        d.phase as u32,
        d.risk.to_bits(),
        d.predicted_risk.to_bits(),
        d.canary_share.to_bits(),
    )
}

#[test]
fn a_rollout_through_the_abi_is_the_core_s_rollout() {
    let p = profile();
    let mut ticks = live(60, 24 * 14, 15);

    // The core, directly, up to the rollback.
    let core_profile = crate::guard::borrow(p as *const coalmine_profile)
        .expect("live")
        .clone();
    let config: AnalysisConfig = serde_json::from_str(ANALYSIS_CONFIG).unwrap();
    let mut core = Analysis::new(&core_profile, config).unwrap();
    let mut expected: Vec<coalmine_decision> = Vec::new();
    for (ts, c, k) in &ticks {
        let d = core
            .observe(&Tick {
                timestamp: *ts,
                control: c,
                canary: k,
                control_counts: None,
                canary_counts: None,
            })
            .unwrap();
        expected.push(d.into());
        if d.action.level() == coalmine::Level::Rollback {
            break;
        }
    }
    ticks.truncate(expected.len());
    assert!(expected.len() < 40, "the fault is caught");

    // One tick per call, with a checkpoint and restore half-way.
    let mut a = analysis(p);
    let mut got = Vec::new();
    for (i, (ts, c, k)) in ticks.iter().enumerate() {
        if i == 20 {
            let mut b = null_mut();
            ok(coalmine_analysis_checkpoint(a, &mut b));
            let saved = bytes_of(b);
            coalmine_analysis_free(a);
            a = null_mut();
            ok(coalmine_analysis_restore(
                saved.as_ptr(),
                saved.len(),
                &mut a,
            ));
        }
        let mut d = std::mem::MaybeUninit::<coalmine_decision>::uninit();
        ok(coalmine_analysis_observe(
            a,
            *ts,
            c.as_ptr(),
            c.len(),
            k.as_ptr(),
            k.len(),
            d.as_mut_ptr(),
        ));
        // SAFETY: written on COALMINE_OK.
        got.push(unsafe { d.assume_init() });
    }
    assert_eq!(
        got.iter().map(key).collect::<Vec<_>>(),
        expected.iter().map(key).collect::<Vec<_>>()
    );
    assert_eq!(got, expected);
    let mut report = std::mem::MaybeUninit::<coalmine_verdict_report>::uninit();
    ok(coalmine_analysis_verdict(a, report.as_mut_ptr()));
    // SAFETY: written on COALMINE_OK.
    let report = unsafe { report.assume_init() };
    assert_eq!(
        (
            report.verdict,
            report.reason,
            report.has_because,
            report.because
        ),
        (
            coalmine_verdict::Rollback,
            coalmine_verdict_reason::RolledBack,
            true,
            expected.last().unwrap().reason
        )
    );
    assert_eq!(
        (report.has_decided_at, report.decided_at),
        (true, expected.len() as u64)
    );
    let last = got.last().unwrap();
    let mut c = std::mem::MaybeUninit::<coalmine_contributor>::uninit();
    assert!(last.n_contributors > 0);
    ok(coalmine_analysis_contributor(a, 0, c.as_mut_ptr()));
    assert_eq!(
        coalmine_analysis_contributor(a, last.n_contributors, c.as_mut_ptr()),
        COALMINE_INDEX_OUT_OF_RANGE
    );
    let mut n = 0;
    ok(coalmine_analysis_summary(a, null_mut(), 0, &mut n));
    assert!(n > 10);
    coalmine_analysis_free(a);

    // The same ticks as batches of 7 (the last one shorter).
    let a = analysis(p);
    let mut batched = Vec::new();
    for chunk in ticks.chunks(7) {
        let ts: Vec<f64> = chunk.iter().map(|t| t.0).collect();
        let control: Vec<f64> = chunk.iter().flat_map(|t| t.1.clone()).collect();
        let canary: Vec<f64> = chunk.iter().flat_map(|t| t.2.clone()).collect();
        let mut out = vec![expected[0]; chunk.len()];
        ok(coalmine_analysis_observe_batch(
            a,
            ts.as_ptr(),
            ts.len(),
            control.as_ptr(),
            control.len(),
            canary.as_ptr(),
            canary.len(),
            out.as_mut_ptr(),
            out.len(),
        ));
        batched.extend(out);
    }
    assert_eq!(batched, expected);
    coalmine_analysis_free(a);
    coalmine_profile_free(p);
}

#[test]
fn a_rejected_batch_changes_nothing_and_names_the_tick() {
    let p = profile();
    let a = analysis(p);
    let ticks = live(6, 24 * 14, 100);
    let ts: Vec<f64> = ticks.iter().map(|t| t.0).collect();
    let control: Vec<f64> = ticks.iter().flat_map(|t| t.1.clone()).collect();
    let mut canary: Vec<f64> = ticks.iter().flat_map(|t| t.2.clone()).collect();
    canary[4 * 6 + 1] = f64::INFINITY;
    let mut out = vec![
        coalmine_decision::from(
            &Analysis::new(
                crate::guard::borrow(p as *const coalmine_profile).unwrap(),
                AnalysisConfig::default(),
            )
            .unwrap()
            .decision()
            .clone()
        );
        6
    ];
    let sentinel = out.clone();
    let status = coalmine_analysis_observe_batch(
        a,
        ts.as_ptr(),
        6,
        control.as_ptr(),
        control.len(),
        canary.as_ptr(),
        canary.len(),
        out.as_mut_ptr(),
        out.len(),
    );
    assert_eq!(status, COALMINE_NON_FINITE);
    assert_eq!(out, sentinel, "outputs untouched");
    assert_eq!(coalmine_analysis_ticks(a), 0, "nothing applied");
    let mut n = 0;
    let mut buf = [0 as c_char; 256];
    ok(coalmine_analysis_last_error(
        a,
        buf.as_mut_ptr(),
        buf.len(),
        &mut n,
    ));
    let msg: String = buf[..n].iter().map(|&c| c as u8 as char).collect();
    assert!(msg.starts_with("tick 4 of the batch"), "{msg}");
    // Lengths that are not whole rows, and too little room for the decisions.
    assert_eq!(
        coalmine_analysis_observe_batch(
            a,
            ts.as_ptr(),
            6,
            control.as_ptr(),
            control.len() - 1,
            canary.as_ptr(),
            canary.len(),
            out.as_mut_ptr(),
            6
        ),
        COALMINE_LENGTH_MISMATCH
    );
    assert_eq!(
        coalmine_analysis_observe_batch(
            a,
            ts.as_ptr(),
            6,
            control.as_ptr(),
            control.len(),
            canary.as_ptr(),
            canary.len(),
            out.as_mut_ptr(),
            5
        ),
        COALMINE_BUFFER_TOO_SMALL
    );
    // Out of order inside the batch.
    canary[4 * 6 + 1] = 100.0;
    let mut bad_ts = ts.clone();
    bad_ts[3] = bad_ts[2];
    assert_eq!(
        coalmine_analysis_observe_batch(
            a,
            bad_ts.as_ptr(),
            6,
            control.as_ptr(),
            control.len(),
            canary.as_ptr(),
            canary.len(),
            out.as_mut_ptr(),
            6
        ),
        COALMINE_TIMESTAMP
    );
    assert_eq!(coalmine_analysis_ticks(a), 0);
    ok(coalmine_analysis_observe_batch(
        a,
        ts.as_ptr(),
        6,
        control.as_ptr(),
        control.len(),
        canary.as_ptr(),
        canary.len(),
        out.as_mut_ptr(),
        6,
    ));
    assert_eq!(coalmine_analysis_ticks(a), 6);
    coalmine_analysis_free(a);
    coalmine_profile_free(p);
}

#[test]
fn detector_batches_match_single_observations() {
    let mut s = Service::new(3);
    let xs: Vec<f64> = (0..300).map(|t| s.tick(t, 1.0)[1]).collect();
    let mut core = Ewma::new(EwmaConfig::default()).unwrap();
    let single: Vec<_> = xs.iter().map(|x| core.observe(x).unwrap()).collect();

    let mut e = null_mut();
    ok(coalmine_ewma_new(c"{\"alpha\": 0.1}".as_ptr(), 14, &mut e));
    let n = xs.len();
    let (mut ex, mut re, mut de, mut tp) = (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    let mut ready = vec![false; n];
    // Two batches: the first observation of the second is not the detector's first.
    for (lo, hi) in [(0, 100), (100, n)] {
        ok(coalmine_ewma_observe_batch(
            e,
            xs[lo..].as_ptr(),
            hi - lo,
            ex[lo..].as_mut_ptr(),
            re[lo..].as_mut_ptr(),
            de[lo..].as_mut_ptr(),
            tp[lo..].as_mut_ptr(),
            ready[lo..].as_mut_ptr(),
            hi - lo,
        ));
    }
    assert!(
        ex[0].is_nan(),
        "no forecast existed for the first observation"
    );
    for i in 1..n {
        let a = single[i];
        assert_eq!(
            (
                ex[i].to_bits(),
                re[i].to_bits(),
                de[i].to_bits(),
                tp[i].to_bits(),
                ready[i]
            ),
            (
                a.expected.to_bits(),
                a.residual.to_bits(),
                a.deviation.to_bits(),
                a.tail_probability().to_bits(),
                a.ready
            ),
            "observation {i}"
        );
    }
    // A bad value half-way: nothing applied, nothing written, the index named.
    let before = coalmine_ewma_observations(e);
    let bad = [1.0, 2.0, f64::NAN, 3.0];
    let mut col = [7.0; 4];
    let mut flags = [true; 4];
    let status = coalmine_ewma_observe_batch(
        e,
        bad.as_ptr(),
        4,
        col.as_mut_ptr(),
        col.as_mut_ptr(),
        col.as_mut_ptr(),
        col.as_mut_ptr(),
        flags.as_mut_ptr(),
        4,
    );
    assert_eq!(status, COALMINE_NON_FINITE);
    assert_eq!(
        (coalmine_ewma_observations(e), col, flags),
        (before, [7.0; 4], [true; 4])
    );
    let mut len = 0;
    let mut buf = [0 as c_char; 128];
    ok(coalmine_ewma_last_error(
        e,
        buf.as_mut_ptr(),
        buf.len(),
        &mut len,
    ));
    let msg: String = buf[..len].iter().map(|&c| c as u8 as char).collect();
    assert!(msg.starts_with("observation 2 of the batch"), "{msg}");
    coalmine_ewma_free(e);

    // Holt-Winters from history, then the same comparison on a second stretch.
    let mut hw = null_mut();
    let cfg = r#"{"season_length": 24}"#;
    ok(coalmine_holt_winters_new(
        cfg.as_ptr().cast(),
        cfg.len(),
        xs.as_ptr(),
        200,
        &mut hw,
    ));
    let mut core =
        crate::core::HoltWinters::from_history(serde_json::from_str(cfg).unwrap(), &xs[..200])
            .unwrap();
    let rest = &xs[200..];
    let m = rest.len();
    let (mut ex, mut re, mut de, mut tp) = (vec![0.0; m], vec![0.0; m], vec![0.0; m], vec![0.0; m]);
    let mut ready = vec![false; m];
    ok(coalmine_holt_winters_observe_batch(
        hw,
        rest.as_ptr(),
        m,
        ex.as_mut_ptr(),
        re.as_mut_ptr(),
        de.as_mut_ptr(),
        tp.as_mut_ptr(),
        ready.as_mut_ptr(),
        m,
    ));
    for (i, x) in rest.iter().enumerate() {
        let a = core.observe(x).unwrap();
        assert_eq!(
            (ex[i].to_bits(), tp[i].to_bits()),
            (a.expected.to_bits(), a.tail_probability().to_bits())
        );
    }
    let mut f = 0.0;
    ok(coalmine_holt_winters_forecast(hw, 3, &mut f));
    assert_eq!(f.to_bits(), core.forecast(3).to_bits());
    coalmine_holt_winters_free(hw);
}

/// The document with its format version replaced by one no build writes.
fn bump_version(text: &str) -> String {
    let key = "\"version\":";
    let at = text.find(key).expect("a version field") + key.len();
    let digits = text[at..]
        .find(|c: char| !c.is_ascii_digit())
        .expect("a number");
    assert!(digits > 0, "a number after the version key");
    format!("{}999{}", &text[..at], &text[at + digits..])
}

#[test]
fn corrupt_and_foreign_documents_are_typed_statuses() {
    let p = profile();
    let mut b = null_mut();
    ok(coalmine_profile_to_bytes(p, &mut b));
    let saved = bytes_of(b);
    let mut q = null_mut();
    ok(coalmine_profile_from_bytes(
        saved.as_ptr(),
        saved.len(),
        &mut q,
    ));
    coalmine_profile_free(q);
    q = null_mut();
    assert_eq!(
        coalmine_profile_from_bytes(saved.as_ptr(), saved.len() / 2, &mut q),
        COALMINE_CORRUPT_PROFILE
    );
    let other = bump_version(std::str::from_utf8(&saved).unwrap());
    assert_eq!(
        coalmine_profile_from_bytes(other.as_ptr(), other.len(), &mut q),
        COALMINE_PROFILE_VERSION
    );
    assert_eq!(
        coalmine_profile_from_bytes([0xffu8, 0xfe].as_ptr(), 2, &mut q),
        COALMINE_CORRUPT_PROFILE
    );
    assert!(q.is_null());

    let a = analysis(p);
    let mut b = null_mut();
    ok(coalmine_analysis_checkpoint(a, &mut b));
    let saved = bytes_of(b);
    let mut r = null_mut();
    assert_eq!(
        coalmine_analysis_restore(saved.as_ptr(), saved.len() - 3, &mut r),
        COALMINE_CORRUPT_CHECKPOINT
    );
    assert_eq!(
        coalmine_analysis_restore(saved.as_ptr(), 0, &mut r),
        COALMINE_CORRUPT_CHECKPOINT
    );
    let other = bump_version(std::str::from_utf8(&saved).unwrap());
    assert_eq!(
        coalmine_analysis_restore(other.as_ptr(), other.len(), &mut r),
        COALMINE_CHECKPOINT_VERSION
    );
    // A profile is not a checkpoint.
    let mut pb = null_mut();
    ok(coalmine_profile_to_bytes(p, &mut pb));
    let profile_bytes = bytes_of(pb);
    assert_ne!(
        coalmine_analysis_restore(profile_bytes.as_ptr(), profile_bytes.len(), &mut r),
        COALMINE_OK
    );
    assert!(r.is_null());
    coalmine_analysis_free(a);
    coalmine_profile_free(p);
}

fn verdict_of(a: *const coalmine_analysis) -> coalmine_verdict_report {
    let mut report = std::mem::MaybeUninit::<coalmine_verdict_report>::uninit();
    ok(coalmine_analysis_verdict(a, report.as_mut_ptr()));
    // SAFETY: written on COALMINE_OK.
    unsafe { report.assume_init() }
}

fn explanation(a: *const coalmine_analysis) -> String {
    let mut n = 0;
    ok(coalmine_analysis_verdict_explain(a, null_mut(), 0, &mut n));
    let mut buf = vec![0 as c_char; n + 1];
    ok(coalmine_analysis_verdict_explain(
        a,
        buf.as_mut_ptr(),
        buf.len(),
        &mut n,
    ));
    buf[..n].iter().map(|&c| c as u8 as char).collect()
}

#[test]
fn verdicts_need_evidence_and_promotion_ends_the_analysis() {
    let p = profile();
    let a = analysis(p);
    let v = verdict_of(a);
    assert_eq!(
        (v.verdict, v.reason),
        (
            coalmine_verdict::Inconclusive,
            coalmine_verdict_reason::NoTicks
        )
    );
    assert!(
        explanation(a).starts_with("inconclusive"),
        "{}",
        explanation(a)
    );

    // Canary values only for the first segment: the other series are never observed.
    let ticks = live(40, 24 * 14, 1000);
    let mut d = std::mem::MaybeUninit::<coalmine_decision>::uninit();
    for (ts, c, k) in &ticks[..3] {
        let mut k = k.clone();
        k[3..].fill(f64::NAN);
        ok(coalmine_analysis_observe(
            a,
            *ts,
            c.as_ptr(),
            c.len(),
            k.as_ptr(),
            k.len(),
            d.as_mut_ptr(),
        ));
    }
    let v = verdict_of(a);
    assert_eq!(
        (v.verdict, v.reason, v.n_unobserved),
        (
            coalmine_verdict::Inconclusive,
            coalmine_verdict_reason::SeriesNeverObserved,
            3
        )
    );
    let (mut seg, mut metric) = (9, 9);
    ok(coalmine_analysis_unobserved(a, 0, &mut seg, &mut metric));
    assert_eq!((seg, metric), (1, 0));
    assert_eq!(
        coalmine_analysis_unobserved(a, 3, &mut seg, &mut metric),
        COALMINE_INDEX_OUT_OF_RANGE
    );
    assert!(
        explanation(a).contains("never observed"),
        "{}",
        explanation(a)
    );
    coalmine_analysis_free(a);

    // A healthy release is promoted; then the analysis takes no more ticks.
    let a = analysis(p);
    let mut promoted_at = None;
    for (i, (ts, c, k)) in ticks.iter().enumerate() {
        ok(coalmine_analysis_observe(
            a,
            *ts,
            c.as_ptr(),
            c.len(),
            k.as_ptr(),
            k.len(),
            d.as_mut_ptr(),
        ));
        // SAFETY: written on COALMINE_OK.
        if unsafe { d.assume_init_ref() }.phase == coalmine_phase::Promoted {
            promoted_at = Some(i);
            break;
        }
    }
    let at = promoted_at.expect("the healthy release is promoted");
    let v = verdict_of(a);
    assert_eq!(
        (v.verdict, v.reason, v.decided_at),
        (
            coalmine_verdict::Promote,
            coalmine_verdict_reason::Promoted,
            at as u64 + 1
        )
    );
    let (ts, c, k) = &ticks[at + 1];
    assert_eq!(
        coalmine_analysis_observe(
            a,
            *ts,
            c.as_ptr(),
            c.len(),
            k.as_ptr(),
            k.len(),
            d.as_mut_ptr()
        ),
        COALMINE_FINISHED
    );
    assert_eq!(coalmine_analysis_ticks(a), at as u64 + 1);
    coalmine_analysis_free(a);
    coalmine_profile_free(p);
}

#[test]
fn counts_change_what_they_must_and_bad_counts_change_nothing() {
    let p = profile();
    let ticks = live(30, 24 * 14, 10);
    let n = ticks[0].1.len();
    let unknown = vec![f64::NAN; n];
    let mut zero_first = vec![f64::NAN; n];
    zero_first[0] = 0.0;
    let (plain, with_unknown, with_zero, nan_first) =
        (analysis(p), analysis(p), analysis(p), analysis(p));
    // SAFETY: plain data for which all-zero bytes are valid (every enum has a 0).
    let mut d: [coalmine_decision; 4] = unsafe { std::mem::zeroed() };
    for (ts, c, k) in &ticks {
        ok(coalmine_analysis_observe(
            plain,
            *ts,
            c.as_ptr(),
            n,
            k.as_ptr(),
            n,
            &mut d[0],
        ));
        ok(coalmine_analysis_observe_counts(
            with_unknown,
            *ts,
            c.as_ptr(),
            n,
            k.as_ptr(),
            n,
            unknown.as_ptr(),
            n,
            unknown.as_ptr(),
            n,
            &mut d[1],
        ));
        // A count of 0 on the canary's first value is that value missing.
        ok(coalmine_analysis_observe_counts(
            with_zero,
            *ts,
            c.as_ptr(),
            n,
            k.as_ptr(),
            n,
            null(),
            0,
            zero_first.as_ptr(),
            n,
            &mut d[2],
        ));
        let mut k_nan = k.clone();
        k_nan[0] = f64::NAN;
        ok(coalmine_analysis_observe(
            nan_first,
            *ts,
            c.as_ptr(),
            n,
            k_nan.as_ptr(),
            n,
            &mut d[3],
        ));
        assert_eq!(key(&d[0]), key(&d[1]));
        assert_eq!(key(&d[2]), key(&d[3]));
        assert_eq!(d[2].evidence.missing, d[3].evidence.missing);
        assert_eq!(
            d[2].evidence.missing,
            d[0].evidence.missing + 1,
            "the zero count made a value missing"
        );
    }

    // Bad counts are refused with the analysis untouched.
    let (ts, c, k) = &ticks[0];
    let next = ts + 1e7;
    let mut negative = unknown.clone();
    negative[2] = -1.0;
    let before = coalmine_analysis_ticks(plain);
    // SAFETY: as above.
    let mut out: coalmine_decision = unsafe { std::mem::zeroed() };
    for (status, control_counts, control_counts_len) in [
        (COALMINE_INVALID_COUNT, negative.as_ptr(), n),
        (COALMINE_LENGTH_MISMATCH, unknown.as_ptr(), n - 1),
        (COALMINE_NULL_POINTER, null(), n),
    ] {
        assert_eq!(
            coalmine_analysis_observe_counts(
                plain,
                next,
                c.as_ptr(),
                n,
                k.as_ptr(),
                n,
                control_counts,
                control_counts_len,
                null(),
                0,
                &mut out,
            ),
            status,
            "{}",
            last_error()
        );
        assert_eq!(coalmine_analysis_ticks(plain), before);
    }
    assert!(last_error().contains("control_counts"), "{}", last_error());
    for a in [plain, with_unknown, with_zero, nan_first] {
        coalmine_analysis_free(a);
    }
    coalmine_profile_free(p);
}

/// Counts for `n` ticks of 6 values: some 0 (the value then missing), some unknown.
fn counts_for(n: usize, scale: f64) -> Vec<f64> {
    (0..n * 6)
        .map(|j| match j % 17 {
            3 => 0.0,
            11 => f64::NAN,
            r => scale * (1 + r) as f64,
        })
        .collect()
}

#[test]
fn a_batch_with_counts_decides_as_observe_counts_and_stops_at_promotion() {
    let p = profile();
    let ticks = live(400, 24 * 14, usize::MAX);
    let n = ticks.len();
    let ts: Vec<f64> = ticks.iter().map(|t| t.0).collect();
    let control: Vec<f64> = ticks.iter().flat_map(|t| t.1.clone()).collect();
    let canary: Vec<f64> = ticks.iter().flat_map(|t| t.2.clone()).collect();
    let (cc, kc) = (counts_for(n, 1_000.0), counts_for(n, 40.0));

    // One tick per call until the promotion.
    let one = analysis(p);
    let mut expected = Vec::new();
    let mut d = std::mem::MaybeUninit::<coalmine_decision>::uninit();
    for (i, &t) in ts.iter().enumerate() {
        let row = i * 6..(i + 1) * 6;
        ok(coalmine_analysis_observe_counts(
            one,
            t,
            control[row.clone()].as_ptr(),
            6,
            canary[row.clone()].as_ptr(),
            6,
            cc[row.clone()].as_ptr(),
            6,
            kc[row].as_ptr(),
            6,
            d.as_mut_ptr(),
        ));
        // SAFETY: written on COALMINE_OK.
        let d = unsafe { d.assume_init() };
        expected.push(d);
        if d.phase == coalmine_phase::Promoted {
            break;
        }
    }
    assert!(
        expected.len() < n,
        "the healthy release is promoted within {n} ticks"
    );

    // The same ticks in batches of 50: the batch with the promotion stops there.
    let a = analysis(p);
    let mut out = vec![expected[0]; n];
    let mut got = 0;
    for lo in (0..n).step_by(50) {
        let hi = (lo + 50).min(n);
        let mut observed = usize::MAX;
        ok(coalmine_analysis_observe_batch_counts(
            a,
            ts[lo..hi].as_ptr(),
            hi - lo,
            control[lo * 6..hi * 6].as_ptr(),
            (hi - lo) * 6,
            canary[lo * 6..hi * 6].as_ptr(),
            (hi - lo) * 6,
            cc[lo * 6..hi * 6].as_ptr(),
            (hi - lo) * 6,
            kc[lo * 6..hi * 6].as_ptr(),
            (hi - lo) * 6,
            out[lo..].as_mut_ptr(),
            hi - lo,
            &mut observed,
        ));
        got += observed;
        if observed < hi - lo {
            break;
        }
    }
    assert_eq!(got, expected.len());
    assert_eq!(&out[..got], &expected[..]);
    assert_eq!(coalmine_analysis_ticks(a), got as u64);
    // Promoted: a further batch is refused whole, the status why its first tick was.
    let mut observed = usize::MAX;
    assert_eq!(
        coalmine_analysis_observe_batch_counts(
            a,
            ts[n - 1..].as_ptr(),
            1,
            control[(n - 1) * 6..].as_ptr(),
            6,
            canary[(n - 1) * 6..].as_ptr(),
            6,
            null(),
            0,
            null(),
            0,
            out.as_mut_ptr(),
            1,
            &mut observed,
        ),
        COALMINE_FINISHED
    );
    assert_eq!(observed, 0);
    coalmine_analysis_free(one);
    coalmine_analysis_free(a);
    coalmine_profile_free(p);
}

#[test]
fn a_batch_with_a_bad_count_changes_nothing_and_names_the_tick() {
    let p = profile();
    let a = analysis(p);
    let ticks = live(6, 24 * 14, 100);
    let ts: Vec<f64> = ticks.iter().map(|t| t.0).collect();
    let control: Vec<f64> = ticks.iter().flat_map(|t| t.1.clone()).collect();
    let canary: Vec<f64> = ticks.iter().flat_map(|t| t.2.clone()).collect();
    let good = counts_for(6, 100.0);
    let mut bad = good.clone();
    bad[3 * 6 + 2] = -1.0;
    let mut out = vec![
        coalmine_decision::from(
            &Analysis::new(
                crate::guard::borrow(p as *const coalmine_profile).unwrap(),
                AnalysisConfig::default(),
            )
            .unwrap()
            .decision()
            .clone()
        );
        6
    ];
    let sentinel = out.clone();
    let call = |control_counts: &[f64],
                canary_counts: *const f64,
                len: usize,
                out: &mut [coalmine_decision],
                observed: *mut usize| {
        coalmine_analysis_observe_batch_counts(
            a,
            ts.as_ptr(),
            6,
            control.as_ptr(),
            control.len(),
            canary.as_ptr(),
            canary.len(),
            control_counts.as_ptr(),
            control_counts.len(),
            canary_counts,
            len,
            out.as_mut_ptr(),
            out.len(),
            observed,
        )
    };
    let mut observed = 9;
    assert_eq!(
        call(&good, bad.as_ptr(), bad.len(), &mut out, &mut observed),
        COALMINE_INVALID_COUNT
    );
    assert_eq!((observed, coalmine_analysis_ticks(a)), (0, 0));
    assert_eq!(out, sentinel, "outputs untouched");
    let mut n = 0;
    let mut buf = [0 as c_char; 256];
    ok(coalmine_analysis_last_error(
        a,
        buf.as_mut_ptr(),
        buf.len(),
        &mut n,
    ));
    let msg: String = buf[..n].iter().map(|&c| c as u8 as char).collect();
    assert!(msg.starts_with("tick 3 of the batch"), "{msg}");
    // Counts not laid out like the values; a non-NULL pointer with length 0 is counts.
    assert_eq!(
        call(&good[..35], good.as_ptr(), 36, &mut out, &mut observed),
        COALMINE_LENGTH_MISMATCH
    );
    assert_eq!(
        call(&good, good.as_ptr(), 0, &mut out, &mut observed),
        COALMINE_LENGTH_MISMATCH
    );
    // `observed` is required; NULL counts with length 0 are no counts.
    assert_eq!(
        call(&good, null(), 0, &mut out, null_mut()),
        COALMINE_NULL_POINTER
    );
    assert_eq!(coalmine_analysis_ticks(a), 0);
    ok(call(&good, null(), 0, &mut out, &mut observed));
    assert_eq!((observed, coalmine_analysis_ticks(a)), (6, 6));
    coalmine_analysis_free(a);
    coalmine_profile_free(p);
}

#[test]
fn a_builder_fed_one_minute_timestamps_learns_a_sixty_second_interval() {
    let s = schema();
    let mut b = null_mut();
    ok(coalmine_profile_builder_new(
        s,
        PROFILE_CONFIG.as_ptr().cast(),
        PROFILE_CONFIG.len(),
        &mut b,
    ));
    coalmine_schema_free(s);
    let t0 = 1_700_000_000.0;
    for (i, row) in history(24 * 14).iter().enumerate() {
        ok(coalmine_profile_builder_push_tick_at(
            b,
            t0 + 60.0 * i as f64,
            row.as_ptr(),
            row.len(),
        ));
    }
    let row = history(1).remove(0);
    // A repeated or earlier timestamp, or none, is refused and adds nothing.
    assert_eq!(
        coalmine_profile_builder_push_tick_at(b, t0, row.as_ptr(), row.len()),
        COALMINE_TIMESTAMP
    );
    assert_eq!(
        coalmine_profile_builder_push_tick_at(b, f64::NAN, row.as_ptr(), row.len()),
        COALMINE_NON_FINITE
    );
    assert_eq!(coalmine_profile_builder_ticks(b), 24 * 14);
    let mut p = null_mut();
    ok(coalmine_profile_builder_build(b, &mut p));
    assert_eq!(coalmine_profile_tick_interval(p), 60.0);
    coalmine_profile_free(p);
    coalmine_profile_builder_free(b);
    // Without timestamps there is no interval; NULL is NaN too.
    let p = profile();
    assert!(coalmine_profile_tick_interval(p).is_nan());
    assert!(coalmine_profile_tick_interval(null()).is_nan());
    coalmine_profile_free(p);
}
