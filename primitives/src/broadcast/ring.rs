//! The engine of a broadcast channel: a ring of slots, each behind its own read-write lock
//! and counting the receivers still to read it, and a tail lock that orders the sends.
//!
//! # Positions and stamps
//!
//! Every message gets a position (`u64`, never wraps in practice); it lives in slot
//! `pos % capacity` until the send `capacity` positions later overwrites it. A slot's `stamp`
//! is the position it holds plus one (0: never written), so a receiver whose next position is
//! `next` reads its slot and finds one of three things:
//!
//! - `stamp == next + 1`: the message; clone it (read lock), count itself off `rem`;
//! - `stamp < next + 1`: not sent yet (the slot still holds an older lap, or nothing);
//! - `stamp > next + 1`: overwritten: the receiver lagged. Under the tail lock it moves to the
//!   oldest position still held (`tail - capacity`) and reports how many it missed.
//!
//! # Who holds which lock
//!
//! - A send takes the tail lock, then the slot's write lock: it writes the slot and advances
//!   the tail together, so under the tail lock every position below the tail is written. The
//!   value it overwrites is dropped after both locks are released.
//! - A receive takes only its slot's read lock on the fast path: receivers of one message
//!   clone it in parallel, and a receiver never waits for another. The tail lock is taken only
//!   to settle a lag.
//! - `rem` (atomic) counts the receivers, alive when the message was sent, that have not read
//!   it yet. Whoever takes it to zero (the last reader, or a receiver dropped with the message
//!   unread) takes the value out, so a message everyone has read holds no memory. That write
//!   under a read lock is exclusive: every other receiver that may read the slot is counted in
//!   `rem` and has finished its clone before its decrement (`AcqRel`), and a receiver not
//!   counted never reads this position (it subscribed later, at a later tail).
//!
//! Lock order: tail, then a slot. A receiver never holds a slot while taking the tail.
//!
//! # Why this design
//!
//! Fan-out is the workload: one message, many readers. One lock around the ring would make
//! the readers of each message take turns; per-slot read locks let them clone at once, and the
//! sender contends only with readers of the one slot it overwrites (the oldest, which a
//! receiver reads only when it is a full ring behind). Senders never wait for room: like
//! tokio's, a full ring overwrites its oldest message and the slow receiver learns it by a
//! `Lagged` error. The ring keeps the capacity asked for (no rounding up to a power of two), so
//! `Lagged(n)` counts in the units the user chose.
//!
//! # Waking receivers
//!
//! Receivers wait in the channel's waiter list with its lock-free count. A send publishes its
//! slot (locks released), issues a `SeqCst` fence and reads the count; a waiter stores the
//! count, fences, and reads its slot again. One of the two sees the other (Dekker's pair),
//! and a send that nobody waits for takes no lock but its own two.

use std::sync::PoisonError;

use crate::channel::chan::Waiters;
use crate::loom::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
use crate::loom::{Mutex, RwLock, RwLockReadGuard, UnsafeCell};
use crate::waiter_list::lock;

use super::error::TryRecvError;

/// One message of the ring.
struct Slot<T> {
    /// The position held plus one; 0 when never written.
    stamp: u64,
    /// Receivers still to read this message.
    rem: AtomicUsize,
    /// The message: written under the write lock; read (cloned) under the read lock; taken
    /// under the read lock only by whoever brought `rem` to zero (module docs).
    value: UnsafeCell<Option<T>>,
}

// SAFETY: receivers clone the value through `&T` on several threads at once (hence
// `T: Sync`) and the last of them takes it out (hence `T: Send`); every access follows the
// locking rules in the module docs.
unsafe impl<T: Send + Sync> Sync for Slot<T> {}

struct Tail {
    /// The position of the next message sent.
    pos: u64,
    receivers: usize,
}

