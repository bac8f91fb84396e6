//! Test harness shared by the integration tests: a real Azurite (`azurite`), an independent
//! checker built on Microsoft's Python SDK (`python`), and helpers to run the `writeback` binary
//! in a throw-away home and assert on what it did.
//!
//! Setup: `scripts/test` (or `scripts/setup`) installs Azurite into `node_modules/` and the
//! Python SDK into `.venv/`; then plain `cargo test` works. Tests of one binary run as threads
//! of one process and share one Azurite: give every container a `unique_name`.

// Not every test module uses every helper.
#![allow(dead_code)]

pub mod azurite;
pub mod fixture;
pub mod proxy;
pub mod python;

use std::ffi::OsStr;
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[allow(unused_imports)] // re-exported for the test modules
pub use azurite::{ACCOUNT, ACCOUNT_KEY, Azurite, azurite};
#[allow(unused_imports)] // re-exported for the test modules
pub use fixture::Fixture;

/// Longest any single command may run before the harness kills it and fails the test. A safety
/// net against hangs, not a performance budget.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

// ---------------------------------------------------------------------------------------------
// Running the CLI
// ---------------------------------------------------------------------------------------------

/// A `writeback` command whose state lives in `home`, with a clean, deterministic environment:
/// `WRITEBACK_HOME=home`, `WRITEBACK_USER=tester`, `NO_COLOR=1`, no `RUST_LOG`, no other
/// `WRITEBACK_*` variable from the caller's environment, XDG directories inside `home` (so even
/// a fallback to the default location stays in the sandbox), proxies bypassed for loopback,
/// and stdin closed.
pub fn writeback(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_writeback"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("WRITEBACK_") {
            cmd.env_remove(&key);
        }
    }
    cmd.env("WRITEBACK_HOME", home)
        .env("WRITEBACK_USER", "tester")
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .env("XDG_DATA_HOME", home.join("xdg/data"))
        .env("XDG_CONFIG_HOME", home.join("xdg/config"))
        .env("XDG_CACHE_HOME", home.join("xdg/cache"))
        .env("XDG_STATE_HOME", home.join("xdg/state"))
        .env("NO_PROXY", "127.0.0.1,localhost,::1")
        .env("no_proxy", "127.0.0.1,localhost,::1")
        .stdin(Stdio::null());
    cmd
}

/// A fresh, empty `WRITEBACK_HOME`, deleted when dropped. Each test makes its own.
pub struct TestHome {
    dir: tempfile::TempDir,
}

impl Default for TestHome {
    fn default() -> Self {
        Self::new()
    }
}

impl TestHome {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("writeback-home-")
            .tempdir()
            .expect("create a temporary WRITEBACK_HOME");
        TestHome { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A `writeback` command in this home (see [`writeback`]); add args, env, stdin, then [`run`].
    pub fn writeback(&self) -> Command {
        writeback(self.path())
    }

    /// Runs `writeback ARGS...` in this home and returns what it did.
    pub fn cmd<I, S>(&self, args: I) -> CliOutput
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.writeback();
        cmd.args(args);
        run(cmd)
    }

    /// Like [`TestHome::cmd`], with `input` on stdin.
    pub fn cmd_stdin<I, S>(&self, args: I, input: &str) -> CliOutput
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.writeback();
        cmd.args(args);
        run_with(cmd, Some(input.as_bytes()), COMMAND_TIMEOUT)
    }

    /// Like [`TestHome::cmd`], with extra environment variables.
    pub fn cmd_env<I, S>(&self, args: I, envs: &[(&str, &str)]) -> CliOutput
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.writeback();
        cmd.args(args);
        cmd.envs(envs.iter().copied());
        run(cmd)
    }

    /// `writeback account add NAME --storage-account devstoreaccount1 --sas-token TOKEN
    /// --endpoint <this binary's Azurite>`; not asserted, so tests can check failures too.
    pub fn add_azurite_account(&self, name: &str, sas_token: &str) -> CliOutput {
        self.cmd([
            "account",
            "add",
            name,
            "--storage-account",
            ACCOUNT,
            "--sas-token",
            sas_token,
            "--endpoint",
            &azurite().blob_endpoint,
        ])
    }

    /// Every regular file under the home, recursively.
    pub fn files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                match entry.file_type() {
                    Ok(t) if t.is_dir() => walk(&path, out),
                    Ok(t) if t.is_file() => out.push(path),
                    _ => {}
                }
            }
        }
        let mut out = Vec::new();
        walk(self.path(), &mut out);
        out.sort();
        out
    }

    /// The files under the home whose bytes contain `needle` (e.g. a SAS signature that must
    /// only be stored encrypted).
    pub fn files_containing(&self, needle: &[u8]) -> Vec<PathBuf> {
        assert!(!needle.is_empty(), "files_containing: empty needle");
        self.files()
            .into_iter()
            .filter(|path| {
                std::fs::read(path)
                    .is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
            })
            .collect()
    }
}

