//! The shared core of a channel: the lock-free queue of the chosen flavor, the handle counts,
//! and the two waiter lists (senders waiting for room, receivers waiting for a value).
//!
//! # Wake-ups without a lock on the fast path
//!
//! A send into a non-full channel and a receive from a non-empty one touch only the queue.
//! The waiter lists are locked only when someone waits, which the other side learns from
//! [`Waiters::waiting`], a mirror of the list's length kept under its lock. The protocol is
//! Dekker's, with `SeqCst` on both sides:
//!
//! - a waiter registers (mirror store, `SeqCst`), issues a `SeqCst` fence, then tries the
//!   queue again before it sleeps;
//! - the other side changes the queue with a `SeqCst` read-modify-write, then loads the mirror
//!   (`SeqCst`) and, if it is not zero, notifies the first waiter.
//!
//! Either the waiter's second try sees the change, or the other side sees the waiter. A
//! notified waiter that finds nothing (another receiver was faster) registers again; one that
//! is dropped, or that got its value on its second try, passes the notification on, so a
//! queued value never sits beside a sleeping waiter. Closing notifies every waiter of both
//! lists.

use core::pin::Pin;
use core::task::{Context, Poll};

use super::bounded::Ring;
use super::outcome::{PopError, PushError};
use super::unbounded::List;
use crate::loom::atomic::{fence, AtomicUsize, Ordering};
use crate::loom::Mutex;
use crate::waiter_list::{
    lock, notify_batched, poll_wait, Status, WaitPoll, Waiter, WaiterList, WakeList,
};

/// The queue under a channel.
pub(crate) enum Flavor<T> {
    Bounded(Ring<T>),
    Unbounded(List<T>),
}

pub(crate) struct Chan<T> {
    flavor: Flavor<T>,
    senders: AtomicUsize,
    receivers: AtomicUsize,
    /// Senders and reservations waiting for room (bounded only).
    pub(crate) send_waiters: Waiters,
    /// Receivers waiting for a value.
    pub(crate) recv_waiters: Waiters,
}

impl<T> Chan<T> {
    /// A channel with one sender and one receiver.
    pub(crate) fn new(flavor: Flavor<T>) -> Chan<T> {
        Chan {
            flavor,
            senders: AtomicUsize::new(1),
            receivers: AtomicUsize::new(1),
            send_waiters: Waiters::new(),
            recv_waiters: Waiters::new(),
        }
    }

    // ===== queue operations, with the wake-ups they owe =====

    pub(crate) fn try_push(&self, value: T) -> Result<(), PushError<T>> {
        match &self.flavor {
            Flavor::Bounded(ring) => ring.push(value)?,
            Flavor::Unbounded(list) => list.push(value)?,
        }
        self.recv_waiters.notify_one();
        Ok(())
    }

    pub(crate) fn try_pop(&self) -> Result<T, PopError> {
        match &self.flavor {
            Flavor::Bounded(ring) => {
                let value = ring.pop()?;
                self.send_waiters.notify_one();
                Ok(value)
            }
            Flavor::Unbounded(list) => list.pop(),
        }
    }

    /// Takes a permit's slot.
    pub(crate) fn try_reserve(&self) -> Result<(), PushError<()>> {
        match &self.flavor {
            Flavor::Bounded(ring) => ring.reserve(),
            Flavor::Unbounded(list) => {
                if list.is_closed() {
                    return Err(PushError::Closed(()));
                }
                list.add_reservation();
                // Store-buffering pair with `close` then the receiver's check of `reserved`:
                // one of the two sides sees the other.
                fence(Ordering::SeqCst);
                if list.is_closed() {
                    // Lost a race with `close`: a receiver may have seen the permit and
                    // decided to wait; giving it back tells it.
                    self.release_permit();
                    return Err(PushError::Closed(()));
                }
                Ok(())
            }
        }
    }

    /// Sends a permit's value (never fails).
    pub(crate) fn push_reserved(&self, value: T) {
        let ended = match &self.flavor {
            Flavor::Bounded(ring) => ring.push_reserved(value),
            Flavor::Unbounded(list) => list.push_reserved(value),
        };
        self.recv_waiters.notify_one();
        if ended {
            self.recv_waiters.notify_all();
        }
    }

    /// Gives back a permit's unused slot.
    pub(crate) fn release_permit(&self) {
        let ended = match &self.flavor {
            Flavor::Bounded(ring) => ring.unreserve(),
            Flavor::Unbounded(list) => list.unreserve(),
        };
        self.send_waiters.notify_one();
        if ended {
            // The last permit of a closed channel: receivers waiting for it learn the end.
            self.recv_waiters.notify_all();
        }
    }

