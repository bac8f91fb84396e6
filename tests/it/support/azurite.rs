//! One real Azurite blob service per test binary.
//!
//! `azurite()` starts Microsoft's emulator the first time a test asks for it and hands every
//! later caller the same instance: `cargo test` runs the tests of one binary as threads of one
//! process, so they all share it, and each test keeps out of the others' way by using its own
//! container names (`support::unique_name`).
//!
//! The executable is the one `npm ci` installed from the repository's `package.json`
//! (`node_modules/.bin/azurite-blob`, pinned to 3.35.0, the last release that runs on Node 20).
//! It listens on a port picked by binding port 0 on 127.0.0.1, never on the default 10000, so
//! several test binaries, a developer's own Azurite and `scripts/demo` can all run at once.
//!
//! # Stopping it
//!
//! A `static` is never dropped, so no destructor can stop the emulator when the test binary
//! ends, and the binary may also be killed (`kill -9`, a CI time-out, Ctrl-C). Instead:
//!
//! - The child is spawned with `PR_SET_PDEATHSIG(SIGKILL)` set in `pre_exec`: the kernel kills it
//!   as soon as its parent goes away, however the parent ends. The "parent" the kernel watches is
//!   the *thread* that forked the child, not the process: had a short-lived test thread spawned
//!   Azurite, the emulator would be killed the moment that test finished. So the child is spawned
//!   from a dedicated thread (`azurite-owner`) that lives as long as the process: it waits on the
//!   child and only returns once the child is gone.
//! - The child runs in its own process group (its pid is the group id). Signals aimed at the
//!   test run's group (Ctrl-C in a terminal, a runner killing the group) then reach the test
//!   binary, not the emulator behind its back, so its lifetime is governed by the death signal
//!   alone; and the emulator together with anything node may spawn can be stopped as one unit
//!   with `kill -- -PID` without touching the tests.
//! - Between `fork` and `prctl` the parent could already have died, in which case no signal
//!   would ever come: the child checks `getppid()` after `prctl` and exits if so.
//!
//! `node_modules/.bin/azurite-blob` is a `#!/usr/bin/env node` script, so the child *is* the
//! `node` process (env execs it in place) and the death signal reaches the emulator itself.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::thread;
use std::time::{Duration, Instant};

/// Azurite's well-known development account.
pub const ACCOUNT: &str = "devstoreaccount1";

/// Azurite's well-known development account key. Public and documented by Microsoft; it opens
/// nothing but a local emulator.
pub const ACCOUNT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// How long Azurite may take to answer its first request (it usually needs about a second).
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// How many free ports to try when another process takes the port between our probe and
/// Azurite's own bind.
const BIND_ATTEMPTS: usize = 5;

/// How much of Azurite's stdout and stderr to keep for error messages.
const OUTPUT_KEEP: usize = 64 * 1024;

/// A running Azurite blob service.
#[derive(Debug)]
pub struct Azurite {
    /// The port the blob service listens on, on 127.0.0.1.
    pub port: u16,
    /// Path-style endpoint of the well-known account: `http://127.0.0.1:PORT/devstoreaccount1`.
    pub blob_endpoint: String,
    /// Process id of the `node` process (also its process group id).
    pub pid: u32,
    output: Arc<Mutex<Vec<u8>>>,
}

impl Azurite {
    /// Everything Azurite has printed so far (stdout and stderr interleaved); for diagnostics.
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned()
    }

    /// A connection string for the well-known account, as Microsoft's SDKs and tools take it.
    pub fn connection_string(&self) -> String {
        format!(
            "DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};BlobEndpoint={};",
            self.blob_endpoint
        )
    }
}

/// The Azurite of this test binary, started on first use.
///
/// Panics (in every test that asks, without retrying) if it cannot be started.
pub fn azurite() -> &'static Azurite {
    static AZURITE: OnceLock<Result<Azurite, String>> = OnceLock::new();
    match AZURITE.get_or_init(start) {
        Ok(azurite) => azurite,
        Err(message) => panic!("{message}"),
    }
}

