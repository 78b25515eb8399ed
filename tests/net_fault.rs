//! Faults around sockets: accept at the file-descriptor limit (in a child process with a
//! low `RLIMIT_NOFILE`), peers that reset, half-close or stop reading, a runtime that goes away under a waiting read, stale readiness
//! events for reused registration slots, and registrations that must not leak.

#[macro_use]
mod support;

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::pin::pin;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::task::Poll;
use std::time::{Duration, Instant};

use runtime::net::{TcpListener, TcpStream, UdpSocket, UnixListener, UnixStream};
use support::{guard, pattern, poll_once, run_bounded, Rng};

/// Bound on a whole test's run (against a hang, not a speed claim).
const LIMIT: Duration = Duration::from_secs(60);

/// Set in the environment of a child run of this binary: the name of the child body to run.
const CHILD_ENV: &str = "RUNTIME_NET_FAULT_CHILD";

/// Runs the `#[test]` named `name` of this binary in a child process with [`CHILD_ENV`]
/// set, so that it can change process-wide limits; panics with its output if it fails,
/// does not run its test, or is still running after [`LIMIT`].
fn run_child(name: &str) {
    let exe = std::env::current_exe().expect("current_exe");
    let mut child = Command::new(exe)
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, name)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning the child test process");
    let deadline = Instant::now() + LIMIT;
    loop {
        if child.try_wait().expect("waiting for the child").is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("child output");
            panic!(
                "hang: the child {name} still ran after {LIMIT:?}\n--- stdout\n{}\n--- stderr\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("child output");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "the child {name} failed ({})\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
}

/// Whether this process is the child run for `name`.
fn is_child(name: &str) -> bool {
    std::env::var(CHILD_ENV).as_deref() == Ok(name)
}

/// CPU time (user + system) this process has used so far.
fn cpu_time() -> Duration {
    // SAFETY: `getrusage` only writes the struct we pass; zeroed is a valid `rusage`.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(libc::RUSAGE_SELF, &mut usage), 0);
        usage
    };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// The highest file descriptor open in this process.
fn max_open_fd() -> i32 {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .max()
        .unwrap_or(0)
}

/// Lowers the soft `RLIMIT_NOFILE` to `limit`.
fn set_fd_limit(limit: u64) {
    // SAFETY: get/setrlimit read and write only the struct we pass.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
        lim.rlim_cur = limit.min(lim.rlim_max as u64) as libc::rlim_t;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lim), 0);
    }
}

/// Duplicates `fd` until the process is out of descriptors; returns the duplicates.
fn fill_fd_table(fd: i32) -> Vec<i32> {
    let mut fillers = Vec::new();
    loop {
        // SAFETY: `dup` of a valid open descriptor; the result is owned by `fillers`.
        let dup = unsafe { libc::dup(fd) };
        if dup < 0 {
            let err = io::Error::last_os_error();
            assert_eq!(err.raw_os_error(), Some(libc::EMFILE), "dup failed: {err}");
            return fillers;
        }
        fillers.push(dup);
        assert!(fillers.len() < 10_000, "the descriptor limit did not apply");
    }
}

fn close_fd(fd: i32) {
    // SAFETY: `fd` is a duplicate this test owns and closes once.
    unsafe { libc::close(fd) };
}

// ===== accept at the descriptor limit =====
//
// `EMFILE` is provoked in a child process with a low `RLIMIT_NOFILE`. `ENFILE` (the
// system-wide table full) would take root and starve every process on the machine, so it
// is not provoked here: `accept` treats it exactly as `EMFILE` (the same branch of
// `net::accept::is_resource_exhaustion`).

#[test]
fn accept_at_the_fd_limit_waits_without_spinning_and_resumes() {
    run_child("child_accept_at_the_fd_limit");
}

