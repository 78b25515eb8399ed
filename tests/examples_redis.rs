//! The `mini_redis` example, run as a process and driven over loopback by a small RESP client
//! written on `std::net`: every command, expiry (lazy and swept), pipelining, inline requests,
//! malformed input, clients that vanish mid-request, pub/sub between connections, and the
//! drain on SIGTERM.
//!
//! Needs the example built: `cargo build --examples --all-features`.

mod support;

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use support::example::{assert_closed_soon, assert_refused, drain_report, Server};
use support::HANG_GUARD;

/// A reply, as RESP2 types it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

use Reply::{Array, Int};

fn ok() -> Reply {
    Reply::Simple("OK".into())
}

fn bulk(s: &str) -> Reply {
    Reply::Bulk(Some(s.as_bytes().to_vec()))
}

fn nil() -> Reply {
    Reply::Bulk(None)
}

fn arr(items: Vec<Reply>) -> Reply {
    Array(Some(items))
}

fn message(channel: &str, payload: &str) -> Reply {
    arr(vec![bulk("message"), bulk(channel), bulk(payload)])
}

/// One client connection; every read is bounded by [`HANG_GUARD`].
struct Client {
    writer: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connect to mini_redis");
        stream.set_read_timeout(Some(HANG_GUARD)).unwrap();
        Client {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
        }
    }

    fn send_raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write to mini_redis");
    }

    fn send(&mut self, args: &[&[u8]]) {
        self.send_raw(&encode(args));
    }

    fn cmd(&mut self, args: &[&str]) -> Reply {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.send(&args);
        self.reply()
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => panic!("the server closed the connection"),
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!("no reply within {HANG_GUARD:?}")
            }
            Err(e) => panic!("reading a reply: {e}"),
        }
        line.strip_suffix("\r\n")
            .unwrap_or_else(|| panic!("reply line without CRLF: {line:?}"))
            .to_owned()
    }

    fn reply(&mut self) -> Reply {
        let line = self.line();
        let (kind, rest) = line.split_at(1);
        let len = || rest.parse::<i64>().expect("a length");
        match kind {
            "+" => Reply::Simple(rest.into()),
            "-" => Reply::Error(rest.into()),
            ":" => Int(len()),
            "$" if len() < 0 => nil(),
            "$" => {
                let mut data = vec![0; len() as usize + 2];
                self.reader.read_exact(&mut data).expect("bulk data");
                assert_eq!(&data[data.len() - 2..], b"\r\n", "bulk without CRLF");
                data.truncate(data.len() - 2);
                Reply::Bulk(Some(data))
            }
            "*" if len() < 0 => Array(None),
            "*" => arr((0..len()).map(|_| self.reply()).collect()),
            _ => panic!("not a RESP reply: {line:?}"),
        }
    }

    /// Asserts the server closes the connection without saying more.
    fn expect_closed(&mut self) {
        let mut rest = Vec::new();
        match self.reader.read_to_end(&mut rest) {
            Ok(_) => assert!(rest.is_empty(), "more after the last reply: {rest:?}"),
            // Closed with unread input of ours still queued: a reset is a close too.
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
            Err(e) => panic!("the server did not close the connection: {e}"),
        }
    }

    fn info(&mut self) -> String {
        let Reply::Bulk(Some(info)) = self.cmd(&["INFO"]) else {
            panic!("INFO is a bulk string");
        };
        String::from_utf8(info).unwrap()
    }

    /// `INFO`'s `field:value` line, as a number.
    fn info_field(&mut self, field: &str) -> usize {
        let info = self.info();
        info.lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .unwrap_or_else(|| panic!("INFO has no {field}:\n{info}"))
            .parse()
            .unwrap()
    }
}

fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn is_error(reply: &Reply, prefix: &str) -> bool {
    matches!(reply, Reply::Error(e) if e.starts_with(prefix))
}

