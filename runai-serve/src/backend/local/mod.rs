//! The local backend: every replica is a child process on this machine, started from the
//! spec's `command` and `args` (or from the image mapping in the configuration), with `PORT`
//! and its identity in its environment, found ready by the spec's readiness probe or a TCP
//! check, restarted with backoff when it exits, and stopped gracefully.

mod launch;
mod logs;
mod supervise;
mod watchdog;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use super::{Backend, BackendError, Deployment, ReplicaPhase, RevisionStatus, WorkloadSpec};
use crate::gateway::WorkloadKey;
use launch::Launch;
use supervise::{GroupPolicy, Replica, ReplicaShared};

/// How to run a container image as a local command.
///
/// ```
/// use runai_serve::backend::ImageCommand;
/// let sim = ImageCommand::new("model_sim --port $(PORT)");
/// assert!(sim.env.is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImageCommand {
    /// The command line (split into words as a shell would; `$(NAME)` reads the environment,
    /// `$(PORT)` included). The spec's `args` are appended.
    pub command: String,
    /// Arguments put before the spec's own.
    pub args: String,
    /// Environment variables added before the spec's own.
    pub env: BTreeMap<String, String>,
}

impl ImageCommand {
    /// Runs `command` for the image.
    pub fn new(command: impl Into<String>) -> Self {
        Self {
            command: command.into(),
            ..Self::default()
        }
    }
}

/// Settings of the local backend.
///
/// ```
/// use runai_serve::backend::LocalConfig;
/// let config = LocalConfig::default();
/// assert_eq!(config.grace_period.as_secs(), 30); // as Kubernetes' default
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LocalConfig {
    /// Where replica logs go (`{dir}/{project}/{workload}/{revision}/replica-{i}.log`).
    pub log_dir: PathBuf,
    /// A log file is rotated when it would grow past this many bytes.
    pub log_max_bytes: u64,
    /// Rotated log files kept per replica.
    pub log_files_kept: usize,
    /// Secrets named by environment variables: the value of key `k` of secret `s` is the
    /// file `{secrets_dir}/{s}/{k}`.
    pub secrets_dir: PathBuf,
    /// Config maps, laid out as secrets.
    pub config_maps_dir: PathBuf,
    /// Local commands for container images the specs name.
    pub images: HashMap<String, ImageCommand>,
    /// Between SIGTERM and SIGKILL when a replica stops.
    pub grace_period: Duration,
    /// The first restart delay; each further failure doubles it.
    pub restart_backoff: Duration,
    /// The longest restart delay.
    pub max_restart_backoff: Duration,
    /// A replica that ran this long before exiting starts its backoff afresh.
    pub backoff_reset_after: Duration,
    /// Consecutive failures after which a replica is reported in a crash loop.
    pub crash_loop_after: u32,
}

impl Default for LocalConfig {
    fn default() -> Self {
        let base = std::env::temp_dir().join("runai-local");
        Self {
            log_dir: base.join("logs"),
            log_max_bytes: 10 * 1024 * 1024,
            log_files_kept: 3,
            secrets_dir: base.join("secrets"),
            config_maps_dir: base.join("config-maps"),
            images: HashMap::new(),
            grace_period: Duration::from_secs(30),
            restart_backoff: Duration::from_secs(1),
            max_restart_backoff: Duration::from_secs(300),
            backoff_reset_after: Duration::from_secs(600),
            crash_loop_after: 3,
        }
    }
}

impl LocalConfig {
    pub(crate) fn log_path(&self, workload: &WorkloadKey, revision: &str, index: u32) -> PathBuf {
        self.log_dir
            .join(&workload.project)
            .join(&workload.workload)
            .join(revision)
            .join(format!("replica-{index}.log"))
    }
}

/// Runs replicas as child processes. Dropping it kills every replica's process group.
///
/// ```no_run
/// use runai_serve::backend::{Backend, Deployment, LocalBackend, LocalConfig};
/// use runai_serve::gateway::WorkloadKey;
/// # async fn run() -> Result<(), runai_serve::backend::BackendError> {
/// let backend = LocalBackend::new(LocalConfig::default());
/// let spec = runai_core::InferenceSpec {
///     command: Some("python3 -m http.server $(PORT)".into()),
///     ..Default::default()
/// };
/// let workload = WorkloadKey::new("team-a", "files");
/// backend.apply(&Deployment::new(workload.clone(), "rev-1", spec, 2)).await?;
/// let status = backend.status(&workload).await?;
/// println!("{} of {} ready at {:?}", status[0].ready, status[0].desired, status[0].endpoints);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct LocalBackend {
    inner: Arc<LocalInner>,
}

#[derive(Debug)]
struct LocalInner {
    config: Arc<LocalConfig>,
    revisions: Mutex<BTreeMap<(WorkloadKey, String), RevisionRun>>,
    changes: watch::Sender<u64>,
    /// Kills the replicas should this process die without stopping them.
    watchdog: Option<Arc<watchdog::Watchdog>>,
}

