//! The bodies of text completions, embeddings and models, and the parts every endpoint
//! shares. Reading is lenient, as servers differ: unknown fields are ignored, and a missing
//! or `null` field takes its empty value (the chat bodies in `chat.rs` follow the same rule).

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// Reads `null` as the empty value, as some servers write `null` where others leave a field
/// out.
pub(super) fn nullable<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(
    deserializer: D,
) -> Result<T, D::Error> {
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}

/// One string or a list of them: a prompt, an embedding input or stop sequences.
///
/// ```
/// use runai_client::openai::StringOrList;
/// assert_eq!(StringOrList::from("a"), StringOrList::One("a".into()));
/// assert_eq!(StringOrList::from(["a", "b"]).len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StringOrList {
    /// A single string.
    One(String),
    /// Several strings.
    Many(Vec<String>),
}

impl StringOrList {
    /// How many strings there are.
    ///
    /// ```
    /// use runai_client::openai::StringOrList;
    /// assert_eq!(StringOrList::from(vec!["a".to_owned()]).len(), 1);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        match self {
            Self::One(_) => 1,
            Self::Many(list) => list.len(),
        }
    }

    /// Whether it is an empty list.
    ///
    /// ```
    /// use runai_client::openai::StringOrList;
    /// assert!(StringOrList::Many(Vec::new()).is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<&str> for StringOrList {
    fn from(text: &str) -> Self {
        Self::One(text.to_owned())
    }
}

impl From<String> for StringOrList {
    fn from(text: String) -> Self {
        Self::One(text)
    }
}

impl From<Vec<String>> for StringOrList {
    fn from(list: Vec<String>) -> Self {
        Self::Many(list)
    }
}

impl From<Vec<&str>> for StringOrList {
    fn from(list: Vec<&str>) -> Self {
        Self::Many(list.into_iter().map(str::to_owned).collect())
    }
}

impl<const N: usize> From<[&str; N]> for StringOrList {
    fn from(list: [&str; N]) -> Self {
        Self::Many(list.into_iter().map(str::to_owned).collect())
    }
}

/// Options of a streamed answer.
///
/// ```
/// let options = runai_client::openai::StreamOptions::default().include_usage(true);
/// assert_eq!(options.include_usage, Some(true));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct StreamOptions {
    /// Ask for a last chunk, before `[DONE]`, with the usage of the whole request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include_usage: Option<bool>,
}

impl StreamOptions {
    /// Sets `include_usage`.
    ///
    /// ```
    /// let options = runai_client::openai::StreamOptions::default().include_usage(false);
    /// assert_eq!(options.include_usage, Some(false));
    /// ```
    #[must_use]
    pub fn include_usage(mut self, include: bool) -> Self {
        self.include_usage = Some(include);
        self
    }
}

/// Token counts of a request.
///
/// ```
/// let usage: runai_client::openai::Usage =
///     serde_json::from_str(r#"{"prompt_tokens": 5, "total_tokens": 5}"#).unwrap();
/// assert_eq!(usage.completion_tokens, 0);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Usage {
    /// Tokens in the prompt.
    pub prompt_tokens: u64,
    /// Tokens generated (0 for embeddings).
    pub completion_tokens: u64,
    /// Both together.
    pub total_tokens: u64,
}

