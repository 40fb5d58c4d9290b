//! The chat completion bodies (`/v1/chat/completions`): messages, the request, the whole
//! answer and the chunks of a streamed one.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::types::{StreamOptions, StringOrList, Usage, nullable};

/// The content of a chat message: text, or a list of content parts (text and images, for
/// models that take them).
///
/// ```
/// use runai_client::openai::MessageContent;
/// let parts = MessageContent::Parts(vec![serde_json::json!({"type": "text", "text": "hi"})]);
/// assert_eq!(parts.as_text(), None);
/// assert_eq!(MessageContent::from("hi").as_text(), Some("hi"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MessageContent {
    /// Plain text.
    Text(String),
    /// Content parts such as `{"type": "text", "text": ...}` or
    /// `{"type": "image_url", "image_url": {"url": ...}}`.
    Parts(Vec<Value>),
}

impl MessageContent {
    /// The text, when the content is plain text.
    ///
    /// ```
    /// use runai_client::openai::MessageContent;
    /// assert_eq!(MessageContent::Text("hi".into()).as_text(), Some("hi"));
    /// ```
    #[must_use]
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(text) => Some(text),
            Self::Parts(_) => None,
        }
    }
}

impl From<&str> for MessageContent {
    fn from(text: &str) -> Self {
        Self::Text(text.to_owned())
    }
}

impl From<String> for MessageContent {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}

/// One message of a chat.
///
/// ```
/// use runai_client::openai::ChatMessage;
/// let message = ChatMessage::user("Say hello");
/// assert_eq!(message.role, "user");
/// assert_eq!(message.text(), Some("Say hello"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ChatMessage {
    /// `system`, `user`, `assistant`, `tool`, ...
    #[serde(deserialize_with = "nullable")]
    pub role: String,
    /// What it says; `None` for an assistant message that only calls tools.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<MessageContent>,
    /// Every other field (`name`, `tool_calls`, `tool_call_id`, `reasoning_content`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ChatMessage {
    /// A message with `role` and text `content`.
    ///
    /// ```
    /// use runai_client::openai::ChatMessage;
    /// assert_eq!(ChatMessage::new("developer", "Be brief").role, "developer");
    /// ```
    pub fn new(role: impl Into<String>, content: impl Into<MessageContent>) -> Self {
        Self {
            role: role.into(),
            content: Some(content.into()),
            extra: Map::new(),
        }
    }

    /// A `system` message.
    ///
    /// ```
    /// use runai_client::openai::ChatMessage;
    /// assert_eq!(ChatMessage::system("Be brief").role, "system");
    /// ```
    pub fn system(content: impl Into<MessageContent>) -> Self {
        Self::new("system", content)
    }

    /// A `user` message.
    ///
    /// ```
    /// use runai_client::openai::ChatMessage;
    /// assert_eq!(ChatMessage::user("Hello").role, "user");
    /// ```
    pub fn user(content: impl Into<MessageContent>) -> Self {
        Self::new("user", content)
    }

    /// An `assistant` message (an earlier answer, to continue a conversation).
    ///
    /// ```
    /// use runai_client::openai::ChatMessage;
    /// assert_eq!(ChatMessage::assistant("Hi!").role, "assistant");
    /// ```
    pub fn assistant(content: impl Into<MessageContent>) -> Self {
        Self::new("assistant", content)
    }

    /// The content, when it is plain text.
    ///
    /// ```
    /// use runai_client::openai::ChatMessage;
    /// assert_eq!(ChatMessage::assistant("Hi!").text(), Some("Hi!"));
    /// ```
    #[must_use]
    pub fn text(&self) -> Option<&str> {
        self.content.as_ref().and_then(MessageContent::as_text)
    }
}

