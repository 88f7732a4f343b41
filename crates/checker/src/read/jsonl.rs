//! The native JSON Lines reader: one event object per line, each parsed by
//! [`super::json`]. Big inputs are parsed in parallel, batch by batch, with
//! the events still pushed in line order (see [`read`]).

use super::event::Sink;
use super::lines::is_blank;
use super::ReadOptions;
use crate::error::{InputError, InputErrorKind};
use crate::history::{Event, EventTarget, EventType, Process, RawTxn, F};
use crate::value::Value;
use rayon::prelude::*;
use std::io::Read;

/// A batch closes once it holds this many bytes of line text: 2 MiB is
/// about 25k typical lines, enough that a rayon split costs nothing next to
/// the parse, and small enough that the two batches in flight stay a few MB
/// (each batch is at most this plus one line of `max_line_bytes`).
const BATCH_BYTES: usize = 2 << 20;
/// ... or this many lines, whichever comes first, so that files of tiny lines
/// do not queue hundreds of thousands of parsed events per batch.
const BATCH_LINES: usize = 32 << 10;

/// Reads a whole JSON Lines history, streaming.
///
/// The input is read in bulk into bounded batches of whole lines; the lines of a batch are parsed in
/// parallel while the events of the previous batch are pushed, in line
/// order, on this thread. An input that fits in one batch is parsed
/// sequentially. Errors are the ones a line-by-line reader would give: the
/// first in line order, whether from the line reader, the parse or the push.
pub(crate) fn read<R: Read, T: EventTarget>(
    lines: &mut Blocks<R>,
    opts: &ReadOptions,
    target: T,
) -> Result<T::Output, InputError> {
    read_batched(lines, opts, target, BATCH_BYTES, BATCH_LINES)
}

/// Non-blank lines copied from the line reader, in order.
#[derive(Default)]
struct Batch {
    text: Vec<u8>,
    /// (line number, start, end) of each line in `text`.
    lines: Vec<(u64, usize, usize)>,
    /// The line reader's error that ended the input: it comes after every
    /// line in the batch.
    error: Option<InputError>,
    /// No line follows this batch (end of input, or `error`).
    last: bool,
}

/// The raw input, cut into lines block by block: bytes are read in bulk
/// into a batch's buffer and lines are found in place (no copy per line).
pub(crate) struct Blocks<R> {
    inner: R,
    file: String,
    /// The start of a line that the last batch could not finish.
    carry: Vec<u8>,
    /// Number of the next line (1-based).
    next_line: u64,
    max_line_bytes: usize,
    eof: bool,
    /// Nothing read yet (a byte order mark may come).
    at_start: bool,
}

/// Bytes asked of the reader at a time.
const READ_BYTES: usize = 1 << 20;

impl<R: Read> Blocks<R> {
    pub(crate) fn new(file: &str, inner: R, max_line_bytes: usize) -> Blocks<R> {
        Blocks {
            inner,
            file: file.to_string(),
            carry: Vec::new(),
            next_line: 1,
            max_line_bytes,
            eof: false,
            at_start: true,
        }
    }

    /// Appends up to `READ_BYTES` to `text`; sets `eof` at the end.
    fn read_more(&mut self, text: &mut Vec<u8>) -> Result<(), InputError> {
        let len = text.len();
        // Read into the spare capacity: `read_to_end` does not zero it first
        // (a zeroed 1 MiB per read was 3.7% of a 1M-op check's samples).
        text.reserve(READ_BYTES);
        let n = match (&mut self.inner).take(READ_BYTES as u64).read_to_end(text) {
            Ok(n) => n,
            Err(e) => {
                text.truncate(len);
                return Err(InputError::new(&self.file, self.next_line, InputErrorKind::Io(e.to_string())));
            }
        };
        if n == 0 {
            self.eof = true;
        }
        if self.at_start && (text.len() >= 3 || self.eof) {
            self.at_start = false;
            // A UTF-8 byte order mark is not part of the first line.
            if text.starts_with(b"\xef\xbb\xbf") {
                text.drain(..3);
            }
        }
        Ok(())
    }
}

