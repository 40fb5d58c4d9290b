//! The Knative Pod Autoscaler (KPA), decision for decision: stable and panic windows, panic
//! threshold, scale-up and scale-down rates, activation scale, scale-down delay, target
//! burst capacity, and the reconciler's bounds, initial scale and scale to zero.

use super::window::MetricWindow;

/// KPA settings, with Knative's defaults.
///
/// ```
/// use runai_sched::autoscale::KpaConfig;
/// let c = KpaConfig::default();
/// assert_eq!((c.target, c.total, c.stable_window_s), (70.0, 100.0, 60));
/// assert_eq!(c.panic_window_s(), 6);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct KpaConfig {
    /// Per-pod target of the metric (total x utilisation; Knative: 100 x 70 % = 70).
    pub target: f64,
    /// Per-pod total of the metric, the capacity used for burst accounting.
    pub total: f64,
    /// Stable window in seconds (6 to 3600; default 60).
    pub stable_window_s: u32,
    /// Panic window as a percentage of the stable window (1 to 100; default 10).
    pub panic_window_pct: f64,
    /// Enter panic when desired panic pods reach this percentage of ready pods (default 200).
    pub panic_threshold_pct: f64,
    /// Most growth per decision, as a multiple of ready pods (default 1000).
    pub max_scale_up_rate: f64,
    /// Most shrinking per decision, as a divisor of ready pods (default 2).
    pub max_scale_down_rate: f64,
    /// Spare capacity to keep before the activator leaves the path; -1 keeps it always in
    /// the path, 0 only at zero (default 211).
    pub target_burst_capacity: f64,
    /// The smallest non-zero scale (default 1).
    pub activation_scale: u32,
    /// Keep the highest decision of this many seconds before scaling down (default 0).
    pub scale_down_delay_s: u32,
    /// Fewest pods (default 0).
    pub min_scale: u32,
    /// Most pods; 0 means unlimited (default).
    pub max_scale: u32,
    /// Pods at creation, held until reached (default 1).
    pub initial_scale: u32,
    /// Whether the revision may go to zero (default true).
    pub enable_scale_to_zero: bool,
    /// Seconds without demand before the last pod goes (default 30).
    pub scale_to_zero_grace_s: u32,
    /// Seconds the last pod stays after a scale-to-zero decision (default 0).
    pub scale_to_zero_retention_s: u32,
}

impl Default for KpaConfig {
    fn default() -> Self {
        Self {
            target: 70.0,
            total: 100.0,
            stable_window_s: 60,
            panic_window_pct: 10.0,
            panic_threshold_pct: 200.0,
            max_scale_up_rate: 1000.0,
            max_scale_down_rate: 2.0,
            target_burst_capacity: 211.0,
            activation_scale: 1,
            scale_down_delay_s: 0,
            min_scale: 0,
            max_scale: 0,
            initial_scale: 1,
            enable_scale_to_zero: true,
            scale_to_zero_grace_s: 30,
            scale_to_zero_retention_s: 0,
        }
    }
}

impl KpaConfig {
    /// The panic window in whole seconds, at least 1.
    #[must_use]
    pub fn panic_window_s(&self) -> u32 {
        ((f64::from(self.stable_window_s) * self.panic_window_pct / 100.0).round() as u32).max(1)
    }
}

/// What a KPA decision sees.
///
/// ```
/// use runai_sched::autoscale::{KpaInput, MetricWindow};
/// let window = MetricWindow::new(60);
/// let input = KpaInput { now_s: 10, ready_pods: 1, metric: &window };
/// assert_eq!(input.ready_pods, 1);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct KpaInput<'a> {
    /// The current second.
    pub now_s: u64,
    /// Ready pods.
    pub ready_pods: u32,
    /// The revision's metric (total over pods), one bucket per second.
    pub metric: &'a MetricWindow,
}

/// One decision and why.
///
/// ```
/// use runai_sched::autoscale::Decision;
/// let d = Decision { desired: 3, panic: false, excess_burst_capacity: 0.0, activator_in_path: false, reason: "stable".into() };
/// assert_eq!(d.desired, 3);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Pods wanted.
    pub desired: u32,
    /// Whether the autoscaler is in panic mode.
    pub panic: bool,
    /// Spare capacity beyond the burst target; negative puts the activator in the path.
    pub excess_burst_capacity: f64,
    /// Whether requests should go through the activator (buffering) rather than straight to
    /// the pods.
    pub activator_in_path: bool,
    /// A sentence with the numbers that decided.
    pub reason: String,
}

/// The KPA for one revision: the decision state between ticks.
///
/// ```
/// use runai_sched::autoscale::{Kpa, KpaConfig, KpaInput, MetricWindow};
/// let mut kpa = Kpa::new(KpaConfig { target: 10.0, ..KpaConfig::default() });
/// let mut window = MetricWindow::new(60);
/// for second in 0..60 {
///     window.record(second, 50.0); // 50 requests in flight across the revision
/// }
/// kpa.decide(KpaInput { now_s: 0, ready_pods: 1, metric: &MetricWindow::new(1) });
/// let decision = kpa.decide(KpaInput { now_s: 59, ready_pods: 5, metric: &window });
/// assert_eq!(decision.desired, 5);
/// assert!(!decision.panic);
/// ```
#[derive(Debug, Clone)]
pub struct Kpa {
    config: KpaConfig,
    panic_since: Option<u64>,
    max_panic_pods: u32,
    /// Decisions per second, for the scale-down delay's sliding maximum.
    history: MetricWindow,
    started_s: Option<u64>,
    last_demand_s: Option<u64>,
    initial_scale_reached: bool,
}