/// The child body of `accept_at_the_fd_limit_waits_without_spinning_and_resumes`; does
/// nothing in a normal run.
#[test]
fn child_accept_at_the_fd_limit() {
    if !is_child("child_accept_at_the_fd_limit") {
        return;
    }
    let rt = runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let path =
            std::env::temp_dir().join(format!("runtime-net-fault-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let unix_listener = UnixListener::bind(&path).unwrap();
        // Pending connections: a std connect completes through the backlog.
        let clients: Vec<std::net::TcpStream> = (0..4)
            .map(|_| std::net::TcpStream::connect(addr).unwrap())
            .collect();
        let unix_client = std::os::unix::net::UnixStream::connect(&path).unwrap();
        unix_client
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();

        // A low limit, then every remaining descriptor taken; two freed for two accepts.
        set_fd_limit(max_open_fd() as u64 + 64);
        let devnull = std::fs::File::open("/dev/null").unwrap();
        let mut fillers = fill_fd_table(devnull.as_raw_fd());
        close_fd(fillers.pop().unwrap());
        close_fd(fillers.pop().unwrap());
        let (first, _) = guard("accept with a free descriptor", listener.accept())
            .await
            .unwrap();
        let (second, _) = guard("accept with a free descriptor", listener.accept())
            .await
            .unwrap();

        // At the limit, accept neither returns EMFILE nor takes the connection: it waits.
        let at_limit = runtime::time::timeout(Duration::from_millis(100), listener.accept()).await;
        assert!(
            at_limit.is_err(),
            "accept at the descriptor limit returned instead of waiting: {:?}",
            at_limit.map(|res| res.map(drop))
        );
        let at_limit =
            runtime::time::timeout(Duration::from_millis(100), unix_listener.accept()).await;
        assert!(
            at_limit.is_err(),
            "UnixListener::accept at the descriptor limit returned instead of waiting: {:?}",
            at_limit.map(|res| res.map(drop))
        );

        // A server with no error handling of its own keeps running through the limit.
        let listener = Arc::new(listener);
        let served = Arc::new(AtomicUsize::new(0));
        let server = {
            let (listener, served) = (listener.clone(), served.clone());
            runtime::spawn(async move {
                loop {
                    let (mut conn, _) = listener.accept().await.expect("accept");
                    served.fetch_add(1, SeqCst);
                    runtime::spawn(async move {
                        let mut b = [0u8; 1];
                        conn.read_exact(&mut b).await.unwrap();
                        conn.write_all(&b).await.unwrap();
                    });
                }
            })
        };
        let cpu_before = cpu_time();
        let wall_before = Instant::now();
        runtime::time::sleep(Duration::from_millis(300)).await;
        let cpu = cpu_time() - cpu_before;
        let wall = wall_before.elapsed();
        assert!(!server.is_finished(), "the accept loop ended at the limit");
        assert_eq!(served.load(SeqCst), 0);
        assert!(
            cpu < wall / 2,
            "the process used {cpu:?} of CPU in {wall:?} while accept was at the limit: spinning"
        );

        // Descriptors freed: the pending connections are accepted and served, and so is a
        // new one: the listener survived.
        for fd in fillers {
            close_fd(fd);
        }
        let mut clients: Vec<_> = clients.into_iter().skip(2).collect();
        clients.push(std::net::TcpStream::connect(addr).unwrap());
        let pending: Vec<_> = clients
            .into_iter()
            .map(|mut c| {
                runtime::spawn_blocking(move || {
                    use std::io::{Read, Write};
                    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                    c.write_all(b"x").unwrap();
                    let mut b = [0u8; 1];
                    c.read_exact(&mut b).unwrap();
                    b
                })
            })
            .collect();
        for client in pending {
            assert_eq!(
                guard("a pending client is served", client).await.unwrap(),
                *b"x"
            );
        }
        assert_eq!(served.load(SeqCst), 3);
        let (mut unix_conn, _) = guard("the pending Unix client", unix_listener.accept())
            .await
            .unwrap();
        unix_conn.write_all(b"u").await.unwrap();
        let mut b = [0u8; 1];
        std::io::Read::read_exact(&mut &unix_client, &mut b).unwrap();
        assert_eq!(&b, b"u");
        server.abort();
        drop((first, second, devnull));
        let _ = std::fs::remove_file(&path);
    });
}

