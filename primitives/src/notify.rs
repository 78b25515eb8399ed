//! A wake-up signal with at most one stored permit: tokio's `Notify`, for tasks and threads.
//!
//! # Mechanism
//!
//! One atomic word and the shared waiter list (`waiter_list.rs`). The word is
//! `generation << 2 | S`, where `S` is one of:
//!
//! - `EMPTY`: nobody waits and no permit is stored;
//! - `WAITING`: the list is not empty. Set and cleared only under the list's lock, so under
//!   the lock "the list is not empty" and "`S` is `WAITING`" always agree;
//! - `NOTIFIED`: one permit is stored (the list is then empty).
//!
//! `generation` counts the calls to [`Notify::notify_waiters`]. A [`Notified`] reads it when
//! it is made; if it has moved by the time the future first looks (or registers, under the
//! lock), a `notify_waiters` happened in between and the future completes. That is how a
//! `Notified` made but not yet polled counts as registered.
//!
//! Why this shape: with nobody waiting, `notify_one`, `notify_waiters` and taking a stored
//! permit are each one compare-exchange on the word and never take the lock; the lock (and
//! the intrusive list, which costs no allocation per wait) is only for waiters. Moves between
//! `EMPTY` and `NOTIFIED` and generation bumps happen without the lock while `S` is not
//! `WAITING`; everything that touches the list, or the word while it says `WAITING`, holds
//! the lock and uses compare-exchange, so a lock-free notify can never slip between a
//! waiter's last check and its registration.
//!
//! Each waiter's node records which notification reached it. A `notify_one` (or
//! `notify_last`) that reached a waiter which is then dropped before it reported the wake is
//! passed on under the same lock, to the next waiter or back into the permit: nothing is
//! lost. A `notify_waiters` wake is not passed on (it was meant for everyone registered, and
//! everyone got it).

use core::fmt;
use core::future::Future;
use core::mem::MaybeUninit;
use core::pin::Pin;
use core::task::{ready, Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::hooks;
use crate::loom::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::Mutex;
use crate::thread_waker::{block_on_thread, block_on_thread_until};
use crate::waiter_list::{lock, poll_wait, Status, WaitPoll, Waiter, WaiterList, WakeList};

const EMPTY: usize = 0;
const WAITING: usize = 1;
const NOTIFIED: usize = 2;
const STATE: usize = 0b11;
/// One `notify_waiters` call in the generation part of the word.
const GENERATION: usize = 1 << 2;

fn state(word: usize) -> usize {
    word & STATE
}

fn with_state(word: usize, s: usize) -> usize {
    (word & !STATE) | s
}

/// Which notification reached a waiter's node (its data in the list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Notification {
    /// None yet.
    Unset,
    /// `notify_one`: passed on to the front waiter if dropped unreported.
    One,
    /// `notify_last`: passed on to the back waiter if dropped unreported.
    Last,
    /// `notify_waiters`: not passed on.
    All,
}

/// Wakes one waiting task or thread, or stores a single permit for the next one; or wakes
/// every current waiter at once. tokio's `Notify`, usable from tasks on any executor and
/// from plain OS threads.
///
/// [`notify_one`](Notify::notify_one) wakes the longest-waiting [`notified`](Notify::notified)
/// future; if none waits, it stores **one** permit, so the next `notified()` completes at
/// once (several `notify_one` calls with nobody waiting still store just one).
/// [`notify_waiters`](Notify::notify_waiters) wakes every waiter registered at the time of
/// the call and stores nothing.
///
/// A `Notify` carries no data: it tells a waiter to go and look. The usual pattern pairs it
/// with state the waiter checks, and registers the waiter *before* the check with
/// [`Notified::enable`], so a notification sent between the check and the wait is not missed:
///
/// ```
/// use futures::executor::block_on;
/// use runtime_primitives::Notify;
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
///
/// let shared = Arc::new((AtomicBool::new(false), Notify::new()));
/// let producer = {
///     let shared = shared.clone();
///     std::thread::spawn(move || {
///         shared.0.store(true, Ordering::SeqCst);
///         shared.1.notify_waiters();
///     })
/// };
/// block_on(async {
///     let (ready, notify) = &*shared;
///     loop {
///         let mut notified = std::pin::pin!(notify.notified());
///         notified.as_mut().enable(); // registered from here on
///         if ready.load(Ordering::SeqCst) {
///             break;
///         }
///         notified.await;
///     }
/// });
/// producer.join().unwrap();
/// ```
///
/// A timeout is `runtime::time::timeout(d, notify.notified())` in async code, and
/// [`notified_timeout_blocking`](Notify::notified_timeout_blocking) on threads.
pub struct Notify {
    /// `generation << 2 | S`: see the module doc.
    word: AtomicUsize,
    waiters: Mutex<WaiterList<Notification>>,
}

