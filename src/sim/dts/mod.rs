//! The simulated Data Transmission Service: the 2020-01-01 `*DtsJob*` API and the legacy
//! migration-job API over one store of instances, each owned by an account.

pub mod actions;
pub mod check;
pub mod job;
pub mod lag;
pub mod legacy;
pub mod writes;

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use crate::sim::clock::SimMillis;
use crate::sim::ids::stable_hash;
use crate::sim::scenario::DtsSpec;
use crate::sim::wire::ApiError;
use job::{Ctx, DtsJob, DtsTable};

/// The API versions DTS answers (legacy actions exist in all three, new ones in 2020-01-01).
pub const VERSIONS: &[&str] = &["2020-01-01", "2018-08-01", "2016-08-01"];

/// Every DTS instance and job.
#[derive(Debug)]
pub struct Dts {
    pub spec: DtsSpec,
    pub seed: u64,
    pub jobs: BTreeMap<String, DtsJob>,
    /// (account, ClientToken) → job id, for idempotent purchases.
    pub client_tokens: HashMap<(String, String), String>,
    /// Instances purchased (successful, non-replayed CreateDtsInstance/CreateMigrationJob).
    pub purchases: u64,
}

impl Dts {
    /// An empty service.
    pub fn new(spec: DtsSpec, seed: u64) -> Self {
        Self {
            spec,
            seed,
            jobs: BTreeMap::new(),
            client_tokens: HashMap::new(),
            purchases: 0,
        }
    }

    /// The state machine context.
    pub fn ctx(&self) -> Ctx<'_> {
        Ctx {
            timings: &self.spec.timings,
            curve: &self.spec.lag,
            seed: self.seed,
        }
    }

    /// Applies every transition due up to `now`.
    pub fn advance(&mut self, now: SimMillis) {
        let Dts {
            spec, seed, jobs, ..
        } = self;
        let ctx = Ctx {
            timings: &spec.timings,
            curve: &spec.lag,
            seed: *seed,
        };
        for job in jobs.values_mut() {
            job.advance(now, ctx);
        }
    }

    /// A job by job id, mutable, with the state-machine context.
    pub fn job_mut(&mut self, id: &str) -> Option<(&mut DtsJob, Ctx<'_>)> {
        let Dts {
            spec, seed, jobs, ..
        } = self;
        let ctx = Ctx {
            timings: &spec.timings,
            curve: &spec.lag,
            seed: *seed,
        };
        jobs.get_mut(id).map(|j| (j, ctx))
    }

    /// The job of `account` with this job id or instance id.
    pub fn find(
        &self,
        account: &str,
        job_id: Option<&str>,
        instance_id: Option<&str>,
    ) -> Option<&DtsJob> {
        let id = self.find_id(account, job_id, instance_id)?;
        self.jobs.get(&id)
    }

    /// The job id of `account`'s job with this job id or instance id.
    pub fn find_id(
        &self,
        account: &str,
        job_id: Option<&str>,
        instance_id: Option<&str>,
    ) -> Option<String> {
        let job = match (job_id, instance_id) {
            (Some(j), _) => self.jobs.get(j),
            (None, Some(i)) => self
                .jobs
                .values()
                .find(|j| j.instance_id.as_deref() == Some(i)),
            (None, None) => None,
        }?;
        (job.account_id == account).then(|| job.id.clone())
    }

    /// Resolves the tables a DbList (`{"db": {"name": "dst", "all": true, "Table": {...}}}`)
    /// selects on a source instance: from the scenario when it knows the database, otherwise
    /// a deterministic made-up set.
    pub fn tables_for_db_list(
        &self,
        source_instance: &str,
        db_list: &str,
        odps: bool,
    ) -> Result<Vec<DtsTable>, ApiError> {
        let parsed: serde_json::Map<String, Value> =
            serde_json::from_str(db_list).map_err(|_| {
                ApiError::invalid_because(
                    "DbList",
                    "expected a JSON object keyed by source database",
                )
            })?;
        let mut tables = Vec::new();
        for (db, entry) in &parsed {
            check_db_list_entry(db, entry)?;
            for (t, e) in entry
                .get("Table")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                check_db_list_entry(&format!("{db}.{t}"), e)?;
            }
            let dst_db = entry
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or(db)
                .to_string();
            let all = entry.get("all").map(truthy).unwrap_or(true);
            let listed: Vec<(String, String)> = entry
                .get("Table")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(t, e)| {
                            (
                                t.clone(),
                                e.get("name")
                                    .and_then(Value::as_str)
                                    .unwrap_or(t)
                                    .to_string(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let selection: Vec<(String, String)> = if all || listed.is_empty() {
                self.known_tables(source_instance, db)
                    .into_iter()
                    .map(|t| (t.clone(), t))
                    .collect()
            } else {
                listed
            };
            for (name, dst) in selection {
                tables.push(DtsTable {
                    rows: self.rows_of(source_instance, db, &name),
                    db: db.clone(),
                    dst_db: dst_db.clone(),
                    dst_name: if odps { format!("{dst}_base") } else { dst },
                    name,
                });
            }
        }
        Ok(tables)
    }

    /// Resolves the tables of a legacy MigrationObject (`[{"DBName": "x", "TableIncludes": [...]}]`).
    pub fn tables_for_migration_object(
        &self,
        source_instance: &str,
        object: &str,
    ) -> Result<Vec<DtsTable>, ApiError> {
        let parsed: Vec<Value> = serde_json::from_str(object)
            .map_err(|_| ApiError::invalid_because("MigrationObject", "expected a JSON array"))?;
        let mut tables = Vec::new();
        for entry in parsed {
            let db = entry
                .get("DBName")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    ApiError::invalid_because("MigrationObject", "every entry needs DBName")
                })?
                .to_string();
            let dst_db = entry
                .get("NewDBName")
                .and_then(Value::as_str)
                .unwrap_or(&db)
                .to_string();
            let includes: Vec<(String, String)> = entry
                .get("TableIncludes")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|t| {
                            let name = t.get("TableName")?.as_str()?.to_string();
                            let new = t
                                .get("NewTableName")
                                .and_then(Value::as_str)
                                .unwrap_or(&name)
                                .to_string();
                            Some((name, new))
                        })
                        .collect()
                })
                .unwrap_or_default();
            let selection = if includes.is_empty() {
                self.known_tables(source_instance, &db)
                    .into_iter()
                    .map(|t| (t.clone(), t))
                    .collect()
            } else {
                includes
            };
            for (name, dst) in selection {
                tables.push(DtsTable {
                    rows: self.rows_of(source_instance, &db, &name),
                    db: db.clone(),
                    dst_db: dst_db.clone(),
                    dst_name: dst,
                    name,
                });
            }
        }
        Ok(tables)
    }

    fn known_tables(&self, instance: &str, db: &str) -> Vec<String> {
        if let Some(d) = self
            .spec
            .sources
            .iter()
            .filter(|s| s.instance_id == instance)
            .flat_map(|s| &s.databases)
            .find(|d| d.name == db)
        {
            return d.tables.iter().map(|t| t.name.clone()).collect();
        }
        let n = 2 + stable_hash(&[instance, db], self.seed) % 4;
        (1..=n).map(|i| format!("{db}_table_{i}")).collect()
    }

    fn rows_of(&self, instance: &str, db: &str, table: &str) -> i64 {
        self.spec
            .sources
            .iter()
            .filter(|s| s.instance_id == instance)
            .flat_map(|s| &s.databases)
            .filter(|d| d.name == db)
            .flat_map(|d| &d.tables)
            .find(|t| t.name == table)
            .map(|t| t.rows)
            .unwrap_or_else(|| {
                10_000 + (stable_hash(&[instance, db, table], self.seed) % 490_000) as i64
            })
    }

    /// Counts for `/_sim/state`.
    pub fn summary(&self, now: SimMillis) -> Value {
        let ctx = self.ctx();
        let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
        for j in self.jobs.values() {
            *by_status.entry(j.status()).or_default() += 1;
        }
        let jobs: Vec<Value> = self
            .jobs
            .values()
            .map(|j| {
                serde_json::json!({
                    "dtsJobId": j.id,
                    "dtsInstanceId": j.instance_id,
                    "accountId": j.account_id,
                    "status": j.status(),
                    "legacy": j.legacy,
                    "lagMs": j.lag_ms(now, ctx),
                })
            })
            .collect();
        serde_json::json!({
            "instances": self.jobs.values().filter(|j| j.instance_id.is_some()).count(),
            "jobs": self.jobs.len(),
            "purchases": self.purchases,
            "byStatus": by_status,
            "list": jobs,
        })
    }
}

