//! Small building blocks shared by the schedulers.

/// Pads a hot atomic to its own cache line(s); shared with `runtime-primitives`' lock-free
/// queues.
pub(crate) use runtime_primitives::internal::CachePadded;

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
