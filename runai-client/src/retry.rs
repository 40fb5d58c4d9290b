//! Which failures are retried, and after how long: exponential backoff with jitter (backon),
//! or the server's `Retry-After` when it gives one.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

/// How many times, and how patiently, a failed call is tried again.
///
/// Retried: connect failures (the request never left), 429 (refused before any work), and,
/// for calls that are safe to repeat (everything but creates), 5xx answers and connections
/// that broke after the request was sent. A create that may have reached the server is never
/// repeated blindly: its error is returned so the caller can look before trying again.
///
/// ```
/// use std::time::Duration;
/// use runai_client::RetryPolicy;
/// let policy = RetryPolicy::default().max_retries(5).min_delay(Duration::from_millis(100));
/// assert_eq!(policy.retries(), 5);
/// assert_eq!(RetryPolicy::none().retries(), 0);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    max_retries: usize,
    min_delay: Duration,
    max_delay: Duration,
    jitter: bool,
}

impl Default for RetryPolicy {
    /// Three retries from 250 ms, at most 10 s apart, with jitter.
    fn default() -> Self {
        Self {
            max_retries: 3,
            min_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    ///
    /// ```
    /// assert_eq!(runai_client::RetryPolicy::none().retries(), 0);
    /// ```
    #[must_use]
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// At most `retries` retries after the first try.
    ///
    /// ```
    /// assert_eq!(runai_client::RetryPolicy::default().max_retries(6).retries(), 6);
    /// ```
    #[must_use]
    pub fn max_retries(mut self, retries: usize) -> Self {
        self.max_retries = retries;
        self
    }

    /// The first delay.
    ///
    /// ```
    /// let policy = runai_client::RetryPolicy::default().min_delay(std::time::Duration::from_millis(50));
    /// # let _ = policy;
    /// ```
    #[must_use]
    pub fn min_delay(mut self, delay: Duration) -> Self {
        self.min_delay = delay;
        self
    }

    /// The longest delay, also the cap on a server's `Retry-After`.
    ///
    /// ```
    /// let policy = runai_client::RetryPolicy::default().max_delay(std::time::Duration::from_secs(30));
    /// # let _ = policy;
    /// ```
    #[must_use]
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// Random jitter on each delay (on by default), so many clients do not retry in step.
    ///
    /// ```
    /// let policy = runai_client::RetryPolicy::default().jitter(false);
    /// # let _ = policy;
    /// ```
    #[must_use]
    pub fn jitter(mut self, on: bool) -> Self {
        self.jitter = on;
        self
    }

    /// How many retries it allows.
    ///
    /// ```
    /// assert_eq!(runai_client::RetryPolicy::default().retries(), 3);
    /// ```
    #[must_use]
    pub fn retries(&self) -> usize {
        self.max_retries
    }

    /// The delays before each retry.
    pub(crate) fn delays(&self) -> impl Iterator<Item = Duration> + use<> {
        let mut builder = ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_retries);
        if self.jitter {
            builder = builder.with_jitter();
        }
        builder.build()
    }

    /// The server's `Retry-After` (seconds), capped at the longest delay.
    pub(crate) fn retry_after(&self, headers: &reqwest::header::HeaderMap) -> Option<Duration> {
        let seconds: u64 = headers
            .get(reqwest::header::RETRY_AFTER)?
            .to_str()
            .ok()?
            .trim()
            .parse()
            .ok()?;
        Some(Duration::from_secs(seconds).min(self.max_delay))
    }
}

/// Whether an answer with `status` is worth another try.
pub(crate) fn retry_status(status: u16, idempotent: bool) -> bool {
    status == 429 || (idempotent && (500..600).contains(&status) && status != 501)
}

/// Whether a transport failure is worth another try.
pub(crate) fn retry_transport(error: &reqwest::Error, idempotent: bool) -> bool {
    // A refused connection never reached the server: safe even for a create.
    error.is_connect() || (idempotent && (error.is_timeout() || error.is_request() || error.is_body()))
}
