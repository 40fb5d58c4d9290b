//! The metrics endpoints: `GET /api/v1/workloads/inferences/{id}/metrics` and friends.
//! Values arrive as strings; a 207 status carries the same body with partial data.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

open_enum! {
    /// Metric types of the inference metrics endpoint.
    ///
    /// ```
    /// use runai_core::InferenceMetricType;
    /// assert_eq!(InferenceMetricType::Throughput.as_str(), "THROUGHPUT");
    /// ```
    pub enum InferenceMetricType {
        /// Requests per second.
        Throughput => "THROUGHPUT",
        /// Response latency.
        Latency => "LATENCY",
    }
}

open_enum! {
    /// Metric types of the general workload metrics endpoint.
    ///
    /// ```
    /// use runai_core::WorkloadMetricType;
    /// let t: WorkloadMetricType = serde_json::from_str(r#""NIM_GPU_CACHE_USAGE_PERC""#).unwrap();
    /// assert_eq!(t, WorkloadMetricType::NimGpuCacheUsagePerc);
    /// ```
    pub enum WorkloadMetricType {
        /// GPU utilisation, percent.
        GpuUtilization => "GPU_UTILIZATION",
        /// GPU memory used, bytes.
        GpuMemoryUsageBytes => "GPU_MEMORY_USAGE_BYTES",
        /// GPU memory requested, bytes.
        GpuMemoryRequestBytes => "GPU_MEMORY_REQUEST_BYTES",
        /// CPU used, cores.
        CpuUsageCores => "CPU_USAGE_CORES",
        /// CPU requested, cores.
        CpuRequestCores => "CPU_REQUEST_CORES",
        /// CPU limit, cores.
        CpuLimitCores => "CPU_LIMIT_CORES",
        /// Memory used, bytes.
        CpuMemoryUsageBytes => "CPU_MEMORY_USAGE_BYTES",
        /// Memory requested, bytes.
        CpuMemoryRequestBytes => "CPU_MEMORY_REQUEST_BYTES",
        /// Memory limit, bytes.
        CpuMemoryLimitBytes => "CPU_MEMORY_LIMIT_BYTES",
        /// Pods.
        PodCount => "POD_COUNT",
        /// Running pods.
        RunningPodCount => "RUNNING_POD_COUNT",
        /// GPUs allocated.
        GpuAllocation => "GPU_ALLOCATION",
        /// NIM requests running.
        NimNumRequestsRunning => "NIM_NUM_REQUESTS_RUNNING",
        /// NIM requests waiting.
        NimNumRequestsWaiting => "NIM_NUM_REQUESTS_WAITING",
        /// NIM most concurrent requests.
        NimNumRequestMax => "NIM_NUM_REQUEST_MAX",
        /// NIM successful requests.
        NimRequestSuccessTotal => "NIM_REQUEST_SUCCESS_TOTAL",
        /// NIM failed requests.
        NimRequestFailureTotal => "NIM_REQUEST_FAILURE_TOTAL",
        /// NIM KV-cache use, percent.
        NimGpuCacheUsagePerc => "NIM_GPU_CACHE_USAGE_PERC",
        /// NIM time to first token, seconds.
        NimTimeToFirstTokenSeconds => "NIM_TIME_TO_FIRST_TOKEN_SECONDS",
        /// NIM end-to-end latency, seconds.
        NimE2eRequestLatencySeconds => "NIM_E2E_REQUEST_LATENCY_SECONDS",
        /// NIM time to first token percentiles.
        NimTimeToFirstTokenSecondsPercentiles => "NIM_TIME_TO_FIRST_TOKEN_SECONDS_PERCENTILES",
        /// NIM end-to-end latency percentiles.
        NimE2eRequestLatencySecondsPercentiles => "NIM_E2E_REQUEST_LATENCY_SECONDS_PERCENTILES",
        /// NVLink bandwidth.
        NvlinkBandwidthTotal => "NVLINK_BANDWIDTH_TOTAL",
    }
}

/// The query of a metrics request. Serialises the way the API expects: several types joined
/// by commas in one `metricType` parameter (`explode: false`).
///
/// ```
/// use runai_core::{InferenceMetricType, MetricsQuery};
/// let query = MetricsQuery::new(
///     [InferenceMetricType::Throughput, InferenceMetricType::Latency],
///     "2026-11-20T10:00:00Z",
///     "2026-11-20T11:00:00Z",
/// ).samples(60);
/// assert_eq!(query.to_pairs()[0], ("metricType", "THROUGHPUT,LATENCY".to_string()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsQuery<T> {
    /// Metric types to fetch.
    pub metric_types: Vec<T>,
    /// Start of the window (RFC 3339).
    pub start: String,
    /// End of the window (RFC 3339).
    pub end: String,
    /// Points per series, 0..=1000 (server default 20).
    pub number_of_samples: Option<u16>,
}

impl<T: std::fmt::Display> MetricsQuery<T> {
    /// A query for `metric_types` between `start` and `end`.
    #[must_use]
    pub fn new(
        metric_types: impl IntoIterator<Item = T>,
        start: impl Into<String>,
        end: impl Into<String>,
    ) -> Self {
        Self {
            metric_types: metric_types.into_iter().collect(),
            start: start.into(),
            end: end.into(),
            number_of_samples: None,
        }
    }

    /// The same query with `samples` points per series.
    #[must_use]
    pub fn samples(mut self, samples: u16) -> Self {
        self.number_of_samples = Some(samples);
        self
    }

    /// The query parameters, in order.
    #[must_use]
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let types = self
            .metric_types
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let mut pairs = vec![
            ("metricType", types),
            ("start", self.start.clone()),
            ("end", self.end.clone()),
        ];
        if let Some(samples) = self.number_of_samples {
            pairs.push(("numberOfSamples", samples.to_string()));
        }
        pairs
    }
}

/// The body of a metrics response.
///
/// ```
/// use runai_core::{parse, MetricsResponse};
/// let body = r#"{"measurements": [{"type": "THROUGHPUT", "labels": null,
///     "values": [{"value": "12.5", "timestamp": "2026-11-20T10:00:00Z"}]}]}"#;
/// let metrics: MetricsResponse = parse::lenient(body).unwrap();
/// assert_eq!(metrics.measurements[0].numbers(), vec![12.5]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MetricsResponse {
    /// One series per metric type (and label set).
    pub measurements: Vec<Measurement>,
}

/// One series.
///
/// ```
/// use runai_core::{Measurement, MetricValue};
/// let m = Measurement { kind: "LATENCY".into(), labels: None, values: Some(vec![MetricValue { value: "85".into(), timestamp: None }]) };
/// assert_eq!(m.numbers(), vec![85.0]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Measurement {
    /// The metric type, for example `THROUGHPUT`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Labels of the series, for example `{"gpu": "3"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// The points (null when the server has none).
    pub values: Option<Vec<MetricValue>>,
}

impl Measurement {
    /// The values that parse as numbers, in order.
    #[must_use]
    pub fn numbers(&self) -> Vec<f64> {
        self.values
            .iter()
            .flatten()
            .filter_map(|v| v.value.parse().ok())
            .collect()
    }
}

/// One point of a series. The API sends the value as a string.
///
/// ```
/// use runai_core::MetricValue;
/// let v: MetricValue = serde_json::from_str(r#"{"value": "3", "timestamp": null}"#).unwrap();
/// assert_eq!(v.value, "3");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MetricValue {
    /// The value, as a decimal string.
    pub value: String,
    /// When it was measured (RFC 3339), or null.
    pub timestamp: Option<String>,
}
