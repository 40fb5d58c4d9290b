//! Replica bounds and the metric that drives autoscaling, with Run:ai's documented defaults.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::validate::{Checker, is_metric_name};

/// The default `metricThresholdPercentage`: the autoscaler targets 70 % of `metricThreshold`.
///
/// ```
/// use runai_core::spec::{AutoScaling, Metric, DEFAULT_METRIC_THRESHOLD_PERCENTAGE};
/// let s = AutoScaling { metric: Some(Metric::Throughput), ..Default::default() };
/// assert_eq!(s.with_defaults().metric_threshold_percentage, Some(DEFAULT_METRIC_THRESHOLD_PERCENTAGE));
/// ```
pub const DEFAULT_METRIC_THRESHOLD_PERCENTAGE: f64 = 70.0;
/// The most seconds `scaleToZeroRetentionSeconds` and `scaleDownDelaySeconds` accept.
///
/// ```
/// use runai_core::{Validate, spec::{AutoScaling, MAX_DELAY_SECONDS}};
/// let s = AutoScaling { scale_down_delay_seconds: Some(MAX_DELAY_SECONDS + 1), ..Default::default() };
/// assert!(s.validate().is_err());
/// ```
pub const MAX_DELAY_SECONDS: i32 = 3600;

/// Autoscaling settings of an inference workload, as sent on the wire (every field optional).
///
/// Defaults are not applied while parsing; call [`AutoScaling::with_defaults`] for the
/// spec the platform will run, or [`AutoScaling::resolve`] for plain numbers.
///
/// ```
/// use runai_core::spec::{AutoScaling, Metric};
/// let scaling = AutoScaling {
///     min_replicas: Some(0),
///     max_replicas: Some(4),
///     metric: Some(Metric::Concurrency),
///     metric_threshold: Some(8),
///     ..Default::default()
/// };
/// let resolved = scaling.resolve();
/// assert_eq!(resolved.initial_replicas, 1);
/// assert_eq!(resolved.metric_threshold_percentage, 70.0);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AutoScaling {
    /// Target share of `metricThreshold`, 1..=100 (default 70); throughput and concurrency only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric_threshold_percentage: Option<f64>,
    /// Fewest replicas (default 1); 0 enables scale to zero.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_replicas: Option<i32>,
    /// Most replicas (default: `minReplicas`, or 1 when that is 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_replicas: Option<i32>,
    /// Replicas started when the workload is created (default: `minReplicas`, or 1 when 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial_replicas: Option<i32>,
    /// Replicas started when scaling up from zero (default: `minReplicas`, or 1 when 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activation_replicas: Option<i32>,
    /// Most requests in flight per replica; 0 (the default) means unlimited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency_hard_limit: Option<i32>,
    /// How long the last replica stays after a scale-to-zero decision, 0..=3600 s.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale_to_zero_retention_seconds: Option<i32>,
    /// The least time a replica stays after a scale-down decision, 0..=3600 s.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale_down_delay_seconds: Option<i32>,
    /// Deprecated and ignored by the platform; use `servingConfiguration.initializationTimeoutSeconds`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initialization_timeout_seconds: Option<i32>,
    /// The metric that drives scaling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<Metric>,
    /// The per-replica target value of `metric` (milliseconds for latency, requests per
    /// second for throughput, requests for concurrency).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric_threshold: Option<i32>,
}

/// The metric an inference workload scales on.
///
/// ```
/// use runai_core::spec::Metric;
/// let custom: Metric = serde_json::from_str(r#""vllm:num_requests_waiting""#).unwrap();
/// assert_eq!(custom, Metric::Custom("vllm:num_requests_waiting".into()));
/// assert!(Metric::Throughput.allows_scale_to_zero());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Metric {
    /// Requests per second per replica.
    Throughput,
    /// Requests in flight per replica.
    Concurrency,
    /// Response latency in milliseconds.
    Latency,
    /// Any other name is a custom Prometheus metric.
    Custom(String),
}

impl Metric {
    /// The wire spelling.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::Throughput => "throughput",
            Self::Concurrency => "concurrency",
            Self::Latency => "latency",
            Self::Custom(name) => name,
        }
    }

    /// Only request-driven metrics can wake a workload from zero.
    #[must_use]
    pub fn allows_scale_to_zero(&self) -> bool {
        matches!(self, Self::Throughput | Self::Concurrency)
    }
}

