//! `runtime::fs`: whole-file functions, the buffered `File`, directories and listings, and
//! the errors, on both scheduler flavors.

#[macro_use]
mod support;

use std::collections::BTreeSet;
use std::io::{ErrorKind, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use futures::{AsyncBufReadExt, AsyncReadExt, AsyncSeekExt, AsyncWriteExt, StreamExt};
use runtime::fs::{self, File, OpenOptions};
use support::{block_on_outside, pattern, wait_until};

/// A fresh directory under the system temp dir, removed (with its contents) on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "runtime-test-fs-{}-{test}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Relaxed)
        );
        let dir = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&dir).expect("create the test directory");
        TempDir(dir)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const MIB: usize = 1024 * 1024;

// ===== whole files =====

rt_test!(write_then_read_round_trips, |rt| {
    let dir = TempDir::new("roundtrip");
    let path = dir.join("f");
    rt.block_on(async {
        fs::write(&path, b"some bytes").await.unwrap();
        assert_eq!(fs::read(&path).await.unwrap(), b"some bytes");
        assert_eq!(fs::read_to_string(&path).await.unwrap(), "some bytes");
        fs::write(&path, "shorter").await.unwrap();
        assert_eq!(fs::read_to_string(&path).await.unwrap(), "shorter");
    });
    assert_eq!(std::fs::read(&path).unwrap(), b"shorter");
});

rt_test!(read_to_string_rejects_invalid_utf8, |rt| {
    let dir = TempDir::new("utf8");
    let path = dir.join("f");
    std::fs::write(&path, [0xff, 0xfe]).unwrap();
    let err = rt.block_on(fs::read_to_string(&path)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidData);
});

rt_test!(copy_copies_the_bytes, |rt| {
    let dir = TempDir::new("copy");
    let data = pattern(1, 100_000);
    std::fs::write(dir.join("a"), &data).unwrap();
    let copied = rt.block_on(fs::copy(dir.join("a"), dir.join("b"))).unwrap();
    assert_eq!(copied, data.len() as u64);
    assert_eq!(std::fs::read(dir.join("b")).unwrap(), data);
});

// ===== File: reading =====

rt_test!(large_file_through_small_reads, |rt| {
    let dir = TempDir::new("smallreads");
    let path = dir.join("big");
    let data = pattern(2, 5 * MIB + 123);
    std::fs::write(&path, &data).unwrap();
    let got = rt.block_on(async {
        let mut file = File::open(&path).await.unwrap();
        let mut got = Vec::with_capacity(data.len());
        let mut chunk = [0; 1000];
        loop {
            let n = file.read(&mut chunk).await.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&chunk[..n]);
        }
        got
    });
    assert!(got == data, "the bytes read differ from the file's");
});

rt_test!(large_file_through_one_big_read, |rt| {
    let dir = TempDir::new("bigread");
    let path = dir.join("big");
    let data = pattern(3, 3 * MIB);
    std::fs::write(&path, &data).unwrap();
    rt.block_on(async {
        let mut file = File::open(&path).await.unwrap();
        let mut got = vec![0; data.len()];
        // One call asking for all of it is served by one read of its size, not 64 KiB.
        let first = file.read(&mut got).await.unwrap();
        assert_eq!(first, data.len());
        assert!(got == data, "the bytes read differ from the file's");
        assert_eq!(file.read(&mut got).await.unwrap(), 0, "then the end");

        let mut again = Vec::new();
        File::open(&path)
            .await
            .unwrap()
            .read_to_end(&mut again)
            .await
            .unwrap();
        assert!(again == data, "read_to_end differs from the file");
    });
});

rt_test!(seek_then_read_sees_the_users_position, |rt| {
    let dir = TempDir::new("seek");
    let path = dir.join("f");
    let data = pattern(4, 200_000);
    std::fs::write(&path, &data).unwrap();
    rt.block_on(async {
        let mut file = File::open(&path).await.unwrap();
        let mut ten = [0; 10];
        file.read_exact(&mut ten).await.unwrap(); // the file read 64 KiB ahead
        assert_eq!(ten, data[..10]);
        assert_eq!(file.stream_position().await.unwrap(), 10);

        assert_eq!(file.seek(SeekFrom::Current(5)).await.unwrap(), 15);
        file.read_exact(&mut ten).await.unwrap();
        assert_eq!(ten, data[15..25]);

        assert_eq!(file.seek(SeekFrom::Current(-20)).await.unwrap(), 5);
        file.read_exact(&mut ten).await.unwrap();
        assert_eq!(ten, data[5..15]);

        let end = data.len() as u64;
        assert_eq!(file.seek(SeekFrom::End(-10)).await.unwrap(), end - 10);
        file.read_exact(&mut ten).await.unwrap();
        assert_eq!(ten, data[data.len() - 10..]);
        assert_eq!(file.read(&mut ten).await.unwrap(), 0);

        assert_eq!(file.seek(SeekFrom::Start(150_000)).await.unwrap(), 150_000);
        file.read_exact(&mut ten).await.unwrap();
        assert_eq!(ten, data[150_000..150_010]);

        // The std file underneath is where this one was.
        let mut std_file = file.into_std().await.unwrap();
        assert_eq!(
            std::io::Seek::stream_position(&mut std_file).unwrap(),
            150_010
        );
    });
});

