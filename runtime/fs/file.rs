//! `File`: an open file whose reads and writes run on the blocking pool, buffered so that
//! small ones don't each cost a round trip.
//!
//! A `File` is idle (its buffer in hand) or busy (one blocking job in flight, holding the
//! buffer, whose `JoinHandle` it polls). Every poll method first waits out a job in flight,
//! then acts on the buffer; the buffer's two modes (read-ahead, pending writes) are
//! described in `buf.rs`. Only one job runs per `File`, so jobs can't reorder.

use super::buf::{Buf, Op};
use super::error::with_path;
use super::{pool, OpenOptions};
use crate::task_core::JoinHandle;
use crate::Handle;
use futures_io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite};
use std::fmt;
use std::fs::{Metadata, Permissions};
use std::future::{poll_fn, Future};
use std::io::{self, SeekFrom};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

/// An open file: futures-io [`AsyncRead`], [`AsyncBufRead`], [`AsyncWrite`] and
/// [`AsyncSeek`] over a [`std::fs::File`], its system calls run on the blocking pool.
///
/// # Buffering
///
/// A read that finds the buffer empty makes one blocking `read` of 64 KiB (or of the
/// caller's request, if larger, up to 4 MiB) and later reads copy out of it; a write copies
/// into the buffer and returns, and a full buffer (64 KiB) is written out by one blocking
/// job while the next write waits for it. So a loop of 100-byte writes or 8 KiB reads costs
/// one pool round trip per 64 KiB, not one per call. The position the user sees is always
/// the one the reads and writes so far imply: a seek, `set_len` or a write after reads
/// first gives back the read-ahead (one seek, merged into the user's own seek), and a
/// read, seek, `set_len` or sync after writes first writes them out.
///
/// **Flush to see your writes.** Until [`poll_flush`](AsyncWrite::poll_flush) (e.g.
/// `futures::AsyncWriteExt::flush`) or [`sync_all`](File::sync_all) returns, written bytes
/// may still be in the buffer: another handle on the file, [`metadata`](File::metadata)
/// and [`fs::read`](super::read) don't see them yet.
///
/// # Errors
///
/// A write's error is reported when the buffer is written out, which is after the
/// `poll_write` that accepted the bytes returned: by the next operation on this `File`
/// (read, write, flush, seek, `set_len`, sync, `into_std`), never dropped. Errors from a
/// `File` opened by path name it ("failed to write /x/y: No space left on device"), with
/// std's error kind.
///
/// # Cancel safety
///
/// An operation's blocking job, once started, runs to the end even if its future is
/// dropped, and the `File` waits for it before the next operation; its outcome isn't lost:
/// data a dropped read fetched stays in the buffer for the next read, and an error is
/// returned by the next operation. A write future dropped while it waits has not written
/// its bytes (a `poll_write` that returned `Ready(Ok(n))` has taken exactly `n`).
/// futures-io's seek has no separate start and finish, so a `poll_seek` that finds a seek
/// to the same `SeekFrom` in flight takes that seek's result as its own.
///
/// # Dropping
///
/// Dropping a `File` never blocks. A job in flight (e.g. writing out a full buffer) runs
/// to the end on the blocking pool; bytes still in the buffer are written by a new job;
/// the OS file is closed when the last job ends. Nobody is left to hear about an error
/// that happens then, and if the runtime is shutting down the job may not run at all: call
/// `flush` (or [`sync_all`](File::sync_all) for durability) before dropping a file whose
/// writes matter.
///
/// # Runtime
///
/// Opening a file needs a runtime (the functions panic outside one). The `File` keeps that
/// runtime's handle, so it can then be polled from any thread or executor; once that
/// runtime has shut down, its operations fail with an error of kind `Other`.
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use futures::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
/// use std::io::SeekFrom;
/// use runtime::fs::File;
/// let path = std::env::temp_dir().join(format!("runtime-doc-file-{}", std::process::id()));
/// let mut file = File::create(&path).await?;
/// for i in 0..1000 {
///     file.write_all(format!("{i:04}").as_bytes()).await?; // buffered: no round trip each
/// }
/// file.flush().await?;
///
/// let mut file = File::open(&path).await?;
/// let mut four = [0; 4];
/// file.read_exact(&mut four).await?;
/// assert_eq!(&four, b"0000");
/// file.seek(SeekFrom::Start(4 * 999)).await?;
/// file.read_exact(&mut four).await?;
/// assert_eq!(&four, b"0999");
/// runtime::fs::remove_file(&path).await?;
/// # Ok(())
/// # }
/// ```
pub struct File {
    std: Arc<std::fs::File>,
    /// The path it was opened by, for error messages (`None` after `from_std`).
    path: Option<Arc<Path>>,
    /// The runtime whose blocking pool runs this file's jobs.
    handle: Handle,
    state: State,
}

