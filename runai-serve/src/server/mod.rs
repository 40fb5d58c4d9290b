//! The HTTP server under the gateway and the control API, hardened against clients that
//! are slow, greedy or malformed ([`ServerLimits`]): a request head must arrive within the
//! header-read timeout however it is dribbled, an idle keep-alive connection is closed after
//! the idle timeout, a request body must keep moving, headers are bounded one by one and in
//! total (431), HTTP/1.1 requests need one valid `Host` (400), and the number of open
//! connections is capped: at the cap the longest-open idle connection makes room, and when
//! none is idle a new connection gets a fast 503 and is closed, so descriptors never run out.
//!
//! Refusals are answered in the caller's error shape ([`ErrorShape`]): OpenAI's for the
//! gateway, Run:ai's for the API. hyper answers the few errors it finds before a request
//! exists (a head over the total limit: 431; an unparsable request line: 400) with an empty
//! body.
//!
//! ```no_run
//! use runai_serve::server::{ErrorShape, ServerLimits, serve_router};
//! # async fn run() -> std::io::Result<()> {
//! let router = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! let mut limits = ServerLimits::default();
//! limits.max_connections = 1_000;
//! serve_router(listener, router, limits, ErrorShape::RunAi, std::future::pending()).await
//! # }
//! ```

mod body;
mod connections;

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, Request, StatusCode, Version, header};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;

pub use body::BodyError;
pub(crate) use body::{BodyFault, ClientBody};
use connections::{Closed, Connections, Watched};

/// What a server allows its clients. Every limit has a default fit for an inference
/// gateway on the open network.
///
/// ```
/// use runai_serve::server::ServerLimits;
/// let limits = ServerLimits::default();
/// assert_eq!(limits.header_read_timeout.as_secs(), 10);
/// assert_eq!(limits.max_header_bytes, 32 * 1024);
/// assert_eq!(limits.max_connections, 10_000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerLimits {
    /// Longest time from a request's first byte to its complete head (request line and
    /// headers); a client that dribbles is cut off then.
    pub header_read_timeout: Duration,
    /// Longest time a connection may wait for the first byte of a request (just opened, or
    /// kept alive after a response).
    pub idle_timeout: Duration,
    /// Longest pause between two pieces of a request body (408 when it is exceeded before a
    /// response started).
    pub body_read_timeout: Duration,
    /// Largest single header, name and value (431 above it).
    pub max_header_bytes: usize,
    /// Largest request head, request line and all headers (431 above it); at least 8 KiB.
    pub max_head_bytes: usize,
    /// Most headers in one request (431 above it).
    pub max_headers: usize,
    /// Most connections open at once.
    pub max_connections: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_read_timeout: Duration::from_secs(30),
            max_header_bytes: 32 * 1024,
            max_head_bytes: 64 * 1024,
            max_headers: 100,
            max_connections: 10_000,
        }
    }
}

/// How a server words the errors it answers itself.
///
/// ```
/// use runai_serve::server::ErrorShape;
/// let response = ErrorShape::OpenAi.refusal(axum::http::StatusCode::BAD_REQUEST, "no Host header");
/// assert_eq!(response.status(), 400);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorShape {
    /// `{"error": {"message", "type", "param", "code"}}`, as OpenAI-compatible clients read it.
    OpenAi,
    /// `{"code", "message"}`, the Run:ai API's error.
    RunAi,
}

impl ErrorShape {
    /// A refusal with `status` and `message` in this shape.
    #[must_use]
    pub fn refusal(self, status: StatusCode, message: &str) -> Response {
        (status, axum::Json(self.body(status, message))).into_response()
    }

    /// The JSON of a refusal.
    fn body(self, status: StatusCode, message: &str) -> serde_json::Value {
        match self {
            Self::OpenAi => crate::shared::openai_error_body(openai_type(status), message),
            Self::RunAi => serde_json::json!(runai_core::ApiError::new(status.as_u16(), message)),
        }
    }

