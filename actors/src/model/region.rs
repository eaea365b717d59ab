//! The organisation's regions: a tree its branches are filed in. The rules keep it a tree (no
//! region inside itself or its own sub-region), shallow enough to read, and never take a region
//! away from under its branches or sub-regions.

use serde_json::json;

use super::field::FieldError;

/// Levels of regions, at most (a country, its districts, their cities, their quarters).
pub const MAX_DEPTH: usize = 4;

/// A region as the rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node {
    pub id: i64,
    pub parent_id: Option<i64>,
}

/// The chain from `id` up to its root, `id` first; stops at a broken link or a loop.
fn ancestry(tree: &[Node], id: i64) -> Vec<i64> {
    let mut chain = vec![id];
    let mut at = id;
    while let Some(parent) = tree.iter().find(|n| n.id == at).and_then(|n| n.parent_id) {
        if chain.contains(&parent) {
            break;
        }
        chain.push(parent);
        at = parent;
    }
    chain
}

/// Levels below `id`, itself included (a leaf is 1).
fn height(tree: &[Node], id: i64) -> usize {
    1 + tree
        .iter()
        .filter(|n| n.parent_id == Some(id) && n.id != id)
        .map(|n| height(tree, n.id))
        .max()
        .unwrap_or(0)
}

/// Whether region `id` (None: a new one) may sit in `parent` (None: at the top).
pub fn check_parent(tree: &[Node], id: Option<i64>, parent: Option<i64>) -> Result<(), FieldError> {
    let Some(parent) = parent else {
        return match id {
            Some(id) if height(tree, id) > MAX_DEPTH => Err(too_deep()),
            _ => Ok(()),
        };
    };
    if !tree.iter().any(|n| n.id == parent) {
        return Err(FieldError::new("parent_id", "not_found", json!({})));
    }
    let above = ancestry(tree, parent);
    if id.is_some_and(|id| above.contains(&id)) {
        return Err(FieldError::new("parent_id", "region_cycle", json!({})));
    }
    let below = id.map_or(1, |id| height(tree, id));
    if above.len() + below > MAX_DEPTH {
        return Err(too_deep());
    }
    Ok(())
}

fn too_deep() -> FieldError {
    FieldError::new("parent_id", "region_depth", json!({ "max": MAX_DEPTH }))
}

/// A region is taken away only once nothing is filed in it.
pub fn check_remove(sub_regions: usize, branches: usize) -> Result<(), FieldError> {
    if sub_regions + branches > 0 {
        return Err(FieldError::new(
            "region",
            "region_not_empty",
            json!({ "regions": sub_regions, "branches": branches }),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // 1 → 2 → 3, and 4 at the top.
    const TREE: [Node; 4] = [
        Node { id: 1, parent_id: None },
        Node {
            id: 2,
            parent_id: Some(1),
        },
        Node {
            id: 3,
            parent_id: Some(2),
        },
        Node { id: 4, parent_id: None },
    ];

    #[test]
    fn a_new_region_sits_at_the_top_or_in_a_known_region() {
        assert_eq!(check_parent(&TREE, None, None), Ok(()));
        assert_eq!(check_parent(&TREE, None, Some(3)), Ok(()));
        assert_eq!(check_parent(&TREE, None, Some(9)).unwrap_err().reason, "not_found");
    }

    #[test]
    fn no_region_sits_inside_itself() {
        assert_eq!(
            check_parent(&TREE, Some(1), Some(1)).unwrap_err().reason,
            "region_cycle"
        );
        assert_eq!(
            check_parent(&TREE, Some(1), Some(3)).unwrap_err().reason,
            "region_cycle"
        );
        assert_eq!(check_parent(&TREE, Some(3), Some(4)), Ok(()), "moved elsewhere");
        assert_eq!(check_parent(&TREE, Some(2), None), Ok(()), "moved to the top");
    }

    #[test]
    fn the_tree_stays_shallow() {
        // 1 → 2 → 3 → new is four levels; one more is too deep.
        let mut tree = TREE.to_vec();
        tree.push(Node {
            id: 5,
            parent_id: Some(3),
        });
        assert_eq!(check_parent(&TREE, None, Some(3)), Ok(()));
        let e = check_parent(&tree, None, Some(5)).unwrap_err();
        assert_eq!(
            (e.reason, e.args["max"].as_u64()),
            ("region_depth", Some(MAX_DEPTH as u64))
        );
        // Moving 2 (with 3 and 5 under it) under 4: 4 → 2 → 3 → 5 fits; under 3's sibling too deep.
        assert_eq!(check_parent(&tree, Some(2), Some(4)), Ok(()));
        tree.push(Node {
            id: 6,
            parent_id: Some(4),
        });
        assert_eq!(
            check_parent(&tree, Some(2), Some(6)).unwrap_err().reason,
            "region_depth"
        );
    }

    #[test]
    fn only_an_empty_region_is_taken_away() {
        assert_eq!(check_remove(0, 0), Ok(()));
        let e = check_remove(1, 2).unwrap_err();
        assert_eq!((e.reason, e.args["branches"].as_u64()), ("region_not_empty", Some(2)));
    }
}
