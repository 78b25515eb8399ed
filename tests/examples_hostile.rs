//! Hostile clients against the `http` and `mini_redis` examples, run as the programs a user
//! starts: a slowloris (many connections, each sending a byte now and then) must neither
//! starve other clients nor hold more than `--max-conns` sockets, and each slow connection
//! is answered and closed at the time limit; oversize and malformed requests each get their
//! error (431, 413, 400, `-ERR …`) and a close, and the server's peak memory (`VmHWM`) stays
//! under [`PEAK_RSS_BOUND_KIB`] after all of it.
//!
//! Needs the examples built: `cargo build --examples --all-features`.

mod support;

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};
use support::example::Server;
use support::HANG_GUARD;

/// What the servers' peak resident memory stays under through the attacks here (their own
/// start is a few MiB). Each attack sends several times this in all, so a server that
/// buffered what a client merely declares or keeps sending would pass it.
const PEAK_RSS_BOUND_KIB: u64 = 64 * 1024;
/// Connections per attack, at once.
const ATTACKERS: usize = 8;
/// What each attacker sends after its request, unless the server closes first.
const FLOOD: usize = 16 << 20;

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(HANG_GUARD)).unwrap();
    stream.set_write_timeout(Some(HANG_GUARD)).unwrap();
    stream
}

/// A `/proc/PID/status` field, in KiB.
fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().strip_suffix(" kB")?.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("/proc/PID/fd")
        .count()
}

fn assert_peak_rss_bounded(server: &mut Server, what: &str) {
    assert!(server.is_running(), "the server died under {what}");
    let peak = proc_status_kib(server.process.pid(), "VmHWM");
    println!("peak RSS after {what}: {peak} KiB (bound {PEAK_RSS_BOUND_KIB} KiB)");
    assert!(
        peak < PEAK_RSS_BOUND_KIB,
        "peak RSS {peak} KiB after {what}, over the {PEAK_RSS_BOUND_KIB} KiB bound"
    );
}

/// Sends `request` on [`ATTACKERS`] connections at once, each followed by up to [`FLOOD`]
/// bytes of `filler` (the server may close first), and returns what each received before
/// the server closed it.
fn attack(addr: SocketAddr, request: &[u8], filler: u8) -> Vec<Vec<u8>> {
    let attackers: Vec<_> = (0..ATTACKERS)
        .map(|_| {
            let request = request.to_vec();
            thread::spawn(move || {
                let mut stream = connect(addr);
                let mut writer = stream.try_clone().unwrap();
                // Writes fail once the server has closed: expected.
                let flood = thread::spawn(move || {
                    if writer.write_all(&request).is_ok() {
                        let chunk = vec![filler; 64 * 1024];
                        for _ in 0..FLOOD / chunk.len() {
                            if writer.write_all(&chunk).is_err() {
                                break;
                            }
                        }
                    }
                    let _ = writer.shutdown(Shutdown::Write);
                });
                let mut got = Vec::new();
                // A reset once the answer is read counts as a close.
                match stream.read_to_end(&mut got) {
                    Ok(_) => {}
                    Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
                    Err(e) => panic!("not closed within {HANG_GUARD:?}: {e}"),
                }
                flood.join().unwrap();
                got
            })
        })
        .collect();
    attackers
        .into_iter()
        .map(|a| a.join().expect("attacker"))
        .collect()
}

// ===== slowloris =====

/// A connection that sends a request that never ends, a byte at a time.
struct Slow {
    stream: TcpStream,
    got: Vec<u8>,
    closed: bool,
}

/// Opens `count` connections to `addr`, each sending `start`.
fn slow_clients(addr: SocketAddr, count: usize, start: &[u8]) -> Vec<Slow> {
    (0..count)
        .map(|_| {
            let mut stream = connect(addr);
            stream.write_all(start).unwrap();
            stream.set_nonblocking(true).unwrap();
            Slow {
                stream,
                got: Vec::new(),
                closed: false,
            }
        })
        .collect()
}

/// Sends one more byte of `filler` on every slow connection each tick, until the server
/// has answered and closed each (at most [`HANG_GUARD`]); returns the most descriptors
/// the server held meanwhile.
fn drip(slow: &mut [Slow], filler: u8, server_pid: u32) -> usize {
    let start = Instant::now();
    let mut most_fds = 0;
    while slow.iter().any(|s| !s.closed) {
        let open = slow.iter().filter(|s| !s.closed).count();
        assert!(
            start.elapsed() < HANG_GUARD,
            "{open} slow connections still open after {HANG_GUARD:?}"
        );
        most_fds = most_fds.max(open_fds(server_pid));
        for s in slow.iter_mut().filter(|s| !s.closed) {
            let mut buf = [0; 1024];
            loop {
                match s.stream.read(&mut buf) {
                    Ok(0) => s.closed = true,
                    Ok(n) => s.got.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(_) => s.closed = true, // reset: closed as well
                }
                if s.closed {
                    break;
                }
            }
            if s.closed {
                // Our side too, so the server's lingering read ends at once.
                let _ = s.stream.shutdown(Shutdown::Write);
            } else if s.got.is_empty() {
                let _ = s.stream.write(&[filler]);
            }
        }
        thread::sleep(Duration::from_millis(100));
    }
    most_fds
}

