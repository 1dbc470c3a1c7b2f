//! The CRDs' CEL rules, evaluated offline with kube's `cel` feature: fast unit checks of every
//! rule. The real API server (kube-apiserver 1.37 in the e2e tests, `tests/e2e/crds.rs`) enforces the
//! same rules and their cost budget; the operator checks them too (`validate`).

use aliyun_migration_operator::api::validation::{check, schema_of};
use aliyun_migration_operator::api::{Cutover, DataSource, DtsMigration, MmsJob};
use kube::CustomResourceExt;
use kube::core::cel::{ScopeContext, WarningKind, analyze_rule, compile_schema};
use serde_json::{Value, json};

fn obj(kind: &str, spec: Value) -> Value {
    json!({
        "apiVersion": "migration.aliyun-operator.dev/v1alpha1",
        "kind": kind,
        "metadata": {"name": "x", "namespace": "ns"},
        "spec": spec,
    })
}

fn with_status(mut o: Value, status: Value) -> Value {
    o["status"] = status;
    o
}

fn rejected_with<K: CustomResourceExt>(o: &Value, old: Option<&Value>, needle: &str) {
    match check::<K>(o, old) {
        Ok(()) => panic!("accepted, expected rejection mentioning {needle:?}: {o}"),
        Err(errors) => assert!(
            errors.iter().any(|e| e.contains(needle)),
            "errors {errors:?} do not mention {needle:?}"
        ),
    }
}

fn accepted<K: CustomResourceExt>(o: &Value, old: Option<&Value>) {
    if let Err(errors) = check::<K>(o, old) {
        panic!("rejected {o}: {errors:?}");
    }
}

// ---------- DataSource ----------

fn data_source(spec: Value) -> Value {
    obj("DataSource", spec)
}

#[test]
fn data_source_needs_a_name_or_an_id() {
    accepted::<DataSource>(
        &data_source(json!({"region": "cn-hangzhou", "name": "hive-prod"})),
        None,
    );
    accepted::<DataSource>(
        &data_source(json!({"region": "cn-hangzhou", "sourceId": 7})),
        None,
    );
    rejected_with::<DataSource>(
        &data_source(json!({"region": "cn-hangzhou"})),
        None,
        "set spec.name",
    );
}

#[test]
fn data_source_identity_is_frozen_once_resolved() {
    let old = with_status(
        data_source(json!({"region": "cn-hangzhou", "name": "hive-prod"})),
        json!({"sourceId": 42}),
    );
    let renamed = with_status(
        data_source(json!({"region": "cn-hangzhou", "name": "hive-other"})),
        json!({"sourceId": 42}),
    );
    rejected_with::<DataSource>(
        &renamed,
        Some(&old),
        "cannot change once the DataSource is resolved",
    );
    // Pinning the id that was resolved is fine; pinning another one is not.
    let pinned = with_status(
        data_source(json!({"region": "cn-hangzhou", "name": "hive-prod", "sourceId": 42})),
        json!({"sourceId": 42}),
    );
    accepted::<DataSource>(&pinned, Some(&old));
    let other = with_status(
        data_source(json!({"region": "cn-hangzhou", "name": "hive-prod", "sourceId": 43})),
        json!({"sourceId": 42}),
    );
    rejected_with::<DataSource>(&other, Some(&old), "cannot change");
}

#[test]
fn data_source_name_can_be_fixed_or_pinned_before_resolution() {
    // Ambiguous name: the user pins an id; nothing was adopted yet.
    let old = with_status(
        data_source(json!({"region": "cn-hangzhou", "name": "bq-analytics"})),
        json!({"phase": "Ambiguous"}),
    );
    let pinned =
        data_source(json!({"region": "cn-hangzhou", "name": "bq-analytics", "sourceId": 9}));
    accepted::<DataSource>(&pinned, Some(&old));
    let fixed = data_source(json!({"region": "cn-hangzhou", "name": "bq-analytics-eu"}));
    accepted::<DataSource>(&fixed, Some(&old));
}

// ---------- MmsJob ----------

fn mms(extra: Value) -> Value {
    let mut spec = json!({"dataSourceRef": {"name": "hive"}, "srcDbName": "sales"});
    for (k, v) in extra.as_object().unwrap() {
        spec[k] = v.clone();
    }
    obj("MmsJob", spec)
}

