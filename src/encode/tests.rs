//! Byte-exact outputs for every type and the values that break naive writers, plus round trips.

use std::sync::Arc;

use arrow_array::builder::{Int32Builder, ListBuilder, StringDictionaryBuilder};
use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal32Array, Decimal64Array,
    Decimal128Array, Float32Array, Float64Array, Int8Array, Int16Array, Int32Array, Int64Array,
    LargeStringArray, NullArray, RecordBatch, StringArray, StringViewArray, Time64MicrosecondArray,
    TimestampMicrosecondArray, TimestampMillisecondArray, TimestampNanosecondArray,
    TimestampSecondArray, UInt8Array, UInt16Array, UInt32Array, UInt64Array,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use super::*;

fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, a)| Field::new(*name, a.data_type().clone(), true))
        .collect();
    RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .unwrap()
}

fn encode_with(
    format: Format,
    opts: &CsvOptions,
    write_header: bool,
    schema: SchemaRef,
    batches: &[RecordBatch],
) -> Vec<u8> {
    let mut enc = encoder(format, opts, schema, write_header).unwrap();
    let mut out = Vec::new();
    for b in batches {
        enc.write_batch(b, &mut out).unwrap();
    }
    enc.finish(&mut out).unwrap();
    out
}

fn csv_with(opts: &CsvOptions, b: &RecordBatch) -> String {
    let out = encode_with(Format::Csv, opts, true, b.schema(), std::slice::from_ref(b));
    String::from_utf8(out).unwrap()
}

fn csv(b: &RecordBatch) -> String {
    csv_with(&CsvOptions::default(), b)
}

fn jsonl(b: &RecordBatch) -> String {
    let out = encode_with(
        Format::Jsonl,
        &CsvOptions::default(),
        true,
        b.schema(),
        std::slice::from_ref(b),
    );
    String::from_utf8(out).unwrap()
}

fn lf() -> CsvOptions {
    CsvOptions {
        line_ending: LineEnding::Lf,
        ..CsvOptions::default()
    }
}

fn tricky_strings() -> Vec<Option<&'static str>> {
    vec![
        Some("plain"),
        Some("a,b"),
        Some("say \"hi\""),
        Some("line1\nline2"),
        Some("cr\rhere"),
        Some("crlf\r\n"),
        Some(""),
        None,
        Some("héllo ✓ 😀"),
        Some("007"),
        Some(" padded "),
        Some("\ttab"),
        Some("NULL"),
        Some("'single'"),
        Some("semi;colon"),
    ]
}

fn strings_batch() -> RecordBatch {
    let v = tricky_strings();
    batch(vec![
        ("utf8", Arc::new(StringArray::from(v.clone()))),
        ("large", Arc::new(LargeStringArray::from(v.clone()))),
        ("view", Arc::new(StringViewArray::from(v))),
    ])
}

#[test]
fn csv_strings_are_quoted_only_when_needed() {
    let got = csv_with(&lf(), &strings_batch());
    let want = [
        "utf8,large,view",
        "plain,plain,plain",
        "\"a,b\",\"a,b\",\"a,b\"",
        "\"say \"\"hi\"\"\",\"say \"\"hi\"\"\",\"say \"\"hi\"\"\"",
        "\"line1\nline2\",\"line1\nline2\",\"line1\nline2\"",
        "\"cr\rhere\",\"cr\rhere\",\"cr\rhere\"",
        "\"crlf\r\n\",\"crlf\r\n\",\"crlf\r\n\"",
        "\"\",\"\",\"\"",
        ",,",
        "héllo ✓ 😀,héllo ✓ 😀,héllo ✓ 😀",
        "007,007,007",
        "\" padded \",\" padded \",\" padded \"",
        "\"\ttab\",\"\ttab\",\"\ttab\"",
        "NULL,NULL,NULL",
        "'single','single','single'",
        "semi;colon,semi;colon,semi;colon",
        "",
    ]
    .join("\n");
    assert_eq!(got, want);
}

#[test]
fn csv_default_ends_records_with_crlf() {
    let b = batch(vec![
        ("a", Arc::new(Int64Array::from(vec![1, 2]))),
        ("b", Arc::new(StringArray::from(vec!["x", "y\nz"]))),
    ]);
    assert_eq!(csv(&b), "a,b\r\n1,x\r\n2,\"y\nz\"\r\n");
}

