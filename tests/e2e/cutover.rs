//! Cutover end to end: gates on real DtsMigration/MmsJob status, replication stop in the
//! simulator, ConfigMap switch, rollback, abort and dry run, with least-privilege RBAC.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::cutover::{data_of, grant, phase, recent_backup, rule};
use crate::support::*;

const T: Duration = Duration::from_secs(180);

fn setup(ns: &Namespace, with_mms: bool) {
    dts_secrets(ns, "cutover-db-pass");
    apply_dts_migration(ns, "orders", json!({"objects": [{"name": "shop"}]}));
    if with_mms {
        ns.kubectl.apply(
            &object(
                "DataSource",
                "hive",
                json!({"region": "cn-hangzhou", "name": "hive-prod", "scan": {"onCreate": true}}),
            )
            .to_string(),
        );
        apply_mms_job(ns, "history", json!({"tables": ["orders"]}));
    }
    ns.kubectl.apply(
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app-db"},
                "data": {"DSN": "mysql://pc-bp1simdemo0polardb:3306/shop?tls=true", "POOL": "20"}})
        .to_string(),
    );
    // The operator may patch only what the Cutover names (docs/rbac.md).
    grant(
        ns,
        "cutover-targets",
        json!([rule("configmaps", &["app-db"], &["get", "patch"])]),
    );
}

/// Applies the Cutover `name` of `migrations` (a list); the members of `gates` are added to its
/// gates and those of `extra` to its spec.
fn cutover(ns: &Namespace, name: &str, migrations: Value, gates: Value, extra: Value) {
    let gates = with_members(
        json!({"maxLagSeconds": 5, "stableForSeconds": 10, "minSamples": 3, "maxSampleAgeSeconds": 30,
               "backup": recent_backup()}),
        gates,
    );
    let spec = json!({
        "migrations": migrations,
        "gates": gates,
        "switch": [{"configMapKey": {"name": "app-db", "key": "DSN", "value": "maxcompute://sales_dw"}},
                   {"configMapKey": {"name": "app-db", "key": "ENGINE", "value": "maxcompute"}}],
    });
    ns.kubectl
        .apply(&object("Cutover", name, with_members(spec, extra)).to_string());
}

/// The DtsMigration `orders` alone.
fn dts() -> Value {
    json!([{"kind": "DtsMigration", "name": "orders"}])
}

