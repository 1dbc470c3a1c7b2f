//! End to end against the real local kube-apiserver: the CRDs install, accept the samples, show
//! in `kubectl get migration` with their printer columns, and reject invalid objects clearly.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::*;

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh (or set AMO_E2E_KUBECONFIG)"]
fn crds_install_accept_samples_and_reject_invalid_objects() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "crds");
    let k = &ns.kubectl;

    // `kubectl explain` works from the schema descriptions.
    let explain = Kubectl::admin(cluster).ok(&["explain", "dtsmigrations.spec.migrationTypes"]);
    let words = explain.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("Without Incremental the task finishes by itself"),
        "{explain}"
    );

    // One valid object of each kind (the shipped samples).
    for sample in [
        "00-credentials.yaml",
        "01-datasource.yaml",
        "02-mmsjob.yaml",
        "03-dtsmigration.yaml",
        "04-dataworksmigration.yaml",
        "05-cutover.yaml",
    ] {
        let path = repo().join("config/samples").join(sample);
        k.ok(&["apply", "--server-side", "-f", &path_str(&path)]);
    }

    // The category lists all five kinds, with the printer columns.
    let table = wait_for("kubectl get migration", Duration::from_secs(20), || {
        let out = k.ok(&["get", "migration"]);
        (out.lines().count() >= 6).then_some(out)
    });
    for name in [
        "datasource.migration.aliyun-operator.dev/hive-prod",
        "mmsjob.migration.aliyun-operator.dev/sales-history",
        "dtsmigration.migration.aliyun-operator.dev/orders-to-maxcompute",
        "cutover.migration.aliyun-operator.dev/orders-cutover",
        "dataworksmigration.migration.aliyun-operator.dev/sales-workflows",
    ] {
        assert!(table.contains(name), "{name} missing from:\n{table}");
    }
    let dts_header = k.ok(&["get", "dtsmigrations"]);
    let header = dts_header.lines().next().unwrap_or_default();
    for column in ["NAME", "READY", "PHASE", "LAG", "REPLICATING", "AGE"] {
        assert!(header.contains(column), "column {column} missing: {header}");
    }
    let wide = k.ok(&["get", "mmsjobs", "-o", "wide"]);
    for column in ["PROGRESS", "VERIFIED", "JOB-ID", "REASON"] {
        assert!(wide.contains(column), "column {column} missing: {wide}");
    }
    for (kind, short) in [
        ("datasources", "mmsds"),
        ("mmsjobs", "mmsj"),
        ("dtsmigrations", "dtsm"),
        ("cutovers", "cuto"),
        ("dataworksmigrations", "dwm"),
    ] {
        let by_short = k.ok(&["get", short, "-o", "name"]);
        let by_plural = k.ok(&["get", kind, "-o", "name"]);
        assert_eq!(by_short, by_plural, "short name {short}");
    }

    // Defaults are applied by the server (structural schema).
    let mms = k.get_json("mmsjob/sales-history").expect("mmsjob exists");
    assert_eq!(at(&mms, "spec.deletionPolicy"), "Retain");
    assert_eq!(at(&mms, "spec.enableSchemaMigration"), true);

    // A wrong enum value is rejected with the allowed values.
    let bad_enum = object(
        "DtsMigration",
        "bad-enum",
        json!({"region": "cn-hangzhou",
               "source": {"instanceType": "PolarDB", "instanceId": "pc-1"},
               "destination": {"instanceType": "MaxCompute", "database": "dw"},
               "migrationTypes": ["Everything"], "objects": [{"name": "shop"}]}),
    );
    let out = k.run_with_stdin(&["apply", "-f", "-"], Some(&bad_enum.to_string()));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "wrong enum accepted");
    assert!(
        err.contains("spec.migrationTypes") && err.contains("Unsupported value: \"Everything\""),
        "unclear message: {err}"
    );

    // A missing required field is rejected naming the field.
    let missing = object(
        "MmsJob",
        "missing-db",
        json!({"dataSourceRef": {"name": "hive-prod"}}),
    );
    let out = k.run_with_stdin(&["apply", "-f", "-"], Some(&missing.to_string()));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "missing field accepted");
    assert!(
        err.contains("spec.srcDbName: Required value"),
        "unclear message: {err}"
    );

    // A pattern violation names the field and the pattern.
    let bad_region = object(
        "DataSource",
        "bad-region",
        json!({"region": "Hangzhou!", "name": "x"}),
    );
    let out = k.run_with_stdin(&["apply", "-f", "-"], Some(&bad_region.to_string()));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "bad region accepted");
    assert!(err.contains("spec.region"), "unclear message: {err}");

    // Status is a subresource: writing status through the main resource is ignored.
    k.ok(&[
        "patch",
        "mmsjob/sales-history",
        "--type=merge",
        "-p",
        &json!({"status": {"phase": "Succeeded"}}).to_string(),
    ]);
    let mms = k.get_json("mmsjob/sales-history").expect("mmsjob exists");
    assert_ne!(
        at(&mms, "status.phase"),
        "Succeeded",
        "status written via main resource"
    );
}

/// Writes `status` through the status subresource, as the operator would.
fn set_status(k: &Kubectl, resource: &str, status: Value) {
    k.ok(&[
        "patch",
        resource,
        "--subresource=status",
        "--type=merge",
        "-p",
        &json!({"status": status}).to_string(),
    ]);
}