    // ===== state =====

    /// Closes the channel; returns whether this call closed it.
    pub(crate) fn close(&self) -> bool {
        let closed = match &self.flavor {
            Flavor::Bounded(ring) => ring.close(),
            Flavor::Unbounded(list) => list.close(),
        };
        if closed {
            self.send_waiters.notify_all();
            self.recv_waiters.notify_all();
        }
        closed
    }

    pub(crate) fn is_closed(&self) -> bool {
        match &self.flavor {
            Flavor::Bounded(ring) => ring.is_closed(),
            Flavor::Unbounded(list) => list.is_closed(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        match &self.flavor {
            Flavor::Bounded(ring) => ring.len(),
            Flavor::Unbounded(list) => list.len(),
        }
    }

    pub(crate) fn capacity(&self) -> Option<usize> {
        match &self.flavor {
            Flavor::Bounded(ring) => Some(ring.capacity()),
            Flavor::Unbounded(_) => None,
        }
    }

    // ===== handle counts =====

    pub(crate) fn add_sender(&self) {
        self.senders.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add_receiver(&self) {
        self.receivers.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn sender_count(&self) -> usize {
        self.senders.load(Ordering::Relaxed)
    }

    pub(crate) fn receiver_count(&self) -> usize {
        self.receivers.load(Ordering::Relaxed)
    }

    /// The last sender closes the channel.
    pub(crate) fn drop_sender(&self) {
        if self.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.close();
        }
    }

    /// The last receiver closes the channel and drops what is queued: nobody can receive it.
    pub(crate) fn drop_receiver(&self) {
        if self.receivers.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.close();
            while let Ok(value) = self.try_pop() {
                drop(value);
            }
        }
    }
}

// ===== impl Waiters =====

/// The notifier's half of the Dekker pair, between its read-modify-write of the queue and its
/// load of [`Waiters::waiting`].
///
/// In the C++ memory model the `SeqCst` read-modify-write and the `SeqCst` load are already
/// ordered against the waiter's `SeqCst` store and fence (all four sit in the single total
/// order `S`), so this compiles to nothing (on x86 the locked instruction of the
/// read-modify-write is a full barrier anyway). Loom models `SeqCst` accesses as `AcqRel` but
/// does model `SeqCst` fences, so under loom the fence stands in for that guarantee and the
/// models check the protocol itself.
#[inline(always)]
fn notifier_fence() {
    #[cfg(runtime_loom)]
    fence(Ordering::SeqCst);
}

/// A waiter list behind its lock, with a lock-free count of who waits in it.
pub(crate) struct Waiters {
    /// The list's length, stored under the lock after every change (see the module docs).
    waiting: AtomicUsize,
    list: Mutex<WaiterList<()>>,
}

impl Waiters {
    pub(crate) fn new() -> Waiters {
        Waiters {
            waiting: AtomicUsize::new(0),
            list: Mutex::new(WaiterList::new()),
        }
    }

    /// Wakes the first waiter, if any waits. No lock when nobody does.
    #[inline]
    pub(crate) fn notify_one(&self) {
        notifier_fence();
        if self.waiting.load(Ordering::SeqCst) != 0 {
            self.notify_one_slow();
        }
    }

    #[cold]
    fn notify_one_slow(&self) {
        let mut list = lock(&self.list);
        let mut wakers = WakeList::new();
        list.notify_front(&mut wakers, |_| ());
        self.waiting.store(list.len(), Ordering::SeqCst);
        drop(list);
        wakers.wake_all();
    }

    /// Wakes every waiter queued now.
    pub(crate) fn notify_all(&self) {
        let list = lock(&self.list);
        notify_batched(
            &self.list,
            list,
            |list| list,
            usize::MAX,
            |()| {
                self.waiting.fetch_sub(1, Ordering::SeqCst);
            },
        );
    }

    /// Wakes every waiter queued now; no lock when nobody waits. The caller's change must
    /// come before this in the `SeqCst` order (a `SeqCst` read-modify-write or fence), as
    /// for [`notify_one`](Waiters::notify_one).
    #[inline]
    pub(crate) fn notify_all_waiting(&self) {
        notifier_fence();
        if self.waiting.load(Ordering::SeqCst) != 0 {
            self.notify_all();
        }
    }

    /// Queues `node` (or refreshes its waker); returns the status it had.
    fn register(&self, node: Pin<&Waiter<()>>, cx: &Context<'_>) -> Status {
        let mut list = lock(&self.list);
        // SAFETY: the node is owned by a waiting future (or a receiver's stream slot) that
        // calls `cancel` before it is dropped, and is only ever registered in this list.
        let status = unsafe { list.register(node, cx.waker()) };
        self.waiting.store(list.len(), Ordering::SeqCst);
        drop(list);
        // Pairs with the other side's read-modify-write then mirror load (module docs).
        fence(Ordering::SeqCst);
        status
    }

    /// Withdraws `node`, passing on a notification it had not used. Call from the owner's
    /// `Drop`, and when it completes while registered.
    #[inline]
    pub(crate) fn cancel(&self, node: &Waiter<()>) {
        if node.status() != Status::Idle {
            self.cancel_slow(node);
        }
    }

    #[cold]
    fn cancel_slow(&self, node: &Waiter<()>) {
        let mut list = lock(&self.list);
        let mut wakers = WakeList::new();
        // SAFETY: the caller owns the node, which is in this list or in none.
        if unsafe { list.remove(node) } == Status::Notified {
            list.notify_front(&mut wakers, |_| ());
        }
        self.waiting.store(list.len(), Ordering::SeqCst);
        drop(list);
        wakers.wake_all();
    }

    /// One poll of a waiting operation, through the shared [`poll_wait`]: spends a unit of
    /// the budget, then `attempt` (which returns `None` when it would have to wait); if it
    /// must wait, registers `node` and attempts once more before sleeping.
    #[inline]
    pub(crate) fn poll_wait<R>(
        &self,
        node: Pin<&Waiter<()>>,
        cx: &mut Context<'_>,
        attempt: impl FnMut() -> Option<R> + Unpin,
    ) -> Poll<R> {
        let mut wait = Attempt {
            waiters: self,
            node,
            attempt,
        };
        poll_wait(Pin::new(&mut wait), cx)
    }
}

/// A channel operation's turn of [`poll_wait`]: a notification only says "try again", so
/// every turn runs the same attempt, register, attempt sequence.
struct Attempt<'a, F> {
    waiters: &'a Waiters,
    node: Pin<&'a Waiter<()>>,
    attempt: F,
}

impl<R, F: FnMut() -> Option<R>> Attempt<'_, F> {
    #[inline(always)]
    fn run(&mut self, cx: &Context<'_>) -> Poll<R> {
        loop {
            if let Some(out) = (self.attempt)() {
                self.waiters.cancel(&self.node);
                return Poll::Ready(out);
            }
            if self.waiters.register(self.node, cx) == Status::Notified {
                // Notified between the attempt and the registration.
                self.node.consume_notification();
                continue;
            }
            if let Some(out) = (self.attempt)() {
                // Leave the list; a notification that came meanwhile goes to the next waiter.
                self.waiters.cancel(&self.node);
                return Poll::Ready(out);
            }
            return Poll::Pending;
        }
    }
}

