//! Unix signals as streams of deliveries: [`signal`], [`Signal`], [`SignalKind`].

use crate::signal::registry::{self, Slot};
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::raw::c_int;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Which signal to listen for: a named constructor, or any number with
/// [`from_raw`](SignalKind::from_raw).
///
/// ```
/// use runtime::signal::unix::SignalKind;
///
/// assert_eq!(SignalKind::terminate().as_raw_value(), libc::SIGTERM);
/// assert_eq!(SignalKind::from_raw(libc::SIGUSR1), SignalKind::user_defined1());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SignalKind(c_int);

impl SignalKind {
    /// Any signal number. Whether it can be listened for is decided by [`signal`], which
    /// refuses numbers the system doesn't have and signals that can't be caught.
    ///
    /// ```
    /// let kind = runtime::signal::unix::SignalKind::from_raw(libc::SIGWINCH);
    /// assert_eq!(kind, runtime::signal::unix::SignalKind::window_change());
    /// ```
    pub const fn from_raw(signum: c_int) -> SignalKind {
        SignalKind(signum)
    }

    /// The signal number.
    ///
    /// ```
    /// use runtime::signal::unix::SignalKind;
    /// assert_eq!(SignalKind::interrupt().as_raw_value(), libc::SIGINT);
    /// ```
    pub const fn as_raw_value(self) -> c_int {
        self.0
    }

    /// `SIGINT`: Ctrl-C in a terminal.
    ///
    /// ```
    /// assert_eq!(runtime::signal::unix::SignalKind::interrupt().as_raw_value(), libc::SIGINT);
    /// ```
    pub const fn interrupt() -> SignalKind {
        SignalKind(libc::SIGINT)
    }

    /// `SIGTERM`: the polite request to stop (what `kill` and service managers send).
    ///
    /// ```
    /// assert_eq!(runtime::signal::unix::SignalKind::terminate().as_raw_value(), libc::SIGTERM);
    /// ```
    pub const fn terminate() -> SignalKind {
        SignalKind(libc::SIGTERM)
    }

    /// `SIGHUP`: the terminal went away; by convention also "reload your configuration".
    ///
    /// ```
    /// assert_eq!(runtime::signal::unix::SignalKind::hangup().as_raw_value(), libc::SIGHUP);
    /// ```
    pub const fn hangup() -> SignalKind {
        SignalKind(libc::SIGHUP)
    }

    /// `SIGQUIT`: Ctrl-\ in a terminal.
    ///
    /// ```
    /// assert_eq!(runtime::signal::unix::SignalKind::quit().as_raw_value(), libc::SIGQUIT);
    /// ```
    pub const fn quit() -> SignalKind {
        SignalKind(libc::SIGQUIT)
    }

    /// `SIGUSR1`, free for the program's own use.
    ///
    /// ```
    /// assert_eq!(runtime::signal::unix::SignalKind::user_defined1().as_raw_value(), libc::SIGUSR1);
    /// ```
    pub const fn user_defined1() -> SignalKind {
        SignalKind(libc::SIGUSR1)
    }

    /// `SIGUSR2`, free for the program's own use.
    ///
    /// ```
    /// assert_eq!(runtime::signal::unix::SignalKind::user_defined2().as_raw_value(), libc::SIGUSR2);
    /// ```
    pub const fn user_defined2() -> SignalKind {
        SignalKind(libc::SIGUSR2)
    }

    /// `SIGCHLD`: a child process stopped or exited.
    ///
    /// ```
    /// assert_eq!(runtime::signal::unix::SignalKind::child().as_raw_value(), libc::SIGCHLD);
    /// ```
    pub const fn child() -> SignalKind {
        SignalKind(libc::SIGCHLD)
    }

    /// `SIGALRM`: a timer set with `alarm(2)` or `setitimer(2)` expired.
    ///
    /// ```
    /// assert_eq!(runtime::signal::unix::SignalKind::alarm().as_raw_value(), libc::SIGALRM);
    /// ```
    pub const fn alarm() -> SignalKind {
        SignalKind(libc::SIGALRM)
    }

    /// `SIGPIPE`: a write to a pipe or socket whose reader is gone (Rust programs ignore it
    /// by default; writes then fail with `BrokenPipe`).
    ///
    /// ```
    /// assert_eq!(runtime::signal::unix::SignalKind::pipe().as_raw_value(), libc::SIGPIPE);
    /// ```
    pub const fn pipe() -> SignalKind {
        SignalKind(libc::SIGPIPE)
    }

    /// `SIGWINCH`: the terminal's size changed.
    ///
    /// ```
    /// assert_eq!(runtime::signal::unix::SignalKind::window_change().as_raw_value(), libc::SIGWINCH);
    /// ```
    pub const fn window_change() -> SignalKind {
        SignalKind(libc::SIGWINCH)
    }
}

