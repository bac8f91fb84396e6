//! Catalog datasets: rows of the `datasets` table and their co-owners in `dataset_co_owners`.
//! The data itself lives in Parquet files beside the database (see [`crate::catalog`]).

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Store, StoreError};
use crate::catalog::ColumnInfo;

/// What is stored about a dataset.
#[derive(Debug, Clone, Serialize)]
pub struct DatasetRecord {
    /// The dataset's GUID, lower-case and hyphenated.
    pub id: String,
    /// A name for people; not unique.
    pub name: String,
    /// The format it was imported from: `csv`, `jsonl` or `parquet`.
    pub format: String,
    /// The file name it was imported from (without its directory).
    pub source_file: String,
    /// Rows in the data file.
    pub rows: u64,
    /// Size of the stored Parquet file in bytes.
    pub bytes: u64,
    /// Its columns.
    #[serde(rename = "schema")]
    pub columns: Vec<ColumnInfo>,
    /// The user who imported it; the only one who may share or remove it.
    pub owner: String,
    /// When it was imported.
    pub created_at: DateTime<Utc>,
    /// When its data was last replaced.
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str =
    "id, name, format, source_file, rows, bytes, schema, owner, created_at, updated_at";

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<DatasetRecord> {
    let schema: String = row.get(6)?;
    let columns = serde_json::from_str(&schema).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(6, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(DatasetRecord {
        id: row.get(0)?,
        name: row.get(1)?,
        format: row.get(2)?,
        source_file: row.get(3)?,
        rows: row.get::<_, i64>(4)? as u64,
        bytes: row.get::<_, i64>(5)? as u64,
        columns,
        owner: row.get(7)?,
        created_at: row.get(8)?,
        updated_at: row.get(9)?,
    })
}

fn schema_json(r: &DatasetRecord) -> String {
    serde_json::to_string(&r.columns).expect("column descriptions serialize")
}

impl Store {
    /// Saves a new dataset's metadata.
    pub fn insert_dataset(&self, r: &DatasetRecord) -> Result<(), StoreError> {
        let res = self.conn.execute(
            &format!(
                "INSERT INTO datasets ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
            ),
            params![
                r.id,
                r.name,
                r.format,
                r.source_file,
                r.rows as i64,
                r.bytes as i64,
                schema_json(r),
                r.owner,
                r.created_at,
                r.updated_at
            ],
        );
        self.inserted(res, "dataset", &r.id)
    }

    /// One dataset's metadata, if it exists.
    pub fn find_dataset(&self, id: &str) -> Result<Option<DatasetRecord>, StoreError> {
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM datasets WHERE id = ?1"),
                [id],
                from_row,
            )
            .optional()
            .map_err(|e| self.sql_err(e))
    }

    /// The datasets `user` owns or co-owns, most recently updated first.
    pub fn datasets_of(&self, user: &str) -> Result<Vec<DatasetRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {COLUMNS} FROM datasets WHERE owner = ?1 OR id IN \
                 (SELECT dataset_id FROM dataset_co_owners WHERE user = ?1) \
                 ORDER BY updated_at DESC, id"
            ))
            .map_err(|e| self.sql_err(e))?;
        let rows = stmt
            .query_map([user], from_row)
            .map_err(|e| self.sql_err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.sql_err(e))
    }

    /// Replaces a dataset's data facts (rows, size, schema, format, source file, update time);
    /// its name, owner and co-owners stay.
    pub fn update_dataset_data(&self, r: &DatasetRecord) -> Result<(), StoreError> {
        let changed = self
            .conn
            .execute(
                "UPDATE datasets SET format = ?2, source_file = ?3, rows = ?4, bytes = ?5, \
                 schema = ?6, updated_at = ?7 WHERE id = ?1",
                params![
                    r.id,
                    r.format,
                    r.source_file,
                    r.rows as i64,
                    r.bytes as i64,
                    schema_json(r),
                    r.updated_at
                ],
            )
            .map_err(|e| self.sql_err(e))?;
        if changed == 0 {
            return Err(StoreError::NotFound {
                kind: "dataset",
                name: r.id.clone(),
                hint: "",
            });
        }
        Ok(())
    }

    /// Removes a dataset's metadata and its co-owners. Returns false if it did not exist.
    pub fn delete_dataset(&self, id: &str) -> Result<bool, StoreError> {
        let changed = self
            .conn
            .execute("DELETE FROM datasets WHERE id = ?1", [id])
            .map_err(|e| self.sql_err(e))?;
        Ok(changed > 0)
    }

    /// The co-owners of a dataset, by name.
    pub fn dataset_co_owners(&self, id: &str) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT user FROM dataset_co_owners WHERE dataset_id = ?1 ORDER BY user")
            .map_err(|e| self.sql_err(e))?;
        let rows = stmt
            .query_map([id], |r| r.get(0))
            .map_err(|e| self.sql_err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.sql_err(e))
    }

    /// Whether `user` co-owns the dataset.
    pub fn is_dataset_co_owner(&self, id: &str, user: &str) -> Result<bool, StoreError> {
        self.conn
            .query_row(
                "SELECT 1 FROM dataset_co_owners WHERE dataset_id = ?1 AND user = ?2",
                [id, user],
                |_| Ok(()),
            )
            .optional()
            .map(|found| found.is_some())
            .map_err(|e| self.sql_err(e))
    }

    /// Makes `user` a co-owner. Returns false if they already were one.
    pub fn add_dataset_co_owner(
        &self,
        id: &str,
        user: &str,
        added_by: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let changed = self
            .conn
            .execute(
                "INSERT OR IGNORE INTO dataset_co_owners (dataset_id, user, added_by, added_at) \
                 VALUES (?1, ?2, ?3, ?4)",
                params![id, user, added_by, at],
            )
            .map_err(|e| self.sql_err(e))?;
        Ok(changed > 0)
    }

    /// Removes `user` from the co-owners. Returns false if they were not one.
    pub fn remove_dataset_co_owner(&self, id: &str, user: &str) -> Result<bool, StoreError> {
        let changed = self
            .conn
            .execute(
                "DELETE FROM dataset_co_owners WHERE dataset_id = ?1 AND user = ?2",
                [id, user],
            )
            .map_err(|e| self.sql_err(e))?;
        Ok(changed > 0)
    }

    /// The names of the writebacks whose input is this dataset; a dataset in use cannot be
    /// removed.
    pub fn writebacks_using_dataset(&self, id: &str) -> Result<Vec<String>, StoreError> {
        self.names(
            "SELECT name FROM writebacks WHERE dataset_id = ?1 ORDER BY name",
            id,
        )
    }
}
