//! # coalmine-prometheus
//!
//! Prometheus as a metrics source for coalmine. A [`Plan`] says, for every metric, the
//! PromQL query that gives one cohort's value in one user segment — a template with
//! `{cohort}` and `{segment}` placeholders — and which label values name the control
//! and canary cohorts. [`Prometheus::fetch`] runs every query of the plan with
//! `query_range` over a [`Range`] and returns a dense [`Grid`]: for each cohort, one
//! row per step with `segments × metrics` values, NaN where Prometheus had no sample.
//!
//! Missing data stays missing. A step without a sample, a `NaN` sample (`0/0` in a
//! ratio) and an infinite one (`x/0`) all become NaN in the grid and are counted per
//! query in [`Grid::gaps`]; a query that returned no series at all over the whole range
//! is listed in [`Grid::empty`], so the caller can refuse to learn from it or report
//! that a series was never observed. Everything else that can go wrong — the server is
//! unreachable, answers with an HTTP error or a `"status": "error"` body, a query
//! returns several series where one was expected, a sample is malformed — is a
//! [`SourceError`] that names the query.
//!
//! The client is blocking ([`ureq`]), with a global timeout per request and retries
//! with exponential backoff on connection failures, HTTP 429 and 5xx. A bearer token
//! is read from an environment variable named in the configuration, never from the
//! file itself. Long ranges are split into requests of at most [`MAX_POINTS`] steps,
//! under Prometheus' limit of 11,000 points per series.

use std::time::Duration;

use serde::{Deserialize, Serialize};

mod response;

pub use response::parse_matrix;

/// Steps per `query_range` request; longer ranges are split.
pub const MAX_POINTS: usize = 10_000;
/// Steps per [`Prometheus::fetch`] in all: a guard against absurd ranges (a year of
/// ten-second steps is 3.2 million).
pub const MAX_STEPS: usize = 5_000_000;
/// Largest response body read, in bytes.
const MAX_BODY_BYTES: u64 = 256 << 20;
/// Longest part of a server's error body quoted in a message.
const QUOTE_CHARS: usize = 200;

/// How to reach the server.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Base URL, e.g. `http://prometheus:9090` (the API path is appended).
    pub url: String,
    /// Name of an environment variable holding a bearer token, if the server needs one.
    #[serde(default)]
    pub bearer_token_env: Option<String>,
    /// Seconds a request may take in all (connect, send, receive).
    #[serde(default = "default_timeout")]
    pub timeout_seconds: f64,
    /// Further attempts after a connection failure, HTTP 429 or 5xx.
    #[serde(default = "default_retries")]
    pub retries: u32,
}

/// `timeout_seconds` when the configuration does not say.
pub const DEFAULT_TIMEOUT_SECONDS: f64 = 10.0;
/// `retries` when the configuration does not say.
pub const DEFAULT_RETRIES: u32 = 2;

fn default_timeout() -> f64 {
    DEFAULT_TIMEOUT_SECONDS
}

fn default_retries() -> u32 {
    DEFAULT_RETRIES
}

/// The label values that name each cohort, substituted for `{cohort}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cohorts {
    /// The stable version (the control cohort, and the history a profile learns from).
    pub control: String,
    /// The new version.
    pub canary: String,
}

/// The queries of one metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricQuery {
    /// The metric's name in the schema.
    pub metric: String,
    /// PromQL giving one cohort's value in one segment, with `{cohort}` and
    /// `{segment}` placeholders.
    pub query: String,
    /// PromQL giving the count behind the value (requests behind a ratio), same
    /// placeholders; optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<String>,
}

/// Everything needed to turn a range of time into ticks.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Label values of the cohorts.
    pub cohorts: Cohorts,
    /// Segment names in schema order, substituted for `{segment}`.
    pub segments: Vec<String>,
    /// One entry per schema metric, in schema order.
    pub metrics: Vec<MetricQuery>,
}

