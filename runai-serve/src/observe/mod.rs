//! Resource and model metrics of workloads and their replicas, served through the Run:ai
//! metrics API (`GET .../workloads/{id}/metrics?metricType=...`).
//!
//! Where each figure comes from depends on the mode (the full table is in
//! `docs/metrics.md`):
//!
//! - Embedded (one machine): a replica's CPU cores and memory from its process tree in
//!   `/proc` ([`ProcessSampler`]); its GPU utilisation and memory from NVML with the `nvml`
//!   feature ([`GpuSampler`]); queue depth, KV cache and latency histograms by scraping the
//!   model server's `/metrics` ([`Scraper`], [`ModelMetrics`]). Samples go into a bounded
//!   in-memory store ([`MetricSeries`]) that answers queries in the Run:ai
//!   [`MetricsResponse`] shape.
//! - Kubernetes: a Prometheus server already holds the numbers (DCGM exporter, cAdvisor,
//!   kube-state-metrics, the model servers); [`promql_for`] names the query for each
//!   [`MetricType`] and [`PrometheusClient`] runs it.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use runai_serve::observe::{MetricSeries, MetricType, ProcessSampler, parse_metric_types};
//!
//! let series = MetricSeries::default();
//! let mut processes = ProcessSampler::new();
//! let replica_pid = std::process::id();
//! if let Some(usage) = processes.sample(replica_pid) {
//!     let now = SystemTime::now();
//!     series.record("llama", Some("llama-0"), MetricType::CpuMemoryUsageBytes, now, usage.memory_bytes as f64);
//! }
//!
//! let types = parse_metric_types("CPU_MEMORY_USAGE_BYTES,GPU_UTILIZATION")?;
//! let end = SystemTime::now();
//! let response = series.query("llama", Some("llama-0"), &types, end - Duration::from_secs(3600), end, 20)?;
//! assert_eq!(response.measurements.len(), 2);
//! # Ok::<(), runai_serve::observe::ObserveError>(())
//! ```

mod error;
mod exposition;
mod fetch;
mod metric_type;
mod model_metrics;
mod nvml;
mod procfs;
mod prometheus;
mod promql;
mod scrape;
mod series;
mod timestamp;

pub use error::ObserveError;
pub use metric_type::{MetricType, parse_metric_types};
pub use model_metrics::{Histogram, ModelMetrics, ModelMetricsDelta, Percentiles};
pub use nvml::{GpuSampler, GpuUsage};
pub use procfs::{ProcessSampler, ProcessTreeUsage, ReplicaUsage};
pub use prometheus::{InstantSample, PrometheusClient, RangeSeries};
pub use promql::{LabelledQuery, PodSelector, promql_for};
pub use scrape::{Scraper, scrape};
pub use series::{
    LatestSample, MAX_SAMPLES_PER_QUERY, Measurement, MeasurementValue, MetricSeries, MetricsResponse,
    SeriesLimits,
};
pub use timestamp::{format_timestamp, parse_timestamp};
