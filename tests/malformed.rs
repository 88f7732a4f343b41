//! Hostile input through the `conch` binary: every malformed file in
//! `tests/malformed/` (and a few generated ones: a 1 GiB line, deep nesting)
//! must exit 2 with a message naming the file, the line and the problem.
//! Also: a closed stdout ends conch quietly, and outputs are not clobbered
//! without `--force`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BAD_INPUT: i32 = 2;

fn conch() -> Command {
    Command::new(env!("CARGO_BIN_EXE_conch"))
}

fn malformed(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/malformed").join(name)
}

fn run(args: &[&str]) -> Output {
    conch().args(args).stdin(Stdio::null()).output().unwrap()
}

/// Asserts exit 2, no panic, and a stderr that names `file:line:` (or just
/// `file:` when `line` is 0) followed by text containing `problem`.
fn assert_rejected(out: &Output, file: &str, line: u64, problem: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(BAD_INPUT), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let at = if line == 0 { format!("{file}: ") } else { format!("{file}:{line}: ") };
    let Some(pos) = stderr.find(&at) else { panic!("stderr does not name `{at}`: {stderr}") };
    assert!(stderr[pos..].contains(problem), "stderr does not say `{problem}`: {stderr}");
}

/// `conch check [extra] tests/malformed/<name>` is rejected at `line` for `problem`.
fn rejects(name: &str, extra: &[&str], line: u64, problem: &str) {
    let path = malformed(name);
    let path = path.to_str().unwrap();
    let mut args = vec!["check"];
    args.extend_from_slice(extra);
    args.push(path);
    assert_rejected(&run(&args), path, line, problem);
}

/// Transactional histories (#14): Elle's preconditions and the shapes of
/// micro-ops are bad input naming the line, never a model mismatch.
#[test]
fn txn_preconditions_and_shapes_are_bad_input_with_the_line() {
    rejects("txn-unknown-micro-op.edn", &[], 3, "unknown function \"incr\": expected append, r or w");
    rejects("txn-read-wrong-shape.edn", &[], 4, "a read returned a single value in a list-append history");
    rejects("txn-duplicate-append.edn", &[], 3, "value 1 appended to key \"x\" twice (at line 1 and here)");
    rejects("txn-completion-changes-write.jsonl", &[], 2, "the completion changes the txn's writes");
    rejects("txn-mixed-ops.jsonl", &[], 3, "operation `read` in a transactional history");
    // The same under every isolation model asked for.
    rejects("txn-duplicate-append.edn", &["--checks", "read-committed,serializable"], 3, "twice");
}

/// Malformed files in `tests/malformed/`, with the options they are checked
/// under, and the line and the problem each is rejected for.
const REJECTED: &[(&str, &[&str], u64, &str)] = &[
    // A truncated last line.
    ("truncated-last-line.jsonl", &[], 4, "JSON syntax error"),
    ("truncated-last-line.edn", &[], 4, "EDN syntax error: expected `\"` closing a string, found end of file"),
    ("truncated-last-line.log", &[], 3, "syntax error: expected `]` closing a vector"),
    // Invalid UTF-8.
    ("invalid-utf8.jsonl", &[], 2, "invalid UTF-8 at byte 47"),
    ("invalid-utf8.edn", &[], 2, "invalid UTF-8"),
    // A completion without an invoke.
    ("completion-without-invoke.jsonl", &[], 3, "`read` completion for process 3, which has no open invoke"),
    ("completion-without-invoke.log", &[], 2, "`write` completion for process 1, which has no open invoke"),
    // Two invokes on one process.
    ("double-invoke.jsonl", &[], 2, "invoke on process 0, which already has an open op (invoked at line 1)"),
    ("double-invoke.edn", &[], 2, "invoke on process 0, which already has an open op (invoked at line 1)"),
    // An unknown op type.
    ("unknown-op-type.jsonl", &[], 2, "unknown op type `finished`"),
    ("unknown-op-type.edn", &[], 2, "unknown op type `done`"),
    // A cas value that is not a pair, under cas-register.
    ("cas-not-a-pair.jsonl", &["--model", "cas-register"], 2, "does not fit model `cas-register`"),
    // A counter read of a string.
    ("counter-read-string.jsonl", &["--model", "counter"], 4, "does not fit model `counter`"),
    // An index that does not increase.
    ("duplicate-index.edn", &[], 3, "index 1 does not increase on the previous event's 1 (line 2)"),
];

#[test]
fn malformed_files_are_rejected_at_their_line() {
    for &(name, extra, line, problem) in REJECTED {
        rejects(name, extra, line, problem);
    }
}

#[test]
fn empty_files() {
    rejects("empty.jsonl", &[], 0, "empty history");
    rejects("blank-lines.jsonl", &[], 0, "empty history");
    let out = conch().args(["check", "-"]).stdin(Stdio::null()).output().unwrap();
    assert_rejected(&out, "<stdin>", 0, "empty history");
}

#[test]
fn binary_files() {
    rejects("binary.bin", &[], 1, "unrecognised format: the first line is not UTF-8 text");
    // With a .jsonl name the format comes from the extension; still rejected.
    rejects("binary.jsonl", &[], 1, "invalid UTF-8");
    for format in ["jsonl", "edn", "jepsen-log", "porcupine-kv"] {
        rejects("binary.bin", &["--format", format], 1, "");
    }
}

