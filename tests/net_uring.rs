//! The io_uring driver (`Builder::io_driver(IoDriver::Uring)`): reads woken by the ring
//! alone, cancelled reads that lose nothing, streams and listeners dropped with operations
//! in flight (nothing left in the ring), connects on the ring (refused as on mio, dropped
//! mid-flight without a trace), shutdown with operations in flight, and the
//! fallback to mio when `io_uring_setup` fails. On kernels without io_uring the tests that
//! need the ring check the fallback instead.

#[macro_use]
mod support;

use std::future::Future;
use std::io::{Read, Write};
use std::time::Duration;

use runtime::net::{TcpListener, TcpSocket, TcpStream};
use runtime::{Builder, IoDriver, Runtime};
use support::{eventually, guard, run_bounded, wait_until};

/// Bound on a whole test's run (against a hang, not a speed claim).
const LIMIT: Duration = Duration::from_secs(60);

fn uring(flavor: support::Flavor) -> Runtime {
    match flavor {
        support::Flavor::CurrentThread => Builder::new_current_thread(),
        support::Flavor::MultiThread => Builder::new_multi_thread().worker_threads(2),
    }
    .io_driver(IoDriver::Uring)
    .build()
    .expect("building the runtime")
}

/// Whether this kernel gave the runtime a ring (else the tests check the fallback).
fn has_uring(rt: &Runtime) -> bool {
    rt.metrics().io_driver == IoDriver::Uring
}

/// Waits until the ring holds no operation, giving the driver turns meanwhile (a
/// current-thread runtime turns it only inside `block_on`); at once on a runtime that fell
/// back to mio.
fn wait_for_no_ops(rt: &Runtime, what: &str) {
    if !has_uring(rt) {
        return;
    }
    wait_until(what, || {
        rt.block_on(async { runtime::time::sleep(Duration::from_millis(1)).await });
        rt.metrics().io_ops == 0
    });
}

rt_test!(a_read_is_woken_by_its_completion_alone, |_rt, flavor| {
    // The only event the runtime can wake for is the recv's completion: no timers, no
    // other task, the writer is a plain thread.
    let rt = uring(flavor);
    run_bounded("a read woken by the ring", LIMIT, move || {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = std_listener.local_addr().unwrap();
        let writer = std::thread::spawn(move || {
            let (mut conn, _) = std_listener.accept().unwrap();
            std::thread::sleep(Duration::from_millis(50));
            conn.write_all(b"late").unwrap();
            conn
        });
        let got = rt.block_on(async {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            let reader = runtime::spawn(async move {
                let mut buf = [0u8; 4];
                stream.read_exact(&mut buf).await.unwrap();
                buf
            });
            reader.await.unwrap()
        });
        assert_eq!(&got, b"late");
        drop(writer.join().unwrap());
    });
});

rt_test!(
    a_dropped_read_loses_nothing_the_next_read_gets_the_bytes,
    |_rt, flavor| {
        let rt = uring(flavor);
        run_bounded("cancelled read", LIMIT, move || {
            let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = std_listener.local_addr().unwrap();
            let (go, wait) = std::sync::mpsc::channel::<()>();
            let writer = std::thread::spawn(move || {
                let (mut conn, _) = std_listener.accept().unwrap();
                wait.recv().unwrap();
                conn.write_all(b"after the cancel").unwrap();
                conn
            });
            rt.block_on(async {
                let mut stream = TcpStream::connect(addr).await.unwrap();
                let mut buf = [0u8; 64];
                // A read that waits, and is dropped by the timeout: its recv stays in flight.
                let timed_out =
                    runtime::time::timeout(Duration::from_millis(20), stream.read(&mut buf)).await;
                assert!(timed_out.is_err(), "nothing was sent yet");
                go.send(()).unwrap();
                // The bytes land in the cancelled read's recv; the next read takes them.
                let mut got = Vec::new();
                while got.len() < 16 {
                    let n = guard("the next read", stream.read(&mut buf)).await.unwrap();
                    assert_ne!(n, 0, "end of stream before the bytes");
                    got.extend_from_slice(&buf[..n]);
                }
                assert_eq!(got, b"after the cancel");
            });
            drop(writer.join().unwrap());
            // The stream is gone: nothing of it is left in the ring.
            wait_for_no_ops(&rt, "the ring to hold no operation");
        });
    }
);

