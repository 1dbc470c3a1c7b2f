//! The legacy migration-job actions (`CreateMigrationJob`, `ConfigureMigrationJob`,
//! `DescribeMigrationJobStatus`, …), served under 2016-08-01, 2018-08-01 and 2020-01-01, with
//! their dotted request keys, XML-style wrapper lists and odd response casing.

use serde_json::{Value, json};

use super::actions::{Call, parse_reserve};
use super::job::{DtsJob, Endpoint, JobConfig, Modes, Phase, State};
use super::{Dts, normalize_engine};
use crate::sim::clock::fmt_iso;
use crate::sim::ids::IdGen;
use crate::sim::wire::{ApiError, Params};

/// Legacy actions served here (`DescirbeMigrationJobs` is the SDK's historical typo).
pub const ACTIONS: &[&str] = &[
    "CreateMigrationJob",
    "ConfigureMigrationJob",
    "StartMigrationJob",
    "SuspendMigrationJob",
    "StopMigrationJob",
    "DeleteMigrationJob",
    "DescribeMigrationJobStatus",
    "DescribeMigrationJobs",
    "DescirbeMigrationJobs",
    "DescribeMigrationJobDetail",
];

const SOURCE_TYPES: &[&str] = &[
    "RDS",
    "ECS",
    "LocalInstance",
    "Express",
    "dg",
    "cen",
    "MongoDB",
    "POLARDB",
    "PolarDB_o",
];
const DEST_TYPES: &[&str] = &[
    "ECS",
    "LocalInstance",
    "RDS",
    "DRDS",
    "MongoDB",
    "Redis",
    "PetaData",
    "POLARDB",
    "PolarDB_o",
    "AnalyticDB",
    "Greenplum",
    "Express",
];

fn invalid_job(id: &str) -> ApiError {
    ApiError::business(
        "InvalidJobId",
        "The specified MigrationJobId %s does not exist.",
        id,
        404,
    )
}

fn bad_status(status: &str) -> ApiError {
    ApiError::business(
        "InvalidJobStatus",
        "The operation is not allowed while the migration job is %s.",
        status,
        403,
    )
}

/// The legacy `MigrationJobStatus` spelling of a job's state.
pub fn legacy_status(job: &DtsJob) -> &'static str {
    match job.status() {
        "NotConfigured" => "NotStarted",
        "PreCheckPass" | "Retrying" => "Migrating",
        other => other,
    }
}

fn ok() -> Value {
    json!({"Success": true})
}

/// Handles a legacy action.
pub fn handle(
    dts: &mut Dts,
    ids: &mut IdGen,
    action: &str,
    call: Call<'_>,
) -> Result<Value, ApiError> {
    let p = call.params;
    match action {
        "CreateMigrationJob" => {
            let region = p.require("Region")?.to_string();
            let class = p.require("MigrationJobClass")?.to_string();
            if !["small", "medium", "large", "xlarge", "2xlarge"].contains(&class.as_str()) {
                return Err(ApiError::invalid("MigrationJobClass"));
            }
            if let Some(token) = p.get("ClientToken")
                && let Some(id) = dts
                    .client_tokens
                    .get(&(call.account.to_string(), token.to_string()))
            {
                return Ok(json!({"MigrationJobId": format!("dts{id}"), "Success": true}));
            }
            let id = ids.dts_job_id();
            let mut job = DtsJob::new(
                id.clone(),
                true,
                call.account,
                &region,
                "MIGRATION",
                "PostPaid",
                &class,
                call.now,
            );
            job.legacy = true;
            dts.jobs.insert(id.clone(), job);
            dts.purchases += 1;
            if let Some(token) = p.get("ClientToken") {
                dts.client_tokens
                    .insert((call.account.to_string(), token.to_string()), id.clone());
            }
            Ok(json!({"MigrationJobId": format!("dts{id}"), "Success": true}))
        }
        "ConfigureMigrationJob" => configure(dts, call),
        "StartMigrationJob" | "SuspendMigrationJob" | "StopMigrationJob" => {
            let id = job_id(dts, call)?;
            let (job, ctx) = dts.job_mut(&id).expect("found");
            let legacy = legacy_status(job);
            let outcome = match action {
                "StartMigrationJob" => job.start(call.now, ctx),
                "SuspendMigrationJob" => job.suspend(call.now, ctx),
                _ => job.stop(call.now, ctx),
            };
            outcome.map_err(|_| bad_status(legacy))?;
            Ok(ok())
        }
        "DeleteMigrationJob" => {
            let id = job_id(dts, call)?;
            dts.jobs.remove(&id);
            Ok(ok())
        }
        "DescribeMigrationJobStatus" => {
            let id = job_id(dts, call)?;
            Ok(status(dts, &dts.jobs[&id], call))
        }
        "DescribeMigrationJobs" | "DescirbeMigrationJobs" => list(dts, call),
        "DescribeMigrationJobDetail" => detail(dts, call),
        other => Err(ApiError::new(
            404,
            "InvalidAction.NotFound",
            format!("Specified api {other} is not found."),
        )),
    }
}

