//! Reading a model server's metrics page over HTTP.

use std::time::Duration;

use super::fetch::{self, Limits};
use super::{ModelMetrics, ObserveError};

/// Scrapes model servers' metrics pages into [`ModelMetrics`]. Keep one and reuse it: it
/// holds a connection pool.
///
/// ```no_run
/// use runai_serve::observe::Scraper;
///
/// # async fn run() -> Result<(), runai_serve::observe::ObserveError> {
/// let scraper = Scraper::new()?;
/// let metrics = scraper.scrape("http://127.0.0.1:8000/metrics").await?;
/// println!("{:?} requests waiting", metrics.num_requests_waiting);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Scraper {
    client: reqwest::Client,
    limits: Limits,
}

impl Scraper {
    /// The default limit on a metrics page; vLLM's is tens of kilobytes.
    pub const DEFAULT_MAX_BODY_BYTES: usize = 4 << 20;
    /// The default limit on one scrape, body included.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

    /// A scraper with the default limits.
    ///
    /// # Errors
    ///
    /// [`ObserveError::Http`] when the HTTP client cannot be built (no TLS backend).
    pub fn new() -> Result<Self, ObserveError> {
        Ok(Self {
            client: fetch::client()?,
            limits: Limits {
                timeout: Self::DEFAULT_TIMEOUT,
                max_body_bytes: Self::DEFAULT_MAX_BODY_BYTES,
            },
        })
    }

    /// The same scraper with another timeout for a whole scrape.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.limits.timeout = timeout;
        self
    }

    /// The same scraper with another limit on a page's size.
    #[must_use]
    pub fn with_max_body_bytes(mut self, max_body_bytes: usize) -> Self {
        self.limits.max_body_bytes = max_body_bytes;
        self
    }

    /// GETs `url` (a server's `/metrics`) and parses it.
    ///
    /// # Errors
    ///
    /// [`ObserveError::Http`], [`ObserveError::Status`], [`ObserveError::TooLarge`],
    /// [`ObserveError::Timeout`] or [`ObserveError::Malformed`] (not UTF-8), each naming
    /// the URL.
    pub async fn scrape(&self, url: &str) -> Result<ModelMetrics, ObserveError> {
        let (_, page) = fetch::get_text(&self.client, url, self.limits, false).await?;
        Ok(ModelMetrics::parse(&page))
    }
}

/// Scrapes `url` once with a fresh [`Scraper`] and its default limits. For periodic
/// scrapes, keep a [`Scraper`].
///
/// ```no_run
/// # async fn run() -> Result<(), runai_serve::observe::ObserveError> {
/// let metrics = runai_serve::observe::scrape("http://127.0.0.1:8000/metrics").await?;
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// As [`Scraper::scrape`].
pub async fn scrape(url: &str) -> Result<ModelMetrics, ObserveError> {
    Scraper::new()?.scrape(url).await
}
