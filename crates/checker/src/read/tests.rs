//! Reader tests through the public API: every error case names its line and
//! kind; the real Porcupine fixtures parse with the right counts; and no
//! input, random or mutated, makes a reader panic.

use super::*;
use crate::history::{Outcome, Process};
use crate::value::Value;
use proptest::prelude::*;

fn read(name: &str, s: &[u8]) -> Result<(History, Format), InputError> {
    read_bytes(name, s, &ReadOptions::default())
}

fn read_as(format: Format, s: &[u8]) -> Result<History, InputError> {
    read_bytes("t", s, &ReadOptions { format: Some(format), ..ReadOptions::default() }).map(|(h, _)| h)
}

fn err(name: &str, s: &str) -> InputError {
    read(name, s.as_bytes()).expect_err(s)
}

const W0: &str = r#"{"type":"invoke","process":0,"f":"write","value":1,"time":10}"#;
const W0OK: &str = r#"{"type":"ok","process":0,"f":"write","value":1,"time":20}"#;

#[test]
fn jsonl_round_trip_and_detection() {
    let text = format!(
        "{W0}\n\n{}\n{W0OK}\n{}\n{}\n",
        r#"{"type":"invoke","process":1,"f":"read","key":"a","value":null}"#,
        r#"{"type":"info","process":"nemesis","f":"partition","value":["n1"]}"#,
        r#"{"type":"ok","process":1,"f":"read","key":"a","value":1,"node":"n2","final":true}"#,
    );
    let (h, f) = read("h", text.as_bytes()).unwrap();
    assert_eq!(f, Format::Jsonl);
    assert_eq!((h.ops.len(), h.faults.len(), h.events), (2, 1, 5));
    assert_eq!(h.ops[0].invoke_line, 1);
    assert_eq!(h.ops[1].invoke_line, 3);
    assert_eq!(h.ops[1].key, Some(Value::str("a")));
    assert_eq!(h.ops[1].output, Value::Int(1));
    assert_eq!(h.ops[1].node.as_deref(), Some("n2"));
    assert!(h.ops[1].is_final);
    assert_eq!(h.faults[0].line, 5);
}

#[test]
fn truncated_last_line() {
    let e = err("h.jsonl", &format!("{W0}\n{}", &W0OK[..30]));
    assert_eq!(e.line, 2);
    assert!(matches!(&e.kind, InputErrorKind::Syntax { format: "JSON", found, .. } if found == "end of line"), "{e}");
    assert!(e.to_string().starts_with("h.jsonl:2: JSON syntax error"), "{e}");
    let e = err("h.edn", "{:type :invoke, :f :read, :process 0, :value nil}\n{:type :ok, :f :read, :pro");
    assert_eq!(e.line, 2);
    let e = err("h.log", "INFO  jepsen.util - 0\t:invoke\t:cas\t[1 ");
    assert_eq!(e.line, 1);
    assert!(matches!(e.kind, InputErrorKind::Syntax { .. }));
}

#[test]
fn invalid_utf8_names_line_and_byte() {
    for (name, good) in [("h.jsonl", W0), ("h.edn", "{:type :invoke, :f :read, :process 0, :value nil}")] {
        let mut bytes = format!("{good}\n").into_bytes();
        bytes.extend_from_slice(b"{\"ty\xc3\x28pe\"}\n");
        let e = read(name, &bytes).unwrap_err();
        assert_eq!((e.line, e.kind.clone()), (2, InputErrorKind::InvalidUtf8 { byte: 5 }), "{name}");
    }
    let e = read("h.log", b"INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO \xff").unwrap_err();
    assert_eq!((e.line, e.kind), (2, InputErrorKind::InvalidUtf8 { byte: 6 }));
}

