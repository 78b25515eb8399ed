//! HTTP throughput: the `http` example's server on this runtime, on tokio, on smol and on OS
//! threads (a thread per connection), and nginx as a reference, each loaded by
//! `wrk -t2 -c100 -d5s` in turn.
//!
//! ```text
//! cargo bench --bench http -- [--workers N] [--runs N] [--filter NAME] [--quick]
//! ```
//!
//! All four servers run in this process on `127.0.0.1:0`, with `--workers` threads each
//! (default: the core count), and share the example's protocol code (`examples/http.rs` is
//! included as a module): the same [`http::respond`] turns each read's bytes into one write
//! of responses, so only the runtime around it differs. wrk fetches `GET /` over 100
//! keep-alive connections. Each round loads every server once, in turn (starting with the
//! next one each round), so a change in the machine's load falls on all of them; the table shows medians over `--runs` rounds
//! (default 5) after a one-second warm-up each. `--quick` is one round of one second, no
//! warm-up. Any non-2xx response or socket error fails the run. Without wrk on the PATH it
//! prints a skip line and exits successfully.
//!
//! Then every server is loaded again at 1 000 connections, and `http_scaling` shows how the
//! wall and CPU time per request grow from 100 to 1 000 connections (`per decade`).
//!
//! Beside requests per second of wall time, the table shows the server's CPU time per
//! request (user + sys of this process while wrk runs; wrk is another process), which the
//! machine's other load disturbs far less. wrk and the server share the machine's cores.
//!
//! nginx, when it is on the PATH, runs as a child process with as many worker processes as
//! the runtimes have workers, answering `GET /` with a fixed 13-byte body (`return 200`, no
//! access log, keep-alive without limit); its CPU time is its processes' (from `/proc`).
//! Without nginx that row is left out.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::thread;
use std::time::Instant;

#[path = "harness/mod.rs"]
mod harness;
use harness::rt::{Ours, Rt, Tokio};
use harness::{load, median_f64 as median, print_sweep, process_cpu_time, Config, Smol};

// The bench uses the protocol and `serve`, not the example's `main`.
#[allow(dead_code, unreachable_pub)]
#[path = "../examples/http.rs"]
mod http;
use http::{respond, Outcome, LINGER, READ_CHUNK};

const THREADS: u32 = 2;
const CONNECTIONS: u32 = 100;
/// http_scaling's second load: ten times the connections.
const MANY_CONNECTIONS: u32 = 1_000;
const SECS: u32 = 5;
const SERVERS: [&str; 5] = ["runtime", "tokio", "smol", "threads", "nginx"];

// ===== the same server on each runtime =====

/// A running server; dropping it stops its runtime (or its process).
struct Running {
    addr: SocketAddr,
    /// The server's own process, when it is not this one: whose CPU time to count.
    pid: Option<u32>,
    _keep: Box<dyn std::any::Any>,
}

fn start_ours(workers: usize) -> Running {
    let rt = Ours::build(workers);
    let listener = rt
        .block_on(runtime::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("local address");
    // Connections nobody stops: the bench ends by dropping the runtime.
    rt.spawn(http::serve(
        listener,
        Default::default(),
        Default::default(),
    ));
    Running {
        addr,
        pid: None,
        _keep: Box::new(rt),
    }
}

fn start_tokio(workers: usize) -> Running {
    let rt = Tokio::build(workers);
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("local address");
    rt.spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => drop(tokio::spawn(tokio_connection(stream))),
                Err(e) => panic!("tokio accept: {e}"),
            }
        }
    });
    Running {
        addr,
        pid: None,
        _keep: Box::new(rt),
    }
}

async fn tokio_connection(mut stream: tokio::net::TcpStream) -> io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.set_nodelay(true)?;
    let mut chunk = [0; READ_CHUNK];
    let mut input = Vec::with_capacity(READ_CHUNK);
    let mut output = Vec::with_capacity(READ_CHUNK);
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        input.extend_from_slice(&chunk[..n]);
        let outcome = respond(&mut input, &mut output);
        stream.write_all(&output).await?;
        output.clear();
        if outcome == Outcome::Close {
            stream.shutdown().await?;
            let drain = async {
                while stream.read(&mut chunk).await? > 0 {}
                io::Result::Ok(())
            };
            let _ = tokio::time::timeout(LINGER, drain).await;
            return Ok(());
        }
    }
}

