//! Seed 11: three workers that print task1, task2, task3 in turn.
//!
//! The Python original chains three threads through three locks, two of them taken in
//! advance, each thread releasing the *next* one's lock:
//!
//! ```python
//! class Task1(threading.Thread):
//!     def run(self):
//!         while True:
//!             lock1.acquire(); print("task1"); time.sleep(1); lock2.release()
//! # Task2: lock2 -> lock3, Task3: lock3 -> lock1
//! lock2.acquire(); lock3.acquire()      # only task1 can start
//! ```
//!
//! Releasing a lock that another thread took is a semaphore in disguise, so the Rust port
//! uses three `Semaphore`s with 1, 0 and 0 permits: each task takes a permit from its own
//! and adds one to the next (`forget` keeps the permit from coming back to its own). The
//! same ring is then written the way Rust usually would: a token passed along channels.
//! Both stop after N rounds instead of running forever.
//!
//! ```text
//! cargo run --release --example seed_ordered          # 3 rounds
//! cargo run --release --example seed_ordered -- 10
//! ```

use std::sync::Arc;

use runtime::sync::{channel, Semaphore};

#[runtime::main]
async fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("usage: seed_ordered [ROUNDS]"))
        .unwrap_or(3);

    // The seed's three locks: task1's starts free, the others start taken.
    let turns: Arc<[Semaphore; 3]> =
        Arc::new([0, 1, 2].map(|i| Semaphore::new(usize::from(i == 0))));
    let tasks: Vec<_> = (0..3)
        .map(|i| {
            let turns = turns.clone();
            runtime::spawn(async move {
                for _ in 0..rounds {
                    turns[i].acquire().await.unwrap().forget(); // lock{i}.acquire()
                    println!("task{}", i + 1);
                    turns[(i + 1) % 3].add_permits(1); // lock{i+1}.release()
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }

    // The same ring with channels: whoever holds the token prints, then passes it on.
    println!("with channels:");
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..3).map(|_| channel::bounded::<()>(1)).unzip();
    let tasks: Vec<_> = rxs
        .into_iter()
        .enumerate()
        .map(|(i, rx)| {
            let next = txs[(i + 1) % 3].clone();
            runtime::spawn(async move {
                for _ in 0..rounds {
                    rx.recv().await.unwrap(); // wait for the token
                    println!("task{}", i + 1);
                    let _ = next.send(()).await; // the last one has no reader left: fine
                }
            })
        })
        .collect();
    txs[0].send(()).await.unwrap(); // task1 starts
    drop(txs);
    for t in tasks {
        t.await.unwrap();
    }
}
