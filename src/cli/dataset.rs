//! `writeback dataset ...`: the local catalog of input datasets.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::{Context, output};
use crate::catalog::{Catalog, DatasetId, DatasetView, Format, ImportOptions};
use crate::error::Error;
use crate::identity::current_user;

/// Most rows `dataset preview` shows at once.
const MAX_PREVIEW_ROWS: u64 = 10_000;

#[derive(Debug, Subcommand)]
pub(crate) enum DatasetCommand {
    /// Import a CSV, JSON Lines or Parquet file as a new dataset owned by you; prints its ID.
    Import {
        /// The file (CSV and JSON Lines may be gzip-compressed).
        file: PathBuf,
        /// A name for people (default: the file name without its extensions).
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        #[command(flatten)]
        read: ReadArgs,
    },
    /// List the datasets you own or co-own.
    List,
    /// Show a dataset's schema, row count and owners.
    Show {
        /// The dataset's ID (a GUID).
        id: String,
    },
    /// Show a dataset's first rows.
    Preview {
        /// The dataset's ID (a GUID).
        id: String,
        /// How many rows.
        #[arg(long, default_value_t = 10, value_name = "N",
              value_parser = clap::value_parser!(u64).range(0..=MAX_PREVIEW_ROWS))]
        rows: u64,
    },
    /// Let another user read and replace a dataset you own.
    Share {
        /// The dataset's ID (a GUID).
        id: String,
        /// The user to add as a co-owner.
        #[arg(long, value_name = "USER")]
        co_owner: String,
    },
    /// Take a co-owner's access away (or give up your own).
    Unshare {
        /// The dataset's ID (a GUID).
        id: String,
        /// The co-owner to remove.
        #[arg(long, value_name = "USER")]
        co_owner: String,
    },
    /// Remove a dataset you own and its data.
    Remove {
        /// The dataset's ID (a GUID).
        id: String,
    },
    /// Replace a dataset's data with a file's, keeping its ID; reports schema changes.
    Replace {
        /// The dataset's ID (a GUID).
        id: String,
        /// The new data.
        file: PathBuf,
        #[command(flatten)]
        read: ReadArgs,
    },
}

/// How to read the file.
#[derive(Debug, Args)]
pub(crate) struct ReadArgs {
    /// The file's format (default: from its extension).
    #[arg(long, value_enum, value_name = "FORMAT")]
    format: Option<FormatArg>,
    /// CSV field delimiter: one ASCII character, or 'tab' (default: tab for .tsv, else ',').
    #[arg(long, value_name = "C", value_parser = parse_delimiter)]
    delimiter: Option<char>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FormatArg {
    Csv,
    Jsonl,
    Parquet,
}

fn parse_delimiter(s: &str) -> Result<char, String> {
    match s {
        "tab" | "\\t" => Ok('\t'),
        _ => {
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Ok(c),
                _ => Err(format!("'{s}' is not one character")),
            }
        }
    }
}

impl ReadArgs {
    fn options(&self, name: Option<String>) -> ImportOptions {
        ImportOptions {
            name,
            format: self.format.map(|f| match f {
                FormatArg::Csv => Format::Csv,
                FormatArg::Jsonl => Format::Jsonl,
                FormatArg::Parquet => Format::Parquet,
            }),
            delimiter: self.delimiter,
        }
    }
}

fn parse_id(s: &str) -> Result<DatasetId, Error> {
    Ok(s.parse::<DatasetId>()?)
}

