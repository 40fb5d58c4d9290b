//! Graceful shutdown that cannot hang: after the shutdown signal, open connections (token
//! streams included) get a drain period to finish, then the server returns anyway. axum's
//! own graceful shutdown waits for every open response body, however long it streams.

use std::future::Future;
use std::time::Duration;

/// Splits `shutdown` into the signal to hand to axum's graceful shutdown and a deadline that
/// completes `drain` after the signal fired. Serve with both and return at whichever of the
/// server and the deadline ends first.
pub(crate) fn signal_and_deadline(
    shutdown: impl Future<Output = ()> + Send + 'static,
    drain: Duration,
) -> (
    impl Future<Output = ()> + Send + 'static,
    impl Future<Output = ()> + Send + 'static,
) {
    let (fired, fired_seen) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        shutdown.await;
        let _ = fired.send(());
    };
    let deadline = async move {
        if fired_seen.await.is_err() {
            // The signal was dropped unfired: only the server's own end counts.
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(drain).await;
    };
    (signal, deadline)
}
