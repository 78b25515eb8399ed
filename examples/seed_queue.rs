//! Seed 10: producer/consumer over a bounded queue: back-pressure without polling `qsize`.
//!
//! The Python original keeps a queue between 100 and 600 items by polling its size:
//!
//! ```python
//! def write():
//!     while True:
//!         if q1.qsize() <= 600:                  # a snapshot, already stale
//!             for i in range(1, 51): q1.put(f"new data {i}")
//! def read():
//!     while True:
//!         if q1.qsize() >= 100:
//!             for i in range(20): print("read", q1.get())
//! q1 = queue.Queue()
//! for i in range(1, 500): q1.put(f"initial data {i}")
//! ```
//!
//! and the notes add `task_done()` / `join()` to wait until every item is processed.
//!
//! A bounded channel does the size check itself, atomically: `send().await` waits while the
//! queue is full and `recv().await` while it is empty, so nobody spins on `qsize()` (which
//! the notes rightly call only a snapshot). When the producer is finished, waiting until
//! everything is processed is dropping the last `Sender` (the queue closes; receivers drain
//! what is left, then get an error) and joining the consumer tasks.
//!
//! When the queue must stay open, the notes' pair applies: "`task_done()` tells the queue
//! an item is finished, `join()` learns that the queue is done; they come in pairs". That
//! is `channel::Queue`: each consumer calls `task_done()` after processing an item, and
//! `join().await` returns once every item put so far is finished. One `task_done()` too
//! many is an `Err`, where Python raises `ValueError`.
//!
//! ```text
//! cargo run --release --example seed_queue            # 2 000 items after the first 499
//! cargo run --release --example seed_queue -- 100000
//! ```

use std::time::Duration;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use runtime::sync::channel::{self, Queue, TrySendError};
use runtime::time::sleep;

const CAPACITY: usize = 600;
const INITIAL: u64 = 499;

#[runtime::main]
async fn main() {
    let more: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("usage: seed_queue [ITEMS]"))
        .unwrap_or(2000);
    let (tx, rx) = channel::bounded::<u64>(CAPACITY);
    for i in 1..=INITIAL {
        tx.try_send(i).expect("room for the initial items");
    }
    println!("queue: capacity {CAPACITY}, {} items to start", tx.len());

    // Two consumers, each taking up to 20 items at a time, then "processing" them.
    let consumers: Vec<_> = (0..2)
        .map(|c| {
            let rx = rx.clone();
            runtime::spawn(async move {
                let mut got = Vec::new();
                loop {
                    let mut batch = Vec::with_capacity(20);
                    while batch.len() < 20 {
                        match rx.recv().await {
                            Ok(item) => batch.push(item),
                            Err(_) => break, // closed and drained
                        }
                    }
                    if batch.is_empty() {
                        return (c, got);
                    }
                    got.extend(batch);
                    sleep(Duration::from_millis(1)).await; // processing takes a while
                }
            })
        })
        .collect();
    drop(rx);

    // The producer: batches of 50, as fast as the queue takes them.
    let mut full = 0;
    let mut peak = 0;
    for i in INITIAL + 1..=INITIAL + more {
        match tx.try_send(i) {
            Ok(()) => {}
            Err(TrySendError::Full(i)) => {
                full += 1;
                tx.send(i).await.expect("the consumers are alive"); // waits for room
            }
            Err(TrySendError::Closed(_)) => unreachable!("the consumers hold receivers"),
        }
        peak = peak.max(tx.len());
        if i % 50 == 0 {
            runtime::yield_now().await; // between batches, let others run
        }
    }
    println!("producer: sent {more} more, found the queue full {full} times and waited");
    drop(tx); // no more items: the queue closes once drained

    let mut all = Vec::new();
    for consumer in consumers {
        let (c, got) = consumer.await.unwrap();
        let in_order = got.windows(2).all(|w| w[0] < w[1]);
        println!(
            "consumer {c}: processed {} items, in queue order: {in_order}",
            got.len()
        );
        all.extend(got);
    }
    all.sort_unstable();
    let each_once = all.iter().copied().eq(1..=INITIAL + more);
    println!(
        "all {} items processed, each exactly once: {each_once}; peak queue length {peak} (capacity {CAPACITY})",
        all.len()
    );

    task_done_and_join().await;
}

/// `q.task_done()` / `q.join()`: the consumers stay, the producer waits for the work it
/// handed out to be finished, twice, then asks one `task_done()` too many.
async fn task_done_and_join() {
    const BATCH: usize = 200;
    let queue = Queue::bounded(50);
    let processed = Arc::new(AtomicUsize::new(0));
    for _ in 0..3 {
        let (queue, processed) = (queue.clone(), processed.clone());
        runtime::spawn(async move {
            while let Ok(item) = queue.recv().await {
                sleep(Duration::from_micros(50 * (item % 3))).await; // processing takes a while
                processed.fetch_add(1, Ordering::SeqCst);
                queue.task_done().expect("one task_done per item received");
            }
        });
    }
    for round in 1..=2 {
        for item in 0..BATCH as u64 {
            queue.send(item).await.expect("the queue is open");
        }
        queue.join().await; // every item put so far is finished, not merely taken
        println!(
            "join {round}: returned with {} of {} items processed, {} unfinished",
            processed.load(Ordering::SeqCst),
            round * BATCH,
            queue.unfinished()
        );
    }
    match queue.task_done() {
        Ok(()) => println!("task_done with no item left: accepted"),
        Err(err) => println!("task_done with no item left: Err({err})"),
    }
    queue.close(); // the consumers' loops end
}
