//! The bounded flavor's queue: a lock-free ring of `cap` slots, each with a stamp, plus
//! reservations (the slots held by [`Permit`](super::Permit)s).
//!
//! This is the array queue of Dmitry Vyukov and crossbeam's `ArrayQueue`: a send claims the
//! position at `tail` with one compare-exchange, writes the slot and publishes it through the
//! slot's stamp; a receive claims `head` the same way and frees the slot by stamping it with
//! the position it will have one lap later. The uncontended send and receive are one atomic
//! read-modify-write each, plus the slot write and a release store.
//!
//! # Positions
//!
//! A position is `lap * one_lap + index`, where `index < cap` picks the slot and
//! `one_lap = (cap + 1).next_power_of_two()`, so the lap and the index never share bits and
//! no division is needed. Positions wrap at `pos_mask + 1`, a multiple of `one_lap`. A slot's
//! stamp says where it stands for the position `p` whose index it has:
//!
//! | stamp | meaning |
//! |---|---|
//! | `p` | free: a send at `p` may write it |
//! | `p + 1` | written at `p`: a receive at `p` may read it |
//! | `p + one_lap` | read: free for the next lap |
//!
//! # The tail word
//!
//! `tail` packs three things so that one compare-exchange decides them together:
//! `pos << shift | reserved << 1 | CLOSED`.
//!
//! - `reserved`: slots promised to outstanding permits. A plain send must leave them free, so
//!   it claims `pos` only if the slot at `pos + reserved` is free (which means every slot
//!   between them was already claimed by a receiver of the previous lap). A permit's send
//!   claims `pos` and decrements `reserved` in one step, and may then briefly wait for the
//!   receiver that is still copying out the previous lap's value.
//! - `CLOSED`: set once by [`Ring::close`]; plain sends and new reservations fail after it,
//!   permit sends still land (a permit is a promise), and receivers see the end only once
//!   the ring is empty *and* no permit is out.

use core::mem::MaybeUninit;

use super::outcome::{PopError, PushError};
use crate::internal::{Backoff, CachePadded};
use crate::loom::atomic::{fence, AtomicU64, Ordering};
use crate::loom::UnsafeCell;

/// The `CLOSED` bit of the tail word.
const CLOSED: u64 = 1;

/// The largest capacity [`bounded`](super::bounded) accepts: the tail word must hold the
/// position (index and lap bits) and the reservation count side by side.
pub(crate) const MAX_CAPACITY: usize = 1 << 24;

/// One slot: the stamp that orders it, and the value.
struct Slot<T> {
    stamp: AtomicU64,
    value: UnsafeCell<MaybeUninit<T>>,
}

pub(crate) struct Ring<T> {
    head: CachePadded<AtomicU64>,
    tail: CachePadded<AtomicU64>,
    slots: Box<[Slot<T>]>,
    cap: u64,
    one_lap: u64,
    /// Where the position starts in the tail word.
    shift: u32,
    /// Positions wrap within these bits.
    pos_mask: u64,
}

// SAFETY: values move from the sending thread to the receiving one (`T: Send`); a slot's
// value is touched only by the one thread that claimed its position, between the claim and
// the stamp store, which orders it against the next user of the slot.
unsafe impl<T: Send> Send for Ring<T> {}
// SAFETY: as for `Send`: `&Ring` reaches a value only through a claimed position.
unsafe impl<T: Send> Sync for Ring<T> {}

