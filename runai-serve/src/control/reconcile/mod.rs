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
//! Replica counts come from the autoscaler (every pass, on the gateway's measurements) and
//! are granted by admission (the scheduler over the platform's cluster description: quotas,
//! priority, gangs, preemption); without a cluster description every wanted replica runs.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use runai_core::cluster::Cluster;
use runai_core::{DistributedInferenceSpec, InferenceSpec, NimServiceSpec, Phase};
use tokio::sync::watch;

mod route;
mod settings;

pub use settings::{CanaryStep, LoopSettings};

use super::admission::{Admission, Admitted, Decisions, Demand};
use super::autoscale::{Autoscaling, CustomMetrics, Wakeups};
use super::collect::Collector;

use crate::backend::{Backend, BackendError, Deployment, ReplicaPhase, RevisionStatus, WorkloadSpec};
use crate::gateway::{Gateway, WorkloadKey};
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
    /// When each new revision was first ready, for canary steps.
    promoted: Arc<Mutex<HashMap<String, Instant>>>,
    /// Where traffic is routed to the serving revisions, when one is attached.
    gateway: Option<Gateway>,
    /// The scheduler's state, when the platform describes a cluster.
    admission: Option<Arc<Mutex<Admission>>>,
    /// Every workload's autoscaler.
    autoscaling: Arc<Mutex<Autoscaling>>,
    /// Requests waiting at zero, reported by the gateway's activator.
    wakeups: Wakeups,
    /// Records metrics for the API, when attached.
    collector: Option<Collector>,
    /// Where custom autoscaling metrics come from, when configured.
    custom_metrics: Option<CustomMetrics>,
}

/// What one pass decided for one workload before applying it.
struct Plan {
    record: WorkloadRecord,
    revisions: Vec<RevisionRecord>,
    /// Index of the revision to run in `revisions`.
    target: usize,
    spec: WorkloadSpec,
    statuses: Vec<RevisionStatus>,
    /// Replicas the autoscaler (or the spec) wants of the target.
    wanted: u32,
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

/// How a revision's replica count is decided.
enum Sizing {
    /// A fixed count (distributed groups, NIM replicas).
    Fixed(u32),
    /// By the autoscaler, with these settings.
    Autoscaled(runai_core::spec::ResolvedAutoscaling),
}

/// The revision's spec as the backend takes it, and how its replica count is decided.
fn deployment_spec(kind: WorkloadKind, spec: &serde_json::Value) -> Result<(WorkloadSpec, Sizing), String> {
    let parsed = |e: serde_json::Error| format!("the stored spec does not parse: {e}");
    Ok(match kind {
        WorkloadKind::Distributed => {
            let spec: DistributedInferenceSpec = serde_json::from_value(spec.clone()).map_err(parsed)?;
            let groups = spec.replicas.map_or(1, |r| u32::try_from(r).unwrap_or(0));
            (spec.into(), Sizing::Fixed(groups))
        }
        WorkloadKind::Nim => {
            let spec: NimServiceSpec = serde_json::from_value(spec.clone()).map_err(parsed)?;
            let replicas = spec.replicas.map_or(1, |r| u32::try_from(r).unwrap_or(0));
            (spec.into(), Sizing::Fixed(replicas))
        }
        _ => {
            let spec: InferenceSpec = serde_json::from_value(spec.clone()).map_err(parsed)?;
            let autoscaling = spec.autoscaling.clone().unwrap_or_default().resolve();
            (spec.into(), Sizing::Autoscaled(autoscaling))
        }
    })
}

/// The position of a workload in submission order, for the scheduler's first-come order.
fn submission_order(records: &[WorkloadRecord]) -> HashMap<&str, u64> {
    let mut order: Vec<(&str, &str)> = records
        .iter()
        .map(|r| (r.created_at.as_str(), r.id.as_str()))
        .collect();
    order.sort_unstable();
    order
        .into_iter()
        .enumerate()
        .map(|(i, (_, id))| (id, i as u64))
        .collect()
}

impl ControlLoop {
    /// A loop over `store` and `backend`.
    #[must_use]
    pub fn new(store: Store, backend: Arc<dyn Backend>, settings: LoopSettings) -> Self {
        let kpa_timing = settings.kpa_timing;
        Self {
            store,
            backend,
            settings,
            started: Arc::default(),
            promoted: Arc::default(),
            gateway: None,
            admission: None,
            autoscaling: Arc::new(Mutex::new(Autoscaling::new(kpa_timing))),
            wakeups: Wakeups::default(),
            collector: None,
            custom_metrics: None,
        }
    }

    /// Reads custom autoscaling metrics (a `metric` other than `concurrency`, `throughput`
    /// and `latency`) from Prometheus. Without it, such workloads keep their replica count.
    #[must_use]
    pub fn with_custom_metrics(mut self, metrics: CustomMetrics) -> Self {
        self.custom_metrics = Some(metrics);
        self
    }

