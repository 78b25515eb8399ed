//! The hierarchical timing wheel: 6 levels × 64 slots, 1 ms per slot at level 0, so level
//! `n` slots are `64ⁿ` ms wide and the whole wheel spans `64⁶` ms (about 2.2 years; later
//! deadlines are parked in the top level and re-placed when they come round).
//!
//! An entry lives in the level given by the highest bit in which its deadline differs from
//! the wheel's `elapsed` time, in the slot its deadline falls into at that level; each
//! level keeps a 64-bit occupancy mask, so finding the next expiry is a rotate and a
//! trailing-zero count per level. Insert and cancel are O(1) (intrusive doubly linked
//! lists through the `TimerNode`s, which live inside the pinned `Sleep` futures, so a
//! dropped `Sleep` leaves nothing behind and the wheel allocates nothing per timer). When
//! a slot of a higher level comes due, its entries either fire or cascade to lower levels.
//!
//! The driver keeps one wheel per shard (see `driver`), each behind its own mutex: `&mut
//! Wheel` is that lock, and a node is only ever linked in one wheel at a time.

use crate::time::entry::TimerNode;
use std::ptr::NonNull;
use std::task::Waker;

const LEVELS: usize = 6;
const SLOTS: usize = 64;
const SLOT_BITS: u32 = 6;
/// Ticks covered by the whole wheel.
const MAX_DURATION: u64 = 1 << (SLOT_BITS as u64 * LEVELS as u64);

pub(crate) struct Wheel {
    /// Which shard this is: a node may only be linked here if it says so (checked in
    /// debug builds, where a sharding slip would otherwise corrupt another wheel's lists).
    shard: u32,
    elapsed: u64,
    levels: [Level; LEVELS],
    len: usize,
}

struct Level {
    level: usize,
    occupied: u64,
    slots: [List; SLOTS],
}

#[derive(Default, Clone, Copy)]
struct List {
    head: Option<NonNull<TimerNode>>,
    tail: Option<NonNull<TimerNode>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Expiration {
    level: usize,
    slot: usize,
    pub(crate) deadline: u64,
}

// SAFETY: the nodes are only touched under the mutex of the shard that owns the wheel.
unsafe impl Send for Wheel {}

fn slot_range(level: usize) -> u64 {
    1 << (SLOT_BITS as usize * level)
}

fn level_range(level: usize) -> u64 {
    slot_range(level) * SLOTS as u64
}

fn level_for(elapsed: u64, when: u64) -> usize {
    const SLOT_MASK: u64 = (1 << SLOT_BITS) - 1;
    let mut masked = (elapsed ^ when) | SLOT_MASK;
    if masked >= MAX_DURATION {
        masked = MAX_DURATION - 1;
    }
    let significant = 63 - masked.leading_zeros() as usize;
    significant / SLOT_BITS as usize
}

fn slot_for(when: u64, level: usize) -> usize {
    ((when >> (SLOT_BITS as usize * level)) as usize) & (SLOTS - 1)
}

impl Wheel {
    pub(crate) fn new(shard: u32) -> Wheel {
        Wheel {
            shard,
            elapsed: 0,
            levels: std::array::from_fn(|level| Level {
                level,
                occupied: 0,
                slots: [List::default(); SLOTS],
            }),
            len: 0,
        }
    }

