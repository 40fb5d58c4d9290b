//! Run:ai phases from the status the serving kinds report: pure functions from the objects the
//! API server returns to [`RevisionStatus`], so the mapping can be read and tested without a
//! cluster.
//!
//! | Kind | Ready / serving | Failed | Replicas |
//! | --- | --- | --- | --- |
//! | Knative `Revision` | condition `Ready` `True` | `Ready` `False` (the condition's reason and message) | `desiredReplicas`, `actualReplicas` |
//! | `LeaderWorkerSet` | condition `Available` `True`; `UpdateInProgress` `True` is `Updating` | — | `spec.replicas`, `status.replicas`, `status.readyReplicas` (groups) |
//! | KServe `InferenceService` | condition `Ready` `True` | `Ready` `False` | `minReplicas` (the predictor reports no counts) |
//! | `NIMService` | `state` `Ready` | `state` `Failed` | `replicas` or the HPA's `minReplicas`, `availableReplicas` |
//! | described kinds | ready replicas at least desired | — | the JSON pointers of the [`ResourceInterface`] |
//!
//! An object being deleted is `Deleting` whatever it reports. A revision that serves with
//! fewer ready replicas than desired is `Degraded`; a Knative or KServe revision scaled to
//! zero while ready is `Running` (the activator holds requests until a replica is up).

use runai_core::Phase;
use serde_json::Value;

use super::interface::ResourceInterface;
use crate::backend::RevisionStatus;

/// A `status.conditions` entry's status and a readable reason, by type.
fn condition<'a>(object: &'a Value, kind: &str) -> Option<(&'a str, Option<String>)> {
    let found = object
        .pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))?;
    let status = found.get("status").and_then(Value::as_str).unwrap_or("Unknown");
    let text = |key: &str| found.get(key).and_then(Value::as_str).filter(|s| !s.is_empty());
    let reason = match (text("reason"), text("message")) {
        (Some(reason), Some(message)) => Some(format!("{reason}: {message}")),
        (Some(one), None) | (None, Some(one)) => Some(one.to_owned()),
        (None, None) => None,
    };
    Some((status, reason))
}

fn count(object: &Value, pointer: &str) -> Option<u32> {
    object
        .pointer(pointer)?
        .as_u64()
        .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
}

fn deleting(object: &Value) -> bool {
    object.pointer("/metadata/deletionTimestamp").is_some()
}