pub(crate) fn run(cmd: DatasetCommand, ctx: &Context) -> Result<(), Error> {
    let store = ctx.store()?;
    let catalog = Catalog::new(&store, &ctx.home);
    let user = current_user();
    match cmd {
        DatasetCommand::Import { file, name, read } => {
            let view = catalog.import(&file, &read.options(name), &user)?;
            if ctx.json {
                output::json(&view);
            } else {
                // The ID alone on stdout, so `ID=$(writeback dataset import f.csv)` works; the
                // sentence for people goes to stderr.
                println!("{}", view.record.id);
                eprintln!(
                    "imported {} as '{}': {} rows, {} columns, {}",
                    file.display(),
                    view.record.name,
                    view.record.rows,
                    view.record.columns.len(),
                    human_bytes(view.record.bytes)
                );
            }
        }
        DatasetCommand::List => {
            let records = catalog.list(&user)?;
            if ctx.json {
                output::json(&records);
            } else if records.is_empty() {
                println!("no datasets; import one with `writeback dataset import FILE`");
            } else {
                let rows: Vec<_> = records
                    .iter()
                    .map(|r| {
                        vec![
                            r.id.clone(),
                            r.name.clone(),
                            r.rows.to_string(),
                            human_bytes(r.bytes),
                            r.owner.clone(),
                            r.updated_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                        ]
                    })
                    .collect();
                output::table(&["ID", "NAME", "ROWS", "SIZE", "OWNER", "UPDATED"], &rows);
            }
        }
        DatasetCommand::Show { id } => {
            let view = catalog.show(&parse_id(&id)?, &user)?;
            if ctx.json {
                output::json(&view);
            } else {
                show(&view);
            }
        }
        DatasetCommand::Preview { id, rows } => {
            let preview = catalog.preview(&parse_id(&id)?, &user, rows as usize)?;
            if ctx.json {
                output::json(&preview);
            } else {
                let header: Vec<&str> = preview.columns.iter().map(|c| c.name.as_str()).collect();
                output::table(&header, &preview.text_rows());
                if let Some(total) = preview.total_rows {
                    eprintln!("({} of {total} rows)", preview.rows.len());
                }
            }
        }
        DatasetCommand::Share { id, co_owner } => {
            let s = catalog.share(&parse_id(&id)?, &user, &co_owner)?;
            if ctx.json {
                output::json(&s);
            } else if s.changed {
                println!(
                    "'{}' is now a co-owner of dataset {}",
                    s.co_owner, s.dataset.record.id
                );
            } else {
                println!(
                    "'{}' was already a co-owner of dataset {}",
                    s.co_owner, s.dataset.record.id
                );
            }
        }
        DatasetCommand::Unshare { id, co_owner } => {
            let s = catalog.unshare(&parse_id(&id)?, &user, &co_owner)?;
            if ctx.json {
                output::json(&s);
            } else {
                println!(
                    "'{}' is no longer a co-owner of dataset {}",
                    s.co_owner, s.dataset.record.id
                );
            }
        }
        DatasetCommand::Remove { id } => {
            let r = catalog.remove(&parse_id(&id)?, &user)?;
            if ctx.json {
                output::json(&serde_json::json!({ "removed": r.id, "name": r.name }));
            } else {
                println!("removed dataset {} ('{}')", r.id, r.name);
            }
        }
        DatasetCommand::Replace { id, file, read } => {
            let r = catalog.replace(&parse_id(&id)?, &file, &read.options(None), &user)?;
            if ctx.json {
                output::json(&r);
            } else {
                let d = &r.dataset.record;
                println!(
                    "replaced the data of dataset {} ('{}') with {}: {} rows (was {}), {}",
                    d.id,
                    d.name,
                    file.display(),
                    d.rows,
                    r.previous_rows,
                    human_bytes(d.bytes)
                );
                if r.changes.is_empty() {
                    println!("schema unchanged");
                } else {
                    for line in r.changes.describe() {
                        println!("schema change: {line}");
                    }
                }
            }
        }
    }
    Ok(())
}

fn show(view: &DatasetView) {
    let r = &view.record;
    let co_owners = if view.co_owners.is_empty() {
        "(none)".to_owned()
    } else {
        view.co_owners.join(", ")
    };
    let rows = [
        ("id", r.id.clone()),
        ("name", r.name.clone()),
        ("rows", r.rows.to_string()),
        ("size", human_bytes(r.bytes)),
        ("imported from", format!("{} ({})", r.source_file, r.format)),
        ("owner", r.owner.clone()),
        ("co-owners", co_owners),
        (
            "created at",
            r.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        ),
        (
            "updated at",
            r.updated_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        ),
    ];
    for (k, v) in rows {
        println!("{k:<15}{v}");
    }
    println!();
    let cols: Vec<_> = r
        .columns
        .iter()
        .map(|c| {
            vec![
                c.name.clone(),
                c.type_name.clone(),
                if c.nullable { "yes" } else { "no" }.into(),
            ]
        })
        .collect();
    output::table(&["COLUMN", "TYPE", "NULLABLE"], &cols);
}

/// Sizes for people: `1.5 MiB`.
fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 * 1024 * 1024 * 1024), "3.0 GiB");
    }

    #[test]
    fn delimiters() {
        assert_eq!(parse_delimiter("tab"), Ok('\t'));
        assert_eq!(parse_delimiter(";"), Ok(';'));
        assert!(parse_delimiter(";;").is_err());
    }
}