    pub(crate) fn elapsed(&self) -> u64 {
        self.elapsed
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Inserts `node`, which must not be in the wheel, for its `when`. Returns `Err` (and
    /// inserts nothing) if that time has already passed.
    ///
    /// # Safety
    ///
    /// `node` is pinned and stays valid until removed or fired; the caller holds the lock.
    pub(crate) unsafe fn insert(&mut self, node: NonNull<TimerNode>) -> Result<(), ()> {
        // SAFETY: the node is valid (the caller's contract).
        let shard = unsafe { node.as_ref() }.shard;
        debug_assert_eq!(shard, self.shard, "node in another shard");
        // SAFETY: the caller holds the lock that guards the node's fields.
        let inner = unsafe { node.as_ref().inner() };
        if inner.when <= self.elapsed {
            return Err(());
        }
        // Deadlines past the wheel's span wait in the top-level slot just behind the
        // current one (a full rotation ahead) and are re-placed when it comes due. Not
        // the current slot: its start is already past, so it would come due at once.
        let top_shift = SLOT_BITS as usize * (LEVELS - 1);
        let furthest = ((self.elapsed >> top_shift) + SLOTS as u64 - 1) << top_shift;
        let place = inner.when.min(furthest);
        let level = level_for(self.elapsed, place);
        let slot = slot_for(place, level);
        inner.slot = Some((level as u8, slot as u8));
        let list = &mut self.levels[level].slots[slot];
        inner.prev = list.tail;
        inner.next = None;
        match list.tail {
            // SAFETY: linked nodes are valid while in the wheel; we hold the lock.
            Some(tail) => unsafe { tail.as_ref().inner().next = Some(node) },
            None => list.head = Some(node),
        }
        list.tail = Some(node);
        self.levels[level].occupied |= 1 << slot;
        self.len += 1;
        Ok(())
    }

    /// Unlinks `node` if it is in the wheel.
    ///
    /// # Safety
    ///
    /// As [`insert`](Wheel::insert).
    pub(crate) unsafe fn remove(&mut self, node: NonNull<TimerNode>) {
        // SAFETY: the caller holds the lock that guards the node's fields.
        let inner = unsafe { node.as_ref().inner() };
        let Some((level, slot)) = inner.slot.take() else {
            return;
        };
        // SAFETY: the node is valid (the caller's contract).
        let shard = unsafe { node.as_ref() }.shard;
        debug_assert_eq!(shard, self.shard, "node in another shard");
        let (level, slot) = (level as usize, slot as usize);
        let list = &mut self.levels[level].slots[slot];
        match inner.prev {
            // SAFETY: neighbours are valid while in the wheel; we hold the lock.
            Some(prev) => unsafe { prev.as_ref().inner().next = inner.next },
            None => list.head = inner.next,
        }
        match inner.next {
            // SAFETY: as above.
            Some(next) => unsafe { next.as_ref().inner().prev = inner.prev },
            None => list.tail = inner.prev,
        }
        inner.prev = None;
        inner.next = None;
        if list.head.is_none() {
            self.levels[level].occupied &= !(1 << slot);
        }
        self.len -= 1;
    }

    /// The earliest slot that comes due.
    pub(crate) fn next_expiration(&self) -> Option<Expiration> {
        self.levels
            .iter()
            .find_map(|level| level.next_expiration(self.elapsed))
    }

    /// Fires every entry due at `now`, collecting their wakers with their deadline ticks in
    /// deadline order; cascades the rest.
    pub(crate) fn poll(&mut self, now: u64, wake: &mut Vec<(u64, Waker)>) {
        while let Some(expiration) = self.next_expiration() {
            if expiration.deadline > now {
                break;
            }
            let mut list =
                std::mem::take(&mut self.levels[expiration.level].slots[expiration.slot]);
            self.levels[expiration.level].occupied &= !(1 << expiration.slot);
            self.elapsed = self.elapsed.max(expiration.deadline);
            while let Some(node) = list.head {
                // SAFETY: nodes in the wheel are valid; we hold the lock.
                let inner = unsafe { node.as_ref().inner() };
                list.head = inner.next;
                inner.prev = None;
                inner.next = None;
                inner.slot = None;
                self.len -= 1;
                if inner.when <= expiration.deadline {
                    // SAFETY: as above.
                    unsafe { node.as_ref() }.fire(inner, wake);
                } else {
                    // Due later within this slot's span: re-place it in a lower level.
                    // SAFETY: the node is out of every list and still valid.
                    let res = unsafe { self.insert(node) };
                    debug_assert!(res.is_ok());
                }
            }
        }
        self.elapsed = self.elapsed.max(now);
    }

    /// Unlinks every entry (driver shutdown) and collects their wakers.
    pub(crate) fn drain(&mut self, wake: &mut Vec<(u64, Waker)>) {
        for level in self.levels.iter_mut() {
            for list in level.slots.iter_mut() {
                while let Some(node) = list.head {
                    // SAFETY: nodes in the wheel are valid; we hold the lock.
                    let inner = unsafe { node.as_ref().inner() };
                    list.head = inner.next;
                    inner.prev = None;
                    inner.next = None;
                    inner.slot = None;
                    wake.extend(inner.waker.take().map(|waker| (inner.when, waker)));
                }
                list.tail = None;
            }
            level.occupied = 0;
        }
        self.len = 0;
    }
}

impl Level {
    fn next_expiration(&self, now: u64) -> Option<Expiration> {
        if self.occupied == 0 {
            return None;
        }
        let now_slot = slot_for(now, self.level) as u32;
        let slot =
            ((self.occupied.rotate_right(now_slot).trailing_zeros() + now_slot) as usize) % SLOTS;
        let level_start = now & !(level_range(self.level) - 1);
        let mut deadline = level_start + slot as u64 * slot_range(self.level);
        if deadline <= now && slot as u32 != now_slot {
            // Only the top level wraps: a slot "behind" now is one rotation ahead.
            deadline += level_range(self.level);
        }
        Some(Expiration {
            level: self.level,
            slot,
            deadline,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::Pin;

    /// Inserts nodes for `whens`, then advances time tick by tick (and in big jumps),
    /// checking each node fires exactly at the first poll with `now >= when`.
    fn check_fires_on_time(whens: &[u64], step: impl Fn(u64) -> u64, end: u64) {
        let mut wheel = Wheel::new(0);
        let nodes: Vec<Pin<Box<TimerNode>>> =
            whens.iter().map(|_| Box::pin(TimerNode::new())).collect();
        for (node, &when) in nodes.iter().zip(whens) {
            let ptr = NonNull::from(&**node);
            // SAFETY: the nodes are pinned in boxes that outlive the wheel's use of them.
            unsafe {
                ptr.as_ref().inner().when = when;
                wheel.insert(ptr).expect("deadline in the future");
            }
        }
        let mut now = 0;
        let mut wake = Vec::new();
        while now < end {
            now = step(now);
            wheel.poll(now, &mut wake);
            for (node, &when) in nodes.iter().zip(whens) {
                assert_eq!(
                    node.is_fired(),
                    when <= now,
                    "timer for {when} at now = {now}: fired early or late"
                );
            }
        }
        assert!(wheel.is_empty());
    }

    #[test]
    fn fires_exactly_when_due_across_levels() {
        let whens = [
            1, 2, 63, 64, 65, 127, 128, 4095, 4096, 4097, 70_000, 300_000,
        ];
        check_fires_on_time(&whens, |now| now + 1, 300_001);
    }

    #[test]
    fn fires_when_time_jumps() {
        let whens: Vec<u64> = (1..200).map(|i| i * 37 % 5_000 + 1).collect();
        // Irregular jumps, as when the driver parks for a while or a worker is late.
        check_fires_on_time(&whens, |now| now + 1 + (now * 7919) % 311, 6_000);
    }

    #[test]
    fn removed_timers_never_fire() {
        let mut wheel = Wheel::new(0);
        let a = Box::pin(TimerNode::new());
        let b = Box::pin(TimerNode::new());
        let (pa, pb) = (NonNull::from(&*a), NonNull::from(&*b));
        // SAFETY: the nodes are pinned in boxes that outlive the wheel's use of them.
        unsafe {
            pa.as_ref().inner().when = 100;
            pb.as_ref().inner().when = 100;
            wheel.insert(pa).unwrap();
            wheel.insert(pb).unwrap();
            wheel.remove(pa);
        }
        let mut wake = Vec::new();
        wheel.poll(1_000, &mut wake);
        assert!(!a.is_fired());
        assert!(b.is_fired());
        assert!(wheel.is_empty());
    }

    #[test]
    fn past_deadlines_are_refused() {
        let mut wheel = Wheel::new(0);
        let mut wake = Vec::new();
        wheel.poll(50, &mut wake);
        let node = Box::pin(TimerNode::new());
        let ptr = NonNull::from(&*node);
        // SAFETY: as above.
        unsafe {
            ptr.as_ref().inner().when = 50;
            assert!(wheel.insert(ptr).is_err());
            ptr.as_ref().inner().when = 51;
            assert!(wheel.insert(ptr).is_ok());
            wheel.remove(ptr);
        }
    }

    #[test]
    fn far_deadlines_wait_in_the_top_level() {
        for start in [0, 12_345, MAX_DURATION / 64 * 5 + 7] {
            far_deadline_from(start);
        }
    }

    fn far_deadline_from(start: u64) {
        let mut wheel = Wheel::new(0);
        wheel.poll(start, &mut Vec::new());
        let node = Box::pin(TimerNode::new());
        let ptr = NonNull::from(&*node);
        let when = MAX_DURATION * 3 + 12_345;
        // SAFETY: as above.
        unsafe {
            ptr.as_ref().inner().when = when;
            wheel.insert(ptr).unwrap();
        }
        let mut wake = Vec::new();
        let mut now = start;
        while now < when - 1 {
            now = (now + MAX_DURATION / 7).min(when - 1);
            wheel.poll(now, &mut wake);
            assert!(!node.is_fired(), "fired at {now}, due at {when}");
        }
        wheel.poll(when, &mut wake);
        assert!(node.is_fired());
    }

    #[test]
    fn levels_grow_with_distance() {
        assert_eq!(level_for(0, 1), 0);
        assert_eq!(level_for(0, 63), 0);
        assert_eq!(level_for(0, 64), 1);
        assert_eq!(level_for(0, 4095), 1);
        assert_eq!(level_for(0, 4096), 2);
        assert_eq!(level_for(0, MAX_DURATION - 1), LEVELS - 1);
        assert_eq!(level_for(0, u64::MAX), LEVELS - 1);
    }
}
