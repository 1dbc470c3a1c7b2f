//! `MmsJob`: one MMS migration job (whole database, some tables, or some partitions).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::cel::immutable_once_set;
use super::common::{DeletionPolicy, LocalObjectRef, ManagementPolicy, VerificationState};
use super::mms_schedule::{MmsSchedule, RoundsStatus};

/// Spec fields that shape the `CreateMmsJob` request; they cannot change once the job exists.
pub const CREATION_FIELDS: &[&str] = &[
    "dataSourceRef",
    "jobName",
    "srcDbName",
    "srcSchemaName",
    "dstDbName",
    "dstSchemaName",
    "tables",
    "tableWhiteList",
    "tableBlackList",
    "partitionFilters",
    "partitions",
    "tableMapping",
    "columnMapping",
    "enableSchemaMigration",
    "enableDataMigration",
    "enableVerification",
    "eta",
    "increment",
];

fn immutable_rule() -> kube::core::Rule {
    kube::core::Rule::new(immutable_once_set("jobId", CREATION_FIELDS)).message(
        "the job scope (source, target, tables, filters, mappings, migration switches) cannot change once the MMS job exists (status.jobId); create a new MmsJob instead",
    )
}

/// Runs one MaxCompute Migration Service job from a DataSource into MaxCompute, reports task
/// progress and verification, and supports suspend, resume and retry from spec.
#[derive(CustomResource, KubeSchema, Deserialize, Serialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "migration.aliyun-operator.dev",
    version = "v1alpha1",
    kind = "MmsJob",
    namespaced,
    doc = "A MaxCompute Migration Service job: a whole database, some tables or some partitions.",
    status = "MmsJobStatus",
    shortname = "mmsj",
    category = "migration",
    printcolumn(name = "Ready", type_ = "string", json_path = r#".status.conditions[?(@.type=="Ready")].status"#),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(name = "Progress", type_ = "string", json_path = ".status.progress"),
    printcolumn(name = "Verified", type_ = "string", json_path = r#".status.conditions[?(@.type=="Verified")].status"#),
    printcolumn(name = "Job-ID", type_ = "string", priority = 1, json_path = ".status.jobId"),
    printcolumn(name = "Reason", type_ = "string", priority = 1, json_path = r#".status.conditions[?(@.type=="Ready")].reason"#),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = immutable_rule(),
    validation = kube::core::Rule::new("!has(oldSelf.status) || !has(oldSelf.status.rounds) || !has(oldSelf.status.rounds.timerId) || has(self.spec.schedule)").message("spec.schedule cannot be removed once its MMS timer exists (status.rounds.timerId): set spec.suspend to pause the rounds, or delete the MmsJob"),
    printcolumn(name = "Fresh", type_ = "string", json_path = r#".status.conditions[?(@.type=="FreshWithinThreshold")].status"#),
)]
#[x_kube(
    validation = Rule::new("!has(self.tables) || (!has(self.tableWhiteList) && !has(self.tableBlackList))").message("spec.tables selects a table-level job; tableWhiteList/tableBlackList only filter a whole-database job: set one or the other"),
    validation = Rule::new("!has(self.tableWhiteList) || !has(self.tableBlackList)").message("set tableWhiteList or tableBlackList, not both (MMS would silently ignore the whitelist)"),
    validation = Rule::new("!has(self.partitions) || (!has(self.tables) && !has(self.tableWhiteList) && !has(self.tableBlackList) && !has(self.partitionFilters))").message("spec.partitions (partition ids) is a scope of its own: do not combine it with tables, table lists or partitionFilters"),
    validation = Rule::new("!has(self.partitionFilters) || !has(self.tables) || self.partitionFilters.all(t, t in self.tables)").message("every table in spec.partitionFilters must be listed in spec.tables"),
    validation = Rule::new("self.enableSchemaMigration || self.enableDataMigration").message("enableSchemaMigration and enableDataMigration are both false: the job would do nothing"),
    validation = Rule::new("self.enableDataMigration || !self.enableVerification").message("enableVerification compares row counts of migrated data: it needs enableDataMigration"),
)]
#[serde(rename_all = "camelCase")]
pub struct MmsJobSpec {
    /// The DataSource (same namespace) to migrate from; region and credentials come from it.
    pub data_source_ref: LocalObjectRef,
    /// Name of the MMS job. Default: `<namespace>-<name>` of this resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 128))]
    pub job_name: Option<String>,
    /// Source database (Hive database, BigQuery dataset, ...).
    #[schemars(length(min = 1, max = 256))]
    pub src_db_name: String,
    /// Source schema, for sources with three-level names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub src_schema_name: Option<String>,
    /// Target MaxCompute project. Default: the data source's default project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub dst_db_name: Option<String>,
    /// Target schema in a three-level MaxCompute project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub dst_schema_name: Option<String>,
    /// Table-level job: exactly these tables. Omit (with no `partitions`) for a whole-database job.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 1000), inner(length(min = 1, max = 256)))]
    pub tables: Vec<String>,
    /// Whole-database job: only these tables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 1000), inner(length(min = 1, max = 256)))]
    pub table_white_list: Vec<String>,
    /// Whole-database job: all tables but these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 1000), inner(length(min = 1, max = 256)))]
    pub table_black_list: Vec<String>,
    /// Partition-level job: per-table partition filter, e.g.
    /// `{"sales": "dt >= '2024-01-01' and region in ('cn','sg')"}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 1000, "additionalProperties" = {"type": "string", "maxLength": 4096}))]
    #[x_kube(validation = Rule::new("self.all(k, size(k) <= 256)").message("table names in partitionFilters are at most 256 characters"))]
    pub partition_filters: BTreeMap<String, String>,
    /// Partition-level job by MMS partition ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10000))]
    pub partitions: Vec<i64>,
    /// Rename tables in the target: source name → target name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 1000, "additionalProperties" = {"type": "string", "maxLength": 256}))]
    #[x_kube(validation = Rule::new("self.all(k, size(k) <= 256)").message("table names in tableMapping are at most 256 characters"))]
    pub table_mapping: BTreeMap<String, String>,
    /// Rename columns in the target: source name → target name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 1000, "additionalProperties" = {"type": "string", "maxLength": 256}))]
    #[x_kube(validation = Rule::new("self.all(k, size(k) <= 256)").message("column names in columnMapping are at most 256 characters"))]
    pub column_mapping: BTreeMap<String, String>,
    /// Create or alter target tables. Default true.
    #[serde(default = "yes")]
    pub enable_schema_migration: bool,
    /// Copy data. Default true.
    #[serde(default = "yes")]
    pub enable_data_migration: bool,
    /// Compare `COUNT(*)` of source and target per table/partition after the copy. Default true:
    /// a Cutover requires a verified job.
    #[serde(default = "yes")]
    pub enable_verification: bool,
    /// Only migrate new or changed partitions.
    #[serde(default)]
    pub increment: bool,
    /// `true` stops the job (`StopMmsJob`); back to `false` resumes it (`StartMmsJob`) — but only
    /// a job that this operator stopped.
    #[serde(default)]
    pub suspend: bool,
    /// Any new value (e.g. a timestamp) retries the failed tasks of the job (`RetryMmsJob`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 128))]
    pub retry_requested_at: Option<String>,
    /// Retries the failed tasks of some tables only (`RetryMmsTask`, one call per task), once
    /// per new `requestedAt`. The other failed tasks stay as they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_tables: Option<TableRetry>,
    /// MMS's expected finish time of the job, passed as given (`eta`): among waiting jobs, the
    /// earlier runs first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub eta: Option<String>,
    /// Incremental rounds after the first full job: once that job succeeded, an MMS timer with
    /// the same scope runs a job on this schedule that copies new and changed partitions.
    /// `suspend` pauses the timer; `deletionPolicy` applies to it too. A round can be asked
    /// for at once with the annotation `migration.aliyun-operator.dev/round-requested-at`
    /// (a Cutover does so after its freeze).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<MmsSchedule>,
    /// What happens to the MMS job when this resource is deleted. Default `Retain`.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
    /// `Manage` (default) or `ObserveOnly`: with the annotation
    /// `migration.aliyun-operator.dev/adopt-id: <MMS job id>`, the resource follows an existing
    /// job of its data source (e.g. made in the console) instead of creating one, once its
    /// scope matches this spec. `ObserveOnly` reads it and never changes it (a Cutover can gate
    /// on it; deleting the resource leaves the job alone); `Manage` takes it over.
    #[serde(default)]
    pub management_policy: ManagementPolicy,
}

