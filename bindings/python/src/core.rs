//! Every item this crate takes from the core, in one place: when the core moves an item,
//! this block is the only one to change.

pub(crate) use coalmine::analysis::{Analysis, AnalysisConfig, Decision, Tick};
pub(crate) use coalmine::comparison::{
    MannWhitney, MannWhitneyScratch, SequentialConfig, SequentialState, SequentialTest,
    mann_whitney_u,
};
pub(crate) use coalmine::feedback::Outcome;
pub(crate) use coalmine::holt_winters::MAX_SEASON_LENGTH;
pub(crate) use coalmine::ndarray::Array2;
pub(crate) use coalmine::policy::{Action, Level, PolicyConfig};
pub(crate) use coalmine::profile::MAX_PROFILE_BYTES;
pub(crate) use coalmine::risk::{Contributor, RiskConfig, RiskFactors};
pub(crate) use coalmine::schema::FeatureSpec;
pub(crate) use coalmine::traffic::{TrafficConfig, TrafficController};
pub(crate) use coalmine::{
    Anomaly, AnomalyDetector, Autoencoder, AutoencoderConfig, BehaviorProfile, Direction, Error,
    Ewma, EwmaConfig, FitOptions, HoltWinters, HoltWintersConfig, HoltWintersParams, MAX_ABS_VALUE,
    MetricSpec, ProfileBuilder, ProfileConfig, Schema, SchemaSpec, SegmentSpec,
};
