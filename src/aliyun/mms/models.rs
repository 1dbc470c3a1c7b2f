//! MMS response models, with the keys of the official SDK's models (PyPI
//! `alibabacloud_maxcompute20220104`), parsed leniently from masked JSON. The status values are
//! listed in `docs/cloud-apis.md#mms-status-values`.
//!
//! Ids and counters are `i64` (0 when absent), names `String` ("" when absent), optional texts
//! and timestamps `Option<String>` (timestamps are `YYYY-MM-DD HH:mm:ss`, zone unstated).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::aliyun::lenient::{
    flag, int, int_list, json_text, opt_bool, opt_enum, opt_f64, opt_i64, opt_string, string,
    string_enum, string_list, string_map, vec_or_wrapped,
};

string_enum! {
    /// Data-source status.
    pub enum DataSourceStatus {
        Starting => ["STARTING"],
        Started => ["STARTED"],
        StartFailed => ["START_FAILED"],
        Stopping => ["STOPPING"],
        Stopped => ["STOPPED"],
        StopFailed => ["STOP_FAILED"],
    }
}

string_enum! {
    /// Status of asynchronous work: metadata scans, async tasks, a data source's last scan.
    /// Only `DONE`, `SCAN_DOING` and the `DOING|DONE|FAILED` of `scanStatus` are documented;
    /// the `SCAN_*` and common synonyms are folded into the same four states.
    pub enum AsyncStatus {
        Init => ["INIT", "PENDING", "WAITING"],
        Doing => ["DOING", "SCAN_DOING", "RUNNING"],
        Done => ["DONE", "SCAN_DONE", "SUCCESS", "SUCCEEDED"],
        Failed => ["FAILED", "SCAN_FAILED", "FAIL", "ERROR"],
    }
}

impl AsyncStatus {
    /// Done or failed.
    pub fn is_terminal(&self) -> bool {
        matches!(self, AsyncStatus::Done | AsyncStatus::Failed)
    }
}

string_enum! {
    /// Migration status of a database, table or partition; `PART_DONE` only for databases and
    /// tables.
    pub enum MigrationStatus {
        Init => ["INIT"],
        Doing => ["DOING"],
        Done => ["DONE"],
        Failed => ["FAILED"],
        PartDone => ["PART_DONE"],
    }
}

string_enum! {
    /// Job status; `stopped` is a separate flag.
    pub enum JobStatus {
        Init => ["INIT"],
        Doing => ["DOING"],
        Done => ["DONE"],
        Failed => ["FAILED"],
    }
}

string_enum! {
    /// Task status. The documented typo `DATA_DONG` reads as `DATA_DONE`.
    pub enum TaskStatus {
        Init => ["INIT"],
        SchemaDoing => ["SCHEMA_DOING"],
        SchemaDone => ["SCHEMA_DONE"],
        SchemaFailed => ["SCHEMA_FAILED"],
        DataDoing => ["DATA_DOING"],
        DataDone => ["DATA_DONE", "DATA_DONG"],
        DataFailed => ["DATA_FAILED"],
        VerificationDoing => ["VERIFICATION_DOING"],
        VerificationDone => ["VERIFICATION_DONE"],
        VerificationFailed => ["VERIFICATION_FAILED"],
        Done => ["DONE"],
    }
}

impl TaskStatus {
    /// Every documented status, in pipeline order.
    pub const ALL: [TaskStatus; 11] = [
        TaskStatus::Init,
        TaskStatus::SchemaDoing,
        TaskStatus::SchemaDone,
        TaskStatus::SchemaFailed,
        TaskStatus::DataDoing,
        TaskStatus::DataDone,
        TaskStatus::DataFailed,
        TaskStatus::VerificationDoing,
        TaskStatus::VerificationDone,
        TaskStatus::VerificationFailed,
        TaskStatus::Done,
    ];

    /// One of the `*_FAILED` states.
    pub fn is_failed(&self) -> bool {
        matches!(
            self,
            TaskStatus::SchemaFailed | TaskStatus::DataFailed | TaskStatus::VerificationFailed
        )
    }

    /// In flight: a `*_DOING` or an intermediate `*_DONE`, what makes a job `DOING`
    /// (`docs/cloud-apis.md#mms-task-state-machine-and-job-status`).
    pub fn is_in_progress(&self) -> bool {
        matches!(
            self,
            TaskStatus::SchemaDoing
                | TaskStatus::SchemaDone
                | TaskStatus::DataDoing
                | TaskStatus::DataDone
                | TaskStatus::VerificationDoing
                | TaskStatus::VerificationDone
        )
    }
}

