//! An HTTP/1.1 keep-alive server: `GET /` answers `Hello, world!` as text, `GET /json` a small
//! JSON object, anything else 404. One green task per connection.
//!
//! ```text
//! cargo run --release --example http -- --addr 127.0.0.1:8080
//! curl -v http://127.0.0.1:8080/ http://127.0.0.1:8080/json   # one connection, reused
//! wrk -t2 -c100 -d5s http://127.0.0.1:8080/
//! ```
//!
//! The protocol is [`respond`], a pure function from the bytes received to the bytes to send,
//! so the same request handling runs on any runtime (`benches/http.rs` includes this file and
//! serves it on tokio, smol and OS threads too). What it does:
//!
//! - every complete request in the input is answered, in order, and all the answers to one
//!   read go out in one write: pipelined requests cost one syscall each way, not one per
//!   request;
//! - HTTP/1.1 connections stay open unless the client sends `Connection: close`; HTTP/1.0
//!   ones close unless it sends `Connection: keep-alive` (as `ab -k` does);
//! - a request `httparse` rejects gets `400 Bad Request`, then the connection closes (the
//!   stream can't be trusted past a malformed request); an oversized head gets 431, a body
//!   over 64 KiB 413, and a `Transfer-Encoding` body 501 (these routes take no body), each
//!   followed by a close;
//! - `HEAD` is answered like `GET` without the body; other methods on a route get 405;
//! - `GET /metrics` shows the runtime's counters (`alive_tasks`, `spawned_tasks`,
//!   `io_registrations`, `workers`) and the bytes of heap in use (`heap_in_use`, on glibc),
//!   one `name value` line each, for `scripts/soak` to watch.
//!
//! Against clients that hold connections without using them (`examples/support/limits.rs`):
//!
//! - at most `--max-conns N` connections are open (default 1000); past that, new clients
//!   wait in the kernel's listen backlog until a slot frees, as in the `echo` example;
//! - each request must arrive whole (head and body) within `--request-timeout SECS`
//!   (default 10) of the moment the connection starts waiting for it: at accept, and after
//!   each answer. A client that sent part of a request by then gets `408 Request Timeout`
//!   and is closed; an idle keep-alive connection is closed silently. So a slowloris (a
//!   header byte now and then, on many connections) holds a slot for at most that long;
//! - a client that takes none of an answer for `--request-timeout` is closed too.
//!
//! Hostile input stays cheap: input is buffered only up to one request head (16 KiB) plus
//! its body (64 KiB), never by a length the client merely declares, so a 1 GiB
//! `Content-Length` gets 413 at once; too many or too long headers get 431; NUL bytes or
//! invalid UTF-8 where `httparse` wants a token or a path get 400 (`tests/examples_hostile.rs`
//! checks the server's peak memory after such attacks; `tests/examples_fuzz.rs` fuzzes
//! [`respond`]).
//!
//! On SIGINT or SIGTERM it stops accepting and drains (`examples/support/shutdown.rs`): a
//! connection waiting between requests answers a request its client had already sent, if
//! one comes within 50 ms, and closes; one in the middle of a request reads it to its end
//! and answers it with `Connection: close`, then closes. Connections still open after
//! `--grace SECONDS` (default 5) are cut off; then it prints a `shutdown: drained …` line
//! and exits 0. A second signal exits at once (130 for SIGINT).

use limits::{write_all_within, ConnLimit};
use runtime::net::{TcpListener, TcpStream};
use runtime::time::{sleep, timeout, timeout_at, Duration, Instant};
use shutdown::{Conn, Connections, GracefulShutdown};
use std::cell::RefCell;
use std::io::{self, Write};
use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::time::{SystemTime, UNIX_EPOCH};

// Relative to this file, so it also holds when `benches/http.rs` includes this file.
#[path = "support/heap.rs"]
mod heap;
#[path = "support/limits.rs"]
mod limits;
#[path = "support/shutdown.rs"]
mod shutdown;

/// Bytes asked of the socket per read.
pub const READ_CHUNK: usize = 8 * 1024;
/// A request head (request line and headers) longer than this is refused with 431.
const MAX_HEAD: usize = 16 * 1024;
/// A request body longer than this is refused with 413.
const MAX_BODY: usize = 64 * 1024;
const MAX_HEADERS: usize = 32;
/// How long a closing connection keeps reading (and discarding) what the client still
/// sends, so the kernel doesn't answer those bytes with a reset that destroys the response.
pub const LINGER: Duration = Duration::from_secs(2);

