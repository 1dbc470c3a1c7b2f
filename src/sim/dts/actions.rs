//! The DTS 2020-01-01 actions (`CreateDtsInstance`, `ConfigureDtsJob`, `DescribeDtsJobDetail`,
//! …) with the response keys and casing of the official SDK models.

use serde_json::{Value, json};

use super::job::{DtsJob, Endpoint, JobConfig, Modes, Phase, State};
use super::{Dts, check, normalize_engine, truthy};
use crate::sim::clock::{SimMillis, fmt_iso};
use crate::sim::ids::IdGen;
use crate::sim::wire::{ApiError, Params};

/// Actions of the new API served here.
pub const ACTIONS: &[&str] = &[
    "CreateDtsInstance",
    "ConfigureDtsJob",
    "StartDtsJob",
    "SuspendDtsJob",
    "StopDtsJob",
    "DeleteDtsJob",
    "DescribeDtsJobDetail",
    "DescribeDtsJobs",
    "DescribePreCheckStatus",
    "ListJobStep",
    "CreateJobMonitorRule",
    "DescribeJobMonitorRule",
    "DescribeCheckJobs",
    "DescribeDataCheckTableDetails",
    "DescribeDataCheckTableDiffDetails",
    "SkipPreCheck",
];

/// One call: parameters, the calling account and the simulated time.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    pub params: &'a Params,
    pub account: &'a str,
    pub now: SimMillis,
    pub region: &'a str,
}

/// `Forbidden.InstanceNotFound` as a business error.
pub fn not_found(id: &str) -> ApiError {
    ApiError::business(
        "Forbidden.InstanceNotFound",
        "The specified instance or job %s does not exist or has been released.",
        id,
        403,
    )
}

/// `InvalidJobStatus` as a business error.
pub fn bad_status(status: &str) -> ApiError {
    ApiError::business(
        "InvalidJobStatus",
        "The operation is not allowed while the job is %s.",
        status,
        403,
    )
}

fn ok() -> Value {
    json!({"Success": true, "HttpStatusCode": 200})
}

/// Handles a new-API action.
pub fn handle(
    dts: &mut Dts,
    ids: &mut IdGen,
    action: &str,
    call: Call<'_>,
) -> Result<Value, ApiError> {
    let p = call.params;
    match action {
        "CreateDtsInstance" => create_instance(dts, ids, call),
        "ConfigureDtsJob" => configure(dts, ids, call),
        "StartDtsJob" | "SuspendDtsJob" | "StopDtsJob" => {
            let id = target(dts, call)?;
            let (job, ctx) = dts.job_mut(&id).expect("found");
            let outcome = match action {
                "StartDtsJob" => job.start(call.now, ctx),
                "SuspendDtsJob" => job.suspend(call.now, ctx),
                _ => job.stop(call.now, ctx),
            };
            outcome.map_err(|s| bad_status(&s))?;
            Ok(ok())
        }
        "DeleteDtsJob" => {
            let id = target(dts, call)?;
            dts.jobs.remove(&id);
            Ok(ok())
        }
        "DescribeDtsJobDetail" => {
            let job_id = p.get("DtsJobId");
            let instance_id = p.get_any(&["DtsInstanceID", "DtsInstanceId"]);
            if job_id.is_none() && instance_id.is_none() {
                return Err(ApiError::missing("DtsJobId"));
            }
            let job = dts
                .find(call.account, job_id, instance_id)
                .ok_or_else(|| not_found(job_id.or(instance_id).unwrap_or_default()))?;
            Ok(detail(dts, job, call.now))
        }
        "DescribeDtsJobs" => describe_jobs(dts, call),
        "DescribePreCheckStatus" => precheck_status(dts, call),
        "ListJobStep" => {
            let job = job_by_id(dts, call)?;
            Ok(
                json!({"JobSteps": job_steps(dts, job, call.now), "UseV2API": false, "Success": true,
                      "HttpStatusCode": 200, "Code": "200"}),
            )
        }
        "CreateJobMonitorRule" => {
            let id = job_by_id(dts, call)?.id.clone();
            let kind = p.get("Type").unwrap_or("error").to_string();
            if !["delay", "error", "full_timeout"].contains(&kind.as_str()) {
                return Err(ApiError::invalid("Type"));
            }
            let delay = p.int("DelayRuleTime")?;
            if kind != "error" && delay.is_none() {
                return Err(ApiError::missing("DelayRuleTime"));
            }
            let state = p.get("State").unwrap_or("Y").to_string();
            let rule = super::job::MonitorRule {
                kind: kind.clone(),
                state,
                delay_rule_time: delay.unwrap_or(0),
                phone: p.get("Phone").unwrap_or_default().to_string(),
                notice_value: p.int("NoticeValue")?.unwrap_or(0),
                period: p.int("Period")?.unwrap_or(0),
                times: p.int("Times")?.unwrap_or(0),
            };
            let job = dts.jobs.get_mut(&id).expect("found");
            job.monitor_rules.retain(|r| r.kind != kind);
            job.monitor_rules.push(rule);
            Ok(json!({"DtsJobId": id, "Success": true, "HttpStatusCode": 200, "Code": "200"}))
        }
        "DescribeJobMonitorRule" => {
            let job = job_by_id(dts, call)?;
            let rules: Vec<Value> = job
                .monitor_rules
                .iter()
                .map(|r| {
                    json!({"Type": r.kind, "State": r.state, "DelayRuleTime": r.delay_rule_time, "Phone": r.phone,
                           "NoticeValue": r.notice_value, "Period": r.period, "Times": r.times,
                           "JobId": job.id, "JobType": "normal"})
                })
                .collect();
            Ok(
                json!({"DtsJobId": job.id, "MonitorRules": rules, "Topics": [], "Success": true,
                      "HttpStatusCode": 200, "Code": "200"}),
            )
        }
        "DescribeCheckJobs" => check::check_jobs(dts, call),
        "DescribeDataCheckTableDetails" => check::table_details(dts, call),
        "DescribeDataCheckTableDiffDetails" => check::table_diff_details(dts, call),
        "SkipPreCheck" => skip_precheck(dts, call),
        other => Err(ApiError::new(
            404,
            "InvalidAction.NotFound",
            format!("Specified api {other} is not found."),
        )),
    }
}

