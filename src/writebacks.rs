//! Saved writebacks — the connector instance (Credentials, Details, Scheduling, Name & Describe)
//! — and their runs, each attempt recorded.
//!
//! The owner rule holds everywhere: a writeback's owner must be an owner or co-owner of its input
//! dataset when it is created, when it is edited, and at every run (a run after co-ownership was
//! revoked fails with a permission error and writes nothing).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::accounts;
use crate::azure::{ClientOptions, validate_container_name};
use crate::catalog::{Action, Catalog, DatasetId};
use crate::engine::{self, ExportRequest, OutputOptions, Progress};
use crate::error::{Error, Result};
pub use crate::identity::process_alive;
use crate::identity::process_identity;
use crate::schedule::{RetryPolicy, Schedule};
use crate::store::{Busy, Home, RunRecord, RunStatus, Store, StoreError, Trigger, WritebackRecord};

/// A writeback as the user describes it.
#[derive(Debug, Clone)]
pub struct WritebackSpec {
    /// Unique name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// The saved account to write with.
    pub account: String,
    /// The target container.
    pub container: String,
    /// The input dataset's GUID.
    pub dataset: String,
    /// Naming, format, compression, update method, CSV and upload options.
    pub output: OutputOptions,
    /// When it runs.
    pub schedule: Schedule,
    /// How failed runs are retried.
    pub retry: RetryPolicy,
}

/// A writeback as shown: what is stored, decoded, plus what the user should know.
#[derive(Debug, Clone, Serialize)]
pub struct WritebackView {
    /// What is stored.
    #[serde(flatten)]
    pub record: WritebackRecord,
    /// The export options.
    pub output: OutputOptions,
    /// The schedule in words.
    pub schedule_description: String,
    /// When the scheduler will next run it (for `every`, counted from its last run).
    pub next_run: Option<DateTime<Utc>>,
    /// Its latest run.
    pub last_run: Option<RunRecord>,
    /// Things the user should act on, such as a token expiring before the next run.
    pub warnings: Vec<String>,
}

impl WritebackView {
    /// The decoded schedule.
    pub fn schedule(&self) -> Schedule {
        decode_schedule(&self.record).unwrap_or(Schedule::Manual)
    }
}

/// Checks a writeback name.
pub fn validate_name(name: &str) -> Result<()> {
    crate::naming::validate_local_name("writeback", name).map_err(Error::Invalid)
}

/// Every check that does not need the network: names, options, the owner rule, the account and
/// its token's permissions.
fn check(store: &Store, home: &Home, owner: &str, spec: &WritebackSpec) -> Result<DatasetId> {
    validate_name(&spec.name)?;
    validate_container_name(&spec.container)?;
    spec.output.validate()?;
    let id: DatasetId = spec.dataset.parse()?;
    Catalog::new(store, home).authorize(&id, owner, Action::Read)?;
    accounts::connect(
        store,
        &spec.account,
        &engine::operations(&spec.output),
        &ClientOptions::default(),
    )?;
    Ok(id)
}

fn record(
    spec: &WritebackSpec,
    owner: &str,
    dataset: &DatasetId,
    now: DateTime<Utc>,
) -> WritebackRecord {
    WritebackRecord {
        name: spec.name.clone(),
        description: spec.description.clone(),
        owner: owner.to_owned(),
        account: spec.account.clone(),
        container: spec.container.clone(),
        dataset_id: dataset.to_string(),
        output: serde_json::to_string(&spec.output).expect("options serialize"),
        schedule: spec.schedule.to_text(),
        retry_attempts: spec.retry.attempts,
        retry_delay_s: spec.retry.delay.as_secs() as i64,
        created_at: now,
        updated_at: now,
    }
}

/// The spec a stored writeback describes.
pub fn spec_of(r: &WritebackRecord) -> Result<WritebackSpec> {
    let output: OutputOptions = serde_json::from_str(&r.output).map_err(|e| {
        Error::Invalid(format!(
            "the stored options of writeback '{}' are unreadable: {e}",
            r.name
        ))
    })?;
    Ok(WritebackSpec {
        name: r.name.clone(),
        description: r.description.clone(),
        account: r.account.clone(),
        container: r.container.clone(),
        dataset: r.dataset_id.clone(),
        output,
        schedule: decode_schedule(r)?,
        retry: RetryPolicy::new(
            r.retry_attempts,
            Duration::from_secs(r.retry_delay_s.max(0) as u64),
        )
        .map_err(|e| Error::Invalid(e.to_string()))?,
    })
}

