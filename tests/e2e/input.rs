//! Bounded input: the API server refuses what the cloud API would refuse (or should never
//! receive), and fields the schema does not know are reported, not silently dropped.

use std::time::Duration;

use serde_json::json;

use crate::support::*;

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn oversized_strings_and_lists_are_refused_by_the_api_server() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "bounds");
    let huge = "t".repeat(200_000);
    let cases = [
        (
            "objects[].tables[].targetName",
            json!({"objects": [{"name": "shop", "tables": [{"name": "orders", "targetName": huge}]}]}),
        ),
        (
            "objects[].targetName",
            json!({"objects": [{"name": "shop", "targetName": "d".repeat(300)}]}),
        ),
        (
            "source.oracleSid",
            json!({"objects": [{"name": "shop"}],
                   "source": {"instanceType": "ECS", "host": "h", "oracleSid": "s".repeat(300)}}),
        ),
        (
            "reserve keys",
            json!({"objects": [{"name": "shop"}], "reserve": {"k".repeat(300): "1"}}),
        ),
    ];
    for (what, members) in cases {
        // The case's members come after the base ones (its `source` replaces the base's).
        let spec = with_members(
            json!({"region": "cn-hangzhou", "migrationTypes": ["Full"],
                   "source": {"instanceType": "RDS", "instanceId": "rm-1"},
                   "destination": {"instanceType": "RDS", "instanceId": "rm-2"}}),
            members,
        );
        let manifest = object("DtsMigration", "big", spec).to_string();
        let out = ns
            .kubectl
            .run_with_stdin(&["apply", "-f", "-"], Some(&manifest));
        assert!(!out.status.success(), "{what}: accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("Too long") || err.contains("at most"),
            "{what}: {}",
            &err[..err.len().min(400)]
        );
    }
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn unknown_fields_are_reported() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "unknown");
    let sim = Sim::start(&[]);
    cloud_secret(&ns);
    let _op = Operator::start(cluster, &ns.name, &sim, &[]);
    let manifest = &object(
        "MmsJob",
        "typo",
        json!({"dataSourceRef": {"name": "hive"}, "srcDbName": "sales", "tabels": ["orders"]}),
    )
    .to_string();

    // The API server itself: kubectl refuses by default, warns when asked to.
    let strict = ns
        .kubectl
        .run_with_stdin(&["apply", "-f", "-"], Some(manifest));
    assert!(!strict.status.success());
    assert!(
        String::from_utf8_lossy(&strict.stderr).contains(r#"unknown field "spec.tabels""#),
        "{}",
        String::from_utf8_lossy(&strict.stderr)
    );
    let warned = ns
        .kubectl
        .run_with_stdin(&["apply", "--validate=warn", "-f", "-"], Some(manifest));
    assert!(warned.status.success());
    assert!(String::from_utf8_lossy(&warned.stderr).contains("spec.tabels"));

    // A client that skips validation (or a server that prunes silently): the operator says so.
    ns.kubectl.ok(&["delete", "mmsjob/typo"]);
    let silent = ns
        .kubectl
        .run_with_stdin(&["apply", "--validate=false", "-f", "-"], Some(manifest));
    assert!(silent.status.success());
    let obj = wait_obj(
        &ns.kubectl,
        "mmsjob/typo",
        "the dropped field reported",
        Duration::from_secs(60),
        |o| {
            condition(o, "SpecWarnings")
                .is_some_and(|c| c["message"].as_str().unwrap_or("").contains("spec.tabels"))
        },
    );
    let events = ns
        .kubectl
        .ok(&["get", "events.events.k8s.io", "-o", "yaml"]);
    assert!(events.contains("spec.tabels"), "{events}");
    let _ = obj;
}
