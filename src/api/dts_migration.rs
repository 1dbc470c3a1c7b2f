//! `DtsMigration`: one DTS data migration (schema, full, incremental), e.g. PolarDB → MaxCompute.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::cel::immutable_once_set;
use super::common::{CloudCredentials, DeletionPolicy, ManagementPolicy, VerificationState};
pub use super::dts_objects::{
    DdlOperation, DmlOperation, DtsColumn, DtsDatabaseObject, DtsTableObject, StatementScope,
};
use super::dts_settings::DtsSettings;

/// Spec fields that shape the configured DTS task. Until the precheck passes they may be edited
/// (the task is reconfigured); once it has started migrating they are frozen.
pub const CONFIGURATION_FIELDS: &[&str] = &[
    "apiGeneration",
    "jobName",
    "source",
    "destination",
    "migrationTypes",
    "objects",
    "reserve",
    "settings",
    "checkpoint",
    "dataCheck",
];

fn immutable_rule() -> kube::core::Rule {
    kube::core::Rule::new(immutable_once_set("startedAt", CONFIGURATION_FIELDS)).message(
        "endpoints, objects, migration types and reserve options cannot change once the DTS task passed its precheck and started (status.startedAt); create a new DtsMigration instead",
    )
}

/// Buys a DTS migration instance, configures the task, and reports precheck, per-stage
/// progress and replication lag so that a Cutover can gate on it.
#[derive(CustomResource, KubeSchema, Deserialize, Serialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "migration.aliyun-operator.dev",
    version = "v1alpha1",
    kind = "DtsMigration",
    namespaced,
    doc = "A DTS data migration (schema, full, incremental), e.g. PolarDB for MySQL to MaxCompute.",
    status = "DtsMigrationStatus",
    shortname = "dtsm",
    category = "migration",
    printcolumn(name = "Ready", type_ = "string", json_path = r#".status.conditions[?(@.type=="Ready")].status"#),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(name = "Lag", type_ = "string", json_path = ".status.lag"),
    printcolumn(name = "Replicating", type_ = "string", json_path = r#".status.conditions[?(@.type=="Replicating")].status"#),
    printcolumn(name = "DTS-Job", type_ = "string", priority = 1, json_path = ".status.dtsJobId"),
    printcolumn(name = "Reason", type_ = "string", priority = 1, json_path = r#".status.conditions[?(@.type=="Ready")].reason"#),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = immutable_rule(),
    validation = Rule::new("!has(oldSelf.spec.stop) || !oldSelf.spec.stop || self.spec.stop").message("spec.stop cannot go back to false: a stopped DTS task is finished for good"),
)]
#[x_kube(
    validation = Rule::new("self.apiGeneration != 'MigrationJob' || self.destination.instanceType != 'MaxCompute'").message("the legacy migration-job API does not accept MaxCompute as destination: use apiGeneration DtsJob"),
    validation = Rule::new("self.destination.instanceType != 'MaxCompute' || has(self.destination.database)").message("destination.database must name the MaxCompute project"),
    validation = Rule::new("!('Incremental' in self.migrationTypes) || self.source.instanceType != 'MaxCompute'").message("MaxCompute cannot be an incremental source"),
    validation = Rule::new("!has(self.settings) || !has(self.settings.throttling) || !has(self.settings.throttling.full) || 'Full' in self.migrationTypes").message("settings.throttling.full needs Full in migrationTypes"),
    validation = Rule::new("!has(self.settings) || !has(self.settings.throttling) || !has(self.settings.throttling.incremental) || 'Incremental' in self.migrationTypes").message("settings.throttling.incremental needs Incremental in migrationTypes"),
    validation = Rule::new("!has(self.lagMonitorRule) || !has(self.monitorRules)").message("set monitorRules or the older lagMonitorRule, not both"),
    validation = Rule::new("self.apiGeneration != 'MigrationJob' || !has(self.precheck) || !has(self.precheck.skip) || size(self.precheck.skip) == 0").message("spec.precheck.skip needs apiGeneration DtsJob: the legacy migration-job API cannot skip precheck items"),
)]
#[serde(rename_all = "camelCase")]
pub struct DtsMigrationSpec {
    /// Region of the DTS instance (the destination's region), e.g. `cn-hangzhou`.
    #[schemars(regex(pattern = r"^[a-z]{2,}(-[a-z0-9]+)+$"), length(max = 64))]
    pub region: String,
    /// Credentials for the DTS API. Defaults to the Secret `alibaba-cloud-credentials`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<CloudCredentials>,
    /// Which DTS API family drives the task: `DtsJob` (CreateDtsInstance + ConfigureDtsJob,
    /// default, the only one that supports MaxCompute) or `MigrationJob` (the older
    /// CreateMigrationJob + ConfigureMigrationJob calls, for RDS/ECS/self-managed targets).
    #[serde(default)]
    pub api_generation: ApiGeneration,
    /// DTS task name (at most 32 characters, need not be unique). Default: `<namespace>-<name>`
    /// cut to 32 characters. If the answer to a configure is lost, the operator adopts the
    /// not-yet-bought task of exactly this name instead of configuring a second one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 32))]
    pub job_name: Option<String>,
    /// Instance class: migration speed tier. Default `small`.
    #[serde(default)]
    pub instance_class: InstanceClass,
    /// The database to migrate from.
    pub source: DtsEndpoint,
    /// Where the data goes (MaxCompute: `instanceType: MaxCompute`, `database: <project>`;
    /// DTS writes `<table>_base` for full data and `<table>_log` for incremental changes).
    pub destination: DtsEndpoint,
    /// What to migrate: any of Schema, Full, Incremental. Without Incremental the task finishes
    /// by itself; with it, it runs until stopped.
    #[schemars(length(min = 1, max = 3))]
    #[x_kube(merge_strategy = ListMerge::Set)]
    pub migration_types: Vec<MigrationType>,
    /// Databases (and optionally tables) to migrate, with optional renaming in the target.
    #[schemars(length(min = 1, max = 10))]
    pub objects: Vec<DtsDatabaseObject>,
    /// Extra DTS options passed through as the `Reserve` JSON (string values, as DTS requires),
    /// for keys `settings` has no field for, e.g. a MaxCompute destination's additional-column
    /// naming rule as the console's "Preview OpenAPI parameters" shows it. A key `settings`
    /// also sets is ignored, with a warning in `status.warnings`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 64, "additionalProperties" = {"type": "string", "maxLength": 2048}))]
    #[x_kube(validation = Rule::new("self.all(k, size(k) <= 128)").message("reserve option names are at most 128 characters"))]
    pub reserve: BTreeMap<String, String>,
    /// Advanced task settings (retry windows, throttling, existing tables, name case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<DtsSettings>,
    /// Unix time (seconds, the source database's clock, as DTS checkpoints are) where
    /// incremental migration starts; default: when full load starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<i64>,
    /// DTS data verification (DataCheckConfigure), DtsJob generation only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_check: Option<DataCheck>,
    /// `true` pauses the task (SuspendDtsJob); `false` resumes it (StartDtsJob). An incremental
    /// task paused for more than 6 hours may not resume.
    #[serde(default)]
    pub suspend: bool,
    /// `true` stops the task for good (StopDtsJob → Finished). Cannot be undone.
    #[serde(default)]
    pub stop: bool,
    /// Any new value re-runs the precheck (after fixing a failed precheck item).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 128))]
    pub precheck_requested_at: Option<String>,
    /// What to do about precheck items DTS reports as warnings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precheck: Option<PrecheckPolicy>,
    /// Lag in seconds above which `LagWithinThreshold` turns False. Default 5: a cutover should
    /// wait for lag under 5 seconds.
    #[serde(default = "default_lag_alert")]
    #[schemars(range(min = 1))]
    pub lag_alert_seconds: i64,
    /// Seconds (operator clock) after which the newest lag sample no longer counts: when DTS
    /// could not be read for that long, `LagWithinThreshold` and `Ready` turn Unknown (reason
    /// `LagStale`) and the printed lag says `stale`. Default 60.
    #[serde(default = "default_lag_stale_after")]
    #[schemars(range(min = 1, max = 86400))]
    pub lag_stale_after_seconds: i64,
    /// Older form of `monitorRules.delaySeconds` and `monitorRules.phones` (a DTS `delay`
    /// alert); use `monitorRules` instead. Kept in step with the spec the same way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag_monitor_rule: Option<LagMonitorRule>,
    /// DTS's own alerts (CloudMonitor, and SMS on the China mainland site), kept as the spec
    /// says from the task's start on: read back and set again whenever the spec changes; a
    /// rule the spec no longer asks for is turned off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor_rules: Option<MonitorRules>,
    /// What happens to the DTS instance when this resource is deleted. Default `Retain`.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
    /// `Manage` (default) or `ObserveOnly`: with the annotation
    /// `migration.aliyun-operator.dev/adopt-id: <DtsJobId>` (the instance id `dts…` for
    /// `apiGeneration: MigrationJob`), the resource follows an existing task instead of making
    /// one. `ObserveOnly` reads it and never changes it (a Cutover can gate on its lag);
    /// `Manage` takes it over.
    #[serde(default)]
    pub management_policy: ManagementPolicy,
}

