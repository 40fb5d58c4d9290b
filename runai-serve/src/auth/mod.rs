//! Bearer-token authentication, one verifier for the gateway and the control API: a JWT's
//! signature is checked against a JWKS or a shared secret, then its claims by type and value
//! (`iss`, `sub` and `exp` always required, `aud` once audiences are configured,
//! `nbf` honoured), and a workload's access policy decides. A missing or bad token gets
//! 401, a valid token without access 403, and in both cases nothing is sent to a replica.
//!
//! Verified tokens are remembered (bounded, for at most a minute and never past their
//! expiry), so a client that sends the same token on every request pays for one signature
//! check, not one per request.

mod claims;
mod keys;
mod policy;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};

use claims::ClaimRules;

pub use keys::KeySource;
use keys::{KeyStore, Lookup};
pub(crate) use policy::Principal;
pub use policy::{AccessPolicy, ClaimNames};

/// How tokens are verified.
///
/// ```
/// use runai_serve::auth::{AuthConfig, KeySource};
/// let config = AuthConfig::new(KeySource::SharedSecret(vec![7; 32]), "https://runai.example.com")
///     .with_audience("runai");
/// assert_eq!(config.issuers, ["https://runai.example.com"]);
/// assert_eq!(config.leeway.as_secs(), 30);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthConfig {
    /// Where the keys come from.
    pub keys: KeySource,
    /// Accepted `iss` values; a token from any other issuer is refused. At least one.
    pub issuers: Vec<String>,
    /// Accepted `aud` values; once one is set, a token must carry `aud` naming one of them.
    /// When empty the audience is not checked.
    pub audiences: Vec<String>,
    /// Which claims name the caller, its groups and its account type.
    pub claims: ClaimNames,
    /// Clock skew tolerated on `exp` and `nbf`.
    pub leeway: Duration,
    /// Least time between two fetches of the JWKS caused by tokens naming unknown keys.
    pub min_refresh_interval: Duration,
}

impl AuthConfig {
    /// Tokens signed by `keys` and issued by `issuer`, with the default claims, 30 s of
    /// leeway and at most one JWKS fetch per 10 s for unknown keys.
    #[must_use]
    pub fn new(keys: KeySource, issuer: impl Into<String>) -> Self {
        Self {
            keys,
            issuers: vec![issuer.into()],
            audiences: Vec::new(),
            claims: ClaimNames::default(),
            leeway: Duration::from_secs(30),
            min_refresh_interval: Duration::from_secs(10),
        }
    }

    /// Accepts tokens for `audience` too (and, once one is set, only those listed).
    #[must_use]
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }
}

/// What is wrong with an [`AuthConfig`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No issuer was given.
    #[error("no token issuer is configured; list the `iss` values the gateway accepts")]
    MissingIssuer,
    /// The shared secret is too short to resist guessing.
    #[error(
        "the shared secret is {length} bytes; use at least 32 random bytes (for example `openssl rand -base64 48`)"
    )]
    WeakSecret {
        /// Its length.
        length: usize,
    },
    /// A JWKS could not be read or holds no usable key.
    #[error("JWKS from {origin}: {reason}")]
    Jwks {
        /// The URL, file or source.
        origin: String,
        /// What went wrong.
        reason: String,
    },
}

/// Verifies bearer tokens and applies access policies; cheap to clone, and clones share the
/// keys and the memory of verified tokens (so the control API and the gateway can share one).
///
/// ```
/// use runai_serve::auth::{AuthConfig, Authenticator, KeySource};
/// let auth = Authenticator::new(AuthConfig::new(KeySource::SharedSecret(vec![7; 32]), "me"))?;
/// # drop(auth);
/// # Ok::<(), runai_serve::auth::AuthError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Authenticator {
    inner: Arc<AuthInner>,
}

#[derive(Debug)]
struct AuthInner {
    keys: Arc<KeyStore>,
    rules: ClaimRules,
    claims: ClaimNames,
    verified: RwLock<HashMap<Box<str>, Verified>>,
}

