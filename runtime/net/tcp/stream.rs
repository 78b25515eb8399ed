//! `TcpStream`.

use crate::net::addr::{each_addr, ToSocketAddrs};
use crate::net::stream_ops::{impl_async_read, impl_async_write, read_methods, write_methods};
use crate::net::tcp::split::{
    split, split_owned, OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf,
};
use crate::reactor::{Direction, PollEvented};
use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr};

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
    io: PollEvented<mio::net::TcpStream>,
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
            let stream = TcpStream::new(mio::net::TcpStream::connect(addr)?)?;
            stream.connected().await?;
            Ok(stream)
        })
        .await
    }

    pub(crate) fn new(stream: mio::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: PollEvented::new(stream)?,
        })
    }

    /// Waits for a non-blocking connect to finish and reports how it ended.
    pub(crate) async fn connected(&self) -> io::Result<()> {
        self.io.ready(Direction::Write).await?;
        if let Some(e) = self.io.get_ref().take_error()? {
            return Err(e);
        }
        // Writable with no pending error: connected, unless the OS says otherwise.
        self.io.get_ref().peer_addr().map(drop)
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
        use std::os::fd::{FromRawFd, IntoRawFd};
        let fd = self.io.into_inner().into_raw_fd();
        // SAFETY: the fd was just released by the mio stream, which owned it.
        Ok(unsafe { std::net::TcpStream::from_raw_fd(fd) })
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
        self.io.get_ref().shutdown(how)
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
        self.io.get_ref().peer_addr()
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
        self.io.get_ref().local_addr()
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
        self.io.get_ref().set_nodelay(nodelay)
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
        self.io.get_ref().nodelay()
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

    pub(crate) fn poll_evented(&self) -> &PollEvented<mio::net::TcpStream> {
        &self.io
    }
}

impl_async_read!(TcpStream);
impl_async_write!(TcpStream);

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.get_ref().fmt(f)
    }
}

impl std::os::fd::AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.io.get_ref().as_raw_fd()
    }
}
