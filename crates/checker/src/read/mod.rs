//! History readers: native JSON Lines, Jepsen EDN (`history.edn`), Jepsen text
//! logs and Porcupine kv files, each turned into a validated [`History`].
//!
//! Every reader streams lines through a bounded line reader and pushes
//! events into [`crate::HistoryBuilder`], which enforces the pairing rules.
//! Errors are [`InputError`]s naming the file and the 1-based line. No input
//! makes a reader panic; memory per line and nesting depth are limited by
//! [`ReadOptions`].

mod edn;
mod edn_fast;
mod edn_reader;
mod event;
mod jepsen_log;
mod json;
mod json_fast;
mod jsonl;
mod jsonl_serde;
mod lines;
mod packed;
#[cfg(test)]
mod tests;

use crate::error::{InputError, InputErrorKind};
use crate::history::{EventTarget, History, HistoryBuilder};
use lines::{is_blank, LineReader};
use std::fmt;
use std::io::BufRead;
use std::str::FromStr;

/// A history file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// conch's native JSON Lines.
    Jsonl,
    /// Jepsen `history.edn`: a vector of op maps, or one map per line.
    Edn,
    /// Jepsen text log (`INFO jepsen.util - 3 :invoke :cas [1 4]`).
    JepsenLog,
    /// Porcupine's kv test files: EDN maps with `:key`, f get/put/append.
    PorcupineKv,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Jsonl, Format::Edn, Format::JepsenLog, Format::PorcupineKv];

    pub fn name(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Edn => "edn",
            Format::JepsenLog => "jepsen-log",
            Format::PorcupineKv => "porcupine-kv",
        }
    }

    /// How an ok read of nil should be understood for histories in this
    /// format, unless the user says otherwise: Knossos/Jepsen treat nil as
    /// "unknown" (any state is legal); Porcupine's etcd model, which the
    /// Jepsen logs were checked with, and conch's own histories mean "absent".
    pub fn default_nil_read(self) -> NilRead {
        match self {
            Format::Edn => NilRead::Unknown,
            Format::JepsenLog | Format::Jsonl | Format::PorcupineKv => NilRead::Absent,
        }
    }
}

impl serde::Serialize for Format {
    /// As its name (`jsonl`, `edn`, ...), as in reports.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        Format::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| format!("unknown format `{s}`: expected jsonl, edn, jepsen-log or porcupine-kv"))
    }
}

/// What an ok read returning nil means to a register/kv model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NilRead {
    /// Knossos: a read of nil tells nothing, so it is always legal.
    Unknown,
    /// Porcupine's etcd model, conch: nil means the key is absent.
    Absent,
}

/// Whether `[k v]` op values are jepsen.independent tuples.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Independent {
    /// For EDN and Jepsen logs: yes iff every client event without an
    /// explicit key carries a `[k v]` value (for cas, `[k [old new]]`).
    /// Such histories are buffered as events until the answer is known.
    /// JSON Lines and Porcupine kv have explicit keys: never.
    #[default]
    Auto,
    /// Split every keyless client value; one that is not `[k v]` is an error.
    Yes,
    /// Keep values as they are.
    No,
}

/// Reader settings. Limits protect memory and stack against hostile input.
#[derive(Clone, Debug, PartialEq)]
pub struct ReadOptions {
    /// `None`: detect from the content (and the file extension).
    pub format: Option<Format>,
    pub independent: Independent,
    /// Longest line (for EDN, longest single form) accepted, in bytes.
    pub max_line_bytes: usize,
    /// Deepest nesting of collections in a value.
    pub max_depth: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions { format: None, independent: Independent::Auto, max_line_bytes: 64 << 20, max_depth: 128 }
    }
}

impl ReadOptions {
    /// The independent mode that applies to a file of `format`.
    fn independent_for(&self, format: Format) -> Independent {
        match (self.independent, format) {
            (Independent::Auto, Format::Jsonl | Format::PorcupineKv) => Independent::No,
            (mode, _) => mode,
        }
    }
}

fn extension_hint(name: &str) -> Option<Format> {
    let ext = std::path::Path::new(name).extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "jsonl" | "ndjson" | "json" => Some(Format::Jsonl),
        "edn" => Some(Format::Edn),
        "log" => Some(Format::JepsenLog),
        _ => None,
    }
}

const LOG_LEVELS: [&str; 6] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];