/// A running revision: what it runs and its replicas.
#[derive(Debug)]
struct RevisionRun {
    spec: WorkloadSpec,
    plan: Arc<ReplicaPlan>,
    replicas: Vec<RunningReplica>,
}

/// What every replica of a revision runs: its members' launches (the leader first) and, for
/// a distributed replica, how the group starts and restarts.
#[derive(Debug)]
struct ReplicaPlan {
    members: Vec<Arc<Launch>>,
    group: Option<GroupPolicy>,
}

impl ReplicaPlan {
    fn resolve(
        workload: &WorkloadKey,
        spec: &WorkloadSpec,
        config: &LocalConfig,
    ) -> Result<Self, BackendError> {
        match spec {
            WorkloadSpec::Inference(spec) => Ok(Self {
                members: vec![Arc::new(Launch::resolve(workload, spec.as_ref().into(), config)?)],
                group: None,
            }),
            WorkloadSpec::Distributed(spec) => {
                use runai_core::distributed::{RestartPolicy, StartupPolicy};
                let leader = spec.leader.as_ref().ok_or_else(|| BackendError::NoCommand {
                    workload: workload.clone(),
                    reason: "the distributed spec has no `leader`".to_owned(),
                })?;
                let workers = spec.group_size() - 1;
                let mut members = vec![Arc::new(Launch::resolve(workload, leader.into(), config)?)];
                if workers > 0 {
                    let worker = spec.worker.as_ref().ok_or_else(|| BackendError::NoCommand {
                        workload: workload.clone(),
                        reason: format!(
                            "the distributed spec asks for {workers} workers and has no `worker`"
                        ),
                    })?;
                    let launch = Arc::new(Launch::resolve(workload, worker.into(), config)?);
                    members.extend((0..workers).map(|_| Arc::clone(&launch)));
                }
                Ok(Self {
                    members,
                    group: Some(GroupPolicy {
                        workers_after_leader_ready: spec.startup_policy == Some(StartupPolicy::LeaderReady),
                        recreate_group: spec.restart_policy != Some(RestartPolicy::None),
                    }),
                })
            }
            // The image must be in the images table: NIM containers do not run as processes.
            WorkloadSpec::Nim(spec) => Ok(Self {
                members: vec![Arc::new(Launch::resolve(workload, spec.as_ref().into(), config)?)],
                group: None,
            }),
        }
    }
}

#[derive(Debug)]
struct RunningReplica {
    shared: Arc<ReplicaShared>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for LocalInner {
    fn drop(&mut self) {
        let revisions = self
            .revisions
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for run in revisions.values() {
            for replica in &run.replicas {
                replica.task.abort();
                replica.shared.kill_now();
            }
        }
    }
}

impl LocalBackend {
    /// A backend with no replicas.
    #[must_use]
    pub fn new(config: LocalConfig) -> Self {
        Self {
            inner: Arc::new(LocalInner {
                config: Arc::new(config),
                revisions: Mutex::new(BTreeMap::new()),
                changes: watch::Sender::new(0),
                // Without /bin/sh there is no watchdog; replicas are still stopped on drop.
                watchdog: watchdog::Watchdog::start().ok().map(Arc::new),
            }),
        }
    }

    /// The last `max_bytes` of a replica's output (stdout and stderr, rotated files
    /// included).
    ///
    /// # Errors
    /// [`BackendError::Io`] when the log cannot be read (no such replica, say).
    pub fn logs(
        &self,
        workload: &WorkloadKey,
        revision: &str,
        index: u32,
        max_bytes: usize,
    ) -> Result<String, BackendError> {
        let config = &self.inner.config;
        let path = config.log_path(workload, revision, index);
        logs::tail(&path, config.log_files_kept, max_bytes).map_err(|source| BackendError::Io {
            action: format!("reading the log {}", path.display()),
            source,
        })
    }

    fn start_replica(
        &self,
        workload: &WorkloadKey,
        revision: &str,
        plan: &ReplicaPlan,
        index: u32,
    ) -> Result<RunningReplica, BackendError> {
        let ports = plan
            .members
            .iter()
            .map(|_| free_port())
            .collect::<std::io::Result<Vec<u16>>>()
            .map_err(|source| BackendError::Io {
                action: "finding a free port for a replica".into(),
                source,
            })?;
        let shared = Arc::new(ReplicaShared::new(
            index,
            format!("http://127.0.0.1:{}", ports[0]),
            self.inner.watchdog.clone(),
        ));
        let (stop, stopped) = watch::channel(false);
        let replica = Replica {
            members: plan.members.clone(),
            ports,
            group: plan.group,
            workload: workload.clone(),
            revision: revision.to_owned(),
            index,
            config: Arc::clone(&self.inner.config),
            shared: Arc::clone(&shared),
            changes: self.inner.changes.clone(),
        };
        let task = tokio::spawn(replica.supervise(stopped));
        Ok(RunningReplica { shared, stop, task })
    }

