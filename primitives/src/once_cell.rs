//! A cell written once, by the first caller that gets to initialise it: tokio's `OnceCell`,
//! for tasks and threads.
//!
//! # Mechanism
//!
//! A one-permit gate (the crate's `RawSemaphore`) in front of an `UnsafeCell` for the value.
//! Whoever holds the permit may initialise; everyone else waits in the gate's FIFO. On
//! success the initialiser writes the value and *closes* the gate instead of giving the
//! permit back: the close wakes every waiter with "closed", which here means "initialised",
//! and every later acquire fails at once with it. A failed, cancelled or panicking
//! initialiser gives the permit back (a drop guard), and the semaphore wakes the longest
//! waiter to take it, which then initialises.
//!
//! Why a gate rather than a state word with a waiter list of its own: the hand-off to the
//! next initialiser is exactly the semaphore's release, already cancel-safe (a waiter dropped
//! after it was woken passes the chance on) and fair (the woken waiter can be overtaken by a
//! newcomer at most once, then it is handed the permit, so no initialiser starves), and its
//! loom models already cover
//! it. What is new here is small: the permit guard and the write-then-close order. With the
//! value in, [`OnceCell::get`] is a single acquire load of the gate's word.
//!
//! The value is written only by the permit holder while the gate is open, and read only
//! after a load that saw the gate closed; the close (a release read-modify-write) comes after
//! the write, so every reader sees the whole value.

use core::convert::Infallible;
use core::fmt;
use core::future::Future;
use core::mem::MaybeUninit;

use crate::hooks;
use crate::loom::UnsafeCell;
use crate::raw_semaphore::{RawSemaphore, TryAcquireError};
use crate::thread_waker::block_on_thread;

/// A cell that is initialised at most once, by the first task or thread to get there, while
/// the others wait for the value. tokio's `OnceCell`, usable from tasks on any executor and
/// from plain OS threads.
///
/// [`get_or_init`](OnceCell::get_or_init) runs one initialiser at a time: callers that come
/// while one runs wait (woken, not polling) and get its value. If the initialiser fails
/// ([`get_or_try_init`](OnceCell::get_or_try_init) returning `Err`), panics, or its future is
/// dropped, the cell stays empty and the longest waiter initialises next.
///
/// ```
/// use futures::executor::block_on;
/// use runtime_primitives::OnceCell;
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// static CONFIG: OnceCell<String> = OnceCell::new();
/// static LOADS: AtomicUsize = AtomicUsize::new(0);
///
/// async fn config() -> &'static str {
///     CONFIG
///         .get_or_init(|| async {
///             LOADS.fetch_add(1, Ordering::SeqCst);
///             "listen = 127.0.0.1:7000".to_owned() // read a file, ask a server...
///         })
///         .await
/// }
///
/// let threads: Vec<_> = (0..4)
///     .map(|_| std::thread::spawn(|| block_on(config()).len()))
///     .collect();
/// for t in threads {
///     assert_eq!(t.join().unwrap(), 23);
/// }
/// assert_eq!(LOADS.load(Ordering::SeqCst), 1, "loaded once");
/// ```
///
/// # Deadlock
///
/// An initialiser that itself waits on the cell it is initialising (directly, or through
/// another task it waits for) waits for itself forever, as with `std::sync::OnceLock`.
pub struct OnceCell<T> {
    /// One permit: its holder may initialise. Closed once the value is in (see the module
    /// doc).
    gate: RawSemaphore,
    value: UnsafeCell<MaybeUninit<T>>,
}

// SAFETY: `&OnceCell<T>` hands out `&T` (so `T: Sync`), and lets any thread put in a value
// that the cell's owner later drops or takes on another thread (so `T: Send`). The value is
// written once, by the permit holder while the gate is open, and read only after a closed gate
// was seen (the module doc's ordering).
unsafe impl<T: Send + Sync> Sync for OnceCell<T> {}

// The value moves with the cell; shared, it is read from any thread.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<OnceCell<String>>();
};

