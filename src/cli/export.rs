//! `writeback export`: one export, now, in the foreground.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::{Context, output};
use crate::compress::Compression;
use crate::encode::{CsvOptions, Format, LineEnding};
use crate::engine::{self, ExportRequest, NoProgress, Progress, UpdateMethod};
use crate::error::Error;
use crate::identity::current_user;
use crate::naming::FilenameMode;

/// Options that shape the output; shared with saved writebacks.
#[derive(Debug, Clone, Args)]
pub(crate) struct OutputArgs {
    /// How the blob is named: `dataset-id` (<guid>.<ext>) or `custom` (--filename).
    #[arg(long, value_enum, default_value = "dataset-id")]
    filename_mode: FilenameMode,
    /// Blob name (implies --filename-mode custom); may hold '/' and the placeholders
    /// {dataset_id} {writeback} {date} {timestamp} {run_id}.
    #[arg(long, value_name = "NAME")]
    filename: Option<String>,
    /// Output format.
    #[arg(long, default_value = "csv", value_parser = ["csv", "jsonl", "parquet"])]
    format: String,
    /// Compression (CSV and JSON Lines only).
    #[arg(long, default_value = "none", value_parser = ["none", "gzip", "zstd"])]
    compression: String,
    /// `replace` the blob atomically, or `append` the rows to it atomically.
    #[arg(long, value_enum, default_value = "replace")]
    update_method: UpdateMethod,
    /// CSV field delimiter (one ASCII character; `\t` for tab).
    #[arg(long, default_value = ",", value_name = "C")]
    delimiter: String,
    /// Do not write a CSV header row.
    #[arg(long)]
    no_header: bool,
    /// Text written for a missing value in CSV (an empty string is written as "").
    #[arg(long, default_value = "", value_name = "S")]
    null_text: String,
    /// CSV line ending.
    #[arg(long, default_value = "crlf", value_parser = ["crlf", "lf"])]
    line_ending: String,
    /// Start the CSV with a UTF-8 byte order mark (for spreadsheet programs).
    #[arg(long)]
    bom: bool,
    /// Create the container if it does not exist.
    #[arg(long)]
    create_container: bool,
    /// Block size, e.g. 8MiB, 64MiB (default: 8 MiB, more for blobs past 390 GiB).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    block_size: Option<u64>,
    /// Blocks uploaded at once.
    #[arg(long, default_value_t = engine::DEFAULT_CONCURRENCY, value_name = "N")]
    concurrency: usize,
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
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
    output: OutputArgs,
    /// Print the plan and check it against Azure without writing anything.
    #[arg(long)]
    dry_run: bool,
}

impl OutputArgs {
    /// The request these flags describe, for the given account, container and dataset.
    pub(crate) fn request(
        &self,
        account: String,
        container: String,
        dataset: String,
    ) -> Result<ExportRequest, Error> {
        let delimiter = match self.delimiter.as_str() {
            "\\t" | "tab" => b'\t',
            d if d.len() == 1 && d.is_ascii() && !matches!(d, "\"" | "\r" | "\n") => {
                d.as_bytes()[0]
            }
            d => {
                return Err(Error::Invalid(format!(
                    "--delimiter '{d}' must be one ASCII character other than a quote or a line \
                     break (use \\t for tab)"
                )));
            }
        };
        let csv = CsvOptions {
            delimiter,
            header: !self.no_header,
            null_text: self.null_text.clone(),
            line_ending: if self.line_ending == "lf" {
                LineEnding::Lf
            } else {
                LineEnding::CrLf
            },
            bom: self.bom,
            ..CsvOptions::default()
        };
        let format: Format = self
            .format
            .parse()
            .map_err(|e| Error::Invalid(format!("{e}")))?;
        let compression: Compression = self
            .compression
            .parse()
            .map_err(|e| Error::Invalid(format!("{e}")))?;
        Ok(ExportRequest {
            account,
            container,
            dataset,
            filename_mode: self.filename_mode,
            filename: self.filename.clone(),
            format,
            compression,
            update_method: self.update_method,
            csv,
            create_container: self.create_container,
            block_size: self.block_size,
            concurrency: self.concurrency,
            writeback: None,
        })
    }
}

pub(crate) async fn run(args: ExportArgs, ctx: &Context) -> Result<(), Error> {
    let store = ctx.store()?;
    let request = args
        .output
        .request(args.account, args.container, args.dataset)?;
    let plan = engine::prepare(&store, &ctx.home, &current_user(), request, &ctx.client)?;
    if args.dry_run {
        let report = plan.dry_run().await?;
        if ctx.json {
            output::json(&report);
        } else {
            let yes_no = |v: Option<bool>| match v {
                Some(true) => "yes",
                Some(false) => "no",
                None => "unknown (the token may not read it)",
            };
            println!("would write   {}", report.url);
            println!(
                "format        {} ({})",
                report.format.as_str(),
                report.compression.as_str()
            );
            println!("update method {:?}", report.update_method);
            println!(
                "rows          {}",
                report.rows.map_or("unknown".into(), |r| r.to_string())
            );
            println!("container     exists: {}", yes_no(report.container_exists));
            println!("blob          exists: {}", yes_no(report.blob_exists));
            println!("permissions   the token's permissions cover this export");
            for p in &report.problems {
                println!("problem       {p}");
            }
        }
        return if report.problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Invalid(format!(
                "the export would fail: {}",
                report.problems.join("; ")
            )))
        };
    }
    let (progress, bar): (Arc<dyn Progress>, Option<indicatif::ProgressBar>) =
        if std::io::stderr().is_terminal() && !ctx.json {
            let bar = progress_bar(plan.rows());
            (Arc::new(Bar(bar.clone())), Some(bar))
        } else {
            (Arc::new(NoProgress), None)
        };
    let result = plan.execute(progress).await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let report = result?;
    if ctx.json {
        output::json(&report);
    } else {
        println!(
            "wrote {} rows, {} bytes to {} in {:.2}s ({:.1} MB/s), MD5 {}",
            report.rows,
            report.bytes,
            report.url,
            report.elapsed_seconds,
            report.bytes_per_second / 1e6,
            report.md5
        );
    }
    Ok(())
}

/// Parses `8MiB`, `16M`, `1GiB`, `1048576`.
fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("'{s}' is not a size like 8MiB"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(format!("'{s}' has an unknown unit; use KiB, MiB or GiB")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("'{s}' is too large"))
}

fn progress_bar(rows: Option<u64>) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(rows.unwrap_or(0));
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:30} {pos}/{len} rows  {msg}  {elapsed_precise}",
        )
        .expect("static template"),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Progress shown on a terminal: rows encoded on the bar, bytes uploaded and rate beside it.
struct Bar(indicatif::ProgressBar);

impl Progress for Bar {
    fn rows(&self, n: u64) {
        self.0.inc(n);
    }
    fn bytes(&self, n: u64) {
        let total = self
            .0
            .message()
            .split(' ')
            .next()
            .and_then(|b| b.parse::<u64>().ok())
            .unwrap_or(0)
            + n;
        let rate = total as f64 / self.0.elapsed().as_secs_f64().max(0.001) / 1e6;
        self.0
            .set_message(format!("{total} bytes uploaded, {rate:.1} MB/s"));
    }
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("8MiB"), Ok(8 << 20));
        assert_eq!(parse_size("16M"), Ok(16 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert!(parse_size("8 parsecs").is_err());
        assert!(parse_size("MiB").is_err());
    }
}