/// A cohort.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cohort {
    /// The stable version.
    Control,
    /// The new version.
    Canary,
}

impl Cohort {
    /// The cohort's name as the metrics CSV writes it.
    pub fn name(self) -> &'static str {
        match self {
            Cohort::Control => "control",
            Cohort::Canary => "canary",
        }
    }
}

/// Evaluation times `start, start + step, …` up to and including `end`, in seconds
/// since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    /// First evaluation time.
    pub start: f64,
    /// Last evaluation time (inclusive when on the grid).
    pub end: f64,
    /// Seconds between evaluations.
    pub step: f64,
}

impl Range {
    /// Checks the range and returns its number of steps.
    pub fn steps(&self) -> Result<usize, SourceError> {
        let bad = |reason: &str| {
            Err(SourceError::Range(format!(
                "{reason} (start {}, end {}, step {})",
                self.start, self.end, self.step
            )))
        };
        if !(self.start.is_finite() && self.end.is_finite() && self.step.is_finite()) {
            return bad("start, end and step must be finite");
        }
        if self.step < 0.001 {
            return bad("step must be at least 1 ms");
        }
        if self.end < self.start {
            return bad("end is before start");
        }
        let n = ((self.end - self.start) / self.step + 1e-9).floor() + 1.0;
        if n > MAX_STEPS as f64 {
            return Err(SourceError::Range(format!(
                "{n} steps is above the limit of {MAX_STEPS}; use a longer step or a shorter range"
            )));
        }
        Ok(n as usize)
    }

    /// The `i`-th evaluation time.
    pub fn time(&self, i: usize) -> f64 {
        self.start + self.step * i as f64
    }
}

/// What a fetch returned: dense values per cohort, and what was missing.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    /// Evaluation times, one per row.
    pub timestamps: Vec<f64>,
    /// Values per tick laid out `[tick][segment * n_metrics + metric]`, flattened:
    /// `control[t * width + s * n_metrics + m]`. NaN where missing.
    pub control: Vec<f64>,
    /// The canary cohort, laid out the same way.
    pub canary: Vec<f64>,
    /// Counts behind the values, when the plan has count queries (NaN where a metric
    /// has none or the sample is missing); same layout.
    pub control_counts: Option<Vec<f64>>,
    /// The canary's counts.
    pub canary_counts: Option<Vec<f64>>,
    /// `segments × metrics`.
    pub width: usize,
    /// Queries that returned no series at all over the range.
    pub empty: Vec<Missing>,
    /// Queries that returned a series with some steps missing, NaN or infinite.
    pub gaps: Vec<Missing>,
}

/// A query whose data was (partly) missing.
#[derive(Debug, Clone, PartialEq)]
pub struct Missing {
    /// Which cohort.
    pub cohort: Cohort,
    /// Segment name.
    pub segment: String,
    /// Metric name.
    pub metric: String,
    /// The query as sent.
    pub query: String,
    /// Steps without a finite sample.
    pub steps: usize,
}

impl Grid {
    /// Number of ticks.
    pub fn len(&self) -> usize {
        self.timestamps.len()
    }

    /// Whether the grid has no ticks.
    pub fn is_empty(&self) -> bool {
        self.timestamps.is_empty()
    }

    /// One tick's values: `(timestamp, control, canary)`.
    pub fn tick(&self, t: usize) -> Option<(f64, &[f64], &[f64])> {
        let ts = *self.timestamps.get(t)?;
        let span = t * self.width..(t + 1) * self.width;
        Some((ts, self.control.get(span.clone())?, self.canary.get(span)?))
    }

    /// One tick's counts: `(control, canary)`, laid out like [`Grid::tick`]'s values;
    /// `None` when the plan has no count query (or `t` is past the end). A metric
    /// without a count query, or a step without a count sample, is NaN: unknown.
    pub fn tick_counts(&self, t: usize) -> Option<(&[f64], &[f64])> {
        let span = t * self.width..(t + 1) * self.width;
        let control = self.control_counts.as_ref()?.get(span.clone())?;
        let canary = self.canary_counts.as_ref()?.get(span)?;
        Some((control, canary))
    }
}

