//! tokio's IO traits on this runtime: [`tokio::io::AsyncRead`], [`tokio::io::AsyncWrite`]
//! and [`tokio::io::AsyncBufRead`], so libraries written against them (tokio-util's codecs,
//! `tokio::io::copy`, `BufReader`, …) run here unchanged.
//!
//! Two mechanisms, for two kinds of type:
//!
//! - **Direct impls** on this runtime's own streams, files and pipes: [`TcpStream`] and its
//!   halves ([`ReadHalf`], [`WriteHalf`], [`OwnedReadHalf`], [`OwnedWriteHalf`]),
//!   [`UnixStream`], [`fs::File`](crate::fs::File) (which also buffers, so it is
//!   `AsyncBufRead`), and the child pipes [`ChildStdin`], [`ChildStdout`], [`ChildStderr`].
//!   A wrapper would make every caller write `.compat()` and reach the stream's own methods
//!   (`peer_addr`, `set_nodelay`, `split`) through `get_ref`; with the impls,
//!   `tokio_util::codec::Framed::new(stream, codec)` takes our `TcpStream` as it is, and the
//!   same value still works with futures-io code.
//! - **[`Compat<T>`]** for everything else: types from other crates implement futures-io
//!   (a `futures_rustls` TLS stream, `futures::io::Cursor`, …) and the orphan rule forbids
//!   implementing tokio's traits on them here. [`CompatExt::compat`] wraps one. `Compat`
//!   also works the other way: over a type with tokio's traits it implements futures-io's.
//!
//! Each impl delegates to the type's futures-io impl, so it behaves the same, wakes on the
//! same reactor events and is cancel-safe the same way: a dropped read or write future loses
//! no bytes. The one translation is the read buffer: futures-io reads into initialised
//! memory and tokio's [`ReadBuf`] may hand over uninitialised memory, so the part of it a
//! read offers (at most 64 KiB) is zeroed first, unless the `ReadBuf` already knows it is
//! initialised. (tokio-util's codecs offer fresh spare capacity on every read, 8 KiB by
//! default, so they pay one small `memset` per read.) A read into a full `ReadBuf` returns
//! at once, without waiting for the stream.
//!
//! [`poll_shutdown`](tokio::io::AsyncWrite::poll_shutdown) is futures-io's `poll_close`: on
//! a socket it shuts down the write side (the peer reads EOF, and this side can still read
//! what the peer sends), on [`ChildStdin`] it closes the pipe (the
//! child reads EOF), on a [`File`] it flushes. Sockets and `ChildStdin` write
//! vectored (`writev`); a `File` and a [`Compat`] report
//! [`is_write_vectored`](tokio::io::AsyncWrite::is_write_vectored) `false`.
//!
//! ```
//! use futures::{SinkExt, StreamExt};
//! use runtime::net::{TcpListener, TcpStream};
//! use tokio_util::codec::{Framed, LinesCodec};
//!
//! #[runtime::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     runtime::spawn(async move {
//!         let (stream, _) = listener.accept().await?;
//!         // Our TcpStream, as it is, under a tokio-util codec.
//!         let mut lines = Framed::new(stream, LinesCodec::new());
//!         while let Some(line) = lines.next().await {
//!             lines.send(line?.to_uppercase()).await?;
//!         }
//!         Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
//!     });
//!
//!     let mut client = Framed::new(TcpStream::connect(addr).await?, LinesCodec::new());
//!     client.send("hello").await?;
//!     assert_eq!(client.next().await.transpose()?.as_deref(), Some("HELLO"));
//!     Ok(())
//! }
//! ```
//!
//! # What still needs tokio's own runtime
//!
//! The traits need no runtime, and neither do tokio's runtime-free parts (`tokio::io`'s
//! `copy`, `BufReader`, `split`, `duplex`; `tokio::sync`; tokio-util's codecs). What a
//! library reaches through tokio's *runtime* does: `tokio::spawn`, `tokio::time` (`sleep`,
//! `timeout`, `interval`), `tokio::net`, `tokio::fs`, `tokio::io::{stdin, stdout}`,
//! `tokio::task::spawn_blocking`, `tokio::signal`. Called on this runtime they panic
//! ("there is no reactor running, must be called from the context of a Tokio 1.x
//! runtime"). Use this runtime's counterparts (`runtime::spawn`, `runtime::time`,
//! `runtime::net`, …) where the code is yours; for a library that calls them itself, either
//! check whether it takes an executor or timer of your choosing (hyper does: see
//! [`compat::hyper`](crate::compat::hyper)), or give it a tokio runtime of its own on a
//! thread beside this one.
//!
//! # Method names
//!
//! With both `futures::AsyncReadExt` and `tokio::io::AsyncReadExt` in scope, a call such as
//! `stream.read_to_end(&mut v)` on a type with both impls is ambiguous; import one of them,
//! or call through the trait (`tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut v)`).
//! The types' own methods (`TcpStream::read`, `write_all`, …) always take precedence.

