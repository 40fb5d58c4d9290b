//! The error and acknowledgement bodies of the Run:ai API.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The error body every Run:ai endpoint returns: `{code, message, details?}`.
///
/// ```
/// use runai_core::{parse, ApiError};
/// let err: ApiError = parse::lenient(r#"{"code": 409, "message": "Resource with this name already exists"}"#).unwrap();
/// assert_eq!(err.code, 409);
/// assert_eq!(err.to_string(), "409: Resource with this name already exists");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, thiserror::Error)]
#[error("{code}: {message}{}", details.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
#[non_exhaustive]
pub struct ApiError {
    /// HTTP status code, 100..=599.
    pub code: u16,
    /// What went wrong.
    pub message: String,
    /// More detail, when the server has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
}

impl ApiError {
    /// An error with `code` and `message`.
    #[must_use]
    pub fn new(code: u16, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: None,
        }
    }

    /// The same error with `details`.
    #[must_use]
    pub fn with_details(mut self, details: impl Into<String>) -> Self {
        self.details = Some(details.into());
        self
    }
}

/// The acknowledgement body of asynchronous operations such as `DELETE` (202).
///
/// ```
/// use runai_core::HttpResponse;
/// let ack = HttpResponse { code: 202, message: "Deletion accepted".into() };
/// assert_eq!(serde_json::to_value(&ack).unwrap()["code"], 202);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HttpResponse {
    /// HTTP status code.
    pub code: u16,
    /// Message.
    pub message: String,
}
