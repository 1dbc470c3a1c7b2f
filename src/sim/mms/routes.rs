//! MMS ROA routing (method + path → action) and the handlers, with server-side filters,
//! sorting and paging. Every handler returns the `data` member of the response.

use serde_json::{Map, Value, json};

use super::catalog::ObjStatus;
use super::engine::{AsyncKind, JobRequest, Mms};
use super::task::{JobStatus, TaskStatus};
use super::views;
use crate::sim::clock::{SimMillis, parse_time};
use crate::sim::scenario::ConfigItemSpec;
use crate::sim::wire::{ApiError, Params, parse_bool};

/// The MMS API version.
pub const VERSION: &str = "2022-01-04";
/// Path prefix of every MMS operation.
pub const PREFIX: &str = "/api/v1/mms/";

/// A matched route: the action name and the path parameters in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub action: &'static str,
    pub args: Vec<String>,
}

const ROUTES: &[(&str, &str, &str)] = &[
    ("GET", "datasources", "ListMmsDataSources"),
    ("POST", "datasources", "CreateMmsDataSource"),
    ("GET", "configItems", "ListMmsDataSourceConfigItems"),
    ("GET", "datasources/{}", "GetMmsDataSource"),
    ("PUT", "datasources/{}", "UpdateMmsDataSource"),
    ("DELETE", "datasources/{}", "DeleteMmsDataSource"),
    ("POST", "datasources/{}/scans", "CreateMmsFetchMetadataJob"),
    ("GET", "datasources/{}/scans/{}", "GetMmsFetchMetadataJob"),
    ("GET", "datasources/{}/dbs", "ListMmsDbs"),
    ("GET", "datasources/{}/dbs/{}", "GetMmsDb"),
    ("PUT", "datasources/{}/dbs/{}", "UpdateMmsDb"),
    ("GET", "datasources/{}/tables", "ListMmsTables"),
    ("PUT", "datasources/{}/tables", "UpdateMmsTables"),
    ("GET", "datasources/{}/tables/{}", "GetMmsTable"),
    ("PUT", "datasources/{}/tables/{}", "UpdateMmsTable"),
    ("GET", "datasources/{}/partitions", "ListMmsPartitions"),
    ("GET", "datasources/{}/partitions/{}", "GetMmsPartition"),
    ("POST", "datasources/{}/jobs", "CreateMmsJob"),
    ("GET", "datasources/{}/jobs", "ListMmsJobs"),
    ("GET", "datasources/{}/jobs/{}", "GetMmsJob"),
    ("POST", "datasources/{}/jobs/{}", "DeleteMmsJob"),
    ("POST", "datasources/{}/jobs/{}/start", "StartMmsJob"),
    ("POST", "datasources/{}/jobs/{}/stop", "StopMmsJob"),
    ("POST", "datasources/{}/jobs/{}/retry", "RetryMmsJob"),
    ("GET", "datasources/{}/tasks", "ListMmsTasks"),
    ("GET", "datasources/{}/tasks/{}", "GetMmsTask"),
    ("POST", "datasources/{}/tasks/{}/retry", "RetryMmsTask"),
    ("GET", "datasources/{}/tasks/{}/logs", "ListMmsTaskLogs"),
    ("GET", "datasources/{}/asyncTasks/{}", "GetMmsAsyncTask"),
    ("POST", "datasources/{}/timers", "CreateMmsTimer"),
    ("GET", "datasources/{}/timers", "ListMmsTimers"),
    ("GET", "datasources/{}/timers/{}", "GetMmsTimer"),
    ("PUT", "datasources/{}/timers/{}", "UpdateMmsTimer"),
    ("DELETE", "datasources/{}/timers/{}", "DeleteMmsTimer"),
    (
        "POST",
        "datasources/{}/timers/{}/trigger",
        "TriggerMmsTimer",
    ),
    ("GET", "datasources/{}/timers/{}/logs", "ListMmsTimerLogs"),
];

/// Matches a request to an MMS operation; `None` if nothing matches.
pub fn match_route(method: &str, path: &str) -> Option<Route> {
    let rest = path.strip_prefix(PREFIX)?;
    let segments: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    for (m, pattern, action) in ROUTES {
        if !m.eq_ignore_ascii_case(method) {
            continue;
        }
        let pat: Vec<&str> = pattern.split('/').collect();
        if pat.len() != segments.len() {
            continue;
        }
        let mut args = Vec::new();
        let ok = pat.iter().zip(&segments).all(|(p, s)| {
            if *p == "{}" {
                args.push(
                    percent_encoding::percent_decode_str(s)
                        .decode_utf8_lossy()
                        .into_owned(),
                );
                true
            } else {
                p == s
            }
        });
        if ok {
            return Some(Route { action, args });
        }
    }
    None
}

