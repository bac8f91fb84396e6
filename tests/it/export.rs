//! `writeback export` against a real Azurite. Every test downloads the blob with Microsoft's
//! Python SDK and checks it independently of our code: bytes, rows, MD5, properties.

use std::io::Write;
use std::process::{Command, Stdio};

use base64::Engine as _;

use crate::accounts::our_sas;
use crate::support::{self, Fixture, proxy, python};

/// A CSV with the values that break naive exporters. An unquoted empty field is a missing
/// value; `""` is an empty string.
const TRICKY_CSV: &str = "id,name,code,amount,ratio,day,at\n\
1,\"comma, inside\",007,12.50,-1.5e-3,2024-02-29,2024-02-29T23:59:59\n\
2,\"quote \"\" inside\",0042,-0.01,6.02e23,1970-01-01,1970-01-01T00:00:00.5\n\
3,\"new\nline\",,1000000.00,0.1,,\n\
4,\"\",100,0.00,-0,2000-12-31,2000-12-31T12:00:00\n\
5,ünïcødé 日本 🎉,9,3.14,1e-300,1999-01-01,1999-01-01T01:02:03\n";

/// What our CSV export of [`TRICKY_CSV`] must be, byte for byte (RFC 4180: CRLF line ends, a
/// field quoted only when it must be, "" for the empty string, nothing for a missing value).
/// Timestamps carry their stored precision (microseconds) so every row has the same width of
/// fraction and nothing is rounded away.
const TRICKY_EXPECTED: &str = "id,name,code,amount,ratio,day,at\r\n\
1,\"comma, inside\",007,12.50,-0.0015,2024-02-29,2024-02-29T23:59:59.000000\r\n\
2,\"quote \"\" inside\",0042,-0.01,6.02e23,1970-01-01,1970-01-01T00:00:00.500000\r\n\
3,\"new\nline\",,1000000.00,0.1,,\r\n\
4,\"\",100,0.00,-0.0,2000-12-31,2000-12-31T12:00:00.000000\r\n\
5,ünïcødé 日本 🎉,9,3.14,1e-300,1999-01-01,1999-01-01T01:02:03.000000\r\n";

/// Exports through account `emu`, creating the container on the way.
trait Export {
    fn export(&self, container: &str, dataset: &str, extra: &[&str]) -> serde_json::Value;
    fn export_raw(&self, container: &str, dataset: &str, extra: &[&str]) -> support::CliOutput;
}

impl Export for Fixture {
    /// Runs an export into `container` and returns its JSON report.
    #[track_caller]
    fn export(&self, container: &str, dataset: &str, extra: &[&str]) -> serde_json::Value {
        let out = self.export_raw(container, dataset, extra);
        out.assert_ok().json()
    }

    fn export_raw(&self, container: &str, dataset: &str, extra: &[&str]) -> support::CliOutput {
        let mut args = vec![
            "export",
            "--account",
            "emu",
            "--container",
            container,
            "--dataset",
            dataset,
            "--json",
            "--create-container",
        ];
        args.extend_from_slice(extra);
        self.home.cmd(args)
    }
}

fn md5_b64(data: &[u8]) -> String {
    use md5::Digest;
    base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(data))
}

/// Pipes `data` through a standard tool (`gzip -dc`, `zstd -dc`).
fn through(tool: &str, args: &[&str], data: &[u8]) -> Vec<u8> {
    let mut child = Command::new(tool)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{tool} is needed for this test (.ci/run installs it): {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let input = data.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "{tool} {args:?} failed");
    out.stdout
}

