//! Seed 13: daemon threads: what is waited for when the program ends, and what is dropped.
//!
//! The Python notes: the process waits for every non-daemon thread; daemon threads are
//! killed when the main thread (with the non-daemon ones) is done.
//!
//! ```python
//! t = Thread(target=heartbeat, daemon=True); t.start()   # dies with the program
//! w = Thread(target=work); w.start()                     # the program waits for it
//! ```
//!
//! With the runtime, nothing is waited for implicitly: you `.await` the `JoinHandle` of the
//! tasks that must finish (the non-daemon ones). Dropping a `JoinHandle` detaches the task;
//! a detached task that is still running when the runtime shuts down (the end of
//! `#[runtime::main]`, or dropping a `Runtime`) is cancelled: its future is dropped, so its
//! destructors run, like a daemon thread dying with the process but cleanly. A
//! `spawn_blocking` job can't be interrupted mid-call, so shutdown waits for the ones already
//! running (`Runtime::shutdown_timeout` bounds that wait).
//!
//! Ctrl-C is Python's `KeyboardInterrupt` in the main thread: here the main task waits for
//! the worker *or* Ctrl-C, whichever comes first. On Ctrl-C it stops waiting and goes on to
//! the end, and the runtime's shutdown drops the worker like the daemon: an unfinished task
//! that nobody awaits is a daemon too.
//!
//! ```text
//! cargo run --release --example seed_daemon
//! cargo run --release --example seed_daemon -- --worker-ms 10000   # then press Ctrl-C
//! ```

use std::io::Write;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::future::{select, Either};
use runtime::signal::unix::{signal, SignalKind};
use runtime::sync::Event;
use runtime::time::{interval, sleep};

/// Announces when the daemon's future is dropped (a real daemon would flush a log here).
struct Goodbye(Arc<AtomicUsize>);

impl Drop for Goodbye {
    fn drop(&mut self) {
        let ticks = self.0.load(Ordering::SeqCst);
        println!("daemon: dropped at shutdown after {ticks} ticks, never finished");
    }
}

/// Says so if the worker's future is dropped before it finished.
struct Unfinished;

impl Drop for Unfinished {
    fn drop(&mut self) {
        println!("worker: dropped at shutdown, never finished");
    }
}

fn main() -> std::io::Result<()> {
    // How long the worker works: `--worker-ms N` (default 20), long enough to press Ctrl-C.
    let mut work = Duration::from_millis(20);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next().and_then(|v| v.parse().ok())) {
            ("--worker-ms", Some(ms)) => work = Duration::from_millis(ms),
            _ => {
                eprintln!("usage: seed_daemon [--worker-ms N]");
                std::process::exit(2);
            }
        }
    }
    let rt = runtime::Runtime::new()?;
    rt.block_on(async {
        // The daemon: a heartbeat that would run forever. Its handle is dropped at once.
        let ticks = Arc::new(AtomicUsize::new(0));
        let goodbye = Goodbye(ticks.clone()); // moved into the future, dropped with it
        drop(runtime::spawn(async move {
            let _goodbye = goodbye;
            let mut every = interval(Duration::from_millis(5));
            loop {
                every.tick().await;
                ticks.fetch_add(1, Ordering::SeqCst);
            }
        }));

        // The non-daemon work: joined, so it finishes before main goes on, unless Ctrl-C
        // comes first. The listener is made before the wait is announced, so a Ctrl-C
        // after the announcement is never missed (and no longer kills the process).
        let mut ctrl_c = signal(SignalKind::interrupt())?;
        let worker = runtime::spawn(async move {
            let unfinished = Unfinished;
            sleep(work).await;
            std::mem::forget(unfinished); // finished: nothing to say on drop
            println!("worker: finished");
            42
        });
        println!("main: waiting for the worker (Ctrl-C stops waiting)");
        std::io::stdout().flush()?;
        match select(worker, pin!(ctrl_c.recv())).await {
            Either::Left((joined, _)) => println!("main: worker returned {}", joined.unwrap()),
            // The worker's handle is dropped with the `select`: it is detached now.
            Either::Right(_) => println!("main: Ctrl-C, leaving the worker to the shutdown"),
        }

        // A blocking job still running at shutdown: not joined, yet waited for.
        let started = Arc::new(Event::new());
        drop(runtime::spawn_blocking({
            let started = started.clone();
            move || {
                started.set();
                std::thread::sleep(Duration::from_millis(100));
                println!("blocking job: finished");
            }
        }));
        started.wait().await;
        println!("main: leaving block_on");
        std::io::Result::Ok(())
    })?;
    println!("main: dropping the runtime");
    drop(rt); // cancels the daemon (and an abandoned worker), waits for the blocking job
    println!("main: runtime gone");
    Ok(())
}
