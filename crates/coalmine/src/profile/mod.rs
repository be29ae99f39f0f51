//! Behavioural profiles: what "normal" looks like for every (segment, metric) and for
//! every segment's joint behaviour, learnt from the stable version's history.
//!
//! A [`ProfileBuilder`] takes history tick by tick (dense `segments × metrics` slices,
//! NaN for a missing value) and [`ProfileBuilder::build`]s a [`BehaviorProfile`]:
//!
//! - per (segment, metric): the season length (given, or detected from the seasonal
//!   strength at candidate periods: by default a day and a week at the tick interval
//!   the history's timestamps show), a fitted detector — Holt-Winters where the series
//!   is seasonal, EWMA otherwise — and robust location (median) and scale
//!   (1.4826 · MAD);
//! - per segment: an autoencoder over the segment's metric vector, when the history
//!   has enough complete rows.
//!
//! `builder.rs` holds the builder and its settings, `season.rs` the season test
//! (seasonal strength at candidate periods, and the calendar candidates); this file
//! holds the profile itself and its saved form.
//!
//! Only aggregates enter a profile. It serialises to JSON with a format name and
//! version; [`BehaviorProfile::from_json`] rejects another version, a truncated or
//! corrupt file, inconsistent sizes, and inputs above a size limit, with typed errors.
//! Version 3 added the tick interval; a version 2 profile still loads (without one)
//! and is written back as version 3.

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::detect::{Anomaly, AnomalyDetector, Autoencoder, Ewma, HoltWinters};
use crate::feedback::{Feedback, FeedbackConfig, Outcome};
use crate::persist::{Document, check_header_versions};
use crate::schema::{Schema, SchemaSpec};

mod builder;
mod season;

pub use builder::{
    MAX_CANDIDATE_PERIODS, MAX_HISTORY_TICKS, ProfileBuilder, ProfileConfig,
    UNTIMED_CANDIDATE_PERIODS,
};
pub(crate) use season::autocorrelation;

/// The format name written into every profile.
pub const PROFILE_FORMAT: &str = "coalmine-profile";
/// The profile format version this build reads and writes.
pub const PROFILE_VERSION: u64 = 3;
/// The oldest profile format version this build still reads (version 2 had no tick
/// interval).
pub const PROFILE_VERSION_OLDEST: u64 = 2;

/// The fitted detector of one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeriesDetector {
    /// Non-seasonal series.
    Ewma(Ewma),
    /// Seasonal series.
    HoltWinters(HoltWinters),
}

impl SeriesDetector {
    /// The one-step forecast for the next observation.
    pub fn forecast(&self) -> f64 {
        match self {
            SeriesDetector::Ewma(e) => e.mean().unwrap_or(0.0),
            SeriesDetector::HoltWinters(h) => h.forecast(1),
        }
    }

    /// The one-step prediction-error standard deviation.
    pub fn residual_scale(&self) -> f64 {
        match self {
            SeriesDetector::Ewma(e) => e.residual_scale(),
            SeriesDetector::HoltWinters(h) => h.residual_scale(),
        }
    }

    /// Advances over a missing tick (keeps Holt-Winters' season aligned).
    pub fn skip(&mut self) {
        if let SeriesDetector::HoltWinters(h) = self {
            h.skip();
        }
    }

    /// The season length (1 for EWMA).
    pub fn season_length(&self) -> usize {
        match self {
            SeriesDetector::Ewma(_) => 1,
            SeriesDetector::HoltWinters(h) => h.config().season_length,
        }
    }
}

impl AnomalyDetector for SeriesDetector {
    type Input = f64;

    fn observe(&mut self, x: &f64) -> Result<Anomaly, Error> {
        match self {
            SeriesDetector::Ewma(e) => e.observe(x),
            SeriesDetector::HoltWinters(h) => h.observe(x),
        }
    }

    fn observations(&self) -> u64 {
        match self {
            SeriesDetector::Ewma(e) => e.observations(),
            SeriesDetector::HoltWinters(h) => h.observations(),
        }
    }

    fn is_ready(&self) -> bool {
        match self {
            SeriesDetector::Ewma(e) => e.is_ready(),
            SeriesDetector::HoltWinters(h) => h.is_ready(),
        }
    }