    /// `router` with every error response in this shape: those its handlers answer in
    /// another form, and those axum answers itself (405 with the methods from `Allow`, 413
    /// and 400 from reading the body), and 408 or 400 when the client's body stalled or was
    /// malformed (see [`serve_router`]).
    ///
    /// ```
    /// use runai_serve::server::ErrorShape;
    /// let router = axum::Router::new().route("/v1/models", axum::routing::get(|| async { "[]" }));
    /// let shaped: axum::Router = ErrorShape::OpenAi.apply(router);
    /// # drop(shaped);
    /// ```
    pub fn apply(self, router: axum::Router) -> axum::Router {
        // Outside the routes, so the shape sees the `Allow` header axum adds to a 405.
        axum::Router::new()
            .fallback_service(router)
            .layer(axum::middleware::from_fn(move |request, next| {
                in_shape(self, request, next)
            }))
    }

    /// The same refusal as raw HTTP/1.1 bytes, for a connection refused before hyper sees it.
    fn raw(self, status: StatusCode, message: &str) -> Vec<u8> {
        let body = self.body(status, message).to_string();
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }
}

/// Rewrites an error response that is not JSON into `shape`.
async fn in_shape(
    shape: ErrorShape,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let fault = request.extensions().get::<BodyFault>().cloned();
    let response = next.run(request).await;
    if let Some(error) = fault.as_ref().and_then(BodyFault::get) {
        return shape.refusal(error.status(), &error.to_string());
    }
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // These bodies are axum's one-line explanations; anything longer is cut.
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let message = if status == StatusCode::METHOD_NOT_ALLOWED {
        let allowed = parts
            .headers
            .get(header::ALLOW)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        format!("this endpoint does not take that method; it takes {allowed}")
    } else if text.trim().is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        text.trim().to_owned()
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    let shaped = shape.refusal(status, &message);
    parts.headers.extend(shaped.headers().clone());
    Response::from_parts(parts, shaped.into_body())
}

/// OpenAI's error `type` for a status.
pub(crate) fn openai_type(status: StatusCode) -> &'static str {
    match status {
        StatusCode::UNAUTHORIZED => "authentication_error",
        StatusCode::FORBIDDEN => "permission_error",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => "timeout",
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        s if s.is_server_error() => "server_error",
        _ => "invalid_request_error",
    }
}

/// The client end of a request's connection, as the listener saw it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer {
    pub(crate) address: Option<std::net::IpAddr>,
    pub(crate) over_tls: bool,
}

/// Serves `router` on `listener` with `limits`, until `shutdown` completes; then open
/// connections get 30 s to finish.
///
/// # Errors
/// None today: accept errors (out of descriptors, a reset before accept) are waited out.
pub async fn serve_router(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    limits: ServerLimits,
    shape: ErrorShape,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (signal, deadline) = crate::drain::signal_and_deadline(shutdown, Duration::from_secs(30));
    let handler = move |request: Request<Body>, _peer: Peer| {
        let router = router.clone();
        async move {
            match tower::ServiceExt::oneshot(router, request).await {
                Ok(response) => response,
                Err(never) => match never {},
            }
        }
    };
    serve(listener, None, limits, None, shape, handler, signal, deadline).await
}

