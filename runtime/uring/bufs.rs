//! The provided-buffer ring multishot recvs take their buffers from
//! (`IORING_REGISTER_PBUF_RING`).
//!
//! [`COUNT`] buffers of [`SIZE`] bytes, shared by every stream of the ring. The kernel
//! takes a buffer from the head of the entry ring for each completion of a multishot recv
//! and names it in the CQE; from then until it is handed back ([`ProvidedBufs::recycle`])
//! the buffer is ours alone, held as a [`Lent`]. Handing back writes the buffer's entry at
//! the tail and publishes the new tail. When the ring runs dry the kernel ends the recv
//! with `ENOBUFS` (the bytes stay in the socket).

use io_uring::types::BufRingEntry;
use io_uring::IoUring;
use std::alloc::{self, Layout};
use std::io;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Mutex, MutexGuard};

/// The buffer group multishot recvs name.
pub(crate) const GROUP: u16 = 0;
/// Buffers in the ring (a power of two, as the kernel wants).
const COUNT: u16 = 512;
/// Bytes per buffer.
pub(crate) const SIZE: usize = 4096;
/// The kernel maps the entry ring by pages.
const PAGE: usize = 4096;

/// A buffer the kernel filled and handed to us: `len` bytes of buffer `bid`. Not `Clone`:
/// whoever holds it is the only reader until it goes back with
/// [`ProvidedBufs::recycle`].
#[derive(Debug)]
pub(crate) struct Lent {
    bid: u16,
    len: usize,
}

impl Lent {
    /// Bytes received.
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

pub(crate) struct ProvidedBufs {
    /// `COUNT` entries, page-aligned; the tail shares the first entry's reserved field.
    entries: NonNull<BufRingEntry>,
    /// `COUNT * SIZE` bytes, buffer `bid` at `bid * SIZE`.
    memory: NonNull<u8>,
    /// Our copy of the tail; the lock orders the hand-backs of several threads.
    tail: Mutex<u16>,
    /// Shutdown gave up on operations still in flight: never free the memory.
    leak: AtomicBool,
}

// SAFETY: the pointers are to memory this value owns; the entry ring is written only
// under the `tail` lock, and each buffer is read only by the holder of its `Lent`.
unsafe impl Send for ProvidedBufs {}
// SAFETY: as above.
unsafe impl Sync for ProvidedBufs {}

impl ProvidedBufs {
    fn entries_layout() -> Layout {
        let size = usize::from(COUNT) * std::mem::size_of::<BufRingEntry>();
        Layout::from_size_align(size.max(PAGE), PAGE).expect("a valid layout")
    }

    fn memory_layout() -> Layout {
        Layout::from_size_align(usize::from(COUNT) * SIZE, PAGE).expect("a valid layout")
    }

    /// Allocates the buffers and registers them with `uring` as [`GROUP`], every buffer
    /// in the ring.
    ///
    /// # Errors
    ///
    /// If the kernel has no provided-buffer rings (before 5.19): multishot recvs are off.
    pub(crate) fn register(uring: &IoUring) -> io::Result<ProvidedBufs> {
        // SAFETY: non-zero sizes.
        let entries = unsafe { alloc::alloc_zeroed(Self::entries_layout()) };
        let entries = NonNull::new(entries.cast::<BufRingEntry>())
            .unwrap_or_else(|| alloc::handle_alloc_error(Self::entries_layout()));
        // Zeroed, though the kernel writes before we read: a checker that can't see the
        // kernel's writes (valgrind) would otherwise call every received byte undefined.
        // SAFETY: non-zero size.
        let memory = unsafe { alloc::alloc_zeroed(Self::memory_layout()) };
        let Some(memory) = NonNull::new(memory) else {
            alloc::handle_alloc_error(Self::memory_layout())
        };
        let bufs = ProvidedBufs {
            entries,
            memory,
            tail: Mutex::new(0),
            leak: AtomicBool::new(false),
        };
        // SAFETY: the entry ring is page-aligned, `COUNT` entries long, and lives until
        // this value drops, which the ring arranges to be after the io_uring instance.
        unsafe {
            uring
                .submitter()
                .register_buf_ring_with_flags(entries.as_ptr() as u64, COUNT, GROUP, 0)
        }?;
        {
            let mut tail = bufs.lock_tail();
            for bid in 0..COUNT {
                bufs.push(&mut tail, bid);
            }
            bufs.publish(*tail);
        }
        Ok(bufs)
    }

