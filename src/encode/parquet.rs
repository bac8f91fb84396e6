//! Parquet through arrow-rs's `ArrowWriter`, handing over bytes as row groups complete.
//!
//! `ArrowWriter` owns its output, so it writes into a private `Vec` that is emptied into the
//! caller's buffer after every call. Taking bytes out of that `Vec` is safe: the writer counts
//! the bytes it has written itself (for the footer's offsets) and never reads them back.

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression as ParquetCodec;
use parquet::file::properties::WriterProperties;

use super::Encoder;
use super::error::EncodeError;

/// The most bytes a row group holds, as estimated encoded size. The writer keeps the row group
/// being built in memory, so this bounds the encoder's memory (about twice this, with the
/// column writers' own buffers) whatever the dataset's size; 32 MiB row groups are still large
/// enough for readers to scan efficiently (DuckDB writes about 120k rows per group, Spark
/// targets 128 MiB).
pub const PARQUET_ROW_GROUP_BYTES: usize = 32 * 1024 * 1024;

/// The codec inside the file. Snappy is what every Parquet reader supports and costs little
/// CPU; the file is never compressed again outside (see `compress`).
const CODEC: ParquetCodec = ParquetCodec::SNAPPY;

/// Streams a Parquet file.
pub(crate) struct ParquetEncoder {
    writer: ArrowWriter<Vec<u8>>,
    finished: bool,
}

impl ParquetEncoder {
    pub(crate) fn new(schema: SchemaRef) -> Result<Self, EncodeError> {
        let props = WriterProperties::builder()
            .set_compression(CODEC)
            .set_max_row_group_bytes(Some(PARQUET_ROW_GROUP_BYTES))
            .set_created_by(concat!("writeback ", env!("CARGO_PKG_VERSION")).to_string())
            .build();
        let writer = ArrowWriter::try_new(Vec::new(), schema, Some(props))?;
        Ok(ParquetEncoder {
            writer,
            finished: false,
        })
    }

    /// Moves every byte the writer has produced into `out`.
    fn drain(&mut self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.writer
            .sync()
            .map_err(parquet::errors::ParquetError::from)?;
        let produced = self.writer.inner_mut();
        if out.is_empty() {
            // A whole row group can be tens of MiB: hand over the buffer instead of copying it.
            std::mem::swap(out, produced);
        } else {
            out.append(produced);
        }
        Ok(())
    }
}

impl Encoder for ParquetEncoder {
    fn write_batch(&mut self, batch: &RecordBatch, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if self.finished {
            return Err(EncodeError::Finished);
        }
        self.writer.write(batch)?;
        self.drain(out)
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if self.finished {
            return Err(EncodeError::Finished);
        }
        self.finished = true;
        self.writer.finish()?;
        self.drain(out)
    }
}
