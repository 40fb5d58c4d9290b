//! The controller's Prometheus metrics: reconciles by result, errors by kind, reconcile
//! durations, and whether this process leads.

use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::ControllerError;

type Labels = Vec<(&'static str, &'static str)>;

/// The controller's metrics and their registry.
///
/// | name | type | labels |
/// | --- | --- | --- |
/// | `runai_controller_reconciles_total` | counter | `result` (`ok`, `error`) |
/// | `runai_controller_reconcile_errors_total` | counter | `kind` ([`ControllerError::kind`]) |
/// | `runai_controller_reconcile_duration_seconds` | histogram | |
/// | `runai_controller_leader` | gauge | 1 while this process holds the lease |
///
/// ```
/// use std::time::Duration;
/// use runai_serve::controller::ControllerMetrics;
/// let metrics = ControllerMetrics::new();
/// metrics.record(Duration::from_millis(20), None);
/// metrics.set_leader(true);
/// let text = metrics.encode();
/// assert!(text.contains(r#"runai_controller_reconciles_total{result="ok"} 1"#));
/// assert!(text.contains("runai_controller_leader 1"));
/// ```
#[derive(Debug)]
pub struct ControllerMetrics {
    registry: Registry,
    reconciles: Family<Labels, Counter>,
    errors: Family<Labels, Counter>,
    duration: Histogram,
    leader: Gauge,
}

impl Default for ControllerMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl ControllerMetrics {
    /// Metrics at zero, registered.
    #[must_use]
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let reconciles = Family::<Labels, Counter>::default();
        let errors = Family::<Labels, Counter>::default();
        // 1 ms to about 65 s: a reconcile is a handful of API calls.
        let duration = Histogram::new(exponential_buckets(0.001, 2.0, 17));
        let leader = Gauge::default();
        registry.register(
            "runai_controller_reconciles",
            "InferenceWorkload reconciles, by result",
            reconciles.clone(),
        );
        registry.register(
            "runai_controller_reconcile_errors",
            "Failed InferenceWorkload reconciles, by kind of error",
            errors.clone(),
        );
        registry.register(
            "runai_controller_reconcile_duration_seconds",
            "Time taken by one InferenceWorkload reconcile",
            duration.clone(),
        );
        registry.register(
            "runai_controller_leader",
            "1 while this process holds the leader lease",
            leader.clone(),
        );
        Self {
            registry,
            reconciles,
            errors,
            duration,
            leader,
        }
    }

    /// Counts one reconcile that took `elapsed` and failed with `error`, if it did.
    pub fn record(&self, elapsed: Duration, error: Option<&ControllerError>) {
        self.duration.observe(elapsed.as_secs_f64());
        let result = if error.is_some() { "error" } else { "ok" };
        self.reconciles.get_or_create(&vec![("result", result)]).inc();
        if let Some(error) = error {
            self.errors.get_or_create(&vec![("kind", error.kind())]).inc();
        }
    }

    /// Records whether this process leads.
    pub fn set_leader(&self, leading: bool) {
        self.leader.set(i64::from(leading));
    }

    /// The metrics in the Prometheus text format.
    #[must_use]
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}
