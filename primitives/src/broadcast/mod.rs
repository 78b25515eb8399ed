//! A multi-producer, multi-consumer broadcast channel: every receiver gets every message.
//!
//! [`channel(capacity)`](channel) returns a [`Sender`] and a [`Receiver`]; more receivers
//! come from [`Sender::subscribe`] or [`Receiver::resubscribe`] and see the messages sent
//! after they were made. A receiver gets each message as a clone, in the order sent.
//!
//! Senders never wait: the channel holds the last `capacity` messages, and a send into a
//! full ring overwrites the oldest. A receiver that was that far behind learns how many it
//! missed from [`RecvError::Lagged`] and goes on from the oldest message still held. Once
//! every sender is gone, receivers read what is left, then get [`RecvError::Closed`].
//!
//! ```
//! use runtime_primitives::broadcast;
//!
//! let (tx, rx1) = broadcast::channel(16);
//! let rx2 = tx.subscribe();
//! let listeners: Vec<_> = [(1, rx1), (2, rx2)]
//!     .into_iter()
//!     .map(|(id, mut rx)| {
//!         std::thread::spawn(move || {
//!             let mut got = Vec::new();
//!             while let Ok(event) = rx.recv_blocking() {
//!                 got.push(event);
//!             }
//!             (id, got)
//!         })
//!     })
//!     .collect();
//! for event in ["connected", "message", "disconnected"] {
//!     assert_eq!(tx.send(event).unwrap(), 2, "both receivers get it");
//! }
//! drop(tx); // the listeners end once they have read everything
//! for listener in listeners {
//!     let (_, got) = listener.join().unwrap();
//!     assert_eq!(got, ["connected", "message", "disconnected"]);
//! }
//! ```
//!
//! # How it works
//!
//! A ring of `capacity` slots, each behind its own read-write lock and counting the receivers
//! still to read its message, and a tail lock that orders the sends. Receivers of one message
//! clone it in parallel under read locks, and the last one to read it drops it, so a message
//! everyone has read holds no memory. The design notes are in the engine's module doc
//! (`broadcast/ring.rs`): the stamps that tell a message from an empty or overwritten slot,
//! who takes which lock, and why this shape (fan-out to many readers is the workload).
//!
//! # Cancel safety
//!
//! [`Receiver::recv`] is cancel-safe: a receiver moves past a message only when `recv`
//! returns it, so a dropped `recv()` loses nothing; the next one returns the same message.
//! On the `runtime` executor each completed `recv` spends one unit of the task's
//! cooperative budget, so a receiver that is never short of messages still yields.

mod error;
mod ring;

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

pub use error::{RecvError, SendError, TryRecvError};

use crate::hooks;
use crate::loom::Arc;
use crate::thread_waker::block_on_thread;
use crate::waiter_list::Waiter;
use ring::Shared;

/// The largest capacity [`channel`] accepts (2<sup>24</sup>): the ring is allocated up front.
///
/// ```
/// use runtime_primitives::broadcast;
///
/// assert_eq!(broadcast::MAX_CAPACITY, 1 << 24);
/// ```
pub const MAX_CAPACITY: usize = 1 << 24;

/// Creates a broadcast channel that holds the last `capacity` messages.
///
/// # Panics
///
/// If `capacity` is 0 (a broadcast channel needs room for the message it hands out: use
/// `channel(1)` for "latest only", or a [`watch`](crate::watch) channel for a value that
/// receivers read in place), or above [`MAX_CAPACITY`].
///
/// ```
/// use runtime_primitives::broadcast;
///
/// let (tx, mut rx) = broadcast::channel(8);
/// tx.send(1).unwrap();
/// assert_eq!(rx.try_recv(), Ok(1));
/// ```
///
/// ```should_panic
/// let _ = runtime_primitives::broadcast::channel::<u8>(0); // panics: capacity 0
/// ```
#[track_caller]
pub fn channel<T: Clone>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(
        capacity > 0,
        "broadcast::channel(0): a broadcast channel needs room for at least one message; \
         use `broadcast::channel(1)` to keep only the latest, or a `watch` channel"
    );
    assert!(
        capacity <= MAX_CAPACITY,
        "broadcast::channel({capacity}): above the maximum capacity of {MAX_CAPACITY}"
    );
    let shared = Arc::new(Shared::new(capacity));
    let sender = Sender {
        shared: shared.clone(),
    };
    (sender, Receiver { shared, next: 0 })
}

// ===== impl Sender =====

