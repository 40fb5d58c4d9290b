//! The control loop: makes the backend run what the store holds, and writes back what it
//! sees as Run:ai phases.
//!
//! Each pass, for every live workload, the newest revision that has not failed is applied
//! (applying is idempotent: an unchanged spec only rescales). Rolling updates go as Run:ai's
//! do: the new revision starts beside the old one, which keeps serving; once the new one is
//! ready the old ones stop; if the new one is not ready within the rollout deadline (10
//! minutes by default) it is stopped and marked failed with the reason, and the old one keeps
//! serving. Deleted workloads are stopped, then marked `Deleted`.
//!
//! Admission and placement by the scheduler and the autoscaler's replica counts come in on
//! top of this loop; today a revision runs its spec's initial replica count.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use runai_core::{DistributedInferenceSpec, InferenceSpec, NimServiceSpec, Phase};
use tokio::sync::watch;

use crate::backend::{Backend, BackendError, Deployment, RevisionStatus, WorkloadSpec};
use crate::gateway::{AccessPolicy, Gateway, RevisionEndpoints, WorkloadKey};
use crate::store::{RevisionRecord, Store, StoreError, WorkloadKind, WorkloadRecord};

/// What stopped a pass of the loop.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The backend failed in a way that is not one workload's fault.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// How the loop paces itself.
///
/// ```
/// let settings = runai_serve::control::LoopSettings::default();
/// assert_eq!(settings.rollout_deadline.as_secs(), 600);
/// ```
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct LoopSettings {
    /// Time between passes when nothing changes.
    pub interval: Duration,
    /// How long a new revision may take to become ready before the update is abandoned.
    pub rollout_deadline: Duration,
}

impl Default for LoopSettings {
    /// A pass every 2 s; Run:ai's 10-minute rollout deadline.
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(2),
            rollout_deadline: Duration::from_secs(600),
        }
    }
}

impl LoopSettings {
    /// Sets the time between passes.
    ///
    /// ```
    /// let settings = runai_serve::control::LoopSettings::default().interval(std::time::Duration::from_millis(500));
    /// assert_eq!(settings.interval.as_millis(), 500);
    /// ```
    #[must_use]
    pub fn interval(mut self, interval: std::time::Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Sets the rollout deadline.
    ///
    /// ```
    /// let settings = runai_serve::control::LoopSettings::default().rollout_deadline(std::time::Duration::from_secs(1800));
    /// assert_eq!(settings.rollout_deadline.as_secs(), 1800);
    /// ```
    #[must_use]
    pub fn rollout_deadline(mut self, deadline: std::time::Duration) -> Self {
        self.rollout_deadline = deadline;
        self
    }
}

/// The control loop over a store and a backend.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use runai_serve::backend::{LocalBackend, LocalConfig};
/// use runai_serve::control::{ControlLoop, LoopSettings};
/// use runai_serve::store::Store;
/// let store = Store::open("runai.db")?;
/// let control = ControlLoop::new(store, Arc::new(LocalBackend::new(LocalConfig::default())), LoopSettings::default());
/// let (_stop, stopped) = tokio::sync::watch::channel(false);
/// control.run(stopped).await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ControlLoop {
    store: Store,
    backend: Arc<dyn Backend>,
    settings: LoopSettings,
    /// When each revision was first applied, for the rollout deadline.
    started: Arc<Mutex<HashMap<String, Instant>>>,
    /// Where traffic is routed to the serving revisions, when one is attached.
    gateway: Option<Gateway>,
}

impl std::fmt::Debug for ControlLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlLoop")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// A revision's name on the backend and in the gateway.
fn revision_name(revision: &RevisionRecord) -> String {
    format!("rev-{}", revision.number)
}

