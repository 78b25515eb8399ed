//! Seed 9: a barrier: parties meet, `abort()` breaks it, `reset()` makes it usable again.
//!
//! The Python original: `Barrier(3)` and six workers; the barrier is aborted before worker
//! 2 starts and reset before worker 4.
//!
//! ```python
//! def worker(barrier):
//!     logging.info('barrier-{}'.format(barrier.n_waiting))
//!     try:
//!         barrier_id = barrier.wait(); logging.info('barrier {} running'.format(barrier_id))
//!     except threading.BrokenBarrierError:
//!         logging.info('Broken status')
//! barr = threading.Barrier(3)
//! for thread in range(6):
//!     if thread == 2: barr.abort()       # workers 0, 1 (waiting) and 2, 3 get the error
//!     elif thread == 4: barr.reset()     # usable again: workers 4, 5 wait...
//!     threading.Thread(target=worker, args=(barr,)).start()
//! ```
//!
//! The seed ends with workers 4 and 5 waiting forever for a third party; here a seventh
//! worker completes that round. `wait().await` returns `Ok` with the arrival index
//! (0..parties, the seed's `barrier_id`) or `Err(BrokenBarrier)`, Python's
//! `BrokenBarrierError`. The action passed to `Barrier::with_action` runs once per completed
//! round, as Python's `action=`. Everything runs on one thread, where `yield_now` lets each
//! new worker reach the barrier before the main task goes on, so the output is the same on
//! every run.
//!
//! ```text
//! cargo run --release --example seed_barrier
//! ```

use std::sync::Arc;

use runtime::sync::Barrier;

#[runtime::main(flavor = "current_thread")]
async fn main() {
    let barrier = Arc::new(Barrier::with_action(3, || {
        println!("action: 3 parties met")
    }));
    let mut workers = Vec::new();
    for i in 0..7 {
        if i == 2 {
            println!("main: {} waiting, abort()", barrier.n_waiting());
            barrier.abort();
        } else if i == 4 {
            println!("main: reset()");
            barrier.reset();
        }
        let b = barrier.clone();
        workers.push(runtime::spawn(async move {
            println!("worker {i}: {} waiting before me", b.n_waiting());
            match b.wait().await {
                Ok(res) => println!("worker {i}: passed, index {}", res.index()),
                Err(e) => println!("worker {i}: {e}"),
            }
        }));
        runtime::yield_now().await; // let worker i run up to its wait
    }
    for w in workers {
        w.await.unwrap();
    }
    println!("broken at the end: {}", barrier.is_broken());
}
