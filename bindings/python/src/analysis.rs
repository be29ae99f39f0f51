//! Profiles and rollouts: `ProfileBuilder`, `BehaviorProfile`, `Analysis`, `Decision`.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyType;
use serde::Serialize;

use crate::arrays;
use crate::config::{PyConfig, Resolved};
use crate::core::{
    Action, Analysis, AnalysisConfig, BatchOptions, BehaviorProfile, Contributor, Decision, Error,
    MAX_DOCUMENT_BYTES, Outcome, PolicyConfig, ProfileBuilder, RiskFactors, SchemaSpec, Thresholds,
    Tick, TickBatch, VerdictReason, VerdictReport,
};
use crate::error::{BindError, BindResult};

/// The name serde gives a unit enum value (`RiskLow` → `"risk_low"`): the core's own
/// spelling, so Python, JSON checkpoints and the command line agree.
fn name_of<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

fn json_to_py<'py>(py: Python<'py>, value: &impl Serialize) -> BindResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(value).map_err(|_| Error::Internal {
        reason: "plain data could not be serialised",
    })?;
    Ok(py.import("json")?.getattr("loads")?.call1((text,))?)
}

/// Thresholds as Python's `(pause_at, rollback_at)`.
fn pair(t: Thresholds) -> (f64, f64) {
    (t.pause_at, t.rollback_at)
}

fn outcome(name: &str) -> BindResult<Outcome> {
    serde_json::from_value(serde_json::Value::String(name.to_string())).map_err(|_| {
        Error::UnknownName {
            what: "outcome (rolled_back_truly_bad, rolled_back_false_alarm, promoted_healthy \
                   or promoted_later_bad)",
            name: name.to_string(),
        }
        .into()
    })
}

/// Learns a :class:`BehaviorProfile` from the stable version's history, one tick at a
/// time: ``values[s * len(metrics) + m]`` (NaN for missing).
#[pyclass(module = "coalmine", name = "ProfileBuilder")]
#[derive(Debug, Clone)]
pub(crate) struct PyProfileBuilder {
    inner: ProfileBuilder,
    config: Arc<Resolved>,
}

#[pymethods]
impl PyProfileBuilder {
    #[new]
    fn new(config: &PyConfig) -> BindResult<Self> {
        let c = &config.inner;
        Ok(PyProfileBuilder {
            inner: ProfileBuilder::new(c.schema.clone(), c.profile_config())?,
            config: Arc::clone(c),
        })
    }

    /// Adds one history tick (a 1-D array of ``tick_len`` values, or a
    /// ``segments × metrics`` array), taken at ``timestamp`` (seconds) when given:
    /// with timestamps the builder learns the tick interval and tries a day and a
    /// week at it as seasons. Every tick has a timestamp, or none does.
    #[pyo3(signature = (values, timestamp = None))]
    fn push(&mut self, values: &Bound<'_, PyAny>, timestamp: Option<f64>) -> BindResult<()> {
        let view = arrays::tick(values, "values")?;
        let values = arrays::slice(&view)?;
        match timestamp {
            Some(t) => self.inner.push_tick_at(t, values)?,
            None => self.inner.push_tick(values)?,
        }
        Ok(())
    }

    /// Adds every row of a 2-D array (``ticks × tick_len``) as a tick, with its
    /// timestamp from ``timestamps`` (seconds, one per row) when given. Atomic: a bad
    /// row, named by its index, leaves the builder as it was.
    #[pyo3(signature = (rows, timestamps = None))]
    fn push_many(
        &mut self,
        py: Python<'_>,
        rows: &Bound<'_, PyAny>,
        timestamps: Option<&Bound<'_, PyAny>>,
    ) -> BindResult<()> {
        let view = arrays::matrix(rows, "rows")?;
        let (data, n, d) = arrays::rows(&view)?;
        let stamps = match timestamps {
            Some(t) => {
                let v = arrays::vector(t, "timestamps")?;
                let v = arrays::slice(&v)?.to_vec();
                if v.len() != n {
                    return Err(Error::LengthMismatch {
                        what: "timestamps",
                        expected: n,
                        got: v.len(),
                    }
                    .into());
                }
                Some(v)
            }
            None => None,
        };
        let builder = &self.inner;
        let work = py.detach(|| -> BindResult<ProfileBuilder> {
            let mut work = builder.clone();
            for i in 0..n {
                let row = &data[i * d..(i + 1) * d];
                match &stamps {
                    Some(t) => work.push_tick_at(t[i], row),
                    None => work.push_tick(row),
                }
                .map_err(|e| BindError::at(e, i))?;
            }
            Ok(work)
        })?;
        self.inner = work;
        Ok(())
    }