/// The DtsMigration `orders` and the MmsJob `history`.
fn both() -> Value {
    json!([{"kind": "DtsMigration", "name": "orders"}, {"kind": "MmsJob", "name": "history"}])
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn a_full_cutover_completes_and_rolls_back_to_the_exact_previous_values() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "cut-full");
    let sim = Sim::start(&[]);
    setup(&ns, true);
    let op = Operator::start(cluster, &ns.name, &sim, &[]);
    cutover(&ns, "switch", both(), json!({}), json!({}));
    ns.kubectl.wait_condition("cutover/switch", "Ready", 300);
    let c = ns.kubectl.get_json("cutover/switch").unwrap();
    assert_eq!(phase(&c), "Completed");
    let data = data_of(&ns, "app-db");
    assert_eq!(data["DSN"], "maxcompute://sales_dw");
    assert_eq!(data["ENGINE"], "maxcompute");
    assert_eq!(data["POOL"], "20", "other keys are untouched");

    // The go/no-go report names each criterion, measured or attested.
    let gates = at(&c, "status.gates").as_array().unwrap().clone();
    let gate = |n: &str| {
        gates
            .iter()
            .find(|g| g["name"] == n)
            .unwrap_or_else(|| panic!("gate {n}"))
            .clone()
    };
    assert_eq!(gate("lag/orders")["evidence"], "Measured");
    assert_eq!(gate("verification/history")["evidence"], "Measured");
    assert_eq!(gate("backup")["evidence"], "Attested");
    assert!(gates.iter().all(|g| g["passed"] == true));
    // Steps in order, replication stopped before the switch, and the DTS task finished for good.
    let steps: Vec<String> = at(&c, "status.steps")
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(steps[0], "final-check");
    assert_eq!(steps[1], "stop-replication/orders");
    assert!(steps[2].starts_with("switch/ConfigMap/app-db/DSN"));
    assert_eq!(steps.last().unwrap(), "complete");
    assert_eq!(block_on(sim.admin.succeeded("StopDtsJob")).unwrap(), 1);
    wait_obj(&ns.kubectl, "dtsmigration/orders", "Stopped", T, |o| {
        phase(o) == "Stopped"
    });
    let saved = at(&c, "status.saved").as_array().unwrap().clone();
    assert_eq!(
        saved[0]["value"],
        "mysql://pc-bp1simdemo0polardb:3306/shop?tls=true"
    );
    assert_eq!(saved[1]["existed"], false);

    // Rollback restores the exact previous values and removes what did not exist.
    ns.kubectl.ok(&[
        "annotate",
        "cutover/switch",
        "migration.aliyun-operator.dev/rollback-requested-at=now",
    ]);
    let c = wait_obj(&ns.kubectl, "cutover/switch", "RolledBack", T, |o| {
        phase(o) == "RolledBack"
    });
    let data = data_of(&ns, "app-db");
    assert_eq!(
        data["DSN"],
        "mysql://pc-bp1simdemo0polardb:3306/shop?tls=true"
    );
    assert!(data.get("ENGINE").is_none(), "{data}");
    assert_eq!(
        at(&c, "status.rollback.restored").as_array().unwrap().len(),
        2
    );
    assert!(
        at(&c, "status.rollback.notes").as_array().unwrap()[0]
            .as_str()
            .unwrap()
            .contains("cannot be restarted")
    );
    assert_no_leak(
        &ns,
        &[SIM_ACCESS_KEY_SECRET, "cutover-db-pass"],
        &[&op.proc],
    );
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn lag_spikes_reset_the_window_and_approval_and_window_waits_are_visible() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "cut-gates");
    let sim = Sim::start(&[]);
    setup(&ns, false);
    let _op = Operator::start(cluster, &ns.name, &sim, &[]);
    ns.kubectl
        .wait_condition("dtsmigration/orders", "LagWithinThreshold", 240);
    let id = at(
        &ns.kubectl.get_json("dtsmigration/orders").unwrap(),
        "status.dtsJobId",
    )
    .as_str()
    .unwrap()
    .to_string();
    // Hold lag high before the cutover starts: the lag gate cannot pass.
    block_on(sim.admin.set_lag(&id, 30.0)).unwrap();
    cutover(
        &ns,
        "gated",
        dts(),
        json!({"requireVerification": false, "requireApproval": true}),
        json!({}),
    );
    let c = wait_obj(&ns.kubectl, "cutover/gated", "lag at 30s", T, |o| {
        at(o, "status.gates").as_array().is_some_and(|g| {
            g.iter().any(|g| {
                g["name"] == "lag/orders"
                    && g["observed"].as_str().unwrap_or("").contains("at or above")
            })
        })
    });
    assert_eq!(phase(&c), "Gating");
    let spike_seen = jiff::Timestamp::now();
    block_on(sim.admin.clear_lag(&id)).unwrap();
    // After the spike the stable window starts again: approval is awaited only after it.
    let c = wait_obj(&ns.kubectl, "cutover/gated", "AwaitingApproval", T, |o| {
        phase(o) == "AwaitingApproval"
    });
    let lag_gate = at(&c, "status.gates")
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "lag/orders")
        .unwrap()
        .clone();
    let since: jiff::Timestamp = lag_gate["since"].as_str().unwrap().parse().unwrap();
    assert!(
        since
            >= spike_seen
                .checked_sub(jiff::SignedDuration::from_secs(5))
                .unwrap(),
        "the window restarted after the spike ({since})"
    );
    assert!(
        block_on(sim.admin.requests_for("StopDtsJob"))
            .unwrap()
            .is_empty(),
        "nothing happens before approval"
    );

    // A window that opens in two hours: approved but WaitingForWindow.
    let later = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_hours(2))
        .unwrap();
    let start = later.strftime("%H:%M").to_string();
    ns.kubectl.ok(&[
        "patch",
        "cutover/gated",
        "--type=merge",
        "-p",
        &json!({"spec": {"gates": {"window": {"start": start, "durationMinutes": 30, "timeZone": "UTC"}}}})
            .to_string(),
    ]);
    ns.kubectl.ok(&[
        "annotate",
        "cutover/gated",
        "migration.aliyun-operator.dev/approved-by=release-manager@example.com",
    ]);
    let c = wait_obj(&ns.kubectl, "cutover/gated", "WaitingForWindow", T, |o| {
        phase(o) == "WaitingForWindow"
    });
    assert_eq!(
        at(&c, "status.approval.approvedBy"),
        "release-manager@example.com"
    );
    assert!(
        condition(&c, "Ready").unwrap()["message"]
            .as_str()
            .unwrap()
            .contains("opens at")
    );
    // Open the window now.
    let earlier = jiff::Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_mins(1))
        .unwrap();
    let start = earlier.strftime("%H:%M").to_string();
    ns.kubectl.ok(&[
        "patch",
        "cutover/gated",
        "--type=merge",
        "-p",
        &json!({"spec": {"gates": {"window": {"start": start, "durationMinutes": 60, "timeZone": "UTC"}}}})
            .to_string(),
    ]);
    ns.kubectl.wait_condition("cutover/gated", "Ready", 180);
    assert_eq!(data_of(&ns, "app-db")["DSN"], "maxcompute://sales_dw");
}

