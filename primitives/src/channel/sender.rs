//! The sending end: [`Sender`], its futures, and the permits of [`Sender::reserve`].

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use super::chan::Chan;
use super::error::{SendError, TrySendError};
use super::outcome::PushError;
use crate::hooks;
use crate::loom::Arc;
use crate::thread_waker::block_on_thread;
use crate::waiter_list::Waiter;

/// The sending end of a [`bounded`](super::bounded) or [`unbounded`](super::unbounded)
/// channel. Cheap to clone; every method takes `&self`, so one sender can be shared.
///
/// The channel closes when the last `Sender` is dropped (receivers then drain what is
/// queued), when any handle calls [`close`](Sender::close), or when the last
/// [`Receiver`](super::Receiver) is dropped.
///
/// ```
/// use futures::executor::block_on;
/// use runtime_primitives::channel;
///
/// let (tx, rx) = channel::bounded(8);
/// let workers: Vec<_> = (0..4)
///     .map(|id| {
///         let tx = tx.clone();
///         std::thread::spawn(move || tx.send_blocking(id).unwrap())
///     })
///     .collect();
/// drop(tx);
/// let mut ids: Vec<u32> = block_on(async {
///     let mut ids = Vec::new();
///     while let Ok(id) = rx.recv().await {
///         ids.push(id);
///     }
///     ids
/// });
/// ids.sort();
/// assert_eq!(ids, [0, 1, 2, 3]);
/// # for w in workers { w.join().unwrap(); }
/// ```
pub struct Sender<T> {
    pub(super) chan: Arc<Chan<T>>,
}

