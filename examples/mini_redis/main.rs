//! mini_redis: a Redis-compatible (RESP2) key-value server with expiry and pub/sub, on this
//! runtime's tasks, sockets, timers and primitives. `redis-cli` and `redis-benchmark` talk to
//! it unchanged.
//!
//! ```text
//! cargo run --release --example mini_redis -- --addr 127.0.0.1:6379   # the default address
//! redis-cli -p 6379 set greeting hello ex 10
//! redis-benchmark -p 6379 -t ping,set,get,incr -n 100000 -c 50 -P 16
//! ```
//!
//! Commands: PING, ECHO, GET, SET key value [EX s | PX ms] [NX | XX] [KEEPTTL] [GET], DEL,
//! EXISTS, INCR, DECR, EXPIRE, PEXPIRE, PERSIST, TTL, PTTL, MGET, DBSIZE, FLUSHALL,
//! SUBSCRIBE, UNSUBSCRIBE, PUBLISH, INFO, QUIT, and the CONFIG GET / COMMAND probes that
//! redis-benchmark and redis-cli send. Requests come as RESP arrays or as inline lines
//! (`nc` users). What it shows:
//!
//! - One task per connection. Each read is parsed for every complete request in it, and all
//!   their replies go out in one write: pipelined clients (`-P 16`) cost one syscall per batch,
//!   not one per reply.
//! - The keyspace is 32 shards behind `std::sync::Mutex`es. A command holds one shard's lock
//!   for a hash-map lookup and never across an `.await`, so a plain OS mutex (tens of
//!   nanoseconds uncontended) beats an async mutex, whose waiting machinery buys nothing
//!   when no holder ever waits; sharding keeps workers on different keys from contending.
//! - Expiry is lazy (a key read after its deadline is gone) plus a sweeper task that sleeps
//!   until the earliest deadline, and is woken early through an `Event` only when a command
//!   sets a sooner one: no fixed-period polling.
//! - Pub/sub: each subscribed connection owns a bounded channel; PUBLISH encodes the message
//!   once and `try_send`s it to every subscriber. A subscriber that falls a whole backlog
//!   behind is cut off (Redis's output-buffer limit) instead of growing memory: it gets what
//!   was queued for it, then the connection closes.
//! - Malformed requests get `-ERR Protocol error: …` and the connection is closed; a client
//!   that vanishes mid-request leaves nothing behind (see `INFO`: `connected_clients`, and
//!   the runtime's `alive_tasks`).
//! - Against clients that hold connections without using them
//!   (`examples/support/limits.rs`): at most `--max-conns N` connections are open (default
//!   1000; past that, new clients wait in the kernel's listen backlog until a slot frees,
//!   as in the `echo` example), and a command must arrive whole within `--command-timeout
//!   SECS` (default 10) of its first byte, or of the end of the command before it in the
//!   same read: otherwise the client gets `-ERR command not complete within … s` and is
//!   closed. So a slowloris (a byte now and then, on many connections) holds a slot for at
//!   most that long. By default an idle client is not timed out (Redis's `timeout 0`): a
//!   subscriber, or a `redis-cli` left open, waits as long as it likes. With `--idle-timeout
//!   SECS` (Redis's `timeout SECS`), a client that sends nothing for that long between
//!   commands is closed, so silent clients can't hold every slot; subscribers are exempt,
//!   as in Redis. A client that takes none of a reply for `--command-timeout` is closed.
//! - Hostile input stays cheap: a length line past 64 KiB, a bulk length over 512 MiB
//!   (2^62, say) or an argument count over 1M is a protocol error at once; a nested array
//!   (`*1\r\n*1\r\n…`) is one too (requests are flat arrays of bulk strings), and input is
//!   buffered only as it arrives, never by a length the client merely claims. An unfinished
//!   request is parsed once, each read resuming where the last stopped (`resp::Progress`),
//!   so one trickled in small pieces costs time linear in its length. Values are
//!   binary-safe: NUL bytes and invalid UTF-8 are stored and returned as sent.
//!
//! - Graceful shutdown on SIGINT or SIGTERM (`examples/support/shutdown.rs`): it stops
//!   accepting; a connection waiting between commands (or subscribed, waiting for messages)
//!   answers the commands its client had already sent, if they come within 50 ms, and
//!   closes; one with part of a command read reads it to its end, replies, and closes.
//!   Connections still open after `--grace SECONDS` (default 5) are cut off; it prints a
//!   `shutdown: drained …` line and exits 0. A second signal exits at once (130 for
//!   SIGINT).
//!
//! Files: this one (accepting, the connection loop), `resp.rs` (parsing requests, encoding
//! replies), `commands.rs` (what each command does), `db.rs` (the keyspace and expiry),
//! `pubsub.rs` (channels and subscribers).
//!
//! Tests: `tests/examples_redis.rs`, `scripts/real-clients/redis.sh`; speed beside a real
//! redis-server: `cargo bench --bench redis`.

