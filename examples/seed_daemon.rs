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
//! ```text
//! cargo run --release --example seed_daemon
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

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

fn main() -> std::io::Result<()> {
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

        // The non-daemon work: joined, so it finishes before main goes on.
        let worker = runtime::spawn(async {
            sleep(Duration::from_millis(20)).await;
            println!("worker: finished");
            42
        });
        println!("main: worker returned {}", worker.await.unwrap());

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
    });
    println!("main: dropping the runtime");
    drop(rt); // cancels the daemon, waits for the running blocking job
    println!("main: runtime gone");
    Ok(())
}
