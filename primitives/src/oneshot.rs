//! A one-shot channel: a single value, sent once, from one task or thread to another.
//!
//! [`channel`] returns a [`Sender`] and a [`Receiver`]. The sender hands over exactly one
//! value with [`Sender::send`], which never waits; the receiver is a future that resolves to
//! that value, or to [`RecvError`] if the sender is dropped without sending. Either end may
//! live on any executor or on a plain OS thread ([`Receiver::recv_blocking`]).
//!
//! This is the counterpart of Python's `AsyncResult`: a slot that a worker fills once and a
//! caller waits on.
//!
//! ```
//! use futures::executor::block_on;
//! use runtime_primitives::oneshot;
//!
//! let (tx, rx) = oneshot::channel();
//! let worker = std::thread::spawn(move || {
//!     let answer = (1..=10).sum::<u32>();
//!     tx.send(answer).expect("the receiver is still waiting");
//! });
//! assert_eq!(block_on(rx), Ok(55));
//! worker.join().expect("the worker does not panic");
//! ```
//!
//! # Thread safety
//!
//! Both ends are [`Send`] and [`Sync`] whenever `T: Send`; the value is moved, never shared,
//! so `T: Sync` is not required. A channel of a `!Send` value cannot cross threads:
//!
//! ```compile_fail
//! use runtime_primitives::oneshot;
//!
//! let (tx, rx) = oneshot::channel::<std::rc::Rc<u8>>();
//! std::thread::spawn(move || drop(tx.send(std::rc::Rc::new(1))));
//! # drop(rx);
//! ```

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{ready, Context, Poll, Waker};

use futures_core::future::FusedFuture;

use crate::hooks;
use crate::loom::atomic::{AtomicUsize, Ordering};
use crate::loom::{Arc, UnsafeCell};
use crate::thread_waker::block_on_thread;

// ===== state word =====
//
// One `AtomicUsize` in the shared allocation orders every access to the three cells beside it
// (`value`, `rx_waker`, `tx_waker`). Its bits:

/// `rx_waker` holds the receiver's waker, and the sender may read it (never write it).
///
/// Set by the receiver only, with a release, right after it wrote the slot; cleared by the
/// receiver only, before it rewrites the slot. While the bit is clear the slot belongs to the
/// receiver alone. The sender reads the slot only when the read-modify-write that published
/// its own outcome (`VALUE_SENT` / `TX_DROPPED`) saw the bit set; the receiver, clearing the
/// bit, then sees that outcome and leaves the slot alone, so the two never race on it.
const RX_WAKER_SET: usize = 0b0001;

/// The sender stored a value in `value` and gave it up to the receiver.
///
/// Set by `Sender::send` only, with a release after it wrote `value`, and only while `CLOSED`
/// is clear (a compare-exchange), so a send either lands before the close or fails and takes
/// its value back. Until this bit is set, `value` belongs to the sender; once the receiver
/// observes it (acquire), `value` belongs to the receiver. Never cleared.
const VALUE_SENT: usize = 0b0010;

/// The receiver closed the channel ([`Receiver::close`]) or was dropped.
///
/// Set by the receiver only; never cleared. A send that finds it set fails and keeps its value.
/// `VALUE_SENT` is never set after it (a value sent before the close stays receivable).
const CLOSED: usize = 0b0100;

/// `tx_waker` holds the sender's waker (from [`Sender::closed`]), and the receiver may read it.
///
/// The mirror image of `RX_WAKER_SET`, with the roles swapped and `CLOSED` as the outcome the
/// receiver publishes.
const TX_WAKER_SET: usize = 0b1000;

/// The sender was dropped without sending. Set once by `Sender`'s drop; never cleared.
const TX_DROPPED: usize = 0b1_0000;

/// The bits after which a receive has its answer and will never wait again.
const RX_FINISHED: usize = VALUE_SENT | TX_DROPPED | CLOSED;

/// Debug view of a state word: the names of the bits that are set.
struct StateBits(usize);

impl fmt::Debug for StateBits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [(usize, &str); 5] = [
            (VALUE_SENT, "VALUE_SENT"),
            (TX_DROPPED, "TX_DROPPED"),
            (CLOSED, "CLOSED"),
            (RX_WAKER_SET, "RX_WAKER_SET"),
            (TX_WAKER_SET, "TX_WAKER_SET"),
        ];
        let mut set = f.debug_set();
        for (bit, name) in NAMES {
            if self.0 & bit != 0 {
                set.entry(&format_args!("{name}"));
            }
        }
        set.finish()
    }
}

