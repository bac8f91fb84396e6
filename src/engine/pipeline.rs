//! The streaming pipeline of one export.
//!
//! ```text
//! blocking thread:  source batches → encoder → fixed-size chunks ──(bounded channel)──┐
//! blocking pool:    compress each chunk as its own gzip member / zstd frame + block MD5 │ (2 at once, order kept)
//! blocking, in order: whole-blob MD5                                                  │
//! async:            Put Block × concurrency ──► Put Block List (or one Put Blob)  ◄──┘
//! ```
//!
//! Memory is bounded by the block size times the blocks that can be alive at once: one being
//! filled, one in the channel, two being compressed, `concurrency` being uploaded. Nothing is
//! committed until every block is staged, so a failure at any point leaves the previous blob as
//! it was.

use std::sync::Arc;

use arrow_schema::SchemaRef;
use bytes::Bytes;
use futures_util::StreamExt;
use sha2::Digest as _;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::{ExportRequest, different_type};
use crate::azure::{AzureError, BlobHeaders, BlobService, md5_of};
use crate::blocks::{self, MAX_BLOCKS};
use crate::compress::{self, Compression};
use crate::encode::{self, CsvOptions, Format};
use crate::error::{Error, Result};
use crate::source::Source;

/// Chunks compressed at once: one per core of the machines we target; more only queue.
const COMPRESS_PARALLELISM: usize = 2;

/// Bytes of an existing CSV blob read to find its header line.
const HEADER_PROBE_LEN: u64 = 64 * 1024;

/// Receives progress while an export runs; called from several threads.
pub trait Progress: Send + Sync {
    /// `n` more rows were encoded.
    fn rows(&self, n: u64) {
        let _ = n;
    }
    /// `n` more bytes were uploaded.
    fn bytes(&self, n: u64) {
        let _ = n;
    }
}

/// Progress that goes nowhere.
pub struct NoProgress;
impl Progress for NoProgress {}

/// The blob being written.
#[derive(Clone, Copy)]
pub(super) struct Target<'a> {
    pub service: &'a BlobService,
    pub container: &'a str,
    pub blob: &'a str,
}

/// What an append builds on.
pub(super) struct Existing {
    /// Committed block IDs to keep, in order.
    committed: Vec<String>,
    /// The blob's ETag: the commit succeeds only if nobody changed the blob meanwhile.
    etag: String,
    /// Rows recorded in its metadata by an earlier export.
    rows: Option<u64>,
    /// Bytes to copy into blocks first, for a blob that was not written in blocks of ours.
    restage: u64,
}

