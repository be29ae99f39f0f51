//! Timestamps in the metrics CSV: Unix seconds (integer or decimal) or RFC 3339.

/// Parses `text` into Unix seconds. Accepts `1700000000`, `1700000000.5`,
/// `2026-11-28T10:00:00Z`, `2026-11-28T10:00:00.250+01:00` (and a space or a lower-case
/// `t`/`z`). Returns a human-readable reason on failure.
pub fn parse(text: &str) -> Result<f64, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty timestamp".into());
    }
    if t.bytes()
        .all(|b| b.is_ascii_digit() || b == b'-' || b == b'.')
        && !t.contains("--")
        && t.matches('-').count() <= 1
        && (!t.contains('-') || t.starts_with('-'))
    {
        return t
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| format!("`{t}` is not a number of seconds"));
    }
    rfc3339(t).ok_or_else(|| format!("`{t}` is neither Unix seconds nor an RFC 3339 timestamp"))
}

fn digits(s: &str, n: usize) -> Option<i64> {
    (s.len() == n && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn rfc3339(t: &str) -> Option<f64> {
    let b = t.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let year = digits(&t[0..4], 4)?;
    let month = digits(&t[5..7], 2)?;
    let day = digits(&t[8..10], 2)?;
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let hour = digits(&t[11..13], 2)?;
    let minute = digits(&t[14..16], 2)?;
    let second = digits(&t[17..19], 2)?;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => return None,
    };
    if !(1..=days_in_month).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &t[19..];
    let mut frac = 0.0;
    if let Some(r) = rest.strip_prefix('.') {
        let end = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
        if end == 0 {
            return None;
        }
        frac = format!("0.{}", &r[..end]).parse().ok()?;
        rest = &r[end..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            if rest.len() != 6 || rest.as_bytes()[3] != b':' {
                return None;
            }
            let oh = digits(&rest[1..3], 2)?;
            let om = digits(&rest[4..6], 2)?;
            if oh > 23 || om > 59 {
                return None;
            }
            sign * (oh * 3600 + om * 60)
        }
    };
    let secs =
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset;
    Some(secs as f64 + frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_unix_seconds_and_rfc3339() {
        assert_eq!(parse("1700000000").unwrap(), 1_700_000_000.0);
        assert_eq!(parse(" 12.5 ").unwrap(), 12.5);
        assert_eq!(parse("1970-01-01T00:00:00Z").unwrap(), 0.0);
        assert_eq!(parse("2023-11-14T22:13:20Z").unwrap(), 1_700_000_000.0);
        assert_eq!(parse("2023-11-14T23:13:20+01:00").unwrap(), 1_700_000_000.0);
        assert_eq!(parse("2023-11-14 22:13:20.25z").unwrap(), 1_700_000_000.25);
        assert_eq!(parse("2024-02-29T00:00:00Z").unwrap(), 1_709_164_800.0);
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
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
