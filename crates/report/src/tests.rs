//! Snapshot tests: each renderer on small reports produced by the checker
//! from histories written here, the exact bytes out. `UPDATE_EXPECT=1 cargo
//! test -p conch-report` rewrites the snapshots; review the diff.

use crate::{html, json, junit, plot, svg, table, text};
use checker::{CheckName, Verdict};
use expect_test::{expect, expect_file};
use runner::check::{check_bytes, Checked};
use runner::compare::{CheckSummary, Row};

const STALE_READ: &str = r#"{"type":"invoke","process":0,"f":"write","value":1,"time":0}
{"type":"ok","process":0,"f":"write","value":1,"time":10}
{"type":"invoke","process":0,"f":"write","value":2,"time":20}
{"type":"ok","process":0,"f":"write","value":2,"time":30}
{"type":"invoke","process":1,"f":"read","value":null,"time":40}
{"type":"ok","process":1,"f":"read","value":1,"time":50}
"#;

const LIST_WITH_FINAL_READS: &str = r#"{"type":"invoke","process":0,"f":"append","value":1,"time":0}
{"type":"ok","process":0,"f":"append","value":1,"time":10}
{"type":"info","process":"nemesis","f":"start-partition","value":"n1","time":15}
{"type":"invoke","process":1,"f":"read","value":null,"time":20,"node":"n1"}
{"type":"ok","process":1,"f":"read","value":[],"time":30,"node":"n1"}
{"type":"info","process":"nemesis","f":"stop-partition","value":null,"time":35}
{"type":"invoke","process":2,"f":"read","value":null,"time":40,"node":"n1","final":true}
{"type":"ok","process":2,"f":"read","value":[1],"time":50,"node":"n1","final":true}
"#;

/// Checks `history` with every check that fits; the timing zeroed.
fn checked(name: &str, history: &str) -> Checked {
    let mut c = check_bytes(name, history.as_bytes());
    if let Ok((r, _)) = &mut c.result {
        r.elapsed_ms = 0;
    }
    c
}

fn report(c: &Checked) -> &checker::Report {
    &c.result.as_ref().unwrap().0
}

/// A stale read (invalid), a valid history with a skipped check made
/// unknown, and an empty file.
fn outcomes() -> Vec<Checked> {
    let mut valid = checked("ok.jsonl", LIST_WITH_FINAL_READS);
    if let Ok((r, _)) = &mut valid.result {
        let c = r.results.iter_mut().find(|c| c.check == CheckName::MonotonicReads).unwrap();
        c.keys[0].verdict = Verdict::Unknown;
        c.keys[0].unknown_reason = Some("timeout after 1 s".into());
        c.verdict = Verdict::Unknown;
        r.verdict = Verdict::Unknown;
    }
    vec![checked("stale.jsonl", STALE_READ), valid, checked("empty.jsonl", "")]
}

fn rows() -> Vec<Row> {
    let summary = |check, valid, invalid, first| CheckSummary {
        check,
        seeds_valid: valid,
        seeds_invalid: invalid,
        seeds_unknown: 2 - valid - invalid,
        first_violating_seed: first,
    };
    vec![
        Row {
            protocol: "raft".into(),
            workload: "register".into(),
            seeds: 2,
            ops: 1000,
            throughput_ops_per_s: 412.5,
            latency_ms_p50: 1.25,
            latency_ms_p99: 55.0,
            latency_ms_max: 210.75,
            availability: 0.84,
            availability_during_faults: Some(0.5),
            msgs_per_op: 21.7,
            converge_ms_max: Some(503.2),
            checks: vec![summary(CheckName::Linearizable, 2, 0, None), summary(CheckName::Convergence, 1, 0, None)],
            invariants: Default::default(),
            coverage: Default::default(),
            promises: None,
            anomalies: Default::default(),
            faults_by_kind: [("crash".to_string(), 8), ("partition".to_string(), 7)].into(),
            seeds_missing_faults: 0,
            command: "conch run --protocol raft --seed 0".into(),
        },
        Row {
            protocol: "lww<&>".into(),
            workload: "register".into(),
            seeds: 2,
            ops: 1000,
            throughput_ops_per_s: 619.0,
            latency_ms_p50: 0.2,
            latency_ms_p99: 0.3,
            latency_ms_max: 0.3,
            availability: 0.78,
            availability_during_faults: None,
            msgs_per_op: 1.7,
            converge_ms_max: None,
            checks: vec![summary(CheckName::Linearizable, 0, 2, Some(1))],
            invariants: Default::default(),
            coverage: Default::default(),
            promises: None,
            anomalies: [("not-linearizable".to_string(), 2)].into(),
            faults_by_kind: [("clock-skew".to_string(), 3)].into(),
            seeds_missing_faults: 1,
            command: "conch run --protocol lww --seed 1".into(),
        },
    ]
}

/// A transactional row as compare makes it for si: the model it promises
/// held, the next one up failed with write skew.
fn si_row() -> Row {
    let c = |check, valid, invalid, first| CheckSummary {
        check,
        seeds_valid: valid,
        seeds_invalid: invalid,
        seeds_unknown: 0,
        first_violating_seed: first,
    };
    Row {
        protocol: "si".into(),
        workload: "txn-rw-register".into(),
        checks: vec![c(CheckName::SnapshotIsolation, 4, 0, None), c(CheckName::Serializable, 1, 3, Some(2))],
        promises: Some(CheckName::SnapshotIsolation),
        anomalies: [("G2-item".to_string(), 3)].into(),
        faults_by_kind: Default::default(),
        seeds: 4,
        seeds_missing_faults: 0,
        command: "conch run --protocol si --seed 2 --check --checks snapshot-isolation,serializable".into(),
        ..rows()[0].clone()
    }
}