impl Target<'_> {
    fn missing_container(&self, e: AzureError) -> Error {
        if e.code() == Some("ContainerNotFound") {
            Error::Invalid(format!(
                "container '{}' does not exist; create it, or pass --create-container",
                self.container
            ))
        } else {
            e.into()
        }
    }

    /// Refuses a name held by an append or page blob (a block blob cannot replace it).
    pub async fn check_replaceable(&self) -> Result<()> {
        match self
            .service
            .blob_properties(self.container, self.blob)
            .await
        {
            Ok(Some(p)) if p.blob_type != "BlockBlob" => {
                Err(different_type(self.blob, &p.blob_type))
            }
            Ok(_) => Ok(()),
            // A write-only token may not read properties; the write itself will tell.
            Err(e) if e.is_auth_failure() => Ok(()),
            Err(e) => Err(self.missing_container(e)),
        }
    }

    /// The blob an append adds to, after checking it can take these rows; `None` if it does not
    /// exist yet.
    pub async fn existing_for_append(
        &self,
        req: &ExportRequest,
        schema: &SchemaRef,
    ) -> Result<Option<Existing>> {
        let props = match self
            .service
            .blob_properties(self.container, self.blob)
            .await
        {
            Ok(Some(p)) => p,
            Ok(None) => return Ok(None),
            Err(e) => return Err(self.missing_container(e)),
        };
        if props.blob_type != "BlockBlob" {
            return Err(different_type(self.blob, &props.blob_type));
        }
        let ours = req.output.compression.content_encoding();
        if props.content_encoding.as_deref() != ours {
            return Err(Error::Invalid(format!(
                "'{}' is stored with content encoding {} but this export writes {}; appending \
                 would mix the two, so use the same --compression or --update-method replace",
                self.blob,
                props.content_encoding.as_deref().unwrap_or("none"),
                ours.unwrap_or("none")
            )));
        }
        match props.metadata.get("columns_sha256") {
            Some(theirs) if *theirs != columns_fingerprint(schema) => {
                return Err(Error::Invalid(format!(
                    "'{}' was written with different columns than dataset {} has now; appending \
                     would mix two layouts, so export to a new name or use --update-method replace",
                    self.blob, req.dataset
                )));
            }
            Some(_) => {}
            None if req.output.format == Format::Csv && ours.is_none() && req.output.csv.header => {
                self.compare_csv_header(&req.output.csv, schema).await?;
            }
            None => {}
        }
        let (blocks, etag) = self
            .service
            .committed_blocks(self.container, self.blob)
            .await?;
        let ours_only = blocks
            .iter()
            .all(|b| b.id.len() == blocks::block_id(0, 0).len());
        let restage_all = blocks.is_empty() && props.size > 0 || !ours_only;
        Ok(Some(Existing {
            committed: if restage_all {
                Vec::new()
            } else {
                blocks.into_iter().map(|b| b.id).collect()
            },
            etag,
            rows: props.metadata.get("rows").and_then(|r| r.parse().ok()),
            restage: if restage_all { props.size } else { 0 },
        }))
    }

    /// For a CSV blob another tool wrote: its header line must name the dataset's columns.
    async fn compare_csv_header(&self, csv: &CsvOptions, schema: &SchemaRef) -> Result<()> {
        let head = self
            .service
            .read_prefix(self.container, self.blob, HEADER_PROBE_LEN)
            .await?;
        let head = head.strip_prefix("\u{feff}".as_bytes()).unwrap_or(&head);
        let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
        let line = String::from_utf8_lossy(line);
        let theirs: Vec<String> = line
            .trim_end_matches('\r')
            .split(csv.delimiter as char)
            .map(|f| f.trim_matches(csv.quote as char).to_owned())
            .collect();
        let ours: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        if theirs != ours {
            return Err(Error::Invalid(format!(
                "'{}' has the columns [{}] but the dataset has [{}]; appending would mix two \
                 layouts, so export to a new name or use --update-method replace",
                self.blob,
                theirs.join(", "),
                ours.join(", ")
            )));
        }
        Ok(())
    }
}

