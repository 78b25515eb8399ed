//! [`Queue`]: a channel that also counts unfinished items, for Python's `task_done()` and
//! `join()`.
//!
//! # The count
//!
//! A `Tally` beside the channel, shared by every clone of the queue, holds two counters:
//!
//! - `unfinished`: items sent and not yet marked done. A send adds one once it holds a slot
//!   (a [`Permit`](super::Permit)) and *before* the value enters the channel, so no receiver
//!   can mark an item done before it was counted, and a failed send (closed channel) never
//!   counts.
//! - `taken`: items received and not yet marked done. A receive adds one before it hands the
//!   item out; [`Queue::task_done`] takes one away (refusing at zero, with a
//!   compare-exchange so the count never dips below zero), then one from `unfinished`.
//!
//! Because each item's `unfinished` increment happens before its push, the push before its
//! pop, and the pop before the `taken` increment that a `task_done` consumes, `unfinished`
//! never goes below zero, and it is zero only when every item sent so far was marked done.
//!
//! `join` waits in a [`Waiters`] list, with the channel's lock-free wake-up protocol
//! (`chan.rs`): the waiter registers, then loads `unfinished`; the `task_done` that brings
//! it to zero does so with a `SeqCst` read-modify-write, then checks whether anyone waits.
//! One of the two sees the other, so a join never sleeps through the zero, and nobody polls.
//!
//! Plain [`bounded`](super::bounded) / [`unbounded`](super::unbounded) channels have no
//! tally: only a `Queue` pays for the counting.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use super::chan::Waiters;
use super::error::{RecvError, SendError, TaskDoneError, TryRecvError, TrySendError};
use super::{Receiver, Sender};
use crate::hooks;
use crate::loom::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::Arc;
use crate::thread_waker::block_on_thread;
use crate::waiter_list::Waiter;

/// A multi-producer, multi-consumer queue that knows when every item it was given has been
/// processed: Python's `queue.Queue` with `task_done()` and `join()`.
///
/// It is a [`bounded`](super::bounded) or [`unbounded`](super::unbounded) channel plus a
/// count of unfinished items. Each item [sent](Queue::send) counts as unfinished until a
/// consumer that [received](Queue::recv) it calls [`task_done`](Queue::task_done);
/// [`join`](Queue::join) waits until that count is zero. Use it when producers want to
/// know that the work they handed out is finished while the queue stays open; when they are
/// simply done, dropping the senders and joining the consumers is enough (see the
/// [module docs](super#waiting-until-every-item-is-processed)).
///
/// One `Queue` is both ends: clone it for each producer and consumer. Like Python's queue it
/// does not close when handles are dropped, only when the last one is, or on
/// [`close`](Queue::close) (Python 3.13's `shutdown()`), after which receivers drain what is
/// queued and then get [`RecvError`].
///
/// ```
/// use futures::executor::block_on;
/// use runtime_primitives::channel::Queue;
///
/// let queue = Queue::bounded(16);
/// let consumer = {
///     let queue = queue.clone();
///     std::thread::spawn(move || {
///         let mut total = 0u64;
///         while let Ok(job) = queue.recv_blocking() {
///             total += job; // process the item...
///             queue.task_done().unwrap(); // ...then say so
///         }
///         total
///     })
/// };
/// block_on(async {
///     for job in 1..=100u64 {
///         queue.send(job).await.unwrap();
///     }
///     queue.join().await; // every item sent so far was processed
///     assert_eq!(queue.unfinished(), 0);
/// });
/// queue.close(); // the consumer's loop ends
/// assert_eq!(consumer.join().unwrap(), 5050);
/// ```
///
/// A consumer that ends (or panics) without marking its item done leaves that item
/// unfinished forever, and `join` then never returns, as in Python: call `task_done` on
/// every path, or put a timeout on the join.
pub struct Queue<T> {
    tx: Sender<T>,
    rx: Receiver<T>,
    tally: Arc<Tally>,
}

/// The counts behind a [`Queue`] (see the module docs).
struct Tally {
    /// Items sent and not marked done.
    unfinished: AtomicUsize,
    /// Items received and not marked done.
    taken: AtomicUsize,
    /// Joins waiting for `unfinished` to reach zero.
    joiners: Waiters,
}

impl Tally {
    fn all_done(&self) -> bool {
        self.unfinished.load(SeqCst) == 0
    }

