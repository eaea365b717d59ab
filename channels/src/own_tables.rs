//! A bridge touches only its own tables: what it needs of the core's (tickets, conversations,
//! contacts, the outbox, users) it asks the core for, so the core can change its tables, or
//! fold visits and conversations into one, without a bridge breaking. The mirror of the core's
//! `bridgeless` test; read from the sources and the migrations, so a query that reaches into
//! another's table fails here, naming the file, the line and the table.

use std::path::{Path, PathBuf};

/// Every table the migrations create.
fn tables() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations/sqlite");
    let mut tables = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("migrations") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("migration");
        for (at, _) in text.match_indices("CREATE TABLE ") {
            tables.push(
                text[at + 13..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect(),
            );
        }
    }
    tables.sort();
    tables.dedup();
    tables
}

/// The tables a source file of the bridges may name: its bridge's own (by prefix). Files
/// outside a bridge's folder own none.
fn own(file: &Path) -> &'static [&'static str] {
    let under = |bridge: &str| file.components().any(|c| c.as_os_str() == bridge);
    if under("telegram") {
        &["telegram_"]
    } else if under("email") {
        &["email_", "mailboxes"]
    } else if under("sip") {
        &["sip_", "calls"]
    } else if under("trackers") {
        &["tracker_"]
    } else {
        &[]
    }
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

/// The table names a line of code gives after an SQL keyword.
fn named(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    for k in ["FROM ", "JOIN ", "INTO ", "UPDATE ", "TABLE "] {
        for (at, _) in code.match_indices(k) {
            let name: String = code[at + k.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            found.push(name);
        }
    }
    found
}

#[test]
fn a_line_names_the_tables_after_its_keywords() {
    assert_eq!(
        named("\"SELECT x FROM tickets t JOIN windows w ON w.id = t.window_id\""),
        vec!["tickets", "windows"]
    );
    assert_eq!(named("UPDATE telegram_files SET"), vec!["telegram_files"]);
}

#[test]
fn no_bridge_touches_a_table_that_is_not_its_own() {
    let tables = tables();
    assert!(tables.iter().any(|t| t == "tickets"), "read the migrations: {tables:?}");
    let mut files = Vec::new();
    sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    assert!(files.len() > 20, "read the sources: {files:?}");
    let mut found = Vec::new();
    for file in files.iter().filter(|f| !f.ends_with("own_tables.rs")) {
        let mine = own(file);
        let text = std::fs::read_to_string(file).expect("source");
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for t in named(code) {
                if tables.contains(&t) && !mine.iter().any(|p| t.starts_with(p)) {
                    found.push(format!("{}:{}: {t}", file.display(), n + 1));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "a bridge reaches into tables not its own (ask the core instead):\n{}",
        found.join("\n")
    );
}
