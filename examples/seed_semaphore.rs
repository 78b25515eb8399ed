//! Seed 5: a semaphore: at most k inside, a connection pool, and the try / timeout forms.
//!
//! The Python originals:
//!
//! ```python
//! sm = Semaphore(5)                        # 20 threads, at most 5 running
//! def task():
//!     sm.acquire(); print("running"); time.sleep(random.randint(2, 4)); sm.release()
//!
//! class Pool:                              # 3 connections shared by 6 workers
//!     def get(self): self.sema.acquire(); return self.pool.pop()
//!     def set(self, conn): self.pool.append(conn); self.sema.release()
//!
//! s.acquire(False)                         # False: no permit free, don't wait
//! s.acquire(timeout=3)                     # False after 3 s
//! ```
//!
//! In Rust `acquire().await` returns a *permit*, and dropping the permit is the `release()`:
//! it can't be forgotten on an early return or a panic. The pool hands out a guard that puts
//! the connection back and then releases its permit when it drops. `acquire(False)` is
//! `try_acquire()`, and `acquire(timeout=…)` is `time::timeout(d, sem.acquire())`.
//!
//! ```text
//! cargo run --release --example seed_semaphore
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use runtime::sync::{Semaphore, SemaphorePermit};
use runtime::time::{sleep, timeout};

/// A connection, as the seed's `Conn`.
#[derive(Debug)]
struct Conn(String);

/// The seed's `Pool`: a semaphore counts the free connections, a plain mutex holds them (it
/// is held only for a push or a pop, never across an `.await`).
#[derive(Debug)]
struct Pool {
    sema: Semaphore,
    conns: std::sync::Mutex<Vec<Conn>>,
}

impl Pool {
    fn new(n: usize) -> Pool {
        Pool {
            sema: Semaphore::new(n),
            conns: std::sync::Mutex::new((0..n).map(|i| Conn(format!("conn-{i}"))).collect()),
        }
    }

    /// `get()`: waits for a free connection.
    async fn get(&self) -> Pooled<'_> {
        let permit = self.sema.acquire().await.expect("the pool never closes");
        let conn = self.conns.lock().unwrap().pop();
        Pooled {
            pool: self,
            conn: Some(conn.expect("a permit means a free connection")),
            _permit: permit,
        }
    }
}

/// A borrowed connection; dropping it is the seed's `set(conn)`.
#[derive(Debug)]
struct Pooled<'a> {
    pool: &'a Pool,
    conn: Option<Conn>,
    _permit: SemaphorePermit<'a>, // dropped after `drop` below has put the connection back
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        let conn = self.conn.take().unwrap();
        self.pool.conns.lock().unwrap().push(conn);
    }
}

#[runtime::main]
async fn main() {
    // 20 tasks, at most 5 inside. `inside` counts them; it can only pass 5 if the
    // semaphore lets a sixth in.
    let sm = Arc::new(Semaphore::new(5));
    let inside = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..20u64)
        .map(|i| {
            let (sm, inside, peak) = (sm.clone(), inside.clone(), peak.clone());
            runtime::spawn(async move {
                let _permit = sm.acquire().await.unwrap();
                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                println!("task {i} running ({now} inside)");
                sleep(Duration::from_millis(10 + 5 * (i * 7 % 3))).await; // randint(2, 4)
                inside.fetch_sub(1, Ordering::SeqCst);
            }) // the permit drops here: sm.release()
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    println!(
        "20 tasks, Semaphore(5): at most {} inside at once",
        peak.load(Ordering::SeqCst)
    );

    // The connection pool: 6 workers, 3 connections.
    let pool = Arc::new(Pool::new(3));
    let out = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..6)
        .map(|i| {
            let (pool, out) = (pool.clone(), out.clone());
            runtime::spawn(async move {
                let conn = pool.get().await;
                let now = out.fetch_add(1, Ordering::SeqCst) + 1;
                println!(
                    "worker {i} got {} ({now} out)",
                    conn.conn.as_ref().unwrap().0
                );
                sleep(Duration::from_millis(20)).await; // the seed's Event().wait(3)
                out.fetch_sub(1, Ordering::SeqCst);
            }) // the connection goes back here
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    println!(
        "pool: {} connections back, {} permits free",
        pool.conns.lock().unwrap().len(),
        pool.sema.available_permits()
    );

    // The non-waiting and the timed forms, as the seed runs them on Semaphore(3).
    let s = Arc::new(Semaphore::new(3));
    let mut held: Vec<_> = (0..3).map(|_| s.try_acquire().unwrap()).collect();
    println!("took 3 permits, {} free", s.available_permits());
    let waiter = runtime::spawn({
        let s = s.clone();
        async move {
            let _permit = s.acquire().await.unwrap(); // waits for main's release
            println!("worker: got a permit");
        }
    });
    match s.try_acquire() {
        Ok(_) => println!("try_acquire: got a permit"),
        Err(e) => println!("try_acquire (acquire(False)): {e}"),
    }
    match timeout(Duration::from_millis(50), s.acquire()).await {
        Ok(_) => println!("acquire with a 50 ms timeout: got a permit"),
        Err(_) => println!("acquire with a 50 ms timeout: timed out"),
    }
    println!("main: release one");
    drop(held.pop());
    waiter.await.unwrap();
}