/// The Run:ai revision an object was rendered for (its `run.ai/revision` label).
pub(crate) fn revision_label(object: &Value) -> String {
    object
        .pointer("/metadata/labels/run.ai~1revision")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The status with phase and counts filled from a ready condition.
fn from_condition(
    revision: String,
    object: &Value,
    desired: u32,
    ready: u32,
    ready_condition: Option<(&str, Option<String>)>,
) -> RevisionStatus {
    let starting = desired.saturating_sub(ready);
    let (phase, failed, last_error) = match ready_condition {
        _ if deleting(object) => (Phase::Deleting, 0, None),
        Some(("True", _)) if ready > 0 && ready < desired => (Phase::Degraded, 0, None),
        Some(("True", _)) => (Phase::Running, 0, None),
        Some(("False", reason)) => (Phase::Failed, desired.saturating_sub(ready).max(1), reason),
        Some((_, reason)) => (
            RevisionStatus::phase_of(desired.max(1), ready, starting.max(1), 0),
            0,
            reason,
        ),
        None => (Phase::Creating, 0, None),
    };
    RevisionStatus {
        revision,
        desired,
        starting: if phase == Phase::Failed { 0 } else { starting },
        ready,
        failed,
        last_error,
        phase,
        ..RevisionStatus::default()
    }
}

/// The status of a Knative `Revision`; `workload` is the service's name (the revision's
/// name is `{workload}-{revision}`).
///
/// ```
/// use runai_core::Phase;
/// use runai_serve::backend::kubernetes::status;
/// let revision = serde_json::json!({
///     "metadata": {"name": "llama-rev-2"},
///     "status": {"desiredReplicas": 2, "actualReplicas": 2,
///                "conditions": [{"type": "Ready", "status": "True"}]}
/// });
/// let status = status::knative_revision("llama", &revision);
/// assert_eq!((status.revision.as_str(), status.ready, status.phase), ("rev-2", 2, Phase::Running));
/// ```
#[must_use]
pub fn knative_revision(workload: &str, object: &Value) -> RevisionStatus {
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let revision = name
        .strip_prefix(workload)
        .and_then(|rest| rest.strip_prefix('-'))
        .unwrap_or(name)
        .to_owned();
    let desired = count(object, "/status/desiredReplicas").unwrap_or(0);
    let ready = count(object, "/status/actualReplicas").unwrap_or(0);
    from_condition(revision, object, desired, ready, condition(object, "Ready"))
}

/// The status of a `LeaderWorkerSet`, counted in groups.
///
/// ```
/// use runai_core::Phase;
/// use runai_serve::backend::kubernetes::status;
/// let set = serde_json::json!({
///     "metadata": {"labels": {"run.ai/revision": "rev-1"}},
///     "spec": {"replicas": 2},
///     "status": {"replicas": 2, "readyReplicas": 1,
///                "conditions": [{"type": "Available", "status": "True"}]}
/// });
/// let status = status::leader_worker_set(&set);
/// assert_eq!((status.desired, status.ready, status.phase), (2, 1, Phase::Degraded));
/// ```
#[must_use]
pub fn leader_worker_set(object: &Value) -> RevisionStatus {
    let desired = count(object, "/spec/replicas").unwrap_or(1);
    let ready = count(object, "/status/readyReplicas").unwrap_or(0);
    let mut status = from_condition(
        revision_label(object),
        object,
        desired,
        ready,
        condition(object, "Available"),
    );
    if status.phase == Phase::Creating && count(object, "/status/replicas").is_some() {
        status.phase = RevisionStatus::phase_of(desired, ready, desired - ready.min(desired), 0);
    }
    if status.phase.is_serving() && condition(object, "UpdateInProgress").is_some_and(|(s, _)| s == "True") {
        status.phase = Phase::Updating;
    }
    status
}

/// The status of a KServe `InferenceService`. KServe reports readiness but no replica counts;
/// a ready service counts its minimum replicas as ready.
///
/// ```
/// use runai_core::Phase;
/// use runai_serve::backend::kubernetes::status;
/// let service = serde_json::json!({
///     "metadata": {"labels": {"run.ai/revision": "rev-1"}},
///     "spec": {"predictor": {"minReplicas": 1}},
///     "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "RevisionFailed", "message": "image not found"}]}
/// });
/// let status = status::inference_service(&service);
/// assert_eq!(status.phase, Phase::Failed);
/// assert_eq!(status.last_error.as_deref(), Some("RevisionFailed: image not found"));
/// ```
#[must_use]
pub fn inference_service(object: &Value) -> RevisionStatus {
    let desired = count(object, "/spec/predictor/minReplicas").unwrap_or(1);
    let ready_condition = condition(object, "Ready");
    let ready = if ready_condition.as_ref().is_some_and(|(s, _)| *s == "True") {
        desired
    } else {
        0
    };
    from_condition(revision_label(object), object, desired, ready, ready_condition)
}

/// The status of a `NIMService` from its `state` and available replicas.
///
/// ```
/// use runai_core::Phase;
/// use runai_serve::backend::kubernetes::status;
/// let service = serde_json::json!({
///     "spec": {"replicas": 1},
///     "status": {"state": "Ready", "availableReplicas": 1}
/// });
/// assert_eq!(status::nim_service(&service).phase, Phase::Running);
/// ```
#[must_use]
pub fn nim_service(object: &Value) -> RevisionStatus {
    let desired = count(object, "/spec/replicas")
        .or_else(|| count(object, "/spec/scale/hpa/minReplicas"))
        .unwrap_or(1);
    let ready = count(object, "/status/availableReplicas").unwrap_or(0);
    let state = object.pointer("/status/state").and_then(Value::as_str);
    let failure = condition(object, "NIM_SERVICE_FAILED")
        .filter(|(s, _)| *s == "True")
        .and_then(|(_, reason)| reason);
    let ready_condition = match state {
        Some("Ready") => Some(("True", None)),
        Some("Failed") => Some(("False", failure.or_else(|| Some("NIMService failed".to_owned())))),
        Some(_) => Some(("Unknown", None)),
        None => None,
    };
    let mut status = from_condition(revision_label(object), object, desired, ready, ready_condition);
    if state == Some("Pending") && !deleting(object) {
        status.phase = Phase::Pending;
    }
    status
}

/// The status of an object of a kind described by a [`ResourceInterface`]: its replica
/// counts at the interface's pointers.
///
/// ```
/// use runai_core::Phase;
/// use runai_serve::backend::kubernetes::{status, ResourceInterface};
/// let interface: ResourceInterface = serde_json::from_value(serde_json::json!({
///     "apiVersion": "apps/v1", "kind": "Deployment", "plural": "deployments",
///     "podTemplate": "/spec/template", "replicas": "/spec/replicas",
///     "readyReplicas": "/status/readyReplicas"
/// }))?;
/// let object = serde_json::json!({"spec": {"replicas": 3}, "status": {"readyReplicas": 3}});
/// assert_eq!(status::described(&interface, &object).phase, Phase::Running);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[must_use]
pub fn described(interface: &ResourceInterface, object: &Value) -> RevisionStatus {
    let desired = count(object, &interface.replicas).unwrap_or(1);
    let ready = interface
        .ready_replicas
        .as_deref()
        .and_then(|p| count(object, p))
        .unwrap_or(0);
    let starting = desired.saturating_sub(ready);
    let phase = if deleting(object) {
        Phase::Deleting
    } else {
        RevisionStatus::phase_of(desired, ready, starting, 0)
    };
    RevisionStatus {
        revision: revision_label(object),
        desired,
        starting,
        ready,
        phase,
        ..RevisionStatus::default()
    }
}
