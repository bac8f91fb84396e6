//! `writeback create | list | show | edit | delete | run | runs`: saved writebacks.

use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::Args;

use super::export::{OutputArgs, progress_for};
use super::{Context, output};
use crate::engine::OutputOptions;
use crate::error::Error;
use crate::identity::current_user;
use crate::schedule::{
    CronSchedule, RetryPolicy, Schedule, parse_retry_attempts, parse_retry_delay, parse_timezone,
};
use crate::store::RunStatus;
use crate::writebacks::{self, WritebackSpec, WritebackView};

/// Flags that `create` and `edit` share: Details, Scheduling, Name & Describe.
#[derive(Debug, Args)]
pub(crate) struct SettingsArgs {
    #[command(flatten)]
    output: OutputArgs,
    /// What the writeback is for.
    #[arg(long, value_name = "TEXT")]
    description: Option<String>,
    /// When it runs: manual (default), "every 15m", "cron 0 2 * * *".
    #[arg(long, value_name = "WHEN")]
    schedule: Option<String>,
    /// IANA time zone of a cron schedule, e.g. Europe/Paris (default UTC).
    #[arg(long, value_name = "AREA/CITY")]
    timezone: Option<String>,
    /// Attempts per run, the first included, for transient failures (default 3).
    #[arg(long, value_name = "N", value_parser = parse_retry_attempts)]
    retry_attempts: Option<u32>,
    /// Wait between attempts, e.g. 30s, 5m (default 5m).
    #[arg(long, value_name = "DURATION", value_parser = parse_retry_delay)]
    retry_delay: Option<Duration>,
}

#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// Unique name of the writeback.
    name: String,
    /// The saved account to write with.
    #[arg(long, value_name = "NAME")]
    account: String,
    /// The target container.
    #[arg(long, value_name = "C")]
    container: String,
    /// The input dataset's ID (GUID).
    #[arg(long, value_name = "GUID")]
    dataset: String,
    #[command(flatten)]
    settings: SettingsArgs,
}

#[derive(Debug, Args)]
pub(crate) struct EditArgs {
    /// The writeback to change.
    name: String,
    /// Another saved account.
    #[arg(long, value_name = "NAME")]
    account: Option<String>,
    /// Another container.
    #[arg(long, value_name = "C")]
    container: Option<String>,
    /// Another input dataset.
    #[arg(long, value_name = "GUID")]
    dataset: Option<String>,
    #[command(flatten)]
    settings: SettingsArgs,
}

#[derive(Debug, Args)]
pub(crate) struct RunsArgs {
    /// Only this writeback's runs.
    name: Option<String>,
    /// How many runs to show, newest first.
    #[arg(long, default_value_t = 20)]
    limit: usize,
}

impl SettingsArgs {
    /// `spec` with every setting given on the command line applied.
    fn apply(&self, mut spec: WritebackSpec) -> Result<WritebackSpec, Error> {
        spec.output = self.output.apply(&spec.output)?;
        if let Some(d) = &self.description {
            spec.description = d.clone();
        }
        let invalid = |e: crate::schedule::ScheduleError| Error::Invalid(e.to_string());
        match (&self.schedule, &self.timezone) {
            (Some(s), tz) => {
                // A time zone only means something to cron; pass it only there so that
                // `--schedule "every 1h" --timezone X` is reported rather than ignored.
                spec.schedule = Schedule::parse(s, tz.as_deref()).map_err(invalid)?;
            }
            (None, Some(tz)) => match &spec.schedule {
                Schedule::Cron(c) => {
                    let zone = parse_timezone(tz).map_err(invalid)?;
                    spec.schedule =
                        Schedule::Cron(CronSchedule::parse(c.expression(), zone).map_err(invalid)?);
                }
                _ => {
                    return Err(Error::Invalid(
                        "--timezone applies to cron schedules only; give --schedule \"cron ...\" too".into(),
                    ));
                }
            },
            (None, None) => {}
        }
        let attempts = self.retry_attempts.unwrap_or(spec.retry.attempts);
        let delay = self.retry_delay.unwrap_or(spec.retry.delay);
        spec.retry = RetryPolicy::new(attempts, delay).map_err(invalid)?;
        Ok(spec)
    }
}