/// `MigrationJobId` is the instance id (`dts…`).
fn job_id(dts: &Dts, call: Call<'_>) -> Result<String, ApiError> {
    let id = call.params.require("MigrationJobId")?;
    dts.find_id(call.account, None, Some(id))
        .ok_or_else(|| invalid_job(id))
}

fn endpoint(p: &Params, side: &str, db_key: &str) -> Endpoint {
    let n = p.nested(side);
    let get = |k: &str| n.get(k).cloned().unwrap_or_default();
    Endpoint {
        instance_type: get("InstanceType"),
        engine_name: normalize_engine(&get("EngineName")),
        instance_id: get("InstanceID"),
        region: get("Region"),
        ip: get("IP"),
        port: get("Port"),
        database_name: get(db_key),
        user_name: get("UserName"),
        oracle_sid: get("OracleSID"),
        owner_id: get("OwnerID"),
        role: get("Role"),
    }
}

fn mode(p: &Params, typo: &str, correct: &str) -> Result<bool, ApiError> {
    let key = format!("MigrationMode.{typo}");
    let alt = format!("MigrationMode.{correct}");
    match p.bool(&key)? {
        Some(v) => Ok(v),
        None => p.bool(&alt)?.ok_or_else(|| ApiError::missing(&key)),
    }
}

fn configure(dts: &mut Dts, call: Call<'_>) -> Result<Value, ApiError> {
    let p = call.params;
    let id = job_id(dts, call)?;
    let name = p.require("MigrationJobName")?.to_string();
    if name.chars().count() > 32 {
        return Err(ApiError::invalid_because(
            "MigrationJobName",
            "at most 32 characters",
        ));
    }
    let modes = Modes {
        structure: mode(p, "StructureIntialization", "StructureInitialization")?,
        full: mode(p, "DataIntialization", "DataInitialization")?,
        incremental: mode(p, "DataSynchronization", "DataSynchronization")?,
    };
    let source = endpoint(p, "SourceEndpoint", "DatabaseName");
    let dest = endpoint(p, "DestinationEndpoint", "DataBaseName");
    if source.instance_type.is_empty() {
        return Err(ApiError::missing("SourceEndpoint.InstanceType"));
    }
    if dest.instance_type.is_empty() {
        return Err(ApiError::missing("DestinationEndpoint.InstanceType"));
    }
    if !SOURCE_TYPES
        .iter()
        .any(|t| t.eq_ignore_ascii_case(&source.instance_type))
    {
        return Err(ApiError::invalid("SourceEndpoint.InstanceType"));
    }
    // MaxCompute (ODPS) is not a destination of the legacy API: use ConfigureDtsJob.
    if !DEST_TYPES
        .iter()
        .any(|t| t.eq_ignore_ascii_case(&dest.instance_type))
    {
        return Err(ApiError::invalid("DestinationEndpoint.InstanceType"));
    }
    let object = p.require("MigrationObject")?.to_string();
    let tables = dts.tables_for_migration_object(&source.instance_id, &object)?;
    let (auto_start, max_retry_ms) =
        parse_reserve(p.get("MigrationReserved"), "MigrationReserved")?;
    let config = JobConfig {
        name,
        source,
        dest,
        modes,
        db_list: String::new(),
        migration_object: object,
        reserve: p.get("MigrationReserved").unwrap_or("{}").to_string(),
        tables,
        checkpoint: p.int("Checkpoint")?,
        data_check: false,
        inc_data_check: false,
        max_retry_ms,
    };
    let items = dts.spec.precheck_items.clone();
    let job = dts.jobs.get_mut(&id).expect("found");
    if !matches!(
        job.state,
        State::NotConfigured | State::NotStarted | State::PrecheckFailed
    ) {
        return Err(bad_status(legacy_status(job)));
    }
    job.configure(config, items, auto_start, call.now);
    Ok(ok())
}

