//! hyper 1 on this runtime (through `runtime::compat::hyper`) against hyper on tokio
//! (hyper-util's `TokioIo` and `TokioTimer`, the setup hyper's own examples use) and on smol
//! (`HyperIo` over smol's `TcpStream`, an async-io timer): the same hello-world service, the
//! same `http1::Builder` settings, loaded by `wrk -t2 -c100 -d5s` over loopback.
//!
//! ```text
//! cargo bench --bench hyper --features hyper -- [--workers N] [--runs N] [--quick]
//! ```
//!
//! Each server runs in this process on `127.0.0.1:0` with `--workers` threads (default: the
//! core count); wrk runs as a child process on the same machine, so server and load generator
//! share the cores, as they would on a small box. Each server gets a 1 s warm-up, then the
//! runs alternate between servers (so drift in the machine's load hits all alike) and the
//! table shows medians of requests per second of wall time and per second of the server's
//! CPU time (the steadier figure on a shared machine). `--quick` makes it one 1 s run each. Any non-2xx response or socket
//! error fails the bench: a fast wrong server is not a result. Skipped if wrk is missing.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};

#[path = "harness/mod.rs"]
mod harness;
use harness::load::{have, wrk, WrkReport};
use harness::rt::{Ours, Rt, Tokio};
use harness::{median_f64 as median, process_cpu_time, Config, Smol};

const WRK_THREADS: u32 = 2;
const WRK_CONNECTIONS: u32 = 100;
const SECS: u32 = 5;
const WARM_UP_SECS: u32 = 1;

/// The service all three servers run: what `examples/hyper_server.rs` answers on `/`.
async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(
        b"Hello, world!\n",
    ))))
}

/// The same connection settings everywhere: hyper's defaults (keep-alive on) plus a timer,
/// which turns on hyper's 30 s header-read timeout, as a real server would have.
fn builder(timer: impl hyper::rt::Timer + Send + Sync + 'static) -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder.timer(timer);
    builder
}

// ===== the three servers =====

/// A running server's runtime, held only so that dropping it stops the server.
type Server = Box<dyn std::any::Any>;

fn start_ours(workers: usize) -> (Server, SocketAddr) {
    use runtime::compat::hyper::{HyperIo, HyperTimer};
    let rt = Ours::build(workers);
    let listener = rt
        .block_on(runtime::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("local address");
    rt.spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.expect("accept");
            stream.set_nodelay(true).expect("nodelay");
            runtime::spawn(
                builder(HyperTimer::new())
                    .serve_connection(HyperIo::new(stream), service_fn(hello)),
            );
        }
    });
    (Box::new(rt), addr)
}

fn start_tokio(workers: usize) -> (Server, SocketAddr) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let rt = Tokio::build(workers);
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("local address");
    rt.spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.expect("accept");
            stream.set_nodelay(true).expect("nodelay");
            tokio::spawn(
                builder(TokioTimer::new())
                    .serve_connection(TokioIo::new(stream), service_fn(hello)),
            );
        }
    });
    (Box::new(rt), addr)
}

fn start_smol(workers: usize) -> (Server, SocketAddr) {
    // `HyperIo` takes any futures-io stream, smol's included.
    use runtime::compat::hyper::HyperIo;
    let pool = Smol::build(workers);
    let listener = smol::block_on(smol::net::TcpListener::bind("127.0.0.1:0")).expect("bind");
    let addr = listener.local_addr().expect("local address");
    let ex = pool.ex.clone();
    pool.ex
        .spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.expect("accept");
                stream.set_nodelay(true).expect("nodelay");
                let conn =
                    builder(SmolTimer).serve_connection(HyperIo::new(stream), service_fn(hello));
                ex.spawn(conn).detach();
            }
        })
        .detach();
    (Box::new(pool), addr)
}

/// hyper's `Timer` over async-io's timers, for the smol server.
#[derive(Clone, Copy, Debug)]
struct SmolTimer;

struct SmolSleep(smol::Timer);

impl Future for SmolSleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(drop)
    }
}

impl hyper::rt::Sleep for SmolSleep {}

impl hyper::rt::Timer for SmolTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(SmolSleep(smol::Timer::after(duration)))
    }
    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(SmolSleep(smol::Timer::at(deadline)))
    }
    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<SmolSleep>() {
            Some(mut ours) => ours.0.set_at(deadline),
            None => *sleep = self.sleep_until(deadline),
        }
    }
}

