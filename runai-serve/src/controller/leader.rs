//! Leader election on a `coordination.k8s.io/v1` Lease, so that of several controller
//! replicas exactly one reconciles. kube has none built in; this follows client-go's
//! protocol, with the rules in [`lease`](super::lease) and the API calls here.
//!
//! Every write carries the `resourceVersion` of the lease it read, so two candidates that
//! both see an expired lease cannot both take it: the API server accepts the first write
//! and answers the second with 409 Conflict, which here means "someone else won".

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use super::ControllerError;
use super::error::api_code;
use super::lease::{self, LeaseDecision};

/// Which lease to hold, as whom, and how the time is kept.
///
/// The defaults are client-go's: a lease lasts 15 s, the leader renews it every 2 s and
/// steps down when it could not renew for 10 s (before anyone else may take it over), and a
/// candidate looks again every 2 s.
///
/// ```
/// use std::time::Duration;
/// use runai_serve::controller::LeaseConfig;
/// let config = LeaseConfig::new("runai-controller", "runai-system", "runai-controller-7d9f")
///     .lease_duration(Duration::from_secs(30));
/// assert_eq!(config.lease_duration_seconds(), 30);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LeaseConfig {
    /// The lease's name.
    pub name: String,
    /// The lease's namespace.
    pub namespace: String,
    /// This candidate (the pod name, say); unique among candidates.
    pub identity: String,
    /// How long a lease lasts without renewal.
    pub lease_duration: Duration,
    /// How often the leader renews.
    pub renew_period: Duration,
    /// How long the leader keeps trying to renew before it steps down; shorter than the
    /// lease duration, so it stops before another candidate may take over.
    pub renew_deadline: Duration,
    /// How often a candidate tries to take the lease.
    pub retry_period: Duration,
}

impl LeaseConfig {
    /// The lease `namespace/name`, held as `identity`, with client-go's timings.
    pub fn new(name: impl Into<String>, namespace: impl Into<String>, identity: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            namespace: namespace.into(),
            identity: identity.into(),
            lease_duration: Duration::from_secs(15),
            renew_period: Duration::from_secs(2),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }

    /// Leases last `duration` without renewal.
    #[must_use]
    pub fn lease_duration(mut self, duration: Duration) -> Self {
        self.lease_duration = duration;
        self
    }

    /// The leader renews every `period`.
    #[must_use]
    pub fn renew_period(mut self, period: Duration) -> Self {
        self.renew_period = period;
        self
    }

    /// The leader steps down after failing to renew for `deadline`.
    #[must_use]
    pub fn renew_deadline(mut self, deadline: Duration) -> Self {
        self.renew_deadline = deadline;
        self
    }

    /// A candidate tries again every `period`.
    #[must_use]
    pub fn retry_period(mut self, period: Duration) -> Self {
        self.retry_period = period;
        self
    }

    /// The lease duration in whole seconds, as the lease records it (at least 1).
    #[must_use]
    pub fn lease_duration_seconds(&self) -> i32 {
        i32::try_from(self.lease_duration.as_secs())
            .unwrap_or(i32::MAX)
            .max(1)
    }
}

/// Where a candidate stands after one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LeaseState {
    /// It holds the lease (it took it or renewed it).
    Leading,
    /// Someone else holds it.
    Following {
        /// The holder, when known (after a lost race it is not, until the next read).
        holder: Option<String>,
    },
}

/// A candidate for one lease.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use runai_serve::controller::{LeaderElector, LeaseConfig};
/// let client = kube::Client::try_default().await?;
/// let elector = LeaderElector::new(client, LeaseConfig::new("runai-controller", "runai-system", "pod-a"));
/// if let Some(leadership) = elector.acquire(tokio::signal::ctrl_c()).await? {
///     // ... lead until `leadership.lost()` resolves or it is time to stop ...
///     leadership.step_down().await?;
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct LeaderElector {
    api: Api<Lease>,
    config: Arc<LeaseConfig>,
}

impl LeaderElector {
    /// A candidate for `config`'s lease, through `client`.
    #[must_use]
    pub fn new(client: kube::Client, config: LeaseConfig) -> Self {
        Self {
            api: Api::namespaced(client, &config.namespace),
            config: Arc::new(config),
        }
    }

    /// The settings.
    #[must_use]
    pub fn config(&self) -> &LeaseConfig {
        &self.config
    }

    fn lease_name(&self) -> String {
        format!("{}/{}", self.config.namespace, self.config.name)
    }

    fn api_error(&self, action: &str, source: kube::Error) -> ControllerError {
        ControllerError::kubernetes(format!("{action} the lease {}", self.lease_name()), source)
    }