#[test]
fn csv_options_change_the_bytes() {
    let b = batch(vec![
        (
            "id",
            Arc::new(Int64Array::from(vec![Some(1), None, Some(3)])),
        ),
        (
            "name",
            Arc::new(StringArray::from(vec![Some("a;b"), Some("NULL"), None])),
        ),
        (
            "say",
            Arc::new(StringArray::from(vec!["it's", "x,y", "\"q\""])),
        ),
    ]);
    let cases: Vec<(CsvOptions, &str, &str)> = vec![
        (
            CsvOptions::default(),
            "id,name,say\r\n1,a;b,it's\r\n,NULL,\"x,y\"\r\n3,,\"\"\"q\"\"\"\r\n",
            "defaults",
        ),
        (
            CsvOptions {
                delimiter: b';',
                null_text: "NULL".into(),
                ..lf()
            },
            "id;name;say\n1;\"a;b\";it's\nNULL;\"NULL\";x,y\n3;NULL;\"\"\"q\"\"\"\n",
            "semicolon, NULL for missing values (the string NULL is quoted)",
        ),
        (
            CsvOptions {
                delimiter: b'\t',
                quote: b'\'',
                ..lf()
            },
            "id\tname\tsay\n1\ta;b\t'it''s'\n\tNULL\tx,y\n3\t\t\"q\"\n",
            "tab and single quotes",
        ),
        (
            CsvOptions {
                header: false,
                ..lf()
            },
            "1,a;b,it's\n,NULL,\"x,y\"\n3,,\"\"\"q\"\"\"\n",
            "no header",
        ),
        (
            CsvOptions { bom: true, ..lf() },
            "\u{feff}id,name,say\n1,a;b,it's\n,NULL,\"x,y\"\n3,,\"\"\"q\"\"\"\n",
            "byte order mark",
        ),
        (
            CsvOptions {
                null_text: "\\N".into(),
                ..lf()
            },
            "id,name,say\n1,a;b,it's\n\\N,NULL,\"x,y\"\n3,\\N,\"\"\"q\"\"\"\n",
            "\\N for missing values",
        ),
    ];
    for (opts, want, what) in cases {
        assert_eq!(csv_with(&opts, &b), want, "{what}");
    }
}

#[test]
fn csv_append_mode_writes_neither_header_nor_bom() {
    let b = batch(vec![("a", Arc::new(Int64Array::from(vec![1])))]);
    let opts = CsvOptions {
        bom: true,
        ..CsvOptions::default()
    };
    let out = encode_with(
        Format::Csv,
        &opts,
        false,
        b.schema(),
        std::slice::from_ref(&b),
    );
    assert_eq!(out, b"1\r\n");
    let out = encode_with(Format::Csv, &opts, false, b.schema(), &[]);
    assert_eq!(out, b"", "an empty append adds nothing");
}

#[test]
fn csv_header_names_are_quoted_like_values() {
    let b = batch(vec![
        ("plain", Arc::new(Int64Array::from(vec![1]))),
        ("with,comma", Arc::new(Int64Array::from(vec![2]))),
        ("with \"quote\"", Arc::new(Int64Array::from(vec![3]))),
        ("", Arc::new(Int64Array::from(vec![4]))),
    ]);
    assert_eq!(
        csv_with(&lf(), &b),
        "plain,\"with,comma\",\"with \"\"quote\"\"\",\"\"\n1,2,3,4\n"
    );
}

