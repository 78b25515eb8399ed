//! Seed 3: deadlock, the scientists eating noodles; found by a timeout, then fixed twice.
//!
//! The Python original: two locks taken in opposite orders by two threads.
//!
//! ```python
//! def eat1(noodle_lock, fork_lock):          # the professor
//!     noodle_lock.acquire(); print("got the noodles"); time.sleep(0.2)
//!     fork_lock.acquire();   print("got the fork")     # waits forever
//! def eat2(noodle_lock, fork_lock):          # the student: fork first, then noodles
//!     ...
//! noodle_lock = fork_lock = RLock()          # the seed's fix: one reentrant lock
//! ```
//!
//! In Rust the two scientists are tasks and the locks are `runtime::sync::Mutex`. Where the
//! seed sleeps 0.2 s to make the bad interleaving *likely*, a `Barrier` makes it *certain*:
//! each scientist holds a first lock when both reach the table. The program does not hang:
//! the runtime is built with `detect_deadlocks(true)`, so the second scientist's wait closes
//! a cycle in its wait-for graph and `on_deadlock` receives the report at once (who waits,
//! where, for which lock, held by whom since where); `time::timeout` is the backstop the
//! program would have without it. Aborting one task drops its guard, which lets the other
//! eat. Then the two fixes:
//!
//! 1. one lock order: everybody takes the noodles before the fork;
//! 2. the seed's fix, one `ReentrantMutex` under both names. Its guard belongs to the task or
//!    thread that took it (`!Send`), so this part runs the scientists as OS threads of the
//!    blocking pool, exactly as the seed's threads.
//!
//! ```text
//! cargo run --release --example seed_deadlock
//! ```

use std::sync::Arc;
use std::time::Duration;

use runtime::diag::DeadlockReport;
use runtime::sync::{channel, Barrier, Mutex, ReentrantMutex};
use runtime::time::{sleep, timeout};

/// Takes `first`, then `second`, announcing each; meets the other scientist at `table` in
/// between when one is given.
async fn eat(
    who: &'static str,
    (first, first_name): (&Mutex<()>, &str),
    (second, second_name): (&Mutex<()>, &str),
    table: Option<&Barrier>,
) {
    let _first = first.lock().await;
    println!("{who}: got the {first_name}");
    match table {
        Some(table) => drop(table.wait().await), // both now hold their first lock
        None => sleep(Duration::from_millis(20)).await, // the seed's time.sleep(0.2)
    }
    let _second = second.lock().await;
    println!("{who}: got the {second_name}, eating");
    sleep(Duration::from_millis(5)).await;
    println!("{who}: done");
}

fn main() {
    // The runtime's deadlock detector hands its report to this channel.
    let (reports, found) = channel::unbounded();
    runtime::Builder::new_multi_thread()
        .detect_deadlocks(true)
        .on_deadlock(move |report: &DeadlockReport| {
            let _ = reports.try_send(report.clone());
        })
        .build()
        .expect("build the runtime")
        .block_on(dine(found));
}

async fn dine(found: channel::Receiver<DeadlockReport>) {
    let (noodles, noodles_line) = (Arc::new(Mutex::new(())), line!());
    let fork = Arc::new(Mutex::new(()));

    // The deadlock: noodles then fork, against fork then noodles.
    let table = Arc::new(Barrier::new(2));
    // Named tasks: the report calls them by their names.
    let professor = runtime::task::Builder::new().name("professor").spawn({
        let (n, f, t) = (noodles.clone(), fork.clone(), table.clone());
        async move { eat("professor", (&n, "noodles"), (&f, "fork"), Some(&t)).await }
    });
    let student = runtime::task::Builder::new().name("student").spawn({
        let (n, f, t) = (noodles.clone(), fork.clone(), table.clone());
        async move { eat("student", (&f, "fork"), (&n, "noodles"), Some(&t)).await }
    });
    let limit = Duration::from_secs(10);
    let report = timeout(limit, found.recv())
        .await
        .expect("the runtime finds the cycle as soon as the second scientist waits")
        .expect("the runtime is alive");
    // The report as the runtime prints it by default, then what a program can read from it.
    eprintln!("{report}");
    let (p, s) = (professor.id().as_u64(), student.id().as_u64());
    let who = |id: Option<u64>| match id {
        Some(id) if id == p => "professor",
        Some(id) if id == s => "student",
        _ => "someone else",
    };
    let mut links: Vec<_> = report.links().iter().collect();
    links.sort_by_key(|link| who(link.waiter().task_id()));
    for link in links {
        let created = link.resource().created().line();
        let lock = if created == noodles_line {
            "noodles"
        } else {
            "fork"
        };
        println!(
            "deadlock found: the {} waits for the {lock}, held by the {}",
            who(link.waiter().task_id()),
            who(link.holder().task_id())
        );
    }
    println!(
        "noodles locked: {}, fork locked: {}",
        noodles.try_lock().is_err(),
        fork.try_lock().is_err()
    );
    // Breaking it: aborting a task drops its future, and with it the guard it held. Abort the
    // professor and the noodles come free, so the student, still waiting, eats.
    println!("aborting the professor");
    professor.abort();
    let cancelled = professor.await.unwrap_err().is_cancelled();
    student.await.unwrap();
    println!(
        "professor cancelled: {cancelled}; noodles free: {}, fork free: {}",
        noodles.try_lock().is_ok(),
        fork.try_lock().is_ok()
    );

    let limit = Duration::from_millis(300);
    // Fix 1: one lock order. Whoever gets the noodles first eats first.
    println!("fix 1: one lock order");
    let professor = runtime::spawn({
        let (n, f) = (noodles.clone(), fork.clone());
        async move { eat("professor", (&n, "noodles"), (&f, "fork"), None).await }
    });
    let student = runtime::spawn({
        let (n, f) = (noodles.clone(), fork.clone());
        async move { eat("student", (&n, "noodles"), (&f, "fork"), None).await }
    });
    timeout(limit, async {
        professor.await.unwrap();
        student.await.unwrap();
    })
    .await
    .expect("one lock order cannot deadlock");

    // Fix 2, the seed's: `noodle_lock = fork_lock = RLock()`. Taking it "as the fork" while
    // holding it "as the noodles" nests instead of waiting.
    println!("fix 2: one reentrant lock under both names");
    let rlock = Arc::new(ReentrantMutex::new(()));
    let scientist = |who: &'static str, first: &'static str, second: &'static str| {
        let (first_lock, second_lock) = (rlock.clone(), rlock.clone());
        runtime::spawn_blocking(move || {
            let _first = first_lock.lock_blocking();
            println!("{who}: got the {first}");
            std::thread::sleep(Duration::from_millis(20));
            let _second = second_lock.lock_blocking(); // the same lock: nests
            println!("{who}: got the {second}, eating");
            std::thread::sleep(Duration::from_millis(5));
            println!("{who}: done");
        })
    };
    let professor = scientist("professor", "noodles", "fork");
    let student = scientist("student", "fork", "noodles");
    timeout(limit, async {
        professor.await.unwrap();
        student.await.unwrap();
    })
    .await
    .expect("one reentrant lock cannot deadlock");
    println!("everybody ate");
    assert!(found.try_recv().is_err(), "the fixes deadlock nowhere");
}
