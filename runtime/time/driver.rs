//! The time driver: the wheel and the clock.
//!
//! The thread holding the driver asks it how long the IO reactor may sleep (the time to
//! the next expiry), turns the reactor, then fires what came due (`crate::driver` does
//! the three steps). A timer inserted with an earlier deadline than the one the driver is
//! sleeping towards unparks the reactor, so it re-computes its timeout.

use crate::loom::atomic::{AtomicBool, AtomicU64, Ordering};
use crate::reactor::IoHandle;
use crate::time::entry::TimerNode;
use crate::time::wheel::Wheel;
use std::ptr::NonNull;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;
use std::time::{Duration, Instant};

pub(crate) struct TimeDriver {
    handle: TimeHandle,
    wake: Vec<Waker>,
}

/// Registers timers; cloneable, usable from any thread.
#[derive(Clone)]
pub(crate) struct TimeHandle {
    shared: Arc<Shared>,
}

struct Shared {
    origin: Instant,
    wheel: Mutex<Wheel>,
    /// The tick the parked driver will wake at (`u64::MAX`: none).
    next_wake: AtomicU64,
    is_shutdown: AtomicBool,
    io: IoHandle,
}

impl TimeDriver {
    pub(crate) fn new(io_handle: IoHandle) -> (TimeDriver, TimeHandle) {
        let handle = TimeHandle {
            shared: Arc::new(Shared {
                origin: Instant::now(),
                wheel: Mutex::new(Wheel::new()),
                next_wake: AtomicU64::new(u64::MAX),
                is_shutdown: AtomicBool::new(false),
                io: io_handle,
            }),
        };
        (
            TimeDriver {
                handle: handle.clone(),
                wake: Vec::new(),
            },
            handle,
        )
    }

    /// How long the reactor may sleep: until the next timer, at most `limit` (`None`: no
    /// bound). Records the wake-up tick, so an earlier timer inserted meanwhile unparks.
    pub(crate) fn park_timeout(&mut self, limit: Option<Duration>) -> Option<Duration> {
        let shared = &self.handle.shared;
        let timer = {
            let wheel = shared.lock();
            let next = wheel.next_expiration().map(|e| e.deadline);
            shared
                .next_wake
                .store(next.unwrap_or(u64::MAX), Ordering::SeqCst);
            next
        };
        let timeout = timer.map(|when| {
            let at = shared.origin + Duration::from_millis(when);
            at.saturating_duration_since(Instant::now())
        });
        match (timeout, limit) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Wakes every timer that came due.
    pub(crate) fn fire_due(&mut self) {
        let shared = &self.handle.shared;
        let now = shared.now_tick();
        {
            let mut wheel = shared.lock();
            if !wheel.is_empty() || wheel.elapsed() < now {
                wheel.poll(now, &mut self.wake);
            }
        }
        for waker in self.wake.drain(..) {
            waker.wake();
        }
    }

    /// Stops timers (their `Sleep`s then panic when polled).
    pub(crate) fn shutdown(&mut self) {
        let shared = &self.handle.shared;
        shared.is_shutdown.store(true, Ordering::SeqCst);
        shared.lock().drain(&mut self.wake);
        for waker in self.wake.drain(..) {
            waker.wake();
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Wheel> {
        self.wheel.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn now_tick(&self) -> u64 {
        Instant::now()
            .saturating_duration_since(self.origin)
            .as_millis() as u64
    }
}

/// The wheel lock, held while a `Sleep` touches its node.
pub(crate) struct WheelGuard<'a> {
    wheel: MutexGuard<'a, Wheel>,
    shared: &'a Shared,
}

impl TimeHandle {
    pub(crate) fn lock(&self) -> WheelGuard<'_> {
        WheelGuard {
            wheel: self.shared.lock(),
            shared: &self.shared,
        }
    }

    /// The first tick at or after `deadline` (rounded up: a timer never fires early).
    pub(crate) fn deadline_to_tick(&self, deadline: Instant) -> u64 {
        let since = deadline.saturating_duration_since(self.shared.origin);
        let ms = since.as_millis() as u64;
        if since > Duration::from_millis(ms) {
            ms + 1
        } else {
            ms
        }
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.shared.is_shutdown.load(Ordering::SeqCst)
    }
}

impl WheelGuard<'_> {
    /// Inserts the node (its `when` set), unparking the driver if it sleeps past it.
    /// Returns `Err` if the deadline has passed already.
    ///
    /// # Safety
    ///
    /// `node` is pinned, not in the wheel, and removed before it is freed.
    pub(crate) unsafe fn insert(&mut self, node: NonNull<TimerNode>) -> Result<(), ()> {
        // SAFETY: forwarded contract; we hold the lock.
        unsafe { self.wheel.insert(node) }?;
        // SAFETY: we hold the lock.
        let when = unsafe { node.as_ref().inner().when };
        if when < self.shared.next_wake.load(Ordering::SeqCst) {
            self.shared.next_wake.store(when, Ordering::SeqCst);
            self.shared.io.unpark();
        }
        Ok(())
    }

    /// # Safety
    ///
    /// `node` is in this wheel or in none.
    pub(crate) unsafe fn remove(&mut self, node: NonNull<TimerNode>) {
        // SAFETY: forwarded contract; we hold the lock.
        unsafe { self.wheel.remove(node) }
    }
}
