//! A fault-injecting HTTP/1.1 reverse proxy in front of this test binary's Azurite.
//!
//! Tests point a client (our CLI, Microsoft's Python SDK) at [`Proxy::endpoint`] instead of
//! Azurite's, queue [`Rule`]s, and then check what the client did and what the proxy saw
//! ([`Proxy::requests`]). Everything that no rule claims is forwarded unchanged, so the client
//! still gets real Azure semantics (authorization, block lists, ETags) from the emulator.
//!
//! ```ignore
//! let proxy = Proxy::start();
//! proxy.push(Rule::times(Match::any(), Fault::server_busy(1), 2));
//! // ... run the client against proxy.endpoint ...
//! assert_eq!(proxy.requests()[0].status, Some(503));
//! ```
//!
//! # How it works
//!
//! Plain std threads and blocking sockets: one thread accepts, one thread serves each client
//! connection, for as many requests as the client sends on it (keep-alive), and keeps its own
//! upstream connection to Azurite, reused while it is fresh. Request and response bodies are
//! streamed through a 64 KiB buffer whatever their size, framed by `Content-Length` or
//! `Transfer-Encoding: chunked` (chunked bodies are relayed as they are, chunk lines included).
//! The request head goes upstream byte for byte as the client sent it (the `Host` header too;
//! Azurite does not care), with one exception: `Expect: 100-continue` is answered by the proxy
//! itself and not forwarded.
//!
//! # Rules
//!
//! [`Proxy::push`] appends a rule. Each arriving request takes the oldest pending rule that
//! [matches](Match) it; a rule is used `times` times and then dropped. A request no rule
//! matches is forwarded as is.
//!
//! # Stopping
//!
//! Dropping the [`Proxy`] stops accepting, shuts every client and upstream socket down (which
//! also ends hanging and delayed requests) and joins every thread.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::{ACCOUNT, CliOutput, azurite, python};

/// Size of the relay buffer: bodies move through it, never whole.
const BUF_SIZE: usize = 64 * 1024;
/// Longest request or response head (request line or status line plus headers) accepted.
const MAX_HEAD: u64 = 64 * 1024;
/// An upstream connection idle longer than this is not reused: Node's HTTP server (Azurite)
/// closes idle keep-alive connections after 5 s, and a request written into a connection the
/// server is closing would be lost.
const UPSTREAM_IDLE: Duration = Duration::from_secs(2);
/// Longest wait for Azurite to accept a connection.
const UPSTREAM_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for Azurite to answer; a safety net, not a fault.
const UPSTREAM_READ_TIMEOUT: Duration = Duration::from_secs(120);
/// With [`Fault::ResetMidBody`] on a chunked body (whose length is unknown), how many bytes of
/// data go through before the reset.
const RESET_AFTER_CHUNKED: u64 = 16 * 1024;

/// What the proxy does to a request a [`Rule`] claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with an Azure-style error and do not forward: status line with Azure's message as
    /// reason phrase, `x-ms-error-code`, `x-ms-request-id`, `x-ms-version`, `Date`, `Server`,
    /// `Retry-After` (seconds) when given, and the XML body Azure sends (UTF-8 BOM,
    /// `<?xml version="1.0" encoding="utf-8"?><Error><Code>..</Code><Message>..</Message></Error>`,
    /// the message ending with `RequestId:` and `Time:` lines). The request body is read and
    /// discarded first, so the connection stays usable (keep-alive), as with Azure.
    Status {
        status: u16,
        code: &'static str,
        retry_after: Option<u32>,
    },
    /// Wait this long (after reading the request head), then forward.
    Delay(Duration),
    /// Break the connection with a TCP reset (`SO_LINGER` 0) halfway through a body:
    /// - a request with a body: the head and half of the body (of a chunked body, the first
    ///   16 KiB, or all of a shorter one) are forwarded, then both the client's and the upstream
    ///   connection are reset, so Azurite sees an aborted request and the client an error while
    ///   sending or waiting;
    /// - a request without a body (GET, DELETE, ...): it is forwarded, Azurite's status line,
    ///   headers and half of its body reach the client, then the client's connection is reset;
    ///   if the answer has no body, the reset comes before anything of it is relayed (the
    ///   operation happened, the client never hears of it).
    ResetMidBody,
    /// Read the whole request, then close the connection (FIN) without answering.
    DropConnection,
    /// Accept the request and never answer: read and discard whatever the client sends until it
    /// gives up and closes the connection (or the proxy is dropped).
    Hang,
}

impl Fault {
    /// `503 ServerBusy` with `Retry-After: SECS`, as Azure throttles.
    pub fn server_busy(retry_after: u32) -> Fault {
        Fault::Status {
            status: 503,
            code: "ServerBusy",
            retry_after: Some(retry_after),
        }
    }

