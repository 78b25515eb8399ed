//! Knowing when a child has exited, and reaping it, without a thread per child.
//!
//! A [`Reaper`] owns the `std::process::Child` until its exit status is collected. How the
//! exit is noticed is a [`Watch`]:
//!
//! - **pidfd** (Linux 5.3 and later): `pidfd_open(pid)` gives a file descriptor that becomes
//!   readable once the child has exited. It is registered with the runtime's reactor like a
//!   socket, so a waiting task sleeps until the driver sees that event, then reaps with
//!   `waitpid(pid, WNOHANG)` (std's `try_wait`). No thread, no timer, no polling loop. The
//!   pid cannot be reused before it is reaped, and only this `Reaper` reaps it, so the
//!   pidfd always names our child.
//! - **SIGCHLD**, where `pidfd_open` fails (old kernels: `ENOSYS`; sandboxes: `EPERM`):
//!   the child gets a `runtime::signal` listener for `SIGCHLD`, and every delivery makes
//!   it `try_wait` once more. Every listener sees every delivery, and the kernel's
//!   coalescing of SIGCHLD is harmless: one delivery after several exits wakes every
//!   waiting child, and each checks its own. The listener is made before the first
//!   `try_wait`, so an exit is either seen by that check or signalled after it. Should even
//!   the listener fail, `spawn` kills and reaps the child it could not watch before
//!   returning the error, so nothing is left running or as a zombie.
//!
//! **Drop.** A `Reaper` dropped before its child was reaped (the `Child` was dropped, or a
//! `status()` future was cancelled) first tries one `try_wait`; if the child still runs, the
//! [`Running`] part moves into an [`Orphan`] task spawned on the runtime that spawned the
//! child (the handle is kept for this). That task is an ordinary pidfd wait, so a dropped
//! child costs one small task and one registration until it exits, and never a thread.
//! Why a task rather than an orphan list turned by the driver: it needs nothing from the
//! driver or the schedulers (the reactor already knows how to wake a task on a readable
//! fd), and a dropped child is then just one more waiting task in metrics and dumps.
//!
//! If the runtime shuts down while an orphan still runs, the task is cancelled and the
//! child goes to [`ORPHANS`], a process-wide list that every later `Command::spawn`
//! sweeps with `try_wait`. A child outliving its runtime is thus reaped by the next spawn
//! (or by init once this process exits).

use crate::reactor::{Direction, PollEvented};
use crate::signal::unix::{signal, Signal, SignalKind};
use std::fmt;
use std::future::Future;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::pin::Pin;
// No loom model runs process reaping (it needs real processes), hence `std::sync`.
use std::process::ExitStatus;
use std::sync::Mutex;
use std::task::{ready, Context, Poll};

/// Children whose runtime shut down before they exited; swept by [`sweep_orphans`].
static ORPHANS: Mutex<Vec<std::process::Child>> = Mutex::new(Vec::new());

/// Reaps what it can of [`ORPHANS`] without waiting. Called at every spawn, so the list
/// only holds children that are still running.
pub(crate) fn sweep_orphans() {
    let mut orphans = ORPHANS.lock().unwrap_or_else(|e| e.into_inner());
    // An error (ECHILD: someone else reaped it) also means there is nothing left to reap.
    orphans.retain_mut(|child| matches!(child.try_wait(), Ok(None)));
}

/// Opens a pidfd for `pid`, close-on-exec (the kernel sets that on every pidfd).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    let pid = libc::pid_t::try_from(pid)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "pid out of range"))?;
    // SAFETY: `pidfd_open(pid, flags)` takes two integers and returns a new fd or -1;
    // no memory is passed to the kernel.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just returned this descriptor to us and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as std::os::fd::RawFd) })
}

/// No pidfds on this OS: every child goes through [`Watch::fallback`].
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn pidfd_open(_pid: u32) -> io::Result<OwnedFd> {
    Err(io::ErrorKind::Unsupported.into())
}

/// A pidfd as a mio source: readable once the process has exited.
struct PidFd(OwnedFd);

impl mio::event::Source for PidFd {
    fn register(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interest: mio::Interest,
    ) -> io::Result<()> {
        mio::unix::SourceFd(&self.0.as_raw_fd()).register(registry, token, interest)
    }

    fn reregister(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interest: mio::Interest,
    ) -> io::Result<()> {
        mio::unix::SourceFd(&self.0.as_raw_fd()).reregister(registry, token, interest)
    }

