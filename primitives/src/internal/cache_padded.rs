//! Cache-line padding for hot atomics.

use core::ops::{Deref, DerefMut};

/// Pads and aligns a value to its own cache line(s), so that hot atomics written by
/// different threads (a queue's head and tail, a worker's counters) do not invalidate each
/// other's line on every write. Two lines on x86-64 and aarch64, whose prefetchers pull lines
/// in pairs; one elsewhere.
///
/// ```
/// use runtime_primitives::internal::CachePadded;
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// struct Ends {
///     head: CachePadded<AtomicUsize>,
///     tail: CachePadded<AtomicUsize>,
/// }
///
/// let ends = Ends { head: CachePadded::new(AtomicUsize::new(0)), tail: CachePadded::default() };
/// ends.tail.fetch_add(1, Ordering::Relaxed);
/// assert_eq!(ends.tail.load(Ordering::Relaxed) - ends.head.load(Ordering::Relaxed), 1);
/// assert!(core::mem::align_of::<CachePadded<u8>>() >= 64);
/// ```
#[cfg_attr(any(target_arch = "x86_64", target_arch = "aarch64"), repr(align(128)))]
#[cfg_attr(
    not(any(target_arch = "x86_64", target_arch = "aarch64")),
    repr(align(64))
)]
#[derive(Debug, Default)]
pub struct CachePadded<T>(T);

impl<T> CachePadded<T> {
    /// Pads `value`.
    ///
    /// ```
    /// let padded = runtime_primitives::internal::CachePadded::new(5);
    /// assert_eq!(*padded, 5);
    /// ```
    pub const fn new(value: T) -> CachePadded<T> {
        CachePadded(value)
    }
}

impl<T> Deref for CachePadded<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for CachePadded<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}
