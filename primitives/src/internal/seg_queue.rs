//! An unbounded lock-free MPMC FIFO: a linked list of blocks of slots, the segmented design
//! of crossbeam's `SegQueue` and list channel. The unbounded channel and the runtime's
//! blocking pool queue their values in it.
//!
//! Every value gets an index; indices are grouped in blocks of `BLOCK_CAP` slots (one lap of
//! `LAP` indices, the last of which is never used: reaching it means "the next block is being
//! installed", and whoever claimed the block's last slot installs it). A push claims the
//! index at `tail` with one compare-exchange, writes the slot and sets its `WRITE` bit; a pop
//! claims `head` the same way, waits for `WRITE` (the pusher is between its claim and its
//! write), reads, and sets `READ`. Pushers contend only with pushers on the tail's cache
//! line, poppers only with poppers on the head's.
//!
//! The low bit of each index is a mark: in `tail`, the queue is closed
//! ([`SegQueue::close`]; a queue that is never closed never sets it); in `head`, the head
//! block is not the last one, so a pop can skip reading the tail.
//!
//! Reclamation needs no epoch: the reader of a block's last slot starts freeing the block,
//! and a reader still busy with an earlier slot (its `READ` bit clear) is handed the rest of
//! the job through the `DESTROY` bit. The first block is allocated by the first push, so an
//! unused queue costs no allocation.

use core::fmt;
use core::mem::MaybeUninit;
use core::ptr;

use super::{Backoff, CachePadded};
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
    /// Waits until the pusher that claimed this slot has written it.
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
    /// `this` is a block that every slot's reader has claimed (`head` moved past it), and
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
        // SAFETY: every reader is done and no pusher writes here any more: ours alone.
        drop(unsafe { Box::from_raw(this) });
    }
}

/// One end of the list: an index and the block it is in.
struct Position<T> {
    index: AtomicUsize,
    block: AtomicPtr<Block<T>>,
}

impl<T> Position<T> {
    fn new() -> Position<T> {
        Position {
            index: AtomicUsize::new(0),
            block: AtomicPtr::new(ptr::null_mut()),
        }
    }
}

/// An unbounded lock-free multi-producer multi-consumer FIFO queue, with an optional close
/// mark: [`push`](SegQueue::push) always lands, [`push_if_open`](SegQueue::push_if_open)
/// fails once [`close`](SegQueue::close) was called.
///
/// ```
/// use runtime_primitives::internal::SegQueue;
///
/// let queue = SegQueue::new();
/// queue.push(1);
/// queue.push(2);
/// assert_eq!(queue.len(), 2);
/// assert_eq!(queue.pop(), Some(1));
/// assert!(queue.close());
/// assert_eq!(queue.push_if_open(3), Err(3));
/// assert_eq!(queue.pop(), Some(2));
/// assert_eq!(queue.pop(), None);
/// assert!(queue.is_empty());
/// ```
pub struct SegQueue<T> {
    head: CachePadded<Position<T>>,
    tail: CachePadded<Position<T>>,
}

// SAFETY: values move from pushing to popping threads (`T: Send`); each slot's value is
// touched by the one pusher and the one popper that claimed its index, ordered by the slot's
// `WRITE` bit; blocks are freed by exactly one thread (the `DESTROY` hand-off).
unsafe impl<T: Send> Send for SegQueue<T> {}
// SAFETY: as for `Send`: `&SegQueue` reaches a value only through a claimed index.
unsafe impl<T: Send> Sync for SegQueue<T> {}

impl<T> SegQueue<T> {
    /// An empty, open queue. Allocates nothing until the first push.
    ///
    /// ```
    /// let queue = runtime_primitives::internal::SegQueue::<u8>::new();
    /// assert!(queue.is_empty() && !queue.is_closed());
    /// ```
    pub fn new() -> SegQueue<T> {
        SegQueue {
            head: CachePadded::new(Position::new()),
            tail: CachePadded::new(Position::new()),
        }
    }

