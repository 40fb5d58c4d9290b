//! Credentials and tokens: a client-credentials grant on `/api/v1/token` (JSON) or
//! `/api/v2/token` (OAuth2 form), a static bearer token, or the token the `runai` CLI stored.
//! Tokens are refreshed 60 s before they expire, one refresh at a time however many calls
//! ask, and once more when the server answers 401.

use std::path::Path;
use std::sync::{PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde::Deserialize;
use serde_json::json;

use crate::error::{Error, Result};

/// How the client authenticates.
///
/// ```
/// use runai_client::Credentials;
/// let credentials = Credentials::client_credentials("my-service-account-id", "s3cret");
/// assert!(matches!(credentials, Credentials::ClientCredentials { .. }));
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub enum Credentials {
    /// A service account or access key, exchanged at `POST /api/v1/token` (JSON,
    /// `grantType: client_credentials`).
    ClientCredentials {
        /// The client id.
        client_id: String,
        /// The client secret.
        client_secret: String,
    },
    /// The same, exchanged at `POST /api/v2/token` (the OAuth2 form grant).
    OAuth2ClientCredentials {
        /// The client id.
        client_id: String,
        /// The client secret.
        client_secret: String,
    },
    /// A token used as it is and never refreshed.
    Bearer(String),
    /// No token (an embedded control plane without authentication, public endpoints).
    None,
}

impl std::fmt::Debug for Credentials {
    // Secrets stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ClientCredentials { client_id, .. } => {
                write!(f, "ClientCredentials {{ client_id: {client_id:?}, .. }}")
            }
            Self::OAuth2ClientCredentials { client_id, .. } => {
                write!(f, "OAuth2ClientCredentials {{ client_id: {client_id:?}, .. }}")
            }
            Self::Bearer(_) => f.write_str("Bearer(..)"),
            Self::None => f.write_str("None"),
        }
    }
}

impl Credentials {
    /// A service account or access key, exchanged at `/api/v1/token`.
    ///
    /// ```
    /// let credentials = runai_client::Credentials::client_credentials("sa-id", "s3cret");
    /// assert!(format!("{credentials:?}").contains("sa-id"));
    /// assert!(!format!("{credentials:?}").contains("s3cret"));
    /// ```
    pub fn client_credentials(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self::ClientCredentials {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
        }
    }

    /// The token the `runai` CLI stored at login (`authentication.json` in `dir`, usually
    /// `~/.runai`: `accessToken`, base64-encoded).
    ///
    /// ```
    /// use runai_client::Credentials;
    /// let dir = std::env::temp_dir().join(format!("runai-cli-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// // "header.payload.signature", base64-encoded as the CLI stores it.
    /// std::fs::write(dir.join("authentication.json"), r#"{"accessToken": "aGVhZGVyLnBheWxvYWQuc2lnbmF0dXJl"}"#).unwrap();
    /// let credentials = Credentials::from_cli_dir(&dir)?;
    /// assert!(matches!(credentials, Credentials::Bearer(token) if token == "header.payload.signature"));
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// # Ok::<(), runai_client::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Auth`] when the file is missing or holds no token: run `runai login` first.
    pub fn from_cli_dir(dir: &Path) -> Result<Self> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Stored {
            access_token: String,
        }
        let path = dir.join("authentication.json");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Error::Auth(format!(
                "cannot read {} ({e}); run `runai login` first",
                path.display()
            ))
        })?;
        let stored: Stored = serde_json::from_str(&text)
            .map_err(|e| Error::Auth(format!("{} holds no `accessToken` ({e})", path.display())))?;
        let token = base64::engine::general_purpose::STANDARD
            .decode(stored.access_token.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            // Some CLI versions store the token as it is.
            .filter(|t| t.split('.').count() == 3)
            .unwrap_or(stored.access_token);
        Ok(Self::Bearer(token))
    }
}

/// A token and when it stops being valid.
#[derive(Debug, Clone)]
struct Token {
    value: String,
    expires_at: Option<SystemTime>,
}

impl Token {
    fn new(value: String, expires_in: Option<u64>) -> Self {
        let expires_at =
            jwt_expiry(&value).or_else(|| expires_in.map(|s| SystemTime::now() + Duration::from_secs(s)));
        Self { value, expires_at }
    }

    fn fresh(&self, margin: Duration) -> bool {
        self.expires_at.is_none_or(|at| SystemTime::now() + margin < at)
    }
}

