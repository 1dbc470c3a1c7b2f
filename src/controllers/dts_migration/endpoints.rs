//! Spec → DTS wire vocabulary: instance types and engines per API generation, objects, reserve
//! options, and endpoint accounts read from their Secrets just before a configure.

use kube::ResourceExt;
use serde_json::json;

use crate::aliyun::SecretString;
use crate::aliyun::dts::{
    DbList, DbListTable, DtsEndpoint as WireEndpoint, MigrationColumn, MigrationObject,
    MigrationTable, Reserve, Scope, TargetTableMode,
};
use crate::api::dts_migration::{
    DataCheck, DdlOperation, DmlOperation, DtsDatabaseObject, DtsEndpoint, DtsMigration,
    DtsMigrationSpec, DtsTableObject, EndpointType, Engine, StatementScope,
};
use crate::api::dts_settings::DtsSettings;
use crate::controllers::credentials::{key, read_secret};
use crate::controllers::error::{Error, Result};
use crate::controllers::ownership;

/// The engine when the spec names none.
pub fn engine(e: &DtsEndpoint) -> Engine {
    e.engine.unwrap_or(match e.instance_type {
        EndpointType::PolarDB => Engine::PolarDB,
        EndpointType::MaxCompute => Engine::MaxCompute,
        EndpointType::MongoDB => Engine::MongoDB,
        EndpointType::Redis => Engine::Redis,
        _ => Engine::MySQL,
    })
}

/// `ConfigureDtsJob` instance type.
pub fn instance_type(t: EndpointType) -> &'static str {
    match t {
        EndpointType::RDS => "RDS",
        EndpointType::PolarDB => "PolarDB",
        EndpointType::PolarDBX => "POLARDBX20",
        EndpointType::ECS => "ECS",
        EndpointType::Express => "EXPRESS",
        EndpointType::LocalInstance => "OTHER",
        EndpointType::MaxCompute => "ODPS",
        EndpointType::AnalyticDB => "ADS",
        EndpointType::MongoDB => "MONGODB",
        EndpointType::Redis => "REDIS",
    }
}

/// `ConfigureDtsJob` engine name.
pub fn engine_name(e: Engine) -> &'static str {
    match e {
        Engine::MySQL => "MYSQL",
        Engine::MariaDB => "MARIADB",
        Engine::PolarDB => "PolarDB",
        Engine::PostgreSQL => "POSTGRESQL",
        Engine::SQLServer => "MSSQL",
        Engine::Oracle => "ORACLE",
        Engine::MongoDB => "MONGODB",
        Engine::Redis => "REDIS",
        Engine::MaxCompute => "ODPS",
    }
}

/// `CreateDtsInstance` engine name (its own spelling: `odps`, `MySQL`, ...).
pub fn purchase_engine(e: &DtsEndpoint) -> &'static str {
    match engine(e) {
        Engine::MySQL | Engine::MariaDB => "MySQL",
        Engine::PolarDB => "PolarDB",
        Engine::PostgreSQL => "PostgreSQL",
        Engine::SQLServer => "MSSQL",
        Engine::Oracle => "oracle",
        Engine::MongoDB => "mongodb",
        Engine::Redis => "Redis",
        Engine::MaxCompute => "odps",
    }
}

/// Legacy `ConfigureMigrationJob` instance type.
pub fn legacy_instance_type(t: EndpointType) -> &'static str {
    match t {
        EndpointType::RDS => "RDS",
        EndpointType::PolarDB => "POLARDB",
        EndpointType::PolarDBX => "DRDS",
        EndpointType::ECS => "ECS",
        EndpointType::Express => "Express",
        EndpointType::LocalInstance => "LocalInstance",
        EndpointType::MaxCompute => "ODPS",
        EndpointType::AnalyticDB => "AnalyticDB",
        EndpointType::MongoDB => "MongoDB",
        EndpointType::Redis => "Redis",
    }
}

/// Legacy engine name.
pub fn legacy_engine_name(e: Engine) -> &'static str {
    match e {
        Engine::MySQL | Engine::MariaDB => "MySQL",
        Engine::PolarDB => "POLARDB",
        Engine::PostgreSQL => "PostgreSQL",
        Engine::SQLServer => "SQLServer",
        Engine::Oracle => "Oracle",
        Engine::MongoDB => "MongoDB",
        Engine::Redis => "Redis",
        Engine::MaxCompute => "ODPS",
    }
}

/// An endpoint's database account (for MaxCompute, the AccessKey pair DTS writes with), read
/// from its Secret just before a configure and never stored.
pub struct Account {
    pub user: String,
    pub password: SecretString,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Account(<redacted>)")
    }
}

/// Both endpoints' accounts (None: the endpoint names no Secret).
#[derive(Debug, Default)]
pub struct Accounts {
    pub source: Option<Account>,
    pub destination: Option<Account>,
}