/// JSON truthiness for flags that arrive as booleans or strings.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => crate::sim::wire::parse_bool(s).unwrap_or(false),
        Value::Number(n) => n.as_i64().unwrap_or(0) != 0,
        _ => false,
    }
}

/// The server's own spelling of engine names (responses normalise what clients send).
pub fn normalize_engine(name: &str) -> String {
    match name.to_ascii_lowercase().as_str() {
        "mysql" => "MySQL".into(),
        "polardb" => "PolarDB".into(),
        "odps" | "maxcompute" => "ODPS".into(),
        "postgresql" => "PostgreSQL".into(),
        "mongodb" => "MongoDB".into(),
        "oracle" => "Oracle".into(),
        "redis" => "Redis".into(),
        "mariadb" => "MariaDB".into(),
        "" => String::new(),
        _ => name.to_string(),
    }
}

/// The statement scope and column map of one DbList entry: `dml_op` a comma list of
/// insert/update/delete, `ddl_op` a comma list of table statements, `column` an object of
/// `{"name": "<destination column>"}` objects.
fn check_db_list_entry(at: &str, entry: &Value) -> Result<(), ApiError> {
    let words = |key: &str, allowed: &[&str]| -> Result<(), ApiError> {
        let Some(v) = entry.get(key) else {
            return Ok(());
        };
        let text = v.as_str().unwrap_or_default();
        let ok = !text.is_empty()
            && text
                .split(',')
                .all(|w| allowed.contains(&w.trim().to_ascii_lowercase().as_str()));
        if ok {
            Ok(())
        } else {
            Err(ApiError::invalid_because(
                "DbList",
                &format!(
                    "{at}: {key} must be a comma-separated list of {}",
                    allowed.join(", ")
                ),
            ))
        }
    };
    words("dml_op", &["insert", "update", "delete"])?;
    words(
        "ddl_op",
        &[
            "create table",
            "alter table",
            "drop table",
            "rename table",
            "truncate table",
        ],
    )?;
    if let Some(columns) = entry.get("column") {
        let ok = columns.as_object().is_some_and(|m| {
            !m.is_empty()
                && m.values()
                    .all(|c| c.get("name").and_then(Value::as_str).is_some())
        });
        if !ok {
            return Err(ApiError::invalid_because(
                "DbList",
                &format!("{at}: column must map each source column to {{\"name\": ...}}"),
            ));
        }
    }
    Ok(())
}
