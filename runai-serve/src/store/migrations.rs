//! Schema versions, applied in order, each in its own transaction, recorded in
//! `PRAGMA user_version`. A version is never edited once released: changes are new versions.

use rusqlite::Connection;

use super::{StoreError, sqlite};

/// Version 1: workloads, revisions, events, credentials, signing keys.
const V1: &str = "
CREATE TABLE workloads (
    id            TEXT PRIMARY KEY,
    project_id    TEXT NOT NULL,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    spec          TEXT NOT NULL,
    desired_phase TEXT NOT NULL,
    phase         TEXT NOT NULL,
    phase_message TEXT,
    generation    INTEGER NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    deleted_at    TEXT
);
-- One live workload per name and project; deleted ones keep their history.
CREATE UNIQUE INDEX workloads_live_name ON workloads(project_id, name) WHERE deleted_at IS NULL;

CREATE TABLE revisions (
    id            TEXT PRIMARY KEY,
    workload_id   TEXT NOT NULL REFERENCES workloads(id),
    number        INTEGER NOT NULL,
    spec          TEXT NOT NULL,
    phase         TEXT NOT NULL,
    phase_message TEXT,
    created_at    TEXT NOT NULL,
    deleted_at    TEXT,
    UNIQUE (workload_id, number)
);

CREATE TABLE events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    workload_id TEXT NOT NULL REFERENCES workloads(id),
    revision_id TEXT,
    at          TEXT NOT NULL,
    kind        TEXT NOT NULL,
    reason      TEXT NOT NULL,
    message     TEXT NOT NULL
);
CREATE INDEX events_by_workload ON events(workload_id, id);

CREATE TABLE credentials (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    owner       TEXT,
    client_id   TEXT NOT NULL UNIQUE,
    secret_salt BLOB NOT NULL,
    secret_hash BLOB NOT NULL,
    enabled     INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    last_login  TEXT,
    UNIQUE (kind, name)
);

CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY,
    algorithm   TEXT NOT NULL,
    private_der BLOB NOT NULL,
    public_jwk  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    retired_at  TEXT
);
";

/// Every version, oldest first; the schema version is the number of entries applied.
const VERSIONS: &[&str] = &[V1];

/// Brings the schema to the newest version this build knows.
pub(super) fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    let known = i64::try_from(VERSIONS.len()).unwrap_or(i64::MAX);
    let found: i64 = connection
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(sqlite("read the schema version"))?;
    if found > known {
        return Err(StoreError::TooNew { found, known });
    }
    for (index, script) in VERSIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(found).unwrap_or(0))
    {
        let transaction = connection.transaction().map_err(sqlite("begin a migration"))?;
        transaction
            .execute_batch(script)
            .map_err(sqlite("migrate the schema"))?;
        let version = i64::try_from(index + 1).unwrap_or(i64::MAX);
        transaction
            .pragma_update(None, "user_version", version)
            .map_err(sqlite("record the schema version"))?;
        transaction.commit().map_err(sqlite("commit a migration"))?;
    }
    Ok(())
}
