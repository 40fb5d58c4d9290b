//! The client and its builder, and the one path every call takes: authenticate, send, retry
//! what is safe to retry, turn failures into [`Error`]s.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use url::Url;

use crate::auth::{Credentials, TokenSource};
use crate::error::{Error, Result};
use crate::retry::{RetryPolicy, retry_status, retry_transport};

/// A client for one Run:ai-compatible control plane (a Run:ai tenant or the embedded one).
/// Cheap to clone; clones share the connection pool and the token.
///
/// ```no_run
/// # async fn run() -> runai_client::Result<()> {
/// use runai_client::{Client, Credentials};
/// let client = Client::builder("https://acme.run.ai")
///     .credentials(Credentials::client_credentials("my-sa", "s3cret"))
///     .build()?;
/// let page = client.workloads().list(&Default::default()).await?;
/// println!("{} workloads", page.items.len());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    base: Url,
    tokens: TokenSource,
    retry: RetryPolicy,
    timeout: Duration,
}

/// Settings of a [`Client`].
///
/// ```
/// use std::time::Duration;
/// use runai_client::{Client, Credentials, RetryPolicy};
/// let client = Client::builder("https://acme.run.ai")
///     .credentials(Credentials::Bearer("eyJ...".into()))
///     .timeout(Duration::from_secs(30))
///     .user_agent("my-bot/1.0")
///     .retry(RetryPolicy::default().max_retries(5))
///     .build()?;
/// assert_eq!(client.base_url().as_str(), "https://acme.run.ai/");
/// # Ok::<(), runai_client::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ClientBuilder {
    base_url: String,
    credentials: Credentials,
    timeout: Duration,
    connect_timeout: Duration,
    user_agent: String,
    retry: RetryPolicy,
    refresh_margin: Duration,
}

impl ClientBuilder {
    /// The credentials (default: none).
    ///
    /// ```
    /// use runai_client::{Client, Credentials};
    /// let client = Client::builder("https://acme.run.ai").credentials(Credentials::Bearer("eyJ...".into())).build()?;
    /// # let _ = client;
    /// # Ok::<(), runai_client::Error>(())
    /// ```
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = credentials;
        self
    }

    /// The longest one request may take (default 60 s).
    ///
    /// ```
    /// let client = runai_client::Client::builder("https://acme.run.ai").timeout(std::time::Duration::from_secs(120)).build()?;
    /// # let _ = client;
    /// # Ok::<(), runai_client::Error>(())
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The longest a connection may take to open (default 10 s).
    ///
    /// ```
    /// let client = runai_client::Client::builder("https://acme.run.ai").connect_timeout(std::time::Duration::from_secs(3)).build()?;
    /// # let _ = client;
    /// # Ok::<(), runai_client::Error>(())
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The `User-Agent` sent.
    ///
    /// ```
    /// let client = runai_client::Client::builder("https://acme.run.ai").user_agent("release-bot/2.1").build()?;
    /// # let _ = client;
    /// # Ok::<(), runai_client::Error>(())
    /// ```
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// The retry policy (default: [`RetryPolicy::default`]).
    ///
    /// ```
    /// use runai_client::{Client, RetryPolicy};
    /// let client = Client::builder("https://acme.run.ai").retry(RetryPolicy::none()).build()?;
    /// # let _ = client;
    /// # Ok::<(), runai_client::Error>(())
    /// ```
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// How long before expiry a token is replaced (default 60 s).
    ///
    /// ```
    /// let client = runai_client::Client::builder("https://acme.run.ai").refresh_margin(std::time::Duration::from_secs(300)).build()?;
    /// # let _ = client;
    /// # Ok::<(), runai_client::Error>(())
    /// ```
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// The client.
    ///
    /// # Errors
    /// [`Error::Config`] for a base URL that is not an `http` or `https` URL.
    ///
    /// ```
    /// let error = runai_client::Client::builder("acme.run.ai").build().unwrap_err();
    /// assert!(error.to_string().contains("base_url"));
    /// ```
    pub fn build(self) -> Result<Client> {
        let mut base = Url::parse(&self.base_url).map_err(|e| Error::Config {
            field: "base_url",
            reason: format!(
                "`{}` is not a URL ({e}); give one like https://acme.run.ai",
                self.base_url
            ),
        })?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(Error::Config {
                field: "base_url",
                reason: format!("`{}` is not an http or https URL", self.base_url),
            });
        }
        // Paths join under the base, whatever it ends with.
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        // The whole-call timeout is set per request, so a stream may run as long as it keeps
        // sending; a connection that goes silent still fails after `timeout`.
        let http = reqwest::Client::builder()
            .read_timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .user_agent(self.user_agent)
            .build()
            .map_err(|e| Error::Config {
                field: "http",
                reason: e.to_string(),
            })?;
        let tokens = TokenSource::new(self.credentials, http.clone(), base.clone(), self.refresh_margin);
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                tokens,
                retry: self.retry,
                timeout: self.timeout,
            }),
        })
    }
}

