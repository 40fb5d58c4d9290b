//! The rules of a `coordination.k8s.io/v1` Lease, as pure functions of the lease's spec,
//! this process's identity and the time: whether it may take the lease, and what to write
//! when it takes, renews or gives it up. [`LeaderElector`](super::LeaderElector) does the
//! reading and writing.
//!
//! The rules follow client-go's leader election: a lease is free when nobody holds it or
//! when `renewTime + leaseDurationSeconds` has passed; `leaseTransitions` counts changes of
//! holder. Expiry is judged against this machine's clock, so the clocks of the candidates
//! must agree to well within the lease duration (as they do on a cluster's nodes).

use k8s_openapi::api::coordination::v1::LeaseSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

/// What a candidate should do about a lease, at a given time.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LeaseDecision {
    /// The candidate holds it: write a new `renewTime`.
    Renew,
    /// Nobody holds it, or the holder let it expire: take it.
    Acquire,
    /// Someone else holds it and it has not expired.
    Wait {
        /// The holder.
        holder: String,
        /// When it expires unless renewed.
        expires: Timestamp,
    },
}

/// The holder of a lease, if any (an empty identity is nobody: that is how a released
/// lease reads).
///
/// ```
/// use k8s_openapi::api::coordination::v1::LeaseSpec;
/// use runai_serve::controller::lease::holder;
/// let spec = LeaseSpec { holder_identity: Some(String::new()), ..LeaseSpec::default() };
/// assert_eq!(holder(&spec), None);
/// ```
#[must_use]
pub fn holder(spec: &LeaseSpec) -> Option<&str> {
    spec.holder_identity.as_deref().filter(|h| !h.is_empty())
}

/// When the lease expires unless renewed: `renewTime` (or `acquireTime`) plus
/// `leaseDurationSeconds`. `None` when it lacks either, which makes it free to take: a
/// lease that could never expire would block every candidate forever.
///
/// ```
/// use k8s_openapi::api::coordination::v1::LeaseSpec;
/// use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
/// use k8s_openapi::jiff::Timestamp;
/// use runai_serve::controller::lease::expiry;
/// let spec = LeaseSpec {
///     renew_time: Some(MicroTime(Timestamp::from_second(100).unwrap())),
///     lease_duration_seconds: Some(15),
///     ..LeaseSpec::default()
/// };
/// assert_eq!(expiry(&spec), Some(Timestamp::from_second(115).unwrap()));
/// ```
#[must_use]
pub fn expiry(spec: &LeaseSpec) -> Option<Timestamp> {
    let last = spec.renew_time.as_ref().or(spec.acquire_time.as_ref())?.0;
    let duration = SignedDuration::from_secs(i64::from(spec.lease_duration_seconds?.max(0)));
    last.checked_add(duration).ok()
}

/// What `identity` should do about a lease whose spec is `spec` (`None`: no lease yet) at
/// time `now`.
///
/// ```
/// use k8s_openapi::api::coordination::v1::LeaseSpec;
/// use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
/// use k8s_openapi::jiff::Timestamp;
/// use runai_serve::controller::lease::{LeaseDecision, decide};
/// let at = |s| Timestamp::from_second(s).unwrap();
/// let held = LeaseSpec {
///     holder_identity: Some("pod-a".into()),
///     renew_time: Some(MicroTime(at(100))),
///     lease_duration_seconds: Some(15),
///     ..LeaseSpec::default()
/// };
/// assert_eq!(decide(None, "pod-b", at(0)), LeaseDecision::Acquire);
/// assert_eq!(decide(Some(&held), "pod-a", at(105)), LeaseDecision::Renew);
/// assert_eq!(decide(Some(&held), "pod-b", at(105)), LeaseDecision::Wait { holder: "pod-a".into(), expires: at(115) });
/// assert_eq!(decide(Some(&held), "pod-b", at(115)), LeaseDecision::Acquire);
/// ```
#[must_use]
pub fn decide(spec: Option<&LeaseSpec>, identity: &str, now: Timestamp) -> LeaseDecision {
    let Some(spec) = spec else {
        return LeaseDecision::Acquire;
    };
    match (holder(spec), expiry(spec)) {
        (None, _) => LeaseDecision::Acquire,
        (Some(holder), _) if holder == identity => LeaseDecision::Renew,
        (Some(holder), Some(expires)) if expires > now => LeaseDecision::Wait {
            holder: holder.to_owned(),
            expires,
        },
        (Some(_), _) => LeaseDecision::Acquire,
    }
}