/// A text completion request (`POST /v1/completions`). The `stream` flag is set by
/// [`OpenAi::complete`](super::OpenAi::complete) and
/// [`OpenAi::complete_stream`](super::OpenAi::complete_stream).
///
/// ```
/// use runai_client::openai::CompletionRequest;
/// let request = CompletionRequest::new("llama-3-8b", "Once upon a time").max_tokens(32).stop(".");
/// let body = serde_json::to_value(&request).unwrap();
/// assert_eq!(body["prompt"], "Once upon a time");
/// assert_eq!(body["stop"], ".");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct CompletionRequest {
    /// The model, as the server names it.
    pub model: String,
    /// The prompt, or several prompts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt: Option<StringOrList>,
    /// The most tokens to generate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Sampling temperature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling: the probability mass to sample from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Sequences that end the generation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<StringOrList>,
    /// Options of a streamed answer; left out of requests that are not streamed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<StreamOptions>,
    /// Further parameters the server takes (`n`, `echo`, `logprobs`, `seed`, ...). Do not
    /// repeat the fields above here.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl CompletionRequest {
    /// A request to `model` to continue `prompt`.
    ///
    /// ```
    /// use runai_client::openai::CompletionRequest;
    /// let request = CompletionRequest::new("llama-3-8b", ["one", "two"]);
    /// assert_eq!(request.prompt.map(|p| p.len()), Some(2));
    /// ```
    pub fn new(model: impl Into<String>, prompt: impl Into<StringOrList>) -> Self {
        Self {
            model: model.into(),
            prompt: Some(prompt.into()),
            ..Self::default()
        }
    }

    /// Sets `max_tokens`.
    ///
    /// ```
    /// # use runai_client::openai::CompletionRequest;
    /// assert_eq!(CompletionRequest::new("m", "p").max_tokens(8).max_tokens, Some(8));
    /// ```
    #[must_use]
    pub fn max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = Some(max_tokens);
        self
    }

    /// Sets `temperature`.
    ///
    /// ```
    /// # use runai_client::openai::CompletionRequest;
    /// assert_eq!(CompletionRequest::new("m", "p").temperature(1.0).temperature, Some(1.0));
    /// ```
    #[must_use]
    pub fn temperature(mut self, temperature: f64) -> Self {
        self.temperature = Some(temperature);
        self
    }

    /// Sets `top_p`.
    ///
    /// ```
    /// # use runai_client::openai::CompletionRequest;
    /// assert_eq!(CompletionRequest::new("m", "p").top_p(0.5).top_p, Some(0.5));
    /// ```
    #[must_use]
    pub fn top_p(mut self, top_p: f64) -> Self {
        self.top_p = Some(top_p);
        self
    }

    /// Sets the stop sequences.
    ///
    /// ```
    /// # use runai_client::openai::CompletionRequest;
    /// assert!(CompletionRequest::new("m", "p").stop(["\n", "."]).stop.is_some());
    /// ```
    #[must_use]
    pub fn stop(mut self, stop: impl Into<StringOrList>) -> Self {
        self.stop = Some(stop.into());
        self
    }

    /// Asks for the usage chunk at the end of a stream (`stream_options.include_usage`).
    ///
    /// ```
    /// # use runai_client::openai::CompletionRequest;
    /// let request = CompletionRequest::new("m", "p").include_usage(true);
    /// assert_eq!(request.stream_options.and_then(|o| o.include_usage), Some(true));
    /// ```
    #[must_use]
    pub fn include_usage(mut self, include: bool) -> Self {
        self.stream_options = Some(self.stream_options.unwrap_or_default().include_usage(include));
        self
    }

    /// Sets a parameter that has no field here.
    ///
    /// ```
    /// # use runai_client::openai::CompletionRequest;
    /// assert_eq!(CompletionRequest::new("m", "p").extra("echo", true).extra["echo"], true);
    /// ```
    #[must_use]
    pub fn extra(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extra.insert(key.into(), value.into());
        self
    }
}

/// One answer of a text completion, or its part in a streamed chunk.
///
/// ```
/// let choice: runai_client::openai::CompletionChoice =
///     serde_json::from_str(r#"{"index": 0, "text": " there", "finish_reason": null}"#).unwrap();
/// assert_eq!(choice.text, " there");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct CompletionChoice {
    /// Its position among the answers.
    pub index: u32,
    /// The text generated (in a stream: the next piece of it).
    #[serde(deserialize_with = "nullable")]
    pub text: String,
    /// Why generation stopped: `stop`, `length`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
}

/// The answer to a text completion request (`text_completion`); each chunk of a streamed one
/// has the same shape.
///
/// ```
/// let completion: runai_client::openai::Completion = serde_json::from_str(
///     r#"{"id": "cmpl-1", "object": "text_completion", "model": "llama", "choices": [{"index": 0, "text": "Hi"}]}"#,
/// ).unwrap();
/// assert_eq!(completion.text(), Some("Hi"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Completion {
    /// The server's id of the completion.
    #[serde(deserialize_with = "nullable")]
    pub id: String,
    /// `text_completion`.
    #[serde(deserialize_with = "nullable")]
    pub object: String,
    /// When it was created, in seconds since the Unix epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<u64>,
    /// The model that answered.
    #[serde(deserialize_with = "nullable")]
    pub model: String,
    /// The answers, one per prompt (times `n`).
    #[serde(deserialize_with = "nullable")]
    pub choices: Vec<CompletionChoice>,
    /// The tokens used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

impl Completion {
    /// The text of the first answer.
    ///
    /// ```
    /// assert_eq!(runai_client::openai::Completion::default().text(), None);
    /// ```
    #[must_use]
    pub fn text(&self) -> Option<&str> {
        self.choices.first().map(|c| c.text.as_str())
    }
}