/// The slowloris test for one server: `2 * cap` slow connections against `--max-conns cap`
/// with a 1 s time limit, then a normal client, who must be served; every slow connection
/// must get `answer` and be closed; the server never holds more than `cap` client sockets.
fn slowloris(
    server: &Server,
    cap: usize,
    start: &[u8],
    filler: u8,
    normal: fn(SocketAddr),
    answer: &str,
) {
    let pid = server.process.pid();
    let idle_fds = open_fds(pid);
    let mut slow = slow_clients(server.addr, 2 * cap, start);
    // Queued behind all of them: served once the time limit frees slots.
    let addr = server.addr;
    let normal = thread::spawn(move || normal(addr));
    let most_fds = drip(&mut slow, filler, pid);
    normal.join().expect("the normal client was served");
    for (i, s) in slow.iter().enumerate() {
        assert!(
            s.got.starts_with(answer.as_bytes()),
            "slow connection {i} got {:?}",
            String::from_utf8_lossy(&s.got)
        );
    }
    // The listener and runtime's own descriptors are in `idle_fds`; a few spare for what
    // the runtime may open on the way.
    assert!(
        most_fds <= idle_fds + cap + 4,
        "held {most_fds} descriptors with --max-conns {cap} (idle: {idle_fds})"
    );
}

#[test]
fn http_slowloris_is_cut_off_at_the_time_limit_and_others_are_served() {
    let server = Server::start("http", &["--max-conns", "100", "--request-timeout", "1"]);
    slowloris(
        &server,
        100,
        b"GET / HTTP/1.1\r\nX-Slow: ",
        b'a',
        |addr| {
            let mut client = connect(addr);
            client
                .write_all(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
                .unwrap();
            let mut answer = String::new();
            client.read_to_string(&mut answer).expect("an answer");
            assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer:?}");
            assert!(answer.ends_with("Hello, world!"), "{answer:?}");
        },
        "HTTP/1.1 408 Request Timeout\r\n",
    );
}

#[test]
fn http_closes_an_idle_keep_alive_connection_at_the_time_limit() {
    let server = Server::start("http", &["--request-timeout", "1"]);
    let mut client = connect(server.addr);
    client.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    assert_eq!(status, "HTTP/1.1 200 OK\r\n");
    // The rest of that answer, then the close, with nothing more (no 408: it asked nothing).
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).expect("closed");
    assert!(rest.ends_with(b"\r\n\r\nHello, world!"), "{rest:?}");
}

#[test]
fn redis_slowloris_is_cut_off_at_the_time_limit_and_others_are_served() {
    let server = Server::start(
        "mini_redis",
        &["--max-conns", "100", "--command-timeout", "1"],
    );
    slowloris(
        &server,
        100,
        b"*2\r\n$4\r\nECHO\r\n$100000\r\n",
        b'a',
        |addr| {
            let mut client = connect(addr);
            client.write_all(b"*1\r\n$4\r\nPING\r\n").unwrap();
            let mut reply = [0; 7];
            client.read_exact(&mut reply).expect("a reply");
            assert_eq!(&reply, b"+PONG\r\n");
        },
        "-ERR command not complete within 1 s\r\n",
    );
}

/// A client subscribed to the channel `news`.
fn subscribe(addr: SocketAddr) -> TcpStream {
    let mut subscriber = connect(addr);
    subscriber
        .write_all(b"*2\r\n$9\r\nSUBSCRIBE\r\n$4\r\nnews\r\n")
        .unwrap();
    let subscribed = b"*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n";
    let mut got = vec![0; subscribed.len()];
    subscriber.read_exact(&mut got).unwrap();
    assert_eq!(got, subscribed);
    subscriber
}

/// `publisher` publishes `hi` on `news`: one subscriber counted, and `subscriber` gets it.
fn publish_and_receive(publisher: &mut TcpStream, subscriber: &mut TcpStream) {
    publisher
        .write_all(b"*3\r\n$7\r\nPUBLISH\r\n$4\r\nnews\r\n$2\r\nhi\r\n")
        .unwrap();
    let mut reply = [0; 4];
    publisher.read_exact(&mut reply).expect("PUBLISH's reply");
    assert_eq!(&reply, b":1\r\n");
    let message = b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n";
    let mut got = vec![0; message.len()];
    subscriber.read_exact(&mut got).expect("the message");
    assert_eq!(got, message);
}

#[test]
fn redis_idle_clients_and_subscribers_are_not_timed_out() {
    let server = Server::start("mini_redis", &["--command-timeout", "1"]);
    let mut idle = connect(server.addr);
    let mut subscriber = subscribe(server.addr);
    // Past the time limit with nothing sent: both are still served.
    thread::sleep(Duration::from_millis(1500));
    publish_and_receive(&mut idle, &mut subscriber);
}

