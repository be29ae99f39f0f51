//! The input of `coalmine score`: `timestamp,value` with that header (names in any
//! case), one row per point. Timestamps are kept as written (they pass through to the
//! output); values must be finite numbers within the core's magnitude limit.

use std::io::Read;

use coalmine::MAX_ABS_VALUE;

use crate::CliError;
use crate::error::{field, num};
use crate::input::{check_header, csv_reader, line_of, next_record};

/// The header an input must start with.
pub const HEADER: [&str; 2] = ["timestamp", "value"];

/// Parses one value: finite and within the core's magnitude limit.
fn value(raw: &[u8], file: &str, line: u64) -> Result<f64, CliError> {
    let text = std::str::from_utf8(raw.trim_ascii())
        .map_err(|_| CliError::at(file, line, "the value is not valid UTF-8"))?;
    let v: f64 = text
        .parse()
        .map_err(|_| CliError::at(file, line, format!("{} is not a number", field(text))))?;
    if !v.is_finite() {
        return Err(CliError::at(
            file,
            line,
            format!("{} is not a finite number", field(text)),
        ));
    }
    if v.abs() > MAX_ABS_VALUE {
        return Err(CliError::at(
            file,
            line,
            format!(
                "value {} is beyond the supported magnitude {}",
                num(v),
                num(MAX_ABS_VALUE)
            ),
        ));
    }
    Ok(v)
}

/// Reads the rows of a `score` input one at a time, checking the header first.
#[derive(Debug)]
pub struct ScoreReader<R> {
    rdr: csv::Reader<R>,
    record: csv::ByteRecord,
    file: String,
}

impl<R: Read> ScoreReader<R> {
    /// Reads the header of `r`, the file called `file` in messages.
    pub fn new(r: R, file: &str) -> Result<ScoreReader<R>, CliError> {
        let mut rdr = csv_reader(r);
        let mut record = csv::ByteRecord::new();
        if !next_record(&mut rdr, &mut record, file)? {
            return Err(CliError::file(file, "the file is empty"));
        }
        check_header(&record, &HEADER, file)?;
        Ok(ScoreReader {
            rdr,
            record,
            file: file.to_string(),
        })
    }

    /// The next row: its timestamp as written (blanks kept) and its value; `None` at
    /// the end of the input.
    pub fn next_row(&mut self) -> Result<Option<(&[u8], f64)>, CliError> {
        if !next_record(&mut self.rdr, &mut self.record, &self.file)? {
            return Ok(None);
        }
        let line = line_of(&self.record);
        if self.record.len() != HEADER.len() {
            return Err(CliError::at(
                &self.file,
                line,
                format!(
                    "expected 2 comma-separated fields (timestamp,value), found {}",
                    self.record.len()
                ),
            ));
        }
        let v = value(&self.record[1], &self.file, line)?;
        Ok(Some((&self.record[0], v)))
    }

    /// The value field of the row [`ScoreReader::next_row`] returned last, as written
    /// (blanks around it removed).
    pub fn value_text(&self) -> &[u8] {
        self.record.get(1).unwrap_or_default().trim_ascii()
    }

    /// Bytes of the input read so far.
    pub fn bytes_read(&self) -> u64 {
        self.rdr.position().byte()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_error(input: &[u8]) -> String {
        let read = ScoreReader::new(input, "s.csv").and_then(|mut r| {
            while r.next_row()?.is_some() {}
            Ok(())
        });
        read.expect_err("the input is refused").to_string()
    }

    #[test]
    fn a_header_with_a_quoted_line_break_gives_a_one_line_message() {
        // Found by the score_input fuzz target.
        let message = first_error(b"timimes,tamp,\"timestamp,value\n2015-01-01 00:00:00\",10\n");
        assert!(!message.contains('\n'), "{message}");
        assert!(
            message.starts_with("s.csv:1: expected the header"),
            "{message}"
        );
        assert!(message.contains("value\\n2015"), "{message}");
    }
}