use std::future::{poll_fn, Future};
use std::io::{self, Write};
use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Poll;
use std::time::Duration;

use limits::{write_all_within, ConnLimit};

use runtime::net::{TcpListener, TcpStream};
use runtime::sync::channel;
use runtime::task::JoinHandle;
use runtime::time::{timeout, timeout_at, Instant};

// Explicit paths, relative to this file: they hold both when this is the example's crate root
// and when `benches/redis.rs` includes this file as a module through `#[path]`.
#[path = "commands.rs"]
mod commands;
#[path = "db.rs"]
mod db;
#[path = "../support/heap.rs"]
mod heap;
#[path = "../support/limits.rs"]
mod limits;
#[path = "pubsub.rs"]
mod pubsub;
#[path = "resp.rs"]
mod resp;
#[path = "../support/shutdown.rs"]
mod shutdown;

use commands::Client;
use db::{sweep_expired, Db};
use pubsub::PubSub;
use resp::{error, parse, Progress, ProtocolError};
use shutdown::{Conn, Connections, GracefulShutdown};

#[runtime::main]
async fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut addr = "127.0.0.1:6379".to_owned();
    let mut grace = shutdown::DEFAULT_GRACE;
    let mut caps = Limits::default();
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--addr", Some(a)) => addr = a,
            ("--grace", Some(g)) if shutdown::parse_grace(&g).is_some() => {
                grace = shutdown::parse_grace(&g).expect("checked above");
            }
            ("--max-conns", Some(n)) if limits::parse_max_conns(&n).is_some() => {
                caps.max_conns = limits::parse_max_conns(&n).expect("checked above");
            }
            ("--command-timeout", Some(t)) if limits::parse_secs(&t).is_some() => {
                caps.command_timeout = limits::parse_secs(&t).expect("checked above");
            }
            ("--idle-timeout", Some(t)) if limits::parse_secs(&t).is_some() => {
                caps.idle_timeout = limits::parse_secs(&t);
            }
            _ => {
                eprintln!(
                    "usage: mini_redis [--addr HOST:PORT] [--grace SECONDS] [--max-conns N] \
                     [--command-timeout SECONDS] [--idle-timeout SECONDS]"
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

/// The server's limits on connections: `--max-conns`, `--command-timeout` and
/// `--idle-timeout`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Connections open at most; more wait in the listen backlog.
    pub(crate) max_conns: usize,
    /// How long a command may take to arrive, and a write to make progress.
    pub(crate) command_timeout: Duration,
    /// How long a client that is not subscribed may send nothing between commands (`None`:
    /// for ever).
    pub(crate) idle_timeout: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_conns: limits::DEFAULT_MAX_CONNS,
            command_timeout: limits::DEFAULT_TIMEOUT,
            idle_timeout: None,
        }
    }
}

