//! The Run:ai API the embedded control plane serves (axum): the token endpoints and the JWKS,
//! service accounts and access keys, inference workloads (create, read, rolling update,
//! delete, revisions) and the workload status view. Every other path answers 404 in the
//! Run:ai error shape. Requests are checked as strictly as `runai-core` checks them, and every
//! problem is reported at once.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use runai_core::list::{Filter, FilterOp};
use runai_core::token::{OAuth2TokenRequest, TokenRequest};
use runai_core::{
    ApiError, HttpResponse, Inference, InferenceCreationRequest, InferenceSpec, InferenceUpdateRequest,
    Validate,
};
use serde_json::{Value, json};

mod metrics;
mod org;
mod services;

use super::tokens::{TokenError, TokenIssuer};
use crate::store::{CredentialKind, NewWorkload, Store, StoreError, WorkloadKind, WorkloadRecord};

/// What the control plane says about itself in its answers.
///
/// ```
/// let settings = runai_serve::control::ApiSettings::default();
/// assert_eq!(settings.cluster_id, "00000000-0000-4000-8000-000000000001");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ApiSettings {
    /// The one cluster's id.
    pub cluster_id: String,
    /// The one cluster's name.
    pub cluster_name: String,
    /// The tenant id in status views.
    pub tenant_id: i32,
    /// The cluster the platform describes: its node pools and projects are served as
    /// configured.
    pub cluster: runai_core::cluster::Cluster,
    /// The time series the metrics endpoints serve (the control loop records them).
    pub metrics: crate::observe::MetricSeries,
    /// The gateway's URL, when one serves the workloads: a workload's URL is
    /// `{gateway}/{projectId}/{name}/`.
    pub gateway_url: Option<String>,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            cluster_id: "00000000-0000-4000-8000-000000000001".to_owned(),
            cluster_name: "local".to_owned(),
            tenant_id: 1,
            cluster: runai_core::cluster::Cluster::default(),
            metrics: crate::observe::MetricSeries::default(),
            gateway_url: None,
        }
    }
}

#[derive(Debug)]
struct Shared {
    store: Store,
    issuer: TokenIssuer,
    settings: ApiSettings,
    /// When the API started, as the creation time of configured objects.
    started: String,
}

/// The control plane's HTTP API.
///
/// ```
/// use runai_serve::control::{ApiSettings, ControlApi, TokenIssuer};
/// use runai_serve::store::Store;
/// let store = Store::open_in_memory()?;
/// let issuer = TokenIssuer::new(store.clone(), "http://127.0.0.1:8080");
/// let router: axum::Router = ControlApi::new(store, issuer, ApiSettings::default()).router();
/// # let _ = router;
/// # Ok::<(), runai_serve::store::StoreError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ControlApi {
    shared: Arc<Shared>,
}

impl ControlApi {
    /// The API over `store`, with tokens from `issuer`.
    #[must_use]
    pub fn new(store: Store, issuer: TokenIssuer, settings: ApiSettings) -> Self {
        Self {
            shared: Arc::new(Shared {
                store,
                issuer,
                settings,
                started: crate::store::now(),
            }),
        }
    }

    /// The routes.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/api/v1/token", post(token_v1))
            .route("/api/v2/token", post(token_v2))
            .route("/.well-known/jwks.json", get(jwks))
            .route(
                "/api/v1/service-accounts",
                post(create_service_account).get(service_accounts),
            )
            .route(
                "/api/v1/service-accounts/{id}",
                axum::routing::delete(delete_credential),
            )
            .route("/api/v1/access-keys", post(create_access_key).get(access_keys))
            .route(
                "/api/v1/access-keys/{id}",
                axum::routing::delete(delete_credential),
            )
            .route("/api/v1/workloads/inferences", post(create_inference))
            .route(
                "/api/v1/workloads/inferences/{id}",
                get(get_inference)
                    .patch(update_inference)
                    .delete(delete_inference),
            )
            .route("/api/v1/workloads/inferences/{id}/revisions", get(revisions))
            .route("/api/v1/workloads", get(list_workloads))
            .route("/api/v1/workloads/{id}", get(workload_status))
            .route(
                "/api/v1/workloads/inferences/{id}/metrics",
                get(metrics::inference),
            )
            .route(
                "/api/v1/workloads/inferences/{id}/pods/{pod}/metrics",
                get(metrics::inference_pod),
            )
            .route("/api/v1/workloads/{id}/metrics", get(metrics::workload))
            .route(
                "/api/v1/workloads/{id}/pods/{pod}/metrics",
                get(metrics::workload_pod),
            )
            .route(
                "/api/v1/workloads/distributed-inferences",
                post(services::create_distributed),
            )
            .route(
                "/api/v1/workloads/distributed-inferences/{id}",
                get(services::get_distributed)
                    .patch(services::update_distributed)
                    .delete(services::delete_distributed),
            )
            .route("/api/v2/workloads/nim-services", post(services::create_nim))
            .route(
                "/api/v2/workloads/nim-services/{id}",
                get(services::get_nim).patch(services::update_nim),
            )
            .route(
                "/api/v2/workloads/{id}",
                axum::routing::delete(services::delete_any),
            )
            .route("/api/v1/clusters", get(org::clusters))
            .route("/api/v1/node-pools", get(org::node_pools))
            .route("/api/v1/org-unit/projects", get(org::projects))
            .fallback(|| async { failure(StatusCode::NOT_FOUND, "no such endpoint") })
            .with_state(Arc::clone(&self.shared))
    }
}