fn endpoint_status(e: &Endpoint) -> Value {
    json!({
        "InstanceType": e.instance_type, "InstanceId": e.instance_id, "EngineName": e.engine_name,
        "IP": e.ip, "Port": e.port, "UserName": e.user_name, "DatabaseName": e.database_name,
        "oracleSID": e.oracle_sid,
    })
}

fn endpoint_list(e: &Endpoint) -> Value {
    json!({
        "InstanceType": e.instance_type, "InstanceID": e.instance_id, "EngineName": e.engine_name,
        "IP": e.ip, "Port": e.port, "UserName": e.user_name, "DatabaseName": e.database_name,
        "OracleSID": e.oracle_sid,
    })
}

fn error_text(job: &DtsJob) -> String {
    match &job.state {
        State::Failed { message } | State::Retrying { message, .. } => message.clone(),
        _ => String::new(),
    }
}

fn precheck_legacy(dts: &Dts, job: &DtsJob, call: Call<'_>) -> (&'static str, i64, Vec<Value>) {
    let timings = &dts.spec.timings;
    let (status, percent) = job.precheck_status(call.now, timings);
    let items = job
        .precheck_items(call.now, timings)
        .iter()
        .filter(|i| matches!(i.state, "Success" | "Failed" | "Warning"))
        .map(|i| {
            json!({"ItemName": i.item, "CheckStatus": if i.state == "Failed" { "Failed" } else { "Success" },
                   "ErrorMessage": i.message, "RepairMethod": i.repair})
        })
        .collect();
    (status, percent, items)
}

fn status(dts: &Dts, job: &DtsJob, call: Call<'_>) -> Value {
    let ctx = dts.ctx();
    let timings = &dts.spec.timings;
    let config = job.config.clone().unwrap_or_default();
    let (pre, pre_pct, items) = precheck_legacy(dts, job, call);
    let (s, s_pct, s_prog) = job.stage_status(Phase::Structure, timings);
    let (f, f_pct, f_prog) = job.stage_status(Phase::Full, timings);
    let sync = job.sync_status(call.now, ctx);
    let lag_s = job.lag_ms(call.now, ctx).unwrap_or(0) / 1000;
    let err = error_text(job);
    json!({
        "Success": true,
        "MigrationJobId": job.instance_id,
        "MigrationJobName": config.name,
        "MigrationJobClass": job.class,
        "TaskId": job.id,
        "PayType": "PostPaid",
        "MigrationJobStatus": legacy_status(job),
        "MigrationObject": config.migration_object,
        "MigrationMode": {
            "structureInitialization": config.modes.structure,
            "dataInitialization": config.modes.full,
            "dataSynchronization": config.modes.incremental,
        },
        "SourceEndpoint": endpoint_status(&config.source),
        "DestinationEndpoint": endpoint_status(&config.dest),
        "PrecheckStatus": {"Status": pre, "Percent": pre_pct.to_string(), "Detail": {"CheckItem": items}},
        "StructureInitializationStatus": {"Status": s, "Percent": s_pct.to_string(), "Progress": s_prog.to_string(),
            "ErrorMessage": if s == "Failed" { err.clone() } else { String::new() }},
        "DataInitializationStatus": {"Status": f, "Percent": f_pct.to_string(), "Progress": f_prog.to_string(),
            "ErrorMessage": if f == "Failed" { err.clone() } else { String::new() }},
        "DataSynchronizationStatus": {
            "Status": sync,
            "Percent": if sync == "Catched" { "100" } else if sync == "Migrating" { "95" } else { "0" },
            "Delay": lag_s.to_string(),
            "Checkpoint": job.checkpoint(call.now, ctx).map(|c| c.to_string()).unwrap_or_else(|| "0".into()),
            "ErrorMessage": if sync == "Failed" { err } else { String::new() },
        },
    })
}