// SAFETY: the node belongs to a waiting future (or a receiver's stream slot) that keeps it
// pinned, registers it only in `waiters.list` (through `Waiters::register`), and calls
// `Waiters::cancel` before it is dropped.
unsafe impl<R, F: FnMut() -> Option<R> + Unpin> WaitPoll for Attempt<'_, F> {
    type Data = ();
    type State = WaiterList<()>;
    type Output = R;

    #[inline]
    fn node(self: Pin<&Self>) -> Pin<&Waiter<()>> {
        self.get_ref().node
    }

    fn lock(&self) -> &Mutex<WaiterList<()>> {
        &self.waiters.list
    }

    #[inline]
    fn first(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<R> {
        self.get_mut().run(cx)
    }

    #[inline]
    fn notified(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<R> {
        self.get_mut().run(cx)
    }

    /// A queued node attempts first too: a value may have come while another waiter was the
    /// one notified.
    #[inline]
    fn queued(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<R> {
        self.get_mut().run(cx)
    }
}

#[cfg(all(test, runtime_loom))]
mod loom_tests {
    use super::super::{bounded, unbounded, RecvError, TryRecvError};
    use crate::loom::thread;
    use crate::thread_waker::block_on_thread;
    use core::future::Future;
    use core::task::{Context, Waker};

    /// A send racing a receiver that registers: the receiver always gets the value (a lost
    /// wake-up leaves it parked forever, which loom reports as a deadlock).
    #[test]
    fn send_vs_recv() {
        ::loom::model(|| {
            let (tx, rx) = bounded(1);
            let sender = thread::spawn(move || tx.try_send(1).expect("room"));
            assert_eq!(block_on_thread(rx.recv()), Ok(1));
            sender.join().unwrap();
        });
    }

    /// A sender waiting on a full ring racing the receive that frees a slot.
    #[test]
    fn recv_vs_send_on_a_full_ring() {
        ::loom::model(|| {
            let (tx, rx) = bounded(1);
            tx.try_send(1).expect("room");
            let sender = thread::spawn(move || block_on_thread(tx.send(2)).expect("open"));
            assert_eq!(
                rx.try_recv()
                    .ok()
                    .or_else(|| block_on_thread(rx.recv()).ok()),
                Some(1)
            );
            assert_eq!(block_on_thread(rx.recv()), Ok(2));
            sender.join().unwrap();
        });
    }

    /// Close (the last sender leaving) racing a waiting receiver, and a receiver close racing
    /// a sender waiting for room: both waiters wake with the end.
    #[test]
    fn close_vs_waiters() {
        ::loom::model(|| {
            let (tx, rx) = bounded::<u8>(1);
            let closer = thread::spawn(move || drop(tx));
            assert_eq!(block_on_thread(rx.recv()), Err(RecvError));
            closer.join().unwrap();
        });
        ::loom::model(|| {
            let (tx, rx) = bounded(1);
            tx.try_send(1).expect("room");
            let closer = thread::spawn(move || {
                rx.close();
                rx
            });
            assert!(block_on_thread(tx.send(2)).is_err());
            let rx = closer.join().unwrap();
            assert_eq!(rx.try_recv(), Ok(1));
            assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
        });
    }

    /// A receiver that queues first and is then cancelled, racing a send and a second
    /// receiver: if the send's wake-up went to the cancelled one, it is handed on, so the
    /// second receiver always gets the value (a lost hand-off leaves it parked forever).
    #[test]
    fn cancelled_receiver_hands_its_wake_up_on() {
        ::loom::model(|| {
            let (tx, rx) = bounded(1);
            let mut cancelled = Box::pin(rx.recv());
            let poll = cancelled
                .as_mut()
                .poll(&mut Context::from_waker(Waker::noop()));
            assert!(poll.is_pending(), "queued first");
            let waiter = {
                let rx = rx.clone();
                thread::spawn(move || block_on_thread(rx.recv()).expect("the value"))
            };
            let sender = {
                let tx = tx.clone();
                thread::spawn(move || tx.try_send(1).expect("room"))
            };
            drop(cancelled);
            assert_eq!(waiter.join().unwrap(), 1);
            sender.join().unwrap();
            drop(tx); // only now: a close would wake the waiter by itself
        });
    }

    /// A permit dropped unused racing a sender waiting for room: the slot goes to it.
    #[test]
    fn dropped_permit_vs_waiting_sender() {
        ::loom::model(|| {
            let (tx, rx) = bounded(1);
            let tx2 = tx.clone();
            let permit_holder = thread::spawn(move || {
                let permit = tx2.try_reserve();
                drop(permit);
            });
            block_on_thread(tx.send(1)).expect("open");
            permit_holder.join().unwrap();
            assert_eq!(rx.try_recv(), Ok(1));
        });
    }

    /// A reservation racing a close from the receiving side: a permit taken before the close
    /// still sends, and the receiver sees its value before the end; one refused by the close
    /// leaves nothing behind. Either way the receiver ends (both flavors).
    #[test]
    fn reserve_vs_close() {
        for unbounded_flavor in [false, true] {
            ::loom::model(move || {
                let (tx, rx) = if unbounded_flavor {
                    unbounded()
                } else {
                    bounded(1)
                };
                let sender = thread::spawn(move || match tx.try_reserve() {
                    Ok(permit) => {
                        permit.send(7);
                        true
                    }
                    Err(_) => false,
                });
                rx.close();
                let got = block_on_thread(rx.recv()).ok();
                let sent = sender.join().unwrap();
                assert_eq!(got, sent.then_some(7));
                assert_eq!(block_on_thread(rx.recv()), Err(RecvError));
            });
        }
    }

    /// The unbounded list across a block boundary (blocks of two under loom), with a
    /// concurrent receiver: order kept, blocks freed once.
    #[test]
    fn unbounded_across_blocks() {
        ::loom::model(|| {
            let (tx, rx) = unbounded();
            let sender = thread::spawn(move || {
                for i in 0..3 {
                    tx.try_send(i).expect("open");
                }
            });
            for i in 0..3 {
                assert_eq!(block_on_thread(rx.recv()), Ok(i));
            }
            assert_eq!(block_on_thread(rx.recv()), Err(RecvError));
            sender.join().unwrap();
        });
    }
}
