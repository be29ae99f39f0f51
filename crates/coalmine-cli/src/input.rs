//! The metrics CSV: `timestamp,cohort,segment,metric,value`, one row per value; rows with
//! the same timestamp form one tick, in any order.

use std::path::Path;

use coalmine::schema::Schema;

use crate::{CliError, timestamp};

/// Which cohort a row belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cohort {
    /// The stable version (`baseline`, or `control`).
    Baseline,
    /// The new version.
    Canary,
}

/// One tick: dense values per cohort, NaN where no row gave a value.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    /// Unix seconds.
    pub timestamp: f64,
    /// The baseline (control) cohort's values, `[s * n_metrics + m]`.
    pub control: Vec<f64>,
    /// The canary cohort's values.
    pub canary: Vec<f64>,
    /// Whether any canary row was present.
    pub has_canary: bool,
}

/// Reads a metrics CSV against `schema`, returning ticks sorted by time. With
/// `history == true`, canary rows are an error (history holds the stable version only).
pub fn read_metrics(path: &Path, schema: &Schema, history: bool) -> Result<Vec<Tick>, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| CliError::io(path, e))?;
    parse_metrics(&text, &path.display().to_string(), schema, history)
}

/// Parses metrics CSV text (see [`read_metrics`]); `file` names it in errors.
pub fn parse_metrics(
    text: &str,
    file: &str,
    schema: &Schema,
    history: bool,
) -> Result<Vec<Tick>, CliError> {
    let err = |line: usize, message: String| CliError::Input {
        file: file.to_string(),
        line: Some(line),
        message,
    };
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((hline, header)) = lines.next() else {
        return Err(CliError::Input {
            file: file.to_string(),
            line: None,
            message: "the file is empty".into(),
        });
    };
    let cols: Vec<&str> = header
        .trim_start_matches('\u{feff}')
        .split(',')
        .map(str::trim)
        .collect();
    if cols != ["timestamp", "cohort", "segment", "metric", "value"] {
        return Err(err(
            hline + 1,
            format!(
                "expected the header `timestamp,cohort,segment,metric,value`, found `{}`",
                header.trim()
            ),
        ));
    }
    let nm = schema.n_metrics();
    let len = schema.tick_len();
    // (timestamp, cohort, index, value, line)
    let mut rows: Vec<(f64, Cohort, usize, f64, usize)> = Vec::new();
    for (i, line) in lines {
        let n = i + 1;
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != 5 {
            return Err(err(
                n,
                format!("expected 5 comma-separated fields, found {}", fields.len()),
            ));
        }
        let ts = timestamp::parse(fields[0]).map_err(|m| err(n, m))?;
        let cohort = match fields[1] {
            "baseline" | "control" => Cohort::Baseline,
            "canary" => Cohort::Canary,
            other => {
                return Err(err(
                    n,
                    format!("unknown cohort `{other}` (expected baseline, control or canary)"),
                ));
            }
        };
        if history && cohort == Cohort::Canary {
            return Err(err(
                n,
                "history holds the stable version only: found a canary row".into(),
            ));
        }
        let s = schema
            .segment_index(fields[2])
            .map_err(|e| err(n, e.to_string()))?;
        let m = schema
            .metric_index(fields[3])
            .map_err(|e| err(n, e.to_string()))?;
        let value = match fields[4] {
            "" | "NaN" | "nan" => f64::NAN,
            v => v
                .parse::<f64>()
                .map_err(|_| err(n, format!("`{v}` is not a number")))?,
        };
        if value.is_infinite() {
            return Err(err(n, format!("`{}` is not a finite number", fields[4])));
        }
        if !value.is_nan() {
            schema
                .metric(m)
                .kind
                .check(value)
                .map_err(|e| err(n, e.to_string()))?;
        }
        rows.push((ts, cohort, s * nm + m, value, n));
    }
    if rows.is_empty() {
        return Err(CliError::Input {
            file: file.to_string(),
            line: None,
            message: "no data rows after the header".into(),
        });
    }
    rows.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.4.cmp(&b.4)));
    let mut ticks: Vec<Tick> = Vec::new();
    let mut seen: Vec<(bool, bool)> = Vec::new();
    for (ts, cohort, idx, value, n) in rows {
        if ticks.last().is_none_or(|t| t.timestamp != ts) {
            ticks.push(Tick {
                timestamp: ts,
                control: vec![f64::NAN; len],
                canary: vec![f64::NAN; len],
                has_canary: false,
            });
            seen = vec![(false, false); len];
        }
        let (Some(tick), Some(flags)) = (ticks.last_mut(), seen.get_mut(idx)) else {
            continue;
        };
        let (slot, flag) = match cohort {
            Cohort::Baseline => (&mut tick.control[idx], &mut flags.0),
            Cohort::Canary => {
                tick.has_canary = true;
                (&mut tick.canary[idx], &mut flags.1)
            }
        };
        if *flag {
            return Err(err(
                n,
                "duplicate row: this timestamp, cohort, segment and metric already has a value"
                    .into(),
            ));
        }
        *flag = true;
        *slot = value;
    }
    if !history && !ticks.iter().any(|t| t.has_canary) {
        return Err(CliError::Input {
            file: file.to_string(),
            line: None,
            message: "the live file has no canary rows".into(),
        });
    }
    Ok(ticks)
}

/// A NAB-style series: `timestamp,value`, timestamps kept as written.
pub fn read_series(path: &Path) -> Result<(String, Vec<(String, f64)>), CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| CliError::io(path, e))?;
    let file = path.display().to_string();
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Err(CliError::Input {
            file,
            line: None,
            message: "the file is empty".into(),
        });
    };
    let mut out = Vec::new();
    for (i, line) in lines {
        let Some((ts, v)) = line.rsplit_once(',') else {
            return Err(CliError::Input {
                file,
                line: Some(i + 1),
                message: "expected `timestamp,value`".into(),
            });
        };
        let value = v.trim().parse::<f64>().map_err(|_| CliError::Input {
            file: file.clone(),
            line: Some(i + 1),
            message: format!("`{}` is not a number", v.trim()),
        })?;
        out.push((ts.to_string(), value));
    }
    Ok((header.trim().to_string(), out))
}
