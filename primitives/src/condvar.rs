//! A condition variable for [`Mutex`]: Python's `threading.Condition`, for tasks and threads.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::hooks;
use crate::loom::atomic::{AtomicUsize, Ordering};
use crate::loom::Mutex as StateLock;
use crate::mutex::{Mutex, MutexGuard, OwnedMutexGuard};
use crate::thread_waker::{block_on_thread, block_on_thread_until};
use crate::waiter_list::{
    lock, notify_batched, poll_wait, requeue, Status, WaitPoll, Waiter, WaiterList, WakeList,
};

/// Lets tasks and threads wait, with a [`Mutex`] unlocked, until another one changes the data
/// behind it and notifies them. Python's `threading.Condition`, split the Rust way: the lock
/// is the `Mutex`, the waiting and notifying is the `Condvar`.
///
/// [`wait`](Condvar::wait) takes the guard, unlocks the mutex and queues the waiter in one
/// step (a notification sent by anyone who takes the lock after that reaches it), and takes
/// the lock again before it returns. As with every condition variable, a waiter may wake
/// when its condition does not hold (another waiter got there first): wait in a loop, or
/// use [`wait_while`](Condvar::wait_while).
///
/// The seeds' two smart speakers, reciting a poem in strict turns:
///
/// ```
/// use futures::executor::block_on;
/// use runtime_primitives::{Condvar, Mutex};
/// use std::sync::Arc;
///
/// let lines = ["小爱同学", "在", "我们来对古诗吧", "好啊"];
/// let turn = Arc::new((Mutex::new(0usize), Condvar::new()));
/// let speaker = |me: usize| {
///     let turn = turn.clone();
///     std::thread::spawn(move || {
///         let (next, cv) = &*turn;
///         let mut said = Vec::new();
///         for i in (me..lines.len()).step_by(2) {
///             let mut guard = cv.wait_while_blocking(next.lock_blocking(), |n| *n != i);
///             said.push(lines[i]);
///             *guard += 1;
///             cv.notify_all();
///         }
///         said
///     })
/// };
/// let (a, b) = (speaker(0), speaker(1));
/// assert_eq!(a.join().unwrap(), ["小爱同学", "我们来对古诗吧"]);
/// assert_eq!(b.join().unwrap(), ["在", "好啊"]);
/// assert_eq!(*block_on(turn.0.lock()), 4);
/// ```
pub struct Condvar {
    /// How many waiters are queued (kept under the lock), so a notify with nobody waiting
    /// takes no lock.
    waiting: AtomicUsize,
    waiters: StateLock<WaiterList<()>>,
}

impl Condvar {
    /// A new condition variable.
    ///
    /// ```
    /// use runtime_primitives::Condvar;
    ///
    /// let cv = Condvar::new();
    /// cv.notify_all(); // nobody waits: nothing happens
    /// ```
    pub fn new() -> Condvar {
        Condvar {
            waiting: AtomicUsize::new(0),
            waiters: StateLock::new(WaiterList::new()),
        }
    }

