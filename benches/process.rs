//! Child-process benchmarks: `runtime::process` side by side with `tokio::process` and
//! `async-process` (smol's), each on a multi-thread runtime of `--workers` threads (smol: an
//! `async_executor::Executor` run by that many threads in `smol::block_on`, which drive
//! async-io's reactor).
//!
//! ```text
//! cargo bench --bench process -- [--workers N] [--runs N] [--filter NAME] [--quick]
//! ```
//!
//! Workloads (sizes with `--quick` in brackets, for CI smoke runs):
//! - `spawn_wait`: 500 [20] `true` children, 32 at a time (32 tasks each spawning and
//!   awaiting one child after another); fork/exec dominates, the rest is how fast an exit
//!   reaches the waiting task.
//! - `output_16m`: `output()` of `head -c 16777216 /dev/zero` [256 KiB]: reading a pipe.
//! - `cat_ping_pong`: 10 000 [200] round trips of a 64-byte line through `cat`'s stdin and
//!   stdout, one child: a write and a wake-up per direction per round.
//!
//! Each runtime is built once per workload; every runtime runs the workload once to warm
//! up, then `--runs` rounds (default 5) run each runtime once, interleaved so that a load
//! change on the machine hits them alike; the table shows medians in ms (lower is better).
//! Absolute numbers move between machines: compare the ratios.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures::{AsyncReadExt, AsyncWriteExt};

#[path = "harness/mod.rs"]
mod harness;
use harness::rt::{done, expect_done, join_all, time_in_task, Ours, Rt, Spawner, Tokio};
use harness::{compare, ms, print_row, Config, Smol};

/// At most this many children run at once in `spawn_wait`.
const CONCURRENCY: usize = 32;
/// The line `cat_ping_pong` sends and expects back.
const LINE: [u8; 64] = {
    let mut line = [b'x'; 64];
    line[63] = b'\n';
    line
};

/// Workload sizes, full or `--quick`.
#[derive(Clone, Copy)]
struct Sizes {
    children: usize,
    output_bytes: usize,
    round_trips: usize,
}

const FULL: Sizes = Sizes {
    children: 500,
    output_bytes: 16 << 20,
    round_trips: 10_000,
};
const QUICK: Sizes = Sizes {
    children: 20,
    output_bytes: 256 << 10,
    round_trips: 200,
};

/// Set once in `main`; read by the workloads, which are plain `fn`s for `compare`.
static SIZES: OnceLock<Sizes> = OnceLock::new();

fn sizes() -> Sizes {
    *SIZES.get().expect("sizes are set in main")
}

// ===== the process APIs under test =====

/// What the workloads need of a runtime beyond [`Rt`]: its process API.
trait Proc: Rt {
    /// Runs `true` to completion.
    fn run_true() -> impl Future<Output = ()> + Send;
    /// `output()` of a child writing `bytes` zero bytes to stdout; returns how many came.
    fn output_len(bytes: usize) -> impl Future<Output = usize> + Send;
    /// `rounds` round trips of [`LINE`] through one `cat`.
    fn ping_pong(rounds: usize) -> impl Future<Output = ()> + Send;
}

fn head_args(bytes: usize) -> [String; 3] {
    ["-c".into(), bytes.to_string(), "/dev/zero".into()]
}

/// The round trips over any futures-io pipe pair (ours and async-process both are).
async fn ping_pong_futures_io(
    mut stdin: impl futures::AsyncWrite + Unpin,
    mut stdout: impl futures::AsyncRead + Unpin,
    rounds: usize,
) {
    let mut back = [0; LINE.len()];
    for _ in 0..rounds {
        stdin.write_all(&LINE).await.expect("write to cat");
        stdout.read_exact(&mut back).await.expect("read from cat");
        assert_eq!(back, LINE);
    }
}

/// `Proc` for a runtime whose process module has std's `Command` shape and futures-io
/// pipes (ours and async-process); `$wait` is the method that waits for a child.
macro_rules! futures_io_proc {
    ($rt:ty, $($path:ident)::+, $wait:ident) => {
        impl Proc for $rt {
            async fn run_true() {
                let status = $($path::)+Command::new("true").status().await;
                assert!(status.expect("run true").success());
            }
            async fn output_len(bytes: usize) -> usize {
                let out = $($path::)+Command::new("head")
                    .args(head_args(bytes))
                    .output()
                    .await;
                out.expect("run head").stdout.len()
            }
            async fn ping_pong(rounds: usize) {
                use $($path::)+{Command, Stdio};
                let mut child = Command::new("cat")
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .spawn()
                    .expect("spawn cat");
                let (stdin, stdout) = (child.stdin.take().unwrap(), child.stdout.take().unwrap());
                ping_pong_futures_io(stdin, stdout, rounds).await;
                assert!(child.$wait().await.expect("wait for cat").success());
            }
        }
    };
}

futures_io_proc!(Ours, runtime::process, wait);
futures_io_proc!(Smol, async_process, status);

