//! TCP: echo at scale, half-close, end-of-stream, refused and reset connections, split
//! halves, socket options, std conversions, the futures-io traits, `copy` and
//! `copy_bidirectional`, addresses, `try_*` and readiness, and host-name resolution; on
//! both scheduler flavors, over loopback.

#[macro_use]
mod support;

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use runtime::net::{TcpListener, TcpSocket, TcpStream};
use support::{guard, pattern, run_bounded, wait_until, Latch, ReleaseOnDrop, Rng};

/// Bound on a whole test's run (against a hang, not a speed claim).
const LIMIT: Duration = Duration::from_secs(60);

/// Binds a listener on a free loopback port.
async fn listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    (listener, addr)
}

/// A connected pair: (client, server side).
async fn pair() -> (TcpStream, TcpStream) {
    let (listener, addr) = listener().await;
    let client = runtime::spawn(TcpStream::connect(addr));
    let (server, _) = guard("accept", listener.accept()).await.expect("accept");
    let client = guard("connect", client).await.unwrap().expect("connect");
    (client, server)
}

/// Echoes everything it reads until end-of-stream, then closes.
async fn echo(mut stream: TcpStream) -> io::Result<u64> {
    let mut buf = vec![0u8; 8 * 1024];
    let mut total = 0u64;
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(total);
        }
        stream.write_all(&buf[..n]).await?;
        total += n as u64;
    }
}

/// Accepts forever, echoing each connection in its own task.
fn spawn_echo_server(listener: TcpListener) -> runtime::task::JoinHandle<()> {
    runtime::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.expect("echo server accept");
            runtime::spawn(echo(stream));
        }
    })
}

/// Reads until end-of-stream.
async fn read_to_end(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf).await? {
            0 => return Ok(out),
            n => out.extend_from_slice(&buf[..n]),
        }
    }
}

// ===== echo at scale =====

rt_test!(a_thousand_concurrent_echo_connections, |rt| {
    run_bounded("1 000 echo connections", LIMIT, move || {
        rt.block_on(async {
            let (listener, addr) = listener().await;
            let server = spawn_echo_server(listener);
            let mut rng = Rng::new(0x7c9_0001);
            let clients: Vec<_> = (0..1_000u64)
                .map(|i| {
                    let len = 1_000 + rng.below(7_000) as usize;
                    runtime::spawn(async move {
                        let data = pattern(i, len);
                        let mut conn = TcpStream::connect(addr).await.expect("connect");
                        conn.write_all(&data).await.expect("write");
                        conn.shutdown(Shutdown::Write).expect("shutdown");
                        let back = read_to_end(&mut conn).await.expect("read");
                        assert!(back == data, "connection {i}: echo differs");
                    })
                })
                .collect();
            for client in clients {
                guard("an echo client", client)
                    .await
                    .expect("echo client failed");
            }
            server.abort();
        });
    });
});

// ===== end of stream =====

rt_test!(half_close_lets_the_server_still_reply, |rt| {
    run_bounded("half-close", LIMIT, move || {
        rt.block_on(async {
            let (mut client, mut server) = pair().await;
            let server = runtime::spawn(async move {
                let request = read_to_end(&mut server).await.expect("server read");
                assert_eq!(request, b"request");
                // Its read side is at end-of-stream, but it can still write.
                server.write_all(b"reply").await.expect("server write");
                server.flush().await.unwrap();
                drop(server);
            });
            client.write_all(b"request").await.unwrap();
            client.shutdown(Shutdown::Write).unwrap();
            let reply = guard("client reads the reply", read_to_end(&mut client))
                .await
                .unwrap();
            assert_eq!(reply, b"reply");
            let mut buf = [0u8; 8];
            assert_eq!(client.read(&mut buf).await.unwrap(), 0);
            guard("server", server).await.unwrap();
        });
    });
});

