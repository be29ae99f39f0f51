//! `--prometheus`: history and live ticks from Prometheus' `query_range` instead of
//! CSV files. The ticks go through the same profile builder, replayer and printer as
//! the CSV path, so the same data gives the same decisions.

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use coalmine::MAX_ABS_VALUE;
use coalmine::profile::{BehaviorProfile, ProfileBuilder};
use coalmine::schema::Schema;
use coalmine_prometheus::{Cohort, Grid, MAX_POINTS, Plan, Prometheus, Range, render};

use crate::analyze::{Printer, build_profile};
use crate::config::{ConfigFile, PrometheusSource};
use crate::error::{describe, num};
use crate::output::note;
use crate::replay::Replayer;
use crate::timestamp::{self, Style};
use crate::{CliError, input::series_name};

/// Longest single wait of `--follow`, so that a clock jump is noticed soon.
const MAX_WAIT: Duration = Duration::from_secs(5);

/// The range of time `--prometheus` reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// First tick, Unix seconds.
    pub from: f64,
    /// Last tick (inclusive); `None` only with `follow`.
    pub to: Option<f64>,
    /// Wait for ticks that are not complete yet.
    pub follow: bool,
    /// Seconds between ticks; `None` to take `step` from the configuration.
    pub step: Option<f64>,
    /// How `--from` was written, so ticks print back the same way.
    pub style: Style,
}

impl Window {
    /// Parses `--from`, `--to` (Unix seconds or RFC 3339), `--follow` and `--step`.
    pub fn parse(
        from: &str,
        to: Option<&str>,
        follow: bool,
        step: Option<f64>,
    ) -> Result<Window, CliError> {
        let time = |opt: &str, text: &str| {
            timestamp::parse(text).map_err(|m| CliError::Usage(format!("{opt}: {m}")))
        };
        let (from, style) = time("--from", from)?;
        let to = to.map(|t| time("--to", t)).transpose()?.map(|t| t.0);
        if to.is_none() && !follow {
            return Err(CliError::Usage(
                "--prometheus needs --to (a past range) or --follow (a live rollout)".into(),
            ));
        }
        if let Some(to) = to {
            if to < from {
                return Err(CliError::Usage(format!(
                    "--to {} is before --from {}",
                    num(to),
                    num(from)
                )));
            }
        }
        if let Some(s) = step {
            if !(s.is_finite() && s >= 0.001) {
                return Err(CliError::Usage(format!(
                    "--step must be at least 0.001 seconds, got {}",
                    num(s)
                )));
            }
        }
        Ok(Window {
            from,
            to,
            follow,
            step,
            style,
        })
    }
}

/// The source, its client, its plan and the step, or an error naming the file.
struct Source<'a> {
    client: Prometheus,
    plan: Plan,
    step: f64,
    source: &'a PrometheusSource,
    url: String,
}

fn connect<'a>(
    cfg: &'a ConfigFile,
    schema: &Schema,
    config: &Path,
    window: &Window,
) -> Result<Source<'a>, CliError> {
    let file = config.display().to_string();
    let source = cfg
        .source
        .as_ref()
        .and_then(|s| s.prometheus.as_ref())
        .ok_or_else(|| CliError::file(&file, "--prometheus needs a [source.prometheus] table"))?;
    let step = window.step.or(source.step).ok_or_else(|| {
        CliError::Usage(format!(
            "--prometheus needs --step, or `step` in [source.prometheus] of {file}"
        ))
    })?;
    let client =
        Prometheus::new(&source.server()).map_err(|e| CliError::file(&file, e.to_string()))?;
    Ok(Source {
        client,
        plan: source.plan(schema),
        step,
        source,
        url: source.url.clone(),
    })
}