/// Watches `check` until it holds, re-checking every few milliseconds: for effects the
/// server produces on its own clock (expiry, cleanup after a disconnect). Panics after
/// [`HANG_GUARD`].
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(
            start.elapsed() < HANG_GUARD,
            "{what}: not within {HANG_GUARD:?}"
        );
        thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn strings_and_counters() {
    let server = Server::start("mini_redis", &[]);
    let mut c = Client::connect(server.addr);
    assert_eq!(c.cmd(&["PING"]), Reply::Simple("PONG".into()));
    assert_eq!(c.cmd(&["ping", "hi"]), bulk("hi"));
    assert_eq!(c.cmd(&["ECHO", "hello world"]), bulk("hello world"));

    assert_eq!(c.cmd(&["GET", "k"]), nil());
    assert_eq!(c.cmd(&["SET", "k", "v1"]), ok());
    assert_eq!(c.cmd(&["get", "k"]), bulk("v1"));
    assert_eq!(c.cmd(&["SET", "k", "v2", "NX"]), nil());
    assert_eq!(c.cmd(&["SET", "k", "v2", "XX"]), ok());
    assert_eq!(c.cmd(&["SET", "missing", "v", "XX"]), nil());
    assert_eq!(c.cmd(&["SET", "new", "v", "nx"]), ok());
    assert_eq!(c.cmd(&["SET", "k", "v3", "GET"]), bulk("v2"));
    assert_eq!(c.cmd(&["GET", "k"]), bulk("v3"));
    assert!(is_error(
        &c.cmd(&["SET", "k", "v", "NX", "XX"]),
        "ERR syntax error"
    ));
    assert!(is_error(
        &c.cmd(&["SET", "k", "v", "BOGUS"]),
        "ERR syntax error"
    ));

    // Values are binary-safe.
    let binary: &[u8] = b"a\r\nb\0c$-1\r\n";
    c.send(&[b"SET", b"bin", binary]);
    assert_eq!(c.reply(), ok());
    assert_eq!(c.cmd(&["GET", "bin"]), Reply::Bulk(Some(binary.to_vec())));

    assert_eq!(
        c.cmd(&["MGET", "k", "nothing", "new"]),
        arr(vec![bulk("v3"), nil(), bulk("v")])
    );
    assert_eq!(c.cmd(&["EXISTS", "k", "new", "nothing", "k"]), Int(3));
    assert_eq!(c.cmd(&["DEL", "k", "new", "nothing"]), Int(2));
    assert_eq!(c.cmd(&["GET", "k"]), nil());
    assert_eq!(c.cmd(&["DEL", "k"]), Int(0));

    assert_eq!(c.cmd(&["INCR", "n"]), Int(1));
    assert_eq!(c.cmd(&["INCR", "n"]), Int(2));
    assert_eq!(c.cmd(&["DECR", "n"]), Int(1));
    assert_eq!(c.cmd(&["GET", "n"]), bulk("1"));
    assert_eq!(c.cmd(&["SET", "n", "41"]), ok());
    assert_eq!(c.cmd(&["INCR", "n"]), Int(42));
    assert_eq!(c.cmd(&["SET", "n", "9223372036854775807"]), ok());
    assert!(is_error(
        &c.cmd(&["INCR", "n"]),
        "ERR increment or decrement would overflow"
    ));
    assert_eq!(c.cmd(&["SET", "n", "-9223372036854775808"]), ok());
    assert!(is_error(
        &c.cmd(&["DECR", "n"]),
        "ERR increment or decrement would overflow"
    ));
    assert_eq!(c.cmd(&["INCR", "n"]), Int(-9223372036854775807));
    assert_eq!(c.cmd(&["SET", "n", "-10"]), ok());
    assert_eq!(c.cmd(&["INCR", "n"]), Int(-9));
    for not_int in [
        "abc",
        " 1",
        "+1",
        "01",
        "-0",
        "-",
        "1.5",
        "",
        "99999999999999999999",
    ] {
        assert_eq!(c.cmd(&["SET", "n", not_int]), ok());
        assert!(
            is_error(&c.cmd(&["INCR", "n"]), "ERR value is not an integer"),
            "INCR of {not_int:?}"
        );
    }

    assert_eq!(c.cmd(&["DBSIZE"]), Int(2)); // bin, n
    assert_eq!(c.cmd(&["FLUSHALL"]), ok());
    assert_eq!(c.cmd(&["DBSIZE"]), Int(0));

    assert!(is_error(
        &c.cmd(&["GET"]),
        "ERR wrong number of arguments for 'get' command"
    ));
    assert!(is_error(
        &c.cmd(&["incr", "a", "b"]),
        "ERR wrong number of arguments for 'incr'"
    ));
    assert!(is_error(
        &c.cmd(&["NOPE", "x"]),
        "ERR unknown command 'NOPE'"
    ));
    // Errors leave the connection usable.
    assert_eq!(c.cmd(&["PING"]), Reply::Simple("PONG".into()));
}

