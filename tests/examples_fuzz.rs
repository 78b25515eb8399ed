//! A fuzzer for the request parsers of the `http` and `mini_redis` examples, on stable Rust and
//! with no fuzzing engine: the test includes the examples' protocol code (`http::respond`,
//! `resp::parse`) and drives it with a seeded generator.
//!
//! - Valid requests, built at random, must round-trip: each parsed back to exactly what was
//!   encoded (RESP) or answered with the status its route gives (HTTP).
//! - Any input, whether one of those mutated, a corpus file (`tests/corpus/{resp,http}/*`)
//!   mutated or replayed as is, must never panic, never take more bytes than it was given,
//!   and be judged the same whether it arrives whole or split into reads at random points:
//!   the same requests, then the same error or the same unfinished rest. That catches
//!   limits that depend on how the bytes happened to arrive, and checks RESP's resumed
//!   parsing (`resp::Progress`, carried from read to read as the server does) against
//!   parsing all at once.
//!
//! Bounded for CI: `FUZZ_CASES` cases per target (default 4000), from `FUZZ_SEED` (default
//! fixed, so every run tries the same cases; a failure names its seed and case). Explore
//! further with, say, `FUZZ_CASES=1000000 FUZZ_SEED=$RANDOM cargo test --release --test
//! examples_fuzz`, and add an input worth keeping to the corpus.

use std::borrow::Cow;
use std::fs;
use std::path::Path;

// The protocol code only; not the examples' `main`s.
#[allow(dead_code, unreachable_pub)]
#[path = "../examples/http.rs"]
mod http;
#[allow(dead_code)]
#[path = "../examples/mini_redis/resp.rs"]
mod resp;

// ===== the generator =====

/// splitmix64: small, seedable, good enough to pick cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// A byte, often one that means something to one of the parsers.
    fn byte(&mut self) -> u8 {
        const SPECIAL: &[u8] = b"\r\n*$+-:0123456789 \t\"'\\x\0\xff\x80?/=%;,GETH";
        if self.one_in(2) {
            *self.pick(SPECIAL)
        } else {
            self.next() as u8
        }
    }

    fn bytes(&mut self, max_len: usize) -> Vec<u8> {
        let len = self.below(max_len + 1);
        (0..len).map(|_| self.byte()).collect()
    }
}

fn cases() -> usize {
    std::env::var("FUZZ_CASES").map_or(4000, |v| v.parse().expect("FUZZ_CASES: a number"))
}

fn seed() -> u64 {
    std::env::var("FUZZ_SEED").map_or(0x5eed, |v| v.parse().expect("FUZZ_SEED: a number"))
}

/// Runs `case` `cases()` times, each with its own generator, naming the case that fails.
fn fuzz(target: &str, mut case: impl FnMut(&mut Rng)) {
    let seed = seed();
    for i in 0..cases() {
        let mut rng = Rng(seed ^ (i as u64).wrapping_mul(0x2545_f491_4f6c_dd1d));
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| case(&mut rng)));
        if let Err(panic) = result {
            eprintln!("{target}: case {i} of FUZZ_SEED={seed} failed");
            std::panic::resume_unwind(panic);
        }
    }
}

/// One to four random edits of `input`, some of them splicing in `other`.
fn mutate(rng: &mut Rng, input: &mut Vec<u8>, other: &[u8]) {
    const NUMBERS: &[&[u8]] = &[
        b"4611686018427387904",
        b"99999999999999999999",
        b"-1",
        b"0",
        b"",
        b"1073741824",
        b"536870913",
        b"+5",
    ];
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(input.len() + 1);
        match rng.below(7) {
            0 if at < input.len() => input[at] = rng.byte(),
            1 => {
                let bytes = rng.bytes(8);
                input.splice(at..at, bytes);
            }
            2 => {
                let end = (at + rng.below(16)).min(input.len());
                input.drain(at..end);
            }
            3 => {
                let end = (at + rng.below(64)).min(input.len());
                let copy = input[at..end].to_vec();
                input.splice(end..end, copy);
            }
            4 => input.truncate(at),
            5 if !other.is_empty() => {
                let from = rng.below(other.len());
                let end = (from + rng.below(64)).min(other.len());
                input.splice(at..at, other[from..end].iter().copied());
            }
            _ => {
                // A number where one may have been, or a long run of one byte.
                let digits = input[at..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .count();
                if digits > 0 || rng.one_in(2) {
                    input.splice(at..at + digits, rng.pick(NUMBERS).iter().copied());
                } else {
                    let run = vec![rng.byte(); rng.below(70 * 1024)];
                    input.splice(at..at, run);
                }
            }
        }
    }
}

