//! The manifest of a report directory: the SHA-256 of every file written, and of the
//! JSON report the other formats were made from, in `sha256sum` format.

use sha2::{Digest, Sha256};

/// The lines of a manifest.
pub struct Manifest {
    report_sha256: String,
    files: Vec<(String, String)>,
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

impl Manifest {
    /// The manifest of `files` (name, contents), made from the report whose JSON is `json`.
    pub fn of(json: &str, files: &[(String, Vec<u8>)]) -> Manifest {
        Manifest {
            report_sha256: sha256_hex(json.as_bytes()),
            files: files
                .iter()
                .map(|(name, bytes)| (sha256_hex(bytes), name.clone()))
                .collect(),
        }
    }

    /// `sha256sum` lines (`HEX  NAME`), after a comment naming the JSON report's hash;
    /// `sha256sum -c` in the directory verifies every file.
    pub fn to_text(&self) -> String {
        let mut text = format!(
            "# sixmin report manifest; SHA-256 of the JSON period report: {}\n",
            self.report_sha256
        );
        for (hash, name) in &self.files {
            text.push_str(&format!("{hash}  {name}\n"));
        }
        text
    }
}
