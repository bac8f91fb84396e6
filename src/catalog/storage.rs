//! Where dataset files live and how they are written: Parquet, one file per dataset, written to a
//! temporary file beside it and renamed into place only once its metadata is committed.

use std::fs::File;
use std::io::BufWriter;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use arrow_array::RecordBatch;
use arrow_schema::{DataType, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use super::error::CatalogError;
use crate::store::Home;

/// The directory of dataset files inside the home directory.
pub const DATASETS_DIR: &str = "datasets";

/// Cap on a row group's encoded size. The writer holds the row group being built in memory, and
/// readers fetch a row group's column chunks as a unit, so this bounds both sides' memory; 32 MiB
/// is still large enough for good compression and few footers.
const ROW_GROUP_BYTES: usize = 32 * 1024 * 1024;

/// Buffer between the Parquet writer and the file: a few pages' worth, so writes are large.
const WRITE_BUFFER: usize = 1024 * 1024;

/// The directory holding dataset files, created (owner-only) if needed.
pub(crate) fn datasets_dir(home: &Home) -> Result<PathBuf, CatalogError> {
    use std::os::unix::fs::DirBuilderExt;
    let dir = home.dir().join(DATASETS_DIR);
    if !dir.is_dir() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|source| CatalogError::Io {
                path: dir.clone(),
                source,
            })?;
    }
    Ok(dir)
}

/// Temporary files untouched for this long belong to an import that was killed (a live import
/// writes to its file continuously), so they are deleted.
const STALE_TEMP_AGE: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Deletes temporary files left by imports that were killed before they could clean up.
/// Best effort: a file that cannot be inspected or deleted is left alone.
pub(crate) fn sweep_stale_temp_files(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with('.') && name.ends_with(".parquet.tmp")) {
            continue;
        }
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE_TEMP_AGE);
        if stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The data file of a dataset (which may not exist).
pub fn data_path(home: &Home, id: &str) -> PathBuf {
    home.dir().join(DATASETS_DIR).join(format!("{id}.parquet"))
}

/// A file being written that disappears unless it is renamed into place: a failed or
/// interrupted import leaves nothing behind.
pub(crate) struct TempFile {
    path: PathBuf,
    armed: bool,
}

