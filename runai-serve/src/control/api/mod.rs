//! The Run:ai API the embedded control plane serves (axum), one module per group of
//! endpoints: tokens, the JWKS and credentials ([`credentials`]); inference workloads
//! ([`inference`]); distributed inference and NIM services ([`services`]); the workloads
//! status view and list ([`workloads`]); metrics ([`metrics`]); and the configured
//! organisation ([`org`]). Every other path answers 404 in the Run:ai error shape. Requests
//! are checked as strictly as `runai-core` checks them, and every problem is reported at once.

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use runai_core::{ApiError, Validate};
use serde_json::json;

mod credentials;
mod inference;
mod metrics;
mod org;
mod services;
mod workloads;

use super::tokens::{TokenError, TokenIssuer};
use crate::auth::{Authenticator, Denied, Principal};
use crate::store::{Store, StoreError, WorkloadKind, WorkloadRecord};

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
    /// Checks callers' tokens: the same verifier the gateway uses.
    auth: Authenticator,
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
/// let router: axum::Router = ControlApi::new(store, issuer, ApiSettings::default())?.router();
/// # let _ = router;
/// # Ok::<(), runai_serve::control::TokenError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ControlApi {
    shared: Arc<Shared>,
}

impl ControlApi {
    /// The API over `store`, with tokens from `issuer`, checked by the issuer's
    /// [`TokenIssuer::authenticator`].
    ///
    /// # Errors
    /// [`TokenError`] when the signing key cannot be read or made.
    pub fn new(store: Store, issuer: TokenIssuer, settings: ApiSettings) -> Result<Self, TokenError> {
        let auth = issuer.authenticator()?;
        Ok(Self::with_authenticator(store, issuer, auth, settings))
    }

    /// The API with callers' tokens checked by `auth` (share it with the gateway, so both
    /// see a rotated key at once).
    #[must_use]
    pub fn with_authenticator(
        store: Store,
        issuer: TokenIssuer,
        auth: Authenticator,
        settings: ApiSettings,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                store,
                issuer,
                auth,
                settings,
                started: crate::store::now(),
            }),
        }
    }

    /// The routes.
    pub fn router(&self) -> Router {
        let routes = Router::new()
            .route("/api/v1/token", post(credentials::token_v1))
            .route("/api/v2/token", post(credentials::token_v2))
            .route("/.well-known/jwks.json", get(credentials::jwks))
            .route(
                "/api/v1/service-accounts",
                post(credentials::create_service_account).get(credentials::service_accounts),
            )
            .route(
                "/api/v1/service-accounts/{id}",
                axum::routing::delete(credentials::delete_credential),
            )
            .route(
                "/api/v1/access-keys",
                post(credentials::create_access_key).get(credentials::access_keys),
            )
            .route(
                "/api/v1/access-keys/{id}",
                axum::routing::delete(credentials::delete_credential),
            )
            .route("/api/v1/workloads/inferences", post(inference::create_inference))
            .route(
                "/api/v1/workloads/inferences/{id}",
                get(inference::get_inference)
                    .patch(inference::update_inference)
                    .delete(inference::delete_inference),
            )
            .route(
                "/api/v1/workloads/inferences/{id}/revisions",
                get(inference::revisions),
            )
            .route("/api/v1/workloads", get(workloads::list_workloads))
            .route("/api/v1/workloads/{id}", get(workloads::workload_status))
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
            .with_state(Arc::clone(&self.shared));
        // Every error in the Run:ai shape, also those axum and the server answer (405, 413,
        // 408 for a stalled body).
        crate::server::ErrorShape::RunAi.apply(routes)
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

/// The caller, from the request's verified bearer token, or the 401 (503 when no key can
/// verify) to answer.
async fn caller(shared: &Shared, headers: &HeaderMap) -> Result<Arc<Principal>, Refusal> {
    shared
        .auth
        .authenticate(headers)
        .await
        .map_err(|denied| match denied {
            Denied::Unauthenticated(None) => failure(
                StatusCode::UNAUTHORIZED,
                "a bearer token is required; get one from /api/v1/token",
            ),
            Denied::Unauthenticated(Some(reason)) | Denied::Forbidden(reason) => {
                failure(StatusCode::UNAUTHORIZED, reason)
            }
            Denied::Unavailable(reason) => failure(StatusCode::SERVICE_UNAVAILABLE, reason),
        })
}

/// Who made the call: the token's username, else its subject.
fn submitter(caller: &Principal) -> &str {
    caller.username.as_deref().unwrap_or(&caller.subject)
}

/// Stores a new workload for the caller, its spec already defaulted; 409 when the name is
/// taken in the project.
fn accept_workload(
    shared: &Shared,
    caller: &Principal,
    project: &str,
    name: &str,
    kind: WorkloadKind,
    spec: &impl serde::Serialize,
) -> Result<WorkloadRecord, Refusal> {
    let spec = serde_json::to_value(spec).map_err(|e| {
        failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the workload's spec could not be stored: {e}"),
        )
    })?;
    let new = crate::store::NewWorkload::new(project, name, kind, spec).created_by(submitter(caller));
    shared.store.create_workload(&new).map_err(|e| store_failure(&e))
}

/// A live workload of `kind`, or 404.
fn live_record(shared: &Shared, id: &str, kind: WorkloadKind) -> Result<WorkloadRecord, Refusal> {
    let record = shared.store.workload(id).map_err(|e| store_failure(&e))?;
    if record.kind != kind || record.deleted_at.is_some() {
        return Err(failure(
            StatusCode::NOT_FOUND,
            format!("no {} workload `{id}`", kind.as_str()),
        ));
    }
    Ok(record)
}

/// A stored inference or distributed inference as the v1 workload endpoints return it; typed,
/// so the answer always has every field the API requires.
fn workload_response<T: serde::de::DeserializeOwned>(
    shared: &Shared,
    record: &WorkloadRecord,
) -> Result<T, Refusal> {
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

/// Marks a workload deleted (of `kind`, when given) and answers 202; the loop stops it.
fn delete_workload(shared: &Shared, id: &str, kind: Option<WorkloadKind>) -> Answer {
    match kind {
        Some(kind) => live_record(shared, id, kind)?,
        None => shared.store.workload(id).map_err(|e| store_failure(&e))?,
    };
    shared.store.delete_workload(id).map_err(|e| store_failure(&e))?;
    let accepted = runai_core::HttpResponse {
        code: 202,
        message: "deletion requested".to_owned(),
    };
    Ok((StatusCode::ACCEPTED, axum::Json(accepted)).into_response())
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
