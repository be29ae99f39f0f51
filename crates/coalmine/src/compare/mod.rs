//! Stage 3, comparison: the canary against the concurrent control cohort.
//!
//! - [`sequential`]: [`SequentialTest`], the mixture sequential probability ratio test
//!   on per-tick canary-minus-control differences, whose false-positive rate holds
//!   however often it is checked. The risk engine runs one per series, every tick.
//! - [`rank`]: [`mann_whitney_u`] and [`hodges_lehmann`], rank statistics of two whole
//!   samples in the manner of Kayenta's judge. They are *offline*: for judging a window
//!   after the fact, not for the per-tick path, where a repeated fixed-horizon test
//!   would raise false alarms far above its level.

pub mod rank;
pub mod sequential;

pub use rank::{
    MAX_PAIRS, MAX_RANK_SAMPLES, MannWhitney, MannWhitneyScratch, ShiftEstimate, hodges_lehmann,
    mann_whitney_u, relative_shift,
};
pub use sequential::{
    Direction, MAX_REQUIRED_SAMPLES, SequentialConfig, SequentialState, SequentialTest,
    required_samples,
};
