//! The core knows no channel: no module of `actors/` is named for a bridge, and none reads or
//! writes a bridge's tables (they are the bridges' own, in `channels/src/<bridge>/store.rs`).
//! Read from the sources and the migrations, so a query that reaches into a bridge's table from
//! the core fails here, naming the file and the table.

use std::path::{Path, PathBuf};

/// The bridges' tables: those the migrations create under a bridge's prefix, and the call records.
fn bridge_tables() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations/sqlite");
    let mut tables = vec!["calls".to_string()];
    for entry in std::fs::read_dir(&dir).expect("migrations") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("migration");
        for (at, _) in text.match_indices("CREATE TABLE ") {
            let name: String = text[at + 13..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if ["telegram_", "email_", "sip_", "mailbox", "tracker_"]
                .iter()
                .any(|p| name.starts_with(p))
            {
                tables.push(name);
            }
        }
    }
    tables.sort();
    tables.dedup();
    tables
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("source dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_module_of_the_core_touches_a_bridge_table() {
    let tables = bridge_tables();
    assert!(
        tables.iter().any(|t| t == "telegram_bots"),
        "read the migrations: {tables:?}"
    );
    let mut files = Vec::new();
    sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    let mut found = Vec::new();
    for file in files.iter().filter(|f| !f.ends_with("bridgeless.rs")) {
        let stem = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if ["telegram", "email", "mail", "sip", "trunks", "phone_calls"].contains(&stem.as_str()) {
            found.push(format!("{}: a module named for a bridge", file.display()));
        }
        let text = std::fs::read_to_string(file).expect("source");
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for t in &tables {
                let used = ["FROM ", "JOIN ", "INTO ", "UPDATE ", "TABLE "]
                    .iter()
                    .any(|k| code.contains(&format!("{k}{t} ")) || code.contains(&format!("{k}{t}\"")))
                    || code.contains(&format!("\"{t}\""));
                if used {
                    found.push(format!("{}:{}: {t}", file.display(), n + 1));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "the core reaches into the bridges:\n{}",
        found.join("\n")
    );
}
