//! Behavioural profiles: what "normal" looks like for every (segment, metric) and for
//! every segment's joint behaviour, learnt from the stable version's history.
//!
//! A [`ProfileBuilder`] takes history tick by tick (dense `segments × metrics` slices,
//! NaN for a missing value) and [`ProfileBuilder::build`]s a [`BehaviorProfile`]:
//!
//! - per (segment, metric): the season length (given, or detected from the
//!   autocorrelation at candidate periods), a fitted detector — Holt-Winters where the
//!   series is seasonal, EWMA otherwise — and robust location (median) and scale
//!   (1.4826 · MAD);
//! - per segment: an autoencoder over the segment's metric vector, when the history
//!   has enough complete rows.
//!
//! Only aggregates enter a profile. It serialises to JSON with a format name and
//! version; [`BehaviorProfile::from_json`] rejects another version, a truncated or
//! corrupt file, inconsistent sizes, and inputs above a size limit, with typed errors.

use serde::{Deserialize, Serialize};

use crate::feedback::{Feedback, Outcome};
use crate::holt_winters::MAX_SEASON_LENGTH;
use crate::policy::Thresholds;
use crate::schema::{Schema, SchemaSpec};
use crate::{
    Anomaly, AnomalyDetector, Autoencoder, AutoencoderConfig, Error, Ewma, EwmaConfig, FitOptions,
    HoltWinters, HoltWintersConfig,
};

/// The format name written into every profile.
pub const PROFILE_FORMAT: &str = "coalmine-profile";
/// The profile format version this build reads and writes.
pub const PROFILE_VERSION: u64 = 1;
/// The largest serialised profile accepted, in bytes.
pub const MAX_PROFILE_BYTES: usize = 512 << 20;
/// The most history ticks a builder accepts (about two years of minutes).
pub const MAX_HISTORY_TICKS: usize = 1 << 20;

/// How a profile is learnt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProfileConfig {
    /// The season length in ticks for every series (`Some(1)` forbids seasonality);
    /// `None` detects it per series from `candidate_periods`.
    pub season_length: Option<usize>,
    /// Periods (in ticks) to test for seasonality, e.g. a day and a week at the tick
    /// rate. A period needs at least three cycles of history to be considered.
    pub candidate_periods: Vec<usize>,
    /// Autocorrelation (of the detrended series, at the period) above which a series
    /// counts as seasonal.
    pub seasonality_threshold: f64,
    /// Detector settings for non-seasonal series.
    pub ewma: EwmaConfig,
    /// Detector settings for seasonal series (the season length is set per series).
    pub holt_winters: HoltWintersConfig,
    /// How Holt-Winters parameters are fitted.
    pub fit: FitOptions,
    /// Autoencoder settings; `None` learns no joint model.
    pub autoencoder: Option<AutoencoderConfig>,
    /// Fewest observed (non-missing) ticks a series needs.
    pub min_history: usize,
}

impl Default for ProfileConfig {
    fn default() -> Self {
        ProfileConfig {
            season_length: None,
            // Ticks per day at 1 h, 30 min, 15 min, 10 min, 5 min and 1 min.
            candidate_periods: vec![24, 48, 96, 144, 288, 1440],
            seasonality_threshold: 0.3,
            ewma: EwmaConfig::default(),
            holt_winters: HoltWintersConfig::default(),
            fit: FitOptions {
                max_evaluations: 300,
                ..FitOptions::default()
            },
            autoencoder: Some(AutoencoderConfig::default()),
            min_history: 20,
        }
    }
}

/// The most candidate periods a [`ProfileConfig`] may list.
pub const MAX_CANDIDATE_PERIODS: usize = 64;

