//! Seed 12: a thread pool: submit with a callback, map in order, async jobs with callbacks.
//!
//! The Python originals:
//!
//! ```python
//! pool = ThreadPoolExecutor(4)
//! for i in range(10):
//!     t = pool.submit(func, i); t.add_done_callback(callback)   # results as they finish
//! pool.shutdown()
//!
//! gen = ThreadPoolExecutor(2).map(func, [1, 2, 3, 4, 5])        # results in input order
//!
//! p = Pool(3)
//! p.apply_async(func=download, args=("process 1",), callback=alterUser)   # x3
//! p.close(); p.join()
//! ```
//!
//! The runtime's blocking pool *is* a thread pool: `spawn_blocking(f)` queues `f` for it and
//! returns a handle to await, and `max_blocking_threads(4)` makes it `ThreadPoolExecutor(4)`.
//! A `JoinSet` gives the results in completion order (`join_next`), so the callback is just
//! the loop body; awaiting the handles one by one gives them in submission order (`map`).
//! Downloads are IO, so the last part uses async tasks in a `task::Pool(3)` (gevent's
//! `gevent.pool.Pool`): `spawn(..).await` waits while 3 downloads run, each task runs the
//! callback when its download completes, and `pool.join().await` is `p.join()`.
//!
//! ```text
//! cargo run --release --example seed_pool
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use runtime::task::{JoinSet, Pool};
use runtime::time::sleep;

/// The seed's `func`: some blocking work, here a short sleep, counting how many run at once.
fn func(i: u64, running: &AtomicUsize, peak: &AtomicUsize) -> u64 {
    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
    peak.fetch_max(now, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(5 + 3 * (i % 4)));
    running.fetch_sub(1, Ordering::SeqCst);
    i * i
}

/// The seed's `download`: three files, an IO wait each.
async fn download(name: String) -> String {
    for file in 1..=3 {
        println!("{name}: downloading file {file}");
        sleep(Duration::from_millis(5 * file)).await;
    }
    format!("{name}: download complete")
}

/// The seed's `alterUser` callback.
fn alter_user(msg: String) {
    println!("callback: {msg}");
}

fn main() -> std::io::Result<()> {
    // A runtime whose blocking pool has at most 4 threads: ThreadPoolExecutor(4).
    let rt = runtime::Builder::new_multi_thread()
        .max_blocking_threads(4)
        .build()?;
    rt.block_on(async {
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));

        // submit + add_done_callback: results in completion order.
        let mut set = JoinSet::new();
        for i in 0..10 {
            let (running, peak) = (running.clone(), peak.clone());
            set.spawn_blocking(move || (i, func(i, &running, &peak)));
        }
        while let Some(done) = set.join_next().await {
            let (i, result) = done.expect("func panicked");
            println!("done callback: func({i}) = {result}"); // add_done_callback's body
        }
        println!(
            "submit: 10 jobs, at most {} running at once (pool of 4)",
            peak.load(Ordering::SeqCst)
        );

        // map: the later inputs are quicker, yet the results come in input order.
        let handles: Vec<_> = [1u64, 2, 3, 4, 5]
            .into_iter()
            .map(|i| {
                let (running, peak) = (running.clone(), peak.clone());
                runtime::spawn_blocking(move || {
                    std::thread::sleep(Duration::from_millis(5 * (6 - i)));
                    func(i, &running, &peak)
                })
            })
            .collect();
        let mut results = Vec::new();
        for h in handles {
            results.push(h.await.expect("func panicked"));
        }
        println!("map: {results:?}");

        // Pool(3).apply_async(download, callback=alterUser) for six downloads; join().
        let pool = Pool::new(3);
        let (running, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        for p in 1..=6 {
            let (running, peak) = (running.clone(), peak.clone());
            let task = pool
                .spawn(async move {
                    peak.fetch_max(running.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                    let msg = download(format!("process {p}")).await;
                    running.fetch_sub(1, Ordering::SeqCst);
                    alter_user(msg);
                })
                .await; // waits while 3 downloads run
            drop(task); // detached: the pool's join waits for it
        }
        pool.join().await;
        println!(
            "pool: 6 downloads, at most {} at once (Pool(3)); {} running after join",
            peak.load(Ordering::SeqCst),
            pool.len()
        );
    });
    Ok(())
}
