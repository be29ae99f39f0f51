//! What is measured: metrics, user segments and product features, named once and then
//! addressed by dense indices.
//!
//! A [`SchemaSpec`] is the plain, serialisable description (what a configuration file
//! holds). [`Schema::new`] validates it — unique names, known feature references,
//! positive weights, bounded sizes — and resolves every name to an index, so the hot
//! path works on slices and never looks a name up.

use serde::{Deserialize, Serialize};

use crate::Error;

/// The most metrics a schema may have.
pub const MAX_METRICS: usize = 4096;
/// The most segments a schema may have.
pub const MAX_SEGMENTS: usize = 4096;
/// The most (segment, metric) series a schema may have.
pub const MAX_SERIES: usize = 1 << 20;

/// Which way a metric goes when things go wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Higher is worse (errors, latency, CPU).
    IncreaseIsBad,
    /// Lower is worse (feature usage, session length, throughput).
    DecreaseIsBad,
    /// Either way is suspicious.
    #[default]
    Any,
}

impl Direction {
    /// +1 when increases are harmful, −1 when decreases are, 0 for either.
    pub fn sign(self) -> f64 {
        match self {
            Direction::IncreaseIsBad => 1.0,
            Direction::DecreaseIsBad => -1.0,
            Direction::Any => 0.0,
        }
    }
}

/// What values a metric can take; values outside are rejected as bad input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    /// Any real number.
    #[default]
    Gauge,
    /// A count or rate of events per tick: never negative.
    Count,
    /// A proportion in `[0, 1]` (error ratio, conversion).
    Ratio,
}

impl MetricKind {
    /// Checks a finite value against the kind.
    pub fn check(self, value: f64) -> Result<f64, Error> {
        match self {
            MetricKind::Count if value < 0.0 => Err(Error::InvalidValue {
                what: "count metric",
                value,
                reason: "counts cannot be negative",
            }),
            MetricKind::Ratio if !(0.0..=1.0).contains(&value) => Err(Error::InvalidValue {
                what: "ratio metric",
                value,
                reason: "ratios lie in [0, 1]",
            }),
            _ => Ok(value),
        }
    }
}

fn one() -> f64 {
    1.0
}

/// One metric, as configured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricSpec {
    /// Unique name.
    pub name: String,
    /// Which way is harmful.
    #[serde(default)]
    pub direction: Direction,
    /// What values it can take.
    #[serde(default)]
    pub kind: MetricKind,
    /// Criticality weight (> 0, default 1): how much this metric's anomalies matter.
    #[serde(default = "one")]
    pub weight: f64,
    /// The product feature this metric measures, if any (a name from `features`).
    #[serde(default)]
    pub feature: Option<String>,
    /// A critical metric's own significant anomaly forces a rollback.
    #[serde(default)]
    pub critical: bool,
    /// A hard limit in the metric's units (for example a memory limit); the risk
    /// prediction estimates when the canary would cross it.
    #[serde(default)]
    pub limit: Option<f64>,
}

impl MetricSpec {
    /// A metric with defaults: direction `Any`, kind `Gauge`, weight 1.
    pub fn new(name: impl Into<String>, direction: Direction) -> Self {
        MetricSpec {
            name: name.into(),
            direction,
            kind: MetricKind::Gauge,
            weight: 1.0,
            feature: None,
            critical: false,
            limit: None,
        }
    }
}

/// One user segment (aggregated: never a single user).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentSpec {
    /// Unique name.
    pub name: String,
    /// Business weight (> 0): how much harm to these users matters.
    #[serde(default = "one")]
    pub weight: f64,
}

/// One product feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureSpec {
    /// Unique name.
    pub name: String,
    /// Criticality (> 0): anomalies in this feature's metrics weigh this much more.
    #[serde(default = "one")]
    pub weight: f64,
}

/// One series of a schema: a (segment, metric) pair of indices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SeriesId {
    /// Segment index.
    pub segment: usize,
    /// Metric index.
    pub metric: usize,
}

