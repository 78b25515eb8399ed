//! Diagnostics benchmarks.
//!
//! ```text
//! cargo bench --bench diag -- [--workers N] [--runs N] [--filter NAME] [--quick]
//! ```
//!
//! - `queued_behind_blocked`: a task wakes another (which lands in its worker's LIFO slot
//!   on this runtime and on tokio) and then blocks its worker thread for 200 ms; the
//!   figure is how long the woken task waited before it ran. On this runtime with the
//!   blocking-poll monitor on (`warn_on_blocking(100 ms)`) the monitor hands it to the other
//!   worker; without it, and on tokio, it waits for the blocked poll to end. smol's
//!   executor has no LIFO slot (its other thread takes the task from the shared queue).
//! - `dump_10k`: how long `Handle::dump` takes over 10 000 idle tasks (not a peer
//!   comparison: no peer has a stable dump).
//!
//! The cost of the dump machinery when no dump is taken is the `scheduler` bench's
//! business (before/after in BENCHMARKS.md).

use std::sync::mpsc;
use std::time::{Duration, Instant};

#[path = "harness/mod.rs"]
mod harness;
use harness::rt::{Ours, Rt, Spawner, Tokio};
use harness::{median, ms, print_row, Config, Smol};

const BLOCK_FOR: Duration = Duration::from_millis(200);
const IDLE_TASKS: usize = 10_000;

/// One round: how long the woken task waited behind its waker's 200 ms poll.
fn queued_behind_blocked<R: Rt>(rt: &R) -> Duration {
    let s = rt.spawner();
    let (tx, rx) = mpsc::channel();
    let inner = s.clone();
    rt.block_on(s.spawn_remote(async move {
        let queued = Instant::now();
        R::Spawner::detach(inner.spawn(async move {
            tx.send(queued.elapsed()).expect("the bench waits");
        }));
        std::thread::sleep(BLOCK_FOR);
    }));
    rx.recv().expect("the woken task ran")
}

fn monitored(workers: usize) -> Ours {
    runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .warn_on_blocking(Duration::from_millis(100))
        .on_blocking(|_| {}) // the bench measures the rescue, not the printing
        .build()
        .expect("build the runtime")
}

fn rounds<R: Rt>(cfg: &Config, rt: &R) -> Duration {
    let _warm = queued_behind_blocked(rt);
    median((0..cfg.runs).map(|_| queued_behind_blocked(rt)).collect())
}

fn dump_cost(cfg: &Config) -> Duration {
    let rt = <Ours as Rt>::build(cfg.workers);
    let tasks: Vec<_> = (0..IDLE_TASKS)
        .map(|_| rt.spawn(std::future::pending::<()>()))
        .collect();
    let _warm = rt.handle().dump();
    let samples = (0..cfg.runs)
        .map(|_| {
            let start = Instant::now();
            let dump = rt.handle().dump();
            let took = start.elapsed();
            assert_eq!(dump.len(), IDLE_TASKS);
            took
        })
        .collect();
    drop(tasks);
    median(samples)
}

fn main() {
    let cfg = Config::from_args("diag");
    let workers = cfg.workers;
    println!(
        "diag: {workers} workers each, median of {} runs after one warm-up\n",
        cfg.runs
    );
    if cfg.wants("queued_behind_blocked") {
        let monitor = rounds(&cfg, &monitored(workers));
        let plain = rounds(&cfg, &<Ours as Rt>::build(workers));
        let tokio = rounds(&cfg, &<Tokio as Rt>::build(workers));
        let smol = rounds(&cfg, &<Smol as Rt>::build(workers));
        print_row(
            "workload",
            [
                "monitor ms",
                "no monitor ms",
                "tokio ms",
                "smol ms",
                "monitor/tokio",
            ],
        );
        let cells = [monitor, plain, tokio, smol].map(|d| format!("{:.1}", ms(d)));
        print_row(
            "queued_behind_blocked",
            cells
                .into_iter()
                .chain([format!("{:.2}", ms(monitor) / ms(tokio))]),
        );
        println!(
            "(the waker blocks its worker for {BLOCK_FOR:?}; the figure is the woken task's wait)"
        );
    }
    if cfg.wants("dump") {
        println!();
        print_row("workload", ["runtime ms"]);
        print_row("dump_10k", [format!("{:.2}", ms(dump_cost(&cfg)))]);
    }
    let args = cfg.args.join(" ");
    let sep = if args.is_empty() { "" } else { " -- " };
    println!("\ncommand: cargo bench --bench diag{sep}{args}");
}