impl<T> Ring<T> {
    /// A ring of `cap` slots; `0 < cap <= MAX_CAPACITY` (checked by the caller).
    pub(crate) fn new(cap: usize) -> Ring<T> {
        debug_assert!(cap > 0 && cap <= MAX_CAPACITY);
        let one_lap = (cap as u64 + 1).next_power_of_two();
        // `reserved <= cap < one_lap` fits in `log2(one_lap)` bits, above the `CLOSED` bit.
        let shift = one_lap.trailing_zeros() + 1;
        let slots = (0..cap as u64)
            .map(|i| Slot {
                stamp: AtomicU64::new(i),
                value: UnsafeCell::new(MaybeUninit::uninit()),
            })
            .collect();
        Ring {
            head: CachePadded::new(AtomicU64::new(0)),
            tail: CachePadded::new(AtomicU64::new(0)),
            slots,
            cap: cap as u64,
            one_lap,
            shift,
            pos_mask: u64::MAX >> shift,
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.cap as usize
    }

    // ===== position arithmetic =====

    fn pos(&self, tail: u64) -> u64 {
        tail >> self.shift
    }

    fn reserved(&self, tail: u64) -> u64 {
        (tail >> 1) & (self.one_lap - 1)
    }

    fn word(&self, pos: u64, reserved: u64, closed: u64) -> u64 {
        pos << self.shift | reserved << 1 | closed
    }

    fn slot(&self, pos: u64) -> &Slot<T> {
        &self.slots[(pos & (self.one_lap - 1)) as usize]
    }

    /// The position `n <= cap` steps after `pos`.
    fn advance(&self, pos: u64, n: u64) -> u64 {
        let index = (pos & (self.one_lap - 1)) + n;
        if index < self.cap {
            pos + n
        } else {
            let lap = pos & !(self.one_lap - 1);
            (lap.wrapping_add(self.one_lap) & self.pos_mask) + (index - self.cap)
        }
    }

    /// The same slot's position one lap later: the stamp of a slot just read.
    fn next_lap(&self, pos: u64) -> u64 {
        pos.wrapping_add(self.one_lap) & self.pos_mask
    }

    /// The same slot's position one lap earlier.
    fn prev_lap(&self, pos: u64) -> u64 {
        pos.wrapping_sub(self.one_lap) & self.pos_mask
    }

    // ===== send side =====

    /// Sends `value` unless the ring is full (counting reservations) or closed.
    pub(crate) fn push(&self, value: T) -> Result<(), PushError<T>> {
        match self.claim(|pos, reserved, low| self.word(self.advance(pos, 1), reserved, low)) {
            Ok(pos) => {
                self.write(pos, value);
                Ok(())
            }
            Err(PushError::Full(())) => Err(PushError::Full(value)),
            Err(PushError::Closed(())) => Err(PushError::Closed(value)),
        }
    }

    /// Reserves a slot for a later [`push_reserved`](Ring::push_reserved).
    pub(crate) fn reserve(&self) -> Result<(), PushError<()>> {
        self.claim(|pos, reserved, low| self.word(pos, reserved + 1, low))
            .map(drop)
    }

    /// Claims room for one value (a slot now, or a reservation, as `next` builds the new tail
    /// word from `pos`, `reserved` and the `CLOSED` bit); returns the position seen.
    fn claim(&self, next: impl Fn(u64, u64, u64) -> u64) -> Result<u64, PushError<()>> {
        let mut backoff = Backoff::new();
        let mut tail = self.tail.load(Ordering::Relaxed);
        loop {
            if tail & CLOSED != 0 {
                return Err(PushError::Closed(()));
            }
            let pos = self.pos(tail);
            let reserved = self.reserved(tail);
            if reserved == self.cap {
                // Every slot is promised to a permit (and the ring is empty).
                return Err(PushError::Full(()));
            }
            // The first slot not promised to a permit. With `reserved < cap`, its position one
            // lap earlier is below `pos`: claimed by a sender already.
            let check = self.advance(pos, reserved);
            let stamp = self.slot(check).stamp.load(Ordering::Acquire);
            if stamp == check {
                // Free: every slot up to it was claimed by a receiver of the previous lap.
                let new = next(pos, reserved, tail & CLOSED);
                match self.tail.compare_exchange_weak(
                    tail,
                    new,
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return Ok(pos),
                    Err(actual) => {
                        tail = actual;
                        backoff.spin();
                    }
                }
            } else if stamp == self.prev_lap(check) + 1 {
                // Still holds the previous lap's value: full, unless a receiver just claimed it.
                fence(Ordering::SeqCst);
                let head = self.head.load(Ordering::Relaxed);
                if head == self.prev_lap(check) {
                    return Err(PushError::Full(()));
                }
                backoff.spin();
                tail = self.tail.load(Ordering::Relaxed);
            } else {
                // A sender of the previous lap has claimed the slot but not written it yet,
                // or our view of the tail is stale.
                backoff.snooze();
                tail = self.tail.load(Ordering::Relaxed);
            }
        }
    }

    /// Sends `value` into the slot a reservation holds: never fails, even after `close`.
    ///
    /// Returns whether the ring is now closed with no reservation left (receivers waiting for
    /// the end must be told once they have drained it).
    pub(crate) fn push_reserved(&self, value: T) -> bool {
        let mut backoff = Backoff::new();
        let mut tail = self.tail.load(Ordering::Relaxed);
        loop {
            let pos = self.pos(tail);
            let reserved = self.reserved(tail);
            debug_assert!(reserved > 0, "a permit's slot is counted in `reserved`");
            let new = self.word(self.advance(pos, 1), reserved - 1, tail & CLOSED);
            match self
                .tail
                .compare_exchange_weak(tail, new, Ordering::SeqCst, Ordering::Relaxed)
            {
                Ok(_) => {
                    self.write(pos, value);
                    return new & CLOSED != 0 && reserved == 1;
                }
                Err(actual) => {
                    tail = actual;
                    backoff.spin();
                }
            }
        }
    }

    /// Gives back a reservation that will not be used. Returns whether the ring is now closed
    /// with no reservation left.
    pub(crate) fn unreserve(&self) -> bool {
        let prev = self.tail.fetch_sub(1 << 1, Ordering::SeqCst);
        debug_assert!(self.reserved(prev) > 0);
        prev & CLOSED != 0 && self.reserved(prev) == 1
    }

    /// Writes `value` at the claimed position `pos` and publishes it.
    fn write(&self, pos: u64, value: T) {
        let slot = self.slot(pos);
        // A plain send checked a later slot, a permit none: the receiver of the previous lap
        // may still be copying out of this one (it has claimed it already, so this is short).
        let mut backoff = Backoff::new();
        while slot.stamp.load(Ordering::Acquire) != pos {
            backoff.snooze();
        }
        // SAFETY: we claimed `pos` (the tail moved past it by our compare-exchange) and the
        // stamp says the previous lap's receiver is done: the slot is ours until the stamp
        // store below hands it to the receiver of `pos`.
        slot.value
            .with_mut(|cell| unsafe { (*cell).as_mut_ptr().write(value) });
        slot.stamp.store(pos + 1, Ordering::Release);
    }

    // ===== receive side =====

    /// Takes the oldest value, or says why there is none.
    pub(crate) fn pop(&self) -> Result<T, PopError> {
        let mut backoff = Backoff::new();
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            let slot = self.slot(head);
            let stamp = slot.stamp.load(Ordering::Acquire);
            if stamp == head + 1 {
                let next = self.advance(head, 1);
                match self.head.compare_exchange_weak(
                    head,
                    next,
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: the stamp (acquire) says the value at `head` was written,
                        // and our compare-exchange made us its only reader; the stamp store
                        // below hands the slot to the next lap's sender.
                        let value = slot.value.with(|cell| unsafe { (*cell).as_ptr().read() });
                        slot.stamp.store(self.next_lap(head), Ordering::Release);
                        return Ok(value);
                    }
                    Err(actual) => {
                        head = actual;
                        backoff.spin();
                    }
                }
            } else if stamp == head {
                // Not written yet: empty, unless a sender has claimed it and is writing.
                fence(Ordering::SeqCst);
                let tail = self.tail.load(Ordering::Relaxed);
                if self.pos(tail) == head {
                    return Err(if tail & CLOSED != 0 && self.reserved(tail) == 0 {
                        PopError::Closed
                    } else {
                        PopError::Empty
                    });
                }
                backoff.snooze();
                head = self.head.load(Ordering::Relaxed);
            } else {
                // Our view of the head is stale.
                backoff.spin();
                head = self.head.load(Ordering::Relaxed);
            }
        }
    }

    // ===== state =====

    /// Sets `CLOSED`; returns whether this call set it.
    pub(crate) fn close(&self) -> bool {
        self.tail.fetch_or(CLOSED, Ordering::SeqCst) & CLOSED == 0
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.tail.load(Ordering::SeqCst) & CLOSED != 0
    }

    /// How many values are queued (a snapshot).
    pub(crate) fn len(&self) -> usize {
        loop {
            let tail = self.tail.load(Ordering::SeqCst);
            let head = self.head.load(Ordering::SeqCst);
            // A consistent pair: the tail did not move while we read the head.
            if self.pos(self.tail.load(Ordering::SeqCst)) != self.pos(tail) {
                continue;
            }
            let (tail, mask) = (self.pos(tail), self.one_lap - 1);
            let (hix, tix) = (head & mask, tail & mask);
            return if hix < tix {
                (tix - hix) as usize
            } else if hix > tix {
                (self.cap - hix + tix) as usize
            } else if tail == head {
                0
            } else {
                self.cap as usize
            };
        }
    }
}

