//! Embeds the repository's example histories (`histories/**`) in the library,
//! so that `conch demo` works from any directory, not only a checkout.

use std::fmt::Write;
use std::path::PathBuf;

#[path = "src/walk.rs"]
mod walk;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest.join("../../histories");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut code = String::from("/// (path under `histories/`, contents) of every bundled example history.\n");
    code.push_str("pub const EXAMPLE_HISTORIES: &[(&str, &[u8])] = &[\n");
    for f in walk::histories(&root) {
        let rel = f.strip_prefix(&root).expect("listed under root").to_string_lossy().replace('\\', "/");
        let abs = f.canonicalize().expect("a file just listed exists");
        let _ = writeln!(code, "    ({rel:?}, include_bytes!({:?})),", abs.display().to_string());
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("example_histories.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
}
