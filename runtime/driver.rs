//! The park/unpark seam between the schedulers and the drivers of outside events.
//!
//! A scheduler with nothing to run parks its thread *in the driver*; anything that makes
//! work for it (a remote spawn, a wake from another thread) unparks it through a
//! [`Handle`]. The schedulers only see `park`, `park_timeout`, `unpark` and `shutdown`:
//! behind them the two drivers sit side by side: a park asks the timers how long it may
//! sleep, turns the IO reactor (`mio::Poll`) that long, then fires the timers that came
//! due; `unpark` is the reactor's `mio::Waker`. The schedulers never name mio.
//!
//! Resources reach their driver through [`Handle::with_current`], the one place that looks
//! the current runtime up for them.
//!
//! Exactly one thread at a time holds the [`Driver`] (the current-thread scheduler's
//! thread, or whichever multi-thread worker took it); the other workers park on their own
//! condvars.

use crate::reactor::{IoDriver, IoHandle};
use crate::time::driver::{TimeDriver, TimeHandle};
use std::io;
use std::time::Duration;

pub(crate) struct Driver {
    io: IoDriver,
    time: TimeDriver,
}

/// Reaches the drivers from any thread: registers IO and timers, and unparks.
#[derive(Clone)]
pub(crate) struct Handle {
    pub(crate) io: IoHandle,
    pub(crate) time: TimeHandle,
}

impl Driver {
    pub(crate) fn new() -> io::Result<(Driver, Handle)> {
        let (io, io_handle) = IoDriver::new()?;
        let (time, time_handle) = TimeDriver::new(io_handle.clone());
        Ok((
            Driver { io, time },
            Handle {
                io: io_handle,
                time: time_handle,
            },
        ))
    }

    /// Waits for IO, a timer or an unpark.
    pub(crate) fn park(&mut self) {
        self.turn(None);
    }

    /// Waits at most `timeout`; `Duration::ZERO` is one non-blocking turn.
    pub(crate) fn park_timeout(&mut self, timeout: Duration) {
        self.turn(Some(timeout));
    }

    fn turn(&mut self, limit: Option<Duration>) {
        let timeout = self.time.park_timeout(limit);
        if self.io.turn(timeout) {
            crate::signal::registry::dispatch();
        }
        self.time.fire_due();
    }

    /// Stops timers and IO: whatever still waits on them is woken and gets an error (or,
    /// for a timer, a panic that says its runtime is gone).
    pub(crate) fn shutdown(&mut self) {
        self.time.shutdown();
        self.io.shutdown();
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
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver").finish_non_exhaustive()
    }
}
