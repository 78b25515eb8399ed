//! The concurrency shim: std types normally, loom's under `--cfg runtime_loom`.
//!
//! Internal code takes atomics, `Arc`, `Mutex` and `UnsafeCell` from here, never from
//! `std::sync` directly, so the loom models exercise the same code that ships.

#![allow(unused_imports, dead_code, missing_docs, missing_debug_implementations)]

#[cfg(not(runtime_loom))]
mod imp {
    pub use std::sync::atomic;
    pub use std::sync::{Arc, Condvar, Mutex, MutexGuard};
    pub use std::thread;

    /// `UnsafeCell` with loom's closure-based access, so both builds share one API.
    #[derive(Debug)]
    pub struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub const fn new(data: T) -> UnsafeCell<T> {
            UnsafeCell(std::cell::UnsafeCell::new(data))
        }
        #[inline(always)]
        pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }
        #[inline(always)]
        pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }

    /// Spin-loop hint; loom turns it into a scheduling point.
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
    pub use loom::thread;

    pub fn spin_loop() {
        loom::thread::yield_now();
    }
}

pub use imp::*;
