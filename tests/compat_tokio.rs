//! tokio's IO traits on this runtime through `runtime::compat::tokio`: tokio-util's
//! `Framed` with `LinesCodec` over our `TcpStream`; `tokio::io::copy`, the `AsyncReadExt` /
//! `AsyncWriteExt` / `AsyncBufReadExt` methods and `BufReader::read_line` over our TCP and
//! Unix streams, the TCP halves, `fs::File` and child pipes; `poll_shutdown` as a write-side
//! close the peer reads as EOF; cancel safety of reads and of a `Framed` line cut short;
//! an empty read buffer; and `Compat` both ways round.

#[macro_use]
mod support;

use std::pin::pin;
use std::task::Poll;

use futures::{SinkExt, StreamExt};
use runtime::compat::tokio::CompatExt;
use runtime::net::{TcpListener, TcpStream, UnixStream};
use runtime::process::{Command, Stdio};
use support::{guard, pattern, poll_once};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio_util::codec::{Framed, LinesCodec};

/// A connected pair of TCP streams on loopback: (client, server).
async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (client, server)
}

fn temp_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "runtime-compat-tokio-{}-{name}",
        std::process::id()
    ))
}

// ===== tokio-util codecs =====

rt_test!(framed_lines_echo_over_tcp, |rt| {
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // An echo server of lines, on tokio-util's codec over our stream as it is.
        let server = runtime::spawn(async move {
            let mut served = 0;
            for _ in 0..2 {
                let (stream, _) = listener.accept().await.unwrap();
                let mut lines = Framed::new(stream, LinesCodec::new());
                while let Some(line) = lines.next().await {
                    lines
                        .send(format!("echo: {}", line.unwrap()))
                        .await
                        .unwrap();
                    served += 1;
                }
            }
            served
        });

        for client in 0..2 {
            let stream = TcpStream::connect(addr).await.unwrap();
            let mut lines = Framed::new(stream, LinesCodec::new());
            // Several lines sent before any is read, some long enough to take several reads.
            let sent: Vec<String> = (0..50)
                .map(|i| format!("client {client} line {i} {}", "x".repeat(i * 997 % 20_000)))
                .collect();
            for line in &sent {
                lines.feed(line.clone()).await.unwrap();
            }
            SinkExt::<String>::flush(&mut lines).await.unwrap();
            for line in &sent {
                let back = guard("an echoed line", lines.next())
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(back, format!("echo: {line}"));
            }
            // Closing our side ends the server's stream of lines: it sees EOF.
            SinkExt::<String>::close(&mut lines).await.unwrap();
            assert!(guard("the server's close", lines.next()).await.is_none());
        }
        assert_eq!(guard("the server", server).await.unwrap(), 100);
    });
});

#[runtime::test]
async fn a_framed_read_cut_short_keeps_the_partial_line() {
    let (mut client, server) = tcp_pair().await;
    let mut lines = Framed::new(server, LinesCodec::new());
    client.write_all(b"half a ").await.unwrap();
    for _ in 0..3 {
        // Each poll may read what has arrived; none can finish the line. Dropping the
        // `next()` future must leave the bytes it read in the codec's buffer.
        let mut next = pin!(lines.next());
        assert!(poll_once(next.as_mut()).await.is_pending());
        runtime::yield_now().await;
    }
    client.write_all(b"line\nand more\n").await.unwrap();
    assert_eq!(
        guard("the line", lines.next()).await.unwrap().unwrap(),
        "half a line"
    );
    assert_eq!(
        guard("the next line", lines.next()).await.unwrap().unwrap(),
        "and more"
    );
}

// ===== TCP =====

rt_test!(tokio_io_copy_echoes_a_megabyte_over_tcp, |rt| {
    rt.block_on(async {
        let (client, server) = tcp_pair().await;
        // The server echoes with tokio::io::copy between its owned halves.
        let echo = runtime::spawn(async move {
            let (mut reader, mut writer) = server.into_split();
            let copied = tokio::io::copy(&mut reader, &mut writer).await.unwrap();
            AsyncWriteExt::shutdown(&mut writer).await.unwrap();
            copied
        });
        let data = pattern(7, 1 << 20);
        let (mut reader, mut writer) = client.into_split();
        let sent = data.clone();
        let send = runtime::spawn(async move {
            AsyncWriteExt::write_all(&mut writer, &sent).await.unwrap();
            AsyncWriteExt::shutdown(&mut writer).await.unwrap();
        });
        let mut back = Vec::new();
        guard(
            "the echo",
            AsyncReadExt::read_to_end(&mut reader, &mut back),
        )
        .await
        .unwrap();
        guard("the sender", send).await.unwrap();
        assert_eq!(back.len(), data.len());
        assert!(back == data, "the echo differs from what was sent");
        assert_eq!(guard("the echo task", echo).await.unwrap(), 1 << 20);
    });
});

