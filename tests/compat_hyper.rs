//! hyper 1.x on this runtime through `runtime::compat::hyper`: a hyper server and a hyper
//! client, both running here, talking over loopback TCP. Keep-alive reuse, echoed POST
//! bodies, concurrent connections, `header_read_timeout` (driven by `HyperTimer`), graceful
//! shutdown, HTTP upgrades (the futures-io side of `HyperIo`), the executor and timer
//! adapters on their own, and the `hyper_server` example; on both scheduler flavors.

#[macro_use]
mod support;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::{select, Either};
use futures::{AsyncReadExt, AsyncWriteExt};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{CONNECTION, HOST, UPGRADE};
use hyper::rt::{Executor, Timer};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use runtime::compat::hyper::{HyperExecutor, HyperIo, HyperTimer};
use runtime::net::{TcpListener, TcpStream};
use runtime::sync::Event;
use support::{example, guard, pattern};

type Body = Full<Bytes>;

/// The service every server here runs: `GET /` says hello, `POST /echo` sends the body
/// back, `GET /upgrade` with `Upgrade: echo` switches to a raw echo protocol.
async fn service(req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let response = match (req.method(), req.uri().path()) {
        (&Method::GET, "/") => Response::new(Body::from("hello")),
        (&Method::POST, "/echo") => {
            let body = req.into_body().collect().await.expect("request body");
            Response::new(Body::new(body.to_bytes()))
        }
        (&Method::GET, "/upgrade") => {
            // After the 101 goes out, the connection is ours: echo one message over it,
            // through `HyperIo`'s futures-io side.
            runtime::spawn(async move {
                let upgraded = hyper::upgrade::on(req).await.expect("server upgrade");
                let mut io = HyperIo::new(upgraded);
                let mut buf = [0u8; 4];
                io.read_exact(&mut buf).await.expect("read upgraded");
                io.write_all(&buf).await.expect("write upgraded");
                io.flush().await.expect("flush upgraded");
            });
            Response::builder()
                .status(StatusCode::SWITCHING_PROTOCOLS)
                .header(CONNECTION, "upgrade")
                .header(UPGRADE, "echo")
                .body(Body::default())
                .unwrap()
        }
        _ => Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(Body::default())
            .unwrap(),
    };
    Ok(response)
}

/// A server on a fresh loopback port running [`service`] with `builder`'s settings on each
/// connection; returns its address and a count of the connections it accepted.
async fn serve(builder: http1::Builder) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    runtime::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            count.fetch_add(1, SeqCst);
            let conn = builder
                .serve_connection(HyperIo::new(stream), service_fn(service))
                .with_upgrades();
            runtime::spawn(conn);
        }
    });
    (addr, accepted)
}

fn server_builder() -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder.timer(HyperTimer::new());
    builder
}

/// A hyper client connection to `addr`, its connection future running as a task.
async fn connect(addr: SocketAddr) -> (SendRequest<Body>, runtime::task::JoinHandle<()>) {
    let stream = guard("connect", TcpStream::connect(addr))
        .await
        .expect("connect");
    let (sender, conn) = guard(
        "handshake",
        hyper::client::conn::http1::handshake(HyperIo::new(stream)),
    )
    .await
    .expect("handshake");
    let driver = runtime::spawn(async move {
        conn.with_upgrades().await.expect("client connection");
    });
    (sender, driver)
}

fn request(method: Method, path: &str, body: impl Into<Bytes>) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header(HOST, "localhost")
        .body(Body::new(body.into()))
        .unwrap()
}

/// Sends `req` and returns the status and the whole body.
async fn send(sender: &mut SendRequest<Body>, req: Request<Body>) -> (StatusCode, Bytes) {
    let what = format!("{} {}", req.method(), req.uri());
    guard(&what, async {
        // An HTTP/1 connection takes the next request once the previous exchange is done.
        sender.ready().await.expect("connection ready");
        let response = sender.send_request(req).await.expect("send_request");
        let status = response.status();
        let body = response.into_body().collect().await.expect("body");
        (status, body.to_bytes())
    })
    .await
}