fn numbers_batch() -> RecordBatch {
    batch(vec![
        (
            "i8",
            Arc::new(Int8Array::from(vec![
                Some(-128),
                Some(127),
                Some(0),
                None,
                Some(1),
            ])),
        ),
        (
            "i16",
            Arc::new(Int16Array::from(vec![
                Some(-32768),
                Some(32767),
                Some(0),
                None,
                Some(-1),
            ])),
        ),
        (
            "i32",
            Arc::new(Int32Array::from(vec![
                Some(i32::MIN),
                Some(i32::MAX),
                Some(0),
                None,
                Some(42),
            ])),
        ),
        (
            "i64",
            Arc::new(Int64Array::from(vec![
                Some(i64::MIN),
                Some(i64::MAX),
                Some(1_234_567_890_123_456_789),
                None,
                Some(-1_000_000_000_000_000_000),
            ])),
        ),
        (
            "u8",
            Arc::new(UInt8Array::from(vec![
                Some(0),
                Some(255),
                Some(7),
                None,
                Some(1),
            ])),
        ),
        (
            "u16",
            Arc::new(UInt16Array::from(vec![
                Some(0),
                Some(65535),
                Some(7),
                None,
                Some(1),
            ])),
        ),
        (
            "u32",
            Arc::new(UInt32Array::from(vec![
                Some(0),
                Some(u32::MAX),
                Some(7),
                None,
                Some(1),
            ])),
        ),
        (
            "u64",
            Arc::new(UInt64Array::from(vec![
                Some(0),
                Some(u64::MAX),
                Some(10_000_000_000_000_000_000),
                None,
                Some(1),
            ])),
        ),
        (
            "f32",
            Arc::new(Float32Array::from(vec![
                Some(0.1),
                Some(-1.5e-7),
                Some(f32::MAX),
                None,
                Some(f32::NAN),
            ])),
        ),
        (
            "f64",
            Arc::new(Float64Array::from(vec![
                Some(0.1),
                Some(1e21),
                Some(-3.5e-7),
                Some(f64::NEG_INFINITY),
                Some(f64::INFINITY),
            ])),
        ),
        (
            "f64b",
            Arc::new(Float64Array::from(vec![
                Some(1.0),
                Some(-0.0),
                Some(123456.789),
                Some(f64::NAN),
                None,
            ])),
        ),
        (
            "d128",
            Arc::new(
                Decimal128Array::from(vec![
                    Some(1250),
                    Some(-5),
                    Some(0),
                    None,
                    Some(99_999_999_999_999_999_999_999_999_999_999_999_999),
                ])
                .with_precision_and_scale(38, 2)
                .unwrap(),
            ),
        ),
        (
            "d128s0",
            Arc::new(
                Decimal128Array::from(vec![
                    Some(9_999_999_999_999_999_999),
                    Some(-9_223_372_036_854_775_809),
                    Some(0),
                    None,
                    Some(1),
                ])
                .with_precision_and_scale(38, 0)
                .unwrap(),
            ),
        ),
        (
            "d64",
            Arc::new(
                Decimal64Array::from(vec![Some(1234), Some(-1), Some(0), None, Some(1000)])
                    .with_precision_and_scale(10, 3)
                    .unwrap(),
            ),
        ),
        (
            "d32",
            Arc::new(
                Decimal32Array::from(vec![Some(15), Some(-15), Some(0), None, Some(7)])
                    .with_precision_and_scale(5, 1)
                    .unwrap(),
            ),
        ),
        (
            "bool",
            Arc::new(BooleanArray::from(vec![
                Some(true),
                Some(false),
                None,
                Some(true),
                Some(false),
            ])),
        ),
    ])
}

#[test]
fn csv_numbers_are_exact() {
    let want = [
        "i8,i16,i32,i64,u8,u16,u32,u64,f32,f64,f64b,d128,d128s0,d64,d32,bool",
        "-128,-32768,-2147483648,-9223372036854775808,0,0,0,0,0.1,0.1,1.0,12.50,9999999999999999999,1.234,1.5,true",
        "127,32767,2147483647,9223372036854775807,255,65535,4294967295,18446744073709551615,-1.5e-7,1e21,-0.0,-0.05,-9223372036854775809,-0.001,-1.5,false",
        "0,0,0,1234567890123456789,7,7,7,10000000000000000000,3.4028235e38,-3.5e-7,123456.789,0.00,0,0.000,0.0,",
        ",,,,,,,,,-inf,NaN,,,,,true",
        "1,-1,42,-1000000000000000000,1,1,1,1,NaN,inf,,999999999999999999999999999999999999.99,1,1.000,0.7,false",
        "",
    ]
    .join("\n");
    assert_eq!(csv_with(&lf(), &numbers_batch()), want);
}