#[test]
fn deeply_nested_values() {
    let dir = tempfile::tempdir().unwrap();
    let deep = |open: &str, close: &str| format!("{}{}", open.repeat(200_000), close.repeat(200_000));
    let cases = [
        ("deep.jsonl", format!("{{\"type\":\"invoke\",\"process\":0,\"f\":\"write\",\"value\":{}}}\n", deep("[", "]"))),
        (
            "deep-objects.jsonl",
            format!("{{\"type\":\"invoke\",\"process\":0,\"f\":\"w\",\"value\":{}}}\n", {
                let mut s = "{\"a\":".repeat(200_000);
                s.push('1');
                s.push_str(&"}".repeat(200_000));
                s
            }),
        ),
        ("deep.edn", format!("{{:type :invoke, :f :write, :process 0, :value {}}}\n", deep("[", "]"))),
        ("deep-maps.edn", format!("{{:type :invoke, :f :write, :process 0, :value {}}}\n", deep("{:a ", "}"))),
        ("deep.log", format!("INFO  jepsen.util - 0\t:invoke\t:write\t{}\n", deep("(", ")"))),
    ];
    for (name, text) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let path = path.to_str().unwrap();
        assert_rejected(&run(&["check", path]), path, 1, "value nested deeper than");
    }
}

/// Peak resident memory of the largest child this process has waited for, in KiB.
fn children_max_rss_kib() -> i64 {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) }, 0);
    usage.ru_maxrss
}

/// A 1 GiB line on standard input, written in 1 MiB chunks by a thread: conch
/// must stop at its line limit (64 MiB) with LineTooLong, not buffer 1 GiB.
#[test]
fn one_gib_single_line_is_rejected_without_buffering_it() {
    const GIB: usize = 1 << 30;
    const CHUNK: usize = 1 << 20;
    let started = std::time::Instant::now();
    let mut child = conch()
        .args(["check", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let mut written = 0;
        let head = br#"{"type":"invoke","process":0,"f":"write","value":""#;
        if stdin.write_all(head).is_err() {
            return written;
        }
        let chunk = vec![b'a'; CHUNK];
        while written < GIB {
            // conch closes the pipe once it gives up: EPIPE ends the writer.
            if stdin.write_all(&chunk).is_err() {
                break;
            }
            written += CHUNK;
        }
        written
    });
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    let status = child.wait().unwrap();
    let written = writer.join().unwrap();
    assert_eq!(status.code(), Some(BAD_INPUT), "{stderr}");
    assert!(stderr.contains("<stdin>:1: line longer than 67108864 bytes"), "{stderr}");
    assert!(written < GIB / 4, "conch read {written} bytes of a line it should have refused at 64 MiB");
    // The line limit bounds the buffer: well under the 1 GiB line.
    let rss_kib = children_max_rss_kib();
    assert!(rss_kib < 256 << 10, "peak RSS {rss_kib} KiB");
    eprintln!(
        "1 GiB line: rejected after {} MiB written, peak RSS {rss_kib} KiB, {:?}",
        written >> 20,
        started.elapsed()
    );
}

/// A history long enough that its verbose report overflows a pipe buffer.
fn many_keys_history(dir: &Path) -> PathBuf {
    let path = dir.join("many-keys.jsonl");
    let mut s = String::new();
    for k in 0..3000 {
        s.push_str(&format!("{{\"type\":\"invoke\",\"process\":0,\"f\":\"put\",\"key\":\"k{k}\",\"value\":\"a\"}}\n"));
        s.push_str(&format!("{{\"type\":\"ok\",\"process\":0,\"f\":\"put\",\"key\":\"k{k}\",\"value\":\"a\"}}\n"));
    }
    std::fs::write(&path, s).unwrap();
    path
}

/// Like `conch ... | head -1`: read one line, close the pipe, and expect
/// conch to end without a panic or an error message.
fn first_line_then_close(args: &[&str]) {
    let mut child = conch().args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 64];
    let n = stdout.read(&mut first).unwrap();
    assert!(n > 0, "no output from {args:?}");
    drop(stdout);
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    let status = child.wait().unwrap();
    assert!(!stderr.contains("panicked") && !stderr.to_lowercase().contains("broken pipe"), "{args:?}: {stderr}");
    assert!(stderr.trim().is_empty(), "{args:?} printed to stderr: {stderr}");
    // Killed by SIGPIPE (as `cat` would be) or a quiet exit: both fine.
    use std::os::unix::process::ExitStatusExt;
    assert!(status.signal() == Some(libc::SIGPIPE) || status.code().is_some(), "{status:?}");
}

#[test]
fn broken_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let history = many_keys_history(dir.path());
    first_line_then_close(&["check", "--verbose", "--model", "kv", history.to_str().unwrap()]);
    first_line_then_close(&["check", "--json", "--verbose", history.to_str().unwrap()]);
    first_line_then_close(&["gen", "--workload", "register", "--ops", "200000"]);
}

#[test]
fn existing_outputs_are_not_overwritten_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let history = Path::new(env!("CARGO_MANIFEST_DIR")).join("histories/linear/register-ok.jsonl");
    let history = history.to_str().unwrap();
    for flag in ["--html", "--junit"] {
        let out_path = dir.path().join(format!("report{flag}"));
        std::fs::write(&out_path, "keep me").unwrap();
        let target = out_path.to_str().unwrap();
        let out = run(&["check", flag, target, history]);
        assert_rejected(&out, target, 0, "already exists; pass --force to overwrite");
        assert_eq!(std::fs::read_to_string(&out_path).unwrap(), "keep me", "{flag} clobbered the file");
        let out = run(&["check", flag, target, "--force", history]);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let written = std::fs::read_to_string(&out_path).unwrap();
        assert!(written.len() > 100 && written.starts_with('<'), "{flag} --force wrote {written:?}");
    }
}

#[test]
fn html_report_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("r.html");
    let history = Path::new(env!("CARGO_MANIFEST_DIR")).join("histories/linear/register-ok.jsonl");
    let out = conch()
        .args(["check", "--html", html.to_str().unwrap(), "-"])
        .stdin(std::fs::File::open(history).unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(html.exists());
}
