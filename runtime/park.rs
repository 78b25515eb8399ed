//! `block_on` for a thread that runs no tasks.

/// Runs `future` on the current thread, parking it between polls. No tasks run here: this
/// is the multi-thread `block_on`, where workers run the tasks.
pub(crate) fn block_on_thread<F: std::future::Future>(future: F) -> F::Output {
    struct ThreadWaker(std::thread::Thread);
    impl std::task::Wake for ThreadWaker {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(std::sync::Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        let poll = crate::coop::budget(|| future.as_mut().poll(&mut cx));
        if let std::task::Poll::Ready(output) = poll {
            return output;
        }
        // A spurious return only costs an extra poll.
        std::thread::park();
    }
}
