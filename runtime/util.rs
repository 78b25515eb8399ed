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

/// Wakes `waker` for one of the runtime's drivers (IO readiness, timers, signals, deferred
/// yields). A `wake` that panics is contained here: the panic hook has reported it, and
/// it must neither unwind through the driver, taking the thread that turns it down with
/// it, nor keep the wakers after it in the same batch from being woken.
pub(crate) fn wake_contained(waker: std::task::Waker) {
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| waker.wake()));
}

/// Runs a `Builder::on_thread_start` / `on_thread_stop` callback. A panic in it is
/// contained (the panic hook has reported it): the thread carries on starting or
/// stopping, so a runtime never loses a worker or a pool thread to its own hook, and
/// shutdown never waits for a thread that died before it could count itself out.
pub(crate) fn run_thread_callback(callback: &crate::runtime_config::Callback) {
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| callback()));
}
