//! DataWorksMigration end to end: the real local API server, the simulator and the operator as
//! processes. Export from workspace sales_dev (10001), upload, import into sales_prod (10002).
//!
//! With `AMO_RECORD_ARGOCD=1` the live objects are also written as the Argo CD health test data
//! under `config/argocd/migration.aliyun-operator.dev/DataWorksMigration/testdata/`.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::*;

const T: Duration = Duration::from_secs(120);
const SOURCE: i64 = 10001;
const TARGET: i64 = 10002;

/// Applies the DataWorksMigration `name` (export from SOURCE, import into TARGET); the members of
/// `extra` are added to its spec.
fn migration(ns: &Namespace, name: &str, engine_source: &str, extra: Value) {
    let spec = json!({
        "region": "cn-hangzhou",
        "targetWorkspaceId": TARGET,
        "source": {"export": {"sourceWorkspaceId": SOURCE}},
        "engineMapping": [{"source": engine_source, "target": "sales_prod_odps"}],
        "workspaceMapping": [{"source": "sales_dev", "target": "sales_prod"}],
    });
    ns.kubectl
        .apply(&object("DataWorksMigration", name, with_members(spec, extra)).to_string());
}

fn resource(name: &str) -> String {
    format!("dataworksmigration/{name}")
}

fn phase_is(name: &str, phase: &'static str) -> impl Fn(&Value) -> bool {
    let _ = name;
    move |o| at(o, "status.phase") == phase
}

/// Writes the live object as Argo CD test data (only with AMO_RECORD_ARGOCD).
fn record(ns: &Namespace, name: &str, file: &str) {
    if std::env::var_os("AMO_RECORD_ARGOCD").is_none() {
        return;
    }
    let mut obj = ns
        .kubectl
        .get_json(&resource(name))
        .expect("the object exists");
    let meta = obj["metadata"].as_object_mut().unwrap();
    for key in ["managedFields", "resourceVersion", "creationTimestamp"] {
        meta.remove(key);
    }
    // Only the operator's own annotations (paused) matter to the health check.
    if let Some(a) = meta.get_mut("annotations").and_then(|a| a.as_object_mut()) {
        a.retain(|k, _| k.starts_with("migration.aliyun-operator.dev/"));
    }
    if meta
        .get("annotations")
        .and_then(|a| a.as_object())
        .is_some_and(|a| a.is_empty())
    {
        meta.remove("annotations");
    }
    meta.insert("namespace".into(), "apps".into());
    let dir =
        repo().join("config/argocd/migration.aliyun-operator.dev/DataWorksMigration/testdata");
    std::fs::create_dir_all(&dir).unwrap();
    let yaml = serde_saphyr::to_string(&obj).unwrap();
    std::fs::write(
        dir.join(format!("{file}.yaml")),
        format!(
            "# Recorded from a live object by tests/e2e/dataworks.rs (AMO_RECORD_ARGOCD=1).\n# yamllint disable rule:line-length\n{yaml}"
        ),
    )
    .unwrap();
}

/// In recording mode only: waits until the object shows `phase` with a task id (the states
/// pass in about a second at the simulator's demo speed, so ordinary runs do not wait for
/// them) and records it.
fn record_passing(ns: &Namespace, name: &str, phase: &'static str, task: &str, file: &str) {
    if std::env::var_os("AMO_RECORD_ARGOCD").is_none() {
        return;
    }
    let task = task.to_string();
    wait_obj(&ns.kubectl, &resource(name), phase, T, move |o| {
        at(o, "status.phase") == phase && at(o, &format!("status.{task}.id")).is_i64()
    });
    record(ns, name, file);
}

