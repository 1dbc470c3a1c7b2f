//! Which cloud objects belong to which resource.
//!
//! Cloud names are derived so that two resources never share one: a readable prefix
//! (`<namespace>-<name>`, cut to fit) and a hash of the resource's UID. `a/x-y` and `a-x/y`
//! used to both mean `a-x-y`; now they differ in the hash, and so do a deleted resource and
//! its re-creation under the same name.
//!
//! A name alone never proves ownership, though: `spec.jobName` may be set to anything, and
//! the cloud has objects nobody here created. Every creating call therefore carries an
//! ownership marker — the resource's UID under [`OWNER_KEY`], in an MMS job's `others` and a
//! DTS task's `Reserve` — and the operator adopts (or deletes) a cloud object it finds by
//! name only when the marker is its own.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Key of the ownership marker in MMS `others` and DTS `Reserve`.
pub const OWNER_KEY: &str = "migrationOperatorOwner";

/// Characters of the UID hash in a derived name (40 bits).
const HASH_LEN: usize = 10;

/// The cloud name for resource `namespace/name` with `uid`, at most `max_len` characters:
/// `<namespace>-<name>` (dots as dashes, cut to fit) `-<hash of uid>`.
pub fn cloud_name(namespace: &str, name: &str, uid: &str, max_len: usize) -> String {
    let seed = if uid.is_empty() {
        format!("{namespace}/{name}")
    } else {
        uid.to_string()
    };
    let hash = hex::encode(Sha256::digest(seed.as_bytes()));
    let prefix_len = max_len.saturating_sub(HASH_LEN + 1);
    let prefix: String = format!("{namespace}-{name}")
        .chars()
        .map(|c| if c == '.' { '-' } else { c })
        .take(prefix_len)
        .collect();
    let prefix = prefix.trim_end_matches('-');
    format!("{prefix}-{}", &hash[..HASH_LEN])
}

/// Who a cloud object says it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Owner {
    /// It carries this resource's marker.
    Us,
    /// It carries another resource's marker.
    Other(String),
    /// It carries none (created in the console, by another tool, or by an older operator).
    Unmarked,
}

/// Reads the marker out of `holder` (MMS `others`, DTS `Reserved`) and compares it with `uid`.
pub fn owner(holder: Option<&Value>, uid: &str) -> Owner {
    match holder
        .and_then(|h| h.get(OWNER_KEY))
        .and_then(Value::as_str)
    {
        Some(marker) if !uid.is_empty() && marker == uid => Owner::Us,
        Some(marker) => Owner::Other(marker.to_string()),
        None => Owner::Unmarked,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    #[test]
    fn names_that_used_to_collide_do_not() {
        let a = cloud_name("a", "x-y", "uid-1", 64);
        let b = cloud_name("a-x", "y", "uid-2", 64);
        assert_ne!(a, b);
        assert!(
            a.starts_with("a-x-y-") && b.starts_with("a-x-y-"),
            "{a} {b}"
        );
        // The same resource always gets the same name; its re-creation does not.
        assert_eq!(a, cloud_name("a", "x-y", "uid-1", 64));
        assert_ne!(a, cloud_name("a", "x-y", "uid-3", 64));
    }

    #[test]
    fn names_fit_the_cloud_limits_and_stay_readable() {
        let long = cloud_name(
            "reliability-kill-test",
            "orders-to-maxcompute-17.v2",
            "0f6e",
            32,
        );
        assert_eq!(long.len(), 32, "{long}");
        assert!(long.starts_with("reliability-kill-test"), "{long}");
        assert!(!long.contains('.') && !long.contains("--"), "{long}");
    }

    #[test]
    fn markers_decide_ownership() {
        let ours = json!({OWNER_KEY: "uid-1", "targetTableMode": "2"});
        assert_eq!(owner(Some(&ours), "uid-1"), Owner::Us);
        assert_eq!(owner(Some(&ours), "uid-2"), Owner::Other("uid-1".into()));
        assert_eq!(owner(Some(&json!({})), "uid-1"), Owner::Unmarked);
        assert_eq!(owner(None, "uid-1"), Owner::Unmarked);
        assert_eq!(owner(Some(&ours), ""), Owner::Other("uid-1".into()));
    }

    proptest! {
        /// Distinct resources (every UID is unique) never share a cloud name, whatever their
        /// namespace and name, at the shortest limit in use (DTS: 32).
        #[test]
        fn distinct_resources_never_share_a_name(
            resources in proptest::collection::vec(
                ("[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", "[a-z0-9]([a-z0-9.-]{0,40}[a-z0-9])?"),
                2..40,
            ),
        ) {
            let names: Vec<String> = resources
                .iter()
                .enumerate()
                .map(|(i, (ns, name))| cloud_name(ns, name, &format!("uid-{i}"), 32))
                .collect();
            prop_assert!(names.iter().all(|n| n.chars().count() <= 32));
            let unique: HashSet<&String> = names.iter().collect();
            prop_assert_eq!(unique.len(), names.len(), "{:?}", names);
        }
    }
}
