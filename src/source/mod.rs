//! Where an export's rows come from: anything that can state its schema up front and then
//! stream Arrow record batches.
//!
//! The exporter takes a `Box<dyn Source>` and never learns what is behind it, so new kinds of
//! input (a PostgreSQL query, a Domo dataset) plug in beside the catalog's Parquet files without
//! touching it. Sources are synchronous: the exporter drives them on a blocking thread and hands
//! the batches to its async upload side through a bounded channel.
//!
//! ```no_run
//! # fn main() -> writeback::error::Result<()> {
//! use writeback::catalog::DatasetId;
//! use writeback::store::{Home, Store};
//!
//! let home = Home::resolve(None);
//! let store = Store::open(&home)?;
//! let id: DatasetId = "845305d8-da3d-4107-a9d6-13ef3f86d4a4".parse()?;
//! let source = writeback::source::open_dataset(&store, &home, &id, "alice")?;
//! println!("{} columns, {:?} rows", source.schema().fields().len(), source.row_count());
//! for batch in source.batches()? {
//!     let batch = batch?;
//!     println!("{} rows", batch.num_rows());
//! }
//! # Ok(())
//! # }
//! ```

mod parquet_file;

pub use parquet_file::ParquetFileSource;

use std::path::PathBuf;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;

use crate::catalog::{Action, Catalog, DatasetId};
use crate::error::Result;
use crate::store::{Home, Store};

/// Rows per batch a source yields unless told otherwise: a few megabytes for typical rows, so
/// an exporter holding a couple of batches stays well inside its memory budget.
pub const DEFAULT_BATCH_ROWS: usize = 8192;

/// The batches of a source, in order.
pub type Batches = Box<dyn Iterator<Item = Result<RecordBatch, SourceError>> + Send>;

/// A table that can be read once as a stream of Arrow record batches.
///
/// Every batch has exactly the schema returned by [`Source::schema`]. Memory use is bounded by a
/// batch or so, whatever the table's size.
pub trait Source: Send {
    /// The schema of every batch, known before reading any rows.
    fn schema(&self) -> SchemaRef;

    /// The number of rows, when the source knows it without reading them (a stored dataset
    /// does; a live query may not).
    fn row_count(&self) -> Option<u64>;

    /// A short description for logs and error messages ("dataset 845305d8-…").
    fn describe(&self) -> String;

    /// Starts reading. The source is consumed: a second read means opening it again.
    fn batches(self: Box<Self>) -> Result<Batches, SourceError>;
}

/// A failure while reading rows from a source.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The stored data file is missing, although the catalog lists the dataset.
    #[error(
        "the data file of {what} is missing ({}); replace its data with `writeback dataset \
         replace` or remove it",
        .path.display()
    )]
    Missing {
        /// What was being read.
        what: String,
        /// The file expected.
        path: PathBuf,
    },
    /// The stored data could not be read.
    #[error("cannot read {what} from {}: {message}", .path.display())]
    Read {
        /// What was being read.
        what: String,
        /// The file being read.
        path: PathBuf,
        /// What the OS or the Parquet reader said.
        message: String,
    },
}

impl SourceError {
    /// Whether reading again might succeed. Local files fail the same way every time; live
    /// sources (a database connection dropped) will answer true for their transient failures.
    pub fn is_retriable(&self) -> bool {
        false
    }
}

/// Opens a catalog dataset for reading, if `user` may read it (its owner or a co-owner).
///
/// Fails with exit code 4 for an unknown ID or a user without access (the message says who can
/// grant it), and with [`SourceError`] when the stored file cannot be opened.
pub fn open_dataset(
    store: &Store,
    home: &Home,
    id: &DatasetId,
    user: &str,
) -> Result<Box<dyn Source>> {
    let record = Catalog::new(store, home).authorize(id, user, Action::Read)?;
    let path = crate::catalog::data_path(home, &record.id);
    let source =
        ParquetFileSource::open(path, format!("dataset {}", record.id), DEFAULT_BATCH_ROWS)?;
    Ok(Box::new(source))
}
