//! `learn` and `analyze`: profiles from history, decisions from live ticks.

use std::io::Read;
use std::path::Path;

use coalmine::MAX_DOCUMENT_BYTES as MAX_PROFILE_BYTES;
use coalmine::policy::Level;
use coalmine::profile::{BehaviorProfile, ProfileBuilder};
use coalmine::schema::Schema;
use serde_json::json;

use crate::config::ConfigFile;
use crate::error::describe;
use crate::input::{Role, Tick, read_ticks, series_name};
use crate::output::{Out, note, refuse_overwrite, write_file};
use crate::progress::Progress;
use crate::replay::{
    Record, Replay, Replayer, exit_code, reason_words, source_name, verdict_reason_name,
};
use crate::timestamp;
use crate::{CliError, prom, report};

/// Live files at least this large get a progress bar.
const LARGE_FILE: u64 = 1 << 20;

/// A core error about the tick of `t` in `file`.
fn tick_error(file: &Path, t: &Tick, e: &coalmine::Error) -> CliError {
    CliError::at(
        &file.display().to_string(),
        t.line,
        format!(
            "tick at {}: {}",
            timestamp::format(t.timestamp, t.style),
            describe(e)
        ),
    )
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// Learns a profile from the history file.
fn learn_profile(
    cfg: &ConfigFile,
    schema: &Schema,
    history: &Path,
    progress: Progress,
) -> Result<(BehaviorProfile, u64), CliError> {
    let mut builder = ProfileBuilder::new(schema.clone(), cfg.profile_config())?;
    let bar = progress.bytes(file_size(history), "learning");
    let summary = read_ticks(history, schema, Role::History, bar.as_ref(), |t| {
        builder
            .push_tick_at(t.timestamp, &t.control)
            .map_err(|e| tick_error(history, t, &e))
    })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let profile = build_profile(
        cfg,
        schema,
        builder,
        &summary.observed,
        &history.display().to_string(),
    )?;
    Ok((profile, summary.ticks))
}

/// Builds the profile once every history tick is pushed, refusing series with fewer
/// than `min_history` observed values; errors name `source`.
pub fn build_profile(
    cfg: &ConfigFile,
    schema: &Schema,
    builder: ProfileBuilder,
    observed: &[u64],
    source: &str,
) -> Result<BehaviorProfile, CliError> {
    let min_history = cfg.profile_config().min_history;
    for (i, &n) in observed.iter().enumerate() {
        if (n as usize) < min_history {
            return Err(CliError::file(
                source,
                format!(
                    "{n} observed values, a profile needs at least {min_history} per series \
                     (`min_history`)"
                ),
            )
            .in_series(series_name(schema, i)));
        }
    }
    let mut profile = builder
        .build()
        .map_err(|e| CliError::file(source, describe(&e)))?;
    apply_feedback(cfg, &mut profile)?;
    Ok(profile)
}

/// `[feedback]`, when the configuration has it, replaces the profile's settings (the
/// recorded outcomes stay). It was validated with the configuration.
pub fn apply_feedback(cfg: &ConfigFile, profile: &mut BehaviorProfile) -> Result<(), CliError> {
    if let Some(f) = cfg.feedback {
        profile.set_feedback_config(f)?;
    }
    Ok(())
}

/// Where `learn` reads history from.
#[derive(Debug)]
pub enum HistorySource<'a> {
    /// A metrics CSV.
    File(&'a Path),
    /// The control cohort's history in Prometheus.
    Prometheus(&'a prom::Window),
}

/// `coalmine learn`.
pub fn learn(
    config: &Path,
    history: HistorySource<'_>,
    out: &Path,
    progress: Progress,
) -> Result<(), CliError> {
    let mut inputs = vec![("--config", config)];
    if let HistorySource::File(h) = history {
        inputs.push(("--history", h));
    }
    refuse_overwrite("--out", out, &inputs)?;
    let cfg = ConfigFile::load(config)?;
    let schema = cfg.schema()?;
    let (profile, ticks) = match history {
        HistorySource::File(h) => learn_profile(&cfg, &schema, h, progress)?,
        HistorySource::Prometheus(w) => prom::learn(&cfg, &schema, config, w)?,
    };
    write_file(out, profile.to_json().as_bytes())?;
    if progress.chatty() {
        note(format_args!(
            "learnt a profile from {ticks} ticks of {} segments x {} metrics into {}",
            cfg.segments.len(),
            cfg.metrics.len(),
            out.display()
        ));
    }
    Ok(())
}

/// Reads a profile written by `learn`, refusing files beyond the core's size limit
/// before reading them whole.
fn load_profile(path: &Path, cfg: &ConfigFile, config: &Path) -> Result<BehaviorProfile, CliError> {
    let file = path.display().to_string();
    let f = std::fs::File::open(path).map_err(|e| CliError::file(&file, e.to_string()))?;
    let too_large = |got: usize| {
        CliError::file(
            &file,
            describe(&coalmine::Error::TooLarge {
                what: "profile bytes",
                got,
                limit: MAX_PROFILE_BYTES,
            }),
        )
    };
    // A regular file says its size: an absurd one is refused unread.
    if let Ok(m) = f.metadata() {
        if m.is_file() && m.len() > MAX_PROFILE_BYTES as u64 {
            return Err(too_large(usize::try_from(m.len()).unwrap_or(usize::MAX)));
        }
    }
    let mut bytes = Vec::new();
    f.take(MAX_PROFILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::file(&file, e.to_string()))?;
    if bytes.len() > MAX_PROFILE_BYTES {
        return Err(too_large(bytes.len()));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
        CliError::at(&file, line, "the profile is not valid UTF-8")
    })?;
    let profile =
        BehaviorProfile::from_json(&text).map_err(|e| CliError::file(&file, describe(&e)))?;
    if profile.schema_spec() != &cfg.schema_spec() {
        return Err(CliError::file(
            &file,
            format!(
                "the profile was learnt for another schema than {}",
                config.display()
            ),
        ));
    }
    Ok(profile)
}

/// Writes a replay as a timeline, or as JSON lines, tick by tick and then a summary.
pub struct Printer<'a> {
    out: &'a mut Out,
    json: bool,
}