fn start_smol(workers: usize) -> Running {
    let pool = Smol::build(workers);
    let listener = smol::block_on(smol::net::TcpListener::bind("127.0.0.1:0")).expect("bind");
    let addr = listener.local_addr().expect("local address");
    let ex = pool.ex.clone();
    pool.ex
        .spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => ex.spawn(smol_connection(stream)).detach(),
                    Err(e) => panic!("smol accept: {e}"),
                }
            }
        })
        .detach();
    Running {
        addr,
        pid: None,
        _keep: Box::new(pool),
    }
}

async fn smol_connection(mut stream: smol::net::TcpStream) -> io::Result<()> {
    use smol::io::{AsyncReadExt, AsyncWriteExt};
    stream.set_nodelay(true)?;
    let mut chunk = [0; READ_CHUNK];
    let mut input = Vec::with_capacity(READ_CHUNK);
    let mut output = Vec::with_capacity(READ_CHUNK);
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        input.extend_from_slice(&chunk[..n]);
        let outcome = respond(&mut input, &mut output);
        stream.write_all(&output).await?;
        output.clear();
        if outcome == Outcome::Close {
            stream.shutdown(Shutdown::Write)?;
            let drain = async {
                while stream.read(&mut chunk).await? > 0 {}
                io::Result::Ok(())
            };
            let linger = async {
                smol::Timer::after(LINGER).await;
                Ok(())
            };
            let _ = smol::future::or(drain, linger).await;
            return Ok(());
        }
    }
}

/// std::net with a thread per connection. The accept thread is left blocked in `accept`
/// when the bench ends; the process exits under it.
fn start_threads() -> Running {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("local address");
    thread::spawn(move || {
        for stream in listener.incoming() {
            let stream = stream.expect("accept");
            thread::spawn(move || thread_connection(stream));
        }
    });
    Running {
        addr,
        pid: None,
        _keep: Box::new(()),
    }
}

fn thread_connection(mut stream: std::net::TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut chunk = [0; READ_CHUNK];
    let mut input = Vec::with_capacity(READ_CHUNK);
    let mut output = Vec::with_capacity(READ_CHUNK);
    loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        input.extend_from_slice(&chunk[..n]);
        let outcome = respond(&mut input, &mut output);
        stream.write_all(&output)?;
        output.clear();
        if outcome == Outcome::Close {
            stream.shutdown(Shutdown::Write)?;
            stream.set_read_timeout(Some(LINGER))?;
            while stream.read(&mut chunk)? > 0 {}
            return Ok(());
        }
    }
}

/// An nginx child process with its own prefix directory, killed (and the directory
/// removed) on drop.
struct Nginx {
    child: std::process::Child,
    prefix: std::path::PathBuf,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM: the master stops its workers (SIGKILL would orphan them).
        // SAFETY: `kill` with a pid and a signal number has no memory effects.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.prefix);
    }
}

/// nginx on a free loopback port with `workers` worker processes; `None` if it is not
/// installed. Waits (at most 10 s) until the port accepts connections.
fn start_nginx(workers: usize) -> Option<Running> {
    if !load::have("nginx") {
        return None;
    }
    // A port the kernel just handed out and we released: free unless someone races us.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let prefix = std::env::temp_dir().join(format!("bench-http-nginx-{}", std::process::id()));
    std::fs::create_dir_all(prefix.join("logs")).expect("nginx prefix");
    // Running as root, the workers would switch to `nobody`, who can't use the prefix.
    // SAFETY: `geteuid` has no preconditions.
    let user = if unsafe { libc::geteuid() } == 0 {
        "user root;"
    } else {
        ""
    };
    let temp = prefix.display();
    let conf = format!(
        "{user}\ndaemon off;\nworker_processes {workers};\npid {temp}/nginx.pid;\n\
         error_log {temp}/logs/error.log warn;\nevents {{ worker_connections 4096; }}\n\
         http {{\n  access_log off;\n  keepalive_requests 100000000;\n\
         client_body_temp_path {temp}/body; proxy_temp_path {temp}/proxy;\n\
         fastcgi_temp_path {temp}/fastcgi; uwsgi_temp_path {temp}/uwsgi;\n\
         scgi_temp_path {temp}/scgi;\n\
         server {{\n    listen 127.0.0.1:{port};\n\
         location / {{ default_type text/plain; return 200 \"Hello, world!\"; }}\n  }}\n}}\n"
    );
    let conf_path = prefix.join("nginx.conf");
    std::fs::write(&conf_path, conf).expect("writing nginx.conf");
    let child = std::process::Command::new("nginx")
        .arg("-p")
        .arg(&prefix)
        .arg("-c")
        .arg(&conf_path)
        .spawn()
        .expect("starting nginx");
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let nginx = Nginx { child, prefix };
    let started = Instant::now();
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "nginx did not listen on {addr} within 10 s (see its error.log)"
        );
        thread::sleep(std::time::Duration::from_millis(20));
    }
    Some(Running {
        addr,
        pid: Some(nginx.child.id()),
        _keep: Box::new(nginx),
    })
}

