//! Fields a user wrote that the schema does not know (`tabels` for `tables`).
//!
//! A current API server refuses them (`kubectl apply` validates strictly) or warns the client;
//! an old one, or a client that skips validation, drops them silently, and the migration runs
//! without what the user meant. The operator cannot see dropped fields in the object, but
//! `kubectl apply` keeps what the user sent in the `last-applied-configuration` annotation:
//! every path there that the schema has no room for is reported on the object.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use kube::CustomResourceExt;
use serde_json::Value;

/// The annotation `kubectl apply` keeps the user's manifest in.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
/// Where the cache keeps the dropped paths for the reconcile (never written to the server).
pub const DROPPED: &str = "migration.aliyun-operator.dev/dropped-fields";
/// At most this many paths are reported.
const MAX_REPORTED: usize = 20;

/// The paths under `spec` of `applied` (a manifest) that `schema` (the kind's openAPIV3Schema)
/// has no field for.
pub fn dropped_fields(schema: &Value, applied: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let (Some(spec_schema), Some(spec)) =
        (schema.pointer("/properties/spec"), applied.get("spec"))
    {
        walk(spec_schema, spec, "spec", &mut out);
    }
    out.truncate(MAX_REPORTED);
    out
}

fn walk(schema: &Value, value: &Value, path: &str, out: &mut Vec<String>) {
    if schema
        .get("x-kubernetes-preserve-unknown-fields")
        .is_some_and(|v| v == true)
    {
        return;
    }
    match value {
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object);
            let extra = schema.get("additionalProperties").filter(|a| a.is_object());
            for (key, child) in map {
                match (props.and_then(|p| p.get(key)), extra) {
                    (Some(child_schema), _) | (None, Some(child_schema)) => {
                        walk(child_schema, child, &format!("{path}.{key}"), out)
                    }
                    (None, None) => out.push(format!("{path}.{key}")),
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    walk(item_schema, item, &format!("{path}[{i}]"), out);
                }
            }
        }
        _ => {}
    }
}

/// The kind's schema, built once per kind.
fn schema<K: CustomResourceExt>() -> Arc<Value> {
    static SCHEMAS: LazyLock<Mutex<HashMap<&'static str, Arc<Value>>>> =
        LazyLock::new(Mutex::default);
    let mut schemas = SCHEMAS.lock().unwrap_or_else(|e| e.into_inner());
    schemas
        .entry(K::crd_name())
        .or_insert_with(|| Arc::new(crate::api::validation::schema_of::<K>()))
        .clone()
}

/// The dropped paths of a `last-applied-configuration` value, for kind `K`.
pub fn dropped_in_last_applied<K: CustomResourceExt>(last_applied: &str) -> Vec<String> {
    match serde_json::from_str::<Value>(last_applied) {
        Ok(applied) => dropped_fields(&schema::<K>(), &applied),
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::api::{DtsMigration, MmsJob};

    #[test]
    fn a_misspelt_field_is_found_and_known_ones_are_not() {
        let applied = json!({
            "apiVersion": "migration.aliyun-operator.dev/v1alpha1", "kind": "MmsJob",
            "metadata": {"name": "x", "labels": {"a": "b"}},
            "spec": {"dataSourceRef": {"name": "hive", "nmae": "typo"}, "srcDbName": "sales",
                     "tabels": ["orders"], "tables": [], "tableMapping": {"a": "b"}}
        });
        let text = applied.to_string();
        assert_eq!(
            dropped_in_last_applied::<MmsJob>(&text),
            ["spec.dataSourceRef.nmae", "spec.tabels"]
        );
    }

    #[test]
    fn paths_inside_lists_are_named_by_index() {
        let applied = json!({"spec": {"objects": [{"name": "shop", "tabels": [{"name": "o"}]}],
                                      "reserve": {"anyKey": "1"}}});
        assert_eq!(
            dropped_in_last_applied::<DtsMigration>(&applied.to_string()),
            ["spec.objects[0].tabels"]
        );
        assert!(dropped_in_last_applied::<DtsMigration>("not json").is_empty());
    }
}
