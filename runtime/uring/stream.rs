//! A TCP stream on the ring: reads through a multishot `IORING_OP_RECV` into provided
//! buffers (or a single recv into the stream's own buffer), writes through
//! `IORING_OP_SEND` from a copy.
//!
//! Each direction has its own lock and at most one operation in flight, owned by the
//! stream (not by the future that started it):
//!
//! - **Reads.** A read with nothing buffered arms the stream's multishot recv (once: it
//!   stays armed) and waits for its next completion, which lends a provided buffer; the
//!   bytes are copied out to the caller, what doesn't fit stays for the next read, and the
//!   buffer goes back to the kernel once read. While the recv is armed the socket is never
//!   read around it (`try_read` says `WouldBlock`), so bytes keep their order. When the
//!   recv ends (end of stream, an error, `ENOBUFS` when the shared buffers ran out) the
//!   next read arms it again, after one single recv into the read side's own buffer if it
//!   was `ENOBUFS`. A read future dropped meanwhile leaves the recv in flight: the next
//!   read (or `try_read`) takes its bytes, so a cancelled read loses nothing.
//! - **Writes.** With no send in flight, a write goes straight to the socket with one
//!   non-blocking `send(2)`, as on mio: a small send completes inline anyway, and a ring
//!   request for it only adds cost. When the socket is full, the write copies up to
//!   [`SEND_MAX`] bytes into the write side's buffer, starts a send (`MSG_WAITALL`, so the kernel finishes short sends of a stream socket
//!   itself), submits it at once (unlike recvs, which wait for the flush point: a send is
//!   what the peer waits for, and a task that blocks its thread after a write, in a
//!   blocking call, must not hold back bytes it was told were written) and reports them
//!   written; the next write, `flush` or `close` waits
//!   for that send, finishing a short one and returning its error if it failed. So a
//!   write future never completes having written nothing, and is never `Pending` with
//!   bytes taken: it stays cancel-safe. `shutdown(Write)` with a send in flight is run by
//!   the reaper when the send completes, so the peer sees every byte before the end.
//! - **Dropping the stream** cancels the recv (its bytes were never reported) and lets
//!   the send finish (its bytes were): the descriptor closes when the last completion is
//!   reaped, since every operation holds the socket's `Arc`.

use crate::coop;
use crate::reactor::Direction;
use crate::uring::bufs::Lent;
use crate::uring::ring::{Completion, OpId, OpKind, Ring, Shot};
use io_uring::{opcode, types};
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{ready, Context, Poll};

/// The smallest and the largest recv buffer; a read asks for its caller's length between
/// the two.
const RECV_MIN: usize = 4 * 1024;
const RECV_MAX: usize = 64 * 1024;
/// `IORING_RECVSEND_POLL_FIRST`: a read only waits when nothing was buffered, so the
/// kernel's inline attempt would nearly always fail; arm the poll at once instead.
const RECVSEND_POLL_FIRST: u16 = 1;
/// The most bytes one write takes.
pub(crate) const SEND_MAX: usize = 64 * 1024;

pub(crate) struct UringStream {
    sock: Arc<TcpStream>,
    ring: Arc<Ring>,
    read: Mutex<ReadSide>,
    write: Mutex<WriteSide>,
}

#[derive(Default)]
struct ReadSide {
    /// The recv in flight (it owns the buffer meanwhile).
    op: Option<OpId>,
    /// The multishot recv armed on the socket: it stays armed across reads, each of its
    /// completions bringing a provided buffer.
    multi: Option<OpId>,
    /// A provided buffer a completion brought: `lent[lent_pos..]` is not taken yet.
    lent: Option<Lent>,
    lent_pos: usize,
    /// The provided buffers ran out (`ENOBUFS`): the next recv is a single one into `buf`.
    no_bufs: bool,
    /// Received bytes: `buf[pos..filled]` are not taken yet.
    buf: Vec<u8>,
    pos: usize,
    filled: usize,
    /// A recv returned 0: end of stream.
    eof: bool,
    /// A recv failed: the next read returns it.
    err: Option<io::Error>,
}

