//! `TcpStream`.

use crate::net::addr::{each_addr, ToSocketAddrs};
use crate::net::stream_ops::StreamIo;
use crate::net::stream_ops::{impl_async_read, impl_async_write, read_methods, write_methods};
use crate::net::tcp::socket::TcpSocket;
use crate::net::tcp::split::{
    split, split_owned, OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf,
};
use crate::reactor::{Direction, PollEvented};
use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::task::{Context, Poll};

/// A TCP connection. Reads and writes wait (yielding the task) whenever the socket would
/// block, so connection handlers are written as straight-line code.
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use runtime::net::{TcpListener, TcpStream};
/// let listener = TcpListener::bind("127.0.0.1:0").await?;
/// let addr = listener.local_addr()?;
/// let server = runtime::spawn(async move {
///     let (mut conn, _) = listener.accept().await?;
///     let mut buf = [0; 5];
///     conn.read_exact(&mut buf).await?;
///     conn.write_all(&buf).await?;
///     std::io::Result::Ok(())
/// });
/// let mut client = TcpStream::connect(addr).await?;
/// client.write_all(b"hello").await?;
/// let mut echo = [0; 5];
/// client.read_exact(&mut echo).await?;
/// assert_eq!(&echo, b"hello");
/// server.await.unwrap()?;
/// # Ok(())
/// # }
/// ```
pub struct TcpStream {
    io: TcpIo,
}

/// The engine under a `TcpStream`: the mio reactor, or the io_uring driver.
pub(crate) enum TcpIo {
    Mio(PollEvented<mio::net::TcpStream>),
    #[cfg(target_os = "linux")]
    Uring(crate::uring::UringStream),
}

/// Runs `$body` with `$s` bound to the socket under either engine (both have the std
/// socket methods: addresses, options, `shutdown`).
macro_rules! with_socket {
    ($io:expr, $s:ident => $body:expr) => {
        match $io {
            TcpIo::Mio(pe) => {
                let $s = pe.get_ref();
                $body
            }
            #[cfg(target_os = "linux")]
            TcpIo::Uring(u) => {
                let $s = u.socket();
                $body
            }
        }
    };
}