/// SHA-256 over the column names, in order: stored in the blob's metadata so a later append
/// can tell whether the layout changed (metadata values must be short ASCII; names may be
/// neither). Types are left out on purpose: appends are CSV or JSON Lines, whose text does not
/// change when a column's inferred type does (an empty import infers text).
pub fn columns_fingerprint(schema: &SchemaRef) -> String {
    let mut h = sha2::Sha256::new();
    for f in schema.fields() {
        h.update(f.name().as_bytes());
        h.update([0x1e]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) struct Job<'a> {
    pub target: Target<'a>,
    pub source: Box<dyn Source>,
    pub format: Format,
    pub csv: CsvOptions,
    pub compression: Compression,
    pub block_size: Option<u64>,
    pub concurrency: usize,
    pub existing: Option<Existing>,
    pub headers: BlobHeaders,
    pub progress: Arc<dyn Progress>,
}

pub(super) struct Outcome {
    pub rows: u64,
    pub bytes: u64,
    pub md5: [u8; 16],
    pub etag: String,
    pub blocks: u64,
    pub block_size: u64,
}

/// One chunk of encoded bytes and the block size in force.
struct Chunk {
    data: Vec<u8>,
    block_size: u64,
}

pub(super) async fn run(job: Job<'_>) -> Result<Outcome> {
    let Job {
        target,
        source,
        format,
        csv,
        compression,
        block_size,
        concurrency,
        existing,
        mut headers,
        progress,
    } = job;
    let appending = existing.is_some();
    let write_header = csv.header && !appending;
    let (tx, mut rx) = mpsc::channel::<Chunk>(1);
    let producer_progress = progress.clone();
    let producer = tokio::task::spawn_blocking(move || {
        produce(
            source,
            format,
            &csv,
            write_header,
            block_size,
            &tx,
            &*producer_progress,
        )
    });

    let mut uploader = Uploader {
        service: target.service.clone(),
        container: target.container.to_owned(),
        blob: target.blob.to_owned(),
        nonce: fastrand::u64(..),
        ids: Vec::new(),
        in_flight: JoinSet::new(),
        concurrency,
        progress: progress.clone(),
    };
    let result = async {
        if let Some(existing) = &existing {
            uploader
                .restage(
                    existing.restage,
                    block_size.unwrap_or(blocks::MIN_BLOCK_SIZE),
                )
                .await?;
        }
        let chunks = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
        let mut prepared = chunks
            .map(|chunk| async move {
                tokio::task::spawn_blocking(move || prepare_block(chunk, compression))
                    .await
                    .expect("block preparation does not panic")
            })
            .buffered(COMPRESS_PARALLELISM);
        let mut whole = Some(md5::Md5::default());
        let mut bytes = 0u64;
        let mut held: Option<(Bytes, [u8; 16])> = None;
        let mut used_block_size = 0;
        while let Some(block) = prepared.next().await {
            let (data, md5, size) = block?;
            used_block_size = size;
            if data.is_empty() && appending {
                // Nothing to add (an empty dataset): Azure has no empty blocks.
                continue;
            }
            let data = Bytes::from(data);
            bytes += data.len() as u64;
            let mut h = whole.take().expect("hasher is put back after each block");
            let d = data.clone();
            whole = Some(
                tokio::task::spawn_blocking(move || {
                    md5::Digest::update(&mut h, &d);
                    h
                })
                .await
                .expect("hashing does not panic"),
            );
            // Hold the first block back: if it turns out to be the only one, a single Put Blob
            // does the job in one request.
            if uploader.ids.is_empty() && held.is_none() && !appending {
                held = Some((data, md5));
                continue;
            }
            if let Some((d, m)) = held.take() {
                uploader.stage(d, m).await?;
            }
            uploader.stage(data, md5).await?;
        }
        // The encoder thread's outcome decides before the commit: a failed source must not
        // commit the blocks it managed to send.
        let rows = producer.await.expect("the encoder thread does not panic")?;
        uploader.finish().await?;
        let md5: [u8; 16] = md5::Digest::finalize(whole.take().expect("hasher present")).into();
        let total_rows = match &existing {
            Some(e) => e.rows.map(|r| r + rows),
            None => Some(rows),
        };
        if let Some(r) = total_rows {
            headers.metadata.push(("rows".to_owned(), r.to_string()));
        }
        let committed = match (&existing, held) {
            (None, Some((data, _))) => {
                let c = target
                    .service
                    .put_blob(target.container, target.blob, data.clone(), &headers)
                    .await;
                progress.bytes(data.len() as u64);
                c
            }
            (Some(e), _) => {
                headers.if_match = Some(e.etag.clone());
                target
                    .service
                    .put_block_list(
                        target.container,
                        target.blob,
                        &e.committed,
                        &uploader.ids,
                        &headers,
                    )
                    .await
            }
            (None, None) => {
                headers.content_md5 = Some(md5);
                target
                    .service
                    .put_block_list(target.container, target.blob, &[], &uploader.ids, &headers)
                    .await
            }
        }?;
        Ok(Outcome {
            rows,
            bytes,
            md5,
            etag: committed.etag,
            blocks: uploader.ids.len() as u64,
            block_size: used_block_size,
        })
    }
    .await;
    if result.is_err() {
        uploader.in_flight.abort_all();
    }
    result.map_err(|e| match e {
        Error::Azure(a) => target.missing_container(a),
        other => other,
    })
}

/// Compresses a chunk (as a self-contained member/frame) and computes its MD5.
fn prepare_block(chunk: Chunk, compression: Compression) -> Result<(Vec<u8>, [u8; 16], u64)> {
    let data = match compression {
        Compression::None => chunk.data,
        c => {
            let mut out = Vec::with_capacity(c.max_output(chunk.data.len()));
            compress::compress_chunk(c, None, &chunk.data, &mut out)?;
            // The block waits for its upload holding only its compressed bytes.
            out.shrink_to_fit();
            out
        }
    };
    let md5 = md5_of(&data);
    Ok((data, md5, chunk.block_size))
}

/// Encodes the source into chunks of exactly the block size (the last one shorter) and sends
/// them down the channel; returns the number of rows.
fn produce(
    source: Box<dyn Source>,
    format: Format,
    csv: &CsvOptions,
    write_header: bool,
    requested: Option<u64>,
    tx: &mpsc::Sender<Chunk>,
    progress: &dyn Progress,
) -> Result<u64> {
    let run = || -> Result<u64> {
        let total_rows = source.row_count();
        let mut encoder = encode::encoder(format, csv, source.schema(), write_header)?;
        let mut buf = Vec::new();
        let mut block_size: Option<u64> = None;
        let mut rows = 0u64;
        let mut sent_any = false;
        for batch in source.batches()? {
            let batch = batch?;
            encoder.write_batch(&batch, &mut buf)?;
            rows += batch.num_rows() as u64;
            progress.rows(batch.num_rows() as u64);
            let size = match block_size {
                Some(s) => s,
                None => {
                    let s = plan(buf.len() as u64, rows, total_rows, requested)?;
                    buf.reserve(s as usize + s as usize / 8);
                    *block_size.insert(s)
                }
            };
            while buf.len() as u64 >= size {
                let mut next = Vec::with_capacity(size as usize + size as usize / 8);
                next.extend_from_slice(&buf[size as usize..]);
                buf.truncate(size as usize);
                if buf.capacity() > size as usize * 3 / 2 {
                    // Parquet hands over whole row groups, which can leave the buffer far larger
                    // than a block; a block in flight should hold only its own bytes.
                    buf.shrink_to_fit();
                }
                let data = std::mem::replace(&mut buf, next);
                if tx
                    .blocking_send(Chunk {
                        data,
                        block_size: size,
                    })
                    .is_err()
                {
                    return Ok(rows); // the uploader failed and says why
                }
                sent_any = true;
            }
        }
        encoder.finish(&mut buf)?;
        let size = match block_size {
            Some(s) => s,
            None => plan(buf.len() as u64, rows, total_rows, requested)?,
        };
        // An empty dataset still writes a blob (a header-only CSV, an empty JSON Lines file).
        if !buf.is_empty() || !sent_any {
            let _ = tx.blocking_send(Chunk {
                data: buf,
                block_size: size,
            });
        }
        Ok(rows)
    };
    // On an error the channel closes when `tx` is dropped; the uploader then finds the error
    // when it joins this thread, before it commits anything.
    run()
}

/// The block size for an output estimated from the first encoded rows.
fn plan(encoded: u64, rows: u64, total_rows: Option<u64>, requested: Option<u64>) -> Result<u64> {
    let estimate = match total_rows {
        // A quarter more than the first rows suggest: later rows may be wider.
        Some(total) if rows > 0 => (encoded as f64 / rows as f64 * total as f64 * 1.25) as u64,
        _ => encoded,
    };
    blocks::block_size(estimate, requested).map_err(|e| Error::Invalid(e.to_string()))
}

/// Stages blocks with a fixed number in flight.
struct Uploader {
    service: BlobService,
    container: String,
    blob: String,
    nonce: u64,
    ids: Vec<String>,
    in_flight: JoinSet<Result<(), AzureError>>,
    concurrency: usize,
    progress: Arc<dyn Progress>,
}

impl Uploader {
    async fn stage(&mut self, data: Bytes, md5: [u8; 16]) -> Result<()> {
        if self.ids.len() as u64 >= MAX_BLOCKS {
            return Err(Error::Invalid(
                "the output needs more than 50,000 blocks; pass a larger --block-size".into(),
            ));
        }
        while self.in_flight.len() >= self.concurrency {
            self.join_one().await?;
        }
        let id = blocks::block_id(self.nonce, self.ids.len() as u32);
        self.ids.push(id.clone());
        let (service, container, blob) = (
            self.service.clone(),
            self.container.clone(),
            self.blob.clone(),
        );
        let progress = self.progress.clone();
        self.in_flight.spawn(async move {
            let len = data.len() as u64;
            service.put_block(&container, &blob, &id, data, md5).await?;
            progress.bytes(len);
            Ok(())
        });
        Ok(())
    }

    async fn join_one(&mut self) -> Result<()> {
        if let Some(done) = self.in_flight.join_next().await {
            done.expect("block uploads do not panic")?;
        }
        Ok(())
    }

    async fn finish(&mut self) -> Result<()> {
        while !self.in_flight.is_empty() {
            self.join_one().await?;
        }
        Ok(())
    }

    /// Copies an existing blob's content into blocks of ours, so an append can commit it
    /// together with the new blocks.
    async fn restage(&mut self, size: u64, block_size: u64) -> Result<()> {
        let mut offset = 0;
        while offset < size {
            let len = block_size.min(size - offset);
            let data = self
                .service
                .read_range(&self.container, &self.blob, offset, len)
                .await?;
            let md5 = md5_of(&data);
            self.stage(Bytes::from(data), md5).await?;
            offset += len;
        }
        Ok(())
    }
}
