//! Workloads, their revisions and their events.

use rusqlite::{OptionalExtension, Row, params};
use serde_json::Value;

use super::{Store, StoreError, new_id, now, query_all, sqlite};

/// The API a workload was submitted through.
///
/// ```
/// use runai_serve::store::WorkloadKind;
/// assert_eq!(WorkloadKind::Distributed.as_str(), "distributed-inference");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WorkloadKind {
    /// Standard inference.
    Inference,
    /// Distributed (leader and workers) inference.
    Distributed,
    /// An NVIDIA NIM service.
    Nim,
}

impl WorkloadKind {
    /// The stored (and Run:ai `type`) name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inference => "inference",
            Self::Distributed => "distributed-inference",
            Self::Nim => "nim-service",
        }
    }

    fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "inference" => Ok(Self::Inference),
            "distributed-inference" => Ok(Self::Distributed),
            "nim-service" => Ok(Self::Nim),
            other => Err(StoreError::Corrupt {
                what: "workload kind",
                reason: format!("unknown kind `{other}`"),
            }),
        }
    }
}

/// A workload to create.
///
/// ```
/// use runai_serve::store::{NewWorkload, WorkloadKind};
/// let new = NewWorkload::new("1", "llama", WorkloadKind::Inference, serde_json::json!({}))
///     .created_by("alice@example.com");
/// assert_eq!(new.created_by, "alice@example.com");
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct NewWorkload {
    /// The project.
    pub project_id: String,
    /// The name, unique among the project's live workloads.
    pub name: String,
    /// The API it came through.
    pub kind: WorkloadKind,
    /// The spec as submitted (defaults applied).
    pub spec: Value,
    /// Who submitted it.
    pub created_by: String,
}

impl NewWorkload {
    /// A workload named `name` in project `project_id`.
    pub fn new(
        project_id: impl Into<String>,
        name: impl Into<String>,
        kind: WorkloadKind,
        spec: Value,
    ) -> Self {
        Self {
            project_id: project_id.into(),
            name: name.into(),
            kind,
            spec,
            created_by: "admin".to_owned(),
        }
    }

    /// Records who submitted it.
    #[must_use]
    pub fn created_by(mut self, who: impl Into<String>) -> Self {
        self.created_by = who.into();
        self
    }
}

/// A stored workload.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct WorkloadRecord {
    /// Its id (a UUID).
    pub id: String,
    /// The project.
    pub project_id: String,
    /// The name.
    pub name: String,
    /// The API it came through.
    pub kind: WorkloadKind,
    /// The current spec (that of the newest revision).
    pub spec: Value,
    /// What the user asked for: `Running`, `Stopped` or `Deleted`.
    pub desired_phase: String,
    /// Where it is.
    pub phase: String,
    /// Why.
    pub phase_message: Option<String>,
    /// Bumped on every spec change; the newest revision's number.
    pub generation: i64,
    /// Who submitted it.
    pub created_by: String,
    /// When (RFC 3339).
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// When it was deleted.
    pub deleted_at: Option<String>,
}

/// One revision of a workload: the spec it ran.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RevisionRecord {
    /// Its id (a UUID).
    pub id: String,
    /// The workload.
    pub workload_id: String,
    /// 1 for the first spec, then one more per change.
    pub number: i64,
    /// The spec.
    pub spec: Value,
    /// Where it is.
    pub phase: String,
    /// Why.
    pub phase_message: Option<String>,
    /// When it was made.
    pub created_at: String,
    /// When it was removed.
    pub deleted_at: Option<String>,
}

/// Something that happened to a workload, for people reading why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Event {
    /// Increasing with time.
    pub id: i64,
    /// The workload.
    pub workload_id: String,
    /// The revision, when it is about one.
    pub revision_id: Option<String>,
    /// When.
    pub at: String,
    /// `Normal` or `Warning`.
    pub kind: String,
    /// A short machine-readable reason, such as `Preempted`.
    pub reason: String,
    /// What happened, for people.
    pub message: String,
}

const WORKLOAD_COLUMNS: &str = "id, project_id, name, kind, spec, desired_phase, phase, phase_message, generation, created_by, created_at, updated_at, deleted_at";
const REVISION_COLUMNS: &str = "id, workload_id, number, spec, phase, phase_message, created_at, deleted_at";

fn json(text: &str, what: &'static str) -> Result<Value, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
        what,
        reason: e.to_string(),
    })
}