/// Accepts connections on `listener` (TLS when `tls` is given) until `signal` completes,
/// then lets open connections finish until `deadline`. Each request that passes the
/// limits goes to `handler`, its body capped at `max_body_bytes` when given.
#[allow(clippy::too_many_arguments)] // one call site each for the gateway and the API
pub(crate) async fn serve<H, F>(
    listener: tokio::net::TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: ServerLimits,
    max_body_bytes: Option<u64>,
    shape: ErrorShape,
    handler: H,
    signal: impl Future<Output = ()> + Send + 'static,
    deadline: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    H: Fn(Request<Body>, Peer) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let builder = Arc::new(builder(&limits));
    let connections = Connections::new(limits.max_connections);
    let busy = shape.raw(
        StatusCode::SERVICE_UNAVAILABLE,
        "the server is at its connection limit; retry shortly",
    );
    tokio::pin!(signal);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors, or a reset before accept: wait instead of spinning.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                }
            },
            () = &mut signal => break,
        };
        let Some(slot) = connections.admit() else {
            // Every place is held by a busy connection: answer at once, without waiting
            // for the client, and close.
            if acceptor.is_none() {
                let _ = stream.try_write(&busy);
            }
            tracing::warn!(%peer, open = connections.len(), "connection refused at the connection limit");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let peer = Peer {
            address: Some(peer.ip()),
            over_tls: acceptor.is_some(),
        };
        let tracked = Arc::clone(&slot.tracked);
        let stream = Watched {
            io: stream,
            tracked: Arc::clone(&tracked),
        };
        let service = {
            let (handler, tracked) = (handler.clone(), Arc::clone(&tracked));
            hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
                let in_flight = tracked.request_started();
                let handler = handler.clone();
                async move {
                    let response = match admit_request(&request, &limits) {
                        Err((status, message)) => shape.refusal(status, &message),
                        Ok(()) => {
                            let (mut parts, body) = request.into_parts();
                            let fault = BodyFault::default();
                            parts.extensions.insert(fault.clone());
                            let body =
                                ClientBody::new(body, Some(limits.body_read_timeout), max_body_bytes, fault);
                            handler(Request::from_parts(parts, Body::new(body)), peer).await
                        }
                    };
                    // The connection stays busy until the response body has been sent.
                    Ok::<_, Infallible>(response.map(|body| Sending {
                        body,
                        _in_flight: in_flight,
                    }))
                }
            })
        };
        let (builder, acceptor, watcher) = (Arc::clone(&builder), acceptor.clone(), graceful.watcher());
        tokio::spawn(async move {
            let closed = match acceptor {
                None => drive(&builder, stream, service, watcher, &tracked, limits).await,
                Some(acceptor) => {
                    let handshake = tokio::time::timeout(limits.header_read_timeout, acceptor.accept(stream));
                    match handshake.await {
                        Ok(Ok(stream)) => drive(&builder, stream, service, watcher, &tracked, limits).await,
                        _ => None,
                    }
                }
            };
            match closed {
                Some(Closed::SlowHead) => {
                    tracing::debug!(peer = ?peer.address, "closed: the request head took longer than the header-read timeout");
                }
                Some(Closed::Idle) => tracing::trace!(peer = ?peer.address, "closed: idle"),
                Some(Closed::Evicted) => {
                    tracing::debug!(peer = ?peer.address, "closed: idle, to make room at the connection limit");
                }
                None => {}
            }
            drop(slot);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {},
        () = deadline => {},
    }
    Ok(())
}

/// Serves one connection until it ends, or until its watchdog closes it (then why).
async fn drive<I, S>(
    builder: &auto::Builder<TokioExecutor>,
    io: I,
    service: S,
    watcher: hyper_util::server::graceful::Watcher,
    tracked: &connections::Tracked,
    limits: ServerLimits,
) -> Option<Closed>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    S: hyper::service::Service<
            Request<hyper::body::Incoming>,
            Response = axum::http::Response<Sending>,
            Error = Infallible,
        > + Send
        + 'static,
    S::Future: Send + 'static,
{
    let serving = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    tokio::select! {
        _ = watcher.watch(serving.into_owned()) => None,
        why = tracked.watchdog(limits) => Some(why),
    }
}

/// hyper's side of the limits: its timer (without one none of its timeouts fires), the
/// head size and count, and HTTP/2's header list.
fn builder(limits: &ServerLimits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        // The phase watchdog enforces the header and idle timeouts. hyper's own header timer
        // would start a fresh timer for every request on a kept-alive connection, and it
        // would close idle connections at the header timeout rather than the idle one.
        .header_read_timeout(None)
        .max_buf_size(limits.max_head_bytes.max(8 * 1024))
        .max_headers(limits.max_headers);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(limits.max_head_bytes).unwrap_or(u32::MAX));
    builder
}

/// The checks every request passes before its handler sees it: one valid `Host` on
/// HTTP/1.1 (RFC 9112 §3.2) and no single header over the limit.
fn admit_request<B>(request: &Request<B>, limits: &ServerLimits) -> Result<(), (StatusCode, String)> {
    if let Some((name, value)) = request
        .headers()
        .iter()
        .find(|(name, value)| name.as_str().len() + value.len() > limits.max_header_bytes)
    {
        return Err((
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!(
                "the {name} header is {} bytes; the limit is {} bytes",
                name.as_str().len() + value.len(),
                limits.max_header_bytes
            ),
        ));
    }
    let mut hosts = request.headers().get_all(header::HOST).iter();
    let host = hosts.next();
    if hosts.next().is_some() {
        return Err((
            StatusCode::BAD_REQUEST,
            "the request has more than one Host header".into(),
        ));
    }
    match host {
        None if request.version() == Version::HTTP_11 => Err((
            StatusCode::BAD_REQUEST,
            "an HTTP/1.1 request needs a Host header".into(),
        )),
        Some(host) if !valid_host(host) => Err((
            StatusCode::BAD_REQUEST,
            "the Host header is not a valid host[:port]".into(),
        )),
        _ => Ok(()),
    }
}