// ===== shared allocation =====

/// The one allocation both ends share.
struct Inner<T> {
    state: AtomicUsize,
    value: UnsafeCell<Option<T>>,
    rx_waker: UnsafeCell<Option<Waker>>,
    tx_waker: UnsafeCell<Option<Waker>>,
}

// SAFETY: the channel moves a `T` from the sending thread to the receiving one, hence
// `T: Send`; it never hands out a `&T`, so `T: Sync` is not needed. Every other field is
// `Send + Sync` but for the `UnsafeCell`s, whose accesses the state-word protocol above makes
// exclusive (writes) or shared-read-only (reads of a published waker), with release/acquire
// ordering between the two sides.
unsafe impl<T: Send> Send for Inner<T> {}
// SAFETY: as for `Send`: `&Inner` only reaches the cells through the state-word protocol,
// which never lets two threads touch `value` at once, nor write a waker slot that the other
// side may be reading.
unsafe impl<T: Send> Sync for Inner<T> {}

impl<T> Inner<T> {
    fn state(&self) -> usize {
        self.state.load(Ordering::Acquire)
    }

    /// Wakes the receiver's waker. Call only after observing `RX_WAKER_SET` in the
    /// read-modify-write that published `VALUE_SENT` or `TX_DROPPED`.
    fn wake_rx(&self) {
        // SAFETY: `RX_WAKER_SET` was set when this side published its outcome, so the slot
        // holds a published waker; the receiver only rewrites it after clearing the bit, and a
        // clear after our publication shows it `VALUE_SENT`/`TX_DROPPED`, so it never does.
        self.rx_waker
            .with(|slot| unsafe { (*slot).as_ref().map(Waker::wake_by_ref) });
    }

    /// Wakes the sender's waker. Call only after observing `TX_WAKER_SET` in the
    /// read-modify-write that published `CLOSED`.
    fn wake_tx(&self) {
        // SAFETY: the mirror image of `wake_rx`: the sender rewrites its slot only after
        // clearing `TX_WAKER_SET`, and a clear after our `CLOSED` sees it and stops.
        self.tx_waker
            .with(|slot| unsafe { (*slot).as_ref().map(Waker::wake_by_ref) });
    }

    /// Sets `CLOSED`, waking a sender waiting in `closed()`. Returns the previous state.
    fn close(&self) -> usize {
        let prev = self.state.fetch_or(CLOSED, Ordering::AcqRel);
        if prev & (TX_WAKER_SET | VALUE_SENT | TX_DROPPED) == TX_WAKER_SET {
            self.wake_tx();
        }
        prev
    }

    /// Takes the sent value out. Call only after observing `VALUE_SENT` (acquire), once.
    fn take_value(&self) -> Option<T> {
        // SAFETY: `VALUE_SENT` was observed with acquire, so the sender's write happened
        // before, and the sender never touches `value` again; the receiver is the only one
        // left, and it calls this at most once (it drops its handle right after).
        self.value.with_mut(|slot| unsafe { (*slot).take() })
    }
}

/// Registers `cx`'s waker in `slot`, the waker slot owned by the side that polls, following
/// the protocol of `RX_WAKER_SET` (with `set_bit`) and `TX_WAKER_SET`.
///
/// Returns the state after registering; the caller checks it for its `done` bits, which
/// the other side publishes. The waker is left registered (or not) either way: it is
/// harmless, and the shared allocation's drop releases it.
fn register_waker(
    state_cell: &AtomicUsize,
    slot: &UnsafeCell<Option<Waker>>,
    set_bit: usize,
    done: usize,
    cx: &Context<'_>,
) -> usize {
    let mut state = state_cell.load(Ordering::Acquire);
    if state & done != 0 {
        return state;
    }
    if state & set_bit != 0 {
        // SAFETY: the bit is set, so the other side may be reading the slot, but nobody
        // writes it: reading it here too is a shared read.
        let same = slot.with(|slot| unsafe {
            (*slot)
                .as_ref()
                .is_some_and(|waker| waker.will_wake(cx.waker()))
        });
        if same {
            return state;
        }
        // Take the slot back before rewriting it. If the other side published its outcome
        // in the meantime it may be reading the slot right now: leave it alone.
        state = state_cell.fetch_and(!set_bit, Ordering::AcqRel) & !set_bit;
        if state & done != 0 {
            return state;
        }
    }
    // The bit is clear: the other side will not read the slot until we set it again.
    let waker = cx.waker().clone();
    // SAFETY: with the bit clear the slot is ours alone (see `RX_WAKER_SET`); the other side
    // reads it only after seeing the bit set by the release below.
    slot.with_mut(|slot| unsafe { *slot = Some(waker) });
    state_cell.fetch_or(set_bit, Ordering::AcqRel) | set_bit
}

