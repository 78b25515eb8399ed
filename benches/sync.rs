//! Synchronisation benchmarks: this crate's primitives on its own runtime, side by side with
//! `tokio::sync` on tokio and `async-lock` (`event-listener` for `Notify`) on smol's executor
//! (each the natural pairing), and with `std::sync` on OS threads where it applies.
//!
//! ```text
//! cargo bench --bench sync -- [--workers N] [--runs N] [--filter NAME] [--quick]
//! ```
//!
//! Timed workloads (ms) build each runtime once, run the workload once to warm up and then
//! `--runs` times (default 5), and show the median. Uncontended costs (ns/op) run a loop of
//! lock/unlock or acquire/release on one thread under `futures::executor::block_on`.
//! Absolute numbers move between machines and runs: compare the ratios, measured side by side
//! in one process.
//!
//! Adding a workload: write one function per implementation family (generic over the
//! runtime where it can be) and add one row to `timed_workloads()` or `uncontended_ops()`.
//!
//! The last table, `mutex_contended_detect`, runs the contended mutex on this runtime
//! without and then with `Builder::detect_deadlocks(true)`. It runs after everything else:
//! deadlock tracking, once on, stays on for the rest of the process.

use std::future::Future;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use async_executor::Executor;

#[path = "harness/mod.rs"]
mod harness;
use harness::{median_f64 as median, ms, Config, Smol};

#[path = "sync_channel.rs"]
mod channel;

const MUTEX_TASKS: usize = 64;
const MUTEX_INCREMENTS: usize = 10_000;
const SEM_TASKS: usize = 1_000;
const SEM_ACQUIRES: usize = 1_000;
const SEM_PERMITS: usize = 8;
const UNCONTENDED_OPS: usize = 2_000_000;
const NOTIFY_PAIRS: usize = 8;
const NOTIFY_ROUNDS: usize = 5_000;
const ONCE_ROUNDS: usize = 2_000;
const ONCE_TASKS: usize = 8;

// ===== the runtimes under test =====

/// A multi-thread runtime under test, owned by the bench thread.
trait Rt: Sized + 'static {
    fn build(workers: usize) -> Self;
    /// Runs `fut` as a task on the runtime and waits for it from the bench thread.
    fn run<F: Future<Output = ()> + Send + 'static>(&self, fut: F);
    /// Spawns `fut` from inside a task; the returned future resolves when it finishes.
    fn spawn<F: Future<Output = ()> + Send + 'static>(fut: F) -> impl Future<Output = ()> + Send;
    fn yield_now() -> impl Future<Output = ()> + Send;
}

type Ours = runtime::Runtime;
type Tokio = tokio::runtime::Runtime;

impl Rt for Ours {
    fn build(workers: usize) -> Self {
        runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .build()
            .expect("build the runtime")
    }
    fn run<F: Future<Output = ()> + Send + 'static>(&self, fut: F) {
        let handle = self.spawn(fut);
        self.block_on(handle).expect("the workload task panicked");
    }
    fn spawn<F: Future<Output = ()> + Send + 'static>(fut: F) -> impl Future<Output = ()> + Send {
        let handle = runtime::spawn(fut);
        async move { handle.await.expect("a task panicked") }
    }
    fn yield_now() -> impl Future<Output = ()> + Send {
        runtime::yield_now()
    }
}

impl Rt for Tokio {
    fn build(workers: usize) -> Self {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .build()
            .expect("build the tokio runtime")
    }
    fn run<F: Future<Output = ()> + Send + 'static>(&self, fut: F) {
        let handle = self.spawn(fut);
        self.block_on(handle).expect("the workload task panicked");
    }
    fn spawn<F: Future<Output = ()> + Send + 'static>(fut: F) -> impl Future<Output = ()> + Send {
        let handle = tokio::spawn(fut);
        async move { handle.await.expect("a task panicked") }
    }
    fn yield_now() -> impl Future<Output = ()> + Send {
        tokio::task::yield_now()
    }
}

