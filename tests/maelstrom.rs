//! `conch maelstrom` end to end: exit codes, output, the run directory, and
//! Ctrl-C reaping every node process.

mod common;

use common::{conch, json, root, run};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn node(name: &str) -> String {
    root().join("crates/maelstrom/nodes").join(name).display().to_string()
}

fn args<'a>(workload: &'a str, bin: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "maelstrom",
        "-w",
        workload,
        "--bin",
        bin,
        "--node-count",
        "2",
        "--time-limit",
        "0.6",
        "--rate",
        "50",
        "--request-timeout",
        "1",
        "--recovery-time",
        "0.2",
        "--out",
        out,
    ]
}

#[test]
fn a_correct_node_exits_0_and_a_broken_one_1() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("echo").display().to_string();
    let echo = node("echo.py");
    let o = run(&args("echo", &echo, &out));
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{text}\n{}", String::from_utf8_lossy(&o.stderr));
    assert!(text.contains("VALID") && text.contains("reproduce: conch maelstrom -w echo"), "{text}");
    for f in ["history.jsonl", "messages.jsonl", "run.json", "report.json", "report.html", "nodes/n1.stderr.log"] {
        assert!(Path::new(&out).join(f).exists(), "{f}");
    }
    // The recorded history is a history like any other.
    let h = Path::new(&out).join("history.jsonl").display().to_string();
    let c = run(&["check", "--checks", "echo", &h]);
    assert_eq!(c.status.code(), Some(0), "{}", String::from_utf8_lossy(&c.stdout));

    let out = dir.path().join("bcast").display().to_string();
    let b = node("broadcast.py");
    let mut a = args("broadcast", &b, &out);
    a.extend(["--arg", "no-forward", "--json"]);
    let o = run(&a);
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stdout));
    let doc = json(&o);
    assert_eq!(doc["report"]["verdict"], "invalid");
    assert_eq!(doc["run"]["verdict"], "invalid");
    assert!(doc["run"]["anomaly_windows"].as_array().is_some_and(|w| !w.is_empty()));
    let page = std::fs::read_to_string(Path::new(&out).join("report.html")).unwrap();
    assert!(page.contains("Message flow around each anomaly") && page.contains("class=\"lamport\""));
}

/// #18 §1: a Maelstrom run's directory has Jepsen's plots, as a simulated
/// run's has, each a drawn chart (axis titles and ticks), not an empty file.
#[test]
fn a_maelstrom_run_directory_has_the_plots() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("echo").display().to_string();
    let o = run(&args("echo", &node("echo.py"), &out));
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    for (f, y_axis) in [
        ("latency-raw.svg", "latency (ms, log)"),
        ("latency-quantiles.svg", "latency (ms, log)"),
        ("rate.svg", "completions (ops/s)"),
    ] {
        let svg = std::fs::read_to_string(Path::new(&out).join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(svg.starts_with("<svg") && svg.contains("time (s)") && svg.contains(y_axis), "{f} has no axes:\n{svg}");
        assert!(svg.matches("<text").count() >= 8, "{f} has too few labels (ticks):\n{svg}");
        assert!(svg.contains("maelstrom echo seed"), "{f} is not titled with the run:\n{svg}");
    }
}

#[test]
fn bad_usage_and_missing_binaries_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o").display().to_string();
    let o = run(&args("echo", "/no/such/node", &out));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no such file"), "{}", String::from_utf8_lossy(&o.stderr));
    let echo = node("echo.py");
    let o = run(&args("frobnicate", &echo, &out));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown workload"));
    let mut a = args("echo", &echo, &out);
    a.extend(["--nemesis", "meteor"]);
    assert_eq!(run(&a).status.code(), Some(2));
    // A run directory with files in it is not reused without --force.
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(Path::new(&out).join("keep"), "mine").unwrap();
    let o = run(&args("echo", &echo, &out));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--force"));
    assert_eq!(std::fs::read_to_string(Path::new(&out).join("keep")).unwrap(), "mine");
}

fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

/// Ctrl-C stops the run, every node process is gone, and the run reports
/// what it has as unknown (exit 3).
#[test]
fn ctrl_c_reaps_every_node() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    let wrapper = dir.path().join("node.sh");
    std::fs::write(&wrapper, format!("#!/bin/sh\necho $$ >> {}\nexec {}\n", pids.display(), node("echo.py"))).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let out: PathBuf = dir.path().join("o");
    let mut child = conch()
        .args(["maelstrom", "-w", "echo", "--bin"])
        .arg(&wrapper)
        .args(["--node-count", "3", "--time-limit", "60", "--rate", "20", "--out"])
        .arg(&out)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while std::fs::read_to_string(&pids).map_or(0, |s| s.lines().count()) < 3 && t.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    let node_pids: Vec<i32> =
        std::fs::read_to_string(&pids).unwrap().lines().map(|l| l.trim().parse().unwrap()).collect();
    assert_eq!(node_pids.len(), 3);
    assert!(node_pids.iter().all(|&p| alive(p)), "the nodes are running");
    // SAFETY: SIGINT to the child we spawned.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let t = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(t.elapsed() < Duration::from_secs(20), "conch did not stop after Ctrl-C");
        std::thread::sleep(Duration::from_millis(20));
    };
    let o = child.wait_with_output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert_eq!(status.code(), Some(3), "{stdout}\n{stderr}");
    for p in node_pids {
        assert!(!alive(p), "node process {p} outlived conch");
    }
    // On a loaded machine the nodes may still be starting: then nothing
    // was recorded; otherwise what was recorded is kept and reported.
    if stdout.contains("UNKNOWN") {
        assert!(stdout.contains("interrupted"), "{stdout}");
        assert!(out.join("history.jsonl").exists());
    } else {
        assert!(stderr.contains("interrupted before the nodes started"), "{stderr}");
    }
}
