//! The keys tokens are verified with: a JWKS fetched from a URL or read from a file (kept,
//! refreshed on a period and when a token names an unknown key, at most once per
//! `min_refresh_interval`), or one shared secret.
//!
//! Each key carries the algorithms it may verify, fixed by the key itself (its `alg`, else
//! its type and curve), never by the token: an RSA public key is never used as an HMAC
//! secret, and a JWKS never holds symmetric keys (algorithm confusion).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};

use super::AuthError;

/// Where the verification keys come from.
///
/// ```
/// use runai_serve::auth::KeySource;
/// use std::time::Duration;
/// let idp = KeySource::JwksUrl {
///     url: "https://idp.example.com/.well-known/jwks.json".into(),
///     refresh: Duration::from_secs(300),
/// };
/// assert!(matches!(idp, KeySource::JwksUrl { .. }));
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeySource {
    /// A JWKS served over HTTP(S), fetched again every `refresh`.
    JwksUrl {
        /// The JWKS address.
        url: String,
        /// Time between fetches.
        refresh: Duration,
    },
    /// A JWKS in a local file, read again every `refresh`.
    JwksFile {
        /// The file.
        path: PathBuf,
        /// Time between reads.
        refresh: Duration,
    },
    /// A JWKS given inline (JSON text), for an embedded issuer.
    Jwks(String),
    /// One shared secret for HS256, HS384 and HS512 tokens (at least 32 bytes).
    SharedSecret(Vec<u8>),
}

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::JwksUrl { url, refresh } => f
                .debug_struct("JwksUrl")
                .field("url", url)
                .field("refresh", refresh)
                .finish(),
            Self::JwksFile { path, refresh } => f
                .debug_struct("JwksFile")
                .field("path", path)
                .field("refresh", refresh)
                .finish(),
            Self::Jwks(_) => f.write_str("Jwks(..)"),
            // Never print the secret.
            Self::SharedSecret(_) => f.write_str("SharedSecret(..)"),
        }
    }
}

/// One verification key and the algorithms it may verify.
pub(crate) struct Key {
    pub(crate) kid: Option<String>,
    pub(crate) key: DecodingKey,
    pub(crate) algorithms: Vec<Algorithm>,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("algorithms", &self.algorithms)
            .finish_non_exhaustive()
    }
}

/// The current keys and how to renew them.
#[derive(Debug)]
pub(crate) struct KeyStore {
    source: KeySource,
    keys: ArcSwap<Vec<Key>>,
    /// When the last fetch was tried (whatever its outcome), for the rate limit.
    last_attempt: std::sync::Mutex<Option<Instant>>,
    /// One fetch at a time; later askers find the keys it brought.
    fetching: tokio::sync::Mutex<()>,
    /// A background refresh is under way.
    refreshing: AtomicBool,
    min_refresh_interval: Duration,
    /// For a JWKS URL only (building one loads the system's root certificates).
    http: Option<reqwest::Client>,
}

/// Why no key verifies a token.
#[derive(Debug)]
pub(crate) enum Lookup {
    /// Keys are loaded and none has this id (or none fits the algorithm).
    Unknown,
    /// No keys could be loaded at all: the gateway cannot verify anything now.
    Unavailable(String),
}

impl KeyStore {
    /// Loads the keys a shared secret, inline JWKS or file gives; a URL is fetched on first
    /// use.
    pub(crate) fn new(source: KeySource, min_refresh_interval: Duration) -> Result<Self, AuthError> {
        let keys = match &source {
            KeySource::SharedSecret(secret) => {
                if secret.len() < 32 {
                    return Err(AuthError::WeakSecret { length: secret.len() });
                }
                vec![Key {
                    kid: None,
                    key: DecodingKey::from_secret(secret),
                    algorithms: vec![Algorithm::HS256, Algorithm::HS384, Algorithm::HS512],
                }]
            }
            KeySource::Jwks(text) => parse_jwks(text.as_bytes(), "the inline JWKS")?,
            KeySource::JwksFile { path, .. } => {
                let origin = path.display().to_string();
                let bytes = std::fs::read(path).map_err(|e| AuthError::Jwks {
                    origin: origin.clone(),
                    reason: e.to_string(),
                })?;
                parse_jwks(&bytes, &origin)?
            }
            KeySource::JwksUrl { url, .. } => {
                reqwest::Url::parse(url).map_err(|e| AuthError::Jwks {
                    origin: url.clone(),
                    reason: format!("not a URL: {e}"),
                })?;
                Vec::new()
            }
        };
        let http = match &source {
            KeySource::JwksUrl { .. } => Some(
                reqwest::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .map_err(|e| AuthError::Jwks {
                        origin: "the HTTP client".into(),
                        reason: e.to_string(),
                    })?,
            ),
            _ => None,
        };
        let loaded = !keys.is_empty();
        Ok(Self {
            source,
            keys: ArcSwap::from_pointee(keys),
            last_attempt: std::sync::Mutex::new(loaded.then(Instant::now)),
            fetching: tokio::sync::Mutex::new(()),
            refreshing: AtomicBool::new(false),
            min_refresh_interval,
            http,
        })
    }

