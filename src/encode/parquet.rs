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

/// The most bytes a row group holds, as the writer estimates its encoded size. The writer keeps
/// the row group being built in memory and writes it out whole, so this bounds the encoder's
/// memory whatever the dataset's size. Measured on the benchmark's dataset (`cargo bench --bench
/// encode -- parquet` under `/usr/bin/time`), the encoder's peak memory is about four times
/// this: +48 MB at 8 MiB, +65 MB at 16 MiB, +121 MB at 32 MiB. 16 MiB keeps it inside the
/// export's memory budget while files are only 5% larger than with 32 MiB groups (8 MiB: 15%),
/// and readers still scan efficiently (DuckDB writes about 120k rows per group; here a group
/// holds about 350k).
pub const PARQUET_ROW_GROUP_BYTES: usize = 16 * 1024 * 1024;

/// The codec inside the file. Snappy is what every Parquet reader supports, and it is cheap:
/// measured with `cargo bench --bench encode -- parquet`, zstd level 1 made files 21% smaller
/// but encoding 20-25% slower, and Parquet encoding runs on one thread, so its speed bounds the
/// export. The file is never compressed again outside (see `compress`).
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
