//! Every string, list and map a user can put into a spec has a bound the API server enforces,
//! so nothing unbounded reaches the cloud (a 200,000-character `targetName` once did).

use aliyun_migration_operator::api;
use serde_json::Value;

/// Paths under `node` (a schema) that a user can fill without a bound.
fn unbounded(node: &Value, path: &str, out: &mut Vec<String>) {
    let bounded_by_enum = node.get("enum").is_some();
    match node.get("type").and_then(Value::as_str) {
        Some("string") if !bounded_by_enum && node.get("maxLength").is_none() => {
            out.push(format!("{path}: string without maxLength"))
        }
        Some("array") if node.get("maxItems").is_none() => {
            out.push(format!("{path}: list without maxItems"))
        }
        Some("object")
            if node.get("additionalProperties").is_some()
                && node.get("maxProperties").is_none() =>
        {
            out.push(format!("{path}: map without maxProperties"))
        }
        _ => {}
    }
    if let Some(props) = node.get("properties").and_then(Value::as_object) {
        for (name, child) in props {
            unbounded(child, &format!("{path}.{name}"), out);
        }
    }
    if let Some(items) = node.get("items") {
        unbounded(items, &format!("{path}[]"), out);
    }
    if let Some(values) = node.get("additionalProperties").filter(|v| v.is_object()) {
        unbounded(values, &format!("{path}{{}}"), out);
        let keys_bounded = node
            .get("x-kubernetes-validations")
            .and_then(Value::as_array)
            .is_some_and(|rules| {
                rules
                    .iter()
                    .any(|r| r["rule"].as_str().is_some_and(|s| s.contains("size(k)")))
            });
        if !keys_bounded {
            out.push(format!("{path}: map keys without a length rule"));
        }
    }
}

#[test]
fn every_spec_string_list_and_map_is_bounded() {
    let mut found = Vec::new();
    for (file, crd) in api::crds() {
        let crd = serde_json::to_value(&crd).unwrap();
        let schema = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
        unbounded(schema, &format!("{file}: spec"), &mut found);
    }
    assert!(found.is_empty(), "unbounded input:\n{}", found.join("\n"));
}