/// Who a call authenticates as.
#[derive(Debug, Clone)]
pub(crate) enum CallAuth {
    /// The control plane's token.
    ControlPlane,
    /// A token of another service (a Hugging Face token, say).
    Token(String),
    /// Nothing.
    Anonymous,
}

/// An answer: status, headers and the whole body.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Reply {
    /// The body as `T`, or a decode error that shows the start of the body.
    pub(crate) fn json<T: DeserializeOwned>(&self, what: &str) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| Error::decode(what, e, &self.body))
    }
}

/// One call being put together.
#[derive(Debug)]
#[must_use]
pub(crate) struct Call<'a> {
    client: &'a Client,
    method: Method,
    url: Result<Url>,
    query: Vec<(String, String)>,
    body: Option<serde_json::Value>,
    idempotent: bool,
    auth: CallAuth,
    what: String,
}

impl Client {
    /// A builder for a client of the control plane at `base_url`.
    ///
    /// ```
    /// let client = runai_client::Client::builder("https://acme.run.ai/").build()?;
    /// assert_eq!(client.base_url().host_str(), Some("acme.run.ai"));
    /// # Ok::<(), runai_client::Error>(())
    /// ```
    pub fn builder(base_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.into(),
            credentials: Credentials::None,
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            user_agent: concat!("runai-client/", env!("CARGO_PKG_VERSION")).to_owned(),
            retry: RetryPolicy::default(),
            refresh_margin: Duration::from_secs(60),
        }
    }

    /// The control plane's base URL.
    ///
    /// ```
    /// let client = runai_client::Client::builder("https://acme.run.ai/runai").build()?;
    /// assert_eq!(client.base_url().as_str(), "https://acme.run.ai/runai/");
    /// # Ok::<(), runai_client::Error>(())
    /// ```
    #[must_use]
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// A token for the control plane now (fetched or refreshed if needed), for calls this
    /// client does not make itself; `None` when the client has no credentials.
    ///
    /// # Errors
    /// [`Error::Auth`] when no token can be had.
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// if let Some(token) = client.token().await? {
    ///     println!("Authorization: Bearer {token}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn token(&self) -> Result<Option<String>> {
        self.inner.tokens.token(None).await
    }

    /// A call of the control plane's `path` (relative, like `api/v1/workloads`).
    pub(crate) fn call(&self, method: Method, path: &str) -> Call<'_> {
        let url = self.inner.base.join(path).map_err(|e| Error::Config {
            field: "path",
            reason: format!("`{path}`: {e}"),
        });
        Call {
            client: self,
            what: format!("{method} /{path}"),
            method,
            url,
            query: Vec::new(),
            body: None,
            idempotent: true,
            auth: CallAuth::ControlPlane,
        }
    }

    /// A call of any URL (a catalog, a serving endpoint).
    pub(crate) fn call_url(&self, method: Method, url: Url, auth: CallAuth) -> Call<'_> {
        Call {
            client: self,
            what: format!("{method} {url}"),
            method,
            url: Ok(url),
            query: Vec::new(),
            body: None,
            idempotent: true,
            auth,
        }
    }
}

