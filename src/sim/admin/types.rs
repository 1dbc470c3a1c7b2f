//! Request and response bodies of the admin API, shared by the server and [`super::AdminClient`].

use serde::{Deserialize, Serialize};

use crate::sim::scenario::{CheckResult, LagCurve};

/// `POST /_sim/dts/jobs/{id}/lag`: a constant lag, a curve (origin = now), or `clear`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LagRequest {
    #[serde(default)]
    pub seconds: Option<f64>,
    #[serde(default)]
    pub curve: Option<LagCurve>,
    #[serde(default)]
    pub clear: bool,
}

/// `POST /_sim/dts/jobs/{id}/fail`: `MigrationFailed`, or `Retrying` (optionally recovering
/// by itself after `recoverAfterSeconds` of cloud time).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DtsFailRequest {
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub retrying: bool,
    #[serde(default)]
    pub recover_after_seconds: Option<f64>,
}

/// `POST /_sim/dts/jobs/{id}/precheck`: sets the outcome of one precheck item for the job's
/// next (or current) precheck run. Unknown items are added.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PrecheckItemRequest {
    pub item: String,
    pub result: CheckResult,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub repair: Option<String>,
    /// Whether SkipPreCheck may waive it (unchanged when absent; a new item: no).
    #[serde(default)]
    pub can_skip: Option<bool>,
}

/// `POST /_sim/dts/jobs/{id}/check-diff`: inconsistent rows the full or incremental data check
/// finds in a table.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CheckDiffRequest {
    pub table: String,
    pub diff_count: i64,
    /// 1 (default): the full data check; 2: the incremental data check.
    #[serde(default)]
    pub check_type: Option<u8>,
}

/// `POST /_sim/dts/jobs/{id}/writes`: the application commits `count` transactions on the
/// job's source now.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WritesRequest {
    pub count: usize,
}

/// `POST /_sim/dts/jobs/{id}/ddl`: a DDL statement runs on the job's source now; incremental
/// migration meets it (the job must be in its incremental stage).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DdlRequest {
    /// `db.table`.
    pub table: String,
    pub sql: String,
}

/// `POST /_sim/clock/advance`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AdvanceRequest {
    pub seconds: f64,
}

/// `POST /_sim/clock/set` (RFC 3339; only forward).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SetTimeRequest {
    pub time: String,
}

/// `POST /_sim/clock/scale`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ScaleRequest {
    pub scale: f64,
}

/// `POST /_sim/sts/expire`: expire one temporary key, or all.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ExpireRequest {
    #[serde(default)]
    pub access_key_id: Option<String>,
}

/// The simulated clock.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ClockView {
    /// RFC 3339.
    pub now: String,
    pub now_millis: i64,
    pub scale: f64,
}

/// A precheck item as the admin API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PrecheckItemView {
    pub item: String,
    pub state: String,
    #[serde(default)]
    pub message: String,
}

/// A DTS job as the admin API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DtsJobView {
    pub dts_job_id: String,
    #[serde(default)]
    pub dts_instance_id: Option<String>,
    pub account_id: String,
    /// Wire status of the new API.
    pub status: String,
    pub legacy: bool,
    pub name: Option<String>,
    /// `Precheck`, `PassDwell`, `Structure`, `Full` or `Incremental`.
    pub phase: String,
    pub precheck_status: String,
    pub precheck_runs: u32,
    pub precheck_items: Vec<PrecheckItemView>,
    pub structure_status: String,
    pub full_status: String,
    pub incremental_status: String,
    #[serde(default)]
    pub lag_ms: Option<i64>,
    #[serde(default)]
    pub checkpoint: Option<i64>,
    pub retry_count: u32,
    #[serde(default)]
    pub error_message: Option<String>,
    pub lag_overridden: bool,
    /// Source writes and how many of them the destination has.
    #[serde(default)]
    pub writes: crate::sim::dts::writes::WritesView,
    /// Alert rules (CreateJobMonitorRule): type, `Y`/`N`, delay seconds, phones.
    #[serde(default)]
    pub monitor_rules: Vec<(String, String, i64, String)>,
    /// The DbList the task was configured with (new API), as sent.
    #[serde(default)]
    pub db_list: Option<String>,
    /// The Reserve it was configured with, as sent.
    #[serde(default)]
    pub reserve: Option<String>,
}

/// An MMS task as the admin API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MmsTaskView {
    pub id: i64,
    pub table: String,
    pub partitions: usize,
    pub status: String,
    pub running: bool,
    pub stopped: bool,
    pub retried_times: i32,
}

/// An MMS job and its tasks as the admin API shows them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MmsJobView {
    pub id: i64,
    pub source_id: i64,
    pub source_name: String,
    pub name: String,
    pub src_db_name: String,
    pub status: String,
    pub stopped: bool,
    pub tasks: Vec<MmsTaskView>,
}

/// `POST /_sim/mms/sources/{sourceId}/partitions`: new partitions land in a table of the data
/// source's inventory (the source side: the next metadata scan or timer round brings them
/// into the MMS catalogue).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AddPartitionsRequest {
    pub db: String,
    pub table: String,
    /// `col=value` for each partition column in the table's order, joined by `/`.
    pub values: Vec<String>,
    /// Rows of each new partition; absent: the table's declared `numRowsEach`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<i64>,
}

/// Answer of `POST /_sim/mms/sources/{sourceId}/partitions`: values the source did not have
/// yet (those it had are left alone).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AddedResponse {
    pub added: usize,
}

/// Answer of calls that create something.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IdResponse {
    pub id: u64,
}
