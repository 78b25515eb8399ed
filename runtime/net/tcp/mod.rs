//! TCP: listener, stream, configurable socket, and stream halves.
//!
//! [`TcpListener::bind`] and [`TcpStream::connect`] cover the common case; [`TcpSocket`]
//! sets socket options first. A stream splits into halves to read and write at once:
//! [`TcpStream::split`] borrows, [`TcpStream::into_split`] gives owned halves that can go to
//! different tasks.
//!
//! ```
//! # #[runtime::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use runtime::net::tcp::{TcpListener, TcpStream};
//! let listener = TcpListener::bind("127.0.0.1:0").await?;
//! let client = TcpStream::connect(listener.local_addr()?).await?;
//! let (server, _) = listener.accept().await?;
//!
//! let (mut from_client, _to_client) = server.into_split();
//! let reader = runtime::spawn(async move {
//!     let mut line = [0; 5];
//!     from_client.read_exact(&mut line).await.map(|()| line)
//! });
//! let (_from_server, mut to_server) = client.into_split();
//! to_server.write_all(b"hello").await?;
//! assert_eq!(&reader.await??, b"hello");
//! # Ok(())
//! # }
//! ```

mod listener;
mod socket;
pub(crate) mod split;
pub(crate) mod stream;

pub use listener::TcpListener;
pub use socket::TcpSocket;
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};
pub use stream::TcpStream;
