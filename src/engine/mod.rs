//! One export, wired end to end: dataset batches → encoder → compressor → blocks → Azure.
//!
//! [`prepare`] turns a request into an [`ExportPlan`] after every offline check (names, formats,
//! permissions, ownership), so nothing is written for a request that cannot succeed; [`execute`]
//! then streams the dataset into the blob (see [`pipeline`]) and commits it atomically.

mod pipeline;

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::Utc;
use serde::Serialize;

use crate::accounts;
use crate::azure::{BlobHeaders, BlobService, ClientOptions, validate_container_name};
use crate::catalog::DatasetId;
use crate::compress::Compression;
use crate::encode::{CsvOptions, Format};
use crate::error::{Error, Result};
use crate::naming::{self, FilenameMode, NameContext};
use crate::sas::Operation;
use crate::source::{self, Source};
use crate::store::{Home, Store};

pub use pipeline::{NoProgress, Progress};

/// Default number of blocks uploaded at once: enough to keep a link busy while the next block
/// is encoded, few enough that memory stays at a few tens of MiB.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// Most blocks in flight we accept from a user.
pub const MAX_CONCURRENCY: usize = 64;

/// How the blob is updated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UpdateMethod {
    /// Replace the blob atomically.
    Replace,
    /// Add the rows to the end of the blob atomically.
    Append,
}

/// Everything an export needs to know, as given.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    /// The saved account to write with.
    pub account: String,
    /// The target container.
    pub container: String,
    /// The input dataset's GUID.
    pub dataset: String,
    /// How the output is shaped and uploaded.
    pub output: OutputOptions,
    /// The saved writeback this export runs for, if any (for `{writeback}` and metadata).
    pub writeback: Option<String>,
    /// The run's ID, when the caller records the run under it; otherwise a new one.
    pub run_id: Option<String>,
}

/// How the output is named, shaped and uploaded: what a saved writeback stores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct OutputOptions {
    /// How the blob is named.
    pub filename_mode: FilenameMode,
    /// The custom filename (implies [`FilenameMode::Custom`]).
    pub filename: Option<String>,
    /// Output format.
    pub format: Format,
    /// Output compression.
    pub compression: Compression,
    /// Replace or append.
    pub update_method: UpdateMethod,
    /// CSV options.
    pub csv: CsvOptions,
    /// Create the container when it does not exist.
    pub create_container: bool,
    /// Block size override, in bytes.
    pub block_size: Option<u64>,
    /// Blocks uploaded at once.
    pub concurrency: usize,
}

impl Default for OutputOptions {
    fn default() -> Self {
        OutputOptions {
            filename_mode: FilenameMode::DatasetId,
            filename: None,
            format: Format::Csv,
            compression: Compression::None,
            update_method: UpdateMethod::Replace,
            csv: CsvOptions::default(),
            create_container: false,
            block_size: None,
            concurrency: DEFAULT_CONCURRENCY,
        }
    }
}

impl OutputOptions {
    /// Checks the options on their own (no account, dataset or network needed).
    pub fn validate(&self) -> Result<()> {
        if !(1..=MAX_CONCURRENCY).contains(&self.concurrency) {
            return Err(Error::Invalid(format!(
                "--concurrency must be between 1 and {MAX_CONCURRENCY}; {} was given",
                self.concurrency
            )));
        }
        if self.format == Format::Parquet && self.update_method == UpdateMethod::Append {
            return Err(Error::Invalid(
                "Parquet files cannot be appended to (a Parquet file ends with its own index); \
                 use --update-method replace, or CSV or JSON Lines for appending"
                    .into(),
            ));
        }
        if self.format == Format::Parquet && self.compression != Compression::None {
            return Err(Error::Invalid(
                "Parquet compresses its pages itself; leave --compression at none for Parquet"
                    .into(),
            ));
        }
        if self.filename_mode == FilenameMode::Custom && self.filename.is_none() {
            return Err(Error::Invalid(
                "--filename-mode custom needs --filename".into(),
            ));
        }
        if let Some(f) = &self.filename
            && self.filename_mode == FilenameMode::Custom
        {
            // Placeholders expand to safe text, so checking them with sample values finds
            // unknown placeholders and bad names before anything runs.
            let ctx = NameContext {
                dataset_id: "00000000-0000-4000-8000-000000000000",
                writeback: Some("writeback"),
                run_id: "00000000-0000-7000-8000-000000000000",
                now: Utc::now(),
            };
            naming::blob_name(
                self.filename_mode,
                Some(f),
                &extension(self.format, self.compression),
                &ctx,
            )
            .map_err(|e| Error::Invalid(e.to_string()))?;
        }
        self.csv
            .validate()
            .map_err(|e| Error::Invalid(e.to_string()))?;
        if let Some(b) = self.block_size {
            crate::blocks::block_size(0, Some(b)).map_err(|e| Error::Invalid(e.to_string()))?;
        }
        Ok(())
    }
}

