//! Seed 2: CPU-bound vs IO-bound work, and why there is no GIL to work around.
//!
//! The Python originals time `cpu_count()` workers of `res *= i` over `range(10**7)` as
//! threads and as processes, then `time.sleep(2)` jobs the same two ways:
//!
//! ```python
//! def work():                      # CPU-bound: threads are no faster than one thread,
//!     res = 1                      # the GIL lets one of them run at a time
//!     for i in range(10 ** 7): res *= i
//! def work_io(): time.sleep(2)     # IO-bound: threads overlap, the GIL is released
//! for i in range(cpu_count()): Thread(target=work).start()   # ... join, print the time
//! ```
//!
//! Rust has no GIL: CPU jobs on OS threads or on the runtime's blocking pool
//! (`spawn_blocking`) run in parallel on all cores. The trap moves elsewhere: a CPU job
//! *inside an async task* holds its worker thread for the whole job, so the other tasks on
//! that thread (here a heartbeat timer: any IO) stall, like Python threads behind the GIL.
//! Sleeping jobs are the opposite case: a thousand green tasks sleep at once on one thread.
//!
//! This is the quick version; `versus_threads` is the full-size experiment with memory.
//!
//! ```text
//! cargo run --release --example seed_gil                # 5 000 000 multiplications per job
//! cargo run --release --example seed_gil -- 100000000   # bigger CPU jobs
//! ```

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use runtime::time::{interval, sleep, MissedTickBehavior};

/// The seed's `work()`: a chain of multiplications the optimiser can't skip. Each job starts
/// from its own `seed`, so the results differ and their sum checks that every job ran.
fn work(seed: u64, n: u64) -> u64 {
    let mut res: u64 = seed;
    for i in 1..=n {
        res = black_box(res.wrapping_mul(i | 1));
    }
    res
}

/// CPU work for a fixed wall time, for the starvation test.
fn spin(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        black_box(work(1, 1000));
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

// One thread runs every task, as gevent does (and as each worker of a multi-thread
// runtime does for its own tasks); the blocking pool has its own threads.
#[runtime::main(flavor = "current_thread")]
async fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .map(|s| {
            s.parse()
                .expect("usage: seed_gil [MULTIPLICATIONS_PER_JOB]")
        })
        .unwrap_or(5_000_000);
    let jobs = std::thread::available_parallelism().map_or(2, |p| p.get().max(2)) as u64;
    println!("cpu: {jobs} jobs of {n} multiplications");

    // Sequential: the baseline, and what Python's threads amount to for CPU work.
    let t = Instant::now();
    let sum = (1..=jobs).fold(0u64, |acc, j| acc.wrapping_add(work(j, n)));
    println!(
        "cpu: sequential      {:8.1} ms  result {sum:016x}",
        ms(t.elapsed())
    );

    // The blocking pool: one OS thread per job, all cores busy at once.
    let t = Instant::now();
    let handles: Vec<_> = (1..=jobs)
        .map(|j| runtime::spawn_blocking(move || work(j, n)))
        .collect();
    let mut sum = 0u64;
    for h in handles {
        sum = sum.wrapping_add(h.await.unwrap());
    }
    println!(
        "cpu: spawn_blocking  {:8.1} ms  result {sum:016x}",
        ms(t.elapsed())
    );

    // Plain threads, the seed's `Thread(target=work)`: the same parallelism. (Joining them
    // blocks this runtime thread, harmless here as no task needs it meanwhile.)
    let t = Instant::now();
    let sum = std::thread::scope(|s| {
        let hs: Vec<_> = (1..=jobs).map(|j| s.spawn(move || work(j, n))).collect();
        hs.into_iter()
            .fold(0u64, |acc, h| acc.wrapping_add(h.join().unwrap()))
    });
    println!(
        "cpu: std::thread     {:8.1} ms  result {sum:016x}",
        ms(t.elapsed())
    );

    // Async tasks on this one thread: they run one after another, no faster than sequential.
    let t = Instant::now();
    let handles: Vec<_> = (1..=jobs)
        .map(|j| runtime::spawn(async move { work(j, n) }))
        .collect();
    let mut sum = 0u64;
    for h in handles {
        sum = sum.wrapping_add(h.await.unwrap());
    }
    println!(
        "cpu: async tasks     {:8.1} ms  result {sum:016x}",
        ms(t.elapsed())
    );

    // Starvation: a heartbeat task ticks every 5 ms, standing for any IO the program serves.
    let ticks = Arc::new(AtomicUsize::new(0));
    let heartbeat = runtime::spawn({
        let ticks = ticks.clone();
        async move {
            let mut every = interval(Duration::from_millis(5));
            // Missed ticks are skipped, not made up in a burst: each tick is a real wake-up.
            every.set_missed_tick_behavior(MissedTickBehavior::Skip);
            loop {
                every.tick().await;
                ticks.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    let busy = Duration::from_millis(100);
    // The ticks are read inside the job, so only ticks *during* the job count.
    let during = |ticks: Arc<AtomicUsize>| {
        move || {
            let before = ticks.load(Ordering::SeqCst);
            spin(busy);
            ticks.load(Ordering::SeqCst) - before
        }
    };
    let in_task = runtime::spawn({
        let job = during(ticks.clone());
        async move { job() }
    });
    println!(
        "starvation: heartbeat ticks during {} ms of CPU inside a task: {}",
        busy.as_millis(),
        in_task.await.unwrap()
    );
    let on_pool = runtime::spawn_blocking(during(ticks.clone()));
    println!(
        "starvation: heartbeat ticks during {} ms of CPU on spawn_blocking: {}",
        busy.as_millis(),
        on_pool.await.unwrap()
    );
    heartbeat.abort();

    // IO-bound: sleeping jobs. Green tasks all sleep at once on this one thread.
    const SLEEPERS: usize = 1000;
    let nap = Duration::from_millis(100);
    let asleep = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let t = Instant::now();
    let handles: Vec<_> = (0..SLEEPERS)
        .map(|_| {
            let (asleep, peak) = (asleep.clone(), peak.clone());
            runtime::spawn(async move {
                let now = asleep.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                sleep(nap).await; // the seed's `time.sleep(2)`, without blocking the thread
                asleep.fetch_sub(1, Ordering::SeqCst);
            })
        })
        .collect();
    for h in handles {
        h.await.unwrap();
    }
    println!(
        "io: {SLEEPERS} tasks slept {} ms each: {:.1} ms, peak {} asleep at once, on 1 thread",
        nap.as_millis(),
        ms(t.elapsed()),
        peak.load(Ordering::SeqCst)
    );

    // The same with one OS thread per job: it works too, at the price of a thread (a stack,
    // a kernel task) each. `versus_threads` measures that price at 10 000.
    peak.store(0, Ordering::SeqCst);
    let t = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..SLEEPERS {
            let (asleep, peak) = (&asleep, &peak);
            s.spawn(move || {
                let now = asleep.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(nap);
                asleep.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    println!(
        "io: {SLEEPERS} threads slept {} ms each: {:.1} ms, peak {} asleep at once",
        nap.as_millis(),
        ms(t.elapsed()),
        peak.load(Ordering::SeqCst)
    );
}