/// Up to eight random points to split `len` bytes at, in order.
fn split_points(rng: &mut Rng, len: usize) -> Vec<usize> {
    let mut points: Vec<usize> = (0..rng.below(9)).map(|_| rng.below(len + 1)).collect();
    points.sort_unstable();
    points
}

/// Corpus files up to this size are also replayed one byte per read.
const EVERY_BYTE_MAX: usize = 4096;

/// The files in `tests/corpus/NAME/`.
fn corpus(name: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(name);
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a corpus entry").path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no corpus in {}", dir.display());
    files
        .iter()
        .map(|f| fs::read(f).expect("a corpus file"))
        .collect()
}

// ===== RESP =====

/// What the server makes of some input: the requests, then the error or the unfinished rest.
#[derive(Debug, PartialEq, Eq)]
struct RespOutcome {
    requests: Vec<Vec<Vec<u8>>>,
    end: Result<Vec<u8>, String>,
}

/// Parses every request at the front of `input` as the server's loop does, checking each
/// claimed length, and leaves the rest (or the error) in `outcome`; `progress` carries an
/// unfinished request over to the next call, as the server's does from read to read.
fn resp_take(input: &[u8], outcome: &mut RespOutcome, progress: &mut resp::Progress) -> usize {
    let mut args = Vec::new();
    let mut used = 0;
    while used < input.len() {
        let rest = &input[used..];
        match resp::parse(rest, &mut args, progress) {
            Ok(Some(n)) => {
                assert!(
                    n >= 1 && n <= rest.len(),
                    "took {n} of {} bytes",
                    rest.len()
                );
                for arg in &args {
                    if let Cow::Borrowed(a) = arg {
                        let start = a.as_ptr() as usize - rest.as_ptr() as usize;
                        assert!(start + a.len() <= n, "an argument outside its request");
                    }
                }
                let request: Vec<Vec<u8>> = args.iter().map(|a| a.to_vec()).collect();
                // A request doesn't depend on the bytes after it.
                let mut again = Vec::new();
                let fresh = &mut resp::Progress::default();
                assert_eq!(
                    resp::parse(&rest[..n], &mut again, fresh).ok(),
                    Some(Some(n))
                );
                assert_eq!(again, args);
                outcome.requests.push(request);
                used += n;
            }
            Ok(None) => break,
            Err(resp::ProtocolError(why)) => {
                outcome.end = Err(why.into_owned());
                return input.len();
            }
        }
    }
    used
}

/// The outcome of `input` arriving in reads split at `points`.
fn resp_outcome(input: &[u8], points: &[usize]) -> RespOutcome {
    let mut outcome = RespOutcome {
        requests: Vec::new(),
        end: Ok(Vec::new()),
    };
    let mut buffered = Vec::new();
    let mut progress = resp::Progress::default();
    let mut from = 0;
    for to in points.iter().copied().chain([input.len()]) {
        buffered.extend_from_slice(&input[from..to]);
        from = to;
        let used = resp_take(&buffered, &mut outcome, &mut progress);
        if outcome.end.is_err() {
            return outcome;
        }
        buffered.drain(..used);
    }
    outcome.end = Ok(buffered);
    outcome
}

/// Whole or split, `input` gives the same outcome; returns it.
fn check_resp(rng: &mut Rng, input: &[u8]) -> RespOutcome {
    let whole = resp_outcome(input, &[]);
    let points = split_points(rng, input.len());
    assert_eq!(
        resp_outcome(input, &points),
        whole,
        "split at {points:?}: {:?}",
        input.escape_ascii().to_string()
    );
    whole
}