/// Whether some route has this path with another method (to tell 404 from wrong method).
pub fn path_exists(path: &str) -> bool {
    ["GET", "POST", "PUT", "DELETE"]
        .iter()
        .any(|m| match_route(m, path).is_some())
}

fn arg(route: &Route, i: usize, name: &str) -> Result<i64, ApiError> {
    route.args[i]
        .trim()
        .parse()
        .map_err(|_| ApiError::invalid_because(name, "expected an integer id"))
}

fn json_body(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(ApiError::new(
            400,
            "InvalidParameter",
            "The request body must be a JSON object.",
        )),
    }
}

/// Handles an MMS operation against the state; `now` is the simulated time.
pub fn handle(
    mms: &mut Mms,
    route: &Route,
    query: &Params,
    body: &[u8],
    now: SimMillis,
    region: &str,
) -> Result<Value, ApiError> {
    let source_id = || arg(route, 0, "sourceId");
    let object_id = |name: &str| arg(route, 1, name);
    let source_exists = |mms: &Mms, id: i64| -> Result<(), ApiError> {
        if mms.sources.contains_key(&id) {
            Ok(())
        } else {
            Err(ApiError::not_found(
                "DataSourceNotFound",
                format!("Data source {id}"),
            ))
        }
    };
    match route.action {
        "ListMmsDataSources" => {
            let mut items: Vec<Value> = mms
                .sources
                .values()
                .filter(|s| like(query.get("name"), &s.name))
                .filter(|s| {
                    query
                        .get("type")
                        .is_none_or(|t| t.eq_ignore_ascii_case(&s.kind))
                })
                .filter(|s| query.get("region").is_none_or(|r| r == s.region))
                .map(|s| views::data_source(mms, s.id, false, true))
                .collect();
            items.sort_by_key(|v| v["id"].as_i64());
            page(items, query, true)
        }
        "GetMmsDataSource" => {
            let id = source_id()?;
            source_exists(mms, id)?;
            let with_config = query.bool("withConfig")?.unwrap_or(false);
            Ok(views::data_source(mms, id, with_config, false))
        }
        "CreateMmsDataSource" => {
            let b = json_body(body)?;
            let name = str_field(&b, "name")?.ok_or_else(|| ApiError::missing("name"))?;
            let kind = str_field(&b, "type")?.ok_or_else(|| ApiError::missing("type"))?;
            if !SOURCE_TYPES.iter().any(|t| t.eq_ignore_ascii_case(&kind)) {
                return Err(ApiError::invalid_because(
                    "type",
                    "unsupported data source type",
                ));
            }
            let config = b
                .get("config")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let id = mms.create_source(
                &name,
                &kind,
                str_field(&b, "networklink")?,
                &config,
                region,
                now,
            );
            Ok(json!({"dataSourceId": id}))
        }
        "UpdateMmsDataSource" => {
            let id = source_id()?;
            let b = json_body(body)?;
            let action = str_field(&b, "action")?.unwrap_or_else(|| "UPDATE_CONFIG".into());
            let name = str_field(&b, "name")?;
            let config = b.get("config").and_then(Value::as_object);
            let async_id = mms.update_source(id, &action, name.as_deref(), config, now)?;
            Ok(json!({"sourceId": id, "asyncTaskId": async_id}))
        }
        "DeleteMmsDataSource" => {
            let id = source_id()?;
            mms.delete_source(id)?;
            Ok(json!(id))
        }
        "ListMmsDataSourceConfigItems" => {
            let kind = query.require("sourceType")?;
            let items = config_templates(kind).ok_or_else(|| {
                ApiError::invalid_because("sourceType", "unsupported data source type")
            })?;
            Ok(items.iter().map(views::config_template).collect())
        }
        "CreateMmsFetchMetadataJob" => {
            let id = source_id()?;
            let b = json_body(body)?;
            let db = str_field(&b, "dbName")?;
            let tables = str_list(&b, "tableNames")?;
            let scan_id = mms.start_scan(id, db, tables, now)?;
            Ok(json!({"scanId": scan_id}))
        }
        "GetMmsFetchMetadataJob" => {
            let id = source_id()?;
            let scan_id = object_id("scanId")?;
            let scan = mms
                .async_tasks
                .get(&scan_id)
                .filter(|a| a.source_id == id && a.kind == AsyncKind::MetadataScan)
                .ok_or_else(|| {
                    ApiError::not_found("ScanNotFound", format!("Metadata scan {scan_id}"))
                })?;
            Ok(views::scan(scan, now))
        }
        "GetMmsAsyncTask" => {
            let id = source_id()?;
            let task_id = object_id("asyncTaskId")?;
            let task = mms
                .async_tasks
                .get(&task_id)
                .filter(|a| a.source_id == id)
                .ok_or_else(|| {
                    ApiError::not_found("AsyncTaskNotFound", format!("Async task {task_id}"))
                })?;
            Ok(views::async_task(task, now))
        }
        "ListMmsDbs" => {
            let id = source_id()?;
            source_exists(mms, id)?;
            let status = query.get("status").map(|s| s.to_ascii_uppercase());
            let mut items: Vec<Value> = mms
                .catalog
                .dbs
                .values()
                .filter(|d| d.source_id == id && like(query.get("name"), &d.name))
                .filter(|d| status.as_deref().is_none_or(|s| s == d.status.as_str()))
                .map(|d| views::db(mms, d, true))
                .collect();
            if let Some(sorter) = query.get("sorter") {
                let map: Map<String, Value> = serde_json::from_str(sorter)
                    .map_err(|_| ApiError::invalid_because("sorter", "expected a JSON object"))?;
                apply_sorters(
                    &mut items,
                    map.iter()
                        .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or("asc"))),
                )?;
            }
            page(items, query, false)
        }
        "GetMmsDb" => {
            let id = source_id()?;
            let db_id = object_id("dbId")?;
            let d = mms
                .catalog
                .dbs
                .get(&db_id)
                .filter(|d| d.source_id == id)
                .ok_or_else(|| ApiError::not_found("DbNotFound", format!("Database {db_id}")))?;
            Ok(views::db(mms, d, false))
        }
        "UpdateMmsDb" => {
            let id = source_id()?;
            let db_id = object_id("dbId")?;
            let b = json_body(body)?;
            let status = obj_status(&b)?;
            let d = mms
                .catalog
                .dbs
                .get_mut(&db_id)
                .filter(|d| d.source_id == id)
                .ok_or_else(|| ApiError::not_found("DbNotFound", format!("Database {db_id}")))?;
            if let Some(p) = str_field(&b, "dstProjectName")? {
                d.dst_project_name = p;
            }
            if let Some(n) = str_field(&b, "dstName")? {
                d.dst_name = Some(n);
            }
            if let Some(s) = status {
                d.status = s;
                for t in mms.catalog.tables.values_mut().filter(|t| t.db_id == db_id) {
                    t.status = s;
                }
                for p in mms
                    .catalog
                    .partitions
                    .values_mut()
                    .filter(|p| p.db_id == db_id)
                {
                    p.status = s;
                }
            }
            Ok(json!(db_id))
        }
        "ListMmsTables" => {
            let id = source_id()?;
            source_exists(mms, id)?;
            let statuses = status_list(query.get("status"))?;
            let db_id = query.int("dbId")?;
            let has_parts = query.bool("hasPartitions")?;
            let ddl_start = time_param(query, "lastDdlTimeStart")?;
            let ddl_end = time_param(query, "lastDdlTimeEnd")?;
            let only_name = query.bool("onlyName")?.unwrap_or(false);
            let mut rows: Vec<(Value, i64, i64, SimMillis)> = mms
                .catalog
                .tables
                .values()
                .filter(|t| t.source_id == id)
                .filter(|t| db_id.is_none_or(|d| d == t.db_id))
                .filter(|t| {
                    query
                        .get("dbName")
                        .is_none_or(|n| mms.catalog.dbs.get(&t.db_id).is_some_and(|d| d.name == n))
                })
                .filter(|t| like(query.get("name"), &t.name))
                .filter(|t| {
                    query
                        .get("type")
                        .is_none_or(|k| k.eq_ignore_ascii_case(&t.kind))
                })
                .filter(|t| has_parts.is_none_or(|h| h == t.has_partitions()))
                .filter(|t| {
                    query
                        .get("dstProjectName")
                        .is_none_or(|p| p == t.dst_project_name)
                })
                .filter(|t| {
                    query
                        .get("dstSchemaName")
                        .is_none_or(|p| Some(p) == t.dst_schema_name.as_deref())
                })
                .filter(|t| query.get("dstName").is_none_or(|p| p == t.dst_name))
                .filter(|t| {
                    statuses.is_empty() || statuses.contains(&t.status.as_str().to_string())
                })
                .filter(|t| ddl_start.is_none_or(|s| t.last_ddl_time >= s))
                .filter(|t| ddl_end.is_none_or(|e| t.last_ddl_time <= e))
                .map(|t| {
                    let (r, s) = mms.catalog.table_totals(t);
                    let v = if only_name {
                        json!({"id": t.id, "name": t.name, "dbId": t.db_id})
                    } else {
                        views::table(mms, t)
                    };
                    (v, r, s, t.last_ddl_time)
                })
                .collect();
            sort_dotted(&mut rows, query)?;
            page(rows.into_iter().map(|r| r.0).collect(), query, false)
        }
        "GetMmsTable" => {
            let id = source_id()?;
            let table_id = object_id("tableId")?;
            let t = mms
                .catalog
                .tables
                .get(&table_id)
                .filter(|t| t.source_id == id)
                .ok_or_else(|| ApiError::not_found("TableNotFound", format!("Table {table_id}")))?;
            Ok(views::table(mms, t))
        }
        "UpdateMmsTable" => {
            let id = source_id()?;
            let table_id = object_id("tableId")?;
            let b = json_body(body)?;
            let status = obj_status(&b)?;
            let t = mms
                .catalog
                .tables
                .get_mut(&table_id)
                .filter(|t| t.source_id == id)
                .ok_or_else(|| ApiError::not_found("TableNotFound", format!("Table {table_id}")))?;
            apply_table_update(t, &b, status)?;
            if let Some(s) = status {
                for p in mms
                    .catalog
                    .partitions
                    .values_mut()
                    .filter(|p| p.table_id == table_id)
                {
                    p.status = s;
                }
            }
            mms.catalog.refresh_source(id);
            Ok(json!(table_id))
        }
        "UpdateMmsTables" => {
            let id = source_id()?;
            source_exists(mms, id)?;
            let b = json_body(body)?;
            let status = obj_status(&b)?;
            let db_name = str_field(&b, "dbName")?;
            let names = str_list(&b, "tableNames")?;
            let ids: Vec<i64> = b
                .get("tables")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_i64).collect())
                .unwrap_or_default();
            let db_id = match &db_name {
                Some(n) => Some(
                    mms.catalog
                        .dbs
                        .values()
                        .find(|d| d.source_id == id && &d.name == n)
                        .map(|d| d.id)
                        .ok_or_else(|| ApiError::invalid_because("dbName", "database not found"))?,
                ),
                None => None,
            };
            let targets: Vec<i64> = mms
                .catalog
                .tables
                .values()
                .filter(|t| t.source_id == id && db_id.is_none_or(|d| d == t.db_id))
                .filter(|t| names.contains(&t.name) || ids.contains(&t.id))
                .map(|t| t.id)
                .collect();
            for tid in &targets {
                let t = mms.catalog.tables.get_mut(tid).expect("listed");
                apply_table_update(t, &b, status)?;
                if let Some(s) = status {
                    for p in mms
                        .catalog
                        .partitions
                        .values_mut()
                        .filter(|p| p.table_id == *tid)
                    {
                        p.status = s;
                    }
                }
            }
            mms.catalog.refresh_source(id);
            Ok(json!(targets.len()))
        }
        "ListMmsPartitions" => {
            let id = source_id()?;
            source_exists(mms, id)?;
            let statuses = status_list(query.get("status"))?;
            let db_id = query.int("dbId")?;
            let table_id = query.int("tableId")?;
            let updated = query.bool("updated")?;
            let ddl_start = time_param(query, "lastDdlTimeStart")?;
            let ddl_end = time_param(query, "lastDdlTimeEnd")?;
            let mut rows: Vec<(Value, i64, i64, SimMillis)> = mms
                .catalog
                .partitions
                .values()
                .filter(|p| p.source_id == id)
                .filter(|p| db_id.is_none_or(|d| d == p.db_id))
                .filter(|p| table_id.is_none_or(|t| t == p.table_id))
                .filter(|p| {
                    query
                        .get("dbName")
                        .is_none_or(|n| mms.catalog.dbs.get(&p.db_id).is_some_and(|d| d.name == n))
                })
                .filter(|p| {
                    query.get("tableName").is_none_or(|n| {
                        mms.catalog
                            .tables
                            .get(&p.table_id)
                            .is_some_and(|t| t.name == n)
                    })
                })
                .filter(|p| query.get("value").is_none_or(|v| p.value.contains(v)))
                .filter(|p| updated.is_none_or(|u| u == p.updated))
                .filter(|p| {
                    statuses.is_empty() || statuses.contains(&p.status.as_str().to_string())
                })
                .filter(|p| ddl_start.is_none_or(|s| p.last_ddl_time >= s))
                .filter(|p| ddl_end.is_none_or(|e| p.last_ddl_time <= e))
                .map(|p| {
                    (
                        views::partition(mms, p),
                        p.num_rows,
                        p.size,
                        p.last_ddl_time,
                    )
                })
                .collect();
            sort_dotted(&mut rows, query)?;
            page(rows.into_iter().map(|r| r.0).collect(), query, false)
        }
        "GetMmsPartition" => {
            let id = source_id()?;
            let pid = object_id("partitionId")?;
            let p = mms
                .catalog
                .partitions
                .get(&pid)
                .filter(|p| p.source_id == id)
                .ok_or_else(|| {
                    ApiError::not_found("PartitionNotFound", format!("Partition {pid}"))
                })?;
            Ok(views::partition(mms, p))
        }
        "CreateMmsJob" => {
            let id = source_id()?;
            let request: JobRequest =
                serde_json::from_slice(if body.is_empty() { b"{}" } else { body }).map_err(
                    |e| {
                        ApiError::new(
                            400,
                            "InvalidParameter",
                            format!("Invalid request body: {e}"),
                        )
                    },
                )?;
            let async_id = mms.create_job(id, request, now)?;
            Ok(json!({"asyncTaskId": async_id}))
        }
        "ListMmsJobs" => {
            let id = source_id()?;
            source_exists(mms, id)?;
            let status = match query.get("status") {
                Some(s) => Some(JobStatus::parse(s).ok_or_else(|| ApiError::invalid("status"))?),
                None => None,
            };
            let stopped = query
                .get("stopped")
                .map(|s| parse_bool(s).ok_or_else(|| ApiError::invalid("stopped")))
                .transpose()?;
            let timer_id = query.int("timerId")?;
            let mut jobs: Vec<&super::engine::Job> = mms
                .jobs
                .values()
                .filter(|j| j.source_id == id)
                .filter(|j| like(query.get("name"), &j.name))
                .filter(|j| query.get("srcDbName").is_none_or(|n| n == j.src_db_name))
                .filter(|j| query.get("dstDbName").is_none_or(|n| n == j.dst_db_name))
                .filter(|j| {
                    query
                        .get("srcTableName")
                        .is_none_or(|n| mms.tasks_of(j.id).any(|t| t.src_table_name == n))
                })
                .filter(|j| {
                    query
                        .get("dstTableName")
                        .is_none_or(|n| mms.tasks_of(j.id).any(|t| t.dst_table_name == n))
                })
                .filter(|j| status.is_none_or(|s| s == j.status))
                .filter(|j| stopped.is_none_or(|s| s == j.stopped))
                .filter(|j| timer_id.is_none_or(|t| Some(t) == j.timer_id))
                .collect();
            // Newest first, like the console; `sorter.status` orders by status text.
            jobs.sort_by_key(|j| std::cmp::Reverse(j.id));
            match query.get("sorter.status") {
                Some(d) if d.eq_ignore_ascii_case("asc") => {
                    jobs.sort_by(|a, b| a.status.as_str().cmp(b.status.as_str()))
                }
                Some(d) if d.eq_ignore_ascii_case("desc") => {
                    jobs.sort_by(|a, b| b.status.as_str().cmp(a.status.as_str()))
                }
                Some(_) => return Err(ApiError::invalid("sorter.status")),
                None => {}
            }
            page(
                jobs.into_iter().map(|j| views::job(mms, j)).collect(),
                query,
                false,
            )
        }
        "GetMmsJob" => {
            let job = mms.job(source_id()?, object_id("jobId")?)?;
            Ok(views::job(mms, job))
        }
        action @ ("StartMmsJob" | "StopMmsJob" | "RetryMmsJob" | "DeleteMmsJob") => {
            let job_id = object_id("jobId")?;
            let source = source_id()?;
            match action {
                "StartMmsJob" => mms.start_job(source, job_id, now),
                "StopMmsJob" => mms.stop_job(source, job_id, now),
                "RetryMmsJob" => mms.retry_job(source, job_id, now),
                _ => mms.delete_job(source, job_id, now),
            }?;
            Ok(json!(job_id))
        }
        "ListMmsTasks" => {
            let id = source_id()?;
            source_exists(mms, id)?;
            let job_id = query.int("jobId")?;
            let status = query.get("status").map(str::to_ascii_uppercase);
            if let Some(s) = &status
                && TaskStatus::parse(s).is_none()
                && s != "FAILED"
                && s != "DOING"
            {
                return Err(ApiError::invalid("status"));
            }
            let partition = query.get("partition");
            let mut tasks: Vec<&super::engine::Task> = mms
                .tasks
                .values()
                .filter(|t| t.source_id == id)
                .filter(|t| job_id.is_none_or(|j| j == t.job_id))
                .filter(|t| {
                    query.get("jobName").is_none_or(|n| {
                        mms.jobs
                            .get(&t.job_id)
                            .is_some_and(|j| like(Some(n), &j.name))
                    })
                })
                .filter(|t| query.get("srcDbName").is_none_or(|n| n == t.src_db_name))
                .filter(|t| like(query.get("srcTableName"), &t.src_table_name))
                .filter(|t| query.get("dstDbName").is_none_or(|n| n == t.dst_db_name))
                .filter(|t| like(query.get("dstTableName"), &t.dst_table_name))
                .filter(|t| match status.as_deref() {
                    None => true,
                    Some("FAILED") => t.status.is_failed(),
                    Some("DOING") => t.status.is_doing(),
                    Some(s) => t.status.as_str() == s,
                })
                .filter(|t| {
                    partition.is_none_or(|v| {
                        t.partition_ids
                            .iter()
                            .any(|p| mms.catalog.partitions.get(p).is_some_and(|p| p.value == v))
                    })
                })
                .collect();
            let dir = |key: &str| -> Result<Option<bool>, ApiError> {
                match query.get(key) {
                    None => Ok(None),
                    Some(d) if d.eq_ignore_ascii_case("asc") => Ok(Some(true)),
                    Some(d) if d.eq_ignore_ascii_case("desc") => Ok(Some(false)),
                    Some(_) => Err(ApiError::invalid(key)),
                }
            };
            if let Some(asc) = dir("sorter.startTime")? {
                tasks.sort_by_key(|t| t.start_time.unwrap_or(i64::MAX));
                if !asc {
                    tasks.reverse();
                }
            }
            if let Some(asc) = dir("sorter.status")? {
                tasks.sort_by(|a, b| a.status.as_str().cmp(b.status.as_str()));
                if !asc {
                    tasks.reverse();
                }
            }
            page(
                tasks.into_iter().map(|t| views::task(mms, t)).collect(),
                query,
                false,
            )
        }
        "GetMmsTask" => {
            let t = mms.task(source_id()?, object_id("taskId")?)?;
            Ok(views::task(mms, t))
        }
        "RetryMmsTask" => {
            let task_id = object_id("taskId")?;
            mms.retry_task(source_id()?, task_id, now)?;
            Ok(json!(task_id))
        }
        "ListMmsTaskLogs" => {
            let task_id = object_id("taskId")?;
            mms.task(source_id()?, task_id)?;
            Ok(mms
                .logs
                .get(&task_id)
                .map(|l| l.iter().map(views::task_log).collect())
                .unwrap_or_else(|| json!([])))
        }
        "CreateMmsTimer" => {
            let id = source_id()?;
            let request: JobRequest =
                serde_json::from_slice(if body.is_empty() { b"{}" } else { body }).map_err(
                    |e| {
                        ApiError::new(
                            400,
                            "InvalidParameter",
                            format!("Invalid request body: {e}"),
                        )
                    },
                )?;
            let b = json_body(body)?;
            let schedule =
                str_field(&b, "scheduleType")?.ok_or_else(|| ApiError::missing("scheduleType"))?;
            let value = str_field(&b, "value")?.ok_or_else(|| ApiError::missing("value"))?;
            let timer_id = mms.create_timer(id, request, &schedule, &value, now)?;
            Ok(json!({"timerId": timer_id}))
        }
        "ListMmsTimers" => {
            let id = source_id()?;
            source_exists(mms, id)?;
            let stopped = query.bool("stopped")?;
            let items = mms
                .timers
                .values()
                .filter(|t| t.source_id == id)
                .filter(|t| like(query.get("name"), &t.name))
                .filter(|t| query.get("srcDbName").is_none_or(|n| n == t.src_db_name))
                .filter(|t| {
                    query.get("srcTableName").is_none_or(|n| {
                        t.request
                            .tables
                            .as_ref()
                            .is_none_or(|ts| ts.iter().any(|x| x == n))
                    })
                })
                .filter(|t| stopped.is_none_or(|s| s == t.stopped))
                .map(|t| views::timer(t, false))
                .collect();
            page(items, query, false)
        }
        "GetMmsTimer" => {
            let t = mms.timer(source_id()?, object_id("timerId")?)?;
            Ok(views::timer(t, true))
        }
        "UpdateMmsTimer" => {
            let timer_id = object_id("timerId")?;
            let b = json_body(body)?;
            let stopped = match b.get("stopped") {
                Some(Value::Bool(v)) => Some(*v),
                Some(Value::String(s)) => {
                    Some(parse_bool(s).ok_or_else(|| ApiError::invalid("stopped"))?)
                }
                Some(Value::Null) | None => None,
                Some(_) => return Err(ApiError::invalid("stopped")),
            };
            let black = b
                .contains_key("tableBlackList")
                .then(|| str_list(&b, "tableBlackList"))
                .transpose()?;
            let white = b
                .contains_key("tableWhiteList")
                .then(|| str_list(&b, "tableWhiteList"))
                .transpose()?;
            mms.update_timer(
                source_id()?,
                timer_id,
                str_field(&b, "scheduleType")?.as_deref(),
                str_field(&b, "value")?.as_deref(),
                stopped,
                black,
                white,
                now,
            )?;
            Ok(json!(timer_id))
        }
        "DeleteMmsTimer" => {
            let timer_id = object_id("timerId")?;
            mms.delete_timer(source_id()?, timer_id)?;
            Ok(json!(timer_id))
        }
        "TriggerMmsTimer" => {
            let timer_id = object_id("timerId")?;
            mms.trigger_timer(source_id()?, timer_id, now)?;
            Ok(json!(timer_id))
        }
        "ListMmsTimerLogs" => {
            let id = source_id()?;
            let timer_id = object_id("timerId")?;
            mms.timer(id, timer_id)?;
            let mut items: Vec<Value> = mms
                .timer_logs
                .iter()
                .filter(|l| l.timer_id == timer_id)
                .map(|l| views::timer_log(mms, l))
                .collect();
            items.reverse();
            page(items, query, false)
        }
        other => Err(ApiError::new(
            404,
            "InvalidAction.NotFound",
            format!("Unknown action {other}."),
        )),
    }
}