fn default_lag_alert() -> i64 {
    5
}

fn default_lag_stale_after() -> i64 {
    60
}

/// DTS API family.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ApiGeneration {
    /// CreateDtsInstance + ConfigureDtsJob (2020-01-01).
    #[default]
    DtsJob,
    /// CreateMigrationJob + ConfigureMigrationJob (legacy; MaxCompute is not among its
    /// destinations).
    MigrationJob,
}

/// DTS migration instance classes.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum InstanceClass {
    #[default]
    Small,
    Medium,
    Large,
    Xlarge,
    #[serde(rename = "2xlarge")]
    X2large,
    Xxlarge,
}

impl InstanceClass {
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceClass::Small => "small",
            InstanceClass::Medium => "medium",
            InstanceClass::Large => "large",
            InstanceClass::Xlarge => "xlarge",
            InstanceClass::X2large => "2xlarge",
            InstanceClass::Xxlarge => "xxlarge",
        }
    }
}

/// Migration stages.
#[derive(
    Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, JsonSchema,
)]
pub enum MigrationType {
    /// Schema migration (structure initialization).
    Schema,
    /// Full data migration (data initialization).
    Full,
    /// Incremental data migration (data synchronization from binlog).
    Incremental,
}

/// Kinds of endpoints. DTS spells them differently per API generation; the operator maps.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum EndpointType {
    /// ApsaraDB RDS instance (`rm-...`).
    #[default]
    RDS,
    /// PolarDB cluster (`pc-...`).
    PolarDB,
    /// PolarDB-X 2.0 instance.
    PolarDBX,
    /// Self-managed database on ECS.
    ECS,
    /// Self-managed database reachable over Express Connect / VPN.
    Express,
    /// Self-managed database reachable by public IP.
    LocalInstance,
    /// MaxCompute project (`ODPS` in DTS), destination only.
    MaxCompute,
    /// AnalyticDB for MySQL.
    AnalyticDB,
    MongoDB,
    Redis,
}

