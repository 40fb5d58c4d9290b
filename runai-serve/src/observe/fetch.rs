//! One bounded HTTP GET: a timeout over the whole exchange and a cap on the body, so a slow
//! or runaway endpoint cannot stall or exhaust whoever polls it.

use std::time::Duration;

use super::ObserveError;

/// Limits of one request.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) timeout: Duration,
    pub(crate) max_body_bytes: usize,
}

/// The HTTP client both the scraper and the Prometheus client use.
pub(crate) fn client() -> Result<reqwest::Client, ObserveError> {
    reqwest::Client::builder()
        .build()
        .map_err(|source| ObserveError::Client { source })
}

/// GETs `url` and returns its body as text; a non-2xx status is an error unless
/// `accept_error_body` is set, in which case the status comes back with the body (Prometheus
/// explains its 4xx and 5xx in JSON).
pub(crate) async fn get_text(
    client: &reqwest::Client,
    url: &str,
    limits: Limits,
    accept_error_body: bool,
) -> Result<(u16, String), ObserveError> {
    let exchange = async {
        let http = |source| ObserveError::Http {
            url: url.to_owned(),
            source,
        };
        let mut response = client.get(url).send().await.map_err(http)?;
        let status = response.status().as_u16();
        if !response.status().is_success() && !accept_error_body {
            return Err(ObserveError::Status {
                url: url.to_owned(),
                status,
            });
        }
        let too_large = || ObserveError::TooLarge {
            url: url.to_owned(),
            limit: limits.max_body_bytes,
        };
        if response
            .content_length()
            .is_some_and(|length| length > limits.max_body_bytes as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(http)? {
            if body.len() + chunk.len() > limits.max_body_bytes {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        let text = String::from_utf8(body).map_err(|_| ObserveError::Malformed {
            url: url.to_owned(),
            reason: "the body is not UTF-8".to_owned(),
        })?;
        Ok((status, text))
    };
    tokio::time::timeout(limits.timeout, exchange)
        .await
        .map_err(|_| ObserveError::Timeout {
            url: url.to_owned(),
            timeout: limits.timeout,
        })?
}