    /// Records every workload's and replica's metrics into `series` every few seconds (the
    /// series the API's metrics endpoints read): throughput and latency, pod counts, CPU and
    /// memory, GPU use where NVML is available, and the model server's own metrics.
    #[must_use]
    pub fn with_metrics(mut self, series: crate::observe::MetricSeries) -> Self {
        self.collector = Some(Collector::new(series));
        self
    }

    /// Admits and places replicas on `cluster` (nodes, GPUs, topology, projects and their
    /// quotas) with `runai-sched`'s engine: what does not fit waits in `Pending` with the
    /// reason, and higher-priority work may preempt preemptible replicas.
    #[must_use]
    pub fn with_cluster(mut self, cluster: Cluster) -> Self {
        self.admission = Some(Arc::new(Mutex::new(Admission::new(cluster))));
        self
    }

    /// Scales workloads from zero when the gateway's activator reports a waiting request
    /// (give the same [`Wakeups`] to the gateway's activator).
    #[must_use]
    pub fn with_wakeups(mut self, wakeups: Wakeups) -> Self {
        self.wakeups = wakeups;
        self
    }

    /// The cluster the loop schedules onto, when it has one.
    #[must_use]
    pub fn cluster(&self) -> Option<Cluster> {
        self.admission
            .as_ref()
            .map(|a| a.lock().unwrap_or_else(PoisonError::into_inner).cluster().clone())
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
                () = self.wakeups.notified() => {}
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
            if let Some(collector) = &self.collector {
                collector.forget(&record.id);
            }
            match self.backend.delete(&key(&record), None).await {
                Ok(()) => self.store.set_phase(&record.id, "Deleted", None)?,
                Err(error) => self
                    .store
                    .set_phase(&record.id, "Deleting", Some(&error.to_string()))?,
            }
        }
        let records = self.store.workloads()?;
        let collect = self.collector.as_ref().filter(|c| c.due());
        let mut plans = Vec::with_capacity(records.len());
        for record in &records {
            if let Some(plan) = self.plan(record, collect).await? {
                plans.push(plan);
            }
        }
        let live: HashSet<&str> = records.iter().map(|r| r.id.as_str()).collect();
        self.autoscaling
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(&live);
        let decisions = self.admit(&records, &plans);
        for eviction in &decisions.evicted {
            let by = records
                .iter()
                .find(|r| r.id == eviction.for_workload)
                .map_or(eviction.for_workload.as_str(), |r| r.name.as_str());
            let message = format!("a replica was evicted for workload {by}: {}", eviction.reason);
            self.store
                .record_event(&eviction.workload, None, "Warning", "Preempted", &message)?;
        }
        for plan in &plans {
            let target = &plan.revisions[plan.target];
            let admitted = decisions
                .admitted
                .get(&(plan.record.id.clone(), revision_name(target)))
                .cloned()
                .unwrap_or(Admitted {
                    replicas: plan.wanted,
                    waiting: None,
                });
            self.reconcile_one(plan, &admitted).await?;
        }
        Ok(())
    }

    /// Reads a workload's revisions and status and decides how many replicas it wants;
    /// `None` when it cannot run (its phase then says why).
    async fn plan(
        &self,
        record: &WorkloadRecord,
        collect: Option<&Collector>,
    ) -> Result<Option<Plan>, ControlError> {
        let revisions = self.store.revisions(&record.id)?;
        let Some(target) = revisions.iter().rposition(|r| r.phase != "Failed") else {
            self.set_phase(record, Phase::Failed.as_str(), Some("every revision failed"))?;
            return Ok(None);
        };
        let (spec, sizing) = match deployment_spec(record.kind, &revisions[target].spec) {
            Ok(parsed) => parsed,
            Err(message) => {
                self.set_phase(record, Phase::Failed.as_str(), Some(&message))?;
                return Ok(None);
            }
        };
        let workload = key(record);
        let statuses = self.backend.status(&workload).await?;
        let summary = self.gateway.as_ref().and_then(|g| g.summary(&workload));
        if let Some(collector) = collect {
            collector.collect(&record.id, &statuses, summary.as_ref()).await;
        }
        let wanted = match sizing {
            Sizing::Fixed(replicas) => replicas,
            Sizing::Autoscaled(autoscaling) => {
                let ready: u32 = statuses.iter().map(|s| s.ready).max().unwrap_or(0);
                let woken = self.wakeups.wanted(&workload, ready);
                let custom = match (&autoscaling.metric, &self.custom_metrics) {
                    (Some(runai_core::spec::Metric::Custom(metric)), Some(source)) => {
                        source
                            .value(metric, &record.name, &record.project_id, &record.id)
                            .await
                    }
                    _ => None,
                };
                self.autoscaling
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .decide(&record.id, &autoscaling, summary.as_ref(), custom, ready, woken)
                    .replicas
            }
        };
        Ok(Some(Plan {
            record: record.clone(),
            revisions,
            target,
            spec,
            statuses,
            wanted,
        }))
    }

