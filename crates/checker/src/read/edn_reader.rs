//! EDN histories: Jepsen's `history.edn` (a top-level vector or list of op
//! maps, or a sequence of op maps, usually one per line) and Porcupine's kv
//! files (one map per line).
//!
//! Streaming: the input is read in chunks, whatever its lines, into a
//! window that holds only the form being parsed, so memory is bounded by
//! the largest single op (`max_line_bytes` limits it), even for a
//! whole-file vector written on one line. A form split across chunks is
//! re-tried only after the pending text doubles, which keeps re-parsing
//! linear overall. With `Independent::Auto` the events themselves may be
//! buffered (see [`super::event::Sink`]).

use super::edn::{self, EdnError, EdnErrorKind, Next};
use super::edn_fast;
use super::event::{event_from_edn, quote, EdnFlavour, Sink};
use super::{Format, ReadOptions};
use crate::error::{InputError, InputErrorKind};
use crate::history::EventTarget;
use crate::value::Value;
use std::io::BufRead;

/// Bytes taken from the reader at a time.
const CHUNK_BYTES: usize = 256 << 10;

#[derive(Clone, Copy, PartialEq, Debug)]
enum State {
    /// Nothing significant seen yet.
    Start,
    /// Inside a top-level `[` or `(` opened at `line`, which closes with `close`.
    InSeq { close: u8, line: u64 },
    /// A sequence of top-level maps.
    Forms,
    /// After the top-level sequence closed: only whitespace may follow.
    Closed,
}

struct Window {
    text: String,
    /// (byte offset in `text`, line number) of each line start in `text`;
    /// the first is always offset 0 (the line `text` starts in).
    starts: Vec<(usize, u64)>,
    /// Everything before `pos` has been consumed.
    pos: usize,
    /// Bytes of the last line so far, wherever it started (for the byte
    /// column of a UTF-8 error).
    line_bytes: usize,
    /// The start of a UTF-8 sequence that a chunk cut (at most 3 bytes).
    carry: Vec<u8>,
    /// No byte read yet (a byte order mark may come).
    at_start: bool,
    /// The index in `starts` of the line `line_at` last found.
    hint: std::cell::Cell<usize>,
}

impl Window {
    fn new() -> Window {
        Window {
            text: String::new(),
            starts: vec![(0, 1)],
            pos: 0,
            line_bytes: 0,
            carry: Vec::new(),
            at_start: true,
            hint: Default::default(),
        }
    }

    /// Number of the line the last byte read belongs to.
    fn line(&self) -> u64 {
        self.starts.last().map_or(1, |s| s.1)
    }

    fn line_at(&self, offset: usize) -> u64 {
        // Forms are numbered in order: a step or two on from the last
        // line found, most often; a search otherwise.
        let mut h = self.hint.get().min(self.starts.len() - 1);
        if self.starts[h].0 <= offset {
            for _ in 0..4 {
                match self.starts.get(h + 1) {
                    Some(&(o, _)) if o <= offset => h += 1,
                    Some(_) | None => {
                        self.hint.set(h);
                        return self.starts[h].1;
                    }
                }
            }
        }
        let i = self.starts.partition_point(|&(o, _)| o <= offset).saturating_sub(1);
        self.hint.set(i);
        self.starts[i].1
    }

    /// Bytes not yet consumed.
    fn pending(&self) -> usize {
        self.text.len() - self.pos
    }

    /// Appends a chunk of input, numbering its lines. A UTF-8 sequence cut
    /// at the chunk's end waits for the next chunk.
    fn append(&mut self, file: &str, chunk: &[u8]) -> Result<(), InputError> {
        let mut bytes = std::mem::take(&mut self.carry);
        bytes.extend_from_slice(chunk);
        let valid = match std::str::from_utf8(&bytes) {
            Ok(_) => bytes.len(),
            // A sequence cut short at the end waits for the next chunk.
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(e) => {
                let before = &bytes[..e.valid_up_to()];
                let line = self.line() + memchr::memchr_iter(b'\n', before).count() as u64;
                let byte = match memchr::memrchr(b'\n', before) {
                    Some(n) => before.len() - n,
                    None => self.line_bytes + before.len() + 1,
                };
                return Err(InputError::new(file, line, InputErrorKind::InvalidUtf8 { byte }));
            }
        };
        let (ok, rest) = bytes.split_at(valid);
        let mut text = std::str::from_utf8(ok).unwrap_or_default();
        if self.at_start && !text.is_empty() {
            // A UTF-8 byte order mark is not part of the text.
            text = text.strip_prefix('\u{feff}').unwrap_or(text);
            self.at_start = false;
        }
        let base = self.text.len();
        self.text.push_str(text);
        let mut line = self.line();
        let mut last_nl = None;
        for n in memchr::memchr_iter(b'\n', text.as_bytes()) {
            line += 1;
            self.starts.push((base + n + 1, line));
            last_nl = Some(n);
        }
        self.line_bytes = match last_nl {
            Some(n) => text.len() - n - 1,
            None => self.line_bytes + text.len(),
        };
        self.carry = rest.to_vec();
        Ok(())
    }

