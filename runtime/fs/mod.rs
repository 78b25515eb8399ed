//! Files and directories: std's `fs`, with every system call on the blocking pool so a
//! task waiting for the disk doesn't hold up the others on its worker.
//!
//! - Whole files: [`read`], [`read_to_string`], [`write()`], [`copy`].
//! - Open files: [`File`] (futures-io [`AsyncRead`], [`AsyncBufRead`], [`AsyncWrite`],
//!   [`AsyncSeek`], buffered), opened with [`File::open`], [`File::create`] or
//!   [`OpenOptions`].
//! - Directories: [`create_dir`], [`create_dir_all`], [`remove_dir`], [`remove_dir_all`],
//!   [`read_dir`] (a [`Stream`] of [`DirEntry`]).
//! - Paths: [`rename`], [`remove_file`], [`metadata`], [`symlink_metadata`],
//!   [`canonicalize`], [`try_exists`], [`set_permissions`].
//!
//! Reading and writing an open [`File`] goes through the futures-io traits, e.g. with
//! `futures::{AsyncReadExt, AsyncWriteExt, AsyncSeekExt}` (or `futures-lite`'s).
//!
//! ```
//! # #[runtime::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use futures::{AsyncReadExt, AsyncWriteExt};
//! use runtime::fs;
//! let dir = std::env::temp_dir().join(format!("runtime-doc-fs-{}", std::process::id()));
//! fs::create_dir_all(&dir).await?;
//!
//! fs::write(dir.join("greeting"), "hello").await?;
//! let mut file = fs::OpenOptions::new().append(true).open(dir.join("greeting")).await?;
//! file.write_all(b", world").await?;
//! file.flush().await?; // writes are buffered: flush to hand them to the OS
//! assert_eq!(fs::read_to_string(dir.join("greeting")).await?, "hello, world");
//!
//! let missing = fs::File::open(dir.join("nope")).await.unwrap_err();
//! assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
//! assert!(missing.to_string().starts_with("failed to open "));
//! assert!(missing.to_string().contains("nope"));
//!
//! let mut text = String::new();
//! fs::File::open(dir.join("greeting")).await?.read_to_string(&mut text).await?;
//! assert_eq!(text, "hello, world");
//! fs::remove_dir_all(&dir).await?;
//! # Ok(())
//! # }
//! ```
//!
//! # Mechanism: the blocking pool
//!
//! Each operation is a job on the runtime's blocking pool ([`spawn_blocking`]'s threads)
//! running std's call, and the task awaits its `JoinHandle`. Regular files are always
//! "ready" to `epoll`, so the reactor can't help; the choice was between the pool and
//! io_uring. The pool is what this crate uses because it works on every kernel and in
//! every container (io_uring is often disabled by seccomp, and needs 5.6+ for the
//! operations here), covers every call (`read_dir`, `canonicalize` and `remove_dir_all`
//! have no io_uring form), and is cheap here: the pool's submit path is one CAS, and a
//! round trip (submit, run, wake the task) measured about 11 µs on the project's 2-core
//! machine (BENCHMARKS.md, blocking pool). That cost is paid per *job*, not per call: [`File`] buffers, so a loop of small reads or
//! writes costs one job per 64 KiB, and [`ReadDir`] fetches 32 entries per job. Where
//! io_uring would win (very many small random reads in flight at once) `benches/fs.rs`
//! measures this runtime against tokio's and smol's pools; BENCHMARKS.md has the figures.
//!
//! # Rules every function here follows
//!
//! - **Errors name the path**: "failed to open /x/y: No such file or directory (os error
//!   2)". The [`io::Error`](std::io::Error) keeps std's [`kind`](std::io::Error::kind) (a
//!   missing file is `NotFound`) and has std's error as its
//!   [`source`](std::error::Error::source), which still has the `raw_os_error`.
//! - **Cancelling doesn't undo**: a job, once queued, runs to the end even if its future
//!   is dropped (a thread inside a system call can't be stopped); the result is then
//!   discarded, so a dropped [`write()`] may still have written. Each function's
//!   `# Cancel safety` says what that means for it; [`File`]'s own operations keep their
//!   results for the next call.
//! - **A runtime is needed**: the free functions and opening a file panic outside one
//!   (like [`spawn`](crate::spawn)); an open [`File`] or [`ReadDir`] keeps its runtime's
//!   handle and can be polled from anywhere.
//!
//! [`spawn_blocking`]: crate::spawn_blocking
//! [`AsyncRead`]: futures_io::AsyncRead
//! [`AsyncBufRead`]: futures_io::AsyncBufRead
//! [`AsyncWrite`]: futures_io::AsyncWrite
//! [`AsyncSeek`]: futures_io::AsyncSeek
//! [`Stream`]: futures_core::Stream

mod buf;
mod error;
mod file;
mod functions;
mod open_options;
mod pool;
mod read_dir;

pub use file::File;
pub use functions::{
    canonicalize, copy, create_dir, create_dir_all, metadata, read, read_to_string, remove_dir,
    remove_dir_all, remove_file, rename, set_permissions, symlink_metadata, try_exists, write,
};
pub use open_options::OpenOptions;
pub use read_dir::{read_dir, DirEntry, ReadDir};