rt_test!(buf_read_lines, |rt| {
    let dir = TempDir::new("lines");
    let path = dir.join("f");
    let text: String = (0..10_000).map(|i| format!("line {i}\n")).collect();
    std::fs::write(&path, &text).unwrap();
    rt.block_on(async {
        let file = File::open(&path).await.unwrap();
        let lines: Vec<String> = file.lines().map(|l| l.unwrap()).collect().await;
        assert_eq!(lines.len(), 10_000);
        assert_eq!(lines[9_999], "line 9999");
    });
});

// ===== File: writing =====

rt_test!(many_small_writes_then_flush, |rt| {
    let dir = TempDir::new("smallwrites");
    let path = dir.join("f");
    let record: Vec<u8> = (0..100).collect();
    rt.block_on(async {
        let mut file = File::create(&path).await.unwrap();
        for _ in 0..20_000 {
            file.write_all(&record).await.unwrap();
        }
        file.flush().await.unwrap();
        assert_eq!(file.metadata().await.unwrap().len(), 2_000_000);
    });
    let got = std::fs::read(&path).unwrap();
    assert_eq!(got.len(), 2_000_000);
    assert!(got.chunks(100).all(|c| c == record.as_slice()));
});

rt_test!(write_flush_and_read_back_through_one_file, |rt| {
    let dir = TempDir::new("rw");
    let path = dir.join("f");
    rt.block_on(async {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .await
            .unwrap();
        file.write_all(b"hello world").await.unwrap();
        file.flush().await.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"hello world");

        // A seek writes pending bytes first, then moves.
        file.write_all(b"!!").await.unwrap();
        file.seek(SeekFrom::Start(0)).await.unwrap();
        let mut back = String::new();
        file.read_to_string(&mut back).await.unwrap();
        assert_eq!(back, "hello world!!");

        // A write after a read goes where the reader is, not past the read-ahead.
        file.seek(SeekFrom::Start(0)).await.unwrap();
        let mut five = [0; 5];
        file.read_exact(&mut five).await.unwrap();
        file.write_all(b"_").await.unwrap();
        file.flush().await.unwrap();
        assert_eq!(file.stream_position().await.unwrap(), 6);
    });
    assert_eq!(std::fs::read(&path).unwrap(), b"hello_world!!");
});

rt_test!(append_mode_adds_at_the_end, |rt| {
    let dir = TempDir::new("append");
    let path = dir.join("log");
    std::fs::write(&path, "first\n").unwrap();
    rt.block_on(async {
        for line in ["second\n", "third\n"] {
            let mut file = OpenOptions::new().append(true).open(&path).await.unwrap();
            file.write_all(line.as_bytes()).await.unwrap();
            file.flush().await.unwrap();
        }
    });
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "first\nsecond\nthird\n"
    );
});

rt_test!(set_len_and_sync_write_pending_bytes_first, |rt| {
    let dir = TempDir::new("setlen");
    let path = dir.join("f");
    rt.block_on(async {
        let mut file = File::create(&path).await.unwrap();
        file.write_all(b"0123456789").await.unwrap();
        file.set_len(4).await.unwrap();
        file.sync_all().await.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"0123");
        file.write_all(b"ab").await.unwrap();
        file.sync_data().await.unwrap();
    });
    // The position stayed at 10 after set_len: the gap is zeros.
    assert_eq!(std::fs::read(&path).unwrap(), b"0123\0\0\0\0\0\0ab");
});