    /// Ticks pushed so far.
    #[getter]
    fn ticks(&self) -> usize {
        self.inner.ticks()
    }

    /// Fits every series and segment model (with the GIL released).
    fn build(&self, py: Python<'_>) -> BindResult<PyProfile> {
        let builder = &self.inner;
        let mut inner = py.detach(|| builder.build())?;
        if let Some(f) = self.config.feedback() {
            inner.set_feedback_config(f)?;
        }
        Ok(PyProfile { inner })
    }

    fn __repr__(&self) -> String {
        format!("ProfileBuilder(ticks={})", self.inner.ticks())
    }
}

/// What "normal" looks like for every (segment, metric) and every segment jointly,
/// with the outcomes of past rollouts. Saved and loaded as versioned JSON.
#[pyclass(module = "coalmine", name = "BehaviorProfile")]
#[derive(Debug, Clone)]
pub(crate) struct PyProfile {
    pub(crate) inner: BehaviorProfile,
}

#[pymethods]
impl PyProfile {
    /// The profile as JSON (the format ``coalmine learn`` writes).
    fn to_json(&self) -> String {
        self.inner.to_json()
    }

    /// A profile from JSON, checking format, version, size and consistency.
    #[staticmethod]
    fn from_json(py: Python<'_>, text: &str) -> BindResult<Self> {
        let inner = py.detach(|| BehaviorProfile::from_json(text))?;
        Ok(PyProfile { inner })
    }

    /// Writes the profile to ``path``.
    fn save(&self, path: std::path::PathBuf) -> BindResult<()> {
        std::fs::write(&path, self.inner.to_json()).map_err(PyErr::from)?;
        Ok(())
    }

    /// Reads a profile written by :meth:`save` or by ``coalmine learn``.
    #[classmethod]
    fn load(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        path: std::path::PathBuf,
    ) -> BindResult<Self> {
        // Refused before reading, so an absurd file is not read into memory.
        let len = std::fs::metadata(&path).map_err(PyErr::from)?.len();
        if len > MAX_DOCUMENT_BYTES as u64 {
            return Err(Error::TooLarge {
                what: "profile bytes",
                got: usize::try_from(len).unwrap_or(usize::MAX),
                limit: MAX_DOCUMENT_BYTES,
            }
            .into());
        }
        let text = std::fs::read_to_string(&path).map_err(PyErr::from)?;
        Self::from_json(py, &text)
    }

    /// Segment names, in schema order.
    #[getter]
    fn segments(&self) -> Vec<String> {
        self.inner
            .schema_spec()
            .segments
            .iter()
            .map(|s| s.name.clone())
            .collect()
    }

    /// Metric names, in schema order.
    #[getter]
    fn metrics(&self) -> Vec<String> {
        self.inner
            .schema_spec()
            .metrics
            .iter()
            .map(|m| m.name.clone())
            .collect()
    }

    /// History ticks the profile was learnt from.
    #[getter]
    fn history_ticks(&self) -> u64 {
        self.inner.history_ticks()
    }

    /// Seconds between the history's ticks, learnt from the timestamps given to
    /// :meth:`ProfileBuilder.push` / :meth:`ProfileBuilder.push_many`; None when the
    /// history had none (or a single tick).
    #[getter]
    fn tick_interval(&self) -> Option<f64> {
        self.inner.tick_interval()
    }

    /// Outcomes of past rollouts recorded in the profile.
    #[getter]
    fn outcomes_recorded(&self) -> u64 {
        self.inner.feedback().recorded()
    }