use crate::fs::File;
use crate::net::tcp::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};
use crate::net::{TcpStream, UnixStream};
use crate::process::{ChildStderr, ChildStdin, ChildStdout};
use std::fmt;
use std::io::{self, IoSlice, SeekFrom};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::ReadBuf;

/// The most one read through tokio's [`AsyncRead`](tokio::io::AsyncRead) asks for, so a
/// huge uninitialised `ReadBuf` is never zeroed whole for one read.
const READ_CHUNK: usize = 64 * 1024;

/// A futures-io read into tokio's `ReadBuf`: zeroes what is not initialised yet (at most
/// [`READ_CHUNK`]), reads, and marks the bytes read as filled.
fn poll_read_buf<R: futures_io::AsyncRead + ?Sized>(
    reader: Pin<&mut R>,
    cx: &mut Context<'_>,
    buf: &mut ReadBuf<'_>,
) -> Poll<io::Result<()>> {
    // A full buffer would make the stream wait for readiness it can't use.
    if buf.remaining() == 0 {
        return Poll::Ready(Ok(()));
    }
    let len = buf.remaining().min(READ_CHUNK);
    let n = ready!(reader.poll_read(cx, buf.initialize_unfilled_to(len)))?;
    assert!(
        n <= len,
        "futures_io::AsyncRead::poll_read reported {n} bytes read into a {len}-byte buffer"
    );
    buf.advance(n);
    Poll::Ready(Ok(()))
}

// ===== direct impls =====

/// tokio's `AsyncRead` over the type's futures-io `AsyncRead`.
macro_rules! tokio_read {
    ($($ty:ty),* $(,)?) => {$(
        impl tokio::io::AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                poll_read_buf(self, cx, buf)
            }
        }
    )*};
}

