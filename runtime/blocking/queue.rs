//! The job queue: an unbounded, lock-free, multi-producer multi-consumer FIFO.
//!
//! The segmented design of crossbeam's `SegQueue`. Slots live in linked blocks of
//! `BLOCK_CAP`; `head` and `tail` are each an index plus a block pointer. A push claims a
//! slot with one CAS on the tail index, writes the value and sets the slot's `WRITE` bit; a
//! pop claims a slot with one CAS on the head index, waits for `WRITE` (the pusher is
//! between its CAS and its write) and sets `READ`. Producers contend only with producers
//! on the tail's cache line, consumers only with consumers on the head's: no lock, and no
//! thread ever waits for another one except for that short window of a claimed slot.
//!
//! Index layout: the low bit of the head index (`HAS_NEXT`) says the head block already has
//! a successor, which spares a pop the read of the tail; the rest counts slots, with
//! `LAP` positions per block of which the last one is a placeholder meaning "moving to
//! the next block" (whoever claimed the block's last slot installs the next block).
//!
//! Reclamation needs no epoch: the reader of a block's last slot starts destroying the
//! block, and a reader still busy with an earlier slot (its `READ` bit clear) is handed
//! the rest of the job through the `DESTROY` bit.

use crate::loom::atomic::{
    self, AtomicPtr, AtomicUsize,
    Ordering::{AcqRel, Acquire, Relaxed, Release, SeqCst},
};
use crate::loom::UnsafeCell;
use std::mem::MaybeUninit;
use std::ptr;

/// The slot holds a value.
const WRITE: usize = 1;
/// The value was taken out.
const READ: usize = 2;
/// The block's destroyer passed this slot while it was unread: its reader frees the block.
const DESTROY: usize = 4;

// Small blocks under loom, so the models cross block boundaries.
#[cfg(not(runtime_loom))]
const LAP: usize = 32;
#[cfg(runtime_loom)]
const LAP: usize = 3;
const BLOCK_CAP: usize = LAP - 1;
const SHIFT: usize = 1;
const HAS_NEXT: usize = 1;

struct Slot<T> {
    value: UnsafeCell<MaybeUninit<T>>,
    state: AtomicUsize,
}

impl<T> Slot<T> {
    fn wait_write(&self) {
        let mut backoff = Backoff::new();
        while self.state.load(Acquire) & WRITE == 0 {
            backoff.snooze();
        }
    }
}

struct Block<T> {
    next: AtomicPtr<Block<T>>,
    slots: [Slot<T>; BLOCK_CAP],
}

impl<T> Block<T> {
    fn new() -> *mut Block<T> {
        Box::into_raw(Box::new(Block {
            next: AtomicPtr::new(ptr::null_mut()),
            slots: std::array::from_fn(|_| Slot {
                value: UnsafeCell::new(MaybeUninit::uninit()),
                state: AtomicUsize::new(0),
            }),
        }))
    }

    fn wait_next(&self) -> *mut Block<T> {
        let mut backoff = Backoff::new();
        loop {
            let next = self.next.load(Acquire);
            if !next.is_null() {
                return next;
            }
            backoff.snooze();
        }
    }

    /// Frees the block once every slot from `start` on has been read.
    ///
    /// # Safety
    ///
    /// `this` came from `Block::new`, every slot before `start` has been read, and the
    /// caller is the reader of the last slot or of slot `start - 1`.
    unsafe fn destroy(this: *mut Block<T>, start: usize) {
        // The last slot's reader is the one that starts destruction: no need to check it.
        for i in start..BLOCK_CAP - 1 {
            // SAFETY: the block is alive until the last reader frees it, which is us or a
            // reader we hand over to right here.
            let slot = unsafe { &(*this).slots[i] };
            if slot.state.load(Acquire) & READ == 0
                && slot.state.fetch_or(DESTROY, AcqRel) & READ == 0
            {
                // That slot's reader sees `DESTROY` and carries on from there.
                return;
            }
        }
        // SAFETY: every slot has been read and nobody else holds the block any more.
        drop(unsafe { Box::from_raw(this) });
    }
}

/// A queue end: a slot index and the block it lies in.
struct Position<T> {
    index: AtomicUsize,
    block: AtomicPtr<Block<T>>,
}

/// Keeps the head and the tail on separate cache lines.
#[repr(align(128))]
struct CachePadded<T>(T);

/// The unbounded MPMC FIFO queue.
pub(crate) struct Queue<T> {
    head: CachePadded<Position<T>>,
    tail: CachePadded<Position<T>>,
}

// SAFETY: values move in on one thread and out on another, so `T: Send` is all they need;
// every shared field is reached through atomics or through slots that the WRITE/READ
// protocol hands to exactly one thread at a time.
unsafe impl<T: Send> Send for Queue<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Queue<T> {}