#[runtime::test]
async fn read_line_and_ext_methods_over_tcp_and_borrowed_halves() {
    let (mut client, mut server) = tcp_pair().await;
    let peer = runtime::spawn(async move {
        let (read, mut write) = server.split();
        let mut read = BufReader::new(read);
        let mut line = String::new();
        read.read_line(&mut line).await.unwrap();
        assert_eq!(line, "ping\n");
        let number = read.read_u32().await.unwrap();
        write.write_u64(u64::from(number) * 2).await.unwrap();
        write.write_all(b"bye\n").await.unwrap();
    });
    AsyncWriteExt::write_all(&mut client, b"ping\n")
        .await
        .unwrap();
    client.write_u32(21).await.unwrap();
    assert_eq!(guard("the reply", client.read_u64()).await.unwrap(), 42);
    let mut reader = BufReader::new(client);
    let mut line = String::new();
    guard("the last line", reader.read_line(&mut line))
        .await
        .unwrap();
    assert_eq!(line, "bye\n");
    guard("the peer", peer).await.unwrap();
}

#[runtime::test]
async fn shutdown_is_a_write_side_close_the_peer_reads_as_eof() {
    let (mut client, mut server) = tcp_pair().await;
    AsyncWriteExt::write_all(&mut client, b"last words")
        .await
        .unwrap();
    AsyncWriteExt::shutdown(&mut client).await.unwrap();

    // The peer gets everything sent before the shutdown, then EOF.
    let mut got = Vec::new();
    guard("EOF", AsyncReadExt::read_to_end(&mut server, &mut got))
        .await
        .unwrap();
    assert_eq!(got, b"last words");
    // Only the write side is closed: the peer can still answer and we still read it.
    AsyncWriteExt::write_all(&mut server, b"heard you")
        .await
        .unwrap();
    drop(server);
    let mut answer = String::new();
    guard(
        "the answer",
        AsyncReadExt::read_to_string(&mut client, &mut answer),
    )
    .await
    .unwrap();
    assert_eq!(answer, "heard you");
    // Writing after the shutdown is an error, not bytes silently dropped.
    let err = AsyncWriteExt::write_all(&mut client, b"more")
        .await
        .expect_err("a write after shutdown fails");
    assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe, "{err}");
}

#[runtime::test]
async fn a_dropped_read_loses_no_bytes() {
    let (mut client, mut server) = tcp_pair().await;
    let mut buf = [0u8; 16];
    {
        // Nothing sent yet: the read waits, and is dropped while waiting.
        let mut read = pin!(AsyncReadExt::read(&mut server, &mut buf));
        assert!(poll_once(read.as_mut()).await.is_pending());
    }
    client.write_all(b"0123456789").await.unwrap();
    let mut got = [0u8; 10];
    guard("the bytes", AsyncReadExt::read_exact(&mut server, &mut got))
        .await
        .unwrap();
    assert_eq!(&got, b"0123456789");
}

#[runtime::test]
async fn a_read_into_a_full_buffer_returns_at_once() {
    let (_client, mut server) = tcp_pair().await;
    // No bytes will come; a read that has no room must not wait for them.
    let mut read = pin!(AsyncReadExt::read(&mut server, &mut []));
    match poll_once(read.as_mut()).await {
        Poll::Ready(Ok(0)) => {}
        other => panic!("an empty read gave {other:?}"),
    }
}

#[runtime::test]
async fn vectored_writes_go_out_whole_on_sockets() {
    let (mut client, mut server) = tcp_pair().await;
    assert!(tokio::io::AsyncWrite::is_write_vectored(&client));
    let bufs = [
        std::io::IoSlice::new(b"one "),
        std::io::IoSlice::new(b"two "),
        std::io::IoSlice::new(b"three"),
    ];
    // A fresh socket has room for 13 bytes: one writev takes all three buffers.
    let n = client.write_vectored(&bufs).await.unwrap();
    assert_eq!(n, 13);
    let mut got = [0; 13];
    guard("the bytes", AsyncReadExt::read_exact(&mut server, &mut got))
        .await
        .unwrap();
    assert_eq!(&got, b"one two three");
}

// ===== Unix =====

#[runtime::test]
async fn unix_streams_copy_and_shut_down() {
    let (a, mut b) = UnixStream::pair().unwrap();
    let echo = runtime::spawn(async move {
        let (mut reader, mut writer) = tokio::io::split(a);
        tokio::io::copy(&mut reader, &mut writer).await.unwrap();
        writer.shutdown().await.unwrap();
    });
    let data = pattern(11, 200_000);
    let (mut reader, mut writer) = tokio::io::split(&mut b);
    let send = async {
        writer.write_all(&data).await.unwrap();
        writer.shutdown().await.unwrap();
    };
    let mut back = Vec::new();
    let recv = reader.read_to_end(&mut back);
    let (_, got) = guard("the echo", futures::future::join(send, recv)).await;
    got.unwrap();
    assert!(back == data, "the echo differs from what was sent");
    guard("the echo task", echo).await.unwrap();
}

// ===== fs::File =====

