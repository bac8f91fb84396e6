//! Encoding and compression throughput, per core, on a generated mixed-type dataset.
//!
//! ```text
//! cargo bench --bench encode                 # everything, ~500 MB of CSV per encoder
//! cargo bench --bench encode -- csv jsonl    # only the named parts: csv jsonl parquet compress
//! BENCH_MB=100 cargo bench --bench encode    # a smaller run
//! ```
//!
//! It measures, it does not assert: the numbers go to the README's performance table.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::{
    ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int32Array, Int64Array,
    RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use writeback::compress::{CHUNK_SIZE, Compression, compress_chunk};
use writeback::encode::{CsvOptions, Format, encoder};

/// Rows per batch, as the catalog's source reads them.
const BATCH_ROWS: usize = 8192;
/// Distinct batches generated; the run cycles through them.
const DISTINCT_BATCHES: usize = 64;
/// The engine drains the encoder's buffer into blocks of this size.
const BLOCK: usize = 8 * 1024 * 1024;

const FIRST: &[&str] = &[
    "Anna", "Bjørn", "Chloé", "David", "Emeka", "Fatima", "Grace", "Hiroshi", "Isabel", "José",
    "Karin", "Liam", "Mei", "Nikolai", "Olivia", "Priya",
];
const LAST: &[&str] = &[
    "Smith",
    "O'Brien",
    "García",
    "Müller",
    "Nguyen",
    "Kowalski",
    "Johnson",
    "Rossi",
    "Tanaka",
    "Silva",
    "Dubois",
    "Andersson",
];
const CITY: &[&str] = &[
    "London",
    "Paris",
    "New York, NY",
    "São Paulo",
    "Zürich",
    "Tokyo",
    "Lagos",
    "Mumbai",
    "Berlin",
    "Austin, TX",
];

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("customer", DataType::Utf8, true),
        Field::new("city", DataType::Utf8, true),
        Field::new("comment", DataType::Utf8, true),
        Field::new("amount", DataType::Decimal128(12, 2), true),
        Field::new("score", DataType::Float64, true),
        Field::new("qty", DataType::Int32, true),
        Field::new("active", DataType::Boolean, true),
        Field::new("day", DataType::Date32, true),
        Field::new(
            "created",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            true,
        ),
        Field::new(
            "updated",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
    ]))
}

fn generate(schema: &SchemaRef, batch: usize, rng: &mut fastrand::Rng) -> RecordBatch {
    let n = BATCH_ROWS;
    let base = (batch * n) as i64;
    let mut null = |pct: u8| rng.u8(..100) < pct;
    let nulls: Vec<[bool; 6]> = (0..n)
        .map(|_| [null(2), null(1), null(30), null(5), null(5), null(3)])
        .collect();
    let customer: StringArray = (0..n)
        .map(|i| {
            (!nulls[i][0]).then(|| {
                format!(
                    "{} {}",
                    FIRST[rng.usize(..FIRST.len())],
                    LAST[rng.usize(..LAST.len())]
                )
            })
        })
        .collect();
    let city: StringArray = (0..n)
        .map(|i| (!nulls[i][1]).then(|| CITY[rng.usize(..CITY.len())].to_string()))
        .collect();
    let comment: StringArray = (0..n)
        .map(|i| {
            (!nulls[i][2]).then(|| match rng.u8(..20) {
                0 => "said \"call me later\"".to_string(),
                1 => String::new(),
                2 => "two\nlines".to_string(),
                _ => format!(
                    "order {} shipped via route {}",
                    rng.u32(..100_000),
                    rng.u8(..50)
                ),
            })
        })
        .collect();
    let amount = Decimal128Array::from_iter(
        (0..n).map(|i| (!nulls[i][3]).then(|| rng.i128(-100_000..10_000_000))),
    )
    .with_precision_and_scale(12, 2)
    .unwrap();
    let score: Float64Array = (0..n)
        .map(|i| (!nulls[i][4]).then(|| rng.f64() * 1000.0))
        .collect();
    let qty: Int32Array = (0..n)
        .map(|i| (!nulls[i][5]).then(|| rng.i32(0..500)))
        .collect();
    let active: BooleanArray = (0..n).map(|_| Some(rng.bool())).collect();
    let day: Date32Array = (0..n).map(|_| Some(rng.i32(18_000..20_000))).collect();
    let created = TimestampMicrosecondArray::from_iter_values(
        (0..n).map(|_| rng.i64(1_500_000_000_000_000..1_750_000_000_000_000)),
    );
    let updated = TimestampMicrosecondArray::from_iter_values(
        (0..n).map(|_| rng.i64(1_500_000_000_000_000..1_750_000_000_000_000)),
    )
    .with_timezone("UTC");
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(base..base + n as i64)),
        Arc::new(customer),
        Arc::new(city),
        Arc::new(comment),
        Arc::new(amount),
        Arc::new(score),
        Arc::new(qty),
        Arc::new(active),
        Arc::new(day),
        Arc::new(created),
        Arc::new(updated),
    ];
    RecordBatch::try_new(schema.clone(), columns).unwrap()
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / 1e6
}