/// Reads both endpoints' accounts from their Secrets (direct reads: Secrets are not cached).
pub async fn read_accounts(client: &kube::Client, m: &DtsMigration) -> Result<Accounts> {
    let namespace = m.namespace().unwrap_or_default();
    Ok(Accounts {
        source: read_account(client, &namespace, &m.spec.source).await?,
        destination: read_account(client, &namespace, &m.spec.destination).await?,
    })
}

async fn read_account(
    client: &kube::Client,
    namespace: &str,
    e: &DtsEndpoint,
) -> Result<Option<Account>> {
    let Some(r) = &e.credentials_secret_ref else {
        if e.instance_type == EndpointType::MaxCompute {
            return Err(Error::InvalidSpec(
                "a MaxCompute endpoint needs credentialsSecretRef with the AccessKey pair DTS writes with".into(),
            ));
        }
        return Ok(None);
    };
    let odps = e.instance_type == EndpointType::MaxCompute;
    let user_key = r
        .username_key
        .clone()
        .unwrap_or_else(|| if odps { "accessKeyId" } else { "username" }.to_string());
    let pass_key = r
        .password_key
        .clone()
        .unwrap_or_else(|| if odps { "accessKeySecret" } else { "password" }.to_string());
    let secret = read_secret(client, namespace, &r.name).await?;
    let user = key(&secret, namespace, &r.name, &user_key)?;
    let pass = key(&secret, namespace, &r.name, &pass_key)?;
    Ok(Some(Account {
        user: user.expose_secret().trim().to_string(),
        password: SecretString::new(pass.expose_secret().trim()),
    }))
}

/// The endpoint on the wire, in the vocabulary of the resource's API generation.
pub fn wire(
    e: &DtsEndpoint,
    account: Option<&Account>,
    default_region: &str,
    legacy: bool,
) -> WireEndpoint {
    let engine = engine(e);
    WireEndpoint {
        instance_type: if legacy {
            legacy_instance_type(e.instance_type)
        } else {
            instance_type(e.instance_type)
        }
        .to_string(),
        engine_name: Some(
            if legacy {
                legacy_engine_name(engine)
            } else {
                engine_name(engine)
            }
            .to_string(),
        ),
        instance_id: e.instance_id.clone(),
        region: Some(
            e.region
                .clone()
                .unwrap_or_else(|| default_region.to_string()),
        ),
        ip: e.host.clone(),
        port: e.port.and_then(|p| u16::try_from(p).ok()),
        database_name: e.database.clone(),
        user_name: account.map(|a| a.user.clone()),
        password: account.map(|a| a.password.clone()),
        oracle_sid: e.oracle_sid.clone(),
        ..WireEndpoint::default()
    }
}

/// The new API's `DbList`.
pub fn db_list(objects: &[DtsDatabaseObject]) -> DbList {
    objects.iter().fold(DbList::new(), |list, db| {
        let target = db.target_name.clone().unwrap_or_else(|| db.name.clone());
        let list = if db.tables.is_empty() {
            list.whole_database(db.name.clone(), target)
        } else {
            list.tables(db.name.clone(), target, db.tables.iter().map(db_list_table))
        };
        list.with_scope(&db.name, scope(&db.scope))
    })
}

fn db_list_table(t: &DtsTableObject) -> DbListTable {
    let Scope { dml_op, ddl_op } = scope(&t.scope);
    DbListTable {
        filter: t.filter.clone(),
        dml_op,
        ddl_op,
        columns: t
            .columns
            .iter()
            .map(|c| {
                let target = c.target_name.clone().unwrap_or_else(|| c.name.clone());
                (c.name.clone(), target)
            })
            .collect(),
        ..DbListTable::renamed(
            t.name.clone(),
            t.target_name.clone().unwrap_or_else(|| t.name.clone()),
        )
    }
}

/// `dml_op` / `ddl_op`: the words joined by commas, in a stable order; none listed: DTS's default.
fn scope(s: &StatementScope) -> Scope {
    fn joined<T: Copy + Ord>(ops: &[T], wire: fn(T) -> &'static str) -> Option<String> {
        let mut ops = ops.to_vec();
        ops.sort();
        ops.dedup();
        (!ops.is_empty()).then(|| ops.into_iter().map(wire).collect::<Vec<_>>().join(","))
    }
    Scope {
        dml_op: joined(&s.dml_operations, DmlOperation::wire),
        ddl_op: joined(&s.ddl_operations, DdlOperation::wire),
    }
}