/// Transactional rows show their isolation checks, weakest first, and
/// the anomalies found: the anomaly lattice on a protocol.
#[test]
fn compare_shows_a_transactional_row_on_the_anomaly_lattice() {
    let rows = [si_row()];
    let table = table::table(&rows);
    assert!(table.lines().next().unwrap().ends_with("bank  isolation"), "{table}");
    assert!(
        table.lines().nth(1).unwrap().ends_with("snapshot-isolation ok; serializable FAIL 3/4 (seed 2)"),
        "{table}"
    );
    let csv = table::csv(&rows);
    let (head, line) = csv.trim_end().split_once('\n').unwrap();
    let cell = |name: &str| {
        let i = head.split(',').position(|h| h == name).unwrap_or_else(|| panic!("{name} in {head}"));
        line.split(',').nth(i).unwrap().to_string()
    };
    assert_eq!(cell("serializable_invalid_seeds"), "3");
    assert_eq!(cell("serializable_first_violating_seed"), "2");
    assert_eq!(cell("snapshot-isolation_invalid_seeds"), "0");
    assert_eq!(cell("linearizable_invalid_seeds"), "");
    assert_eq!(cell("anomalies"), "G2-item:3");
    expect![[r#"
          si promises snapshot-isolation: snapshot-isolation ok; serializable FAIL 3/4 (seed 2); anomalies found: G2-item on 3 seeds
        compare: 1 protocol, 4 seeds each: violations in si (serializable on 3 seeds)"#]]
    .assert_eq(&text::compare_summary(&rows));
    let html = html::demo_index(&rows);
    assert!(html.contains("serializable 3/4, first seed 2"), "{html}");
    assert!(html.contains("G2-item"), "{html}");
}

/// Every isolation model a bundled protocol is compared against has its
/// CSV columns.
#[test]
fn every_compared_isolation_model_has_csv_columns() {
    for p in workloads::registry::PROTOCOLS {
        for c in p.isolation {
            assert!(table::TXN_COLUMNS.contains(c), "{}: {c}", p.name);
        }
    }
}

#[test]
fn text_report_of_a_stale_read() {
    let c = checked("stale.jsonl", STALE_READ);
    expect_file!["snapshots/text-stale-read.txt"].assert_eq(&text::report(report(&c), false));
}

#[test]
fn text_report_verbose_lists_valid_keys_staleness_and_skipped_checks() {
    let c = checked("list.jsonl", LIST_WITH_FINAL_READS);
    expect_file!["snapshots/text-list-verbose.txt"].assert_eq(&text::report(report(&c), true));
}

#[test]
fn text_summary_line() {
    expect!["stale.jsonl: INVALID (jsonl, 3 ops; linearizable invalid, read-your-writes valid, monotonic-reads valid, monotonic-writes valid, writes-follow-reads valid)"].assert_eq(&text::summary_line(report(&checked("stale.jsonl", STALE_READ))));
}

/// Regression (#12 §4): with several inputs, a file that failed to read was
/// missing from the text summary.
#[test]
fn text_of_several_files_lists_the_one_that_failed_to_read() {
    let o = outcomes();
    let all = text::files(&o, false);
    let reports = text::report(report(&o[0]), false) + &text::report(report(&o[1]), false);
    assert!(all.starts_with(&reports), "{all}");
    expect![[r#"
        empty.jsonl: BAD INPUT
          empty history: no events found

        3 files: 0 valid, 1 invalid, 1 unknown, 1 bad input
    "#]]
    .assert_eq(&all[reports.len()..]);
}

/// Regression (#12 §5): a lone unreadable input printed a blank line on
/// standard output before its error.
#[test]
fn text_of_a_lone_unreadable_file_is_empty() {
    assert_eq!(text::files(&[checked("empty.jsonl", "")], false), "");
}

/// Regression (#12 §4, §2a): a file that failed to read was missing from
/// JUnit, and skipped checks were not listed.
#[test]
fn junit_lists_failures_skips_and_the_file_that_failed_to_read() {
    expect![[r#"
        <?xml version="1.0" encoding="UTF-8"?>
        <testsuites name="conch">
          <testsuite name="stale.jsonl" tests="6" failures="1" errors="0" skipped="1" time="0.000">
            <testcase classname="stale.jsonl" name="linearizable"><failure message="linearizable violated">history: Stale read: process 1 read -&gt; 1 (lines 5-6) saw 1 after 2 had overwritten it. In detail: it began after process 0 write 2 -&gt; ok (lines 3-4) completed, which itself began after process 0 write 1 -&gt; ok (lines 1-2) completed, so the read must see 2 or a later value.</failure></testcase>
            <testcase classname="stale.jsonl" name="read-your-writes"></testcase>
            <testcase classname="stale.jsonl" name="monotonic-reads"></testcase>
            <testcase classname="stale.jsonl" name="monotonic-writes"></testcase>
            <testcase classname="stale.jsonl" name="writes-follow-reads"></testcase>
            <testcase classname="stale.jsonl" name="convergence"><skipped message="not applicable: no final reads (ops marked final) in the history"/></testcase>
          </testsuite>
          <testsuite name="ok.jsonl" tests="6" failures="1" errors="0" skipped="1" time="0.000">
            <testcase classname="ok.jsonl" name="linearizable"><failure message="linearizable violated">history: process 0 append 1 -&gt; ok (lines 1-2) completed before process 1 read -&gt; [] (lines 4-5) began, yet that read returned only 0 elements, without 1.</failure></testcase>
            <testcase classname="ok.jsonl" name="read-your-writes"></testcase>
            <testcase classname="ok.jsonl" name="monotonic-reads"><skipped message="undecided: timeout after 1 s"/></testcase>
            <testcase classname="ok.jsonl" name="monotonic-writes"></testcase>
            <testcase classname="ok.jsonl" name="writes-follow-reads"></testcase>
            <testcase classname="ok.jsonl" name="convergence"></testcase>
          </testsuite>
          <testsuite name="empty.jsonl" tests="1" failures="0" errors="1" skipped="0" time="0.000">
            <testcase classname="empty.jsonl" name="input"><error message="bad input">empty.jsonl: empty history: no events found</error></testcase>
          </testsuite>
        </testsuites>
    "#]].assert_eq(&junit::junit(&outcomes()));
}

/// Regression (#12 §4): a file that failed to read was missing from the JSON.
#[test]
fn json_lists_every_file_with_its_error() {
    let doc: serde_json::Value = serde_json::from_str(&json::files(&outcomes(), 1)).unwrap();
    let brief: Vec<serde_json::Value> = doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| serde_json::json!({"file": f["file"], "verdict": f["verdict"], "error": f["error"]}))
        .collect();
    expect![[r#"
        {
          "exit_code": 1,
          "files": [
            {
              "error": null,
              "file": "stale.jsonl",
              "verdict": "invalid"
            },
            {
              "error": null,
              "file": "ok.jsonl",
              "verdict": "unknown"
            },
            {
              "error": {
                "kind": "input",
                "line": null,
                "message": "empty history: no events found"
              },
              "file": "empty.jsonl",
              "verdict": null
            }
          ]
        }"#]]
    .assert_eq(
        &serde_json::to_string_pretty(&serde_json::json!({"exit_code": doc["exit_code"], "files": brief})).unwrap(),
    );
}

#[test]
fn compare_table_and_csv() {
    expect![[r#"
        protocol  workload  ops/s  p50 ms  p99 ms  max ms  avail  avail@fault  msgs/op  converge ms  linearizable       ryw  mono-reads  mono-writes  wfr  convergence  bank  isolation
        raft      register  412    1.2     55.0    210.8   84%    50%          21.7     503          ok                 -    -           -            -    1 unknown    -     -
        lww<&>    register  619    0.2     0.3     0.3     78%    -            1.7      -            FAIL 2/2 (seed 1)  -    -           -            -    -            -     -
    "#]].assert_eq(&table::table(&rows()));
    expect![[r#"
        protocol,workload,seeds,ops,throughput_ops_per_s,latency_ms_p50,latency_ms_p99,latency_ms_max,availability,availability_during_faults,msgs_per_op,converge_ms_max,linearizable_invalid_seeds,linearizable_first_violating_seed,read-your-writes_invalid_seeds,read-your-writes_first_violating_seed,monotonic-reads_invalid_seeds,monotonic-reads_first_violating_seed,monotonic-writes_invalid_seeds,monotonic-writes_first_violating_seed,writes-follow-reads_invalid_seeds,writes-follow-reads_first_violating_seed,convergence_invalid_seeds,convergence_first_violating_seed,bank_invalid_seeds,bank_first_violating_seed,read-committed_invalid_seeds,read-committed_first_violating_seed,consistent-view_invalid_seeds,consistent-view_first_violating_seed,snapshot-isolation_invalid_seeds,snapshot-isolation_first_violating_seed,serializable_invalid_seeds,serializable_first_violating_seed,strict-serializable_invalid_seeds,strict-serializable_first_violating_seed,anomalies
        raft,register,2,1000,412.500,1.250,55.000,210.750,0.8400,0.5000,21.700,503.200,0,,,,,,,,,,0,,,,,,,,,,,,,,
        lww<&>,register,2,1000,619.000,0.200,0.300,0.300,0.7800,,1.700,,2,1,,,,,,,,,,,,,,,,,,,,,,,not-linearizable:2
    "#]].assert_eq(&table::csv(&rows()));
}

#[test]
fn compare_json() {
    let doc: serde_json::Value = serde_json::from_str(&json::compare(&rows()[1..])).unwrap();
    expect![[r#"{"rows":[{"anomalies":{"not-linearizable":2},"availability":0.78,"availability_during_faults":null,"checks":[{"check":"linearizable","first_violating_seed":1,"seeds_invalid":2,"seeds_unknown":0,"seeds_valid":0}],"command":"conch run --protocol lww --seed 1","converge_ms_max":null,"coverage":{},"faults_by_kind":{"clock-skew":3},"invariants":{"first":null,"first_violating_seed":null,"seeds_violated":0},"latency_ms_max":0.3,"latency_ms_p50":0.2,"latency_ms_p99":0.3,"msgs_per_op":1.7,"ops":1000,"promises":null,"protocol":"lww<&>","seeds":2,"seeds_missing_faults":1,"throughput_ops_per_s":619.0,"workload":"register"}]}"#]].assert_eq(&doc.to_string());
}

/// The comparison's bar charts (#18 §6: they were hand-written SVG with no
/// axis): plotters charts with a value axis, its ticks and unit, a legend,
/// each protocol named and each bar labelled with its value.
#[test]
fn svg_bars() {
    let latency = svg::latency_bars(&rows());
    for label in ["latency (ms)", "0 ms", "p50", "p99", "raft", "lww&lt;&amp;&gt;", "55.0 ms", "0.2 ms"] {
        assert!(latency.contains(label), "latency bars lack {label}:\n{latency}");
    }
    let availability = svg::availability_bars(&rows()[1..]);
    for label in ["ops that succeeded (%)", "100%", "overall", "during faults", "78.0%"] {
        assert!(availability.contains(label), "availability bars lack {label}:\n{availability}");
    }
    // No tick past 100%, and lww's runs had no fault: no bar, a dash.
    assert!(!availability.contains("120%") && availability.contains("\n-\n"), "{availability}");
    expect_file!["snapshots/latency-bars.svg"].assert_eq(&latency);
    expect_file!["snapshots/availability-bars.svg"].assert_eq(&availability);
}

/// The y axis's tick labels of a plotters SVG (right-aligned texts).
fn y_ticks(svg: &str) -> Vec<&str> {
    let lines: Vec<&str> = svg.lines().collect();
    lines
        .windows(2)
        .filter(|w| w[0].starts_with("<text") && w[0].contains("text-anchor=\"end\""))
        .map(|w| w[1])
        .collect()
}

/// #18 §6: an lww run's latencies all sit under 1 ms, and the log axis
/// from 0.1 ms had no tick below 1 ms (0.1's logarithm rounded past -1).
#[test]
fn a_latency_axis_under_one_ms_has_ticks_below_it() {
    let ops = (0..20)
        .map(|i| plot::TimedOp {
            f: "read".into(),
            outcome: checker::Outcome::Ok,
            start_ns: i * 1_000_000,
            end_ns: Some(i * 1_000_000 + 200_000 + i * 30_000),
        })
        .collect();
    let t = plot::Timing { title: "fast".into(), ops, end_ns: 20_000_000, runs: 1, faults: vec![] };
    for svg in [plot::latency_raw(&t), plot::latency_quantiles(&t)] {
        let ticks = y_ticks(&svg);
        assert!(ticks.contains(&"0.1") && ticks.contains(&"0.5") && ticks.contains(&"1"), "{ticks:?}");
    }
}

/// One whole report page byte for byte: the template, the embedded data
/// and the sections around them, of a stale read without times (so no
/// plots: they have their own snapshots). The script, which the browser
/// tests drive, is cut out so that the snapshot is not a second page.js.
#[test]
fn a_whole_report_page() {
    let untimed: String =
        STALE_READ.lines().map(|l| l.split(",\"time\"").next().unwrap().to_string() + "}\n").collect();
    let c = checked("stale.jsonl", &untimed);
    let (r, h) = c.result.as_ref().unwrap();
    let page = html::report_page(r, h.as_ref().unwrap());
    let script = include_str!("page.js");
    assert_eq!(page.matches(script).count(), 1, "the page embeds page.js once");
    expect_file!["snapshots/report-page.html.snap"].assert_eq(&page.replace(script, "/* page.js */\n"));
}

#[test]
fn html_report_data() {
    let c = checked("stale.jsonl", STALE_READ);
    let (r, h) = c.result.as_ref().unwrap();
    let data = crate::timeline::data(r, h.as_ref().unwrap());
    let ops: Vec<String> = data["ops"].as_array().unwrap().iter().map(|o| o.to_string()).collect();
    expect![[r#"
        {"cline":2,"e":10.0,"f":"write","final":false,"id":0,"in":"1","key":null,"line":1,"node":null,"out":"1","outcome":"ok","p":0,"pn":"0","s":0}
        {"cline":4,"e":30.0,"f":"write","final":false,"id":1,"in":"2","key":null,"line":3,"node":null,"out":"2","outcome":"ok","p":0,"pn":"0","s":20}
        {"cline":6,"e":50.0,"f":"read","final":false,"id":2,"in":"nil","key":null,"line":5,"node":null,"out":"1","outcome":"ok","p":1,"pn":"1","s":40}"#]].assert_eq(&ops.join("\n"));
    assert_eq!(data["report"]["verdict"], "invalid");
    assert_eq!((&data["useTime"], &data["truncated"], &data["totalOps"]), (&true.into(), &false.into(), &3.into()));
}

#[test]
fn html_report_page_escapes_its_title_and_embeds_data_safely() {
    let c = checked("<b>.jsonl", STALE_READ);
    let (r, h) = c.result.as_ref().unwrap();
    let page = html::report_page(r, h.as_ref().unwrap());
    assert!(page.contains("<title>conch: &lt;b&gt;.jsonl — invalid</title>"), "{page}");
    assert!(!page.contains("{{"), "an unfilled placeholder");
    // Exactly the page's own two scripts: nothing in the data closes one.
    assert_eq!(page.matches("</script>").count(), 2);
    assert!(page.contains("document.body.dataset.ready = 'yes'"));
}

/// An index page from its `<body>` on (the head is the same style sheet in each).
fn body(page: &str) -> &str {
    assert!(page.starts_with("<!doctype html><html><head><meta charset=\"utf-8\"><title>"), "{page}");
    &page[page.find("<body>").expect("a body")..]
}

#[test]
fn html_indexes() {
    let o = outcomes();
    let entries: Vec<(&Checked, String)> = o.iter().map(|c| (c, format!("{}.html", c.file))).collect();
    expect![[r#"
        <body><h1>conch reports</h1><table><tr><th>history</th><th>verdict</th><th>ops</th><th>checks</th></tr>
        <tr><td><a href="stale.jsonl.html">stale.jsonl</a></td><td class="v-invalid">invalid</td><td>3</td><td><span class="v-invalid">linearizable invalid</span> · <span class="v-valid">read-your-writes valid</span> · <span class="v-valid">monotonic-reads valid</span> · <span class="v-valid">monotonic-writes valid</span> · <span class="v-valid">writes-follow-reads valid</span></td></tr>
        <tr><td><a href="ok.jsonl.html">ok.jsonl</a></td><td class="v-unknown">unknown</td><td>3</td><td><span class="v-invalid">linearizable invalid</span> · <span class="v-valid">read-your-writes valid</span> · <span class="v-unknown">monotonic-reads unknown</span> · <span class="v-valid">monotonic-writes valid</span> · <span class="v-valid">writes-follow-reads valid</span> · <span class="v-valid">convergence valid</span></td></tr>
        <tr><td>empty.jsonl</td><td class="v-invalid">bad input</td><td></td><td>empty.jsonl: empty history: no events found</td></tr>
        </table></body></html>
    "#]].assert_eq(body(&html::examples_index(&entries)));
    let links = [html::RunLinks { protocol: "raft", runs: vec![(0, Verdict::Valid), (1, Verdict::Unknown)] }];
    expect![[r#"
        <body><h1>conch compare</h1><table><tr><th>protocol</th><th>workload</th><th>ops/s</th><th>p50 ms</th><th>p99 ms</th><th>max ms</th><th>avail</th><th>avail during faults</th><th>msgs/op</th><th>converge ms</th><th>checks (seeds violating)</th><th>reproduce</th></tr>
        <tr><td>raft</td><td>register</td><td>412</td><td>1.2</td><td>55.0</td><td>210.8</td><td>84%</td><td>50%</td><td>21.7</td><td>503</td><td><span class="v-valid">linearizable 0/2</span><br><span class="v-unknown">convergence 0/2</span></td><td><code>conch run --protocol raft --seed 0</code></td></tr>
        </table>
        <p><img src="latency.svg"> <img src="availability.svg"></p><h2>Plots</h2>
        <h3>raft (every seed overlaid)</h3><p><img src="raft/latency-raw.svg"> <img src="raft/latency-quantiles.svg"> <img src="raft/rate.svg"></p>
        <h2>Runs</h2><ul>
        <li><b>raft</b>: <a class="v-valid" href="raft/seed-0/report.html">seed 0: valid</a> · <a class="v-unknown" href="raft/seed-1/report.html">seed 1: unknown</a></li>
        </ul>
        <p>Data: <a href="compare.csv">compare.csv</a>, <a href="compare.json">compare.json</a></p></body></html>
    "#]].assert_eq(body(&html::compare_index(&rows()[..1], &links)));
    expect![[r#"
        <body><h1>conch demo</h1><p>Every bundled protocol under partitions, crashes, clock skew and message loss, each run checked for every property its workload allows. Each failing cell names the first seed that shows it; the command beside it reproduces the run.</p><table><tr><th>protocol</th><th>workload</th><th>ops/s</th><th>p50 ms</th><th>p99 ms</th><th>max ms</th><th>avail</th><th>avail during faults</th><th>msgs/op</th><th>converge ms</th><th>checks (seeds violating)</th><th>reproduce</th></tr>
        <tr><td>lww&lt;&amp;&gt;</td><td>register</td><td>619</td><td>0.2</td><td>0.3</td><td>0.3</td><td>78%</td><td>-</td><td>1.7</td><td>-</td><td><span class="v-invalid">linearizable 2/2, first seed 1</span></td><td><code>conch run --protocol lww --seed 1</code></td></tr>
        </table>
        <p><a href="protocols/index.html">Plots and every run's report</a> · <a href="histories/index.html">Bundled example histories</a></p></body></html>
    "#]].assert_eq(body(&html::demo_index(&rows()[1..])));
}

/// Two functions, every outcome, a partition: what the plots distinguish.
const TIMED: &str = r#"{"type":"invoke","process":0,"f":"write","value":1,"time":1000000}
{"type":"invoke","process":1,"f":"read","value":null,"time":2000000}
{"type":"ok","process":0,"f":"write","value":1,"time":3000000}
{"type":"ok","process":1,"f":"read","value":1,"time":4000000}
{"type":"info","process":"nemesis","f":"start-partition","value":"n1","time":5000000}
{"type":"invoke","process":0,"f":"write","value":2,"time":6000000}
{"type":"invoke","process":1,"f":"read","value":null,"time":7000000}
{"type":"fail","process":1,"f":"read","value":null,"time":9000000}
{"type":"info","process":"nemesis","f":"stop-partition","value":null,"time":21000000}
{"type":"invoke","process":1,"f":"read","value":null,"time":25000000}
{"type":"ok","process":1,"f":"read","value":2,"time":26000000}
{"type":"info","process":0,"f":"write","value":2,"time":31000000}
"#;

fn timing() -> plot::Timing {
    let c = checked("timed.jsonl", TIMED);
    let (_, h) = c.result.as_ref().unwrap();
    plot::Timing::of_history("timed", h.as_ref().unwrap()).unwrap()
}

#[test]
fn plot_timing_is_relative_to_the_first_event_with_fault_windows() {
    let t = timing();
    assert_eq!(t.end_ns, 30_000_000);
    assert_eq!(
        t.faults,
        vec![plot::Shade {
            window: workloads::metrics::FaultWindow {
                kind: "partition".into(),
                start_ns: 4_000_000,
                end_ns: 20_000_000
            },
            share: 1.0
        }]
    );
    assert_eq!(t.runs, 1);
    let ops: Vec<String> =
        t.ops.iter().map(|o| format!("{} {:?} {}..{:?}", o.f, o.outcome, o.start_ns, o.end_ns)).collect();
    expect![[r#"
        write Ok 0..Some(2000000)
        read Ok 1000000..Some(3000000)
        write Info 5000000..Some(30000000)
        read Fail 6000000..Some(8000000)
        read Ok 24000000..Some(25000000)"#]]
    .assert_eq(&ops.join("\n"));
    // A history without times has no time axis.
    let c = checked("untimed.jsonl", "{\"type\":\"invoke\",\"process\":0,\"f\":\"read\",\"value\":null}\n");
    assert!(plot::Timing::of_history("u", c.result.as_ref().unwrap().1.as_ref().unwrap()).is_none());
}

#[test]
fn plots_have_axes_units_legends_and_fault_shading() {
    let t = timing();
    for (name, svg) in plot::all(&t) {
        assert!(svg.starts_with("<svg"), "{name}");
        assert!(svg.contains("time (s)"), "{name}: no time axis");
        assert!(svg.contains("fault: partition"), "{name}: no fault legend");
    }
    let raw = plot::latency_raw(&t);
    for label in ["latency (ms, log)", "read ok", "read fail", "write ok", "write info"] {
        assert!(raw.contains(label), "latency-raw lacks {label}");
    }
    assert!(plot::latency_quantiles(&t).contains("p99"));
    assert!(plot::rate(&t).contains("completions (ops/s)"));
    expect_file!["snapshots/latency-raw.svg"].assert_eq(&raw);
    expect_file!["snapshots/latency-quantiles.svg"].assert_eq(&plot::latency_quantiles(&t));
    expect_file!["snapshots/rate.svg"].assert_eq(&plot::rate(&t));
}

/// #18 §1 (compare's overlays): every fault of every seed was shaded, so
/// forty seeds' partitions covered the whole axis. Each bucket is now
/// shaded by the share of runs under the kind: here two of four runs are
/// partitioned over 0-40% of the axis, all four over 40-50%, none after,
/// and one run's crash is instantaneous.
#[test]
fn overlaid_runs_shade_each_fault_by_the_share_of_runs_under_it() {
    const MS: i64 = 1_000_000;
    let w = |kind: &str, start_ms: i64, end_ms: i64| plot::Shade {
        window: workloads::metrics::FaultWindow { kind: kind.into(), start_ns: start_ms * MS, end_ns: end_ms * MS },
        share: 1.0,
    };
    let op = |start_ms: i64| plot::TimedOp {
        f: "read".into(),
        outcome: checker::Outcome::Ok,
        start_ns: start_ms * MS,
        end_ns: Some((start_ms + 3) * MS),
    };
    let run = |faults| plot::Timing {
        faults,
        ops: vec![op(100), op(450), op(800)],
        end_ns: 1_000 * MS,
        runs: 1,
        ..plot::Timing::default()
    };
    let runs = [
        run(vec![w("partition", 0, 500)]),
        run(vec![w("partition", 0, 250), w("partition", 200, 500)]),
        run(vec![w("partition", 400, 500), w("crash", 600, 600)]),
        run(vec![w("partition", 400, 500)]),
    ];
    let t = plot::Timing::overlay("p, 4 seeds", runs);
    assert_eq!(t.runs, 4);
    let shades: Vec<String> = t
        .faults
        .iter()
        .map(|s| format!("{} {}..{} ms {}", s.window.kind, s.window.start_ns / MS, s.window.end_ns / MS, s.share))
        .collect();
    expect![[r#"
        partition 0..400 ms 0.5
        partition 400..500 ms 1
        crash 600..608 ms 0.1"#]]
    .assert_eq(&shades.join("\n"));
    let svg = plot::latency_quantiles(&t);
    assert!(svg.contains("\nfault: partition\n") && svg.contains("(darker: more of 4 runs)"), "{svg}");
    expect_file!["snapshots/overlay-latency-quantiles.svg"].assert_eq(&svg);
}

/// Three keys, one not linearizable (repeated values: the general search
/// decides it and leaves a prefix), a partition.
const THREE_KEYS: &str = include_str!("../../../tests/data/timeline-three-keys.jsonl");

#[test]
fn timeline_data_orders_keys_invalid_first_and_carries_the_prefix_with_states() {
    let c = checked("three.jsonl", THREE_KEYS);
    let (r, h) = c.result.as_ref().unwrap();
    let d = crate::timeline::data(r, h.as_ref().unwrap());
    expect![[r#"[{"anomalies":1,"key":"\"b\"","verdict":"invalid"},{"anomalies":0,"key":"\"a\"","verdict":"valid"},{"anomalies":0,"key":"\"c\"","verdict":"valid"}]"#]]
        .assert_eq(&d["keys"].to_string());
    let mut a = d["anomalies"][0].clone();
    a["explanation"] = "…".into();
    expect![[r#"{"check":"linearizable","explanation":"…","failed":5,"initial":"nil","key":"\"b\"","kind":"not-linearizable","method":"wgl","ops":[5,2,3],"prefix":[{"id":1,"state":"1"},{"id":2,"state":"1"},{"id":3,"state":"2"}],"states":["2"]}"#]]
        .assert_eq(&a.to_string());
    expect![[r##"[{"colour":"#f4a5a5","end":75000000,"kind":"partition","start":22000000}]"##]]
        .assert_eq(&d["faultWindows"].to_string());
    assert_eq!(d["useTime"], true);
}

#[test]
fn one_line_summaries_of_seed_sweeps_and_comparisons() {
    use Verdict::*;
    let v = [Valid, Invalid, Unknown, Valid];
    expect!["raft: 4 seeds run: 2 valid, 1 invalid (first at seed 7), 1 unknown; 12.3 s"]
        .assert_eq(&text::seeds_summary("raft", 4, 4, &v, Some(7), 12.34));
    expect!["lww: 2 seeds run of 10 (stopped at the first violation): 1 valid, 1 invalid (first at seed 1), 0 unknown; 0.4 s"]
        .assert_eq(&text::seeds_summary("lww", 2, 10, &v[..2], Some(1), 0.4));
    expect!["raft: 2 seeds run: 2 valid, 0 invalid, 0 unknown; 1.0 s"].assert_eq(&text::seeds_summary(
        "raft",
        2,
        2,
        &[Valid, Valid],
        None,
        1.0,
    ));
    expect!["abd: 3 seeds run, not checked; 0.0 s"].assert_eq(&text::seeds_summary("abd", 3, 3, &[], None, 0.0));
    expect![[r#"
          raft faults: crash 8, partition 7
          lww<&> faults: clock-skew 3 (warning: on 1 seed a requested kind never took effect)
        compare: 2 protocols, 2 seeds each: violations in lww<&> (linearizable on 2 seeds)"#]]
    .assert_eq(&text::compare_summary(&rows()));
    // The demo's last line: the protocols violating something, then the
    // example histories (the empty file has no report: unreadable).
    expect!["demo: 2 protocols x 2 seeds: violations in 1 (lww<&>); 3 example histories: 0 valid, 1 invalid (first at stale.jsonl), 1 unknown, 1 unreadable; 41.2 s"]
        .assert_eq(&text::demo_summary(&rows(), &outcomes(), 41.23));
}

/// Regression: the demo runs lww twice (register, and writes only), and its
/// summary said "violations in ... lww, ..., lww". A protocol with several
/// rows is named with its workload in every summary line.
#[test]
fn summaries_name_a_protocol_with_two_rows_by_its_workload() {
    let mut rows = rows();
    let mut second = rows[1].clone();
    second.workload = "register (read=0,update=1)".into();
    rows[1].workload = "register".into();
    rows.push(second);
    let demo = text::demo_summary(&rows, &[], 1.0);
    assert!(demo.contains("violations in 2 (lww<&> register, lww<&> register (read=0,update=1))"), "{demo}");
    let compare = text::compare_summary(&rows);
    assert!(compare.contains("\n  lww<&> register (read=0,update=1) faults: clock-skew 3"), "{compare}");
    assert!(compare.lines().last().unwrap().starts_with("compare: 3 protocols"), "{compare}");
}

/// A simulated stale read (#18 §3): n1 missed write 2 because the partition
/// dropped n0's replication; the read's node answers with the old value.
/// The times are the simulator's nanoseconds.
const SIM_STALE_READ: &str = r#"{"type":"invoke","process":0,"f":"write","key":"x","value":1,"time":10000000,"node":"n0"}
{"type":"ok","process":0,"f":"write","key":"x","value":1,"time":11000000,"node":"n0"}
{"type":"info","process":"nemesis","f":"start-partition","value":{"n0":["n1"]},"time":15000000}
{"type":"invoke","process":0,"f":"write","key":"x","value":2,"time":20000000,"node":"n0"}
{"type":"ok","process":0,"f":"write","key":"x","value":2,"time":21000000,"node":"n0"}
{"type":"invoke","process":1,"f":"read","key":"x","value":null,"time":30000000,"node":"n1"}
{"type":"ok","process":1,"f":"read","key":"x","value":1,"time":31000000,"node":"n1"}
{"type":"info","process":"nemesis","f":"stop-partition","value":null,"time":40000000}
"#;

/// The simulator's message trace of that run around the anomaly.
fn sim_trace() -> Vec<workloads::sim::TraceEntry> {
    use workloads::sim::{TraceEntry, TraceKind::*};
    let e = |time_ns, kind, id, from, to, msg: &str| TraceEntry { time_ns, kind, id, from, to, msg: msg.into() };
    vec![
        e(10_100_000, Send, 1, 0, 1, "Replicate { key: x, value: 1 }"),
        e(10_600_000, Deliver, 1, 0, 1, "Replicate { key: x, value: 1 }"),
        e(20_100_000, Send, 2, 0, 1, "Replicate { key: x, value: 2 }"),
        e(20_100_000, DropPartition, 2, 0, 1, "Replicate { key: x, value: 2 }"),
        e(30_200_000, Send, 3, 1, 0, "Heartbeat"),
        e(30_200_000, DropPartition, 3, 1, 0, "Heartbeat"),
        e(99_000_000, Send, 4, 1, 0, "Heartbeat"),
    ]
}

#[test]
fn a_simulated_stale_read_is_drawn_from_the_message_trace() {
    let c = checked("sim.jsonl", SIM_STALE_READ);
    let (r, h) = c.result.as_ref().unwrap();
    let h = h.as_ref().unwrap();
    assert_eq!(r.verdict, Verdict::Invalid);
    let faults =
        vec![workloads::metrics::FaultWindow { kind: "partition".into(), start_ns: 15_000_000, end_ns: 40_000_000 }];
    let flows = runner::flows::flows(h, r, &faults, &sim_trace(), None);
    assert_eq!(flows.len(), 1, "one anomaly, one diagram");
    let f = &flows[0];
    // The input: lanes in reading order, the anomaly's calls red, the
    // replication the partition dropped, the heartbeat long after left out.
    expect_file!["snapshots/sim-flow.json"].assert_eq(&(serde_json::to_string_pretty(f).unwrap() + "\n"));
    assert_eq!(f.lanes, ["c0", "c1", "n0", "n1"]);
    assert!(
        f.messages.iter().any(|m| m.highlight && f.lanes[m.from] == "c1" && f.lanes[m.to] == "n1"),
        "the read's call"
    );
    assert!(f.faults.iter().any(|x| x.label.starts_with("partition {")));
    // The output: the diagram of that flow, and the run's page carries it.
    expect_file!["snapshots/sim-flow.svg"].assert_eq(&crate::lamport::svg(f));
    let files = html::run_files("sim seed 0", h, Some(r), &flows);
    let page = &files.iter().find(|(n, _)| *n == "report.html").unwrap().1;
    assert!(page.contains("Message flow around each anomaly") && page.contains("class=\"lamport\""));
}

/// The text of a transactional history in `histories/txn/`, built in (the
/// renderers' crate does no I/O, tests included: tests/layering.rs).
macro_rules! txn_history {
    ($name:literal) => {
        ($name, include_str!(concat!("../../../histories/txn/", $name)))
    };
}

/// The first anomaly of a transactional history (see [`txn_history`]).
fn txn_anomaly((name, text): (&str, &str)) -> (checker::Report, checker::Anomaly) {
    let c = checked(name, text);
    let r = report(&c).clone();
    let a = r.results.iter().flat_map(|c| &c.keys).flat_map(|k| &k.anomalies).next().unwrap().clone();
    (r, a)
}

/// #18 §4: a read skew (G-single) as its two-transaction cycle: the wr edge
/// on y and the rw edge on x bend apart, each labelled with key and values.
#[test]
fn a_g_single_is_drawn_as_its_cycle() {
    let (r, a) = txn_anomaly(txn_history!("g-single.edn"));
    assert_eq!(a.kind.as_str(), "G-single");
    let s = crate::cycle::svg(&a).unwrap();
    expect_file!["snapshots/cycle-g-single.svg"].assert_eq(&s);
    assert_eq!(s.matches("<circle").count(), 2, "one node per transaction");
    assert!(s.contains(">wr &quot;y&quot; 1 → [1]<") && s.contains(">rw &quot;x&quot; [] → 1<"), "{s}");
    assert!(s.contains("stroke-dasharray=\"5,3\""), "the rw edge is dashed");
    let section = crate::cycle::section(&r);
    assert!(section.starts_with("<h2>Transaction cycles"));
    assert_eq!(
        section.matches("<svg").count(),
        r.results
            .iter()
            .flat_map(|c| &c.keys)
            .flat_map(|k| &k.anomalies)
            .filter(|a| crate::cycle::svg(a).is_some())
            .count()
    );
    assert!(html::report_page(&r, &checker::History::default()).contains("class=\"cycle\""));
}

#[test]
fn a_longer_cycle_has_a_node_per_transaction_and_other_anomalies_none() {
    let (_, a) = txn_anomaly(txn_history!("g-nonadjacent.edn"));
    let s = crate::cycle::svg(&a).unwrap();
    let steps = match a.detail.as_deref() {
        Some(checker::report::AnomalyDetail::Txn(e)) => e.steps.len(),
        _ => 0,
    };
    assert!(steps >= 3);
    assert_eq!(s.matches("<circle").count(), steps, "a simple cycle: as many nodes as steps");
    assert_eq!(s.matches("marker-end=").count(), steps, "an arrow per step");
    let (_, g1a) = txn_anomaly(txn_history!("g1a.edn"));
    assert_eq!(crate::cycle::svg(&g1a), None, "G1a is no cycle");
    assert_eq!(crate::cycle::section(report(&checked("stale.jsonl", STALE_READ))), "");
}
