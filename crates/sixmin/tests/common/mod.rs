//! Helpers of the command-line tests: run the real binary, compare with golden files.
#![allow(dead_code, missing_docs, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Runs `sixmin` with arguments; returns its output.
pub fn sixmin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sixmin"))
        .args(args)
        .env_remove("SIXMIN_GENERATED_AT")
        .output()
        .expect("the sixmin binary runs")
}

/// Runs `sixmin` and insists on success.
pub fn sixmin_ok(args: &[&str]) -> String {
    let output = sixmin(args);
    assert!(
        output.status.success(),
        "sixmin {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Compares `actual` with a committed file; `SIXMIN_BLESS=1` rewrites the file instead.
pub fn assert_golden(path: &Path, actual: &str) {
    if std::env::var_os("SIXMIN_BLESS").is_some() {
        std::fs::write(path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(path)
        .unwrap_or_else(|_| panic!("{} is missing; run with SIXMIN_BLESS=1", path.display()));
    assert!(
        expected == actual,
        "{} differs from what the code produces now; if the change is intended, run with \
         SIXMIN_BLESS=1 and review the diff",
        path.display()
    );
}

pub fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}