/// A token whose signature and claims checked out.
#[derive(Debug, Clone)]
struct Verified {
    principal: Arc<Principal>,
    validity: claims::Validity,
    at: Instant,
}

/// Tokens remembered at most this long, so a key removed from the JWKS stops working soon.
const VERIFIED_TTL: Duration = Duration::from_secs(60);
/// Tokens remembered at most; the memory is cleared when full.
const VERIFIED_MAX: usize = 10_000;
/// Longest token looked at.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Why a request is refused.
#[derive(Debug)]
pub(crate) enum Denied {
    /// 401: no token, or a token that does not verify.
    Unauthenticated(Option<String>),
    /// 403: a valid token without access.
    Forbidden(String),
    /// 503: no key could be loaded to verify with.
    Unavailable(String),
}

impl Authenticator {
    /// An authenticator for `config`. Shared secrets, inline JWKS and JWKS files are loaded
    /// now; a JWKS URL is fetched when the first token arrives (or by
    /// [`Authenticator::refresh_keys`]).
    ///
    /// # Errors
    /// [`AuthError`] when no issuer is given, the secret is short, or the JWKS cannot be read
    /// or holds no signing key.
    pub fn new(config: AuthConfig) -> Result<Self, AuthError> {
        // Only aws-lc-rs is compiled in; installing it explicitly keeps verification
        // working if another crate turns on jsonwebtoken's second backend.
        let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
        if config.issuers.iter().all(String::is_empty) {
            return Err(AuthError::MissingIssuer);
        }
        let keys = Arc::new(KeyStore::new(config.keys, config.min_refresh_interval)?);
        let rules = ClaimRules {
            issuers: config.issuers.into_iter().filter(|i| !i.is_empty()).collect(),
            audiences: config.audiences,
            leeway_s: config.leeway.as_secs(),
        };
        Ok(Self {
            inner: Arc::new(AuthInner {
                keys,
                rules,
                claims: config.claims,
                verified: RwLock::new(HashMap::new()),
            }),
        })
    }

    /// Fetches or reads the JWKS now (a no-op for secrets and inline keys), so the first
    /// request does not wait for it and a bad URL shows at start-up.
    ///
    /// # Errors
    /// [`AuthError::Jwks`] when the JWKS cannot be fetched or read.
    pub async fn refresh_keys(&self) -> Result<(), AuthError> {
        self.inner.keys.refresh().await.map_err(|reason| AuthError::Jwks {
            origin: "the configured source".into(),
            reason,
        })
    }

    /// Replaces the keys with those of `jwks` (a JWKS document), for an embedded issuer
    /// that rotated its signing key. Tokens already verified stay remembered for at most a
    /// minute, as after a JWKS refresh.
    ///
    /// ```
    /// use runai_serve::auth::{AuthConfig, Authenticator, KeySource};
    /// let jwks = r#"{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","x":"WKn-ZIGevcwGIyyrzFoZNBdaq9_TsqzGl96oc0CWuis","y":"y77t-RvAHRKTsSGdIYUfweuOvwrvDD-Q3Hv5J0fSKbE"}]}"#;
    /// let auth = Authenticator::new(AuthConfig::new(KeySource::Jwks(jwks.into()), "me"))?;
    /// auth.replace_jwks(jwks)?;
    /// # Ok::<(), runai_serve::auth::AuthError>(())
    /// ```
    ///
    /// # Errors
    /// [`AuthError::Jwks`] when the document holds no signing key; the old keys stay then.
    pub fn replace_jwks(&self, jwks: &str) -> Result<(), AuthError> {
        self.inner.keys.replace(jwks)
    }

    /// Lets the request through when `policy` allows its caller.
    pub(crate) async fn check(&self, policy: &AccessPolicy, headers: &HeaderMap) -> Result<(), Denied> {
        let principal = self.authenticate(headers).await?;
        if policy.allows(&principal) {
            Ok(())
        } else {
            let who = principal.names.first().map_or("the caller", String::as_str);
            Err(Denied::Forbidden(format!(
                "{who} is not allowed to call this workload (its policy is {})",
                describe(policy)
            )))
        }
    }

