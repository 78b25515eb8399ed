//! Unix domain sockets.
//!
//! [`UnixListener`] binds a path, [`UnixStream`] connects to one (or comes in a
//! [`pair`](UnixStream::pair)); streams have the same methods as TCP streams.
//!
//! ```
//! # #[runtime::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use runtime::net::unix::{UnixListener, UnixStream};
//! let path = std::env::temp_dir().join(format!("runtime-doc-unix-{}.sock", std::process::id()));
//! let _ = std::fs::remove_file(&path);
//! let listener = UnixListener::bind(&path)?;
//! let mut client = UnixStream::connect(&path).await?;
//! let (mut server, _) = listener.accept().await?;
//! client.write_all(b"hi").await?;
//! let mut buf = [0; 2];
//! server.read_exact(&mut buf).await?;
//! assert_eq!(&buf, b"hi");
//! std::fs::remove_file(&path)?;
//! # Ok(())
//! # }
//! ```

mod listener;
mod stream;

pub use listener::UnixListener;
pub use std::os::unix::net::SocketAddr;
pub use stream::UnixStream;
