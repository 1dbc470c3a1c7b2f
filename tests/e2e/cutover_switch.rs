//! Switching and rolling back never lose a value (issue 14, class B): every permission the switch
//! and its rollback need is checked before the first change, a value that could not be read
//! stops the switch, empty values round-trip, a rejected or unkept patch fails the switch and
//! rolls back what was done, the plan is frozen once switching starts, every step has its own
//! event, and a refused abort says so.

use std::time::Duration;

use serde_json::json;

use crate::support::cutover::*;
use crate::support::*;

fn dsn_target(config_map: &str) -> serde_json::Value {
    json!({"configMapKey": {"name": config_map, "key": "DSN", "value": TARGET_DSN}})
}

/// The next three StopDtsJob calls fail (503): the operator retries after about 1, 2 and 4 s.
fn hold_the_stop(sim: &Sim) {
    block_on(
        sim.admin
            .fail_next("StopDtsJob", 3, "ServiceUnavailable", 503),
    )
    .unwrap();
}

fn secret(ns: &Namespace, name: &str, key: &str, value: &str) {
    ns.kubectl.ok(&[
        "create",
        "secret",
        "generic",
        name,
        &format!("--from-literal={key}={value}"),
    ]);
}

fn secret_value(ns: &Namespace, name: &str, key: &str) -> Option<String> {
    use base64::Engine as _;
    let s = ns.kubectl.get_json(&format!("secret/{name}"))?;
    let b = s["data"][key].as_str()?;
    Some(String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b).unwrap()).unwrap())
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn a_rollback_secret_the_operator_cannot_write_stops_the_switch_before_any_change() {
    let Stage { ns, sim, op, .. } = stage("cut-rbsecret", Sim::start(&[]), json!({}));
    secret(&ns, "app-creds", "password", "old-planted-pass-1");
    secret(&ns, "app-creds-ro", "password", "old-planted-pass-2");
    secret(&ns, "new-creds", "password", "new-planted-pass");
    // Everything the switch itself needs, and Secret creation, but not writing to the rollback
    // Secret once it exists.
    grant(
        &ns,
        "switch-secrets",
        json!([
            rule("secrets", &["app-creds", "app-creds-ro"], &["get", "patch"]),
            rule("secrets", &["new-creds"], &["get"]),
            rule("secrets", &[], &["create"]),
        ]),
    );
    let switch = |target: &str| {
        json!({"secretKey": {"name": target, "key": "password",
                              "valueFrom": {"name": "new-creds", "key": "password"}}})
    };
    apply_cutover(
        &ns,
        "creds",
        json!({"switch": [switch("app-creds"), switch("app-creds-ro")]}),
    );
    let c = wait_obj(
        &ns.kubectl,
        "cutover/creds",
        "the targets gate or a switch",
        T,
        |o| {
            gate(o, "targets").is_some_and(|g| {
                g["observed"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("creds-rollback")
            }) || !matches!(phase(o), "" | "Pending" | "Gating")
        },
    );
    let g = gate(&c, "targets").unwrap();
    assert_eq!(g["passed"], false, "{g}");
    assert!(g["observed"].as_str().unwrap().contains("patch"), "{g}");
    std::thread::sleep(Duration::from_secs(5));
    let c = ns.kubectl.get_json("cutover/creds").unwrap();
    assert_eq!(phase(&c), "Gating");
    assert_eq!(stop_calls(&sim), 0);
    assert_eq!(
        secret_value(&ns, "app-creds", "password").as_deref(),
        Some("old-planted-pass-1")
    );
    assert_eq!(
        secret_value(&ns, "app-creds-ro", "password").as_deref(),
        Some("old-planted-pass-2")
    );
    assert_no_leak(
        &ns,
        &[
            "old-planted-pass-1",
            "old-planted-pass-2",
            "new-planted-pass",
        ],
        &[&op.proc],
    );
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn a_secret_switch_keeps_the_previous_value_in_the_rollback_secret_and_restores_it() {
    let Stage {
        ns, sim: _sim, op, ..
    } = stage("cut-secret", Sim::start(&[]), json!({}));
    secret(&ns, "app-creds", "password", "old-planted-pass-3");
    secret(&ns, "new-creds", "password", "new-planted-pass-3");
    grant(
        &ns,
        "switch-secret",
        json!([
            rule(
                "secrets",
                &["app-creds", "creds-rollback"],
                &["get", "patch"]
            ),
            rule("secrets", &["new-creds"], &["get"]),
            rule("secrets", &[], &["create"]),
        ]),
    );
    apply_cutover(
        &ns,
        "creds",
        json!({"switch": [{"secretKey": {"name": "app-creds", "key": "password",
                                          "valueFrom": {"name": "new-creds", "key": "password"}}}]}),
    );
    let c = wait_phase(&ns, "creds", "Completed", T);
    let saved = at(&c, "status.saved").as_array().unwrap()[0].clone();
    assert_eq!(
        saved["storedIn"], "Secret/creds-rollback#target-0",
        "{saved}"
    );
    assert!(
        saved.get("value").is_none() && saved["setDigest"] == "",
        "{saved}"
    );
    assert_eq!(
        secret_value(&ns, "app-creds", "password").as_deref(),
        Some("new-planted-pass-3")
    );
    assert_eq!(
        secret_value(&ns, "creds-rollback", "target-0").as_deref(),
        Some("old-planted-pass-3")
    );
    ns.kubectl.ok(&[
        "patch",
        "cutover/creds",
        "--type=merge",
        "-p",
        &json!({"spec": {"rollback": true}}).to_string(),
    ]);
    wait_phase(&ns, "creds", "RolledBack", Duration::from_secs(60));
    assert_eq!(
        secret_value(&ns, "app-creds", "password").as_deref(),
        Some("old-planted-pass-3")
    );
    assert_no_leak(
        &ns,
        &["old-planted-pass-3", "new-planted-pass-3"],
        &[&op.proc],
    );
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn a_value_that_cannot_be_read_mid_switch_stops_the_switch_and_undoes_it() {
    let Stage {
        ns, sim, op: _op, ..
    } = stage("cut-revoked", Sim::start(&[]), json!({}));
    config_map(&ns, "app-db", json!({"DSN": SOURCE_DSN}));
    config_map(&ns, "app-flags", json!({"ENGINE": "polardb"}));
    // Stopping replication takes a while (three refusals, retried with backoff: about 7 s), long
    // enough to take a permission away. A refused call is logged at once, a slowed one only
    // when it is answered.
    hold_the_stop(&sim);
    apply_cutover(
        &ns,
        "revoked",
        json!({"switch": [dsn_target("app-db"),
                          {"configMapKey": {"name": "app-flags", "key": "ENGINE", "value": "maxcompute"}}]}),
    );
    wait_for("StopDtsJob sent", T, || {
        (stop_calls(&sim) > 0).then_some(())
    });
    revoke(&ns, "cm-app-flags");
    let c = wait_obj(
        &ns.kubectl,
        "cutover/revoked",
        "a defined end",
        Duration::from_secs(90),
        |o| matches!(phase(o), "Failed" | "Paused" | "Completed"),
    );
    assert_eq!(phase(&c), "Failed", "{}", at(&c, "status"));
    let saved = at(&c, "status.saved")
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        !saved
            .iter()
            .any(|s| s["target"] == "ConfigMap/app-flags/ENGINE" && s["existed"] == false),
        "an unreadable value was recorded as absent: {saved:?}"
    );
    let s = step(&c, "switch/ConfigMap/app-flags/ENGINE").unwrap();
    assert_eq!(s["state"], "Failed", "{s}");
    // What was switched is undone; what could not be read is untouched.
    assert_eq!(data_of(&ns, "app-db")["DSN"], SOURCE_DSN);
    assert_eq!(
        at(&c, "status.rollback.restored"),
        &json!(["ConfigMap/app-db/DSN"])
    );
    grant(
        &ns,
        "cm-app-flags",
        json!([rule("configmaps", &["app-flags"], &["get", "patch"])]),
    );
    assert_eq!(data_of(&ns, "app-flags")["ENGINE"], "polardb");
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn an_empty_previous_value_is_restored_exactly() {
    let Stage {
        ns,
        sim: _sim,
        op: _op,
        ..
    } = stage("cut-empty", Sim::start(&[]), json!({}));
    config_map(&ns, "app-db", json!({"DSN": SOURCE_DSN, "OPTIONS": ""}));
    apply_cutover(
        &ns,
        "empty",
        json!({"switch": [dsn_target("app-db"),
                          {"configMapKey": {"name": "app-db", "key": "OPTIONS", "value": "tunnel=on"}}]}),
    );
    let c = wait_phase(&ns, "empty", "Completed", T);
    let saved = at(&c, "status.saved").as_array().unwrap().clone();
    let options = saved
        .iter()
        .find(|s| s["target"] == "ConfigMap/app-db/OPTIONS")
        .unwrap();
    assert_eq!(options["value"], "", "{options}");
    assert_eq!(data_of(&ns, "app-db")["OPTIONS"], "tunnel=on");
    ns.kubectl.ok(&[
        "patch",
        "cutover/empty",
        "--type=merge",
        "-p",
        &json!({"spec": {"rollback": true}}).to_string(),
    ]);
    wait_phase(&ns, "empty", "RolledBack", Duration::from_secs(60));
    let data = data_of(&ns, "app-db");
    assert_eq!(data["OPTIONS"], "", "{data}");
    assert_eq!(data["DSN"], SOURCE_DSN);
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn a_rejected_patch_fails_the_switch_and_rolls_back_or_pauses() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "cut-422");
    let sim = Sim::start(&[]);
    let _op = Operator::start(cluster, &ns.name, &sim, &[]);
    replicating_orders(&ns, json!({}));
    for n in ["a", "b"] {
        config_map(&ns, &format!("app-db-{n}"), json!({"DSN": SOURCE_DSN}));
        ns.kubectl.apply(
            &json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": format!("db-{n}")},
                    "spec": {"type": "ExternalName", "externalName": "pc-old.polardb.example.com"}})
            .to_string(),
        );
    }
    grant(
        &ns,
        "services",
        json!([rule("services", &["db-a", "db-b"], &["get", "patch"])]),
    );
    let switch = |n: &str| {
        json!([dsn_target(&format!("app-db-{n}")),
               {"service": {"name": format!("db-{n}"), "externalName": "Not_A_Host!"}}])
    };
    apply_cutover(
        &ns,
        "rejected",
        json!({"stopReplication": false, "switch": switch("a")}),
    );
    let c = wait_obj(
        &ns.kubectl,
        "cutover/rejected",
        "a defined end",
        Duration::from_secs(120),
        |o| matches!(phase(o), "Failed" | "Paused" | "Completed"),
    );
    assert_eq!(phase(&c), "Failed", "{}", at(&c, "status"));
    let s = step(&c, "switch/Service/db-a").unwrap();
    assert_eq!(s["state"], "Failed");
    assert!(s["message"].as_str().unwrap().contains("422"), "{s}");
    assert_eq!(
        step(&c, "switch/ConfigMap/app-db-a/DSN").unwrap()["state"],
        "RolledBack"
    );
    assert_eq!(data_of(&ns, "app-db-a")["DSN"], SOURCE_DSN);
    let ready = condition(&c, "Ready").unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(ready.contains("ConfigMap/app-db-a/DSN"), "{ready}");

    // onSwitchFailure: Pause leaves what was switched for a human to decide.
    apply_cutover(
        &ns,
        "paused",
        json!({"stopReplication": false, "onSwitchFailure": "Pause", "switch": switch("b")}),
    );
    let c = wait_phase(&ns, "paused", "Paused", Duration::from_secs(120));
    assert_eq!(data_of(&ns, "app-db-b")["DSN"], TARGET_DSN);
    assert!(
        at(&c, "status.reason")
            .as_str()
            .unwrap()
            .contains("switch/Service/db-b")
    );
    ns.kubectl.ok(&[
        "patch",
        "cutover/paused",
        "--type=merge",
        "-p",
        &json!({"spec": {"rollback": true}}).to_string(),
    ]);
    wait_phase(&ns, "paused", "RolledBack", Duration::from_secs(60));
    assert_eq!(data_of(&ns, "app-db-b")["DSN"], SOURCE_DSN);
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn a_patch_the_server_does_not_keep_fails_once_without_a_hot_loop() {
    let Stage {
        ns,
        sim: _sim,
        op: _op,
        ..
    } = stage("cut-unkept", Sim::start(&[]), json!({}));
    config_map(&ns, "app-db", json!({"DSN": SOURCE_DSN}));
    config_map(&ns, "app-extra", json!({"k": "old"}));
    apply_cutover(
        &ns,
        "unkept",
        json!({"stopReplication": false, "switch": [
            dsn_target("app-db"),
            {"mergePatch": {"apiVersion": "v1", "kind": "ConfigMap", "name": "app-extra",
                            "patch": r#"{"data":{"k":"new"},"notAField":"x"}"#}}]}),
    );
    let c = wait_obj(
        &ns.kubectl,
        "cutover/unkept",
        "a defined end",
        Duration::from_secs(120),
        |o| matches!(phase(o), "Failed" | "Paused" | "Completed"),
    );
    assert_eq!(phase(&c), "Failed", "{}", at(&c, "status"));
    let s = step(&c, "switch/v1/ConfigMap/app-extra").unwrap();
    assert!(s["message"].as_str().unwrap().contains("notAField"), "{s}");
    assert_eq!(data_of(&ns, "app-extra")["k"], "old");
    assert_eq!(data_of(&ns, "app-db")["DSN"], SOURCE_DSN);
    // A handful of events, not hundreds.
    std::thread::sleep(Duration::from_secs(5));
    let events: i64 = events_of(&ns, "unkept").iter().map(|e| e.2).sum();
    assert!(
        events < 30,
        "{events} events: {:?}",
        events_of(&ns, "unkept")
    );
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn a_spec_edit_after_switching_started_is_refused_and_the_frozen_plan_runs() {
    let Stage {
        ns, sim, op: _op, ..
    } = stage("cut-frozen", Sim::start(&[]), json!({}));
    config_map(&ns, "app-db", json!({"DSN": SOURCE_DSN}));
    hold_the_stop(&sim);
    apply_cutover(&ns, "frozen", json!({"switch": [dsn_target("app-db")]}));
    wait_for("StopDtsJob sent", T, || {
        (stop_calls(&sim) > 0).then_some(())
    });
    // A server without CEL would take any edit; this one is not covered by a CEL rule.
    ns.kubectl.ok(&[
        "patch",
        "cutover/frozen",
        "--type=merge",
        "-p",
        &json!({"spec": {"stopReplication": false}}).to_string(),
    ]);
    let c = wait_obj(&ns.kubectl, "cutover/frozen", "the edit refused", T, |o| {
        has_condition(o, "SpecAccepted", "False") || phase(o) == "Completed"
    });
    let refused = condition(&c, "SpecAccepted").cloned().unwrap_or_default();
    assert_eq!(refused["status"], "False", "{}", at(&c, "status"));
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("stopReplication"),
        "{refused}"
    );
    let c = wait_phase(&ns, "frozen", "Completed", T);
    assert_eq!(
        step(&c, "stop-replication/orders").unwrap()["state"],
        "Succeeded"
    );
    assert_eq!(at(&c, "status.plan.stopReplication"), true);
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn every_step_has_its_own_event() {
    let Stage {
        ns,
        sim: _sim,
        op: _op,
        ..
    } = stage("cut-events", Sim::start(&[]), json!({}));
    config_map(&ns, "app-db", json!({"DSN": SOURCE_DSN}));
    apply_cutover(
        &ns,
        "events",
        json!({"switch": [dsn_target("app-db"),
                          {"configMapKey": {"name": "app-db", "key": "ENGINE", "value": "maxcompute"}}]}),
    );
    wait_phase(&ns, "events", "Completed", T);
    let switched: Vec<(String, String, i64)> = events_of(&ns, "events")
        .into_iter()
        .filter(|e| e.0 == "Switched")
        .collect();
    assert_eq!(switched.len(), 2, "{switched:?}");
    assert!(switched.iter().all(|e| e.2 == 1), "{switched:?}");
    assert!(
        switched
            .iter()
            .any(|e| e.1.contains("ConfigMap/app-db/DSN"))
    );
    assert!(
        switched
            .iter()
            .any(|e| e.1.contains("ConfigMap/app-db/ENGINE"))
    );
    let described = ns.kubectl.ok(&["describe", "cutover/events"]);
    assert!(
        described.contains("ConfigMap/app-db/DSN") && described.contains("ConfigMap/app-db/ENGINE"),
        "{described}"
    );
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn an_abort_after_completion_is_refused_in_a_condition() {
    let Stage {
        ns,
        sim: _sim,
        op: _op,
        ..
    } = stage("cut-lateabort", Sim::start(&[]), json!({}));
    config_map(&ns, "app-db", json!({"DSN": SOURCE_DSN}));
    apply_cutover(&ns, "late", json!({"switch": [dsn_target("app-db")]}));
    wait_phase(&ns, "late", "Completed", T);
    ns.kubectl.ok(&[
        "patch",
        "cutover/late",
        "--type=merge",
        "-p",
        &json!({"spec": {"abort": true}}).to_string(),
    ]);
    let c = wait_obj(
        &ns.kubectl,
        "cutover/late",
        "the refused abort",
        Duration::from_secs(60),
        |o| condition(o, "AbortRefused").is_some(),
    );
    let refused = condition(&c, "AbortRefused").unwrap();
    assert_eq!(refused["status"], "True");
    assert!(
        refused["message"].as_str().unwrap().contains("rollback"),
        "{refused}"
    );
    assert_eq!(phase(&c), "Completed");
    assert_eq!(data_of(&ns, "app-db")["DSN"], TARGET_DSN);
}
