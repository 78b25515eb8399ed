//! The RESP parser (RESP2 arrays of bulk strings, and inline requests) and the reply encoders.

use std::borrow::Cow;
use std::io::Write;
use std::ops::Range;

/// Why a request can't be parsed; the client gets `-ERR Protocol error: …` and is closed.
#[derive(Debug)]
pub(crate) struct ProtocolError(pub(crate) Cow<'static, str>);

fn protocol<T>(why: &'static str) -> Result<T, ProtocolError> {
    Err(ProtocolError(Cow::Borrowed(why)))
}

/// Redis's limits: inline lines and length lines, arguments per request, bytes per argument.
const MAX_LINE: usize = 64 * 1024;
const MAX_ARGS: i64 = 1024 * 1024;
const MAX_BULK: i64 = 512 * 1024 * 1024;

/// How far [`parse`] got into an unfinished array request, so that the next read resumes
/// there: parsing it all again on every read would let a client that trickles a request of
/// a million small arguments cost time quadratic in its length. Offsets count from the
/// request's first byte, which stays at the start of the buffer until it is complete.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    /// The argument count, once its line has been read.
    count: Option<i64>,
    /// Where the next argument starts.
    next: usize,
    /// The arguments read so far.
    args: Vec<Range<usize>>,
}

/// Parses the request at the start of `buf` into `args` (empty for a blank inline line).
/// `Ok(Some(n))`: a request of `n` bytes; `Ok(None)`: incomplete, read more, and call again
/// with the same `progress` and a buffer that starts with the same bytes.
pub(crate) fn parse<'a>(
    buf: &'a [u8],
    args: &mut Vec<Cow<'a, [u8]>>,
    progress: &mut Progress,
) -> Result<Option<usize>, ProtocolError> {
    args.clear();
    if buf.first() != Some(&b'*') {
        return parse_inline(buf, args);
    }
    let count = match progress.count {
        Some(count) => count,
        None => {
            let Some((count, at)) = crlf_line(buf, 1, "too big mbulk count string")? else {
                return Ok(None);
            };
            let count = match parse_int(count) {
                Some(n) if n <= MAX_ARGS => n,
                _ => return protocol("invalid multibulk length"),
            };
            progress.count = Some(count);
            progress.next = at;
            count
        }
    };
    while (progress.args.len() as i64) < count {
        let at = progress.next;
        match buf.get(at) {
            None => return Ok(None),
            Some(b'$') => {}
            Some(&c) => {
                let why = format!("expected '$', got '{}'", c.escape_ascii());
                return Err(ProtocolError(Cow::Owned(why)));
            }
        }
        let Some((len, data)) = crlf_line(buf, at + 1, "too big bulk count string")? else {
            return Ok(None);
        };
        let len = match parse_int(len) {
            Some(n) if (0..=MAX_BULK).contains(&n) => n as usize,
            _ => return protocol("invalid bulk length"),
        };
        let end = data + len;
        match buf.get(end..end + 2) {
            None => return Ok(None),
            Some(b"\r\n") => {}
            Some(_) => return protocol("expected CRLF after bulk string"),
        }
        progress.args.push(data..end);
        progress.next = end + 2;
    }
    args.extend(progress.args.drain(..).map(|arg| Cow::Borrowed(&buf[arg])));
    let used = progress.next;
    // Ready for the next request; a one-off huge one doesn't keep its memory.
    progress.count = None;
    if progress.args.capacity() > 1024 {
        progress.args = Vec::new();
    }
    Ok(Some(used))
}

/// The CRLF-terminated line from `at`, and where the next begins; `Ok(None)` if incomplete.
///
/// A line longer than [`MAX_LINE`] is an error whether or not its end has arrived, so the
/// outcome never depends on how the bytes were split into reads.
fn crlf_line<'a>(
    buf: &'a [u8],
    at: usize,
    too_long: &'static str,
) -> Result<Option<(&'a [u8], usize)>, ProtocolError> {
    let rest = buf.get(at..).unwrap_or_default();
    let window = &rest[..rest.len().min(MAX_LINE + 1)];
    match window.iter().position(|&b| b == b'\r') {
        Some(i) if i + 1 == rest.len() => Ok(None),
        Some(i) if rest[i + 1] == b'\n' => Ok(Some((&rest[..i], at + i + 2))),
        Some(_) => protocol("expected CRLF"),
        None if rest.len() > MAX_LINE => protocol(too_long),
        None => Ok(None),
    }
}

