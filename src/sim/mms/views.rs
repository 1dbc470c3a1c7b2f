//! JSON renderings of MMS objects with the exact keys of the MaxCompute 2022-01-04 SDK models.

use serde_json::{Value, json};

use super::catalog::{Db, ObjStatus, Partition, Table};
use super::engine::{AsyncKind, AsyncStatus, AsyncTask, Job, Mms, Task, TaskLog, Timer, TimerLog};
use crate::sim::clock::{SimMillis, fmt_iso, fmt_mms};
use crate::sim::scenario::ConfigItemSpec;

fn opt_time(t: Option<SimMillis>) -> Value {
    t.map(|t| json!(fmt_mms(t))).unwrap_or(Value::Null)
}

fn config_item(c: &ConfigItemSpec, with_sub_items: bool) -> Value {
    let mut v = json!({
        "key": c.key,
        "name": c.name.clone().unwrap_or_else(|| c.key.clone()),
        "desc": c.desc.clone().unwrap_or_default(),
        "group": c.group.clone().unwrap_or_else(|| "basic_group".into()),
        "type": c.kind,
        "required": c.required,
        "value": c.value,
    });
    if c.kind == "file" {
        v["subType"] = json!(".json");
    }
    if with_sub_items {
        v["subItems"] = json!({});
    }
    v
}

/// A data source; list items add the scan status.
pub fn data_source(mms: &Mms, id: i64, with_config: bool, list_item: bool) -> Value {
    let s = &mms.sources[&id];
    let tables: Vec<&Table> = mms
        .catalog
        .tables
        .values()
        .filter(|t| t.source_id == id)
        .collect();
    let parts: Vec<&Partition> = mms
        .catalog
        .partitions
        .values()
        .filter(|p| p.source_id == id)
        .collect();
    let count_t = |st: ObjStatus| tables.iter().filter(|t| t.status == st).count();
    let count_p = |st: ObjStatus| parts.iter().filter(|p| p.status == st).count();
    let mut v = json!({
        "id": s.id,
        "name": s.name,
        "type": s.kind,
        "region": s.region,
        "networklink": s.networklink,
        "dstProject": s.dst_project,
        "dstProjects": s.dst_projects,
        "status": s.status,
        "agentIsOnline": s.agent_online,
        "createTime": fmt_mms(s.create_time),
        "lastUpdateTime": opt_time(s.last_update_time),
        "scanId": s.scan_id,
        "dbNum": mms.catalog.dbs.values().filter(|d| d.source_id == id).count(),
        "tableNum": tables.len(),
        "partitionNum": parts.len(),
        "tablesDoingNum": count_t(ObjStatus::Doing),
        "tablesDoneNum": count_t(ObjStatus::Done),
        "tablesFailedNum": count_t(ObjStatus::Failed),
        "tablesPartDoneNum": count_t(ObjStatus::PartDone),
        "partitionsDoingNum": count_p(ObjStatus::Doing),
        "partitionsDoneNum": count_p(ObjStatus::Done),
        "partitionsFailedNum": count_p(ObjStatus::Failed),
    });
    if let Some(e) = &s.err_msg {
        v["errMsg"] = json!(e);
    }
    if with_config {
        v["config"] = s
            .config
            .iter()
            .map(|c| config_item(c, !list_item))
            .collect();
    }
    if list_item {
        let scan = s.scan_id.and_then(|sid| mms.async_tasks.get(&sid));
        v["scanStatus"] = scan
            .map(|a| json!(a.status.as_str()))
            .unwrap_or(Value::Null);
        v["scanErrMsg"] = scan
            .and_then(|a| a.error_msg.clone())
            .map(Value::from)
            .unwrap_or(Value::Null);
    }
    v
}

/// A config item template for ListMmsDataSourceConfigItems.
pub fn config_template(c: &ConfigItemSpec) -> Value {
    let mut v = config_item(c, true);
    v["placeHolder"] = json!(c.desc.clone().unwrap_or_default());
    v["type"] = json!(c.kind.to_ascii_uppercase());
    v.as_object_mut().expect("object").remove("value");
    v
}

