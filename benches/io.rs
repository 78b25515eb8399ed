//! IO and timer benchmarks: this crate's multi-thread runtime side by side with tokio, smol
//! (an `async_executor::Executor` run by the same number of threads, each in
//! `async_io::block_on` as smol's own global executor does, so they drive async-io's reactor)
//! and, where it applies, plain OS threads.
//!
//! ```text
//! cargo bench --bench io -- [--workers N] [--runs N] [--filter NAME] [--quick]
//! ```
//!
//! - tcp_echo: 64 loopback connections × 2 000 round trips of 64 bytes, server and clients in
//!   the same runtime, nodelay on; round trips per second (higher is better), per second of
//!   wall time and per second of the process's CPU time (the second row, which other load on
//!   a shared machine disturbs far less). The threads column is std::net with a thread per
//!   server connection and one per client. A second table runs this runtime again with TCP
//!   on the io_uring driver (`IoDriver::Uring`): "uring/best" is against the best of tokio,
//!   smol and threads.
//! - timer_churn: 100 000 `timeout(1 s, never-ready)` made, polled once (so the timer is
//!   registered) and dropped, in one task; ms.
//! - timer_churn_parallel: the same 100 000 timeouts split over 8 tasks spawned at once
//!   (12 500 each), so the workers set and cancel timers side by side; ms.
//! - sleep_many: 10 000 tasks each sleeping 100 ms, all joined; wall time and peak RSS. Each
//!   run is a child process (this binary re-executed with `--child sleep_many RUNTIME`), since
//!   peak RSS is per process; the threads column is 10 000 threads in `thread::sleep`.
//!
//! - tcp_scaling: tcp_echo at 16, 256 and 4 096 connections, 65 536 round trips in all at
//!   each size (so 4 096, 256 and 16 per connection); µs of wall and of CPU time per round
//!   trip at each size, and how that grows per tenfold of connections (`per decade`).
//! - idle_conn_memory: 4 000 loopback connections held open and idle (the server side a task
//!   waiting in `read` with a 16-byte buffer, the client side a stream kept in a `Vec`): the
//!   growth of resident memory (VmRSS) per connection, both ends counted, in a fresh child
//!   process per runtime; the threads column is a thread per server connection.
//!
//! tcp_echo and timer_churn build each runtime once per workload, run it once to warm up and
//! then `--runs` times (default 5); sleep_many starts `--runs` fresh processes per runtime.
//! tcp_echo and tcp_scaling take their runs in rounds, every backend once per round
//! (`measure_rounds`): loopback throughput on the 2-core machines flips between two levels
//! about 25 % apart and holds one for seconds, for tokio exactly as for this runtime, so runs
//! taken back to back per backend compared whichever level each got (runtime/tokio swung
//! 0.79-1.11 that way).
//! Tables show medians. Absolute numbers move between machines and runs: compare the ratios,
//! which are measured side by side in one run.

use std::future::{pending, Future};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener as StdListener, TcpStream as StdStream};
use std::process::Command;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use futures_lite::future::poll_once;

#[path = "harness/mod.rs"]
mod harness;
use harness::rt::{bench, done, expect_done, join_all, time_in_task, Ours, Rt, Spawner, Tokio};
use harness::{measure_rounds, ms, print_sweep, process_cpu_time, raise_fd_limit, Config, Smol};

const CONNS: usize = 64;
const ROUND_TRIPS: usize = 2_000;
const MSG: usize = 64;
const TIMERS: usize = 100_000;
/// timer_churn_parallel's tasks, which share `TIMERS` between them.
const CHURN_TASKS: usize = 8;
const SLEEPERS: usize = 10_000;
const NAP: Duration = Duration::from_millis(100);
/// tcp_scaling's connection counts, and the round trips made at each (split evenly).
const SCALING_CONNS: [usize; 3] = [16, 256, 4_096];
const SCALING_ROUND_TRIPS: usize = 65_536;
const IDLE_CONNS: usize = 4_000;
/// How long idle_conn_memory lets the last connections settle before it reads VmRSS.
const SETTLE: Duration = Duration::from_millis(200);
/// The `timeout` of timer_churn: far beyond the run, so none fires.
const TIMEOUT: Duration = Duration::from_secs(1);

// ===== the runtimes under test =====

/// What the IO workloads need of a runtime beyond [`Rt`]: its sockets and timers.
trait Net: Rt {
    type Listener: Send + Sync + 'static;
    type Stream: Send + 'static;

    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send;
    /// Makes a `timeout(TIMEOUT, never-ready)`, polls it once in the calling task (which
    /// registers its timer) and drops it; true if that poll was pending, as it must be.
    fn timeout_polled_once() -> impl Future<Output = bool> + Send;

