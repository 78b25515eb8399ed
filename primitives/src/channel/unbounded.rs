//! The unbounded flavor's queue: a lock-free linked list of blocks of slots, after crossbeam's
//! list flavor.
//!
//! Every value gets an index; indices are grouped in blocks of `BLOCK_CAP` slots (one lap of
//! `LAP` indices, the last of which is never used: reaching it means "the next block is being
//! installed"). A send claims the index at `tail` with one compare-exchange, writes the slot
//! and sets its `WRITE` bit; a receive claims `head` the same way, waits for `WRITE`, reads,
//! and sets `READ`. The receiver of a block's last slot frees the block once every reader of
//! the block is done (the `DESTROY` hand-off below).
//!
//! The low bit of each index is a mark: in `tail`, the channel is closed; in `head`, the head
//! block is not the last one, so a receive can skip checking the tail.
//!
//! Reservations ([`Permit`](super::Permit)s) never wait here, but they count: after `close`,
//! receivers see the end only when the list is empty *and* `reserved` is zero, since a permit
//! taken before the close may still send.

use core::mem::MaybeUninit;
use core::ptr;

use super::queue::{Backoff, CachePadded, PopError, PushError};
use crate::loom::atomic::{fence, AtomicPtr, AtomicUsize, Ordering};
use crate::loom::UnsafeCell;

/// A value was written into the slot.
const WRITE: usize = 1;
/// The value was read out of the slot.
const READ: usize = 2;
/// The block is being freed; the reader of this slot finishes the job.
const DESTROY: usize = 4;

/// Indices per block; small under loom so that the models cross block boundaries.
const LAP: usize = if cfg!(runtime_loom) { 3 } else { 32 };
/// Values per block.
const BLOCK_CAP: usize = LAP - 1;
/// Indices are shifted past the mark bit.
const SHIFT: usize = 1;
/// In `tail`: closed. In `head`: the head block is not the last.
const MARK_BIT: usize = 1;

struct Slot<T> {
    value: UnsafeCell<MaybeUninit<T>>,
    state: AtomicUsize,
}

impl<T> Slot<T> {
    /// Waits until the sender that claimed this slot has written it.
    fn wait_write(&self) {
        let mut backoff = Backoff::new();
        while self.state.load(Ordering::Acquire) & WRITE == 0 {
            backoff.snooze();
        }
    }
}

struct Block<T> {
    next: AtomicPtr<Block<T>>,
    slots: [Slot<T>; BLOCK_CAP],
}

impl<T> Block<T> {
    fn new() -> Box<Block<T>> {
        Box::new(Block {
            next: AtomicPtr::new(ptr::null_mut()),
            slots: core::array::from_fn(|_| Slot {
                value: UnsafeCell::new(MaybeUninit::uninit()),
                state: AtomicUsize::new(0),
            }),
        })
    }

    /// Waits until the next block is linked.
    fn wait_next(&self) -> *mut Block<T> {
        let mut backoff = Backoff::new();
        loop {
            let next = self.next.load(Ordering::Acquire);
            if !next.is_null() {
                return next;
            }
            backoff.snooze();
        }
    }

    /// Frees the block once no reader of the slots from `start` on is still busy with it;
    /// a busy reader finds `DESTROY` set and calls this again for the slots after its own.
    ///
    /// # Safety
    ///
    /// `this` is a block that every slot's receiver has claimed (`head` moved past it), and
    /// the caller is the reader of slot `start - 1` (or of the last slot, with `start == 0`).
    unsafe fn destroy(this: *mut Block<T>, start: usize) {
        // The last slot's reader started the destruction, so its slot needs no bit.
        for i in start..BLOCK_CAP - 1 {
            // SAFETY: the block is alive until this function frees it.
            let slot = unsafe { &(*this).slots[i] };
            if slot.state.load(Ordering::Acquire) & READ == 0
                && slot.state.fetch_or(DESTROY, Ordering::AcqRel) & READ == 0
            {
                // That reader is still busy; it will go on from `i + 1`.
                return;
            }
        }
        // SAFETY: every reader is done and no sender writes here any more: ours alone.
        drop(unsafe { Box::from_raw(this) });
    }
}

/// One end of the list: an index and the block it is in.
struct Position<T> {
    index: AtomicUsize,
    block: AtomicPtr<Block<T>>,
}

pub(crate) struct List<T> {
    head: CachePadded<Position<T>>,
    tail: CachePadded<Position<T>>,
    /// Permits out (see the module docs).
    reserved: AtomicUsize,
}

// SAFETY: values move from sending to receiving threads (`T: Send`); each slot's value is
// touched by the one sender and the one receiver that claimed its index, ordered by the
// slot's `WRITE` bit; blocks are freed by exactly one thread (the `DESTROY` hand-off).
unsafe impl<T: Send> Send for List<T> {}
// SAFETY: as for `Send`.
unsafe impl<T: Send> Sync for List<T> {}