string_enum! {
    /// Scope of a job.
    pub enum JobType {
        Database => ["Database"],
        Tables => ["Tables"],
        Partitions => ["Partitions"],
    }
}

string_enum! {
    /// Async-task type.
    pub enum AsyncTaskType {
        TaskCreate => ["TASK_CREATE"],
        StopJob => ["STOP_JOB"],
    }
}

/// A configuration item of a data source. `value` is masked when the item is a secret (its
/// `key` names a password/secret/token, or its `type` is `password`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct MmsConfigItem {
    #[serde(deserialize_with = "string")]
    pub key: String,
    #[serde(deserialize_with = "opt_string")]
    pub name: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub desc: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub group: Option<String>,
    #[serde(rename = "type", deserialize_with = "opt_string")]
    pub item_type: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub sub_type: Option<String>,
    #[serde(deserialize_with = "opt_bool")]
    pub required: Option<bool>,
    #[serde(deserialize_with = "string_list")]
    pub enums: Vec<String>,
    pub value: Option<Value>,
    pub sub_items: Option<Value>,
}

/// A data source (ListMmsDataSources item / GetMmsDataSource).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct MmsDataSource {
    #[serde(deserialize_with = "int")]
    pub id: i64,
    #[serde(deserialize_with = "string")]
    pub name: String,
    /// `HIVE`, `BIGQUERY`, `MAXCOMPUTE`, ... (compare case-insensitively).
    #[serde(rename = "type", deserialize_with = "string")]
    pub source_type: String,
    #[serde(deserialize_with = "opt_string")]
    pub region: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub networklink: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub dst_project: Option<String>,
    #[serde(deserialize_with = "string_list")]
    pub dst_projects: Vec<String>,
    #[serde(deserialize_with = "opt_enum")]
    pub status: Option<DataSourceStatus>,
    #[serde(deserialize_with = "opt_string")]
    pub err_msg: Option<String>,
    #[serde(deserialize_with = "opt_bool")]
    pub agent_is_online: Option<bool>,
    #[serde(deserialize_with = "opt_string")]
    pub create_time: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub last_update_time: Option<String>,
    /// Id of the last metadata scan.
    #[serde(deserialize_with = "opt_i64")]
    pub scan_id: Option<i64>,
    /// List items only.
    #[serde(deserialize_with = "opt_enum")]
    pub scan_status: Option<AsyncStatus>,
    #[serde(deserialize_with = "opt_string")]
    pub scan_err_msg: Option<String>,
    #[serde(deserialize_with = "int")]
    pub db_num: i64,
    #[serde(deserialize_with = "int")]
    pub table_num: i64,
    #[serde(deserialize_with = "int")]
    pub partition_num: i64,
    #[serde(deserialize_with = "int")]
    pub tables_doing_num: i64,
    #[serde(deserialize_with = "int")]
    pub tables_done_num: i64,
    #[serde(deserialize_with = "int")]
    pub tables_failed_num: i64,
    #[serde(deserialize_with = "int")]
    pub tables_part_done_num: i64,
    #[serde(deserialize_with = "int")]
    pub partitions_doing_num: i64,
    #[serde(deserialize_with = "int")]
    pub partitions_done_num: i64,
    #[serde(deserialize_with = "int")]
    pub partitions_failed_num: i64,
    /// Only with `withConfig=true`; secret values are masked.
    #[serde(deserialize_with = "vec_or_wrapped")]
    pub config: Vec<MmsConfigItem>,
    /// The whole masked JSON object, for fields this model does not name.
    #[serde(skip)]
    pub raw: Value,
}

