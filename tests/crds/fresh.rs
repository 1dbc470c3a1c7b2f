//! `crds/` must be exactly what `aliyun-migration-operator crds --out-dir crds` writes.

use std::path::Path;

use aliyun_migration_operator::api;

#[test]
fn crd_files_match_the_rust_types() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("crds");
    let mut stale = Vec::new();
    for (file, crd) in api::crds() {
        let expected = api::crd_yaml(&crd);
        let actual = std::fs::read_to_string(dir.join(file)).unwrap_or_default();
        if actual != expected {
            stale.push(file);
        }
    }
    let extra: Vec<String> = std::fs::read_dir(&dir)
        .expect("crds/ exists")
        .map(|e| {
            e.expect("readable entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| !api::crds().iter().any(|(file, _)| file == name))
        .collect();
    assert!(
        stale.is_empty() && extra.is_empty(),
        "crds/ is stale ({stale:?}) or has unknown files ({extra:?}): run `cargo run -- crds --out-dir crds`"
    );
}

#[test]
fn every_kind_has_the_columns_names_and_category_users_rely_on() {
    for (_, crd) in api::crds() {
        let names = &crd.spec.names;
        assert_eq!(
            names.categories.as_deref(),
            Some(&["migration".to_string()][..])
        );
        let short = names.short_names.clone().unwrap_or_default();
        assert_eq!(short.len(), 1, "{}: one short name", names.kind);
        // Built-in short names that must not be shadowed.
        for taken in [
            "ds", "cm", "svc", "po", "deploy", "rs", "sts", "ns", "ep", "ev", "sa", "pv", "pvc",
            "crd", "co", "cj", "hpa", "ing", "pdb", "sc", "rc", "no", "csr", "netpol", "quota",
            "limits", "pc", "cs",
        ] {
            assert_ne!(short[0], taken, "{}: short name collides", names.kind);
        }
        let version = &crd.spec.versions[0];
        assert!(
            version
                .subresources
                .as_ref()
                .and_then(|s| s.status.as_ref())
                .is_some()
        );
        let columns: Vec<String> = version
            .additional_printer_columns
            .as_ref()
            .expect("printer columns")
            .iter()
            .map(|c| c.name.clone())
            .collect();
        for needed in ["Ready", "Phase", "Age"] {
            assert!(
                columns.iter().any(|c| c == needed),
                "{}: no {needed} column",
                names.kind
            );
        }
        assert!(
            columns.len() >= 5,
            "{}: kind-specific columns missing",
            names.kind
        );
        let schema = serde_json::to_string(version.schema.as_ref().unwrap()).unwrap();
        assert!(
            schema.contains("observedGeneration"),
            "{}: observedGeneration",
            names.kind
        );
        assert!(
            schema.contains(r#""x-kubernetes-list-map-keys":["type"]"#),
            "{}: conditions list-map",
            names.kind
        );
    }
}

#[test]
fn secrets_are_only_referenced_never_inline() {
    let yaml = api::all_crds_yaml().to_ascii_lowercase();
    for forbidden in ["password:", "accesskeysecret:", "securitytoken:"] {
        assert!(
            !yaml.contains(&format!("\n{forbidden}")),
            "an inline secret field {forbidden}"
        );
        for indent in 1..40 {
            let field = format!("\n{}{forbidden}", " ".repeat(indent));
            assert!(!yaml.contains(&field), "an inline secret field {forbidden}");
        }
    }
}

#[test]
fn schemas_avoid_what_older_apiservers_reject() {
    fn walk(node: &serde_json::Value, in_status: bool, path: &str, problems: &mut Vec<String>) {
        match node {
            serde_json::Value::Object(map) => {
                if map
                    .get("enum")
                    .and_then(|e| e.as_array())
                    .is_some_and(|e| e.iter().any(|v| v.is_null()))
                {
                    problems.push(format!("{path}: null in enum"));
                }
                if in_status && map.contains_key("default") {
                    problems.push(format!("{path}: default under status"));
                }
                for (key, child) in map {
                    let status = in_status || (key == "status" && path.ends_with("properties"));
                    walk(child, status, &format!("{path}/{key}"), problems);
                }
            }
            serde_json::Value::Array(items) => {
                for item in items {
                    walk(item, in_status, path, problems);
                }
            }
            _ => {}
        }
    }
    let mut problems = Vec::new();
    for (file, crd) in api::crds() {
        let value = serde_json::to_value(&crd).unwrap();
        walk(&value, false, file, &mut problems);
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn chart_and_kustomize_carry_the_same_crds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for copy in [
        "charts/aliyun-migration-operator/crds",
        "config/default/crds",
    ] {
        for (file, crd) in api::crds() {
            let actual = std::fs::read_to_string(root.join(copy).join(file)).unwrap_or_default();
            assert_eq!(
                actual,
                api::crd_yaml(&crd),
                "{copy}/{file} is stale: run `cargo run -- crds --out-dir crds && hack/check-addon.sh --sync`"
            );
        }
    }
}
