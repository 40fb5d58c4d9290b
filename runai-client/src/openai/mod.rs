//! OpenAI-compatible inference against a serving URL: chat completions, completions,
//! embeddings and models, with streaming.
//!
//! A workload's serving URL (`https://llama.team-a.acme.run.ai`) answers the OpenAI API under
//! `/v1`. Calls take the same path as control-plane calls: retries on connect failures, 429
//! and 5xx, the control plane's token (refreshed as needed) unless another one is given,
//! and errors as [`Error`]s, with the message of OpenAI's `{"error": {...}}` documents.
//!
//! ```no_run
//! # async fn run() -> runai_client::Result<()> {
//! use runai_client::{Client, Credentials};
//! use runai_client::openai::{ChatCompletionRequest, ChatMessage};
//! let client = Client::builder("https://acme.run.ai")
//!     .credentials(Credentials::client_credentials("my-sa", "s3cret"))
//!     .build()?;
//! let llama = client.openai("https://llama.team-a.acme.run.ai")?;
//! let request = ChatCompletionRequest::new("llama-3-8b", vec![ChatMessage::user("Say hello")]);
//! let answer = llama.chat(&request).await?;
//! println!("{}", answer.text().unwrap_or_default());
//! # Ok(()) }
//! ```

mod api_error;
mod chat;
mod sse;
mod stream;
mod types;

use std::fmt;
use std::time::Instant;

use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use crate::client::{CallAuth, Client};
use crate::error::{Error, Result};

pub use chat::{
    ChatChoice, ChatChunk, ChatChunkChoice, ChatCompletion, ChatCompletionRequest, ChatDelta, ChatMessage,
    MessageContent,
};
pub use stream::{ChatStream, CompletionStream};
pub use types::{
    Completion, CompletionChoice, CompletionRequest, Embedding, EmbeddingRequest, Embeddings, Model,
    ModelList, StreamOptions, StringOrList, Usage,
};

/// The OpenAI-compatible API of one serving URL, from [`Client::openai`].
///
/// ```
/// # fn run(client: runai_client::Client) -> runai_client::Result<()> {
/// let llama = client.openai("https://llama.team-a.acme.run.ai")?.token("sk-workload-key");
/// assert_eq!(llama.base_url().as_str(), "https://llama.team-a.acme.run.ai/v1/");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct OpenAi<'a> {
    client: &'a Client,
    /// The API root, ending in `/v1/`.
    api: Url,
    auth: CallAuth,
}

impl fmt::Debug for OpenAi<'_> {
    // Tokens stay out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let auth = match self.auth {
            CallAuth::ControlPlane => "control plane token",
            CallAuth::Token(_) => "own token",
            CallAuth::Anonymous => "anonymous",
        };
        f.debug_struct("OpenAi")
            .field("api", &self.api.as_str())
            .field("auth", &auth)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// The OpenAI-compatible API served at `base`, a workload's serving URL such as
    /// `https://llama.team-a.acme.run.ai` (a URL that already ends in `/v1` is taken as the
    /// API root itself). Calls send the control plane's token, as Run:ai's gateway expects,
    /// or nothing when the client has no credentials; see [`OpenAi::token`] and
    /// [`OpenAi::anonymous`].
    ///
    /// ```
    /// # fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// let by_host = client.openai("https://llama.team-a.acme.run.ai")?;
    /// assert_eq!(by_host.base_url().as_str(), "https://llama.team-a.acme.run.ai/v1/");
    /// let by_path = client.openai("http://localhost:8080/team-a/llama/v1")?;
    /// assert_eq!(by_path.base_url().as_str(), "http://localhost:8080/team-a/llama/v1/");
    /// assert!(client.openai("llama.team-a").is_err());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Config`] when `base` is not an `http` or `https` URL, or has a query or a
    /// fragment.
    pub fn openai(&self, base: impl AsRef<str>) -> Result<OpenAi<'_>> {
        Ok(OpenAi {
            client: self,
            api: api_root(base.as_ref())?,
            auth: CallAuth::ControlPlane,
        })
    }
}

