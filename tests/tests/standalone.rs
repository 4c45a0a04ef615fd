//! The repository stands alone: users clone it and nothing else, so no file in it may
//! read or point to a directory beside the clone. `.ci/run` proves the same from the
//! other side by running the whole suite from a copy with nothing beside it; this test
//! catches a new pointer the moment it is written, on any machine.

use std::path::{Path, PathBuf};

/// Directories that are not the project's own text.
const SKIPPED_DIRS: [&str; 3] = ["target", ".git", "node_modules"];

/// Extensions of files that are not text.
const BINARY_EXTENSIONS: [&str; 6] = ["db", "png", "pdf", "xlsx", "gz", "ico"];

fn workspace_root() -> PathBuf {
    // Cargo names the package's directory when it runs the test; the path compiled
    // in is only the fallback, since a build cache shared between two copies of the
    // tree (as `.ci/run` does) may run a binary compiled in the other one.
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| panic!("the tests crate sits inside the workspace"))
}

fn text_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| panic!("cannot read an entry of {}: {e}", dir.display()))
            .path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            if !SKIPPED_DIRS.contains(&name) {
                text_files(&path, out);
            }
        } else if !path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| BINARY_EXTENSIONS.contains(&e))
        {
            out.push(path);
        }
    }
}

#[test]
fn nothing_in_the_repository_points_outside_it() {
    // Built at run time so that this file does not match itself.
    let sibling = format!("{}/{}", "..", "shared");
    let forbidden = [
        format!("{sibling}/"),
        format!("{}/{}", "shared", "domain/"),
        format!("{}/{}", "shared", "regulations/"),
        format!("{}/{}", "shared", "DESIGN"),
    ];
    let root = workspace_root();
    let mut files = Vec::new();
    text_files(&root, &mut files);
    assert!(
        files.iter().any(|f| f.ends_with("Cargo.toml")),
        "the walk found the workspace's files"
    );
    let mut found = Vec::new();
    for file in &files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue; // not UTF-8: not a source, doc or data file of ours
        };
        for (n, line) in text.lines().enumerate() {
            if forbidden.iter().any(|f| line.contains(f.as_str())) {
                let shown = file.strip_prefix(&root).unwrap_or(file);
                found.push(format!("{}:{}: {}", shown.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "files point outside the repository (copy the data in and name its source instead):\n{}",
        found.join("\n")
    );
}
