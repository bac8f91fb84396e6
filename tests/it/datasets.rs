//! The dataset catalog through the CLI: imports and previews of tricky values, ownership rules,
//! and bad input that must be refused with a clear message and leave nothing behind.
//! Everything here is local; no Azurite.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::support::{CliOutput, TestHome};

/// Input files live outside the home, so the home's contents show only what the CLI made.
struct Inputs {
    dir: tempfile::TempDir,
}

impl Inputs {
    fn new() -> Inputs {
        Inputs {
            dir: tempfile::Builder::new()
                .prefix("writeback-inputs-")
                .tempdir()
                .unwrap(),
        }
    }

    fn file(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Imports a file as the default user and returns the new ID.
#[track_caller]
fn import(home: &TestHome, path: &Path, extra: &[&str]) -> String {
    let mut args = vec!["dataset", "import", s(path)];
    args.extend_from_slice(extra);
    let out = home.cmd(args);
    out.assert_ok();
    let id = out.stdout_trimmed().to_owned();
    assert_eq!(id.len(), 36, "import prints the ID alone: {id:?}");
    id
}

#[track_caller]
fn preview(home: &TestHome, id: &str) -> Value {
    home.cmd(["dataset", "preview", id, "--rows", "100", "--json"])
        .assert_ok()
        .json()
}

/// `column name -> type` of a preview.
fn types(preview: &Value) -> Vec<(String, String)> {
    preview["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["type"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// One column's values, in row order.
fn column(preview: &Value, name: &str) -> Vec<Value> {
    preview["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[name].clone())
        .collect()
}

/// Files under `<home>/datasets` (temporary files included).
fn dataset_files(home: &TestHome) -> Vec<PathBuf> {
    let dir = home.path().join("datasets");
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    out.sort();
    out
}

fn listed(home: &TestHome, user: &str) -> Vec<String> {
    let out = home.cmd_env(["dataset", "list", "--json"], &[("WRITEBACK_USER", user)]);
    out.assert_ok();
    out.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Asserts that a refused command exited with `code`, named the problem, and changed nothing.
#[track_caller]
fn assert_refused(
    home: &TestHome,
    out: &CliOutput,
    code: i32,
    message: &str,
    files_before: &[PathBuf],
) {
    out.assert_code(code).assert_stderr_contains(message);
    assert_eq!(
        dataset_files(home),
        files_before,
        "files under datasets/ changed: {}",
        out.cmdline
    );
}

const TRICKY_CSV: &str = "\
id,text,zip,big,huge,amount,f,flag,day,ts,tstz,note
1,\"comma, inside\",00123,1234567890123456789,12345678901234567890,12.50,1e5,true,2024-02-29,2024-01-02 10:00:00,2024-01-02T10:00:00+02:00,\"quote \"\"inside\"\"\"
2,\"line\nbreak\",01234,-9223372036854775808,1,-3.10,-3.5E-2,FALSE,1999-12-31,2024-01-02T10:00:00.5,2024-01-02T23:30:00-01:30,\"\"
3,Zoë 🚀 名前,99999,9223372036854775807,-5,0.5,0.25,True,2000-01-01,1970-01-01T00:00:00.123456,1970-01-01T00:00:00Z,
";

#[test]
fn tricky_csv_values_round_trip_through_preview() {
    let home = TestHome::new();
    let inputs = Inputs::new();
    let id = import(&home, &inputs.file("tricky.csv", TRICKY_CSV), &[]);
    let p = preview(&home, &id);

    let want_types = [
        ("id", "integer"),
        ("text", "string"),
        ("zip", "string"),
        ("big", "integer"),
        ("huge", "decimal(38,0)"),
        ("amount", "decimal(4,2)"),
        ("f", "float"),
        ("flag", "boolean"),
        ("day", "date"),
        ("ts", "timestamp"),
        ("tstz", "timestamp with time zone"),
        ("note", "string"),
    ];
    let want_types: Vec<(String, String)> = want_types
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(types(&p), want_types);

    assert_eq!(column(&p, "id"), [json!(1), json!(2), json!(3)]);
    assert_eq!(
        column(&p, "text"),
        [
            json!("comma, inside"),
            json!("line\nbreak"),
            json!("Zoë 🚀 名前")
        ],
        "delimiters, newlines and unicode inside fields"
    );
    assert_eq!(
        column(&p, "zip"),
        [json!("00123"), json!("01234"), json!("99999")],
        "leading zeros kept"
    );
    assert_eq!(
        column(&p, "big"),
        [
            json!(1234567890123456789i64),
            json!(i64::MIN),
            json!(i64::MAX)
        ],
        "19-digit integers exactly"
    );
    assert_eq!(
        column(&p, "huge"),
        [json!("12345678901234567890"), json!("1"), json!("-5")]
    );
    assert_eq!(
        column(&p, "amount"),
        [json!("12.50"), json!("-3.10"), json!("0.50")],
        "decimals exact"
    );
    assert_eq!(
        column(&p, "f"),
        [json!(100000.0), json!(-0.035), json!(0.25)],
        "exponent floats"
    );
    assert_eq!(column(&p, "flag"), [json!(true), json!(false), json!(true)]);
    assert_eq!(
        column(&p, "day"),
        [
            json!("2024-02-29"),
            json!("1999-12-31"),
            json!("2000-01-01")
        ]
    );
    assert_eq!(
        column(&p, "ts"),
        [
            json!("2024-01-02T10:00:00"),
            json!("2024-01-02T10:00:00.500"),
            json!("1970-01-01T00:00:00.123456")
        ]
    );
    assert_eq!(
        column(&p, "tstz"),
        [
            json!("2024-01-02T08:00:00Z"),
            json!("2024-01-03T01:00:00Z"),
            json!("1970-01-01T00:00:00Z")
        ],
        "zoned timestamps normalized to UTC"
    );
    assert_eq!(
        column(&p, "note"),
        [json!("quote \"inside\""), json!(""), Value::Null],
        "a quoted empty field is an empty string, an empty unquoted field is missing"
    );
    assert_eq!(p["total_rows"], json!(3));

    // The people's view shows the same, escaped onto one line per row.
    let table = home.cmd(["dataset", "preview", &id]);
    table
        .assert_ok()
        .assert_stdout_contains("line\\nbreak")
        .assert_stdout_contains("Zoë 🚀 名前");
}

#[test]
fn empty_string_versus_missing_value_in_every_position() {
    let home = TestHome::new();
    let inputs = Inputs::new();
    // First field, middle field, last field, and a last field at end of file without a newline.
    let id = import(
        &home,
        &inputs.file("e.csv", "a,b,c\n,\"\",\n\"\",,\"\"\n,x,"),
        &[],
    );
    let p = preview(&home, &id);
    assert_eq!(column(&p, "a"), [Value::Null, json!(""), Value::Null]);
    assert_eq!(column(&p, "b"), [json!(""), Value::Null, json!("x")]);
    assert_eq!(column(&p, "c"), [Value::Null, json!(""), Value::Null]);
}

#[test]
fn show_and_list_describe_the_dataset() {
    let home = TestHome::new();
    let inputs = Inputs::new();
    let id = import(
        &home,
        &inputs.file("sales.csv", "id,price\n1,9.99\n2,\n"),
        &["--name", "Q1 sales"],
    );
    let show = home
        .cmd(["dataset", "show", &id, "--json"])
        .assert_ok()
        .json();
    assert_eq!(show["id"], json!(id));
    assert_eq!(show["name"], json!("Q1 sales"));
    assert_eq!(show["rows"], json!(2));
    assert_eq!(show["owner"], json!("tester"));
    assert_eq!(show["format"], json!("csv"));
    assert_eq!(show["schema"][1]["type"], json!("decimal(3,2)"));
    assert_eq!(show["schema"][0]["nullable"], json!(false));
    assert_eq!(show["schema"][1]["nullable"], json!(true));
    assert!(show["bytes"].as_u64().unwrap() > 0);

    let text = home.cmd(["dataset", "show", &id]);
    text.assert_ok()
        .assert_stdout_contains("Q1 sales")
        .assert_stdout_contains("decimal(3,2)");
    let list = home.cmd(["dataset", "list"]);
    list.assert_ok()
        .assert_stdout_contains(&id)
        .assert_stdout_contains("Q1 sales");
    assert_eq!(listed(&home, "tester"), std::slice::from_ref(&id));
    assert_eq!(
        dataset_files(&home),
        [home.path().join("datasets").join(format!("{id}.parquet"))]
    );

    // `--json` import gives the whole record.
    let out = home.cmd([
        "dataset",
        "import",
        s(&inputs.file("b.csv", "x\n1\n")),
        "--json",
    ]);
    assert_eq!(out.assert_ok().json()["rows"], json!(1));
}

#[test]
fn json_lines_union_keys_and_keep_json_types() {
    let home = TestHome::new();
    let inputs = Inputs::new();
    let text = concat!(
        "{\"id\": 1, \"name\": \"a\", \"price\": 12.50, \"ok\": true, \"day\": \"2024-01-02\"}\n",
        "\n",
        "{\"id\": 2, \"extra\": {\"k\": [1, 2]}, \"price\": 3, \"name\": \"caf\\u00e9 \\\"q\\\"\"}\n",
        "{\"id\": 3, \"name\": \"00123\", \"price\": null, \"ok\": false, \"day\": null}\n",
    );
    let id = import(&home, &inputs.file("events.jsonl", text), &[]);
    let p = preview(&home, &id);
    let want: Vec<(String, String)> = [
        ("id", "integer"),
        ("name", "string"),
        ("price", "decimal(4,2)"),
        ("ok", "boolean"),
        ("day", "date"),
        ("extra", "string"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(types(&p), want, "columns in order of first appearance");
    assert_eq!(
        column(&p, "name"),
        [json!("a"), json!("café \"q\""), json!("00123")]
    );
    assert_eq!(
        column(&p, "price"),
        [json!("12.50"), json!("3.00"), Value::Null]
    );
    assert_eq!(
        column(&p, "ok"),
        [json!(true), Value::Null, json!(false)],
        "a missing key is null"
    );
    assert_eq!(
        column(&p, "extra"),
        [Value::Null, json!("{\"k\": [1, 2]}"), Value::Null]
    );
}

#[test]
fn parquet_imports_keep_their_schema_and_gzip_csv_is_read() {
    let home = TestHome::new();
    let inputs = Inputs::new();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(TRICKY_CSV.as_bytes()).unwrap();
    let id = import(
        &home,
        &inputs.file("tricky.csv.gz", gz.finish().unwrap()),
        &[],
    );
    let from_csv = preview(&home, &id);
    assert_eq!(from_csv["total_rows"], json!(3));

    // Re-import the stored Parquet file: same columns, types and values.
    let stored = home.path().join("datasets").join(format!("{id}.parquet"));
    let copy = inputs.file("copy.parquet", std::fs::read(stored).unwrap());
    let id2 = import(&home, &copy, &[]);
    let from_parquet = preview(&home, &id2);
    assert_eq!(from_parquet["columns"], from_csv["columns"]);
    assert_eq!(from_parquet["rows"], from_csv["rows"]);
    let show = home
        .cmd(["dataset", "show", &id2, "--json"])
        .assert_ok()
        .json();
    assert_eq!(show["format"], json!("parquet"));
}

#[test]
fn format_and_delimiter_options() {
    let home = TestHome::new();
    let inputs = Inputs::new();
    let tsv = import(&home, &inputs.file("a.tsv", "a\tb\n1\tx,y\n"), &[]);
    assert_eq!(column(&preview(&home, &tsv), "b"), [json!("x,y")]);
    let semi = import(
        &home,
        &inputs.file("a.txt", "a;b\n1;\"2;3\"\n"),
        &["--delimiter", ";"],
    );
    assert_eq!(column(&preview(&home, &semi), "b"), [json!("2;3")]);
    let forced = import(
        &home,
        &inputs.file("export.data", "{\"a\": 1}\n"),
        &["--format", "jsonl"],
    );
    assert_eq!(column(&preview(&home, &forced), "a"), [json!(1)]);

    let before = dataset_files(&home);
    let out = home.cmd(["dataset", "import", s(&inputs.file("export.dat", "a\n1\n"))]);
    assert_refused(&home, &out, 2, "--format", &before);
}

#[test]
fn only_owners_and_co_owners_may_read() {
    let home = TestHome::new();
    let inputs = Inputs::new();
    let id = import(&home, &inputs.file("secret.csv", "a\n1\n2\n"), &[]);
    let bob = |args: &[&str]| home.cmd_env(args, &[("WRITEBACK_USER", "bob")]);
    let before = dataset_files(&home);

    // A stranger: cannot see, read, replace, share or remove it.
    assert!(
        listed(&home, "bob").is_empty(),
        "list shows only what bob owns or co-owns"
    );
    for args in [
        vec!["dataset", "preview", &id],
        vec!["dataset", "preview", &id, "--json"],
        vec!["dataset", "show", &id],
    ] {
        let out = bob(&args);
        assert_refused(&home, &out, 4, "only its owner and co-owners may", &before);
        out.assert_stderr_contains("'tester'")
            .assert_stderr_contains(&format!("writeback dataset share {id} --co-owner bob"));
        out.assert_stdout_not_contains("1");
    }
    let replacement = inputs.file("r.csv", "a\n9\n");
    assert_refused(
        &home,
        &bob(&["dataset", "replace", &id, s(&replacement)]),
        4,
        "may not replace",
        &before,
    );
    assert_refused(
        &home,
        &bob(&["dataset", "share", &id, "--co-owner", "bob"]),
        4,
        "only its owner 'tester' may",
        &before,
    );
    assert_refused(
        &home,
        &bob(&["dataset", "remove", &id]),
        4,
        "only its owner 'tester' may",
        &before,
    );
    assert_eq!(
        column(&preview(&home, &id), "a"),
        [json!(1), json!(2)],
        "data untouched"
    );

    // Shared: bob may read and sees it listed, but still may not share or remove.
    home.cmd(["dataset", "share", &id, "--co-owner", "bob"])
        .assert_ok()
        .assert_stdout_contains("bob");
    let again = home.cmd(["dataset", "share", &id, "--co-owner", "bob", "--json"]);
    assert_eq!(
        again.assert_ok().json()["changed"],
        json!(false),
        "sharing twice is harmless"
    );
    let p = bob(&["dataset", "preview", &id, "--json"]);
    assert_eq!(column(&p.assert_ok().json(), "a"), [json!(1), json!(2)]);
    assert_eq!(listed(&home, "bob"), std::slice::from_ref(&id));
    let show = home
        .cmd(["dataset", "show", &id, "--json"])
        .assert_ok()
        .json();
    assert_eq!(show["co_owners"], json!(["bob"]));
    assert_refused(
        &home,
        &bob(&["dataset", "share", &id, "--co-owner", "carol"]),
        4,
        "may not change who shares",
        &before,
    );
    assert_refused(
        &home,
        &bob(&["dataset", "remove", &id]),
        4,
        "may not remove",
        &before,
    );

    // Unshared: bob is a stranger again.
    home.cmd(["dataset", "unshare", &id, "--co-owner", "bob"])
        .assert_ok();
    assert_refused(
        &home,
        &bob(&["dataset", "preview", &id]),
        4,
        "may not read",
        &before,
    );
    assert!(listed(&home, "bob").is_empty());
    let out = home.cmd(["dataset", "unshare", &id, "--co-owner", "bob"]);
    assert_refused(&home, &out, 2, "'bob' is not a co-owner", &before);

    // A co-owner may give up their own access, and replace the data while they have it.
    home.cmd(["dataset", "share", &id, "--co-owner", "bob"])
        .assert_ok();
    bob(&["dataset", "replace", &id, s(&replacement)]).assert_ok();
    assert_eq!(column(&preview(&home, &id), "a"), [json!(9)]);
    bob(&["dataset", "unshare", &id, "--co-owner", "bob"]).assert_ok();
    assert!(listed(&home, "bob").is_empty());

    // Sharing with the owner makes no sense.
    let out = home.cmd(["dataset", "share", &id, "--co-owner", "tester"]);
    out.assert_code(2).assert_stderr_contains("owns dataset");
}

#[test]
fn ids_that_are_not_guids_or_unknown() {
    let home = TestHome::new();
    let inputs = Inputs::new();
    import(&home, &inputs.file("a.csv", "a\n1\n"), &[]);
    let before = dataset_files(&home);
    for cmd in ["show", "preview", "remove"] {
        let out = home.cmd(["dataset", cmd, "not-a-guid"]);
        assert_refused(&home, &out, 2, "'not-a-guid' is not a dataset ID", &before);
        let out = home.cmd(["dataset", cmd, "845305d8-da3d-4107-a9d6-13ef3f86d4a4"]);
        assert_refused(
            &home,
            &out,
            4,
            "no dataset has the ID 845305d8-da3d-4107-a9d6-13ef3f86d4a4",
            &before,
        );
    }
    let out = home.cmd(["dataset", "share", "1234", "--co-owner", "bob"]);
    assert_refused(&home, &out, 2, "is not a dataset ID", &before);
    let out = home.cmd([
        "dataset",
        "replace",
        "845305d8-da3d-4107-a9d6-13ef3f86d4a4",
        s(&inputs.file("b.csv", "a\n2\n")),
    ]);
    assert_refused(&home, &out, 4, "no dataset has the ID", &before);
    // Upper case and braces are the same GUID.
    let id = &listed(&home, "tester")[0];
    home.cmd(["dataset", "show", &id.to_uppercase()])
        .assert_ok();
    home.cmd(["dataset", "show", &format!("{{{id}}}")])
        .assert_ok();
}

#[test]
fn bad_files_are_refused_and_leave_nothing_behind() {
    let home = TestHome::new();
    let inputs = Inputs::new();
    // One good dataset first, so "nothing changed" is checked against a non-empty catalog.
    let good = import(&home, &inputs.file("good.csv", "a\n1\n"), &[]);
    let before = dataset_files(&home);

    let long_ragged = format!("a,b\n{}\"multi\nline\",2\n3\n", "1,2\n".repeat(5));
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "ragged.csv",
            b"a,b,c\n1,2,3\n4,5\n".to_vec(),
            "line 3 has 2 field(s) but the header has 3",
        ),
        (
            "too_many.csv",
            b"a,b\n1,2\n3,4,5\n".to_vec(),
            "line 3 has 3 field(s) but the header has 2",
        ),
        (
            "ragged_after_newline.csv",
            long_ragged.into_bytes(),
            "line 9 has 1 field(s) but the header has 2",
        ),
        (
            "latin1.csv",
            b"name\nJos\xe9\n".to_vec(),
            "invalid UTF-8 at byte offset 8",
        ),
        ("empty.csv", Vec::new(), "the file is empty"),
        ("blank.csv", b"\n\r\n\n".to_vec(), "the file is empty"),
        (
            "dup.csv",
            b"a,b,a,c,b\n1,2,3,4,5\n".to_vec(),
            "duplicate column name(s): 'a', 'b'",
        ),
        (
            "noname.csv",
            b"a,,c\n1,2,3\n".to_vec(),
            "column(s) 2 have an empty name",
        ),
        (
            "unclosed.csv",
            b"a,b\n1,\"open\n2,3\n".to_vec(),
            "the quoted field that starts on line 2 is never closed",
        ),
        (
            "after_quote.csv",
            b"a,b\n\"x\"y,1\n".to_vec(),
            "line 2: field 1 has text after its closing quote",
        ),
        (
            "latin1.jsonl",
            b"{\"a\": 1}\n{\"a\": \"Jos\xe9\"}\n".to_vec(),
            "invalid UTF-8 at byte offset 19",
        ),
        (
            "bad.jsonl",
            b"{\"a\": 1}\n{\"a\": \n".to_vec(),
            "line 2 is not valid JSON",
        ),
        (
            "array.jsonl",
            b"{\"a\": 1}\n[1, 2]\n".to_vec(),
            "line 2 is not a JSON object",
        ),
        (
            "dupkey.jsonl",
            b"{\"a\": 1, \"a\": 2}\n".to_vec(),
            "line 1 has the key 'a' more than once",
        ),
        ("empty.jsonl", b"\n\n".to_vec(), "the file is empty"),
        (
            "bad.parquet",
            b"PAR1 this is not parquet".to_vec(),
            "not a readable Parquet file",
        ),
        ("empty.parquet", Vec::new(), "the file is empty"),
    ];
    for (name, bytes, message) in cases {
        let path = inputs.file(name, &bytes);
        let out = home.cmd(["dataset", "import", s(&path)]);
        assert_refused(&home, &out, 2, message, &before);
        out.assert_stderr_contains(name);
        assert_eq!(
            listed(&home, "tester"),
            std::slice::from_ref(&good),
            "no dataset row after {name}"
        );
    }

    let missing = inputs.dir.path().join("missing.csv");
    let out = home.cmd(["dataset", "import", s(&missing)]);
    assert_refused(&home, &out, 2, "No such file or directory", &before);
    out.assert_stderr_contains("missing.csv");

    let out = home.cmd(["dataset", "import", s(inputs.dir.path()), "--format", "csv"]);
    assert_refused(&home, &out, 2, "it is a directory", &before);

    let unreadable = inputs.file("locked.csv", "a\n1\n");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&unreadable, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&unreadable).is_err() {
        // (root reads anything, so this case only bites as a normal user)
        let out = home.cmd(["dataset", "import", s(&unreadable)]);
        assert_refused(&home, &out, 2, "Permission denied", &before);
    }
    assert_eq!(listed(&home, "tester"), [good]);
}

#[test]
fn replace_keeps_the_id_and_reports_schema_changes() {
    let home = TestHome::new();
    let inputs = Inputs::new();
    let id = import(
        &home,
        &inputs.file("v1.csv", "id,name,price\n1,a,1.50\n2,b,2.00\n"),
        &[],
    );
    home.cmd(["dataset", "share", &id, "--co-owner", "bob"])
        .assert_ok();

    let v2 = inputs.file("v2.csv", "id,price,when\nx1,1.5,2024-01-01\n");
    let out = home.cmd(["dataset", "replace", &id, s(&v2)]);
    out.assert_ok()
        .assert_stdout_contains("column 'when' added (date)")
        .assert_stdout_contains("column 'name' removed (was string)")
        .assert_stdout_contains("column 'id' changed type from integer to string")
        .assert_stdout_contains("column 'price' changed type from decimal(3,2) to decimal(2,1)")
        .assert_stdout_contains("1 rows (was 2)");
    let p = preview(&home, &id);
    assert_eq!(column(&p, "id"), [json!("x1")]);
    assert_eq!(
        listed(&home, "tester"),
        std::slice::from_ref(&id),
        "same ID, no new dataset"
    );
    assert_eq!(
        listed(&home, "bob"),
        std::slice::from_ref(&id),
        "co-owners kept"
    );
    assert_eq!(
        dataset_files(&home).len(),
        1,
        "the old file was replaced, not kept beside"
    );

    let same = home
        .cmd(["dataset", "replace", &id, s(&v2), "--json"])
        .assert_ok()
        .json();
    assert_eq!(
        same["changes"],
        json!({"added": [], "removed": [], "type_changed": []})
    );

    // A bad replacement changes nothing.
    let before = dataset_files(&home);
    let bad = inputs.file("v3.csv", "id,price\n1\n");
    let out = home.cmd(["dataset", "replace", &id, s(&bad)]);
    assert_refused(
        &home,
        &out,
        2,
        "line 2 has 1 field(s) but the header has 2",
        &before,
    );
    assert_eq!(preview(&home, &id), p, "old data still served");
}

#[test]
fn remove_deletes_the_dataset_and_its_file() {
    let home = TestHome::new();
    let inputs = Inputs::new();
    let keep = import(&home, &inputs.file("keep.csv", "a\n1\n"), &[]);
    let gone = import(&home, &inputs.file("gone.csv", "a\n1\n"), &[]);
    home.cmd(["dataset", "share", &gone, "--co-owner", "bob"])
        .assert_ok();
    home.cmd(["dataset", "remove", &gone])
        .assert_ok()
        .assert_stdout_contains(&gone);
    assert_eq!(listed(&home, "tester"), std::slice::from_ref(&keep));
    assert!(
        listed(&home, "bob").is_empty(),
        "co-ownership goes with the dataset"
    );
    assert_eq!(
        dataset_files(&home),
        [home.path().join("datasets").join(format!("{keep}.parquet"))]
    );
    home.cmd(["dataset", "preview", &gone]).assert_code(4);
    home.cmd(["dataset", "remove", &gone]).assert_code(4);
}

#[test]
fn header_only_and_one_column_files() {
    let home = TestHome::new();
    let inputs = Inputs::new();
    let id = import(&home, &inputs.file("h.csv", "a,b\n"), &[]);
    let p = preview(&home, &id);
    assert_eq!(p["total_rows"], json!(0));
    assert_eq!(
        types(&p),
        [
            ("a".to_string(), "string".to_string()),
            ("b".to_string(), "string".to_string())
        ]
    );
    // In a one-column file an empty line is a missing value.
    let id = import(&home, &inputs.file("one.csv", "n\n1\n\n3\n"), &[]);
    assert_eq!(
        column(&preview(&home, &id), "n"),
        [json!(1), Value::Null, json!(3)]
    );
    // --rows limits the preview; 0 shows only the columns.
    let id = import(
        &home,
        &inputs.file("many.csv", format!("n\n{}", "7\n".repeat(50))),
        &[],
    );
    let out = home
        .cmd(["dataset", "preview", &id, "--rows", "3", "--json"])
        .assert_ok()
        .json();
    assert_eq!(out["rows"].as_array().unwrap().len(), 3);
    let out = home
        .cmd(["dataset", "preview", &id, "--rows", "0", "--json"])
        .assert_ok()
        .json();
    assert_eq!(out["rows"], json!([]));
    assert_eq!(out["total_rows"], json!(50));
}