/// Database engines.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum Engine {
    MySQL,
    MariaDB,
    /// PolarDB for MySQL.
    PolarDB,
    PostgreSQL,
    SQLServer,
    Oracle,
    MongoDB,
    Redis,
    MaxCompute,
}

/// One side of the migration.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[x_kube(validation = Rule::new("self.instanceType == 'MaxCompute' || has(self.instanceId) || has(self.host)").message("set instanceId (cloud instance) or host/port (self-managed)"))]
#[serde(rename_all = "camelCase")]
pub struct DtsEndpoint {
    /// Endpoint kind.
    pub instance_type: EndpointType,
    /// Database engine; derived from instanceType when omitted (PolarDB → PolarDB, RDS → MySQL,
    /// MaxCompute → MaxCompute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<Engine>,
    /// Region of the endpoint; default: spec.region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z]{2,}(-[a-z0-9]+)+$"), length(max = 64))]
    pub region: Option<String>,
    /// Cloud instance id, e.g. `pc-bp1...` (PolarDB) or `rm-bp1...` (RDS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 128))]
    pub instance_id: Option<String>,
    /// Host name or IP of a self-managed database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub host: Option<String>,
    /// Port of a self-managed database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<i32>,
    /// Database name; for MaxCompute the project name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub database: Option<String>,
    /// Oracle SID (Oracle endpoints only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub oracle_sid: Option<String>,
    /// Secret with the database account (keys `username`, `password`) or, for MaxCompute, the
    /// AccessKey pair DTS writes with (keys `accessKeyId`, `accessKeySecret`). Read at call time,
    /// never stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_secret_ref: Option<EndpointSecretRef>,
}

