//! What every reconcile shares: the client, the settings, the event recorder, the metrics
//! and each object's run of failures (for the retry backoff).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use kube::runtime::events::{Recorder, Reporter};

use super::ControllerMetrics;
use crate::backend::kubernetes::KubernetesConfig;

/// How the controller applies workloads and how often it looks at them again.
///
/// ```
/// use std::time::Duration;
/// use runai_serve::controller::ControllerConfig;
/// let config = ControllerConfig::default().instance("runai-controller-7d9f").refresh_serving(Duration::from_secs(60));
/// assert_eq!(config.field_manager, "runai-controller");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ControllerConfig {
    /// The server-side apply field manager of status writes.
    pub field_manager: String,
    /// The controller named in the events it records.
    pub reporter: String,
    /// This replica, named in the events it records (the pod name).
    pub instance: Option<String>,
    /// How workloads are rendered and applied. Each workload's objects go to the namespace
    /// of its custom resource and name it as their owner, whatever this says.
    pub backend: KubernetesConfig,
    /// How long until a serving workload's status is read again.
    pub refresh_serving: Duration,
    /// How long until the status of a workload on its way somewhere (creating, updating,
    /// failing) is read again.
    pub refresh_progressing: Duration,
    /// The first retry delay after a failed reconcile; it doubles with each failure in a
    /// row.
    pub retry_min: Duration,
    /// The longest retry delay.
    pub retry_max: Duration,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        Self {
            field_manager: "runai-controller".to_owned(),
            reporter: "runai-controller".to_owned(),
            instance: None,
            backend: KubernetesConfig::default(),
            refresh_serving: Duration::from_secs(300),
            refresh_progressing: Duration::from_secs(10),
            retry_min: Duration::from_secs(5),
            retry_max: Duration::from_secs(300),
        }
    }
}

impl ControllerConfig {
    /// Names this replica in events.
    #[must_use]
    pub fn instance(mut self, instance: impl Into<String>) -> Self {
        self.instance = Some(instance.into());
        self
    }

    /// Renders and applies workloads as `backend` says.
    #[must_use]
    pub fn backend(mut self, backend: KubernetesConfig) -> Self {
        self.backend = backend;
        self
    }

    /// Reads a serving workload's status again after `every`.
    #[must_use]
    pub fn refresh_serving(mut self, every: Duration) -> Self {
        self.refresh_serving = every;
        self
    }

    /// Reads a progressing workload's status again after `every`.
    #[must_use]
    pub fn refresh_progressing(mut self, every: Duration) -> Self {
        self.refresh_progressing = every;
        self
    }

    /// The delay before retrying an object after `failures` failed reconciles in a row:
    /// `retry_min` doubled for each failure after the first, at most `retry_max`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use runai_serve::controller::ControllerConfig;
    /// let config = ControllerConfig::default();
    /// assert_eq!(config.retry_delay(1), Duration::from_secs(5));
    /// assert_eq!(config.retry_delay(3), Duration::from_secs(20));
    /// assert_eq!(config.retry_delay(60), Duration::from_secs(300));
    /// ```
    #[must_use]
    pub fn retry_delay(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(31);
        self.retry_min.saturating_mul(1 << doublings).min(self.retry_max)
    }
}

/// The state reconciles share.
///
/// ```no_run
/// # async fn run() -> Result<(), kube::Error> {
/// use runai_serve::controller::{Context, ControllerConfig};
/// let client = kube::Client::try_default().await?;
/// let context = Context::new(client, ControllerConfig::default());
/// # Ok(()) }
/// ```
pub struct Context {
    pub(crate) client: kube::Client,
    pub(crate) config: ControllerConfig,
    pub(crate) recorder: Recorder,
    pub(crate) metrics: Arc<ControllerMetrics>,
    /// Failed reconciles in a row, by object (`namespace/name`).
    failures: Mutex<HashMap<String, u32>>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Context {
    /// A context for reconciles through `client`, with fresh metrics.
    #[must_use]
    pub fn new(client: kube::Client, config: ControllerConfig) -> Self {
        let reporter = Reporter {
            controller: config.reporter.clone(),
            instance: config.instance.clone(),
        };
        Self {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            config,
            metrics: Arc::default(),
            failures: Mutex::default(),
        }
    }

    /// The same context, recording into `metrics` (shared with a `/metrics` endpoint, say).
    #[must_use]
    pub fn with_metrics(mut self, metrics: Arc<ControllerMetrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// The metrics reconciles record into.
    #[must_use]
    pub fn metrics(&self) -> &Arc<ControllerMetrics> {
        &self.metrics
    }

    /// The settings.
    #[must_use]
    pub fn config(&self) -> &ControllerConfig {
        &self.config
    }

    /// Counts a failure of `object` and returns how many there were in a row.
    pub(crate) fn failed(&self, object: &str) -> u32 {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let count = failures.entry(object.to_owned()).or_insert(0);
        *count = count.saturating_add(1);
        *count
    }

    /// Forgets the failures of `object` after it reconciled.
    pub(crate) fn succeeded(&self, object: &str) {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(object);
    }
}