fn list(dts: &Dts, call: Call<'_>) -> Result<Value, ApiError> {
    let p = call.params;
    let ctx = dts.ctx();
    let timings = &dts.spec.timings;
    let page_num = p.int("PageNum")?.unwrap_or(1).max(1);
    let page_size = p.int("PageSize")?.unwrap_or(30).clamp(1, 100);
    let name = p.get("MigrationJobName");
    let jobs: Vec<&DtsJob> = dts
        .jobs
        .values()
        .filter(|j| {
            j.account_id == call.account && j.job_type == "MIGRATION" && j.instance_id.is_some()
        })
        .filter(|j| {
            name.is_none_or(|n| {
                j.config
                    .as_ref()
                    .is_some_and(|c| c.name.to_lowercase().contains(&n.to_lowercase()))
            })
        })
        .collect();
    let total = jobs.len();
    let items: Vec<Value> = jobs
        .into_iter()
        .skip(((page_num - 1) * page_size) as usize)
        .take(page_size as usize)
        .map(|job| {
            let config = job.config.clone().unwrap_or_default();
            let (pre, pre_pct) = job.precheck_status(call.now, timings);
            let (s, s_pct, s_prog) = job.stage_status(Phase::Structure, timings);
            let (f, f_pct, f_prog) = job.stage_status(Phase::Full, timings);
            let sync = job.sync_status(call.now, ctx);
            let mut dbs: Vec<Value> = Vec::new();
            for t in &config.tables {
                match dbs.iter_mut().find(|d| d["DatabaseName"] == t.db.as_str()) {
                    Some(d) => d["TableList"]["Table"].as_array_mut().expect("array").push(json!(t.name)),
                    None => dbs.push(json!({"DatabaseName": t.db, "WholeDatabase": "false", "TableList": {"Table": [t.name]}})),
                }
            }
            json!({
                "MigrationJobID": job.instance_id,
                "MigrationJobName": config.name,
                "MigrationJobStatus": legacy_status(job),
                "MigrationJobClass": job.class,
                "PayType": "PostPaid",
                "InstanceCreateTime": fmt_iso(job.created_at),
                "JobCreateTime": fmt_iso(job.created_at),
                "MigrationMode": {"StructureInitialization": config.modes.structure,
                    "DataInitialization": config.modes.full, "DataSynchronization": config.modes.incremental},
                "SourceEndpoint": endpoint_list(&config.source),
                "DestinationEndpoint": endpoint_list(&config.dest),
                "MigrationObject": {"SynchronousObject": dbs},
                "Precheck": {"Status": pre, "Percent": pre_pct.to_string()},
                "StructureInitialization": {"status": s, "Percent": s_pct.to_string(), "Progress": s_prog.to_string(), "ErrorMessage": ""},
                "DataInitialization": {"status": f, "Percent": f_pct.to_string(), "Progress": f_prog.to_string(), "ErrorMessage": ""},
                "DataSynchronization": {"status": sync,
                    "Percent": if sync == "Catched" { "100" } else if sync == "Migrating" { "95" } else { "0" },
                    "Delay": (job.lag_ms(call.now, ctx).unwrap_or(0) / 1000).to_string(), "ErrorMessage": error_text(job)},
                "Tags": {"Tag": []},
            })
        })
        .collect();
    Ok(json!({
        "Success": true,
        "PageNumber": page_num,
        "PageRecordCount": items.len(),
        "TotalRecordCount": total,
        "MigrationJobs": {"MigrationJob": items},
    }))
}

