//! Reconciling one `InferenceWorkload`: the finalizer, the apply, the status and the
//! events.
//!
//! Every reconcile applies the spec with server-side apply, even when the generation was
//! seen before: applying an unchanged spec is a no-op for the API server, and it puts back
//! objects someone deleted or edited by hand. What keeps the controller from waking itself
//! is the trigger filter (see [`run`](super::run)) and writing status only when it changed.

use std::sync::Arc;
use std::time::Instant;

use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event as KubeEvent, EventType};
use kube::runtime::finalizer::{self, Event};
use kube::{Resource, ResourceExt};
use runai_core::crd::{InferenceWorkload, InferenceWorkloadStatus};
use runai_core::{Phase, Validate, ValidationErrors};
use serde_json::json;

use super::{Context, ControllerError, revision_name, status};
use crate::backend::kubernetes::KubernetesBackend;
use crate::backend::{Backend, BackendError, Deployment};
use crate::gateway::WorkloadKey;

/// The finalizer that holds a deleted `InferenceWorkload` until its objects are deleted.
pub const FINALIZER: &str = "serving.runai.dev/cleanup";

/// The label that names a workload's Run:ai project; without it the project is the
/// namespace, less Run:ai's `runai-` prefix.
pub const PROJECT_LABEL: &str = "run.ai/project";

/// The longest event note the events API accepts (1 kB).
const NOTE_LIMIT: usize = 1024;

/// The workload an `InferenceWorkload` stands for: its project and name.
///
/// ```
/// use runai_core::{InferenceSpec, crd::InferenceWorkload};
/// use runai_serve::controller::workload_key;
/// let mut object = InferenceWorkload::new("llama", InferenceSpec::default());
/// object.metadata.namespace = Some("runai-team-a".into());
/// assert_eq!(workload_key(&object)?.to_string(), "team-a/llama");
/// # Ok::<(), runai_serve::controller::ControllerError>(())
/// ```
///
/// # Errors
/// [`ControllerError::MissingField`] when the object has no namespace.
pub fn workload_key(object: &InferenceWorkload) -> Result<WorkloadKey, ControllerError> {
    let namespace = namespace(object)?;
    let project = match object.labels().get(PROJECT_LABEL) {
        Some(project) if !project.is_empty() => project.clone(),
        _ => namespace.strip_prefix("runai-").unwrap_or(&namespace).to_owned(),
    };
    Ok(WorkloadKey::new(project, object.name_any()))
}

fn namespace(object: &InferenceWorkload) -> Result<String, ControllerError> {
    object.namespace().ok_or(ControllerError::MissingField {
        field: "metadata.namespace",
    })
}

/// `namespace/name`, the key of an object's failure count.
fn object_key(object: &InferenceWorkload) -> String {
    format!("{}/{}", object.namespace().unwrap_or_default(), object.name_any())
}

/// Reconciles one `InferenceWorkload`, for [`kube::runtime::Controller::run`].
///
/// - First sight: adds the finalizer [`FINALIZER`] and waits for the update that brings.
/// - Deleted: deletes the workload's objects, then removes the finalizer.
/// - Otherwise: validates the spec (an invalid one gets phase `Failed` and a message that
///   names the field), applies it as revision [`revision_name`] in the object's namespace
///   with the object as owner, reads the revisions' status back, and writes the status
///   subresource when it changed, with an event when the phase changed.
///
/// ```no_run
/// # async fn run(object: std::sync::Arc<runai_core::crd::InferenceWorkload>) -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use runai_serve::controller::{Context, ControllerConfig, reconcile};
/// let context = Arc::new(Context::new(kube::Client::try_default().await?, ControllerConfig::default()));
/// let action = reconcile(object, context).await?;
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`ControllerError`] when the API server refuses or fails a request; the controller
/// retries after [`error_policy`]'s delay.
pub async fn reconcile(
    object: Arc<InferenceWorkload>,
    context: Arc<Context>,
) -> Result<Action, ControllerError> {
    let started = Instant::now();
    let key = object_key(&object);
    let result = reconcile_object(object, &context).await;
    context.metrics.record(started.elapsed(), result.as_ref().err());
    if result.is_ok() {
        context.succeeded(&key);
    }
    result
}

/// How long to wait before retrying an object whose reconcile failed: the
/// [`ControllerConfig::retry_delay`](super::ControllerConfig::retry_delay) of its failures
/// in a row, so a workload the API server keeps refusing backs off instead of spinning.
///
/// ```no_run
/// # fn run(object: std::sync::Arc<runai_core::crd::InferenceWorkload>, context: std::sync::Arc<runai_serve::controller::Context>) {
/// use runai_serve::controller::{ControllerError, error_policy};
/// let error = ControllerError::MissingField { field: "metadata.namespace" };
/// let action = error_policy(object, &error, context);
/// # }
/// ```
// The signature is the one `Controller::run` calls.
#[allow(clippy::needless_pass_by_value)]
#[must_use]
pub fn error_policy(
    object: Arc<InferenceWorkload>,
    _error: &ControllerError,
    context: Arc<Context>,
) -> Action {
    let failures = context.failed(&object_key(&object));
    Action::requeue(context.config.retry_delay(failures))
}