/// Our runtime with deadlock detection on.
struct Detecting(Ours);

impl Rt for Detecting {
    fn build(workers: usize) -> Self {
        let rt = runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .detect_deadlocks(true)
            .on_deadlock(|report| panic!("no deadlock in a benchmark: {report}"))
            .build()
            .expect("build the runtime");
        Detecting(rt)
    }
    fn run<F: Future<Output = ()> + Send + 'static>(&self, fut: F) {
        self.0.run(fut)
    }
    fn spawn<F: Future<Output = ()> + Send + 'static>(fut: F) -> impl Future<Output = ()> + Send {
        <Ours as Rt>::spawn(fut)
    }
    fn yield_now() -> impl Future<Output = ()> + Send {
        <Ours as Rt>::yield_now()
    }
}

thread_local! {
    static SMOL_EX: std::cell::RefCell<Option<Arc<Executor<'static>>>> =
        const { std::cell::RefCell::new(None) };
}

impl Rt for Smol {
    fn build(workers: usize) -> Self {
        Smol::start(workers, |ex, stopped| {
            SMOL_EX.with(|cell| *cell.borrow_mut() = Some(ex.clone()));
            let _closed = futures_lite::future::block_on(ex.run(stopped.recv()));
        })
    }
    fn run<F: Future<Output = ()> + Send + 'static>(&self, fut: F) {
        futures_lite::future::block_on(self.ex.spawn(fut));
    }
    fn spawn<F: Future<Output = ()> + Send + 'static>(fut: F) -> impl Future<Output = ()> + Send {
        let ex = SMOL_EX.with(|cell| cell.borrow().clone().expect("spawn from a smol worker"));
        ex.spawn(fut)
    }
    fn yield_now() -> impl Future<Output = ()> + Send {
        futures_lite::future::yield_now()
    }
}

// ===== the primitives under test =====

/// An async mutex around a counter.
trait Counter: Send + Sync + 'static {
    fn new() -> Self;
    fn incr(&self) -> impl Future<Output = ()> + Send;
    fn get(&self) -> usize;
}

impl Counter for runtime::sync::Mutex<usize> {
    fn new() -> Self {
        runtime::sync::Mutex::new(0)
    }
    async fn incr(&self) {
        *self.lock().await += 1;
    }
    fn get(&self) -> usize {
        *self.try_lock().expect("unlocked at the end")
    }
}

impl Counter for tokio::sync::Mutex<usize> {
    fn new() -> Self {
        tokio::sync::Mutex::new(0)
    }
    async fn incr(&self) {
        *self.lock().await += 1;
    }
    fn get(&self) -> usize {
        *self.try_lock().expect("unlocked at the end")
    }
}

impl Counter for async_lock::Mutex<usize> {
    fn new() -> Self {
        async_lock::Mutex::new(0)
    }
    async fn incr(&self) {
        *self.lock().await += 1;
    }
    fn get(&self) -> usize {
        *self.try_lock().expect("unlocked at the end")
    }
}

/// An async counting semaphore.
trait Sem: Send + Sync + 'static {
    fn new(permits: usize) -> Self;
    /// Takes one permit, runs `held` while holding it, gives it back.
    fn with_permit<F: Future<Output = ()> + Send>(
        &self,
        held: F,
    ) -> impl Future<Output = ()> + Send;
    fn available(&self) -> usize;
}

impl Sem for runtime::sync::Semaphore {
    fn new(permits: usize) -> Self {
        runtime::sync::Semaphore::new(permits)
    }
    async fn with_permit<F: Future<Output = ()> + Send>(&self, held: F) {
        let _permit = self.acquire().await.expect("never closed");
        held.await;
    }
    fn available(&self) -> usize {
        self.available_permits()
    }
}

