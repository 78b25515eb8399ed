//! The one waiter queue under every primitive: an intrusive FIFO of [`Waiter`] nodes that
//! live inside the pending futures themselves (no allocation per wait), guarded by the owning
//! primitive's lock.
//!
//! # Contract
//!
//! A primitive keeps a [`WaiterList<T>`] inside its own `crate::loom::Mutex` (alone or next to
//! other state); holding `&mut WaiterList` is the proof that the lock is held. Each waiting
//! future owns one pinned [`Waiter<T>`] (its *owner*); `T` is the primitive's per-waiter data:
//! permits still needed, a notification value, a flag.
//!
//! A node is always in one of three states, kept in an atomic that the owner may read without
//! the lock ([`Waiter::status`]):
//!
//! | state | who moves it there | who may touch `data` | the waker |
//! |---|---|---|---|
//! | [`Status::Idle`] (never queued, or withdrawn) | the owner ([`WaiterList::remove`], [`Waiter::consume_notification`]) | the owner, without the lock | unused |
//! | [`Status::Waiting`] (linked in the list) | the owner, under the lock ([`WaiterList::register`]) | whoever holds the lock | under the lock |
//! | [`Status::Notified`] (unlinked by a notifier) | a notifier, under the lock ([`WaiterList::notify_front`]) | the owner, without the lock | taken by the notifier |
//!
//! - Only the owner leaves `Idle` and `Notified`, so the owner may trust an `Idle` or
//!   `Notified` it reads without the lock. `Waiting` may turn into `Notified` at any moment
//!   until the owner takes the lock.
//! - A notifier writes the node's `data`, takes its waker and publishes `Notified` (release)
//!   last, all under the lock; after that it never touches the node again. Wakers are woken
//!   after the lock is released ([`WakeList`]), so no user code runs under the lock but
//!   `Waker::clone`.
//! - The owner's `data` accesses outside the lock follow an acquire load of `Notified` (or its
//!   own `Idle`), so they are ordered after the notifier's writes.
//!
//! # What the owner must do
//!
//! - Register ([`WaiterList::register`]) only through a `Pin`: the node must not move while it
//!   is linked.
//! - In its `Drop`, if [`Waiter::status`] is not `Idle`: take the lock, call
//!   [`WaiterList::remove`], and act on what it returns: `Waiting` means it was still queued
//!   (give back whatever the node was already given, e.g. partially assigned permits);
//!   `Notified` means a notification reached it that nobody will use: **pass it on**, under
//!   the same lock (notify the next waiter, or store it in the primitive's state). Only then
//!   may the node be dropped. This is what makes every wait cancel-safe.
//! - Never register one node in two lists.
//! - Poll through [`poll_wait`]: a [`WaitPoll`] impl gives the primitive's parts (the first
//!   attempt, what a notification means, which list under which lock), and `poll_wait` runs
//!   the shared sequence: spend the budget, consume a notification, first poll, or refresh
//!   the waker under the lock.
//!
//! # Shapes of use
//!
//! - Notify-style (Event, Condvar, Barrier, channel receivers): [`WaiterList::notify_front`]
//!   for one, [`notify_batched`] for `notify(n)` / `notify_all`, writing the notification
//!   (a value, a flag, a generation) into each node's data.
//! - Semaphore-style (permits, channel capacity): [`WaiterList::with_front`] assigns part of
//!   what the front waiter needs, `notify_front` once it has it all (see `raw_semaphore.rs`).
//! - Barging locks: a woken waiter that lost the race goes back in front with
//!   [`WaiterList::register_front`] (see `raw_mutex.rs`).
//! - Making a `Waiter` costs more than an uncontended fast path: build the node in place
//!   only when the first poll has to wait (`raw_mutex::Lock`, `raw_semaphore::Acquire`).
//!
//! # Notifying many
//!
//! `notify_all` must not hold the lock while waking an unbounded number of wakers, nor loop
//! forever when woken waiters register again while it runs. [`notify_batched`] notifies in
//! batches of [`WAKE_BATCH`], waking each batch with the lock released, and stops at the
//! [`Epoch`] taken when it started: a node registered later is behind it.
//!
//! # Example
//!
//! A one-permit signal (the shape of Event, Condvar and channel receivers): `notify_one`
//! wakes the first waiter or, if none waits, stores the permit; a notified waiter that is
//! dropped before it used the permit passes it on. The same code runs as the unit test
//! `example_signal` and in the loom models at the bottom of this file.
//!
//! ```text
//! struct Signal { state: Mutex<State> }
//! struct State { permit: bool, waiters: WaiterList<()> }
//!
//! impl Signal {
//!     fn notify_one(&self) {
//!         let mut state = self.state.lock().unwrap();
//!         let mut wakers = WakeList::new();
//!         if !state.waiters.notify_front(&mut wakers, |_| ()) {
//!             state.permit = true;
//!         }
//!         drop(state);
//!         wakers.wake_all(); // outside the lock
//!     }
//! }
//!
//! impl Future for Wait<'_> {             // Wait { signal: &Signal, node: Waiter<()> }
//!     fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
//!         if self.node.consume_notification() {
//!             return Poll::Ready(());    // lock-free after a wake
//!         }
//!         let mut state = self.signal.state.lock().unwrap();
//!         if std::mem::take(&mut state.permit) {
//!             return Poll::Ready(());
//!         }
//!         // SAFETY: pinned; `Drop` removes the node under this lock.
//!         match unsafe { state.waiters.register(self.node(), cx.waker()) } {
//!             Status::Notified => { self.node.consume_notification(); Poll::Ready(()) }
//!             _ => Poll::Pending,
//!         }
//!     }
//! }
//!
//! impl Drop for Wait<'_> {
//!     fn drop(&mut self) {
//!         if self.node.status() == Status::Idle { return; }
//!         let mut state = self.signal.state.lock().unwrap();
//!         // SAFETY: the node is in this list or in none.
//!         if unsafe { state.waiters.remove(&self.node) } == Status::Notified {
//!             /* pass it on: notify the next waiter or store the permit, as notify_one */
//!         }
//!     }
//! }
//! ```