fn rate(bytes: usize, t: Duration) -> f64 {
    mb(bytes) / t.as_secs_f64()
}

/// Encodes batches round-robin until `target` output bytes; returns (bytes, rows, time).
fn encode_run(
    format: Format,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    target: usize,
) -> (usize, usize, Duration) {
    let start = Instant::now();
    let mut enc = encoder(format, &CsvOptions::default(), schema.clone(), true).unwrap();
    let mut out = Vec::with_capacity(BLOCK + BLOCK / 8);
    let (mut bytes, mut rows) = (0, 0);
    for b in batches.iter().cycle() {
        enc.write_batch(b, &mut out).unwrap();
        rows += b.num_rows();
        if out.len() >= BLOCK {
            bytes += out.len();
            out.clear();
        }
        if bytes >= target {
            break;
        }
    }
    enc.finish(&mut out).unwrap();
    bytes += out.len();
    (bytes, rows, start.elapsed())
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wants = |part: &str| args.is_empty() || args.iter().any(|a| a == part);
    let target_mb: usize = std::env::var("BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let target = target_mb * 1_000_000;

    let schema = schema();
    let mut rng = fastrand::Rng::with_seed(2024);
    let batches: Vec<RecordBatch> = (0..DISTINCT_BATCHES)
        .map(|i| generate(&schema, i, &mut rng))
        .collect();
    println!(
        "dataset: {} columns (int64, 3 strings with quotes/commas/newlines, decimal(12,2), \
         float64, int32, bool, date, 2 timestamps), {} distinct batches of {} rows, cycled",
        schema.fields().len(),
        DISTINCT_BATCHES,
        BATCH_ROWS
    );

    for format in [Format::Csv, Format::Jsonl] {
        if !wants(format.as_str()) {
            continue;
        }
        encode_run(format, &schema, &batches[..4], 1); // warm up
        // Best of three: other processes on a 2-core machine only ever make a run slower.
        let (bytes, rows, t) = (0..3)
            .map(|_| encode_run(format, &schema, &batches, target))
            .min_by_key(|r| r.2)
            .unwrap();
        println!(
            "{:<8} {:>8.1} MB in {:>6.2} s = {:>7.1} MB/s per core ({:.1} M rows/s, {} bytes/row; \
             best of 3)",
            format.as_str(),
            mb(bytes),
            t.as_secs_f64(),
            rate(bytes, t),
            rows as f64 / 1e6 / t.as_secs_f64(),
            bytes / rows
        );
    }

    if wants("parquet") {
        // Parquet's output is far smaller; time the same rows as ~target bytes of CSV.
        let csv_row = {
            let (bytes, rows, _) = encode_run(Format::Csv, &schema, &batches[..4], 1);
            bytes / rows
        };
        let rows_wanted = target / csv_row;
        let start = Instant::now();
        let mut enc = encoder(
            Format::Parquet,
            &CsvOptions::default(),
            schema.clone(),
            true,
        )
        .unwrap();
        let mut out = Vec::new();
        let (mut bytes, mut rows) = (0, 0);
        for b in batches.iter().cycle() {
            enc.write_batch(b, &mut out).unwrap();
            rows += b.num_rows();
            bytes += out.len();
            out.clear();
            if rows >= rows_wanted {
                break;
            }
        }
        enc.finish(&mut out).unwrap();
        bytes += out.len();
        let t = start.elapsed();
        println!(
            "parquet  {:>8.1} MB in {:>6.2} s = {:>7.1} MB/s of output, {:.1} M rows/s \
             (= {:.1} MB/s of the same rows as CSV)",
            mb(bytes),
            t.as_secs_f64(),
            rate(bytes, t),
            rows as f64 / 1e6 / t.as_secs_f64(),
            rate(rows * csv_row, t)
        );
    }

    if wants("compress") {
        // A few hundred MB of the CSV, compressed chunk by chunk on one thread.
        let mut enc = encoder(Format::Csv, &CsvOptions::default(), schema.clone(), true).unwrap();
        let mut csv = Vec::new();
        for b in batches.iter().cycle() {
            enc.write_batch(b, &mut csv).unwrap();
            if csv.len() >= target.min(256_000_000) {
                break;
            }
        }
        let chunks: Vec<&[u8]> = csv.chunks(CHUNK_SIZE).collect();
        let mut out = Vec::with_capacity(CHUNK_SIZE * 2);
        let mut run = |c: Compression, level: i32, chunks: &[&[u8]]| {
            let start = Instant::now();
            let mut total_out = 0;
            for chunk in chunks {
                out.clear();
                compress_chunk(c, Some(level), chunk, &mut out).unwrap();
                total_out += out.len();
            }
            (total_out, start.elapsed())
        };
        let cases = [
            (Compression::Gzip, 1),
            (Compression::Gzip, 2),
            (Compression::Gzip, 3),
            (Compression::Gzip, 4),
            (Compression::Gzip, 6),
            (Compression::Zstd, -1),
            (Compression::Zstd, 1),
            (Compression::Zstd, 2),
            (Compression::Zstd, 3),
            (Compression::Zstd, 6),
        ];
        for (c, level) in cases {
            // The slow levels on a quarter of the data, to keep the run short.
            let part = if matches!((c, level), (Compression::Gzip, 6) | (Compression::Zstd, 6)) {
                &chunks[..chunks.len() / 4]
            } else {
                &chunks[..]
            };
            let input: usize = part.iter().map(|c| c.len()).sum();
            let (compressed, t) = run(c, level, part);
            println!(
                "{:<4} level {:>2}: {:>7.1} MB/s per core of input, ratio {:.2} ({:.1} MB -> {:.1} MB)",
                c.as_str(),
                level,
                rate(input, t),
                input as f64 / compressed as f64,
                mb(input),
                mb(compressed)
            );
        }
        // What independence costs: the same 64 MB as one member/frame and as 4 MiB chunks.
        let sample = &csv[..csv.len().min(64_000_000)];
        for c in [Compression::Gzip, Compression::Zstd] {
            let mut whole = Vec::new();
            compress_chunk(c, None, sample, &mut whole).unwrap();
            let mut parts = Vec::new();
            for chunk in sample.chunks(CHUNK_SIZE) {
                compress_chunk(c, None, chunk, &mut parts).unwrap();
            }
            println!(
                "{:<4} default level, 4 MiB chunks vs one stream: {:+.3}% output size",
                c.as_str(),
                (parts.len() as f64 / whole.len() as f64 - 1.0) * 100.0
            );
        }
        // Both cores, as the engine runs it: each thread compresses every other chunk.
        for c in [Compression::Gzip, Compression::Zstd] {
            let start = Instant::now();
            std::thread::scope(|s| {
                for t in 0..2 {
                    let chunks = &chunks;
                    s.spawn(move || {
                        let mut out = Vec::with_capacity(CHUNK_SIZE * 2);
                        for chunk in chunks.iter().skip(t).step_by(2) {
                            out.clear();
                            compress_chunk(c, None, chunk, &mut out).unwrap();
                        }
                    });
                }
            });
            println!(
                "{:<4} default level on 2 threads: {:>7.1} MB/s of input",
                c.as_str(),
                rate(csv.len(), start.elapsed())
            );
        }
    }
}