impl From<c_int> for SignalKind {
    fn from(signum: c_int) -> SignalKind {
        SignalKind(signum)
    }
}

/// Listens for `kind`: every delivery of the signal from now on is one item of the
/// returned stream.
///
/// The first listener of a signal installs the process's handler for it, which replaces
/// the default action (for `SIGINT` and `SIGTERM`: ending the process) for good: it stays
/// when every listener is gone, so a signal between two listeners is not fatal. Deliveries
/// while no listener exists are not kept for a later one.
///
/// # Errors
///
/// `InvalidInput` for a number that is not a signal on this system, or for one that can't
/// be caught or would break the process if handled (`SIGKILL`, `SIGSTOP`, `SIGILL`,
/// `SIGFPE`, `SIGSEGV`, `SIGBUS`); the OS error if the handler can't be installed.
///
/// # Panics
///
/// Outside a runtime: the signal pipe is watched by the current runtime's driver.
///
/// ```
/// use runtime::signal::unix::{signal, SignalKind};
///
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let mut usr1 = signal(SignalKind::user_defined1())?;
/// // SAFETY: `raise` has no preconditions; the handler is installed.
/// unsafe { libc::raise(libc::SIGUSR1) };
/// usr1.recv().await;
///
/// let err = signal(SignalKind::from_raw(libc::SIGKILL)).unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
/// # Ok(())
/// # }
/// ```
#[track_caller]
pub fn signal(kind: SignalKind) -> io::Result<Signal> {
    let slot = registry::listen(kind.0)?;
    let key = slot.add_listener();
    Ok(Signal {
        kind,
        slot,
        key,
        seen: slot.deliveries(),
    })
}

/// The deliveries of one signal, from the moment [`signal`] made it. Also a
/// `futures_core::Stream` of `()`, which never ends.
///
/// Several listeners of one signal each see every delivery. Deliveries that arrive while
/// this listener is not waiting are kept, and coalesce: after any number of them the
/// next [`recv`](Signal::recv) completes once.
///
/// ```
/// use runtime::signal::unix::{signal, SignalKind};
///
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let mut first = signal(SignalKind::user_defined2())?;
/// let mut second = signal(SignalKind::user_defined2())?;
/// // SAFETY: `raise` has no preconditions; the handler is installed.
/// unsafe { libc::raise(libc::SIGUSR2) };
/// first.recv().await;
/// second.recv().await; // each listener gets the delivery
/// # Ok(())
/// # }
/// ```
pub struct Signal {
    kind: SignalKind,
    slot: &'static Slot,
    key: usize,
    /// The delivery count this listener has reported.
    seen: u64,
}

impl Signal {
    /// Waits for the next delivery (or reports one that arrived since the last call).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a delivery is consumed only by the call that returns it, so dropping
    /// the future loses nothing.
    ///
    /// ```
    /// use runtime::signal::unix::{signal, SignalKind};
    ///
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let mut hup = signal(SignalKind::hangup())?;
    /// for _ in 0..3 {
    ///     // SAFETY: `raise` has no preconditions; the handler is installed.
    ///     unsafe { libc::raise(libc::SIGHUP) };
    ///     hup.recv().await;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn recv(&mut self) {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for the next delivery; `Pending` stores `cx`'s waker.
    ///
    /// ```
    /// use runtime::signal::unix::{signal, SignalKind};
    /// use std::task::Poll;
    ///
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let mut alarm = signal(SignalKind::alarm())?;
    /// let nothing_yet = std::future::poll_fn(|cx| Poll::Ready(alarm.poll_recv(cx))).await;
    /// assert!(nothing_yet.is_pending());
    /// # Ok(())
    /// # }
    /// ```
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let mut coop = std::task::ready!(crate::coop::poll_proceed(cx));
        let now = self.slot.register(self.key, self.seen, cx.waker());
        if now == self.seen {
            return Poll::Pending;
        }
        self.seen = now;
        coop.made_progress();
        Poll::Ready(())
    }

    /// The signal this listens for.
    ///
    /// ```
    /// use runtime::signal::unix::{signal, SignalKind};
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// assert_eq!(signal(SignalKind::window_change())?.kind(), SignalKind::window_change());
    /// # Ok(())
    /// # }
    /// ```
    pub fn kind(&self) -> SignalKind {
        self.kind
    }
}

impl futures_core::Stream for Signal {
    type Item = ();

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        self.get_mut().poll_recv(cx).map(Some)
    }
}

impl Drop for Signal {
    fn drop(&mut self) {
        self.slot.remove_listener(self.key);
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal").field("kind", &self.kind).finish()
    }
}