    /// A listener on an ephemeral loopback port.
    fn listen() -> impl Future<Output = (Self::Listener, SocketAddr)> + Send;
    /// Accepts one connection and sets nodelay on it.
    fn accept(listener: &Self::Listener) -> impl Future<Output = Self::Stream> + Send + '_;
    /// Connects and sets nodelay.
    fn connect(addr: SocketAddr) -> impl Future<Output = Self::Stream> + Send;
    fn read<'a>(
        s: &'a mut Self::Stream,
        buf: &'a mut [u8],
    ) -> impl Future<Output = usize> + Send + 'a;
    fn read_exact<'a>(
        s: &'a mut Self::Stream,
        buf: &'a mut [u8],
    ) -> impl Future<Output = ()> + Send + 'a;
    fn write_all<'a>(
        s: &'a mut Self::Stream,
        buf: &'a [u8],
    ) -> impl Future<Output = ()> + Send + 'a;
}

impl Net for Ours {
    type Listener = runtime::net::TcpListener;
    type Stream = runtime::net::TcpStream;

    async fn sleep(duration: Duration) {
        runtime::time::sleep(duration).await
    }
    async fn timeout_polled_once() -> bool {
        poll_once(runtime::time::timeout(TIMEOUT, pending::<()>()))
            .await
            .is_none()
    }
    async fn listen() -> (Self::Listener, SocketAddr) {
        let listener = runtime::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local address");
        (listener, addr)
    }
    async fn accept(listener: &Self::Listener) -> Self::Stream {
        let (stream, _) = listener.accept().await.expect("accept");
        stream.set_nodelay(true).expect("nodelay");
        stream
    }
    async fn connect(addr: SocketAddr) -> Self::Stream {
        let stream = runtime::net::TcpStream::connect(addr)
            .await
            .expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        stream
    }
    async fn read<'a>(s: &'a mut Self::Stream, buf: &'a mut [u8]) -> usize {
        s.read(buf).await.expect("read")
    }
    async fn read_exact<'a>(s: &'a mut Self::Stream, buf: &'a mut [u8]) {
        s.read_exact(buf).await.expect("read_exact")
    }
    async fn write_all<'a>(s: &'a mut Self::Stream, buf: &'a [u8]) {
        s.write_all(buf).await.expect("write_all")
    }
}

/// This runtime with TCP on the io_uring driver (`IoDriver::Uring`); everything else, and
/// the `Net` operations, as [`Ours`].
struct OursUring(runtime::Runtime);

impl Rt for OursUring {
    type Spawner = runtime::Handle;

    fn build(workers: usize) -> Self {
        let rt = runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .io_driver(runtime::IoDriver::Uring)
            .build()
            .expect("build the runtime");
        if rt.metrics().io_driver != runtime::IoDriver::Uring {
            eprintln!("runtime/uring: io_uring_setup failed here, this row runs on mio");
        }
        OursUring(rt)
    }
    fn spawner(&self) -> runtime::Handle {
        self.0.handle().clone()
    }
    fn block_on<F: Future>(&self, fut: F) -> F::Output {
        self.0.block_on(fut)
    }
}

impl Net for OursUring {
    type Listener = <Ours as Net>::Listener;
    type Stream = <Ours as Net>::Stream;

    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send {
        Ours::sleep(duration)
    }
    fn timeout_polled_once() -> impl Future<Output = bool> + Send {
        Ours::timeout_polled_once()
    }
    fn listen() -> impl Future<Output = (Self::Listener, SocketAddr)> + Send {
        Ours::listen()
    }
    fn accept(listener: &Self::Listener) -> impl Future<Output = Self::Stream> + Send + '_ {
        Ours::accept(listener)
    }
    fn connect(addr: SocketAddr) -> impl Future<Output = Self::Stream> + Send {
        Ours::connect(addr)
    }
    fn read<'a>(
        s: &'a mut Self::Stream,
        buf: &'a mut [u8],
    ) -> impl Future<Output = usize> + Send + 'a {
        Ours::read(s, buf)
    }
    fn read_exact<'a>(
        s: &'a mut Self::Stream,
        buf: &'a mut [u8],
    ) -> impl Future<Output = ()> + Send + 'a {
        Ours::read_exact(s, buf)
    }
    fn write_all<'a>(
        s: &'a mut Self::Stream,
        buf: &'a [u8],
    ) -> impl Future<Output = ()> + Send + 'a {
        Ours::write_all(s, buf)
    }
}

impl Net for Tokio {
    type Listener = tokio::net::TcpListener;
    type Stream = tokio::net::TcpStream;

