//! `writeback serve`: runs saved writebacks on their schedules.
//!
//! - One run per writeback at a time: a run that falls due while the previous one is still
//!   active (or waiting for a slot) is recorded as skipped, not stacked.
//! - At most `max_concurrent` runs at once across all writebacks; a due run waits for a slot.
//! - A run that failed transiently is retried per its writeback's policy, each attempt recorded.
//! - On start, runs left `running` by a process that died become `interrupted` and are retried
//!   per policy. On SIGTERM or ctrl-c, no new run starts; active runs get `grace` to finish, and
//!   any still going are stopped and recorded as interrupted (nothing of theirs is committed:
//!   a blob changes only at its final commit).
//!
//! The schedule is re-read from the database on every tick, so `create`, `edit` and `delete`
//! take effect without a restart.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::azure::ClientOptions;
use crate::engine::NoProgress;
use crate::error::Result;
use crate::schedule::Schedule;
use crate::store::{Home, RunRecord, RunStatus, Store, Trigger};
use crate::writebacks::{self, process_alive, spec_of};

/// How `serve` behaves.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Most runs at once, across all writebacks.
    pub max_concurrent: usize,
    /// How often schedules are checked. A second is as fine as `every` intervals go.
    pub tick: Duration,
    /// How long active runs may take to finish after a shutdown signal.
    pub grace: Duration,
    /// Timeouts and request retries for Azure.
    pub client: ClientOptions,
    /// Where to serve the read-only status API ([`crate::server`]), if anywhere.
    pub listen: Option<std::net::SocketAddr>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            // Two runs keep both cores busy; more would only share them.
            max_concurrent: 2,
            tick: Duration::from_millis(250),
            grace: Duration::from_secs(30),
            client: ClientOptions::default(),
            listen: None,
        }
    }
}

/// The schedule state of one writeback.
struct Slot {
    /// The schedule text the next fire was computed from (an edit changes it).
    schedule: String,
    next: Option<DateTime<Utc>>,
}

/// A retry waiting for its time.
struct PendingRetry {
    name: String,
    attempt: u32,
    due: DateTime<Utc>,
}

/// Runs the scheduler until `shutdown` completes.
pub async fn serve(
    home: Home,
    options: ServeOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let store = Store::open(&home)?;
    let (stop_api, api_stopped) = tokio::sync::watch::channel(false);
    let api = match options.listen {
        Some(addr) => {
            let (listener, local) = crate::server::bind(addr).await?;
            tracing::info!("status API listening on http://{local}");
            let mut stopped = api_stopped.clone();
            let shutdown = async move {
                let _ = stopped.wait_for(|s| *s).await;
            };
            Some(tokio::spawn(crate::server::run(
                listener,
                home.clone(),
                shutdown,
            )))
        }
        None => None,
    };
    let mut retries = Vec::new();
    for run in store.interrupt_dead_runs(process_alive)? {
        tracing::warn!(writeback = %run.writeback, run = %run.id, "a run was left unfinished by a process that stopped; marked interrupted");
        if let Some(r) = retry_after(&store, &run) {
            retries.push(r);
        }
    }
    let slots_allowed = Arc::new(Semaphore::new(options.max_concurrent.max(1)));
    let mut slots: HashMap<String, Slot> = HashMap::new();
    let mut active: HashMap<String, ()> = HashMap::new();
    let mut tasks: JoinSet<(String, Result<RunRecord>)> = JoinSet::new();
    tracing::info!(home = %home.dir().display(), max_concurrent = options.max_concurrent, "scheduler started");
    warn_expiring(&store);

    tokio::pin!(shutdown);
    let mut tick = tokio::time::interval(options.tick);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                let (name, outcome) = done.expect("run tasks do not panic");
                active.remove(&name);
                match outcome {
                    Ok(run) => {
                        log_run(&run);
                        if let Some(r) = retry_after(&store, &run) {
                            retries.push(r);
                        }
                    }
                    Err(e) => tracing::error!(writeback = %name, error = %e, "the run could not be recorded"),
                }
            }
            _ = tick.tick() => {
                let now = Utc::now();
                let mut due: Vec<(String, Trigger, u32)> = Vec::new();
                // Retries first: a retry waits (it is not skipped) while its writeback is busy,
                // and it stands in for a scheduled fire that falls due at the same moment.
                retries.retain(|r| {
                    let ready = r.due <= now && !active.contains_key(&r.name) && !due.iter().any(|d| d.0 == r.name);
                    if ready {
                        due.push((r.name.clone(), Trigger::Retry, r.attempt));
                    }
                    !ready
                });
                let writebacks = store.writebacks()?;
                for wb in &writebacks {
                    let Ok(spec) = spec_of(wb) else { continue };
                    if spec.schedule == Schedule::Manual {
                        slots.remove(&wb.name);
                        continue;
                    }
                    let slot = slots.entry(wb.name.clone()).or_insert_with(|| Slot { schedule: String::new(), next: None });
                    if slot.schedule != wb.schedule {
                        slot.schedule = wb.schedule.clone();
                        slot.next = first_fire(&store, &wb.name, &spec.schedule, now);
                    }
                    if let Some(next) = slot.next.filter(|n| *n <= now) {
                        // The next fire after this one; never in the past, so a long pause
                        // (a suspended laptop) fires once, not once per missed interval.
                        slot.next = spec.schedule.next_fire(next).map(|t| if t <= now { spec.schedule.next_fire(now).unwrap_or(t) } else { t });
                        if !due.iter().any(|d| d.0 == wb.name) {
                            due.push((wb.name.clone(), Trigger::Schedule, 1));
                        }
                    }
                }
                slots.retain(|name, _| writebacks.iter().any(|w| w.name == *name));
                for (name, trigger, attempt) in due {
                    if active.contains_key(&name) {
                        record_skip(&store, &name, trigger, attempt);
                        continue;
                    }
                    active.insert(name.clone(), ());
                    let (home, client, permits) = (home.clone(), options.client.clone(), slots_allowed.clone());
                    tasks.spawn(async move {
                        let _permit = permits.acquire_owned().await.expect("the semaphore is never closed");
                        let outcome = async {
                            let mut store = Store::open(&home)?;
                            let attempt = writebacks::run_once(&mut store, &home, &name, trigger, attempt, &client, Arc::new(NoProgress)).await?;
                            Ok(attempt.run)
                        }.await;
                        (name, outcome)
                    });
                }
            }
        }
    }

    tracing::info!(
        active = tasks.len(),
        grace_s = options.grace.as_secs(),
        "shutting down; letting active runs finish"
    );
    let deadline = tokio::time::sleep(options.grace);
    tokio::pin!(deadline);
    while !tasks.is_empty() {
        tokio::select! {
            _ = &mut deadline => break,
            Some(done) = tasks.join_next() => {
                if let Ok((_, Ok(run))) = done {
                    log_run(&run);
                }
            }
        }
    }
    if !tasks.is_empty() {
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
        let stopped = store.interrupt_runs_of(crate::identity::process_identity())?;
        for run in stopped {
            tracing::warn!(writeback = %run.writeback, run = %run.id, "stopped at shutdown; marked interrupted, nothing committed");
        }
    }
    let _ = stop_api.send(true);
    if let Some(api) = api {
        let _ = api.await;
    }
    tracing::info!("scheduler stopped");
    Ok(())
}

