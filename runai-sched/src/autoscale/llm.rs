//! An autoscaler built for LLM serving: it sizes the fleet from the request rate and the
//! tokens each request brings against what one replica sustains within a time-to-first-token
//! objective. It knows a new replica helps only after its start-up time: it keeps capacity
//! for the bursts seen lately (they are over before a replica started for them would
//! serve), adds replicas under queueing only for a backlog that outlasts a start-up, can
//! extrapolate a rising rate over a horizon, and scales down only after a hold period.

use std::collections::VecDeque;

/// What the gateway and the model servers report at one tick.
///
/// ```
/// use runai_sched::autoscale::LlmSignals;
/// let s = LlmSignals { arrivals: 10, arrival_prompt_tokens: 12_000, ..Default::default() };
/// assert_eq!(s.arrivals, 10);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LlmSignals {
    /// Seconds since some fixed start.
    pub now_s: f64,
    /// Replicas serving.
    pub ready: u32,
    /// Replicas starting.
    pub starting: u32,
    /// Requests waiting at the gateway.
    pub waiting: u32,
    /// Requests on replicas (prefilling or decoding).
    pub running: u32,
    /// Mean share of the KV cache in use on the serving replicas (0 to 1), as vLLM's
    /// `gpu_cache_usage_perc` reports it.
    pub kv_cache_use: f64,
    /// Requests that arrived since the previous tick.
    pub arrivals: u32,
    /// Prompt tokens of those requests.
    pub arrival_prompt_tokens: u64,
    /// Requests completed since the previous tick.
    pub completed: u32,
    /// Output tokens of those completed requests.
    pub completed_output_tokens: u64,
    /// Time to first token of requests that got their first token since the previous tick.
    pub ttfts_s: Vec<f64>,
}

/// A decision of [`LlmAutoscaler`]: the replicas wanted and the numbers behind them. Its
/// `Display` is the sentence a person reads; it is formatted only when asked for, so a
/// decision costs no allocation.
///
/// ```
/// use runai_sched::autoscale::{LlmAutoscaler, LlmPolicyConfig, LlmSignals};
/// let mut scaler = LlmAutoscaler::new(LlmPolicyConfig { min_replicas: 0, ..Default::default() });
/// let decision = scaler.decide(&LlmSignals { now_s: 600.0, ..Default::default() });
/// assert_eq!(decision.desired, 0);
/// assert!(decision.to_string().ends_with("idle: scale to zero"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LlmDecision {
    /// Replicas wanted.
    pub desired: u32,
    /// Requests per second planned for (trend and headroom included).
    pub planned_rate: f64,
    /// Mean prompt tokens per request.
    pub prompt_tokens: f64,
    /// Mean output tokens per request.
    pub output_tokens: f64,
    /// Replicas the prefill work needs.
    pub for_prefill: f64,
    /// Replicas the decode work needs.
    pub for_decode: f64,
    /// Replicas that keep KV-cache use at the target.
    pub for_kv_cache: f64,
    /// Set when queueing or a slipping TTFT added capacity beyond the plan.
    pub pressure: Option<Pressure>,
    /// Set when a higher decision of the hold period (this many seconds) kept replicas.
    pub held_for_s: Option<f64>,
    /// Whether the workload was idle long enough to scale to zero.
    pub scale_to_zero: bool,
}

/// Why [`LlmAutoscaler`] added capacity beyond its plan.
///
/// ```
/// use runai_sched::autoscale::Pressure;
/// let p = Pressure { waiting: 12, p90_ttft_s: 1.4, replicas: 4 };
/// assert_eq!(p.replicas, 4);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pressure {
    /// Requests waiting at the gateway.
    pub waiting: u32,
    /// The 90th percentile TTFT over the last 10 s.
    pub p90_ttft_s: f64,
    /// Replicas the pressure asked for.
    pub replicas: u32,
}

impl std::fmt::Display for LlmDecision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.2} req/s planned ({:.0} prompt, {:.0} output tokens): prefill {:.2}, decode {:.2}, KV cache {:.2} replicas",
            self.planned_rate,
            self.prompt_tokens,
            self.output_tokens,
            self.for_prefill,
            self.for_decode,
            self.for_kv_cache
        )?;
        if let Some(p) = self.pressure {
            write!(
                f,
                "; pressure ({} waiting, p90 TTFT {:.2}s) -> {}",
                p.waiting, p.p90_ttft_s, p.replicas
            )?;
        }
        if let Some(hold) = self.held_for_s {
            write!(f, "; holding {} for {hold}s", self.desired)?;
        }
        if self.scale_to_zero {
            f.write_str("; idle: scale to zero")?;
        }
        Ok(())
    }
}