impl<T> Queue<T> {
    pub(crate) fn new() -> Queue<T> {
        // The first block is there from the start, so no path ever sees a null block.
        let block = Block::new();
        Queue {
            head: CachePadded(Position {
                index: AtomicUsize::new(0),
                block: AtomicPtr::new(block),
            }),
            tail: CachePadded(Position {
                index: AtomicUsize::new(0),
                block: AtomicPtr::new(block),
            }),
        }
    }

    pub(crate) fn push(&self, value: T) {
        let mut backoff = Backoff::new();
        let mut tail = self.tail.0.index.load(Acquire);
        let mut block = self.tail.0.block.load(Acquire);
        let mut next_block: Option<*mut Block<T>> = None;
        loop {
            let offset = (tail >> SHIFT) % LAP;
            if offset == BLOCK_CAP {
                // Another push is installing the next block.
                backoff.snooze();
                tail = self.tail.0.index.load(Acquire);
                block = self.tail.0.block.load(Acquire);
                continue;
            }
            // About to fill the block: allocate its successor before claiming the slot, so
            // the window in which others wait for it stays short.
            if offset + 1 == BLOCK_CAP && next_block.is_none() {
                next_block = Some(Block::new());
            }
            let new_tail = tail + (1 << SHIFT);
            match self
                .tail
                .0
                .index
                .compare_exchange_weak(tail, new_tail, SeqCst, Acquire)
            {
                Ok(_) => {
                    if offset + 1 == BLOCK_CAP {
                        let next = next_block.take().expect("allocated above");
                        let next_index = new_tail.wrapping_add(1 << SHIFT);
                        self.tail.0.block.store(next, Release);
                        self.tail.0.index.store(next_index, Release);
                        // SAFETY: the block can't be freed before its last slot (ours) is read.
                        unsafe { (*block).next.store(next, Release) };
                    }
                    // SAFETY: as above; the slot is ours alone until we set `WRITE`.
                    let slot = unsafe { &(*block).slots[offset] };
                    slot.value.with_mut(|p| {
                        // SAFETY: claimed by our CAS, empty, and no reader touches it
                        // before `WRITE`.
                        unsafe { p.write(MaybeUninit::new(value)) }
                    });
                    slot.state.fetch_or(WRITE, Release);
                    break;
                }
                Err(current) => {
                    tail = current;
                    block = self.tail.0.block.load(Acquire);
                    backoff.spin();
                }
            }
        }
        if let Some(unused) = next_block {
            // SAFETY: allocated above and never published.
            drop(unsafe { Box::from_raw(unused) });
        }
    }