fn decode_schedule(r: &WritebackRecord) -> Result<Schedule> {
    Schedule::parse(&r.schedule, None).map_err(|e| {
        Error::Invalid(format!(
            "the stored schedule of writeback '{}' is unreadable: {e}",
            r.name
        ))
    })
}

/// Saves a new writeback after every offline check, as `owner`.
pub fn create(
    store: &Store,
    home: &Home,
    owner: &str,
    spec: &WritebackSpec,
) -> Result<WritebackView> {
    if store.writeback(&spec.name).is_ok() {
        return Err(StoreError::Duplicate {
            kind: "writeback",
            name: spec.name.clone(),
        }
        .into());
    }
    let dataset = check(store, home, owner, spec)?;
    let rec = record(spec, owner, &dataset, Utc::now());
    store.insert_writeback(&rec)?;
    view(store, rec)
}

/// Changes a writeback: `change` gets its current spec and returns the new one. Only its owner
/// may edit it, not while it runs, and the owner rule is checked again.
pub fn edit(
    store: &Store,
    home: &Home,
    user: &str,
    name: &str,
    change: impl FnOnce(WritebackSpec) -> Result<WritebackSpec>,
) -> Result<WritebackView> {
    let old = owned(store, name, user, "edit")?;
    refuse_while_running(store, name, "edited")?;
    let mut spec = change(spec_of(&old)?)?;
    spec.name = old.name.clone();
    let dataset = check(store, home, &old.owner, &spec)?;
    let rec = WritebackRecord {
        created_at: old.created_at,
        ..record(&spec, &old.owner, &dataset, Utc::now())
    };
    store.update_writeback(&rec)?;
    view(store, rec)
}

/// Deletes a writeback (its run history stays). Only its owner may, and not while it runs.
pub fn delete(store: &Store, user: &str, name: &str) -> Result<()> {
    owned(store, name, user, "delete")?;
    refuse_while_running(store, name, "deleted")?;
    store.delete_writeback(name)?;
    Ok(())
}

fn owned(store: &Store, name: &str, user: &str, verb: &str) -> Result<WritebackRecord> {
    let rec = store.writeback(name)?;
    if rec.owner != user {
        return Err(Error::NotPermitted(format!(
            "only the owner of writeback '{name}' ({}) may {verb} it; you are '{user}'",
            rec.owner
        )));
    }
    Ok(rec)
}

fn refuse_while_running(store: &Store, name: &str, verb: &str) -> Result<()> {
    let active = store
        .runs(Some(name), 20)?
        .into_iter()
        .find(|r| r.status == RunStatus::Running && process_alive(&r.process));
    if let Some(run) = active {
        return Err(Error::Invalid(format!(
            "writeback '{name}' is running (run {} since {}); it can be {verb} when that run ends",
            run.id,
            run.started_at.format("%Y-%m-%d %H:%M:%S UTC")
        )));
    }
    Ok(())
}

/// Every writeback.
pub fn list(store: &Store) -> Result<Vec<WritebackView>> {
    store
        .writebacks()?
        .into_iter()
        .map(|r| view(store, r))
        .collect()
}

/// One writeback.
pub fn show(store: &Store, name: &str) -> Result<WritebackView> {
    view(store, store.writeback(name)?)
}

fn view(store: &Store, record: WritebackRecord) -> Result<WritebackView> {
    let spec = spec_of(&record)?;
    let last_run = store.runs(Some(&record.name), 1)?.into_iter().next();
    let now = Utc::now();
    let after = match (&spec.schedule, &last_run) {
        (Schedule::Every(_), Some(run)) => run.started_at,
        _ => now,
    };
    let next_run = spec.schedule.next_fire(after).map(|t| t.max(now));
    let mut warnings = Vec::new();
    if let Ok(account) = store.account(&record.account)
        && let Some(w) = expiry_warning(&account.name, account.expiry, next_run, now)
    {
        warnings.push(w);
    }
    Ok(WritebackView {
        output: spec.output,
        schedule_description: spec.schedule.describe(),
        next_run,
        last_run,
        warnings,
        record,
    })
}

