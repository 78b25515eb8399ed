//! Networking: TCP, UDP and Unix sockets whose operations yield the task whenever they
//! would block, as gevent's patched sockets do.
//!
//! Stream methods that read or write take `&mut self`; `readable`, `writable` and the
//! `try_*` forms take `&self`. Streams and their halves implement
//! `futures_io::{AsyncRead, AsyncWrite}`.
//!
//! - [`tcp`]: [`TcpListener`], [`TcpStream`] (and its halves), [`TcpSocket`].
//! - [`UdpSocket`].
//! - [`unix`]: [`UnixListener`], [`UnixStream`].
//!
//! Addresses are anything [`ToSocketAddrs`]: `"127.0.0.1:8080"`, `("example.com", 80)`
//! (looked up on the blocking pool), a `SocketAddr`, …
//!
//! ```
//! # #[runtime::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use runtime::net::{TcpListener, TcpStream};
//! let listener = TcpListener::bind("127.0.0.1:0").await?;
//! let mut client = TcpStream::connect(listener.local_addr()?).await?;
//! let (mut server, _) = listener.accept().await?;
//!
//! client.write_all(b"hi").await?; // the inherent methods
//! let mut buf = [0; 2];
//! server.read_exact(&mut buf).await?;
//! assert_eq!(&buf, b"hi");
//!
//! // The futures-io traits, e.g. through `futures::AsyncReadExt`:
//! drop(client);
//! let mut rest = String::new();
//! futures::AsyncReadExt::read_to_string(&mut server, &mut rest).await?;
//! assert_eq!(rest, "");
//! # Ok(())
//! # }
//! ```

mod accept;
mod addr;
pub(crate) mod stream_ops;
pub mod tcp;
mod udp;
pub mod unix;

pub use addr::ToSocketAddrs;
pub use tcp::{TcpListener, TcpSocket, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixListener, UnixStream};
