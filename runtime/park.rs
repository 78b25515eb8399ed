//! Thread parking with no lost wake-up: an unpark before the park makes the park return at
//! once. The building block under the driver seam and the workers that wait off-driver.

use crate::loom::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::{Condvar, Mutex};
use std::time::Duration;

const EMPTY: usize = 0;
const PARKED: usize = 1;
const NOTIFIED: usize = 2;

#[derive(Debug)]
pub(crate) struct ParkInner {
    state: AtomicUsize,
    lock: Mutex<()>,
    cvar: Condvar,
}

impl ParkInner {
    pub(crate) fn new() -> ParkInner {
        ParkInner {
            state: AtomicUsize::new(EMPTY),
            lock: Mutex::new(()),
            cvar: Condvar::new(),
        }
    }

    /// Blocks until unparked (or `timeout` passes); consumes one pending unpark.
    pub(crate) fn park(&self, timeout: Option<Duration>) {
        if timeout == Some(Duration::ZERO) {
            // A turn that must not block: consume a pending unpark, reading first so the
            // common nothing-pending case writes no shared cache line.
            if self.state.load(SeqCst) == NOTIFIED {
                let _ = self.state.compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst);
            }
            return;
        }
        if self
            .state
            .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
            .is_ok()
        {
            return;
        }
        let mut guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        match self.state.compare_exchange(EMPTY, PARKED, SeqCst, SeqCst) {
            Ok(_) => {}
            Err(NOTIFIED) => {
                self.state.swap(EMPTY, SeqCst);
                return;
            }
            Err(actual) => panic!("inconsistent park state: {actual}"),
        }
        match timeout {
            None => loop {
                guard = self.cvar.wait(guard).unwrap_or_else(|e| e.into_inner());
                if self
                    .state
                    .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
                    .is_ok()
                {
                    return;
                }
                // Spurious wake-up: wait again.
            },
            Some(timeout) => {
                let (_guard, _) = self
                    .cvar
                    .wait_timeout(guard, timeout)
                    .unwrap_or_else(|e| e.into_inner());
                // Notified or timed out: either way the park is over.
                self.state.swap(EMPTY, SeqCst);
            }
        }
    }

    pub(crate) fn unpark(&self) {
        match self.state.swap(NOTIFIED, SeqCst) {
            EMPTY | NOTIFIED => {}
            PARKED => {
                // Taking the lock orders this notify after the parker's wait began.
                drop(self.lock.lock().unwrap_or_else(|e| e.into_inner()));
                self.cvar.notify_one();
            }
            actual => panic!("inconsistent park state: {actual}"),
        }
    }
}

/// Runs `future` on the current thread, parking it between polls. No tasks run here: this
/// is the multi-thread `block_on`, where workers run the tasks.
pub(crate) fn block_on_thread<F: std::future::Future>(future: F) -> F::Output {
    struct ThreadWaker(std::thread::Thread);
    impl std::task::Wake for ThreadWaker {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(std::sync::Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        let poll = crate::scheduler::coop::budget(|| future.as_mut().poll(&mut cx));
        if let std::task::Poll::Ready(output) = poll {
            return output;
        }
        // A spurious return only costs an extra poll.
        std::thread::park();
    }
}
