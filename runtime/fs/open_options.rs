//! `OpenOptions`: std's builder, with an async `open`.

use super::error::with_path;
use super::{pool, File};
use std::io;
use std::path::Path;

/// How to open a file: std's [`std::fs::OpenOptions`] builder with an async
/// [`open`](OpenOptions::open) that returns a [`File`]. [`File::options`] is a shortcut
/// for [`OpenOptions::new`].
///
/// Every flag starts off; set at least one of `read`, `write` or `append`.
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use futures::AsyncWriteExt;
/// use runtime::fs::OpenOptions;
/// let path = std::env::temp_dir().join(format!("runtime-doc-opts-{}", std::process::id()));
/// let mut log = OpenOptions::new().create(true).append(true).open(&path).await?;
/// log.write_all(b"one\n").await?;
/// log.flush().await?;
/// drop(log);
/// let mut log = OpenOptions::new().append(true).open(&path).await?;
/// log.write_all(b"two\n").await?;
/// log.flush().await?;
/// assert_eq!(runtime::fs::read_to_string(&path).await?, "one\ntwo\n");
/// runtime::fs::remove_file(&path).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct OpenOptions(std::fs::OpenOptions);

impl OpenOptions {
    /// Options with every flag off.
    ///
    /// ```
    /// let opts = runtime::fs::OpenOptions::new();
    /// # let _ = opts;
    /// ```
    pub fn new() -> OpenOptions {
        OpenOptions(std::fs::OpenOptions::new())
    }

    /// Open for reading.
    ///
    /// ```
    /// runtime::fs::OpenOptions::new().read(true);
    /// ```
    pub fn read(&mut self, read: bool) -> &mut OpenOptions {
        self.0.read(read);
        self
    }

    /// Open for writing (at the start, over what is there, unless `append` or `truncate`).
    ///
    /// ```
    /// runtime::fs::OpenOptions::new().write(true);
    /// ```
    pub fn write(&mut self, write: bool) -> &mut OpenOptions {
        self.0.write(write);
        self
    }

    /// Every write goes to the end of the file, whatever the position (implies `write`).
    ///
    /// ```
    /// runtime::fs::OpenOptions::new().append(true);
    /// ```
    pub fn append(&mut self, append: bool) -> &mut OpenOptions {
        self.0.append(append);
        self
    }

    /// Cut an existing file to length 0 (needs `write`).
    ///
    /// ```
    /// runtime::fs::OpenOptions::new().write(true).truncate(true);
    /// ```
    pub fn truncate(&mut self, truncate: bool) -> &mut OpenOptions {
        self.0.truncate(truncate);
        self
    }

    /// Create the file if it doesn't exist (needs `write` or `append`).
    ///
    /// ```
    /// runtime::fs::OpenOptions::new().write(true).create(true);
    /// ```
    pub fn create(&mut self, create: bool) -> &mut OpenOptions {
        self.0.create(create);
        self
    }

    /// Create the file, failing with [`io::ErrorKind::AlreadyExists`] if it exists; atomic,
    /// so two racing creators can't both succeed. Overrides `create` and `truncate`.
    ///
    /// ```
    /// runtime::fs::OpenOptions::new().write(true).create_new(true);
    /// ```
    pub fn create_new(&mut self, create_new: bool) -> &mut OpenOptions {
        self.0.create_new(create_new);
        self
    }

    /// The permission bits a newly created file gets (before the umask); default `0o666`.
    ///
    /// ```
    /// runtime::fs::OpenOptions::new().write(true).create(true).mode(0o600);
    /// ```
    #[cfg(unix)]
    pub fn mode(&mut self, mode: u32) -> &mut OpenOptions {
        std::os::unix::fs::OpenOptionsExt::mode(&mut self.0, mode);
        self
    }

    /// Extra `open(2)` flags, or-ed in (e.g. `libc::O_NOFOLLOW`).
    ///
    /// ```
    /// runtime::fs::OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW);
    /// ```
    #[cfg(unix)]
    pub fn custom_flags(&mut self, flags: i32) -> &mut OpenOptions {
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut self.0, flags);
        self
    }

    /// Opens `path` with these options, on the blocking pool.
    ///
    /// The [`File`] keeps the current runtime's handle: its reads and writes go to this
    /// runtime's blocking pool wherever it is polled from.
    ///
    /// # Errors
    ///
    /// Those of [`std::fs::OpenOptions::open`], with the path in the message ("failed to
    /// open /x/y: No such file or directory (os error 2)", kind
    /// [`io::ErrorKind::NotFound`]); no access mode set is
    /// [`io::ErrorKind::InvalidInput`].
    ///
    /// # Cancel safety
    ///
    /// Dropping the future doesn't stop the open; a file it opens is closed again (but one
    /// it created stays created).
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    ///
    /// ```
    /// # #[runtime::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use runtime::fs::OpenOptions;
    /// let path = std::env::temp_dir().join(format!("runtime-doc-open-{}", std::process::id()));
    /// let err = OpenOptions::new().read(true).open(&path).await.unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// assert!(err.to_string().contains(&*path.to_string_lossy()));
    ///
    /// OpenOptions::new().write(true).create_new(true).open(&path).await?;
    /// let again = OpenOptions::new().write(true).create_new(true).open(&path).await;
    /// assert_eq!(again.unwrap_err().kind(), std::io::ErrorKind::AlreadyExists);
    /// runtime::fs::remove_file(&path).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        let handle = pool::current();
        let (opts, path) = (self.0.clone(), path.as_ref().to_owned());
        let job = pool::spawn(&handle, move || {
            let file = opts.open(&path).map_err(|e| with_path("open", &path, e))?;
            io::Result::Ok((file, path))
        });
        let (file, path) = pool::joined(job.await)??;
        Ok(File::from_parts(file, Some(path.into()), handle))
    }
}

impl Default for OpenOptions {
    /// As [`OpenOptions::new`].
    fn default() -> OpenOptions {
        OpenOptions::new()
    }
}

impl From<std::fs::OpenOptions> for OpenOptions {
    /// Keeps every option set on std's builder, platform extensions included.
    fn from(opts: std::fs::OpenOptions) -> OpenOptions {
        OpenOptions(opts)
    }
}