    fn done(&self) -> Result<(), TaskDoneError> {
        let mut taken = self.taken.load(SeqCst);
        loop {
            if taken == 0 {
                return Err(TaskDoneError);
            }
            match self
                .taken
                .compare_exchange_weak(taken, taken - 1, SeqCst, SeqCst)
            {
                Ok(_) => break,
                Err(actual) => taken = actual,
            }
        }
        // The read-modify-write half of the wake-up protocol (module docs).
        if self.unfinished.fetch_sub(1, SeqCst) == 1 {
            self.joiners.notify_all_waiting();
        }
        Ok(())
    }
}

impl<T> Queue<T> {
    /// A queue that holds at most `cap` items: [`send`](Queue::send) waits while it is full
    /// (Python's `Queue(maxsize=cap)`).
    ///
    /// # Panics
    ///
    /// If `cap` is 0 or above [`MAX_CAPACITY`](super::MAX_CAPACITY), as
    /// [`bounded`](super::bounded); use [`Queue::unbounded`] for a queue without a bound
    /// (Python's `maxsize=0`).
    ///
    /// ```
    /// use runtime_primitives::channel::Queue;
    ///
    /// let queue = Queue::bounded(2);
    /// queue.try_send('a').unwrap();
    /// queue.try_send('b').unwrap();
    /// assert!(queue.try_send('c').unwrap_err().is_full());
    /// ```
    #[track_caller]
    pub fn bounded(cap: usize) -> Queue<T> {
        assert!(
            cap > 0,
            "Queue::bounded(0): a queue needs room for at least one item; \
             use `Queue::unbounded()` for a queue without a bound"
        );
        let (tx, rx) = super::bounded(cap);
        Queue::from_ends(tx, rx)
    }

    /// A queue without a bound: [`send`](Queue::send) never waits (Python's `Queue()`).
    ///
    /// ```
    /// use runtime_primitives::channel::Queue;
    ///
    /// let queue = Queue::unbounded();
    /// for i in 0..1000 {
    ///     queue.try_send(i).unwrap();
    /// }
    /// assert_eq!(queue.unfinished(), 1000);
    /// ```
    pub fn unbounded() -> Queue<T> {
        let (tx, rx) = super::unbounded();
        Queue::from_ends(tx, rx)
    }

    fn from_ends(tx: Sender<T>, rx: Receiver<T>) -> Queue<T> {
        Queue {
            tx,
            rx,
            tally: Arc::new(Tally {
                unfinished: AtomicUsize::new(0),
                taken: AtomicUsize::new(0),
                joiners: Waiters::new(),
            }),
        }
    }

    // ===== sending =====

    /// Sends `value`, waiting while a bounded queue is full (Python's `put`); the item counts
    /// as unfinished from now until a consumer marks it done.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if the queue is closed; the item is not counted.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes drops `value`: it was neither sent nor
    /// counted, and nothing else is lost.
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use runtime_primitives::channel::Queue;
    ///
    /// let queue = Queue::bounded(1);
    /// block_on(queue.send("job")).unwrap();
    /// assert_eq!(queue.unfinished(), 1);
    /// ```
    pub async fn send(&self, value: T) -> Result<(), SendError<T>> {
        match self.tx.reserve().await {
            Ok(permit) => {
                self.tally.unfinished.fetch_add(1, SeqCst);
                permit.send(value);
                Ok(())
            }
            Err(SendError(())) => Err(SendError(value)),
        }
    }