    fn deregister(&mut self, registry: &mio::Registry) -> io::Result<()> {
        mio::unix::SourceFd(&self.0.as_raw_fd()).deregister(registry)
    }
}

impl fmt::Debug for PidFd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PidFd").field(&self.0.as_raw_fd()).finish()
    }
}

/// How the exit of a running child is noticed (see the module doc).
#[derive(Debug)]
enum Watch {
    /// Readable (through the reactor) once the child has exited.
    PidFd(PollEvented<PidFd>),
    /// Some child of this process changed state since the last delivery.
    SigChld(Signal),
}

impl Watch {
    /// The watch to use when `pidfd_open` failed with `cause`.
    fn fallback(pid: u32, cause: io::Error) -> io::Result<Watch> {
        signal(SignalKind::child()).map(Watch::SigChld).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("pidfd_open failed: {cause} (pid {pid}), and so did listening for SIGCHLD: {e}"),
            )
        })
    }

    /// Ready when the child may have exited; `try_wait` tells for sure.
    fn poll_exited(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Watch::PidFd(io) => {
                let event = ready!(io.poll_ready(cx, Direction::Read))?;
                // A pidfd stays readable once the child has exited, so there is no later
                // event to miss; clearing now means a (theoretical) spurious wake-up waits
                // for the next event instead of spinning.
                io.clear_readiness(event);
                Poll::Ready(Ok(()))
            }
            Watch::SigChld(sigchld) => sigchld.poll_recv(cx).map(Ok),
        }
    }
}

/// A child not yet reaped, and the watch on its exit.
#[derive(Debug)]
struct Running {
    std: std::process::Child,
    watch: Watch,
}

impl Running {
    fn start(
        mut std: std::process::Child,
        open: fn(u32) -> io::Result<OwnedFd>,
    ) -> io::Result<Running> {
        let pid = std.id();
        let watch = open(pid)
            .and_then(|fd| {
                PollEvented::with_interest(PidFd(fd), mio::Interest::READABLE).map(Watch::PidFd)
            })
            .or_else(|cause| Watch::fallback(pid, cause));
        match watch {
            Ok(watch) => Ok(Running { std, watch }),
            Err(e) => {
                // Nobody could ever wait for it: end it now rather than leave a process
                // running unwatched. SIGKILL can't be caught, so this wait is short.
                let _ = std.kill();
                let _ = std.wait();
                Err(e)
            }
        }
    }

    fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<ExitStatus>> {
        loop {
            if let Some(status) = self.std.try_wait()? {
                return Poll::Ready(Ok(status));
            }
            ready!(self.watch.poll_exited(cx))?;
        }
    }
}

/// The exit side of a `Child`: its pid, its status once reaped, and who reaps it if it is
/// dropped first.
pub(crate) struct Reaper {
    pid: u32,
    /// `None` once reaped (the pidfd is closed then).
    running: Option<Running>,
    status: Option<ExitStatus>,
    kill_on_drop: bool,
    /// The runtime that spawned the child and owns its registration: orphans go there.
    handle: crate::Handle,
}

impl Reaper {
    /// Starts watching `std` (whose stdio the caller has taken) on `handle`'s reactor.
    /// On failure the child has been killed and reaped.
    pub(crate) fn new(
        std: std::process::Child,
        handle: crate::Handle,
        kill_on_drop: bool,
    ) -> io::Result<Reaper> {
        Reaper::with_opener(std, handle, kill_on_drop, pidfd_open)
    }

    /// As [`new`](Self::new) with `open` in place of `pidfd_open`, so tests can make it fail.
    fn with_opener(
        std: std::process::Child,
        handle: crate::Handle,
        kill_on_drop: bool,
        open: fn(u32) -> io::Result<OwnedFd>,
    ) -> io::Result<Reaper> {
        let pid = std.id();
        let running = {
            // The registration goes to `handle`'s reactor whatever runtime is current.
            let _enter = handle.enter();
            Running::start(std, open)?
        };
        Ok(Reaper {
            pid,
            running: Some(running),
            status: None,
            kill_on_drop,
            handle,
        })
    }

    pub(crate) fn id(&self) -> Option<u32> {
        self.running.as_ref().map(|_| self.pid)
    }

    pub(crate) fn start_kill(&mut self) -> io::Result<()> {
        match &mut self.running {
            // Signalling an exited but unreaped child (a zombie) is harmless and succeeds.
            Some(running) => running.std.kill(),
            None => Ok(()),
        }
    }

