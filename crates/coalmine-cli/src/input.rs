//! The metrics CSV: `timestamp,cohort,segment,metric,value`, one row per value; rows
//! with the same timestamp form one tick. Parsed by the `csv` crate (quoting, a UTF-8
//! byte-order mark, CRLF line ends), row by row.
//!
//! An optional sixth column, `count`, gives the count behind each value: the requests
//! behind a ratio, the users or sessions behind a mean. When the header has it, every
//! row has six fields; an empty count is unknown. A count is a finite number `>= 0`
//! within the core's magnitude limit (fractional counts, such as an average number of
//! users over the tick, are accepted); anything else is an error naming the file, the
//! line and the series. A count of 0 makes its value missing in the analysis.
//!
//! Ticks reach the caller in time order, one at a time. When the rows come in time
//! order (the rows of one tick in any order among themselves), only the tick being
//! read is held. A regular file is first scanned for its order; if its ticks are
//! interleaved, every tick is gathered (densely: one value per series and cohort)
//! before the first is handed over. A pipe cannot be read twice, so its rows must come
//! in time order; a row that goes back in time is an error naming its line.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use coalmine::MAX_ABS_VALUE;
use coalmine::schema::{MetricKind, Schema};
use indicatif::ProgressBar;

use crate::CliError;
use crate::error::{describe, field, num};
use crate::timestamp::{self, Style};

/// The header every metrics CSV starts with.
pub const HEADER: [&str; 5] = ["timestamp", "cohort", "segment", "metric", "value"];
/// The header of a metrics CSV with counts.
pub const HEADER_WITH_COUNT: [&str; 6] =
    ["timestamp", "cohort", "segment", "metric", "value", "count"];

/// Read-buffer size: large reads, few system calls.
const READ_BUFFER: usize = 256 << 10;
/// Rows between two progress updates.
const PROGRESS_EVERY: u64 = 1 << 12;

/// What a metrics file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The stable version's history: baseline rows only.
    History,
    /// A live rollout: baseline and canary rows, at least one canary row.
    Live,
}

/// One tick: dense values per cohort, NaN where no row gave a value.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    /// Unix seconds.
    pub timestamp: f64,
    /// How the tick's first row wrote its timestamp.
    pub style: Style,
    /// The line of the tick's first row.
    pub line: u64,
    /// The baseline (control) cohort's values, `[s * n_metrics + m]`.
    pub control: Vec<f64>,
    /// The canary cohort's values.
    pub canary: Vec<f64>,
    /// The count behind each control value, NaN where unknown; empty when the file
    /// has no `count` column.
    pub control_counts: Vec<f64>,
    /// The count behind each canary value, laid out like `control_counts`.
    pub canary_counts: Vec<f64>,
    /// Whether any canary row was present.
    pub has_canary: bool,
    /// Per series: bit 0 a control row was seen, bit 1 a canary row.
    seen: Vec<u8>,
}

impl Tick {
    fn new(len: usize, counts: bool, timestamp: f64, style: Style, line: u64) -> Tick {
        let n = if counts { len } else { 0 };
        Tick {
            timestamp,
            style,
            line,
            control: vec![f64::NAN; len],
            canary: vec![f64::NAN; len],
            control_counts: vec![f64::NAN; n],
            canary_counts: vec![f64::NAN; n],
            has_canary: false,
            seen: vec![0; len],
        }
    }

    /// The counts of both cohorts, when the file has a `count` column.
    pub fn counts(&self) -> Option<(&[f64], &[f64])> {
        (!self.control_counts.is_empty()).then_some((&self.control_counts, &self.canary_counts))
    }

    fn reset(&mut self, timestamp: f64, style: Style, line: u64) {
        self.timestamp = timestamp;
        self.style = style;
        self.line = line;
        self.control.fill(f64::NAN);
        self.canary.fill(f64::NAN);
        self.control_counts.fill(f64::NAN);
        self.canary_counts.fill(f64::NAN);
        self.has_canary = false;
        self.seen.fill(0);
    }
}

/// What a whole file held.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Data rows.
    pub rows: u64,
    /// Ticks handed over.
    pub ticks: u64,
    /// Per series, control values that were not missing.
    pub observed: Vec<u64>,
}

