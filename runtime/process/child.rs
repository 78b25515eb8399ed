//! `Child`: a spawned process, its pipes, and waiting for its exit.

use super::pipe::{ChildStderr, ChildStdin, ChildStdout};
use super::reaper::Reaper;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::process::{ExitStatus, Output};
use std::task::Poll;

/// A child process started by [`Command::spawn`](super::Command::spawn).
///
/// The pipes the command asked for ([`Stdio::piped`](super::Stdio::piped)) are in the
/// public fields; take them out (`child.stdout.take()`) to move them into other tasks.
///
/// Dropping a `Child` does not wait for the process: it keeps running (unless
/// [`Command::kill_on_drop`](super::Command::kill_on_drop) was set, which kills it) and is
/// reaped in the background once it exits, so it leaves no zombie. See the
/// [module docs](super#dropping-a-child).
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use runtime::process::Command;
/// let mut child = Command::new("sh").args(["-c", "exit 7"]).spawn()?;
/// assert!(child.id().is_some());
/// let status = child.wait().await?;
/// assert_eq!(status.code(), Some(7));
/// assert_eq!(child.id(), None); // reaped
/// # Ok(())
/// # }
/// ```
pub struct Child {
    /// The writing end of the child's stdin, if it was piped.
    pub stdin: Option<ChildStdin>,
    /// The reading end of the child's stdout, if it was piped.
    pub stdout: Option<ChildStdout>,
    /// The reading end of the child's stderr, if it was piped.
    pub stderr: Option<ChildStderr>,
    reaper: Reaper,
}

impl Child {
    /// Wraps a std child just spawned (with `handle` current), registering its pidfd and
    /// pipes with `handle`'s reactor.
    pub(crate) fn from_std(
        mut std: std::process::Child,
        handle: crate::Handle,
        kill_on_drop: bool,
    ) -> io::Result<Child> {
        let (stdin, stdout, stderr) = (std.stdin.take(), std.stdout.take(), std.stderr.take());
        let mut child = Child {
            stdin: None,
            stdout: None,
            stderr: None,
            reaper: Reaper::new(std, handle, kill_on_drop)?,
        };
        let pipes = (|| {
            child.stdin = stdin.map(ChildStdin::from_std).transpose()?;
            child.stdout = stdout.map(ChildStdout::from_std).transpose()?;
            child.stderr = stderr.map(ChildStderr::from_std).transpose()?;
            io::Result::Ok(())
        })();
        if let Err(e) = pipes {
            // A child whose pipes we can't use would wait on them forever: end it. Its
            // reaper reaps it in the background as `child` drops.
            let _ = child.reaper.start_kill();
            return Err(e);
        }
        Ok(child)
    }

    /// The OS process id, or `None` once the child has been reaped (after `wait` or a
    /// `try_wait` that saw it exit), when the id may already belong to another process.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let mut child = runtime::process::Command::new("true").spawn()?;
    /// let pid = child.id().unwrap();
    /// assert!(pid > 0);
    /// child.wait().await?;
    /// assert_eq!(child.id(), None);
    /// # Ok(())
    /// # }
    /// ```
    pub fn id(&self) -> Option<u32> {
        self.reaper.id()
    }

