//! The per-worker run queue: a fixed ring of 256 slots, one producer (its worker), any
//! number of stealers, and steal-half in one CAS.
//!
//! `head` packs two 32-bit positions: `real`, where the owner pops, and `steal`, where a
//! stealer in progress started copying. While `steal != real` a steal is copying slots
//! `steal..real` out, so the owner must not overwrite them: it routes pushes to the injector
//! instead of waiting. A stealer claims half of the queue by moving `real` forward with one
//! CAS (leaving `steal` behind), copies the claimed slots into its own queue, then moves
//! `steal` up to `real` with a second CAS. `tail` is written only by the owner.
//!
//! On overflow the owner moves half of the ring (128 tasks) plus the new one to the
//! injector in one batch, so a burst of spawns costs one injector lock per 128 tasks.

use crate::loom::atomic::{AtomicU32, AtomicU64, Ordering::*};
use crate::loom::{Arc, UnsafeCell};
use std::mem::MaybeUninit;

/// 256 slots; 4 under loom, so the models can fill it and overflow in few steps.
pub(crate) const CAPACITY: usize = if cfg!(runtime_loom) { 4 } else { 256 };
const MASK: usize = CAPACITY - 1;

/// Where tasks go when the ring is full or a steal blocks the slots.
pub(crate) trait Overflow<T> {
    fn push(&self, task: T);
    fn push_batch(&self, tasks: impl Iterator<Item = T>);
}

struct Inner<T> {
    head: AtomicU64,
    tail: AtomicU32,
    buffer: Box<[UnsafeCell<MaybeUninit<T>>; CAPACITY]>,
}

/// The owner's end: push and pop.
pub(crate) struct Local<T> {
    inner: Arc<Inner<T>>,
}

/// Another worker's end: steal.
pub(crate) struct Steal<T>(Arc<Inner<T>>);

// SAFETY: the slots hand `T`s between threads, so `T: Send` is all that is needed; the
// head/tail protocol gives each slot a single accessor at a time.
unsafe impl<T: Send> Send for Inner<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Inner<T> {}

fn unpack(n: u64) -> (u32, u32) {
    ((n >> 32) as u32, n as u32)
}

fn pack(steal: u32, real: u32) -> u64 {
    ((steal as u64) << 32) | real as u64
}

pub(crate) fn local<T>() -> (Steal<T>, Local<T>) {
    let buffer: Box<[UnsafeCell<MaybeUninit<T>>]> = (0..CAPACITY)
        .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
        .collect();
    let buffer = buffer
        .try_into()
        .unwrap_or_else(|_| unreachable!("buffer has CAPACITY slots"));
    let inner = Arc::new(Inner {
        head: AtomicU64::new(0),
        tail: AtomicU32::new(0),
        buffer,
    });
    (Steal(inner.clone()), Local { inner })
}

impl<T> Inner<T> {
    fn len(&self) -> usize {
        let (_, head) = unpack(self.head.load(Acquire));
        let tail = self.tail.load(Acquire);
        tail.wrapping_sub(head) as usize
    }

    /// # Safety
    ///
    /// The slot at `idx` must be initialised and owned by the caller (claimed by the
    /// head/tail protocol).
    unsafe fn take(&self, idx: u32) -> T {
        // SAFETY: the caller owns the initialised slot.
        self.buffer[idx as usize & MASK].with(|ptr| unsafe { (*ptr).assume_init_read() })
    }

    /// # Safety
    ///
    /// The slot at `idx` must be free and owned by the caller.
    unsafe fn put(&self, idx: u32, task: T) {
        // SAFETY: the caller owns the free slot.
        self.buffer[idx as usize & MASK].with_mut(|ptr| unsafe { (*ptr).write(task) });
    }
}