rt_test!(
    dropping_a_stream_with_a_read_in_flight_leaves_nothing_behind,
    |_rt, flavor| {
        let rt = uring(flavor);
        run_bounded("stream dropped mid-read", LIMIT, move || {
            let before = rt.metrics();
            rt.block_on(async {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                let mut clients = Vec::new();
                let mut readers = Vec::new();
                for _ in 0..32 {
                    clients.push(TcpStream::connect(addr).await.unwrap());
                    let (mut server, _) = listener.accept().await.unwrap();
                    // Each server side waits in a read that never completes...
                    readers.push(runtime::spawn(async move {
                        let mut buf = [0u8; 16];
                        let _ = server.read(&mut buf).await;
                    }));
                }
                runtime::time::sleep(Duration::from_millis(20)).await;
                // ...until its task is aborted: the future and the stream drop mid-read.
                for reader in &readers {
                    reader.abort();
                }
                for reader in readers {
                    assert!(reader.await.unwrap_err().is_cancelled());
                }
                // The peers see the server sides closed.
                for mut client in clients {
                    let mut buf = [0u8; 1];
                    let n = guard("end of stream", client.read(&mut buf)).await;
                    assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
                }
            });
            wait_for_no_ops(&rt, "the ring to free the cancelled recvs");
            let after = rt.metrics();
            assert_eq!(after.io_registrations, before.io_registrations);
            assert_eq!(after.io_ops, 0);
        });
    }
);

rt_test!(
    dropping_a_listener_with_an_accept_in_flight_leaves_nothing_behind,
    |_rt, flavor| {
        let rt = uring(flavor);
        run_bounded("listener dropped mid-accept", LIMIT, move || {
            rt.block_on(async {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                // An accept dropped while it waits: the listener keeps it in flight...
                let timed_out =
                    runtime::time::timeout(Duration::from_millis(20), listener.accept()).await;
                assert!(timed_out.is_err());
                // ...so a connection arriving now is not lost: the next accept gets it.
                let client = TcpStream::connect(addr).await.unwrap();
                let (_server, peer) = guard("accept", listener.accept()).await.unwrap();
                assert_eq!(peer, client.local_addr().unwrap());
                // Dropped with a fresh accept in flight: cancelled and freed.
                let waiting =
                    runtime::time::timeout(Duration::from_millis(20), listener.accept()).await;
                assert!(waiting.is_err());
                drop(listener);
            });
            wait_for_no_ops(&rt, "the ring to free the cancelled accept");
        });
    }
);

rt_test!(
    writes_reported_done_reach_the_peer_before_shutdown_and_drop,
    |_rt, flavor| {
        let rt = uring(flavor);
        run_bounded("write, shutdown, drop", LIMIT, move || {
            let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = std_listener.local_addr().unwrap();
            let reader = std::thread::spawn(move || {
                let mut got = Vec::new();
                for _ in 0..2 {
                    let (mut conn, _) = std_listener.accept().unwrap();
                    let mut one = Vec::new();
                    conn.read_to_end(&mut one).unwrap();
                    got.push(one);
                }
                got
            });
            let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
            let sent = data.clone();
            rt.block_on(async move {
                // Shut down right after the last write: the bytes still go first.
                let mut a = TcpStream::connect(addr).await.unwrap();
                a.write_all(&data).await.unwrap();
                a.shutdown(std::net::Shutdown::Write).unwrap();
                let mut buf = [0u8; 1];
                assert_eq!(guard("end of stream", a.read(&mut buf)).await.unwrap(), 0);
                // Dropped right after the last write: the same.
                let mut b = TcpStream::connect(addr).await.unwrap();
                b.write_all(&data).await.unwrap();
                drop(b);
            });
            let got = reader.join().unwrap();
            assert!(got[0] == sent, "shutdown cut the stream short");
            assert!(got[1] == sent, "drop cut the stream short");
        });
    }
);