/// User plus system CPU time of process `pid` and its children (nginx's master and
/// workers), from `/proc`.
fn tree_cpu_time(pid: u32) -> std::time::Duration {
    // SAFETY: `sysconf` has no preconditions.
    let ticks_per_sec = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let mut ticks = 0u64;
    for entry in std::fs::read_dir("/proc").expect("reading /proc").flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue; // not a process, or it exited meanwhile
        };
        let own_pid = stat.split(' ').next().and_then(|p| p.parse::<u32>().ok());
        // After the command name (which may hold spaces): state, ppid, ..., utime, stime.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ppid = fields.get(1).and_then(|p| p.parse::<u32>().ok());
        if own_pid == Some(pid) || ppid == Some(pid) {
            let field = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok());
            ticks += field(11).unwrap_or(0) + field(12).unwrap_or(0);
        }
    }
    std::time::Duration::from_secs_f64(ticks as f64 / ticks_per_sec)
}

/// The CPU time so far of the process serving `server`.
fn server_cpu_time(server: &Running) -> std::time::Duration {
    match server.pid {
        Some(pid) => tree_cpu_time(pid),
        None => process_cpu_time(),
    }
}

// ===== measuring =====

/// One wrk run against one server.
#[derive(Clone, Copy)]
struct Sample {
    requests_per_sec: f64,
    /// Server CPU time (this process, user + sys) per request, in microseconds.
    cpu_us_per_request: f64,
}

fn load(name: &str, server: &Running, connections: u32, secs: u32) -> Sample {
    let url = format!("http://{}/", server.addr);
    let cpu = server_cpu_time(server);
    let report = load::wrk(&url, THREADS, connections, secs);
    let cpu = server_cpu_time(server).saturating_sub(cpu);
    assert!(
        report.non_2xx == 0 && report.socket_errors == 0 && report.requests > 0,
        "{name}: wrk saw {} non-2xx responses and {} socket errors in {} requests",
        report.non_2xx,
        report.socket_errors,
        report.requests
    );
    Sample {
        requests_per_sec: report.requests_per_sec,
        cpu_us_per_request: cpu.as_secs_f64() * 1e6 / report.requests as f64,
    }
}

/// `runs` rounds of one wrk run per server at `connections` connections: each server's
/// samples. Each round starts with the next server, so none always runs first or last.
fn rounds(
    servers: &[(&str, Running)],
    connections: u32,
    secs: u32,
    runs: usize,
) -> Vec<Vec<Sample>> {
    let started = Instant::now();
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); servers.len()];
    for round in 0..runs {
        for k in 0..servers.len() {
            let i = (round + k) % servers.len();
            let (name, server) = &servers[i];
            eprint!("\rc{connections} round {}/{runs}: {name:<8}", round + 1);
            samples[i].push(load(name, server, connections, secs));
        }
    }
    eprintln!("\r{:<40}", format!("done in {:.0?}", started.elapsed()));
    samples
}

