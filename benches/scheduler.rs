//! Scheduler benchmarks: this crate's multi-thread runtime side by side with tokio and smol
//! (an `async_executor::Executor` driven by the same number of threads).
//!
//! ```text
//! cargo bench --bench scheduler -- [--workers N] [--runs N] [--filter NAME] [--quick]
//! ```
//!
//! Each runtime is built once per workload, runs it once to warm up and then `--runs` times
//! (default 5); the table shows the median. Absolute numbers move between machines and runs:
//! compare the ratios, which are measured side by side in one process.
//!
//! spawn_scaling runs spawn_many_local at 10k, 100k and 1M tasks and prints the cost per task
//! at each size and how it grows per tenfold (`per decade`: 1.00 = flat).

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

#[path = "harness/mod.rs"]
mod harness;
use harness::rt::{
    bench, done, expect_done, join_all, measure, time_in_task, Job, Ours, Rt, Spawner, Tokio,
};
use harness::{ms, print_row, print_sweep, Config, Smol};

const SPAWN_TASKS: usize = 100_000;
/// The plain threads spawn_remote_threads spawns from, SPAWN_TASKS / 4 each.
const REMOTE_THREADS: usize = 4;
/// The sizes of spawn_scaling: how spawning and joining cost grows with the number of tasks.
const SPAWN_SWEEP: [usize; 3] = [10_000, 100_000, 1_000_000];
const YIELD_TASKS: usize = 200;
const YIELDS_PER_TASK: usize = 5_000;
const PAIRS: usize = 1_000;
const ROUND_TRIPS: usize = 100;
const CHAIN_DEPTH: usize = 50_000;
const IDLE_TASKS: usize = 10_000;

// ===== counting allocator =====

/// Net bytes the process holds from the allocator, kept by [`Counting`].
static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

/// The system allocator plus one relaxed add per call, so `idle_task_memory` can see what a
/// parked task holds. Timed workloads pay the same small cost on every runtime.
struct Counting;

#[global_allocator]
static ALLOC: Counting = Counting;

// SAFETY: every method forwards its arguments unchanged to `System` and returns its result;
// the counter is bookkeeping that never affects the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, passed on as is.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            LIVE_BYTES.fetch_add(layout.size() as isize, Relaxed);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            LIVE_BYTES.fetch_add(layout.size() as isize, Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, so from `System`, with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size() as isize, Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from `System` with `layout`; the caller upholds the rest.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            LIVE_BYTES.fetch_add(new_size as isize - layout.size() as isize, Relaxed);
        }
        new
    }
}

// ===== the runtimes under test =====

/// What the scheduler workloads need of a runtime beyond [`Rt`].
trait Sched: Rt {
    fn yield_now() -> impl Future<Output = ()> + Send;
    /// The two halves of one ping-pong pair, talking over two capacity-1 channels: by default
    /// tokio's, which work on any runtime.
    fn ping_pong_pair(rounds: usize) -> (impl Job, impl Job) {
        tokio_pair(rounds)
    }
}

impl Sched for Ours {
    fn yield_now() -> impl Future<Output = ()> + Send {
        runtime::yield_now()
    }
    fn ping_pong_pair(rounds: usize) -> (impl Job, impl Job) {
        use runtime::sync::channel;
        let (ping_tx, ping_rx) = channel::bounded(1);
        let (pong_tx, pong_rx) = channel::bounded(1);
        let pinger = async move {
            for i in 0..rounds {
                ping_tx.send(i).await.expect("the ponger is alive");
                assert_eq!(pong_rx.recv().await.ok(), Some(i));
            }
            done(1);
        };
        let ponger = async move {
            while let Ok(v) = ping_rx.recv().await {
                pong_tx.send(v).await.expect("the pinger is alive");
            }
        };
        (pinger, ponger)
    }
}

impl Sched for Tokio {
    fn yield_now() -> impl Future<Output = ()> + Send {
        tokio::task::yield_now()
    }
}

impl Sched for Smol {
    fn yield_now() -> impl Future<Output = ()> + Send {
        futures_lite::future::yield_now()
    }
    fn ping_pong_pair(rounds: usize) -> (impl Job, impl Job) {
        let (ping_tx, ping_rx) = async_channel::bounded(1);
        let (pong_tx, pong_rx) = async_channel::bounded(1);
        let pinger = async move {
            for i in 0..rounds {
                ping_tx.send(i).await.expect("the ponger is alive");
                assert_eq!(pong_rx.recv().await, Ok(i));
            }
            done(1);
        };
        let ponger = async move {
            while let Ok(v) = ping_rx.recv().await {
                pong_tx.send(v).await.expect("the pinger is alive");
            }
        };
        (pinger, ponger)
    }
}

