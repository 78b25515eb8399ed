//! The parent's ends of a child's piped standard streams: [`ChildStdin`], [`ChildStdout`]
//! and [`ChildStderr`].
//!
//! Each is the pipe std created, switched to non-blocking mode (only our end: the child's
//! end is a separate open file) and registered with the reactor as a mio
//! `unix::pipe::{Sender, Receiver}`, so a read or write that would block suspends the
//! task, exactly as a socket's does (`net::stream_ops` runs the same readiness loop).

use crate::net::stream_ops;
use crate::reactor::PollEvented;
use mio::unix::pipe;
use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};

/// How much `read_to_end` asks for per read: a default pipe's capacity, so one read
/// usually empties the pipe.
const READ_CHUNK: usize = 64 * 1024;

/// Appends everything up to end of stream to `buf`. Whatever was read before a `Pending`
/// is already in `buf`, so a caller that gives up loses nothing.
fn poll_read_to_end(
    io: &PollEvented<pipe::Receiver>,
    cx: &mut Context<'_>,
    buf: &mut Vec<u8>,
) -> Poll<io::Result<()>> {
    loop {
        let filled = buf.len();
        // Zero one chunk past the data and read into it. A fixed chunk, not all the spare
        // capacity: a pipe hands over at most its capacity per read, and zeroing a large
        // spare region before each small read made a 16 MiB output four times slower.
        buf.resize(filled + READ_CHUNK, 0);
        let res = stream_ops::poll_read(io, cx, &mut buf[filled..]);
        let n = match &res {
            Poll::Ready(Ok(n)) => *n,
            _ => 0,
        };
        buf.truncate(filled + n);
        match res {
            Poll::Ready(Ok(0)) => return Poll::Ready(Ok(())),
            Poll::Ready(Ok(_)) => {}
            Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        }
    }
}

fn register_receiver(rx: pipe::Receiver) -> io::Result<PollEvented<pipe::Receiver>> {
    rx.set_nonblocking(true)?;
    PollEvented::with_interest(rx, mio::Interest::READABLE)
}

/// A readable end (`ChildStdout`, `ChildStderr`): the type, its methods, `AsyncRead`.
macro_rules! child_reader {
    ($name:ident, $std:ty, $field:literal, $redirect:literal) => {
        #[doc = concat!("The child's ", $field, ", when it was [`Stdio::piped`](super::Stdio::piped): ")]
        #[doc = "read it with the inherent methods or as a `futures_io::AsyncRead`."]
        #[doc = ""]
        #[doc = "Dropping it closes the pipe: a child that writes more then gets `EPIPE`"]
        #[doc = "(or dies of `SIGPIPE`)."]
        #[doc = ""]
        #[doc = "```"]
        #[doc = "# #[runtime::main(flavor = \"current_thread\")]"]
        #[doc = "# async fn main() -> std::io::Result<()> {"]
        #[doc = "use runtime::process::{Command, Stdio};"]
        #[doc = concat!("let mut child = Command::new(\"sh\").args([\"-c\", \"echo one", $redirect, "; echo two", $redirect, "\"])")]
        #[doc = concat!("    .", $field, "(Stdio::piped())")]
        #[doc = "    .spawn()?;"]
        #[doc = concat!("let mut pipe = child.", $field, ".take().unwrap();")]
        #[doc = "let mut text = String::new();"]
        #[doc = "futures::AsyncReadExt::read_to_string(&mut pipe, &mut text).await?;"]
        #[doc = "assert_eq!(text, \"one\\ntwo\\n\");"]
        #[doc = "child.wait().await?;"]
        #[doc = "# Ok(())"]
        #[doc = "# }"]
        #[doc = "```"]
        pub struct $name {
            io: PollEvented<pipe::Receiver>,
        }

        impl $name {
            /// Registers std's pipe end with the current runtime's reactor.
            pub(crate) fn from_std(std: $std) -> io::Result<$name> {
                Ok($name {
                    io: register_receiver(pipe::Receiver::from(std))?,
                })
            }

            /// Reads into `buf`, waiting until the child writes something; `Ok(0)` means
            /// the child closed its end (typically: it exited) or `buf` is empty.
            ///
            /// # Errors
            ///
            /// Those of `read(2)` on the pipe.
            ///
            /// # Cancel safety
            ///
            /// Cancel-safe: if dropped before completing, no bytes were read.
            ///
            /// ```
            /// # #[runtime::main(flavor = "current_thread")]
            /// # async fn main() -> std::io::Result<()> {
            /// use runtime::process::{Command, Stdio};
            #[doc = concat!("let mut child = Command::new(\"sh\").args([\"-c\", \"printf hi", $redirect, "\"])")]
            #[doc = concat!("    .", $field, "(Stdio::piped())")]
            ///     .spawn()?;
            #[doc = concat!("let pipe = child.", $field, ".as_mut().unwrap();")]
            /// let mut buf = [0; 8];
            /// let n = pipe.read(&mut buf).await?;
            /// assert_eq!(&buf[..n], b"hi"[..n].as_ref()); // maybe just "h" so far
            /// child.wait().await?;
            /// # Ok(())
            /// # }
            /// ```
            pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let io = &self.io;
                std::future::poll_fn(|cx| stream_ops::poll_read(io, cx, buf)).await
            }

            /// Appends everything the child writes, up to end of stream, to `buf`;
            /// returns how many bytes were appended.
            ///
            /// # Errors
            ///
            /// Those of `read(2)` on the pipe; what was read before the error is in `buf`.
            ///
            /// # Cancel safety
            ///
            /// Cancel-safe in the sense that nothing is lost: the bytes read before the
            /// drop are in `buf`, and calling it again continues from there.
            ///
            /// ```
            /// # #[runtime::main(flavor = "current_thread")]
            /// # async fn main() -> std::io::Result<()> {
            /// use runtime::process::{Command, Stdio};
            #[doc = concat!("let mut child = Command::new(\"sh\").args([\"-c\", \"echo done", $redirect, "\"])")]
            #[doc = concat!("    .", $field, "(Stdio::piped())")]
            ///     .spawn()?;
            /// let mut all = Vec::new();
            #[doc = concat!("child.", $field, ".as_mut().unwrap().read_to_end(&mut all).await?;")]
            /// assert_eq!(all, b"done\n");
            /// # Ok(())
            /// # }
            /// ```
            pub async fn read_to_end(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
                let start = buf.len();
                let io = &self.io;
                std::future::poll_fn(|cx| poll_read_to_end(io, cx, buf)).await?;
                Ok(buf.len() - start)
            }

            /// [`read_to_end`](Self::read_to_end) as a poll, for `wait_with_output`.
            pub(crate) fn poll_read_to_end(
                &self,
                cx: &mut Context<'_>,
                buf: &mut Vec<u8>,
            ) -> Poll<io::Result<()>> {
                poll_read_to_end(&self.io, cx, buf)
            }
        }

        impl futures_io::AsyncRead for $name {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                stream_ops::poll_read(&self.io, cx, buf)
            }
        }

        impl AsFd for $name {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.io.get_ref().as_fd()
            }
        }

        impl AsRawFd for $name {
            fn as_raw_fd(&self) -> RawFd {
                self.io.get_ref().as_raw_fd()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($name))
                    .field(&self.io.get_ref().as_raw_fd())
                    .finish()
            }
        }
    };
}