/// Settings of [`LlmAutoscaler`].
///
/// ```
/// use runai_sched::autoscale::LlmPolicyConfig;
/// let c = LlmPolicyConfig::default();
/// assert_eq!(c.ttft_slo_s, 2.0);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LlmPolicyConfig {
    /// The time-to-first-token objective.
    pub ttft_slo_s: f64,
    /// Seconds a new replica needs before it serves.
    pub startup_s: f64,
    /// Prompt tokens per second one replica prefills.
    pub prefill_tokens_per_s: f64,
    /// Running sequences per replica to aim for (below the server's maximum, so decode
    /// stays fast and bursts have room).
    pub target_running: f64,
    /// Seconds per output token at `target_running` sequences.
    pub itl_at_target_s: f64,
    /// Share of the KV cache to keep in use on the serving replicas.
    pub kv_cache_target: f64,
    /// Share of a replica's prefill capacity to plan for (queueing grows fast near 1).
    pub prefill_utilisation: f64,
    /// Multiplier on the planned rate for burstiness.
    pub headroom: f64,
    /// Seconds over which the busiest 10 s of prompt tokens is remembered: bursts shorter
    /// than a start-up time cannot be met by scaling when they come, so capacity for the
    /// bursts seen lately is kept while traffic lasts.
    pub burst_memory_s: f64,
    /// Seconds ahead to extrapolate a rising request rate (0 = off). A rise of a fifth or
    /// more within half a minute is carried forward this far, so replicas started for a
    /// ramp serve when the ramp gets there; the start-up time is the natural choice for
    /// traffic with sustained ramps. Off by default: on the Azure conversation and code
    /// traces it added replica-seconds without raising SLO attainment
    /// (`docs/autoscaling.md`).
    pub trend_horizon_s: f64,
    /// Seconds a lower decision must hold before replicas go.
    pub scale_down_hold_s: f64,
    /// Seconds without requests before scaling to zero (when `min_replicas` is 0).
    pub scale_to_zero_after_s: f64,
    /// Fewest replicas.
    pub min_replicas: u32,
    /// Most replicas.
    pub max_replicas: u32,
}

impl Default for LlmPolicyConfig {
    fn default() -> Self {
        Self {
            ttft_slo_s: 2.0,
            startup_s: 60.0,
            prefill_tokens_per_s: 20_000.0,
            target_running: 64.0,
            itl_at_target_s: 0.0102,
            kv_cache_target: 0.8,
            prefill_utilisation: 0.9,
            headroom: 1.1,
            burst_memory_s: 300.0,
            trend_horizon_s: 0.0,
            scale_down_hold_s: 120.0,
            scale_to_zero_after_s: 120.0,
            min_replicas: 1,
            max_replicas: 64,
        }
    }
}

/// The LLM-aware autoscaler.
///
/// ```
/// use runai_sched::autoscale::{LlmAutoscaler, LlmPolicyConfig, LlmSignals};
/// let mut scaler = LlmAutoscaler::new(LlmPolicyConfig::default());
/// // 40 requests of 1,500 prompt tokens per 2 s tick: 30,000 prompt tokens/s to prefill.
/// let mut decision = None;
/// for tick in 0..20 {
///     let signals = LlmSignals { now_s: f64::from(tick) * 2.0, ready: 2, arrivals: 40,
///         arrival_prompt_tokens: 60_000, ..Default::default() };
///     decision = Some(scaler.decide(&signals));
/// }
/// let decision = decision.unwrap();
/// // 30,000 x 1.1 / (20,000 x 0.9) = 1.83 -> 2 replicas.
/// assert_eq!(decision.desired, 2, "{decision}");
/// assert!(decision.to_string().starts_with("22.00 req/s planned"));
/// ```
#[derive(Debug, Clone)]
pub struct LlmAutoscaler {
    config: LlmPolicyConfig,
    /// (time, arrivals, prompt tokens) per tick over the last minute.
    ticks: VecDeque<(f64, u32, u64)>,
    /// (time, prompt tokens per second over 10 s) over the burst memory.
    peaks: VecDeque<(f64, f64)>,
    /// (time, wanted) over the hold period.
    wanted: VecDeque<(f64, u32)>,
    mean_output_tokens: f64,
    last_arrival_s: Option<f64>,
    /// When the first tick came: a trend needs a full minute of history behind it.
    first_tick_s: Option<f64>,
    /// The previous tick, and the seconds between ticks (2 s until two ticks were seen).
    last_tick_s: Option<f64>,
    tick_s: f64,
    recent_ttfts: VecDeque<(f64, f64)>,
    /// Reused for the TTFT percentile, so a decision does not allocate.
    scratch: Vec<f64>,
}