impl<T> OnceCell<T> {
    /// An empty cell. `const`, so it can live in a `static`.
    ///
    /// ```
    /// use runtime_primitives::OnceCell;
    ///
    /// static CELL: OnceCell<u32> = OnceCell::new();
    /// assert_eq!(CELL.get(), None);
    /// ```
    #[cfg(not(runtime_loom))]
    pub const fn new() -> OnceCell<T> {
        OnceCell {
            gate: RawSemaphore::one(),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// An empty cell (not `const` under loom, whose types aren't).
    #[cfg(runtime_loom)]
    pub fn new() -> OnceCell<T> {
        OnceCell {
            gate: RawSemaphore::one(),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// A cell holding `value` if it is `Some`, empty otherwise.
    ///
    /// ```
    /// use runtime_primitives::OnceCell;
    ///
    /// assert_eq!(OnceCell::new_with(Some(3)).get(), Some(&3));
    /// assert_eq!(OnceCell::<u8>::new_with(None).get(), None);
    /// ```
    pub fn new_with(value: Option<T>) -> OnceCell<T> {
        let cell = OnceCell::new();
        if let Some(value) = value {
            // Nobody else can see the cell yet.
            let _ = cell.set(value);
        }
        cell
    }

    /// Whether the cell holds a value.
    ///
    /// ```
    /// use runtime_primitives::OnceCell;
    ///
    /// let cell = OnceCell::new();
    /// assert!(!cell.initialized());
    /// cell.set(1).unwrap();
    /// assert!(cell.initialized());
    /// ```
    pub fn initialized(&self) -> bool {
        self.gate.is_closed()
    }

    /// The value, if the cell holds one. Never waits: an initialiser that is running counts
    /// as empty.
    ///
    /// ```
    /// use runtime_primitives::OnceCell;
    ///
    /// let cell = OnceCell::new();
    /// assert_eq!(cell.get(), None);
    /// cell.set("x").unwrap();
    /// assert_eq!(cell.get(), Some(&"x"));
    /// ```
    pub fn get(&self) -> Option<&T> {
        if self.initialized() {
            // SAFETY: the gate is closed: the value is in, and never written again while
            // `&self` lives.
            Some(unsafe { self.value_unchecked() })
        } else {
            None
        }
    }

    /// The value, mutably, if the cell holds one. Never waits (the `&mut` proves nobody
    /// else is using the cell).
    ///
    /// ```
    /// use runtime_primitives::OnceCell;
    ///
    /// let mut cell = OnceCell::new_with(Some(vec![1]));
    /// cell.get_mut().unwrap().push(2);
    /// assert_eq!(cell.get(), Some(&vec![1, 2]));
    /// ```
    pub fn get_mut(&mut self) -> Option<&mut T> {
        if self.initialized() {
            // SAFETY: initialised, and `&mut self` excludes every other access.
            Some(self.value.with_mut(|p| unsafe { (*p).assume_init_mut() }))
        } else {
            None
        }
    }

    /// Puts `value` in the cell if it is empty and nobody is initialising it. Never waits.
    ///
    /// # Errors
    ///
    /// [`SetError::AlreadyInitialized`] if the cell holds a value, and
    /// [`SetError::Initializing`] if an initialiser is running (or a waiter was just handed
    /// the turn); both give `value` back.
    ///
    /// ```
    /// use runtime_primitives::{OnceCell, SetError};
    ///
    /// let cell = OnceCell::new();
    /// assert_eq!(cell.set(1), Ok(()));
    /// assert_eq!(cell.set(2), Err(SetError::AlreadyInitialized(2)));
    /// assert_eq!(cell.get(), Some(&1));
    /// ```
    pub fn set(&self, value: T) -> Result<(), SetError<T>> {
        match self.gate.try_acquire(1) {
            Ok(()) => {
                // SAFETY: we hold the only permit and the gate is open.
                unsafe { self.put(value) };
                Ok(())
            }
            Err(TryAcquireError::Closed) => Err(SetError::AlreadyInitialized(value)),
            Err(TryAcquireError::NoPermits) => Err(SetError::Initializing(value)),
        }
    }

    /// The value, initialising the cell with `init().await` first if it is empty. If another
    /// caller is initialising, waits for its value (or, if it fails, for the turn to try).
    ///
    /// # Panics
    ///
    /// A panic in `init` or its future reaches the caller; the cell stays empty and the next
    /// waiter initialises.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: dropping the future while it waits loses nobody's turn, and dropping it
    /// while its `init` future runs leaves the cell empty and hands the turn to the next
    /// waiter. Nobody is left waiting.
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use runtime_primitives::OnceCell;
    ///
    /// let cell = OnceCell::new();
    /// block_on(async {
    ///     assert_eq!(*cell.get_or_init(|| async { 7 }).await, 7);
    ///     assert_eq!(*cell.get_or_init(|| async { 8 }).await, 7, "already set");
    /// });
    /// ```
    pub async fn get_or_init<F, Fut>(&self, init: F) -> &T
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        let value = self
            .get_or_try_init(move || async move { Ok::<T, Infallible>(init().await) })
            .await;
        match value {
            Ok(value) => value,
            Err(never) => match never {},
        }
    }

    /// The value, initialising the cell with `init().await` first if it is empty; an `Err`
    /// from `init` is returned and leaves the cell empty, so the next caller (the longest
    /// waiter) tries. If another caller is initialising, waits as
    /// [`get_or_init`](OnceCell::get_or_init) does.
    ///
    /// # Errors
    ///
    /// The `Err` of this caller's own `init`; an `Err` of another caller's never reaches
    /// this one, which gets its own turn instead.
    ///
    /// # Panics
    ///
    /// As [`get_or_init`](OnceCell::get_or_init).
    ///
    /// # Cancel safety
    ///
    /// As [`get_or_init`](OnceCell::get_or_init).
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use runtime_primitives::OnceCell;
    ///
    /// let cell = OnceCell::new();
    /// block_on(async {
    ///     let failed = cell.get_or_try_init(|| async { "127.0.0.x".parse::<std::net::Ipv4Addr>() });
    ///     assert!(failed.await.is_err());
    ///     assert!(!cell.initialized(), "an error leaves the cell empty");
    ///     let ok = cell.get_or_try_init(|| async { "127.0.0.1".parse::<std::net::Ipv4Addr>() });
    ///     assert!(ok.await.unwrap().is_loopback());
    /// });
    /// ```
    pub async fn get_or_try_init<E, F, Fut>(&self, init: F) -> Result<&T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        if let Some(value) = self.get() {
            return Ok(value);
        }
        if self.gate.acquire(1).await.is_err() {
            // Closed: initialised while we waited.
            // SAFETY: a closed gate means the value is in.
            return Ok(unsafe { self.value_unchecked() });
        }
        // The turn is ours, and the cell is empty: an initialiser that succeeded never gives
        // the permit back. Failing, cancelled or unwinding, the guard gives it back.
        let turn = Turn { gate: &self.gate };
        let value = init().await?;
        core::mem::forget(turn);
        // SAFETY: we hold the only permit and the gate is open.
        unsafe { self.put(value) };
        // SAFETY: just put in.
        Ok(unsafe { self.value_unchecked() })
    }

    /// Blocks the current OS thread for the value, initialising the cell with `init()` on
    /// this thread first if it is empty; waits while another caller (task or thread)
    /// initialises.
    ///
    /// # Panics
    ///
    /// On a runtime worker thread, where parking would stall every task on it: use
    /// [`get_or_init`](OnceCell::get_or_init)`.await` there, or call this from
    /// `spawn_blocking`. A panic in `init` reaches the caller; the cell stays empty and the
    /// next waiter initialises.
    ///
    /// ```
    /// use runtime_primitives::OnceCell;
    /// use std::sync::Arc;
    ///
    /// let cell = Arc::new(OnceCell::new());
    /// let threads: Vec<_> = (0..4)
    ///     .map(|i| {
    ///         let cell = cell.clone();
    ///         std::thread::spawn(move || *cell.get_or_init_blocking(|| i))
    ///     })
    ///     .collect();
    /// let seen: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    /// assert!(seen.iter().all(|v| Some(v) == cell.get()), "one value for all");
    /// ```
    #[track_caller]
    pub fn get_or_init_blocking<F>(&self, init: F) -> &T
    where
        F: FnOnce() -> T,
    {
        hooks::assert_can_block(
            "OnceCell::get_or_init_blocking",
            "cell.get_or_init(init).await",
        );
        if let Some(value) = self.get() {
            return value;
        }
        block_on_thread(self.get_or_init(move || async move { init() }))
    }

    /// Blocks the current OS thread for the value, initialising the cell with `init()` on
    /// this thread first if it is empty; an `Err` is returned and leaves the cell empty.
    ///
    /// # Errors
    ///
    /// The `Err` of this caller's own `init`.
    ///
    /// # Panics
    ///
    /// As [`get_or_init_blocking`](OnceCell::get_or_init_blocking).
    ///
    /// ```
    /// use runtime_primitives::OnceCell;
    ///
    /// let cell = OnceCell::new();
    /// assert_eq!(cell.get_or_try_init_blocking(|| Err::<u8, _>("offline")), Err("offline"));
    /// assert_eq!(cell.get_or_try_init_blocking(|| Ok::<_, &str>(1)), Ok(&1));
    /// ```
    #[track_caller]
    pub fn get_or_try_init_blocking<E, F>(&self, init: F) -> Result<&T, E>
    where
        F: FnOnce() -> Result<T, E>,
    {
        hooks::assert_can_block(
            "OnceCell::get_or_try_init_blocking",
            "cell.get_or_try_init(init).await",
        );
        if let Some(value) = self.get() {
            return Ok(value);
        }
        block_on_thread(self.get_or_try_init(move || async move { init() }))
    }

    /// Takes the value out, leaving the cell empty (and ready to be initialised again).
    ///
    /// ```
    /// use runtime_primitives::OnceCell;
    ///
    /// let mut cell = OnceCell::new_with(Some(5));
    /// assert_eq!(cell.take(), Some(5));
    /// assert_eq!(cell.get(), None);
    /// cell.set(6).unwrap();
    /// assert_eq!(cell.get(), Some(&6));
    /// ```
    pub fn take(&mut self) -> Option<T> {
        if !self.initialized() {
            return None;
        }
        // `&mut self`: nobody waits at the gate, so a fresh one replaces it.
        self.gate = RawSemaphore::one();
        // SAFETY: it was initialised, and the fresh gate says it no longer is, so the value
        // is read out exactly once.
        Some(self.value.with(|p| unsafe { (*p).assume_init_read() }))
    }

    /// The value, if the cell holds one, consuming the cell.
    ///
    /// ```
    /// use runtime_primitives::OnceCell;
    ///
    /// assert_eq!(OnceCell::from("v").into_inner(), Some("v"));
    /// assert_eq!(OnceCell::<u8>::new().into_inner(), None);
    /// ```
    pub fn into_inner(mut self) -> Option<T> {
        self.take()
    }

    /// Writes the value and closes the gate, which wakes every waiter.
    ///
    /// # Safety
    ///
    /// The caller holds the gate's only permit, and the gate is open.
    unsafe fn put(&self, value: T) {
        // SAFETY: the permit holder is the only writer, and nobody reads before the close.
        self.value.with_mut(|p| unsafe { (*p).write(value) });
        self.gate.close();
    }

    /// The value, which must be in.
    ///
    /// # Safety
    ///
    /// The gate is closed (the value is in and stays while `&self` lives).
    unsafe fn value_unchecked(&self) -> &T {
        // SAFETY: as the caller promised; nobody writes an initialised value through `&self`.
        self.value.with(|p| unsafe { (*p).assume_init_ref() })
    }
}

/// Gives the initialiser's permit back unless it is forgotten (on success), so a failing,
/// cancelled or panicking initialiser hands the turn to the next waiter.
struct Turn<'a> {
    gate: &'a RawSemaphore,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.gate.release(1);
    }
}

