//! The HTML report in a real headless browser (Debian's chromium, installed
//! by .ci/setup-browser, which .ci/run calls). The test writes a harness
//! page that loads the report in a frame and drives it as a person would:
//! it switches the key, zooms with a button and the mouse wheel, pans by
//! dragging, jumps to an anomaly and steps along the longest linearizable
//! prefix, writing what the report showed after each action into its own
//! page, which chromium dumps. A screenshot is kept under target/ for a
//! person to look at, and decoded to check that it shows something (a page
//! that scrolled past its content screenshots white). Under CI (env `CI`
//! set) a missing chromium fails.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> Option<PathBuf> {
    let found = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].iter().map(PathBuf::from).find(|p| p.exists());
    if found.is_none() {
        // In CI the browser is installed by .ci/setup-browser, so its absence is a failure.
        assert!(std::env::var_os("CI").is_none(), "chromium missing in CI: .ci/setup-browser should install it");
        eprintln!("note: chromium not installed; run .ci/setup-browser. Browser test skipped.");
    }
    found
}

fn headless(browser: &Path, profile: &Path) -> Command {
    let mut c = Command::new(browser);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        // The harness reads the framed report's document: both are files.
        "--allow-file-access-from-files",
        "--window-size=1400,1000",
        "--virtual-time-budget=10000",
    ]);
    c.arg(format!("--user-data-dir={}", profile.display()));
    c
}

/// The start every harness page shares: the report in a frame, a log that
/// chromium dumps, `done` to end, and the frame's load handler opened.
macro_rules! harness_head {
    () => {
        r#"<!doctype html><html><body style="margin:0">
<iframe id="f" src="report.html" style="width:1380px;height:980px;border:0"></iframe>
<pre id="log"></pre>
<script>
const log = [], f = document.getElementById('f');
const done = r => { document.getElementById('log').textContent = log.join('\n'); document.body.dataset.result = r; };
f.addEventListener('load', () => {
"#
    };
}

/// How the harness pages that only wait for the framed report go on: once
/// it is ready, their checks run in a `try` that `harness_tail` closes.
macro_rules! when_ready {
    () => {
        r#"  const d = f.contentDocument, b = d.body.dataset;
  const until = (ok, then, n = 0) => ok() ? then() : n > 200 ? done('timeout') : setTimeout(() => until(ok, then, n + 1), 20);
  until(() => b.ready === 'yes', () => {
    try {
"#
    };
}

/// The end every harness page shares: `done` with the report's script
/// error if it had one, an exception logged, and the page closed.
macro_rules! harness_tail {
    () => {
        r#"      done(b.jsError ? 'script error: ' + b.jsError : 'ok');
    } catch (e) { log.push(String(e.stack || e)); done('exception'); }
  });
});
</script></body></html>
"#
    };
}

