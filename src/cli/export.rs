//! `writeback export`: one export, now, in the foreground.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::{Context, output};
use crate::encode::LineEnding;
use crate::engine::{self, ExportRequest, NoProgress, OutputOptions, Progress, UpdateMethod};
use crate::error::Error;
use crate::identity::current_user;
use crate::naming::FilenameMode;

/// Options that shape the output; shared by `export`, `create` and `edit`. Every flag is
/// optional so that `edit` changes only what is given; the defaults are those of
/// [`OutputOptions::default`].
#[derive(Debug, Clone, Args)]
pub(crate) struct OutputArgs {
    /// How the blob is named: `dataset-id` (<guid>.<ext>, the default) or `custom` (--filename).
    #[arg(long, value_enum)]
    filename_mode: Option<FilenameMode>,
    /// Blob name (implies --filename-mode custom); may hold '/' and the placeholders
    /// {dataset_id} {writeback} {date} {timestamp} {run_id}.
    #[arg(long, value_name = "NAME")]
    filename: Option<String>,
    /// Output format: csv (default), jsonl, parquet.
    #[arg(long, value_parser = ["csv", "jsonl", "parquet"])]
    format: Option<String>,
    /// Compression for CSV and JSON Lines: none (default), gzip, zstd.
    #[arg(long, value_parser = ["none", "gzip", "zstd"])]
    compression: Option<String>,
    /// `replace` the blob atomically (default), or `append` the rows to it atomically.
    #[arg(long, value_enum)]
    update_method: Option<UpdateMethod>,
    /// CSV field delimiter (one ASCII character; `\t` for tab). Default `,`.
    #[arg(long, value_name = "C")]
    delimiter: Option<String>,
    /// Do not write a CSV header row (`--no-header false` turns the header back on).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    no_header: Option<bool>,
    /// Text written for a missing value in CSV (default empty; an empty string is written "").
    #[arg(long, value_name = "S")]
    null_text: Option<String>,
    /// CSV line ending: crlf (default, RFC 4180) or lf.
    #[arg(long, value_parser = ["crlf", "lf"])]
    line_ending: Option<String>,
    /// Start the CSV with a UTF-8 byte order mark (for spreadsheet programs).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    bom: Option<bool>,
    /// Create the container if it does not exist.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    create_container: Option<bool>,
    /// Block size, e.g. 8MiB, 64MiB (default: 8 MiB, more for blobs past 390 GiB).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    block_size: Option<u64>,
    /// Blocks uploaded at once (default 4).
    #[arg(long, value_name = "N")]
    concurrency: Option<usize>,
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
    /// `base` with every option given on the command line applied.
    pub(crate) fn apply(&self, base: &OutputOptions) -> Result<OutputOptions, Error> {
        let mut o = base.clone();
        if let Some(m) = self.filename_mode {
            o.filename_mode = m;
            if m == FilenameMode::DatasetId {
                o.filename = None;
            }
        }
        if let Some(f) = &self.filename {
            o.filename = Some(f.clone());
            o.filename_mode = FilenameMode::Custom;
        }
        if let Some(f) = &self.format {
            o.format = f.parse().map_err(|e| Error::Invalid(format!("{e}")))?;
        }
        if let Some(c) = &self.compression {
            o.compression = c.parse().map_err(|e| Error::Invalid(format!("{e}")))?;
        }
        if let Some(m) = self.update_method {
            o.update_method = m;
        }
        if let Some(d) = &self.delimiter {
            o.csv.delimiter = parse_delimiter(d)?;
        }
        if let Some(no) = self.no_header {
            o.csv.header = !no;
        }
        if let Some(n) = &self.null_text {
            o.csv.null_text = n.clone();
        }
        if let Some(l) = &self.line_ending {
            o.csv.line_ending = if l == "lf" {
                LineEnding::Lf
            } else {
                LineEnding::CrLf
            };
        }
        if let Some(b) = self.bom {
            o.csv.bom = b;
        }
        if let Some(c) = self.create_container {
            o.create_container = c;
        }
        if let Some(b) = self.block_size {
            o.block_size = Some(b);
        }
        if let Some(c) = self.concurrency {
            o.concurrency = c;
        }
        o.validate()?;
        Ok(o)
    }
}

fn parse_delimiter(d: &str) -> Result<u8, Error> {
    match d {
        "\\t" | "tab" => Ok(b'\t'),
        d if d.len() == 1 && d.is_ascii() && !matches!(d, "\"" | "\r" | "\n") => {
            Ok(d.as_bytes()[0])
        }
        d => Err(Error::Invalid(format!(
            "--delimiter '{d}' must be one ASCII character other than a quote or a line break \
             (use \\t for tab)"
        ))),
    }
}

pub(crate) async fn run(args: ExportArgs, ctx: &Context) -> Result<(), Error> {
    let store = ctx.store()?;
    let request = ExportRequest {
        account: args.account,
        container: args.container,
        dataset: args.dataset,
        output: args.output.apply(&OutputOptions::default())?,
        writeback: None,
        run_id: None,
    };
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
    let (progress, bar) = progress_for(ctx, plan.rows());
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

/// A progress bar on stderr when it is a terminal (and output is not JSON), else nothing.
pub(crate) fn progress_for(
    ctx: &Context,
    rows: Option<u64>,
) -> (Arc<dyn Progress>, Option<indicatif::ProgressBar>) {
    if std::io::stderr().is_terminal() && !ctx.json {
        let bar = progress_bar(rows);
        (Arc::new(Bar(bar.clone(), Default::default())), Some(bar))
    } else {
        (Arc::new(NoProgress), None)
    }
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
struct Bar(indicatif::ProgressBar, std::sync::atomic::AtomicU64);

impl Progress for Bar {
    fn rows(&self, n: u64) {
        self.0.inc(n);
    }
    fn bytes(&self, n: u64) {
        let total = self.1.fetch_add(n, std::sync::atomic::Ordering::Relaxed) + n;
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