#[test]
fn probes_that_real_clients_send() {
    let server = Server::start("mini_redis", &[]);
    let mut c = Client::connect(server.addr);
    // redis-benchmark reads these two settings on startup.
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "save"]),
        arr(vec![bulk("save"), bulk("")])
    );
    assert_eq!(
        c.cmd(&["config", "get", "appendonly"]),
        arr(vec![bulk("appendonly"), bulk("no")])
    );
    assert_eq!(c.cmd(&["CONFIG", "GET", "nonesuch"]), arr(vec![]));
    // redis-cli asks for command docs in interactive mode.
    assert_eq!(c.cmd(&["COMMAND", "DOCS"]), arr(vec![]));
    assert_eq!(c.cmd(&["QUIT"]), ok());
    c.expect_closed();
}

#[test]
fn expiry() {
    let server = Server::start("mini_redis", &[]);
    let mut c = Client::connect(server.addr);
    assert_eq!(c.cmd(&["TTL", "missing"]), Int(-2));
    assert_eq!(c.cmd(&["PTTL", "missing"]), Int(-2));
    assert_eq!(c.cmd(&["SET", "forever", "v"]), ok());
    assert_eq!(c.cmd(&["TTL", "forever"]), Int(-1));

    assert_eq!(c.cmd(&["SET", "hour", "v", "EX", "3600"]), ok());
    let Int(ttl) = c.cmd(&["TTL", "hour"]) else {
        panic!("TTL is an integer")
    };
    assert!((3590..=3600).contains(&ttl), "TTL {ttl}");
    let Int(pttl) = c.cmd(&["PTTL", "hour"]) else {
        panic!("PTTL is an integer")
    };
    assert!((3_590_000..=3_600_000).contains(&pttl), "PTTL {pttl}");
    // A plain SET drops the deadline; KEEPTTL keeps it.
    assert_eq!(c.cmd(&["SET", "hour", "w", "KEEPTTL"]), ok());
    assert!(matches!(c.cmd(&["TTL", "hour"]), Int(3590..=3600)));
    assert_eq!(c.cmd(&["SET", "hour", "w"]), ok());
    assert_eq!(c.cmd(&["TTL", "hour"]), Int(-1));

    assert_eq!(c.cmd(&["EXPIRE", "hour", "100"]), Int(1));
    assert!(matches!(c.cmd(&["TTL", "hour"]), Int(90..=100)));
    assert_eq!(c.cmd(&["PERSIST", "hour"]), Int(1));
    assert_eq!(c.cmd(&["PERSIST", "hour"]), Int(0));
    assert_eq!(c.cmd(&["TTL", "hour"]), Int(-1));
    assert_eq!(c.cmd(&["EXPIRE", "missing", "100"]), Int(0));
    // A deadline that is not in the future deletes the key.
    assert_eq!(c.cmd(&["EXPIRE", "hour", "-1"]), Int(1));
    assert_eq!(c.cmd(&["GET", "hour"]), nil());

    for bad in [
        &["SET", "k", "v", "EX", "0"][..],
        &["SET", "k", "v", "PX", "-5"],
    ] {
        assert!(
            is_error(&c.cmd(bad), "ERR invalid expire time in 'set' command"),
            "{bad:?}"
        );
    }
    assert!(is_error(
        &c.cmd(&["SET", "k", "v", "EX", "soon"]),
        "ERR value is not an integer"
    ));
    assert!(is_error(
        &c.cmd(&["SET", "k", "v", "EX", "1", "PX", "1"]),
        "ERR syntax error"
    ));
    assert!(is_error(
        &c.cmd(&["EXPIRE", "forever", "x"]),
        "ERR value is not an integer"
    ));

    // Lazy expiry: a read after the deadline finds nothing.
    assert_eq!(c.cmd(&["SET", "brief", "v", "PX", "30"]), ok());
    assert_eq!(c.cmd(&["PEXPIRE", "forever", "30"]), Int(1));
    eventually("brief expires", || c.cmd(&["GET", "brief"]) == nil());
    eventually("forever expires", || c.cmd(&["TTL", "forever"]) == Int(-2));
    assert_eq!(c.cmd(&["EXISTS", "brief", "forever"]), Int(0));
    // An expired key counts as missing everywhere.
    assert_eq!(c.cmd(&["SET", "gone", "5", "PX", "20"]), ok());
    eventually("gone expires", || c.cmd(&["EXISTS", "gone"]) == Int(0));
    assert_eq!(c.cmd(&["INCR", "gone"]), Int(1));
    assert_eq!(c.cmd(&["TTL", "gone"]), Int(-1));
}

