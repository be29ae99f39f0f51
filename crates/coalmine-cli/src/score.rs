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
use std::io::{BufReader, Read, Write};
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

/// Writes the timestamp field as the `csv` crate would (quoted when it holds a comma, a
/// quote or a line break, quotes doubled), so that the output is valid CSV whatever
/// the input's timestamps hold.
fn push_field(field: &[u8], out: &mut Vec<u8>) {
    if field
        .iter()
        .any(|&b| matches!(b, b',' | b'"' | b'\r' | b'\n'))
    {
        out.push(b'"');
        for &b in field {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(field);
    }
}

/// Whether `text` is already what [`display_f64`] writes for the number it reads as,
/// so that it can be copied instead of formatted: plain decimal notation without a
/// sign other than `-`, leading zeros, trailing fractional zeros or a bare point, with
/// at most 15 significant digits and at most 24 characters. Any two decimals of at
/// most 15 significant digits read as different doubles (well inside the normal
/// range, which the length bound keeps to), so the shortest digits that read back as
/// the same double are the text's own, and `Display` prints them just so.
pub fn display_form(text: &[u8]) -> bool {
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    if digits.is_empty() || text.len() > 24 {
        return false;
    }
    let (int, frac) = match digits.iter().position(|&b| b == b'.') {
        Some(i) => (&digits[..i], Some(&digits[i + 1..])),
        None => (digits, None),
    };
    if int.is_empty() || !int.iter().all(u8::is_ascii_digit) || (int.len() > 1 && int[0] == b'0') {
        return false;
    }
    if let Some(f) = frac {
        if f.is_empty() || !f.iter().all(u8::is_ascii_digit) || f.last() == Some(&b'0') {
            return false;
        }
    }
    // Significant digits: from the first non-zero digit to the last non-zero one.
    let all = || int.iter().chain(frac.unwrap_or_default());
    let n = int.len() + frac.map_or(0, <[u8]>::len);
    let first = all().position(|&b| b != b'0');
    let trailing = all().rev().position(|&b| b != b'0');
    match (first, trailing) {
        (Some(f), Some(t)) => n - t - f <= 15,
        _ => true,
    }
}

/// `timestamp,value,anomaly_score`, the output's header line.
const OUTPUT_HEADER: &[u8] = b"timestamp,value,anomaly_score\n";

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
    out.write_all(OUTPUT_HEADER).map_err(|e| out.error(e))?;
    let config = ScoringConfig {
        detector,
        ..ScoringConfig::default()
    };
    let mut out = pipeline(rdr, config, out, bar.as_ref())?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    out.flush().map_err(|e| out.error(e))?;
    out.finish()
}

/// Rows handed from one stage to the next at a time.
const BATCH: usize = 4096;
/// Batches in flight between two stages.
const IN_FLIGHT: usize = 4;

/// A run of rows: the start of each output row (`timestamp,value,`, formatted by the
/// reader) back to back in one buffer, values and scores.
#[derive(Debug, Default)]
struct Batch {
    prefixes: Vec<u8>,
    ends: Vec<usize>,
    values: Vec<f64>,
    scores: Vec<f64>,
    /// The writer's output buffer, kept with the batch to be reused.
    text: Vec<u8>,
}

impl Batch {
    fn len(&self) -> usize {
        self.values.len()
    }

    fn prefix(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.prefixes[start..self.ends[i]]
    }

    fn clear(&mut self) {
        self.prefixes.clear();
        self.ends.clear();
        self.values.clear();
        self.scores.clear();
        self.text.clear();
    }
}