/// The `exp` claim of a JWT, read without verifying it (the server does that).
fn jwt_expiry(token: &str) -> Option<SystemTime> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let exp = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()?
        .get("exp")?
        .as_u64()?;
    Some(UNIX_EPOCH + Duration::from_secs(exp))
}

/// Gets tokens and keeps one fresh.
#[derive(Debug)]
pub(crate) struct TokenSource {
    credentials: Credentials,
    http: reqwest::Client,
    base: url::Url,
    margin: Duration,
    current: RwLock<Option<Token>>,
    /// Held while a token is being fetched, so concurrent callers wait for one fetch.
    refreshing: tokio::sync::Mutex<()>,
}

impl TokenSource {
    pub(crate) fn new(
        credentials: Credentials,
        http: reqwest::Client,
        base: url::Url,
        margin: Duration,
    ) -> Self {
        let current = match &credentials {
            Credentials::Bearer(token) => Some(Token {
                value: token.clone(),
                expires_at: None,
            }),
            _ => None,
        };
        Self {
            credentials,
            http,
            base,
            margin,
            current: RwLock::new(current),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    /// Whether a refused token can be replaced by asking again.
    pub(crate) fn can_refresh(&self) -> bool {
        matches!(
            self.credentials,
            Credentials::ClientCredentials { .. } | Credentials::OAuth2ClientCredentials { .. }
        )
    }

    fn cached(&self) -> Option<Token> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// A token to send, or `None` when the client sends none. `refused` is a token the server
    /// just answered 401 to: a different one is fetched unless another task already did.
    pub(crate) async fn token(&self, refused: Option<&str>) -> Result<Option<String>> {
        if matches!(self.credentials, Credentials::None) {
            return Ok(None);
        }
        let usable = |token: &Token| token.fresh(self.margin) && Some(token.value.as_str()) != refused;
        if let Some(token) = self.cached().filter(usable) {
            return Ok(Some(token.value));
        }
        if !self.can_refresh() {
            return Err(Error::Auth(
                "the server refused the bearer token; get a new one (for the CLI's, `runai login`)"
                    .to_owned(),
            ));
        }
        let _one_at_a_time = self.refreshing.lock().await;
        // Another task may have fetched while this one waited.
        if let Some(token) = self.cached().filter(usable) {
            return Ok(Some(token.value));
        }
        let token = self.fetch().await?;
        let value = token.value.clone();
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Some(token);
        Ok(Some(value))
    }

    async fn fetch(&self) -> Result<Token> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct V1 {
            access_token: String,
            expires_in: Option<u64>,
        }
        #[derive(Deserialize)]
        struct V2 {
            access_token: String,
            expires_in: Option<u64>,
        }
        let (path, request) = match &self.credentials {
            Credentials::ClientCredentials {
                client_id,
                client_secret,
            } => (
                "api/v1/token",
                self.http.post(self.url("api/v1/token")?).json(&json!({
                    "grantType": "client_credentials",
                    "clientId": client_id,
                    "clientSecret": client_secret,
                })),
            ),
            Credentials::OAuth2ClientCredentials {
                client_id,
                client_secret,
            } => (
                "api/v2/token",
                self.http.post(self.url("api/v2/token")?).form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", client_id),
                    ("client_secret", client_secret),
                ]),
            ),
            Credentials::Bearer(_) | Credentials::None => {
                return Err(Error::Auth(
                    "these credentials cannot be exchanged for a token".to_owned(),
                ));
            }
        };
        let response = request.send().await.map_err(|source| Error::Transport {
            action: format!("requesting a token from /{path}"),
            source,
        })?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|source| Error::Transport {
            action: format!("reading the token from /{path}"),
            source,
        })?;
        if !(200..300).contains(&status) {
            let refused = Error::from_body(status, &body);
            return Err(match status {
                400 | 401 | 403 => Error::Auth(format!(
                    "/{path} refused the client credentials ({refused}); check the client id and secret"
                )),
                _ => refused,
            });
        }
        let (value, expires_in) = if path == "api/v1/token" {
            let token: V1 =
                serde_json::from_slice(&body).map_err(|e| Error::decode("the token response", e, &body))?;
            (token.access_token, token.expires_in)
        } else {
            let token: V2 =
                serde_json::from_slice(&body).map_err(|e| Error::decode("the token response", e, &body))?;
            (token.access_token, token.expires_in)
        };
        Ok(Token::new(value, expires_in))
    }

    fn url(&self, path: &str) -> Result<url::Url> {
        self.base.join(path).map_err(|e| Error::Config {
            field: "base_url",
            reason: e.to_string(),
        })
    }
}
