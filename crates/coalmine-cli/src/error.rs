//! What went wrong, for the user: every data error names the file, the line when there
//! is one, and the series when there is one; numbers print compactly and quoted fields
//! are shortened, so a message stays one readable line whatever the input holds.

use std::fmt;

/// Exit status of a bad input or a runtime failure.
pub const EXIT_ERROR: u8 = 1;
/// Exit status of a usage error (also clap's).
pub const EXIT_USAGE: u8 = 2;

/// Characters of an input field quoted in a message before it is cut.
const FIELD_CHARS: usize = 40;

/// A failure of the command.
#[derive(Debug)]
pub enum CliError {
    /// Bad input: names the file and, when known, the line and the series.
    Input {
        /// The file, as given on the command line.
        file: String,
        /// The 1-based line, if known.
        line: Option<u64>,
        /// The series (`segment/metric`), if the problem belongs to one.
        series: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// An output could not be written (full disk, unwritable place).
    Output {
        /// The output: a path, or standard output.
        target: String,
        /// What the system said.
        message: String,
    },
    /// The command was called in a way it refuses (exit status 2).
    Usage(String),
    /// Anything else that stops the command.
    Runtime(String),
}

impl CliError {
    /// A problem with `file` as a whole.
    pub fn file(file: &str, message: impl Into<String>) -> Self {
        CliError::Input {
            file: file.to_string(),
            line: None,
            series: None,
            message: message.into(),
        }
    }

    /// A problem at `line` of `file`.
    pub fn at(file: &str, line: u64, message: impl Into<String>) -> Self {
        CliError::Input {
            file: file.to_string(),
            line: Some(line),
            series: None,
            message: message.into(),
        }
    }

    /// Adds the series the problem belongs to.
    pub fn in_series(mut self, name: String) -> Self {
        if let CliError::Input { series, .. } = &mut self {
            *series = Some(name);
        }
        self
    }

    /// The exit status this error ends the command with.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => EXIT_USAGE,
            _ => EXIT_ERROR,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Input {
                file,
                line,
                series,
                message,
            } => {
                f.write_str(file)?;
                if let Some(l) = line {
                    write!(f, ":{l}")?;
                }
                f.write_str(": ")?;
                if let Some(s) = series {
                    write!(f, "series {s}: ")?;
                }
                f.write_str(message)
            }
            CliError::Output { target, message } => write!(f, "cannot write {target}: {message}"),
            CliError::Usage(m) | CliError::Runtime(m) => f.write_str(m),
        }
    }
}

impl From<coalmine::Error> for CliError {
    fn from(e: coalmine::Error) -> Self {
        CliError::Runtime(describe(&e))
    }
}

/// A number as short as it can be read: plain notation for everyday magnitudes,
/// scientific beyond (`1e101`, not a hundred digits).
pub fn num(v: f64) -> String {
    let a = v.abs();
    if v.is_finite() && a != 0.0 && !(1e-6..1e16).contains(&a) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

/// An input field quoted in a message: its first 40 characters, then `…`. Control
/// characters are escaped (`\n`), so that a quoted CSV field holding a line break
/// cannot split the message.
pub fn field(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(4 * FIELD_CHARS) + 8);
    out.push('`');
    for (i, c) in text.chars().enumerate() {
        if i == FIELD_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out.push('`');
    out
}

/// The core's error in words, with numbers printed by [`num`] and names by [`field`].
pub fn describe(e: &coalmine::Error) -> String {
    use coalmine::Error as E;
    match e {
        E::InvalidParameter {
            name,
            value,
            reason,
        } => format!("invalid parameter `{name}` = {}: {reason}", num(*value)),
        E::NonFinite { what, value } => format!("non-finite value {value} for `{what}`"),
        E::OutOfRange { what, value, limit } => format!(
            "value {} for `{what}` is beyond the supported magnitude {}",
            num(*value),
            num(*limit)
        ),
        E::Timestamp { last, got } => format!(
            "timestamp {} is not after the previous tick's {}",
            num(*got),
            num(*last)
        ),
        E::InvalidValue {
            what,
            value,
            reason,
        } => format!("invalid value {} for {what}: {reason}", num(*value)),
        E::UnknownName { what, name } => format!("unknown {what} {}", field(name)),
        E::Duplicate { what, name } => format!("duplicate {what} name {}", field(name)),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_compactly() {
        assert_eq!(num(1e101), "1e101");
        assert_eq!(num(-2.5e300), "-2.5e300");
        assert_eq!(num(150.25), "150.25");
        assert_eq!(num(0.0), "0");
        assert_eq!(num(1e-9), "1e-9");
        assert_eq!(num(f64::INFINITY), "inf");
    }

    #[test]
    fn long_fields_are_cut() {
        assert_eq!(field("abc"), "`abc`");
        let long = "é".repeat(100);
        let shown = field(&long);
        assert_eq!(shown.chars().count(), 40 + 3);
        assert!(shown.ends_with("…`"));
    }

    #[test]
    fn control_characters_are_escaped() {
        // Found by the score_input fuzz target: a quoted header field with a line
        // break split the message over two lines.
        assert_eq!(field("tim\"es\ntamp\r\t"), "`tim\"es\\ntamp\\r\\t`");
        assert_eq!(field("\u{1b}[31m"), "`\\u{1b}[31m`");
    }

    #[test]
    fn core_errors_print_compact_numbers() {
        let e = coalmine::Error::OutOfRange {
            what: "history value",
            value: 1e101,
            limit: coalmine::MAX_ABS_VALUE,
        };
        assert_eq!(
            describe(&e),
            "value 1e101 for `history value` is beyond the supported magnitude 1e100"
        );
    }
}