impl ProfileConfig {
    /// Checks every setting, the detectors' included: `seasonality_threshold` in
    /// `[0, 1)`, `season_length` and each candidate period at least 1 and at most
    /// [`MAX_SEASON_LENGTH`] ([`Error::TooLarge`] beyond), at most
    /// [`MAX_CANDIDATE_PERIODS`] candidates, `min_history` at least 4.
    pub fn validate(&self) -> Result<(), Error> {
        if !(0.0..1.0).contains(&self.seasonality_threshold) {
            return Err(Error::param(
                "seasonality_threshold",
                self.seasonality_threshold,
                "must be in [0, 1)",
            ));
        }
        let season_lengths = self.season_length.iter().map(|m| ("season_length", *m));
        let candidates = self
            .candidate_periods
            .iter()
            .map(|m| ("candidate_periods", *m));
        for (what, m) in season_lengths.chain(candidates) {
            if m == 0 {
                return Err(Error::param(what, 0.0, "must be at least 1"));
            }
            if m > MAX_SEASON_LENGTH {
                return Err(Error::TooLarge {
                    what,
                    got: m,
                    limit: MAX_SEASON_LENGTH,
                });
            }
        }
        if self.candidate_periods.len() > MAX_CANDIDATE_PERIODS {
            return Err(Error::TooLarge {
                what: "candidate_periods",
                got: self.candidate_periods.len(),
                limit: MAX_CANDIDATE_PERIODS,
            });
        }
        if self.min_history < 4 {
            return Err(Error::param(
                "min_history",
                self.min_history as f64,
                "must be at least 4",
            ));
        }
        self.ewma.validate()?;
        self.holt_winters.validate()?;
        self.fit.validate()?;
        if let Some(ae) = &self.autoencoder {
            ae.validate()?;
        }
        Ok(())
    }
}

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
    /// Autocorrelation at the chosen season length (0 when not seasonal).
    pub seasonality: f64,
    /// Observed (non-missing) history ticks.
    pub observed: u64,
    /// Missing history ticks.
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
    /// Outcomes of past rollouts and the thresholds they imply.
    #[serde(default)]
    feedback: Feedback,
}

#[derive(Deserialize)]
struct Header {
    format: Option<String>,
    version: Option<u64>,
}

/// The kinds of saved document, so that errors say which one is at fault.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Document {
    Profile,
    Checkpoint,
}

impl Document {
    pub(crate) fn corrupt(self, reason: String) -> Error {
        match self {
            Document::Profile => Error::CorruptProfile { reason },
            Document::Checkpoint => Error::CorruptCheckpoint { reason },
        }
    }

    fn version(self, found: u64, supported: u64) -> Error {
        match self {
            Document::Profile => Error::ProfileVersion { found, supported },
            Document::Checkpoint => Error::CheckpointVersion { found, supported },
        }
    }
}