// ===== channel =====

/// Creates a one-shot channel: a [`Sender`] that sends one value and the [`Receiver`] that
/// waits for it.
///
/// Both ends share a single allocation.
///
/// ```
/// use futures::executor::block_on;
/// use runtime_primitives::oneshot;
///
/// let (tx, rx) = oneshot::channel();
/// tx.send("done").expect("the receiver is alive");
/// assert_eq!(block_on(rx), Ok("done"));
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Inner {
        state: AtomicUsize::new(0),
        value: UnsafeCell::new(None),
        rx_waker: UnsafeCell::new(None),
        tx_waker: UnsafeCell::new(None),
    });
    let sender = Sender {
        inner: Some(inner.clone()),
    };
    let receiver = Receiver { inner: Some(inner) };
    (sender, receiver)
}

// ===== impl Sender =====

/// The sending end of a [one-shot channel](channel): sends a single value with
/// [`send`](Sender::send).
///
/// Dropping it without sending makes the receiver resolve to [`RecvError`].
///
/// ```
/// use futures::executor::block_on;
/// use runtime_primitives::oneshot::{self, RecvError};
///
/// let (tx, rx) = oneshot::channel::<u32>();
/// drop(tx);
/// assert_eq!(block_on(rx), Err(RecvError));
/// ```
pub struct Sender<T> {
    /// `None` only inside `send`, which consumes the sender, so its drop knows it sent.
    inner: Option<Arc<Inner<T>>>,
}

impl<T> Sender<T> {
    fn inner(&self) -> &Inner<T> {
        self.inner
            .as_deref()
            .expect("a live oneshot::Sender always holds its channel")
    }

    /// Sends `value` to the receiver, without waiting.
    ///
    /// # Errors
    ///
    /// Gives `value` back as `Err(value)` if the receiver was dropped or
    /// [closed](Receiver::close) first; the value is then never seen by the receiver.
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use runtime_primitives::oneshot;
    ///
    /// let (tx, rx) = oneshot::channel();
    /// assert_eq!(tx.send(1), Ok(()));
    /// assert_eq!(block_on(rx), Ok(1));
    ///
    /// let (tx, rx) = oneshot::channel();
    /// drop(rx);
    /// assert_eq!(tx.send(String::from("lost")), Err(String::from("lost")));
    /// ```
    pub fn send(mut self, value: T) -> Result<(), T> {
        let inner = self
            .inner
            .take()
            .expect("a live oneshot::Sender always holds its channel");
        // SAFETY: `VALUE_SENT` is clear (only this call sets it, once), so the receiver does
        // not touch `value`: the slot is ours until the compare-exchange below publishes it.
        inner.value.with_mut(|slot| unsafe { *slot = Some(value) });

        let mut state = inner.state.load(Ordering::Acquire);
        loop {
            if state & CLOSED != 0 {
                // SAFETY: `VALUE_SENT` was never set, so the slot is still ours alone.
                let value = inner.value.with_mut(|slot| unsafe { (*slot).take() });
                return Err(value.expect("the value was stored just above"));
            }
            match inner.state.compare_exchange_weak(
                state,
                state | VALUE_SENT,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(actual) => state = actual,
            }
        }
        if state & RX_WAKER_SET != 0 {
            inner.wake_rx();
        }
        Ok(())
    }

