//! Fan-out benchmarks: one sender, many receivers. This crate's `broadcast` and `watch` on
//! its own runtime, side by side with `tokio::sync::{broadcast, watch}` on tokio and
//! `async-broadcast` on smol's executor (each the natural pairing). smol's column for watch
//! runs `tokio::sync::watch` (which works on any executor): `async-watch` 0.3.1 panics in this
//! workload ("[bug] failed to observe change after notificaton", a receiver woken while the
//! sender is still sending), so it is left out.
//!
//! ```text
//! cargo bench --bench fanout -- [--workers N] [--runs N] [--filter NAME] [--quick]
//! ```
//!
//! - `broadcast_R`: one sender task sends `BROADCAST_MESSAGES` messages (yielding every
//!   `SEND_BATCH`), `R` receiver tasks each receive all of them. The ring holds every message,
//!   so no receiver lags and every library does the same work; each receiver's count is
//!   checked.
//! - `watch_R`: one sender task stores `WATCH_SENDS` values, yielding after each; `R`
//!   receiver tasks wait in `changed()` and read the value until the sender is gone; each must
//!   end having seen the last value.
//!
//! Each runtime is built once per workload, runs it once to warm up and then `--runs` times
//! (default 5); the table shows the median. Absolute numbers move between machines and runs:
//! compare the ratios, measured side by side in one process.

use std::future::Future;
use std::time::Duration;

#[path = "harness/mod.rs"]
mod harness;
use harness::rt::{bench, done, expect_done, join_all, time_in_task, Ours, Rt, Spawner, Tokio};
use harness::{print_row, print_times, Config, Smol};

const BROADCAST_MESSAGES: usize = 4_096;
const SEND_BATCH: usize = 16;
const WATCH_SENDS: usize = 2_000;

// ===== the families under test =====

/// A runtime with its natural broadcast and watch channels.
trait Fanout: Rt {
    fn yield_now() -> impl Future<Output = ()> + Send;
    /// The broadcast workload with `receivers` receiver tasks, spawned through `s`.
    fn broadcast(s: Self::Spawner, receivers: usize) -> impl Future<Output = ()> + Send;
    /// The watch workload with `receivers` receiver tasks, spawned through `s`.
    fn watch(s: Self::Spawner, receivers: usize) -> impl Future<Output = ()> + Send;
}

impl Fanout for Ours {
    fn yield_now() -> impl Future<Output = ()> + Send {
        runtime::yield_now()
    }
    async fn broadcast(s: runtime::Handle, receivers: usize) {
        use runtime::sync::broadcast;
        let (tx, rx) = broadcast::channel(BROADCAST_MESSAGES);
        let handles: Vec<_> = (0..receivers)
            .map(|_| {
                let mut rx = rx.resubscribe();
                s.spawn(async move {
                    let mut got = 0;
                    while rx.recv().await.is_ok() {
                        got += 1;
                    }
                    done(got);
                })
            })
            .collect();
        drop(rx);
        for i in 0..BROADCAST_MESSAGES {
            tx.send(i).expect("receivers alive");
            if i % SEND_BATCH == 0 {
                Self::yield_now().await;
            }
        }
        drop(tx);
        join_all(handles).await;
    }
    async fn watch(s: runtime::Handle, receivers: usize) {
        use runtime::sync::watch;
        let (tx, rx) = watch::channel(0usize);
        let handles: Vec<_> = (0..receivers)
            .map(|_| {
                let mut rx = rx.clone();
                s.spawn(async move {
                    let mut last = 0;
                    while rx.changed().await.is_ok() {
                        last = *rx.borrow_and_update();
                    }
                    assert_eq!(last, WATCH_SENDS, "saw the last value");
                    done(1);
                })
            })
            .collect();
        drop(rx);
        for i in 1..=WATCH_SENDS {
            tx.send(i).expect("receivers alive");
            Self::yield_now().await;
        }
        drop(tx);
        join_all(handles).await;
    }
}

impl Fanout for Tokio {
    fn yield_now() -> impl Future<Output = ()> + Send {
        tokio::task::yield_now()
    }
    async fn broadcast(s: tokio::runtime::Handle, receivers: usize) {
        use tokio::sync::broadcast;
        let (tx, rx) = broadcast::channel(BROADCAST_MESSAGES);
        let handles: Vec<_> = (0..receivers)
            .map(|_| {
                let mut rx = rx.resubscribe();
                s.spawn(async move {
                    let mut got = 0;
                    while rx.recv().await.is_ok() {
                        got += 1;
                    }
                    done(got);
                })
            })
            .collect();
        drop(rx);
        for i in 0..BROADCAST_MESSAGES {
            tx.send(i).expect("receivers alive");
            if i % SEND_BATCH == 0 {
                Self::yield_now().await;
            }
        }
        drop(tx);
        join_all(handles).await;
    }
    async fn watch(s: tokio::runtime::Handle, receivers: usize) {
        use tokio::sync::watch;
        let (tx, rx) = watch::channel(0usize);
        let handles: Vec<_> = (0..receivers)
            .map(|_| {
                let mut rx = rx.clone();
                s.spawn(async move {
                    let mut last = 0;
                    while rx.changed().await.is_ok() {
                        last = *rx.borrow_and_update();
                    }
                    assert_eq!(last, WATCH_SENDS, "saw the last value");
                    done(1);
                })
            })
            .collect();
        drop(rx);
        for i in 1..=WATCH_SENDS {
            tx.send(i).expect("receivers alive");
            Self::yield_now().await;
        }
        drop(tx);
        join_all(handles).await;
    }
}

