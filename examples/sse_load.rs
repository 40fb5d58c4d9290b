//! A small HTTP load tool for the gateway benchmark (`bench/gateway.sh`): many concurrent
//! server-sent-event streams started together, or open-loop load at a fixed request rate.
//!
//! ```text
//! # 1,000 streaming chat completions started together: time to first token and total time.
//! cargo run --release --example sse_load -- --mode sse \
//!     --url http://127.0.0.1:8000/v1/chat/completions --streams 1000 \
//!     --body '{"model":"sim-model","messages":[{"role":"user","content":"hi"}],"max_tokens":100,"stream":true}'
//!
//! # 5,000 requests a second for 10 s over 64 keep-alive connections: latency percentiles.
//! cargo run --release --example sse_load -- --mode rate \
//!     --url http://127.0.0.1:8000/v1/chat/completions --rate 5000 --duration 10 --connections 64 \
//!     --body '{"model":"sim-model","messages":[{"role":"user","content":"hi"}],"max_tokens":16}' \
//!     --header 'authorization: Bearer TOKEN'
//! ```
//!
//! Options (both modes): `--url URL` (plain `http://` only), `--body JSON` or
//! `--body-file PATH`, `--header 'name: value'` (repeatable; `content-type: application/json`
//! is sent unless given), `--method M` (default `POST`), `--timeout-s S` (per request or
//! stream, default 60), `--threads N` (runtime worker threads, default: the number of CPUs).
//!
//! `--mode sse --streams N` first opens N connections (32 at a time), then sends one
//! streaming request on each, all released together, so that connecting (and a listener's
//! accept queue overflowing under a burst of SYNs) stays out of the measurement. Per stream it measures the time from sending the request to the first
//! `data:` event that carries content (a non-empty `choices[].delta.content` or
//! `choices[].text`: the time to first token), and to the end of the stream. A stream counts
//! as ok when it answered 2xx, carried content and ended with `data: [DONE]`. The time to
//! connect is reported apart (`connect_ms`).
//!
//! `--mode rate --rate R --duration S --connections C` sends R requests a second for S
//! seconds over C keep-alive connections opened beforehand. A dedicated thread releases
//! the requests on a fixed schedule, whatever the responses do (open loop); a free connection
//! takes the next released request. Each latency runs from the moment its request was
//! released to the end of its response body, so time spent waiting for a busy connection
//! counts (no coordinated omission). The delay of the release thread itself behind its
//! schedule is reported apart (`release_lag_us`).
//!
//! Both modes print one JSON object on stdout: counts, errors by kind, and percentiles
//! (`p50`, `p90`, `p99`, `max`; milliseconds in `sse` mode, microseconds in `rate` mode).
//! The exit status is 0 when at least one request succeeded, 1 when none did or the
//! target cannot be reached, and 2 for a usage error.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{CONTENT_TYPE, HOST, HeaderName, HeaderValue};
use hyper::{HeaderMap, Method, Request, Uri};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::{Barrier, Mutex, Semaphore, mpsc};

const USAGE: &str = "usage:
  sse_load --mode sse  --url URL --streams N (--body JSON | --body-file PATH) [--header 'k: v']...
  sse_load --mode rate --url URL --rate R --duration S --connections C (--body JSON | --body-file PATH)
           [--header 'k: v']...
  common options: [--method M] [--timeout-s S] [--threads N]";

/// The most requests one `--mode rate` run may schedule (each keeps its latency in memory).
const MAX_REQUESTS: f64 = 100_000_000.0;

/// What to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Concurrent streaming requests started together.
    Sse,
    /// Open-loop load at a fixed rate.
    Rate,
}

/// The command line, checked.
#[derive(Debug)]
struct Args {
    mode: Mode,
    url: Uri,
    method: Method,
    body: Bytes,
    headers: Vec<(HeaderName, HeaderValue)>,
    streams: usize,
    rate: f64,
    duration: Duration,
    connections: usize,
    timeout: Duration,
    threads: Option<usize>,
}

