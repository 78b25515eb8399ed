//! `read_dir`: a directory's entries as a `Stream`, fetched in batches on the blocking pool.

use super::error::with_path;
use super::pool;
use crate::task_core::JoinHandle;
use crate::Handle;
use futures_core::Stream;
use std::collections::VecDeque;
use std::ffi::OsString;
use std::fmt;
use std::fs::{FileType, Metadata};
use std::future::{poll_fn, Future};
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

/// Entries fetched per blocking job: one pool round trip per this many entries, instead of
/// one each.
const BATCH: usize = 32;

/// Opens the directory `path` for listing (std's [`std::fs::read_dir`]).
///
/// The entries come from [`ReadDir::next_entry`] or the [`Stream`] impl, in the order the
/// OS gives them (no sorting), without `.` and `..`.
///
/// # Errors
///
/// Those of [`std::fs::read_dir`] ([`io::ErrorKind::NotFound`] if there is no such
/// directory, `NotADirectory` for a file), with the path in the message.
///
/// # Cancel safety
///
/// Cancel safe: a directory opened after the drop is closed again.
///
/// # Panics
///
/// Outside a runtime.
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let dir = std::env::temp_dir().join(format!("runtime-doc-readdir-{}", std::process::id()));
/// runtime::fs::create_dir_all(&dir).await?;
/// runtime::fs::write(dir.join("a.txt"), b"a").await?;
/// runtime::fs::write(dir.join("b.txt"), b"b").await?;
///
/// let mut entries = runtime::fs::read_dir(&dir).await?;
/// let mut names = Vec::new();
/// while let Some(entry) = entries.next_entry().await? {
///     names.push(entry.file_name().into_string().unwrap());
/// }
/// names.sort();
/// assert_eq!(names, ["a.txt", "b.txt"]);
/// runtime::fs::remove_dir_all(&dir).await?;
/// # Ok(())
/// # }
/// ```
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<ReadDir> {
    let path: Arc<Path> = path.as_ref().into();
    let handle = pool::current();
    let opened = Arc::clone(&path);
    let job = pool::spawn(&handle, move || {
        std::fs::read_dir(&opened).map_err(|e| with_path("read directory", &opened, e))
    });
    let iter = pool::joined(job.await)??;
    Ok(ReadDir {
        path,
        handle,
        state: State::Idle(Batch {
            iter: Some(iter),
            entries: VecDeque::new(),
        }),
    })
}

/// The entries of a directory: a [`Stream`] of `io::Result<DirEntry>`, returned by
/// [`read_dir`]. Entries are read 32 at a time by one blocking job, so a listing costs one
/// pool round trip per 32 entries. An error while listing (rare: e.g. the
/// directory's filesystem failing) is one `Err` item, naming the directory; the stream may
/// go on after it.
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use futures::TryStreamExt;
/// let dir = std::env::temp_dir().join(format!("runtime-doc-readdirs-{}", std::process::id()));
/// runtime::fs::create_dir_all(dir.join("sub")).await?;
/// let entries: Vec<_> = runtime::fs::read_dir(&dir).await?.try_collect().await?;
/// assert_eq!(entries.len(), 1);
/// assert!(entries[0].file_type().await?.is_dir());
/// runtime::fs::remove_dir_all(&dir).await?;
/// # Ok(())
/// # }
/// ```
pub struct ReadDir {
    path: Arc<Path>,
    /// The runtime the listing was opened on; its pool fetches the batches.
    handle: Handle,
    state: State,
}

enum State {
    Idle(Batch),
    Busy(JoinHandle<Batch>),
}

/// The std iterator (`None` once it ended) and the entries it gave that nobody took yet.
struct Batch {
    iter: Option<std::fs::ReadDir>,
    entries: VecDeque<io::Result<DirEntry>>,
}

impl Batch {
    /// Takes up to [`BATCH`] entries from the iterator, on the blocking pool.
    fn fill(&mut self, dir: &Path) {
        let Some(iter) = &mut self.iter else { return };
        for _ in 0..BATCH {
            match iter.next() {
                Some(Ok(entry)) => self.entries.push_back(Ok(DirEntry::new(entry))),
                Some(Err(e)) => self
                    .entries
                    .push_back(Err(with_path("read directory", dir, e))),
                None => {
                    self.iter = None;
                    return;
                }
            }
        }
    }
}

impl ReadDir {
    /// The next entry; `Ok(None)` once the listing is done.
    ///
    /// # Errors
    ///
    /// An error reading the directory, naming it. The listing may go on after it.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: entries a dropped call fetched are kept for the next call.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let dir = std::env::temp_dir().join(format!("runtime-doc-nextentry-{}", std::process::id()));
    /// runtime::fs::create_dir_all(&dir).await?;
    /// let mut entries = runtime::fs::read_dir(&dir).await?;
    /// assert!(entries.next_entry().await?.is_none()); // empty
    /// runtime::fs::remove_dir(&dir).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn next_entry(&mut self) -> io::Result<Option<DirEntry>> {
        poll_fn(|cx| self.poll_entry(cx)).await.transpose()
    }

    fn poll_entry(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<DirEntry>>> {
        loop {
            let batch = match &mut self.state {
                State::Busy(job) => {
                    let batch = match pool::joined(ready!(Pin::new(job).poll(cx))) {
                        Ok(batch) => batch,
                        // The runtime shut down before the job ran; the iterator went with it.
                        Err(e) => {
                            self.state = State::Idle(Batch {
                                iter: None,
                                entries: VecDeque::new(),
                            });
                            return Poll::Ready(Some(Err(with_path(
                                "read directory",
                                &self.path,
                                e,
                            ))));
                        }
                    };
                    self.state = State::Idle(batch);
                    continue;
                }
                State::Idle(batch) => batch,
            };
            if let Some(entry) = batch.entries.pop_front() {
                return Poll::Ready(Some(entry));
            }
            if batch.iter.is_none() {
                return Poll::Ready(None);
            }
            let mut batch = std::mem::replace(
                batch,
                Batch {
                    iter: None,
                    entries: VecDeque::new(),
                },
            );
            let dir = Arc::clone(&self.path);
            self.state = State::Busy(pool::spawn(&self.handle, move || {
                batch.fill(&dir);
                batch
            }));
        }
    }
}