rt_test!(reads_after_the_peer_closes_return_zero, |rt| {
    run_bounded("reads after close", LIMIT, move || {
        rt.block_on(async {
            let (mut client, mut server) = pair().await;
            server.write_all(b"last words").await.unwrap();
            drop(server);
            let mut buf = [0u8; 64];
            let got = guard("read", read_to_end(&mut client)).await.unwrap();
            assert_eq!(got, b"last words");
            for _ in 0..5 {
                assert_eq!(guard("read", client.read(&mut buf)).await.unwrap(), 0);
            }
            let err = client.read_exact(&mut buf).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
            // readable() reports end-of-stream as readiness.
            guard("readable at end of stream", client.readable())
                .await
                .unwrap();
            assert_eq!(client.try_read(&mut buf).unwrap(), 0);
        });
    });
});

// ===== refused and reset =====

rt_test!(connect_refused_is_an_error, |rt| {
    run_bounded("connect refused", LIMIT, move || {
        rt.block_on(async {
            let port = {
                let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                l.local_addr().unwrap().port()
            };
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let err = guard("connect to a closed port", TcpStream::connect(addr))
                .await
                .expect_err("connected to a closed port");
            assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
            let err = guard(
                "TcpSocket::connect to a closed port",
                TcpSocket::new_v4().unwrap().connect(addr),
            )
            .await
            .expect_err("connected to a closed port");
            assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
            // Port 0 is no destination at all.
            let zero = SocketAddr::from(([127, 0, 0, 1], 0));
            guard("connect to port 0", TcpStream::connect(zero))
                .await
                .expect_err("connected to port 0");
            // The runtime is still well.
            assert_eq!(runtime::spawn(async { 3 }).await.unwrap(), 3);
        });
    });
});

rt_test!(
    a_peer_reset_mid_write_is_an_error_and_the_runtime_stays_well,
    |rt| {
        run_bounded("reset mid-write", LIMIT, move || {
            rt.block_on(async {
                let (listener, addr) = listener().await;
                let resetter = runtime::spawn(async move {
                    let (conn, _) = listener.accept().await.unwrap();
                    let mut conn = conn.into_std().unwrap();
                    conn.set_nonblocking(false).unwrap();
                    let mut some = [0u8; 1024];
                    conn.read_exact(&mut some).unwrap();
                    // Linger 0: closing sends RST instead of FIN.
                    socket2::SockRef::from(&conn)
                        .set_linger(Some(Duration::ZERO))
                        .unwrap();
                    drop(conn);
                    listener
                });
                let mut client = TcpStream::connect(addr).await.unwrap();
                let chunk = vec![7u8; 64 * 1024];
                let mut written = 0u64;
                let err = guard("the writer sees the reset", async {
                    loop {
                        match client.write(&chunk).await {
                            Ok(n) => written += n as u64,
                            Err(e) => return e,
                        }
                    }
                })
                .await;
                assert!(
                    matches!(
                        err.kind(),
                        io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
                    ),
                    "unexpected error after {written} bytes: {err:?}"
                );
                let listener = resetter.await.unwrap();
                // The runtime goes on: tasks run, and the listener serves a new connection.
                assert_eq!(runtime::spawn(async { 5 }).await.unwrap(), 5);
                let server = spawn_echo_server(listener);
                let mut again = TcpStream::connect(addr).await.unwrap();
                again.write_all(b"still here").await.unwrap();
                let mut buf = [0u8; 10];
                guard("echo after a reset", again.read_exact(&mut buf))
                    .await
                    .unwrap();
                assert_eq!(&buf, b"still here");
                server.abort();
            });
        });
    }
);

// ===== halves =====