    /// Whether the receiver was dropped or [closed](Receiver::close): a
    /// [`send`](Sender::send) would now fail.
    ///
    /// ```
    /// use runtime_primitives::oneshot;
    ///
    /// let (tx, rx) = oneshot::channel::<u8>();
    /// assert!(!tx.is_closed());
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.inner().state() & CLOSED != 0
    }

    /// Waits until the receiver is dropped or [closed](Receiver::close), for instance to stop
    /// computing a value nobody will read.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: dropping the returned future loses nothing, and a new call waits again.
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use runtime_primitives::oneshot;
    ///
    /// let (mut tx, rx) = oneshot::channel::<u8>();
    /// let caller = std::thread::spawn(move || drop(rx));
    /// block_on(tx.closed());
    /// assert!(tx.is_closed());
    /// caller.join().expect("the caller does not panic");
    /// ```
    pub fn closed(&mut self) -> Closed<'_, T> {
        Closed { sender: self }
    }

    /// Polls for the receiver's drop or close: the poll form of [`closed`](Sender::closed),
    /// for hand-written futures.
    ///
    /// Returns `Ready(())` once the receiver is gone; otherwise registers `cx`'s waker (only
    /// the latest one is woken) and returns `Pending`. Spends one unit of the task's
    /// cooperative budget when it returns `Ready`.
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use futures::future::poll_fn;
    /// use runtime_primitives::oneshot;
    /// use std::task::{Context, Waker};
    ///
    /// let (mut tx, mut rx) = oneshot::channel::<u8>();
    /// assert!(tx.poll_closed(&mut Context::from_waker(Waker::noop())).is_pending());
    /// rx.close();
    /// block_on(poll_fn(|cx| tx.poll_closed(cx)));
    /// ```
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let mut coop = ready!(hooks::poll_proceed(cx));
        let inner = self.inner();
        let state = register_waker(&inner.state, &inner.tx_waker, TX_WAKER_SET, CLOSED, cx);
        if state & CLOSED != 0 {
            coop.made_progress();
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let Some(inner) = self.inner.as_deref() else {
            return; // sent: `send` published its own outcome
        };
        let prev = inner.state.fetch_or(TX_DROPPED, Ordering::AcqRel);
        if prev & (RX_WAKER_SET | CLOSED) == RX_WAKER_SET {
            inner.wake_rx();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.as_deref().map(Inner::state).unwrap_or(0);
        f.debug_struct("Sender")
            .field("state", &StateBits(state))
            .finish()
    }
}

/// The future returned by [`Sender::closed`]: resolves once the receiver is dropped or
/// [closed](Receiver::close).
///
/// # Cancel safety
///
/// Cancel-safe: dropping it loses nothing.
///
/// ```
/// use futures::executor::block_on;
/// use runtime_primitives::oneshot;
///
/// let (mut tx, mut rx) = oneshot::channel::<u8>();
/// rx.close();
/// let closed: oneshot::Closed<'_, u8> = tx.closed();
/// block_on(closed);
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Closed<'a, T> {
    sender: &'a mut Sender<T>,
}

impl<T> Future for Closed<'_, T> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.sender.poll_closed(cx)
    }
}

impl<T> fmt::Debug for Closed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Closed")
            .field("sender", &self.sender)
            .finish()
    }
}

// ===== impl Receiver =====

/// The receiving end of a [one-shot channel](channel): a future of the sent value.
///
/// Resolves to `Ok(value)` once the value is sent, or to `Err(RecvError)` if the sender is
/// dropped without sending (or the receiver was [closed](Receiver::close) before a value
/// came). Each poll that resolves spends one unit of the task's cooperative budget; with the
/// budget spent it wakes the task and returns `Pending`, so a runtime can make a task that
/// keeps finding ready values yield. Once resolved, it stays [terminated](FusedFuture):
/// polling again gives `Err(RecvError)`.
///
/// From an OS thread, use [`recv_blocking`](Receiver::recv_blocking); to look without
/// waiting, [`try_recv`](Receiver::try_recv).
///
/// # Cancel safety
///
/// Cancel-safe: polling `&mut receiver` (in a `select!`, under a timeout) and dropping that
/// future loses nothing; a value sent meanwhile stays in the channel for the next poll.
/// Dropping the receiver itself closes the channel and drops a value already sent.
///
/// ```
/// use futures::executor::block_on;
/// use runtime_primitives::oneshot;
///
/// let (tx, rx) = oneshot::channel();
/// let task = async move {
///     let value = rx.await.expect("the sender sends");
///     value * 2
/// };
/// tx.send(21).expect("the receiver is alive");
/// assert_eq!(block_on(task), 42);
/// ```
pub struct Receiver<T> {
    /// `None` once the receive has its answer: the value was taken, or will never come.
    inner: Option<Arc<Inner<T>>>,
}