use core::fmt;
use core::marker::PhantomPinned;
use core::mem::MaybeUninit;
use core::pin::Pin;
use core::ptr::NonNull;
use core::task::{ready, Context, Poll, Waker};

use crate::hooks;
use crate::loom::atomic::{AtomicUsize, Ordering};
use crate::loom::{Mutex, MutexGuard, UnsafeCell};

/// How many wakers [`notify_batched`] (and a primitive's own loops) collect under the lock
/// before releasing it to wake them.
pub(crate) const WAKE_BATCH: usize = 32;

/// Where a [`Waiter`] is; see the module's contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// In no list: never registered, withdrawn by its owner, or its notification consumed.
    Idle,
    /// Linked in a list, waiting.
    Waiting,
    /// Unlinked by a notifier; the owner has not consumed the notification yet.
    Notified,
}

const IDLE: usize = 0;
const WAITING: usize = 1;
const NOTIFIED: usize = 2;

impl Status {
    fn from_word(word: usize) -> Status {
        match word {
            IDLE => Status::Idle,
            WAITING => Status::Waiting,
            _ => Status::Notified,
        }
    }
}

/// Takes a primitive's lock, ignoring poisoning: the only code that runs under these locks is
/// the primitives' own bookkeeping and `Waker::clone`, so a panic there leaves nothing half
/// done that a later holder could trip over.
pub(crate) fn lock<S>(mutex: &Mutex<S>) -> MutexGuard<'_, S> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

// ===== impl Waiter =====

/// The list pointers of one node, touched only under the lock.
struct Links<T> {
    prev: Option<NonNull<Waiter<T>>>,
    next: Option<NonNull<Waiter<T>>>,
    /// The list's registration counter when this node was linked (see [`Epoch`]).
    seq: u64,
}

/// One waiting future's node; see the module's contract for who may touch what.
pub(crate) struct Waiter<T> {
    state: AtomicUsize,
    links: UnsafeCell<Links<T>>,
    waker: UnsafeCell<Option<Waker>>,
    data: UnsafeCell<T>,
    /// Linked nodes are pointed to by their neighbours and the list: they must not move.
    _pinned: PhantomPinned,
}

// SAFETY: a `Waiter` is reached from other threads only through a list whose lock orders every
// access to `links`, `waker` and (while linked) `data`; `data` moves between threads (written
// by a notifier, read by the owner), hence `T: Send`. The raw pointers in `links` point to
// other nodes under the same lock.
unsafe impl<T: Send> Send for Waiter<T> {}
// SAFETY: shared references only read `state` (atomic) or reach the cells under the contract
// above (the lock, or exclusive ownership in `Idle`/`Notified`).
unsafe impl<T: Send> Sync for Waiter<T> {}

impl<T> Waiter<T> {
    /// A node in the `Idle` state, holding `data`.
    pub(crate) fn new(data: T) -> Waiter<T> {
        Waiter {
            state: AtomicUsize::new(IDLE),
            links: UnsafeCell::new(Links {
                prev: None,
                next: None,
                seq: 0,
            }),
            waker: UnsafeCell::new(None),
            data: UnsafeCell::new(data),
            _pinned: PhantomPinned,
        }
    }

    /// The node's state, read without the lock (acquire: after `Notified`, the notifier's
    /// writes to `data` are visible).
    pub(crate) fn status(&self) -> Status {
        Status::from_word(self.state.load(Ordering::Acquire))
    }

    /// For the owner: turns `Notified` into `Idle` and returns `true`, or returns `false` if
    /// the node was not notified. Lock-free: the fast path of a poll after a wake.
    ///
    /// The owner may then read `data` without the lock ([`Waiter::with_data`]).
    pub(crate) fn consume_notification(&self) -> bool {
        // A load and a store, not a compare-exchange: only the owner (the caller) ever moves
        // the node out of `Notified`, so nothing can change it in between.
        if self.state.load(Ordering::Acquire) != NOTIFIED {
            return false;
        }
        self.state.store(IDLE, Ordering::Relaxed);
        true
    }

