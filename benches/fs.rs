//! Filesystem benchmarks: `runtime::fs` side by side with `tokio::fs` and `async-fs`
//! (smol's), each on its own runtime with the same worker count.
//!
//! ```text
//! cargo bench --bench fs -- [--workers N] [--runs N] [--filter NAME] [--quick]
//! ```
//!
//! Workloads (`--quick`: tiny sizes, for CI smoke runs):
//! - `small_files`: 1 000 files × 4 KiB, each read whole (`fs::read`), 64 tasks in flight.
//! - `stream_large`: one 64 MiB file streamed through a `File` in 8 KiB reads.
//! - `small_writes`: 100 000 × 100 B written through a `File` (`write_all` each), then
//!   `flush`.
//!
//! Every library is used as its docs show, with no extra buffering added: what a small
//! read or write costs is the point. The files are written once before the first run, so
//! reads come from the page cache: the figures are the cost of the async layer (pool round
//! trips, copies), not of the disk. Each runtime is built once per workload, runs it once
//! to warm up and then `--runs` times (default 5); the table shows the medians. Compare the
//! ratios, which are measured in one process.

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

#[path = "harness/mod.rs"]
mod harness;
use harness::rt::{bench, done, expect_done, join_all, time_in_task, Ours, Rt, Spawner, Tokio};
use harness::{print_row, print_times, Config, Smol};

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// How big each workload is.
struct Sizes {
    files: usize,
    file_len: usize,
    tasks: usize,
    large_len: usize,
    read_len: usize,
    writes: usize,
    write_len: usize,
}

const FULL: Sizes = Sizes {
    files: 1_000,
    file_len: 4 * 1024,
    tasks: 64,
    large_len: 64 * 1024 * 1024,
    read_len: 8 * 1024,
    writes: 100_000,
    write_len: 100,
};

const QUICK: Sizes = Sizes {
    files: 50,
    file_len: 4 * 1024,
    tasks: 8,
    large_len: 1024 * 1024,
    read_len: 8 * 1024,
    writes: 1_000,
    write_len: 100,
};

/// The sizes and the scratch directory, set once in `main` (the workloads are plain `fn`s,
/// as the harness wants).
struct Setup {
    sizes: &'static Sizes,
    dir: PathBuf,
}

static SETUP: OnceLock<Setup> = OnceLock::new();

fn setup() -> &'static Setup {
    SETUP.get().expect("main sets up the workloads first")
}

fn small_file(i: usize) -> PathBuf {
    setup().dir.join(format!("small-{i}"))
}

fn large_file() -> PathBuf {
    setup().dir.join("large")
}

/// The written file of `small_writes`, one per library so none reads another's.
fn written_file(lib: &str) -> PathBuf {
    setup().dir.join(format!("written-{lib}"))
}

// ===== the three libraries behind one interface =====

/// The filesystem API that goes with a runtime under test.
trait Fs: Rt {
    const NAME: &'static str;
    fn read(path: PathBuf) -> impl Future<Output = io::Result<Vec<u8>>> + Send;
    /// Reads the file through the library's `File` in `chunk`-byte reads; returns the
    /// bytes read.
    fn stream(path: PathBuf, chunk: usize) -> impl Future<Output = io::Result<usize>> + Send;
    /// Creates the file and makes `count` writes of `len` bytes through the library's
    /// `File`, then flushes.
    fn write_many(
        path: PathBuf,
        count: usize,
        len: usize,
    ) -> impl Future<Output = io::Result<()>> + Send;
}

impl Fs for Ours {
    const NAME: &'static str = "runtime";
    async fn read(path: PathBuf) -> io::Result<Vec<u8>> {
        runtime::fs::read(path).await
    }
    async fn stream(path: PathBuf, chunk: usize) -> io::Result<usize> {
        read_through(runtime::fs::File::open(path).await?, chunk).await
    }
    async fn write_many(path: PathBuf, count: usize, len: usize) -> io::Result<()> {
        write_through(runtime::fs::File::create(path).await?, count, len).await
    }
}

impl Fs for Smol {
    const NAME: &'static str = "async-fs";
    async fn read(path: PathBuf) -> io::Result<Vec<u8>> {
        async_fs::read(path).await
    }
    async fn stream(path: PathBuf, chunk: usize) -> io::Result<usize> {
        read_through(async_fs::File::open(path).await?, chunk).await
    }
    async fn write_many(path: PathBuf, count: usize, len: usize) -> io::Result<()> {
        write_through(async_fs::File::create(path).await?, count, len).await
    }
}

/// `stream` for a futures-io file (ours and async-fs's both are one).
async fn read_through(mut file: impl AsyncRead + Unpin, chunk: usize) -> io::Result<usize> {
    let (mut buf, mut total) = (vec![0; chunk], 0);
    loop {
        match file.read(&mut buf).await? {
            0 => return Ok(total),
            n => total += n,
        }
    }
}

/// `write_many` for a futures-io file.
async fn write_through(
    mut file: impl AsyncWrite + Unpin,
    count: usize,
    len: usize,
) -> io::Result<()> {
    let record = vec![7; len];
    for _ in 0..count {
        file.write_all(&record).await?;
    }
    file.flush().await
}

