//! Run:ai autoscaling semantics on top of the KPA: `concurrency` and `throughput` scale with
//! the KPA on a per-replica target of `metricThreshold x metricThresholdPercentage`;
//! `latency` and custom metrics scale by the ratio of value to threshold (HPA-style, with a
//! tolerance); `minReplicas` 0 with `maxReplicas` 1 and no metric follows network activity.

use runai_core::spec::{Metric, ResolvedAutoscaling};

use super::kpa::{Decision, Kpa, KpaConfig, KpaInput};
use super::window::MetricWindow;

/// The ratio band inside which latency and custom metrics do not move the replica count.
pub const RATIO_TOLERANCE: f64 = 0.1;
/// How long a lower ratio decision must hold before it scales down, when the spec sets no
/// `scaleDownDelaySeconds` (the Kubernetes HPA default).
pub const RATIO_STABILIZATION_S: u32 = 300;

/// The metric windows a decision may read, each the total over the workload's replicas
/// (latency is an average, not a total).
///
/// ```
/// use runai_sched::autoscale::{MetricWindow, WorkloadMetrics};
/// let empty = MetricWindow::new(60);
/// let metrics = WorkloadMetrics { concurrency: &empty, throughput: &empty, latency_ms: &empty, custom: None };
/// assert!(metrics.custom.is_none());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct WorkloadMetrics<'a> {
    /// Requests in flight.
    pub concurrency: &'a MetricWindow,
    /// Requests per second.
    pub throughput: &'a MetricWindow,
    /// Mean response latency in milliseconds.
    pub latency_ms: &'a MetricWindow,
    /// The custom metric, read by the runtime (for example from Prometheus).
    pub custom: Option<&'a MetricWindow>,
}

/// The autoscaler of one Run:ai inference workload.
///
/// ```
/// use runai_core::spec::{AutoScaling, Metric};
/// use runai_sched::autoscale::{MetricWindow, RunaiAutoscaler, WorkloadMetrics};
/// let spec = AutoScaling { min_replicas: Some(1), max_replicas: Some(8), metric: Some(Metric::Concurrency),
///     metric_threshold: Some(10), ..Default::default() };
/// let mut scaler = RunaiAutoscaler::new(&spec.resolve());
/// let mut load = MetricWindow::new(3600);
/// for s in 0..120 { load.record(s, 35.0); }
/// let empty = MetricWindow::new(60);
/// let metrics = WorkloadMetrics { concurrency: &load, throughput: &empty, latency_ms: &empty, custom: None };
/// // 35 in flight / (10 x 70 %) = 5 replicas.
/// assert_eq!(scaler.decide(119, 4, metrics).desired, 5);
/// ```
#[derive(Debug, Clone)]
pub struct RunaiAutoscaler {
    spec: ResolvedAutoscaling,
    mode: Mode,
}

#[derive(Debug, Clone)]
enum Mode {
    Fixed(u32),
    Kpa { kpa: Kpa, metric: Metric },
    Ratio(RatioScaler),
}

impl RunaiAutoscaler {
    /// The autoscaler for a resolved spec (see `AutoScaling::resolve`).
    #[must_use]
    pub fn new(spec: &ResolvedAutoscaling) -> Self {
        let mode = match &spec.metric {
            _ if spec.min_replicas == spec.max_replicas => Mode::Fixed(spec.min_replicas),
            None => Mode::Kpa {
                kpa: Kpa::new(Self::kpa_config(spec, 1.0)),
                metric: Metric::Concurrency,
            },
            Some(metric @ (Metric::Concurrency | Metric::Throughput)) => {
                let threshold = f64::from(spec.metric_threshold.unwrap_or(1).max(1));
                Mode::Kpa {
                    kpa: Kpa::new(Self::kpa_config(spec, threshold)),
                    metric: metric.clone(),
                }
            }
            Some(metric) => Mode::Ratio(RatioScaler {
                metric: metric.clone(),
                threshold: f64::from(spec.metric_threshold.unwrap_or(1).max(1)),
                history: MetricWindow::new(RATIO_STABILIZATION_S.max(spec.scale_down_delay_seconds) + 1),
                stabilization_s: if spec.scale_down_delay_seconds > 0 {
                    spec.scale_down_delay_seconds
                } else {
                    RATIO_STABILIZATION_S
                },
            }),
        };
        Self {
            spec: spec.clone(),
            mode,
        }
    }