impl<T> Local<T> {
    pub(crate) fn len(&self) -> usize {
        self.inner.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Free slots (ignoring a steal in progress).
    pub(crate) fn remaining_slots(&self) -> usize {
        let (steal, _) = unpack(self.inner.head.load(Acquire));
        let tail = self.inner.tail.load(Relaxed);
        CAPACITY - tail.wrapping_sub(steal) as usize
    }

    /// Pushes a batch that is known to fit (see [`remaining_slots`](Self::remaining_slots)).
    pub(crate) fn push_back_batch(&mut self, tasks: impl ExactSizeIterator<Item = T>) {
        let len = tasks.len();
        assert!(
            len <= self.remaining_slots(),
            "batch does not fit the local queue"
        );
        let mut tail = self.inner.tail.load(Relaxed);
        for task in tasks {
            // SAFETY: `remaining_slots` guarantees these slots are free; only we write them.
            unsafe { self.inner.put(tail, task) };
            tail = tail.wrapping_add(1);
        }
        self.inner.tail.store(tail, Release);
    }

    /// Pushes to the back, moving half the queue to `overflow` when full.
    pub(crate) fn push_back_or_overflow<O: Overflow<T>>(&mut self, mut task: T, overflow: &O) {
        let tail = loop {
            let head = self.inner.head.load(Acquire);
            let (steal, real) = unpack(head);
            // Only we write `tail`.
            let tail = self.inner.tail.load(Relaxed);
            if tail.wrapping_sub(steal) < CAPACITY as u32 {
                break tail;
            } else if steal != real {
                // A stealer is copying out the slots we would reuse; don't wait for it.
                overflow.push(task);
                return;
            } else {
                match self.push_overflow(task, real, tail, overflow) {
                    Ok(()) => return,
                    // A stealer took some meanwhile: there is room now.
                    Err(back) => task = back,
                }
            }
        };
        // SAFETY: `tail - steal < CAPACITY`, so the slot at `tail` is free and only the
        // owner writes free slots.
        unsafe { self.inner.put(tail, task) };
        self.inner.tail.store(tail.wrapping_add(1), Release);
    }

    fn push_overflow<O: Overflow<T>>(
        &mut self,
        task: T,
        head: u32,
        tail: u32,
        overflow: &O,
    ) -> Result<(), T> {
        const HALF: u32 = (CAPACITY / 2) as u32;
        assert_eq!(
            tail.wrapping_sub(head),
            CAPACITY as u32,
            "queue is not full"
        );
        let prev = pack(head, head);
        let next = pack(head.wrapping_add(HALF), head.wrapping_add(HALF));
        if self
            .inner
            .head
            .compare_exchange(prev, next, Release, Relaxed)
            .is_err()
        {
            return Err(task);
        }
        let inner = &self.inner;
        // SAFETY: the CAS claimed slots `head..head + HALF` for us.
        let batch = (0..HALF).map(move |i| unsafe { inner.take(head.wrapping_add(i)) });
        overflow.push_batch(batch.chain(std::iter::once(task)));
        Ok(())
    }

    /// Pops from the front.
    pub(crate) fn pop(&mut self) -> Option<T> {
        let mut head = self.inner.head.load(Acquire);
        let idx = loop {
            let (steal, real) = unpack(head);
            let tail = self.inner.tail.load(Relaxed);
            if real == tail {
                return None;
            }
            let next_real = real.wrapping_add(1);
            let next = if steal == real {
                pack(next_real, next_real)
            } else {
                debug_assert_ne!(steal, next_real);
                pack(steal, next_real)
            };
            match self
                .inner
                .head
                .compare_exchange(head, next, AcqRel, Acquire)
            {
                Ok(_) => break real,
                Err(actual) => head = actual,
            }
        };
        // SAFETY: the CAS moved `real` past `idx`, claiming that initialised slot.
        Some(unsafe { self.inner.take(idx) })
    }
}

impl<T> Drop for Local<T> {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            assert!(self.pop().is_none(), "local queue not empty at drop");
        }
    }
}

impl<T> Steal<T> {
    pub(crate) fn is_empty(&self) -> bool {
        self.0.len() == 0
    }

    /// Steals half of this queue into `dst` and returns one of the stolen tasks.
    pub(crate) fn steal_into(&self, dst: &mut Local<T>) -> Option<T> {
        let dst_tail = dst.inner.tail.load(Relaxed);
        let (steal, _) = unpack(dst.inner.head.load(Acquire));
        if dst_tail.wrapping_sub(steal) > CAPACITY as u32 / 2 {
            // Our own queue is half full: no room for half of another one.
            return None;
        }
        let mut n = self.steal_into2(dst, dst_tail);
        if n == 0 {
            return None;
        }
        // Return the last stolen task directly; publish the rest.
        n -= 1;
        let ret_pos = dst_tail.wrapping_add(n);
        // SAFETY: `steal_into2` initialised `dst_tail..dst_tail + n + 1`, which only we
        // (the owner of `dst`) may touch until `tail` is published.
        let ret = unsafe { dst.inner.take(ret_pos) };
        if n > 0 {
            dst.inner.tail.store(ret_pos, Release);
        }
        Some(ret)
    }