impl<T> Receiver<T> {
    /// The answer, if `state` holds one; the receiver then lets go of the channel.
    fn finish(&mut self, state: usize) -> Option<Result<T, RecvError>> {
        if state & RX_FINISHED == 0 {
            return None;
        }
        // Every finished state means the sender is gone or can no longer send, so dropping
        // the handle without setting `CLOSED` leaves nobody waiting.
        let inner = self.inner.take()?;
        let value = if state & VALUE_SENT != 0 {
            inner.take_value()
        } else {
            None
        };
        Some(value.ok_or(RecvError))
    }

    /// Polls without touching the cooperative budget.
    fn poll_recv(&mut self, cx: &Context<'_>) -> Poll<Result<T, RecvError>> {
        let Some(inner) = self.inner.as_deref() else {
            return Poll::Ready(Err(RecvError));
        };
        let state = register_waker(&inner.state, &inner.rx_waker, RX_WAKER_SET, RX_FINISHED, cx);
        match self.finish(state) {
            Some(result) => Poll::Ready(result),
            None => Poll::Pending,
        }
    }

    /// Takes the value if it was sent, without waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] if no value was sent yet (try again later);
    /// [`TryRecvError::Closed`] if none ever will be: the sender was dropped without sending,
    /// the receiver was [closed](Receiver::close) before a value came, or the value was
    /// already received.
    ///
    /// ```
    /// use runtime_primitives::oneshot::{self, TryRecvError};
    ///
    /// let (tx, mut rx) = oneshot::channel();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(7).expect("the receiver is alive");
    /// assert_eq!(rx.try_recv(), Ok(7));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let Some(inner) = self.inner.as_deref() else {
            return Err(TryRecvError::Closed);
        };
        let state = inner.state();
        match self.finish(state) {
            Some(Ok(value)) => Ok(value),
            Some(Err(RecvError)) => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Blocks the current OS thread until the value arrives: the form for synchronous code.
    ///
    /// The thread is parked (no spinning) and unparked by the sender.
    ///
    /// # Errors
    ///
    /// [`RecvError`] if the sender is dropped without sending, or the receiver was
    /// [closed](Receiver::close) before a value came.
    ///
    /// # Panics
    ///
    /// On a runtime worker thread, where blocking would stall every task on that thread:
    /// `.await` the receiver there instead, or call this from `spawn_blocking`.
    ///
    /// ```
    /// use runtime_primitives::oneshot;
    ///
    /// let (tx, rx) = oneshot::channel();
    /// let worker = std::thread::spawn(move || tx.send(vec![1, 2, 3]));
    /// assert_eq!(rx.recv_blocking(), Ok(vec![1, 2, 3]));
    /// worker.join().expect("no panic").expect("the receiver was alive");
    /// ```
    #[track_caller]
    pub fn recv_blocking(mut self) -> Result<T, RecvError> {
        hooks::assert_can_block("oneshot::Receiver::recv_blocking", "receiver.await");
        block_on_thread(core::future::poll_fn(|cx| self.poll_recv(cx)))
    }

    /// Closes the channel without dropping the receiver: any later [`send`](Sender::send)
    /// fails and gives its value back, and a sender waiting in [`closed`](Sender::closed)
    /// wakes.
    ///
    /// A value sent before the close can still be received; otherwise the receiver resolves
    /// to [`RecvError`]. Closing twice does nothing more.
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use runtime_primitives::oneshot::{self, RecvError};
    ///
    /// let (tx, mut rx) = oneshot::channel();
    /// rx.close();
    /// assert_eq!(tx.send(5), Err(5));
    /// assert_eq!(block_on(rx), Err(RecvError));
    /// ```
    pub fn close(&mut self) {
        if let Some(inner) = self.inner.as_deref() {
            inner.close();
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut coop = ready!(hooks::poll_proceed(cx));
        let result = self.get_mut().poll_recv(cx);
        if result.is_ready() {
            coop.made_progress();
        }
        result
    }
}

impl<T> FusedFuture for Receiver<T> {
    fn is_terminated(&self) -> bool {
        self.inner.is_none()
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            if inner.close() & VALUE_SENT != 0 {
                // Drop the unreceived value now, on this thread, not with the last handle.
                drop(inner.take_value());
            }
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Receiver");
        match self.inner.as_deref() {
            Some(inner) => s.field("state", &StateBits(inner.state())),
            None => s.field("terminated", &true),
        };
        s.finish()
    }
}

// ===== errors =====

/// The error of a [`Receiver`]: the sender was dropped without sending, or the receiver was
/// [closed](Receiver::close) before a value came.
///
/// ```
/// use futures::executor::block_on;
/// use runtime_primitives::oneshot::{self, RecvError};
///
/// let (tx, rx) = oneshot::channel::<()>();
/// drop(tx);
/// let err = block_on(rx).unwrap_err();
/// assert_eq!(err, RecvError);
/// assert_eq!(err.to_string(), "oneshot channel closed without a value");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvError;

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("oneshot channel closed without a value")
    }
}