enum State {
    Idle(Buf),
    /// `op` is what the job does; `asked` is the operation a caller started it for by
    /// name (seeks, `set_len`, syncs), so that the caller's next poll knows its result.
    Busy {
        job: JoinHandle<(Op, io::Result<u64>, Buf)>,
        op: Op,
        asked: Option<Op>,
    },
}

/// A job that has finished, the buffer back in the file.
struct Finished {
    op: Op,
    asked: Option<Op>,
    /// The error names the path.
    result: io::Result<u64>,
}

impl File {
    /// Opens `path` for reading.
    ///
    /// # Errors
    ///
    /// As [`OpenOptions::open`]: a missing file is [`io::ErrorKind::NotFound`], and the
    /// message names the path.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future doesn't stop the open; the file it opens is closed again.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use futures::AsyncReadExt;
    /// let path = std::env::temp_dir().join(format!("runtime-doc-fopen-{}", std::process::id()));
    /// runtime::fs::write(&path, "contents").await?;
    /// let mut text = String::new();
    /// runtime::fs::File::open(&path).await?.read_to_string(&mut text).await?;
    /// assert_eq!(text, "contents");
    /// runtime::fs::remove_file(&path).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().read(true).open(path).await
    }

    /// Opens `path` for writing, creating it or cutting it to length 0.
    ///
    /// # Errors
    ///
    /// As [`OpenOptions::open`], with the path in the message.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future doesn't stop the call: the file may still be created or
    /// truncated.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use futures::AsyncWriteExt;
    /// let path = std::env::temp_dir().join(format!("runtime-doc-fcreate-{}", std::process::id()));
    /// let mut file = runtime::fs::File::create(&path).await?;
    /// file.write_all(b"new").await?;
    /// file.flush().await?;
    /// assert_eq!(runtime::fs::read(&path).await?, b"new");
    /// runtime::fs::remove_file(&path).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        File::options()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .await
    }

    /// Creates `path` and opens it for writing, failing with
    /// [`io::ErrorKind::AlreadyExists`] if something is there (atomically).
    ///
    /// # Errors
    ///
    /// As [`OpenOptions::open`], with the path in the message.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future doesn't stop the call: the file may still be created.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let path = std::env::temp_dir().join(format!("runtime-doc-fnew-{}", std::process::id()));
    /// runtime::fs::File::create_new(&path).await?;
    /// let err = runtime::fs::File::create_new(&path).await.unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
    /// runtime::fs::remove_file(&path).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn create_new(path: impl AsRef<Path>) -> io::Result<File> {
        File::options()
            .write(true)
            .create_new(true)
            .open(path)
            .await
    }

    /// A new [`OpenOptions`], every flag off.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let path = std::env::temp_dir().join(format!("runtime-doc-fopts-{}", std::process::id()));
    /// let file = runtime::fs::File::options().write(true).create(true).open(&path).await?;
    /// # drop(file);
    /// runtime::fs::remove_file(&path).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Wraps an open std file, at its current position. Its errors won't name a path
    /// (std's file doesn't know its own).
    ///
    /// # Panics
    ///
    /// Outside a runtime: the `File` keeps the current runtime's handle for its jobs.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use futures::AsyncReadExt;
    /// let path = std::env::temp_dir().join(format!("runtime-doc-fstd-{}", std::process::id()));
    /// std::fs::write(&path, "from std")?;
    /// let mut file = runtime::fs::File::from_std(std::fs::File::open(&path)?);
    /// let mut text = String::new();
    /// file.read_to_string(&mut text).await?;
    /// assert_eq!(text, "from std");
    /// runtime::fs::remove_file(&path).await?;
    /// # Ok(())
    /// # }
    /// ```
    #[track_caller]
    pub fn from_std(file: std::fs::File) -> File {
        File::from_parts(file, None, pool::current())
    }

    pub(super) fn from_parts(file: std::fs::File, path: Option<Arc<Path>>, handle: Handle) -> File {
        File {
            std: Arc::new(file),
            path,
            handle,
            state: State::Idle(Buf::default()),
        }
    }

    /// The std file underneath, once buffered writes are written out and read-ahead is
    /// given back, so its position is the one this `File` showed.
    ///
    /// # Errors
    ///
    /// A write or seek that fails on the way (then the file is closed), or one still
    /// to report from an earlier operation.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops the `File` (see [Dropping](File#dropping)).
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use futures::AsyncWriteExt;
    /// use std::io::Seek;
    /// let path = std::env::temp_dir().join(format!("runtime-doc-intostd-{}", std::process::id()));
    /// let mut file = runtime::fs::File::create(&path).await?;
    /// file.write_all(b"12345").await?;
    /// let mut std_file = file.into_std().await?; // writes the 5 buffered bytes first
    /// assert_eq!(std_file.stream_position()?, 5);
    /// runtime::fs::remove_file(&path).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn into_std(mut self) -> io::Result<std::fs::File> {
        poll_fn(|cx| self.poll_settled(cx, None)).await?;
        let file = Arc::clone(&self.std);
        drop(self);
        // A `metadata` or `try_clone` job whose future was dropped may still hold the
        // file; a duplicate descriptor shares its position, so it serves the same.
        Arc::try_unwrap(file).or_else(|shared| shared.try_clone())
    }

    /// The path this file was opened by (`None` for [`File::from_std`]).
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let path = std::env::temp_dir().join(format!("runtime-doc-fpath-{}", std::process::id()));
    /// let file = runtime::fs::File::create(&path).await?;
    /// assert_eq!(file.path(), Some(path.as_path()));
    /// # drop(file);
    /// runtime::fs::remove_file(&path).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The file's metadata, from the OS: bytes still in this `File`'s write buffer are
    /// not counted in its length (flush first).
    ///
    /// # Errors
    ///
    /// Those of [`std::fs::File::metadata`], with the path in the message.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the call has no effect to lose.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use futures::AsyncWriteExt;
    /// let path = std::env::temp_dir().join(format!("runtime-doc-fmeta-{}", std::process::id()));
    /// let mut file = runtime::fs::File::create(&path).await?;
    /// file.write_all(b"abc").await?;
    /// file.flush().await?;
    /// assert_eq!(file.metadata().await?.len(), 3);
    /// runtime::fs::remove_file(&path).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn metadata(&self) -> io::Result<Metadata> {
        self.call("read metadata of", |file| file.metadata()).await
    }

    /// Changes the file's permissions.
    ///
    /// # Errors
    ///
    /// Those of [`std::fs::File::set_permissions`], with the path in the message.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future doesn't stop the call; the permissions may still change.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let path = std::env::temp_dir().join(format!("runtime-doc-fperm-{}", std::process::id()));
    /// let file = runtime::fs::File::create(&path).await?;
    /// let mut perms = file.metadata().await?.permissions();
    /// perms.set_readonly(true);
    /// file.set_permissions(perms).await?;
    /// assert!(file.metadata().await?.permissions().readonly());
    /// runtime::fs::remove_file(&path).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn set_permissions(&self, perm: Permissions) -> io::Result<()> {
        self.call("set permissions of", move |file| file.set_permissions(perm))
            .await
    }

    /// A second `File` on the same open file (a duplicated descriptor): the two share the
    /// OS position, but each has its own buffer, so read-ahead one of them holds is not
    /// seen by the other. Buffered writes of `self` are not part of the copy.
    ///
    /// # Errors
    ///
    /// Those of [`std::fs::File::try_clone`] (e.g. out of descriptors).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a duplicate made after the drop is closed again.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use futures::AsyncWriteExt;
    /// let path = std::env::temp_dir().join(format!("runtime-doc-fclone-{}", std::process::id()));
    /// let mut first = runtime::fs::File::create(&path).await?;
    /// let mut second = first.try_clone().await?;
    /// first.write_all(b"one ").await?;
    /// first.flush().await?;
    /// second.write_all(b"two").await?; // shared position: goes after "one "
    /// second.flush().await?;
    /// assert_eq!(runtime::fs::read_to_string(&path).await?, "one two");
    /// runtime::fs::remove_file(&path).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn try_clone(&self) -> io::Result<File> {
        let copy = self.call("duplicate", |file| file.try_clone()).await?;
        Ok(File::from_parts(
            copy,
            self.path.clone(),
            self.handle.clone(),
        ))
    }

    /// Sets the file's length: cut, or extended with zeros. Buffered writes are written
    /// first; the position doesn't move.
    ///
    /// # Errors
    ///
    /// Those of [`std::fs::File::set_len`] (e.g. a file not open for writing), with the
    /// path in the message; or an error still to report from an earlier write.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future doesn't stop the call once it started; the file waits for it
    /// before its next operation.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let path = std::env::temp_dir().join(format!("runtime-doc-setlen-{}", std::process::id()));
    /// let mut file = runtime::fs::File::create(&path).await?;
    /// file.set_len(10).await?;
    /// assert_eq!(runtime::fs::read(&path).await?, [0; 10]);
    /// runtime::fs::remove_file(&path).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn set_len(&mut self, size: u64) -> io::Result<()> {
        poll_fn(|cx| self.poll_settled(cx, Some(Op::SetLen(size)))).await?;
        Ok(())
    }

    /// Writes out buffered bytes, then waits until the OS has the file's data and metadata
    /// on the storage device (`fsync`).
    ///
    /// # Errors
    ///
    /// Those of the write or of [`std::fs::File::sync_all`], with the path in the message.
    ///
    /// # Cancel safety
    ///
    /// As [`File::set_len`].
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use futures::AsyncWriteExt;
    /// let path = std::env::temp_dir().join(format!("runtime-doc-sync-{}", std::process::id()));
    /// let mut file = runtime::fs::File::create(&path).await?;
    /// file.write_all(b"durable").await?;
    /// file.sync_all().await?;
    /// assert_eq!(runtime::fs::read(&path).await?, b"durable");
    /// runtime::fs::remove_file(&path).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn sync_all(&mut self) -> io::Result<()> {
        poll_fn(|cx| self.poll_settled(cx, Some(Op::SyncAll))).await?;
        Ok(())
    }

    /// As [`File::sync_all`], but metadata not needed to read the data back (e.g. the
    /// modification time) may not be synced (`fdatasync`).
    ///
    /// # Errors
    ///
    /// Those of the write or of [`std::fs::File::sync_data`], with the path in the message.
    ///
    /// # Cancel safety
    ///
    /// As [`File::set_len`].
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use futures::AsyncWriteExt;
    /// let path = std::env::temp_dir().join(format!("runtime-doc-syncd-{}", std::process::id()));
    /// let mut file = runtime::fs::File::create(&path).await?;
    /// file.write_all(b"data").await?;
    /// file.sync_data().await?;
    /// assert_eq!(runtime::fs::read(&path).await?, b"data");
    /// runtime::fs::remove_file(&path).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn sync_data(&mut self) -> io::Result<()> {
        poll_fn(|cx| self.poll_settled(cx, Some(Op::SyncData))).await?;
        Ok(())
    }

    // ===== the state machine =====

    /// Runs `f` on the std file on the blocking pool, beside whatever job is in flight
    /// (for calls that don't depend on the position or the buffer).
    async fn call<T, F>(&self, verb: &'static str, f: F) -> io::Result<T>
    where
        F: FnOnce(&std::fs::File) -> io::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let file = Arc::clone(&self.std);
        let job = pool::spawn(&self.handle, move || f(&file));
        pool::joined(job.await)?.map_err(|e| self.name(verb, e))
    }

    /// `err` naming this file's path, if it has one.
    fn name(&self, verb: &'static str, err: io::Error) -> io::Error {
        match &self.path {
            Some(path) => with_path(verb, path, err),
            None => err,
        }
    }

    /// Starts `op` on the blocking pool with the buffer; the file must be idle.
    fn start(&mut self, op: Op, asked: Option<Op>) {
        let State::Idle(buf) = &mut self.state else {
            unreachable!("a File started a job while one was in flight")
        };
        let mut buf = std::mem::take(buf);
        let file = Arc::clone(&self.std);
        let job = pool::spawn(&self.handle, move || {
            let result = op.run(&file, &mut buf);
            (op, result, buf)
        });
        self.state = State::Busy { job, op, asked };
    }

    /// Waits for the job in flight, if any, and puts its buffer back. `Ready(None)`: the
    /// file was idle already.
    fn poll_done(&mut self, cx: &mut Context<'_>) -> Poll<Option<Finished>> {
        let State::Busy { job, op, asked } = &mut self.state else {
            return Poll::Ready(None);
        };
        let (op, asked) = (*op, *asked);
        let (result, buf) = match pool::joined(ready!(Pin::new(job).poll(cx))) {
            Ok((_, result, buf)) => (result, buf),
            // The runtime shut down before the job ran; the buffer went with it.
            Err(e) => (Err(e), Buf::default()),
        };
        self.state = State::Idle(buf);
        let result = result.map_err(|e| self.name(op.verb(), e));
        Poll::Ready(Some(Finished { op, asked, result }))
    }

    /// The buffer, once `poll_done` has returned `Ready`.
    fn idle_buf(&mut self) -> &mut Buf {
        match &mut self.state {
            State::Idle(buf) => buf,
            State::Busy { .. } => unreachable!("poll_done returned with a job in flight"),
        }
    }

    /// Runs `op` (a seek, `set_len` or sync; `None`: nothing) once the file is settled:
    /// pending writes written out, read-ahead given back so the OS position is the user's.
    /// After `Pending`, call again with the same `op`: it waits for the job it started
    /// instead of starting another.
    fn poll_settled(&mut self, cx: &mut Context<'_>, op: Option<Op>) -> Poll<io::Result<u64>> {
        loop {
            if let Some(done) = ready!(self.poll_done(cx)) {
                if done.asked.is_some() && done.asked == op {
                    return Poll::Ready(done.result);
                }
                done.result?;
            }
            let buf = self.idle_buf();
            if buf.dirty {
                self.start(Op::Write, None);
                continue;
            }
            let unread = buf.unread() as i64;
            match op {
                // The user is `unread` bytes behind the OS: one seek moves both.
                Some(Op::Seek(SeekFrom::Current(off))) => {
                    let Some(off) = off.checked_sub(unread) else {
                        return Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::InvalidInput,
                            "seek offset overflows",
                        )));
                    };
                    buf.discard();
                    self.start(Op::Seek(SeekFrom::Current(off)), op);
                }
                Some(seek @ Op::Seek(_)) => {
                    buf.discard();
                    self.start(seek, op);
                }
                _ if unread > 0 => {
                    buf.discard();
                    self.start(Op::Seek(SeekFrom::Current(-unread)), None);
                }
                Some(op) => self.start(op, Some(op)),
                None => return Poll::Ready(Ok(0)),
            }
        }
    }
}