#[test]
fn the_sweeper_deletes_keys_nobody_reads() {
    let server = Server::start("mini_redis", &[]);
    let mut c = Client::connect(server.addr);
    // The sweeper now sleeps until this deadline, an hour away...
    assert_eq!(c.cmd(&["SET", "later", "v", "EX", "3600"]), ok());
    // ...and sooner ones must wake it: no key below is read again, so only the sweeper can
    // make DBSIZE (which counts keys whether or not they expired) drop.
    for i in 0..200 {
        let key = format!("k{i}");
        assert_eq!(
            c.cmd(&["SET", &key, "v", "PX", &(20 + i % 7).to_string()]),
            ok()
        );
    }
    assert_eq!(c.cmd(&["SET", "kept", "v"]), ok());
    eventually("the sweeper deletes the expired keys", || {
        c.cmd(&["DBSIZE"]) == Int(2)
    });
    assert!(matches!(c.cmd(&["TTL", "later"]), Int(3590..=3600)));
    assert_eq!(c.cmd(&["GET", "kept"]), bulk("v"));
    assert!(c.info().contains("db0:keys=2,expires=1\r\n"));
}

#[test]
fn pipelined_requests_get_their_replies_in_order() {
    let server = Server::start("mini_redis", &[]);
    let mut c = Client::connect(server.addr);
    const N: usize = 2_000;
    // One write carrying every request, so the server sees many per read, and some split
    // across reads.
    let mut batch = Vec::new();
    for i in 0..N {
        let (key, value) = (format!("key:{i}"), format!("value-{i}"));
        batch.extend(encode(&[b"SET", key.as_bytes(), value.as_bytes()]));
        batch.extend(encode(&[b"GET", key.as_bytes()]));
        batch.extend(encode(&[b"INCR", b"counter"]));
    }
    // Written by another thread: the server may fill our receive buffer with replies
    // before it has read all of the batch, so reading must go on at the same time.
    let mut writer = c.writer.try_clone().unwrap();
    let sender = thread::spawn(move || writer.write_all(&batch).unwrap());
    for i in 0..N {
        assert_eq!(c.reply(), ok(), "SET #{i}");
        assert_eq!(c.reply(), bulk(&format!("value-{i}")), "GET #{i}");
        assert_eq!(c.reply(), Int(i as i64 + 1), "INCR #{i}");
    }
    sender.join().unwrap();
    assert_eq!(c.cmd(&["DBSIZE"]), Int(N as i64 + 1));

    // A request split at every byte boundary still parses.
    let request = encode(&[b"ECHO", b"split"]);
    for byte in &request {
        c.send_raw(std::slice::from_ref(byte));
        c.writer.flush().unwrap();
    }
    assert_eq!(c.reply(), bulk("split"));
}

#[test]
fn inline_requests() {
    let server = Server::start("mini_redis", &[]);
    let mut c = Client::connect(server.addr);
    c.send_raw(b"PING\r\n");
    assert_eq!(c.reply(), Reply::Simple("PONG".into()));
    // Blank lines are skipped; a bare LF ends a line too (what `nc` sends).
    c.send_raw(b"\r\n\nset  k   v\nGET k\r\n");
    assert_eq!(c.reply(), ok());
    assert_eq!(c.reply(), bulk("v"));
    c.send_raw(b"SET q \"a b\\r\\n\\x41\"\r\nGET q\r\nECHO 'it''s'\r\nECHO 'x \\' y'\r\n");
    assert_eq!(c.reply(), ok());
    assert_eq!(c.reply(), bulk("a b\r\nA"));
    // Not a quote-then-text word: `'it''s'` has text after its closing quote.
    assert!(is_error(
        &c.reply(),
        "ERR Protocol error: unbalanced quotes"
    ));
    c.expect_closed();

    let mut c = Client::connect(server.addr);
    c.send_raw(b"ECHO 'x \\' y'\r\nmget k nothing\r\n");
    assert_eq!(c.reply(), bulk("x ' y"));
    assert_eq!(c.reply(), arr(vec![bulk("v"), nil()]));
    c.send_raw(b"SET k \"unterminated\r\n");
    assert!(is_error(
        &c.reply(),
        "ERR Protocol error: unbalanced quotes"
    ));
    c.expect_closed();
}

