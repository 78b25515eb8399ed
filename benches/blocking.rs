//! Blocking-pool benchmarks: this crate's `spawn_blocking` side by side with tokio's and the
//! `blocking` crate's `unblock` (smol's pool), plus OS threads and a sequential baseline for
//! the CPU-bound workload.
//!
//! ```text
//! cargo bench --bench blocking -- [--runs N] [--filter NAME] [--quick]
//! ```
//!
//! Workloads:
//! - `cpu_bound`: 8 jobs of 50M xorshift steps each; the speed-up over running them one
//!   after another on one thread should equal the core count.
//! - `round_trip`: 100 000 no-op jobs from one task, each awaited before the next is
//!   submitted (submit, wake a pool thread, run, wake the task).
//! - `submit_N`: N plain threads holding a handle each submit 50 000 no-op jobs at once;
//!   throughput until the last one has run.
//!
//! Each pool is built once per workload and runs it once to warm up; then `--runs` rounds
//! (default 5) run every variant once each, interleaved so that a change of load on the
//! machine hits them alike; the tables show the medians. Absolute numbers move between machines and
//! runs: compare the ratios, which are measured side by side in one process.

use std::future::Future;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Barrier, Mutex};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

#[path = "harness/mod.rs"]
mod harness;
use harness::{compare, ms, print_row, Config};

const CPU_JOBS: usize = 8;
const CPU_STEPS: u64 = 50_000_000;
const ROUND_TRIPS: usize = 100_000;
const SUBMITTERS: [usize; 3] = [1, 4, 16];
const JOBS_PER_SUBMITTER: usize = 50_000;

// ===== the pools under test =====

/// A blocking pool under test, shared by reference with the submitting threads.
trait Pool: Sync + Sized + 'static {
    /// Resolves when the job has run.
    type Join: Future + Send + 'static;

    fn build() -> Self;
    /// Submits `f` (from a task or from a plain thread).
    fn submit<F: FnOnce() + Send + 'static>(&self, f: F) -> Self::Join;
    /// Lets the job run with nobody waiting for it.
    fn detach(join: Self::Join) {
        drop(join);
    }
    /// Runs `fut` to completion on the bench thread (the "one task" of `round_trip`).
    fn block_on<F: Future>(&self, fut: F) -> F::Output;
}

type Ours = runtime::Runtime;
type Tokio = tokio::runtime::Runtime;

fn cores() -> usize {
    thread::available_parallelism().map_or(2, |n| n.get())
}

impl Pool for Ours {
    type Join = runtime::task::JoinHandle<()>;

    fn build() -> Self {
        runtime::Builder::new_multi_thread()
            .worker_threads(cores())
            .build()
            .expect("build the runtime")
    }
    fn submit<F: FnOnce() + Send + 'static>(&self, f: F) -> Self::Join {
        self.handle().spawn_blocking(f)
    }
    fn block_on<F: Future>(&self, fut: F) -> F::Output {
        Ours::block_on(self, fut)
    }
}

impl Pool for Tokio {
    type Join = tokio::task::JoinHandle<()>;

    fn build() -> Self {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cores())
            .build()
            .expect("build the tokio runtime")
    }
    fn submit<F: FnOnce() + Send + 'static>(&self, f: F) -> Self::Join {
        self.handle().spawn_blocking(f)
    }
    fn block_on<F: Future>(&self, fut: F) -> F::Output {
        Tokio::block_on(self, fut)
    }
}

/// The `blocking` crate's global pool; its futures are driven by `futures_lite`'s
/// `block_on`.
struct Unblock;

impl Pool for Unblock {
    type Join = blocking::Task<()>;

    fn build() -> Self {
        Unblock
    }
    fn submit<F: FnOnce() + Send + 'static>(&self, f: F) -> Self::Join {
        blocking::unblock(f)
    }
    fn detach(join: Self::Join) {
        // Dropping a `blocking::Task` would cancel it.
        join.detach();
    }
    fn block_on<F: Future>(&self, fut: F) -> F::Output {
        futures_lite::future::block_on(fut)
    }
}

// ===== workloads =====