/// Name lookups and value checks of one schema.
struct Names {
    segments: HashMap<Vec<u8>, usize>,
    metrics: HashMap<Vec<u8>, usize>,
    kinds: Vec<MetricKind>,
    series: Vec<String>,
    n_metrics: usize,
}

impl Names {
    fn new(schema: &Schema) -> Names {
        let spec = schema.spec();
        let index = |names: Vec<&str>| {
            names
                .into_iter()
                .enumerate()
                .map(|(i, n)| (n.as_bytes().to_vec(), i))
                .collect()
        };
        let series = spec
            .segments
            .iter()
            .flat_map(|s| {
                spec.metrics
                    .iter()
                    .map(move |m| format!("{}/{}", s.name, m.name))
            })
            .collect();
        Names {
            segments: index(spec.segments.iter().map(|s| s.name.as_str()).collect()),
            metrics: index(spec.metrics.iter().map(|m| m.name.as_str()).collect()),
            kinds: spec.metrics.iter().map(|m| m.kind).collect(),
            series,
            n_metrics: spec.metrics.len(),
        }
    }
}

/// The name of series `index` (`segment/metric`) of `schema`.
pub fn series_name(schema: &Schema, index: usize) -> String {
    let nm = schema.n_metrics().max(1);
    let spec = schema.spec();
    format!(
        "{}/{}",
        spec.segments
            .get(index / nm)
            .map_or("?", |s| s.name.as_str()),
        spec.metrics
            .get(index % nm)
            .map_or("?", |m| m.name.as_str())
    )
}

fn utf8<'a>(file: &str, line: u64, bytes: &'a [u8], what: &str) -> Result<&'a str, CliError> {
    std::str::from_utf8(bytes).map_err(|e| {
        CliError::at(
            file,
            line,
            format!(
                "the {what} is not valid UTF-8 (invalid byte at offset {})",
                e.valid_up_to()
            ),
        )
    })
}

fn trim(b: &[u8]) -> &[u8] {
    b.trim_ascii()
}

/// Opens `path` for reading.
fn reader(path: &Path, file: &str) -> Result<BufReader<File>, CliError> {
    let f = File::open(path).map_err(|e| CliError::file(file, e.to_string()))?;
    Ok(BufReader::with_capacity(READ_BUFFER, f))
}

/// The CSV dialect of every input: comma-separated, optional quoting, no header
/// handling (the caller checks the header itself, to name its line), rows of any
/// length (the caller counts fields, to say what is wrong).
pub(crate) fn csv_reader<R: Read>(r: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(READ_BUFFER)
        .from_reader(r)
}

/// Reads the next record, mapping I/O errors to `file`. Skips lines that hold only
/// blanks.
pub(crate) fn next_record<R: Read>(
    rdr: &mut csv::Reader<R>,
    record: &mut csv::ByteRecord,
    file: &str,
) -> Result<bool, CliError> {
    loop {
        match rdr.read_byte_record(record) {
            Ok(false) => return Ok(false),
            Ok(true) => {
                if record.len() == 1 && trim(&record[0]).is_empty() {
                    continue;
                }
                return Ok(true);
            }
            Err(e) => {
                let line = e.position().map(|p| p.line());
                let message = match e.into_kind() {
                    csv::ErrorKind::Io(io) => io.to_string(),
                    other => format!("{other:?}"),
                };
                return Err(CliError::Input {
                    file: file.to_string(),
                    line,
                    series: None,
                    message,
                });
            }
        }
    }
}

/// The line a record starts on.
pub(crate) fn line_of(record: &csv::ByteRecord) -> u64 {
    record.position().map_or(0, |p| p.line())
}

/// Checks that `record` is the header `expected` (a byte-order mark, blanks around
/// names and their case are forgiven).
pub(crate) fn check_header(
    record: &csv::ByteRecord,
    expected: &[&str],
    file: &str,
) -> Result<(), CliError> {
    let line = line_of(record);
    let names: Vec<&[u8]> = record
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let f = if i == 0 {
                f.strip_prefix(b"\xef\xbb\xbf").unwrap_or(f)
            } else {
                f
            };
            trim(f)
        })
        .collect();
    let ok = names.len() == expected.len()
        && names
            .iter()
            .zip(expected)
            .all(|(n, e)| n.eq_ignore_ascii_case(e.as_bytes()));
    if ok {
        return Ok(());
    }
    let found: Vec<String> = names
        .iter()
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect();
    Err(CliError::at(
        file,
        line,
        format!(
            "expected the header `{}`, found {}",
            expected.join(","),
            field(&found.join(","))
        ),
    ))
}

