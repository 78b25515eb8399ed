//! UDP: round trips with `send_to`/`recv_from` and with `connect` + `send`/`recv`, many
//! datagrams both ways between two tasks, the `try_*` forms and readiness; on both
//! scheduler flavors, over loopback.

#[macro_use]
mod support;

use std::io;
use std::sync::Arc;
use std::time::Duration;

use runtime::net::UdpSocket;
use support::{guard, pattern, run_bounded};

/// Bound on a whole test's run (against a hang, not a speed claim).
const LIMIT: Duration = Duration::from_secs(60);

async fn bind() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").await.expect("bind")
}

rt_test!(send_to_and_recv_from_round_trip, |rt| {
    run_bounded("send_to / recv_from", LIMIT, move || {
        rt.block_on(async {
            let a = bind().await;
            let b = bind().await;
            let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
            let mut buf = [0u8; 1500];
            for i in 0..50u64 {
                let msg = pattern(i, 1 + (i as usize * 29) % 1400);
                assert_eq!(a.send_to(&msg, b_addr).await.unwrap(), msg.len());
                let (n, from) = guard("recv_from", b.recv_from(&mut buf)).await.unwrap();
                assert_eq!((&buf[..n], from), (&msg[..], a_addr));
                assert_eq!(b.send_to(&buf[..n], from).await.unwrap(), n);
                let (n, from) = guard("recv_from", a.recv_from(&mut buf)).await.unwrap();
                assert_eq!((&buf[..n], from), (&msg[..], b_addr));
            }
            // A zero-length datagram is a datagram too.
            a.send_to(&[], b_addr).await.unwrap();
            let (n, from) = guard("empty datagram", b.recv_from(&mut buf))
                .await
                .unwrap();
            assert_eq!((n, from), (0, a_addr));
        });
    });
});

rt_test!(connected_sockets_send_and_recv, |rt| {
    run_bounded("connect + send / recv", LIMIT, move || {
        rt.block_on(async {
            let a = bind().await;
            let b = bind().await;
            a.connect(b.local_addr().unwrap()).await.unwrap();
            b.connect(a.local_addr().unwrap()).await.unwrap();
            assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());
            assert_eq!(b.peer_addr().unwrap(), a.local_addr().unwrap());
            let mut buf = [0u8; 64];
            for i in 0..50u8 {
                a.send(&[i; 10]).await.unwrap();
                let n = guard("recv", b.recv(&mut buf)).await.unwrap();
                assert_eq!(&buf[..n], &[i; 10]);
                b.send(&[i ^ 0xff; 3]).await.unwrap();
                let n = guard("recv", a.recv(&mut buf)).await.unwrap();
                assert_eq!(&buf[..n], &[i ^ 0xff; 3]);
            }
            // A connected socket only takes datagrams from its peer.
            let stranger = bind().await;
            stranger
                .send_to(b"not for you", a.local_addr().unwrap())
                .await
                .unwrap();
            b.send(b"for you").await.unwrap();
            let n = guard("recv", a.recv(&mut buf)).await.unwrap();
            assert_eq!(&buf[..n], b"for you");
        });
    });
});

rt_test!(many_datagrams_both_ways_between_two_tasks, |rt| {
    run_bounded("datagrams between tasks", LIMIT, move || {
        rt.block_on(async {
            let a = bind().await;
            let b = bind().await;
            let b_addr = b.local_addr().unwrap();
            // One datagram in flight at a time, so loopback never has to drop any.
            let responder = runtime::spawn(async move {
                let mut buf = [0u8; 2048];
                for _ in 0..1_000 {
                    let (n, from) = b.recv_from(&mut buf).await.unwrap();
                    buf[..n].reverse();
                    b.send_to(&buf[..n], from).await.unwrap();
                }
            });
            let requester = runtime::spawn(async move {
                let mut buf = [0u8; 2048];
                for i in 0..1_000u64 {
                    let msg = pattern(i, 1 + (i as usize * 37) % 2000);
                    a.send_to(&msg, b_addr).await.unwrap();
                    let (n, _) = a.recv_from(&mut buf).await.unwrap();
                    let mut expected = msg.clone();
                    expected.reverse();
                    assert_eq!(&buf[..n], &expected[..], "datagram {i}");
                }
            });
            guard("requester", requester).await.unwrap();
            guard("responder", responder).await.unwrap();
        });
    });
});