/// Where an endpoint's account lives.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EndpointSecretRef {
    /// Secret name (same namespace).
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key of the user name (default `username`; `accessKeyId` for MaxCompute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub username_key: Option<String>,
    /// Key of the password (default `password`; `accessKeySecret` for MaxCompute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub password_key: Option<String>,
}

/// DTS data verification.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataCheck {
    /// Verify the full data after the full load.
    #[serde(default)]
    pub full: bool,
    /// Verify incremental changes continuously.
    #[serde(default)]
    pub incremental: bool,
    /// Percentage of rows sampled by the full check (10–100). Default 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 10, max = 100))]
    pub full_check_ratio: Option<i32>,
}

/// DDL statements incremental migration met (DescribePreCheckStatus `StructType=after`).
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SchemaChangesStatus {
    /// When DTS's answer arrived (operator clock).
    pub observed_at: Option<Time>,
    /// Statements DTS reported.
    pub total: i64,
    /// Of those, the ones DTS failed to apply.
    pub failed: i64,
    /// The failed ones first, then the latest; at most 20.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<SchemaChangeItem>,
}

/// One DDL statement and its outcome.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SchemaChangeItem {
    /// `db.table` in the source.
    pub table: String,
    /// The statement, masked and cut to 256 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statement: Option<String>,
    /// `Success`, `Failed`, ... as DTS says.
    pub state: String,
    /// Why it failed (masked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Precheck warnings a person accepted in advance.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PrecheckPolicy {
    /// Precheck item names (e.g. `CHECK_DEST_TABLE_EMPTY`) to skip when, and only when, DTS
    /// reports them as a warning it lets be skipped (SkipPreCheck). A failed item is never
    /// skipped: fix its cause and set `precheckRequestedAt`. A warning that blocks the task and
    /// is not listed here keeps it in `PrecheckFailed`, named in the `Ready` message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        length(max = 32),
        inner(length(min = 1, max = 64), regex(pattern = r"^[A-Za-z0-9_]+$"))
    )]
    pub skip: Vec<String>,
}

/// The alerts DTS sends by itself.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MonitorRules {
    /// Alert when the replication lag exceeds this many seconds (rule type `delay`; DTS
    /// recommends at least 10). Absent: no lag alert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 86400))]
    pub delay_seconds: Option<i64>,
    /// Alert when the task fails (rule type `error`).
    #[serde(default)]
    pub on_error: bool,
    /// SMS numbers both alerts notify (China mainland site only); empty: the CloudMonitor
    /// contacts only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10), inner(length(min = 1, max = 32)))]
    pub phones: Vec<String>,
}

/// Lag alerting inside DTS (CloudMonitor / SMS).
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LagMonitorRule {
    /// Alert when lag exceeds this many seconds (≥ 10 recommended by DTS).
    #[schemars(range(min = 1))]
    pub delay_seconds: i64,
    /// SMS numbers (China mainland site only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10), inner(length(min = 1, max = 32)))]
    pub phones: Vec<String>,
}

