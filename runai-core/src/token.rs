//! Token requests and responses: the Run:ai JSON endpoint `POST /api/v1/token` and the
//! standard OAuth2 form endpoint `POST /api/v2/token`.
//!
//! `Debug` output of every type here hides secrets and tokens, so they never reach logs.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Grant types of `POST /api/v1/token`.
///
/// ```
/// use runai_core::token::GrantType;
/// assert_eq!(serde_json::to_string(&GrantType::ClientCredentials).unwrap(), r#""client_credentials""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    /// Deprecated application credentials (`appID`/`appSecret`).
    AppToken,
    /// A service account or user access key (`clientID`/`clientSecret`).
    ClientCredentials,
    /// A refresh token.
    RefreshToken,
    /// Exchange an authorization code.
    ExchangeToken,
    /// User name and password.
    Password,
    /// Exchange a token from an external identity provider.
    ExternalTokenExchange,
}

/// The body of `POST /api/v1/token`.
///
/// The spec spells the client fields `clientID`/`clientSecret`; parsing also accepts the
/// `clientId` spelling the documentation uses and the `AppId`/`AppSecret` spelling of older
/// clients, since the control plane accepts all of them.
///
/// ```
/// use runai_core::token::TokenRequest;
/// let request = TokenRequest::client_credentials("my-service-account", "s3cret");
/// let json = serde_json::to_value(&request).unwrap();
/// assert_eq!(json["grantType"], "client_credentials");
/// assert_eq!(json["clientID"], "my-service-account");
/// assert!(!format!("{request:?}").contains("s3cret"));
/// ```
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenRequest {
    /// How the caller authenticates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant_type: Option<GrantType>,
    /// Deprecated application ID.
    #[serde(
        rename = "appID",
        alias = "appId",
        alias = "AppId",
        skip_serializing_if = "Option::is_none"
    )]
    pub app_id: Option<String>,
    /// Deprecated application secret.
    #[serde(alias = "AppSecret", skip_serializing_if = "Option::is_none")]
    pub app_secret: Option<String>,
    /// Authorization code, for `exchange_token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Redirect URI of the authorization code flow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// Refresh token, for `refresh_token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// User name, for `password`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Password, for `password`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Client ID of a service account or access key.
    #[serde(
        rename = "clientID",
        alias = "clientId",
        alias = "ClientId",
        skip_serializing_if = "Option::is_none"
    )]
    pub client_id: Option<String>,
    /// Client secret.
    #[serde(alias = "ClientSecret", skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Token of an external identity provider, for `external_token_exchange`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_token: Option<String>,
}

impl TokenRequest {
    /// A client-credentials request, the recommended way to authenticate a program.
    #[must_use]
    pub fn client_credentials(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            grant_type: Some(GrantType::ClientCredentials),
            client_id: Some(client_id.into()),
            client_secret: Some(client_secret.into()),
            ..Self::default()
        }
    }
}

impl fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenRequest")
            .field("grant_type", &self.grant_type)
            .field("client_id", &self.client_id)
            .field("app_id", &self.app_id)
            .field("username", &self.username)
            .field("client_secret", &redact(self.client_secret.as_ref()))
            .field("app_secret", &redact(self.app_secret.as_ref()))
            .field("password", &redact(self.password.as_ref()))
            .field("refresh_token", &redact(self.refresh_token.as_ref()))
            .field("external_token", &redact(self.external_token.as_ref()))
            .field("code", &redact(self.code.as_ref()))
            .field("redirect_uri", &self.redirect_uri)
            .finish()
    }
}

/// The answer of `POST /api/v1/token`.
///
/// ```
/// use runai_core::{parse, token::TokenResponse};
/// let token: TokenResponse = parse::lenient(r#"{"accessToken": "eyJhbGciOi...", "expiresIn": 3600}"#).unwrap();
/// assert_eq!(token.expires_in, Some(3600));
/// assert!(!format!("{token:?}").contains("eyJ"));
/// ```
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenResponse {
    /// The bearer token to send as `Authorization: Bearer <token>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    /// OpenID Connect ID token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// Refresh token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Lifetime of the access token in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<i64>,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &redact(self.access_token.as_ref()))
            .field("id_token", &redact(self.id_token.as_ref()))
            .field("refresh_token", &redact(self.refresh_token.as_ref()))
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// Grant types of the OAuth2 endpoint `POST /api/v2/token`.
///
/// ```
/// use runai_core::token::OAuth2GrantType;
/// assert_eq!(serde_json::to_string(&OAuth2GrantType::AuthorizationCode).unwrap(), r#""authorization_code""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OAuth2GrantType {
    /// Authorization code flow.
    AuthorizationCode,
    /// Client credentials.
    ClientCredentials,
    /// Resource owner password.
    Password,
    /// Refresh token.
    RefreshToken,
}