impl<'a> Printer<'a> {
    /// Delivers what was printed so far (a followed rollout prints as it goes).
    pub fn flush(&mut self) -> Result<(), CliError> {
        use std::io::Write;
        self.out.flush().map_err(|e| self.out.error(e))
    }

    /// A printer writing to `out`.
    pub fn new(out: &'a mut Out, json: bool) -> Self {
        Printer { out, json }
    }

    /// One tick.
    pub fn tick(&mut self, rec: &Record) -> Result<(), CliError> {
        if self.json {
            let line = json!({
                "timestamp": rec.timestamp,
                "time": timestamp::rfc3339(rec.timestamp),
                "risk": rec.risk,
                "predicted_risk": rec.predicted,
                "action": action_name(rec.level),
                "reason": reason_words(rec.reason).0,
                "canary_weight": rec.share,
            });
            self.out.print(format_args!("{line}\n"))
        } else {
            self.out.print(format_args!(
                "{:>14}  share {:>6.2} %  {}\n",
                timestamp::format(rec.timestamp, rec.style),
                100.0 * rec.share,
                rec.summary
            ))
        }
    }

    /// The verdict, its reason and its contributors.
    pub fn summary(&mut self, r: &Replay) -> Result<(), CliError> {
        let reason = verdict_reason_name(r.report.reason);
        let why = r.report.explain(&r.schema);
        let why = why
            .strip_prefix(r.verdict.name())
            .and_then(|w| w.strip_prefix(": "))
            .unwrap_or(&why);
        let unobserved: Vec<String> = r
            .report
            .unobserved
            .iter()
            .map(|id| {
                let (segment, metric) = r.names(id.segment, id.metric);
                format!("{metric}/{segment}")
            })
            .collect();
        if self.json {
            let contributors: Vec<_> = r
                .contributors
                .iter()
                .map(|c| {
                    let (segment, metric) = r.names(c.segment, c.metric);
                    json!({
                        "source": source_name(c.source),
                        "segment": segment,
                        "metric": metric,
                        "deviation": c.deviation,
                        "p_value": c.p_value,
                    })
                })
                .collect();
            let line = json!({
                "verdict": r.verdict.name(),
                "reason": reason,
                "reason_text": why,
                "evidence": {
                    "ticks": r.report.ticks,
                    "canary_ticks": r.report.canary_ticks,
                    "control_ticks": r.report.control_ticks,
                    "min_paired_ticks": r.report.min_paired_ticks,
                    "never_observed": unobserved,
                },
                "decided_at": r.decided_at,
                "decided_at_time": r.decided_at.and_then(timestamp::rfc3339),
                "ticks": r.ticks,
                "max_risk": r.max_risk,
                "thresholds": [r.thresholds.0, r.thresholds.1],
                "contributors": contributors,
            });
            return self.out.print(format_args!("{line}\n"));
        }
        let when = r.decided_at.map_or(String::new(), |t| {
            format!(" at {}", timestamp::format(t, r.style))
        });
        self.out.print(format_args!(
            "\nverdict: {}{when}: {why} (max risk {:.2}; pause at {:.2}, roll back at {:.2})\n",
            r.verdict.name(),
            r.max_risk,
            r.thresholds.0,
            r.thresholds.1
        ))?;
        let mut shown = Vec::new();
        for c in &r.contributors {
            let key = (c.segment, c.metric, c.source);
            if shown.contains(&key) || shown.len() == 3 {
                continue;
            }
            shown.push(key);
            let (segment, metric) = r.names(c.segment, c.metric);
            let kind = match source_name(c.source) {
                "joint" => " (joint model)",
                "limit" => " (heading for its limit)",
                _ => "",
            };
            self.out.print(format_args!(
                "  {metric} in {segment}{kind}: {:+.1} sd vs control (p = {:.1e})\n",
                c.deviation, c.p_value
            ))?;
        }
        Ok(())
    }
}

