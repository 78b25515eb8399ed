//! Unix domain sockets: listener/stream echo, `UnixStream::pair`, half-close, end of
//! stream, the futures-io traits, `try_*`, and bad paths; on both scheduler flavors.

#[macro_use]
mod support;

use std::io;
use std::net::Shutdown;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use runtime::net::{UnixListener, UnixStream};
use support::{guard, pattern, run_bounded};

/// Bound on a whole test's run (against a hang, not a speed claim).
const LIMIT: Duration = Duration::from_secs(60);

/// A socket path in the temp directory, removed when dropped.
struct SocketPath(PathBuf);

impl SocketPath {
    fn new(tag: &str) -> SocketPath {
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "rt-unix-{tag}-{}-{}.sock",
            std::process::id(),
            N.fetch_add(1, SeqCst)
        ));
        let _ = std::fs::remove_file(&path);
        SocketPath(path)
    }
}

impl Drop for SocketPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Reads until end-of-stream.
async fn read_to_end(stream: &mut UnixStream) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf).await? {
            0 => return Ok(out),
            n => out.extend_from_slice(&buf[..n]),
        }
    }
}

/// Echoes until end-of-stream.
async fn echo(mut stream: UnixStream) {
    let mut buf = vec![0u8; 8 * 1024];
    loop {
        let n = stream.read(&mut buf).await.expect("echo read");
        if n == 0 {
            return;
        }
        stream.write_all(&buf[..n]).await.expect("echo write");
    }
}

rt_test!(listener_and_streams_echo, |rt| {
    run_bounded("unix echo", LIMIT, move || {
        rt.block_on(async {
            let path = SocketPath::new("echo");
            let listener = UnixListener::bind(&path.0).unwrap();
            assert_eq!(
                listener.local_addr().unwrap().as_pathname(),
                Some(path.0.as_path())
            );
            let server = runtime::spawn(async move {
                loop {
                    let (conn, _) = listener.accept().await.unwrap();
                    runtime::spawn(echo(conn));
                }
            });
            let clients: Vec<_> = (0..100u64)
                .map(|i| {
                    let path = path.0.clone();
                    runtime::spawn(async move {
                        let data = pattern(i, 500 + (i as usize * 997) % 60_000);
                        let mut conn = UnixStream::connect(&path).await.unwrap();
                        assert_eq!(
                            conn.peer_addr().unwrap().as_pathname(),
                            Some(path.as_path())
                        );
                        conn.write_all(&data).await.unwrap();
                        conn.shutdown(Shutdown::Write).unwrap();
                        let back = read_to_end(&mut conn).await.unwrap();
                        assert!(back == data, "unix connection {i}: echo differs");
                    })
                })
                .collect();
            for client in clients {
                guard("unix echo client", client).await.unwrap();
            }
            server.abort();
        });
    });
});

rt_test!(a_pair_round_trips_both_ways, |rt| {
    run_bounded("pair", LIMIT, move || {
        rt.block_on(async {
            let (mut a, mut b) = UnixStream::pair().unwrap();
            let data = pattern(5, 3 * 1024 * 1024);
            let to_send = data.clone();
            // More than the socket buffers hold: the writer must wait for the reader.
            let writer = runtime::spawn(async move {
                a.write_all(&to_send).await.unwrap();
                let mut reply = [0u8; 4];
                a.read_exact(&mut reply).await.unwrap();
                reply
            });
            let mut got = vec![0u8; data.len()];
            guard("read", b.read_exact(&mut got)).await.unwrap();
            assert!(got == data, "data through the pair differs");
            b.write_all(b"done").await.unwrap();
            assert_eq!(&guard("writer", writer).await.unwrap(), b"done");
        });
    });
});

rt_test!(half_close_on_a_unix_stream, |rt| {
    run_bounded("unix half-close", LIMIT, move || {
        rt.block_on(async {
            let (mut client, mut server) = UnixStream::pair().unwrap();
            let server = runtime::spawn(async move {
                let request = read_to_end(&mut server).await.unwrap();
                server.write_all(b"re: ").await.unwrap();
                server.write_all(&request).await.unwrap();
            });
            client.write_all(b"question").await.unwrap();
            client.shutdown(Shutdown::Write).unwrap();
            let reply = guard("reply", read_to_end(&mut client)).await.unwrap();
            assert_eq!(reply, b"re: question");
            let mut buf = [0u8; 4];
            assert_eq!(client.read(&mut buf).await.unwrap(), 0);
            guard("server", server).await.unwrap();
        });
    });
});

