//! Durations a setting gives in ticks or in seconds: checking the seconds, reading the
//! pair from a document, and converting seconds to ticks of a known interval (which
//! [`crate::analysis::AnalysisConfig::at_interval`] does once, when an analysis starts).

use serde::Deserialize;

use crate::Error;

/// The longest tick interval accepted, in seconds (a week).
pub const MAX_TICK_SECONDS: f64 = 7.0 * 86_400.0;

/// The longest duration a setting may give in seconds (a year): anything longer is a
/// unit mistake (milliseconds given as seconds, say), not a rollout.
pub const MAX_SETTING_SECONDS: f64 = 366.0 * 86_400.0;

/// The longest prediction horizon in ticks (as [`crate::risk::RiskConfig::validate`] requires).
pub(crate) const MAX_HORIZON_TICKS: f64 = 1_000_000.0;

/// Checks a duration setting given in seconds: finite, `>= 0`, at most
/// [`MAX_SETTING_SECONDS`].
pub(crate) fn check_seconds(name: &'static str, seconds: Option<f64>) -> Result<(), Error> {
    match seconds {
        Some(s) if !(s.is_finite() && (0.0..=MAX_SETTING_SECONDS).contains(&s)) => {
            Err(Error::param(
                name,
                s,
                "must be finite, >= 0 and at most a year (in seconds)",
            ))
        }
        _ => Ok(()),
    }
}

/// A duration read from a document, as the tick count and the seconds it holds: a tick
/// count given without its time form counts in ticks (so that a configuration written
/// before the time forms keeps its meaning at any tick rate); the time form, when
/// given, is kept beside whatever tick count is given or defaulted; with neither, the
/// default pair.
pub(crate) fn duration_pair(
    ticks: Option<u32>,
    seconds: Option<f64>,
    default: (u32, Option<f64>),
) -> (u32, Option<f64>) {
    match (ticks, seconds) {
        (Some(t), None) => (t, None),
        (t, Some(s)) => (t.unwrap_or(default.0), Some(s)),
        (None, None) => default,
    }
}

/// Reads a key that a document may leave out but may not set to null (a null would
/// otherwise silently mean the default).
pub(crate) fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// `seconds` in ticks of `interval` seconds, rounded to the nearest tick (a learnt
/// interval carries a little jitter: 1799.97 s ticks must still make 18,000 s ten
/// ticks), at least `floor`, and an error above `max`.
pub(crate) fn to_ticks(
    name: &'static str,
    seconds: f64,
    interval: f64,
    floor: f64,
    max: f64,
) -> Result<f64, Error> {
    check_seconds(name, Some(seconds))?;
    // Checked here rather than up front: a profile learnt from, say, monthly ticks
    // still serves a configuration that counts everything in ticks.
    if !(interval.is_finite() && interval > 0.0 && interval <= MAX_TICK_SECONDS) {
        return Err(Error::param(
            "tick_seconds",
            interval,
            "must be finite, > 0 and at most a week",
        ));
    }
    let ticks = (seconds / interval).round().max(floor);
    if ticks > max {
        return Err(Error::param(
            name,
            seconds,
            "more ticks at this tick interval than the setting can count",
        ));
    }
    Ok(ticks)
}