impl Batch {
    /// Refills the batch with the next non-blank lines: at least one line
    /// unless the input has ended, at most `max_lines`, and no more once
    /// `max_bytes` are taken.
    fn fill<R: Read>(&mut self, src: &mut Blocks<R>, max_bytes: usize, max_lines: usize) {
        self.lines.clear();
        self.error = None;
        self.last = false;
        // The carried start of a line comes first.
        self.text.clear();
        std::mem::swap(&mut self.text, &mut src.carry);
        let mut scan = 0;
        loop {
            while let Some(n) = memchr::memchr(b'\n', &self.text[scan..]) {
                let (start, end) = (scan, scan + n);
                if self.take_line(src, start, end) {
                    return;
                }
                scan = end + 1;
                if self.lines.len() >= max_lines || scan >= max_bytes {
                    src.carry.extend_from_slice(&self.text[scan..]);
                    self.text.truncate(scan);
                    return;
                }
            }
            // No line ends in text[scan..].
            if self.text.len() - scan > src.max_line_bytes {
                let limit_bytes = src.max_line_bytes;
                self.error =
                    Some(InputError::new(&src.file, src.next_line, InputErrorKind::LineTooLong { limit_bytes }));
                self.last = true;
                return;
            }
            if src.eof {
                // A last line without `\n` is still a line.
                if scan < self.text.len() {
                    let end = self.text.len();
                    if self.take_line(src, scan, end) {
                        return;
                    }
                }
                self.last = true;
                return;
            }
            if let Err(e) = src.read_more(&mut self.text) {
                self.error = Some(e);
                self.last = true;
                return;
            }
        }
    }

    /// Files the line `text[start..end]` (without its `\n`); true when it
    /// ends the input (too long: the error follows the lines before it).
    fn take_line<R>(&mut self, src: &mut Blocks<R>, start: usize, end: usize) -> bool {
        let line = src.next_line;
        src.next_line += 1;
        if end - start > src.max_line_bytes {
            let limit_bytes = src.max_line_bytes;
            self.error = Some(InputError::new(&src.file, line, InputErrorKind::LineTooLong { limit_bytes }));
            self.last = true;
            return true;
        }
        if !is_blank(&self.text[start..end]) {
            self.lines.push((line, start, end));
        }
        false
    }

    fn line(&self, i: usize) -> (u64, &[u8]) {
        let (line, start, end) = self.lines[i];
        (line, &self.text[start..end])
    }

    /// Parses every line, in parallel; `out[i]` is line `i`'s result.
    /// The usual line is parsed into its slot in place (see
    /// [`super::json_fast::event_into`]).
    fn parse_all(&self, file: &str, p: Parse, out: &mut Vec<Parsed>) {
        out.clear();
        out.resize_with(self.lines.len(), || {
            Ok((Event::new(0, EventType::Invoke, Process::Anonymous, F::Read, Value::Nil), None))
        });
        out.par_iter_mut()
            .enumerate()
            // A few hundred lines per task: rayon's split costs next to nothing.
            .with_min_len(256)
            .for_each(|(i, slot)| {
                let (line, bytes) = self.line(i);
                if let Ok((e, None)) = slot {
                    if super::json_fast::event_into(bytes, line, p.max_depth, e) {
                        return;
                    }
                }
                *slot = super::json::parse_line_general(bytes, line, p.max_depth, p.raw_txn)
                    .map_err(|kind| InputError::new(file, line, kind));
            });
    }
}

/// How lines are parsed: the nesting bound, and whether `txn` micro-ops
/// are scanned raw for the target ([`EventTarget::wants_raw_txn`]).
#[derive(Clone, Copy)]
struct Parse {
    max_depth: usize,
    raw_txn: bool,
}

