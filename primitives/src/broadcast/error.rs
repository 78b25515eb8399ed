//! The errors of a broadcast channel. The sending error gives the value back.

use core::fmt;

/// The error of [`Sender::send`](super::Sender::send): no receiver is alive, and here is
/// the value.
///
/// ```
/// use runtime_primitives::broadcast::{self, SendError};
///
/// let (tx, rx) = broadcast::channel(4);
/// drop(rx);
/// assert_eq!(tx.send("nobody listens"), Err(SendError("nobody listens")));
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SendError<T>(pub T);

impl<T> SendError<T> {
    /// The value that was not sent.
    ///
    /// ```
    /// use runtime_primitives::broadcast::SendError;
    ///
    /// assert_eq!(SendError(3).into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

// As the channel's errors: `Debug` without `T: Debug`, so `unwrap` works for any message.
impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("broadcasting on a channel with no receiver")
    }
}

impl<T> std::error::Error for SendError<T> {}

/// The error of [`Receiver::recv`](super::Receiver::recv) and
/// [`recv_blocking`](super::Receiver::recv_blocking).
///
/// ```
/// use futures::executor::block_on;
/// use runtime_primitives::broadcast::{self, RecvError};
///
/// let (tx, mut rx) = broadcast::channel(2);
/// for i in 0..3 {
///     tx.send(i).unwrap();
/// }
/// drop(tx);
/// assert_eq!(block_on(rx.recv()), Err(RecvError::Lagged(1))); // 0 was overwritten
/// assert_eq!(block_on(rx.recv()), Ok(1));
/// assert_eq!(block_on(rx.recv()), Ok(2));
/// assert_eq!(block_on(rx.recv()), Err(RecvError::Closed));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecvError {
    /// Every sender is gone and this receiver has read everything it was sent.
    Closed,
    /// This receiver fell behind by more than the capacity: it missed this many messages,
    /// and the next receive returns the oldest message still held.
    Lagged(u64),
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvError::Closed => f.write_str("receiving on a closed broadcast channel"),
            RecvError::Lagged(n) => write!(f, "the receiver lagged behind and missed {n} messages"),
        }
    }
}

impl std::error::Error for RecvError {}

/// The error of [`Receiver::try_recv`](super::Receiver::try_recv).
///
/// ```
/// use runtime_primitives::broadcast::{self, TryRecvError};
///
/// let (tx, mut rx) = broadcast::channel::<u8>(1);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// drop(tx);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing new now; a message may still come.
    Empty,
    /// Every sender is gone and everything was read.
    Closed,
    /// Missed this many messages; the next receive returns the oldest still held.
    Lagged(u64),
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("no new message on the broadcast channel"),
            TryRecvError::Closed => f.write_str("receiving on a closed broadcast channel"),
            TryRecvError::Lagged(n) => {
                write!(f, "the receiver lagged behind and missed {n} messages")
            }
        }
    }
}

impl std::error::Error for TryRecvError {}