rt_test!(many_requests_share_one_keep_alive_connection, |rt| {
    rt.block_on(async {
        let (addr, accepted) = serve(server_builder()).await;
        let (mut sender, _driver) = connect(addr).await;
        for _ in 0..20 {
            let (status, body) = send(&mut sender, request(Method::GET, "/", "")).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(body, "hello");
        }
        let (status, _) = send(&mut sender, request(Method::GET, "/nope", "")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(accepted.load(SeqCst), 1, "every request on one connection");
    });
});

rt_test!(post_bodies_are_echoed, |rt| {
    rt.block_on(async {
        let (addr, _) = serve(server_builder()).await;
        let (mut sender, _driver) = connect(addr).await;
        // Small, then larger than any one read, so the body crosses many partial reads.
        for (seed, len) in [(1, 0), (2, 11), (3, 64 * 1024 + 7), (4, 3 * 1024 * 1024)] {
            let payload = pattern(seed, len);
            let (status, body) =
                send(&mut sender, request(Method::POST, "/echo", payload.clone())).await;
            assert_eq!(status, StatusCode::OK);
            assert!(body == payload[..], "echo of {len} bytes differs");
        }
    });
});

rt_test!(concurrent_connections_are_served_independently, |rt| {
    rt.block_on(async {
        const CONNECTIONS: usize = 32;
        let (addr, accepted) = serve(server_builder()).await;
        let mut clients = runtime::task::JoinSet::new();
        for client in 0..CONNECTIONS {
            clients.spawn(async move {
                let (mut sender, _driver) = connect(addr).await;
                for round in 0..4u64 {
                    let payload = pattern(client as u64 * 16 + round, 100 + client * 37);
                    let (status, body) =
                        send(&mut sender, request(Method::POST, "/echo", payload.clone())).await;
                    assert_eq!(status, StatusCode::OK);
                    assert!(
                        body == payload[..],
                        "client {client} round {round}: wrong echo"
                    );
                }
            });
        }
        while let Some(done) = guard("clients", clients.join_next()).await {
            done.expect("client task");
        }
        assert_eq!(accepted.load(SeqCst), CONNECTIONS);
    });
});

/// Connects, sends `sent` (not a whole request head) and goes quiet: the server's
/// `header_read_timeout` must end the connection with a timeout error, answering at most a 408.
async fn header_read_timeout_closes(sent: &[u8]) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().unwrap();
    let server = runtime::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accept");
        server_builder()
            .header_read_timeout(Duration::from_millis(100))
            .serve_connection(HyperIo::new(stream), service_fn(service))
            .await
    });
    let mut client = TcpStream::connect(addr).await.expect("connect");
    client.write_all(sent).await.unwrap();
    let mut reply = Vec::new();
    let mut buf = [0u8; 256];
    while let Ok(n @ 1..) =
        guard("server closing the quiet connection", client.read(&mut buf)).await
    {
        reply.extend_from_slice(&buf[..n]);
    }
    // hyper may answer 408 before closing; it must not answer anything else.
    assert!(
        reply.is_empty() || reply.starts_with(b"HTTP/1.1 408"),
        "unexpected reply {:?}",
        String::from_utf8_lossy(&reply)
    );
    let served = guard("server task", server).await.unwrap();
    let err = served.expect_err("the connection ends in a timeout error");
    assert!(err.is_timeout(), "expected a timeout, got {err:?}");
}

rt_test!(a_silent_client_is_closed_by_header_read_timeout, |rt| {
    rt.block_on(header_read_timeout_closes(b""));
});

rt_test!(
    a_stalled_request_head_is_closed_by_header_read_timeout,
    |rt| {
        rt.block_on(header_read_timeout_closes(
            b"GET / HTTP/1.1\r\nHost: localhost\r\n",
        ));
    }
);

rt_test!(
    the_timeout_restarts_for_each_request_on_a_kept_alive_connection,
    |rt| {
        rt.block_on(async {
            // hyper re-arms the header timer through `Timer::reset` for each new request head;
            // a connection that keeps sending complete requests is never cut.
            let mut builder = server_builder();
            builder.header_read_timeout(Duration::from_millis(300));
            let (addr, accepted) = serve(builder).await;
            let (mut sender, _driver) = connect(addr).await;
            for _ in 0..5 {
                let (status, _) = send(&mut sender, request(Method::GET, "/", "")).await;
                assert_eq!(status, StatusCode::OK);
                runtime::time::sleep(Duration::from_millis(50)).await;
            }
            assert_eq!(accepted.load(SeqCst), 1);
        });
    }
);