    /// Asks the scheduler for every plan's replicas, and for the replicas older revisions
    /// still run during a rollout.
    fn admit(&self, records: &[WorkloadRecord], plans: &[Plan]) -> Decisions {
        let Some(admission) = &self.admission else {
            return Decisions::default();
        };
        let mut admission = admission.lock().unwrap_or_else(PoisonError::into_inner);
        let order = submission_order(records);
        let mut demands: Vec<Demand> = Vec::new();
        for plan in plans {
            let created = order.get(plan.record.id.as_str()).copied().unwrap_or(0);
            let target = &plan.revisions[plan.target];
            demands.push(admission.demand(
                &plan.record,
                &revision_name(target),
                &target.spec,
                plan.wanted,
                created,
            ));
            for old in plan.revisions.iter().filter(|r| r.number < target.number) {
                let name = revision_name(old);
                if let Some(status) = plan.statuses.iter().find(|s| s.revision == name) {
                    demands.push(admission.demand(&plan.record, &name, &old.spec, status.desired, created));
                }
            }
        }
        admission.admit(&demands)
    }

    async fn reconcile_one(&self, plan: &Plan, admitted: &Admitted) -> Result<(), ControlError> {
        let record = &plan.record;
        let revisions = &plan.revisions;
        let target = &revisions[plan.target];
        let workload = key(record);
        let name = revision_name(target);
        let replicas = admitted.replicas.min(plan.wanted);
        let deployment = Deployment::new(workload.clone(), name.clone(), plan.spec.clone(), replicas);
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
        // Read again: the apply may have started or stopped replicas.
        let statuses = self.backend.status(&workload).await?;
        let status_of = |name: &str| statuses.iter().find(|s| s.revision == name);
        let mut current = status_of(&name).cloned().unwrap_or_default();
        // The new revision takes over once all its replicas are ready (or it says Running).
        let ready = current.phase == Phase::Running || current.ready >= current.desired.max(1);
        if current.phase == Phase::Degraded && scaling_up(&current) {
            // Replicas that are only starting (a scale-up) do not make a serving workload
            // degraded; failing ones do.
            current.phase = Phase::Running;
        }
        let older: Vec<&RevisionRecord> = revisions
            .iter()
            .filter(|r| r.number < target.number && status_of(&revision_name(r)).is_some())
            .collect();
        let serving_older = older
            .iter()
            .any(|r| status_of(&revision_name(r)).is_some_and(|s| s.ready > 0));
        let canary = if ready && serving_older {
            self.canary_weight(&target.id)
        } else {
            None
        };
        self.route(record, target, &name, &statuses, canary);

        if !serving_older && plan.wanted > 0 && replicas == 0 {
            // Nothing may run yet: the scheduler says why.
            let why = admitted
                .waiting
                .as_deref()
                .unwrap_or("waiting for room in the cluster");
            self.store
                .set_revision_phase(&target.id, Phase::Pending.as_str(), Some(why))?;
            return self.set_phase(record, Phase::Pending.as_str(), Some(why));
        }
        if !serving_older && plan.wanted == 0 {
            // Scaled to zero: the gateway's activator holds the next request and wakes it.
            let message = "scaled to zero; the next request starts a replica";
            return self.set_phase(record, Phase::Running.as_str(), Some(message));
        }
        if let Some(weight) = canary {
            self.set_revision_phase(target, &current)?;
            let message = format!(
                "canary: revision {} takes {weight} % of the traffic",
                target.number
            );
            return self.set_phase(record, Phase::Updating.as_str(), Some(&message));
        }
        if ready {
            // The new revision is ready: the old ones drain and stop.
            for old in &older {
                self.backend.delete(&workload, Some(&revision_name(old))).await?;
                let reason = format!("replaced by revision {}", target.number);
                self.store.set_revision_phase(&old.id, "Stopped", Some(&reason))?;
            }
            self.set_revision_phase(target, &current)?;
            let mut message = ready_message(&current);
            if let Some(why) = admitted.waiting.as_deref().filter(|_| replicas < plan.wanted) {
                message = format!("{message}; {} more wait: {why}", plan.wanted - replicas);
            }
            return self.set_phase(record, current.phase.as_str(), Some(&message));
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

/// Whether every replica that is not ready is still starting (none backing off or failed).
fn scaling_up(status: &RevisionStatus) -> bool {
    status.ready > 0
        && status.failed == 0
        && status
            .replicas
            .iter()
            .all(|r| matches!(r.phase, ReplicaPhase::Ready | ReplicaPhase::Starting))
}

fn ready_message(status: &RevisionStatus) -> String {
    format!("{} of {} replicas are ready", status.ready, status.desired)
}
