//! An independent checker: Microsoft's Python SDK (`azure-storage-blob`, pinned in
//! `scripts/requirements-dev.txt`, installed into `<repo>/.venv` by `scripts/setup`), talking to
//! this binary's Azurite. Tests use it to set up state without our CLI (containers, blobs) and to
//! check what our CLI did (download and compare bytes, read properties and MD5s), and to prove
//! that tokens we sign are accepted by Microsoft's own client.
//!
//! Every script gets a prelude with `ENDPOINT`, `ACCOUNT`, `KEY` and `service(credential=None)`
//! (a `BlobServiceClient` for the well-known account, with the account key unless a SAS token is
//! given); its arguments are `sys.argv[1:]`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{ACCOUNT, ACCOUNT_KEY, COMMAND_TIMEOUT};
use super::{CliOutput, azurite, run_with};

const PRELUDE: &str = r#"
import json, os, sys
from datetime import datetime, timedelta, timezone
from azure.storage.blob import BlobServiceClient

ENDPOINT = os.environ["WB_BLOB_ENDPOINT"]
ACCOUNT = os.environ["WB_ACCOUNT"]
KEY = os.environ["WB_ACCOUNT_KEY"]

def service(credential=None):
    if credential is None:
        credential = {"account_name": ACCOUNT, "account_key": KEY}
    return BlobServiceClient(account_url=ENDPOINT, credential=credential)
"#;

/// `<repo>/.venv/bin/python`.
pub fn venv_python() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python")
}

fn command<I, S>(script: &str, args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let python = venv_python();
    assert!(
        python.exists(),
        "{} is missing: run `scripts/setup` first (scripts/test does it)",
        python.display()
    );
    let azurite = azurite();
    let mut cmd = Command::new(python);
    cmd.arg("-c")
        .arg(format!("{PRELUDE}\n{script}"))
        .args(args)
        .env("WB_BLOB_ENDPOINT", &azurite.blob_endpoint)
        .env("WB_ACCOUNT", ACCOUNT)
        .env("WB_ACCOUNT_KEY", ACCOUNT_KEY)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONIOENCODING", "utf-8")
        .env("NO_PROXY", "127.0.0.1,localhost,::1")
        .env("no_proxy", "127.0.0.1,localhost,::1");
    cmd
}

/// Runs `script` (after the prelude) with `args`; not asserted.
pub fn py<I, S>(script: &str, args: I) -> CliOutput
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run_with(command(script, args), None, COMMAND_TIMEOUT)
}

/// Runs `script` with `args` and `input` on stdin; not asserted.
pub fn py_stdin<I, S>(script: &str, args: I, input: &[u8]) -> CliOutput
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run_with(command(script, args), Some(input), COMMAND_TIMEOUT)
}

/// Runs `script`, fails the test if it fails, returns its stdout.
#[track_caller]
pub fn py_ok<I, S>(script: &str, args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    py(script, args).assert_ok().stdout.clone()
}

/// Creates the containers (names one per line on stdin, one Python process for all of them, so
/// thousands are fine).
pub fn create_containers(names: &[String]) {
    let input = names.join("\n");
    py_stdin(
        r#"
svc = service()
for name in sys.stdin.read().split():
    svc.create_container(name)
"#,
        [] as [&str; 0],
        input.as_bytes(),
    )
    .assert_ok();
}

/// Names of all containers, listed with the account key.
pub fn list_containers() -> Vec<String> {
    lines(&py_ok(
        "for c in service().list_containers():\n    print(c.name)",
        [] as [&str; 0],
    ))
}

/// Names of all containers, listed by the SDK with `sas_token` as its only credential (a
/// leading `?` is allowed). Fails the test if the SDK or Azurite rejects the token.
pub fn list_containers_via_sdk(sas_token: &str) -> Vec<String> {
    lines(&py_ok(
        r#"
token = sys.argv[1].lstrip("?")
for c in service(token).list_containers():
    print(c.name)
"#,
        [sas_token],
    ))
}

/// An account SAS signed by the SDK with the account key: for comparing with ours and for
/// giving tests a token that does not depend on our signer. `expiry_in_secs` may be negative
/// (an expired token).
pub fn sdk_account_sas(
    services: &str,
    resource_types: &str,
    permissions: &str,
    expiry_in_secs: i64,
) -> String {
    py_ok(
        r#"
from azure.storage.blob import generate_account_sas
services, resource_types, permissions, secs = sys.argv[1:]
print(generate_account_sas(
    ACCOUNT, KEY,
    resource_types=resource_types,
    permission=permissions,
    expiry=datetime.now(timezone.utc) + timedelta(seconds=int(secs)),
    services=services,
))
"#,
        [
            services,
            resource_types,
            permissions,
            &expiry_in_secs.to_string(),
        ],
    )
    .trim()
    .to_owned()
}

/// A container (service) SAS signed by the SDK: what a user pastes by mistake.
pub fn sdk_container_sas(container: &str, permissions: &str, expiry_in_secs: i64) -> String {
    py_ok(
        r#"
from azure.storage.blob import generate_container_sas
container, permissions, secs = sys.argv[1:]
print(generate_container_sas(
    ACCOUNT, container, account_key=KEY,
    permission=permissions,
    expiry=datetime.now(timezone.utc) + timedelta(seconds=int(secs)),
))
"#,
        [container, permissions, &expiry_in_secs.to_string()],
    )
    .trim()
    .to_owned()
}

/// Uploads `data` as a block blob (replacing it), with the account key.
pub fn upload_blob(container: &str, blob: &str, data: &[u8]) {
    py_stdin(
        r#"
container, blob = sys.argv[1:]
service().get_blob_client(container, blob).upload_blob(sys.stdin.buffer.read(), overwrite=True)
"#,
        [container, blob],
        data,
    )
    .assert_ok();
}

/// The bytes of a blob exactly as stored, downloaded with the account key.
pub fn download_blob(container: &str, blob: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("blob");
    py(
        r#"
container, blob, path = sys.argv[1:]
with open(path, "wb") as f:
    # decompress=False: the stored bytes, not what Content-Encoding says they decode to.
    service().get_blob_client(container, blob).download_blob(decompress=False).readinto(f)
"#,
        [OsStr::new(container), OsStr::new(blob), file.as_os_str()],
    )
    .assert_ok();
    std::fs::read(&file).expect("read downloaded blob")
}

/// Names of the blobs in a container.
pub fn list_blobs(container: &str) -> Vec<String> {
    lines(&py_ok(
        r#"
for b in service().get_container_client(sys.argv[1]).list_blobs():
    print(b.name)
"#,
        [container],
    ))
}

/// A blob's properties as JSON: `size`, `etag`, `content_type`, `content_encoding`,
/// `content_md5` (base64, or null), `blob_type`, `metadata`.
pub fn blob_properties(container: &str, blob: &str) -> serde_json::Value {
    let out = py_ok(
        r#"
import base64
container, blob = sys.argv[1:]
p = service().get_blob_client(container, blob).get_blob_properties()
md5 = p.content_settings.content_md5
print(json.dumps({
    "size": p.size,
    "etag": p.etag,
    "content_type": p.content_settings.content_type,
    "content_encoding": p.content_settings.content_encoding,
    "content_md5": base64.b64encode(md5).decode() if md5 else None,
    "blob_type": str(p.blob_type.value if hasattr(p.blob_type, "value") else p.blob_type),
    "metadata": p.metadata,
}))
"#,
        [container, blob],
    );
    serde_json::from_str(&out).expect("blob_properties: JSON from Python")
}

fn lines(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}