/// Why a fetch failed. Every variant about a query names it.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The configuration cannot work (bad URL, missing token variable, bad template).
    #[error("prometheus source: {0}")]
    Config(String),
    /// The range cannot be queried.
    #[error("prometheus range: {0}")]
    Range(String),
    /// No answer from the server (connection refused, DNS, timeout), after retries.
    #[error("prometheus at {url} is unreachable ({attempts} attempts): {reason}; query: {query}")]
    Unreachable {
        /// The base URL.
        url: String,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        reason: String,
        /// The query.
        query: String,
    },
    /// The server answered with an HTTP error status.
    #[error("prometheus answered HTTP {status}: {body}; query: {query}")]
    Http {
        /// The status code.
        status: u16,
        /// The start of the body.
        body: String,
        /// The query.
        query: String,
    },
    /// The server answered `"status": "error"` (a PromQL syntax error, a timeout).
    #[error("prometheus refused the query ({kind}): {message}; query: {query}")]
    Query {
        /// Prometheus' `errorType`.
        kind: String,
        /// Prometheus' `error`.
        message: String,
        /// The query.
        query: String,
    },
    /// The query returned several series where one per cohort and segment is needed.
    #[error(
        "query returned {count} series, expected one (aggregate it, e.g. with sum(...)): {labels}; query: {query}"
    )]
    SeveralSeries {
        /// How many series.
        count: usize,
        /// The first few series' labels.
        labels: String,
        /// The query.
        query: String,
    },
    /// The body is not a Prometheus API answer of the expected shape.
    #[error("unexpected answer from prometheus: {reason}; query: {query}")]
    Malformed {
        /// What was wrong.
        reason: String,
        /// The query.
        query: String,
    },
}

/// A blocking Prometheus HTTP API client.
#[derive(Debug, Clone)]
pub struct Prometheus {
    agent: ureq::Agent,
    base: String,
    token: Option<String>,
    retries: u32,
}

