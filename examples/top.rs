//! A live view of a runtime under load, like `top`: once a second, the runtime's metrics and
//! the tasks that held the workers most.
//!
//! ```text
//! cargo run --release --example top -- [--seconds N]
//! ```
//!
//! The load: named "hasher" tasks that do a little CPU work per poll, "ticker" tasks on
//! timers, and "chatter" pairs passing messages. A sampler thread reads
//! `Handle::workers()` (which task each worker is polling: a read of each worker's poll
//! slot, no task list) every millisecond; a task's share of the samples is its share of
//! worker time, the way a sampling profiler sees it. Names come from `Handle::dump()`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use runtime::sync::channel;
use runtime::task::{self, Id};

fn main() {
    let seconds: u64 = std::env::args()
        .skip_while(|a| a != "--seconds")
        .nth(1)
        .map(|s| s.parse().expect("--seconds takes a whole number"))
        .unwrap_or(5);
    let rt = runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("build the runtime");
    let stop = Arc::new(AtomicBool::new(false));
    rt.block_on(start_load(stop.clone()));

    let start = Instant::now();
    let handle = rt.handle().clone();
    let mut busy: HashMap<Id, u64> = HashMap::new();
    let (mut samples, mut last_polls) = (0u64, handle.metrics().polls);
    let mut next_frame = start + Duration::from_secs(1);
    while start.elapsed() < Duration::from_secs(seconds) {
        std::thread::sleep(Duration::from_millis(1));
        for worker in handle.workers() {
            samples += 1;
            if let Some(task) = worker.task() {
                *busy.entry(task).or_default() += 1;
            }
        }
        if Instant::now() >= next_frame {
            next_frame += Duration::from_secs(1);
            let polls = handle.metrics().polls;
            print_frame(&handle, &busy, samples, polls - last_polls, start.elapsed());
            busy.clear();
            samples = 0;
            last_polls = polls;
        }
    }
    stop.store(true, Ordering::Relaxed);
}

async fn start_load(stop: Arc<AtomicBool>) {
    for i in 0..4u64 {
        let stop = stop.clone();
        task::Builder::new()
            .name(&format!("hasher-{i}"))
            .spawn(async move {
                let mut x = i + 1;
                while !stop.load(Ordering::Relaxed) {
                    // More work per poll for higher numbers. Where each hasher ranks also
                    // depends on the worker it shares: busy workers do not steal.
                    for _ in 0..(20_000 * (i + 1)) {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                    }
                    std::hint::black_box(x);
                    runtime::yield_now().await;
                }
            });
    }
    for i in 0..8 {
        let stop = stop.clone();
        task::Builder::new()
            .name(&format!("ticker-{i}"))
            .spawn(async move {
                let mut tick = runtime::time::interval(Duration::from_millis(10));
                while !stop.load(Ordering::Relaxed) {
                    tick.tick().await;
                }
            });
    }
    for i in 0..16 {
        let (tx, rx) = channel::bounded::<u64>(1);
        let stop = stop.clone();
        task::Builder::new()
            .name(&format!("chatter-{i}"))
            .spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) && tx.send(n).await.is_ok() {
                    n += 1;
                }
            });
        task::Builder::new()
            .name(&format!("listener-{i}"))
            .spawn(async move { while rx.recv().await.is_ok() {} });
    }
}

fn print_frame(
    handle: &runtime::Handle,
    busy: &HashMap<Id, u64>,
    samples: u64,
    polls: u64,
    at: Duration,
) {
    let m = handle.metrics();
    let dump = handle.dump();
    let busy_samples: u64 = busy.values().sum();
    println!(
        "\n--- {:>4.1} s | workers {} | tasks {} alive, {} spawned | {:.0}k polls/s | \
         steals {} | injector {} | blocking {} busy, {} idle | io events {} | busy {:.0} %",
        at.as_secs_f64(),
        m.workers,
        m.alive_tasks,
        m.spawned_tasks,
        polls as f64 / 1e3,
        m.steals,
        m.injector_depth,
        m.busy_blocking_threads,
        m.idle_blocking_threads,
        m.io_events,
        100.0 * busy_samples as f64 / samples.max(1) as f64,
    );
    let mut ranked: Vec<(&Id, &u64)> = busy.iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    println!(
        "{:>8}  {:<14} {:>7}  {:<10} spawned at",
        "task", "name", "worker%", "state"
    );
    for (id, n) in ranked.into_iter().take(8) {
        let (name, state, location) = match dump.get(*id) {
            Some(t) => (
                t.name().unwrap_or("-").to_owned(),
                short_state(t.state()),
                t.location().to_string(),
            ),
            None => ("(ended)".into(), "-".into(), String::new()),
        };
        println!(
            "{:>8}  {:<14} {:>6.1}%  {:<10} {}",
            id.to_string(),
            name,
            100.0 * *n as f64 / samples.max(1) as f64,
            state,
            location
        );
    }
}

fn short_state(state: runtime::diag::TaskState) -> String {
    match state {
        runtime::diag::TaskState::Running { .. } => "running".into(),
        other => other.to_string(),
    }
}
