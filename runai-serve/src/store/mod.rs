//! The embedded control plane's store: workloads, their revisions and events, service
//! accounts and access keys (secrets kept only as salted hashes), and the keys that sign
//! issued tokens, in one SQLite file.
//!
//! Durability is the point: the database runs in WAL mode with `synchronous = FULL`, and
//! every change that accepts work (a new workload, a new revision) commits in one transaction
//! before the caller answers, so killing the process at any moment loses nothing that was
//! accepted. The schema is versioned (`PRAGMA user_version`) and migrated forward on open.
//!
//! Calls are synchronous and short (one transaction each); async code calls them from a
//! blocking task or accepts the brief block, as a control loop ticking every few seconds can.

mod credentials;
mod migrations;
mod workloads;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rusqlite::Connection;

pub use credentials::{Credential, CredentialKind, IssuedCredential, SigningKey};
pub use workloads::{Event, NewWorkload, RevisionRecord, WorkloadKind, WorkloadRecord};

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database could not be opened, read or written.
    #[error("store {action}: {source}")]
    Sqlite {
        /// What was being done.
        action: &'static str,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// The file was written by a newer version of this crate.
    #[error(
        "the store's schema is version {found}, newer than this build knows ({known}); run a newer build or point it at another file"
    )]
    TooNew {
        /// The schema version in the file.
        found: i64,
        /// The newest version this build knows.
        known: i64,
    },
    /// A name is taken.
    #[error("{what} `{name}` already exists")]
    Conflict {
        /// What kind of object.
        what: &'static str,
        /// Its name.
        name: String,
    },
    /// No such object.
    #[error("no {what} `{id}`")]
    NotFound {
        /// What kind of object.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// The system's secure random source failed.
    #[error("the system's random source failed; the machine cannot make ids or secrets")]
    Random,
    /// A stored value does not parse (the file was edited by hand, or is damaged).
    #[error("stored {what} is damaged: {reason}")]
    Corrupt {
        /// What was being read.
        what: &'static str,
        /// Why it does not parse.
        reason: String,
    },
}

pub(crate) fn sqlite(action: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |source| StoreError::Sqlite { action, source }
}

/// Every row `sql` selects, each read by `row`.
pub(crate) fn query_all<T>(
    connection: &Connection,
    action: &'static str,
    sql: &str,
    params: impl rusqlite::Params,
    row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>, StoreError> {
    let mut statement = connection.prepare(sql).map_err(sqlite(action))?;
    statement
        .query_map(params, row)
        .map_err(sqlite(action))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(sqlite(action))
}

/// The store. Cheap to clone; clones share the connection.
///
/// ```
/// use runai_serve::store::{NewWorkload, Store, WorkloadKind};
/// let store = Store::open_in_memory()?;
/// let workload = store.create_workload(&NewWorkload::new("1", "llama", WorkloadKind::Inference, serde_json::json!({"image": "vllm"})))?;
/// assert_eq!(store.revisions(&workload.id)?.len(), 1);
/// # Ok::<(), runai_serve::store::StoreError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Store {
    connection: Arc<Mutex<Connection>>,
}

impl Store {
    /// Opens (creating if needed) the store at `path` and brings its schema up to date.
    ///
    /// # Errors
    /// [`StoreError`] when the file cannot be opened or migrated.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let connection = Connection::open(path).map_err(sqlite("open"))?;
        Self::prepare(connection)
    }

    /// A store that lives in memory only (for tests and dry runs).
    ///
    /// # Errors
    /// [`StoreError`] when SQLite cannot start.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        let connection = Connection::open_in_memory().map_err(sqlite("open"))?;
        Self::prepare(connection)
    }

    fn prepare(mut connection: Connection) -> Result<Self, StoreError> {
        // WAL lets readers work while a write commits; FULL makes each commit durable before it
        // returns, so an accepted workload survives a crash of the process or the machine.
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(sqlite("set WAL mode"))?;
        connection
            .pragma_update(None, "synchronous", "FULL")
            .map_err(sqlite("set synchronous"))?;
        connection
            .pragma_update(None, "foreign_keys", "ON")
            .map_err(sqlite("enable foreign keys"))?;
        connection
            .busy_timeout(std::time::Duration::from_secs(5))
            .map_err(sqlite("set the busy timeout"))?;
        migrations::migrate(&mut connection)?;
        Ok(Self {
            connection: Arc::new(Mutex::new(connection)),
        })
    }

    /// The schema version of the open file.
    ///
    /// ```
    /// let store = runai_serve::store::Store::open_in_memory()?;
    /// assert!(store.schema_version()? >= 1);
    /// # Ok::<(), runai_serve::store::StoreError>(())
    /// ```
    ///
    /// # Errors
    /// [`StoreError`] when SQLite fails.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.lock()
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(sqlite("read the schema version"))
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a half-done transaction behind: SQLite
        // rolls back an unfinished one, so the connection is safe to keep using.
        self.connection.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Now, as RFC 3339 UTC with milliseconds, the form the Run:ai API uses.
pub(crate) fn now() -> String {
    let elapsed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(elapsed.as_secs(), elapsed.subsec_millis())
}

/// `seconds` since the epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub(crate) fn rfc3339(seconds: u64, millis: u32) -> String {
    let days = seconds / 86_400;
    let rest = seconds % 86_400;
    // Civil date from days since 1970-01-01 (the days-from-civil inverse).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// A random id in the UUID v4 layout.
pub(crate) fn new_id() -> Result<String, StoreError> {
    let mut bytes = [0_u8; 16];
    credentials::random(&mut bytes)?;
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_ids_have_the_wire_forms() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_795_651_200, 42), "2026-11-26T00:00:00.042Z");
        let id = new_id().unwrap();
        assert_eq!(id.len(), 36);
        assert_eq!(id.as_bytes()[14], b'4');
        assert_ne!(new_id().unwrap(), id);
    }
}