    pub(crate) fn pop(&self) -> Option<T> {
        let mut backoff = Backoff::new();
        let mut head = self.head.0.index.load(Acquire);
        let mut block = self.head.0.block.load(Acquire);
        loop {
            let offset = (head >> SHIFT) % LAP;
            if offset == BLOCK_CAP {
                // Another pop is moving the head to the next block.
                backoff.snooze();
                head = self.head.0.index.load(Acquire);
                block = self.head.0.block.load(Acquire);
                continue;
            }
            let mut new_head = head + (1 << SHIFT);
            if new_head & HAS_NEXT == 0 {
                atomic::fence(SeqCst);
                let tail = self.tail.0.index.load(Relaxed);
                if head >> SHIFT == tail >> SHIFT {
                    return None;
                }
                // The tail is in a later block: the head block is followed by another.
                if (head >> SHIFT) / LAP != (tail >> SHIFT) / LAP {
                    new_head |= HAS_NEXT;
                }
            }
            match self
                .head
                .0
                .index
                .compare_exchange_weak(head, new_head, SeqCst, Acquire)
            {
                Ok(_) => {
                    if offset + 1 == BLOCK_CAP {
                        // SAFETY: the block lives until its last slot (ours) is read.
                        let next = unsafe { (*block).wait_next() };
                        let mut next_index = (new_head & !HAS_NEXT).wrapping_add(1 << SHIFT);
                        // SAFETY: `next` was installed by a push and is freed only after
                        // its own slots are read, which can't happen before the head
                        // reaches it (below).
                        if !unsafe { (*next).next.load(Relaxed) }.is_null() {
                            next_index |= HAS_NEXT;
                        }
                        self.head.0.block.store(next, Release);
                        self.head.0.index.store(next_index, Release);
                    }
                    // SAFETY: the block lives until this slot is read.
                    let slot = unsafe { &(*block).slots[offset] };
                    slot.wait_write();
                    let value = slot.value.with(|p| {
                        // SAFETY: `WRITE` is set and our CAS made the slot ours to read.
                        unsafe { p.read().assume_init() }
                    });
                    if offset + 1 == BLOCK_CAP {
                        // SAFETY: we read the last slot.
                        unsafe { Block::destroy(block, 0) };
                    } else if slot.state.fetch_or(READ, AcqRel) & DESTROY != 0 {
                        // SAFETY: the destroyer handed the rest of the block to us.
                        unsafe { Block::destroy(block, offset + 1) };
                    }
                    return Some(value);
                }
                Err(current) => {
                    head = current;
                    block = self.head.0.block.load(Acquire);
                    backoff.spin();
                }
            }
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        let head = self.head.0.index.load(SeqCst);
        let tail = self.tail.0.index.load(SeqCst);
        head >> SHIFT == tail >> SHIFT
    }

    /// The number of values, exact when nothing moves meanwhile.
    pub(crate) fn len(&self) -> usize {
        loop {
            let mut tail = self.tail.0.index.load(SeqCst);
            let mut head = self.head.0.index.load(SeqCst);
            if self.tail.0.index.load(SeqCst) != tail {
                continue;
            }
            tail &= !((1 << SHIFT) - 1);
            head &= !((1 << SHIFT) - 1);
            // A position on a block's placeholder counts as the start of the next block.
            if (tail >> SHIFT) % LAP == BLOCK_CAP {
                tail = tail.wrapping_add(1 << SHIFT);
            }
            if (head >> SHIFT) % LAP == BLOCK_CAP {
                head = head.wrapping_add(1 << SHIFT);
            }
            // Rebase both on the head's lap so the placeholders can be subtracted.
            let lap = (head >> SHIFT) / LAP;
            tail = tail.wrapping_sub((lap * LAP) << SHIFT) >> SHIFT;
            head = head.wrapping_sub((lap * LAP) << SHIFT) >> SHIFT;
            return tail - head - tail / LAP;
        }
    }
}

impl<T> Drop for Queue<T> {
    fn drop(&mut self) {
        let mut head = self.head.0.index.load(Relaxed) & !HAS_NEXT;
        let tail = self.tail.0.index.load(Relaxed) & !HAS_NEXT;
        let mut block = self.head.0.block.load(Relaxed);
        while head >> SHIFT != tail >> SHIFT {
            let offset = (head >> SHIFT) % LAP;
            if offset < BLOCK_CAP {
                // SAFETY: `&mut self`: no push or pop is in flight, so every slot between
                // head and tail holds a written value and its block is alive.
                let slot = unsafe { &(*block).slots[offset] };
                // SAFETY: as above; the value is dropped exactly once.
                slot.value.with_mut(|p| unsafe { (*p).assume_init_drop() });
            } else {
                // SAFETY: as above; the head block is fully read, move on and free it.
                let next = unsafe { (*block).next.load(Relaxed) };
                // SAFETY: the block came from `Block::new` and nothing references it now.
                drop(unsafe { Box::from_raw(block) });
                block = next;
            }
            head = head.wrapping_add(1 << SHIFT);
        }
        // SAFETY: the last block, allocated by `Block::new` and no longer shared.
        drop(unsafe { Box::from_raw(block) });
    }
}

/// Exponential backoff for the short waits above; yields to the scheduler (loom's, under
/// the models) once spinning stops paying.
struct Backoff {
    step: u32,
}

impl Backoff {
    fn new() -> Backoff {
        Backoff { step: 0 }
    }

    fn spin(&mut self) {
        for _ in 0..1u32 << self.step.min(6) {
            crate::loom::spin_loop();
        }
        self.step = (self.step + 1).min(7);
    }

    fn snooze(&mut self) {
        if self.step <= 6 {
            for _ in 0..1u32 << self.step {
                crate::loom::spin_loop();
            }
        } else {
            crate::loom::thread::yield_now();
        }
        self.step = (self.step + 1).min(10);
    }
}

#[cfg(all(test, not(runtime_loom)))]
mod tests {
    use super::*;

    #[test]
    fn fifo_across_blocks() {
        let q = Queue::new();
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
    fn drop_frees_values_left_in_it() {
        let value = std::sync::Arc::new(());
        let q = Queue::new();
        for _ in 0..100 {
            q.push(value.clone());
        }
        for _ in 0..40 {
            drop(q.pop());
        }
        drop(q);
        assert_eq!(std::sync::Arc::strong_count(&value), 1);
    }

    #[test]
    fn concurrent_producers_and_consumers_see_every_value_once() {
        use std::sync::atomic::AtomicBool;
        use std::sync::Arc;
        const PRODUCERS: usize = 4;
        const PER: usize = 20_000;
        let q = Arc::new(Queue::new());
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
    use super::Queue;
    use crate::loom::{thread, Arc};

    /// Two producers racing across a block boundary; the consumer sees each value once and
    /// each producer's values in order, and nothing leaks (loom checks the frees).
    #[test]
    fn two_producers_one_consumer() {
        loom::model(|| {
            let q = Arc::new(Queue::new());
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
            let q = Arc::new(Queue::new());
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
}