    /// `500 InternalError`.
    pub fn internal_error() -> Fault {
        Fault::Status {
            status: 500,
            code: "InternalError",
            retry_after: None,
        }
    }

    /// `403 AuthorizationFailure`, as Azure answers a token that may not do this.
    pub fn forbidden() -> Fault {
        Fault::Status {
            status: 403,
            code: "AuthorizationFailure",
            retry_after: None,
        }
    }
}

/// Which requests a [`Rule`] applies to: every condition set must hold. Built from
/// [`Match::any`] with the builder methods, or from one of the shortcuts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Match {
    method: Option<String>,
    params: Vec<(String, String)>,
    absent_params: Vec<String>,
    path_contains: Option<String>,
}

impl Match {
    /// Every request.
    pub fn any() -> Match {
        Match::default()
    }

    /// Only requests with this method (`GET`, `PUT`, ..., case-insensitive).
    pub fn method(mut self, method: &str) -> Match {
        self.method = Some(method.to_ascii_uppercase());
        self
    }

    /// Only requests whose query has parameter `key` with exactly `value` (as sent, i.e.
    /// percent-encoded): `param("comp", "block")` matches Put Block but not Put Block List.
    pub fn param(mut self, key: &str, value: &str) -> Match {
        self.params.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Only requests whose query has no parameter `key`.
    pub fn without_param(mut self, key: &str) -> Match {
        self.absent_params.push(key.to_owned());
        self
    }

    /// Only requests whose path (before `?`, as sent, i.e. percent-encoded) contains `needle`.
    pub fn path_contains(mut self, needle: &str) -> Match {
        self.path_contains = Some(needle.to_owned());
        self
    }

    /// List Containers: `GET /account?comp=list` (no `restype`).
    pub fn list_containers() -> Match {
        Match::any()
            .method("GET")
            .param("comp", "list")
            .without_param("restype")
    }

    /// Put Block: `PUT ...?comp=block&blockid=...`.
    pub fn put_block() -> Match {
        Match::any().method("PUT").param("comp", "block")
    }

    /// Put Block List: `PUT ...?comp=blocklist`.
    pub fn put_block_list() -> Match {
        Match::any().method("PUT").param("comp", "blocklist")
    }

    /// Any request whose path contains `name` (a container or blob name, percent-encoded as
    /// the client sends it).
    pub fn blob(name: &str) -> Match {
        Match::any().path_contains(name)
    }

    /// Whether a request with this method and target (path and query) matches.
    pub fn matches(&self, method: &str, target: &str) -> bool {
        if self
            .method
            .as_deref()
            .is_some_and(|m| !m.eq_ignore_ascii_case(method))
        {
            return false;
        }
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        if self
            .path_contains
            .as_deref()
            .is_some_and(|needle| !path.contains(needle))
        {
            return false;
        }
        let pairs: Vec<(&str, &str)> = query
            .split('&')
            .filter(|kv| !kv.is_empty())
            .map(|kv| kv.split_once('=').unwrap_or((kv, "")))
            .collect();
        self.params
            .iter()
            .all(|(k, v)| pairs.iter().any(|(pk, pv)| pk == k && pv == v))
            && self
                .absent_params
                .iter()
                .all(|k| pairs.iter().all(|(pk, _)| pk != k))
    }
}

/// A fault for the next `times` requests that match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub matches: Match,
    pub fault: Fault,
    pub times: usize,
}

impl Rule {
    /// `fault` for the next matching request.
    pub fn once(matches: Match, fault: Fault) -> Rule {
        Rule::times(matches, fault, 1)
    }

    /// `fault` for the next `times` matching requests.
    pub fn times(matches: Match, fault: Fault, times: usize) -> Rule {
        Rule {
            matches,
            fault,
            times,
        }
    }
}

/// One request as the proxy saw it, in arrival order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// `GET`, `PUT`, ...
    pub method: String,
    /// Path and query as sent, with the value of `sig` replaced by `REDACTED`.
    pub target: String,
    /// The status the client got (Azurite's or an injected one); `None` when it got none
    /// (dropped, reset before the answer, hanging, or still in flight).
    pub status: Option<u16>,
    /// The fault injected, if a rule claimed the request.
    pub fault: Option<Fault>,
    /// Bytes of request body read from the client (chunk framing not counted).
    pub body_bytes: u64,
    /// Which client connection carried it (numbered from 0 in accept order): requests on one
    /// keep-alive connection share the number.
    pub connection: u64,
}

impl Seen {
    /// Whether a fault was injected into this request.
    pub fn injected(&self) -> bool {
        self.fault.is_some()
    }

    /// Whether `Match` would have matched this request (`sig` is redacted, so do not match
    /// on it).
    pub fn is(&self, m: &Match) -> bool {
        m.matches(&self.method, &self.target)
    }
}

