//! Priority class values and how they decide preemptibility.
//!
//! The Kubernetes priority values of the Run:ai priority dictionary are confirmed from the
//! NVIDIA Run:ai documentation, "Workload Priority and Preemption"
//! (<https://run-ai-docs.nvidia.com/saas/platform-management/runai-scheduler/scheduling/workload-priority-control>):
//!
//! | class | value |
//! | --- | --- |
//! | `very-low` | 25 |
//! | `low` | 40 |
//! | `medium-low` | 65 |
//! | `medium` | 80 |
//! | `medium-high` | 90 |
//! | `high` | 125 |
//! | `very-high` | 150 |
//!
//! The default preemptibility of each class follows KAI-Scheduler's rule, a priority of 100 or
//! more is non-preemptible: `very-low` to `medium-high` are preemptible, `high` and
//! `very-high` are not. The Run:ai 2.23 version of that page
//! (<https://run-ai-docs.nvidia.com/self-hosted/2.23/platform-management/runai-scheduler/scheduling/workload-priority-control>)
//! lists `very-low` to `medium` as preemptible, in agreement; the defaults for `medium-high`,
//! `high` and `very-high` come from the rule alone. Inference workloads default to
//! `very-high` and non-preemptible ("Deploy Distributed Inference Workloads",
//! <https://docs.nvidia.com/run-ai/self-hosted/documentation/workloads-in-nvidia-run-ai/using-inference/distributed-inference>).

use crate::spec::{Preemptibility, PriorityClass};

/// The lowest priority value that is non-preemptible by default (KAI-Scheduler's rule).
pub const NON_PREEMPTIBLE_PRIORITY: i32 = 100;

/// The priority class Run:ai gives an inference workload that names none.
pub const INFERENCE_PRIORITY_CLASS: PriorityClass = PriorityClass::VeryHigh;

/// The preemptibility Run:ai gives an inference workload that sets none.
pub const INFERENCE_PREEMPTIBILITY: Preemptibility = Preemptibility::NonPreemptible;

impl PriorityClass {
    /// The Kubernetes priority value of a class of the Run:ai priority dictionary; `None` for a
    /// class this crate does not know (look it up in the cluster's PriorityClass objects).
    ///
    /// All seven values (25, 40, 65, 80, 90, 125, 150) are confirmed from the Run:ai page
    /// "Workload Priority and Preemption"
    /// (<https://run-ai-docs.nvidia.com/saas/platform-management/runai-scheduler/scheduling/workload-priority-control>).
    ///
    /// ```
    /// use runai_core::spec::PriorityClass;
    /// assert_eq!(PriorityClass::VeryHigh.value(), Some(150));
    /// assert_eq!(PriorityClass::MediumLow.value(), Some(65));
    /// assert_eq!(PriorityClass::from("train").value(), None);
    /// ```
    #[must_use]
    pub fn value(&self) -> Option<i32> {
        match self {
            Self::VeryLow => Some(25),
            Self::Low => Some(40),
            Self::MediumLow => Some(65),
            Self::Medium => Some(80),
            Self::MediumHigh => Some(90),
            Self::High => Some(125),
            Self::VeryHigh => Some(150),
            Self::Unknown(_) => None,
        }
    }

    /// The preemptibility a workload of this class gets when it sets none; `None` for a class
    /// this crate does not know.
    ///
    /// Derived with KAI-Scheduler's rule ([`preemptibility_for_priority`]):
    /// `high` and `very-high` are non-preemptible, the others preemptible. Run:ai's 2.23 docs
    /// confirm `very-low` to `medium` as preemptible; the other three follow from the rule.
    ///
    /// ```
    /// use runai_core::spec::{Preemptibility, PriorityClass};
    /// assert_eq!(PriorityClass::High.default_preemptibility(), Some(Preemptibility::NonPreemptible));
    /// assert_eq!(PriorityClass::MediumHigh.default_preemptibility(), Some(Preemptibility::Preemptible));
    /// ```
    #[must_use]
    pub fn default_preemptibility(&self) -> Option<Preemptibility> {
        self.value().map(preemptibility_for_priority)
    }
}

