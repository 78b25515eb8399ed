//! TCP: listener, stream, configurable socket, and stream halves.

mod listener;
mod socket;
pub(crate) mod split;
mod stream;

pub use listener::TcpListener;
pub use socket::TcpSocket;
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};
pub use stream::TcpStream;