/// A running proxy; stops when dropped.
pub struct Proxy {
    /// Path-style endpoint of the well-known account through the proxy:
    /// `http://127.0.0.1:PORT/devstoreaccount1`.
    pub endpoint: String,
    /// The port the proxy listens on, on 127.0.0.1.
    pub port: u16,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("endpoint", &self.endpoint)
            .field("upstream", &self.shared.upstream)
            .finish_non_exhaustive()
    }
}

struct Shared {
    upstream: SocketAddr,
    stop: AtomicBool,
    rules: Mutex<Vec<Rule>>,
    /// Every request seen, each with a sequence number that `update` finds it by.
    seen: Mutex<Vec<(u64, Seen)>>,
    next_seen: AtomicU64,
    /// Clones of every open client and upstream socket, to shut them down on drop.
    sockets: Mutex<HashMap<u64, TcpStream>>,
    next_socket: AtomicU64,
    next_connection: AtomicU64,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Proxy {
    /// A proxy in front of this test binary's Azurite (started if needed) that forwards
    /// everything until rules are pushed.
    pub fn start() -> Proxy {
        Proxy::start_to(SocketAddr::from((Ipv4Addr::LOCALHOST, azurite().port)))
    }

    /// A proxy in front of any HTTP/1.1 server.
    pub fn start_to(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let shared = Arc::new(Shared {
            upstream,
            stop: AtomicBool::new(false),
            rules: Mutex::new(Vec::new()),
            seen: Mutex::new(Vec::new()),
            next_seen: AtomicU64::new(0),
            sockets: Mutex::new(HashMap::new()),
            next_socket: AtomicU64::new(0),
            next_connection: AtomicU64::new(0),
            threads: Mutex::new(Vec::new()),
        });
        let accept = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name(format!("proxy-{port}"))
                .spawn(move || accept_loop(&listener, &shared))
                .expect("spawn the proxy's accept thread")
        };
        Proxy {
            endpoint: format!("http://127.0.0.1:{port}/{ACCOUNT}"),
            port,
            shared,
            accept: Some(accept),
        }
    }

    /// Queues a rule (see the module docs for the order rules apply in).
    #[track_caller]
    pub fn push(&self, rule: Rule) {
        assert!(rule.times > 0, "a rule must apply at least once: {rule:?}");
        self.shared.rules.lock().unwrap().push(rule);
    }

    /// Every request seen so far, in arrival order.
    pub fn requests(&self) -> Vec<Seen> {
        let seen = self.shared.seen.lock().unwrap();
        seen.iter().map(|(_, s)| s.clone()).collect()
    }

    /// The requests seen so far that `m` matches.
    pub fn requests_matching(&self, m: &Match) -> Vec<Seen> {
        self.requests().into_iter().filter(|s| s.is(m)).collect()
    }

    /// Forgets the requests seen so far (rules stay).
    pub fn clear_requests(&self) {
        self.shared.seen.lock().unwrap().clear();
    }

    /// How many injections the queued rules still have to make (0 once every rule was used
    /// up).
    pub fn pending(&self) -> usize {
        self.shared
            .rules
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.times)
            .sum()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept thread, blocked in accept().
        let _ = TcpStream::connect_timeout(
            &SocketAddr::from((Ipv4Addr::LOCALHOST, self.port)),
            Duration::from_secs(1),
        );
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        for socket in self.shared.sockets.lock().unwrap().values() {
            let _ = socket.shutdown(Shutdown::Both);
        }
        let threads = std::mem::take(&mut *self.shared.threads.lock().unwrap());
        for t in threads {
            let _ = t.join();
        }
    }
}

/// Runs `script` with Microsoft's Python SDK (see [`python::py`]) with its `ENDPOINT` (and so
/// `service()`) pointed at `endpoint`, e.g. a proxy's; not asserted.
pub fn py_via<I, S>(endpoint: &str, script: &str, args: I) -> CliOutput
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut all = vec![std::ffi::OsString::from(endpoint)];
    all.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
    python::py(&format!("ENDPOINT = sys.argv.pop(1)\n{script}"), all)
}

// ---------------------------------------------------------------------------------------------
// Accepting and serving connections
// ---------------------------------------------------------------------------------------------

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    loop {
        let accepted = listener.accept();
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok((stream, _)) = accepted else {
            thread::sleep(Duration::from_millis(10));
            continue;
        };
        let connection = shared.next_connection.fetch_add(1, Ordering::SeqCst);
        let handle = {
            let shared = Arc::clone(shared);
            thread::Builder::new()
                .name(format!("proxy-conn-{connection}"))
                .spawn(move || serve(&shared, stream, connection))
                .expect("spawn a proxy connection thread")
        };
        let mut threads = shared.threads.lock().unwrap();
        threads.retain(|t| !t.is_finished());
        threads.push(handle);
    }
}

