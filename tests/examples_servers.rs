//! The server examples (`echo`, `http`, `chat`, `proxy`) run as the programs a user starts,
//! driven by plain `std::net` clients. Every read has a timeout, so a server that stops
//! answering fails the test instead of hanging it. Each also drains on SIGTERM or SIGINT,
//! with the connections it holds at that moment.

mod support;

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};
use support::example::{assert_closed_soon, assert_refused, drain_report, Server};
use support::HANG_GUARD;

/// How long a server that was told to shut down may take to exit, beyond its grace period.
const EXIT_GUARD: Duration = Duration::from_secs(10);

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(HANG_GUARD)).unwrap();
    stream.set_write_timeout(Some(HANG_GUARD)).unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

/// Reads until the peer closes; panics on a timeout or error.
fn read_to_end(stream: &mut impl Read) -> Vec<u8> {
    let mut all = Vec::new();
    stream
        .read_to_end(&mut all)
        .expect("read until the peer closes");
    all
}

// ===== echo =====

#[test]
fn echo_serves_many_concurrent_clients() {
    let server = Server::start("echo", &[]);
    let addr = server.addr;
    let clients: Vec<_> = (0..32)
        .map(|c| {
            thread::spawn(move || {
                let mut stream = connect(addr);
                for round in 0..20 {
                    // Sizes up to 64 KiB, so some messages take several reads and writes.
                    let len = 1 + (c * 997 + round * 3301) % 65_536;
                    let msg: Vec<u8> = (0..len).map(|i| (i + c + round) as u8).collect();
                    stream.write_all(&msg).unwrap();
                    let mut back = vec![0; len];
                    stream.read_exact(&mut back).expect("the echo");
                    assert_eq!(back, msg, "client {c}, round {round}");
                }
                stream.shutdown(Shutdown::Write).unwrap();
                assert!(
                    read_to_end(&mut stream).is_empty(),
                    "nothing after the echo"
                );
            })
        })
        .collect();
    for client in clients {
        client.join().expect("client thread");
    }
}

#[test]
fn echo_holds_connections_past_the_limit_until_a_slot_frees() {
    let server = Server::start("echo", &["--max-conns", "2"]);
    let round_trip = |stream: &mut TcpStream, msg: &[u8]| {
        stream.write_all(msg).unwrap();
        let mut back = vec![0; msg.len()];
        stream.read_exact(&mut back).expect("the echo");
        assert_eq!(back, msg);
    };
    let mut first = connect(server.addr);
    round_trip(&mut first, b"one");
    let mut second = connect(server.addr);
    round_trip(&mut second, b"two");

    // The third connects (the kernel queues it) but is not served while two are open.
    let mut third = connect(server.addr);
    third.write_all(b"three").unwrap();
    third
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut buf = [0; 5];
    let err = third
        .read(&mut buf)
        .expect_err("no echo while the server is at its limit");
    assert!(
        matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{err}"
    );

    // Closing one frees a slot: the third is accepted and gets its echo.
    drop(first);
    third.set_read_timeout(Some(HANG_GUARD)).unwrap();
    third
        .read_exact(&mut buf)
        .expect("the echo once a slot is free");
    assert_eq!(&buf, b"three");
    round_trip(&mut second, b"still served");
}

// ===== http =====

#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one response; `head_only` for the answer to a HEAD request (no body follows).
fn read_response(reader: &mut BufReader<TcpStream>, head_only: bool) -> Response {
    let mut line = String::new();
    reader.read_line(&mut line).expect("status line");
    let mut parts = line.trim_end().splitn(3, ' ');
    assert_eq!(parts.next(), Some("HTTP/1.1"), "status line {line:?}");
    let status = parts.next().and_then(|s| s.parse().ok()).expect("status");
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).expect("header line");
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').expect("name: value");
        headers.push((name.to_owned(), value.trim().to_owned()));
    }
    let mut response = Response {
        status,
        headers,
        body: Vec::new(),
    };
    let length: usize = response
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .expect("every response has a Content-Length");
    if !head_only {
        response.body = vec![0; length];
        reader.read_exact(&mut response.body).expect("body");
    }
    response
}

fn http_client(server: &Server) -> (TcpStream, BufReader<TcpStream>) {
    let stream = connect(server.addr);
    let reader = BufReader::new(stream.try_clone().unwrap());
    (stream, reader)
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n")
}

/// Asserts the server closed the connection: nothing more to read.
fn assert_closed(reader: &mut BufReader<TcpStream>) {
    assert!(
        read_to_end(reader).is_empty(),
        "the server closes after that response"
    );
}