    /// Runs `f` on the node's data.
    ///
    /// # Safety
    ///
    /// The caller may touch `data` now: it holds the lock of the list the node is linked in,
    /// or it is the owner and the node is `Idle` or `Notified` (as it last observed).
    pub(crate) unsafe fn with_data<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        // SAFETY: exclusive access, as the caller promised.
        self.data.with_mut(|data| f(unsafe { &mut *data }))
    }

    fn ptr(&self) -> NonNull<Waiter<T>> {
        NonNull::from(self)
    }
}

impl<T> Drop for Waiter<T> {
    fn drop(&mut self) {
        // A linked node dropped would leave the list pointing at freed memory: the owner's
        // `Drop` must have removed it (see the contract).
        debug_assert_ne!(
            self.state.load(Ordering::Relaxed),
            WAITING,
            "a waiter node was dropped while still linked in its list"
        );
    }
}

impl<T: fmt::Debug> fmt::Debug for Waiter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Waiter")
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

// ===== impl WaiterList =====

/// A registration count: [`WaiterList::epoch`] bounds a bulk notification to the waiters that
/// were already queued when it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Epoch(u64);

/// The FIFO of waiters of one primitive. Lives under that primitive's lock: every method
/// takes `&mut self`, which only the lock holder has.
pub(crate) struct WaiterList<T> {
    head: Option<NonNull<Waiter<T>>>,
    tail: Option<NonNull<Waiter<T>>>,
    len: usize,
    /// Registrations so far; each new node takes the next value as its `seq`.
    registered: u64,
}

// SAFETY: the list only holds pointers to nodes that stay valid while linked (the owners'
// contract) and are `Send` for `T: Send`; moving the list to another thread moves nothing else.
unsafe impl<T: Send> Send for WaiterList<T> {}
// SAFETY: every method that touches a node takes `&mut self`; `&WaiterList` only reads `len`.
unsafe impl<T: Send> Sync for WaiterList<T> {}

impl<T> Default for WaiterList<T> {
    fn default() -> Self {
        WaiterList::new()
    }
}

impl<T> WaiterList<T> {
    /// An empty list.
    pub(crate) const fn new() -> WaiterList<T> {
        WaiterList {
            head: None,
            tail: None,
            len: 0,
            registered: 0,
        }
    }