    /// Queues `value` at the back, closed or not.
    ///
    /// ```
    /// use runtime_primitives::internal::SegQueue;
    ///
    /// let queue = SegQueue::new();
    /// queue.close();
    /// queue.push("promised before the close");
    /// assert_eq!(queue.pop(), Some("promised before the close"));
    /// ```
    pub fn push(&self, value: T) {
        if self.push_inner(value, false).is_err() {
            unreachable!("a push that ignores the close mark always lands");
        }
    }

    /// Queues `value` at the back unless the queue is closed; then the value comes back.
    ///
    /// ```
    /// use runtime_primitives::internal::SegQueue;
    ///
    /// let queue = SegQueue::new();
    /// assert_eq!(queue.push_if_open(1), Ok(()));
    /// queue.close();
    /// assert_eq!(queue.push_if_open(2), Err(2));
    /// ```
    pub fn push_if_open(&self, value: T) -> Result<(), T> {
        self.push_inner(value, true)
    }

    #[inline]
    fn push_inner(&self, value: T, check_closed: bool) -> Result<(), T> {
        let mut backoff = Backoff::new();
        let mut tail = self.tail.index.load(Ordering::Acquire);
        let mut block = self.tail.block.load(Ordering::Acquire);
        let mut next_block = None;
        loop {
            if check_closed && tail & MARK_BIT != 0 {
                return Err(value);
            }
            let offset = (tail >> SHIFT) % LAP;
            if offset == BLOCK_CAP {
                // The pusher of the block's last slot is installing the next block.
                backoff.snooze();
                tail = self.tail.index.load(Ordering::Acquire);
                block = self.tail.block.load(Ordering::Acquire);
                continue;
            }
            // About to need the next block: allocate it before claiming, so the others wait
            // for as short a time as possible.
            if offset + 1 == BLOCK_CAP && next_block.is_none() {
                next_block = Some(Block::new());
            }
            if block.is_null() {
                // The very first push installs the first block.
                let new = Box::into_raw(Block::<T>::new());
                if self
                    .tail
                    .block
                    .compare_exchange(block, new, Ordering::Release, Ordering::Relaxed)
                    .is_ok()
                {
                    self.head.block.store(new, Ordering::Release);
                    block = new;
                } else {
                    // SAFETY: `new` was never shared: still ours.
                    next_block = Some(unsafe { Box::from_raw(new) });
                    tail = self.tail.index.load(Ordering::Acquire);
                    block = self.tail.block.load(Ordering::Acquire);
                    continue;
                }
            }
            // The increment keeps the close mark as it was: a close in between fails the
            // compare-exchange and is seen on the next round.
            match self.tail.index.compare_exchange_weak(
                tail,
                tail + (1 << SHIFT),
                Ordering::SeqCst,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    if offset + 1 == BLOCK_CAP {
                        // We took the last slot: link the next block and move the tail past
                        // the unused index (an add, not a store, so a close that lands
                        // meanwhile keeps its mark).
                        let next = Box::into_raw(next_block.take().expect("allocated above"));
                        self.tail.block.store(next, Ordering::Release);
                        self.tail.index.fetch_add(1 << SHIFT, Ordering::Release);
                        // SAFETY: `block` is the tail block, alive until every slot in it is
                        // read, and ours is not written yet.
                        unsafe { (*block).next.store(next, Ordering::Release) };
                    }
                    // SAFETY: we claimed this slot; its reader waits for `WRITE` and the
                    // block lives until that reader is done.
                    let slot = unsafe { &(*block).slots[offset] };
                    // SAFETY: as above: the slot's value is ours until `WRITE` is set.
                    slot.value
                        .with_mut(|cell| unsafe { (*cell).as_mut_ptr().write(value) });
                    slot.state.fetch_or(WRITE, Ordering::Release);
                    return Ok(());
                }
                Err(actual) => {
                    tail = actual;
                    block = self.tail.block.load(Ordering::Acquire);
                    backoff.spin();
                }
            }
        }
    }

    /// Takes the value at the front, or `None` if the queue is empty now.
    ///
    /// ```
    /// use runtime_primitives::internal::SegQueue;
    ///
    /// let queue = SegQueue::new();
    /// assert_eq!(queue.pop(), None::<u8>);
    /// queue.push(7);
    /// assert_eq!(queue.pop(), Some(7));
    /// ```
    pub fn pop(&self) -> Option<T> {
        let mut backoff = Backoff::new();
        let mut head = self.head.index.load(Ordering::Acquire);
        let mut block = self.head.block.load(Ordering::Acquire);
        loop {
            let offset = (head >> SHIFT) % LAP;
            if offset == BLOCK_CAP {
                // The reader of the block's last slot is moving the head to the next block.
                backoff.snooze();
                head = self.head.index.load(Ordering::Acquire);
                block = self.head.block.load(Ordering::Acquire);
                continue;
            }
            let mut new_head = head + (1 << SHIFT);
            if new_head & MARK_BIT == 0 {
                fence(Ordering::SeqCst);
                let tail = self.tail.index.load(Ordering::Relaxed);
                if head >> SHIFT == tail >> SHIFT {
                    return None;
                }
                // The tail is in a later block: the head block is followed by another.
                if (head >> SHIFT) / LAP != (tail >> SHIFT) / LAP {
                    new_head |= MARK_BIT;
                }
            }
            if block.is_null() {
                // The first block is being installed.
                backoff.snooze();
                head = self.head.index.load(Ordering::Acquire);
                block = self.head.block.load(Ordering::Acquire);
                continue;
            }
            match self.head.index.compare_exchange_weak(
                head,
                new_head,
                Ordering::SeqCst,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    // SAFETY: we claimed `offset` of `block`, which stays alive until its
                    // reader (us) is done with it; the next block, once linked, is freed only
                    // after the head has moved onto it and past its slots.
                    unsafe {
                        if offset + 1 == BLOCK_CAP {
                            let next = (*block).wait_next();
                            let mut next_index = (new_head & !MARK_BIT).wrapping_add(1 << SHIFT);
                            if !(*next).next.load(Ordering::Relaxed).is_null() {
                                next_index |= MARK_BIT;
                            }
                            self.head.block.store(next, Ordering::Release);
                            self.head.index.store(next_index, Ordering::Release);
                        }
                        let slot = &(*block).slots[offset];
                        slot.wait_write();
                        let value = slot.value.with(|cell| (*cell).as_ptr().read());
                        if offset + 1 == BLOCK_CAP {
                            Block::destroy(block, 0);
                        } else if slot.state.fetch_or(READ, Ordering::AcqRel) & DESTROY != 0 {
                            Block::destroy(block, offset + 1);
                        }
                        return Some(value);
                    }
                }
                Err(actual) => {
                    head = actual;
                    block = self.head.block.load(Ordering::Acquire);
                    backoff.spin();
                }
            }
        }
    }

    /// Sets the close mark; returns whether this call set it. Values queued stay queued.
    ///
    /// ```
    /// let queue = runtime_primitives::internal::SegQueue::<u8>::new();
    /// assert!(queue.close());
    /// assert!(!queue.close(), "closed already");
    /// ```
    pub fn close(&self) -> bool {
        self.tail.index.fetch_or(MARK_BIT, Ordering::SeqCst) & MARK_BIT == 0
    }

    /// Whether [`close`](SegQueue::close) was called.
    ///
    /// ```
    /// let queue = runtime_primitives::internal::SegQueue::<u8>::new();
    /// queue.close();
    /// assert!(queue.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.tail.index.load(Ordering::SeqCst) & MARK_BIT != 0
    }

    /// Whether nothing is queued (a snapshot).
    ///
    /// ```
    /// let queue = runtime_primitives::internal::SegQueue::new();
    /// queue.push(());
    /// assert!(!queue.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        let head = self.head.index.load(Ordering::SeqCst);
        let tail = self.tail.index.load(Ordering::SeqCst);
        head >> SHIFT == tail >> SHIFT
    }

    /// How many values are queued (a snapshot, exact when nothing moves meanwhile).
    ///
    /// ```
    /// let queue = runtime_primitives::internal::SegQueue::new();
    /// (0..100).for_each(|i| queue.push(i));
    /// assert_eq!(queue.len(), 100);
    /// ```
    pub fn len(&self) -> usize {
        loop {
            let mut tail = self.tail.index.load(Ordering::SeqCst);
            let mut head = self.head.index.load(Ordering::SeqCst);
            if self.tail.index.load(Ordering::SeqCst) != tail {
                continue;
            }
            tail &= !((1 << SHIFT) - 1);
            head &= !((1 << SHIFT) - 1);
            // An index at the unused end of a block means the start of the next one.
            if (tail >> SHIFT) % LAP == BLOCK_CAP {
                tail = tail.wrapping_add(1 << SHIFT);
            }
            if (head >> SHIFT) % LAP == BLOCK_CAP {
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

impl<T> Default for SegQueue<T> {
    fn default() -> Self {
        SegQueue::new()
    }
}

impl<T> Drop for SegQueue<T> {
    fn drop(&mut self) {
        // `&mut self`: no push or pop is in flight, so every claimed slot is written.
        let mut head = self.head.index.load(Ordering::Relaxed) & !MARK_BIT;
        let tail = self.tail.index.load(Ordering::Relaxed) & !MARK_BIT;
        let mut block = self.head.block.load(Ordering::Relaxed);
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

impl<T> fmt::Debug for SegQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SegQueue")
            .field("len", &self.len())
            .field("closed", &self.is_closed())
            .finish()
    }
}

#[cfg(all(test, not(runtime_loom)))]
mod tests {
    use super::SegQueue;
    use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
    use std::sync::Arc;

    #[test]
    fn fifo_across_blocks() {
        let q = SegQueue::new();
        assert!(q.is_empty());
        for i in 0..200 {
            q.push(i);
        }
        assert_eq!(q.len(), 200);
        for i in 0..150 {
            assert_eq!(q.pop(), Some(i));
        }
        assert_eq!(q.len(), 50);
        for i in 200..300 {
            q.push(i);
        }
        for i in 150..300 {
            assert_eq!(q.pop(), Some(i));
        }
        assert_eq!(q.pop(), None);
        assert!(q.is_empty());
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn close_refuses_open_pushes_and_keeps_the_queued_values() {
        let q = SegQueue::new();
        for i in 0..40 {
            q.push_if_open(i).expect("open");
        }
        assert!(q.close());
        assert!(!q.close());
        assert_eq!(q.push_if_open(40), Err(40));
        q.push(41);
        assert_eq!(q.len(), 41);
        let drained: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(drained, (0..40).chain([41]).collect::<Vec<_>>());
        assert!(q.is_closed());
    }

    #[test]
    fn drop_frees_values_left_in_it() {
        let value = Arc::new(());
        let q = SegQueue::new();
        for _ in 0..100 {
            q.push(value.clone());
        }
        for _ in 0..40 {
            drop(q.pop());
        }
        drop(q);
        assert_eq!(Arc::strong_count(&value), 1);
    }

    #[test]
    fn concurrent_producers_and_consumers_see_every_value_once() {
        const PRODUCERS: usize = 4;
        const PER: usize = 20_000;
        let q = Arc::new(SegQueue::new());
        let done = Arc::new(AtomicBool::new(false));
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let q = q.clone();
                std::thread::spawn(move || {
                    for i in 0..PER {
                        q.push((p, i));
                    }
                })
            })
            .collect();
        let consumers: Vec<_> = (0..3)
            .map(|_| {
                let (q, done) = (q.clone(), done.clone());
                std::thread::spawn(move || {
                    let mut seen = Vec::new();
                    // Per producer, values must come out in the order they went in.
                    let mut last = [None::<usize>; PRODUCERS];
                    loop {
                        match q.pop() {
                            Some((p, i)) => {
                                assert!(last[p].is_none_or(|l| l < i), "FIFO broken");
                                last[p] = Some(i);
                                seen.push((p, i));
                            }
                            None if done.load(SeqCst) => return seen,
                            None => std::thread::yield_now(),
                        }
                    }
                })
            })
            .collect();
        for p in producers {
            p.join().unwrap();
        }
        done.store(true, SeqCst);
        let mut all: Vec<_> = consumers
            .into_iter()
            .flat_map(|c| c.join().unwrap())
            .collect();
        all.extend(std::iter::from_fn(|| q.pop()));
        all.sort_unstable();
        let expected: Vec<_> = (0..PRODUCERS)
            .flat_map(|p| (0..PER).map(move |i| (p, i)))
            .collect();
        assert_eq!(all, expected);
    }
}

#[cfg(all(test, runtime_loom))]
mod loom_tests {
    use super::SegQueue;
    use crate::loom::{thread, Arc};

    /// Two producers racing across a block boundary (the first push also races to install
    /// the first block); the consumer sees each value once and each producer's values in
    /// order, and nothing leaks (loom checks the frees).
    #[test]
    fn two_producers_one_consumer() {
        loom::model(|| {
            let q = Arc::new(SegQueue::new());
            // Prefill so the racing pushes cross into the next block.
            q.push(0);
            let producers: Vec<_> = [1, 2]
                .into_iter()
                .map(|v| {
                    let q = q.clone();
                    thread::spawn(move || q.push(v))
                })
                .collect();
            let mut got = vec![];
            if let Some(v) = q.pop() {
                got.push(v);
            }
            for p in producers {
                p.join().unwrap();
            }
            while let Some(v) = q.pop() {
                got.push(v);
            }
            assert_eq!(got[0], 0);
            got.sort_unstable();
            assert_eq!(got, [0, 1, 2]);
        });
    }

    /// Two consumers racing for the values around a block boundary: each value once.
    #[test]
    fn one_producer_two_consumers() {
        loom::model(|| {
            let q = Arc::new(SegQueue::new());
            q.push(1);
            let consumer = {
                let q = q.clone();
                thread::spawn(move || (q.pop(), q.pop()))
            };
            q.push(2);
            q.push(3);
            let mine = q.pop();
            let (a, b) = consumer.join().unwrap();
            let mut got: Vec<_> = [a, b, mine].into_iter().flatten().collect();
            while let Some(v) = q.pop() {
                got.push(v);
            }
            got.sort_unstable();
            assert_eq!(got, [1, 2, 3]);
        });
    }

    /// A producer that pushes across a block boundary and closes, racing a consumer that
    /// drains: every value queued before the close comes out once, in order, and a push
    /// after the close is refused with its value back.
    #[test]
    fn close_then_drain() {
        loom::model(|| {
            let q = Arc::new(SegQueue::new());
            q.push_if_open(1).unwrap();
            let producer = {
                let q = q.clone();
                thread::spawn(move || {
                    q.push_if_open(2).unwrap();
                    q.push_if_open(3).unwrap();
                    assert!(q.close());
                })
            };
            let mut got = vec![];
            loop {
                // Read the mark first: closed and then empty means drained for good.
                let closed = q.is_closed();
                match q.pop() {
                    Some(v) => got.push(v),
                    None if closed => break,
                    None => thread::yield_now(),
                }
            }
            producer.join().unwrap();
            assert_eq!(got, [1, 2, 3]);
            assert_eq!(q.push_if_open(4), Err(4));
        });
    }
}