/// Reads the command line; the error is a message for the user.
fn parse_args(raw: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut raw = raw.into_iter();
    let mut mode = None;
    let mut url = None;
    let mut method = Method::POST;
    let mut body = None;
    let mut headers = Vec::new();
    let (mut streams, mut rate, mut duration, mut connections) = (None, None, None, None);
    let mut timeout = Duration::from_secs(60);
    let mut threads = None;
    while let Some(flag) = raw.next() {
        let value = raw
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let count = |what: &str| -> Result<usize, String> {
            value
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{flag}: `{value}` is not {what}"))
        };
        let seconds = || -> Result<Duration, String> {
            value
                .parse::<f64>()
                .ok()
                .filter(|s| *s > 0.0)
                .and_then(|s| Duration::try_from_secs_f64(s).ok())
                .ok_or_else(|| format!("{flag}: `{value}` is not a positive number of seconds"))
        };
        match flag.as_str() {
            "--mode" => {
                mode = Some(match value.as_str() {
                    "sse" => Mode::Sse,
                    "rate" => Mode::Rate,
                    _ => return Err(format!("--mode: `{value}` is neither `sse` nor `rate`")),
                });
            }
            "--url" => {
                let parsed = value
                    .parse::<Uri>()
                    .map_err(|e| format!("--url: `{value}`: {e}"))?;
                url = Some(parsed);
            }
            "--method" => {
                method = Method::from_bytes(value.as_bytes())
                    .map_err(|_| format!("--method: `{value}` is not an HTTP method"))?;
            }
            "--body" => body = Some(Bytes::from(value)),
            "--body-file" => {
                let contents = std::fs::read(&value).map_err(|e| format!("--body-file: `{value}`: {e}"))?;
                body = Some(Bytes::from(contents));
            }
            "--header" => headers.push(parse_header(&value)?),
            "--streams" => streams = Some(count("a positive number of streams")?),
            "--connections" => connections = Some(count("a positive number of connections")?),
            "--threads" => threads = Some(count("a positive number of threads")?),
            "--rate" => {
                rate = Some(
                    value
                        .parse::<f64>()
                        .ok()
                        .filter(|r| r.is_finite() && *r > 0.0)
                        .ok_or_else(|| {
                            format!("--rate: `{value}` is not a positive number of requests a second")
                        })?,
                );
            }
            "--duration" => duration = Some(seconds()?),
            "--timeout-s" => timeout = seconds()?,
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    let mode = mode.ok_or_else(|| format!("--mode is required\n{USAGE}"))?;
    let url = url.ok_or_else(|| format!("--url is required\n{USAGE}"))?;
    let missing = |flag: &str| format!("--mode {} needs {flag}\n{USAGE}", mode.name());
    let (streams, rate, duration, connections) = match mode {
        Mode::Sse => (
            streams.ok_or_else(|| missing("--streams"))?,
            0.0,
            Duration::ZERO,
            0,
        ),
        Mode::Rate => (
            0,
            rate.ok_or_else(|| missing("--rate"))?,
            duration.ok_or_else(|| missing("--duration"))?,
            connections.ok_or_else(|| missing("--connections"))?,
        ),
    };
    if rate * duration.as_secs_f64() > MAX_REQUESTS {
        return Err(format!(
            "--rate × --duration asks for more than {MAX_REQUESTS} requests"
        ));
    }
    Ok(Args {
        mode,
        url,
        method,
        body: body.unwrap_or_default(),
        headers,
        streams,
        rate,
        duration,
        connections,
        timeout,
        threads,
    })
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Self::Sse => "sse",
            Self::Rate => "rate",
        }
    }
}

/// Parses `name: value`.
fn parse_header(raw: &str) -> Result<(HeaderName, HeaderValue), String> {
    let (name, value) = raw
        .split_once(':')
        .ok_or_else(|| format!("--header: `{raw}` is not of the form `name: value`"))?;
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| format!("--header: `{}` is not a valid header name", name.trim()))?;
    let value = HeaderValue::from_str(value.trim())
        .map_err(|_| format!("--header: the value of `{name}` is not a valid header value"))?;
    Ok((name, value))
}

/// Where requests go and what they are.
#[derive(Debug)]
struct Target {
    addr: SocketAddr,
    method: Method,
    path: Uri,
    headers: HeaderMap,
    body: Bytes,
    timeout: Duration,
}

