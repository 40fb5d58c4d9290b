//! Scaling policies for the serving simulator: a fixed fleet, Knative's KPA, and ours.

use super::serving::{Observation, ScalingPolicy};
use crate::autoscale::{Kpa, KpaConfig, KpaInput, LlmAutoscaler, MetricWindow};

/// A fixed number of replicas.
///
/// ```
/// use runai_sched::sim::{Observation, ScalingPolicy, StaticFleet};
/// assert_eq!(StaticFleet(3).desired(&Observation::default()).0, 3);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct StaticFleet(pub u32);

impl ScalingPolicy for StaticFleet {
    fn name(&self) -> String {
        "static".to_owned()
    }

    fn desired(&mut self, _: &Observation) -> (u32, String) {
        (self.0, format!("fixed at {}", self.0))
    }
}

/// Knative's KPA on concurrency (requests running plus waiting), fed once per second.
///
/// ```
/// use runai_sched::autoscale::KpaConfig;
/// use runai_sched::sim::{KpaFleet, Observation, ScalingPolicy};
/// let mut kpa = KpaFleet::new(KpaConfig::default());
/// let busy = Observation { now_s: 2.0, ready: 1, running: 150, ..Default::default() };
/// assert!(kpa.desired(&busy).0 >= 2);
/// ```
#[derive(Debug, Clone)]
pub struct KpaFleet {
    kpa: Kpa,
    window: MetricWindow,
    recorded_until_s: u64,
}

impl KpaFleet {
    /// The KPA with `config`.
    #[must_use]
    pub fn new(config: KpaConfig) -> Self {
        Self {
            kpa: Kpa::new(config),
            window: MetricWindow::new(3_600),
            recorded_until_s: 0,
        }
    }
}

impl ScalingPolicy for KpaFleet {
    fn name(&self) -> String {
        "kpa".to_owned()
    }

    fn desired(&mut self, o: &Observation) -> (u32, String) {
        let now = o.now_s.floor() as u64;
        let concurrency = f64::from(o.running + o.waiting);
        for second in self.recorded_until_s..=now {
            self.window.record(second, concurrency);
        }
        self.recorded_until_s = now + 1;
        let decision = self.kpa.decide(KpaInput {
            now_s: now,
            ready_pods: o.ready,
            metric: &self.window,
        });
        (decision.desired, decision.reason)
    }
}

impl ScalingPolicy for LlmAutoscaler {
    fn name(&self) -> String {
        "runai".to_owned()
    }

    fn desired(&mut self, o: &Observation) -> (u32, String) {
        let decision = self.decide(o);
        (decision.desired, decision.to_string())
    }
}