/// The serialisable description of a schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SchemaSpec {
    /// The metrics, in index order.
    pub metrics: Vec<MetricSpec>,
    /// The user segments, in index order.
    pub segments: Vec<SegmentSpec>,
    /// The features metrics may refer to.
    #[serde(default)]
    pub features: Vec<FeatureSpec>,
}

impl SchemaSpec {
    /// Checks the description as [`Schema::new`] does, without keeping the result.
    pub fn validate(&self) -> Result<(), Error> {
        Schema::new(self.clone()).map(|_| ())
    }
}

/// A validated schema with names resolved to dense indices.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    spec: SchemaSpec,
    metric_feature: Vec<Option<usize>>,
    segment_share: Vec<f64>,
    criticality: Vec<f64>,
}

fn positive(name: &'static str, w: f64) -> Result<(), Error> {
    if w.is_finite() && w > 0.0 {
        Ok(())
    } else {
        Err(Error::param(name, w, "weights must be finite and > 0"))
    }
}

fn unique<'a>(what: &'static str, names: impl Iterator<Item = &'a str>) -> Result<(), Error> {
    let mut seen: Vec<&str> = names.collect();
    seen.sort_unstable();
    match seen.windows(2).find(|w| w[0] == w[1]) {
        Some(w) => Err(Error::Duplicate {
            what,
            name: w[0].to_string(),
        }),
        None => Ok(()),
    }
}

impl Schema {
    /// Validates `spec` and resolves its names.
    pub fn new(spec: SchemaSpec) -> Result<Self, Error> {
        if spec.metrics.is_empty() {
            return Err(Error::InsufficientData {
                what: "schema metrics",
                needed: 1,
                got: 0,
            });
        }
        if spec.segments.is_empty() {
            return Err(Error::InsufficientData {
                what: "schema segments",
                needed: 1,
                got: 0,
            });
        }
        for (what, got, limit) in [
            ("metrics", spec.metrics.len(), MAX_METRICS),
            ("segments", spec.segments.len(), MAX_SEGMENTS),
            ("features", spec.features.len(), MAX_METRICS),
            (
                "segments x metrics",
                spec.metrics.len().saturating_mul(spec.segments.len()),
                MAX_SERIES,
            ),
        ] {
            if got > limit {
                return Err(Error::TooLarge { what, got, limit });
            }
        }
        unique("metric", spec.metrics.iter().map(|m| m.name.as_str()))?;
        unique("segment", spec.segments.iter().map(|s| s.name.as_str()))?;
        unique("feature", spec.features.iter().map(|f| f.name.as_str()))?;
        for s in &spec.segments {
            positive("segment weight", s.weight)?;
        }
        for f in &spec.features {
            positive("feature weight", f.weight)?;
        }
        let mut metric_feature = Vec::with_capacity(spec.metrics.len());
        for m in &spec.metrics {
            positive("metric weight", m.weight)?;
            if let Some(limit) = m.limit {
                Error::check_value("metric limit", limit)?;
            }
            let feature = match &m.feature {
                None => None,
                Some(name) => Some(
                    spec.features
                        .iter()
                        .position(|f| &f.name == name)
                        .ok_or_else(|| Error::UnknownName {
                            what: "feature",
                            name: name.clone(),
                        })?,
                ),
            };
            metric_feature.push(feature);
        }
        let total: f64 = spec.segments.iter().map(|s| s.weight).sum();
        let segment_share = spec.segments.iter().map(|s| s.weight / total).collect();
        let raw: Vec<f64> = spec
            .metrics
            .iter()
            .zip(&metric_feature)
            .map(|(m, f)| m.weight * f.map_or(1.0, |f| spec.features[f].weight))
            .collect();
        let max = raw.iter().cloned().fold(0.0, f64::max);
        let criticality = raw.iter().map(|c| c / max).collect();
        Ok(Schema {
            spec,
            metric_feature,
            segment_share,
            criticality,
        })
    }