    fn revisions(&self) -> std::sync::MutexGuard<'_, BTreeMap<(WorkloadKey, String), RevisionRun>> {
        self.inner
            .revisions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Stops `replicas` gracefully and waits for them.
    async fn stop_all(replicas: Vec<RunningReplica>) {
        for replica in &replicas {
            let _ = replica.stop.send(true);
        }
        for replica in replicas {
            let _ = replica.task.await;
        }
    }

    fn announce(&self) {
        self.inner.changes.send_modify(|version| *version += 1);
    }
}

#[async_trait::async_trait]
impl Backend for LocalBackend {
    async fn apply(&self, deployment: &Deployment) -> Result<(), BackendError> {
        let key = (deployment.workload.clone(), deployment.revision.clone());
        let plan = Arc::new(ReplicaPlan::resolve(
            &deployment.workload,
            &deployment.spec,
            &self.inner.config,
        )?);
        // A changed spec replaces the revision's replicas; the same spec only rescales.
        let replaced = {
            let mut revisions = self.revisions();
            match revisions.get(&key) {
                Some(run) if run.spec == deployment.spec => None,
                Some(_) => revisions.remove(&key).map(|run| run.replicas),
                None => None,
            }
        };
        if let Some(old) = replaced {
            Self::stop_all(old).await;
        }
        {
            let mut revisions = self.revisions();
            revisions.entry(key).or_insert_with(|| RevisionRun {
                spec: deployment.spec.clone(),
                plan,
                replicas: Vec::new(),
            });
        }
        self.scale(&deployment.workload, &deployment.revision, deployment.replicas)
            .await
    }

    async fn scale(&self, workload: &WorkloadKey, revision: &str, replicas: u32) -> Result<(), BackendError> {
        let surplus = {
            let mut revisions = self.revisions();
            let run = revisions
                .get_mut(&(workload.clone(), revision.to_owned()))
                .ok_or_else(|| BackendError::UnknownRevision {
                    workload: workload.clone(),
                    revision: revision.to_owned(),
                })?;
            let wanted = replicas as usize;
            while run.replicas.len() < wanted {
                let index = u32::try_from(run.replicas.len()).unwrap_or(u32::MAX);
                let started = self.start_replica(workload, revision, &run.plan, index)?;
                run.replicas.push(started);
            }
            run.replicas.split_off(wanted.min(run.replicas.len()))
        };
        Self::stop_all(surplus).await;
        self.announce();
        Ok(())
    }

    async fn delete(&self, workload: &WorkloadKey, revision: Option<&str>) -> Result<(), BackendError> {
        let removed: Vec<RunningReplica> = {
            let mut revisions = self.revisions();
            let keys: Vec<_> = revisions
                .keys()
                .filter(|(w, r)| w == workload && revision.is_none_or(|wanted| r == wanted))
                .cloned()
                .collect();
            keys.iter()
                .filter_map(|key| revisions.remove(key))
                .flat_map(|run| run.replicas)
                .collect()
        };
        Self::stop_all(removed).await;
        self.announce();
        Ok(())
    }

    async fn status(&self, workload: &WorkloadKey) -> Result<Vec<RevisionStatus>, BackendError> {
        let revisions = self.revisions();
        Ok(revisions
            .iter()
            .filter(|((w, _), _)| w == workload)
            .map(|((_, revision), run)| summarize(revision, run))
            .collect())
    }

    fn changes(&self) -> watch::Receiver<u64> {
        self.inner.changes.subscribe()
    }
}

/// Counts a revision's replicas by phase.
fn summarize(revision: &str, run: &RevisionRun) -> RevisionStatus {
    let replicas: Vec<_> = run.replicas.iter().map(|r| r.shared.snapshot()).collect();
    let count = |pred: fn(&ReplicaPhase) -> bool| {
        u32::try_from(replicas.iter().filter(|r| pred(&r.phase)).count()).unwrap_or(u32::MAX)
    };
    let desired = u32::try_from(replicas.len()).unwrap_or(u32::MAX);
    let starting = count(|p| {
        matches!(
            p,
            ReplicaPhase::Starting | ReplicaPhase::BackingOff { .. } | ReplicaPhase::CrashLoop
        )
    });
    let ready = count(|p| *p == ReplicaPhase::Ready);
    let failed = count(|p| *p == ReplicaPhase::Failed);
    RevisionStatus {
        revision: revision.to_owned(),
        desired,
        starting,
        ready,
        failed,
        phase: RevisionStatus::phase_of(desired, ready, starting, failed),
        endpoints: replicas
            .iter()
            .filter(|r| r.phase == ReplicaPhase::Ready)
            .map(|r| r.endpoint.clone())
            .collect(),
        last_error: replicas.iter().rev().find_map(|r| r.last_error.clone()),
        replicas,
    }
}

/// A loopback port nobody listens on now (the replica binds it a moment later).
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind(("127.0.0.1", 0))?
        .local_addr()?
        .port())
}