#[test]
fn mms_job_granularities_are_accepted() {
    accepted::<MmsJob>(&mms(json!({})), None);
    accepted::<MmsJob>(&mms(json!({"tableBlackList": ["tmp"]})), None);
    accepted::<MmsJob>(&mms(json!({"tables": ["orders", "customers"]})), None);
    accepted::<MmsJob>(
        &mms(json!({"tables": ["events"], "partitionFilters": {"events": "dt >= '2024-01-01'"}})),
        None,
    );
    accepted::<MmsJob>(&mms(json!({"partitions": [1, 2, 3]})), None);
}

#[test]
fn mms_job_contradictions_are_rejected() {
    rejected_with::<MmsJob>(
        &mms(json!({"tables": ["orders"], "tableWhiteList": ["orders"]})),
        None,
        "set one or the other",
    );
    rejected_with::<MmsJob>(
        &mms(json!({"tables": ["orders"], "tableBlackList": ["tmp"]})),
        None,
        "set one or the other",
    );
    rejected_with::<MmsJob>(
        &mms(json!({"tableWhiteList": ["a"], "tableBlackList": ["b"]})),
        None,
        "not both",
    );
    rejected_with::<MmsJob>(
        &mms(json!({"partitions": [1], "tables": ["a"]})),
        None,
        "scope of its own",
    );
    rejected_with::<MmsJob>(
        &mms(json!({"tables": ["a"], "partitionFilters": {"b": "dt > 1"}})),
        None,
        "must be listed in spec.tables",
    );
    rejected_with::<MmsJob>(
        &mms(
            json!({"enableSchemaMigration": false, "enableDataMigration": false, "enableVerification": false}),
        ),
        None,
        "would do nothing",
    );
    rejected_with::<MmsJob>(
        &mms(json!({"enableDataMigration": false})),
        None,
        "needs enableDataMigration",
    );
}

#[test]
fn mms_job_scope_is_frozen_once_the_job_exists() {
    let old = with_status(mms(json!({"tables": ["orders"]})), json!({"jobId": 5}));
    let widened = with_status(
        mms(json!({"tables": ["orders", "customers"]})),
        json!({"jobId": 5}),
    );
    rejected_with::<MmsJob>(
        &widened,
        Some(&old),
        "cannot change once the MMS job exists",
    );
    let dropped = with_status(mms(json!({})), json!({"jobId": 5}));
    rejected_with::<MmsJob>(
        &dropped,
        Some(&old),
        "cannot change once the MMS job exists",
    );
    // Lifecycle fields stay editable.
    let suspended = with_status(
        mms(json!({"tables": ["orders"], "suspend": true, "retryRequestedAt": "now"})),
        json!({"jobId": 5}),
    );
    accepted::<MmsJob>(&suspended, Some(&old));
    // Before the job exists, the scope may still be corrected.
    let before = mms(json!({"tables": ["orders"]}));
    accepted::<MmsJob>(&widened_without_status(), Some(&before));
}

fn widened_without_status() -> Value {
    mms(json!({"tables": ["orders", "customers"]}))
}

// ---------- DtsMigration ----------

fn dts(extra: Value) -> Value {
    let mut spec = json!({
        "region": "cn-hangzhou",
        "source": {"instanceType": "PolarDB", "instanceId": "pc-1", "credentialsSecretRef": {"name": "db"}},
        "destination": {"instanceType": "MaxCompute", "database": "dw", "credentialsSecretRef": {"name": "mc"}},
        "migrationTypes": ["Schema", "Full", "Incremental"],
        "objects": [{"name": "shop"}],
    });
    for (k, v) in extra.as_object().unwrap() {
        spec[k] = v.clone();
    }
    obj("DtsMigration", spec)
}

#[test]
fn dts_migration_main_path_is_accepted() {
    accepted::<DtsMigration>(&dts(json!({})), None);
    accepted::<DtsMigration>(
        &dts(json!({
            "apiGeneration": "MigrationJob",
            "destination": {"instanceType": "RDS", "instanceId": "rm-1", "database": "shop"},
        })),
        None,
    );
}

