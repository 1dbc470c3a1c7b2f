//! MMS request parameters, named and typed as in the official SDK (PyPI
//! `alibabacloud_maxcompute20220104`). Plain structs with `Default`; every field is optional
//! unless the operation needs it.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::models::{JobStatus, MigrationStatus, TaskStatus};

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOrder {
    Asc,
    Desc,
}

impl SortOrder {
    pub fn as_str(&self) -> &'static str {
        match self {
            SortOrder::Asc => "asc",
            SortOrder::Desc => "desc",
        }
    }
}

/// Query parameters, unencoded; `true`/`false` for booleans.
#[derive(Debug, Default)]
pub(crate) struct Query(pub Vec<(String, String)>);

impl Query {
    pub fn put(&mut self, key: &str, value: impl ToString) -> &mut Self {
        self.0.push((key.to_string(), value.to_string()));
        self
    }

    pub fn opt<T: ToString>(&mut self, key: &str, value: &Option<T>) -> &mut Self {
        if let Some(v) = value {
            self.put(key, v.to_string());
        }
        self
    }

    pub fn text(&mut self, key: &str, value: &Option<String>) -> &mut Self {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            self.put(key, v);
        }
        self
    }

    /// `sorter.<field>=asc|desc` (the flattened-object style).
    pub fn sorter(&mut self, field: &str, order: Option<SortOrder>) -> &mut Self {
        if let Some(o) = order {
            self.put(&format!("sorter.{field}"), o.as_str());
        }
        self
    }

    pub fn page(&mut self, page_num: Option<u32>, page_size: Option<u32>) -> &mut Self {
        self.opt("pageNum", &page_num).opt("pageSize", &page_size)
    }
}

/// ListMmsDataSources filter. Without paging the service returns every source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListDataSourcesRequest {
    /// Name filter (substring match on the server).
    pub name: Option<String>,
    /// `HIVE`, `BIGQUERY`, ...
    pub source_type: Option<String>,
    pub region: Option<String>,
    pub page_num: Option<u32>,
    pub page_size: Option<u32>,
}

impl ListDataSourcesRequest {
    pub(crate) fn query(&self) -> Query {
        let mut q = Query::default();
        q.text("name", &self.name)
            .text("type", &self.source_type)
            .text("region", &self.region)
            .page(self.page_num, self.page_size);
        q
    }
}

/// CreateMmsFetchMetadataJob scope; empty = the whole source.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FetchMetadataRequest {
    /// Restrict the scan to one database / schema / dataset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db_name: Option<String>,
    /// Restrict the scan to these tables.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub table_names: Vec<String>,
}

/// ListMmsDbs filter. The sorter travels as one JSON string (`sorter={"numRows":"desc"}`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListDbsRequest {
    pub name: Option<String>,
    pub status: Option<MigrationStatus>,
    pub page_num: Option<u32>,
    pub page_size: Option<u32>,
    pub sort_by_num_rows: Option<SortOrder>,
    pub sort_by_size: Option<SortOrder>,
    pub sort_by_update_time: Option<SortOrder>,
}

impl ListDbsRequest {
    pub(crate) fn query(&self) -> Query {
        let mut q = Query::default();
        q.text("name", &self.name)
            .opt("status", &self.status)
            .page(self.page_num, self.page_size);
        let mut sorter = serde_json::Map::new();
        for (field, order) in [
            ("numRows", self.sort_by_num_rows),
            ("size", self.sort_by_size),
            ("updateTime", self.sort_by_update_time),
        ] {
            if let Some(o) = order {
                sorter.insert(field.into(), Value::String(o.as_str().into()));
            }
        }
        if !sorter.is_empty() {
            q.put("sorter", Value::Object(sorter).to_string());
        }
        q
    }
}

/// A status list sent as one JSON-array string (`status=["DONE","FAILED"]`).
fn status_list(q: &mut Query, statuses: &[MigrationStatus]) {
    if !statuses.is_empty() {
        let list: Vec<&str> = statuses.iter().map(MigrationStatus::as_str).collect();
        q.put("status", Value::from(list).to_string());
    }
}

/// ListMmsTables filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListTablesRequest {
    pub db_id: Option<i64>,
    pub db_name: Option<String>,
    pub name: Option<String>,
    pub table_type: Option<String>,
    pub has_partitions: Option<bool>,
    /// Return names only.
    pub only_name: Option<bool>,
    pub dst_project_name: Option<String>,
    pub dst_schema_name: Option<String>,
    pub dst_name: Option<String>,
    /// `YYYY-MM-DD HH:mm:ss`.
    pub last_ddl_time_start: Option<String>,
    pub last_ddl_time_end: Option<String>,
    /// Any of these statuses (sent as a JSON array string).
    pub status: Vec<MigrationStatus>,
    pub page_num: Option<u32>,
    pub page_size: Option<u32>,
    pub sort_by_last_ddl_time: Option<SortOrder>,
    pub sort_by_num_rows: Option<SortOrder>,
    pub sort_by_size: Option<SortOrder>,
}

