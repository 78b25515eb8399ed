//! Multi-producer, multi-consumer channels: [`bounded`] (with back-pressure) and
//! [`unbounded`]; and [`Queue`], a channel that counts unfinished items for Python's
//! `task_done()` / `join()`.
//!
//! Both return a [`Sender`] and a [`Receiver`] of the same types. Either end can be cloned
//! and shared (every method takes `&self`), used from any executor and from OS threads
//! (`*_blocking`), and each value goes to exactly one receiver, in the order it was sent.
//!
//! | Python `queue.Queue` | here |
//! |---|---|
//! | `Queue(maxsize)` / `Queue()` | [`bounded(cap)`](bounded) / [`unbounded()`](unbounded) |
//! | `put(v)` / `get()` | [`send(v).await`](Sender::send) / [`recv().await`](Receiver::recv), or the `*_blocking` forms on threads |
//! | `put_nowait` / `get_nowait` (`Full` / `Empty`) | [`try_send`](Sender::try_send) / [`try_recv`](Receiver::try_recv) |
//! | `put(v, timeout=t)` | `time::timeout(t, tx.reserve()).await`, then `permit.send(v)` |
//! | `qsize()`, `empty()`, `full()` | [`len`](Receiver::len), [`is_empty`](Receiver::is_empty), `len() == capacity` (snapshots, stale under contention) |
//! | `shutdown()` (3.13) | [`close`](Sender::close), or dropping every sender |
//! | `task_done()` / `join()` (`ValueError` when called too often) | a [`Queue`]: [`task_done`](Queue::task_done) (an `Err(`[`TaskDoneError`]`)`), [`join().await`](Queue::join), [`join_blocking`](Queue::join_blocking); see [below](#waiting-until-every-item-is-processed) |
//!
//! ```
//! use futures::executor::block_on;
//! use runtime_primitives::channel;
//!
//! let (tx, rx) = channel::bounded(100);
//! let producer = std::thread::spawn(move || {
//!     for i in 0..1_000 {
//!         tx.send_blocking(i).unwrap(); // waits while 100 are queued: back-pressure
//!     }
//! }); // the last sender drops here: the channel closes once drained
//! let total: u64 = block_on(async {
//!     let mut total = 0;
//!     while let Ok(i) = rx.recv().await {
//!         total += i;
//!     }
//!     total
//! });
//! assert_eq!(total, 499_500);
//! producer.join().unwrap();
//! ```
//!
//! # Closing
//!
//! A channel closes when [`close`](Sender::close) is called on either end, when the last
//! `Sender` is dropped, or when the last `Receiver` is dropped (queued values are then
//! dropped: nobody can receive them). Closing wakes every waiting sender and receiver. After
//! the close, sends fail and give their value back ([`SendError`], [`TrySendError::Closed`]),
//! while receivers still drain what was queued (and what [`Permit`]s taken before the close
//! send) before they get [`RecvError`].
//!
//! # Cancel safety
//!
//! [`recv`](Receiver::recv) and [`reserve`](Sender::reserve) are cancel-safe: dropping them
//! (a timeout, a `select!` that chose another branch) loses no value, and a receiver woken
//! for a value passes that wake-up on. [`send(v)`](Sender::send) drops `v` if it is
//! cancelled before it completes; under a timeout, send with
//! `tx.reserve().await?.send(v)` instead.
//!
//! # Waiting until every item is processed
//!
//! Python's `q.task_done()` / `q.join()` track items that were taken but not finished yet.
//! When the producers are simply done, drop the senders and wait for the consumers to end
//! (join their tasks, or a `JoinSet`): each consumer's `recv` fails once the queue is
//! drained, after it finished its last item. When the queue stays open, use a [`Queue`]:
//! one handle for both ends that counts unfinished items, where
//! [`task_done`](Queue::task_done) marks a received item processed and
//! [`join`](Queue::join) waits until every item sent so far was.
//!
//! ```
//! use futures::executor::block_on;
//! use runtime_primitives::channel::{Queue, TaskDoneError};
//!
//! let queue = Queue::unbounded();
//! let consumer = {
//!     let queue = queue.clone();
//!     std::thread::spawn(move || {
//!         while let Ok(job) = queue.recv_blocking() {
//!             let _result: u64 = job * 2; // process the item
//!             queue.task_done().unwrap();
//!         }
//!     })
//! };
//! for job in 0..100u64 {
//!     queue.try_send(job).unwrap();
//! }
//! block_on(queue.join()); // every item sent so far has been processed
//! assert_eq!(queue.unfinished(), 0);
//! assert_eq!(queue.task_done(), Err(TaskDoneError)); // one call too many
//! queue.close();
//! consumer.join().unwrap();
//! ```
//!
//! # Cost
//!
//! The bounded flavor is a lock-free ring with per-slot stamps, the unbounded one a
//! lock-free list of blocks: an uncontended send or receive is one atomic read-modify-write
//! plus the slot write. The waiter lists are locked only when a sender or receiver actually
//! waits. On the `runtime` executor each completed send or receive spends one unit of the
//! task's cooperative budget. A [`Queue`] adds one atomic read-modify-write to each send
//! and each receive, and two to each `task_done`; plain channels carry no count.