#[test]
fn csv_round_trip_is_byte_exact_and_the_blob_is_described() {
    let f = Fixture::new();
    let id = f.import(TRICKY_CSV);
    let container = support::unique_name("csv");
    let report = f.export(&container, &id, &[]);
    let blob = format!("{id}.csv");
    assert_eq!(report["blob"], blob.as_str());
    assert_eq!(report["rows"], 5);
    assert!(!report["url"].as_str().unwrap().contains('?'), "{report}");

    let data = python::download_blob(&container, &blob);
    assert_eq!(String::from_utf8_lossy(&data), TRICKY_EXPECTED);
    assert_eq!(report["bytes"], data.len());
    assert_eq!(report["md5"], md5_b64(&data).as_str());

    let props = python::blob_properties(&container, &blob);
    assert_eq!(props["content_md5"], md5_b64(&data).as_str());
    assert_eq!(props["content_type"], "text/csv; charset=utf-8");
    assert_eq!(props["metadata"]["dataset_id"], id.as_str());
    assert_eq!(props["metadata"]["rows"], "5");
    assert_eq!(props["metadata"]["run_id"], report["run_id"]);

    // The exported file imports back to the same rows: nothing was lost on the way.
    let back = f.import(&String::from_utf8(data).unwrap());
    let a = f
        .home
        .cmd(["dataset", "preview", &id, "--json"])
        .assert_ok()
        .json();
    let b = f
        .home
        .cmd(["dataset", "preview", &back, "--json"])
        .assert_ok()
        .json();
    assert_eq!(a["rows"], b["rows"]);
}

#[test]
fn csv_options_delimiter_null_text_bom_lf_and_no_header() {
    let f = Fixture::new();
    let id = f.import("a,b\n1,\n2,x\n");
    let container = support::unique_name("csvopts");
    f.export(
        &container,
        &id,
        &[
            "--filename",
            "opts",
            "--delimiter",
            ";",
            "--null-text",
            "NULL",
            "--bom",
            "--line-ending",
            "lf",
        ],
    );
    let data = python::download_blob(&container, "opts.csv");
    assert_eq!(data, "\u{feff}a;b\n1;NULL\n2;x\n".as_bytes());
    f.export(
        &container,
        &id,
        &["--filename", "nohead", "--no-header", "--delimiter", "\\t"],
    );
    assert_eq!(
        python::download_blob(&container, "nohead.csv"),
        b"1\t\r\n2\tx\r\n"
    );
}

#[test]
fn jsonl_round_trip() {
    let f = Fixture::new();
    let id = f.import(TRICKY_CSV);
    let container = support::unique_name("jsonl");
    f.export(&container, &id, &["--format", "jsonl"]);
    let data = python::download_blob(&container, &format!("{id}.jsonl"));
    let rows: Vec<serde_json::Value> = String::from_utf8(data)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[0]["name"], "comma, inside");
    assert_eq!(rows[0]["code"], "007");
    assert_eq!(rows[1]["name"], "quote \" inside");
    assert_eq!(rows[2]["name"], "new\nline");
    assert_eq!(rows[2]["code"], serde_json::Value::Null);
    assert_eq!(rows[3]["name"], "");
    assert_eq!(rows[4]["name"], "ünïcødé 日本 🎉");
    assert_eq!(rows[0]["id"], 1);
    assert_eq!(rows[0]["day"], "2024-02-29");
    let props = python::blob_properties(&container, &format!("{id}.jsonl"));
    assert_eq!(props["content_type"], "application/x-ndjson");
}

#[test]
fn parquet_round_trip_keeps_the_schema() {
    let f = Fixture::new();
    let id = f.import(TRICKY_CSV);
    let container = support::unique_name("parquet");
    f.export(&container, &id, &["--format", "parquet", "--filename", "t"]);
    let data = python::download_blob(&container, "t.parquet");
    // Import the downloaded Parquet file: same columns, same types, same values.
    let path = f.inputs.path().join("back.parquet");
    std::fs::write(&path, &data).unwrap();
    let back = f
        .home
        .cmd(["dataset", "import", path.to_str().unwrap()])
        .assert_ok()
        .stdout_trimmed()
        .to_owned();
    let a = f
        .home
        .cmd(["dataset", "preview", &id, "--json"])
        .assert_ok()
        .json();
    let b = f
        .home
        .cmd(["dataset", "preview", &back, "--json"])
        .assert_ok()
        .json();
    assert_eq!(a["columns"], b["columns"], "schema preserved");
    assert_eq!(a["rows"], b["rows"], "values preserved");
}

