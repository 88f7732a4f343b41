//! A bounded line reader: yields one line at a time from a `BufRead` into a
//! reused buffer, never holding more than the configured limit of one line.

use crate::error::{InputError, InputErrorKind};
use std::io::BufRead;

/// Reads lines (without the trailing `\n`) and counts them from 1.
pub(crate) struct LineReader<R> {
    inner: R,
    file: String,
    buf: Vec<u8>,
    /// Number of the line in `buf` (1-based); 0 before the first line.
    line: u64,
    max_line_bytes: usize,
    eof: bool,
}

impl<R: BufRead> LineReader<R> {
    pub(crate) fn new(file: &str, inner: R, max_line_bytes: usize) -> LineReader<R> {
        LineReader { inner, file: file.to_string(), buf: Vec::new(), line: 0, max_line_bytes, eof: false }
    }

    pub(crate) fn file(&self) -> &str {
        &self.file
    }

    /// The next line, without its `\n`, or `None` at end of input. A last
    /// line without `\n` is still returned.
    pub(crate) fn next_line(&mut self) -> Result<Option<(u64, &[u8])>, InputError> {
        if self.eof {
            return Ok(None);
        }
        self.buf.clear();
        let line = self.line + 1;
        let mut any = false;
        loop {
            let chunk = match self.inner.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(InputError::new(&self.file, line, InputErrorKind::Io(e.to_string()))),
            };
            if chunk.is_empty() {
                self.eof = true;
                if !any {
                    return Ok(None);
                }
                break;
            }
            any = true;
            let (take, done) = match memchr::memchr(b'\n', chunk) {
                Some(i) => (i, true),
                None => (chunk.len(), false),
            };
            if self.buf.len() + take > self.max_line_bytes {
                let limit_bytes = self.max_line_bytes;
                return Err(InputError::new(&self.file, line, InputErrorKind::LineTooLong { limit_bytes }));
            }
            self.buf.extend_from_slice(&chunk[..take]);
            self.inner.consume(if done { take + 1 } else { take });
            if done {
                break;
            }
        }
        self.line = line;
        // A UTF-8 byte order mark is not part of the first line's text.
        if line == 1 && self.buf.starts_with(b"\xef\xbb\xbf") {
            self.buf.drain(..3);
        }
        Ok(Some((line, &self.buf)))
    }
}

/// Validates a line as UTF-8; the error names the 1-based byte column.
pub(crate) fn utf8<'a>(reader_file: &str, line: u64, bytes: &'a [u8]) -> Result<&'a str, InputError> {
    std::str::from_utf8(bytes)
        .map_err(|e| InputError::new(reader_file, line, InputErrorKind::InvalidUtf8 { byte: e.valid_up_to() + 1 }))
}

/// True for lines with nothing but whitespace.
pub(crate) fn is_blank(bytes: &[u8]) -> bool {
    bytes.iter().all(|b| b.is_ascii_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], limit: usize) -> Result<Vec<(u64, Vec<u8>)>, InputError> {
        let mut r = LineReader::new("t", input, limit);
        let mut out = Vec::new();
        while let Some((n, l)) = r.next_line()? {
            out.push((n, l.to_vec()));
        }
        Ok(out)
    }

    #[test]
    fn splits_and_numbers_lines() {
        let got = lines(b"a\n\nbc\nlast", 100).unwrap();
        assert_eq!(got, vec![(1, b"a".to_vec()), (2, vec![]), (3, b"bc".to_vec()), (4, b"last".to_vec())]);
        assert_eq!(lines(b"", 100).unwrap(), vec![]);
        assert_eq!(lines(b"x\n", 100).unwrap(), vec![(1, b"x".to_vec())]);
        assert_eq!(
            lines(b"\xef\xbb\xbfx\n\xef\xbb\xbf", 100).unwrap(),
            vec![(1, b"x".to_vec()), (2, b"\xef\xbb\xbf".to_vec())]
        );
    }

    #[test]
    fn long_line_is_rejected_with_its_number() {
        let err = lines(b"short\n0123456789\n", 5).unwrap_err();
        assert_eq!(err.line, 2);
        assert_eq!(err.kind, InputErrorKind::LineTooLong { limit_bytes: 5 });
        // Exactly at the limit is fine.
        assert!(lines(b"12345\n", 5).is_ok());
    }

    #[test]
    fn long_line_across_small_buffer_chunks() {
        let data = vec![b'x'; 1000];
        let r = std::io::BufReader::with_capacity(7, &data[..]);
        let mut lr = LineReader::new("t", r, 999);
        assert!(matches!(lr.next_line().unwrap_err().kind, InputErrorKind::LineTooLong { .. }));
        let r = std::io::BufReader::with_capacity(7, &data[..]);
        let mut lr = LineReader::new("t", r, 1000);
        assert_eq!(lr.next_line().unwrap().unwrap().1.len(), 1000);
    }

    #[test]
    fn utf8_error_names_byte() {
        let err = utf8("f", 3, b"ab\xffcd").unwrap_err();
        assert_eq!((err.line, err.kind), (3, InputErrorKind::InvalidUtf8 { byte: 3 }));
    }
}
