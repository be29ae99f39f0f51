//! Learning a profile: the settings, and the builder that takes history tick by tick
//! and fits every series and segment model.

use serde::{Deserialize, Serialize};

use super::season::{calendar_periods, detect_season, seasonal_strength};
use super::{
    BehaviorProfile, PROFILE_FORMAT, PROFILE_VERSION, SegmentProfile, SeriesDetector, SeriesProfile,
};
use crate::Error;
use crate::detect::{
    AnomalyDetector, Autoencoder, AutoencoderConfig, Ewma, EwmaConfig, FitOptions, HoltWinters,
    HoltWintersConfig, MAX_SEASON_LENGTH,
};
use crate::feedback::Feedback;
use crate::math::robust::robust_location_scale;
use crate::schema::Schema;

/// The most history ticks a builder accepts (about two years of minutes).
pub const MAX_HISTORY_TICKS: usize = 1 << 20;

/// How a profile is learnt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProfileConfig {
    /// The season length in ticks for every series (`Some(1)` forbids seasonality);
    /// `None` detects it per series from `candidate_periods`.
    pub season_length: Option<usize>,
    /// Periods (in ticks) to test for seasonality. Empty (the default) means a day
    /// and a week at the tick interval of the history's timestamps
    /// ([`ProfileBuilder::push_tick_at`]), those of at least two ticks; without
    /// timestamps, a day at 1 h, 30, 15, 10, 5 and 1 min ticks
    /// ([`UNTIMED_CANDIDATE_PERIODS`]). A period needs at least two cycles of history
    /// to be considered.
    pub candidate_periods: Vec<usize>,
    /// Seasonal strength (the share of the detrended series' variance the season
    /// explains, see `docs/algorithms.md`) above which a series counts as seasonal.
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
            candidate_periods: Vec::new(),
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

/// Candidate periods when none are configured and the history has no timestamps:
/// ticks per day at 1 h, 30 min, 15 min, 10 min, 5 min and 1 min.
pub const UNTIMED_CANDIDATE_PERIODS: [usize; 6] = [24, 48, 96, 144, 288, 1440];

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

