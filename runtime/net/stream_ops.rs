//! The read/write operations every byte stream shares (TCP, Unix, and their halves),
//! written once over [`StreamIo`] and stamped onto each type by the macros below.
//!
//! `StreamIo` is what a stream's engine provides: `PollEvented` (readiness, mio) for
//! every stream, and for TCP also the io_uring stream (`net::tcp::stream::TcpIo`).

use crate::reactor::{Direction, PollEvented};
use std::io::{self, Read, Write};
use std::task::{Context, Poll};

/// The engine under a byte stream: what the macros below call.
pub(crate) trait StreamIo {
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>;
    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>>;
    fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>>;
    /// Waits until the bytes reported written are handed to the socket (at once for
    /// readiness-based engines, which write straight to it).
    fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize>;
    fn try_write(&self, buf: &[u8]) -> io::Result<usize>;
    fn poll_ready(&self, cx: &mut Context<'_>, direction: Direction) -> Poll<io::Result<()>>;
}

impl<E> StreamIo for PollEvented<E>
where
    E: mio::event::Source,
    for<'a> &'a E: Read + Write,
{
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        poll_read(self, cx, buf)
    }

    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        poll_write(self, cx, buf)
    }

    fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        poll_write_vectored(self, cx, bufs)
    }

    fn poll_flush(&self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        try_read(self, buf)
    }

    fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        try_write(self, buf)
    }

    fn poll_ready(&self, cx: &mut Context<'_>, direction: Direction) -> Poll<io::Result<()>> {
        PollEvented::poll_ready(self, cx, direction).map_ok(drop)
    }
}

/// Waits until `io` is ready in `direction`: what `readable` and `writable` do.
pub(crate) async fn ready(io: &impl StreamIo, direction: Direction) -> io::Result<()> {
    std::future::poll_fn(|cx| io.poll_ready(cx, direction)).await
}

pub(crate) fn poll_read<E>(
    io: &PollEvented<E>,
    cx: &mut Context<'_>,
    buf: &mut [u8],
) -> Poll<io::Result<usize>>
where
    E: mio::event::Source,
    for<'a> &'a E: Read,
{
    let len = buf.len();
    io.poll_transfer(cx, Direction::Read, len, |e| {
        let mut e = e;
        e.read(buf)
    })
}

pub(crate) fn poll_write<E>(
    io: &PollEvented<E>,
    cx: &mut Context<'_>,
    buf: &[u8],
) -> Poll<io::Result<usize>>
where
    E: mio::event::Source,
    for<'a> &'a E: Write,
{
    io.poll_transfer(cx, Direction::Write, buf.len(), |e| {
        let mut e = e;
        e.write(buf)
    })
}

