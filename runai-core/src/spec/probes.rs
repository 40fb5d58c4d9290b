//! Readiness probing of the model server.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::validate::Checker;

/// The probes of a container (only readiness is defined for inference).
///
/// ```
/// use runai_core::spec::{Probe, Probes};
/// let probes = Probes { readiness: Some(Probe::http_get("/health", 8000)) };
/// assert_eq!(serde_json::to_value(&probes).unwrap()["readiness"]["handler"]["httpGet"]["path"], "/health");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Probes {
    /// Traffic is sent to a replica only while this probe passes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub readiness: Option<Probe>,
}

/// One probe: timing plus the handler.
///
/// ```
/// use runai_core::{Validate, spec::Probe};
/// let mut probe = Probe::http_get("/v1/models", 8000);
/// probe.period_seconds = Some(0);
/// assert_eq!(probe.validate().unwrap_err().violations()[0].path, "periodSeconds");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Probe {
    /// Seconds after start before the first probe (>= 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial_delay_seconds: Option<i32>,
    /// Seconds between probes (>= 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period_seconds: Option<i32>,
    /// Seconds before a probe times out (>= 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<i32>,
    /// Consecutive successes to count as ready (>= 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub success_threshold: Option<i32>,
    /// Consecutive failures to count as not ready (>= 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_threshold: Option<i32>,
    /// What to call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handler: Option<ProbeHandler>,
}

impl Probe {
    /// An HTTP GET readiness probe on `path` and `port`.
    #[must_use]
    pub fn http_get(path: &str, port: i32) -> Self {
        Self {
            handler: Some(ProbeHandler {
                http_get: Some(HttpGetAction {
                    path: Some(path.to_owned()),
                    port: Some(port),
                    ..HttpGetAction::default()
                }),
            }),
            ..Self::default()
        }
    }

    pub(crate) fn check(&self, c: &mut Checker) {
        c.at_least("initialDelaySeconds", self.initial_delay_seconds, 0);
        c.at_least("periodSeconds", self.period_seconds, 1);
        c.at_least("timeoutSeconds", self.timeout_seconds, 1);
        c.at_least("successThreshold", self.success_threshold, 1);
        c.at_least("failureThreshold", self.failure_threshold, 1);
        match self.handler.as_ref().and_then(|h| h.http_get.as_ref()) {
            None => c.at(
                "handler",
                "is required; set handler.httpGet with a path and a port",
            ),
            Some(get) => c.field("handler", |c| c.field("httpGet", |c| get.check(c))),
        }
    }
}

/// How a probe reaches the container.
///
/// ```
/// use runai_core::spec::ProbeHandler;
/// assert_eq!(serde_json::to_string(&ProbeHandler::default()).unwrap(), "{}");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProbeHandler {
    /// An HTTP GET; any 2xx or 3xx answer passes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_get: Option<HttpGetAction>,
}

/// An HTTP GET probe target.
///
/// ```
/// use runai_core::spec::{HttpGetAction, ProbeScheme};
/// let get = HttpGetAction { path: Some("/health".into()), port: Some(8000), scheme: Some(ProbeScheme::Http), host: None };
/// assert_eq!(serde_json::to_value(&get).unwrap()["scheme"], "HTTP");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HttpGetAction {
    /// Path, starting with `/`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Port, 1..=65535.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
    /// Host name to connect to (defaults to the pod IP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// `HTTP` or `HTTPS`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheme: Option<ProbeScheme>,
}

impl HttpGetAction {
    fn check(&self, c: &mut Checker) {
        c.range("port", self.port, 1, 65535);
        if let Some(path) = &self.path {
            let allowed = |ch: char| ch.is_ascii_alphanumeric() || "-_./".contains(ch);
            if !(path.is_empty() || path.starts_with('/') && path.chars().all(allowed)) {
                c.at(
                    "path",
                    format!(
                        "`{path}` must start with '/' and use only letters, digits, '-', '_', '.' and '/'"
                    ),
                );
            }
        }
    }
}

/// Probe URL schemes.
///
/// ```
/// use runai_core::spec::ProbeScheme;
/// assert_eq!(serde_json::to_string(&ProbeScheme::Https).unwrap(), r#""HTTPS""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum ProbeScheme {
    /// Plain HTTP.
    Http,
    /// HTTP over TLS.
    Https,
}
