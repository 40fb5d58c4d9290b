//! An OpenAI-compatible model-server simulator.
//!
//! It answers `POST /v1/chat/completions` and `POST /v1/completions` (streaming as
//! server-sent events with one chunk per token, or whole), `GET /v1/models`, `GET /health`
//! and `GET /metrics` (vLLM's metric names). Every request produces `max_tokens` output
//! tokens (16 when absent): the first after the configured time to first token, the others
//! one inter-token latency apart. Prompt tokens are counted as whitespace-separated words.
//! At most `max_concurrency` requests run at once; the rest wait in arrival order, as in
//! vLLM's scheduler, and show in `vllm:num_requests_waiting`.
//!
//! ```
//! use runai_serve::model_sim::{ModelSim, ModelSimConfig};
//! use std::time::Duration;
//! let sim = ModelSim::new(ModelSimConfig {
//!     ttft: Duration::from_millis(50),
//!     itl: Duration::from_millis(10),
//!     ..ModelSimConfig::default()
//! });
//! let _router: axum::Router = sim.router();
//! ```

mod metrics;
mod openai;

use std::convert::Infallible;
use std::future::{Future, IntoFuture};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::shared::{SPLITMIX64_STEP, openai_error as error, splitmix64};
use metrics::{InFlight, SimMetrics};
use openai::{CompletionRequest, Kind};

/// Settings of the simulated model server.
///
/// ```
/// use runai_serve::model_sim::ModelSimConfig;
/// let c = ModelSimConfig::default();
/// assert_eq!(c.model, "sim-model");
/// assert_eq!(c.max_concurrency, 256);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSimConfig {
    /// The model name served (and listed by `/v1/models`).
    pub model: String,
    /// Time from a request starting to run to its first token.
    pub ttft: Duration,
    /// Time between output tokens.
    pub itl: Duration,
    /// Requests running at once; more wait. 0 means no limit.
    pub max_concurrency: usize,
    /// Share of requests (0 to 1) answered with a 500 error, chosen by a seeded sequence.
    pub error_rate: f64,
    /// Seed of the error sequence.
    pub seed: u64,
    /// After the shutdown signal, how long running requests may take to finish before
    /// [`ModelSim::serve`] returns anyway.
    pub drain_timeout: Duration,
}

impl Default for ModelSimConfig {
    fn default() -> Self {
        Self {
            model: "sim-model".to_owned(),
            ttft: Duration::ZERO,
            itl: Duration::ZERO,
            max_concurrency: 256,
            error_rate: 0.0,
            seed: 42,
            drain_timeout: Duration::from_secs(10),
        }
    }
}

/// The simulator: an axum [`Router`] and a server loop.
///
/// ```
/// use runai_serve::model_sim::{ModelSim, ModelSimConfig};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// println!("serving on {}", listener.local_addr()?);
/// // Serve until the shutdown future completes (here: at once).
/// ModelSim::new(ModelSimConfig::default()).serve(listener, async {}).await
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ModelSim {
    state: Arc<SimState>,
}

#[derive(Debug)]
struct SimState {
    config: ModelSimConfig,
    slots: Arc<Semaphore>,
    metrics: SimMetrics,
    requests: AtomicU64,
    ids: AtomicU64,
}

impl ModelSim {
    /// A simulator with `config`.
    #[must_use]
    pub fn new(config: ModelSimConfig) -> Self {
        let permits = if config.max_concurrency == 0 {
            Semaphore::MAX_PERMITS
        } else {
            config.max_concurrency
        };
        let metrics = SimMetrics::new(&config.model, config.max_concurrency);
        Self {
            state: Arc::new(SimState {
                slots: Arc::new(Semaphore::new(permits)),
                metrics,
                requests: AtomicU64::new(0),
                ids: AtomicU64::new(0),
                config,
            }),
        }
    }

    /// The routes, for serving or for testing in memory.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/v1/chat/completions", post(chat_completions))
            .route("/v1/completions", post(completions))
            .route("/v1/models", get(models))
            .route("/health", get(health))
            .route("/metrics", get(metrics))
            .with_state(Arc::clone(&self.state))
    }

    /// Serves on `listener` until `shutdown` completes, then lets running requests finish for
    /// up to [`ModelSimConfig::drain_timeout`].
    ///
    /// # Errors
    /// The I/O error that stopped the server.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let drain = self.state.config.drain_timeout;
        let (signal, deadline) = crate::drain::signal_and_deadline(shutdown, drain);
        let server = axum::serve(listener, self.router()).with_graceful_shutdown(signal);
        tokio::select! {
            result = server.into_future() => result,
            () = deadline => Ok(()),
        }
    }
}

impl SimState {
    /// Whether this request is one of the `error_rate` share that fails: a SplitMix64
    /// sequence over the request count, so runs with one seed fail the same requests.
    fn should_fail(&self) -> bool {
        if self.config.error_rate <= 0.0 {
            return false;
        }
        let n = self.requests.fetch_add(1, Ordering::Relaxed);
        let z = splitmix64(self.config.seed.wrapping_add(n.wrapping_mul(SPLITMIX64_STEP)));
        let unit = (z >> 11) as f64 / ((1u64 << 53) as f64);
        unit < self.config.error_rate
    }