/// A parsed line: its event and, for a raw-scanned txn, its micro-ops.
type Parsed = Result<(Event, Option<Box<RawTxn>>), InputError>;

/// Parses one non-blank line given as bytes.
fn parse_bytes(file: &str, line: u64, bytes: &[u8], p: Parse) -> Parsed {
    super::json::parse_line_raw(bytes, line, p.max_depth, p.raw_txn).map_err(|kind| InputError::new(file, line, kind))
}

/// Pushes parsed lines in order, stopping at the first error.
fn push_all<T: EventTarget>(sink: &mut Sink<T>, parsed: &mut Vec<Parsed>) -> Result<(), InputError> {
    for r in parsed.drain(..) {
        let (e, raw) = r?;
        sink.push_raw(e, raw)?;
    }
    Ok(())
}

/// [`read`] with the batch bounds as parameters (tests use tiny ones).
fn read_batched<R: Read, T: EventTarget>(
    lines: &mut Blocks<R>,
    opts: &ReadOptions,
    target: T,
    batch_bytes: usize,
    batch_lines: usize,
) -> Result<T::Output, InputError> {
    let file = lines.file.clone();
    let mut sink = Sink::new(&file, opts.independent_for(super::Format::Jsonl), target);
    let p = Parse { max_depth: opts.max_depth, raw_txn: sink.wants_raw_txn() };
    let mut cur = Batch::default();
    cur.fill(lines, batch_bytes, batch_lines);
    if cur.last {
        // Small input: parse and push line by line, no threads.
        for i in 0..cur.lines.len() {
            let (line, bytes) = cur.line(i);
            let (e, raw) = parse_bytes(&file, line, bytes, p)?;
            sink.push_raw(e, raw)?;
        }
        return match cur.error {
            Some(e) => Err(e),
            None => Ok(sink.finish()?.0),
        };
    }
    // Two batches in flight. Invariant at the top of the loop: `parsed`
    // holds the events of `cur` (whose text is no longer needed), and unless
    // `cur` is the last batch, `next` holds the following lines, unparsed.
    // Each round parses `next` on the rayon pool while this thread pushes
    // `parsed` and then refills `cur`'s buffers with the lines after `next`.
    // So at most two batches' text and two batches' events are held.
    let mut parsed = Vec::new();
    cur.parse_all(&file, p, &mut parsed);
    let mut next = Batch::default();
    next.fill(lines, batch_bytes, batch_lines);
    let mut next_parsed = Vec::new();
    while !cur.last {
        // The sink and the line reader stay on this thread (neither need be
        // `Send`). If a push fails, the scope still waits for the parse of
        // `next`, whose results are dropped: they belong to later lines.
        let pushed = rayon::in_place_scope(|s| {
            let (next, next_parsed, file) = (&next, &mut next_parsed, &file);
            s.spawn(move |_| next.parse_all(file, p, next_parsed));
            push_all(&mut sink, &mut parsed)?;
            if !next.last {
                cur.fill(lines, batch_bytes, batch_lines);
            }
            Ok::<(), InputError>(())
        });
        pushed?;
        std::mem::swap(&mut cur, &mut next);
        std::mem::swap(&mut parsed, &mut next_parsed);
    }
    push_all(&mut sink, &mut parsed)?;
    match cur.error {
        Some(e) => Err(e),
        None => Ok(sink.finish()?.0),
    }
}

#[cfg(test)]
mod tests {
    /// Parallel batching: tiny batches so that small inputs span many.
    mod batched {
        use super::super::*;
        use crate::error::InputErrorKind;
        use crate::history::{History, HistoryBuilder};

        use crate::read::tests::Recorder;

        /// No batch limit: one batch, the sequential path.
        const SEQ: (usize, usize) = (usize::MAX, usize::MAX);
        /// Batch bounds that split test inputs many ways, including batches
        /// closed by bytes (a few lines) and by line count.
        const SPLITS: [(usize, usize); 6] =
            [(1, usize::MAX), (200, usize::MAX), (usize::MAX, 1), (usize::MAX, 7), (1000, 10), (64 << 10, 256)];