    /// The thresholds ``(pause_at, rollback_at)`` an analysis with ``config`` (default:
    /// the default policy) would use after the outcomes recorded so far: the configured
    /// ones until enough outcomes are recorded, then moved within bounds around them.
    #[pyo3(signature = (config = None))]
    fn learned_thresholds(&self, config: Option<&PyConfig>) -> (f64, f64) {
        let policy = config.map_or_else(PolicyConfig::default, |c| c.inner.analysis.policy);
        pair(self.inner.feedback().thresholds(Thresholds {
            pause_at: policy.pause_at,
            rollback_at: policy.rollback_at,
        }))
    }

    /// Records a finished rollout's outcome (``"rolled_back_truly_bad"``,
    /// ``"rolled_back_false_alarm"``, ``"promoted_healthy"`` or
    /// ``"promoted_later_bad"``, as :meth:`Analysis.outcome` gives) with its peak risk.
    fn record_outcome(&mut self, outcome: &str, peak_risk: f64) -> BindResult<()> {
        Ok(self
            .inner
            .record_outcome(self::outcome(outcome)?, peak_risk)?)
    }

    /// Folds a healthy rollout into the profile (its detectors continue from where the
    /// analysis left them). Refuses an analysis of another schema.
    fn fold_healthy(&mut self, analysis: &PyAnalysis) -> BindResult<()> {
        analysis.inner.fold_into(&mut self.inner)?;
        Ok(())
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<PyProfile>()
            .is_ok_and(|o| o.borrow().inner == self.inner)
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, (String,))> {
        let restore = slf.get_type().getattr("from_json")?;
        Ok((restore, (slf.borrow().inner.to_json(),)))
    }

    fn __copy__(&self) -> Self {
        self.clone()
    }

    fn __deepcopy__(&self, _memo: &Bound<'_, PyAny>) -> Self {
        self.clone()
    }

    fn __repr__(&self) -> String {
        format!(
            "BehaviorProfile(segments={}, metrics={}, history_ticks={})",
            self.inner.schema_spec().segments.len(),
            self.inner.schema_spec().metrics.len(),
            self.inner.history_ticks()
        )
    }
}

/// What a rollout concluded, and the evidence it rests on.
#[pyclass(module = "coalmine", name = "VerdictReport", frozen)]
#[derive(Debug, Clone)]
pub(crate) struct PyVerdictReport {
    inner: VerdictReport,
    spec: Arc<SchemaSpec>,
}

#[pymethods]
impl PyVerdictReport {
    /// ``"promote"``, ``"pause"``, ``"rollback"`` or ``"inconclusive"``.
    #[getter]
    fn verdict(&self) -> &'static str {
        self.inner.verdict.name()
    }

    /// Why: ``"promoted"``, ``"rolled_back"``, ``"paused"``, ``"no_ticks"``,
    /// ``"no_canary_data"``, ``"no_control_data"``, ``"series_never_observed"`` or
    /// ``"ramp_incomplete"``.
    #[getter]
    fn reason(&self) -> String {
        match serde_json::to_value(self.inner.reason) {
            Ok(serde_json::Value::Object(o)) => o
                .get("kind")
                .and_then(|k| k.as_str())
                .unwrap_or_default()
                .to_string(),
            _ => String::new(),
        }
    }

    /// For a rollback or a pause, the decision's reason behind it (as
    /// :attr:`Decision.reason`).
    #[getter]
    fn because(&self) -> Option<String> {
        match self.inner.reason {
            VerdictReason::RolledBack { because } | VerdictReason::Paused { because } => {
                Some(name_of(&because))
            }
            _ => None,
        }
    }

    /// The tick at which the rollout was rolled back or promoted, if it was.
    #[getter]
    fn decided_at(&self) -> Option<u64> {
        self.inner.decided_at
    }

    /// Ticks observed.
    #[getter]
    fn ticks(&self) -> u64 {
        self.inner.ticks
    }

    /// Ticks that carried at least one canary value.
    #[getter]
    fn canary_ticks(&self) -> u64 {
        self.inner.canary_ticks
    }

    /// Ticks that carried at least one control value.
    #[getter]
    fn control_ticks(&self) -> u64 {
        self.inner.control_ticks
    }

    /// The fewest ticks on which any series was observed in both cohorts.
    #[getter]
    fn min_paired_ticks(&self) -> u64 {
        self.inner.min_paired_ticks
    }

    /// Series never observed in both cohorts on the same tick, as
    /// ``(segment, metric)``.
    #[getter]
    fn unobserved(&self) -> Vec<(String, String)> {
        let name = |v: Option<&String>| v.cloned().unwrap_or_else(|| "?".to_string());
        self.inner
            .unobserved
            .iter()
            .map(|id| {
                (
                    name(self.spec.segments.get(id.segment).map(|s| &s.name)),
                    name(self.spec.metrics.get(id.metric).map(|m| &m.name)),
                )
            })
            .collect()
    }

    /// The canary's share of traffic at the end.
    #[getter]
    fn canary_share(&self) -> f64 {
        self.inner.canary_share
    }

    /// Whether the last tick's evidence was sufficient.
    #[getter]
    fn evidence_sufficient(&self) -> bool {
        self.inner.evidence_sufficient
    }

    /// The largest minimum detectable effect among observed series, in standard
    /// deviations.
    #[getter]
    fn max_detectable_effect(&self) -> f64 {
        self.inner.max_detectable_effect
    }

    /// One line for a person: the verdict and its reason, naming what was missing.
    #[getter]
    fn explanation(&self) -> String {
        self.inner.explain(&self.spec)
    }

    /// The report as the core serialises it (indices instead of names).
    fn to_dict<'py>(&self, py: Python<'py>) -> BindResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.inner)
    }

    fn __repr__(&self) -> String {
        format!("VerdictReport({:?})", self.explanation())
    }
}

