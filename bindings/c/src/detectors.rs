//! The streaming detectors on their own: EWMA and Holt-Winters, one observation at a
//! time or a whole array per call.

use std::ffi::c_char;

use crate::coalmine_anomaly;
use crate::core::{
    Anomaly, AnomalyColumns, AnomalyDetector, Ewma, EwmaConfig, FitOptions, HoltWinters,
    HoltWintersConfig,
};
use crate::error::{COALMINE_BUFFER_TOO_SMALL, Failure, coalmine_status};
use crate::guard;
use crate::guard::{
    Handle, OutArray, as_handle, call_mut, call_ref, copy_last_error, free_handle, get,
    json_config, new_handle, out_ptr, slice, write,
};

/// A detector and the scratch of its batch call (kept so steady batches do not
/// allocate).
#[derive(Debug)]
pub(crate) struct DetectorState<D> {
    detector: D,
    scratch: Scratch,
}

impl<D> DetectorState<D> {
    fn new(detector: D) -> Self {
        DetectorState {
            detector,
            scratch: Scratch::default(),
        }
    }
}

/// Where the core's batch writes before the result is copied out: the core may have
/// written part of its columns when it refuses a batch, and the caller's are written
/// only on success.
#[derive(Debug, Default)]
struct Scratch {
    expected: Vec<f64>,
    residual: Vec<f64>,
    deviation: Vec<f64>,
    tail_probability: Vec<f64>,
    ready: Vec<bool>,
}

/// A streaming EWMA detector.
#[derive(Debug)]
pub struct coalmine_ewma {
    h: Handle<DetectorState<Ewma>>,
}
as_handle!(coalmine_ewma, DetectorState<Ewma>, "ewma");

/// A streaming additive Holt-Winters detector (level, trend, season).
#[derive(Debug)]
pub struct coalmine_holt_winters {
    h: Handle<DetectorState<HoltWinters>>,
}
as_handle!(
    coalmine_holt_winters,
    DetectorState<HoltWinters>,
    "holt_winters"
);

impl From<Anomaly> for coalmine_anomaly {
    fn from(a: Anomaly) -> Self {
        coalmine_anomaly {
            expected: a.expected,
            residual: a.residual,
            deviation: a.deviation,
            tail_probability: a.tail_probability(),
            ready: a.ready,
        }
    }
}

fn observe_one<D: AnomalyDetector<Input = f64>>(
    s: &mut DetectorState<D>,
    x: f64,
    out: *mut coalmine_anomaly,
) -> Result<(), Failure> {
    let out = out_ptr(out, "out")?;
    let a = s.detector.observe(&x)?;
    write(out, a.into());
    Ok(())
}

/// The output columns of a batch, one element per observation.
struct Columns {
    expected: OutArray<f64>,
    residual: OutArray<f64>,
    deviation: OutArray<f64>,
    tail_probability: OutArray<f64>,
    ready: OutArray<bool>,
}

impl Columns {
    #[allow(clippy::too_many_arguments)]
    fn new(
        expected: *mut f64,
        residual: *mut f64,
        deviation: *mut f64,
        tail_probability: *mut f64,
        ready: *mut bool,
        len: usize,
    ) -> Result<Self, Failure> {
        Ok(Columns {
            expected: OutArray::new(expected, len, "expected")?,
            residual: OutArray::new(residual, len, "residual")?,
            deviation: OutArray::new(deviation, len, "deviation")?,
            tail_probability: OutArray::new(tail_probability, len, "tail_probability")?,
            ready: OutArray::new(ready, len, "ready")?,
        })
    }
}