#[runtime::test]
async fn files_write_read_lines_and_copy() {
    let path = temp_path("lines.txt");
    let mut file = runtime::fs::File::create(&path).await.unwrap();
    for i in 0..1000 {
        file.write_all(format!("line {i}\n").as_bytes())
            .await
            .unwrap();
    }
    // poll_shutdown flushes what the file buffered.
    AsyncWriteExt::shutdown(&mut file).await.unwrap();
    drop(file);

    // `File` buffers: tokio's `AsyncBufRead` reads lines from it without a BufReader.
    let mut file = runtime::fs::File::open(&path).await.unwrap();
    let mut line = String::new();
    for i in 0..1000 {
        line.clear();
        assert!(file.read_line(&mut line).await.unwrap() > 0);
        assert_eq!(line, format!("line {i}\n"));
    }
    line.clear();
    assert_eq!(file.read_line(&mut line).await.unwrap(), 0, "EOF");

    // tokio::io::copy from a file to a socket.
    let (mut client, mut server) = tcp_pair().await;
    let mut file = runtime::fs::File::open(&path).await.unwrap();
    let copied = tokio::io::copy(&mut file, &mut client).await.unwrap();
    AsyncWriteExt::shutdown(&mut client).await.unwrap();
    let mut got = Vec::new();
    guard("the copy", AsyncReadExt::read_to_end(&mut server, &mut got))
        .await
        .unwrap();
    assert_eq!(got, std::fs::read(&path).unwrap());
    assert_eq!(copied as usize, got.len());
    std::fs::remove_file(&path).unwrap();
}

// ===== child pipes =====

#[runtime::test]
async fn child_pipes_copy_through_cat_and_shutdown_closes_stdin() {
    let mut child = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    assert!(tokio::io::AsyncWrite::is_write_vectored(&stdin));
    let data = pattern(3, 300_000);
    let send = async {
        let mut source = &data[..];
        tokio::io::copy(&mut source, &mut stdin).await.unwrap();
        // Closing stdin is how cat learns the input is over; without it this hangs.
        AsyncWriteExt::shutdown(&mut stdin).await.unwrap();
    };
    let mut back = Vec::new();
    let recv = AsyncReadExt::read_to_end(&mut stdout, &mut back);
    let (_, got) = guard("cat's output", futures::future::join(send, recv)).await;
    got.unwrap();
    assert!(back == data, "cat's output differs from its input");
    assert!(guard("cat's exit", child.wait()).await.unwrap().success());
    let err = AsyncWriteExt::write_all(&mut stdin, b"late")
        .await
        .expect_err("stdin is closed");
    assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe, "{err}");
}

#[runtime::test]
async fn child_stderr_reads_lines() {
    let mut child = Command::new("sh")
        .args(["-c", "echo one >&2; echo two >&2"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    assert_eq!(
        guard("a line", lines.next_line()).await.unwrap().as_deref(),
        Some("one")
    );
    assert_eq!(
        guard("a line", lines.next_line()).await.unwrap().as_deref(),
        Some("two")
    );
    assert_eq!(guard("EOF", lines.next_line()).await.unwrap(), None);
    assert!(guard("the exit", child.wait()).await.unwrap().success());
}

// ===== Compat =====

#[runtime::test]
async fn compat_gives_a_futures_io_type_tokio_traits() {
    use tokio::io::AsyncSeekExt;
    let mut cursor = futures::io::Cursor::new(b"alpha\nbeta\n".to_vec()).compat();
    let mut line = String::new();
    cursor.read_line(&mut line).await.unwrap();
    assert_eq!(line, "alpha\n");
    assert_eq!(cursor.seek(std::io::SeekFrom::Start(1)).await.unwrap(), 1);
    let mut rest = String::new();
    cursor.read_to_string(&mut rest).await.unwrap();
    assert_eq!(rest, "lpha\nbeta\n");
    cursor.write_all(b"gamma").await.unwrap();
    assert_eq!(
        cursor.into_inner().into_inner(),
        b"alpha\nbeta\ngamma".to_vec()
    );
}

#[runtime::test]
async fn compat_gives_a_tokio_type_futures_io_traits() {
    use futures::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _};
    // tokio's in-memory pipe needs no tokio runtime; over it, futures-io's methods.
    let (a, b) = tokio::io::duplex(64);
    let mut a = a.compat();
    let mut b = futures::io::BufReader::new(b.compat());
    let writer = runtime::spawn(async move {
        // More than the pipe holds: the write waits for the reader, woken when it reads.
        let text = "word ".repeat(100) + "\n";
        a.write_all(text.as_bytes()).await.unwrap();
        a.close().await.unwrap();
        text
    });
    let mut line = String::new();
    guard("the line", b.read_line(&mut line)).await.unwrap();
    let mut rest = Vec::new();
    guard("EOF", b.read_to_end(&mut rest)).await.unwrap();
    assert!(rest.is_empty());
    assert_eq!(line, guard("the writer", writer).await.unwrap());
}