/// Path of the Azurite blob executable installed by `npm ci`.
pub fn azurite_blob_bin() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("node_modules/.bin/azurite-blob")
}

fn start() -> Result<Azurite, String> {
    let bin = azurite_blob_bin();
    if !bin.exists() {
        return Err(format!(
            "Azurite is not installed ({} is missing): run `npm ci` first (scripts/test does it)",
            bin.display()
        ));
    }
    let (tx, rx) = mpsc::channel();
    thread::Builder::new()
        .name("azurite-owner".into())
        .spawn(move || own_azurite(&bin, &tx))
        .map_err(|e| format!("cannot spawn the azurite-owner thread: {e}"))?;
    rx.recv()
        .unwrap_or_else(|_| Err("the azurite-owner thread died before Azurite was ready".into()))
}

/// Body of the `azurite-owner` thread: starts Azurite, reports it, then keeps the thread (the
/// child's "parent" for `PR_SET_PDEATHSIG`) alive for as long as the child lives.
fn own_azurite(bin: &Path, tx: &mpsc::Sender<Result<Azurite, String>>) {
    let mut failures = Vec::new();
    for attempt in 1..=BIND_ATTEMPTS {
        let port = match free_port() {
            Ok(port) => port,
            Err(e) => {
                let _ = tx.send(Err(format!("cannot find a free port on 127.0.0.1: {e}")));
                return;
            }
        };
        let (mut child, output) = match spawn(bin, port) {
            Ok(spawned) => spawned,
            Err(e) => {
                let _ = tx.send(Err(format!("cannot start {}: {e}", bin.display())));
                return;
            }
        };
        let pid = child.id();
        match wait_until_ready(&mut child, port, &output) {
            Ready::Yes => {
                let azurite = Azurite {
                    port,
                    blob_endpoint: format!("http://127.0.0.1:{port}/{ACCOUNT}"),
                    pid,
                    output: Arc::clone(&output),
                };
                if tx.send(Ok(azurite)).is_err() {
                    return; // nobody is waiting: the child dies with this thread
                }
                // Keep this thread, and with it the death signal's trigger, alive as long as
                // the emulator runs. When the test binary exits, the kernel kills both.
                let status = child.wait();
                eprintln!(
                    "warning: Azurite (pid {pid}, port {port}) exited while the tests were running: \
                     {status:?}\n--- Azurite output ---\n{}",
                    lossy(&output)
                );
                return;
            }
            Ready::PortTaken(status) => {
                failures.push(format!(
                    "attempt {attempt}: port {port} was taken ({status})\n{}",
                    lossy(&output)
                ));
            }
            Ready::Exited(status) => {
                let _ = tx.send(Err(format!(
                    "Azurite ({}) exited with {status} before it was ready on port {port}\n\
                     --- Azurite output ---\n{}",
                    bin.display(),
                    lossy(&output)
                )));
                return;
            }
            Ready::TimedOut => {
                let _ = child.kill();
                let _ = child.wait();
                let _ = tx.send(Err(format!(
                    "Azurite ({}) did not answer on port {port} within {READY_TIMEOUT:?}\n\
                     --- Azurite output ---\n{}",
                    bin.display(),
                    lossy(&output)
                )));
                return;
            }
        }
    }
    let _ = tx.send(Err(format!(
        "Azurite could not bind a free port in {BIND_ATTEMPTS} attempts:\n{}",
        failures.join("\n")
    )));
}

/// A port that was free a moment ago: bind port 0 and let the listener go. Another process can
/// take it before Azurite binds it; `own_azurite` then tries another one.
fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

