//! One replica's life as a child process: start it in its own process group with its output
//! going to its log, find it ready, give up when it is not ready in time, restart it with
//! exponential backoff when it exits, and stop it gracefully (SIGTERM to the group, then
//! SIGKILL after the grace period).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::watch;

use super::LocalConfig;
use super::launch::{Launch, Readiness, ReplicaIdentity};
use super::logs::RotatingLog;
use super::watchdog::Watchdog;
use crate::backend::{ReplicaPhase, ReplicaStatus};
use crate::gateway::WorkloadKey;

/// What the supervisor shares with the backend.
#[derive(Debug)]
pub(crate) struct ReplicaShared {
    pub(crate) status: Mutex<ReplicaStatus>,
    /// The running process groups (one per group member); killed when the backend goes
    /// away.
    process_groups: Mutex<Vec<i32>>,
    /// Told of every group, to kill them should the backend die without doing so.
    watchdog: Option<Arc<Watchdog>>,
}

impl ReplicaShared {
    pub(crate) fn new(index: u32, endpoint: String, watchdog: Option<Arc<Watchdog>>) -> Self {
        Self {
            status: Mutex::new(ReplicaStatus {
                index,
                phase: ReplicaPhase::Starting,
                endpoint,
                restarts: 0,
                last_error: None,
                pids: Vec::new(),
            }),
            process_groups: Mutex::new(Vec::new()),
            watchdog,
        }
    }

    pub(crate) fn snapshot(&self) -> ReplicaStatus {
        let mut status = self
            .status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        // Each member leads its own process group, so the groups are the members' pids.
        status.pids = self
            .groups()
            .iter()
            .filter_map(|&group| u32::try_from(group).ok())
            .collect();
        status
    }

    fn groups(&self) -> std::sync::MutexGuard<'_, Vec<i32>> {
        self.process_groups
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Kills every running process group at once.
    pub(crate) fn kill_now(&self) {
        for group in std::mem::take(&mut *self.groups()) {
            self.kill(group);
        }
    }

    fn kill_group(&self, group: i32) {
        self.groups().retain(|&g| g != group);
        self.kill(group);
    }

    fn kill(&self, group: i32) {
        let _ = killpg(Pid::from_raw(group), Signal::SIGKILL);
        if let Some(watchdog) = &self.watchdog {
            watchdog.unregister(group);
        }
    }

    fn add(&self, group: i32) {
        self.groups().push(group);
        if let Some(watchdog) = &self.watchdog {
            watchdog.register(group);
        }
    }
}

/// Kills the replica's process groups when dropped: a replica never outlives its
/// supervisor.
struct GroupGuard<'a>(&'a ReplicaShared);

impl Drop for GroupGuard<'_> {
    fn drop(&mut self) {
        self.0.kill_now();
    }
}

/// How a distributed replica's members start and restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GroupPolicy {
    /// Workers start once the leader is ready (`LeaderReady`), not once it exists.
    pub(crate) workers_after_leader_ready: bool,
    /// One member exiting restarts the whole group (`RecreateGroupOnPodRestart`).
    pub(crate) recreate_group: bool,
}

/// Everything one supervisor needs. A replica is one process, or for distributed inference
/// a group: the leader (member 0, serving on the replica's endpoint) and its workers.
pub(crate) struct Replica {
    /// The leader's launch first, then one per worker.
    pub(crate) members: Vec<Arc<Launch>>,
    /// One port per member.
    pub(crate) ports: Vec<u16>,
    pub(crate) group: Option<GroupPolicy>,
    pub(crate) workload: WorkloadKey,
    pub(crate) revision: String,
    pub(crate) index: u32,
    pub(crate) config: Arc<LocalConfig>,
    pub(crate) shared: Arc<ReplicaShared>,
    pub(crate) changes: watch::Sender<u64>,
}

/// A started member process.
struct Member {
    child: tokio::process::Child,
    group: i32,
}