    /// One attempt at `now`: creates the lease when there is none, renews it when this
    /// candidate holds it, takes it when it is free or expired, and otherwise leaves it.
    ///
    /// # Errors
    /// [`ControllerError::Kubernetes`] when the API server fails a request; a conflict is
    /// not an error but [`LeaseState::Following`].
    pub async fn try_acquire_or_renew(&self, now: Timestamp) -> Result<LeaseState, ControllerError> {
        let identity = &self.config.identity;
        let duration = self.config.lease_duration_seconds();
        let current = self
            .api
            .get_opt(&self.config.name)
            .await
            .map_err(|e| self.api_error("reading", e))?;
        let Some(current) = current else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.config.name.clone()),
                    namespace: Some(self.config.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(lease::acquired(None, identity, duration, now)),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(LeaseState::Leading),
                // Another candidate created it between our read and our write.
                Err(e) if api_code(&e) == Some(409) => Ok(LeaseState::Following { holder: None }),
                Err(e) => Err(self.api_error("creating", e)),
            };
        };
        let spec = current.spec.clone();
        let next = match lease::decide(spec.as_ref(), identity, now) {
            LeaseDecision::Wait { holder, .. } => return Ok(LeaseState::Following { holder: Some(holder) }),
            LeaseDecision::Renew => lease::renewed(&spec.unwrap_or_default(), duration, now),
            LeaseDecision::Acquire => lease::acquired(spec.as_ref(), identity, duration, now),
        };
        self.write(current, next, "writing").await
    }

    /// Replaces `current`'s spec with `spec`, as of `current`'s resource version.
    async fn write(
        &self,
        current: Lease,
        spec: LeaseSpec,
        action: &str,
    ) -> Result<LeaseState, ControllerError> {
        let lease = Lease {
            // The resource version read makes the write conditional on nobody having
            // written since.
            metadata: current.metadata,
            spec: Some(spec),
        };
        match self
            .api
            .replace(&self.config.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(LeaseState::Leading),
            Err(e) if api_code(&e) == Some(409) => Ok(LeaseState::Following { holder: None }),
            Err(e) => Err(self.api_error(action, e)),
        }
    }

    /// Gives the lease up at `now` if this candidate holds it, so the next one takes it at
    /// once. Returns whether it did.
    ///
    /// # Errors
    /// [`ControllerError::Kubernetes`] when the API server fails a request.
    pub async fn release(&self, now: Timestamp) -> Result<bool, ControllerError> {
        let current = self
            .api
            .get_opt(&self.config.name)
            .await
            .map_err(|e| self.api_error("reading", e))?;
        let Some(current) = current else {
            return Ok(false);
        };
        let Some(spec) = current.spec.clone() else {
            return Ok(false);
        };
        if lease::holder(&spec) != Some(self.config.identity.as_str()) {
            return Ok(false);
        }
        let state = self
            .write(current, lease::released(&spec, now), "releasing")
            .await?;
        // A conflict means someone else wrote it since: there is nothing left to give up.
        Ok(state == LeaseState::Leading)
    }

    /// Tries every retry period until this candidate holds the lease, then keeps renewing
    /// it in the background. Returns `None` when `shutdown` resolves first.
    ///
    /// # Errors
    /// [`ControllerError::Kubernetes`] when the API server fails a request (no RBAC on
    /// leases, say); calling again resumes.
    pub async fn acquire(
        &self,
        shutdown: impl Future<Output = impl Sized>,
    ) -> Result<Option<Leadership>, ControllerError> {
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            if self.try_acquire_or_renew(Timestamp::now()).await? == LeaseState::Leading {
                return Ok(Some(self.hold()));
            }
            tokio::select! {
                _ = &mut shutdown => return Ok(None),
                () = tokio::time::sleep(self.config.retry_period) => {}
            }
        }
    }

    /// Starts renewing a lease this candidate just took, every renew period. Leadership
    /// ends when another candidate holds the lease at a renewal (a conflict included), or
    /// when renewals keep failing for the renew deadline.
    #[must_use]
    pub fn hold(&self) -> Leadership {
        let (lost_tx, lost) = watch::channel(None);
        let (stop, mut stopped) = oneshot::channel();
        let elector = self.clone();
        let task = tokio::spawn(async move {
            let config = &elector.config;
            let mut last_renewal = tokio::time::Instant::now();
            loop {
                tokio::select! {
                    _ = &mut stopped => return,
                    () = tokio::time::sleep(config.renew_period) => {}
                }
                let reason = match elector.try_acquire_or_renew(Timestamp::now()).await {
                    Ok(LeaseState::Leading) => {
                        last_renewal = tokio::time::Instant::now();
                        continue;
                    }
                    Ok(LeaseState::Following { holder: Some(holder) }) => format!("{holder} holds it"),
                    Ok(LeaseState::Following { holder: None }) => {
                        "another candidate wrote it first (conflict)".to_owned()
                    }
                    Err(error) if last_renewal.elapsed() >= config.renew_deadline => {
                        format!("not renewed for {:?}: {error}", config.renew_deadline)
                    }
                    // Try again next period; the lease outlives the deadline.
                    Err(_) => continue,
                };
                let _ = lost_tx.send(Some(reason));
                return;
            }
        });
        Leadership {
            elector: self.clone(),
            lost,
            stop: Some(stop),
            task: Some(task),
        }
    }
}

/// A held lease, renewed in the background until [`step_down`](Self::step_down) or until
/// it is lost.
#[derive(Debug)]
pub struct Leadership {
    elector: LeaderElector,
    lost: watch::Receiver<Option<String>>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Leadership {
    /// Resolves when leadership is lost, with why; never, while it holds. A leader must
    /// stop acting as one at once: another candidate may take the lease after it expires.
    pub fn lost(&self) -> impl Future<Output = String> + Send + 'static {
        let mut lost = self.lost.clone();
        async move {
            match lost.wait_for(Option::is_some).await {
                Ok(reason) => reason.clone().unwrap_or_default(),
                // The renewal task is gone without saying why: it was stopped.
                Err(_) => "stepped down".to_owned(),
            }
        }
    }

    /// Whether the lease is still held.
    #[must_use]
    pub fn is_leading(&self) -> bool {
        self.lost.borrow().is_none()
    }

    /// Stops renewing and gives the lease up (unless it was lost already), so the next
    /// candidate need not wait for it to expire.
    ///
    /// # Errors
    /// [`ControllerError::Kubernetes`] when the lease cannot be read or written; it then
    /// expires on its own.
    pub async fn step_down(mut self) -> Result<(), ControllerError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        if self.is_leading() {
            self.elector.release(Timestamp::now()).await?;
        }
        Ok(())
    }
}

impl Drop for Leadership {
    fn drop(&mut self) {
        // Dropped without stepping down: stop renewing, and let the lease expire.
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
