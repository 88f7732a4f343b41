//! Jepsen text logs: the `jepsen.util` op lines that Jepsen prints while a
//! test runs, e.g. `INFO  jepsen.util - 3<TAB>:invoke<TAB>:cas<TAB>[1 4]`.
//!
//! After `jepsen.util` (and an optional `-` or `:`) come, separated by tabs
//! or runs of spaces: the process (an integer or `:nemesis`), `:type`, `:f`,
//! then the value as one EDN form; anything after the value (Jepsen prints
//! an op's error there) is ignored. Lines without `jepsen.util`, and
//! `jepsen.util` lines that do not start with a process and a keyword, are
//! other log output and are skipped. A line that starts like an op but is
//! malformed is an error.

use super::edn::{self, EdnErrorKind, Next};
use super::event::{event_type, op_name, Sink};
use super::lines::{is_blank, utf8, LineReader};
use super::{Format, ReadOptions};
use crate::error::{InputError, InputErrorKind};
use crate::history::{Event, EventTarget, Process};
use std::io::BufRead;

const LOGGER: &str = "jepsen.util";

pub(crate) fn read<R: BufRead, T: EventTarget>(
    lines: &mut LineReader<R>,
    opts: &ReadOptions,
    target: T,
) -> Result<T::Output, InputError> {
    let mut sink = Sink::new(lines.file(), opts.independent_for(Format::JepsenLog), target);
    let file = lines.file().to_string();
    while let Some((line, bytes)) = lines.next_line()? {
        if is_blank(bytes) {
            continue;
        }
        let text = utf8(&file, line, bytes)?;
        match parse_line(text, line, opts.max_depth) {
            Ok(Some(e)) => sink.push(e)?,
            Ok(None) => {}
            Err(kind) => return Err(InputError::new(&file, line, kind)),
        }
    }
    Ok(sink.finish()?.0)
}

/// Splits off the next whitespace-separated token.
fn token(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.find(|c: char| c.is_ascii_whitespace()) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, ""),
    }
}

fn syntax(expected: &str, found: &str) -> InputErrorKind {
    InputErrorKind::Syntax { format: "Jepsen log", expected: expected.into(), found: found.into() }
}