/// Random arguments, any bytes, as a client would send them: a RESP array of bulk strings
/// (the example's own encoders), or an inline line.
fn resp_request(rng: &mut Rng) -> (Vec<Vec<u8>>, Vec<u8>) {
    let args: Vec<Vec<u8>> = (0..1 + rng.below(6)).map(|_| rng.bytes(40)).collect();
    let mut wire = Vec::new();
    if rng.one_in(3) {
        // Inline: bare words, or quoted words with every byte escaped.
        for arg in &args {
            if !arg.is_empty() && arg.iter().all(u8::is_ascii_alphanumeric) {
                wire.extend_from_slice(arg);
            } else {
                wire.push(b'"');
                for b in arg {
                    wire.extend_from_slice(format!("\\x{b:02x}").as_bytes());
                }
                wire.push(b'"');
            }
            const SPACES: [&[u8]; 3] = [b" ", b"\t", b"  "];
            wire.extend_from_slice(SPACES[rng.below(SPACES.len())]);
        }
        const ENDS: [&[u8]; 2] = [b"\r\n", b"\n"];
        wire.extend_from_slice(ENDS[rng.below(ENDS.len())]);
    } else {
        resp::array(&mut wire, args.len());
        for arg in &args {
            resp::bulk(&mut wire, arg);
        }
    }
    (args, wire)
}

#[test]
fn resp_valid_requests_round_trip_whole_or_split() {
    fuzz("resp round trip", |rng| {
        let (mut want, mut wire) = (Vec::new(), Vec::new());
        for _ in 0..1 + rng.below(4) {
            let (args, bytes) = resp_request(rng);
            want.push(args);
            wire.extend(bytes);
        }
        let outcome = check_resp(rng, &wire);
        assert_eq!(
            outcome,
            RespOutcome {
                requests: want,
                end: Ok(Vec::new())
            }
        );
    });
}

#[test]
fn resp_any_input_is_judged_the_same_whole_or_split() {
    let corpus = corpus("resp");
    fuzz("resp mutated", |rng| {
        let mut input = if rng.one_in(2) {
            rng.pick(&corpus).clone()
        } else {
            resp_request(rng).1
        };
        let other = rng.pick(&corpus).clone();
        mutate(rng, &mut input, &other);
        check_resp(rng, &input);
    });
}

#[test]
fn resp_corpus_replays() {
    let mut rng = Rng(seed());
    for input in corpus("resp") {
        check_resp(&mut rng, &input);
        // And one byte per read, the slowest a client can be (each read parses the whole
        // buffer again, so only for the small files).
        if input.len() > EVERY_BYTE_MAX {
            continue;
        }
        let every: Vec<usize> = (1..input.len()).collect();
        assert_eq!(resp_outcome(&input, &every), resp_outcome(&input, &[]));
    }
}

// ===== HTTP =====

/// What `respond` makes of some input: the responses (without their `Date` lines, which
/// tick), then whether it closes and what is left unanswered.
#[derive(Debug, PartialEq, Eq)]
struct HttpOutcome {
    responses: Vec<u8>,
    outcome: http::Outcome,
    rest: Vec<u8>,
}

fn http_outcome(input: &[u8], points: &[usize]) -> HttpOutcome {
    let mut buffered = Vec::new();
    let mut output = Vec::new();
    let mut from = 0;
    let mut outcome = http::Outcome::KeepAlive;
    for to in points.iter().copied().chain([input.len()]) {
        buffered.extend_from_slice(&input[from..to]);
        from = to;
        let before = buffered.clone();
        outcome = http::respond(&mut buffered, &mut output);
        // What is left is the end of what was there: nothing made up, nothing reordered.
        assert!(before.ends_with(&buffered), "the rest is not a suffix");
        if outcome == http::Outcome::Close {
            break;
        }
    }
    let text = String::from_utf8(output).expect("responses are text");
    let responses: String = text
        .split_inclusive("\r\n")
        .filter(|line| !line.starts_with("Date: "))
        .collect();
    HttpOutcome {
        responses: responses.into_bytes(),
        outcome,
        rest: buffered,
    }
}