/// Drives the framed report and logs, one line per action, what it showed
/// (the report mirrors its key, view, anomaly and step on `<body>`).
const HARNESS: &str = concat!(
    harness_head!(),
    r#"  const d = f.contentDocument, w = f.contentWindow, b = d.body.dataset;
  const view = () => b.view.split(',').map(Number);
  const width = () => { const [a, z] = view(); return z - a; };
  const bars = () => d.querySelectorAll('#panel rect[data-op]').length;
  const outlined = () => [...d.querySelectorAll('#panel rect.anomalous')].map(r => r.dataset.op).sort().join(' ');
  const until = (ok, then, n = 0) => ok() ? then() : n > 200 ? done('timeout') : setTimeout(() => until(ok, then, n + 1), 20);
  until(() => b.ready === 'yes', () => {
    try {
      if (b.jsError) return done('script error: ' + b.jsError);
      const sel = d.getElementById('key');
      log.push('keys ' + [...sel.options].map(o => o.textContent).join(' | '));
      log.push('start ' + b.key + ' anomaly ' + b.anomaly + ' step ' + b.step + ' outlined ' + outlined());
      sel.value = [...sel.options].find(o => o.textContent.startsWith('key "c"')).value; sel.dispatchEvent(new w.Event('change'));
      log.push('switched ' + b.key + ' bars ' + bars() + ' labels ' + [...d.querySelectorAll('#panel text.label')].map(t => t.textContent).join('|'));
      let before = width(); d.getElementById('zoom-in').click();
      log.push('zoom button ' + (before / width()).toFixed(2));
      before = width();
      const panel = d.getElementById('panel'), box = panel.getBoundingClientRect();
      panel.dispatchEvent(new w.WheelEvent('wheel', {deltaY: -120, clientX: box.left + 400, clientY: box.top + 40, bubbles: true, cancelable: true}));
      log.push('wheel ' + (before / width()).toFixed(2));
      const [v0] = view(), p = d.getElementById('panel');
      p.dispatchEvent(new w.MouseEvent('mousedown', {clientX: 600, clientY: 50, bubbles: true}));
      w.dispatchEvent(new w.MouseEvent('mousemove', {clientX: 500, clientY: 50, bubbles: true}));
      w.dispatchEvent(new w.MouseEvent('mouseup', {clientX: 500, clientY: 50, bubbles: true}));
      log.push('drag left moves the view later ' + (view()[0] > v0));
      d.getElementById('next-anomaly').click();
      log.push('jump ' + b.key + ' anomaly ' + b.anomaly + ' step ' + b.step + ' outlined ' + outlined());
      log.push('steps shown ' + !d.getElementById('steps').hidden + ': ' + d.getElementById('step-text').textContent + ' / ' + d.getElementById('step-end').textContent);
      d.getElementById('step-first').click();
      log.push('first: ' + d.getElementById('step-text').textContent);
      d.getElementById('step-fwd').click();
      log.push('step ' + b.step + ': ' + d.getElementById('step-text').textContent + ' linearized ' + d.querySelectorAll('#panel rect.linearized').length);
      d.getElementById('step-last').click();
      d.getElementById('fit').click();
      log.push('ticks ' + [...d.querySelectorAll('#panel text.tick')].slice(0, 3).map(t => t.textContent).join(' '));
"#,
    harness_tail!(),
);

/// A directory holding `report.html`, `conch check --html` of the invalid
/// history at `history` (relative to the repository root).
fn invalid_report_of(history: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    let history = root().join(history);
    let out = run(&["check", "--html", page.to_str().unwrap(), history.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    dir
}

/// A directory whose `run/` holds `conch run --check` of `protocol` under
/// `nemesis` (seed 0), and what the command printed.
fn simulated_run(protocol: &str, nemesis: &str) -> (tempfile::TempDir, std::process::Output) {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("run");
    let args = ["run", "--protocol", protocol, "--nemesis", nemesis, "--seed", "0", "--check", "--out"];
    let out = run(&[&args[..], &[out_dir.to_str().unwrap()]].concat());
    (dir, out)
}

#[test]
fn report_switches_keys_zooms_and_jumps_to_the_anomaly_in_a_browser() {
    let Some(browser) = chromium() else { return };
    let dir = invalid_report_of("tests/data/timeline-three-keys.jsonl");
    let log = drive(&browser, dir.path(), HARNESS);
    let expect = [
        // Invalid key first, then the valid ones.
        "keys key \"b\" — invalid, 1 anomaly | key \"a\" — valid | key \"c\" — valid",
        // The page opens on the first anomaly: key b, its stale read and the
        // two writes that prove it stale (the one it read, the one it missed) outlined.
        "start key \"b\" anomaly 0 step 3 outlined 2 3 5",
        "switched key \"c\" bars 2 labels write 3|read → 3",
        "zoom button 2.00",
        "wheel 1.25",
        "drag left moves the view later true",
        "jump key \"b\" anomaly 0 step 3 outlined 2 3 5",
        "steps shown true: step 3 of 3: op 3, process 0 cas [1 2] takes effect — state 2 / Then op 5, process 2 read → 1, cannot take effect in any reachable state {2}.",
        "first: before any op: the model starts — state nil",
        "step 1: step 1 of 3: op 1, process 1 write 1 takes effect — state 1 linearized 1",
        "ticks 10 ms 20 ms 30 ms",
    ];
    for e in expect {
        assert!(log.contains(e), "missing `{e}` in\n{log}");
    }

    let url = format!("file://{}", dir.path().join("harness.html").display());
    screenshot(&browser, &dir.path().join("p2"), &url, "html-report");
}

/// Loads `dir/report.html` under `harness` (written as `dir/harness.html`)
/// and gives what the harness logged, once it says it finished.
fn drive(browser: &Path, dir: &Path, harness: &str) -> String {
    std::fs::write(dir.join("harness.html"), harness).unwrap();
    let url = format!("file://{}", dir.join("harness.html").display());
    let dom = headless(browser, &dir.join("p1")).args(["--dump-dom", &url]).output().expect("chromium failed to start");
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.contains("data-result=\"ok\""), "the harness did not finish:\n{dom}");
    dom[dom.find("<pre id=\"log\">").expect("the log")..].to_string()
}

/// Keeps a screenshot of the page at `url` as `target/NAME.png` and fails
/// unless it is drawn: at least 2% of its pixels not near-white (a blank
/// 1400×1000 page has none; the reports' screenshots have 5-20%).
fn screenshot(browser: &Path, profile: &Path, url: &str, name: &str) {
    let shot = root().join(format!("target/{name}.png"));
    let _ = std::fs::create_dir_all(root().join("target"));
    let status = headless(browser, profile)
        .arg(format!("--screenshot={}", shot.display()))
        .arg(url)
        .output()
        .expect("chromium failed to start");
    assert!(status.status.success() && shot.exists(), "no screenshot: {}", String::from_utf8_lossy(&status.stderr));
    let drawn = drawn_share(&shot);
    eprintln!("screenshot: {} ({:.1}% drawn)", shot.display(), drawn * 100.0);
    assert!(drawn >= 0.02, "the screenshot {} is blank: {:.2}% of its pixels drawn", shot.display(), drawn * 100.0);
}

/// The share of a PNG's pixels that are not near-white.
fn drawn_share(png_file: &Path) -> f64 {
    let mut decoder = png::Decoder::new(std::fs::File::open(png_file).unwrap());
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let colour = channels.min(3);
    let pixels = buf[..info.buffer_size()].chunks_exact(channels);
    let total = pixels.len().max(1);
    let drawn = pixels.filter(|p| p[..colour].iter().any(|&c| c < 0xe8)).count();
    drawn as f64 / total as f64
}

/// Reads the diagrams of a report: the Lamport diagrams of a simulated run
/// (#18 §3: how many, the first one's lanes, its red (anomaly) arrows, its
/// node-to-node messages and shaded faults) and the transaction cycle
/// graphs (#18 §4: how many, the first one's nodes and edge labels).
const FLOW_HARNESS: &str = concat!(
    harness_head!(),
    when_ready!(),
    r##"      const cycles = [...d.querySelectorAll('svg.cycle')];
      log.push('cycles ' + cycles.length);
      if (cycles.length) {
        const c = cycles[0];
        log.push('cycle nodes ' + c.querySelectorAll('circle').length + ' edges ' + [...c.querySelectorAll('path[marker-end] + text')].map(t => t.textContent).join(' | '));
        c.scrollIntoView();
        return done(b.jsError ? 'script error: ' + b.jsError : 'ok');
      }
      const svgs = [...d.querySelectorAll('svg.lamport')];
      log.push('diagrams ' + svgs.length);
      const s = svgs[0];
      log.push('lanes ' + [...s.querySelectorAll('text[font-weight=bold]')].map(t => t.textContent).join(' '));
      log.push('red arrows ' + (s.querySelectorAll('line[marker-end="url(#arr-red)"]').length > 0));
      log.push('node messages ' + (s.querySelectorAll('line[marker-end="url(#arr)"], line[stroke-dasharray]').length > 0));
      log.push('faults shaded ' + (d.querySelectorAll('svg.lamport rect[fill="#fbe9c6"]').length > 0));
      s.scrollIntoView();
"##,
    harness_tail!(),
);

/// Loads `dir/report.html` under [`FLOW_HARNESS`] and gives what it logged,
/// then keeps a screenshot of the report as `target/NAME.png`.
fn diagrams_in_browser(browser: &Path, dir: &Path, name: &str) -> String {
    let log = drive(browser, dir, FLOW_HARNESS);
    screenshot(browser, &dir.join("p2"), &format!("file://{}", dir.join("report.html").display()), name);
    log
}

#[test]
fn a_simulated_runs_report_shows_its_message_flow_in_a_browser() {
    let Some(browser) = chromium() else { return };
    let (dir, out) = simulated_run("lagging", "partition");
    let out_dir = dir.path().join("run");
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let log = diagrams_in_browser(&browser, &out_dir, "html-report-flow");
    assert!(!log.contains("diagrams 0"), "no diagram in\n{log}");
    // Faults are shaded where one overlaps a window (crates/report's
    // sim-flow snapshot pins that); which windows do follows the simulator.
    for e in ["lanes c", " n0 ", "red arrows true", "node messages true", "faults shaded "] {
        assert!(log.contains(e), "missing `{e}` in\n{log}");
    }
}

#[test]
fn a_transactional_anomaly_is_drawn_as_its_cycle_in_a_browser() {
    let Some(browser) = chromium() else { return };
    let dir = invalid_report_of("histories/txn/g-single.edn");
    let log = diagrams_in_browser(&browser, dir.path(), "html-report-cycle");
    // G-single and fractured-read: two cycles of the same two transactions.
    for e in ["cycles 2", "cycle nodes 2 edges ", "wr ", "rw "] {
        assert!(log.contains(e), "missing `{e}` in\n{log}");
    }
}

/// Measures the timeline of a simulated run fitted to the width: the share
/// of the panel's width the client ops span, and whether the final reads
/// sit past the break drawn for the recovery gap before them.
const BREAK_HARNESS: &str = concat!(
    harness_head!(),
    when_ready!(),
    r##"      d.getElementById('fit').click();
      const panel = d.getElementById('panel'), w = panel.width.baseVal.value - 120;
      const rects = [...d.querySelectorAll('#panel rect[data-op]')], num = (r, a) => +r.getAttribute(a);
      const client = rects.filter(r => !r.dataset.final), fin = rects.filter(r => r.dataset.final);
      const lo = Math.min(...client.map(r => num(r, 'x'))), hi = Math.max(...client.map(r => num(r, 'x') + num(r, 'width')));
      log.push('client share ' + ((hi - lo) / w).toFixed(2));
      const brk = d.querySelector('#panel rect.break'), past = brk && num(brk, 'x') + num(brk, 'width');
      log.push('finals ' + fin.length + ' past the break ' + (brk !== null && fin.every(r => num(r, 'x') >= past)));
      const label = d.querySelector('#panel text.break-label');
      log.push('break label ' + (label ? label.textContent : 'none'));
"##,
    harness_tail!(),
);

/// #18 §2: fitted to the width, a simulated run's client ops took about a
/// tenth of it, and its final reads sat far right after the recovery gap.
/// The gap is now a labelled break and the client ops fill the panel.
#[test]
fn a_runs_final_reads_sit_past_a_break_instead_of_squeezing_its_ops() {
    let Some(browser) = chromium() else { return };
    let (dir, out) = simulated_run("lww", "clock-skew");
    let out_dir = dir.path().join("run");
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&out.stderr));
    let log = drive(&browser, &out_dir, BREAK_HARNESS);
    let share: f64 =
        log.split("client share ").nth(1).and_then(|s| s.split_whitespace().next()?.parse().ok()).expect(&log);
    assert!(share >= 0.85, "the client ops span {share} of the width:\n{log}");
    assert!(log.contains(" past the break true") && !log.contains("finals 0 "), "{log}");
    assert!(log.contains("break label +"), "{log}");
    screenshot(
        &browser,
        &dir.path().join("p2"),
        &format!("file://{}", out_dir.join("report.html").display()),
        "html-report-break",
    );
}