/// When a writeback first fires after (re)loading its schedule: cron at its next time; `every`
/// one interval after its last run (or after now, if it never ran), at the earliest now.
fn first_fire(
    store: &Store,
    name: &str,
    schedule: &Schedule,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    match schedule {
        Schedule::Every(_) => {
            let last = store
                .runs(Some(name), 1)
                .ok()?
                .into_iter()
                .next()
                .map(|r| r.started_at);
            schedule.next_fire(last.unwrap_or(now)).map(|t| t.max(now))
        }
        _ => schedule.next_fire(now),
    }
}

/// The retry a finished run calls for: a transient failure or an interruption, with attempts
/// left in its writeback's policy.
fn retry_after(store: &Store, run: &RunRecord) -> Option<PendingRetry> {
    let retriable =
        matches!(run.status, RunStatus::Failed | RunStatus::Interrupted) && run.retriable;
    if !retriable {
        return None;
    }
    let policy = spec_of(&store.writeback(&run.writeback).ok()?).ok()?.retry;
    let due = policy.next_attempt(run.attempt, run.ended_at.unwrap_or_else(Utc::now))?;
    tracing::info!(writeback = %run.writeback, attempt = run.attempt + 1, at = %due, "retry scheduled");
    Some(PendingRetry {
        name: run.writeback.clone(),
        attempt: run.attempt + 1,
        due,
    })
}

fn record_skip(store: &Store, name: &str, trigger: Trigger, attempt: u32) {
    let now = Utc::now();
    let run = RunRecord {
        id: uuid::Uuid::now_v7().to_string(),
        writeback: name.to_owned(),
        trigger,
        attempt,
        status: RunStatus::Skipped,
        started_at: now,
        ended_at: Some(now),
        rows: None,
        bytes: None,
        blob: None,
        url: None,
        etag: None,
        md5: None,
        error: Some("skipped: the previous run of this writeback is still active".into()),
        retriable: false,
        process: crate::identity::process_identity().to_owned(),
    };
    tracing::warn!(
        writeback = name,
        "due while its previous run is still active; skipped"
    );
    if let Err(e) = store.record_run(&run) {
        tracing::error!(writeback = name, error = %e, "cannot record the skipped run");
    }
}

fn log_run(run: &RunRecord) {
    match run.status {
        RunStatus::Succeeded => tracing::info!(
            writeback = %run.writeback, run = %run.id, attempt = run.attempt,
            rows = run.rows.unwrap_or(0), bytes = run.bytes.unwrap_or(0),
            blob = run.blob.as_deref().unwrap_or(""), "run succeeded"
        ),
        _ => tracing::warn!(
            writeback = %run.writeback, run = %run.id, attempt = run.attempt,
            status = run.status.as_str(), error = run.error.as_deref().unwrap_or(""), "run did not succeed"
        ),
    }
}

/// Logs, once at start, every scheduled writeback whose account token expires before its next run.
fn warn_expiring(store: &Store) {
    let Ok(views) = writebacks::list(store) else {
        return;
    };
    for v in views {
        for w in v.warnings {
            tracing::warn!(writeback = %v.record.name, "{w}");
        }
    }
}
