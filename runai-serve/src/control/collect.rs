//! Resource and model metrics of every workload and replica, recorded as time series for the
//! Run:ai metrics endpoints: throughput and latency from the gateway, pod counts from the
//! backend, CPU and memory of each replica's process tree from procfs, GPU use from NVML
//! (feature `nvml`; absent without a GPU), and the model server's own numbers scraped from
//! each replica's `/metrics`.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use crate::backend::{ReplicaPhase, ReplicaStatus, RevisionStatus};
use crate::gateway::WorkloadSummary;
use crate::observe::{GpuSampler, MetricSeries, MetricType, ModelMetrics, ProcessSampler, Scraper};

/// How often samples are taken: the series keep a fixed number of samples, so the period
/// sets how far back they reach.
pub(crate) const COLLECT_PERIOD: Duration = Duration::from_secs(5);

/// The samplers and the series they fill.
#[derive(Clone)]
pub(crate) struct Collector {
    series: MetricSeries,
    processes: Arc<Mutex<ProcessSampler>>,
    gpus: Arc<Mutex<GpuSampler>>,
    scraper: Option<Scraper>,
    last: Arc<Mutex<Option<Instant>>>,
}

impl std::fmt::Debug for Collector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collector").finish_non_exhaustive()
    }
}

/// A replica's id in the metrics API: `{revision}-{index}`.
pub(crate) fn pod_id(revision: &str, index: u32) -> String {
    format!("{revision}-{index}")
}

impl Collector {
    pub(crate) fn new(series: MetricSeries) -> Self {
        let scraper = Scraper::new()
            .ok()
            .map(|s| s.with_timeout(Duration::from_secs(1)));
        Self {
            series,
            processes: Arc::new(Mutex::new(ProcessSampler::new())),
            gpus: Arc::new(Mutex::new(GpuSampler::new())),
            scraper,
            last: Arc::default(),
        }
    }

    /// Whether a period has passed since the last collection; if so, starts a new one.
    pub(crate) fn due(&self) -> bool {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        if last.is_some_and(|at| at.elapsed() < COLLECT_PERIOD) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }

    /// Forgets a deleted workload's series.
    pub(crate) fn forget(&self, workload: &str) {
        self.series.forget_workload(workload);
    }