/// Parses a timestamp field, reusing the previous result when the bytes repeat (the
/// rows of one tick usually share them).
struct TimeCache {
    bytes: Vec<u8>,
    value: (f64, Style),
}

impl TimeCache {
    fn new() -> Self {
        TimeCache {
            bytes: Vec::new(),
            value: (f64::NAN, Style::Unix),
        }
    }

    fn parse(&mut self, raw: &[u8], file: &str, line: u64) -> Result<(f64, Style), CliError> {
        if raw != self.bytes.as_slice() || self.bytes.is_empty() {
            let text = utf8(file, line, raw, "timestamp")?;
            let (secs, style) = timestamp::parse(text).map_err(|m| CliError::at(file, line, m))?;
            // -0 and 0 are one instant.
            self.value = (secs + 0.0, style);
            self.bytes.clear();
            self.bytes.extend_from_slice(raw);
        }
        Ok(self.value)
    }
}

/// The order of a file's ticks and whether it has canary rows, from a scan of the
/// timestamp and cohort columns.
struct Scan {
    sorted: bool,
    ticks: u64,
    has_canary: bool,
}

fn scan<R: Read>(r: R, file: &str) -> Result<Scan, CliError> {
    let mut rdr = csv_reader(r);
    let mut record = csv::ByteRecord::new();
    let mut times = TimeCache::new();
    let mut out = Scan {
        sorted: true,
        ticks: 0,
        has_canary: false,
    };
    if !next_record(&mut rdr, &mut record, file)? {
        return Ok(out);
    }
    check_metrics_header(&record, file)?;
    let mut last = f64::NEG_INFINITY;
    while next_record(&mut rdr, &mut record, file)? {
        let Some(raw) = record.get(0) else { continue };
        let (ts, _) = times.parse(trim(raw), file, line_of(&record))?;
        if ts < last {
            out.sorted = false;
        } else if ts > last {
            out.ticks += 1;
            last = ts;
        }
        if record.get(1).is_some_and(|c| trim(c) == b"canary") {
            out.has_canary = true;
        }
    }
    Ok(out)
}

/// Reads the metrics file `path` against `schema` and hands each tick, in time order,
/// to `each`. See the [module documentation](self).
pub fn read_ticks(
    path: &Path,
    schema: &Schema,
    role: Role,
    progress: Option<&ProgressBar>,
    each: impl FnMut(&Tick) -> Result<(), CliError>,
) -> Result<Summary, CliError> {
    let file = path.display().to_string();
    let file = file.as_str();
    let regular = std::fs::metadata(path).is_ok_and(|m| m.is_file());
    // A regular file can be scanned first; a pipe is taken to be in time order.
    let order = if regular {
        Some(scan(reader(path, file)?, file)?)
    } else {
        None
    };
    read(
        reader(path, file)?,
        file,
        order,
        schema,
        role,
        progress,
        each,
    )
}

/// Reads a metrics CSV held in memory (`file` names it in messages) as [`read_ticks`]
/// reads a regular file: ticks in time order whatever the order of the rows.
pub fn read_ticks_from_slice(
    bytes: &[u8],
    file: &str,
    schema: &Schema,
    role: Role,
    each: impl FnMut(&Tick) -> Result<(), CliError>,
) -> Result<Summary, CliError> {
    let order = scan(bytes, file)?;
    read(bytes, file, Some(order), schema, role, None, each)
}

