//! `runai.Client` (blocking) and `runai.AsyncClient` (asyncio): the same methods over the
//! same operations ([`super::ops`]), one blocking on the shared runtime with the GIL released,
//! the other returning awaitables.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::convert::Json;
use super::errors::Failure;
use super::ops::{self, Call, ChatArgs, ListArgs, SearchArgs, ServingAuth, Settings};
use super::runtime::block_on;
use super::stream::{AsyncChatStream, ChatStream};

/// A blocking client for a Run:ai-compatible control plane (a Run:ai tenant or the embedded
/// platform), the Hugging Face Hub and OpenAI-compatible serving URLs. Thread-safe; calls
/// release the GIL while they wait.
#[pyclass(module = "runai._runai", frozen)]
#[derive(Debug)]
pub(crate) struct Client {
    inner: runai_client::Client,
}

/// An asyncio client with the methods of `Client`, each returning an awaitable. Any number
/// of calls may run at once; they share one token.
#[pyclass(module = "runai._runai", frozen)]
#[derive(Debug)]
pub(crate) struct AsyncClient {
    inner: runai_client::Client,
}

/// Runs a call to completion, the GIL released.
fn blocking<'py>(py: Python<'py>, call: Result<Call, Failure>) -> PyResult<Bound<'py, PyAny>> {
    let call = call.map_err(|f| f.into_pyerr(py))?;
    let result: Json = block_on(py, call)?.map_err(|f| f.into_pyerr(py))?;
    result.into_pyobject(py)
}

/// An awaitable of a call.
fn awaitable<'py>(py: Python<'py>, call: Result<Call, Failure>) -> PyResult<Bound<'py, PyAny>> {
    let call = call.map_err(|f| f.into_pyerr(py))?;
    pyo3_async_runtimes::tokio::future_into_py(
        py,
        async move { call.await.map_err(Failure::into_pyerr_attached) },
    )
}

fn blocking_stream<'py>(
    py: Python<'py>,
    call: Call<runai_client::openai::ChatStream>,
) -> PyResult<Bound<'py, PyAny>> {
    let chunks = block_on(py, call)?.map_err(|f| f.into_pyerr(py))?;
    Ok(Bound::new(py, ChatStream::new(chunks))?.into_any())
}

fn awaitable_stream<'py>(
    py: Python<'py>,
    call: Call<runai_client::openai::ChatStream>,
) -> PyResult<Bound<'py, PyAny>> {
    pyo3_async_runtimes::tokio::future_into_py(py, async move {
        let chunks = call.await.map_err(Failure::into_pyerr_attached)?;
        Ok(AsyncChatStream::new(chunks))
    })
}