impl<T> Drop for OnceCell<T> {
    fn drop(&mut self) {
        if self.initialized() {
            // SAFETY: initialised, and dropped exactly once, here.
            self.value.with_mut(|p| unsafe { (*p).assume_init_drop() });
        }
    }
}

impl<T> Default for OnceCell<T> {
    fn default() -> Self {
        OnceCell::new()
    }
}

impl<T> From<T> for OnceCell<T> {
    /// A cell holding `value`.
    ///
    /// ```
    /// use runtime_primitives::OnceCell;
    ///
    /// assert_eq!(OnceCell::from(2).get(), Some(&2));
    /// ```
    fn from(value: T) -> Self {
        OnceCell::new_with(Some(value))
    }
}

impl<T: Clone> Clone for OnceCell<T> {
    /// A cell holding a clone of the value, or an empty cell (an initialiser that is
    /// running counts as empty).
    ///
    /// ```
    /// use runtime_primitives::OnceCell;
    ///
    /// let cell = OnceCell::from(String::from("a"));
    /// assert_eq!(cell.clone().get().map(String::as_str), Some("a"));
    /// ```
    fn clone(&self) -> Self {
        OnceCell::new_with(self.get().cloned())
    }
}

impl<T: fmt::Debug> fmt::Debug for OnceCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnceCell")
            .field("value", &self.get())
            .finish()
    }
}

