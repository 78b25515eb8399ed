//! Child processes: std's `Command`, with children the runtime waits for without
//! blocking a thread, and their pipes as async streams.
//!
//! - [`Command`] builds and starts a process: [`spawn`](Command::spawn) gives a [`Child`];
//!   [`status`](Command::status) and [`output`](Command::output) run it to completion.
//! - [`Child`] is the running process: [`wait`](Child::wait), [`try_wait`](Child::try_wait),
//!   [`start_kill`](Child::start_kill) / [`kill`](Child::kill),
//!   [`wait_with_output`](Child::wait_with_output), and its piped streams in the public
//!   fields [`stdin`](Child::stdin), [`stdout`](Child::stdout), [`stderr`](Child::stderr).
//! - [`ChildStdin`] implements `futures_io::AsyncWrite`; [`ChildStdout`] and
//!   [`ChildStderr`] implement `futures_io::AsyncRead`. Each also has inherent `read`/
//!   `read_to_end` or `write`/`write_all`.
//! - [`Stdio`], [`ExitStatus`] and [`Output`] are std's, re-exported.
//!
//! ```
//! # #[runtime::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use runtime::process::{Command, Stdio};
//! let mut child = Command::new("sh")
//!     .args(["-c", "read name; echo \"hello, $name\"; exit 2"])
//!     .stdin(Stdio::piped())
//!     .stdout(Stdio::piped())
//!     .spawn()?;
//! child.stdin.as_mut().unwrap().write_all(b"world\n").await?;
//! let output = child.wait_with_output().await?;
//! assert_eq!(output.stdout, b"hello, world\n");
//! assert_eq!(output.status.code(), Some(2));
//! # Ok(())
//! # }
//! ```
//!
//! # How an exit is noticed
//!
//! `spawn` opens a *pidfd* for the child (`pidfd_open(2)`, Linux 5.3 and later) and
//! registers it with the reactor, like a socket. It becomes readable when the child exits;
//! a task in [`Child::wait`] sleeps until then and reaps the child with
//! `waitpid(pid, WNOHANG)`. So a thousand children being waited for cost a thousand fds
//! and registrations, and no thread, timer or polling loop.
//!
//! Where `pidfd_open` fails (older kernels, or a sandbox that forbids it), the child waits
//! on `SIGCHLD` instead, through [`runtime::signal`](crate::signal): every delivery makes
//! each waiting child check its own exit with `waitpid(pid, WNOHANG)`. Still no thread per
//! child; the cost is one `waitpid` per waiting child per SIGCHLD. Only if even that
//! listener can't be made does `spawn` fail, after killing and reaping the child.
//!
//! # Dropping a child
//!
//! A [`Child`] may be dropped before it exits; so may a `status` or `output` future.
//!
//! - With [`Command::kill_on_drop(true)`](Command::kill_on_drop) the child is sent
//!   `SIGKILL` then. This is opt-in, as in tokio: by default a dropped child runs on,
//!   as std's does.
//! - Either way it is then **reaped in the background**: if it has not exited yet, a small
//!   task on the runtime that spawned it waits on its pidfd and reaps it, so no zombie
//!   is left behind while that runtime runs, and no thread is spent on it. A task was
//!   chosen over a list of orphans turned by the driver because it needs nothing new from
//!   the driver or the schedulers, and shows up in metrics like any other waiting task.
//! - If that runtime shuts down first, the child goes on a process-wide list that the
//!   next `Command::spawn` (on any runtime) sweeps with `try_wait`.
//!
//! ```
//! # #[runtime::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use runtime::process::Command;
//! let child = Command::new("sh").args(["-c", "sleep 0.01"]).spawn()?;
//! drop(child); // not waited for: reaped by a background task once it exits
//! let killed = Command::new("sleep").arg("1000").kill_on_drop(true).spawn()?;
//! drop(killed); // SIGKILL now, then reaped the same way
//! # Ok(())
//! # }
//! ```

mod child;
mod command;
mod pipe;
mod reaper;

pub use child::Child;
pub use command::Command;
pub use pipe::{ChildStderr, ChildStdin, ChildStdout};
pub use std::process::{ExitStatus, Output, Stdio};
