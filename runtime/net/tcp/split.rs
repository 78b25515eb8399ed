//! The halves of a `TcpStream`: borrowed (`split`) and owned (`into_split`).

use crate::net::stream_ops::{impl_async_read, impl_async_write, read_methods, write_methods};
use crate::net::tcp::stream::TcpStream;
use crate::reactor::PollEvented;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;

/// The read half of [`TcpStream::split`].
#[derive(Debug)]
pub struct ReadHalf<'a>(&'a TcpStream);

/// The write half of [`TcpStream::split`].
#[derive(Debug)]
pub struct WriteHalf<'a>(&'a TcpStream);

/// The read half of [`TcpStream::into_split`].
#[derive(Debug)]
pub struct OwnedReadHalf {
    inner: Arc<TcpStream>,
}

/// The write half of [`TcpStream::into_split`]; dropping it shuts the write side down.
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

    fn poll_evented(&self) -> &PollEvented<mio::net::TcpStream> {
        self.0.poll_evented()
    }
}

impl WriteHalf<'_> {
    write_methods!();

    fn poll_evented(&self) -> &PollEvented<mio::net::TcpStream> {
        self.0.poll_evented()
    }

    fn shutdown_write(&self) -> io::Result<()> {
        self.0.shutdown(Shutdown::Write)
    }
}

impl OwnedReadHalf {
    read_methods!();

    fn poll_evented(&self) -> &PollEvented<mio::net::TcpStream> {
        self.inner.poll_evented()
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }

    /// Puts the stream back together; `Err` gives both halves back if they don't match.
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

    fn poll_evented(&self) -> &PollEvented<mio::net::TcpStream> {
        self.inner.poll_evented()
    }

    fn shutdown_write(&self) -> io::Result<()> {
        self.inner.shutdown(Shutdown::Write)
    }

    /// The remote address.
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
