//! `Command`: std's process builder, spawning children the runtime can wait for.

use super::child::Child;
use std::ffi::OsStr;
use std::io;
use std::path::Path;
use std::process::{ExitStatus, Output, Stdio};

/// A process builder: `std::process::Command`'s settings, with a [`spawn`](Self::spawn)
/// whose [`Child`] is waited for by the runtime, and async [`output`](Self::output) and
/// [`status`](Self::status).
///
/// By default a child inherits stdin, stdout and stderr, the environment and the working
/// directory; `output` pipes stdout and stderr instead (and gives stdin `/dev/null`)
/// unless you chose them.
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use runtime::process::Command;
/// let output = Command::new("sh")
///     .args(["-c", "echo \"$GREETING from $(pwd)\""])
///     .env("GREETING", "hello")
///     .current_dir("/")
///     .output()
///     .await?;
/// assert!(output.status.success());
/// assert_eq!(output.stdout, b"hello from /\n");
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Command {
    std: std::process::Command,
    kill_on_drop: bool,
    /// Whether the caller set stdin, stdout, stderr (std can't be asked): `output` picks
    /// for the others.
    chosen: Chosen,
}

#[derive(Debug, Default, Clone, Copy)]
struct Chosen {
    stdin: bool,
    stdout: bool,
    stderr: bool,
}