/// Whether `identity` may hold the lease at `now`: it holds it already, or the lease is
/// free.
///
/// ```
/// use runai_serve::controller::lease::may_hold;
/// use k8s_openapi::jiff::Timestamp;
/// assert!(may_hold(None, "pod-a", Timestamp::UNIX_EPOCH));
/// ```
#[must_use]
pub fn may_hold(spec: Option<&LeaseSpec>, identity: &str, now: Timestamp) -> bool {
    !matches!(decide(spec, identity, now), LeaseDecision::Wait { .. })
}

/// The spec `identity` writes to take the lease at `now`, holding it for
/// `duration_seconds`: acquired and renewed now, and one more transition when the holder
/// changes (a lease that did not exist starts at none).
///
/// ```
/// use k8s_openapi::api::coordination::v1::LeaseSpec;
/// use k8s_openapi::jiff::Timestamp;
/// use runai_serve::controller::lease::acquired;
/// let old = LeaseSpec { holder_identity: Some("pod-a".into()), lease_transitions: Some(3), ..LeaseSpec::default() };
/// let taken = acquired(Some(&old), "pod-b", 15, Timestamp::UNIX_EPOCH);
/// assert_eq!(taken.holder_identity.as_deref(), Some("pod-b"));
/// assert_eq!(taken.lease_transitions, Some(4));
/// assert_eq!(acquired(None, "pod-b", 15, Timestamp::UNIX_EPOCH).lease_transitions, Some(0));
/// ```
#[must_use]
pub fn acquired(
    previous: Option<&LeaseSpec>,
    identity: &str,
    duration_seconds: i32,
    now: Timestamp,
) -> LeaseSpec {
    let transitions = previous.map_or(0, |old| {
        let count = old.lease_transitions.unwrap_or(0);
        // As in client-go: taking a released lease (no holder) is a transition too.
        if old.holder_identity.as_deref() == Some(identity) {
            count
        } else {
            count.saturating_add(1)
        }
    });
    LeaseSpec {
        holder_identity: Some(identity.to_owned()),
        lease_duration_seconds: Some(duration_seconds),
        acquire_time: Some(MicroTime(now)),
        renew_time: Some(MicroTime(now)),
        lease_transitions: Some(transitions),
        ..previous.cloned().unwrap_or_default()
    }
}

/// The spec the holder writes to renew the lease at `now`.
///
/// ```
/// use k8s_openapi::api::coordination::v1::LeaseSpec;
/// use k8s_openapi::jiff::Timestamp;
/// use runai_serve::controller::lease::{acquired, renewed};
/// let held = acquired(None, "pod-a", 15, Timestamp::UNIX_EPOCH);
/// let later = Timestamp::from_second(5).unwrap();
/// let renewed = renewed(&held, 15, later);
/// assert_eq!(renewed.renew_time.unwrap().0, later);
/// assert_eq!(renewed.acquire_time, held.acquire_time);
/// ```
#[must_use]
pub fn renewed(spec: &LeaseSpec, duration_seconds: i32, now: Timestamp) -> LeaseSpec {
    LeaseSpec {
        renew_time: Some(MicroTime(now)),
        lease_duration_seconds: Some(duration_seconds),
        ..spec.clone()
    }
}

