//! Timestamps in the metrics CSV: Unix seconds (integer or decimal) or RFC 3339 with an
//! offset, parsed and printed back by `jiff`.

use jiff::Timestamp;

use crate::error::field;

/// How a timestamp was written, so that it can be printed back the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Style {
    /// Unix seconds.
    #[default]
    Unix,
    /// RFC 3339 (printed back in UTC).
    Rfc3339,
}

/// Parses `text` into Unix seconds. Accepts `1700000000`, `1700000000.5`,
/// `2026-11-28T10:00:00Z`, `2026-11-28T10:00:00.250+01:00` (and a space or a lower-case
/// `t`/`z`), within the years -9999 to 9999. Returns a human-readable reason on
/// failure.
pub fn parse(text: &str) -> Result<(f64, Style), String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty timestamp".into());
    }
    let numeric = t
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b'-' || b == b'.' || b == b'+');
    if numeric && !t[1..].contains(['-', '+']) {
        let secs = t
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| format!("{} is not a number of seconds", field(t)))?;
        let (lo, hi) = (
            Timestamp::MIN.as_second() as f64,
            Timestamp::MAX.as_second() as f64,
        );
        if !(lo..=hi).contains(&secs) {
            return Err(format!(
                "{} seconds is outside the years -9999 to 9999",
                field(t)
            ));
        }
        return Ok((secs, Style::Unix));
    }
    let ts: Timestamp = t.parse().map_err(|_| {
        format!(
            "{} is neither Unix seconds nor an RFC 3339 timestamp with an offset",
            field(t)
        )
    })?;
    let secs = ts.as_second() as f64 + f64::from(ts.subsec_nanosecond()) * 1e-9;
    Ok((secs, Style::Rfc3339))
}

/// Prints Unix seconds back in `style`: RFC 3339 in UTC (to the microsecond), or
/// seconds as they were read.
pub fn format(secs: f64, style: Style) -> String {
    if style == Style::Rfc3339 {
        if let Some(ts) = to_timestamp(secs) {
            return ts.to_string();
        }
    }
    if secs.fract() == 0.0 {
        format!("{secs:.0}")
    } else {
        format!("{secs}")
    }
}

/// RFC 3339 in UTC, whatever the input style (for JSON).
pub fn rfc3339(secs: f64) -> Option<String> {
    to_timestamp(secs).map(|t| t.to_string())
}

fn to_timestamp(secs: f64) -> Option<Timestamp> {
    if !secs.is_finite() {
        return None;
    }
    let micros = (secs * 1e6).round();
    if micros.abs() > 9.2e18 {
        return None;
    }
    Timestamp::from_microsecond(micros as i64).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_unix_seconds_and_rfc3339() {
        let p = |t: &str| parse(t).unwrap();
        assert_eq!(p("1700000000"), (1_700_000_000.0, Style::Unix));
        assert_eq!(p(" 12.5 "), (12.5, Style::Unix));
        assert_eq!(p("-12"), (-12.0, Style::Unix));
        assert_eq!(p("1970-01-01T00:00:00Z"), (0.0, Style::Rfc3339));
        assert_eq!(p("2023-11-14T22:13:20Z").0, 1_700_000_000.0);
        assert_eq!(p("2023-11-14T23:13:20+01:00").0, 1_700_000_000.0);
        assert_eq!(p("2023-11-14T17:13:20-05:00").0, 1_700_000_000.0);
        assert_eq!(p("2023-11-14 22:13:20.25z").0, 1_700_000_000.25);
        assert_eq!(p("2024-02-29T00:00:00Z").0, 1_709_164_800.0);
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "abc",
            "2023-13-01T00:00:00Z",
            "2023-02-30T00:00:00Z",
            "2023-11-14T22:13:20",
            "1e999",
            "12-3",
            "1e300",
            "99999999999999",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let long = "9".repeat(10_000);
        let e = parse(&long).unwrap_err();
        assert!(e.len() < 120, "{e}");
    }

    #[test]
    fn prints_back_in_the_style_read() {
        assert_eq!(format(1_700_000_000.0, Style::Unix), "1700000000");
        assert_eq!(format(12.5, Style::Unix), "12.5");
        assert_eq!(
            format(1_700_000_000.0, Style::Rfc3339),
            "2023-11-14T22:13:20Z"
        );
        assert_eq!(
            format(1_700_000_000.25, Style::Rfc3339),
            "2023-11-14T22:13:20.25Z"
        );
        let (secs, style) = parse("2023-11-14T23:13:20.5+01:00").unwrap();
        assert_eq!(format(secs, style), "2023-11-14T22:13:20.5Z");
    }
}