    /// The caller of a request, from its one `Authorization: Bearer` header.
    pub(crate) async fn authenticate(&self, headers: &HeaderMap) -> Result<Arc<Principal>, Denied> {
        let token = bearer_token(headers)?;
        self.verify(token).await
    }

    /// The caller a token names, once its signature and claims check out.
    async fn verify(&self, token: &str) -> Result<Arc<Principal>, Denied> {
        let now = unix_now();
        if let Some(found) = self.remembered(token, now) {
            return Ok(found);
        }
        let invalid = |reason: String| Denied::Unauthenticated(Some(reason));
        refuse_critical_extensions(token).map_err(invalid)?;
        let header = jsonwebtoken::decode_header(token).map_err(|_| {
            invalid(
                "the token is not a signed JWT (a JWS with an RS, PS, ES, EdDSA or HS algorithm; `alg: none` is refused)"
                    .into(),
            )
        })?;
        let mut last_error = None;
        let decoded = self
            .inner
            .keys
            .with_keys(
                header.kid.as_deref(),
                header.alg,
                |key| match jsonwebtoken::decode::<Value>(token, &key.key, &signature_only(header.alg)) {
                    Ok(data) => Some(data.claims),
                    Err(e) => {
                        last_error = Some(e);
                        None
                    }
                },
            )
            .await;
        let claims = match decoded {
            Ok(claims) => claims,
            Err(Lookup::Unavailable(reason)) => {
                return Err(Denied::Unavailable(format!(
                    "no keys to verify tokens with: {reason}"
                )));
            }
            Err(Lookup::Unknown) => {
                let reason = match last_error {
                    Some(e) => explain(&e),
                    None => match &header.kid {
                        Some(kid) => {
                            // The id is the caller's text: shortened and escaped before it is echoed.
                            let shown: String = kid.chars().take(64).collect();
                            format!(
                                "no key `{}` verifies {:?} tokens",
                                shown.escape_debug(),
                                header.alg
                            )
                        }
                        None => format!("no configured key verifies {:?} tokens", header.alg),
                    },
                };
                return Err(invalid(reason));
            }
        };
        let Value::Object(claims) = claims else {
            return Err(invalid("the token's claims are not a JSON object".into()));
        };
        let validity = self
            .inner
            .rules
            .check(&claims, now)
            .map_err(|e| invalid(e.to_string()))?;
        let principal = Arc::new(Principal::from_claims(&claims, &self.inner.claims));
        self.remember(token, validity, Arc::clone(&principal));
        Ok(principal)
    }

    fn remembered(&self, token: &str, now: u64) -> Option<Arc<Principal>> {
        let verified = self.inner.verified.read().ok()?;
        let entry = verified.get(token)?;
        let leeway = self.inner.rules.leeway_s;
        let in_time = now < entry.validity.expires.saturating_add(leeway)
            && entry
                .validity
                .not_before
                .is_none_or(|nbf| nbf <= now.saturating_add(leeway));
        (in_time && entry.at.elapsed() < VERIFIED_TTL).then(|| Arc::clone(&entry.principal))
    }

    fn remember(&self, token: &str, validity: claims::Validity, principal: Arc<Principal>) {
        let Ok(mut verified) = self.inner.verified.write() else {
            return;
        };
        if verified.len() >= VERIFIED_MAX {
            verified.clear();
        }
        verified.insert(
            token.into(),
            Verified {
                principal,
                validity,
                at: Instant::now(),
            },
        );
    }
}

/// Checks the signature and the algorithm only: the claims are [`ClaimRules`]' to judge,
/// with rules stricter than the library's.
fn signature_only(alg: Algorithm) -> Validation {
    let mut validation = Validation::new(alg);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    validation
}