    /// Replaces the keys with those of a JWKS document; on error the old keys stay.
    pub(crate) fn replace(&self, jwks: &str) -> Result<(), AuthError> {
        let keys = parse_jwks(jwks.as_bytes(), "the replacement JWKS")?;
        self.keys.store(Arc::new(keys));
        Ok(())
    }

    /// The period after which keys from a URL or file are renewed.
    pub(crate) fn refresh_period(&self) -> Option<Duration> {
        match &self.source {
            KeySource::JwksUrl { refresh, .. } | KeySource::JwksFile { refresh, .. } => Some(*refresh),
            KeySource::Jwks(_) | KeySource::SharedSecret(_) => None,
        }
    }

    /// Runs `verify` with the keys that may check a token signed with `alg` under `kid`,
    /// fetching the keys again when none fits and the rate limit allows. Keys past their
    /// refresh period are renewed in the background while the old ones keep serving.
    pub(crate) async fn with_keys<T>(
        self: &Arc<Self>,
        kid: Option<&str>,
        alg: Algorithm,
        mut verify: impl FnMut(&Key) -> Option<T>,
    ) -> Result<T, Lookup> {
        let loaded = !self.keys.load().is_empty();
        if loaded && self.is_stale() && !self.refreshing.swap(true, Ordering::AcqRel) {
            let store = Arc::clone(self);
            tokio::spawn(async move {
                // A failure keeps the old keys; the next stale check tries again.
                let _ = store.refresh().await;
                store.refreshing.store(false, Ordering::Release);
            });
        }
        if let Some(found) = self.try_keys(kid, alg, &mut verify) {
            return Ok(found);
        }
        if !loaded || self.may_refresh() {
            let error = self.refresh().await.err();
            if let Some(found) = self.try_keys(kid, alg, &mut verify) {
                return Ok(found);
            }
            if let Some(error) = error
                && self.keys.load().is_empty()
            {
                return Err(Lookup::Unavailable(error));
            }
        }
        Err(Lookup::Unknown)
    }

    fn try_keys<T>(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
        verify: &mut impl FnMut(&Key) -> Option<T>,
    ) -> Option<T> {
        let keys = self.keys.load();
        keys.iter()
            .filter(|k| k.algorithms.contains(&alg))
            // A token naming a key uses that key only; one naming none may use any that fits,
            // and a key with no id (a shared secret) has no name to mismatch.
            .filter(|k| kid.is_none() || k.kid.is_none() || k.kid.as_deref() == kid)
            .find_map(verify)
    }

    /// Whether the keys are past their refresh period.
    fn is_stale(&self) -> bool {
        let Some(period) = self.refresh_period() else {
            return false;
        };
        let last = *self
            .last_attempt
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        last.is_none_or(|at| at.elapsed() >= period)
    }

    fn may_refresh(&self) -> bool {
        if self.refresh_period().is_none() {
            return false;
        }
        let last = *self
            .last_attempt
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        last.is_none_or(|at| at.elapsed() >= self.min_refresh_interval)
    }

    /// Fetches or reads the JWKS again; on failure the old keys stay. Concurrent callers
    /// wait for one fetch.
    pub(crate) async fn refresh(&self) -> Result<(), String> {
        let started = Instant::now();
        let _one = self.fetching.lock().await;
        {
            let mut last = self
                .last_attempt
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            // Someone else fetched while this caller waited.
            if last.is_some_and(|at| at >= started) {
                return Ok(());
            }
            *last = Some(Instant::now());
        }
        let loaded = match &self.source {
            KeySource::JwksUrl { url, .. } => self.fetch(url).await,
            KeySource::JwksFile { path, .. } => {
                let origin = path.display().to_string();
                match tokio::fs::read(path).await {
                    Ok(bytes) => parse_jwks(&bytes, &origin).map_err(|e| e.to_string()),
                    Err(e) => Err(format!("reading the JWKS file {origin}: {e}")),
                }
            }
            KeySource::Jwks(_) | KeySource::SharedSecret(_) => return Ok(()),
        };
        let keys = loaded?;
        self.keys.store(Arc::new(keys));
        Ok(())
    }

    async fn fetch(&self, url: &str) -> Result<Vec<Key>, String> {
        let http = self.http.as_ref().ok_or("no HTTP client for the JWKS URL")?;
        let response = http
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| format!("fetching the JWKS from {url}: {e}"))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("fetching the JWKS from {url}: HTTP {status}"));
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| format!("reading the JWKS from {url}: {e}"))?;
        parse_jwks(&body, url).map_err(|e| e.to_string())
    }
}

