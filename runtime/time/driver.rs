//! The time driver: the wheels and the clock.
//!
//! The thread holding the driver asks it how long the IO reactor may sleep (the time to
//! the next expiry), turns the reactor, then fires what came due (`crate::driver` does
//! the three steps). A timer inserted with an earlier deadline than the one the driver is
//! sleeping towards unparks the reactor, so it re-computes its timeout.
//!
//! # Shards
//!
//! The timers live in several wheels, each behind its own lock, so workers setting and
//! cancelling timers at once don't queue on one mutex: one shard per worker of the
//! multi-thread scheduler, plus a last one for every thread that is not a worker (a
//! `block_on` caller, blocking-pool jobs, foreign threads). The current-thread runtime
//! has two: its own thread's and the one for other threads.
//!
//! A timer takes the shard of the thread that first polls it ([`TimeHandle::shard_here`])
//! and records it in its node; its later resets and its drop lock that shard, wherever
//! they run. A timer moved to another worker stays in its first shard: the shard only
//! spreads lock traffic, it says nothing about who is woken.
//!
//! The driver holder locks the shards one at a time, never two at once: its park timeout
//! is the earliest expiry over all of them, a turn fires what came due in each (waking
//! outside the locks), and a paused clock's next timer is the earliest over all of them.
//!
//! No lost wake across shards: before scanning for its park timeout the driver sets
//! `next_wake` to "never", and after the scan lowers it to what it found. An insert
//! lowers `next_wake` to its own deadline and unparks the reactor if that was earlier.
//! An insert the scan missed locked its shard after the scan did, so it sees "never" or
//! the scan's result, and unparks if its deadline is the earlier one; an insert the scan
//! saw is in the timeout already.
//!
//! Ticks are milliseconds of the runtime's [`Clock`] since its origin, never of std's
//! clock directly, so a paused clock (`time::pause`) stops the wheels and moving it fires
//! what came due. While the clock is paused the reactor's timeouts mean nothing (virtual
//! time doesn't pass while parked): `crate::driver` then asks [`TimeDriver::auto_advance`]
//! to jump to the next timer instead.

// The wheel locks are std's: no loom model runs a wheel (see `crate::loom`).
use crate::loom::atomic::{AtomicBool, AtomicU64, Ordering};
use crate::reactor::IoHandle;
use crate::time::clock::Clock;
use crate::time::entry::TimerNode;
use crate::time::wheel::Wheel;
use crate::util::CachePadded;
use std::ptr::NonNull;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;
use std::time::{Duration, Instant};

pub(crate) struct TimeDriver {
    handle: TimeHandle,
    /// Wakers of fired timers, with their deadline ticks.
    wake: Vec<(u64, Waker)>,
}

/// Registers timers; cloneable, usable from any thread.
#[derive(Clone)]
pub(crate) struct TimeHandle {
    shared: Arc<Shared>,
}

struct Shared {
    clock: Clock,
    /// The wheels: one per worker, the last one for other threads (see the module doc).
    shards: Box<[CachePadded<Mutex<Wheel>>]>,
    /// The tick the parked driver will wake at (`u64::MAX`: none).
    next_wake: NextWake,
    is_shutdown: AtomicBool,
    io: IoHandle,
}

/// The tick the driver sleeps towards, shared by the driver's scan over the shards and
/// the inserts into them (the protocol is in the module doc).
pub(crate) struct NextWake(AtomicU64);

impl NextWake {
    pub(crate) fn new() -> NextWake {
        NextWake(AtomicU64::new(u64::MAX))
    }

    /// The driver, before it scans the shards: any insert from here on may be missed by
    /// the scan, so it must compare against "never".
    pub(crate) fn begin_scan(&self) {
        self.0.store(u64::MAX, Ordering::SeqCst);
    }

    /// The driver, after the scan found `next` (`u64::MAX`: no timer).
    pub(crate) fn end_scan(&self, next: u64) {
        self.0.fetch_min(next, Ordering::SeqCst);
    }

