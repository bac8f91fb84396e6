//! Reading a CSV, JSON Lines or Parquet file into a Parquet data file, streaming.
//!
//! Text formats are read twice: once to infer the schema from every row (keeping O(columns)
//! state), once to convert the rows in batches and write them as row groups. Parquet files
//! already have a schema and are copied batch by batch. Either way, memory stays bounded by a
//! batch and a row group, whatever the file's size.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek};
use std::path::Path;
use std::sync::Arc;

use arrow_schema::SchemaRef;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::Format;
use super::convert::{BATCH_ROWS, BatchBuilder, Mismatch};
use super::csv::{CsvReader, Record, ThreadedReader};
use super::error::{CatalogError, InputError};
use super::infer::{self, ColumnStats};
use super::storage::{DataWriter, storage_err};
use super::values::{Cell, classify};

/// What was written.
pub(crate) struct Ingested {
    pub(crate) schema: SchemaRef,
    pub(crate) rows: u64,
    pub(crate) bytes: u64,
}

/// Reads `path` as `format` and writes it as Parquet into `out` (at `out_path`).
pub(crate) fn ingest(
    path: &Path,
    format: Format,
    delimiter: u8,
    out: File,
    out_path: &Path,
) -> Result<Ingested, CatalogError> {
    let input = |kind| CatalogError::input(path, kind);
    let meta = std::fs::metadata(path).map_err(|e| input(InputError::Unreadable(e)))?;
    if meta.is_dir() {
        return Err(input(InputError::Unreadable(std::io::Error::other(
            "it is a directory",
        ))));
    }
    if meta.len() == 0 {
        return Err(input(InputError::Empty("")));
    }
    match format {
        Format::Csv => ingest_csv(path, delimiter, out, out_path),
        Format::Jsonl => ingest_jsonl(path, out, out_path),
        Format::Parquet => ingest_parquet(path, out, out_path),
    }
}

/// Opens a text file, decompressing it if it is gzip (told by its magic bytes, not its name).
fn open_text(path: &Path) -> Result<Box<dyn Read + Send>, InputError> {
    let mut file = File::open(path).map_err(InputError::Unreadable)?;
    let mut magic = [0u8; 2];
    let n = read_fully(&mut file, &mut magic).map_err(InputError::Unreadable)?;
    file.rewind().map_err(InputError::Unreadable)?;
    if n == 2 && magic == [0x1f, 0x8b] {
        Ok(Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(
            file,
        ))))
    } else {
        Ok(Box::new(file))
    }
}