#[test]
fn gzip_and_zstd_decode_with_the_standard_tools() {
    let f = Fixture::new();
    // Big enough for several blocks, so the blob is several gzip members / zstd frames.
    let mut csv = String::from("n,text\n");
    for i in 0..60_000 {
        csv.push_str(&format!("{i},row number {i} with some text to compress\n"));
    }
    let id = f.import(&csv);
    let plain_container = support::unique_name("plain");
    f.export(&plain_container, &id, &[]);
    let plain = python::download_blob(&plain_container, &format!("{id}.csv"));

    let container = support::unique_name("compressed");
    for (compression, ext, tool) in [("gzip", "gz", "gzip"), ("zstd", "zst", "zstd")] {
        let report = f.export(
            &container,
            &id,
            &["--compression", compression, "--block-size", "1MiB"],
        );
        assert!(report["blocks"].as_u64().unwrap() >= 2, "{report}");
        let blob = format!("{id}.csv.{ext}");
        let data = python::download_blob(&container, &blob);
        assert_eq!(through(tool, &["-dc"], &data), plain, "{compression}");
        let props = python::blob_properties(&container, &blob);
        assert_eq!(props["content_encoding"], compression);
        assert_eq!(props["content_md5"], md5_b64(&data).as_str());
    }
}

#[test]
fn a_multi_block_export_commits_every_block_with_the_right_md5() {
    let f = Fixture::new();
    let mut csv = String::from("n,payload\n");
    for i in 0..50_000 {
        csv.push_str(&format!("{i},{}\n", "x".repeat(i % 97)));
    }
    let id = f.import(&csv);
    let container = support::unique_name("blocks");
    let report = f.export(
        &container,
        &id,
        &["--block-size", "1MiB", "--concurrency", "3"],
    );
    let data = python::download_blob(&container, &format!("{id}.csv"));
    let blocks = report["blocks"].as_u64().unwrap();
    assert_eq!(blocks, (data.len() as u64).div_ceil(1 << 20), "{report}");
    assert_eq!(report["md5"], md5_b64(&data).as_str());
    assert_eq!(
        python::blob_properties(&container, &format!("{id}.csv"))["content_md5"],
        md5_b64(&data).as_str()
    );
    let committed = python::py_ok(
        "print(len(service().get_blob_client(sys.argv[1], sys.argv[2]).get_block_list('committed')[0]))",
        [container.as_str(), &format!("{id}.csv")],
    );
    assert_eq!(committed.trim(), blocks.to_string());
    // Line count: header plus every row.
    assert_eq!(data.iter().filter(|&&b| b == b'\n').count(), 50_001);
}

#[test]
fn filename_modes_placeholders_and_awkward_names() {
    let f = Fixture::new();
    let id = f.import("a\n1\n");
    let container = support::unique_name("names");
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let cases = [
        (
            "dataset-id mode",
            vec!["--filename-mode", "dataset-id"],
            format!("{id}.csv"),
        ),
        (
            "custom",
            vec!["--filename", "daily/report"],
            "daily/report.csv".to_owned(),
        ),
        (
            "placeholders",
            vec!["--filename", "{date}/{dataset_id}"],
            format!("{today}/{id}.csv"),
        ),
        (
            "space",
            vec!["--filename", "with space"],
            "with space.csv".to_owned(),
        ),
        (
            "unicode",
            vec!["--filename", "données/日本"],
            "données/日本.csv".to_owned(),
        ),
        (
            "hash percent plus",
            vec!["--filename", "a#b%c+d"],
            "a#b%c+d.csv".to_owned(),
        ),
        (
            "keeps its extension",
            vec!["--filename", "x.txt"],
            "x.txt".to_owned(),
        ),
        (
            "compression suffix",
            vec!["--filename", "y.csv", "--compression", "gzip"],
            "y.csv.gz".to_owned(),
        ),
    ];
    for (what, args, blob) in &cases {
        let report = f.export(&container, &id, args);
        assert_eq!(report["blob"], blob.as_str(), "{what}");
    }
    let run = f.export(&container, &id, &["--filename", "run-{run_id}"]);
    assert_eq!(
        run["blob"],
        format!("run-{}.csv", run["run_id"].as_str().unwrap()).as_str()
    );
    let stamped = f.export(&container, &id, &["--filename", "t-{timestamp}"]);
    assert!(
        stamped["blob"].as_str().unwrap().ends_with("Z.csv"),
        "{stamped}"
    );

    let mut listed = python::list_blobs(&container);
    listed.sort();
    for (what, _, blob) in &cases {
        assert!(listed.contains(blob), "{what}: {blob} not in {listed:?}");
        let data = python::download_blob(&container, blob);
        if !blob.ends_with(".gz") {
            assert_eq!(data, b"a\r\n1\r\n", "{what}");
        }
    }
}