/// One ping-pong pair over `tokio::sync::mpsc` (tokio's own channel, on tokio).
fn tokio_pair(rounds: usize) -> (impl Job, impl Job) {
    let (ping_tx, mut ping_rx) = tokio::sync::mpsc::channel(1);
    let (pong_tx, mut pong_rx) = tokio::sync::mpsc::channel(1);
    let pinger = async move {
        for i in 0..rounds {
            ping_tx.send(i).await.expect("the ponger is alive");
            assert_eq!(pong_rx.recv().await, Some(i));
        }
        done(1);
    };
    let ponger = async move {
        while let Some(v) = ping_rx.recv().await {
            pong_tx.send(v).await.expect("the pinger is alive");
        }
    };
    (pinger, ponger)
}

// ===== workloads =====

fn spawn_many_local<R: Rt>(rt: &R) -> Duration {
    spawn_from_task(rt, SPAWN_TASKS)
}

/// `tasks` tasks spawned from a task, all joined.
fn spawn_from_task<R: Rt>(rt: &R, tasks: usize) -> Duration {
    let elapsed = time_in_task(rt, |s| async move {
        let handles: Vec<_> = (0..tasks).map(|_| s.spawn(async { done(1) })).collect();
        join_all(handles).await;
    });
    expect_done(tasks, "spawn_from_task");
    elapsed
}

/// spawn_many_local at each of [`SPAWN_SWEEP`]'s sizes on one runtime: ns per task.
fn spawn_sweep<R: Rt>(cfg: &Config) -> Vec<f64> {
    let rt = R::build(cfg.workers);
    SPAWN_SWEEP
        .iter()
        .map(|&n| measure(cfg.runs, || spawn_from_task(&rt, n)).as_nanos() as f64 / n as f64)
        .collect()
}

fn spawn_many_remote<R: Rt>(rt: &R) -> Duration {
    let s = rt.spawner();
    let start = Instant::now();
    let handles: Vec<_> = (0..SPAWN_TASKS)
        .map(|_| s.spawn_remote(async { done(1) }))
        .collect();
    rt.block_on(join_all(handles));
    let elapsed = start.elapsed();
    expect_done(SPAWN_TASKS, "spawn_many_remote");
    elapsed
}