/// The legacy `MigrationObject`.
pub fn migration_object(objects: &[DtsDatabaseObject]) -> Vec<MigrationObject> {
    objects
        .iter()
        .map(|db| MigrationObject {
            db_name: db.name.clone(),
            new_db_name: db.target_name.clone(),
            table_includes: db
                .tables
                .iter()
                .map(|t| MigrationTable {
                    table_name: t.name.clone(),
                    new_table_name: t.target_name.clone(),
                    filter_condition: t.filter.as_ref().map(|f| format!("where {f}")),
                    column_includes: t
                        .columns
                        .iter()
                        .map(|c| MigrationColumn {
                            column_name: c.name.clone(),
                            new_column_name: c.target_name.clone(),
                        })
                        .collect(),
                    column_excludes: t
                        .exclude_columns
                        .iter()
                        .map(|c| MigrationColumn {
                            column_name: c.clone(),
                            new_column_name: None,
                        })
                        .collect(),
                    ..MigrationTable::default()
                })
                .collect(),
            ..MigrationObject::database(db.name.clone())
        })
        .collect()
}

/// `Reserve` / `MigrationReserved`: the pass-through map (values stay strings), then the typed
/// settings over it, `targetTableMode: "0"` when neither says (the Reserve page marks it
/// required; `0` is the console's default), and the ownership marker of the resource `uid` (see
/// [`ownership`]).
pub fn reserve(spec: &DtsMigrationSpec, uid: &str) -> Option<Reserve> {
    let user = spec
        .reserve
        .iter()
        .fold(Reserve::new(), |r, (k, v)| r.set(k.clone(), v.clone()));
    let typed = settings(spec)
        .reserve_entries()
        .into_iter()
        .fold(user, |r, (k, v)| r.set(k, v));
    let typed = if typed.contains("targetTableMode") {
        typed
    } else {
        typed.target_table_mode(TargetTableMode::FailOnExisting)
    };
    Some(typed.set(ownership::OWNER_KEY, uid))
}

fn settings(spec: &DtsMigrationSpec) -> DtsSettings {
    spec.settings.clone().unwrap_or_default()
}

/// Warnings for `spec.reserve` keys a typed setting replaces.
pub fn overridden_reserve(spec: &DtsMigrationSpec) -> Vec<String> {
    settings(spec)
        .reserve_entries()
        .into_iter()
        .filter(|(k, _)| spec.reserve.contains_key(*k))
        .map(|(k, _)| {
            format!("spec.reserve.{k} is ignored: spec.settings sets {k}; remove one of them")
        })
        .collect()
}

/// `DataCheckConfigure`.
pub fn data_check(check: Option<&DataCheck>) -> Option<serde_json::Value> {
    let c = check?;
    let ratio = c.full_check_ratio.unwrap_or(100);
    Some(json!({
        "fullDataCheck": c.full,
        "incrementalDataCheck": c.incremental,
        // 1: sampling by ratio, 2: row by row.
        "fullCheckModel": if ratio < 100 { 1 } else { 2 },
        "fullCheckRatio": ratio,
    }))
}

/// DTS task names are at most 32 characters.
pub const MAX_JOB_NAME: usize = 32;

