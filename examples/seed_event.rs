//! Seed 7: events: wait for a signal, wait with a timeout, clear and wait again.
//!
//! The three Python originals:
//!
//! ```python
//! def boss(event):  event.wait(); logging.info("Good Job.")          # 1. waits for 10 cups
//! def worker(event, count=10): ...; cups.append(1); ...; event.set()
//!
//! def conn_mysql(e):                                                  # 2. retry with timeout
//!     while not e.is_set():
//!         if count > 5: print("gave up"); return
//!         e.wait(random.random()); print("network not reachable yet"); count += 1
//!     print("finally connected")
//! def check_net(e): time.sleep(...); e.set()
//!
//! class Boss:   print(event.is_set()); event.set(); time.sleep(5); event.set()   # 3. clear
//! class Worker: event.wait(); print("start"); time.sleep(1); event.clear(); event.wait()
//! ```
//!
//! `runtime::sync::Event` is the same flag: `wait().await` returns once it is set,
//! `time::timeout(d, e.wait())` is `e.wait(d)` (an `Err` is Python's `False`), and `clear()`
//! makes later waits wait again; a waiter woken by a `set` returns even if the event is
//! cleared right after. In the third program the seed's `time.sleep(5)` (hoping the workers
//! have cleared the event by then) becomes a semaphore on which each worker reports back, so
//! the boss sets the event again only after every worker has cleared it.
//!
//! ```text
//! cargo run --release --example seed_event
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use runtime::sync::{Event, Semaphore};
use runtime::time::{sleep, timeout};

#[runtime::main(flavor = "current_thread")]
async fn main() {
    // 1. The boss waits for the worker's ten cups.
    let done = Arc::new(Event::new());
    let cups = Arc::new(AtomicUsize::new(0));
    println!("boss: I'm waiting for you");
    let worker = runtime::spawn({
        let (done, cups) = (done.clone(), cups.clone());
        async move {
            for _ in 0..10 {
                sleep(Duration::from_millis(2)).await; // the seed's time.sleep(0.5)
                let n = cups.fetch_add(1, Ordering::SeqCst) + 1;
                println!("worker: made cup {n}");
            }
            println!("worker: I finished my job");
            done.set();
        }
    });
    done.wait().await;
    println!("boss: good job, {} cups", cups.load(Ordering::SeqCst));
    worker.await.unwrap();

    // 2. Connect, retrying with a timeout until the network is up.
    let net = Arc::new(Event::new());
    let check_net = runtime::spawn({
        let net = net.clone();
        async move {
            for _ in 0..3 {
                sleep(Duration::from_millis(20)).await;
            }
            println!("check_net: the network is up");
            net.set();
        }
    });
    const TRIES: u32 = 10;
    let mut timeouts = 0;
    while timeout(Duration::from_millis(25), net.wait())
        .await
        .is_err()
    {
        timeouts += 1;
        println!("conn: network not reachable yet (try {timeouts})");
        if timeouts == TRIES {
            break;
        }
    }
    if net.is_set() {
        println!("conn: connected after {timeouts} timeouts");
    } else {
        println!("conn: tried {TRIES} times, giving up");
    }
    check_net.await.unwrap();

    // 3. One event, set, cleared and set again.
    let event = Arc::new(Event::new());
    let back_at_desk = Arc::new(Semaphore::new(0));
    let workers: Vec<_> = (0..5)
        .map(|i| {
            let (event, desk) = (event.clone(), back_at_desk.clone());
            runtime::spawn(async move {
                event.wait().await;
                println!("worker {i}: start working");
                sleep(Duration::from_millis(5)).await;
                event.clear(); // as the seed's workers do
                desk.add_permits(1); // "cleared it, waiting again"
                event.wait().await; // waits again: the flag is down
                println!("worker {i}: finished");
            })
        })
        .collect();
    // Let every worker reach its first wait before the boss sets the event (on this one
    // thread, `yield_now` runs the tasks that are ready first). A worker that came late
    // could find the event already cleared by a faster one, and wait for the wrong `set`.
    runtime::yield_now().await;
    println!("boss: overtime tonight (event set: {})", event.is_set());
    event.set();
    // Wait until all five have cleared the event and gone back to waiting.
    back_at_desk.acquire_many(5).await.unwrap().forget();
    println!("boss: time to go home (event set: {})", event.is_set());
    event.set();
    for w in workers {
        w.await.unwrap();
    }
}