        fn read_into<T: EventTarget>(
            text: &[u8],
            split: (usize, usize),
            max_line_bytes: usize,
            target: T,
        ) -> Result<T::Output, InputError> {
            let mut lines = Blocks::new("t.jsonl", text, max_line_bytes);
            read_batched(&mut lines, &ReadOptions::default(), target, split.0, split.1)
        }

        fn history(text: &[u8], split: (usize, usize)) -> Result<History, InputError> {
            read_into(text, split, 1 << 20, HistoryBuilder::new("t.jsonl"))
        }

        fn events(text: &[u8], split: (usize, usize)) -> Result<Vec<Event>, InputError> {
            read_into(text, split, 1 << 20, Recorder(Vec::new()))
        }

        /// A valid history of `ops` ops over 8 processes with assorted
        /// values, blank lines, escapes, unknown fields and a nemesis event.
        fn valid(ops: u64) -> String {
            let mut out = String::from("\u{feff}");
            for i in 0..ops {
                let p = i % 8;
                let t = 2 * i;
                let (f, v_in, v_out) = match i % 4 {
                    0 => ("write", format!("{i}"), format!("{i}")),
                    1 => ("read", "null".into(), format!("[{i},{{\"a\":\"x\\ny\"}},1.5]")),
                    2 => ("cas", format!("[{i},{}]", i + 1), format!("[{i},{}]", i + 1)),
                    _ => ("append", format!("\"s\\u00e9{i}\""), "null".into()),
                };
                out += &format!(
                    "{{\"type\":\"invoke\",\"process\":{p},\"f\":\"{f}\",\"key\":{},\"value\":{v_in},\"time\":{t}}}\n",
                    i % 5
                );
                if i % 97 == 0 {
                    out += "   \n\n";
                    out += &format!("{{\"type\":\"info\",\"process\":\"nemesis\",\"f\":\"kill\",\"value\":[\"n{i}\"],\"time\":{t}}}\n");
                }
                let kind = if i % 13 == 0 { "fail" } else { "ok" };
                out += &format!("{{\"type\":\"{kind}\",\"process\":{p},\"f\":\"{f}\",\"key\":{},\"value\":{v_out},\"time\":{},\"extra\":{{\"z\":[1]}}}}\n", i % 5, t + 1);
            }
            out
        }

        #[test]
        fn batched_reads_equal_the_sequential_read() {
            let text = valid(1500);
            let seq = events(text.as_bytes(), SEQ).unwrap();
            assert!(seq.len() > 3000, "{}", seq.len());
            let seq_history = format!("{:?}", history(text.as_bytes(), SEQ).unwrap());
            for split in SPLITS {
                assert_eq!(events(text.as_bytes(), split).unwrap(), seq, "{split:?}");
                assert_eq!(format!("{:?}", history(text.as_bytes(), split).unwrap()), seq_history, "{split:?}");
            }
            // The rayon thread count does not matter.
            for threads in [1, 3] {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                let got = pool.install(|| events(text.as_bytes(), (1000, 10))).unwrap();
                assert_eq!(got, seq, "{threads} threads");
            }
            // The public entry point: the default batch exceeds this input,
            // and a multi-batch input reads the same as one batch.
            let mut lines = Blocks::new("t.jsonl", text.as_bytes(), 1 << 20);
            assert_eq!(read(&mut lines, &ReadOptions::default(), Recorder(Vec::new())).unwrap(), seq);
            let big = valid(40_000);
            let mut lines = Blocks::new("t.jsonl", big.as_bytes(), 1 << 20);
            let got = read(&mut lines, &ReadOptions::default(), Recorder(Vec::new())).unwrap();
            assert!(big.len() > BATCH_BYTES, "{}", big.len());
            assert_eq!(got, events(big.as_bytes(), SEQ).unwrap());
        }