#[test]
fn pairing_errors_from_the_builder() {
    let e = err("h", W0OK);
    assert_eq!(e.line, 1);
    assert!(matches!(e.kind, InputErrorKind::CompletionWithoutInvoke { process: 0, .. }));
    let e = err("h", &format!("{W0}\n{W0}"));
    assert_eq!((e.line, e.kind), (2, InputErrorKind::DoubleInvoke { process: 0, open_line: 1 }));
    let e = err("h.log", "INFO  jepsen.util - 2\t:invoke\t:read\tnil\nINFO  jepsen.util - 2\t:invoke\t:read\tnil");
    assert_eq!((e.line, e.kind), (2, InputErrorKind::DoubleInvoke { process: 2, open_line: 1 }));
    let back = format!("{W0}\n{}", W0OK.replace("20", "5"));
    let e = err("h", &back);
    assert_eq!(
        (e.line, e.kind),
        (2, InputErrorKind::TimeWentBackwards { time_ns: 5, previous_ns: 10, previous_line: 1 })
    );
    let idx = "{\"type\":\"invoke\",\"process\":0,\"f\":\"read\",\"value\":null,\"index\":4}\n\
               {\"type\":\"ok\",\"process\":0,\"f\":\"read\",\"value\":null,\"index\":4}";
    let e = err("h", idx);
    assert_eq!((e.line, e.kind), (2, InputErrorKind::IndexNotIncreasing { index: 4, previous: 4, previous_line: 1 }));
}

