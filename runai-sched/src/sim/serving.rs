//! A deterministic simulator of LLM serving under autoscaling: requests from a trace go
//! through a gateway (one FIFO queue, least-outstanding dispatch, a concurrency limit per
//! replica) to replicas of a parameterised model server, while a scaling policy ticks every
//! two seconds on what the gateway and the replicas report.

use super::azure::LlmRequest;

/// The model-server model. Defaults describe Llama-3.1-8B on one H100 with vLLM; see
/// `docs/autoscaling.md` for the source of each number.
///
/// ```
/// use runai_sched::sim::ServerModel;
/// let m = ServerModel::default();
/// assert!(m.inter_token_latency_s(256) > m.inter_token_latency_s(1));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ServerModel {
    /// Prompt tokens processed per second (prefill).
    pub prefill_tokens_per_s: f64,
    /// Seconds per output token with one running sequence.
    pub itl_base_s: f64,
    /// Extra seconds per output token for each further running sequence.
    pub itl_per_sequence_s: f64,
    /// Most sequences a replica runs at once (vLLM's `max_num_seqs`).
    pub max_running: u32,
    /// Tokens the KV cache holds. A replica takes a request only when its prompt and output
    /// tokens fit beside those of the sequences it runs (or when it runs none).
    pub kv_cache_tokens: u64,
    /// Seconds from scheduling a replica to it serving (image pull, weight load, warm-up).
    pub startup_s: f64,
}

impl Default for ServerModel {
    fn default() -> Self {
        Self {
            prefill_tokens_per_s: 20_000.0,
            itl_base_s: 0.0067,
            itl_per_sequence_s: 0.000_055,
            max_running: 256,
            kv_cache_tokens: 430_000,
            startup_s: 60.0,
        }
    }
}

impl ServerModel {
    /// Seconds per output token with `running` sequences.
    #[must_use]
    pub fn inter_token_latency_s(&self, running: u32) -> f64 {
        self.itl_base_s + self.itl_per_sequence_s * f64::from(running.saturating_sub(1))
    }
}

/// What a scaling policy sees at a tick (the signals an LLM gateway and servers report).
pub use crate::autoscale::LlmSignals as Observation;

/// A scaling policy for the simulator: the replica count it wants, and why.
pub trait ScalingPolicy {
    /// The policy's name in reports.
    fn name(&self) -> String;
    /// Replicas wanted after observing `observation`.
    fn desired(&mut self, observation: &Observation) -> (u32, String);
}

/// Simulation settings.
///
/// ```
/// use runai_sched::sim::SimConfig;
/// assert_eq!(SimConfig::default().ttft_slo_s, 2.0);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// The model server.
    pub server: ServerModel,
    /// Seconds between scaling decisions.
    pub tick_s: f64,
    /// Simulation step in seconds.
    pub step_s: f64,
    /// Time-to-first-token objective.
    pub ttft_slo_s: f64,
    /// Replicas at the start.
    pub initial_replicas: u32,
    /// Requests the gateway queues before it refuses new ones.
    pub queue_limit: usize,
    /// Divide arrival times by this (4 = four times the rate).
    pub rate_scale: f64,
    /// Collect a time series every this many seconds (0 = none).
    pub series_every_s: f64,
    /// Seconds of the trace's start (after rate scaling) replayed before the measured run,
    /// so every policy meets the trace with the fleet it would have after serving that
    /// traffic, as a service that was already running would. Nothing is measured during
    /// the warm-up: not requests, replica-seconds, cold starts nor the series.
    pub warmup_s: f64,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            server: ServerModel::default(),
            tick_s: 2.0,
            step_s: 0.05,
            ttft_slo_s: 2.0,
            initial_replicas: 1,
            queue_limit: 10_000,
            rate_scale: 1.0,
            series_every_s: 0.0,
            warmup_s: 0.0,
        }
    }
}