rt_test!(a_failed_write_is_reported_by_flush, |rt| {
    let dir = TempDir::new("writeerr");
    let path = dir.join("f");
    std::fs::write(&path, b"read only handle").unwrap();
    rt.block_on(async {
        let mut file = File::open(&path).await.unwrap();
        // Accepted into the buffer; the OS refuses it when the buffer is written out.
        assert_eq!(file.write(b"nope").await.unwrap(), 4);
        let err = file.flush().await.unwrap_err();
        let message = err.to_string();
        assert!(message.starts_with("failed to write "), "{message}");
        assert!(message.contains(&*path.to_string_lossy()), "{message}");
        // Reported once; the file is usable afterwards.
        file.flush().await.unwrap();
        let mut text = String::new();
        file.read_to_string(&mut text).await.unwrap();
        assert_eq!(text, "read only handle");
    });
});

rt_test!(dropping_a_file_keeps_its_accepted_writes, |rt| {
    let dir = TempDir::new("drop");
    let (small, big) = (dir.join("small"), dir.join("big"));
    let data = pattern(5, 300_000);
    rt.block_on(async {
        // Still in the buffer when dropped.
        let mut file = File::create(&small).await.unwrap();
        file.write_all(b"unflushed").await.unwrap();
        drop(file);
        // A full buffer in flight plus a partial one in the buffer.
        let mut file = File::create(&big).await.unwrap();
        file.write_all(&data).await.unwrap();
        drop(file);
    });
    wait_until("the dropped files' writes land", || {
        std::fs::read(&small).is_ok_and(|b| b == b"unflushed")
            && std::fs::read(&big).is_ok_and(|b| b == data)
    });
});

rt_test!(a_file_can_be_polled_outside_the_runtime, |rt| {
    let dir = TempDir::new("outside");
    let path = dir.join("f");
    let mut file = rt.block_on(File::create(&path)).unwrap();
    // The file keeps its runtime's handle: a plain thread can drive it.
    std::thread::spawn(move || {
        block_on_outside(async {
            file.write_all(b"from a thread").await.unwrap();
            file.flush().await.unwrap();
        })
    })
    .join()
    .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"from a thread");
});

// ===== errors =====

rt_test!(a_missing_file_is_not_found_and_named, |rt| {
    let dir = TempDir::new("missing");
    let path = dir.join("no-such-file");
    let name = path.to_string_lossy().into_owned();
    rt.block_on(async {
        let err = File::open(&path).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert_eq!(
            err.to_string(),
            format!("failed to open {name}: No such file or directory (os error 2)")
        );
        // std's error is underneath, with its OS code.
        let source = std::error::Error::source(&err).unwrap();
        let source = source.downcast_ref::<std::io::Error>().unwrap();
        assert_eq!(source.raw_os_error(), Some(libc::ENOENT));

        for err in [
            fs::read(&path).await.unwrap_err(),
            fs::read_to_string(&path).await.unwrap_err(),
            fs::remove_file(&path).await.unwrap_err(),
            fs::metadata(&path).await.unwrap_err(),
            fs::symlink_metadata(&path).await.unwrap_err(),
            fs::canonicalize(&path).await.unwrap_err(),
            fs::read_dir(&path).await.unwrap_err(),
            fs::remove_dir(&path).await.unwrap_err(),
        ] {
            assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
            assert!(err.to_string().contains(&name), "{err}");
        }
    });
});

rt_test!(two_path_errors_name_both, |rt| {
    let dir = TempDir::new("twopaths");
    let (from, to) = (dir.join("absent"), dir.join("target"));
    rt.block_on(async {
        for err in [
            fs::rename(&from, &to).await.unwrap_err(),
            fs::copy(&from, &to).await.unwrap_err(),
        ] {
            let message = err.to_string();
            assert_eq!(err.kind(), ErrorKind::NotFound);
            assert!(message.contains(&*from.to_string_lossy()), "{message}");
            assert!(message.contains(&*to.to_string_lossy()), "{message}");
        }
        let err = fs::rename(&from, &to).await.unwrap_err();
        assert!(err.to_string().starts_with("failed to rename "), "{err}");
    });
});