impl std::error::Error for RecvError {}

/// The error of [`Receiver::try_recv`].
///
/// ```
/// use runtime_primitives::oneshot::{self, TryRecvError};
///
/// let (tx, mut rx) = oneshot::channel::<u8>();
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// drop(tx);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// No value yet; one may still be sent.
    Empty,
    /// No value, and none ever will be: the sender was dropped without sending, the receiver
    /// was closed before a value came, or the value was already received.
    Closed,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryRecvError::Empty => "oneshot channel empty",
            TryRecvError::Closed => "oneshot channel closed without a value",
        })
    }
}

impl std::error::Error for TryRecvError {}

// Compile-time checks of the auto traits users rely on. `Cell` is `Send` but not `Sync`:
// the ends must not need `T: Sync`.
#[allow(dead_code)]
fn _assert_auto_traits() {
    fn _assert_send<T: Send>() {}
    fn _assert_sync<T: Sync>() {}
    fn _assert_unpin<T: Unpin>() {}
    type NotSync = core::cell::Cell<u8>;
    _assert_send::<Sender<NotSync>>();
    _assert_sync::<Sender<NotSync>>();
    _assert_send::<Receiver<NotSync>>();
    _assert_sync::<Receiver<NotSync>>();
    _assert_send::<Closed<'static, NotSync>>();
    _assert_unpin::<Receiver<core::marker::PhantomPinned>>();
    _assert_unpin::<Closed<'static, core::marker::PhantomPinned>>();
    _assert_send::<RecvError>();
    _assert_sync::<TryRecvError>();
}

#[cfg(all(test, runtime_loom))]
mod loom_tests {
    use super::*;
    use crate::loom::atomic::{AtomicUsize, Ordering};
    use crate::loom::{thread, Arc};

    /// A waker that counts its wakes and, if made with `unpark`, unparks its thread.
    struct TestWaker {
        wakes: AtomicUsize,
        thread: Option<thread::Thread>,
    }

    impl std::task::Wake for TestWaker {
        fn wake(self: std::sync::Arc<Self>) {
            self.wake_by_ref();
        }

        fn wake_by_ref(self: &std::sync::Arc<Self>) {
            self.wakes.fetch_add(1, Ordering::SeqCst);
            if let Some(thread) = &self.thread {
                thread.unpark();
            }
        }
    }

    fn test_waker(unpark: bool) -> Waker {
        Waker::from(std::sync::Arc::new(TestWaker {
            wakes: AtomicUsize::new(0),
            thread: unpark.then(thread::current),
        }))
    }

    fn poll_with<F: Future + Unpin>(fut: &mut F, waker: &Waker) -> Poll<F::Output> {
        Pin::new(fut).poll(&mut Context::from_waker(waker))
    }

    /// Runs `fut` to completion on this loom thread, parking between polls.
    fn block_on<F: Future>(fut: F) -> F::Output {
        let mut fut = core::pin::pin!(fut);
        let waker = test_waker(true);
        loop {
            if let Poll::Ready(out) = fut.as_mut().poll(&mut Context::from_waker(&waker)) {
                return out;
            }
            thread::park();
        }
    }

    /// Polls once with a waker that never unparks, then with one that does, until ready: a
    /// lost wake-up of the second waker leaves this thread parked, which loom reports.
    fn repoll_until_ready<F: Future + Unpin>(fut: &mut F) -> F::Output {
        if let Poll::Ready(out) = poll_with(fut, &test_waker(false)) {
            return out;
        }
        let waker = test_waker(true);
        loop {
            if let Poll::Ready(out) = poll_with(fut, &waker) {
                return out;
            }
            thread::park();
        }
    }