impl Source<'_> {
    fn fetch(&self, range: &Range) -> Result<Grid, CliError> {
        self.client
            .fetch(&self.plan, range)
            .map_err(|e| CliError::Runtime(e.to_string()))
    }

    /// The query that gave `column` of `cohort`: its value's, or with `count` its
    /// count's.
    fn query(&self, cohort: Cohort, column: usize, count: bool) -> String {
        let nm = self.plan.metrics.len().max(1);
        let label = match cohort {
            Cohort::Control => &self.source.control,
            Cohort::Canary => &self.source.canary,
        };
        let q = &self.plan.metrics[column % nm];
        let template = match (count, &q.count) {
            (true, Some(c)) => c,
            _ => &q.query,
        };
        render(template, label, &self.plan.segments[column / nm])
    }

    /// Refuses values and counts the CSV reader would refuse too (beyond the supported
    /// magnitude, a value its kind does not allow, a negative count), naming the query.
    fn check(&self, schema: &Schema, grid: &Grid, cohorts: &[Cohort]) -> Result<(), CliError> {
        let kinds: Vec<_> = schema.spec().metrics.iter().map(|m| m.kind).collect();
        let nm = kinds.len().max(1);
        let width = grid.width.max(1);
        for &cohort in cohorts {
            let (values, counts) = match cohort {
                Cohort::Control => (&grid.control, &grid.control_counts),
                Cohort::Canary => (&grid.canary, &grid.canary_counts),
            };
            let bad_value = values.iter().enumerate().find_map(|(i, &v)| {
                let why = if v.is_nan() {
                    None
                } else if v.abs() > MAX_ABS_VALUE {
                    Some(format!(
                        "value {} is beyond the supported magnitude {}",
                        num(v),
                        num(MAX_ABS_VALUE)
                    ))
                } else {
                    kinds[(i % width) % nm].check(v).err().map(|e| describe(&e))
                };
                why.map(|w| (i, w, false))
            });
            // The grid holds finite counts only (a NaN or infinite sample is unknown).
            let bad_count = || {
                counts.iter().flatten().enumerate().find_map(|(i, &n)| {
                    let why = if n < 0.0 {
                        Some(format!("count {} is negative", num(n)))
                    } else if n > MAX_ABS_VALUE {
                        Some(format!(
                            "count {} is beyond the supported magnitude {}",
                            num(n),
                            num(MAX_ABS_VALUE)
                        ))
                    } else {
                        None
                    };
                    why.map(|w| (i, w, true))
                })
            };
            if let Some((i, why, count)) = bad_value.or_else(bad_count) {
                let column = i % width;
                return Err(CliError::Runtime(format!(
                    "prometheus at {}: series {} ({}) at {}: {why}; query: {}",
                    self.url,
                    series_name(schema, column),
                    cohort.name(),
                    timestamp::format(grid.timestamps[i / width], Style::Unix),
                    self.query(cohort, column, count)
                )));
            }
        }
        Ok(())
    }
}

/// `learn --prometheus`: the control cohort's history over the window. A query
/// without any data is an error: a profile cannot learn a series it never saw.
pub fn learn(
    cfg: &ConfigFile,
    schema: &Schema,
    config: &Path,
    window: &Window,
) -> Result<(BehaviorProfile, u64), CliError> {
    let src = connect(cfg, schema, config, window)?;
    let Some(to) = window.to else {
        return Err(CliError::Usage("learn --prometheus needs --to".into()));
    };
    let range = Range {
        start: window.from,
        end: to,
        step: src.step,
    };
    let grid = src.fetch(&range)?;
    if let Some(m) = grid.empty.iter().find(|m| m.cohort == Cohort::Control) {
        return Err(CliError::Runtime(format!(
            "prometheus at {}: no data for series {}/{} (control) between {} and {}: \
             a profile cannot learn a series it never saw; query: {}",
            src.url,
            m.segment,
            m.metric,
            timestamp::format(window.from, window.style),
            timestamp::format(to, window.style),
            m.query
        )));
    }
    // Missing data is worth a word even with --quiet: it weakens what is learnt.
    for m in grid.gaps.iter().filter(|m| m.cohort == Cohort::Control) {
        note(format_args!(
            "coalmine: warning: series {}/{} (control) has no value at {} of {} steps; query: {}",
            m.segment,
            m.metric,
            m.steps,
            grid.len(),
            m.query
        ));
    }
    src.check(schema, &grid, &[Cohort::Control])?;
    let mut builder = ProfileBuilder::new(schema.clone(), cfg.profile_config())?;
    let mut observed = vec![0u64; grid.width];
    for t in 0..grid.len() {
        let Some((ts, control, _)) = grid.tick(t) else {
            break;
        };
        for (n, v) in observed.iter_mut().zip(control) {
            *n += u64::from(!v.is_nan());
        }
        builder.push_tick_at(ts, control).map_err(|e| {
            CliError::Runtime(format!(
                "prometheus at {}: tick at {}: {}",
                src.url,
                timestamp::format(ts, window.style),
                describe(&e)
            ))
        })?;
    }
    let profile = build_profile(
        cfg,
        schema,
        builder,
        &observed,
        &format!("prometheus at {}", src.url),
    )?;
    Ok((profile, grid.len() as u64))
}