    /// The description this schema was built from.
    pub fn spec(&self) -> &SchemaSpec {
        &self.spec
    }

    /// Number of metrics.
    pub fn n_metrics(&self) -> usize {
        self.spec.metrics.len()
    }

    /// Number of segments.
    pub fn n_segments(&self) -> usize {
        self.spec.segments.len()
    }

    /// Number of features.
    pub fn n_features(&self) -> usize {
        self.spec.features.len()
    }

    /// Metric `i`.
    ///
    /// # Panics
    ///
    /// If `i >= n_metrics()`; [`get_metric`](Self::get_metric) is the checked twin.
    pub fn metric(&self, i: usize) -> &MetricSpec {
        &self.spec.metrics[i]
    }

    /// Metric `i`, or `None` when `i >= n_metrics()`.
    pub fn get_metric(&self, i: usize) -> Option<&MetricSpec> {
        self.spec.metrics.get(i)
    }

    /// Segment `s`.
    ///
    /// # Panics
    ///
    /// If `s >= n_segments()`; [`get_segment`](Self::get_segment) is the checked twin.
    pub fn segment(&self, s: usize) -> &SegmentSpec {
        &self.spec.segments[s]
    }

    /// Segment `s`, or `None` when `s >= n_segments()`.
    pub fn get_segment(&self, s: usize) -> Option<&SegmentSpec> {
        self.spec.segments.get(s)
    }

    /// Feature `f`.
    ///
    /// # Panics
    ///
    /// If `f >= n_features()`; [`get_feature`](Self::get_feature) is the checked twin.
    pub fn feature(&self, f: usize) -> &FeatureSpec {
        &self.spec.features[f]
    }

    /// Feature `f`, or `None` when `f >= n_features()`.
    pub fn get_feature(&self, f: usize) -> Option<&FeatureSpec> {
        self.spec.features.get(f)
    }

    /// Index of the metric called `name`.
    pub fn metric_index(&self, name: &str) -> Result<usize, Error> {
        self.spec
            .metrics
            .iter()
            .position(|m| m.name == name)
            .ok_or_else(|| Error::UnknownName {
                what: "metric",
                name: name.to_string(),
            })
    }

    /// Index of the segment called `name`.
    pub fn segment_index(&self, name: &str) -> Result<usize, Error> {
        self.spec
            .segments
            .iter()
            .position(|s| s.name == name)
            .ok_or_else(|| Error::UnknownName {
                what: "segment",
                name: name.to_string(),
            })
    }

    /// The feature metric `i` belongs to; `None` when it has none or `i` is out of
    /// range.
    pub fn metric_feature(&self, i: usize) -> Option<usize> {
        self.metric_feature.get(i).copied().flatten()
    }

    /// Segment `s`'s share of the total segment weight (the shares sum to 1).
    pub(crate) fn segment_share(&self, s: usize) -> f64 {
        self.segment_share[s]
    }

    /// Metric `i`'s criticality in `(0, 1]`: its weight times its feature's weight,
    /// relative to the most critical metric.
    pub(crate) fn criticality(&self, i: usize) -> f64 {
        self.criticality[i]
    }

