//! The fault-injecting proxy (`support::proxy`) itself, and request-level retries of our CLI
//! seen through it.

use std::time::{Duration, Instant};

use crate::accounts::our_sas;
use crate::support::proxy::{Fault, Match, Proxy, Rule, py_via};
use crate::support::{self, TestHome, python};

/// Python prelude addition: `client(retries, credential=None, **options)`, a `BlobServiceClient` on
/// `ENDPOINT` with a quick, jitter-free linear retry policy (the SDK's default waits 15 s).
const CLIENT: &str = r#"
from azure.storage.blob import LinearRetry
def client(retries, credential=None, **options):
    if credential is None:
        credential = {"account_name": ACCOUNT, "account_key": KEY}
    return BlobServiceClient(
        account_url=ENDPOINT, credential=credential,
        retry_policy=LinearRetry(backoff=0.1, random_jitter_range=0, retry_total=retries),
        **options)
"#;

fn script(body: &str) -> String {
    format!("{CLIENT}\n{body}")
}

/// `len` bytes that differ from offset to offset (a stuck or repeated buffer would show).
fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[test]
fn matches_by_method_parameter_and_path() {
    let put_block = Match::put_block();
    assert!(put_block.matches("PUT", "/acct/c/b?comp=block&blockid=AAAA&sv=1"));
    assert!(!put_block.matches("PUT", "/acct/c/b?comp=blocklist&sv=1"));
    assert!(!put_block.matches("GET", "/acct/c/b?comp=block"));
    assert!(Match::put_block_list().matches("put", "/acct/c/b?sv=1&comp=blocklist"));
    let list = Match::list_containers();
    assert!(list.matches("GET", "/devstoreaccount1?comp=list&maxresults=1"));
    assert!(!list.matches("GET", "/devstoreaccount1/c?restype=container&comp=list"));
    assert!(Match::blob("data%20file.csv").matches("PUT", "/a/c/data%20file.csv?comp=block"));
    assert!(!Match::blob("other").matches("PUT", "/a/c/data.csv?x=other"));
    assert!(Match::any().matches("DELETE", "/"));
}

#[test]
fn forwards_keep_alive_requests_and_large_bodies_unchanged() {
    let proxy = Proxy::start();
    let container = support::unique_name("proxy-pass");
    support::create_container(&container);
    let dir = tempfile::tempdir().unwrap();
    let big = pattern(9 * 1024 * 1024 + 13, 1);
    let file = dir.path().join("big.bin");
    std::fs::write(&file, &big).unwrap();

    // One client, one session: a single Put Blob of 9 MiB, a blob staged as three blocks and
    // committed with a block list, a listing, and both blobs downloaded again, all through the proxy.
    let out = py_via(
        &proxy.endpoint,
        &script(
            r#"
import hashlib
container, path = sys.argv[1:]
svc = client(0, max_single_put_size=16 * 1024 * 1024)
cc = svc.get_container_client(container)
data = open(path, "rb").read()
cc.upload_blob("single.bin", data)
from azure.storage.blob import BlobBlock
blocks = cc.get_blob_client("blocks.bin")
step = 4 * 1024 * 1024
ids = []
for i, start in enumerate(range(0, len(data), step)):
    ids.append(f"block-{i:04d}")
    blocks.stage_block(ids[-1], data[start:start + step])
blocks.commit_block_list([BlobBlock(block_id=b) for b in ids])
names = sorted(b.name for b in cc.list_blobs())
same = [cc.download_blob(n).readall() == data for n in names]
print(json.dumps({"names": names, "same": same}))
"#,
        ),
        [container.as_str(), file.to_str().unwrap()],
    );
    out.assert_ok();
    let got = out.json();
    assert_eq!(
        got["names"],
        serde_json::json!(["blocks.bin", "single.bin"])
    );
    assert_eq!(got["same"], serde_json::json!([true, true]));

    // What Azurite itself holds, read around the proxy.
    assert_eq!(python::download_blob(&container, "single.bin"), big);
    assert_eq!(python::download_blob(&container, "blocks.bin"), big);

    let seen = proxy.requests();
    assert!(seen.iter().all(|s| !s.injected()), "{seen:#?}");
    assert!(
        seen.iter().all(|s| s.status.is_some_and(|c| c < 300)),
        "{seen:#?}"
    );
    let blocks = proxy.requests_matching(&Match::put_block());
    assert_eq!(blocks.len(), 3, "{seen:#?}");
    assert_eq!(
        blocks.iter().map(|s| s.body_bytes).sum::<u64>(),
        big.len() as u64
    );
    assert_eq!(proxy.requests_matching(&Match::put_block_list()).len(), 1);
    let single = proxy.requests_matching(
        &Match::any()
            .method("PUT")
            .path_contains("single.bin")
            .without_param("comp"),
    );
    assert_eq!(single.len(), 1, "{seen:#?}");
    assert_eq!(single[0].body_bytes, big.len() as u64);
    // Keep-alive: the SDK's session sent everything over fewer connections than requests.
    let mut connections: Vec<u64> = seen.iter().map(|s| s.connection).collect();
    connections.dedup();
    assert!(
        connections.len() < seen.len() / 2,
        "connections were not reused: {seen:#?}"
    );
}