/// Learns a [`BehaviorProfile`] from history.
///
/// History comes tick by tick, either all with timestamps
/// ([`ProfileBuilder::push_tick_at`]) or all without ([`ProfileBuilder::push_tick`]).
/// With timestamps the builder learns the tick interval (the median spacing), offers a
/// day and a week at that interval as season candidates (unless
/// [`ProfileConfig::candidate_periods`] lists its own), and keeps seasons aligned with
/// the clock across gaps: a spacing of `k` intervals (rounded, at least one) counts as
/// `k` ticks, the `k − 1` in between missing. Spacings shorter than an interval, from
/// jitter or irregular sampling, count as one tick each.
#[derive(Debug, Clone)]
pub struct ProfileBuilder {
    schema: Schema,
    config: ProfileConfig,
    /// Series-major history: `columns[s * n_metrics + m][tick]`.
    columns: Vec<Vec<f64>>,
    ticks: usize,
    /// One per tick when the history is timestamped, empty otherwise.
    timestamps: Vec<f64>,
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
            timestamps: Vec::new(),
        })
    }

    /// Adds one history tick without a timestamp: `values[s * n_metrics + m]`, NaN
    /// for missing. Infinite values, values beyond [`crate::MAX_ABS_VALUE`] and values
    /// impossible for the metric's kind (a negative count) reject the whole tick and
    /// leave the builder unchanged, and so does a tick without a timestamp after
    /// ticks with one ([`Error::InvalidValue`]).
    pub fn push_tick(&mut self, values: &[f64]) -> Result<(), Error> {
        if !self.timestamps.is_empty() {
            return Err(Error::InvalidValue {
                what: "history tick timestamp",
                value: f64::NAN,
                reason: "the history so far is timestamped: every tick needs a timestamp \
                         (push_tick_at)",
            });
        }
        self.check_tick(values)?;
        self.append(values);
        Ok(())
    }

    /// Adds one history tick taken at `timestamp` (seconds, any epoch):
    /// `values[s * n_metrics + m]`, NaN for missing. Timestamps must be finite
    /// ([`Error::NonFinite`]) and strictly increasing ([`Error::Timestamp`] for a
    /// duplicate or one that goes back); a timestamped tick after ticks without one is
    /// [`Error::InvalidValue`]; values are checked as by
    /// [`ProfileBuilder::push_tick`]. A rejected tick leaves the builder unchanged.
    pub fn push_tick_at(&mut self, timestamp: f64, values: &[f64]) -> Result<(), Error> {
        if !timestamp.is_finite() {
            return Err(Error::NonFinite {
                what: "history tick timestamp",
                value: timestamp,
            });
        }
        if self.ticks > 0 && self.timestamps.is_empty() {
            return Err(Error::InvalidValue {
                what: "history tick timestamp",
                value: timestamp,
                reason: "the history so far has no timestamps: no tick may have one \
                         (push_tick)",
            });
        }
        if let Some(&last) = self.timestamps.last() {
            if timestamp <= last {
                return Err(Error::Timestamp {
                    last,
                    got: timestamp,
                });
            }
        }
        self.check_tick(values)?;
        self.append(values);
        self.timestamps.push(timestamp);
        Ok(())
    }

    fn check_tick(&self, values: &[f64]) -> Result<(), Error> {
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
        Ok(())
    }

    fn append(&mut self, values: &[f64]) {
        for (col, &v) in self.columns.iter_mut().zip(values) {
            col.push(v);
        }
        self.ticks += 1;
    }

    /// Ticks pushed so far.
    pub fn ticks(&self) -> usize {
        self.ticks
    }

    /// The tick interval in seconds, `None` without timestamps or with fewer than two
    /// ticks: the median spacing places every tick on the clock (see
    /// [`ProfileBuilder`]), and the interval is then the time from the first tick to
    /// the last over the intervals between them, so that jitter in the timestamps
    /// averages out (a day of one-minute ticks is 1,440 ticks, not 1,439).
    pub fn tick_interval(&self) -> Option<f64> {
        let median = self.median_spacing()?;
        let (first, last) = (self.timestamps.first()?, self.timestamps.last()?);
        let intervals = self
            .timestamps
            .windows(2)
            .map(|w| ((w[1] - w[0]) / median).round().max(1.0))
            .sum::<f64>();
        let interval = (last - first) / intervals;
        (interval.is_finite() && interval > 0.0).then_some(interval)
    }

    /// The median spacing of the timestamps.
    fn median_spacing(&self) -> Option<f64> {
        let mut spacings: Vec<f64> = self.timestamps.windows(2).map(|w| w[1] - w[0]).collect();
        if spacings.is_empty() {
            return None;
        }
        spacings.sort_by(f64::total_cmp);
        let n = spacings.len();
        let median = if n % 2 == 1 {
            spacings[n / 2]
        } else {
            0.5 * (spacings[n / 2 - 1] + spacings[n / 2])
        };
        // Strictly increasing timestamps make every spacing positive; a spacing can
        // still overflow to infinity between two huge timestamps of opposite sign.
        (median.is_finite() && median > 0.0).then_some(median)
    }

    /// The season candidates in use: the configured ones, else a day and a week at
    /// the tick interval, else [`UNTIMED_CANDIDATE_PERIODS`].
    pub fn candidate_periods(&self) -> Vec<usize> {
        if !self.config.candidate_periods.is_empty() {
            return self.config.candidate_periods.clone();
        }
        match self.tick_interval() {
            Some(interval) => calendar_periods(interval, MAX_SEASON_LENGTH),
            None if self.timestamps.is_empty() => UNTIMED_CANDIDATE_PERIODS.to_vec(),
            None => Vec::new(),
        }
    }

    /// Each tick's position on the clock, in intervals from the first tick: the
    /// spacing to the previous tick rounded to whole `interval`s (the median spacing),
    /// at least one. `None` when the ticks are consecutive (no timestamps, or no gap).
    fn clock_positions(&self, interval: f64) -> Result<Option<Vec<usize>>, Error> {
        let mut positions = Vec::with_capacity(self.timestamps.len());
        let mut position = 0usize;
        let mut gaps = false;
        for (i, &t) in self.timestamps.iter().enumerate() {
            if i > 0 {
                let steps = ((t - self.timestamps[i - 1]) / interval).round().max(1.0);
                gaps |= steps > 1.0;
                let room = (MAX_HISTORY_TICKS - position) as f64;
                if steps >= room {
                    return Err(Error::TooLarge {
                        what: "history ticks, gaps included",
                        got: MAX_HISTORY_TICKS.saturating_add(1),
                        limit: MAX_HISTORY_TICKS,
                    });
                }
                position += steps as usize;
            }
            positions.push(position);
        }
        Ok(gaps.then_some(positions))
    }

    /// Fits every series and segment model.
    pub fn build(&self) -> Result<BehaviorProfile, Error> {
        let nm = self.schema.n_metrics();
        let interval = self.tick_interval();
        let positions = match self.median_spacing() {
            Some(i) => self.clock_positions(i)?,
            None => None,
        };
        let candidates = self.candidate_periods();
        let mut segments = Vec::with_capacity(self.schema.n_segments());
        for s in 0..self.schema.n_segments() {
            let mut series = Vec::with_capacity(nm);
            for m in 0..nm {
                let column = &self.columns[s * nm + m];
                let profile = match &positions {
                    Some(p) => {
                        let mut aligned = vec![f64::NAN; p.last().map_or(0, |&l| l + 1)];
                        for (&at, &v) in p.iter().zip(column) {
                            aligned[at] = v;
                        }
                        self.fit_series(&aligned, &candidates)?
                    }
                    None => self.fit_series(column, &candidates)?,
                };
                series.push(profile);
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
            tick_interval: interval,
            feedback: Feedback::default(),
        })
    }

    fn fit_series(&self, y: &[f64], candidates: &[usize]) -> Result<SeriesProfile, Error> {
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
            Some(m) => (m, seasonal_strength(y, m).unwrap_or(0.0)),
            None => detect_season(y, candidates, self.config.seasonality_threshold),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::rng::Rng;
    use crate::schema::{Direction, MetricSpec, SchemaSpec, SegmentSpec};

    const DAY: usize = 1440;
    const T0: f64 = 1.7e9;

    fn schema() -> Schema {
        Schema::new(SchemaSpec {
            metrics: vec![
                MetricSpec::new("latency", Direction::IncreaseIsBad),
                MetricSpec::new("cpu", Direction::IncreaseIsBad),
            ],
            segments: vec![SegmentSpec {
                name: "all".into(),
                weight: 1.0,
            }],
            features: vec![],
        })
        .unwrap()
    }

    /// Two days of one-minute ticks: latency follows a daily cycle (at any lag much
    /// shorter than a day, a slowly varying level), cpu is noise.
    fn two_days() -> Vec<[f64; 2]> {
        let mut rng = Rng::new(11);
        (0..2 * DAY)
            .map(|t| {
                let phase = std::f64::consts::TAU * (t % DAY) as f64 / DAY as f64;
                [
                    120.0 + 40.0 * phase.sin() + 4.0 * rng.normal(),
                    0.4 + 0.02 * rng.normal(),
                ]
            })
            .collect()
    }

    fn no_autoencoder() -> ProfileConfig {
        ProfileConfig {
            autoencoder: None,
            ..ProfileConfig::default()
        }
    }

    #[test]
    fn a_daily_season_from_two_days_of_minute_ticks() {
        let mut b = ProfileBuilder::new(schema(), no_autoencoder()).unwrap();
        for (t, row) in two_days().iter().enumerate() {
            b.push_tick_at(T0 + 60.0 * t as f64, row).unwrap();
        }
        assert_eq!(b.tick_interval(), Some(60.0));
        // A day and a week at one-minute ticks; the week needs two weeks of history.
        assert_eq!(b.candidate_periods(), vec![DAY, 7 * DAY]);
        let p = b.build().unwrap();
        assert_eq!(p.tick_interval(), Some(60.0));
        let latency = p.series(0, 0).unwrap();
        assert_eq!(latency.detector.season_length(), DAY);
        assert!(latency.seasonality > 0.9, "{}", latency.seasonality);
        assert_eq!(p.series(0, 1).unwrap().detector.season_length(), 1);

        // Without timestamps the untimed candidates include 24 ticks, at which the
        // daily level correlates highly; the season test still finds the day.
        let mut untimed = ProfileBuilder::new(schema(), no_autoencoder()).unwrap();
        for row in two_days() {
            untimed.push_tick(&row).unwrap();
        }
        assert_eq!(untimed.tick_interval(), None);
        assert_eq!(
            untimed.candidate_periods(),
            UNTIMED_CANDIDATE_PERIODS.to_vec()
        );
        let p = untimed.build().unwrap();
        assert_eq!(p.tick_interval(), None);
        assert_eq!(p.series(0, 0).unwrap().detector.season_length(), DAY);
        assert_eq!(p.series(0, 1).unwrap().detector.season_length(), 1);
    }

    #[test]
    fn configured_candidates_win_over_the_calendar() {
        let cfg = ProfileConfig {
            candidate_periods: vec![24],
            ..no_autoencoder()
        };
        let mut b = ProfileBuilder::new(schema(), cfg).unwrap();
        for (t, row) in two_days().iter().enumerate() {
            b.push_tick_at(T0 + 60.0 * t as f64, row).unwrap();
        }
        assert_eq!(b.candidate_periods(), vec![24]);
        // 24 is offered, and refused: a slowly varying level is no 24-tick season.
        assert_eq!(
            b.build()
                .unwrap()
                .series(0, 0)
                .unwrap()
                .detector
                .season_length(),
            1
        );
    }

    #[test]
    fn bad_timestamps_are_refused_and_change_nothing() {
        let mut b = ProfileBuilder::new(schema(), no_autoencoder()).unwrap();
        b.push_tick_at(100.0, &[1.0, 2.0]).unwrap();
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert!(matches!(
                b.push_tick_at(bad, &[1.0, 2.0]),
                Err(Error::NonFinite { .. })
            ));
        }
        for (bad, err) in [(100.0, "duplicate"), (40.0, "decreasing")] {
            assert!(
                matches!(
                    b.push_tick_at(bad, &[1.0, 2.0]),
                    Err(Error::Timestamp { last, got }) if last == 100.0 && got == bad
                ),
                "{err}"
            );
        }
        assert!(matches!(
            b.push_tick(&[1.0, 2.0]),
            Err(Error::InvalidValue { .. })
        ));
        // A bad value rejects the tick before its timestamp is kept.
        assert!(matches!(
            b.push_tick_at(160.0, &[f64::INFINITY, 2.0]),
            Err(Error::NonFinite { .. })
        ));
        assert_eq!(b.ticks(), 1);
        assert_eq!(b.tick_interval(), None);
        b.push_tick_at(160.0, &[1.0, 2.0]).unwrap();
        assert_eq!(b.tick_interval(), Some(60.0));

        let mut untimed = ProfileBuilder::new(schema(), no_autoencoder()).unwrap();
        untimed.push_tick(&[1.0, 2.0]).unwrap();
        assert!(matches!(
            untimed.push_tick_at(10.0, &[1.0, 2.0]),
            Err(Error::InvalidValue { .. })
        ));
        assert_eq!(untimed.ticks(), 1);
    }

    #[test]
    fn gaps_keep_the_season_aligned_with_the_clock() {
        let rows = two_days();
        let hole = 1000..1180;
        // The same history twice: with three hours of ticks absent, and with those
        // ticks present but missing.
        let mut gappy = ProfileBuilder::new(schema(), ProfileConfig::default()).unwrap();
        let mut filled = ProfileBuilder::new(schema(), ProfileConfig::default()).unwrap();
        let mut rng = Rng::new(5);
        for (t, row) in rows.iter().enumerate() {
            // Timestamps jitter by up to 5 s around the minute.
            let at = T0 + 60.0 * t as f64 + 10.0 * (rng.uniform() - 0.5);
            if hole.contains(&t) {
                filled.push_tick_at(at, &[f64::NAN; 2]).unwrap();
            } else {
                gappy.push_tick_at(at, row).unwrap();
                filled.push_tick_at(at, row).unwrap();
            }
        }
        let interval = gappy.tick_interval().unwrap();
        assert!((interval - 60.0).abs() < 2.0, "{interval}");
        let (g, f) = (gappy.build().unwrap(), filled.build().unwrap());
        assert_eq!(g.series(0, 0).unwrap().detector.season_length(), DAY);
        assert_eq!(g.series(0, 0).unwrap().missing, hole.len() as u64);
        assert_eq!(g.segments(), f.segments());
        assert_eq!(g.history_ticks() + hole.len() as u64, f.history_ticks());
    }

    #[test]
    fn a_gap_beyond_the_history_limit_is_refused_at_build() {
        let mut b = ProfileBuilder::new(schema(), no_autoencoder()).unwrap();
        for t in 0..30 {
            b.push_tick_at(60.0 * t as f64, &[1.0 + t as f64, 2.0])
                .unwrap();
        }
        b.push_tick_at(1e12, &[1.0, 2.0]).unwrap();
        assert!(matches!(b.build(), Err(Error::TooLarge { .. })));
    }
}
