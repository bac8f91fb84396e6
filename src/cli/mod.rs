//! The command line: a thin shell that parses flags, calls the library and prints the result.

mod account;
mod dataset;
mod export;
mod output;
mod sas;
mod writeback;

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::azure::ClientOptions;
use crate::error::{Error, ExitCode};
use crate::store::{Home, Store};

/// Export tabular datasets into Azure Blob Storage with an account-level SAS token.
#[derive(Debug, Parser)]
#[command(name = "writeback", version, propagate_version = true)]
pub struct Cli {
    /// Directory holding the state database, the token key file and dataset files
    /// (default: the XDG data directory, e.g. ~/.local/share/writeback).
    #[arg(long, global = true, env = "WRITEBACK_HOME", value_name = "DIR")]
    home: Option<PathBuf>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Seconds to wait for one Azure request before giving up on it.
    #[arg(long, global = true, default_value_t = 60, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    timeout: u64,
    /// Log more to stderr (-v: this program's debug log; -vv: also its dependencies').
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Sign SAS tokens with a storage account key.
    #[command(subcommand)]
    Sas(sas::SasCommand),
    /// Save, inspect, test, rotate and remove storage accounts (the Credentials pane).
    #[command(subcommand)]
    Account(account::AccountCommand),
    /// List the containers of a saved account.
    Containers(account::ContainersArgs),
    /// Export a dataset into a blob now.
    Export(export::ExportArgs),
    /// Save a writeback: account, container, dataset, naming, format, schedule, retries.
    Create(writeback::CreateArgs),
    /// List saved writebacks with their next and last runs.
    List,
    /// Show one writeback.
    Show {
        /// The writeback's name.
        name: String,
    },
    /// Change a writeback (only the options given change).
    Edit(writeback::EditArgs),
    /// Delete a writeback (its run history stays).
    Delete {
        /// The writeback's name.
        name: String,
    },
    /// Run a writeback now, in the foreground, retrying transient failures per its policy.
    Run {
        /// The writeback's name.
        name: String,
    },
    /// Show recent runs, newest first.
    Runs(writeback::RunsArgs),
    /// Run saved writebacks on their schedules until stopped (SIGTERM or ctrl-c).
    Serve(ServeArgs),
    /// Import, inspect, share and remove input datasets (the local catalog).
    #[command(subcommand)]
    Dataset(dataset::DatasetCommand),
}

/// What every command gets: the parsed global flags and lazily opened state.
pub(crate) struct Context {
    home: Home,
    json: bool,
    client: ClientOptions,
}

impl Context {
    fn store(&self) -> Result<Store, Error> {
        Ok(Store::open(&self.home)?)
    }
}

/// Parses the process arguments, runs the command and returns the exit code.
pub fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose, matches!(cli.command, Command::Serve(_)));
    let ctx = Context {
        home: Home::resolve(cli.home.clone()),
        json: cli.json,
        client: ClientOptions {
            timeout: Duration::from_secs(cli.timeout),
            ..ClientOptions::default()
        },
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("cannot start the async runtime");
    let result = runtime.block_on(run(cli.command, &ctx));
    match result {
        Ok(()) => std::process::ExitCode::from(ExitCode::Ok as u8),
        Err(e) => {
            output::error(&e, ctx.json);
            std::process::ExitCode::from(e.exit_code() as u8)
        }
    }
}

async fn run(command: Command, ctx: &Context) -> Result<(), Error> {
    match command {
        Command::Sas(cmd) => sas::run(cmd, ctx),
        Command::Account(cmd) => account::run(cmd, ctx).await,
        Command::Containers(args) => account::containers(args, ctx).await,
        Command::Export(args) => export::run(args, ctx).await,
        Command::Create(args) => writeback::create(args, ctx),
        Command::List => writeback::list(ctx),
        Command::Show { name } => writeback::show(name, ctx),
        Command::Edit(args) => writeback::edit(args, ctx),
        Command::Delete { name } => writeback::delete(name, ctx),
        Command::Run { name } => writeback::run(name, ctx).await,
        Command::Runs(args) => writeback::runs(args, ctx),
        Command::Serve(args) => serve(args, ctx).await,
        Command::Dataset(cmd) => dataset::run(cmd, ctx),
    }
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Most runs at once, across all writebacks.
    #[arg(long, default_value_t = 2, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=64))]
    max_concurrent: u64,
    /// Seconds active runs may take to finish after SIGTERM or ctrl-c before they are stopped
    /// and recorded as interrupted.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    grace: u64,
    /// Also serve a read-only JSON status API (/healthz, /api/writebacks, /api/runs) on this
    /// address, e.g. 127.0.0.1:8080 (port 0 picks a free one). It has no authentication.
    #[arg(long, value_name = "ADDR")]
    listen: Option<std::net::SocketAddr>,
}

async fn serve(args: ServeArgs, ctx: &Context) -> Result<(), Error> {
    let options = crate::scheduler::ServeOptions {
        max_concurrent: args.max_concurrent as usize,
        grace: Duration::from_secs(args.grace),
        client: ctx.client.clone(),
        listen: args.listen,
        ..Default::default()
    };
    crate::scheduler::serve(ctx.home.clone(), options, shutdown_signal()).await
}

/// Completes on ctrl-c or SIGTERM (what service managers send to stop a service).
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("cannot listen for SIGTERM");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutdown requested");
}

fn init_logging(verbose: u8, serving: bool) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        // The scheduler's log is its output: what ran, what failed, what was retried.
        0 if serving => "writeback=info",
        0 => "warn",
        1 => "writeback=debug",
        _ => "debug",
    };
    let filter = std::env::var("WRITEBACK_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(
            std::env::var_os("NO_COLOR").is_none()
                && std::io::IsTerminal::is_terminal(&std::io::stderr()),
        )
        .try_init();
}

/// Reads a secret given on the command line; `-` means "read it from standard input", which
/// keeps it out of the process list and shell history.
pub(crate) fn read_secret(value: String, what: &str) -> Result<String, Error> {
    if value != "-" {
        return Ok(value);
    }
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .map_err(|e| Error::Invalid(format!("cannot read the {what} from standard input: {e}")))?;
    Ok(s)
}