// A `Notify` is shared between tasks and threads, and its future is held across `.await`s.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Notify>();
    send_sync::<Notified<'static>>();
};

impl Notify {
    /// A new `Notify` with no permit stored. `const`, so it can live in a `static`.
    ///
    /// ```
    /// use runtime_primitives::Notify;
    ///
    /// static SHUTDOWN: Notify = Notify::new();
    /// SHUTDOWN.notify_one();
    /// assert!(SHUTDOWN.try_notified());
    /// ```
    #[cfg(not(runtime_loom))]
    pub const fn new() -> Notify {
        Notify {
            word: AtomicUsize::new(EMPTY),
            waiters: Mutex::new(WaiterList::new()),
        }
    }

    /// A new `Notify` with no permit stored (not `const` under loom, whose types aren't).
    #[cfg(runtime_loom)]
    pub fn new() -> Notify {
        Notify {
            word: AtomicUsize::new(EMPTY),
            waiters: Mutex::new(WaiterList::new()),
        }
    }

    /// A future that completes when this `Notify` is notified, or at once if a permit is
    /// stored (taking it).
    ///
    /// The future counts as registered for [`notify_waiters`](Notify::notify_waiters) from
    /// the moment it is made, polled or not; for [`notify_one`](Notify::notify_one) it
    /// queues (first in, first out) on its first poll or [`Notified::enable`].
    ///
    /// Each poll spends one unit of the task's cooperative budget (on this crate's runtime).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: dropping the future withdraws it, and a `notify_one` or `notify_last`
    /// that had chosen it but that it had not yet reported (through `poll` returning `Ready`
    /// or `enable` returning `true`) goes on to the next waiter, or back into the permit.
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use runtime_primitives::Notify;
    /// use std::sync::Arc;
    ///
    /// let notify = Arc::new(Notify::new());
    /// let waiter = {
    ///     let notify = notify.clone();
    ///     std::thread::spawn(move || block_on(notify.notified()))
    /// };
    /// notify.notify_one(); // wakes the waiter, or leaves it a permit
    /// waiter.join().unwrap();
    /// ```
    #[inline]
    pub fn notified(&self) -> Notified<'_> {
        Notified {
            notify: self,
            generation: self.word.load(SeqCst) & !STATE,
            node: MaybeUninit::uninit(),
            has_node: false,
            done: false,
        }
    }

    /// Takes the stored permit if there is one, without waiting: the never-waiting form of
    /// [`notified`](Notify::notified). A [`notify_waiters`](Notify::notify_waiters) stores
    /// nothing, so only a `notify_one` (or `notify_last`) that found nobody waiting makes
    /// this `true`.
    ///
    /// ```
    /// use runtime_primitives::Notify;
    ///
    /// let notify = Notify::new();
    /// assert!(!notify.try_notified());
    /// notify.notify_one();
    /// notify.notify_one(); // still one permit
    /// assert!(notify.try_notified());
    /// assert!(!notify.try_notified());
    /// ```
    pub fn try_notified(&self) -> bool {
        let mut word = self.word.load(SeqCst);
        while state(word) == NOTIFIED {
            match self
                .word
                .compare_exchange(word, with_state(word, EMPTY), SeqCst, SeqCst)
            {
                Ok(_) => return true,
                Err(actual) => word = actual,
            }
        }
        false
    }

    /// Wakes the longest-waiting waiter; if nobody waits, stores one permit for the next
    /// [`notified`](Notify::notified) (a permit already stored stays the only one).
    ///
    /// With nobody waiting this is one compare-exchange and takes no lock.
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use runtime_primitives::Notify;
    ///
    /// let notify = Notify::new();
    /// notify.notify_one();
    /// block_on(notify.notified()); // the stored permit: completes at once
    /// ```
    #[inline]
    pub fn notify_one(&self) {
        self.notify(Notification::One);
    }

    /// Wakes the most recently registered waiter (last in, first out); if nobody waits,
    /// stores one permit, as [`notify_one`](Notify::notify_one) does.
    ///
    /// ```
    /// use runtime_primitives::Notify;
    /// use std::pin::pin;
    ///
    /// let notify = Notify::new();
    /// let mut first = pin!(notify.notified());
    /// let mut second = pin!(notify.notified());
    /// assert!(!first.as_mut().enable());
    /// assert!(!second.as_mut().enable());
    /// notify.notify_last();
    /// assert!(second.as_mut().enable(), "the last one registered is woken");
    /// assert!(!first.as_mut().enable());
    /// ```
    #[inline]
    pub fn notify_last(&self) {
        self.notify(Notification::Last);
    }

    /// Wakes every waiter registered now: every [`Notified`] that was made before this call
    /// and has not completed, polled or not. Stores no permit, so a `notified()` made after
    /// the call waits for the next notification.
    ///
    /// With nobody queued this is one compare-exchange and takes no lock. Waiters are woken
    /// in batches with the lock released; waiters that register meanwhile are not woken.
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use runtime_primitives::Notify;
    ///
    /// let notify = Notify::new();
    /// let before = notify.notified(); // made before the call: it counts
    /// notify.notify_waiters();
    /// block_on(before);
    /// assert!(!notify.try_notified(), "no permit was stored");
    /// ```
    pub fn notify_waiters(&self) {
        let mut word = self.word.load(SeqCst);
        while state(word) != WAITING {
            match self
                .word
                .compare_exchange(word, word.wrapping_add(GENERATION), SeqCst, SeqCst)
            {
                Ok(_) => return,
                Err(actual) => word = actual,
            }
        }
        let mut waiters = lock(&self.waiters);
        // Under the lock: registrations see either the old generation (and are queued before
        // the epoch below) or the new one (and complete without queueing).
        self.word.fetch_add(GENERATION, SeqCst);
        let epoch = waiters.epoch();
        let mut wakers = WakeList::new();
        loop {
            while !wakers.is_full() && waiters.front_is_before(epoch) {
                waiters.notify_front(&mut wakers, |n| *n = Notification::All);
            }
            let more = waiters.front_is_before(epoch);
            if !more {
                self.unqueue_if_empty(&waiters);
            }
            drop(waiters);
            wakers.wake_all();
            if !more {
                return;
            }
            waiters = lock(&self.waiters);
        }
    }

    /// Blocks the current OS thread until this `Notify` is notified (or takes the stored
    /// permit at once).
    ///
    /// # Panics
    ///
    /// On a runtime worker thread, where parking would stall every task on it: use
    /// [`notified`](Notify::notified)`.await` there, or call this from `spawn_blocking`.
    ///
    /// ```
    /// use runtime_primitives::Notify;
    /// use std::sync::Arc;
    ///
    /// let notify = Arc::new(Notify::new());
    /// let worker = {
    ///     let notify = notify.clone();
    ///     std::thread::spawn(move || {
    ///         notify.notified_blocking();
    ///         "woken"
    ///     })
    /// };
    /// notify.notify_one();
    /// assert_eq!(worker.join().unwrap(), "woken");
    /// ```
    #[track_caller]
    pub fn notified_blocking(&self) {
        hooks::assert_can_block("Notify::notified_blocking", "notify.notified().await");
        if !self.try_notified() {
            block_on_thread(self.notified());
        }
    }

    /// Blocks the current OS thread until this `Notify` is notified or `timeout` passes;
    /// returns `true` if it was notified (or took the stored permit), `false` on timeout.
    /// A notification that arrives as the wait gives up is passed on, not lost.
    ///
    /// # Panics
    ///
    /// On a runtime worker thread: use `runtime::time::timeout(d, notify.notified())` there.
    ///
    /// ```
    /// use runtime_primitives::Notify;
    /// use std::time::Duration;
    ///
    /// let notify = Notify::new();
    /// assert!(!notify.notified_timeout_blocking(Duration::from_millis(1)));
    /// notify.notify_one();
    /// assert!(notify.notified_timeout_blocking(Duration::from_secs(1)));
    /// ```
    #[track_caller]
    pub fn notified_timeout_blocking(&self, timeout: Duration) -> bool {
        hooks::assert_can_block(
            "Notify::notified_timeout_blocking",
            "runtime::time::timeout(d, notify.notified()).await",
        );
        if self.try_notified() {
            return true;
        }
        match Instant::now().checked_add(timeout) {
            Some(deadline) => block_on_thread_until(self.notified(), deadline).is_some(),
            None => {
                // A timeout too far to represent: no timeout.
                block_on_thread(self.notified());
                true
            }
        }
    }

    /// `notify_one` / `notify_last`: lock-free while nobody waits (inlined), under the lock
    /// otherwise.
    #[inline]
    fn notify(&self, how: Notification) {
        let mut word = self.word.load(SeqCst);
        while state(word) != WAITING {
            // A compare-exchange even when a permit is already stored, so this call is
            // ordered after whatever took the last one.
            match self
                .word
                .compare_exchange(word, with_state(word, NOTIFIED), SeqCst, SeqCst)
            {
                Ok(_) => return,
                Err(actual) => word = actual,
            }
        }
        self.notify_waiting(how);
    }

    /// [`notify`](Notify::notify) with somebody waiting.
    #[inline(never)]
    fn notify_waiting(&self, how: Notification) {
        let mut waiters = lock(&self.waiters);
        let mut wakers = WakeList::new();
        self.notify_locked(&mut waiters, &mut wakers, how);
        drop(waiters);
        wakers.wake_all();
    }

    /// Under the lock: hands a `notify_one` / `notify_last` to a waiter, or stores the
    /// permit if none waits; keeps `S` in step with the list.
    fn notify_locked(
        &self,
        waiters: &mut WaiterList<Notification>,
        wakers: &mut WakeList,
        how: Notification,
    ) {
        let reached = match how {
            Notification::Last => waiters.notify_back(wakers, |n| *n = how),
            _ => waiters.notify_front(wakers, |n| *n = how),
        };
        if reached {
            self.unqueue_if_empty(waiters);
            return;
        }
        // Nobody waits, so `S` is `EMPTY` or `NOTIFIED`, and lock-free callers may be moving
        // it between the two (or bumping the generation) right now.
        let mut word = self.word.load(SeqCst);
        loop {
            match self
                .word
                .compare_exchange(word, with_state(word, NOTIFIED), SeqCst, SeqCst)
            {
                Ok(_) => return,
                Err(actual) => word = actual,
            }
        }
    }

    /// Under the lock: `WAITING` becomes `EMPTY` once the list is empty.
    fn unqueue_if_empty(&self, waiters: &WaiterList<Notification>) {
        if !waiters.is_empty() {
            return;
        }
        let mut word = self.word.load(SeqCst);
        // While `S` is `WAITING` only lock holders change the word; a loop all the same, as
        // every other change to it.
        while state(word) == WAITING {
            match self
                .word
                .compare_exchange(word, with_state(word, EMPTY), SeqCst, SeqCst)
            {
                Ok(_) => return,
                Err(actual) => word = actual,
            }
        }
    }
}