/// `Ok(None)` for log lines that are not op events.
pub(crate) fn parse_line(text: &str, line: u64, max_depth: usize) -> Result<Option<Event>, InputErrorKind> {
    let Some(at) = text.find(LOGGER) else { return Ok(None) };
    let mut rest = text[at + LOGGER.len()..].trim_start();
    if let Some(r) = rest.strip_prefix(['-', ':']) {
        rest = r;
    }
    let (p, rest) = token(rest);
    let process = if p == ":nemesis" {
        Some(Process::Nemesis)
    } else if p.bytes().all(|b| b.is_ascii_digit()) && !p.is_empty() {
        match p.parse::<u64>() {
            Ok(n) => Some(Process::Client(n)),
            Err(_) => {
                return Err(InputErrorKind::BadField {
                    field: "process",
                    expected: "an integer that fits in 64 bits",
                    found: p.into(),
                })
            }
        }
    } else {
        None
    };
    let (t, rest) = token(rest);
    // Only `PROCESS :keyword ...` is an op line; anything else from
    // jepsen.util (timings, messages) is log noise.
    let (Some(process), Some(t)) = (process, t.strip_prefix(':')) else { return Ok(None) };
    let kind = event_type(t)?;
    let (f, rest) = token(rest);
    let f = match f.strip_prefix(':') {
        Some(name) => op_name(name)?,
        None if f.is_empty() => {
            return Err(InputErrorKind::MissingField { field: "f", expected: "the operation, e.g. :read" })
        }
        None => {
            return Err(InputErrorKind::BadField { field: "f", expected: "a keyword such as :read", found: f.into() })
        }
    };
    let value = match edn::next_form(rest, 0, max_depth) {
        Ok(Next::Form { value, .. }) => value,
        Ok(Next::End { .. }) => {
            return Err(InputErrorKind::MissingField { field: "value", expected: "an EDN value after the operation" })
        }
        Ok(Next::Close { offset, .. }) => return Err(syntax("an EDN value", &edn::describe_at(rest, offset))),
        Err(e) => {
            return Err(match e.kind {
                EdnErrorKind::TooDeep => InputErrorKind::TooDeep { limit: max_depth },
                EdnErrorKind::Eof { expected } => syntax(expected, "end of line"),
                EdnErrorKind::Syntax { expected, found } => syntax(&expected, &found),
            })
        }
    };
    Ok(Some(Event::new(line, kind, process, f, value)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{EventType, F};
    use crate::value::Value;

    fn p(s: &str) -> Result<Option<Event>, InputErrorKind> {
        parse_line(s, 4, 32)
    }

    #[test]
    fn op_lines_with_tabs_or_spaces() {
        let e = p("INFO  jepsen.util - 3\t:invoke\t:cas\t[1 4]").unwrap().unwrap();
        assert_eq!((e.line, e.kind, e.process, e.f), (4, EventType::Invoke, Process::Client(3), F::Cas));
        assert_eq!(e.value, Value::List(vec![1.into(), 4.into()]));
        let e = p("INFO  jepsen.util - 17  :info   :write  :timed-out").unwrap().unwrap();
        assert_eq!((e.kind, e.value), (EventType::Info, Value::str("timed-out")));
        let e = p("INFO  jepsen.util - :nemesis\t:info\t:start\tnil").unwrap().unwrap();
        assert_eq!((e.process, e.f), (Process::Nemesis, F::Other("start".into())));
        // Newer layout, and an error after the value.
        let e = p("2017-03-01 INFO [jepsen worker 1] jepsen.util: 1\t:fail\t:read\tnil\t:not-found").unwrap().unwrap();
        assert_eq!((e.kind, e.value), (EventType::Fail, Value::Nil));
    }

    #[test]
    fn noise_is_skipped() {
        assert_eq!(p("INFO  jepsen.core - Running test").unwrap(), None);
        assert_eq!(p("INFO  jepsen.util - Relative time begins now").unwrap(), None);
        assert_eq!(p("INFO  jepsen.util - 3 workers ready").unwrap(), None);
        assert_eq!(p("random text").unwrap(), None);
    }

    #[test]
    fn malformed_op_lines_are_errors() {
        assert_eq!(
            p("INFO  jepsen.util - 3\t:invok\t:cas\t[1 4]").unwrap_err(),
            InputErrorKind::UnknownType("invok".into())
        );
        assert!(matches!(
            p("INFO  jepsen.util - 3\t:invoke").unwrap_err(),
            InputErrorKind::MissingField { field: "f", .. }
        ));
        assert!(matches!(
            p("INFO  jepsen.util - 3\t:invoke\tcas\t1").unwrap_err(),
            InputErrorKind::BadField { field: "f", .. }
        ));
        assert!(matches!(
            p("INFO  jepsen.util - 3\t:invoke\t:cas").unwrap_err(),
            InputErrorKind::MissingField { field: "value", .. }
        ));
        assert!(matches!(p("INFO  jepsen.util - 3\t:invoke\t:cas\t[1 4").unwrap_err(), InputErrorKind::Syntax { .. }));
        assert!(matches!(p("INFO  jepsen.util - 3\t:invoke\t:cas\t]").unwrap_err(), InputErrorKind::Syntax { .. }));
        assert!(matches!(
            p("INFO  jepsen.util - 99999999999999999999999\t:invoke\t:cas\t1").unwrap_err(),
            InputErrorKind::BadField { field: "process", .. }
        ));
        let deep = format!("INFO  jepsen.util - 3\t:invoke\t:cas\t{}", "[".repeat(100_000));
        assert_eq!(p(&deep).unwrap_err(), InputErrorKind::TooDeep { limit: 32 });
    }
}