impl Fanout for Smol {
    fn yield_now() -> impl Future<Output = ()> + Send {
        futures_lite::future::yield_now()
    }
    async fn broadcast(s: <Smol as Rt>::Spawner, receivers: usize) {
        let (tx, rx) = async_broadcast::broadcast(BROADCAST_MESSAGES);
        let handles: Vec<_> = (0..receivers)
            .map(|_| {
                // A clone starts where the original is: at the start, as nothing is sent yet.
                let mut rx = rx.clone();
                s.spawn(async move {
                    let mut got = 0;
                    while rx.recv_direct().await.is_ok() {
                        got += 1;
                    }
                    done(got);
                })
            })
            .collect();
        drop(rx);
        for i in 0..BROADCAST_MESSAGES {
            // Room for every message: never waits.
            tx.try_broadcast(i).expect("receivers alive, room left");
            if i % SEND_BATCH == 0 {
                Self::yield_now().await;
            }
        }
        drop(tx);
        join_all(handles).await;
    }
    async fn watch(s: <Smol as Rt>::Spawner, receivers: usize) {
        use tokio::sync::watch;
        let (tx, rx) = watch::channel(0usize);
        let handles: Vec<_> = (0..receivers)
            .map(|_| {
                let mut rx = rx.clone();
                s.spawn(async move {
                    let mut last = 0;
                    while rx.changed().await.is_ok() {
                        last = *rx.borrow_and_update();
                    }
                    assert_eq!(last, WATCH_SENDS, "saw the last value");
                    done(1);
                })
            })
            .collect();
        drop(rx);
        for i in 1..=WATCH_SENDS {
            tx.send(i).expect("receivers alive");
            Self::yield_now().await;
        }
        drop(tx);
        join_all(handles).await;
    }
}

// ===== workloads =====

fn broadcast_16<R: Fanout>(rt: &R) -> Duration {
    broadcast_fanout(rt, 16, "broadcast_16")
}

fn broadcast_256<R: Fanout>(rt: &R) -> Duration {
    broadcast_fanout(rt, 256, "broadcast_256")
}

fn broadcast_fanout<R: Fanout>(rt: &R, receivers: usize, name: &str) -> Duration {
    let elapsed = time_in_task(rt, |s| R::broadcast(s, receivers));
    expect_done(receivers * BROADCAST_MESSAGES, name);
    elapsed
}

fn watch_16<R: Fanout>(rt: &R) -> Duration {
    watch_fanout(rt, 16, "watch_16")
}

fn watch_256<R: Fanout>(rt: &R) -> Duration {
    watch_fanout(rt, 256, "watch_256")
}

fn watch_fanout<R: Fanout>(rt: &R, receivers: usize, name: &str) -> Duration {
    let elapsed = time_in_task(rt, |s| R::watch(s, receivers));
    expect_done(receivers, name);
    elapsed
}

// ===== harness =====

/// A timed workload, instantiated for each runtime.
struct Workload {
    name: &'static str,
    ours: fn(&Ours) -> Duration,
    tokio: fn(&Tokio) -> Duration,
    smol: fn(&Smol) -> Duration,
}

macro_rules! workload {
    ($f:ident) => {
        Workload {
            name: stringify!($f),
            ours: $f,
            tokio: $f,
            smol: $f,
        }
    };
}

fn main() {
    let cfg = Config::from_args("fanout");
    println!(
        "fanout: {} workers each, median of {} runs after one warm-up",
        cfg.workers, cfg.runs
    );
    println!(
        "broadcast_R: 1 sender, R receivers, {BROADCAST_MESSAGES} messages; \
         watch_R: 1 sender, R receivers in changed(), {WATCH_SENDS} sends\n"
    );
    let workloads = [
        workload!(broadcast_16),
        workload!(broadcast_256),
        workload!(watch_16),
        workload!(watch_256),
    ];
    print_row(
        "workload",
        [
            "runtime ms",
            "tokio ms",
            "smol ms",
            "runtime/tokio",
            "runtime/best",
        ],
    );
    let mut vs_best = Vec::new();
    for w in workloads.iter().filter(|w| cfg.wants(w.name)) {
        let times = [
            bench(&cfg, w.ours),
            bench(&cfg, w.tokio),
            bench(&cfg, w.smol),
        ];
        vs_best.push((w.name, print_times(w.name, times)));
    }
    println!("(smol runs async-broadcast, and tokio::sync::watch for watch)");
    if !vs_best.is_empty() {
        let list = |meets: bool| {
            let names: Vec<_> = vs_best
                .iter()
                .filter(|(_, r)| (*r <= 1.0) == meets)
                .map(|(n, r)| format!("{n} ({r:.2})"))
                .collect();
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            }
        };
        println!("\nruntime/best <= 1.00 (meets): {}", list(true));
        println!("runtime/best >  1.00 (misses): {}", list(false));
    }
    let args = cfg.args.join(" ");
    let sep = if args.is_empty() { "" } else { " -- " };
    println!("\ncommand: cargo bench --bench fanout{sep}{args}");
}