/// A database; list items add create/update times and `deleted`.
pub fn db(mms: &Mms, d: &Db, list_item: bool) -> Value {
    let tables: Vec<&Table> = mms
        .catalog
        .tables
        .values()
        .filter(|t| t.db_id == d.id)
        .collect();
    let parts: Vec<&Partition> = mms
        .catalog
        .partitions
        .values()
        .filter(|p| p.db_id == d.id)
        .collect();
    let (rows, size) = tables.iter().fold((0, 0), |(r, s), t| {
        let (tr, ts) = mms.catalog.table_totals(t);
        (r + tr, s + ts)
    });
    let count_t = |st: ObjStatus| tables.iter().filter(|t| t.status == st).count();
    let count_p = |st: ObjStatus| parts.iter().filter(|p| p.status == st).count();
    let mut v = json!({
        "id": d.id,
        "sourceId": d.source_id,
        "sourceName": mms.sources.get(&d.source_id).map(|s| s.name.clone()),
        "name": d.name,
        "description": d.description,
        "owner": d.owner,
        "location": d.location,
        "extra": "{}",
        "lastDdlTime": fmt_mms(d.update_time),
        "dstProjectName": d.dst_project_name,
        "dstName": d.dst_name,
        "status": d.status.as_str(),
        "updated": d.updated,
        "size": size,
        "numRows": rows,
        "tables": tables.len(),
        "tablesDoing": count_t(ObjStatus::Doing),
        "tablesDone": count_t(ObjStatus::Done),
        "tablesFailed": count_t(ObjStatus::Failed),
        "tablesPartDone": count_t(ObjStatus::PartDone),
        "partitions": parts.len(),
        "partitionsDoing": count_p(ObjStatus::Doing),
        "partitionsDone": count_p(ObjStatus::Done),
        "partitionsFailed": count_p(ObjStatus::Failed),
    });
    if list_item {
        v["createTime"] = json!(fmt_mms(d.create_time));
        v["updateTime"] = json!(fmt_mms(d.update_time));
        v["deleted"] = json!(false);
    }
    v
}

fn columns(cols: &[crate::sim::scenario::ColumnSpec]) -> Value {
    cols.iter()
        .map(|c| {
            json!({"name": c.name, "type": c.kind, "comment": c.comment.clone().unwrap_or_default(),
                   "nullable": true, "defaultValue": Value::Null})
        })
        .collect()
}

/// A table.
pub fn table(mms: &Mms, t: &Table) -> Value {
    let parts: Vec<&Partition> = mms.catalog.partitions_of(t.id).collect();
    let (rows, size) = mms.catalog.table_totals(t);
    let db_name = mms.catalog.dbs.get(&t.db_id).map(|d| d.name.clone());
    let count_p = |st: ObjStatus| parts.iter().filter(|p| p.status == st).count();
    json!({
        "id": t.id,
        "dbId": t.db_id,
        "sourceId": t.source_id,
        "dbName": db_name,
        "sourceName": mms.sources.get(&t.source_id).map(|s| s.name.clone()),
        "name": t.name,
        "type": t.kind,
        "owner": t.owner,
        "location": t.location,
        "inputFormat": "org.apache.hadoop.hive.ql.io.orc.OrcInputFormat",
        "outputFormat": "org.apache.hadoop.hive.ql.io.orc.OrcOutputFormat",
        "serde": "org.apache.hadoop.hive.ql.io.orc.OrcSerde",
        "extra": "{}",
        "lastDdlTime": fmt_mms(t.last_ddl_time),
        "hasPartitions": t.has_partitions(),
        "updated": t.updated,
        "size": size,
        "numRows": rows,
        "partitions": parts.len(),
        "partitionsDoing": count_p(ObjStatus::Doing),
        "partitionsDone": count_p(ObjStatus::Done),
        "partitionsFailed": count_p(ObjStatus::Failed),
        "status": t.status.as_str(),
        "dstProjectName": t.dst_project_name,
        "dstSchemaName": t.dst_schema_name,
        "dstName": t.dst_name,
        "schema": {
            "name": t.name,
            "comment": t.comment.clone().unwrap_or_default(),
            "columns": columns(&t.columns),
            "partitions": columns(&t.partition_columns),
        },
    })
}

/// A partition.
pub fn partition(mms: &Mms, p: &Partition) -> Value {
    let table = mms.catalog.tables.get(&p.table_id);
    json!({
        "id": p.id,
        "dbId": p.db_id,
        "tableId": p.table_id,
        "sourceId": p.source_id,
        "dbName": mms.catalog.dbs.get(&p.db_id).map(|d| d.name.clone()),
        "tableName": table.map(|t| t.name.clone()),
        "sourceName": mms.sources.get(&p.source_id).map(|s| s.name.clone()),
        "value": p.value,
        "dstProjectName": table.map(|t| t.dst_project_name.clone()),
        "dstSchemaName": table.and_then(|t| t.dst_schema_name.clone()),
        "dstTableName": table.map(|t| t.dst_name.clone()),
        "dstValue": p.value,
        "lastDdlTime": fmt_mms(p.last_ddl_time),
        "size": p.size,
        "numRows": p.num_rows,
        "updated": p.updated,
        "status": p.status.as_str(),
    })
}