rt_test!(
    shutting_down_with_operations_in_flight_is_clean,
    |_rt, flavor| {
        let rt = uring(flavor);
        run_bounded("shutdown mid-flight", LIMIT, move || {
            let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = std_listener.local_addr().unwrap();
            let (streams, listener) = rt.block_on(async {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                let mut streams = Vec::new();
                for _ in 0..8 {
                    let stream = TcpStream::connect(addr).await.unwrap();
                    streams.push(stream);
                }
                (streams, listener)
            });
            let _peers: Vec<_> = (0..8).map(|_| std_listener.accept().unwrap()).collect();
            let started = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
            for mut stream in streams {
                let started = started.clone();
                rt.spawn(async move {
                    started.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let mut buf = [0u8; 16];
                    let _ = stream.read(&mut buf).await;
                });
            }
            let listener = std::sync::Arc::new(listener);
            let accepting = listener.clone();
            rt.spawn(async move {
                let _ = accepting.accept().await;
            });
            // (A current-thread runtime runs its tasks inside `block_on` only.)
            rt.block_on(async {
                while started.load(std::sync::atomic::Ordering::SeqCst) < 8 {
                    runtime::time::sleep(Duration::from_millis(1)).await;
                }
                runtime::time::sleep(Duration::from_millis(20)).await;
            });
            // Nine operations in flight (eight recvs, an accept): the runtime cancels them and
            // waits for their completions before the ring goes.
            drop(rt);
            // The listener outlived its runtime: accepting now fails instead of waiting.
            let err = support::block_on_outside(listener.accept());
            assert!(err.is_err());
        });
    }
);

rt_test!(
    a_reader_that_lags_behind_gets_every_byte_in_order,
    |_rt, flavor| {
        // The peer sends far more than the ring's shared receive buffers hold while the reader
        // waits: the buffers run out mid-stream and the reads carry on without them.
        let rt = uring(flavor);
        run_bounded("lagging reader", LIMIT, move || {
            let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = std_listener.local_addr().unwrap();
            let data = support::pattern(7, 8 << 20);
            let sent = data.clone();
            let writer = std::thread::spawn(move || {
                let (mut conn, _) = std_listener.accept().unwrap();
                conn.write_all(&data).unwrap();
            });
            let got = rt.block_on(async {
                let mut stream = TcpStream::connect(addr).await.unwrap();
                let mut first = [0u8; 1];
                guard("the first byte", stream.read_exact(&mut first))
                    .await
                    .unwrap();
                runtime::time::sleep(Duration::from_millis(200)).await;
                let mut got = first.to_vec();
                let mut buf = vec![0u8; 100_000];
                loop {
                    match guard("the rest", stream.read(&mut buf)).await.unwrap() {
                        0 => break got,
                        n => got.extend_from_slice(&buf[..n]),
                    }
                }
            });
            writer.join().unwrap();
            assert!(
                got == sent,
                "{} bytes came, {} were sent",
                got.len(),
                sent.len()
            );
            wait_for_no_ops(&rt, "the ring to hold no operation");
        });
    }
);

/// Sends `ping` one way and `pong` back over a fresh connection.
async fn ping_pong(client: &mut TcpStream, server: &mut TcpStream) {
    client.write_all(b"ping").await.unwrap();
    let mut buf = [0u8; 4];
    guard("ping", server.read_exact(&mut buf)).await.unwrap();
    assert_eq!(&buf, b"ping");
    server.write_all(b"pong").await.unwrap();
    guard("pong", client.read_exact(&mut buf)).await.unwrap();
    assert_eq!(&buf, b"pong");
}

