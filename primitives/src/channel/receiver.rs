//! The receiving end: [`Receiver`], its future, and its `Stream` implementation.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::stream::{FusedStream, Stream};

use super::chan::Chan;
use super::error::{RecvError, TryRecvError};
use super::outcome::PopError;
use crate::hooks;
use crate::loom::Arc;
use crate::thread_waker::block_on_thread;
use crate::waiter_list::Waiter;

/// The receiving end of a [`bounded`](super::bounded) or [`unbounded`](super::unbounded)
/// channel. Cheap to clone (every clone competes for the same values: each value goes to one
/// receiver); every method takes `&self`. It is also a [`Stream`] of the values, which ends
/// when the channel is closed and drained.
///
/// Dropping the last receiver closes the channel and drops whatever is still queued.
///
/// ```
/// use futures::executor::block_on;
/// use futures::StreamExt;
/// use runtime_primitives::channel;
///
/// let (tx, rx) = channel::unbounded();
/// for word in ["to", "be", "or"] {
///     tx.try_send(word).unwrap();
/// }
/// drop(tx);
/// let words: Vec<_> = block_on(rx.collect());
/// assert_eq!(words, ["to", "be", "or"]);
/// ```
pub struct Receiver<T> {
    pub(super) chan: Arc<Chan<T>>,
    /// The waiter node of the `Stream` implementation, allocated on first use (a `Stream` is
    /// polled through `&mut self`, with no future to hold the node).
    stream_node: Option<Pin<Box<Waiter<()>>>>,
    /// The stream returned `None`.
    stream_done: bool,
}

impl<T> Receiver<T> {
    pub(super) fn new(chan: Arc<Chan<T>>) -> Receiver<T> {
        Receiver {
            chan,
            stream_node: None,
            stream_done: false,
        }
    }

    /// Receives the oldest value, waiting while the channel is empty.
    ///
    /// Each receive that completes spends one unit of the task's cooperative budget, so a
    /// loop over a channel that is always full still yields to other tasks on this runtime.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the channel is closed and everything sent before the close (and by
    /// permits taken before it) was received.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: dropping the future loses no value, and if it had been woken for a value
    /// it passes the wake-up on to the next waiting receiver.
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use runtime_primitives::channel;
    ///
    /// let (tx, rx) = channel::bounded(2);
    /// let producer = std::thread::spawn(move || tx.send_blocking(10).unwrap());
    /// assert_eq!(block_on(rx.recv()), Ok(10));
    /// producer.join().unwrap();
    /// ```
    pub fn recv(&self) -> Recv<'_, T> {
        Recv {
            receiver: self,
            node: Waiter::new(()),
        }
    }

    /// Takes the oldest value if there is one, without waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] if nothing is queued now, [`TryRecvError::Closed`] if the
    /// channel is closed and drained.
    ///
    /// ```
    /// use runtime_primitives::channel::{self, TryRecvError};
    ///
    /// let (tx, rx) = channel::bounded(1);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.try_send(5).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(5));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.chan.try_pop().map_err(|err| match err {
            PopError::Empty => TryRecvError::Empty,
            PopError::Closed => TryRecvError::Closed,
        })
    }

    /// Receives from synchronous code, parking the OS thread while the channel is empty.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the channel is closed and drained.
    ///
    /// # Panics
    ///
    /// On a runtime worker thread, where parking would stall every task on it: use
    /// [`recv`](Receiver::recv)`.await` there, or call this from `spawn_blocking`.
    ///
    /// ```
    /// use runtime_primitives::channel;
    ///
    /// let (tx, rx) = channel::unbounded();
    /// std::thread::spawn(move || tx.try_send("ping").unwrap());
    /// assert_eq!(rx.recv_blocking(), Ok("ping"));
    /// ```
    #[track_caller]
    pub fn recv_blocking(&self) -> Result<T, RecvError> {
        hooks::assert_can_block("channel::Receiver::recv_blocking", "receiver.recv().await");
        match self.try_recv() {
            Ok(value) => Ok(value),
            Err(TryRecvError::Closed) => Err(RecvError),
            Err(TryRecvError::Empty) => block_on_thread(self.recv()),
        }
    }

    /// Closes the channel for every handle, as [`Sender::close`](super::Sender::close):
    /// senders fail from now on and wake; values already queued can still be received.
    /// Returns `true` if this call closed it.
    ///
    /// ```
    /// use runtime_primitives::channel::{self, TrySendError};
    ///
    /// let (tx, rx) = channel::bounded(4);
    /// tx.try_send(1).unwrap();
    /// rx.close();
    /// assert_eq!(tx.try_send(2), Err(TrySendError::Closed(2)));
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn close(&self) -> bool {
        self.chan.close()
    }

    /// Whether the channel is closed (values may still be queued).
    ///
    /// ```
    /// use runtime_primitives::channel;
    ///
    /// let (tx, rx) = channel::bounded::<u8>(1);
    /// drop(tx);
    /// assert!(rx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// How many values are queued: a snapshot, like Python's `Queue.qsize()`.
    ///
    /// ```
    /// use runtime_primitives::channel;
    ///
    /// let (tx, rx) = channel::unbounded();
    /// tx.try_send(1).unwrap();
    /// tx.try_send(2).unwrap();
    /// assert_eq!(rx.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// Whether nothing is queued (a snapshot).
    ///
    /// ```
    /// use runtime_primitives::channel;
    ///
    /// let (_tx, rx) = channel::bounded::<u8>(1);
    /// assert!(rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bound of a bounded channel; `None` for an unbounded one.
    ///
    /// ```
    /// use runtime_primitives::channel;
    ///
    /// assert_eq!(channel::bounded::<u8>(3).1.capacity(), Some(3));
    /// ```
    pub fn capacity(&self) -> Option<usize> {
        self.chan.capacity()
    }

    /// How many senders are alive (a snapshot).
    ///
    /// ```
    /// use runtime_primitives::channel;
    ///
    /// let (tx, rx) = channel::bounded::<u8>(1);
    /// drop(tx);
    /// assert_eq!(rx.sender_count(), 0);
    /// ```
    pub fn sender_count(&self) -> usize {
        self.chan.sender_count()
    }

    /// How many receivers are alive (a snapshot).
    ///
    /// ```
    /// use runtime_primitives::channel;
    ///
    /// let (_tx, rx) = channel::bounded::<u8>(1);
    /// let rx2 = rx.clone();
    /// assert_eq!(rx2.receiver_count(), 2);
    /// ```
    pub fn receiver_count(&self) -> usize {
        self.chan.receiver_count()
    }
}