impl Sem for tokio::sync::Semaphore {
    fn new(permits: usize) -> Self {
        tokio::sync::Semaphore::new(permits)
    }
    async fn with_permit<F: Future<Output = ()> + Send>(&self, held: F) {
        let _permit = self.acquire().await.expect("never closed");
        held.await;
    }
    fn available(&self) -> usize {
        self.available_permits()
    }
}

impl Sem for async_lock::Semaphore {
    fn new(permits: usize) -> Self {
        async_lock::Semaphore::new(permits)
    }
    async fn with_permit<F: Future<Output = ()> + Send>(&self, held: F) {
        let _permit = self.acquire().await;
        held.await;
    }
    fn available(&self) -> usize {
        // async-lock has no count: every permit is back iff all of them can be taken.
        (0..SEM_PERMITS)
            .map_while(|_| self.try_acquire().map(std::mem::forget))
            .count()
    }
}

/// A wake-up signal with one stored permit: `notify` wakes the waiter or leaves the permit.
trait Signal: Send + Sync + 'static {
    fn new() -> Self;
    fn notify(&self);
    fn wait(&self) -> impl Future<Output = ()> + Send;
}

impl Signal for runtime::sync::Notify {
    fn new() -> Self {
        runtime::sync::Notify::new()
    }
    fn notify(&self) {
        self.notify_one();
    }
    async fn wait(&self) {
        self.notified().await;
    }
}

impl Signal for tokio::sync::Notify {
    fn new() -> Self {
        tokio::sync::Notify::new()
    }
    fn notify(&self) {
        self.notify_one();
    }
    async fn wait(&self) {
        self.notified().await;
    }
}

/// `event-listener` has no permit: the usual flag, checked before and after listening.
struct Listener {
    flag: std::sync::atomic::AtomicBool,
    event: event_listener::Event,
}

impl Signal for Listener {
    fn new() -> Self {
        Listener {
            flag: std::sync::atomic::AtomicBool::new(false),
            event: event_listener::Event::new(),
        }
    }
    fn notify(&self) {
        self.flag.store(true, std::sync::atomic::Ordering::SeqCst);
        self.event.notify(1);
    }
    async fn wait(&self) {
        use std::sync::atomic::Ordering::SeqCst;
        loop {
            if self.flag.swap(false, SeqCst) {
                return;
            }
            let listener = self.event.listen();
            if self.flag.swap(false, SeqCst) {
                return;
            }
            listener.await;
        }
    }
}

/// A cell initialised once by whichever racer gets there first.
trait Once: Send + Sync + 'static {
    fn new() -> Self;
    /// The value, initialising it with `v` (after one yield inside the initialiser, so the
    /// other racers queue) if the cell is empty.
    fn get_or_init(&self, v: usize) -> impl Future<Output = usize> + Send;
}

impl Once for runtime::sync::OnceCell<usize> {
    fn new() -> Self {
        runtime::sync::OnceCell::new()
    }
    async fn get_or_init(&self, v: usize) -> usize {
        *self
            .get_or_init(|| async move {
                futures_lite::future::yield_now().await;
                v
            })
            .await
    }
}

impl Once for tokio::sync::OnceCell<usize> {
    fn new() -> Self {
        tokio::sync::OnceCell::new()
    }
    async fn get_or_init(&self, v: usize) -> usize {
        *self
            .get_or_init(|| async move {
                futures_lite::future::yield_now().await;
                v
            })
            .await
    }
}

impl Once for async_lock::OnceCell<usize> {
    fn new() -> Self {
        async_lock::OnceCell::new()
    }
    async fn get_or_init(&self, v: usize) -> usize {
        *self
            .get_or_init(|| async move {
                futures_lite::future::yield_now().await;
                v
            })
            .await
    }
}

// ===== timed workloads =====

