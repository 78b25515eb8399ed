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
//! Resources reach their driver through [`Handle::with_current`], the one place that looks
//! the current runtime up for them.
//!
//! Exactly one thread at a time holds the [`Driver`] (the current-thread scheduler's
//! thread, or whichever multi-thread worker took it); the other workers park on their own
//! condvars.

use crate::reactor::{IoDriver, IoHandle};
use crate::time::clock::Clock;
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
    /// A driver whose timers run on `clock`.
    pub(crate) fn new(clock: Clock) -> io::Result<(Driver, Handle)> {
        let (io, io_handle) = IoDriver::new()?;
        let (time, time_handle) = TimeDriver::new(io_handle.clone(), clock);
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
