//! A TCP connect on the ring: `IORING_OP_CONNECT`, owned by the future that waits for it.
//!
//! The kernel may read the socket address after the submission returns, so the address
//! lives in the slab entry's buffer, and the socket in the entry's `Arc`, until the
//! completion. A future dropped before the completion cancels the connect
//! (`ASYNC_CANCEL`) and orphans the entry: the address and the descriptor are freed when
//! the (cancellation's) completion is reaped, as for a dropped stream's recv.
//!
//! A connect the kernel cancelled on its own (the thread that submitted it exited) has
//! begun anyway: the submission makes the first `connect(2)` attempt. It is finished the
//! way the mio path finishes every connect: wait for writability (a `POLL_ADD` on the
//! ring), then read the socket's pending error.

use crate::uring::ring::{OpId, OpKind, Ring};
use io_uring::{opcode, types};
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::Arc;

/// Connects `sock` (a fresh non-blocking TCP socket of `addr`'s family) to `addr` on the
/// ring; the connected socket comes back for a [`UringStream`](crate::uring::UringStream).
///
/// # Errors
///
/// What `connect(2)` reports (`ConnectionRefused` for a closed port), or the runtime has
/// shut down.
pub(crate) async fn connect(
    ring: Arc<Ring>,
    sock: TcpStream,
    addr: SocketAddr,
) -> io::Result<TcpStream> {
    let sock = Arc::new(sock);
    let mut op = InFlight {
        ring: &ring,
        id: Some(start_connect(&ring, &sock, addr)?),
    };
    let mut waited_for_writable = false;
    loop {
        let done = std::future::poll_fn(|cx| op.ring.poll_op(op.id.expect("in flight"), cx)).await;
        op.id = None;
        if done.was_cancelled() {
            op.id = Some(ring.start_poll_writable(sock.as_raw_fd(), sock.clone())?);
            waited_for_writable = true;
            continue;
        }
        done.io_result()?;
        break;
    }
    if waited_for_writable {
        crate::net::tcp::stream::check_connected(socket2::SockRef::from(&*sock))?;
    }
    // The completed operation left the slab with its `Arc`: this one is the last.
    super::unshare(sock, TcpStream::try_clone)
}

/// The operation a connect future waits for; dropping the future cancels it.
struct InFlight<'a> {
    ring: &'a Ring,
    id: Option<OpId>,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            self.ring.abandon(id, true);
        }
    }
}

fn start_connect(ring: &Ring, sock: &Arc<TcpStream>, addr: SocketAddr) -> io::Result<OpId> {
    let addr = socket2::SockAddr::from(addr);
    let len = addr.len();
    // SAFETY: `as_ptr` points at a `sockaddr` of `len` initialised bytes inside `addr`,
    // which outlives the slice.
    let bytes = unsafe { std::slice::from_raw_parts(addr.as_ptr().cast::<u8>(), len as usize) };
    let fd = sock.as_raw_fd();
    // SAFETY: the SQE points at the address bytes inside the buffer the ring keeps until
    // the completion (the kernel copies them byte-wise, so alignment does not matter),
    // and names the socket the ring keeps open.
    unsafe {
        ring.start(
            fd,
            sock.clone(),
            bytes.to_vec(),
            OpKind::Transfer,
            false,
            |ptr| opcode::Connect::new(types::Fd(fd), ptr.cast_const().cast(), len).build(),
        )
    }
}