#[derive(Default)]
struct WriteSide {
    /// The send in flight, of `buf[sent..len]`.
    op: Option<OpId>,
    sent: usize,
    len: usize,
    /// The buffer while no send is in flight.
    spare: Vec<u8>,
    /// A send failed: the next write or flush returns it.
    err: Option<io::Error>,
    /// A `POLL_ADD` for writability (`writable()`).
    poll: Option<OpId>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl UringStream {
    /// `sock` must be non-blocking (the `try_*` methods call it directly).
    ///
    /// # Errors
    ///
    /// If the runtime has shut down.
    pub(crate) fn new(sock: TcpStream, ring: Arc<Ring>) -> io::Result<UringStream> {
        ring.attach()?;
        Ok(UringStream {
            sock: Arc::new(sock),
            ring,
            read: Mutex::new(ReadSide::default()),
            write: Mutex::new(WriteSide::default()),
        })
    }

    pub(crate) fn socket(&self) -> &TcpStream {
        &self.sock
    }

    fn start_recv(&self, r: &mut ReadSide, want: usize) -> io::Result<()> {
        let len = want.clamp(RECV_MIN, RECV_MAX);
        let mut buf = std::mem::take(&mut r.buf);
        if buf.len() < len {
            buf.resize(len, 0);
        }
        let cap = buf.len() as u32;
        let fd = self.sock.as_raw_fd();
        // SAFETY: the SQE points at the `cap` initialised bytes of `buf`, which the ring
        // keeps until the completion, and names the socket it keeps open.
        let id = unsafe {
            self.ring
                .start(fd, self.sock.clone(), buf, OpKind::Transfer, false, |ptr| {
                    opcode::Recv::new(types::Fd(fd), ptr, cap)
                        .ioprio(RECVSEND_POLL_FIRST)
                        .build()
                })
        }?;
        r.op = Some(id);
        r.pos = 0;
        r.filled = 0;
        Ok(())
    }

    /// Stores what a completed recv brought.
    fn finish_recv(&self, r: &mut ReadSide, done: Completion) {
        r.op = None;
        r.pos = 0;
        r.filled = 0;
        match done.io_result() {
            Ok(0) => r.eof = true,
            Ok(n) => r.filled = n as usize,
            Err(_) if done.was_cancelled() => {}
            Err(e) => r.err = Some(e),
        }
        r.buf = done.buf;
    }

    /// Stores what a multishot recv's completion brought.
    fn finish_shot(r: &mut ReadSide, shot: Shot) {
        if !shot.more {
            r.multi = None;
        }
        if let Some(lent) = shot.buf {
            r.lent = Some(lent);
            r.lent_pos = 0;
            return;
        }
        match shot.result {
            0 => r.eof = true,
            e if e == -libc::ENOBUFS => r.no_bufs = true,
            // Cancelled without our asking (the submitting thread exited, or shutdown):
            // armed again by the next read, which fails if the runtime is gone.
            e if e == -libc::ECANCELED => {}
            e if e < 0 => r.err = Some(io::Error::from_raw_os_error(-e)),
            _ => {}
        }
    }

    /// Bytes, the end of stream or an error wait in the read side.
    fn has_read(r: &ReadSide) -> bool {
        r.lent.is_some() || r.pos < r.filled || r.eof || r.err.is_some()
    }

    /// Ready when bytes, the end of stream or an error wait in the read side; otherwise
    /// makes sure a recv is in flight (the multishot one if it can) and waits for it.
    fn poll_read_side(
        &self,
        r: &mut ReadSide,
        cx: &mut Context<'_>,
        want: usize,
    ) -> Poll<io::Result<()>> {
        loop {
            if Self::has_read(r) {
                return Poll::Ready(Ok(()));
            }
            if let Some(id) = r.op {
                let done = ready!(self.ring.poll_op(id, cx));
                self.finish_recv(r, done);
            } else if let Some(id) = r.multi {
                let shot = ready!(self.ring.poll_shot(id, Some(cx)));
                Self::finish_shot(r, shot);
            } else if self.ring.has_bufs() && !r.no_bufs {
                r.multi = Some(
                    self.ring
                        .start_multishot(self.sock.as_raw_fd(), self.sock.clone())?,
                );
            } else {
                r.no_bufs = false;
                self.start_recv(r, want)?;
            }
        }
    }

    /// Copies buffered bytes (or the end of stream, or the error) out.
    fn take_read(&self, r: &mut ReadSide, dst: &mut [u8]) -> io::Result<usize> {
        if let Some(lent) = &r.lent {
            let n = self.ring.copy_out(lent, r.lent_pos, dst);
            r.lent_pos += n;
            if r.lent_pos >= lent.len() {
                self.ring.recycle(r.lent.take().expect("just seen"));
            }
            return Ok(n);
        }
        if r.pos < r.filled {
            let n = dst.len().min(r.filled - r.pos);
            dst[..n].copy_from_slice(&r.buf[r.pos..r.pos + n]);
            r.pos += n;
            return Ok(n);
        }
        if let Some(e) = r.err.take() {
            return Err(e);
        }
        Ok(0)
    }

    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        dst: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if dst.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let mut coop = ready!(coop::poll_proceed(cx));
        let mut r = lock(&self.read);
        ready!(self.poll_read_side(&mut r, cx, dst.len()))?;
        coop.made_progress();
        Poll::Ready(self.take_read(&mut r, dst))
    }