fn check_http(rng: &mut Rng, input: &[u8]) -> HttpOutcome {
    let whole = http_outcome(input, &[]);
    let points = split_points(rng, input.len());
    let split = http_outcome(input, &points);
    // A closed connection drops what followed; only the answers must agree then.
    if whole.outcome == http::Outcome::Close {
        assert_eq!(
            (&split.responses, split.outcome),
            (&whole.responses, whole.outcome),
            "split at {points:?}: {:?}",
            input.escape_ascii().to_string()
        );
    } else {
        assert_eq!(split, whole, "split at {points:?}");
    }
    whole
}

/// A valid request and the status line its route answers with.
fn http_request(rng: &mut Rng, last: bool) -> (Vec<u8>, &'static str, bool) {
    let method = *rng.pick(&["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"]);
    let path = *rng.pick(&["/", "/json", "/missing", "/?q=1", "/json?x=%20y", "/a/b/c"]);
    let route = path.split('?').next().unwrap();
    let status = match (route, method) {
        ("/" | "/json", "GET" | "HEAD") => "HTTP/1.1 200 OK\r\n",
        ("/" | "/json", _) => "HTTP/1.1 405 Method Not Allowed\r\n",
        _ => "HTTP/1.1 404 Not Found\r\n",
    };
    let mut req = format!("{method} {path} HTTP/1.1\r\n").into_bytes();
    for i in 0..rng.below(8) {
        let value: String = (0..rng.below(30))
            .map(|_| (b' ' + rng.below(95) as u8) as char)
            .collect();
        req.extend_from_slice(format!("X-Fuzz-{i}: {}\r\n", value.trim()).as_bytes());
    }
    let body = if rng.one_in(3) {
        rng.bytes(300)
    } else {
        Vec::new()
    };
    if !body.is_empty() || rng.one_in(4) {
        req.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    if last {
        req.extend_from_slice(b"Connection: close\r\n");
    }
    req.extend_from_slice(b"\r\n");
    req.extend(body);
    (req, status, method == "HEAD")
}

#[test]
fn http_valid_requests_are_each_answered_whole_or_split() {
    fuzz("http round trip", |rng| {
        let count = 1 + rng.below(4);
        let close = rng.one_in(2);
        let (mut wire, mut statuses) = (Vec::new(), Vec::new());
        for i in 0..count {
            let (req, status, head) = http_request(rng, close && i + 1 == count);
            wire.extend(req);
            statuses.push((status, head));
        }
        let outcome = check_http(rng, &wire);
        let want = if close {
            http::Outcome::Close
        } else {
            http::Outcome::KeepAlive
        };
        assert_eq!((outcome.outcome, outcome.rest.len()), (want, 0));
        // The answers, in order: each status line, its head, and the body it announces
        // (none after a HEAD).
        let mut text = &outcome.responses[..];
        for (status, head) in statuses {
            assert!(text.starts_with(status.as_bytes()), "want {status:?} first");
            let end = text
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .expect("a head")
                + 4;
            let head_text = std::str::from_utf8(&text[..end]).unwrap();
            let length: usize = head_text
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .and_then(|v| v.trim().parse().ok())
                .expect("a Content-Length");
            text = &text[end + if head { 0 } else { length }..];
        }
        assert!(text.is_empty(), "more answers than requests");
    });
}

#[test]
fn http_any_input_is_judged_the_same_whole_or_split() {
    let corpus = corpus("http");
    fuzz("http mutated", |rng| {
        let mut input = if rng.one_in(2) {
            rng.pick(&corpus).clone()
        } else {
            http_request(rng, false).0
        };
        let other = rng.pick(&corpus).clone();
        mutate(rng, &mut input, &other);
        check_http(rng, &input);
    });
}

#[test]
fn http_corpus_replays() {
    let mut rng = Rng(seed());
    for input in corpus("http") {
        check_http(&mut rng, &input);
        if input.len() > EVERY_BYTE_MAX {
            continue;
        }
        let every: Vec<usize> = (1..input.len()).collect();
        assert_eq!(
            http_outcome(&input, &every).responses,
            http_outcome(&input, &[]).responses
        );
    }
}
