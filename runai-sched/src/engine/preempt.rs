//! Making room: evict the fewest preemptible gangs, whole, that let a pending gang fit.

use std::collections::BTreeMap;

use super::{Engine, Eviction, EvictionCause, PlacementWithEvictions, PodGroup};
use crate::request::MILLI_PER_GPU;
use crate::rng::Rng;
use crate::state::Allocation;

impl Engine {
    /// Evicts the fewest preemptible gangs that make room for `group`, if any set does.
    pub(super) fn preempt_for(
        &mut self,
        group: &PodGroup,
        shares: &BTreeMap<String, f64>,
        rng: &mut Rng,
    ) -> Option<PlacementWithEvictions> {
        let needed = group.gpu_milli() as f64 / f64::from(MILLI_PER_GPU);
        let own_share = shares.get(&group.queue).copied().unwrap_or(0.0);
        let own_used = self.used_gpus(&group.queue);
        let mut candidates: Vec<(String, EvictionCause)> = self
            .running
            .values()
            .filter(|r| r.group.preemptible)
            .filter_map(|r| {
                if r.group.queue == group.queue {
                    (r.group.priority < group.priority).then_some(EvictionCause::Preempted)
                } else {
                    let share = shares.get(&r.group.queue).copied().unwrap_or(0.0);
                    let over = self.used_gpus(&r.group.queue) > share + 1e-9;
                    (over && own_used + needed <= own_share + 1e-9).then_some(EvictionCause::Reclaimed)
                }
                .map(|cause| (r.group.name.clone(), cause))
            })
            .collect();
        if candidates.is_empty() {
            return None;
        }
        // Least important first: lower priority, then smaller, then newer.
        candidates.sort_by(|(a, _), (b, _)| {
            let (ra, rb) = (&self.running[a], &self.running[b]);
            ra.group
                .priority
                .cmp(&rb.group.priority)
                .then(ra.gpus().total_cmp(&rb.gpus()))
                .then(rb.group.created.cmp(&ra.group.created))
                .then(a.cmp(b))
        });
        // One victim is the fewest: try each alone, least important first.
        for candidate in &candidates {
            self.suspend(&candidate.0);
            let fits = match self.place_group(group, rng) {
                Ok(trial) => {
                    self.undo(&trial);
                    true
                }
                Err(_) => false,
            };
            self.resume(&candidate.0);
            if fits {
                return self.evict_and_place(group, vec![candidate.clone()], rng);
            }
        }
        // Otherwise gather victims until the gang fits, then give back those not needed.
        let mut victims: Vec<(String, EvictionCause)> = Vec::new();
        let mut fits = false;
        for candidate in candidates {
            self.suspend(&candidate.0);
            victims.push(candidate);
            if let Ok(trial) = self.place_group(group, rng) {
                self.undo(&trial);
                fits = true;
                break;
            }
        }
        if !fits {
            for (name, _) in &victims {
                self.resume(name);
            }
            return None;
        }
        // Keep only the victims that are needed: give each back in turn and see.
        let mut needed_victims = Vec::new();
        for victim in victims.into_iter().rev() {
            if self.resume(&victim.0) {
                match self.place_group(group, rng) {
                    Ok(trial) => {
                        self.undo(&trial);
                        continue;
                    }
                    Err(_) => self.suspend(&victim.0),
                }
            }
            needed_victims.push(victim);
        }
        for (name, _) in &needed_victims {
            self.resume(name);
        }
        self.evict_and_place(group, needed_victims, rng)
    }

    /// Evicts `victims` and places `group`; if the gang still does not fit, nothing changes.
    pub(super) fn evict_and_place(
        &mut self,
        group: &PodGroup,
        victims: Vec<(String, EvictionCause)>,
        rng: &mut Rng,
    ) -> Option<PlacementWithEvictions> {
        for (name, _) in &victims {
            self.suspend(name);
        }
        let Ok(allocations) = self.place_group(group, rng) else {
            for (name, _) in &victims {
                self.resume(name);
            }
            return None;
        };
        let evictions = victims
            .into_iter()
            .map(|(name, cause)| {
                self.stop(&name);
                Eviction {
                    group: name,
                    for_group: group.name.clone(),
                    cause,
                }
            })
            .collect();
        Some((allocations, evictions))
    }

    /// Frees a running gang's resources while keeping its record (a what-if eviction).
    pub(super) fn suspend(&mut self, name: &str) {
        if let Some(running) = self.running.get(name) {
            for (_, allocation) in &running.allocations {
                self.state.release(allocation);
            }
        }
    }

    /// Puts a suspended gang back exactly where it was; false if its room is gone.
    pub(super) fn resume(&mut self, name: &str) -> bool {
        let Some(running) = self.running.get(name) else {
            return false;
        };
        let mut restored = Vec::new();
        for (i, allocation) in &running.allocations {
            let devices: Vec<u8> = allocation.devices.iter().map(|(d, _)| *d).collect();
            match self
                .state
                .allocate(allocation.node, &running.group.pods[*i].request, &devices)
            {
                Ok(again) => restored.push(again),
                Err(_) => {
                    for allocation in &restored {
                        self.state.release(allocation);
                    }
                    return false;
                }
            }
        }
        true
    }

    pub(super) fn undo(&mut self, allocations: &[(usize, Allocation)]) {
        for (_, allocation) in allocations {
            self.state.release(allocation);
        }
    }
}
