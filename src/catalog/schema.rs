//! How a dataset's schema is described to people and stored beside it, and what changed when
//! its data was replaced.

use arrow_schema::{DataType, Schema, TimeUnit};
use serde::{Deserialize, Serialize};

/// One column of a dataset, as stored in the catalog and shown by `dataset show`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnInfo {
    /// The column's name.
    pub name: String,
    /// The type in plain words: `string`, `integer`, `float`, `decimal(10,2)`, `boolean`,
    /// `date`, `timestamp`, `timestamp with time zone`; other Arrow types (from Parquet files)
    /// by their Arrow name.
    #[serde(rename = "type")]
    pub type_name: String,
    /// The exact Arrow type, for tools.
    pub arrow_type: String,
    /// Whether the column has missing values.
    pub nullable: bool,
}

/// The plain-words name of an Arrow type.
pub fn type_name(dt: &DataType) -> String {
    match dt {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "string".into(),
        DataType::Int64 => "integer".into(),
        DataType::Float64 => "float".into(),
        DataType::Decimal128(p, s) => format!("decimal({p},{s})"),
        DataType::Boolean => "boolean".into(),
        DataType::Date32 => "date".into(),
        DataType::Timestamp(unit, None) => format!("timestamp{}", unit_suffix(*unit)),
        DataType::Timestamp(unit, Some(_)) => {
            format!("timestamp with time zone{}", unit_suffix(*unit))
        }
        other => other.to_string(),
    }
}

fn unit_suffix(unit: TimeUnit) -> &'static str {
    match unit {
        TimeUnit::Microsecond => "",
        TimeUnit::Nanosecond => " (ns)",
        TimeUnit::Millisecond => " (ms)",
        TimeUnit::Second => " (s)",
    }
}

/// Describes an Arrow schema's columns.
pub fn columns(schema: &Schema) -> Vec<ColumnInfo> {
    schema
        .fields()
        .iter()
        .map(|f| ColumnInfo {
            name: f.name().clone(),
            type_name: type_name(f.data_type()),
            arrow_type: f.data_type().to_string(),
            nullable: f.is_nullable(),
        })
        .collect()
}

/// A column whose type changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TypeChange {
    /// The column.
    pub name: String,
    /// Its type before.
    pub from: String,
    /// Its type now.
    pub to: String,
}

/// How a replacement's schema differs from the schema it replaced.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SchemaChanges {
    /// Columns that are new, in the new order.
    pub added: Vec<ColumnInfo>,
    /// Columns that are gone, in the old order.
    pub removed: Vec<ColumnInfo>,
    /// Columns present in both whose type changed.
    pub type_changed: Vec<TypeChange>,
}

impl SchemaChanges {
    /// Compares two schemas by column name.
    pub fn between(old: &[ColumnInfo], new: &[ColumnInfo]) -> SchemaChanges {
        let find = |cols: &[ColumnInfo], name: &str| cols.iter().position(|c| c.name == name);
        let added = new
            .iter()
            .filter(|c| find(old, &c.name).is_none())
            .cloned()
            .collect();
        let removed = old
            .iter()
            .filter(|c| find(new, &c.name).is_none())
            .cloned()
            .collect();
        let type_changed = new
            .iter()
            .filter_map(|n| {
                let o = &old[find(old, &n.name)?];
                if o.arrow_type == n.arrow_type {
                    return None;
                }
                // Same plain name (e.g. a time unit changed): show the exact types instead.
                let (from, to) = if o.type_name == n.type_name {
                    (o.arrow_type.clone(), n.arrow_type.clone())
                } else {
                    (o.type_name.clone(), n.type_name.clone())
                };
                Some(TypeChange {
                    name: n.name.clone(),
                    from,
                    to,
                })
            })
            .collect();
        SchemaChanges {
            added,
            removed,
            type_changed,
        }
    }

    /// True when the columns and their types are the same.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.type_changed.is_empty()
    }

    /// One line per change, for people.
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        for c in &self.added {
            out.push(format!("column '{}' added ({})", c.name, c.type_name));
        }
        for c in &self.removed {
            out.push(format!("column '{}' removed (was {})", c.name, c.type_name));
        }
        for c in &self.type_changed {
            out.push(format!(
                "column '{}' changed type from {} to {}",
                c.name, c.from, c.to
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use arrow_schema::Field;

    use super::*;

    fn cols(fields: &[(&str, DataType)]) -> Vec<ColumnInfo> {
        columns(&Schema::new(
            fields
                .iter()
                .map(|(n, t)| Field::new(*n, t.clone(), true))
                .collect::<Vec<_>>(),
        ))
    }

    #[test]
    fn type_names() {
        let cases = [
            (DataType::Utf8, "string"),
            (DataType::Int64, "integer"),
            (DataType::Decimal128(10, 2), "decimal(10,2)"),
            (
                DataType::Timestamp(TimeUnit::Microsecond, None),
                "timestamp",
            ),
            (
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                "timestamp with time zone",
            ),
            (
                DataType::Timestamp(TimeUnit::Nanosecond, None),
                "timestamp (ns)",
            ),
            (DataType::Int32, "Int32"),
        ];
        for (dt, want) in cases {
            assert_eq!(type_name(&dt), want, "{dt:?}");
        }
    }

    #[test]
    fn schema_diff() {
        let old = cols(&[
            ("id", DataType::Int64),
            ("name", DataType::Utf8),
            ("price", DataType::Decimal128(5, 2)),
        ]);
        let same = SchemaChanges::between(&old, &old);
        assert!(same.is_empty(), "no change");

        let new = cols(&[
            ("id", DataType::Utf8),
            ("price", DataType::Decimal128(6, 2)),
            ("when", DataType::Date32),
        ]);
        let d = SchemaChanges::between(&old, &new);
        assert_eq!(
            d.added.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            ["when"]
        );
        assert_eq!(
            d.removed
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>(),
            ["name"]
        );
        assert_eq!(
            d.type_changed,
            vec![
                TypeChange {
                    name: "id".into(),
                    from: "integer".into(),
                    to: "string".into()
                },
                TypeChange {
                    name: "price".into(),
                    from: "decimal(5,2)".into(),
                    to: "decimal(6,2)".into()
                },
            ]
        );
        assert_eq!(
            d.describe(),
            vec![
                "column 'when' added (date)",
                "column 'name' removed (was string)",
                "column 'id' changed type from integer to string",
                "column 'price' changed type from decimal(5,2) to decimal(6,2)",
            ]
        );

        let ns = cols(&[("t", DataType::Timestamp(TimeUnit::Nanosecond, None))]);
        let ms = cols(&[("t", DataType::Timestamp(TimeUnit::Millisecond, None))]);
        let d = SchemaChanges::between(&ns, &ms);
        assert_eq!(d.type_changed[0].from, "timestamp (ns)");

        let reordered = cols(&[
            ("price", DataType::Decimal128(5, 2)),
            ("id", DataType::Int64),
            ("name", DataType::Utf8),
        ]);
        assert!(
            SchemaChanges::between(&old, &reordered).is_empty(),
            "order alone is not a change"
        );
    }
}