/// The server's limits on connections: `--max-conns` and `--request-timeout`.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections open at most; more wait in the listen backlog.
    pub max_conns: usize,
    /// How long a request may take to arrive, and a write to make progress.
    pub request_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_conns: limits::DEFAULT_MAX_CONNS,
            request_timeout: limits::DEFAULT_TIMEOUT,
        }
    }
}

/// What the connection does after [`respond`] has written its answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Keep reading: the input is empty or holds the start of the next request.
    KeepAlive,
    /// Send the output, then close: the client asked to, or its request was unusable.
    Close,
}

/// Answers every complete request at the front of `input`, appending the responses to
/// `output` and removing the requests from `input`; a partial request stays for the next
/// read.
pub fn respond(input: &mut Vec<u8>, output: &mut Vec<u8>) -> Outcome {
    respond_with(input, output, true)
}

/// As [`respond`], for a server that is shutting down: the first complete request is the
/// last one, answered with `Connection: close` (the client then knows not to send more).
pub fn respond_last(input: &mut Vec<u8>, output: &mut Vec<u8>) -> Outcome {
    respond_with(input, output, false)
}

fn respond_with(input: &mut Vec<u8>, output: &mut Vec<u8>, may_keep_alive: bool) -> Outcome {
    let mut consumed = 0;
    let outcome = loop {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut req = httparse::Request::new(&mut headers);
        let rest = &input[consumed..];
        // Only the first MAX_HEAD bytes are parsed, so a head is judged the same however
        // its bytes were split into reads: whole within them, malformed in them (400), or
        // too long (431).
        let head_len = match req.parse(&rest[..rest.len().min(MAX_HEAD)]) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) if rest.len() > MAX_HEAD => {
                error(output, "431 Request Header Fields Too Large");
                break Outcome::Close;
            }
            Ok(httparse::Status::Partial) => break Outcome::KeepAlive,
            Err(httparse::Error::TooManyHeaders) => {
                error(output, "431 Request Header Fields Too Large");
                break Outcome::Close;
            }
            Err(_) => {
                error(output, "400 Bad Request");
                break Outcome::Close;
            }
        };
        let body_len = match body_length(&req) {
            Ok(len) if len <= MAX_BODY => len,
            Ok(_) => {
                error(output, "413 Content Too Large");
                break Outcome::Close;
            }
            Err(status) => {
                error(output, status);
                break Outcome::Close;
            }
        };
        if rest.len() < head_len + body_len {
            break Outcome::KeepAlive; // the body is still on its way
        }
        let keep_alive = may_keep_alive && keep_alive(&req);
        route(&req, keep_alive, output);
        consumed += head_len + body_len;
        if !keep_alive {
            break Outcome::Close;
        }
    };
    input.drain(..consumed);
    outcome
}

/// The body's length from `Content-Length`, or the status to refuse the request with.
fn body_length(req: &httparse::Request<'_, '_>) -> Result<usize, &'static str> {
    let mut length = None;
    for h in req.headers.iter() {
        if h.name.eq_ignore_ascii_case("transfer-encoding") {
            return Err("501 Not Implemented");
        }
        if h.name.eq_ignore_ascii_case("content-length") {
            let n = std::str::from_utf8(h.value)
                .ok()
                .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|v| v.parse::<usize>().ok())
                .ok_or("400 Bad Request")?;
            // Two different lengths would make the framing ambiguous (request smuggling).
            if length.is_some_and(|l| l != n) {
                return Err("400 Bad Request");
            }
            length = Some(n);
        }
    }
    Ok(length.unwrap_or(0))
}

/// Whether the connection stays open after this request: HTTP/1.1 unless `Connection:
/// close`, HTTP/1.0 only with `Connection: keep-alive`.
fn keep_alive(req: &httparse::Request<'_, '_>) -> bool {
    let has = |token: &str| {
        req.headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case("connection"))
            .flat_map(|h| h.value.split(|&b| b == b','))
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
    };
    match req.version {
        Some(1) => !has("close"),
        _ => has("keep-alive"),
    }
}