#[test]
fn relays_chunked_request_bodies_and_redacts_signatures() {
    let proxy = Proxy::start();
    let container = support::unique_name("proxy-chunked");
    support::create_container(&container);
    let token = python::sdk_account_sas("b", "sco", "rwdlac", 3600);
    let sig = token
        .split('&')
        .find_map(|kv| kv.strip_prefix("sig="))
        .unwrap()
        .to_owned();

    // http.client sends a body it cannot size with Transfer-Encoding: chunked. Azure (and
    // Azurite) answer Put Blob without a Content-Length as they see fit; what matters here is
    // that the proxy relays the exchange exactly as a direct connection does.
    let send = r#"
import http.client, urllib.parse
container, token = sys.argv[1:]
url = urllib.parse.urlsplit(ENDPOINT)
def chunks():
    for i in range(40):
        yield (b"%05d," % i) * 5000
conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
conn.request("PUT", f"{url.path}/{container}/chunked.bin?{token}", body=chunks(),
             headers={"x-ms-blob-type": "BlockBlob", "x-ms-version": "2021-08-06"},
             encode_chunked=True)
r = conn.getresponse()
body = r.read()
# The same connection once more: keep-alive after a chunked request.
conn.request("GET", f"{url.path}?comp=list&{token}")
r2 = conn.getresponse()
r2.read()
print(json.dumps({"status": r.status, "code": r.getheader("x-ms-error-code"), "len": len(body),
                  "second": r2.status}))
"#;
    let direct = python::py(send, [container.as_str(), token.as_str()]);
    direct.assert_ok();
    let via = py_via(&proxy.endpoint, send, [container.as_str(), token.as_str()]);
    via.assert_ok();
    let (direct, via) = (direct.json(), via.json());
    assert_eq!(
        via["status"], direct["status"],
        "direct {direct}, via proxy {via}"
    );
    assert_eq!(via["code"], direct["code"]);
    assert_eq!(via["len"], direct["len"]);
    assert_eq!(via["second"], 200);

    let seen = proxy.requests();
    assert_eq!(seen.len(), 2, "{seen:#?}");
    assert_eq!(seen[0].body_bytes, 40 * 5000 * 6);
    assert_eq!(seen[0].connection, seen[1].connection);
    for s in &seen {
        assert!(s.target.contains("sig=REDACTED"), "{s:?}");
        assert!(!s.target.contains(&sig), "{s:?}");
    }
}

