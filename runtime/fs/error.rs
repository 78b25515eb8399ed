//! Errors that name the path: std's `fs` errors say what went wrong but not to which file.

use std::error::Error;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// The error behind an `io::Error` this module returns: the operation, its path (two for
/// `rename`, `copy`), and std's error as the `source`, whose kind the wrapper keeps.
struct PathError {
    op: &'static str,
    path: PathBuf,
    to: Option<PathBuf>,
    source: io::Error,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "failed to {} {}", self.op, self.path.display())?;
        if let Some(to) = &self.to {
            write!(f, " to {}", to.display())?;
        }
        write!(f, ": {}", self.source)
    }
}

impl fmt::Debug for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PathError")
            .field("op", &self.op)
            .field("path", &self.path)
            .field("to", &self.to)
            .field("source", &self.source)
            .finish()
    }
}

impl Error for PathError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}

/// `err` with "failed to `op` `path`: " in front; same `kind()`, std's error as `source()`
/// (where its `raw_os_error` still is).
pub(super) fn with_path(op: &'static str, path: &Path, err: io::Error) -> io::Error {
    wrap(op, path, None, err)
}

/// As [`with_path`] for an operation from one path to another.
pub(super) fn with_paths(op: &'static str, from: &Path, to: &Path, err: io::Error) -> io::Error {
    wrap(op, from, Some(to), err)
}

fn wrap(op: &'static str, path: &Path, to: Option<&Path>, source: io::Error) -> io::Error {
    let kind = source.kind();
    let error = PathError {
        op,
        path: path.to_owned(),
        to: to.map(Path::to_owned),
        source,
    };
    io::Error::new(kind, error)
}
