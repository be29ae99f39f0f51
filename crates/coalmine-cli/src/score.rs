//! `coalmine score`: a calibrated, strictly causal anomaly score for one series,
//! streamed: memory does not grow with the input.
//!
//! The input is `timestamp,value` with that header (names in any case); timestamps
//! pass through as written. The output is `timestamp,value,anomaly_score`, one row per
//! input row. Scores equal [`score_series`] over the whole file: the only use it makes
//! of the length is NAB's learning period, `min(750, ⌊0.15 · rows⌋)`, which is 750 for
//! every file of at least [`LOOKAHEAD`] rows; so the first rows are held until either
//! the file ends (and the learning period follows from its length) or there are that
//! many (and it is 750), then every row is scored and written as it is read. Reading,
//! scoring and writing overlap on three threads (see [`pipeline`]).

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, channel, sync_channel};

use coalmine::scoring::{
    AnomalyScorer, DEFAULT_PROBATION, DetectorChoice, ScoringConfig, score_series,
};
use indicatif::ProgressBar;

use crate::CliError;
use crate::output::{Out, refuse_overwrite};
use crate::progress::Progress;
use crate::score_input::ScoreReader;

/// Rows held before streaming starts: from this length on, NAB's learning period is
/// its cap, [`DEFAULT_PROBATION`] (`⌊0.15 · 5001⌋ = 750`).
pub const LOOKAHEAD: usize = 5001;

/// Writes `v` (finite) as Rust's `Display` does — the shortest digits that read back
/// exactly, in plain decimal notation (`0.0000001`, `1`, `-0`) — which is what earlier
/// versions wrote, several times faster.
///
/// Ryu finds the same shortest digits except when two candidates are equally close to
/// the binary value: Ryu then rounds half to even, `Display` half up. Such a tie needs
/// the binary value to be an odd multiple of half a unit of the last digit, which is
/// only possible with 16 or more digits and few significant bits; those values are
/// left to `Display`.
pub fn display_f64(v: f64, out: &mut Vec<u8>) {
    let mut buf = ryu::Buffer::new();
    let text = buf.format_finite(v).as_bytes();
    // Plain notation (`123.0`, `0.0015`): the same text but for a trailing `.0`.
    if !text.contains(&b'e') {
        let frac = text
            .iter()
            .position(|&b| b == b'.')
            .map_or(0, |i| text.len() - i - 1);
        if text.len() >= 16 {
            let significant = text
                .iter()
                .filter(|b| b.is_ascii_digit())
                .skip_while(|&&b| b == b'0')
                .count();
            if significant >= 15 && may_tie(v, -(frac as i32) - 1) {
                use std::io::Write;
                let _ = write!(out, "{v}");
                return;
            }
        }
        out.extend_from_slice(text.strip_suffix(b".0").unwrap_or(text));
        return;
    }
    let (negative, text) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let (mantissa, exponent) = match text.iter().position(|&b| b == b'e') {
        Some(i) => {
            let e = std::str::from_utf8(&text[i + 1..])
                .ok()
                .and_then(|e| e.parse::<i32>().ok())
                .unwrap_or(0);
            (&text[..i], e)
        }
        None => (text, 0),
    };
    let (int, frac) = match mantissa.iter().position(|&b| b == b'.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, &[][..]),
    };
    // Significant digits, and where the decimal point falls among them.
    let mut digits = [0u8; 40];
    let mut n = 0;
    for &d in int.iter().chain(frac) {
        if let Some(slot) = digits.get_mut(n) {
            *slot = d;
            n += 1;
        }
    }
    let mut point = int.len() as i32 + exponent;
    let lead = digits[..n].iter().take_while(|&&d| d == b'0').count();
    let digits = &digits[lead..n];
    point -= lead as i32;
    let trail = digits.iter().rev().take_while(|&&d| d == b'0').count();
    let digits = &digits[..digits.len() - trail];
    if digits.len() >= 15 && may_tie(v, point - digits.len() as i32 - 1) {
        use std::io::Write;
        let _ = write!(out, "{v}");
        return;
    }
    if negative {
        out.push(b'-');
    }
    if digits.is_empty() {
        out.push(b'0');
    } else if point <= 0 {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', (-point) as usize));
        out.extend_from_slice(digits);
    } else if point as usize >= digits.len() {
        out.extend_from_slice(digits);
        out.extend(std::iter::repeat_n(b'0', point as usize - digits.len()));
    } else {
        out.extend_from_slice(&digits[..point as usize]);
        out.push(b'.');
        out.extend_from_slice(&digits[point as usize..]);
    }
}