rt_test!(owned_halves_work_from_two_tasks_at_once, |rt| {
    run_bounded("into_split", LIMIT, move || {
        rt.block_on(async {
            let (listener, addr) = listener().await;
            let server = spawn_echo_server(listener);
            let conn = TcpStream::connect(addr).await.unwrap();
            let local = conn.local_addr().unwrap();
            let (mut read_half, mut write_half) = conn.into_split();
            assert_eq!(read_half.peer_addr().unwrap(), addr);
            assert_eq!(write_half.peer_addr().unwrap(), addr);
            // Far more than the socket buffers hold, so both sides must run together.
            let data = Arc::new(pattern(42, 4 * 1024 * 1024));
            let to_send = data.clone();
            let writer = runtime::spawn(async move {
                for chunk in to_send.chunks(10_000) {
                    write_half.write_all(chunk).await.unwrap();
                }
                write_half
            });
            let reader = runtime::spawn(async move {
                let mut got = vec![0u8; data.len()];
                read_half.read_exact(&mut got).await.unwrap();
                assert!(got == *data, "echo through the halves differs");
                read_half
            });
            let write_half = guard("writer half", writer).await.unwrap();
            let read_half = guard("reader half", reader).await.unwrap();
            let conn = read_half.reunite(write_half).expect("halves of one stream");
            assert_eq!(conn.local_addr().unwrap(), local);
            server.abort();
        });
    });
});

rt_test!(reunite_refuses_halves_of_different_streams, |rt| {
    run_bounded("reunite mismatch", LIMIT, move || {
        rt.block_on(async {
            let (a, _a_peer) = pair().await;
            let (b, _b_peer) = pair().await;
            let (a_read, a_write) = a.into_split();
            let (b_read, b_write) = b.into_split();
            let (a_read, b_write) = a_read.reunite(b_write).expect_err("mismatched halves");
            let a = a_read.reunite(a_write).expect("a's halves");
            let b = b_read.reunite(b_write).expect("b's halves");
            assert_ne!(a.local_addr().unwrap(), b.local_addr().unwrap());
        });
    });
});

rt_test!(dropping_the_owned_write_half_ends_the_peers_stream, |rt| {
    run_bounded("write half drop", LIMIT, move || {
        rt.block_on(async {
            let (client, mut server) = pair().await;
            let (mut read_half, mut write_half) = client.into_split();
            write_half.write_all(b"bye").await.unwrap();
            drop(write_half);
            assert_eq!(
                guard("server read", read_to_end(&mut server))
                    .await
                    .unwrap(),
                b"bye"
            );
            // The read half still works.
            server.write_all(b"ok").await.unwrap();
            let mut buf = [0u8; 2];
            guard("read half", read_half.read_exact(&mut buf))
                .await
                .unwrap();
            assert_eq!(&buf, b"ok");
        });
    });
});

rt_test!(borrowed_halves_work_concurrently_in_one_task, |rt| {
    run_bounded("split", LIMIT, move || {
        rt.block_on(async {
            let (listener, addr) = listener().await;
            let server = spawn_echo_server(listener);
            let mut conn = TcpStream::connect(addr).await.unwrap();
            let data = pattern(7, 2 * 1024 * 1024);
            let (mut r, mut w) = conn.split();
            let write = async {
                for chunk in data.chunks(8_192) {
                    w.write_all(chunk).await.unwrap();
                }
            };
            let read = async {
                let mut got = vec![0u8; data.len()];
                r.read_exact(&mut got).await.unwrap();
                got
            };
            let ((), got) = guard("split echo", futures::future::join(write, read)).await;
            assert!(got == data, "echo through split halves differs");
            server.abort();
        });
    });
});

// ===== socket options =====

rt_test!(tcp_socket_options_take_effect, |rt| {
    run_bounded("TcpSocket options", LIMIT, move || {
        rt.block_on(async {
            // Buffer sizes: the OS may round or clamp, but the setting takes effect.
            let socket = TcpSocket::new_v4().unwrap();
            let send_default = socket.send_buffer_size().unwrap();
            let recv_default = socket.recv_buffer_size().unwrap();
            let send_want = if send_default > 64 * 1024 {
                8 * 1024
            } else {
                128 * 1024
            };
            let recv_want = if recv_default > 64 * 1024 {
                8 * 1024
            } else {
                128 * 1024
            };
            socket.set_send_buffer_size(send_want).unwrap();
            socket.set_recv_buffer_size(recv_want).unwrap();
            assert_ne!(socket.send_buffer_size().unwrap(), send_default);
            assert_ne!(socket.recv_buffer_size().unwrap(), recv_default);

            // reuseaddr + bind + listen, then nodelay on a connecting socket.
            socket.set_reuseaddr(true).unwrap();
            socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
            let addr = socket.local_addr().unwrap();
            assert_eq!(addr.ip(), std::net::Ipv4Addr::LOCALHOST);
            assert_ne!(addr.port(), 0);
            let listener = socket.listen(16).unwrap();
            assert_eq!(listener.local_addr().unwrap(), addr);
            let client = TcpSocket::new_v4().unwrap();
            client.set_nodelay(true).unwrap();
            let accept = runtime::spawn(async move { listener.accept().await.map(|(s, _)| s) });
            let stream = guard("connect", client.connect(addr)).await.unwrap();
            assert!(stream.nodelay().unwrap());
            stream.set_nodelay(false).unwrap();
            assert!(!stream.nodelay().unwrap());
            let server = guard("accept", accept).await.unwrap().unwrap();
            assert_eq!(server.peer_addr().unwrap(), stream.local_addr().unwrap());
        });
    });
});