    /// Whether nobody waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.head.is_none()
    }

    /// How many waiters are queued.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The bound of a bulk notification that starts now: nodes registered from now on are
    /// not before it.
    pub(crate) fn epoch(&self) -> Epoch {
        Epoch(self.registered)
    }

    /// Queues `waiter` at the back with `waker` if it is `Idle`; refreshes the waker if it is
    /// already `Waiting`; leaves it alone if it is `Notified`. Returns the state it found.
    ///
    /// # Safety
    ///
    /// The caller is the node's owner. The node is linked in this list or in none, and its
    /// owner calls [`remove`](WaiterList::remove) under this same lock before the node is
    /// dropped (the `Pin` promises it does not move until then).
    pub(crate) unsafe fn register(&mut self, waiter: Pin<&Waiter<T>>, waker: &Waker) -> Status {
        let waiter = waiter.get_ref();
        let status = Status::from_word(waiter.state.load(Ordering::Acquire));
        match status {
            Status::Notified => {}
            Status::Waiting => {
                // SAFETY: the node is linked here and we hold the lock: the waker is ours.
                waiter.waker.with_mut(|slot| unsafe {
                    match &*slot {
                        Some(old) if old.will_wake(waker) => {}
                        _ => *slot = Some(waker.clone()),
                    }
                });
            }
            Status::Idle => {
                let seq = self.registered;
                self.registered += 1;
                // SAFETY: an `Idle` node is in no list, so its cells are the owner's (the
                // caller), and we hold the lock that will guard them once linked.
                unsafe {
                    waiter.waker.with_mut(|slot| *slot = Some(waker.clone()));
                    waiter.links.with_mut(|links| {
                        *links = Links {
                            prev: self.tail,
                            next: None,
                            seq,
                        }
                    });
                }
                let node = waiter.ptr();
                match self.tail {
                    // SAFETY: linked nodes are valid (their owners' contract) and we hold
                    // the lock that guards their links.
                    Some(tail) => unsafe { set_next(tail, Some(node)) },
                    None => self.head = Some(node),
                }
                self.tail = Some(node);
                self.len += 1;
                waiter.state.store(WAITING, Ordering::Release);
            }
        }
        status
    }

    /// Queues `waiter`, which must be `Idle`, at the *front* with `waker`: for a waiter that
    /// was woken to compete for a resource, lost, and keeps its place ahead of the others.
    ///
    /// For [`Epoch`]s it takes the registration order of the node it goes in front of (or
    /// of a new registration, in an empty list).
    ///
    /// # Safety
    ///
    /// As [`register`](WaiterList::register).
    ///
    /// # Panics
    ///
    /// If the node is not `Idle`.
    pub(crate) unsafe fn register_front(&mut self, waiter: Pin<&Waiter<T>>, waker: &Waker) {
        let waiter = waiter.get_ref();
        assert_eq!(
            waiter.status(),
            Status::Idle,
            "register_front takes an idle node"
        );
        let seq = match self.head {
            // SAFETY: linked nodes are valid and their links are the lock holder's.
            Some(head) => unsafe { head.as_ref().links.with(|links| (*links).seq) },
            None => self.registered,
        };
        // SAFETY: an `Idle` node's cells are its owner's (the caller), under our lock.
        unsafe {
            waiter.waker.with_mut(|slot| *slot = Some(waker.clone()));
            waiter.links.with_mut(|links| {
                *links = Links {
                    prev: None,
                    next: self.head,
                    seq,
                }
            });
        }
        let node = waiter.ptr();
        match self.head {
            // SAFETY: linked, valid, under our lock.
            Some(head) => unsafe {
                head.as_ref()
                    .links
                    .with_mut(|links| (*links).prev = Some(node))
            },
            None => self.tail = Some(node),
        }
        self.head = Some(node);
        self.len += 1;
        waiter.state.store(WAITING, Ordering::Release);
    }

    /// Withdraws `waiter`: unlinks it if it is `Waiting`, discards an unconsumed
    /// notification, leaves it `Idle`. Returns the state it found: `Waiting` (it was still
    /// queued) or `Notified` (it had been notified: the caller passes the notification on).
    ///
    /// Afterwards the owner may touch `data` without the lock.
    ///
    /// # Safety
    ///
    /// The caller is the node's owner, and the node is linked in this list or in none.
    pub(crate) unsafe fn remove(&mut self, waiter: &Waiter<T>) -> Status {
        let status = Status::from_word(waiter.state.load(Ordering::Acquire));
        if status == Status::Waiting {
            // SAFETY: linked here, under our lock.
            unsafe { self.unlink(waiter.ptr()) };
            // SAFETY: unlinked, so nobody else reaches the waker now.
            waiter.waker.with_mut(|slot| unsafe { *slot = None });
        }
        if status != Status::Idle {
            waiter.state.store(IDLE, Ordering::Relaxed);
        }
        status
    }

    /// Runs `f` on the first waiter's data (e.g. to assign it some permits), if any.
    pub(crate) fn with_front<R>(&mut self, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        let head = self.head?;
        // SAFETY: linked nodes are valid and their data is the lock holder's.
        Some(unsafe { head.as_ref().with_data(f) })
    }

    /// Whether the first waiter registered before `epoch`.
    pub(crate) fn front_is_before(&self, epoch: Epoch) -> bool {
        match self.head {
            // SAFETY: linked nodes are valid and their links are the lock holder's.
            Some(head) => unsafe { head.as_ref().links.with(|links| (*links).seq) < epoch.0 },
            None => false,
        }
    }

    /// Notifies the first waiter: unlinks it, lets `f` write its notification into its data,
    /// puts its waker in `wakers` and marks it `Notified`. Returns `false` if nobody waits.
    ///
    /// # Panics
    ///
    /// If `wakers` is full: the caller wakes a full batch (with the lock released) first.
    pub(crate) fn notify_front(&mut self, wakers: &mut WakeList, f: impl FnOnce(&mut T)) -> bool {
        let Some(head) = self.head else {
            return false;
        };
        assert!(
            !wakers.is_full(),
            "wake the full batch before notifying more"
        );
        // SAFETY: the head is linked here, valid, and under our lock; once we publish
        // `NOTIFIED` below we never touch it again.
        unsafe {
            self.unlink(head);
            let node = head.as_ref();
            node.with_data(f);
            if let Some(waker) = node.waker.with_mut(|slot| (*slot).take()) {
                wakers.push(waker);
            }
            node.state.store(NOTIFIED, Ordering::Release);
        }
        true
    }

    /// As [`notify_front`](WaiterList::notify_front), but notifies the *last* waiter (the
    /// most recent registration): for LIFO hand-offs such as `Notify::notify_last`.
    ///
    /// # Panics
    ///
    /// If `wakers` is full.
    pub(crate) fn notify_back(&mut self, wakers: &mut WakeList, f: impl FnOnce(&mut T)) -> bool {
        let Some(tail) = self.tail else {
            return false;
        };
        assert!(
            !wakers.is_full(),
            "wake the full batch before notifying more"
        );
        // SAFETY: the tail is linked here, valid, and under our lock; once we publish
        // `NOTIFIED` below we never touch it again.
        unsafe {
            self.unlink(tail);
            let node = tail.as_ref();
            node.with_data(f);
            if let Some(waker) = node.waker.with_mut(|slot| (*slot).take()) {
                wakers.push(waker);
            }
            node.state.store(NOTIFIED, Ordering::Release);
        }
        true
    }

    /// Unlinks `node`.
    ///
    /// # Safety
    ///
    /// `node` is linked in this list, and the caller holds the lock.
    unsafe fn unlink(&mut self, node: NonNull<Waiter<T>>) {
        // SAFETY: the node and its neighbours are linked here: valid, under our lock.
        unsafe {
            let (prev, next) = node
                .as_ref()
                .links
                .with(|links| ((*links).prev, (*links).next));
            match prev {
                Some(prev) => set_next(prev, next),
                None => self.head = next,
            }
            match next {
                Some(next) => next.as_ref().links.with_mut(|links| (*links).prev = prev),
                None => self.tail = prev,
            }
            node.as_ref().links.with_mut(|links| {
                (*links).prev = None;
                (*links).next = None;
            });
        }
        self.len -= 1;
    }
}

