//! `Config`: the schema and the analysis and profile settings, from a dict or from the
//! TOML file the `coalmine` command reads (the same keys, the same meaning: the rules
//! here follow the command's `config.rs`).

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyType;
use serde::{Deserialize, Serialize};

use crate::core::{
    AnalysisConfig, Error, Ewma, FeatureSpec, FeedbackConfig, HoltWinters, HoltWintersConfig,
    MetricSpec, PolicyConfig, ProfileBuilder, ProfileConfig, RiskConfig, Schema, SchemaSpec,
    SegmentSpec, TrafficConfig,
};
use crate::error::{BindError, BindResult};

/// The configuration document: `[[metrics]]`, `[[segments]]`, `[[features]]` and the
/// optional `[policy]`, `[traffic]`, `[risk]` and `[profile]` tables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    metrics: Vec<MetricSpec>,
    segments: Vec<SegmentSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    features: Vec<FeatureSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    policy: Option<PolicyConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    traffic: Option<TrafficConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    risk: Option<RiskConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    profile: Option<ProfileConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    feedback: Option<FeedbackConfig>,
}

/// A validated configuration, shared (immutably) by the objects built from it.
#[derive(Debug)]
pub(crate) struct Resolved {
    file: ConfigFile,
    /// The document as given (only the keys the caller wrote), which is what
    /// `to_dict`, `to_toml` and pickling give back: whether `pause_at` or `rollback_at`
    /// was written changes the meaning.
    document: serde_json::Value,
    pub(crate) schema: Schema,
    pub(crate) analysis: AnalysisConfig,
}

impl Resolved {
    /// The rules of the `coalmine` command's configuration file, so that one file
    /// means one thing everywhere.
    fn new(file: ConfigFile, document: serde_json::Value) -> BindResult<Self> {
        let schema = Schema::new(SchemaSpec {
            metrics: file.metrics.clone(),
            segments: file.segments.clone(),
            features: file.features.clone(),
        })?;
        let mut analysis = AnalysisConfig::default();
        if let Some(p) = file.policy {
            p.validate()?;
            analysis.policy = p;
        }
        // Explicit thresholds win over learnt ones; other policy settings
        // (resume_ticks, critical_rollback, ...) leave learning on.
        let explicit = document
            .get("policy")
            .and_then(|p| p.as_object())
            .is_some_and(|p| p.contains_key("pause_at") || p.contains_key("rollback_at"));
        analysis.learned_thresholds = !explicit;
        if let Some(t) = &file.traffic {
            analysis.traffic = t.clone();
        }
        if let Some(r) = file.risk {
            analysis.risk = r;
        }
        analysis.validate()?;
        if let Some(f) = &file.feedback {
            f.validate()?;
        }
        validate_profile(&file.profile.clone().unwrap_or_default(), &schema)?;
        Ok(Resolved {
            file,
            document,
            schema,
            analysis,
        })
    }

    pub(crate) fn profile_config(&self) -> ProfileConfig {
        self.file.profile.clone().unwrap_or_default()
    }

    /// `feedback`, when given, replaces a profile's feedback settings (the recorded
    /// outcomes stay): in profiles built and analyses started with this configuration.
    pub(crate) fn feedback(&self) -> Option<FeedbackConfig> {
        self.file.feedback
    }

    pub(crate) fn spec(&self) -> &SchemaSpec {
        self.schema.spec()
    }
}