impl From<&str> for Metric {
    fn from(name: &str) -> Self {
        match name {
            "throughput" => Self::Throughput,
            "concurrency" => Self::Concurrency,
            "latency" => Self::Latency,
            other => Self::Custom(other.to_owned()),
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Metric {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Metric {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Ok(Self::from(name.as_ref()))
    }
}

impl JsonSchema for Metric {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Metric".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[a-zA-Z_:][a-zA-Z0-9_:]*$",
            "description": "throughput, concurrency, latency, or the name of a custom Prometheus metric.",
        })
    }
}

/// Autoscaling with every default applied, as plain numbers for the engines.
///
/// ```
/// use runai_core::spec::AutoScaling;
/// let resolved = AutoScaling::default().resolve();
/// assert_eq!((resolved.min_replicas, resolved.max_replicas), (1, 1));
/// assert_eq!(resolved.concurrency_hard_limit, None);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ResolvedAutoscaling {
    /// Fewest replicas.
    pub min_replicas: u32,
    /// Most replicas.
    pub max_replicas: u32,
    /// Replicas at creation.
    pub initial_replicas: u32,
    /// Replicas when scaling up from zero.
    pub activation_replicas: u32,
    /// Requests in flight per replica, `None` when unlimited.
    pub concurrency_hard_limit: Option<u32>,
    /// The scaling metric, `None` when replicas are fixed or follow network activity.
    pub metric: Option<Metric>,
    /// Per-replica target of the metric.
    pub metric_threshold: Option<i32>,
    /// Share of the threshold to aim at, in percent.
    pub metric_threshold_percentage: f64,
    /// Seconds the last replica stays after a scale-to-zero decision.
    pub scale_to_zero_retention_seconds: u32,
    /// Seconds a replica stays after a scale-down decision.
    pub scale_down_delay_seconds: u32,
}

impl AutoScaling {
    /// The spec with Run:ai's documented defaults filled in. Fields that were set stay as they
    /// are; the deprecated `initializationTimeoutSeconds` is left untouched.
    #[must_use]
    pub fn with_defaults(&self) -> Self {
        let min = self.min_replicas.unwrap_or(1);
        let from_min = if min == 0 { 1 } else { min };
        let percentage_applies = self.metric.as_ref().is_some_and(Metric::allows_scale_to_zero);
        Self {
            min_replicas: Some(min),
            max_replicas: Some(self.max_replicas.unwrap_or(from_min)),
            initial_replicas: Some(self.initial_replicas.unwrap_or(from_min)),
            activation_replicas: Some(self.activation_replicas.unwrap_or(from_min)),
            concurrency_hard_limit: Some(self.concurrency_hard_limit.unwrap_or(0)),
            scale_to_zero_retention_seconds: Some(self.scale_to_zero_retention_seconds.unwrap_or(0)),
            scale_down_delay_seconds: Some(self.scale_down_delay_seconds.unwrap_or(0)),
            metric_threshold_percentage: self
                .metric_threshold_percentage
                .or(percentage_applies.then_some(DEFAULT_METRIC_THRESHOLD_PERCENTAGE)),
            ..self.clone()
        }
    }

    /// The defaults applied and converted to plain numbers. Call it on a validated spec:
    /// negative values are read as 0.
    #[must_use]
    pub fn resolve(&self) -> ResolvedAutoscaling {
        let full = self.with_defaults();
        let count = |v: Option<i32>| v.map_or(0, |v| u32::try_from(v).unwrap_or(0));
        ResolvedAutoscaling {
            min_replicas: count(full.min_replicas),
            max_replicas: count(full.max_replicas),
            initial_replicas: count(full.initial_replicas),
            activation_replicas: count(full.activation_replicas),
            concurrency_hard_limit: Some(count(full.concurrency_hard_limit)).filter(|limit| *limit > 0),
            metric: full.metric,
            metric_threshold: full.metric_threshold,
            metric_threshold_percentage: full
                .metric_threshold_percentage
                .unwrap_or(DEFAULT_METRIC_THRESHOLD_PERCENTAGE),
            scale_to_zero_retention_seconds: count(full.scale_to_zero_retention_seconds),
            scale_down_delay_seconds: count(full.scale_down_delay_seconds),
        }
    }