/// Observed state of a DtsMigration.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct DtsMigrationStatus {
    /// Generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`, `PrecheckPassed`, `Replicating`, `LagWithinThreshold`, `Synced`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// Short human word (see DtsMigrationPhase).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<DtsMigrationPhase>,
    /// The DTS instance (`dts...`); recorded as soon as it is bought.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dts_instance_id: Option<String>,
    /// The DTS task id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dts_job_id: Option<String>,
    /// The DTS task name in use (`spec.jobName`, or derived from namespace, name and UID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dts_job_name: Option<String>,
    /// When a `ConfigureDtsJob` for a new task (or the legacy `CreateMigrationJob`) was last
    /// sent. Recorded, with optimistic concurrency, before the call: until a task id is known,
    /// a restart or a second operator looks for the task (by name and ownership marker) instead
    /// of configuring another one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_requested_at: Option<Time>,
    /// When `CreateDtsInstance` (the purchase) was last sent; recorded the same way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchase_requested_at: Option<Time>,
    /// The generation whose spec the task was last configured with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configured_generation: Option<i64>,
    /// When the task passed its precheck and started migrating; from then on endpoints, objects
    /// and migration types are frozen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    /// Task status as DTS reports it (NotConfigured, Prechecking, Migrating, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dts_status: Option<String>,
    /// Precheck outcome and every failed or warning item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precheck: Option<PrecheckStatus>,
    /// Per-stage status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stages: Option<Stages>,
    /// Latest replication lag in seconds (normalised from whatever unit DTS used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag_seconds: Option<f64>,
    /// When DTS's answer with that lag arrived (operator clock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag_observed_at: Option<Time>,
    /// Printable lag, e.g. `3s`; `stale` once the newest sample is older than
    /// `lagStaleAfterSeconds`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag: Option<String>,
    /// Recent lag samples, newest last (at most 30), for gates that need a window.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 30))]
    pub lag_samples: Vec<LagSample>,
    /// Unix time (seconds, the source database's clock as DTS reports it) of the last change
    /// applied to the destination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<i64>,
    /// DTS retry state when the task is retrying after an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryStatus>,
    /// The cloud's error message for a failed task (masked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// DTS data verification outcome, when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<DtsVerificationStatus>,
    /// When the task was paused by spec.suspend (for the 6-hour warning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspended_at: Option<Time>,
    /// DDL statements incremental migration met, as DTS last reported them; read only when
    /// an object lists `ddlOperations`, at most every 10 minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_changes: Option<SchemaChangesStatus>,
    /// Warnings that do not stop the task (e.g. paused incremental task near 6 hours).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The last spec.precheckRequestedAt handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_precheck_requested_at: Option<String>,
    /// The generation whose spec the last precheck ran against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precheck_generation: Option<i64>,
    /// The task this resource follows because its `adopt-id` annotation named it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopted_id: Option<String>,
    /// Precheck warnings skipped (SkipPreCheck, then the precheck started again) because
    /// `spec.precheck.skip` lists them; recorded once both calls were answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precheck_skipped: Option<PrecheckSkipped>,
    /// The spec generation whose alert rules DTS holds: read back (DescribeJobMonitorRule) and
    /// set where they differed (CreateJobMonitorRule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor_rules_generation: Option<i64>,
    /// When a read of the cloud object last changed this status: a poll that finds nothing new leaves it (and the status) as it was, so idle objects cause no writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_polled_at: Option<Time>,
    /// When the next read of DTS was planned, as of the last status change (when the account's call budget is short, polls stretch evenly and this moves out; a Cutover gating on lag is read first). Absent for finished tasks, which are not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_poll_at: Option<Time>,
    /// The last `reconcile-requested-at` annotation value handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

/// Coarse lifecycle of a DtsMigration.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum DtsMigrationPhase {
    /// Accepted: waiting for the first read of DTS, or for a turn in the account's call budget.
    Pending,
    /// Buying the instance.
    Creating,
    /// Instance bought; configuring the task.
    Configuring,
    Prechecking,
    PrecheckFailed,
    /// Schema migration running.
    MigratingSchema,
    /// Full data migration running.
    MigratingFull,
    /// Incremental replication running (lag is reported).
    Replicating,
    /// Paused by spec.suspend.
    Suspended,
    /// DTS retries after an error (up to 7 days, then the task may overwrite the destination).
    Retrying,
    /// The task failed.
    Failed,
    /// Full-only task finished by itself.
    Completed,
    /// Stopped for good (spec.stop or a Cutover).
    Stopped,
    /// The spec cannot be acted on; the Ready message says what to change.
    Invalid,
    /// Releasing the instance (deletionPolicy Delete).
    Deleting,
    /// Reconciliation paused by annotation.
    Paused,
}

/// Precheck results.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PrecheckStatus {
    /// NotStarted, Checking, Finished, Failed.
    pub status: String,
    /// Percent done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<i64>,
    /// Every item that did not pass (masked, verbatim otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<PrecheckItem>,
    /// Items checked in total.
    #[serde(default)]
    pub total_items: i64,
}

/// Precheck warnings the operator skipped, and for which spec.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PrecheckSkipped {
    /// The skipped items.
    #[schemars(length(max = 32), inner(length(max = 64)))]
    pub items: Vec<String>,
    /// The spec generation whose `precheck.skip` listed them.
    pub generation: i64,
}