// ===== futures-io =====

impl AsyncRead for File {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        dst: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        loop {
            if let Some(done) = ready!(this.poll_done(cx)) {
                // A read that got nothing is the end of the file.
                if done.result? == 0 && matches!(done.op, Op::Read(_)) {
                    return Poll::Ready(Ok(0));
                }
            }
            let buf = this.idle_buf();
            if buf.dirty {
                this.start(Op::Write, None);
            } else if buf.unread() > 0 || dst.is_empty() {
                return Poll::Ready(Ok(buf.copy_out(dst)));
            } else {
                this.start(Op::Read(dst.len()), None);
            }
        }
    }
}

impl AsyncBufRead for File {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        loop {
            if let Some(done) = ready!(this.poll_done(cx)) {
                if done.result? == 0 && matches!(done.op, Op::Read(_)) {
                    break;
                }
            }
            let buf = this.idle_buf();
            if buf.dirty {
                this.start(Op::Write, None);
            } else if buf.unread() > 0 {
                break;
            } else {
                this.start(Op::Read(0), None);
            }
        }
        let buf = this.idle_buf();
        Poll::Ready(Ok(&buf.data[buf.start..buf.start + buf.unread()]))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        if let State::Idle(buf) = &mut self.get_mut().state {
            buf.start += amt.min(buf.unread());
        }
    }
}