/// Whether `v` is a multiple of `5 · 10^k` (half a unit of a digit `10^(k+1)`): with
/// `v = m · 2^e`, `m` odd, the quotient is `m · 2^(e-k) · 5^(-k-1)`, an integer for
/// `k < 0` exactly when `e >= k`. Non-negative `k` (digits at or above the units)
/// always answers yes, to stay on the safe side.
fn may_tie(v: f64, k: i32) -> bool {
    if k >= 0 {
        return true;
    }
    let bits = v.abs().to_bits();
    let biased = (bits >> 52) as i32;
    let fraction = bits & ((1 << 52) - 1);
    let (m, e) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1 << 52), biased - 1075)
    };
    if m == 0 {
        return false;
    }
    e + m.trailing_zeros() as i32 >= k
}

/// Writes one output row.
struct RowWriter {
    csv: csv::Writer<Out>,
    value: Vec<u8>,
    score: Vec<u8>,
}

impl RowWriter {
    fn row(&mut self, ts: &[u8], value: f64, score: f64) -> Result<(), csv::Error> {
        self.value.clear();
        self.score.clear();
        display_f64(value, &mut self.value);
        display_f64(score, &mut self.score);
        self.csv
            .write_record([ts, self.value.as_slice(), self.score.as_slice()])
    }

    fn closed(&self) -> bool {
        self.csv.get_ref().closed()
    }
}

/// Maps a write error of the CSV writer to the output's name.
fn write_error(w: &RowWriter, e: csv::Error) -> CliError {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => w.csv.get_ref().error(io),
        other => CliError::Runtime(format!("{other:?}")),
    }
}

/// `coalmine score`.
pub fn score(
    input: &Path,
    detector: DetectorChoice,
    output: Option<&Path>,
    progress: Progress,
) -> Result<(), CliError> {
    if let Some(out) = output {
        refuse_overwrite("--output", out, &[("--input", input)])?;
    }
    let file = input.display().to_string();
    let file = file.as_str();
    let f = File::open(input).map_err(|e| CliError::file(file, e.to_string()))?;
    let size = f.metadata().map_or(0, |m| m.len());
    let rdr = ScoreReader::new(BufReader::with_capacity(256 << 10, f), file)?;
    let out = match output {
        Some(path) => Out::create(path)?,
        None => Out::stdout(),
    };
    let bar = progress.bytes(size, "scoring");
    let mut out = out;
    out.attach(bar.as_ref());
    let mut w = RowWriter {
        csv: csv::WriterBuilder::new()
            .buffer_capacity(64 << 10)
            .from_writer(out),
        value: Vec::new(),
        score: Vec::new(),
    };
    w.csv
        .write_record(["timestamp", "value", "anomaly_score"])
        .map_err(|e| write_error(&w, e))?;
    let config = ScoringConfig {
        detector,
        ..ScoringConfig::default()
    };
    let w = pipeline(rdr, config, w, bar.as_ref())?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let mut w = w;
    w.csv.flush().map_err(|e| w.csv.get_ref().error(e))?;
    let out = w
        .csv
        .into_inner()
        .map_err(|e| CliError::Runtime(e.error().to_string()))?;
    out.finish()
}

/// Rows handed from one stage to the next at a time.
const BATCH: usize = 4096;
/// Batches in flight between two stages.
const IN_FLIGHT: usize = 4;

/// A run of rows: timestamps back to back in one buffer, values and scores.
#[derive(Debug, Default)]
struct Batch {
    stamps: Vec<u8>,
    ends: Vec<usize>,
    values: Vec<f64>,
    scores: Vec<f64>,
}

impl Batch {
    fn len(&self) -> usize {
        self.values.len()
    }

    fn stamp(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.stamps[start..self.ends[i]]
    }

    fn clear(&mut self) {
        self.stamps.clear();
        self.ends.clear();
        self.values.clear();
        self.scores.clear();
    }
}