#[test]
fn jsonl_numbers_are_exact() {
    let got = jsonl(&numbers_batch());
    let want = [
        r#"{"i8":-128,"i16":-32768,"i32":-2147483648,"i64":-9223372036854775808,"u8":0,"u16":0,"u32":0,"u64":0,"f32":0.1,"f64":0.1,"f64b":1.0,"d128":12.50,"d128s0":9999999999999999999,"d64":1.234,"d32":1.5,"bool":true}"#,
        r#"{"i8":127,"i16":32767,"i32":2147483647,"i64":9223372036854775807,"u8":255,"u16":65535,"u32":4294967295,"u64":18446744073709551615,"f32":-1.5e-7,"f64":1e21,"f64b":-0.0,"d128":-0.05,"d128s0":-9223372036854775809,"d64":-0.001,"d32":-1.5,"bool":false}"#,
        r#"{"i8":0,"i16":0,"i32":0,"i64":1234567890123456789,"u8":7,"u16":7,"u32":7,"u64":10000000000000000000,"f32":3.4028235e38,"f64":-3.5e-7,"f64b":123456.789,"d128":0.00,"d128s0":0,"d64":0.000,"d32":0.0,"bool":null}"#,
        r#"{"i8":null,"i16":null,"i32":null,"i64":null,"u8":null,"u16":null,"u32":null,"u64":null,"f32":null,"f64":null,"f64b":null,"d128":null,"d128s0":null,"d64":null,"d32":null,"bool":true}"#,
        r#"{"i8":1,"i16":-1,"i32":42,"i64":-1000000000000000000,"u8":1,"u16":1,"u32":1,"u64":1,"f32":null,"f64":null,"f64b":null,"d128":999999999999999999999999999999999999.99,"d128s0":1,"d64":1.000,"d32":0.7,"bool":false}"#,
        "",
    ]
    .join("\n");
    assert_eq!(got, want);
    for line in got.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v.as_object().unwrap().len(), 16, "{line}");
    }
}

fn temporal_batch() -> RecordBatch {
    batch(vec![
        (
            "date",
            Arc::new(Date32Array::from(vec![
                Some(19_724),
                Some(-1),
                None,
                Some(2_932_896),
            ])),
        ),
        (
            "ts_s",
            Arc::new(TimestampSecondArray::from(vec![
                Some(1_704_164_645),
                Some(-1),
                None,
                Some(0),
            ])),
        ),
        (
            "ts_ms",
            Arc::new(TimestampMillisecondArray::from(vec![
                Some(1_704_164_645_123),
                Some(-1),
                None,
                Some(0),
            ])),
        ),
        (
            "ts_us",
            Arc::new(TimestampMicrosecondArray::from(vec![
                Some(1_704_164_645_123_456),
                Some(-1),
                None,
                Some(0),
            ])),
        ),
        (
            "ts_us_utc",
            Arc::new(
                TimestampMicrosecondArray::from(vec![
                    Some(1_704_164_645_123_456),
                    Some(-1),
                    None,
                    Some(0),
                ])
                .with_timezone("UTC"),
            ),
        ),
        (
            "ts_ns_zoned",
            Arc::new(
                TimestampNanosecondArray::from(vec![
                    Some(1_704_164_645_123_456_789),
                    Some(-1),
                    None,
                    Some(0),
                ])
                .with_timezone("+05:30"),
            ),
        ),
    ])
}

#[test]
fn csv_dates_and_timestamps_are_iso_8601() {
    let want = [
        "date,ts_s,ts_ms,ts_us,ts_us_utc,ts_ns_zoned",
        "2024-01-02,2024-01-02T03:04:05,2024-01-02T03:04:05.123,2024-01-02T03:04:05.123456,2024-01-02T03:04:05.123456Z,2024-01-02T03:04:05.123456789Z",
        "1969-12-31,1969-12-31T23:59:59,1969-12-31T23:59:59.999,1969-12-31T23:59:59.999999,1969-12-31T23:59:59.999999Z,1969-12-31T23:59:59.999999999Z",
        ",,,,,",
        "9999-12-31,1970-01-01T00:00:00,1970-01-01T00:00:00.000,1970-01-01T00:00:00.000000,1970-01-01T00:00:00.000000Z,1970-01-01T00:00:00.000000000Z",
        "",
    ]
    .join("\n");
    assert_eq!(csv_with(&lf(), &temporal_batch()), want);
}

#[test]
fn jsonl_dates_and_timestamps_are_iso_strings() {
    let want = [
        r#"{"date":"2024-01-02","ts_s":"2024-01-02T03:04:05","ts_ms":"2024-01-02T03:04:05.123","ts_us":"2024-01-02T03:04:05.123456","ts_us_utc":"2024-01-02T03:04:05.123456Z","ts_ns_zoned":"2024-01-02T03:04:05.123456789Z"}"#,
        r#"{"date":"1969-12-31","ts_s":"1969-12-31T23:59:59","ts_ms":"1969-12-31T23:59:59.999","ts_us":"1969-12-31T23:59:59.999999","ts_us_utc":"1969-12-31T23:59:59.999999Z","ts_ns_zoned":"1969-12-31T23:59:59.999999999Z"}"#,
        r#"{"date":null,"ts_s":null,"ts_ms":null,"ts_us":null,"ts_us_utc":null,"ts_ns_zoned":null}"#,
        r#"{"date":"9999-12-31","ts_s":"1970-01-01T00:00:00","ts_ms":"1970-01-01T00:00:00.000","ts_us":"1970-01-01T00:00:00.000000","ts_us_utc":"1970-01-01T00:00:00.000000Z","ts_ns_zoned":"1970-01-01T00:00:00.000000000Z"}"#,
        "",
    ]
    .join("\n");
    assert_eq!(jsonl(&temporal_batch()), want);
}

