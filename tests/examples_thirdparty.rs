//! Third-party servers on this runtime, each run as the example program a user starts and
//! driven by a real client: `axum_server` by curl, `ws_chat` by tungstenite's client (the
//! reference Rust WebSocket implementation, used blocking, on its own sockets), and
//! `tls_server` by `curl --insecure` and `openssl s_client`. Each also drains on SIGTERM.
//! Every client call is bounded (curl's `--max-time`, `timeout` around openssl, socket read
//! timeouts), so a server that stops answering fails the test instead of hanging it.

mod support;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use support::example::{drain_report, Server};
use support::HANG_GUARD;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::{Message, WebSocket};

/// How long a server told to shut down may take to exit, beyond its grace period.
const EXIT_GUARD: Duration = Duration::from_secs(10);

/// Runs `program args`, bounded by coreutils' `timeout`; panics if it can't be started.
fn run_client(program: &str, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new("timeout")
        .arg("20")
        .arg(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("starting {program} (is it installed? .ci/run installs it): {e}")
        });
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

/// What curl got: the status code, the content type and the body.
#[derive(Debug, PartialEq)]
struct Got {
    status: u16,
    content_type: String,
    body: String,
}

/// `curl -sS --max-time 10 ARGS… URL`, with the status code and content type appended.
fn curl(url: &str, args: &[&str]) -> Got {
    let mut all = vec![
        "-sS",
        "--max-time",
        "10",
        "-w",
        "\n%{http_code} %{content_type}",
    ];
    all.extend_from_slice(args);
    all.push(url);
    let out = run_client("curl", &all, b"");
    let stdout = String::from_utf8(out.stdout).expect("curl's output is UTF-8");
    assert!(
        out.status.success(),
        "curl {all:?} failed ({}): {stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let (body, last) = stdout.rsplit_once('\n').expect("the -w line");
    let (status, content_type) = last.split_once(' ').unwrap_or((last, ""));
    Got {
        status: status.parse().expect("a status code"),
        content_type: content_type.to_owned(),
        body: body.to_owned(),
    }
}

/// The `N` of the `… draining N connection(s) …` line a server prints when shutdown begins.
fn draining_count(line: &str) -> usize {
    line.split_once("draining ")
        .and_then(|(_, rest)| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no connection count in {line:?}"))
}

/// SIGTERM, then: the server drains within its grace period and exits 0, having cut off
/// nothing. Returns how many connections it was draining: a client that just closed may
/// not have been noticed yet, so callers bound the count rather than pin it.
fn shutdown_drains(mut server: Server) -> usize {
    let line = server.begin_shutdown(libc::SIGTERM);
    let open = draining_count(&line);
    let (status, rest) = server
        .process
        .wait_exit(Duration::from_secs(5) + EXIT_GUARD);
    assert!(status.success(), "exit {status}; printed:\n{rest}");
    assert_eq!(drain_report(&rest), (open, 0), "{rest}");
    open
}

// ===== axum =====

#[test]
fn axum_routes_text_json_path_parameters_and_the_fallback() {
    let server = Server::start("axum_server", &[]);
    let url = |path: &str| format!("http://{}{path}", server.addr);

    let hello = curl(&url("/"), &[]);
    assert_eq!(
        (hello.status, hello.body.as_str()),
        (200, "Hello from axum!\n")
    );
    assert!(hello.content_type.starts_with("text/plain"), "{hello:?}");

    let user = curl(&url("/users/7"), &[]);
    assert_eq!(
        user,
        Got {
            status: 200,
            content_type: "application/json".into(),
            body: r#"{"id":7,"name":"user 7"}"#.into()
        }
    );
    // A path parameter that is not a number is axum's rejection, not a panic or a 200.
    assert_eq!(curl(&url("/users/seven"), &[]).status, 400);

    let json = ["-H", "content-type: application/json", "--data-binary"];
    let greet = |body: &str| {
        let mut args = json.to_vec();
        args.push(body);
        curl(&url("/greet"), &args)
    };
    let greeting = greet(r#"{"name":"Ada","times":2}"#);
    assert_eq!(greeting.status, 200, "{greeting:?}");
    assert_eq!(greeting.content_type, "application/json");
    assert_eq!(
        greeting.body,
        r#"{"greeting":"Hello, Ada! Hello, Ada!","length":23}"#
    );
    // Bad input gets axum's answers: malformed JSON, a missing field, no JSON content type.
    assert_eq!(greet(r#"{"name":"#).status, 400);
    assert_eq!(greet(r#"{"name":"Ada"}"#).status, 422);
    assert_eq!(
        curl(
            &url("/greet"),
            &["--data-binary", r#"{"name":"Ada","times":1}"#]
        )
        .status,
        415
    );
    // GET on a POST route is 405; a path no route has is the fallback's 404.
    assert_eq!(curl(&url("/greet"), &[]).status, 405);
    let missing = curl(&url("/no/such/page"), &[]);
    assert_eq!(
        (missing.status, missing.body.as_str()),
        (404, "not found\n")
    );

    // Every curl above has closed its connection: none is left but one not yet noticed.
    assert!(shutdown_drains(server) <= 1);
}

#[test]
fn axum_serves_several_requests_on_one_kept_alive_connection() {
    let server = Server::start("axum_server", &[]);
    let url = format!("http://{}/users/1", server.addr);
    // One curl, three URLs: one connection, reused.
    let out = run_client(
        "curl",
        &[
            "-sS",
            "--max-time",
            "10",
            "-w",
            "%{num_connects}\n",
            &url,
            &url,
            &url,
        ],
        b"",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let body = r#"{"id":1,"name":"user 1"}"#;
    assert_eq!(stdout, format!("{body}1\n{body}0\n{body}0\n"));
}

// ===== WebSocket chat =====

type Client = WebSocket<TcpStream>;

/// Connects to `path` on the chat and returns the client and the name the welcome gave it.
fn ws_connect(addr: SocketAddr, path: &str) -> (Client, String) {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(HANG_GUARD)).unwrap();
    stream.set_write_timeout(Some(HANG_GUARD)).unwrap();
    let (mut ws, response) = tungstenite::client(format!("ws://{addr}{path}"), stream)
        .unwrap_or_else(|e| panic!("websocket handshake: {e}"));
    assert_eq!(response.status(), 101);
    let welcome = ws_text(&mut ws);
    let name = welcome
        .strip_prefix("welcome ")
        .and_then(|rest| rest.strip_suffix(&format!(" to {path}")))
        .unwrap_or_else(|| panic!("greeted with {welcome:?}"))
        .to_owned();
    (ws, name)
}

/// The next text message; panics on anything else or a timeout.
fn ws_text(ws: &mut Client) -> String {
    match ws.read() {
        Ok(Message::Text(text)) => text.as_str().to_owned(),
        other => panic!("expected a text message, got {other:?}"),
    }
}

fn ws_send(ws: &mut Client, text: &str) {
    ws.send(Message::text(text)).expect("send");
}

/// Reads until the server's close frame, answers it, and returns its code and reason.
fn ws_await_close(ws: &mut Client) -> (CloseCode, String) {
    let frame = loop {
        match ws.read() {
            Ok(Message::Close(frame)) => break frame.expect("a close frame with a code"),
            Ok(Message::Text(text)) => panic!("a message instead of the close: {text}"),
            Ok(_) => continue,
            Err(e) => panic!("no close frame: {e}"),
        }
    };
    // Reading on sends the reply tungstenite queued, and ends with the closed connection.
    match ws.read() {
        Err(tungstenite::Error::ConnectionClosed) => {}
        other => panic!("after the close handshake: {other:?}"),
    }
    (frame.code, frame.reason.as_str().to_owned())
}

#[test]
fn ws_chat_sends_each_message_to_every_other_client_in_the_room() {
    let server = Server::start("ws_chat", &[]);
    let (mut a, name_a) = ws_connect(server.addr, "/rust");
    let (mut b, name_b) = ws_connect(server.addr, "/rust");
    let (mut c, name_c) = ws_connect(server.addr, "/rust");
    let (mut elsewhere, _) = ws_connect(server.addr, "/python");
    assert_eq!(
        [&name_a, &name_b, &name_c]
            .iter()
            .collect::<std::collections::HashSet<_>>()
            .len(),
        3,
        "every client has a name of its own"
    );

    ws_send(&mut a, "hello from a");
    assert_eq!(ws_text(&mut b), format!("{name_a}: hello from a"));
    assert_eq!(ws_text(&mut c), format!("{name_a}: hello from a"));
    ws_send(&mut c, "hi from c");
    assert_eq!(ws_text(&mut b), format!("{name_c}: hi from c"));
    // `a` did not get its own message back: the next it reads is c's.
    assert_eq!(ws_text(&mut a), format!("{name_c}: hi from c"));
    // Many messages in a row arrive in order.
    for i in 0..100 {
        ws_send(&mut b, &format!("burst {i}"));
    }
    for i in 0..100 {
        assert_eq!(ws_text(&mut a), format!("{name_b}: burst {i}"));
        assert_eq!(ws_text(&mut c), format!("{name_b}: burst {i}"));
    }

    // The other room heard none of it: the first message it gets is from its own room.
    let (mut newcomer, name_new) = ws_connect(server.addr, "/python");
    ws_send(&mut newcomer, "anyone here?");
    assert_eq!(ws_text(&mut elsewhere), format!("{name_new}: anyone here?"));

    // A client's close is answered with a close; the others go on without it.
    a.close(None).expect("sending the close");
    loop {
        match a.read() {
            Ok(Message::Close(_)) => continue, // the server's answer
            Ok(other) => panic!("after our close: {other:?}"),
            Err(tungstenite::Error::ConnectionClosed) => break,
            Err(e) => panic!("close handshake: {e}"),
        }
    }
    ws_send(&mut b, "a left");
    assert_eq!(ws_text(&mut c), format!("{name_b}: a left"));

    // Shutdown: every client still connected gets a "going away" close and answers it.
    let mut server = server;
    let line = server.begin_shutdown(libc::SIGTERM);
    // Four clients are connected; `a`'s connection may still be ending.
    let open = draining_count(&line);
    assert!((4..=5).contains(&open), "{line}");
    for ws in [&mut b, &mut c, &mut elsewhere, &mut newcomer] {
        let (code, reason) = ws_await_close(ws);
        assert_eq!(code, CloseCode::Away);
        assert_eq!(reason, "server shutting down");
    }
    let (status, rest) = server
        .process
        .wait_exit(Duration::from_secs(5) + EXIT_GUARD);
    assert!(status.success(), "exit {status}; printed:\n{rest}");
    assert_eq!(drain_report(&rest), (open, 0), "{rest}");
}

#[test]
fn ws_chat_refuses_a_plain_http_request_and_keeps_serving() {
    let server = Server::start("ws_chat", &[]);
    // Not a WebSocket upgrade: tungstenite's handshake fails before any response, so the
    // connection closes with no reply (curl's 52), and the server stays up.
    let url = format!("http://{}/", server.addr);
    let got = run_client("curl", &["-sS", "--max-time", "10", &url], b"");
    assert_eq!(got.status.code(), Some(52), "{got:?}");
    let (mut a, _) = ws_connect(server.addr, "/");
    let (mut b, name_b) = ws_connect(server.addr, "/");
    ws_send(&mut b, "still here");
    assert_eq!(ws_text(&mut a), format!("{name_b}: still here"));
}

// ===== TLS =====

fn tls_url(addr: SocketAddr, path: &str) -> String {
    format!("https://{addr}{path}")
}

/// `openssl s_client` against `addr` with `extra` options, sending `request` and waiting
/// for the server to close; returns (stdout, stderr).
fn s_client(addr: SocketAddr, extra: &[&str], request: &str) -> (String, String) {
    let connect = addr.to_string();
    let mut args = vec!["s_client", "-connect", &connect, "-brief", "-ign_eof"];
    args.extend_from_slice(extra);
    let out = run_client("openssl", &args, request.as_bytes());
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "openssl s_client {extra:?} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    (stdout, stderr)
}

const GET_AND_CLOSE: &str = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

#[test]
fn tls_server_answers_curl_and_openssl_with_its_self_signed_certificate() {
    let server = Server::start("tls_server", &[]);
    let addr = server.addr;

    let hello = curl(&tls_url(addr, "/"), &["--insecure"]);
    assert_eq!(
        (hello.status, hello.body.as_str()),
        (200, "Hello over TLS!\n")
    );
    assert_eq!(
        curl(&tls_url(addr, "/missing"), &["--insecure"]).status,
        404
    );
    // ALPN settles on HTTP/1.1 even though curl offers h2.
    let version = run_client(
        "curl",
        &[
            "-sS",
            "--insecure",
            "--max-time",
            "10",
            "-o",
            "/dev/null",
            "-w",
            "%{http_version}",
            &tls_url(addr, "/"),
        ],
        b"",
    );
    assert_eq!(String::from_utf8_lossy(&version.stdout), "1.1");
    // Without --insecure curl rejects the self-signed certificate: the TLS is real.
    let verified = run_client(
        "curl",
        &["-sS", "--max-time", "10", &tls_url(addr, "/")],
        b"",
    );
    assert_eq!(
        verified.status.code(),
        Some(60),
        "curl's 'peer certificate' error"
    );

    // openssl: the handshake (TLS 1.3 by default, 1.2 when asked) and a response over it.
    for (extra, protocol) in [(&[][..], "TLSv1.3"), (&["-tls1_2"][..], "TLSv1.2")] {
        let (stdout, stderr) = s_client(addr, extra, GET_AND_CLOSE);
        assert!(stderr.contains("CONNECTION ESTABLISHED"), "{stderr}");
        assert!(
            stderr.contains(&format!("Protocol version: {protocol}")),
            "{stderr}"
        );
        assert!(stdout.starts_with("HTTP/1.1 200 OK\r\n"), "{stdout}");
        assert!(stdout.ends_with("\r\n\r\nHello over TLS!\n"), "{stdout}");
    }

    // A client that sends garbage instead of a ClientHello is dropped; the server goes on.
    let mut garbage = TcpStream::connect(addr).unwrap();
    garbage.set_read_timeout(Some(HANG_GUARD)).unwrap();
    garbage.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    let mut rest = Vec::new();
    let _ = std::io::Read::read_to_end(&mut garbage, &mut rest);
    assert_eq!(curl(&tls_url(addr, "/"), &["--insecure"]).status, 200);

    assert!(shutdown_drains(server) <= 1);
}

/// A temporary directory, removed on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn tls_server_uses_a_certificate_from_files() {
    let dir = TempDir(std::env::temp_dir().join(format!("tls-server-test-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let cert = dir.0.join("cert.pem");
    let key = dir.0.join("key.pem");
    let made = run_client(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=files.example",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            key.to_str().unwrap(),
            "-out",
            cert.to_str().unwrap(),
        ],
        b"",
    );
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );

    let server = Server::start(
        "tls_server",
        &[
            "--cert",
            cert.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ],
    );
    let (stdout, stderr) = s_client(server.addr, &[], GET_AND_CLOSE);
    assert!(stderr.contains("CN = files.example"), "{stderr}");
    assert!(stdout.ends_with("Hello over TLS!\n"), "{stdout}");
    // curl trusts it once told to: the file's certificate is the one served.
    let trusted = curl(
        &tls_url(server.addr, "/"),
        &["--cacert", cert.to_str().unwrap()],
    );
    assert_eq!(trusted.status, 200, "{trusted:?}");
    drop(server);

    // A key file that holds no key is refused at start with a message, not served.
    let out = support::example::run(
        "tls_server",
        &[
            "--addr",
            "127.0.0.1:0",
            "--cert",
            cert.to_str().unwrap(),
            "--key",
            cert.to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--key"), "{stderr}");
}
