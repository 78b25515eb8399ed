//! The concurrency shim (shared with `runtime-primitives`): std types normally, loom's
//! under `--cfg runtime_loom`.
//!
//! The rule: code that a loom model runs (the task cell and its state word, the owned
//! list, the local ring, the injector, the parkers, `ScheduledIo`, the blocking pool's
//! queue and idle set) takes its atomics, locks and cells from here, so the models check
//! the code that ships. Code no model can run (the mio reactor's slab, the timer wheel's
//! lock, handles shared through `std::sync::Arc` in the public API, counters that order
//! nothing) may use `std::sync` directly; where it does, the file's imports say so.

pub(crate) use runtime_primitives::loom::*;
