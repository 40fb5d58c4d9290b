//! The data folder holds the store, and the store holds the key that signs every token: a
//! local user who can read it can mint admin tokens. So the folder is made `0700` and the
//! store's files `0600` (SQLite gives its `-wal` and `-shm` files the database's mode), and
//! a folder or store file that others can read or write stops the platform at start, with
//! the commands that fix it; nothing is silently re-permissioned.

use std::fs::{DirBuilder, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Why the data folder cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataDirError {
    /// A file system call failed.
    #[error("preparing the data folder ({path}): {source}")]
    Io {
        /// The folder or file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Other users can read or write a folder or file that holds secrets.
    #[error(
        "{path} is readable or writable by other users (mode {mode:o}), and it holds the key that signs tokens; run `{fix}` and start again"
    )]
    Exposed {
        /// The folder or file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
        /// The command that fixes it.
        fix: String,
    },
}

/// The store's files: the database and SQLite's companions.
const STORE_FILES: [&str; 3] = ["runai.db", "runai.db-wal", "runai.db-shm"];

/// Makes `dir` (mode `0700`) and the store file (mode `0600`) when missing, and refuses
/// either when others may read or write it. Returns the store's path.
pub(crate) fn prepare(dir: &Path) -> Result<PathBuf, DataDirError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| DataDirError::Io { path, source }
    };
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io(dir))?;
    refuse_exposed(dir, "chmod 700")?;
    let store = dir.join(STORE_FILES[0]);
    // Created with its final mode, so there is no moment when others could open it.
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&store)
        .map_err(io(&store))?;
    for name in STORE_FILES {
        let path = dir.join(name);
        if path.exists() {
            refuse_exposed(&path, "chmod 600")?;
        }
    }
    Ok(store)
}

fn refuse_exposed(path: &Path, chmod: &str) -> Result<(), DataDirError> {
    let metadata = std::fs::metadata(path).map_err(|source| DataDirError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mode = metadata.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(DataDirError::Exposed {
            path: path.to_owned(),
            mode,
            fix: format!("{chmod} {}", path.display()),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("runai-data-dir-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().mode() & 0o777
    }

    #[test]
    fn a_new_folder_is_private_and_so_is_the_store() {
        let dir = scratch("new").join("nested");
        let store = prepare(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&store), 0o600);
        // Preparing again is fine.
        prepare(&dir).unwrap();
        std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
    }

    #[test]
    fn an_exposed_folder_or_store_is_refused_with_the_fix() {
        let dir = scratch("exposed");
        prepare(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let error = prepare(&dir).unwrap_err().to_string();
        assert!(error.contains("chmod 700") && error.contains("755"), "{error}");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        let wal = dir.join("runai.db-wal");
        std::fs::write(&wal, b"").unwrap();
        std::fs::set_permissions(&wal, std::fs::Permissions::from_mode(0o644)).unwrap();
        let error = prepare(&dir).unwrap_err().to_string();
        assert!(
            error.contains("chmod 600") && error.contains("runai.db-wal"),
            "{error}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