rt_test!(reuseport_lets_two_listeners_share_a_port, |rt| {
    run_bounded("SO_REUSEPORT", LIMIT, move || {
        rt.block_on(async {
            let first = TcpSocket::new_v4().unwrap();
            first.set_reuseport(true).unwrap();
            first.bind("127.0.0.1:0".parse().unwrap()).unwrap();
            let addr = first.local_addr().unwrap();
            let first = first.listen(64).unwrap();
            let second = TcpSocket::new_v4().unwrap();
            second.set_reuseport(true).unwrap();
            second
                .bind(addr)
                .expect("a second SO_REUSEPORT socket binds the same port");
            let second = second.listen(64).unwrap();
            assert_eq!(second.local_addr().unwrap(), addr);
            // Without the option, the port is taken.
            let third = TcpSocket::new_v4().unwrap();
            assert!(
                third.bind(addr).is_err(),
                "bound a used port without reuseport"
            );

            // Connections land on one listener or the other; both serve.
            let a = spawn_echo_server(first);
            let b = spawn_echo_server(second);
            for i in 0..20u64 {
                let mut conn = TcpStream::connect(addr).await.unwrap();
                let data = pattern(i, 100);
                conn.write_all(&data).await.unwrap();
                let mut back = vec![0u8; 100];
                guard("echo", conn.read_exact(&mut back)).await.unwrap();
                assert_eq!(back, data);
            }
            a.abort();
            b.abort();
        });
    });
});

rt_test!(ipv6_loopback_works_where_available, |rt| {
    run_bounded("IPv6", LIMIT, move || {
        rt.block_on(async {
            let Ok(socket) = TcpSocket::new_v6() else {
                eprintln!("no IPv6 sockets here; skipping");
                return;
            };
            if socket.bind("[::1]:0".parse().unwrap()).is_err() {
                eprintln!("no IPv6 loopback here; skipping");
                return;
            }
            let addr = socket.local_addr().unwrap();
            let listener = socket.listen(8).unwrap();
            let server = spawn_echo_server(listener);
            let mut conn = TcpStream::connect(addr).await.unwrap();
            conn.write_all(b"six").await.unwrap();
            let mut buf = [0u8; 3];
            guard("v6 echo", conn.read_exact(&mut buf)).await.unwrap();
            assert_eq!(&buf, b"six");
            server.abort();
        });
    });
});

// ===== std conversions =====