/// A chat completion request (`POST /v1/chat/completions`). The `stream` flag is not part of
/// it: [`OpenAi::chat`](super::OpenAi::chat) and
/// [`OpenAi::chat_stream`](super::OpenAi::chat_stream) set it.
///
/// ```
/// use runai_client::openai::{ChatCompletionRequest, ChatMessage};
/// let request = ChatCompletionRequest::new("llama-3-8b", vec![ChatMessage::user("Say hello")])
///     .max_tokens(64)
///     .temperature(0.2)
///     .stop(["\n\n"])
///     .include_usage(true)
///     .extra("top_k", 40);
/// let body = serde_json::to_value(&request).unwrap();
/// assert_eq!(body["messages"][0]["content"], "Say hello");
/// assert_eq!(body["stream_options"]["include_usage"], true);
/// assert_eq!(body["top_k"], 40);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ChatCompletionRequest {
    /// The model, as the server names it (see [`OpenAi::models`](super::OpenAi::models)).
    pub model: String,
    /// The conversation so far.
    pub messages: Vec<ChatMessage>,
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
    /// Options of a streamed answer; left out of requests that are not streamed, which
    /// servers refuse to combine with them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<StreamOptions>,
    /// Further parameters the server takes (`n`, `seed`, `tools`, `response_format`, vLLM's
    /// `top_k`, ...). Do not repeat the fields above here.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ChatCompletionRequest {
    /// A request to `model` with `messages`.
    ///
    /// ```
    /// use runai_client::openai::{ChatCompletionRequest, ChatMessage};
    /// let request = ChatCompletionRequest::new("llama-3-8b", vec![ChatMessage::user("Hi")]);
    /// assert_eq!(request.max_tokens, None);
    /// ```
    pub fn new(model: impl Into<String>, messages: Vec<ChatMessage>) -> Self {
        Self {
            model: model.into(),
            messages,
            ..Self::default()
        }
    }

    /// Sets `max_tokens`.
    ///
    /// ```
    /// # use runai_client::openai::ChatCompletionRequest;
    /// assert_eq!(ChatCompletionRequest::new("m", vec![]).max_tokens(8).max_tokens, Some(8));
    /// ```
    #[must_use]
    pub fn max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = Some(max_tokens);
        self
    }

    /// Sets `temperature`.
    ///
    /// ```
    /// # use runai_client::openai::ChatCompletionRequest;
    /// assert_eq!(ChatCompletionRequest::new("m", vec![]).temperature(0.0).temperature, Some(0.0));
    /// ```
    #[must_use]
    pub fn temperature(mut self, temperature: f64) -> Self {
        self.temperature = Some(temperature);
        self
    }

    /// Sets `top_p`.
    ///
    /// ```
    /// # use runai_client::openai::ChatCompletionRequest;
    /// assert_eq!(ChatCompletionRequest::new("m", vec![]).top_p(0.9).top_p, Some(0.9));
    /// ```
    #[must_use]
    pub fn top_p(mut self, top_p: f64) -> Self {
        self.top_p = Some(top_p);
        self
    }

    /// Sets the stop sequences.
    ///
    /// ```
    /// # use runai_client::openai::ChatCompletionRequest;
    /// let request = ChatCompletionRequest::new("m", vec![]).stop("END");
    /// assert_eq!(request.stop.map(|s| s.len()), Some(1));
    /// ```
    #[must_use]
    pub fn stop(mut self, stop: impl Into<StringOrList>) -> Self {
        self.stop = Some(stop.into());
        self
    }

    /// Asks for the usage chunk at the end of a stream (`stream_options.include_usage`).
    ///
    /// ```
    /// # use runai_client::openai::ChatCompletionRequest;
    /// let request = ChatCompletionRequest::new("m", vec![]).include_usage(true);
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
    /// # use runai_client::openai::ChatCompletionRequest;
    /// let request = ChatCompletionRequest::new("m", vec![]).extra("seed", 7);
    /// assert_eq!(request.extra["seed"], 7);
    /// ```
    #[must_use]
    pub fn extra(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extra.insert(key.into(), value.into());
        self
    }
}

/// One answer of a chat completion.
///
/// ```
/// let choice: runai_client::openai::ChatChoice = serde_json::from_str(
///     r#"{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}"#,
/// ).unwrap();
/// assert_eq!(choice.message.text(), Some("Hi"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ChatChoice {
    /// Its position among the answers.
    pub index: u32,
    /// The message generated.
    #[serde(deserialize_with = "nullable")]
    pub message: ChatMessage,
    /// Why generation stopped: `stop`, `length`, `tool_calls`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
}

