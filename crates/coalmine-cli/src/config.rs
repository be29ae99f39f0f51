//! The TOML configuration file: schema, and optional policy, traffic, risk and profile
//! settings. Unknown keys are errors that name the key.

use std::path::Path;

use coalmine::analysis::AnalysisConfig;
use coalmine::feedback::FeedbackConfig;
use coalmine::policy::PolicyConfig;
use coalmine::profile::{ProfileBuilder, ProfileConfig};
use coalmine::risk::RiskConfig;
use coalmine::schema::{FeatureSpec, MetricSpec, Schema, SchemaSpec, SegmentSpec};
use coalmine::traffic::TrafficConfig;
use coalmine::{Ewma, HoltWinters, HoltWintersConfig};
use serde::{Deserialize, Serialize};

use crate::CliError;
use crate::error::{describe, field, num};

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// `[[metrics]]`.
    pub metrics: Vec<MetricSpec>,
    /// `[[segments]]`.
    pub segments: Vec<SegmentSpec>,
    /// `[[features]]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<FeatureSpec>,
    /// `[policy]`: `pause_at` (t1), `rollback_at` (t2) and the other policy settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyConfig>,
    /// `[traffic]`: ramp steps, dwell (`min_dwell_ticks`, or `min_dwell_seconds`
    /// converted at the profile's tick interval), evidence, mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic: Option<TrafficConfig>,
    /// `[risk]`: risk-computation settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<RiskConfig>,
    /// `[profile]`: how the profile is learnt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<ProfileConfig>,
    /// `[feedback]`: how recorded outcomes adjust the thresholds; stored in the profile
    /// by `learn`, and replacing the profile's settings in `analyze`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<FeedbackConfig>,
    /// `[source.*]`: where `--prometheus` reads metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceConfig>,
    /// Whether `[policy]` sets `pause_at` or `rollback_at` itself: explicit thresholds
    /// win over learnt ones, other policy keys leave learning on.
    #[serde(skip)]
    pub explicit_thresholds: bool,
}

impl ConfigFile {
    /// Reads and validates a configuration file: the schema, the analysis settings
    /// and the profile settings, each error naming the file and, when the key can be
    /// found, its line.
    pub fn load(path: &Path) -> Result<ConfigFile, CliError> {
        let file = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| CliError::file(&file, e.to_string()))?;
        ConfigFile::from_bytes(&bytes, &file)
    }

    /// Reads and validates a configuration held in memory, as [`ConfigFile::load`]
    /// does a file; `file` names it in messages.
    pub fn from_bytes(bytes: &[u8], file: &str) -> Result<ConfigFile, CliError> {
        let file = file.to_string();
        let text = std::str::from_utf8(bytes)
            .map_err(|e| CliError::at(&file, line_at(bytes, e.valid_up_to()), "not valid UTF-8"))?;
        let mut config: ConfigFile = toml::from_str(text).map_err(|e| CliError::Input {
            file: file.clone(),
            line: e
                .span()
                .map(|s| line_at(text.as_bytes(), s.start.min(text.len()))),
            series: None,
            message: e.message().trim_end().to_string(),
        })?;
        let invalid = |e: coalmine::Error| {
            let key = match &e {
                coalmine::Error::InvalidParameter { name, .. } => Some(*name),
                coalmine::Error::TooLarge { what, .. } => Some(*what),
                _ => None,
            };
            CliError::Input {
                file: file.clone(),
                line: key.and_then(|k| key_line(text, k)),
                series: None,
                message: describe(&e),
            }
        };
        config.explicit_thresholds = toml::from_str::<toml::Table>(text)
            .ok()
            .and_then(|t| t.get("policy").and_then(|p| p.as_table()).cloned())
            .is_some_and(|p| p.contains_key("pause_at") || p.contains_key("rollback_at"));
        let schema = config.schema().map_err(invalid)?;
        config.analysis().map_err(invalid)?;
        if let Some(f) = &config.feedback {
            f.validate().map_err(invalid)?;
        }
        validate_profile(&config.profile_config(), &schema).map_err(invalid)?;
        if let Some(p) = config.source.as_ref().and_then(|s| s.prometheus.as_ref()) {
            p.validate(&schema)
                .map_err(|(key, message)| CliError::Input {
                    file: file.clone(),
                    line: key.and_then(|k| key_line(text, k)),
                    series: None,
                    message: format!("[source.prometheus]: {message}"),
                })?;
        }
        Ok(config)
    }

    /// The schema description.
    pub fn schema_spec(&self) -> SchemaSpec {
        SchemaSpec {
            metrics: self.metrics.clone(),
            segments: self.segments.clone(),
            features: self.features.clone(),
        }
    }

    /// The validated schema.
    pub fn schema(&self) -> Result<Schema, coalmine::Error> {
        Schema::new(self.schema_spec())
    }

    /// The analysis settings (defaults where the file is silent).
    pub fn analysis(&self) -> Result<AnalysisConfig, coalmine::Error> {
        let mut c = AnalysisConfig::default();
        if let Some(p) = self.policy {
            p.validate()?;
            c.policy = p;
        }
        // Explicit thresholds in the file win over learnt ones; other policy settings
        // (resume_ticks, critical_rollback, ...) leave learning on.
        c.learned_thresholds = !self.explicit_thresholds;
        if let Some(t) = &self.traffic {
            coalmine::traffic::TrafficController::new(t.clone())?;
            c.traffic = t.clone();
        }
        if let Some(r) = self.risk {
            c.risk = r;
        }
        // Every setting is checked at load, so that a bad one names its line.
        c.validate()?;
        Ok(c)
    }

    /// The profile-learning settings.
    pub fn profile_config(&self) -> ProfileConfig {
        self.profile.clone().unwrap_or_default()
    }

    /// Serialises back to TOML (used by `simulate`).
    pub fn to_toml(&self) -> Result<String, CliError> {
        toml::to_string(self).map_err(|e| CliError::Runtime(e.to_string()))
    }
}

