// `worker_threads = 2` sizes the pool, and `main` keeps its `io::Result<()>` return type,
// so `?` in the body converts into it.

use std::io;

#[runtime::main(worker_threads = 2)]
async fn main() -> io::Result<()> {
    assert_eq!(runtime::Handle::current().metrics().workers, 2);

    let len = runtime::spawn_blocking(|| "Cargo.toml".len())
        .await
        .map_err(io::Error::other)?;
    assert_eq!(len, 10);
    Ok(())
}