/// tokio's `AsyncWrite` over the type's futures-io `AsyncWrite`; `$vectored` says whether
/// its `poll_write_vectored` writes more than the first buffer.
macro_rules! tokio_write {
    ($vectored:literal: $($ty:ty),* $(,)?) => {$(
        impl tokio::io::AsyncWrite for $ty {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                futures_io::AsyncWrite::poll_write(self, cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                futures_io::AsyncWrite::poll_write_vectored(self, cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                $vectored
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                futures_io::AsyncWrite::poll_flush(self, cx)
            }

            fn poll_shutdown(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
            ) -> Poll<io::Result<()>> {
                futures_io::AsyncWrite::poll_close(self, cx)
            }
        }
    )*};
}

tokio_read!(
    TcpStream,
    ReadHalf<'_>,
    OwnedReadHalf,
    UnixStream,
    File,
    ChildStdout,
    ChildStderr,
);
tokio_write!(true: TcpStream, WriteHalf<'_>, OwnedWriteHalf, UnixStream, ChildStdin);
tokio_write!(false: File);

impl tokio::io::AsyncBufRead for File {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        futures_io::AsyncBufRead::poll_fill_buf(self, cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        futures_io::AsyncBufRead::consume(self, amt)
    }
}

// ===== impl Compat =====

/// Adapts between futures-io and tokio's IO traits, either way round:
///
/// - over a [`futures_io`] type (`AsyncRead`, `AsyncWrite`, `AsyncBufRead`, `AsyncSeek`),
///   `Compat` implements the tokio trait of the same name;
/// - over a tokio type, it implements futures-io's `AsyncRead`, `AsyncWrite` and
///   `AsyncBufRead`.
///
/// This runtime's own streams, files and pipes need no wrapper: they implement both families
/// (see the [module docs](self)). `Compat` is for other crates' types.
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use runtime::compat::tokio::CompatExt;
/// use tokio::io::AsyncBufReadExt;
/// // A futures-io reader from another crate, read with tokio's extension methods.
/// let mut reader = futures::io::Cursor::new(b"first\nsecond\n".to_vec()).compat();
/// let mut line = String::new();
/// reader.read_line(&mut line).await?;
/// assert_eq!(line, "first\n");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct Compat<T> {
    inner: T,
    /// A seek `start_seek` asked for that `poll_complete` has not finished yet.
    seek: Option<SeekFrom>,
}

impl<T> Compat<T> {
    /// Wraps `inner`.
    ///
    /// ```
    /// let reader = runtime::compat::tokio::Compat::new(futures::io::empty());
    /// # drop(reader);
    /// ```
    pub fn new(inner: T) -> Compat<T> {
        Compat { inner, seek: None }
    }

    /// The wrapped value.
    ///
    /// ```
    /// let cursor = runtime::compat::tokio::Compat::new(futures::io::Cursor::new(vec![1, 2]));
    /// assert_eq!(cursor.get_ref().get_ref(), &[1, 2]);
    /// ```
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The wrapped value, mutably.
    ///
    /// ```
    /// let mut cursor = runtime::compat::tokio::Compat::new(futures::io::Cursor::new(vec![1, 2]));
    /// cursor.get_mut().set_position(1);
    /// assert_eq!(cursor.get_ref().position(), 1);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// The wrapped value, pinned.
    ///
    /// ```
    /// let mut compat = std::pin::pin!(runtime::compat::tokio::Compat::new(futures::io::empty()));
    /// let inner: std::pin::Pin<&mut futures::io::Empty> = compat.as_mut().get_pin_mut();
    /// # drop(inner);
    /// ```
    pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut T> {
        self.project().0
    }

    /// Unwraps the value.
    ///
    /// ```
    /// let compat = runtime::compat::tokio::Compat::new(futures::io::Cursor::new(vec![7]));
    /// assert_eq!(compat.into_inner().into_inner(), vec![7]);
    /// ```
    pub fn into_inner(self) -> T {
        self.inner
    }

    fn project(self: Pin<&mut Self>) -> (Pin<&mut T>, &mut Option<SeekFrom>) {
        // SAFETY: `inner` is structurally pinned and `seek` is not: nothing moves `inner`
        // out of a pinned `Compat` (`into_inner` and `get_mut` need it unpinned), there is
        // no `Drop` impl, and `Compat<T>` is `Unpin` exactly when `T` is (the auto impl;
        // `Option<SeekFrom>` is `Unpin`). `seek` is plain data, never pinned.
        unsafe {
            let this = self.get_unchecked_mut();
            (Pin::new_unchecked(&mut this.inner), &mut this.seek)
        }
    }
}

/// `.compat()`: wraps a value in [`Compat`], for futures-io types that other crates define
/// (or tokio types headed the other way).
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use runtime::compat::tokio::CompatExt;
/// use tokio::io::AsyncReadExt;
/// let mut text = String::new();
/// futures::io::Cursor::new(b"hi".to_vec()).compat().read_to_string(&mut text).await?;
/// assert_eq!(text, "hi");
/// # Ok(())
/// # }
/// ```
pub trait CompatExt: Sized {
    /// Wraps `self` in [`Compat`].
    ///
    /// ```
    /// use runtime::compat::tokio::CompatExt;
    /// let compat = futures::io::empty().compat();
    /// # drop(compat);
    /// ```
    fn compat(self) -> Compat<Self> {
        Compat::new(self)
    }
}

impl<T> CompatExt for T {}

// ----- futures-io inside, tokio outside -----

impl<T: futures_io::AsyncRead> tokio::io::AsyncRead for Compat<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        poll_read_buf(self.get_pin_mut(), cx, buf)
    }
}