#[test]
fn dts_migration_contradictions_are_rejected() {
    rejected_with::<DtsMigration>(
        &dts(json!({"apiGeneration": "MigrationJob"})),
        None,
        "does not accept MaxCompute",
    );
    rejected_with::<DtsMigration>(
        &dts(json!({"destination": {"instanceType": "MaxCompute"}})),
        None,
        "must name the MaxCompute project",
    );
    rejected_with::<DtsMigration>(
        &dts(json!({"source": {"instanceType": "RDS"}})),
        None,
        "set instanceId",
    );
}

#[test]
fn precheck_skips_need_the_dts_job_generation() {
    let legacy = json!({
        "apiGeneration": "MigrationJob",
        "destination": {"instanceType": "RDS", "instanceId": "rm-1", "database": "shop"},
    });
    let with = |mut extra: Value, precheck: Value| {
        extra["precheck"] = precheck;
        dts(extra)
    };
    accepted::<DtsMigration>(
        &with(json!({}), json!({"skip": ["CHECK_DEST_TABLE_EMPTY"]})),
        None,
    );
    accepted::<DtsMigration>(&with(legacy.clone(), json!({})), None);
    accepted::<DtsMigration>(&with(legacy.clone(), json!({"skip": []})), None);
    rejected_with::<DtsMigration>(
        &with(legacy, json!({"skip": ["CHECK_DEST_TABLE_EMPTY"]})),
        None,
        "needs apiGeneration DtsJob",
    );
}

#[test]
fn alert_rules_come_in_one_form() {
    accepted::<DtsMigration>(
        &dts(json!({"monitorRules": {"delaySeconds": 20, "onError": true}})),
        None,
    );
    accepted::<DtsMigration>(&dts(json!({"lagMonitorRule": {"delaySeconds": 20}})), None);
    rejected_with::<DtsMigration>(
        &dts(json!({"monitorRules": {"onError": true}, "lagMonitorRule": {"delaySeconds": 20}})),
        None,
        "not both",
    );
}

#[test]
fn dts_migration_configuration_is_frozen_and_stop_is_final() {
    let started = json!({"dtsJobId": "abc", "startedAt": "2026-01-01T00:00:00Z"});
    let old = with_status(dts(json!({"stop": true})), started.clone());
    let other_objects = with_status(
        dts(json!({"stop": true, "objects": [{"name": "other"}]})),
        started.clone(),
    );
    rejected_with::<DtsMigration>(
        &other_objects,
        Some(&old),
        "cannot change once the DTS task passed its precheck",
    );
    let restarted = with_status(dts(json!({"stop": false})), started.clone());
    rejected_with::<DtsMigration>(&restarted, Some(&old), "cannot go back to false");
    let suspended = with_status(dts(json!({"stop": true, "suspend": true})), started);
    accepted::<DtsMigration>(&suspended, Some(&old));
    // A task that failed its precheck may still be reconfigured.
    let failed = with_status(
        dts(json!({})),
        json!({"dtsJobId": "abc", "phase": "PrecheckFailed"}),
    );
    let fixed = with_status(
        dts(json!({"objects": [{"name": "shop2"}]})),
        json!({"dtsJobId": "abc"}),
    );
    accepted::<DtsMigration>(&fixed, Some(&failed));
}

// ---------- Cutover ----------

fn cutover(extra: Value) -> Value {
    let mut spec = json!({
        "migrations": [{"kind": "DtsMigration", "name": "orders"}],
        "switch": [{"configMapKey": {"name": "app-db", "key": "DSN", "value": "maxcompute://dw"}}],
    });
    for (k, v) in extra.as_object().unwrap() {
        spec[k] = v.clone();
    }
    obj("Cutover", spec)
}

#[test]
fn cutover_switch_targets_need_exactly_one_kind() {
    accepted::<Cutover>(&cutover(json!({})), None);
    rejected_with::<Cutover>(
        &cutover(json!({"switch": [{}]})),
        None,
        "set exactly one of",
    );
    rejected_with::<Cutover>(
        &cutover(json!({"switch": [{
            "configMapKey": {"name": "a", "key": "b", "value": "c"},
            "service": {"name": "db", "externalName": "new.example.com"},
        }]})),
        None,
        "set exactly one of",
    );
    rejected_with::<Cutover>(
        &cutover(
            json!({"switch": [{"mergePatch": {"apiVersion": "v1", "kind": "Secret", "name": "s", "patch": "{}"}}]}),
        ),
        None,
        "use secretKey",
    );
    rejected_with::<Cutover>(
        &cutover(json!({"gates": {"maxLagSeconds": 0.0}})),
        None,
        "must be positive",
    );
}