fn workload_row(row: &Row<'_>) -> rusqlite::Result<(WorkloadRecord, String, String)> {
    let kind: String = row.get(3)?;
    let spec: String = row.get(4)?;
    Ok((
        WorkloadRecord {
            id: row.get(0)?,
            project_id: row.get(1)?,
            name: row.get(2)?,
            kind: WorkloadKind::Inference,
            spec: Value::Null,
            desired_phase: row.get(5)?,
            phase: row.get(6)?,
            phase_message: row.get(7)?,
            generation: row.get(8)?,
            created_by: row.get(9)?,
            created_at: row.get(10)?,
            updated_at: row.get(11)?,
            deleted_at: row.get(12)?,
        },
        kind,
        spec,
    ))
}

fn finish_workload(
    (mut record, kind, spec): (WorkloadRecord, String, String),
) -> Result<WorkloadRecord, StoreError> {
    record.kind = WorkloadKind::parse(&kind)?;
    record.spec = json(&spec, "workload spec")?;
    Ok(record)
}

fn revision_row(row: &Row<'_>) -> rusqlite::Result<(RevisionRecord, String)> {
    let spec: String = row.get(3)?;
    Ok((
        RevisionRecord {
            id: row.get(0)?,
            workload_id: row.get(1)?,
            number: row.get(2)?,
            spec: Value::Null,
            phase: row.get(4)?,
            phase_message: row.get(5)?,
            created_at: row.get(6)?,
            deleted_at: row.get(7)?,
        },
        spec,
    ))
}

fn finish_revision((mut record, spec): (RevisionRecord, String)) -> Result<RevisionRecord, StoreError> {
    record.spec = json(&spec, "revision spec")?;
    Ok(record)
}

fn insert_event(
    connection: &rusqlite::Connection,
    workload_id: &str,
    revision_id: Option<&str>,
    kind: &str,
    reason: &str,
    message: &str,
) -> Result<(), StoreError> {
    connection
        .execute(
            "INSERT INTO events (workload_id, revision_id, at, kind, reason, message) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![workload_id, revision_id, now(), kind, reason, message],
        )
        .map_err(sqlite("record an event"))?;
    Ok(())
}