impl Default for Notify {
    fn default() -> Self {
        Notify::new()
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = self.word.load(SeqCst);
        f.debug_struct("Notify")
            .field("permit", &(state(word) == NOTIFIED))
            .field("waiting", &(state(word) == WAITING))
            .finish()
    }
}

// ===== impl Notified =====

/// The future of [`Notify::notified`]. Cancel-safe.
///
/// ```
/// use futures::executor::block_on;
/// use runtime_primitives::{Notified, Notify};
///
/// let notify = Notify::new();
/// notify.notify_one();
/// let notified: Notified<'_> = notify.notified();
/// block_on(notified);
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Notified<'a> {
    notify: &'a Notify,
    /// The generation part of the word when the future was made.
    generation: usize,
    /// The waiter node, built in place by the first look that finds nothing to take
    /// (`has_node`). Until then it is left uninitialised: making the future and moving it
    /// into the awaiting state machine then writes three words instead of the whole node,
    /// whose copy stalled on the stores that had just built it.
    node: MaybeUninit<Waiter<Notification>>,
    has_node: bool,
    /// Completed (reported by `poll` or `enable`): stays complete.
    done: bool,
}

impl Notified<'_> {
    /// Registers this future as a waiter now, without polling it, so a
    /// [`notify_one`](Notify::notify_one) sent from here on reaches it (or is kept for it).
    /// Returns `true` if it is already notified: a later `.await` completes at once.
    ///
    /// Call it before checking the condition the notification is about: a notification sent
    /// after the check is then never missed.
    ///
    /// ```
    /// use runtime_primitives::Notify;
    /// use std::pin::pin;
    ///
    /// let notify = Notify::new();
    /// let mut notified = pin!(notify.notified());
    /// assert!(!notified.as_mut().enable(), "nothing sent yet");
    /// notify.notify_one(); // reaches the registered future, stores no permit
    /// assert!(!notify.try_notified());
    /// assert!(notified.as_mut().enable());
    /// futures::executor::block_on(notified); // completes at once
    /// ```
    pub fn enable(mut self: Pin<&mut Self>) -> bool {
        if self.done {
            return true;
        }
        let notified = if !self.has_node {
            self.as_mut().look_or_queue(Waker::noop())
        } else {
            let node = self.as_ref().node();
            match node.status() {
                Status::Notified => node.consume_notification(),
                Status::Waiting => false,
                Status::Idle => self.as_ref().register_locked(Waker::noop()),
            }
        };
        if notified {
            self.as_mut().finish();
        }
        notified
    }

    /// Marks the future complete.
    fn finish(self: Pin<&mut Self>) {
        // SAFETY: `done` is not structurally pinned; the node is not moved.
        unsafe { self.get_unchecked_mut() }.done = true;
    }

    /// The waiter node, if it was built.
    fn built_node(&self) -> Option<&Waiter<Notification>> {
        if !self.has_node {
            return None;
        }
        // SAFETY: built (`has_node` is set only after the write).
        Some(unsafe { self.node.assume_init_ref() })
    }

    /// The first look of a future without a node (its first poll or `enable`): `true` if
    /// already notified; otherwise builds the node in place, before anything can point at
    /// it, and queues it with `waker` (straight under the lock: the look just failed).
    #[inline]
    fn look_or_queue(self: Pin<&mut Self>, waker: &Waker) -> bool {
        debug_assert!(!self.has_node, "the node is built once");
        if self.first_look() {
            return true;
        }
        // SAFETY: nothing is moved out; the node is written where it will stay (the future
        // is pinned) and nothing points at it yet.
        let this = unsafe { self.get_unchecked_mut() };
        this.node.write(Waiter::new(Notification::Unset));
        this.has_node = true;
        // SAFETY: `this` is the pinned future we were given; re-pinning it moves nothing.
        unsafe { Pin::new_unchecked(&*this) }.register_locked(waker)
    }

    /// The lock-free look: `true` if already notified (a permit, taken now, or a
    /// `notify_waiters` since the future was made).
    #[inline]
    fn first_look(&self) -> bool {
        let mut word = self.notify.word.load(SeqCst);
        loop {
            if word & !STATE != self.generation {
                return true;
            }
            if state(word) != NOTIFIED {
                return false;
            }
            match self
                .notify
                .word
                .compare_exchange(word, with_state(word, EMPTY), SeqCst, SeqCst)
            {
                Ok(_) => return true,
                Err(actual) => word = actual,
            }
        }
    }

    /// Under the lock: `true` if already notified (as in
    /// [`first_look`](Notified::first_look)); otherwise queues the built, idle node with
    /// `waker` and returns `false`.
    #[inline(never)]
    fn register_locked(self: Pin<&Self>, waker: &Waker) -> bool {
        let notify = self.notify;
        let mut waiters = lock(&notify.waiters);
        let mut word = notify.word.load(SeqCst);
        loop {
            if word & !STATE != self.generation {
                return true;
            }
            let took_permit = state(word) == NOTIFIED;
            let new = with_state(word, if took_permit { EMPTY } else { WAITING });
            match notify.word.compare_exchange(word, new, SeqCst, SeqCst) {
                Ok(_) if took_permit => return true,
                Ok(_) => break,
                Err(actual) => word = actual,
            }
        }
        // SAFETY: the node is pinned (we never move out of `self`), idle, registered only in
        // this list, and `Drop` withdraws it under this lock.
        unsafe { waiters.register(self.node(), waker) };
        false
    }
}