    /// Sends `value` if there is room now, without waiting (Python's `put_nowait`).
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] or [`TrySendError::Closed`], with the value, which is not
    /// counted.
    ///
    /// ```
    /// use runtime_primitives::channel::{Queue, TrySendError};
    ///
    /// let queue = Queue::bounded(1);
    /// assert_eq!(queue.try_send(1), Ok(()));
    /// assert_eq!(queue.try_send(2), Err(TrySendError::Full(2)));
    /// assert_eq!(queue.unfinished(), 1);
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        match self.tx.try_reserve() {
            Ok(permit) => {
                self.tally.unfinished.fetch_add(1, SeqCst);
                permit.send(value);
                Ok(())
            }
            Err(TrySendError::Full(())) => Err(TrySendError::Full(value)),
            Err(TrySendError::Closed(())) => Err(TrySendError::Closed(value)),
        }
    }

    /// Sends `value` from synchronous code, parking the OS thread while the queue is full.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if the queue is closed.
    ///
    /// # Panics
    ///
    /// On a runtime worker thread, where parking would stall every task on it: use
    /// [`send`](Queue::send)`.await` there, or call this from `spawn_blocking`.
    ///
    /// ```
    /// use runtime_primitives::channel::Queue;
    ///
    /// let queue = Queue::bounded(4);
    /// queue.send_blocking(1).unwrap();
    /// assert_eq!(queue.recv_blocking(), Ok(1));
    /// ```
    #[track_caller]
    pub fn send_blocking(&self, value: T) -> Result<(), SendError<T>> {
        hooks::assert_can_block("channel::Queue::send_blocking", "queue.send(value).await");
        match self.try_send(value) {
            Ok(()) => Ok(()),
            Err(TrySendError::Closed(value)) => Err(SendError(value)),
            Err(TrySendError::Full(value)) => block_on_thread(self.send(value)),
        }
    }

    // ===== receiving =====

    /// Receives the oldest item, waiting while the queue is empty (Python's `get`). Call
    /// [`task_done`](Queue::task_done) once it is processed.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the queue is closed and drained.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe, as [`Receiver::recv`]: dropping the future loses no item, and an item is
    /// counted as taken only when it is returned.
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use runtime_primitives::channel::Queue;
    ///
    /// let queue = Queue::unbounded();
    /// queue.try_send(7).unwrap();
    /// assert_eq!(block_on(queue.recv()), Ok(7));
    /// queue.task_done().unwrap();
    /// ```
    pub async fn recv(&self) -> Result<T, RecvError> {
        let value = self.rx.recv().await?;
        self.tally.taken.fetch_add(1, SeqCst);
        Ok(value)
    }

    /// Takes the oldest item if there is one, without waiting (Python's `get_nowait`).
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] if nothing is queued now, [`TryRecvError::Closed`] once the
    /// queue is closed and drained.
    ///
    /// ```
    /// use runtime_primitives::channel::{Queue, TryRecvError};
    ///
    /// let queue = Queue::bounded(1);
    /// assert_eq!(queue.try_recv(), Err(TryRecvError::Empty));
    /// queue.try_send(1).unwrap();
    /// assert_eq!(queue.try_recv(), Ok(1));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        let value = self.rx.try_recv()?;
        self.tally.taken.fetch_add(1, SeqCst);
        Ok(value)
    }

    /// Receives from synchronous code, parking the OS thread while the queue is empty.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the queue is closed and drained.
    ///
    /// # Panics
    ///
    /// On a runtime worker thread, as [`send_blocking`](Queue::send_blocking): use
    /// [`recv`](Queue::recv)`.await` there.
    ///
    /// ```
    /// use runtime_primitives::channel::Queue;
    ///
    /// let queue = Queue::unbounded();
    /// let producer = {
    ///     let queue = queue.clone();
    ///     std::thread::spawn(move || queue.try_send("ping").unwrap())
    /// };
    /// assert_eq!(queue.recv_blocking(), Ok("ping"));
    /// producer.join().unwrap();
    /// ```
    #[track_caller]
    pub fn recv_blocking(&self) -> Result<T, RecvError> {
        hooks::assert_can_block("channel::Queue::recv_blocking", "queue.recv().await");
        match self.try_recv() {
            Ok(value) => Ok(value),
            Err(TryRecvError::Closed) => Err(RecvError),
            Err(TryRecvError::Empty) => block_on_thread(self.recv()),
        }
    }

    // ===== task_done and join =====

    /// Marks one received item as processed. When no item sent so far is left unfinished,
    /// every [`join`](Queue::join) returns.
    ///
    /// Any clone may mark any received item done (the count is the queue's, as in Python).
    ///
    /// # Errors
    ///
    /// [`TaskDoneError`] if every item received so far was already marked done (more calls
    /// than received items; Python raises `ValueError`). Nothing changes then.
    ///
    /// ```
    /// use runtime_primitives::channel::{Queue, TaskDoneError};
    ///
    /// let queue = Queue::unbounded();
    /// queue.try_send("a").unwrap();
    /// queue.try_send("b").unwrap();
    /// assert_eq!(queue.task_done(), Err(TaskDoneError), "nothing received yet");
    /// queue.try_recv().unwrap();
    /// assert_eq!(queue.task_done(), Ok(()));
    /// assert_eq!(queue.task_done(), Err(TaskDoneError), "only one was received");
    /// assert_eq!(queue.unfinished(), 1);
    /// ```
    pub fn task_done(&self) -> Result<(), TaskDoneError> {
        self.tally.done()
    }

    /// Waits until every item sent so far has been received and marked done (Python's
    /// `join`). Returns at once if nothing is unfinished, for instance when nothing was sent.
    ///
    /// It waits for the count of unfinished items to reach zero: items sent while it waits
    /// count too, so under a steady stream of new items it may wait as long as the stream
    /// lasts.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: the future only watches the count, so dropping it (a timeout, a
    /// `select!`) changes nothing.
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use runtime_primitives::channel::Queue;
    ///
    /// let queue = Queue::<u8>::bounded(4);
    /// block_on(queue.join()); // nothing sent: returns at once
    /// ```
    pub fn join(&self) -> Join<'_> {
        Join {
            tally: &self.tally,
            node: Waiter::new(()),
        }
    }

    /// As [`join`](Queue::join), from synchronous code: parks the OS thread until every item
    /// sent so far was marked done.
    ///
    /// # Panics
    ///
    /// On a runtime worker thread, where parking would stall every task on it: use
    /// [`join`](Queue::join)`.await` there, or call this from `spawn_blocking`.
    ///
    /// ```
    /// use runtime_primitives::channel::Queue;
    ///
    /// let queue = Queue::unbounded();
    /// queue.try_send(1).unwrap();
    /// let worker = {
    ///     let queue = queue.clone();
    ///     std::thread::spawn(move || {
    ///         queue.recv_blocking().unwrap();
    ///         queue.task_done().unwrap();
    ///     })
    /// };
    /// queue.join_blocking();
    /// assert_eq!(queue.unfinished(), 0);
    /// worker.join().unwrap();
    /// ```
    #[track_caller]
    pub fn join_blocking(&self) {
        hooks::assert_can_block("channel::Queue::join_blocking", "queue.join().await");
        if !self.tally.all_done() {
            block_on_thread(self.join());
        }
    }

    /// How many items were sent and not yet marked done, queued or taken (Python's
    /// `unfinished_tasks`): a snapshot, stale under contention.
    ///
    /// ```
    /// use runtime_primitives::channel::Queue;
    ///
    /// let queue = Queue::unbounded();
    /// queue.try_send(()).unwrap();
    /// queue.try_recv().unwrap();
    /// assert_eq!(queue.unfinished(), 1, "taken, not done");
    /// queue.task_done().unwrap();
    /// assert_eq!(queue.unfinished(), 0);
    /// ```
    pub fn unfinished(&self) -> usize {
        self.tally.unfinished.load(SeqCst)
    }

    // ===== state =====

    /// Closes the queue for every clone (Python 3.13's `shutdown()`): sends fail from now
    /// on, waiting senders and receivers wake, and receivers drain what is queued before they
    /// get [`RecvError`]. Returns `true` if this call closed it. Unfinished items stay
    /// counted: a [`join`](Queue::join) still waits for them to be marked done.
    ///
    /// ```
    /// use runtime_primitives::channel::{Queue, TryRecvError};
    ///
    /// let queue = Queue::unbounded();
    /// queue.try_send(1).unwrap();
    /// assert!(queue.close());
    /// assert!(queue.try_send(2).unwrap_err().is_closed());
    /// assert_eq!(queue.try_recv(), Ok(1));
    /// assert_eq!(queue.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn close(&self) -> bool {
        self.tx.close()
    }

    /// Whether the queue is closed (items may still be queued).
    ///
    /// ```
    /// use runtime_primitives::channel::Queue;
    ///
    /// let queue = Queue::<u8>::unbounded();
    /// queue.close();
    /// assert!(queue.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// How many items are queued, not yet received (Python's `qsize()`): a snapshot.
    ///
    /// ```
    /// use runtime_primitives::channel::Queue;
    ///
    /// let queue = Queue::bounded(8);
    /// queue.try_send(1).unwrap();
    /// assert_eq!(queue.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.tx.len()
    }

    /// Whether no item is queued (Python's `empty()`): a snapshot.
    ///
    /// ```
    /// use runtime_primitives::channel::Queue;
    ///
    /// assert!(Queue::<u8>::unbounded().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.tx.is_empty()
    }

    /// The bound of a bounded queue; `None` for an unbounded one.
    ///
    /// ```
    /// use runtime_primitives::channel::Queue;
    ///
    /// assert_eq!(Queue::<u8>::bounded(3).capacity(), Some(3));
    /// assert_eq!(Queue::<u8>::unbounded().capacity(), None);
    /// ```
    pub fn capacity(&self) -> Option<usize> {
        self.tx.capacity()
    }
}