pub(crate) fn create(args: CreateArgs, ctx: &Context) -> Result<(), Error> {
    let store = ctx.store()?;
    let blank = WritebackSpec {
        name: args.name,
        description: String::new(),
        account: args.account,
        container: args.container,
        dataset: args.dataset,
        output: OutputOptions::default(),
        schedule: Schedule::Manual,
        retry: RetryPolicy::default(),
    };
    let spec = args.settings.apply(blank)?;
    let view = writebacks::create(&store, &ctx.home, &current_user(), &spec)?;
    done(ctx, &view, "created")
}

pub(crate) fn edit(args: EditArgs, ctx: &Context) -> Result<(), Error> {
    let store = ctx.store()?;
    let view = writebacks::edit(
        &store,
        &ctx.home,
        &current_user(),
        &args.name,
        |mut spec| {
            if let Some(a) = args.account {
                spec.account = a;
            }
            if let Some(c) = args.container {
                spec.container = c;
            }
            if let Some(d) = args.dataset {
                spec.dataset = d;
            }
            args.settings.apply(spec)
        },
    )?;
    done(ctx, &view, "updated")
}

pub(crate) fn delete(name: String, ctx: &Context) -> Result<(), Error> {
    let store = ctx.store()?;
    writebacks::delete(&store, &current_user(), &name)?;
    if ctx.json {
        output::json(&serde_json::json!({ "deleted": name }));
    } else {
        println!("deleted writeback '{name}' (its run history stays: `writeback runs {name}`)");
    }
    Ok(())
}