/// `analyze --prometheus`: replays the window, or follows it as it happens, until
/// the verdict or the end of the window.
pub fn analyze(
    cfg: &ConfigFile,
    schema: &Schema,
    config: &Path,
    window: &Window,
    replayer: &mut Replayer,
    printer: &mut Printer<'_>,
    chatty: bool,
) -> Result<(), CliError> {
    let src = connect(cfg, schema, config, window)?;
    let step = src.step;
    let mut warned: HashSet<String> = HashSet::new();
    // Tick k is at from + k * step, computed afresh each time so that no rounding
    // drifts over a long rollout.
    let mut k: u64 = 0;
    loop {
        let next = window.from + step * k as f64;
        if window.to.is_some_and(|to| next > to) || replayer.done() {
            return Ok(());
        }
        // Without --follow the whole window is read at once; with it, only the ticks
        // whose step is over (a tick's values cover the step that follows it).
        let mut last = window.to.unwrap_or(f64::INFINITY);
        if window.follow {
            let complete = now() - step;
            if complete < next {
                printer.flush()?;
                let wait = (next - complete).clamp(0.001, MAX_WAIT.as_secs_f64());
                std::thread::sleep(Duration::from_secs_f64(wait));
                continue;
            }
            last = last.min(complete);
        }
        let n = (((last - next) / step + 1e-9).floor() as u64 + 1).min(MAX_POINTS as u64);
        let range = Range {
            start: next,
            end: next + step * (n - 1) as f64,
            step,
        };
        let grid = src.fetch(&range)?;
        // A query without any data is always worth a word: its series stays missing
        // and the verdict cannot promote on it. Partial gaps are told unless --quiet.
        let gaps = grid.gaps.iter().filter(|_| chatty);
        for m in grid.empty.iter().chain(gaps) {
            if warned.insert(m.query.clone()) {
                note(format_args!(
                    "coalmine: warning: series {}/{} ({}) has no value at {} of {} steps; \
                     it stays missing data; query: {}",
                    m.segment,
                    m.metric,
                    m.cohort.name(),
                    m.steps,
                    grid.len(),
                    m.query
                ));
            }
        }
        src.check(schema, &grid, &[Cohort::Control, Cohort::Canary])?;
        for t in 0..grid.len() {
            let Some((ts, control, canary)) = grid.tick(t) else {
                break;
            };
            // Without count queries there are no counts; with them, a metric that has
            // none is NaN, unknown, as an empty count in the CSV.
            let counts = grid.tick_counts(t);
            let rec = replayer
                .push(ts, window.style, control, canary, counts)
                .map_err(|e| {
                    CliError::Runtime(format!(
                        "prometheus at {}: tick at {}: {}",
                        src.url,
                        timestamp::format(ts, window.style),
                        describe(&e)
                    ))
                })?;
            printer.tick(rec)?;
            k += 1;
            if replayer.done() {
                return Ok(());
            }
        }
        if window.follow {
            printer.flush()?;
        }
    }
}

/// Unix seconds now; the only clock the command reads.
fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
