//! A request body as the client sends it: each read must bring bytes within the body-read
//! timeout, the body may be capped in size, and a failure is recorded as the client's fault
//! ([`BodyFault`]) so that whoever consumed the body (the gateway forwarding it to a
//! replica, say) answers 408, 400 or 413 instead of blaming the other side.

use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::http::StatusCode;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

/// What went wrong with a client's request body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BodyError {
    /// No byte arrived within the body-read timeout.
    #[error("the request body stalled: no data for {0:?}")]
    TimedOut(Duration),
    /// The body is longer than allowed.
    #[error("the request body is larger than the limit of {0} bytes")]
    TooLarge(u64),
    /// The framing is broken (a malformed chunk, a length that does not match).
    #[error("the request body is malformed: {0}")]
    Malformed(String),
}

impl BodyError {
    /// The status that answers it.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::TimedOut(_) => StatusCode::REQUEST_TIMEOUT,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Malformed(_) => StatusCode::BAD_REQUEST,
        }
    }
}

/// The first failure of a request's body, shared between the body and its request's
/// handler (as a request extension).
#[derive(Debug, Clone, Default)]
pub(crate) struct BodyFault(Arc<OnceLock<BodyError>>);

impl BodyFault {
    pub(crate) fn get(&self) -> Option<&BodyError> {
        self.0.get()
    }

    fn record(&self, error: BodyError) -> BodyError {
        let _ = self.0.set(error.clone());
        error
    }
}

/// A client's body with a read timeout, an optional size cap, and its faults recorded.
pub(crate) struct ClientBody<B> {
    inner: B,
    read_timeout: Option<Duration>,
    stall: Option<Pin<Box<tokio::time::Sleep>>>,
    limit: Option<u64>,
    seen: u64,
    fault: BodyFault,
}

impl<B> ClientBody<B> {
    pub(crate) fn new(
        inner: B,
        read_timeout: Option<Duration>,
        limit: Option<u64>,
        fault: BodyFault,
    ) -> Self {
        Self {
            inner,
            read_timeout,
            stall: None,
            limit,
            seen: 0,
            fault,
        }
    }
}

impl<B> Body for ClientBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        if let Some(error) = self.fault.get() {
            return Poll::Ready(Some(Err(error.clone())));
        }
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                self.stall = None;
                if let (Some(limit), Some(data)) = (self.limit, frame.data_ref()) {
                    self.seen = self.seen.saturating_add(data.len() as u64);
                    if self.seen > limit {
                        return Poll::Ready(Some(Err(self.fault.record(BodyError::TooLarge(limit)))));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) => {
                let error = BodyError::Malformed(error.to_string());
                Poll::Ready(Some(Err(self.fault.record(error))))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                let Some(timeout) = self.read_timeout else {
                    return Poll::Pending;
                };
                let stall = self
                    .stall
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                match stall.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        Poll::Ready(Some(Err(self.fault.record(BodyError::TimedOut(timeout)))))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt as _;

    #[tokio::test]
    async fn a_body_over_its_cap_fails_and_records_the_fault() {
        let fault = BodyFault::default();
        let body = ClientBody::new(
            http_body_util::Full::new(Bytes::from_static(b"0123456789")),
            None,
            Some(4),
            fault.clone(),
        );
        let error = body.collect().await.unwrap_err();
        assert_eq!(error, BodyError::TooLarge(4));
        assert_eq!(
            fault.get().map(BodyError::status),
            Some(StatusCode::PAYLOAD_TOO_LARGE)
        );
    }

    /// A body that never yields.
    struct Stalled;

    impl Body for Stalled {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            Poll::Pending
        }
    }

    #[tokio::test]
    async fn a_stalled_body_times_out() {
        let fault = BodyFault::default();
        let timeout = Duration::from_millis(20);
        let body = ClientBody::new(Stalled, Some(timeout), None, fault.clone());
        let error = body.collect().await.unwrap_err();
        assert_eq!(error, BodyError::TimedOut(timeout));
        assert_eq!(
            fault.get().map(BodyError::status),
            Some(StatusCode::REQUEST_TIMEOUT)
        );
    }
}