impl LlmAutoscaler {
    /// An autoscaler with `config`.
    #[must_use]
    pub fn new(config: LlmPolicyConfig) -> Self {
        Self {
            config,
            ticks: VecDeque::new(),
            peaks: VecDeque::new(),
            wanted: VecDeque::new(),
            mean_output_tokens: 200.0,
            last_arrival_s: None,
            first_tick_s: None,
            last_tick_s: None,
            tick_s: 2.0,
            recent_ttfts: VecDeque::new(),
            scratch: Vec::new(),
        }
    }

    /// Arrivals per second and prompt tokens per second over the `seconds` before `now`.
    fn rate(&self, now: f64, seconds: f64) -> (f64, f64) {
        let (arrivals, tokens) = self
            .ticks
            .iter()
            .filter(|(t, _, _)| *t > now - seconds)
            .fold((0u64, 0u64), |(a, p), (_, n, tokens)| {
                (a + u64::from(*n), p + tokens)
            });
        // A young autoscaler has seen less than `seconds`: average over what it has seen, or
        // the first ticks would read a fraction of the real rate and scale up too late.
        let observed = self
            .first_tick_s
            .map_or(self.tick_s, |first| now - first + self.tick_s);
        let span = seconds.min(observed).max(self.tick_s.min(seconds));
        (arrivals as f64 / span, tokens as f64 / span)
    }

