//! Running the programs in `examples/` from tests.
//!
//! `cargo test` builds every example next to the test binaries (`target/<profile>/examples/`),
//! so a test runs the very program a user would run, and checks what it prints or serves.
//! Running one test file alone (`cargo test --test NAME`) does not rebuild the examples:
//! `cargo build --examples --all-features` first, or the helpers below say so.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Output, Stdio};
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
    let pid = child.id();
    let (done, guard) = mpsc::channel::<()>();
    let watchdog = thread::spawn(move || {
        if guard.recv_timeout(EXAMPLE_GUARD) == Err(mpsc::RecvTimeoutError::Timeout) {
            kill(pid);
            true
        } else {
            false
        }
    });
    let output = child.wait_with_output().expect("waiting for the example");
    let _ = done.send(());
    let killed = watchdog.join().expect("watchdog thread");
    assert!(
        !killed,
        "example `{name}` ran past {EXAMPLE_GUARD:?} and was killed; it printed:\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
    output
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

/// A server example running in the background, killed when dropped.
#[derive(Debug)]
pub(crate) struct Server {
    child: Child,
    /// The address it printed on its first line (`listening on ADDR`).
    pub(crate) addr: SocketAddr,
    /// The rest of its standard output, for tests that read further lines.
    pub(crate) stdout: BufReader<ChildStdout>,
}

impl Server {
    /// Starts example `name` with `--addr 127.0.0.1:0` followed by `args`, and waits for the
    /// `listening on ADDR` line every server example prints first.
    pub(crate) fn start(name: &str, args: &[&str]) -> Server {
        let mut child = Command::new(path(name))
            .args(["--addr", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("starting example `{name}`: {e}"));
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        stdout
            .read_line(&mut line)
            .expect("reading the server's first line");
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| {
                let _ = child.kill();
                panic!("example `{name}` printed {line:?}, not `listening on ADDR`")
            });
        Server {
            child,
            addr,
            stdout,
        }
    }

    /// Whether the server process is still running (it has not crashed).
    pub(crate) fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("polling the server").is_none()
    }

    /// Stops the server and returns everything it printed after the first line.
    pub(crate) fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut rest = String::new();
        let _ = self.stdout.read_to_string(&mut rest);
        rest
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn kill(pid: u32) {
    // SAFETY: kill(2) with a pid we spawned and have not reaped (the waiting thread reaps it
    // only after it exits, which this kill causes), so the pid cannot have been reused.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGKILL);
    }
}