/// Serves RESP clients accepted from `listener` until the future is dropped, each counted in
/// `conns` while it is open, at most `caps.max_conns` at a time.
pub(crate) async fn serve(listener: TcpListener, conns: Connections, caps: Limits) {
    let shared = Arc::new(Shared::new());
    // The sweeper lives exactly as long as the server.
    let _sweeper = AbortOnDrop(runtime::spawn(sweep_expired(shared.clone())));
    let slots = ConnLimit::new(caps.max_conns);
    loop {
        // A free slot first: while none is, new connections wait in the kernel's backlog.
        let slot = slots.slot().await;
        match listener.accept().await {
            Ok((stream, _)) => {
                let conn = conns.track();
                let shared = shared.clone();
                drop(runtime::spawn(async move {
                    connection(stream, shared, conn, caps).await;
                    drop(slot); // the slot frees once the connection is closed
                }));
            }
            Err(e) => {
                // `accept` waits out EMFILE and the like itself; anything else is rare (a
                // socket the reactor refused): log it and back off instead of spinning.
                eprintln!("accept failed: {e}");
                runtime::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What all connections share.
struct Shared {
    db: Db,
    pubsub: PubSub,
    clients: AtomicUsize,
    next_client_id: AtomicU64,
}

impl Shared {
    fn new() -> Shared {
        Shared {
            db: Db::new(),
            pubsub: PubSub::default(),
            clients: AtomicUsize::new(0),
            next_client_id: AtomicU64::new(1),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // No critical section here can panic half-way, so a poisoned lock's data is consistent.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

// ===== connections =====

/// A published message, encoded once as the `message` reply every subscriber gets.
type Frame = Arc<[u8]>;

/// Messages a subscriber may lag behind before it is cut off.
const SUBSCRIBER_BACKLOG: usize = 1024;
const READ_BUF: usize = 16 * 1024;
/// Redis's client-query-buffer-limit: a client whose unfinished request grows past this is
/// dropped.
const QUERY_LIMIT: usize = 1 << 30;

/// Serves one client within `caps`' time limits.
async fn connection(mut stream: TcpStream, shared: Arc<Shared>, conn: Conn, caps: Limits) {
    let limit = caps.command_timeout;
    // Replies are written whole, once per batch: Nagle would only delay them.
    let _ = stream.set_nodelay(true);
    let socket = stream.as_raw_fd();
    let mut client = Client::new(shared);
    let mut input = InputBuf::new();
    let mut out = Vec::with_capacity(READ_BUF);
    // How far the unfinished command at the front of `input` has been parsed.
    let mut progress = Progress::default();
    // When the unfinished command at the front of `input` must have arrived whole.
    let mut deadline = None;
    // Shutdown had begun when the connection last went idle: what it takes now is the
    // last it answers.
    let mut last_look = false;
    loop {
        let idle = input.data().is_empty();
        last_look |= idle && conn.is_stopping();
        let Some(spare) = input.spare() else {
            return; // past the query-buffer limit
        };
        let subscribed = client.inbox.is_some();
        let next = next_input(&mut stream, spare, client.inbox.as_ref().map(|(_, rx)| rx));
        let next = if idle {
            // Between commands (or subscribed): a shutdown closes the connection, once
            // the commands its client sent before are in.
            let waited = conn.unless_stopping(socket, next);
            let waited = match caps.idle_timeout {
                Some(idle_limit) if !subscribed => match timeout(idle_limit, waited).await {
                    Ok(waited) => waited,
                    // Silent past `--idle-timeout`: closed without a word, as Redis does.
                    Err(_elapsed) => return,
                },
                _ => waited.await,
            };
            match waited {
                Some(next) => next,
                // A command may be on its way: close as after a last reply, so it meets
                // a FIN rather than a reset.
                None => {
                    drop(client);
                    return close_after_last_reply(stream, &mut input.buf).await;
                }
            }
        } else {
            // In the middle of one: it is read to its end even during a shutdown, if it
            // arrives in time.
            let deadline = deadline.unwrap_or_else(|| Instant::now() + limit);
            match timeout_at(deadline, next).await {
                Ok(next) => next,
                Err(_elapsed) => {
                    let secs = limit.as_secs_f64();
                    error(
                        &mut out,
                        &format!("ERR command not complete within {secs} s"),
                    );
                    if write_all_within(&mut stream, &out, limit).await.is_ok() {
                        drop(client);
                        close_after_last_reply(stream, &mut input.buf).await;
                    }
                    return;
                }
            }
        };
        match next {
            // Closed or reset: a request it left half-sent is dropped with `input`.
            Input::Read(Ok(0) | Err(_)) => return,
            Input::Read(Ok(n)) => {
                input.filled(n);
                match run_batch(input.data(), &mut out, &mut client, &mut progress) {
                    Ok(used) => {
                        input.consume(used);
                        // The clock runs from a command's first byte, or from the end of
                        // the one before it.
                        deadline = match (input.data().is_empty(), used > 0) {
                            (true, _) => None,
                            (false, true) => Some(Instant::now() + limit),
                            (false, false) => deadline.or_else(|| Some(Instant::now() + limit)),
                        };
                    }
                    Err(ProtocolError(why)) => {
                        error(&mut out, &format!("ERR Protocol error: {why}"));
                        client.quit = true;
                    }
                }
            }
            Input::Published(Some(frame)) => {
                out.extend_from_slice(&frame);
                client.drain_inbox(&mut out);
            }
            // Cut off by a publisher for falling a whole backlog behind.
            Input::Published(None) => return,
        }
        if !out.is_empty() {
            if write_all_within(&mut stream, &out, limit).await.is_err() {
                return;
            }
            out.clear();
            if out.capacity() > 16 * READ_BUF {
                out = Vec::with_capacity(READ_BUF); // a one-off big reply shouldn't stay
            }
        }
        // Shutting down: the commands in flight are answered, so close now. (A shutdown
        // that began during this batch gets its last look at the top of the loop.)
        if client.quit || (last_look && input.data().is_empty()) {
            drop(client);
            return close_after_last_reply(stream, &mut input.buf).await;
        }
    }
}

/// Closes a connection whose last reply (QUIT's OK, a protocol error) was just written, so
/// that the reply survives: closing a socket that has unread input makes the kernel send a
/// reset, which can destroy replies still on their way. So: end our side, then discard what
/// the client still sends (bounded in bytes and time) until it closes its side.
async fn close_after_last_reply(mut stream: TcpStream, scratch: &mut [u8]) {
    let _ = stream.shutdown(Shutdown::Write);
    let drain = async {
        let mut budget = 1 << 20;
        while budget > 0 {
            match stream.read(scratch).await {
                Ok(0) | Err(_) => break,
                Ok(n) => budget -= n.min(budget),
            }
        }
    };
    let _ = runtime::time::timeout(Duration::from_secs(1), drain).await;
}

enum Input {
    Read(io::Result<usize>),
    /// A message on a subscribed channel; `None`: the subscription was cut off.
    Published(Option<Frame>),
}

/// The next bytes from the client or, while it is subscribed, the next published message,
/// whichever comes first. Both futures are cancel-safe, so the loser loses nothing.
async fn next_input(
    stream: &mut TcpStream,
    buf: &mut [u8],
    inbox: Option<&channel::Receiver<Frame>>,
) -> Input {
    let Some(inbox) = inbox else {
        return Input::Read(stream.read(buf).await);
    };
    let mut read = pin!(stream.read(buf));
    let mut message = pin!(inbox.recv());
    poll_fn(|cx| {
        if let Poll::Ready(m) = message.as_mut().poll(cx) {
            return Poll::Ready(Input::Published(m.ok()));
        }
        read.as_mut().poll(cx).map(Input::Read)
    })
    .await
}

/// The bytes read and not yet parsed: `buf[start..end]`.
struct InputBuf {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl InputBuf {
    fn new() -> InputBuf {
        InputBuf {
            buf: vec![0; READ_BUF],
            start: 0,
            end: 0,
        }
    }

    /// Room to read into: compacts or grows as needed; `None` past [`QUERY_LIMIT`].
    fn spare(&mut self) -> Option<&mut [u8]> {
        if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else if self.buf.len() >= QUERY_LIMIT {
                return None;
            } else {
                // Grows only as bytes arrive, never by a length the client merely claims.
                self.buf.resize(self.buf.len() * 2, 0);
            }
        }
        Some(&mut self.buf[self.end..])
    }

    fn filled(&mut self, n: usize) {
        self.end += n;
    }

    fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            if self.buf.len() > 16 * READ_BUF {
                self.buf = vec![0; READ_BUF];
            }
        }
    }
}

/// Runs every complete request in `input`, appending the replies to `out`; returns the bytes
/// used. A trailing partial request waits for the next read, `progress` keeping how far it
/// was parsed.
fn run_batch(
    input: &[u8],
    out: &mut Vec<u8>,
    client: &mut Client,
    progress: &mut Progress,
) -> Result<usize, ProtocolError> {
    let mut args = Vec::new();
    let mut used = 0;
    while used < input.len() && !client.quit {
        match parse(&input[used..], &mut args, progress)? {
            None => break,
            Some(n) => {
                used += n;
                if !args.is_empty() {
                    client.execute(&args, out);
                }
            }
        }
    }
    Ok(used)
}
