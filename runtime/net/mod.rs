//! Networking: TCP, UDP and Unix sockets whose operations yield the task whenever they
//! would block, as gevent's patched sockets do.
//!
//! Stream methods that read or write take `&mut self`; `readable`, `writable` and the
//! `try_*` forms take `&self`. Streams and their halves implement
//! `futures_io::{AsyncRead, AsyncWrite}`.

mod addr;
pub(crate) mod stream_ops;
pub mod tcp;
mod udp;
pub mod unix;

pub use addr::ToSocketAddrs;
pub use tcp::{TcpListener, TcpSocket, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixListener, UnixStream};