impl<T> Clone for Queue<T> {
    fn clone(&self) -> Self {
        Queue {
            tx: self.tx.clone(),
            rx: self.rx.clone(),
            tally: self.tally.clone(),
        }
    }
}

impl<T> fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queue")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("unfinished", &self.unfinished())
            .field("closed", &self.is_closed())
            .finish()
    }
}

// ===== impl Join =====

/// The future of [`Queue::join`]: completes once no item sent so far is unfinished.
/// Cancel-safe.
///
/// ```
/// use futures::executor::block_on;
/// use runtime_primitives::channel::{Join, Queue};
///
/// let queue = Queue::<u8>::unbounded();
/// let join: Join<'_> = queue.join();
/// block_on(join);
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Join<'a> {
    tally: &'a Tally,
    node: Waiter<()>,
}

impl Future for Join<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let tally = self.tally;
        // SAFETY: `node` is structurally pinned (never moved; `Drop` withdraws it).
        let node = unsafe { self.as_ref().map_unchecked(|this| &this.node) };
        tally
            .joiners
            .poll_wait(node, cx, || tally.all_done().then_some(()))
    }
}

impl Drop for Join<'_> {
    fn drop(&mut self) {
        self.tally.joiners.cancel(&self.node);
    }
}

impl fmt::Debug for Join<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Join").field("node", &self.node).finish()
    }
}

