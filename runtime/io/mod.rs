//! Async IO helpers. The traits are `futures_io`'s, re-exported so the futures-io
//! ecosystem (e.g. `futures::AsyncReadExt`) works with this runtime's streams unchanged.

mod copy;

pub use copy::{copy, copy_bidirectional};
pub use futures_io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite};
