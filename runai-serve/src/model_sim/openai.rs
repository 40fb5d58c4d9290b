//! The OpenAI request fields the simulator reads and the response shapes it writes.

use serde_json::{Value, json};

/// Which endpoint: chat completions or text completions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Chat,
    Text,
}

impl Kind {
    pub(super) fn id_prefix(self) -> &'static str {
        match self {
            Self::Chat => "chatcmpl",
            Self::Text => "cmpl",
        }
    }

    fn object(self, streaming: bool) -> &'static str {
        match (self, streaming) {
            (Self::Chat, true) => "chat.completion.chunk",
            (Self::Chat, false) => "chat.completion",
            (Self::Text, _) => "text_completion",
        }
    }
}

/// Output tokens when a request does not say.
const DEFAULT_MAX_TOKENS: u32 = 16;
/// The words the simulator "generates", in turn.
const WORDS: [&str; 8] = [
    " the",
    " model",
    " says",
    " hello",
    " from",
    " a",
    " simulated",
    " GPU",
];

/// What the simulator needs from a completion request.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct CompletionRequest {
    pub(super) stream: bool,
    pub(super) include_usage: bool,
    pub(super) max_tokens: u32,
    pub(super) prompt_tokens: u64,
}

impl CompletionRequest {
    /// Reads a request body, with an error message naming the field at fault.
    pub(super) fn parse(kind: Kind, body: Value) -> Result<Self, String> {
        let Value::Object(fields) = body else {
            return Err("the request body must be a JSON object".to_owned());
        };
        let flag = |name: &str, value: Option<&Value>| match value {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(format!("`{name}` must be true or false, got {other}")),
        };
        let stream = flag("stream", fields.get("stream"))?;
        let include_usage = flag(
            "stream_options.include_usage",
            fields.get("stream_options").and_then(|o| o.get("include_usage")),
        )?;
        let max_tokens = match fields
            .get("max_completion_tokens")
            .or_else(|| fields.get("max_tokens"))
        {
            None | Some(Value::Null) => DEFAULT_MAX_TOKENS,
            Some(value) => value
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("`max_tokens` must be a positive integer, got {value}"))?,
        };
        let prompt_tokens = match kind {
            Kind::Chat => {
                let messages = fields
                    .get("messages")
                    .and_then(Value::as_array)
                    .ok_or("`messages` is required and must be an array of messages")?;
                messages.iter().map(|m| words_in(m.get("content"))).sum()
            }
            Kind::Text => {
                let prompt = fields.get("prompt").ok_or("`prompt` is required")?;
                words_in(Some(prompt))
            }
        };
        Ok(Self {
            stream,
            include_usage,
            max_tokens,
            prompt_tokens,
        })
    }

    fn usage(&self) -> Value {
        json!({
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.max_tokens,
            "total_tokens": self.prompt_tokens + u64::from(self.max_tokens),
        })
    }
}

/// Whitespace-separated words in a prompt or message content: a string, an array of strings
/// or an array of content parts with `text`.
fn words_in(content: Option<&Value>) -> u64 {
    match content {
        Some(Value::String(text)) => text.split_whitespace().count() as u64,
        Some(Value::Array(parts)) => parts
            .iter()
            .map(|part| match part {
                Value::String(_) => words_in(Some(part)),
                _ => words_in(part.get("text")),
            })
            .sum(),
        _ => 0,
    }
}

fn text(tokens: u32) -> String {
    (0..tokens).map(|i| WORDS[i as usize % WORDS.len()]).collect()
}

/// The answer of a non-streaming request.
pub(super) fn whole_response(kind: Kind, id: &str, model: &str, request: &CompletionRequest) -> Value {
    let content = text(request.max_tokens);
    let choice = match kind {
        Kind::Chat => {
            json!({"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "length"})
        }
        Kind::Text => json!({"index": 0, "text": content, "finish_reason": "length"}),
    };
    json!({"id": id, "object": kind.object(false), "created": 0, "model": model,
           "choices": [choice], "usage": request.usage()})
}

fn chunk(kind: Kind, id: &str, model: &str, choices: Value, request: &CompletionRequest) -> Value {
    let mut chunk = json!({"id": id, "object": kind.object(true), "created": 0, "model": model});
    chunk["choices"] = choices;
    if request.include_usage {
        // With include_usage every chunk but the last carries `"usage": null`.
        chunk["usage"] = Value::Null;
    }
    chunk
}

/// The chunk carrying output token `index`; the first chat chunk also carries the role.
pub(super) fn token_chunk(
    kind: Kind,
    id: &str,
    model: &str,
    index: u32,
    request: &CompletionRequest,
) -> Value {
    let word = WORDS[index as usize % WORDS.len()];
    let choice = match kind {
        Kind::Chat if index == 0 => {
            json!({"index": 0, "delta": {"role": "assistant", "content": word}, "finish_reason": null})
        }
        Kind::Chat => json!({"index": 0, "delta": {"content": word}, "finish_reason": null}),
        Kind::Text => json!({"index": 0, "text": word, "finish_reason": null}),
    };
    chunk(kind, id, model, json!([choice]), request)
}

/// The chunk that ends the choice.
pub(super) fn finish_chunk(kind: Kind, id: &str, model: &str, request: &CompletionRequest) -> Value {
    let choice = match kind {
        Kind::Chat => json!({"index": 0, "delta": {}, "finish_reason": "length"}),
        Kind::Text => json!({"index": 0, "text": "", "finish_reason": "length"}),
    };
    chunk(kind, id, model, json!([choice]), request)
}

/// The usage chunk sent before `[DONE]` when `stream_options.include_usage` is set.
pub(super) fn usage_chunk(kind: Kind, id: &str, model: &str, request: &CompletionRequest) -> Value {
    json!({"id": id, "object": kind.object(true), "created": 0, "model": model,
           "choices": [], "usage": request.usage()})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_count_words_in_every_content_shape() {
        let body = json!({"messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": [{"type": "text", "text": "three more words"}]},
        ], "max_tokens": 4, "stream": true});
        let request = CompletionRequest::parse(Kind::Chat, body).unwrap();
        assert_eq!(request.prompt_tokens, 5);
        assert_eq!(request.max_tokens, 4);
        assert!(request.stream && !request.include_usage);
        let text = CompletionRequest::parse(Kind::Text, json!({"prompt": ["a b", "c"]})).unwrap();
        assert_eq!((text.prompt_tokens, text.max_tokens), (3, DEFAULT_MAX_TOKENS));
    }

    #[test]
    fn bad_fields_are_named() {
        let err =
            CompletionRequest::parse(Kind::Chat, json!({"messages": [], "max_tokens": -1})).unwrap_err();
        assert!(err.contains("`max_tokens`"), "{err}");
        let err = CompletionRequest::parse(Kind::Chat, json!({"model": "m"})).unwrap_err();
        assert!(err.contains("`messages`"), "{err}");
        let err = CompletionRequest::parse(Kind::Text, json!({"prompt": "x", "stream": "yes"})).unwrap_err();
        assert!(err.contains("`stream`"), "{err}");
    }
}