/// `[source]`: metric sources other than CSV files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// `[source.prometheus]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus: Option<PrometheusSource>,
}

/// `[source.prometheus]`: the server, the cohorts' label values and one query per
/// metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusSource {
    /// Base URL of the server.
    pub url: String,
    /// Environment variable holding a bearer token (the token never sits in the file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token_env: Option<String>,
    /// Seconds one request may take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<f64>,
    /// Further attempts after a connection failure, HTTP 429 or 5xx.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    /// Label value of the stable version, substituted for `{cohort}`.
    pub control: String,
    /// Label value of the new version.
    pub canary: String,
    /// Seconds between ticks when `--step` is not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<f64>,
    /// `[[source.prometheus.metrics]]`: one query per schema metric.
    pub metrics: Vec<coalmine_prometheus::MetricQuery>,
}

impl PrometheusSource {
    /// The server settings, defaults filled in.
    pub fn server(&self) -> coalmine_prometheus::ServerConfig {
        coalmine_prometheus::ServerConfig {
            url: self.url.clone(),
            bearer_token_env: self.bearer_token_env.clone(),
            timeout_seconds: self
                .timeout_seconds
                .unwrap_or(coalmine_prometheus::DEFAULT_TIMEOUT_SECONDS),
            retries: self.retries.unwrap_or(coalmine_prometheus::DEFAULT_RETRIES),
        }
    }

    /// The queries in schema order, with the schema's segment names.
    pub fn plan(&self, schema: &Schema) -> coalmine_prometheus::Plan {
        let spec = schema.spec();
        coalmine_prometheus::Plan {
            cohorts: coalmine_prometheus::Cohorts {
                control: self.control.clone(),
                canary: self.canary.clone(),
            },
            segments: spec.segments.iter().map(|s| s.name.clone()).collect(),
            metrics: spec
                .metrics
                .iter()
                .filter_map(|m| self.metrics.iter().find(|q| q.metric == m.name).cloned())
                .collect(),
        }
    }

    /// Checks everything that can be checked without the server; an error carries the
    /// key it is about (to find its line) and the message.
    fn validate(&self, schema: &Schema) -> Result<(), (Option<&'static str>, String)> {
        let url = self.url.trim();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err((
                Some("url"),
                format!(
                    "`url` must start with http:// or https://, got {}",
                    field(url)
                ),
            ));
        }
        if let Some(t) = self.timeout_seconds {
            if !(t.is_finite() && (0.001..=3600.0).contains(&t)) {
                return Err((
                    Some("timeout_seconds"),
                    format!("`timeout_seconds` must be in [0.001, 3600], got {}", num(t)),
                ));
            }
        }
        if let Some(r) = self.retries {
            if r > 10 {
                return Err((
                    Some("retries"),
                    format!("`retries` must be at most 10, got {r}"),
                ));
            }
        }
        if let Some(s) = self.step {
            if !(s.is_finite() && s >= 0.001) {
                return Err((
                    Some("step"),
                    format!("`step` must be at least 0.001 seconds, got {}", num(s)),
                ));
            }
        }
        if self.control.is_empty() || self.canary.is_empty() || self.control == self.canary {
            return Err((
                Some("canary"),
                format!(
                    "`control` and `canary` must be two different, non-empty label values, got {} and {}",
                    field(&self.control),
                    field(&self.canary)
                ),
            ));
        }
        let spec = schema.spec();
        for q in &self.metrics {
            if !spec.metrics.iter().any(|m| m.name == q.metric) {
                return Err((
                    None,
                    format!(
                        "metrics: unknown metric {} (not in [[metrics]])",
                        field(&q.metric)
                    ),
                ));
            }
            let n = self.metrics.iter().filter(|o| o.metric == q.metric).count();
            if n > 1 {
                return Err((
                    None,
                    format!(
                        "metrics: metric {} has {n} queries, it needs exactly one",
                        field(&q.metric)
                    ),
                ));
            }
            let templates =
                std::iter::once(("query", &q.query)).chain(q.count.as_ref().map(|c| ("count", c)));
            for (key, t) in templates {
                // Without a placeholder both cohorts, or every segment, would read
                // the same series and the comparison would be meaningless.
                let mut needed = vec!["{cohort}"];
                if spec.segments.len() > 1 {
                    needed.push("{segment}");
                }
                for p in needed {
                    if !t.contains(p) {
                        return Err((
                            None,
                            format!(
                                "metrics: the `{key}` of metric {} has no {p} placeholder",
                                field(&q.metric)
                            ),
                        ));
                    }
                }
            }
        }
        if let Some(m) = spec
            .metrics
            .iter()
            .find(|m| !self.metrics.iter().any(|q| q.metric == m.name))
        {
            return Err((
                None,
                format!("metrics: metric {} has no query", field(&m.name)),
            ));
        }
        Ok(())
    }
}

