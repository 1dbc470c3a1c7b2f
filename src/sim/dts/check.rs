//! DTS data verification: the `FullDataCheckStatus` / `IncDataCheckStatus` objects of
//! DescribeDtsJobs, `DescribeCheckJobs`, `DescribeDataCheckTableDetails` and
//! `DescribeDataCheckTableDiffDetails`, with the keys of the official SDK models (PyPI
//! `alibabacloud_dts20200101`).
//!
//! Inconsistent rows are planted per table through the admin API (`check-diff`, check type 1
//! for the full check, 2 for the incremental one). The full check runs `timings.dataCheck` after
//! the full load and visits the tables in order; the incremental check runs while incremental
//! migration does. A table with more than 300 differing rows reports 300 and `ErrorCode` 2 (the
//! SDK documents code 2 as "more than 300 inconsistent rows"; that the count then stops at 300 is
//! this simulator's reading).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::Dts;
use super::actions::Call;
use super::job::{Ctx, DtsJob, Phase};
use crate::sim::clock::{SimMillis, fmt_iso};
use crate::sim::scenario::DtsTimings;
use crate::sim::wire::ApiError;

/// Differing rows a table reports at most (ErrorCode 2 beyond).
const MAX_REPORTED_DIFF: i64 = 300;

fn total(diffs: &BTreeMap<String, i64>) -> i64 {
    diffs.values().map(|d| (*d).min(MAX_REPORTED_DIFF)).sum()
}

/// `FullDataCheckStatus` of a DescribeDtsJobs item.
pub fn full_status(job: &DtsJob, now: SimMillis, timings: &DtsTimings) -> Value {
    let diffs = total(&job.check_diffs);
    match job.data_check_progress(now, timings) {
        None => {
            json!({"Status": "NotStarted", "Percent": "0", "Progress": "0", "ErrorMessage": "", "CanSwitch": false})
        }
        Some(f) if f < 1.0 => {
            json!({"Status": "Checking", "Percent": ((f * 100.0) as i64).to_string(), "Progress": "0", "ErrorMessage": "", "CanSwitch": false})
        }
        Some(_) => json!({"Status": "Finished", "Percent": "100", "Progress": "0",
            "ErrorMessage": if diffs > 0 { format!("{diffs} inconsistent row(s)") } else { String::new() },
            "CanSwitch": diffs == 0}),
    }
}

/// Whether the incremental check runs: configured, and incremental migration has begun.
fn incremental_running(job: &DtsJob) -> bool {
    job.config.as_ref().is_some_and(|c| c.inc_data_check)
        && job.phase_started.contains_key(&Phase::Incremental)
}

/// `IncDataCheckStatus` of a DescribeDtsJobs item.
pub fn incremental_status(job: &DtsJob, now: SimMillis, ctx: Ctx<'_>) -> Value {
    if !incremental_running(job) {
        return json!({"Status": "NotStarted", "Percent": "0", "Progress": "0", "ErrorMessage": ""});
    }
    let diffs = total(&job.inc_check_diffs);
    let status = match job.sync_status(now, ctx) {
        "Catched" if diffs == 0 => "Catched",
        "Failed" => "Failed",
        _ => "Checking",
    };
    json!({"Status": status, "Percent": "100", "Progress": "0",
        "ErrorMessage": if diffs > 0 { format!("{diffs} inconsistent row(s)") } else { String::new() }})
}

/// DescribeCheckJobs (full checks only).
pub fn check_jobs(dts: &Dts, call: Call<'_>) -> Result<Value, ApiError> {
    let p = call.params;
    let instance = p.get("InstanceId");
    let check_type = p.int("CheckType")?;
    let page_number = p.int("PageNumber")?.unwrap_or(1).max(1);
    let page_size = p.int("PageSize")?.unwrap_or(30).clamp(1, 100);
    let timings = &dts.spec.timings;
    let items: Vec<Value> = dts
        .jobs
        .values()
        .filter(|j| j.account_id == call.account)
        .filter(|j| instance.is_none_or(|i| j.instance_id.as_deref() == Some(i)))
        .filter(|_| check_type.is_none_or(|t| t == 1 || t == 3))
        .filter_map(|j| {
            let progress = j.data_check_progress(call.now, timings)?;
            let config = j.config.as_ref()?;
            let diff_tables = j.check_diffs.values().filter(|d| **d > 0).count();
            Some(json!({
                "DtsJobId": j.id, "DtsInstanceID": j.instance_id, "JobName": config.name,
                "JobStepId": format!("{}-check", j.id), "CheckType": 1,
                "Status": if diff_tables > 0 { 1 } else { 0 },
                "TotalCount": config.tables.len(),
                "FinishCount": (config.tables.len() as f64 * progress) as i64,
                "DiffCount": diff_tables, "DiffSum": total(&j.check_diffs),
                "CheckPoint": call.now / 1000, "ChargeType": "POSTPAY", "InstanceClass": j.class,
                "RegionId": j.region, "GroupId": j.id, "ParentJobType": j.job_type,
            }))
        })
        .collect();
    let total = items.len();
    let page = paged(items, page_number, page_size);
    Ok(
        json!({"CheckJobs": page, "TotalRecordCount": total, "PageNumber": page_number,
              "PageRecordCount": page.len(), "Success": true, "HttpStatusCode": 200}),
    )
}

