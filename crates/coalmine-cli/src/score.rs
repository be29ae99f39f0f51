//! `coalmine score`: a calibrated, strictly causal anomaly score for one series.

use std::io::Write;
use std::path::Path;

use coalmine::scoring::{DetectorChoice, ScoringConfig, score_series};

use crate::CliError;
use crate::input::read_series;

/// Scores `input` and writes `timestamp,value,anomaly_score`.
pub fn score(input: &Path, detector: &str, output: Option<&Path>) -> Result<(), CliError> {
    let detector = match detector {
        "auto" => DetectorChoice::Auto,
        "ewma" => DetectorChoice::Ewma,
        "holt-winters" => DetectorChoice::HoltWinters,
        other => {
            return Err(CliError::Runtime(format!(
                "unknown detector `{other}` (expected auto, ewma or holt-winters)"
            )));
        }
    };
    let (_, rows) = read_series(input)?;
    let values: Vec<f64> = rows.iter().map(|r| r.1).collect();
    let scores = score_series(
        &values,
        ScoringConfig {
            detector,
            ..ScoringConfig::default()
        },
    )?;
    let mut text = String::with_capacity(rows.len() * 40);
    text.push_str("timestamp,value,anomaly_score\n");
    for ((ts, v), s) in rows.iter().zip(&scores) {
        text.push_str(&format!("{ts},{v},{s}\n"));
    }
    match output {
        Some(path) => std::fs::write(path, text).map_err(|e| CliError::io(path, e)),
        None => std::io::stdout()
            .write_all(text.as_bytes())
            .map_err(|e| CliError::Runtime(e.to_string())),
    }
}