/// RFC 7515 §4.1.11: a token naming critical header extensions must be refused by a
/// verifier that does not understand them, and this one understands none.
fn refuse_critical_extensions(token: &str) -> Result<(), String> {
    let encoded = token.split('.').next().unwrap_or("");
    let Ok(bytes) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(encoded) else {
        // Not base64url: decoding the header fails next, with its own message.
        return Ok(());
    };
    match serde_json::from_slice::<Map<String, Value>>(&bytes) {
        Ok(header) if header.contains_key("crit") => Err(
            "the token names critical header extensions (crit), which this server does not support".into(),
        ),
        _ => Ok(()),
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The token of the request's one `Authorization: Bearer ...` header.
fn bearer_token(headers: &HeaderMap) -> Result<&str, Denied> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(Denied::Unauthenticated(None));
    };
    if values.next().is_some() {
        return Err(Denied::Unauthenticated(Some(
            "the request has more than one Authorization header; send one".into(),
        )));
    }
    let value = value.to_str().unwrap_or("");
    let token = value
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|token| !token.is_empty());
    match token {
        Some(token) if token.len() <= MAX_TOKEN_BYTES => Ok(token),
        Some(_) => Err(Denied::Unauthenticated(Some(format!(
            "the token is longer than {MAX_TOKEN_BYTES} bytes"
        )))),
        None => Err(Denied::Unauthenticated(Some(
            "the Authorization header is not `Bearer <token>`".into(),
        ))),
    }
}

/// A verification error in words a caller can act on.
fn explain(error: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind;
    match error.kind() {
        ErrorKind::InvalidSignature => "the token's signature does not verify".into(),
        ErrorKind::InvalidAlgorithm => "the token's algorithm does not match its key".into(),
        ErrorKind::Json(_) | ErrorKind::Utf8(_) | ErrorKind::Base64(_) => {
            "the token's claims are not base64url-encoded JSON".into()
        }
        other => format!("the token is invalid: {other:?}"),
    }
}

fn describe(policy: &AccessPolicy) -> &'static str {
    use runai_core::spec::AuthorizationType as T;
    match policy.authorization {
        T::Public => "public",
        T::AuthenticatedUsers => "authenticatedUsers",
        T::AuthorizedUsers => "authorizedUsers",
        T::AuthorizedGroups => "authorizedGroups",
        T::AuthorizedUsersOrGroups => "authorizedUsersOrGroups",
    }
}

impl Denied {
    /// The response: an OpenAI-style error body, with `WWW-Authenticate` for 401 and 403
    /// (RFC 6750).
    pub(crate) fn into_response(self) -> Response {
        let (status, kind, message, challenge) = match self {
            Self::Unauthenticated(None) => (
                StatusCode::UNAUTHORIZED,
                "authentication_error",
                "this workload needs a bearer token (Authorization: Bearer <token>)".to_owned(),
                r#"Bearer realm="runai""#.to_owned(),
            ),
            Self::Unauthenticated(Some(reason)) => {
                let challenge = format!(
                    r#"Bearer realm="runai", error="invalid_token", error_description="{}""#,
                    reason.replace('"', "'")
                );
                (
                    StatusCode::UNAUTHORIZED,
                    "authentication_error",
                    reason,
                    challenge,
                )
            }
            Self::Forbidden(reason) => (
                StatusCode::FORBIDDEN,
                "permission_error",
                reason,
                r#"Bearer realm="runai", error="insufficient_scope""#.to_owned(),
            ),
            Self::Unavailable(reason) => {
                let mut response =
                    crate::shared::openai_error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", &reason);
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                return response;
            }
        };
        let mut response = crate::shared::openai_error(status, kind, &message);
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn the_bearer_scheme_is_required_and_case_insensitive() {
        assert_eq!(bearer_token(&headers("Bearer abc")).unwrap(), "abc");
        assert_eq!(bearer_token(&headers("bearer  abc ")).unwrap(), "abc");
        assert!(matches!(
            bearer_token(&headers("Basic dXNlcjpwYXNz")),
            Err(Denied::Unauthenticated(Some(_)))
        ));
        assert!(matches!(
            bearer_token(&HeaderMap::new()),
            Err(Denied::Unauthenticated(None))
        ));
    }

    #[test]
    fn an_empty_issuer_list_is_refused() {
        let mut config = AuthConfig::new(KeySource::SharedSecret(vec![1; 32]), "x");
        config.issuers.clear();
        assert!(matches!(
            Authenticator::new(config),
            Err(AuthError::MissingIssuer)
        ));
    }
}
