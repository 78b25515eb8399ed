//! The free functions: one blocking-pool job each, std's function inside, the path added
//! to its error.
//!
//! Every function here has the same two rules, stated once in each doc: it panics outside
//! a runtime, and dropping its future doesn't undo or stop the operation (the job has
//! been queued and runs to the end; only its result is discarded).

use super::error::{with_path, with_paths};
use super::pool;
use std::fs::{Metadata, Permissions};
use std::io;
use std::path::{Path, PathBuf};

/// Runs `f(path)` on the blocking pool; an error gets "failed to `op` `path`: " in front.
async fn on_path<T, F>(op: &'static str, path: &Path, f: F) -> io::Result<T>
where
    F: FnOnce(&Path) -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    let path = path.to_owned();
    pool::run(move || f(&path).map_err(|e| with_path(op, &path, e))).await
}

/// As [`on_path`] for operations from one path to another (`rename`, `copy`, links).
async fn on_paths<T, F>(op: &'static str, from: &Path, to: &Path, f: F) -> io::Result<T>
where
    F: FnOnce(&Path, &Path) -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    let (from, to) = (from.to_owned(), to.to_owned());
    pool::run(move || f(&from, &to).map_err(|e| with_paths(op, &from, &to, e))).await
}

/// Reads the whole file at `path` (std's [`std::fs::read`]).
///
/// # Errors
///
/// Those of [`std::fs::read`] (a missing file is [`io::ErrorKind::NotFound`]), with the
/// path in the message: "failed to read /x/y: No such file or directory (os error 2)".
///
/// # Cancel safety
///
/// Dropping the future doesn't stop the read on the blocking pool; its bytes are discarded.
///
/// # Panics
///
/// Outside a runtime.
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let path = std::env::temp_dir().join(format!("runtime-doc-read-{}", std::process::id()));
/// runtime::fs::write(&path, b"bytes").await?;
/// assert_eq!(runtime::fs::read(&path).await?, b"bytes");
/// runtime::fs::remove_file(&path).await?;
/// # Ok(())
/// # }
/// ```
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    on_path("read", path.as_ref(), |p| std::fs::read(p)).await
}

/// Reads the whole file at `path` as UTF-8 (std's [`std::fs::read_to_string`]).
///
/// # Errors
///
/// Those of [`std::fs::read_to_string`], with the path in the message; bytes that aren't
/// UTF-8 are [`io::ErrorKind::InvalidData`].
///
/// # Cancel safety
///
/// Dropping the future doesn't stop the read on the blocking pool; its text is discarded.
///
/// # Panics
///
/// Outside a runtime.
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let path = std::env::temp_dir().join(format!("runtime-doc-rts-{}", std::process::id()));
/// runtime::fs::write(&path, "text").await?;
/// assert_eq!(runtime::fs::read_to_string(&path).await?, "text");
/// runtime::fs::remove_file(&path).await?;
/// # Ok(())
/// # }
/// ```
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    on_path("read", path.as_ref(), |p| std::fs::read_to_string(p)).await
}

/// Creates or truncates the file at `path` and writes `contents` into it (std's
/// [`std::fs::write`]). `contents` is copied, since the job outlives the borrow.
///
/// # Errors
///
/// Those of [`std::fs::write`], with the path in the message.
///
/// # Cancel safety
///
/// Not cancel safe in the sense that matters: dropping the future doesn't stop the write,
/// so the file may still be created and written after the drop.
///
/// # Panics
///
/// Outside a runtime.
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let path = std::env::temp_dir().join(format!("runtime-doc-write-{}", std::process::id()));
/// runtime::fs::write(&path, b"first").await?;
/// runtime::fs::write(&path, b"second").await?; // replaces the contents
/// assert_eq!(runtime::fs::read(&path).await?, b"second");
/// runtime::fs::remove_file(&path).await?;
/// # Ok(())
/// # }
/// ```
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let contents = contents.as_ref().to_owned();
    on_path("write", path.as_ref(), move |p| std::fs::write(p, contents)).await
}