/// The job addressed by `DtsJobId` or `DtsInstanceId` (business error when unknown).
fn target(dts: &Dts, call: Call<'_>) -> Result<String, ApiError> {
    let job_id = call.params.get("DtsJobId");
    let instance_id = call.params.get_any(&["DtsInstanceId", "DtsInstanceID"]);
    if job_id.is_none() && instance_id.is_none() {
        return Err(ApiError::missing("DtsJobId"));
    }
    dts.find_id(call.account, job_id, instance_id)
        .ok_or_else(|| not_found(job_id.or(instance_id).unwrap_or_default()))
}

fn job_by_id<'d>(dts: &'d Dts, call: Call<'_>) -> Result<&'d DtsJob, ApiError> {
    let id = call.params.require("DtsJobId")?;
    dts.find(call.account, Some(id), None)
        .ok_or_else(|| not_found(id))
}

fn create_instance(dts: &mut Dts, ids: &mut IdGen, call: Call<'_>) -> Result<Value, ApiError> {
    let p = call.params;
    let pay_type = p.require("PayType")?;
    let pay_type = match pay_type.to_ascii_lowercase().as_str() {
        "postpaid" | "payasyougo" => "PostPaid",
        "prepaid" | "subscription" => "PrePaid",
        _ => return Err(ApiError::invalid("PayType")),
    };
    if let Some(token) = p.get("ClientToken")
        && let Some(id) = dts
            .client_tokens
            .get(&(call.account.to_string(), token.to_string()))
    {
        return Ok(json!({"InstanceId": format!("dts{id}"), "JobId": id, "Success": true}));
    }
    let auto_start = p.bool("AutoStart")?.unwrap_or(false);
    let class = p.get("InstanceClass").unwrap_or("small").to_string();
    let id = if let Some(job_id) = p.get("JobId") {
        let job = dts
            .jobs
            .get_mut(job_id)
            .filter(|j| j.account_id == call.account)
            .ok_or_else(|| not_found(job_id))?;
        if job.instance_id.is_some() {
            return Err(ApiError::invalid_because(
                "JobId",
                "the job already has an instance",
            ));
        }
        job.instance_id = Some(format!("dts{job_id}"));
        job.pay_type = pay_type.into();
        job.class = class;
        if auto_start && job.state == State::NotStarted {
            let (job, ctx) = dts.job_mut(job_id).expect("exists");
            job.start(call.now, ctx).map_err(|s| bad_status(&s))?;
        }
        job_id.to_string()
    } else {
        let kind = p.require("Type")?.to_ascii_uppercase();
        if !["MIGRATION", "SYNC"].contains(&kind.as_str()) {
            return Err(ApiError::invalid_because(
                "Type",
                "MIGRATION and SYNC are simulated",
            ));
        }
        p.require("SourceRegion")?;
        let dest_region = p.require("DestinationRegion")?;
        let id = ids.dts_job_id();
        let mut job = DtsJob::new(
            id.clone(),
            true,
            call.account,
            dest_region,
            &kind,
            pay_type,
            &class,
            call.now,
        );
        job.source_engine = normalize_engine(p.get("SourceEndpointEngineName").unwrap_or("MySQL"));
        job.dest_engine =
            normalize_engine(p.get("DestinationEndpointEngineName").unwrap_or("MySQL"));
        dts.jobs.insert(id.clone(), job);
        id
    };
    dts.purchases += 1;
    if let Some(token) = p.get("ClientToken") {
        dts.client_tokens
            .insert((call.account.to_string(), token.to_string()), id.clone());
    }
    Ok(json!({"InstanceId": format!("dts{id}"), "JobId": id, "Success": true}))
}