impl<T> Sender<T> {
    /// Sends `value`, waiting while a bounded channel is full.
    ///
    /// Each send that completes spends one unit of the task's cooperative budget, so a loop
    /// that always finds room still yields to other tasks on this runtime.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if the channel is closed (now, or while waiting).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes drops `value`: it was not sent, and nothing
    /// else is lost. To send under a timeout without losing the value, reserve first:
    /// `tx.reserve().await?.send(value)` (the reservation is cancel-safe, and `Permit::send`
    /// never waits).
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use runtime_primitives::channel;
    ///
    /// let (tx, rx) = channel::bounded(1);
    /// block_on(async {
    ///     tx.send("hello").await.unwrap();
    ///     assert_eq!(rx.recv().await, Ok("hello"));
    /// });
    /// ```
    pub fn send(&self, value: T) -> Send<'_, T> {
        Send {
            sender: self,
            value: Some(value),
            node: Waiter::new(()),
        }
    }

    /// Sends `value` if there is room now, without waiting.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] if a bounded channel has no free slot (slots held by permits
    /// count as taken), [`TrySendError::Closed`] if it is closed; both give the value back.
    ///
    /// ```
    /// use runtime_primitives::channel::{self, TrySendError};
    ///
    /// let (tx, _rx) = channel::bounded(1);
    /// assert_eq!(tx.try_send('a'), Ok(()));
    /// assert_eq!(tx.try_send('b'), Err(TrySendError::Full('b')));
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.chan.try_push(value).map_err(|err| match err {
            PushError::Full(value) => TrySendError::Full(value),
            PushError::Closed(value) => TrySendError::Closed(value),
        })
    }

    /// Sends `value` from synchronous code, parking the OS thread while the channel is full.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if the channel is closed.
    ///
    /// # Panics
    ///
    /// On a runtime worker thread, where parking would stall every task on it: use
    /// [`send`](Sender::send)`.await` there, or call this from `spawn_blocking`.
    ///
    /// ```
    /// use runtime_primitives::channel;
    ///
    /// let (tx, rx) = channel::bounded(1);
    /// let producer = std::thread::spawn(move || {
    ///     for i in 0..3 {
    ///         tx.send_blocking(i).unwrap();
    ///     }
    /// });
    /// assert_eq!(rx.recv_blocking(), Ok(0));
    /// assert_eq!(rx.recv_blocking(), Ok(1));
    /// assert_eq!(rx.recv_blocking(), Ok(2));
    /// producer.join().unwrap();
    /// ```
    #[track_caller]
    pub fn send_blocking(&self, value: T) -> Result<(), SendError<T>> {
        hooks::assert_can_block("channel::Sender::send_blocking", "sender.send(value).await");
        match self.try_send(value) {
            Ok(()) => Ok(()),
            Err(TrySendError::Closed(value)) => Err(SendError(value)),
            Err(TrySendError::Full(value)) => block_on_thread(self.send(value)),
        }
    }

    /// Waits for a free slot and holds it: the returned [`Permit`] sends without waiting and
    /// without failing.
    ///
    /// This is the cancel-safe way to send under a timeout or in a `select!`: nothing is lost
    /// if the reservation is dropped, and the value is only handed over once a slot is held.
    /// On an unbounded channel it is ready at once.
    ///
    /// # Errors
    ///
    /// `SendError(())` if the channel is closed.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: dropping the future loses nothing (a slot it was woken for goes to the
    /// next waiting sender).
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use runtime_primitives::channel;
    ///
    /// let (tx, rx) = channel::bounded(1);
    /// block_on(async {
    ///     let permit = tx.reserve().await.unwrap();
    ///     // ... compute the value, knowing there is room for it ...
    ///     permit.send(42);
    ///     assert_eq!(rx.recv().await, Ok(42));
    /// });
    /// ```
    pub fn reserve(&self) -> Reserve<'_, T> {
        Reserve {
            sender: self,
            node: Waiter::new(()),
        }
    }

    /// Takes a [`Permit`] if a slot is free now, without waiting.
    ///
    /// # Errors
    ///
    /// `TrySendError::Full(())` or `TrySendError::Closed(())`.
    ///
    /// ```
    /// use runtime_primitives::channel::{self, TrySendError};
    ///
    /// let (tx, rx) = channel::bounded::<u8>(1);
    /// let permit = tx.try_reserve().unwrap();
    /// assert_eq!(tx.try_reserve().unwrap_err(), TrySendError::Full(()));
    /// drop(permit); // the slot is free again
    /// assert!(tx.try_reserve().is_ok());
    /// # drop(rx);
    /// ```
    pub fn try_reserve(&self) -> Result<Permit<'_, T>, TrySendError<()>> {
        match self.chan.try_reserve() {
            Ok(()) => Ok(Permit { sender: self }),
            Err(PushError::Full(())) => Err(TrySendError::Full(())),
            Err(PushError::Closed(())) => Err(TrySendError::Closed(())),
        }
    }

    /// As [`reserve`](Sender::reserve), but the permit owns the sender, so it can be moved
    /// into another task; [`OwnedPermit::send`] gives the sender back.
    ///
    /// # Errors
    ///
    /// `SendError(())` if the channel is closed (the sender is dropped).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe, as [`reserve`](Sender::reserve) (dropping it drops the sender).
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use runtime_primitives::channel;
    ///
    /// let (tx, rx) = channel::bounded(1);
    /// let permit = block_on(tx.reserve_owned()).unwrap();
    /// let worker = std::thread::spawn(move || drop(permit.send(7)));
    /// assert_eq!(rx.recv_blocking(), Ok(7));
    /// worker.join().unwrap();
    /// ```
    pub fn reserve_owned(self) -> ReserveOwned<T> {
        ReserveOwned {
            sender: Some(self),
            node: Waiter::new(()),
        }
    }

    /// Closes the channel for every handle: sends fail from now on, waiting senders and
    /// receivers wake, and receivers drain what is queued (and what outstanding permits
    /// send) before they get [`RecvError`](super::RecvError). Returns `true` if this call
    /// closed it, `false` if it was already closed.
    ///
    /// ```
    /// use runtime_primitives::channel::{self, TryRecvError};
    ///
    /// let (tx, rx) = channel::unbounded();
    /// tx.try_send(1).unwrap();
    /// assert!(tx.close());
    /// assert!(tx.try_send(2).is_err());
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn close(&self) -> bool {
        self.chan.close()
    }

    /// Whether the channel is closed.
    ///
    /// ```
    /// use runtime_primitives::channel;
    ///
    /// let (tx, rx) = channel::bounded::<u8>(1);
    /// assert!(!tx.is_closed());
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// How many values are queued: a snapshot, already stale when it returns under
    /// contention (like Python's `Queue.qsize()`); use it for metrics, not for decisions.
    ///
    /// ```
    /// use runtime_primitives::channel;
    ///
    /// let (tx, _rx) = channel::bounded(4);
    /// tx.try_send(()).unwrap();
    /// assert_eq!(tx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// Whether nothing is queued (a snapshot, as [`len`](Sender::len)).
    ///
    /// ```
    /// use runtime_primitives::channel;
    ///
    /// let (tx, _rx) = channel::unbounded::<u8>();
    /// assert!(tx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bound of a bounded channel; `None` for an unbounded one.
    ///
    /// ```
    /// use runtime_primitives::channel;
    ///
    /// assert_eq!(channel::bounded::<u8>(16).0.capacity(), Some(16));
    /// assert_eq!(channel::unbounded::<u8>().0.capacity(), None);
    /// ```
    pub fn capacity(&self) -> Option<usize> {
        self.chan.capacity()
    }

    /// How many senders are alive (a snapshot).
    ///
    /// ```
    /// use runtime_primitives::channel;
    ///
    /// let (tx, _rx) = channel::bounded::<u8>(1);
    /// let tx2 = tx.clone();
    /// assert_eq!(tx2.sender_count(), 2);
    /// ```
    pub fn sender_count(&self) -> usize {
        self.chan.sender_count()
    }

    /// How many receivers are alive (a snapshot).
    ///
    /// ```
    /// use runtime_primitives::channel;
    ///
    /// let (tx, rx) = channel::bounded::<u8>(1);
    /// assert_eq!(tx.receiver_count(), 1);
    /// drop(rx);
    /// assert_eq!(tx.receiver_count(), 0);
    /// ```
    pub fn receiver_count(&self) -> usize {
        self.chan.receiver_count()
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.add_sender();
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish()
    }
}