/// An inline request: one line of space-separated words, with Redis's quoting rules
/// (`"a b\n"` with escapes, `'a b'` literal).
fn parse_inline<'a>(
    buf: &'a [u8],
    args: &mut Vec<Cow<'a, [u8]>>,
) -> Result<Option<usize>, ProtocolError> {
    // As for `crlf_line`: too long is an error whether or not the newline has arrived.
    let window = &buf[..buf.len().min(MAX_LINE + 1)];
    let Some(nl) = window.iter().position(|&b| b == b'\n') else {
        return if buf.len() > MAX_LINE {
            protocol("too big inline request")
        } else {
            Ok(None)
        };
    };
    let line = buf[..nl].strip_suffix(b"\r").unwrap_or(&buf[..nl]);
    let mut i = 0;
    loop {
        while line.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        let Some(&first) = line.get(i) else {
            return Ok(Some(nl + 1));
        };
        if first != b'"' && first != b'\'' {
            let start = i;
            while line.get(i).is_some_and(|b| !b.is_ascii_whitespace()) {
                i += 1;
            }
            args.push(Cow::Borrowed(&line[start..i]));
            continue;
        }
        let mut arg = Vec::new();
        i += 1;
        loop {
            match (line.get(i), line.get(i + 1)) {
                (None, _) => return protocol("unbalanced quotes in request"),
                (Some(&q), _) if q == first => break,
                (Some(b'\\'), Some(&c)) if first == b'"' => {
                    let hex = line
                        .get(i + 2..i + 4)
                        .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
                    match (c, hex) {
                        (b'x', Some(byte)) => (arg.push(byte), i += 2).1,
                        (b'n', _) => arg.push(b'\n'),
                        (b'r', _) => arg.push(b'\r'),
                        (b't', _) => arg.push(b'\t'),
                        (b'b', _) => arg.push(8),
                        (b'a', _) => arg.push(7),
                        (c, _) => arg.push(c),
                    }
                    i += 2;
                }
                (Some(b'\\'), Some(b'\'')) => (arg.push(b'\''), i += 2).1,
                (Some(&c), _) => (arg.push(c), i += 1).1,
            }
        }
        i += 1; // the closing quote, which must end the word
        if line.get(i).is_some_and(|b| !b.is_ascii_whitespace()) {
            return protocol("unbalanced quotes in request");
        }
        args.push(Cow::Owned(arg));
    }
}

/// A decimal `i64` as Redis reads one: optional `-`, digits, no `+`, spaces or leading zeros.
pub(crate) fn parse_int(s: &[u8]) -> Option<i64> {
    let (negative, digits) = match s.strip_prefix(b"-") {
        Some(digits) => (true, digits),
        None => (false, s),
    };
    if digits.is_empty() || (digits[0] == b'0' && s.len() > 1) {
        return None;
    }
    // Accumulating towards the sign reaches i64::MIN without overflowing.
    digits.iter().try_fold(0i64, |n, &byte| {
        let digit = i64::from(byte.wrapping_sub(b'0'));
        if digit > 9 {
            return None;
        }
        let n = n.checked_mul(10)?;
        if negative {
            n.checked_sub(digit)
        } else {
            n.checked_add(digit)
        }
    })
}

// ===== replies =====

pub(crate) fn error(out: &mut Vec<u8>, msg: &str) {
    out.push(b'-');
    out.extend_from_slice(msg.as_bytes());
    out.extend_from_slice(b"\r\n");
}

pub(crate) fn integer(out: &mut Vec<u8>, n: i64) {
    let _ = write!(out, ":{n}\r\n"); // writing to a Vec can't fail
}

pub(crate) fn nil(out: &mut Vec<u8>) {
    out.extend_from_slice(b"$-1\r\n");
}

pub(crate) fn bulk(out: &mut Vec<u8>, data: &[u8]) {
    let _ = write!(out, "${}\r\n", data.len());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

pub(crate) fn array(out: &mut Vec<u8>, len: usize) {
    let _ = write!(out, "*{len}\r\n");
}