#[test]
fn http_keeps_the_connection_alive_across_requests() {
    let server = Server::start("http", &[]);
    let (mut stream, mut reader) = http_client(&server);
    for _ in 0..3 {
        stream.write_all(get("/").as_bytes()).unwrap();
        let r = read_response(&mut reader, false);
        assert_eq!((r.status, &r.body[..]), (200, &b"Hello, world!"[..]));
        assert_eq!(r.header("content-type"), Some("text/plain"));
        assert_eq!(
            r.header("connection"),
            None,
            "HTTP/1.1 keeps alive by default"
        );
        let date = r.header("date").expect("a Date header");
        assert!(date.len() == 29 && date.ends_with(" GMT"), "{date:?}");

        stream.write_all(get("/json?x=1").as_bytes()).unwrap();
        let r = read_response(&mut reader, false);
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.body, br#"{"message":"Hello, world!"}"#);
    }
}

#[test]
fn http_answers_pipelined_requests_in_order() {
    let server = Server::start("http", &[]);
    let (mut stream, mut reader) = http_client(&server);
    let paths = ["/", "/json", "/missing", "/", "/json"];
    let batch: String = (0..20).map(|i| get(paths[i % paths.len()])).collect();
    stream.write_all(batch.as_bytes()).unwrap();
    for i in 0..20 {
        let r = read_response(&mut reader, false);
        let want = match paths[i % paths.len()] {
            "/" => (200, &b"Hello, world!"[..]),
            "/json" => (200, &br#"{"message":"Hello, world!"}"#[..]),
            _ => (404, &b"Not Found\n"[..]),
        };
        assert_eq!((r.status, &r.body[..]), want, "response {i}");
    }
    // A request that arrives one byte at a time is answered once it is complete.
    for byte in get("/json").bytes() {
        stream.write_all(&[byte]).unwrap();
    }
    assert_eq!(read_response(&mut reader, false).status, 200);
}

#[test]
fn http_answers_garbage_with_400_and_closes() {
    let server = Server::start("http", &[]);
    let (mut stream, mut reader) = http_client(&server);
    stream.write_all(b"garbage\r\n\r\n").unwrap();
    let r = read_response(&mut reader, false);
    assert_eq!(r.status, 400);
    assert_eq!(r.header("connection"), Some("close"));
    assert_closed(&mut reader);

    // A good request before the bad one in the same batch is still answered.
    let (mut stream, mut reader) = http_client(&server);
    let batch = format!(
        "{}GET / HTTP/1.1\r\nHost: a b\r\nBad Header\r\n\r\n",
        get("/")
    );
    stream.write_all(batch.as_bytes()).unwrap();
    assert_eq!(read_response(&mut reader, false).status, 200);
    assert_eq!(read_response(&mut reader, false).status, 400);
    assert_closed(&mut reader);

    // Two different Content-Lengths make the framing ambiguous: refused.
    let (mut stream, mut reader) = http_client(&server);
    stream
        .write_all(b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab")
        .unwrap();
    assert_eq!(read_response(&mut reader, false).status, 400);
    assert_closed(&mut reader);
}

#[test]
fn http_refuses_what_it_cannot_frame_and_closes() {
    let server = Server::start("http", &[]);
    let long_header = format!("GET / HTTP/1.1\r\nX-Long: {}", "a".repeat(20 * 1024));
    let cases = [
        ("POST / HTTP/1.1\r\nContent-Length: 100000\r\n\r\n", 413),
        (
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            501,
        ),
        (long_header.as_str(), 431),
    ];
    for (request, status) in cases {
        let (mut stream, mut reader) = http_client(&server);
        stream.write_all(request.as_bytes()).unwrap();
        let r = read_response(&mut reader, false);
        assert_eq!((r.status, r.header("connection")), (status, Some("close")));
        assert_closed(&mut reader);
    }
}

#[test]
fn http_404_keeps_the_connection_open() {
    let server = Server::start("http", &[]);
    let (mut stream, mut reader) = http_client(&server);
    stream.write_all(get("/nope").as_bytes()).unwrap();
    let r = read_response(&mut reader, false);
    assert_eq!((r.status, &r.body[..]), (404, &b"Not Found\n"[..]));
    stream.write_all(get("/").as_bytes()).unwrap();
    assert_eq!(read_response(&mut reader, false).status, 200);
}

#[test]
fn http_honours_connection_close() {
    let server = Server::start("http", &[]);
    let (mut stream, mut reader) = http_client(&server);
    // The request after the closing one is never answered.
    let batch = format!(
        "GET / HTTP/1.1\r\nHost: t\r\nConnection: keep-alive, Close\r\n\r\n{}",
        get("/")
    );
    stream.write_all(batch.as_bytes()).unwrap();
    let r = read_response(&mut reader, false);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("connection"), Some("close"));
    assert_closed(&mut reader);
}

#[test]
fn http_1_0_closes_unless_asked_to_keep_alive() {
    let server = Server::start("http", &[]);
    let (mut stream, mut reader) = http_client(&server);
    stream.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let r = read_response(&mut reader, false);
    assert_eq!((r.status, r.header("connection")), (200, Some("close")));
    assert_closed(&mut reader);

    // As `ab -k` asks.
    let (mut stream, mut reader) = http_client(&server);
    for _ in 0..2 {
        stream
            .write_all(b"GET /json HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
            .unwrap();
        let r = read_response(&mut reader, false);
        assert_eq!(
            (r.status, r.header("connection")),
            (200, Some("keep-alive"))
        );
    }
}

#[test]
fn http_head_and_other_methods() {
    let server = Server::start("http", &[]);
    let (mut stream, mut reader) = http_client(&server);
    // HEAD: the GET headers, no body. POST: 405, its body skipped so the next request parses.
    let batch = format!(
        "HEAD / HTTP/1.1\r\n\r\nPOST /json HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello{}",
        get("/")
    );
    stream.write_all(batch.as_bytes()).unwrap();
    let head = read_response(&mut reader, true);
    assert_eq!(
        (head.status, head.header("content-length")),
        (200, Some("13"))
    );
    let post = read_response(&mut reader, false);
    assert_eq!(
        (post.status, post.header("allow")),
        (405, Some("GET, HEAD"))
    );
    let r = read_response(&mut reader, false);
    assert_eq!((r.status, &r.body[..]), (200, &b"Hello, world!"[..]));
}

// ===== chat =====

struct ChatClient {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl ChatClient {
    /// Connects and reads the welcome line.
    fn connect(server: &Server) -> ChatClient {
        let stream = connect(server.addr);
        let reader = BufReader::new(stream.try_clone().unwrap());
        let mut client = ChatClient { stream, reader };
        let welcome = client.line();
        assert!(welcome.starts_with("* welcome guest-"), "{welcome:?}");
        client
    }

    fn send(&mut self, line: &str) {
        self.stream
            .write_all(format!("{line}\n").as_bytes())
            .unwrap();
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        let n = self.reader.read_line(&mut line).expect("a line");
        assert!(n > 0, "the server closed the connection");
        line.trim_end().to_owned()
    }

    /// Sends a command and checks its acknowledgement, so the server has applied it.
    fn command(&mut self, line: &str, ack: &str) {
        self.send(line);
        assert_eq!(self.line(), ack);
    }
}

#[test]
fn chat_rooms_see_their_own_lines_only() {
    let server = Server::start("chat", &[]);
    let mut alice = ChatClient::connect(&server);
    alice.command("/join den", "* you are now in den");
    alice.command("/nick alice", "* you are now alice");
    let mut carol = ChatClient::connect(&server);
    carol.command("/nick carol", "* you are now carol");

    let mut bob = ChatClient::connect(&server);
    assert!(carol.line().ends_with(" joined lobby"));
    bob.command("/join den", "* you are now in den");
    assert!(carol.line().ends_with(" left lobby"));
    assert!(alice.line().ends_with(" joined den"));
    bob.command("/nick bob", "* you are now bob");
    assert!(alice.line().ends_with(" is now bob"));

    bob.send("hi alice");
    assert_eq!(alice.line(), "bob: hi alice");
    alice.send("hi bob");
    assert_eq!(bob.line(), "alice: hi bob");

    // carol, alone in the lobby, says something; it must reach no one in den. Her next
    // line comes after her join, so a leaked line would arrive before it.
    carol.send("anyone here?");
    carol.command("/join den", "* you are now in den");
    carol.send("found you");
    for who in [&mut alice, &mut bob] {
        assert_eq!(who.line(), "* carol joined den");
        assert_eq!(who.line(), "carol: found you");
    }

    bob.command("/quit", "* bye");
    assert_closed(&mut bob.reader);
    for who in [&mut alice, &mut carol] {
        assert_eq!(who.line(), "* bob left den");
    }
}

#[test]
fn chat_disconnects_a_client_that_stops_reading_without_holding_up_others() {
    const LINES: usize = 8000;
    let server = Server::start("chat", &[]);
    let mut talker = ChatClient::connect(&server);
    talker.command("/nick talker", "* you are now talker");
    let mut listener = ChatClient::connect(&server);
    assert!(talker.line().ends_with(" joined lobby"));
    listener.command("/nick listener", "* you are now listener");
    assert!(talker.line().ends_with(" is now listener"));
    let mut sleeper = ChatClient::connect(&server);
    for who in [&mut talker, &mut listener] {
        assert!(who.line().ends_with(" joined lobby"));
    }
    sleeper.command("/nick sleeper", "* you are now sleeper");
    for who in [&mut talker, &mut listener] {
        assert!(who.line().ends_with(" is now sleeper"));
    }

    // The sleeper reads nothing from here on. The listener gets every line, in order; at
    // some point the sleeper's buffers fill and it is dropped, which the room is told.
    let padding = "x".repeat(1000);
    let mut dropped_notice = 0;
    for i in 0..LINES {
        talker.send(&format!("{i} {padding}"));
        loop {
            let line = listener.line();
            if line == "* sleeper was disconnected (too slow)" {
                dropped_notice += 1;
                continue;
            }
            assert_eq!(line, format!("talker: {i} {padding}"));
            break;
        }
    }
    assert_eq!(dropped_notice, 1, "the room is told once");

    // The sleeper's connection was closed after what had been queued for it.
    let rest = read_to_end(&mut sleeper.reader);
    let got = rest.iter().filter(|&&b| b == b'\n').count();
    assert!(got < LINES, "the sleeper was cut off ({got} lines)");
}

// ===== proxy =====

#[test]
fn proxy_forwards_both_ways_including_half_close() {
    let echo = Server::start("echo", &[]);
    let proxy = Server::start("proxy", &["--to", &echo.addr.to_string()]);
    let clients: Vec<_> = (0..8)
        .map(|c| {
            let addr = proxy.addr;
            thread::spawn(move || {
                let mut stream = connect(addr);
                for round in 0..10 {
                    let msg = format!("client {c} round {round}\n").repeat(100 * round + 1);
                    stream.write_all(msg.as_bytes()).unwrap();
                    let mut back = vec![0; msg.len()];
                    stream.read_exact(&mut back).expect("the echo");
                    assert_eq!(back, msg.as_bytes());
                }
                // A half-close passes through: the echo sees EOF, and the proxy relays its
                // close after the last bytes.
                stream.write_all(b"last words").unwrap();
                stream.shutdown(Shutdown::Write).unwrap();
                assert_eq!(read_to_end(&mut stream), b"last words");
            })
        })
        .collect();
    for client in clients {
        client.join().expect("client thread");
    }
}

#[test]
fn proxy_in_front_of_http() {
    let http = Server::start("http", &[]);
    let proxy = Server::start("proxy", &["--to", &http.addr.to_string()]);
    let (mut stream, mut reader) = http_client(&proxy);
    stream
        .write_all(format!("{}{}", get("/"), get("/json")).as_bytes())
        .unwrap();
    assert_eq!(read_response(&mut reader, false).body, b"Hello, world!");
    assert_eq!(read_response(&mut reader, false).status, 200);
}

// ===== graceful shutdown =====

/// Waits for `server` to exit after its shutdown signal and checks it exited 0 with the
/// `(drained, cut off)` counts `want`.
fn assert_drained(mut server: Server, want: (usize, usize)) {
    let (status, out) = server.process.wait_exit(EXIT_GUARD);
    assert!(status.success(), "{status}\n{out}");
    assert_eq!(drain_report(&out), want, "{out}");
}

fn round_trip(stream: &mut TcpStream, msg: &[u8]) {
    stream.write_all(msg).unwrap();
    let mut back = vec![0; msg.len()];
    stream.read_exact(&mut back).expect("the echo");
    assert_eq!(back, msg);
}

#[test]
fn http_on_sigterm_closes_idle_connections_and_answers_the_request_in_flight() {
    let mut server = Server::start("http", &["--grace", "5"]);
    let (mut idle, mut idle_reader) = http_client(&server);
    idle.write_all(get("/").as_bytes()).unwrap();
    assert_eq!(read_response(&mut idle_reader, false).status, 200);
    // A whole request first, so the server has accepted this connection before the signal;
    // then half a request head, then the signal: it is in the middle of a request.
    let (mut busy, mut busy_reader) = http_client(&server);
    busy.write_all(get("/").as_bytes()).unwrap();
    assert_eq!(read_response(&mut busy_reader, false).status, 200);
    busy.write_all(b"GET /json HTTP/1.1\r\nHo").unwrap();

    let began = server.begin_shutdown(libc::SIGTERM);
    assert_eq!(
        began,
        "shutdown: SIGTERM: stopped accepting, draining 2 connections for up to 5 s"
    );
    assert_refused(server.addr);
    assert_closed_soon(&mut idle);
    busy.write_all(b"st: test\r\n\r\n").unwrap();
    let r = read_response(&mut busy_reader, false);
    assert_eq!((r.status, r.header("connection")), (200, Some("close")));
    assert_eq!(r.body, br#"{"message":"Hello, world!"}"#);
    assert_closed(&mut busy_reader);

    assert_drained(server, (2, 0));
}

#[test]
fn http_on_sigint_cuts_a_request_that_never_completes_at_the_grace_period() {
    let mut server = Server::start("http", &["--grace", "1"]);
    let (mut stuck, mut reader) = http_client(&server);
    // Accepted for sure (a whole request answered), then a request that never completes.
    stuck.write_all(get("/").as_bytes()).unwrap();
    assert_eq!(read_response(&mut reader, false).status, 200);
    stuck.write_all(b"GET / HTTP/1.1\r\n").unwrap();
    let signalled = Instant::now();
    assert!(server
        .begin_shutdown(libc::SIGINT)
        .starts_with("shutdown: SIGINT: "));
    assert_closed_soon(&mut stuck);
    assert_drained(server, (0, 1));
    assert!(
        signalled.elapsed() >= Duration::from_secs(1),
        "cut off before the grace period ended"
    );
}

#[test]
fn echo_keeps_open_connections_echoing_until_they_end_or_the_grace_period_does() {
    let mut server = Server::start("echo", &["--grace", "1"]);
    let mut finishing = connect(server.addr);
    round_trip(&mut finishing, b"before");
    let mut endless = connect(server.addr);
    round_trip(&mut endless, b"before");

    server.begin_shutdown(libc::SIGTERM);
    assert_refused(server.addr);
    // Open connections are served on; the one its client closes counts as drained.
    round_trip(&mut finishing, b"after the signal");
    round_trip(&mut endless, b"after the signal");
    finishing.shutdown(Shutdown::Write).unwrap();
    assert!(read_to_end(&mut finishing).is_empty());
    // The other never ends: cut off at the grace period.
    assert_closed_soon(&mut endless);
    assert_drained(server, (1, 1));
}

#[test]
fn a_second_signal_during_the_drain_exits_at_once() {
    let mut server = Server::start("echo", &["--grace", "60"]);
    let mut open = connect(server.addr);
    round_trip(&mut open, b"hello");
    // Once it says so, the first signal was handled: the second can't merge with it.
    server.begin_shutdown(libc::SIGTERM);
    assert_refused(server.addr);
    round_trip(&mut open, b"still draining");
    server.process.signal(libc::SIGINT);
    let (status, out) = server.process.wait_exit(EXIT_GUARD);
    assert_eq!(status.code(), Some(130), "128 + SIGINT\n{out}");
    assert!(
        out.contains("shutdown: second signal (SIGINT), exiting with 1 open"),
        "{out}"
    );
}

#[test]
fn chat_tells_everyone_it_is_shutting_down_and_closes() {
    let mut server = Server::start("chat", &[]);
    let mut clients = [ChatClient::connect(&server), ChatClient::connect(&server)];
    assert!(clients[0].line().ends_with(" joined lobby"));
    server.begin_shutdown(libc::SIGTERM);
    for client in &mut clients {
        // Lines the room sent meanwhile (someone left) may come first.
        let rest = String::from_utf8(read_to_end(&mut client.reader)).unwrap();
        assert!(
            rest.lines()
                .any(|l| l == "* the server is shutting down, bye"),
            "{rest:?}"
        );
    }
    assert_refused(server.addr);
    assert_drained(server, (2, 0));
}

#[test]
fn proxy_lets_open_connections_run_to_their_end() {
    let echo = Server::start("echo", &[]);
    let mut proxy = Server::start("proxy", &["--to", &echo.addr.to_string()]);
    let mut client = connect(proxy.addr);
    round_trip(&mut client, b"before");
    proxy.begin_shutdown(libc::SIGTERM);
    assert_refused(proxy.addr);
    round_trip(&mut client, b"after the signal");
    client.shutdown(Shutdown::Write).unwrap();
    assert!(read_to_end(&mut client).is_empty());
    assert_drained(proxy, (1, 0));
}