/// One precheck item that failed or warned.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PrecheckItem {
    /// Item name, e.g. CHECK_SRC_BINLOG.
    pub name: String,
    /// Failed or Warning.
    pub result: String,
    /// Why, as DTS says it.
    #[serde(default)]
    pub reason: String,
    /// What to do, as DTS says it.
    #[serde(default)]
    pub repair: String,
    /// Whether DTS lets this item be skipped (absent: DTS did not say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_skip: Option<bool>,
}

/// Status of each stage.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Stages {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<StageStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full: Option<StageStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incremental: Option<StageStatus>,
}

/// Status of one stage.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StageStatus {
    /// NotStarted, Migrating, Catched (caught up), Finished, Failed, Suspending.
    pub status: String,
    /// Percent done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<i64>,
    /// Tables (schema) or rows (full) done, as DTS reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<String>,
    /// Stage error (masked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One lag observation.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LagSample {
    /// When DTS's answer arrived (operator clock, whole seconds).
    pub at: Time,
    /// Lag in seconds.
    pub seconds: f64,
    /// The checkpoint in the same answer (Unix seconds, source database clock): every change
    /// up to it is in the destination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<i64>,
}

/// DTS retry state.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetryStatus {
    pub retrying: bool,
    #[serde(default)]
    pub count: i64,
    /// Seconds spent retrying so far.
    #[serde(default)]
    pub elapsed_seconds: i64,
    /// Seconds DTS will keep retrying.
    #[serde(default)]
    pub max_seconds: i64,
    /// srcDB, destDB or inner_module.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The error being retried (masked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// DTS data verification outcome, from DescribeDtsJobs (`FullDataCheckStatus`,
/// `IncDataCheckStatus`) and DescribeDataCheckTableDetails (per table). The differing rows
/// themselves (DescribeDataCheckTableDiffDetails) are never read: they carry column values.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DtsVerificationStatus {
    /// Passed needs every configured check finished (full) or running (incremental) with
    /// CanSwitch not false, no error and no differing row in any table; any of those fails it.
    pub state: VerificationState,
    /// Why, in one line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Differing rows over every table of every configured check, as the per-table results
    /// count them (a table with more than 300 counts 300, see `tables[].diffRowsAtLeast`).
    /// Absent until the per-table results were read: an unmeasured count is not shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff_count: Option<i64>,
    /// The full data check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_check: Option<DataCheckResult>,
    /// The incremental data check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incremental_check: Option<DataCheckResult>,
    /// Tables with differing rows or a failed check (at most 50, most differing first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50))]
    pub tables: Vec<TableCheck>,
    /// When this outcome was first seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_at: Option<Time>,
}

/// One data check as DTS reports it.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataCheckResult {
    /// DTS's status: NotStarted, Checking, Finished, Failed, Inconsistency (full); NotStarted,
    /// Checking, Catched, Failed (incremental).
    pub status: String,
    /// Percent done, as DTS reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<i64>,
    /// DTS's own verdict whether the destination may take over (full check only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_switch: Option<bool>,
    /// DTS's error message, e.g. `42 inconsistent row(s)` (masked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Tables in the per-table results; absent when they were not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tables_checked: Option<i64>,
    /// Rows verified over all tables (sum of the tables' FinishCount); absent when not read or
    /// not reported (the incremental check reports none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_checked: Option<i64>,
    /// Differing rows over all its tables (sum of DiffCount); absent when not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff_rows: Option<i64>,
}

/// A table whose check found differing rows or failed.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TableCheck {
    /// `Full` or `Incremental`.
    pub check: String,
    /// Source database.
    #[schemars(length(max = 256))]
    pub database: String,
    /// Source table.
    #[schemars(length(max = 256))]
    pub table: String,
    /// Rows with differences (DiffCount).
    pub diff_rows: i64,
    /// DTS stopped counting at 300 differing rows (ErrorCode 2): there are at least this many.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub diff_rows_at_least: bool,
    /// Rows verified in the table (FinishCount), when reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_rows: Option<i64>,
    /// Rows to verify in the table (TotalCount), when reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_rows: Option<i64>,
    /// Why the table's check failed (ErrorCode meaning), if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