    fn lock_tail(&self) -> MutexGuard<'_, u16> {
        self.tail.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes buffer `bid`'s entry at the tail (not yet visible to the kernel).
    fn push(&self, tail: &mut u16, bid: u16) {
        let slot = usize::from(*tail & (COUNT - 1));
        // SAFETY: `slot < COUNT`, inside the entry ring; the kernel reads only entries
        // between its head and the published tail, and this one is past the tail.
        let entry = unsafe { &mut *self.entries.as_ptr().add(slot) };
        // SAFETY: `bid < COUNT`, so the address is inside `memory`.
        let addr = unsafe { self.memory.as_ptr().add(usize::from(bid) * SIZE) };
        entry.set_addr(addr as u64);
        entry.set_len(SIZE as u32);
        entry.set_bid(bid);
        *tail = tail.wrapping_add(1);
    }

    /// Makes the entries up to `tail` visible to the kernel.
    fn publish(&self, tail: u16) {
        // SAFETY: the tail field is a `u16` inside the first entry, 2-aligned, shared with
        // the kernel, which reads it atomically.
        let shared =
            unsafe { AtomicU16::from_ptr(BufRingEntry::tail(self.entries.as_ptr()).cast_mut()) };
        shared.store(tail, Ordering::Release);
    }

    /// The buffer a completion names, `len` bytes long.
    ///
    /// # Safety
    ///
    /// `bid` comes from a completion of this group not yet turned into a [`Lent`].
    pub(crate) unsafe fn lend(bid: u16, len: usize) -> Lent {
        debug_assert!(bid < COUNT && len <= SIZE);
        Lent { bid, len }
    }

    /// Copies `lent`'s bytes from `pos` into `dst`; how many.
    pub(crate) fn copy_out(&self, lent: &Lent, pos: usize, dst: &mut [u8]) -> usize {
        let n = dst.len().min(lent.len.saturating_sub(pos));
        // SAFETY: the holder of `lent` is the only one who touches buffer `bid` (the kernel
        // handed it over in the completion), and `pos + n <= len <= SIZE`.
        let src = unsafe {
            std::slice::from_raw_parts(
                self.memory.as_ptr().add(usize::from(lent.bid) * SIZE + pos),
                n,
            )
        };
        dst[..n].copy_from_slice(src);
        n
    }

    /// Hands buffers back to the kernel.
    pub(crate) fn recycle(&self, lent: impl IntoIterator<Item = Lent>) {
        let mut tail = self.lock_tail();
        let start = *tail;
        for lent in lent {
            self.push(&mut tail, lent.bid);
        }
        if *tail != start {
            self.publish(*tail);
        }
    }

    /// Shutdown gave up on operations in flight: the kernel may still write, so the
    /// memory is never freed.
    pub(crate) fn leak(&self) {
        self.leak.store(true, Ordering::Relaxed);
    }
}

impl Drop for ProvidedBufs {
    fn drop(&mut self) {
        if self.leak.load(Ordering::Relaxed) {
            return;
        }
        // SAFETY: allocated in `register` with these layouts; the io_uring instance (and
        // every operation that could use them) is gone.
        unsafe {
            alloc::dealloc(self.entries.as_ptr().cast(), Self::entries_layout());
            alloc::dealloc(self.memory.as_ptr(), Self::memory_layout());
        }
    }
}

impl std::fmt::Debug for ProvidedBufs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProvidedBufs")
            .field("count", &COUNT)
            .field("size", &SIZE)
            .finish()
    }
}