fn endpoint(p: &Params, side: &str) -> Endpoint {
    let get = |k: &str| {
        p.get(&format!("{side}Endpoint{k}"))
            .unwrap_or_default()
            .to_string()
    };
    Endpoint {
        instance_type: get("InstanceType"),
        engine_name: normalize_engine(&get("EngineName")),
        instance_id: get("InstanceID"),
        region: get("Region"),
        ip: get("IP"),
        port: get("Port"),
        database_name: if side == "Source" {
            get("DatabaseName")
        } else {
            get("DataBaseName")
        },
        user_name: get("UserName"),
        oracle_sid: get("OracleSID"),
        owner_id: get("OwnerID"),
        role: get("Role"),
    }
}

const SOURCE_TYPES: &[&str] = &[
    "RDS",
    "POLARDB",
    "ADS",
    "REDIS",
    "DISTRIBUTED_POLARDBX10",
    "POLARDBX20",
    "MONGODB",
    "DISTRIBUTED_DMSLOGICDB",
    "LINDORM",
    "OTHER",
    "ECS",
    "EXPRESS",
    "CEN",
    "DG",
];
const DEST_TYPES: &[&str] = &[
    "RDS",
    "POLARDB",
    "DISTRIBUTED_POLARDBX10",
    "POLARDBX20",
    "REDIS",
    "ADS",
    "MONGODB",
    "ROCKETMQ",
    "GREENPLUM",
    "DATAHUB",
    "ELK",
    "TABLESTORE",
    "ODPS",
    "LINDORM",
    "OTHER",
    "ECS",
    "EXPRESS",
    "CEN",
    "DG",
];

/// Reads `Reserve`: whether to start after configuring, and `maxRetryTime` in milliseconds. The
/// retry windows are seconds on the wire (Alibaba's DTS runtime reads them so, and its defaults
/// 43200 and 600 are the console's 720 and 10 minutes); the console's ranges bound them.
pub fn parse_reserve(text: Option<&str>, param: &str) -> Result<(bool, i64), ApiError> {
    let Some(text) = text else {
        return Ok((true, 0));
    };
    let v: Value = serde_json::from_str(text)
        .map_err(|_| ApiError::invalid_because(param, "expected a JSON object"))?;
    let text_of = |key: &str| {
        v.get(key).map(|m| {
            m.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| m.to_string())
        })
    };
    if let Some(mode) = text_of("targetTableMode")
        && !["0", "2"].contains(&mode.as_str())
    {
        return Err(ApiError::invalid_because(
            param,
            "targetTableMode must be \"0\" (fail on existing tables) or \"2\" (ignore them)",
        ));
    }
    if let Some(case) = text_of("dbListCaseChangeMode")
        && !["default", "source", "dest_upper", "dest_lower"].contains(&case.as_str())
    {
        return Err(ApiError::invalid_because(
            param,
            "dbListCaseChangeMode must be default, source, dest_upper or dest_lower",
        ));
    }
    let seconds =
        |key: &str, range: std::ops::RangeInclusive<i64>| -> Result<Option<i64>, ApiError> {
            match text_of(key) {
                None => Ok(None),
                Some(t) => match t.parse::<i64>() {
                    Ok(n) if range.contains(&n) => Ok(Some(n)),
                    _ => Err(ApiError::invalid_because(
                        param,
                        &format!(
                            "{key} must be seconds within {}..={}",
                            range.start(),
                            range.end()
                        ),
                    )),
                },
            }
        };
    let retry = seconds("maxRetryTime", 600..=86_400)?;
    let blind = seconds("retry.blind.seconds", 60..=86_400)?;
    if let Some(b) = blind
        && b >= retry.unwrap_or(43_200)
    {
        return Err(ApiError::invalid_because(
            param,
            "retry.blind.seconds must be smaller than maxRetryTime",
        ));
    }
    for stage in ["fullDynamicConfig", "incDynamicConfig"] {
        if let Some(limits) = v.get(stage) {
            let known = [
                "dts.datamove.source.bps.max",
                "dts.datamove.source.rps.max",
                "dts.datamove.blaster.qps.max",
            ];
            let ok = limits.as_object().is_some_and(|m| {
                m.iter()
                    .all(|(k, n)| known.contains(&k.as_str()) && (n.is_i64() || n.is_string()))
            });
            if !ok {
                return Err(ApiError::invalid_because(
                    param,
                    &format!("{stage} must be an object of known limits"),
                ));
            }
        }
    }
    let auto = v
        .get("autoStartModulesAfterConfig")
        .and_then(Value::as_str)
        .is_none_or(|s| !s.eq_ignore_ascii_case("none"));
    Ok((auto, retry.map(|s| s * 1000).unwrap_or(0)))
}

fn required_bool(p: &Params, key: &str) -> Result<bool, ApiError> {
    p.bool(key)?.ok_or_else(|| ApiError::missing(key))
}