mod bounded;
// `Waiters` (a waiter list with a lock-free count of who waits) serves `watch` and
// `broadcast` too.
pub(crate) mod chan;
mod error;
mod outcome;
mod queue;
mod receiver;
mod sender;
mod unbounded;

pub use error::{RecvError, SendError, TaskDoneError, TryRecvError, TrySendError};
pub use queue::{Join, Queue};
pub use receiver::{Receiver, Recv};
pub use sender::{OwnedPermit, Permit, Reserve, ReserveOwned, Send, Sender};

use crate::loom::Arc;
use chan::{Chan, Flavor};

/// The largest capacity [`bounded`] accepts (2<sup>24</sup>).
///
/// ```
/// use runtime_primitives::channel;
///
/// assert_eq!(channel::MAX_CAPACITY, 1 << 24);
/// let (tx, _rx) = channel::bounded::<u8>(channel::MAX_CAPACITY.min(1024));
/// assert_eq!(tx.capacity(), Some(1024));
/// ```
pub const MAX_CAPACITY: usize = bounded::MAX_CAPACITY;

/// Creates a channel that holds at most `cap` values: [`Sender::send`] waits while it is
/// full, which slows producers down to the pace of the consumers (back-pressure).
///
/// The `cap` slots are allocated up front.
///
/// # Panics
///
/// If `cap` is 0 (there is no rendezvous channel: use a [`oneshot`](crate::oneshot) channel
/// to hand over one value, or `bounded(1)`), or above [`MAX_CAPACITY`] (use [`unbounded`]).
///
/// ```
/// use runtime_primitives::channel::{self, TrySendError};
///
/// let (tx, rx) = channel::bounded(2);
/// tx.try_send(1).unwrap();
/// tx.try_send(2).unwrap();
/// assert_eq!(tx.try_send(3), Err(TrySendError::Full(3)));
/// assert_eq!(rx.try_recv(), Ok(1));
/// ```
#[track_caller]
pub fn bounded<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    assert!(
        cap > 0,
        "channel::bounded(0): a channel needs room for at least one value; \
         use a `oneshot` channel or `bounded(1)`"
    );
    assert!(
        cap <= MAX_CAPACITY,
        "channel::bounded({cap}): above the maximum capacity of {MAX_CAPACITY}; \
         use `channel::unbounded()` for a queue without a bound"
    );
    channel(Flavor::Bounded(bounded::Ring::new(cap)))
}

/// Creates a channel without a bound: [`Sender::send`] never waits (memory grows with the
/// backlog instead).
///
/// ```
/// use runtime_primitives::channel;
///
/// let (tx, rx) = channel::unbounded();
/// for i in 0..10_000 {
///     tx.try_send(i).unwrap();
/// }
/// assert_eq!(rx.len(), 10_000);
/// ```
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    channel(Flavor::Unbounded(unbounded::List::new()))
}

fn channel<T>(flavor: Flavor<T>) -> (Sender<T>, Receiver<T>) {
    let chan = Arc::new(Chan::new(flavor));
    let sender = Sender { chan: chan.clone() };
    (sender, Receiver::new(chan))
}

// Compile-time checks of the auto traits users rely on: the handles need only `T: Send`.
#[allow(dead_code)]
fn _assert_auto_traits() {
    fn send_sync<T: core::marker::Send + Sync>() {}
    fn send<T: core::marker::Send>() {}
    fn unpin<T: Unpin>() {}
    type NotSync = core::cell::Cell<u8>;
    send_sync::<Sender<NotSync>>();
    send_sync::<Receiver<NotSync>>();
    send::<Send<'static, NotSync>>();
    send::<Recv<'static, NotSync>>();
    send::<Reserve<'static, NotSync>>();
    send::<ReserveOwned<NotSync>>();
    send::<Permit<'static, NotSync>>();
    send::<OwnedPermit<NotSync>>();
    send_sync::<Queue<NotSync>>();
    send::<Join<'static>>();
    unpin::<Receiver<core::marker::PhantomPinned>>();
    unpin::<Queue<core::marker::PhantomPinned>>();
    unpin::<Sender<core::marker::PhantomPinned>>();
}