    /// Waits for the child to exit and returns its status. Stdin is closed first (the
    /// field becomes `None`), so a child reading its input sees end of file instead of
    /// waiting for us while we wait for it.
    ///
    /// The task sleeps until the reactor reports the child's pidfd readable; no thread
    /// waits for it. Once reaped, every later call returns the same status at once.
    ///
    /// # Errors
    ///
    /// If the process can't be waited for (`waitpid` fails, e.g. because something else
    /// in this process reaped it), or the runtime it was spawned on has shut down.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: dropping the future loses nothing; a later `wait` or `try_wait` still
    /// returns the status.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use runtime::process::Command;
    /// use std::time::Duration;
    /// let mut child = Command::new("sh").args(["-c", "sleep 0.05; exit 3"]).spawn()?;
    /// // Gave up once; nothing is lost by that.
    /// assert!(runtime::time::timeout(Duration::from_millis(1), child.wait()).await.is_err());
    /// assert_eq!(child.wait().await?.code(), Some(3));
    /// assert_eq!(child.wait().await?.code(), Some(3)); // again, at once
    /// # Ok(())
    /// # }
    /// ```
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        poll_fn(|cx| self.reaper.poll_wait(cx)).await
    }

    /// The exit status if the child has exited (reaping it then), `None` if it still
    /// runs. Never waits.
    ///
    /// # Errors
    ///
    /// If `waitpid` fails.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use runtime::process::Command;
    /// let mut child = Command::new("sleep").arg("1000").spawn()?;
    /// assert!(child.try_wait()?.is_none()); // still running
    /// child.kill().await?;
    /// assert!(child.try_wait()?.is_some());
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.reaper.try_wait()
    }

    /// Sends `SIGKILL` to the child and returns without waiting; [`wait`](Self::wait) (or
    /// dropping the `Child`) reaps it. A child that already exited is left alone: `Ok`.
    ///
    /// # Errors
    ///
    /// If `kill(2)` fails.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use std::os::unix::process::ExitStatusExt;
    /// let mut child = runtime::process::Command::new("sleep").arg("1000").spawn()?;
    /// child.start_kill()?;
    /// assert_eq!(child.wait().await?.signal(), Some(libc::SIGKILL));
    /// # Ok(())
    /// # }
    /// ```
    pub fn start_kill(&mut self) -> io::Result<()> {
        self.reaper.start_kill()
    }

    /// Sends `SIGKILL` to the child and waits until it is reaped: [`start_kill`] then
    /// [`wait`].
    ///
    /// [`start_kill`]: Self::start_kill
    /// [`wait`]: Self::wait
    ///
    /// # Errors
    ///
    /// Those of `start_kill` and `wait`.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: the signal is sent on the first poll; if the future is dropped after
    /// that, the child still dies, and `wait` (or dropping the `Child`) reaps it.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let mut child = runtime::process::Command::new("sleep").arg("1000").spawn()?;
    /// let status = child.kill().await?;
    /// assert!(!status.success());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn kill(&mut self) -> io::Result<ExitStatus> {
        self.start_kill()?;
        self.wait().await
    }

    /// Waits for the child to exit while reading all of its piped stdout and stderr (at
    /// the same time, so a child filling one pipe while we read the other can't
    /// deadlock), and returns the three. Stdin is closed first, as in [`wait`](Self::wait).
    /// A stream that was not piped gives an empty `Vec`.
    ///
    /// # Errors
    ///
    /// Those of reading the pipes and of `wait`.
    ///
    /// # Cancel safety
    ///
    /// Not cancel-safe: the output read so far is lost with the future, and so is the
    /// `Child` (reaped in the background, or killed under `kill_on_drop`).
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use runtime::process::{Command, Stdio};
    /// let child = Command::new("sh")
    ///     .args(["-c", "echo out; echo err >&2; exit 1"])
    ///     .stdout(Stdio::piped())
    ///     .stderr(Stdio::piped())
    ///     .spawn()?;
    /// let output = child.wait_with_output().await?;
    /// assert_eq!(output.stdout, b"out\n");
    /// assert_eq!(output.stderr, b"err\n");
    /// assert_eq!(output.status.code(), Some(1));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn wait_with_output(mut self) -> io::Result<Output> {
        drop(self.stdin.take());
        let (stdout_pipe, stderr_pipe) = (self.stdout.take(), self.stderr.take());
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let (mut stdout_done, mut stderr_done) = (stdout_pipe.is_none(), stderr_pipe.is_none());
        let mut status = None;
        let status = poll_fn(|cx| -> Poll<io::Result<ExitStatus>> {
            if let (false, Some(pipe)) = (stdout_done, &stdout_pipe) {
                if let Poll::Ready(res) = pipe.poll_read_to_end(cx, &mut stdout) {
                    res?;
                    stdout_done = true;
                }
            }
            if let (false, Some(pipe)) = (stderr_done, &stderr_pipe) {
                if let Poll::Ready(res) = pipe.poll_read_to_end(cx, &mut stderr) {
                    res?;
                    stderr_done = true;
                }
            }
            if status.is_none() {
                if let Poll::Ready(res) = self.reaper.poll_wait(cx) {
                    status = Some(res?);
                }
            }
            match status {
                Some(status) if stdout_done && stderr_done => Poll::Ready(Ok(status)),
                _ => Poll::Pending,
            }
        })
        .await?;
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Child")
            .field("stdin", &self.stdin)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .field("reaper", &self.reaper)
            .finish()
    }
}