    pub(crate) fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if let Some(running) = &mut self.running {
            match running.std.try_wait()? {
                Some(status) => self.reaped(status),
                None => return Ok(None),
            }
        }
        Ok(self.status)
    }

    pub(crate) fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<ExitStatus>> {
        if let Some(running) = &mut self.running {
            let status = ready!(running.poll_wait(cx))?;
            self.reaped(status);
        }
        Poll::Ready(Ok(self.status.expect("a reaped child has a status")))
    }

    fn reaped(&mut self, status: ExitStatus) {
        self.status = Some(status);
        self.running = None;
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        let Some(mut running) = self.running.take() else {
            return;
        };
        if self.kill_on_drop {
            let _ = running.std.kill();
        }
        if !matches!(running.std.try_wait(), Ok(None)) {
            return; // reaped now, or not ours to reap any more
        }
        // Detached: the task ends by itself once the child exits.
        drop(self.handle.spawn(Orphan(Some(running))));
    }
}

impl fmt::Debug for Reaper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reaper")
            .field("pid", &self.pid)
            .field("status", &self.status)
            .field("kill_on_drop", &self.kill_on_drop)
            .finish_non_exhaustive()
    }
}

/// The background task that reaps a dropped child once it exits.
struct Orphan(Option<Running>);

impl Future for Orphan {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(running) = &mut self.0 {
            // An error means the child can't be waited for (already reaped elsewhere):
            // nothing is left to do either way.
            let _ = ready!(running.poll_wait(cx));
            self.0 = None;
        }
        Poll::Ready(())
    }
}

impl Drop for Orphan {
    fn drop(&mut self) {
        // Cancelled with the child still running: the runtime is shutting down.
        if let Some(running) = self.0.take() {
            ORPHANS
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(running.std);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    fn refuse(_pid: u32) -> io::Result<OwnedFd> {
        Err(io::Error::from_raw_os_error(libc::ENOSYS))
    }

    /// Whether `pid` is still a process (running or zombie) of ours.
    fn exists(pid: u32) -> bool {
        std::path::Path::new(&format!("/proc/{pid}")).exists()
    }

    #[test]
    fn without_pidfd_children_are_reaped_on_sigchld() {
        for rt in [
            crate::Builder::new_current_thread().build().unwrap(),
            crate::Builder::new_multi_thread()
                .worker_threads(2)
                .build()
                .unwrap(),
        ] {
            // Several at once, exiting close together: their SIGCHLDs may coalesce, and
            // each must still learn of its own exit.
            let reapers: Vec<_> = (0..8)
                .map(|i| {
                    let child = Command::new("sh")
                        .args(["-c", &format!("sleep 0.0{i}; exit {i}")])
                        .stdin(Stdio::null())
                        .spawn()
                        .unwrap();
                    let pid = child.id();
                    let reaper = Reaper::with_opener(child, rt.handle().clone(), false, refuse);
                    (pid, reaper.expect("the SIGCHLD watch"))
                })
                .collect();
            let statuses = rt.block_on(async {
                let mut statuses = Vec::new();
                for (pid, mut reaper) in reapers {
                    let wait = std::future::poll_fn(|cx| reaper.poll_wait(cx));
                    let status = crate::time::timeout(std::time::Duration::from_secs(30), wait)
                        .await
                        .expect("a SIGCHLD was missed: the wait never ended")
                        .unwrap();
                    statuses.push((pid, status.code()));
                }
                statuses
            });
            for (i, (pid, code)) in statuses.into_iter().enumerate() {
                assert_eq!(code, Some(i as i32));
                assert!(!exists(pid), "pid {pid} left as a zombie");
            }
        }
    }

    #[test]
    fn orphans_of_a_shut_down_runtime_are_swept_by_the_next_spawn() {
        let rt = crate::Builder::new_current_thread().build().unwrap();
        let child = Command::new("sh")
            .args(["-c", "sleep 0.1"])
            .spawn()
            .unwrap();
        let pid = child.id();
        let reaper = Reaper::new(child, rt.handle().clone(), false).unwrap();
        drop(reaper); // spawns the orphan task, which never runs ...
        drop(rt); // ... and is cancelled here, handing the child to ORPHANS
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(exists(pid), "the exited child waits as a zombie");
        sweep_orphans();
        assert!(!exists(pid), "the sweep reaped it");
    }
}
