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
//!
//! Tests: `tests/examples_redis.rs`, `scripts/real-clients/redis.sh`; speed beside a real
//! redis-server: `cargo bench --bench redis`.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::future::{poll_fn, Future};
use std::io::{self, Write};
use std::net::Shutdown;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Poll;
use std::time::{Duration, Instant};

use runtime::net::{TcpListener, TcpStream};
use runtime::sync::channel::{self, TrySendError};
use runtime::sync::Event;
use runtime::task::JoinHandle;

#[runtime::main]
async fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut addr = "127.0.0.1:6379".to_owned();
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--addr", Some(a)) => addr = a,
            _ => {
                eprintln!("usage: mini_redis [--addr HOST:PORT]");
                std::process::exit(2);
            }
        }
    }
    let listener = TcpListener::bind(&addr).await?;
    println!("listening on {}", listener.local_addr()?);
    io::stdout().flush()?;
    serve(listener).await;
    Ok(())
}

/// Serves RESP clients accepted from `listener` until the future is dropped.
pub async fn serve(listener: TcpListener) {
    let shared = Arc::new(Shared::new());
    // The sweeper lives exactly as long as the server.
    let _sweeper = AbortOnDrop(runtime::spawn(sweep_expired(shared.clone())));
    loop {
        match listener.accept().await {
            Ok((stream, _)) => drop(runtime::spawn(connection(stream, shared.clone()))),
            Err(e) => {
                // Out of file descriptors or memory: nothing will signal when that ends, so
                // back off briefly instead of spinning on a listener that stays readable.
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

async fn connection(mut stream: TcpStream, shared: Arc<Shared>) {
    // Replies are written whole, once per batch: Nagle would only delay them.
    let _ = stream.set_nodelay(true);
    let mut client = Client::new(shared);
    let mut input = InputBuf::new();
    let mut out = Vec::with_capacity(READ_BUF);
    loop {
        let Some(spare) = input.spare() else {
            return; // past the query-buffer limit
        };
        match next_input(&mut stream, spare, client.inbox.as_ref().map(|(_, rx)| rx)).await {
            // Closed or reset: a request it left half-sent is dropped with `input`.
            Input::Read(Ok(0) | Err(_)) => return,
            Input::Read(Ok(n)) => {
                input.filled(n);
                match run_batch(input.data(), &mut out, &mut client) {
                    Ok(used) => input.consume(used),
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
            if stream.write_all(&out).await.is_err() {
                return;
            }
            out.clear();
            if out.capacity() > 16 * READ_BUF {
                out = Vec::with_capacity(READ_BUF); // a one-off big reply shouldn't stay
            }
        }
        if client.quit {
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
/// used. A trailing partial request waits for the next read.
fn run_batch(input: &[u8], out: &mut Vec<u8>, client: &mut Client) -> Result<usize, ProtocolError> {
    let mut args = Vec::new();
    let mut used = 0;
    while used < input.len() && !client.quit {
        match parse(&input[used..], &mut args)? {
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

// ===== the RESP parser =====

/// Why a request can't be parsed; the client gets `-ERR Protocol error: …` and is closed.
#[derive(Debug)]
struct ProtocolError(Cow<'static, str>);

fn protocol<T>(why: &'static str) -> Result<T, ProtocolError> {
    Err(ProtocolError(Cow::Borrowed(why)))
}

/// Redis's limits: inline lines and length lines, arguments per request, bytes per argument.
const MAX_LINE: usize = 64 * 1024;
const MAX_ARGS: i64 = 1024 * 1024;
const MAX_BULK: i64 = 512 * 1024 * 1024;

/// Parses the request at the start of `buf` into `args` (empty for a blank inline line).
/// `Ok(Some(n))`: a request of `n` bytes; `Ok(None)`: incomplete, read more.
fn parse<'a>(buf: &'a [u8], args: &mut Vec<Cow<'a, [u8]>>) -> Result<Option<usize>, ProtocolError> {
    args.clear();
    if buf[0] != b'*' {
        return parse_inline(buf, args);
    }
    let Some((count, mut at)) = crlf_line(buf, 1, "too big mbulk count string")? else {
        return Ok(None);
    };
    let count = match parse_int(count) {
        Some(n) if n <= MAX_ARGS => n,
        _ => return protocol("invalid multibulk length"),
    };
    for _ in 0..count {
        match buf.get(at) {
            None => return Ok(None),
            Some(b'$') => {}
            Some(&c) => {
                let why = format!("expected '$', got '{}'", c.escape_ascii());
                return Err(ProtocolError(Cow::Owned(why)));
            }
        }
        let Some((len, data)) = crlf_line(buf, at + 1, "too big bulk count string")? else {
            return Ok(None);
        };
        let len = match parse_int(len) {
            Some(n) if (0..=MAX_BULK).contains(&n) => n as usize,
            _ => return protocol("invalid bulk length"),
        };
        let end = data + len;
        match buf.get(end..end + 2) {
            None => return Ok(None),
            Some(b"\r\n") => {}
            Some(_) => return protocol("expected CRLF after bulk string"),
        }
        args.push(Cow::Borrowed(&buf[data..end]));
        at = end + 2;
    }
    Ok(Some(at))
}

/// The CRLF-terminated line from `at`, and where the next begins; `Ok(None)` if incomplete.
fn crlf_line<'a>(
    buf: &'a [u8],
    at: usize,
    too_long: &'static str,
) -> Result<Option<(&'a [u8], usize)>, ProtocolError> {
    let rest = buf.get(at..).unwrap_or_default();
    match rest.iter().position(|&b| b == b'\r') {
        Some(i) if i + 1 == rest.len() => Ok(None),
        Some(i) if rest[i + 1] == b'\n' => Ok(Some((&rest[..i], at + i + 2))),
        Some(_) => protocol("expected CRLF"),
        None if rest.len() > MAX_LINE => protocol(too_long),
        None => Ok(None),
    }
}

/// An inline request: one line of space-separated words, with Redis's quoting rules
/// (`"a b\n"` with escapes, `'a b'` literal).
fn parse_inline<'a>(
    buf: &'a [u8],
    args: &mut Vec<Cow<'a, [u8]>>,
) -> Result<Option<usize>, ProtocolError> {
    let Some(nl) = buf.iter().position(|&b| b == b'\n') else {
        return if buf.len() > MAX_LINE {
            protocol("too big inline request")
        } else {
            Ok(None)
        };
    };
    let line = buf[..nl].strip_suffix(b"\r").unwrap_or(&buf[..nl]);
    let mut i = 0;
    loop {
        while line.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        let Some(&first) = line.get(i) else {
            return Ok(Some(nl + 1));
        };
        if first != b'"' && first != b'\'' {
            let start = i;
            while line.get(i).is_some_and(|b| !b.is_ascii_whitespace()) {
                i += 1;
            }
            args.push(Cow::Borrowed(&line[start..i]));
            continue;
        }
        let mut arg = Vec::new();
        i += 1;
        loop {
            match (line.get(i), line.get(i + 1)) {
                (None, _) => return protocol("unbalanced quotes in request"),
                (Some(&q), _) if q == first => break,
                (Some(b'\\'), Some(&c)) if first == b'"' => {
                    let hex = line
                        .get(i + 2..i + 4)
                        .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
                    match (c, hex) {
                        (b'x', Some(byte)) => (arg.push(byte), i += 2).1,
                        (b'n', _) => arg.push(b'\n'),
                        (b'r', _) => arg.push(b'\r'),
                        (b't', _) => arg.push(b'\t'),
                        (b'b', _) => arg.push(8),
                        (b'a', _) => arg.push(7),
                        (c, _) => arg.push(c),
                    }
                    i += 2;
                }
                (Some(b'\\'), Some(b'\'')) => (arg.push(b'\''), i += 2).1,
                (Some(&c), _) => (arg.push(c), i += 1).1,
            }
        }
        i += 1; // the closing quote, which must end the word
        if line.get(i).is_some_and(|b| !b.is_ascii_whitespace()) {
            return protocol("unbalanced quotes in request");
        }
        args.push(Cow::Owned(arg));
    }
}

/// A decimal `i64` as Redis reads one: optional `-`, digits, no `+`, spaces or leading zeros.
fn parse_int(s: &[u8]) -> Option<i64> {
    let (negative, digits) = match s.strip_prefix(b"-") {
        Some(digits) => (true, digits),
        None => (false, s),
    };
    if digits.is_empty() || (digits[0] == b'0' && s.len() > 1) {
        return None;
    }
    // Accumulating towards the sign reaches i64::MIN without overflowing.
    digits.iter().try_fold(0i64, |n, &byte| {
        let digit = i64::from(byte.wrapping_sub(b'0'));
        if digit > 9 {
            return None;
        }
        let n = n.checked_mul(10)?;
        if negative {
            n.checked_sub(digit)
        } else {
            n.checked_add(digit)
        }
    })
}

// ===== commands =====

/// One connection's state beyond its socket; dropping it removes its subscriptions.
struct Client {
    id: u64,
    shared: Arc<Shared>,
    /// The channels it subscribed to: non-empty puts it in subscriber mode.
    channels: HashSet<Vec<u8>>,
    /// Where published messages arrive; made on the first SUBSCRIBE.
    inbox: Option<(channel::Sender<Frame>, channel::Receiver<Frame>)>,
    /// Close after writing the replies so far (QUIT, protocol error).
    quit: bool,
}

impl Drop for Client {
    fn drop(&mut self) {
        for name in self.channels.drain() {
            self.shared.pubsub.unsubscribe(&name, self.id);
        }
        self.shared.clients.fetch_sub(1, SeqCst);
    }
}

/// Commands this server knows, for the wrong-arity error (the `execute` match has the rest).
#[rustfmt::skip]
const KNOWN: &[&[u8]] = &[
    b"PING", b"ECHO", b"GET", b"SET", b"DEL", b"EXISTS", b"INCR", b"DECR", b"EXPIRE",
    b"PEXPIRE", b"PERSIST", b"TTL", b"PTTL", b"MGET", b"DBSIZE", b"FLUSHALL", b"SUBSCRIBE",
    b"UNSUBSCRIBE", b"PUBLISH", b"INFO", b"QUIT", b"CONFIG", b"COMMAND",
];

impl Client {
    fn new(shared: Arc<Shared>) -> Client {
        shared.clients.fetch_add(1, SeqCst);
        Client {
            id: shared.next_client_id.fetch_add(1, SeqCst),
            shared,
            channels: HashSet::new(),
            inbox: None,
            quit: false,
        }
    }

    fn execute(&mut self, args: &[Cow<'_, [u8]>], out: &mut Vec<u8>) {
        let mut upper = [0; 16];
        let name = match args[0].len() {
            n @ 1..=16 => {
                upper[..n].copy_from_slice(&args[0]);
                upper[..n].make_ascii_uppercase();
                &upper[..n]
            }
            _ => b"",
        };
        if !self.channels.is_empty()
            && !matches!(name, b"SUBSCRIBE" | b"UNSUBSCRIBE" | b"PING" | b"QUIT")
        {
            let msg = format!(
                "ERR Can't execute '{}': only SUBSCRIBE / UNSUBSCRIBE / PING / QUIT are allowed in this context",
                args[0].escape_ascii()
            );
            return error(out, &msg);
        }
        let db = &self.shared.db;
        match (name, args.len()) {
            (b"PING", 1) if self.channels.is_empty() => out.extend_from_slice(b"+PONG\r\n"),
            (b"PING", 1 | 2) if !self.channels.is_empty() => {
                array(out, 2);
                bulk(out, b"pong");
                bulk(out, args.get(1).map_or(b"", |m| m));
            }
            (b"PING" | b"ECHO", 2) => bulk(out, &args[1]),
            (b"GET", 2) => db.get(&args[1], out),
            (b"SET", 3..) => set(db, args, out),
            (b"DEL", 2..) => integer(out, args[1..].iter().filter(|k| db.del(k)).count() as i64),
            (b"EXISTS", 2..) => {
                integer(
                    out,
                    args[1..].iter().filter(|k| db.exists(k)).count() as i64,
                );
            }
            (b"INCR" | b"DECR", 2) => {
                match db.incr_by(&args[1], if name == b"INCR" { 1 } else { -1 }) {
                    Ok(n) => integer(out, n),
                    Err(msg) => error(out, msg),
                }
            }
            (b"EXPIRE" | b"PEXPIRE", 3) => {
                let unit = if name == b"EXPIRE" { 1000 } else { 1 };
                match parse_int(&args[2]).and_then(|n| n.checked_mul(unit)) {
                    None => error(out, NOT_AN_INTEGER),
                    Some(ms) => match db.expire(&args[1], ms) {
                        Ok(existed) => integer(out, existed.into()),
                        Err(()) => error(
                            out,
                            &format!("ERR invalid expire time in '{}' command", lower(&args[0])),
                        ),
                    },
                }
            }
            (b"PERSIST", 2) => integer(out, db.persist(&args[1]).into()),
            (b"TTL" | b"PTTL", 2) => integer(
                out,
                match db.ttl(&args[1]) {
                    Ttl::Missing => -2,
                    Ttl::Forever => -1,
                    Ttl::Left(d) if name == b"TTL" => ((d.as_millis() + 500) / 1000) as i64,
                    Ttl::Left(d) => d.as_millis() as i64,
                },
            ),
            (b"MGET", 2..) => {
                array(out, args.len() - 1);
                for key in &args[1..] {
                    db.get(key, out);
                }
            }
            (b"DBSIZE", 1) => integer(out, db.len() as i64),
            (b"FLUSHALL", _) => {
                db.clear();
                out.extend_from_slice(b"+OK\r\n");
            }
            (b"SUBSCRIBE", 2..) => {
                for name in &args[1..] {
                    self.subscribe(name);
                    array(out, 3);
                    bulk(out, b"subscribe");
                    bulk(out, name);
                    integer(out, self.channels.len() as i64);
                }
            }
            (b"UNSUBSCRIBE", _) => self.unsubscribe(&args[1..], out),
            (b"PUBLISH", 3) => integer(out, self.shared.pubsub.publish(&args[1], &args[2]) as i64),
            (b"INFO", _) => bulk(out, self.info().as_bytes()),
            (b"QUIT", _) => {
                out.extend_from_slice(b"+OK\r\n");
                self.quit = true;
            }
            // redis-benchmark reads these two on startup.
            (b"CONFIG", 3) if args[1].eq_ignore_ascii_case(b"GET") => {
                let params: [(&[u8], &[u8]); 2] = [(b"save", b""), (b"appendonly", b"no")];
                let hits: Vec<_> = params
                    .iter()
                    .filter(|(p, _)| &*args[2] == b"*" || args[2].eq_ignore_ascii_case(p))
                    .collect();
                array(out, hits.len() * 2);
                for (param, value) in hits {
                    bulk(out, param);
                    bulk(out, value);
                }
            }
            // redis-cli asks for command docs to offer hints; it makes do without.
            (b"COMMAND", _) => array(out, 0),
            (name, _) if KNOWN.contains(&name) => error(
                out,
                &format!(
                    "ERR wrong number of arguments for '{}' command",
                    lower(&args[0])
                ),
            ),
            _ => {
                let mut msg = format!(
                    "ERR unknown command '{}', with args beginning with: ",
                    args[0].escape_ascii()
                );
                for arg in args[1..].iter().take(8) {
                    msg.push_str(&format!("'{}' ", arg.escape_ascii()));
                }
                error(out, &msg);
            }
        }
    }

    fn subscribe(&mut self, name: &[u8]) {
        if self.channels.contains(name) {
            return;
        }
        let (tx, _) = self
            .inbox
            .get_or_insert_with(|| channel::bounded(SUBSCRIBER_BACKLOG));
        self.shared.pubsub.subscribe(name, self.id, tx.clone());
        self.channels.insert(name.to_vec());
    }

    /// UNSUBSCRIBE from `names`, or from every channel when none are given.
    fn unsubscribe(&mut self, names: &[Cow<'_, [u8]>], out: &mut Vec<u8>) {
        let names: Vec<Vec<u8>> = if names.is_empty() {
            self.channels.iter().cloned().collect()
        } else {
            names.iter().map(|n| n.to_vec()).collect()
        };
        if names.is_empty() {
            array(out, 3);
            bulk(out, b"unsubscribe");
            nil(out);
            integer(out, 0);
        }
        for name in names {
            if self.channels.remove(&name) {
                self.shared.pubsub.unsubscribe(&name, self.id);
            }
            array(out, 3);
            bulk(out, b"unsubscribe");
            bulk(out, &name);
            integer(out, self.channels.len() as i64);
        }
        if self.channels.is_empty() {
            // Messages published before the UNSUBSCRIBE are still delivered, then the inbox goes.
            self.drain_inbox(out);
            self.inbox = None;
        }
    }

    /// Appends the messages already waiting in the inbox.
    fn drain_inbox(&mut self, out: &mut Vec<u8>) {
        if let Some((_, rx)) = &self.inbox {
            while let Ok(frame) = rx.try_recv() {
                out.extend_from_slice(&frame);
            }
        }
    }

    fn info(&self) -> String {
        let m = runtime::Handle::current().metrics();
        let (keys, expires) = self.shared.db.counts();
        format!(
            "# Server\r\nserver:mini_redis\r\nruntime_workers:{}\r\n\r\n\
             # Clients\r\nconnected_clients:{}\r\n\r\n\
             # Runtime\r\nalive_tasks:{}\r\nspawned_tasks:{}\r\nio_registrations:{}\r\n\r\n\
             # Keyspace\r\ndb0:keys={keys},expires={expires}\r\n",
            m.workers,
            self.shared.clients.load(SeqCst),
            m.alive_tasks,
            m.spawned_tasks,
            m.io_registrations,
        )
    }
}

const NOT_AN_INTEGER: &str = "ERR value is not an integer or out of range";
const SYNTAX: &str = "ERR syntax error";

/// SET key value [EX s | PX ms] [NX | XX] [KEEPTTL] [GET]
fn set(db: &Db, args: &[Cow<'_, [u8]>], out: &mut Vec<u8>) {
    let mut opts = SetOptions::default();
    let mut i = 3;
    while i < args.len() {
        let opt = args[i].to_ascii_uppercase();
        match (opt.as_slice(), args.get(i + 1)) {
            (b"EX" | b"PX", Some(n)) if opts.expires_at.is_none() && !opts.keep_ttl => {
                let unit = if opt == b"EX" { 1000 } else { 1 };
                let Some(ms) = parse_int(n).and_then(|n| n.checked_mul(unit)) else {
                    return error(out, NOT_AN_INTEGER);
                };
                match u64::try_from(ms)
                    .ok()
                    .filter(|&ms| ms > 0)
                    .and_then(|ms| Instant::now().checked_add(Duration::from_millis(ms)))
                {
                    Some(at) => opts.expires_at = Some(at),
                    None => return error(out, "ERR invalid expire time in 'set' command"),
                }
                i += 1;
            }
            (b"NX", _) if !opts.only_if_exists => opts.only_if_missing = true,
            (b"XX", _) if !opts.only_if_missing => opts.only_if_exists = true,
            (b"KEEPTTL", _) if opts.expires_at.is_none() => opts.keep_ttl = true,
            (b"GET", _) => opts.get = true,
            _ => return error(out, SYNTAX),
        }
        i += 1;
    }
    let get = opts.get;
    match db.set(&args[1], &args[2], opts) {
        (_, Some(old)) if get => bulk(out, &old),
        (true, _) if !get => out.extend_from_slice(b"+OK\r\n"),
        _ => nil(out), // not written, or no old value for GET
    }
}

fn lower(name: &[u8]) -> String {
    name.escape_ascii().to_string().to_ascii_lowercase()
}

// ===== replies =====

fn error(out: &mut Vec<u8>, msg: &str) {
    out.push(b'-');
    out.extend_from_slice(msg.as_bytes());
    out.extend_from_slice(b"\r\n");
}

fn integer(out: &mut Vec<u8>, n: i64) {
    let _ = write!(out, ":{n}\r\n"); // writing to a Vec can't fail
}

fn nil(out: &mut Vec<u8>) {
    out.extend_from_slice(b"$-1\r\n");
}

fn bulk(out: &mut Vec<u8>, data: &[u8]) {
    let _ = write!(out, "${}\r\n", data.len());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

fn array(out: &mut Vec<u8>, len: usize) {
    let _ = write!(out, "*{len}\r\n");
}

// ===== the keyspace =====

const SHARDS: usize = 32;
/// Keys the sweeper deletes from one shard before letting others have the lock.
const SWEEP_BATCH: usize = 256;

type Key = Arc<[u8]>;

struct Entry {
    value: Vec<u8>,
    expires_at: Option<Instant>,
}

impl Entry {
    fn is_expired(&self) -> bool {
        self.expires_at.is_some_and(|at| at <= Instant::now())
    }
}

/// One shard: its entries, and the deadlines of those that expire, soonest first.
#[derive(Default)]
struct Shard {
    entries: HashMap<Key, Entry>,
    /// Holds `(at, key)` exactly for the entries whose `expires_at` is `Some(at)`.
    expirations: BTreeSet<(Instant, Key)>,
}

impl Shard {
    /// The entry for `key` unless its time is up, in which case it is deleted now (lazy
    /// expiry: a reader never sees a key past its deadline, whenever the sweeper runs).
    fn live(&mut self, key: &[u8]) -> Option<&mut Entry> {
        if self.entries.get(key)?.is_expired() {
            self.remove(key);
            return None;
        }
        self.entries.get_mut(key)
    }

    fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let (key, entry) = self.entries.remove_entry(key)?;
        if let Some(at) = entry.expires_at {
            self.expirations.remove(&(at, key));
        }
        Some(entry)
    }

    /// Gives the entry for `key`, which must exist, the deadline `at`.
    fn set_expiry(&mut self, key: &[u8], at: Option<Instant>) {
        let Some((key, entry)) = self.entries.get_key_value(key) else {
            return;
        };
        let (key, old) = (key.clone(), entry.expires_at);
        if old == at {
            return;
        }
        if let Some(old) = old {
            self.expirations.remove(&(old, key.clone()));
        }
        if let Some(at) = at {
            self.expirations.insert((at, key.clone()));
        }
        if let Some(entry) = self.entries.get_mut(&key) {
            entry.expires_at = at;
        }
    }
}

#[derive(Default)]
struct SetOptions {
    expires_at: Option<Instant>,
    keep_ttl: bool,
    only_if_missing: bool,
    only_if_exists: bool,
    get: bool,
}

enum Ttl {
    Missing,
    Forever,
    Left(Duration),
}

/// The keyspace: [`SHARDS`] independently locked shards, and the sweeper's alarm clock.
struct Db {
    shards: Box<[Mutex<Shard>]>,
    /// Set to wake the sweeper early: a deadline sooner than the one it sleeps until appeared.
    sweeper_wake: Event,
    /// The deadline the sweeper sleeps until, in nanoseconds since `epoch`; `u64::MAX` while
    /// it sweeps or has nothing to wait for, so that any new deadline then sets `sweeper_wake`.
    sweeper_deadline: AtomicU64,
    epoch: Instant,
}

impl Db {
    fn new() -> Db {
        Db {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            sweeper_wake: Event::new(),
            sweeper_deadline: AtomicU64::new(u64::MAX),
            epoch: Instant::now(),
        }
    }

    fn shard(&self, key: &[u8]) -> MutexGuard<'_, Shard> {
        // FNV-1a: cheap for short keys, and the shard's HashMap hashes the key again with its
        // flood-resistant SipHash anyway; a crafted key set can only crowd one shard.
        let hash = key.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        lock(&self.shards[(hash % SHARDS as u64) as usize])
    }

    fn nanos(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.epoch)
            .as_nanos()
            .try_into()
            .unwrap_or(u64::MAX)
    }

    /// Called after a deadline `at` was stored (and its shard unlocked).
    fn deadline_added(&self, at: Instant) {
        if self.nanos(at) < self.sweeper_deadline.load(SeqCst) {
            self.sweeper_wake.set();
        }
    }

    /// Appends GET's reply for `key` to `out`.
    fn get(&self, key: &[u8], out: &mut Vec<u8>) {
        match self.shard(key).live(key) {
            Some(entry) => bulk(out, &entry.value),
            None => nil(out),
        }
    }

    /// Whether it wrote, and the previous value if `opts.get` asked for it.
    fn set(&self, key: &[u8], value: &[u8], opts: SetOptions) -> (bool, Option<Vec<u8>>) {
        let mut shard = self.shard(key);
        let old = shard.live(key);
        if (old.is_some() && opts.only_if_missing) || (old.is_none() && opts.only_if_exists) {
            let old = old.filter(|_| opts.get).map(|e| e.value.clone());
            return (false, old);
        }
        let old = match old {
            Some(entry) if opts.get => Some(std::mem::replace(&mut entry.value, value.to_vec())),
            Some(entry) => {
                // Overwriting reuses the value's buffer: no allocation for same-size values.
                entry.value.clear();
                entry.value.extend_from_slice(value);
                None
            }
            None => {
                let entry = Entry {
                    value: value.to_vec(),
                    expires_at: None,
                };
                shard.entries.insert(key.into(), entry);
                None
            }
        };
        if !opts.keep_ttl {
            shard.set_expiry(key, opts.expires_at);
        }
        drop(shard);
        if let Some(at) = opts.expires_at {
            self.deadline_added(at);
        }
        (true, old)
    }

    fn del(&self, key: &[u8]) -> bool {
        self.shard(key)
            .remove(key)
            .is_some_and(|entry| !entry.is_expired())
    }

    fn exists(&self, key: &[u8]) -> bool {
        self.shard(key).live(key).is_some()
    }

    fn incr_by(&self, key: &[u8], delta: i64) -> Result<i64, &'static str> {
        let mut shard = self.shard(key);
        match shard.live(key) {
            Some(entry) => {
                let n = parse_int(&entry.value).ok_or(NOT_AN_INTEGER)?;
                let n = n
                    .checked_add(delta)
                    .ok_or("ERR increment or decrement would overflow")?;
                entry.value.clear();
                let _ = write!(entry.value, "{n}");
                Ok(n)
            }
            None => {
                let entry = Entry {
                    value: delta.to_string().into_bytes(),
                    expires_at: None,
                };
                shard.entries.insert(key.into(), entry);
                Ok(delta)
            }
        }
    }

    /// EXPIRE in milliseconds: whether the key existed; `Err` if the deadline overflows.
    /// A deadline not in the future deletes the key, as in Redis.
    fn expire(&self, key: &[u8], ms: i64) -> Result<bool, ()> {
        let mut shard = self.shard(key);
        if shard.live(key).is_none() {
            return Ok(false);
        }
        if ms <= 0 {
            shard.remove(key);
            return Ok(true);
        }
        let at = Instant::now()
            .checked_add(Duration::from_millis(ms as u64))
            .ok_or(())?;
        shard.set_expiry(key, Some(at));
        drop(shard);
        self.deadline_added(at);
        Ok(true)
    }

    fn persist(&self, key: &[u8]) -> bool {
        let mut shard = self.shard(key);
        match shard.live(key) {
            Some(entry) if entry.expires_at.is_some() => {
                shard.set_expiry(key, None);
                true
            }
            _ => false,
        }
    }

    fn ttl(&self, key: &[u8]) -> Ttl {
        match self.shard(key).live(key) {
            None => Ttl::Missing,
            Some(Entry {
                expires_at: None, ..
            }) => Ttl::Forever,
            Some(Entry {
                expires_at: Some(at),
                ..
            }) => Ttl::Left(at.saturating_duration_since(Instant::now())),
        }
    }

    /// Keys (counting expired ones the sweeper has not reached yet, as Redis does).
    fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).entries.len()).sum()
    }

    /// Keys, and keys with a deadline.
    fn counts(&self) -> (usize, usize) {
        self.shards.iter().fold((0, 0), |(k, e), s| {
            let s = lock(s);
            (k + s.entries.len(), e + s.expirations.len())
        })
    }

    fn clear(&self) {
        for shard in self.shards.iter() {
            *lock(shard) = Shard::default();
        }
    }

    /// Deletes the keys whose deadline has passed, at most [`SWEEP_BATCH`] per shard; returns
    /// the earliest deadline left (in the past if a batch ran out).
    fn sweep(&self, now: Instant) -> Option<Instant> {
        let mut earliest: Option<Instant> = None;
        for shard in self.shards.iter() {
            let mut shard = lock(shard);
            let mut budget = SWEEP_BATCH;
            while let Some(&(at, _)) = shard.expirations.first() {
                if at > now || budget == 0 {
                    earliest = Some(earliest.map_or(at, |e| e.min(at)));
                    break;
                }
                if let Some((_, key)) = shard.expirations.pop_first() {
                    shard.entries.remove(&key);
                }
                budget -= 1;
            }
        }
        earliest
    }
}

/// The background half of expiry: deletes keys nobody reads after their deadline passes.
///
/// It sleeps until the earliest deadline in the keyspace, or until a command stores a sooner
/// one (`Db::deadline_added` sets `sweeper_wake`). The order below makes that race-free: the
/// deadline word reads "none" and the event is cleared *before* the shards are scanned, so a
/// deadline the scan misses was stored after it and either sees "none" (and sets the event)
/// or sees the deadline the sweeper is about to sleep until, which it then compares against.
async fn sweep_expired(shared: Arc<Shared>) {
    let db = &shared.db;
    loop {
        db.sweeper_deadline.store(u64::MAX, SeqCst);
        db.sweeper_wake.clear();
        let now = Instant::now();
        match db.sweep(now) {
            // A batch ran out: let other tasks run before the next one.
            Some(at) if at <= now => runtime::yield_now().await,
            Some(at) => {
                db.sweeper_deadline.store(db.nanos(at), SeqCst);
                // Ok: woken for a sooner deadline; Err: this one came. Either way, sweep.
                let _ = runtime::time::timeout_at(at, db.sweeper_wake.wait()).await;
            }
            None => db.sweeper_wake.wait().await,
        }
    }
}

// ===== pub/sub =====

/// A channel's subscribers: each is a client id and the sender of its inbox.
type Subscribers = Vec<(u64, channel::Sender<Frame>)>;

/// Subscribers by channel name.
#[derive(Default)]
struct PubSub {
    channels: Mutex<HashMap<Vec<u8>, Subscribers>>,
}

impl PubSub {
    fn subscribe(&self, name: &[u8], id: u64, inbox: channel::Sender<Frame>) {
        lock(&self.channels)
            .entry(name.to_vec())
            .or_default()
            .push((id, inbox));
    }

    fn unsubscribe(&self, name: &[u8], id: u64) {
        let mut channels = lock(&self.channels);
        if let Some(subscribers) = channels.get_mut(name) {
            subscribers.retain(|(sub, _)| *sub != id);
            if subscribers.is_empty() {
                channels.remove(name);
            }
        }
    }

    /// Sends `message` to every subscriber of `name`; returns how many got it.
    fn publish(&self, name: &[u8], message: &[u8]) -> usize {
        let mut frame = Vec::with_capacity(32 + name.len() + message.len());
        array(&mut frame, 3);
        bulk(&mut frame, b"message");
        bulk(&mut frame, name);
        bulk(&mut frame, message);
        let frame: Frame = frame.into();
        let channels = lock(&self.channels);
        let Some(subscribers) = channels.get(name) else {
            return 0;
        };
        let mut received = 0;
        for (_, inbox) in subscribers {
            match inbox.try_send(frame.clone()) {
                Ok(()) => received += 1,
                // A whole backlog behind: closing its inbox ends its connection once it
                // has written what is queued.
                Err(TrySendError::Full(_)) => drop(inbox.close()),
                Err(TrySendError::Closed(_)) => {}
            }
        }
        received
    }
}