fn read_fully(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Rejects empty and duplicate column names, naming them all.
pub(crate) fn check_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<(), InputError> {
    let mut empty = Vec::new();
    let mut seen = HashMap::new();
    let mut dups: Vec<String> = Vec::new();
    for (i, name) in names.into_iter().enumerate() {
        if name.trim().is_empty() {
            empty.push(i + 1);
        } else {
            let count = seen.entry(name).or_insert(0);
            *count += 1;
            if *count == 2 {
                dups.push(name.to_owned());
            }
        }
    }
    if !empty.is_empty() {
        return Err(InputError::EmptyColumnNames(empty));
    }
    if !dups.is_empty() {
        return Err(InputError::DuplicateColumns(dups));
    }
    Ok(())
}

/// Hands the buffered rows, if any, to the writer.
fn flush(
    builder: &mut BatchBuilder,
    writer: &mut DataWriter,
    path: &Path,
) -> Result<(), CatalogError> {
    if builder.len() == 0 {
        return Ok(());
    }
    // Building fails only if a value breaks the inferred schema (a null in a column that had
    // none): the file changed between the passes.
    let batch = builder
        .finish()
        .map_err(|e| CatalogError::input(path, InputError::Changed(e.to_string())))?;
    writer.write(batch)
}

fn changed(line: u64, column: &str, value: &str) -> InputError {
    InputError::Changed(format!(
        "line {line}, column '{column}': unexpected value '{value}'"
    ))
}

// ---- CSV ----

/// A CSV reader positioned after the header, and the column names.
type CsvStart = (ThreadedReader, Vec<String>);

fn csv_reader(path: &Path, delimiter: u8) -> Result<CsvStart, InputError> {
    let mut rdr = CsvReader::new(open_text(path)?, delimiter);
    let mut rec = Record::default();
    if !rdr.read_record(&mut rec)? {
        return Err(InputError::Empty(" (a CSV file needs a header row)"));
    }
    let names: Vec<String> = rec.iter().map(|(s, _)| s.to_owned()).collect();
    check_names(names.iter().map(String::as_str))?;
    // In a one-column file a blank line is a missing value, not a separator.
    rdr.set_skip_blank_lines(names.len() > 1);
    Ok((rdr.into_threaded(), names))
}

fn ragged(rec: &Record, expected: usize) -> InputError {
    InputError::Ragged {
        line: rec.line(),
        found: rec.len(),
        expected,
    }
}

fn ingest_csv(
    path: &Path,
    delimiter: u8,
    out: File,
    out_path: &Path,
) -> Result<Ingested, CatalogError> {
    let input = |kind| CatalogError::input(path, kind);

    // Pass 1: the schema, from every row.
    let started = std::time::Instant::now();
    let (mut rdr, names) = csv_reader(path, delimiter).map_err(input)?;
    let n = names.len();
    let mut stats = vec![ColumnStats::default(); n];
    let mut rows = 0u64;
    while let Some(rec) = rdr.next_record().map_err(input)? {
        if rec.len() != n {
            return Err(input(ragged(rec, n)));
        }
        for ((text, quoted), st) in rec.iter().zip(stats.iter_mut()) {
            if text.is_empty() && !quoted {
                continue;
            }
            if st.is_settled_text() {
                st.count_present();
            } else {
                st.observe(classify(text));
            }
        }
        rows += 1;
    }
    let schema = Arc::new(infer::schema(&names, &stats, rows));
    tracing::debug!(rows, elapsed = ?started.elapsed(), "inferred the schema");

    // Pass 2: convert and write.
    let started = std::time::Instant::now();
    let (mut rdr, names2) = csv_reader(path, delimiter).map_err(input)?;
    if names2 != names {
        return Err(input(InputError::Changed("the header row differs".into())));
    }
    let mut builder = BatchBuilder::new(schema.clone()).map_err(|e| storage_err(out_path, e))?;
    let mut writer = DataWriter::new(out, out_path, schema.clone())?;
    let mut seen = 0u64;
    while let Some(rec) = rdr.next_record().map_err(input)? {
        if rec.len() != n {
            return Err(input(ragged(rec, n)));
        }
        for (i, (text, quoted)) in rec.iter().enumerate() {
            let cell = if text.is_empty() && !quoted {
                Cell::Null
            } else {
                Cell::Text(text)
            };
            builder
                .append(i, &cell)
                .map_err(|Mismatch { column, value }| {
                    input(changed(rec.line(), &names[column], &value))
                })?;
        }
        builder.end_row();
        seen += 1;
        if builder.is_full() {
            flush(&mut builder, &mut writer, path)?;
        }
    }
    flush(&mut builder, &mut writer, path)?;
    if seen != rows {
        return Err(input(InputError::Changed(format!(
            "{rows} rows at first, {seen} rows later"
        ))));
    }
    let (rows, bytes) = writer.finish()?;
    tracing::debug!(rows, bytes, elapsed = ?started.elapsed(), "converted and wrote the rows");
    Ok(Ingested {
        schema,
        rows,
        bytes,
    })
}

// ---- JSON Lines ----

/// Reads non-blank lines, checking UTF-8 and counting lines and bytes.
struct Lines {
    rdr: BufReader<Box<dyn Read + Send>>,
    buf: Vec<u8>,
    line: u64,
    offset: u64,
}

impl Lines {
    fn open(path: &Path) -> Result<Lines, InputError> {
        Ok(Lines {
            rdr: BufReader::with_capacity(256 * 1024, open_text(path)?),
            buf: Vec::new(),
            line: 0,
            offset: 0,
        })
    }

    /// The next non-blank line, trimmed, and its number.
    fn next_line(&mut self) -> Result<Option<(&str, u64)>, InputError> {
        loop {
            self.buf.clear();
            let n = self
                .rdr
                .read_until(b'\n', &mut self.buf)
                .map_err(InputError::Unreadable)?;
            if n == 0 {
                return Ok(None);
            }
            let start = self.offset;
            self.offset += n as u64;
            self.line += 1;
            // Skip a BOM on the first line.
            let body = if start == 0 && self.buf.starts_with(b"\xEF\xBB\xBF") {
                3
            } else {
                0
            };
            let text =
                std::str::from_utf8(&self.buf[body..]).map_err(|e| InputError::InvalidUtf8 {
                    offset: start + (body + e.valid_up_to()) as u64,
                })?;
            if !text.trim().is_empty() {
                // Re-borrow to return the line with the lifetime of `self`.
                let text = std::str::from_utf8(&self.buf[body..]).unwrap_or_default();
                return Ok(Some((text.trim(), self.line)));
            }
        }
    }
}

/// A JSON object key, borrowed from the line unless it had escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// A JSON object's entries in the order written, values still as JSON text.
struct Entries<'a>(Vec<(Key<'a>, &'a RawValue)>);

impl<'de> Deserialize<'de> for Entries<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<Entries<'de>, A::Error> {
                let mut out = Vec::with_capacity(m.size_hint().unwrap_or(8));
                while let Some(entry) = m.next_entry::<Key<'de>, &'de RawValue>()? {
                    out.push(entry);
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(V)
    }
}

fn parse_object(text: &str, line: u64) -> Result<Entries<'_>, InputError> {
    if !text.starts_with('{') {
        return Err(InputError::NotAnObject { line });
    }
    serde_json::from_str::<Entries<'_>>(text).map_err(|e| {
        let msg = e.to_string();
        // serde_json ends its message with "at line 1 column N"; within one line only the
        // column means anything.
        let msg = msg.rfind(" at line ").map_or(msg.as_str(), |i| &msg[..i]);
        InputError::Json {
            line,
            message: format!("{msg} (at character {})", e.column()),
        }
    })
}