/// Supported data source types (canonical upper case).
pub const SOURCE_TYPES: &[&str] = &[
    "HIVE",
    "BIGQUERY",
    "SNOWFLAKE",
    "REDSHIFT",
    "DATABRICKS",
    "MAXCOMPUTE",
];

fn item(key: &str, name: &str, kind: &str, required: bool) -> ConfigItemSpec {
    ConfigItemSpec {
        key: key.into(),
        name: Some(name.into()),
        desc: None,
        group: Some("basic_group".into()),
        kind: kind.into(),
        required,
        value: Value::Null,
    }
}

/// The configuration items a source type takes.
pub fn config_templates(kind: &str) -> Option<Vec<ConfigItemSpec>> {
    let mut items = match kind.to_ascii_uppercase().as_str() {
        "HIVE" => vec![
            item("hive.metastore.url", "Hive metastore URL", "string", true),
            item("hive.hdfs.user", "HDFS user", "string", false),
            item(
                "hive.metastore.password",
                "Metastore DB password",
                "password",
                false,
            ),
            item("hive.kerberos.keytab", "Kerberos keytab", "file", false),
        ],
        "BIGQUERY" => vec![
            item("bigquery.project.id", "GCP project", "string", true),
            item(
                "bigquery.service.account.key",
                "Service account key",
                "file",
                true,
            ),
            item(
                "bigquery.range.partition.migrate.type",
                "Range partition handling",
                "string",
                false,
            ),
        ],
        "SNOWFLAKE" => vec![
            item("snowflake.account", "Account", "string", true),
            item("snowflake.user", "User", "string", true),
            item("snowflake.password", "Password", "password", true),
            item("snowflake.warehouse", "Warehouse", "string", true),
        ],
        "REDSHIFT" => vec![
            item("redshift.endpoint", "Cluster endpoint", "string", true),
            item("redshift.user", "User", "string", true),
            item("redshift.password", "Password", "password", true),
        ],
        "DATABRICKS" => vec![
            item("databricks.workspace.url", "Workspace URL", "string", true),
            item("databricks.token", "Access token", "password", true),
            item("databricks.catalog", "Catalog", "string", false),
        ],
        "MAXCOMPUTE" => vec![
            item("mc.src.project", "Source project", "string", true),
            item("mc.src.endpoint", "Source endpoint", "string", true),
            item("mc.src.access.id", "AccessKey ID", "string", true),
            item("mc.src.access.key", "AccessKey secret", "password", true),
        ],
        _ => return None,
    };
    items.push(item(
        "mc.default.project",
        "Default MaxCompute project",
        "string",
        true,
    ));
    Some(items)
}

