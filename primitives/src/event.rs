//! A resettable flag that tasks and threads wait on: Python's `threading.Event`.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::hooks;
use crate::loom::atomic::{AtomicBool, Ordering};
use crate::loom::Mutex;
use crate::thread_waker::{block_on_thread, block_on_thread_until};
use crate::waiter_list::{
    lock, notify_batched, poll_wait, requeue, Status, WaitPoll, Waiter, WaiterList,
};

/// A flag that starts unset; [`wait`](Event::wait) waits until it is [`set`](Event::set).
/// Python's `threading.Event` (and `gevent.event.Event`), for tasks and threads alike.
///
/// Setting the event wakes every waiter, and every waiter woken by a `set` returns, even if
/// the event is [`clear`](Event::clear)ed again right away (as in Python, where such a wait
/// returns `True`). A wait that starts while the event is set returns at once.
///
/// The seeds' boss and worker: the boss waits until the worker has made ten cups.
///
/// ```
/// use futures::executor::block_on;
/// use runtime_primitives::Event;
/// use std::sync::Arc;
///
/// let done = Arc::new(Event::new());
/// let worker = {
///     let done = done.clone();
///     std::thread::spawn(move || {
///         let cups: Vec<u32> = (1..=10).collect(); // make 10 cups
///         done.set();
///         cups.len()
///     })
/// };
/// block_on(done.wait()); // the boss: "Good job."
/// assert!(done.is_set());
/// assert_eq!(worker.join().unwrap(), 10);
/// ```
///
/// A timeout is `runtime::time::timeout(d, event.wait())` in async code (Python's
/// `wait(timeout)` returning `False` is the `Err(Elapsed)`), and
/// [`wait_timeout_blocking`](Event::wait_timeout_blocking) on threads.
pub struct Event {
    /// The flag. Written under the lock by `set` (so a waiter that checks it under the lock
    /// and then registers can't miss the `set`); `clear` and the readers need no lock.
    flag: AtomicBool,
    waiters: Mutex<WaiterList<()>>,
}

impl Event {
    /// A new event, not set.
    ///
    /// ```
    /// use runtime_primitives::Event;
    ///
    /// assert!(!Event::new().is_set());
    /// ```
    pub fn new() -> Event {
        Event {
            flag: AtomicBool::new(false),
            waiters: Mutex::new(WaiterList::new()),
        }
    }

    /// Sets the flag and wakes every waiter. Setting a set event does nothing.
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use runtime_primitives::Event;
    ///
    /// let event = Event::new();
    /// event.set();
    /// block_on(event.wait()); // returns at once
    /// ```
    pub fn set(&self) {
        if self.flag.load(Ordering::Acquire) {
            // Already set: a waiter only registers while the flag is clear, under the lock,
            // and the `set` that raised it woke everyone registered before.
            return;
        }
        let waiters = lock(&self.waiters);
        self.flag.store(true, Ordering::Release);
        notify_batched(&self.waiters, waiters, |list| list, usize::MAX, |_| ());
    }

    /// Clears the flag: later waits wait again. Waiters already woken by a `set` still return.
    ///
    /// ```
    /// use runtime_primitives::Event;
    ///
    /// let event = Event::new();
    /// event.set();
    /// event.clear();
    /// assert!(!event.is_set());
    /// ```
    pub fn clear(&self) {
        self.flag.store(false, Ordering::Release);
    }

    /// Whether the flag is set (a snapshot).
    ///
    /// ```
    /// use runtime_primitives::Event;
    ///
    /// let event = Event::new();
    /// event.set();
    /// assert!(event.is_set());
    /// ```
    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::Acquire)
    }

    /// Waits until the flag is set; returns at once if it is set now.
    ///
    /// Each wait that completes spends one unit of the task's cooperative budget.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: dropping the future withdraws it and affects no other waiter.
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use runtime_primitives::Event;
    /// use std::sync::Arc;
    ///
    /// let ready = Arc::new(Event::new());
    /// let setter = {
    ///     let ready = ready.clone();
    ///     std::thread::spawn(move || ready.set())
    /// };
    /// block_on(ready.wait());
    /// setter.join().unwrap();
    /// ```
    pub fn wait(&self) -> Wait<'_> {
        Wait {
            event: self,
            node: Waiter::new(()),
        }
    }

    /// Whether the flag is set: the never-waiting form of [`wait`](Event::wait), the same as
    /// [`is_set`](Event::is_set) (Python's `wait(0)`).
    ///
    /// ```
    /// use runtime_primitives::Event;
    ///
    /// let event = Event::new();
    /// assert!(!event.try_wait());
    /// event.set();
    /// assert!(event.try_wait());
    /// ```
    pub fn try_wait(&self) -> bool {
        self.is_set()
    }

    /// Blocks the current OS thread until the flag is set.
    ///
    /// # Panics
    ///
    /// On a runtime worker thread, where parking would stall every task on it: use
    /// [`wait`](Event::wait)`.await` there, or call this from `spawn_blocking`.
    ///
    /// ```
    /// use runtime_primitives::Event;
    /// use std::sync::Arc;
    ///
    /// let go = Arc::new(Event::new());
    /// let runner = {
    ///     let go = go.clone();
    ///     std::thread::spawn(move || {
    ///         go.wait_blocking();
    ///         "running"
    ///     })
    /// };
    /// go.set();
    /// assert_eq!(runner.join().unwrap(), "running");
    /// ```
    #[track_caller]
    pub fn wait_blocking(&self) {
        hooks::assert_can_block("Event::wait_blocking", "event.wait().await");
        if !self.is_set() {
            block_on_thread(self.wait());
        }
    }

    /// Blocks the current OS thread until the flag is set or `timeout` passes; returns `true`
    /// if it was set (or a `set` woke this wait), `false` on timeout: Python's
    /// `event.wait(timeout)`.
    ///
    /// # Panics
    ///
    /// On a runtime worker thread: use `runtime::time::timeout(d, event.wait())` there.
    ///
    /// ```
    /// use runtime_primitives::Event;
    /// use std::time::Duration;
    ///
    /// let net_ok = Event::new();
    /// // The seeds' `conn_mysql`: retry while the network check has not set the event.
    /// let mut attempts = 0;
    /// while !net_ok.wait_timeout_blocking(Duration::from_millis(1)) && attempts < 5 {
    ///     attempts += 1;
    /// }
    /// assert_eq!(attempts, 5);
    /// net_ok.set();
    /// assert!(net_ok.wait_timeout_blocking(Duration::from_secs(1)));
    /// ```
    #[track_caller]
    pub fn wait_timeout_blocking(&self, timeout: Duration) -> bool {
        hooks::assert_can_block(
            "Event::wait_timeout_blocking",
            "runtime::time::timeout(d, event.wait()).await",
        );
        if self.is_set() {
            return true;
        }
        let deadline = Instant::now().checked_add(timeout);
        match deadline {
            Some(deadline) => block_on_thread_until(self.wait(), deadline).is_some(),
            None => {
                // A timeout too far to represent: no timeout.
                block_on_thread(self.wait());
                true
            }
        }
    }
}

