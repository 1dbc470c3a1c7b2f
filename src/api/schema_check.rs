//! Test support: checks a status against the CRD's structural schema the way the API server
//! does on a status write (types, nullability, enums, required fields, bounds, patterns), so a
//! decide test fails on a status the server would answer with 422.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::LazyLock;

/// The `status` schema of every kind, generated once per test process (generation is slow,
/// and every decide call of every unit test checks its status).
static STATUS_SCHEMAS: LazyLock<HashMap<String, JSONSchemaProps>> = LazyLock::new(|| {
    super::crds()
        .into_iter()
        .filter_map(|(_, crd)| {
            let status = crd.spec.versions[0]
                .schema
                .as_ref()
                .and_then(|s| s.open_api_v3_schema.as_ref())
                .and_then(|s| s.properties.as_ref())
                .and_then(|p| p.get("status"))
                .cloned()?;
            Some((crd.spec.names.kind.clone(), status))
        })
        .collect()
});

/// Problems with `status` (serialised as it is sent) under the `status` schema of `kind`.
pub fn status_problems(kind: &str, status: &impl serde::Serialize) -> Vec<String> {
    let schema = STATUS_SCHEMAS
        .get(kind)
        .unwrap_or_else(|| panic!("no CRD with a status schema for {kind}"));
    let value = serde_json::to_value(status).expect("status serialises");
    let mut problems = Vec::new();
    check(schema, &value, "status", &mut problems);
    problems
}

/// The top-level fields of `kind`'s status, as its CRD declares them.
pub fn status_fields(kind: &str) -> Vec<String> {
    STATUS_SCHEMAS
        .get(kind)
        .and_then(|s| s.properties.as_ref())
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_else(|| panic!("no CRD with a status schema for {kind}"))
}

/// The fields of `status` (a decide's output) that `kind`'s CRD declares but it leaves out,
/// besides those in `may_lack`. A decide that builds its status afresh must carry every field
/// over or compute it; a new field it forgets shows up here instead of vanishing on the next
/// status write.
pub fn dropped_fields(
    kind: &str,
    status: &impl serde::Serialize,
    may_lack: &[&str],
) -> Vec<String> {
    let written = serde_json::to_value(status).expect("status serialises");
    status_fields(kind)
        .into_iter()
        .filter(|f| !may_lack.contains(&f.as_str()))
        .filter(|f| written.get(f).is_none_or(Value::is_null))
        .collect()
}

/// Panics with every problem when `status` would be refused.
pub fn assert_status_valid(kind: &str, status: &impl serde::Serialize) {
    let problems = status_problems(kind, status);
    assert!(
        problems.is_empty(),
        "{kind} status the API server would refuse:\n  {}\n{}",
        problems.join("\n  "),
        serde_json::to_string_pretty(&serde_json::to_value(status).unwrap()).unwrap()
    );
}

