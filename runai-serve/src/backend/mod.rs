//! Deployment backends: where a workload revision's replicas run. Every backend keeps the
//! same contract ([`Backend`]): apply a revision, scale it, delete it, report its status, and
//! announce changes, so the control loop drives a laptop and a cluster alike.
//!
//! [`LocalBackend`] runs each replica as a child process on this machine.

#[cfg(feature = "kube")]
pub mod kubernetes;
mod local;
mod placement;
mod words;

use std::time::Duration;

use runai_core::{DistributedInferenceSpec, InferenceSpec, NimServiceSpec, Phase};

use crate::gateway::WorkloadKey;
pub use local::{ImageCommand, LocalBackend, LocalConfig};
pub use placement::{GroupTopology, Placement};

/// What a workload runs: one process per replica, or a leader and its workers per replica.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum WorkloadSpec {
    /// Standard inference: each replica is one pod (here, one process).
    Inference(Box<InferenceSpec>),
    /// Distributed inference: each replica is a leader and `workers` workers, started as a
    /// LeaderWorkerSet starts them.
    Distributed(Box<DistributedInferenceSpec>),
    /// An NVIDIA NIM service, run by the NIM operator.
    Nim(Box<NimServiceSpec>),
}

impl From<NimServiceSpec> for WorkloadSpec {
    fn from(spec: NimServiceSpec) -> Self {
        Self::Nim(Box::new(spec))
    }
}

impl From<InferenceSpec> for WorkloadSpec {
    fn from(spec: InferenceSpec) -> Self {
        Self::Inference(Box::new(spec))
    }
}

impl From<DistributedInferenceSpec> for WorkloadSpec {
    fn from(spec: DistributedInferenceSpec) -> Self {
        Self::Distributed(Box::new(spec))
    }
}

/// One revision of a workload to run: its spec and how many replicas (for distributed
/// inference, how many leader-and-workers groups).
///
/// ```
/// use runai_serve::backend::Deployment;
/// use runai_serve::gateway::WorkloadKey;
/// let spec = runai_core::InferenceSpec::default();
/// let deployment = Deployment::new(WorkloadKey::new("team-a", "llama"), "rev-1", spec, 2);
/// assert_eq!(deployment.replicas, 2);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Deployment {
    /// The workload.
    pub workload: WorkloadKey,
    /// The revision's name, unique within the workload.
    pub revision: String,
    /// What each replica runs.
    pub spec: WorkloadSpec,
    /// How many replicas.
    pub replicas: u32,
    /// Where the scheduler placed it (node pool, nodes, group topology); backends that run
    /// on one machine ignore it.
    pub placement: Placement,
}

impl Deployment {
    /// `replicas` replicas of `spec` as `revision` of `workload`.
    pub fn new(
        workload: WorkloadKey,
        revision: impl Into<String>,
        spec: impl Into<WorkloadSpec>,
        replicas: u32,
    ) -> Self {
        Self {
            workload,
            revision: revision.into(),
            spec: spec.into(),
            replicas,
            placement: Placement::default(),
        }
    }

    /// The same deployment, placed.
    ///
    /// ```
    /// use runai_serve::backend::{Deployment, Placement};
    /// use runai_serve::gateway::WorkloadKey;
    /// let placement = Placement { node_pool: Some("h100".into()), ..Placement::default() };
    /// let deployment = Deployment::new(WorkloadKey::new("team-a", "llama"), "rev-1", runai_core::InferenceSpec::default(), 1)
    ///     .with_placement(placement);
    /// assert_eq!(deployment.placement.node_pool.as_deref(), Some("h100"));
    /// ```
    #[must_use]
    pub fn with_placement(mut self, placement: Placement) -> Self {
        self.placement = placement;
        self
    }
}

/// Where one replica is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplicaPhase {
    /// Started, not ready yet.
    Starting,
    /// Passing its readiness check.
    Ready,
    /// Exited and waiting to start again.
    BackingOff {
        /// How long until the next start.
        delay: Duration,
    },
    /// Exited again and again soon after starting; still restarted, with the longest delay.
    CrashLoop,
    /// Given up on: not ready within the initialization timeout.
    Failed,
    /// Stopped on request.
    Stopped,
}

/// One replica's status.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReplicaStatus {
    /// Its index within the revision (0-based).
    pub index: u32,
    /// Its phase.
    pub phase: ReplicaPhase,
    /// Where it serves (`http://127.0.0.1:PORT`).
    pub endpoint: String,
    /// How many times it was restarted.
    pub restarts: u32,
    /// The last thing that went wrong, in words.
    pub last_error: Option<String>,
    /// Its running processes, each the leader of the process group it started (the local
    /// backend's; empty elsewhere), for resource metrics.
    pub pids: Vec<u32>,
}

/// One revision's status, as the control loop reads it.
///
/// ```
/// use runai_serve::backend::RevisionStatus;
/// let status = RevisionStatus::default();
/// assert_eq!((status.desired, status.ready), (0, 0));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RevisionStatus {
    /// The revision.
    pub revision: String,
    /// Replicas asked for.
    pub desired: u32,
    /// Replicas started and not ready yet (backing off included).
    pub starting: u32,
    /// Replicas ready.
    pub ready: u32,
    /// Replicas given up on.
    pub failed: u32,
    /// The endpoints of the ready replicas, for the gateway.
    pub endpoints: Vec<String>,
    /// The most recent error of any replica.
    pub last_error: Option<String>,
    /// Every replica.
    pub replicas: Vec<ReplicaStatus>,
    /// The revision's phase in Run:ai's terms.
    pub phase: Phase,
}

