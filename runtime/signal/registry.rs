//! The process-wide half of signal handling: the handlers, the self-pipe, and the
//! delivery counters that listeners watch.
//!
//! A handler may only do async-signal-safe things, so it does two: it marks its signal
//! pending (an atomic store) and writes one byte to the self-pipe. The read end of the pipe
//! is registered with the reactor of every runtime that has a listener (`IoHandle::
//! watch_signal_pipe`); the driver turn that sees it readable calls [`dispatch`], which
//! drains the pipe, then, for every pending signal, counts one delivery and wakes that
//! signal's listeners. The order (mark, then write; drain, then read the marks) loses
//! nothing: a signal that lands after the drain leaves its byte for the next turn.
//!
//! A listener remembers the delivery count it has seen, so it gets every delivery counted
//! after it was created, whether or not it was waiting at that moment, and several
//! listeners of one signal each get it. Deliveries that arrive while a listener is not
//! looking coalesce into one, as the kernel coalesces a standard signal that is already
//! pending.
//!
//! Once a signal's handler is installed it stays for the life of the process, even when
//! every listener is gone: restoring the old disposition would let a signal that arrives
//! between two listeners kill the process (the default action of `SIGINT` and `SIGTERM`).

use slab::Slab;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::task::Waker;

/// One past the highest signal number a listener may name (Linux: `SIGRTMAX` is 64).
const SLOTS: usize = 65;

/// Signals whose handling would break the process or that can't be caught: a synchronous
/// fault returns to the faulting instruction, so a handler that only writes a byte would
/// spin on it forever.
const FORBIDDEN: [libc::c_int; 6] = [
    libc::SIGKILL,
    libc::SIGSTOP,
    libc::SIGILL,
    libc::SIGFPE,
    libc::SIGSEGV,
    libc::SIGBUS,
];

/// Set by the handler, cleared by [`dispatch`].
static PENDING: [AtomicBool; SLOTS] = [const { AtomicBool::new(false) }; SLOTS];
/// The write end of the self-pipe, for the handler (`-1` until the pipe exists).
static WRITE_FD: AtomicI32 = AtomicI32::new(-1);
/// The read end of the self-pipe.
static PIPE: OnceLock<io::Result<OwnedFd>> = OnceLock::new();
static SIGNALS: [Slot; SLOTS] = [const { Slot::new() }; SLOTS];

/// One signal's listeners.
pub(crate) struct Slot {
    /// Deliveries dispatched so far.
    deliveries: AtomicU64,
    /// Whether the handler is installed (under the lock: installed once).
    installed: Mutex<bool>,
    /// The wakers of listeners waiting for the next delivery, by listener key.
    waiters: Mutex<Slab<Option<Waker>>>,
}

impl Slot {
    const fn new() -> Slot {
        Slot {
            deliveries: AtomicU64::new(0),
            installed: Mutex::new(false),
            waiters: Mutex::new(Slab::new()),
        }
    }

    fn waiters(&self) -> MutexGuard<'_, Slab<Option<Waker>>> {
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Deliveries dispatched so far.
    pub(crate) fn deliveries(&self) -> u64 {
        self.deliveries.load(Ordering::Acquire)
    }

    /// A new listener's key in the waiter table.
    pub(crate) fn add_listener(&self) -> usize {
        self.waiters().insert(None)
    }

    pub(crate) fn remove_listener(&self, key: usize) {
        self.waiters().try_remove(key);
    }

    /// Stores `waker` for listener `key` unless a delivery past `seen` is already counted;
    /// returns the current count. Checking under the lock that [`dispatch`] takes to wake
    /// means a delivery is either seen here or wakes the stored waker.
    pub(crate) fn register(&self, key: usize, seen: u64, waker: &Waker) -> u64 {
        let mut waiters = self.waiters();
        let now = self.deliveries();
        if now == seen {
            match &mut waiters[key] {
                Some(stored) if stored.will_wake(waker) => {}
                slot => *slot = Some(waker.clone()),
            }
        }
        now
    }
}

