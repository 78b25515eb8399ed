//! The results of the two lock-free queues under a channel (the bounded ring and the
//! unbounded list).

/// Why a push did not land; the value comes back.
#[derive(Debug)]
pub(crate) enum PushError<T> {
    /// No room (bounded only), counting reserved slots.
    Full(T),
    /// The channel is closed.
    Closed(T),
}

/// Why a pop found nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PopError {
    /// Nothing queued now; more may come.
    Empty,
    /// Closed, drained, and no permit is out: nothing will ever come.
    Closed,
}
