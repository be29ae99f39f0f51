//! The serialised form of an [`Autoencoder`]: weights as matrices, checked on the way
//! in so that a corrupt file is an error, never a broken model.

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::calibration::check_calibration;
use super::net::Net;
use super::{Autoencoder, AutoencoderConfig, MAX_CALIBRATION, MIN_SCALE, check_dim};
use crate::Error;

/// The serialised form of an [`Autoencoder`], checked on the way in.
#[derive(Serialize, Deserialize)]
pub(super) struct AutoencoderState {
    config: AutoencoderConfig,
    center: Vec<f64>,
    scale: Vec<f64>,
    /// `hidden x dim`.
    w1: Array2<f64>,
    b1: Vec<f64>,
    /// `dim x hidden`.
    w2: Array2<f64>,
    b2: Vec<f64>,
    /// Sorted ascending.
    holdout_errors: Vec<f64>,
    observations: u64,
}

impl From<Autoencoder> for AutoencoderState {
    fn from(m: Autoencoder) -> Self {
        let (w1, w2) = m.net.matrices();
        AutoencoderState {
            config: m.config,
            center: m.center,
            scale: m.scale,
            w1,
            b1: m.net.b1,
            w2,
            b2: m.net.b2,
            holdout_errors: m.holdout,
            observations: m.observations,
        }
    }
}

impl TryFrom<AutoencoderState> for Autoencoder {
    type Error = Error;

    fn try_from(s: AutoencoderState) -> Result<Self, Error> {
        let dim = s.center.len();
        let hidden = s.config.hidden;
        check_dim(dim)?;
        if hidden == 0 {
            // A trained model stores its resolved width; 0 ("automatic") means the file
            // was not written by `Autoencoder`.
            return Err(Error::param(
                "hidden",
                0.0,
                "a trained model has a hidden layer",
            ));
        }
        s.config.validate_for(dim)?;
        let lengths = [
            ("autoencoder scale", dim, s.scale.len()),
            ("autoencoder b1", hidden, s.b1.len()),
            ("autoencoder b2", dim, s.b2.len()),
            ("autoencoder w1 rows", hidden, s.w1.nrows()),
            ("autoencoder w1 columns", dim, s.w1.ncols()),
            ("autoencoder w2 rows", dim, s.w2.nrows()),
            ("autoencoder w2 columns", hidden, s.w2.ncols()),
        ];
        for (what, expected, got) in lengths {
            if expected != got {
                return Err(Error::LengthMismatch {
                    what,
                    expected,
                    got,
                });
            }
        }
        for &v in &s.center {
            Error::check_value("autoencoder center", v)?;
        }
        for &v in &s.scale {
            if !(v.is_finite() && v >= MIN_SCALE) {
                return Err(Error::param("scale", v, "must be finite and at least 1e-9"));
            }
        }
        for &v in s.w1.iter().chain(&s.b1).chain(s.w2.iter()).chain(&s.b2) {
            Error::check_value("autoencoder weight", v)?;
        }
        if s.holdout_errors.len() > MAX_CALIBRATION {
            return Err(Error::TooLarge {
                what: "autoencoder calibration errors",
                got: s.holdout_errors.len(),
                limit: MAX_CALIBRATION,
            });
        }
        check_calibration(&s.holdout_errors)?;
        // Logical (row-major) order, whatever the memory layout.
        let net = Net {
            dim,
            w1: s.w1.iter().copied().collect(),
            b1: s.b1,
            w2: s.w2.iter().copied().collect(),
            b2: s.b2,
        };
        Ok(Self::assemble(
            s.config,
            s.center,
            s.scale,
            net,
            s.holdout_errors,
            s.observations,
        ))
    }
}