    /// Unlocks the mutex of `guard`, waits for a notification, locks the mutex again and
    /// returns its guard.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a waiter dropped after it was notified (while waiting or while taking the
    /// lock back) passes the notification on to the next waiter. The guard is gone once the
    /// future was polled, so a cancelled wait leaves the mutex unlocked.
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use runtime_primitives::{Condvar, Mutex};
    /// use std::sync::Arc;
    ///
    /// let pair = Arc::new((Mutex::new(false), Condvar::new()));
    /// let setter = {
    ///     let pair = pair.clone();
    ///     std::thread::spawn(move || {
    ///         *pair.0.lock_blocking() = true;
    ///         pair.1.notify_one();
    ///     })
    /// };
    /// block_on(async {
    ///     let (ready, cv) = &*pair;
    ///     let mut guard = ready.lock().await;
    ///     while !*guard {
    ///         guard = cv.wait(guard).await;
    ///     }
    /// });
    /// setter.join().unwrap();
    /// ```
    pub async fn wait<'a, T: ?Sized>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        let mutex = MutexGuard::mutex(&guard);
        let notified = Notified::new(self, guard, core::future::pending()).await;
        self.relock(mutex.lock(), notified).await
    }

    /// Waits while `condition` holds: [`wait`](Condvar::wait) in a loop that re-checks it
    /// with the lock held, so spurious and stolen wake-ups are handled. Returns the guard once
    /// `condition` is false (at once if it already is).
    ///
    /// # Cancel safety
    ///
    /// As [`wait`](Condvar::wait).
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use runtime_primitives::{Condvar, Mutex};
    /// use std::sync::Arc;
    ///
    /// let pair = Arc::new((Mutex::new(Vec::<u32>::new()), Condvar::new()));
    /// let producer = {
    ///     let pair = pair.clone();
    ///     std::thread::spawn(move || {
    ///         for i in 0..3 {
    ///             pair.0.lock_blocking().push(i);
    ///             pair.1.notify_all();
    ///         }
    ///     })
    /// };
    /// let items = block_on(async {
    ///     let guard = pair.0.lock().await;
    ///     pair.1.wait_while(guard, |items| items.len() < 3).await.clone()
    /// });
    /// assert_eq!(items, [0, 1, 2]);
    /// producer.join().unwrap();
    /// ```
    pub async fn wait_while<'a, T: ?Sized>(
        &self,
        mut guard: MutexGuard<'a, T>,
        mut condition: impl FnMut(&mut T) -> bool,
    ) -> MutexGuard<'a, T> {
        while condition(&mut guard) {
            guard = self.wait(guard).await;
        }
        guard
    }

    /// As [`wait`](Condvar::wait), but gives up when `timer` completes; returns the guard
    /// (the lock is always taken again) and `true` if it timed out without a notification.
    /// Python's `cond.wait(timeout)` (which returns `False` on timeout).
    ///
    /// `timer` is any future of `()`, such as `runtime::time::sleep(d)` or another runtime's
    /// sleep: the condition variable itself needs no timer.
    ///
    /// # Cancel safety
    ///
    /// As [`wait`](Condvar::wait). A notification that arrives as the timer fires is not
    /// lost: it is either reported (`false`) or passed on.
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use runtime_primitives::{Condvar, Mutex};
    ///
    /// let (m, cv) = (Mutex::new(()), Condvar::new());
    /// block_on(async {
    ///     let guard = m.lock().await;
    ///     // A timer that has already fired: times out at once.
    ///     let (_guard, timed_out) = cv.wait_timeout(guard, async {}).await;
    ///     assert!(timed_out);
    /// });
    /// ```
    pub async fn wait_timeout<'a, T: ?Sized, F: Future<Output = ()>>(
        &self,
        guard: MutexGuard<'a, T>,
        timer: F,
    ) -> (MutexGuard<'a, T>, bool) {
        let mutex = MutexGuard::mutex(&guard);
        let notified = Notified::new(self, guard, timer).await;
        (self.relock(mutex.lock(), notified).await, !notified)
    }

    /// [`wait`](Condvar::wait) for an [`OwnedMutexGuard`].
    ///
    /// # Cancel safety
    ///
    /// As [`wait`](Condvar::wait).
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use runtime_primitives::{Condvar, Mutex};
    /// use std::sync::Arc;
    ///
    /// let m = Arc::new(Mutex::new(0));
    /// let cv = Arc::new(Condvar::new());
    /// let notifier = {
    ///     let (m, cv) = (m.clone(), cv.clone());
    ///     std::thread::spawn(move || {
    ///         *m.lock_blocking() = 1;
    ///         cv.notify_one();
    ///     })
    /// };
    /// block_on(async {
    ///     let mut guard = m.clone().lock_owned().await;
    ///     while *guard == 0 {
    ///         guard = cv.wait_owned(guard).await;
    ///     }
    /// });
    /// notifier.join().unwrap();
    /// ```
    pub async fn wait_owned<T: ?Sized>(&self, guard: OwnedMutexGuard<T>) -> OwnedMutexGuard<T> {
        let mutex: Arc<Mutex<T>> = guard.mutex().clone();
        let notified = Notified::new(self, guard, core::future::pending()).await;
        self.relock(mutex.lock_owned(), notified).await
    }

    /// Blocks the current OS thread in [`wait`](Condvar::wait).
    ///
    /// # Panics
    ///
    /// On a runtime worker thread, where parking would stall every task on it: use
    /// [`wait`](Condvar::wait)`.await` there, or call this from `spawn_blocking`.
    ///
    /// ```
    /// use runtime_primitives::{Condvar, Mutex};
    /// use std::sync::Arc;
    ///
    /// let pair = Arc::new((Mutex::new(0), Condvar::new()));
    /// let other = {
    ///     let pair = pair.clone();
    ///     std::thread::spawn(move || {
    ///         *pair.0.lock_blocking() += 1;
    ///         pair.1.notify_one();
    ///     })
    /// };
    /// let mut guard = pair.0.lock_blocking();
    /// while *guard == 0 {
    ///     guard = pair.1.wait_blocking(guard);
    /// }
    /// other.join().unwrap();
    /// ```
    #[track_caller]
    pub fn wait_blocking<'a, T: ?Sized>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        hooks::assert_can_block("Condvar::wait_blocking", "condvar.wait(guard).await");
        let mutex = MutexGuard::mutex(&guard);
        block_on_thread(Notified::new(self, guard, core::future::pending()));
        mutex.lock_blocking()
    }

    /// Blocks the current OS thread in [`wait_while`](Condvar::wait_while).
    ///
    /// # Panics
    ///
    /// On a runtime worker thread, as [`wait_blocking`](Condvar::wait_blocking).
    ///
    /// ```
    /// use runtime_primitives::{Condvar, Mutex};
    ///
    /// let (m, cv) = (Mutex::new(3), Condvar::new());
    /// let guard = cv.wait_while_blocking(m.lock_blocking(), |n| *n == 0); // false: no wait
    /// assert_eq!(*guard, 3);
    /// ```
    #[track_caller]
    pub fn wait_while_blocking<'a, T: ?Sized>(
        &self,
        mut guard: MutexGuard<'a, T>,
        mut condition: impl FnMut(&mut T) -> bool,
    ) -> MutexGuard<'a, T> {
        hooks::assert_can_block(
            "Condvar::wait_while_blocking",
            "condvar.wait_while(guard, condition).await",
        );
        while condition(&mut guard) {
            guard = self.wait_blocking(guard);
        }
        guard
    }

    /// Blocks the current OS thread in [`wait`](Condvar::wait) for at most `timeout`;
    /// returns the guard (the lock is always taken again) and `true` if it timed out.
    ///
    /// # Panics
    ///
    /// On a runtime worker thread, as [`wait_blocking`](Condvar::wait_blocking).
    ///
    /// ```
    /// use runtime_primitives::{Condvar, Mutex};
    /// use std::time::Duration;
    ///
    /// let (m, cv) = (Mutex::new(()), Condvar::new());
    /// let (_guard, timed_out) = cv.wait_timeout_blocking(m.lock_blocking(), Duration::from_millis(5));
    /// assert!(timed_out); // nobody notified
    /// ```
    #[track_caller]
    pub fn wait_timeout_blocking<'a, T: ?Sized>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: Duration,
    ) -> (MutexGuard<'a, T>, bool) {
        hooks::assert_can_block(
            "Condvar::wait_timeout_blocking",
            "condvar.wait_timeout(guard, timer).await",
        );
        let mutex = MutexGuard::mutex(&guard);
        let notified = Notified::new(self, guard, core::future::pending());
        let timed_out = match Instant::now().checked_add(timeout) {
            // At the deadline the wait is dropped, which passes on a late notification.
            Some(deadline) => block_on_thread_until(notified, deadline).is_none(),
            None => !block_on_thread(notified),
        };
        (mutex.lock_blocking(), timed_out)
    }

    /// Wakes the longest-waiting waiter, if any. Python's `notify()`.
    ///
    /// The notifier need not hold the mutex, but a waiter is only sure to be reached if it
    /// started waiting before the notifier took the lock (the usual pattern: change the data
    /// under the lock, then notify).
    ///
    /// ```
    /// use runtime_primitives::Condvar;
    ///
    /// Condvar::new().notify_one();
    /// ```
    pub fn notify_one(&self) {
        self.notify(1);
    }

    /// Wakes up to `n` waiters, longest-waiting first; returns how many it woke. Python's
    /// `notify(n)`.
    ///
    /// ```
    /// use runtime_primitives::Condvar;
    ///
    /// assert_eq!(Condvar::new().notify(3), 0);
    /// ```
    pub fn notify(&self, n: usize) -> usize {
        if n == 0 || self.waiting.load(Ordering::SeqCst) == 0 {
            return 0;
        }
        let waiters = lock(&self.waiters);
        notify_batched(
            &self.waiters,
            waiters,
            |list| list,
            n,
            |()| {
                self.waiting.fetch_sub(1, Ordering::SeqCst);
            },
        )
    }

    /// Wakes every waiter queued now; returns how many it woke. Python's `notify_all()`.
    ///
    /// ```
    /// use runtime_primitives::Condvar;
    ///
    /// assert_eq!(Condvar::new().notify_all(), 0);
    /// ```
    pub fn notify_all(&self) -> usize {
        self.notify(usize::MAX)
    }

    /// Takes the lock back after a wait. If this is dropped before it has the lock, a
    /// notification the wait received is passed on.
    async fn relock<G>(&self, lock: impl Future<Output = G>, notified: bool) -> G {
        let pass_on = PassOn {
            condvar: self,
            armed: notified,
        };
        let guard = lock.await;
        core::mem::forget(pass_on);
        guard
    }

    /// Wakes the first waiter: a notification a cancelled waiter did not use.
    fn pass_on(&self, waiters: &mut WaiterList<()>, wakers: &mut WakeList) {
        if waiters.notify_front(wakers, |()| ()) {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl Default for Condvar {
    fn default() -> Self {
        Condvar::new()
    }
}

impl fmt::Debug for Condvar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condvar")
            .field("waiting", &self.waiting.load(Ordering::Relaxed))
            .finish()
    }
}