impl<T> List<T> {
    pub(crate) fn new() -> List<T> {
        let end = || Position {
            index: AtomicUsize::new(0),
            block: AtomicPtr::new(ptr::null_mut()),
        };
        List {
            head: CachePadded(end()),
            tail: CachePadded(end()),
            reserved: AtomicUsize::new(0),
        }
    }

    /// Sends `value`; fails only if the list is closed and `reserved` is false (a permit's
    /// send always lands).
    pub(crate) fn push(&self, value: T, reserved: bool) -> Result<(), PushError<T>> {
        let mut backoff = Backoff::new();
        let mut tail = self.tail.0.index.load(Ordering::Acquire);
        let mut block = self.tail.0.block.load(Ordering::Acquire);
        let mut next_block = None;
        loop {
            if tail & MARK_BIT != 0 && !reserved {
                return Err(PushError::Closed(value));
            }
            let offset = (tail >> SHIFT) % LAP;
            if offset == BLOCK_CAP {
                // The sender of the block's last slot is installing the next block.
                backoff.snooze();
                tail = self.tail.0.index.load(Ordering::Acquire);
                block = self.tail.0.block.load(Ordering::Acquire);
                continue;
            }
            // About to need the next block: allocate it before claiming, so the others wait
            // for as short a time as possible.
            if offset + 1 == BLOCK_CAP && next_block.is_none() {
                next_block = Some(Block::new());
            }
            if block.is_null() {
                // The very first send installs the first block.
                let new = Box::into_raw(Block::<T>::new());
                if self
                    .tail
                    .0
                    .block
                    .compare_exchange(block, new, Ordering::Release, Ordering::Relaxed)
                    .is_ok()
                {
                    self.head.0.block.store(new, Ordering::Release);
                    block = new;
                } else {
                    // SAFETY: `new` was never shared: still ours.
                    next_block = Some(unsafe { Box::from_raw(new) });
                    tail = self.tail.0.index.load(Ordering::Acquire);
                    block = self.tail.0.block.load(Ordering::Acquire);
                    continue;
                }
            }
            match self.tail.0.index.compare_exchange_weak(
                tail,
                tail + (1 << SHIFT),
                Ordering::SeqCst,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    if offset + 1 == BLOCK_CAP {
                        // We took the last slot: link the next block and move the tail
                        // past the unused index.
                        let next = Box::into_raw(next_block.take().expect("allocated above"));
                        self.tail.0.block.store(next, Ordering::Release);
                        self.tail.0.index.fetch_add(1 << SHIFT, Ordering::Release);
                        // SAFETY: `block` is the tail block, alive until every slot in it
                        // is read, and ours is not written yet.
                        unsafe { (*block).next.store(next, Ordering::Release) };
                    }
                    // SAFETY: we claimed this slot; its receiver waits for `WRITE` and the
                    // block lives until that receiver is done.
                    let slot = unsafe { &(*block).slots[offset] };
                    // SAFETY: as above: the slot's value is ours until `WRITE` is set.
                    slot.value
                        .with_mut(|cell| unsafe { (*cell).as_mut_ptr().write(value) });
                    slot.state.fetch_or(WRITE, Ordering::Release);
                    return Ok(());
                }
                Err(actual) => {
                    tail = actual;
                    block = self.tail.0.block.load(Ordering::Acquire);
                    backoff.spin();
                }
            }
        }
    }

    /// Takes the oldest value, or says why there is none.
    pub(crate) fn pop(&self) -> Result<T, PopError> {
        let mut backoff = Backoff::new();
        let mut head = self.head.0.index.load(Ordering::Acquire);
        let mut block = self.head.0.block.load(Ordering::Acquire);
        loop {
            let offset = (head >> SHIFT) % LAP;
            if offset == BLOCK_CAP {
                // The reader of the block's last slot is moving the head to the next block.
                backoff.snooze();
                head = self.head.0.index.load(Ordering::Acquire);
                block = self.head.0.block.load(Ordering::Acquire);
                continue;
            }
            let mut new_head = head + (1 << SHIFT);
            if new_head & MARK_BIT == 0 {
                fence(Ordering::SeqCst);
                let tail = self.tail.0.index.load(Ordering::Relaxed);
                if head >> SHIFT == tail >> SHIFT {
                    return Err(if tail & MARK_BIT != 0 && self.drained(head) {
                        PopError::Closed
                    } else {
                        PopError::Empty
                    });
                }
                if (head >> SHIFT) / LAP != (tail >> SHIFT) / LAP {
                    new_head |= MARK_BIT;
                }
            }
            if block.is_null() {
                // The first block is being installed.
                backoff.snooze();
                head = self.head.0.index.load(Ordering::Acquire);
                block = self.head.0.block.load(Ordering::Acquire);
                continue;
            }
            match self.head.0.index.compare_exchange_weak(
                head,
                new_head,
                Ordering::SeqCst,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    // SAFETY: we claimed `offset` of `block`, which stays alive until its
                    // reader (us) is done with it.
                    unsafe {
                        if offset + 1 == BLOCK_CAP {
                            let next = (*block).wait_next();
                            let mut next_index = (new_head & !MARK_BIT).wrapping_add(1 << SHIFT);
                            if !(*next).next.load(Ordering::Relaxed).is_null() {
                                next_index |= MARK_BIT;
                            }
                            self.head.0.block.store(next, Ordering::Release);
                            self.head.0.index.store(next_index, Ordering::Release);
                        }
                        let slot = &(*block).slots[offset];
                        slot.wait_write();
                        let value = slot.value.with(|cell| (*cell).as_ptr().read());
                        if offset + 1 == BLOCK_CAP {
                            Block::destroy(block, 0);
                        } else if slot.state.fetch_or(READ, Ordering::AcqRel) & DESTROY != 0 {
                            Block::destroy(block, offset + 1);
                        }
                        return Ok(value);
                    }
                }
                Err(actual) => {
                    head = actual;
                    block = self.head.0.block.load(Ordering::Acquire);
                    backoff.spin();
                }
            }
        }
    }

    /// For a closed list that looked empty at `head`: true if no permit is out and it is
    /// still empty (a permit's send lands before its count is given back).
    fn drained(&self, head: usize) -> bool {
        self.reserved.load(Ordering::SeqCst) == 0
            && self.tail.0.index.load(Ordering::SeqCst) >> SHIFT == head >> SHIFT
    }

    /// Counts a permit. The caller checks `is_closed` after this and gives it back if so.
    pub(crate) fn add_reservation(&self) {
        self.reserved.fetch_add(1, Ordering::SeqCst);
    }

    /// Sends a permit's value; returns whether the list is now closed with no permit out.
    pub(crate) fn push_reserved(&self, value: T) -> bool {
        if self.push(value, true).is_err() {
            unreachable!("a permit's send always lands");
        }
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
        self.tail.0.index.fetch_or(MARK_BIT, Ordering::SeqCst) & MARK_BIT == 0
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.tail.0.index.load(Ordering::SeqCst) & MARK_BIT != 0
    }

    /// How many values are queued (a snapshot).
    pub(crate) fn len(&self) -> usize {
        loop {
            let mut tail = self.tail.0.index.load(Ordering::SeqCst);
            let mut head = self.head.0.index.load(Ordering::SeqCst);
            if self.tail.0.index.load(Ordering::SeqCst) != tail {
                continue;
            }
            tail &= !((1 << SHIFT) - 1);
            head &= !((1 << SHIFT) - 1);
            // An index at the unused end of a block means the start of the next one.
            if (tail >> SHIFT) % LAP == LAP - 1 {
                tail = tail.wrapping_add(1 << SHIFT);
            }
            if (head >> SHIFT) % LAP == LAP - 1 {
                head = head.wrapping_add(1 << SHIFT);
            }
            // Rebase both on the head's block so the subtraction cannot wrap.
            let lap = (head >> SHIFT) / LAP;
            tail = tail.wrapping_sub((lap * LAP) << SHIFT) >> SHIFT;
            head = head.wrapping_sub((lap * LAP) << SHIFT) >> SHIFT;
            // Each block boundary crossed skips one unused index.
            return tail - head - tail / LAP;
        }
    }
}