fn configure(dts: &mut Dts, ids: &mut IdGen, call: Call<'_>) -> Result<Value, ApiError> {
    let p = call.params;
    let name = p.require("DtsJobName")?.to_string();
    let job_type = p.get("JobType").unwrap_or("MIGRATION").to_ascii_uppercase();
    if !["MIGRATION", "SYNC"].contains(&job_type.as_str()) {
        return Err(ApiError::invalid_because(
            "JobType",
            "MIGRATION and SYNC are simulated",
        ));
    }
    let modes = Modes {
        structure: required_bool(p, "StructureInitialization")?,
        full: required_bool(p, "DataInitialization")?,
        incremental: required_bool(p, "DataSynchronization")?,
    };
    if !(modes.structure || modes.full || modes.incremental) {
        return Err(ApiError::invalid_because(
            "DataSynchronization",
            "at least one migration type must be selected",
        ));
    }
    let source = endpoint(p, "Source");
    let dest = endpoint(p, "Destination");
    p.require("SourceEndpointInstanceType")?;
    p.require("DestinationEndpointInstanceType")?;
    if !SOURCE_TYPES
        .iter()
        .any(|t| t.eq_ignore_ascii_case(&source.instance_type))
    {
        return Err(ApiError::invalid("SourceEndpointInstanceType"));
    }
    if !DEST_TYPES
        .iter()
        .any(|t| t.eq_ignore_ascii_case(&dest.instance_type))
    {
        return Err(ApiError::invalid("DestinationEndpointInstanceType"));
    }
    let odps = dest.instance_type.eq_ignore_ascii_case("ODPS");
    if odps {
        // MaxCompute: project name, and the AccessKey pair as user name and password.
        p.require("DestinationEndpointDataBaseName")?;
        p.require("DestinationEndpointUserName")?;
        p.require("DestinationEndpointPassword")?;
    }
    let db_list = p.require("DbList")?.to_string();
    let tables = dts.tables_for_db_list(&source.instance_id, &db_list, odps)?;
    let (auto_start, max_retry_ms) = parse_reserve(p.get("Reserve"), "Reserve")?;
    let (data_check, inc_data_check) = match p.get("DataCheckConfigure") {
        Some(text) => {
            let v: Value = serde_json::from_str(text).map_err(|_| {
                ApiError::invalid_because("DataCheckConfigure", "expected a JSON object")
            })?;
            (
                v.get("fullDataCheck").is_some_and(truthy),
                v.get("incrementalDataCheck").is_some_and(truthy),
            )
        }
        None => (false, false),
    };
    let config = JobConfig {
        name,
        source,
        dest,
        modes,
        db_list,
        migration_object: String::new(),
        reserve: p.get("Reserve").unwrap_or("{}").to_string(),
        tables,
        checkpoint: p.int("Checkpoint")?,
        data_check,
        inc_data_check,
        max_retry_ms,
    };
    let existing = match (p.get("DtsJobId"), p.get("DtsInstanceId")) {
        (None, None) => None,
        (job_id, instance_id) => Some(
            dts.find_id(call.account, job_id, instance_id)
                .ok_or_else(|| not_found(job_id.or(instance_id).unwrap_or_default()))?,
        ),
    };
    let items = dts.spec.precheck_items.clone();
    let id = match existing {
        Some(id) => {
            let job = dts.jobs.get_mut(&id).expect("found");
            // Reconfiguring is allowed until the task has started successfully.
            if !matches!(
                job.state,
                State::NotConfigured | State::NotStarted | State::PrecheckFailed
            ) {
                return Err(bad_status(job.status()));
            }
            job.job_type = job_type;
            job.configure(config, items, auto_start, call.now);
            id
        }
        None => {
            let id = ids.dts_job_id();
            let mut job = DtsJob::new(
                id.clone(),
                false,
                call.account,
                call.region,
                &job_type,
                "PostPaid",
                "small",
                call.now,
            );
            job.configure(config, items, false, call.now);
            dts.jobs.insert(id.clone(), job);
            id
        }
    };
    let job = &dts.jobs[&id];
    Ok(json!({
        "DtsJobId": id,
        "DtsInstanceId": job.instance_id.clone().unwrap_or_default(),
        "Success": true,
        "HttpStatusCode": 200,
    }))
}

fn endpoint_json(e: &Endpoint, fallback_engine: &str, detail: bool) -> Value {
    let mut v = json!({
        "InstanceType": e.instance_type,
        "InstanceID": e.instance_id,
        "EngineName": if e.engine_name.is_empty() { fallback_engine.to_string() } else { e.engine_name.clone() },
        "Region": e.region,
        "Ip": e.ip,
        "Port": e.port,
        "DatabaseName": e.database_name,
        "UserName": e.user_name,
        "OracleSID": e.oracle_sid,
        "SslSolutionEnum": "DISABLE",
    });
    if detail {
        v["AliyunUid"] = json!(e.owner_id);
        v["RoleName"] = json!(e.role);
        v["CanModifyPassword"] = json!(true);
    }
    v
}

fn retry_state(dts: &Dts, job: &DtsJob, now: SimMillis) -> Value {
    let max = job.max_retry_ms(&dts.spec.timings) / 1000;
    match &job.state {
        State::Retrying { since, message, .. } => json!({
            "Retrying": true,
            "RetryCount": job.retry_count,
            "RetryTime": (now - since) / 1000,
            "MaxRetryTime": max,
            "RetryTarget": "srcDB",
            "Module": if job.phase == Phase::Incremental { "04" } else { "03" },
            "JobId": job.id,
            "ErrMessage": message,
        }),
        _ => {
            json!({"Retrying": false, "RetryCount": job.retry_count, "RetryTime": 0, "MaxRetryTime": max,
                    "RetryTarget": "", "Module": "", "JobId": job.id, "ErrMessage": ""})
        }
    }
}