// ===== peers that reset, half-close or stop reading =====
//
// Each case ends the connection's task with an error (never a hang), and once the task is
// done its registration is gone: the count is back to what it was before the connection.

/// A connection accepted by `listener` and its client, both on the current runtime.
async fn connected(listener: &TcpListener) -> (TcpStream, TcpStream) {
    let client = guard(
        "connect",
        TcpStream::connect(listener.local_addr().unwrap()),
    )
    .await
    .unwrap();
    let (server, _) = guard("accept", listener.accept()).await.unwrap();
    (server, client)
}

/// The current runtime's count of IO registrations.
fn registrations() -> usize {
    runtime::Handle::current().metrics().io_registrations
}

/// Closes `stream`; with `reset`, with a zero linger, so the peer gets a reset at once.
fn close(stream: TcpStream, reset: bool) {
    let stream = stream.into_std().unwrap();
    if reset {
        socket2::SockRef::from(&stream)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
    }
    drop(stream);
}

/// The errors a write to a connection the peer has reset or closed may report.
fn is_peer_gone(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
    )
}

rt_test!(a_peer_reset_mid_write_ends_the_writer_with_an_error, |rt| {
    run_bounded("reset mid-write", LIMIT, move || {
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base = registrations();
            let (mut server, mut client) = connected(&listener).await;
            let writer = runtime::spawn(async move {
                let chunk = vec![7u8; 64 * 1024];
                loop {
                    if let Err(err) = server.write_all(&chunk).await {
                        return err;
                    }
                }
            });
            // Some of the stream arrives, so the writer is mid-stream when the reset comes.
            let mut head = [0u8; 4096];
            guard("the first bytes", client.read_exact(&mut head))
                .await
                .unwrap();
            assert!(head.iter().all(|&b| b == 7));
            close(client, true);
            let err = guard("the writer after a reset", writer).await.unwrap();
            assert!(is_peer_gone(&err), "{err:?}");
            assert_eq!(
                registrations(),
                base,
                "the connection's registration leaked"
            );
        });
    });
});

rt_test!(
    a_half_closed_peer_ends_the_read_and_still_gets_the_reply,
    |rt| {
        run_bounded("half-closed peer", LIMIT, move || {
            rt.block_on(async {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                let base = registrations();
                let (mut server, mut client) = connected(&listener).await;
                let conn = runtime::spawn(async move {
                    // A 16-byte request, of which the peer sends 3 and then its FIN.
                    let mut request = [0u8; 16];
                    let res = server.read_exact(&mut request).await;
                    // Only the peer's sending side is closed: the reply still reaches it.
                    server.write_all(b"short request").await.unwrap();
                    res
                });
                client.write_all(b"abc").await.unwrap();
                client.shutdown(std::net::Shutdown::Write).unwrap();
                let err = guard("the read after the peer's FIN", conn)
                    .await
                    .unwrap()
                    .expect_err("read_exact completed with 3 of 16 bytes");
                assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof, "{err:?}");
                let mut reply = Vec::new();
                let mut buf = [0u8; 64];
                loop {
                    match guard("the reply", client.read(&mut buf)).await.unwrap() {
                        0 => break,
                        n => reply.extend_from_slice(&buf[..n]),
                    }
                }
                assert_eq!(reply, b"short request");
                assert_eq!(registrations(), base + 1, "only the client is left");
                drop(client);
                assert_eq!(registrations(), base, "a registration leaked");
            });
        });
    }
);