/// What the profile builder would only check late, or not at all: every season length
/// (the configured one and the candidates) within what Holt-Winters accepts, and the
/// EWMA and autoencoder settings.
fn validate_profile(p: &ProfileConfig, schema: &Schema) -> Result<(), Error> {
    ProfileBuilder::new(schema.clone(), p.clone())?;
    for &m in p.season_length.iter().chain(&p.candidate_periods) {
        let config = HoltWintersConfig {
            season_length: m,
            ..p.holt_winters
        };
        // The configuration is checked first; an empty initial season then only fails
        // on its length.
        match HoltWinters::new(config, 0.0, 0.0, &[]) {
            Ok(_) | Err(Error::LengthMismatch { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ewma::new(p.ewma)?;
    if let Some(ae) = &p.autoencoder {
        ae.validate_for(schema.n_metrics())?;
    }
    Ok(())
}

/// serde_json appends a position in the JSON text the binding made from a dict, which
/// means nothing to the caller.
fn without_position(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(i) if message[i..].contains(" column ") => &message[..i],
        _ => message,
    }
}

/// The schema and the settings of profile learning and analysis.
///
/// Build it from a dict with the keys of the TOML file (``Config.from_dict``), from a
/// TOML file (``Config.from_toml``) or from keyword arguments. As in the ``coalmine``
/// command, ``pause_at`` or ``rollback_at`` written in ``policy`` turn learnt
/// thresholds off (other policy keys leave them on), and ``feedback`` replaces the
/// feedback settings of the profiles built and analysed with it.
#[pyclass(module = "coalmine", name = "Config", frozen)]
#[derive(Debug, Clone)]
pub(crate) struct PyConfig {
    pub(crate) inner: Arc<Resolved>,
}

impl PyConfig {
    fn from_json_text(text: &str) -> BindResult<Self> {
        let invalid = |e: serde_json::Error| {
            BindError::config(format!(
                "invalid configuration: {}",
                without_position(&e.to_string())
            ))
        };
        let file: ConfigFile = serde_json::from_str(text).map_err(invalid)?;
        let document: serde_json::Value = serde_json::from_str(text).map_err(invalid)?;
        Ok(PyConfig {
            inner: Arc::new(Resolved::new(file, document)?),
        })
    }

    fn from_value(py: Python<'_>, value: &Bound<'_, PyAny>) -> BindResult<Self> {
        let text: String = py
            .import("coalmine._util")?
            .getattr("to_json")?
            .call1((value,))
            .map_err(|e| BindError::config(format!("invalid configuration: {}", e.value(py))))?
            .extract()?;
        Self::from_json_text(&text)
    }
}

#[pymethods]
impl PyConfig {
    #[new]
    #[pyo3(signature = (metrics, segments, *, features = None, policy = None, traffic = None, risk = None, profile = None, feedback = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        metrics: &Bound<'_, PyAny>,
        segments: &Bound<'_, PyAny>,
        features: Option<&Bound<'_, PyAny>>,
        policy: Option<&Bound<'_, PyAny>>,
        traffic: Option<&Bound<'_, PyAny>>,
        risk: Option<&Bound<'_, PyAny>>,
        profile: Option<&Bound<'_, PyAny>>,
        feedback: Option<&Bound<'_, PyAny>>,
    ) -> BindResult<Self> {
        let d = pyo3::types::PyDict::new(py);
        d.set_item("metrics", metrics)?;
        d.set_item("segments", segments)?;
        for (key, value) in [
            ("features", features),
            ("policy", policy),
            ("traffic", traffic),
            ("risk", risk),
            ("profile", profile),
            ("feedback", feedback),
        ] {
            if let Some(v) = value {
                d.set_item(key, v)?;
            }
        }
        Self::from_value(py, d.as_any())
    }

    /// A configuration from a dict with the TOML file's keys (``metrics``,
    /// ``segments``, ``features``, ``policy``, ``traffic``, ``risk``, ``profile``,
    /// ``feedback``).
    #[classmethod]
    fn from_dict(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        d: &Bound<'_, PyAny>,
    ) -> BindResult<Self> {
        Self::from_value(py, d)
    }

    /// A configuration from a TOML file in the ``coalmine`` command's format.
    #[classmethod]
    fn from_toml(_cls: &Bound<'_, PyType>, path: std::path::PathBuf) -> BindResult<Self> {
        let text = std::fs::read_to_string(&path).map_err(PyErr::from)?;
        Self::parse_toml(&text, &path.display().to_string())
    }

    /// A configuration from TOML text.
    #[classmethod]
    fn from_toml_str(_cls: &Bound<'_, PyType>, text: &str) -> BindResult<Self> {
        Self::parse_toml(text, "<string>")
    }

    /// The configuration as it was given (the keys the caller wrote), as a dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> BindResult<Bound<'py, PyAny>> {
        let text = serde_json::to_string(&self.inner.document)
            .map_err(|e| BindError::config(e.to_string()))?;
        Ok(py.import("json")?.getattr("loads")?.call1((text,))?)
    }

    /// The configuration as it was given, as TOML text that :meth:`from_toml_str`
    /// reads back.
    fn to_toml(&self) -> BindResult<String> {
        toml::to_string(&self.inner.document).map_err(|e| BindError::config(e.to_string()))
    }

    /// Segment names, in schema order.
    #[getter]
    fn segments(&self) -> Vec<String> {
        self.inner
            .spec()
            .segments
            .iter()
            .map(|s| s.name.clone())
            .collect()
    }

    /// Metric names, in schema order.
    #[getter]
    fn metrics(&self) -> Vec<String> {
        self.inner
            .spec()
            .metrics
            .iter()
            .map(|m| m.name.clone())
            .collect()
    }

    /// Values per tick and cohort: ``len(segments) * len(metrics)``, laid out
    /// ``values[s * len(metrics) + m]``.
    #[getter]
    fn tick_len(&self) -> usize {
        self.inner.schema.tick_len()
    }

    /// Whether the analysis uses thresholds learnt from past outcomes.
    #[getter]
    fn learned_thresholds(&self) -> bool {
        self.inner.analysis.learned_thresholds
    }

    /// The policy's thresholds ``(pause_at, rollback_at)`` as configured.
    #[getter]
    fn thresholds(&self) -> (f64, f64) {
        let p = &self.inner.analysis.policy;
        (p.pause_at, p.rollback_at)
    }

    /// Configurations are equal when they mean the same: the same settings, and
    /// thresholds given explicitly in both or in neither.
    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<PyConfig>().is_ok_and(|o| {
            let o = &o.get().inner;
            o.file == self.inner.file && o.analysis == self.inner.analysis
        })
    }

    fn __hash__(&self) -> u64 {
        // Equal configurations must hash alike: hash what equality compares.
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        serde_json::to_string(&self.inner.file)
            .unwrap_or_default()
            .hash(&mut h);
        self.inner.analysis.learned_thresholds.hash(&mut h);
        h.finish()
    }

    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> BindResult<(Bound<'py, PyAny>, (Bound<'py, PyAny>,))> {
        let restore = slf.get_type().getattr("from_dict")?;
        Ok((restore, (slf.get().to_dict(slf.py())?,)))
    }

    fn __repr__(&self) -> String {
        format!(
            "Config(segments={:?}, metrics={:?})",
            self.segments(),
            self.metrics()
        )
    }
}

impl PyConfig {
    fn parse_toml(text: &str, file: &str) -> BindResult<Self> {
        let document: toml::Table = toml::from_str(text)
            .map_err(|e| BindError::config(format!("{file}: {}", e.message().trim_end())))?;
        let document = serde_json::to_value(&document)
            .map_err(|e| BindError::config(format!("{file}: {e}")))?;
        let parsed: ConfigFile = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            match line {
                Some(l) => BindError::config(format!("{file}:{l}: {}", e.message())),
                None => BindError::config(format!("{file}: {}", e.message())),
            }
        })?;
        Ok(PyConfig {
            inner: Arc::new(Resolved::new(parsed, document)?),
        })
    }
}