rt_test!(reads_after_the_peer_closes_return_zero, |rt| {
    run_bounded("unix end of stream", LIMIT, move || {
        rt.block_on(async {
            let (mut a, mut b) = UnixStream::pair().unwrap();
            b.write_all(b"tail").await.unwrap();
            drop(b);
            assert_eq!(guard("read", read_to_end(&mut a)).await.unwrap(), b"tail");
            let mut buf = [0u8; 8];
            for _ in 0..3 {
                assert_eq!(guard("read", a.read(&mut buf)).await.unwrap(), 0);
            }
            // Writing to a closed peer is an error, not a hang (nor a SIGPIPE death).
            let err = guard("write to a closed peer", a.write_all(b"anyone?"))
                .await
                .unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err}");
        });
    });
});

rt_test!(futures_io_traits_and_copy_on_unix_streams, |rt| {
    use futures::io::{AsyncReadExt, AsyncWriteExt};
    run_bounded("unix futures-io", LIMIT, move || {
        rt.block_on(async {
            let (mut a, mut b) = UnixStream::pair().unwrap();
            let data = pattern(9, 200_000);
            let to_send = data.clone();
            let writer = runtime::spawn(async move {
                AsyncWriteExt::write_all(&mut a, &to_send).await.unwrap();
                AsyncWriteExt::close(&mut a).await.unwrap();
            });
            let mut sink = futures::io::Cursor::new(Vec::new());
            let n = guard("copy", runtime::io::copy(&mut b, &mut sink))
                .await
                .unwrap();
            assert_eq!(n, data.len() as u64);
            assert!(sink.into_inner() == data);
            guard("writer", writer).await.unwrap();
            let mut rest = Vec::new();
            assert_eq!(
                AsyncReadExt::read_to_end(&mut b, &mut rest).await.unwrap(),
                0
            );
        });
    });
});

rt_test!(try_read_would_block_until_data_arrives, |rt| {
    run_bounded("unix try_read", LIMIT, move || {
        rt.block_on(async {
            let (a, b) = UnixStream::pair().unwrap();
            let mut buf = [0u8; 8];
            assert_eq!(
                a.try_read(&mut buf).unwrap_err().kind(),
                io::ErrorKind::WouldBlock
            );
            guard("writable", b.writable()).await.unwrap();
            assert_eq!(b.try_write(b"abc").unwrap(), 3);
            let n = loop {
                guard("readable", a.readable()).await.unwrap();
                match a.try_read(&mut buf) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    Err(e) => panic!("try_read: {e}"),
                }
            };
            assert_eq!(&buf[..n], b"abc");
            assert_eq!(
                a.try_read(&mut buf).unwrap_err().kind(),
                io::ErrorKind::WouldBlock
            );
        });
    });
});

rt_test!(bad_paths_are_errors, |rt| {
    run_bounded("unix bad paths", LIMIT, move || {
        rt.block_on(async {
            let missing = SocketPath::new("missing");
            let err = guard("connect to a missing path", UnixStream::connect(&missing.0))
                .await
                .unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");

            let taken = SocketPath::new("taken");
            let _listener = UnixListener::bind(&taken.0).unwrap();
            let err = UnixListener::bind(&taken.0).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");

            // A path whose listener is gone refuses connections.
            let stale = SocketPath::new("stale");
            drop(UnixListener::bind(&stale.0).unwrap());
            let err = guard("connect to a stale path", UnixStream::connect(&stale.0))
                .await
                .unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
        });
    });
});

rt_test!(
    a_read_pending_when_the_peer_goes_away_ends_instead_of_hanging,
    |rt| {
        // tokio's `epollhup` checks a connect pending while its listener goes away; on Linux a
        // Unix connect never pends, so the same hang-up is checked on a read that is already
        // waiting: when the other end of a pair drops, and when a listener is dropped with the
        // connection still unaccepted in its backlog.
        run_bounded("unix hang-up under a pending read", LIMIT, move || {
            rt.block_on(async {
                let mut buf = [0u8; 8];
                let (mut a, b) = UnixStream::pair().unwrap();
                {
                    let mut read = std::pin::pin!(a.read(&mut buf));
                    assert!(
                        support::poll_once(read.as_mut()).await.is_pending(),
                        "nothing to read yet"
                    );
                    drop(b);
                    let n = guard("a read pending as the peer drops", read).await;
                    assert_eq!(n.unwrap(), 0, "end of stream");
                }

                let path = SocketPath::new("hup");
                let listener = UnixListener::bind(&path.0).unwrap();
                let mut client = guard("connect", UnixStream::connect(&path.0))
                    .await
                    .unwrap();
                let mut read = std::pin::pin!(client.read(&mut buf));
                assert!(
                    support::poll_once(read.as_mut()).await.is_pending(),
                    "nothing to read yet"
                );
                drop(listener);
                match guard("a read pending as the listener drops", read).await {
                    Ok(n) => assert_eq!(n, 0, "end of stream"),
                    Err(err) => assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err}"),
                }
            });
        });
    }
);
