//! Inference workloads: create, read, rolling update, delete and revisions.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use runai_core::{
    HttpResponse, Inference, InferenceCreationRequest, InferenceSpec, InferenceUpdateRequest, Validate,
};
use serde_json::{Value, json};

use super::{Answer, Refusal, Shared, caller, failure, store_failure, strict};
use crate::store::{NewWorkload, WorkloadKind, WorkloadRecord};

/// A stored inference as the API returns it.
pub(super) fn inference(shared: &Shared, record: &WorkloadRecord) -> Result<Inference, Refusal> {
    let view = json!({
        "name": record.name, "requestedName": record.name, "workloadId": record.id,
        "projectId": record.project_id, "clusterId": shared.settings.cluster_id,
        "createdBy": record.created_by, "createdAt": record.created_at, "deletedAt": record.deleted_at,
        "desiredPhase": record.desired_phase, "actualPhase": record.phase, "spec": record.spec,
    });
    serde_json::from_value(view).map_err(|e| {
        failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("stored workload {}: {e}", record.id),
        )
    })
}

pub(super) fn inference_record(shared: &Shared, id: &str) -> Result<WorkloadRecord, Refusal> {
    let record = shared.store.workload(id).map_err(|e| store_failure(&e))?;
    if record.kind != WorkloadKind::Inference || record.deleted_at.is_some() {
        return Err(failure(
            StatusCode::NOT_FOUND,
            format!("no inference workload `{id}`"),
        ));
    }
    Ok(record)
}

pub(super) async fn create_inference(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let claims = caller(&shared, &headers)?;
    let request: InferenceCreationRequest = strict(&body)?;
    // Accepted specs are stored with Run:ai's defaults applied, so what is read back is what runs.
    let spec = request.spec.clone().unwrap_or_default().with_defaults();
    let by = claims
        .get("preferred_username")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    let new = NewWorkload::new(
        request.project_id.to_string(),
        &request.name,
        WorkloadKind::Inference,
        serde_json::to_value(&spec).unwrap_or_default(),
    )
    .created_by(by);
    let record = shared
        .store
        .create_workload(&new)
        .map_err(|e| store_failure(&e))?;
    Ok((StatusCode::ACCEPTED, axum::Json(inference(&shared, &record)?)).into_response())
}

pub(super) async fn get_inference(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Answer {
    caller(&shared, &headers)?;
    let record = inference_record(&shared, &id)?;
    Ok(axum::Json(inference(&shared, &record)?).into_response())
}

pub(super) async fn update_inference(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Answer {
    caller(&shared, &headers)?;
    let update: InferenceUpdateRequest = strict(&body)?;
    let record = inference_record(&shared, &id)?;
    let current: InferenceSpec = serde_json::from_value(record.spec)
        .map_err(|e| failure(StatusCode::INTERNAL_SERVER_ERROR, format!("stored spec: {e}")))?;
    let next = update
        .spec
        .as_ref()
        .map_or_else(|| current.clone(), |u| u.apply_to(&current));
    next.validate().map_err(|e| {
        failure(
            StatusCode::BAD_REQUEST,
            format!("the updated spec is not valid:\n{e}"),
        )
    })?;
    // An update that changes nothing makes no revision.
    if next != current {
        shared
            .store
            .add_revision(&id, &serde_json::to_value(&next).unwrap_or_default())
            .map_err(|e| store_failure(&e))?;
    }
    let record = inference_record(&shared, &id)?;
    Ok((StatusCode::ACCEPTED, axum::Json(inference(&shared, &record)?)).into_response())
}

pub(super) async fn delete_inference(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Answer {
    caller(&shared, &headers)?;
    inference_record(&shared, &id)?;
    shared.store.delete_workload(&id).map_err(|e| store_failure(&e))?;
    let accepted = HttpResponse {
        code: 202,
        message: "deletion requested".to_owned(),
    };
    Ok((StatusCode::ACCEPTED, axum::Json(accepted)).into_response())
}

pub(super) async fn revisions(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Answer {
    caller(&shared, &headers)?;
    let record = inference_record(&shared, &id)?;
    let revisions = shared.store.revisions(&id).map_err(|e| store_failure(&e))?;
    let settings = &shared.settings;
    let items: Vec<Value> = revisions
        .iter()
        .map(|r| {
            json!({
                "type": "runai-revision", "name": format!("{}-{:05}", record.name, r.number), "id": r.id,
                "workloadId": record.id, "tenantId": settings.tenant_id, "clusterId": settings.cluster_id,
                "projectId": record.project_id, "departmentId": "1", "createdAt": r.created_at,
                "deletedAt": r.deleted_at, "phase": r.phase, "phaseMessage": r.phase_message,
            })
        })
        .collect();
    // Through the typed model, so the answer always has every field the API requires.
    let list: runai_core::RevisionList =
        serde_json::from_value(json!({ "revisions": items })).map_err(|e| {
            failure(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("revisions of {id}: {e}"),
            )
        })?;
    Ok(axum::Json(list).into_response())
}