    async fn sleep(duration: Duration) {
        tokio::time::sleep(duration).await
    }
    async fn timeout_polled_once() -> bool {
        // Unconstrained: once the task's coop budget is spent, tokio's `Sleep` returns
        // pending without registering its timer, which would skip the work measured here.
        let once = poll_once(tokio::time::timeout(TIMEOUT, pending::<()>()));
        tokio::task::unconstrained(once).await.is_none()
    }
    async fn listen() -> (Self::Listener, SocketAddr) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local address");
        (listener, addr)
    }
    async fn accept(listener: &Self::Listener) -> Self::Stream {
        let (stream, _) = listener.accept().await.expect("accept");
        stream.set_nodelay(true).expect("nodelay");
        stream
    }
    async fn connect(addr: SocketAddr) -> Self::Stream {
        let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        stream
    }
    async fn read<'a>(s: &'a mut Self::Stream, buf: &'a mut [u8]) -> usize {
        tokio::io::AsyncReadExt::read(s, buf).await.expect("read")
    }
    async fn read_exact<'a>(s: &'a mut Self::Stream, buf: &'a mut [u8]) {
        tokio::io::AsyncReadExt::read_exact(s, buf)
            .await
            .expect("read_exact");
    }
    async fn write_all<'a>(s: &'a mut Self::Stream, buf: &'a [u8]) {
        tokio::io::AsyncWriteExt::write_all(s, buf)
            .await
            .expect("write_all")
    }
}

impl Net for Smol {
    type Listener = smol::net::TcpListener;
    type Stream = smol::net::TcpStream;

    async fn sleep(duration: Duration) {
        smol::Timer::after(duration).await;
    }
    async fn timeout_polled_once() -> bool {
        use futures_lite::FutureExt as _;
        // smol has no `timeout`; this is its idiom: the future raced against a `Timer`.
        let timer = smol::Timer::after(TIMEOUT);
        let raced = pending::<Result<(), ()>>().or(async move {
            timer.await;
            Err(())
        });
        poll_once(raced).await.is_none()
    }
    async fn listen() -> (Self::Listener, SocketAddr) {
        let listener = smol::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local address");
        (listener, addr)
    }
    async fn accept(listener: &Self::Listener) -> Self::Stream {
        let (stream, _) = listener.accept().await.expect("accept");
        stream.set_nodelay(true).expect("nodelay");
        stream
    }
    async fn connect(addr: SocketAddr) -> Self::Stream {
        let stream = smol::net::TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        stream
    }
    async fn read<'a>(s: &'a mut Self::Stream, buf: &'a mut [u8]) -> usize {
        futures_lite::AsyncReadExt::read(s, buf)
            .await
            .expect("read")
    }
    async fn read_exact<'a>(s: &'a mut Self::Stream, buf: &'a mut [u8]) {
        futures_lite::AsyncReadExt::read_exact(s, buf)
            .await
            .expect("read_exact")
    }
    async fn write_all<'a>(s: &'a mut Self::Stream, buf: &'a [u8]) {
        futures_lite::AsyncWriteExt::write_all(s, buf)
            .await
            .expect("write_all")
    }
}

// ===== workloads =====

/// Echoes until the client closes.
async fn echo_server<R: Net>(mut conn: R::Stream) {
    let mut buf = [0; 4096];
    loop {
        let n = R::read(&mut conn, &mut buf).await;
        if n == 0 {
            break;
        }
        R::write_all(&mut conn, &buf[..n]).await;
    }
}

async fn echo_client<R: Net>(mut conn: R::Stream, round_trips: usize) {
    let sent = [7; MSG];
    let mut got = [0; MSG];
    for _ in 0..round_trips {
        R::write_all(&mut conn, &sent).await;
        R::read_exact(&mut conn, &mut got).await;
        assert_eq!(got, sent, "tcp_echo: the echo differs");
    }
    done(round_trips);
}

fn tcp_echo<R: Net>(rt: &R) -> Sample {
    tcp_echo_sized(rt, CONNS, ROUND_TRIPS)
}

/// `conns` connections × `round_trips` each. Wall and CPU time of the round trips only:
/// connections are made (and accepted) before the clocks start.
fn tcp_echo_sized<R: Net>(rt: &R, conns: usize, round_trips: usize) -> Sample {
    let timed = Arc::new(std::sync::Mutex::new(None));
    let out = timed.clone();
    time_in_task(rt, |s| async move {
        let (listener, addr) = R::listen().await;
        let server_spawner = s.clone();
        let server = s.spawn(async move {
            let mut servers = Vec::with_capacity(conns);
            for _ in 0..conns {
                let conn = R::accept(&listener).await;
                servers.push(server_spawner.spawn(echo_server::<R>(conn)));
            }
            join_all(servers).await;
        });
        let mut clients = Vec::with_capacity(conns);
        for _ in 0..conns {
            clients.push(R::connect(addr).await);
        }
        let start = Sample::now();
        let clients: Vec<_> = clients
            .into_iter()
            .map(|c| s.spawn(echo_client::<R>(c, round_trips)))
            .collect();
        join_all(clients).await;
        *out.lock().expect("not poisoned") = Some(start.elapsed());
        server.await;
    });
    expect_done(conns * round_trips, "tcp_echo");
    let timed = timed.lock().expect("not poisoned").take();
    timed.expect("the root task timed the round trips")
}