impl Kpa {
    /// A KPA with `config`.
    #[must_use]
    pub fn new(config: KpaConfig) -> Self {
        let history = MetricWindow::new(config.scale_down_delay_s.max(1) + 1);
        Self {
            config,
            panic_since: None,
            max_panic_pods: 0,
            history,
            started_s: None,
            last_demand_s: None,
            initial_scale_reached: false,
        }
    }

    /// The settings.
    #[must_use]
    pub fn config(&self) -> &KpaConfig {
        &self.config
    }

    /// One decision at `input.now_s`.
    pub fn decide(&mut self, input: KpaInput<'_>) -> Decision {
        let c = &self.config;
        let now = input.now_s;
        let started = *self.started_s.get_or_insert(now);
        if started == now && input.ready_pods > 1 {
            // A fresh autoscaler has no history: hold the current scale until it has.
            self.panic_since = Some(now);
            self.max_panic_pods = input.ready_pods;
        }
        let ready = f64::from(input.ready_pods.max(1));
        let stable = input.metric.average(now, c.stable_window_s);
        let panic_value = input.metric.average(now, c.panic_window_s());
        let max_up = (c.max_scale_up_rate * ready).ceil();
        let max_down = if input.ready_pods > 0 {
            (ready / c.max_scale_down_rate).floor()
        } else {
            0.0
        };
        let target = c.target.max(0.01);
        let stable_pods_wanted = (stable / target).ceil();
        let panic_pods_wanted = (panic_value / target).ceil();
        let activation = f64::from(c.activation_scale);
        let mut stable_pods = stable_pods_wanted.clamp(max_down, max_up.max(max_down));
        let mut panic_pods = panic_pods_wanted.clamp(max_down, max_up.max(max_down));
        if c.activation_scale > 1 {
            if stable_pods_wanted > 0.0 {
                stable_pods = stable_pods.max(activation);
            }
            if panic_pods_wanted > 0.0 {
                panic_pods = panic_pods.max(activation);
            }
        }
        let over_panic = panic_pods_wanted / ready >= c.panic_threshold_pct / 100.0;
        if over_panic {
            self.panic_since = Some(now);
        } else if self
            .panic_since
            .is_some_and(|since| since + u64::from(c.stable_window_s) < now)
        {
            self.panic_since = None;
            self.max_panic_pods = 0;
        }
        let mut want = stable_pods as u32;
        let in_panic = self.panic_since.is_some();
        let mut reason = if in_panic {
            let panic_want = panic_pods as u32;
            want = want.max(panic_want);
            // Never scale down while panicking.
            self.max_panic_pods = self.max_panic_pods.max(want);
            want = self.max_panic_pods;
            format!(
                "panic: {}s value {panic_value:.1} / target {target} = {panic_pods_wanted} pods >= {}x ready {}; holding {want}",
                c.panic_window_s(),
                c.panic_threshold_pct / 100.0,
                input.ready_pods
            )
        } else {
            format!(
                "stable: {}s value {stable:.1} / target {target} = {stable_pods_wanted} pods",
                c.stable_window_s
            )
        };
        if c.scale_down_delay_s > 0 {
            self.history.record(now, f64::from(want));
            let delayed = self.history.max(now, c.scale_down_delay_s) as u32;
            if delayed > want {
                reason.push_str(&format!("; scale-down delay keeps {delayed}"));
                want = delayed;
            }
        }
        let excess_burst_capacity = if c.target_burst_capacity == 0.0 {
            0.0
        } else if c.target_burst_capacity > 0.0 {
            (f64::from(input.ready_pods) * c.total - c.target_burst_capacity - panic_value).floor()
        } else {
            -1.0
        };
        let desired = self.apply_bounds(want, input, stable > 0.0 || panic_value > 0.0, &mut reason);
        Decision {
            desired,
            panic: in_panic,
            excess_burst_capacity,
            activator_in_path: desired == 0 || excess_burst_capacity < 0.0,
            reason,
        }
    }

    /// The reconciler's part: bounds, initial scale, and scale to zero only after the grace
    /// period and the retention period without demand.
    fn apply_bounds(&mut self, want: u32, input: KpaInput<'_>, demand: bool, reason: &mut String) -> u32 {
        let c = &self.config;
        let now = input.now_s;
        if demand {
            self.last_demand_s = Some(now);
        }
        if input.ready_pods >= c.initial_scale {
            self.initial_scale_reached = true;
        }
        let mut min = c.min_scale;
        if !self.initial_scale_reached {
            min = min.max(c.initial_scale);
        }
        let max = if c.max_scale == 0 { u32::MAX } else { c.max_scale };
        let mut desired = want.clamp(min.min(max), max);
        if desired != want {
            reason.push_str(&format!(
                "; bounds {min}..{} give {desired}",
                if c.max_scale == 0 {
                    "unlimited".to_owned()
                } else {
                    max.to_string()
                }
            ));
        }
        if desired == 0 && input.ready_pods > 0 {
            let idle_since = self.last_demand_s.or(self.started_s).unwrap_or(now);
            let idle = now.saturating_sub(idle_since);
            let needed = u64::from(c.scale_to_zero_grace_s.max(c.scale_to_zero_retention_s));
            let active_long_enough =
                now.saturating_sub(self.started_s.unwrap_or(now)) >= u64::from(c.stable_window_s);
            if !c.enable_scale_to_zero || !active_long_enough || idle < needed {
                desired = 1;
                reason.push_str(&format!(
                    "; idle {idle}s of {needed}s before scaling to zero, keeping 1"
                ));
            } else {
                reason.push_str(&format!("; idle {idle}s: scale to zero"));
            }
        }
        desired
    }
}