impl Shared {
    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Keeps a clone of `stream` so that drop can shut it down; returns its key.
    fn register(&self, stream: &TcpStream) -> Option<u64> {
        let key = self.next_socket.fetch_add(1, Ordering::SeqCst);
        let clone = stream.try_clone().ok()?;
        self.sockets.lock().unwrap().insert(key, clone);
        Some(key)
    }

    fn unregister(&self, key: Option<u64>) {
        if let Some(key) = key {
            self.sockets.lock().unwrap().remove(&key);
        }
    }

    fn take_fault(&self, method: &str, target: &str) -> Option<Fault> {
        let mut rules = self.rules.lock().unwrap();
        let i = rules
            .iter()
            .position(|r| r.times > 0 && r.matches.matches(method, target))?;
        let fault = rules[i].fault.clone();
        rules[i].times -= 1;
        if rules[i].times == 0 {
            rules.remove(i);
        }
        Some(fault)
    }

    fn record(&self, seen: Seen) -> u64 {
        let id = self.next_seen.fetch_add(1, Ordering::SeqCst);
        self.seen.lock().unwrap().push((id, seen));
        id
    }

    fn update(&self, id: u64, f: impl FnOnce(&mut Seen)) {
        // Gone if `clear_requests` ran meanwhile.
        let mut seen = self.seen.lock().unwrap();
        if let Some((_, s)) = seen.iter_mut().rev().find(|(i, _)| *i == id) {
            f(s);
        }
    }

    /// Sleeps `d`, waking early when the proxy stops.
    fn sleep(&self, d: Duration) {
        let until = Instant::now() + d;
        while !self.stopping() {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            thread::sleep(left.min(Duration::from_millis(10)));
        }
    }
}

/// What to do with the client connection after one exchange.
enum Next {
    KeepAlive,
    /// Close it gracefully (FIN).
    Close,
    /// It was reset already; just let go.
    Gone,
}

fn serve(shared: &Shared, client: TcpStream, connection: u64) {
    let key = shared.register(&client);
    let _ = client.set_nodelay(true);
    let mut conn = Conn {
        shared,
        connection,
        client: &client,
        reader: BufReader::with_capacity(BUF_SIZE, &client),
        upstream: None,
        buf: vec![0; BUF_SIZE],
    };
    let next = conn.run();
    if let Some(up) = conn.upstream.take() {
        shared.unregister(up.key);
    }
    drop(conn);
    shared.unregister(key);
    if let Next::Close = next {
        let _ = client.shutdown(Shutdown::Write);
    }
}

struct Upstream {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
    key: Option<u64>,
    last_used: Instant,
}

struct Conn<'a> {
    shared: &'a Shared,
    connection: u64,
    client: &'a TcpStream,
    reader: BufReader<&'a TcpStream>,
    upstream: Option<Upstream>,
    buf: Vec<u8>,
}