#[test]
fn cutover_switch_is_frozen_once_switching_started() {
    let old = with_status(
        cutover(json!({})),
        json!({"switchStartedAt": "2026-01-01T00:00:00Z"}),
    );
    let changed = with_status(
        cutover(json!({"switch": [{"service": {"name": "db", "externalName": "x.example.com"}}]})),
        json!({"switchStartedAt": "2026-01-01T00:00:00Z"}),
    );
    rejected_with::<Cutover>(
        &changed,
        Some(&old),
        "cannot change once switching has started",
    );
    let rollback = with_status(
        cutover(json!({"rollback": true})),
        json!({"switchStartedAt": "2026-01-01T00:00:00Z"}),
    );
    accepted::<Cutover>(&rollback, Some(&old));
}

// ---------- every rule compiles and stays within the apiserver's cost budget ----------

fn rules(schema: &Value, out: &mut Vec<String>) {
    if let Some(list) = schema
        .get("x-kubernetes-validations")
        .and_then(Value::as_array)
    {
        out.extend(
            list.iter()
                .filter_map(|r| r["rule"].as_str().map(String::from)),
        );
    }
    for key in ["properties", "additionalProperties", "items"] {
        match schema.get(key) {
            Some(Value::Object(map)) if key == "properties" => {
                map.values().for_each(|s| rules(s, out));
            }
            Some(s @ Value::Object(_)) => rules(s, out),
            _ => {}
        }
    }
}

fn bound_by_macro(rule: &str, message: &str) -> bool {
    let var = message
        .split('\'')
        .nth(1)
        .expect("scope warnings name the variable");
    rule.contains(&format!("({var},"))
}

fn check_kind<K: CustomResourceExt>() -> usize {
    let schema = schema_of::<K>();
    let compiled = compile_schema(&schema);
    let mut all = Vec::new();
    rules(&schema, &mut all);
    assert!(!all.is_empty(), "{} has CEL rules", K::crd_name());
    for rule in &all {
        let warnings: Vec<_> = analyze_rule(rule, &compiled, ScopeContext::CrdValidation)
            .into_iter()
            .filter(|w| match w.kind {
                WarningKind::CostExceeded => true,
                // The analyser does not know comprehension variables (`all(t, ...)`).
                WarningKind::WrongScope => !bound_by_macro(rule, &w.message),
                _ => false,
            })
            .collect();
        assert!(warnings.is_empty(), "{rule}: {warnings:?}");
    }
    all.len()
}

#[test]
fn every_rule_compiles_and_is_within_budget() {
    let n = check_kind::<DataSource>()
        + check_kind::<MmsJob>()
        + check_kind::<DtsMigration>()
        + check_kind::<Cutover>();
    assert!(n >= 20, "only {n} rules found");
}

#[test]
fn the_budget_check_flags_unbounded_nested_comparisons() {
    let schema = json!({
        "type": "object",
        "properties": {"l": {"type": "array", "items": {"type": "array", "items": {"type": "string"}}}},
    });
    let compiled = compile_schema(&schema);
    let warnings = analyze_rule(
        "self.l.all(x, x.all(y, y.size() > 1 && y.matches('^a.*b$')))",
        &compiled,
        ScopeContext::CrdValidation,
    );
    assert!(
        warnings.iter().any(|w| w.kind == WarningKind::CostExceeded),
        "{warnings:?}"
    );
}

#[test]
fn the_controllers_typed_check_matches_and_reuses_its_compiled_rules() {
    use aliyun_migration_operator::api::validation::check_typed;
    let valid: MmsJob = serde_json::from_value(mms(json!({"tables": ["orders"]}))).unwrap();
    let invalid: MmsJob = serde_json::from_value(mms(
        json!({"tables": ["orders"], "tableWhiteList": ["orders"]}),
    ))
    .unwrap();
    // Twice each: the second call runs on the cached compilation.
    for _ in 0..2 {
        assert_eq!(check_typed(&valid), Ok(()));
        let errors = check_typed(&invalid).unwrap_err();
        assert!(
            errors.iter().any(|e| e.contains("tableWhiteList")),
            "{errors:?}"
        );
    }
}
