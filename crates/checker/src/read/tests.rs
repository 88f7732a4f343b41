//! Reader tests through the public API: every error case names its line and
//! kind; the real Porcupine fixtures parse with the right counts; and no
//! input, random or mutated, makes a reader panic.

use super::*;
use crate::history::{Outcome, Process};
use crate::value::arb::{value, Space};
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
    assert_eq!((e.line, e.kind), (1, InputErrorKind::TooDeep { limit: 128 }));
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
    // Regression (#12 audit): a Jepsen EDN list-append op with a `:key`
    // field was taken for Porcupine's kv format, which then refused `:read`.
    assert_eq!(detect("x", b"{:type :invoke, :f :append, :key 1, :value 5}").unwrap(), Format::Edn);
    assert_eq!(
        detect("x", b"{:process 0, :type :invoke, :f :get, :key \"6\", :value nil}").unwrap(),
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
        // As testkit::fixtures (which a unit test cannot link): fail under CI.
        assert!(std::env::var_os("CI").is_none(), "shared fixtures missing under CI: {}", dir.display());
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
        // Value's Display is EDN for numbers: `12345678901234567890`, `1.5M`, `1.0`, `##Inf`.
        Value::BigInt(_) | Value::Decimal(_) | Value::Float(_) => out.push_str(&v.to_string()),
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
            for (k, x) in entries.iter() {
                to_edn(k, out);
                out.push(' ');
                to_edn(x, out);
                out.push_str(",\n ; comment\n ");
            }
            out.push('}');
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn edn_values_round_trip(v in value(Space::Edn)) {
        let mut text = String::new();
        to_edn(&v, &mut text);
        let got = super::edn::parse_one(&text, 128).map_err(|e| TestCaseError::fail(format!("{text}: {e:?}")))?;
        prop_assert_eq!(got, v);
    }

    /// Values, big integers and floats included, survive `checker::write`
    /// and the JSON reader exactly.
    #[test]
    fn json_values_round_trip(v in value(Space::Json), k in value(Space::Json)) {
        let mut e = crate::history::Event::new(1, crate::history::EventType::Invoke, Process::Client(3), crate::history::F::parse("x"), v.clone());
        e.key = Some(k.clone());
        let line = crate::write::event_to_json(&e);
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

/// A history file of conch's own test data (`crates/checker/testdata/`).
fn testdata(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata").join(name)
}

/// The linearizability verdict on a history, under the model inferred or given.
fn linearizable(name: &str, h: &History, format: Format, model: Option<crate::model::ModelKind>) -> crate::Verdict {
    use crate::report::CheckName;
    use crate::CheckConfig;
    let cfg = CheckConfig { checks: vec![CheckName::Linearizable], model, ..CheckConfig::default() };
    let report = crate::check(h, &cfg.for_format(format)).unwrap_or_else(|e| panic!("{name}: {e}"));
    report.verdict
}

/// Issue #12 §3a: four of Knossos's labelled histories and Elle's
/// huge-scc.edn were refused (exit 2) because `:time` went backwards in
/// file order; Jepsen records times per thread and file order is what
/// counts. Read, they get Knossos's verdicts, and keep their times.
#[test]
fn times_going_backwards_are_read_and_judged_as_knossos_does() {
    use crate::model::ModelKind;
    use crate::Verdict;
    let cases = [
        ("knossos-rethink-fail-smaller.edn", Some(ModelKind::CasRegister), Verdict::Invalid),
        ("knossos-rethink-ok.edn", Some(ModelKind::CasRegister), Verdict::Valid),
        ("knossos-mutex-etcd.edn", Some(ModelKind::Mutex), Verdict::Invalid),
    ];
    for (name, model, want) in cases {
        let (h, f) = read_path(&testdata(&format!("jepsen/{name}")), &ReadOptions::default()).unwrap();
        assert_eq!(f, Format::Edn);
        assert_eq!(linearizable(name, &h, f, model), want, "{name}");
    }
    let (h, _) = read_path(&testdata("jepsen/knossos-rethink-fail-smaller.edn"), &ReadOptions::default()).unwrap();
    // Line 6 invokes at a time before line 5's; both are kept as given.
    let (a, b) = (&h.ops[1], &h.ops[2]);
    assert_eq!((a.invoke_line, b.invoke_line), (6, 7));
    assert!(b.invoke_time_ns < a.invoke_time_ns);
    assert!(a.call < b.call, "file order decides");
    let (h, _) = read_path(&testdata("jepsen/knossos-multi-register.edn"), &ReadOptions::default()).unwrap();
    assert_eq!(h.ops.len(), 5);
    assert!(h.ops.iter().all(|o| o.f == crate::history::F::Txn));
    let (h, _) = read_path(&testdata("jepsen/elle-huge-scc-excerpt.edn"), &ReadOptions::default()).unwrap();
    assert_eq!((h.ops.len(), h.events), (5, 10));
    // The same in JSON Lines.
    let text = "{\"type\":\"invoke\",\"process\":0,\"f\":\"write\",\"value\":1,\"time\":200}\n\
                {\"type\":\"invoke\",\"process\":1,\"f\":\"read\",\"time\":150}\n\
                {\"type\":\"ok\",\"process\":0,\"f\":\"write\",\"value\":1,\"time\":100}\n\
                {\"type\":\"ok\",\"process\":1,\"f\":\"read\",\"value\":1,\"time\":90}\n";
    let (h, _) = read("h.jsonl", text.as_bytes()).unwrap();
    assert_eq!(h.ops[1].complete_time_ns, Some(90));
    assert_eq!(linearizable("h.jsonl", &h, Format::Jsonl, None), Verdict::Valid);
}

/// Issue #12 §3b: ops without a process (Elle's hand-written histories,
/// which leave out `:f` too) were refused; they are one process, as Elle
/// treats a nil process, and one that an info retired is followed by a
/// fresh one.
#[test]
fn ops_without_a_process_are_one_process() {
    use crate::history::{process_name, ANONYMOUS_PROCESS_BASE, F};
    let (h, _) = read_path(&testdata("jepsen/elle-paper-example.edn"), &ReadOptions::default()).unwrap();
    assert_eq!(h.ops.len(), 4);
    assert!(h.ops.iter().all(|o| o.f == F::Txn), "no :f and micro-op values: transactions");
    let procs: Vec<u64> = h.ops.iter().map(|o| o.process).collect();
    let base = ANONYMOUS_PROCESS_BASE;
    assert_eq!(procs, [base, base, base, base + 1], "one process, renewed after the info");
    assert_eq!(
        (process_name(base), process_name(base + 1), process_name(7)),
        ("nil".into(), "nil+1".into(), "7".into())
    );
    // JSON Lines: a missing or null process is the same; a double invoke
    // on it is still an error.
    let text = "{\"type\":\"invoke\",\"f\":\"write\",\"value\":1}\n{\"type\":\"ok\",\"process\":null,\"f\":\"write\",\"value\":1}\n";
    let (h, _) = read("h.jsonl", text.as_bytes()).unwrap();
    assert_eq!((h.ops.len(), h.ops[0].process, h.ops[0].outcome), (1, base, Outcome::Ok));
    let e = err("h.jsonl", "{\"type\":\"invoke\",\"f\":\"read\"}\n{\"type\":\"invoke\",\"f\":\"read\"}\n");
    assert!(matches!(e.kind, InputErrorKind::DoubleInvoke { open_line: 1, .. }), "{e}");
    // Ids at and above 2^63 are the anonymous processes', never a client's.
    let e = err("h.jsonl", "{\"type\":\"invoke\",\"process\":9223372036854775808,\"f\":\"read\"}");
    assert!(matches!(e.kind, InputErrorKind::BadField { field: "process", .. }), "{e}");
    let e = err("h.edn", "{:type :invoke, :value 3}");
    assert!(matches!(e.kind, InputErrorKind::MissingField { field: "f", .. }), "{e}");
}

/// Issue #12 §3d: the docs say `value` is optional, but a JSON read invoke
/// without one was refused; and a key given only on the completion was
/// refused, though `Pairing` meant to take it.
#[test]
fn value_is_optional_and_a_key_may_come_with_the_completion() {
    let text = "{\"type\":\"invoke\",\"process\":0,\"f\":\"read\"}\n{\"type\":\"ok\",\"process\":0,\"f\":\"read\",\"key\":\"k\",\"value\":3}\n";
    let (h, _) = read("h.jsonl", text.as_bytes()).unwrap();
    assert_eq!((h.ops[0].input.clone(), h.ops[0].key.clone()), (Value::Nil, Some(Value::str("k"))));
    let edn = "{:type :invoke, :f :read, :process 0}\n{:type :ok, :f :read, :process 0, :key :k, :value 3}";
    let (h, _) = read("h.edn", edn.as_bytes()).unwrap();
    assert_eq!(h.ops[0].key, Some(Value::str("k")));
    // A key on the invoke and another on the completion: still an error.
    let e = err("h.jsonl", &text.replace("\"f\":\"read\"}", "\"f\":\"read\",\"key\":\"j\"}"));
    assert_eq!(e.line, 2);
    assert!(matches!(&e.kind, InputErrorKind::BadField { field: "key", found, .. } if found.contains("line 1")), "{e}");
}

/// Issue #12 §3e: an EDN history written as one vector on one line was
/// limited by the 64 MiB line cap; the limit is on a single op, whatever
/// the lines.
#[test]
fn edn_vector_on_one_line_streams_past_the_line_limit() {
    let mut text = String::from("[");
    for i in 0..3000 {
        text += &format!("{{:type :invoke, :f :write, :value {i}, :process {}}} ", i % 7);
        text += &format!("{{:type :ok, :f :write, :value {i}, :process {}}} ", i % 7);
    }
    text += "]";
    let opts = ReadOptions { max_line_bytes: 200, ..ReadOptions::default() };
    assert!(text.len() > 100 * opts.max_line_bytes);
    let (h, f) = read_bytes("h.edn", text.as_bytes(), &opts).unwrap();
    assert_eq!((f, h.ops.len()), (Format::Edn, 3000));
    // Detection too, without the extension.
    assert_eq!(read_bytes("h", text.as_bytes(), &opts).unwrap().1, Format::Edn);
    // One op over the limit is refused, naming its line.
    let big = format!("[{{:type :invoke, :f :write, :process 0, :value \"x\"}}\n {{:type :ok, :f :write, :process 0, :value \"{}\"}}]", "y".repeat(300));
    let e = read_bytes("h.edn", big.as_bytes(), &opts).unwrap_err();
    assert_eq!((e.line, e.kind), (2, InputErrorKind::LineTooLong { limit_bytes: 200 }));
}

/// Issue #12 §1e: a map read back with its fields in another order was "a
/// value that no operation wrote".
#[test]
fn map_read_back_in_another_field_order_is_the_value_written() {
    let json = "{\"type\":\"invoke\",\"process\":0,\"f\":\"write\",\"value\":{\"a\":1,\"b\":2}}\n\
                {\"type\":\"ok\",\"process\":0,\"f\":\"write\",\"value\":{\"a\":1,\"b\":2}}\n\
                {\"type\":\"invoke\",\"process\":1,\"f\":\"read\",\"value\":null}\n\
                {\"type\":\"ok\",\"process\":1,\"f\":\"read\",\"value\":{\"b\":2,\"a\":1}}\n";
    let edn = "{:type :invoke, :process 0, :f :write, :value {:a 1, :b 2}}\n\
               {:type :ok, :process 0, :f :write, :value {:a 1, :b 2}}\n\
               {:type :invoke, :process 1, :f :read, :value nil}\n\
               {:type :ok, :process 1, :f :read, :value {:b 2, :a 1}}\n";
    for (name, text) in [("h.jsonl", json), ("h.edn", edn)] {
        let (h, f) = read(name, text.as_bytes()).unwrap();
        assert_eq!(h.ops[0].input, h.ops[1].output, "{name}");
        assert_eq!(linearizable(name, &h, f, None), crate::Verdict::Valid, "{name}");
        // A read of another map is still caught.
        let (h, f) =
            read(name, text.replace("2,\"a\":1}", "3,\"a\":1}").replace(":b 2, :a 1}", ":b 3, :a 1}").as_bytes())
                .unwrap();
        assert_eq!(linearizable(name, &h, f, None), crate::Verdict::Invalid, "{name}");
    }
}

/// Issue #12 §1f: integers beyond i64 became floats, so u64::MAX and
/// u64::MAX - 1 were one value and a list read in the wrong order passed.
#[test]
fn list_of_integers_beyond_i64_read_in_the_wrong_order_is_caught() {
    let (a, b) = (u64::MAX, u64::MAX - 1);
    let json = format!(
        "{{\"type\":\"invoke\",\"process\":0,\"f\":\"append\",\"key\":1,\"value\":{a}}}\n\
         {{\"type\":\"ok\",\"process\":0,\"f\":\"append\",\"key\":1,\"value\":{a}}}\n\
         {{\"type\":\"invoke\",\"process\":0,\"f\":\"append\",\"key\":1,\"value\":{b}}}\n\
         {{\"type\":\"ok\",\"process\":0,\"f\":\"append\",\"key\":1,\"value\":{b}}}\n\
         {{\"type\":\"invoke\",\"process\":1,\"f\":\"read\",\"key\":1,\"value\":null}}\n\
         {{\"type\":\"ok\",\"process\":1,\"f\":\"read\",\"key\":1,\"value\":[{b},{a}]}}\n"
    );
    let edn = format!(
        "{{:type :invoke, :process 0, :f :append, :key 1, :value {a}}}\n\
         {{:type :ok, :process 0, :f :append, :key 1, :value {a}}}\n\
         {{:type :invoke, :process 0, :f :append, :key 1, :value {b}N}}\n\
         {{:type :ok, :process 0, :f :append, :key 1, :value {b}N}}\n\
         {{:type :invoke, :process 1, :f :read, :key 1, :value nil}}\n\
         {{:type :ok, :process 1, :f :read, :key 1, :value [{b} {a}]}}\n"
    );
    for (name, text) in [("h.jsonl", json.clone()), ("h.edn", edn.clone())] {
        let opts = ReadOptions {
            format: Some(if name == "h.edn" { Format::Edn } else { Format::Jsonl }),
            ..ReadOptions::default()
        };
        let read = |name: &str, bytes: &[u8]| read_bytes(name, bytes, &opts);
        let (h, f) = read(name, text.as_bytes()).unwrap();
        assert_ne!(h.ops[0].input, h.ops[1].input, "{name}");
        assert_eq!(linearizable(name, &h, f, None), crate::Verdict::Invalid, "{name}");
        let right = text
            .replace(&format!("[{b},{a}]"), &format!("[{a},{b}]"))
            .replace(&format!("[{b} {a}]"), &format!("[{a} {b}]"));
        let (h, f) = read(name, right.as_bytes()).unwrap();
        assert_eq!(linearizable(name, &h, f, None), crate::Verdict::Valid, "{name}");
    }
}

/// Every JSON Lines line conch ships (example histories, malformed inputs,
/// the fuzz corpus; generated ones: `tests/read.rs`): the JSON parser gives what the
/// serde_json parser it replaced gives (see `jsonl_serde::agree`).
#[test]
fn json_parser_agrees_with_the_serde_json_reference_on_every_file() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    for dir in [
        "histories/linear",
        "histories/session",
        "tests/malformed",
        "tests/data",
        "fuzz/corpus/read_jsonl",
        "fuzz/corpus/check_sharded",
    ] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            files.push(entry.unwrap().path());
        }
    }
    let mut lines = 0;
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
            if let Err(diff) = super::jsonl_serde::agree(line, i as u64 + 1, 64) {
                panic!("{}:{}: {diff}", path.display(), i + 1);
            }
            lines += 1;
        }
    }
    assert!(files.len() > 100 && lines > 1000, "{} files, {lines} lines", files.len());
}