/// The `/v1/` URL under a serving URL.
fn api_root(base: &str) -> Result<Url> {
    let invalid = |reason: String| Error::Config {
        field: "serving_url",
        reason,
    };
    let mut url = Url::parse(base.trim()).map_err(|e| {
        invalid(format!(
            "`{base}` is not a URL ({e}); give one like https://llama.team-a.acme.run.ai"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(invalid(format!("`{base}` is not an http or https URL")));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(format!(
            "`{base}` has a query or a fragment; give the serving URL alone"
        )));
    }
    let path = url.path().trim_end_matches('/');
    let root = if path.ends_with("/v1") {
        format!("{path}/")
    } else {
        format!("{path}/v1/")
    };
    url.set_path(&root);
    Ok(url)
}

/// `request` as a JSON body with the `stream` flag set; `stream_options` is dropped from a
/// request that is not streamed, as OpenAI and vLLM refuse that combination.
fn body(request: &impl Serialize, stream: bool) -> Result<Value> {
    let mut body = serde_json::to_value(request).map_err(|e| Error::Config {
        field: "request",
        reason: format!("cannot be written as JSON: {e}"),
    })?;
    if let Some(fields) = body.as_object_mut() {
        fields.insert("stream".to_owned(), Value::Bool(stream));
        if !stream {
            fields.remove("stream_options");
        }
    }
    Ok(body)
}

impl OpenAi<'_> {
    /// Sends `token` instead of the control plane's: an API key of the model server, or a
    /// token for another tenant.
    ///
    /// ```
    /// # fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// let llama = client.openai("https://llama.team-a.acme.run.ai")?.token("sk-workload-key");
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.auth = CallAuth::Token(token.into());
        self
    }

    /// Sends no token, for a workload open to everyone.
    ///
    /// ```
    /// # fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// let public = client.openai("https://demo.team-a.acme.run.ai")?.anonymous();
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn anonymous(mut self) -> Self {
        self.auth = CallAuth::Anonymous;
        self
    }

    /// The API root requests go under, ending in `/v1/`.
    ///
    /// ```
    /// # fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// let llama = client.openai("https://llama.team-a.acme.run.ai/")?;
    /// assert_eq!(llama.base_url().join("models").unwrap().path(), "/v1/models");
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn base_url(&self) -> &Url {
        &self.api
    }

    /// A chat completion (`POST /v1/chat/completions`, `stream: false`).
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// use runai_client::openai::{ChatCompletionRequest, ChatMessage};
    /// let request = ChatCompletionRequest::new(
    ///     "llama-3-8b",
    ///     vec![ChatMessage::system("Answer in one word."), ChatMessage::user("Capital of France?")],
    /// )
    /// .max_tokens(8)
    /// .temperature(0.0);
    /// let answer = client.openai("https://llama.team-a.acme.run.ai")?.chat(&request).await?;
    /// println!("{} ({:?})", answer.text().unwrap_or_default(), answer.usage);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Api`] with the server's message when it refuses or fails the request, or
    /// another [`Error`] from the call.
    pub async fn chat(&self, request: &ChatCompletionRequest) -> Result<ChatCompletion> {
        self.post("chat/completions", &body(request, false)?).await
    }

    /// A streamed chat completion (`POST /v1/chat/completions`, `stream: true`). Set
    /// [`ChatCompletionRequest::include_usage`] to have the token counts at the end.
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// use futures_util::TryStreamExt;
    /// use runai_client::openai::{ChatCompletionRequest, ChatMessage};
    /// let request = ChatCompletionRequest::new("llama-3-8b", vec![ChatMessage::user("Tell me a story")])
    ///     .include_usage(true);
    /// let mut stream = client.openai("https://llama.team-a.acme.run.ai")?.chat_stream(&request).await?;
    /// while let Some(chunk) = stream.try_next().await? {
    ///     print!("{}", chunk.text().unwrap_or_default());
    /// }
    /// println!("\nTTFT {:?}, {:?}", stream.time_to_first_token(), stream.usage());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Api`] when the server refuses the request before streaming, or another
    /// [`Error`] from the call. Errors during the stream come as its items.
    pub async fn chat_stream(&self, request: &ChatCompletionRequest) -> Result<ChatStream> {
        let started = Instant::now();
        let (response, what) = self
            .open_stream("chat/completions", &body(request, true)?)
            .await?;
        ChatStream::open(response, started, what).await
    }

    /// A text completion (`POST /v1/completions`, `stream: false`).
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// use runai_client::openai::CompletionRequest;
    /// let request = CompletionRequest::new("llama-3-8b", "The capital of France is").max_tokens(4);
    /// let answer = client.openai("https://llama.team-a.acme.run.ai")?.complete(&request).await?;
    /// println!("{}", answer.text().unwrap_or_default());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`OpenAi::chat`].
    pub async fn complete(&self, request: &CompletionRequest) -> Result<Completion> {
        self.post("completions", &body(request, false)?).await
    }

    /// A streamed text completion (`POST /v1/completions`, `stream: true`).
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// use futures_util::TryStreamExt;
    /// use runai_client::openai::CompletionRequest;
    /// let request = CompletionRequest::new("llama-3-8b", "Once upon a time").include_usage(true);
    /// let mut stream = client.openai("https://llama.team-a.acme.run.ai")?.complete_stream(&request).await?;
    /// while let Some(chunk) = stream.try_next().await? {
    ///     print!("{}", chunk.text().unwrap_or_default());
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`OpenAi::chat_stream`].
    pub async fn complete_stream(&self, request: &CompletionRequest) -> Result<CompletionStream> {
        let started = Instant::now();
        let (response, what) = self.open_stream("completions", &body(request, true)?).await?;
        CompletionStream::open(response, started, what).await
    }

    /// Embeddings of one text or several (`POST /v1/embeddings`).
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// use runai_client::openai::EmbeddingRequest;
    /// let request = EmbeddingRequest::new("e5-large", ["first passage", "second passage"]);
    /// let embeddings = client.openai("https://e5.team-a.acme.run.ai")?.embed(&request).await?;
    /// for item in &embeddings.data {
    ///     println!("input {}: {} dimensions", item.index, item.embedding.len());
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`OpenAi::chat`].
    pub async fn embed(&self, request: &EmbeddingRequest) -> Result<Embeddings> {
        self.post("embeddings", request).await
    }

    /// The models the server offers (`GET /v1/models`).
    ///
    /// ```no_run
    /// # async fn run(client: runai_client::Client) -> runai_client::Result<()> {
    /// let models = client.openai("https://llama.team-a.acme.run.ai")?.models().await?;
    /// for model in &models.data {
    ///     println!("{}", model.id);
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`OpenAi::chat`].
    pub async fn models(&self) -> Result<ModelList> {
        let url = self.endpoint("models")?;
        self.client
            .call_url(Method::GET, url, self.auth.clone())
            .decode()
            .await
            .map_err(api_error::refine)
    }

    fn endpoint(&self, path: &str) -> Result<Url> {
        self.api.join(path).map_err(|e| Error::Config {
            field: "path",
            reason: format!("`{path}`: {e}"),
        })
    }

    /// `POST`s `body` and reads the whole answer. Completions change nothing on the server,
    /// so a failed attempt may be repeated like any idempotent call.
    async fn post<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> Result<T> {
        let url = self.endpoint(path)?;
        self.client
            .call_url(Method::POST, url, self.auth.clone())
            .json(body)
            .decode()
            .await
            .map_err(api_error::refine)
    }

    /// `POST`s `body` and returns the 2xx response before its body is read, with the call's
    /// description for the stream's errors.
    async fn open_stream(&self, path: &str, body: &Value) -> Result<(reqwest::Response, String)> {
        let url = self.endpoint(path)?;
        let what = format!("POST {url}");
        let response = self
            .client
            .call_url(Method::POST, url, self.auth.clone())
            .json(body)
            .response()
            .await
            .map_err(api_error::refine)?;
        Ok((response, what))
    }
}