/// One receive attempt, as the waiter protocol wants it: `None` means "would wait".
fn attempt<T>(chan: &Chan<T>) -> Option<Result<T, RecvError>> {
    match chan.try_pop() {
        Ok(value) => Some(Ok(value)),
        Err(PopError::Closed) => Some(Err(RecvError)),
        Err(PopError::Empty) => None,
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.chan.add_receiver();
        Receiver::new(self.chan.clone())
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if let Some(node) = &self.stream_node {
            self.chan.recv_waiters.cancel(node);
        }
        self.chan.drop_receiver();
    }
}

impl<T> Stream for Receiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        if this.stream_done {
            return Poll::Ready(None);
        }
        let node = this
            .stream_node
            .get_or_insert_with(|| Box::pin(Waiter::new(())));
        let chan = &this.chan;
        let poll = chan
            .recv_waiters
            .poll_wait(node.as_ref(), cx, || attempt(chan));
        let Poll::Ready(result) = poll else {
            return Poll::Pending;
        };
        this.stream_done = result.is_err();
        Poll::Ready(result.ok())
    }
}

impl<T> FusedStream for Receiver<T> {
    fn is_terminated(&self) -> bool {
        self.stream_done
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The future of [`Receiver::recv`]. Cancel-safe.
///
/// ```
/// use futures::executor::block_on;
/// use runtime_primitives::channel;
///
/// let (tx, rx) = channel::bounded(1);
/// tx.try_send(1).unwrap();
/// let recv: channel::Recv<'_, i32> = rx.recv();
/// assert_eq!(block_on(recv), Ok(1));
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Recv<'a, T> {
    receiver: &'a Receiver<T>,
    node: Waiter<()>,
}

impl<T> Future for Recv<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let receiver: &Receiver<T> = self.receiver;
        let chan = &receiver.chan;
        // SAFETY: `node` is structurally pinned (never moved; `Drop` withdraws it).
        let node = unsafe { self.as_ref().map_unchecked(|this| &this.node) };
        chan.recv_waiters.poll_wait(node, cx, || attempt(chan))
    }
}

impl<T> Drop for Recv<'_, T> {
    fn drop(&mut self) {
        self.receiver.chan.recv_waiters.cancel(&self.node);
    }
}

impl<T> fmt::Debug for Recv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recv").field("node", &self.node).finish()
    }
}
