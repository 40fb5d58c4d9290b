//! The accept loop: plain or TLS connections, HTTP/1.1 or HTTP/2 on each (by ALPN under TLS,
//! by the client's preface in the clear), every request handed straight to the proxy, and a
//! graceful shutdown bounded by the drain deadline.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;

use super::{ClientConnection, ProxyState, TlsConfig, handle};

/// Longest a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts connections on `listener` until `signal` completes, then lets open connections
/// finish until `deadline`.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    tls: Option<&TlsConfig>,
    state: ProxyState,
    signal: impl Future<Output = ()> + Send + 'static,
    deadline: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let acceptor = tls.map(|tls| tokio_rustls::TlsAcceptor::from(Arc::clone(&tls.server)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let builder = auto::Builder::new(TokioExecutor::new());
    tokio::pin!(signal);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors, or a connection reset before it was accepted: wait
                // a moment instead of spinning.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                }
            },
            () = &mut signal => break,
        };
        let _ = stream.set_nodelay(true);
        let connection = ClientConnection {
            peer: Some(peer.ip()),
            over_tls: acceptor.is_some(),
        };
        let state = state.clone();
        let service =
            hyper::service::service_fn(move |request: axum::http::Request<hyper::body::Incoming>| {
                let state = state.clone();
                async move { Ok::<_, Infallible>(handle(&state, request.map(Body::new), connection).await) }
            });
        let builder = builder.clone();
        let watcher = graceful.watcher();
        match &acceptor {
            None => {
                let serving = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                tokio::spawn(watcher.watch(serving.into_owned()));
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(Ok(stream)) =
                        tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
                    else {
                        return;
                    };
                    let serving = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                    let _ = watcher.watch(serving.into_owned()).await;
                });
            }
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {},
        () = deadline => {},
    }
    Ok(())
}