/// What a command did: exit code, both streams, and how long it took.
#[derive(Debug, Clone)]
pub struct CliOutput {
    /// The command line, for messages.
    pub cmdline: String,
    /// Exit code; `None` if the process was killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl CliOutput {
    fn fail(&self, what: &str) -> ! {
        panic!(
            "{what}\ncommand: {}\nexit code: {:?} after {:.2?}\n--- stdout ---\n{}\n--- stderr ---\n{}\n--- end ---",
            self.cmdline, self.code, self.elapsed, self.stdout, self.stderr
        )
    }

    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    #[track_caller]
    pub fn assert_ok(&self) -> &Self {
        if !self.success() {
            self.fail("expected exit code 0");
        }
        self
    }

    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        if self.code != Some(code) {
            self.fail(&format!("expected exit code {code}"));
        }
        self
    }

    #[track_caller]
    pub fn assert_stdout_contains(&self, needle: &str) -> &Self {
        if !self.stdout.contains(needle) {
            self.fail(&format!("expected stdout to contain {needle:?}"));
        }
        self
    }

    #[track_caller]
    pub fn assert_stderr_contains(&self, needle: &str) -> &Self {
        if !self.stderr.contains(needle) {
            self.fail(&format!("expected stderr to contain {needle:?}"));
        }
        self
    }

    #[track_caller]
    pub fn assert_stdout_not_contains(&self, needle: &str) -> &Self {
        if self.stdout.contains(needle) {
            self.fail(&format!("expected stdout NOT to contain {needle:?}"));
        }
        self
    }

    #[track_caller]
    pub fn assert_stderr_not_contains(&self, needle: &str) -> &Self {
        if self.stderr.contains(needle) {
            self.fail(&format!("expected stderr NOT to contain {needle:?}"));
        }
        self
    }

    /// Neither stream contains `needle` (e.g. a secret).
    #[track_caller]
    pub fn assert_not_printed(&self, needle: &str) -> &Self {
        self.assert_stdout_not_contains(needle)
            .assert_stderr_not_contains(needle)
    }

    /// stdout parsed as JSON (for `--json`).
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| self.fail(&format!("stdout is not JSON: {e}")))
    }

    /// stdout without surrounding whitespace (e.g. the token `sas create` prints).
    pub fn stdout_trimmed(&self) -> &str {
        self.stdout.trim()
    }
}

/// Runs `cmd` to completion (stdin closed unless set, both streams captured) and kills it,
/// failing the test, if it takes longer than [`COMMAND_TIMEOUT`].
pub fn run(cmd: Command) -> CliOutput {
    run_with(cmd, None, COMMAND_TIMEOUT)
}

/// Runs `cmd` with `stdin` as its standard input (if given) and a time limit.
pub fn run_with(mut cmd: Command, stdin: Option<&[u8]>, timeout: Duration) -> CliOutput {
    let cmdline = describe(&cmd);
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmdline}: {e}"));
    let writer = stdin.map(|input| {
        let mut pipe = child.stdin.take().expect("stdin pipe");
        let input = input.to_vec();
        // A command that exits without reading its input closes the pipe: ignore that error.
        thread::spawn(move || {
            let _ = pipe.write_all(&input);
        })
    });
    let stdout = read_in_background(child.stdout.take().expect("stdout pipe"));
    let stderr = read_in_background(child.stderr.take().expect("stderr pipe"));
    let (status, timed_out) = loop {
        if let Some(status) = child.try_wait().expect("wait for command") {
            break (status, false);
        }
        if started.elapsed() >= timeout {
            let _ = child.kill();
            break (child.wait().expect("wait for killed command"), true);
        }
        thread::sleep(Duration::from_millis(5));
    };
    let elapsed = started.elapsed();
    if let Some(writer) = writer {
        let _ = writer.join();
    }
    let output = CliOutput {
        cmdline,
        code: status.code(),
        stdout: String::from_utf8_lossy(&stdout.join().expect("stdout reader")).into_owned(),
        stderr: String::from_utf8_lossy(&stderr.join().expect("stderr reader")).into_owned(),
        elapsed,
    };
    if timed_out {
        output.fail(&format!(
            "command did not finish within {timeout:?}; killed"
        ));
    }
    output
}

