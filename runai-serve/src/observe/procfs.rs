//! CPU and memory of a replica's process tree, read from Linux's `/proc`.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Instant;

use nix::unistd::{SysconfVar, sysconf};

/// One read of a process tree.
#[derive(Clone, Debug, PartialEq)]
pub struct ProcessTreeUsage {
    /// The root and its live descendants, root first.
    pub pids: Vec<u32>,
    /// CPU time used so far, user plus system, seconds. Includes children that exited and
    /// were waited for, so the total does not drop when a worker process ends.
    pub cpu_seconds: f64,
    /// Resident memory, bytes.
    pub rss_bytes: u64,
}

/// A replica's usage as the metrics API reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplicaUsage {
    /// The processes it was read from, root first.
    pub pids: Vec<u32>,
    /// Cores in use since the previous sample of the same root (`CPU_USAGE_CORES`); `None`
    /// on the first sample, which has nothing to compare with.
    pub cpu_cores: Option<f64>,
    /// Resident memory, bytes (`CPU_MEMORY_USAGE_BYTES`).
    pub memory_bytes: u64,
}

/// Samples process trees on Linux and turns CPU time into cores used, remembering each
/// root's previous sample.
///
/// A replica is a process and everything it started; the tree is found from the parent ids
/// in `/proc/*/stat`, and CPU time and resident memory are summed over it. A process that
/// exits while the tree is read is skipped; without `/proc` every sample is `None`.
///
/// ```
/// use runai_serve::observe::ProcessSampler;
///
/// let mut sampler = ProcessSampler::new();
/// let root = std::process::id();
/// if let Some(usage) = sampler.sample(root) {
///     assert_eq!(usage.pids[0], root);
///     assert!(usage.cpu_cores.is_none(), "the first sample has no rate yet");
/// }
/// ```
#[derive(Debug)]
pub struct ProcessSampler {
    clock_ticks_per_second: f64,
    page_size: u64,
    previous: HashMap<u32, (Instant, f64)>,
}

impl Default for ProcessSampler {
    fn default() -> Self {
        Self::new()
    }
}

impl ProcessSampler {
    /// A sampler with no history.
    pub fn new() -> Self {
        // `/proc/*/stat` counts CPU time in clock ticks and memory in pages. 100 ticks and
        // 4 KiB pages are what Linux uses on every common architecture, should sysconf fail.
        let clock_ticks = match sysconf(SysconfVar::CLK_TCK) {
            Ok(Some(ticks)) if ticks > 0 => ticks as f64,
            _ => 100.0,
        };
        let page_size = match sysconf(SysconfVar::PAGE_SIZE) {
            Ok(Some(size)) if size > 0 => size as u64,
            _ => 4096,
        };
        Self {
            clock_ticks_per_second: clock_ticks,
            page_size,
            previous: HashMap::new(),
        }
    }

    /// Reads `root`'s tree and, when it was sampled before, the cores it used since.
    /// `None` when `root` is no longer running; its history is then forgotten.
    pub fn sample(&mut self, root: u32) -> Option<ReplicaUsage> {
        let now = Instant::now();
        let Some(tree) = self.read_tree(root) else {
            self.previous.remove(&root);
            return None;
        };
        let cpu_cores = self
            .previous
            .insert(root, (now, tree.cpu_seconds))
            .and_then(|(then, cpu_then)| {
                let wall = now.duration_since(then).as_secs_f64();
                // A process that was not waited for takes its CPU time away with it, so the
                // total can shrink; that is no negative use.
                (wall > 0.0).then(|| (tree.cpu_seconds - cpu_then).max(0.0) / wall)
            });
        Some(ReplicaUsage {
            pids: tree.pids,
            cpu_cores,
            memory_bytes: tree.rss_bytes,
        })
    }

    /// Forgets `root`'s history (its replica stopped).
    pub fn forget(&mut self, root: u32) {
        self.previous.remove(&root);
    }