fn modes_of(job: &DtsJob) -> Modes {
    job.config.as_ref().map(|c| c.modes).unwrap_or_default()
}

fn error_message(job: &DtsJob) -> String {
    match &job.state {
        State::Failed { message } | State::Retrying { message, .. } => message.clone(),
        _ => job.error_message.clone().unwrap_or_default(),
    }
}

fn finish_time(job: &DtsJob) -> Option<SimMillis> {
    match job.state {
        State::Finished { at } => Some(at),
        _ => None,
    }
}

/// DescribeDtsJobDetail.
pub fn detail(dts: &Dts, job: &DtsJob, now: SimMillis) -> Value {
    let ctx = dts.ctx();
    let config = job.config.clone().unwrap_or_default();
    let m = config.modes;
    let sync = job.sync_status(now, ctx);
    json!({
        "Success": true,
        "HttpStatusCode": 200,
        "DtsJobId": job.id,
        "DtsInstanceID": job.instance_id.clone().unwrap_or_default(),
        "DtsJobName": config.name,
        "DtsJobClass": job.class,
        "DtsJobDirection": "Forward",
        "JobType": job.job_type,
        "Status": job.status(),
        "Delay": job.lag_ms(now, ctx).unwrap_or(0),
        "Checkpoint": job.checkpoint(now, ctx).unwrap_or(0),
        "ErrorMessage": error_message(job),
        "CreateTime": fmt_iso(job.created_at),
        "BootTime": job.phase_started.get(&Phase::Precheck).map(|t| fmt_iso(*t)),
        "FinishTime": finish_time(job).map(fmt_iso),
        "LastUpdateTime": fmt_iso(now),
        "PayType": job.pay_type,
        "ResourceGroupId": "rg-acfmsimdefault",
        "ResourceGroupDisplayName": "default resource group",
        "DatabaseCount": config.tables.iter().map(|t| &t.db).collect::<std::collections::BTreeSet<_>>().len(),
        "DbObject": config.db_list,
        "Reserved": config.reserve,
        "DemoJob": false,
        "MigrationMode": {
            "StructureInitialization": m.structure,
            "DataInitialization": m.full,
            "DataSynchronization": m.incremental,
            "DataExtractTransformLoad": false,
        },
        "SourceEndpoint": endpoint_json(&config.source, &job.source_engine, true),
        "DestinationEndpoint": endpoint_json(&config.dest, &job.dest_engine, true),
        "DataSynchronizationStatus": {
            "Status": sync,
            "Percent": if sync == "Catched" { "100" } else if sync == "Migrating" { "95" } else { "0" },
            "Progress": "0",
            "ErrorMessage": if sync == "Failed" { error_message(job) } else { String::new() },
            "NeedUpgrade": false,
        },
        "RetryState": retry_state(dts, job, now),
    })
}

/// A DescribeDtsJobs item.
pub fn list_item(dts: &Dts, job: &DtsJob, now: SimMillis, with_db_list: bool) -> Value {
    let ctx = dts.ctx();
    let timings = &dts.spec.timings;
    let config = job.config.clone().unwrap_or_default();
    let m = modes_of(job);
    let (pre_status, pre_percent) = job.precheck_status(now, timings);
    let details: Vec<Value> = job
        .precheck_items(now, timings)
        .iter()
        .filter(|i| matches!(i.state, "Success" | "Failed" | "Warning"))
        .map(|i| {
            json!({
                "CheckItem": i.item,
                "CheckItemDescription": i.description,
                "CheckResult": if i.state == "Failed" { "Failed" } else { "Success" },
                "FailedReason": i.message,
                "RepairMethod": i.repair,
            })
        })
        .collect();
    let failed_items: Vec<String> = details
        .iter()
        .filter(|d| d["CheckResult"] == "Failed")
        .map(|d| d["CheckItem"].as_str().unwrap_or_default().to_string())
        .collect();
    let (s_status, s_percent, s_progress) = job.stage_status(Phase::Structure, timings);
    let (f_status, f_percent, f_progress) = job.stage_status(Phase::Full, timings);
    let sync = job.sync_status(now, ctx);
    let running_full = job.state == State::Running && job.phase == Phase::Full;
    let checkpoint = job
        .checkpoint(now, ctx)
        .map(|c| c.to_string())
        .unwrap_or_default();
    let mut v = json!({
        "DtsJobId": job.id,
        "DtsInstanceID": job.instance_id.clone().unwrap_or_default(),
        "DtsJobName": config.name,
        "DtsJobClass": job.class,
        "DtsJobDirection": "Forward",
        "JobType": job.job_type,
        "OriginType": "PTS",
        "PayType": job.pay_type,
        "CreateTime": fmt_iso(job.created_at),
        "Status": job.status(),
        "Delay": job.lag_ms(now, ctx).unwrap_or(0),
        "Checkpoint": checkpoint,
        "EtlSafeCheckpoint": checkpoint,
        "ErrorMessage": error_message(job),
        "MigrationMode": {
            "StructureInitialization": m.structure,
            "DataInitialization": m.full,
            "DataSynchronization": m.incremental,
            "FullDataCheck": config.data_check,
            "IncDataCheck": config.inc_data_check,
            "StructureDataCheck": false,
            "TimeWindowCheck": false,
        },
        "PrecheckStatus": {
            "Status": pre_status,
            "Percent": pre_percent.to_string(),
            "ErrorMessage": if failed_items.is_empty() { String::new() } else { format!("precheck failed: {}", failed_items.join(", ")) },
            "Detail": details,
        },
        "StructureInitializationStatus": {"Status": s_status, "Percent": s_percent.to_string(), "Progress": s_progress.to_string(),
            "ErrorMessage": if s_status == "Failed" { error_message(job) } else { String::new() }},
        "DataInitializationStatus": {"Status": f_status, "Percent": f_percent.to_string(), "Progress": f_progress.to_string(),
            "ErrorMessage": if f_status == "Failed" { error_message(job) } else { String::new() }},
        "DataSynchronizationStatus": {"Status": sync,
            "Percent": if sync == "Catched" { "100" } else if sync == "Migrating" { "95" } else { "0" },
            "Progress": "0", "ErrorMessage": if sync == "Failed" { error_message(job) } else { String::new() }, "NeedUpgrade": false},
        "FullDataCheckStatus": check::full_status(job, now, timings),
        "IncDataCheckStatus": check::incremental_status(job, now, ctx),
        "Performance": {
            "Rps": if running_full { (timings.full_rows_per_second as i64).to_string() } else if sync == "NotStarted" { "0".into() } else { "120".to_string() },
            "Flow": if running_full { "12.5" } else { "0.05" },
        },
        "RetryState": retry_state(dts, job, now),
        "SourceEndpoint": endpoint_json(&config.source, &job.source_engine, false),
        "DestinationEndpoint": endpoint_json(&config.dest, &job.dest_engine, false),
        "Reserved": config.reserve,
        "ResourceGroupId": "rg-acfmsimdefault",
        "ResourceGroupDisplayName": "default resource group",
        "TagList": [],
        "ErrorDetails": [],
    });
    if with_db_list {
        v["DbObject"] = json!(config.db_list);
    }
    v
}