#[test]
fn jsonl_strings_and_keys_are_escaped() {
    let got = jsonl(&strings_batch());
    let lines: Vec<&str> = got.split_terminator('\n').collect();
    assert_eq!(
        lines.len(),
        tricky_strings().len(),
        "one line per row: {got}"
    );
    assert_eq!(
        lines[0],
        r#"{"utf8":"plain","large":"plain","view":"plain"}"#
    );
    assert_eq!(
        lines[2],
        r#"{"utf8":"say \"hi\"","large":"say \"hi\"","view":"say \"hi\""}"#
    );
    assert_eq!(
        lines[5],
        r#"{"utf8":"crlf\r\n","large":"crlf\r\n","view":"crlf\r\n"}"#
    );
    assert_eq!(lines[6], r#"{"utf8":"","large":"","view":""}"#);
    assert_eq!(lines[7], r#"{"utf8":null,"large":null,"view":null}"#);
    assert_eq!(
        lines[8],
        r#"{"utf8":"héllo ✓ 😀","large":"héllo ✓ 😀","view":"héllo ✓ 😀"}"#
    );
    for (line, want) in lines.iter().zip(tricky_strings()) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        for key in ["utf8", "large", "view"] {
            assert_eq!(v[key].as_str(), want, "{line}");
        }
    }

    let b = batch(vec![
        ("say \"hi\"\n", Arc::new(Int64Array::from(vec![1]))),
        ("ключ", Arc::new(StringArray::from(vec!["\u{1}\u{7f}\\"]))),
    ]);
    assert_eq!(
        jsonl(&b),
        "{\"say \\\"hi\\\"\\n\":1,\"ключ\":\"\\u0001\u{7f}\\\\\"}\n"
    );
}

fn other_types_batch() -> RecordBatch {
    let mut list = ListBuilder::new(Int32Builder::new());
    list.values().append_value(1);
    list.values().append_value(2);
    list.append(true);
    list.append(true);
    list.append_null();
    let mut dict = StringDictionaryBuilder::<Int32Type>::new();
    dict.append_value("a,b");
    dict.append_value("plain");
    dict.append_null();
    batch(vec![
        (
            "time",
            Arc::new(Time64MicrosecondArray::from(vec![
                Some(3_723_000_001),
                Some(0),
                None,
            ])),
        ),
        (
            "bin",
            Arc::new(BinaryArray::from(vec![
                Some(&b"\x01\xff"[..]),
                Some(&b""[..]),
                None,
            ])),
        ),
        ("list", Arc::new(list.finish())),
        ("dict", Arc::new(dict.finish())),
        ("null", Arc::new(NullArray::new(3))),
    ])
}

#[test]
fn other_types_use_arrow_display_and_are_quoted_when_needed() {
    assert_eq!(
        csv_with(&lf(), &other_types_batch()),
        "time,bin,list,dict,null\n\
         01:02:03.000001,01ff,\"[1, 2]\",\"a,b\",\n\
         00:00:00,\"\",[],plain,\n\
         ,,,,\n"
    );
    assert_eq!(
        jsonl(&other_types_batch()),
        "{\"time\":\"01:02:03.000001\",\"bin\":\"01ff\",\"list\":\"[1, 2]\",\"dict\":\"a,b\",\"null\":null}\n\
         {\"time\":\"00:00:00\",\"bin\":\"\",\"list\":\"[]\",\"dict\":\"plain\",\"null\":null}\n\
         {\"time\":null,\"bin\":null,\"list\":null,\"dict\":null,\"null\":null}\n"
    );
}

#[test]
fn delimiters_that_appear_in_numbers_and_dates_force_quoting() {
    let b = batch(vec![
        ("n", Arc::new(Float64Array::from(vec![1.5, -2.0]))),
        ("d", Arc::new(Date32Array::from(vec![19_724, 0]))),
        ("i", Arc::new(Int64Array::from(vec![10, -3]))),
    ]);
    let cases = [
        (
            b'.',
            "n.d.i\n\"1.5\".2024-01-02.10\n\"-2.0\".1970-01-01.-3\n",
        ),
        (
            b'-',
            "n-d-i\n1.5-\"2024-01-02\"-10\n\"-2.0\"-\"1970-01-01\"-\"-3\"\n",
        ),
        (
            b'0',
            "n0d0i\n1.50\"2024-01-02\"0\"10\"\n\"-2.0\"0\"1970-01-01\"0-3\n",
        ),
    ];
    for (delimiter, want) in cases {
        let opts = CsvOptions { delimiter, ..lf() };
        assert_eq!(csv_with(&opts, &b), want, "delimiter {}", delimiter as char);
    }
}

#[test]
fn typed_values_equal_to_the_null_text_are_quoted() {
    let b = batch(vec![
        (
            "i",
            Arc::new(Int64Array::from(vec![Some(0), None, Some(10)])),
        ),
        (
            "f",
            Arc::new(Float64Array::from(vec![Some(f64::NAN), None, Some(0.0)])),
        ),
    ]);
    let zero = CsvOptions {
        null_text: "0".into(),
        ..lf()
    };
    assert_eq!(csv_with(&zero, &b), "i,f\n\"0\",NaN\n0,0\n10,0.0\n");
    let nan = CsvOptions {
        null_text: "NaN".into(),
        ..lf()
    };
    assert_eq!(csv_with(&nan, &b), "i,f\n0,\"NaN\"\nNaN,NaN\n10,0.0\n");
}

#[test]
fn bad_csv_options_are_refused_with_a_reason() {
    let cases: Vec<(CsvOptions, &str)> = vec![
        (
            CsvOptions {
                delimiter: b'\n',
                ..CsvOptions::default()
            },
            "invalid CSV delimiter '\\n': line breaks end records",
        ),
        (
            CsvOptions {
                delimiter: b'"',
                ..CsvOptions::default()
            },
            "invalid CSV delimiter '\"': the delimiter and the quote character must differ",
        ),
        (
            CsvOptions {
                delimiter: 0xE9,
                ..CsvOptions::default()
            },
            "invalid CSV delimiter 'é': it must be a single ASCII character",
        ),
        (
            CsvOptions {
                quote: b'\r',
                ..CsvOptions::default()
            },
            "invalid CSV quote character '\\r': line breaks end records",
        ),
        (
            CsvOptions {
                null_text: "a,b".into(),
                ..CsvOptions::default()
            },
            "invalid CSV null text \"a,b\": it cannot contain the delimiter",
        ),
        (
            CsvOptions {
                null_text: "\"\"".into(),
                ..CsvOptions::default()
            },
            "invalid CSV null text \"\\\"\\\"\": it cannot contain the quote character",
        ),
        (
            CsvOptions {
                null_text: "x\ny".into(),
                ..CsvOptions::default()
            },
            "invalid CSV null text \"x\\ny\": it cannot contain a line break",
        ),
    ];
    let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Int64, true)]));
    for (opts, want) in cases {
        assert_eq!(opts.validate().unwrap_err().to_string(), want);
        let err = encoder(Format::Csv, &opts, schema.clone(), true)
            .err()
            .unwrap();
        assert_eq!(err.to_string(), want);
    }
    // Other formats ignore the CSV options.
    let bad = CsvOptions {
        delimiter: b'\n',
        ..CsvOptions::default()
    };
    assert!(encoder(Format::Jsonl, &bad, schema, true).is_ok());
}

