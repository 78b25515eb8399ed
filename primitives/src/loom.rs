//! The concurrency shim: std types normally, loom's under `--cfg runtime_loom`.
//!
//! The rule: every atomic, `Mutex`, `Condvar`, `UnsafeCell`, thread operation (park, unpark,
//! spawn, yield) and `Arc` that carries state shared between threads comes from here, so the
//! loom models exercise the same code that ships. `std::sync` is named directly only where
//! std's own type is meant and no modelled state hides behind it:
//!
//! - `Arc` in the public API (`self: Arc<Self>` receivers, the owned guards and permits):
//!   callers build those with std's `Arc`;
//! - the thread waker's reference count (`Waker::from` takes std's `Arc`; the count only
//!   keeps the waker alive, its `woken` flag is the shim's);
//! - `PoisonError`, which loom's locks return too;
//! - doc tests and the std-only unit tests (`cfg(not(runtime_loom))`).
//!
//! ```
//! use runtime_primitives::loom::{atomic::{AtomicUsize, Ordering}, Arc};
//!
//! let count = Arc::new(AtomicUsize::new(0));
//! count.fetch_add(1, Ordering::Relaxed);
//! assert_eq!(count.load(Ordering::Relaxed), 1);
//! ```

#![allow(unused_imports, dead_code, missing_docs, missing_debug_implementations)]

#[cfg(not(runtime_loom))]
mod imp {
    pub use std::sync::atomic;
    pub use std::sync::{Arc, Condvar, Mutex, MutexGuard};
    pub use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
    pub use std::thread;

    /// `UnsafeCell` with loom's closure-based access, so both builds share one API.
    ///
    /// ```
    /// use runtime_primitives::loom::UnsafeCell;
    ///
    /// let cell = UnsafeCell::new(1);
    /// // SAFETY: nothing else touches the cell.
    /// cell.with_mut(|p| unsafe { *p += 1 });
    /// // SAFETY: as above.
    /// assert_eq!(cell.with(|p| unsafe { *p }), 2);
    /// ```
    #[derive(Debug)]
    pub struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        /// A cell holding `data`.
        ///
        /// ```
        /// let cell = runtime_primitives::loom::UnsafeCell::new([0u8; 4]);
        /// // SAFETY: nothing else touches the cell.
        /// assert_eq!(cell.with(|p| unsafe { (*p).len() }), 4);
        /// ```
        pub const fn new(data: T) -> UnsafeCell<T> {
            UnsafeCell(std::cell::UnsafeCell::new(data))
        }

        /// Runs `f` with a shared pointer to the value (loom checks it against writers).
        ///
        /// ```
        /// let cell = runtime_primitives::loom::UnsafeCell::new(7);
        /// // SAFETY: nothing writes the cell meanwhile.
        /// assert_eq!(cell.with(|p| unsafe { *p }), 7);
        /// ```
        #[inline(always)]
        pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        /// Runs `f` with an exclusive pointer to the value (loom checks it against every
        /// other access).
        ///
        /// ```
        /// let cell = runtime_primitives::loom::UnsafeCell::new(String::new());
        /// // SAFETY: nothing else touches the cell meanwhile.
        /// cell.with_mut(|p| unsafe { (*p).push('x') });
        /// // SAFETY: as above.
        /// assert_eq!(cell.with(|p| unsafe { (*p).clone() }), "x");
        /// ```
        #[inline(always)]
        pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }

    /// Spin-loop hint; loom turns it into a scheduling point.
    ///
    /// ```
    /// runtime_primitives::loom::spin_loop();
    /// ```
    #[inline(always)]
    pub fn spin_loop() {
        std::hint::spin_loop();
    }
}

#[cfg(runtime_loom)]
mod imp {
    pub use loom::cell::UnsafeCell;
    pub use loom::sync::atomic;
    pub use loom::sync::{Arc, Condvar, Mutex, MutexGuard};
    pub use loom::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
    pub use loom::thread;

    pub fn spin_loop() {
        loom::thread::yield_now();
    }
}

pub use imp::*;