rt_test!(
    a_peer_that_stops_reading_then_goes_away_ends_the_writer_with_an_error,
    |rt| {
        run_bounded("peer stops reading", LIMIT, move || {
            rt.block_on(async {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                let base = registrations();
                for reset in [false, true] {
                    let (mut server, client) = connected(&listener).await;
                    let (full_tx, full) = runtime::sync::oneshot::channel();
                    let writer = runtime::spawn(async move {
                        let chunk = vec![3u8; 64 * 1024];
                        // The peer reads nothing: fill both socket buffers.
                        loop {
                            match server.try_write(&chunk) {
                                Ok(_) => {}
                                Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
                                Err(err) => return err,
                            }
                        }
                        full_tx.send(()).unwrap();
                        loop {
                            if let Err(err) = server.write_all(&chunk).await {
                                return err;
                            }
                        }
                    });
                    guard("the send buffer fills", full).await.unwrap();
                    // Closed with unread data (or reset): either way the writer must learn.
                    close(client, reset);
                    let err = guard("the blocked writer after the peer left", writer)
                        .await
                        .unwrap();
                    assert!(is_peer_gone(&err), "reset {reset}: {err:?}");
                    assert_eq!(
                        registrations(),
                        base,
                        "reset {reset}: the connection's registration leaked"
                    );
                }
            });
        });
    }
);

// ===== the runtime goes away under a waiting read =====

rt_test!(
    a_read_waiting_when_its_runtime_drops_returns_an_error,
    |rt| {
        run_bounded("read across runtime drop", LIMIT, move || {
            let (client, server) = rt.block_on(async {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                let client = TcpStream::connect(addr).await.unwrap();
                let (server, _) = listener.accept().await.unwrap();
                (client, server)
            });
            let handle = rt.handle().clone();
            let (started_tx, started) = mpsc::channel();
            let (done_tx, done) = mpsc::channel();
            std::thread::spawn(move || {
                let res = handle.block_on(async move {
                    let mut client = client;
                    let mut buf = [0u8; 16];
                    let mut read = pin!(client.read(&mut buf));
                    if let Poll::Ready(res) = poll_once(read.as_mut()).await {
                        return res;
                    }
                    started_tx.send(()).unwrap();
                    read.await
                });
                let _ = done_tx.send(res);
            });
            started
                .recv_timeout(Duration::from_secs(5))
                .expect("the read never started waiting");
            drop(rt);
            let res = done
                .recv_timeout(Duration::from_secs(5))
                .expect("hang: the read kept waiting after its runtime was dropped");
            let err = res.expect_err("the read completed though nothing was sent");
            assert_ne!(err.kind(), io::ErrorKind::WouldBlock);
            drop(server);
        });
    }
);

rt_test!(registering_with_a_dropped_runtime_is_an_error, |rt| {
    run_bounded("register after shutdown", LIMIT, move || {
        let handle = rt.handle().clone();
        drop(rt);
        let _enter = handle.enter();
        let std_socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        assert!(UdpSocket::from_std(std_socket).is_err());
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let std_stream = std::net::TcpStream::connect(std_listener.local_addr().unwrap()).unwrap();
        assert!(TcpStream::from_std(std_stream).is_err());
        assert!(TcpListener::from_std(std_listener).is_err());
    });
});

// ===== stale events =====

rt_test!(
    stale_events_for_reused_slots_do_not_disturb_live_sockets,
    |rt| {
        run_bounded("socket churn beside traffic", LIMIT, move || {
            rt.block_on(async {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                let server = runtime::spawn(async move {
                    loop {
                        let (conn, _) = listener.accept().await.unwrap();
                        runtime::spawn(echo(conn));
                    }
                });
                let traffic: Vec<_> = (0..16u64)
                    .map(|c| runtime::spawn(echo_rounds(addr, c, 60)))
                    .collect();
                let churn: Vec<_> = (0..3u64)
                    .map(|t| runtime::spawn(churn_sockets(addr, t, 300)))
                    .collect();
                for task in churn {
                    guard("churn", task).await.unwrap();
                }
                for task in traffic {
                    guard("traffic", task).await.unwrap();
                }
                server.abort();
                assert!(runtime::Handle::current().metrics().io_events > 0);
            });
        });
    }
);