#[test]
fn empty_datasets_still_make_valid_files() {
    let schema = numbers_batch().schema();
    let out = encode_with(Format::Csv, &lf(), true, schema.clone(), &[]);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "i8,i16,i32,i64,u8,u16,u32,u64,f32,f64,f64b,d128,d128s0,d64,d32,bool\n"
    );
    let bom = CsvOptions {
        bom: true,
        header: false,
        ..lf()
    };
    assert_eq!(
        encode_with(Format::Csv, &bom, true, schema.clone(), &[]),
        b"\xEF\xBB\xBF"
    );
    let out = encode_with(Format::Jsonl, &lf(), true, schema.clone(), &[]);
    assert_eq!(out, b"");
    // An empty batch writes nothing either.
    let empty = numbers_batch().slice(0, 0);
    let out = encode_with(
        Format::Jsonl,
        &lf(),
        true,
        schema.clone(),
        std::slice::from_ref(&empty),
    );
    assert_eq!(out, b"");

    let out = encode_with(Format::Parquet, &lf(), true, schema.clone(), &[empty]);
    let (read_schema, batches) = read_parquet(out);
    assert_eq!(read_schema, schema);
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 0);
}

fn read_parquet(bytes: Vec<u8>) -> (SchemaRef, Vec<RecordBatch>) {
    use ::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use arrow_array::RecordBatchReader;
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
        .unwrap()
        .build()
        .unwrap();
    let schema = reader.schema();
    let batches = reader.collect::<Result<Vec<_>, _>>().unwrap();
    (schema, batches)
}