/// Detects the format from the first non-blank line (`line` is its number),
/// falling back on the file name's extension when the content says nothing.
fn detect_line(name: &str, line: u64, bytes: &[u8]) -> Result<Format, InputError> {
    let unknown = |what: String| {
        extension_hint(name).ok_or_else(|| InputError::new(name, line, InputErrorKind::UnknownFormat(what)))
    };
    let Ok(text) = std::str::from_utf8(bytes) else {
        return unknown("the first line is not UTF-8 text (binary data?)".into());
    };
    if text.contains('\0') {
        return unknown("the first line contains NUL bytes (binary data?)".into());
    }
    let t = text.trim_start_matches(|c: char| c.is_ascii_whitespace());
    match t.as_bytes().first().copied().unwrap_or(b' ') {
        b'{' => {
            let after = t[1..].trim_start();
            if after.starts_with('"') || after.starts_with('}') {
                return Ok(Format::Jsonl);
            }
            if is_kv_line(t) {
                return Ok(Format::PorcupineKv);
            }
            return Ok(Format::Edn);
        }
        // A `.jsonl` file starting with `[` is a JSON array by mistake: let the
        // JSON reader say so rather than the EDN one.
        b'[' if extension_hint(name) == Some(Format::Jsonl) => return Ok(Format::Jsonl),
        b'[' | b'(' | b'#' | b';' => return Ok(Format::Edn),
        _ => {}
    }
    let first_word = t.split_ascii_whitespace().next().unwrap_or("");
    let dated = t.len() >= 5 && t.as_bytes()[..4].iter().all(u8::is_ascii_digit) && t.as_bytes()[4] == b'-';
    if t.contains("jepsen") || LOG_LEVELS.contains(&first_word) || dated {
        return Ok(Format::JepsenLog);
    }
    let shown: String = t.chars().take(40).collect();
    unknown(format!(
        "line starts with {shown:?}; expected a JSON object (jsonl), EDN (`[`, `{{:`) or a Jepsen log line"
    ))
}

/// An EDN map on one line with a `:key`, f get, put or append, and a string
/// or nil value, as Porcupine's kv files have (Jepsen's EDN list-append
/// histories with a `:key` field append numbers).
fn is_kv_line(t: &str) -> bool {
    let Ok(edn::Next::Form { value: crate::Value::Map(entries), .. }) = edn::next_form(t, 0, 16) else {
        return false;
    };
    entries.get_str("key").is_some()
        && matches!(entries.get_str("f").and_then(|v| v.as_str()), Some("get" | "put" | "append"))
        && entries.get_str("value").is_none_or(|v| v.is_nil() || matches!(v, crate::Value::Str(_)))
}

/// Detects the format of a file from its first bytes (`head`: at least the
/// first non-blank line, ideally). `name` supplies the extension fallback.
pub fn detect(name: &str, head: &[u8]) -> Result<Format, InputError> {
    for (i, l) in head.split(|&b| b == b'\n').enumerate() {
        if !is_blank(l) {
            return detect_line(name, i as u64 + 1, l);
        }
    }
    extension_hint(name).ok_or_else(|| InputError::new(name, 0, InputErrorKind::Empty))
}

/// Parses one value written as JSON or, failing that, as EDN (values given
/// on the command line, e.g. `--initial '{"x": 0}'` or `'{:x 0}'`).
pub fn parse_value(text: &str) -> Result<crate::Value, String> {
    let depth = ReadOptions::default().max_depth;
    json::parse_value(text, depth).map_err(|k| k.to_string()).or_else(|json| {
        edn::parse_one(text, depth).map_err(|e| {
            let edn = match e.kind {
                edn::EdnErrorKind::Syntax { expected, found } => format!("expected {expected}, found {found}"),
                edn::EdnErrorKind::Eof { expected } => format!("expected {expected} before the end"),
                edn::EdnErrorKind::TooDeep => "nested too deeply".to_string(),
            };
            format!("{text:?} is neither JSON ({json}) nor EDN ({edn} at byte {})", e.offset)
        })
    })
}

/// Reads a history file; `-` is standard input.
pub fn read_path(path: &std::path::Path, opts: &ReadOptions) -> Result<(History, Format), InputError> {
    let name = path.to_string_lossy();
    read_path_into(path, opts, HistoryBuilder::new(&name))
}

