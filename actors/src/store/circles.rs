//! The store's modules import each other in no circle: `base` holds what all share, and every
//! other dependency goes one way. Read from the source, so a new import that closes a circle
//! fails here with the circle named.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every store module and the modules it names (`super::x`, `crate::store::x`, or an item
/// `mod.rs` re-exports from `x`).
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/store");
    let mut sources = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).expect("src/store") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "rs") {
            let name = path.file_stem().expect("stem").to_string_lossy().into_owned();
            sources.insert(name, std::fs::read_to_string(&path).expect("source"));
        }
    }
    let modules: BTreeSet<String> = sources.keys().filter(|m| *m != "mod").cloned().collect();
    // Items mod.rs re-exports, by the module they come from.
    let mut owner: BTreeMap<String, String> = BTreeMap::new();
    for line in sources["mod"].split(';') {
        let line = line.trim();
        let Some(rest) = line
            .strip_prefix("pub use ")
            .or_else(|| line.strip_prefix("pub(crate) use "))
        else {
            continue;
        };
        let Some((module, items)) = rest.split_once("::") else {
            continue;
        };
        for item in items
            .trim_matches(|c| c == '{' || c == '}' || char::is_whitespace(c))
            .split(',')
        {
            let item = item.trim();
            if !item.is_empty() {
                owner.insert(item.to_string(), module.to_string());
            }
        }
    }
    let mut graph = BTreeMap::new();
    for (name, src) in sources.iter().filter(|(n, _)| *n != "mod") {
        let code: String = src
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let mut deps = BTreeSet::new();
        for prefix in ["super::", "crate::store::"] {
            for (at, _) in code.match_indices(prefix) {
                let rest = &code[at + prefix.len()..];
                let names: Vec<&str> = match rest.strip_prefix('{') {
                    Some(group) => group[..group.find('}').unwrap_or(group.len())].split(',').collect(),
                    None => vec![rest],
                };
                for n in names {
                    let ident: String = n
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    let module = if modules.contains(&ident) {
                        Some(ident)
                    } else {
                        owner.get(&ident).cloned()
                    };
                    if let Some(m) = module.filter(|m| m != name) {
                        deps.insert(m);
                    }
                }
            }
        }
        graph.insert(name.clone(), deps);
    }
    graph
}

/// A circle through `from`, if any, as the path that closes it.
fn circle(graph: &BTreeMap<String, BTreeSet<String>>, from: &str) -> Option<Vec<String>> {
    fn walk(
        graph: &BTreeMap<String, BTreeSet<String>>,
        at: &str,
        start: &str,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        for next in graph.get(at).into_iter().flatten() {
            path.push(next.clone());
            if next == start || (seen.insert(next.clone()) && walk(graph, next, start, path, seen)) {
                return true;
            }
            path.pop();
        }
        false
    }
    let mut path = vec![from.to_string()];
    walk(graph, from, from, &mut path, &mut BTreeSet::new()).then_some(path)
}

#[test]
fn store_modules_import_no_circle() {
    let graph = graph();
    assert!(graph.len() > 10, "the store's modules were found: {graph:?}");
    assert!(
        graph["base"].is_empty(),
        "base imports nothing of the store: {:?}",
        graph["base"]
    );
    let circles: Vec<String> = graph
        .keys()
        .filter_map(|m| circle(&graph, m))
        .map(|p| p.join(" -> "))
        .collect();
    assert!(
        circles.is_empty(),
        "circles among the store's modules:\n{}",
        circles.join("\n")
    );
}

#[test]
fn a_circle_is_found_when_there_is_one() {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.insert("a".into(), ["b".to_string()].into());
    g.insert("b".into(), ["c".to_string()].into());
    g.insert("c".into(), ["a".to_string()].into());
    g.insert("d".into(), ["a".to_string()].into());
    assert_eq!(
        circle(&g, "a"),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    assert_eq!(circle(&g, "d"), None);
}
