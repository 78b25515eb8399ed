//! `TcpListener`.

use crate::net::accept;
use crate::net::addr::{each_addr, ToSocketAddrs};
use crate::net::tcp::socket::TcpSocket;
use crate::net::tcp::stream::TcpStream;
use crate::reactor::PollEvented;
use std::fmt;
use std::io;
use std::net::SocketAddr;

/// A TCP server socket.
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let listener = runtime::net::TcpListener::bind("127.0.0.1:0").await?;
/// let addr = listener.local_addr()?;
/// let client = runtime::spawn(runtime::net::TcpStream::connect(addr));
/// let (_conn, peer) = listener.accept().await?;
/// assert_eq!(peer, client.await.unwrap()?.local_addr()?);
/// # Ok(())
/// # }
/// ```
pub struct TcpListener {
    io: ListenerIo,
}

/// The engine under a `TcpListener`: the mio reactor, or the io_uring driver.
enum ListenerIo {
    Mio(PollEvented<mio::net::TcpListener>),
    #[cfg(target_os = "linux")]
    Uring(crate::uring::UringListener),
}

impl TcpListener {
    /// Binds to `addr` with `SO_REUSEADDR` and a backlog of 1024 (use [`TcpSocket`] for
    /// other settings), trying each resolved address in turn.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: dropping it before it completes leaves no socket bound (a host name
    /// being looked up on the blocking pool finishes there and is discarded).
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use runtime::net::TcpListener;
    /// let listener = TcpListener::bind("127.0.0.1:0").await?; // port 0: the OS picks one
    /// let port = listener.local_addr()?.port();
    /// assert_ne!(port, 0);
    /// let taken = TcpListener::bind(("127.0.0.1", port)).await.unwrap_err();
    /// assert_eq!(taken.kind(), std::io::ErrorKind::AddrInUse);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        each_addr(&addr, |addr| async move {
            let socket = TcpSocket::for_addr(addr)?;
            socket.set_reuseaddr(true)?;
            socket.bind(addr)?;
            socket.listen(1024)
        })
        .await
    }

    /// A listener on the current runtime's IO driver.
    pub(crate) fn new(listener: mio::net::TcpListener) -> io::Result<TcpListener> {
        #[cfg(target_os = "linux")]
        if let Some(ring) = crate::driver::Handle::with_current(|d| d.uring.clone()) {
            return Ok(TcpListener {
                io: ListenerIo::Uring(crate::uring::UringListener::new(listener.into(), ring)?),
            });
        }
        Ok(TcpListener {
            io: ListenerIo::Mio(PollEvented::with_interest(
                listener,
                mio::Interest::READABLE,
            )?),
        })
    }

    /// Waits for a connection.
    ///
    /// # Out of descriptors or memory
    ///
    /// When `accept(2)` fails with `EMFILE` or `ENFILE` (no file descriptor left in the
    /// process or the system), `ENOBUFS` or `ENOMEM`, the connection stays queued and this
    /// keeps waiting: it sleeps on a timer (1 ms, doubling up to 100 ms) and tries again,
    /// so the task neither spins nor sees the error, and the queued connections are
    /// accepted once descriptors are free again. Bound the wait with
    /// [`time::timeout`](crate::time::timeout) if a stalled accept must be noticed.
    ///
    /// # Errors
    ///
    /// Any other error of `accept(2)`, or registering the new socket with the reactor.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a connection is only taken off the queue when this returns it.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use runtime::net::{TcpListener, TcpStream};
    /// let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// let addr = listener.local_addr()?;
    /// let server = runtime::spawn(async move {
    ///     // One task per connection; here just two.
    ///     for _ in 0..2 {
    ///         let (mut conn, _peer) = listener.accept().await?;
    ///         runtime::spawn(async move { conn.write_all(b"welcome").await });
    ///     }
    ///     std::io::Result::Ok(())
    /// });
    /// for _ in 0..2 {
    ///     let mut client = TcpStream::connect(addr).await?;
    ///     let mut buf = [0; 7];
    ///     client.read_exact(&mut buf).await?;
    ///     assert_eq!(&buf, b"welcome");
    /// }
    /// server.await??;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        match &self.io {
            ListenerIo::Mio(io) => {
                let (stream, addr) = accept::accept(io, |l| l.accept()).await?;
                Ok((TcpStream::new(stream)?, addr))
            }
            #[cfg(target_os = "linux")]
            ListenerIo::Uring(io) => {
                let (stream, addr) = accept::with_backoff(|cx| io.poll_accept(cx)).await?;
                Ok((TcpStream::from_ring(stream)?, addr))
            }
        }
    }

    /// The address it listens on (with the port the OS picked for port 0).
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let listener = runtime::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let addr = listener.local_addr()?;
    /// assert_eq!(addr.ip(), std::net::Ipv4Addr::LOCALHOST);
    /// assert_ne!(addr.port(), 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        match &self.io {
            ListenerIo::Mio(io) => io.get_ref().local_addr(),
            #[cfg(target_os = "linux")]
            ListenerIo::Uring(io) => io.socket().local_addr(),
        }
    }

    /// Wraps a bound, listening std listener (switching it to non-blocking mode).
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// // E.g. a socket inherited from a supervisor, or bound before dropping privileges.
    /// let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let listener = runtime::net::TcpListener::from_std(std_listener)?;
    /// let client = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
    /// let (_conn, peer) = listener.accept().await?;
    /// assert_eq!(peer, client.local_addr()?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        TcpListener::new(mio::net::TcpListener::from_std(listener))
    }

    /// Turns it back into a std listener (still non-blocking).
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let listener = runtime::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let addr = listener.local_addr()?;
    /// let std_listener = listener.into_std()?;
    /// assert_eq!(std_listener.local_addr()?, addr);
    /// let nothing_pending = std_listener.accept().unwrap_err();
    /// assert_eq!(nothing_pending.kind(), std::io::ErrorKind::WouldBlock);
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        match self.io {
            ListenerIo::Mio(io) => Ok(io.into_inner().into()),
            #[cfg(target_os = "linux")]
            ListenerIo::Uring(io) => io.into_std(),
        }
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.io {
            ListenerIo::Mio(io) => io.get_ref().fmt(f),
            #[cfg(target_os = "linux")]
            ListenerIo::Uring(io) => io.socket().fmt(f),
        }
    }
}

impl std::os::fd::AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        match &self.io {
            ListenerIo::Mio(io) => io.get_ref().as_raw_fd(),
            #[cfg(target_os = "linux")]
            ListenerIo::Uring(io) => io.socket().as_raw_fd(),
        }
    }
}