rt_test!(
    connecting_on_the_ring_gives_a_working_stream,
    |_rt, flavor| {
        let rt = uring(flavor);
        run_bounded("connect on the ring", LIMIT, move || {
            rt.block_on(async {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                // By address, and from a socket configured first (its options survive).
                let mut by_addr = guard("connect", TcpStream::connect(addr)).await.unwrap();
                let socket = TcpSocket::new_v4().unwrap();
                socket.set_nodelay(true).unwrap();
                let mut configured = guard("connect", socket.connect(addr)).await.unwrap();
                assert!(configured.nodelay().unwrap());
                for client in [&mut by_addr, &mut configured] {
                    let (mut server, peer) = guard("accept", listener.accept()).await.unwrap();
                    assert_eq!(peer, client.local_addr().unwrap());
                    assert_eq!(client.peer_addr().unwrap(), addr);
                    ping_pong(client, &mut server).await;
                }
                // An IPv6 address (a larger `sockaddr`), where the host has IPv6.
                if let Ok(listener) = TcpListener::bind("[::1]:0").await {
                    let addr = listener.local_addr().unwrap();
                    let mut client = guard("connect", TcpStream::connect(addr)).await.unwrap();
                    let (mut server, peer) = guard("accept", listener.accept()).await.unwrap();
                    assert_eq!(peer, client.local_addr().unwrap());
                    ping_pong(&mut client, &mut server).await;
                }
            });
            wait_for_no_ops(&rt, "the ring to hold no operation");
        });
    }
);

rt_test!(
    a_refused_connect_is_connection_refused_as_on_mio,
    |_rt, flavor| {
        let rt = uring(flavor);
        let mio = Builder::new_current_thread()
            .io_driver(IoDriver::Mio)
            .build()
            .unwrap();
        run_bounded("refused connect", LIMIT, move || {
            // A port nobody listens on any more.
            let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = closed.local_addr().unwrap();
            drop(closed);
            let before = rt.metrics();
            let refused = |rt: &Runtime| {
                rt.block_on(async {
                    let by_addr = guard("connect", TcpStream::connect(addr)).await;
                    let socket = TcpSocket::new_v4().unwrap();
                    let configured = guard("connect", socket.connect(addr)).await;
                    [by_addr.unwrap_err(), configured.unwrap_err()]
                })
            };
            for (on_ring, on_mio) in refused(&rt).iter().zip(refused(&mio)) {
                assert_eq!(on_ring.kind(), std::io::ErrorKind::ConnectionRefused);
                assert_eq!(on_ring.kind(), on_mio.kind());
                assert_eq!(on_ring.raw_os_error(), on_mio.raw_os_error());
            }
            wait_for_no_ops(&rt, "the ring to free the refused connects");
            assert_eq!(rt.metrics().io_registrations, before.io_registrations);
        });
    }
);

/// A listener whose accept queue is full: the kernel drops further SYNs, so a connect to
/// it waits (for a retransmission a second or more away). Returns the listener and the
/// connections that filled its queue.
async fn full_listener() -> (TcpListener, Vec<std::net::TcpStream>) {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let filled = runtime::spawn_blocking(move || {
        let mut filled = Vec::new();
        while let Ok(conn) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(100))
        {
            filled.push(conn);
            assert!(filled.len() < 64, "the accept queue never filled");
        }
        filled
    });
    (listener, filled.await.unwrap())
}