#[test]
fn injected_503_looks_like_azure_and_is_retried_by_the_sdk() {
    let proxy = Proxy::start();
    proxy.push(Rule::times(
        Match::list_containers(),
        Fault::server_busy(1),
        2,
    ));
    let token = python::sdk_account_sas("b", "sco", "rwdlac", 3600);
    let out = py_via(
        &proxy.endpoint,
        &script(
            r#"
import time, urllib.request, urllib.error
from azure.core.exceptions import HttpResponseError
token = sys.argv[1]
# The raw answer.
try:
    urllib.request.urlopen(f"{ENDPOINT}?comp=list&{token}", timeout=30)
    raise SystemExit("expected a 503")
except urllib.error.HTTPError as e:
    raw = {"status": e.code, "reason": e.reason, "headers": {k.lower(): v for k, v in e.headers.items()},
           "body": e.read().decode("utf-8")}
# The SDK without retries sees the error as Azure's.
try:
    list(client(0, token).list_containers())
    raise SystemExit("expected a 503")
except HttpResponseError as e:
    sdk = {"status": e.status_code, "code": e.error_code}
# With retries it rides it out.
started = time.monotonic()
names = [c.name for c in client(2, token).list_containers()]
print(json.dumps({"raw": raw, "sdk": sdk, "listed": len(names) > 0, "secs": time.monotonic() - started}))
"#,
        ),
        [token.as_str()],
    );
    let got = out.assert_ok().json();
    let raw = &got["raw"];
    assert_eq!(raw["status"], 503);
    assert_eq!(raw["reason"], "The server is busy.");
    assert_eq!(raw["headers"]["x-ms-error-code"], "ServerBusy");
    assert_eq!(raw["headers"]["retry-after"], "1");
    assert_eq!(raw["headers"]["content-type"], "application/xml");
    assert!(raw["headers"]["x-ms-request-id"].is_string());
    let body = raw["body"].as_str().unwrap();
    assert!(
        body.starts_with(
            "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>ServerBusy</Code><Message>The server is busy.\nRequestId:"
        ),
        "{body:?}"
    );
    assert!(body.ends_with("</Message></Error>"), "{body:?}");
    assert_eq!(got["sdk"]["status"], 503);
    assert_eq!(got["sdk"]["code"], "ServerBusy");
    assert_eq!(got["listed"], true);
    assert_eq!(proxy.pending(), 0);

    let statuses: Vec<Option<u16>> = proxy.requests().iter().map(|s| s.status).collect();
    assert_eq!(statuses, [Some(503), Some(503), Some(200)]);
}

#[test]
fn reset_mid_body_aborts_an_upload_and_nothing_is_written() {
    let proxy = Proxy::start();
    let container = support::unique_name("proxy-reset");
    support::create_container(&container);
    let data = pattern(1024 * 1024, 2);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("data.bin");
    std::fs::write(&file, &data).unwrap();
    let upload = script(
        r#"
container, path, retries = sys.argv[1:]
try:
    client(int(retries)).get_blob_client(container, "reset.bin").upload_blob(open(path, "rb").read(), overwrite=True)
    print(json.dumps({"ok": True}))
except Exception as e:
    print(json.dumps({"ok": False, "error": type(e).__name__ + ": " + str(e)[:300]}))
"#,
    );

    // Without retries the client fails, and Azurite, which saw half a request, stored nothing.
    proxy.push(Rule::once(Match::blob("reset.bin"), Fault::ResetMidBody));
    let args = [container.as_str(), file.to_str().unwrap(), "0"];
    let got = py_via(&proxy.endpoint, &upload, args).assert_ok().json();
    assert_eq!(got["ok"], false, "{got}");
    assert!(python::list_blobs(&container).is_empty());
    let seen = proxy.requests();
    assert_eq!(seen.len(), 1, "{seen:#?}");
    assert_eq!(seen[0].fault, Some(Fault::ResetMidBody));
    assert_eq!(seen[0].status, None);
    assert_eq!(seen[0].body_bytes, data.len() as u64 / 2);

    // With retries the SDK tries again on a new connection and the blob lands whole.
    proxy.clear_requests();
    proxy.push(Rule::once(Match::blob("reset.bin"), Fault::ResetMidBody));
    let args = [container.as_str(), file.to_str().unwrap(), "2"];
    let got = py_via(&proxy.endpoint, &upload, args).assert_ok().json();
    assert_eq!(got["ok"], true, "{got}");
    assert_eq!(python::download_blob(&container, "reset.bin"), data);
    let seen = proxy.requests();
    let statuses: Vec<Option<u16>> = seen.iter().map(|s| s.status).collect();
    assert_eq!(statuses, [None, Some(201)], "{seen:#?}");
    assert_ne!(seen[0].connection, seen[1].connection);

    // A download broken off halfway: the client gets the status line and half the bytes.
    proxy.push(Rule::once(
        Match::blob("reset.bin").method("GET"),
        Fault::ResetMidBody,
    ));
    let token = python::sdk_account_sas("b", "sco", "rwdlac", 3600);
    let got = py_via(
        &proxy.endpoint,
        r#"
import http.client, urllib.parse
container, token = sys.argv[1:]
url = urllib.parse.urlsplit(ENDPOINT)
conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
conn.request("GET", f"{url.path}/{container}/reset.bin?{token}")
r = conn.getresponse()
got = 0
try:
    while chunk := r.read(65536):
        got += len(chunk)
    error = None
except Exception as e:
    error = type(e).__name__
print(json.dumps({"status": r.status, "length": int(r.getheader("content-length")), "got": got, "error": error}))
"#,
        [container.as_str(), token.as_str()],
    )
    .assert_ok()
    .json();
    assert_eq!(got["status"], 200, "{got}");
    assert_eq!(got["length"], data.len());
    assert!(got["got"].as_u64().unwrap() < data.len() as u64, "{got}");
    assert!(got["error"].is_string(), "{got}");
}