/// Reads a history file into any [`EventTarget`] (e.g. a streaming one);
/// `-` is standard input.
pub fn read_path_into<T: EventTarget>(
    path: &std::path::Path,
    opts: &ReadOptions,
    target: T,
) -> Result<(T::Output, Format), InputError> {
    let name = path.to_string_lossy();
    if path.as_os_str() == "-" {
        let stdin = std::io::stdin();
        return read_reader_into("<stdin>", stdin.lock(), opts, target);
    }
    let f = std::fs::File::open(path).map_err(|e| InputError::new(&name, 0, InputErrorKind::Io(e.to_string())))?;
    // 256 KiB reads: few syscalls, small next to the line limit.
    read_reader_into(&name, std::io::BufReader::with_capacity(256 << 10, f), opts, target)
}

/// Reads a history held in memory. Never panics, whatever the bytes.
pub fn read_bytes(name: &str, bytes: &[u8], opts: &ReadOptions) -> Result<(History, Format), InputError> {
    read_reader(name, bytes, opts)
}

/// Reads a history from any buffered reader, streaming line by line.
pub fn read_reader<R: BufRead>(name: &str, r: R, opts: &ReadOptions) -> Result<(History, Format), InputError> {
    read_reader_into(name, r, opts, HistoryBuilder::new(name))
}

/// Whether the JSON Lines event parser agrees with the serde_json parser it
/// replaced on one line (`Err` says how they differ): the differential test
/// that the fuzz targets and the equivalence tests run. Not for other uses.
#[doc(hidden)]
pub fn json_parsers_agree(line: &[u8], line_no: u64, max_depth: usize) -> Result<(), String> {
    jsonl_serde::agree(line, line_no, max_depth)?;
    // And the raw scan of txn micro-ops gives the same event, or the same error.
    let general = json::parse_line(line, line_no, max_depth);
    let raw = json::parse_line_raw(line, line_no, max_depth, true).map(|(mut e, raw)| {
        if let Some(r) = raw {
            e.value = r.to_value();
        }
        e
    });
    if raw != general {
        return Err(format!("raw txn scan: {raw:?}, general parser: {general:?}"));
    }
    // And where the fast path accepts a line, the general scanner alone
    // gives the same event.
    if let Some(fast) = json_fast::event(line, line_no, max_depth) {
        let alone = json::parse_line_general(line, line_no, max_depth, false).map(|(e, _)| e);
        if alone.as_ref() != Ok(&fast) {
            return Err(format!("fast path: {fast:?}, general scanner: {alone:?}"));
        }
    }
    Ok(())
}

/// Most bytes looked at to detect the format: the first non-blank line,
/// or this much of it.
const DETECT_BYTES: usize = 64 << 10;

/// Reads events from any buffered reader into any [`EventTarget`].
pub fn read_reader_into<R: BufRead, T: EventTarget>(
    name: &str,
    mut r: R,
    opts: &ReadOptions,
    target: T,
) -> Result<(T::Output, Format), InputError> {
    // The head is read ahead for detection, then read again as part of the
    // input: no line of it needs to be complete, so a one-line EDN vector
    // of any length is detected from its start.
    let mut head = Vec::new();
    let format = match opts.format {
        Some(f) => f,
        None => {
            let io = |e: std::io::Error| InputError::new(name, 0, InputErrorKind::Io(e.to_string()));
            loop {
                let chunk = match r.fill_buf() {
                    Ok(c) => c,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(io(e)),
                };
                if chunk.is_empty() {
                    break;
                }
                let n = chunk.len().min(DETECT_BYTES);
                head.extend_from_slice(&chunk[..n]);
                r.consume(n);
                // Enough once a non-blank line is complete, or long.
                let body = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&head);
                let start = body.iter().position(|b| !b.is_ascii_whitespace());
                if start.is_some_and(|s| memchr::memchr(b'\n', &body[s..]).is_some()) || head.len() >= DETECT_BYTES {
                    break;
                }
            }
            let body = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&head);
            detect(name, body)?
        }
    };
    let input = std::io::Read::chain(std::io::Cursor::new(head), r);
    let out = match format {
        Format::Jsonl => jsonl::read(&mut jsonl::Blocks::new(name, input, opts.max_line_bytes), opts, target)?,
        Format::JepsenLog => jepsen_log::read(&mut LineReader::new(name, input, opts.max_line_bytes), opts, target)?,
        Format::Edn | Format::PorcupineKv => edn_reader::read(name, input, opts, format, target)?,
    };
    Ok((out, format))
}
