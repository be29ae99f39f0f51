//! The TOML configuration file: schema, and optional policy, traffic, risk and profile
//! settings. Unknown keys are errors that name the key.

use std::path::Path;

use coalmine::analysis::AnalysisConfig;
use coalmine::policy::PolicyConfig;
use coalmine::profile::ProfileConfig;
use coalmine::risk::RiskConfig;
use coalmine::schema::{FeatureSpec, MetricSpec, Schema, SchemaSpec, SegmentSpec};
use coalmine::traffic::TrafficConfig;
use serde::{Deserialize, Serialize};

use crate::CliError;

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
}

impl ConfigFile {
    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<ConfigFile, CliError> {
        let text = std::fs::read_to_string(path).map_err(|e| CliError::io(path, e))?;
        let config: ConfigFile = toml::from_str(&text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            CliError::Input {
                file: path.display().to_string(),
                line,
                message: e.message().to_string(),
            }
        })?;
        config.schema().map_err(|e| CliError::Input {
            file: path.display().to_string(),
            line: None,
            message: e.to_string(),
        })?;
        config.analysis().map_err(|e| CliError::Input {
            file: path.display().to_string(),
            line: None,
            message: e.to_string(),
        })?;
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
            // Explicit thresholds in the file win over learnt ones.
            c.learned_thresholds = false;
        }
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
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }
}