fn yes() -> bool {
    true
}

/// A retry of single tables' failed tasks.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TableRetry {
    /// Any new value (e.g. a timestamp) asks for this retry once.
    #[schemars(length(min = 1, max = 128))]
    pub requested_at: String,
    /// Source tables, `table` or `db.table`, whose failed tasks are retried.
    #[schemars(length(min = 1, max = 100), inner(length(min = 1, max = 256)))]
    pub tables: Vec<String>,
}

/// What became of the last `spec.retryTables`.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TableRetryStatus {
    /// The `spec.retryTables.requestedAt` this is about.
    pub requested_at: String,
    /// The tasks retried for it, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retried: Vec<RetriedTask>,
    /// Every listed table's failed task was retried (or none was failed).
    #[serde(default)]
    pub finished: bool,
    /// Why nothing was retried, when so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A task `RetryMmsTask` was sent for.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetriedTask {
    pub id: i64,
    /// `db.table`.
    pub table: String,
}

/// Observed state of an MmsJob.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct MmsJobStatus {
    /// Generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready` (job finished successfully), `Verified` (row counts match), `Synced` (last
    /// reconcile reached the service).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// Short human word (see MmsJobPhase).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<MmsJobPhase>,
    /// The MMS data source id the job belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_id: Option<i64>,
    /// The MMS job name in use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_name: Option<String>,
    /// Async task that creates the job (`CreateMmsJob` answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub async_task_id: Option<i64>,
    /// When the operator last sent `CreateMmsJob`; a restart looks for the job by name for a
    /// while before creating again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_requested_at: Option<Time>,
    /// When the operator sent the `CreateMmsJob` that made the job in `jobId`: the job started
    /// after it (the start bound of a schedule's first round). Absent for an adopted job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_requested_at: Option<Time>,
    /// The MMS job id; written before anything else can fail so a restart never creates twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<i64>,
    /// Job status reported by MMS: INIT, DOING, DONE, FAILED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_status: Option<String>,
    /// Whether MMS reports the job as stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<bool>,
    /// True when this operator stopped the job (only then may it start it again).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stopped_by_operator: bool,
    /// Tasks in the job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_num: Option<i64>,
    /// Tasks finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_done: Option<i64>,
    /// `taskDone/taskNum (percent%)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<String>,
    /// Task counts per MMS task state (INIT, SCHEMA_DOING, ..., DONE).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub task_counts: BTreeMap<String, i64>,
    /// Failed tasks (at most 10) with their latest log lines, masked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_tasks: Vec<FailedTask>,
    /// Tasks in flight (at most 10; `taskCounts` has them all), as of the last read of the
    /// tasks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub running_tasks: Vec<RunningTask>,
    /// Outcome of row-count verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<VerificationStatus>,
    /// The last `spec.retryRequestedAt` handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_retry_requested_at: Option<String>,
    /// When a read of the cloud object last changed this status: a poll that finds nothing new leaves it (and the status) as it was, so idle objects cause no writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_polled_at: Option<Time>,
    /// When the next read of MMS was planned, as of the last status change (when the account's call budget is short, polls stretch evenly and this moves out). Absent for settled jobs, which are not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_poll_at: Option<Time>,
    /// The last `reconcile-requested-at` annotation value handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
    /// The last `spec.retryTables` and the tasks it retried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_retry: Option<TableRetryStatus>,
    /// The MMS job taken over through the adopt-id annotation, once its scope was checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopted_id: Option<i64>,
    /// The timer and its rounds (spec.schedule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rounds: Option<RoundsStatus>,
    /// Age of the migrated data in seconds: now minus the start of the last successful round
    /// (an upper bound: the round started after `rounds.lastSuccessful.startedAfter`). Absent
    /// when no successful round has a known start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freshness_seconds: Option<i64>,
}

