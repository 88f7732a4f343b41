//! Output plumbing: atomic file writes that never clobber without `--force`,
//! quiet broken pipes, and progress bars only on a terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// `conch check ... | head` must end quietly, like any Unix filter: restore
/// the default SIGPIPE action (Rust ignores it, which turns a closed pipe
/// into a panic in `println!`).
pub fn quiet_broken_pipe() {
    #[cfg(unix)]
    // SAFETY: called once at start-up, before any thread exists; SIG_DFL is a
    // valid disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Prints to stdout; errors (a closed pipe on non-Unix) are ignored.
pub fn print(s: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(s.as_bytes());
    if !s.ends_with('\n') {
        let _ = out.write_all(b"\n");
    }
    let _ = out.flush();
}

/// Fails if `path` exists and `force` is off, or its directory is missing.
pub fn check_writable(path: &Path, force: bool) -> Result<(), String> {
    if path.exists() && !force {
        return Err(format!("{}: already exists; pass --force to overwrite", path.display()));
    }
    Ok(())
}

/// Writes `bytes` to a temporary file beside `path` and renames it into
/// place, so a reader never sees a half-written report. Creates the parent
/// directory. Refuses to overwrite unless `force`.
pub fn write_atomic(path: &Path, bytes: &[u8], force: bool) -> Result<(), String> {
    check_writable(path, force)?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: cannot create directory: {e}", dir.display()))?;
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
        format!("{}: cannot write: {e}", path.display())
    })
}

/// `report.html` -> `report-3.html`: one output per input file.
pub fn numbered(path: &Path, i: usize) -> PathBuf {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("report");
    let ext = path.extension().and_then(|s| s.to_str()).unwrap_or("html");
    path.with_file_name(format!("{stem}-{i}.{ext}"))
}

/// All files under `dir`, recursively (unsorted).
pub fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// A progress bar on stderr when it is a terminal and there is more than one
/// item; hidden otherwise (scripts and CI logs stay clean).
pub fn progress(len: u64, what: &str) -> ProgressBar {
    if len <= 1 || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}
