//! The one error type of [`observe`](super).

use std::time::Duration;

/// What went wrong reading, storing or querying metrics.
///
/// Sampling this machine's processes and GPUs never fails: a process that is gone or a GPU
/// library that is missing shows as an absent value instead. Errors come from bad input
/// (an unknown metric type, a malformed timestamp or query) and from HTTP sources (a model
/// server's metrics page, a Prometheus server).
///
/// ```
/// use runai_serve::observe::{MetricType, ObserveError};
///
/// let error = "THROUGHPUT,BANDWIDTH".parse::<MetricType>().unwrap_err();
/// assert!(matches!(error, ObserveError::UnknownMetricType { .. }));
/// assert!(error.to_string().contains("`THROUGHPUT,BANDWIDTH`"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ObserveError {
    /// A metric type name that is none of the Run:ai wire names.
    #[error("unknown metric type `{value}`; valid types: {valid}")]
    UnknownMetricType {
        /// The name as given.
        value: String,
        /// Every valid name, comma-separated.
        valid: String,
    },
    /// A timestamp that is not RFC 3339 / ISO 8601.
    #[error("`{value}` is not a timestamp; expected RFC 3339 such as 2023-06-06T12:09:18.211Z")]
    InvalidTimestamp {
        /// The text as given.
        value: String,
    },
    /// A metrics query whose parameters cannot be answered (start after end, too many samples).
    #[error("invalid metrics query: {reason}")]
    InvalidQuery {
        /// What is wrong with it.
        reason: String,
    },
    /// The HTTP client could not be built (no usable TLS configuration).
    #[error("cannot build an HTTP client: {source}")]
    Client {
        /// The builder's error.
        source: reqwest::Error,
    },
    /// The HTTP request could not be made or its body could not be read.
    #[error("GET {url}: {source}")]
    Http {
        /// The URL requested.
        url: String,
        /// The transport error.
        source: reqwest::Error,
    },
    /// The server answered with a status other than 2xx.
    #[error("GET {url}: HTTP {status}")]
    Status {
        /// The URL requested.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The response body was larger than the configured limit.
    #[error("GET {url}: the response is larger than {limit} bytes")]
    TooLarge {
        /// The URL requested.
        url: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// The whole request, body included, took longer than the configured timeout.
    #[error("GET {url}: no complete response within {timeout:?}")]
    Timeout {
        /// The URL requested.
        url: String,
        /// The timeout.
        timeout: Duration,
    },
    /// The response body is not what the endpoint promises (not UTF-8, not the JSON shape).
    #[error("GET {url}: unexpected response: {reason}")]
    Malformed {
        /// The URL requested.
        url: String,
        /// What was wrong with it.
        reason: String,
    },
    /// A Prometheus query that failed on the way: the HTTP error is the source.
    #[error("Prometheus query `{query}`: {source}")]
    Query {
        /// The PromQL expression.
        query: String,
        /// Why it failed.
        source: Box<Self>,
    },
    /// Prometheus answered `"status": "error"` (a PromQL syntax error, a timeout, ...).
    #[error("Prometheus refused query `{query}`: {error_type}: {message}")]
    QueryRefused {
        /// The PromQL expression.
        query: String,
        /// Prometheus' `errorType` (`bad_data`, `timeout`, `execution`, ...).
        error_type: String,
        /// Prometheus' `error` message.
        message: String,
    },
}