/// Sets `node.next`.
///
/// # Safety
///
/// `node` is linked in a list whose lock the caller holds.
unsafe fn set_next<T>(node: NonNull<Waiter<T>>, next: Option<NonNull<Waiter<T>>>) {
    // SAFETY: as the caller promised.
    unsafe { node.as_ref().links.with_mut(|links| (*links).next = next) }
}

impl<T> Drop for WaiterList<T> {
    fn drop(&mut self) {
        // Every waiting future borrows its primitive, which owns this list: none can be
        // linked any more when the list goes.
        debug_assert!(
            self.is_empty(),
            "a waiter list was dropped with waiters linked"
        );
    }
}

impl<T> fmt::Debug for WaiterList<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaiterList")
            .field("len", &self.len)
            .finish()
    }
}

/// Notifies up to `limit` waiters of the list that `list` finds in the state `guard` locks,
/// front first, writing each one's notification with `f`; returns how many it notified.
///
/// Only waiters registered before the call are notified, so a woken waiter that registers
/// again while this runs (a condition variable's waiter looping) is not notified twice and the
/// call ends. Wakers are woken in batches of [`WAKE_BATCH`] with the lock released; the lock is
/// released when this returns.
pub(crate) fn notify_batched<'a, S, T>(
    mutex: &'a Mutex<S>,
    mut guard: MutexGuard<'a, S>,
    list: impl Fn(&mut S) -> &mut WaiterList<T>,
    limit: usize,
    mut f: impl FnMut(&mut T),
) -> usize {
    let epoch = list(&mut guard).epoch();
    let mut wakers = WakeList::new();
    let mut notified = 0;
    // A waker that panics doesn't stop the later batches: its panic goes on at the end.
    let mut first_panic = None;
    loop {
        let waiters = list(&mut guard);
        while notified < limit && !wakers.is_full() && waiters.front_is_before(epoch) {
            waiters.notify_front(&mut wakers, &mut f);
            notified += 1;
        }
        let more = notified < limit && waiters.front_is_before(epoch);
        drop(guard);
        if let Some(payload) = wakers.wake_each() {
            first_panic.get_or_insert(payload);
        }
        if !more {
            if let Some(payload) = first_panic {
                std::panic::resume_unwind(payload);
            }
            return notified;
        }
        guard = lock(mutex);
    }
}

// ===== the poll of a waiting future =====

/// The parts of a waiting future's poll that differ between primitives; [`poll_wait`] runs
/// them in the order every primitive shares.
///
/// # Safety
///
/// [`node`](WaitPoll::node) returns the implementor's own node, structurally pinned; the node
/// is only ever registered in the list [`list`](WaitPoll::list) returns under
/// [`lock`](WaitPoll::lock), and the implementor's `Drop` withdraws it under that lock
/// ([`WaiterList::remove`]) before the node goes.
pub(crate) unsafe trait WaitPoll {
    /// The node's data.
    type Data;
    /// What the primitive's lock guards (the list, alone or with other state).
    type State: HoldsWaiters<Self::Data>;
    /// What the poll resolves to.
    type Output;

    /// Whether each poll spends a unit of the cooperative budget, given back unless the poll
    /// completes.
    const SPENDS_BUDGET: bool = true;

    /// The waiting future's node.
    fn node(self: Pin<&Self>) -> Pin<&Waiter<Self::Data>>;

    /// The lock of the list the node waits in.
    fn lock(&self) -> &Mutex<Self::State>;