#[test]
#[ignore = "needs the local kube-apiserver: run hack/test.sh"]
fn abort_before_the_switch_and_dry_run_change_nothing() {
    let cluster = cluster();
    let ns = Namespace::create(cluster, "cut-noop");
    let sim = Sim::start(&[]);
    setup(&ns, false);
    let _op = Operator::start(cluster, &ns.name, &sim, &[]);
    cutover(
        &ns,
        "rehearsal",
        dts(),
        json!({"requireVerification": false}),
        json!({"dryRun": true}),
    );
    cutover(
        &ns,
        "cancelled",
        dts(),
        json!({"requireVerification": false, "requireApproval": true}),
        json!({}),
    );

    let c = wait_obj(
        &ns.kubectl,
        "cutover/rehearsal",
        "dry run would switch",
        Duration::from_secs(300),
        |o| {
            phase(o) == "DryRun"
                && condition(o, "Ready").is_some_and(|c| {
                    c["message"]
                        .as_str()
                        .unwrap_or("")
                        .contains("would switch now")
                })
        },
    );
    assert!(
        at(&c, "status.steps")
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["state"] == "Planned")
    );
    wait_obj(
        &ns.kubectl,
        "cutover/cancelled",
        "AwaitingApproval",
        T,
        |o| phase(o) == "AwaitingApproval",
    );
    ns.kubectl.ok(&[
        "patch",
        "cutover/cancelled",
        "--type=merge",
        "-p",
        &json!({"spec": {"abort": true}}).to_string(),
    ]);
    let c = wait_obj(&ns.kubectl, "cutover/cancelled", "Aborted", T, |o| {
        phase(o) == "Aborted"
    });
    assert!(at(&c, "status.saved").is_null());
    // Neither touched anything: the app still points at the source, replication still runs.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        data_of(&ns, "app-db")["DSN"],
        "mysql://pc-bp1simdemo0polardb:3306/shop?tls=true"
    );
    assert!(data_of(&ns, "app-db").get("ENGINE").is_none());
    assert!(
        block_on(sim.admin.requests_for("StopDtsJob"))
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        phase(&ns.kubectl.get_json("dtsmigration/orders").unwrap()),
        "Replicating"
    );
    assert_eq!(
        phase(&ns.kubectl.get_json("cutover/rehearsal").unwrap()),
        "DryRun"
    );
}
