//! Seed 1: a counter protected by a lock, and the lost update without one.
//!
//! The Python original (two threads, a global and a `Lock`; then a `Counter` class whose
//! `inc`/`dec`/`value` each take the lock, hammered by 10 000 threads):
//!
//! ```python
//! x, lock = 0, threading.Lock()
//! def fun_1(n):
//!     global x
//!     for i in range(n):
//!         with lock: x += 1        # fun_2 does x -= 1
//! ```
//!
//! In Rust the data lives *inside* the lock (`Mutex<i64>`), so forgetting to lock is a
//! compile error rather than a race. What the compiler can't see is a read-modify-write that
//! lets go of the lock in the middle, across an `.await`: the seed's
//! `temp = num; time.sleep(...); num = temp - 1`. The last part shows that lost update, then
//! the fix (hold the guard across the `.await`).
//!
//! ```text
//! cargo run --release --example seed_counter             # 100 000 increments per side
//! cargo run --release --example seed_counter -- 1000000  # the seed's 10**6
//! ```

use std::sync::Arc;

use runtime::sync::Mutex;

/// The seed's `Counter`: every method takes the lock for just the one step.
#[derive(Debug, Default)]
struct Counter {
    val: Mutex<i64>,
}

impl Counter {
    async fn inc(&self) {
        *self.val.lock().await += 1;
    }
    async fn dec(&self) {
        *self.val.lock().await -= 1;
    }
    async fn value(&self) -> i64 {
        *self.val.lock().await
    }
}

#[runtime::main]
async fn main() {
    let n: i64 = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("usage: seed_counter [N]"))
        .unwrap_or(100_000);

    // fun_1 and fun_2 as two tasks, which may run on two worker threads at once.
    let x = Arc::new(Mutex::new(0i64));
    let plus = runtime::spawn({
        let x = x.clone();
        async move {
            for _ in 0..n {
                *x.lock().await += 1; // `with lock: x += 1`
            }
        }
    });
    let minus = runtime::spawn({
        let x = x.clone();
        async move {
            for _ in 0..n {
                *x.lock().await -= 1;
            }
        }
    });
    plus.await.unwrap();
    minus.await.unwrap();
    println!(
        "tasks: +1 and -1, {n} times each, total = {}",
        *x.lock().await
    );

    // The same lock works from OS threads too (`lock_blocking`), as in the seed: here two
    // threads of the blocking pool.
    let y = Arc::new(Mutex::new(0i64));
    let plus = runtime::spawn_blocking({
        let y = y.clone();
        move || (0..n).for_each(|_| *y.lock_blocking() += 1)
    });
    let minus = runtime::spawn_blocking({
        let y = y.clone();
        move || (0..n).for_each(|_| *y.lock_blocking() -= 1)
    });
    plus.await.unwrap();
    minus.await.unwrap();
    println!(
        "threads: +1 and -1, {n} times each, total = {}",
        *y.lock().await
    );

    // The Counter class: 1000 tasks (the seed starts 10 000 threads), each running
    // `for i in range(-50, 50): dec() if i < 0 else inc()` ten times.
    let counter = Arc::new(Counter::default());
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let c = counter.clone();
            runtime::spawn(async move {
                for _ in 0..10 {
                    for i in -50..50 {
                        if i < 0 {
                            c.dec().await;
                        } else {
                            c.inc().await;
                        }
                    }
                }
            })
        })
        .collect();
    // Joining the handles replaces the seed's `while threading.active_count() != 1` loop.
    for t in tasks {
        t.await.unwrap();
    }
    println!("counter: 1000 tasks, value = {}", counter.value().await);

    // The lost update: read under the lock, let it go, yield (the seed's `time.sleep`),
    // write back. Every task reads before any writes, so most increments vanish.
    const TASKS: i64 = 100;
    let num = Arc::new(Mutex::new(0i64));
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let num = num.clone();
            runtime::spawn(async move {
                let temp = *num.lock().await; // the guard is dropped at the `;`
                runtime::yield_now().await; // other tasks run here...
                *num.lock().await = temp + 1; // ...and this overwrites their updates
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    println!(
        "lost update: {TASKS} tasks added 1, lock let go across .await, total = {}",
        *num.lock().await
    );

    // The fix: keep the guard for the whole read-modify-write, `.await` included.
    let num = Arc::new(Mutex::new(0i64));
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let num = num.clone();
            runtime::spawn(async move {
                let mut guard = num.lock().await;
                let temp = *guard;
                runtime::yield_now().await; // others wait for the lock meanwhile
                *guard = temp + 1;
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    println!(
        "guard held across .await: {TASKS} tasks added 1, total = {}",
        *num.lock().await
    );
}
