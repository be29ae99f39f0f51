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
use crate::error::describe;

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
    /// `[traffic]`: ramp steps, dwell, evidence, mode.
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
        let text = String::from_utf8(bytes).map_err(|e| {
            let at = e.utf8_error().valid_up_to();
            CliError::at(&file, line_at(e.as_bytes(), at), "not valid UTF-8")
        })?;
        let mut config: ConfigFile = toml::from_str(&text).map_err(|e| CliError::Input {
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
                line: key.and_then(|k| key_line(&text, k)),
                series: None,
                message: describe(&e),
            }
        };
        config.explicit_thresholds = toml::from_str::<toml::Table>(&text)
            .ok()
            .and_then(|t| t.get("policy").and_then(|p| p.as_table()).cloned())
            .is_some_and(|p| p.contains_key("pause_at") || p.contains_key("rollback_at"));
        let schema = config.schema().map_err(invalid)?;
        config.analysis().map_err(invalid)?;
        if let Some(f) = &config.feedback {
            f.validate().map_err(invalid)?;
        }
        validate_profile(&config.profile_config(), &schema).map_err(invalid)?;
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