impl Prometheus {
    /// A client for `config`. Reads the bearer token's environment variable now, so a
    /// missing variable is an error before any query.
    pub fn new(config: &ServerConfig) -> Result<Self, SourceError> {
        let base = config.url.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(SourceError::Config(format!(
                "url must start with http:// or https://, got {:?}",
                shorten(&config.url)
            )));
        }
        if !(config.timeout_seconds.is_finite()
            && (0.001..=3600.0).contains(&config.timeout_seconds))
        {
            return Err(SourceError::Config(format!(
                "timeout_seconds must be in [0.001, 3600], got {}",
                config.timeout_seconds
            )));
        }
        if config.retries > 10 {
            return Err(SourceError::Config(format!(
                "retries must be at most 10, got {}",
                config.retries
            )));
        }
        let token = match &config.bearer_token_env {
            None => None,
            Some(var) => match std::env::var(var) {
                Ok(t) if !t.trim().is_empty() => Some(t.trim().to_string()),
                _ => {
                    return Err(SourceError::Config(format!(
                        "bearer_token_env names {var}, which is not set or empty"
                    )));
                }
            },
        };
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs_f64(config.timeout_seconds)))
            .http_status_as_error(false)
            .build()
            .into();
        Ok(Prometheus {
            agent,
            base,
            token,
            retries: config.retries,
        })
    }

    /// Runs one `query_range` over `range` (split into requests of at most
    /// [`MAX_POINTS`] steps) and returns the samples of its single series, in time
    /// order; no series at all gives an empty vector.
    pub fn query_range(&self, query: &str, range: &Range) -> Result<Vec<(f64, f64)>, SourceError> {
        let n = range.steps()?;
        let mut samples = Vec::new();
        let mut first = 0;
        while first < n {
            let last = (first + MAX_POINTS).min(n) - 1;
            let body = self.get(query, range.time(first), range.time(last), range.step)?;
            samples.extend(parse_matrix(&body, query)?);
            first = last + 1;
        }
        Ok(samples)
    }

    /// Runs every query of `plan` over `range` and lays the answers out as a [`Grid`].
    pub fn fetch(&self, plan: &Plan, range: &Range) -> Result<Grid, SourceError> {
        check_plan(plan)?;
        let n = range.steps()?;
        let nm = plan.metrics.len();
        let width = plan.segments.len() * nm;
        let with_counts = plan.metrics.iter().any(|m| m.count.is_some());
        let mut grid = Grid {
            timestamps: (0..n).map(|i| range.time(i)).collect(),
            control: vec![f64::NAN; n * width],
            canary: vec![f64::NAN; n * width],
            control_counts: with_counts.then(|| vec![f64::NAN; n * width]),
            canary_counts: with_counts.then(|| vec![f64::NAN; n * width]),
            width,
            empty: Vec::new(),
            gaps: Vec::new(),
        };
        for cohort in [Cohort::Control, Cohort::Canary] {
            let label = match cohort {
                Cohort::Control => &plan.cohorts.control,
                Cohort::Canary => &plan.cohorts.canary,
            };
            for (s, segment) in plan.segments.iter().enumerate() {
                for (m, mq) in plan.metrics.iter().enumerate() {
                    let query = render(&mq.query, label, segment);
                    let samples = self.query_range(&query, range)?;
                    let column = s * nm + m;
                    let values = match cohort {
                        Cohort::Control => &mut grid.control,
                        Cohort::Canary => &mut grid.canary,
                    };
                    let filled = place(&samples, range, n, width, column, values);
                    let missing = Missing {
                        cohort,
                        segment: segment.clone(),
                        metric: mq.metric.clone(),
                        query,
                        steps: n - filled,
                    };
                    if samples.is_empty() {
                        grid.empty.push(missing);
                    } else if filled < n {
                        grid.gaps.push(missing);
                    }
                    if let Some(count) = &mq.count {
                        let query = render(count, label, segment);
                        let samples = self.query_range(&query, range)?;
                        let counts = match cohort {
                            Cohort::Control => grid.control_counts.as_mut(),
                            Cohort::Canary => grid.canary_counts.as_mut(),
                        };
                        if let Some(counts) = counts {
                            place(&samples, range, n, width, column, counts);
                        }
                    }
                }
            }
        }
        Ok(grid)
    }

    fn get(&self, query: &str, start: f64, end: f64, step: f64) -> Result<String, SourceError> {
        let url = format!("{}/api/v1/query_range", self.base);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = self
                .agent
                .get(&url)
                .query("query", query)
                .query("start", format_time(start))
                .query("end", format_time(end))
                .query("step", format_time(step));
            if let Some(token) = &self.token {
                request = request.header("Authorization", format!("Bearer {token}"));
            }
            let retry = attempt <= self.retries;
            match request.call() {
                Ok(mut response) => {
                    let status = response.status().as_u16();
                    let body = response
                        .body_mut()
                        .with_config()
                        .limit(MAX_BODY_BYTES)
                        .read_to_string();
                    if (status == 429 || status >= 500) && retry {
                        backoff(attempt);
                        continue;
                    }
                    let body = body.map_err(|e| SourceError::Malformed {
                        reason: format!("reading the body failed: {e}"),
                        query: query.to_string(),
                    })?;
                    // Prometheus answers a bad query with 400 and an error body: the
                    // body's message is the useful part.
                    if status != 200 {
                        if let Some(e) = response::api_error(&body) {
                            return Err(SourceError::Query {
                                kind: e.0,
                                message: e.1,
                                query: query.to_string(),
                            });
                        }
                        return Err(SourceError::Http {
                            status,
                            body: shorten(&body),
                            query: query.to_string(),
                        });
                    }
                    return Ok(body);
                }
                Err(e) => {
                    if retry {
                        backoff(attempt);
                        continue;
                    }
                    return Err(SourceError::Unreachable {
                        url: self.base.clone(),
                        attempts: attempt,
                        reason: e.to_string(),
                        query: query.to_string(),
                    });
                }
            }
        }
    }
}

