//! Seed 14: greenlets and gevent: explicit switches, then switching at every wait.
//!
//! The Python originals:
//!
//! ```python
//! def t1():                                    # greenlet: switch by hand
//!     while True: print(sum(range(1, 101))); gr2.switch(); ...
//! def t2():
//!     while True: print(sum(range(1, 101))); gr1.switch(); ...
//! gr1, gr2 = greenlet(t1), greenlet(t2); gr1.switch()
//!
//! def t1():                                    # gevent: switch at every IO wait
//!     while True: print(...); gevent.sleep(1)
//! gevent.spawn(t1); gevent.spawn(t2)
//! ```
//!
//! `#[runtime::main(flavor = "current_thread")]` is gevent's model: every task runs on this
//! one thread and gives it up only at an `.await` that has to wait. A greenlet's
//! `switch()` to a *named* partner is a message: each task waits for the baton on its own
//! channel and sends it on. `yield_now().await` is `gevent.sleep(0)`: let every other ready
//! task run first. And any `.await` on IO or a timer (`sleep`, a socket read) switches to
//! whoever can run, as gevent does at `gevent.sleep(1)`, without monkey-patching: only
//! blocking calls that bypass the runtime (`std::thread::sleep`) stall everyone.
//!
//! ```text
//! cargo run --release --example seed_gevent
//! ```

use std::time::{Duration, Instant};

use runtime::sync::channel;
use runtime::task::JoinSet;
use runtime::time::sleep;

#[runtime::main(flavor = "current_thread")]
async fn main() {
    // 1. greenlet: two tasks hand a baton back and forth, three rounds each.
    let (to_gr1, gr1_inbox) = channel::bounded::<()>(1);
    let (to_gr2, gr2_inbox) = channel::bounded::<()>(1);
    let greenlet =
        |name: &'static str, inbox: channel::Receiver<()>, partner: channel::Sender<()>| {
            runtime::spawn(async move {
                for round in 1..=3 {
                    inbox.recv().await.unwrap(); // wait until switched to
                    println!("{name}: {} (round {round})", (1..=100).sum::<u32>());
                    let _ = partner.send(()).await; // gr2.switch() (gr2 may have finished)
                }
            })
        };
    let gr1 = greenlet("gr1", gr1_inbox, to_gr2);
    let gr2 = greenlet("gr2", gr2_inbox, to_gr1.clone());
    to_gr1.send(()).await.unwrap(); // gr1.switch(): start
    drop(to_gr1);
    gr1.await.unwrap();
    gr2.await.unwrap();

    // 2. yield_now, gevent.sleep(0): two tasks take turns without naming each other.
    let mut set = JoinSet::new();
    for name in ["a", "b"] {
        set.spawn(async move {
            for step in 1..=3 {
                println!("yield_now {name}: step {step}");
                runtime::yield_now().await;
            }
        });
    }
    set.join_all().await;

    // 3. gevent.spawn: three tasks, each sleeping three times; one thread runs them all,
    // switching at every sleep, so the sleeps overlap.
    let nap = Duration::from_millis(20);
    let started = Instant::now();
    let mut set = JoinSet::new();
    for name in ["t1", "t2", "t3"] {
        set.spawn(async move {
            for step in 1..=3 {
                let thread = std::thread::current();
                println!(
                    "{name}: step {step} on thread {}",
                    thread.name().unwrap_or("?")
                );
                sleep(nap).await; // gevent.sleep(1): switch to the others
            }
        });
    }
    set.join_all().await;
    println!(
        "3 tasks x 3 sleeps of {} ms on one thread: {} ms (one after another: {} ms)",
        nap.as_millis(),
        started.elapsed().as_millis(),
        9 * nap.as_millis()
    );
}
