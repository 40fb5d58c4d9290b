//! The autoscaler tick: each pass of the loop records what the gateway measured for every
//! workload (requests in flight, throughput, latency) and asks `runai-sched`'s Run:ai
//! autoscaler for a replica count. The loop then applies it within quota (admission may
//! grant fewer).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use runai_core::spec::ResolvedAutoscaling;
use runai_sched::autoscale::{MetricWindow, RunaiAutoscaler, WorkloadMetrics};
use tokio::sync::Notify;

use crate::gateway::{ScaleFromZero, WorkloadKey, WorkloadSummary};

/// How long metric windows reach back, in seconds (Knative's longest stable window).
const WINDOW_S: u32 = 3600;

/// Requests that arrived for workloads at zero: the gateway's activator reports them here,
/// and the control loop scales those workloads from zero on its next pass, which it starts
/// at once.
///
/// ```
/// use runai_serve::control::Wakeups;
/// use runai_serve::gateway::{ActivatorConfig, Gateway, GatewayConfig};
/// let wakeups = Wakeups::default();
/// let gateway = Gateway::with_activator(GatewayConfig::default(), ActivatorConfig::default(), wakeups.clone());
/// // `ControlLoop::new(..).with_gateway(gateway).with_wakeups(wakeups)` closes the circle.
/// # drop(gateway);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Wakeups {
    inner: Arc<WakeupsInner>,
}

#[derive(Debug, Default)]
struct WakeupsInner {
    wanted: Mutex<HashSet<WorkloadKey>>,
    notify: Notify,
}

impl ScaleFromZero for Wakeups {
    fn scale_from_zero(&self, workload: &WorkloadKey) {
        let fresh = self
            .inner
            .wanted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(workload.clone());
        if fresh {
            self.inner.notify.notify_one();
        }
    }
}

impl Wakeups {
    /// Whether a request waits for `workload`; forgets it once the workload has a ready
    /// replica.
    pub(crate) fn wanted(&self, workload: &WorkloadKey, ready: u32) -> bool {
        let mut wanted = self.inner.wanted.lock().unwrap_or_else(PoisonError::into_inner);
        if ready > 0 {
            wanted.remove(workload);
            return false;
        }
        wanted.contains(workload)
    }

    /// Resolves when a workload at zero is wanted.
    pub(crate) async fn notified(&self) {
        self.inner.notify.notified().await;
    }
}

/// One workload's autoscaler and the metric windows it reads.
#[derive(Debug)]
struct Scaler {
    spec: ResolvedAutoscaling,
    scaler: RunaiAutoscaler,
    concurrency: MetricWindow,
    throughput: MetricWindow,
    latency_ms: MetricWindow,
    /// The custom metric's values, from Prometheus; `None` until the first one arrives.
    custom: Option<MetricWindow>,
}

/// Every workload's autoscaler.
#[derive(Debug)]
pub(crate) struct Autoscaling {
    epoch: Instant,
    /// Knative's stable window and scale-to-zero grace period, when the platform changes them.
    timing: Option<(u32, u32)>,
    scalers: HashMap<String, Scaler>,
}

/// A replica count and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scale {
    pub(crate) replicas: u32,
    pub(crate) reason: String,
}

impl Autoscaling {
    pub(crate) fn new(timing: Option<(u32, u32)>) -> Self {
        Self {
            epoch: Instant::now(),
            timing,
            scalers: HashMap::new(),
        }
    }

    /// The replica count `workload` should have now, from what the gateway measured.
    pub(crate) fn decide(
        &mut self,
        workload: &str,
        spec: &ResolvedAutoscaling,
        summary: Option<&WorkloadSummary>,
        custom: Option<f64>,
        ready: u32,
        woken: bool,
    ) -> Scale {
        let now_s = self.epoch.elapsed().as_secs();
        let timing = self.timing;
        let scaler = self
            .scalers
            .entry(workload.to_owned())
            .or_insert_with(|| Scaler::new(spec, timing));
        if scaler.spec != *spec {
            // The autoscaling fields changed: start over with the new ones.
            *scaler = Scaler::new(spec, timing);
        }
        if let Some(summary) = summary {
            scaler.concurrency.record(now_s, summary.concurrency as f64);
            scaler.throughput.record(now_s, summary.requests_per_second);
            if let Some(latency) = summary.latency {
                scaler
                    .latency_ms
                    .record(now_s, latency.p50.as_secs_f64() * 1000.0);
            }
        }
        if let Some(value) = custom.filter(|v| v.is_finite()) {
            scaler
                .custom
                .get_or_insert_with(|| MetricWindow::new(WINDOW_S))
                .record(now_s, value);
        }
        let metrics = WorkloadMetrics {
            concurrency: &scaler.concurrency,
            throughput: &scaler.throughput,
            latency_ms: &scaler.latency_ms,
            custom: scaler.custom.as_ref(),
        };
        let decision = scaler.scaler.decide(now_s, ready, metrics);
        if woken && decision.desired == 0 {
            return Scale {
                replicas: spec.activation_replicas.max(1),
                reason: "a request waits at zero replicas; scaling from zero".to_owned(),
            };
        }
        Scale {
            replicas: decision.desired,
            reason: decision.reason,
        }
    }