fn action_name(level: Level) -> &'static str {
    match level {
        Level::Continue => "continue",
        Level::Pause => "pause",
        Level::Rollback => "rollback",
    }
}

/// Where `analyze` reads and writes.
#[derive(Debug)]
pub struct AnalyzeArgs<'a> {
    /// The TOML configuration.
    pub config: &'a Path,
    /// History to learn the profile from.
    pub history: Option<&'a Path>,
    /// A learnt profile.
    pub profile: Option<&'a Path>,
    /// The live file, or `None` to read from Prometheus.
    pub live: Option<&'a Path>,
    /// The range to read from Prometheus.
    pub prometheus: Option<&'a prom::Window>,
    /// JSON lines instead of a timeline.
    pub json: bool,
    /// Where to write the HTML report.
    pub report: Option<&'a Path>,
}

/// `coalmine analyze`: returns the exit status of the verdict.
pub fn analyze(args: &AnalyzeArgs<'_>, progress: Progress) -> Result<u8, CliError> {
    if let Some(report) = args.report {
        let mut inputs = vec![("--config", args.config)];
        inputs.extend(args.live.map(|l| ("--live", l)));
        inputs.extend(args.history.map(|h| ("--history", h)));
        inputs.extend(args.profile.map(|p| ("--profile", p)));
        refuse_overwrite("--report", report, &inputs)?;
    }
    let cfg = ConfigFile::load(args.config)?;
    let schema = cfg.schema()?;
    let profile = match (args.history, args.profile) {
        (Some(h), _) => learn_profile(&cfg, &schema, h, progress)?.0,
        (None, Some(p)) => {
            let mut profile = load_profile(p, &cfg, args.config)?;
            apply_feedback(&cfg, &mut profile)?;
            profile
        }
        (None, None) => {
            return Err(CliError::Usage(
                "either --history or --profile is needed".into(),
            ));
        }
    };
    // The profile is valid by now: what the analysis refuses is in the configuration.
    let mut replayer = Replayer::new(&profile, cfg.analysis()?, args.report.is_some())
        .map_err(|e| CliError::file(&args.config.display().to_string(), describe(&e)))?;
    let (live, window) = match (args.live, args.prometheus) {
        (Some(live), None) => (live, None),
        (None, Some(w)) => (args.config, Some(w)),
        _ => {
            return Err(CliError::Usage(
                "either --live or --prometheus is needed".into(),
            ));
        }
    };
    let size = if window.is_some() { 0 } else { file_size(live) };
    let bar = if size >= LARGE_FILE {
        progress.bytes(size, "analysing")
    } else {
        None
    };
    let mut out = Out::stdout();
    out.attach(bar.as_ref());
    let mut printer = Printer::new(&mut out, args.json);
    if let Some(w) = window {
        prom::analyze(
            &cfg,
            &schema,
            args.config,
            w,
            &mut replayer,
            &mut printer,
            progress.chatty(),
        )?;
    } else {
        let mut stopped = false;
        // After a rollback the rest of the file is still read, so that a broken row
        // anywhere is reported, but no longer analysed.
        read_ticks(live, &schema, Role::Live, bar.as_ref(), |t| {
            if stopped {
                return Ok(());
            }
            let rec = replayer
                .push(t.timestamp, t.style, &t.control, &t.canary, t.counts())
                .map_err(|e| tick_error(live, t, &e))?;
            printer.tick(rec)?;
            stopped = replayer.done();
            Ok(())
        })?;
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let replay = replayer.finish();
    printer.summary(&replay)?;
    if let Some(path) = args.report {
        write_file(path, report::html(&replay, "coalmine analysis").as_bytes())?;
        if !args.json {
            out.print(format_args!("report: {}\n", path.display()))?;
        }
    }
    out.finish()?;
    Ok(exit_code(replay.verdict))
}