impl Command {
    /// A command running `program`, looked up in `PATH` if it has no slash, with no
    /// arguments.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let status = runtime::process::Command::new("true").status().await?;
    /// assert!(status.success());
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        Command {
            std: std::process::Command::new(program),
            kill_on_drop: false,
            chosen: Chosen::default(),
        }
    }

    /// Adds one argument, passed as is (no shell splitting or quoting).
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let out = runtime::process::Command::new("echo").arg("two words").output().await?;
    /// assert_eq!(out.stdout, b"two words\n");
    /// # Ok(())
    /// # }
    /// ```
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.std.arg(arg);
        self
    }

    /// Adds several arguments.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let out = runtime::process::Command::new("echo").args(["a", "b"]).output().await?;
    /// assert_eq!(out.stdout, b"a b\n");
    /// # Ok(())
    /// # }
    /// ```
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std.args(args);
        self
    }

    /// Sets an environment variable for the child.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use runtime::process::Command;
    /// let out = Command::new("sh").args(["-c", "echo $X"]).env("X", "42").output().await?;
    /// assert_eq!(out.stdout, b"42\n");
    /// # Ok(())
    /// # }
    /// ```
    pub fn env(&mut self, key: impl AsRef<OsStr>, val: impl AsRef<OsStr>) -> &mut Command {
        self.std.env(key, val);
        self
    }

    /// Sets several environment variables.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use runtime::process::Command;
    /// let out = Command::new("sh")
    ///     .args(["-c", "echo $A$B"])
    ///     .envs([("A", "1"), ("B", "2")])
    ///     .output()
    ///     .await?;
    /// assert_eq!(out.stdout, b"12\n");
    /// # Ok(())
    /// # }
    /// ```
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.envs(vars);
        self
    }

    /// Removes a variable from the child's environment (inherited or set here).
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use runtime::process::Command;
    /// let out = Command::new("sh")
    ///     .args(["-c", "echo \"[$X]\""])
    ///     .env("X", "set")
    ///     .env_remove("X")
    ///     .output()
    ///     .await?;
    /// assert_eq!(out.stdout, b"[]\n");
    /// # Ok(())
    /// # }
    /// ```
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Command {
        self.std.env_remove(key);
        self
    }

    /// Starts the child with an empty environment (plus what `env` adds afterwards).
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use runtime::process::Command;
    /// // No PATH either, hence the absolute path.
    /// let out = Command::new("/bin/sh")
    ///     .args(["-c", "echo \"[$HOME]\""])
    ///     .env_clear()
    ///     .output()
    ///     .await?;
    /// assert_eq!(out.stdout, b"[]\n");
    /// # Ok(())
    /// # }
    /// ```
    pub fn env_clear(&mut self) -> &mut Command {
        self.std.env_clear();
        self
    }

    /// Sets the child's working directory. A relative program path is resolved by the OS
    /// in a platform-specific way; prefer absolute paths with this.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let out = runtime::process::Command::new("pwd").current_dir("/").output().await?;
    /// assert_eq!(out.stdout, b"/\n");
    /// # Ok(())
    /// # }
    /// ```
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.std.current_dir(dir);
        self
    }

    /// Sets the child's stdin: [`Stdio::piped`] gives [`Child::stdin`] a
    /// [`ChildStdin`](super::ChildStdin), [`Stdio::null`] gives it `/dev/null`,
    /// [`Stdio::inherit`] (the default) shares ours.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use runtime::process::{Command, Stdio};
    /// let child = Command::new("cat").stdin(Stdio::null()).stdout(Stdio::piped()).spawn()?;
    /// assert!(child.stdin.is_none());
    /// assert_eq!(child.wait_with_output().await?.stdout, b""); // /dev/null is empty
    /// # Ok(())
    /// # }
    /// ```
    pub fn stdin(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdin(cfg);
        self.chosen.stdin = true;
        self
    }

    /// Sets the child's stdout, as [`stdin`](Self::stdin) does.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use runtime::process::{Command, Stdio};
    /// // Chosen here, so `output` doesn't capture it.
    /// let out = Command::new("echo").arg("hidden").stdout(Stdio::null()).output().await?;
    /// assert!(out.stdout.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn stdout(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdout(cfg);
        self.chosen.stdout = true;
        self
    }

    /// Sets the child's stderr, as [`stdin`](Self::stdin) does.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use runtime::process::{Command, Stdio};
    /// let mut child = Command::new("sh")
    ///     .args(["-c", "echo oops >&2"])
    ///     .stderr(Stdio::piped())
    ///     .spawn()?;
    /// let mut err = Vec::new();
    /// child.stderr.as_mut().unwrap().read_to_end(&mut err).await?;
    /// assert_eq!(err, b"oops\n");
    /// # Ok(())
    /// # }
    /// ```
    pub fn stderr(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stderr(cfg);
        self.chosen.stderr = true;
        self
    }

    /// Whether dropping the [`Child`] (or a cancelled `status`/`output` future) kills the
    /// process with `SIGKILL`. Off by default: a dropped child runs on and is reaped in
    /// the background when it exits. Either way no zombie is left.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use runtime::process::Command;
    /// use std::time::Duration;
    /// let mut server = Command::new("sleep");
    /// server.arg("1000").kill_on_drop(true);
    /// // Timing out drops the `status` future and its child: `sleep` is killed.
    /// assert!(runtime::time::timeout(Duration::from_millis(10), server.status()).await.is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn kill_on_drop(&mut self, kill_on_drop: bool) -> &mut Command {
        self.kill_on_drop = kill_on_drop;
        self
    }

    /// Starts the child. Its exit is watched by the current runtime's reactor (through a
    /// pidfd), and piped streams are registered there too, so the [`Child`] must be
    /// waited for on that runtime (or just dropped: it is reaped in the background).
    ///
    /// # Errors
    ///
    /// Those of `std::process::Command::spawn`: `NotFound` for a program that doesn't
    /// exist, `PermissionDenied` for one that isn't executable, … Where the kernel refuses
    /// `pidfd_open` the child is watched through SIGCHLD instead; only if that listener
    /// can't be made either does `spawn` fail, with the child killed and reaped first (see
    /// the [module docs](super#how-an-exit-is-noticed)).
    ///
    /// # Panics
    ///
    /// Outside a runtime (before starting any process).
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use runtime::process::Command;
    /// let mut child = Command::new("true").spawn()?;
    /// assert!(child.wait().await?.success());
    ///
    /// let missing = Command::new("no-such-program-here").spawn().unwrap_err();
    /// assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
    /// # Ok(())
    /// # }
    /// ```
    #[track_caller]
    pub fn spawn(&mut self) -> io::Result<Child> {
        let handle = crate::Handle::current();
        super::reaper::sweep_orphans();
        let std = self.std.spawn()?;
        Child::from_std(std, handle, self.kill_on_drop)
    }

    /// Runs the child to completion with inherited stdio, and returns its exit status.
    ///
    /// # Errors
    ///
    /// Those of [`spawn`](Self::spawn) and [`Child::wait`].
    ///
    /// # Panics
    ///
    /// On its first poll outside a runtime.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops the child: killed under
    /// [`kill_on_drop`](Self::kill_on_drop), otherwise left to run and reaped in the
    /// background.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use runtime::process::Command;
    /// assert!(Command::new("true").status().await?.success());
    /// assert_eq!(Command::new("false").status().await?.code(), Some(1));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn status(&mut self) -> io::Result<ExitStatus> {
        self.spawn()?.wait().await
    }

    /// Sets stdin to `input()` and stdout and stderr to `output()`, each only where the
    /// caller made no choice.
    fn unchosen_stdio(&mut self, input: fn() -> Stdio, output: fn() -> Stdio) {
        if !self.chosen.stdin {
            self.std.stdin(input());
        }
        if !self.chosen.stdout {
            self.std.stdout(output());
        }
        if !self.chosen.stderr {
            self.std.stderr(output());
        }
    }

    /// Runs the child to completion and collects its stdout and stderr. Unless chosen with
    /// [`stdout`](Self::stdout) / [`stderr`](Self::stderr), both are piped and captured,
    /// and stdin is `/dev/null` unless chosen with [`stdin`](Self::stdin) (std's rules).
    /// The choices made for this call don't stay on the `Command`.
    ///
    /// # Errors
    ///
    /// Those of [`spawn`](Self::spawn) and [`Child::wait_with_output`].
    ///
    /// # Panics
    ///
    /// On its first poll outside a runtime.
    ///
    /// # Cancel safety
    ///
    /// As [`status`](Self::status); the output read so far is lost.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use runtime::process::Command;
    /// let out = Command::new("sh").args(["-c", "echo yes; echo no >&2"]).output().await?;
    /// assert_eq!(out.stdout, b"yes\n");
    /// assert_eq!(out.stderr, b"no\n");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn output(&mut self) -> io::Result<Output> {
        self.unchosen_stdio(Stdio::null, Stdio::piped);
        let child = self.spawn();
        // Back to the defaults for later spawns of this Command.
        self.unchosen_stdio(Stdio::inherit, Stdio::inherit);
        child?.wait_with_output().await
    }
}
