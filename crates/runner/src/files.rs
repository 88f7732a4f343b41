//! Writing outputs: atomic file writes that never clobber without `force`,
//! and the run directory (`history.jsonl`, `run.json`, `report.json`, and
//! what the renderer makes: the plots and `report.html`).

use crate::run::Finished;
use crate::{Error, Plan};
use checker::{History, Report};
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use workloads::flow::Flow;

/// Renders a run's pictures and pages, (file name, contents) each, from its
/// title, history, (when checked) report and the message flows around its
/// anomalies; the binary passes the report crate's, which this crate cannot
/// depend on.
pub type RunRenderer = fn(&str, &History, Option<&Report>, &[Flow]) -> Vec<(&'static str, String)>;

/// Fails if `path` exists and `force` is off.
pub fn check_writable(path: &Path, force: bool) -> Result<(), Error> {
    if path.exists() && !force {
        return Err(Error::Exists(path.to_path_buf()));
    }
    Ok(())
}

/// Fails if `dir` exists and holds anything, unless `force`: a command that
/// writes a tree of outputs never mixes them into, or over, another's.
pub fn check_dir_writable(dir: &Path, force: bool) -> Result<(), Error> {
    let non_empty = std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some());
    if non_empty && !force {
        return Err(Error::Exists(dir.to_path_buf()));
    }
    Ok(())
}

/// Writes `bytes` to a temporary file beside `path` and renames it into
/// place, so a reader never sees a half-written file. Creates the parent
/// directory. Refuses to overwrite unless `force`.
pub fn write_atomic(path: &Path, bytes: &[u8], force: bool) -> Result<(), Error> {
    check_writable(path, force)?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let fail = |p: &Path, what: &str, e: std::io::Error| Error::Write {
        path: p.to_path_buf(),
        message: format!("{what}: {e}"),
    };
    std::fs::create_dir_all(&dir).map_err(|e| fail(&dir, "cannot create directory", e))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let result = std::fs::File::create(&tmp)
        .and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_all()
        })
        .and_then(|_| std::fs::rename(&tmp, path));
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail(path, "cannot write", e)
    })
}

/// `report.html` -> `report-3.html`: one output per input file.
pub fn numbered(path: &Path, i: usize) -> PathBuf {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("report");
    let ext = path.extension().and_then(|s| s.to_str()).unwrap_or("html");
    path.with_file_name(format!("{stem}-{i}.{ext}"))
}

/// Pretty JSON with a final newline.
pub fn pretty(v: &serde_json::Value) -> Vec<u8> {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s.into_bytes()
}

/// Writes a run's files into `dir`: `history.jsonl`, `run.json` (version,
/// plan, seed, the reproducing command, config, statistics, metrics, the
/// faults injected per kind and warnings about requested kinds that never
/// fired), `report.json` when checked, and whatever `render` makes of it.
pub fn write_run(dir: &Path, plan: &Plan, f: &Finished, force: bool, render: RunRenderer) -> Result<(), Error> {
    write_atomic(&dir.join("history.jsonl"), &f.output.to_jsonl(), force)?;
    let run = json!({
        "version": env!("CARGO_PKG_VERSION"),
        "protocol": plan.protocol,
        "params": plan.params,
        "seeded_params": plan.seeded_params(f.seed),
        "seed": f.seed,
        "command": plan.command(f.seed),
        "config": plan.sim_config(f.seed)?,
        "stats": f.output.stats,
        "metrics": f.metrics,
        "faults_by_kind": f.output.stats.faults_by_kind,
        "warnings": crate::run::fault_warnings(plan, f),
        "verdict": f.verdict(),
        "invariant_violation": f.output.stats.invariant_violations.first(),
    });
    write_atomic(&dir.join("run.json"), &pretty(&run), force)?;
    if let Some(r) = &f.report {
        write_atomic(&dir.join("report.json"), &pretty(&json!(r)), force)?;
    }
    let built;
    let h = match &f.history {
        Some(h) => h,
        None => {
            built = f.output.history().map_err(|e| Error::BadHistory { seed: f.seed, message: e.to_string() })?;
            &built
        }
    };
    let title = format!("{} seed {}", plan.protocol, f.seed);
    // Drawing is not judging: a rerun that fails costs the diagrams only.
    let flows = crate::flows::of_run(plan, f, h).unwrap_or_default();
    for (name, bytes) in render(&title, h, f.report.as_ref(), &flows) {
        write_atomic(&dir.join(name), bytes.as_bytes(), force)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_writes_refuse_to_clobber_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/out.txt");
        write_atomic(&p, b"one", false).unwrap();
        assert_eq!(write_atomic(&p, b"two", false), Err(Error::Exists(p.clone())));
        write_atomic(&p, b"three", true).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"three");
        assert!(check_dir_writable(dir.path(), false).is_err());
        assert!(check_dir_writable(&dir.path().join("absent"), false).is_ok());
        assert_eq!(numbered(Path::new("a/r.html"), 3), Path::new("a/r-3.html"));
    }
}