/// Reads the rows of `r`; `order` is the result of a scan of the same input, or
/// `None` for an input that cannot be read twice (then the rows must come in time
/// order).
fn read<R: Read>(
    r: R,
    file: &str,
    order: Option<Scan>,
    schema: &Schema,
    role: Role,
    progress: Option<&ProgressBar>,
    mut each: impl FnMut(&Tick) -> Result<(), CliError>,
) -> Result<Summary, CliError> {
    let (sorted, hand_over) = match order {
        // A live file without canary rows is refused once read, so that a broken row
        // is still reported at its line; none of its ticks is handed over.
        Some(s) => (s.sorted, role == Role::History || s.has_canary),
        None => (true, true),
    };
    let mut each = |t: &Tick| if hand_over { each(t) } else { Ok(()) };
    let names = Names::new(schema);
    let len = schema.tick_len();
    let mut rdr = csv_reader(r);
    let mut record = csv::ByteRecord::new();
    if !next_record(&mut rdr, &mut record, file)? {
        return Err(CliError::file(file, "the file is empty"));
    }
    let counts = check_metrics_header(&record, file)?;
    let mut summary = Summary {
        observed: vec![0; len],
        ..Summary::default()
    };
    let mut times = TimeCache::new();
    let mut current: Option<Tick> = None;
    let mut gathered: BTreeMap<OrderedTime, Tick> = BTreeMap::new();
    let mut any_canary = false;
    while next_record(&mut rdr, &mut record, file)? {
        let line = line_of(&record);
        summary.rows += 1;
        if let Some(bar) = progress {
            if summary.rows % PROGRESS_EVERY == 0 {
                bar.set_position(rdr.position().byte());
            }
        }
        let row = parse_row(&record, line, file, &names, role, counts, &mut times)?;
        any_canary |= row.canary;
        let tick = if sorted {
            if let Some(t) = current.as_mut() {
                if t.timestamp > row.ts {
                    return Err(CliError::at(
                        file,
                        line,
                        format!(
                            "timestamp {} goes back in time (the tick before is {}): \
                             rows read from a pipe must come in time order; \
                             sort them or pass a regular file",
                            timestamp::format(row.ts, row.style),
                            timestamp::format(t.timestamp, t.style)
                        ),
                    ));
                }
                if t.timestamp < row.ts {
                    each(t)?;
                    summary.ticks += 1;
                    t.reset(row.ts, row.style, line);
                }
            }
            current.get_or_insert_with(|| Tick::new(len, counts, row.ts, row.style, line))
        } else {
            gathered
                .entry(OrderedTime(row.ts))
                .or_insert_with(|| Tick::new(len, counts, row.ts, row.style, line))
        };
        let bit = if row.canary { 2 } else { 1 };
        let seen = &mut tick.seen[row.series];
        if *seen & bit != 0 {
            return Err(CliError::at(
                file,
                line,
                "duplicate row: this timestamp, cohort, segment and metric already has a value",
            )
            .in_series(names.series[row.series].clone()));
        }
        *seen |= bit;
        if row.canary {
            tick.canary[row.series] = row.value;
            if counts {
                tick.canary_counts[row.series] = row.count;
            }
            tick.has_canary = true;
        } else {
            tick.control[row.series] = row.value;
            if counts {
                tick.control_counts[row.series] = row.count;
            }
            if !row.value.is_nan() {
                summary.observed[row.series] += 1;
            }
        }
    }
    if summary.rows == 0 {
        return Err(CliError::file(file, "no data rows after the header"));
    }
    if role == Role::Live && !any_canary {
        return Err(CliError::file(file, "the live file has no canary rows"));
    }
    if let Some(t) = &current {
        each(t)?;
        summary.ticks += 1;
    }
    for t in gathered.values() {
        each(t)?;
        summary.ticks += 1;
    }
    if let Some(bar) = progress {
        bar.set_position(rdr.position().byte());
    }
    Ok(summary)
}

/// Checks the header of a metrics CSV: with or without the `count` column (returns
/// whether it has it).
fn check_metrics_header(record: &csv::ByteRecord, file: &str) -> Result<bool, CliError> {
    if record.len() == HEADER_WITH_COUNT.len() {
        check_header(record, &HEADER_WITH_COUNT, file)?;
        return Ok(true);
    }
    check_header(record, &HEADER, file).map_err(|e| match e {
        CliError::Input {
            file,
            line,
            series,
            message,
        } => CliError::Input {
            file,
            line,
            series,
            message: format!("{message} (or with a sixth column, `count`)"),
        },
        other => other,
    })?;
    Ok(false)
}

/// A timestamp ordered by `f64::total_cmp` (never NaN here).
#[derive(Debug, Clone, Copy, PartialEq)]
struct OrderedTime(f64);

impl Eq for OrderedTime {}

