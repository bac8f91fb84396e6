//! Saved writebacks and the record of their runs.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::Serialize;

use super::{Store, StoreError};

const NOT_FOUND_HINT: &str = "; `writeback list` shows the saved writebacks";

/// A saved writeback, as stored. `output` is the export options as JSON; the library owns its
/// shape.
#[derive(Debug, Clone, Serialize)]
pub struct WritebackRecord {
    /// Its unique name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Who created it; runs read the dataset as this user.
    pub owner: String,
    /// The saved account it writes with.
    pub account: String,
    /// The target container.
    pub container: String,
    /// The input dataset's GUID.
    pub dataset_id: String,
    /// Export options, JSON.
    #[serde(skip)]
    pub output: String,
    /// The schedule in its stored text form (`manual`, `every 15m`, `cron ...`).
    pub schedule: String,
    /// Attempts per scheduled or manual run, the first included.
    pub retry_attempts: u32,
    /// Seconds between attempts.
    pub retry_delay_s: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last edited.
    pub updated_at: DateTime<Utc>,
}

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    /// `writeback run`.
    Manual,
    /// The scheduler.
    Schedule,
    /// A retry of a failed or interrupted attempt.
    Retry,
}

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// In progress (or its process died; see [`Store::interrupt_dead_runs`]).
    Running,
    /// The blob was committed.
    Succeeded,
    /// It failed; nothing was committed.
    Failed,
    /// Its process stopped before it finished; nothing was committed.
    Interrupted,
    /// It was due while another run of the same writeback was active, so it did not start.
    Skipped,
}

macro_rules! text_enum {
    ($ty:ty { $($variant:ident = $text:literal),* $(,)? }) => {
        impl $ty {
            /// The stored text.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),* }
            }
            fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some(Self::$variant),)* _ => None }
            }
        }
    };
}
text_enum!(Trigger { Manual = "manual", Schedule = "schedule", Retry = "retry" });
text_enum!(RunStatus {
    Running = "running",
    Succeeded = "succeeded",
    Failed = "failed",
    Interrupted = "interrupted",
    Skipped = "skipped",
});

/// One attempt of a writeback.
#[derive(Debug, Clone, Serialize)]
pub struct RunRecord {
    /// Its ID (a UUID v7: sorts by start time).
    pub id: String,
    /// The writeback's name.
    pub writeback: String,
    /// What started it.
    pub trigger: Trigger,
    /// 1 for the first attempt, 2 for its first retry, ...
    pub attempt: u32,
    /// Where it stands.
    pub status: RunStatus,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// Rows written.
    pub rows: Option<i64>,
    /// Bytes written.
    pub bytes: Option<i64>,
    /// The blob name.
    pub blob: Option<String>,
    /// The blob's URL, never with a token.
    pub url: Option<String>,
    /// The blob's ETag after the commit.
    pub etag: Option<String>,
    /// Base64 MD5 of the bytes written.
    pub md5: Option<String>,
    /// Why it failed, without secrets.
    pub error: Option<String>,
    /// Whether the failure may clear on a retry.
    pub retriable: bool,
    /// The process that ran it (see [`crate::identity::process_identity`]).
    #[serde(skip)]
    pub process: String,
}

const WB_COLUMNS: &str = "name, description, owner, account, container, dataset_id, output, \
                          schedule, retry_attempts, retry_delay_s, created_at, updated_at";

fn writeback_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<WritebackRecord> {
    Ok(WritebackRecord {
        name: row.get(0)?,
        description: row.get(1)?,
        owner: row.get(2)?,
        account: row.get(3)?,
        container: row.get(4)?,
        dataset_id: row.get(5)?,
        output: row.get(6)?,
        schedule: row.get(7)?,
        retry_attempts: row.get(8)?,
        retry_delay_s: row.get(9)?,
        created_at: row.get(10)?,
        updated_at: row.get(11)?,
    })
}

const RUN_COLUMNS: &str = "id, writeback, trigger, attempt, status, started_at, ended_at, rows, \
                           bytes, blob, url, etag, md5, error, retriable, process";