/// The answer to a chat completion request.
///
/// ```
/// let completion: runai_client::openai::ChatCompletion = serde_json::from_str(r#"{
///     "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "llama",
///     "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}}],
///     "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
/// }"#).unwrap();
/// assert_eq!(completion.text(), Some("Hi"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ChatCompletion {
    /// The server's id of the completion.
    #[serde(deserialize_with = "nullable")]
    pub id: String,
    /// `chat.completion`.
    #[serde(deserialize_with = "nullable")]
    pub object: String,
    /// When it was created, in seconds since the Unix epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<u64>,
    /// The model that answered.
    #[serde(deserialize_with = "nullable")]
    pub model: String,
    /// The answers (one unless the request asked for `n`).
    #[serde(deserialize_with = "nullable")]
    pub choices: Vec<ChatChoice>,
    /// The tokens used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

impl ChatCompletion {
    /// The text of the first answer.
    ///
    /// ```
    /// assert_eq!(runai_client::openai::ChatCompletion::default().text(), None);
    /// ```
    #[must_use]
    pub fn text(&self) -> Option<&str> {
        self.choices.first().and_then(|c| c.message.text())
    }
}

/// What one chunk of a streamed chat adds to a message.
///
/// ```
/// let delta: runai_client::openai::ChatDelta =
///     serde_json::from_str(r#"{"role": "assistant", "content": ""}"#).unwrap();
/// assert_eq!(delta.role.as_deref(), Some("assistant"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ChatDelta {
    /// The role, usually on the first chunk only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The next piece of text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Every other field (`tool_calls`, `reasoning_content`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One answer's part of a streamed chat chunk.
///
/// ```
/// let choice: runai_client::openai::ChatChunkChoice =
///     serde_json::from_str(r#"{"index": 0, "delta": {"content": "Hi"}, "finish_reason": null}"#).unwrap();
/// assert_eq!(choice.delta.content.as_deref(), Some("Hi"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ChatChunkChoice {
    /// Which answer it belongs to.
    pub index: u32,
    /// What it adds.
    #[serde(deserialize_with = "nullable")]
    pub delta: ChatDelta,
    /// Why generation stopped, on the answer's last chunk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
}

/// One event of a streamed chat (`chat.completion.chunk`).
///
/// ```
/// let chunk: runai_client::openai::ChatChunk = serde_json::from_str(
///     r#"{"id": "c", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "Hi"}}]}"#,
/// ).unwrap();
/// assert_eq!(chunk.text(), Some("Hi"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ChatChunk {
    /// The server's id of the completion (the same on every chunk).
    #[serde(deserialize_with = "nullable")]
    pub id: String,
    /// `chat.completion.chunk`.
    #[serde(deserialize_with = "nullable")]
    pub object: String,
    /// When it was created, in seconds since the Unix epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<u64>,
    /// The model that answers.
    #[serde(deserialize_with = "nullable")]
    pub model: String,
    /// The answers' parts (empty on the usage chunk).
    #[serde(deserialize_with = "nullable")]
    pub choices: Vec<ChatChunkChoice>,
    /// The tokens used, on the last chunk when the request asked for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

impl ChatChunk {
    /// The text this chunk adds to the first answer.
    ///
    /// ```
    /// assert_eq!(runai_client::openai::ChatChunk::default().text(), None);
    /// ```
    #[must_use]
    pub fn text(&self) -> Option<&str> {
        self.choices.first().and_then(|c| c.delta.content.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nulls_and_missing_fields_read_as_empty() {
        let chunk: ChatChunk = serde_json::from_str(
            r#"{"id": null, "choices": [{"index": 0, "delta": null, "logprobs": null}], "usage": null, "x": 1}"#,
        )
        .unwrap();
        assert_eq!(chunk.id, "");
        assert_eq!(chunk.choices[0].delta, ChatDelta::default());
        let completion: ChatCompletion = serde_json::from_str(r#"{"choices": null}"#).unwrap();
        assert!(completion.choices.is_empty());
        let message: ChatMessage =
            serde_json::from_str(r#"{"role": "assistant", "content": null, "tool_calls": []}"#).unwrap();
        assert_eq!((message.content, message.extra.len()), (None, 1));
    }

    #[test]
    fn requests_leave_unset_fields_out() {
        let request = ChatCompletionRequest::new("m", vec![ChatMessage::user("hi")]);
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            serde_json::json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
        );
        let parts = ChatMessage::user(MessageContent::Parts(vec![
            serde_json::json!({"type": "text", "text": "hi"}),
        ]));
        let round_trip: ChatMessage = serde_json::from_value(serde_json::to_value(&parts).unwrap()).unwrap();
        assert_eq!(round_trip, parts);
    }
}