    fn has_forecast(&self) -> bool {
        match self {
            SeriesDetector::Ewma(e) => e.has_forecast(),
            SeriesDetector::HoltWinters(h) => h.has_forecast(),
        }
    }
}

/// What normal looks like for one (segment, metric).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeriesProfile {
    /// The fitted detector, its state at the end of the history.
    pub detector: SeriesDetector,
    /// Median of the observed history.
    pub location: f64,
    /// 1.4826 × median absolute deviation of the history (the standard deviation if
    /// that is 0).
    pub scale: f64,
    /// Seasonal strength at the chosen season length (the share of the detrended
    /// series' variance the season explains; 0 when not seasonal).
    pub seasonality: f64,
    /// Observed (non-missing) history ticks.
    pub observed: u64,
    /// Missing history ticks (with timestamps, the ticks of gaps included).
    pub missing: u64,
}

/// What normal looks like for one segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentProfile {
    /// Per metric, in schema order.
    pub series: Vec<SeriesProfile>,
    /// The joint model, when the history had enough complete rows.
    pub autoencoder: Option<Autoencoder>,
}

/// The learnt behaviour of the stable version. See the [module documentation](self).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BehaviorProfile {
    format: String,
    version: u64,
    schema: SchemaSpec,
    segments: Vec<SegmentProfile>,
    history_ticks: u64,
    /// Seconds between history ticks (their median spacing), when the history was
    /// timestamped.
    #[serde(default)]
    tick_interval: Option<f64>,
    /// Outcomes of past rollouts and the thresholds they imply.
    #[serde(default)]
    feedback: Feedback,
}

impl BehaviorProfile {
    /// The schema the profile was learnt for (validated).
    pub fn schema(&self) -> Result<Schema, Error> {
        Schema::new(self.schema.clone())
    }

    /// The schema's description.
    pub fn schema_spec(&self) -> &SchemaSpec {
        &self.schema
    }

    /// Per segment, in schema order.
    pub fn segments(&self) -> &[SegmentProfile] {
        &self.segments
    }

    /// The profile of (segment `s`, metric `m`); `None` when either index is out of
    /// range.
    pub fn series(&self, s: usize, m: usize) -> Option<&SeriesProfile> {
        self.segments.get(s)?.series.get(m)
    }

    /// Outcomes of past rollouts and the thresholds they imply.
    pub fn feedback(&self) -> &Feedback {
        &self.feedback
    }

    /// Per segment, for folding a finished rollout back in.
    pub(crate) fn segments_mut(&mut self) -> &mut [SegmentProfile] {
        &mut self.segments
    }

    /// Records a finished rollout's outcome (see [`Feedback::record`]). The
    /// thresholds it implies are computed when an analysis starts, from the policy it
    /// is configured with ([`Feedback::thresholds`]).
    pub fn record_outcome(&mut self, outcome: Outcome, peak_risk: f64) -> Result<(), Error> {
        self.feedback.record(outcome, peak_risk)
    }

    /// Replaces the feedback settings (validated); recorded outcomes stay.
    pub fn set_feedback_config(&mut self, config: FeedbackConfig) -> Result<(), Error> {
        self.feedback.set_config(config)
    }

    /// History ticks the profile was learnt from.
    pub fn history_ticks(&self) -> u64 {
        self.history_ticks
    }

    /// Seconds between the history's ticks (the median spacing of their timestamps);
    /// `None` when the history had no timestamps (or a single tick).
    pub fn tick_interval(&self) -> Option<f64> {
        self.tick_interval
    }