impl Call<'_> {
    /// Adds a query parameter.
    pub(crate) fn query(mut self, key: &str, value: impl Into<String>) -> Self {
        self.query.push((key.to_owned(), value.into()));
        self
    }

    /// Sends `body` as JSON.
    pub(crate) fn json(mut self, body: &impl serde::Serialize) -> Self {
        self.body = Some(serde_json::to_value(body).unwrap_or_default());
        self
    }

    /// Marks the call as one that must not be repeated blindly (a create).
    pub(crate) fn not_idempotent(mut self) -> Self {
        self.idempotent = false;
        self
    }

    /// Sends it and returns the 2xx answer as `T`.
    pub(crate) async fn decode<T: DeserializeOwned>(self) -> Result<T> {
        let what = self.what.clone();
        self.send().await?.json(&format!("the answer to {what}"))
    }

    /// Sends it, retrying what the policy allows, and returns the 2xx answer, all within the
    /// client's timeout.
    pub(crate) async fn send(self) -> Result<Reply> {
        let response = self.execute(true).await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(|source| Error::Transport {
            action: "reading the answer".to_owned(),
            source,
        })?;
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    /// Sends it and returns the 2xx response before its body is read (for streams): the
    /// client's timeout bounds each wait for data, not the whole stream.
    pub(crate) async fn response(self) -> Result<reqwest::Response> {
        self.execute(false).await
    }

    async fn execute(self, whole_call_timeout: bool) -> Result<reqwest::Response> {
        let url = self.url?;
        let inner = &self.client.inner;
        let mut delays = inner.retry.delays();
        let mut refused: Option<String> = None;
        let mut reauthenticated = false;
        loop {
            let token = match &self.auth {
                CallAuth::ControlPlane => inner.tokens.token(refused.as_deref()).await?,
                CallAuth::Token(token) => Some(token.clone()),
                CallAuth::Anonymous => None,
            };
            let mut request = inner.http.request(self.method.clone(), url.clone());
            if whole_call_timeout {
                request = request.timeout(inner.timeout);
            }
            if !self.query.is_empty() {
                request = request.query(&self.query);
            }
            if let Some(body) = &self.body {
                request = request.json(body);
            }
            if let Some(token) = &token {
                request = request.bearer_auth(token);
            }
            let delay = match request.send().await {
                Ok(response) if response.status().is_success() => return Ok(response),
                Ok(response) => {
                    let status = response.status().as_u16();
                    // A refused token is replaced once, without counting as a retry.
                    if status == 401
                        && matches!(self.auth, CallAuth::ControlPlane)
                        && inner.tokens.can_refresh()
                        && !reauthenticated
                    {
                        reauthenticated = true;
                        refused = token;
                        continue;
                    }
                    let retry_after = inner.retry.retry_after(response.headers());
                    let retryable = retry_status(status, self.idempotent);
                    let next = if retryable { delays.next() } else { None };
                    if let Some(delay) = next {
                        retry_after.unwrap_or(delay)
                    } else {
                        let body = response.bytes().await.unwrap_or_default();
                        let error = Error::from_body(status, &body);
                        return Err(if status == 401 {
                            let hint = if inner.tokens.can_refresh() {
                                "even with a fresh token; check the credentials' access rules"
                            } else {
                                "this token is not refreshed; get a new one (for the CLI's, `runai login`)"
                            };
                            Error::Auth(format!("{} was refused ({error}); {hint}", self.what))
                        } else {
                            error
                        });
                    }
                }
                Err(source) => {
                    let next = if retry_transport(&source, self.idempotent) {
                        delays.next()
                    } else {
                        None
                    };
                    match next {
                        Some(delay) => delay,
                        None if source.is_timeout() => {
                            return Err(Error::Timeout {
                                action: self.what.clone(),
                                after: inner.timeout,
                            });
                        }
                        None => {
                            return Err(Error::Transport {
                                action: self.what.clone(),
                                source,
                            });
                        }
                    }
                }
            };
            tokio::time::sleep(delay).await;
        }
    }
}