impl Stream for ReadDir {
    type Item = io::Result<DirEntry>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_entry(cx)
    }
}

impl fmt::Debug for ReadDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadDir")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// One entry of a [`ReadDir`] listing.
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let dir = std::env::temp_dir().join(format!("runtime-doc-direntry-{}", std::process::id()));
/// runtime::fs::create_dir_all(&dir).await?;
/// runtime::fs::write(dir.join("five"), b"12345").await?;
/// let entry = runtime::fs::read_dir(&dir).await?.next_entry().await?.unwrap();
/// assert_eq!(entry.file_name(), "five");
/// assert_eq!(entry.path(), dir.join("five"));
/// assert_eq!(entry.metadata().await?.len(), 5);
/// assert!(entry.file_type().await?.is_file());
/// runtime::fs::remove_dir_all(&dir).await?;
/// # Ok(())
/// # }
/// ```
pub struct DirEntry {
    std: Arc<std::fs::DirEntry>,
    /// Read while listing, where the OS hands it over with the name (Linux's `d_type`):
    /// then `file_type().await` needs no job.
    file_type: Option<FileType>,
}

impl DirEntry {
    fn new(std: std::fs::DirEntry) -> DirEntry {
        let file_type = std.file_type().ok();
        DirEntry {
            std: Arc::new(std),
            file_type,
        }
    }

    /// The entry's full path: the directory given to [`read_dir`] joined with its name.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let dir = std::env::temp_dir().join(format!("runtime-doc-depath-{}", std::process::id()));
    /// runtime::fs::create_dir_all(dir.join("x")).await?;
    /// let entry = runtime::fs::read_dir(&dir).await?.next_entry().await?.unwrap();
    /// assert_eq!(entry.path(), dir.join("x"));
    /// runtime::fs::remove_dir_all(&dir).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn path(&self) -> PathBuf {
        self.std.path()
    }

    /// The entry's name, without the directory.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let dir = std::env::temp_dir().join(format!("runtime-doc-dename-{}", std::process::id()));
    /// runtime::fs::create_dir_all(dir.join("x")).await?;
    /// let entry = runtime::fs::read_dir(&dir).await?.next_entry().await?.unwrap();
    /// assert_eq!(entry.file_name(), "x");
    /// runtime::fs::remove_dir_all(&dir).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn file_name(&self) -> OsString {
        self.std.file_name()
    }

    /// The entry's metadata, not following a symlink (as [`symlink_metadata`] on its
    /// path, std's [`std::fs::DirEntry::metadata`]).
    ///
    /// [`symlink_metadata`]: super::symlink_metadata
    ///
    /// # Errors
    ///
    /// Those of [`std::fs::DirEntry::metadata`] (e.g. [`io::ErrorKind::NotFound`] if the
    /// entry was removed since the listing), with the path in the message.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the call has no effect to lose.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let dir = std::env::temp_dir().join(format!("runtime-doc-demeta-{}", std::process::id()));
    /// runtime::fs::create_dir_all(&dir).await?;
    /// runtime::fs::write(dir.join("f"), b"abc").await?;
    /// let entry = runtime::fs::read_dir(&dir).await?.next_entry().await?.unwrap();
    /// assert_eq!(entry.metadata().await?.len(), 3);
    /// runtime::fs::remove_dir_all(&dir).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let entry = Arc::clone(&self.std);
        pool::run(move || {
            entry
                .metadata()
                .map_err(|e| with_path("read metadata of", &entry.path(), e))
        })
        .await
    }

    /// The entry's file type, not following a symlink. Where the listing told it (Linux and
    /// most filesystems), this returns at once; otherwise it asks the OS on the pool.
    ///
    /// # Errors
    ///
    /// Those of [`std::fs::DirEntry::file_type`], with the path in the message.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the call has no effect to lose.
    ///
    /// # Panics
    ///
    /// Outside a runtime, when the type wasn't known from the listing.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let dir = std::env::temp_dir().join(format!("runtime-doc-detype-{}", std::process::id()));
    /// runtime::fs::create_dir_all(dir.join("sub")).await?;
    /// let entry = runtime::fs::read_dir(&dir).await?.next_entry().await?.unwrap();
    /// assert!(entry.file_type().await?.is_dir());
    /// runtime::fs::remove_dir_all(&dir).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn file_type(&self) -> io::Result<FileType> {
        if let Some(file_type) = self.file_type {
            return Ok(file_type);
        }
        let entry = Arc::clone(&self.std);
        pool::run(move || {
            entry
                .file_type()
                .map_err(|e| with_path("read the file type of", &entry.path(), e))
        })
        .await
    }
}

impl fmt::Debug for DirEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DirEntry")
            .field("path", &self.std.path())
            .field("file_type", &self.file_type)
            .finish()
    }
}
