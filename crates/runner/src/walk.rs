//! Finding example histories in a directory tree. Shared by the build script
//! (which embeds `histories/**`), `demo` (which reads `--histories DIR`) and
//! testkit's golden runner of `histories/**` (which includes this file).

use std::path::{Path, PathBuf};

/// Whether a file name is a history's (the rest of `histories/` is
/// expectations and notes).
pub fn is_history(p: &Path) -> bool {
    matches!(p.extension().and_then(|e| e.to_str()), Some("jsonl" | "edn" | "log" | "txt"))
}

/// Every history under `dir`, recursively, sorted by path.
pub fn histories(dir: &Path) -> Vec<PathBuf> {
    fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                collect(&p, out);
            } else if is_history(&p) {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    collect(dir, &mut out);
    out.sort();
    out
}