/// One point of the time series.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesPoint {
    /// Seconds since the start.
    pub t_s: f64,
    /// Arrivals per second over the interval.
    pub arrivals_per_s: f64,
    /// Replicas existing (starting, serving or draining) at the end of the interval.
    pub replicas: u32,
    /// The 90th percentile time to first token over the interval (0 without requests).
    pub ttft_p90_s: f64,
}

/// The outcome of a simulation.
#[derive(Debug, Clone, PartialEq)]
pub struct SimReport {
    /// The policy.
    pub policy: String,
    /// Requests in the trace.
    pub requests: usize,
    /// Requests refused because the gateway queue was full.
    pub rejected: usize,
    /// Share of all requests with a first token within the objective.
    pub slo_attainment: f64,
    /// Median time to first token.
    pub p50_ttft_s: f64,
    /// 99th percentile time to first token.
    pub p99_ttft_s: f64,
    /// 99th percentile end-to-end latency.
    pub p99_e2e_s: f64,
    /// Replica-seconds (GPU-seconds with one GPU per replica), starting and draining included.
    pub replica_seconds: f64,
    /// Replicas started.
    pub cold_starts: u32,
    /// Scaling decisions that changed the replica count.
    pub scaling_actions: u32,
    /// The time series, when asked for.
    pub series: Vec<SeriesPoint>,
}

#[derive(Debug)]
struct Sequence {
    arrival_s: f64,
    /// False for warm-up requests.
    measured: bool,
    output_tokens: u32,
    /// KV-cache tokens the sequence holds at its end (prompt and output).
    kv_tokens: u64,
    prompt_left: f64,
    output_left: f64,
}

#[derive(Debug)]
struct Replica {
    ready_at_s: f64,
    draining: bool,
    prefilling: std::collections::VecDeque<Sequence>,
    decoding: Vec<Sequence>,
    /// KV-cache tokens reserved by the sequences on the replica.
    kv_tokens: u64,
}

impl Replica {
    fn outstanding(&self) -> u32 {
        (self.prefilling.len() + self.decoding.len()) as u32
    }

    fn new(ready_at_s: f64) -> Self {
        Self {
            ready_at_s,
            draining: false,
            prefilling: Default::default(),
            decoding: Vec::new(),
            kv_tokens: 0,
        }
    }

    /// Whether the replica can take `sequence` now.
    fn has_room(&self, sequence: &Sequence, server: &ServerModel, now: f64) -> bool {
        !self.draining
            && self.ready_at_s <= now
            && self.outstanding() < server.max_running
            && (self.outstanding() == 0 || self.kv_tokens + sequence.kv_tokens <= server.kv_cache_tokens)
    }
}