/// A JSON event line with its fields in any order, assorted whitespace,
/// string escapes and unknown fields.
fn arb_json_line() -> impl Strategy<Value = String> {
    let ws = prop_oneof![Just(""), Just(" "), Just("\t"), Just(" \r ")];
    let field = prop_oneof![
        Just(r#""type":"invoke""#.to_string()),
        Just(r#""type":"ok""#.to_string()),
        Just(r#""ty\u0070e":"info""#.to_string()),
        (0u64..5).prop_map(|p| format!(r#""process":{p}"#)),
        Just(r#""process":"nemesis""#.to_string()),
        Just(r#""process":null"#.to_string()),
        Just(r#""f":"read""#.to_string()),
        Just(r#""f":"w\u00e9""#.to_string()),
        value(Space::Json).prop_map(|v| format!(r#""value":{}"#, serde_json::to_string(&v).unwrap())),
        value(Space::Json).prop_map(|v| format!(r#""key":{}"#, serde_json::to_string(&v).unwrap())),
        any::<i64>().prop_map(|t| format!(r#""time":{t}"#)),
        Just(r#""time":1.5"#.to_string()),
        Just(r#""node":"n\"1""#.to_string()),
        Just(r#""final":true"#.to_string()),
        Just(r#""index":7"#.to_string()),
        Just(r#""extra":[1,{"a":[true,null]},"x\\y"]"#.to_string()),
        Just(r#""bad":[1,]"#.to_string()),
        // Near the names the scanner matches as bytes, and numbers near
        // its exact-integer bound.
        prop::sample::select(vec![
            r#""type":"oks""#,
            r#""type":"Ok""#,
            r#""type":"""#,
            r#""type":"inf\o""#,
            r#""typ":"ok""#,
            r#""f":"transfer""#,
            r#""f":"transfers""#,
            r#""f":"txn""#,
            r#""f":"""#,
            r#""f":"c\u0061s""#,
            r#""f":"dequeue1""#,
            r#""fi":1"#,
            r#""types":1"#,
            r#""k\u0065y":2"#,
            "\"ke\ty\":1",
            r#""value":-0"#,
            r#""value":01"#,
            r#""value":123456789012345678"#,
            r#""value":1234567890123456789"#,
            r#""key":-9223372036854775808"#,
            r#""key":9223372036854775808"#,
            r#""value":nul"#,
            r#""value":-"#,
            r#""time":-12"#,
            r#""process":007"#,
        ])
        .prop_map(String::from),
    ];
    (proptest::collection::vec((field, ws.clone()), 0..8), ws).prop_map(|(fields, ws)| {
        let body: Vec<String> = fields.into_iter().map(|(f, w)| format!("{w}{f}{w}")).collect();
        format!("{ws}{{{}}}{ws}", body.join(","))
    })
}

/// A JSON event line in or near the fast path's shape: no whitespace,
/// usual fields, and values on both sides of each of its limits.
fn arb_fast_line() -> impl Strategy<Value = String> {
    let field = prop_oneof![
        prop::sample::select(vec!["invoke", "ok", "fail", "info", "Ok", "inf", "invokes", ""])
            .prop_map(|t| format!(r#""type":"{t}""#)),
        prop::sample::select(vec!["read", "write", "cas", "transfer", "txn", "start", "dequeue1", ""])
            .prop_map(|f| format!(r#""f":"{f}""#)),
        prop_oneof![any::<i64>().prop_map(|p| p.to_string()), (0u64..64).prop_map(|p| p.to_string())]
            .prop_map(|p| format!(r#""process":{p}"#)),
        prop::sample::select(vec![r#""nemesis""#, "null", r#""n1""#, "1.0", "[1]", "true"])
            .prop_map(|p| format!(r#""process":{p}"#)),
        arb_fast_scalar().prop_map(|k| format!(r#""key":{k}"#)),
        prop_oneof![
            arb_fast_scalar(),
            proptest::collection::vec(arb_fast_scalar(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            Just("[[1,2]]".to_string()),
            Just("true".to_string()),
            Just("false".to_string()),
            Just(r#"{"a":1}"#.to_string()),
        ]
        .prop_map(|v| format!(r#""value":{v}"#)),
        arb_fast_scalar().prop_map(|t| format!(r#""time":{t}"#)),
        arb_fast_scalar().prop_map(|x| format!(r#""index":{x}"#)),
        arb_fast_scalar().prop_map(|n| format!(r#""node":{n}"#)),
        prop::sample::select(vec!["true", "false", "null", "1"]).prop_map(|b| format!(r#""final":{b}"#)),
        prop::sample::select(vec![r#""extra":1"#, r#""ty":"ok""#, r#""times":1"#, r#""f ":"read""#])
            .prop_map(String::from),
    ];
    let usual = Just(vec![
        r#""type":"invoke""#.to_string(),
        r#""process":3"#.to_string(),
        r#""f":"read""#.to_string(),
        r#""key":7"#.to_string(),
        r#""value":null"#.to_string(),
        r#""time":95"#.to_string(),
    ]);
    // The usual fields with a few replaced, then shuffled or not.
    (usual, proptest::collection::vec((0usize..8, field), 0..4), any::<bool>(), 0usize..4).prop_map(
        |(mut fields, changes, shuffle, tail)| {
            for (at, f) in changes {
                if at < fields.len() {
                    fields[at] = f;
                } else {
                    fields.push(f);
                }
            }
            if shuffle {
                fields.reverse();
            }
            let tail = ["", " ", "\r", ","][tail];
            format!("{{{}}}{tail}", fields.join(","))
        },
    )
}

/// A key, value, time or index near the fast path's limits.
fn arb_fast_scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|x| x.to_string()),
        (0i64..1000).prop_map(|x| x.to_string()),
        prop::sample::select(vec![
            "null",
            "-0",
            "0",
            "01",
            "-",
            "1.5",
            "1e3",
            "123456789012345678",
            "-123456789012345678",
            "1234567890123456789",
            "99999999999999999999",
            r#""a""#,
            r#""timed-out""#,
            r#""""#,
            r#""a"b""#,
            r#""é""#,
            "\"\u{1}\"",
            "\"\u{7f}\"",
            "nul",
        ])
        .prop_map(String::from),
    ]
}

/// Lines conch writes take the fast path, and lines it must not decide go
/// the general way: a test that fails if the fast path stops being taken
/// (or starts taking what it must not).
#[test]
fn fast_json_path_takes_the_usual_lines_and_leaves_the_rest() {
    let taken = [
        r#"{"type":"invoke","process":23,"f":"read","key":65,"value":null,"time":1}"#,
        r#"{"type":"info","process":5,"f":"read","key":66,"value":"timed-out","time":219}"#,
        r#"{"type":"ok","process":0,"f":"cas","value":[0,3],"time":5,"index":9}"#,
        r#"{"type":"fail","process":"nemesis","f":"write","value":-4,"node":"n1","final":true}"#,
        r#"{"f":"write","type":"invoke","process":null,"key":"k","value":false}"#,
    ];
    for line in taken {
        let fast = super::json_fast::event(line.as_bytes(), 4, 64).unwrap_or_else(|| panic!("not taken: {line}"));
        assert_eq!(Ok(fast), super::json::parse_line_general(line.as_bytes(), 4, 64, false).map(|(e, _)| e));
    }
    let left = [
        r#"{"type":"invoke", "process":1,"f":"read","value":null}"#,
        r#"{"type":"invoke","process":1,"f":"read","value":01}"#,
        r#"{"type":"invoke","process":1,"f":"read","value":1.0}"#,
        r#"{"type":"invoke","process":1,"f":"read","value":1234567890123456789}"#,
        r#"{"type":"invoke","process":1,"f":"read","value":"a
b"}"#,
        r#"{"type":"invoke","process":1,"f":"read","value":[[1]]}"#,
        r#"{"type":"invoke","process":1,"f":"txn","value":[]}"#,
        r#"{"type":"invoke","process":1,"f":"read","f":"read"}"#,
        r#"{"type":"invoke","process":-1,"f":"read"}"#,
        r#"{"type":"invoke","process":1,"f":"start"}"#,
        r#"{"type":"invoke","process":1,"value":[["r",1,null]]}"#,
        r#"{"type":"invoke","process":1,"f":"read","extra":1}"#,
        r#"{"type":"invoke","process":1,"f":"read"} "#,
        r#"{"process":1,"f":"read"}"#,
    ];
    for line in left {
        assert_eq!(super::json_fast::event(line.as_bytes(), 4, 64), None, "{line}");
        super::json_parsers_agree(line.as_bytes(), 4, 64).unwrap_or_else(|d| panic!("{line}: {d}"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// The JSON parser against the serde_json reference on generated lines.
    /// The fast path against the general scanner (and both against
    /// serde_json) on lines in and near its shape.
    #[test]
    fn fast_json_path_agrees_with_the_general_scanner(line in arb_fast_line()) {
        super::json_parsers_agree(line.as_bytes(), 1, 64).map_err(TestCaseError::fail)?;
        super::jsonl_serde::agree(line.as_bytes(), 1, 64).map_err(TestCaseError::fail)?;
    }

    /// ... and on lines with whitespace, escapes and unknown fields.
    #[test]
    fn fast_json_path_agrees_on_assorted_lines(line in arb_json_line()) {
        super::json_parsers_agree(line.as_bytes(), 1, 64).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn json_parser_agrees_with_the_serde_json_reference(line in arb_json_line()) {
        super::jsonl_serde::agree(line.as_bytes(), 1, 64).map_err(TestCaseError::fail)?;
    }

    /// Map fields in any order, in JSON and EDN: the same value as written.
    #[test]
    fn map_fields_in_any_order_read_as_one_value(
        entries in proptest::collection::btree_map("[a-z]{1,3}", any::<i64>(), 1..6),
        rot in 0usize..6,
    ) {
        let mut pairs: Vec<(String, i64)> = entries.into_iter().collect();
        let json = |ps: &[(String, i64)]| format!("{{{}}}", ps.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect::<Vec<_>>().join(","));
        let edn = |ps: &[(String, i64)]| format!("{{{}}}", ps.iter().map(|(k, v)| format!(":{k} {v}")).collect::<Vec<_>>().join(", "));
        let (j0, e0) = (json(&pairs), edn(&pairs));
        let n = pairs.len();
        pairs.rotate_left(rot % n);
        pairs.reverse();
        let (j1, e1) = (json(&pairs), edn(&pairs));
        let line = |v: &str| format!("{{\"type\":\"invoke\",\"process\":0,\"f\":\"write\",\"value\":{v}}}");
        let a = super::json::parse_line(line(&j0).as_bytes(), 1, 8).unwrap().value;
        let b = super::json::parse_line(line(&j1).as_bytes(), 1, 8).unwrap().value;
        let c = super::edn::parse_one(&e0, 8).unwrap();
        let d = super::edn::parse_one(&e1, 8).unwrap();
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(&a, &c);
        prop_assert_eq!(&c, &d);
    }
}

/// The EDN fast path on one line: when it accepts a map, the general
/// parser and `event_from_edn` give the same event and end (`Err` says how
/// they differ). Lines it declines are the general path's alone.
fn edn_fast_agrees(line: &str, max_depth: usize) -> Result<bool, String> {
    let at = super::edn::skip_ws(line.as_bytes(), 0);
    let Some(m) = super::edn_fast::op_map(line.as_bytes(), at, max_depth) else { return Ok(false) };
    let end = m.end;
    let fast = m.into_event();
    let general = match super::edn::next_form(line, 0, max_depth) {
        Ok(super::edn::Next::Form { value: Value::Map(m), end: gend, .. }) => {
            super::event::event_from_edn(m.into_entries(), 0, super::event::EdnFlavour::Jepsen).map(|e| (e, gend))
        }
        other => return Err(format!("fast path accepted what the parser reads as {other:?}")),
    };
    match general {
        Ok((e, gend)) if e == fast && gend == end => Ok(true),
        other => Err(format!("fast path {:?}, general {other:?}", (fast, end))),
    }
}

/// Every EDN line conch ships or reads in tests (Jepsen test data,
/// malformed inputs, the fuzz corpus, Porcupine's kv files): the fast path
/// agrees with the general parser wherever it accepts a line, and it does
/// accept the usual op maps.
#[test]
fn edn_fast_path_agrees_with_the_general_parser_on_every_file() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    for dir in
        ["crates/checker/testdata/jepsen", "tests/malformed", "fuzz/corpus/read_edn", "../shared/fixtures/porcupine/kv"]
    {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            files.push(entry.unwrap().path());
        }
    }
    let (mut lines, mut accepted) = (0, 0);
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for (i, line) in text.lines().enumerate() {
            for depth in [1, 2, 64] {
                match edn_fast_agrees(line, depth) {
                    Ok(yes) => accepted += yes as usize,
                    Err(diff) => panic!("{}:{}: {diff}", path.display(), i + 1),
                }
            }
            lines += 1;
        }
    }
    assert!(lines > 1000 && accepted > 1000, "{lines} lines, {accepted} accepted");
}

/// An EDN op map with its keys in any order: known fields with values of
/// every kind the fast path takes or declines.
fn arb_edn_line() -> impl Strategy<Value = String> {
    let ws = prop_oneof![Just(" "), Just(", "), Just("\t"), Just(" ; c\n "), Just(""), Just("\r\n"), Just("\n")];
    let field = prop_oneof![
        prop::sample::select(vec![
            ":type :invoke",
            ":type :ok",
            ":type :fail",
            ":type \"info\"",
            ":type :bogus",
            ":type 1"
        ]),
        prop::sample::select(vec![":f :read", ":f :cas", ":f :my-op", ":f \"w\"", ":f :", ":f ::x", ":f nil", ":f 3"]),
        prop::sample::select(vec![
            ":process 0",
            ":process 12",
            ":process -1",
            ":process :nemesis",
            ":process nil",
            ":process 007",
            ":process 1.5"
        ]),
        prop::sample::select(vec![
            ":value nil",
            ":value 5",
            ":value -0",
            ":value [1 nil]",
            ":value [:k [1 2]]",
            ":value (1 2)",
            ":value [[[[1]]]]",
            ":value #{1}",
            ":value {:a 1}",
            ":value \"s\\\"t\"",
            ":value \"é\"",
            ":value 1.5",
            ":value 12N",
            ":value +3",
            ":value true",
            ":value sym",
            ":value 1234567890123456789",
            ":value 12345678901234567890",
            ":value -9223372036854775809",
            ":value -42",
            ":value :kw",
            ":value [:k 5]",
            ":value [\"s\" nil]",
            ":value [1 [2 3]]",
            ":value [-1 \"a\\nb\"]",
            ":value [1 2 3]",
            ":value []",
            ":value [1]",
            ":value [ 1 , 2 ]",
            ":value [12345678901234567890 1]",
            ":value [1 1.5]"
        ]),
        prop::sample::select(vec![":key 3", ":key :k", ":key nil", ":key \"x\""]),
        prop::sample::select(vec![":time 10", ":time -5", ":time nil", ":time 1.0"]),
        prop::sample::select(vec![
            ":index 4",
            ":index -4",
            ":node \"n1\"",
            ":node :n2",
            ":node 3",
            ":final? true",
            ":final false",
            ":final? 1",
            ":error :timeout"
        ]),
    ];
    (proptest::collection::vec((field, ws.clone()), 0..8), ws).prop_map(|(fields, ws)| {
        let body: Vec<String> = fields.into_iter().map(|(f, w)| format!("{w}{f}{w}")).collect();
        format!("{ws}{{{}}}{ws}", body.join(" "))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn edn_fast_path_agrees_with_the_general_parser(line in arb_edn_line(), depth in 1usize..5) {
        edn_fast_agrees(&line, depth).map_err(TestCaseError::fail)?;
    }
}

/// Records events as the reader pushes them (split or not), to compare
/// readers event by event.
pub(super) struct Recorder(pub(super) Vec<Event>);

impl crate::history::EventTarget for Recorder {
    type Output = Vec<Event>;
    fn push(&mut self, e: Event) -> Result<(), InputError> {
        self.0.push(e);
        Ok(())
    }
    fn finish(self) -> Result<Vec<Event>, InputError> {
        Ok(self.0)
    }
}

use crate::history::Event;

/// The whole EDN reader with the fast path and without it (the general
/// parser alone) on `text`, read in chunks of `chunk` bytes: the same
/// events pushed, split the same way, and the same history or the same
/// error. `Err` says how they differ.
fn edn_readers_agree(text: &[u8], chunk: usize, independent: Independent) -> Result<(), String> {
    let opts = ReadOptions { independent, ..ReadOptions::default() };
    let run = |general: bool, events: bool| {
        let r = std::io::BufReader::with_capacity(chunk, text);
        if events {
            format!("{:?}", edn_reader::read_with("h.edn", r, &opts, Format::Edn, Recorder(Vec::new()), !general))
        } else {
            let h = HistoryBuilder::new("h.edn");
            format!("{:?}", edn_reader::read_with("h.edn", r, &opts, Format::Edn, h, !general))
        }
    };
    for events in [true, false] {
        let (fast, general) = (run(false, events), run(true, events));
        if fast != general {
            return Err(format!("chunks of {chunk}, {independent:?}:\n fast:    {fast}\n general: {general}"));
        }
    }
    Ok(())
}

/// Every shipped EDN file, whole, in odd-sized chunks and in every
/// independent mode: the reader with the fast path gives exactly what the
/// general parser alone gives.
#[test]
fn edn_reader_agrees_with_the_general_parser_on_every_file() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut n = 0;
    for dir in [
        "crates/checker/testdata/jepsen",
        "tests/malformed",
        "fuzz/corpus/read_edn",
        "../shared/fixtures/porcupine/kv",
        "../shared/fixtures/porcupine",
    ] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else { continue };
        for entry in entries {
            let path = entry.unwrap().path();
            if !path.is_file() {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            for chunk in [1 << 20, 4093, 61] {
                for mode in [Independent::Auto, Independent::Yes, Independent::No] {
                    edn_readers_agree(&bytes, chunk, mode).unwrap_or_else(|d| panic!("{}: {d}", path.display()));
                }
            }
            n += 1;
        }
    }
    assert!(n > 20, "{n} files");
}

/// A history of generated op map lines (valid, odd, broken), separated
/// by LF or CRLF, optionally inside a top-level vector.
fn arb_edn_history() -> impl Strategy<Value = String> {
    let valid = (0u64..4, prop::sample::select(vec!["invoke", "ok", "info", "fail"]), 0i64..50, 0u8..4).prop_map(
        |(p, t, v, shape)| {
            let value = match shape {
                0 => format!("[{} {v}]", v % 3),
                1 => format!("[:k{} nil]", v % 3),
                2 => format!("[{} [{v} {}]]", v % 2, v + 1),
                _ => format!("{v}"),
            };
            let f = if shape == 2 { "cas" } else { "write" };
            format!("{{:type :{t}, :f :{f}, :value {value}, :time {v}, :process {p}, :index {v}}}")
        },
    );
    let nemesis = Just("{:type :info, :f :kill, :process :nemesis, :value nil}".to_string());
    let line = prop_oneof![4 => valid, 1 => nemesis, 2 => arb_edn_line()];
    (proptest::collection::vec(line, 0..12), prop::sample::select(vec!["\n", "\r\n"]), any::<bool>()).prop_map(
        |(lines, nl, vector)| {
            let body = lines.join(nl);
            if vector {
                format!("[{body}]{nl}")
            } else {
                format!("{body}{nl}")
            }
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn edn_reader_agrees_with_the_general_parser(
        text in arb_edn_history(),
        chunk in prop::sample::select(vec![1usize, 3, 17, 64, 1 << 16]),
        mode in prop::sample::select(vec![Independent::Auto, Independent::Yes, Independent::No]),
    ) {
        edn_readers_agree(text.as_bytes(), chunk, mode).map_err(TestCaseError::fail)?;
    }
}