/// A timestamp in seconds: a number, or a datetime with a time zone (a
/// ``pandas.Timestamp`` is one).
fn seconds(t: &Bound<'_, PyAny>) -> BindResult<f64> {
    if let Ok(v) = t.extract::<f64>() {
        return Ok(v);
    }
    if t.hasattr("tzinfo")? && t.hasattr("timestamp")? {
        if t.getattr("tzinfo")?.is_none() {
            return Err(BindError::input(format!(
                "timestamp {} has no time zone: give seconds or an aware datetime",
                t.repr()?
            )));
        }
        return Ok(t.call_method0("timestamp")?.extract::<f64>()?);
    }
    Err(BindError::input(format!(
        "timestamp {} is neither a number of seconds nor a datetime",
        t.repr()?
    )))
}

/// One reason behind a decision.
#[pyclass(module = "coalmine", name = "Contributor", frozen, get_all)]
#[derive(Debug, Clone)]
pub(crate) struct PyContributor {
    /// ``"metric"`` (one metric, canary against control), ``"joint"`` (a segment's
    /// joint behaviour) or ``"limit"`` (a projected crossing of the metric's limit).
    source: String,
    segment: String,
    metric: String,
    feature: Option<String>,
    deviation: f64,
    deviation_vs_profile: f64,
    p_value: f64,
    significant: bool,
    e_value: f64,
    always_valid_p: f64,
}

impl PyContributor {
    fn new(c: &Contributor, spec: &SchemaSpec) -> Self {
        let name = |v: Option<&String>| v.cloned().unwrap_or_else(|| "?".to_string());
        PyContributor {
            source: name_of(&c.source),
            segment: name(spec.segments.get(c.segment).map(|s| &s.name)),
            metric: name(spec.metrics.get(c.metric).map(|m| &m.name)),
            feature: c
                .feature
                .and_then(|f| spec.features.get(f))
                .map(|f| f.name.clone()),
            deviation: c.deviation,
            deviation_vs_profile: c.deviation_vs_profile,
            p_value: c.p_value,
            significant: c.significant,
            e_value: c.e_value,
            always_valid_p: c.always_valid_p,
        }
    }
}

#[pymethods]
impl PyContributor {
    fn __repr__(&self) -> String {
        format!(
            "Contributor(source={:?}, segment={:?}, metric={:?}, deviation={}, p_value={})",
            self.source, self.segment, self.metric, self.deviation, self.p_value
        )
    }
}

/// Traffic weights for an A/B or feature-flag framework (they sum to 1).
#[pyclass(module = "coalmine", name = "Allocation", frozen, get_all)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct PyAllocation {
    control: f64,
    per_variant: f64,
    variants: usize,
}

#[pymethods]
impl PyAllocation {
    fn __repr__(&self) -> String {
        format!(
            "Allocation(control={}, per_variant={}, variants={})",
            self.control, self.per_variant, self.variants
        )
    }
}