impl Target {
    /// Checks the URL, resolves its host once and prepares the request.
    async fn new(args: &Args) -> Result<Self, String> {
        let url = &args.url;
        if url.scheme_str() != Some("http") {
            return Err(format!("--url: `{url}`: only plain http:// URLs are supported"));
        }
        let authority = url
            .authority()
            .ok_or_else(|| format!("--url: `{url}` has no host"))?;
        let host = authority.host().trim_start_matches('[').trim_end_matches(']');
        let port = authority.port_u16().unwrap_or(80);
        let addr = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| format!("cannot resolve `{host}`: {e}"))?
            .next()
            .ok_or_else(|| format!("`{host}` resolves to no address"))?;
        let path = url
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .parse::<Uri>()
            .map_err(|e| format!("--url: `{url}`: {e}"))?;
        let mut headers = HeaderMap::new();
        let host_value = HeaderValue::from_str(authority.as_str())
            .map_err(|_| format!("--url: `{authority}` is not a valid Host header"))?;
        headers.insert(HOST, host_value);
        for (name, value) in &args.headers {
            headers.append(name.clone(), value.clone());
        }
        if !args.body.is_empty() && !headers.contains_key(CONTENT_TYPE) {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        Ok(Self {
            addr,
            method: args.method.clone(),
            path,
            headers,
            body: args.body.clone(),
            timeout: args.timeout,
        })
    }

    /// One request, ready to send on a connection to the target.
    fn request(&self) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(self.body.clone()));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.path.clone();
        *request.headers_mut() = self.headers.clone();
        request
    }
}

/// The sending half of one HTTP/1.1 connection.
type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

/// Opens a connection (with `TCP_NODELAY`, as HTTP clients and proxies do).
async fn connect(addr: SocketAddr) -> Result<Sender, String> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    stream
        .set_nodelay(true)
        .map_err(|e| format!("TCP_NODELAY: {e}"))?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(async move {
        // Errors surface on the request that the connection was carrying.
        let _ = connection.await;
    });
    Ok(sender)
}

