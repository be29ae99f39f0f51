//! `Config`: the schema and the analysis and profile settings, from a dict or from the
//! TOML file the `coalmine` command reads (the same keys, the same meaning).

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyType;
use serde::{Deserialize, Serialize};

use crate::core::{
    AnalysisConfig, FeatureSpec, MetricSpec, PolicyConfig, ProfileConfig, RiskConfig, Schema,
    SchemaSpec, SegmentSpec, TrafficConfig,
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
}

/// A validated configuration, shared (immutably) by the objects built from it.
#[derive(Debug)]
pub(crate) struct Resolved {
    file: ConfigFile,
    pub(crate) schema: Schema,
    pub(crate) analysis: AnalysisConfig,
}

impl Resolved {
    fn new(file: ConfigFile) -> BindResult<Self> {
        let schema = Schema::new(SchemaSpec {
            metrics: file.metrics.clone(),
            segments: file.segments.clone(),
            features: file.features.clone(),
        })?;
        // The same rule as the `coalmine` command, so that one file means one thing
        // everywhere: an explicit `[policy]` table wins over learnt thresholds.
        let mut analysis = AnalysisConfig::default();
        if let Some(p) = file.policy {
            p.validate()?;
            analysis.policy = p;
            analysis.learned_thresholds = false;
        }
        if let Some(t) = &file.traffic {
            analysis.traffic = t.clone();
        }
        if let Some(r) = file.risk {
            analysis.risk = r;
        }
        analysis.validate()?;
        Ok(Resolved {
            file,
            schema,
            analysis,
        })
    }

    pub(crate) fn profile_config(&self) -> ProfileConfig {
        self.file.profile.clone().unwrap_or_default()
    }

    pub(crate) fn spec(&self) -> &SchemaSpec {
        self.schema.spec()
    }
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
/// command, an explicit ``policy`` table turns learnt thresholds off.
#[pyclass(module = "coalmine", name = "Config", frozen)]
#[derive(Debug, Clone)]
pub(crate) struct PyConfig {
    pub(crate) inner: Arc<Resolved>,
}

impl PyConfig {
    fn from_json_text(text: &str) -> BindResult<Self> {
        let file: ConfigFile = serde_json::from_str(text).map_err(|e| {
            BindError::config(format!(
                "invalid configuration: {}",
                without_position(&e.to_string())
            ))
        })?;
        Ok(PyConfig {
            inner: Arc::new(Resolved::new(file)?),
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
    #[pyo3(signature = (metrics, segments, *, features = None, policy = None, traffic = None, risk = None, profile = None))]
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
        ] {
            if let Some(v) = value {
                d.set_item(key, v)?;
            }
        }
        Self::from_value(py, d.as_any())
    }

    /// A configuration from a dict with the TOML file's keys (``metrics``,
    /// ``segments``, ``features``, ``policy``, ``traffic``, ``risk``, ``profile``).
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

    /// The configuration as a dict with every key spelled out (defaults included for
    /// the tables that were given).
    fn to_dict<'py>(&self, py: Python<'py>) -> BindResult<Bound<'py, PyAny>> {
        let text = serde_json::to_string(&self.inner.file)
            .map_err(|e| BindError::config(e.to_string()))?;
        Ok(py.import("json")?.getattr("loads")?.call1((text,))?)
    }

    /// The configuration as TOML text that :meth:`from_toml_str` reads back.
    fn to_toml(&self) -> BindResult<String> {
        toml::to_string(&self.inner.file).map_err(|e| BindError::config(e.to_string()))
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

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<PyConfig>()
            .is_ok_and(|o| o.get().inner.file == self.inner.file)
    }

    fn __hash__(&self) -> u64 {
        // Configurations are compared by content; equal ones must hash alike.
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        serde_json::to_string(&self.inner.file)
            .unwrap_or_default()
            .hash(&mut h);
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
            inner: Arc::new(Resolved::new(parsed)?),
        })
    }
}