/// Creates the directory `path`; its parent must exist (std's [`std::fs::create_dir`]).
///
/// # Errors
///
/// Those of [`std::fs::create_dir`] ([`io::ErrorKind::AlreadyExists`] if it exists,
/// [`io::ErrorKind::NotFound`] for a missing parent), with the path in the message.
///
/// # Cancel safety
///
/// Dropping the future doesn't stop the call; the directory may still be created.
///
/// # Panics
///
/// Outside a runtime.
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let dir = std::env::temp_dir().join(format!("runtime-doc-mkdir-{}", std::process::id()));
/// runtime::fs::create_dir(&dir).await?;
/// assert!(runtime::fs::metadata(&dir).await?.is_dir());
/// runtime::fs::remove_dir(&dir).await?;
/// # Ok(())
/// # }
/// ```
pub async fn create_dir(path: impl AsRef<Path>) -> io::Result<()> {
    on_path("create directory", path.as_ref(), |p| {
        std::fs::create_dir(p)
    })
    .await
}

/// Creates the directory `path` and any missing parents; an existing directory is fine
/// (std's [`std::fs::create_dir_all`]).
///
/// # Errors
///
/// Those of [`std::fs::create_dir_all`] (e.g. a parent that is a file), with the path in
/// the message.
///
/// # Cancel safety
///
/// Dropping the future doesn't stop the call; some or all directories may still be made.
///
/// # Panics
///
/// Outside a runtime.
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let top = std::env::temp_dir().join(format!("runtime-doc-mkdirs-{}", std::process::id()));
/// runtime::fs::create_dir_all(top.join("a/b/c")).await?;
/// runtime::fs::create_dir_all(top.join("a/b/c")).await?; // already there: still Ok
/// assert!(runtime::fs::metadata(top.join("a/b/c")).await?.is_dir());
/// runtime::fs::remove_dir_all(&top).await?;
/// # Ok(())
/// # }
/// ```
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    on_path("create directory", path.as_ref(), |p| {
        std::fs::create_dir_all(p)
    })
    .await
}

/// Removes the file (or symlink) at `path` (std's [`std::fs::remove_file`]).
///
/// # Errors
///
/// Those of [`std::fs::remove_file`] ([`io::ErrorKind::NotFound`] if there is none), with
/// the path in the message.
///
/// # Cancel safety
///
/// Dropping the future doesn't stop the call; the file may still be removed.
///
/// # Panics
///
/// Outside a runtime.
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let path = std::env::temp_dir().join(format!("runtime-doc-rm-{}", std::process::id()));
/// runtime::fs::write(&path, b"x").await?;
/// runtime::fs::remove_file(&path).await?;
/// let gone = runtime::fs::remove_file(&path).await.unwrap_err();
/// assert_eq!(gone.kind(), std::io::ErrorKind::NotFound);
/// # Ok(())
/// # }
/// ```
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    on_path("remove", path.as_ref(), |p| std::fs::remove_file(p)).await
}

/// Removes the empty directory `path` (std's [`std::fs::remove_dir`]).
///
/// # Errors
///
/// Those of [`std::fs::remove_dir`] (e.g. a directory that isn't empty), with the path in
/// the message.
///
/// # Cancel safety
///
/// Dropping the future doesn't stop the call; the directory may still be removed.
///
/// # Panics
///
/// Outside a runtime.
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let dir = std::env::temp_dir().join(format!("runtime-doc-rmdir-{}", std::process::id()));
/// runtime::fs::create_dir(&dir).await?;
/// runtime::fs::remove_dir(&dir).await?;
/// assert!(!runtime::fs::try_exists(&dir).await?);
/// # Ok(())
/// # }
/// ```
pub async fn remove_dir(path: impl AsRef<Path>) -> io::Result<()> {
    on_path("remove directory", path.as_ref(), |p| {
        std::fs::remove_dir(p)
    })
    .await
}

