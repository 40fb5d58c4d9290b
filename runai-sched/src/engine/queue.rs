//! Queues (projects) with deserved quota, over-quota weight and limit, and the fair share
//! that divides the cluster between them (KAI-Scheduler semantics).

use std::collections::BTreeMap;

/// A queue's quota, in GPUs.
///
/// ```
/// use runai_sched::engine::Queue;
/// let q = Queue::new("team-a", 4.0).weight(2.0).limit(8.0);
/// assert_eq!(q.deserved_gpus, 4.0);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Queue {
    /// Queue name (the project).
    pub name: String,
    /// GPUs guaranteed.
    pub deserved_gpus: f64,
    /// Share of the spare GPUs, relative to other queues.
    pub over_quota_weight: f64,
    /// Most GPUs the queue may use; `None` means no limit.
    pub limit_gpus: Option<f64>,
    /// Queues of higher priority get spare GPUs first.
    pub priority: i32,
    /// The department the queue belongs to, if any.
    pub parent: Option<String>,
    /// Quotas in single node pools (Run:ai sets quotas per node pool): a gang placed in a
    /// pool must also fit that pool's limit and, when non-preemptible, its deserved quota.
    pub pool_quotas: BTreeMap<String, PoolQuota>,
    /// Node pools to try, in order, for groups that name none.
    pub default_pools: Vec<String>,
}

/// A queue's quota in one node pool, in GPUs.
///
/// ```
/// use runai_sched::engine::{PoolQuota, Queue};
/// let q = Queue::new("team-a", 8.0).with_pool_quota("h100", PoolQuota { deserved_gpus: 8.0, limit_gpus: Some(16.0) });
/// assert_eq!(q.pool_quotas["h100"].limit_gpus, Some(16.0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoolQuota {
    /// GPUs guaranteed in the pool.
    pub deserved_gpus: f64,
    /// Most GPUs the queue may use in the pool; `None` means no limit.
    pub limit_gpus: Option<f64>,
}

impl Queue {
    /// A queue with `deserved` GPUs, weight 1, no limit and priority 100.
    #[must_use]
    pub fn new(name: impl Into<String>, deserved: f64) -> Self {
        Self {
            name: name.into(),
            deserved_gpus: deserved,
            over_quota_weight: 1.0,
            limit_gpus: None,
            priority: 100,
            parent: None,
            pool_quotas: BTreeMap::new(),
            default_pools: Vec::new(),
        }
    }

    /// The same queue with an over-quota weight.
    #[must_use]
    pub fn weight(mut self, weight: f64) -> Self {
        self.over_quota_weight = weight;
        self
    }

    /// The same queue inside department `parent`.
    #[must_use]
    pub fn in_department(mut self, parent: impl Into<String>) -> Self {
        self.parent = Some(parent.into());
        self
    }

    /// The same queue with a quota in node pool `pool`.
    #[must_use]
    pub fn with_pool_quota(mut self, pool: impl Into<String>, quota: PoolQuota) -> Self {
        self.pool_quotas.insert(pool.into(), quota);
        self
    }

    /// The same queue trying `pools`, in order, for groups that name none.
    #[must_use]
    pub fn default_pools(mut self, pools: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.default_pools = pools.into_iter().map(Into::into).collect();
        self
    }

    /// The same queue with a limit.
    #[must_use]
    pub fn limit(mut self, limit: f64) -> Self {
        self.limit_gpus = Some(limit);
        self
    }
}

/// What a queue asks for, for the fair-share division.
///
/// ```
/// use runai_sched::engine::{Queue, QueueDemand};
/// let d = QueueDemand { queue: Queue::new("a", 10.0), requested_gpus: 100.0 };
/// assert_eq!(d.requestable(), 100.0);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct QueueDemand {
    /// The queue.
    pub queue: Queue,
    /// GPUs it runs plus GPUs it waits for.
    pub requested_gpus: f64,
}

impl QueueDemand {
    /// What the queue can use: its request, capped by its limit.
    #[must_use]
    pub fn requestable(&self) -> f64 {
        self.queue
            .limit_gpus
            .map_or(self.requested_gpus, |limit| limit.min(self.requested_gpus))
            .max(0.0)
    }
}