impl ListTablesRequest {
    pub(crate) fn query(&self) -> Query {
        let mut q = Query::default();
        q.opt("dbId", &self.db_id)
            .text("dbName", &self.db_name)
            .text("name", &self.name)
            .text("type", &self.table_type)
            .opt("hasPartitions", &self.has_partitions)
            .opt("onlyName", &self.only_name)
            .text("dstProjectName", &self.dst_project_name)
            .text("dstSchemaName", &self.dst_schema_name)
            .text("dstName", &self.dst_name)
            .text("lastDdlTimeStart", &self.last_ddl_time_start)
            .text("lastDdlTimeEnd", &self.last_ddl_time_end)
            .page(self.page_num, self.page_size)
            .sorter("lastDdlTime", self.sort_by_last_ddl_time)
            .sorter("numRows", self.sort_by_num_rows)
            .sorter("size", self.sort_by_size);
        status_list(&mut q, &self.status);
        q
    }
}

/// ListMmsPartitions filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListPartitionsRequest {
    pub db_id: Option<i64>,
    pub db_name: Option<String>,
    pub table_id: Option<i64>,
    pub table_name: Option<String>,
    /// Partition spec `p1=1/p2=abc`.
    pub value: Option<String>,
    /// Only partitions whose metadata changed.
    pub updated: Option<bool>,
    pub last_ddl_time_start: Option<String>,
    pub last_ddl_time_end: Option<String>,
    /// Any of these statuses (sent as a JSON array string).
    pub status: Vec<MigrationStatus>,
    pub page_num: Option<u32>,
    pub page_size: Option<u32>,
    pub sort_by_num_rows: Option<SortOrder>,
    pub sort_by_size: Option<SortOrder>,
    pub sort_by_last_ddl_time: Option<SortOrder>,
}

impl ListPartitionsRequest {
    pub(crate) fn query(&self) -> Query {
        let mut q = Query::default();
        q.opt("dbId", &self.db_id)
            .text("dbName", &self.db_name)
            .opt("tableId", &self.table_id)
            .text("tableName", &self.table_name)
            .text("value", &self.value)
            .opt("updated", &self.updated)
            .text("lastDdlTimeStart", &self.last_ddl_time_start)
            .text("lastDdlTimeEnd", &self.last_ddl_time_end)
            .page(self.page_num, self.page_size)
            .sorter("numRows", self.sort_by_num_rows)
            .sorter("size", self.sort_by_size)
            .sorter("lastDdlTime", self.sort_by_last_ddl_time);
        status_list(&mut q, &self.status);
        q
    }
}

/// CreateMmsJob body. Scope: whole database (`src_db_name` only, optionally black/white
/// lists), tables (`tables`), or partitions (`partitions` ids, or `tables` + `partition_filters`).
/// The job starts by itself once created.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateMmsJobRequest {
    pub name: String,
    pub src_db_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_schema_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst_db_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst_schema_name: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<String>,
    /// Partition ids.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub partitions: Vec<i64>,
    /// Table → partition filter expression.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub partition_filters: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub table_black_list: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub table_white_list: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub table_mapping: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub column_mapping: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_schema_migration: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_data_migration: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_verification: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub increment: Option<bool>,
    /// Expected finish time; earlier means higher priority.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eta: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub others: Option<Value>,
}

/// ListMmsJobs filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListJobsRequest {
    /// Name filter (substring match on the server).
    pub name: Option<String>,
    pub src_db_name: Option<String>,
    pub src_table_name: Option<String>,
    pub dst_db_name: Option<String>,
    pub dst_table_name: Option<String>,
    pub status: Option<JobStatus>,
    /// Sent as `0`/`1` (the SDK types it as an integer).
    pub stopped: Option<bool>,
    /// Jobs created by this timer.
    pub timer_id: Option<i64>,
    pub page_num: Option<u32>,
    pub page_size: Option<u32>,
    pub sort_by_status: Option<SortOrder>,
}

impl ListJobsRequest {
    pub(crate) fn query(&self) -> Query {
        let mut q = Query::default();
        q.text("name", &self.name)
            .text("srcDbName", &self.src_db_name)
            .text("srcTableName", &self.src_table_name)
            .text("dstDbName", &self.dst_db_name)
            .text("dstTableName", &self.dst_table_name)
            .opt("status", &self.status)
            .opt("stopped", &self.stopped.map(u8::from))
            .opt("timerId", &self.timer_id)
            .page(self.page_num, self.page_size)
            .sorter("status", self.sort_by_status);
        q
    }
}

/// ListMmsTasks filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListTasksRequest {
    pub job_id: Option<i64>,
    pub job_name: Option<String>,
    pub src_db_name: Option<String>,
    pub src_table_name: Option<String>,
    pub dst_db_name: Option<String>,
    pub dst_table_name: Option<String>,
    /// Tasks that migrated this partition value.
    pub partition: Option<String>,
    pub status: Option<TaskStatus>,
    pub page_num: Option<u32>,
    pub page_size: Option<u32>,
    pub sort_by_start_time: Option<SortOrder>,
    pub sort_by_status: Option<SortOrder>,
}

impl ListTasksRequest {
    pub(crate) fn query(&self) -> Query {
        let mut q = Query::default();
        q.opt("jobId", &self.job_id)
            .text("jobName", &self.job_name)
            .text("srcDbName", &self.src_db_name)
            .text("srcTableName", &self.src_table_name)
            .text("dstDbName", &self.dst_db_name)
            .text("dstTableName", &self.dst_table_name)
            .text("partition", &self.partition)
            .opt("status", &self.status)
            .page(self.page_num, self.page_size)
            .sorter("startTime", self.sort_by_start_time)
            .sorter("status", self.sort_by_status);
        q
    }
}