/// The core's batch update (atomic; the error names the refused index; `expected`
/// and `residual` NaN where the detector had no forecast), through the scratch.
fn observe_many<D: AnomalyDetector<Input = f64> + Clone>(
    s: &mut DetectorState<D>,
    xs: &[f64],
    mut out: Columns,
) -> Result<(), Failure> {
    let n = xs.len();
    if out.expected.len() < n {
        return Err(Failure::new(
            COALMINE_BUFFER_TOO_SMALL,
            format!(
                "the output columns hold {} values, the batch has {n}",
                out.expected.len()
            ),
        ));
    }
    let sc = &mut s.scratch;
    for column in [
        &mut sc.expected,
        &mut sc.residual,
        &mut sc.deviation,
        &mut sc.tail_probability,
    ] {
        column.clear();
        column.resize(n, 0.0);
    }
    sc.ready.clear();
    sc.ready.resize(n, false);
    s.detector.observe_batch(
        xs,
        &mut AnomalyColumns {
            expected: &mut sc.expected,
            residual: &mut sc.residual,
            deviation: &mut sc.deviation,
            tail_probability: &mut sc.tail_probability,
            ready: &mut sc.ready,
        },
    )?;
    for i in 0..n {
        out.expected.set(i, sc.expected[i]);
        out.residual.set(i, sc.residual[i]);
        out.deviation.set(i, sc.deviation[i]);
        out.tail_probability.set(i, sc.tail_probability[i]);
        out.ready.set(i, sc.ready[i]);
    }
    Ok(())
}

/// Builds an EWMA detector; `config_json` holds its settings as JSON (`{"alpha": 0.1,
/// "variance_alpha": null, "warmup": 10, "clip": 5.0, "min_scale": 0.0}`, every key
/// optional); NULL with length 0 takes the defaults.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_ewma_new(
    config_json: *const c_char,
    config_len: usize,
    out: *mut *mut coalmine_ewma,
) -> coalmine_status {
    guard(|| {
        new_handle(out, || {
            let config: EwmaConfig = json_config(config_json, config_len, "EWMA config")?;
            Ok(DetectorState::new(Ewma::new(config)?))
        })
    })
}

/// Scores one observation against the forecast made before it, then learns from it;
/// `*out` receives the anomaly. A rejected observation (NaN, +-infinity, beyond 1e100)
/// changes nothing.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_ewma_observe(
    ewma: *mut coalmine_ewma,
    x: f64,
    out: *mut coalmine_anomaly,
) -> coalmine_status {
    guard(|| call_mut(ewma, |s| observe_one(s, x, out)))
}

/// Observes the `n` values of `xs` in order and writes one anomaly per value into the
/// columns (`out_len >= n` elements each). Atomic: a rejected value leaves the detector
/// as before the call and the columns untouched; the status is why the value was
/// refused and the last error names its index. `expected` and `residual` are NaN where
/// the detector had no forecast (an EWMA's very first observation).
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_ewma_observe_batch(
    ewma: *mut coalmine_ewma,
    xs: *const f64,
    n: usize,
    expected: *mut f64,
    residual: *mut f64,
    deviation: *mut f64,
    tail_probability: *mut f64,
    ready: *mut bool,
    out_len: usize,
) -> coalmine_status {
    guard(|| {
        call_mut(ewma, |s| {
            let xs = slice(xs, n, "xs")?;
            let cols = Columns::new(
                expected,
                residual,
                deviation,
                tail_probability,
                ready,
                out_len,
            )?;
            observe_many(s, xs, cols)
        })
    })
}

/// Observations accepted so far; 0 for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_ewma_observations(ewma: *const coalmine_ewma) -> u64 {
    guard(|| get(ewma, 0, |s| s.detector.observations()))
}

/// Copies the message of the detector's last failed call into `buf`, as
/// `coalmine_last_error` does.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_ewma_last_error(
    ewma: *const coalmine_ewma,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> coalmine_status {
    guard(|| copy_last_error(ewma, buf, len, written))
}

/// Releases an EWMA detector; NULL is ignored.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_ewma_free(ewma: *mut coalmine_ewma) {
    guard(|| free_handle(ewma))
}