/// The signature of the export's pre-signed download URL, as the simulator issued it (raw and
/// percent-encoded).
fn download_signature(sim: &Sim) -> Vec<String> {
    let tasks = block_on(sim.admin.dataworks_migrations()).unwrap();
    let url = tasks
        .iter()
        .find_map(|t| t.download_url.clone())
        .expect("an export with a download URL");
    let encoded = url.split("Signature=").nth(1).unwrap().to_string();
    let raw = percent_encoding::percent_decode_str(&encoded)
        .decode_utf8_lossy()
        .into_owned();
    assert!(raw.len() >= 20, "a real signature");
    vec![encoded, raw]
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn export_then_import_succeeds_and_no_credential_leaks() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "dw-ok");
    let sim = Sim::start(&[]);
    cloud_secret(&ns);
    // Applied before the operator runs: the object as Argo CD first sees it, without status.
    migration(&ns, "sales-jobs", "sales_dev_odps", json!({}));
    record(&ns, "sales-jobs", "no-status");
    let op = Operator::start(cluster, &ns.name, &sim, &[]);
    record_passing(&ns, "sales-jobs", "Exporting", "export", "exporting");
    record_passing(&ns, "sales-jobs", "Importing", "import", "importing");
    let obj = wait_obj(
        &ns.kubectl,
        &resource("sales-jobs"),
        "Succeeded",
        T,
        phase_is("sales-jobs", "Succeeded"),
    );
    assert!(has_condition(&obj, "Ready", "True"));
    assert!(has_condition(&obj, "Exported", "True"));
    assert!(has_condition(&obj, "Imported", "True"));
    assert_eq!(at(&obj, "status.export.status"), "EXPORT_SUCCESS");
    assert_eq!(at(&obj, "status.import.status"), "IMPORT_SUCCESS");
    assert_eq!(at(&obj, "status.import.steps")[0]["name"], "IMPORE_PREPARE");
    let package_file = at(&obj, "status.packageFile").as_str().unwrap();
    assert!(
        package_file.starts_with("http://dataworks-migration-cn-hangzhou."),
        "{package_file}"
    );
    assert!(
        !package_file.contains('?'),
        "no signature in the package file"
    );
    // The import carried the spec's mappings; the target workspace holds the workflows.
    let tasks = block_on(sim.admin.dataworks_migrations()).unwrap();
    let import = tasks.iter().find(|t| t.project_id == TARGET).unwrap();
    assert_eq!(
        import.engine_map["ODPS"]["sales_dev_odps"],
        "sales_prod_odps"
    );
    assert!(
        import.description.contains("[aliyun-migration-operator "),
        "ownership marker"
    );
    let state = block_on(sim.admin.state()).unwrap();
    let ws = state["dataworks"]["workspaces"].as_array().unwrap();
    assert!(
        ws.iter()
            .any(|w| w["id"] == TARGET && w["imported"].as_array().is_some_and(|i| i.len() == 2))
    );
    // Printer columns.
    let table = ns.kubectl.ok(&["get", "dataworksmigrations"]);
    assert!(
        table.contains("Succeeded") && table.contains("IMPORT_SUCCESS") && table.contains("10002"),
        "{table}"
    );
    // Succeeded is not polled again.
    let before = block_on(sim.admin.requests_for("GetMigrationSummary"))
        .unwrap()
        .len();
    std::thread::sleep(Duration::from_secs(3));
    let after = block_on(sim.admin.requests_for("GetMigrationSummary"))
        .unwrap()
        .len();
    assert_eq!(before, after, "a finished import is not polled");
    record(&ns, "sales-jobs", "succeeded");

    // The secret scan: the AccessKey pair and the export's pre-signed URL appear nowhere.
    let mut planted: Vec<String> = download_signature(&sim);
    planted.push(SIM_ACCESS_KEY_SECRET.into());
    planted.push(SIM_ACCESS_KEY_ID.into());
    let planted: Vec<&str> = planted.iter().map(String::as_str).collect();
    assert_no_leak(&ns, &planted, &[&op.proc]);
    let events = ns.kubectl.ok(&["get", "events", "-o", "yaml"]);
    assert!(
        events.contains("Uploaded") && events.contains("ImportStarted"),
        "events for each step"
    );
    assert!(
        !events.contains("Signature="),
        "no pre-signed URL in an event"
    );

    // A spec change the operator has not seen yet (it is stopped): observedGeneration lags.
    drop(op);
    ns.kubectl.ok(&[
        "patch",
        &resource("sales-jobs"),
        "--type=merge",
        "-p",
        &json!({"spec": {"description": "sales workflows, second thoughts"}}).to_string(),
    ]);
    let stale = ns.kubectl.get_json(&resource("sales-jobs")).unwrap();
    assert_eq!(at(&stale, "metadata.generation"), 2);
    assert_eq!(at(&stale, "status.observedGeneration"), 1);
    record(&ns, "sales-jobs", "stale-generation");
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn a_failed_import_is_reimported_on_request_and_succeeds() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "dw-retry");
    let sim = Sim::start(&[]);
    cloud_secret(&ns);
    let _op = Operator::start(cluster, &ns.name, &sim, &[]);
    block_on(sim.admin.fail_dataworks_import(
        Some(TARGET),
        Some("commit failed: node ods_orders is locked by another user"),
        false,
        1,
    ))
    .unwrap();
    migration(&ns, "sales-jobs", "sales_dev_odps", json!({}));
    let failed = wait_obj(
        &ns.kubectl,
        &resource("sales-jobs"),
        "Failed",
        T,
        phase_is("sales-jobs", "Failed"),
    );
    let ready = condition(&failed, "Ready").unwrap();
    assert_eq!(ready["reason"], "ImportFailed");
    assert!(
        ready["message"].as_str().unwrap().contains("locked"),
        "{ready}"
    );
    assert!(
        ready["message"]
            .as_str()
            .unwrap()
            .contains("retryRequestedAt")
    );
    assert_eq!(at(&failed, "status.import.status"), "IMPORT_ERROR");
    record(&ns, "sales-jobs", "failed");
    ns.kubectl.ok(&[
        "patch",
        &resource("sales-jobs"),
        "--type=merge",
        "-p",
        &json!({"spec": {"retryRequestedAt": "2026-12-07T10:00:00Z"}}).to_string(),
    ]);
    record_passing(&ns, "sales-jobs", "Importing", "import", "reimporting");
    let ok = wait_obj(
        &ns.kubectl,
        &resource("sales-jobs"),
        "Succeeded after the retry",
        T,
        phase_is("sales-jobs", "Succeeded"),
    );
    assert_eq!(at(&ok, "status.reimport.method"), "StartMigration");
    assert_eq!(
        at(&ok, "status.import.attempt"),
        1,
        "the same task was re-imported"
    );
    assert_eq!(
        at(&ok, "status.lastRetryRequestedAt"),
        "2026-12-07T10:00:00Z"
    );
    let tasks = block_on(sim.admin.dataworks_migrations()).unwrap();
    let import = tasks.iter().find(|t| t.project_id == TARGET).unwrap();
    assert_eq!(import.runs, 2);
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn a_partial_import_is_partially_succeeded_not_ready_and_not_polled() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "dw-partial");
    let sim = Sim::start(&[]);
    cloud_secret(&ns);
    let _op = Operator::start(cluster, &ns.name, &sim, &[]);
    block_on(sim.admin.fail_dataworks_import(
        Some(TARGET),
        Some("1 of 3 nodes was not imported: dwd_orders exists in the target workspace"),
        true,
        1,
    ))
    .unwrap();
    migration(&ns, "sales-jobs", "sales_dev_odps", json!({}));
    let partial = wait_obj(
        &ns.kubectl,
        &resource("sales-jobs"),
        "PartiallySucceeded",
        T,
        phase_is("sales-jobs", "PartiallySucceeded"),
    );
    assert_eq!(at(&partial, "status.import.status"), "PARTIAL_SUCCESS");
    let ready = condition(&partial, "Ready").unwrap();
    assert_eq!(ready["status"], "False");
    assert_eq!(ready["reason"], "PartiallySucceeded");
    let message = ready["message"].as_str().unwrap();
    assert!(
        message.contains("dwd_orders")
            && message.contains("/report")
            && message.contains("acceptPartialSuccess"),
        "{message}"
    );
    assert_eq!(
        condition(&partial, "Imported").unwrap()["reason"],
        "PartiallySucceeded"
    );
    let before = block_on(sim.admin.requests_for("GetMigrationSummary"))
        .unwrap()
        .len();
    std::thread::sleep(Duration::from_secs(3));
    let after = block_on(sim.admin.requests_for("GetMigrationSummary"))
        .unwrap()
        .len();
    assert_eq!(before, after, "a partly imported task is not polled");
    record(&ns, "sales-jobs", "partially-succeeded");
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn a_missing_engine_mapping_is_a_clear_terminal_condition() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "dw-map");
    let sim = Sim::start(&[]);
    cloud_secret(&ns);
    let _op = Operator::start(cluster, &ns.name, &sim, &[]);
    migration(&ns, "sales-jobs", "some_other_odps", json!({}));
    let failed = wait_obj(
        &ns.kubectl,
        &resource("sales-jobs"),
        "Failed",
        T,
        phase_is("sales-jobs", "Failed"),
    );
    let ready = condition(&failed, "Ready").unwrap();
    assert_eq!(ready["reason"], "EngineMappingMissing", "{ready}");
    let message = ready["message"].as_str().unwrap();
    assert!(
        message.contains("sales_dev_odps") && message.contains("spec.engineMapping"),
        "{message}"
    );
    assert_eq!(
        condition(&failed, "Imported").unwrap()["reason"],
        "EngineMappingMissing"
    );
    // Terminal: no more polling, no hot loop.
    let before = block_on(sim.admin.requests_for("GetMigrationSummary"))
        .unwrap()
        .len();
    std::thread::sleep(Duration::from_secs(3));
    let after = block_on(sim.admin.requests_for("GetMigrationSummary"))
        .unwrap()
        .len();
    assert_eq!(before, after, "a failed import is not polled");
    record(&ns, "sales-jobs", "engine-mapping-missing");
    // Fixing the mapping and asking for a retry imports with a new task.
    ns.kubectl.ok(&[
        "patch",
        &resource("sales-jobs"),
        "--type=merge",
        "-p",
        &json!({"spec": {"engineMapping": [{"source": "sales_dev_odps", "target": "sales_prod_odps"}],
                         "retryRequestedAt": "1"}})
        .to_string(),
    ]);
    let ok = wait_obj(
        &ns.kubectl,
        &resource("sales-jobs"),
        "Succeeded",
        T,
        phase_is("sales-jobs", "Succeeded"),
    );
    assert_eq!(at(&ok, "status.import.attempt"), 2);
    assert_eq!(at(&ok, "status.reimport.method"), "NewTask");

    // The paused annotation: the phase says so and nothing is called.
    ns.kubectl.ok(&[
        "annotate",
        &resource("sales-jobs"),
        "migration.aliyun-operator.dev/paused=true",
    ]);
    wait_obj(
        &ns.kubectl,
        &resource("sales-jobs"),
        "Paused",
        T,
        phase_is("sales-jobs", "Paused"),
    );
    record(&ns, "sales-jobs", "paused");
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn the_server_refuses_bad_specs_with_the_rules_messages() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "dw-cel");
    let bad = |spec: Value| {
        let out = ns.kubectl.run_with_stdin(
            &["apply", "-f", "-"],
            Some(&object("DataWorksMigration", "bad", spec.clone()).to_string()),
        );
        assert!(!out.status.success(), "accepted: {spec}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let base = json!({"region": "cn-hangzhou", "targetWorkspaceId": 2,
                      "engineMapping": [{"source": "a", "target": "b"}]});
    let with = |members: Value| with_members(base.clone(), members);
    assert!(bad(with(json!({"source": {}}))).contains("set exactly one of source.export"));
    assert!(
        bad(with(json!({
            "source": {"ossUrl": "https://b.oss.aliyuncs.com/k.zip?Signature=x"}
        })))
        .contains("looks pre-signed")
    );
    assert!(
        bad(with(
            json!({"source": {"ossUrl": "https://b/k.zip"}, "deletionPolicy": "Delete"})
        ))
        .contains("deletionPolicy can only be Retain")
    );
    assert!(
        bad(
            json!({"region": "cn-hangzhou", "targetWorkspaceId": 2, "engineMapping": [],
                   "source": {"ossUrl": "https://b/k.zip"}})
        )
        .contains("engineMapping")
    );
    assert!(
        bad(with(json!({
            "source": {"export": {"sourceWorkspaceId": 1, "mode": "Incremental"}}
        })))
        .contains("needs incrementalSince")
    );
}
