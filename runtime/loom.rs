//! The concurrency shim (shared with `runtime-primitives`): std types normally, loom's
//! under `--cfg runtime_loom`. Internal code imports from here, never `std::sync` directly.

pub(crate) use runtime_primitives::loom::*;