impl Conn<'_> {
    /// Serves requests until the client closes, asks to close, or a fault ends the connection.
    fn run(&mut self) -> Next {
        loop {
            if self.shared.stopping() {
                return Next::Gone;
            }
            let head = match read_head(&mut self.reader) {
                Ok(Some(head)) => head,
                Ok(None) | Err(_) => return Next::Gone,
            };
            let Some(req) = Request::parse(head) else {
                let _ = self.client.write_all(
                    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                return Next::Close;
            };
            let fault = self.shared.take_fault(&req.method, &req.target);
            let index = self.shared.record(Seen {
                method: req.method.clone(),
                target: redact_sig(&req.target),
                status: None,
                fault: fault.clone(),
                body_bytes: 0,
                connection: self.connection,
            });
            let next = match fault {
                None => self.forward(&req, index, false),
                Some(Fault::Delay(d)) => {
                    self.shared.sleep(d);
                    self.forward(&req, index, false)
                }
                Some(Fault::ResetMidBody) => self.forward(&req, index, true),
                Some(Fault::Status {
                    status,
                    code,
                    retry_after,
                }) => self.answer_error(&req, index, status, code, retry_after),
                Some(Fault::DropConnection) => {
                    if !req.expect_continue {
                        self.drain_body(&req, index);
                    }
                    Next::Close
                }
                Some(Fault::Hang) => {
                    self.hang();
                    Next::Gone
                }
            };
            match next {
                Next::KeepAlive if !req.close => continue,
                Next::KeepAlive => return Next::Close,
                other => return other,
            }
        }
    }

    /// Reads and discards the request body; returns false if the client went away.
    fn drain_body(&mut self, req: &Request, index: u64) -> bool {
        match copy_body(
            &mut self.reader,
            &req.framing,
            &mut io::sink(),
            None,
            &mut self.buf,
        ) {
            Ok((n, _)) => {
                self.shared.update(index, |s| s.body_bytes = n);
                true
            }
            Err(_) => false,
        }
    }

    fn answer_error(
        &mut self,
        req: &Request,
        index: u64,
        status: u16,
        code: &str,
        retry_after: Option<u32>,
    ) -> Next {
        // With `Expect: 100-continue` the body has not been sent and may never come: answer
        // at once and close, as a server that refuses the request does.
        let close = req.expect_continue;
        if !close && !self.drain_body(req, index) {
            return Next::Gone;
        }
        let response = azure_error(status, code, retry_after, close);
        if self.client.write_all(&response).is_err() {
            return Next::Gone;
        }
        self.shared.update(index, |s| s.status = Some(status));
        if close { Next::Close } else { Next::KeepAlive }
    }

    /// Discards whatever the client sends until it closes the connection or the proxy stops.
    fn hang(&mut self) {
        let _ = self
            .client
            .set_read_timeout(Some(Duration::from_millis(50)));
        while !self.shared.stopping() {
            match self.reader.read(&mut self.buf) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }

    /// Makes sure `self.upstream` is a usable connection to Azurite: the current one if it is
    /// fresh and still open, else a new one.
    fn connect_upstream(&mut self) -> io::Result<()> {
        if let Some(up) = self.upstream.take() {
            if up.last_used.elapsed() < UPSTREAM_IDLE
                && up.reader.buffer().is_empty()
                && alive(&up.stream)
            {
                self.upstream = Some(up);
            } else {
                self.shared.unregister(up.key);
            }
        }
        if self.upstream.is_none() {
            let stream =
                TcpStream::connect_timeout(&self.shared.upstream, UPSTREAM_CONNECT_TIMEOUT)?;
            stream.set_nodelay(true)?;
            stream.set_read_timeout(Some(UPSTREAM_READ_TIMEOUT))?;
            let key = self.shared.register(&stream);
            let reader = BufReader::with_capacity(BUF_SIZE, stream.try_clone()?);
            self.upstream = Some(Upstream {
                stream,
                reader,
                key,
                last_used: Instant::now(),
            });
        }
        Ok(())
    }

    fn drop_upstream(&mut self, reset: bool) {
        if let Some(up) = self.upstream.take() {
            self.shared.unregister(up.key);
            if reset {
                set_linger_zero(&up.stream);
            }
        }
    }

    /// Resets the client connection (RST) and ends it.
    fn reset_client(&mut self) -> Next {
        set_linger_zero(self.client);
        Next::Gone
    }

    /// Forwards one request and relays the answer; with `reset`, breaks the connection halfway
    /// through the request body or the response body (see [`Fault::ResetMidBody`]).
    fn forward(&mut self, req: &Request, index: u64, reset: bool) -> Next {
        let reset_request = reset && req.framing.has_body();
        let reset_response = reset && !reset_request;
        if req.expect_continue
            && self
                .client
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                .is_err()
        {
            return Next::Gone;
        }
        let head = if req.expect_continue {
            without_header(&req.head, "expect")
        } else {
            req.head.clone()
        };
        match self.connect_upstream() {
            Ok(()) => {}
            Err(e) => {
                let _ = self.drain_body(req, index);
                let text = format!("proxy: cannot reach the upstream server: {e}");
                let response = format!(
                    "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                );
                let _ = self.client.write_all(response.as_bytes());
                self.shared.update(index, |s| s.status = Some(502));
                return Next::Close;
            }
        }
        let up = self.upstream.as_ref().expect("connected above");
        if (&up.stream).write_all(&head).is_err() {
            // A connection that looked fine was closed under us: nothing of the body was read
            // yet, so the client can be told plainly.
            self.drop_upstream(true);
            return self.reset_client();
        }

        // --- request body ------------------------------------------------------------------
        let limit = reset_request.then_some(req.framing.reset_point());
        let mut upstream_stopped_reading = false;
        let up_stream = &up.stream;
        match copy_body(
            &mut self.reader,
            &req.framing,
            &mut { up_stream },
            limit,
            &mut self.buf,
        ) {
            Ok((n, _complete)) => {
                self.shared.update(index, |s| s.body_bytes = n);
                if reset_request {
                    // Usually mid-body; a chunked body shorter than RESET_AFTER_CHUNKED went
                    // through whole, and the reset comes before the answer.
                    self.drop_upstream(true);
                    return self.reset_client();
                }
            }
            Err(CopyError::Read(_)) => {
                // The client gave up mid-body; Azurite must see the request aborted too.
                self.drop_upstream(true);
                return Next::Gone;
            }
            Err(CopyError::Write(_)) => {
                // Azurite stopped reading (it may have answered early, e.g. 403 before the
                // body): relay its answer if there is one, then close, since the rest of the
                // body was never read.
                upstream_stopped_reading = true;
            }
        }

        // --- response ------------------------------------------------------------------------
        let up = self.upstream.as_mut().expect("connected above");
        let response = loop {
            let Ok(Some(head)) = read_head(&mut up.reader) else {
                self.drop_upstream(true);
                return self.reset_client();
            };
            let Some(response) = Response::parse(head, &req.method) else {
                self.drop_upstream(true);
                return self.reset_client();
            };
            if (100..200).contains(&response.status) && response.status != 101 {
                // Interim answers (100 Continue) are relayed and the final one awaited; one
                // the client did not ask for is dropped.
                if !req.expect_continue && self.client.write_all(&response.head).is_err() {
                    self.drop_upstream(true);
                    return Next::Gone;
                }
                continue;
            }
            break response;
        };
        if reset_response && !response.framing.has_body() {
            self.drop_upstream(false);
            return self.reset_client();
        }
        if self.client.write_all(&response.head).is_err() {
            self.drop_upstream(true);
            return Next::Gone;
        }
        self.shared
            .update(index, |s| s.status = Some(response.status));
        let limit = reset_response.then_some(response.framing.reset_point());
        let up = self.upstream.as_mut().expect("connected above");
        let client = self.client;
        let relayed = copy_body(
            &mut up.reader,
            &response.framing,
            &mut { client },
            limit,
            &mut self.buf,
        );
        up.last_used = Instant::now();
        match relayed {
            Ok(_) if reset_response => {
                self.drop_upstream(true);
                self.reset_client()
            }
            Ok(_) if response.close || upstream_stopped_reading => {
                self.drop_upstream(false);
                Next::Close
            }
            Ok(_) => Next::KeepAlive,
            Err(CopyError::Read(_)) => {
                // Azurite broke off its answer: pass the break on.
                self.drop_upstream(true);
                self.reset_client()
            }
            Err(CopyError::Write(_)) => {
                self.drop_upstream(true);
                Next::Gone
            }
        }
    }
}

/// Whether the server has not closed `stream` (no EOF or error waiting to be read).
fn alive(stream: &TcpStream) -> bool {
    if stream.set_nonblocking(true).is_err() {
        return false;
    }
    let mut byte = [0u8; 1];
    let peeked = stream.peek(&mut byte);
    let restored = stream.set_nonblocking(false).is_ok();
    restored && matches!(peeked, Err(e) if e.kind() == ErrorKind::WouldBlock)
}

/// Makes the next close of `stream` send a TCP reset instead of a FIN (`SO_LINGER` on, 0 s).
/// The reset goes out when the last descriptor of the socket is closed.
fn set_linger_zero(stream: &TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt on a descriptor `stream` owns, with a fully initialised struct and
    // its exact size.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&raw const linger).cast::<libc::c_void>(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP/1.1 messages
// ---------------------------------------------------------------------------------------------

/// How a message body is delimited.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Framing {
    Length(u64),
    Chunked,
    /// Until the sender closes the connection (responses only).
    UntilClose,
}

impl Framing {
    fn has_body(&self) -> bool {
        *self != Framing::Length(0)
    }

    /// Where [`Fault::ResetMidBody`] breaks a body framed like this off: halfway through one of
    /// known length, after [`RESET_AFTER_CHUNKED`] bytes of any other.
    fn reset_point(&self) -> u64 {
        match self {
            Framing::Length(n) => n / 2,
            _ => RESET_AFTER_CHUNKED,
        }
    }

    fn from_headers(headers: &[(String, String)]) -> Option<Framing> {
        if let Some(te) = header(headers, "transfer-encoding") {
            return te
                .to_ascii_lowercase()
                .contains("chunked")
                .then_some(Framing::Chunked);
        }
        match header(headers, "content-length") {
            Some(v) => v.trim().parse().ok().map(Framing::Length),
            None => Some(Framing::UntilClose),
        }
    }
}

struct Request {
    /// The head as received: request line, headers and the blank line.
    head: Vec<u8>,
    method: String,
    target: String,
    framing: Framing,
    /// The client asked to close the connection after this exchange.
    close: bool,
    expect_continue: bool,
}

impl Request {
    fn parse(head: Vec<u8>) -> Option<Request> {
        let (first, headers) = split_head(&head)?;
        let mut parts = first.split_whitespace();
        let method = parts.next()?.to_owned();
        let target = parts.next()?.to_owned();
        let version = parts.next()?.to_owned();
        let framing = match Framing::from_headers(&headers)? {
            // A request without Content-Length or chunking has no body.
            Framing::UntilClose => Framing::Length(0),
            f => f,
        };
        let connection = header(&headers, "connection")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let close = connection.contains("close")
            || (version == "HTTP/1.0" && !connection.contains("keep-alive"));
        let expect_continue = header(&headers, "expect")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("100-continue"));
        Some(Request {
            head,
            method,
            target,
            framing,
            close,
            expect_continue,
        })
    }
}

struct Response {
    head: Vec<u8>,
    status: u16,
    framing: Framing,
    close: bool,
}

impl Response {
    fn parse(head: Vec<u8>, request_method: &str) -> Option<Response> {
        let (first, headers) = split_head(&head)?;
        let mut parts = first.split_whitespace();
        let version = parts.next()?.to_owned();
        let status: u16 = parts.next()?.parse().ok()?;
        let framing = if request_method.eq_ignore_ascii_case("HEAD")
            || (100..200).contains(&status)
            || status == 204
            || status == 304
        {
            Framing::Length(0)
        } else {
            Framing::from_headers(&headers)?
        };
        let connection = header(&headers, "connection")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let close = framing == Framing::UntilClose
            || connection.contains("close")
            || (version == "HTTP/1.0" && !connection.contains("keep-alive"));
        Some(Response {
            head,
            status,
            framing,
            close,
        })
    }
}

/// Reads one message head (up to and including the blank line), skipping blank lines before
/// it. `None` when the peer closed the connection cleanly before a new message.
fn read_head(reader: &mut impl BufRead) -> io::Result<Option<Vec<u8>>> {
    let mut head = Vec::new();
    loop {
        let start = head.len();
        let room = MAX_HEAD.saturating_sub(start as u64);
        if room == 0 {
            return Err(io::Error::new(ErrorKind::InvalidData, "head too long"));
        }
        let n = reader.by_ref().take(room).read_until(b'\n', &mut head)?;
        if n == 0 {
            return if head.is_empty() {
                Ok(None)
            } else {
                Err(ErrorKind::UnexpectedEof.into())
            };
        }
        let line = &head[start..];
        if line == b"\r\n" || line == b"\n" {
            if start == 0 {
                head.clear();
                continue;
            }
            return Ok(Some(head));
        }
    }
}

/// The first line and the headers of a head.
fn split_head(head: &[u8]) -> Option<(String, Vec<(String, String)>)> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split('\n').map(|l| l.trim_end_matches('\r'));
    let first = lines.next()?.to_owned();
    let headers = lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Some((first, headers))
}

fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The head without the header lines named `name` (lowercase).
fn without_header(head: &[u8], name: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(head.len());
    for line in head.split_inclusive(|&b| b == b'\n') {
        let lower = String::from_utf8_lossy(line).to_ascii_lowercase();
        if lower.split_once(':').is_some_and(|(k, _)| k.trim() == name) {
            continue;
        }
        out.extend_from_slice(line);
    }
    out
}

/// `target` with the value of the `sig` query parameter replaced by `REDACTED`.
fn redact_sig(target: &str) -> String {
    let Some((path, query)) = target.split_once('?') else {
        return target.to_owned();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("sig") => format!("{k}=REDACTED"),
            _ => kv.to_owned(),
        })
        .collect();
    format!("{path}?{}", query.join("&"))
}

enum CopyError {
    Read(io::Error),
    Write(io::Error),
}

/// Copies one body framed as `framing` from `src` to `dst` (chunked bodies with their chunk
/// lines and trailers, as they are), stopping once `limit` data bytes went through if a limit
/// is given. Returns the data bytes copied and whether the body is complete.
fn copy_body(
    src: &mut impl BufRead,
    framing: &Framing,
    dst: &mut impl Write,
    limit: Option<u64>,
    buf: &mut [u8],
) -> Result<(u64, bool), CopyError> {
    let limit = limit.unwrap_or(u64::MAX);
    match framing {
        Framing::Length(n) => {
            let want = (*n).min(limit);
            let copied = copy_exact(src, dst, want, buf)?;
            Ok((copied, copied == *n))
        }
        Framing::UntilClose => {
            let mut copied = 0;
            while copied < limit {
                let room = buf
                    .len()
                    .min(usize::try_from(limit - copied).unwrap_or(usize::MAX));
                let n = read_some(src, &mut buf[..room])?;
                if n == 0 {
                    return Ok((copied, true));
                }
                dst.write_all(&buf[..n]).map_err(CopyError::Write)?;
                copied += n as u64;
            }
            Ok((copied, false))
        }
        Framing::Chunked => {
            let mut copied = 0;
            let mut line = Vec::new();
            loop {
                line.clear();
                read_line(src, &mut line)?;
                dst.write_all(&line).map_err(CopyError::Write)?;
                let text = String::from_utf8_lossy(&line);
                let size_text = text.split(';').next().unwrap_or("").trim();
                let size = u64::from_str_radix(size_text, 16).map_err(|_| {
                    CopyError::Read(io::Error::new(ErrorKind::InvalidData, "bad chunk size"))
                })?;
                if size == 0 {
                    // Trailers, then the blank line.
                    loop {
                        line.clear();
                        read_line(src, &mut line)?;
                        dst.write_all(&line).map_err(CopyError::Write)?;
                        if line == b"\r\n" || line == b"\n" {
                            return Ok((copied, true));
                        }
                    }
                }
                let want = size.min(limit - copied);
                copied += copy_exact(src, dst, want, buf)?;
                if want < size {
                    return Ok((copied, false));
                }
                line.clear();
                read_line(src, &mut line)?; // the CRLF after the chunk data
                dst.write_all(&line).map_err(CopyError::Write)?;
                if copied >= limit {
                    return Ok((copied, false));
                }
            }
        }
    }
}