/// Divides `capacity` GPUs: every queue first gets its deserved quota (up to what it can
/// use); what is left goes to queues by priority, highest first, and within a priority in
/// proportion to over-quota weight, by water-filling until every queue is satisfied or
/// nothing is left.
///
/// ```
/// use runai_sched::engine::{Queue, QueueDemand, fair_shares};
/// // KAI-Scheduler's golden example: 100 GPUs, both queues deserve 10 and ask for 100,
/// // weights 3 and 1.
/// let shares = fair_shares(100.0, &[
///     QueueDemand { queue: Queue::new("a", 10.0).weight(3.0), requested_gpus: 100.0 },
///     QueueDemand { queue: Queue::new("b", 10.0).weight(1.0), requested_gpus: 100.0 },
/// ]);
/// assert_eq!(shares, [70.0, 30.0]);
/// ```
#[must_use]
pub fn fair_shares(capacity: f64, demands: &[QueueDemand]) -> Vec<f64> {
    const EPSILON: f64 = 1e-9;
    let mut shares: Vec<f64> = demands
        .iter()
        .map(|d| d.queue.deserved_gpus.max(0.0).min(d.requestable()))
        .collect();
    let mut remaining = (capacity - shares.iter().sum::<f64>()).max(0.0);
    let mut priorities: Vec<i32> = demands.iter().map(|d| d.queue.priority).collect();
    priorities.sort_unstable_by(|a, b| b.cmp(a));
    priorities.dedup();
    for priority in priorities {
        loop {
            let hungry: Vec<usize> = (0..demands.len())
                .filter(|&i| {
                    demands[i].queue.priority == priority
                        && demands[i].queue.over_quota_weight > 0.0
                        && shares[i] + EPSILON < demands[i].requestable()
                })
                .collect();
            if hungry.is_empty() || remaining <= EPSILON {
                break;
            }
            let total_weight: f64 = hungry.iter().map(|&i| demands[i].queue.over_quota_weight).sum();
            let mut handed = 0.0;
            for &i in &hungry {
                let offer = remaining * demands[i].queue.over_quota_weight / total_weight;
                let taken = offer.min(demands[i].requestable() - shares[i]);
                shares[i] += taken;
                handed += taken;
            }
            remaining -= handed;
            if handed <= EPSILON {
                break;
            }
        }
    }
    shares
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demand(name: &str, deserved: f64, weight: f64, request: f64) -> QueueDemand {
        QueueDemand {
            queue: Queue::new(name, deserved).weight(weight),
            requested_gpus: request,
        }
    }

    #[test]
    fn satisfied_queues_return_their_spare_to_others() {
        // b only wants 15; what it does not take flows to a.
        let shares = fair_shares(
            100.0,
            &[demand("a", 10.0, 1.0, 100.0), demand("b", 10.0, 1.0, 15.0)],
        );
        assert_eq!(shares, [85.0, 15.0]);
    }

    #[test]
    fn limits_cap_the_share() {
        let mut limited = demand("a", 10.0, 3.0, 100.0);
        limited.queue.limit_gpus = Some(20.0);
        let shares = fair_shares(100.0, &[limited, demand("b", 10.0, 1.0, 100.0)]);
        assert_eq!(shares, [20.0, 80.0]);
    }

    #[test]
    fn higher_priority_queues_are_served_first() {
        let mut urgent = demand("a", 0.0, 1.0, 60.0);
        urgent.queue.priority = 200;
        let shares = fair_shares(100.0, &[urgent, demand("b", 0.0, 5.0, 100.0)]);
        assert_eq!(shares, [60.0, 40.0]);
    }

    #[test]
    fn deserved_is_capped_by_what_is_asked() {
        let shares = fair_shares(10.0, &[demand("a", 8.0, 1.0, 2.0), demand("b", 8.0, 1.0, 100.0)]);
        assert_eq!(shares, [2.0, 8.0]);
    }
}
