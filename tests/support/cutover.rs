//! Helpers of the Cutover end-to-end tests: a replicating DtsMigration, switch targets with the
//! RBAC the operator needs for them, and Cutovers built from a short default spec.

use std::time::Duration;

use serde_json::{Value, json};

use super::*;

pub const T: Duration = Duration::from_secs(180);
/// The source DSN the application starts with.
pub const SOURCE_DSN: &str = "mysql://pc-bp1simdemo0polardb:3306/shop?tls=true";
pub const TARGET_DSN: &str = "maxcompute://sales_dw";

/// Secrets and a replicating PolarDB → MaxCompute DtsMigration `orders`; returns its DTS job id.
/// The members of `extra` are added to the DtsMigration spec.
pub fn replicating_orders(ns: &Namespace, extra: Value) -> String {
    dts_secrets(ns, "cutover-db-pass");
    apply_dts_migration(
        ns,
        "orders",
        with_members(json!({"objects": [{"name": "shop"}]}), extra),
    );
    ns.kubectl
        .wait_condition("dtsmigration/orders", "Replicating", 180);
    dts_job_id(ns, "orders", T)
}

/// A Role named `name` with `rules`, bound to the operator's ServiceAccount.
pub fn grant(ns: &Namespace, name: &str, rules: Value) {
    ns.kubectl.apply(
        &json!({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": name},
             "rules": rules},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": name},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
             "subjects": [{"kind": "ServiceAccount", "name": "aliyun-migration-operator", "namespace": "amo-system"}]}
        ]})
        .to_string(),
    );
}

/// Takes back what [`grant`] gave.
pub fn revoke(ns: &Namespace, name: &str) {
    ns.kubectl.ok(&["delete", "role", name]);
    ns.kubectl.ok(&["delete", "rolebinding", name]);
}

/// A rule allowing `verbs` on the named objects of a core-group resource.
pub fn rule(resource: &str, names: &[&str], verbs: &[&str]) -> Value {
    let mut r = json!({"apiGroups": [""], "resources": [resource], "verbs": verbs});
    if !names.is_empty() {
        r["resourceNames"] = json!(names);
    }
    r
}

/// The ConfigMap `name` with `data`, and a Role `cm-<name>` to read and patch it.
pub fn config_map(ns: &Namespace, name: &str, data: Value) {
    ns.kubectl.apply(
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data})
            .to_string(),
    );
    grant(
        ns,
        &format!("cm-{name}"),
        json!([rule("configmaps", &[name], &["get", "patch"])]),
    );
}

pub fn data_of(ns: &Namespace, config_map: &str) -> Value {
    ns.kubectl
        .get_json(&format!("configmap/{config_map}"))
        .unwrap()["data"]
        .clone()
}

/// A switch of the `DSN` of the ConfigMap `app-db` to the target.
pub fn switch_dsn() -> Value {
    json!([{"configMapKey": {"name": "app-db", "key": "DSN", "value": TARGET_DSN}}])
}

/// An attestation of a backup verified an hour ago.
pub fn recent_backup() -> Value {
    let at = jiff::Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_hours(1))
        .unwrap();
    json!({"verifiedBy": "dba@example.com", "verifiedAt": at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
           "evidence": "backup 7731 restored and checked"})
}

/// Merges `patch` into `base` (objects recursively; anything else replaces).
pub fn merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                merge(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, p) => *b = p,
    }
}

/// Applies the Cutover `name`: DtsMigration `orders`, a short stable window, a recent backup,
/// no verification, with `spec` merged over that.
pub fn apply_cutover(ns: &Namespace, name: &str, spec: Value) {
    let mut full = json!({
        "migrations": [{"kind": "DtsMigration", "name": "orders"}],
        "gates": {"maxLagSeconds": 5, "stableForSeconds": 5, "minSamples": 3, "maxSampleAgeSeconds": 30,
                  "requireVerification": false, "backup": recent_backup()},
    });
    merge(&mut full, spec);
    ns.kubectl.apply(
        &json!({"apiVersion": "migration.aliyun-operator.dev/v1alpha1", "kind": "Cutover",
                "metadata": {"name": name}, "spec": full})
        .to_string(),
    );
}

pub fn phase(o: &Value) -> &str {
    at(o, "status.phase").as_str().unwrap_or_default()
}

/// The gate `name` of a Cutover.
pub fn gate(c: &Value, name: &str) -> Option<Value> {
    at(c, "status.gates")
        .as_array()?
        .iter()
        .find(|g| g["name"] == name)
        .cloned()
}

/// The step `name` of a Cutover.
pub fn step(c: &Value, name: &str) -> Option<Value> {
    at(c, "status.steps")
        .as_array()?
        .iter()
        .find(|s| s["name"] == name)
        .cloned()
}

/// Waits for the Cutover to reach `phase`.
pub fn wait_phase(ns: &Namespace, name: &str, want: &str, timeout: Duration) -> Value {
    wait_obj(
        &ns.kubectl,
        &format!("cutover/{name}"),
        &format!("phase {want}"),
        timeout,
        |o| phase(o) == want,
    )
}

/// Events about the Cutover `name` (events.k8s.io), each as (reason, note, count).
pub fn events_of(ns: &Namespace, name: &str) -> Vec<(String, String, i64)> {
    let list: Value =
        serde_json::from_str(
            &ns.kubectl
                .ok(&["get", "events.events.k8s.io", "-o", "json"]),
        )
        .unwrap();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["regarding"]["kind"] == "Cutover" && e["regarding"]["name"] == name)
        .map(|e| {
            (
                e["reason"].as_str().unwrap_or_default().to_string(),
                e["note"].as_str().unwrap_or_default().to_string(),
                e["series"]["count"].as_i64().unwrap_or(1),
            )
        })
        .collect()
}

/// How many StopDtsJob calls reached the simulator.
pub fn stop_calls(sim: &Sim) -> usize {
    block_on(sim.admin.requests_for("StopDtsJob"))
        .unwrap()
        .len()
}

/// A test's namespace with the simulator and the operator running, and `orders` replicating.
pub struct Stage {
    pub ns: Namespace,
    pub sim: Sim,
    pub op: Operator,
    /// The DTS job of `orders`.
    pub job: String,
}

/// Starts the operator for a new namespace named after `prefix` against `sim`, and a replicating
/// DtsMigration `orders` (`dts_extra` as in [`replicating_orders`]).
pub fn stage(prefix: &str, sim: Sim, dts_extra: Value) -> Stage {
    let cluster = cluster();
    let ns = Namespace::create(cluster, prefix);
    let op = Operator::start(cluster, &ns.name, &sim, &[]);
    let job = replicating_orders(&ns, dts_extra);
    Stage { ns, sim, op, job }
}