impl Future for Notified<'_> {
    type Output = ();

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.done {
            return Poll::Ready(());
        }
        if self.has_node {
            return poll_wait(self, cx);
        }
        // The first poll looks without a node: most find the permit.
        let mut coop = ready!(hooks::poll_proceed(cx));
        if !self.as_mut().look_or_queue(cx.waker()) {
            return Poll::Pending; // `coop` gives the budget unit back
        }
        coop.made_progress();
        self.finish();
        Poll::Ready(())
    }
}

// SAFETY: `node` is structurally pinned (never moved out), built before `poll_wait` (the
// only caller of these) runs, registered only in `notify.waiters`, and `Drop` withdraws it
// under that lock.
unsafe impl WaitPoll for Notified<'_> {
    type Data = Notification;
    type State = WaiterList<Notification>;
    type Output = ();

    #[inline]
    fn node(self: Pin<&Self>) -> Pin<&Waiter<Notification>> {
        debug_assert!(self.has_node, "the node is used before it is built");
        // SAFETY: as above; built (`has_node`, set by `look_or_queue` before any use).
        unsafe { self.map_unchecked(|n| n.node.assume_init_ref()) }
    }

    fn lock(&self) -> &Mutex<WaiterList<Notification>> {
        &self.notify.waiters
    }

    #[inline]
    fn first(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // Unreached in practice: a built node has been queued (or the future is done).
        if self.as_ref().register_locked(cx.waker()) {
            self.finish();
            return Poll::Ready(());
        }
        Poll::Pending
    }

    #[inline]
    fn notified(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        self.finish();
        Poll::Ready(())
    }
}

