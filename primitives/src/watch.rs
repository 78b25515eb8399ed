//! A channel that keeps only the latest value: one [`Sender`] publishes, any number of
//! [`Receiver`]s read the current value and wait until it changes.
//!
//! For configuration, state and shutdown signals: a receiver that wakes up late sees the
//! newest value, never a backlog. [`channel`] returns the pair; receivers are cloned or made
//! with [`Sender::subscribe`].
//!
//! ```
//! use runtime_primitives::watch;
//!
//! let (tx, mut rx) = watch::channel("starting");
//! let watcher = std::thread::spawn(move || {
//!     let mut seen = vec![*rx.borrow_and_update()];
//!     while rx.changed_blocking().is_ok() {
//!         seen.push(*rx.borrow_and_update());
//!     }
//!     seen // the sender is gone: `changed` failed
//! });
//! tx.send_replace("running");
//! tx.send_replace("stopped");
//! drop(tx);
//! let seen = watcher.join().unwrap();
//! // A late watcher may skip states, but sees them in order and always sees the last one.
//! assert!(seen.windows(2).all(|w| w[0] != w[1]));
//! assert_eq!(seen.last(), Some(&"stopped"));
//! ```
//!
//! # How it works
//!
//! The value sits in a read-write lock, so receivers read it in place ([`Ref`]) and a send
//! holds the write lock only while it stores or modifies the value. A version counter decides
//! "changed": every send bumps it (under the write lock, so a version read under the read lock
//! names the value beside it), and each receiver remembers the version it saw last. Bit 0 of
//! the same word says the sender is gone, so one load answers both questions of
//! [`Receiver::changed`].
//!
//! A receiver that has to wait queues a node in the channel's waiter list (the crate's one
//! intrusive, cancel-safe waiter queue, with a lock-free count of who waits). The pair of
//! checks is Dekker's: a send bumps the version with a `SeqCst` read-modify-write and then
//! reads the count; a waiter stores the count, fences, and then reads the version again. One
//! of the two sees the other, so no wake-up is lost, and a send that nobody waits for takes no
//! lock but the value's. The sender's [`closed`](Sender::closed) waits the same way for the
//! receiver count to reach zero.
//!
//! # Cancel safety
//!
//! [`Receiver::changed`] and [`Receiver::wait_for`] are cancel-safe: a receiver marks a
//! version seen only when the future completes with it (or, in `wait_for`, once the predicate
//! rejected its value), so a dropped `changed()` loses no change: the next one sees it.

use core::fmt;
use core::future::Future;
use core::ops::Deref;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::sync::PoisonError;

use crate::channel::chan::Waiters;
use crate::hooks;
use crate::loom::atomic::{AtomicUsize, Ordering};
use crate::loom::{Arc, RwLock, RwLockReadGuard};
use crate::thread_waker::block_on_thread;
use crate::waiter_list::Waiter;

/// Bit 0 of the state word: the sender is gone.
const CLOSED: usize = 1;
/// What a send adds to the state word (the version lives above bit 0).
const STEP: usize = 2;

/// Creates a watch channel holding `init`. The receiver starts having seen `init`.
///
/// ```
/// use runtime_primitives::watch;
///
/// let (tx, rx) = watch::channel(5);
/// assert_eq!(*rx.borrow(), 5);
/// assert!(!rx.has_changed().unwrap());
/// tx.send(6).unwrap();
/// assert!(rx.has_changed().unwrap());
/// ```
pub fn channel<T>(init: T) -> (Sender<T>, Receiver<T>) {
    let sender = Sender::new(init);
    let receiver = sender.subscribe();
    (sender, receiver)
}

/// What the sender and the receivers share.
struct Shared<T> {
    value: RwLock<T>,
    /// The version (bumped by [`STEP`] under the write lock) with [`CLOSED`] in bit 0.
    state: AtomicUsize,
    receivers: AtomicUsize,
    /// Receivers waiting in `changed`.
    changed: Waiters,
    /// Senders waiting in `closed`.
    closed: Waiters,
}

impl<T> Shared<T> {
    fn read(&self) -> RwLockReadGuard<'_, T> {
        // A panic in a `send_modify` closure poisons the lock; the value it left is still the
        // value (documented there).
        self.value.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn state(&self) -> usize {
        self.state.load(Ordering::SeqCst)
    }