fn copy_exact(
    src: &mut impl Read,
    dst: &mut impl Write,
    len: u64,
    buf: &mut [u8],
) -> Result<u64, CopyError> {
    let mut left = len;
    while left > 0 {
        let room = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = read_some(src, &mut buf[..room])?;
        if n == 0 {
            return Err(CopyError::Read(ErrorKind::UnexpectedEof.into()));
        }
        dst.write_all(&buf[..n]).map_err(CopyError::Write)?;
        left -= n as u64;
    }
    Ok(len)
}

fn read_some(src: &mut impl Read, buf: &mut [u8]) -> Result<usize, CopyError> {
    loop {
        match src.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(CopyError::Read(e)),
        }
    }
}

fn read_line(src: &mut impl BufRead, line: &mut Vec<u8>) -> Result<(), CopyError> {
    let n = src
        .by_ref()
        .take(MAX_HEAD)
        .read_until(b'\n', line)
        .map_err(CopyError::Read)?;
    if n == 0 || !line.ends_with(b"\n") {
        return Err(CopyError::Read(ErrorKind::UnexpectedEof.into()));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Azure's error responses
// ---------------------------------------------------------------------------------------------

/// The `x-ms-version` the injected errors carry.
const ERROR_VERSION: &str = "2025-11-05";

/// Azure's message for an error code (the first line of `<Message>`, also the reason phrase).
fn azure_message(code: &str) -> &'static str {
    match code {
        "ServerBusy" => "The server is busy.",
        "InternalError" => "The server encountered an internal error. Please retry the request.",
        "OperationTimedOut" => "The operation could not be completed within the permitted time.",
        "AuthenticationFailed" => {
            "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature."
        }
        "AuthorizationFailure" => "This request is not authorized to perform this operation.",
        "AuthorizationPermissionMismatch" => {
            "This request is not authorized to perform this operation using this permission."
        }
        "AuthorizationResourceTypeMismatch" => {
            "This request is not authorized to perform this operation using this resource type."
        }
        "ContainerNotFound" => "The specified container does not exist.",
        "BlobNotFound" => "The specified blob does not exist.",
        "ContainerAlreadyExists" => "The specified container already exists.",
        "InvalidBlockList" => "The specified block list is invalid.",
        "Md5Mismatch" => {
            "The MD5 value specified in the request did not match with the MD5 value calculated by the server."
        }
        "RequestBodyTooLarge" => {
            "The request body is too large and exceeds the maximum permissible limit."
        }
        _ => "The request failed.",
    }
}

/// A complete Azure-style error response, as Azure Storage sends it.
fn azure_error(status: u16, code: &str, retry_after: Option<u32>, close: bool) -> Vec<u8> {
    let request_id = uuid::Uuid::new_v4();
    let now = chrono::Utc::now();
    let message = azure_message(code);
    let body = format!(
        "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code><Message>{message}\nRequestId:{request_id}\nTime:{}.{:07}Z</Message></Error>",
        now.format("%Y-%m-%dT%H:%M:%S"),
        now.timestamp_subsec_nanos() / 100
    );
    let mut head = format!(
        "HTTP/1.1 {status} {message}\r\n\
         Content-Length: {}\r\n\
         Content-Type: application/xml\r\n\
         Server: Windows-Azure-Blob/1.0 Microsoft-HTTPAPI/2.0\r\n\
         x-ms-request-id: {request_id}\r\n\
         x-ms-version: {ERROR_VERSION}\r\n\
         x-ms-error-code: {code}\r\n\
         Date: {}\r\n",
        body.len(),
        now.format("%a, %d %b %Y %H:%M:%S GMT")
    );
    if let Some(secs) = retry_after {
        head.push_str(&format!("Retry-After: {secs}\r\n"));
    }
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}