impl Drop for Notified<'_> {
    #[inline]
    fn drop(&mut self) {
        let Some(node) = self.built_node() else {
            return;
        };
        if node.status() != Status::Idle {
            self.withdraw();
        }
        // SAFETY: built, and in no list (idle, or withdrawn just above); dropped once.
        unsafe { self.node.assume_init_drop() };
    }
}

impl Notified<'_> {
    /// `Drop` for a node that was queued: takes it out of the list, passing on a
    /// notification it was chosen for and never reported.
    #[inline(never)]
    fn withdraw(&mut self) {
        let notify = self.notify;
        let node = self.built_node().expect("only a built node is withdrawn");
        let mut waiters = lock(&notify.waiters);
        // SAFETY: we own the node, which is in this list or in none.
        let status = unsafe { waiters.remove(node) };
        // SAFETY: removed: the node is idle and its data ours.
        let how = unsafe { node.with_data(|n| *n) };
        let mut wakers = WakeList::new();
        match (status, how) {
            // Chosen by a `notify_one` / `notify_last` but never told: pass it on.
            (Status::Notified, Notification::One | Notification::Last) => {
                notify.notify_locked(&mut waiters, &mut wakers, how);
            }
            _ => notify.unqueue_if_empty(&waiters),
        }
        drop(waiters);
        wakers.wake_all();
    }
}

