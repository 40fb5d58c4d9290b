//! The workloads status view (`GET /api/v1/workloads/{id}`) and the list with filters, sorting
//! and paging (`GET /api/v1/workloads`).

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use runai_core::list::{Filter, FilterOp};
use serde_json::json;

use super::{Answer, ApiSettings, Refusal, Shared, caller, failure, store_failure};
use crate::store::WorkloadRecord;

/// A stored workload as the status view (`GET /api/v1/workloads`) shows it.
pub(super) fn status_view(
    settings: &ApiSettings,
    record: &WorkloadRecord,
) -> Result<runai_core::Workload, Refusal> {
    let project_name = settings
        .cluster
        .projects
        .iter()
        .find(|p| p.id.as_str() == record.project_id)
        .map_or(record.project_id.as_str(), |p| p.name.as_str());
    // As of the control loop's last sample (every few seconds).
    let running_pods = settings
        .metrics
        .last(&record.id, None, crate::observe::MetricType::RunningPodCount)
        .map_or(0, |count| count as i32);
    let urls = settings
        .gateway_url
        .as_ref()
        .filter(|_| record.deleted_at.is_none())
        .map(|gateway| vec![format!("{gateway}/{}/{}/", record.project_id, record.name)]);
    let view = json!({
        "tenantId": settings.tenant_id, "runningPods": running_pods, "urls": urls, "phaseUpdatedAt": record.updated_at,
        "k8sPhaseUpdatedAt": record.updated_at, "updatedAt": record.updated_at, "source": "Control-plane",
        "deletedAt": record.deleted_at, "type": record.kind.as_str(), "name": record.name, "id": record.id,
        "priorityClassName": "very-high", "submittedBy": record.created_by, "clusterId": settings.cluster_id,
        "projectName": project_name, "projectId": record.project_id, "departmentName": "default",
        "departmentId": "1", "namespace": format!("runai-{}", record.project_id), "createdAt": record.created_at,
        "phase": record.phase, "conditions": [], "phaseMessage": record.phase_message,
        "k8sPhase": record.phase, "category": "Deploy",
    });
    // Through the typed model, so the answer always has every field the API requires.
    serde_json::from_value(view).map_err(|e| {
        failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("workload {}: {e}", record.id),
        )
    })
}

pub(super) async fn workload_status(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Answer {
    caller(&shared, &headers).await?;
    let record = shared.store.workload(&id).map_err(|e| store_failure(&e))?;
    Ok(axum::Json(status_view(&shared.settings, &record)?).into_response())
}

/// The value a filter or sort reads from a workload, by the API's field name.
pub(super) fn field<'a>(record: &'a WorkloadRecord, name: &str) -> Option<&'a str> {
    match name {
        "name" => Some(&record.name),
        "projectId" | "projectName" => Some(&record.project_id),
        "phase" => Some(&record.phase),
        "type" => Some(record.kind.as_str()),
        "createdAt" => Some(&record.created_at),
        "submittedBy" => Some(&record.created_by),
        _ => None,
    }
}

pub(super) fn matches(record: &WorkloadRecord, filter: &Filter) -> bool {
    let Some(value) = field(record, &filter.field) else {
        return false;
    };
    let wanted = filter.value.as_str();
    match filter.op {
        FilterOp::Eq => value == wanted,
        FilterOp::Ne => value != wanted,
        FilterOp::Le => value <= wanted,
        FilterOp::Ge => value >= wanted,
        FilterOp::Contains => value.contains(wanted),
        FilterOp::NotContains => !value.contains(wanted),
        FilterOp::StartsWith => value.starts_with(wanted),
        FilterOp::EndsWith => value.ends_with(wanted),
    }
}

/// `GET /api/v1/workloads`: `filterBy` (comma-separated `<field><op><value>`), `sortBy` and
/// `sortOrder`, `search` (in the name), `offset` and `limit` (50 by default, at most 500),
/// and `next` when more remain.
pub(super) async fn list_workloads(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Answer {
    caller(&shared, &headers).await?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.as_deref().unwrap_or(""))
        .map_err(|e| failure(StatusCode::BAD_REQUEST, format!("the query does not parse: {e}")))?;
    let param = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let bad = |what: &str| failure(StatusCode::BAD_REQUEST, what.to_owned());
    let mut filters = Vec::new();
    for expression in param("filterBy")
        .into_iter()
        .flat_map(|f| f.split(','))
        .filter(|f| !f.is_empty())
    {
        let filter: Filter = expression
            .parse()
            .map_err(|e: runai_core::list::FilterParseError| bad(&e.to_string()))?;
        if field_known(&filter.field) {
            filters.push(filter);
        } else {
            return Err(bad(&format!(
                "cannot filter by `{}`; use one of {}",
                filter.field,
                LIST_FIELDS.join(", ")
            )));
        }
    }
    let offset: usize = param("offset")
        .map_or(Ok(0), str::parse)
        .map_err(|_| bad("`offset` must be a number"))?;
    let limit: usize = param("limit")
        .map_or(Ok(50), str::parse)
        .map_err(|_| bad("`limit` must be a number"))?;
    if !(1..=500).contains(&limit) {
        return Err(bad("`limit` must be between 1 and 500"));
    }
    let search = param("search").unwrap_or("");
    let mut records: Vec<WorkloadRecord> = shared
        .store
        .workloads()
        .map_err(|e| store_failure(&e))?
        .into_iter()
        .filter(|r| r.name.contains(search) && filters.iter().all(|f| matches(r, f)))
        .collect();
    if let Some(sort_by) = param("sortBy") {
        if !field_known(sort_by) {
            return Err(bad(&format!("cannot sort by `{sort_by}`")));
        }
        records.sort_by(|a, b| field(a, sort_by).cmp(&field(b, sort_by)));
    }
    if param("sortOrder") == Some("desc") {
        records.reverse();
    }
    let total = records.len();
    let page = records
        .iter()
        .skip(offset)
        .take(limit)
        .map(|r| status_view(&shared.settings, r))
        .collect::<Result<Vec<_>, _>>()?;
    let next = (offset + limit < total).then_some(offset + limit);
    let mut body = json!({ "workloads": page });
    if let Some(next) = next {
        body["next"] = json!(next);
    }
    Ok(axum::Json(body).into_response())
}

/// The fields the list filters and sorts by (see [`field`]).
pub(super) const LIST_FIELDS: &[&str] = &[
    "name",
    "projectId",
    "projectName",
    "phase",
    "type",
    "createdAt",
    "submittedBy",
];

pub(super) fn field_known(name: &str) -> bool {
    LIST_FIELDS.contains(&name)
}