    /// Replicas wanted, and why.
    pub fn decide(&mut self, s: &LlmSignals) -> LlmDecision {
        let c = &self.config;
        let now = s.now_s;
        self.first_tick_s.get_or_insert(now);
        if let Some(previous) = self.last_tick_s.replace(now)
            && now > previous
        {
            self.tick_s = now - previous;
        }
        self.ticks.push_back((now, s.arrivals, s.arrival_prompt_tokens));
        while self.ticks.front().is_some_and(|(t, _, _)| *t <= now - 60.0) {
            self.ticks.pop_front();
        }
        if s.arrivals > 0 {
            self.last_arrival_s = Some(now);
        }
        if s.completed > 0 {
            let observed = s.completed_output_tokens as f64 / f64::from(s.completed);
            self.mean_output_tokens = 0.9 * self.mean_output_tokens + 0.1 * observed;
        }
        for &ttft in &s.ttfts_s {
            self.recent_ttfts.push_back((now, ttft));
        }
        while self.recent_ttfts.front().is_some_and(|(t, _)| *t <= now - 10.0) {
            self.recent_ttfts.pop_front();
        }

        // Demand: the higher of the short and the longer view, plus the trend over the
        // horizon (when set), so new replicas are ready when the load they are for arrives.
        let (rate_fast, tokens_fast) = self.rate(now, 4.0);
        let (rate_slow, tokens_slow) = self.rate(now, 30.0);
        let arrivals_before: u64 = self
            .ticks
            .iter()
            .filter(|(t, _, _)| *t <= now - 30.0)
            .map(|(_, n, _)| u64::from(*n))
            .sum();
        let rate_before = arrivals_before as f64 / 30.0;
        // A rise counts as a trend only when it is large (a fifth or more over half a minute);
        // noise extrapolated over the horizon would otherwise start replicas for nothing.
        let rise = rate_slow - rate_before;
        let full_history = self.first_tick_s.is_some_and(|first| first <= now - 60.0);
        let trend =
            if c.trend_horizon_s > 0.0 && full_history && rate_before > 0.0 && rise > 0.2 * rate_before {
                (rise / 30.0).min(rate_slow / c.trend_horizon_s)
            } else {
                0.0
            };
        let prompt_per_request = if rate_slow > 0.0 {
            tokens_slow / rate_slow
        } else if rate_fast > 0.0 {
            tokens_fast / rate_fast
        } else {
            0.0
        };
        // Short spikes are not planned for: a replica started now serves only after the
        // start-up time, when a spike shorter than that is over. The backlog rule below
        // handles spikes that outlast it.
        let rate = (rate_slow + trend * c.trend_horizon_s).max(rate_fast * 0.5) * c.headroom;
        let service_s =
            prompt_per_request / c.prefill_tokens_per_s + self.mean_output_tokens * c.itl_at_target_s;
        let for_decode = rate * service_s / c.target_running;
        let (_, burst_tokens) = self.rate(now, 10.0);
        self.peaks.push_back((now, burst_tokens));
        while self
            .peaks
            .front()
            .is_some_and(|(t, _)| *t <= now - c.burst_memory_s)
        {
            self.peaks.pop_front();
        }
        let peak_tokens = if rate_slow > 0.0 {
            self.peaks.iter().map(|(_, p)| *p).fold(0.0, f64::max)
        } else {
            0.0
        };
        // Bursts may queue up to the objective: the prompt tokens of the busiest 10 s need
        // prefilling within 10 s plus the objective, at full use.
        let for_bursts = peak_tokens * 10.0 / (c.prefill_tokens_per_s * (10.0 + c.ttft_slo_s));
        let for_prefill =
            (rate * prompt_per_request / (c.prefill_tokens_per_s * c.prefill_utilisation)).max(for_bursts);
        // Memory: sequences hold their KV cache for seconds; a fleet whose caches run full
        // queues new requests however fast it prefills.
        let for_kv_cache =
            s.kv_cache_use.clamp(0.0, 1.0) * f64::from(s.ready) / c.kv_cache_target.clamp(0.05, 1.0);
        let mut want = for_decode.max(for_prefill).max(for_kv_cache).ceil() as u32;
        let mut decision = LlmDecision {
            desired: 0,
            planned_rate: rate,
            prompt_tokens: prompt_per_request,
            output_tokens: self.mean_output_tokens,
            for_prefill,
            for_decode,
            for_kv_cache,
            pressure: None,
            held_for_s: None,
            scale_to_zero: false,
        };

        // Pressure: queueing or a slipping TTFT means the plan is behind; add capacity now.
        let current = s.ready + s.starting;
        self.scratch.clear();
        self.scratch.extend(self.recent_ttfts.iter().map(|(_, t)| *t));
        let p90 = if self.scratch.is_empty() {
            0.0
        } else {
            let rank = (self.scratch.len() * 9 / 10).min(self.scratch.len() - 1);
            *self.scratch.select_nth_unstable_by(rank, f64::total_cmp).1
        };
        // What the serving replicas sustain, in requests per second.
        let per_replica = if prompt_per_request > 0.0 {
            (c.prefill_tokens_per_s * 0.9 / prompt_per_request).min(c.target_running / service_s.max(1e-3))
        } else {
            c.target_running / service_s.max(1e-3)
        };
        let capacity = f64::from(s.ready) * per_replica;
        // A backlog the ready replicas clear within the start-up time needs no new replica.
        let drain_s = if capacity > rate_fast {
            f64::from(s.waiting) / (capacity - rate_fast)
        } else {
            f64::INFINITY
        };
        if s.ready > 0 && (s.waiting > 0 || p90 > 0.5 * c.ttft_slo_s) && drain_s > c.startup_s {
            // Replicas already starting are capacity on the way: add only what they will not
            // cover, so a backlog that lasts a start-up time does not add a replica per tick.
            let short = ((rate_fast - capacity) / per_replica.max(1e-3)).ceil().max(1.0) as u32;
            let pressed = current + short.saturating_sub(s.starting);
            if pressed > want {
                want = pressed;
                decision.pressure = Some(Pressure {
                    waiting: s.waiting,
                    p90_ttft_s: p90,
                    replicas: want,
                });
            }
        }
        // Requests waiting with nothing to serve them: wake up.
        if want == 0 && (s.waiting > 0 || s.running > 0 || rate > 0.0) {
            want = 1;
        }
        let idle = self
            .last_arrival_s
            .is_none_or(|t| now - t >= c.scale_to_zero_after_s);
        if c.min_replicas == 0 && idle && s.waiting == 0 && s.running == 0 {
            want = 0;
            decision.scale_to_zero = true;
        }

        // Never flap: keep the highest decision of the hold period.
        self.wanted.push_back((now, want));
        while self
            .wanted
            .front()
            .is_some_and(|(t, _)| *t <= now - c.scale_down_hold_s)
        {
            self.wanted.pop_front();
        }
        let held = self.wanted.iter().map(|(_, w)| *w).max().unwrap_or(want);
        // Only an idle workload goes to zero; a quiet tick within the hold period does not.
        let desired = if decision.scale_to_zero { 0 } else { held };
        if desired > want {
            decision.held_for_s = Some(c.scale_down_hold_s);
        }
        decision.desired = desired.clamp(c.min_replicas, c.max_replicas.max(c.min_replicas));
        decision
    }
}