/// A source database (ListMmsDbs item / GetMmsDb).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct MmsDb {
    #[serde(deserialize_with = "int")]
    pub id: i64,
    #[serde(deserialize_with = "int")]
    pub source_id: i64,
    #[serde(deserialize_with = "opt_string")]
    pub source_name: Option<String>,
    #[serde(deserialize_with = "string")]
    pub name: String,
    #[serde(deserialize_with = "opt_string")]
    pub description: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub owner: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub location: Option<String>,
    /// JSON text in the API; parsed when it is JSON.
    #[serde(deserialize_with = "json_text")]
    pub extra: Option<Value>,
    #[serde(deserialize_with = "opt_string")]
    pub last_ddl_time: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub dst_project_name: Option<String>,
    /// Target schema (3-level projects); `None` for 2-level projects.
    #[serde(deserialize_with = "opt_string")]
    pub dst_name: Option<String>,
    #[serde(deserialize_with = "opt_enum")]
    pub status: Option<MigrationStatus>,
    #[serde(deserialize_with = "opt_bool")]
    pub updated: Option<bool>,
    #[serde(deserialize_with = "opt_i64")]
    pub size: Option<i64>,
    #[serde(deserialize_with = "opt_i64")]
    pub num_rows: Option<i64>,
    #[serde(deserialize_with = "int")]
    pub tables: i64,
    #[serde(deserialize_with = "int")]
    pub tables_doing: i64,
    #[serde(deserialize_with = "int")]
    pub tables_done: i64,
    #[serde(deserialize_with = "int")]
    pub tables_failed: i64,
    #[serde(deserialize_with = "int")]
    pub tables_part_done: i64,
    #[serde(deserialize_with = "int")]
    pub partitions: i64,
    #[serde(deserialize_with = "int")]
    pub partitions_doing: i64,
    #[serde(deserialize_with = "int")]
    pub partitions_done: i64,
    #[serde(deserialize_with = "int")]
    pub partitions_failed: i64,
    #[serde(deserialize_with = "opt_string")]
    pub create_time: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub update_time: Option<String>,
    #[serde(deserialize_with = "opt_bool")]
    pub deleted: Option<bool>,
}

/// A column of a table schema.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct MmsColumn {
    #[serde(deserialize_with = "string")]
    pub name: String,
    #[serde(rename = "type", deserialize_with = "opt_string")]
    pub column_type: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub comment: Option<String>,
    #[serde(deserialize_with = "opt_bool")]
    pub nullable: Option<bool>,
    #[serde(deserialize_with = "opt_string")]
    pub default_value: Option<String>,
}

/// A table schema.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct MmsTableSchema {
    #[serde(deserialize_with = "opt_string")]
    pub name: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub comment: Option<String>,
    #[serde(deserialize_with = "vec_or_wrapped")]
    pub columns: Vec<MmsColumn>,
    #[serde(deserialize_with = "vec_or_wrapped")]
    pub partitions: Vec<MmsColumn>,
}

/// A source table (ListMmsTables item / GetMmsTable).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct MmsTable {
    #[serde(deserialize_with = "int")]
    pub id: i64,
    #[serde(deserialize_with = "int")]
    pub db_id: i64,
    #[serde(deserialize_with = "int")]
    pub source_id: i64,
    #[serde(deserialize_with = "string")]
    pub db_name: String,
    #[serde(deserialize_with = "opt_string")]
    pub source_name: Option<String>,
    #[serde(deserialize_with = "string")]
    pub name: String,
    #[serde(rename = "type", deserialize_with = "opt_string")]
    pub table_type: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub owner: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub location: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub input_format: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub output_format: Option<String>,
    /// The table's SerDe class (`serde` in the API).
    #[serde(rename = "serde", deserialize_with = "opt_string")]
    pub serde_class: Option<String>,
    #[serde(deserialize_with = "json_text")]
    pub extra: Option<Value>,
    #[serde(deserialize_with = "opt_string")]
    pub last_ddl_time: Option<String>,
    #[serde(deserialize_with = "opt_bool")]
    pub has_partitions: Option<bool>,
    #[serde(deserialize_with = "opt_bool")]
    pub updated: Option<bool>,
    #[serde(deserialize_with = "opt_i64")]
    pub size: Option<i64>,
    #[serde(deserialize_with = "opt_i64")]
    pub num_rows: Option<i64>,
    #[serde(deserialize_with = "int")]
    pub partitions: i64,
    #[serde(deserialize_with = "int")]
    pub partitions_doing: i64,
    #[serde(deserialize_with = "int")]
    pub partitions_done: i64,
    #[serde(deserialize_with = "int")]
    pub partitions_failed: i64,
    #[serde(deserialize_with = "opt_enum")]
    pub status: Option<MigrationStatus>,
    #[serde(deserialize_with = "opt_string")]
    pub dst_project_name: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub dst_schema_name: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub dst_name: Option<String>,
    pub schema: Option<MmsTableSchema>,
}