impl TempFile {
    /// Creates `<dir>/.<id>.<random>.parquet.tmp`. The leading dot and the suffix keep it out
    /// of anything that lists datasets; the random part lets two imports of the same ID (a
    /// replace racing another) not collide.
    pub(crate) fn create(dir: &Path, id: &str) -> Result<(TempFile, File), CatalogError> {
        let path = dir.join(format!(".{id}.{:016x}.parquet.tmp", fastrand::u64(..)));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|source| CatalogError::Io {
                path: path.clone(),
                source,
            })?;
        Ok((TempFile { path, armed: true }, file))
    }

    /// Where the file is.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the file to `to`, atomically replacing any file there.
    pub(crate) fn persist(mut self, to: &Path) -> Result<(), CatalogError> {
        std::fs::rename(&self.path, to).map_err(|source| CatalogError::Io {
            path: to.to_owned(),
            source,
        })?;
        self.armed = false;
        // Make the rename itself durable; failing to is not worth failing the import over.
        if let Some(dir) = to.parent().and_then(|d| File::open(d).ok()) {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.armed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Batches queued for the writer thread: enough to keep it busy while the next batch is
/// converted, few enough that memory stays a handful of batches.
const BATCHES_IN_FLIGHT: usize = 2;

enum Message {
    Batch(RecordBatch),
    /// All batches were sent: write the footer. A channel closed without it means the import
    /// failed and the file is abandoned unfinished (its `TempFile` deletes it).
    Finish,
}

/// Writes record batches into a Parquet file on a thread of its own, so that encoding and
/// compressing one batch overlaps with parsing and converting the next (the machine this runs on
/// has two cores; an import would otherwise use one).
pub(crate) struct DataWriter {
    tx: Option<SyncSender<Message>>,
    thread: Option<JoinHandle<Result<(u64, u64), CatalogError>>>,
}

impl DataWriter {
    /// Starts a Parquet file with `schema`.
    pub(crate) fn new(file: File, path: &Path, schema: SchemaRef) -> Result<Self, CatalogError> {
        let mut props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_bytes(Some(ROW_GROUP_BYTES));
        for field in schema.fields() {
            if is_fixed_len_byte_array(field.data_type()) {
                // The Parquet writer keeps each column chunk's min/max in the file metadata until
                // the file is closed, and for fixed-length byte arrays (how decimals are stored)
                // those values are slices of the whole buffer they were encoded in: every row
                // group would pin a few hundred kilobytes, so memory would grow with the file.
                // Nothing reads these statistics; skip them.
                props = props.set_column_statistics_enabled(
                    ColumnPath::new(vec![field.name().clone()]),
                    EnabledStatistics::None,
                );
            }
        }
        let props = props.build();
        let writer = ArrowWriter::try_new(
            BufWriter::with_capacity(WRITE_BUFFER, file),
            schema,
            Some(props),
        )
        .map_err(|e| storage_err(path, e))?;
        let (tx, rx) = sync_channel(BATCHES_IN_FLIGHT);
        let path = path.to_owned();
        let thread = std::thread::Builder::new()
            .name("parquet-writer".into())
            .spawn(move || write_all(writer, &path, rx))
            .map_err(|source| CatalogError::Io {
                path: PathBuf::from("(writer thread)"),
                source,
            })?;
        Ok(DataWriter {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Queues a batch, waiting while the writer is [`BATCHES_IN_FLIGHT`] batches behind.
    pub(crate) fn write(&mut self, batch: RecordBatch) -> Result<(), CatalogError> {
        let sent = self
            .tx
            .as_ref()
            .is_some_and(|tx| tx.send(Message::Batch(batch)).is_ok());
        if sent {
            return Ok(());
        }
        // The writer stopped early: its error says why.
        Err(self.join().err().unwrap_or_else(|| CatalogError::Storage {
            path: PathBuf::from("(writer thread)"),
            message: "the writer stopped before the end of the data".into(),
        }))
    }

    /// Finishes the file, flushes it to disk and returns its rows and size in bytes.
    pub(crate) fn finish(mut self) -> Result<(u64, u64), CatalogError> {
        if let Some(tx) = &self.tx {
            // If the writer already stopped, joining it below reports why.
            let _ = tx.send(Message::Finish);
        }
        self.join()
    }

    fn join(&mut self) -> Result<(u64, u64), CatalogError> {
        self.tx = None;
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => Err(CatalogError::Storage {
                path: PathBuf::from("(writer thread)"),
                message: "the writer was already finished".into(),
            }),
        }
    }
}

impl Drop for DataWriter {
    /// An import that fails stops the writer and waits for it, so the thread never outlives the
    /// temporary file it writes.
    fn drop(&mut self) {
        self.tx = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn write_all(
    mut writer: ArrowWriter<BufWriter<File>>,
    path: &Path,
    rx: Receiver<Message>,
) -> Result<(u64, u64), CatalogError> {
    let mut rows = 0u64;
    loop {
        match rx.recv() {
            Ok(Message::Batch(batch)) => {
                rows += batch.num_rows() as u64;
                writer.write(&batch).map_err(|e| storage_err(path, e))?;
            }
            Ok(Message::Finish) => break,
            // Abandoned: the caller failed; leave the file unfinished for it to delete.
            Err(_) => return Ok((rows, 0)),
        }
    }
    let buffered = writer.into_inner().map_err(|e| storage_err(path, e))?;
    let file = buffered.into_inner().map_err(|e| CatalogError::Io {
        path: path.to_owned(),
        source: e.into_error(),
    })?;
    let io = |source| CatalogError::Io {
        path: path.to_owned(),
        source,
    };
    file.sync_all().map_err(io)?;
    let bytes = file.metadata().map_err(io)?.len();
    Ok((rows, bytes))
}

/// Arrow types the Parquet writer stores as `FIXED_LEN_BYTE_ARRAY`.
fn is_fixed_len_byte_array(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Decimal32(..)
            | DataType::Decimal64(..)
            | DataType::Decimal128(..)
            | DataType::Decimal256(..)
            | DataType::FixedSizeBinary(_)
            | DataType::Float16
    )
}

pub(crate) fn storage_err(path: &Path, e: impl std::fmt::Display) -> CatalogError {
    CatalogError::Storage {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Int64Array, RecordBatch};
    use arrow_schema::{DataType, Field, Schema};

    use super::*;

    fn batch() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Int64, false)]));
        RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![1, 2, 3]))]).unwrap()
    }

    fn files(dir: &Path) -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect()
    }

    #[test]
    fn an_abandoned_write_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (tmp, file) = TempFile::create(dir.path(), "x").unwrap();
        let mut w = DataWriter::new(file, tmp.path(), batch().schema()).unwrap();
        w.write(batch()).unwrap();
        assert_eq!(files(dir.path()).len(), 1);
        drop(w);
        drop(tmp);
        assert!(files(dir.path()).is_empty());
    }

    #[test]
    fn a_finished_file_is_persisted_and_readable() {
        let dir = tempfile::tempdir().unwrap();
        let (tmp, file) = TempFile::create(dir.path(), "x").unwrap();
        let mut w = DataWriter::new(file, tmp.path(), batch().schema()).unwrap();
        w.write(batch()).unwrap();
        w.write(batch()).unwrap();
        let (rows, bytes) = w.finish().unwrap();
        assert_eq!(rows, 6);
        let dest = dir.path().join("x.parquet");
        tmp.persist(&dest).unwrap();
        assert_eq!(files(dir.path()), std::slice::from_ref(&dest));
        assert_eq!(std::fs::metadata(&dest).unwrap().len(), bytes);
        let source = crate::source::ParquetFileSource::open(dest, "test".into(), 2).unwrap();
        use crate::source::Source;
        assert_eq!(source.row_count(), Some(6));
        let sizes: Vec<usize> = Box::new(source)
            .batches()
            .unwrap()
            .map(|b| b.unwrap().num_rows())
            .collect();
        assert_eq!(sizes, [2, 2, 2]);
    }
}