#[test]
fn parquet_round_trips_every_type_and_schema() {
    let parts = [
        numbers_batch(),
        strings_batch(),
        temporal_batch(),
        other_types_batch(),
    ];
    for original in parts {
        // Two batches: the second call's bytes are appended after the first's.
        let out = encode_with(
            Format::Parquet,
            &lf(),
            true,
            original.schema(),
            &[original.clone(), original.slice(1, 2)],
        );
        assert_eq!(&out[..4], b"PAR1");
        assert_eq!(&out[out.len() - 4..], b"PAR1");
        let (schema, batches) = read_parquet(out);
        assert_eq!(schema, original.schema(), "schema preserved");
        // Few rows: one row group, read back as one batch.
        assert_eq!(batches.len(), 1);
        let n = original.num_rows();
        assert_eq!(batches[0].num_rows(), n + 2);
        for (i, want) in original.columns().iter().enumerate() {
            let got = batches[0].column(i);
            let name = schema.field(i).name();
            assert_eq!(&got.slice(0, n), want, "{name}");
            assert_eq!(&got.slice(n, 2), &want.slice(1, 2), "{name}");
        }
    }
}

#[test]
fn parquet_bytes_arrive_as_the_file_grows() {
    // Many rows in small batches: every byte the encoder hands over belongs to the file, in
    // order, and the file is complete only after finish.
    let n = 50_000;
    let b = batch(vec![
        ("id", Arc::new(Int64Array::from_iter_values(0..n))),
        (
            "text",
            Arc::new(StringArray::from_iter_values(
                (0..n).map(|i| format!("row {i}")),
            )),
        ),
    ]);
    let mut enc = encoder(Format::Parquet, &lf(), b.schema(), true).unwrap();
    let mut file = Vec::new();
    let mut out = Vec::new();
    for start in (0..n as usize).step_by(5000) {
        enc.write_batch(&b.slice(start, 5000), &mut out).unwrap();
        // The engine drains the buffer between calls.
        file.append(&mut out);
    }
    enc.finish(&mut out).unwrap();
    file.append(&mut out);
    let (_, batches) = read_parquet(file);
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, n as usize);
}

#[test]
fn mismatched_batches_and_reuse_are_errors() {
    let schema = numbers_batch().schema();
    for format in Format::ALL {
        let mut enc = encoder(format, &lf(), schema.clone(), true).unwrap();
        let mut out = Vec::new();
        let err = enc.write_batch(&strings_batch(), &mut out).unwrap_err();
        match format {
            Format::Parquet => assert!(matches!(err, EncodeError::Parquet(_)), "{err}"),
            _ => assert_eq!(
                err.to_string(),
                "a batch has 3 columns but the output was started with 16"
            ),
        }
        enc.finish(&mut out).unwrap();
        assert!(matches!(enc.finish(&mut out), Err(EncodeError::Finished)));
        assert!(matches!(
            enc.write_batch(&numbers_batch(), &mut out),
            Err(EncodeError::Finished)
        ));
    }
    let b = batch(vec![("i8", Arc::new(Int64Array::from(vec![1])))]);
    let one = Arc::new(Schema::new(vec![Field::new("i8", DataType::Int8, true)]));
    let mut enc = encoder(Format::Csv, &lf(), one, true).unwrap();
    assert_eq!(
        enc.write_batch(&b, &mut Vec::new())
            .unwrap_err()
            .to_string(),
        "column 'i8' is Int64 in a batch but the output was started with Int8"
    );
}