impl Replica {
    fn set(&self, change: impl FnOnce(&mut ReplicaStatus)) {
        {
            let mut status = self
                .shared
                .status
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            change(&mut status);
        }
        self.changes.send_modify(|version| *version += 1);
    }

    /// Member 0 logs as `replica-{index}.log`, worker `w` as `replica-{index}-worker-{w}.log`.
    fn log_path(&self, member: usize) -> std::path::PathBuf {
        let leader = self.config.log_path(&self.workload, &self.revision, self.index);
        if member == 0 {
            return leader;
        }
        leader.with_file_name(format!("replica-{}-worker-{member}.log", self.index))
    }

    /// Runs the replica until `stop` turns true or it fails for good.
    pub(crate) async fn supervise(self, mut stop: watch::Receiver<bool>) {
        let mut consecutive_failures = 0u32;
        loop {
            let started = Instant::now();
            let outcome = self.run_once(&mut stop).await;
            match outcome {
                Outcome::Stopped => {
                    self.set(|s| s.phase = ReplicaPhase::Stopped);
                    return;
                }
                Outcome::Failed(reason) => {
                    self.set(|s| {
                        s.phase = ReplicaPhase::Failed;
                        s.last_error = Some(reason);
                    });
                    return;
                }
                Outcome::Exited(reason) => {
                    if started.elapsed() >= self.config.backoff_reset_after {
                        consecutive_failures = 0;
                    }
                    consecutive_failures += 1;
                    let delay = backoff(&self.config, consecutive_failures);
                    let crash_loop = consecutive_failures >= self.config.crash_loop_after;
                    self.set(|s| {
                        s.restarts += 1;
                        s.last_error = Some(reason);
                        s.phase = if crash_loop {
                            ReplicaPhase::CrashLoop
                        } else {
                            ReplicaPhase::BackingOff { delay }
                        };
                    });
                    tokio::select! {
                        () = tokio::time::sleep(delay) => {}
                        () = stopped(&mut stop) => {
                            self.set(|s| s.phase = ReplicaPhase::Stopped);
                            return;
                        }
                    }
                }
            }
        }
    }

    /// Starts member `member` in its own process group, its output going to its log.
    fn start_member(&self, member: usize) -> Result<Member, String> {
        let launch = &self.members[member];
        let identity = ReplicaIdentity {
            workload: &self.workload,
            revision: &self.revision,
            index: self.index,
            port: self.ports[member],
            group: self.group.map(|_| (self.members.len() as u32, member as u32)),
        };
        let (args, env) = launch.for_replica(&identity);
        let path = self.log_path(member);
        let log = RotatingLog::open(
            path.clone(),
            self.config.log_max_bytes,
            self.config.log_files_kept,
        )
        .map_err(|e| format!("cannot open its log {}: {e}", path.display()))?;
        let log = Arc::new(Mutex::new(log));
        let mut command = tokio::process::Command::new(&launch.program);
        command
            .args(&args)
            .env_clear()
            .envs(inherited_env())
            .envs(&env)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            // Its own group, so that stopping it reaches whatever it started.
            .process_group(0)
            .kill_on_drop(true);
        if let Some(dir) = &launch.working_dir {
            command.current_dir(dir);
        }
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start `{}`: {e}", launch.program))?;
        let group = child.id().and_then(|id| i32::try_from(id).ok()).unwrap_or(0);
        if group > 0 {
            self.shared.add(group);
        }
        if let Some(out) = child.stdout.take() {
            tokio::spawn(pump(out, Arc::clone(&log)));
        }
        if let Some(err) = child.stderr.take() {
            tokio::spawn(pump(err, log));
        }
        Ok(Member { child, group })
    }

