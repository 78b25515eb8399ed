//! tokio-console on this runtime: named tasks that sleep, spin, and wait on a semaphore,
//! plus blocking jobs, to look at in the console (polls, busy and idle time, wakes).
//!
//! ```sh
//! cargo install --locked tokio-console      # once
//! RUSTFLAGS="--cfg console_without_tokio_unstable" cargo run --features tracing --example console
//! tokio-console                             # in another terminal; connects to 127.0.0.1:6669
//! ```
//!
//! Two switches are at work. The `tracing` feature makes the runtime emit what the console
//! reads: a `runtime.spawn` span per task (kind, name, id, spawn location) entered around
//! each poll, and `runtime::waker` events. The `--cfg console_without_tokio_unstable` flag
//! is `console-subscriber`'s own: its layer refuses to start unless it was built with that
//! flag or with `tokio_unstable`, which is how it knows the runtime is instrumented. In
//! your own program, the set-up is the same: enable `runtime`'s `tracing` feature, add
//! `console-subscriber`, call `console_subscriber::init()` first thing in `main`, and build
//! with the flag (or put it in `.cargo/config.toml` under `[build] rustflags`).
//!
//! Without the flag the example still runs, and prints each task's span as it closes
//! (through `tracing-subscriber`'s fmt output, with busy and idle time), so the
//! instrumentation can be seen without the console.
//!
//! `--rounds N` (default 600, a round is about 100 ms) sets how long it runs; Ctrl-C stops
//! it early.

use std::sync::Arc;
use std::time::Instant;

use runtime::sync::Semaphore;
use runtime::task::Builder;
use runtime::time::{sleep, Duration};

const ROUND: Duration = Duration::from_millis(100);

#[runtime::main]
async fn main() {
    let rounds = rounds_from_args();
    install_subscriber();

    let permits = Arc::new(Semaphore::new(0));
    let mut tasks = Vec::new();

    // Mostly idle: one short poll per timer expiry.
    tasks.push(Builder::new().name("sleeper").spawn(async move {
        for _ in 0..rounds {
            sleep(ROUND).await;
        }
    }));

    // Mostly busy: spins 2 ms per poll, then yields, so console shows a high busy time
    // and many polls.
    tasks.push(Builder::new().name("spinner").spawn(async move {
        for _ in 0..rounds {
            spin(Duration::from_millis(2));
            runtime::yield_now().await;
            sleep(ROUND / 2).await;
        }
    }));

    // Waits on a primitive: woken by the ticker's `add_permits`.
    let waiting = permits.clone();
    tasks.push(Builder::new().name("waiter").spawn(async move {
        for _ in 0..rounds {
            waiting.acquire().await.expect("never closed").forget();
        }
    }));

    // Wakes the waiter once a round, and hands a little CPU work to the blocking pool
    // every tenth round (console lists those jobs with kind "blocking").
    tasks.push(Builder::new().name("ticker").spawn(async move {
        for round in 0..rounds {
            sleep(ROUND).await;
            permits.add_permits(1);
            if round % 10 == 0 {
                let sum = runtime::spawn_blocking(move || {
                    (0..200_000u64).map(|x| x ^ round).sum::<u64>()
                });
                sum.await.expect("the job does not panic");
            }
        }
    }));

    for task in tasks {
        task.await.expect("the example's tasks do not panic");
    }
    println!("console example: {rounds} rounds done");
}

/// Burns CPU on this worker for `d`: what a poll that computes looks like.
fn spin(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

/// The console layer when console-subscriber will accept this build, else fmt output of
/// the task spans.
fn install_subscriber() {
    if cfg!(any(tokio_unstable, console_without_tokio_unstable)) {
        console_subscriber::init();
        println!("console: serving on 127.0.0.1:6669; run `tokio-console` to watch");
    } else {
        use tracing_subscriber::filter::Targets;
        use tracing_subscriber::fmt::format::FmtSpan;
        use tracing_subscriber::prelude::*;

        let spans = Targets::new().with_target("runtime::task", tracing::Level::TRACE);
        tracing_subscriber::registry()
            .with(tracing_subscriber::fmt::layer().with_span_events(FmtSpan::CLOSE))
            .with(spans)
            .init();
        println!(
            "built without --cfg console_without_tokio_unstable: printing task spans instead \
             (see this example's doc for the console set-up)"
        );
    }
}

fn rounds_from_args() -> u64 {
    let mut args = std::env::args().skip(1);
    match (args.next().as_deref(), args.next()) {
        (None, _) => 600,
        (Some("--rounds"), Some(n)) => n.parse().expect("--rounds takes a number"),
        _ => {
            eprintln!("usage: console [--rounds N]");
            std::process::exit(2);
        }
    }
}