/// Nearest-rank percentile of sorted values.
fn percentile<T: Copy + Default>(sorted: &[T], share: f64) -> T {
    if sorted.is_empty() {
        return T::default();
    }
    let rank = (share * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Percentiles of durations in milliseconds, three decimals.
fn millis_summary(mut values: Vec<Duration>) -> Value {
    values.sort_unstable();
    let ms = |d: Duration| (d.as_secs_f64() * 1_000_000.0).round() / 1_000.0;
    json!({
        "p50": ms(percentile(&values, 0.50)),
        "p90": ms(percentile(&values, 0.90)),
        "p99": ms(percentile(&values, 0.99)),
        "max": ms(values.last().copied().unwrap_or_default()),
    })
}

/// Percentiles of microsecond values.
fn micros_summary(mut values: Vec<u64>) -> Value {
    values.sort_unstable();
    let mean = if values.is_empty() {
        0
    } else {
        values.iter().sum::<u64>() / values.len() as u64
    };
    json!({
        "p50": percentile(&values, 0.50),
        "p90": percentile(&values, 0.90),
        "p99": percentile(&values, 0.99),
        "p999": percentile(&values, 0.999),
        "max": values.last().copied().unwrap_or_default(),
        "mean": mean,
    })
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Splits a byte stream into lines and hands over the payload of each `data:` line.
#[derive(Debug, Default)]
struct SseLines {
    partial: Vec<u8>,
}

impl SseLines {
    fn push(&mut self, bytes: &[u8], mut on_data: impl FnMut(&[u8])) {
        let mut rest = bytes;
        while let Some(end) = rest.iter().position(|b| *b == b'\n') {
            let (line, tail) = rest.split_at(end);
            rest = &tail[1..];
            if self.partial.is_empty() {
                Self::line(line, &mut on_data);
            } else {
                self.partial.extend_from_slice(line);
                Self::line(&self.partial, &mut on_data);
                self.partial.clear();
            }
        }
        self.partial.extend_from_slice(rest);
    }

    fn line(line: &[u8], on_data: &mut impl FnMut(&[u8])) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(data) = line.strip_prefix(b"data:") {
            on_data(data.strip_prefix(b" ").unwrap_or(data));
        }
    }
}

/// Whether an OpenAI streaming chunk carries output text.
fn has_content(data: &[u8]) -> bool {
    let Ok(chunk) = serde_json::from_slice::<Value>(data) else {
        return false;
    };
    chunk
        .get("choices")
        .and_then(Value::as_array)
        .is_some_and(|choices| {
            choices.iter().any(|choice| {
                choice
                    .get("delta")
                    .and_then(|delta| delta.get("content"))
                    .or_else(|| choice.get("text"))
                    .and_then(Value::as_str)
                    .is_some_and(|text| !text.is_empty())
            })
        })
}

/// Connections being opened at once before the streams start: quick, without sending the
/// listener one burst of N SYNs.
const CONNECT_AT_ONCE: usize = 32;

/// What one stream did.
#[derive(Debug, Default)]
struct StreamOutcome {
    connect: Duration,
    ttft: Option<Duration>,
    total: Duration,
    events: u64,
    tokens: u64,
    error: Option<String>,
}

/// One streaming request on a connection of its own: connects (at most `CONNECT_AT_ONCE`
/// streams at a time), waits at `gate` until every stream has connected, then sends.
async fn one_stream(target: Arc<Target>, connecting: Arc<Semaphore>, gate: Arc<Barrier>) -> StreamOutcome {
    let mut outcome = StreamOutcome::default();
    let connected = {
        let _permit = connecting.acquire().await;
        let begun = Instant::now();
        let result = tokio::time::timeout(target.timeout, connect(target.addr)).await;
        outcome.connect = begun.elapsed();
        result
    };
    // Every stream reaches the gate, connected or not, or the others would wait forever.
    gate.wait().await;
    let sender = match connected {
        Ok(Ok(sender)) => sender,
        Ok(Err(error)) => {
            outcome.error = Some(error);
            return outcome;
        }
        Err(_) => {
            outcome.error = Some("connect: timeout".to_owned());
            return outcome;
        }
    };
    let started = Instant::now();
    let result = tokio::time::timeout(
        target.timeout,
        read_stream(&target, sender, started, &mut outcome),
    )
    .await;
    outcome.total = started.elapsed();
    outcome.error = match result {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(error),
        Err(_) => Some("timeout".to_owned()),
    };
    outcome
}

/// Sends the streaming request and reads the events until the end of the response.
async fn read_stream(
    target: &Target,
    mut sender: Sender,
    started: Instant,
    outcome: &mut StreamOutcome,
) -> Result<(), String> {
    let response = sender
        .send_request(target.request())
        .await
        .map_err(|e| format!("request: {e}"))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("status {}", status.as_u16()));
    }
    let mut body = response.into_body();
    let mut lines = SseLines::default();
    let mut done = false;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| format!("body: {e}"))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        lines.push(&data, |payload| {
            if payload == b"[DONE]" {
                done = true;
                return;
            }
            outcome.events += 1;
            if has_content(payload) {
                outcome.tokens += 1;
                if outcome.ttft.is_none() {
                    outcome.ttft = Some(started.elapsed());
                }
            }
        });
    }
    if !done {
        Err("stream ended without `data: [DONE]`".to_owned())
    } else if outcome.ttft.is_none() {
        Err("no `data:` event with content".to_owned())
    } else {
        Ok(())
    }
}