    /// Runs `f` on the value under the write lock; if it says it modified the value, bumps
    /// the version and wakes the waiting receivers. A panic in `f` bumps nothing.
    fn modify(&self, f: impl FnOnce(&mut T) -> bool) -> bool {
        let mut value = self.value.write().unwrap_or_else(PoisonError::into_inner);
        if !f(&mut value) {
            return false;
        }
        // The `SeqCst` read-modify-write of the Dekker pair (module docs).
        self.state.fetch_add(STEP, Ordering::SeqCst);
        drop(value);
        self.changed.notify_all_waiting();
        true
    }

    /// A read guard and whether its value is newer than `seen`; moves `seen` up to it when
    /// `update`.
    fn borrow(&self, seen: &mut usize, update: bool) -> Ref<'_, T> {
        let guard = self.read();
        // Under the read lock: no send can bump the version between the two reads.
        let version = self.state() & !CLOSED;
        let has_changed = version != *seen;
        if update {
            *seen = version;
        }
        Ref { guard, has_changed }
    }
}

// ===== impl Sender =====

/// The sending half of a [`watch`](self) channel. Dropping it closes the channel: receivers
/// still read the last value, and [`Receiver::changed`] fails once they have seen it.
///
/// ```
/// use runtime_primitives::watch;
///
/// let (tx, rx) = watch::channel(0);
/// tx.send_modify(|n| *n += 1);
/// assert_eq!(*rx.borrow(), 1);
/// ```
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// A sender holding `init`, with no receiver yet: make them with
    /// [`subscribe`](Sender::subscribe).
    ///
    /// ```
    /// use runtime_primitives::watch;
    ///
    /// let tx = watch::Sender::new("config v1");
    /// assert_eq!(tx.receiver_count(), 0);
    /// let rx = tx.subscribe();
    /// assert_eq!(*rx.borrow(), "config v1");
    /// ```
    pub fn new(init: T) -> Sender<T> {
        Sender {
            shared: Arc::new(Shared {
                value: RwLock::new(init),
                state: AtomicUsize::new(0),
                receivers: AtomicUsize::new(0),
                changed: Waiters::new(),
                closed: Waiters::new(),
            }),
        }
    }

    /// Stores `value` as the new value and notifies every receiver.
    ///
    /// # Errors
    ///
    /// [`SendError`] with `value` if there is no receiver; the stored value is then left as it
    /// was (use [`send_replace`](Sender::send_replace) to store it anyway).
    ///
    /// ```
    /// use runtime_primitives::watch::{self, SendError};
    ///
    /// let (tx, rx) = watch::channel(1);
    /// tx.send(2).unwrap();
    /// drop(rx);
    /// assert_eq!(tx.send(3), Err(SendError(3)));
    /// assert_eq!(*tx.borrow(), 2);
    /// ```
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if self.shared.receivers.load(Ordering::SeqCst) == 0 {
            return Err(SendError(value));
        }
        self.send_replace(value);
        Ok(())
    }

    /// Stores `value` whether or not anyone receives, notifies every receiver, and returns the
    /// value it replaced.
    ///
    /// ```
    /// use runtime_primitives::watch;
    ///
    /// let tx = watch::Sender::new(1);
    /// assert_eq!(tx.send_replace(2), 1);
    /// assert_eq!(*tx.subscribe().borrow(), 2);
    /// ```
    pub fn send_replace(&self, value: T) -> T {
        let mut value = Some(value);
        let mut old = None;
        self.shared.modify(|current| {
            old = value.take().map(|new| core::mem::replace(current, new));
            true
        });
        old.expect("the closure ran")
    }

    /// Modifies the value in place under the write lock and notifies every receiver, whether
    /// or not anyone receives.
    ///
    /// # Panics
    ///
    /// If `modify` panics, the panic goes on to the caller; the value keeps whatever `modify`
    /// did to it, and no receiver is notified.
    ///
    /// ```
    /// use runtime_primitives::watch;
    ///
    /// let (tx, rx) = watch::channel(vec![1]);
    /// tx.send_modify(|v| v.push(2));
    /// assert_eq!(*rx.borrow(), [1, 2]);
    /// ```
    pub fn send_modify(&self, modify: impl FnOnce(&mut T)) {
        self.shared.modify(|value| {
            modify(value);
            true
        });
    }

    /// Modifies the value in place under the write lock; notifies the receivers only if
    /// `modify` returns `true` (it changed something). Returns what `modify` returned.
    ///
    /// # Panics
    ///
    /// As [`send_modify`](Sender::send_modify).
    ///
    /// ```
    /// use runtime_primitives::watch;
    ///
    /// let (tx, rx) = watch::channel(10);
    /// let lowered = tx.send_if_modified(|max| if *max > 20 { *max = 20; true } else { false });
    /// assert!(!lowered);
    /// assert!(!rx.has_changed().unwrap(), "nobody is woken for nothing");
    /// ```
    pub fn send_if_modified(&self, modify: impl FnOnce(&mut T) -> bool) -> bool {
        self.shared.modify(modify)
    }

    /// Reads the current value. The [`Ref`] holds the read lock: sends wait until it is
    /// dropped, so keep it short. Its [`has_changed`](Ref::has_changed) is always `false`.
    ///
    /// ```
    /// use runtime_primitives::watch;
    ///
    /// let (tx, _rx) = watch::channel(String::from("a"));
    /// assert_eq!(tx.borrow().len(), 1);
    /// ```
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref {
            guard: self.shared.read(),
            has_changed: false,
        }
    }

    /// A new receiver, which has seen the current value.
    ///
    /// ```
    /// use runtime_primitives::watch;
    ///
    /// let (tx, _rx) = watch::channel(1);
    /// tx.send(2).unwrap();
    /// let late = tx.subscribe();
    /// assert!(!late.has_changed().unwrap());
    /// assert_eq!(*late.borrow(), 2);
    /// ```
    pub fn subscribe(&self) -> Receiver<T> {
        self.shared.receivers.fetch_add(1, Ordering::SeqCst);
        let version = self.shared.state() & !CLOSED;
        Receiver {
            shared: self.shared.clone(),
            version,
        }
    }

    /// How many receivers are alive (a snapshot).
    ///
    /// ```
    /// use runtime_primitives::watch;
    ///
    /// let (tx, rx) = watch::channel(());
    /// let rx2 = rx.clone();
    /// assert_eq!(tx.receiver_count(), 2);
    /// # drop((rx, rx2));
    /// ```
    pub fn receiver_count(&self) -> usize {
        self.shared.receivers.load(Ordering::SeqCst)
    }

    /// Whether every receiver is gone (a snapshot: [`subscribe`](Sender::subscribe) opens it
    /// again).
    ///
    /// ```
    /// use runtime_primitives::watch;
    ///
    /// let (tx, rx) = watch::channel(());
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.receiver_count() == 0
    }

    /// Waits until every receiver is gone; returns at once if none is alive now.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: it only waits, and dropping it changes nothing.
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use runtime_primitives::watch;
    ///
    /// let (tx, rx) = watch::channel(0);
    /// let reader = std::thread::spawn(move || *rx.borrow());
    /// block_on(tx.closed()); // the reader thread dropped its receiver
    /// assert_eq!(reader.join().unwrap(), 0);
    /// ```
    pub fn closed(&self) -> Closed<'_, T> {
        Closed {
            shared: &self.shared,
            node: Waiter::new(()),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.shared.state.fetch_or(CLOSED, Ordering::SeqCst);
        self.shared.changed.notify_all_waiting();
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Sender")
            .field("version", &(self.shared.state() >> 1))
            .field("receivers", &self.receiver_count())
            .finish()
    }
}