child_reader!(ChildStdout, std::process::ChildStdout, "stdout", "");
child_reader!(ChildStderr, std::process::ChildStderr, "stderr", " >&2");

// ===== ChildStdin =====

/// The child's stdin, when it was [`Stdio::piped`](super::Stdio::piped): write to it with
/// the inherent methods or as a `futures_io::AsyncWrite`.
///
/// The child sees end of input once this is dropped or closed (`AsyncWrite::poll_close`,
/// e.g. `futures::AsyncWriteExt::close`). [`Child::wait`](super::Child::wait) drops it
/// first for that reason.
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use runtime::process::{Command, Stdio};
/// let mut child = Command::new("cat")
///     .stdin(Stdio::piped())
///     .stdout(Stdio::piped())
///     .spawn()?;
/// let mut stdin = child.stdin.take().unwrap();
/// stdin.write_all(b"echoed back").await?;
/// drop(stdin); // end of input: cat exits
/// let output = child.wait_with_output().await?;
/// assert_eq!(output.stdout, b"echoed back");
/// # Ok(())
/// # }
/// ```
pub struct ChildStdin {
    /// `None` once closed through `poll_close`.
    io: Option<PollEvented<pipe::Sender>>,
}

impl ChildStdin {
    /// Registers std's pipe end with the current runtime's reactor.
    pub(crate) fn from_std(std: std::process::ChildStdin) -> io::Result<ChildStdin> {
        let tx = pipe::Sender::from(std);
        tx.set_nonblocking(true)?;
        let io = PollEvented::with_interest(tx, mio::Interest::WRITABLE)?;
        Ok(ChildStdin { io: Some(io) })
    }

    fn io(&self) -> io::Result<&PollEvented<pipe::Sender>> {
        self.io.as_ref().ok_or_else(|| {
            io::Error::new(io::ErrorKind::BrokenPipe, "the child's stdin was closed")
        })
    }

    fn poll_write_buf(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        stream_ops::poll_write(self.io()?, cx, buf)
    }

    /// Writes some of `buf`, waiting while the pipe is full; returns how many bytes.
    ///
    /// # Errors
    ///
    /// Those of `write(2)` on the pipe: `BrokenPipe` once the child closed its stdin (or
    /// exited), or after this end was closed.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: if dropped before completing, no bytes were written.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use runtime::process::{Command, Stdio};
    /// let mut child = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::null()).spawn()?;
    /// let n = child.stdin.as_mut().unwrap().write(b"some bytes").await?;
    /// assert!(n > 0); // a pipe with room takes them all, but `write` may take fewer
    /// child.wait().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.poll_write_buf(cx, buf)).await
    }

    /// Writes all of `buf`, waiting whenever the pipe is full.
    ///
    /// # Errors
    ///
    /// As [`write`](Self::write); `WriteZero` if the pipe takes no bytes.
    ///
    /// # Cancel safety
    ///
    /// Not cancel-safe: an unknown prefix of `buf` may have been written before the drop.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use runtime::process::{Command, Stdio};
    /// let mut child = Command::new("wc")
    ///     .arg("-c")
    ///     .stdin(Stdio::piped())
    ///     .stdout(Stdio::piped())
    ///     .spawn()?;
    /// // Far more than a pipe holds: written as `wc` reads it.
    /// child.stdin.as_mut().unwrap().write_all(&vec![b'x'; 1 << 20]).await?;
    /// let output = child.wait_with_output().await?;
    /// assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "1048576");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn write_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.write(buf).await? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => buf = &buf[n..],
            }
        }
        Ok(())
    }
}

impl futures_io::AsyncWrite for ChildStdin {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_buf(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        stream_ops::poll_write_vectored(self.io()?, cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Unbuffered: every write went to the pipe.
        Poll::Ready(Ok(()))
    }

    fn poll_close(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Closing the fd is how the child learns there is no more input.
        drop(self.io.take());
        Poll::Ready(Ok(()))
    }
}

impl fmt::Debug for ChildStdin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fd = self.io.as_ref().map(|io| io.get_ref().as_raw_fd());
        f.debug_struct("ChildStdin").field("fd", &fd).finish()
    }
}