async fn reconcile_object(
    object: Arc<InferenceWorkload>,
    context: &Context,
) -> Result<Action, ControllerError> {
    let api: Api<InferenceWorkload> = Api::namespaced(context.client.clone(), &namespace(&object)?);
    let status_api = &api;
    finalizer::finalizer(&api, FINALIZER, object, |event| async move {
        match event {
            Event::Apply(object) => apply(status_api, &object, context).await,
            Event::Cleanup(object) => cleanup(&object, context).await,
        }
    })
    .await
    .map_err(from_finalizer)
}

fn from_finalizer(error: finalizer::Error<ControllerError>) -> ControllerError {
    match error {
        finalizer::Error::ApplyFailed(error) | finalizer::Error::CleanupFailed(error) => error,
        finalizer::Error::AddFinalizer(source) => {
            ControllerError::kubernetes(format!("adding the finalizer {FINALIZER}"), source)
        }
        finalizer::Error::RemoveFinalizer(source) => {
            ControllerError::kubernetes(format!("removing the finalizer {FINALIZER}"), source)
        }
        finalizer::Error::UnnamedObject => ControllerError::MissingField {
            field: "metadata.name",
        },
        finalizer::Error::InvalidFinalizer => ControllerError::Finalizer {
            finalizer: FINALIZER,
            reason: "not a valid JSON pointer".to_owned(),
        },
    }
}

/// The backend for `object`'s workload: its objects live in the object's namespace and
/// name the object as their controlling owner, so Kubernetes also collects them if the
/// finalizer is ever removed by hand.
fn backend_for(object: &InferenceWorkload, context: &Context) -> Result<KubernetesBackend, ControllerError> {
    let owner = object
        .controller_owner_ref(&())
        .ok_or(ControllerError::MissingField {
            field: "metadata.uid",
        })?;
    let config = context
        .config
        .backend
        .clone()
        .namespace(namespace(object)?)
        .owner(owner);
    Ok(KubernetesBackend::new(context.client.clone(), config))
}

/// The phase message of an invalid spec: every violation, with its path from the object.
fn invalid_spec_message(errors: &ValidationErrors) -> String {
    let violations: Vec<String> = errors
        .violations()
        .iter()
        .map(|v| format!("spec.{}: {}", v.path, v.message))
        .collect();
    format!("invalid spec: {}", violations.join("; "))
}

async fn apply(
    api: &Api<InferenceWorkload>,
    object: &InferenceWorkload,
    context: &Context,
) -> Result<Action, ControllerError> {
    let now = Timestamp::now();
    let previous = object.status.as_ref();
    let generation = object.metadata.generation;
    if let Err(errors) = object.spec.validate() {
        let message = invalid_spec_message(&errors);
        let status = status::failed(previous, generation, "InvalidSpec", message.clone(), now);
        write_status(api, object, context, status, Some(("InvalidSpec", message))).await?;
        // Only an edit can fix the spec, and an edit changes the generation.
        return Ok(Action::await_change());
    }
    let workload = workload_key(object)?;
    let revision = revision_name(&object.spec);
    let backend = backend_for(object, context)?;
    let spec = object.spec.with_defaults();
    let replicas = spec
        .autoscaling
        .clone()
        .unwrap_or_default()
        .resolve()
        .initial_replicas;
    let deployment = Deployment::new(workload.clone(), revision.clone(), spec, replicas);
    match backend.apply(&deployment).await {
        Ok(()) => {}
        // The spec is valid but cannot be expressed as the kind it runs as: like an
        // invalid spec, only an edit fixes it.
        Err(error @ (BackendError::Render(_) | BackendError::Unsupported { .. })) => {
            let message = error.to_string();
            let status = status::failed(previous, generation, "CannotRender", message.clone(), now);
            write_status(api, object, context, status, Some(("CannotRender", message))).await?;
            return Ok(Action::await_change());
        }
        Err(error) => {
            let message = error.to_string();
            publish(context, object, EventType::Warning, "ApplyFailed", &message).await;
            let status = status::apply_failed(previous, message, now);
            write_status(api, object, context, status, None).await?;
            return Err(error.into());
        }
    }
    let revisions = backend.status(&workload).await?;
    let status = status::observed(previous, generation, &revision, &revisions, now);
    let settled = status.phase == Some(Phase::Running) && status.ready_revision.as_deref() == Some(&revision);
    write_status(api, object, context, status, None).await?;
    Ok(Action::requeue(if settled {
        context.config.refresh_serving
    } else {
        context.config.refresh_progressing
    }))
}