#[test]
fn redis_idle_timeout_closes_silent_clients_but_not_subscribers() {
    let server = Server::start("mini_redis", &["--idle-timeout", "1"]);
    let mut idle = connect(server.addr);
    let mut subscriber = subscribe(server.addr);
    // The silent client is closed after its second of silence, without a reply; the bound
    // on the read only turns a server that never closes it into a failure, not a hang.
    idle.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut rest = Vec::new();
    idle.read_to_end(&mut rest)
        .expect("the idle client is closed, not left open");
    assert!(rest.is_empty(), "closed without a reply: {rest:?}");
    // The subscriber, silent as long, still gets what is published.
    publish_and_receive(&mut connect(server.addr), &mut subscriber);
}

// ===== oversize and malformed requests =====

#[test]
fn http_refuses_oversize_and_malformed_requests_with_memory_bounded() {
    let mut server = Server::start("http", &[]);
    let many_headers: String = (0..40).map(|i| format!("X-{i}: v\r\n")).collect();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        // A header line that never ends, and a request line that never ends.
        (
            b"GET / HTTP/1.1\r\nX-Big: ".to_vec(),
            "431 Request Header Fields Too Large",
        ),
        (b"GET /".to_vec(), "431 Request Header Fields Too Large"),
        (
            format!("GET / HTTP/1.1\r\n{many_headers}\r\n").into_bytes(),
            "431 Request Header Fields Too Large",
        ),
        (
            b"POST / HTTP/1.1\r\nContent-Length: 1073741824\r\n\r\n".to_vec(),
            "413 Content Too Large",
        ),
        (
            b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n".to_vec(),
            "400 Bad Request",
        ),
        (
            b"GET /\xff\xfe HTTP/1.1\r\n\r\n".to_vec(),
            "400 Bad Request",
        ),
        (
            b"GET / HTTP/1.1\r\nX: a\0b\r\n\r\n".to_vec(),
            "400 Bad Request",
        ),
        (b"G\0T / HTTP/1.1\r\n\r\n".to_vec(), "400 Bad Request"),
        (
            b"POST / HTTP/1.1\r\nContent-Length: 1\xff\r\n\r\n".to_vec(),
            "400 Bad Request",
        ),
    ];
    for (request, status) in &cases {
        for got in attack(server.addr, request, b'a') {
            let want = format!("HTTP/1.1 {status}\r\n");
            assert!(
                got.starts_with(want.as_bytes()),
                "for {:?}: got {:?}",
                String::from_utf8_lossy(&request[..request.len().min(40)]),
                String::from_utf8_lossy(&got[..got.len().min(200)])
            );
        }
    }
    assert_peak_rss_bounded(&mut server, "the oversize and malformed requests");
    // Everyone else is still served.
    let mut client = connect(server.addr);
    client
        .write_all(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    client.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer:?}");
}

#[test]
fn redis_refuses_oversize_and_malformed_requests_with_memory_bounded() {
    let mut server = Server::start("mini_redis", &[]);
    let mut bystander = connect(server.addr);
    let nested = b"*1\r\n".repeat(100_000);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            b"*1\r\n$4611686018427387904\r\n".to_vec(),
            "invalid bulk length",
        ),
        (
            b"*4611686018427387904\r\n".to_vec(),
            "invalid multibulk length",
        ),
        (nested, "expected '$', got '*'"),
        // An inline line and a length line that never end.
        (b"SET k ".to_vec(), "too big inline request"),
        (b"*1\r\n$".to_vec(), "too big bulk count string"),
        (b"*1\r\n$1\0\r\nx\r\n".to_vec(), "invalid bulk length"),
        (b"*\xff\xfe\r\n".to_vec(), "invalid multibulk length"),
    ];
    // The filler continues each request as it is: more digits for the length lines.
    for (request, why) in &cases {
        let filler = if request.ends_with(b"$") { b'9' } else { b'a' };
        for got in attack(server.addr, request, filler) {
            let want = format!("-ERR Protocol error: {why}\r\n");
            assert_eq!(
                String::from_utf8_lossy(&got),
                want,
                "for {:?}",
                String::from_utf8_lossy(&request[..request.len().min(40)])
            );
        }
    }
    assert_peak_rss_bounded(&mut server, "the oversize and malformed requests");
    // Values are binary-safe: NUL bytes, invalid UTF-8 and CRLF are stored as sent.
    let value = b"\0\xff\xfe\r\n\x80";
    let mut set = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$6\r\n".to_vec();
    set.extend_from_slice(value);
    set.extend_from_slice(b"\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
    bystander.write_all(&set).unwrap();
    let mut want = b"+OK\r\n$6\r\n".to_vec();
    want.extend_from_slice(value);
    want.extend_from_slice(b"\r\n");
    let mut got = vec![0; want.len()];
    bystander
        .read_exact(&mut got)
        .expect("SET and GET's replies");
    assert_eq!(got, want);
}
