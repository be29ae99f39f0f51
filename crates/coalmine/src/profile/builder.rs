//! Learning a profile: the settings, and the builder that takes history tick by tick
//! and fits every series and segment model.

use serde::{Deserialize, Serialize};

use super::season::{autocorrelation, detect_season};
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
