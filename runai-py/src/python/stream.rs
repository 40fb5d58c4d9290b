//! Streamed chat completions: an iterator for the blocking client, an async iterator for the
//! asyncio one. Each chunk is the server's chunk as a dict.

use std::sync::{Arc, Mutex, PoisonError};

use futures_util::StreamExt;
use pyo3::exceptions::PyStopAsyncIteration;
use pyo3::prelude::*;
use runai_client::openai::{ChatStream as Chunks, Usage};

use super::convert::{Json, json};
use super::errors::Failure;
use super::runtime::block_on;

/// What a stream has measured so far, readable while a chunk is awaited.
#[derive(Debug, Default, Clone)]
struct Measured {
    time_to_first_token: Option<f64>,
    usage: Option<Usage>,
    complete: bool,
}

/// The stream and its measurements, shared with the tasks that read it.
#[derive(Debug)]
struct Shared {
    chunks: tokio::sync::Mutex<Chunks>,
    measured: Mutex<Measured>,
}

impl Shared {
    fn new(chunks: Chunks) -> Arc<Self> {
        Arc::new(Self {
            chunks: tokio::sync::Mutex::new(chunks),
            measured: Mutex::default(),
        })
    }

    /// The next chunk, `None` at the end.
    async fn next(&self) -> Result<Option<Json>, Failure> {
        let mut chunks = self.chunks.lock().await;
        let next = chunks.next().await;
        *self.measured.lock().unwrap_or_else(PoisonError::into_inner) = Measured {
            time_to_first_token: chunks.time_to_first_token().map(|d| d.as_secs_f64()),
            usage: chunks.usage().cloned(),
            complete: chunks.is_complete(),
        };
        match next {
            None => Ok(None),
            Some(Ok(chunk)) => Ok(Some(json(&chunk)?)),
            Some(Err(error)) => Err(error.into()),
        }
    }

    fn measured(&self) -> Measured {
        self.measured
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// A streamed chat completion from `Client.chat_stream`: iterate over it for the chunks
/// (dicts shaped like OpenAI's `chat.completion.chunk`).
#[pyclass(module = "runai._runai", frozen)]
#[derive(Debug)]
pub(crate) struct ChatStream {
    shared: Arc<Shared>,
}

impl ChatStream {
    pub(crate) fn new(chunks: Chunks) -> Self {
        Self {
            shared: Shared::new(chunks),
        }
    }
}

#[pymethods]
impl ChatStream {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Json>> {
        let shared = Arc::clone(&self.shared);
        block_on(py, async move { shared.next().await })?.map_err(|f| f.into_pyerr(py))
    }

    /// Seconds from sending the request to the first chunk with text; `None` before it.
    #[getter]
    fn time_to_first_token(&self) -> Option<f64> {
        self.shared.measured().time_to_first_token
    }

    /// The token counts the server reported at the end (`prompt_tokens`,
    /// `completion_tokens`, `total_tokens`); `None` before the end or when it sent none.
    #[getter]
    fn usage(&self) -> PyResult<Option<Json>> {
        usage(&self.shared)
    }

    /// Whether the server ended the stream with `[DONE]`.
    #[getter]
    fn complete(&self) -> bool {
        self.shared.measured().complete
    }

    fn __repr__(&self) -> String {
        repr("ChatStream", &self.shared)
    }
}

/// A streamed chat completion from `AsyncClient.chat_stream`: `async for` over it for the
/// chunks (dicts shaped like OpenAI's `chat.completion.chunk`).
#[pyclass(module = "runai._runai", frozen)]
#[derive(Debug)]
pub(crate) struct AsyncChatStream {
    shared: Arc<Shared>,
}

impl AsyncChatStream {
    pub(crate) fn new(chunks: Chunks) -> Self {
        Self {
            shared: Shared::new(chunks),
        }
    }
}

#[pymethods]
impl AsyncChatStream {
    fn __aiter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let shared = Arc::clone(&self.shared);
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            match shared.next().await {
                Ok(Some(chunk)) => Ok(chunk),
                Ok(None) => Err(PyStopAsyncIteration::new_err(())),
                Err(failure) => Err(failure.into_pyerr_attached()),
            }
        })
    }

    /// Seconds from sending the request to the first chunk with text; `None` before it.
    #[getter]
    fn time_to_first_token(&self) -> Option<f64> {
        self.shared.measured().time_to_first_token
    }

    /// The token counts the server reported at the end; `None` before the end or when it
    /// sent none.
    #[getter]
    fn usage(&self) -> PyResult<Option<Json>> {
        usage(&self.shared)
    }

    /// Whether the server ended the stream with `[DONE]`.
    #[getter]
    fn complete(&self) -> bool {
        self.shared.measured().complete
    }

    fn __repr__(&self) -> String {
        repr("AsyncChatStream", &self.shared)
    }
}

fn usage(shared: &Shared) -> PyResult<Option<Json>> {
    shared
        .measured()
        .usage
        .map(|usage| json(&usage))
        .transpose()
        .map_err(Failure::into_pyerr_attached)
}

fn repr(class: &str, shared: &Shared) -> String {
    let measured = shared.measured();
    format!(
        "<{class} complete={} time_to_first_token={:?}>",
        if measured.complete { "True" } else { "False" },
        measured.time_to_first_token
    )
}
