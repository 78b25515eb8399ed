//! The `mini_redis` example beside a real `redis-server`, both loaded by `redis-benchmark`.
//!
//! ```text
//! cargo bench --bench redis -- [--workers N] [--runs N] [--quick]
//! ```
//!
//! mini_redis (`examples/mini_redis/`, compiled into this binary) is served in-process by
//! this runtime's multi-thread scheduler with `--workers` workers (default: the core count);
//! redis-server runs as a child process (`--save '' --appendonly no`: no disk), killed at the
//! end. Each run is `redis-benchmark -t set,get -n 100000 -c 50` (`--quick`: `-n 10000`),
//! once without pipelining (`-P 1`) and once with 16 requests per batch (`-P 16`); the two
//! servers take turns, run after run, so drift on a shared machine hits both alike. The table
//! shows the median requests per second (HIGHER is better) and the ratio mini_redis /
//! redis-server, so above 1.00 means mini_redis is faster. redis-benchmark itself needs a core: on a small machine
//! it competes with the server for CPU, the same way for both servers.
//!
//! Skips with a message when redis-benchmark (or, for its column, redis-server) is missing.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

#[path = "harness/mod.rs"]
mod harness;
use harness::load::{have, redis_benchmark};
use harness::{median_f64 as median, Config};

// The example's `main` is not used here, and its `pub` items are reachable only from
// this binary.
#[allow(dead_code, unreachable_pub)]
#[path = "../examples/mini_redis/main.rs"]
mod mini_redis;

const TESTS: [&str; 2] = ["SET", "GET"];
const PIPELINES: [u32; 2] = [1, 16];
const CLIENTS: u32 = 50;

/// A redis-server child process, killed on drop.
struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    /// Starts redis-server on a free loopback port and waits until it says it is ready.
    fn start() -> RedisServer {
        // A port the kernel just handed out and we released: free unless someone races us.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting redis-server");
        // It logs to stdout; this line means the socket is listening. EOF: it exited.
        let stdout = child.stdout.take().expect("piped stdout");
        let mut log = String::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("reading redis-server's log");
            log.push_str(&line);
            log.push('\n');
            if line.contains("Ready to accept connections") {
                return RedisServer { child, port };
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("redis-server exited before it was ready:\n{log}");
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Requests per second of each of [`TESTS`] in one redis-benchmark run.
fn run(port: u16, requests: u32, pipeline: u32) -> [f64; 2] {
    let rows = redis_benchmark(port, "set,get", requests, CLIENTS, pipeline);
    TESTS.map(|test| {
        rows.iter()
            .find(|(name, _)| name == test)
            .unwrap_or_else(|| panic!("redis-benchmark printed no {test} row: {rows:?}"))
            .1
    })
}

fn main() {
    let cfg = Config::from_args("redis");
    if !have("redis-benchmark") {
        println!("redis: skipped, redis-benchmark is not installed");
        return;
    }
    let quick = cfg.args.iter().any(|a| a == "--quick");
    let requests = if quick { 10_000 } else { 100_000 };

    let rt = runtime::Builder::new_multi_thread()
        .worker_threads(cfg.workers)
        .build()
        .expect("building the runtime");
    let listener = rt
        .block_on(runtime::net::TcpListener::bind("127.0.0.1:0"))
        .expect("binding mini_redis");
    let ours = listener.local_addr().expect("local address").port();
    // Connections nobody stops: the server ends when it is aborted.
    let server = rt.spawn(mini_redis::serve(
        listener,
        Default::default(),
        Default::default(),
    ));
    let redis = if have("redis-server") {
        Some(RedisServer::start())
    } else {
        println!("redis: redis-server is not installed; its column is left empty");
        None
    };

    println!(
        "redis: redis-benchmark -t set,get -n {requests} -c {CLIENTS}, -P 1 and -P 16; \
         mini_redis on {} workers; median of {} runs",
        cfg.workers, cfg.runs
    );
    // samples[pipeline][server] = one [SET, GET] per run
    let mut samples = vec![[Vec::new(), Vec::new()]; PIPELINES.len()];
    for _ in 0..cfg.runs {
        for (p, &pipeline) in PIPELINES.iter().enumerate() {
            samples[p][0].push(run(ours, requests, pipeline));
            if let Some(redis) = &redis {
                samples[p][1].push(run(redis.port, requests, pipeline));
            }
        }
    }
    server.abort();
    drop(rt);
    drop(redis);

    println!("\nrequests per second, HIGHER is better; ratio = mini_redis / redis-server");
    println!(
        "{:<12} | {:>12} | {:>12} | {:>6}",
        "test", "mini_redis", "redis-server", "ratio"
    );
    for (p, &pipeline) in PIPELINES.iter().enumerate() {
        for (t, test) in TESTS.iter().enumerate() {
            let cell = |s: &Vec<[f64; 2]>| {
                (!s.is_empty()).then(|| median(s.iter().map(|r| r[t]).collect()))
            };
            let (mini, real) = (cell(&samples[p][0]), cell(&samples[p][1]));
            let name = format!("{test} -P {pipeline}");
            match (mini, real) {
                (Some(mini), Some(real)) => println!(
                    "{name:<12} | {mini:>12.0} | {real:>12.0} | {:>6.2}",
                    mini / real
                ),
                (Some(mini), None) => {
                    println!("{name:<12} | {mini:>12.0} | {:>12} | {:>6}", "-", "-")
                }
                _ => unreachable!("mini_redis is always measured"),
            }
        }
    }
    let sep = if cfg.args.is_empty() { "" } else { " -- " };
    println!(
        "\ncommand: cargo bench --bench redis{sep}{}",
        cfg.args.join(" ")
    );
}
