//! Small building blocks shared by the schedulers.

use std::ops::Deref;

/// Pads and aligns a value to two cache lines, so that hot atomics written by different
/// threads don't share one (adjacent-line prefetch pulls lines in pairs on x86).
#[cfg_attr(any(target_arch = "x86_64", target_arch = "aarch64"), repr(align(128)))]
#[cfg_attr(
    not(any(target_arch = "x86_64", target_arch = "aarch64")),
    repr(align(64))
)]
#[derive(Debug, Default)]
pub(crate) struct CachePadded<T>(T);

impl<T> CachePadded<T> {
    pub(crate) const fn new(value: T) -> CachePadded<T> {
        CachePadded(value)
    }
}

impl<T> Deref for CachePadded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// A xorshift generator for picking steal victims: fast, and good enough to spread them.
#[derive(Debug)]
pub(crate) struct FastRand {
    state: u32,
}

impl FastRand {
    pub(crate) fn new(seed: u64) -> FastRand {
        let state = ((seed ^ (seed >> 32)) as u32) | 1;
        FastRand { state }
    }

    /// A value in `0..n` (n > 0).
    pub(crate) fn below(&mut self, n: u32) -> u32 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.state = x;
        ((x as u64 * n as u64) >> 32) as u32
    }
}