#[test]
fn malformed_requests_get_an_error_and_a_close_and_others_carry_on() {
    let mut server = Server::start("mini_redis", &[]);
    let mut bystander = Client::connect(server.addr);
    assert_eq!(bystander.cmd(&["SET", "k", "v"]), ok());
    let too_long_inline = vec![b'a'; 70 * 1024];
    let too_long_count: Vec<u8> = [&b"*1\r\n$"[..], &[b'9'; 70 * 1024]].concat();
    let cases: [(&[u8], &str); 9] = [
        (b"*x\r\n", "invalid multibulk length"),
        (b"*99999999999\r\n", "invalid multibulk length"),
        (b"*1\r\n+PING\r\n", "expected '$', got '+'"),
        (b"*1\r\n$-5\r\n", "invalid bulk length"),
        (b"*1\r\n$abc\r\n", "invalid bulk length"),
        (b"*1\r\n$4\r\nPINGxx", "expected CRLF after bulk string"),
        (b"*1\r\n$4\rPING\r\n", "expected CRLF"),
        (&too_long_inline, "too big inline request"),
        (&too_long_count, "too big bulk count string"),
    ];
    for (input, why) in cases {
        let mut c = Client::connect(server.addr);
        // A valid request first: its reply still comes, before the error.
        let mut bytes = encode(&[b"GET", b"k"]);
        bytes.extend_from_slice(input);
        c.send_raw(&bytes);
        assert_eq!(c.reply(), bulk("v"));
        assert_eq!(
            c.reply(),
            Reply::Error(format!("ERR Protocol error: {why}")),
            "for {:?}",
            String::from_utf8_lossy(&input[..input.len().min(40)])
        );
        c.expect_closed();
    }
    assert!(server.is_running());
    assert_eq!(bystander.cmd(&["GET", "k"]), bulk("v"));
    let mut fresh = Client::connect(server.addr);
    assert_eq!(fresh.cmd(&["PING"]), Reply::Simple("PONG".into()));
}

#[test]
fn replies_before_a_close_survive_input_sent_after_them() {
    let server = Server::start("mini_redis", &[]);
    let big = vec![b'v'; 1 << 20];
    let mut c = Client::connect(server.addr);
    c.send(&[b"SET", b"big", &big]);
    assert_eq!(c.reply(), ok());
    for _ in 0..5 {
        let mut c = Client::connect(server.addr);
        // Megabytes of replies, then a bad line, then more input still arriving when the
        // server closes. Closing a socket with unread input resets it, which throws away
        // replies still queued to send; the server must deliver them all anyway.
        let mut input = Vec::new();
        for _ in 0..4 {
            input.extend(encode(&[b"GET", b"big"]));
        }
        input.extend_from_slice(b"*x\r\n");
        input.resize(input.len() + 256 * 1024, b'z');
        let mut writer = c.writer.try_clone().unwrap();
        // Write errors are expected once the server has closed.
        let sender = thread::spawn(move || drop(writer.write_all(&input)));
        for _ in 0..4 {
            assert_eq!(c.reply(), Reply::Bulk(Some(big.clone())));
        }
        assert_eq!(
            c.reply(),
            Reply::Error("ERR Protocol error: invalid multibulk length".into())
        );
        c.expect_closed();
        sender.join().unwrap();
    }
}