    /// An insert for tick `when`, after linking it under its shard's lock: whether the
    /// driver may sleep past it and must be unparked.
    #[inline]
    pub(crate) fn insert(&self, when: u64) -> bool {
        // The load first: most inserts are for later than the driver's wake and then
        // write nothing.
        when < self.0.load(Ordering::SeqCst) && when < self.0.fetch_min(when, Ordering::SeqCst)
    }
}

impl TimeDriver {
    /// A driver with `shards` wheels (at least one; see the module doc).
    pub(crate) fn new(
        io_handle: IoHandle,
        clock: Clock,
        shards: usize,
    ) -> (TimeDriver, TimeHandle) {
        let shards = shards.max(1);
        let handle = TimeHandle {
            shared: Arc::new(Shared {
                clock,
                shards: (0..shards)
                    .map(|shard| CachePadded::new(Mutex::new(Wheel::new(shard as u32))))
                    .collect(),
                next_wake: NextWake::new(),
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
        shared.next_wake.begin_scan();
        let timer = shared.next_tick();
        shared.next_wake.end_scan(timer.unwrap_or(u64::MAX));
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

    /// Wakes every timer that came due, in deadline order across the shards.
    pub(crate) fn fire_due(&mut self) {
        let shared = &self.handle.shared;
        let now = shared.now_tick();
        let mut shards_fired = 0;
        for shard in 0..shared.shards.len() {
            let mut wheel = shared.lock(shard);
            if !wheel.is_empty() || wheel.elapsed() < now {
                let before = self.wake.len();
                wheel.poll(now, &mut self.wake);
                shards_fired += usize::from(self.wake.len() > before);
            }
        }
        if shards_fired > 1 {
            // Each shard's run is in deadline order; a late turn that fired several ticks
            // in several shards interleaves them (stable: same-tick timers keep their order).
            self.wake.sort_by_key(|&(when, _)| when);
        }
        for (_, waker) in self.wake.drain(..) {
            crate::util::wake_contained(waker);
        }
    }

    /// Stops timers (their `Sleep`s then panic when polled).
    pub(crate) fn shutdown(&mut self) {
        let shared = &self.handle.shared;
        shared.is_shutdown.store(true, Ordering::SeqCst);
        for shard in 0..shared.shards.len() {
            shared.lock(shard).drain(&mut self.wake);
        }
        for (_, waker) in self.wake.drain(..) {
            crate::util::wake_contained(waker);
        }
    }
}

impl Shared {
    #[inline]
    fn lock(&self, shard: usize) -> MutexGuard<'_, Wheel> {
        self.shards[shard].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The tick the earliest slot over all shards comes due at.
    fn next_tick(&self) -> Option<u64> {
        (0..self.shards.len())
            .filter_map(|shard| self.lock(shard).next_expiration())
            .map(|e| e.deadline)
            .min()
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

/// A shard's wheel lock, held while a `Sleep` touches its node.
pub(crate) struct WheelGuard<'a> {
    wheel: MutexGuard<'a, Wheel>,
    shared: &'a Shared,
}

impl TimeHandle {
    /// Locks shard `shard` (one [`shard_here`](TimeHandle::shard_here) returned).
    #[inline]
    pub(crate) fn lock(&self, shard: u32) -> WheelGuard<'_> {
        WheelGuard {
            wheel: self.shared.lock(shard as usize),
            shared: &self.shared,
        }
    }

    /// The shard for a timer first polled on this thread: its worker's, or the last one
    /// on a thread that is no worker (or a worker of another runtime with more workers).
    #[inline]
    pub(crate) fn shard_here(&self) -> u32 {
        let last = self.shared.shards.len() - 1;
        crate::scheduler::worker_index().map_or(last, |index| index.min(last)) as u32
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
        let next = self.shared.next_tick()?;
        Some(self.shared.tick_instant(next))
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
    #[inline]
    pub(crate) unsafe fn insert(&mut self, node: NonNull<TimerNode>) -> Result<(), ()> {
        // SAFETY: forwarded contract; we hold the lock.
        unsafe { self.wheel.insert(node) }?;
        // SAFETY: we hold the lock.
        let when = unsafe { node.as_ref().inner().when };
        if self.shared.next_wake.insert(when) {
            self.shared.io.unpark();
        }
        Ok(())
    }

    /// # Safety
    ///
    /// `node` is in this shard's wheel or in none.
    #[inline]
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

#[cfg(all(test, runtime_loom))]
mod loom_tests {
    use super::NextWake;
    use crate::loom::atomic::{AtomicUsize, Ordering::SeqCst};
    use crate::loom::{thread, Arc, Mutex};

    /// Two shards, each reduced to its earliest deadline. The driver's last scan saw a
    /// timer at tick 3, cancelled since; it scans again for its park timeout while a timer
    /// is inserted into each shard, later than 3 but earlier than shard 1's 20: if the
    /// driver's timeout is later than an inserted deadline, an insert must have unparked it.
    #[test]
    fn loom_no_lost_wake_across_shards() {
        loom::model(|| {
            let shards = Arc::new([Mutex::new(u64::MAX), Mutex::new(20)]);
            let next_wake = Arc::new(NextWake::new());
            next_wake.end_scan(3);
            let unparks = Arc::new(AtomicUsize::new(0));
            let inserters: Vec<_> = [(0, 10), (1, 15)]
                .into_iter()
                .map(|(shard, when)| {
                    let (shards, next_wake, unparks) =
                        (shards.clone(), next_wake.clone(), unparks.clone());
                    thread::spawn(move || {
                        let mut wheel = shards[shard].lock().unwrap();
                        *wheel = (*wheel).min(when);
                        if next_wake.insert(when) {
                            unparks.fetch_add(1, SeqCst);
                        }
                    })
                })
                .collect();
            next_wake.begin_scan();
            let found = shards.iter().map(|s| *s.lock().unwrap()).min().unwrap();
            next_wake.end_scan(found);
            for inserter in inserters {
                inserter.join().unwrap();
            }
            if found > 10 {
                assert!(unparks.load(SeqCst) > 0, "the driver sleeps past tick 10");
            }
        });
    }
}

#[cfg(all(test, not(runtime_loom)))]
mod tests {
    use super::*;
    use crate::reactor::Reactor;
    use std::pin::Pin;

    /// A paused driver with three shards and a timer in each, inserted out of deadline
    /// order: auto-advance must jump to each deadline in turn and fire only that timer.
    #[test]
    fn paused_clock_advances_through_every_shard_in_order() {
        let (_reactor, io) = Reactor::new().unwrap();
        let (mut driver, handle) = TimeDriver::new(io, Clock::new(true, true), 3);
        let deadlines = [(0, 30), (1, 10), (2, 20)];
        let nodes: Vec<Pin<Box<TimerNode>>> = deadlines
            .iter()
            .map(|&(shard, _)| {
                let mut node = TimerNode::new();
                node.shard = shard;
                Box::pin(node)
            })
            .collect();
        for (node, &(shard, when)) in nodes.iter().zip(&deadlines) {
            let ptr = NonNull::from(&**node);
            let mut wheel = handle.lock(shard);
            // SAFETY: the nodes are pinned in boxes that outlive the wheels' use of them,
            // and we hold the shard's lock.
            unsafe {
                ptr.as_ref().inner().when = when;
                wheel.insert(ptr).unwrap();
            }
        }
        for expect in [10, 20, 30] {
            assert!(driver.auto_advance(), "a timer is left");
            assert_eq!(handle.now(), handle.shared.tick_instant(expect));
            driver.fire_due();
            for (node, &(_, when)) in nodes.iter().zip(&deadlines) {
                assert_eq!(
                    node.is_fired(),
                    when <= expect,
                    "timer for {when} at {expect}"
                );
            }
        }
        assert!(!driver.auto_advance(), "every shard is empty");
    }
}