fn route(req: &httparse::Request<'_, '_>, keep_alive: bool, out: &mut Vec<u8>) {
    let method = req.method.unwrap_or_default();
    let path = req.path.unwrap_or_default();
    let path = path.split_once('?').map_or(path, |(path, _query)| path);
    let metrics;
    let (status, content_type, body): (_, _, &[u8]) = match path {
        "/" => ("200 OK", "text/plain", b"Hello, world!"),
        "/json" => (
            "200 OK",
            "application/json",
            br#"{"message":"Hello, world!"}"#,
        ),
        // Only on this runtime (`benches/http.rs` serves the same routes on others).
        "/metrics" if runtime::Handle::try_current().is_ok() => {
            metrics = metrics_text();
            ("200 OK", "text/plain", metrics.as_bytes())
        }
        _ => ("404 Not Found", "text/plain", b"Not Found\n"),
    };
    let (status, allow, body): (_, _, &[u8]) = match method {
        "GET" | "HEAD" => (status, "", body),
        _ if status == "200 OK" => (
            "405 Method Not Allowed",
            "Allow: GET, HEAD\r\n",
            b"Method Not Allowed\n",
        ),
        _ => (status, "", body),
    };
    write_head(
        out,
        status,
        content_type,
        allow,
        body.len(),
        keep_alive,
        req.version,
    );
    // A HEAD response announces the length of the body it leaves out.
    if method != "HEAD" {
        out.extend_from_slice(body);
    }
}

/// The runtime's counters and the heap in use, one `name value` line each (no heap line
/// where the C library can't count it).
fn metrics_text() -> String {
    let m = runtime::Handle::current().metrics();
    let heap = heap::heap_in_use().map_or(String::new(), |b| format!("heap_in_use {b}\n"));
    format!(
        "alive_tasks {}\nspawned_tasks {}\nio_registrations {}\nworkers {}\n{heap}",
        m.alive_tasks, m.spawned_tasks, m.io_registrations, m.workers
    )
}

/// An error response that closes the connection.
fn error(out: &mut Vec<u8>, status: &str) {
    // "400 Bad Request" -> "Bad Request\n"
    let body = format!("{}\n", &status[4..]);
    write_head(out, status, "text/plain", "", body.len(), false, Some(1));
    out.extend_from_slice(body.as_bytes());
}

fn write_head(
    out: &mut Vec<u8>,
    status: &str,
    content_type: &str,
    extra_headers: &str,
    content_length: usize,
    keep_alive: bool,
    version: Option<u8>,
) {
    // Say what the connection does whenever it differs from the version's default.
    let connection = match (keep_alive, version) {
        (false, _) => "Connection: close\r\n",
        (true, Some(1)) => "",
        (true, _) => "Connection: keep-alive\r\n",
    };
    with_date(|date| {
        // Writing to a Vec cannot fail.
        let _ = write!(
            out,
            "HTTP/1.1 {status}\r\nServer: runtime\r\nDate: {date}\r\n\
             Content-Type: {content_type}\r\nContent-Length: {content_length}\r\n\
             {extra_headers}{connection}\r\n"
        );
    });
}

/// Calls `f` with the current time as an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`),
/// formatted at most once a second per thread.
fn with_date<R>(f: impl FnOnce(&str) -> R) -> R {
    thread_local! {
        static CACHE: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    CACHE.with_borrow_mut(|(secs, text)| {
        if *secs != now {
            *secs = now;
            *text = http_date(now);
        }
        f(text)
    })
}

fn http_date(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = (secs / 86_400) as i64;
    let (h, m, s) = (secs % 86_400 / 3600, secs % 3600 / 60, secs % 60);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{}, {day:02} {} {year} {h:02}:{m:02}:{s:02} GMT",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize]
    )
}

