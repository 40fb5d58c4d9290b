//! One replica's life as a child process: start it in its own process group with its output
//! going to its log, find it ready, give up when it is not ready in time, restart it with
//! exponential backoff when it exits, and stop it gracefully (SIGTERM to the group, then
//! SIGKILL after the grace period).

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::watch;

use super::LocalConfig;
use super::launch::{Launch, Readiness, ReplicaIdentity};
use super::logs::RotatingLog;
use crate::backend::{ReplicaPhase, ReplicaStatus};
use crate::gateway::WorkloadKey;

/// What the supervisor shares with the backend.
#[derive(Debug)]
pub(crate) struct ReplicaShared {
    pub(crate) status: Mutex<ReplicaStatus>,
    /// The running process group, 0 when none; killed when the backend goes away.
    pub(crate) process_group: AtomicI32,
}

impl ReplicaShared {
    pub(crate) fn new(index: u32, endpoint: String) -> Self {
        Self {
            status: Mutex::new(ReplicaStatus {
                index,
                phase: ReplicaPhase::Starting,
                endpoint,
                restarts: 0,
                last_error: None,
            }),
            process_group: AtomicI32::new(0),
        }
    }

    pub(crate) fn snapshot(&self) -> ReplicaStatus {
        self.status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Kills the process group at once, if one runs.
    pub(crate) fn kill_now(&self) {
        let group = self.process_group.swap(0, Ordering::AcqRel);
        if group > 0 {
            let _ = killpg(Pid::from_raw(group), Signal::SIGKILL);
        }
    }
}

/// Kills its process group when dropped: a replica never outlives its supervisor.
struct GroupGuard<'a>(&'a ReplicaShared);

impl Drop for GroupGuard<'_> {
    fn drop(&mut self) {
        self.0.kill_now();
    }
}

/// Everything one supervisor needs.
pub(crate) struct Replica {
    pub(crate) launch: Arc<Launch>,
    pub(crate) workload: WorkloadKey,
    pub(crate) revision: String,
    pub(crate) index: u32,
    pub(crate) port: u16,
    pub(crate) config: Arc<LocalConfig>,
    pub(crate) shared: Arc<ReplicaShared>,
    pub(crate) changes: watch::Sender<u64>,
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

    fn log_path(&self) -> std::path::PathBuf {
        self.config.log_path(&self.workload, &self.revision, self.index)
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

    /// Starts the process once and follows it until it exits, fails or is stopped.
    async fn run_once(&self, stop: &mut watch::Receiver<bool>) -> Outcome {
        let identity = ReplicaIdentity {
            workload: &self.workload,
            revision: &self.revision,
            index: self.index,
            port: self.port,
        };
        let (args, env) = self.launch.for_replica(&identity);
        let log = match RotatingLog::open(
            self.log_path(),
            self.config.log_max_bytes,
            self.config.log_files_kept,
        ) {
            Ok(log) => Arc::new(Mutex::new(log)),
            Err(e) => {
                return Outcome::Failed(format!("cannot open its log {}: {e}", self.log_path().display()));
            }
        };
        let mut command = tokio::process::Command::new(&self.launch.program);
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
        if let Some(dir) = &self.launch.working_dir {
            command.current_dir(dir);
        }
        let mut child = match command.spawn() {
            Ok(child) => child,
            // A program that cannot start will not start on a retry either.
            Err(e) => return Outcome::Failed(format!("cannot start `{}`: {e}", self.launch.program)),
        };
        let pid = child.id().and_then(|id| i32::try_from(id).ok()).unwrap_or(0);
        self.shared.process_group.store(pid, Ordering::Release);
        let _guard = GroupGuard(&self.shared);
        if let Some(out) = child.stdout.take() {
            tokio::spawn(pump(out, Arc::clone(&log)));
        }
        if let Some(err) = child.stderr.take() {
            tokio::spawn(pump(err, Arc::clone(&log)));
        }
        self.set(|s| s.phase = ReplicaPhase::Starting);

        let deadline = self
            .launch
            .initialization_timeout
            .map(|t| tokio::time::Instant::now() + t);
        let mut ready = false;
        let mut failures = 0u32;
        let (period, initial_delay) = match &self.launch.readiness {
            Readiness::HttpGet {
                period,
                initial_delay,
                ..
            } => (*period, *initial_delay),
            Readiness::Tcp { period } => (*period, Duration::ZERO),
        };
        let mut next_probe = tokio::time::Instant::now() + initial_delay;
        loop {
            let timeout = async {
                match deadline {
                    Some(deadline) if !ready => tokio::time::sleep_until(deadline).await,
                    _ => std::future::pending().await,
                }
            };
            tokio::select! {
                exited = child.wait() => {
                    return Outcome::Exited(match exited {
                        Ok(status) => format!("exited with {status}"),
                        Err(e) => format!("could not be waited for: {e}"),
                    });
                }
                () = stopped(stop) => {
                    self.stop_gracefully(&mut child, pid).await;
                    return Outcome::Stopped;
                }
                () = timeout => {
                    self.stop_gracefully(&mut child, pid).await;
                    let limit = self.launch.initialization_timeout.unwrap_or_default().as_secs();
                    return Outcome::Failed(format!(
                        "not ready within initializationTimeoutSeconds ({limit} s); its log: {}",
                        self.log_path().display()
                    ));
                }
                () = tokio::time::sleep_until(next_probe) => {
                    next_probe = tokio::time::Instant::now() + period;
                    let passed = probe(&self.launch.readiness, self.port).await;
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

    /// SIGTERM to the group, then SIGKILL once the grace period is over.
    async fn stop_gracefully(&self, child: &mut tokio::process::Child, pid: i32) {
        if pid > 0 {
            let _ = killpg(Pid::from_raw(pid), Signal::SIGTERM);
        }
        if tokio::time::timeout(self.config.grace_period, child.wait())
            .await
            .is_err()
        {
            self.shared.kill_now();
            let _ = child.wait().await;
        }
        // Whatever else the group started goes too.
        self.shared.kill_now();
    }
}

/// Completes when `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
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