#[test]
fn append_twice_gives_one_header_and_all_rows() {
    let f = Fixture::new();
    let first = f.import("k,v\n1,a\n2,b\n");
    let container = support::unique_name("append");
    let args = ["--filename", "log", "--update-method", "append"];
    let r1 = f.export(&container, &first, &args);
    assert_eq!(r1["rows"], 2);
    let second = f.import("k,v\n3,c\n");
    f.export(&container, &second, &args);
    f.export(&container, &second, &args);
    let data = python::download_blob(&container, "log.csv");
    assert_eq!(
        String::from_utf8(data).unwrap(),
        "k,v\r\n1,a\r\n2,b\r\n3,c\r\n3,c\r\n"
    );
    let props = python::blob_properties(&container, "log.csv");
    assert_eq!(props["metadata"]["rows"], "4");

    // Appending an empty dataset adds nothing and fails nothing.
    let none = f.import("k,v\n");
    f.export(&container, &none, &args);
    let same = python::download_blob(&container, "log.csv");
    assert_eq!(
        String::from_utf8(same).unwrap(),
        "k,v\r\n1,a\r\n2,b\r\n3,c\r\n3,c\r\n"
    );

    // Different columns: refused, blob unchanged.
    let other = f.import("x,y,z\n1,2,3\n");
    f.export_raw(&container, &other, &args)
        .assert_code(2)
        .assert_stderr_contains("different columns");
    let again = python::download_blob(&container, "log.csv");
    assert_eq!(again.iter().filter(|&&b| b == b'\n').count(), 5);
}

#[test]
fn append_to_a_blob_another_tool_wrote_in_one_piece() {
    let f = Fixture::new();
    let container = support::unique_name("foreign");
    support::create_container(&container);
    python::upload_blob(&container, "t.csv", b"k,v\r\n0,z\r\n");
    let id = f.import("k,v\n1,a\n");
    f.export(
        &container,
        &id,
        &["--filename", "t.csv", "--update-method", "append"],
    );
    assert_eq!(
        python::download_blob(&container, "t.csv"),
        b"k,v\r\n0,z\r\n1,a\r\n"
    );
    // A header that does not match is refused.
    python::upload_blob(&container, "u.csv", b"other,cols\r\n");
    f.export_raw(
        &container,
        &id,
        &["--filename", "u.csv", "--update-method", "append"],
    )
    .assert_code(2)
    .assert_stderr_contains("[other, cols]");
}

#[test]
fn replace_over_an_existing_blob_and_an_empty_dataset() {
    let f = Fixture::new();
    let container = support::unique_name("replace");
    let big = f.import("a,b\n1,2\n3,4\n");
    f.export(&container, &big, &["--filename", "r"]);
    let empty = f.import("a,b\n");
    let report = f.export(&container, &empty, &["--filename", "r"]);
    assert_eq!(report["rows"], 0);
    assert_eq!(python::download_blob(&container, "r.csv"), b"a,b\r\n");
    f.export(
        &container,
        &empty,
        &["--filename", "e", "--format", "jsonl"],
    );
    assert_eq!(python::download_blob(&container, "e.jsonl"), b"");
    f.export(
        &container,
        &empty,
        &["--filename", "p", "--format", "parquet"],
    );
    assert!(python::download_blob(&container, "p.parquet").starts_with(b"PAR1"));
}

