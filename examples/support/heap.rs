//! The heap a server holds, as the C allocator counts it, shared by the `http` and
//! `mini_redis` examples (each pulls this file in with `#[path]`): what their metrics report
//! as `heap_in_use` and `used_memory` (Redis's INFO name), and what `scripts/soak` watches.
//!
//! Bytes handed out and not yet freed, not resident memory: whether the allocator gave freed
//! pages back to the kernel, and which of them, moves the resident figure by more than a
//! megabyte between two moments at rest, while this one moves only with what is held.

/// Bytes the C allocator has handed out and not taken back (`mallinfo2`: the arenas' blocks
/// in use plus the ones it `mmap`ed), over all arenas; `None` where the C library can't say
/// (anything but glibc on Linux).
pub(crate) fn heap_in_use() -> Option<u64> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: `mallinfo2` takes no arguments and only reads the allocator's counters
        // (under its arena locks); glibc has it since 2.33.
        let info = unsafe { libc::mallinfo2() };
        Some((info.uordblks + info.hblkhd) as u64)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    None
}