rt_test!(std_listener_and_stream_round_trip, |rt| {
    run_bounded("from_std / into_std", LIMIT, move || {
        rt.block_on(async {
            let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = std_listener.local_addr().unwrap();
            let listener = TcpListener::from_std(std_listener).unwrap();
            assert_eq!(listener.local_addr().unwrap(), addr);

            // A std client (connect completes through the backlog), wrapped after.
            let std_client = std::net::TcpStream::connect(addr).unwrap();
            let (mut server, peer) = guard("accept", listener.accept()).await.unwrap();
            assert_eq!(peer, std_client.local_addr().unwrap());
            let mut client = TcpStream::from_std(std_client).unwrap();
            client.write_all(b"ping").await.unwrap();
            let mut buf = [0u8; 4];
            guard("read", server.read_exact(&mut buf)).await.unwrap();
            assert_eq!(&buf, b"ping");

            // Back to std: still connected, usable with blocking calls after switching.
            let mut std_server = server.into_std().unwrap();
            std_server.set_nonblocking(false).unwrap();
            let writer = std::thread::spawn(move || {
                std_server.write_all(b"pong").unwrap();
                std_server
            });
            guard("read", client.read_exact(&mut buf)).await.unwrap();
            assert_eq!(&buf, b"pong");
            drop(writer.join().unwrap());
            assert_eq!(guard("eof", read_to_end(&mut client)).await.unwrap(), b"");

            // The listener too.
            let std_listener = listener.into_std().unwrap();
            assert_eq!(std_listener.local_addr().unwrap(), addr);
            std_listener.set_nonblocking(false).unwrap();
            let accepter = std::thread::spawn(move || std_listener.accept().map(|(s, _)| s));
            let _c = TcpStream::connect(addr).await.unwrap();
            assert!(accepter.join().unwrap().is_ok());
        });
    });
});

// ===== futures-io traits, copy, copy_bidirectional =====

rt_test!(
    futures_io_extension_traits_work_on_streams_and_halves,
    |rt| {
        use futures::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
        run_bounded("futures-io", LIMIT, move || {
            rt.block_on(async {
                let (mut client, server) = pair().await;
                let server = runtime::spawn(async move {
                    let (read_half, mut write_half) = server.into_split();
                    let mut lines = BufReader::new(read_half);
                    let mut line = String::new();
                    let mut count = 0;
                    loop {
                        line.clear();
                        if lines.read_line(&mut line).await.unwrap() == 0 {
                            break;
                        }
                        count += 1;
                        let reply = format!("{count}:{}", line.to_uppercase());
                        AsyncWriteExt::write_all(&mut write_half, reply.as_bytes())
                            .await
                            .unwrap();
                    }
                    AsyncWriteExt::close(&mut write_half).await.unwrap();
                });
                AsyncWriteExt::write_all(&mut client, b"alpha\nbeta\ngamma\n")
                    .await
                    .unwrap();
                AsyncWriteExt::flush(&mut client).await.unwrap();
                // close() shuts the write side down: the server's lines end.
                AsyncWriteExt::close(&mut client).await.unwrap();
                let mut all = String::new();
                guard(
                    "read_to_string",
                    AsyncReadExt::read_to_string(&mut client, &mut all),
                )
                .await
                .unwrap();
                assert_eq!(all, "1:ALPHA\n2:BETA\n3:GAMMA\n");
                guard("server", server).await.unwrap();
            });
        });
    }
);

rt_test!(copy_moves_a_stream_and_counts_the_bytes, |rt| {
    run_bounded("io::copy", LIMIT, move || {
        rt.block_on(async {
            let (mut client, mut server) = pair().await;
            let data = pattern(3, 300_000);
            let to_send = data.clone();
            let writer = runtime::spawn(async move {
                client.write_all(&to_send).await.unwrap();
                drop(client);
            });
            let mut sink = futures::io::Cursor::new(Vec::new());
            let n = guard("copy", runtime::io::copy(&mut server, &mut sink))
                .await
                .unwrap();
            assert_eq!(n, data.len() as u64);
            assert!(sink.into_inner() == data);
            writer.await.unwrap();
        });
    });
});