    /// Under the lock: the list the node waits in; by default the state's only list.
    fn list<'s>(self: Pin<&Self>, state: &'s mut Self::State) -> &'s mut WaiterList<Self::Data> {
        state.waiters()
    }

    /// Under the lock, before a queued node's waker is refreshed: `Some` completes the poll
    /// with the node withdrawn (an event set meanwhile). By default nothing to check.
    fn recheck(self: Pin<&Self>, _state: &mut Self::State) -> Option<Self::Output> {
        None
    }

    /// The node is idle, never queued: the first poll, which tries at once and queues the
    /// node if it must wait.
    fn first(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output>;

    /// The node's notification has just been consumed: act on it.
    fn notified(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output>;

    /// The node is queued (or was notified after the check): by default [`requeue`].
    fn queued(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output>
    where
        Self: Sized,
    {
        requeue(self, cx)
    }
}

/// A primitive's locked state: where its waiters wait.
pub(crate) trait HoldsWaiters<T> {
    /// The list a new waiter joins.
    fn waiters(&mut self) -> &mut WaiterList<T>;
}

impl<T> HoldsWaiters<T> for WaiterList<T> {
    fn waiters(&mut self) -> &mut WaiterList<T> {
        self
    }
}

/// One poll of a future that waits with a [`Waiter`] node: spends a unit of the budget (if
/// [`WaitPoll::SPENDS_BUDGET`]); if the node was notified, consumes the notification and
/// acts on it ([`WaitPoll::notified`]); if it is idle, makes the first attempt
/// ([`WaitPoll::first`]); if it is queued, refreshes its waker ([`WaitPoll::queued`]).
///
/// Cancel safety is the caller's `Drop`: a notified node that is dropped before a poll
/// consumed its notification passes it on there (see the module's contract).
#[inline]
pub(crate) fn poll_wait<W: WaitPoll>(
    mut wait: Pin<&mut W>,
    cx: &mut Context<'_>,
) -> Poll<W::Output> {
    let mut coop = if W::SPENDS_BUDGET {
        Some(ready!(hooks::poll_proceed(cx)))
    } else {
        None
    };
    // One load on the fast path: most polls find the node idle (first) or notified.
    let node = wait.as_ref().node();
    let result = match node.status() {
        Status::Notified => {
            node.consume_notification();
            wait.as_mut().notified(cx)
        }
        Status::Idle => wait.as_mut().first(cx),
        Status::Waiting => wait.as_mut().queued(cx),
    };
    if let (Poll::Ready(_), Some(coop)) = (&result, &mut coop) {
        coop.made_progress();
    }
    result
}

/// The queued node's turn of [`poll_wait`]: under the lock, acts on a notification that came
/// since the lock-free check, or on [`WaitPoll::recheck`], or else refreshes the node's
/// waker and stays pending.
pub(crate) fn requeue<W: WaitPoll>(mut wait: Pin<&mut W>, cx: &mut Context<'_>) -> Poll<W::Output> {
    let this = wait.as_ref();
    let node = this.node();
    let mut state = lock(this.lock());
    // Under the lock the status holds still: only a notifier, which needs this lock, moves
    // a node out of `Waiting`.
    if node.status() != Status::Notified {
        if let Some(out) = this.recheck(&mut state) {
            // SAFETY: we own the node (the `WaitPoll` contract), which is in this list or in
            // none.
            unsafe { this.list(&mut state).remove(&node) };
            return Poll::Ready(out);
        }
        // SAFETY: the node is pinned, registered only in this list, and withdrawn under this
        // lock before it is dropped (the `WaitPoll` contract).
        unsafe { this.list(&mut state).register(node, cx.waker()) };
        return Poll::Pending;
    }
    drop(state);
    node.consume_notification();
    wait.as_mut().notified(cx)
}

// ===== impl WakeList =====

/// Up to [`WAKE_BATCH`] wakers taken under a lock, to be woken after it is released.
///
/// The slots start uninitialised, so making an empty batch (on every release that finds a
/// waiter) costs nothing.
pub(crate) struct WakeList {
    wakers: [MaybeUninit<Waker>; WAKE_BATCH],
    /// `wakers[..len]` are initialised.
    len: usize,
}

impl WakeList {
    /// An empty batch.
    pub(crate) fn new() -> WakeList {
        WakeList {
            wakers: [const { MaybeUninit::uninit() }; WAKE_BATCH],
            len: 0,
        }
    }

    /// Whether the batch is full.
    pub(crate) fn is_full(&self) -> bool {
        self.len == WAKE_BATCH
    }

    /// Adds a waker.
    ///
    /// # Panics
    ///
    /// If the batch is full.
    pub(crate) fn push(&mut self, waker: Waker) {
        assert!(!self.is_full(), "a WakeList holds {WAKE_BATCH} wakers");
        self.wakers[self.len].write(waker);
        self.len += 1;
    }

    /// Wakes and drops every waker in the batch, leaving it empty. Call without the lock.
    ///
    /// # Panics
    ///
    /// If a waker's `wake` panicked: the first such panic carries on to the caller, after
    /// every other waker of the batch was woken (each waiter was already handed its
    /// notification, so one that is never woken would wait forever).
    pub(crate) fn wake_all(&mut self) {
        if let Some(payload) = self.wake_each() {
            std::panic::resume_unwind(payload);
        }
    }

    /// Wakes and drops every waker, containing their panics; returns the first panic's
    /// payload.
    pub(crate) fn wake_each(&mut self) -> Option<Box<dyn core::any::Any + Send>> {
        self.wake_each_with(Waker::wake)
    }

    /// As [`wake_all`](WakeList::wake_all), each waker woken behind the running tasks
    /// ([`hooks::wake_behind`]).
    pub(crate) fn wake_all_behind(&mut self) {
        if let Some(payload) = self.wake_each_with(hooks::wake_behind) {
            std::panic::resume_unwind(payload);
        }
    }

    fn wake_each_with(&mut self, wake: fn(Waker)) -> Option<Box<dyn core::any::Any + Send>> {
        // Empty first, so each waker is read out exactly once whatever a `wake` does.
        let len = core::mem::take(&mut self.len);
        let mut first_panic = None;
        for slot in &mut self.wakers[..len] {
            // SAFETY: `wakers[..len]` were initialised by `push`, and `len` is already 0, so
            // each is read out exactly once.
            let waker = unsafe { slot.assume_init_read() };
            let woken = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| wake(waker)));
            if let Err(payload) = woken {
                first_panic.get_or_insert(payload);
            }
        }
        first_panic
    }
}

