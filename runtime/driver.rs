//! The park/unpark seam between the schedulers and the drivers of outside events.
//!
//! A scheduler with nothing to run parks its thread *in the driver*; anything that makes
//! work for it (a remote spawn, a wake from another thread) unparks it through a
//! [`Handle`]. The schedulers only see `park`, `park_timeout`, `unpark` and `shutdown`:
//! behind them the two drivers sit side by side: a park asks the timers how long it may
//! sleep, turns the IO reactor (`mio::Poll`) that long, then fires the timers that came
//! due; `unpark` is the reactor's `mio::Waker`. The schedulers never name mio.
//!
//! With the runtime's clock paused (`time::pause`), a park that would wait takes a
//! non-blocking turn first, and if nothing arrived and no blocking job is in flight it
//! jumps the clock to the next timer instead of sleeping (see `time::clock`).
//!
//! With the io_uring driver selected (`crate::uring`), the ring sits beside the reactor:
//! every turn first submits the SQEs tasks pushed since the last one (one
//! `io_uring_enter`), and after the reactor's wait reaps the completion queue and wakes
//! the owners. An eventfd the kernel signals on completions is registered with the
//! reactor, so a parked driver wakes for them. A worker about to park without the driver submits through
//! [`Handle::flush_io`].
//!
//! Resources reach their driver through [`Handle::with_current`], the one place that looks
//! the current runtime up for them.
//!
//! Exactly one thread at a time holds the [`Driver`] (the current-thread scheduler's
//! thread, or whichever multi-thread worker took it); the other workers park on their own
//! condvars.

use crate::reactor::{IoHandle, Reactor};
use crate::time::clock::Clock;
use crate::time::driver::{TimeDriver, TimeHandle};
use std::io;
use std::time::Duration;

pub(crate) struct Driver {
    io: Reactor,
    time: TimeDriver,
    #[cfg(target_os = "linux")]
    uring: Option<std::sync::Arc<crate::uring::Ring>>,
    #[cfg(target_os = "linux")]
    wake: Vec<std::task::Waker>,
}

/// Reaches the drivers from any thread: registers IO and timers, and unparks.
#[derive(Clone)]
pub(crate) struct Handle {
    pub(crate) io: IoHandle,
    pub(crate) time: TimeHandle,
    /// The io_uring ring, when the runtime runs TCP on it.
    #[cfg(target_os = "linux")]
    pub(crate) uring: Option<std::sync::Arc<crate::uring::Ring>>,
}

/// How the runtime asked for its IO driver.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct IoConfig {
    pub(crate) driver: crate::IoDriver,
    /// Test hook: behave as if `io_uring_setup` failed.
    pub(crate) fail_uring_setup: bool,
}

impl Driver {
    /// A driver whose timers run on `clock`, in `timer_shards` wheels (see `time::driver`).
    pub(crate) fn new(
        clock: Clock,
        io_config: IoConfig,
        timer_shards: usize,
    ) -> io::Result<(Driver, Handle)> {
        let (io, io_handle) = Reactor::new()?;
        let (time, time_handle) = TimeDriver::new(io_handle.clone(), clock, timer_shards);
        #[cfg(target_os = "linux")]
        let uring = Self::new_ring(&io_handle, io_config)?;
        #[cfg(not(target_os = "linux"))]
        let _ = io_config;
        Ok((
            Driver {
                io,
                time,
                #[cfg(target_os = "linux")]
                uring: uring.clone(),
                #[cfg(target_os = "linux")]
                wake: Vec::new(),
            },
            Handle {
                io: io_handle,
                time: time_handle,
                #[cfg(target_os = "linux")]
                uring,
            },
        ))
    }

    /// The ring, if asked for and `io_uring_setup` works; `None` falls back to mio.
    #[cfg(target_os = "linux")]
    fn new_ring(
        io: &IoHandle,
        config: IoConfig,
    ) -> io::Result<Option<std::sync::Arc<crate::uring::Ring>>> {
        if config.driver != crate::IoDriver::Uring {
            return Ok(None);
        }
        let ring = if config.fail_uring_setup {
            Err(io::Error::from_raw_os_error(libc::ENOSYS))
        } else {
            crate::uring::Ring::new()
        };
        match ring {
            Ok(ring) => {
                io.watch_ring(ring.wake_fd())?;
                Ok(Some(std::sync::Arc::new(ring)))
            }
            // ENOSYS, EPERM, ENOMEM, EINVAL (an old kernel's flags): mio it is, which
            // `RuntimeMetrics::io_driver` reports.
            Err(_) => Ok(None),
        }
    }

    /// Waits for IO, a timer or an unpark.
    pub(crate) fn park(&mut self) {
        self.turn(None);
    }