    /// Length of a dense tick slice: segments × metrics, segment-major
    /// (`values[s * n_metrics + m]`).
    pub fn tick_len(&self) -> usize {
        self.n_metrics() * self.n_segments()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> SchemaSpec {
        let mut checkout = MetricSpec::new("checkout_calls", Direction::DecreaseIsBad);
        checkout.feature = Some("checkout".into());
        checkout.kind = MetricKind::Count;
        SchemaSpec {
            metrics: vec![
                MetricSpec::new("error_rate", Direction::IncreaseIsBad),
                checkout,
                MetricSpec::new("cpu", Direction::Any),
            ],
            segments: vec![
                SegmentSpec {
                    name: "enterprise".into(),
                    weight: 3.0,
                },
                SegmentSpec {
                    name: "free".into(),
                    weight: 1.0,
                },
            ],
            features: vec![FeatureSpec {
                name: "checkout".into(),
                weight: 2.0,
            }],
        }
    }

    #[test]
    fn resolves_names_and_weights() {
        let s = Schema::new(spec()).unwrap();
        assert_eq!(s.metric_index("cpu").unwrap(), 2);
        assert_eq!(s.segment_index("free").unwrap(), 1);
        assert_eq!(s.metric_feature(1), Some(0));
        assert_eq!(s.segment_share(0), 0.75);
        assert_eq!(s.criticality(1), 1.0);
        assert_eq!(s.criticality(0), 0.5);
        assert_eq!(s.tick_len(), 6);
        assert!(matches!(
            s.metric_index("nope"),
            Err(Error::UnknownName { .. })
        ));
    }

    #[test]
    fn checked_accessors_say_none_beyond_the_end() {
        let s = Schema::new(spec()).unwrap();
        assert_eq!(s.get_metric(2).map(|m| m.name.as_str()), Some("cpu"));
        assert_eq!(s.get_segment(1).map(|g| g.name.as_str()), Some("free"));
        assert_eq!(s.get_feature(0).map(|f| f.name.as_str()), Some("checkout"));
        assert!(s.get_metric(3).is_none() && s.get_segment(2).is_none());
        assert!(s.get_feature(1).is_none());
        assert_eq!(s.metric_feature(3), None);
    }

    #[test]
    fn invalid_schemas_are_typed_errors() {
        let mut dup = spec();
        dup.metrics.push(MetricSpec::new("cpu", Direction::Any));
        assert!(matches!(
            Schema::new(dup),
            Err(Error::Duplicate { what: "metric", .. })
        ));
        let mut dup = spec();
        dup.segments.push(SegmentSpec {
            name: "free".into(),
            weight: 1.0,
        });
        assert!(matches!(
            Schema::new(dup),
            Err(Error::Duplicate {
                what: "segment",
                ..
            })
        ));
        let mut unknown = spec();
        unknown.metrics[0].feature = Some("search".into());
        assert!(matches!(
            Schema::new(unknown),
            Err(Error::UnknownName {
                what: "feature",
                ..
            })
        ));
        for w in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let mut bad = spec();
            bad.segments[0].weight = w;
            assert!(Schema::new(bad).is_err());
            let mut bad = spec();
            bad.metrics[0].weight = w;
            assert!(Schema::new(bad).is_err());
            let mut bad = spec();
            bad.features[0].weight = w;
            assert!(Schema::new(bad).is_err());
        }
        assert!(
            Schema::new(SchemaSpec {
                metrics: vec![],
                ..spec()
            })
            .is_err()
        );
        let huge = SchemaSpec {
            metrics: (0..MAX_METRICS + 1)
                .map(|i| MetricSpec::new(format!("m{i}"), Direction::Any))
                .collect(),
            ..spec()
        };
        assert!(matches!(Schema::new(huge), Err(Error::TooLarge { .. })));
    }

    #[test]
    fn kinds_reject_impossible_values() {
        assert!(MetricKind::Count.check(-1.0).is_err());
        assert!(MetricKind::Count.check(0.0).is_ok());
        assert!(MetricKind::Ratio.check(1.5).is_err());
        assert!(MetricKind::Gauge.check(-1e9).is_ok());
    }

    #[test]
    fn spec_parses_from_json_with_defaults_and_rejects_unknown_keys() {
        let s: SchemaSpec = serde_json::from_str(
            r#"{"metrics":[{"name":"latency","direction":"increase_is_bad"}],
                "segments":[{"name":"all"}]}"#,
        )
        .unwrap();
        assert_eq!(s.metrics[0].weight, 1.0);
        assert_eq!(s.metrics[0].direction, Direction::IncreaseIsBad);
        let err = serde_json::from_str::<SchemaSpec>(
            r#"{"metrics":[{"name":"x","colour":"red"}],"segments":[]}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("colour"));
    }
}