// ===== futures =====

/// The future of [`Sender::send`]. Not cancel-safe for the value: dropping it drops the value
/// (see [`Sender::send`]).
///
/// ```
/// use futures::executor::block_on;
/// use runtime_primitives::channel;
///
/// let (tx, rx) = channel::bounded(1);
/// let send: channel::Send<'_, u8> = tx.send(1);
/// block_on(send).unwrap();
/// # drop(rx);
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Send<'a, T> {
    sender: &'a Sender<T>,
    value: Option<T>,
    node: Waiter<()>,
}

impl<T> Future for Send<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `node` is never moved out of the pinned future (it is pinned structurally,
        // and `Drop` withdraws it); `sender` and `value` are not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: as above.
        let node = unsafe { Pin::new_unchecked(&this.node) };
        let chan = &this.sender.chan;
        let slot = &mut this.value;
        chan.send_waiters.poll_wait(node, cx, || {
            let value = slot.take().expect("`Send` polled after it completed");
            match chan.try_push(value) {
                Ok(()) => Some(Ok(())),
                Err(PushError::Full(value)) => {
                    *slot = Some(value);
                    None
                }
                Err(PushError::Closed(value)) => Some(Err(SendError(value))),
            }
        })
    }
}

impl<T> Drop for Send<'_, T> {
    fn drop(&mut self) {
        self.sender.chan.send_waiters.cancel(&self.node);
    }
}

impl<T> fmt::Debug for Send<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Send")
            .field("sent", &self.value.is_none())
            .field("node", &self.node)
            .finish()
    }
}

/// The future of [`Sender::reserve`]: resolves to a [`Permit`]. Cancel-safe.
///
/// ```
/// use futures::executor::block_on;
/// use runtime_primitives::channel;
///
/// let (tx, _rx) = channel::bounded::<u8>(1);
/// let reserve: channel::Reserve<'_, u8> = tx.reserve();
/// let permit = block_on(reserve).unwrap();
/// permit.send(1);
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Reserve<'a, T> {
    sender: &'a Sender<T>,
    node: Waiter<()>,
}

impl<'a, T> Future for Reserve<'a, T> {
    type Output = Result<Permit<'a, T>, SendError<()>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let sender = self.sender;
        // SAFETY: `node` is structurally pinned (never moved; `Drop` withdraws it).
        let node = unsafe { self.as_ref().map_unchecked(|this| &this.node) };
        poll_reserve(&sender.chan, node, cx).map_ok(|()| Permit { sender })
    }
}

impl<T> Drop for Reserve<'_, T> {
    fn drop(&mut self) {
        self.sender.chan.send_waiters.cancel(&self.node);
    }
}

impl<T> fmt::Debug for Reserve<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reserve").field("node", &self.node).finish()
    }
}

/// The future of [`Sender::reserve_owned`]: resolves to an [`OwnedPermit`]. Cancel-safe.
///
/// ```
/// use futures::executor::block_on;
/// use runtime_primitives::channel;
///
/// let (tx, rx) = channel::bounded::<u8>(1);
/// let reserve: channel::ReserveOwned<u8> = tx.reserve_owned();
/// let tx = block_on(reserve).unwrap().send(5);
/// assert_eq!(rx.try_recv(), Ok(5));
/// # drop(tx);
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct ReserveOwned<T> {
    /// `None` once the future completed.
    sender: Option<Sender<T>>,
    node: Waiter<()>,
}

impl<T> Future for ReserveOwned<T> {
    type Output = Result<OwnedPermit<T>, SendError<()>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `node` is structurally pinned (never moved; `Drop` withdraws it); `sender`
        // is not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        let chan = &this
            .sender
            .as_ref()
            .expect("`ReserveOwned` polled after it completed")
            .chan;
        // SAFETY: as above.
        let node = unsafe { Pin::new_unchecked(&this.node) };
        poll_reserve(chan, node, cx).map(|result| {
            let sender = this.sender.take();
            result.map(|()| OwnedPermit { sender })
        })
    }
}

