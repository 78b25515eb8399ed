//! A tour of the runtime: many green tasks, a JoinSet, yielding, the blocking pool, and
//! the metrics that show what the scheduler did.
//!
//! ```text
//! cargo run --release --example tour            # 100 000 tasks
//! cargo run --release --example tour -- 1000    # fewer
//! ```

use runtime::task::JoinSet;
use std::time::Instant;

#[runtime::main]
async fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("usage: tour [TASKS]"))
        .unwrap_or(100_000);

    // Green tasks are cheap: spawn many, each yielding once to the others.
    let started = Instant::now();
    let mut set = JoinSet::new();
    for i in 0..n {
        set.spawn(async move {
            runtime::yield_now().await;
            i
        });
    }
    let mut sum = 0;
    while let Some(res) = set.join_next().await {
        sum += res.expect("task failed");
    }
    assert_eq!(sum, n * (n - 1) / 2);
    println!(
        "{n} tasks spawned, yielded and joined in {:?}",
        started.elapsed()
    );

    // CPU-heavy work goes to the blocking pool, so the async workers stay free.
    let started = Instant::now();
    let jobs: Vec<_> = (0..4u64)
        .map(|seed| {
            runtime::spawn_blocking(move || {
                let mut x = seed + 1;
                for _ in 0..5_000_000 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                }
                x
            })
        })
        .collect();
    for job in jobs {
        job.await.expect("blocking job failed");
    }
    println!(
        "4 CPU-bound jobs on the blocking pool in {:?}",
        started.elapsed()
    );

    // A panicking task is reported through its JoinHandle; the runtime carries on.
    let err = runtime::spawn(async { panic!("this task fails on purpose") })
        .await
        .unwrap_err();
    println!("a task panicked and was caught: {err}");

    let m = runtime::Handle::current().metrics();
    println!(
        "metrics: {} workers, {} tasks spawned, {} polls, {} steals, {} alive",
        m.workers, m.spawned_tasks, m.polls, m.steals, m.alive_tasks
    );
}