fn spawn(bin: &Path, port: u16) -> io::Result<(Child, Arc<Mutex<Vec<u8>>>)> {
    let mut cmd = Command::new(bin);
    cmd.args(["--blobHost", "127.0.0.1", "--blobPort"])
        .arg(port.to_string())
        // No `--location`: Azurite refuses it together with `--inMemoryPersistence`, and keeps
        // nothing on disk in that mode. Its working directory is the test scratch space anyway.
        .args([
            "--inMemoryPersistence",
            "--disableTelemetry",
            "--skipApiVersionCheck",
            "--silent",
        ])
        .current_dir(env!("CARGO_TARGET_TMPDIR"))
        // AZURITE_ACCOUNTS would replace the well-known account the tests rely on.
        .env_remove("AZURITE_ACCOUNTS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs in the forked child before exec and calls only async-signal-safe
    // functions (prctl, getppid, _exit); it allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                return Err(io::Error::last_os_error());
            }
            if libc::getppid() != parent {
                // The test binary died before the death signal was armed.
                libc::_exit(1);
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn()?;
    let output = Arc::new(Mutex::new(Vec::new()));
    if let Some(stdout) = child.stdout.take() {
        drain(stdout, Arc::clone(&output));
    }
    if let Some(stderr) = child.stderr.take() {
        drain(stderr, Arc::clone(&output));
    }
    Ok((child, output))
}

/// Copies a pipe into `sink` until it closes, keeping the last `OUTPUT_KEEP` bytes, so Azurite
/// never blocks on a full pipe.
fn drain(mut pipe: impl Read + Send + 'static, sink: Arc<Mutex<Vec<u8>>>) {
    thread::Builder::new()
        .name("azurite-output".into())
        .spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n @ 1..) = pipe.read(&mut buf) {
                let mut sink = sink.lock().unwrap();
                sink.extend_from_slice(&buf[..n]);
                if sink.len() > OUTPUT_KEEP {
                    let excess = sink.len() - OUTPUT_KEEP;
                    sink.drain(..excess);
                }
            }
        })
        .expect("spawn azurite-output thread");
}

fn lossy(output: &Mutex<Vec<u8>>) -> String {
    String::from_utf8_lossy(&output.lock().unwrap()).into_owned()
}

enum Ready {
    Yes,
    PortTaken(ExitStatus),
    Exited(ExitStatus),
    TimedOut,
}

fn wait_until_ready(child: &mut Child, port: u16, output: &Mutex<Vec<u8>>) -> Ready {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            // Give the drain threads a moment to collect the last words.
            thread::sleep(Duration::from_millis(100));
            return if lossy(output).contains("EADDRINUSE") {
                Ready::PortTaken(status)
            } else {
                Ready::Exited(status)
            };
        }
        // Something answers like Azurite *and* the listening socket is our child's: another
        // test binary's Azurite that grabbed the same port must not be mistaken for ours.
        if answers_like_azurite(port) && listens_on(child.id(), port) {
            return Ready::Yes;
        }
        if Instant::now() >= deadline {
            return Ready::TimedOut;
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// Sends an unauthenticated List Containers and checks that an Azurite blob service answers
/// (with a 403, since the request is not signed).
fn answers_like_azurite(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let request = format!(
        "GET /{ACCOUNT}?comp=list HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    head.starts_with("http/1.1 ") && head.contains("\r\nserver: azurite-blob/")
}

/// Whether process `pid` owns the socket listening on 127.0.0.1:`port` (Linux `/proc`).
fn listens_on(pid: u32, port: u16) -> bool {
    let Ok(table) = std::fs::read_to_string("/proc/net/tcp") else {
        return false;
    };
    let local = format!("0100007F:{port:04X}");
    let inodes: Vec<&str> = table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // local_address, state 0A = LISTEN, inode
            (fields.len() > 9 && fields[1] == local && fields[3] == "0A").then(|| fields[9])
        })
        .collect();
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten().any(|fd| {
        std::fs::read_link(fd.path()).is_ok_and(|target| {
            let target = target.to_string_lossy();
            inodes
                .iter()
                .any(|inode| target == format!("socket:[{inode}]"))
        })
    })
}