/// Runs `requests` through the simulated gateway and replicas under `policy`.
///
/// ```
/// use runai_sched::sim::{LlmRequest, Observation, ScalingPolicy, SimConfig, simulate};
/// struct Fixed(u32);
/// impl ScalingPolicy for Fixed {
///     fn name(&self) -> String { "fixed".into() }
///     fn desired(&mut self, _: &Observation) -> (u32, String) { (self.0, "fixed".into()) }
/// }
/// let requests: Vec<LlmRequest> = (0..100)
///     .map(|i| LlmRequest { arrival_s: f64::from(i) * 0.5, prompt_tokens: 1_000, output_tokens: 100 })
///     .collect();
/// let report = simulate(&requests, &SimConfig::default(), &mut Fixed(1));
/// assert_eq!(report.slo_attainment, 1.0);
/// assert!(report.replica_seconds > 49.0);
/// ```
pub fn simulate(requests: &[LlmRequest], config: &SimConfig, policy: &mut dyn ScalingPolicy) -> SimReport {
    let scale = config.rate_scale.max(1e-9);
    let dt = config.step_s;
    let mut replicas: Vec<Replica> = (0..config.initial_replicas).map(|_| Replica::new(0.0)).collect();
    let mut queue: std::collections::VecDeque<Sequence> = Default::default();
    // The warm-up prelude (the trace's first `warmup_s`), then the whole trace after it.
    let warmup = config.warmup_s.max(0.0);
    let arrivals: Vec<(f64, LlmRequest, bool)> = requests
        .iter()
        .take_while(|r| r.arrival_s / scale < warmup)
        .map(|r| (r.arrival_s / scale, *r, false))
        .chain(requests.iter().map(|r| (warmup + r.arrival_s / scale, *r, true)))
        .collect();
    let mut next = 0;
    let mut now = 0.0;
    let mut next_tick = config.tick_s;
    let mut observation = Observation::default();
    let mut ttfts: Vec<f64> = Vec::with_capacity(requests.len());
    let mut e2es: Vec<f64> = Vec::with_capacity(requests.len());
    let (mut rejected, mut replica_seconds, mut cold_starts, mut actions) = (0, 0.0, 0, 0);
    let mut series = Vec::new();
    let mut series_window = (0u32, Vec::new());
    let mut next_series = warmup + config.series_every_s;
    let end_of_trace = arrivals.last().map_or(0.0, |(t, _, _)| *t);

    while next < arrivals.len() || !queue.is_empty() || replicas.iter().any(|r| r.outstanding() > 0) {
        let measuring = now >= warmup;
        // Arrivals.
        while next < arrivals.len() && arrivals[next].0 <= now {
            let (arrival_s, r, measured) = arrivals[next];
            next += 1;
            observation.arrivals += 1;
            observation.arrival_prompt_tokens += u64::from(r.prompt_tokens);
            series_window.0 += u32::from(measured);
            if queue.len() >= config.queue_limit {
                rejected += usize::from(measured);
                continue;
            }
            queue.push_back(Sequence {
                arrival_s,
                measured,
                output_tokens: r.output_tokens,
                kv_tokens: u64::from(r.prompt_tokens) + u64::from(r.output_tokens),
                prompt_left: f64::from(r.prompt_tokens.max(1)),
                output_left: f64::from(r.output_tokens.max(1)),
            });
        }
        // Dispatch: least outstanding ready replica with room, in arrival order.
        while let Some(head) = queue.front() {
            let target = replicas
                .iter_mut()
                .filter(|r| r.has_room(head, &config.server, now))
                .min_by_key(|r| r.outstanding());
            let Some(replica) = target else { break };
            if let Some(sequence) = queue.pop_front() {
                replica.kv_tokens += sequence.kv_tokens;
                replica.prefilling.push_back(sequence);
            }
        }
        // Serve one step on every ready replica.
        for replica in replicas.iter_mut().filter(|r| r.ready_at_s <= now) {
            let mut budget = config.server.prefill_tokens_per_s * dt;
            let mut elapsed = 0.0;
            while budget > 0.0 {
                let Some(head) = replica.prefilling.front_mut() else {
                    break;
                };
                let used = head.prompt_left.min(budget);
                head.prompt_left -= used;
                budget -= used;
                elapsed += used / config.server.prefill_tokens_per_s;
                if head.prompt_left <= 0.0 {
                    let mut sequence = replica.prefilling.pop_front().expect("the head exists");
                    let ttft = now + elapsed - sequence.arrival_s;
                    observation.ttfts_s.push(ttft);
                    if sequence.measured {
                        ttfts.push(ttft);
                        series_window.1.push(ttft);
                    }
                    sequence.output_left -= 1.0;
                    if sequence.output_left <= 0.0 {
                        replica.kv_tokens -= sequence.kv_tokens;
                        if sequence.measured {
                            e2es.push(now + elapsed - sequence.arrival_s);
                        }
                        observation.completed += 1;
                        observation.completed_output_tokens += u64::from(sequence.output_tokens);
                    } else {
                        replica.decoding.push(sequence);
                    }
                }
            }
            let batch = replica.decoding.len() as u32;
            if batch > 0 {
                let tokens = dt / config.server.inter_token_latency_s(batch);
                let finish = now + dt;
                replica.decoding.retain_mut(|s| {
                    s.output_left -= tokens;
                    if s.output_left <= 0.0 {
                        replica.kv_tokens -= s.kv_tokens;
                        if s.measured {
                            e2es.push(finish - s.arrival_s);
                        }
                        observation.completed += 1;
                        observation.completed_output_tokens += u64::from(s.output_tokens);
                        false
                    } else {
                        true
                    }
                });
            }
        }
        // Draining replicas leave once empty.
        replicas.retain(|r| !(r.draining && r.outstanding() == 0));
        if measuring {
            replica_seconds += replicas.len() as f64 * dt;
        }
        now += dt;

        if now + 1e-9 >= next_tick {
            next_tick += config.tick_s;
            observation.now_s = now;
            observation.ready = replicas
                .iter()
                .filter(|r| !r.draining && r.ready_at_s <= now)
                .count() as u32;
            observation.starting = replicas
                .iter()
                .filter(|r| !r.draining && r.ready_at_s > now)
                .count() as u32;
            observation.waiting = queue.len() as u32;
            observation.running = replicas.iter().map(Replica::outstanding).sum();
            let serving = replicas.iter().filter(|r| !r.draining && r.ready_at_s <= now);
            let (count, used) = serving.fold((0u32, 0.0), |(n, used), r| {
                (
                    n + 1,
                    used + r.kv_tokens as f64 / config.server.kv_cache_tokens.max(1) as f64,
                )
            });
            observation.kv_cache_use = if count > 0 { used / f64::from(count) } else { 0.0 };
            let (desired, _) = policy.desired(&observation);
            let current = observation.ready + observation.starting;
            if desired != current && measuring {
                actions += 1;
            }
            if desired > current {
                for _ in current..desired {
                    cold_starts += u32::from(measuring);
                    replicas.push(Replica::new(now + config.server.startup_s));
                }
            } else {
                for _ in desired..current {
                    // Cancel a starting replica first, else drain the least busy.
                    let victim = replicas.iter_mut().filter(|r| !r.draining).min_by(|a, b| {
                        (a.ready_at_s <= now)
                            .cmp(&(b.ready_at_s <= now))
                            .then(a.outstanding().cmp(&b.outstanding()))
                    });
                    if let Some(victim) = victim {
                        victim.draining = true;
                    }
                }
                // Draining replicas give their waiting prompts back to the gateway.
                for replica in replicas.iter_mut().filter(|r| r.draining) {
                    while let Some(s) = replica.prefilling.pop_back() {
                        replica.kv_tokens -= s.kv_tokens;
                        queue.push_front(s);
                    }
                }
            }
            observation = Observation::default();
        }
        if config.series_every_s > 0.0 && now + 1e-9 >= next_series {
            let mut window = std::mem::take(&mut series_window.1);
            series.push(SeriesPoint {
                t_s: next_series - warmup,
                arrivals_per_s: f64::from(series_window.0) / config.series_every_s,
                replicas: replicas.len() as u32,
                ttft_p90_s: percentile(&mut window, 0.9),
            });
            series_window.0 = 0;
            next_series += config.series_every_s;
        }
        if now > end_of_trace + 3_600.0 {
            // Nothing can make progress (no replica will ever serve): give up on the rest.
            rejected += queue.iter().filter(|s| s.measured).count();
            break;
        }
    }
    let within = ttfts.iter().filter(|&&t| t <= config.ttft_slo_s).count();
    SimReport {
        policy: policy.name(),
        requests: requests.len(),
        rejected,
        slo_attainment: if requests.is_empty() {
            1.0
        } else {
            within as f64 / requests.len() as f64
        },
        p50_ttft_s: percentile(&mut ttfts, 0.5),
        // Already sorted by the call above: the second sort is a cheap pass.
        p99_ttft_s: percentile(&mut ttfts, 0.99),
        p99_e2e_s: percentile(&mut e2es, 0.99),
        replica_seconds,
        cold_starts,
        scaling_actions: actions,
        series,
    }
}

/// The `q` quantile (0..=1) by nearest rank; 0 for no values.
fn percentile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}