/// A refused request: its status and the message, answered in the Run:ai error shape.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    message: String,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (
            self.status,
            axum::Json(ApiError::new(self.status.as_u16(), self.message)),
        )
            .into_response()
    }
}

fn failure(status: StatusCode, message: impl Into<String>) -> Refusal {
    Refusal {
        status,
        message: message.into(),
    }
}

fn store_failure(error: &StoreError) -> Refusal {
    let status = match error {
        StoreError::Conflict { .. } => StatusCode::CONFLICT,
        StoreError::NotFound { .. } => StatusCode::NOT_FOUND,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    failure(status, error.to_string())
}

/// Handlers answer a response or a refusal.
type Answer = Result<Response, Refusal>;

/// The caller's verified token claims, or the 401 to answer.
fn caller(shared: &Shared, headers: &HeaderMap) -> Result<Value, Refusal> {
    let unauthorized = |message: &str| failure(StatusCode::UNAUTHORIZED, message);
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| unauthorized("a bearer token is required; get one from /api/v1/token"))?;
    let jwks: JwkSet = shared
        .issuer
        .jwks()
        .ok()
        .and_then(|v| serde_json::from_value(v).ok())
        .ok_or_else(|| failure(StatusCode::SERVICE_UNAVAILABLE, "no signing keys"))?;
    let kid = jsonwebtoken::decode_header(token)
        .ok()
        .and_then(|h| h.kid)
        .ok_or_else(|| unauthorized("the token is not a JWT with a key id"))?;
    let jwk = jwks
        .find(&kid)
        .ok_or_else(|| unauthorized("the token's key is unknown"))?;
    let key = DecodingKey::from_jwk(jwk).map_err(|_| unauthorized("the token's key is unusable"))?;
    let mut validation = Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_issuer(&[shared.issuer.issuer()]);
    validation.set_audience(&[shared.issuer.audience()]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .map(|data| data.claims)
        .map_err(|e| unauthorized(&format!("the token is not valid: {e}")))
}

/// A JSON body parsed strictly into `T` and validated, or a 400 naming every problem.
fn strict<T>(body: &[u8]) -> Result<T, Refusal>
where
    T: serde::de::DeserializeOwned + schemars::JsonSchema + Validate,
{
    let text =
        std::str::from_utf8(body).map_err(|_| failure(StatusCode::BAD_REQUEST, "the body is not UTF-8"))?;
    let value: T = runai_core::parse::strict(text)
        .map_err(|e| failure(StatusCode::BAD_REQUEST, format!("the body does not parse: {e}")))?;
    value
        .validate()
        .map_err(|e| failure(StatusCode::BAD_REQUEST, format!("the body is not valid:\n{e}")))?;
    Ok(value)
}

async fn token_v1(State(shared): State<Arc<Shared>>, body: Bytes) -> Answer {
    let request = serde_json::from_slice::<TokenRequest>(&body).map_err(|e| {
        failure(
            StatusCode::BAD_REQUEST,
            format!("the body is not a token request: {e}"),
        )
    })?;
    let (Some(id), Some(secret)) = (
        request.client_id.or(request.app_id),
        request.client_secret.or(request.app_secret),
    ) else {
        return Err(failure(StatusCode::BAD_REQUEST, "give clientId and clientSecret"));
    };
    match shared.issuer.issue(&id, &secret) {
        Ok(token) => Ok(axum::Json(
            json!({"accessToken": token.access_token, "expiresIn": token.expires_in}),
        )
        .into_response()),
        Err(TokenError::BadCredentials) => Err(failure(
            StatusCode::UNAUTHORIZED,
            TokenError::BadCredentials.to_string(),
        )),
        Err(error) => Err(failure(StatusCode::INTERNAL_SERVER_ERROR, error.to_string())),
    }
}

/// The OAuth2 endpoint answers errors in RFC 6749's shape.
async fn token_v2(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let oauth = |status: StatusCode, error: &str, description: &str| {
        (
            status,
            axum::Json(json!({"error": error, "error_description": description})),
        )
            .into_response()
    };
    let Ok(request) = serde_urlencoded::from_bytes::<OAuth2TokenRequest>(&body) else {
        return oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body is not an OAuth2 token form",
        );
    };
    let (Some(id), Some(secret)) = (request.client_id, request.client_secret) else {
        return oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "give client_id and client_secret",
        );
    };
    match shared.issuer.issue(&id, &secret) {
        Ok(token) => axum::Json(json!({
            "access_token": token.access_token, "token_type": "Bearer", "expires_in": token.expires_in,
        }))
        .into_response(),
        Err(TokenError::BadCredentials) => oauth(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client or wrong secret",
        ),
        Err(error) => failure(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
    }
}