async fn cleanup(object: &InferenceWorkload, context: &Context) -> Result<Action, ControllerError> {
    let workload = workload_key(object)?;
    backend_for(object, context)?.delete(&workload, None).await?;
    Ok(Action::await_change())
}

/// Writes `status` to the status subresource unless it equals what is there, and records
/// an event when the phase changed (`warning`, when given, names the reason and the note of
/// a warning that replaces the plain phase-change event).
async fn write_status(
    api: &Api<InferenceWorkload>,
    object: &InferenceWorkload,
    context: &Context,
    status: InferenceWorkloadStatus,
    warning: Option<(&str, String)>,
) -> Result<(), ControllerError> {
    let previous = object.status.as_ref();
    if previous == Some(&status) {
        return Ok(());
    }
    let name = object.name_any();
    // Server-side apply of the whole status: fields this manager wrote before and leaves
    // out now (a phase message that no longer applies, say) are removed.
    let patch = json!({
        "apiVersion": InferenceWorkload::api_version(&()),
        "kind": InferenceWorkload::kind(&()),
        "status": serde_json::to_value(&status).map_err(|source| ControllerError::Encode {
            what: "the status",
            source,
        })?,
    });
    let params = PatchParams::apply(&context.config.field_manager).force();
    api.patch_status(&name, &params, &Patch::Apply(&patch))
        .await
        .map_err(|e| {
            ControllerError::kubernetes(format!("writing the status of {}", object_key(object)), e)
        })?;
    let old_phase = previous.and_then(|s| s.phase.clone());
    let old_message = previous.and_then(|s| s.phase_message.clone());
    match warning {
        Some((reason, note)) if old_phase != status.phase || old_message != status.phase_message => {
            publish(context, object, EventType::Warning, reason, &note).await;
        }
        _ if old_phase != status.phase => {
            let to = status.phase.as_ref().map_or("Unknown", Phase::as_str);
            let from = old_phase.as_ref().map_or("none", Phase::as_str);
            let mut note = format!("phase {from} -> {to}");
            if let Some(message) = &status.phase_message {
                note = format!("{note}: {message}");
            }
            let kind = if status.phase == Some(Phase::Failed) {
                EventType::Warning
            } else {
                EventType::Normal
            };
            publish(context, object, kind, "PhaseChanged", &note).await;
        }
        _ => {}
    }
    Ok(())
}

/// Records an event on `object`. Events are for people reading `kubectl describe`; one
/// that cannot be recorded must not fail the reconcile, so errors are dropped.
async fn publish(context: &Context, object: &InferenceWorkload, kind: EventType, reason: &str, note: &str) {
    let event = KubeEvent {
        type_: kind,
        reason: reason.to_owned(),
        note: Some(truncate(note, NOTE_LIMIT)),
        action: "Reconcile".to_owned(),
        secondary: None,
    };
    let _ = context.recorder.publish(&event, &object.object_ref(&())).await;
}

/// `text` cut to at most `limit` bytes, on a character boundary.
fn truncate(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_owned();
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_keeps_characters_whole() {
        assert_eq!(truncate("abc", 10), "abc");
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("héllo", 3), "hé");
    }

    #[test]
    fn the_project_comes_from_the_label_or_the_namespace() {
        let mut object = InferenceWorkload::new("llama", runai_core::InferenceSpec::default());
        object.metadata.namespace = Some("inference".to_owned());
        assert_eq!(
            workload_key(&object).ok(),
            Some(WorkloadKey::new("inference", "llama"))
        );
        object.metadata.labels = Some([(PROJECT_LABEL.to_owned(), "team-b".to_owned())].into());
        assert_eq!(
            workload_key(&object).ok(),
            Some(WorkloadKey::new("team-b", "llama"))
        );
        object.metadata.namespace = None;
        assert!(matches!(
            workload_key(&object),
            Err(ControllerError::MissingField { .. })
        ));
    }

    #[test]
    fn an_invalid_spec_message_names_each_field_from_the_object() {
        let errors = ValidationErrors::new(vec![
            runai_core::Violation::new("servingPort", "is required"),
            runai_core::Violation::new("autoscaling.maxReplicas", "must be >= minReplicas (2)"),
        ]);
        assert_eq!(
            invalid_spec_message(&errors),
            "invalid spec: spec.servingPort: is required; spec.autoscaling.maxReplicas: must be >= minReplicas (2)"
        );
    }
}