    /// Starts the replica (every member) once and follows it until it exits, fails or is
    /// stopped.
    async fn run_once(&self, stop: &mut watch::Receiver<bool>) -> Outcome {
        let _guard = GroupGuard(&self.shared);
        let mut members = Vec::with_capacity(self.members.len());
        match self.start_member(0) {
            Ok(leader) => members.push(leader),
            // A program that cannot start will not start on a retry either.
            Err(reason) => return Outcome::Failed(reason),
        }
        self.set(|s| s.phase = ReplicaPhase::Starting);
        let leader = &self.members[0];
        let deadline = leader
            .initialization_timeout
            .map(|t| tokio::time::Instant::now() + t);
        let (period, initial_delay) = match &leader.readiness {
            Readiness::HttpGet {
                period,
                initial_delay,
                ..
            } => (*period, *initial_delay),
            Readiness::Tcp { period } => (*period, Duration::ZERO),
        };
        let workers_wait_for_ready = self.group.is_some_and(|g| g.workers_after_leader_ready);
        let mut ready = false;
        let mut failures = 0u32;
        let mut next_probe = tokio::time::Instant::now() + initial_delay;
        loop {
            if members.len() < self.members.len() && (ready || !workers_wait_for_ready) {
                for member in members.len()..self.members.len() {
                    match self.start_member(member) {
                        Ok(started) => members.push(started),
                        Err(reason) => {
                            self.stop_gracefully(&mut members).await;
                            return Outcome::Failed(reason);
                        }
                    }
                }
            }
            let timeout = async {
                match deadline {
                    Some(deadline) if !ready => tokio::time::sleep_until(deadline).await,
                    _ => std::future::pending().await,
                }
            };
            let event = {
                let any_exit =
                    futures_util::future::select_all(members.iter_mut().map(|m| Box::pin(m.child.wait())));
                tokio::select! {
                    (exited, member, _) = any_exit => Event::Exited(member, exited),
                    () = stopped(stop) => Event::Stop,
                    () = timeout => Event::Timeout,
                    () = tokio::time::sleep_until(next_probe) => Event::Probe,
                }
            };
            match event {
                Event::Exited(member, exited) => {
                    let what = if member == 0 {
                        "the leader".to_owned()
                    } else {
                        format!("worker {member}")
                    };
                    let what = if self.group.is_some() {
                        what
                    } else {
                        "it".to_owned()
                    };
                    let reason = match exited {
                        Ok(status) => format!("{what} exited with {status}"),
                        Err(e) => format!("{what} could not be waited for: {e}"),
                    };
                    let recreate = self.group.is_none_or(|g| g.recreate_group);
                    if recreate {
                        // The whole group goes, and starts again after the backoff.
                        self.stop_gracefully(&mut members).await;
                        return Outcome::Exited(reason);
                    }
                    // Only the member restarts (restart policy `None`).
                    self.shared.kill_group(members[member].group);
                    self.set(|s| {
                        s.restarts += 1;
                        s.last_error = Some(reason);
                    });
                    tokio::time::sleep(self.config.restart_backoff).await;
                    match self.start_member(member) {
                        Ok(started) => members[member] = started,
                        Err(reason) => {
                            self.stop_gracefully(&mut members).await;
                            return Outcome::Failed(reason);
                        }
                    }
                    if member == 0 && ready {
                        ready = false;
                        self.set(|s| s.phase = ReplicaPhase::Starting);
                    }
                }
                Event::Stop => {
                    self.stop_gracefully(&mut members).await;
                    return Outcome::Stopped;
                }
                Event::Timeout => {
                    self.stop_gracefully(&mut members).await;
                    let limit = leader.initialization_timeout.unwrap_or_default().as_secs();
                    return Outcome::Failed(format!(
                        "not ready within initializationTimeoutSeconds ({limit} s); its log: {}",
                        self.log_path(0).display()
                    ));
                }
                Event::Probe => {
                    next_probe = tokio::time::Instant::now() + period;
                    let passed = probe(&leader.readiness, self.ports[0]).await;
                    if passed {
                        failures = 0;
                        if !ready {
                            ready = true;
                            self.set(|s| s.phase = ReplicaPhase::Ready);
                        }
                    } else if ready {
                        failures += 1;
                        if failures >= 3 {
                            ready = false;
                            self.set(|s| {
                                s.phase = ReplicaPhase::Starting;
                                s.last_error = Some("stopped passing its readiness check".to_owned());
                            });
                        }
                    }
                }
            }
        }
    }