fn describe_jobs(dts: &Dts, call: Call<'_>) -> Result<Value, ApiError> {
    let p = call.params;
    let job_type = p.get("JobType").unwrap_or("MIGRATION").to_ascii_uppercase();
    let list = |k: &str| -> Vec<String> {
        p.get(k)
            .map(|v| v.split(',').map(|s| s.trim().to_string()).collect())
            .unwrap_or_default()
    };
    let (job_ids, instance_ids) = (list("DtsJobId"), list("DtsInstanceId"));
    let status = p.get("Status");
    let region = p.get_any(&["Region", "RegionId"]);
    let (query_type, query) = (p.get("Type"), p.get("Params"));
    let page_number = p.int("PageNumber")?.unwrap_or(1).max(1);
    let page_size = p.int("PageSize")?.unwrap_or(20).clamp(1, 100);
    let without_db = p.bool("WithoutDbList")?.unwrap_or(false);
    let mut jobs: Vec<&DtsJob> = dts
        .jobs
        .values()
        .filter(|j| j.account_id == call.account && j.job_type == job_type)
        .filter(|j| job_ids.is_empty() || job_ids.contains(&j.id))
        .filter(|j| {
            instance_ids.is_empty()
                || j.instance_id
                    .as_ref()
                    .is_some_and(|i| instance_ids.contains(i))
        })
        .filter(|j| status.is_none_or(|s| s.eq_ignore_ascii_case(j.status())))
        .filter(|j| region.is_none_or(|r| r == j.region))
        .filter(|j| match (query_type, query) {
            (Some("name"), Some(q)) => j
                .config
                .as_ref()
                .is_some_and(|c| c.name.to_lowercase().contains(&q.to_lowercase())),
            (Some("instance"), Some(q)) => j.instance_id.as_deref() == Some(q) || j.id == q,
            (Some("srcRds"), Some(q)) => {
                j.config.as_ref().is_some_and(|c| c.source.instance_id == q)
            }
            (Some("rds"), Some(q)) => j.config.as_ref().is_some_and(|c| c.dest.instance_id == q),
            _ => true,
        })
        .collect();
    let desc = p
        .get("OrderDirection")
        .is_some_and(|d| d.eq_ignore_ascii_case("DESC"));
    match p.get("OrderColumn") {
        Some("FinishTime") => jobs.sort_by_key(|j| finish_time(j).unwrap_or(i64::MAX)),
        _ => jobs.sort_by_key(|j| (j.created_at, j.id.clone())),
    }
    if desc {
        jobs.reverse();
    }
    let total = jobs.len();
    let items: Vec<Value> = jobs
        .into_iter()
        .skip(((page_number - 1) * page_size) as usize)
        .take(page_size as usize)
        .map(|j| list_item(dts, j, call.now, !without_db))
        .collect();
    Ok(json!({
        "DtsJobList": items,
        "EtlDemoList": [],
        "TotalRecordCount": total,
        "PageNumber": page_number,
        "PageRecordCount": items.len(),
        "Success": true,
        "HttpStatusCode": 200,
    }))
}