impl Default for Event {
    fn default() -> Self {
        Event::new()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("is_set", &self.is_set())
            .finish()
    }
}

/// The future of [`Event::wait`]. Cancel-safe.
///
/// ```
/// use futures::executor::block_on;
/// use runtime_primitives::Event;
///
/// let event = Event::new();
/// event.set();
/// let wait: runtime_primitives::EventWait<'_> = event.wait();
/// block_on(wait);
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Wait<'a> {
    event: &'a Event,
    node: Waiter<()>,
}

impl Future for Wait<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        poll_wait(self, cx)
    }
}

// SAFETY: `node` is structurally pinned (never moved), registered only in `event.waiters`,
// and `Drop` withdraws it under that lock.
unsafe impl WaitPoll for Wait<'_> {
    type Data = ();
    type State = WaiterList<()>;
    type Output = ();

    fn node(self: Pin<&Self>) -> Pin<&Waiter<()>> {
        // SAFETY: as above.
        unsafe { self.map_unchecked(|wait| &wait.node) }
    }

    fn lock(&self) -> &Mutex<WaiterList<()>> {
        &self.event.waiters
    }

    /// A `set` that came before the lock: done, and the node needs no place in the list
    /// (the `set` wakes only those already queued).
    fn recheck(self: Pin<&Self>, _: &mut WaiterList<()>) -> Option<()> {
        self.event.flag.load(Ordering::Acquire).then_some(())
    }

    fn first(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.event.is_set() {
            return Poll::Ready(());
        }
        // Queues the node, unless the flag was set before the lock.
        requeue(self, cx)
    }

    /// Woken by a `set`: done, whatever the flag says now.
    fn notified(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        Poll::Ready(())
    }
}

impl Drop for Wait<'_> {
    fn drop(&mut self) {
        if self.node.status() == Status::Idle {
            return;
        }
        let mut waiters = lock(&self.event.waiters);
        // SAFETY: we own the node, which is in this list or in none. A notification it did
        // not use needs no passing on: a `set` wakes every waiter.
        unsafe { waiters.remove(&self.node) };
    }
}

impl fmt::Debug for Wait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventWait")
            .field("event", self.event)
            .field("node", &self.node)
            .finish()
    }
}

#[cfg(all(test, runtime_loom))]
mod loom_tests {
    use super::*;
    use crate::loom::{thread, Arc};
    use core::pin::pin;
    use core::task::Waker;

    /// `set` racing a wait that registers: the wait always finishes (a lost wake-up leaves
    /// the thread parked forever, which loom reports).
    #[test]
    fn set_vs_wait() {
        ::loom::model(|| {
            let event = Arc::new(Event::new());
            let setter = {
                let event = event.clone();
                thread::spawn(move || event.set())
            };
            block_on_thread(event.wait());
            setter.join().unwrap();
        });
    }

    /// A wait registered before `set` returns even though `clear` follows at once.
    #[test]
    fn set_then_clear_still_releases_a_registered_waiter() {
        ::loom::model(|| {
            let event = Arc::new(Event::new());
            let mut wait = pin!(event.wait());
            let noop = Waker::noop();
            assert!(wait
                .as_mut()
                .poll(&mut Context::from_waker(noop))
                .is_pending());
            let toggler = {
                let event = event.clone();
                thread::spawn(move || {
                    event.set();
                    event.clear();
                })
            };
            block_on_thread(wait);
            toggler.join().unwrap();
        });
    }

    /// `set` racing a waiter that registers and is dropped: the list ends empty and another
    /// waiter still finishes.
    #[test]
    fn set_vs_dropped_waiter() {
        ::loom::model(|| {
            let event = Arc::new(Event::new());
            let dropper = {
                let event = event.clone();
                thread::spawn(move || {
                    let mut wait = pin!(event.wait());
                    let _ = wait.as_mut().poll(&mut Context::from_waker(Waker::noop()));
                })
            };
            let setter = {
                let event = event.clone();
                thread::spawn(move || event.set())
            };
            block_on_thread(event.wait());
            dropper.join().unwrap();
            setter.join().unwrap();
            assert!(lock(&event.waiters).is_empty());
        });
    }
}
