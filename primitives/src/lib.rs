//! Async synchronisation primitives that work on any executor and from plain OS threads.
//!
//! Re-exported by the `runtime` crate as `runtime::sync`. Every waiting operation is
//! cancel-safe: dropping its future loses no permit, message or notification.

#![warn(clippy::undocumented_unsafe_blocks)]

#[doc(hidden)]
pub mod loom;

#[doc(hidden)]
pub mod hooks;

pub mod oneshot;