/// `host[:port]` with nothing else (RFC 3986's authority without user info): a registered
/// name or an IP literal in brackets, then an optional port; checked byte by byte, without
/// allocating, as it runs on every request.
fn valid_host(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    let (host, port) = match bytes.first() {
        Some(b'[') => match bytes.iter().position(|&b| b == b']') {
            Some(end) => (&bytes[..=end], &bytes[end + 1..]),
            None => return false,
        },
        _ => match bytes.iter().position(|&b| b == b':') {
            Some(colon) => (&bytes[..colon], &bytes[colon..]),
            None => (bytes, &[][..]),
        },
    };
    let host_ok = match host {
        [] => false,
        [b'[', inner @ .., b']'] => {
            !inner.is_empty()
                && inner
                    .iter()
                    .all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        }
        name => name.iter().all(|&b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'-' | b'.'
                        | b'_'
                        | b'~'
                        | b'%'
                        | b'!'
                        | b'$'
                        | b'&'
                        | b'\''
                        | b'('
                        | b')'
                        | b'*'
                        | b'+'
                        | b','
                        | b';'
                        | b'='
                )
        }),
    };
    let port_ok = match port {
        [] => true,
        [b':', digits @ ..] => digits.len() <= 5 && digits.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    host_ok && port_ok
}

/// A response body that keeps its request counted as in flight until it is sent (handed
/// to hyper as it is, so it costs no allocation).
pub(crate) struct Sending {
    body: Body,
    _in_flight: connections::InFlight,
}

impl http_body::Body for Sending {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(version: Version, hosts: &[&str]) -> Request<()> {
        let mut builder = Request::builder().uri("/v1/models").version(version);
        for host in hosts {
            builder = builder.header(header::HOST, *host);
        }
        builder.body(()).unwrap()
    }

    #[test]
    fn http_1_1_needs_exactly_one_valid_host() {
        let limits = ServerLimits::default();
        assert!(admit_request(&request(Version::HTTP_11, &["api.example.com:8000"]), &limits).is_ok());
        assert!(admit_request(&request(Version::HTTP_11, &["[::1]:8000"]), &limits).is_ok());
        assert!(admit_request(&request(Version::HTTP_10, &[]), &limits).is_ok());
        for hosts in [
            &[][..],
            &["a b"],
            &["user@host"],
            &["a", "b"],
            &["host/path"],
            &[""],
        ] {
            let refused = admit_request(&request(Version::HTTP_11, hosts), &limits).unwrap_err();
            assert_eq!(refused.0, StatusCode::BAD_REQUEST, "{hosts:?}");
        }
    }

    #[test]
    fn a_single_header_over_the_limit_is_431() {
        let limits = ServerLimits {
            max_header_bytes: 64,
            ..ServerLimits::default()
        };
        let mut big = request(Version::HTTP_11, &["h"]);
        big.headers_mut()
            .insert("x-big", HeaderValue::from_str(&"x".repeat(80)).unwrap());
        let refused = admit_request(&big, &limits).unwrap_err();
        assert_eq!(refused.0, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        assert!(refused.1.contains("x-big"), "{}", refused.1);
    }

    #[tokio::test]
    async fn refusals_come_in_each_shape() {
        use http_body_util::BodyExt as _;
        let body = |response: Response| async move {
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()
        };
        let openai = body(ErrorShape::OpenAi.refusal(StatusCode::PAYLOAD_TOO_LARGE, "too big")).await;
        assert_eq!(openai["error"]["message"], "too big");
        assert_eq!(openai["error"]["type"], "invalid_request_error");
        let runai = body(ErrorShape::RunAi.refusal(StatusCode::METHOD_NOT_ALLOWED, "no")).await;
        assert_eq!(runai, serde_json::json!({"code": 405, "message": "no"}));
        let raw = String::from_utf8(ErrorShape::RunAi.raw(StatusCode::SERVICE_UNAVAILABLE, "full")).unwrap();
        assert!(raw.starts_with("HTTP/1.1 503 Service Unavailable\r\n"), "{raw}");
        assert!(raw.ends_with(r#"{"code":503,"message":"full"}"#), "{raw}");
    }
}