pub(crate) fn list(ctx: &Context) -> Result<(), Error> {
    let store = ctx.store()?;
    let views = writebacks::list(&store)?;
    if ctx.json {
        output::json(&views);
        return Ok(());
    }
    if views.is_empty() {
        println!("no writebacks; create one with `writeback create`");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = views
        .iter()
        .map(|v| {
            let r = &v.record;
            vec![
                r.name.clone(),
                r.account.clone(),
                r.container.clone(),
                r.dataset_id.clone(),
                v.schedule_description.clone(),
                when(v.next_run),
                v.last_run.as_ref().map_or("never".into(), |run| {
                    format!(
                        "{} {}",
                        run.status.as_str(),
                        run.started_at.format("%Y-%m-%d %H:%M")
                    )
                }),
            ]
        })
        .collect();
    output::table(
        &[
            "NAME",
            "ACCOUNT",
            "CONTAINER",
            "DATASET",
            "SCHEDULE",
            "NEXT RUN",
            "LAST RUN",
        ],
        &rows,
    );
    for v in &views {
        for w in &v.warnings {
            eprintln!("warning: {}: {w}", v.record.name);
        }
    }
    Ok(())
}

pub(crate) fn show(name: String, ctx: &Context) -> Result<(), Error> {
    let store = ctx.store()?;
    let view = writebacks::show(&store, &name)?;
    print_view(ctx, &view);
    Ok(())
}

pub(crate) async fn run(name: String, ctx: &Context) -> Result<(), Error> {
    let mut store = ctx.store()?;
    let wb = store.writeback(&name)?;
    let rows = store.find_dataset(&wb.dataset_id)?.map(|d| d.rows);
    let (progress, bar) = progress_for(ctx, rows);
    let attempts = writebacks::run_with_retries(
        &mut store,
        &ctx.home,
        &name,
        &ctx.client,
        progress,
        |a, wait| {
            eprintln!(
                "attempt {} failed ({}); retrying in {}",
                a.run.attempt,
                a.run.error.as_deref().unwrap_or("no detail"),
                crate::schedule::format_duration(wait)
            );
        },
    )
    .await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let mut attempts = attempts?;
    let last = attempts.pop().expect("at least one attempt runs");
    if ctx.json {
        output::json(&last.run);
    } else if last.run.status == RunStatus::Succeeded {
        println!(
            "run {} of '{name}' succeeded: {} rows, {} bytes to {}",
            last.run.id,
            last.run.rows.unwrap_or(0),
            last.run.bytes.unwrap_or(0),
            last.run.url.as_deref().unwrap_or("?"),
        );
    }
    match last.error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

pub(crate) fn runs(args: RunsArgs, ctx: &Context) -> Result<(), Error> {
    let store = ctx.store()?;
    let runs = store.runs(args.name.as_deref(), args.limit)?;
    if let Some(name) = &args.name
        && runs.is_empty()
    {
        // No history: an unknown name is an error (a deleted writeback keeps its history).
        store.writeback(name)?;
    }
    if ctx.json {
        output::json(&runs);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            vec![
                r.id.clone(),
                r.writeback.clone(),
                format!("{:?}", r.trigger).to_lowercase(),
                r.attempt.to_string(),
                r.status.as_str().to_owned(),
                r.started_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                r.ended_at.map_or(String::new(), |e| {
                    format!(
                        "{:.1}s",
                        (e - r.started_at).num_milliseconds() as f64 / 1000.0
                    )
                }),
                r.rows.map_or(String::new(), |n| n.to_string()),
                match (&r.error, &r.blob) {
                    (Some(e), _) => e.clone(),
                    (None, Some(b)) => b.clone(),
                    _ => String::new(),
                },
            ]
        })
        .collect();
    output::table(
        &[
            "RUN",
            "WRITEBACK",
            "TRIGGER",
            "ATTEMPT",
            "STATUS",
            "STARTED (UTC)",
            "TOOK",
            "ROWS",
            "BLOB / ERROR",
        ],
        &rows,
    );
    Ok(())
}

fn done(ctx: &Context, view: &WritebackView, verb: &str) -> Result<(), Error> {
    if ctx.json {
        output::json(view);
    } else {
        println!(
            "{verb} writeback '{}': {} → {}/{} ({}), next run {}",
            view.record.name,
            view.record.dataset_id,
            view.record.account,
            view.record.container,
            view.schedule_description,
            when(view.next_run)
        );
        output::warnings(&view.warnings);
    }
    Ok(())
}

fn print_view(ctx: &Context, view: &WritebackView) {
    if ctx.json {
        output::json(view);
        return;
    }
    let r = &view.record;
    let o = &view.output;
    let rows = [
        ("name", r.name.clone()),
        ("description", r.description.clone()),
        ("owner", r.owner.clone()),
        ("account", r.account.clone()),
        ("container", r.container.clone()),
        ("dataset", r.dataset_id.clone()),
        (
            "filename",
            match &o.filename {
                Some(f) => format!("custom: {f}"),
                None => "dataset ID".into(),
            },
        ),
        (
            "format",
            format!("{} ({})", o.format.as_str(), o.compression.as_str()),
        ),
        (
            "update method",
            format!("{:?}", o.update_method).to_lowercase(),
        ),
        ("schedule", view.schedule_description.clone()),
        ("next run", when(view.next_run)),
        (
            "retries",
            format!(
                "{} attempts, {} apart",
                r.retry_attempts,
                crate::schedule::format_duration(Duration::from_secs(r.retry_delay_s as u64))
            ),
        ),
        (
            "last run",
            view.last_run.as_ref().map_or("never".into(), |run| {
                format!(
                    "{} at {} ({})",
                    run.status.as_str(),
                    run.started_at.format("%Y-%m-%d %H:%M:%S UTC"),
                    run.id
                )
            }),
        ),
    ];
    for (k, v) in rows {
        println!("{k:<15}{v}");
    }
    output::warnings(&view.warnings);
}

fn when(t: Option<DateTime<Utc>>) -> String {
    t.map_or("—".into(), |t| {
        t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
    })
}
