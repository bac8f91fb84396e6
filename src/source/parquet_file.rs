//! A Parquet file as a source: how catalog datasets are read.

use std::fs::File;
use std::path::PathBuf;

use arrow_schema::SchemaRef;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::{Batches, Source, SourceError};

/// Reads a Parquet file in batches. Opening reads only the footer (schema and row count); the
/// rows are read, one row group's pages at a time, as the batches are pulled.
pub struct ParquetFileSource {
    builder: ParquetRecordBatchReaderBuilder<File>,
    path: PathBuf,
    what: String,
    batch_rows: usize,
}

impl ParquetFileSource {
    /// Opens `path` and reads its footer; `what` names it in errors ("dataset …").
    pub fn open(path: PathBuf, what: String, batch_rows: usize) -> Result<Self, SourceError> {
        let file = File::open(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => SourceError::Missing {
                what: what.clone(),
                path: path.clone(),
            },
            _ => SourceError::Read {
                what: what.clone(),
                path: path.clone(),
                message: e.to_string(),
            },
        })?;
        let builder =
            ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| SourceError::Read {
                what: what.clone(),
                path: path.clone(),
                message: e.to_string(),
            })?;
        Ok(ParquetFileSource {
            builder,
            path,
            what,
            batch_rows: batch_rows.max(1),
        })
    }
}

impl std::fmt::Debug for ParquetFileSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetFileSource")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Source for ParquetFileSource {
    fn schema(&self) -> SchemaRef {
        self.builder.schema().clone()
    }

    fn row_count(&self) -> Option<u64> {
        u64::try_from(self.builder.metadata().file_metadata().num_rows()).ok()
    }

    fn describe(&self) -> String {
        self.what.clone()
    }

    fn batches(self: Box<Self>) -> Result<Batches, SourceError> {
        let ParquetFileSource {
            builder,
            path,
            what,
            batch_rows,
        } = *self;
        let reader =
            builder
                .with_batch_size(batch_rows)
                .build()
                .map_err(|e| SourceError::Read {
                    what: what.clone(),
                    path: path.clone(),
                    message: e.to_string(),
                })?;
        Ok(Box::new(reader.map(move |r| {
            r.map_err(|e| SourceError::Read {
                what: what.clone(),
                path: path.clone(),
                message: e.to_string(),
            })
        })))
    }
}