impl fmt::Debug for Notified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notified")
            .field("notify", self.notify)
            .field("node", &self.built_node())
            .field("done", &self.done)
            .finish()
    }
}

#[cfg(all(test, not(runtime_loom)))]
mod tests {
    use super::*;
    use core::pin::pin;

    fn poll_once<F: Future>(fut: Pin<&mut F>) -> Poll<F::Output> {
        fut.poll(&mut Context::from_waker(Waker::noop()))
    }

    fn queued(notify: &Notify) -> usize {
        lock(&notify.waiters).len()
    }

    #[test]
    fn many_notify_one_store_one_permit() {
        let notify = Notify::new();
        for _ in 0..5 {
            notify.notify_one();
        }
        assert!(poll_once(pin!(notify.notified())).is_ready());
        assert!(
            poll_once(pin!(notify.notified())).is_pending(),
            "a second permit was stored"
        );
    }

    #[test]
    fn notify_one_is_fifo_and_notify_last_is_lifo() {
        let notify = Notify::new();
        let mut a = pin!(notify.notified());
        let mut b = pin!(notify.notified());
        let mut c = pin!(notify.notified());
        for w in [a.as_mut(), b.as_mut(), c.as_mut()] {
            assert!(poll_once(w).is_pending());
        }
        notify.notify_one();
        assert!(poll_once(b.as_mut()).is_pending());
        assert!(poll_once(c.as_mut()).is_pending());
        assert!(poll_once(a.as_mut()).is_ready());
        notify.notify_last();
        assert!(poll_once(b.as_mut()).is_pending());
        assert!(poll_once(c.as_mut()).is_ready());
        assert!(poll_once(c.as_mut()).is_ready(), "complete stays complete");
        notify.notify_one();
        assert!(poll_once(b.as_mut()).is_ready());
        assert_eq!(queued(&notify), 0);
        assert!(!notify.try_notified());
    }