/// A spec edit the server must refuse with `message` (the CRD's CEL transition rule).
fn refused(k: &Kubectl, resource: &str, patch: Value, message: &str) {
    let out = k.run(&["patch", resource, "--type=merge", "-p", &patch.to_string()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{resource}: {patch} was accepted");
    assert!(
        err.contains(message),
        "{resource}: refusal does not say {message:?}: {err}"
    );
}

fn accepted(k: &Kubectl, resource: &str, patch: Value) {
    k.ok(&["patch", resource, "--type=merge", "-p", &patch.to_string()]);
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh (or set AMO_E2E_KUBECONFIG)"]
fn the_server_enforces_every_transition_rule_with_a_clear_message() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "cel");
    let k = &ns.kubectl;
    for sample in [
        "01-datasource.yaml",
        "02-mmsjob.yaml",
        "03-dtsmigration.yaml",
        "05-cutover.yaml",
    ] {
        let path = repo().join("config/samples").join(sample);
        k.ok(&["apply", "--server-side", "-f", &path_str(&path)]);
    }

    // Before the cloud object exists, identity fields may still change.
    accepted(
        k,
        "datasource/hive-prod",
        json!({"spec": {"name": "hive-staging"}}),
    );
    accepted(
        k,
        "mmsjob/sales-history",
        json!({"spec": {"srcDbName": "sales2"}}),
    );

    // DataSource: name and sourceId are frozen once resolved.
    set_status(k, "datasource/hive-prod", json!({"sourceId": 1}));
    refused(
        k,
        "datasource/hive-prod",
        json!({"spec": {"name": "hive-prod"}}),
        "spec.name and spec.sourceId cannot change once the DataSource is resolved",
    );
    refused(
        k,
        "datasource/hive-prod",
        json!({"spec": {"sourceId": 2}}),
        "spec.name and spec.sourceId cannot change once the DataSource is resolved",
    );
    // Pinning the id it resolved to is allowed.
    accepted(k, "datasource/hive-prod", json!({"spec": {"sourceId": 1}}));

    // MmsJob: the job scope is frozen once the MMS job exists.
    set_status(k, "mmsjob/sales-history", json!({"jobId": 7}));
    refused(
        k,
        "mmsjob/sales-history",
        json!({"spec": {"tables": ["orders"]}}),
        "cannot change once the MMS job exists",
    );
    // What is not scope (suspend) may still change.
    accepted(
        k,
        "mmsjob/sales-history",
        json!({"spec": {"suspend": true}}),
    );

    // DtsMigration: endpoints and objects frozen once started; stop is one-way.
    set_status(
        k,
        "dtsmigration/orders-to-maxcompute",
        json!({"startedAt": "2026-12-01T00:00:00Z"}),
    );
    refused(
        k,
        "dtsmigration/orders-to-maxcompute",
        json!({"spec": {"objects": [{"name": "other"}]}}),
        "create a new DtsMigration instead",
    );
    accepted(
        k,
        "dtsmigration/orders-to-maxcompute",
        json!({"spec": {"stop": true}}),
    );
    refused(
        k,
        "dtsmigration/orders-to-maxcompute",
        json!({"spec": {"stop": false}}),
        "spec.stop cannot go back to false",
    );

    // Cutover: the switch and freeze lists and the migrations are frozen once switching started.
    accepted(
        k,
        "cutover/orders-cutover",
        json!({"spec": {"switch": [
            {"configMapKey": {"name": "orders-app-db", "key": "DSN", "value": "a"}}
        ]}}),
    );
    set_status(
        k,
        "cutover/orders-cutover",
        json!({"switchStartedAt": "2026-12-01T00:00:00Z"}),
    );
    refused(
        k,
        "cutover/orders-cutover",
        json!({"spec": {"switch": [
            {"configMapKey": {"name": "orders-app-db", "key": "DSN", "value": "b"}}
        ]}}),
        "spec.switch, spec.freeze and spec.migrations cannot change once switching has started",
    );
    refused(
        k,
        "cutover/orders-cutover",
        json!({"spec": {"freeze": [{"scale": {"kind": "Deployment", "name": "writer"}}]}}),
        "spec.switch, spec.freeze and spec.migrations cannot change once switching has started",
    );
    // Asking for a rollback is what a user does next, and it is allowed.
    accepted(
        k,
        "cutover/orders-cutover",
        json!({"spec": {"rollback": true}}),
    );
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh (or set AMO_E2E_KUBECONFIG)"]
fn the_server_refuses_contradictory_specs_with_the_rule_message() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "cel-static");
    let k = &ns.kubectl;
    // Exactly one kind per switch target.
    let cutover = object(
        "Cutover",
        "two-kinds",
        json!({"migrations": [{"kind": "MmsJob", "name": "m"}],
               "switch": [{"configMapKey": {"name": "a", "key": "k", "value": "v"},
                           "service": {"name": "s", "externalName": "db.example.com"}}]}),
    );
    let out = k.run_with_stdin(&["apply", "-f", "-"], Some(&cutover.to_string()));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "two kinds in one target accepted");
    assert!(
        err.contains("set exactly one of configMapKey, secretKey, service, mergePatch"),
        "{err}"
    );
}