impl<T> Drop for Ring<T> {
    fn drop(&mut self) {
        // No handle is left, so no send or receive is in flight: every position between head
        // and tail holds a written value.
        let mut head = self.head.load(Ordering::Relaxed);
        let tail = self.pos(self.tail.load(Ordering::Relaxed));
        while head != tail {
            let slot = self.slot(head);
            // SAFETY: written (see above) and never read: we drop it once, here.
            slot.value
                .with_mut(|cell| unsafe { (*cell).as_mut_ptr().drop_in_place() });
            head = self.advance(head, 1);
        }
    }
}

#[cfg(all(test, not(runtime_loom)))]
mod tests {
    use super::*;

    #[test]
    fn positions_wrap_within_the_mask() {
        let ring = Ring::<u8>::new(3);
        assert_eq!(ring.one_lap, 4);
        assert_eq!(ring.advance(2, 1), 4, "index 2 is the last: next lap");
        assert_eq!(ring.advance(1, 3), 5);
        let last_lap = ring.pos_mask & !(ring.one_lap - 1);
        assert_eq!(ring.advance(last_lap + 2, 1), 0, "the lap counter wraps");
        assert_eq!(ring.prev_lap(1), last_lap + 1);
    }

    #[test]
    fn reservations_count_against_capacity() {
        let ring = Ring::new(2);
        ring.reserve().expect("room");
        ring.push(1).expect("room");
        assert!(matches!(ring.push(2), Err(PushError::Full(2))));
        assert!(matches!(ring.reserve(), Err(PushError::Full(()))));
        assert!(!ring.push_reserved(3));
        assert_eq!(ring.len(), 2);
        assert_eq!(ring.pop().ok(), Some(1));
        assert_eq!(ring.pop().ok(), Some(3));

        // Every slot reserved: full with nothing in it.
        let ring = Ring::new(1);
        ring.reserve().expect("room");
        assert!(matches!(ring.push(1), Err(PushError::Full(1))));
        assert!(!ring.unreserve());
        ring.push(2).expect("room again");
    }

    #[test]
    fn closed_ring_ends_only_when_drained_and_no_permit_is_out() {
        let ring = Ring::new(2);
        ring.push(1).expect("room");
        ring.reserve().expect("room");
        assert!(ring.close());
        assert!(matches!(ring.push(2), Err(PushError::Closed(2))));
        assert_eq!(ring.pop().ok(), Some(1));
        assert!(matches!(ring.pop(), Err(PopError::Empty)));
        assert!(ring.push_reserved(3), "the last permit of a closed ring");
        assert_eq!(ring.pop().ok(), Some(3));
        assert!(matches!(ring.pop(), Err(PopError::Closed)));
    }
}