    #[test]
    fn dropped_chosen_waiter_passes_on_to_next_or_to_the_permit() {
        let notify = Notify::new();
        let mut a = Box::pin(notify.notified());
        let mut b = pin!(notify.notified());
        assert!(poll_once(a.as_mut()).is_pending());
        assert!(poll_once(b.as_mut()).is_pending());
        notify.notify_one(); // chooses a
        drop(a);
        assert!(poll_once(b.as_mut()).is_ready(), "a passed it on to b");

        let mut c = Box::pin(notify.notified());
        assert!(!c.as_mut().enable());
        notify.notify_one(); // chooses c
        drop(c);
        assert!(
            notify.try_notified(),
            "nobody else waits: it became the permit"
        );
    }

    #[test]
    fn dropped_waiter_woken_by_notify_waiters_passes_nothing_on() {
        let notify = Notify::new();
        let mut a = Box::pin(notify.notified());
        let mut b = pin!(notify.notified());
        assert!(poll_once(a.as_mut()).is_pending());
        notify.notify_waiters();
        drop(a);
        assert!(
            poll_once(b.as_mut()).is_ready(),
            "b was made before the call"
        );
        assert!(!notify.try_notified());
        assert!(poll_once(pin!(notify.notified())).is_pending());
    }

    #[test]
    fn notify_waiters_spans_batches_and_leaves_later_waiters_queued() {
        let notify = Notify::new();
        let mut waits: Vec<_> = (0..100).map(|_| Box::pin(notify.notified())).collect();
        for w in &mut waits {
            assert!(poll_once(w.as_mut()).is_pending());
        }
        let mut late = Box::pin(notify.notified());
        notify.notify_waiters();
        // `late` was made before the call too, though never polled: it counts.
        assert!(poll_once(late.as_mut()).is_ready());
        for w in &mut waits {
            assert!(poll_once(w.as_mut()).is_ready());
        }
        let mut after = pin!(notify.notified());
        assert!(poll_once(after.as_mut()).is_pending());
        assert_eq!(queued(&notify), 1);
        assert_eq!(state(notify.word.load(SeqCst)), WAITING);
        notify.notify_one();
        assert!(poll_once(after.as_mut()).is_ready());
        assert_eq!(state(notify.word.load(SeqCst)), EMPTY);
    }

    #[test]
    fn the_word_follows_the_list() {
        let notify = Notify::new();
        let mut a = Box::pin(notify.notified());
        assert!(poll_once(a.as_mut()).is_pending());
        assert_eq!(state(notify.word.load(SeqCst)), WAITING);
        drop(a);
        assert_eq!(state(notify.word.load(SeqCst)), EMPTY);
        notify.notify_one();
        assert_eq!(state(notify.word.load(SeqCst)), NOTIFIED);
    }