fn run_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RunRecord> {
    let text = |i: usize| -> rusqlite::Result<String> { row.get(i) };
    let bad = |i: usize, v: String| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, v.into())
    };
    let trigger = text(2)?;
    let status = text(4)?;
    Ok(RunRecord {
        id: row.get(0)?,
        writeback: row.get(1)?,
        trigger: Trigger::parse(&trigger).ok_or_else(|| bad(2, trigger))?,
        attempt: row.get(3)?,
        status: RunStatus::parse(&status).ok_or_else(|| bad(4, status))?,
        started_at: row.get(5)?,
        ended_at: row.get(6)?,
        rows: row.get(7)?,
        bytes: row.get(8)?,
        blob: row.get(9)?,
        url: row.get(10)?,
        etag: row.get(11)?,
        md5: row.get(12)?,
        error: row.get(13)?,
        retriable: row.get(14)?,
        process: row.get(15)?,
    })
}

/// Why a run could not be claimed.
#[derive(Debug, Clone)]
pub struct Busy {
    /// The run that is active.
    pub run_id: String,
    /// Since when.
    pub started_at: DateTime<Utc>,
}

impl Store {
    /// Names selected by a query with one text parameter.
    pub(super) fn names(&self, sql: &str, param: &str) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare(sql).map_err(|e| self.sql_err(e))?;
        let rows = stmt
            .query_map([param], |r| r.get(0))
            .map_err(|e| self.sql_err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.sql_err(e))
    }

    /// The names of the writebacks that write with this account.
    pub fn writebacks_using_account(&self, account: &str) -> Result<Vec<String>, StoreError> {
        self.names(
            "SELECT name FROM writebacks WHERE account = ?1 ORDER BY name",
            account,
        )
    }

    /// Saves a new writeback; [`StoreError::Duplicate`] if the name is taken.
    pub fn insert_writeback(&self, w: &WritebackRecord) -> Result<(), StoreError> {
        let res = self.conn.execute(
            &format!("INSERT INTO writebacks ({WB_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"),
            params![
                w.name, w.description, w.owner, w.account, w.container, w.dataset_id, w.output,
                w.schedule, w.retry_attempts, w.retry_delay_s, w.created_at, w.updated_at
            ],
        );
        self.inserted(res, "writeback", &w.name)
    }

    /// Replaces a writeback's settings (its name, owner and creation time stay).
    pub fn update_writeback(&self, w: &WritebackRecord) -> Result<(), StoreError> {
        let changed = self
            .conn
            .execute(
                "UPDATE writebacks SET description = ?2, account = ?3, container = ?4, \
                 dataset_id = ?5, output = ?6, schedule = ?7, retry_attempts = ?8, \
                 retry_delay_s = ?9, updated_at = ?10 WHERE name = ?1",
                params![
                    w.name,
                    w.description,
                    w.account,
                    w.container,
                    w.dataset_id,
                    w.output,
                    w.schedule,
                    w.retry_attempts,
                    w.retry_delay_s,
                    w.updated_at
                ],
            )
            .map_err(|e| self.sql_err(e))?;
        if changed == 0 {
            return Err(self.no_writeback(&w.name));
        }
        Ok(())
    }

    fn no_writeback(&self, name: &str) -> StoreError {
        StoreError::NotFound {
            kind: "writeback",
            name: name.to_owned(),
            hint: NOT_FOUND_HINT,
        }
    }

    /// One writeback.
    pub fn writeback(&self, name: &str) -> Result<WritebackRecord, StoreError> {
        self.conn
            .query_row(
                &format!("SELECT {WB_COLUMNS} FROM writebacks WHERE name = ?1"),
                [name],
                writeback_row,
            )
            .optional()
            .map_err(|e| self.sql_err(e))?
            .ok_or_else(|| self.no_writeback(name))
    }

    /// Every writeback, by name.
    pub fn writebacks(&self) -> Result<Vec<WritebackRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {WB_COLUMNS} FROM writebacks ORDER BY name"
            ))
            .map_err(|e| self.sql_err(e))?;
        let rows = stmt
            .query_map([], writeback_row)
            .map_err(|e| self.sql_err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.sql_err(e))
    }

    /// Deletes a writeback (its run history stays).
    pub fn delete_writeback(&self, name: &str) -> Result<(), StoreError> {
        let changed = self
            .conn
            .execute("DELETE FROM writebacks WHERE name = ?1", [name])
            .map_err(|e| self.sql_err(e))?;
        if changed == 0 {
            return Err(self.no_writeback(name));
        }
        Ok(())
    }

    /// Records a new run as `running`, unless another run of the same writeback is active.
    /// A `running` run whose process is gone (`is_alive` says no) is marked interrupted first.
    /// Check and insert happen in one write transaction, so two processes cannot both start.
    pub fn begin_run(
        &mut self,
        run: &RunRecord,
        is_alive: impl Fn(&str) -> bool,
    ) -> Result<Result<(), Busy>, StoreError> {
        let path = self.path.clone();
        let sql = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        let active: Vec<(String, DateTime<Utc>, String)> = {
            let mut stmt = tx
                .prepare("SELECT id, started_at, process FROM runs WHERE writeback = ?1 AND status = 'running'")
                .map_err(sql)?;
            let rows = stmt
                .query_map([&run.writeback], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(sql)?;
            rows.collect::<rusqlite::Result<_>>().map_err(sql)?
        };
        for (id, started_at, process) in active {
            if is_alive(&process) {
                return Ok(Err(Busy {
                    run_id: id,
                    started_at,
                }));
            }
            tx.execute(
                "UPDATE runs SET status = 'interrupted', ended_at = ?2, retriable = 1, \
                 error = 'the process running it stopped before it finished; nothing was committed' \
                 WHERE id = ?1",
                params![id, Utc::now()],
            )
            .map_err(sql)?;
        }
        insert_run(&tx, run).map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok(Ok(()))
    }

    /// Records a run that never started (skipped).
    pub fn record_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        insert_run(&self.conn, run).map_err(|e| self.sql_err(e))
    }

    /// Writes a run's outcome.
    pub fn finish_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE runs SET status = ?2, ended_at = ?3, rows = ?4, bytes = ?5, blob = ?6, \
                 url = ?7, etag = ?8, md5 = ?9, error = ?10, retriable = ?11 WHERE id = ?1",
                params![
                    run.id,
                    run.status.as_str(),
                    run.ended_at,
                    run.rows,
                    run.bytes,
                    run.blob,
                    run.url,
                    run.etag,
                    run.md5,
                    run.error,
                    run.retriable
                ],
            )
            .map_err(|e| self.sql_err(e))?;
        Ok(())
    }

    /// Marks every `running` run whose process is gone as interrupted and returns them.
    pub fn interrupt_dead_runs(
        &self,
        is_alive: impl Fn(&str) -> bool,
    ) -> Result<Vec<RunRecord>, StoreError> {
        let running = self.runs_where("status = 'running'", &[], None)?;
        let mut out = Vec::new();
        for mut run in running.into_iter().filter(|r| !is_alive(&r.process)) {
            run.status = RunStatus::Interrupted;
            run.ended_at = Some(Utc::now());
            run.retriable = true;
            run.error = Some(
                "the process running it stopped before it finished; nothing was committed".into(),
            );
            self.finish_run(&run)?;
            out.push(run);
        }
        Ok(out)
    }

    /// Marks this process's `running` runs as interrupted (at shutdown, after stopping them).
    pub fn interrupt_runs_of(&self, process: &str) -> Result<Vec<RunRecord>, StoreError> {
        self.interrupt_dead_runs(|p| p != process)
    }

    /// The most recent runs, newest first; of one writeback or of all.
    pub fn runs(
        &self,
        writeback: Option<&str>,
        limit: usize,
    ) -> Result<Vec<RunRecord>, StoreError> {
        match writeback {
            Some(w) => self.runs_where("writeback = ?1", &[w], Some(limit)),
            None => self.runs_where("1 = 1", &[], Some(limit)),
        }
    }

    fn runs_where(
        &self,
        filter: &str,
        args: &[&str],
        limit: Option<usize>,
    ) -> Result<Vec<RunRecord>, StoreError> {
        let limit = limit.map_or(String::new(), |l| format!(" LIMIT {l}"));
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE {filter} ORDER BY started_at DESC, id DESC{limit}"
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.sql_err(e))?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args.iter()), run_row)
            .map_err(|e| self.sql_err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.sql_err(e))
    }
}

fn insert_run(conn: &rusqlite::Connection, run: &RunRecord) -> rusqlite::Result<()> {
    conn.execute(
        &format!("INSERT INTO runs ({RUN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"),
        params![
            run.id,
            run.writeback,
            run.trigger.as_str(),
            run.attempt,
            run.status.as_str(),
            run.started_at,
            run.ended_at,
            run.rows,
            run.bytes,
            run.blob,
            run.url,
            run.etag,
            run.md5,
            run.error,
            run.retriable,
            run.process
        ],
    )?;
    Ok(())
}
