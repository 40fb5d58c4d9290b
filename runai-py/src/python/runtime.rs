//! The one tokio runtime of the module, and blocking on it without holding the GIL.

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use tokio::runtime::Runtime;

/// How often a blocking call looks for Ctrl-C.
const SIGNAL_CHECK: Duration = Duration::from_millis(100);

/// The module's multi-thread runtime, started at first use; pyo3-async-runtimes is handed
/// the same one, so blocking calls, awaitables and streams share its connection pools.
pub(crate) fn runtime() -> PyResult<&'static Runtime> {
    static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .thread_name("runai-py")
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the tokio runtime: {e}")))
}

/// Runs `future` to completion on the runtime with the GIL released, so other Python
/// threads (and the runtime's own tasks) go on meanwhile. Ctrl-C stops the wait with
/// `KeyboardInterrupt` and drops the future, which cancels the request.
pub(crate) fn block_on<F>(py: Python<'_>, future: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let runtime = runtime()?;
    py.detach(|| {
        runtime.block_on(async {
            let mut future = std::pin::pin!(future);
            loop {
                match tokio::time::timeout(SIGNAL_CHECK, &mut future).await {
                    Ok(output) => return Ok(output),
                    Err(_) => Python::attach(|py| py.check_signals())?,
                }
            }
        })
    })
}
