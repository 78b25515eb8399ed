//! Runtime shutdown: every operation in flight is cancelled, and the ring waits for the
//! completions before it may be dropped.

use super::{is_transient, OpId, Ring, CANCEL_TAG};
use io_uring::{opcode, types};
use std::io;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How long shutdown waits for cancelled operations before it gives up on them (and
/// leaks their buffers rather than free memory the kernel might still write).
const SHUTDOWN_WAIT: Duration = Duration::from_secs(2);

impl Ring {
    /// Cancels everything in flight and waits for the completions (at most
    /// [`SHUTDOWN_WAIT`]); the owners' waiters are woken and their next call errors.
    pub(crate) fn shutdown(&self) {
        if self.is_shutdown.swap(true, Ordering::AcqRel) {
            return;
        }
        {
            let mut state = self.lock();
            let pending: Vec<u64> = state
                .ops
                .iter()
                .filter(|(_, op)| !op.settled())
                .map(|(index, op)| {
                    OpId {
                        index: index as u32,
                        generation: op.generation,
                    }
                    .user_data()
                })
                .collect();
            for user_data in pending {
                let entry = opcode::AsyncCancel::new(user_data)
                    .build()
                    .user_data(CANCEL_TAG);
                // SAFETY: a cancellation points at no memory.
                unsafe { self.push(&mut state, &entry) };
            }
        }
        let deadline = Instant::now() + SHUTDOWN_WAIT;
        let mut wake = Vec::new();
        loop {
            self.reap(&mut wake);
            for waker in wake.drain(..) {
                crate::util::wake_contained(waker);
            }
            let waiting = self.lock().ops.iter().any(|(_, op)| !op.settled());
            let now = Instant::now();
            if !waiting {
                return;
            }
            if now >= deadline {
                break;
            }
            let left = deadline - now;
            let ts = types::Timespec::new()
                .sec(left.as_secs())
                .nsec(left.subsec_nanos());
            let args = types::SubmitArgs::new().timespec(&ts);
            match self.uring.submitter().submit_with_args(1, &args) {
                // Timed out, interrupted or busy: look again until the deadline.
                Ok(_) => {}
                Err(e) if is_transient(&e) => {}
                Err(_) => break,
            }
        }
        // Still in flight: leak their buffers and descriptors rather than free memory the
        // kernel may yet write into.
        let mut state = self.lock();
        for (_, op) in state.ops.iter_mut() {
            if !op.settled() {
                std::mem::forget(std::mem::take(&mut op.buf));
                if let Some(bufs) = &self.bufs {
                    bufs.leak();
                }
            }
        }
    }
}

pub(crate) fn shutdown_error() -> io::Error {
    io::Error::other("the runtime this socket belongs to has shut down")
}
