//! Exponential backoff for the short waits of a lock-free structure.

use crate::loom::{spin_loop, thread};

/// Exponential backoff for the short waits of a lock-free structure: another thread has
/// claimed a position and is a few instructions away from publishing it, or won the
/// compare-exchange this thread lost.
///
/// Under `--cfg runtime_loom` every call is a single scheduling point, which keeps the models
/// small.
///
/// ```
/// use runtime_primitives::internal::Backoff;
/// use std::sync::atomic::{AtomicBool, Ordering};
///
/// let published = AtomicBool::new(true);
/// let mut backoff = Backoff::new();
/// while !published.load(Ordering::Acquire) {
///     backoff.snooze();
/// }
/// ```
#[derive(Debug, Default)]
pub struct Backoff {
    step: u32,
}

impl Backoff {
    const SPIN_LIMIT: u32 = 6;

    /// A backoff at its first, shortest step.
    ///
    /// ```
    /// let mut backoff = runtime_primitives::internal::Backoff::new();
    /// backoff.spin();
    /// ```
    pub fn new() -> Backoff {
        Backoff { step: 0 }
    }

    /// After a lost compare-exchange: spins a little longer each time, never yields (the
    /// winner is running, not waiting to be scheduled).
    ///
    /// ```
    /// use runtime_primitives::internal::Backoff;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    ///
    /// let count = AtomicUsize::new(0);
    /// let mut backoff = Backoff::new();
    /// let mut seen = count.load(Ordering::Relaxed);
    /// while let Err(actual) =
    ///     count.compare_exchange_weak(seen, seen + 1, Ordering::AcqRel, Ordering::Relaxed)
    /// {
    ///     seen = actual;
    ///     backoff.spin();
    /// }
    /// assert_eq!(count.load(Ordering::Relaxed), 1);
    /// ```
    pub fn spin(&mut self) {
        if cfg!(runtime_loom) {
            return thread::yield_now();
        }
        for _ in 0..1u32 << self.step.min(Self::SPIN_LIMIT) {
            spin_loop();
        }
        if self.step <= Self::SPIN_LIMIT {
            self.step += 1;
        }
    }

    /// While waiting for another thread to finish a write: spins, then gives up the CPU
    /// (that thread may have been preempted in the middle of its write).
    ///
    /// ```
    /// let mut backoff = runtime_primitives::internal::Backoff::new();
    /// for _ in 0..10 {
    ///     backoff.snooze(); // spins at first, then yields
    /// }
    /// ```
    pub fn snooze(&mut self) {
        if cfg!(runtime_loom) || self.step > Self::SPIN_LIMIT {
            return thread::yield_now();
        }
        for _ in 0..1u32 << self.step {
            spin_loop();
        }
        self.step += 1;
    }
}