// ===== SetError =====

/// Why [`OnceCell::set`] did not put the value in; it comes back inside.
///
/// ```
/// use runtime_primitives::{OnceCell, SetError};
///
/// let cell = OnceCell::from(1);
/// let err = cell.set(2).unwrap_err();
/// assert!(err.is_already_initialized());
/// assert_eq!(err.into_inner(), 2);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub enum SetError<T> {
    /// The cell already holds a value.
    AlreadyInitialized(T),
    /// An initialiser is running (or a waiter was just handed the turn).
    Initializing(T),
}

impl<T> SetError<T> {
    /// The value that was not put in.
    ///
    /// ```
    /// use runtime_primitives::SetError;
    ///
    /// assert_eq!(SetError::Initializing(4).into_inner(), 4);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            SetError::AlreadyInitialized(value) | SetError::Initializing(value) => value,
        }
    }

    /// Whether the cell already held a value.
    ///
    /// ```
    /// use runtime_primitives::SetError;
    ///
    /// assert!(SetError::AlreadyInitialized(()).is_already_initialized());
    /// ```
    pub fn is_already_initialized(&self) -> bool {
        matches!(self, SetError::AlreadyInitialized(_))
    }

    /// Whether an initialiser was running.
    ///
    /// ```
    /// use runtime_primitives::SetError;
    ///
    /// assert!(SetError::Initializing(()).is_initializing());
    /// ```
    pub fn is_initializing(&self) -> bool {
        matches!(self, SetError::Initializing(_))
    }
}

