//! Every item this crate takes from the core, in one place, so that a move inside the
//! core is a change here and nowhere else.

pub(crate) use coalmine::analysis::{Analysis, AnalysisConfig, Decision, Tick};
pub(crate) use coalmine::policy::{Action, AlertSeverity, Reason};
pub(crate) use coalmine::risk::{Contributor, Source};
pub(crate) use coalmine::schema::Schema;
pub(crate) use coalmine::traffic::Phase;
pub(crate) use coalmine::{
    Anomaly, AnomalyDetector, BehaviorProfile, Error, Ewma, EwmaConfig, FitOptions, HoltWinters,
    HoltWintersConfig, ProfileBuilder, ProfileConfig, SchemaSpec,
};