/// An embeddings request (`POST /v1/embeddings`).
///
/// ```
/// use runai_client::openai::EmbeddingRequest;
/// let request = EmbeddingRequest::new("e5-large", ["first passage", "second passage"]).dimensions(256);
/// let body = serde_json::to_value(&request).unwrap();
/// assert_eq!(body["input"][1], "second passage");
/// assert_eq!(body["dimensions"], 256);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct EmbeddingRequest {
    /// The model, as the server names it.
    pub model: String,
    /// The text to embed, or several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<StringOrList>,
    /// How many dimensions the vectors should have, for models that can shorten them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<u32>,
    /// Further parameters the server takes (`user`, ...). `encoding_format: "base64"` is not
    /// one of them: [`Embedding::embedding`] reads numbers.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl EmbeddingRequest {
    /// A request to embed `input` with `model`.
    ///
    /// ```
    /// use runai_client::openai::EmbeddingRequest;
    /// assert_eq!(EmbeddingRequest::new("e5", "hello").input.map(|i| i.len()), Some(1));
    /// ```
    pub fn new(model: impl Into<String>, input: impl Into<StringOrList>) -> Self {
        Self {
            model: model.into(),
            input: Some(input.into()),
            ..Self::default()
        }
    }

    /// Sets `dimensions`.
    ///
    /// ```
    /// # use runai_client::openai::EmbeddingRequest;
    /// assert_eq!(EmbeddingRequest::new("e5", "x").dimensions(64).dimensions, Some(64));
    /// ```
    #[must_use]
    pub fn dimensions(mut self, dimensions: u32) -> Self {
        self.dimensions = Some(dimensions);
        self
    }

    /// Sets a parameter that has no field here.
    ///
    /// ```
    /// # use runai_client::openai::EmbeddingRequest;
    /// assert_eq!(EmbeddingRequest::new("e5", "x").extra("user", "u-1").extra["user"], "u-1");
    /// ```
    #[must_use]
    pub fn extra(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extra.insert(key.into(), value.into());
        self
    }
}

/// One embedding vector.
///
/// ```
/// let embedding: runai_client::openai::Embedding =
///     serde_json::from_str(r#"{"object": "embedding", "index": 0, "embedding": [0.5, -1.0]}"#).unwrap();
/// assert_eq!(embedding.embedding, vec![0.5, -1.0]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Embedding {
    /// `embedding`.
    #[serde(deserialize_with = "nullable")]
    pub object: String,
    /// The position of its input.
    pub index: u32,
    /// The vector.
    #[serde(deserialize_with = "nullable")]
    pub embedding: Vec<f32>,
}

/// The answer to an embeddings request.
///
/// ```
/// let embeddings: runai_client::openai::Embeddings = serde_json::from_str(r#"{
///     "object": "list", "model": "e5",
///     "data": [{"object": "embedding", "index": 0, "embedding": [0.25]}],
///     "usage": {"prompt_tokens": 2, "total_tokens": 2}
/// }"#).unwrap();
/// assert_eq!(embeddings.data[0].embedding, vec![0.25]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Embeddings {
    /// `list`.
    #[serde(deserialize_with = "nullable")]
    pub object: String,
    /// One vector per input, in the inputs' order (see [`Embedding::index`]).
    #[serde(deserialize_with = "nullable")]
    pub data: Vec<Embedding>,
    /// The model that answered.
    #[serde(deserialize_with = "nullable")]
    pub model: String,
    /// The tokens used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

/// A model a server offers.
///
/// ```
/// let model: runai_client::openai::Model =
///     serde_json::from_str(r#"{"id": "llama-3-8b", "object": "model", "owned_by": "runai", "max_model_len": 8192}"#).unwrap();
/// assert_eq!(model.owned_by.as_deref(), Some("runai"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Model {
    /// The name to give as `model` in requests.
    #[serde(deserialize_with = "nullable")]
    pub id: String,
    /// `model`.
    #[serde(deserialize_with = "nullable")]
    pub object: String,
    /// When it was created, in seconds since the Unix epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<u64>,
    /// Who publishes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owned_by: Option<String>,
}

/// The models a server offers (`GET /v1/models`).
///
/// ```
/// let list: runai_client::openai::ModelList =
///     serde_json::from_str(r#"{"object": "list", "data": [{"id": "llama-3-8b"}]}"#).unwrap();
/// assert_eq!(list.data[0].id, "llama-3-8b");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ModelList {
    /// `list`.
    #[serde(deserialize_with = "nullable")]
    pub object: String,
    /// The models.
    #[serde(deserialize_with = "nullable")]
    pub data: Vec<Model>,
}
