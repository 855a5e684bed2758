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

fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .expect("read a source file")
        .lines()
        .count()
}

#[test]
fn only_identity_touches_the_users_databases_tables() {
    // The users database's entities; `entities/` declares them and `migration/` creates them.
    let tables = [
        "user::Entity",
        "user::Column",
        "refresh_token::",
        "overlay_link::",
        "overlay_setting::",
        "login_throttle::",
        "account_code::",
        "account_email::",
        "streamer_application::",
        "streamer_channel::",
        "person_verification::",
        "guardian_consent::",
        // Raw SQL reads, whatever the casing of the keywords.
        "from users",
        "join users",
        "from refresh_tokens",
        "from overlay_links",
        "from overlay_settings",
        "from login_throttle",
        "from account_codes",
        "from account_emails",
        "from streamer_applications",
        "from streamer_channels",
        "from person_verifications",
        "from guardian_consents",
    ];
    let mut trespass = Vec::new();
    for (krate, file) in crate_sources() {
        if matches!(krate.as_str(), "identity" | "entities" | "migration") {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("read a source file");
        let lower = text.to_lowercase();
        for table in tables {
            if text.contains(table) || lower.contains(table) {
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

/// The modules of `api/src/graphql/` (by file stem) each one names through `super::` or
/// `crate::graphql::`.
fn graphql_imports() -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let dir = repo().join("api/src/graphql");
    let files: Vec<(String, String)> = sources(&dir)
        .into_iter()
        .map(|f| {
            let stem = f
                .file_stem()
                .expect("a stem")
                .to_string_lossy()
                .into_owned();
            (
                stem,
                std::fs::read_to_string(&f).expect("read a source file"),
            )
        })
        .collect();
    let stems: std::collections::BTreeSet<&str> = files.iter().map(|(s, _)| s.as_str()).collect();
    files
        .iter()
        .map(|(stem, text)| {
            let named = ["super::", "crate::graphql::"]
                .iter()
                .flat_map(|prefix| {
                    text.match_indices(prefix)
                        .map(move |(at, _)| at + prefix.len())
                })
                .filter_map(|start| {
                    let word: String = text[start..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    (stems.contains(word.as_str()) && word != *stem).then_some(word)
                })
                .collect();
            (stem.clone(), named)
        })
        .collect()
}

#[test]
fn the_graphql_import_circle_is_only_the_schemas_object_graph() {
    let graph = graphql_imports();
    // Modules that reach each other both ways form one circle; find the largest.
    let reach = |from: &str| {
        let mut seen = std::collections::BTreeSet::new();
        let mut todo = vec![from.to_owned()];
        while let Some(m) = todo.pop() {
            for next in graph.get(&m).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let reached: std::collections::BTreeMap<&String, _> =
        graph.keys().map(|m| (m, reach(m))).collect();
    let largest = graph
        .keys()
        .map(|m| {
            graph
                .keys()
                .filter(|other| reached[m].contains(*other) && reached[other].contains(m))
                .cloned()
                .collect::<Vec<_>>()
        })
        .max_by_key(Vec::len)
        .unwrap_or_default();
    // Mission ↔ User ↔ Pledge, with objections (dispute), predictions and the channel.
    assert!(
        largest.len() <= 6,
        "helpers belong in leaves, not in the schema's object graph: {largest:?}"
    );
}

#[test]
fn no_source_file_is_over_550_lines() {
    let long: Vec<String> = crate_sources()
        .into_iter()
        .map(|(_, file)| (lines(&file), file))
        .filter(|(n, _)| *n > 550)
        .map(|(n, file)| format!("{} has {n} lines", file.display()))
        .collect();
    assert!(long.is_empty(), "split by concern:\n{}", long.join("\n"));
}

#[test]
fn the_api_holds_at_most_27_percent_of_the_source() {
    let (mut api, mut total) = (0, 0);
    for (krate, file) in crate_sources() {
        let n = lines(&file);
        total += n;
        if krate == "api" {
            api += n;
        }
    }
    assert!(
        api * 100 <= total * 27,
        "api/ has {api} of {total} source lines: move what is not HTTP or GraphQL to its owner"
    );
}