/// `--mode sse`: N streams, connected first, then started together.
async fn run_sse(target: &Arc<Target>, streams: usize) -> (Value, bool) {
    // Fail early, with one clear message, when nothing listens.
    if let Err(error) = connect(target.addr).await {
        let error = format!("{}: {error}", target.addr);
        return (json!({"mode": "sse", "error": error}), false);
    }
    let connecting = Arc::new(Semaphore::new(CONNECT_AT_ONCE));
    let gate = Arc::new(Barrier::new(streams));
    let wall = Instant::now();
    let tasks: Vec<_> = (0..streams)
        .map(|_| {
            let stream = one_stream(Arc::clone(target), Arc::clone(&connecting), Arc::clone(&gate));
            tokio::spawn(stream)
        })
        .collect();
    let mut connects = Vec::with_capacity(streams);
    let mut ttfts = Vec::with_capacity(streams);
    let mut totals = Vec::with_capacity(streams);
    let mut errors = BTreeMap::<String, u64>::new();
    let (mut events, mut tokens) = (0, 0);
    for task in tasks {
        let outcome = task.await.unwrap_or_else(|e| StreamOutcome {
            error: Some(format!("task: {e}")),
            ..StreamOutcome::default()
        });
        events += outcome.events;
        tokens += outcome.tokens;
        connects.push(outcome.connect);
        match (outcome.error, outcome.ttft) {
            (None, Some(ttft)) => {
                ttfts.push(ttft);
                totals.push(outcome.total);
            }
            (error, _) => *errors.entry(error.unwrap_or_default()).or_default() += 1,
        }
    }
    let ok = totals.len();
    let summary = json!({
        "mode": "sse",
        "streams": streams,
        "ok": ok,
        "errors": streams - ok,
        "error_kinds": errors,
        "events": events,
        "tokens": tokens,
        "wall_ms": wall.elapsed().as_millis() as u64,
        "connect_ms": millis_summary(connects),
        "ttft_ms": millis_summary(ttfts),
        "total_ms": millis_summary(totals),
    });
    (summary, ok > 0)
}

/// What one connection of `--mode rate` measured.
#[derive(Debug, Default)]
struct WorkerStats {
    latencies_us: Vec<u64>,
    errors: BTreeMap<String, u64>,
    last_done: Option<Instant>,
}

/// Takes released requests from `queue` and sends them on one keep-alive connection,
/// reconnecting after an error.
async fn rate_worker(
    target: Arc<Target>,
    queue: Arc<Mutex<mpsc::UnboundedReceiver<Instant>>>,
    sender: Sender,
) -> WorkerStats {
    let mut slot = Some(sender);
    let mut stats = WorkerStats::default();
    loop {
        // Workers wait in line for the lock; the one holding it takes the next request.
        let Some(released) = queue.lock().await.recv().await else {
            break;
        };
        let result = tokio::time::timeout(target.timeout, send_one(&target, &mut slot)).await;
        let done = Instant::now();
        stats.last_done = Some(done);
        let error = match result {
            Ok(Ok(())) => {
                stats
                    .latencies_us
                    .push(micros(done.saturating_duration_since(released)));
                continue;
            }
            Ok(Err(error)) => error,
            Err(_) => {
                slot = None;
                "timeout".to_owned()
            }
        };
        *stats.errors.entry(error).or_default() += 1;
    }
    stats
}

/// Sends one request and reads its whole response; the connection goes back to `slot`
/// only when that worked.
async fn send_one(target: &Target, slot: &mut Option<Sender>) -> Result<(), String> {
    let mut sender = match slot.take() {
        Some(mut sender) => match sender.ready().await {
            Ok(()) => sender,
            // The server closed the connection since the last request: open another.
            Err(_) => connect(target.addr).await?,
        },
        None => connect(target.addr).await?,
    };
    let response = sender
        .send_request(target.request())
        .await
        .map_err(|e| format!("request: {e}"))?;
    let status = response.status();
    response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("body: {e}"))?;
    *slot = Some(sender);
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("status {}", status.as_u16()))
    }
}

/// Releases `total` requests `interval` apart from `start`, on a thread of its own so that
/// the schedule does not depend on the runtime's millisecond timer. Returns how late each
/// release was, in microseconds.
fn release(queue: &mpsc::UnboundedSender<Instant>, start: Instant, rate: f64, total: u64) -> Vec<u64> {
    let mut lags = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    for n in 0..total {
        let due = start + Duration::from_secs_f64(n as f64 / rate);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        let released = Instant::now();
        lags.push(micros(released.saturating_duration_since(due)));
        if queue.send(released).is_err() {
            break;
        }
    }
    lags
}