pub(super) struct Shared<T> {
    slots: Box<[RwLock<Slot<T>>]>,
    /// `capacity - 1` when the capacity is a power of two: the slot index without a division.
    mask: Option<u64>,
    tail: Mutex<Tail>,
    senders: AtomicUsize,
    /// Set once the last sender is gone.
    closed: AtomicBool,
    /// Receivers waiting in `recv`.
    pub(super) recv_waiters: Waiters,
    /// Senders waiting in `closed`.
    pub(super) closed_waiters: Waiters,
}

fn read<T>(slot: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    // Nothing panics while a slot is locked but a user's `Clone`, which leaves the slot as it
    // was.
    slot.read().unwrap_or_else(PoisonError::into_inner)
}

impl<T> Shared<T> {
    /// A ring of `capacity` empty slots, with one sender and one receiver (at position 0).
    pub(super) fn new(capacity: usize) -> Shared<T> {
        let slots = (0..capacity)
            .map(|_| {
                RwLock::new(Slot {
                    stamp: 0,
                    rem: AtomicUsize::new(0),
                    value: UnsafeCell::new(None),
                })
            })
            .collect();
        Shared {
            slots,
            mask: capacity.is_power_of_two().then_some(capacity as u64 - 1),
            tail: Mutex::new(Tail {
                pos: 0,
                receivers: 1,
            }),
            senders: AtomicUsize::new(1),
            closed: AtomicBool::new(false),
            recv_waiters: Waiters::new(),
            closed_waiters: Waiters::new(),
        }
    }

    fn capacity(&self) -> u64 {
        self.slots.len() as u64
    }

    fn slot(&self, pos: u64) -> &RwLock<Slot<T>> {
        let index = match self.mask {
            Some(mask) => pos & mask,
            None => pos % self.capacity(),
        };
        &self.slots[index as usize]
    }

    /// Sends `value` to every receiver alive now; returns how many, or the value if none.
    pub(super) fn send(&self, value: T) -> Result<usize, T> {
        let mut tail = lock(&self.tail);
        if tail.receivers == 0 {
            return Err(value);
        }
        let pos = tail.pos;
        let receivers = tail.receivers;
        let overwritten = {
            let mut slot = self
                .slot(pos)
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            slot.stamp = pos + 1;
            slot.rem.store(receivers, Ordering::Relaxed);
            // SAFETY: the write lock excludes every other access to the cell.
            slot.value
                .with_mut(|cell| unsafe { (*cell).replace(value) })
        };
        tail.pos = pos + 1;
        drop(tail);
        // A message no receiver got to is dropped here, with no lock held.
        drop(overwritten);
        // The sender's half of the Dekker pair (module docs).
        fence(Ordering::SeqCst);
        self.recv_waiters.notify_all_waiting();
        Ok(receivers)
    }

    /// The message at `*next`, moving `*next` on; `Lagged(n)` moves it to the oldest message
    /// held.
    pub(super) fn try_recv(&self, next: &mut u64) -> Result<T, TryRecvError>
    where
        T: Clone,
    {
        let mut closed_seen = false;
        // Bounded: the empty case loops once more after seeing the close (every send came
        // before it), and the lagged case always ends under the tail lock.
        loop {
            let slot = read(self.slot(*next));
            if slot.stamp == *next + 1 {
                // SAFETY: read lock held, and this receiver is counted in `rem` and has not
                // counted itself off: the value is still there, and only a writer (excluded by
                // the read lock) or the one that takes `rem` to zero (not before us) mutates it.
                let value = slot.value.with(|cell| unsafe { (*cell).clone() });
                let value = value.expect("a message not read by every receiver is held");
                *next += 1;
                let taken = self.count_off(&slot);
                drop(slot);
                drop(taken);
                return Ok(value);
            }
            if slot.stamp < *next + 1 {
                drop(slot);
                if closed_seen {
                    return Err(TryRecvError::Closed);
                }
                if !self.closed.load(Ordering::Acquire) {
                    return Err(TryRecvError::Empty);
                }
                // Closed: every send happened before the close; look once more.
                closed_seen = true;
                continue;
            }
            drop(slot);
            let tail = lock(&self.tail);
            let oldest = tail.pos.saturating_sub(self.capacity());
            if *next < oldest {
                let missed = oldest - *next;
                *next = oldest;
                return Err(TryRecvError::Lagged(missed));
            }
            // Unreachable by the stamps' rule (an overwritten slot means the tail is a full
            // ring ahead); read again rather than assume.
        }
    }