// ===== impl Receiver =====

/// A receiving half of a [`watch`](self) channel: reads the current value and waits until
/// it changes. Cloning it gives a receiver that has seen what this one has seen.
///
/// ```
/// use futures::executor::block_on;
/// use runtime_primitives::watch;
///
/// let (tx, mut rx) = watch::channel(0);
/// tx.send(1).unwrap();
/// tx.send(2).unwrap();
/// block_on(rx.changed()).unwrap(); // one wake-up for both sends
/// assert_eq!(*rx.borrow(), 2);
/// ```
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// The version this receiver saw last.
    version: usize,
}

impl<T> Receiver<T> {
    /// Reads the current value without marking it seen. The [`Ref`] holds the read lock:
    /// sends wait until it is dropped, so keep it short (clone what you need out of it).
    ///
    /// ```
    /// use runtime_primitives::watch;
    ///
    /// let (tx, rx) = watch::channel(1);
    /// tx.send(2).unwrap();
    /// let value = rx.borrow();
    /// assert_eq!(*value, 2);
    /// assert!(value.has_changed());
    /// drop(value);
    /// assert!(rx.has_changed().unwrap(), "borrow does not mark it seen");
    /// ```
    pub fn borrow(&self) -> Ref<'_, T> {
        let mut seen = self.version;
        self.shared.borrow(&mut seen, false)
    }

    /// Reads the current value and marks it seen. [`Ref::has_changed`] says whether it was
    /// new to this receiver.
    ///
    /// ```
    /// use runtime_primitives::watch;
    ///
    /// let (tx, mut rx) = watch::channel(1);
    /// tx.send(2).unwrap();
    /// assert!(rx.borrow_and_update().has_changed());
    /// assert!(!rx.has_changed().unwrap());
    /// assert!(!rx.borrow_and_update().has_changed());
    /// ```
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        self.shared.borrow(&mut self.version, true)
    }

    /// Whether a value this receiver has not seen was sent.
    ///
    /// # Errors
    ///
    /// [`RecvError`] if the sender is gone (even if a value is unseen: read it with
    /// [`borrow`](Receiver::borrow)).
    ///
    /// ```
    /// use runtime_primitives::watch;
    ///
    /// let (tx, rx) = watch::channel(0);
    /// assert_eq!(rx.has_changed(), Ok(false));
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.has_changed(), Ok(true));
    /// drop(tx);
    /// assert!(rx.has_changed().is_err());
    /// ```
    pub fn has_changed(&self) -> Result<bool, RecvError> {
        let state = self.shared.state();
        if state & CLOSED != 0 {
            return Err(RecvError);
        }
        Ok(state & !CLOSED != self.version)
    }

    /// Waits for a value this receiver has not seen, and marks it seen; returns at once if
    /// one was sent already. Several sends while it waits make one change.
    ///
    /// Each wait that completes spends one unit of the task's cooperative budget.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the sender is gone and this receiver has seen the last version.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: the version is marked seen only when the future completes, so after a
    /// dropped `changed()` the next one still sees the change.
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use runtime_primitives::watch;
    ///
    /// let (tx, mut rx) = watch::channel("off");
    /// let sender = std::thread::spawn(move || tx.send("on").unwrap());
    /// block_on(rx.changed()).unwrap();
    /// assert_eq!(*rx.borrow(), "on");
    /// sender.join().unwrap();
    /// assert!(block_on(rx.changed()).is_err(), "the sender is gone");
    /// ```
    pub fn changed(&mut self) -> Changed<'_, T> {
        Changed {
            shared: &self.shared,
            seen: &mut self.version,
            node: Waiter::new(()),
        }
    }

    /// Waits for a change from synchronous code, parking the OS thread: the blocking form of
    /// [`changed`](Receiver::changed).
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the sender is gone and the last version is seen.
    ///
    /// # Panics
    ///
    /// On a runtime worker thread, where parking would stall every task on it: use
    /// [`changed`](Receiver::changed)`.await` there, or call this from `spawn_blocking`.
    ///
    /// ```
    /// use runtime_primitives::watch;
    ///
    /// let (tx, mut rx) = watch::channel(0);
    /// std::thread::spawn(move || tx.send(7).unwrap());
    /// rx.changed_blocking().unwrap();
    /// assert_eq!(*rx.borrow(), 7);
    /// ```
    #[track_caller]
    pub fn changed_blocking(&mut self) -> Result<(), RecvError> {
        hooks::assert_can_block(
            "watch::Receiver::changed_blocking",
            "receiver.changed().await",
        );
        block_on_thread(self.changed())
    }

    /// Marks the current value unseen, so the next [`changed`](Receiver::changed) returns at
    /// once.
    ///
    /// ```
    /// use runtime_primitives::watch;
    ///
    /// let (_tx, mut rx) = watch::channel(0);
    /// rx.mark_changed();
    /// assert_eq!(rx.has_changed(), Ok(true));
    /// ```
    pub fn mark_changed(&mut self) {
        // A version that is not the current one (the counter would have to wrap around to
        // meet it again).
        self.version = (self.shared.state() & !CLOSED).wrapping_sub(STEP);
    }

    /// Marks the current value seen without reading it.
    ///
    /// ```
    /// use runtime_primitives::watch;
    ///
    /// let (tx, mut rx) = watch::channel(0);
    /// tx.send(1).unwrap();
    /// rx.mark_unchanged();
    /// assert_eq!(rx.has_changed(), Ok(false));
    /// ```
    pub fn mark_unchanged(&mut self) {
        self.version = self.shared.state() & !CLOSED;
    }

    /// Waits until the value satisfies `predicate`, checking the current value first, and
    /// returns it (read-locked, as [`borrow`](Receiver::borrow)). Every value it checks is
    /// marked seen.
    ///
    /// # Errors
    ///
    /// [`RecvError`] if the sender is gone and the last value does not satisfy `predicate`.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: dropping it loses nothing but the versions whose values `predicate`
    /// already rejected.
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use runtime_primitives::watch;
    ///
    /// let (tx, mut rx) = watch::channel(0u32);
    /// let counter = std::thread::spawn(move || {
    ///     for i in 1..=10 {
    ///         tx.send(i).unwrap();
    ///     }
    /// });
    /// let big = block_on(rx.wait_for(|n| *n >= 5)).map(|v| *v);
    /// assert!(big.unwrap() >= 5);
    /// counter.join().unwrap();
    /// ```
    pub async fn wait_for(
        &mut self,
        mut predicate: impl FnMut(&T) -> bool,
    ) -> Result<Ref<'_, T>, RecvError> {
        let shared: &Shared<T> = &self.shared;
        let seen = &mut self.version;
        loop {
            let value = shared.borrow(seen, true);
            if predicate(&value) {
                return Ok(value);
            }
            drop(value);
            Changed {
                shared,
                seen: &mut *seen,
                node: Waiter::new(()),
            }
            .await?;
        }
    }

    /// Whether both receivers belong to one channel.
    ///
    /// ```
    /// use runtime_primitives::watch;
    ///
    /// let (_tx, rx) = watch::channel(());
    /// let (_other_tx, other) = watch::channel(());
    /// assert!(rx.same_channel(&rx.clone()));
    /// assert!(!rx.same_channel(&other));
    /// ```
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.shared.receivers.fetch_add(1, Ordering::SeqCst);
        Receiver {
            shared: self.shared.clone(),
            version: self.version,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        // `SeqCst` read-modify-write, then the waiter count: the Dekker pair of `closed`.
        if self.shared.receivers.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.shared.closed.notify_all_waiting();
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Receiver")
            .field("seen_version", &(self.version >> 1))
            .field("has_changed", &self.has_changed())
            .finish()
    }
}