/// Passes a notification on if a woken waiter is dropped before it had the lock back.
struct PassOn<'a> {
    condvar: &'a Condvar,
    armed: bool,
}

impl Drop for PassOn<'_> {
    fn drop(&mut self) {
        if self.armed {
            let mut waiters = lock(&self.condvar.waiters);
            let mut wakers = WakeList::new();
            self.condvar.pass_on(&mut waiters, &mut wakers);
            drop(waiters);
            wakers.wake_all();
        }
    }
}

/// The waiting part of a wait: queues the node and drops the guard (unlocking the mutex) in
/// its first poll, then resolves when notified (`true`) or when `timer` fires (`false`).
struct Notified<'c, G, F> {
    condvar: &'c Condvar,
    /// The guard, until the first poll drops it.
    guard: Option<G>,
    node: Waiter<()>,
    timer: F,
}

impl<'c, G, F> Notified<'c, G, F> {
    fn new(condvar: &'c Condvar, guard: G, timer: F) -> Self {
        Notified {
            condvar,
            guard: Some(guard),
            node: Waiter::new(()),
            timer,
        }
    }
}

impl<G, F: Future<Output = ()>> Notified<'_, G, F> {
    /// If `timer` fired: withdraws the node and says whether a notification came just in
    /// time anyway.
    fn timed_out(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Option<bool> {
        // SAFETY: `timer` is structurally pinned (never moved out).
        let timer = unsafe { self.as_mut().map_unchecked_mut(|n| &mut n.timer) };
        if timer.poll(cx).is_pending() {
            return None;
        }
        let condvar = self.condvar;
        let mut waiters = lock(&condvar.waiters);
        // SAFETY: we own the node, which is in this list or in none.
        Some(match unsafe { waiters.remove(&self.node) } {
            Status::Notified => true, // it came just in time: report it
            _ => {
                condvar.waiting.fetch_sub(1, Ordering::SeqCst);
                false
            }
        })
    }
}