/// tcp_echo with std::net: a thread per server connection and a thread per client.
fn tcp_echo_threads() -> Sample {
    let listener = StdListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("local address");
    let server = thread::spawn(move || {
        let conns: Vec<_> = (0..CONNS)
            .map(|_| {
                let (mut conn, _) = listener.accept().expect("accept");
                conn.set_nodelay(true).expect("nodelay");
                thread::spawn(move || {
                    let mut buf = [0; 4096];
                    loop {
                        let n = conn.read(&mut buf).expect("read");
                        if n == 0 {
                            break;
                        }
                        conn.write_all(&buf[..n]).expect("write_all");
                    }
                })
            })
            .collect();
        for conn in conns {
            conn.join().expect("a server thread panicked");
        }
    });
    let clients: Vec<_> = (0..CONNS)
        .map(|_| {
            let conn = StdStream::connect(addr).expect("connect");
            conn.set_nodelay(true).expect("nodelay");
            conn
        })
        .collect();
    let start = Sample::now();
    let clients: Vec<_> = clients
        .into_iter()
        .map(|mut conn| {
            thread::spawn(move || {
                let sent = [7; MSG];
                let mut got = [0; MSG];
                for _ in 0..ROUND_TRIPS {
                    conn.write_all(&sent).expect("write_all");
                    conn.read_exact(&mut got).expect("read_exact");
                    assert_eq!(got, sent, "tcp_echo: the echo differs");
                }
                done(ROUND_TRIPS);
            })
        })
        .collect();
    for client in clients {
        client.join().expect("a client thread panicked");
    }
    let elapsed = start.elapsed();
    server.join().expect("the server thread panicked");
    expect_done(CONNS * ROUND_TRIPS, "tcp_echo");
    elapsed
}

/// Wall time and the CPU time (user + system) of the whole process over the same span.
///
/// On a shared machine the wall time of a CPU-bound workload swings with everyone else's
/// load; the CPU time the runtime burns for the same work moves far less. Only one runtime
/// is alive at a time, so the process's CPU time is that runtime's (plus an idle bench
/// thread).
#[derive(Clone, Copy)]
struct Sample {
    wall: Duration,
    cpu: Duration,
}

impl Sample {
    /// The clocks now, to subtract from later.
    fn now() -> Start {
        Start {
            wall: Instant::now(),
            cpu: process_cpu_time(),
        }
    }

    /// The medians of wall and CPU time, each on its own.
    fn median(samples: &[Sample]) -> Sample {
        Sample {
            wall: median(samples.iter().map(|s| s.wall).collect()),
            cpu: median(samples.iter().map(|s| s.cpu).collect()),
        }
    }
}

struct Start {
    wall: Instant,
    cpu: Duration,
}

impl Start {
    fn elapsed(&self) -> Sample {
        Sample {
            wall: self.wall.elapsed(),
            cpu: process_cpu_time().saturating_sub(self.cpu),
        }
    }
}

fn timer_churn<R: Net>(rt: &R) -> Duration {
    let elapsed = time_in_task(rt, |_| async {
        for _ in 0..TIMERS {
            assert!(
                R::timeout_polled_once().await,
                "timer_churn: a timeout completed on its first poll"
            );
        }
        done(TIMERS);
    });
    expect_done(TIMERS, "timer_churn");
    elapsed
}

fn timer_churn_parallel<R: Net>(rt: &R) -> Duration {
    let elapsed = time_in_task(rt, |s| async move {
        let tasks: Vec<_> = (0..CHURN_TASKS)
            .map(|_| {
                s.spawn(async {
                    for _ in 0..TIMERS / CHURN_TASKS {
                        assert!(
                            R::timeout_polled_once().await,
                            "timer_churn_parallel: a timeout completed on its first poll"
                        );
                    }
                    done(TIMERS / CHURN_TASKS);
                })
            })
            .collect();
        join_all(tasks).await;
    });
    expect_done(TIMERS, "timer_churn_parallel");
    elapsed
}

/// One sleep_many run in this (child) process.
fn sleep_many<R: Net>(workers: usize) -> Duration {
    let rt = R::build(workers);
    let elapsed = time_in_task(&rt, |s| async move {
        let sleepers: Vec<_> = (0..SLEEPERS)
            .map(|_| {
                s.spawn(async {
                    R::sleep(NAP).await;
                    done(1);
                })
            })
            .collect();
        join_all(sleepers).await;
    });
    expect_done(SLEEPERS, "sleep_many");
    elapsed
}