fn read_in_background(mut pipe: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

fn describe(cmd: &Command) -> String {
    let program = cmd.get_program().to_string_lossy();
    let program = program.rsplit('/').next().unwrap_or(&program).to_owned();
    std::iter::once(program)
        .chain(cmd.get_args().map(|a| {
            let a = a.to_string_lossy();
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@%+".contains(c))
            {
                a.into_owned()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        }))
        .collect::<Vec<_>>()
        .join(" ")
}

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

/// A container name no other test in this run uses: `PREFIX-<pid+time>-<counter>`, lowercase,
/// 3–63 characters, letters, digits and single hyphens, as Azure requires. The prefix is cleaned
/// up (lowercased, other characters become hyphens) and shortened as needed.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    // pid and a coarse clock keep names apart across processes and across runs against a
    // long-lived emulator; the counter keeps them apart within the process.
    let suffix = format!(
        "{}{}-{}",
        base36(u128::from(std::process::id())),
        base36(nanos / 1_000_000 % 36u128.pow(5)),
        base36(u128::from(n))
    );
    let mut clean = String::new();
    for c in prefix.chars().flat_map(char::to_lowercase) {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() {
            c
        } else {
            '-'
        };
        if !(c == '-' && (clean.is_empty() || clean.ends_with('-'))) {
            clean.push(c);
        }
    }
    clean.truncate(63 - 1 - suffix.len());
    while clean.ends_with('-') {
        clean.pop();
    }
    if clean.is_empty() {
        clean.push('t');
    }
    let name = format!("{clean}-{suffix}");
    debug_assert!(is_valid_container_name(&name), "{name}");
    name
}

/// Azure's rule for container names: 3–63 characters; lowercase letters, digits and hyphens;
/// starts and ends with a letter or digit; no two hyphens in a row.
pub fn is_valid_container_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--")
}

fn base36(mut n: u128) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Endpoints that misbehave
// ---------------------------------------------------------------------------------------------

/// A server that accepts TCP connections and never answers; for testing bounded time-outs.
/// Connections stay open until the handle is dropped.
pub struct Blackhole {
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl Blackhole {
    /// How many connections it has accepted so far.
    pub fn connections(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Blackhole {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Starts a [`Blackhole`] on 127.0.0.1 and returns its base URL `http://127.0.0.1:PORT` (append
/// `/devstoreaccount1` for an endpoint) and the handle that keeps it running.
pub fn blackhole() -> (String, Blackhole) {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind blackhole");
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let accepted = Arc::new(AtomicUsize::new(0));
    let thread = {
        let (stop, accepted) = (Arc::clone(&stop), Arc::clone(&accepted));
        thread::Builder::new()
            .name("blackhole".into())
            .spawn(move || {
                let mut held: Vec<TcpStream> = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            held.push(stream);
                            accepted.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {
                            thread::sleep(Duration::from_millis(10));
                        }
                        Err(_) => thread::sleep(Duration::from_millis(10)),
                    }
                }
            })
            .expect("spawn blackhole thread")
    };
    (
        format!("http://127.0.0.1:{port}"),
        Blackhole {
            stop,
            accepted,
            thread: Some(thread),
        },
    )
}

/// A base URL `http://127.0.0.1:PORT` where every connection is refused at once.
///
/// The port is held for the rest of the process by a socket that is bound but never listens:
/// the kernel answers connections to it with a reset, and nobody else can bind it meanwhile.
pub fn refused_endpoint() -> String {
    static HELD: Mutex<Vec<OwnedFd>> = Mutex::new(Vec::new());
    // SAFETY: plain socket syscalls on a descriptor we own; the sockaddr structs are fully
    // initialised and their sizes passed correctly.
    let port = unsafe {
        let raw = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(raw >= 0, "socket: {}", std::io::Error::last_os_error());
        let fd = OwnedFd::from_raw_fd(raw);
        let mut addr: libc::sockaddr_in = std::mem::zeroed();
        addr.sin_family = libc::AF_INET as libc::sa_family_t;
        addr.sin_addr.s_addr = u32::from(Ipv4Addr::LOCALHOST).to_be();
        addr.sin_port = 0;
        let mut len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let rc = libc::bind(
            fd.as_raw_fd(),
            (&raw const addr).cast::<libc::sockaddr>(),
            len,
        );
        assert!(rc == 0, "bind: {}", std::io::Error::last_os_error());
        let rc = libc::getsockname(
            fd.as_raw_fd(),
            (&raw mut addr).cast::<libc::sockaddr>(),
            &mut len,
        );
        assert!(rc == 0, "getsockname: {}", std::io::Error::last_os_error());
        HELD.lock().unwrap().push(fd);
        u16::from_be(addr.sin_port)
    };
    format!("http://127.0.0.1:{port}")
}

// ---------------------------------------------------------------------------------------------
// Containers, without our CLI
// ---------------------------------------------------------------------------------------------

/// Creates a container in this binary's Azurite with Microsoft's SDK and the account key.
pub fn create_container(name: &str) {
    python::create_containers(&[name.to_owned()]);
}

/// Every container in this binary's Azurite, listed with Microsoft's SDK and the account key.
pub fn list_container_names() -> Vec<String> {
    python::list_containers()
}
