//! Output plumbing: standard output that ends quietly on a closed pipe and
//! never prints an empty line for nothing, errors to standard error, file
//! writes that never clobber without `--force`, and progress bars only on a
//! terminal and only for work that runs over 2 s.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use runner::exit;
use std::fmt::Display;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Duration;

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

/// Prints `s` to stdout, ending it with a newline; prints nothing at all for
/// an empty `s`. Errors (a closed pipe on non-Unix) are ignored.
pub fn print(s: &str) {
    if s.is_empty() {
        return;
    }
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(s.as_bytes());
    if !s.ends_with('\n') {
        let _ = out.write_all(b"\n");
    }
    let _ = out.flush();
}

/// Reports `e` on stderr and gives the bad-input exit code.
pub fn fail(e: impl Display) -> u8 {
    eprintln!("conch: {e}");
    exit::BAD_INPUT
}

/// Writes one output file atomically (see [`runner::files::write_atomic`]).
pub fn write(path: &Path, bytes: &[u8], force: bool) -> Result<(), runner::Error> {
    runner::files::write_atomic(path, bytes, force)
}

/// How long work runs before its progress bar appears: quick commands stay
/// quiet, slow ones show they are alive.
const PROGRESS_AFTER: Duration = Duration::from_secs(2);

/// A progress bar on stderr, shown only when stderr is a terminal and the
/// work has run for [`PROGRESS_AFTER`] (a spinner for a single item);
/// hidden otherwise, so scripts and CI logs stay clean.
pub fn progress(len: usize, what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::hidden());
    let template =
        if len <= 1 { "{spinner} {msg} {elapsed}" } else { "{msg} [{bar:30}] {pos}/{len} {elapsed} (eta {eta})" };
    bar.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()).progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    let later = bar.clone();
    // Detached: it only sleeps, and ends with the process if the work does first.
    std::thread::spawn(move || {
        std::thread::sleep(PROGRESS_AFTER);
        if !later.is_finished() {
            later.set_draw_target(ProgressDrawTarget::stderr());
            later.enable_steady_tick(Duration::from_millis(200));
        }
    });
    bar
}