rt_test!(
    a_connect_dropped_before_it_completes_leaves_nothing_behind,
    |_rt, flavor| {
        let rt = uring(flavor);
        let uring_on = has_uring(&rt);
        run_bounded("connect dropped mid-flight", LIMIT, move || {
            let (listener, _filled) = rt.block_on(full_listener());
            let addr = listener.local_addr().unwrap();
            let before = rt.metrics();
            rt.block_on(async {
                // A connect that waits in its own task: the ring holds it (the listener
                // has no accept in flight), until the task is aborted.
                let connecting = runtime::spawn(TcpStream::connect(addr));
                if uring_on {
                    let handle = runtime::Handle::current();
                    eventually("the connect to be on the ring", || {
                        handle.metrics().io_ops == 1
                    })
                    .await;
                }
                runtime::time::sleep(Duration::from_millis(20)).await;
                connecting.abort();
                assert!(connecting.await.unwrap_err().is_cancelled());
                // One dropped by a timeout, from a configured socket.
                let socket = TcpSocket::new_v4().unwrap();
                let timed_out =
                    runtime::time::timeout(Duration::from_millis(20), socket.connect(addr)).await;
                assert!(timed_out.is_err(), "the accept queue was full");
            });
            wait_for_no_ops(&rt, "the ring to free the cancelled connects");
            assert_eq!(rt.metrics().io_registrations, before.io_registrations);
            // And a runtime shut down with a connect in flight: cancelled, waited for.
            let handle = rt.handle().clone();
            rt.spawn(async move {
                let _ = TcpStream::connect(addr).await;
            });
            rt.block_on(async {
                runtime::time::sleep(Duration::from_millis(20)).await;
            });
            if uring_on {
                assert_eq!(handle.metrics().io_ops, 1);
            }
            drop(rt);
            drop(listener);
        });
    }
);

#[test]
fn a_connect_whose_submitting_thread_exited_still_completes() {
    // The kernel cancels a thread's requests when it exits: a connect first polled (and so
    // submitted at once) on a plain thread that then ends is finished by whoever polls it
    // next, once the peer makes room.
    let rt = uring(support::Flavor::CurrentThread);
    run_bounded("connect outliving its thread", LIMIT, move || {
        let (listener, filled) = rt.block_on(full_listener());
        let addr = listener.local_addr().unwrap();
        let handle = rt.handle().clone();
        let connecting = std::thread::spawn(move || {
            let _enter = handle.enter();
            let mut connecting = Box::pin(TcpStream::connect(addr));
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            assert!(
                connecting.as_mut().poll(&mut cx).is_pending(),
                "the queue was full"
            );
            connecting
        })
        .join()
        .unwrap();
        rt.block_on(async {
            // Room in the queue: the connect's next SYN gets through.
            let (_first, _) = guard("accept", listener.accept()).await.unwrap();
            drop(filled);
            let stream = guard("connect", connecting).await.unwrap();
            assert_eq!(stream.peer_addr().unwrap(), addr);
        });
        if has_uring(&rt) {
            wait_for_no_ops(&rt, "the ring to hold no operation");
        }
    });
}

#[test]
fn a_failed_io_uring_setup_falls_back_to_mio_and_says_so() {
    for builder in [Builder::new_current_thread(), Builder::new_multi_thread()] {
        let rt = builder
            .io_driver(IoDriver::Uring)
            .io_uring_setup_fails(true)
            .build()
            .unwrap();
        assert_eq!(rt.metrics().io_driver, IoDriver::Mio);
        // And everything works on mio.
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let mut client = TcpStream::connect(listener.local_addr().unwrap())
                .await
                .unwrap();
            let (mut server, _) = listener.accept().await.unwrap();
            client.write_all(b"mio").await.unwrap();
            let mut buf = [0u8; 3];
            server.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"mio");
        });
        assert_eq!(rt.metrics().io_ops, 0);
    }
}

#[test]
fn the_default_is_mio_and_uring_is_reported_when_asked_for() {
    let explicit = Builder::new_current_thread()
        .io_driver(IoDriver::Mio)
        .build()
        .unwrap();
    assert_eq!(explicit.metrics().io_driver, IoDriver::Mio);
    let asked = Builder::new_current_thread()
        .io_driver(IoDriver::Uring)
        .build()
        .unwrap();
    // Uring where the kernel has it (this project's CI kernels do).
    let driver = asked.metrics().io_driver;
    assert!(matches!(driver, IoDriver::Uring | IoDriver::Mio));
    if std::path::Path::new("/proc/sys/kernel/io_uring_disabled").exists() {
        let disabled = std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled").unwrap();
        if disabled.trim() == "0" {
            assert_eq!(driver, IoDriver::Uring);
        }
    }
}