/// The four factors of the risk score, each in [0, 1].
#[pyclass(module = "coalmine", name = "RiskFactors", frozen, get_all)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct PyRiskFactors {
    severity: f64,
    persistence: f64,
    segment_weight: f64,
    feature_correlation: f64,
}

impl From<&RiskFactors> for PyRiskFactors {
    fn from(f: &RiskFactors) -> Self {
        PyRiskFactors {
            severity: f.severity,
            persistence: f.persistence,
            segment_weight: f.segment_weight,
            feature_correlation: f.feature_correlation,
        }
    }
}

#[pymethods]
impl PyRiskFactors {
    fn __repr__(&self) -> String {
        format!(
            "RiskFactors(severity={}, persistence={}, segment_weight={}, feature_correlation={})",
            self.severity, self.persistence, self.segment_weight, self.feature_correlation
        )
    }
}

/// What to do after a tick, and why.
#[pyclass(module = "coalmine", name = "Decision", frozen)]
#[derive(Debug, Clone)]
pub(crate) struct PyDecision {
    inner: Decision,
    spec: Arc<SchemaSpec>,
    summary: String,
}

#[pymethods]
impl PyDecision {
    /// Ticks observed, this one included.
    #[getter]
    fn tick(&self) -> u64 {
        self.inner.tick
    }

    /// The tick's timestamp in seconds.
    #[getter]
    fn timestamp(&self) -> f64 {
        self.inner.timestamp
    }

    /// ``"continue"``, ``"pause"`` or ``"rollback"``.
    #[getter]
    fn action(&self) -> String {
        name_of(&self.inner.action.level())
    }

    /// Why: ``"risk_low"``, ``"risk_elevated"``, ``"risk_high"``, ``"predicted"``,
    /// ``"critical_metric"``, ``"pause_timeout"``, ``"already_rolled_back"`` or
    /// ``"no_data"``.
    #[getter]
    fn reason(&self) -> String {
        name_of(&self.inner.reason)
    }

    /// The tick's risk.
    #[getter]
    fn risk(&self) -> f64 {
        self.inner.assessment.risk
    }

    /// The risk projected ``horizon`` ticks ahead.
    #[getter]
    fn predicted_risk(&self) -> f64 {
        self.inner.assessment.predicted_risk
    }

    /// The four factors behind ``risk``.
    #[getter]
    fn factors(&self) -> PyRiskFactors {
        (&self.inner.assessment.factors).into()
    }

    /// Anomaly severity (how far).
    #[getter]
    fn severity(&self) -> f64 {
        self.inner.assessment.factors.severity
    }

    /// Anomaly persistence (how long).
    #[getter]
    fn persistence(&self) -> f64 {
        self.inner.assessment.factors.persistence
    }

    /// Impacted segment weight (which users).
    #[getter]
    fn segment_weight(&self) -> f64 {
        self.inner.assessment.factors.segment_weight
    }

    /// Feature correlation (which features move with the anomaly).
    #[getter]
    fn feature_correlation(&self) -> f64 {
        self.inner.assessment.factors.feature_correlation
    }

    /// The factors projected ``horizon`` ticks ahead.
    #[getter]
    fn predicted_factors(&self) -> PyRiskFactors {
        (&self.inner.assessment.predicted_factors).into()
    }

    /// The strongest reasons, most significant first.
    #[getter]
    fn contributors(&self) -> Vec<PyContributor> {
        self.inner
            .assessment
            .contributors
            .iter()
            .map(|c| PyContributor::new(c, &self.spec))
            .collect()
    }

    /// The canary's share of traffic after this decision.
    #[getter]
    fn canary_share(&self) -> f64 {
        self.inner.canary_share
    }

    /// Weights of control and each variant.
    #[getter]
    fn allocation(&self) -> PyAllocation {
        let a = self.inner.allocation;
        PyAllocation {
            control: a.control,
            per_variant: a.per_variant,
            variants: a.variants,
        }
    }

    /// ``"ramping"``, ``"paused"``, ``"promoted"`` or ``"rolled_back"``.
    #[getter]
    fn phase(&self) -> String {
        name_of(&self.inner.phase)
    }

