//! The shape of the code (issue 24's "one room per job"), kept by tests rather than by memory:
//! the users database has one owner, no source file outgrows a newcomer's head, and the API
//! stays the transport it is meant to be.

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `.rs` file under `dir`, recursively.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read a source directory") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }
    found
}

/// The library and binary crates' `src/` directories (tests, benches and fixtures excluded).
fn crate_sources() -> Vec<(String, PathBuf)> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(repo()).expect("read the repository") {
        let dir = entry.expect("an entry").path();
        if dir.join("Cargo.toml").is_file() && dir.join("src").is_dir() {
            let name = dir
                .file_name()
                .expect("a name")
                .to_string_lossy()
                .into_owned();
            for file in sources(&dir.join("src")) {
                all.push((name.clone(), file));
            }
        }
    }
    all
}

#[test]
fn only_identity_touches_the_users_databases_tables() {
    // The users database's entities; `entities/` declares them and `migration/` creates them.
    let tables = [
        "user::Entity",
        "user::Column",
        "refresh_token::",
        "overlay_token::",
        "login_throttle::",
    ];
    let mut trespass = Vec::new();
    for (krate, file) in crate_sources() {
        if matches!(krate.as_str(), "identity" | "entities" | "migration") {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("read a source file");
        for table in tables {
            if text.contains(table) {
                trespass.push(format!("{} uses {table}", file.display()));
            }
        }
    }
    assert!(
        trespass.is_empty(),
        "read the users database through missionlink_identity instead:\n{}",
        trespass.join("\n")
    );
}