#[test]
fn bad_requests_are_refused_before_writing() {
    let f = Fixture::new();
    let id = f.import("a\n1\n");
    let container = support::unique_name("bad");
    support::create_container(&container);
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (
            vec!["--container", "Bad_Name"],
            2,
            "not a valid container name",
        ),
        (vec!["--filename", "dir/"], 2, "not a valid blob name"),
        (vec!["--filename", "{nope}"], 2, "unknown placeholder"),
        (vec!["--dataset", "not-a-guid"], 2, "GUID"),
        (
            vec!["--dataset", "00000000-0000-4000-8000-000000000000"],
            4,
            "00000000-0000-4000-8000-000000000000",
        ),
        (vec!["--account", "nope"], 4, "no account named 'nope'"),
        (
            vec!["--format", "parquet", "--update-method", "append"],
            2,
            "Parquet",
        ),
        (
            vec!["--format", "parquet", "--compression", "gzip"],
            2,
            "Parquet",
        ),
        (vec!["--delimiter", "ab"], 2, "--delimiter"),
        (vec!["--concurrency", "0"], 2, "--concurrency"),
    ];
    for (extra, code, needle) in cases {
        let mut args = vec![
            "export",
            "--account",
            "emu",
            "--container",
            &container,
            "--dataset",
            &id,
        ];
        args.extend_from_slice(&extra);
        // Later flags win for --container/--dataset/--account: clap takes the last one only when
        // told to, so build the list without duplicates.
        let args = dedup_flags(args);
        f.home
            .cmd(&args)
            .assert_code(code)
            .assert_stderr_contains(needle);
    }
    assert!(python::list_blobs(&container).is_empty());
}

/// Keeps the last value of each repeated `--flag value` pair.
fn dedup_flags(args: Vec<&str>) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = args[i];
        if a.starts_with("--") && i + 1 < args.len() && !args[i + 1].starts_with("--") {
            if let Some(pos) = out.iter().position(|x| *x == a) {
                out.remove(pos);
                out.remove(pos);
            }
            out.push(a);
            out.push(args[i + 1]);
            i += 2;
        } else {
            out.push(a);
            i += 1;
        }
    }
    out
}

#[test]
fn a_missing_container_needs_create_container() {
    let f = Fixture::new();
    let id = f.import("a\n1\n");
    let container = support::unique_name("missing");
    f.home
        .cmd([
            "export",
            "--account",
            "emu",
            "--container",
            &container,
            "--dataset",
            &id,
        ])
        .assert_code(2)
        .assert_stderr_contains("does not exist")
        .assert_stderr_contains("--create-container");
    assert!(!python::list_containers().contains(&container));
    let report = f.export(&container, &id, &[]);
    assert_eq!(report["created_container"], true);
}

#[test]
fn tokens_lacking_a_permission_name_the_letter() {
    let f = Fixture::new();
    let id = f.import("a\n1\n");
    let container = support::unique_name("perm");
    support::create_container(&container);
    let cases = [
        ("rl", vec![], "'w' (write)"),
        ("rwl", vec![], "'c' (create)"),
        ("wlc", vec!["--update-method", "append"], "'r' (read)"),
    ];
    for (perms, extra, needle) in cases {
        let home = &f.home;
        let name = format!("p{perms}");
        home.add_azurite_account(&name, &our_sas(home, &["--permissions", perms]))
            .assert_ok();
        let mut args = vec![
            "export",
            "--account",
            &name,
            "--container",
            &container,
            "--dataset",
            &id,
        ];
        args.extend(extra);
        home.cmd(&args)
            .assert_code(2)
            .assert_stderr_contains(needle);
    }
    assert!(python::list_blobs(&container).is_empty());
}

#[test]
fn a_name_held_by_an_append_blob_is_refused() {
    let f = Fixture::new();
    let id = f.import("a\n1\n");
    let container = support::unique_name("blobtype");
    support::create_container(&container);
    python::py_ok(
        "service().get_blob_client(sys.argv[1], 'ab.csv').create_append_blob()",
        [container.as_str()],
    );
    f.export_raw(&container, &id, &["--filename", "ab.csv"])
        .assert_code(2)
        .assert_stderr_contains("append blob");
}

#[test]
fn dry_run_writes_nothing() {
    let f = Fixture::new();
    let id = f.import("a\n1\n");
    let container = support::unique_name("dry");
    let out = f.home.cmd([
        "export",
        "--account",
        "emu",
        "--container",
        &container,
        "--dataset",
        &id,
        "--dry-run",
    ]);
    out.assert_code(2)
        .assert_stdout_contains("exists: no")
        .assert_stderr_contains("--create-container");
    let plan = f
        .home
        .cmd([
            "export",
            "--account",
            "emu",
            "--container",
            &container,
            "--dataset",
            &id,
            "--dry-run",
            "--create-container",
            "--json",
        ])
        .assert_ok()
        .json();
    assert_eq!(plan["container_exists"], false);
    assert!(!plan["url"].as_str().unwrap().contains("sig="));
    assert!(!python::list_containers().contains(&container));
}