#[test]
fn field_errors_name_the_field() {
    let e = err("h", &W0.replace("invoke", "begin"));
    assert_eq!((e.line, e.kind), (1, InputErrorKind::UnknownType("begin".into())));
    let e = err("h", &format!("{W0}\n{}", W0OK.replace(r#""f":"write","#, "")));
    assert_eq!(e.line, 2);
    assert!(matches!(e.kind, InputErrorKind::MissingField { field: "f", .. }));
    let e = err("h", &W0.replace(r#""process":0"#, r#""process":"abc""#));
    assert!(
        matches!(&e.kind, InputErrorKind::BadField { field: "process", found, .. } if found.contains("abc")),
        "{e}"
    );
    let e = err("h.edn", "{:type :invoke, :f :read, :process \"abc\", :value nil}");
    assert!(matches!(e.kind, InputErrorKind::BadField { field: "process", .. }));
}

#[test]
fn empty_inputs() {
    for (name, s) in
        [("etcd_095.log", ""), ("h.jsonl", "\n  \n"), ("h", ""), ("h.edn", "[]"), ("h.log", "INFO jepsen.core - hi\n")]
    {
        let e = read(name, s.as_bytes()).unwrap_err();
        assert_eq!(e.kind, InputErrorKind::Empty, "{name}: {e}");
        assert!(e.to_string().starts_with(&format!("{name}: empty history")), "{e}");
    }
}

#[test]
fn binary_input_is_a_clean_line_1_error() {
    let junk: &[u8] = b"\x00\x01\x02\xff\xfe garbage \x00\n\x13\x37";
    let e = read("blob", junk).unwrap_err();
    assert_eq!(e.line, 1);
    assert!(matches!(e.kind, InputErrorKind::UnknownFormat(_)), "{e}");
    for f in Format::ALL {
        let e = read_as(f, junk).unwrap_err();
        assert_eq!(e.line, 1, "{f}: {e}");
        assert!(
            matches!(
                e.kind,
                InputErrorKind::InvalidUtf8 { .. } | InputErrorKind::Syntax { .. } | InputErrorKind::Empty
            ),
            "{f}: {e}"
        );
    }
    // With a known extension the content's own parser reports the error.
    let e = read("h.jsonl", b"\x00\x00{\n").unwrap_err();
    assert!(matches!(e.kind, InputErrorKind::Syntax { format: "JSON", .. }), "{e}");
}

#[test]
fn long_lines_are_refused_at_the_limit() {
    let opts = ReadOptions { max_line_bytes: 100, ..ReadOptions::default() };
    let long =
        format!("{W0}\n{{\"type\":\"ok\",\"process\":0,\"f\":\"write\",\"value\":\"{}\"}}\n", "x".repeat(10_000));
    let e = read_bytes("h", long.as_bytes(), &opts).unwrap_err();
    assert_eq!((e.line, e.kind), (2, InputErrorKind::LineTooLong { limit_bytes: 100 }));
    let log = format!("INFO  jepsen.util - 0\t:invoke\t:read\t\"{}\"", "y".repeat(500));
    let e = read_bytes("h.log", log.as_bytes(), &opts).unwrap_err();
    assert_eq!((e.line, e.kind), (1, InputErrorKind::LineTooLong { limit_bytes: 100 }));
}

#[test]
fn deep_nesting_is_too_deep_not_a_crash() {
    let brackets = "[".repeat(100_000);
    let json = format!(r#"{{"type":"invoke","process":0,"f":"w","value":{brackets}}}"#);
    let e = err("h", &json);
    assert_eq!((e.line, e.kind), (1, InputErrorKind::TooDeep { limit: 127 }));
    let e = err("h.edn", &format!("{{:type :invoke, :f :w, :process 0, :value {brackets}}}"));
    assert_eq!((e.line, e.kind), (1, InputErrorKind::TooDeep { limit: 128 }));
    let e = err("h.edn", &brackets);
    assert!(matches!(e.kind, InputErrorKind::TooDeep { .. }));
    let e = err("h.log", &format!("INFO  jepsen.util - 0\t:invoke\t:w\t{brackets}"));
    assert_eq!((e.line, e.kind), (1, InputErrorKind::TooDeep { limit: 128 }));
}

#[test]
fn edn_vector_with_nemesis_and_timeouts() {
    let s = "[{:type :invoke, :f :write, :value 3, :process 0, :time 1, :index 0}\n\
              {:type :info, :f :start-partition, :value [:isolated {\"n1\" #{\"n2\"}}], :process :nemesis, :time 2, :index 1}\n\
              {:type :info, :f :write, :value 3, :process 0, :time 3, :error :timeout, :index 2}\n\
              {:type :invoke, :f :read, :value nil, :process 1, :time 4, :index 3}\n\
              {:type :ok, :f :read, :value 3, :process 1, :time 5, :index 4}]";
    let (h, f) = read("history.edn", s.as_bytes()).unwrap();
    assert_eq!(f, Format::Edn);
    assert_eq!((h.ops.len(), h.faults.len()), (2, 1));
    assert_eq!(h.faults[0].f.as_str(), "start-partition");
    assert_eq!(h.ops[0].outcome, Outcome::Info);
    assert_eq!(h.ops[0].input, Value::Int(3));
    assert_eq!(h.ops[1].output, Value::Int(3));
    assert_eq!(h.ops[1].complete_time_ns, Some(5));
}

#[test]
fn edn_independent_tuples() {
    let s = "{:type :invoke, :f :write, :value [7 3], :process 0}\n\
             {:type :ok, :f :write, :value [7 3], :process 0}\n\
             {:type :invoke, :f :read, :value [8 nil], :process 0}\n\
             {:type :ok, :f :read, :value [8 3], :process 0}\n";
    let (h, _) = read("history.edn", s.as_bytes()).unwrap();
    assert_eq!(h.ops[0].key, Some(Value::Int(7)));
    assert_eq!(h.ops[1].key, Some(Value::Int(8)));
    assert_eq!(h.ops[1].output, Value::Int(3));
    assert_eq!(h.by_key().len(), 2);
    let opts = ReadOptions { independent: Independent::No, ..ReadOptions::default() };
    let (h, _) = read_bytes("history.edn", s.as_bytes(), &opts).unwrap();
    assert_eq!((h.ops[0].key.clone(), h.ops[0].input.clone()), (None, Value::List(vec![7.into(), 3.into()])));
}

#[test]
fn jepsen_log_with_nemesis_and_noise() {
    let s = "INFO  jepsen.core - Running test\n\
             INFO  jepsen.util - 0\t:invoke\t:cas\t[1 4]\n\
             INFO  jepsen.util - :nemesis\t:info\t:start\tnil\n\
             INFO  jepsen.util - :nemesis\t:info\t:start\t[:isolated {\"n1\" #{\"n2\" \"n3\"}}]\n\
             WARN  jepsen.generator - something odd\n\
             INFO  jepsen.util - 0   :info   :cas    :timed-out\n\
             INFO  jepsen.util - 1\t:invoke\t:read\tnil\n\
             INFO  jepsen.util - 1\t:ok\t:read\tnil\n";
    let (h, f) = read("run.log", s.as_bytes()).unwrap();
    assert_eq!(f, Format::JepsenLog);
    assert_eq!((h.ops.len(), h.faults.len(), h.events), (2, 2, 6));
    assert_eq!(h.ops[0].outcome, Outcome::Info);
    assert_eq!(h.ops[0].input, Value::List(vec![1.into(), 4.into()]));
    assert_eq!(h.ops[0].complete_line, Some(6));
    assert_eq!(h.ops[1].outcome, Outcome::Ok);
    assert_eq!(h.faults[1].line, 4);
    let e = err("run.log", "INFO  jepsen.util - 0\t:invoke\t:cas\t[1 4]\nINFO  jepsen.util - 0\t:okay\t:cas\t[1 4]");
    assert_eq!((e.line, e.kind), (2, InputErrorKind::UnknownType("okay".into())));
}

#[test]
fn detection() {
    assert_eq!(detect("x", b"\n  {\"type\":\"ok\"}").unwrap(), Format::Jsonl);
    assert_eq!(detect("x", b"[{:type :ok}").unwrap(), Format::Edn);
    assert_eq!(detect("x", b"{:type :ok, :f :read}").unwrap(), Format::Edn);
    assert_eq!(detect("x", b"#jepsen.history.Op{:type :ok}").unwrap(), Format::Edn);
    assert_eq!(
        detect("x", b"{:process 9, :type :invoke, :f :append, :key \"0\", :value \"x\"}").unwrap(),
        Format::PorcupineKv
    );
    assert_eq!(detect("x", b"INFO  jepsen.util - 0\t:invoke\t:read\tnil").unwrap(), Format::JepsenLog);
    assert_eq!(detect("x", b"2024-01-01 12:00:00 something").unwrap(), Format::JepsenLog);
    assert_eq!(detect("x.edn", b"").unwrap(), Format::Edn);
    assert_eq!(detect("x", b" \n").unwrap_err().kind, InputErrorKind::Empty);
    let e = detect("x", b"\nhello world").unwrap_err();
    assert_eq!(e.line, 2);
    assert!(matches!(e.kind, InputErrorKind::UnknownFormat(_)));
    assert_eq!(detect("x.jsonl", b"hello").unwrap(), Format::Jsonl);
    assert_eq!(detect("x.jsonl", b"[1, 2]").unwrap(), Format::Jsonl);
    assert_eq!(detect("x", b"[1, 2]").unwrap(), Format::Edn);
    for f in Format::ALL {
        assert_eq!(f.to_string().parse::<Format>().unwrap(), f);
    }
    assert!("json".parse::<Format>().is_err());
    assert_eq!(Format::Edn.default_nil_read(), NilRead::Unknown);
    assert_eq!(Format::JepsenLog.default_nil_read(), NilRead::Absent);
}

#[test]
fn stdin_style_reader_in_tiny_chunks() {
    let text = format!("{W0}\n{W0OK}\n");
    let r = std::io::BufReader::with_capacity(3, text.as_bytes());
    let (h, f) = read_reader("<stdin>", r, &ReadOptions::default()).unwrap();
    assert_eq!((f, h.ops.len(), h.ops[0].outcome), (Format::Jsonl, 1, Outcome::Ok));
}

#[test]
fn missing_file_is_io_error() {
    let e = read_path(std::path::Path::new("/nonexistent/conch/h.jsonl"), &ReadOptions::default()).unwrap_err();
    assert_eq!(e.line, 0);
    assert!(matches!(e.kind, InputErrorKind::Io(_)));
}

/// Counts `(invoke, ok, fail, info, nemesis)` event lines with a plain token
/// scan, independent of the readers.
fn count_events(text: &str, log: bool) -> [usize; 5] {
    let mut c = [0; 5];
    for l in text.lines() {
        let (p, t) = if log {
            let toks: Vec<&str> = l.split_whitespace().collect();
            if toks.len() < 5 || toks[1] != "jepsen.util" {
                continue;
            }
            (toks[3], toks[4])
        } else {
            let grab = |k: &str| l.split(k).nth(1).and_then(|r| r.split([',', '}']).next()).map(str::trim);
            match (grab(":process"), grab(":type")) {
                (Some(p), Some(t)) => (p, t),
                _ => continue,
            }
        };
        if p == ":nemesis" {
            c[4] += 1;
            continue;
        }
        match t {
            ":invoke" => c[0] += 1,
            ":ok" => c[1] += 1,
            ":fail" => c[2] += 1,
            ":info" => c[3] += 1,
            _ => {}
        }
    }
    c
}

#[test]
fn porcupine_fixtures_parse() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/porcupine");
    if !dir.is_dir() {
        eprintln!("note: {} is absent; fixture test skipped", dir.display());
        return;
    }
    let mut files = 0;
    for sub in ["jepsen", "kv"] {
        let mut paths: Vec<_> = std::fs::read_dir(dir.join(sub)).unwrap().map(|e| e.unwrap().path()).collect();
        paths.sort();
        for path in paths {
            files += 1;
            let text = std::fs::read_to_string(&path).unwrap();
            let log = sub == "jepsen";
            let got = read_path(&path, &ReadOptions::default());
            if text.trim().is_empty() {
                let e = got.unwrap_err();
                assert_eq!((e.line, e.kind.clone()), (0, InputErrorKind::Empty), "{}", path.display());
                continue;
            }
            let (h, f) = got.unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(f, if log { Format::JepsenLog } else { Format::PorcupineKv }, "{}", path.display());
            let [inv, ok, fail, info, nem] = count_events(&text, log);
            assert!(inv > 0, "{}", path.display());
            assert_eq!(h.events as usize, inv + ok + fail + info + nem, "{}", path.display());
            assert_eq!(h.ops.len(), inv, "{}", path.display());
            let n = |o: Outcome| h.ops.iter().filter(|op| op.outcome == o).count();
            assert_eq!((n(Outcome::Ok), n(Outcome::Fail)), (ok, fail), "{}", path.display());
            // Every op that never completed is indeterminate, and at most one
            // per process can be left open at the end.
            let open: Vec<_> = h.ops.iter().filter(|op| op.complete_line.is_none()).collect();
            assert!(open.iter().all(|op| op.outcome == Outcome::Info));
            let mut procs: Vec<_> = open.iter().map(|op| op.process).collect();
            procs.sort();
            procs.dedup();
            assert_eq!(procs.len(), open.len(), "{}", path.display());
            assert_eq!(n(Outcome::Info), info + open.len(), "{}", path.display());
            if !log {
                assert!(h.ops.iter().all(|op| op.key.is_some()));
                assert!(h.ops.iter().all(|op| matches!(op.f.as_str(), "get" | "put" | "append")));
            }
            assert!(h.faults.iter().all(|_| log));
        }
    }
    assert!(files >= 100, "expected the ~109 Porcupine fixtures, saw {files}");
    let _ = Process::Nemesis;
}

/// Small valid samples of each format, the seeds for mutation.
fn samples() -> Vec<(Format, String)> {
    vec![
        (Format::Jsonl, format!("{W0}\n{}\n{W0OK}\n", r#"{"type":"info","process":"nemesis","f":"kill","value":{"n":[1,2.5,"x\u00e9"]}}"#)),
        (
            Format::Edn,
            "[{:type :invoke, :f :cas, :value [1 [2 3]], :process 0, :time 1}\n {:type :ok, :f :cas, :value [1 [2 3]], :process 0, :time 2}\n #jepsen.history.Op{:type :info, :f :start, :process :nemesis, :value #{\"a\" \\b}}]\n".into(),
        ),
        (Format::JepsenLog, "INFO  jepsen.util - 0\t:invoke\t:cas\t[1 4]\nINFO  jepsen.util - 0\t:ok\t:cas\t[1 4]\nINFO  jepsen.util - :nemesis\t:info\t:start\tnil\n".into()),
        (Format::PorcupineKv, "{:process 9, :type :invoke, :f :append, :key \"0\", :value \"x 9 0 y\"}\n{:process 9, :type :ok, :f :append, :key \"0\", :value \"x 9 0 y\"}\n".into()),
    ]
}

#[test]
fn samples_are_valid() {
    for (f, s) in samples() {
        let (h, got) = read("s", s.as_bytes()).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert_eq!(got, f);
        assert!(!h.ops.is_empty());
    }
}

/// Interesting bytes for mutations: structure, escapes, UTF-8 fragments.
const SPICE: &[u8] = b"[]{}()#_:;\\\"\n\r\t ,0-9eENM/\x00\xc3\xa9\xff";

fn mutate(base: &[u8], edits: &[(u16, u8, u8)]) -> Vec<u8> {
    let mut v = base.to_vec();
    for &(pos, op, b) in edits {
        let i = if v.is_empty() { 0 } else { pos as usize % (v.len() + 1) };
        let byte = SPICE[b as usize % SPICE.len()];
        match op % 5 {
            0 => v.insert(i, byte),
            1 if i < v.len() => v[i] = byte,
            2 if i < v.len() => {
                v.remove(i);
            }
            3 => v.truncate(i),
            _ => {
                let end = (i + (b as usize % 8)).min(v.len());
                let chunk = v[i..end].to_vec();
                v.splice(i..i, chunk);
            }
        }
    }
    v
}

fn all_opts() -> Vec<ReadOptions> {
    let mut v = vec![ReadOptions { max_depth: 4, max_line_bytes: 200, ..ReadOptions::default() }];
    for f in Format::ALL {
        for independent in [Independent::Auto, Independent::Yes] {
            v.push(ReadOptions { format: Some(f), independent, ..ReadOptions::default() });
        }
    }
    v.push(ReadOptions::default());
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        for opts in all_opts() {
            let _ = read_bytes("fuzz", &bytes, &opts);
        }
    }

    #[test]
    fn mutated_samples_never_panic(which in 0usize..4, edits in proptest::collection::vec((any::<u16>(), any::<u8>(), any::<u8>()), 1..6)) {
        let (_, base) = &samples()[which];
        let input = mutate(base.as_bytes(), &edits);
        for opts in all_opts() {
            let r = read_bytes("fuzz", &input, &opts);
            if let Err(e) = r {
                // Errors always render, and name a line within the input.
                let _ = e.to_string();
                prop_assert!(e.line <= input.split(|&b| b == b'\n').count() as u64 + 1);
            }
        }
    }
}

/// Throughput of the JSON Lines reader on a generated 1M-line history in
/// /tmp. Slow in debug: run with
/// `cargo test --release -p conch-checker --lib read::tests::jsonl_throughput -- --ignored --nocapture`.
#[test]
#[ignore]
fn jsonl_throughput() {
    use std::io::Write;
    let path = std::env::temp_dir().join("conch-readers-bench-1m.jsonl");
    let lines: u64 = 1_000_000;
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        for i in 0..lines / 2 {
            let p = i % 16;
            let key = i % 7;
            let (f, v_in, v_out) = match i % 3 {
                0 => ("write", format!("{i}"), format!("{i}")),
                1 => ("read", "null".to_string(), format!("{}", i - 1)),
                _ => ("cas", format!("[{i},{}]", i + 1), format!("[{i},{}]", i + 1)),
            };
            let t = i * 10;
            writeln!(
                w,
                r#"{{"type":"invoke","process":{p},"f":"{f}","key":{key},"value":{v_in},"time":{t},"node":"n{}"}}"#,
                p % 5
            )
            .unwrap();
            writeln!(w, r#"{{"type":"ok","process":{p},"f":"{f}","key":{key},"value":{v_out},"time":{}}}"#, t + 5)
                .unwrap();
        }
    }
    // The machine is shared: report on-CPU time of this thread (Linux
    // schedstat) beside wall time.
    let cpu_ns = || {
        std::fs::read_to_string("/proc/thread-self/schedstat")
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
    };
    let (cpu0, start) = (cpu_ns(), std::time::Instant::now());
    let (h, _) = read_path(&path, &ReadOptions::default()).unwrap();
    let (secs, cpu1) = (start.elapsed().as_secs_f64(), cpu_ns());
    assert_eq!(h.events, lines);
    println!("jsonl: {lines} lines in {secs:.3} s wall = {:.0} lines/s", lines as f64 / secs);
    if let (Some(a), Some(b)) = (cpu0, cpu1) {
        let cpu_secs = (b - a) as f64 / 1e9;
        println!("jsonl: {cpu_secs:.3} s on CPU = {:.0} lines/s per core", lines as f64 / cpu_secs);
    }
    let _ = std::fs::remove_file(&path);

    // The same history as EDN, one map per line (Jepsen's layout).
    let edn_path = std::env::temp_dir().join("conch-readers-bench-1m.edn");
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&edn_path).unwrap());
        for i in 0..lines / 2 {
            let (p, t) = (i % 16, i * 10);
            writeln!(
                w,
                "{{:index {}, :time {t}, :type :invoke, :process {p}, :f :write, :value [{} {i}]}}",
                2 * i,
                i % 7
            )
            .unwrap();
            writeln!(
                w,
                "{{:index {}, :time {}, :type :ok, :process {p}, :f :write, :value [{} {i}]}}",
                2 * i + 1,
                t + 5,
                i % 7
            )
            .unwrap();
        }
    }
    let (cpu0, start) = (cpu_ns(), std::time::Instant::now());
    let (h, f) = read_path(&edn_path, &ReadOptions::default()).unwrap();
    let (secs, cpu1) = (start.elapsed().as_secs_f64(), cpu_ns());
    assert_eq!((h.events, f), (lines, Format::Edn));
    assert!(h.ops[0].key.is_some(), "independent tuples are split");
    println!("edn: {lines} lines in {secs:.3} s wall = {:.0} lines/s", lines as f64 / secs);
    if let (Some(a), Some(b)) = (cpu0, cpu1) {
        let cpu_secs = (b - a) as f64 / 1e9;
        println!("edn: {cpu_secs:.3} s on CPU = {:.0} lines/s per core", lines as f64 / cpu_secs);
    }
    let _ = std::fs::remove_file(&edn_path);
}

/// Renders a value as EDN text, the inverse of the parser (for round trips).
fn to_edn(v: &Value, out: &mut String) {
    match v {
        Value::Nil => out.push_str("nil"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&format!("{f:?}")),
        Value::Str(s) => {
            out.push('"');
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                    c => out.push(c),
                }
            }
            out.push('"');
        }
        Value::List(_) | Value::SharedList(_) | Value::Set(_) => {
            let items = v.as_seq().unwrap_or_default();
            out.push_str(if matches!(v, Value::Set(_)) { "#{" } else { "[" });
            for (i, x) in items.iter().enumerate() {
                out.push_str(if i % 2 == 0 { " " } else { ", " });
                to_edn(x, out);
            }
            out.push(if matches!(v, Value::Set(_)) { '}' } else { ']' });
        }
        Value::Map(entries) => {
            out.push('{');
            for (k, x) in entries {
                to_edn(k, out);
                out.push(' ');
                to_edn(x, out);
                out.push_str(",\n ; comment\n ");
            }
            out.push('}');
        }
    }
}

fn arb_value(json_only: bool) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Nil),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        // Quarters round-trip exactly through text; serde_json's default
        // float parsing may differ from the shortest repr in the last bit.
        any::<i32>().prop_map(|i| Value::Float(i as f64 / 4.0)),
        ".{0,8}".prop_map(|s| Value::str(&s)),
    ];
    leaf.prop_recursive(4, 32, 4, move |inner| {
        let map = proptest::collection::vec((".{0,4}".prop_map(|s| Value::str(&s)), inner.clone()), 0..4)
            .prop_map(Value::Map);
        if json_only {
            prop_oneof![proptest::collection::vec(inner, 0..4).prop_map(Value::List), map].boxed()
        } else {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::List),
                proptest::collection::vec(inner, 0..4).prop_map(Value::set),
                map,
            ]
            .boxed()
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn edn_values_round_trip(v in arb_value(false)) {
        let mut text = String::new();
        to_edn(&v, &mut text);
        let got = super::edn::parse_one(&text, 128).map_err(|e| TestCaseError::fail(format!("{text}: {e:?}")))?;
        prop_assert_eq!(got, v);
    }

    #[test]
    fn json_values_round_trip(v in arb_value(true), k in arb_value(true)) {
        let line = format!(
            r#"{{"value":{},"type":"invoke","key":{},"process":3,"f":"x"}}"#,
            serde_json::to_string(&v).unwrap(),
            serde_json::to_string(&k).unwrap()
        );
        let (h, _) = read_bytes("p", line.as_bytes(), &ReadOptions::default())
            .map_err(|e| TestCaseError::fail(format!("{line}: {e}")))?;
        prop_assert_eq!(&h.ops[0].input, &v);
        prop_assert_eq!(h.ops[0].key.clone(), if k.is_nil() { None } else { Some(k) });
    }
}

#[test]
fn byte_order_mark_and_crlf() {
    let text = format!("\u{feff}{W0}\r\n{W0OK}\r\n");
    let (h, f) = read("h", text.as_bytes()).unwrap();
    assert_eq!((f, h.ops[0].outcome), (Format::Jsonl, Outcome::Ok));
    let log = "\u{feff}INFO  jepsen.util - 0\t:invoke\t:read\tnil\r\nINFO  jepsen.util - 0\t:ok\t:read\t3\r\n";
    let (h, f) = read("h", log.as_bytes()).unwrap();
    assert_eq!((f, h.ops[0].output.clone()), (Format::JepsenLog, Value::Int(3)));
}