// ===== measuring =====

/// Starts a server with the given number of threads; returns it and its address.
type Start = fn(usize) -> (Server, SocketAddr);

const SERVERS: [(&str, Start); 3] = [
    ("runtime", start_ours),
    ("tokio", start_tokio),
    ("smol", start_smol),
];

/// One wrk run against `addr`; panics on any failed request.
fn load(name: &str, addr: SocketAddr, secs: u32) -> WrkReport {
    let report = wrk(
        &format!("http://{addr}/"),
        WRK_THREADS,
        WRK_CONNECTIONS,
        secs,
    );
    assert!(
        report.non_2xx == 0 && report.socket_errors == 0 && report.requests > 0,
        "{name}: wrk saw failures: {report:?}"
    );
    report
}

fn main() {
    let cfg = Config::from_args("hyper");
    if !have("wrk") {
        println!("hyper: skipped (wrk is not installed)");
        return;
    }
    let quick = cfg.args.iter().any(|a| a == "--quick");
    let secs = if quick { 1 } else { SECS };
    let workers = cfg.workers;
    println!(
        "hyper: hello world over HTTP/1.1 keep-alive, wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS} \
         -d{secs}s on loopback; {workers} server threads each; median of {} runs.\n\
         HIGHER is better in every column; ratio = runtime / that server, so > 1.00 means \
         runtime is better.\nreq/s: per second of wall time. req per cpu-s: per second of the \
         server's CPU time (user + sys), which other load on the machine disturbs far less.",
        cfg.runs
    );

    let servers: Vec<(&str, Server, SocketAddr)> = SERVERS
        .iter()
        .filter(|(name, _)| cfg.wants(name))
        .map(|(name, start)| {
            let (server, addr) = start(workers);
            (*name, server, addr)
        })
        .collect();
    for (name, _, addr) in &servers {
        load(name, *addr, WARM_UP_SECS);
    }
    // Per server: requests per second of wall time, and per second of this process's CPU
    // time (only the server under load is busy, wrk is another process).
    let mut rates = vec![(Vec::new(), Vec::new()); servers.len()];
    for _ in 0..cfg.runs {
        for ((name, _, addr), (wall, cpu)) in servers.iter().zip(&mut rates) {
            let before = process_cpu_time();
            let report = load(name, *addr, secs);
            let used = process_cpu_time().saturating_sub(before);
            wall.push(report.requests_per_sec);
            cpu.push(report.requests as f64 / used.as_secs_f64());
        }
    }
    let (medians, cpu_medians): (Vec<f64>, Vec<f64>) = rates
        .into_iter()
        .map(|(wall, cpu)| (median(wall), median(cpu)))
        .unzip();

    let ours_at = servers.iter().position(|(name, _, _)| *name == "runtime");
    let ours = ours_at.map(|i| medians[i]);
    let ours_cpu = ours_at.map(|i| cpu_medians[i]);
    println!(
        "\n{:<10} {:>12} {:>8} {:>16} {:>8}",
        "server", "req/s", "ratio", "req per cpu-s", "ratio"
    );
    for (((name, _, _), rate), cpu) in servers.iter().zip(&medians).zip(&cpu_medians) {
        let ratio = |ours: Option<f64>, theirs: f64| {
            ours.map_or("-".to_owned(), |o| format!("{:.2}", o / theirs))
        };
        println!(
            "{name:<10} {:>11.1}k {:>8} {:>15.1}k {:>8}",
            rate / 1e3,
            ratio(ours, *rate),
            cpu / 1e3,
            ratio(ours_cpu, *cpu)
        );
    }
    let best_peer = servers
        .iter()
        .zip(&medians)
        .filter(|((name, _, _), _)| *name != "runtime")
        .map(|(_, r)| *r)
        .fold(f64::NAN, f64::max);
    if let (Some(ours), false) = (ours, best_peer.is_nan()) {
        let vs_best = ours / best_peer;
        let verdict = if vs_best >= 1.0 { "meets" } else { "misses" };
        println!("bar: runtime / best of the others >= 1.00 ({verdict}: {vs_best:.2})");
    }
    drop(servers);
}