/// A request that passed every offline check.
pub struct ExportPlan {
    request: ExportRequest,
    dataset_id: DatasetId,
    run_id: String,
    blob: String,
    url: String,
    service: BlobService,
    source: Box<dyn Source>,
}

impl std::fmt::Debug for ExportPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportPlan")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// What an export did.
#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
    /// The blob's URL, without any token.
    pub url: String,
    /// The container.
    pub container: String,
    /// The blob name.
    pub blob: String,
    /// The dataset exported.
    pub dataset_id: String,
    /// This run's ID.
    pub run_id: String,
    /// Output format.
    pub format: Format,
    /// Output compression.
    pub compression: Compression,
    /// Replace or append.
    pub update_method: UpdateMethod,
    /// Rows written by this export.
    pub rows: u64,
    /// Bytes written by this export (after compression).
    pub bytes: u64,
    /// Base64 MD5 of the bytes written by this export; for a replace, the blob's Content-MD5.
    pub md5: String,
    /// The blob's ETag after the commit.
    pub etag: String,
    /// Blocks staged (0 for a single Put Blob).
    pub blocks: u64,
    /// Block size used, in bytes.
    pub block_size: u64,
    /// Whether the container was created by this export.
    pub created_container: bool,
    /// Wall time, in seconds.
    pub elapsed_seconds: f64,
    /// Bytes written per second.
    pub bytes_per_second: f64,
}

/// What `--dry-run` found.
#[derive(Debug, Clone, Serialize)]
pub struct DryRunReport {
    /// The blob's URL, without any token.
    pub url: String,
    /// The blob name.
    pub blob: String,
    /// Output format.
    pub format: Format,
    /// Output compression.
    pub compression: Compression,
    /// Replace or append.
    pub update_method: UpdateMethod,
    /// Rows the dataset has.
    pub rows: Option<u64>,
    /// Whether the container exists (`None` when the token may not read it).
    pub container_exists: Option<bool>,
    /// Whether a blob of that name exists (`None` when the token may not read it).
    pub blob_exists: Option<bool>,
    /// The token's permissions cover the operation (checked offline).
    pub permissions_ok: bool,
    /// Problems that would make the export fail.
    pub problems: Vec<String>,
}

/// Checks a request offline and opens its source: names, format rules, the dataset's owner
/// rule, and the token's permissions for the operation.
pub fn prepare(
    store: &Store,
    home: &Home,
    user: &str,
    mut request: ExportRequest,
    options: &ClientOptions,
) -> Result<ExportPlan> {
    validate_container_name(&request.container)?;
    if request.output.filename.is_some() {
        request.output.filename_mode = FilenameMode::Custom;
    }
    request.output.validate()?;
    let dataset_id: DatasetId = request.dataset.parse()?;
    let run_id = request
        .run_id
        .clone()
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let started_at = Utc::now();
    let dataset_text = dataset_id.to_string();
    let ctx = NameContext {
        dataset_id: &dataset_text,
        writeback: request.writeback.as_deref(),
        run_id: &run_id,
        now: started_at,
    };
    let extension = extension(request.output.format, request.output.compression);
    let blob = naming::blob_name(
        request.output.filename_mode,
        request.output.filename.as_deref(),
        &extension,
        &ctx,
    )
    .map_err(|e| Error::Invalid(e.to_string()))?;
    let source = source::open_dataset(store, home, &dataset_id, user)?;
    let conn = accounts::connect(
        store,
        &request.account,
        &operations(&request.output),
        options,
    )?;
    let url = conn.service.blob_url(&request.container, &blob);
    Ok(ExportPlan {
        request,
        dataset_id,
        run_id,
        blob,
        url,
        service: conn.service,
        source,
    })
}

/// The token permissions an export needs, for the offline check.
pub fn operations(output: &OutputOptions) -> Vec<Operation> {
    let mut ops = vec![Operation::WriteBlob];
    if output.update_method == UpdateMethod::Append {
        // Appending reads the existing blob's properties and committed block list.
        ops.extend([Operation::AppendBlob, Operation::ReadBlob]);
    }
    if output.create_container {
        ops.push(Operation::CreateContainer);
    }
    ops
}

/// `csv`, `csv.gz`, `jsonl.zst`, `parquet`.
pub fn extension(format: Format, compression: Compression) -> String {
    match compression.extension() {
        "" => format.extension().to_owned(),
        ext => format!("{}{}", format.extension(), ext),
    }
}

impl ExportPlan {
    /// The blob's URL, without any token.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// This run's ID.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The blob name.
    pub fn blob(&self) -> &str {
        &self.blob
    }