/// The DTS task name: `spec.jobName`, else the name this resource already uses (status), else
/// one derived from namespace, name and UID that no other resource can get.
pub fn job_name(m: &DtsMigration) -> String {
    m.spec
        .job_name
        .clone()
        .or_else(|| m.status.as_ref().and_then(|s| s.dts_job_name.clone()))
        .unwrap_or_else(|| {
            ownership::cloud_name(
                &m.namespace().unwrap_or_default(),
                &m.name_any(),
                &m.uid().unwrap_or_default(),
                MAX_JOB_NAME,
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::dts_migration::DtsColumn;

    #[test]
    fn db_list_maps_whole_databases_and_renamed_tables() {
        let objects = vec![
            DtsDatabaseObject {
                name: "shop".into(),
                scope: StatementScope {
                    dml_operations: vec![DmlOperation::Delete, DmlOperation::Insert],
                    ..Default::default()
                },
                ..Default::default()
            },
            DtsDatabaseObject {
                name: "crm".into(),
                target_name: Some("crm_dw".into()),
                tables: vec![DtsTableObject {
                    name: "users".into(),
                    target_name: Some("customers".into()),
                    filter: Some("id > 10".into()),
                    scope: StatementScope {
                        ddl_operations: vec![DdlOperation::AlterTable],
                        ..Default::default()
                    },
                    ..Default::default()
                }],
                ..Default::default()
            },
        ];
        let json: serde_json::Value = serde_json::from_str(&db_list(&objects).to_json()).unwrap();
        assert_eq!(json["shop"]["name"], "shop");
        assert_eq!(json["shop"]["all"], true);
        assert_eq!(json["shop"]["dml_op"], "insert,delete");
        assert_eq!(json["shop"].get("ddl_op"), None);
        assert_eq!(json["crm"]["name"], "crm_dw");
        assert_eq!(json["crm"]["all"], false);
        assert_eq!(json["crm"].get("dml_op"), None);
        let users = &json["crm"]["Table"]["users"];
        assert_eq!(users["name"], "customers");
        assert_eq!(users["filter"], "id > 10");
        assert_eq!(users["all"], true, "no column list: every column");
        assert_eq!(users["ddl_op"], "alter table");
        assert_eq!(users.get("column"), None);
    }

    #[test]
    fn columns_map_to_a_column_list_in_both_generations() {
        let objects = vec![DtsDatabaseObject {
            name: "crm".into(),
            tables: vec![DtsTableObject {
                name: "users".into(),
                columns: vec![
                    DtsColumn {
                        name: "id".into(),
                        target_name: None,
                    },
                    DtsColumn {
                        name: "mail".into(),
                        target_name: Some("email".into()),
                    },
                ],
                ..Default::default()
            }],
            ..Default::default()
        }];
        let json: serde_json::Value = serde_json::from_str(&db_list(&objects).to_json()).unwrap();
        let users = &json["crm"]["Table"]["users"];
        assert_eq!(
            users["all"], false,
            "a column list takes only those columns"
        );
        assert_eq!(
            users["column"],
            json!({"id": {"name": "id"}, "mail": {"name": "email"}})
        );
        let legacy = serde_json::to_value(migration_object(&objects)).unwrap();
        assert_eq!(
            legacy[0]["TableIncludes"][0]["ColumnIncludes"],
            json!([{"ColumnName": "id"}, {"ColumnName": "mail", "NewColumnName": "email"}])
        );
        let mut excluded = objects.clone();
        excluded[0].tables[0].columns.clear();
        excluded[0].tables[0].exclude_columns = vec!["password_hash".into()];
        let legacy = serde_json::to_value(migration_object(&excluded)).unwrap();
        assert_eq!(
            legacy[0]["TableIncludes"][0]["ColumnExcludes"],
            json!([{"ColumnName": "password_hash"}])
        );
    }

    #[test]
    fn maxcompute_is_odps_in_both_spellings() {
        let e = DtsEndpoint {
            instance_type: EndpointType::MaxCompute,
            ..Default::default()
        };
        assert_eq!(instance_type(e.instance_type), "ODPS");
        assert_eq!(engine_name(engine(&e)), "ODPS");
        assert_eq!(purchase_engine(&e), "odps");
        let polar = DtsEndpoint {
            instance_type: EndpointType::PolarDB,
            ..Default::default()
        };
        assert_eq!(
            (
                instance_type(polar.instance_type),
                engine_name(engine(&polar))
            ),
            ("PolarDB", "PolarDB")
        );
        assert_eq!(
            (
                legacy_instance_type(polar.instance_type),
                legacy_engine_name(engine(&polar))
            ),
            ("POLARDB", "POLARDB")
        );
    }

    #[test]
    fn reserve_values_stay_strings_and_carry_the_owner() {
        let mut spec = DtsMigrationSpec {
            reserve: [("srcSSL".into(), "0".into())].into(),
            ..Default::default()
        };
        let json: serde_json::Value =
            serde_json::from_str(&reserve(&spec, "uid-1").unwrap().to_json()).unwrap();
        assert_eq!(
            json,
            json!({"srcSSL": "0", "targetTableMode": "0", ownership::OWNER_KEY: "uid-1"}),
            "the console's default for existing tables when nothing says otherwise"
        );
        spec.reserve.insert("targetTableMode".into(), "2".into());
        let json: serde_json::Value =
            serde_json::from_str(&reserve(&spec, "uid-1").unwrap().to_json()).unwrap();
        assert_eq!(json["targetTableMode"], "2");
        assert!(overridden_reserve(&spec).is_empty());
    }

    #[test]
    fn a_typed_setting_wins_over_reserve_with_a_warning() {
        use crate::api::dts_settings::{ExistingTables, RetryWindows};
        let spec = DtsMigrationSpec {
            reserve: [
                ("maxRetryTime".into(), "720".into()),
                ("targetTableMode".into(), "2".into()),
            ]
            .into(),
            settings: Some(DtsSettings {
                retry: Some(RetryWindows {
                    connection_minutes: Some(60),
                    other_issues_minutes: None,
                }),
                existing_tables: Some(ExistingTables::Fail),
                ..Default::default()
            }),
            ..Default::default()
        };
        let json: serde_json::Value =
            serde_json::from_str(&reserve(&spec, "uid-1").unwrap().to_json()).unwrap();
        assert_eq!(
            json["maxRetryTime"], "3600",
            "minutes in the spec, seconds on the wire"
        );
        assert_eq!(json["targetTableMode"], "0");
        let warnings = overridden_reserve(&spec);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings[0].contains("spec.reserve.maxRetryTime is ignored"),
            "{warnings:?}"
        );
    }
}
