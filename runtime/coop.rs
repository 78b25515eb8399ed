//! Cooperative budget: each task poll may make progress on at most [`BUDGET`] resource
//! operations before they start returning `Pending` (after waking the task), so a hot
//! socket or an always-ready channel cannot monopolise a worker.
//!
//! The counter itself lives in `runtime_primitives::hooks` so that the primitives, which
//! know nothing of this runtime, spend it too. Resources call [`poll_proceed`] before an
//! operation and `made_progress` on the returned guard when it succeeded.

use runtime_primitives::hooks;

pub(crate) use runtime_primitives::hooks::{has_budget_remaining, poll_proceed};

/// Operations per task poll.
pub(crate) const BUDGET: u8 = 128;

/// Runs `f` (one task poll, plus the LIFO tasks that share its turn) with a fresh budget.
pub(crate) fn budget<R>(f: impl FnOnce() -> R) -> R {
    let _reset = ResetGuard(hooks::set_budget(Some(BUDGET)));
    f()
}

/// Lifts the budget for a scope (blocking jobs; the members polled inside `JoinSet`).
pub(crate) struct Unconstrained(#[allow(dead_code)] ResetGuard);

impl Unconstrained {
    pub(crate) fn enter() -> Unconstrained {
        Unconstrained(ResetGuard(hooks::set_budget(None)))
    }
}

struct ResetGuard(Option<u8>);

impl Drop for ResetGuard {
    fn drop(&mut self) {
        hooks::set_budget(self.0);
    }
}

/// Runs `future` to completion on this thread (which runs no tasks), each poll with a fresh
/// budget as a task poll gets: the multi-thread `block_on`. The parking itself is the
/// primitives' `block_on_thread`, the one thread parker of the project.
pub(crate) fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    runtime_primitives::internal::block_on_thread(std::future::poll_fn(move |cx| {
        budget(|| future.as_mut().poll(cx))
    }))
}