async fn jwks(State(shared): State<Arc<Shared>>) -> Answer {
    let set = shared
        .issuer
        .jwks()
        .map_err(|e| failure(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(axum::Json(set).into_response())
}

fn create_credential(shared: &Shared, headers: &HeaderMap, body: &[u8], kind: CredentialKind) -> Answer {
    let claims = caller(shared, headers)?;
    let name = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("name").and_then(Value::as_str).map(str::to_owned))
        .ok_or_else(|| failure(StatusCode::BAD_REQUEST, "give the credential's `name`"))?;
    // An access key belongs to the user who makes it.
    let owner = (kind == CredentialKind::AccessKey)
        .then(|| {
            claims
                .get("email")
                .or_else(|| claims.get("sub"))
                .and_then(Value::as_str)
        })
        .flatten();
    let issued = shared
        .store
        .create_credential(kind, &name, owner)
        .map_err(|e| store_failure(&e))?;
    let c = issued.credential;
    let body = json!({
        "id": c.id, "name": c.name, "clientId": c.client_id,
        "clientSecret": issued.client_secret, "createdAt": c.created_at,
    });
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

async fn create_service_account(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    create_credential(&shared, &headers, &body, CredentialKind::ServiceAccount)
}

async fn create_access_key(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Answer {
    create_credential(&shared, &headers, &body, CredentialKind::AccessKey)
}

fn list_credentials(shared: &Shared, headers: &HeaderMap, kind: CredentialKind) -> Answer {
    caller(shared, headers)?;
    let list = shared.store.credentials(kind).map_err(|e| store_failure(&e))?;
    let items: Vec<Value> = list
        .into_iter()
        .map(|c| {
            json!({
                "id": c.id, "name": c.name, "clientId": c.client_id,
                "createdBy": c.owner.clone().unwrap_or_else(|| "admin".to_owned()),
                "createdAt": c.created_at, "updatedAt": c.created_at, "lastLogin": c.last_login, "enabled": c.enabled,
            })
        })
        .collect();
    // As the API has them: service accounts as a bare array, access keys wrapped.
    let body = match kind {
        CredentialKind::AccessKey => json!({"accessKeys": items}),
        _ => Value::Array(items),
    };
    Ok(axum::Json(body).into_response())
}

async fn service_accounts(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Answer {
    list_credentials(&shared, &headers, CredentialKind::ServiceAccount)
}

async fn access_keys(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Answer {
    list_credentials(&shared, &headers, CredentialKind::AccessKey)
}

async fn delete_credential(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Answer {
    caller(&shared, &headers)?;
    shared
        .store
        .delete_credential(&id)
        .map_err(|e| store_failure(&e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A stored inference as the API returns it.
fn inference(shared: &Shared, record: &WorkloadRecord) -> Result<Inference, Refusal> {
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

fn inference_record(shared: &Shared, id: &str) -> Result<WorkloadRecord, Refusal> {
    let record = shared.store.workload(id).map_err(|e| store_failure(&e))?;
    if record.kind != WorkloadKind::Inference || record.deleted_at.is_some() {
        return Err(failure(
            StatusCode::NOT_FOUND,
            format!("no inference workload `{id}`"),
        ));
    }
    Ok(record)
}

async fn create_inference(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Answer {
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

async fn get_inference(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Answer {
    caller(&shared, &headers)?;
    let record = inference_record(&shared, &id)?;
    Ok(axum::Json(inference(&shared, &record)?).into_response())
}

async fn update_inference(
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

async fn delete_inference(
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

async fn revisions(State(shared): State<Arc<Shared>>, headers: HeaderMap, Path(id): Path<String>) -> Answer {
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

/// A stored workload as the status view (`GET /api/v1/workloads`) shows it.
fn status_view(settings: &ApiSettings, record: &WorkloadRecord) -> Result<runai_core::Workload, Refusal> {
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

async fn workload_status(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Answer {
    caller(&shared, &headers)?;
    let record = shared.store.workload(&id).map_err(|e| store_failure(&e))?;
    Ok(axum::Json(status_view(&shared.settings, &record)?).into_response())
}

/// The value a filter or sort reads from a workload, by the API's field name.
fn field<'a>(record: &'a WorkloadRecord, name: &str) -> Option<&'a str> {
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

fn matches(record: &WorkloadRecord, filter: &Filter) -> bool {
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
async fn list_workloads(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Answer {
    caller(&shared, &headers)?;
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
const LIST_FIELDS: &[&str] = &[
    "name",
    "projectId",
    "projectName",
    "phase",
    "type",
    "createdAt",
    "submittedBy",
];

fn field_known(name: &str) -> bool {
    LIST_FIELDS.contains(&name)
}