/// The form body of `POST /api/v2/token` (`application/x-www-form-urlencoded`).
///
/// ```
/// use runai_core::token::OAuth2TokenRequest;
/// let form = OAuth2TokenRequest::client_credentials("my-service-account", "s3cret");
/// let json = serde_json::to_value(&form).unwrap();
/// assert_eq!(json["grant_type"], "client_credentials");
/// assert!(!format!("{form:?}").contains("s3cret"));
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OAuth2TokenRequest {
    /// How the caller authenticates.
    pub grant_type: OAuth2GrantType,
    /// Client ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Client secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// User name, for `password`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Password, for `password`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Refresh token, for `refresh_token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Authorization code, for `authorization_code`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Redirect URI of the authorization code flow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
}

impl OAuth2TokenRequest {
    /// A client-credentials request.
    #[must_use]
    pub fn client_credentials(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            grant_type: OAuth2GrantType::ClientCredentials,
            client_id: Some(client_id.into()),
            client_secret: Some(client_secret.into()),
            username: None,
            password: None,
            refresh_token: None,
            code: None,
            redirect_uri: None,
        }
    }
}

impl fmt::Debug for OAuth2TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth2TokenRequest")
            .field("grant_type", &self.grant_type)
            .field("client_id", &self.client_id)
            .field("username", &self.username)
            .field("client_secret", &redact(self.client_secret.as_ref()))
            .field("password", &redact(self.password.as_ref()))
            .field("refresh_token", &redact(self.refresh_token.as_ref()))
            .field("code", &redact(self.code.as_ref()))
            .field("redirect_uri", &self.redirect_uri)
            .finish()
    }
}

/// The answer of `POST /api/v2/token` (RFC 6749 §5.1).
///
/// ```
/// use runai_core::{parse, token::OAuth2TokenResponse};
/// let token: OAuth2TokenResponse = parse::lenient(r#"{"access_token": "eyJ...", "token_type": "Bearer", "expires_in": 3600}"#).unwrap();
/// assert_eq!(token.token_type, "Bearer");
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OAuth2TokenResponse {
    /// The bearer token.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Lifetime in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<i64>,
    /// Refresh token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// OpenID Connect ID token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// Granted scopes, space-separated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl fmt::Debug for OAuth2TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth2TokenResponse")
            .field("access_token", &redact(Some(&self.access_token)))
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &redact(self.refresh_token.as_ref()))
            .field("id_token", &redact(self.id_token.as_ref()))
            .field("scope", &self.scope)
            .finish()
    }
}

open_enum! {
    /// RFC 6749 §5.2 error codes.
    ///
    /// ```
    /// use runai_core::token::OAuth2ErrorCode;
    /// assert_eq!(OAuth2ErrorCode::from("invalid_client"), OAuth2ErrorCode::InvalidClient);
    /// ```
    pub enum OAuth2ErrorCode {
        /// The request is malformed.
        InvalidRequest => "invalid_request",
        /// Client authentication failed.
        InvalidClient => "invalid_client",
        /// The grant is invalid or expired.
        InvalidGrant => "invalid_grant",
        /// The client may not use this grant type.
        UnauthorizedClient => "unauthorized_client",
        /// The grant type is not supported.
        UnsupportedGrantType => "unsupported_grant_type",
        /// The scope is invalid.
        InvalidScope => "invalid_scope",
        /// The server failed.
        ServerError => "server_error",
        /// The server is overloaded or in maintenance.
        TemporarilyUnavailable => "temporarily_unavailable",
    }
}

/// The error body of `POST /api/v2/token` on 400 and 401.
///
/// ```
/// use runai_core::{parse, token::{OAuth2Error, OAuth2ErrorCode}};
/// let err: OAuth2Error = parse::lenient(r#"{"error": "invalid_client", "error_description": "unknown client"}"#).unwrap();
/// assert_eq!(err.error, OAuth2ErrorCode::InvalidClient);
/// assert_eq!(err.to_string(), "invalid_client: unknown client");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, thiserror::Error)]
#[error("{error}{}", error_description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
#[non_exhaustive]
pub struct OAuth2Error {
    /// The error code.
    pub error: OAuth2ErrorCode,
    /// Human-readable detail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
    /// A page describing the error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_uri: Option<String>,
}

impl OAuth2Error {
    /// An error with `code` and a human-readable description.
    ///
    /// ```
    /// use runai_core::token::{OAuth2Error, OAuth2ErrorCode};
    /// let err = OAuth2Error::new(OAuth2ErrorCode::InvalidGrant, "the refresh token expired");
    /// assert_eq!(serde_json::to_value(&err).unwrap()["error"], "invalid_grant");
    /// ```
    #[must_use]
    pub fn new(code: OAuth2ErrorCode, description: impl Into<String>) -> Self {
        Self {
            error: code,
            error_description: Some(description.into()),
            error_uri: None,
        }
    }
}

fn redact(secret: Option<&String>) -> Option<&'static str> {
    secret.map(|_| "<redacted>")
}