/// The sending half of a [`broadcast`](self) channel. Cheap to clone; the channel closes
/// when the last clone is dropped.
///
/// ```
/// use runtime_primitives::broadcast;
///
/// let (tx, mut rx) = broadcast::channel(4);
/// let tx2 = tx.clone();
/// tx.send("a").unwrap();
/// tx2.send("b").unwrap();
/// assert_eq!(rx.try_recv(), Ok("a"));
/// assert_eq!(rx.try_recv(), Ok("b"));
/// ```
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// Sends `value` to every receiver alive now, without waiting; returns how many that is.
    /// In a full ring it overwrites the oldest message (receivers that had not read it get
    /// [`RecvError::Lagged`]).
    ///
    /// # Errors
    ///
    /// [`SendError`] with `value` if no receiver is alive (the message would reach nobody).
    ///
    /// ```
    /// use runtime_primitives::broadcast;
    ///
    /// let (tx, _rx) = broadcast::channel(2);
    /// let _rx2 = tx.subscribe();
    /// assert_eq!(tx.send(10), Ok(2));
    /// ```
    pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
        self.shared.send(value).map_err(SendError)
    }

    /// A new receiver, which gets the messages sent from now on.
    ///
    /// ```
    /// use runtime_primitives::broadcast::{self, TryRecvError};
    ///
    /// let (tx, _rx) = broadcast::channel(4);
    /// tx.send(1).unwrap();
    /// let mut late = tx.subscribe();
    /// tx.send(2).unwrap();
    /// assert_eq!(late.try_recv(), Ok(2));
    /// assert_eq!(late.try_recv(), Err(TryRecvError::Empty));
    /// ```
    pub fn subscribe(&self) -> Receiver<T> {
        let next = self.shared.subscribe();
        Receiver {
            shared: self.shared.clone(),
            next,
        }
    }

    /// How many receivers are alive (a snapshot).
    ///
    /// ```
    /// use runtime_primitives::broadcast;
    ///
    /// let (tx, rx) = broadcast::channel::<u8>(1);
    /// assert_eq!(tx.receiver_count(), 1);
    /// drop(rx);
    /// assert_eq!(tx.receiver_count(), 0);
    /// ```
    pub fn receiver_count(&self) -> usize {
        self.shared.receiver_count()
    }

    /// How many messages are held for at least one receiver that has not read them (a
    /// snapshot; at most the capacity).
    ///
    /// ```
    /// use runtime_primitives::broadcast;
    ///
    /// let (tx, mut rx1) = broadcast::channel(8);
    /// let mut rx2 = tx.subscribe();
    /// tx.send(1).unwrap();
    /// tx.send(2).unwrap();
    /// assert_eq!(tx.len(), 2);
    /// rx1.try_recv().unwrap();
    /// assert_eq!(tx.len(), 2, "rx2 has read neither");
    /// rx2.try_recv().unwrap();
    /// assert_eq!(tx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.shared.len()
    }

    /// Whether every message held has been read by every receiver (a snapshot).
    ///
    /// ```
    /// use runtime_primitives::broadcast;
    ///
    /// let (tx, mut rx) = broadcast::channel(2);
    /// tx.send(()).unwrap();
    /// assert!(!tx.is_empty());
    /// rx.try_recv().unwrap();
    /// assert!(tx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits until every receiver is gone; returns at once if none is alive now.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: it only waits, and dropping it changes nothing.
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use runtime_primitives::broadcast;
    ///
    /// let (tx, mut rx) = broadcast::channel(1);
    /// tx.send(5).unwrap();
    /// let listener = std::thread::spawn(move || rx.recv_blocking());
    /// block_on(tx.closed());
    /// assert_eq!(listener.join().unwrap(), Ok(5));
    /// ```
    pub fn closed(&self) -> Closed<'_, T> {
        Closed {
            shared: &self.shared,
            node: Waiter::new(()),
        }
    }

    /// Whether both senders belong to one channel.
    ///
    /// ```
    /// use runtime_primitives::broadcast;
    ///
    /// let (tx, _rx) = broadcast::channel::<u8>(1);
    /// let (other, _other_rx) = broadcast::channel::<u8>(1);
    /// assert!(tx.same_channel(&tx.clone()));
    /// assert!(!tx.same_channel(&other));
    /// ```
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.add_sender();
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.shared.drop_sender();
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Sender")
            .field("receivers", &self.receiver_count())
            .finish()
    }
}

// ===== impl Receiver =====

/// A receiving half of a [`broadcast`](self) channel: gets every message sent while it is
/// alive, as a clone. Made by [`channel`], [`Sender::subscribe`] or
/// [`Receiver::resubscribe`].
///
/// ```
/// use runtime_primitives::broadcast;
///
/// let (tx, mut rx) = broadcast::channel(4);
/// tx.send(String::from("hello")).unwrap();
/// assert_eq!(rx.try_recv().unwrap(), "hello");
/// ```
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// The position of the next message this receiver reads.
    next: u64,
}