    #[test]
    fn timeout_blocking_hands_on_a_late_notification() {
        let notify = Notify::new();
        assert!(!notify.notified_timeout_blocking(Duration::from_millis(1)));
        assert_eq!(queued(&notify), 0, "the timed-out wait withdrew");
        notify.notify_one();
        notify.notified_blocking();
        assert!(!notify.try_notified());
    }
}

#[cfg(all(test, runtime_loom))]
mod loom_tests {
    use super::*;
    use crate::loom::atomic::AtomicBool;
    use crate::loom::{thread, Arc};

    fn poll_once<F: Future>(fut: Pin<&mut F>) -> Poll<F::Output> {
        fut.poll(&mut Context::from_waker(Waker::noop()))
    }

    /// `notify_one` racing the drop of the front waiter it may choose: either the drop
    /// withdrew it first (the notification reaches the other waiter) or it was chosen and
    /// passes the notification on. The other waiter always finishes; a lost notification
    /// leaves it parked, which loom reports as a deadlock.
    #[test]
    fn notify_one_vs_drop_of_chosen_waiter() {
        ::loom::model(|| {
            let notify = Arc::new(Notify::new());
            let mut first = Box::pin(notify.notified());
            let mut second = Box::pin(notify.notified());
            assert!(poll_once(first.as_mut()).is_pending());
            assert!(poll_once(second.as_mut()).is_pending());
            let notifier = {
                let notify = notify.clone();
                thread::spawn(move || notify.notify_one())
            };
            drop(first);
            block_on_thread(second);
            notifier.join().unwrap();
            assert!(!notify.try_notified(), "one notification, used once");
            assert_eq!(lock(&notify.waiters).len(), 0);
        });
    }

    /// A future's first poll, which looks for the permit before it has a node, racing
    /// `notify_one`: the permit may land before the look, between the look and the locked
    /// registration, or after the node queued. The waiter finishes in each case, and the
    /// one notification is used, not kept as well.
    #[test]
    fn first_poll_without_node_vs_notify_one() {
        ::loom::model(|| {
            let notify = Arc::new(Notify::new());
            let notifier = {
                let notify = notify.clone();
                thread::spawn(move || notify.notify_one())
            };
            block_on_thread(notify.notified());
            notifier.join().unwrap();
            assert!(!notify.try_notified(), "one notification, used once");
            assert_eq!(lock(&notify.waiters).len(), 0);
        });
    }

    /// `notify_waiters` racing a waiter that makes its future, checks a flag and waits: the
    /// waiter either sees the flag or is woken (it counts from the moment it was made).
    #[test]
    fn notify_waiters_vs_registering_waiter() {
        ::loom::model(|| {
            let shared = Arc::new((AtomicBool::new(false), Notify::new()));
            let waiter = {
                let shared = shared.clone();
                thread::spawn(move || {
                    let (flag, notify) = &*shared;
                    let notified = notify.notified();
                    if !flag.load(SeqCst) {
                        block_on_thread(notified);
                    }
                })
            };
            shared.0.store(true, SeqCst);
            shared.1.notify_waiters();
            waiter.join().unwrap();
            assert!(!shared.1.try_notified(), "notify_waiters stores no permit");
        });
    }

    /// `enable`, then the condition check, racing `notify_one`: no lost wake-up, and the
    /// notification is used by the waiter or, if the waiter saw the flag and left, kept as
    /// the permit (passed on by the dropped future if it had already been chosen).
    #[test]
    fn enable_then_check_vs_notify_one() {
        ::loom::model(|| {
            let shared = Arc::new((AtomicBool::new(false), Notify::new()));
            let notifier = {
                let shared = shared.clone();
                thread::spawn(move || {
                    shared.0.store(true, SeqCst);
                    shared.1.notify_one();
                })
            };
            let (flag, notify) = &*shared;
            let mut notified = Box::pin(notify.notified());
            let mut used = notified.as_mut().enable();
            if !used && !flag.load(SeqCst) {
                block_on_thread(notified.as_mut());
                used = true;
            }
            drop(notified);
            notifier.join().unwrap();
            assert_eq!(
                notify.try_notified(),
                !used,
                "the notification was lost or doubled"
            );
            assert_eq!(lock(&notify.waiters).len(), 0);
        });
    }
}