fn sleep_many_threads() -> Duration {
    let start = Instant::now();
    let sleepers: Vec<_> = (0..SLEEPERS)
        .map(|_| {
            thread::spawn(|| {
                thread::sleep(NAP);
                done(1);
            })
        })
        .collect();
    for sleeper in sleepers {
        sleeper.join().expect("a sleeper panicked");
    }
    let elapsed = start.elapsed();
    expect_done(SLEEPERS, "sleep_many");
    elapsed
}

/// tcp_echo at each of [`SCALING_CONNS`] on this runtime, tokio and smol, each size in
/// rounds (see [`measure_rounds`]): per runtime, (wall, CPU) µs per round trip at each size.
fn tcp_sweep(cfg: &Config) -> [(Vec<f64>, Vec<f64>); 3] {
    let (ours, tokio, smol) = (
        Ours::build(cfg.workers),
        Tokio::build(cfg.workers),
        Smol::build(cfg.workers),
    );
    let us = |d: Duration| d.as_secs_f64() * 1e6 / SCALING_ROUND_TRIPS as f64;
    let mut sweeps: [(Vec<f64>, Vec<f64>); 3] = Default::default();
    for &conns in &SCALING_CONNS {
        let per_conn = SCALING_ROUND_TRIPS / conns;
        let samples = measure_rounds(
            cfg.runs,
            [
                &mut || tcp_echo_sized(&ours, conns, per_conn),
                &mut || tcp_echo_sized(&tokio, conns, per_conn),
                &mut || tcp_echo_sized(&smol, conns, per_conn),
            ],
        );
        for ((wall, cpu), taken) in sweeps.iter_mut().zip(samples) {
            let s = Sample::median(&taken);
            wall.push(us(s.wall));
            cpu.push(us(s.cpu));
        }
    }
    sweeps
}

/// Waits in `read` until the client closes; a 16-byte buffer, so the task is mostly runtime.
async fn idle_server<R: Net>(mut conn: R::Stream) {
    let mut buf = [0; 16];
    while R::read(&mut conn, &mut buf).await > 0 {}
}

/// One idle_conn_memory run: VmRSS (KiB) with the runtime, its listener and a few
/// connections made and closed, then with [`IDLE_CONNS`] connections open and idle.
fn idle_conns<R: Net>(workers: usize) -> (u64, u64) {
    let rt = R::build(workers);
    let rss = Arc::new(std::sync::Mutex::new((0, 0)));
    let out = rss.clone();
    time_in_task(&rt, |s| async move {
        let (listener, addr) = R::listen().await;
        let listener = Arc::new(listener);
        // `n` connections, each served by an idle_server task; resolves once every one is
        // accepted, with the client ends and the acceptor (which ends when the servers do).
        let open = |n: usize| {
            let (s, listener) = (s.clone(), listener.clone());
            async move {
                let (accepted, all_accepted) = async_channel::bounded::<()>(1);
                let spawner = s.clone();
                let acceptor = s.spawn(async move {
                    let mut servers = Vec::with_capacity(n);
                    for _ in 0..n {
                        let conn = R::accept(&listener).await;
                        servers.push(spawner.spawn(idle_server::<R>(conn)));
                    }
                    accepted.send(()).await.expect("the opener waits");
                    join_all(servers).await;
                });
                let mut clients = Vec::with_capacity(n);
                for _ in 0..n {
                    clients.push(R::connect(addr).await);
                }
                all_accepted.recv().await.expect("the acceptor reports");
                (clients, acceptor)
            }
        };
        // Warm up: whatever the first connections set up once is not billed to each one.
        let (clients, acceptor) = open(16).await;
        drop(clients);
        acceptor.await;
        R::sleep(SETTLE).await;
        let before = status_kib("VmRSS");
        let (clients, acceptor) = open(IDLE_CONNS).await;
        // The server tasks were spawned as their connections came; each is parked in its
        // `read` well within this.
        R::sleep(SETTLE).await;
        let after = status_kib("VmRSS");
        drop(clients);
        acceptor.await;
        *out.lock().expect("not poisoned") = (before, after);
    });
    let rss = *rss.lock().expect("not poisoned");
    rss
}

/// idle_conn_memory with a thread per server connection, blocked in `read`.
fn idle_conns_threads() -> (u64, u64) {
    let listener = StdListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("local address");
    let open = |n: usize| {
        let listener = listener.try_clone().expect("clone the listener");
        let acceptor = thread::spawn(move || {
            (0..n)
                .map(|_| {
                    let (mut conn, _) = listener.accept().expect("accept");
                    thread::spawn(move || {
                        let mut buf = [0; 16];
                        while conn.read(&mut buf).expect("read") > 0 {}
                    })
                })
                .collect::<Vec<_>>()
        });
        let clients: Vec<_> = (0..n)
            .map(|_| StdStream::connect(addr).expect("connect"))
            .collect();
        (clients, acceptor.join().expect("the acceptor panicked"))
    };
    let join = |servers: Vec<thread::JoinHandle<()>>| {
        for server in servers {
            server.join().expect("a server thread panicked");
        }
    };
    let (clients, servers) = open(16);
    drop(clients);
    join(servers);
    thread::sleep(SETTLE);
    let before = status_kib("VmRSS");
    let (clients, servers) = open(IDLE_CONNS);
    thread::sleep(SETTLE);
    let after = status_kib("VmRSS");
    drop(clients);
    join(servers);
    (before, after)
}