/// The spec the holder writes to step down at `now`: no holder, so the next candidate
/// takes it at once instead of waiting for it to expire.
///
/// ```
/// use k8s_openapi::api::coordination::v1::LeaseSpec;
/// use k8s_openapi::jiff::Timestamp;
/// use runai_serve::controller::lease::{LeaseDecision, acquired, decide, released};
/// let held = acquired(None, "pod-a", 15, Timestamp::UNIX_EPOCH);
/// let free = released(&held, Timestamp::UNIX_EPOCH);
/// assert_eq!(decide(Some(&free), "pod-b", Timestamp::UNIX_EPOCH), LeaseDecision::Acquire);
/// ```
#[must_use]
pub fn released(spec: &LeaseSpec, now: Timestamp) -> LeaseSpec {
    LeaseSpec {
        holder_identity: None,
        // client-go writes one second as well, so candidates that only look at expiry
        // see the lease as free almost at once.
        lease_duration_seconds: Some(1),
        acquire_time: Some(MicroTime(now)),
        renew_time: Some(MicroTime(now)),
        ..spec.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(second).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    fn held_by(holder: &str, renewed_at: i64, duration: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(holder.to_owned()),
            acquire_time: Some(MicroTime(at(0))),
            renew_time: Some(MicroTime(at(renewed_at))),
            lease_duration_seconds: Some(duration),
            lease_transitions: Some(2),
            ..LeaseSpec::default()
        }
    }

    #[test]
    fn a_missing_lease_may_be_taken() {
        assert_eq!(decide(None, "me", at(0)), LeaseDecision::Acquire);
    }

    #[test]
    fn a_lease_with_no_holder_may_be_taken() {
        let mut spec = held_by("", 100, 15);
        assert_eq!(decide(Some(&spec), "me", at(100)), LeaseDecision::Acquire);
        spec.holder_identity = None;
        assert_eq!(decide(Some(&spec), "me", at(100)), LeaseDecision::Acquire);
    }

    #[test]
    fn a_held_lease_is_refused_until_it_expires() {
        let spec = held_by("other", 100, 15);
        for now in [90, 100, 114] {
            assert_eq!(
                decide(Some(&spec), "me", at(now)),
                LeaseDecision::Wait {
                    holder: "other".to_owned(),
                    expires: at(115)
                },
                "at {now}"
            );
        }
        assert_eq!(decide(Some(&spec), "me", at(115)), LeaseDecision::Acquire);
        assert!(may_hold(Some(&spec), "me", at(200)));
    }

    #[test]
    fn the_holder_renews_even_after_expiry() {
        let spec = held_by("me", 100, 15);
        assert_eq!(decide(Some(&spec), "me", at(105)), LeaseDecision::Renew);
        assert_eq!(decide(Some(&spec), "me", at(500)), LeaseDecision::Renew);
    }

    #[test]
    fn a_lease_that_cannot_expire_is_free() {
        let mut spec = held_by("other", 100, 15);
        spec.lease_duration_seconds = None;
        assert_eq!(decide(Some(&spec), "me", at(100)), LeaseDecision::Acquire);
        let mut spec = held_by("other", 100, 15);
        (spec.renew_time, spec.acquire_time) = (None, None);
        assert_eq!(decide(Some(&spec), "me", at(100)), LeaseDecision::Acquire);
    }

    #[test]
    fn expiry_falls_back_to_acquire_time() {
        let mut spec = held_by("other", 100, 15);
        spec.renew_time = None;
        assert_eq!(expiry(&spec), Some(at(15)));
    }

    #[test]
    fn taking_over_counts_a_transition_and_renewing_does_not() {
        let spec = held_by("other", 100, 15);
        let taken = acquired(Some(&spec), "me", 20, at(200));
        assert_eq!(taken.lease_transitions, Some(3));
        assert_eq!(taken.lease_duration_seconds, Some(20));
        assert_eq!(taken.acquire_time, Some(MicroTime(at(200))));
        let again = acquired(Some(&taken), "me", 20, at(300));
        assert_eq!(again.lease_transitions, Some(3));
        let renewed = renewed(&taken, 20, at(210));
        assert_eq!(renewed.lease_transitions, Some(3));
        assert_eq!(renewed.acquire_time, Some(MicroTime(at(200))));
        assert_eq!(renewed.renew_time, Some(MicroTime(at(210))));
    }

    #[test]
    fn releasing_frees_the_lease_and_keeps_the_count() {
        let spec = held_by("me", 100, 15);
        let free = released(&spec, at(101));
        assert_eq!(holder(&free), None);
        assert_eq!(free.lease_transitions, Some(2));
        assert_eq!(decide(Some(&free), "other", at(101)), LeaseDecision::Acquire);
        assert_eq!(
            acquired(Some(&free), "other", 15, at(101)).lease_transitions,
            Some(3)
        );
    }
}