    /// Drops consumed text once it is at least half the window.
    fn compact(&mut self) {
        if self.pos == 0 || self.pos < self.text.len() / 2 {
            return;
        }
        let first_line = self.line_at(self.pos);
        let cut = self.pos;
        self.text.drain(..cut);
        self.starts.retain(|&(o, _)| o > cut);
        for s in &mut self.starts {
            s.0 -= cut;
        }
        self.starts.insert(0, (0, first_line));
        self.hint.set(0);
        self.pos = 0;
    }
}

pub(crate) fn read<R: BufRead, T: EventTarget>(
    file: &str,
    r: R,
    opts: &ReadOptions,
    format: Format,
    target: T,
) -> Result<T::Output, InputError> {
    read_with(file, r, opts, format, target, true)
}

/// [`read`], with the op-map fast path on or off (off: every form goes
/// through the general parser, the reference the equivalence tests compare
/// with).
pub(crate) fn read_with<R: BufRead, T: EventTarget>(
    file: &str,
    mut r: R,
    opts: &ReadOptions,
    format: Format,
    target: T,
    fast: bool,
) -> Result<T::Output, InputError> {
    let flavour = if format == Format::PorcupineKv { EdnFlavour::PorcupineKv } else { EdnFlavour::Jepsen };
    let file = file.to_string();
    let mut sink = Sink::new(&file, opts.independent_for(format), target);
    let mut w = Window::new();
    let mut state = State::Start;
    // Parse again only once the pending text has grown to this many bytes.
    let mut retry_at_bytes = 0usize;
    let mut eof = false;
    let err = |line: u64, kind: InputErrorKind| InputError::new(&file, line, kind);
    let too_long = |w: &Window| {
        let line = w.line_at(edn::skip_ws(w.text.as_bytes(), w.pos));
        InputError::new(&file, line, InputErrorKind::LineTooLong { limit_bytes: opts.max_line_bytes })
    };
    loop {
        if !eof {
            let chunk = match r.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(err(w.line(), InputErrorKind::Io(e.to_string()))),
            };
            if chunk.is_empty() {
                eof = true;
                if !w.carry.is_empty() {
                    // The file ends inside a UTF-8 sequence.
                    return Err(err(w.line(), InputErrorKind::InvalidUtf8 { byte: w.line_bytes + 1 }));
                }
            } else {
                let n = chunk.len().min(CHUNK_BYTES);
                w.append(&file, &chunk[..n])?;
                r.consume(n);
            }
        }
        // Within the limit, wait for more text before parsing again.
        if !eof && w.pending() < retry_at_bytes && w.pending() <= opts.max_line_bytes {
            continue;
        }
        // Parse whole lines only while more input may come: no token or
        // comment goes on past a newline, so none is cut. Only a line
        // longer than the window (a one-line history) is parsed up to the
        // window's end, where `cut` says a token or comment may go on.
        let limit = match memchr::memrchr(b'\n', &w.text.as_bytes()[w.pos..]) {
            Some(n) if !eof => w.pos + n + 1,
            _ => w.text.len(),
        };
        let cut = !eof && limit == w.text.len() && !w.text.ends_with('\n');
        // Consume every complete form in the window.
        loop {
            let at = edn::skip_ws(&w.text.as_bytes()[..limit], w.pos);
            let next_byte = w.text.as_bytes()[..limit].get(at).copied();
            match state {
                State::Start => match next_byte {
                    None => {
                        // What was skipped may be a comment that goes on.
                        if !cut {
                            w.pos = at;
                        }
                        break;
                    }
                    Some(c @ (b'[' | b'(')) => {
                        state = State::InSeq { close: if c == b'[' { b']' } else { b')' }, line: w.line_at(at) };
                        w.pos = at + 1;
                        continue;
                    }
                    Some(_) => {
                        state = State::Forms;
                        continue;
                    }
                },
                State::InSeq { close, .. } if next_byte == Some(close) => {
                    state = State::Closed;
                    w.pos = at + 1;
                    continue;
                }
                State::Closed => match next_byte {
                    None => {
                        // What was skipped may be a comment that goes on.
                        if !cut {
                            w.pos = at;
                        }
                        break;
                    }
                    Some(_) => {
                        let found = edn::describe_at(&w.text[..limit], at);
                        let expected = "end of file after the closing bracket of the history".into();
                        return Err(err(w.line_at(at), InputErrorKind::Syntax { format: "EDN", expected, found }));
                    }
                },
                State::InSeq { .. } | State::Forms => {}
            }
            // The usual Jepsen op map, scanned straight to its event; any
            // other form (or one too long) goes to the general parser.
            if fast && flavour == EdnFlavour::Jepsen && next_byte == Some(b'{') {
                if let Some(mut m) = edn_fast::op_map(&w.text.as_bytes()[..limit], at, opts.max_depth) {
                    if m.end - at <= opts.max_line_bytes {
                        m.event.line = w.line_at(at);
                        sink.push_parts(m.event, m.tuple)?;
                        w.pos = m.end;
                        retry_at_bytes = 0;
                        continue;
                    }
                }
            }
            match edn::next_form(&w.text[..limit], w.pos, opts.max_depth) {
                // A token that ends the text read so far may go on in the
                // next chunk (`12` of `123`): not a form yet.
                Ok(Next::Form { end, .. })
                    if cut && end == limit && edn::runs_to_end(&w.text.as_bytes()[..limit], end - 1) =>
                {
                    retry_at_bytes = 2 * w.pending();
                    break;
                }
                Ok(Next::Form { value, start, end }) => {
                    let line = w.line_at(start);
                    if end - start > opts.max_line_bytes {
                        let kind = InputErrorKind::LineTooLong { limit_bytes: opts.max_line_bytes };
                        return Err(err(line, kind));
                    }
                    let Value::Map(entries) = value else {
                        let kind = InputErrorKind::Syntax {
                            format: "EDN",
                            expected: "an op map {:type ... :f ... :process ...}".into(),
                            found: format!("`{}`", quote(&value)),
                        };
                        return Err(err(line, kind));
                    };
                    let e = event_from_edn(entries.into_entries(), line, flavour).map_err(|k| err(line, k))?;
                    sink.push(e)?;
                    w.pos = end;
                    retry_at_bytes = 0;
                }
                Ok(Next::End { offset }) => {
                    // Only whitespace, discarded forms and comments are
                    // left; when cut, one may go on (`#_ 12` of `#_ 123`, a
                    // comment), so they are read again with what follows.
                    if cut {
                        retry_at_bytes = 2 * w.pending();
                    } else {
                        w.pos = offset;
                    }
                    break;
                }
                Ok(Next::Close { ch, offset }) => {
                    let expected = match state {
                        State::InSeq { close, .. } => format!("an op map or `{}`", close as char),
                        _ => "an op map".into(),
                    };
                    let found = format!("`{}`", ch as char);
                    return Err(err(w.line_at(offset), InputErrorKind::Syntax { format: "EDN", expected, found }));
                }
                Err(EdnError { kind: EdnErrorKind::Eof { expected }, .. }) => {
                    if eof {
                        let line = w.line_at(edn::skip_ws(&w.text.as_bytes()[..limit], w.pos));
                        let found = "end of file".into();
                        let kind = InputErrorKind::Syntax { format: "EDN", expected: expected.into(), found };
                        return Err(err(line, kind));
                    }
                    // One form is unfinished: it alone must keep within the limit.
                    if w.pending() > opts.max_line_bytes {
                        return Err(too_long(&w));
                    }
                    retry_at_bytes = 2 * w.pending();
                    break;
                }
                Err(EdnError { kind: EdnErrorKind::TooDeep, offset }) => {
                    return Err(err(w.line_at(offset), InputErrorKind::TooDeep { limit: opts.max_depth }));
                }
                Err(EdnError { kind: EdnErrorKind::Syntax { .. }, offset })
                    if cut && edn::runs_to_end(&w.text.as_bytes()[..limit], offset) =>
                {
                    // The error is in a token that the end of the text read
                    // so far may have cut (a chunk ending right after the
                    // `:` of `:ok`): judge it once more text has come, as
                    // an unfinished form.
                    if w.pending() > opts.max_line_bytes {
                        return Err(too_long(&w));
                    }
                    retry_at_bytes = 2 * w.pending();
                    break;
                }
                Err(EdnError { kind: EdnErrorKind::Syntax { expected, found }, offset }) => {
                    return Err(err(w.line_at(offset), InputErrorKind::Syntax { format: "EDN", expected, found }));
                }
            }
        }
        w.compact();
        if eof {
            break;
        }
    }
    if let State::InSeq { close, line } = state {
        let expected = format!("`{}` closing the history opened at line {line}", close as char);
        let kind = InputErrorKind::Syntax { format: "EDN", expected, found: "end of file".into() };
        // The last line with text (a final newline starts no line).
        let last = if w.line_bytes == 0 { w.line().saturating_sub(1).max(1) } else { w.line() };
        return Err(err(last, kind));
    }
    Ok(sink.finish()?.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{History, HistoryBuilder, Outcome};

    fn run(s: &str) -> Result<History, InputError> {
        run_opts(s, &ReadOptions::default())
    }
    fn run_opts(s: &str, opts: &ReadOptions) -> Result<History, InputError> {
        read("h.edn", s.as_bytes(), opts, Format::Edn, HistoryBuilder::new("h.edn"))
    }

    /// A chunk that ended right after the `:` of a keyword (`{:type :` |
    /// `ok, ...}`) made the reader report "expected a keyword name after
    /// `:`" for a valid line (line 102116 of a generated 1M-op history.edn,
    /// at the 33rd 256 KiB chunk). Every cut of every token must read the
    /// same as the whole text.
    #[test]
    fn token_cut_by_a_chunk_boundary_is_read_whole() {
        let text = "[#jepsen.history.Op{:type :invoke, :f :write, :process 0, :value [:k-1 ##Inf], :time 12}\n\
                    {:type :ok, :f :write, :process 0, :value [:k-1 ##-Inf], :time -5, :index 1}\n\
                    {:type :invoke, :f :cas, :process 1, :value [1.5M [\\a \"s\\\"t\" 1e3]], :time 1000} ; c\n\
                    {:type :info, :f :cas, :process 1, :value #{-7 12345678901234567890N}}]\n";
        // The same ops as a sequence of maps, with discarded tokens between them.
        let forms = "#_ 12345 {:type :invoke, :f :write, :process 0, :value [:k-1 ##Inf], :time 12} #_ -3.25\n\
                     {:type :ok, :f :write, :process 0, :value [:k-1 ##-Inf], :time -5, :index 1} #_ :x ; c";
        for text in [text, forms] {
            let whole = format!("{:?}", run(text).unwrap());
            for cap in 1..=24 {
                let r = std::io::BufReader::with_capacity(cap, text.as_bytes());
                let got = read("h.edn", r, &ReadOptions::default(), Format::Edn, HistoryBuilder::new("h.edn"));
                assert_eq!(format!("{:?}", got.unwrap()), whole, "chunks of {cap} bytes");
            }
        }
        // A genuine error at the end of the file is still reported as one.
        let bad = "{:type :invoke, :f :write, :process 0, :value ::}";
        for cap in [1, 5, 64] {
            let r = std::io::BufReader::with_capacity(cap, bad.as_bytes());
            let e = read("h.edn", r, &ReadOptions::default(), Format::Edn, HistoryBuilder::new("h.edn")).unwrap_err();
            assert!(matches!(e.kind, InputErrorKind::Syntax { .. }), "{cap}: {e}");
        }
    }

    #[test]
    fn vector_history_with_nemesis_and_multiline_ops() {
        let h = run("[{:type :invoke, :f :write, :process 0, :value 1}\n \
             {:type :info, :f :start, :process :nemesis, :value nil}\n \
             {:type :ok,\n  :f :write,\n  :process 0,\n  :value 1}\n \
             #_ {:ignored true}\n \
             #jepsen.history.Op{:type :invoke, :f :read, :process 1, :value nil, :index 7}\n]\n")
        .unwrap();
        assert_eq!(h.ops.len(), 2);
        assert_eq!(h.faults.len(), 1);
        assert_eq!(h.faults[0].line, 2);
        assert_eq!(h.ops[0].complete_line, Some(3));
        assert_eq!(h.ops[0].outcome, Outcome::Ok);
        assert_eq!(h.ops[1].invoke_line, 8);
        assert_eq!(h.ops[1].outcome, Outcome::Info);
    }

    #[test]
    fn map_per_line_and_list_forms() {
        let h = run("{:type :invoke, :f :read, :process 0, :value nil}\n; comment\n\n{:type :ok, :f :read, :process 0, :value 3}\n").unwrap();
        assert_eq!(h.ops[0].output, Value::Int(3));
        assert_eq!(h.ops[0].complete_line, Some(4));
        let h = run("({:type :invoke, :f :read, :process 0, :value nil})").unwrap();
        assert_eq!(h.ops.len(), 1);
    }

    #[test]
    fn errors_name_lines() {
        let e =
            run("[{:type :invoke, :f :read, :process 0, :value nil}\n{:type :ok, :f :read, :process 0, :value 3}\n")
                .unwrap_err();
        assert_eq!(e.line, 2);
        assert!(matches!(&e.kind, InputErrorKind::Syntax { expected, .. } if expected.contains("line 1")), "{e}");
        let e = run("{:type :invoke, :f :read, :process 0, :value nil}\n{:type :ok, :f :read, :proc").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(matches!(&e.kind, InputErrorKind::Syntax { found, .. } if found == "end of file"), "{e}");
        let e = run("[{:type :invoke, :f :read, :process 0, :value nil}] x").unwrap_err();
        assert!(matches!(e.kind, InputErrorKind::Syntax { .. }));
        let e = run("{:type :invoke, :f :read, :process 0, :value nil}\n[1 2]\n").unwrap_err();
        assert_eq!(e.line, 2);
        let e = run("{:type :invoke, :f :read, :process 0, :value nil}\n]\n").unwrap_err();
        assert_eq!(e.line, 2);
        let e = run("{:type :ok, :f :read, :process 0, :value nil}\n").unwrap_err();
        assert!(matches!(e.kind, InputErrorKind::CompletionWithoutInvoke { process: 0, .. }));
        let e = run("{:type :invoke, :f :read, :process 0, :value nil, :index 3}\n{:type :ok, :f :read, :process 0, :value nil, :index 3}").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(matches!(e.kind, InputErrorKind::IndexNotIncreasing { index: 3, previous: 3, previous_line: 1 }));
        let e = run("\n\n{:type :invoke, :f :read, :process 0, :value \"\\q\"}").unwrap_err();
        assert_eq!(e.line, 3);
        assert_eq!(run("").unwrap_err().kind, InputErrorKind::Empty);
        assert_eq!(run("[]").unwrap_err().kind, InputErrorKind::Empty);
        let deep = format!("[{}", "[".repeat(100_000));
        assert!(matches!(run(&deep).unwrap_err().kind, InputErrorKind::TooDeep { limit: 128 }));
    }

    #[test]
    fn pending_form_is_bounded() {
        let opts = ReadOptions { max_line_bytes: 64, ..ReadOptions::default() };
        let mut s = String::from("{:type :invoke, :f :read, :process 0, :value nil}\n{:type :ok,\n");
        for _ in 0..20 {
            s.push_str(":x 1\n");
        }
        let e = run_opts(&s, &opts).unwrap_err();
        assert_eq!(e.kind, InputErrorKind::LineTooLong { limit_bytes: 64 });
        assert_eq!(e.line, 2);
    }

    #[test]
    fn multiline_strings_and_long_forms() {
        let mut s = String::from(
            "[{:type :invoke, :f :write, :process 0, :value \"a\nb\"}\n{:type :ok, :f :write, :process 0, :value\n[",
        );
        for i in 0..5000 {
            s.push_str(&format!("{i}\n"));
        }
        s.push_str("]}\n{:type :invoke, :f :read, :process :nemesis, :value nil}]");
        let h = run(&s).unwrap();
        assert_eq!(h.ops[0].input, Value::str("a\nb"));
        assert_eq!(h.ops[0].output.as_seq().map(|v| v.len()), Some(5000));
        // Line 4 is `[0`, lines 5..=5003 hold 1..=4999, line 5004 is `]}`.
        assert_eq!(h.faults[0].line, 5005);
    }
}