/// 64 tasks, each adding 1 to a shared counter 10 000 times under the mutex.
fn mutex_contended<R: Rt, M: Counter>(rt: &R) -> Duration {
    let counter = Arc::new(M::new());
    let c = counter.clone();
    let start = Instant::now();
    rt.run(async move {
        let tasks: Vec<_> = (0..MUTEX_TASKS)
            .map(|_| {
                let c = c.clone();
                R::spawn(async move {
                    for _ in 0..MUTEX_INCREMENTS {
                        c.incr().await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await;
        }
    });
    let elapsed = start.elapsed();
    assert_eq!(
        counter.get(),
        MUTEX_TASKS * MUTEX_INCREMENTS,
        "lost increments"
    );
    elapsed
}

/// `std::sync::Mutex` with one OS thread per task.
fn mutex_contended_threads() -> Duration {
    let counter = Arc::new(std::sync::Mutex::new(0usize));
    let start = Instant::now();
    let threads: Vec<_> = (0..MUTEX_TASKS)
        .map(|_| {
            let c = counter.clone();
            thread::spawn(move || {
                for _ in 0..MUTEX_INCREMENTS {
                    *c.lock().unwrap() += 1;
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("a counting thread panicked");
    }
    let elapsed = start.elapsed();
    assert_eq!(*counter.lock().unwrap(), MUTEX_TASKS * MUTEX_INCREMENTS);
    elapsed
}

/// 1 000 tasks, each taking one of 8 permits 1 000 times and yielding once while holding it.
fn semaphore<R: Rt, S: Sem>(rt: &R) -> Duration {
    let sem = Arc::new(S::new(SEM_PERMITS));
    let s = sem.clone();
    let start = Instant::now();
    rt.run(async move {
        let tasks: Vec<_> = (0..SEM_TASKS)
            .map(|_| {
                let s = s.clone();
                R::spawn(async move {
                    for _ in 0..SEM_ACQUIRES {
                        s.with_permit(R::yield_now()).await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await;
        }
    });
    let elapsed = start.elapsed();
    assert_eq!(sem.available(), SEM_PERMITS, "lost permits");
    elapsed
}

/// 8 pairs of tasks, each pair passing a turn back and forth 5 000 times through two
/// signals (strict turns, so no notification coalesces): the wake-up latency.
fn notify_pingpong<R: Rt, N: Signal>(rt: &R) -> Duration {
    let turns = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let t = turns.clone();
    let start = Instant::now();
    rt.run(async move {
        let (mut echoes, mut pingers) = (Vec::new(), Vec::new());
        for _ in 0..NOTIFY_PAIRS {
            let (ping, pong) = (Arc::new(N::new()), Arc::new(N::new()));
            let (echo_ping, echo_pong, t) = (ping.clone(), pong.clone(), t.clone());
            echoes.push(R::spawn(async move {
                for _ in 0..NOTIFY_ROUNDS {
                    echo_ping.wait().await;
                    t.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    echo_pong.notify();
                }
            }));
            pingers.push(R::spawn(async move {
                for _ in 0..NOTIFY_ROUNDS {
                    ping.notify();
                    pong.wait().await;
                }
            }));
        }
        for task in pingers {
            task.await;
        }
        for task in echoes {
            task.await;
        }
    });
    let elapsed = start.elapsed();
    assert_eq!(
        turns.load(std::sync::atomic::Ordering::Relaxed),
        NOTIFY_PAIRS * NOTIFY_ROUNDS,
        "lost turns"
    );
    elapsed
}

/// 2 000 fresh cells, each raced by 8 tasks; exactly one initialiser wins each.
fn once_cell_race<R: Rt, C: Once>(rt: &R) -> Duration {
    let start = Instant::now();
    rt.run(async move {
        for _ in 0..ONCE_ROUNDS {
            let cell = Arc::new(C::new());
            let racers: Vec<_> = (0..ONCE_TASKS)
                .map(|i| {
                    let cell = cell.clone();
                    R::spawn(async move {
                        let v = cell.get_or_init(i).await;
                        assert!(v < ONCE_TASKS);
                    })
                })
                .collect();
            for racer in racers {
                racer.await;
            }
            let winner = cell.get_or_init(usize::MAX).await;
            assert!(winner < ONCE_TASKS, "the cell was initialised twice");
        }
    });
    start.elapsed()
}

// ===== uncontended ns/op =====

fn ns_per_op(ops: usize, f: impl FnOnce()) -> f64 {
    let start = Instant::now();
    f();
    start.elapsed().as_secs_f64() * 1e9 / ops as f64
}

fn lock_uncontended<M: Counter>() -> f64 {
    let m = M::new();
    let ns = ns_per_op(UNCONTENDED_OPS, || {
        futures::executor::block_on(async {
            for _ in 0..UNCONTENDED_OPS {
                m.incr().await;
            }
        })
    });
    assert_eq!(m.get(), UNCONTENDED_OPS);
    ns
}

fn lock_uncontended_std() -> f64 {
    let m = std::sync::Mutex::new(0usize);
    let ns = ns_per_op(UNCONTENDED_OPS, || {
        for _ in 0..UNCONTENDED_OPS {
            *std::hint::black_box(&m).lock().unwrap() += 1;
        }
    });
    assert_eq!(*m.lock().unwrap(), UNCONTENDED_OPS);
    ns
}

fn acquire_uncontended<S: Sem>() -> f64 {
    let s = S::new(SEM_PERMITS);
    let ns = ns_per_op(UNCONTENDED_OPS, || {
        futures::executor::block_on(async {
            for _ in 0..UNCONTENDED_OPS {
                s.with_permit(async {}).await;
            }
        })
    });
    assert_eq!(s.available(), SEM_PERMITS);
    ns
}

/// A `notify` that leaves a permit, then the wait that takes it.
fn notify_uncontended<N: Signal>() -> f64 {
    let n = N::new();
    ns_per_op(UNCONTENDED_OPS, || {
        futures::executor::block_on(async {
            for _ in 0..UNCONTENDED_OPS {
                n.notify();
                n.wait().await;
            }
        })
    })
}

// ===== harness =====

/// Runs `iteration` once to warm up and `runs` more times; returns the median.
fn measure(runs: usize, mut iteration: impl FnMut() -> f64) -> f64 {
    iteration();
    median((0..runs).map(|_| iteration()).collect())
}

/// Builds `R` once for all runs of `work` and drops it afterwards; median in ms.
fn bench<R: Rt>(cfg: &Config, work: fn(&R) -> Duration) -> f64 {
    let rt = R::build(cfg.workers);
    measure(cfg.runs, || ms(work(&rt)))
}

/// One row of the timed table: the workload on each runtime with its natural primitives,
/// and on OS threads with `std::sync` where that applies.
struct Timed {
    name: &'static str,
    ours: fn(&Config) -> f64,
    tokio: fn(&Config) -> f64,
    smol: fn(&Config) -> f64,
    threads: Option<fn(&Config) -> f64>,
}

fn timed_workloads() -> Vec<Timed> {
    vec![
        Timed {
            name: "mpsc_bounded",
            ours: |c| bench::<Ours>(c, channel::mpsc_bounded::<Ours, channel::Ours>),
            tokio: |c| bench::<Tokio>(c, channel::mpsc_bounded::<Tokio, channel::TokioMpsc>),
            smol: |c| bench::<Smol>(c, channel::mpsc_bounded::<Smol, channel::AsyncChannel>),
            threads: Some(|c| measure(c.runs, || ms(channel::mpsc_bounded_threads()))),
        },
        Timed {
            name: "mutex_contended",
            ours: |c| bench::<Ours>(c, mutex_contended::<Ours, runtime::sync::Mutex<usize>>),
            tokio: |c| bench::<Tokio>(c, mutex_contended::<Tokio, tokio::sync::Mutex<usize>>),
            smol: |c| bench::<Smol>(c, mutex_contended::<Smol, async_lock::Mutex<usize>>),
            threads: Some(|c| measure(c.runs, || ms(mutex_contended_threads()))),
        },
        Timed {
            name: "semaphore",
            ours: |c| bench::<Ours>(c, semaphore::<Ours, runtime::sync::Semaphore>),
            tokio: |c| bench::<Tokio>(c, semaphore::<Tokio, tokio::sync::Semaphore>),
            smol: |c| bench::<Smol>(c, semaphore::<Smol, async_lock::Semaphore>),
            threads: None,
        },
        Timed {
            name: "notify_pingpong",
            ours: |c| bench::<Ours>(c, notify_pingpong::<Ours, runtime::sync::Notify>),
            tokio: |c| bench::<Tokio>(c, notify_pingpong::<Tokio, tokio::sync::Notify>),
            smol: |c| bench::<Smol>(c, notify_pingpong::<Smol, Listener>),
            threads: None,
        },
        Timed {
            name: "once_cell_race",
            ours: |c| bench::<Ours>(c, once_cell_race::<Ours, runtime::sync::OnceCell<usize>>),
            tokio: |c| bench::<Tokio>(c, once_cell_race::<Tokio, tokio::sync::OnceCell<usize>>),
            smol: |c| bench::<Smol>(c, once_cell_race::<Smol, async_lock::OnceCell<usize>>),
            threads: None,
        },
    ]
}

/// One row of the ns/op table.
struct Uncontended {
    name: &'static str,
    ours: fn() -> f64,
    tokio: fn() -> f64,
    async_lock: fn() -> f64,
    std: Option<fn() -> f64>,
}

fn uncontended_ops() -> Vec<Uncontended> {
    vec![
        Uncontended {
            name: "channel_uncontended",
            ours: channel::channel_uncontended::<channel::Ours>,
            tokio: channel::channel_uncontended::<channel::TokioMpsc>,
            async_lock: channel::channel_uncontended::<channel::AsyncChannel>,
            std: Some(channel::channel_uncontended_std),
        },
        Uncontended {
            name: "lock_uncontended",
            ours: lock_uncontended::<runtime::sync::Mutex<usize>>,
            tokio: lock_uncontended::<tokio::sync::Mutex<usize>>,
            async_lock: lock_uncontended::<async_lock::Mutex<usize>>,
            std: Some(lock_uncontended_std),
        },
        Uncontended {
            name: "acquire_uncontended",
            ours: acquire_uncontended::<runtime::sync::Semaphore>,
            tokio: acquire_uncontended::<tokio::sync::Semaphore>,
            async_lock: acquire_uncontended::<async_lock::Semaphore>,
            std: None,
        },
        Uncontended {
            name: "notify_uncontended",
            ours: notify_uncontended::<runtime::sync::Notify>,
            tokio: notify_uncontended::<tokio::sync::Notify>,
            async_lock: notify_uncontended::<Listener>,
            std: None,
        },
    ]
}

/// One table row: the name left-aligned, then right-aligned cells.
fn print_row<C: std::fmt::Display>(name: &str, cells: impl IntoIterator<Item = C>) {
    let cells: Vec<_> = cells.into_iter().map(|c| format!("{c:>14}")).collect();
    println!("{name:<20} | {}", cells.join(" | "));
}

/// Prints a row of measurements and its ratios; returns ours / best, where "best" is the
/// faster of the two async peers (tokio and smol / async-*), the bar this crate aims at. The
/// OS-thread figure is shown for reference, with its own ratio.
fn print_measured(
    name: &str,
    ours: f64,
    tokio: f64,
    smol: f64,
    threads: Option<f64>,
    digits: usize,
) -> f64 {
    let best = tokio.min(smol);
    let mut cells = [ours, tokio, smol]
        .map(|t| format!("{t:.digits$}"))
        .to_vec();
    cells.push(threads.map_or("-".to_owned(), |t| format!("{t:.digits$}")));
    cells.push(format!("{:.2}", ours / tokio));
    cells.push(format!("{:.2}", ours / best));
    cells.push(threads.map_or("-".to_owned(), |t| format!("{:.2}", ours / t)));
    print_row(name, cells);
    ours / best
}

fn summary(vs_best: &[(&str, f64)]) {
    if vs_best.is_empty() {
        return;
    }
    let list = |meets: bool| {
        let names: Vec<_> = vs_best
            .iter()
            .filter(|(_, r)| (*r <= 1.0) == meets)
            .map(|(n, r)| format!("{n} ({r:.2})"))
            .collect();
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        }
    };
    println!("\nruntime/best <= 1.00 (meets): {}", list(true));
    println!("runtime/best >  1.00 (misses): {}", list(false));
}

fn main() {
    let cfg = Config::from_args("sync");
    println!(
        "sync: {} workers each, median of {} runs after one warm-up\n",
        cfg.workers, cfg.runs
    );
    let mut vs_best = Vec::new();

    let timed: Vec<_> = timed_workloads()
        .into_iter()
        .filter(|w| cfg.wants(w.name))
        .collect();
    if !timed.is_empty() {
        print_row(
            "workload",
            [
                "runtime ms",
                "tokio ms",
                "smol ms",
                "threads ms",
                "runtime/tokio",
                "runtime/best",
                "rt/threads",
            ],
        );
        for w in timed {
            let ours = (w.ours)(&cfg);
            let tokio = (w.tokio)(&cfg);
            let smol = (w.smol)(&cfg);
            let threads = w.threads.map(|f| f(&cfg));
            let ratio = print_measured(w.name, ours, tokio, smol, threads, 1);
            vs_best.push((w.name, ratio));
        }
        println!(
            "(smol runs async-lock and async-channel, event-listener for notify; threads: \
             std::sync with one OS thread per task, std::sync::mpsc::sync_channel for channels)\n"
        );
    }

    let ops: Vec<_> = uncontended_ops()
        .into_iter()
        .filter(|w| cfg.wants(w.name))
        .collect();
    if !ops.is_empty() {
        print_row(
            "uncontended",
            [
                "runtime ns/op",
                "tokio ns/op",
                "alock ns/op",
                "std ns/op",
                "runtime/tokio",
                "runtime/best",
                "rt/std",
            ],
        );
        for w in ops {
            let ours = measure(cfg.runs, w.ours);
            let tokio = measure(cfg.runs, w.tokio);
            let async_lock = measure(cfg.runs, w.async_lock);
            let std = w.std.map(|f| measure(cfg.runs, f));
            let ratio = print_measured(w.name, ours, tokio, async_lock, std, 1);
            vs_best.push((w.name, ratio));
        }
        println!(
            "(one thread, futures::executor::block_on; alock: async-lock, async-channel \
             for channels, event-listener for notify; tokio: tokio::sync::mpsc for channels)"
        );
    }

    summary(&vs_best);

    // Last: turning deadlock detection on is for the rest of the process.
    if cfg.wants("mutex_contended_detect") {
        let off = bench::<Ours>(&cfg, mutex_contended::<Ours, runtime::sync::Mutex<usize>>);
        let on = bench::<Detecting>(
            &cfg,
            mutex_contended::<Detecting, runtime::sync::Mutex<usize>>,
        );
        println!();
        print_row("deadlock detection", ["off ms", "on ms", "on/off"]);
        print_row(
            "mutex_contended",
            [
                format!("{off:.1}"),
                format!("{on:.1}"),
                format!("{:.2}", on / off),
            ],
        );
    }
    let args = cfg.args.join(" ");
    let sep = if args.is_empty() { "" } else { " -- " };
    println!("\ncommand: cargo bench --bench sync{sep}{args}");
}
