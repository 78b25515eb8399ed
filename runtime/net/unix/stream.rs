//! `UnixStream`.

use crate::net::stream_ops::{impl_async_read, impl_async_write, read_methods, write_methods};
use crate::reactor::{Direction, PollEvented};
use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::unix::net::SocketAddr;
use std::path::Path;

/// A Unix domain stream connection; the same read and write methods as
/// [`TcpStream`](crate::net::TcpStream), and `futures_io::{AsyncRead, AsyncWrite}`.
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let (mut parent, mut child) = runtime::net::UnixStream::pair()?;
/// let worker = runtime::spawn(async move {
///     let mut job = [0; 4];
///     child.read_exact(&mut job).await?;
///     child.write_all(&u32::from_be_bytes(job).pow(2).to_be_bytes()).await
/// });
/// parent.write_all(&12u32.to_be_bytes()).await?;
/// let mut answer = [0; 4];
/// parent.read_exact(&mut answer).await?;
/// assert_eq!(u32::from_be_bytes(answer), 144);
/// worker.await??;
/// # Ok(())
/// # }
/// ```
pub struct UnixStream {
    io: PollEvented<mio::net::UnixStream>,
}

impl UnixStream {
    /// Connects to the socket at `path`.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    ///
    /// # Cancel safety
    ///
    /// Dropping it closes the socket being connected; nothing else is lost.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use runtime::net::{UnixListener, UnixStream};
    /// let dir = std::env::temp_dir();
    /// let path = dir.join(format!("runtime-doc-connect-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let listener = UnixListener::bind(&path)?;
    /// let stream = UnixStream::connect(&path).await?;
    /// assert_eq!(stream.peer_addr()?.as_pathname(), Some(path.as_path()));
    /// std::fs::remove_file(&path)?;
    /// # drop(listener);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let stream = UnixStream::new(mio::net::UnixStream::connect(path)?)?;
        stream.io.ready(Direction::Write).await?;
        if let Some(e) = stream.io.get_ref().take_error()? {
            return Err(e);
        }
        Ok(stream)
    }

    /// A connected pair, e.g. to talk to a child process or between two tasks.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let (mut a, mut b) = runtime::net::UnixStream::pair()?;
    /// a.write_all(b"over").await?;
    /// let mut buf = [0; 4];
    /// b.read_exact(&mut buf).await?;
    /// assert_eq!(&buf, b"over");
    /// # Ok(())
    /// # }
    /// ```
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = mio::net::UnixStream::pair()?;
        Ok((UnixStream::new(a)?, UnixStream::new(b)?))
    }

    pub(crate) fn new(stream: mio::net::UnixStream) -> io::Result<UnixStream> {
        Ok(UnixStream {
            io: PollEvented::new(stream)?,
        })
    }

    read_methods!();
    write_methods!();

    /// Shuts down one or both directions.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let (a, mut b) = runtime::net::UnixStream::pair()?;
    /// a.shutdown(std::net::Shutdown::Write)?;
    /// let mut buf = [0; 8];
    /// assert_eq!(b.read(&mut buf).await?, 0); // end of stream
    /// # Ok(())
    /// # }
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }

    /// The local address (unnamed for a client or a [`pair`](UnixStream::pair)).
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let (a, _b) = runtime::net::UnixStream::pair()?;
    /// assert!(a.local_addr()?.is_unnamed());
    /// # Ok(())
    /// # }
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The peer's address (the listener's path for a connected client).
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let (a, _b) = runtime::net::UnixStream::pair()?;
    /// assert!(a.peer_addr()?.is_unnamed());
    /// # Ok(())
    /// # }
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    fn stream_io(&self) -> &PollEvented<mio::net::UnixStream> {
        &self.io
    }
}

impl_async_read!(UnixStream);
impl_async_write!(UnixStream);

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.get_ref().fmt(f)
    }
}