fn precheck_status(dts: &Dts, call: Call<'_>) -> Result<Value, ApiError> {
    let p = call.params;
    let job = job_by_id(dts, call)?;
    let code = p.require("JobCode")?;
    let ctx = dts.ctx();
    let timings = &dts.spec.timings;
    let page_no = p.int("PageNo")?.unwrap_or(1).max(1);
    let page_size = p.int("PageSize")?.unwrap_or(20).clamp(1, 100);
    let name = p.get("Name");
    let config = job.config.clone().unwrap_or_default();
    let fmt = |t: Option<SimMillis>| t.map(fmt_iso).unwrap_or_default();
    let (state, rows): (&str, Vec<Value>) = match code {
        "01" => {
            let (status, _) = job.precheck_status(call.now, timings);
            let items = job.precheck_items(call.now, timings);
            let rows = items
                .iter()
                .enumerate()
                .map(|(i, it)| {
                    json!({
                        "Id": format!("{}-{i}", job.id), "JobId": job.id, "Item": it.item, "Names": it.description,
                        "OrderNum": i + 1, "State": it.state, "ErrMsg": it.message, "ErrDetail": it.message,
                        "RepairMethod": it.repair, "CanSkip": it.can_skip, "Skip": it.skipped,
                        "IgnoreFlag": if it.skipped { "Y" } else { "N" },
                        "BootTime": fmt(it.boot_time), "FinishTime": fmt(it.finish_time),
                        "Current": "", "Total": 0, "Logs": [],
                    })
                })
                .collect();
            (status, rows)
        }
        "02" if p
            .get("StructType")
            .is_some_and(|t| t.eq_ignore_ascii_case("after")) =>
        {
            let rows = job
                .ddl_events
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    let (db, table) = e.table.split_once('.').unwrap_or(("", &e.table));
                    let state = if e.error.is_empty() { "Success" } else { "Failed" };
                    json!({
                        "Id": format!("{}-after-{i}", job.id), "JobId": job.id, "Item": "Table", "Names": table,
                        "SourceSchema": db, "DestSchema": db, "OrderNum": i + 1, "State": state,
                        "DdlSql": e.sql, "ErrMsg": e.error, "ErrDetail": "", "BootTime": fmt(Some(e.at)),
                        "FinishTime": fmt(Some(e.at)), "Current": "", "Total": 1, "CanSkip": false,
                        "Skip": false, "IgnoreFlag": "N", "Logs": [],
                    })
                })
                .collect();
            (
                if job.phase == Phase::Incremental {
                    "Migrating"
                } else {
                    "Finished"
                },
                rows,
            )
        }
        "02" | "03" => {
            let phase = if code == "02" {
                Phase::Structure
            } else {
                Phase::Full
            };
            let (status, percent, _) = job.stage_status(phase, timings);
            let n = config.tables.len().max(1) as i64;
            let total_rows: i64 = config.tables.iter().map(|t| t.rows).sum();
            let mut seen_rows = 0i64;
            let rows = config
                .tables
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    // Tables complete in order; the stage's percent says how far.
                    let (item_state, current) = if code == "02" {
                        let done = percent * n / 100 > i as i64 || status == "Finished";
                        (if done { "Success" } else if status == "NotStarted" { "NotStarted" } else { "Migrating" }, if done { 1 } else { 0 })
                    } else {
                        let done_rows = if status == "Finished" { total_rows } else { total_rows * percent / 100 };
                        let current = (done_rows - seen_rows).clamp(0, t.rows);
                        seen_rows += t.rows;
                        (if current >= t.rows { "Success" } else if current > 0 { "Migrating" } else { "NotStarted" }, current)
                    };
                    json!({
                        "Id": format!("{}-{code}-{i}", job.id), "JobId": job.id, "Item": "Table", "Names": t.name,
                        "SourceSchema": t.db, "DestSchema": t.dst_db, "TargetNames": t.dst_name,
                        "OrderNum": i + 1, "State": item_state, "Current": current.to_string(),
                        "Total": if code == "02" { 1 } else { t.rows }, "ErrMsg": "", "CanSkip": false, "Skip": false,
                        "IgnoreFlag": "N", "Logs": [],
                    })
                })
                .collect();
            (
                if status == "Migrating" {
                    "Migrating"
                } else {
                    status
                },
                rows,
            )
        }
        "04" => {
            let sync = job.sync_status(call.now, ctx);
            let delay = job.lag_ms(call.now, ctx).unwrap_or(0) / 1000;
            let rows = config
                .tables
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    json!({
                        "Id": format!("{}-04-{i}", job.id), "JobId": job.id, "Item": "Table", "Names": t.name,
                        "SourceSchema": t.db, "DestSchema": t.dst_db,
                        "TargetNames": t.dst_name.strip_suffix("_base").map(|b| format!("{b}_log")).unwrap_or_else(|| t.dst_name.clone()),
                        "OrderNum": i + 1, "State": if sync == "NotStarted" { "NotStarted" } else { "Migrating" },
                        "DelaySeconds": delay, "Current": "", "Total": 0, "ErrMsg": "", "CanSkip": false, "Skip": false,
                        "IgnoreFlag": "N", "Logs": [],
                    })
                })
                .collect();
            (sync, rows)
        }
        _ => {
            return Err(ApiError::invalid_because(
                "JobCode",
                "expected 01, 02, 03 or 04",
            ));
        }
    };
    let rows: Vec<Value> = rows
        .into_iter()
        .filter(|r| name.is_none_or(|n| r["Names"].as_str().unwrap_or_default().contains(n)))
        .collect();
    let error_items = rows.iter().filter(|r| r["State"] == "Failed").count();
    let total = rows.len();
    let page: Vec<Value> = rows
        .into_iter()
        .skip(((page_no - 1) * page_size) as usize)
        .take(page_size as usize)
        .collect();
    Ok(json!({
        "State": state,
        "Code": code,
        "JobId": job.id,
        "JobName": config.name,
        "Total": total,
        "ErrorItem": error_items,
        "ErrorAnalysisItem": 0,
        "PageNumber": page_no,
        "PageRecordCount": page.len(),
        "TotalRecordCount": total,
        "JobProgress": page,
        "AnalysisJobProgress": [],
        "FullNetCheckJobStatus": [],
        "SubDistributedJobStatus": [],
        "Success": true,
        "HttpStatusCode": 200,
    }))
}