#[test]
fn formats_have_names_extensions_and_content_types() {
    let cases = [
        (Format::Csv, "csv", "text/csv; charset=utf-8"),
        (Format::Jsonl, "jsonl", "application/x-ndjson"),
        (Format::Parquet, "parquet", "application/vnd.apache.parquet"),
    ];
    for (f, name, content_type) in cases {
        assert_eq!(f.extension(), name);
        assert_eq!(f.to_string(), name);
        assert_eq!(name.parse::<Format>().unwrap(), f);
        assert_eq!(f.content_type(), content_type);
        assert_eq!(serde_json::to_string(&f).unwrap(), format!("\"{name}\""));
    }
    assert_eq!("NDJSON".parse::<Format>().unwrap(), Format::Jsonl);
    assert_eq!(
        "xlsx".parse::<Format>().unwrap_err().to_string(),
        "unknown format 'xlsx': use csv, jsonl or parquet"
    );
}

/// Splits CSV text into records of fields; a field is `None` when it is the null text
/// unquoted. A small RFC 4180 reader, independent of the writer, for round-trip checks.
fn parse_csv(text: &[u8], delimiter: u8, quote: u8, null_text: &str) -> Vec<Vec<Option<String>>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = Vec::new();
    let mut quoted = false;
    let mut i = 0;
    let finish_field =
        |field: &mut Vec<u8>, quoted: &mut bool, record: &mut Vec<Option<String>>| {
            let text = String::from_utf8(std::mem::take(field)).unwrap();
            record.push(if !*quoted && text == null_text {
                None
            } else {
                Some(text)
            });
            *quoted = false;
        };
    while i < text.len() {
        let b = text[i];
        if b == quote && field.is_empty() && !quoted {
            quoted = true;
            i += 1;
            loop {
                assert!(i < text.len(), "unterminated quote");
                if text[i] == quote {
                    if text.get(i + 1) == Some(&quote) {
                        field.push(quote);
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                field.push(text[i]);
                i += 1;
            }
            continue;
        }
        if b == delimiter {
            finish_field(&mut field, &mut quoted, &mut record);
        } else if b == b'\r' && text.get(i + 1) == Some(&b'\n') {
            i += 1; // the \r; the \n is stepped over below
            finish_field(&mut field, &mut quoted, &mut record);
            records.push(std::mem::take(&mut record));
        } else if b == b'\n' {
            finish_field(&mut field, &mut quoted, &mut record);
            records.push(std::mem::take(&mut record));
        } else {
            assert!(!quoted, "text after a closing quote");
            field.push(b);
        }
        i += 1;
    }
    assert!(
        field.is_empty() && record.is_empty(),
        "last record ends with a line ending"
    );
    records
}

#[test]
fn random_strings_round_trip_through_an_independent_reader() {
    let alphabet = [
        "a", "b", " ", ",", ";", "\"", "'", "\r", "\n", "\t", "é", "😀", "N", "U", "L",
    ];
    let mut rng = fastrand::Rng::with_seed(42);
    let values: Vec<Option<String>> = (0..3000)
        .map(|_| {
            if rng.u8(..10) == 0 {
                return None;
            }
            let len = rng.usize(..12);
            Some(
                (0..len)
                    .map(|_| alphabet[rng.usize(..alphabet.len())])
                    .collect(),
            )
        })
        .chain([Some("NULL".into()), Some(String::new()), None])
        .collect();
    let b = batch(vec![
        ("a", Arc::new(StringArray::from(values.clone()))),
        (
            "b",
            Arc::new(StringArray::from(
                values.iter().rev().cloned().collect::<Vec<_>>(),
            )),
        ),
    ]);
    let option_sets = [
        CsvOptions::default(),
        lf(),
        CsvOptions {
            delimiter: b';',
            quote: b'\'',
            null_text: "NULL".into(),
            ..CsvOptions::default()
        },
        CsvOptions {
            delimiter: b'\t',
            null_text: "\\N".into(),
            ..lf()
        },
    ];
    for opts in option_sets {
        let out = csv_with(&opts, &b);
        let records = parse_csv(out.as_bytes(), opts.delimiter, opts.quote, &opts.null_text);
        assert_eq!(
            records[0],
            vec![Some("a".to_string()), Some("b".to_string())]
        );
        assert_eq!(records.len(), values.len() + 1, "{opts:?}");
        for (i, rec) in records[1..].iter().enumerate() {
            assert_eq!(rec[0], values[i], "{opts:?} row {i}");
            assert_eq!(rec[1], values[values.len() - 1 - i], "{opts:?} row {i}");
        }
    }
}
