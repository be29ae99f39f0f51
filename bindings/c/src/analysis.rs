//! One rollout in progress.

use std::ffi::c_char;

use crate::core::{Analysis, AnalysisConfig, Error, Tick};
use crate::error::{
    COALMINE_BUFFER_TOO_SMALL, COALMINE_LENGTH_MISMATCH, Failure, coalmine_status, copy_text,
};
use crate::guard;
use crate::guard::{
    Handle, OutArray, as_handle, borrow, call_mut, call_ref, copy_last_error, free_handle, get,
    json_config, make_handle, new_handle, out_ptr, slice, write,
};
use crate::schema::out_of_range;
use crate::{
    coalmine_bytes, coalmine_contributor, coalmine_decision, coalmine_profile,
    coalmine_verdict_report,
};

/// The state behind an analysis handle: the core's analysis and the scratch of the
/// batch call (kept between calls so that steady batches do not allocate).
#[derive(Debug)]
pub(crate) struct AnalysisState {
    analysis: Analysis,
    decisions: Vec<coalmine_decision>,
}

impl AnalysisState {
    fn new(analysis: Analysis) -> Self {
        AnalysisState {
            analysis,
            decisions: Vec::new(),
        }
    }
}

/// One rollout in progress: the profile's detectors, the risk, the policy and the
/// traffic state. Feed it ticks; it decides.
#[derive(Debug)]
pub struct coalmine_analysis {
    h: Handle<AnalysisState>,
}
as_handle!(coalmine_analysis, AnalysisState, "analysis");

/// Starts analysing a rollout against `profile` (which is not retained: free it
/// whenever you like). `config_json` (`config_len` bytes) holds the analysis settings
/// as JSON, `{"risk": {...}, "policy": {"pause_at": 0.5, "rollback_at": 0.8, ...},
/// "traffic": {"steps": [0.01, 0.05, 0.25, 1.0], ...}, "learned_thresholds": true}`,
/// every key optional; NULL with length 0 takes the defaults.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_analysis_new(
    profile: *const coalmine_profile,
    config_json: *const c_char,
    config_len: usize,
    out: *mut *mut coalmine_analysis,
) -> coalmine_status {
    guard(|| {
        new_handle(out, || {
            let profile = borrow(profile)?;
            let config: AnalysisConfig = json_config(config_json, config_len, "analysis config")?;
            Ok(AnalysisState::new(Analysis::new(profile, config)?))
        })
    })
}

/// Observes one tick and decides; `*out` receives the decision. `control` and
/// `canary` hold the two cohorts' values, `values[segment * n_metrics + metric]`, each
/// of the schema's tick length; NaN marks a missing value (skipped and counted). The
/// timestamp (seconds, any epoch) must be finite and after the previous tick's. A
/// rejected tick leaves the analysis unchanged and usable. Once the rollout is
/// promoted the analysis is over: every tick gets `COALMINE_FINISHED`.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_analysis_observe(
    analysis: *mut coalmine_analysis,
    timestamp: f64,
    control: *const f64,
    control_len: usize,
    canary: *const f64,
    canary_len: usize,
    out: *mut coalmine_decision,
) -> coalmine_status {
    guard(|| {
        call_mut(analysis, |s| {
            let out = out_ptr(out, "out")?;
            let tick = Tick {
                timestamp,
                control: slice(control, control_len, "control")?,
                canary: slice(canary, canary_len, "canary")?,
                control_counts: None,
                canary_counts: None,
            };
            let decision = s.analysis.observe(&tick)?;
            write(out, decision.into());
            Ok(())
        })
    })
}

/// `coalmine_analysis_observe` with the count behind each value (the requests behind
/// an error ratio, the users or sessions behind a mean): `control_counts` holds
/// `control_counts_len` counts laid out like `control`, `canary_counts` holds
/// `canary_counts_len` laid out like `canary`; either may be NULL with length 0 (no
/// counts for that cohort). A count of 0
/// makes its value missing; NaN means unknown (the value is used as without counts).
/// A negative, infinite or too large count is `COALMINE_INVALID_COUNT`, counts not laid
/// out like the values `COALMINE_LENGTH_MISMATCH`; either leaves the analysis
/// unchanged.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_analysis_observe_counts(
    analysis: *mut coalmine_analysis,
    timestamp: f64,
    control: *const f64,
    control_len: usize,
    canary: *const f64,
    canary_len: usize,
    control_counts: *const f64,
    control_counts_len: usize,
    canary_counts: *const f64,
    canary_counts_len: usize,
    out: *mut coalmine_decision,
) -> coalmine_status {
    guard(|| {
        call_mut(analysis, |s| {
            let out = out_ptr(out, "out")?;
            let counts = |ptr: *const f64, len: usize, what: &str| {
                // NULL with length 0 is "no counts"; any other pointer, even with length
                // 0, is counts the core checks against the values' layout.
                if ptr.is_null() && len == 0 {
                    Ok(None)
                } else {
                    slice(ptr, len, what).map(Some)
                }
            };
            let tick = Tick {
                timestamp,
                control: slice(control, control_len, "control")?,
                canary: slice(canary, canary_len, "canary")?,
                control_counts: counts(control_counts, control_counts_len, "control_counts")?,
                canary_counts: counts(canary_counts, canary_counts_len, "canary_counts")?,
            };
            let decision = s.analysis.observe(&tick)?;
            write(out, decision.into());
            Ok(())
        })
    })
}

