//! The HTML report in a real headless browser (Debian's chromium, installed
//! by .ci/setup-browser): it loads without script errors and shows the
//! anomaly of a known-bad history. A screenshot is saved to
//! target/html-report.png for a person to look at.

mod common;
use common::*;
use std::path::PathBuf;
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

fn headless(browser: &PathBuf, profile: &std::path::Path) -> Command {
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
        "--window-size=1300,900",
    ]);
    c.arg(format!("--user-data-dir={}", profile.display()));
    c
}

#[test]
fn report_of_a_stale_read_loads_and_shows_the_anomaly() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    let history = root().join("histories/linear/register-stale-read.jsonl");
    let out = run(&["check", "--html", page.to_str().unwrap(), history.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let url = format!("file://{}", page.display());

    let dom = headless(&browser, &dir.path().join("p1"))
        .args(["--virtual-time-budget=5000", "--dump-dom", &url])
        .output()
        .expect("chromium failed to start");
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.contains("data-ready=\"yes\""), "the page's script did not finish:\n{dom}");
    assert!(!dom.contains("data-js-error"), "script error in the report:\n{dom}");
    // The anomaly box, written by the script from the embedded report.
    assert!(dom.contains("not-linearizable (linearizable, decided by unique-register)"), "{dom}");
    assert!(dom.contains("process 1 read → ok 1 (lines 5–6)"), "{dom}");
    // The three ops of the anomaly are highlighted on the timeline.
    assert_eq!(dom.matches("class=\"anomalous\"").count(), 3, "{dom}");

    let shot = root().join("target/html-report.png");
    let _ = std::fs::create_dir_all(root().join("target"));
    let status = headless(&browser, &dir.path().join("p2"))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .output()
        .expect("chromium failed to start");
    assert!(status.status.success() && shot.exists(), "no screenshot: {}", String::from_utf8_lossy(&status.stderr));
    eprintln!("screenshot: {}", shot.display());
}