rt_test!(create_dir_all_under_a_file_fails_with_the_path, |rt| {
    let dir = TempDir::new("underfile");
    std::fs::write(dir.join("file"), b"").unwrap();
    let err = rt
        .block_on(fs::create_dir_all(dir.join("file/sub")))
        .unwrap_err();
    assert!(err.to_string().contains("file/sub"), "{err}");
    let err = rt.block_on(fs::create_dir(dir.join("file"))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
});

// ===== directories =====

rt_test!(create_rename_remove_directories, |rt| {
    let dir = TempDir::new("dirs");
    rt.block_on(async {
        fs::create_dir_all(dir.join("a/b/c")).await.unwrap();
        fs::create_dir_all(dir.join("a/b/c")).await.unwrap();
        fs::write(dir.join("a/b/c/file"), b"x").await.unwrap();
        assert!(fs::metadata(dir.join("a/b/c")).await.unwrap().is_dir());

        fs::rename(dir.join("a"), dir.join("z")).await.unwrap();
        assert!(!fs::try_exists(dir.join("a")).await.unwrap());
        assert_eq!(fs::read(dir.join("z/b/c/file")).await.unwrap(), b"x");

        let err = fs::remove_dir(dir.join("z")).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DirectoryNotEmpty);
        fs::remove_file(dir.join("z/b/c/file")).await.unwrap();
        fs::remove_dir(dir.join("z/b/c")).await.unwrap();
        fs::remove_dir_all(dir.join("z")).await.unwrap();
        assert!(!fs::try_exists(dir.join("z")).await.unwrap());

        let canon = fs::canonicalize(dir.join(".")).await.unwrap();
        assert_eq!(canon, std::fs::canonicalize(&dir.0).unwrap());
    });
});

rt_test!(read_dir_lists_every_entry_as_a_stream, |rt| {
    let dir = TempDir::new("readdir");
    // More than one batch (32) of entries, and a subdirectory.
    let mut expected = BTreeSet::new();
    for i in 0..100 {
        let name = format!("file-{i:03}");
        std::fs::write(dir.join(&name), i.to_string()).unwrap();
        expected.insert(name);
    }
    std::fs::create_dir(dir.join("sub")).unwrap();
    rt.block_on(async {
        let entries: Vec<_> = fs::read_dir(&dir.0)
            .await
            .unwrap()
            .map(|e| e.unwrap())
            .collect()
            .await;
        let mut files = BTreeSet::new();
        for entry in &entries {
            let name = entry.file_name().into_string().unwrap();
            assert_eq!(entry.path(), dir.join(&name));
            let kind = entry.file_type().await.unwrap();
            if name == "sub" {
                assert!(kind.is_dir());
            } else {
                assert!(kind.is_file());
                let len = entry.metadata().await.unwrap().len();
                assert_eq!(
                    len as usize,
                    name[5..].parse::<usize>().unwrap().to_string().len()
                );
                files.insert(name);
            }
        }
        assert_eq!(entries.len(), 101);
        assert_eq!(files, expected);

        let mut empty = fs::read_dir(dir.join("sub")).await.unwrap();
        assert!(empty.next_entry().await.unwrap().is_none());
        assert!(empty.next_entry().await.unwrap().is_none(), "stays done");
    });
});

// ===== concurrency =====

rt_test!(many_tasks_read_small_files_at_once, |rt| {
    let dir = TempDir::new("concurrent");
    let files: Vec<(PathBuf, Vec<u8>)> = (0..200)
        .map(|i| {
            let path = dir.join(&format!("f{i}"));
            let data = pattern(100 + i, 4096 + i as usize);
            std::fs::write(&path, &data).unwrap();
            (path, data)
        })
        .collect();
    rt.block_on(async {
        let tasks: Vec<_> = files
            .into_iter()
            .map(|(path, data)| {
                runtime::spawn(async move {
                    // Half through `fs::read`, half through a `File` in small reads.
                    let got = if data.len() % 2 == 0 {
                        fs::read(&path).await.unwrap()
                    } else {
                        read_in_pieces(&path).await
                    };
                    assert!(got == data, "{} came back wrong", path.display());
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
});

async fn read_in_pieces(path: &Path) -> Vec<u8> {
    let mut file = File::open(path).await.unwrap();
    let mut got = Vec::new();
    let mut piece = [0; 100];
    loop {
        match file.read(&mut piece).await.unwrap() {
            0 => return got,
            n => got.extend_from_slice(&piece[..n]),
        }
    }
}

#[test]
fn public_types_implement_debug() {
    let rt = support::Flavor::CurrentThread.build();
    let dir = TempDir::new("debug");
    std::fs::write(dir.join("f"), b"x").unwrap();
    rt.block_on(async {
        let file = File::open(dir.join("f")).await.unwrap();
        assert!(format!("{file:?}").contains("\"f\"") || format!("{file:?}").contains("/f"));
        let mut listing = fs::read_dir(&dir.0).await.unwrap();
        assert!(format!("{listing:?}").starts_with("ReadDir"));
        let entry = listing.next_entry().await.unwrap().unwrap();
        assert!(format!("{entry:?}").starts_with("DirEntry"));
        assert!(format!("{:?}", OpenOptions::new()).starts_with("OpenOptions"));
    });
}
