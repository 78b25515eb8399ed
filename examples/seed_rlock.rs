//! Seed 4: a reentrant lock (Python's `RLock`): its holder may take it again.
//!
//! The Python original: a thread takes the same `RLock` twice (a counter inside counts the
//! levels) and must release it as many times; meanwhile no other thread gets in.
//!
//! ```python
//! r_lock = threading.RLock()
//! def actionA(self):
//!     r_lock.acquire(); print(self.name, "got lock A")
//!     r_lock.acquire(); print(self.name, "got lock B")   # same thread: no wait
//!     r_lock.release(); r_lock.release()                 # free after the second release
//! ```
//!
//! `runtime::sync::ReentrantMutex` is keyed on the **task** (on the thread outside tasks):
//! the holding task's `lock().await` nests at once, and every other task waits, including a
//! task spawned inside the critical section, although it may run on the very same thread.
//! A guard is one level; the lock is free when the last guard drops, so "release twice" is
//! two drops. Guards give shared access only (levels alias), so the counter is a `Cell`.
//!
//! ```text
//! cargo run --release --example seed_rlock
//! ```

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use runtime::sync::{oneshot, Event, ReentrantMutex};
use runtime::time::timeout;

#[runtime::main]
async fn main() {
    let lock = Arc::new(ReentrantMutex::new(Cell::new(0)));
    let entered = Arc::new(Event::new());

    let outer = lock.lock().await; // r_lock.acquire()
    outer.set(outer.get() + 1);
    println!("main: locked once, counter = {}", outer.get());
    let inner = lock.lock().await; // again, from the same task: no waiting
    inner.set(inner.get() + 1);
    println!("main: locked again (nested), counter = {}", inner.get());

    // A task spawned inside the critical section is another task: it must wait.
    let (tried_tx, tried_rx) = oneshot::channel();
    let child = runtime::spawn({
        let (lock, entered) = (lock.clone(), entered.clone());
        async move {
            let _ = tried_tx.send(lock.try_lock().is_ok());
            let guard = lock.lock().await;
            entered.set();
            guard.get()
        }
    });
    let got_it = tried_rx.await.unwrap();
    println!(
        "child: try_lock while main holds it -> {}",
        if got_it { "got it" } else { "busy" }
    );

    drop(inner); // the first release: one level is still held
    let still_waiting = timeout(Duration::from_millis(50), entered.wait())
        .await
        .is_err();
    println!("main: released one level; child still waiting: {still_waiting}");
    drop(outer); // the second release frees it
    println!("main: released the last level");
    println!("child: got the lock, counter = {}", child.await.unwrap());

    // The seed's threads: on OS threads (here the blocking pool) `lock_blocking` is keyed on
    // the thread, exactly like `threading.RLock`.
    const THREADS: usize = 5;
    let lock = Arc::new(ReentrantMutex::new(Cell::new(0)));
    let inside = Arc::new(AtomicUsize::new(0));
    let most_inside = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let (lock, inside, most) = (lock.clone(), inside.clone(), most_inside.clone());
            runtime::spawn_blocking(move || {
                let a = lock.lock_blocking(); // "got lock A"
                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                a.set(a.get() + 1);
                std::thread::sleep(Duration::from_millis(2)); // give the others a chance
                let b = lock.lock_blocking(); // "got lock B": nests
                b.set(b.get() + 1);
                inside.fetch_sub(1, Ordering::SeqCst);
                drop(b);
                drop(a);
            })
        })
        .collect();
    for t in threads {
        t.await.unwrap();
    }
    println!(
        "threads: {THREADS} threads took it twice each, counter = {}, most inside at once = {}",
        lock.lock().await.get(),
        most_inside.load(Ordering::SeqCst)
    );
}