impl<G, F: Future<Output = ()>> Future for Notified<'_, G, F> {
    type Output = bool;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        poll_wait(self, cx)
    }
}

// SAFETY: `node` is structurally pinned (never moved out), registered only in
// `condvar.waiters`, and `Drop` withdraws it under that lock.
unsafe impl<G, F: Future<Output = ()>> WaitPoll for Notified<'_, G, F> {
    type Data = ();
    type State = WaiterList<()>;
    type Output = bool;

    /// The wait spends no budget: the relock that follows it does.
    const SPENDS_BUDGET: bool = false;

    fn node(self: Pin<&Self>) -> Pin<&Waiter<()>> {
        // SAFETY: as above.
        unsafe { self.map_unchecked(|n| &n.node) }
    }

    fn lock(&self) -> &StateLock<WaiterList<()>> {
        &self.condvar.waiters
    }

    /// Queues the node and drops the guard, which unlocks the mutex.
    fn first(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        // SAFETY: `guard` is not pinned.
        let Some(guard) = unsafe { self.as_mut().get_unchecked_mut() }.guard.take() else {
            // Polled again after it completed: wait anew, as a queued wait would.
            return self.queued(cx);
        };
        let condvar = self.condvar;
        let mut waiters = lock(&condvar.waiters);
        // SAFETY: the node is pinned, owned by this future, withdrawn in `Drop` under this
        // lock, and registered in no other list.
        unsafe { waiters.register(self.as_ref().node(), cx.waker()) };
        condvar.waiting.fetch_add(1, Ordering::SeqCst);
        drop(waiters);
        // Queued before the unlock: whoever locks next and notifies reaches us.
        drop(guard);
        if self.node.consume_notification() {
            return Poll::Ready(true);
        }
        match self.timed_out(cx) {
            Some(notified) => Poll::Ready(notified),
            None => Poll::Pending,
        }
    }

    fn notified(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<bool> {
        Poll::Ready(true)
    }

    fn queued(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        match self.as_mut().timed_out(cx) {
            Some(notified) => Poll::Ready(notified),
            None => requeue(self, cx),
        }
    }
}

