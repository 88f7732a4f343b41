//! EDN histories: Jepsen's `history.edn` (a top-level vector or list of op
//! maps, or a sequence of op maps, usually one per line) and Porcupine's kv
//! files (one map per line).
//!
//! Streaming: lines are appended to a window that holds only the form being
//! parsed, so memory is bounded by the largest single op (limited by
//! `max_line_bytes`), even for a whole-file vector. A form split across lines
//! is re-tried only after the pending text doubles, which keeps re-parsing
//! linear overall. With `Independent::Auto` the events themselves may be
//! buffered (see [`super::event::Sink`]).

use super::edn::{self, EdnError, EdnErrorKind, Next};
use super::event::{event_from_edn, quote, EdnFlavour, Sink};
use super::lines::{utf8, LineReader};
use super::{Format, ReadOptions};
use crate::error::{InputError, InputErrorKind};
use crate::history::EventTarget;
use crate::value::Value;
use std::io::BufRead;

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
    /// (byte offset in `text`, line number) for each line in `text`.
    starts: Vec<(usize, u64)>,
    /// Everything before `pos` has been consumed.
    pos: usize,
}

impl Window {
    fn line_at(&self, offset: usize) -> u64 {
        let i = self.starts.partition_point(|&(o, _)| o <= offset);
        self.starts.get(i.saturating_sub(1)).map_or(1, |s| s.1)
    }

    fn compact(&mut self) {
        if self.pos == self.text.len() {
            self.text.clear();
            self.starts.clear();
            self.pos = 0;
        } else if self.pos > 0 && self.pos >= self.text.len() / 2 {
            let keep_from = self.starts.partition_point(|&(o, _)| o <= self.pos).saturating_sub(1);
            let Some(&(cut, _)) = self.starts.get(keep_from) else { return };
            self.text.drain(..cut);
            self.starts.drain(..keep_from);
            for s in &mut self.starts {
                s.0 -= cut;
            }
            self.pos -= cut;
        }
    }
}

pub(crate) fn read<R: BufRead, T: EventTarget>(
    lines: &mut LineReader<R>,
    opts: &ReadOptions,
    format: Format,
    target: T,
) -> Result<T::Output, InputError> {
    let flavour = if format == Format::PorcupineKv { EdnFlavour::PorcupineKv } else { EdnFlavour::Jepsen };
    let file = lines.file().to_string();
    let mut sink = Sink::new(&file, opts.independent_for(format), target);
    let mut w = Window { text: String::new(), starts: Vec::new(), pos: 0 };
    let mut state = State::Start;
    // Parse again only once the pending text has grown to this many bytes.
    let mut retry_at_bytes = 0usize;
    let mut eof = false;
    let err = |line: u64, kind: InputErrorKind| InputError::new(&file, line, kind);
    loop {
        if !eof {
            match lines.next_line()? {
                Some((line, bytes)) => {
                    let text = utf8(&file, line, bytes)?;
                    if w.text.len() - w.pos + text.len() > opts.max_line_bytes {
                        let first = if w.pos < w.text.len() { w.line_at(w.pos) } else { line };
                        return Err(err(first, InputErrorKind::LineTooLong { limit_bytes: opts.max_line_bytes }));
                    }
                    w.starts.push((w.text.len(), line));
                    w.text.push_str(text);
                    w.text.push('\n');
                }
                None => eof = true,
            }
        }
        if !eof && w.text.len() - w.pos < retry_at_bytes {
            continue;
        }
        // Consume every complete form in the window.
        loop {
            let at = edn::skip_ws(w.text.as_bytes(), w.pos);
            let next_byte = w.text.as_bytes().get(at).copied();
            match state {
                State::Start => match next_byte {
                    None => {
                        w.pos = at;
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
                        w.pos = at;
                        break;
                    }
                    Some(_) => {
                        let found = edn::describe_at(&w.text, at);
                        let expected = "end of file after the closing bracket of the history".into();
                        return Err(err(w.line_at(at), InputErrorKind::Syntax { format: "EDN", expected, found }));
                    }
                },
                State::InSeq { .. } | State::Forms => {}
            }
            match edn::next_form(&w.text, w.pos, opts.max_depth) {
                Ok(Next::Form { value, start, end }) => {
                    let line = w.line_at(start);
                    let Value::Map(entries) = value else {
                        let kind = InputErrorKind::Syntax {
                            format: "EDN",
                            expected: "an op map {:type ... :f ... :process ...}".into(),
                            found: format!("`{}`", quote(&value)),
                        };
                        return Err(err(line, kind));
                    };
                    let e = event_from_edn(entries, line, flavour).map_err(|k| err(line, k))?;
                    sink.push(e)?;
                    w.pos = end;
                    retry_at_bytes = 0;
                }
                Ok(Next::End { offset }) => {
                    w.pos = offset;
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
                        let line = w.line_at(edn::skip_ws(w.text.as_bytes(), w.pos));
                        let found = "end of file".into();
                        let kind = InputErrorKind::Syntax { format: "EDN", expected: expected.into(), found };
                        return Err(err(line, kind));
                    }
                    retry_at_bytes = 2 * (w.text.len() - w.pos);
                    break;
                }
                Err(EdnError { kind: EdnErrorKind::TooDeep, offset }) => {
                    return Err(err(w.line_at(offset), InputErrorKind::TooDeep { limit: opts.max_depth }));
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
        return Err(err(lines.line_no().max(1), kind));
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
        let mut lines = LineReader::new("h.edn", s.as_bytes(), opts.max_line_bytes);
        read(&mut lines, opts, Format::Edn, HistoryBuilder::new("h.edn"))
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