// ===== Ref =====

/// A read-locked view of the value, from [`Receiver::borrow`],
/// [`Receiver::borrow_and_update`], [`Receiver::wait_for`] or [`Sender::borrow`].
///
/// Sends wait while a `Ref` is alive, so drop it soon; it is not `Send`, which keeps it from
/// being held across an `.await` in a spawned task (clone the value out instead).
///
/// ```
/// use runtime_primitives::watch;
///
/// let (tx, mut rx) = watch::channel(String::from("v1"));
/// tx.send("v2".into()).unwrap();
/// let current: String = rx.borrow_and_update().clone();
/// assert_eq!(current, "v2");
/// ```
pub struct Ref<'a, T> {
    guard: RwLockReadGuard<'a, T>,
    has_changed: bool,
}

impl<T> Ref<'_, T> {
    /// Whether this value was new to the receiver that borrowed it (not yet seen when it was
    /// borrowed); always `false` from [`Sender::borrow`].
    ///
    /// ```
    /// use runtime_primitives::watch;
    ///
    /// let (tx, mut rx) = watch::channel(0);
    /// assert!(!rx.borrow().has_changed());
    /// tx.send(1).unwrap();
    /// assert!(rx.borrow_and_update().has_changed());
    /// ```
    pub fn has_changed(&self) -> bool {
        self.has_changed
    }
}

