//! The `limits` section of the platform configuration: what clients of the API and the
//! gateway may do, every value with a safe default (see docs/security.md).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::server::ServerLimits;

/// Client limits of the API and gateway listeners, and the gateway's request limits.
///
/// ```
/// use runai_serve::platform::PlatformConfig;
/// let config = PlatformConfig::from_yaml("limits: {headerReadTimeoutSeconds: 5, maxConnections: 500}\n", "inline")?;
/// assert_eq!(config.limits.server().header_read_timeout.as_secs(), 5);
/// assert_eq!(config.limits.server().max_connections, 500);
/// assert_eq!(config.limits.max_request_body_bytes, 4 * 1024 * 1024);
/// # Ok::<(), runai_serve::platform::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
#[non_exhaustive]
pub struct LimitsConfig {
    /// Seconds from a request's first byte to its complete head.
    pub header_read_timeout_seconds: u64,
    /// Seconds a connection may wait for the first byte of a request.
    pub idle_timeout_seconds: u64,
    /// Seconds a request body may pause between two pieces.
    pub body_read_timeout_seconds: u64,
    /// Largest single header, in bytes.
    pub max_header_bytes: usize,
    /// Largest request head, in bytes (at least 8192).
    pub max_head_bytes: usize,
    /// Most headers in a request.
    pub max_headers: usize,
    /// Most connections open at once, on each listener.
    pub max_connections: usize,
    /// Largest request body the gateway forwards, in bytes.
    pub max_request_body_bytes: u64,
    /// Seconds a gateway request may wait for its response headers when its workload sets
    /// no `requestTimeoutSeconds`.
    pub request_timeout_seconds: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        let server = ServerLimits::default();
        let gateway = crate::gateway::GatewayConfig::default();
        Self {
            header_read_timeout_seconds: server.header_read_timeout.as_secs(),
            idle_timeout_seconds: server.idle_timeout.as_secs(),
            body_read_timeout_seconds: server.body_read_timeout.as_secs(),
            max_header_bytes: server.max_header_bytes,
            max_head_bytes: server.max_head_bytes,
            max_headers: server.max_headers,
            max_connections: server.max_connections,
            max_request_body_bytes: gateway.max_request_body_bytes,
            request_timeout_seconds: gateway.request_timeout.as_secs(),
        }
    }
}

impl LimitsConfig {
    /// The listeners' limits.
    #[must_use]
    pub fn server(&self) -> ServerLimits {
        ServerLimits {
            header_read_timeout: Duration::from_secs(self.header_read_timeout_seconds),
            idle_timeout: Duration::from_secs(self.idle_timeout_seconds),
            body_read_timeout: Duration::from_secs(self.body_read_timeout_seconds),
            max_header_bytes: self.max_header_bytes,
            max_head_bytes: self.max_head_bytes,
            max_headers: self.max_headers,
            max_connections: self.max_connections,
        }
    }

    /// The first value that cannot work, named by its field (`limits.maxHeadBytes: ...`).
    ///
    /// # Errors
    /// The message, when a limit is zero or the header limits contradict each other.
    pub fn check(&self) -> Result<(), String> {
        let positive = [
            ("headerReadTimeoutSeconds", self.header_read_timeout_seconds),
            ("idleTimeoutSeconds", self.idle_timeout_seconds),
            ("bodyReadTimeoutSeconds", self.body_read_timeout_seconds),
            ("maxHeaderBytes", self.max_header_bytes as u64),
            ("maxHeaders", self.max_headers as u64),
            ("maxConnections", self.max_connections as u64),
            ("maxRequestBodyBytes", self.max_request_body_bytes),
            ("requestTimeoutSeconds", self.request_timeout_seconds),
        ];
        if let Some((field, _)) = positive.iter().find(|(_, value)| *value == 0) {
            return Err(format!(
                "limits.{field}: must be at least 1; a limit cannot be switched off"
            ));
        }
        if self.max_head_bytes < 8192 {
            return Err(format!(
                "limits.maxHeadBytes: {} is below the least the HTTP server supports, 8192",
                self.max_head_bytes
            ));
        }
        if self.max_header_bytes > self.max_head_bytes {
            return Err(format!(
                "limits.maxHeaderBytes: {} is larger than limits.maxHeadBytes ({}), which holds every header",
                self.max_header_bytes, self.max_head_bytes
            ));
        }
        Ok(())
    }
}
