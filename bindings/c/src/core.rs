//! Every item this crate takes from the core, in one place, so that a move inside the
//! core is a change here and nowhere else. All of them are re-exported at the core's
//! root.

pub(crate) use coalmine::{
    Action, AlertSeverity, Analysis, AnalysisConfig, Anomaly, AnomalyColumns, AnomalyDetector,
    BatchOptions, BehaviorProfile, Contributor, Decision, Error, Ewma, EwmaConfig, FitOptions,
    HoltWinters, HoltWintersConfig, Phase, ProfileBuilder, ProfileConfig, Reason, Schema,
    SchemaSpec, Source, Tick, TickBatch, Verdict, VerdictReason, VerdictReport,
};