impl<T> Deref for Ref<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T: fmt::Debug> fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

// ===== futures =====

/// One check for [`Changed`]: `None` means "would wait".
fn check_changed<T>(shared: &Shared<T>, seen: &mut usize) -> Option<Result<(), RecvError>> {
    let state = shared.state();
    let version = state & !CLOSED;
    if version != *seen {
        *seen = version;
        return Some(Ok(()));
    }
    (state & CLOSED != 0).then_some(Err(RecvError))
}

/// The future of [`Receiver::changed`]. Cancel-safe.
///
/// ```
/// use futures::executor::block_on;
/// use runtime_primitives::watch;
///
/// let (tx, mut rx) = watch::channel(0);
/// tx.send(1).unwrap();
/// let changed: watch::Changed<'_, i32> = rx.changed();
/// assert_eq!(block_on(changed), Ok(()));
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Changed<'a, T> {
    shared: &'a Shared<T>,
    seen: &'a mut usize,
    node: Waiter<()>,
}

impl<T> Future for Changed<'_, T> {
    type Output = Result<(), RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `node` is structurally pinned (never moved out; `Drop` withdraws it); the
        // other fields are references, which may move freely.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: as above: `node` stays where it is until `Drop`.
        let node = unsafe { Pin::new_unchecked(&this.node) };
        let shared = this.shared;
        let seen = &mut *this.seen;
        shared
            .changed
            .poll_wait(node, cx, || check_changed(shared, seen))
    }
}