/// Removes the directory `path` and everything in it (std's [`std::fs::remove_dir_all`],
/// which doesn't follow symlinks inside it).
///
/// # Errors
///
/// Those of [`std::fs::remove_dir_all`], with the path in the message.
///
/// # Cancel safety
///
/// Dropping the future doesn't stop the call; the tree may be partly or wholly removed.
///
/// # Panics
///
/// Outside a runtime.
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let top = std::env::temp_dir().join(format!("runtime-doc-rmtree-{}", std::process::id()));
/// runtime::fs::create_dir_all(top.join("sub")).await?;
/// runtime::fs::write(top.join("sub/file"), b"x").await?;
/// runtime::fs::remove_dir_all(&top).await?;
/// assert!(!runtime::fs::try_exists(&top).await?);
/// # Ok(())
/// # }
/// ```
pub async fn remove_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    on_path("remove directory", path.as_ref(), |p| {
        std::fs::remove_dir_all(p)
    })
    .await
}

/// Renames `from` to `to`, replacing `to` if it is a file (std's [`std::fs::rename`]).
///
/// # Errors
///
/// Those of [`std::fs::rename`] (e.g. across filesystems), with both paths in the
/// message: "failed to rename /a to /b: …".
///
/// # Cancel safety
///
/// Dropping the future doesn't stop the call; the rename may still happen.
///
/// # Panics
///
/// Outside a runtime.
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let dir = std::env::temp_dir();
/// let (old, new) = (
///     dir.join(format!("runtime-doc-mv-a-{}", std::process::id())),
///     dir.join(format!("runtime-doc-mv-b-{}", std::process::id())),
/// );
/// runtime::fs::write(&old, b"moving").await?;
/// runtime::fs::rename(&old, &new).await?;
/// assert_eq!(runtime::fs::read(&new).await?, b"moving");
/// assert!(!runtime::fs::try_exists(&old).await?);
/// runtime::fs::remove_file(&new).await?;
/// # Ok(())
/// # }
/// ```
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    on_paths("rename", from.as_ref(), to.as_ref(), |from, to| {
        std::fs::rename(from, to)
    })
    .await
}

/// Copies the contents and permissions of the file `from` to `to`, replacing `to`; returns
/// the number of bytes copied (std's [`std::fs::copy`], which uses `copy_file_range` where
/// it can, so the bytes needn't pass through this process).
///
/// # Errors
///
/// Those of [`std::fs::copy`], with both paths in the message.
///
/// # Cancel safety
///
/// Dropping the future doesn't stop the copy; `to` may be partly or wholly written.
///
/// # Panics
///
/// Outside a runtime.
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let dir = std::env::temp_dir();
/// let (src, dst) = (
///     dir.join(format!("runtime-doc-cp-a-{}", std::process::id())),
///     dir.join(format!("runtime-doc-cp-b-{}", std::process::id())),
/// );
/// runtime::fs::write(&src, b"twice").await?;
/// assert_eq!(runtime::fs::copy(&src, &dst).await?, 5);
/// assert_eq!(runtime::fs::read(&dst).await?, b"twice");
/// runtime::fs::remove_file(&src).await?;
/// runtime::fs::remove_file(&dst).await?;
/// # Ok(())
/// # }
/// ```
pub async fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<u64> {
    on_paths("copy", from.as_ref(), to.as_ref(), |from, to| {
        std::fs::copy(from, to)
    })
    .await
}

/// The metadata of `path`, following symlinks (std's [`std::fs::metadata`]).
///
/// # Errors
///
/// Those of [`std::fs::metadata`] ([`io::ErrorKind::NotFound`] if nothing is there), with
/// the path in the message.
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
/// let path = std::env::temp_dir().join(format!("runtime-doc-meta-{}", std::process::id()));
/// runtime::fs::write(&path, b"12345").await?;
/// let meta = runtime::fs::metadata(&path).await?;
/// assert!(meta.is_file());
/// assert_eq!(meta.len(), 5);
/// runtime::fs::remove_file(&path).await?;
/// # Ok(())
/// # }
/// ```
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    on_path("read metadata of", path.as_ref(), |p| std::fs::metadata(p)).await
}