/// Observes `n_ticks` ticks in order in one call (one crossing of the ABI for all):
/// `timestamps[i]` and rows `i` of `control` and `canary` (each `n_ticks` rows of the
/// schema's tick length, row after row, so `control_len == n_ticks * tick_len`).
/// `out` receives one decision per tick (`out_len >= n_ticks`).
///
/// Atomic: if any tick is rejected, the analysis is left exactly as before the call,
/// nothing is written to `out`, and the last error names the tick's index in the
/// batch. Contributors are available for the batch's last decision only.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_analysis_observe_batch(
    analysis: *mut coalmine_analysis,
    timestamps: *const f64,
    n_ticks: usize,
    control: *const f64,
    control_len: usize,
    canary: *const f64,
    canary_len: usize,
    out: *mut coalmine_decision,
    out_len: usize,
) -> coalmine_status {
    guard(|| {
        call_mut(analysis, |s| {
            let timestamps = slice(timestamps, n_ticks, "timestamps")?;
            let control = slice(control, control_len, "control")?;
            let canary = slice(canary, canary_len, "canary")?;
            let mut out = OutArray::new(out, out_len, "out")?;
            if out.len() < n_ticks {
                return Err(Failure::new(
                    COALMINE_BUFFER_TOO_SMALL,
                    format!("`out` holds {out_len} decisions, the batch has {n_ticks} ticks"),
                ));
            }
            if n_ticks == 0 {
                return Ok(());
            }
            let row = control_len / n_ticks;
            for (what, len) in [("control", control_len), ("canary", canary_len)] {
                if len != row * n_ticks {
                    return Err(Failure::new(
                        COALMINE_LENGTH_MISMATCH,
                        format!(
                            "`{what}` holds {len} values, not a whole number of rows for {n_ticks} ticks of the same length"
                        ),
                    ));
                }
            }
            // The core observes one tick at a time; a copy taken before the batch
            // makes the whole batch succeed or change nothing.
            let before = s.analysis.clone();
            s.decisions.clear();
            for (i, &timestamp) in timestamps.iter().enumerate() {
                let tick = Tick {
                    timestamp,
                    control: &control[i * row..(i + 1) * row],
                    canary: &canary[i * row..(i + 1) * row],
                    control_counts: None,
                    canary_counts: None,
                };
                match s.analysis.observe(&tick) {
                    Ok(d) => s.decisions.push(d.into()),
                    Err(e) => {
                        s.analysis = before;
                        return Err(Failure::from(e).context(format!("tick {i} of the batch")));
                    }
                }
            }
            for (i, d) in s.decisions.iter().enumerate() {
                out.set(i, *d);
            }
            Ok(())
        })
    })
}

/// The last decision (before any tick: continue, reason no-data, at the first step).
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_analysis_decision(
    analysis: *const coalmine_analysis,
    out: *mut coalmine_decision,
) -> coalmine_status {
    guard(|| {
        call_ref(analysis, |s| {
            let out = out_ptr(out, "out")?;
            write(out, s.analysis.decision().into());
            Ok(())
        })
    })
}

/// Contributor `index` (0 = strongest) of the last decision, `index <
/// n_contributors`; `COALMINE_INDEX_OUT_OF_RANGE` beyond.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_analysis_contributor(
    analysis: *const coalmine_analysis,
    index: usize,
    out: *mut coalmine_contributor,
) -> coalmine_status {
    guard(|| {
        call_ref(analysis, |s| {
            let out = out_ptr(out, "out")?;
            let all = &s.analysis.decision().assessment.contributors;
            let c = all
                .get(index)
                .ok_or_else(|| out_of_range("contributor", index, all.len()))?;
            write(out, c.into());
            Ok(())
        })
    })
}

/// What the rollout concludes if it ended now, with the evidence it rests on: promote
/// only once the ramp completed with sufficient evidence, rollback once rolled back,
/// pause while held, and inconclusive otherwise (no ticks, no canary or control data,
/// series never observed in both cohorts, a ramp not finished), never "promote" for
/// lack of evidence.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_analysis_verdict(
    analysis: *const coalmine_analysis,
    out: *mut coalmine_verdict_report,
) -> coalmine_status {
    guard(|| {
        call_ref(analysis, |s| {
            let out = out_ptr(out, "out")?;
            write(out, (&s.analysis.verdict()).into());
            Ok(())
        })
    })
}