impl<T: futures_io::AsyncWrite> tokio::io::AsyncWrite for Compat<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_pin_mut().poll_write(cx, buf)
    }

    /// Passes the buffers on; whether the inner type writes more than the first one is not
    /// known here, so [`is_write_vectored`](tokio::io::AsyncWrite::is_write_vectored) stays
    /// `false`.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_pin_mut().poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_pin_mut().poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_pin_mut().poll_close(cx)
    }
}

impl<T: futures_io::AsyncBufRead> tokio::io::AsyncBufRead for Compat<T> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.get_pin_mut().poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.get_pin_mut().consume(amt)
    }
}

impl<T: futures_io::AsyncSeek> tokio::io::AsyncSeek for Compat<T> {
    /// Records the seek; [`poll_complete`](tokio::io::AsyncSeek::poll_complete) performs it.
    ///
    /// # Errors
    ///
    /// If a seek started earlier has not completed yet (tokio's contract).
    fn start_seek(self: Pin<&mut Self>, position: SeekFrom) -> io::Result<()> {
        let (_, seek) = self.project();
        if seek.is_some() {
            return Err(io::Error::other(
                "start_seek called while an earlier seek was still in progress",
            ));
        }
        *seek = Some(position);
        Ok(())
    }

    /// The position after the seek `start_seek` recorded, or the current position if none.
    fn poll_complete(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        let (inner, seek) = self.project();
        let position = seek.unwrap_or(SeekFrom::Current(0));
        let done = ready!(inner.poll_seek(cx, position));
        *seek = None;
        Poll::Ready(done)
    }
}

// ----- tokio inside, futures-io outside -----

impl<T: tokio::io::AsyncRead> futures_io::AsyncRead for Compat<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut buf = ReadBuf::new(buf);
        ready!(self.get_pin_mut().poll_read(cx, &mut buf))?;
        Poll::Ready(Ok(buf.filled().len()))
    }
}

impl<T: tokio::io::AsyncWrite> futures_io::AsyncWrite for Compat<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_pin_mut().poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_pin_mut().poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_pin_mut().poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_pin_mut().poll_shutdown(cx)
    }
}

impl<T: tokio::io::AsyncBufRead> futures_io::AsyncBufRead for Compat<T> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.get_pin_mut().poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.get_pin_mut().consume(amt)
    }
}

/// Compile-time checks: every type above has both families of traits, and the wrapper can
/// cross threads with what it wraps.
#[allow(dead_code)]
fn _assert_impls() {
    fn read<T: tokio::io::AsyncRead + futures_io::AsyncRead + Send + Sync + fmt::Debug>() {}
    fn write<T: tokio::io::AsyncWrite + futures_io::AsyncWrite + Send + Sync + fmt::Debug>() {}
    read::<TcpStream>();
    write::<TcpStream>();
    read::<ReadHalf<'_>>();
    write::<WriteHalf<'_>>();
    read::<OwnedReadHalf>();
    write::<OwnedWriteHalf>();
    read::<UnixStream>();
    write::<UnixStream>();
    read::<File>();
    write::<File>();
    read::<ChildStdout>();
    read::<ChildStderr>();
    write::<ChildStdin>();
    fn buf_read<T: tokio::io::AsyncBufRead>() {}
    buf_read::<File>();
    buf_read::<Compat<File>>();
    read::<Compat<TcpStream>>();
}