    /// The same autoscaler with Knative's cluster-wide timing changed: the stable window (6
    /// to 3600 s; the panic window stays 10 % of it) and the grace period before the last
    /// replica goes. Only request-driven (KPA) scaling reads them.
    ///
    /// ```
    /// use runai_core::spec::AutoScaling;
    /// use runai_sched::autoscale::RunaiAutoscaler;
    /// let spec = AutoScaling { min_replicas: Some(0), max_replicas: Some(2), ..Default::default() };
    /// let scaler = RunaiAutoscaler::new(&spec.resolve()).with_kpa_timing(6, 2);
    /// # drop(scaler);
    /// ```
    #[must_use]
    pub fn with_kpa_timing(mut self, stable_window_s: u32, scale_to_zero_grace_s: u32) -> Self {
        if let Mode::Kpa { kpa, .. } = &mut self.mode {
            *kpa = Kpa::new(KpaConfig {
                stable_window_s: stable_window_s.clamp(6, 3600),
                scale_to_zero_grace_s,
                ..kpa.config().clone()
            });
        }
        self
    }

    /// KPA settings for a request-driven metric with per-replica `threshold`.
    fn kpa_config(spec: &ResolvedAutoscaling, threshold: f64) -> KpaConfig {
        // A hard concurrency limit caps the target, as containerConcurrency caps Knative's.
        let total = match spec.concurrency_hard_limit {
            Some(limit) if spec.metric == Some(Metric::Concurrency) => threshold.min(f64::from(limit)),
            _ => threshold,
        };
        let utilisation = if spec.metric.is_none() {
            1.0
        } else {
            spec.metric_threshold_percentage / 100.0
        };
        KpaConfig {
            target: total * utilisation,
            total,
            activation_scale: spec.activation_replicas.max(1),
            scale_down_delay_s: spec.scale_down_delay_seconds,
            min_scale: spec.min_replicas,
            max_scale: spec.max_replicas,
            initial_scale: spec.initial_replicas,
            enable_scale_to_zero: spec.min_replicas == 0,
            scale_to_zero_retention_s: spec.scale_to_zero_retention_seconds,
            ..KpaConfig::default()
        }
    }

    /// One decision at second `now_s` with `ready` replicas.
    pub fn decide(&mut self, now_s: u64, ready: u32, metrics: WorkloadMetrics<'_>) -> Decision {
        let (min, max) = (self.spec.min_replicas, self.spec.max_replicas);
        match &mut self.mode {
            Mode::Fixed(replicas) => Decision {
                desired: *replicas,
                panic: false,
                excess_burst_capacity: 0.0,
                activator_in_path: false,
                reason: format!("fixed at {replicas} replicas (minReplicas = maxReplicas)"),
            },
            Mode::Kpa { kpa, metric } => {
                let window = if *metric == Metric::Throughput {
                    metrics.throughput
                } else {
                    metrics.concurrency
                };
                kpa.decide(KpaInput {
                    now_s,
                    ready_pods: ready,
                    metric: window,
                })
            }
            Mode::Ratio(ratio) => {
                let window = match &ratio.metric {
                    Metric::Latency => Some(metrics.latency_ms),
                    _ => metrics.custom,
                };
                ratio.decide(now_s, ready, window, min, max)
            }
        }
    }
}

/// Ratio scaling for metrics that do not add up over replicas: `ceil(ready x value /
/// threshold)` outside a tolerance band, never below the highest decision of the
/// stabilization window.
#[derive(Debug, Clone)]
struct RatioScaler {
    metric: Metric,
    threshold: f64,
    history: MetricWindow,
    stabilization_s: u32,
}

impl RatioScaler {
    fn decide(
        &mut self,
        now_s: u64,
        ready: u32,
        window: Option<&MetricWindow>,
        min: u32,
        max: u32,
    ) -> Decision {
        let Some(window) = window else {
            return Decision {
                desired: ready.clamp(min, max.max(min)),
                panic: false,
                excess_burst_capacity: 0.0,
                activator_in_path: false,
                reason: format!("no values for metric `{}`; keeping {ready}", self.metric),
            };
        };
        let value = window.average(now_s, 60);
        let current = ready.max(1);
        let ratio = value / self.threshold;
        let mut want = if (ratio - 1.0).abs() <= RATIO_TOLERANCE {
            current
        } else {
            (f64::from(current) * ratio).ceil() as u32
        };
        want = want.clamp(min.max(1), max.max(1));
        self.history.record(now_s, f64::from(want));
        let stabilized = (self.history.max(now_s, self.stabilization_s) as u32).max(want);
        let mut reason = format!(
            "{}: {value:.1} / threshold {} = ratio {ratio:.2} on {current} replicas -> {want}",
            self.metric, self.threshold
        );
        if stabilized > want {
            reason.push_str(&format!("; scale-down stabilization keeps {stabilized}"));
        }
        Decision {
            desired: stabilized,
            panic: false,
            excess_burst_capacity: 0.0,
            activator_in_path: false,
            reason,
        }
    }
}