pub(crate) fn poll_write_vectored<E>(
    io: &PollEvented<E>,
    cx: &mut Context<'_>,
    bufs: &[io::IoSlice<'_>],
) -> Poll<io::Result<usize>>
where
    E: mio::event::Source,
    for<'a> &'a E: Write,
{
    let len = bufs.iter().map(|b| b.len()).sum();
    io.poll_transfer(cx, Direction::Write, len, |e| {
        let mut e = e;
        e.write_vectored(bufs)
    })
}

pub(crate) fn try_read<E>(io: &PollEvented<E>, buf: &mut [u8]) -> io::Result<usize>
where
    E: mio::event::Source,
    for<'a> &'a E: Read,
{
    io.try_io(Direction::Read, |e| {
        let mut e = e;
        e.read(buf)
    })
}

pub(crate) fn try_write<E>(io: &PollEvented<E>, buf: &[u8]) -> io::Result<usize>
where
    E: mio::event::Source,
    for<'a> &'a E: Write,
{
    io.try_io(Direction::Write, |e| {
        let mut e = e;
        e.write(buf)
    })
}

/// Inherent async read methods for a type with `fn stream_io(&self) -> &impl StreamIo`.
macro_rules! read_methods {
    () => {
        /// Reads into `buf`, waiting until some bytes arrive; `Ok(0)` means the peer
        /// closed its side (or `buf` is empty).
        ///
        /// # Cancel safety
        ///
        /// Cancel-safe: if dropped before completing, no bytes were read.
        ///
        /// ```
        /// # #[runtime::main(flavor = "current_thread")]
        /// # async fn main() -> std::io::Result<()> {
        /// # let listener = runtime::net::TcpListener::bind("127.0.0.1:0").await?;
        /// # let mut client = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
        /// # let (mut server, _) = listener.accept().await?;
        /// client.write_all(b"hello").await?;
        /// drop(client);
        /// let mut buf = [0; 16];
        /// let n = server.read(&mut buf).await?;
        /// assert_eq!(&buf[..n], b"hello");
        /// assert_eq!(server.read(&mut buf).await?, 0); // the peer closed
        /// # Ok(())
        /// # }
        /// ```
        pub async fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let io = self.stream_io();
            std::future::poll_fn(|cx| crate::net::stream_ops::StreamIo::poll_read(io, cx, buf))
                .await
        }

        /// Reads exactly `buf.len()` bytes; `UnexpectedEof` if the peer closes first.
        ///
        /// # Cancel safety
        ///
        /// Not cancel-safe: bytes read before the drop are lost.
        ///
        /// ```
        /// # #[runtime::main(flavor = "current_thread")]
        /// # async fn main() -> std::io::Result<()> {
        /// # let listener = runtime::net::TcpListener::bind("127.0.0.1:0").await?;
        /// # let mut client = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
        /// # let (mut server, _) = listener.accept().await?;
        /// client.write_all(&[0, 3, b'a', b'b', b'c']).await?;
        /// let mut len = [0; 2]; // a length-prefixed frame
        /// server.read_exact(&mut len).await?;
        /// let mut frame = vec![0; u16::from_be_bytes(len) as usize];
        /// server.read_exact(&mut frame).await?;
        /// assert_eq!(frame, b"abc");
        /// drop(client);
        /// let eof = server.read_exact(&mut len).await.unwrap_err();
        /// assert_eq!(eof.kind(), std::io::ErrorKind::UnexpectedEof);
        /// # Ok(())
        /// # }
        /// ```
        pub async fn read_exact(&mut self, buf: &mut [u8]) -> std::io::Result<()> {
            let mut filled = 0;
            while filled < buf.len() {
                match self.read(&mut buf[filled..]).await? {
                    0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
                    n => filled += n,
                }
            }
            Ok(())
        }

        /// Reads what is available now without waiting; `WouldBlock` if nothing is.
        ///
        /// ```
        /// # #[runtime::main(flavor = "current_thread")]
        /// # async fn main() -> std::io::Result<()> {
        /// # let listener = runtime::net::TcpListener::bind("127.0.0.1:0").await?;
        /// # let mut client = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
        /// # let (mut server, _) = listener.accept().await?;
        /// let mut buf = [0; 16];
        /// let nothing = server.try_read(&mut buf).unwrap_err();
        /// assert_eq!(nothing.kind(), std::io::ErrorKind::WouldBlock);
        /// client.write_all(b"hi").await?;
        /// let n = loop {
        ///     server.readable().await?;
        ///     match server.try_read(&mut buf) {
        ///         Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
        ///         res => break res?,
        ///     }
        /// };
        /// assert_eq!(&buf[..n], b"hi");
        /// # Ok(())
        /// # }
        /// ```
        pub fn try_read(&self, buf: &mut [u8]) -> std::io::Result<usize> {
            crate::net::stream_ops::StreamIo::try_read(self.stream_io(), buf)
        }

        /// Waits until the stream is readable (data, end of stream, or an error).
        ///
        /// # Cancel safety
        ///
        /// Cancel-safe.
        ///
        /// ```
        /// # #[runtime::main(flavor = "current_thread")]
        /// # async fn main() -> std::io::Result<()> {
        /// # let listener = runtime::net::TcpListener::bind("127.0.0.1:0").await?;
        /// # let mut client = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
        /// # let (mut server, _) = listener.accept().await?;
        /// use std::time::Duration;
        /// let quiet = runtime::time::timeout(Duration::from_millis(2), server.readable()).await;
        /// assert!(quiet.is_err()); // nothing sent yet
        /// client.write_all(b"ping").await?;
        /// server.readable().await?;
        /// let mut buf = [0; 4];
        /// server.read_exact(&mut buf).await?;
        /// # Ok(())
        /// # }
        /// ```
        pub async fn readable(&self) -> std::io::Result<()> {
            crate::net::stream_ops::ready(self.stream_io(), crate::reactor::Direction::Read).await
        }
    };
}