/// A job.
pub fn job(mms: &Mms, j: &Job) -> Value {
    let tasks: Vec<&Task> = mms.tasks_of(j.id).collect();
    let r = &j.request;
    json!({
        "id": j.id,
        "sourceId": j.source_id,
        "dbId": j.db_id,
        "name": j.name,
        "sourceName": mms.sources.get(&j.source_id).map(|s| s.name.clone()),
        "srcDbName": j.src_db_name,
        "srcSchemaName": r.src_schema_name,
        "dstDbName": j.dst_db_name,
        "dstSchemaName": j.dst_schema_name,
        "status": j.status.as_str(),
        "type": j.kind,
        "stopped": j.stopped,
        "taskNum": tasks.len(),
        "taskDone": tasks.iter().filter(|t| t.status == super::task::TaskStatus::Done).count(),
        "eta": r.eta,
        "createTime": fmt_mms(j.create_time),
        "config": {
            "tables": r.tables,
            "tableBlackList": r.table_black_list,
            "tableWhiteList": r.table_white_list,
            "partitions": r.partitions,
            "partitionFilters": r.partition_filters,
            "tableMapping": r.table_mapping,
            "columnMapping": r.column_mapping,
            "increment": r.increment.unwrap_or(false),
            "enableVerification": r.enable_verification.unwrap_or(false),
            "others": r.others,
            "schemaOnly": r.schema_only.unwrap_or(false),
            "taskType": r.task_type.clone().unwrap_or_else(|| mms.sources.get(&j.source_id).map(|s| s.task_type().to_string()).unwrap_or_default()),
        },
    })
}

/// A task.
pub fn task(mms: &Mms, t: &Task) -> Value {
    json!({
        "id": t.id,
        "jobId": t.job_id,
        "sourceId": t.source_id,
        "dbId": t.db_id,
        "tableId": t.table_id,
        "jobName": mms.jobs.get(&t.job_id).map(|j| j.name.clone()),
        "sourceName": mms.sources.get(&t.source_id).map(|s| s.name.clone()),
        "srcDbName": t.src_db_name,
        "srcSchemaName": Value::Null,
        "srcTableName": t.src_table_name,
        "dstDbName": t.dst_db_name,
        "dstSchemaName": t.dst_schema_name,
        "dstTableName": t.dst_table_name,
        "type": t.engine,
        "status": t.status.as_str(),
        "running": t.running(),
        "stopped": t.stopped,
        "retriedTimes": t.retried_times,
        "createTime": fmt_mms(t.create_time),
        "startTime": opt_time(t.start_time),
        "endTime": opt_time(t.end_time),
    })
}

/// A task log entry.
pub fn task_log(l: &TaskLog) -> Value {
    json!({
        "id": l.id,
        "taskId": l.task_id,
        "sourceId": l.source_id,
        "status": l.status.as_str(),
        "action": l.action,
        "msg": l.msg,
        "createTime": fmt_mms(l.create_time),
    })
}

/// An async task.
pub fn async_task(a: &AsyncTask, now: SimMillis) -> Value {
    json!({
        "id": a.id,
        "sourceId": a.source_id,
        "objectId": a.object_id,
        "type": a.kind.as_str(),
        "status": a.status.as_str(),
        "running": a.status == AsyncStatus::Doing,
        "progress": a.percent(now).round() as i64,
        "result": a.result,
        "errorMsg": a.error_msg,
        "createTime": fmt_mms(a.create_time),
        "startTime": fmt_mms(a.create_time),
        "endTime": opt_time(a.end_time),
    })
}

/// A metadata scan (GetMmsFetchMetadataJob): status `SCAN_DOING`/`SCAN_DONE`/`SCAN_FAILED`,
/// progress in basis points (1–10000).
pub fn scan(a: &AsyncTask, now: SimMillis) -> Value {
    debug_assert_eq!(a.kind, AsyncKind::MetadataScan);
    json!({
        "id": a.id,
        "sourceId": a.source_id,
        "status": format!("SCAN_{}", a.status.as_str()),
        "progress": (a.percent(now) * 100.0).max(1.0),
        "result": a.result,
        "errorMsg": a.error_msg,
        "startTime": fmt_mms(a.create_time),
        "endTime": opt_time(a.end_time),
    })
}

/// A timer; `detail` adds config and update time (GetMmsTimer) and uses the Unix-ms create time.
pub fn timer(t: &Timer, detail: bool) -> Value {
    let mut v = json!({
        "id": t.id,
        "sourceId": t.source_id,
        "dbId": t.db_id,
        "name": t.name,
        "srcDbName": t.src_db_name,
        "type": "Increment",
        "scheduleType": t.schedule_type,
        "value": t.value,
        "stopped": t.stopped,
        "createTime": fmt_mms(t.create_time),
    });
    if detail {
        let r = &t.request;
        v["createTime"] = json!(t.create_time.to_string());
        v["updateTime"] = json!(fmt_iso(t.update_time));
        v["config"] = json!({
            "tables": r.tables,
            "tableBlackList": r.table_black_list,
            "tableWhiteList": r.table_white_list,
            "partitions": r.partitions,
            "partitionFilters": r.partition_filters,
            "tableMapping": r.table_mapping,
            "columnMapping": r.column_mapping,
            "enableDataMigration": r.enable_data_migration.unwrap_or(true),
            "enableSchemaMigration": r.enable_schema_migration.unwrap_or(true),
            "enableVerification": r.enable_verification.unwrap_or(false),
            "others": r.others,
        });
    }
    v
}

/// A timer run.
pub fn timer_log(mms: &Mms, l: &TimerLog) -> Value {
    json!({
        "id": l.id,
        "sourceId": l.source_id,
        "action": l.action,
        "msg": l.msg,
        "status": mms.timer_log_status(l),
        "createTime": fmt_mms(l.create_time),
    })
}
