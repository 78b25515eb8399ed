//! Async IO helpers. The traits are `futures_io`'s, re-exported so the futures-io
//! ecosystem (e.g. `futures::AsyncReadExt`) works with this runtime's streams unchanged.
//!
//! [`copy`] moves a reader's bytes into a writer; [`copy_bidirectional`] does both
//! directions at once, for proxies.
//!
//! ```
//! # #[runtime::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use futures::AsyncReadExt;
//! let (mut tx, mut rx) = runtime::net::UnixStream::pair()?;
//! let mut body: &[u8] = b"a body to stream";
//! runtime::io::copy(&mut body, &mut tx).await?;
//! drop(tx);
//! let mut got = String::new();
//! rx.read_to_string(&mut got).await?; // futures' extension trait, on our stream
//! assert_eq!(got, "a body to stream");
//! # Ok(())
//! # }
//! ```

mod copy;

pub use copy::{copy, copy_bidirectional};
pub use futures_io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite};