/// Builds a Holt-Winters detector initialised from `history` (`history_len` values,
/// at least two seasons; NaN marks a missing tick) and run through it, so that it is
/// ready to score the tick after the history's last. `config_json` holds the settings
/// as JSON (`{"season_length": 24, "params": {"alpha": 0.2, "beta": 0.01, "gamma": 0.1,
/// "phi": 1.0}, "variance_alpha": 0.02, "warmup": 10, "clip": 5.0, "min_scale": 0.0}`,
/// every key optional); NULL with length 0 takes the defaults.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_holt_winters_new(
    config_json: *const c_char,
    config_len: usize,
    history: *const f64,
    history_len: usize,
    out: *mut *mut coalmine_holt_winters,
) -> coalmine_status {
    guard(|| {
        new_handle(out, || {
            let config: HoltWintersConfig =
                json_config(config_json, config_len, "Holt-Winters config")?;
            let history = slice(history, history_len, "history")?;
            Ok(DetectorState::new(HoltWinters::from_history(
                config, history,
            )?))
        })
    })
}

/// As `coalmine_holt_winters_new`, but first fits the smoothing parameters on
/// `history` (deterministic Nelder-Mead on the one-step squared error). `fit_json`
/// holds the fit options (`{"fit_trend": true, "fit_season": true, "damped": false,
/// "max_evaluations": 600}`, every key optional; NULL with length 0 for defaults).
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_holt_winters_fit(
    config_json: *const c_char,
    config_len: usize,
    fit_json: *const c_char,
    fit_len: usize,
    history: *const f64,
    history_len: usize,
    out: *mut *mut coalmine_holt_winters,
) -> coalmine_status {
    guard(|| {
        new_handle(out, || {
            let config: HoltWintersConfig =
                json_config(config_json, config_len, "Holt-Winters config")?;
            let options: FitOptions = json_config(fit_json, fit_len, "fit options")?;
            let history = slice(history, history_len, "history")?;
            Ok(DetectorState::new(HoltWinters::fit(
                config, history, &options,
            )?))
        })
    })
}

/// Scores one observation, as `coalmine_ewma_observe`.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_holt_winters_observe(
    hw: *mut coalmine_holt_winters,
    x: f64,
    out: *mut coalmine_anomaly,
) -> coalmine_status {
    guard(|| call_mut(hw, |s| observe_one(s, x, out)))
}

/// Observes an array of values, as `coalmine_ewma_observe_batch`.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_holt_winters_observe_batch(
    hw: *mut coalmine_holt_winters,
    xs: *const f64,
    n: usize,
    expected: *mut f64,
    residual: *mut f64,
    deviation: *mut f64,
    tail_probability: *mut f64,
    ready: *mut bool,
    out_len: usize,
) -> coalmine_status {
    guard(|| {
        call_mut(hw, |s| {
            let xs = slice(xs, n, "xs")?;
            let cols = Columns::new(
                expected,
                residual,
                deviation,
                tail_probability,
                ready,
                out_len,
            )?;
            observe_many(s, xs, cols)
        })
    })
}

/// The forecast `h >= 1` ticks after the last observation (`h = 0` counts as 1) into
/// `*out`.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_holt_winters_forecast(
    hw: *const coalmine_holt_winters,
    h: usize,
    out: *mut f64,
) -> coalmine_status {
    guard(|| {
        call_ref(hw, |s| {
            let out = out_ptr(out, "out")?;
            write(out, s.detector.forecast(h));
            Ok(())
        })
    })
}

/// Observations accepted so far (history included); 0 for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_holt_winters_observations(hw: *const coalmine_holt_winters) -> u64 {
    guard(|| get(hw, 0, |s| s.detector.observations()))
}

/// Copies the message of the detector's last failed call into `buf`, as
/// `coalmine_last_error` does.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_holt_winters_last_error(
    hw: *const coalmine_holt_winters,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> coalmine_status {
    guard(|| copy_last_error(hw, buf, len, written))
}

/// Releases a Holt-Winters detector; NULL is ignored.
#[unsafe(no_mangle)]
pub extern "C" fn coalmine_holt_winters_free(hw: *mut coalmine_holt_winters) {
    guard(|| free_handle(hw))
}