/// spawn_many_remote from [`REMOTE_THREADS`] plain threads at once, each spawning its share:
/// the spawners contend on the runtime's injector, as in tokio's remote_spawn bench.
fn spawn_remote_threads<R: Rt>(rt: &R) -> Duration {
    let s = rt.spawner();
    let start = Instant::now();
    let spawners: Vec<_> = (0..REMOTE_THREADS)
        .map(|_| {
            let s = s.clone();
            thread::spawn(move || {
                (0..SPAWN_TASKS / REMOTE_THREADS)
                    .map(|_| s.spawn_remote(async { done(1) }))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let handles = spawners
        .into_iter()
        .flat_map(|t| t.join().expect("a spawning thread panicked"))
        .collect();
    rt.block_on(join_all(handles));
    let elapsed = start.elapsed();
    expect_done(SPAWN_TASKS, "spawn_remote_threads");
    elapsed
}

fn yield_many<R: Sched>(rt: &R) -> Duration {
    let elapsed = time_in_task(rt, |s| async move {
        let task = || async {
            for _ in 0..YIELDS_PER_TASK {
                R::yield_now().await;
            }
            done(1);
        };
        let handles: Vec<_> = (0..YIELD_TASKS).map(|_| s.spawn(task())).collect();
        join_all(handles).await;
    });
    expect_done(YIELD_TASKS, "yield_many");
    elapsed
}

fn ping_pong<R: Sched>(rt: &R) -> Duration {
    let elapsed = time_in_task(rt, |s| async move {
        let mut handles = Vec::with_capacity(2 * PAIRS);
        for _ in 0..PAIRS {
            let (pinger, ponger) = R::ping_pong_pair(ROUND_TRIPS);
            handles.push(s.spawn(ponger));
            handles.push(s.spawn(pinger));
        }
        join_all(handles).await;
    });
    expect_done(PAIRS, "ping_pong");
    elapsed
}

/// One link: counts itself, then spawns the next and returns without waiting for it.
fn chain_link<S: Spawner>(s: S, left: usize, finished: mpsc::Sender<()>) {
    done(1);
    if left == 1 {
        finished
            .send(())
            .expect("the bench thread waits for the chain");
        return;
    }
    let next = s.clone();
    S::detach(s.spawn(async move { chain_link(next, left - 1, finished) }));
}

fn chained_spawn<R: Rt>(rt: &R) -> Duration {
    let s = rt.spawner();
    let (finished, wait) = mpsc::channel();
    let start = Instant::now();
    let first = s.clone();
    R::Spawner::detach(s.spawn_remote(async move { chain_link(first, CHAIN_DEPTH, finished) }));
    wait.recv().expect("the last link signals");
    let elapsed = start.elapsed();
    expect_done(CHAIN_DEPTH, "chained_spawn");
    elapsed
}

/// Heap bytes held per spawned task that waits forever (not timed).
fn idle_task_bytes<R: Rt>(workers: usize) -> f64 {
    let settle = || thread::sleep(Duration::from_millis(100));
    let rt = R::build(workers);
    let s = rt.spawner();
    // Run as many short tasks first, so queue buffers and per-thread state grown by a burst of
    // spawns are in the baseline rather than billed to the idle tasks.
    let warm: Vec<_> = (0..IDLE_TASKS).map(|_| s.spawn_remote(async {})).collect();
    rt.block_on(join_all(warm));
    let mut parked = Vec::with_capacity(IDLE_TASKS);
    settle();
    let before = LIVE_BYTES.load(Relaxed);
    parked.extend((0..IDLE_TASKS).map(|_| s.spawn_remote(std::future::pending())));
    settle();
    let bytes = LIVE_BYTES.load(Relaxed) - before;
    // Dropping the runtime drops the parked tasks (smol's `Task`s cancel them as they drop).
    drop(parked);
    drop(rt);
    bytes as f64 / IDLE_TASKS as f64
}

// ===== harness =====

/// A timed workload, instantiated for each runtime.
struct Workload {
    name: &'static str,
    ours: fn(&Ours) -> Duration,
    tokio: fn(&Tokio) -> Duration,
    smol: fn(&Smol) -> Duration,
}

macro_rules! workload {
    ($f:ident) => {
        Workload {
            name: stringify!($f),
            ours: $f,
            tokio: $f,
            smol: $f,
        }
    };
}

fn main() {
    let cfg = Config::from_args("scheduler");
    let (workers, runs) = (cfg.workers, cfg.runs);
    println!("scheduler: {workers} workers each, median of {runs} runs after one warm-up\n");

    let workloads = [
        workload!(spawn_many_local),
        workload!(spawn_many_remote),
        workload!(spawn_remote_threads),
        workload!(yield_many),
        workload!(ping_pong),
        workload!(chained_spawn),
    ];
    let header = ["runtime ms", "tokio ms", "smol ms", "runtime/tokio"];
    print_row("workload", header.iter().chain(&["runtime/best"]));
    let mut vs_best = Vec::new();
    for w in workloads.iter().filter(|w| cfg.wants(w.name)) {
        let ours = ms(bench(&cfg, w.ours));
        let tokio = ms(bench(&cfg, w.tokio));
        let smol = ms(bench(&cfg, w.smol));
        let ratio = ours / tokio.min(smol);
        let times = [ours, tokio, smol].map(|t| format!("{t:.1}"));
        print_row(
            w.name,
            times
                .into_iter()
                .chain([ours / tokio, ratio].map(|r| format!("{r:.2}"))),
        );
        vs_best.push((w.name, ratio));
    }
    if !vs_best.is_empty() {
        let (meets, misses): (Vec<_>, Vec<_>) = vs_best.iter().partition(|(_, r)| *r <= 1.0);
        let list = |rows: Vec<&(&str, f64)>| {
            let names: Vec<_> = rows.iter().map(|(n, r)| format!("{n} ({r:.2})")).collect();
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            }
        };
        println!("\nruntime/best <= 1.00 (meets): {}", list(meets));
        println!("runtime/best >  1.00 (misses): {}", list(misses));
    }

    if cfg.wants("spawn_scaling") {
        println!(
            "\nspawn_scaling: spawn_many_local at each size (tasks spawned from a task, all \
             joined), ns per task, lower is better"
        );
        let costs = [
            spawn_sweep::<Ours>(&cfg),
            spawn_sweep::<Tokio>(&cfg),
            spawn_sweep::<Smol>(&cfg),
        ];
        print_sweep(
            "spawn_scaling",
            "ns",
            &SPAWN_SWEEP,
            &["runtime", "tokio", "smol"],
            &costs,
        );
    }

    if cfg.wants("idle_task_memory") {
        let ours = idle_task_bytes::<Ours>(workers);
        let tokio = idle_task_bytes::<Tokio>(workers);
        let smol = idle_task_bytes::<Smol>(workers);
        println!();
        print_row(
            "workload",
            [
                "runtime B/task",
                "tokio B/task",
                "smol B/task",
                "runtime/tokio",
            ],
        );
        let cells = [ours, tokio, smol].map(|b| format!("{b:.1}"));
        print_row(
            "idle_task_memory",
            cells.into_iter().chain([format!("{:.2}", ours / tokio)]),
        );
    }

    let args = cfg.args.join(" ");
    let sep = if args.is_empty() { "" } else { " -- " };
    println!("\ncommand: cargo bench --bench scheduler{sep}{args}");
}