rt_test!(
    a_shared_socket_sends_from_one_task_and_receives_in_another,
    |rt| {
        run_bounded("shared socket", LIMIT, move || {
            rt.block_on(async {
                let socket = Arc::new(bind().await);
                let echo = bind().await;
                socket.connect(echo.local_addr().unwrap()).await.unwrap();
                let echo_task = runtime::spawn(async move {
                    let mut buf = [0u8; 64];
                    for _ in 0..200 {
                        let (n, from) = echo.recv_from(&mut buf).await.unwrap();
                        echo.send_to(&buf[..n], from).await.unwrap();
                    }
                });
                let receiver = {
                    let socket = socket.clone();
                    runtime::spawn(async move {
                        let mut buf = [0u8; 64];
                        let mut seen = Vec::new();
                        for _ in 0..200 {
                            let n = socket.recv(&mut buf).await.unwrap();
                            seen.push(u32::from_le_bytes(buf[..n].try_into().unwrap()));
                        }
                        seen
                    })
                };
                // Small bursts, far below what the socket buffers hold, so none is dropped.
                for i in 0..200u32 {
                    socket.send(&i.to_le_bytes()).await.unwrap();
                    if i % 16 == 15 {
                        runtime::time::sleep(Duration::from_millis(1)).await;
                    }
                }
                let mut seen = guard("receiver", receiver).await.unwrap();
                seen.sort_unstable();
                assert_eq!(seen, (0..200).collect::<Vec<_>>());
                guard("echo", echo_task).await.unwrap();
            });
        });
    }
);

rt_test!(try_send_and_try_recv_never_wait, |rt| {
    run_bounded("try_send / try_recv", LIMIT, move || {
        rt.block_on(async {
            let a = bind().await;
            let b = bind().await;
            a.connect(b.local_addr().unwrap()).await.unwrap();
            b.connect(a.local_addr().unwrap()).await.unwrap();
            let mut buf = [0u8; 32];
            let err = b.try_recv(&mut buf).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::WouldBlock);

            guard("writable", a.writable()).await.unwrap();
            let sent = loop {
                match a.try_send(b"quick") {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        guard("writable", a.writable()).await.unwrap()
                    }
                    Err(e) => panic!("try_send: {e}"),
                }
            };
            assert_eq!(sent, 5);
            let n = loop {
                guard("readable", b.readable()).await.unwrap();
                match b.try_recv(&mut buf) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    Err(e) => panic!("try_recv: {e}"),
                }
            };
            assert_eq!(&buf[..n], b"quick");
            let err = b.try_recv(&mut buf).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        });
    });
});

rt_test!(send_to_a_host_name_resolves_it, |rt| {
    run_bounded("send_to localhost", LIMIT, move || {
        rt.block_on(async {
            let a = bind().await;
            let b = bind().await;
            let port = b.local_addr().unwrap().port();
            let target = format!("localhost:{port}");
            guard("send_to by name", a.send_to(b"named", target.as_str()))
                .await
                .unwrap();
            let mut buf = [0u8; 16];
            let (n, _) = guard("recv_from", b.recv_from(&mut buf)).await.unwrap();
            assert_eq!(&buf[..n], b"named");
        });
    });
});

rt_test!(udp_from_std_and_broadcast_option, |rt| {
    run_bounded("from_std", LIMIT, move || {
        rt.block_on(async {
            let std_socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            let addr = std_socket.local_addr().unwrap();
            let socket = UdpSocket::from_std(std_socket).unwrap();
            assert_eq!(socket.local_addr().unwrap(), addr);
            socket.set_broadcast(true).unwrap();
            let other = bind().await;
            other.send_to(b"std", addr).await.unwrap();
            let mut buf = [0u8; 8];
            let (n, from) = guard("recv_from", socket.recv_from(&mut buf))
                .await
                .unwrap();
            assert_eq!(
                (&buf[..n], from),
                (&b"std"[..], other.local_addr().unwrap())
            );
        });
    });
});

// ===== behaviours tokio's udp.rs checks that the ones above do not =====

rt_test!(a_connected_socket_learns_that_its_peer_is_gone, |rt| {
    run_bounded("connected socket, peer closed", LIMIT, move || {
        rt.block_on(async {
            let a = bind().await;
            let gone = bind().await;
            a.connect(gone.local_addr().unwrap()).await.unwrap();
            drop(gone);
            // The send itself succeeds; loopback's "port unreachable" comes back as an error
            // on the connected socket's next receive.
            a.send(b"anyone?").await.unwrap();
            let mut buf = [0u8; 16];
            let err = guard("recv after the peer left", a.recv(&mut buf))
                .await
                .expect_err("nobody can answer");
            assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
        });
    });
});

rt_test!(
    a_datagram_longer_than_the_buffer_is_cut_and_the_rest_dropped,
    |rt| {
        run_bounded("short receive buffer", LIMIT, move || {
            rt.block_on(async {
                let a = bind().await;
                let b = bind().await;
                let b_addr = b.local_addr().unwrap();
                a.send_to(&[7u8; 100], b_addr).await.unwrap();
                a.send_to(&[9u8; 3], b_addr).await.unwrap();
                let mut small = [0u8; 10];
                let (n, _) = guard("first datagram", b.recv_from(&mut small))
                    .await
                    .unwrap();
                assert_eq!((n, small), (10, [7u8; 10]));
                // The next receive is the next datagram, not the tail of the first.
                let (n, _) = guard("second datagram", b.recv_from(&mut small))
                    .await
                    .unwrap();
                assert_eq!(&small[..n], &[9u8; 3]);
            });
        });
    }
);