impl<T> Drop for List<T> {
    fn drop(&mut self) {
        // No handle is left: no send or receive is in flight, every claimed slot is written.
        let mut head = self.head.0.index.load(Ordering::Relaxed) & !MARK_BIT;
        let tail = self.tail.0.index.load(Ordering::Relaxed) & !MARK_BIT;
        let mut block = self.head.0.block.load(Ordering::Relaxed);
        // SAFETY: between head and tail every slot holds an unread value, dropped once here;
        // every block from the head block on is still allocated and freed once here.
        unsafe {
            while head != tail {
                let offset = (head >> SHIFT) % LAP;
                if offset < BLOCK_CAP {
                    let slot = &(*block).slots[offset];
                    slot.value
                        .with_mut(|cell| (*cell).as_mut_ptr().drop_in_place());
                } else {
                    let next = (*block).next.load(Ordering::Relaxed);
                    drop(Box::from_raw(block));
                    block = next;
                }
                head = head.wrapping_add(1 << SHIFT);
            }
            if !block.is_null() {
                drop(Box::from_raw(block));
            }
        }
    }
}

#[cfg(all(test, not(runtime_loom)))]
mod tests {
    use super::*;

    #[test]
    fn crosses_many_blocks_in_order_and_counts() {
        let list = List::new();
        for i in 0..1000 {
            list.push(i, false).expect("open");
        }
        assert_eq!(list.len(), 1000);
        for i in 0..600 {
            assert_eq!(list.pop().ok(), Some(i));
        }
        assert_eq!(list.len(), 400);
        assert!(list.close());
        assert!(matches!(list.push(0, false), Err(PushError::Closed(0))));
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