impl<T> Drop for Changed<'_, T> {
    fn drop(&mut self) {
        self.shared.changed.cancel(&self.node);
    }
}

impl<T> fmt::Debug for Changed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Changed")
            .field("node", &self.node)
            .finish()
    }
}

/// The future of [`Sender::closed`].
///
/// ```
/// use futures::executor::block_on;
/// use runtime_primitives::watch;
///
/// let (tx, rx) = watch::channel(());
/// drop(rx);
/// let closed: watch::Closed<'_, ()> = tx.closed();
/// block_on(closed);
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Closed<'a, T> {
    shared: &'a Shared<T>,
    node: Waiter<()>,
}

impl<T> Future for Closed<'_, T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let shared = self.shared;
        // SAFETY: `node` is structurally pinned (never moved out; `Drop` withdraws it).
        let node = unsafe { self.into_ref().map_unchecked(|this| &this.node) };
        shared.closed.poll_wait(node, cx, || {
            (shared.receivers.load(Ordering::SeqCst) == 0).then_some(())
        })
    }
}

impl<T> Drop for Closed<'_, T> {
    fn drop(&mut self) {
        self.shared.closed.cancel(&self.node);
    }
}

impl<T> fmt::Debug for Closed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Closed")
            .field("node", &self.node)
            .finish()
    }
}

// ===== errors =====

/// The error of [`Sender::send`]: no receiver is alive, and here is the value.
///
/// ```
/// use runtime_primitives::watch;
///
/// let (tx, rx) = watch::channel(0);
/// drop(rx);
/// let err = tx.send(5).unwrap_err();
/// assert_eq!(err.0, 5);
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SendError<T>(pub T);

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sending on a watch channel with no receiver")
    }
}

impl<T> std::error::Error for SendError<T> {}

/// The error of [`Receiver::changed`], [`Receiver::has_changed`] and
/// [`Receiver::wait_for`]: the sender is gone.
///
/// ```
/// use futures::executor::block_on;
/// use runtime_primitives::watch::{self, RecvError};
///
/// let (tx, mut rx) = watch::channel(0);
/// drop(tx);
/// assert_eq!(block_on(rx.changed()), Err(RecvError));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvError;

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the watch channel's sender is gone")
    }
}

impl std::error::Error for RecvError {}

// Compile-time checks of the auto traits users rely on.
#[allow(dead_code)]
fn _assert_auto_traits() {
    fn send_sync<T: core::marker::Send + Sync>() {}
    send_sync::<Sender<String>>();
    send_sync::<Receiver<String>>();
    send_sync::<Changed<'static, String>>();
    send_sync::<Closed<'static, String>>();
}

#[cfg(all(test, not(runtime_loom)))]
mod tests;

#[cfg(all(test, runtime_loom))]
mod loom_tests;