impl<G, F> Drop for Notified<'_, G, F> {
    fn drop(&mut self) {
        if self.node.status() == Status::Idle {
            return;
        }
        let mut waiters = lock(&self.condvar.waiters);
        let mut wakers = WakeList::new();
        // SAFETY: we own the node, which is in this list or in none.
        match unsafe { waiters.remove(&self.node) } {
            // Notified but never told: the notification goes to the next waiter.
            Status::Notified => self.condvar.pass_on(&mut waiters, &mut wakers),
            _ => {
                self.condvar.waiting.fetch_sub(1, Ordering::SeqCst);
            }
        }
        drop(waiters);
        wakers.wake_all();
    }
}

#[cfg(all(test, runtime_loom))]
mod loom_tests {
    use super::*;
    use crate::loom::{thread, Arc};
    use core::task::Waker;

    /// The waiter checks a flag under the lock and waits; the notifier sets it under the lock
    /// and notifies. Unlock and queueing are one step, so the waiter always wakes.
    #[test]
    fn unlock_and_register_are_one_step() {
        ::loom::model(|| {
            let pair = Arc::new((Mutex::new(false), Condvar::new()));
            let notifier = {
                let pair = pair.clone();
                thread::spawn(move || {
                    *block_on_thread(pair.0.lock()) = true;
                    pair.1.notify_one();
                })
            };
            let (flag, cv) = &*pair;
            let mut guard = block_on_thread(flag.lock());
            while !*guard {
                guard = block_on_thread(cv.wait(guard));
            }
            drop(guard);
            notifier.join().unwrap();
        });
    }

    /// A waiter that queues first and is then dropped, racing a notify and a second waiter:
    /// a notification the dropped one received goes on, so the second waiter always wakes.
    #[test]
    fn notify_vs_cancelled_waiter_hands_on() {
        ::loom::model(|| {
            let pair = Arc::new((Mutex::new(false), Condvar::new()));
            let mut cancelled = Box::pin(pair.1.wait(block_on_thread(pair.0.lock())));
            let poll = cancelled
                .as_mut()
                .poll(&mut Context::from_waker(Waker::noop()));
            assert!(poll.is_pending(), "queued first");
            let waiter = {
                let pair = pair.clone();
                thread::spawn(move || {
                    let (flag, cv) = &*pair;
                    let mut guard = block_on_thread(flag.lock());
                    while !*guard {
                        guard = block_on_thread(cv.wait(guard));
                    }
                })
            };
            let notifier = {
                let pair = pair.clone();
                thread::spawn(move || {
                    *block_on_thread(pair.0.lock()) = true;
                    pair.1.notify_one();
                })
            };
            drop(cancelled);
            waiter.join().unwrap();
            notifier.join().unwrap();
        });
    }
}