    /// Waits at most `timeout`; `Duration::ZERO` is one non-blocking turn.
    pub(crate) fn park_timeout(&mut self, timeout: Duration) {
        self.turn(Some(timeout));
    }

    fn turn(&mut self, mut limit: Option<Duration>) {
        #[cfg(target_os = "linux")]
        if let Some(ring) = &self.uring {
            // One `io_uring_enter` for everything pushed since the last turn; completions
            // already there make this turn a non-blocking one.
            ring.flush();
            if self.reap() > 0 {
                limit = Some(Duration::ZERO);
            }
        }
        self.turn_inner(limit);
        #[cfg(target_os = "linux")]
        self.reap();
    }

    /// Reaps the ring's completions and wakes their owners; how many there were.
    #[cfg(target_os = "linux")]
    fn reap(&mut self) -> usize {
        let Some(ring) = &self.uring else {
            return 0;
        };
        let n = ring.reap(&mut self.wake);
        for waker in self.wake.drain(..) {
            crate::util::wake_contained(waker);
        }
        n
    }

    fn turn_inner(&mut self, limit: Option<Duration>) {
        if self.time.is_paused() {
            self.turn_paused(limit);
            return;
        }
        let timeout = self.time.park_timeout(limit);
        if self.io.turn(timeout) {
            crate::signal::registry::dispatch();
        }
        self.time.fire_due();
    }

    /// A turn with the clock paused: a wait becomes a jump to the next timer when nothing
    /// else can happen.
    #[cold]
    fn turn_paused(&mut self, limit: Option<Duration>) {
        // The gate before the poll: a job that ends wakes its joiner before it leaves the
        // gate, so if we see it open, the poll sees that wake.
        let may_advance = self.time.may_auto_advance();
        let mut turn = self.io.turn_events(Some(Duration::ZERO));
        if !turn.woke && limit != Some(Duration::ZERO) && !(may_advance && self.time.auto_advance())
        {
            // No timer, or a blocking job in flight (its end unparks): wait for IO or a wake.
            turn = self.io.turn_events(limit);
        }
        if turn.signalled {
            crate::signal::registry::dispatch();
        }
        self.time.fire_due();
    }

    /// Stops timers and IO: whatever still waits on them is woken and gets an error (or,
    /// for a timer, a panic that says its runtime is gone).
    pub(crate) fn shutdown(&mut self) {
        self.time.shutdown();
        self.io.shutdown();
        #[cfg(target_os = "linux")]
        if let Some(ring) = &self.uring {
            ring.shutdown();
        }
    }
}

impl Handle {
    /// Runs `f` with the current runtime's driver handle.
    ///
    /// # Panics
    ///
    /// Outside a runtime, with the message that says how to get one.
    #[track_caller]
    pub(crate) fn with_current<R>(f: impl FnOnce(&Handle) -> R) -> R {
        crate::context::with_current_handle(|handle| f(handle.inner.driver()))
    }

    pub(crate) fn unpark(&self) {
        self.io.unpark();
    }

    /// A worker that can't take the driver (about to park on its condvar, or taking a
    /// maintenance turn while another worker holds it) hands the SQEs pushed so far to the
    /// driver's holder: it unparks the holder, whose turn submits them. The holder, not this
    /// worker, then becomes their submitter, and the kernel runs a request's completion
    /// work on its submitter's thread: the holder's `epoll_wait` is interrupted, it reaps
    /// the completion in the same turn, and a worker sleeping on its condvar is not woken
    /// just to post a completion for someone else to reap.
    pub(crate) fn flush_io(&self) {
        #[cfg(target_os = "linux")]
        if let Some(ring) = &self.uring {
            if ring.has_pending() {
                self.io.unpark();
            }
        }
    }

    /// The IO driver sockets use.
    pub(crate) fn io_driver(&self) -> crate::IoDriver {
        #[cfg(target_os = "linux")]
        if self.uring.is_some() {
            return crate::IoDriver::Uring;
        }
        crate::IoDriver::Mio
    }

    /// Operations in the ring's slab (in flight, orphaned, or done and not yet taken).
    pub(crate) fn io_ops(&self) -> usize {
        #[cfg(target_os = "linux")]
        if let Some(ring) = &self.uring {
            return ring.in_flight();
        }
        0
    }

    /// Streams and listeners on the ring.
    pub(crate) fn io_sockets(&self) -> usize {
        #[cfg(target_os = "linux")]
        if let Some(ring) = &self.uring {
            return ring.sockets();
        }
        0
    }

    /// Completions the ring delivered.
    pub(crate) fn io_completions(&self) -> u64 {
        #[cfg(target_os = "linux")]
        if let Some(ring) = &self.uring {
            return ring.completions();
        }
        0
    }
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver").finish_non_exhaustive()
    }
}
