//! The time driver: the wheel and the clock.
//!
//! The thread holding the driver asks it how long the IO reactor may sleep (the time to
//! the next expiry), turns the reactor, then fires what came due (`crate::driver` does
//! the three steps). A timer inserted with an earlier deadline than the one the driver is
//! sleeping towards unparks the reactor, so it re-computes its timeout.
//!
//! Ticks are milliseconds of the runtime's [`Clock`] since its origin, never of std's
//! clock directly, so a paused clock (`time::pause`) stops the wheel and moving it fires
//! what came due. While the clock is paused the reactor's timeouts mean nothing (virtual
//! time doesn't pass while parked): `crate::driver` then asks [`TimeDriver::auto_advance`]
//! to jump to the next timer instead.

use crate::loom::atomic::{AtomicBool, AtomicU64, Ordering};
use crate::reactor::IoHandle;
use crate::time::clock::Clock;
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
    clock: Clock,
    wheel: Mutex<Wheel>,
    /// The tick the parked driver will wake at (`u64::MAX`: none).
    next_wake: AtomicU64,
    is_shutdown: AtomicBool,
    io: IoHandle,
}

impl TimeDriver {
    pub(crate) fn new(io_handle: IoHandle, clock: Clock) -> (TimeDriver, TimeHandle) {
        let handle = TimeHandle {
            shared: Arc::new(Shared {
                clock,
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
            let at = shared.tick_instant(when);
            at.saturating_duration_since(shared.clock.now())
        });
        match (timeout, limit) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether the clock is paused (one relaxed load).
    pub(crate) fn is_paused(&self) -> bool {
        self.handle.shared.clock.is_paused()
    }

    /// Whether no `spawn_blocking` job is in flight; read before polling for wakes (see
    /// `clock`'s gate).
    pub(crate) fn may_auto_advance(&self) -> bool {
        self.handle.shared.clock.gate().is_open()
    }

    /// With the clock paused: moves it to the next timer's deadline, for `fire_due` to fire.
    /// `false` if there is no timer (or the clock was resumed meanwhile).
    pub(crate) fn auto_advance(&mut self) -> bool {
        match self.handle.next_timer() {
            Some(at) => self.handle.shared.clock.advance_to(at),
            None => false,
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
            crate::util::wake_contained(waker);
        }
    }

    /// Stops timers (their `Sleep`s then panic when polled).
    pub(crate) fn shutdown(&mut self) {
        let shared = &self.handle.shared;
        shared.is_shutdown.store(true, Ordering::SeqCst);
        shared.lock().drain(&mut self.wake);
        for waker in self.wake.drain(..) {
            crate::util::wake_contained(waker);
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Wheel> {
        self.wheel.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn now_tick(&self) -> u64 {
        self.clock
            .now()
            .saturating_duration_since(self.clock.origin())
            .as_millis() as u64
    }

    /// The instant of tick `when` (saturating: a tick past what `Instant` holds is never).
    fn tick_instant(&self, when: u64) -> Instant {
        let origin = self.clock.origin();
        origin
            .checked_add(Duration::from_millis(when))
            .unwrap_or_else(|| origin + Duration::from_secs(86_400 * 365 * 100))
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

    /// This runtime's clock.
    pub(crate) fn clock(&self) -> &Clock {
        &self.shared.clock
    }

    /// Now on this runtime's clock.
    #[inline]
    pub(crate) fn now(&self) -> Instant {
        self.shared.clock.now()
    }

    /// When the earliest timer slot comes due (a lower bound for a slot of the higher
    /// levels, whose entries then cascade).
    pub(crate) fn next_timer(&self) -> Option<Instant> {
        let next = self.shared.lock().next_expiration()?;
        Some(self.shared.tick_instant(next.deadline))
    }

    /// Wakes the thread holding the driver.
    pub(crate) fn unpark(&self) {
        self.shared.io.unpark();
    }

    /// Counts a `spawn_blocking` job in flight until the guard drops (after the job woke its
    /// joiner), so auto-advance waits for it; `None` on a runtime whose clock can't pause.
    pub(crate) fn blocking_job(&self) -> Option<BlockingJob> {
        if !self.shared.clock.is_pausable() {
            return None;
        }
        self.shared.clock.gate().enter();
        Some(BlockingJob(self.clone()))
    }

    /// The first tick at or after `deadline` (rounded up: a timer never fires early).
    pub(crate) fn deadline_to_tick(&self, deadline: Instant) -> u64 {
        let since = deadline.saturating_duration_since(self.shared.clock.origin());
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

/// A `spawn_blocking` job in flight on a runtime whose clock can pause (see
/// [`TimeHandle::blocking_job`]).
pub(crate) struct BlockingJob(TimeHandle);

impl Drop for BlockingJob {
    fn drop(&mut self) {
        let shared = &self.0.shared;
        // The last job out unparks a paused driver, which may be parked waiting for it.
        if shared.clock.gate().exit() && shared.clock.is_paused() {
            shared.io.unpark();
        }
    }
}