        /// `valid(ops)` split into lines, with line `at` (0-based) replaced.
        fn with_line(lines: &mut [String], at: usize, s: &str) {
            lines[at] = s.to_string();
        }

        const ORPHAN: &str = r#"{"type":"ok","process":99,"f":"read","value":null}"#;
        const BROKEN: &str = r#"{"type":"ok","process":1,"f":"#;

        fn check(lines: &[String], line: u64, is_kind: impl Fn(&InputErrorKind) -> bool) {
            let text = lines.join("\n");
            let seq = history(text.as_bytes(), SEQ).unwrap_err();
            assert_eq!(seq.line, line, "{seq}");
            assert!(is_kind(&seq.kind), "{seq}");
            for split in SPLITS {
                assert_eq!(history(text.as_bytes(), split).unwrap_err(), seq, "{split:?}");
            }
        }

        #[test]
        fn pairing_error_beats_later_syntax_error() {
            let base: Vec<String> = valid(300).lines().map(String::from).collect();
            let orphan = |k: &InputErrorKind| matches!(k, InputErrorKind::CompletionWithoutInvoke { process: 99, .. });
            // The broken line in the same batch, the next (parsed while the
            // orphan is pushed) and batches far later.
            for gap in [1, 2, 5, 9, 10, 11, 25, 200] {
                let mut lines = base.clone();
                with_line(&mut lines, 150, ORPHAN);
                with_line(&mut lines, 150 + gap, BROKEN);
                check(&lines, 151, orphan);
            }
        }

