//! `TcpSocket`: a TCP socket configured before it listens or connects (socket2 underneath).

use crate::net::tcp::listener::TcpListener;
use crate::net::tcp::stream::TcpStream;
use socket2::{Domain, Protocol, Socket, Type};
use std::fmt;
use std::io;
use std::net::SocketAddr;

/// A TCP socket to configure (`SO_REUSEADDR`, `SO_REUSEPORT`, `TCP_NODELAY`, buffer
/// sizes, backlog) before it becomes a [`TcpListener`] or a [`TcpStream`].
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use runtime::net::TcpSocket;
/// let socket = TcpSocket::new_v4()?;
/// socket.set_reuseaddr(true)?;
/// socket.set_reuseport(true)?;
/// socket.bind("127.0.0.1:0".parse().unwrap())?;
/// let listener = socket.listen(128)?;
/// let addr = listener.local_addr()?;
/// let client = TcpSocket::new_v4()?;
/// client.set_nodelay(true)?;
/// let stream = client.connect(addr).await?;
/// assert!(stream.nodelay()?);
/// # Ok(())
/// # }
/// ```
pub struct TcpSocket {
    inner: Socket,
}

impl TcpSocket {
    /// An IPv4 TCP socket.
    ///
    /// ```
    /// let socket = runtime::net::TcpSocket::new_v4()?;
    /// socket.bind("127.0.0.1:0".parse().unwrap())?;
    /// assert!(socket.local_addr()?.is_ipv4());
    /// # std::io::Result::Ok(())
    /// ```
    pub fn new_v4() -> io::Result<TcpSocket> {
        TcpSocket::new(Domain::IPV4)
    }

    /// An IPv6 TCP socket.
    ///
    /// # Errors
    ///
    /// If the host has IPv6 disabled (`EAFNOSUPPORT`).
    ///
    /// ```
    /// // Not every machine (or container) has IPv6: fall back when it is missing.
    /// match runtime::net::TcpSocket::new_v6() {
    ///     Ok(socket) => {
    ///         if socket.bind("[::1]:0".parse().unwrap()).is_ok() {
    ///             assert!(socket.local_addr()?.is_ipv6());
    ///         }
    ///     }
    ///     Err(_) => { /* no IPv6 here */ }
    /// }
    /// # std::io::Result::Ok(())
    /// ```
    pub fn new_v6() -> io::Result<TcpSocket> {
        TcpSocket::new(Domain::IPV6)
    }

    pub(crate) fn for_addr(addr: SocketAddr) -> io::Result<TcpSocket> {
        TcpSocket::new(Domain::for_address(addr))
    }

    fn new(domain: Domain) -> io::Result<TcpSocket> {
        let inner = Socket::new(
            domain,
            Type::STREAM.nonblocking().cloexec(),
            Some(Protocol::TCP),
        )?;
        Ok(TcpSocket { inner })
    }

