//! `UnixListener`.

use crate::net::accept;
use crate::net::unix::stream::UnixStream;
use crate::reactor::PollEvented;
use std::fmt;
use std::io;
use std::os::unix::net::SocketAddr;
use std::path::Path;

/// A Unix domain socket server.
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use runtime::net::{UnixListener, UnixStream};
/// let path = std::env::temp_dir().join(format!("runtime-doc-{}.sock", std::process::id()));
/// let _ = std::fs::remove_file(&path);
/// let listener = UnixListener::bind(&path)?;
/// let mut client = UnixStream::connect(&path).await?;
/// let (mut server, _) = listener.accept().await?;
/// client.write_all(b"hi").await?;
/// let mut buf = [0; 2];
/// server.read_exact(&mut buf).await?;
/// assert_eq!(&buf, b"hi");
/// std::fs::remove_file(&path)?;
/// # Ok(())
/// # }
/// ```
pub struct UnixListener {
    io: PollEvented<mio::net::UnixListener>,
}

impl UnixListener {
    /// Binds to `path` (which must not exist). The socket file stays after the listener
    /// drops: remove it yourself.
    ///
    /// # Errors
    ///
    /// `AddrInUse` if `path` exists (a stale socket file from an earlier run, say).
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use runtime::net::UnixListener;
    /// let path = std::env::temp_dir().join(format!("runtime-doc-bind-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path); // a stale file would make `bind` fail
    /// let listener = UnixListener::bind(&path)?;
    /// assert_eq!(UnixListener::bind(&path).unwrap_err().kind(), std::io::ErrorKind::AddrInUse);
    /// drop(listener);
    /// std::fs::remove_file(&path)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        let listener = mio::net::UnixListener::bind(path)?;
        Ok(UnixListener {
            io: PollEvented::with_interest(listener, mio::Interest::READABLE)?,
        })
    }

    /// Waits for a connection.
    ///
    /// Out of file descriptors or memory (`EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`), it
    /// keeps waiting on a timer and tries again, as
    /// [`TcpListener::accept`](crate::net::TcpListener::accept) does.
    ///
    /// # Errors
    ///
    /// Any other error of `accept(2)`, or registering the new socket with the reactor.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a connection is only taken off the queue when this returns it.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use runtime::net::{UnixListener, UnixStream};
    /// let path = std::env::temp_dir().join(format!("runtime-doc-accept-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let listener = UnixListener::bind(&path)?;
    /// let mut client = UnixStream::connect(&path).await?;
    /// let (mut conn, peer) = listener.accept().await?;
    /// assert!(peer.is_unnamed()); // clients usually have no path
    /// conn.write_all(b"hello").await?;
    /// let mut buf = [0; 5];
    /// client.read_exact(&mut buf).await?;
    /// std::fs::remove_file(&path)?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (stream, addr) = accept::accept(&self.io, |l| l.accept()).await?;
        Ok((UnixStream::new(stream)?, addr))
    }

    /// The address it listens on.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let path = std::env::temp_dir().join(format!("runtime-doc-addr-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let listener = runtime::net::UnixListener::bind(&path)?;
    /// assert_eq!(listener.local_addr()?.as_pathname(), Some(path.as_path()));
    /// std::fs::remove_file(&path)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.get_ref().fmt(f)
    }
}
