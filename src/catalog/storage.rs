//! Where dataset files live and how they are written: Parquet, one file per dataset, written to a
//! temporary file beside it and renamed into place only once its metadata is committed.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

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
            .map_err(|source| CatalogError::Io { path: dir.clone(), source })?;
    }
    Ok(dir)
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
            .open(&path)
            .map_err(|source| CatalogError::Io { path: path.clone(), source })?;
        Ok((TempFile { path, armed: true }, file))
    }

    /// Renames the file to `to`, atomically replacing any file there.
    pub(crate) fn persist(mut self, to: &Path) -> Result<(), CatalogError> {
        std::fs::rename(&self.path, to)
            .map_err(|source| CatalogError::Io { path: to.to_owned(), source })?;
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

/// Writes record batches into a Parquet file.
pub(crate) struct DataWriter {
    writer: ArrowWriter<BufWriter<File>>,
    path: PathBuf,
    rows: u64,
}

impl DataWriter {
    /// Starts a Parquet file with `schema`.
    pub(crate) fn new(file: File, path: &Path, schema: SchemaRef) -> Result<Self, CatalogError> {
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
            .build();
        let writer = ArrowWriter::try_new(BufWriter::with_capacity(WRITE_BUFFER, file), schema, Some(props))
            .map_err(|e| storage_err(path, e))?;
        Ok(DataWriter { writer, path: path.to_owned(), rows: 0 })
    }

    /// Appends a batch.
    pub(crate) fn write(&mut self, batch: &RecordBatch) -> Result<(), CatalogError> {
        self.rows += batch.num_rows() as u64;
        self.writer.write(batch).map_err(|e| storage_err(&self.path, e))
    }

    /// Finishes the file, flushes it to disk and returns its rows and size in bytes.
    pub(crate) fn finish(self) -> Result<(u64, u64), CatalogError> {
        let path = self.path;
        let buffered = self.writer.into_inner().map_err(|e| storage_err(&path, e))?;
        let file = buffered
            .into_inner()
            .map_err(|e| CatalogError::Io { path: path.clone(), source: e.into_error() })?;
        let io = |source| CatalogError::Io { path: path.clone(), source };
        file.sync_all().map_err(io)?;
        let bytes = file.metadata().map_err(io)?.len();
        Ok((self.rows, bytes))
    }
}

pub(crate) fn storage_err(path: &Path, e: impl std::fmt::Display) -> CatalogError {
    CatalogError::Storage { path: path.to_owned(), message: e.to_string() }
}