impl AsyncWrite for File {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        src: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        loop {
            if let Some(done) = ready!(this.poll_done(cx)) {
                done.result?;
            }
            let buf = this.idle_buf();
            let unread = buf.unread();
            if unread > 0 {
                // Write where the user is, not where the read-ahead left the OS.
                buf.discard();
                this.start(Op::Seek(SeekFrom::Current(-(unread as i64))), None);
                continue;
            }
            if src.is_empty() {
                return Poll::Ready(Ok(0));
            }
            let (taken, full) = buf.copy_in(src);
            if full {
                this.start(Op::Write, None);
            }
            return Poll::Ready(Ok(taken));
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if let Some(done) = ready!(this.poll_done(cx)) {
                done.result?;
            }
            if !this.idle_buf().dirty {
                return Poll::Ready(Ok(()));
            }
            this.start(Op::Write, None);
        }
    }

    /// Flushes; the OS file is closed when the `File` drops.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

impl AsyncSeek for File {
    fn poll_seek(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        self.get_mut().poll_settled(cx, Some(Op::Seek(pos)))
    }
}

impl Drop for File {
    fn drop(&mut self) {
        // Bytes `poll_write` accepted are written by a job of their own; a job already in
        // flight is detached by dropping its handle and runs to the end.
        if matches!(&self.state, State::Idle(buf) if buf.dirty) {
            self.start(Op::Write, None);
        }
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("File");
        out.field("path", &self.path);
        match &self.state {
            State::Idle(buf) if buf.dirty => out.field("unwritten", &buf.end),
            State::Idle(buf) => out.field("read_ahead", &buf.unread()),
            State::Busy { op, .. } => out.field("in_flight", op),
        };
        out.finish_non_exhaustive()
    }
}