impl PartialOrd for OrderedTime {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for OrderedTime {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// One valid row.
struct Row {
    ts: f64,
    style: Style,
    canary: bool,
    series: usize,
    value: f64,
    /// NaN when unknown (or when the file has no counts).
    count: f64,
}

fn parse_row(
    record: &csv::ByteRecord,
    line: u64,
    file: &str,
    names: &Names,
    role: Role,
    counts: bool,
    times: &mut TimeCache,
) -> Result<Row, CliError> {
    let header: &[&str] = if counts { &HEADER_WITH_COUNT } else { &HEADER };
    if record.len() != header.len() {
        return Err(CliError::at(
            file,
            line,
            format!(
                "expected {} comma-separated fields ({}), found {}",
                header.len(),
                header.join(","),
                record.len()
            ),
        ));
    }
    let (ts, style) = times.parse(trim(&record[0]), file, line)?;
    let canary = match trim(&record[1]) {
        b"baseline" | b"control" => false,
        b"canary" => true,
        other => {
            return Err(CliError::at(
                file,
                line,
                format!(
                    "unknown cohort {} (expected baseline, control or canary)",
                    field(&String::from_utf8_lossy(other))
                ),
            ));
        }
    };
    if canary && role == Role::History {
        return Err(CliError::at(
            file,
            line,
            "history holds the stable version only: found a canary row",
        ));
    }
    let lookup = |map: &HashMap<Vec<u8>, usize>, raw: &[u8], what: &str| {
        map.get(trim(raw)).copied().ok_or_else(|| {
            CliError::at(
                file,
                line,
                format!(
                    "unknown {what} {}",
                    field(&String::from_utf8_lossy(trim(raw)))
                ),
            )
        })
    };
    let s = lookup(&names.segments, &record[2], "segment")?;
    let m = lookup(&names.metrics, &record[3], "metric")?;
    let series = s * names.n_metrics + m;
    let in_series = |e: CliError| e.in_series(names.series[series].clone());
    let raw = trim(&record[4]);
    let text = utf8(file, line, raw, "value").map_err(in_series)?;
    let value = match text {
        "" | "NaN" | "nan" => f64::NAN,
        v => {
            let x = v.parse::<f64>().map_err(|_| {
                in_series(CliError::at(
                    file,
                    line,
                    format!("{} is not a number", field(v)),
                ))
            })?;
            if !x.is_finite() {
                return Err(in_series(CliError::at(
                    file,
                    line,
                    format!("{} is not a finite number", field(v)),
                )));
            }
            if x.abs() > MAX_ABS_VALUE {
                return Err(in_series(CliError::at(
                    file,
                    line,
                    format!(
                        "value {} is beyond the supported magnitude {}",
                        num(x),
                        num(MAX_ABS_VALUE)
                    ),
                )));
            }
            names.kinds[m]
                .check(x)
                .map_err(|e| in_series(CliError::at(file, line, describe(&e))))?;
            x
        }
    };
    let count = if counts {
        let raw = trim(&record[5]);
        let text = utf8(file, line, raw, "count").map_err(in_series)?;
        parse_count(text).map_err(|m| in_series(CliError::at(file, line, m)))?
    } else {
        f64::NAN
    };
    Ok(Row {
        ts,
        style,
        canary,
        series,
        value,
        count,
    })
}

/// A count field: empty is unknown (NaN); otherwise a finite number `>= 0` within the
/// magnitude limit. `NaN` written out is refused: an unknown count is left empty.
fn parse_count(text: &str) -> Result<f64, String> {
    if text.is_empty() {
        return Ok(f64::NAN);
    }
    let n = text
        .parse::<f64>()
        .map_err(|_| format!("count {} is not a number", field(text)))?;
    if n.is_nan() {
        return Err(format!(
            "count {} is not a number (leave the count empty when it is unknown)",
            field(text)
        ));
    }
    if n.is_infinite() {
        return Err(format!("count {} is not a finite number", field(text)));
    }
    if n < 0.0 {
        return Err(format!("count {} is negative", num(n)));
    }
    if n > MAX_ABS_VALUE {
        return Err(format!(
            "count {} is beyond the supported magnitude {}",
            num(n),
            num(MAX_ABS_VALUE)
        ));
    }
    // -0 and 0 are one count.
    Ok(n + 0.0)
}
