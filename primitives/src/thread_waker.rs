//! Running a future on the current OS thread: the engine of every `*_blocking` form.
//!
//! [`block_on_thread`] polls a future with a waker that unparks this thread. The waker also
//! sets a flag, so an unpark that did not come from it (another library's, or a stale one from
//! an earlier wait) only loops back into `park` instead of costing a poll, and a wake that
//! lands between a poll and the `park` is not lost.

use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};

use crate::loom::atomic::{AtomicBool, Ordering};
use crate::loom::thread;

/// A waker that unparks the thread that made it.
pub(crate) struct ThreadWaker {
    thread: thread::Thread,
    /// Set by every wake, cleared by the thread before it polls again.
    woken: AtomicBool,
}

// `Waker::from` takes std's `Arc`, whatever the shim says: the count only keeps this waker
// alive and is no part of any primitive's shared state (which the shim's types model).
impl std::task::Wake for ThreadWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        // A read-modify-write, not a store: every wake and every check then sit in one
        // modification order, so a check after the unpark reads this wake (loom holds plain
        // stores to a weaker rule).
        self.woken.swap(true, Ordering::AcqRel);
        self.thread.unpark();
    }
}

impl ThreadWaker {
    /// A waker for the current thread, and the handle to wait on it.
    pub(crate) fn new() -> (std::sync::Arc<ThreadWaker>, Waker) {
        let inner = std::sync::Arc::new(ThreadWaker {
            thread: thread::current(),
            woken: AtomicBool::new(false),
        });
        let waker = Waker::from(inner.clone());
        (inner, waker)
    }

    /// Parks the current thread (the one that made this waker) until the waker is woken;
    /// returns at once if it was woken since the last call.
    pub(crate) fn park(&self) {
        while !self.woken.swap(false, Ordering::Acquire) {
            thread::park();
        }
    }
}

impl ThreadWaker {
    /// As [`park`](ThreadWaker::park), but gives up at `deadline`; returns whether the waker
    /// was woken. Under loom (which has no clock) it waits for the wake.
    pub(crate) fn park_until(&self, deadline: std::time::Instant) -> bool {
        loop {
            if self.woken.swap(false, Ordering::Acquire) {
                return true;
            }
            #[cfg(runtime_loom)]
            {
                let _ = deadline;
                thread::park();
            }
            #[cfg(not(runtime_loom))]
            {
                let now = std::time::Instant::now();
                if now >= deadline {
                    return false;
                }
                thread::park_timeout(deadline - now);
            }
        }
    }
}

/// Polls `fut` on the current thread until it completes or `deadline` passes, parking it
/// while the future is pending. At the deadline the future gets one last poll (a wake that
/// raced the deadline still counts); `None` means it was still pending, and the caller drops
/// it, which withdraws it (the timed `*_blocking` forms).
///
/// ```
/// use runtime_primitives::internal::block_on_thread_until;
/// use std::time::{Duration, Instant};
///
/// let soon = Instant::now() + Duration::from_millis(10);
/// assert_eq!(block_on_thread_until(async { 5 }, soon), Some(5));
/// assert_eq!(block_on_thread_until(std::future::pending::<()>(), soon), None);
/// ```
pub fn block_on_thread_until<F: Future>(fut: F, deadline: std::time::Instant) -> Option<F::Output> {
    let mut fut = pin!(fut);
    let (parker, waker) = ThreadWaker::new();
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return Some(out);
        }
        if !parker.park_until(deadline) {
            return match fut.as_mut().poll(&mut cx) {
                Poll::Ready(out) => Some(out),
                Poll::Pending => None,
            };
        }
    }
}

/// Polls `fut` to completion on the current thread, parking it while the future is pending.
///
/// Its waker unparks this thread and sets a flag, so an unpark that did not come from it
/// (another library's, or a stale one) costs no poll, and a wake between a poll and the park
/// is not lost. Callers (the `*_blocking` forms) first check `hooks::assert_can_block`, so a
/// runtime worker is never parked here.
///
/// ```
/// use runtime_primitives::{internal::block_on_thread, oneshot};
///
/// let (tx, rx) = oneshot::channel();
/// let sender = std::thread::spawn(move || tx.send("from another thread"));
/// assert_eq!(block_on_thread(rx), Ok("from another thread"));
/// sender.join().unwrap().unwrap();
/// ```
pub fn block_on_thread<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let (parker, waker) = ThreadWaker::new();
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        parker.park();
    }
}

#[cfg(all(test, not(runtime_loom)))]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn spurious_unparks_do_not_finish_a_wait() {
        let (parker, waker) = ThreadWaker::new();
        let me = std::thread::current();
        let woke = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let poker = {
            let woke = woke.clone();
            std::thread::spawn(move || {
                for _ in 0..10 {
                    me.unpark();
                    std::thread::sleep(Duration::from_millis(1));
                }
                woke.store(true, Ordering::Relaxed);
                waker.wake();
            })
        };
        parker.park();
        assert!(woke.load(Ordering::Relaxed), "returned on a bare unpark");
        poker.join().expect("the poker does not panic");
    }

    #[test]
    fn runs_a_future_woken_from_another_thread() {
        let (tx, rx) = crate::oneshot::channel();
        let sender = std::thread::spawn(move || tx.send(5));
        assert_eq!(block_on_thread(rx), Ok(5));
        sender.join().expect("no panic").expect("received");
    }
}