    #[test]
    fn send_vs_recv() {
        ::loom::model(|| {
            let (tx, rx) = channel();
            let sender = thread::spawn(move || tx.send(1).expect("the receiver is alive"));
            assert_eq!(block_on(rx), Ok(1));
            sender.join().expect("sender thread");
        });
    }

    #[test]
    fn send_vs_recv_blocking() {
        ::loom::model(|| {
            let (tx, rx) = channel();
            let sender = thread::spawn(move || tx.send(1).expect("the receiver is alive"));
            assert_eq!(rx.recv_blocking(), Ok(1));
            sender.join().expect("sender thread");
        });
    }

    #[test]
    fn send_vs_receiver_drop() {
        ::loom::model(|| {
            let value = Arc::new(());
            let (tx, rx) = channel();
            let sent = value.clone();
            let sender = thread::spawn(move || tx.send(sent).is_ok());
            drop(rx);
            let ok = sender.join().expect("sender thread");
            // Whichever side won, the value was dropped exactly once.
            assert_eq!(Arc::strong_count(&value), 1, "send succeeded: {ok}");
        });
    }

    #[test]
    fn send_vs_poll_then_receiver_drop() {
        ::loom::model(|| {
            let value = Arc::new(());
            let (tx, mut rx) = channel();
            let sent = value.clone();
            let sender = thread::spawn(move || drop(tx.send(sent)));
            if let Poll::Ready(received) = poll_with(&mut rx, &test_waker(false)) {
                drop(received.expect("only a send finishes the channel here"));
            }
            drop(rx);
            sender.join().expect("sender thread");
            assert_eq!(Arc::strong_count(&value), 1);
        });
    }

    #[test]
    fn sender_drop_vs_recv() {
        ::loom::model(|| {
            let (tx, rx) = channel::<u8>();
            let sender = thread::spawn(move || drop(tx));
            assert_eq!(block_on(rx), Err(RecvError));
            sender.join().expect("sender thread");
        });
    }

    #[test]
    fn sender_drop_vs_recv_blocking() {
        ::loom::model(|| {
            let (tx, rx) = channel::<u8>();
            let sender = thread::spawn(move || drop(tx));
            assert_eq!(rx.recv_blocking(), Err(RecvError));
            sender.join().expect("sender thread");
        });
    }

    #[test]
    fn repoll_with_new_waker_vs_send() {
        ::loom::model(|| {
            let (tx, mut rx) = channel();
            let sender = thread::spawn(move || tx.send(1).expect("the receiver is alive"));
            assert_eq!(repoll_until_ready(&mut rx), Ok(1));
            sender.join().expect("sender thread");
        });
    }

    #[test]
    fn close_vs_send() {
        ::loom::model(|| {
            let value = Arc::new(());
            let (tx, mut rx) = channel();
            let sent = value.clone();
            let sender = thread::spawn(move || tx.send(sent).is_ok());
            rx.close();
            // After the close there is no "maybe later": the value is in, or never will be.
            let received = match rx.try_recv() {
                Ok(v) => {
                    drop(v);
                    true
                }
                Err(TryRecvError::Closed) => false,
                Err(TryRecvError::Empty) => panic!("empty after close"),
            };
            assert_eq!(sender.join().expect("sender thread"), received);
            drop(rx);
            assert_eq!(Arc::strong_count(&value), 1);
        });
    }

    #[test]
    fn closed_vs_receiver_drop() {
        ::loom::model(|| {
            let (mut tx, rx) = channel::<u8>();
            let sender = thread::spawn(move || {
                block_on(tx.closed());
                assert!(tx.is_closed());
            });
            drop(rx);
            sender.join().expect("sender thread");
        });
    }

    #[test]
    fn closed_repoll_with_new_waker_vs_close() {
        ::loom::model(|| {
            let (mut tx, mut rx) = channel::<u8>();
            let receiver = thread::spawn(move || {
                rx.close();
                rx
            });
            repoll_until_ready(&mut tx.closed());
            assert_eq!(tx.send(1), Err(1));
            drop(receiver.join().expect("receiver thread"));
        });
    }
}