/// Accepts connections until the future is dropped, serving each in its own task, counted
/// in `conns` while it is open, at most `caps.max_conns` at a time.
pub(crate) async fn serve(listener: TcpListener, conns: Connections, caps: Limits) {
    let slots = ConnLimit::new(caps.max_conns);
    loop {
        // A free slot first: while none is, new connections wait in the kernel's backlog.
        let slot = slots.slot().await;
        match listener.accept().await {
            Ok((stream, _peer)) => {
                let conn = conns.track();
                runtime::spawn(async move {
                    if let Err(e) = connection(stream, conn, caps.request_timeout).await {
                        // Resets, timeouts and the like are the client's business.
                        if !matches!(
                            e.kind(),
                            io::ErrorKind::ConnectionReset | io::ErrorKind::TimedOut
                        ) {
                            eprintln!("connection error: {e}");
                        }
                    }
                    drop(slot); // the slot frees once the connection is closed
                });
            }
            Err(e) => {
                // Out of file descriptors, most likely: the connection stays queued, so
                // give running connections a moment to finish before accepting again.
                eprintln!("accept failed: {e}");
                sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Serves one connection; `limit` is `--request-timeout`.
async fn connection(mut stream: TcpStream, conn: Conn, limit: Duration) -> io::Result<()> {
    // Each batch of responses goes out in one write; Nagle would only delay it.
    stream.set_nodelay(true)?;
    let socket = stream.as_raw_fd();
    let mut chunk = [0; READ_CHUNK];
    let mut input = Vec::with_capacity(READ_CHUNK);
    let mut output = Vec::with_capacity(READ_CHUNK);
    // When the request being waited for must have arrived whole.
    let mut deadline = Instant::now() + limit;
    loop {
        let read = timeout_at(deadline, stream.read(&mut chunk));
        let n = if input.is_empty() {
            // Between requests: a shutdown closes the connection, once a request the
            // client had sent is in.
            match conn.unless_stopping(socket, read).await {
                Some(Ok(read)) => read?,
                // Idle for the whole time limit: close, with nothing to say.
                Some(Err(_elapsed)) => return Ok(()),
                // A request may be on its way: close as after a last response, so it
                // meets a FIN rather than a reset.
                None => return close_after_last_response(stream, &mut chunk).await,
            }
        } else {
            // In the middle of one: it is read to its end even during a shutdown, if it
            // arrives in time.
            match read.await {
                Ok(read) => read?,
                Err(_elapsed) => {
                    error(&mut output, "408 Request Timeout");
                    write_all_within(&mut stream, &output, limit).await?;
                    return close_after_last_response(stream, &mut chunk).await;
                }
            }
        };
        if n == 0 {
            return Ok(());
        }
        input.extend_from_slice(&chunk[..n]);
        let outcome = if conn.is_stopping() {
            respond_last(&mut input, &mut output)
        } else {
            respond(&mut input, &mut output)
        };
        if !output.is_empty() {
            write_all_within(&mut stream, &output, limit).await?;
            output.clear();
            // Answered: the clock starts again for the next request.
            deadline = Instant::now() + limit;
        }
        if outcome == Outcome::Close {
            return close_after_last_response(stream, &mut chunk).await;
        }
    }
}

/// Ends our side, then discards what the client still sends until it closes (at most
/// `LINGER`): closing a socket with unread input makes the kernel reset the connection,
/// which can destroy the last response on its way.
async fn close_after_last_response(mut stream: TcpStream, chunk: &mut [u8]) -> io::Result<()> {
    stream.shutdown(Shutdown::Write)?;
    let drain = async {
        while stream.read(chunk).await? > 0 {}
        io::Result::Ok(())
    };
    let _ = timeout(LINGER, drain).await;
    Ok(())
}

#[runtime::main]
async fn main() -> io::Result<()> {
    let mut addr = String::from("127.0.0.1:8080");
    let mut grace = shutdown::DEFAULT_GRACE;
    let mut caps = Limits::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--addr", Some(value)) => addr = value,
            ("--grace", Some(value)) if shutdown::parse_grace(&value).is_some() => {
                grace = shutdown::parse_grace(&value).expect("checked above");
            }
            ("--max-conns", Some(value)) if limits::parse_max_conns(&value).is_some() => {
                caps.max_conns = limits::parse_max_conns(&value).expect("checked above");
            }
            ("--request-timeout", Some(value)) if limits::parse_secs(&value).is_some() => {
                caps.request_timeout = limits::parse_secs(&value).expect("checked above");
            }
            _ => {
                eprintln!(
                    "usage: http [--addr HOST:PORT] [--grace SECONDS] [--max-conns N] \
                     [--request-timeout SECONDS]"
                );
                std::process::exit(2);
            }
        }
    }
    // Before the address is printed: a SIGINT or SIGTERM from then on starts the drain.
    let shutdown = GracefulShutdown::listen(grace)?;
    let listener = TcpListener::bind(&addr).await?;
    println!("listening on {}", listener.local_addr()?);
    io::stdout().flush()?;
    let conns = shutdown.connections();
    shutdown.run(serve(listener, conns, caps)).await
}
