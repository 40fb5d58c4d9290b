//! The error documents of OpenAI-compatible servers, read into [`Error::Api`]: OpenAI's
//! `{"error": {"message", "type", "param", "code"}}`, the `{"object": "error", "message", ...}`
//! of older vLLM releases, `{"error": "text"}` and FastAPI's `{"detail": "text"}`.

use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, excerpt};

/// What an error document says.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Fields {
    message: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    param: Option<Value>,
    code: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Detail {
    Fields(Fields),
    Text(String),
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Document {
    error: Option<Detail>,
    object: Option<String>,
    detail: Option<Value>,
    #[serde(flatten)]
    fields: Fields,
}

/// The error a document describes, or `None` when `text` is not an error document.
fn parse(text: &str) -> Option<Fields> {
    let document: Document = serde_json::from_str(text).ok()?;
    match document.error {
        Some(Detail::Fields(fields)) => Some(fields),
        Some(Detail::Text(message)) => Some(Fields {
            message: Some(message),
            ..Fields::default()
        }),
        None if document.object.as_deref() == Some("error") => Some(document.fields),
        None => match document.detail {
            Some(Value::String(message)) => Some(Fields {
                message: Some(message),
                ..Fields::default()
            }),
            _ => None,
        },
    }
}

/// An [`Error::Api`] with the document's message; its type, parameter and a textual code go
/// to `details` (a numeric code to `code`). `in_stream` marks an error that arrived as an
/// event after a 2xx status.
fn to_error(status: u16, fields: Fields, in_stream: bool) -> Error {
    let numeric_code = fields
        .code
        .as_ref()
        .and_then(Value::as_u64)
        .and_then(|c| u16::try_from(c).ok());
    let mut details = Vec::new();
    if in_stream {
        details.push("sent in the event stream".to_owned());
    }
    if let Some(kind) = fields.kind.filter(|k| !k.is_empty()) {
        details.push(format!("type {kind}"));
    }
    match &fields.code {
        Some(Value::String(code)) if !code.is_empty() => details.push(format!("code {code}")),
        Some(Value::Number(code)) if numeric_code.is_none() => details.push(format!("code {code}")),
        _ => {}
    }
    match &fields.param {
        Some(Value::String(param)) if !param.is_empty() => details.push(format!("param {param}")),
        _ => {}
    }
    Error::Api {
        status,
        code: numeric_code,
        message: fields
            .message
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| "the server reported an error without a message".to_owned()),
        details: (!details.is_empty()).then(|| details.join("; ")),
    }
}

/// The error an event of a 2xx stream reports, if it is an error document. `named` is set
/// for an `event: error` event, which is an error whatever its data says.
pub(super) fn stream_error(status: u16, data: &str, named: bool) -> Option<Error> {
    match parse(data) {
        Some(fields) => Some(to_error(status, fields, true)),
        None if named => Some(to_error(
            status,
            Fields {
                message: Some(excerpt(data.trim().as_bytes())),
                ..Fields::default()
            },
            true,
        )),
        None => None,
    }
}

/// A whole 2xx body that is an error document, as an error.
pub(super) fn body_error(status: u16, body: &[u8]) -> Option<Error> {
    let text = std::str::from_utf8(body).ok()?;
    parse(text).map(|fields| to_error(status, fields, false))
}

/// Reads an OpenAI error document out of an [`Error::Api`] whose message is still the raw
/// body, which is what the control plane's error reader leaves for documents it does not
/// know. Other errors pass through unchanged.
pub(super) fn refine(error: Error) -> Error {
    match error {
        Error::Api {
            status,
            code: None,
            message,
            details: None,
        } => match parse(&message).or_else(|| message_of_cut_document(&message)) {
            Some(fields) => to_error(status, fields, false),
            None => Error::Api {
                status,
                code: None,
                message,
                details: None,
            },
        },
        other => other,
    }
}

/// The message of an OpenAI error document whose end was cut off (the raw body kept in an
/// error is only its start), as long as the message itself is whole.
fn message_of_cut_document(text: &str) -> Option<Fields> {
    let text = text.trim_start();
    if !text.starts_with('{') || !text.contains("\"error\"") {
        return None;
    }
    let (_, after_key) = text.split_once("\"message\"")?;
    let value = after_key.trim_start().strip_prefix(':')?;
    let message = serde_json::Deserializer::from_str(value)
        .into_iter::<String>()
        .next()?
        .ok()?;
    Some(Fields {
        message: Some(message),
        ..Fields::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(error: &Error) -> (u16, Option<u16>, &str, Option<&str>) {
        match error {
            Error::Api {
                status,
                code,
                message,
                details,
            } => (*status, *code, message, details.as_deref()),
            other => panic!("not an API error: {other}"),
        }
    }

    #[test]
    fn openai_documents_give_message_and_details() {
        let body = r#"{"error":{"message":"The model `gpt-9` does not exist","type":"invalid_request_error","param":"model","code":"model_not_found"}}"#;
        let error = refine(Error::from_body(404, body.as_bytes()));
        assert_eq!(
            parts(&error),
            (
                404,
                None,
                "The model `gpt-9` does not exist",
                Some("type invalid_request_error; code model_not_found; param model")
            )
        );
    }

    #[test]
    fn vllm_documents_keep_their_numeric_code() {
        let error = stream_error(
            200,
            r#"{"error":{"object":"error","message":"overloaded","type":"ServiceUnavailableError","code":503}}"#,
            false,
        );
        let error = error.unwrap_or_else(|| panic!("an error document"));
        assert_eq!(
            parts(&error),
            (
                200,
                Some(503),
                "overloaded",
                Some("sent in the event stream; type ServiceUnavailableError")
            )
        );
        let old = stream_error(
            200,
            r#"{"object":"error","message":"bad","type":"BadRequestError","code":400}"#,
            false,
        );
        assert!(old.is_some());
    }

    #[test]
    fn chunks_are_not_errors() {
        let chunk = r#"{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"error"}],"error":null}"#;
        assert!(stream_error(200, chunk, false).is_none());
        assert!(body_error(200, chunk.as_bytes()).is_none());
    }

    #[test]
    fn a_named_error_event_with_plain_text_is_an_error() {
        let error = stream_error(200, "  upstream went away\n", true).unwrap_or_else(|| panic!("an error"));
        assert_eq!(parts(&error).2, "upstream went away");
    }

    #[test]
    fn a_cut_off_document_still_gives_its_message() {
        let long = "x".repeat(400);
        let body = format!(
            r#"{{"error": {{"message": "too long: prompt", "type": "invalid_request_error", "param": "{long}"}}}}"#
        );
        let error = refine(Error::from_body(400, body.as_bytes()));
        assert_eq!(parts(&error).2, "too long: prompt");
    }

    #[test]
    fn other_errors_pass_through() {
        let error = refine(Error::from_body(502, b"<html>bad gateway</html>"));
        assert_eq!(parts(&error), (502, None, "<html>bad gateway</html>", None));
        let fastapi = refine(Error::from_body(404, br#"{"detail":"Not Found"}"#));
        assert_eq!(parts(&fastapi).2, "Not Found");
    }
}
