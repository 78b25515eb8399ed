//! The park/unpark seam between the schedulers and whatever waits for outside events.
//!
//! A scheduler with nothing to run parks its thread *in the driver*; anything that makes
//! work for it (a remote spawn, a wake from another thread) unparks it through a
//! [`Handle`]. The schedulers only see `park`, `park_timeout`, `unpark` and `shutdown`:
//! the IO reactor and the timer wheel plug in behind these same calls (the reactor's poll
//! becomes `park`, its `mio::Waker` becomes `unpark`), so the schedulers never name mio.
//!
//! Today the driver only parks the thread. Exactly one thread at a time holds the
//! [`Driver`] (the current-thread scheduler's thread, or whichever multi-thread worker took
//! it); the other workers park on their own condvars.

use crate::park::ParkInner;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug)]
pub(crate) struct Driver {
    park: Arc<ParkInner>,
}

/// Wakes the thread parked in the driver; cloneable and usable from any thread.
#[derive(Clone, Debug)]
pub(crate) struct Handle {
    park: Arc<ParkInner>,
}

impl Driver {
    pub(crate) fn new() -> (Driver, Handle) {
        let park = Arc::new(ParkInner::new());
        (Driver { park: park.clone() }, Handle { park })
    }

    /// Waits for an unpark (or, later, IO and timer events).
    pub(crate) fn park(&mut self) {
        self.park.park(None);
    }

    /// Waits at most `timeout`; `Duration::ZERO` is one non-blocking turn.
    pub(crate) fn park_timeout(&mut self, timeout: Duration) {
        self.park.park(Some(timeout));
    }

    /// Releases what the driver holds; wakes nobody.
    pub(crate) fn shutdown(&mut self) {}
}

impl Handle {
    pub(crate) fn unpark(&self) {
        self.park.unpark();
    }
}