    /// Reads `root` and its descendants; `None` when `root` is not running.
    pub fn read_tree(&self, root: u32) -> Option<ProcessTreeUsage> {
        let proc_root = Path::new("/proc");
        let root_stat = read_stat(proc_root, root)?;
        let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
        let mut stats = HashMap::from([(root, root_stat)]);
        for entry in std::fs::read_dir(proc_root).ok()?.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|name| name.parse::<u32>().ok())
            else {
                continue;
            };
            if pid == root {
                continue;
            }
            if let Some(stat) = read_stat(proc_root, pid) {
                children.entry(stat.ppid).or_default().push(pid);
                stats.insert(pid, stat);
            }
        }
        let mut pids = vec![root];
        let mut seen = HashSet::from([root]);
        let mut next = 0;
        while let Some(&pid) = pids.get(next) {
            next += 1;
            for &child in children.get(&pid).into_iter().flatten() {
                // A pid reused while we read could in theory form a cycle.
                if seen.insert(child) {
                    pids.push(child);
                }
            }
        }
        let (mut ticks, mut pages) = (0_u64, 0_u64);
        for pid in &pids {
            if let Some(stat) = stats.get(pid) {
                ticks = ticks.saturating_add(stat.cpu_ticks);
                pages = pages.saturating_add(stat.rss_pages);
            }
        }
        Some(ProcessTreeUsage {
            pids,
            cpu_seconds: ticks as f64 / self.clock_ticks_per_second,
            rss_bytes: pages.saturating_mul(self.page_size),
        })
    }
}

/// The fields of `/proc/PID/stat` the sampler needs.
#[derive(Clone, Copy, Debug)]
struct Stat {
    ppid: u32,
    /// utime + stime + cutime + cstime.
    cpu_ticks: u64,
    rss_pages: u64,
}

fn read_stat(proc_root: &Path, pid: u32) -> Option<Stat> {
    // Any error (most often: the process exited) means "skip this one".
    let text = std::fs::read_to_string(proc_root.join(pid.to_string()).join("stat")).ok()?;
    parse_stat(&text)
}

/// Parses `pid (comm) state ppid ...`. The command name may hold spaces and parentheses, so
/// the fields are counted from the last `)`.
fn parse_stat(text: &str) -> Option<Stat> {
    let (_, after_comm) = text.rsplit_once(')')?;
    // Field 3 (state) is index 0 here; see proc_pid_stat(5) for the numbering.
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    let field = |number: usize| -> Option<u64> { fields.get(number - 3)?.parse().ok() };
    let cpu_ticks = [14, 15, 16, 17]
        .into_iter()
        .map(|number| {
            // cutime and cstime are signed in the kernel's format; they are never negative
            // in practice, and a negative one would be noise.
            fields
                .get(number - 3)
                .and_then(|v| v.parse::<i64>().ok())
                .map(|v| u64::try_from(v).unwrap_or(0))
        })
        .try_fold(0_u64, |sum, ticks| Some(sum.saturating_add(ticks?)))?;
    Some(Stat {
        ppid: u32::try_from(field(4)?).ok()?,
        cpu_ticks,
        rss_pages: fields
            .get(24 - 3)?
            .parse::<i64>()
            .ok()
            .map_or(0, |v| u64::try_from(v).unwrap_or(0)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_with_awkward_command_names_parse() {
        let line = "4242 (my (odd) worker) R 17 4242 17 0 -1 4194560 500 0 0 0 \
                    250 50 7 3 20 0 3 0 12345 104857600 2560 18446744073709551615 \
                    1 1 0 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0";
        let stat = parse_stat(line).unwrap();
        assert_eq!(stat.ppid, 17);
        assert_eq!(stat.cpu_ticks, 310);
        assert_eq!(stat.rss_pages, 2560);
        assert!(parse_stat("4242 (truncated) R").is_none());
        assert!(parse_stat("").is_none());
    }
}