/// Substitutes the placeholders of a query template.
pub fn render(template: &str, cohort: &str, segment: &str) -> String {
    template
        .replace("{cohort}", cohort)
        .replace("{segment}", segment)
}

fn check_plan(plan: &Plan) -> Result<(), SourceError> {
    if plan.segments.is_empty() || plan.metrics.is_empty() {
        return Err(SourceError::Config(
            "the plan needs at least one segment and one metric".into(),
        ));
    }
    if plan.cohorts.control == plan.cohorts.canary {
        return Err(SourceError::Config(format!(
            "control and canary cohorts have the same label value {:?}",
            plan.cohorts.control
        )));
    }
    for m in &plan.metrics {
        if !m.query.contains("{cohort}") {
            return Err(SourceError::Config(format!(
                "the query of metric {} has no {{cohort}} placeholder, so both cohorts would read the same data",
                m.metric
            )));
        }
        if plan.segments.len() > 1 && !m.query.contains("{segment}") {
            return Err(SourceError::Config(format!(
                "the query of metric {} has no {{segment}} placeholder, so every segment would read the same data",
                m.metric
            )));
        }
    }
    Ok(())
}

/// Writes `samples` into `column` of a `[n][width]` grid; returns how many steps got a
/// finite value. Samples off the grid are ignored (Prometheus evaluates exactly at
/// `start + k * step`, so there are none unless the server disagrees with us).
fn place(
    samples: &[(f64, f64)],
    range: &Range,
    n: usize,
    width: usize,
    column: usize,
    values: &mut [f64],
) -> usize {
    let mut filled = 0;
    for &(ts, v) in samples {
        let k = ((ts - range.start) / range.step).round();
        if !(k >= 0.0 && k < n as f64 && v.is_finite()) {
            continue;
        }
        let cell = &mut values[k as usize * width + column];
        if cell.is_nan() {
            filled += 1;
        }
        *cell = v;
    }
    filled
}

fn backoff(attempt: u32) {
    let ms = 100u64 << attempt.min(6);
    std::thread::sleep(Duration::from_millis(ms));
}