/// Reading, scoring and writing run on three threads, handing batches of rows along
/// (and the emptied batches back), so that parsing and formatting overlap the scoring.
/// Rows stay in order and every score is the sequential scorer's. An error anywhere
/// stops all three: the reader's and the writer's are returned, and a reader gone from
/// a pipe stops the others quietly.
fn pipeline<R: Read + Send>(
    mut rdr: ScoreReader<R>,
    config: ScoringConfig,
    mut w: RowWriter,
    bar: Option<&ProgressBar>,
) -> Result<RowWriter, CliError> {
    let (to_scorer, from_reader) = sync_channel::<Result<Batch, CliError>>(IN_FLIGHT);
    let (to_writer, from_scorer) = sync_channel::<Batch>(IN_FLIGHT);
    let (recycle, recycled) = channel::<Batch>();
    std::thread::scope(|scope| {
        scope.spawn(move || {
            loop {
                let mut batch = recycled.try_recv().unwrap_or_default();
                batch.clear();
                let more = fill(&mut rdr, &mut batch);
                if let Some(bar) = bar {
                    bar.set_position(rdr.bytes_read());
                }
                let last = !matches!(more, Ok(true));
                let sent = match more {
                    Err(e) => to_scorer.send(Err(e)),
                    Ok(_) if batch.len() > 0 => to_scorer.send(Ok(batch)),
                    Ok(_) => Ok(()),
                };
                if last || sent.is_err() {
                    return;
                }
            }
        });
        let writer = scope.spawn(move || -> Result<RowWriter, CliError> {
            for batch in from_scorer {
                for i in 0..batch.len() {
                    w.row(batch.stamp(i), batch.values[i], batch.scores[i])
                        .map_err(|e| write_error(&w, e))?;
                }
                let _ = recycle.send(batch);
                // Nobody reads any more: stop (the pipe's reader has what it wanted).
                if w.closed() {
                    break;
                }
            }
            Ok(w)
        });
        let scored = score_batches(from_reader, &to_writer, config);
        drop(to_writer);
        let written = writer
            .join()
            .unwrap_or_else(|_| Err(CliError::Runtime("the writer failed".into())));
        // A writer error explains why scoring stopped; report it first.
        let w = written?;
        scored?;
        Ok(w)
    })
}

/// Reads up to [`BATCH`] rows into `batch`; `Ok(false)` at the end of the input.
fn fill<R: Read>(rdr: &mut ScoreReader<R>, batch: &mut Batch) -> Result<bool, CliError> {
    while batch.len() < BATCH {
        let Some((ts, v)) = rdr.next_row()? else {
            return Ok(false);
        };
        batch.stamps.extend_from_slice(ts);
        batch.ends.push(batch.stamps.len());
        batch.values.push(v);
    }
    Ok(true)
}

/// Scores the batches in order and passes them on. The first [`LOOKAHEAD`] rows are
/// held until it is known whether the input is shorter (the learning period follows
/// from its length) or not (it is [`DEFAULT_PROBATION`]).
fn score_batches(
    from_reader: Receiver<Result<Batch, CliError>>,
    to_writer: &SyncSender<Batch>,
    config: ScoringConfig,
) -> Result<(), CliError> {
    let mut held: Vec<Batch> = Vec::new();
    let mut scorer: Option<AnomalyScorer> = None;
    for batch in from_reader {
        let mut batch = batch?;
        let Some(s) = scorer.as_mut() else {
            held.push(batch);
            if held.iter().map(Batch::len).sum::<usize>() >= LOOKAHEAD {
                let mut s = AnomalyScorer::new(ScoringConfig {
                    probation: DEFAULT_PROBATION,
                    ..config
                })?;
                for mut b in held.drain(..) {
                    b.scores.extend(b.values.iter().map(|&v| s.score(v)));
                    if to_writer.send(b).is_err() {
                        return Ok(());
                    }
                }
                scorer = Some(s);
            }
            continue;
        };
        batch
            .scores
            .extend(batch.values.iter().map(|&v| s.score(v)));
        if to_writer.send(batch).is_err() {
            // The writer has stopped; its result says why.
            return Ok(());
        }
    }
    if scorer.is_none() {
        // The whole input was held: the learning period follows from its length.
        let values: Vec<f64> = held.iter().flat_map(|b| b.values.iter().copied()).collect();
        let mut scores = score_series(&values, config)?.into_iter();
        for mut b in held {
            b.scores.extend(scores.by_ref().take(b.len()));
            if to_writer.send(b).is_err() {
                return Ok(());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(v: f64) -> String {
        let mut out = Vec::new();
        display_f64(v, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn numbers_print_as_display_does() {
        for v in [
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.1,
            0.5,
            1e-7,
            1.5e-300,
            1e16,
            1e22,
            123456.0,
            1e100,
            -2.5e100,
            0.02201140514803296,
            5e-324,
            f64::MAX,
            f64::MIN_POSITIVE,
            10.1288,
        ] {
            assert_eq!(shown(v), format!("{v}"), "{v:e}");
        }
        // Random bit patterns (all magnitudes), random short decimals (data), values
        // with few significant bits (where ties live) and scores in [0, 1].
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for i in 0..600_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = match i % 4 {
                0 => f64::from_bits(x),
                1 => (x % 10_000_000) as f64 / 10f64.powi((x % 9) as i32) - 500.0,
                2 => (x >> 11) as f64 / (1u64 << (x % 40)) as f64,
                _ => (x >> 11) as f64 / (1u64 << 53) as f64,
            };
            if v.is_finite() {
                assert_eq!(shown(v), format!("{v}"), "{v:e}");
            }
        }
    }
}