    /// Serialises to JSON.
    pub fn to_json(&self) -> String {
        // Serialising plain data with string keys cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a profile written by [`BehaviorProfile::to_json`], checking format,
    /// version, size and internal consistency.
    pub fn from_json(text: &str) -> Result<Self, Error> {
        check_header_versions(
            text,
            Document::Profile,
            PROFILE_FORMAT,
            PROFILE_VERSION_OLDEST..=PROFILE_VERSION,
            "profile bytes",
        )?;
        let mut profile: BehaviorProfile =
            serde_json::from_str(text).map_err(|e| Error::CorruptProfile {
                reason: e.to_string(),
            })?;
        profile.check()?;
        // Version 2 is version 3 without a tick interval.
        profile.version = PROFILE_VERSION;
        Ok(profile)
    }

    fn check(&self) -> Result<(), Error> {
        let schema = Schema::new(self.schema.clone())?;
        let corrupt = |reason: String| Err(Error::CorruptProfile { reason });
        if let Err(e) = self.feedback.validate() {
            return corrupt(format!("feedback: {e}"));
        }
        if let Some(i) = self.tick_interval {
            if !(i.is_finite() && i > 0.0) {
                return corrupt(format!("tick interval {i} is not a positive duration"));
            }
        }
        if self.segments.len() != schema.n_segments() {
            return corrupt(format!(
                "{} segment profiles for {} segments",
                self.segments.len(),
                schema.n_segments()
            ));
        }
        for (s, seg) in self.segments.iter().enumerate() {
            if seg.series.len() != schema.n_metrics() {
                return corrupt(format!(
                    "segment {s}: {} series for {} metrics",
                    seg.series.len(),
                    schema.n_metrics()
                ));
            }
            for (m, series) in seg.series.iter().enumerate() {
                if !(series.location.is_finite() && series.scale.is_finite() && series.scale > 0.0)
                {
                    return corrupt(format!("segment {s}, metric {m}: bad location or scale"));
                }
            }
            if let Some(ae) = &seg.autoencoder {
                if ae.dim() != schema.n_metrics() {
                    return corrupt(format!(
                        "segment {s}: autoencoder over {} metrics, schema has {}",
                        ae.dim(),
                        schema.n_metrics()
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::rng::Rng;
    use crate::schema::{Direction, MetricKind, MetricSpec, SegmentSpec};

    fn schema() -> Schema {
        let mut count = MetricSpec::new("requests", Direction::DecreaseIsBad);
        count.kind = MetricKind::Count;
        Schema::new(SchemaSpec {
            metrics: vec![count, MetricSpec::new("latency", Direction::IncreaseIsBad)],
            segments: vec![SegmentSpec {
                name: "all".into(),
                weight: 1.0,
            }],
            features: vec![],
        })
        .unwrap()
    }

    fn history(ticks: usize, m: usize) -> Vec<[f64; 2]> {
        let mut rng = Rng::new(1);
        (0..ticks)
            .map(|t| {
                let phase = std::f64::consts::TAU * (t % m) as f64 / m as f64;
                [
                    500.0 + 200.0 * phase.sin() + 10.0 * rng.normal(),
                    80.0 + 2.0 * rng.normal(),
                ]
            })
            .collect()
    }

    fn build(ticks: usize, cfg: ProfileConfig) -> BehaviorProfile {
        let mut b = ProfileBuilder::new(schema(), cfg).unwrap();
        for row in history(ticks, 48) {
            b.push_tick(&row).unwrap();
        }
        b.build().unwrap()
    }

    #[test]
    fn detects_seasonal_and_flat_series() {
        let p = build(48 * 6, ProfileConfig::default());
        let requests = p.series(0, 0).unwrap();
        assert_eq!(
            requests.detector.season_length(),
            48,
            "{:?}",
            requests.seasonality
        );
        assert!(requests.seasonality > 0.8);
        let latency = p.series(0, 1).unwrap();
        assert_eq!(latency.detector.season_length(), 1);
        assert!((latency.location - 80.0).abs() < 0.5);
        assert!((latency.scale - 2.0).abs() < 0.3, "{}", latency.scale);
        assert!(p.segments()[0].autoencoder.is_some());
        assert!(p.series(0, 0).unwrap().detector.is_ready());
    }

    #[test]
    fn bad_history_is_rejected_without_changing_the_builder() {
        let mut b = ProfileBuilder::new(schema(), ProfileConfig::default()).unwrap();
        b.push_tick(&[1.0, 2.0]).unwrap();
        assert!(matches!(
            b.push_tick(&[1.0]),
            Err(Error::LengthMismatch { .. })
        ));
        assert!(matches!(
            b.push_tick(&[f64::INFINITY, 1.0]),
            Err(Error::NonFinite { .. })
        ));
        assert!(matches!(
            b.push_tick(&[-3.0, 1.0]),
            Err(Error::InvalidValue { .. })
        ));
        assert_eq!(b.ticks(), 1);
        b.push_tick(&[f64::NAN, 1.0]).unwrap();
        assert_eq!(b.ticks(), 2);
        assert!(matches!(b.build(), Err(Error::InsufficientData { .. })));
    }

    /// A version 2 profile: version 3 less the tick interval.
    fn as_version_2(p: &BehaviorProfile) -> String {
        let mut value: serde_json::Value = serde_json::from_str(&p.to_json()).unwrap();
        let object = value.as_object_mut().unwrap();
        object.insert("version".into(), 2.into());
        object.remove("tick_interval");
        value.to_string()
    }

    #[test]
    fn version_2_profiles_still_load_and_save_as_version_3() {
        let p = build(48 * 4, ProfileConfig::default());
        assert_eq!(p.tick_interval(), None);
        let old = as_version_2(&p);
        assert!(!old.contains("tick_interval"));
        let back = BehaviorProfile::from_json(&old).unwrap();
        assert_eq!(back, p);
        assert!(back.to_json().contains("\"version\":3"));
    }

    #[test]
    fn profiles_round_trip_through_json() {
        let p = build(48 * 4, ProfileConfig::default());
        let json = p.to_json();
        let back = BehaviorProfile::from_json(&json).unwrap();
        assert_eq!(back, p);
        assert!(!json.contains("user"), "only aggregates enter a profile");
    }

    #[test]
    fn foreign_corrupt_and_inconsistent_profiles_are_typed_errors() {
        let p = build(
            48 * 4,
            ProfileConfig {
                autoencoder: None,
                ..ProfileConfig::default()
            },
        );
        let json = p.to_json();
        // Format 1 kept thresholds learnt from a constant, not from the policy.
        let v1 = json.replacen("\"version\":3", "\"version\":1", 1);
        assert!(matches!(
            BehaviorProfile::from_json(&v1),
            Err(Error::ProfileVersion {
                found: 1,
                supported: 3
            })
        ));
        let v4 = json.replacen("\"version\":3", "\"version\":4", 1);
        assert!(matches!(
            BehaviorProfile::from_json(&v4),
            Err(Error::ProfileVersion {
                found: 4,
                supported: 3
            })
        ));
        let bad_interval = json.replacen("\"tick_interval\":null", "\"tick_interval\":-60.0", 1);
        assert_ne!(bad_interval, json);
        assert!(matches!(
            BehaviorProfile::from_json(&bad_interval),
            Err(Error::CorruptProfile { .. })
        ));
        let bad_feedback = json.replacen("\"min_outcomes\":3", "\"min_outcomes\":0", 1);
        assert!(matches!(
            BehaviorProfile::from_json(&bad_feedback),
            Err(Error::CorruptProfile { .. })
        ));
        for cut in [0, 1, json.len() / 3, json.len() - 1] {
            assert!(matches!(
                BehaviorProfile::from_json(&json[..cut]),
                Err(Error::CorruptProfile { .. })
            ));
        }
        assert!(matches!(
            BehaviorProfile::from_json("{\"a\":1}"),
            Err(Error::CorruptProfile { .. })
        ));
        assert!(matches!(
            BehaviorProfile::from_json("[1,2,3]"),
            Err(Error::CorruptProfile { .. })
        ));
        let other = json.replacen(PROFILE_FORMAT, "someone-else", 1);
        assert!(matches!(
            BehaviorProfile::from_json(&other),
            Err(Error::CorruptProfile { .. })
        ));
        // A schema with one more metric than the series stored.
        let grown = json.replacen("\"metrics\":[", "\"metrics\":[{\"name\":\"extra\"},", 1);
        assert!(matches!(
            BehaviorProfile::from_json(&grown),
            Err(Error::CorruptProfile { .. })
        ));
        // An absurd season length inside a detector.
        let absurd = json.replacen("\"season_length\":48", "\"season_length\":99999999999", 1);
        assert!(BehaviorProfile::from_json(&absurd).is_err());
    }
}