fn like(filter: Option<&str>, value: &str) -> bool {
    filter.is_none_or(|f| value.to_lowercase().contains(&f.to_lowercase()))
}

fn str_field(b: &Map<String, Value>, key: &str) -> Result<Option<String>, ApiError> {
    match b.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(ApiError::invalid(key)),
    }
}

fn str_list(b: &Map<String, Value>, key: &str) -> Result<Vec<String>, ApiError> {
    match b.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| ApiError::invalid(key))
            })
            .collect(),
        Some(_) => Err(ApiError::invalid(key)),
    }
}

fn obj_status(b: &Map<String, Value>) -> Result<Option<ObjStatus>, ApiError> {
    str_field(b, "status")?
        .map(|s| ObjStatus::parse(&s).ok_or_else(|| ApiError::invalid("status")))
        .transpose()
}

fn apply_table_update(
    t: &mut super::catalog::Table,
    b: &Map<String, Value>,
    status: Option<ObjStatus>,
) -> Result<(), ApiError> {
    if let Some(p) = str_field(b, "dstProjectName")? {
        t.dst_project_name = p;
    }
    if let Some(s) = str_field(b, "dstSchemaName")? {
        t.dst_schema_name = Some(s);
    }
    if let Some(n) = str_field(b, "dstName")? {
        t.dst_name = n;
    }
    if let Some(s) = status {
        t.status = s;
    }
    Ok(())
}