    /// True in shadow mode: apply nothing.
    #[getter]
    fn shadow(&self) -> bool {
        self.inner.shadow
    }

    /// While paused: the factor to multiply the evaluation interval by.
    #[getter]
    fn interval_factor(&self) -> Option<f64> {
        match self.inner.action {
            Action::Pause {
                interval_factor, ..
            } => Some(interval_factor),
            _ => None,
        }
    }

    /// While paused, a suggested place to look: ``(segment, metric)``.
    #[getter]
    fn remediation(&self) -> Option<(String, String)> {
        match self.inner.action {
            Action::Pause {
                remediation: Some(r),
                ..
            } => {
                let s = self.spec.segments.get(r.segment)?.name.clone();
                let m = self.spec.metrics.get(r.metric)?.name.clone();
                Some((s, m))
            }
            _ => None,
        }
    }

    /// On rollback, the alert's severity: ``"warning"`` (on a prediction) or
    /// ``"critical"``.
    #[getter]
    fn alert(&self) -> Option<String> {
        match self.inner.action {
            Action::Rollback { alert } => Some(name_of(&alert.severity)),
            _ => None,
        }
    }

    /// A one-line human summary naming the top contributor.
    #[getter]
    fn summary(&self) -> String {
        self.summary.clone()
    }

    /// The whole decision as the core serialises it (indices instead of names).
    fn to_dict<'py>(&self, py: Python<'py>) -> BindResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.inner)
    }

    fn __repr__(&self) -> String {
        format!(
            "Decision(tick={}, action={:?}, reason={:?}, risk={}, canary_share={})",
            self.inner.tick,
            self.action(),
            self.reason(),
            self.inner.assessment.risk,
            self.inner.canary_share
        )
    }
}

/// One rollout in progress: feed it ticks, get decisions.
#[pyclass(module = "coalmine", name = "Analysis")]
#[derive(Debug, Clone)]
pub(crate) struct PyAnalysis {
    inner: Analysis,
    spec: Arc<SchemaSpec>,
}

impl PyAnalysis {
    fn wrap(inner: Analysis, spec: SchemaSpec) -> Self {
        PyAnalysis {
            inner,
            spec: Arc::new(spec),
        }
    }

    fn decision(&self) -> PyDecision {
        PyDecision {
            inner: self.inner.decision().clone(),
            spec: Arc::clone(&self.spec),
            summary: self.inner.summary(),
        }
    }
}

#[pymethods]
impl PyAnalysis {
    /// Starts analysing a rollout against ``profile``; ``config`` (default: the
    /// default settings) must describe the profile's schema.
    #[new]
    #[pyo3(signature = (profile, config = None))]
    fn new(profile: &PyProfile, config: Option<&PyConfig>) -> BindResult<Self> {
        let inner = match config {
            Some(c) => {
                if c.inner.spec() != profile.inner.schema_spec() {
                    return Err(Error::SchemaMismatch {
                        reason: "the configuration describes another schema than the profile's"
                            .into(),
                    }
                    .into());
                }
                match c.inner.feedback() {
                    // The caller's profile stays as it is: the settings apply to this
                    // analysis.
                    Some(f) => {
                        let mut p = profile.inner.clone();
                        p.set_feedback_config(f)?;
                        Analysis::new(&p, c.inner.analysis.clone())?
                    }
                    None => Analysis::new(&profile.inner, c.inner.analysis.clone())?,
                }
            }
            None => Analysis::new(&profile.inner, AnalysisConfig::default())?,
        };
        Ok(Self::wrap(inner, profile.inner.schema_spec().clone()))
    }