/// The signing keys of a JWKS document; `origin` names it in errors.
fn parse_jwks(bytes: &[u8], origin: &str) -> Result<Vec<Key>, AuthError> {
    let set: JwkSet = serde_json::from_slice(bytes).map_err(|e| AuthError::Jwks {
        origin: origin.to_owned(),
        reason: format!("not a JWKS document: {e}"),
    })?;
    let keys: Vec<Key> = set
        .keys
        .iter()
        .filter(|jwk| jwk.common.public_key_use != Some(PublicKeyUse::Encryption))
        .filter_map(|jwk| {
            let algorithms = algorithms_of(jwk);
            if algorithms.is_empty() {
                return None;
            }
            let key = DecodingKey::from_jwk(jwk).ok()?;
            Some(Key {
                kid: jwk.common.key_id.clone(),
                key,
                algorithms,
            })
        })
        .collect();
    if keys.is_empty() {
        return Err(AuthError::Jwks {
            origin: origin.to_owned(),
            reason: "it holds no RSA, EC (P-256, P-384) or Ed25519 signing key".into(),
        });
    }
    Ok(keys)
}

/// The algorithms a public key may verify: its declared `alg`, else every one its type and
/// curve allow. Symmetric keys and encryption algorithms get none.
fn algorithms_of(jwk: &jsonwebtoken::jwk::Jwk) -> Vec<Algorithm> {
    let by_type: &[Algorithm] = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => &[
            Algorithm::RS256,
            Algorithm::RS384,
            Algorithm::RS512,
            Algorithm::PS256,
            Algorithm::PS384,
            Algorithm::PS512,
        ],
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => &[Algorithm::ES256],
            EllipticCurve::P384 => &[Algorithm::ES384],
            _ => &[],
        },
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => &[Algorithm::EdDSA],
        _ => &[],
    };
    match jwk.common.key_algorithm {
        None => by_type.to_vec(),
        Some(declared) => declared_algorithm(declared)
            .filter(|alg| by_type.contains(alg))
            .into_iter()
            .collect(),
    }
}

fn declared_algorithm(alg: KeyAlgorithm) -> Option<Algorithm> {
    Some(match alg {
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSA_JWK: &str = r#"{"kty":"RSA","kid":"r1","n":"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw","e":"AQAB"}"#;

    #[test]
    fn rsa_keys_verify_rsa_algorithms_only_and_a_declared_alg_narrows_them() {
        let keys = parse_jwks(format!(r#"{{"keys":[{RSA_JWK}]}}"#).as_bytes(), "test").unwrap();
        assert_eq!(keys[0].kid.as_deref(), Some("r1"));
        assert!(keys[0].algorithms.contains(&Algorithm::RS256));
        assert!(!keys[0].algorithms.contains(&Algorithm::HS256));
        let declared = RSA_JWK.replacen("{", r#"{"alg":"RS384","#, 1);
        let keys = parse_jwks(format!(r#"{{"keys":[{declared}]}}"#).as_bytes(), "test").unwrap();
        assert_eq!(keys[0].algorithms, [Algorithm::RS384]);
    }

    #[test]
    fn symmetric_and_encryption_keys_are_not_signing_keys() {
        let oct =
            r#"{"keys":[{"kty":"oct","kid":"s","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"}]}"#;
        let error = parse_jwks(oct.as_bytes(), "idp").unwrap_err().to_string();
        assert!(error.contains("idp") && error.contains("no RSA"), "{error}");
        let enc = RSA_JWK.replacen("{", r#"{"use":"enc","#, 1);
        assert!(parse_jwks(format!(r#"{{"keys":[{enc}]}}"#).as_bytes(), "idp").is_err());
    }

    #[test]
    fn short_secrets_and_bad_documents_are_refused_with_the_reason() {
        let short = KeyStore::new(KeySource::SharedSecret(b"short".to_vec()), Duration::ZERO);
        assert!(
            short
                .unwrap_err()
                .to_string()
                .contains("at least 32 random bytes")
        );
        let bad = KeyStore::new(KeySource::Jwks("{\"keys\": 3}".into()), Duration::ZERO);
        assert!(bad.unwrap_err().to_string().contains("not a JWKS document"));
        let missing = KeyStore::new(
            KeySource::JwksFile {
                path: "/nonexistent/jwks.json".into(),
                refresh: Duration::from_secs(60),
            },
            Duration::ZERO,
        );
        assert!(
            missing
                .unwrap_err()
                .to_string()
                .contains("/nonexistent/jwks.json")
        );
    }
}