fn job_steps(dts: &Dts, job: &DtsJob, now: SimMillis) -> Vec<Value> {
    let ctx = dts.ctx();
    let timings = &dts.spec.timings;
    let m = modes_of(job);
    let (pre, pre_pct) = job.precheck_status(now, timings);
    let (s, s_pct, _) = job.stage_status(Phase::Structure, timings);
    let (f, f_pct, _) = job.stage_status(Phase::Full, timings);
    let sync = job.sync_status(now, ctx);
    let lag = job.lag_ms(now, ctx);
    let time = |p: Phase, finished: bool| {
        let map = if finished {
            &job.phase_finished
        } else {
            &job.phase_started
        };
        map.get(&p).map(|t| fmt_iso(*t)).unwrap_or_default()
    };
    let mut steps = vec![("01", "Precheck", pre, pre_pct, Phase::Precheck, true)];
    steps.push((
        "02",
        "Structure migration",
        s,
        s_pct,
        Phase::Structure,
        m.structure,
    ));
    steps.push(("03", "Full migration", f, f_pct, Phase::Full, m.full));
    steps.push((
        "04",
        "Incremental migration",
        sync,
        if sync == "NotStarted" { 0 } else { 95 },
        Phase::Incremental,
        m.incremental,
    ));
    steps
        .into_iter()
        .filter(|s| s.5)
        .enumerate()
        .map(|(i, (code, name, state, pct, phase, _))| {
            let inc = code == "04" && state != "NotStarted";
            json!({
                "JobStepId": format!("{}-{code}", job.id), "JobStepName": name, "Code": code, "Serial": i + 1,
                "State": state, "Progress": pct, "ErrMsg": "", "ErrorDetails": [],
                "IncLatencySeconds": if inc { lag.unwrap_or(0) / 1000 } else { -1 },
                "IncLatencyMilliseconds": if inc { lag.unwrap_or(0) } else { -1 },
                "BootTime": time(phase, false), "FinishTime": time(phase, true),
                "CreateTime": fmt_iso(job.created_at), "ModifyTime": fmt_iso(now),
                "SubJobCount": 0, "SubJobSteps": [], "NeedAcceleration": false,
            })
        })
        .collect()
}

fn skip_precheck(dts: &mut Dts, call: Call<'_>) -> Result<Value, ApiError> {
    let p = call.params;
    let id = job_by_id(dts, call)?.id.clone();
    let skip = p.bool("Skip")?.ok_or_else(|| ApiError::missing("Skip"))?;
    let list = |text: &str| -> Vec<String> {
        serde_json::from_str(text)
            .unwrap_or_else(|_| text.split(',').map(|s| s.trim().to_string()).collect())
    };
    // Codes (`CHECK_X`) or full names (`CHECK_X_DETAIL`) name the same items.
    let names: Vec<String> = match (p.get("SkipPreCheckItems"), p.get("SkipPreCheckNames")) {
        (Some(codes), _) => list(codes),
        (None, Some(full)) => list(full)
            .into_iter()
            .map(|n| n.strip_suffix("_DETAIL").unwrap_or(&n).to_string())
            .collect(),
        (None, None) => Vec::new(),
    };
    let job = dts.jobs.get_mut(&id).expect("found");
    for item in job
        .items
        .iter_mut()
        .filter(|i| names.is_empty() || names.contains(&i.spec.item))
    {
        if skip && !item.spec.can_skip {
            return Err(ApiError::business(
                "InvalidParameter",
                "The precheck item %s cannot be skipped.",
                &item.spec.item,
                400,
            ));
        }
        item.skipped = skip;
    }
    let joined = names.join(",");
    Ok(
        json!({"MigrationJobId": id, "ScheduleJobId": id, "SkipItems": joined, "SkipNames": joined,
              "Success": true, "HttpStatusCode": 200}),
    )
}