    /// Observes one tick and decides. ``control`` and ``canary`` hold
    /// ``values[s * len(metrics) + m]`` (or a ``segments × metrics`` array), NaN for
    /// missing; ``timestamp`` is seconds or an aware datetime, strictly increasing.
    /// ``control_counts`` and ``canary_counts``, laid out like the values, optionally
    /// give the count behind each value (requests behind a ratio, users behind a
    /// mean): 0 makes the value missing, NaN is unknown; a negative, infinite or too
    /// large count raises ``InvalidCountError``.
    #[pyo3(signature = (timestamp, control, canary, *, control_counts = None, canary_counts = None))]
    fn observe(
        &mut self,
        timestamp: &Bound<'_, PyAny>,
        control: &Bound<'_, PyAny>,
        canary: &Bound<'_, PyAny>,
        control_counts: Option<&Bound<'_, PyAny>>,
        canary_counts: Option<&Bound<'_, PyAny>>,
    ) -> BindResult<PyDecision> {
        let ts = seconds(timestamp)?;
        let (vc, vk) = (
            arrays::tick(control, "control")?,
            arrays::tick(canary, "canary")?,
        );
        let nc = control_counts
            .map(|c| arrays::tick(c, "control_counts"))
            .transpose()?;
        let nk = canary_counts
            .map(|c| arrays::tick(c, "canary_counts"))
            .transpose()?;
        self.inner.observe(&Tick {
            timestamp: ts,
            control: arrays::slice(&vc)?,
            canary: arrays::slice(&vk)?,
            control_counts: nc.as_ref().map(arrays::slice).transpose()?,
            canary_counts: nk.as_ref().map(arrays::slice).transpose()?,
        })?;
        Ok(self.decision())
    }

    /// Observes many ticks with the GIL released: ``timestamps`` (n), ``control`` and
    /// ``canary`` (n × tick_len). It stops once the rollout is promoted (promotion is
    /// final) and, with ``stop_at_rollback`` (the ``coalmine`` command's behaviour),
    /// after the first rollback. Atomic: every tick is checked before any is applied,
    /// so a bad tick anywhere in the batch (even after the point where it would stop),
    /// named by its index, leaves the analysis as it was. Returns one decision per
    /// observed tick. ``control_counts`` and ``canary_counts`` (n × tick_len,
    /// optional) are the counts behind the values, as in ``observe``.
    #[pyo3(signature = (timestamps, control, canary, *, stop_at_rollback = true, control_counts = None, canary_counts = None))]
    #[allow(clippy::too_many_arguments)]
    fn observe_many(
        &mut self,
        py: Python<'_>,
        timestamps: &Bound<'_, PyAny>,
        control: &Bound<'_, PyAny>,
        canary: &Bound<'_, PyAny>,
        stop_at_rollback: bool,
        control_counts: Option<&Bound<'_, PyAny>>,
        canary_counts: Option<&Bound<'_, PyAny>>,
    ) -> BindResult<Vec<PyDecision>> {
        let vt = arrays::vector(timestamps, "timestamps")?;
        let (vc, vk) = (
            arrays::matrix(control, "control")?,
            arrays::matrix(canary, "canary")?,
        );
        let ts = arrays::slice(&vt)?;
        let (c, nc, _) = arrays::rows(&vc)?;
        let (k, nk, _) = arrays::rows(&vk)?;
        if nc != ts.len() || nk != ts.len() {
            return Err(BindError::input(format!(
                "{} timestamps but {nc} control rows and {nk} canary rows",
                ts.len()
            )));
        }
        let mc = control_counts
            .map(|c| arrays::matrix(c, "control_counts"))
            .transpose()?;
        let mk = canary_counts
            .map(|c| arrays::matrix(c, "canary_counts"))
            .transpose()?;
        let cc = count_rows(mc.as_ref(), ts.len(), "control_counts")?;
        let ck = count_rows(mk.as_ref(), ts.len(), "canary_counts")?;
        let batch = TickBatch {
            timestamps: ts,
            control: c,
            canary: k,
            control_counts: cc,
            canary_counts: ck,
        };
        let options = BatchOptions { stop_at_rollback };
        let analysis = &mut self.inner;
        // The core checks the whole batch before it applies any of it: a refused
        // batch leaves the analysis as it was.
        let decisions = py.detach(|| -> BindResult<Vec<(Decision, String)>> {
            let mut out = Vec::with_capacity(ts.len());
            analysis.observe_batch(&batch, options, |a| {
                out.push((a.decision().clone(), a.summary()));
            })?;
            Ok(out)
        })?;
        Ok(decisions
            .into_iter()
            .map(|(inner, summary)| PyDecision {
                inner,
                spec: Arc::clone(&self.spec),
                summary,
            })
            .collect())
    }

    /// The last decision.
    #[getter]
    fn last_decision(&self) -> PyDecision {
        self.decision()
    }