/// Jobs finished in the current iteration, so a pool that loses jobs can't post a time.
static DONE: AtomicUsize = AtomicUsize::new(0);
/// The count at which the last job unparks [`WAITER`].
static TARGET: AtomicUsize = AtomicUsize::new(usize::MAX);
static WAITER: Mutex<Option<Thread>> = Mutex::new(None);

fn done() {
    if DONE.fetch_add(1, SeqCst) + 1 == TARGET.load(SeqCst) {
        if let Some(t) = WAITER.lock().expect("waiter lock").as_ref() {
            t.unpark();
        }
    }
}

/// Arms [`done`] to unpark this thread once `target` jobs have finished.
fn expect_jobs(target: usize) {
    DONE.store(0, SeqCst);
    *WAITER.lock().expect("waiter lock") = Some(thread::current());
    TARGET.store(target, SeqCst);
}

fn wait_jobs(workload: &str) {
    let target = TARGET.load(SeqCst);
    let deadline = Instant::now() + Duration::from_secs(120);
    while DONE.load(SeqCst) < target {
        assert!(Instant::now() < deadline, "{workload}: jobs lost");
        thread::park_timeout(Duration::from_millis(100));
    }
    TARGET.store(usize::MAX, SeqCst);
}

/// `steps` rounds of xorshift64: a pure CPU loop the optimiser can't shorten.
fn xorshift(seed: u64, steps: u64) -> u64 {
    let mut x = seed | 1;
    for _ in 0..steps {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    x
}

fn cpu_job(i: usize) -> impl FnOnce() + Send + 'static {
    move || {
        black_box(xorshift(black_box(i as u64), black_box(CPU_STEPS)));
        done();
    }
}

fn cpu_bound<P: Pool>(pool: &P) -> Duration {
    expect_jobs(CPU_JOBS);
    let start = Instant::now();
    let joins: Vec<_> = (0..CPU_JOBS).map(|i| pool.submit(cpu_job(i))).collect();
    pool.block_on(async {
        for join in joins {
            join.await;
        }
    });
    let elapsed = start.elapsed();
    wait_jobs("cpu_bound");
    elapsed
}

fn cpu_bound_os_threads() -> Duration {
    expect_jobs(CPU_JOBS);
    let start = Instant::now();
    let threads: Vec<_> = (0..CPU_JOBS).map(|i| thread::spawn(cpu_job(i))).collect();
    for t in threads {
        t.join().expect("a CPU thread panicked");
    }
    let elapsed = start.elapsed();
    wait_jobs("cpu_bound");
    elapsed
}

fn cpu_bound_sequential() -> Duration {
    expect_jobs(CPU_JOBS);
    let start = Instant::now();
    for i in 0..CPU_JOBS {
        cpu_job(i)();
    }
    let elapsed = start.elapsed();
    wait_jobs("cpu_bound");
    elapsed
}

fn round_trip<P: Pool>(pool: &P) -> Duration {
    expect_jobs(ROUND_TRIPS);
    let start = Instant::now();
    pool.block_on(async {
        for _ in 0..ROUND_TRIPS {
            pool.submit(done).await;
        }
    });
    let elapsed = start.elapsed();
    wait_jobs("round_trip");
    elapsed
}

fn submit_contention<P: Pool>(pool: &P, submitters: usize) -> Duration {
    let total = submitters * JOBS_PER_SUBMITTER;
    expect_jobs(total);
    let go = Barrier::new(submitters + 1);
    thread::scope(|s| {
        for _ in 0..submitters {
            s.spawn(|| {
                go.wait();
                for _ in 0..JOBS_PER_SUBMITTER {
                    P::detach(pool.submit(done));
                }
            });
        }
        go.wait();
        let start = Instant::now();
        wait_jobs("submit");
        start.elapsed()
    })
}

// ===== harness =====

/// The three pools, built once for a workload and dropped afterwards, outside the timings.
fn pools<R>(f: impl FnOnce(&Ours, &Tokio, &Unblock) -> R) -> R {
    let (ours, tokio) = (Ours::build(), Tokio::build());
    f(&ours, &tokio, &Unblock)
}

