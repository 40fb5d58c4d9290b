//! A replica's output: stdout and stderr lines in one file, rotated when it grows past a size
//! (`replica-0.log`, then `replica-0.log.1`, ...), and read back from the end.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// An append-only log file that rotates itself.
#[derive(Debug)]
pub(crate) struct RotatingLog {
    path: PathBuf,
    file: File,
    written: u64,
    max_bytes: u64,
    keep: usize,
}

impl RotatingLog {
    /// Opens (or creates, with its folder) the log at `path`.
    pub(crate) fn open(path: PathBuf, max_bytes: u64, keep: usize) -> std::io::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let written = file.metadata()?.len();
        Ok(Self {
            path,
            file,
            written,
            max_bytes,
            keep,
        })
    }

    /// Appends one line (a newline is added when missing).
    pub(crate) fn write_line(&mut self, line: &[u8]) -> std::io::Result<()> {
        if self.written > 0 && self.written + line.len() as u64 + 1 > self.max_bytes {
            self.rotate()?;
        }
        self.file.write_all(line)?;
        let mut length = line.len() as u64;
        if !line.ends_with(b"\n") {
            self.file.write_all(b"\n")?;
            length += 1;
        }
        self.written += length;
        Ok(())
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        for i in (1..self.keep).rev() {
            let from = numbered(&self.path, i);
            if from.exists() {
                std::fs::rename(&from, numbered(&self.path, i + 1))?;
            }
        }
        if self.keep > 0 {
            std::fs::rename(&self.path, numbered(&self.path, 1))?;
        } else {
            std::fs::remove_file(&self.path)?;
        }
        self.file = OpenOptions::new().create(true).append(true).open(&self.path)?;
        self.written = 0;
        Ok(())
    }
}

fn numbered(path: &Path, i: usize) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{i}"));
    PathBuf::from(name)
}

/// The last `max_bytes` of the log at `path`, older rotated files first when the current
/// one is shorter.
pub(crate) fn tail(path: &Path, keep: usize, max_bytes: usize) -> std::io::Result<String> {
    let mut chunks = Vec::new();
    let mut remaining = max_bytes;
    for i in 0..=keep {
        if remaining == 0 {
            break;
        }
        let file = if i == 0 {
            path.to_owned()
        } else {
            numbered(path, i)
        };
        let bytes = match std::fs::read(&file) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && i > 0 => break,
            Err(e) => return Err(e),
        };
        let start = bytes.len().saturating_sub(remaining);
        remaining -= bytes.len() - start;
        chunks.push(bytes[start..].to_vec());
    }
    chunks.reverse();
    Ok(String::from_utf8_lossy(&chunks.concat()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_rotate_and_read_back_in_order() {
        let dir = std::env::temp_dir().join(format!("runai-logs-{}", std::process::id()));
        let path = dir.join("replica-0.log");
        let mut log = RotatingLog::open(path.clone(), 32, 2).unwrap();
        for i in 0..10 {
            log.write_line(format!("line {i:02} ....").as_bytes()).unwrap();
        }
        assert!(numbered(&path, 1).exists() && numbered(&path, 2).exists());
        assert!(!numbered(&path, 3).exists(), "only `keep` old files are kept");
        let text = tail(&path, 2, 1 << 20).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.last(), Some(&"line 09 ...."));
        assert!(lines.windows(2).all(|w| w[0] < w[1]), "{lines:?}");
        assert_eq!(tail(&path, 2, 13).unwrap(), "line 09 ....\n");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
