//! The buffer a `File` reads ahead into and gathers writes in, and the blocking job that
//! works on it.
//!
//! The buffer travels: it sits in the `File` while the file is idle and moves into the
//! blocking job while one runs, so the job fills or drains it without a lock or a copy.
//!
//! Its contents, by `dirty`:
//! - `dirty == false`: `data[start..end]` is read-ahead, bytes already read from the OS
//!   that the user hasn't taken. The OS position is `end - start` bytes past the position
//!   the user sees.
//! - `dirty == true`: `data[..end]` are bytes the user wrote (`poll_write` returned them
//!   as written) that haven't reached the OS; `start` is 0. The OS position is `end` bytes
//!   before the position the user sees.
//!
//! `data.len()` is the buffer's size (its bytes are initialised once, when it grows, so a
//! read into it needs no zeroing each time).

use std::io::{self, Read, Seek, SeekFrom, Write};

/// The buffer's size unless a caller asks for more in one call: a read of up to this much
/// at a time, and writes gathered until this much is waiting.
pub(super) const BUF_SIZE: usize = 64 * 1024;

/// The most one read or write call may grow the buffer to, so a huge `read(&mut buf)` is
/// served in pieces instead of allocating (and memsetting) its whole size.
pub(super) const MAX_BUF: usize = 4 * 1024 * 1024;

/// See the module doc for what `data`, `start` and `end` hold in each mode.
#[derive(Default)]
pub(super) struct Buf {
    pub(super) data: Vec<u8>,
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) dirty: bool,
}

impl Buf {
    /// Read-ahead bytes not yet taken by the user (0 while the buffer holds writes).
    pub(super) fn unread(&self) -> usize {
        if self.dirty {
            0
        } else {
            self.end - self.start
        }
    }

    /// Drops the read-ahead (the caller accounts for the OS position).
    pub(super) fn discard(&mut self) {
        debug_assert!(!self.dirty, "discarding unwritten data");
        self.start = 0;
        self.end = 0;
    }

    /// Copies read-ahead into `dst`; returns how much.
    pub(super) fn copy_out(&mut self, dst: &mut [u8]) -> usize {
        let n = self.unread().min(dst.len());
        dst[..n].copy_from_slice(&self.data[self.start..self.start + n]);
        self.start += n;
        n
    }

    /// Appends as much of `src` as fits; grows an empty buffer to the size a call of
    /// `src.len()` deserves first. Returns how much was taken, and whether the buffer is
    /// now full (time to write it out).
    pub(super) fn copy_in(&mut self, src: &[u8]) -> (usize, bool) {
        debug_assert!(self.unread() == 0, "writing over read-ahead");
        if !self.dirty {
            self.start = 0;
            self.end = 0;
            self.grow(src.len());
        }
        let n = (self.data.len() - self.end).min(src.len());
        self.data[self.end..self.end + n].copy_from_slice(&src[..n]);
        self.end += n;
        self.dirty |= n > 0;
        (n, self.end == self.data.len())
    }

    /// Makes the buffer at least the size a request of `len` bytes deserves.
    pub(super) fn grow(&mut self, len: usize) -> usize {
        let want = len.clamp(BUF_SIZE, MAX_BUF);
        if self.data.len() < want {
            self.data.resize(want, 0);
        }
        want
    }
}

/// What a blocking job does. `Seek`, `SetLen` and the syncs carry their argument so that
/// a poll that started one can tell its own job's result from another's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Op {
    /// One `read(2)` of up to this many bytes into the buffer, which must hold no data.
    Read(usize),
    /// Writes the buffer's pending bytes out (all of them, or fails).
    Write,
    Seek(SeekFrom),
    SetLen(u64),
    SyncAll,
    SyncData,
}

impl Op {
    /// The verb of "failed to … /path" for this operation's errors.
    pub(super) fn verb(self) -> &'static str {
        match self {
            Op::Read(_) => "read",
            Op::Write => "write",
            Op::Seek(_) => "seek in",
            Op::SetLen(_) => "set the length of",
            Op::SyncAll | Op::SyncData => "sync",
        }
    }

    /// Runs the operation on the blocking pool's thread. `Ok` carries the bytes read
    /// (`Read`), the new position (`Seek`) or 0.
    ///
    /// A failed `Write` empties the buffer all the same: how much of it reached the file is
    /// unknown, so keeping it for a retry could write bytes twice.
    pub(super) fn run(self, file: &std::fs::File, buf: &mut Buf) -> io::Result<u64> {
        let mut file = file;
        match self {
            Op::Read(len) => {
                debug_assert!(buf.unread() == 0 && !buf.dirty);
                buf.discard();
                let len = buf.grow(len);
                let got = loop {
                    match file.read(&mut buf.data[..len]) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        other => break other?,
                    }
                };
                buf.end = got;
                Ok(got as u64)
            }
            Op::Write => {
                let result = file.write_all(&buf.data[..buf.end]);
                buf.end = 0;
                buf.dirty = false;
                result.map(|()| 0)
            }
            Op::Seek(pos) => file.seek(pos),
            Op::SetLen(len) => file.set_len(len).map(|()| 0),
            Op::SyncAll => file.sync_all().map(|()| 0),
            Op::SyncData => file.sync_data().map(|()| 0),
        }
    }
}