fn check(schema: &JSONSchemaProps, value: &Value, path: &str, out: &mut Vec<String>) {
    if value.is_null() {
        if schema.nullable != Some(true) {
            out.push(format!("{path}: null is not allowed"));
        }
        return;
    }
    if schema.x_kubernetes_int_or_string == Some(true) {
        if !(value.is_i64() || value.is_u64() || value.is_string()) {
            out.push(format!("{path}: expected an integer or a string"));
        }
        return;
    }
    if let Some(type_) = schema.type_.as_deref() {
        let ok = match type_ {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            _ => true,
        };
        if !ok {
            out.push(format!("{path}: expected {type_}, got {value}"));
            return;
        }
    }
    if let Some(allowed) = &schema.enum_
        && !allowed.iter().any(|a| a.0 == *value)
    {
        out.push(format!("{path}: {value} is not one of the enum values"));
    }
    match value {
        Value::String(s) => {
            let len = s.chars().count() as i64;
            if schema.max_length.is_some_and(|m| len > m) {
                out.push(format!(
                    "{path}: longer than {}",
                    schema.max_length.unwrap()
                ));
            }
            if schema.min_length.is_some_and(|m| len < m) {
                out.push(format!(
                    "{path}: shorter than {}",
                    schema.min_length.unwrap()
                ));
            }
            if let Some(pattern) = &schema.pattern
                && !regex::Regex::new(pattern).is_ok_and(|re| re.is_match(s))
            {
                out.push(format!("{path}: {s:?} does not match {pattern}"));
            }
        }
        Value::Number(n) => {
            let v = n.as_f64().unwrap_or_default();
            if schema.maximum.is_some_and(|m| v > m) {
                out.push(format!("{path}: above {}", schema.maximum.unwrap()));
            }
            if schema.minimum.is_some_and(|m| v < m) {
                out.push(format!("{path}: below {}", schema.minimum.unwrap()));
            }
        }
        Value::Array(items) => {
            let len = items.len() as i64;
            if schema.max_items.is_some_and(|m| len > m) {
                out.push(format!(
                    "{path}: more than {} items",
                    schema.max_items.unwrap()
                ));
            }
            if schema.min_items.is_some_and(|m| len < m) {
                out.push(format!(
                    "{path}: fewer than {} items",
                    schema.min_items.unwrap()
                ));
            }
            if let Some(JSONSchemaPropsOrArray::Schema(item)) = &schema.items {
                for (i, v) in items.iter().enumerate() {
                    check(item, v, &format!("{path}[{i}]"), out);
                }
            }
        }
        Value::Object(map) => {
            for required in schema.required.iter().flatten() {
                if !map.contains_key(required) {
                    out.push(format!("{path}.{required}: required"));
                }
            }
            if schema.max_properties.is_some_and(|m| map.len() as i64 > m) {
                out.push(format!("{path}: too many properties"));
            }
            for (key, v) in map {
                let child = format!("{path}.{key}");
                match (&schema.properties, &schema.additional_properties) {
                    (Some(props), _) if props.contains_key(key) => {
                        check(&props[key], v, &child, out)
                    }
                    (_, Some(JSONSchemaPropsOrBool::Schema(extra))) => check(extra, v, &child, out),
                    (_, Some(JSONSchemaPropsOrBool::Bool(true))) => {}
                    _ if schema.x_kubernetes_preserve_unknown_fields == Some(true) => {}
                    // The server prunes unknown fields rather than refusing them; a status
                    // field it would drop is a bug all the same.
                    _ => out.push(format!("{child}: not in the schema (the server drops it)")),
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::mms_job::MmsJobStatus;

    #[test]
    fn a_null_where_the_schema_wants_an_object_is_refused() {
        let mut value = serde_json::to_value(MmsJobStatus::default()).unwrap();
        value["taskCounts"] = Value::Null;
        let problems = status_problems("MmsJob", &value);
        assert!(
            problems
                .iter()
                .any(|p| p.contains("status.taskCounts: null")),
            "{problems:?}"
        );
    }

    #[test]
    fn unknown_fields_and_bad_enums_are_reported() {
        let value = serde_json::json!({"phase": "Dancing", "tabels": 1});
        let problems = status_problems("MmsJob", &value);
        assert!(
            problems.iter().any(|p| p.contains("status.phase")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("status.tabels")),
            "{problems:?}"
        );
    }

    #[test]
    fn the_default_status_of_every_kind_is_valid() {
        assert_status_valid("MmsJob", &MmsJobStatus::default());
        assert_status_valid(
            "DtsMigration",
            &crate::api::dts_migration::DtsMigrationStatus::default(),
        );
        assert_status_valid("DataSource", &crate::api::DataSourceStatus::default());
        assert_status_valid("Cutover", &crate::api::CutoverStatus::default());
        assert_status_valid(
            "DataWorksMigration",
            &crate::api::dataworks_migration::DataWorksMigrationStatus::default(),
        );
    }
}