/// The methods both clients have; `$run` runs a call, `$stream` opens a stream.
macro_rules! client_methods {
    ($class:ident, $name:literal, $run:ident, $stream:ident) => {
        #[pymethods]
        #[allow(clippy::too_many_arguments)]
        impl $class {
            /// A client of the control plane at `base_url`. Authenticate with `client_id` and
            /// `client_secret` (a service account or access key, exchanged at
            /// `/api/v1/token`, or `/api/v2/token` with `oauth2=True`; refreshed before it
            /// expires) or with a `token` used as it is. `timeout` bounds each request and
            /// each wait for stream data, in seconds; `retries` is how often a failed safe
            /// request is repeated.
            #[new]
            #[pyo3(signature = (base_url, *, client_id=None, client_secret=None, token=None, oauth2=false, timeout=60.0, connect_timeout=10.0, retries=None, user_agent=None))]
            fn new(
                py: Python<'_>,
                base_url: String,
                client_id: Option<String>,
                client_secret: Option<String>,
                token: Option<String>,
                oauth2: bool,
                timeout: f64,
                connect_timeout: f64,
                retries: Option<usize>,
                user_agent: Option<String>,
            ) -> PyResult<Self> {
                let settings = Settings {
                    base_url,
                    client_id,
                    client_secret,
                    token,
                    oauth2,
                    timeout,
                    connect_timeout,
                    retries,
                    user_agent,
                };
                let inner = ops::build(settings).map_err(|f| f.into_pyerr(py))?;
                Ok(Self { inner })
            }

            /// The control plane's base URL.
            #[getter]
            fn base_url(&self) -> String {
                self.inner.base_url().to_string()
            }

            /// A token for the control plane now (fetched or refreshed when needed); `None`
            /// when the client has no credentials.
            fn token<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                $run(py, Ok(ops::token(&self.inner)))
            }

            /// Submits an inference workload. The request (`name`, `projectId`, `clusterId`,
            /// `spec`) is a dict, keyword arguments (snake_case names are taken in camelCase),
            /// or both; it is validated first and a bad one raises `ValidationError` without
            /// a call. Returns the server's answer as a dict.
            #[pyo3(signature = (request=None, /, **fields))]
            fn create_inference<'py>(
                &self,
                py: Python<'py>,
                request: Option<&Bound<'py, PyAny>>,
                fields: Option<&Bound<'py, PyDict>>,
            ) -> PyResult<Bound<'py, PyAny>> {
                $run(py, ops::create_inference(&self.inner, request, fields))
            }

            /// One inference workload, with its spec, as a dict.
            fn get_inference<'py>(&self, py: Python<'py>, id: String) -> PyResult<Bound<'py, PyAny>> {
                $run(py, Ok(ops::get_inference(&self.inner, id)))
            }

            /// A rolling update (`{"spec": {...}}` as a dict or keyword arguments), validated
            /// first; a new revision takes the traffic once it is ready.
            #[pyo3(signature = (id, update=None, /, **fields))]
            fn update_inference<'py>(
                &self,
                py: Python<'py>,
                id: String,
                update: Option<&Bound<'py, PyAny>>,
                fields: Option<&Bound<'py, PyDict>>,
            ) -> PyResult<Bound<'py, PyAny>> {
                $run(py, ops::update_inference(&self.inner, id, update, fields))
            }

            /// Deletes an inference workload.
            fn delete_inference<'py>(&self, py: Python<'py>, id: String) -> PyResult<Bound<'py, PyAny>> {
                $run(py, Ok(ops::delete_inference(&self.inner, id)))
            }

            /// The revisions of an inference workload (`{"revisions": [...]}`).
            fn revisions<'py>(&self, py: Python<'py>, id: String) -> PyResult<Bound<'py, PyAny>> {
                $run(py, Ok(ops::revisions(&self.inner, id)))
            }

            /// Metrics of an inference workload (`types` such as `"THROUGHPUT"`,
            /// `"LATENCY"`; `start` and `end` in RFC 3339). The dict has `measurements` and
            /// `partial`, true when the server could not gather every type.
            #[pyo3(signature = (id, types, start, end, samples=None))]
            fn metrics<'py>(
                &self,
                py: Python<'py>,
                id: String,
                types: Vec<String>,
                start: String,
                end: String,
                samples: Option<u16>,
            ) -> PyResult<Bound<'py, PyAny>> {
                $run(py, Ok(ops::metrics(&self.inner, id, &types, start, end, samples)))
            }

            /// The status view of a workload of any type: phase, conditions, URLs.
            fn get_workload<'py>(&self, py: Python<'py>, id: String) -> PyResult<Bound<'py, PyAny>> {
                $run(py, Ok(ops::get_workload(&self.inner, id)))
            }

            /// One page of workloads: `{"items": [...], "next": offset or None}`. `filter`
            /// takes Run:ai expressions such as `"type==inference"`.
            #[pyo3(signature = (*, filter=None, sort_by=None, sort_order=None, search=None, limit=None, offset=None, deleted=None))]
            fn list_workloads<'py>(
                &self,
                py: Python<'py>,
                filter: Option<Vec<String>>,
                sort_by: Option<String>,
                sort_order: Option<String>,
                search: Option<String>,
                limit: Option<u16>,
                offset: Option<u32>,
                deleted: Option<bool>,
            ) -> PyResult<Bound<'py, PyAny>> {
                let args = ListArgs { filter: filter.unwrap_or_default(), sort_by, sort_order, search, limit, offset, deleted };
                $run(py, ops::list_workloads(&self.inner, args))
            }

            /// Every workload the query matches, fetched page after page, as a list.
            #[pyo3(signature = (*, filter=None, sort_by=None, sort_order=None, search=None, limit=None, deleted=None))]
            fn all_workloads<'py>(
                &self,
                py: Python<'py>,
                filter: Option<Vec<String>>,
                sort_by: Option<String>,
                sort_order: Option<String>,
                search: Option<String>,
                limit: Option<u16>,
                deleted: Option<bool>,
            ) -> PyResult<Bound<'py, PyAny>> {
                let args = ListArgs { filter: filter.unwrap_or_default(), sort_by, sort_order, search, limit, offset: None, deleted };
                $run(py, ops::all_workloads(&self.inner, args))
            }

            /// Follows a workload until it is in `phase` and returns its status view. Raises
            /// `WorkloadFailedError` when it fails (or is deleted) first and `TimeoutError`
            /// after `timeout` seconds.
            #[pyo3(signature = (id, phase="Running", *, timeout=600.0, interval=2.0))]
            fn wait_for<'py>(
                &self,
                py: Python<'py>,
                id: String,
                phase: &str,
                timeout: f64,
                interval: f64,
            ) -> PyResult<Bound<'py, PyAny>> {
                $run(py, ops::wait_for(&self.inner, id, phase, timeout, interval))
            }

            /// Models on the Hugging Face Hub (one page, `limit` long), as dicts. `tags`
            /// filters by tag; `sort` is a Hub order such as `"downloads"`; `hub_url` and
            /// `hub_token` point at another Hub or mirror.
            #[pyo3(signature = (search=None, *, author=None, pipeline_tag=None, library=None, tags=None, sort=None, limit=None, hub_url=None, hub_token=None))]
            fn search_models<'py>(
                &self,
                py: Python<'py>,
                search: Option<String>,
                author: Option<String>,
                pipeline_tag: Option<String>,
                library: Option<String>,
                tags: Option<Vec<String>>,
                sort: Option<String>,
                limit: Option<u32>,
                hub_url: Option<String>,
                hub_token: Option<String>,
            ) -> PyResult<Bound<'py, PyAny>> {
                let args = SearchArgs { search, author, pipeline_tag, library, tags: tags.unwrap_or_default(), sort, limit, hub_url, hub_token };
                $run(py, ops::search_models(&self.inner, args))
            }

            /// A chat completion from the OpenAI-compatible API at `url` (a serving URL; `/v1`
            /// is added unless it ends in it). `messages` is a str or a list of
            /// `{"role", "content"}` dicts; further keyword arguments go into the request
            /// body. Sends the control plane's token unless `token` or `anonymous=True`.
            #[pyo3(signature = (url, messages, *, model, max_tokens=None, temperature=None, top_p=None, stop=None, token=None, anonymous=false, **extra))]
            fn chat<'py>(
                &self,
                py: Python<'py>,
                url: String,
                messages: &Bound<'py, PyAny>,
                model: String,
                max_tokens: Option<u32>,
                temperature: Option<f64>,
                top_p: Option<f64>,
                stop: Option<&Bound<'py, PyAny>>,
                token: Option<String>,
                anonymous: bool,
                extra: Option<&Bound<'py, PyDict>>,
            ) -> PyResult<Bound<'py, PyAny>> {
                let args = ServingAuth::new(token, anonymous).and_then(|auth| {
                    ChatArgs::new(url, messages, model, max_tokens, temperature, top_p, stop, auth, extra)
                });
                $run(py, args.map(|args| ops::chat(&self.inner, args)))
            }

            /// A streamed chat completion: the arguments of `chat`; the stream yields chunk
            /// dicts and has `time_to_first_token` and, at the end, `usage`.
            #[pyo3(signature = (url, messages, *, model, max_tokens=None, temperature=None, top_p=None, stop=None, token=None, anonymous=false, **extra))]
            fn chat_stream<'py>(
                &self,
                py: Python<'py>,
                url: String,
                messages: &Bound<'py, PyAny>,
                model: String,
                max_tokens: Option<u32>,
                temperature: Option<f64>,
                top_p: Option<f64>,
                stop: Option<&Bound<'py, PyAny>>,
                token: Option<String>,
                anonymous: bool,
                extra: Option<&Bound<'py, PyDict>>,
            ) -> PyResult<Bound<'py, PyAny>> {
                let args = ServingAuth::new(token, anonymous)
                    .and_then(|auth| ChatArgs::new(url, messages, model, max_tokens, temperature, top_p, stop, auth, extra))
                    .map_err(|f| f.into_pyerr(py))?;
                $stream(py, ops::chat_stream(&self.inner, args))
            }

            fn __repr__(&self) -> String {
                format!("{}('{}')", $name, self.inner.base_url())
            }
        }
    };
}

client_methods!(Client, "Client", blocking, blocking_stream);
client_methods!(AsyncClient, "AsyncClient", awaitable, awaitable_stream);
