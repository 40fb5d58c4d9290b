//! The activator: requests for a workload with no ready replica wait (a bounded number, for
//! a bounded time) while the gateway asks whoever runs it to scale the workload from zero;
//! they flow as soon as a replica is pushed in.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::Response;

use super::balance::Outstanding;
use super::{Backend, Inner, WorkloadKey, error, retry_later};

/// Told when a request arrives for a workload with no ready replica. The control loop
/// implements it (start a replica, or raise the desired count from zero). It is called for
/// every held request, so it must be cheap and idempotent.
///
/// ```
/// use runai_serve::gateway::{ScaleFromZero, WorkloadKey};
/// struct Log;
/// impl ScaleFromZero for Log {
///     fn scale_from_zero(&self, workload: &WorkloadKey) {
///         eprintln!("{workload} is wanted");
///     }
/// }
/// ```
pub trait ScaleFromZero: Send + Sync + 'static {
    /// `workload` has a request waiting and no ready replica.
    fn scale_from_zero(&self, workload: &WorkloadKey);
}

/// How many requests the activator holds per workload, and for how long.
///
/// ```
/// use runai_serve::gateway::ActivatorConfig;
/// let c = ActivatorConfig::default();
/// assert_eq!(c.max_held, 100);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivatorConfig {
    /// Requests held per workload; more are refused with 503 at once.
    pub max_held: usize,
    /// How long a held request waits for a ready replica before 503.
    pub timeout: Duration,
}

impl Default for ActivatorConfig {
    fn default() -> Self {
        Self {
            max_held: 100,
            timeout: Duration::from_secs(120),
        }
    }
}

pub(crate) struct Activator {
    config: ActivatorConfig,
    hook: Arc<dyn ScaleFromZero>,
    held: Mutex<HashMap<WorkloadKey, usize>>,
}

impl std::fmt::Debug for Activator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Activator")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Activator {
    pub(crate) fn new(config: ActivatorConfig, hook: Arc<dyn ScaleFromZero>) -> Self {
        Self {
            config,
            hook,
            held: Mutex::new(HashMap::new()),
        }
    }

    /// Requests held for `key` now.
    pub(crate) fn held(&self, key: &WorkloadKey) -> usize {
        self.held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(key)
            .copied()
            .unwrap_or(0)
    }

    /// Holds a request for `key` until a replica is ready, the timeout passes or the
    /// workload is removed.
    pub(crate) async fn hold(
        &self,
        inner: &Inner,
        key: &WorkloadKey,
    ) -> Result<(Arc<Backend>, Arc<str>, Outstanding), Response> {
        let Some(_place) = HeldPlace::take(self, key) else {
            let message = format!(
                "workload {key} is starting and already holds {} requests",
                self.config.max_held
            );
            return Err(retry_later(error(
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                &message,
            )));
        };
        // Subscribe before looking, so an update between the look and the wait is not missed.
        let mut changes = inner.changes.subscribe();
        self.hook.scale_from_zero(key);
        let deadline = tokio::time::Instant::now() + self.config.timeout;
        loop {
            let Some(backend) = inner.endpoints.load().get(key).cloned() else {
                let message = format!("workload {key} was removed while the request waited");
                return Err(error(StatusCode::NOT_FOUND, "not_found", &message));
            };
            if let Some((revision, outstanding)) = backend.pick(&inner.seed, inner.fresh_since_ms()) {
                return Ok((backend, revision, outstanding));
            }
            if !matches!(
                tokio::time::timeout_at(deadline, changes.changed()).await,
                Ok(Ok(()))
            ) {
                let message = format!(
                    "workload {key} had no ready replica within {} s",
                    self.config.timeout.as_secs_f64()
                );
                return Err(retry_later(error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    &message,
                )));
            }
        }
    }
}

/// A held request's place, given back on drop (also when the waiting client goes away).
struct HeldPlace<'a> {
    activator: &'a Activator,
    key: &'a WorkloadKey,
}

impl<'a> HeldPlace<'a> {
    fn take(activator: &'a Activator, key: &'a WorkloadKey) -> Option<Self> {
        let mut held = activator
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = held.entry(key.clone()).or_insert(0);
        if *count >= activator.config.max_held {
            return None;
        }
        *count += 1;
        Some(Self { activator, key })
    }
}

impl Drop for HeldPlace<'_> {
    fn drop(&mut self) {
        let mut held = self
            .activator
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = held.get_mut(self.key) {
            *count -= 1;
            if *count == 0 {
                held.remove(self.key);
            }
        }
    }
}
