//! How the control loop paces itself: the pass interval, the rollout deadline, Knative's
//! autoscaling timing, and canary steps for rolling updates.

use std::time::Duration;

/// How the loop paces itself.
///
/// ```
/// let settings = runai_serve::control::LoopSettings::default();
/// assert_eq!(settings.rollout_deadline.as_secs(), 600);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LoopSettings {
    /// Time between passes when nothing changes.
    pub interval: Duration,
    /// How long a new revision may take to become ready before the update is abandoned.
    pub rollout_deadline: Duration,
    /// Knative's stable window and scale-to-zero grace period in seconds, when not the
    /// defaults (60 and 30): shorter ones scale to zero sooner.
    pub kpa_timing: Option<(u32, u32)>,
    /// How traffic moves to a new revision once it is ready: empty (the default) moves all
    /// of it at once, as Run:ai does; otherwise the new revision takes each step's share of
    /// the traffic for the step's time before the old revision stops.
    pub canary: Vec<CanaryStep>,
}

/// One step of a canary rollout: the new revision's share of the traffic, and how long it
/// holds before the next step.
///
/// ```
/// use std::time::Duration;
/// use runai_serve::control::CanaryStep;
/// let step = CanaryStep::new(10, Duration::from_secs(30));
/// assert_eq!(step.weight, 10);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CanaryStep {
    /// Percent of the traffic the new revision takes (1 to 99).
    pub weight: u32,
    /// How long the step lasts.
    pub hold: Duration,
}

impl CanaryStep {
    /// A step giving the new revision `weight` percent of the traffic for `hold`.
    #[must_use]
    pub fn new(weight: u32, hold: Duration) -> Self {
        Self {
            weight: weight.clamp(1, 99),
            hold,
        }
    }
}

impl Default for LoopSettings {
    /// A pass every 2 s; Run:ai's 10-minute rollout deadline.
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(2),
            rollout_deadline: Duration::from_secs(600),
            kpa_timing: None,
            canary: Vec::new(),
        }
    }
}

impl LoopSettings {
    /// Sets the time between passes.
    ///
    /// ```
    /// let settings = runai_serve::control::LoopSettings::default().interval(std::time::Duration::from_millis(500));
    /// assert_eq!(settings.interval.as_millis(), 500);
    /// ```
    #[must_use]
    pub fn interval(mut self, interval: std::time::Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Sets the rollout deadline.
    ///
    /// ```
    /// let settings = runai_serve::control::LoopSettings::default().rollout_deadline(std::time::Duration::from_secs(1800));
    /// assert_eq!(settings.rollout_deadline.as_secs(), 1800);
    /// ```
    #[must_use]
    pub fn rollout_deadline(mut self, deadline: std::time::Duration) -> Self {
        self.rollout_deadline = deadline;
        self
    }

    /// Sets Knative's stable window (6 to 3600 s) and the grace period before the last
    /// replica of an idle workload goes.
    ///
    /// ```
    /// let settings = runai_serve::control::LoopSettings::default().kpa_timing(6, 2);
    /// assert_eq!(settings.kpa_timing, Some((6, 2)));
    /// ```
    #[must_use]
    pub fn kpa_timing(mut self, stable_window_s: u32, scale_to_zero_grace_s: u32) -> Self {
        self.kpa_timing = Some((stable_window_s, scale_to_zero_grace_s));
        self
    }

    /// Moves traffic to a ready new revision in canary steps instead of all at once.
    ///
    /// ```
    /// use std::time::Duration;
    /// use runai_serve::control::{CanaryStep, LoopSettings};
    /// let settings = LoopSettings::default().canary([CanaryStep::new(10, Duration::from_secs(60)), CanaryStep::new(50, Duration::from_secs(60))]);
    /// assert_eq!(settings.canary.len(), 2);
    /// ```
    #[must_use]
    pub fn canary(mut self, steps: impl IntoIterator<Item = CanaryStep>) -> Self {
        self.canary = steps.into_iter().collect();
        self
    }
}
