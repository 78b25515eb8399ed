//! The errors of a channel. Sending errors give the value back.

use core::fmt;

/// The error of [`Sender::send`](super::Sender::send) and
/// [`send_blocking`](super::Sender::send_blocking): the channel is closed, and here is the
/// value that was not sent.
///
/// ```
/// use futures::executor::block_on;
/// use runtime_primitives::channel::{self, SendError};
///
/// let (tx, rx) = channel::bounded(1);
/// drop(rx);
/// let SendError(value) = block_on(tx.send(String::from("unsent"))).unwrap_err();
/// assert_eq!(value, "unsent");
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SendError<T>(pub T);

impl<T> SendError<T> {
    /// The value that was not sent.
    ///
    /// ```
    /// use runtime_primitives::channel::SendError;
    ///
    /// assert_eq!(SendError(3).into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

// Like std's channel errors, `Debug` does not need `T: Debug`, so `?` and `unwrap` work for
// any message type.
impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sending on a closed channel")
    }
}

impl<T> std::error::Error for SendError<T> {}

/// The error of [`Sender::try_send`](super::Sender::try_send) (and, with `T = ()`, of
/// [`try_reserve`](super::Sender::try_reserve)): the value comes back either way.
///
/// ```
/// use runtime_primitives::channel::{self, TrySendError};
///
/// let (tx, rx) = channel::bounded(1);
/// tx.try_send(1).unwrap();
/// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
/// drop(rx);
/// assert_eq!(tx.try_send(3), Err(TrySendError::Closed(3)));
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// The channel is full (bounded channels only); it may have room later.
    Full(T),
    /// The channel is closed; no send will ever succeed.
    Closed(T),
}

impl<T> TrySendError<T> {
    /// The value that was not sent.
    ///
    /// ```
    /// use runtime_primitives::channel::TrySendError;
    ///
    /// assert_eq!(TrySendError::Full(7).into_inner(), 7);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(value) | TrySendError::Closed(value) => value,
        }
    }

    /// Whether the channel was full.
    ///
    /// ```
    /// use runtime_primitives::channel::TrySendError;
    ///
    /// assert!(TrySendError::Full(()).is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        matches!(self, TrySendError::Full(_))
    }

    /// Whether the channel was closed.
    ///
    /// ```
    /// use runtime_primitives::channel::TrySendError;
    ///
    /// assert!(TrySendError::Closed(()).is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, TrySendError::Closed(_))
    }
}

impl<T> From<SendError<T>> for TrySendError<T> {
    fn from(err: SendError<T>) -> Self {
        TrySendError::Closed(err.0)
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TrySendError::Full(_) => "Full(..)",
            TrySendError::Closed(_) => "Closed(..)",
        })
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TrySendError::Full(_) => "sending on a full channel",
            TrySendError::Closed(_) => "sending on a closed channel",
        })
    }
}

impl<T> std::error::Error for TrySendError<T> {}

/// The error of [`Receiver::recv`](super::Receiver::recv) and
/// [`recv_blocking`](super::Receiver::recv_blocking): the channel is closed and everything
/// sent before the close was received.
///
/// ```
/// use futures::executor::block_on;
/// use runtime_primitives::channel::{self, RecvError};
///
/// let (tx, rx) = channel::unbounded();
/// tx.try_send(1).unwrap();
/// drop(tx);
/// assert_eq!(block_on(rx.recv()), Ok(1));
/// assert_eq!(block_on(rx.recv()), Err(RecvError));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvError;

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("receiving on a closed and empty channel")
    }
}

impl std::error::Error for RecvError {}

/// The error of [`Receiver::try_recv`](super::Receiver::try_recv).
///
/// ```
/// use runtime_primitives::channel::{self, TryRecvError};
///
/// let (tx, rx) = channel::bounded::<u8>(1);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// drop(tx);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing queued now; a value may still come.
    Empty,
    /// Closed and drained: nothing will ever come.
    Closed,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryRecvError::Empty => "receiving on an empty channel",
            TryRecvError::Closed => "receiving on a closed and empty channel",
        })
    }
}

impl std::error::Error for TryRecvError {}

/// The error of [`Queue::task_done`](super::Queue::task_done): every item received from the
/// queue was already marked done, so this call has no item to finish (Python raises
/// `ValueError` here). The count is left as it was.
///
/// ```
/// use runtime_primitives::channel::{Queue, TaskDoneError};
///
/// let queue = Queue::<u8>::unbounded();
/// assert_eq!(queue.task_done(), Err(TaskDoneError));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskDoneError;

impl fmt::Display for TaskDoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task_done() called more times than items were received")
    }
}

impl std::error::Error for TaskDoneError {}