/// Echoes until end-of-stream or an error (a churned peer may reset).
async fn echo(mut conn: TcpStream) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match conn.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if conn.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// `rounds` round trips of random sizes on one connection, each checked byte for byte.
async fn echo_rounds(addr: SocketAddr, conn_id: u64, rounds: u64) {
    let mut rng = Rng::new(0xfa17_0000 + conn_id);
    let conn = TcpStream::connect(addr).await.unwrap();
    let (mut r, mut w) = conn.into_split();
    for round in 0..rounds {
        let data = Arc::new(pattern(
            conn_id * 1_000 + round,
            1 + rng.below(20_000) as usize,
        ));
        let to_send = data.clone();
        let writer = runtime::spawn(async move {
            w.write_all(&to_send).await.unwrap();
            w
        });
        let mut back = vec![0u8; data.len()];
        r.read_exact(&mut back).await.unwrap();
        assert!(
            back == *data,
            "connection {conn_id}, round {round}: echo differs"
        );
        w = writer.await.unwrap();
    }
}

/// Opens and closes sockets as fast as it can, in varied ways, so registration slots are
/// freed and reused while events for them may still be in flight.
async fn churn_sockets(addr: SocketAddr, seed: u64, count: u64) {
    let mut rng = Rng::new(0xc4a2_0000 + seed);
    for _ in 0..count {
        match rng.below(4) {
            0 => drop(TcpStream::connect(addr).await.unwrap()),
            1 => {
                let mut c = TcpStream::connect(addr).await.unwrap();
                let _ = c.write_all(b"x").await;
            }
            2 => {
                let c = TcpStream::connect(addr).await.unwrap();
                socket2::SockRef::from(&c.into_std().unwrap())
                    .set_linger(Some(Duration::ZERO))
                    .unwrap();
            }
            _ => {
                let (a, b) = UnixStream::pair().unwrap();
                let _ = a.try_write(b"y");
                drop(b);
                let u = UdpSocket::bind("127.0.0.1:0").await.unwrap();
                let _ = u.send_to(b"z", u.local_addr().unwrap()).await;
            }
        }
    }
}

// ===== registrations do not leak =====

rt_test!(io_registrations_return_to_their_baseline, |rt| {
    run_bounded("registration count", LIMIT, move || {
        let base = rt.metrics().io_registrations;
        rt.block_on(async {
            let count = || runtime::Handle::current().metrics().io_registrations;
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let mut streams = Vec::new();
            for _ in 0..50 {
                streams.push(TcpStream::connect(addr).await.unwrap());
                streams.push(listener.accept().await.unwrap().0);
            }
            let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let (ua, ub) = UnixStream::pair().unwrap();
            // The listener, 100 streams, the UDP socket, the Unix pair.
            assert_eq!(count(), base + 104);

            // Halves share one registration, released when both are gone.
            let (r, w) = streams.pop().unwrap().into_split();
            assert_eq!(count(), base + 104);
            drop(r);
            assert_eq!(count(), base + 104);
            drop(w);
            assert_eq!(count(), base + 103);

            // into_std hands the descriptor back and releases the registration.
            let std_stream = streams.pop().unwrap().into_std().unwrap();
            assert_eq!(count(), base + 102);
            drop(std_stream);

            drop(streams);
            drop((udp, ua, ub));
            assert_eq!(count(), base + 1);
            drop(listener);
            assert_eq!(count(), base);

            // Failed and abandoned connects release theirs too.
            let closed = {
                let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                l.local_addr().unwrap()
            };
            for _ in 0..20 {
                assert!(TcpStream::connect(closed).await.is_err());
            }
            assert_eq!(count(), base, "a refused connect leaked its registration");
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            for _ in 0..20 {
                let mut connect = pin!(TcpStream::connect(addr));
                let _ = poll_once(connect.as_mut()).await;
            }
            drop(listener);
            assert_eq!(
                count(),
                base,
                "an abandoned connect leaked its registration"
            );
        });
        assert_eq!(rt.metrics().io_registrations, base);
    });
});