/// The slot of `signum` with its handler installed and the pipe watched by the current
/// runtime's driver.
///
/// # Errors
///
/// `InvalidInput` for a number that is not a signal or may not be handled; the OS error if
/// the pipe or the handler can't be set up.
///
/// # Panics
///
/// Outside a runtime.
#[track_caller]
pub(crate) fn listen(signum: libc::c_int) -> io::Result<&'static Slot> {
    let slot = usize::try_from(signum)
        .ok()
        .filter(|&n| n > 0 && n < SLOTS && n <= max_signal())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{signum} is not a signal number this system has"),
            )
        })?;
    if FORBIDDEN.contains(&signum) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("signal {signum} can't be listened for (it can't be caught, or a handler would break the process)"),
        ));
    }
    let read = pipe()?;
    crate::driver::Handle::with_current(|driver| driver.io.watch_signal_pipe(read))?;
    let slot = &SIGNALS[slot];
    let mut installed = slot.installed.lock().unwrap_or_else(|e| e.into_inner());
    if !*installed {
        install(signum)?;
        *installed = true;
    }
    Ok(slot)
}

fn max_signal() -> usize {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        libc::SIGRTMAX() as usize
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        31
    }
}

/// The self-pipe's read end, made on first use (both ends non-blocking and close-on-exec:
/// a full pipe must never block the handler, and children must not inherit it).
fn pipe() -> io::Result<BorrowedFd<'static>> {
    let read = PIPE.get_or_init(|| {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: `fds` has room for the two descriptors `pipe2` writes.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // The write end stays open for the life of the process: the handler may run at
        // any time. It is kept as a raw descriptor for that reason.
        WRITE_FD.store(fds[1], Ordering::SeqCst);
        // SAFETY: `pipe2` succeeded, so `fds[0]` is an open descriptor owned by nobody else.
        Ok(unsafe { OwnedFd::from_raw_fd(fds[0]) })
    });
    match read {
        Ok(fd) => Ok(fd.as_fd()),
        Err(e) => Err(io::Error::new(
            e.kind(),
            format!("can't create the signal pipe: {e}"),
        )),
    }
}

fn install(signum: libc::c_int) -> io::Result<()> {
    // SAFETY: an all-zero `sigaction` is a valid value (no flags, empty mask) that the
    // fields below complete.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = handler as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SA_RESTART: a system call the signal interrupts elsewhere in the program resumes
    // instead of failing with EINTR.
    action.sa_flags = libc::SA_RESTART;
    // SAFETY: `sa_mask` is a valid `sigset_t` to initialise.
    unsafe { libc::sigemptyset(&mut action.sa_mask) };
    // SAFETY: `action` is fully initialised and `handler` only does async-signal-safe
    // things (atomic stores and `write`).
    if unsafe { libc::sigaction(signum, &action, std::ptr::null_mut()) } != 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(
            e.kind(),
            format!("can't install a handler for signal {signum}: {e}"),
        ));
    }
    Ok(())
}

extern "C" fn handler(signum: libc::c_int) {
    let errno = io::Error::last_os_error().raw_os_error();
    if let Some(pending) = usize::try_from(signum).ok().and_then(|n| PENDING.get(n)) {
        pending.store(true, Ordering::SeqCst);
    }
    let fd = WRITE_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        // A full pipe (EAGAIN) is fine: its bytes already make the driver look.
        // SAFETY: `fd` is the pipe's write end, open for the life of the process, and the
        // buffer is one valid byte.
        let _ = unsafe { libc::write(fd, [1u8].as_ptr().cast(), 1) };
    }
    if let Some(errno) = errno {
        set_errno(errno);
    }
}

/// Restores `errno` on leaving the handler, so the code it interrupted sees its own.
fn set_errno(value: libc::c_int) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: `__errno_location` returns this thread's errno slot.
    unsafe {
        *libc::__errno_location() = value
    };
    #[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
    // SAFETY: `__error` returns this thread's errno slot.
    unsafe {
        *libc::__error() = value
    };
}

/// Drains the self-pipe and hands every pending signal to its listeners. Called by the
/// driver turn that saw the pipe readable.
pub(crate) fn dispatch() {
    if let Some(Ok(read)) = PIPE.get() {
        let mut buf = [0u8; 128];
        loop {
            // SAFETY: `read` is the pipe's open read end and `buf` is writable for its
            // length.
            let n = unsafe { libc::read(read.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            // Stop at empty (EAGAIN), at an error, or when the read did not fill the buffer.
            if n < buf.len() as isize {
                break;
            }
        }
    }
    for (signum, pending) in PENDING.iter().enumerate() {
        if pending.load(Ordering::Relaxed) && pending.swap(false, Ordering::SeqCst) {
            let slot = &SIGNALS[signum];
            let wakers: Vec<Waker> = {
                let mut waiters = slot.waiters();
                slot.deliveries.fetch_add(1, Ordering::AcqRel);
                waiters.iter_mut().filter_map(|(_, w)| w.take()).collect()
            };
            for waker in wakers {
                crate::util::wake_contained(waker);
            }
        }
    }
}