rt_test!(
    graceful_shutdown_finishes_the_request_in_flight_then_closes,
    |rt| {
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let addr = listener.local_addr().unwrap();
            let started = Arc::new(Event::new());
            let release = Arc::new(Event::new());
            let (s, r) = (started.clone(), release.clone());
            let server = runtime::spawn(async move {
                let (stream, _) = listener.accept().await.expect("accept");
                // The handler holds its response until released, so the shutdown lands while
                // the request is in flight.
                let slow = service_fn(move |_req: Request<Incoming>| {
                    let (s, r) = (s.clone(), r.clone());
                    async move {
                        s.set();
                        r.wait().await;
                        Ok::<_, Infallible>(Response::new(Body::from("finished")))
                    }
                });
                let mut conn = pin!(server_builder().serve_connection(HyperIo::new(stream), slow));
                match select(conn.as_mut(), pin!(started.wait())).await {
                    Either::Left((result, _)) => panic!("connection ended early: {result:?}"),
                    Either::Right(_) => {}
                }
                conn.as_mut().graceful_shutdown();
                release.set();
                conn.await
            });

            let (mut sender, driver) = connect(addr).await;
            let response = guard(
                "slow request",
                sender.send_request(request(Method::GET, "/", "")),
            )
            .await
            .expect("the in-flight request still gets its response");
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(response.headers()[CONNECTION], "close");
            let body = guard("body", response.into_body().collect()).await.unwrap();
            assert_eq!(body.to_bytes(), "finished");

            guard("server connection", server)
                .await
                .unwrap()
                .expect("a graceful shutdown ends the connection cleanly");
            // The server closed its side, so the client's connection future ends too.
            guard("client connection", driver).await.unwrap();
            assert!(sender.is_closed());
        });
    }
);

rt_test!(an_upgraded_connection_is_usable_through_futures_io, |rt| {
    rt.block_on(async {
        let (addr, _) = serve(server_builder()).await;
        let (mut sender, _driver) = connect(addr).await;
        let req = Request::builder()
            .uri("/upgrade")
            .header(HOST, "localhost")
            .header(CONNECTION, "upgrade")
            .header(UPGRADE, "echo")
            .body(Body::default())
            .unwrap();
        let response = guard("upgrade request", sender.send_request(req))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
        let upgraded = guard("client upgrade", hyper::upgrade::on(response))
            .await
            .unwrap();
        let mut io = HyperIo::new(upgraded);
        io.write_all(b"ping").await.unwrap();
        let mut echoed = [0u8; 4];
        guard("echo", io.read_exact(&mut echoed)).await.unwrap();
        assert_eq!(&echoed, b"ping");
    });
});

rt_test!(adapters_nest_both_ways, |rt| {
    rt.block_on(async {
        // hyper's IO over futures-io over hyper's IO over a TcpStream: each outer read runs
        // inside another one, as with TLS inside an upgraded connection.
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().unwrap();
        runtime::spawn(async move {
            let (stream, _) = listener.accept().await.expect("accept");
            let nested = HyperIo::new(HyperIo::new(HyperIo::new(stream)));
            server_builder()
                .serve_connection(nested, service_fn(service))
                .await
        });
        let (mut sender, _driver) = connect(addr).await;
        for (seed, len) in [(5, 10), (6, 300 * 1024)] {
            let payload = pattern(seed, len);
            let (status, body) =
                send(&mut sender, request(Method::POST, "/echo", payload.clone())).await;
            assert_eq!(status, StatusCode::OK);
            assert!(body == payload[..], "echo of {len} bytes differs");
        }
    });
});