#[test]
fn clients_that_vanish_mid_request_leave_nothing_behind() {
    let server = Server::start("mini_redis", &[]);
    let mut watcher = Client::connect(server.addr);
    assert_eq!(watcher.info_field("connected_clients"), 1);
    let idle_tasks = watcher.info_field("alive_tasks");

    let halves: [&[u8]; 5] = [
        b"*3\r\n$3\r\nSET\r\n$1\r\nk",
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\nonly part of it",
        b"*2\r\n",
        b"GET k",
        b"*1\r\n$1000000\r\n",
    ];
    let mut gone = Vec::new();
    for half in halves {
        let mut c = Client::connect(server.addr);
        assert_eq!(c.cmd(&["PING"]), Reply::Simple("PONG".into())); // surely accepted
        c.send_raw(half);
        gone.push(c);
    }
    // A subscriber that vanishes too: its subscription must go with it.
    let mut subscriber = Client::connect(server.addr);
    assert_eq!(
        subscriber.cmd(&["SUBSCRIBE", "news"]),
        arr(vec![bulk("subscribe"), bulk("news"), Int(1)])
    );
    gone.push(subscriber);
    assert_eq!(watcher.info_field("connected_clients"), 1 + gone.len());
    assert!(watcher.info_field("alive_tasks") >= idle_tasks + gone.len());
    assert_eq!(watcher.cmd(&["PUBLISH", "news", "x"]), Int(1));

    drop(gone);
    eventually("the connections are cleaned up", || {
        watcher.info_field("connected_clients") == 1
    });
    eventually("their tasks end", || {
        watcher.info_field("alive_tasks") == idle_tasks
    });
    assert_eq!(watcher.cmd(&["PUBLISH", "news", "x"]), Int(0));
    assert_eq!(watcher.cmd(&["GET", "k"]), nil()); // no half-request ran
}

// `scripts/soak` watches `used_memory` for leaks: it must follow what the server holds, up
// and back down, not what the allocator keeps resident.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn used_memory_follows_what_the_keyspace_holds() {
    const VALUE: usize = 4 << 20;
    let server = Server::start("mini_redis", &[]);
    let mut watcher = Client::connect(server.addr);
    let before = watcher.info_field("used_memory");
    {
        // Another connection, closed before the reading: its buffers go with it.
        let mut writer = Client::connect(server.addr);
        let value = "v".repeat(VALUE);
        assert_eq!(
            writer.cmd(&["SET", "big", &value]),
            Reply::Simple("OK".into())
        );
    }
    eventually("the writer's connection is gone", || {
        watcher.info_field("connected_clients") == 1
    });
    let holding = watcher.info_field("used_memory");
    assert!(
        holding >= before + VALUE,
        "used_memory {before} -> {holding} with a {VALUE}-byte value stored"
    );
    assert_eq!(watcher.cmd(&["DEL", "big"]), Int(1));
    let after = watcher.info_field("used_memory");
    assert!(
        after + VALUE <= holding,
        "used_memory {holding} -> {after} after the value was deleted"
    );
}