    /// Claims half of `self`, copies it to `dst` starting at `dst_tail`; returns the count.
    fn steal_into2(&self, dst: &mut Local<T>, dst_tail: u32) -> u32 {
        let mut prev = self.0.head.load(Acquire);
        let mut next;
        let n = loop {
            let (src_steal, src_real) = unpack(prev);
            if src_steal != src_real {
                // Another worker is stealing from this queue right now.
                return 0;
            }
            let src_tail = self.0.tail.load(Acquire);
            let n = src_tail.wrapping_sub(src_real);
            let n = n - n / 2;
            if n == 0 {
                return 0;
            }
            next = pack(src_steal, src_real.wrapping_add(n));
            match self.0.head.compare_exchange(prev, next, AcqRel, Acquire) {
                Ok(_) => break n,
                Err(actual) => prev = actual,
            }
        };
        let (first, _) = unpack(next);
        for i in 0..n {
            // SAFETY: the CAS claimed `first..first + n` in the source (the owner won't
            // overwrite them while `steal != real`), and `dst` has room past its tail.
            unsafe {
                let task = self.0.take(first.wrapping_add(i));
                dst.inner.put(dst_tail.wrapping_add(i), task);
            }
        }
        // Done copying: let `steal` catch up with `real`.
        let mut prev = next;
        loop {
            let (_, real) = unpack(prev);
            match self
                .0
                .head
                .compare_exchange(prev, pack(real, real), AcqRel, Acquire)
            {
                Ok(_) => return n,
                Err(actual) => {
                    let (steal, real) = unpack(actual);
                    debug_assert_ne!(steal, real);
                    prev = actual;
                }
            }
        }
    }
}

impl<T> Clone for Steal<T> {
    fn clone(&self) -> Steal<T> {
        Steal(self.0.clone())
    }
}

#[cfg(all(test, runtime_loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Mutex;
    use loom::thread;

    /// Counts what overflowed; the model checks nothing is lost or duplicated.
    #[derive(Default)]
    struct Sink(Mutex<Vec<usize>>);

    impl Overflow<usize> for Sink {
        fn push(&self, task: usize) {
            self.0.lock().unwrap().push(task);
        }
        fn push_batch(&self, tasks: impl Iterator<Item = usize>) {
            self.0.lock().unwrap().extend(tasks);
        }
    }

    fn check_all_once(mut seen: Vec<usize>, n: usize) {
        seen.sort_unstable();
        assert_eq!(
            seen,
            (0..n).collect::<Vec<_>>(),
            "a task was lost or duplicated"
        );
    }

    #[test]
    fn push_pop_steal() {
        loom::model(|| {
            let (steal, mut owner) = local::<usize>();
            let sink = Sink::default();
            let stealer = thread::spawn(move || {
                let (_, mut mine) = local::<usize>();
                let mut got = Vec::new();
                if let Some(t) = steal.steal_into(&mut mine) {
                    got.push(t);
                    while let Some(t) = mine.pop() {
                        got.push(t);
                    }
                }
                got
            });
            let mut seen = Vec::new();
            for i in 0..4 {
                owner.push_back_or_overflow(i, &sink);
            }
            if let Some(t) = owner.pop() {
                seen.push(t);
            }
            seen.extend(stealer.join().unwrap());
            while let Some(t) = owner.pop() {
                seen.push(t);
            }
            seen.extend(sink.0.lock().unwrap().drain(..));
            check_all_once(seen, 4);
        });
    }

    #[test]
    fn concurrent_stealers() {
        loom::model(|| {
            let (steal, mut owner) = local::<usize>();
            let sink = Sink::default();
            for i in 0..4 {
                owner.push_back_or_overflow(i, &sink);
            }
            let stealers: Vec<_> = (0..2)
                .map(|_| {
                    let steal = steal.clone();
                    thread::spawn(move || {
                        let (_, mut mine) = local::<usize>();
                        let mut got = Vec::new();
                        if let Some(t) = steal.steal_into(&mut mine) {
                            got.push(t);
                            while let Some(t) = mine.pop() {
                                got.push(t);
                            }
                        }
                        got
                    })
                })
                .collect();
            let mut seen = Vec::new();
            while let Some(t) = owner.pop() {
                seen.push(t);
            }
            for s in stealers {
                seen.extend(s.join().unwrap());
            }
            check_all_once(seen, 4);
        });
    }

    #[test]
    fn overflow_while_stealing() {
        loom::model(|| {
            let (steal, mut owner) = local::<usize>();
            let sink = Arc::new(Sink::default());
            // Fill the ring, so the next push overflows unless a steal is in progress.
            for i in 0..CAPACITY {
                owner.push_back_or_overflow(i, &*sink);
            }
            let stealer = thread::spawn(move || {
                let (_, mut mine) = local::<usize>();
                let mut got = Vec::new();
                if let Some(t) = steal.steal_into(&mut mine) {
                    got.push(t);
                    while let Some(t) = mine.pop() {
                        got.push(t);
                    }
                }
                got
            });
            owner.push_back_or_overflow(CAPACITY, &*sink);
            let mut seen = stealer.join().unwrap();
            while let Some(t) = owner.pop() {
                seen.push(t);
            }
            seen.extend(sink.0.lock().unwrap().drain(..));
            check_all_once(seen, CAPACITY + 1);
        });
    }
}