    /// Sets `SO_REUSEADDR`: a restarted server can bind its port while connections of
    /// the previous run linger in `TIME_WAIT`. [`TcpListener::bind`] sets it.
    ///
    /// ```
    /// let socket = runtime::net::TcpSocket::new_v4()?;
    /// socket.set_reuseaddr(true)?;
    /// socket.bind("127.0.0.1:0".parse().unwrap())?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_reuseaddr(&self, reuse: bool) -> io::Result<()> {
        self.inner.set_reuse_address(reuse)
    }

    /// Sets `SO_REUSEPORT`: several sockets may listen on one port.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use runtime::net::TcpSocket;
    /// let first = TcpSocket::new_v4()?;
    /// first.set_reuseport(true)?;
    /// first.bind("127.0.0.1:0".parse().unwrap())?;
    /// let addr = first.local_addr()?;
    /// let second = TcpSocket::new_v4()?;
    /// second.set_reuseport(true)?;
    /// second.bind(addr)?; // the same port, e.g. one listener per worker
    /// let (a, b) = (first.listen(16)?, second.listen(16)?);
    /// assert_eq!(a.local_addr()?, b.local_addr()?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_reuseport(&self, reuse: bool) -> io::Result<()> {
        self.inner.set_reuse_port(reuse)
    }

    /// Sets `TCP_NODELAY` before connecting; see [`TcpStream::set_nodelay`].
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let listener = runtime::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let socket = runtime::net::TcpSocket::new_v4()?;
    /// socket.set_nodelay(true)?;
    /// let stream = socket.connect(listener.local_addr()?).await?;
    /// assert!(stream.nodelay()?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.set_tcp_nodelay(nodelay)
    }

    /// Sets `SO_SNDBUF`. The OS may round or clamp it (Linux doubles it); read back what it
    /// chose with [`send_buffer_size`](TcpSocket::send_buffer_size).
    ///
    /// ```
    /// let socket = runtime::net::TcpSocket::new_v4()?;
    /// socket.set_send_buffer_size(64 * 1024)?;
    /// assert!(socket.send_buffer_size()? > 0);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_send_buffer_size(&self, size: u32) -> io::Result<()> {
        self.inner.set_send_buffer_size(size as usize)
    }

    /// Sets `SO_RCVBUF`. The OS may round or clamp it (Linux doubles it); read back what it
    /// chose with [`recv_buffer_size`](TcpSocket::recv_buffer_size).
    ///
    /// ```
    /// let socket = runtime::net::TcpSocket::new_v4()?;
    /// socket.set_recv_buffer_size(64 * 1024)?;
    /// assert!(socket.recv_buffer_size()? > 0);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_recv_buffer_size(&self, size: u32) -> io::Result<()> {
        self.inner.set_recv_buffer_size(size as usize)
    }

    /// `SO_SNDBUF` as the OS reports it.
    ///
    /// ```
    /// let socket = runtime::net::TcpSocket::new_v4()?;
    /// let default = socket.send_buffer_size()?;
    /// assert!(default > 0);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn send_buffer_size(&self) -> io::Result<u32> {
        self.inner.send_buffer_size().map(|n| n as u32)
    }

    /// `SO_RCVBUF` as the OS reports it.
    ///
    /// ```
    /// let socket = runtime::net::TcpSocket::new_v4()?;
    /// let default = socket.recv_buffer_size()?;
    /// assert!(default > 0);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn recv_buffer_size(&self) -> io::Result<u32> {
        self.inner.recv_buffer_size().map(|n| n as u32)
    }

    /// Binds to `addr`: before [`listen`](TcpSocket::listen), the address to serve on;
    /// before [`connect`](TcpSocket::connect), the local address to connect from.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use runtime::net::{TcpListener, TcpSocket};
    /// let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// let socket = TcpSocket::new_v4()?;
    /// socket.bind("127.0.0.1:0".parse().unwrap())?;
    /// let from = socket.local_addr()?;
    /// let stream = socket.connect(listener.local_addr()?).await?;
    /// assert_eq!(stream.local_addr()?, from);
    /// # Ok(())
    /// # }
    /// ```
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        self.inner.bind(&addr.into())
    }

    /// The bound address (with the port the OS picked for port 0).
    ///
    /// ```
    /// let socket = runtime::net::TcpSocket::new_v4()?;
    /// socket.bind("127.0.0.1:0".parse().unwrap())?;
    /// assert_ne!(socket.local_addr()?.port(), 0);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner
            .local_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::other("not an IP socket"))
    }

    /// Starts listening with room for `backlog` pending connections.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let socket = runtime::net::TcpSocket::new_v4()?;
    /// socket.bind("127.0.0.1:0".parse().unwrap())?;
    /// let listener = socket.listen(4096)?; // a deep queue for connection bursts
    /// let client = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
    /// let (_conn, peer) = listener.accept().await?;
    /// assert_eq!(peer, client.local_addr()?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn listen(self, backlog: u32) -> io::Result<TcpListener> {
        self.inner.listen(backlog.min(i32::MAX as u32) as i32)?;
        TcpListener::new(mio::net::TcpListener::from_std(self.inner.into()))
    }

    /// Connects to `addr`.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    ///
    /// # Cancel safety
    ///
    /// Dropping it closes the socket; nothing else is lost.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let listener = runtime::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let socket = runtime::net::TcpSocket::new_v4()?;
    /// let stream = socket.connect(listener.local_addr()?).await?;
    /// assert_eq!(stream.peer_addr()?, listener.local_addr()?);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect(self, addr: SocketAddr) -> io::Result<TcpStream> {
        #[cfg(target_os = "linux")]
        if let Some(ring) = crate::driver::Handle::with_current(|d| d.uring.clone()) {
            let sock = crate::uring::connect(ring, self.inner.into(), addr).await?;
            return TcpStream::from_ring(sock);
        }
        match self.inner.connect(&addr.into()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        TcpStream::connected(mio::net::TcpStream::from_std(self.inner.into())).await
    }
}

impl fmt::Debug for TcpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}
