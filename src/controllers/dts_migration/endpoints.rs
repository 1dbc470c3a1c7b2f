//! Spec → DTS wire vocabulary: instance types and engines per API generation, objects, reserve
//! options, and endpoint accounts read from their Secrets just before a configure.

use std::collections::BTreeMap;

use kube::ResourceExt;
use serde_json::json;

use crate::aliyun::SecretString;
use crate::aliyun::dts::{
    DbList, DbListTable, DtsEndpoint as WireEndpoint, MigrationObject, MigrationTable, Reserve,
};
use crate::api::dts_migration::{
    DataCheck, DtsDatabaseObject, DtsEndpoint, DtsMigration, EndpointType, Engine,
};
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
        if db.tables.is_empty() {
            list.whole_database(db.name.clone(), target)
        } else {
            list.tables(
                db.name.clone(),
                target,
                db.tables.iter().map(|t| {
                    let table = DbListTable::renamed(
                        t.name.clone(),
                        t.target_name.clone().unwrap_or_else(|| t.name.clone()),
                    );
                    match &t.filter {
                        Some(f) => table.with_filter(f.clone()),
                        None => table,
                    }
                }),
            )
        }
    })
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
                    ..MigrationTable::default()
                })
                .collect(),
            ..MigrationObject::database(db.name.clone())
        })
        .collect()
}

/// `Reserve` / `MigrationReserved` from the pass-through map (values stay strings), with the
/// ownership marker of the resource `uid` (see [`ownership`]).
pub fn reserve(map: &BTreeMap<String, String>, uid: &str) -> Option<Reserve> {
    let user = map
        .iter()
        .fold(Reserve::new(), |r, (k, v)| r.set(k.clone(), v.clone()));
    Some(user.set(ownership::OWNER_KEY, uid))
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
    use crate::api::dts_migration::DtsTableObject;

    #[test]
    fn db_list_maps_whole_databases_and_renamed_tables() {
        let objects = vec![
            DtsDatabaseObject {
                name: "shop".into(),
                target_name: None,
                tables: vec![],
            },
            DtsDatabaseObject {
                name: "crm".into(),
                target_name: Some("crm_dw".into()),
                tables: vec![DtsTableObject {
                    name: "users".into(),
                    target_name: Some("customers".into()),
                    filter: Some("id > 10".into()),
                }],
            },
        ];
        let json: serde_json::Value = serde_json::from_str(&db_list(&objects).to_json()).unwrap();
        assert_eq!(json["shop"]["name"], "shop");
        assert_eq!(json["shop"]["all"], true);
        assert_eq!(json["crm"]["name"], "crm_dw");
        assert_eq!(json["crm"]["all"], false);
        assert_eq!(json["crm"]["Table"]["users"]["name"], "customers");
        assert_eq!(json["crm"]["Table"]["users"]["filter"], "id > 10");
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
        let map: BTreeMap<String, String> = [("maxRetryTime".into(), "720".into())].into();
        let json: serde_json::Value =
            serde_json::from_str(&reserve(&map, "uid-1").unwrap().to_json()).unwrap();
        assert_eq!(json["maxRetryTime"], "720");
        assert_eq!(json[ownership::OWNER_KEY], "uid-1");
        let only_owner: serde_json::Value =
            serde_json::from_str(&reserve(&BTreeMap::new(), "uid-1").unwrap().to_json()).unwrap();
        assert_eq!(
            only_owner,
            serde_json::json!({ownership::OWNER_KEY: "uid-1"})
        );
    }
}