#[test]
fn non_owners_cannot_export() {
    let f = Fixture::new();
    let id = f.import("a\n1\n");
    let container = support::unique_name("owner");
    f.home
        .cmd_env(
            [
                "export",
                "--account",
                "emu",
                "--container",
                &container,
                "--dataset",
                &id,
                "--create-container",
            ],
            &[("WRITEBACK_USER", "mallory")],
        )
        .assert_code(4);
    assert!(!python::list_containers().contains(&container));
}

fn multi_block_csv(tag: &str) -> String {
    let mut csv = String::from("n,tag,payload\n");
    for i in 0..40_000 {
        csv.push_str(&format!("{i},{tag},{}\n", "y".repeat(40)));
    }
    csv
}

#[test]
fn a_failure_midway_leaves_the_previous_blob_intact_and_commits_nothing() {
    let f = Fixture::new();
    let p = f.proxied("flaky");
    let container = support::unique_name("midway");
    let v1 = f.import(&multi_block_csv("v1"));
    let v2 = f.import(&multi_block_csv("v2"));
    let args = |id: &str| -> Vec<String> {
        [
            "export",
            "--account",
            "flaky",
            "--container",
            &container,
            "--dataset",
            id,
            "--filename",
            "t",
            "--create-container",
            "--block-size",
            "1MiB",
            "--json",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    f.home.cmd(args(&v1)).assert_ok();
    let before = python::download_blob(&container, "t.csv");
    let etag = python::blob_properties(&container, "t.csv")["etag"].clone();

    // The second block fails past every request retry: the export stops, nothing is committed.
    p.clear_requests();
    p.push(proxy::Rule::once(
        proxy::Match::put_block(),
        proxy::Fault::Delay(std::time::Duration::ZERO),
    ));
    p.push(proxy::Rule::times(
        proxy::Match::put_block(),
        proxy::Fault::internal_error(),
        1000,
    ));
    let out = f.home.cmd(args(&v2));
    out.assert_code(1).assert_stderr_contains("Put Block");
    assert!(
        p.requests_matching(&proxy::Match::put_block_list())
            .is_empty(),
        "nothing may be committed"
    );
    assert_eq!(
        python::download_blob(&container, "t.csv"),
        before,
        "the previous blob must be intact"
    );
    assert_eq!(python::blob_properties(&container, "t.csv")["etag"], etag);

    // The commit itself failing leaves the old blob too.
    let p2 = f.proxied("flaky2");
    p2.push(proxy::Rule::times(
        proxy::Match::put_block_list(),
        proxy::Fault::internal_error(),
        1000,
    ));
    let mut a = args(&v2);
    a[2] = "flaky2".into();
    f.home
        .cmd(a)
        .assert_code(1)
        .assert_stderr_contains("Put Block List");
    assert_eq!(python::download_blob(&container, "t.csv"), before);
}

#[test]
fn transient_faults_are_retried_and_the_blob_is_exact() {
    let f = Fixture::new();
    let p = f.proxied("flaky");
    let container = support::unique_name("transient");
    let id = f.import(&multi_block_csv("t"));
    let plain = support::unique_name("ref");
    f.export(&plain, &id, &["--filename", "t"]);
    let expected = python::download_blob(&plain, "t.csv");

    // Throttling with Retry-After, a reset in the middle of a block, a dropped commit answer.
    p.push(proxy::Rule::once(
        proxy::Match::put_block(),
        proxy::Fault::server_busy(1),
    ));
    p.push(proxy::Rule::once(
        proxy::Match::put_block(),
        proxy::Fault::ResetMidBody,
    ));
    p.push(proxy::Rule::once(
        proxy::Match::put_block_list(),
        proxy::Fault::server_busy(1),
    ));
    let report = f
        .home
        .cmd([
            "export",
            "--account",
            "flaky",
            "--container",
            &container,
            "--dataset",
            &id,
            "--filename",
            "t",
            "--create-container",
            "--block-size",
            "1MiB",
            "--json",
        ])
        .assert_ok()
        .json();
    assert_eq!(p.pending(), 0, "every fault was hit");
    let data = python::download_blob(&container, "t.csv");
    assert_eq!(data, expected);
    assert_eq!(report["md5"], md5_b64(&data).as_str());
}