/// `status` of ListMmsTables/Partitions: a JSON array string (`["DONE","FAILED"]`) or one value.
fn status_list(raw: Option<&str>) -> Result<Vec<String>, ApiError> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    let values: Vec<String> = if raw.trim_start().starts_with('[') {
        serde_json::from_str(raw)
            .map_err(|_| ApiError::invalid_because("status", "expected a JSON array of statuses"))?
    } else {
        raw.split(',').map(|s| s.trim().to_string()).collect()
    };
    values
        .into_iter()
        .map(|s| {
            ObjStatus::parse(&s)
                .map(|s| s.as_str().to_string())
                .ok_or_else(|| ApiError::invalid("status"))
        })
        .collect()
}

fn time_param(q: &Params, key: &str) -> Result<Option<SimMillis>, ApiError> {
    q.get(key)
        .map(|v| {
            parse_time(v)
                .ok_or_else(|| ApiError::invalid_because(key, "expected YYYY-MM-DD HH:mm:ss"))
        })
        .transpose()
}

/// Applies `sorter.numRows|size|lastDdlTime` to (item, rows, size, lastDdl) tuples.
fn sort_dotted(rows: &mut [(Value, i64, i64, SimMillis)], q: &Params) -> Result<(), ApiError> {
    for (key, field) in [
        ("sorter.numRows", 1),
        ("sorter.size", 2),
        ("sorter.lastDdlTime", 3),
    ] {
        let Some(dir) = q.get(key) else { continue };
        let asc = match dir.to_ascii_lowercase().as_str() {
            "asc" => true,
            "desc" => false,
            _ => return Err(ApiError::invalid(key)),
        };
        rows.sort_by_key(|r| match field {
            1 => r.1,
            2 => r.2,
            _ => r.3,
        });
        if !asc {
            rows.reverse();
        }
    }
    Ok(())
}