/// Seconds with millisecond precision, as Prometheus accepts them.
fn format_time(t: f64) -> String {
    let s = format!("{t:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The first characters of a text for a message, with `…` when cut.
fn shorten(text: &str) -> String {
    let mut out: String = text.chars().take(QUOTE_CHARS).collect();
    if text.chars().nth(QUOTE_CHARS).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_count_their_steps_and_refuse_nonsense() {
        let r = Range {
            start: 100.0,
            end: 160.0,
            step: 30.0,
        };
        assert_eq!(r.steps().unwrap(), 3);
        assert_eq!(r.time(2), 160.0);
        for bad in [
            Range {
                start: 10.0,
                end: 0.0,
                step: 1.0,
            },
            Range {
                start: 0.0,
                end: 10.0,
                step: 0.0,
            },
            Range {
                start: f64::NAN,
                end: 10.0,
                step: 1.0,
            },
            Range {
                start: 0.0,
                end: 1e12,
                step: 1.0,
            },
        ] {
            assert!(matches!(bad.steps(), Err(SourceError::Range(_))), "{bad:?}");
        }
    }

    #[test]
    fn templates_fill_both_placeholders() {
        assert_eq!(
            render(
                r#"sum(x{v="{cohort}",s="{segment}"}) / sum(y{v="{cohort}"})"#,
                "v2",
                "pro"
            ),
            r#"sum(x{v="v2",s="pro"}) / sum(y{v="v2"})"#
        );
    }

    #[test]
    fn times_are_sent_compactly() {
        assert_eq!(format_time(1700000000.0), "1700000000");
        assert_eq!(format_time(60.5), "60.5");
        assert_eq!(format_time(0.001), "0.001");
    }

    #[test]
    fn placing_counts_only_finite_samples_on_the_grid() {
        let r = Range {
            start: 0.0,
            end: 40.0,
            step: 10.0,
        };
        let mut v = vec![f64::NAN; 5 * 2];
        let samples = [
            (0.0, 1.0),
            (10.0, f64::NAN),
            (20.0, 3.0),
            (40.0, f64::INFINITY),
            (99.0, 7.0),
        ];
        assert_eq!(place(&samples, &r, 5, 2, 1, &mut v), 2);
        assert_eq!(v[1], 1.0);
        assert_eq!(v[5], 3.0);
        assert!(v[3].is_nan() && v[9].is_nan() && v[0].is_nan());
    }

    /// A grid of `n` ticks and `width` columns whose cells hold `tick * 100 + column`
    /// (counts: `+ 0.5`, canary: negated), with or without counts.
    fn grid(n: usize, width: usize, counts: bool) -> Grid {
        let cells = |f: &dyn Fn(usize, usize) -> f64| -> Vec<f64> {
            (0..n * width).map(|i| f(i / width, i % width)).collect()
        };
        let v = |t: usize, c: usize| (t * 100 + c) as f64;
        Grid {
            timestamps: (0..n).map(|t| 1000.0 + 60.0 * t as f64).collect(),
            control: cells(&v),
            canary: cells(&|t, c| -v(t, c)),
            control_counts: counts.then(|| cells(&|t, c| v(t, c) + 0.5)),
            canary_counts: counts.then(|| cells(&|t, c| -v(t, c) - 0.5)),
            width,
            empty: Vec::new(),
            gaps: Vec::new(),
        }
    }

    #[test]
    fn tick_counts_are_the_ticks_slices_of_both_cohorts() {
        let g = grid(3, 4, true);
        for t in 0..3 {
            let (ts, control, canary) = g.tick(t).unwrap();
            let (cc, kc) = g.tick_counts(t).unwrap();
            assert_eq!(ts, 1000.0 + 60.0 * t as f64);
            assert_eq!((cc.len(), kc.len()), (4, 4));
            for c in 0..4 {
                assert_eq!(cc[c], control[c] + 0.5, "tick {t} column {c}");
                assert_eq!(kc[c], canary[c] - 0.5, "tick {t} column {c}");
                assert_eq!(cc[c], (t * 100 + c) as f64 + 0.5);
            }
        }
        assert!(g.tick(3).is_none() && g.tick_counts(3).is_none());
        // Without count queries there are no counts, not a row of NaN.
        let g = grid(3, 4, false);
        assert!(g.tick(1).is_some());
        assert!(g.tick_counts(1).is_none());
    }

    #[test]
    fn plans_without_placeholders_are_refused() {
        let plan = |q: &str| Plan {
            cohorts: Cohorts {
                control: "v1".into(),
                canary: "v2".into(),
            },
            segments: vec!["a".into(), "b".into()],
            metrics: vec![MetricQuery {
                metric: "m".into(),
                query: q.into(),
                count: None,
            }],
        };
        assert!(check_plan(&plan(r#"x{v="{cohort}",s="{segment}"}"#)).is_ok());
        assert!(check_plan(&plan(r#"x{s="{segment}"}"#)).is_err());
        assert!(check_plan(&plan(r#"x{v="{cohort}"}"#)).is_err());
    }

    #[test]
    fn long_messages_are_shortened() {
        let long = "x".repeat(10_000);
        let s = shorten(&long);
        assert_eq!(s.chars().count(), QUOTE_CHARS + 1);
        assert!(s.ends_with('…'));
    }
}