    pub(crate) fn try_read(&self, dst: &mut [u8]) -> io::Result<usize> {
        let mut r = lock(&self.read);
        if let Some(id) = r.op {
            match self.ring.take_if_done(id) {
                Some(done) => self.finish_recv(&mut r, done),
                None => return Err(io::ErrorKind::WouldBlock.into()),
            }
        }
        while !Self::has_read(&r) {
            let Some(id) = r.multi else { break };
            match self.ring.poll_shot(id, None) {
                Poll::Ready(shot) => Self::finish_shot(&mut r, shot),
                // Armed: the socket's bytes go to the recv, never around it.
                Poll::Pending => return Err(io::ErrorKind::WouldBlock.into()),
            }
        }
        if Self::has_read(&r) {
            return self.take_read(&mut r, dst);
        }
        // Nothing in flight, nothing buffered: the socket itself, without waiting.
        (&*self.sock).read(dst)
    }

    /// Finishes the send in flight (starting its rest again if it was short).
    fn poll_send_done(&self, w: &mut WriteSide, cx: &mut Context<'_>) -> Poll<()> {
        while let Some(id) = w.op {
            let done = ready!(self.ring.poll_op(id, cx));
            self.finish_send(w, done);
        }
        Poll::Ready(())
    }

    fn finish_send(&self, w: &mut WriteSide, done: Completion) {
        w.op = None;
        match done.io_result() {
            Ok(n) => w.sent += n as usize,
            Err(_) if done.was_cancelled() => {}
            Err(e) => {
                w.err = Some(e);
                w.sent = w.len;
            }
        }
        let buf = done.buf;
        if w.sent < w.len {
            if let Err(e) = self.start_send(w, buf) {
                w.err = Some(e);
            }
        } else {
            w.spare = buf;
        }
    }