fn main() {
    let cfg = Config::from_args("http");
    if !load::have("wrk") {
        println!("http: skipped, wrk is not installed");
        return;
    }
    let quick = cfg.args.iter().any(|a| a == "--quick");
    let secs = if quick { 1 } else { SECS };
    let workers = cfg.workers;
    let servers: Vec<(&str, Running)> = SERVERS
        .into_iter()
        .filter(|name| cfg.wants(name))
        .filter_map(|name| {
            let running = match name {
                "runtime" => start_ours(workers),
                "tokio" => start_tokio(workers),
                "smol" => start_smol(workers),
                "threads" => start_threads(),
                _ => start_nginx(workers).or_else(|| {
                    println!("http: nginx is not installed; its row is left out");
                    None
                })?,
            };
            Some((name, running))
        })
        .collect();
    println!(
        "http: wrk -t{THREADS} -c{CONNECTIONS} -d{secs}s GET / (13-byte body, keep-alive), \
         {workers} workers per runtime, median of {} rounds{}",
        cfg.runs,
        if quick {
            ""
        } else {
            " after a 1 s warm-up each"
        }
    );
    if !quick {
        for (name, server) in &servers {
            load(name, server, CONNECTIONS, 1);
        }
    }
    let samples = rounds(&servers, CONNECTIONS, secs, cfg.runs);
    println!(
        "HIGHER is better in the ratio columns: runtime/this > 1.00 means this runtime did better; \
         wall = req/s, cpu = server CPU time per request."
    );
    println!(
        "{:<8} | {:>9} | {:>17} | {:>10} | {:>12} | {:>11}",
        "server", "req/s", "min..max req/s", "cpu us/req", "runtime/this", "(cpu)"
    );
    let rates: Vec<f64> = samples
        .iter()
        .map(|s| median(s.iter().map(|x| x.requests_per_sec).collect()))
        .collect();
    let cpus: Vec<f64> = samples
        .iter()
        .map(|s| median(s.iter().map(|x| x.cpu_us_per_request).collect()))
        .collect();
    let ours = servers.iter().position(|(n, _)| *n == "runtime");
    for (i, (name, _)) in servers.iter().enumerate() {
        let (lo, hi) = samples[i].iter().fold((f64::MAX, 0.0f64), |(lo, hi), x| {
            (lo.min(x.requests_per_sec), hi.max(x.requests_per_sec))
        });
        let (wall, cpu) = ours.map_or(("-".into(), "-".into()), |o| {
            (
                format!("{:.2}", rates[o] / rates[i]),
                format!("{:.2}", cpus[i] / cpus[o]),
            )
        });
        println!(
            "{name:<8} | {:>9.0} | {:>7.0}..{:<8.0} | {:>10.2} | {wall:>12} | {cpu:>11}",
            rates[i], lo, hi, cpus[i]
        );
    }
    let best = |key: &dyn Fn(usize) -> f64| {
        servers
            .iter()
            .enumerate()
            .filter(|(_, (n, _))| matches!(*n, "tokio" | "smol"))
            .max_by(|a, b| key(a.0).total_cmp(&key(b.0)))
            .map(|(i, (name, _))| (i, *name))
    };
    if let (Some(o), Some((p, peer))) = (ours, best(&|i| rates[i])) {
        let ratio = rates[o] / rates[p];
        let verdict = if ratio >= 1.0 { "meets" } else { "misses" };
        println!("bar: wall runtime / best peer ({peer}) >= 1.00: {verdict} ({ratio:.2})");
    }
    if let (Some(o), Some((p, peer))) = (ours, best(&|i| -cpus[i])) {
        println!(
            "     cpu per request, best peer ({peer}) / runtime: {:.2}",
            cpus[p] / cpus[o]
        );
    }
    let nginx = servers.iter().position(|(n, _)| *n == "nginx");
    if let (Some(o), Some(n)) = (ours, nginx) {
        println!(
            "     against nginx: wall runtime / nginx {:.2}, cpu per request nginx / runtime {:.2}",
            rates[o] / rates[n],
            cpus[n] / cpus[o]
        );
    }

    // How the cost per request grows with ten times the connections.
    let names: Vec<&str> = servers.iter().map(|(name, _)| *name).collect();
    if names.starts_with(&["runtime", "tokio"]) {
        let many = rounds(&servers, MANY_CONNECTIONS, secs, cfg.runs);
        let per_request = |samples: &[Vec<Sample>], key: fn(&Sample) -> f64| -> Vec<f64> {
            samples
                .iter()
                .map(|s| median(s.iter().map(key).collect()))
                .collect()
        };
        let wall_us = |s: &Sample| 1e6 / s.requests_per_sec;
        let cpu_us = |s: &Sample| s.cpu_us_per_request;
        let sweep = |key: fn(&Sample) -> f64| -> Vec<Vec<f64>> {
            let (few, many) = (per_request(&samples, key), per_request(&many, key));
            few.into_iter().zip(many).map(|(a, b)| vec![a, b]).collect()
        };
        println!(
            "\nhttp_scaling: the same load at {CONNECTIONS} and {MANY_CONNECTIONS} connections; \
             µs of wall time per request (1 / req/s) and server CPU µs per request, lower is \
             better;\nper decade = how the cost per request grows per tenfold of connections."
        );
        let sizes = [CONNECTIONS as usize, MANY_CONNECTIONS as usize];
        print_sweep("http_scaling", "µs", &sizes, &names, &sweep(wall_us));
        print_sweep("  server cpu", "cpu-µs", &sizes, &names, &sweep(cpu_us));
    }
}