/// Coarse lifecycle of an MmsJob.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum MmsJobPhase {
    /// Accepted: waiting for the first read of MMS, or for a turn in the account's call budget.
    Pending,
    /// Waiting for the DataSource to be Ready.
    WaitingForDataSource,
    /// `CreateMmsJob` sent; waiting for its async task to yield the job id.
    Creating,
    /// Tasks are running.
    Running,
    /// Stopped (by spec.suspend or outside the operator).
    Suspended,
    /// Every task is DONE.
    Succeeded,
    /// The first job succeeded; the timer runs rounds on spec.schedule.
    Scheduled,
    /// Some tasks failed and nothing else runs; retry with spec.retryRequestedAt.
    Failed,
    /// The spec cannot be acted on; the Ready message says what to change.
    Invalid,
    /// Deleting the MMS job (deletionPolicy Delete).
    Deleting,
    /// Reconciliation paused by annotation.
    Paused,
}

/// A failed task and why.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FailedTask {
    /// MMS task id.
    pub id: i64,
    /// `db.table` of the task.
    pub table: String,
    /// Task state, e.g. DATA_FAILED.
    pub status: String,
    /// How often MMS retried it.
    #[serde(default)]
    pub retried_times: i64,
    /// Latest log lines of the task (masked).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub last_log: Vec<String>,
}

/// What a verification log says a task counted.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RowCounts {
    /// MMS task id.
    pub task_id: i64,
    /// `db.table` of the task.
    pub table: String,
    /// `SELECT COUNT(*)` on the source.
    pub source_rows: i64,
    /// `SELECT COUNT(*)` on the destination.
    pub destination_rows: i64,
}

/// A task in flight.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunningTask {
    /// MMS task id.
    pub id: i64,
    /// `db.table` of the task.
    pub table: String,
    /// Task state, e.g. DATA_DOING.
    pub status: String,
    /// When MMS started it, as MMS reports it (no time zone is stated: shown, not computed with).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
}

/// Verification outcome over the job's tasks.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerificationStatus {
    pub state: VerificationState,
    /// Tasks whose verification passed.
    pub tasks_passed: i64,
    /// Tasks whose verification failed.
    pub tasks_failed: i64,
    /// Tasks not verified yet.
    pub tasks_pending: i64,
    /// Up to 10 mismatches as reported in task logs (`table: src N, dst M`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mismatches: Vec<String>,
    /// Row counts of source and destination per task, read once from the verification logs
    /// when the job finished (at most 20 tasks); a task whose log gives no counts is absent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub row_counts: Vec<RowCounts>,
    /// Tasks of the job whose counts were looked for (the rest is not read: the cap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_counts_read: Option<i64>,
    /// When the outcome was last computed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_at: Option<Time>,
}