impl<T> fmt::Debug for SetError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetError::AlreadyInitialized(_) => f.write_str("AlreadyInitialized(..)"),
            SetError::Initializing(_) => f.write_str("Initializing(..)"),
        }
    }
}

impl<T> fmt::Display for SetError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SetError::AlreadyInitialized(_) => "the cell already holds a value",
            SetError::Initializing(_) => "the cell is being initialised",
        })
    }
}

impl<T> std::error::Error for SetError<T> {}

#[cfg(all(test, not(runtime_loom)))]
mod tests {
    use super::*;
    use core::pin::{pin, Pin};
    use core::task::{Context, Poll, Waker};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    fn poll_once<F: Future>(fut: Pin<&mut F>) -> Poll<F::Output> {
        fut.poll(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn set_while_initialising_gives_the_value_back() {
        let cell = OnceCell::new();
        let mut init = pin!(cell.get_or_init(std::future::pending::<u8>));
        assert!(poll_once(init.as_mut()).is_pending());
        assert_eq!(cell.set(1), Err(SetError::Initializing(1)));
        assert_eq!(cell.get(), None);
    }

    #[test]
    fn dropped_initialiser_hands_the_turn_to_the_waiter() {
        let cell = OnceCell::new();
        let mut first = Box::pin(cell.get_or_init(std::future::pending::<u8>));
        let mut second = pin!(cell.get_or_init(|| async { 2 }));
        assert!(poll_once(first.as_mut()).is_pending());
        assert!(poll_once(second.as_mut()).is_pending(), "waits its turn");
        drop(first);
        assert_eq!(poll_once(second.as_mut()), Poll::Ready(&2));
    }

    #[test]
    fn dropped_waiter_loses_nobody_the_turn() {
        let cell = OnceCell::new();
        let mut running = Box::pin(cell.get_or_init(std::future::pending::<u8>));
        let mut dropped = Box::pin(cell.get_or_init(|| async { 9 }));
        let mut last = pin!(cell.get_or_init(|| async { 3 }));
        assert!(poll_once(running.as_mut()).is_pending());
        assert!(poll_once(dropped.as_mut()).is_pending());
        assert!(poll_once(last.as_mut()).is_pending());
        drop(running); // hands the turn to `dropped`, which is dropped unpolled
        drop(dropped); // and passes it on
        assert_eq!(poll_once(last.as_mut()), Poll::Ready(&3));
    }

    #[test]
    fn waiters_queue_behind_the_initialiser_and_get_its_value() {
        let cell = OnceCell::new();
        let runs = AtomicUsize::new(0);
        let (tx, rx) = crate::oneshot::channel::<u32>();
        let mut first = pin!(cell.get_or_init(|| async {
            runs.fetch_add(1, Ordering::SeqCst);
            rx.await.unwrap()
        }));
        assert!(poll_once(first.as_mut()).is_pending());
        let mut waits: Vec<_> = (0..50)
            .map(|i| {
                let runs = &runs;
                Box::pin(cell.get_or_init(move || async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    i
                }))
            })
            .collect();
        for w in &mut waits {
            assert!(
                poll_once(w.as_mut()).is_pending(),
                "one initialiser at a time"
            );
        }
        tx.send(7).unwrap();
        assert_eq!(poll_once(first.as_mut()), Poll::Ready(&7));
        for w in &mut waits {
            assert_eq!(poll_once(w.as_mut()), Poll::Ready(&7));
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn take_and_drop_drop_the_value_once() {
        let value = Arc::new(());
        let mut cell = OnceCell::from(value.clone());
        assert_eq!(Arc::strong_count(&value), 2);
        let taken = cell.take().unwrap();
        assert!(cell.take().is_none());
        drop(taken);
        assert_eq!(Arc::strong_count(&value), 1);
        cell.set(value.clone()).unwrap();
        drop(cell);
        assert_eq!(
            Arc::strong_count(&value),
            1,
            "dropping the cell drops the value"
        );
    }
}

#[cfg(all(test, runtime_loom))]
mod loom_tests {
    use super::*;
    use crate::loom::atomic::{AtomicUsize, Ordering};
    use crate::loom::{thread, Arc};
    use core::pin::Pin;
    use core::task::{Context, Poll, Waker};

    fn poll_once<F: Future>(fut: Pin<&mut F>) -> Poll<F::Output> {
        fut.poll(&mut Context::from_waker(Waker::noop()))
    }

    /// Two initialisers, one cancelled after one poll (while waiting, or while its `init`
    /// future runs): the other always finishes, with its own value.
    #[test]
    fn two_initialisers_one_cancelled() {
        ::loom::model(|| {
            let cell = Arc::new(OnceCell::new());
            let cancelled = {
                let cell = cell.clone();
                thread::spawn(move || {
                    let mut init = Box::pin(cell.get_or_init(std::future::pending::<u8>));
                    // Queued, running its `init`, or too late (the value is in): then dropped.
                    let _ = poll_once(init.as_mut());
                })
            };
            assert_eq!(*block_on_thread(cell.get_or_init(|| async { 2 })), 2);
            cancelled.join().unwrap();
            assert_eq!(cell.get(), Some(&2));
        });
    }

    /// Two initialisers racing: exactly one init runs, and both see its value.
    #[test]
    fn two_initialisers_race_one_runs() {
        ::loom::model(|| {
            let cell = Arc::new(OnceCell::new());
            let runs = Arc::new(AtomicUsize::new(0));
            let other = {
                let (cell, runs) = (cell.clone(), runs.clone());
                thread::spawn(move || {
                    *block_on_thread(cell.get_or_init(|| async move {
                        runs.fetch_add(1, Ordering::SeqCst);
                        1
                    }))
                })
            };
            let mine = *block_on_thread(cell.get_or_init(|| async {
                runs.fetch_add(1, Ordering::SeqCst);
                2
            }));
            assert_eq!(other.join().unwrap(), mine);
            assert_eq!(runs.load(Ordering::SeqCst), 1);
        });
    }
}