rt_test!(copy_bidirectional_proxies_both_ways, |rt| {
    run_bounded("copy_bidirectional proxy", LIMIT, move || {
        rt.block_on(async {
            let (backend, backend_addr) = listener().await;
            let backend = spawn_echo_server(backend);
            let (front, front_addr) = listener().await;
            let proxy = runtime::spawn(async move {
                let (mut inbound, _) = front.accept().await.unwrap();
                let mut outbound = TcpStream::connect(backend_addr).await.unwrap();
                runtime::io::copy_bidirectional(&mut inbound, &mut outbound).await
            });
            let mut client = TcpStream::connect(front_addr).await.unwrap();
            let data = pattern(11, 1_000_000);
            let (mut r, mut w) = client.split();
            let send = async {
                w.write_all(&data).await.unwrap();
                // The futures-io close shuts the write side down.
                futures::io::AsyncWriteExt::close(&mut w).await.unwrap();
            };
            let ((), back) = guard(
                "proxied echo",
                futures::future::join(send, async {
                    let mut out = Vec::new();
                    let mut buf = [0u8; 16 * 1024];
                    loop {
                        match r.read(&mut buf).await.unwrap() {
                            0 => break out,
                            n => out.extend_from_slice(&buf[..n]),
                        }
                    }
                }),
            )
            .await;
            assert!(back == data, "proxied echo differs");
            let (up, down) = guard("proxy finishes", proxy).await.unwrap().unwrap();
            assert_eq!(up, data.len() as u64, "bytes client -> backend");
            assert_eq!(down, data.len() as u64, "bytes backend -> client");
            backend.abort();
        });
    });
});

// ===== addresses, try_*, readiness =====

rt_test!(local_and_peer_addresses_match_across_the_connection, |rt| {
    run_bounded("addresses", LIMIT, move || {
        rt.block_on(async {
            let (listener, addr) = listener().await;
            let client = TcpStream::connect(addr).await.unwrap();
            let (server, peer) = guard("accept", listener.accept()).await.unwrap();
            assert_eq!(client.peer_addr().unwrap(), addr);
            assert_eq!(server.local_addr().unwrap(), addr);
            assert_eq!(peer, client.local_addr().unwrap());
            assert_eq!(server.peer_addr().unwrap(), client.local_addr().unwrap());
        });
    });
});

rt_test!(
    try_read_and_try_write_would_block_instead_of_waiting,
    |rt| {
        run_bounded("try_read / try_write", LIMIT, move || {
            rt.block_on(async {
                let (client, mut server) = pair().await;
                let mut buf = [0u8; 16];
                let err = client.try_read(&mut buf).unwrap_err();
                assert_eq!(err.kind(), io::ErrorKind::WouldBlock);

                guard("writable", client.writable()).await.unwrap();
                server.write_all(b"data").await.unwrap();
                guard("readable", client.readable()).await.unwrap();
                let mut got = Vec::new();
                while got.len() < 4 {
                    match client.try_read(&mut buf) {
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            guard("readable", client.readable()).await.unwrap()
                        }
                        Err(e) => panic!("try_read: {e}"),
                    }
                }
                assert_eq!(got, b"data");
                let err = client.try_read(&mut buf).unwrap_err();
                assert_eq!(err.kind(), io::ErrorKind::WouldBlock);

                // Fill the buffers: try_write then reports WouldBlock, and writable() waits
                // until the peer reads.
                let chunk = vec![1u8; 64 * 1024];
                let mut filled = 0usize;
                loop {
                    match client.try_write(&chunk) {
                        Ok(n) => filled += n,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) => panic!("try_write: {e}"),
                    }
                    assert!(filled < 1 << 30, "the socket never filled up");
                }
                let drain = runtime::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    let mut total = 0usize;
                    while total < filled {
                        total += server.read(&mut buf).await.unwrap();
                    }
                    server
                });
                guard("writable after the peer drains", client.writable())
                    .await
                    .unwrap();
                let _server = guard("drain", drain).await.unwrap();
            });
        });
    }
);

// ===== resolution =====

rt_test!(host_names_resolve_through_the_blocking_pool, |rt| {
    run_bounded("resolving localhost", LIMIT, move || {
        rt.block_on(async {
            let listener = guard("bind localhost", TcpListener::bind("localhost:0"))
                .await
                .unwrap();
            let port = listener.local_addr().unwrap().port();
            let server = spawn_echo_server(listener);
            for target in [format!("localhost:{port}"), format!("127.0.0.1:{port}")] {
                let mut conn = guard("connect by name", TcpStream::connect(target.as_str()))
                    .await
                    .unwrap();
                conn.write_all(b"hi").await.unwrap();
                let mut buf = [0u8; 2];
                guard("echo", conn.read_exact(&mut buf)).await.unwrap();
                assert_eq!(&buf, b"hi");
            }
            let conn = guard(
                "connect (host, port)",
                TcpStream::connect(("localhost", port)),
            )
            .await
            .unwrap();
            assert_eq!(conn.peer_addr().unwrap().port(), port);
            server.abort();
        });
    });
});

