//! Running the programs in `examples/` from tests.
//!
//! `cargo test` builds every example next to the test binaries (`target/<profile>/examples/`),
//! so a test runs the very program a user would run, and checks what it prints or serves.
//! Running one test file alone (`cargo test --test NAME`) does not rebuild the examples:
//! `cargo build --examples --all-features` first, or the helpers below say so.

use std::io::{BufRead, BufReader, ErrorKind, Read};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// How long an example may run before the test kills it and fails: a hang guard, far above
/// what any example takes.
pub(crate) const EXAMPLE_GUARD: Duration = Duration::from_secs(120);

/// The path of the built example `name`.
///
/// # Panics
///
/// If cargo has not built it, with a message saying how to build it.
pub(crate) fn path(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    // target/<profile>/deps/<test>-<hash> -> target/<profile>/examples/<name>
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test binary inside target/<profile>/deps");
    let bin = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "example `{name}` is not built at {}: run `cargo build --examples --all-features` \
         (the full `cargo test --workspace` builds it)",
        bin.display()
    );
    bin
}

/// Runs example `name` with `args` to completion and returns what it printed and its exit
/// status, killing it if it outlives [`EXAMPLE_GUARD`].
pub(crate) fn run(name: &str, args: &[&str]) -> Output {
    let child = Command::new(path(name))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting example `{name}`: {e}"));
    let guard = KillGuard::arm(child.id(), EXAMPLE_GUARD);
    let output = child.wait_with_output().expect("waiting for the example");
    assert!(
        !guard.disarm(),
        "example `{name}` ran past {EXAMPLE_GUARD:?} and was killed; it printed:\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
    output
}

/// Kills a process if it is still running after a time limit, unless disarmed first.
#[derive(Debug)]
struct KillGuard {
    disarm: mpsc::Sender<()>,
    watchdog: thread::JoinHandle<bool>,
}

impl KillGuard {
    fn arm(pid: u32, limit: Duration) -> KillGuard {
        let (disarm, disarmed) = mpsc::channel::<()>();
        let watchdog = thread::spawn(move || {
            let expired = disarmed.recv_timeout(limit) == Err(mpsc::RecvTimeoutError::Timeout);
            if expired {
                kill(pid);
            }
            expired
        });
        KillGuard { disarm, watchdog }
    }

    /// Stops the watch; returns whether the process had to be killed.
    fn disarm(self) -> bool {
        let _ = self.disarm.send(());
        self.watchdog.join().expect("watchdog thread")
    }
}

/// Runs example `name`, asserts it exited successfully, and returns its standard output.
pub(crate) fn stdout_of(name: &str, args: &[&str]) -> String {
    let output = run(name, args);
    let stdout = String::from_utf8(output.stdout).expect("example output is UTF-8");
    assert!(
        output.status.success(),
        "example `{name}` failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// An example running in the background, killed when dropped or after [`EXAMPLE_GUARD`]
/// (which ends any read of its output that would hang).
#[derive(Debug)]
pub(crate) struct Process {
    child: Child,
    /// What it prints, for tests that read it line by line.
    pub(crate) stdout: BufReader<ChildStdout>,
    guard: Option<KillGuard>,
}

impl Process {
    /// Starts example `name` with `args`, its standard output piped to [`Process::stdout`].
    pub(crate) fn start(name: &str, args: &[&str]) -> Process {
        let mut child = Command::new(path(name))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("starting example `{name}`: {e}"));
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let guard = Some(KillGuard::arm(child.id(), EXAMPLE_GUARD));
        Process {
            child,
            stdout,
            guard,
        }
    }

    /// The next line it prints, without the newline; `None` once it closed its output.
    pub(crate) fn line(&mut self) -> Option<String> {
        let mut line = String::new();
        let n = self
            .stdout
            .read_line(&mut line)
            .expect("reading the example's output");
        (n > 0).then(|| line.trim_end().to_owned())
    }

    /// Its process id, for reading `/proc/PID/...`.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends signal `signum` (`libc::SIGTERM`, ...) to it.
    pub(crate) fn signal(&self, signum: libc::c_int) {
        // SAFETY: kill(2) on the pid of our child, which is not reaped before `wait_exit`
        // or drop (both take `&mut self`), so the pid cannot have been reused.
        let sent = unsafe { libc::kill(self.child.id() as libc::pid_t, signum) };
        assert_eq!(
            sent,
            0,
            "kill({signum}): {}",
            std::io::Error::last_os_error()
        );
    }

    /// Waits for it to exit, at most `limit` (then kills it and panics); returns its status
    /// and what it printed that was not read yet.
    pub(crate) fn wait_exit(&mut self, limit: Duration) -> (ExitStatus, String) {
        // One guard at a time, so none can fire after the child is reaped.
        if let Some(lifetime) = self.guard.take() {
            assert!(
                !lifetime.disarm(),
                "ran past {EXAMPLE_GUARD:?} and was killed"
            );
        }
        let guard = KillGuard::arm(self.child.id(), limit);
        let status = self.child.wait().expect("waiting for the example");
        let killed = guard.disarm();
        let mut rest = String::new();
        let _ = self.stdout.read_to_string(&mut rest);
        assert!(
            !killed,
            "still running after {limit:?}; it printed:\n{rest}"
        );
        (status, rest)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Some(guard) = self.guard.take() {
            guard.disarm();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server example running in the background, killed when dropped.
#[derive(Debug)]
pub(crate) struct Server {
    /// The process, for tests that signal it or read more of its output.
    pub(crate) process: Process,
    /// The address it printed on its first line (`listening on ADDR`).
    pub(crate) addr: SocketAddr,
}

impl Server {
    /// Starts example `name` with `--addr 127.0.0.1:0` followed by `args`, and waits for the
    /// `listening on ADDR` line every server example prints first.
    pub(crate) fn start(name: &str, args: &[&str]) -> Server {
        let mut all_args = vec!["--addr", "127.0.0.1:0"];
        all_args.extend_from_slice(args);
        let mut process = Process::start(name, &all_args);
        let line = process.line().unwrap_or_default();
        let addr = line
            .strip_prefix("listening on ")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| {
                panic!("example `{name}` printed {line:?}, not `listening on ADDR`")
            });
        Server { process, addr }
    }

    /// Whether the server process is still running (it has not crashed).
    pub(crate) fn is_running(&mut self) -> bool {
        self.process
            .child
            .try_wait()
            .expect("polling the server")
            .is_none()
    }

    /// Stops the server and returns everything it printed after the first line.
    pub(crate) fn stop(mut self) -> String {
        let _ = self.process.child.kill();
        self.process.wait_exit(EXAMPLE_GUARD).1
    }
}

fn kill(pid: u32) {
    // SAFETY: kill(2) with a pid we spawned and have not reaped (the waiting thread reaps it
    // only after it exits, which this kill causes), so the pid cannot have been reused.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGKILL);
    }
}

// ===== graceful shutdown =====

/// How long a test gives a server to react to a shutdown signal (close a connection,
/// refuse new ones): a bound, not a speed claim.
pub(crate) const SHUTDOWN_GUARD: Duration = Duration::from_secs(10);

/// The `(drained, cut off)` counts of the `shutdown: drained N connection(s) in S s, M cut
/// off` line in `output`; panics if there is no such line.
pub(crate) fn drain_report(output: &str) -> (usize, usize) {
    let parse = |line: &str| {
        let rest = line.strip_prefix("shutdown: drained ")?;
        let (drained, rest) = rest.split_once(' ')?;
        let (_, rest) = rest.split_once(" s, ")?;
        let cut = rest.strip_suffix(" cut off")?;
        Some((drained.parse().ok()?, cut.parse().ok()?))
    };
    output
        .lines()
        .find_map(parse)
        .unwrap_or_else(|| panic!("no `shutdown: drained …` line in:\n{output}"))
}

impl Server {
    /// Sends `signum` and reads the line the server prints once it stopped accepting
    /// (`shutdown: SIGTERM: stopped accepting, draining …`); returns that line.
    pub(crate) fn begin_shutdown(&mut self, signum: libc::c_int) -> String {
        self.process.signal(signum);
        let line = self.process.line().unwrap_or_default();
        assert!(
            line.starts_with("shutdown: ") && line.contains(": stopped accepting, draining "),
            "after signal {signum} the server printed {line:?}"
        );
        line
    }
}

/// Asserts a new connection to `addr` is refused: the server closed its listener.
pub(crate) fn assert_refused(addr: SocketAddr) {
    match TcpStream::connect_timeout(&addr, SHUTDOWN_GUARD) {
        Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}"),
        Ok(_) => panic!("{addr} still accepts connections"),
    }
}

/// Asserts the server closes `stream` within [`SHUTDOWN_GUARD`] without sending anything
/// more (a reset counts as a close).
pub(crate) fn assert_closed_soon(stream: &mut TcpStream) {
    stream.set_read_timeout(Some(SHUTDOWN_GUARD)).unwrap();
    let mut rest = Vec::new();
    match stream.read_to_end(&mut rest) {
        Ok(_) => assert!(rest.is_empty(), "sent before closing: {rest:?}"),
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        Err(e) => panic!("not closed within {SHUTDOWN_GUARD:?}: {e}"),
    }
}