    /// Drops the state of workloads not in `live`.
    pub(crate) fn retain(&mut self, live: &HashSet<&str>) {
        self.scalers.retain(|id, _| live.contains(id.as_str()));
    }
}

impl Scaler {
    fn new(spec: &ResolvedAutoscaling, timing: Option<(u32, u32)>) -> Self {
        let mut scaler = RunaiAutoscaler::new(spec);
        if let Some((stable_window_s, grace_s)) = timing {
            scaler = scaler.with_kpa_timing(stable_window_s, grace_s);
        }
        Self {
            spec: spec.clone(),
            scaler,
            concurrency: MetricWindow::new(WINDOW_S),
            throughput: MetricWindow::new(WINDOW_S),
            latency_ms: MetricWindow::new(WINDOW_S),
            custom: None,
        }
    }
}

/// Custom autoscaling metrics read from Prometheus: for a workload whose `metric` is neither
/// `concurrency`, `throughput` nor `latency`, each pass runs the query template with
/// `{metric}`, `{workload}` (the name), `{project}` (the project id) and `{workload_id}`
/// filled in, and sums the samples it answers. The default template,
/// `avg({metric}{workload="{workload}"})`, is the per-replica average that the Run:ai
/// (HPA-style) ratio rule compares with `metricThreshold`.
///
/// ```
/// use runai_serve::control::CustomMetrics;
/// use runai_serve::observe::PrometheusClient;
/// let metrics = CustomMetrics::new(PrometheusClient::new("http://prometheus:9090")?);
/// assert_eq!(metrics.promql("queue_depth", "chat", "1", "id-1"), r#"avg(queue_depth{workload="chat"})"#);
/// # Ok::<(), runai_serve::observe::ObserveError>(())
/// ```
#[derive(Debug, Clone)]
pub struct CustomMetrics {
    client: crate::observe::PrometheusClient,
    template: String,
}

/// The default query template of [`CustomMetrics`].
pub const DEFAULT_CUSTOM_METRIC_QUERY: &str = r#"avg({metric}{workload="{workload}"})"#;

impl CustomMetrics {
    /// Custom metrics from `client` with the default query template.
    #[must_use]
    pub fn new(client: crate::observe::PrometheusClient) -> Self {
        Self {
            client,
            template: DEFAULT_CUSTOM_METRIC_QUERY.to_owned(),
        }
    }

    /// The same, with another query template.
    #[must_use]
    pub fn with_query(mut self, template: impl Into<String>) -> Self {
        self.template = template.into();
        self
    }

    /// The PromQL for one workload's metric.
    #[must_use]
    pub fn promql(&self, metric: &str, workload: &str, project: &str, workload_id: &str) -> String {
        self.template
            .replace("{metric}", metric)
            .replace("{workload}", workload)
            .replace("{project}", project)
            .replace("{workload_id}", workload_id)
    }

    /// The metric's current value: the sum of the query's samples; `None` when Prometheus
    /// fails or answers nothing (the autoscaler then keeps the replica count).
    pub(crate) async fn value(
        &self,
        metric: &str,
        workload: &str,
        project: &str,
        workload_id: &str,
    ) -> Option<f64> {
        let promql = self.promql(metric, workload, project, workload_id);
        let samples = self.client.query(&promql, None).await.ok()?;
        let values: Vec<f64> = samples
            .iter()
            .map(|s| s.value)
            .filter(|v| v.is_finite())
            .collect();
        (!values.is_empty()).then(|| values.iter().sum())
    }
}