/// `--mode rate`: open-loop load at a fixed rate.
async fn run_rate(target: &Arc<Target>, rate: f64, duration: Duration, connections: usize) -> (Value, bool) {
    let mut senders = Vec::with_capacity(connections);
    for _ in 0..connections {
        match connect(target.addr).await {
            Ok(sender) => senders.push(sender),
            Err(error) => {
                let error = format!("{}: {error}", target.addr);
                return (json!({"mode": "rate", "error": error}), false);
            }
        }
    }
    let (queue_tx, queue_rx) = mpsc::unbounded_channel();
    let queue = Arc::new(Mutex::new(queue_rx));
    let workers: Vec<_> = senders
        .into_iter()
        .map(|sender| tokio::spawn(rate_worker(Arc::clone(target), Arc::clone(&queue), sender)))
        .collect();
    let total = (rate * duration.as_secs_f64()).round() as u64;
    // Give the workers a moment to park on the queue before the first release.
    let start = Instant::now() + Duration::from_millis(20);
    let releaser = tokio::task::spawn_blocking(move || release(&queue_tx, start, rate, total));
    let lags = releaser.await.unwrap_or_default();
    let mut latencies = Vec::with_capacity(lags.len());
    let mut errors = BTreeMap::<String, u64>::new();
    let mut last_done = start;
    for worker in workers {
        match worker.await {
            Ok(stats) => {
                latencies.extend(stats.latencies_us);
                for (error, count) in stats.errors {
                    *errors.entry(error).or_default() += count;
                }
                last_done = last_done.max(stats.last_done.unwrap_or(start));
            }
            Err(e) => *errors.entry(format!("task: {e}")).or_default() += 1,
        }
    }
    let ok = latencies.len() as u64;
    let error_count: u64 = errors.values().sum();
    let elapsed = last_done.saturating_duration_since(start).as_secs_f64();
    let achieved = if elapsed > 0.0 { ok as f64 / elapsed } else { 0.0 };
    let summary = json!({
        "mode": "rate",
        "target_rps": rate,
        "duration_s": duration.as_secs_f64(),
        "connections": connections,
        "sent": lags.len(),
        "ok": ok,
        "errors": error_count,
        "error_kinds": errors,
        "achieved_rps": (achieved * 10.0).round() / 10.0,
        "latency_us": micros_summary(latencies),
        "release_lag_us": micros_summary(lags),
    });
    (summary, ok > 0)
}

fn main() -> ExitCode {
    if std::env::args().skip(1).any(|arg| arg == "--help" || arg == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let Some(threads) = args.threads {
        builder.worker_threads(threads);
    }
    let runtime = match builder.build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        let target = Arc::new(Target::new(&args).await?);
        Ok::<_, String>(match args.mode {
            Mode::Sse => run_sse(&target, args.streams).await,
            Mode::Rate => run_rate(&target, args.rate, args.duration, args.connections).await,
        })
    });
    match outcome {
        Ok((summary, succeeded)) => {
            println!("{summary}");
            if succeeded {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_lines_survive_any_split() {
        let stream =
            b"data: {\"choices\":[{\"delta\":{\"content\":\" hi\"}}]}\r\n\r\n: comment\n\ndata: [DONE]\n\n";
        for cut in 0..stream.len() {
            let mut lines = SseLines::default();
            let mut seen = Vec::new();
            lines.push(&stream[..cut], |d| seen.push(d.to_vec()));
            lines.push(&stream[cut..], |d| seen.push(d.to_vec()));
            assert_eq!(seen.len(), 2, "cut at {cut}");
            assert!(has_content(&seen[0]));
            assert_eq!(seen[1], b"[DONE]");
        }
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&values, 0.5), 50);
        assert_eq!(percentile(&values, 0.99), 99);
        assert_eq!(percentile(&[7_u64], 0.99), 7);
        assert_eq!(percentile::<u64>(&[], 0.5), 0);
    }

    #[test]
    fn arguments_are_checked() {
        let parse = |line: &str| parse_args(line.split_whitespace().map(str::to_owned));
        assert!(parse("--mode rate --url http://h/x --rate 10 --duration 1").is_err());
        assert!(parse("--mode sse --url http://h/x --streams 0").is_err());
        assert!(parse("--mode rate --url http://h/x --rate 1e9 --duration 1e9 --connections 1").is_err());
        assert!(parse("--mode rate --url http://h/x --rate 1 --duration 1e300 --connections 1").is_err());
        let args = parse("--mode sse --url http://h:81/x --streams 3 --header a:b").unwrap();
        assert_eq!((args.streams, args.headers.len()), (3, 1));
        assert!(parse_header("no-colon").is_err());
    }
}