    /// What the rollout concludes if it ends now: ``"promote"`` (the ramp completed
    /// on sufficient evidence), ``"rollback"``, ``"pause"`` or ``"inconclusive"`` (not
    /// enough evidence either way; :meth:`verdict_report` says what was missing).
    fn verdict(&self) -> &'static str {
        self.inner.verdict().verdict.name()
    }

    /// The verdict with its reason and the evidence it rests on.
    fn verdict_report(&self) -> PyVerdictReport {
        PyVerdictReport {
            inner: self.inner.verdict(),
            spec: Arc::clone(&self.spec),
        }
    }

    /// The outcome this rollout is recorded with, for :meth:`BehaviorProfile.record_outcome`,
    /// if the release turned out ``truly_bad`` or not.
    fn outcome(&self, truly_bad: bool) -> String {
        name_of(&self.inner.outcome(truly_bad))
    }

    /// Ticks observed.
    #[getter]
    fn ticks(&self) -> u64 {
        self.inner.ticks()
    }

    /// What the profile expects of (``segment``, ``metric``) next tick, for charts:
    /// ``{"expected", "scale", "canary_level", "ready"}`` (the band is
    /// ``expected ± k · scale``; ``canary_level`` is None before the canary was seen).
    fn series<'py>(
        &self,
        py: Python<'py>,
        segment: &str,
        metric: &str,
    ) -> BindResult<Bound<'py, PyAny>> {
        let index = |what: &'static str, names: Vec<&String>, name: &str| {
            names
                .iter()
                .position(|n| n.as_str() == name)
                .ok_or_else(|| Error::UnknownName {
                    what,
                    name: name.to_string(),
                })
        };
        let s = index(
            "segment",
            self.spec.segments.iter().map(|x| &x.name).collect(),
            segment,
        )?;
        let m = index(
            "metric",
            self.spec.metrics.iter().map(|x| &x.name).collect(),
            metric,
        )?;
        let view = self.inner.series(s, m).ok_or(Error::Internal {
            reason: "a series of the schema has no view",
        })?;
        json_to_py(py, &view)
    }

    /// The highest risk seen so far.
    #[getter]
    fn peak_risk(&self) -> f64 {
        self.inner.peak_risk()
    }

    /// The thresholds in use, ``(pause_at, rollback_at)``.
    #[getter]
    fn thresholds(&self) -> (f64, f64) {
        pair(self.inner.thresholds())
    }

    /// A one-line human summary of the last decision.
    fn summary(&self) -> String {
        self.inner.summary()
    }

    /// The whole state as JSON; :meth:`restore` continues exactly from it.
    fn checkpoint(&self) -> String {
        self.inner.checkpoint()
    }

    /// An analysis from a checkpoint, validated.
    #[staticmethod]
    fn restore(py: Python<'_>, text: &str) -> BindResult<Self> {
        let inner = py.detach(|| Analysis::restore(text))?;
        let spec = inner.schema_spec().clone();
        Ok(Self::wrap(inner, spec))
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, (String,))> {
        let restore = slf.get_type().getattr("restore")?;
        Ok((restore, (slf.borrow().inner.checkpoint(),)))
    }

    fn __copy__(&self) -> Self {
        self.clone()
    }

    fn __deepcopy__(&self, _memo: &Bound<'_, PyAny>) -> Self {
        self.clone()
    }

    fn __repr__(&self) -> String {
        format!(
            "Analysis(ticks={}, verdict={:?}, peak_risk={})",
            self.inner.ticks(),
            self.verdict(),
            self.inner.peak_risk()
        )
    }
}

/// The row-major counts of a batch, checked to have one row per tick (the row length
/// is the core's to check).
fn count_rows<'a>(
    m: Option<&'a numpy::PyReadonlyArray2<'_, f64>>,
    n_ticks: usize,
    what: &str,
) -> BindResult<Option<&'a [f64]>> {
    let Some(m) = m else {
        return Ok(None);
    };
    let (data, n, _) = arrays::rows(m)?;
    if n != n_ticks {
        return Err(BindError::input(format!(
            "{n_ticks} timestamps but {n} rows of `{what}`"
        )));
    }
    Ok(Some(data))
}
