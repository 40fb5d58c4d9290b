//! Where the gateway sends a workload's traffic: its access policy from the spec's serving
//! port, and the revision (or, during canary steps, the two revisions) that serve it.

use std::sync::PoisonError;
use std::time::{Duration, Instant};

use runai_core::{DistributedInferenceSpec, InferenceSpec};

use super::{ControlLoop, key, revision_number};
use crate::backend::RevisionStatus;
use crate::gateway::{AccessPolicy, RevisionEndpoints};
use crate::store::{RevisionRecord, WorkloadKind, WorkloadRecord};

impl ControlLoop {
    /// The new revision's share of the traffic while canary steps last; `None` once they
    /// are over (or when there are none).
    pub(super) fn canary_weight(&self, revision_id: &str) -> Option<u32> {
        if self.settings.canary.is_empty() {
            return None;
        }
        let since = self
            .promoted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(revision_id.to_owned())
            .or_insert_with(Instant::now)
            .elapsed();
        let mut until = Duration::ZERO;
        for step in &self.settings.canary {
            until += step.hold;
            if since < until {
                return Some(step.weight);
            }
        }
        None
    }

    pub(super) fn route(
        &self,
        record: &WorkloadRecord,
        target: &RevisionRecord,
        name: &str,
        statuses: &[RevisionStatus],
        canary: Option<u32>,
    ) {
        let Some(gateway) = &self.gateway else {
            return;
        };
        let workload = key(record);
        // Access first: a workload whose policy needs tokens is never routed by a gateway that
        // cannot check them.
        if gateway
            .set_access(&workload, access_policy(record.kind, &target.spec))
            .is_err()
        {
            gateway.remove_workload(&workload);
            return;
        }
        if let Some(weight) = canary {
            // The new revision and the newest older one that serves share the traffic.
            let new = statuses.iter().find(|s| s.revision == name);
            let old = statuses
                .iter()
                .filter(|s| s.revision != name && !s.endpoints.is_empty())
                .max_by_key(|s| revision_number(&s.revision));
            if let (Some(new), Some(old)) = (new, old) {
                let new_endpoints: Vec<&str> = new.endpoints.iter().map(String::as_str).collect();
                let old_endpoints: Vec<&str> = old.endpoints.iter().map(String::as_str).collect();
                let _ = gateway.update_revisions(
                    &workload,
                    &[
                        RevisionEndpoints {
                            revision: &new.revision,
                            weight,
                            replicas: &new_endpoints,
                        },
                        RevisionEndpoints {
                            revision: &old.revision,
                            weight: 100 - weight,
                            replicas: &old_endpoints,
                        },
                    ],
                );
                return;
            }
        }
        let serving = statuses
            .iter()
            .filter(|s| !s.endpoints.is_empty())
            .max_by_key(|s| (s.revision == name, revision_number(&s.revision)));
        let endpoints: Vec<&str> = serving
            .map(|s| s.endpoints.iter().map(String::as_str).collect())
            .unwrap_or_default();
        let revision = serving.map_or(name, |s| s.revision.as_str());
        // A workload whose replicas are not up yet stays known to the gateway with nothing to
        // serve it (an attached activator holds its requests). Local endpoints are always
        // well-formed http URLs, so an update cannot be refused.
        let _ = gateway.update_revisions(
            &workload,
            &[RevisionEndpoints {
                revision,
                weight: 100,
                replicas: &endpoints,
            }],
        );
    }
}

/// Who may call a workload, from its spec's serving port. A NIM service's port has no
/// access fields: it is public, as the NIM operator exposes it.
fn access_policy(kind: WorkloadKind, spec: &serde_json::Value) -> AccessPolicy {
    let port = match kind {
        WorkloadKind::Distributed => serde_json::from_value::<DistributedInferenceSpec>(spec.clone())
            .ok()
            .and_then(|s| s.serving_port)
            .map(|port| runai_core::spec::ServingPort {
                authorization_type: port.authorization_type.map(Into::into),
                authorized_users: port.authorized_users,
                authorized_groups: port.authorized_groups,
                ..runai_core::spec::ServingPort::default()
            }),
        WorkloadKind::Nim => None,
        _ => serde_json::from_value::<InferenceSpec>(spec.clone())
            .ok()
            .and_then(|s| s.serving_port),
    };
    port.as_ref()
        .map_or_else(AccessPolicy::public, AccessPolicy::from_serving_port)
}