    /// Waits for a running slot, counted as waiting meanwhile.
    async fn run_slot(&self) -> OwnedSemaphorePermit {
        self.metrics.waiting.inc();
        let permit = Arc::clone(&self.slots)
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        self.metrics.waiting.dec();
        permit
    }
}

async fn chat_completions(
    State(state): State<Arc<SimState>>,
    body: Result<axum::Json<serde_json::Value>, JsonRejection>,
) -> Response {
    complete(state, Kind::Chat, body).await
}

async fn completions(
    State(state): State<Arc<SimState>>,
    body: Result<axum::Json<serde_json::Value>, JsonRejection>,
) -> Response {
    complete(state, Kind::Text, body).await
}

async fn complete(
    state: Arc<SimState>,
    kind: Kind,
    body: Result<axum::Json<serde_json::Value>, JsonRejection>,
) -> Response {
    let request = match body
        .map_err(|rejection| rejection.body_text())
        .and_then(|axum::Json(value)| CompletionRequest::parse(kind, value))
    {
        Ok(request) => request,
        Err(message) => return error(StatusCode::BAD_REQUEST, "invalid_request_error", &message),
    };
    if state.should_fail() {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "simulated failure (error rate)",
        );
    }
    let permit = state.run_slot().await;
    let in_flight = InFlight::start(&state.metrics, request.prompt_tokens);
    let started = Instant::now();
    let id = format!(
        "{}-{}",
        kind.id_prefix(),
        state.ids.fetch_add(1, Ordering::Relaxed)
    );
    let (ttft, itl) = (state.config.ttft, state.config.itl);
    if !request.stream {
        let last = ttft + itl * request.max_tokens.saturating_sub(1);
        // A timer, even one already due, waits for the runtime's next 1 ms tick: at zero
        // delay the answer goes out at once.
        if !last.is_zero() {
            tokio::time::sleep_until(started + last).await;
        }
        in_flight.generated(u64::from(request.max_tokens));
        drop(permit);
        let body = openai::whole_response(kind, &id, &state.config.model, &request);
        return (StatusCode::OK, axum::Json(body)).into_response();
    }
    let model = state.config.model.clone();
    let chunks = futures_util::stream::unfold(
        Stream {
            next: 0,
            request,
            id,
            model,
            kind,
            started,
            ttft,
            itl,
            in_flight,
            _permit: permit,
        },
        |mut s| async move {
            let event = s.next_event().await?;
            Some((Ok::<_, Infallible>(event), s))
        },
    );
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(chunks))
        .expect("static headers are valid")
}

/// One streaming response: which event comes next, and what it holds on to (its running
/// slot and its in-flight count are released when the stream ends or the client leaves).
struct Stream {
    next: u32,
    request: CompletionRequest,
    id: String,
    model: String,
    kind: Kind,
    started: Instant,
    ttft: Duration,
    itl: Duration,
    in_flight: InFlight,
    _permit: OwnedSemaphorePermit,
}

impl Stream {
    /// The next server-sent event: `max_tokens` token chunks on schedule, a finish chunk,
    /// the usage chunk when asked for, then `[DONE]`.
    async fn next_event(&mut self) -> Option<Bytes> {
        let tokens = self.request.max_tokens;
        let index = self.next;
        self.next += 1;
        let payload = if index < tokens {
            let due = self.started + self.ttft + self.itl * index;
            if due > Instant::now() {
                tokio::time::sleep_until(due).await;
            }
            self.in_flight.generated(1);
            openai::token_chunk(self.kind, &self.id, &self.model, index, &self.request)
        } else if index == tokens {
            openai::finish_chunk(self.kind, &self.id, &self.model, &self.request)
        } else if index == tokens + 1 && self.request.include_usage {
            openai::usage_chunk(self.kind, &self.id, &self.model, &self.request)
        } else if index <= tokens + 2 {
            self.next = tokens + 3;
            return Some(Bytes::from_static(b"data: [DONE]\n\n"));
        } else {
            return None;
        };
        let mut event = Vec::with_capacity(256);
        event.extend_from_slice(b"data: ");
        serde_json::to_writer(&mut event, &payload).expect("JSON values serialize");
        event.extend_from_slice(b"\n\n");
        Some(Bytes::from(event))
    }
}

async fn models(State(state): State<Arc<SimState>>) -> Response {
    axum::Json(serde_json::json!({
        "object": "list",
        "data": [{"id": state.config.model, "object": "model", "created": 0, "owned_by": "runai"}],
    }))
    .into_response()
}

async fn health() -> StatusCode {
    StatusCode::OK
}

async fn metrics(State(state): State<Arc<SimState>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(),
    )
        .into_response()
}