impl<T: Clone> Receiver<T> {
    /// Receives the next message, waiting while there is none.
    ///
    /// Each receive that completes spends one unit of the task's cooperative budget.
    ///
    /// # Errors
    ///
    /// [`RecvError::Lagged(n)`](RecvError::Lagged) if this receiver missed `n` messages (they
    /// were overwritten); the next call returns the oldest message still held.
    /// [`RecvError::Closed`] once every sender is gone and this receiver read everything.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: the receiver moves past a message only when this returns it, so if the
    /// future is dropped the next `recv` returns the same message.
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use runtime_primitives::broadcast;
    ///
    /// let (tx, mut rx) = broadcast::channel(4);
    /// let sender = std::thread::spawn(move || tx.send(42).unwrap());
    /// assert_eq!(block_on(rx.recv()), Ok(42));
    /// sender.join().unwrap();
    /// ```
    pub fn recv(&mut self) -> Recv<'_, T> {
        Recv {
            receiver: self,
            node: Waiter::new(()),
        }
    }

    /// Takes the next message if there is one, without waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] if nothing new was sent, [`TryRecvError::Lagged`] and
    /// [`TryRecvError::Closed`] as for [`recv`](Receiver::recv).
    ///
    /// ```
    /// use runtime_primitives::broadcast::{self, TryRecvError};
    ///
    /// let (tx, mut rx) = broadcast::channel(2);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// for i in 0..5 {
    ///     tx.send(i).unwrap();
    /// }
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Lagged(3)));
    /// assert_eq!(rx.try_recv(), Ok(3));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.shared.try_recv(&mut self.next)
    }

    /// Receives from synchronous code, parking the OS thread while there is no message.
    ///
    /// # Errors
    ///
    /// As [`recv`](Receiver::recv).
    ///
    /// # Panics
    ///
    /// On a runtime worker thread, where parking would stall every task on it: use
    /// [`recv`](Receiver::recv)`.await` there, or call this from `spawn_blocking`.
    ///
    /// ```
    /// use runtime_primitives::broadcast;
    ///
    /// let (tx, mut rx) = broadcast::channel(1);
    /// std::thread::spawn(move || tx.send("ping").unwrap());
    /// assert_eq!(rx.recv_blocking(), Ok("ping"));
    /// ```
    #[track_caller]
    pub fn recv_blocking(&mut self) -> Result<T, RecvError> {
        hooks::assert_can_block(
            "broadcast::Receiver::recv_blocking",
            "receiver.recv().await",
        );
        match self.try_recv() {
            Ok(value) => Ok(value),
            Err(TryRecvError::Closed) => Err(RecvError::Closed),
            Err(TryRecvError::Lagged(n)) => Err(RecvError::Lagged(n)),
            Err(TryRecvError::Empty) => block_on_thread(self.recv()),
        }
    }
}

impl<T> Receiver<T> {
    /// A new receiver of the same channel, starting at the tail: it gets the messages sent
    /// from now on, not those this one has yet to read.
    ///
    /// ```
    /// use runtime_primitives::broadcast::{self, TryRecvError};
    ///
    /// let (tx, rx) = broadcast::channel(4);
    /// tx.send(1).unwrap();
    /// let mut fresh = rx.resubscribe();
    /// assert_eq!(fresh.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(2).unwrap();
    /// assert_eq!(fresh.try_recv(), Ok(2));
    /// ```
    pub fn resubscribe(&self) -> Receiver<T> {
        let next = self.shared.subscribe();
        Receiver {
            shared: self.shared.clone(),
            next,
        }
    }

