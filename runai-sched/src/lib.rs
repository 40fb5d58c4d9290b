//! Pure, deterministic GPU scheduling and autoscaling engines.
//!
//! - [`ClusterState`]: nodes with per-device GPU accounting (whole devices and milli-GPU
//!   shares), CPU and memory; incremental [`allocate`](ClusterState::allocate) and
//!   [`release`](ClusterState::release) so simulators and controllers can drive it.
//! - [`policy`]: placement scoring policies selectable by name (`fgd`, the
//!   fragmentation-aware default, plus `random`, `dotprod`, `bestfit`, `gpupacking`,
//!   `gpuclustering`), and [`place_pod`] to place one pod with one of them.
//! - [`engine`]: batch scheduling of pod groups: gangs, topology, queues, quotas, fair share,
//!   preemption and reclaim.
//! - [`autoscale`]: Knative's KPA, Run:ai autoscaling semantics and an LLM-aware policy.
//! - [`sim`]: the FGD paper's protocol on the Alibaba GPU v2023 trace, and an LLM serving
//!   simulator that replays the Azure LLM inference traces under a scaling policy.
//!
//! No I/O, no async, no global state: randomness comes from a seeded [`Rng`].
//!
//! ```
//! use runai_sched::{ClusterState, GpuDemand, NodeOrder, NodeState, PodRequest, Rng, place_pod, policy};
//!
//! let mut state = ClusterState::new(vec![NodeState::new("dgx-01", 128_000, 1_048_576, 8, "H100")]);
//! let pod = PodRequest::new(8_000, 65_536, GpuDemand::Share { milli: 500 });
//! let mut fgd = policy::by_name(policy::DEFAULT_POLICY, std::slice::from_ref(&pod))?;
//! let placed = place_pod(&mut state, &pod, fgd.as_mut(), &NodeOrder::identity(1), &mut Rng::new(42)).unwrap();
//! assert_eq!(placed.gpu_milli(), 500);
//! # Ok::<(), runai_sched::SchedError>(())
//! ```

pub mod autoscale;
pub mod engine;
mod error;
mod hash;
mod place;
pub mod policy;
mod request;
mod rng;
pub mod sim;
mod state;

pub use error::SchedError;
pub use place::{NodeOrder, place_pod, place_pod_among};
pub use request::{GpuDemand, MILLI_PER_GPU, PodRequest};
pub use rng::Rng;
pub use state::{Allocation, ClusterState, NodeId, NodeState};
