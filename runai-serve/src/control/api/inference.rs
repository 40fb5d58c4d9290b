//! Inference workloads: create, read, rolling update, delete and revisions.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use runai_core::{Inference, InferenceCreationRequest, InferenceSpec, InferenceUpdateRequest, Validate};
use serde_json::{Value, json};

use super::{
    Answer, Refusal, Shared, accept_workload, caller, delete_workload, failure, live_record, store_failure,
    strict, workload_response,
};
use crate::store::{WorkloadKind, WorkloadRecord};

fn inference(shared: &Shared, record: &WorkloadRecord) -> Result<Inference, Refusal> {
    workload_response(shared, record)
}

fn inference_record(shared: &Shared, id: &str) -> Result<WorkloadRecord, Refusal> {
    live_record(shared, id, WorkloadKind::Inference)
}

pub(super) async fn create_inference(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let claims = caller(&shared, &headers).await?;
    let request: InferenceCreationRequest = strict(&body)?;
    // Accepted specs are stored with Run:ai's defaults applied, so what is read back is what runs.
    let spec = request.spec.clone().unwrap_or_default().with_defaults();
    let record = accept_workload(
        &shared,
        &claims,
        request.project_id.as_str(),
        &request.name,
        WorkloadKind::Inference,
        &spec,
    )?;
    Ok((StatusCode::ACCEPTED, axum::Json(inference(&shared, &record)?)).into_response())
}

pub(super) async fn get_inference(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Answer {
    caller(&shared, &headers).await?;
    let record = inference_record(&shared, &id)?;
    Ok(axum::Json(inference(&shared, &record)?).into_response())
}

pub(super) async fn update_inference(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Answer {
    caller(&shared, &headers).await?;
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
    caller(&shared, &headers).await?;
    delete_workload(&shared, &id, Some(WorkloadKind::Inference))
}

pub(super) async fn revisions(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Answer {
    caller(&shared, &headers).await?;
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
