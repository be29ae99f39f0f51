//! One rollout in progress.

use std::ffi::c_char;

use crate::core::{Analysis, AnalysisConfig, BatchOptions, Error, Tick, TickBatch};
use crate::error::{COALMINE_BUFFER_TOO_SMALL, Failure, coalmine_status, copy_text};
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

/// The state behind an analysis handle.
#[derive(Debug)]
pub(crate) struct AnalysisState {
    analysis: Analysis,
}

impl AnalysisState {
    fn new(analysis: Analysis) -> Self {
        AnalysisState { analysis }
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
/// `out` receives one decision per observed tick (`out_len >= n_ticks`).
///
/// The batch ends early after the tick that promotes the rollout (promotion is final;
/// the later ticks are not observed, and `out` holds decisions for the ticks observed
/// only, the last in phase `COALMINE_PHASE_PROMOTED`):
/// `coalmine_analysis_observe_batch_counts` also says how many ticks were observed.
///
/// Atomic: every tick is checked before any is applied; if one is rejected, the
/// analysis is left exactly as before the call, nothing is written to `out`, the
/// status is why that tick was refused, and the last error names its index in the
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
            let batch = TickBatch::new(
                slice(timestamps, n_ticks, "timestamps")?,
                slice(control, control_len, "control")?,
                slice(canary, canary_len, "canary")?,
            );
            observe_batch(s, &batch, out, out_len).map(|_| ())
        })
    })
}

/// `coalmine_analysis_observe_batch` with the count behind each value, and the number
/// of ticks observed in `*observed` (`n_ticks`, or fewer when the rollout was promoted
/// before the end of the batch; 0 when the batch is rejected). `control_counts`
/// (`control_counts_len` values) and `canary_counts` (`canary_counts_len`) are laid out
/// like `control` and `canary`, `n_ticks` rows each; either may be NULL with length 0
/// (no counts for that cohort). Counts mean what they mean for
/// `coalmine_analysis_observe_counts`: 0 makes its value missing, NaN is unknown; a
/// negative, infinite or too large count is `COALMINE_INVALID_COUNT`, counts not laid
/// out like the values `COALMINE_LENGTH_MISMATCH`. Atomic as the batch without counts.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_analysis_observe_batch_counts(
    analysis: *mut coalmine_analysis,
    timestamps: *const f64,
    n_ticks: usize,
    control: *const f64,
    control_len: usize,
    canary: *const f64,
    canary_len: usize,
    control_counts: *const f64,
    control_counts_len: usize,
    canary_counts: *const f64,
    canary_counts_len: usize,
    out: *mut coalmine_decision,
    out_len: usize,
    observed: *mut usize,
) -> coalmine_status {
    guard(|| {
        call_mut(analysis, |s| {
            let observed = out_ptr(observed, "observed")?;
            write(observed, 0);
            let batch = TickBatch {
                timestamps: slice(timestamps, n_ticks, "timestamps")?,
                control: slice(control, control_len, "control")?,
                canary: slice(canary, canary_len, "canary")?,
                control_counts: counts(control_counts, control_counts_len, "control_counts")?,
                canary_counts: counts(canary_counts, canary_counts_len, "canary_counts")?,
            };
            let n = observe_batch(s, &batch, out, out_len)?;
            write(observed, n);
            Ok(())
        })
    })
}

/// Counts given as a pointer and a length: NULL with length 0 is "no counts"; any
/// other pointer, even with length 0, is counts the core checks against the values'
/// layout.
fn counts<'a>(ptr: *const f64, len: usize, what: &str) -> Result<Option<&'a [f64]>, Failure> {
    if ptr.is_null() && len == 0 {
        Ok(None)
    } else {
        slice(ptr, len, what).map(Some)
    }
}

/// The core's batch, writing each decision into `out` as it is taken: the core checks
/// every tick before it applies any, so a refused batch writes nothing.
fn observe_batch(
    s: &mut AnalysisState,
    batch: &TickBatch<'_>,
    out: *mut coalmine_decision,
    out_len: usize,
) -> Result<usize, Failure> {
    let n_ticks = batch.timestamps.len();
    let mut out = OutArray::new(out, out_len, "out")?;
    if out.len() < n_ticks {
        return Err(Failure::new(
            COALMINE_BUFFER_TOO_SMALL,
            format!("`out` holds {out_len} decisions, the batch has {n_ticks} ticks"),
        ));
    }
    let mut i = 0;
    let observed = s
        .analysis
        .observe_batch(batch, BatchOptions::default(), |a| {
            out.set(i, a.decision().into());
            i += 1;
        })
        .map_err(|e| match e {
            // The core's message says "observation"; an analysis's elements are ticks.
            Error::Batch { index, error } => {
                Failure::from(*error).context(format!("tick {index} of the batch"))
            }
            other => Failure::from(other),
        })?;
    Ok(observed)
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
/// `observe_counts`, `observe_batch`, `observe_batch_counts`; empty if none) into `buf`, as `coalmine_last_error` does. Never
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