/// Child mode: one idle_conn_memory run, reported on stdout as `before_kib after_kib`.
fn child_idle_conns(which: &str, workers: usize) {
    let (before, after) = match which {
        "runtime" => idle_conns::<Ours>(workers),
        "tokio" => idle_conns::<Tokio>(workers),
        "smol" => idle_conns::<Smol>(workers),
        "threads" => idle_conns_threads(),
        other => harness::usage("io", &format!("unknown runtime {other:?}")),
    };
    println!("{before} {after}");
}

/// A `kB` field of `/proc/self/status` (`VmRSS`, `VmHWM`), in KiB.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/self/status"))
}

/// This process's peak resident set (`VmHWM`) in KiB.
fn peak_rss_kib() -> u64 {
    status_kib("VmHWM")
}

/// The columns of the tables, in order.
const RUNTIMES: [&str; 4] = ["runtime", "tokio", "smol", "threads"];

/// Child mode: one sleep_many run, reported on stdout as `wall_ns start_kib peak_kib`.
fn child_sleep_many(which: &str, workers: usize) {
    let start_kib = peak_rss_kib();
    let wall = match which {
        "runtime" => sleep_many::<Ours>(workers),
        "tokio" => sleep_many::<Tokio>(workers),
        "smol" => sleep_many::<Smol>(workers),
        "threads" => sleep_many_threads(),
        other => harness::usage("io", &format!("unknown runtime {other:?}")),
    };
    println!("{} {start_kib} {}", wall.as_nanos(), peak_rss_kib());
}

/// Median wall time, start and peak RSS (KiB) of `runs` child processes.
fn sleep_many_in_children(cfg: &Config, which: &str) -> (Duration, u64, u64) {
    let (mut walls, mut starts, mut peaks) = (Vec::new(), Vec::new(), Vec::new());
    for fields in in_children(cfg, "sleep_many", which) {
        let [wall_ns, start, peak] = fields[..] else {
            panic!("sleep_many child for {which} printed {fields:?}");
        };
        walls.push(Duration::from_nanos(wall_ns));
        starts.push(start);
        peaks.push(peak);
    }
    (median(walls), median(starts), median(peaks))
}

/// Bytes of resident memory per idle connection: the median over `runs` child processes.
fn idle_conns_in_children(cfg: &Config, which: &str) -> u64 {
    let per_conn = in_children(cfg, "idle_conns", which)
        .into_iter()
        .map(|fields| {
            let [before, after] = fields[..] else {
                panic!("idle_conns child for {which} printed {fields:?}");
            };
            after.saturating_sub(before) * 1024 / IDLE_CONNS as u64
        })
        .collect();
    median(per_conn)
}

/// Runs `--runs` child processes of this binary for one workload and runtime; returns the
/// numbers each printed on stdout.
fn in_children(cfg: &Config, workload: &str, which: &str) -> Vec<Vec<u64>> {
    let exe = std::env::current_exe().expect("the bench binary's path");
    (0..cfg.runs)
        .map(|_| {
            let out = Command::new(&exe)
                .args(["--child", workload, which, "--workers"])
                .arg(cfg.workers.to_string())
                .output()
                .expect("run a child");
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "{workload} child for {which} failed ({}): {stdout}{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
            stdout
                .split_whitespace()
                .map(|f| f.parse().expect("a number from the child"))
                .collect()
        })
        .collect()
}

// ===== harness =====