fn json_cell<'a>(raw: &'a RawValue, line: u64) -> Result<Cell<'a>, InputError> {
    let text = raw.get();
    Ok(match text.as_bytes().first() {
        Some(b'"') => Cell::JsonString(
            serde_json::from_str::<Key<'a>>(text)
                .map_err(|e| InputError::Json {
                    line,
                    message: e.to_string(),
                })?
                .0,
        ),
        Some(b't') => Cell::JsonBool(true),
        Some(b'f') => Cell::JsonBool(false),
        Some(b'n') => Cell::Null,
        Some(b'{' | b'[') => Cell::JsonNested(text),
        _ => Cell::JsonNumber(text),
    })
}

fn ingest_jsonl(path: &Path, out: File, out_path: &Path) -> Result<Ingested, CatalogError> {
    let input = |kind| CatalogError::input(path, kind);

    // Pass 1: the columns (every key, in order of first appearance) and their types.
    let mut lines = Lines::open(path).map_err(input)?;
    let mut names: Vec<String> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut stats: Vec<ColumnStats> = Vec::new();
    // The row each column was last set in, to catch a key written twice in one object.
    let mut last_row: Vec<u64> = Vec::new();
    let mut rows = 0u64;
    while let Some((text, line)) = lines.next_line().map_err(input)? {
        let entries = parse_object(text, line).map_err(input)?;
        rows += 1;
        for (key, raw) in &entries.0 {
            let i = match index.get(key.0.as_ref()) {
                Some(&i) => i,
                None => {
                    let i = names.len();
                    names.push(key.0.clone().into_owned());
                    index.insert(key.0.clone().into_owned(), i);
                    stats.push(ColumnStats::default());
                    last_row.push(0);
                    i
                }
            };
            if last_row[i] == rows {
                return Err(input(InputError::DuplicateKey {
                    line,
                    key: key.0.clone().into_owned(),
                }));
            }
            last_row[i] = rows;
            let cell = json_cell(raw, line).map_err(input)?;
            if cell == Cell::Null {
                continue;
            }
            if stats[i].is_settled_text() {
                stats[i].count_present();
            } else {
                stats[i].observe(cell.class());
            }
        }
    }
    if rows == 0 {
        return Err(input(InputError::Empty(" (no JSON objects)")));
    }
    check_names(names.iter().map(String::as_str)).map_err(input)?;
    let schema = Arc::new(infer::schema(&names, &stats, rows));

    // Pass 2: convert and write.
    let mut lines = Lines::open(path).map_err(input)?;
    let mut builder = BatchBuilder::new(schema.clone()).map_err(|e| storage_err(out_path, e))?;
    let mut writer = DataWriter::new(out, out_path, schema.clone())?;
    let mut seen = 0u64;
    while let Some((text, line)) = lines.next_line().map_err(input)? {
        let entries = parse_object(text, line).map_err(input)?;
        let mut cells = vec![Cell::Null; names.len()];
        for (key, raw) in &entries.0 {
            let Some(&i) = index.get(key.0.as_ref()) else {
                return Err(input(InputError::Changed(format!(
                    "line {line} has a new key '{}'",
                    key.0
                ))));
            };
            cells[i] = json_cell(raw, line).map_err(input)?;
        }
        for (i, cell) in cells.iter().enumerate() {
            builder
                .append(i, cell)
                .map_err(|Mismatch { column, value }| {
                    input(changed(line, &names[column], &value))
                })?;
        }
        builder.end_row();
        seen += 1;
        if builder.is_full() {
            flush(&mut builder, &mut writer, path)?;
        }
    }
    flush(&mut builder, &mut writer, path)?;
    if seen != rows {
        return Err(input(InputError::Changed(format!(
            "{rows} rows at first, {seen} rows later"
        ))));
    }
    let (rows, bytes) = writer.finish()?;
    Ok(Ingested {
        schema,
        rows,
        bytes,
    })
}

// ---- Parquet ----

fn ingest_parquet(path: &Path, out: File, out_path: &Path) -> Result<Ingested, CatalogError> {
    let input = |kind| CatalogError::input(path, kind);
    let file = File::open(path).map_err(|e| input(InputError::Unreadable(e)))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| input(InputError::Parquet(e.to_string())))?;
    let schema: SchemaRef = builder.schema().clone();
    if schema.fields().is_empty() {
        return Err(input(InputError::Empty(" (no columns)")));
    }
    check_names(schema.fields().iter().map(|f| f.name().as_str())).map_err(input)?;
    let reader = builder
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| input(InputError::Parquet(e.to_string())))?;
    let mut writer = DataWriter::new(out, out_path, schema.clone())?;
    for batch in reader {
        let batch = batch.map_err(|e| input(InputError::Parquet(e.to_string())))?;
        writer.write(batch)?;
    }
    let (rows, bytes) = writer.finish()?;
    Ok(Ingested {
        schema,
        rows,
        bytes,
    })
}