impl Drop for WakeList {
    fn drop(&mut self) {
        // A batch dropped early (a panic under the lock) still wakes its waiters. A waker's
        // panic goes on from here unless a panic is already unwinding (that would abort).
        if let Some(payload) = self.wake_each() {
            if !std::thread::panicking() {
                std::panic::resume_unwind(payload);
            }
        }
    }
}

impl fmt::Debug for WakeList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WakeList").field("len", &self.len).finish()
    }
}

#[cfg(test)]
pub(crate) mod example {
    //! The module doc's example, compiled: a one-permit signal.

    use super::*;
    use core::future::Future;
    use core::task::{Context, Poll};

    pub(crate) struct Signal {
        state: Mutex<State>,
    }

    struct State {
        permit: bool,
        waiters: WaiterList<()>,
    }

    impl Signal {
        pub(crate) fn new() -> Signal {
            Signal {
                state: Mutex::new(State {
                    permit: false,
                    waiters: WaiterList::new(),
                }),
            }
        }

        pub(crate) fn notify_one(&self) {
            let state = lock(&self.state);
            Self::hand_out(state);
        }

        /// Gives one permit to the first waiter or stores it, then wakes outside the lock.
        fn hand_out(mut state: MutexGuard<'_, State>) {
            let mut wakers = WakeList::new();
            if !state.waiters.notify_front(&mut wakers, |_| ()) {
                state.permit = true;
            }
            drop(state);
            wakers.wake_all();
        }

        /// Wakes every waiter queued now, without storing a permit.
        pub(crate) fn notify_all(&self) -> usize {
            let state = lock(&self.state);
            notify_batched(&self.state, state, |s| &mut s.waiters, usize::MAX, |_| ())
        }

        pub(crate) fn wait(&self) -> Wait<'_> {
            Wait {
                signal: self,
                node: Waiter::new(()),
            }
        }

        #[cfg_attr(runtime_loom, allow(dead_code))] // used by the std-only unit tests
        pub(crate) fn has_permit(&self) -> bool {
            lock(&self.state).permit
        }

        pub(crate) fn waiting(&self) -> usize {
            lock(&self.state).waiters.len()
        }
    }

    pub(crate) struct Wait<'a> {
        signal: &'a Signal,
        node: Waiter<()>,
    }

    impl Future for Wait<'_> {
        type Output = ();

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.node.consume_notification() {
                return Poll::Ready(());
            }
            let mut state = lock(&self.signal.state);
            if core::mem::take(&mut state.permit) {
                return Poll::Ready(());
            }
            // SAFETY: the node is a pinned field (we never move out of `self`); `Drop`
            // removes it under this lock.
            let node = unsafe { self.as_ref().map_unchecked(|w| &w.node) };
            // SAFETY: as above; this list is the only one it is ever registered with.
            match unsafe { state.waiters.register(node, cx.waker()) } {
                Status::Notified => {
                    self.node.consume_notification();
                    Poll::Ready(())
                }
                _ => Poll::Pending,
            }
        }
    }

    impl Drop for Wait<'_> {
        fn drop(&mut self) {
            if self.node.status() == Status::Idle {
                return;
            }
            let mut state = lock(&self.signal.state);
            // SAFETY: we own the node, linked in this list or in none.
            if unsafe { state.waiters.remove(&self.node) } == Status::Notified {
                Signal::hand_out(state);
            }
        }
    }
}

#[cfg(all(test, not(runtime_loom)))]
mod tests {
    use super::example::Signal;
    use core::future::Future;
    use core::pin::pin;
    use core::task::{Context, Poll, Waker};