/// Checks a serialised document's size and its `format` and `version` fields before
/// the whole of it is parsed (shared by profiles and analysis checkpoints).
pub(crate) fn check_header(
    text: &str,
    document: Document,
    format: &str,
    version: u64,
    what: &'static str,
) -> Result<(), Error> {
    if text.len() > MAX_PROFILE_BYTES {
        return Err(Error::TooLarge {
            what,
            got: text.len(),
            limit: MAX_PROFILE_BYTES,
        });
    }
    let header: Header = serde_json::from_str(text)
        .map_err(|e| document.corrupt(format!("not a {format} document: {e}")))?;
    if header.format.as_deref() != Some(format) {
        return Err(document.corrupt(format!(
            "format is {:?}, expected {format:?}",
            header.format
        )));
    }
    match header.version {
        Some(v) if v == version => Ok(()),
        Some(found) => Err(document.version(found, version)),
        None => Err(document.corrupt("no format version".into())),
    }
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

    /// Records a finished rollout's outcome (see [`Feedback::record`]); returns the
    /// new thresholds.
    pub fn record_outcome(
        &mut self,
        outcome: Outcome,
        peak_risk: f64,
    ) -> Result<Thresholds, Error> {
        self.feedback.record(outcome, peak_risk)
    }

    /// History ticks the profile was learnt from.
    pub fn history_ticks(&self) -> u64 {
        self.history_ticks
    }

    /// Serialises to JSON.
    pub fn to_json(&self) -> String {
        // Serialising plain data with string keys cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a profile written by [`BehaviorProfile::to_json`], checking format,
    /// version, size and internal consistency.
    pub fn from_json(text: &str) -> Result<Self, Error> {
        check_header(
            text,
            Document::Profile,
            PROFILE_FORMAT,
            PROFILE_VERSION,
            "profile bytes",
        )?;
        let profile: BehaviorProfile =
            serde_json::from_str(text).map_err(|e| Error::CorruptProfile {
                reason: e.to_string(),
            })?;
        profile.check()?;
        Ok(profile)
    }

    fn check(&self) -> Result<(), Error> {
        let schema = Schema::new(self.schema.clone())?;
        let corrupt = |reason: String| Err(Error::CorruptProfile { reason });
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

/// Learns a [`BehaviorProfile`] from history.
#[derive(Debug, Clone)]
pub struct ProfileBuilder {
    schema: Schema,
    config: ProfileConfig,
    /// Series-major history: `columns[s * n_metrics + m][tick]`.
    columns: Vec<Vec<f64>>,
    ticks: usize,
}

impl ProfileBuilder {
    /// A builder for `schema`.
    pub fn new(schema: Schema, config: ProfileConfig) -> Result<Self, Error> {
        config.validate()?;
        let columns = vec![Vec::new(); schema.tick_len()];
        Ok(ProfileBuilder {
            schema,
            config,
            columns,
            ticks: 0,
        })
    }

    /// Adds one history tick: `values[s * n_metrics + m]`, NaN for missing. Infinite
    /// values, values beyond [`crate::MAX_ABS_VALUE`] and values impossible for the
    /// metric's kind (a negative count) reject the whole tick and leave the builder
    /// unchanged.
    pub fn push_tick(&mut self, values: &[f64]) -> Result<(), Error> {
        if values.len() != self.schema.tick_len() {
            return Err(Error::LengthMismatch {
                what: "history tick",
                expected: self.schema.tick_len(),
                got: values.len(),
            });
        }
        if self.ticks >= MAX_HISTORY_TICKS {
            return Err(Error::TooLarge {
                what: "history ticks",
                got: self.ticks + 1,
                limit: MAX_HISTORY_TICKS,
            });
        }
        let nm = self.schema.n_metrics();
        for (i, &v) in values.iter().enumerate() {
            if !v.is_nan() {
                Error::check_value("history value", v)?;
                self.schema.metric(i % nm).kind.check(v)?;
            }
        }
        for (col, &v) in self.columns.iter_mut().zip(values) {
            col.push(v);
        }
        self.ticks += 1;
        Ok(())
    }

    /// Ticks pushed so far.
    pub fn ticks(&self) -> usize {
        self.ticks
    }

    /// Fits every series and segment model.
    pub fn build(&self) -> Result<BehaviorProfile, Error> {
        let nm = self.schema.n_metrics();
        let mut segments = Vec::with_capacity(self.schema.n_segments());
        for s in 0..self.schema.n_segments() {
            let mut series = Vec::with_capacity(nm);
            for m in 0..nm {
                series.push(self.fit_series(&self.columns[s * nm + m])?);
            }
            let autoencoder = match &self.config.autoencoder {
                Some(cfg) => self.fit_autoencoder(s, cfg)?,
                None => None,
            };
            segments.push(SegmentProfile {
                series,
                autoencoder,
            });
        }
        Ok(BehaviorProfile {
            format: PROFILE_FORMAT.to_string(),
            version: PROFILE_VERSION,
            schema: self.schema.spec().clone(),
            segments,
            history_ticks: self.ticks as u64,
            feedback: Feedback::default(),
        })
    }

    fn fit_series(&self, y: &[f64]) -> Result<SeriesProfile, Error> {
        let observed: Vec<f64> = y.iter().copied().filter(|v| !v.is_nan()).collect();
        if observed.len() < self.config.min_history {
            return Err(Error::InsufficientData {
                what: "observed history ticks of a series",
                needed: self.config.min_history,
                got: observed.len(),
            });
        }
        let (location, scale) = robust_location_scale(&observed);
        let (season, seasonality) = match self.config.season_length {
            Some(m) => (m, if m > 1 { autocorrelation(y, m) } else { 0.0 }),
            None => detect_season(
                y,
                &self.config.candidate_periods,
                self.config.seasonality_threshold,
            ),
        };
        let detector = if season > 1 && y.len() >= 2 * season {
            let cfg = HoltWintersConfig {
                season_length: season,
                ..self.config.holt_winters
            };
            SeriesDetector::HoltWinters(HoltWinters::fit(cfg, y, &self.config.fit)?)
        } else {
            let mut e = Ewma::new(self.config.ewma)?;
            for v in &observed {
                e.observe(v)?;
            }
            SeriesDetector::Ewma(e)
        };
        Ok(SeriesProfile {
            detector,
            location,
            scale,
            seasonality,
            observed: observed.len() as u64,
            missing: (y.len() - observed.len()) as u64,
        })
    }

    fn fit_autoencoder(
        &self,
        s: usize,
        cfg: &AutoencoderConfig,
    ) -> Result<Option<Autoencoder>, Error> {
        let nm = self.schema.n_metrics();
        let cols = &self.columns[s * nm..(s + 1) * nm];
        let complete: Vec<usize> = (0..self.ticks)
            .filter(|&t| cols.iter().all(|c| !c[t].is_nan()))
            .collect();
        let needed = 20.max(2 * nm).max(self.config.min_history);
        if complete.len() < needed {
            return Ok(None);
        }
        let data =
            ndarray::Array2::from_shape_fn((complete.len(), nm), |(r, m)| cols[m][complete[r]]);
        Autoencoder::train(*cfg, data.view()).map(Some)
    }
}

/// Median and 1.4826 × MAD (the standard deviation when the MAD is 0, floored at a
/// tiny positive value so that a constant series has a usable scale).
pub(crate) fn robust_location_scale(xs: &[f64]) -> (f64, f64) {
    let mut v: Vec<f64> = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let med = median_sorted(&v);
    let mut dev: Vec<f64> = v.iter().map(|x| (x - med).abs()).collect();
    dev.sort_by(f64::total_cmp);
    let mad = 1.4826 * median_sorted(&dev);
    let scale = if mad > 0.0 {
        mad
    } else {
        let n = v.len().max(1) as f64;
        let mean = v.iter().sum::<f64>() / n;
        (v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n).sqrt()
    };
    (med, scale.max(1e-12 * (1.0 + med.abs())))
}

fn median_sorted(v: &[f64]) -> f64 {
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => 0.5 * (v[n / 2 - 1] + v[n / 2]),
    }
}

/// Autocorrelation of `y` (NaN = missing, pairs with a missing side skipped) at `lag`,
/// after removing a least-squares line so that a trend does not look like a season.
pub(crate) fn autocorrelation(y: &[f64], lag: usize) -> f64 {
    let n = y.len();
    if lag == 0 || lag >= n {
        return 0.0;
    }
    // Detrend over the observed points.
    let (mut st, mut sy, mut stt, mut sty, mut k) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (t, &v) in y.iter().enumerate() {
        if !v.is_nan() {
            let t = t as f64;
            st += t;
            sy += v;
            stt += t * t;
            sty += t * v;
            k += 1.0;
        }
    }
    if k < 3.0 {
        return 0.0;
    }
    let den = k * stt - st * st;
    let slope = if den > 0.0 {
        (k * sty - st * sy) / den
    } else {
        0.0
    };
    let intercept = (sy - slope * st) / k;
    let r = |t: usize| y[t] - (intercept + slope * t as f64);
    let mut var = 0.0;
    for (t, v) in y.iter().enumerate() {
        if !v.is_nan() {
            var += r(t) * r(t);
        }
    }
    var /= k;
    if var <= 0.0 {
        return 0.0;
    }
    let (mut cov, mut pairs) = (0.0, 0.0);
    for t in lag..n {
        if !y[t].is_nan() && !y[t - lag].is_nan() {
            cov += r(t) * r(t - lag);
            pairs += 1.0;
        }
    }
    if pairs < 2.0 {
        return 0.0;
    }
    (cov / pairs / var).clamp(-1.0, 1.0)
}

/// The candidate period with the highest autocorrelation above `threshold` among those
/// with at least three cycles of history; `(1, 0)` when none qualifies.
pub(crate) fn detect_season(y: &[f64], candidates: &[usize], threshold: f64) -> (usize, f64) {
    let mut best = (1, 0.0);
    for &m in candidates {
        if m < 2 || y.len() < 3 * m {
            continue;
        }
        let r = autocorrelation(y, m);
        if r > threshold && r > best.1 {
            best = (m, r);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
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
    fn a_trend_is_not_a_season() {
        let y: Vec<f64> = (0..500)
            .map(|t| t as f64 * 0.3 + ((t * 7919) % 11) as f64 * 0.01)
            .collect();
        assert_eq!(detect_season(&y, &[24, 48], 0.3).0, 1);
        let mut gappy: Vec<f64> = (0..500)
            .map(|t| (std::f64::consts::TAU * t as f64 / 24.0).sin())
            .collect();
        for t in (0..500).step_by(7) {
            gappy[t] = f64::NAN;
        }
        assert_eq!(detect_season(&gappy, &[24, 48], 0.3).0, 24);
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
        let v2 = json.replacen("\"version\":1", "\"version\":2", 1);
        assert!(matches!(
            BehaviorProfile::from_json(&v2),
            Err(Error::ProfileVersion {
                found: 2,
                supported: 1
            })
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