impl Default for RevisionStatus {
    /// No replicas asked for: `Stopped`.
    fn default() -> Self {
        Self {
            revision: String::new(),
            desired: 0,
            starting: 0,
            ready: 0,
            failed: 0,
            endpoints: Vec::new(),
            last_error: None,
            replicas: Vec::new(),
            phase: Phase::Stopped,
        }
    }
}

impl RevisionStatus {
    /// The phase replica counts imply: `Stopped` with none desired, `Running` with all ready,
    /// `Degraded` with some, `Failed` when replicas failed and none is ready or starting,
    /// `Initializing` otherwise.
    ///
    /// ```
    /// use runai_core::Phase;
    /// use runai_serve::backend::RevisionStatus;
    /// assert_eq!(RevisionStatus::phase_of(2, 2, 0, 0), Phase::Running);
    /// assert_eq!(RevisionStatus::phase_of(2, 1, 1, 0), Phase::Degraded);
    /// assert_eq!(RevisionStatus::phase_of(2, 0, 0, 2), Phase::Failed);
    /// assert_eq!(RevisionStatus::phase_of(0, 0, 0, 0), Phase::Stopped);
    /// ```
    #[must_use]
    pub fn phase_of(desired: u32, ready: u32, starting: u32, failed: u32) -> Phase {
        if desired == 0 {
            Phase::Stopped
        } else if ready >= desired {
            Phase::Running
        } else if ready > 0 {
            Phase::Degraded
        } else if failed > 0 && starting == 0 {
            Phase::Failed
        } else {
            Phase::Initializing
        }
    }
}

/// What a backend could not do, and what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// The spec names neither a command nor an image the backend knows how to run.
    #[error(
        "workload {workload}: {reason}; give `command` (and `args`) in the spec, or map the image to a local command in the backend's `images` table"
    )]
    NoCommand {
        /// The workload.
        workload: WorkloadKey,
        /// What is missing.
        reason: String,
    },
    /// The command or arguments cannot be split into words (an unclosed quote, say).
    #[error("workload {workload}: `{text}` is not a valid command line: {reason}")]
    BadCommandLine {
        /// The workload.
        workload: WorkloadKey,
        /// The text.
        text: String,
        /// What is wrong.
        reason: String,
    },
    /// An environment variable names a secret or config map value that is not there.
    #[error(
        "workload {workload}: environment variable {variable} reads {path}, which cannot be read ({reason}); create the file or fix the reference"
    )]
    MissingValue {
        /// The workload.
        workload: WorkloadKey,
        /// The variable.
        variable: String,
        /// The file the value should come from.
        path: String,
        /// Why it cannot be read.
        reason: String,
    },
    /// The spec uses something this backend cannot do.
    #[error("workload {workload}: {what} is not supported by this backend")]
    Unsupported {
        /// The workload.
        workload: WorkloadKey,
        /// What.
        what: String,
    },
    /// No such revision is running.
    #[error("workload {workload} has no revision {revision}")]
    UnknownRevision {
        /// The workload.
        workload: WorkloadKey,
        /// The revision.
        revision: String,
    },
    /// The spec cannot be rendered as the Kubernetes kind it runs as.
    #[cfg(feature = "kube")]
    #[error(transparent)]
    Render(#[from] kubernetes::RenderError),
    /// The Kubernetes API refused or failed a request.
    #[cfg(feature = "kube")]
    #[error("{action}: {source}")]
    Kubernetes {
        /// What was being done.
        action: String,
        /// The API's answer.
        source: Box<kube::Error>,
    },
    /// An operating-system call failed.
    #[error("{action}: {source}")]
    Io {
        /// What was being done.
        action: String,
        /// The error.
        source: std::io::Error,
    },
}

/// A place where workload revisions run.
///
/// Implementations are idempotent: applying the same deployment twice changes nothing, and
/// scaling or deleting what is already so succeeds.
#[async_trait::async_trait]
pub trait Backend: Send + Sync {
    /// Runs `deployment`, or brings a running revision to its spec and replica count.
    async fn apply(&self, deployment: &Deployment) -> Result<(), BackendError>;

    /// Sets the replica count of a running revision.
    async fn scale(&self, workload: &WorkloadKey, revision: &str, replicas: u32) -> Result<(), BackendError>;

    /// Stops and forgets one revision, or every revision of the workload when `revision` is
    /// `None`.
    async fn delete(&self, workload: &WorkloadKey, revision: Option<&str>) -> Result<(), BackendError>;

    /// The status of each revision of `workload`, sorted by revision name.
    async fn status(&self, workload: &WorkloadKey) -> Result<Vec<RevisionStatus>, BackendError>;

    /// A counter that moves whenever any status changes: wait on it, then read
    /// [`Backend::status`].
    fn changes(&self) -> tokio::sync::watch::Receiver<u64>;
}