    /// SIGTERM to every member's group, then SIGKILL to what remains once the grace period
    /// is over.
    async fn stop_gracefully(&self, members: &mut [Member]) {
        for member in members.iter() {
            if member.group > 0 {
                let _ = killpg(Pid::from_raw(member.group), Signal::SIGTERM);
            }
        }
        let all_exited = futures_util::future::join_all(members.iter_mut().map(|m| m.child.wait()));
        if tokio::time::timeout(self.config.grace_period, all_exited)
            .await
            .is_err()
        {
            self.shared.kill_now();
            for member in members.iter_mut() {
                let _ = member.child.wait().await;
            }
        }
        // Whatever else the groups started goes too.
        self.shared.kill_now();
    }
}

/// Completes when `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// What woke a running replica's supervisor.
enum Event {
    Exited(usize, std::io::Result<std::process::ExitStatus>),
    Stop,
    Timeout,
    Probe,
}

enum Outcome {
    Exited(String),
    Failed(String),
    Stopped,
}

/// The delay before restart number `failures`: doubling from the base up to the maximum.
fn backoff(config: &LocalConfig, failures: u32) -> Duration {
    let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(20));
    config
        .restart_backoff
        .saturating_mul(factor)
        .min(config.max_restart_backoff)
}

/// The variables every replica inherits from the backend's environment (a search path for
/// programs, a home, a locale); everything else comes from the spec.
fn inherited_env() -> impl Iterator<Item = (String, String)> {
    ["PATH", "HOME", "LANG", "TMPDIR", "USER"]
        .into_iter()
        .filter_map(|name| std::env::var(name).ok().map(|v| (name.to_owned(), v)))
}

/// Copies lines of a child's output to its log.
async fn pump(stream: impl AsyncRead + Unpin, log: Arc<Mutex<RotatingLog>>) {
    let mut lines = BufReader::new(stream).split(b'\n');
    while let Ok(Some(line)) = lines.next_segment().await {
        if let Ok(mut log) = log.lock() {
            let _ = log.write_line(&line);
        }
    }
}

/// One readiness check of the replica on `port`.
async fn probe(readiness: &Readiness, port: u16) -> bool {
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let check = async {
        match readiness {
            Readiness::Tcp { .. } => tokio::net::TcpStream::connect(address).await.is_ok(),
            Readiness::HttpGet { path, .. } => http_ok(address, path).await.unwrap_or(false),
        }
    };
    tokio::time::timeout(Duration::from_secs(1), check)
        .await
        .unwrap_or(false)
}

/// Whether `GET path` answers 2xx or 3xx (HTTP/1.1, one request, connection closed).
async fn http_ok(address: std::net::SocketAddr, path: &str) -> std::io::Result<bool> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut head = [0u8; 16];
    let mut read = 0;
    while read < 12 {
        let n = stream.read(&mut head[read..]).await?;
        if n == 0 {
            break;
        }
        read += n;
    }
    // "HTTP/1.1 200 "
    let status = std::str::from_utf8(&head[..read.min(12)])
        .ok()
        .and_then(|line| line.get(9..12))
        .and_then(|code| code.parse::<u16>().ok());
    Ok(status.is_some_and(|code| (200..400).contains(&code)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let config = LocalConfig {
            restart_backoff: Duration::from_millis(100),
            max_restart_backoff: Duration::from_secs(1),
            ..LocalConfig::default()
        };
        let delays: Vec<u128> = (1..=6).map(|n| backoff(&config, n).as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1000, 1000]);
    }
}
