//! One error type for every call, separating what the server said from what went wrong on
//! the way.

use std::time::Duration;

use runai_core::Phase;

/// The result of a client call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong with a call.
///
/// ```
/// use runai_client::Error;
/// let error = Error::Api { status: 409, code: Some(409), message: "Resource with this name already exists".into(), details: None };
/// assert_eq!(error.status(), Some(409));
/// assert_eq!(error.to_string(), "the server answered 409: Resource with this name already exists");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server refused the request or failed it.
    #[error("the server answered {status}: {message}{}", details.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Api {
        /// The HTTP status.
        status: u16,
        /// The `code` of the error body, when it had one.
        code: Option<u16>,
        /// The server's message (or the start of a body that was not an error document).
        message: String,
        /// The server's details.
        details: Option<String>,
    },
    /// No valid token could be had: the credentials were refused, or the server kept
    /// answering 401 to a fresh token.
    #[error("authentication failed: {0}")]
    Auth(String),
    /// The request did not reach the server, or the answer did not come back.
    #[error("{action}: {source}")]
    Transport {
        /// What was being done.
        action: String,
        /// The cause.
        source: reqwest::Error,
    },
    /// The call (or the wait) took longer than allowed.
    #[error("{action} timed out after {after:?}")]
    Timeout {
        /// What was being done.
        action: String,
        /// How long it waited.
        after: Duration,
    },
    /// The answer was not what the API documents.
    #[error("{what}: {reason}; the body began: {excerpt}")]
    Decode {
        /// What was being read.
        what: String,
        /// Why it did not parse.
        reason: String,
        /// The first bytes of the body.
        excerpt: String,
    },
    /// The workload went to a phase it will not leave by itself.
    #[error("workload {workload} is {phase}: {message}")]
    WorkloadFailed {
        /// The workload's name or id.
        workload: String,
        /// Its phase (`Failed`, `Deleting`, ...).
        phase: Phase,
        /// The workload's own reason.
        message: String,
    },
    /// The client was built or called with a value it cannot use.
    #[error("`{field}`: {reason}")]
    Config {
        /// The setting or argument.
        field: &'static str,
        /// What is wrong and what to give.
        reason: String,
    },
}

impl Error {
    /// The HTTP status of an API error.
    ///
    /// ```
    /// let error = runai_client::Error::Auth("refused".into());
    /// assert_eq!(error.status(), None);
    /// ```
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// An API error from a status and a body: the Run:ai `{code, message, details}` document,
    /// the OAuth2 `{error, error_description}` one, or the start of whatever else came back.
    pub(crate) fn from_body(status: u16, body: &[u8]) -> Self {
        #[derive(serde::Deserialize)]
        struct Document {
            code: Option<u16>,
            message: Option<String>,
            details: Option<serde_json::Value>,
            error: Option<String>,
            error_description: Option<String>,
        }
        let parsed = serde_json::from_slice::<Document>(body).ok();
        let (code, message, details) = match parsed {
            Some(Document {
                code,
                message: Some(message),
                details,
                ..
            }) => (
                code,
                message,
                details.map(|d| d.as_str().map_or_else(|| d.to_string(), str::to_owned)),
            ),
            Some(Document {
                error: Some(error),
                error_description,
                ..
            }) => (None, error, error_description),
            _ if body.is_empty() => (None, reason_phrase(status).to_owned(), None),
            _ => (None, excerpt(body), None),
        };
        Self::Api {
            status,
            code,
            message,
            details,
        }
    }

    // Errors are taken by value so call sites read `Error::decode(what, error, body)`.
    #[allow(clippy::needless_pass_by_value)]
    pub(crate) fn decode(what: impl Into<String>, reason: impl ToString, body: &[u8]) -> Self {
        Self::Decode {
            what: what.into(),
            reason: reason.to_string(),
            excerpt: excerpt(body),
        }
    }
}

/// The first 200 characters of a body, on one line.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out: String = text
        .chars()
        .take(200)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > 200 {
        out.push('…');
    }
    out
}

fn reason_phrase(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("no reason given")
}
