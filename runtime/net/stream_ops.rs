//! The read/write operations every byte stream shares (TCP, Unix, and their halves),
//! written once over `PollEvented` and stamped onto each type by the macros below.

use crate::reactor::{Direction, PollEvented};
use std::io::{self, Read, Write};
use std::task::{Context, Poll};

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

/// Inherent async read methods for a type with `fn poll_evented(&self) -> &PollEvented<_>`.
macro_rules! read_methods {
    () => {
        /// Reads into `buf`, waiting until some bytes arrive; `Ok(0)` means the peer
        /// closed its side (or `buf` is empty).
        ///
        /// # Cancel safety
        ///
        /// Cancel-safe: if dropped before completing, no bytes were read.
        pub async fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let io = self.poll_evented();
            std::future::poll_fn(|cx| crate::net::stream_ops::poll_read(io, cx, buf)).await
        }

        /// Reads exactly `buf.len()` bytes; `UnexpectedEof` if the peer closes first.
        ///
        /// # Cancel safety
        ///
        /// Not cancel-safe: bytes read before the drop are lost.
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
        pub fn try_read(&self, buf: &mut [u8]) -> std::io::Result<usize> {
            crate::net::stream_ops::try_read(self.poll_evented(), buf)
        }

        /// Waits until the stream is readable (data, end of stream, or an error).
        ///
        /// # Cancel safety
        ///
        /// Cancel-safe.
        pub async fn readable(&self) -> std::io::Result<()> {
            self.poll_evented()
                .ready(crate::reactor::Direction::Read)
                .await
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
        pub async fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let io = self.poll_evented();
            std::future::poll_fn(|cx| crate::net::stream_ops::poll_write(io, cx, buf)).await
        }

        /// Writes all of `buf`.
        ///
        /// # Cancel safety
        ///
        /// Not cancel-safe: an unknown prefix may have been written before the drop.
        pub async fn write_all(&mut self, mut buf: &[u8]) -> std::io::Result<()> {
            while !buf.is_empty() {
                match self.write(buf).await? {
                    0 => return Err(std::io::ErrorKind::WriteZero.into()),
                    n => buf = &buf[n..],
                }
            }
            Ok(())
        }

        /// Nothing to flush: writes go straight to the socket. Kept for symmetry with
        /// buffered writers.
        pub async fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }

        /// Writes what the socket accepts now without waiting; `WouldBlock` if none.
        pub fn try_write(&self, buf: &[u8]) -> std::io::Result<usize> {
            crate::net::stream_ops::try_write(self.poll_evented(), buf)
        }

        /// Waits until the stream is writable.
        ///
        /// # Cancel safety
        ///
        /// Cancel-safe.
        pub async fn writable(&self) -> std::io::Result<()> {
            self.poll_evented()
                .ready(crate::reactor::Direction::Write)
                .await
        }
    };
}

/// `futures_io::AsyncRead` for a type with `fn poll_evented(&self)`.
macro_rules! impl_async_read {
    ($($ty:tt)*) => {
        impl futures_io::AsyncRead for $($ty)* {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                crate::net::stream_ops::poll_read(self.poll_evented(), cx, buf)
            }
        }
    };
}

/// `futures_io::AsyncWrite` for a type with `fn poll_evented(&self)` and
/// `fn shutdown_write(&self) -> io::Result<()>`.
macro_rules! impl_async_write {
    ($($ty:tt)*) => {
        impl futures_io::AsyncWrite for $($ty)* {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                crate::net::stream_ops::poll_write(self.poll_evented(), cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                crate::net::stream_ops::poll_write_vectored(self.poll_evented(), cx, bufs)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(self.shutdown_write())
            }
        }
    };
}

pub(crate) use {impl_async_read, impl_async_write, read_methods, write_methods};