/// Reading, scoring and writing run on three threads, handing batches of rows along
/// (and the emptied batches back), so that parsing and formatting overlap the scoring:
/// the reader formats the timestamp and the value of each output row, the writer the
/// score.
/// Rows stay in order and every score is the sequential scorer's. An error anywhere
/// stops all three: the reader's and the writer's are returned, and a reader gone from
/// a pipe stops the others quietly.
fn pipeline<R: Read + Send>(
    mut rdr: ScoreReader<R>,
    config: ScoringConfig,
    mut out: Out,
    bar: Option<&ProgressBar>,
) -> Result<Out, CliError> {
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
        let writer = scope.spawn(move || -> Result<Out, CliError> {
            for mut batch in from_scorer {
                let mut text = std::mem::take(&mut batch.text);
                text.clear();
                for i in 0..batch.len() {
                    text.extend_from_slice(batch.prefix(i));
                    display_f64(batch.scores[i], &mut text);
                    text.push(b'\n');
                }
                out.write_all(&text).map_err(|e| out.error(e))?;
                batch.text = text;
                let _ = recycle.send(batch);
                // Nobody reads any more: stop (the pipe's reader has what it wanted).
                if out.closed() {
                    break;
                }
            }
            Ok(out)
        });
        let scored = score_batches(from_reader, &to_writer, config);
        drop(to_writer);
        let written = writer
            .join()
            .unwrap_or_else(|_| Err(CliError::Runtime("the writer failed".into())));
        // A writer error explains why scoring stopped; report it first.
        let out = written?;
        scored?;
        Ok(out)
    })
}

/// Reads up to [`BATCH`] rows into `batch`; `Ok(false)` at the end of the input.
fn fill<R: Read>(rdr: &mut ScoreReader<R>, batch: &mut Batch) -> Result<bool, CliError> {
    while batch.len() < BATCH {
        let Some((ts, v)) = rdr.next_row()? else {
            return Ok(false);
        };
        push_field(ts, &mut batch.prefixes);
        batch.prefixes.push(b',');
        let text = rdr.value_text();
        if display_form(text) {
            batch.prefixes.extend_from_slice(text);
        } else {
            display_f64(v, &mut batch.prefixes);
        }
        batch.prefixes.push(b',');
        batch.ends.push(batch.prefixes.len());
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
    fn texts_in_display_form_are_what_display_prints() {
        for (text, ok) in [
            ("0", true),
            ("-0", true),
            ("10.1288", true),
            ("0.0000001", true),
            ("123456789012345", true),
            ("1000000000000000000000", true),
            ("0.1234567890123456", false),
            ("1234567890123456", false),
            ("00.5", false),
            (".5", false),
            ("5.", false),
            ("5.0", false),
            ("+5", false),
            ("1e5", false),
            ("-", false),
            ("", false),
            ("0.0000000000000000000001", true),
            ("0.00000000000000000000001", false),
        ] {
            assert_eq!(display_form(text.as_bytes()), ok, "{text}");
            if ok {
                assert_eq!(format!("{}", text.parse::<f64>().unwrap()), text);
            }
        }
        // Random decimals of every shape the data has: whatever passes must be what
        // Display prints.
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut passed = 0;
        for _ in 0..400_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let digits = 1 + (x % 18) as usize;
            let point = ((x >> 8) % (digits as u64 + 2)) as usize;
            let zeros = ((x >> 16) % 8) as usize;
            let mut t = String::new();
            if x >> 63 == 1 {
                t.push('-');
            }
            let mut y = x >> 20;
            let mut body = String::new();
            for _ in 0..digits {
                body.push(char::from(b'0' + (y % 10) as u8));
                y /= 10;
            }
            if point == 0 {
                t.push_str("0.");
                t.push_str(&"0".repeat(zeros));
                t.push_str(&body);
            } else if point > digits {
                t.push_str(&body);
                t.push_str(&"0".repeat(zeros));
            } else {
                t.push_str(&body[..point]);
                t.push('.');
                t.push_str(&body[point..]);
            }
            if display_form(t.as_bytes()) {
                passed += 1;
                assert_eq!(format!("{}", t.parse::<f64>().unwrap()), t);
            }
        }
        assert!(passed > 50_000, "too few cases exercised: {passed}");
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