/// A source partition (ListMmsPartitions item).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct MmsPartition {
    #[serde(deserialize_with = "int")]
    pub id: i64,
    #[serde(deserialize_with = "int")]
    pub db_id: i64,
    #[serde(deserialize_with = "int")]
    pub table_id: i64,
    #[serde(deserialize_with = "int")]
    pub source_id: i64,
    #[serde(deserialize_with = "string")]
    pub db_name: String,
    #[serde(deserialize_with = "string")]
    pub table_name: String,
    #[serde(deserialize_with = "opt_string")]
    pub source_name: Option<String>,
    /// Partition spec, e.g. `p1=1/p2=abc`.
    #[serde(deserialize_with = "string")]
    pub value: String,
    #[serde(deserialize_with = "opt_string")]
    pub dst_project_name: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub dst_schema_name: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub dst_table_name: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub dst_value: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub last_ddl_time: Option<String>,
    #[serde(deserialize_with = "opt_i64")]
    pub size: Option<i64>,
    #[serde(deserialize_with = "opt_i64")]
    pub num_rows: Option<i64>,
    #[serde(deserialize_with = "opt_bool")]
    pub updated: Option<bool>,
    #[serde(deserialize_with = "opt_enum")]
    pub status: Option<MigrationStatus>,
}

/// The configuration a job was created with.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct MmsJobConfig {
    #[serde(deserialize_with = "string_list")]
    pub tables: Vec<String>,
    #[serde(deserialize_with = "string_list")]
    pub table_black_list: Vec<String>,
    #[serde(deserialize_with = "string_list")]
    pub table_white_list: Vec<String>,
    #[serde(deserialize_with = "int_list")]
    pub partitions: Vec<i64>,
    #[serde(deserialize_with = "string_map")]
    pub partition_filters: BTreeMap<String, String>,
    #[serde(deserialize_with = "string_map")]
    pub table_mapping: BTreeMap<String, String>,
    #[serde(deserialize_with = "string_map")]
    pub column_mapping: BTreeMap<String, String>,
    #[serde(deserialize_with = "opt_bool")]
    pub increment: Option<bool>,
    #[serde(deserialize_with = "opt_bool")]
    pub enable_verification: Option<bool>,
    #[serde(deserialize_with = "opt_bool")]
    pub enable_schema_migration: Option<bool>,
    #[serde(deserialize_with = "opt_bool")]
    pub enable_data_migration: Option<bool>,
    #[serde(deserialize_with = "opt_bool")]
    pub schema_only: Option<bool>,
    pub others: Option<Value>,
}

/// A migration job (ListMmsJobs item / GetMmsJob). Progress is only `task_num`/`task_done`;
/// per-state counts come from [`MmsClient::count_tasks_by_status`](super::MmsClient).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct MmsJob {
    #[serde(deserialize_with = "int")]
    pub id: i64,
    #[serde(deserialize_with = "int")]
    pub source_id: i64,
    #[serde(deserialize_with = "int")]
    pub db_id: i64,
    #[serde(deserialize_with = "string")]
    pub name: String,
    #[serde(deserialize_with = "opt_string")]
    pub source_name: Option<String>,
    #[serde(deserialize_with = "string")]
    pub src_db_name: String,
    #[serde(deserialize_with = "opt_string")]
    pub src_schema_name: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub dst_db_name: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub dst_schema_name: Option<String>,
    #[serde(deserialize_with = "opt_enum")]
    pub status: Option<JobStatus>,
    #[serde(rename = "type", deserialize_with = "opt_enum")]
    pub job_type: Option<JobType>,
    #[serde(deserialize_with = "flag")]
    pub stopped: bool,
    #[serde(deserialize_with = "int")]
    pub task_num: i64,
    #[serde(deserialize_with = "int")]
    pub task_done: i64,
    #[serde(deserialize_with = "opt_string")]
    pub eta: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub create_time: Option<String>,
    pub config: Option<MmsJobConfig>,
}