    fn poll_once<F: Future>(fut: core::pin::Pin<&mut F>) -> Poll<F::Output> {
        fut.poll(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn example_signal() {
        let signal = Signal::new();
        signal.notify_one();
        assert!(signal.has_permit());
        futures::executor::block_on(signal.wait());
        assert!(!signal.has_permit());
    }

    #[test]
    fn fifo_order_and_removal_from_the_middle() {
        let signal = Signal::new();
        let mut a = pin!(signal.wait());
        let mut b = pin!(signal.wait());
        let mut c = Box::pin(signal.wait());
        assert!(poll_once(a.as_mut()).is_pending());
        assert!(poll_once(b.as_mut()).is_pending());
        assert!(poll_once(c.as_mut()).is_pending());
        assert_eq!(signal.waiting(), 3);
        // Re-polling a queued waiter keeps its place.
        assert!(poll_once(a.as_mut()).is_pending());
        drop(c);
        assert_eq!(signal.waiting(), 2);
        signal.notify_one();
        assert!(poll_once(b.as_mut()).is_pending(), "b is behind a");
        assert!(poll_once(a.as_mut()).is_ready());
        signal.notify_one();
        assert!(poll_once(b.as_mut()).is_ready());
        assert!(!signal.has_permit());
    }

    #[test]
    fn dropped_notified_waiter_passes_the_permit_on() {
        let signal = Signal::new();
        let mut a = Box::pin(signal.wait());
        let mut b = pin!(signal.wait());
        assert!(poll_once(a.as_mut()).is_pending());
        assert!(poll_once(b.as_mut()).is_pending());
        signal.notify_one();
        drop(a);
        assert!(poll_once(b.as_mut()).is_ready());

        let mut c = Box::pin(signal.wait());
        assert!(poll_once(c.as_mut()).is_pending());
        signal.notify_one();
        drop(c);
        assert!(
            signal.has_permit(),
            "nobody else waits: the permit is stored"
        );
    }

    #[test]
    fn notify_all_spans_batches_and_ignores_late_registrations() {
        let signal = Signal::new();
        let mut waits: Vec<_> = (0..100).map(|_| Box::pin(signal.wait())).collect();
        for w in &mut waits {
            assert!(poll_once(w.as_mut()).is_pending());
        }
        assert_eq!(signal.notify_all(), 100);
        for w in &mut waits {
            assert!(poll_once(w.as_mut()).is_ready());
        }
        assert_eq!(signal.waiting(), 0);
    }

    /// Each wake registers a fresh waiter at once, as a woken condition-variable waiter that
    /// loops would: `notify_all` still ends, having notified exactly the waiters it found.
    #[test]
    fn notify_all_ends_when_woken_waiters_register_again() {
        use std::pin::Pin;
        use std::sync::{Arc, Mutex};
        type Late = Vec<Pin<Box<super::example::Wait<'static>>>>;

        struct Requeue {
            signal: &'static Signal,
            late: Arc<Mutex<Late>>,
        }
        impl std::task::Wake for Requeue {
            fn wake(self: Arc<Self>) {
                let mut wait = Box::pin(self.signal.wait());
                assert!(poll_once(wait.as_mut()).is_pending());
                self.late.lock().unwrap().push(wait);
            }
        }

        let signal: &'static Signal = Box::leak(Box::new(Signal::new()));
        let late = Arc::new(Mutex::new(Vec::new()));
        let waker = Waker::from(Arc::new(Requeue {
            signal,
            late: late.clone(),
        }));
        let mut waits: Vec<_> = (0..100).map(|_| Box::pin(signal.wait())).collect();
        for w in &mut waits {
            let poll = w.as_mut().poll(&mut Context::from_waker(&waker));
            assert!(poll.is_pending());
        }
        assert_eq!(signal.notify_all(), 100);
        assert_eq!(
            signal.waiting(),
            100,
            "the re-registered waiters still wait"
        );
        for w in &mut waits {
            assert!(poll_once(w.as_mut()).is_ready());
        }
        late.lock().unwrap().clear();
        assert_eq!(signal.waiting(), 0);
    }
}

#[cfg(all(test, runtime_loom))]
mod loom_tests {
    use super::example::Signal;
    use crate::loom::{thread, Arc};
    use crate::thread_waker::block_on_thread;
    use core::future::Future;
    use core::pin::pin;
    use core::task::{Context, Waker};

    /// A notification racing a waiter that registers and is then dropped: the dropped waiter
    /// passes a notification it received on, so the other waiter always finishes (a lost
    /// permit leaves it parked forever, which loom reports as a deadlock).
    #[test]
    fn notify_vs_dropped_waiter_passes_on() {
        ::loom::model(|| {
            let signal = Arc::new(Signal::new());
            let dropper = {
                let signal = signal.clone();
                thread::spawn(move || {
                    let mut wait = Box::pin(signal.wait());
                    let poll = wait.as_mut().poll(&mut Context::from_waker(Waker::noop()));
                    drop(wait);
                    if poll.is_ready() {
                        // It took the permit before waiting: a completed wait, not a lost one.
                        signal.notify_one();
                    }
                })
            };
            let notifier = {
                let signal = signal.clone();
                thread::spawn(move || signal.notify_one())
            };
            block_on_thread(signal.wait());
            dropper.join().unwrap();
            notifier.join().unwrap();
            assert_eq!(signal.waiting(), 0);
        });
    }

    /// `notify_all` racing a registration and a drop: everyone queued before it finishes,
    /// and the list is consistent afterwards.
    #[test]
    fn notify_all_vs_register_and_drop() {
        ::loom::model(|| {
            let signal = Arc::new(Signal::new());
            let dropper = {
                let signal = signal.clone();
                thread::spawn(move || {
                    let mut wait = pin!(signal.wait());
                    let _ = wait.as_mut().poll(&mut Context::from_waker(Waker::noop()));
                })
            };
            let mut wait = pin!(signal.wait());
            let registered = wait
                .as_mut()
                .poll(&mut Context::from_waker(Waker::noop()))
                .is_pending();
            assert!(registered);
            signal.notify_all();
            // Queued before `notify_all`: notified, whatever the dropper did.
            block_on_thread(wait);
            dropper.join().unwrap();
            assert_eq!(signal.waiting(), 0);
        });
    }
}