fn detail(dts: &Dts, call: Call<'_>) -> Result<Value, ApiError> {
    let p = call.params;
    let id = job_id(dts, call)?;
    let job = &dts.jobs[&id];
    let timings = &dts.spec.timings;
    let ctx = dts.ctx();
    let config = job.config.clone().unwrap_or_default();
    let page_num = p.int("PageNum")?.unwrap_or(1).max(1);
    let page_size = p.int("PageSize")?.unwrap_or(30).clamp(1, 100);
    let page = |rows: Vec<Value>| -> Vec<Value> {
        rows.into_iter()
            .skip(((page_num - 1) * page_size) as usize)
            .take(page_size as usize)
            .collect()
    };
    let (_, s_pct, _) = job.stage_status(Phase::Structure, timings);
    let (f_status, f_pct, _) = job.stage_status(Phase::Full, timings);
    let sync = job.sync_status(call.now, ctx);
    let n = config.tables.len().max(1) as i64;
    let structure: Vec<Value> = config
        .tables
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let done = s_pct * n / 100 > i as i64 || job.phase_finished.contains_key(&Phase::Structure);
            json!({"ObjectName": t.name, "ObjectType": "Table",
                   "ObjectDefinition": format!("CREATE TABLE `{}`.`{}` (...)", t.dst_db, t.dst_name),
                   "SourceOwnerDBName": t.db, "DestinationOwnerDBName": t.dst_db,
                   "Status": if done { "Finished" } else { "NotStarted" }, "ErrorMessage": "",
                   "ConstraintList": {"StructureInitializationDetail": []}})
        })
        .collect();
    let total_rows: i64 = config.tables.iter().map(|t| t.rows).sum();
    let done_rows = if f_status == "Finished" {
        total_rows
    } else {
        total_rows * f_pct / 100
    };
    let mut seen = 0;
    let data: Vec<Value> = config
        .tables
        .iter()
        .map(|t| {
            let finish = (done_rows - seen).clamp(0, t.rows);
            seen += t.rows;
            json!({"TableName": t.name, "SourceOwnerDBName": t.db, "DestinationOwnerDBName": t.dst_db,
                   "TotalRowNum": t.rows.to_string(), "FinishRowNum": finish.to_string(),
                   "MigrationTime": "0", "Status": if finish >= t.rows { "Finished" } else if finish > 0 { "Migrating" } else { "NotStarted" },
                   "ErrorMessage": ""})
        })
        .collect();
    let incremental: Vec<Value> = config
        .tables
        .iter()
        .map(|t| {
            json!({"TableName": t.name, "SourceOwnerDBName": t.db, "DestinationOwnerDBName": t.dst_db,
                   "Status": sync, "ErrorMessage": ""})
        })
        .collect();
    let want = |k: &str| p.bool(&format!("MigrationMode.{k}"));
    let (want_s, want_f, want_i) = (
        want("StructureInitialization")?.unwrap_or(false),
        want("DataInitialization")?.unwrap_or(false),
        want("DataSynchronization")?.unwrap_or(false),
    );
    let total = if want_s || want_f || want_i {
        config.tables.len()
    } else {
        0
    };
    let s_rows = if want_s { page(structure) } else { Vec::new() };
    let f_rows = if want_f { page(data) } else { Vec::new() };
    let i_rows = if want_i {
        page(incremental)
    } else {
        Vec::new()
    };
    let count = s_rows.len().max(f_rows.len()).max(i_rows.len());
    Ok(json!({
        "Success": true,
        "PageNumber": page_num,
        "PageRecordCount": count,
        "TotalRecordCount": total,
        "StructureInitializationDetailList": {"StructureInitializationDetail": s_rows},
        "DataInitializationDetailList": {"DataInitializationDetail": f_rows},
        "DataSynchronizationDetailList": {"DataSynchronizationDetail": i_rows},
    }))
}