/// Applies a ListMmsDbs JSON sorter (`{"numRows":"desc"}`).
fn apply_sorters<'a>(
    items: &mut [Value],
    sorters: impl Iterator<Item = (&'a str, &'a str)>,
) -> Result<(), ApiError> {
    for (key, dir) in sorters {
        let asc = match dir.to_ascii_lowercase().as_str() {
            "asc" => true,
            "desc" => false,
            _ => {
                return Err(ApiError::invalid_because(
                    "sorter",
                    "directions are asc or desc",
                ));
            }
        };
        if !["numRows", "size", "updateTime"].contains(&key) {
            return Err(ApiError::invalid_because(
                "sorter",
                "keys are numRows, size, updateTime",
            ));
        }
        items.sort_by(|a, b| {
            let ord = match key {
                "updateTime" => a[key].as_str().cmp(&b[key].as_str()),
                _ => a[key].as_i64().cmp(&b[key].as_i64()),
            };
            if asc { ord } else { ord.reverse() }
        });
    }
    Ok(())
}

/// Paging: `pageNum` is 1-based; default page size 20, at most 100. With `all_when_absent`
/// (ListMmsDataSources) omitting both returns everything.
fn page(items: Vec<Value>, q: &Params, all_when_absent: bool) -> Result<Value, ApiError> {
    let (num, size) = (q.int("pageNum")?, q.int("pageSize")?);
    let total = items.len();
    if all_when_absent && num.is_none() && size.is_none() {
        return Ok(json!({"objectList": items, "pageNum": 1, "pageSize": total, "total": total}));
    }
    let num = num.unwrap_or(1);
    let size = size.unwrap_or(20);
    if num < 1 {
        return Err(ApiError::invalid_because("pageNum", "must be at least 1"));
    }
    if size < 1 {
        return Err(ApiError::invalid_because("pageSize", "must be at least 1"));
    }
    let size = size.min(100);
    let list: Vec<Value> = items
        .into_iter()
        .skip(((num - 1) * size) as usize)
        .take(size as usize)
        .collect();
    Ok(json!({"objectList": list, "pageNum": num, "pageSize": size, "total": total}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_the_sdk_paths() {
        let r = match_route("POST", "/api/v1/mms/datasources/2000001/jobs/7").unwrap();
        assert_eq!(r.action, "DeleteMmsJob");
        assert_eq!(r.args, vec!["2000001", "7"]);
        assert_eq!(
            match_route("GET", "/api/v1/mms/datasources/1/tasks/2/logs")
                .unwrap()
                .action,
            "ListMmsTaskLogs"
        );
        assert!(match_route("DELETE", "/api/v1/mms/datasources/1/jobs/7").is_none());
        assert!(path_exists("/api/v1/mms/datasources/1/jobs/7"));
    }
}