/// A migration task: one table or one group of partitions (ListMmsTasks item / GetMmsTask).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct MmsTask {
    #[serde(deserialize_with = "int")]
    pub id: i64,
    #[serde(deserialize_with = "int")]
    pub job_id: i64,
    #[serde(deserialize_with = "int")]
    pub source_id: i64,
    #[serde(deserialize_with = "int")]
    pub db_id: i64,
    #[serde(deserialize_with = "int")]
    pub table_id: i64,
    #[serde(deserialize_with = "opt_string")]
    pub job_name: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub source_name: Option<String>,
    #[serde(deserialize_with = "string")]
    pub src_db_name: String,
    #[serde(deserialize_with = "opt_string")]
    pub src_schema_name: Option<String>,
    #[serde(deserialize_with = "string")]
    pub src_table_name: String,
    #[serde(deserialize_with = "opt_string")]
    pub dst_db_name: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub dst_schema_name: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub dst_table_name: Option<String>,
    /// Engine, e.g. `HIVE`, `BIGQUERY`.
    #[serde(rename = "type", deserialize_with = "opt_string")]
    pub task_type: Option<String>,
    #[serde(deserialize_with = "opt_enum")]
    pub status: Option<TaskStatus>,
    #[serde(deserialize_with = "flag")]
    pub running: bool,
    #[serde(deserialize_with = "flag")]
    pub stopped: bool,
    #[serde(deserialize_with = "int")]
    pub retried_times: i64,
    #[serde(deserialize_with = "opt_string")]
    pub create_time: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub start_time: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub end_time: Option<String>,
}

/// One entry of a task's log (verification counts live here).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct MmsTaskLog {
    #[serde(deserialize_with = "int")]
    pub id: i64,
    #[serde(deserialize_with = "int")]
    pub task_id: i64,
    #[serde(deserialize_with = "int")]
    pub source_id: i64,
    #[serde(deserialize_with = "opt_enum")]
    pub status: Option<TaskStatus>,
    #[serde(deserialize_with = "opt_string")]
    pub action: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub msg: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub create_time: Option<String>,
}

/// Asynchronous work started by CreateMmsJob (`TASK_CREATE`) or StopMmsJob (`STOP_JOB`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct MmsAsyncTask {
    #[serde(deserialize_with = "int")]
    pub id: i64,
    #[serde(deserialize_with = "int")]
    pub source_id: i64,
    /// What the work produced or touched; for `TASK_CREATE` the new job's id.
    #[serde(deserialize_with = "opt_i64")]
    pub object_id: Option<i64>,
    #[serde(rename = "type", deserialize_with = "opt_enum")]
    pub task_type: Option<AsyncTaskType>,
    #[serde(deserialize_with = "opt_enum")]
    pub status: Option<AsyncStatus>,
    #[serde(deserialize_with = "flag")]
    pub running: bool,
    #[serde(deserialize_with = "opt_f64")]
    pub progress: Option<f64>,
    #[serde(deserialize_with = "opt_string")]
    pub result: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub error_msg: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub create_time: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub start_time: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub end_time: Option<String>,
}

impl MmsAsyncTask {
    /// The id of the job a finished `TASK_CREATE` produced.
    pub fn created_job_id(&self) -> Option<i64> {
        (self.task_type == Some(AsyncTaskType::TaskCreate)
            && self.status == Some(AsyncStatus::Done))
        .then_some(self.object_id)
        .flatten()
        .filter(|id| *id > 0)
    }
}

/// Counts found by a metadata scan (the scan's `result` JSON text).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct MmsScanResult {
    #[serde(deserialize_with = "opt_i64")]
    pub databases: Option<i64>,
    #[serde(deserialize_with = "opt_i64")]
    pub tables: Option<i64>,
    #[serde(deserialize_with = "opt_i64")]
    pub partitions: Option<i64>,
}

/// A metadata scan (GetMmsFetchMetadataJob).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct MmsScan {
    #[serde(deserialize_with = "int")]
    pub id: i64,
    #[serde(deserialize_with = "int")]
    pub source_id: i64,
    #[serde(deserialize_with = "opt_enum")]
    pub status: Option<AsyncStatus>,
    /// Basis points, 1..=10000 (`progress_percent` converts).
    #[serde(deserialize_with = "opt_f64")]
    pub progress: Option<f64>,
    #[serde(deserialize_with = "json_text")]
    pub result: Option<Value>,
    #[serde(deserialize_with = "opt_string")]
    pub error_msg: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub start_time: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub end_time: Option<String>,
}

impl MmsScan {
    /// Progress in percent (0..=100).
    pub fn progress_percent(&self) -> Option<f64> {
        self.progress.map(|p| (p / 100.0).clamp(0.0, 100.0))
    }

    /// The counts in `result`, when it is the documented JSON.
    pub fn result_counts(&self) -> Option<MmsScanResult> {
        self.result
            .clone()
            .and_then(|v| serde_json::from_value(v).ok())
    }
}
