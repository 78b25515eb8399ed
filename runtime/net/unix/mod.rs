//! Unix domain sockets.

mod listener;
mod stream;

pub use listener::UnixListener;
pub use std::os::unix::net::SocketAddr;
pub use stream::UnixStream;