        #[test]
        fn syntax_error_beats_later_pairing_error() {
            let base: Vec<String> = valid(300).lines().map(String::from).collect();
            let syntax = |k: &InputErrorKind| matches!(k, InputErrorKind::Syntax { .. });
            for gap in [1, 2, 9, 10, 11, 200] {
                let mut lines = base.clone();
                with_line(&mut lines, 150, BROKEN);
                with_line(&mut lines, 150 + gap, ORPHAN);
                check(&lines, 151, syntax);
            }
            // Field errors and invalid UTF-8 are ordered the same way.
            let mut lines = base.clone();
            with_line(&mut lines, 40, r#"{"type":"ok","process":-1,"f":"read","value":null}"#);
            with_line(&mut lines, 41, ORPHAN);
            check(&lines, 41, |k| matches!(k, InputErrorKind::BadField { field: "process", .. }));
            let mut bytes = base.join("\n").into_bytes();
            let at = bytes.iter().position(|&b| b == b'p').unwrap();
            bytes[at] = 0xff; // inside line 1
            for split in SPLITS {
                let e = history(&bytes, split).unwrap_err();
                assert_eq!((e.line, e.kind), (1, InputErrorKind::InvalidUtf8 { byte: at + 1 - 3 }), "{split:?}");
            }
        }

        #[test]
        fn line_reader_errors_keep_their_place() {
            let base: Vec<String> = valid(300).lines().map(String::from).collect();
            let long = format!(r#"{{"type":"ok","process":1,"f":"read","value":"{}"}}"#, "x".repeat(500));
            let read_long = |lines: &[String], split| {
                let text = lines.join("\n");
                read_into(text.as_bytes(), split, 400, HistoryBuilder::new("t.jsonl")).unwrap_err()
            };
            for gap in [1, 10, 100] {
                // A pairing error before the long line wins ...
                let mut lines = base.clone();
                with_line(&mut lines, 150, ORPHAN);
                with_line(&mut lines, 150 + gap, &long);
                let seq = read_long(&lines, SEQ);
                assert!(matches!(seq.kind, InputErrorKind::CompletionWithoutInvoke { .. }) && seq.line == 151, "{seq}");
                for split in SPLITS {
                    assert_eq!(read_long(&lines, split), seq, "{split:?}");
                }
                // ... and the long line beats a later pairing error.
                let mut lines = base.clone();
                with_line(&mut lines, 150, &long);
                with_line(&mut lines, 150 + gap, ORPHAN);
                let seq = read_long(&lines, SEQ);
                assert_eq!((seq.line, &seq.kind), (151, &InputErrorKind::LineTooLong { limit_bytes: 400 }));
                for split in SPLITS {
                    assert_eq!(read_long(&lines, split), seq, "{split:?}");
                }
            }
        }

        #[test]
        fn errors_at_the_end() {
            // An unfinished op is reported by `finish`, after every line.
            let mut text = valid(100);
            text += r#"{"type":"invoke","process":1,"f":"read","value":null,"time":999}"#;
            text += "\n\n";
            let seq = history(text.as_bytes(), SEQ);
            for split in SPLITS {
                let got = history(text.as_bytes(), split);
                assert_eq!(format!("{got:?}"), format!("{seq:?}"), "{split:?}");
            }
            // Blank-only and empty inputs.
            for text in ["", "\n \n\t\n"] {
                let seq = format!("{:?}", history(text.as_bytes(), SEQ));
                for split in SPLITS {
                    assert_eq!(format!("{:?}", history(text.as_bytes(), split)), seq, "{split:?}");
                }
            }
        }

        /// Wall and CPU time of the batched reader against the one-batch
        /// (sequential) path on a big file, default `/tmp/h1m.jsonl`
        /// (`conch gen --workload register --ops 1000000`). Run with
        /// `cargo test --release -p conch-checker --lib read::jsonl::tests::batched::throughput -- --ignored --nocapture`.
        #[test]
        #[ignore]
        fn throughput() {
            let path = std::env::var("CONCH_JSONL_BENCH").unwrap_or_else(|_| "/tmp/h1m.jsonl".into());
            let cpu_s = || {
                let t = std::fs::read_to_string("/proc/self/stat").unwrap();
                let f: Vec<&str> = t.rsplit_once(')').unwrap().1.split_whitespace().collect();
                (f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap()) / 100.0
            };
            {
                // Phases, sequentially: copying lines into batches, parsing them.
                let file = std::fs::File::open(&path).unwrap();
                let mut lines = Blocks::new(&path, std::io::BufReader::with_capacity(256 << 10, file), 64 << 20);
                let mut b = Batch::default();
                let (mut read_s, mut parse_s, mut n) = (0.0, 0.0, 0);
                while !b.last {
                    let t = std::time::Instant::now();
                    b.fill(&mut lines, BATCH_BYTES, BATCH_LINES);
                    read_s += t.elapsed().as_secs_f64();
                    let t = std::time::Instant::now();
                    for i in 0..b.lines.len() {
                        let (line, bytes) = b.line(i);
                        n += parse_bytes(&path, line, bytes, Parse { max_depth: 127, raw_txn: false }).is_ok() as usize;
                    }
                    parse_s += t.elapsed().as_secs_f64();
                }
                println!("phases: {n} lines, read {read_s:.3} s, parse {parse_s:.3} s (sequential)");
            }
            for (name, split) in [
                ("sequential", SEQ),
                ("batched", (BATCH_BYTES, BATCH_LINES)),
                ("sequential", SEQ),
                ("batched", (BATCH_BYTES, BATCH_LINES)),
            ] {
                let file = std::fs::File::open(&path).unwrap();
                let mut lines = Blocks::new(&path, std::io::BufReader::with_capacity(256 << 10, file), 64 << 20);
                let (cpu0, start) = (cpu_s(), std::time::Instant::now());
                let h = read_batched(&mut lines, &ReadOptions::default(), HistoryBuilder::new(&path), split.0, split.1)
                    .unwrap();
                println!(
                    "{name}: {} events in {:.3} s wall, {:.2} s CPU",
                    h.events,
                    start.elapsed().as_secs_f64(),
                    cpu_s() - cpu0
                );
            }
        }
    }
}
