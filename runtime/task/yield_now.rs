//! `yield_now`: gevent's `sleep(0)`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Yields to the scheduler: the task goes behind the other runnable tasks and behind the
/// next turn of the IO driver, so a task that yields in a loop can't starve sockets.
///
/// # Cancel safety
///
/// Cancel-safe: there is nothing to lose.
///
/// ```
/// let rt = runtime::Builder::new_current_thread().build().unwrap();
/// rt.block_on(async {
///     let other = runtime::spawn(async { 1 });
///     runtime::yield_now().await; // lets `other` run on this one thread
///     assert!(other.is_finished());
/// });
/// ```
pub async fn yield_now() {
    YieldNow { yielded: false }.await
}

struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        crate::context::defer(cx.waker());
        Poll::Pending
    }
}