// ===== a blocked worker does not stall IO =====

#[test]
fn io_and_timers_go_on_while_a_worker_is_blocked() {
    let rt = support::Flavor::MultiThread.build();
    run_bounded("IO beside a blocked worker", LIMIT, move || {
        let (listener, addr) = rt.block_on(listener());
        let server = rt.spawn(async move {
            loop {
                let (mut conn, _) = listener.accept().await.unwrap();
                runtime::spawn(async move {
                    let mut buf = [0u8; 64];
                    while let Ok(n @ 1..) = conn.read(&mut buf).await {
                        conn.write_all(&buf[..n]).await.unwrap();
                    }
                });
            }
        });
        // Several rounds, so the blocking task lands on the worker holding the reactor at
        // least sometimes; it blocks until the IO beside it is done.
        for round in 0..10u64 {
            let release = Latch::new();
            let _release_on_failure = ReleaseOnDrop(release.clone());
            let blocked = Arc::new(AtomicBool::new(false));
            let blocker = {
                let (release, blocked) = (release.clone(), blocked.clone());
                rt.spawn(async move {
                    blocked.store(true, SeqCst);
                    release.wait_blocking();
                })
            };
            wait_until("the blocking task runs", || blocked.load(SeqCst));
            rt.block_on(async {
                let io = runtime::spawn(async move {
                    runtime::time::sleep(Duration::from_millis(5)).await;
                    let mut conn = TcpStream::connect(addr).await.unwrap();
                    for i in 0..20u64 {
                        let data = pattern(round * 100 + i, 64);
                        conn.write_all(&data).await.unwrap();
                        let mut back = [0u8; 64];
                        conn.read_exact(&mut back).await.unwrap();
                        assert_eq!(&back[..], &data[..]);
                    }
                });
                io.await.unwrap();
            });
            release.release();
            rt.block_on(blocker).unwrap();
        }
        server.abort();
    });
}

// ===== the reactor going away (tokio's io_driver_drop) =====

rt_test!(
    a_listener_outliving_its_runtime_fails_instead_of_blocking,
    |rt| {
        run_bounded("accept after the runtime is gone", LIMIT, move || {
            let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
            drop(rt);
            // Nobody connects: with the reactor gone, nothing could ever wake this accept.
            let accepted = support::block_on_outside(listener.accept());
            assert!(accepted.is_err(), "accept must fail, not wait forever");
        });
    }
);

rt_test!(
    tasks_accepting_on_one_listener_each_get_their_own_connection,
    |rt| {
        // tokio's `accept_many`: several tasks wait in `accept` on a shared listener; every
        // connection goes to exactly one of them.
        run_bounded("shared listener", LIMIT, move || {
            rt.block_on(async {
                const ACCEPTORS: usize = 8;
                let (listener, addr) = listener().await;
                let listener = Arc::new(listener);
                let acceptors: Vec<_> = (0..ACCEPTORS)
                    .map(|_| {
                        let listener = listener.clone();
                        runtime::spawn(async move { listener.accept().await.unwrap().1 })
                    })
                    .collect();
                runtime::yield_now().await;
                let mut clients = Vec::new();
                for _ in 0..ACCEPTORS {
                    clients.push(TcpStream::connect(addr).await.unwrap());
                }
                let mut accepted = Vec::new();
                for task in acceptors {
                    accepted.push(guard("an acceptor", task).await.unwrap());
                }
                let mut expected: Vec<_> =
                    clients.iter().map(|c| c.local_addr().unwrap()).collect();
                accepted.sort_unstable();
                expected.sort_unstable();
                assert_eq!(accepted, expected, "each connection accepted exactly once");
            });
        });
    }
);