/// A warning when an account's token expires before a writeback's next run.
pub fn expiry_warning(
    account: &str,
    expiry: DateTime<Utc>,
    next_run: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<String> {
    if expiry <= now {
        return Some(format!(
            "the token of account '{account}' expired on {}; runs will fail until it is \
             replaced with `writeback account update {account} --sas-token ...`",
            expiry.format("%Y-%m-%d %H:%M UTC")
        ));
    }
    let next = next_run?;
    (expiry < next).then(|| {
        format!(
            "the token of account '{account}' expires on {}, before the next run at {}; \
             rotate it with `writeback account update {account} --sas-token ...`",
            expiry.format("%Y-%m-%d %H:%M UTC"),
            next.format("%Y-%m-%d %H:%M UTC")
        )
    })
}

/// The outcome of one attempt: its record, and the error if it failed.
#[derive(Debug)]
pub struct Attempt {
    /// What was recorded.
    pub run: RunRecord,
    /// Why it failed.
    pub error: Option<Error>,
}

/// Runs one attempt of a writeback now and records it. A run that is due while another run of
/// the same writeback is active does not start: it is recorded as skipped.
pub async fn run_once(
    store: &mut Store,
    home: &Home,
    name: &str,
    trigger: Trigger,
    attempt: u32,
    client: &ClientOptions,
    progress: Arc<dyn Progress>,
) -> Result<Attempt> {
    let wb = store.writeback(name)?;
    let mut run = RunRecord {
        id: uuid::Uuid::now_v7().to_string(),
        writeback: name.to_owned(),
        trigger,
        attempt,
        status: RunStatus::Running,
        started_at: Utc::now(),
        ended_at: None,
        rows: None,
        bytes: None,
        blob: None,
        url: None,
        etag: None,
        md5: None,
        error: None,
        retriable: false,
        process: process_identity().to_owned(),
    };
    if let Err(Busy { run_id, started_at }) = store.begin_run(&run, process_alive)? {
        run.status = RunStatus::Skipped;
        run.ended_at = Some(Utc::now());
        let message = format!(
            "skipped: run {run_id} of this writeback has been running since {}",
            started_at.format("%Y-%m-%d %H:%M:%S UTC")
        );
        run.error = Some(message.clone());
        store.record_run(&run)?;
        return Ok(Attempt {
            run,
            error: Some(Error::Invalid(message)),
        });
    }
    // Prepared without holding the store across an await: the store is not `Sync`, and a run
    // must be able to go to another thread of the scheduler.
    let prepared = spec_of(&wb).and_then(|spec| {
        let request = ExportRequest {
            account: spec.account,
            container: spec.container,
            dataset: spec.dataset,
            output: spec.output,
            writeback: Some(name.to_owned()),
            run_id: Some(run.id.clone()),
        };
        // The owner rule at run time: the export reads the dataset as the writeback's owner.
        engine::prepare(store, home, &wb.owner, request, client)
    });
    let outcome = match prepared {
        Ok(plan) => {
            run.blob = Some(plan.blob().to_owned());
            run.url = Some(plan.url().to_owned());
            plan.execute(progress).await
        }
        Err(e) => Err(e),
    };
    run.ended_at = Some(Utc::now());
    let error = match outcome {
        Ok(report) => {
            run.status = RunStatus::Succeeded;
            run.rows = Some(report.rows as i64);
            run.bytes = Some(report.bytes as i64);
            run.etag = Some(report.etag);
            run.md5 = Some(report.md5);
            None
        }
        Err(e) => {
            run.status = RunStatus::Failed;
            run.retriable = e.is_retriable();
            run.error = Some(e.to_string());
            Some(e)
        }
    };
    store.finish_run(&run)?;
    Ok(Attempt { run, error })
}

/// Runs a writeback now, in the foreground, retrying transient failures per its policy.
/// `on_retry` is told about each retry before the wait.
pub async fn run_with_retries(
    store: &mut Store,
    home: &Home,
    name: &str,
    client: &ClientOptions,
    progress: Arc<dyn Progress>,
    on_retry: impl Fn(&Attempt, Duration),
) -> Result<Vec<Attempt>> {
    let policy = spec_of(&store.writeback(name)?)?.retry;
    let mut attempts = Vec::new();
    let mut trigger = Trigger::Manual;
    for n in 1..=policy.attempts {
        let attempt = run_once(store, home, name, trigger, n, client, progress.clone()).await?;
        let again =
            attempt.run.status == RunStatus::Failed && attempt.run.retriable && n < policy.attempts;
        if again {
            on_retry(&attempt, policy.delay);
        }
        attempts.push(attempt);
        if !again {
            break;
        }
        tokio::time::sleep(policy.delay).await;
        trigger = Trigger::Retry;
    }
    Ok(attempts)
}