/// Series `index` (`< n_unobserved` of the verdict report) never observed in both
/// cohorts on the same tick: `*segment` and `*metric`.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_analysis_unobserved(
    analysis: *const coalmine_analysis,
    index: usize,
    segment: *mut usize,
    metric: *mut usize,
) -> coalmine_status {
    guard(|| {
        call_ref(analysis, |s| {
            let seg_out = out_ptr(segment, "segment")?;
            let metric_out = out_ptr(metric, "metric")?;
            let report = s.analysis.verdict();
            let id = report
                .unobserved
                .get(index)
                .ok_or_else(|| out_of_range("unobserved series", index, report.unobserved.len()))?;
            write(seg_out, id.segment);
            write(metric_out, id.metric);
            Ok(())
        })
    })
}

/// One line for a person: the verdict and its reason, naming what was missing (for
/// example "inconclusive: 2 series never observed in both cohorts: latency_ms in pro,
/// ..."), copied into `buf` as `coalmine_analysis_summary` does.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_analysis_verdict_explain(
    analysis: *const coalmine_analysis,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> coalmine_status {
    guard(|| {
        call_ref(analysis, |s| {
            let text = s.analysis.verdict().explain(s.analysis.schema_spec());
            copy_text(&text, buf, len, written)
        })
    })
}

/// A one-line human summary of the last decision naming its top contributor, copied
/// into `buf` (NUL-terminated, `*written` gets its length without the NUL, `buf` NULL
/// and `len` 0 only measure).
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_analysis_summary(
    analysis: *const coalmine_analysis,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> coalmine_status {
    guard(|| {
        call_ref(analysis, |s| {
            copy_text(&s.analysis.summary(), buf, len, written)
        })
    })
}

/// Ticks observed so far; 0 for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_analysis_ticks(analysis: *const coalmine_analysis) -> u64 {
    guard(|| get(analysis, 0, |s| s.analysis.ticks()))
}

/// The highest risk seen so far (what feedback records); NaN for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_analysis_peak_risk(analysis: *const coalmine_analysis) -> f64 {
    guard(|| get(analysis, f64::NAN, |s| s.analysis.peak_risk()))
}

/// The thresholds in use: `*pause_at` (t1) and `*rollback_at` (t2).
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_analysis_thresholds(
    analysis: *const coalmine_analysis,
    pause_at: *mut f64,
    rollback_at: *mut f64,
) -> coalmine_status {
    guard(|| {
        call_ref(analysis, |s| {
            let t1 = out_ptr(pause_at, "pause_at")?;
            let t2 = out_ptr(rollback_at, "rollback_at")?;
            let t = s.analysis.thresholds();
            write(t1, t.pause_at);
            write(t2, t.rollback_at);
            Ok(())
        })
    })
}

/// Saves the whole state; `*out` receives new bytes (release with
/// `coalmine_bytes_free`). `coalmine_analysis_restore` continues from them bit for bit.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_analysis_checkpoint(
    analysis: *const coalmine_analysis,
    out: *mut *mut coalmine_bytes,
) -> coalmine_status {
    guard(|| {
        call_ref(analysis, |s| {
            make_handle(out, || {
                let text = s.analysis.checkpoint();
                if text.is_empty() {
                    return Err(Error::Internal {
                        reason: "the analysis could not be serialised",
                    }
                    .into());
                }
                Ok(text.into_bytes())
            })
        })
    })
}

/// Restores an analysis from `coalmine_analysis_checkpoint`'s bytes (`len` of them);
/// `*out` receives it. Another format version is `COALMINE_CHECKPOINT_VERSION`;
/// truncated, corrupt or inconsistent bytes (including invalid UTF-8) are
/// `COALMINE_CORRUPT_CHECKPOINT`.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_analysis_restore(
    bytes: *const u8,
    len: usize,
    out: *mut *mut coalmine_analysis,
) -> coalmine_status {
    guard(|| {
        new_handle(out, || {
            let bytes = slice(bytes, len, "bytes")?;
            let text = std::str::from_utf8(bytes).map_err(|e| Error::CorruptCheckpoint {
                reason: format!("not UTF-8: {e}"),
            })?;
            Ok(AnalysisState::new(Analysis::restore(text)?))
        })
    })
}

/// Copies the message of the analysis's last failed mutating call (`observe`,
/// `observe_counts`, `observe_batch`; empty if none) into `buf`, as `coalmine_last_error` does. Never
/// changes the message.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_analysis_last_error(
    analysis: *const coalmine_analysis,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> coalmine_status {
    guard(|| copy_last_error(analysis, buf, len, written))
}

/// Releases an analysis; NULL is ignored.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_analysis_free(analysis: *mut coalmine_analysis) {
    guard(|| free_handle(analysis))
}