/// Inherent async write methods, as [`read_methods`].
macro_rules! write_methods {
    () => {
        /// Writes some of `buf`, waiting until the socket accepts bytes; returns how many.
        ///
        /// # Cancel safety
        ///
        /// Cancel-safe: if dropped before completing, no bytes were written.
        ///
        /// ```
        /// # #[runtime::main(flavor = "current_thread")]
        /// # async fn main() -> std::io::Result<()> {
        /// # let listener = runtime::net::TcpListener::bind("127.0.0.1:0").await?;
        /// # let mut client = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
        /// # let (mut server, _) = listener.accept().await?;
        /// let n = client.write(b"hello").await?; // may be fewer than 5
        /// assert!(n > 0);
        /// let mut buf = vec![0; n];
        /// server.read_exact(&mut buf).await?;
        /// assert_eq!(buf, &b"hello"[..n]);
        /// # Ok(())
        /// # }
        /// ```
        pub async fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let io = self.stream_io();
            std::future::poll_fn(|cx| crate::net::stream_ops::StreamIo::poll_write(io, cx, buf))
                .await
        }

        /// Writes all of `buf`.
        ///
        /// # Cancel safety
        ///
        /// Not cancel-safe: an unknown prefix may have been written before the drop.
        ///
        /// ```
        /// # #[runtime::main(flavor = "current_thread")]
        /// # async fn main() -> std::io::Result<()> {
        /// # let listener = runtime::net::TcpListener::bind("127.0.0.1:0").await?;
        /// # let mut client = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
        /// # let (mut server, _) = listener.accept().await?;
        /// client.write_all(b"GET / HTTP/1.0\r\n\r\n").await?;
        /// let mut buf = [0; 18];
        /// server.read_exact(&mut buf).await?;
        /// assert!(buf.starts_with(b"GET /"));
        /// # Ok(())
        /// # }
        /// ```
        pub async fn write_all(&mut self, mut buf: &[u8]) -> std::io::Result<()> {
            while !buf.is_empty() {
                match self.write(buf).await? {
                    0 => return Err(std::io::ErrorKind::WriteZero.into()),
                    n => buf = &buf[n..],
                }
            }
            Ok(())
        }

        /// Waits until every byte reported written was handed to the socket. On the mio
        /// driver writes go straight to the socket and this completes at once; on the
        /// io_uring driver it waits for the send in flight and returns its error, if it
        /// failed.
        ///
        /// # Cancel safety
        ///
        /// Cancel-safe: the send it waits for goes on.
        ///
        /// ```
        /// # #[runtime::main(flavor = "current_thread")]
        /// # async fn main() -> std::io::Result<()> {
        /// # let listener = runtime::net::TcpListener::bind("127.0.0.1:0").await?;
        /// # let mut client = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
        /// # let (mut server, _) = listener.accept().await?;
        /// client.write_all(b"bye").await?;
        /// client.flush().await?; // a no-op, but harmless in code written for buffered writers
        /// # Ok(())
        /// # }
        /// ```
        pub async fn flush(&mut self) -> std::io::Result<()> {
            let io = self.stream_io();
            std::future::poll_fn(|cx| crate::net::stream_ops::StreamIo::poll_flush(io, cx)).await
        }

        /// Writes what the socket accepts now without waiting; `WouldBlock` if none.
        ///
        /// ```
        /// # #[runtime::main(flavor = "current_thread")]
        /// # async fn main() -> std::io::Result<()> {
        /// # let listener = runtime::net::TcpListener::bind("127.0.0.1:0").await?;
        /// # let mut client = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
        /// # let (mut server, _) = listener.accept().await?;
        /// let n = loop {
        ///     client.writable().await?;
        ///     match client.try_write(b"hello") {
        ///         Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
        ///         res => break res?,
        ///     }
        /// };
        /// let mut buf = vec![0; n];
        /// server.read_exact(&mut buf).await?;
        /// assert_eq!(buf, &b"hello"[..n]);
        /// # Ok(())
        /// # }
        /// ```
        pub fn try_write(&self, buf: &[u8]) -> std::io::Result<usize> {
            crate::net::stream_ops::StreamIo::try_write(self.stream_io(), buf)
        }

        /// Waits until the stream is writable.
        ///
        /// # Cancel safety
        ///
        /// Cancel-safe.
        ///
        /// ```
        /// # #[runtime::main(flavor = "current_thread")]
        /// # async fn main() -> std::io::Result<()> {
        /// # let listener = runtime::net::TcpListener::bind("127.0.0.1:0").await?;
        /// # let mut client = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
        /// # let (mut server, _) = listener.accept().await?;
        /// client.writable().await?; // a fresh connection has room in its send buffer
        /// assert!(client.try_write(b"x")? > 0);
        /// # Ok(())
        /// # }
        /// ```
        pub async fn writable(&self) -> std::io::Result<()> {
            crate::net::stream_ops::ready(self.stream_io(), crate::reactor::Direction::Write).await
        }
    };
}

/// `futures_io::AsyncRead` for a type with `fn stream_io(&self)`.
macro_rules! impl_async_read {
    ($($ty:tt)*) => {
        impl futures_io::AsyncRead for $($ty)* {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                crate::net::stream_ops::StreamIo::poll_read(self.stream_io(), cx, buf)
            }
        }
    };
}

/// `futures_io::AsyncWrite` for a type with `fn stream_io(&self)` and
/// `fn shutdown_write(&self) -> io::Result<()>`.
macro_rules! impl_async_write {
    ($($ty:tt)*) => {
        impl futures_io::AsyncWrite for $($ty)* {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                crate::net::stream_ops::StreamIo::poll_write(self.stream_io(), cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                crate::net::stream_ops::StreamIo::poll_write_vectored(self.stream_io(), cx, bufs)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                crate::net::stream_ops::StreamIo::poll_flush(self.stream_io(), cx)
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::ready!(crate::net::stream_ops::StreamIo::poll_flush(
                    self.stream_io(),
                    cx
                ))?;
                std::task::Poll::Ready(self.shutdown_write())
            }
        }
    };
}

pub(crate) use {impl_async_read, impl_async_write, read_methods, write_methods};