fn median<T: Ord + Copy>(mut samples: Vec<T>) -> T {
    assert!(!samples.is_empty(), "median of no samples");
    samples.sort_unstable();
    // The lower middle for an even count: these are also integer KiB, not averaged.
    samples[(samples.len() - 1) / 2]
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// One table row: the name left-aligned, then right-aligned cells.
fn print_row<C: std::fmt::Display>(name: &str, cells: impl IntoIterator<Item = C>) {
    let cells: Vec<_> = cells.into_iter().map(|c| format!("{c:>14}")).collect();
    println!("{name:<12} | {}", cells.join(" | "));
}

/// A timer workload's table: this runtime's, tokio's and smol's ms, the ratios, and whether
/// runtime/tokio is within `bar`.
fn print_timer_row(name: &str, [ours, tokio, smol]: [f64; 3], bar: f64) {
    print_row(
        // As wide as the row's name, so the columns line up.
        &format!("{:<width$}", "workload", width = name.len()),
        [
            "runtime ms",
            "tokio ms",
            "smol ms",
            "runtime/tokio",
            "runtime/best",
        ],
    );
    let times = [ours, tokio, smol].map(|t| format!("{t:.1}"));
    let ratios = [ours / tokio, ours / tokio.min(smol)].map(|r| format!("{r:.2}"));
    print_row(name, times.into_iter().chain(ratios));
    let verdict = if ours <= bar * tokio {
        "meets"
    } else {
        "misses"
    };
    println!(
        "bar: runtime/tokio <= {bar:.2} ({verdict}: {:.2})",
        ours / tokio
    );
}

fn main() {
    let cfg = Config::from_args("io");
    if let Some((workload, which)) = &cfg.child {
        match workload.as_str() {
            "sleep_many" => child_sleep_many(which, cfg.workers),
            "idle_conns" => {
                raise_fd_limit();
                child_idle_conns(which, cfg.workers)
            }
            other => harness::usage("io", &format!("no child workload {other:?}")),
        }
        return;
    }
    let (workers, runs) = (cfg.workers, cfg.runs);
    println!(
        "io: {workers} workers each (smol: {workers} executor threads), median of {runs} runs \
         (tcp_echo: rounds)"
    );

    if cfg.wants("tcp_echo") {
        println!(
            "\ntcp_echo: {CONNS} connections × {ROUND_TRIPS} round trips × {MSG} B over loopback, \
             after one warm-up.\nHIGHER is better in both rows; ratios are runtime/peer, so > 1.00 \
             is better; best = the better of tokio and smol; threads = thread per connection.\n\
             tcp_echo: round trips per second of wall time. per cpu-s: round trips per second of \
             process CPU time (user + sys),\nwhich other load on the machine disturbs far less."
        );
        let (ours, tokio, smol, ours_uring) = (
            Ours::build(workers),
            Tokio::build(workers),
            Smol::build(workers),
            OursUring::build(workers),
        );
        let [ours, tokio, smol, threads, uring] = measure_rounds(
            runs,
            [
                &mut || tcp_echo(&ours),
                &mut || tcp_echo(&tokio),
                &mut || tcp_echo(&smol),
                &mut tcp_echo_threads,
                &mut || tcp_echo(&ours_uring),
            ],
        )
        .map(|taken| Sample::median(&taken));
        let samples = [ours, tokio, smol, threads];
        print_row(
            "workload",
            RUNTIMES
                .map(|r| format!("{r} rt/s"))
                .into_iter()
                .chain(["runtime/tokio", "runtime/best", "runtime/thrds"].map(String::from)),
        );
        // Rates per second of one clock: [runtime, tokio, smol, threads].
        let rates = |clock: fn(&Sample) -> Duration| {
            samples.map(|s| (CONNS * ROUND_TRIPS) as f64 / clock(&s).as_secs_f64())
        };
        let (wall, cpu) = (rates(|s| s.wall), rates(|s| s.cpu));
        for (row, [ours, tokio, smol, threads]) in [("tcp_echo", wall), ("  per cpu-s", cpu)] {
            let best = tokio.max(smol);
            let cells = [ours, tokio, smol, threads].map(|r| format!("{:.1}k", r / 1e3));
            let ratios = [ours / tokio, ours / best, ours / threads].map(|r| format!("{r:.2}"));
            print_row(row, cells.into_iter().chain(ratios));
        }
        // The same runtime with TCP on io_uring, as one more row: its rate and its ratios to
        // this runtime on mio, to tokio and to the best peer.
        let per = |d: Duration| (CONNS * ROUND_TRIPS) as f64 / d.as_secs_f64();
        let (uring_wall, uring_cpu) = (per(uring.wall), per(uring.cpu));
        println!(
            "{:<12} | {:>14} | {:>14} | {:>14} | {:>14}",
            "", "uring rt/s", "uring/mio", "uring/tokio", "uring/best"
        );
        for (row, u, r) in [
            ("uring echo", uring_wall, wall),
            ("  per cpu-s", uring_cpu, cpu),
        ] {
            let best = r[1].max(r[2]).max(r[3]);
            let cells = [
                format!("{:.1}k", u / 1e3),
                format!("{:.2}", u / r[0]),
                format!("{:.2}", u / r[1]),
                format!("{:.2}", u / best),
            ];
            print_row(row, cells);
        }
        let vs_best = wall[0] / wall[1].max(wall[2]);
        let verdict = if vs_best >= 1.0 { "meets" } else { "misses" };
        println!(
            "bar: wall runtime/best >= 1.00 ({verdict}: {vs_best:.2}); aim runtime/tokio >= 1.20 ({:.2})",
            wall[0] / wall[1]
        );
    }

    if cfg.wants("tcp_scaling") {
        let limit = raise_fd_limit();
        let needed = 2 * SCALING_CONNS[SCALING_CONNS.len() - 1] as u64 + 64;
        assert!(
            limit >= needed,
            "tcp_scaling holds {needed} descriptors at once; the hard limit is {limit}"
        );
        println!(
            "\ntcp_scaling: tcp_echo at each connection count, {SCALING_ROUND_TRIPS} round trips \
             of {MSG} B in all at each, after one warm-up.\nµs per round trip, lower is better; \
             per decade = how the cost per round trip grows per tenfold of connections."
        );
        let sweeps = tcp_sweep(&cfg);
        let columns = ["runtime", "tokio", "smol"];
        let wall = sweeps.clone().map(|(wall, _)| wall);
        let cpu = sweeps.map(|(_, cpu)| cpu);
        print_sweep("tcp_scaling", "µs", &SCALING_CONNS, &columns, &wall);
        print_sweep("  per cpu-s", "cpu-µs", &SCALING_CONNS, &columns, &cpu);
    }

    if cfg.wants("idle_conn_memory") {
        println!(
            "\nidle_conn_memory: {IDLE_CONNS} loopback connections open and idle (a server task \
             in read with a 16 B buffer each),\nresident memory added per connection, both ends; \
             median of {runs} fresh processes. Lower is better."
        );
        let bytes = RUNTIMES.map(|r| idle_conns_in_children(&cfg, r));
        print_row(
            "workload",
            RUNTIMES
                .map(|r| format!("{r} B/conn"))
                .into_iter()
                .chain(["runtime/tokio".to_owned()]),
        );
        let cells = bytes.map(|b| b.to_string());
        let ratio = format!("{:.2}", bytes[0] as f64 / bytes[1] as f64);
        print_row("idle_conn", cells.into_iter().chain([ratio]));
    }

    if cfg.wants("timer_churn") {
        println!(
            "\ntimer_churn: {TIMERS} timeout({TIMEOUT:?}, never-ready) made, polled once and \
             dropped in one task, after one warm-up.\nms, lower is better (smol: async-io Timer \
             raced with futures-lite `or`)."
        );
        let times = [
            bench::<Ours>(&cfg, timer_churn),
            bench::<Tokio>(&cfg, timer_churn),
            bench::<Smol>(&cfg, timer_churn),
        ];
        print_timer_row("timer_churn", times.map(ms), 0.8);
    }

    if cfg.wants("timer_churn_parallel") {
        println!(
            "\ntimer_churn_parallel: the same {TIMERS} timeouts split over {CHURN_TASKS} tasks \
             spawned at once ({} each) on {} workers, after one warm-up.\nms, lower is better.",
            TIMERS / CHURN_TASKS,
            cfg.workers
        );
        let times = [
            bench::<Ours>(&cfg, timer_churn_parallel),
            bench::<Tokio>(&cfg, timer_churn_parallel),
            bench::<Smol>(&cfg, timer_churn_parallel),
        ];
        print_timer_row("timer_churn_parallel", times.map(ms), 0.8);
    }

    if cfg.wants("sleep_many") {
        println!(
            "\nsleep_many: {SLEEPERS} tasks each sleeping {NAP:?}, all joined; one fresh process \
             per run, no warm-up.\nPeak RSS = VmHWM at the end; delta = minus VmHWM at process \
             start (before the runtime is built). Lower is better."
        );
        let rows = RUNTIMES.map(|r| (r, sleep_many_in_children(&cfg, r)));
        print_row(
            "sleep_many",
            ["wall ms", "peak RSS MiB", "start RSS MiB", "delta RSS MiB"],
        );
        for (name, (wall, start, peak)) in &rows {
            let cells = [ms(*wall), mib(*peak), mib(*start), mib(peak - start)];
            print_row(name, cells.map(|c| format!("{c:.1}")));
        }
        let (ours, tokio) = (rows[0].1, rows[1].1);
        let ratio = |f: fn(&(Duration, u64, u64)) -> f64| f(&ours) / f(&tokio);
        let wall = ratio(|r| ms(r.0));
        let peak = ratio(|r| r.2 as f64);
        let delta = ratio(|r| (r.2 - r.1) as f64);
        let verdict = if peak <= 1.0 { "meets" } else { "misses" };
        println!(
            "runtime/tokio: wall {wall:.2}, peak RSS {peak:.2}, delta RSS {delta:.2}\n\
             bar: peak RSS runtime/tokio <= 1.00 ({verdict}: {peak:.2})"
        );
    }

    let args = cfg.args.join(" ");
    let sep = if args.is_empty() { "" } else { " -- " };
    println!("\ncommand: cargo bench --bench io{sep}{args}");
}
