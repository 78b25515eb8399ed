//! The unbounded flavor's queue: the shared lock-free [`SegQueue`] (a linked list of blocks
//! of slots), plus reservations (the [`Permit`](super::Permit)s out).
//!
//! The queue's close mark is the channel's: plain sends fail after it, a permit's send
//! still lands (a permit is a promise). Reservations never wait here, but they count: after
//! `close`, receivers see the end only when the queue is empty *and* `reserved` is zero,
//! since a permit taken before the close may still send.

use super::outcome::{PopError, PushError};
use crate::internal::SegQueue;
use crate::loom::atomic::{fence, AtomicUsize, Ordering};

pub(crate) struct List<T> {
    queue: SegQueue<T>,
    /// Permits out (see the module docs).
    reserved: AtomicUsize,
}

impl<T> List<T> {
    pub(crate) fn new() -> List<T> {
        List {
            queue: SegQueue::new(),
            reserved: AtomicUsize::new(0),
        }
    }

    /// Sends `value` unless the list is closed.
    pub(crate) fn push(&self, value: T) -> Result<(), PushError<T>> {
        self.queue.push_if_open(value).map_err(PushError::Closed)
    }

    /// Takes the oldest value, or says why there is none.
    pub(crate) fn pop(&self) -> Result<T, PopError> {
        match self.queue.pop() {
            Some(value) => Ok(value),
            None if self.queue.is_closed() && self.drained() => Err(PopError::Closed),
            None => Err(PopError::Empty),
        }
    }

    /// For a closed list that looked empty: true if no permit is out and it is still empty
    /// (a permit's send lands before its count is given back, so with the count at zero after
    /// the close no send is left to come).
    fn drained(&self) -> bool {
        self.reserved.load(Ordering::SeqCst) == 0 && self.queue.is_empty()
    }

    /// Counts a permit. The caller checks `is_closed` after this and gives it back if so.
    pub(crate) fn add_reservation(&self) {
        self.reserved.fetch_add(1, Ordering::SeqCst);
    }

    /// Sends a permit's value; returns whether the list is now closed with no permit out.
    pub(crate) fn push_reserved(&self, value: T) -> bool {
        self.queue.push(value);
        self.unreserve()
    }

    /// Gives a permit back; returns whether the list is now closed with no permit out.
    pub(crate) fn unreserve(&self) -> bool {
        let prev = self.reserved.fetch_sub(1, Ordering::SeqCst);
        debug_assert!(prev > 0);
        // Store-buffering pair with `close` then a receiver's check of `reserved`: either it
        // sees the count drop, or we see the close and wake it.
        fence(Ordering::SeqCst);
        prev == 1 && self.is_closed()
    }

    /// Sets the closed mark; returns whether this call set it.
    pub(crate) fn close(&self) -> bool {
        self.queue.close()
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.queue.is_closed()
    }

    /// How many values are queued (a snapshot).
    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }
}

#[cfg(all(test, not(runtime_loom)))]
mod tests {
    use super::*;

    #[test]
    fn crosses_many_blocks_in_order_and_counts() {
        let list = List::new();
        for i in 0..1000 {
            list.push(i).expect("open");
        }
        assert_eq!(list.len(), 1000);
        for i in 0..600 {
            assert_eq!(list.pop().ok(), Some(i));
        }
        assert_eq!(list.len(), 400);
        assert!(list.close());
        assert!(matches!(list.push(0), Err(PushError::Closed(0))));
        for i in 600..1000 {
            assert_eq!(list.pop().ok(), Some(i));
        }
        assert_eq!(list.pop().err(), Some(PopError::Closed));
    }

    #[test]
    fn a_permit_out_keeps_a_closed_list_open_for_receivers() {
        let list = List::new();
        list.add_reservation();
        list.close();
        assert_eq!(list.pop().err(), Some(PopError::Empty));
        assert!(list.push_reserved(5));
        assert_eq!(list.pop().ok(), Some(5));
        assert_eq!(list.pop().err(), Some(PopError::Closed));
    }
}