    /// Rows the dataset has, if known.
    pub fn rows(&self) -> Option<u64> {
        self.source.row_count()
    }

    /// Checks the plan against the live service without writing anything.
    pub async fn dry_run(self) -> Result<DryRunReport> {
        let req = &self.request;
        let mut problems = Vec::new();
        let readable = |e: &crate::azure::AzureError| e.is_auth_failure();
        let container_exists = match self.service.container_exists(&req.container).await {
            Ok(exists) => Some(exists),
            Err(e) if readable(&e) => None,
            Err(e) => return Err(e.into()),
        };
        if container_exists == Some(false) && !req.output.create_container {
            problems.push(format!(
                "container '{}' does not exist; pass --create-container to create it",
                req.container
            ));
        }
        let existing = match container_exists {
            Some(false) => Ok(None),
            _ => {
                self.service
                    .blob_properties(&req.container, &self.blob)
                    .await
            }
        };
        let blob_exists = match existing {
            Ok(Some(props)) => {
                if props.blob_type != "BlockBlob" {
                    problems.push(different_type(&self.blob, &props.blob_type).to_string());
                }
                Some(true)
            }
            Ok(None) => Some(false),
            Err(e) if readable(&e) => None,
            Err(e) => return Err(e.into()),
        };
        Ok(DryRunReport {
            url: self.url.clone(),
            blob: self.blob.clone(),
            format: req.output.format,
            compression: req.output.compression,
            update_method: req.output.update_method,
            rows: self.source.row_count(),
            container_exists,
            blob_exists,
            permissions_ok: true,
            problems,
        })
    }

    /// Streams the dataset into the blob and commits it.
    pub async fn execute(self, progress: Arc<dyn Progress>) -> Result<ExportReport> {
        let started = Instant::now();
        let ExportPlan {
            request: req,
            dataset_id,
            run_id,
            blob,
            url,
            service,
            source,
            ..
        } = self;
        // Create Container answers "already exists" harmlessly, so no existence check first
        // (which would also need the read permission).
        let created_container =
            req.output.create_container && service.create_container(&req.container).await?;
        let target = pipeline::Target {
            service: &service,
            container: &req.container,
            blob: &blob,
        };
        let existing = match req.output.update_method {
            UpdateMethod::Replace => {
                target.check_replaceable().await?;
                None
            }
            UpdateMethod::Append => target.existing_for_append(&req, &source.schema()).await?,
        };
        let mut metadata = vec![
            ("dataset_id".to_owned(), dataset_id.to_string()),
            ("run_id".to_owned(), run_id.clone()),
            (
                "format".to_owned(),
                req.output.format.extension().to_owned(),
            ),
            (
                "columns_sha256".to_owned(),
                pipeline::columns_fingerprint(&source.schema()),
            ),
        ];
        if let Some(wb) = &req.writeback {
            metadata.push((
                "writeback".to_owned(),
                percent_encoding::utf8_percent_encode(wb, percent_encoding::NON_ALPHANUMERIC)
                    .to_string(),
            ));
        }
        let headers = BlobHeaders {
            content_type: req.output.format.content_type().to_owned(),
            content_encoding: req.output.compression.content_encoding().map(str::to_owned),
            content_md5: None,
            metadata,
            if_match: None,
        };
        let outcome = pipeline::run(pipeline::Job {
            target,
            source,
            format: req.output.format,
            csv: req.output.csv.clone(),
            compression: req.output.compression,
            block_size: req.output.block_size,
            concurrency: req.output.concurrency,
            existing,
            headers,
            progress,
        })
        .await?;
        let elapsed = started.elapsed();
        Ok(ExportReport {
            url,
            container: req.container.clone(),
            blob,
            dataset_id: dataset_id.to_string(),
            run_id,
            format: req.output.format,
            compression: req.output.compression,
            update_method: req.output.update_method,
            rows: outcome.rows,
            bytes: outcome.bytes,
            md5: BASE64.encode(outcome.md5),
            etag: outcome.etag,
            blocks: outcome.blocks,
            block_size: outcome.block_size,
            created_container,
            elapsed_seconds: elapsed.as_secs_f64(),
            bytes_per_second: outcome.bytes as f64
                / elapsed.max(Duration::from_millis(1)).as_secs_f64(),
        })
    }
}

/// The error for a name taken by an append or page blob.
fn different_type(blob: &str, blob_type: &str) -> Error {
    Error::Invalid(format!(
        "'{blob}' already exists as an {} and cannot be overwritten by a block blob; choose \
         another name or delete it first",
        match blob_type {
            "AppendBlob" => "append blob",
            "PageBlob" => "page blob",
            other => other,
        }
    ))
}