/// KAI-Scheduler's rule for a bare priority value: 100 or more is non-preemptible.
///
/// ```
/// use runai_core::cluster::preemptibility_for_priority;
/// use runai_core::spec::Preemptibility;
/// assert_eq!(preemptibility_for_priority(100), Preemptibility::NonPreemptible);
/// assert_eq!(preemptibility_for_priority(50), Preemptibility::Preemptible);
/// ```
#[must_use]
pub fn preemptibility_for_priority(value: i32) -> Preemptibility {
    if value >= NON_PREEMPTIBLE_PRIORITY {
        Preemptibility::NonPreemptible
    } else {
        Preemptibility::Preemptible
    }
}

/// The preemptibility a workload runs with.
///
/// An explicit preemptibility wins. Otherwise it derives from the priority class, and a
/// workload without a class gets the inference default ([`INFERENCE_PRIORITY_CLASS`], so
/// non-preemptible). `None` only for a class this crate does not know and no explicit value:
/// then look the class's value up in the cluster and use [`preemptibility_for_priority`].
///
/// ```
/// use runai_core::cluster::effective_preemptibility;
/// use runai_core::spec::{Preemptibility, PriorityClass};
/// assert_eq!(effective_preemptibility(None, None), Some(Preemptibility::NonPreemptible));
/// assert_eq!(effective_preemptibility(None, Some(&PriorityClass::Low)), Some(Preemptibility::Preemptible));
/// assert_eq!(
///     effective_preemptibility(Some(Preemptibility::Preemptible), Some(&PriorityClass::VeryHigh)),
///     Some(Preemptibility::Preemptible),
/// );
/// ```
#[must_use]
pub fn effective_preemptibility(
    explicit: Option<Preemptibility>,
    class: Option<&PriorityClass>,
) -> Option<Preemptibility> {
    match (explicit, class) {
        (Some(explicit), _) => Some(explicit),
        (None, Some(class)) => class.default_preemptibility(),
        (None, None) => INFERENCE_PRIORITY_CLASS.default_preemptibility(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [PriorityClass; 7] = [
        PriorityClass::VeryLow,
        PriorityClass::Low,
        PriorityClass::MediumLow,
        PriorityClass::Medium,
        PriorityClass::MediumHigh,
        PriorityClass::High,
        PriorityClass::VeryHigh,
    ];

    #[test]
    fn values_rise_with_the_class() {
        let values: Vec<_> = ALL.iter().map(|c| c.value().unwrap_or_default()).collect();
        assert_eq!(values, [25, 40, 65, 80, 90, 125, 150]);
    }

    #[test]
    fn only_high_and_very_high_are_non_preemptible_by_default() {
        let non_preemptible: Vec<_> = ALL
            .iter()
            .filter(|c| c.default_preemptibility() == Some(Preemptibility::NonPreemptible))
            .map(PriorityClass::as_str)
            .collect();
        assert_eq!(non_preemptible, ["high", "very-high"]);
    }

    #[test]
    fn explicit_wins_then_class_then_inference_default() {
        let np = || Some(Preemptibility::NonPreemptible);
        let p = || Some(Preemptibility::Preemptible);
        assert_eq!(
            effective_preemptibility(np(), Some(&PriorityClass::VeryLow)),
            np()
        );
        assert_eq!(effective_preemptibility(p(), None), p());
        assert_eq!(effective_preemptibility(None, Some(&PriorityClass::Medium)), p());
        assert_eq!(effective_preemptibility(None, Some(&PriorityClass::High)), np());
        assert_eq!(effective_preemptibility(None, None), np());
        assert_eq!(
            effective_preemptibility(None, Some(&PriorityClass::from("custom"))),
            None
        );
        assert_eq!(
            effective_preemptibility(np(), Some(&PriorityClass::from("custom"))),
            np()
        );
    }

    #[test]
    fn inference_defaults() {
        assert_eq!(INFERENCE_PRIORITY_CLASS.as_str(), "very-high");
        assert_eq!(
            INFERENCE_PRIORITY_CLASS.default_preemptibility(),
            Some(INFERENCE_PREEMPTIBILITY)
        );
    }
}