    /// Counts one receiver off `slot`'s message; the last one takes the value out, to be
    /// dropped once the lock is released.
    fn count_off(&self, slot: &Slot<T>) -> Option<T> {
        if slot.rem.fetch_sub(1, Ordering::AcqRel) != 1 {
            return None;
        }
        // SAFETY: `rem` reached zero with our decrement: every other receiver counted has
        // finished with the value (its decrement came before ours, `AcqRel`), no receiver not
        // counted reads this position, and writers are excluded by the read lock we hold.
        slot.value.with_mut(|cell| unsafe { (*cell).take() })
    }

    /// A new receiver's first position: the tail (it sees only messages sent from now on).
    pub(super) fn subscribe(&self) -> u64 {
        let mut tail = lock(&self.tail);
        tail.receivers += 1;
        tail.pos
    }

    /// A receiver whose next position was `next` is gone: counts it off every message it
    /// had not read, so their values are freed once the others have read them.
    pub(super) fn drop_receiver(&self, next: u64) {
        let (tail_pos, last) = {
            let mut tail = lock(&self.tail);
            tail.receivers -= 1;
            (tail.pos, tail.receivers == 0)
        };
        // Sends from now on don't count this receiver; those before counted it for every
        // position from `next` that is still held.
        let start = next.max(tail_pos.saturating_sub(self.capacity()));
        for pos in start..tail_pos {
            let slot = read(self.slot(pos));
            if slot.stamp == pos + 1 {
                let taken = self.count_off(&slot);
                drop(slot);
                drop(taken);
            }
        }
        if last {
            self.closed_waiters.notify_all();
        }
    }

    /// How many messages from `next` on were sent and not yet read by this receiver.
    pub(super) fn pending_from(&self, next: u64) -> usize {
        let tail = lock(&self.tail);
        usize::try_from(tail.pos - next).unwrap_or(usize::MAX)
    }

    /// How many messages are held for at least one receiver.
    pub(super) fn len(&self) -> usize {
        let tail = lock(&self.tail);
        // Within the held window, read messages are the oldest ones (each receiver reads in
        // order): binary-search the first one still unread by someone.
        let mut low = tail.pos.saturating_sub(self.capacity());
        let mut high = tail.pos;
        while low < high {
            let mid = low + (high - low) / 2;
            if read(self.slot(mid)).rem.load(Ordering::Acquire) > 0 {
                high = mid;
            } else {
                low = mid + 1;
            }
        }
        (tail.pos - low) as usize
    }

    pub(super) fn receiver_count(&self) -> usize {
        lock(&self.tail).receivers
    }

    pub(super) fn receivers_gone(&self) -> bool {
        self.receiver_count() == 0
    }

    pub(super) fn add_sender(&self) {
        self.senders.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn sender_count(&self) -> usize {
        self.senders.load(Ordering::Relaxed)
    }

    /// The last sender closes the channel and wakes every waiting receiver.
    pub(super) fn drop_sender(&self) {
        if self.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.closed.store(true, Ordering::Release);
            // Takes the list's lock whoever waits: a receiver that registers after it reads
            // the flag after this store.
            self.recv_waiters.notify_all();
        }
    }

    pub(super) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        // The values still held drop with their slots; nothing else to free.
        debug_assert_eq!(lock(&self.tail).receivers, 0);
    }
}