impl Fs for Tokio {
    const NAME: &'static str = "tokio";
    async fn read(path: PathBuf) -> io::Result<Vec<u8>> {
        tokio::fs::read(path).await
    }
    // The same loops as `read_through` and `write_through`, over tokio's own IO traits.
    async fn stream(path: PathBuf, chunk: usize) -> io::Result<usize> {
        use tokio::io::AsyncReadExt;
        let mut file = tokio::fs::File::open(path).await?;
        let (mut buf, mut total) = (vec![0; chunk], 0);
        while let n @ 1.. = file.read(&mut buf).await? {
            total += n;
        }
        Ok(total)
    }
    async fn write_many(path: PathBuf, count: usize, len: usize) -> io::Result<()> {
        use tokio::io::AsyncWriteExt;
        let mut file = tokio::fs::File::create(path).await?;
        let record = vec![7; len];
        for _ in 0..count {
            file.write_all(&record).await?;
        }
        file.flush().await
    }
}

// ===== workloads =====

/// `tasks` tasks share the files round-robin, so `tasks` reads are in flight at once.
fn small_files<R: Fs>(rt: &R) -> Duration {
    let sizes = setup().sizes;
    let elapsed = time_in_task(rt, |s| async move {
        let tasks = (0..sizes.tasks)
            .map(|t| {
                s.spawn(async move {
                    for i in (t..sizes.files).step_by(sizes.tasks) {
                        let bytes = R::read(small_file(i)).await.expect("read a small file");
                        assert_eq!(bytes.len(), sizes.file_len);
                        done(1);
                    }
                })
            })
            .collect();
        join_all(tasks).await;
    });
    expect_done(sizes.files, "small_files");
    elapsed
}

fn stream_large<R: Fs>(rt: &R) -> Duration {
    let sizes = setup().sizes;
    let elapsed = time_in_task(rt, |_| async move {
        let read = R::stream(large_file(), sizes.read_len)
            .await
            .expect("stream the large file");
        done(read);
    });
    expect_done(sizes.large_len, "stream_large");
    elapsed
}

fn small_writes<R: Fs>(rt: &R) -> Duration {
    let sizes = setup().sizes;
    let path = written_file(R::NAME);
    let target = path.clone();
    let elapsed = time_in_task(rt, |_| async move {
        R::write_many(target, sizes.writes, sizes.write_len)
            .await
            .expect("write the file");
        done(1);
    });
    expect_done(1, "small_writes");
    let len = std::fs::metadata(&path).expect("the written file").len();
    assert_eq!(
        len as usize,
        sizes.writes * sizes.write_len,
        "small_writes: short file"
    );
    elapsed
}

/// The files the reading workloads read, written once, outside every timing.
fn write_inputs(sizes: &Sizes, dir: &Path) {
    std::fs::create_dir_all(dir).expect("create the bench directory");
    let small: Vec<u8> = (0..sizes.file_len).map(|i| i as u8).collect();
    for i in 0..sizes.files {
        std::fs::write(dir.join(format!("small-{i}")), &small).expect("write a small file");
    }
    let large: Vec<u8> = (0..sizes.large_len).map(|i| (i / 7) as u8).collect();
    std::fs::write(dir.join("large"), large).expect("write the large file");
}

/// Removes the scratch directory however `main` ends.
struct RemoveOnDrop(Arc<PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&*self.0);
    }
}

struct Workload {
    name: &'static str,
    what: String,
    ours: fn(&Ours) -> Duration,
    tokio: fn(&Tokio) -> Duration,
    smol: fn(&Smol) -> Duration,
}

macro_rules! workload {
    ($f:ident, $what:expr) => {
        Workload {
            name: stringify!($f),
            what: $what,
            ours: $f,
            tokio: $f,
            smol: $f,
        }
    };
}

fn main() {
    let cfg = Config::from_args("fs");
    let quick = cfg.args.iter().any(|a| a == "--quick");
    let sizes = if quick { &QUICK } else { &FULL };
    let dir = std::env::temp_dir().join(format!("runtime-bench-fs-{}", std::process::id()));
    let _cleanup = RemoveOnDrop(Arc::new(dir.clone()));
    write_inputs(sizes, &dir);
    SETUP.get_or_init(|| Setup { sizes, dir });

    let (workers, runs) = (cfg.workers, cfg.runs);
    println!("fs: {workers} workers each, median of {runs} runs after one warm-up\n");
    let workloads = [
        workload!(
            small_files,
            format!(
                "{} files × {} B, fs::read each, {} tasks",
                sizes.files, sizes.file_len, sizes.tasks
            )
        ),
        workload!(
            stream_large,
            format!(
                "{} MiB through a File in {} B reads",
                sizes.large_len >> 20,
                sizes.read_len
            )
        ),
        workload!(
            small_writes,
            format!(
                "{} × {} B write_all through a File, then flush",
                sizes.writes, sizes.write_len
            )
        ),
    ];
    let header = ["runtime ms", "tokio ms", "async-fs ms", "runtime/tokio"];
    print_row("workload", header.iter().chain(&["runtime/best"]));
    let mut rows = Vec::new();
    for w in workloads.iter().filter(|w| cfg.wants(w.name)) {
        let times = [
            bench(&cfg, w.ours),
            bench(&cfg, w.tokio),
            bench(&cfg, w.smol),
        ];
        rows.push((w, print_times(w.name, times)));
    }
    println!();
    for (w, ratio) in &rows {
        println!("{}: {} (runtime/best {ratio:.2})", w.name, w.what);
    }

    let args = cfg.args.join(" ");
    let sep = if args.is_empty() { "" } else { " -- " };
    println!("\ncommand: cargo bench --bench fs{sep}{args}");
}
