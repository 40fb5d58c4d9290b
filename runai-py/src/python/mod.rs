//! The extension module `runai._runai`: the classes and functions the `runai` package
//! re-exports. Nothing here is used from Rust.

mod client;
mod convert;
mod errors;
mod functions;
mod ops;
mod runtime;
mod stream;

use pyo3::prelude::*;

/// The compiled half of the `runai` package; import `runai` instead.
#[pymodule(gil_used = false)]
fn _runai(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // One runtime for the blocking client, the asyncio client and their streams.
    let runtime = runtime::runtime()?;
    // Already set when the module is initialised a second time (a subinterpreter); the
    // runtime is then the same one.
    let _ = pyo3_async_runtimes::tokio::init_with_runtime(runtime);
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<client::Client>()?;
    m.add_class::<client::AsyncClient>()?;
    m.add_class::<stream::ChatStream>()?;
    m.add_class::<stream::AsyncChatStream>()?;
    functions::register(m)
}