    pub(crate) fn check(&self, c: &mut Checker) {
        c.at_least("minReplicas", self.min_replicas, 0);
        c.at_least("maxReplicas", self.max_replicas, 1);
        c.at_least("initialReplicas", self.initial_replicas, 0);
        c.at_least("activationReplicas", self.activation_replicas, 1);
        c.at_least("concurrencyHardLimit", self.concurrency_hard_limit, 0);
        c.at_least("metricThreshold", self.metric_threshold, 1);
        c.at_least(
            "initializationTimeoutSeconds",
            self.initialization_timeout_seconds,
            1,
        );
        c.range(
            "scaleToZeroRetentionSeconds",
            self.scale_to_zero_retention_seconds,
            0,
            MAX_DELAY_SECONDS,
        );
        c.range(
            "scaleDownDelaySeconds",
            self.scale_down_delay_seconds,
            0,
            MAX_DELAY_SECONDS,
        );
        c.range(
            "metricThresholdPercentage",
            self.metric_threshold_percentage,
            1.0,
            100.0,
        );

        let full = self.with_defaults();
        let min = full.min_replicas.unwrap_or(1);
        let max = full.max_replicas.unwrap_or(1);
        if self.max_replicas.is_some() && min >= 0 && max < min {
            c.at(
                "maxReplicas",
                format!("must be >= minReplicas ({min}), got {max}"),
            );
        }
        for (name, value) in [
            ("initialReplicas", self.initial_replicas),
            ("activationReplicas", self.activation_replicas),
        ] {
            if let Some(value) = value
                && value > max
                && max >= 1
            {
                c.at(name, format!("must be <= maxReplicas ({max}), got {value}"));
            }
        }

        match &self.metric {
            Some(Metric::Custom(name)) if !is_metric_name(name) => c.at(
                "metric",
                format!(
                    "`{name}` is not a metric name; use throughput, concurrency, latency or a Prometheus \
                     metric name matching ^[a-zA-Z_:][a-zA-Z0-9_:]*$"
                ),
            ),
            Some(metric) => {
                if self.metric_threshold.is_none() {
                    c.at("metricThreshold", format!("is required when metric is set (metric is `{metric}`)"));
                }
                if min == 0 && !metric.allows_scale_to_zero() {
                    c.at(
                        "minReplicas",
                        format!("is 0 but metric `{metric}` cannot scale to zero; use throughput or concurrency, or set minReplicas >= 1"),
                    );
                }
                if self.metric_threshold_percentage.is_some() && !metric.allows_scale_to_zero() {
                    c.at(
                        "metricThresholdPercentage",
                        format!("applies only to throughput and concurrency, not `{metric}`"),
                    );
                }
            }
            // Fixed replicas, or 0..1 where the activator follows network activity.
            None if min < max && !(min == 0 && max == 1) => c.at(
                "metric",
                format!("is required when minReplicas ({min}) < maxReplicas ({max}); use throughput, concurrency, latency or a custom metric"),
            ),
            None => {}
        }
        if self.scale_to_zero_retention_seconds.is_some_and(|s| s > 0) && min != 0 {
            c.at(
                "scaleToZeroRetentionSeconds",
                format!("applies only when minReplicas is 0 (it is {min})"),
            );
        }
    }
}

/// Timeouts of the serving process.
///
/// ```
/// use runai_core::spec::ServingConfiguration;
/// let timeouts = ServingConfiguration { initialization_timeout_seconds: Some(1800), request_timeout_seconds: Some(600) };
/// assert_eq!(serde_json::to_value(&timeouts).unwrap()["requestTimeoutSeconds"], 600);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServingConfiguration {
    /// The workload fails if it is not ready within this many seconds (>= 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initialization_timeout_seconds: Option<i32>,
    /// The most seconds one end-user request may take (>= 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_timeout_seconds: Option<i32>,
}

impl ServingConfiguration {
    pub(crate) fn check(&self, c: &mut Checker) {
        c.at_least(
            "initializationTimeoutSeconds",
            self.initialization_timeout_seconds,
            1,
        );
        c.at_least("requestTimeoutSeconds", self.request_timeout_seconds, 1);
    }
}