    fn start_send(&self, w: &mut WriteSide, buf: Vec<u8>) -> io::Result<()> {
        let (sent, len) = (w.sent, w.len);
        debug_assert!(sent < len && len <= buf.len());
        let fd = self.sock.as_raw_fd();
        // SAFETY: the SQE points at `buf[sent..len]`, inside the buffer the ring keeps
        // until the completion, and names the socket it keeps open.
        let id = unsafe {
            self.ring
                .start(fd, self.sock.clone(), buf, OpKind::Transfer, true, |ptr| {
                    opcode::Send::new(types::Fd(fd), ptr.add(sent), (len - sent) as u32)
                        .flags(libc::MSG_NOSIGNAL | libc::MSG_WAITALL)
                        .build()
                })
        };
        match id {
            Ok(id) => {
                w.op = Some(id);
                Ok(())
            }
            Err(e) => {
                w.sent = w.len;
                Err(e)
            }
        }
    }

    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, src: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_write_with(
            cx,
            src.len(),
            |mut sock| sock.write(src),
            |buf| buf.copy_from_slice(&src[..buf.len()]),
        )
    }

    pub(crate) fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let total = bufs.iter().map(|b| b.len()).sum();
        let direct = |mut sock: &TcpStream| sock.write_vectored(bufs);
        self.poll_write_with(cx, total, direct, |mut dst| {
            for src in bufs {
                let n = src.len().min(dst.len());
                dst[..n].copy_from_slice(&src[..n]);
                dst = &mut dst[n..];
                if dst.is_empty() {
                    break;
                }
            }
        })
    }

    /// A write: straight to the socket (`direct`) if no send is in flight and it has room,
    /// else `total` bytes (at most [`SEND_MAX`]) copied by `fill` into a send on the ring.
    fn poll_write_with(
        &self,
        cx: &mut Context<'_>,
        total: usize,
        direct: impl FnOnce(&TcpStream) -> io::Result<usize>,
        fill: impl FnOnce(&mut [u8]),
    ) -> Poll<io::Result<usize>> {
        let mut coop = ready!(coop::poll_proceed(cx));
        let mut w = lock(&self.write);
        ready!(self.poll_send_done(&mut w, cx));
        if let Some(e) = w.err.take() {
            coop.made_progress();
            return Poll::Ready(Err(e));
        }
        if total == 0 {
            return Poll::Ready(Ok(0));
        }
        // Nothing in flight, so nothing to overtake: a socket with room takes the bytes
        // now, in one `send(2)`, as on mio (cheaper than a ring request for a send that
        // would complete inline anyway). Only a send that would block goes to the ring.
        match direct(&self.sock) {
            Ok(n) => {
                coop.made_progress();
                return Poll::Ready(Ok(n));
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => {
                coop.made_progress();
                return Poll::Ready(Err(e));
            }
        }
        let n = total.min(SEND_MAX);
        let mut buf = std::mem::take(&mut w.spare);
        buf.resize(n, 0);
        fill(&mut buf[..n]);
        w.sent = 0;
        w.len = n;
        self.start_send(&mut w, buf)?;
        coop.made_progress();
        Poll::Ready(Ok(n))
    }

    /// Waits for the send in flight; its error, if it failed.
    pub(crate) fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut w = lock(&self.write);
        ready!(self.poll_send_done(&mut w, cx));
        Poll::Ready(match w.err.take() {
            Some(e) => Err(e),
            None => Ok(()),
        })
    }

    pub(crate) fn try_write(&self, src: &[u8]) -> io::Result<usize> {
        let mut w = lock(&self.write);
        if let Some(id) = w.op {
            match self.ring.take_if_done(id) {
                Some(done) => self.finish_send(&mut w, done),
                None => return Err(io::ErrorKind::WouldBlock.into()),
            }
            if w.op.is_some() {
                return Err(io::ErrorKind::WouldBlock.into());
            }
        }
        if let Some(e) = w.err.take() {
            return Err(e);
        }
        (&*self.sock).write(src)
    }

    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
    ) -> Poll<io::Result<()>> {
        let mut coop = ready!(coop::poll_proceed(cx));
        match direction {
            Direction::Read => {
                let mut r = lock(&self.read);
                ready!(self.poll_read_side(&mut r, cx, RECV_MIN))?;
            }
            Direction::Write => {
                let mut w = lock(&self.write);
                ready!(self.poll_writable(&mut w, cx))?;
            }
        }
        coop.made_progress();
        Poll::Ready(Ok(()))
    }

    fn poll_writable(&self, w: &mut WriteSide, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_send_done(w, cx));
        loop {
            if let Some(id) = w.poll {
                let done = ready!(self.ring.poll_op(id, cx));
                w.poll = None;
                if !done.was_cancelled() {
                    return Poll::Ready(done.io_result().map(drop));
                }
            }
            // Room in the send buffer now? One `poll(2)` that never waits.
            let mut pfd = libc::pollfd {
                fd: self.sock.as_raw_fd(),
                events: libc::POLLOUT,
                revents: 0,
            };
            // SAFETY: one valid pollfd, timeout 0.
            if unsafe { libc::poll(&mut pfd, 1, 0) } == 1 {
                return Poll::Ready(Ok(()));
            }
            w.poll = Some(
                self.ring
                    .start_poll_writable(self.sock.as_raw_fd(), self.sock.clone())?,
            );
        }
    }

    /// Shuts a side down; the write side after the send in flight, if there is one.
    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        if how != Shutdown::Read {
            let w = lock(&self.write);
            if let Some(id) = w.op {
                if self.ring.shutdown_write_after(id) {
                    if how == Shutdown::Both {
                        self.sock.shutdown(Shutdown::Read)?;
                    }
                    return Ok(());
                }
            }
        }
        self.sock.shutdown(how)
    }

    /// Gives the socket back, as a duplicate if operations still hold it (a recv in
    /// flight is cancelled and bytes it or earlier recvs brought are dropped; a send in
    /// flight finishes).
    pub(crate) fn into_std(self) -> io::Result<TcpStream> {
        // The drop cancels or orphans what is in flight, as for any stream dropped.
        let sock = Arc::clone(&self.sock);
        drop(self);
        super::unshare(sock, TcpStream::try_clone)
    }
}

impl Drop for UringStream {
    fn drop(&mut self) {
        let ring = &self.ring;
        let mut r = lock(&self.read);
        if let Some(id) = r.op.take() {
            ring.abandon(id, true);
        }
        if let Some(id) = r.multi.take() {
            ring.abandon(id, true);
        }
        if let Some(lent) = r.lent.take() {
            ring.recycle(lent);
        }
        drop(r);
        let mut w = lock(&self.write);
        if let Some(id) = w.op.take() {
            ring.abandon(id, false);
        }
        if let Some(id) = w.poll.take() {
            ring.abandon(id, true);
        }
        drop(w);
        ring.detach();
    }
}