/// Checks what the profile builder would only check late, or not at all: every season
/// length (the configured one and the candidates) within what Holt-Winters accepts,
/// and the EWMA and autoencoder settings.
fn validate_profile(p: &ProfileConfig, schema: &Schema) -> Result<(), coalmine::Error> {
    ProfileBuilder::new(schema.clone(), p.clone())?;
    let seasons = p.season_length.iter().chain(&p.candidate_periods);
    for &m in seasons {
        let config = HoltWintersConfig {
            season_length: m,
            ..p.holt_winters
        };
        // Validation comes first; an empty initial season then only fails on length.
        match HoltWinters::new(config, 0.0, 0.0, &[]) {
            Ok(_) | Err(coalmine::Error::LengthMismatch { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ewma::new(p.ewma)?;
    if let Some(ae) = &p.autoencoder {
        ae.validate_for(schema.n_metrics())?;
    }
    Ok(())
}

/// The 1-based line of byte `at` of `text`.
fn line_at(text: &[u8], at: usize) -> u64 {
    text[..at.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64
        + 1
}

/// The line that sets `key`, if exactly one does.
fn key_line(text: &str, key: &str) -> Option<u64> {
    let mut found = text.lines().enumerate().filter(|(_, l)| {
        l.trim_start()
            .strip_prefix(key)
            .is_some_and(|rest| rest.trim_start().starts_with('='))
    });
    match (found.next(), found.next()) {
        (Some((i, _)), None) => Some(i as u64 + 1),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = include_str!("../tests/fixtures/config.toml");

    #[test]
    fn durations_load_in_ticks_or_in_seconds() {
        // A file written before the time forms: counts in ticks, as it always did.
        let old = format!("{BASE}\n[traffic]\nmin_dwell_ticks = 6\n[risk]\nhorizon = 4\n");
        let c = ConfigFile::from_bytes(old.as_bytes(), "old.toml").unwrap();
        let a = c.analysis().unwrap();
        assert_eq!(
            (a.traffic.min_dwell_ticks, a.traffic.min_dwell_seconds),
            (6, None)
        );
        let at_minutes = a.at_interval(Some(60.0)).unwrap();
        assert_eq!(
            (at_minutes.traffic.min_dwell_ticks, at_minutes.risk.horizon),
            (6, 4)
        );
        // The keys it is silent on take the defaults, in time.
        assert_eq!(at_minutes.policy.resume_ticks, 90);
        // The time forms, converted at the tick interval.
        let timed = format!(
            "{}\nresume_seconds = 5400\nmax_pause_seconds = 54000.0\n\
             [traffic]\nmin_dwell_seconds = 18000\n[risk]\nhorizon_seconds = 600\n",
            BASE.trim_end()
        );
        let c = ConfigFile::from_bytes(timed.as_bytes(), "timed.toml").unwrap();
        let a = c.analysis().unwrap().at_interval(Some(60.0)).unwrap();
        assert_eq!(a.traffic.min_dwell_ticks, 300);
        assert_eq!((a.policy.resume_ticks, a.policy.max_pause_ticks), (90, 900));
        assert_eq!(a.risk.horizon, 10);
        // The written form keeps them.
        let again = ConfigFile::from_bytes(c.to_toml().unwrap().as_bytes(), "again.toml").unwrap();
        assert_eq!(again.analysis().unwrap(), c.analysis().unwrap());
    }
}