rt_test!(the_executor_spawns_on_the_runtime, |rt| {
    // With a handle, from a plain thread outside the runtime.
    let (tx, rx) = std::sync::mpsc::channel();
    let executor = HyperExecutor::with_handle(rt.handle().clone());
    std::thread::spawn(move || executor.execute(async move { tx.send(1).unwrap() }))
        .join()
        .unwrap();
    // Without one, on the runtime current at `execute`.
    let got = rt.block_on(async move {
        let (tx2, rx2) = runtime::sync::oneshot::channel();
        HyperExecutor::new().execute(async move { tx2.send(2).unwrap() });
        guard("spawned task", rx2).await.unwrap()
    });
    assert_eq!(got, 2);
    assert_eq!(rx.recv_timeout(support::HANG_GUARD), Ok(1));
});

rt_test!(timer_reset_moves_the_deadline, |rt| {
    rt.block_on(async {
        let timer = HyperTimer::new();
        // An hour away, then pulled in: it completes (well before the hour).
        let mut sleep = timer.sleep(Duration::from_secs(3600));
        let started = Instant::now();
        timer.reset(&mut sleep, Instant::now() + Duration::from_millis(10));
        guard("reset sleep", sleep).await;
        assert!(
            started.elapsed() >= Duration::from_millis(10),
            "never early"
        );

        // A sleep from some other timer is replaced by one of ours.
        struct Never;
        impl std::future::Future for Never {
            type Output = ();
            fn poll(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<()> {
                std::task::Poll::Pending
            }
        }
        impl hyper::rt::Sleep for Never {}
        let mut foreign: std::pin::Pin<Box<dyn hyper::rt::Sleep>> = Box::pin(Never);
        timer.reset(&mut foreign, Instant::now());
        guard("replaced sleep", foreign).await;
    });
});

rt_test!(a_timer_with_a_handle_works_from_outside_the_runtime, |rt| {
    let timer = HyperTimer::with_handle(rt.handle().clone());
    // Made on this plain thread; the runtime's driver fires it.
    let sleep = timer.sleep(Duration::from_millis(5));
    rt.block_on(guard("sleep from a handle timer", sleep));
});

/// The example server, driven by the hyper client running on this runtime.
#[test]
fn the_hyper_server_example_answers_over_keep_alive() {
    let server = example::Server::start("hyper_server", &[]);
    let addr = server.addr;
    let rt = support::Flavor::MultiThread.build();
    rt.block_on(async {
        let (mut sender, _driver) = connect(addr).await;
        for _ in 0..3 {
            let (status, body) = send(&mut sender, request(Method::GET, "/", "")).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(body, "Hello, world!\n");
        }
        let (status, _) = send(&mut sender, request(Method::GET, "/missing", "")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    });
    drop(rt);
    server.stop();
}

/// The example's drain: an idle keep-alive connection is closed at once, a request under way
/// (half its head sent) is answered and then closed, new connections are refused, and it
/// exits 0.
#[test]
fn the_hyper_server_example_drains_on_sigterm() {
    use std::io::{Read, Write};
    let mut server = example::Server::start("hyper_server", &["--grace", "5"]);
    let connect = || {
        let stream = std::net::TcpStream::connect(server.addr).expect("connect");
        stream.set_read_timeout(Some(support::HANG_GUARD)).unwrap();
        stream
    };
    let mut idle = connect();
    idle.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut first = [0; 1024];
    let n = idle.read(&mut first).unwrap();
    assert!(first[..n].starts_with(b"HTTP/1.1 200 OK\r\n"));
    let mut busy = connect();
    busy.write_all(b"GET / HTTP/1.1\r\nHo").unwrap();

    let began = server.begin_shutdown(libc::SIGTERM);
    assert!(began.contains("draining 2 connections"), "{began}");
    example::assert_refused(server.addr);
    example::assert_closed_soon(&mut idle);
    busy.write_all(b"st: t\r\n\r\n").unwrap();
    let mut response = String::new();
    busy.read_to_string(&mut response)
        .expect("the response, then the close");
    // Answered in full, then closed (`read_to_string` returned). Whether the response also
    // says `connection: close` depends on whether the rest of the request arrived before
    // the drain began or during the moment the server waits for bytes already sent.
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(response.ends_with("Hello, world!\n"), "{response}");

    let (status, out) = server.process.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "{status}\n{out}");
    assert_eq!(example::drain_report(&out), (2, 0), "{out}");
}