impl Store {
    /// Accepts a workload: the workload, its first revision and a `Created` event, in one
    /// durable transaction.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the project already has a live workload of that name.
    pub fn create_workload(&self, new: &NewWorkload) -> Result<WorkloadRecord, StoreError> {
        let mut connection = self.lock();
        let transaction = connection.transaction().map_err(sqlite("begin"))?;
        let taken: bool = transaction
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM workloads WHERE project_id = ?1 AND name = ?2 AND deleted_at IS NULL)",
                params![new.project_id, new.name],
                |row| row.get(0),
            )
            .map_err(sqlite("look up the name"))?;
        if taken {
            return Err(StoreError::Conflict {
                what: "workload",
                name: new.name.clone(),
            });
        }
        let id = new_id()?;
        let at = now();
        let spec = new.spec.to_string();
        transaction
            .execute(
                &format!("INSERT INTO workloads ({WORKLOAD_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, 'Running', 'Creating', NULL, 1, ?6, ?7, ?7, NULL)"),
                params![id, new.project_id, new.name, new.kind.as_str(), spec, new.created_by, at],
            )
            .map_err(sqlite("insert a workload"))?;
        let revision = new_id()?;
        transaction
            .execute(
                &format!("INSERT INTO revisions ({REVISION_COLUMNS}) VALUES (?1, ?2, 1, ?3, 'Creating', NULL, ?4, NULL)"),
                params![revision, id, spec, at],
            )
            .map_err(sqlite("insert a revision"))?;
        insert_event(
            &transaction,
            &id,
            Some(&revision),
            "Normal",
            "Created",
            "workload accepted",
        )?;
        transaction.commit().map_err(sqlite("commit a new workload"))?;
        drop(connection);
        self.workload(&id)
    }

    /// One workload, deleted ones included.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is none.
    pub fn workload(&self, id: &str) -> Result<WorkloadRecord, StoreError> {
        let connection = self.lock();
        let row = connection
            .query_row(
                &format!("SELECT {WORKLOAD_COLUMNS} FROM workloads WHERE id = ?1"),
                params![id],
                workload_row,
            )
            .optional()
            .map_err(sqlite("read a workload"))?;
        let row = row.ok_or_else(|| StoreError::NotFound {
            what: "workload",
            id: id.to_owned(),
        })?;
        finish_workload(row)
    }

    /// The live workloads (not deleted), oldest first.
    ///
    /// # Errors
    /// [`StoreError`] when SQLite fails or a row is damaged.
    pub fn workloads(&self) -> Result<Vec<WorkloadRecord>, StoreError> {
        let sql = format!(
            "SELECT {WORKLOAD_COLUMNS} FROM workloads WHERE deleted_at IS NULL ORDER BY created_at, id"
        );
        let rows = query_all(&self.lock(), "list workloads", &sql, [], workload_row)?;
        rows.into_iter().map(finish_workload).collect()
    }

    /// Workloads deleted by the user whose teardown is not finished (phase not `Deleted`).
    ///
    /// # Errors
    /// [`StoreError`] when SQLite fails or a row is damaged.
    pub fn deleting_workloads(&self) -> Result<Vec<WorkloadRecord>, StoreError> {
        let sql = format!(
            "SELECT {WORKLOAD_COLUMNS} FROM workloads WHERE deleted_at IS NOT NULL AND phase != 'Deleted' ORDER BY deleted_at, id"
        );
        let rows = query_all(&self.lock(), "list deleted workloads", &sql, [], workload_row)?;
        rows.into_iter().map(finish_workload).collect()
    }

    /// Replaces the spec of a workload and of its newest revision without making a new
    /// revision: for changes that do not change pods (a distributed inference's replica
    /// count), which the next pass applies by scaling.
    ///
    /// ```
    /// use runai_serve::store::{NewWorkload, Store, WorkloadKind};
    /// let store = Store::open_in_memory()?;
    /// let record = store.create_workload(&NewWorkload::new("1", "llama", WorkloadKind::Distributed, serde_json::json!({"replicas": 1})))?;
    /// store.rescale(&record.id, &serde_json::json!({"replicas": 3}))?;
    /// let revisions = store.revisions(&record.id)?;
    /// assert_eq!((revisions.len(), revisions[0].spec["replicas"].as_i64()), (1, Some(3)));
    /// # Ok::<(), runai_serve::store::StoreError>(())
    /// ```
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown or deleted workload.
    pub fn rescale(&self, workload_id: &str, spec: &Value) -> Result<(), StoreError> {
        let mut connection = self.lock();
        let transaction = connection.transaction().map_err(sqlite("begin"))?;
        let text = spec.to_string();
        let at = now();
        let changed = transaction
            .execute(
                "UPDATE workloads SET spec = ?1, updated_at = ?2 WHERE id = ?3 AND deleted_at IS NULL",
                params![text, at, workload_id],
            )
            .map_err(sqlite("update a workload"))?;
        if changed == 0 {
            return Err(StoreError::NotFound {
                what: "workload",
                id: workload_id.to_owned(),
            });
        }
        transaction
            .execute(
                "UPDATE revisions SET spec = ?1 WHERE workload_id = ?2 AND number = (SELECT MAX(number) FROM revisions WHERE workload_id = ?2)",
                params![text, workload_id],
            )
            .map_err(sqlite("update a revision"))?;
        insert_event(
            &transaction,
            workload_id,
            None,
            "Normal",
            "Rescaled",
            "the replica count changed",
        )?;
        transaction.commit().map_err(sqlite("commit a rescale"))
    }

    /// Records a new spec: the next revision, the workload's generation and spec, and an
    /// event, in one durable transaction.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown or deleted workload.
    pub fn add_revision(&self, workload_id: &str, spec: &Value) -> Result<RevisionRecord, StoreError> {
        let mut connection = self.lock();
        let transaction = connection.transaction().map_err(sqlite("begin"))?;
        let generation: Option<i64> = transaction
            .query_row(
                "SELECT generation FROM workloads WHERE id = ?1 AND deleted_at IS NULL",
                params![workload_id],
                |row| row.get(0),
            )
            .optional()
            .map_err(sqlite("read a workload"))?;
        let number = generation.ok_or_else(|| StoreError::NotFound {
            what: "workload",
            id: workload_id.to_owned(),
        })? + 1;
        let id = new_id()?;
        let at = now();
        let text = spec.to_string();
        transaction
            .execute(
                &format!("INSERT INTO revisions ({REVISION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, 'Creating', NULL, ?5, NULL)"),
                params![id, workload_id, number, text, at],
            )
            .map_err(sqlite("insert a revision"))?;
        transaction
            .execute(
                "UPDATE workloads SET spec = ?1, generation = ?2, updated_at = ?3 WHERE id = ?4",
                params![text, number, at, workload_id],
            )
            .map_err(sqlite("update a workload"))?;
        insert_event(
            &transaction,
            workload_id,
            Some(&id),
            "Normal",
            "RevisionCreated",
            &format!("revision {number} created"),
        )?;
        transaction.commit().map_err(sqlite("commit a revision"))?;
        drop(connection);
        self.revisions(workload_id)?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or_else(|| StoreError::NotFound { what: "revision", id })
    }

    /// A workload's revisions, oldest first.
    ///
    /// # Errors
    /// [`StoreError`] when SQLite fails or a row is damaged.
    pub fn revisions(&self, workload_id: &str) -> Result<Vec<RevisionRecord>, StoreError> {
        let sql = format!("SELECT {REVISION_COLUMNS} FROM revisions WHERE workload_id = ?1 ORDER BY number");
        let rows = query_all(
            &self.lock(),
            "list revisions",
            &sql,
            params![workload_id],
            revision_row,
        )?;
        rows.into_iter().map(finish_revision).collect()
    }

    /// Sets a workload's phase and message (an event records the change).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown workload.
    pub fn set_phase(&self, workload_id: &str, phase: &str, message: Option<&str>) -> Result<(), StoreError> {
        let mut connection = self.lock();
        let transaction = connection.transaction().map_err(sqlite("begin"))?;
        let changed = transaction
            .execute(
                "UPDATE workloads SET phase = ?1, phase_message = ?2, updated_at = ?3 WHERE id = ?4",
                params![phase, message, now(), workload_id],
            )
            .map_err(sqlite("set a phase"))?;
        if changed == 0 {
            return Err(StoreError::NotFound {
                what: "workload",
                id: workload_id.to_owned(),
            });
        }
        let text = message.map_or_else(|| format!("phase {phase}"), |m| format!("phase {phase}: {m}"));
        insert_event(&transaction, workload_id, None, "Normal", "PhaseChanged", &text)?;
        transaction.commit().map_err(sqlite("commit a phase"))
    }

    /// Sets a revision's phase and message.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown revision.
    pub fn set_revision_phase(
        &self,
        revision_id: &str,
        phase: &str,
        message: Option<&str>,
    ) -> Result<(), StoreError> {
        let changed = self
            .lock()
            .execute(
                "UPDATE revisions SET phase = ?1, phase_message = ?2 WHERE id = ?3",
                params![phase, message, revision_id],
            )
            .map_err(sqlite("set a revision phase"))?;
        if changed == 0 {
            return Err(StoreError::NotFound {
                what: "revision",
                id: revision_id.to_owned(),
            });
        }
        Ok(())
    }

    /// Marks a workload deleted (asked for; the control loop stops it) and keeps its history.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown or already deleted workload.
    pub fn delete_workload(&self, workload_id: &str) -> Result<(), StoreError> {
        let mut connection = self.lock();
        let transaction = connection.transaction().map_err(sqlite("begin"))?;
        let at = now();
        let changed = transaction
            .execute(
                "UPDATE workloads SET desired_phase = 'Deleted', phase = 'Deleting', deleted_at = ?1, updated_at = ?1 WHERE id = ?2 AND deleted_at IS NULL",
                params![at, workload_id],
            )
            .map_err(sqlite("delete a workload"))?;
        if changed == 0 {
            return Err(StoreError::NotFound {
                what: "workload",
                id: workload_id.to_owned(),
            });
        }
        insert_event(
            &transaction,
            workload_id,
            None,
            "Normal",
            "Deleting",
            "deletion requested",
        )?;
        transaction.commit().map_err(sqlite("commit a deletion"))
    }

    /// Records an event.
    ///
    /// # Errors
    /// [`StoreError`] when SQLite fails (for example an unknown workload).
    pub fn record_event(
        &self,
        workload_id: &str,
        revision_id: Option<&str>,
        kind: &str,
        reason: &str,
        message: &str,
    ) -> Result<(), StoreError> {
        insert_event(&self.lock(), workload_id, revision_id, kind, reason, message)
    }

    /// A workload's newest `limit` events, newest first.
    ///
    /// ```
    /// use runai_serve::store::{NewWorkload, Store, WorkloadKind};
    /// let store = Store::open_in_memory()?;
    /// let w = store.create_workload(&NewWorkload::new("1", "llama", WorkloadKind::Inference, serde_json::json!({})))?;
    /// store.record_event(&w.id, None, "Warning", "Preempted", "preempted by team-b/urgent (priority 100 > 50)")?;
    /// assert_eq!(store.events(&w.id, 10)?[0].reason, "Preempted");
    /// # Ok::<(), runai_serve::store::StoreError>(())
    /// ```
    ///
    /// # Errors
    /// [`StoreError`] when SQLite fails.
    pub fn events(&self, workload_id: &str, limit: usize) -> Result<Vec<Event>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        query_all(
            &self.lock(),
            "list events",
            "SELECT id, workload_id, revision_id, at, kind, reason, message FROM events WHERE workload_id = ?1 ORDER BY id DESC LIMIT ?2",
            params![workload_id, limit],
            |row| {
                Ok(Event {
                    id: row.get(0)?,
                    workload_id: row.get(1)?,
                    revision_id: row.get(2)?,
                    at: row.get(3)?,
                    kind: row.get(4)?,
                    reason: row.get(5)?,
                    message: row.get(6)?,
                })
            },
        )
    }
}