fn main() {
    let cfg = Config::from_args("blocking");
    let cores = cores();
    println!(
        "blocking: {cores} cores, median of {} runs after one warm-up\n",
        cfg.runs
    );
    let mut verdicts: Vec<(String, bool)> = Vec::new();

    if cfg.wants("cpu_bound") {
        let times = pools(|ours, tokio, unblock| {
            compare(
                cfg.runs,
                &mut [
                    &mut || cpu_bound(ours),
                    &mut || cpu_bound(tokio),
                    &mut || cpu_bound(unblock),
                    &mut cpu_bound_os_threads,
                    &mut cpu_bound_sequential,
                ],
            )
        });
        let names = ["runtime", "tokio", "blocking", "os_threads", "sequential"];
        let rows: Vec<_> = names.into_iter().zip(times).collect();
        let sequential = ms(rows[4].1);
        print_row("cpu_bound", ["ms", "speed-up"]);
        for (name, t) in &rows {
            let t = ms(*t);
            print_row(name, [format!("{t:.1}"), format!("{:.2}", sequential / t)]);
        }
        let speed_up = sequential / ms(rows[0].1);
        let of_cores = speed_up / cores.min(CPU_JOBS) as f64;
        println!("runtime speed-up / cores = {of_cores:.3}\n");
        verdicts.push((
            format!("cpu_bound speed-up/cores ({of_cores:.3})"),
            of_cores >= 0.95,
        ));
    }

    if cfg.wants("round_trip") {
        let times = pools(|ours, tokio, unblock| {
            compare(
                cfg.runs,
                &mut [
                    &mut || round_trip(ours),
                    &mut || round_trip(tokio),
                    &mut || round_trip(unblock),
                ],
            )
        });
        let times: [f64; 3] = std::array::from_fn(|i| ms(times[i]));
        let ratio = times[0] / times[1].min(times[2]);
        print_row(
            "workload",
            [
                "runtime ms",
                "tokio ms",
                "blocking ms",
                "runtime/tokio",
                "runtime/best",
            ],
        );
        print_row(
            "round_trip",
            times
                .iter()
                .map(|t| format!("{t:.1}"))
                .chain([times[0] / times[1], ratio].map(|r| format!("{r:.2}"))),
        );
        let per_job = times.map(|t| format!("{:.2}", t * 1e3 / ROUND_TRIPS as f64));
        print_row("  µs per job", per_job);
        println!();
        verdicts.push((format!("round_trip time/best ({ratio:.2})"), ratio <= 1.0));
    }

    let contention: Vec<_> = SUBMITTERS
        .iter()
        .map(|&n| (n, format!("submit_{n}")))
        .filter(|(_, name)| cfg.wants(name))
        .collect();
    if !contention.is_empty() {
        print_row(
            "workload",
            [
                "runtime kjob/s",
                "tokio kjob/s",
                "blocking kjob/s",
                "runtime/tokio",
                "runtime/best",
            ],
        );
        for (n, name) in contention {
            let jobs = (n * JOBS_PER_SUBMITTER) as f64;
            let rate = |d: Duration| jobs / d.as_secs_f64() / 1e3;
            let times = pools(|ours, tokio, unblock| {
                compare(
                    cfg.runs,
                    &mut [
                        &mut || submit_contention(ours, n),
                        &mut || submit_contention(tokio, n),
                        &mut || submit_contention(unblock, n),
                    ],
                )
            });
            let rates: [f64; 3] = std::array::from_fn(|i| rate(times[i]));
            let ratio = rates[0] / rates[1].max(rates[2]);
            print_row(
                &name,
                rates
                    .iter()
                    .map(|r| format!("{r:.0}"))
                    .chain([rates[0] / rates[1], ratio].map(|r| format!("{r:.2}"))),
            );
            verdicts.push((format!("{name} throughput/best ({ratio:.2})"), ratio >= 1.0));
        }
        println!();
    }

    let (meets, misses): (Vec<_>, Vec<_>) = verdicts.into_iter().partition(|(_, ok)| *ok);
    let list = |rows: Vec<(String, bool)>| {
        let names: Vec<_> = rows.into_iter().map(|(n, _)| n).collect();
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        }
    };
    println!("meets the bar: {}", list(meets));
    println!("misses the bar: {}", list(misses));

    let args = cfg.args.join(" ");
    let sep = if args.is_empty() { "" } else { " -- " };
    println!("\ncommand: cargo bench --bench blocking{sep}{args}");
}