#[test]
fn pub_sub_between_connections() {
    let server = Server::start("mini_redis", &[]);
    let mut sub = Client::connect(server.addr);
    let mut other = Client::connect(server.addr);
    let mut publisher = Client::connect(server.addr);

    sub.send(&[b"SUBSCRIBE", b"news", b"sport"]);
    assert_eq!(
        sub.reply(),
        arr(vec![bulk("subscribe"), bulk("news"), Int(1)])
    );
    assert_eq!(
        sub.reply(),
        arr(vec![bulk("subscribe"), bulk("sport"), Int(2)])
    );
    assert_eq!(
        other.cmd(&["SUBSCRIBE", "news"]),
        arr(vec![bulk("subscribe"), bulk("news"), Int(1)])
    );

    assert_eq!(publisher.cmd(&["PUBLISH", "news", "hello"]), Int(2));
    assert_eq!(sub.reply(), message("news", "hello"));
    assert_eq!(other.reply(), message("news", "hello"));
    assert_eq!(publisher.cmd(&["PUBLISH", "sport", "goal"]), Int(1));
    assert_eq!(publisher.cmd(&["PUBLISH", "weather", "rain"]), Int(0));
    assert_eq!(sub.reply(), message("sport", "goal"));

    // Many messages arrive whole and in order.
    for i in 0..500 {
        assert_eq!(
            publisher.cmd(&["PUBLISH", "sport", &format!("m{i}")]),
            Int(1)
        );
    }
    for i in 0..500 {
        assert_eq!(sub.reply(), message("sport", &format!("m{i}")));
    }

    // A subscribed connection takes only subscription commands (and PING).
    assert!(is_error(&sub.cmd(&["GET", "k"]), "ERR Can't execute 'GET'"));
    assert_eq!(sub.cmd(&["PING"]), arr(vec![bulk("pong"), bulk("")]));
    assert_eq!(
        sub.cmd(&["UNSUBSCRIBE", "news"]),
        arr(vec![bulk("unsubscribe"), bulk("news"), Int(1)])
    );
    assert_eq!(publisher.cmd(&["PUBLISH", "news", "again"]), Int(1));
    assert_eq!(other.reply(), message("news", "again"));
    assert_eq!(
        sub.cmd(&["UNSUBSCRIBE"]),
        arr(vec![bulk("unsubscribe"), bulk("sport"), Int(0)])
    );
    assert_eq!(publisher.cmd(&["PUBLISH", "sport", "x"]), Int(0));
    // Back to normal.
    assert_eq!(sub.cmd(&["SET", "k", "v"]), ok());
    assert_eq!(sub.cmd(&["PING"]), Reply::Simple("PONG".into()));
    assert_eq!(
        sub.cmd(&["UNSUBSCRIBE"]),
        arr(vec![bulk("unsubscribe"), nil(), Int(0)])
    );
}

#[test]
fn a_subscriber_that_falls_behind_is_cut_off() {
    let server = Server::start("mini_redis", &[]);
    let mut sub = Client::connect(server.addr);
    let mut publisher = Client::connect(server.addr);
    assert_eq!(
        sub.cmd(&["SUBSCRIBE", "firehose"]),
        arr(vec![bulk("subscribe"), bulk("firehose"), Int(1)])
    );
    // The subscriber reads nothing: once the socket buffers and its backlog are full, the
    // server stops queueing for it (PUBLISH counts nobody) instead of growing without bound.
    let payload = "x".repeat(16 * 1024);
    let mut accepted = 0;
    loop {
        match publisher.cmd(&["PUBLISH", "firehose", &payload]) {
            Int(1) => accepted += 1,
            Int(0) => break,
            other => panic!("PUBLISH replied {other:?}"),
        }
        assert!(accepted < 100_000, "the subscriber was never cut off");
    }
    assert_eq!(publisher.cmd(&["PUBLISH", "firehose", "x"]), Int(0));
    // Every message PUBLISH counted arrives, then the connection ends.
    for i in 0..accepted {
        assert_eq!(sub.reply(), message("firehose", &payload), "message #{i}");
    }
    sub.expect_closed();
    eventually("the subscriber's connection is cleaned up", || {
        publisher.info_field("connected_clients") == 1
    });
}

#[test]
fn on_sigterm_idle_clients_are_closed_and_the_command_in_flight_is_answered() {
    let mut server = Server::start("mini_redis", &["--grace", "5"]);
    let mut idle = Client::connect(server.addr);
    assert_eq!(idle.cmd(&["SET", "k", "v"]), ok());
    let mut subscriber = Client::connect(server.addr);
    assert_eq!(
        subscriber.cmd(&["SUBSCRIBE", "news"]),
        arr(vec![bulk("subscribe"), bulk("news"), Int(1)])
    );
    let mut busy = Client::connect(server.addr);
    // A full round trip first, so the server has accepted this connection before the
    // signal (a connect returns once the kernel queued it, not once the server took it).
    assert_eq!(busy.cmd(&["PING"]), Reply::Simple("PONG".into()));
    busy.send_raw(b"*2\r\n$3\r\nGET\r\n$1\r\n");

    let began = server.begin_shutdown(libc::SIGTERM);
    assert!(began.contains("draining 3 connections"), "{began}");
    assert_refused(server.addr);
    assert_closed_soon(&mut idle.writer);
    assert_closed_soon(&mut subscriber.writer);
    busy.send_raw(b"k\r\n");
    assert_eq!(busy.reply(), bulk("v"));
    busy.expect_closed();

    let (status, out) = server.process.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "{status}\n{out}");
    assert_eq!(drain_report(&out), (3, 0), "{out}");
}
