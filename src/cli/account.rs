//! `writeback account ...` and `writeback containers`.

use clap::{Args, Subcommand};

use super::{Context, output, read_secret};
use crate::accounts::{self, AccountView, NewAccountInput};
use crate::error::Error;
use crate::identity::current_user;

#[derive(Debug, Subcommand)]
pub(crate) enum AccountCommand {
    /// Save a storage account and its account-level SAS token, after checking the token.
    Add {
        /// Local name to refer to the account by.
        name: String,
        /// The Azure storage account name.
        #[arg(long, value_name = "ACCT")]
        storage_account: String,
        /// The account-level SAS token (bare, with '?', or a full SAS URL); '-' reads it from
        /// standard input.
        #[arg(
            long,
            env = "WRITEBACK_SAS_TOKEN",
            hide_env_values = true,
            value_name = "TOKEN"
        )]
        sas_token: String,
        /// Blob service endpoint (default https://ACCT.blob.core.windows.net); plain http only
        /// for a loopback address.
        #[arg(long, value_name = "URL")]
        endpoint: Option<String>,
    },
    /// List saved accounts (never their tokens).
    List,
    /// Show one saved account.
    Show {
        /// The account's local name.
        name: String,
    },
    /// Check a saved account against Azure now and report when its token expires.
    Test {
        /// The account's local name.
        name: String,
    },
    /// Replace a saved account's token (rotation), with the same checks as `add`.
    Update {
        /// The account's local name.
        name: String,
        /// The new account-level SAS token; '-' reads it from standard input.
        #[arg(
            long,
            env = "WRITEBACK_SAS_TOKEN",
            hide_env_values = true,
            value_name = "TOKEN"
        )]
        sas_token: String,
    },
    /// Remove a saved account.
    Remove {
        /// The account's local name.
        name: String,
    },
}

#[derive(Debug, Args)]
pub(crate) struct ContainersArgs {
    /// The saved account to list.
    #[arg(long, value_name = "NAME")]
    account: String,
    /// Only containers whose names start with this.
    #[arg(long, value_name = "P")]
    prefix: Option<String>,
    /// Containers asked for per request (Azure's maximum, 5000, by default).
    #[arg(long, hide = true, value_parser = clap::value_parser!(u32).range(1..=5000))]
    page_size: Option<u32>,
}

pub(crate) async fn run(cmd: AccountCommand, ctx: &Context) -> Result<(), Error> {
    let store = ctx.store()?;
    match cmd {
        AccountCommand::Add {
            name,
            storage_account,
            sas_token,
            endpoint,
        } => {
            let input = NewAccountInput {
                name,
                storage_account,
                sas_token: read_secret(sas_token, "SAS token")?,
                endpoint,
            };
            let view = accounts::add(&store, &input, &current_user(), &ctx.client).await?;
            done(ctx, &view, "saved")
        }
        AccountCommand::Update { name, sas_token } => {
            let token = read_secret(sas_token, "SAS token")?;
            let view = accounts::update_token(&store, &name, &token, &ctx.client).await?;
            done(ctx, &view, "updated")
        }
        AccountCommand::List => {
            let views = accounts::list(&store)?;
            if ctx.json {
                output::json(&views);
            } else if views.is_empty() {
                println!("no accounts saved; add one with `writeback account add`");
            } else {
                let rows: Vec<_> = views
                    .iter()
                    .map(|v| {
                        let r = &v.record;
                        vec![
                            r.name.clone(),
                            r.storage_account.clone(),
                            r.endpoint.clone(),
                            expiry_cell(v),
                            r.permissions.clone(),
                        ]
                    })
                    .collect();
                output::table(
                    &[
                        "NAME",
                        "STORAGE ACCOUNT",
                        "ENDPOINT",
                        "EXPIRES",
                        "PERMISSIONS",
                    ],
                    &rows,
                );
                for v in &views {
                    for w in &v.warnings {
                        eprintln!("warning: {}: {w}", v.record.name);
                    }
                }
            }
            Ok(())
        }
        AccountCommand::Show { name } => {
            let view = accounts::show(&store, &name)?;
            show(ctx, &view);
            Ok(())
        }
        AccountCommand::Test { name } => {
            let mut view = accounts::test(&store, &name, &ctx.client).await?;
            // Scheduled writebacks that will run after the token has expired.
            for wb in crate::writebacks::list(&store)? {
                if wb.record.account != name {
                    continue;
                }
                let now = chrono::Utc::now();
                if let Some(w) =
                    crate::writebacks::expiry_warning(&name, view.record.expiry, wb.next_run, now)
                    && view.record.expiry > now
                {
                    view.warnings
                        .push(format!("writeback '{}': {w}", wb.record.name));
                }
            }
            if ctx.json {
                output::json(&view);
            } else {
                println!(
                    "ok: account '{}' can list containers at {}; the token expires {}",
                    view.record.name,
                    view.record.endpoint,
                    expiry_cell(&view)
                );
                output::warnings(&view.warnings);
            }
            Ok(())
        }
        AccountCommand::Remove { name } => {
            accounts::remove(&store, &name)?;
            if ctx.json {
                output::json(&serde_json::json!({ "removed": name }));
            } else {
                println!("removed account '{name}'");
            }
            Ok(())
        }
    }
}

pub(crate) async fn containers(args: ContainersArgs, ctx: &Context) -> Result<(), Error> {
    let store = ctx.store()?;
    let items = accounts::containers(
        &store,
        &args.account,
        args.prefix.as_deref(),
        args.page_size,
        &ctx.client,
    )
    .await?;
    if ctx.json {
        output::json(&items);
    } else {
        let rows: Vec<_> = items
            .iter()
            .map(|c| {
                vec![
                    c.name.clone(),
                    c.last_modified.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                ]
            })
            .collect();
        output::table(&["NAME", "LAST MODIFIED"], &rows);
    }
    Ok(())
}

fn done(ctx: &Context, view: &AccountView, verb: &str) -> Result<(), Error> {
    if ctx.json {
        output::json(view);
    } else {
        println!(
            "{verb} account '{}' ({} at {}); the token expires {}",
            view.record.name,
            view.record.storage_account,
            view.record.endpoint,
            expiry_cell(view)
        );
        output::warnings(&view.warnings);
    }
    Ok(())
}

fn show(ctx: &Context, view: &AccountView) {
    if ctx.json {
        output::json(view);
        return;
    }
    let r = &view.record;
    let rows = [
        ("name", r.name.clone()),
        ("storage account", r.storage_account.clone()),
        ("endpoint", r.endpoint.clone()),
        ("services (ss)", r.services.clone()),
        ("resource types (srt)", r.resource_types.clone()),
        ("permissions (sp)", r.permissions.clone()),
        ("expires", expiry_cell(view)),
        ("saved by", r.created_by.clone()),
        (
            "saved at",
            r.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        ),
        (
            "updated at",
            r.updated_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        ),
    ];
    for (k, v) in rows {
        println!("{k:<22}{v}");
    }
    output::warnings(&view.warnings);
}

fn expiry_cell(view: &AccountView) -> String {
    let when = view.record.expiry.format("%Y-%m-%d %H:%M UTC");
    let left = view.record.expiry - chrono::Utc::now();
    if left <= chrono::Duration::zero() {
        format!("{when} (expired {} ago)", accounts::human_span(-left))
    } else {
        format!("{when} (in {})", accounts::human_span(left))
    }
}