/// Our CLI's request-level retries: transient failures (two `503 ServerBusy` with
/// `Retry-After: 1`) are retried until the listing succeeds; a `403` is reported at once,
/// without a second request.
#[test]
fn writeback_containers_retries_503s_but_not_a_403() {
    let proxy = Proxy::start();
    let home = TestHome::new();
    let container = support::unique_name("proxy-cli");
    support::create_container(&container);
    let token = our_sas(&home, &[]);
    home.cmd([
        "account",
        "add",
        "emu",
        "--storage-account",
        support::ACCOUNT,
        "--sas-token",
        &token,
        "--endpoint",
        &proxy.endpoint,
    ])
    .assert_ok();
    proxy.clear_requests();

    proxy.push(Rule::times(
        Match::list_containers(),
        Fault::server_busy(1),
        2,
    ));
    let started = Instant::now();
    let out = home
        .cmd(["containers", "--account", "emu", "--prefix", &container])
        .assert_ok()
        .assert_stdout_contains(&container)
        .clone();
    // Retry-After: 1 was honoured twice.
    assert!(started.elapsed() >= Duration::from_secs(2), "{out:?}");
    let seen = proxy.requests();
    let statuses: Vec<Option<u16>> = seen.iter().map(|s| s.status).collect();
    assert_eq!(statuses, [Some(503), Some(503), Some(200)], "{seen:#?}");
    assert!(seen.iter().all(|s| s.target.contains("sig=REDACTED")));

    proxy.clear_requests();
    proxy.push(Rule::once(Match::list_containers(), Fault::forbidden()));
    let out = home.cmd(["containers", "--account", "emu"]);
    out.assert_code(3).assert_not_printed(
        token
            .split('&')
            .find_map(|kv| kv.strip_prefix("sig="))
            .unwrap(),
    );
    let seen = proxy.requests();
    assert_eq!(seen.len(), 1, "a 403 must not be retried: {seen:#?}");
    assert_eq!(seen[0].status, Some(403));
    assert!(
        out.stderr.contains("AuthorizationFailure") || out.stderr.contains("not authorized"),
        "{out:?}"
    );
}

/// Connections that hang or close without an answer are transient too: `--timeout 1` makes
/// the hang cost one second, then the listing goes through.
#[test]
fn writeback_containers_retries_a_hang_and_a_dropped_connection() {
    let proxy = Proxy::start();
    let home = TestHome::new();
    let token = our_sas(&home, &[]);
    home.cmd([
        "account",
        "add",
        "emu",
        "--storage-account",
        support::ACCOUNT,
        "--sas-token",
        &token,
        "--endpoint",
        &proxy.endpoint,
    ])
    .assert_ok();
    proxy.clear_requests();

    proxy.push(Rule::once(Match::list_containers(), Fault::Hang));
    proxy.push(Rule::once(Match::list_containers(), Fault::DropConnection));
    proxy.push(Rule::once(
        Match::list_containers(),
        Fault::Delay(Duration::from_millis(300)),
    ));
    home.cmd(["--timeout", "1", "containers", "--account", "emu"])
        .assert_ok();
    let seen = proxy.requests();
    let faults: Vec<Option<Fault>> = seen.iter().map(|s| s.fault.clone()).collect();
    assert_eq!(
        faults,
        [
            Some(Fault::Hang),
            Some(Fault::DropConnection),
            Some(Fault::Delay(Duration::from_millis(300))),
        ],
        "{seen:#?}"
    );
    assert_eq!(seen[2].status, Some(200));
    assert_eq!(proxy.pending(), 0);
}
