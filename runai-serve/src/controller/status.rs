//! The status of an `InferenceWorkload`, derived from what the backend reports: pure
//! functions of the previous status, the object's generation, the revision asked for, the
//! revisions' statuses and the time, so every rule can be read and tested without a cluster.
//!
//! Conditions:
//!
//! | type | `True` when |
//! | --- | --- |
//! | `Applied` | the objects of the current generation were applied |
//! | `RevisionReady` | the current revision serves |
//! | `Ready` | the workload serves (phase `Running`, `Updating` or `Degraded`) |
//!
//! A condition keeps its `lastTransitionTime` while its status stays the same, so a status
//! derived twice from the same cluster state is equal and nothing is written.

use k8s_openapi::jiff::Timestamp;
use runai_core::crd::InferenceWorkloadStatus;
use runai_core::{Condition, Phase};

use crate::backend::RevisionStatus;

/// Condition type: the objects of the current generation were applied.
pub const APPLIED: &str = "Applied";
/// Condition type: the current revision serves.
pub const REVISION_READY: &str = "RevisionReady";
/// Condition type: the workload serves.
pub const READY: &str = "Ready";

/// `time` as Kubernetes writes condition times (RFC 3339, whole seconds, UTC).
fn rfc3339(time: Timestamp) -> String {
    time.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `condition`, with the transition time of the previous condition of its type when the
/// status did not change, else `now`.
fn transition(previous: &[Condition], mut condition: Condition, now: Timestamp) -> Condition {
    let unchanged = previous
        .iter()
        .find(|c| c.kind == condition.kind && c.status == condition.status);
    condition.last_transition_time = match unchanged {
        Some(old) if old.last_transition_time.is_some() => old.last_transition_time.clone(),
        _ => Some(rfc3339(now)),
    };
    condition
}

fn condition(kind: &str, ok: bool, reason: &str, message: Option<String>) -> Condition {
    let mut condition = Condition::new(kind, if ok { "True" } else { "False" });
    condition.reason = Some(reason.to_owned());
    condition.message = message;
    condition
}

fn count(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The status of a workload whose revision `revision` was applied and whose revisions now
/// report `revisions`.
///
/// The phase is the current revision's, except while an older revision still serves and
/// the current one does not yet: then it is `Updating`. `readyRevision` is the current
/// revision once it serves, else the older one that does; `url` is where that one serves.
/// Replica counts add up every revision's.
///
/// ```
/// use k8s_openapi::jiff::Timestamp;
/// use runai_core::Phase;
/// use runai_serve::backend::RevisionStatus;
/// use runai_serve::controller::status::observed;
/// let mut old = RevisionStatus::default();
/// (old.revision, old.phase, old.desired, old.ready) = ("rev-1".into(), Phase::Running, 1, 1);
/// old.endpoints = vec!["http://llama.team-a.example.com".into()];
/// let mut new = RevisionStatus::default();
/// (new.revision, new.phase, new.desired) = ("rev-2".into(), Phase::Initializing, 1);
/// let status = observed(None, Some(3), "rev-2", &[old, new], Timestamp::UNIX_EPOCH);
/// assert_eq!(status.phase, Some(Phase::Updating));
/// assert_eq!(status.ready_revision.as_deref(), Some("rev-1"));
/// assert_eq!(status.url.as_deref(), Some("http://llama.team-a.example.com"));
/// assert_eq!((status.replicas, status.ready_replicas), (Some(2), Some(1)));
/// assert_eq!(status.observed_generation, Some(3));
/// ```
#[must_use]
pub fn observed(
    previous: Option<&InferenceWorkloadStatus>,
    generation: Option<i64>,
    revision: &str,
    revisions: &[RevisionStatus],
    now: Timestamp,
) -> InferenceWorkloadStatus {
    let current = revisions.iter().find(|r| r.revision == revision);
    let older_serving = revisions
        .iter()
        .filter(|r| r.revision != revision)
        .find(|r| r.phase.is_serving());
    let current_serves = current.is_some_and(|r| r.phase.is_serving());
    let phase = match (current, older_serving) {
        (Some(current), _) if current_serves => current.phase.clone(),
        (_, Some(_)) => Phase::Updating,
        (Some(current), None) => current.phase.clone(),
        (None, None) => Phase::Creating,
    };
    let message = current.and_then(|r| r.last_error.clone());
    let serving = if current_serves { current } else { older_serving };
    let previous_conditions = previous.map(|s| s.conditions.as_slice()).unwrap_or_default();
    let revision_reason = current.map_or("NotCreated", |r| r.phase.as_str());
    let conditions = vec![
        condition(
            APPLIED,
            true,
            "Applied",
            Some(format!("revision {revision} applied")),
        ),
        condition(REVISION_READY, current_serves, revision_reason, message.clone()),
        condition(READY, phase.is_serving(), phase.as_str(), message.clone()),
    ];
    InferenceWorkloadStatus {
        phase: Some(phase),
        phase_message: message,
        conditions: conditions
            .into_iter()
            .map(|c| transition(previous_conditions, c, now))
            .collect(),
        current_revision: Some(revision.to_owned()),
        ready_revision: serving.map(|r| r.revision.clone()),
        replicas: Some(count(revisions.iter().map(|r| r.desired).sum())),
        ready_replicas: Some(count(revisions.iter().map(|r| r.ready).sum())),
        url: serving.and_then(|r| r.endpoints.first().cloned()),
        observed_generation: generation,
    }
}

/// The status of a workload whose spec cannot run: phase `Failed`, `message` (which names
/// the field) as the phase message, and every condition `False` with `reason`. What still
/// serves from an earlier spec (ready revision, URL, replicas) is kept.
///
/// ```
/// use k8s_openapi::jiff::Timestamp;
/// use runai_core::Phase;
/// use runai_serve::controller::status::failed;
/// let status = failed(None, Some(2), "InvalidSpec", "spec.servingPort: is required".into(), Timestamp::UNIX_EPOCH);
/// assert_eq!(status.phase, Some(Phase::Failed));
/// assert_eq!(status.phase_message.as_deref(), Some("spec.servingPort: is required"));
/// assert!(status.conditions.iter().all(|c| c.status == "False"));
/// assert_eq!(status.observed_generation, Some(2));
/// ```
#[must_use]
pub fn failed(
    previous: Option<&InferenceWorkloadStatus>,
    generation: Option<i64>,
    reason: &str,
    message: String,
    now: Timestamp,
) -> InferenceWorkloadStatus {
    let previous = previous.cloned().unwrap_or_default();
    let conditions = [APPLIED, REVISION_READY, READY]
        .into_iter()
        .map(|kind| condition(kind, false, reason, Some(message.clone())))
        .map(|c| transition(&previous.conditions, c, now))
        .collect();
    InferenceWorkloadStatus {
        phase: Some(Phase::Failed),
        phase_message: Some(message),
        conditions,
        current_revision: None,
        observed_generation: generation,
        ..previous
    }
}

/// The previous status with `Applied` turned `False` (reason `ApplyFailed`, `message`), for
/// an apply that failed in a way a retry may fix; everything else, the observed generation
/// included, stays as it was, so the status never claims a generation it did not apply.
///
/// ```
/// use k8s_openapi::jiff::Timestamp;
/// use runai_serve::controller::status::{APPLIED, apply_failed};
/// let status = apply_failed(None, "the API server is unavailable".into(), Timestamp::UNIX_EPOCH);
/// let applied = status.conditions.iter().find(|c| c.kind == APPLIED).unwrap();
/// assert_eq!((applied.status.as_str(), applied.reason.as_deref()), ("False", Some("ApplyFailed")));
/// ```
#[must_use]
pub fn apply_failed(
    previous: Option<&InferenceWorkloadStatus>,
    message: String,
    now: Timestamp,
) -> InferenceWorkloadStatus {
    let mut status = previous.cloned().unwrap_or_default();
    let applied = transition(
        &status.conditions,
        condition(APPLIED, false, "ApplyFailed", Some(message)),
        now,
    );
    match status.conditions.iter_mut().find(|c| c.kind == APPLIED) {
        Some(slot) => *slot = applied,
        None => status.conditions.insert(0, applied),
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revision(name: &str, phase: Phase, desired: u32, ready: u32) -> RevisionStatus {
        RevisionStatus {
            revision: name.to_owned(),
            phase,
            desired,
            ready,
            ..RevisionStatus::default()
        }
    }

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(second).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    fn find<'a>(status: &'a InferenceWorkloadStatus, kind: &str) -> &'a Condition {
        status.conditions.iter().find(|c| c.kind == kind).unwrap()
    }

    #[test]
    fn nothing_reported_yet_is_creating() {
        let status = observed(None, Some(1), "rev-a", &[], at(0));
        assert_eq!(status.phase, Some(Phase::Creating));
        assert_eq!(status.ready_revision, None);
        assert_eq!(find(&status, READY).status, "False");
        assert_eq!(
            find(&status, REVISION_READY).reason.as_deref(),
            Some("NotCreated")
        );
        assert_eq!(find(&status, APPLIED).status, "True");
    }

    #[test]
    fn a_serving_current_revision_is_ready() {
        let mut current = revision("rev-a", Phase::Running, 2, 2);
        current.endpoints = vec!["http://llama".to_owned()];
        let status = observed(None, Some(4), "rev-a", &[current], at(0));
        assert_eq!(status.phase, Some(Phase::Running));
        assert_eq!(status.ready_revision.as_deref(), Some("rev-a"));
        assert_eq!(status.url.as_deref(), Some("http://llama"));
        assert_eq!(find(&status, READY).status, "True");
        assert_eq!(find(&status, READY).reason.as_deref(), Some("Running"));
        assert_eq!(
            find(&status, READY).last_transition_time.as_deref(),
            Some("1970-01-01T00:00:00Z")
        );
    }

    #[test]
    fn a_failed_current_revision_reports_its_error() {
        let mut current = revision("rev-a", Phase::Failed, 1, 0);
        current.last_error = Some("RevisionFailed: image pull back-off".to_owned());
        let status = observed(None, Some(1), "rev-a", &[current], at(0));
        assert_eq!(status.phase, Some(Phase::Failed));
        assert_eq!(
            status.phase_message.as_deref(),
            Some("RevisionFailed: image pull back-off")
        );
        assert_eq!(find(&status, READY).status, "False");
    }

    #[test]
    fn transition_times_move_only_when_a_status_changes() {
        let first = observed(
            None,
            Some(1),
            "rev-a",
            &[revision("rev-a", Phase::Initializing, 1, 0)],
            at(10),
        );
        let same = observed(
            Some(&first),
            Some(1),
            "rev-a",
            &[revision("rev-a", Phase::Initializing, 1, 0)],
            at(20),
        );
        assert_eq!(first, same, "an unchanged cluster gives an equal status");
        let ready = observed(
            Some(&same),
            Some(1),
            "rev-a",
            &[revision("rev-a", Phase::Running, 1, 1)],
            at(30),
        );
        assert_eq!(
            find(&ready, READY).last_transition_time.as_deref(),
            Some("1970-01-01T00:00:30Z")
        );
        assert_eq!(
            find(&ready, APPLIED).last_transition_time.as_deref(),
            Some("1970-01-01T00:00:10Z")
        );
    }

    #[test]
    fn failed_keeps_what_still_serves() {
        let running = observed(
            None,
            Some(1),
            "rev-a",
            &[revision("rev-a", Phase::Running, 1, 1)],
            at(0),
        );
        let status = failed(
            Some(&running),
            Some(2),
            "InvalidSpec",
            "spec.image: bad".to_owned(),
            at(5),
        );
        assert_eq!(status.phase, Some(Phase::Failed));
        assert_eq!(status.ready_revision.as_deref(), Some("rev-a"));
        assert_eq!(status.current_revision, None);
        assert_eq!(status.observed_generation, Some(2));
        assert_eq!(find(&status, READY).reason.as_deref(), Some("InvalidSpec"));
    }

    #[test]
    fn apply_failed_leaves_the_generation_alone() {
        let running = observed(
            None,
            Some(1),
            "rev-a",
            &[revision("rev-a", Phase::Running, 1, 1)],
            at(0),
        );
        let status = apply_failed(Some(&running), "timed out".to_owned(), at(5));
        assert_eq!(status.observed_generation, Some(1));
        assert_eq!(status.phase, Some(Phase::Running));
        assert_eq!(find(&status, APPLIED).status, "False");
        assert_eq!(status.conditions.len(), 3);
    }
}
