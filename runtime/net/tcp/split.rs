//! The halves of a `TcpStream`: borrowed (`split`) and owned (`into_split`).

use crate::net::stream_ops::{impl_async_read, impl_async_write, read_methods, write_methods};
use crate::net::tcp::stream::{TcpIo, TcpStream};
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;

/// The read half of [`TcpStream::split`]: the stream's read methods, and
/// `futures_io::AsyncRead`.
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// # let listener = runtime::net::TcpListener::bind("127.0.0.1:0").await?;
/// # let mut client = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
/// # let (mut server, _) = listener.accept().await?;
/// let (mut reader, _writer) = server.split();
/// client.write_all(b"abc").await?;
/// let mut buf = [0; 3];
/// reader.read_exact(&mut buf).await?;
/// assert_eq!(&buf, b"abc");
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct ReadHalf<'a>(&'a TcpStream);

/// The write half of [`TcpStream::split`]: the stream's write methods, and
/// `futures_io::AsyncWrite` (whose `close` shuts the write side down).
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// # let listener = runtime::net::TcpListener::bind("127.0.0.1:0").await?;
/// # let mut client = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
/// # let (mut server, _) = listener.accept().await?;
/// let (_reader, mut writer) = server.split();
/// writer.write_all(b"abc").await?;
/// futures::AsyncWriteExt::close(&mut writer).await?;
/// let mut got = Vec::new();
/// futures::AsyncReadExt::read_to_end(&mut client, &mut got).await?;
/// assert_eq!(got, b"abc");
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct WriteHalf<'a>(&'a TcpStream);

/// The read half of [`TcpStream::into_split`]: `'static`, so it can move into a task.
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// # let listener = runtime::net::TcpListener::bind("127.0.0.1:0").await?;
/// # let mut client = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
/// # let (server, _) = listener.accept().await?;
/// let (mut reader, _writer) = server.into_split();
/// let receiver = runtime::spawn(async move {
///     let mut buf = [0; 3];
///     reader.read_exact(&mut buf).await.map(|()| buf)
/// });
/// client.write_all(b"abc").await?;
/// assert_eq!(&receiver.await??, b"abc");
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct OwnedReadHalf {
    inner: Arc<TcpStream>,
}

/// The write half of [`TcpStream::into_split`]; dropping it shuts the write side down.
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// # let listener = runtime::net::TcpListener::bind("127.0.0.1:0").await?;
/// # let mut client = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
/// # let (server, _) = listener.accept().await?;
/// let (_reader, mut writer) = server.into_split();
/// writer.write_all(b"last words").await?;
/// drop(writer); // the peer reads end-of-stream, though the read half lives on
/// let mut got = Vec::new();
/// futures::AsyncReadExt::read_to_end(&mut client, &mut got).await?;
/// assert_eq!(got, b"last words");
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct OwnedWriteHalf {
    inner: Arc<TcpStream>,
}

pub(crate) fn split(stream: &mut TcpStream) -> (ReadHalf<'_>, WriteHalf<'_>) {
    (ReadHalf(stream), WriteHalf(stream))
}

pub(crate) fn split_owned(stream: TcpStream) -> (OwnedReadHalf, OwnedWriteHalf) {
    let inner = Arc::new(stream);
    (
        OwnedReadHalf {
            inner: inner.clone(),
        },
        OwnedWriteHalf { inner },
    )
}

impl ReadHalf<'_> {
    read_methods!();

    fn stream_io(&self) -> &TcpIo {
        self.0.stream_io()
    }
}

impl WriteHalf<'_> {
    write_methods!();

    fn stream_io(&self) -> &TcpIo {
        self.0.stream_io()
    }

    fn shutdown_write(&self) -> io::Result<()> {
        self.0.shutdown(Shutdown::Write)
    }
}

impl OwnedReadHalf {
    read_methods!();

    fn stream_io(&self) -> &TcpIo {
        self.inner.stream_io()
    }

    /// The remote address.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # let listener = runtime::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let client = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
    /// # let (server, _) = listener.accept().await?;
    /// let (reader, _writer) = server.into_split();
    /// assert_eq!(reader.peer_addr()?, client.local_addr()?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }

    /// Puts the stream back together; `Err` gives both halves back if they don't match.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # let listener = runtime::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let client = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
    /// # let (server, _) = listener.accept().await?;
    /// let (r1, w1) = server.into_split();
    /// let (r2, w2) = client.into_split();
    /// let (r1, w2) = r1.reunite(w2).unwrap_err(); // halves of different streams
    /// let server = r1.reunite(w1).expect("the two halves of one stream");
    /// # let _ = (server, r2, w2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn reunite(
        self,
        other: OwnedWriteHalf,
    ) -> Result<TcpStream, (OwnedReadHalf, OwnedWriteHalf)> {
        if !Arc::ptr_eq(&self.inner, &other.inner) {
            return Err((self, other));
        }
        let inner = other.into_inner_arc();
        drop(self);
        Ok(Arc::try_unwrap(inner).expect("both halves were given back"))
    }
}

impl OwnedWriteHalf {
    write_methods!();

    fn stream_io(&self) -> &TcpIo {
        self.inner.stream_io()
    }

    fn shutdown_write(&self) -> io::Result<()> {
        self.inner.shutdown(Shutdown::Write)
    }

    /// The remote address.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # let listener = runtime::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let client = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
    /// # let (server, _) = listener.accept().await?;
    /// let (_reader, writer) = server.into_split();
    /// assert_eq!(writer.peer_addr()?, client.local_addr()?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }

    fn into_inner_arc(self) -> Arc<TcpStream> {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again, so the Arc is moved out once.
        unsafe { std::ptr::read(&this.inner) }
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        // The peer sees end-of-stream, as when a whole stream is dropped.
        let _ = self.inner.shutdown(Shutdown::Write);
    }
}

impl_async_read!(ReadHalf<'_>);
impl_async_write!(WriteHalf<'_>);
impl_async_read!(OwnedReadHalf);
impl_async_write!(OwnedWriteHalf);