    /// How many messages were sent that this receiver has not read yet (a snapshot). Above
    /// the capacity, the next receive reports a lag.
    ///
    /// ```
    /// use runtime_primitives::broadcast;
    ///
    /// let (tx, rx) = broadcast::channel(4);
    /// tx.send(1).unwrap();
    /// tx.send(2).unwrap();
    /// assert_eq!(rx.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.shared.pending_from(self.next)
    }

    /// Whether this receiver has read everything sent so far (a snapshot).
    ///
    /// ```
    /// use runtime_primitives::broadcast;
    ///
    /// let (_tx, rx) = broadcast::channel::<u8>(4);
    /// assert!(rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether every sender is gone (messages may still be left to read).
    ///
    /// ```
    /// use runtime_primitives::broadcast;
    ///
    /// let (tx, rx) = broadcast::channel::<u8>(4);
    /// drop(tx);
    /// assert!(rx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// How many senders are alive (a snapshot).
    ///
    /// ```
    /// use runtime_primitives::broadcast;
    ///
    /// let (tx, rx) = broadcast::channel::<u8>(4);
    /// let _tx2 = tx.clone();
    /// assert_eq!(rx.sender_count(), 2);
    /// ```
    pub fn sender_count(&self) -> usize {
        self.shared.sender_count()
    }

    /// How many receivers are alive (a snapshot).
    ///
    /// ```
    /// use runtime_primitives::broadcast;
    ///
    /// let (_tx, rx) = broadcast::channel::<u8>(4);
    /// let _rx2 = rx.resubscribe();
    /// assert_eq!(rx.receiver_count(), 2);
    /// ```
    pub fn receiver_count(&self) -> usize {
        self.shared.receiver_count()
    }

    /// Whether both receivers belong to one channel.
    ///
    /// ```
    /// use runtime_primitives::broadcast;
    ///
    /// let (_tx, rx) = broadcast::channel::<u8>(4);
    /// assert!(rx.same_channel(&rx.resubscribe()));
    /// ```
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.shared.drop_receiver(self.next);
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Receiver")
            .field("next", &self.next)
            .field("closed", &self.is_closed())
            .finish()
    }
}

// ===== futures =====

/// One receive attempt as the waiter protocol wants it: `None` means "would wait".
fn attempt<T: Clone>(shared: &Shared<T>, next: &mut u64) -> Option<Result<T, RecvError>> {
    match shared.try_recv(next) {
        Ok(value) => Some(Ok(value)),
        Err(TryRecvError::Lagged(n)) => Some(Err(RecvError::Lagged(n))),
        Err(TryRecvError::Closed) => Some(Err(RecvError::Closed)),
        Err(TryRecvError::Empty) => None,
    }
}

/// The future of [`Receiver::recv`]. Cancel-safe.
///
/// ```
/// use futures::executor::block_on;
/// use runtime_primitives::broadcast;
///
/// let (tx, mut rx) = broadcast::channel(1);
/// tx.send(1).unwrap();
/// let recv: broadcast::Recv<'_, i32> = rx.recv();
/// assert_eq!(block_on(recv), Ok(1));
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Recv<'a, T> {
    receiver: &'a mut Receiver<T>,
    node: Waiter<()>,
}

impl<T: Clone> Future for Recv<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `node` is structurally pinned (never moved out; `Drop` withdraws it); the
        // receiver is behind a reference, which may move freely.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: as above: `node` stays where it is until `Drop`.
        let node = unsafe { Pin::new_unchecked(&this.node) };
        let Receiver { shared, next } = &mut *this.receiver;
        let shared: &Shared<T> = shared;
        shared
            .recv_waiters
            .poll_wait(node, cx, || attempt(shared, next))
    }
}

impl<T> Drop for Recv<'_, T> {
    fn drop(&mut self) {
        self.receiver.shared.recv_waiters.cancel(&self.node);
    }
}

impl<T> fmt::Debug for Recv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Recv")
            .field("node", &self.node)
            .finish()
    }
}

/// The future of [`Sender::closed`].
///
/// ```
/// use futures::executor::block_on;
/// use runtime_primitives::broadcast;
///
/// let (tx, rx) = broadcast::channel::<u8>(1);
/// drop(rx);
/// let closed: broadcast::Closed<'_, u8> = tx.closed();
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
        shared
            .closed_waiters
            .poll_wait(node, cx, || shared.receivers_gone().then_some(()))
    }
}

impl<T> Drop for Closed<'_, T> {
    fn drop(&mut self) {
        self.shared.closed_waiters.cancel(&self.node);
    }
}

impl<T> fmt::Debug for Closed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Closed")
            .field("node", &self.node)
            .finish()
    }
}

// Compile-time checks of the auto traits users rely on: receivers clone one message on
// several threads at once, so the handles need `T: Send + Sync`.
#[allow(dead_code)]
fn _assert_auto_traits() {
    fn send_sync<T: core::marker::Send + Sync>() {}
    fn unpin<T: Unpin>() {}
    send_sync::<Sender<String>>();
    send_sync::<Receiver<String>>();
    send_sync::<Recv<'static, String>>();
    send_sync::<Closed<'static, String>>();
    unpin::<Receiver<core::marker::PhantomPinned>>();
}

#[cfg(all(test, not(runtime_loom)))]
mod tests;

#[cfg(all(test, runtime_loom))]
mod loom_tests;
