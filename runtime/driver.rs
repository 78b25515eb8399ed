//! The park/unpark seam between the schedulers and the drivers of outside events.
//!
//! A scheduler with nothing to run parks its thread *in the driver*; anything that makes
//! work for it (a remote spawn, a wake from another thread) unparks it through a
//! [`Handle`]. The schedulers only see `park`, `park_timeout`, `unpark` and `shutdown`:
//! behind them the time driver parks the IO reactor (`mio::Poll`) with the time to the
//! next timer, and `unpark` is the reactor's `mio::Waker`. The schedulers never name mio.
//!
//! Exactly one thread at a time holds the [`Driver`] (the current-thread scheduler's
//! thread, or whichever multi-thread worker took it); the other workers park on their own
//! condvars.

use crate::reactor::{IoDriver, IoHandle};
use crate::time::driver::{TimeDriver, TimeHandle};
use std::io;
use std::time::Duration;

pub(crate) struct Driver {
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
        let (time, time_handle) = TimeDriver::new(io, io_handle.clone());
        Ok((
            Driver { time },
            Handle {
                io: io_handle,
                time: time_handle,
            },
        ))
    }

    /// Waits for IO, a timer or an unpark.
    pub(crate) fn park(&mut self) {
        self.time.park(None);
    }

    /// Waits at most `timeout`; `Duration::ZERO` is one non-blocking turn.
    pub(crate) fn park_timeout(&mut self, timeout: Duration) {
        self.time.park(Some(timeout));
    }

    /// Stops timers and IO: whatever still waits on them is woken and gets an error (or,
    /// for a timer, a panic that says its runtime is gone).
    pub(crate) fn shutdown(&mut self) {
        self.time.shutdown();
    }
}

impl Handle {
    pub(crate) fn unpark(&self) {
        self.io.unpark();
    }
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver").finish_non_exhaustive()
    }
}