/// The number of a revision named by [`revision_name`].
fn revision_number(name: &str) -> i64 {
    name.strip_prefix("rev-")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn key(record: &WorkloadRecord) -> WorkloadKey {
    WorkloadKey::new(record.project_id.clone(), record.name.clone())
}

/// The revision's spec as the backend takes it, and its replica count.
fn deployment_spec(kind: WorkloadKind, spec: &serde_json::Value) -> Result<(WorkloadSpec, u32), String> {
    let parsed = |e: serde_json::Error| format!("the stored spec does not parse: {e}");
    Ok(match kind {
        WorkloadKind::Distributed => {
            let spec: DistributedInferenceSpec = serde_json::from_value(spec.clone()).map_err(parsed)?;
            let groups = spec.replicas.map_or(1, |r| u32::try_from(r).unwrap_or(0));
            (spec.into(), groups)
        }
        WorkloadKind::Nim => {
            let spec: NimServiceSpec = serde_json::from_value(spec.clone()).map_err(parsed)?;
            let replicas = spec.replicas.map_or(1, |r| u32::try_from(r).unwrap_or(0));
            (spec.into(), replicas)
        }
        _ => {
            let spec: InferenceSpec = serde_json::from_value(spec.clone()).map_err(parsed)?;
            let replicas = spec
                .autoscaling
                .clone()
                .unwrap_or_default()
                .resolve()
                .initial_replicas;
            (spec.into(), replicas)
        }
    })
}

impl ControlLoop {
    /// A loop over `store` and `backend`.
    #[must_use]
    pub fn new(store: Store, backend: Arc<dyn Backend>, settings: LoopSettings) -> Self {
        Self {
            store,
            backend,
            settings,
            started: Arc::default(),
            gateway: None,
        }
    }

    /// Routes each workload's traffic through `gateway` to its serving revision: the old
    /// revision until the new one is ready, then all of it to the new one at once, as Run:ai
    /// does; access follows the spec's serving port.
    #[must_use]
    pub fn with_gateway(mut self, gateway: Gateway) -> Self {
        self.gateway = Some(gateway);
        self
    }

    /// Runs passes until `stop` turns true: after every `interval`, and as soon as the
    /// backend reports a change. A failed pass is retried on the next one.
    pub async fn run(&self, mut stop: watch::Receiver<bool>) {
        let mut changes = self.backend.changes();
        while !*stop.borrow() {
            // A failed pass leaves every workload as it was; the next pass tries again.
            let _ = self.reconcile().await;
            tokio::select! {
                _ = stop.changed() => {}
                _ = changes.changed() => {}
                () = tokio::time::sleep(self.settings.interval) => {}
            }
        }
    }

    /// One pass over every workload.
    ///
    /// # Errors
    /// [`ControlError`] when the store fails; one workload's backend failure is written to
    /// its phase instead.
    pub async fn reconcile(&self) -> Result<(), ControlError> {
        for record in self.store.deleting_workloads()? {
            if let Some(gateway) = &self.gateway {
                gateway.remove_workload(&key(&record));
            }
            match self.backend.delete(&key(&record), None).await {
                Ok(()) => self.store.set_phase(&record.id, "Deleted", None)?,
                Err(error) => self
                    .store
                    .set_phase(&record.id, "Deleting", Some(&error.to_string()))?,
            }
        }
        for record in self.store.workloads()? {
            self.reconcile_one(&record).await?;
        }
        Ok(())
    }

    async fn reconcile_one(&self, record: &WorkloadRecord) -> Result<(), ControlError> {
        let revisions = self.store.revisions(&record.id)?;
        let Some(target) = revisions.iter().rev().find(|r| r.phase != "Failed") else {
            return self.set_phase(record, Phase::Failed.as_str(), Some("every revision failed"));
        };
        let workload = key(record);
        let (spec, replicas) = match deployment_spec(record.kind, &target.spec) {
            Ok(parsed) => parsed,
            Err(message) => return self.set_phase(record, Phase::Failed.as_str(), Some(&message)),
        };
        let name = revision_name(target);
        let deployment = Deployment::new(workload.clone(), name.clone(), spec, replicas);
        if let Err(error) = self.backend.apply(&deployment).await {
            self.store
                .set_revision_phase(&target.id, "Failed", Some(&error.to_string()))?;
            return self.set_phase(record, Phase::Failed.as_str(), Some(&error.to_string()));
        }
        let first_applied = *self
            .started
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(target.id.clone())
            .or_insert_with(Instant::now);
        let statuses = self.backend.status(&workload).await?;
        let status_of = |name: &str| statuses.iter().find(|s| s.revision == name);
        let current = status_of(&name).cloned().unwrap_or_default();
        let older: Vec<&RevisionRecord> = revisions
            .iter()
            .filter(|r| r.number < target.number && status_of(&revision_name(r)).is_some())
            .collect();
        let serving_older = older
            .iter()
            .any(|r| status_of(&revision_name(r)).is_some_and(|s| s.ready > 0));
        self.route(record, target, &name, &statuses);

        if current.phase == Phase::Running || current.ready >= current.desired.max(1) {
            // The new revision is ready: the old ones drain and stop.
            for old in &older {
                self.backend.delete(&workload, Some(&revision_name(old))).await?;
                let reason = format!("replaced by revision {}", target.number);
                self.store.set_revision_phase(&old.id, "Stopped", Some(&reason))?;
            }
            self.set_revision_phase(target, &current)?;
            return self.set_phase(record, current.phase.as_str(), Some(&ready_message(&current)));
        }
        if serving_older && first_applied.elapsed() > self.settings.rollout_deadline {
            // Abandon the update: the old revision keeps serving.
            self.backend.delete(&workload, Some(&name)).await?;
            let reason = format!(
                "not ready within {} s; the previous revision keeps serving{}",
                self.settings.rollout_deadline.as_secs(),
                current
                    .last_error
                    .as_deref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default()
            );
            self.store
                .set_revision_phase(&target.id, "Failed", Some(&reason))?;
            self.store
                .record_event(&record.id, Some(&target.id), "Warning", "RolloutFailed", &reason)?;
            return self.set_phase(record, Phase::Running.as_str(), Some(&reason));
        }
        self.set_revision_phase(target, &current)?;
        if serving_older {
            let message = format!(
                "rolling out revision {}: {}",
                target.number,
                ready_message(&current)
            );
            return self.set_phase(record, Phase::Updating.as_str(), Some(&message));
        }
        self.set_phase(record, current.phase.as_str(), current.last_error.as_deref())
    }

    /// Points the gateway at the revision that should take the traffic: the target once it
    /// has ready replicas, else the newest older one that has.
    fn route(
        &self,
        record: &WorkloadRecord,
        target: &RevisionRecord,
        name: &str,
        statuses: &[RevisionStatus],
    ) {
        let Some(gateway) = &self.gateway else {
            return;
        };
        let workload = key(record);
        // Access first: a workload whose policy needs tokens is never routed by a gateway that
        // cannot check them.
        if let Ok(spec) = serde_json::from_value::<InferenceSpec>(target.spec.clone())
            && let Some(port) = &spec.serving_port
            && gateway
                .set_access(&workload, AccessPolicy::from_serving_port(port))
                .is_err()
        {
            gateway.remove_workload(&workload);
            return;
        }
        let serving = statuses
            .iter()
            .filter(|s| !s.endpoints.is_empty())
            .max_by_key(|s| (s.revision == name, revision_number(&s.revision)));
        let endpoints: Vec<&str> = serving
            .map(|s| s.endpoints.iter().map(String::as_str).collect())
            .unwrap_or_default();
        let revision = serving.map_or(name, |s| s.revision.as_str());
        // A workload whose replicas are not up yet stays known to the gateway with nothing to
        // serve it (an attached activator holds its requests). Local endpoints are always
        // well-formed http URLs, so an update cannot be refused.
        let _ = gateway.update_revisions(
            &workload,
            &[RevisionEndpoints {
                revision,
                weight: 100,
                replicas: &endpoints,
            }],
        );
    }

    /// Writes a phase only when it changed, so events record changes, not passes.
    fn set_phase(
        &self,
        record: &WorkloadRecord,
        phase: &str,
        message: Option<&str>,
    ) -> Result<(), ControlError> {
        if record.phase != phase || record.phase_message.as_deref() != message {
            self.store.set_phase(&record.id, phase, message)?;
        }
        Ok(())
    }

    fn set_revision_phase(
        &self,
        revision: &RevisionRecord,
        status: &RevisionStatus,
    ) -> Result<(), ControlError> {
        let phase = status.phase.as_str();
        if revision.phase != phase || revision.phase_message.as_deref() != status.last_error.as_deref() {
            self.store
                .set_revision_phase(&revision.id, phase, status.last_error.as_deref())?;
        }
        Ok(())
    }
}

fn ready_message(status: &RevisionStatus) -> String {
    format!("{} of {} replicas are ready", status.ready, status.desired)
}
