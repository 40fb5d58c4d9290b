//! Distributed inference (`/api/v1/workloads/distributed-inferences`: create, read, a replica
//! count change, delete) and NIM services (`/api/v2/workloads/nim-services`: create, read, a
//! spec update; deleted through `/api/v2/workloads/{id}`), stored and run like inference
//! workloads: the loop places a distributed replica as one gang of its leader and workers, and
//! the local backend runs a NIM service's image through its images table.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use runai_core::{
    DistributedInference, DistributedInferenceCreationRequest, DistributedInferenceSpec,
    DistributedInferenceUpdateRequest, NimServiceCreateRequest, NimServiceResponse, NimServiceSpec,
    NimServiceUpdateRequest, Validate,
};
use serde_json::{Value, json};

use super::{
    Answer, Refusal, Shared, accept_workload, caller, delete_workload, failure, live_record, store_failure,
    strict, workload_response,
};
use crate::store::{WorkloadKind, WorkloadRecord};

fn internal(record: &WorkloadRecord, error: &serde_json::Error) -> Refusal {
    failure(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("stored workload {}: {error}", record.id),
    )
}

fn to_value<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or_default()
}

fn distributed(shared: &Shared, record: &WorkloadRecord) -> Result<DistributedInference, Refusal> {
    workload_response(shared, record)
}

pub(super) async fn create_distributed(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let claims = caller(&shared, &headers).await?;
    let request: DistributedInferenceCreationRequest = strict(&body)?;
    let spec = request.spec.clone().unwrap_or_default().with_defaults();
    let record = accept_workload(
        &shared,
        &claims,
        request.project_id.as_str(),
        &request.name,
        WorkloadKind::Distributed,
        &spec,
    )?;
    Ok((StatusCode::ACCEPTED, axum::Json(distributed(&shared, &record)?)).into_response())
}

pub(super) async fn get_distributed(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Answer {
    caller(&shared, &headers).await?;
    let record = live_record(&shared, &id, WorkloadKind::Distributed)?;
    Ok(axum::Json(distributed(&shared, &record)?).into_response())
}

/// Run:ai lets a PATCH change only `spec.replicas`; that changes no pod, so it makes no
/// revision: the next pass scales.
pub(super) async fn update_distributed(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Answer {
    caller(&shared, &headers).await?;
    let update: DistributedInferenceUpdateRequest = strict(&body)?;
    let record = live_record(&shared, &id, WorkloadKind::Distributed)?;
    let mut spec: DistributedInferenceSpec =
        serde_json::from_value(record.spec.clone()).map_err(|e| internal(&record, &e))?;
    if let Some(replicas) = update.spec.and_then(|s| s.replicas) {
        spec.replicas = Some(replicas);
        spec.validate().map_err(|e| {
            failure(
                StatusCode::BAD_REQUEST,
                format!("the updated spec is not valid:\n{e}"),
            )
        })?;
        shared
            .store
            .rescale(&id, &to_value(&spec))
            .map_err(|e| store_failure(&e))?;
    }
    let record = live_record(&shared, &id, WorkloadKind::Distributed)?;
    Ok((StatusCode::ACCEPTED, axum::Json(distributed(&shared, &record)?)).into_response())
}

pub(super) async fn delete_distributed(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Answer {
    caller(&shared, &headers).await?;
    delete_workload(&shared, &id, Some(WorkloadKind::Distributed))
}

pub(super) async fn delete_any(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Answer {
    caller(&shared, &headers).await?;
    delete_workload(&shared, &id, None)
}

fn nim_service(shared: &Shared, record: &WorkloadRecord) -> Result<NimServiceResponse, Refusal> {
    let settings = &shared.settings;
    let project = settings
        .cluster
        .projects
        .iter()
        .find(|p| p.id.as_str() == record.project_id);
    let view = json!({
        "metadata": {
            "name": record.name, "projectId": record.project_id, "id": record.id,
            "gvk": {"group": "apps.nvidia.com", "version": "v1alpha1", "kind": "NIMService"},
            "projectName": project.map_or(record.project_id.as_str(), |p| p.name.as_str()),
            "clusterId": settings.cluster_id, "tenantId": settings.tenant_id,
            "departmentId": "1", "departmentName": "default",
            "createdAt": record.created_at, "createdBy": record.created_by,
            "updatedAt": record.updated_at, "updatedBy": record.created_by,
            "deletedAt": record.deleted_at,
        },
        "desiredPhase": record.desired_phase,
        "spec": record.spec,
    });
    serde_json::from_value(view).map_err(|e| internal(record, &e))
}

pub(super) async fn create_nim(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Answer {
    let claims = caller(&shared, &headers).await?;
    let request: NimServiceCreateRequest = strict(&body)?;
    let spec = request.spec.with_defaults();
    let record = accept_workload(
        &shared,
        &claims,
        request.metadata.project_id.as_str(),
        &request.metadata.name,
        WorkloadKind::Nim,
        &spec,
    )?;
    Ok((StatusCode::ACCEPTED, axum::Json(nim_service(&shared, &record)?)).into_response())
}

pub(super) async fn get_nim(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Answer {
    caller(&shared, &headers).await?;
    let record = live_record(&shared, &id, WorkloadKind::Nim)?;
    Ok(axum::Json(nim_service(&shared, &record)?).into_response())
}

/// The body's spec replaces the stored one; a change makes a new revision, rolled out as an
/// inference update is.
pub(super) async fn update_nim(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Answer {
    caller(&shared, &headers).await?;
    let update: NimServiceUpdateRequest = strict(&body)?;
    let record = live_record(&shared, &id, WorkloadKind::Nim)?;
    let current: NimServiceSpec =
        serde_json::from_value(record.spec.clone()).map_err(|e| internal(&record, &e))?;
    let next = update.spec.with_defaults();
    if next != current {
        shared
            .store
            .add_revision(&id, &to_value(&next))
            .map_err(|e| store_failure(&e))?;
    }
    let record = live_record(&shared, &id, WorkloadKind::Nim)?;
    Ok((StatusCode::ACCEPTED, axum::Json(nim_service(&shared, &record)?)).into_response())
}
