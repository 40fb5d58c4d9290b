//! A small shell process that outlives the backend: it is told every process group the
//! backend starts and stops, and when the backend dies without stopping them (killed, or
//! crashed), its input closes and it kills whatever groups are still registered. Replicas
//! are therefore never orphaned, without any code running between fork and exec.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;

/// Reads `+PGID` and `-PGID` lines; at end of input kills the groups still listed.
const SCRIPT: &str = r#"groups=" "
while IFS= read -r line; do
  case "$line" in
    +*) groups="$groups${line#+} " ;;
    -*) groups=$(printf '%s' "$groups" | sed "s/ ${line#-} / /") ;;
  esac
done
for g in $groups; do kill -9 "-$g" 2>/dev/null; done
"#;

#[derive(Debug)]
pub(crate) struct Watchdog {
    input: Mutex<Option<ChildStdin>>,
    process: Mutex<Child>,
}

impl Watchdog {
    /// Starts the watchdog in its own process group (a Ctrl-C to the backend's group must
    /// not stop it before it has done its job).
    pub(crate) fn start() -> std::io::Result<Self> {
        let mut process = Command::new("/bin/sh")
            .arg("-c")
            .arg(SCRIPT)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()?;
        let input = process.stdin.take();
        Ok(Self {
            input: Mutex::new(input),
            process: Mutex::new(process),
        })
    }

    fn send(&self, line: &str) {
        let mut input = self
            .input
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(pipe) = input.as_mut() {
            // A watchdog that died cannot be told; the backend still kills what it stops.
            let _ = writeln!(pipe, "{line}");
        }
    }

    pub(crate) fn register(&self, group: i32) {
        self.send(&format!("+{group}"));
    }

    pub(crate) fn unregister(&self, group: i32) {
        self.send(&format!("-{group}"));
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        // Closing its input lets it finish (the backend has stopped its groups by now).
        self.input
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        let process = self
            .process
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let _ = process.wait();
    }
}
