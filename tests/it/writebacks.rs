//! Saved writebacks, their runs, retries and the scheduler, against a real Azurite (through the
//! fault proxy where a test needs failures or slowness).

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{self, Fixture, proxy, python};

/// What these tests do with a [`Fixture`] besides importing.
trait Writebacks {
    fn runs(&self, name: &str) -> Vec<Value>;
    fn serve(&self) -> Server;
    fn wait_for_runs(&self, name: &str, what: &str, pred: impl Fn(&[Value]) -> bool) -> Vec<Value>;
}

impl Writebacks for Fixture {
    fn runs(&self, name: &str) -> Vec<Value> {
        let mut runs = self
            .home
            .cmd(["runs", name, "--limit", "100", "--json"])
            .assert_ok()
            .json()
            .as_array()
            .unwrap()
            .clone();
        runs.reverse(); // oldest first
        runs
    }

    fn serve(&self) -> Server {
        let child = self
            .home
            .writeback()
            .args(["serve", "--grace", "10"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start writeback serve");
        Server { child: Some(child) }
    }

    /// Waits until `pred` holds for the writeback's runs (oldest first), or fails the test.
    fn wait_for_runs(&self, name: &str, what: &str, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let runs = self.runs(name);
            if pred(&runs) {
                return runs;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; runs: {runs:#?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// A `writeback serve` child: stopped with SIGTERM (and its exit checked) or killed.
struct Server {
    child: Option<Child>,
}

impl Server {
    fn terminate(mut self) -> String {
        let child = self.child.take().unwrap();
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let out = child.wait_with_output().unwrap();
        let log = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.success(),
            "serve must exit 0 on SIGTERM; log:\n{log}"
        );
        log
    }

    fn kill_9(mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn statuses(runs: &[Value]) -> Vec<String> {
    runs.iter()
        .map(|r| r["status"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn create_show_list_edit_delete() {
    let f = Fixture::new();
    let id = f.import("a,b\n1,x\n");
    let container = support::unique_name("wb");
    f.home
        .cmd([
            "create",
            "nightly",
            "--account",
            "emu",
            "--container",
            &container,
            "--dataset",
            &id,
            "--filename",
            "{writeback}/{date}",
            "--format",
            "jsonl",
            "--compression",
            "gzip",
            "--description",
            "the nightly feed",
            "--schedule",
            "cron 30 2 * * *",
            "--timezone",
            "Europe/Paris",
            "--retry-attempts",
            "4",
            "--retry-delay",
            "30s",
            "--create-container",
        ])
        .assert_ok()
        .assert_stdout_contains("created writeback 'nightly'");
    let shown = f.home.cmd(["show", "nightly", "--json"]).assert_ok().json();
    assert_eq!(shown["owner"], "tester");
    assert_eq!(shown["description"], "the nightly feed");
    assert_eq!(shown["schedule"], "cron TZ=Europe/Paris 30 2 * * *");
    assert_eq!(shown["output"]["format"], "jsonl");
    assert_eq!(shown["output"]["compression"], "gzip");
    assert_eq!(shown["retry_attempts"], 4);
    assert_eq!(shown["retry_delay_s"], 30);
    // 02:30 in Paris is 01:30 UTC in winter.
    assert!(
        shown["next_run"].as_str().unwrap().contains("T01:30:00"),
        "{shown}"
    );

    f.home
        .cmd(["list"])
        .assert_ok()
        .assert_stdout_contains("nightly")
        .assert_stdout_contains("Europe/Paris");

    // Edit changes only what is given.
    f.home
        .cmd([
            "edit",
            "nightly",
            "--schedule",
            "every 2h",
            "--compression",
            "none",
        ])
        .assert_ok();
    let edited = f.home.cmd(["show", "nightly", "--json"]).assert_ok().json();
    assert_eq!(edited["schedule"], "every 2h");
    assert_eq!(edited["output"]["compression"], "none");
    assert_eq!(edited["output"]["format"], "jsonl");
    assert_eq!(edited["description"], "the nightly feed");

    // Run it now; the run is recorded with everything a user audits.
    f.home
        .cmd(["run", "nightly"])
        .assert_ok()
        .assert_stdout_contains("succeeded");
    let runs = f.runs("nightly");
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run["trigger"], "manual");
    assert_eq!(run["attempt"], 1);
    assert_eq!(run["rows"], 1);
    let blob = run["blob"].as_str().unwrap();
    assert!(
        blob.starts_with("nightly/") && blob.ends_with(".jsonl"),
        "{run}"
    );
    let data = python::download_blob(&container, blob);
    assert_eq!(run["bytes"], data.len());
    assert!(
        run["etag"].as_str().is_some() && run["md5"].as_str().is_some(),
        "{run}"
    );
    assert!(!run["url"].as_str().unwrap().contains("sig="));

    // Accounts and datasets in use cannot be removed.
    f.home
        .cmd(["account", "remove", "emu"])
        .assert_code(2)
        .assert_stderr_contains("nightly");
    f.home
        .cmd(["dataset", "remove", &id])
        .assert_code(2)
        .assert_stderr_contains("nightly");

    f.home.cmd(["delete", "nightly"]).assert_ok();
    f.home.cmd(["show", "nightly"]).assert_code(4);
    assert_eq!(f.runs("nightly").len(), 1, "history outlives the writeback");
    f.home.cmd(["account", "remove", "emu"]).assert_ok();
}

#[test]
fn bad_settings_are_refused_and_change_nothing() {
    let f = Fixture::new();
    let id = f.import("a\n1\n");
    let base = [
        "create",
        "w",
        "--account",
        "emu",
        "--container",
        "cont",
        "--dataset",
        id.as_str(),
    ];
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (vec!["--schedule", "cron 0 25 * * *"], 2, "hour"),
        (vec!["--schedule", "cron 0 2 * *"], 2, "5"),
        (
            vec![
                "--schedule",
                "cron 0 2 * * *",
                "--timezone",
                "Europe/Pariss",
            ],
            2,
            "Europe/Paris",
        ),
        (vec!["--schedule", "every 0m"], 2, "zero"),
        (vec!["--schedule", "every -5m"], 2, "every"),
        (vec!["--schedule", "sometimes"], 2, "sometimes"),
        (vec!["--retry-attempts", "0"], 2, "attempts"),
        (vec!["--filename", "{nope}"], 2, "placeholder"),
        (
            vec!["--format", "parquet", "--update-method", "append"],
            2,
            "Parquet",
        ),
        (vec!["--account", "nope"], 4, "no account named 'nope'"),
        (vec!["--dataset", "not-a-guid"], 2, "GUID"),
        (vec!["--container", "Bad"], 2, "container name"),
    ];
    for (extra, code, needle) in cases {
        let mut args: Vec<&str> = base.to_vec();
        // Replace a base flag when the case gives it again.
        for pair in extra.chunks(2) {
            if let Some(pos) = args.iter().position(|a| *a == pair[0]) {
                args[pos + 1] = pair[1];
            } else {
                args.extend_from_slice(pair);
            }
        }
        f.home
            .cmd(&args)
            .assert_code(code)
            .assert_stderr_contains(needle);
    }
    let ok = f.home.cmd(base).assert_ok().clone();
    drop(ok);
    f.home
        .cmd(base)
        .assert_code(2)
        .assert_stderr_contains("writeback 'w' already exists");
    let list = f.home.cmd(["list", "--json"]).assert_ok().json();
    assert_eq!(list.as_array().unwrap().len(), 1);
}

#[test]
fn the_owner_rule_holds_at_create_edit_and_run() {
    let f = Fixture::new();
    let id = f.import("a\n1\n");
    let container = support::unique_name("owner");
    let bob = [("WRITEBACK_USER", "bob")];
    // Bob may not export a dataset he neither owns nor co-owns.
    f.home
        .cmd_env(
            [
                "create",
                "bobs",
                "--account",
                "emu",
                "--container",
                &container,
                "--dataset",
                &id,
                "--create-container",
            ],
            &bob,
        )
        .assert_code(4);
    f.home
        .cmd(["dataset", "share", &id, "--co-owner", "bob"])
        .assert_ok();
    f.home
        .cmd_env(
            [
                "create",
                "bobs",
                "--account",
                "emu",
                "--container",
                &container,
                "--dataset",
                &id,
                "--create-container",
            ],
            &bob,
        )
        .assert_ok();
    // Only the writeback's owner edits or deletes it.
    f.home
        .cmd(["edit", "bobs", "--description", "mine now"])
        .assert_code(4)
        .assert_stderr_contains("only the owner");
    f.home.cmd(["delete", "bobs"]).assert_code(4);

    // Co-ownership revoked: editing and running fail with a permission error; nothing is written.
    f.home
        .cmd(["dataset", "unshare", &id, "--co-owner", "bob"])
        .assert_ok();
    f.home
        .cmd_env(["edit", "bobs", "--description", "x"], &bob)
        .assert_code(4);
    f.home.cmd(["run", "bobs"]).assert_code(4);
    let runs = f.runs("bobs");
    assert_eq!(statuses(&runs), ["failed"]);
    assert!(
        runs[0]["error"].as_str().unwrap().contains("bob"),
        "{runs:?}"
    );
    assert!(
        !python::list_containers().contains(&container),
        "nothing may be written"
    );
}

#[test]
fn transient_failures_are_retried_and_permanent_ones_are_not() {
    let f = Fixture::new();
    let id = f.import("a\n1\n");
    let container = support::unique_name("retry");
    support::create_container(&container);
    let p = f.proxied("flaky");
    f.home
        .cmd([
            "create",
            "r",
            "--account",
            "flaky",
            "--container",
            &container,
            "--dataset",
            &id,
            "--retry-attempts",
            "3",
            "--retry-delay",
            "0s",
        ])
        .assert_ok();

    // Every write fails with 500, past the request-level retries: three recorded attempts.
    p.push(proxy::Rule::times(
        proxy::Match::any().method("PUT"),
        proxy::Fault::internal_error(),
        1000,
    ));
    f.home
        .cmd(["run", "r"])
        .assert_code(1)
        .assert_stderr_contains("retrying");
    let runs = f.runs("r");
    assert_eq!(statuses(&runs), ["failed", "failed", "failed"]);
    let triggers: Vec<_> = runs
        .iter()
        .map(|r| r["trigger"].as_str().unwrap())
        .collect();
    assert_eq!(triggers, ["manual", "retry", "retry"]);
    let attempts: Vec<_> = runs
        .iter()
        .map(|r| r["attempt"].as_u64().unwrap())
        .collect();
    assert_eq!(attempts, [1, 2, 3]);
    assert!(runs.iter().all(|r| r["retriable"] == true));

    // A permission refusal is permanent: one attempt, exit code 3.
    let p2 = f.proxied("refusing");
    f.home
        .cmd(["edit", "r", "--account", "refusing"])
        .assert_ok();
    p2.push(proxy::Rule::times(
        proxy::Match::any().method("PUT"),
        proxy::Fault::forbidden(),
        1000,
    ));
    f.home.cmd(["run", "r"]).assert_code(3);
    assert_eq!(f.runs("r").len(), 4, "a permanent failure is not retried");
    assert!(python::list_blobs(&container).is_empty());
}

#[test]
fn serve_runs_a_one_second_writeback_repeatedly_and_stops_cleanly() {
    let f = Fixture::new();
    let id = f.import("a\n1\n");
    let container = support::unique_name("serve");
    f.home
        .cmd([
            "create",
            "tick",
            "--account",
            "emu",
            "--container",
            &container,
            "--dataset",
            &id,
            "--schedule",
            "every 1s",
            "--filename",
            "t/{run_id}",
            "--create-container",
        ])
        .assert_ok();
    let server = f.serve();
    f.wait_for_runs("tick", "two scheduled runs", |runs| {
        runs.iter().filter(|r| r["status"] == "succeeded").count() >= 2
    });
    let log = server.terminate();
    assert!(log.contains("run succeeded"), "{log}");
    let runs = f.runs("tick");
    assert!(
        runs.iter()
            .all(|r| r["trigger"] == "schedule" && r["status"] != "running"),
        "{runs:#?}"
    );
    let blobs = python::list_blobs(&container);
    let succeeded = runs.iter().filter(|r| r["status"] == "succeeded").count();
    assert_eq!(blobs.len(), succeeded, "one blob per successful run");
}

#[test]
fn a_run_due_while_the_previous_one_is_active_is_skipped_not_stacked() {
    let f = Fixture::new();
    let id = f.import("a\n1\n");
    let container = support::unique_name("overlap");
    support::create_container(&container);
    let p = f.proxied("slow");
    // Every upload takes three seconds; the schedule fires every second.
    p.push(proxy::Rule::times(
        proxy::Match::any().method("PUT"),
        proxy::Fault::Delay(Duration::from_secs(3)),
        1000,
    ));
    f.home
        .cmd([
            "create",
            "slow",
            "--account",
            "slow",
            "--container",
            &container,
            "--dataset",
            &id,
            "--schedule",
            "every 1s",
        ])
        .assert_ok();
    let server = f.serve();
    let runs = f.wait_for_runs("slow", "a skipped run after a success", |runs| {
        runs.iter().any(|r| r["status"] == "skipped")
            && runs.iter().any(|r| r["status"] == "succeeded")
    });
    server.terminate();
    let running_at_once = runs.iter().filter(|r| r["status"] == "running").count();
    assert!(running_at_once <= 1, "{runs:#?}");
    let skipped = runs.iter().find(|r| r["status"] == "skipped").unwrap();
    assert!(
        skipped["error"].as_str().unwrap().contains("still active"),
        "{skipped}"
    );
}

#[test]
fn a_run_killed_with_serve_is_recorded_interrupted_and_retried_and_the_blob_is_never_partial() {
    let f = Fixture::new();
    let mut csv = String::from("n,payload\n");
    for i in 0..40_000 {
        csv.push_str(&format!("{i},{}\n", "z".repeat(50)));
    }
    let old = f.import("n,payload\n0,old\n");
    let new = f.import(&csv);
    let container = support::unique_name("kill");
    let p = f.proxied("k");
    // The old version is in place.
    f.home
        .cmd([
            "export",
            "--account",
            "k",
            "--container",
            &container,
            "--dataset",
            &old,
            "--filename",
            "t",
            "--create-container",
        ])
        .assert_ok();
    let before = python::download_blob(&container, "t.csv");

    f.home
        .cmd([
            "create",
            "kill",
            "--account",
            "k",
            "--container",
            &container,
            "--dataset",
            &new,
            "--filename",
            "t",
            "--schedule",
            "every 1s",
            "--retry-attempts",
            "3",
            "--retry-delay",
            "0s",
            "--block-size",
            "1MiB",
        ])
        .assert_ok();
    // The commit of the first run hangs, so serve is killed mid-run with every block staged.
    p.push(proxy::Rule::once(
        proxy::Match::put_block_list(),
        proxy::Fault::Delay(Duration::from_secs(600)),
    ));
    let server = f.serve();
    let deadline = Instant::now() + Duration::from_secs(60);
    while p.pending() > 0 {
        assert!(
            Instant::now() < deadline,
            "the first run never reached its commit"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    server.kill_9();
    assert_eq!(
        python::download_blob(&container, "t.csv"),
        before,
        "old blob until a commit succeeds"
    );
    assert_eq!(statuses(&f.runs("kill")), ["running"]);

    // Restart: the dead run becomes interrupted and is retried per policy.
    let server = f.serve();
    let runs = f.wait_for_runs(
        "kill",
        "the interrupted run and a successful retry",
        |runs| {
            runs.first().is_some_and(|r| r["status"] == "interrupted")
                && runs.iter().any(|r| {
                    r["trigger"] == "retry" && r["attempt"] == 2 && r["status"] == "succeeded"
                })
        },
    );
    server.terminate();
    assert_eq!(runs[0]["retriable"], true);
    let after = python::download_blob(&container, "t.csv");
    assert_eq!(
        after.iter().filter(|&&b| b == b'\n').count(),
        40_001,
        "the new blob, complete"
    );
}

#[test]
fn editing_a_running_writeback_is_refused() {
    let f = Fixture::new();
    let id = f.import("a\n1\n");
    let container = support::unique_name("busy");
    support::create_container(&container);
    let p = f.proxied("slowrun");
    p.push(proxy::Rule::times(
        proxy::Match::any().method("PUT"),
        proxy::Fault::Delay(Duration::from_secs(4)),
        1,
    ));
    f.home
        .cmd([
            "create",
            "busy",
            "--account",
            "slowrun",
            "--container",
            &container,
            "--dataset",
            &id,
        ])
        .assert_ok();
    let mut run = f
        .home
        .writeback()
        .args(["run", "busy"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    f.wait_for_runs("busy", "the run to start", |runs| {
        runs.iter().any(|r| r["status"] == "running")
    });
    f.home
        .cmd(["edit", "busy", "--description", "x"])
        .assert_code(2)
        .assert_stderr_contains("is running");
    f.home
        .cmd(["delete", "busy"])
        .assert_code(2)
        .assert_stderr_contains("is running");
    assert!(run.wait().unwrap().success());
    f.home
        .cmd(["edit", "busy", "--description", "x"])
        .assert_ok();
}

/// A plain HTTP/1.1 GET: (status, body).
fn http_get(addr: &str, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text.split(' ').nth(1).unwrap().parse().unwrap();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn serve_offers_a_read_only_status_api() {
    use std::io::BufRead;
    let f = Fixture::new();
    let id = f.import("a\n1\n");
    let container = support::unique_name("api");
    f.home
        .cmd([
            "create",
            "api",
            "--account",
            "emu",
            "--container",
            &container,
            "--dataset",
            &id,
            "--create-container",
            "--schedule",
            "every 1s",
        ])
        .assert_ok();
    let mut child = f
        .home
        .writeback()
        .args(["serve", "--listen", "127.0.0.1:0", "--grace", "10"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("serve said where it listens").unwrap();
        if let Some((_, rest)) = line.split_once("listening on http://") {
            break rest.trim().to_owned();
        }
    };
    // Keep reading the log so serve never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let server = Server { child: Some(child) };

    let (status, body) = http_get(&addr, "/healthz");
    assert_eq!(status, 200);
    assert!(body.contains("\"ok\""), "{body}");
    f.wait_for_runs("api", "a scheduled run", |runs| {
        runs.iter().any(|r| r["status"] == "succeeded")
    });
    let (status, body) = http_get(&addr, "/api/runs?writeback=api&limit=5");
    assert_eq!(status, 200);
    let runs: Value = serde_json::from_str(&body).unwrap();
    assert!(
        runs.as_array()
            .unwrap()
            .iter()
            .any(|r| r["status"] == "succeeded"),
        "{body}"
    );
    let (status, body) = http_get(&addr, "/api/writebacks/api");
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["name"], "api");
    let (status, body) = http_get(&addr, "/api/writebacks");
    assert_eq!(status, 200);
    assert!(!body.contains("sig="), "{body}");
    let (status, body) = http_get(&addr, "/api/writebacks/nope");
    assert_eq!(status, 404);
    assert!(body.contains("no writeback named 'nope'"), "{body}");
    server.terminate();
}