impl TcpStream {
    /// Connects to `addr`, trying each resolved address in turn.
    ///
    /// # Errors
    ///
    /// Whatever the last attempt failed with (e.g. `ConnectionRefused`).
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    ///
    /// # Cancel safety
    ///
    /// Dropping it closes the socket of the attempt in progress; nothing else is lost.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use runtime::net::{TcpListener, TcpStream};
    /// let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// let stream = TcpStream::connect(listener.local_addr()?).await?;
    /// assert_eq!(stream.peer_addr()?, listener.local_addr()?);
    ///
    /// // Nothing listens on the port any more: refused.
    /// let addr = listener.local_addr()?;
    /// drop((stream, listener));
    /// let err = TcpStream::connect(addr).await.unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        each_addr(&addr, |addr| async move {
            TcpSocket::for_addr(addr)?.connect(addr).await
        })
        .await
    }

    /// A stream on the current runtime's IO driver.
    pub(crate) fn new(stream: mio::net::TcpStream) -> io::Result<TcpStream> {
        #[cfg(target_os = "linux")]
        if let Some(ring) = crate::driver::Handle::with_current(|d| d.uring.clone()) {
            return Ok(TcpStream {
                io: TcpIo::Uring(crate::uring::UringStream::new(stream.into(), ring)?),
            });
        }
        Ok(TcpStream {
            io: TcpIo::Mio(PollEvented::new(stream)?),
        })
    }

    /// A stream the io_uring driver accepted or connected (non-blocking already).
    #[cfg(target_os = "linux")]
    pub(crate) fn from_ring(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        TcpStream::new(mio::net::TcpStream::from_std(stream))
    }

    /// Waits on the mio reactor for a non-blocking connect of `stream` to finish and
    /// reports how it ended. (With the io_uring driver on, connects run on the ring.)
    pub(crate) async fn connected(stream: mio::net::TcpStream) -> io::Result<TcpStream> {
        let io = PollEvented::new(stream)?;
        io.ready(Direction::Write).await?;
        check_connected(socket2::SockRef::from(io.get_ref()))?;
        Ok(TcpStream { io: TcpIo::Mio(io) })
    }

    /// Wraps a connected std stream (switching it to non-blocking mode).
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let listener = runtime::net::TcpListener::bind("127.0.0.1:0").await?;
    /// // E.g. a connection made by a blocking library.
    /// let std_stream = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// let mut stream = runtime::net::TcpStream::from_std(std_stream)?;
    /// let (mut conn, _) = listener.accept().await?;
    /// conn.write_all(b"hi").await?;
    /// let mut buf = [0; 2];
    /// stream.read_exact(&mut buf).await?;
    /// assert_eq!(&buf, b"hi");
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        TcpStream::new(mio::net::TcpStream::from_std(stream))
    }

    /// Turns it back into a std stream (still non-blocking).
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let listener = runtime::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let stream = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
    /// let std_stream = stream.into_std()?;
    /// std_stream.set_nonblocking(false)?; // to hand it to blocking code
    /// assert_eq!(std_stream.peer_addr()?, listener.local_addr()?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        match self.io {
            TcpIo::Mio(pe) => Ok(pe.into_inner().into()),
            #[cfg(target_os = "linux")]
            TcpIo::Uring(u) => u.into_std(),
        }
    }

    read_methods!();
    write_methods!();

    /// Shuts down the read side, the write side (the peer reads end-of-stream), or both.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # let listener = runtime::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let mut client = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
    /// # let (mut server, _) = listener.accept().await?;
    /// client.write_all(b"request").await?;
    /// client.shutdown(std::net::Shutdown::Write)?; // done sending
    /// let mut request = Vec::new();
    /// let mut buf = [0; 64];
    /// loop {
    ///     match server.read(&mut buf).await? {
    ///         0 => break, // end of stream
    ///         n => request.extend_from_slice(&buf[..n]),
    ///     }
    /// }
    /// assert_eq!(request, b"request");
    /// server.write_all(b"reply").await?; // the other direction still works
    /// # Ok(())
    /// # }
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match &self.io {
            TcpIo::Mio(pe) => pe.get_ref().shutdown(how),
            // A send in flight goes first: its bytes were reported written.
            #[cfg(target_os = "linux")]
            TcpIo::Uring(u) => u.shutdown(how),
        }
    }

    fn shutdown_write(&self) -> io::Result<()> {
        match self.shutdown(Shutdown::Write) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            res => res,
        }
    }

    /// The remote address.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let listener = runtime::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let client = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
    /// let (server, _) = listener.accept().await?;
    /// assert_eq!(client.peer_addr()?, listener.local_addr()?);
    /// assert_eq!(server.peer_addr()?, client.local_addr()?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        with_socket!(&self.io, s => s.peer_addr())
    }

    /// The local address.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let listener = runtime::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let client = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
    /// let local = client.local_addr()?;
    /// assert!(local.ip().is_loopback());
    /// assert_ne!(local.port(), 0); // the OS picked an ephemeral port
    /// # Ok(())
    /// # }
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        with_socket!(&self.io, s => s.local_addr())
    }

    /// Sets `TCP_NODELAY` (no Nagle batching of small writes).
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let listener = runtime::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let client = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
    /// client.set_nodelay(true)?; // request/response traffic: send small writes at once
    /// assert!(client.nodelay()?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        with_socket!(&self.io, s => s.set_nodelay(nodelay))
    }

    /// Whether `TCP_NODELAY` is set (off by default).
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let listener = runtime::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let client = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
    /// assert!(!client.nodelay()?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn nodelay(&self) -> io::Result<bool> {
        with_socket!(&self.io, s => s.nodelay())
    }

    /// Borrowed read and write halves, usable at the same time (e.g. in two branches of
    /// a join).
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # let listener = runtime::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let mut client = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
    /// # let (mut server, _) = listener.accept().await?;
    /// // Echo: read and write the same connection at once.
    /// let (mut reader, mut writer) = server.split();
    /// let echo = runtime::io::copy(&mut reader, &mut writer);
    /// let talk = async {
    ///     client.write_all(b"marco").await?;
    ///     client.shutdown(std::net::Shutdown::Write)?;
    ///     let mut buf = [0; 5];
    ///     client.read_exact(&mut buf).await?;
    ///     std::io::Result::Ok(buf)
    /// };
    /// let (copied, reply) = futures::future::join(echo, talk).await;
    /// assert_eq!((copied?, &reply?), (5, b"marco"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        split(self)
    }

    /// Owned halves that can move to different tasks. Dropping the write half shuts the
    /// write side down.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # let listener = runtime::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let mut client = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
    /// # let (server, _) = listener.accept().await?;
    /// let (mut reader, mut writer) = server.into_split();
    /// let sender = runtime::spawn(async move {
    ///     writer.write_all(b"from a task").await
    ///     // `writer` drops here: the client reads end-of-stream
    /// });
    /// let mut got = Vec::new();
    /// futures::AsyncReadExt::read_to_end(&mut client, &mut got).await?;
    /// assert_eq!(got, b"from a task");
    /// sender.await??;
    /// # drop(reader);
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        split_owned(self)
    }

    pub(crate) fn stream_io(&self) -> &TcpIo {
        &self.io
    }
}

impl_async_read!(TcpStream);
impl_async_write!(TcpStream);

/// How a non-blocking connect that reported writability ended: its pending error, if any.
pub(crate) fn check_connected(sock: socket2::SockRef<'_>) -> io::Result<()> {
    if let Some(e) = sock.take_error()? {
        return Err(e);
    }
    // Writable with no pending error: connected, unless the OS says otherwise.
    sock.peer_addr()?;
    Ok(())
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        with_socket!(&self.io, s => s.fmt(f))
    }
}

impl std::os::fd::AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        with_socket!(&self.io, s => s.as_raw_fd())
    }
}

/// Dispatches to the engine.
macro_rules! on_engine {
    ($io:expr, $e:ident => $body:expr) => {
        match $io {
            TcpIo::Mio($e) => $body,
            #[cfg(target_os = "linux")]
            TcpIo::Uring($e) => $body,
        }
    };
}

impl StreamIo for TcpIo {
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        on_engine!(self, e => e.poll_read(cx, buf))
    }

    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        on_engine!(self, e => e.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        on_engine!(self, e => e.poll_write_vectored(cx, bufs))
    }

    fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        on_engine!(self, e => e.poll_flush(cx))
    }

    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        on_engine!(self, e => e.try_read(buf))
    }

    fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        on_engine!(self, e => e.try_write(buf))
    }

    fn poll_ready(&self, cx: &mut Context<'_>, direction: Direction) -> Poll<io::Result<()>> {
        match self {
            TcpIo::Mio(e) => StreamIo::poll_ready(e, cx, direction),
            #[cfg(target_os = "linux")]
            TcpIo::Uring(e) => e.poll_ready(cx, direction),
        }
    }
}
