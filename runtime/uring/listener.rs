//! A TCP listener on the ring: `IORING_OP_ACCEPT`, one in flight, owned by the listener.
//!
//! An accept future dropped while its accept is in flight leaves it there: the connection
//! it brings waits in the listener for the next `accept`, so a cancelled accept loses no
//! connection. Dropping the listener cancels the accept; a connection it brought anyway
//! is closed by the reaper.

use crate::coop;
use crate::uring::ring::{OpId, OpKind, Ring};
use io_uring::{opcode, types};
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{ready, Context, Poll};

const ADDR_LEN: usize = std::mem::size_of::<libc::sockaddr_storage>();
const LEN_LEN: usize = std::mem::size_of::<libc::socklen_t>();

/// The peer address an accept wrote into `buf` (`sockaddr_storage`, then its length).
fn peer_of(buf: &[u8]) -> Option<SocketAddr> {
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
    let len =
        libc::socklen_t::from_ne_bytes(buf.get(ADDR_LEN..ADDR_LEN + LEN_LEN)?.try_into().ok()?)
            as usize;
    let family = libc::sa_family_t::from_ne_bytes(buf.get(..2)?.try_into().ok()?);
    match i32::from(family) {
        libc::AF_INET if len >= std::mem::size_of::<libc::sockaddr_in>() => {
            // SAFETY: `buf` holds a `sockaddr_in` the kernel wrote; an unaligned read of
            // plain old data.
            let a: libc::sockaddr_in = unsafe { std::ptr::read_unaligned(buf.as_ptr().cast()) };
            let ip = Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
            Some(SocketAddrV4::new(ip, u16::from_be(a.sin_port)).into())
        }
        libc::AF_INET6 if len >= std::mem::size_of::<libc::sockaddr_in6>() => {
            // SAFETY: as above, a `sockaddr_in6`.
            let a: libc::sockaddr_in6 = unsafe { std::ptr::read_unaligned(buf.as_ptr().cast()) };
            let ip = Ipv6Addr::from(a.sin6_addr.s6_addr);
            Some(
                SocketAddrV6::new(
                    ip,
                    u16::from_be(a.sin6_port),
                    a.sin6_flowinfo,
                    a.sin6_scope_id,
                )
                .into(),
            )
        }
        _ => None,
    }
}

pub(crate) struct UringListener {
    sock: Arc<TcpListener>,
    ring: Arc<Ring>,
    op: Mutex<Option<OpId>>,
}

impl UringListener {
    /// # Errors
    ///
    /// If the runtime has shut down.
    pub(crate) fn new(sock: TcpListener, ring: Arc<Ring>) -> io::Result<UringListener> {
        ring.attach()?;
        Ok(UringListener {
            sock: Arc::new(sock),
            ring,
            op: Mutex::new(None),
        })
    }

    pub(crate) fn socket(&self) -> &TcpListener {
        &self.sock
    }

    fn lock(&self) -> MutexGuard<'_, Option<OpId>> {
        self.op.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next connection, non-blocking and close-on-exec, and its peer's address (as
    /// `accept(2)` reported it: a peer that reset meanwhile still has one).
    pub(crate) fn poll_accept(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let mut coop = ready!(coop::poll_proceed(cx));
        let mut op = self.lock();
        loop {
            match *op {
                Some(id) => {
                    let done = ready!(self.ring.poll_op(id, cx));
                    *op = None;
                    if done.was_cancelled() {
                        continue;
                    }
                    coop.made_progress();
                    let fd = done.io_result()? as i32;
                    // SAFETY: the accept's result is a new descriptor that only we own.
                    let stream = unsafe { TcpStream::from_raw_fd(fd) };
                    let addr = match peer_of(&done.buf) {
                        Some(addr) => addr,
                        None => stream.peer_addr()?,
                    };
                    return Poll::Ready(Ok((stream, addr)));
                }
                None => {
                    let fd = self.sock.as_raw_fd();
                    // The peer's address and its length, filled in by the kernel.
                    let mut buf = vec![0u8; ADDR_LEN + LEN_LEN];
                    buf[ADDR_LEN..].copy_from_slice(&(ADDR_LEN as libc::socklen_t).to_ne_bytes());
                    // SAFETY: the accept points at the address and the length inside the
                    // buffer the ring keeps until the completion (the kernel copies
                    // byte-wise, so alignment does not matter), and names the listener the
                    // ring keeps open.
                    let id = unsafe {
                        self.ring
                            .start(fd, self.sock.clone(), buf, OpKind::Accept, false, |ptr| {
                                opcode::Accept::new(
                                    types::Fd(fd),
                                    ptr.cast(),
                                    ptr.add(ADDR_LEN).cast(),
                                )
                                .flags(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC)
                                .build()
                            })
                    }?;
                    *op = Some(id);
                }
            }
        }
    }

    /// Gives the socket back, as a duplicate if the accept in flight still holds it (it
    /// is cancelled; a connection it brought anyway is closed).
    pub(crate) fn into_std(self) -> io::Result<TcpListener> {
        // The drop cancels the accept in flight, as for any listener dropped.
        let sock = Arc::clone(&self.sock);
        drop(self);
        super::unshare(sock, TcpListener::try_clone)
    }
}

impl Drop for UringListener {
    fn drop(&mut self) {
        if let Some(id) = self.lock().take() {
            self.ring.abandon(id, true);
        }
        self.ring.detach();
    }
}
