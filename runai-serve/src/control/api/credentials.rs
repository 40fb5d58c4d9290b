//! Tokens (`/api/v1/token`, `/api/v2/token`), the JWKS, and service accounts and access keys.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use runai_core::token::{OAuth2TokenRequest, TokenRequest};
use serde_json::{Value, json};

use super::{Answer, Shared, caller, failure, store_failure};
use crate::control::tokens::TokenError;
use crate::store::CredentialKind;

pub(super) async fn token_v1(State(shared): State<Arc<Shared>>, body: Bytes) -> Answer {
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
pub(super) async fn token_v2(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
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

pub(super) async fn jwks(State(shared): State<Arc<Shared>>) -> Answer {
    let set = shared
        .issuer
        .jwks()
        .map_err(|e| failure(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(axum::Json(set).into_response())
}

pub(super) async fn create_credential(
    shared: &Shared,
    headers: &HeaderMap,
    body: &[u8],
    kind: CredentialKind,
) -> Answer {
    let claims = caller(shared, headers).await?;
    let name = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("name").and_then(Value::as_str).map(str::to_owned))
        .ok_or_else(|| failure(StatusCode::BAD_REQUEST, "give the credential's `name`"))?;
    // An access key belongs to the user who makes it.
    let owner =
        (kind == CredentialKind::AccessKey).then(|| claims.email.as_deref().unwrap_or(&claims.subject));
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

pub(super) async fn create_service_account(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    create_credential(&shared, &headers, &body, CredentialKind::ServiceAccount).await
}

pub(super) async fn create_access_key(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    create_credential(&shared, &headers, &body, CredentialKind::AccessKey).await
}

pub(super) async fn list_credentials(shared: &Shared, headers: &HeaderMap, kind: CredentialKind) -> Answer {
    caller(shared, headers).await?;
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

pub(super) async fn service_accounts(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Answer {
    list_credentials(&shared, &headers, CredentialKind::ServiceAccount).await
}

pub(super) async fn access_keys(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Answer {
    list_credentials(&shared, &headers, CredentialKind::AccessKey).await
}

pub(super) async fn delete_credential(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Answer {
    caller(&shared, &headers).await?;
    shared
        .store
        .delete_credential(&id)
        .map_err(|e| store_failure(&e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
