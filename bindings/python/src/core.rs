//! Every item this crate takes from the core, in one place: when the core moves an item,
//! this block is the only one to change.

pub(crate) use coalmine::detect::holt_winters::MAX_SEASON_LENGTH;
pub(crate) use coalmine::ndarray::Array2;
pub(crate) use coalmine::{
    Action, Analysis, AnalysisConfig, Anomaly, AnomalyColumns, AnomalyDetector, Autoencoder,
    AutoencoderConfig, BatchOptions, BehaviorProfile, Contributor, Decision, Direction, Error,
    Ewma, EwmaConfig, FeatureSpec, FeedbackConfig, FitOptions, HoltWinters, HoltWintersConfig,
    HoltWintersParams, MAX_ABS_VALUE, MAX_DOCUMENT_BYTES, MannWhitney, MannWhitneyScratch,
    MetricSpec, Outcome, PolicyConfig, ProfileBuilder, ProfileConfig, RiskConfig, RiskFactors,
    Schema, SchemaSpec, SegmentSpec, SequentialConfig, SequentialState, SequentialTest, Thresholds,
    Tick, TickBatch, TrafficConfig, VerdictReason, VerdictReport, mann_whitney_u,
};