#[cfg(all(test, runtime_loom))]
mod loom_tests {
    use super::Queue;
    use crate::channel::TaskDoneError;
    use crate::loom::thread;
    use crate::thread_waker::block_on_thread;

    /// The last `task_done` racing a join that registers: the join always returns (a lost
    /// wake-up leaves it parked forever, which loom reports as a deadlock).
    #[test]
    fn task_done_vs_join() {
        ::loom::model(|| {
            let queue = Queue::bounded(1);
            queue.try_send(1).expect("room");
            let consumer = {
                let queue = queue.clone();
                thread::spawn(move || {
                    assert_eq!(queue.try_recv(), Ok(1));
                    queue.task_done().expect("one taken");
                })
            };
            block_on_thread(queue.join());
            assert_eq!(queue.unfinished(), 0);
            consumer.join().unwrap();
        });
    }

    /// A send, receive and `task_done` on another thread, against a join started after the
    /// send: the join returns only once the item is done.
    #[test]
    fn join_waits_for_an_item_sent_before_it() {
        ::loom::model(|| {
            let queue = Queue::unbounded();
            let (sent_tx, sent_rx) = crate::channel::bounded(1);
            let worker = {
                let queue = queue.clone();
                thread::spawn(move || {
                    queue.try_send(5).expect("open");
                    sent_tx.try_send(()).expect("room");
                    assert_eq!(block_on_thread(queue.recv()), Ok(5));
                    queue.task_done().expect("one taken");
                })
            };
            block_on_thread(sent_rx.recv()).expect("sent");
            block_on_thread(queue.join());
            assert_eq!(queue.unfinished(), 0);
            assert_eq!(queue.task_done(), Err(TaskDoneError));
            worker.join().unwrap();
        });
    }

    /// Two `task_done` calls for one received item, on two threads: exactly one succeeds.
    #[test]
    fn concurrent_task_done_past_the_taken_items() {
        ::loom::model(|| {
            let queue = Queue::unbounded();
            queue.try_send(()).expect("open");
            queue.try_recv().expect("queued");
            let other = {
                let queue = queue.clone();
                thread::spawn(move || queue.task_done().is_ok())
            };
            let here = queue.task_done().is_ok();
            let there = other.join().unwrap();
            assert!(here ^ there, "one success, one error");
            assert_eq!(queue.unfinished(), 0);
        });
    }
}