/// The metadata of `path` itself, not following a symlink (std's
/// [`std::fs::symlink_metadata`]).
///
/// # Errors
///
/// Those of [`std::fs::symlink_metadata`], with the path in the message.
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
/// let dir = std::env::temp_dir();
/// let (target, link) = (
///     dir.join(format!("runtime-doc-lmeta-t-{}", std::process::id())),
///     dir.join(format!("runtime-doc-lmeta-l-{}", std::process::id())),
/// );
/// runtime::fs::write(&target, b"x").await?;
/// # #[cfg(unix)]
/// # {
/// std::os::unix::fs::symlink(&target, &link)?;
/// assert!(runtime::fs::symlink_metadata(&link).await?.file_type().is_symlink());
/// assert!(runtime::fs::metadata(&link).await?.is_file());
/// runtime::fs::remove_file(&link).await?;
/// # }
/// runtime::fs::remove_file(&target).await?;
/// # Ok(())
/// # }
/// ```
pub async fn symlink_metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    on_path("read metadata of", path.as_ref(), |p| {
        std::fs::symlink_metadata(p)
    })
    .await
}

/// The absolute path of `path` with every symlink, `.` and `..` resolved (std's
/// [`std::fs::canonicalize`]); the path must exist.
///
/// # Errors
///
/// Those of [`std::fs::canonicalize`], with the path in the message.
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
/// let dir = std::env::temp_dir().join(format!("runtime-doc-canon-{}", std::process::id()));
/// runtime::fs::create_dir_all(dir.join("sub")).await?;
/// let real = runtime::fs::canonicalize(dir.join("sub/..")).await?;
/// assert_eq!(real, runtime::fs::canonicalize(&dir).await?);
/// assert!(real.is_absolute());
/// runtime::fs::remove_dir_all(&dir).await?;
/// # Ok(())
/// # }
/// ```
pub async fn canonicalize(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    on_path("canonicalize", path.as_ref(), |p| std::fs::canonicalize(p)).await
}

/// Whether something exists at `path` (following symlinks); unlike `Path::exists`, an
/// error that hides the answer (e.g. permission denied on a parent) is an `Err`, not
/// `false` (std's [`std::fs::exists`]).
///
/// # Errors
///
/// Those of [`std::fs::exists`], with the path in the message.
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
/// let path = std::env::temp_dir().join(format!("runtime-doc-exists-{}", std::process::id()));
/// assert!(!runtime::fs::try_exists(&path).await?);
/// runtime::fs::write(&path, b"").await?;
/// assert!(runtime::fs::try_exists(&path).await?);
/// runtime::fs::remove_file(&path).await?;
/// # Ok(())
/// # }
/// ```
pub async fn try_exists(path: impl AsRef<Path>) -> io::Result<bool> {
    on_path("check existence of", path.as_ref(), |p| std::fs::exists(p)).await
}

/// Changes the permissions of `path` (std's [`std::fs::set_permissions`]).
///
/// # Errors
///
/// Those of [`std::fs::set_permissions`], with the path in the message.
///
/// # Cancel safety
///
/// Dropping the future doesn't stop the call; the permissions may still change.
///
/// # Panics
///
/// Outside a runtime.
///
/// ```
/// # #[runtime::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let path = std::env::temp_dir().join(format!("runtime-doc-perm-{}", std::process::id()));
/// runtime::fs::write(&path, b"x").await?;
/// let mut perms = runtime::fs::metadata(&path).await?.permissions();
/// perms.set_readonly(true);
/// runtime::fs::set_permissions(&path, perms).await?;
/// assert!(runtime::fs::metadata(&path).await?.permissions().readonly());
/// runtime::fs::remove_file(&path).await?;
/// # Ok(())
/// # }
/// ```
pub async fn set_permissions(path: impl AsRef<Path>, perm: Permissions) -> io::Result<()> {
    on_path("set permissions of", path.as_ref(), move |p| {
        std::fs::set_permissions(p, perm)
    })
    .await
}