impl<T> Drop for ReserveOwned<T> {
    fn drop(&mut self) {
        if let Some(sender) = &self.sender {
            sender.chan.send_waiters.cancel(&self.node);
        }
    }
}

impl<T> fmt::Debug for ReserveOwned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReserveOwned")
            .field("node", &self.node)
            .finish()
    }
}

/// The poll of both reservation futures.
fn poll_reserve<T>(
    chan: &Chan<T>,
    node: Pin<&Waiter<()>>,
    cx: &mut Context<'_>,
) -> Poll<Result<(), SendError<()>>> {
    chan.send_waiters
        .poll_wait(node, cx, || match chan.try_reserve() {
            Ok(()) => Some(Ok(())),
            Err(PushError::Full(())) => None,
            Err(PushError::Closed(())) => Some(Err(SendError(()))),
        })
}

// ===== permits =====

/// A slot held in the channel by [`Sender::reserve`]: [`send`](Permit::send) fills it without
/// waiting and without failing. Dropping the permit unused frees the slot, also when a panic
/// drops it (there is no poisoning): a waiting sender gets the slot.
///
/// A permit taken before the channel closed can still send; receivers wait for it before
/// they report the end. If every receiver is gone the value is dropped with the channel.
///
/// ```
/// use runtime_primitives::channel;
///
/// let (tx, rx) = channel::bounded(1);
/// let permit = tx.try_reserve().unwrap();
/// rx.close();
/// permit.send("taken before the close");
/// assert_eq!(rx.try_recv(), Ok("taken before the close"));
/// ```
pub struct Permit<'a, T> {
    sender: &'a Sender<T>,
}

impl<T> Permit<'_, T> {
    /// Sends `value` into the held slot.
    ///
    /// ```
    /// use runtime_primitives::channel;
    ///
    /// let (tx, rx) = channel::bounded(1);
    /// tx.try_reserve().unwrap().send(1);
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn send(self, value: T) {
        let sender = self.sender;
        // The slot is used, not released: skip `Drop`.
        core::mem::forget(self);
        sender.chan.push_reserved(value);
    }
}

impl<T> Drop for Permit<'_, T> {
    fn drop(&mut self) {
        self.sender.chan.release_permit();
    }
}

impl<T> fmt::Debug for Permit<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit").finish_non_exhaustive()
    }
}

/// A [`Permit`] that owns its [`Sender`] (from [`Sender::reserve_owned`]).
///
/// ```
/// use runtime_primitives::channel;
///
/// let (tx, rx) = channel::bounded(1);
/// let permit = futures::executor::block_on(tx.reserve_owned()).unwrap();
/// let tx = permit.send(3); // the sender comes back
/// assert_eq!(rx.try_recv(), Ok(3));
/// # drop(tx);
/// ```
pub struct OwnedPermit<T> {
    /// `None` once used.
    sender: Option<Sender<T>>,
}

impl<T> OwnedPermit<T> {
    /// Sends `value` into the held slot and gives the sender back.
    ///
    /// ```
    /// use runtime_primitives::channel;
    ///
    /// let (tx, rx) = channel::unbounded();
    /// let permit = futures::executor::block_on(tx.reserve_owned()).unwrap();
    /// drop(permit.send('x'));
    /// assert_eq!(rx.try_recv(), Ok('x'));
    /// ```
    pub fn send(mut self, value: T) -> Sender<T> {
        let sender = self
            .sender
            .take()
            .expect("an unused permit holds its sender");
        sender.chan.push_reserved(value);
        sender
    }

    /// Gives the slot back unused and returns the sender.
    ///
    /// ```
    /// use runtime_primitives::channel;
    ///
    /// let (tx, _rx) = channel::bounded::<u8>(1);
    /// let permit = futures::executor::block_on(tx.reserve_owned()).unwrap();
    /// let tx = permit.release();
    /// assert!(tx.try_send(1).is_ok());
    /// ```
    pub fn release(mut self) -> Sender<T> {
        let sender = self
            .sender
            .take()
            .expect("an unused permit holds its sender");
        sender.chan.release_permit();
        sender
    }
}

impl<T> Drop for OwnedPermit<T> {
    fn drop(&mut self) {
        if let Some(sender) = &self.sender {
            sender.chan.release_permit();
        }
    }
}

impl<T> fmt::Debug for OwnedPermit<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedPermit").finish_non_exhaustive()
    }
}