fn paged(rows: Vec<Value>, page_number: i64, page_size: i64) -> Vec<Value> {
    rows.into_iter()
        .skip(((page_number - 1) * page_size) as usize)
        .take(page_size as usize)
        .collect()
}

fn check_type(call: Call<'_>) -> Result<u8, ApiError> {
    match call.params.require("CheckType")? {
        "1" => Ok(1),
        "2" => Ok(2),
        _ => Err(ApiError::invalid("CheckType")),
    }
}

fn job<'d>(dts: &'d Dts, call: Call<'_>) -> Result<&'d DtsJob, ApiError> {
    let id = call.params.require("DtsJobId")?;
    dts.find(call.account, Some(id), None)
        .ok_or_else(|| super::actions::not_found(id))
}

/// One table's row of DescribeDataCheckTableDetails.
fn table_row(job: &DtsJob, kind: u8, index: usize, progress: f64, now: SimMillis) -> Value {
    let config = job.config.clone().unwrap_or_default();
    let t = &config.tables[index];
    let n = config.tables.len().max(1);
    let (done, diffs) = if kind == 1 {
        (progress >= (index + 1) as f64 / n as f64, &job.check_diffs)
    } else {
        (incremental_running(job), &job.inc_check_diffs)
    };
    let planted = if done {
        diffs.get(&t.name).copied().unwrap_or(0)
    } else {
        0
    };
    // The incremental check compares changes, not a row total: it reports no row counts.
    let (total, finished) = match kind {
        1 => (t.rows, if done { t.rows } else { 0 }),
        _ => (0, 0),
    };
    json!({
        "Id": index + 1, "SourceDbName": t.db, "SourceTbName": t.name, "TargetDbName": t.dst_db,
        "TargetTbName": t.dst_name, "TotalCount": total, "FinishCount": finished,
        "DiffCount": planted.min(MAX_REPORTED_DIFF),
        "Status": if done && kind == 1 { "0" } else if done || progress > 0.0 { "3" } else { "2" },
        "ErrorCode": if planted > MAX_REPORTED_DIFF { 2 } else { 0 }, "BootTime": fmt_iso(now),
    })
}

/// DescribeDataCheckTableDetails: per-table results of the full (1) or incremental (2) check.
pub fn table_details(dts: &Dts, call: Call<'_>) -> Result<Value, ApiError> {
    let p = call.params;
    let job = job(dts, call)?;
    let kind = check_type(call)?;
    let only_diff = p.get("Status") == Some("6");
    let name = p.get("TableName");
    let page_number = p.int("PageNumber")?.unwrap_or(1).max(1);
    let page_size = p.int("PageSize")?.unwrap_or(20).clamp(1, 100);
    let progress = job
        .data_check_progress(call.now, &dts.spec.timings)
        .unwrap_or(0.0);
    let tables = job.config.as_ref().map_or(0, |c| c.tables.len());
    let rows: Vec<Value> = (0..tables)
        .map(|i| table_row(job, kind, i, progress, call.now))
        .filter(|r| !only_diff || r["DiffCount"].as_i64().unwrap_or(0) > 0)
        .filter(|r| name.is_none_or(|n| r["SourceTbName"] == n))
        .collect();
    let diff_tables = rows
        .iter()
        .filter(|r| r["DiffCount"].as_i64().unwrap_or(0) > 0)
        .count();
    let finished_rows: i64 = rows
        .iter()
        .map(|r| r["FinishCount"].as_i64().unwrap_or(0))
        .sum();
    let total = rows.len();
    let page = paged(rows, page_number, page_size);
    Ok(
        json!({"TableDetails": page, "TotalCount": total, "DiffTableCount": diff_tables, "FailedTableCount": 0,
              "FinishedCount": finished_rows, "PageNumber": page_number, "Success": true, "HttpStatusCode": 200}),
    )
}

/// DescribeDataCheckTableDiffDetails: the differing rows of one table. `Diff` carries column
/// values in the real API; the simulator puts only placeholders there.
pub fn table_diff_details(dts: &Dts, call: Call<'_>) -> Result<Value, ApiError> {
    let p = call.params;
    let job = job(dts, call)?;
    let kind = check_type(call)?;
    let db = p.require("DbName")?;
    let table = p.require("TbName")?;
    let page_number = p.int("PageNumber")?.unwrap_or(1).max(1);
    let page_size = p.int("PageSize")?.unwrap_or(20).clamp(1, 100);
    let diffs = if kind == 1 {
        &job.check_diffs
    } else {
        &job.inc_check_diffs
    };
    let count = diffs
        .get(table)
        .copied()
        .unwrap_or(0)
        .min(MAX_REPORTED_DIFF);
    let rows: Vec<Value> = (1..=count)
        .map(|i| {
            json!({"Id": i, "GmtCreated": fmt_iso(call.now),
                "Diff": json!([{"column": "id", "source": i.to_string(), "dest": i.to_string(), "isPrimary": true},
                               {"column": "value", "source": "<source value>", "dest": "<destination value>", "isPrimary": false}]).to_string()})
        })
        .collect();
    Ok(json!({
        "DbName": db, "TbName": table, "InstanceId": job.instance_id, "DiffCount": count,
        "DiffDetails": paged(rows, page_number, page_size),
        "Success": true, "HttpStatusCode": 200,
    }))
}