impl Proc for Tokio {
    async fn run_true() {
        let status = tokio::process::Command::new("true").status().await;
        assert!(status.expect("run true").success());
    }
    async fn output_len(bytes: usize) -> usize {
        let out = tokio::process::Command::new("head")
            .args(head_args(bytes))
            .output()
            .await;
        out.expect("run head").stdout.len()
    }
    async fn ping_pong(rounds: usize) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut child = tokio::process::Command::new("cat")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("spawn cat");
        let mut stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let mut back = [0; LINE.len()];
        for _ in 0..rounds {
            stdin.write_all(&LINE).await.expect("write to cat");
            stdout.read_exact(&mut back).await.expect("read from cat");
            assert_eq!(back, LINE);
        }
        drop(stdin);
        assert!(child.wait().await.expect("wait for cat").success());
    }
}

// ===== workloads =====

fn spawn_wait<R: Proc>(rt: &R) -> Duration {
    let children = sizes().children;
    let elapsed = time_in_task(rt, |s| async move {
        let next = Arc::new(AtomicUsize::new(0));
        let workers: Vec<_> = (0..CONCURRENCY)
            .map(|_| {
                let next = next.clone();
                s.spawn(async move {
                    while next.fetch_add(1, Relaxed) < children {
                        R::run_true().await;
                        done(1);
                    }
                })
            })
            .collect();
        join_all(workers).await;
    });
    expect_done(children, "spawn_wait");
    elapsed
}

fn output_16m<R: Proc>(rt: &R) -> Duration {
    let bytes = sizes().output_bytes;
    let elapsed = time_in_task(rt, |_| async move {
        assert_eq!(R::output_len(bytes).await, bytes);
        done(1);
    });
    expect_done(1, "output_16m");
    elapsed
}

fn cat_ping_pong<R: Proc>(rt: &R) -> Duration {
    let rounds = sizes().round_trips;
    let elapsed = time_in_task(rt, |_| async move {
        R::ping_pong(rounds).await;
        done(1);
    });
    expect_done(1, "cat_ping_pong");
    elapsed
}

// ===== main =====

/// One workload, instantiated for each runtime.
struct Workload {
    name: &'static str,
    /// What it does, at the sizes of this run.
    what: String,
    ours: fn(&Ours) -> Duration,
    tokio: fn(&Tokio) -> Duration,
    smol: fn(&Smol) -> Duration,
}

fn main() {
    let cfg = Config::from_args("process");
    let quick = cfg.args.iter().any(|a| a == "--quick");
    let sizes = *SIZES.get_or_init(|| if quick { QUICK } else { FULL });
    println!(
        "process: {} workers each (smol: {} executor threads), median of {} runs after one \
         warm-up\nms, lower is better; best = the better of tokio and async-process\n",
        cfg.workers, cfg.workers, cfg.runs
    );
    let workloads = [
        Workload {
            name: "spawn_wait",
            what: format!("{} × true, {CONCURRENCY} at a time", sizes.children),
            ours: spawn_wait::<Ours>,
            tokio: spawn_wait::<Tokio>,
            smol: spawn_wait::<Smol>,
        },
        Workload {
            name: "output_16m",
            what: format!("output() of {} B", sizes.output_bytes),
            ours: output_16m::<Ours>,
            tokio: output_16m::<Tokio>,
            smol: output_16m::<Smol>,
        },
        Workload {
            name: "cat_ping_pong",
            what: format!("{} × {} B through cat", sizes.round_trips, LINE.len()),
            ours: cat_ping_pong::<Ours>,
            tokio: cat_ping_pong::<Tokio>,
            smol: cat_ping_pong::<Smol>,
        },
    ];
    print_row(
        "workload",
        [
            "runtime ms",
            "tokio ms",
            "async-proc ms",
            "runtime/tokio",
            "runtime/best",
        ],
    );
    let mut notes = Vec::new();
    for Workload {
        name,
        what,
        ours: ours_fn,
        tokio: tokio_fn,
        smol: smol_fn,
    } in workloads
    {
        if !cfg.wants(name) {
            continue;
        }
        let (ours, tokio, smol) = (
            Ours::build(cfg.workers),
            Tokio::build(cfg.workers),
            Smol::build(cfg.workers),
        );
        let times = compare(
            cfg.runs,
            &mut [
                &mut || ours_fn(&ours),
                &mut || tokio_fn(&tokio),
                &mut || smol_fn(&smol),
            ],
        );
        let [o, t, s] = [0, 1, 2].map(|i| ms(times[i]));
        print_row(
            name,
            [o, t, s]
                .map(|v| format!("{v:.1}"))
                .into_iter()
                .chain([o / t, o / t.min(s)].map(|r| format!("{r:.2}"))),
        );
        notes.push(format!("{name}: {what}"));
    }
    println!();
    for note in notes {
        println!("{note}");
    }
    let args = cfg.args.join(" ");
    let sep = if args.is_empty() { "" } else { " -- " };
    println!("\ncommand: cargo bench --bench process{sep}{args}");
}