    /// Records one sample of everything known about `workload`.
    pub(crate) async fn collect(
        &self,
        workload: &str,
        statuses: &[RevisionStatus],
        summary: Option<&WorkloadSummary>,
    ) {
        let now = SystemTime::now();
        let record = |pod: Option<&str>, metric: MetricType, value: f64| {
            self.series.record(workload, pod, metric, now, value);
        };
        if let Some(summary) = summary {
            record(None, MetricType::Throughput, summary.requests_per_second);
            if let Some(latency) = summary.latency {
                record(None, MetricType::Latency, latency.p50.as_secs_f64() * 1000.0);
            }
        }
        // Collected first: a lazy iterator of borrowed pairs held across the await below
        // would make the future not `Send`.
        let mut replicas: Vec<(&str, &ReplicaStatus)> = Vec::new();
        for status in statuses {
            for replica in &status.replicas {
                replicas.push((status.revision.as_str(), replica));
            }
        }
        let pods = replicas.len();
        let running = replicas
            .iter()
            .filter(|(_, r)| r.phase == ReplicaPhase::Ready)
            .count();
        record(None, MetricType::PodCount, pods as f64);
        record(None, MetricType::RunningPodCount, running as f64);

        let (mut cores, mut memory, mut gpu_util, mut gpu_memory) = (0.0, 0.0, None::<f64>, None::<f64>);
        let mut scrapes = Vec::new();
        for (revision, replica) in replicas {
            let pod = pod_id(revision, replica.index);
            for root in &replica.pids {
                let usage = self
                    .processes
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .sample(*root);
                if let Some(usage) = usage {
                    let memory_bytes = usage.memory_bytes as f64;
                    record(Some(&pod), MetricType::CpuMemoryUsageBytes, memory_bytes);
                    memory += memory_bytes;
                    if let Some(used) = usage.cpu_cores {
                        record(Some(&pod), MetricType::CpuUsageCores, used);
                        cores += used;
                    }
                }
            }
            let gpu = self
                .gpus
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .sample(&replica.pids);
            if let Some(gpu) = gpu {
                if let Some(util) = gpu.utilization_percent {
                    record(Some(&pod), MetricType::GpuUtilization, util);
                    gpu_util = Some(gpu_util.unwrap_or(0.0) + util);
                }
                if let Some(bytes) = gpu.memory_bytes {
                    record(Some(&pod), MetricType::GpuMemoryUsageBytes, bytes as f64);
                    gpu_memory = Some(gpu_memory.unwrap_or(0.0) + bytes as f64);
                }
            }
            if replica.phase == ReplicaPhase::Ready
                && let Some(scraper) = &self.scraper
            {
                let url = format!("{}/metrics", replica.endpoint.trim_end_matches('/'));
                scrapes.push(async move { (pod, scraper.scrape(&url).await) });
            }
        }
        record(None, MetricType::CpuUsageCores, cores);
        record(None, MetricType::CpuMemoryUsageBytes, memory);
        if let Some(util) = gpu_util {
            record(None, MetricType::GpuUtilization, util);
        }
        if let Some(bytes) = gpu_memory {
            record(None, MetricType::GpuMemoryUsageBytes, bytes);
        }
        let scraped = futures_util::future::join_all(scrapes).await;
        let mut total = ModelTotals::default();
        for (pod, metrics) in scraped {
            // A replica that does not serve Prometheus metrics simply has no model metrics.
            let Ok(metrics) = metrics else { continue };
            for (metric, value) in model_values(&metrics) {
                record(Some(&pod), metric, value);
            }
            total.add(&metrics);
        }
        for (metric, value) in total.values() {
            record(None, metric, value);
        }
    }
}

/// The model server's numbers under the Run:ai (NIM) metric types.
fn model_values(metrics: &ModelMetrics) -> Vec<(MetricType, f64)> {
    let mut values = Vec::new();
    let mut put = |metric, value: Option<f64>| {
        if let Some(value) = value {
            values.push((metric, value));
        }
    };
    put(MetricType::NimNumRequestsRunning, metrics.num_requests_running);
    put(MetricType::NimNumRequestsWaiting, metrics.num_requests_waiting);
    put(MetricType::NimGpuCacheUsagePerc, metrics.kv_cache_usage_perc);
    put(
        MetricType::NimTimeToFirstTokenSeconds,
        metrics.time_to_first_token.as_ref().and_then(|h| h.mean()),
    );
    put(
        MetricType::NimE2eRequestLatencySeconds,
        metrics.e2e_request_latency.as_ref().and_then(|h| h.mean()),
    );
    values
}

/// Model-server gauges summed over replicas (the cache use is the largest).
#[derive(Debug, Default)]
struct ModelTotals {
    running: Option<f64>,
    waiting: Option<f64>,
    cache: Option<f64>,
}

impl ModelTotals {
    fn add(&mut self, metrics: &ModelMetrics) {
        let sum = |total: &mut Option<f64>, value: Option<f64>| {
            if let Some(value) = value {
                *total = Some(total.unwrap_or(0.0) + value);
            }
        };
        sum(&mut self.running, metrics.num_requests_running);
        sum(&mut self.waiting, metrics.num_requests_waiting);
        if let Some(cache) = metrics.kv_cache_usage_perc {
            self.cache = Some(self.cache.map_or(cache, |c: f64| c.max(cache)));
        }
    }

    fn values(&self) -> Vec<(MetricType, f64)> {
        [
            (MetricType::NimNumRequestsRunning, self.running),
            (MetricType::NimNumRequestsWaiting, self.waiting),
            (MetricType::NimGpuCacheUsagePerc, self.cache),
        ]
        .into_iter()
        .filter_map(|(metric, value)| value.map(|v| (metric, v)))
        .collect()
    }
}
