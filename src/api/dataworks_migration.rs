//! `DataWorksMigration`: one DataWorks Migration Assistant transfer
//! (<https://www.alibabacloud.com/help/en/dataworks/user-guide/create-and-view-import-tasks>): a
//! package of workflows, nodes, resources and functions exported from one workspace (or taken
//! from OSS, or uploaded by the operator) and imported into a target workspace with engine,
//! resource-group and workspace mappings and commit rules.
//!
//! DataWorks OpenAPI `dataworks-public` 2020-05-18 (RPC). What the console can do but the API
//! cannot — dry-run ("empty run") nodes, Change Owner, editing, deleting or previewing a task and
//! the detailed import report — is **console-only** and not offered here.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{CloudCredentials, DeletionPolicy};

/// Moves DataWorks objects into a target workspace with the Migration Assistant: export (or
/// take, or upload) a package, import it with the mappings and commit rules of the spec, and
/// report the task's status and steps. A failed import is re-imported when
/// `spec.retryRequestedAt` changes.
///
/// Console-only (not offered, not faked): dry-run nodes, Change Owner, editing, deleting and
/// previewing tasks, and the detailed import report (the Ready message links the console's
/// report page). Migration Assistant handles workspaces on the legacy DataStudio only.
#[derive(CustomResource, KubeSchema, Deserialize, Serialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "migration.aliyun-operator.dev",
    version = "v1alpha1",
    kind = "DataWorksMigration",
    namespaced,
    doc = "A DataWorks Migration Assistant transfer: export (or take) a package of workflows, nodes and resources and import it into a target workspace.",
    status = "DataWorksMigrationStatus",
    shortname = "dwm",
    category = "migration",
    validation = Rule::new(super::cel::immutable_once_set("startedAt", &["targetWorkspaceId", "source"])).message("spec.targetWorkspaceId and spec.source cannot change once a DataWorks task exists (status.startedAt); create a new DataWorksMigration instead"),
    printcolumn(name = "Ready", type_ = "string", json_path = r#".status.conditions[?(@.type=="Ready")].status"#),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(name = "Target", type_ = "integer", json_path = ".spec.targetWorkspaceId"),
    printcolumn(name = "Import", type_ = "string", json_path = ".status.import.status"),
    printcolumn(name = "Export-ID", type_ = "integer", priority = 1, json_path = ".status.export.id"),
    printcolumn(name = "Import-ID", type_ = "integer", priority = 1, json_path = ".status.import.id"),
    printcolumn(name = "Reason", type_ = "string", priority = 1, json_path = r#".status.conditions[?(@.type=="Ready")].reason"#),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
)]
#[x_kube(
    validation = Rule::new("self.deletionPolicy == 'Retain'").message("the DataWorks API has no operation that deletes a migration task (deleting is console-only): deletionPolicy can only be Retain"),
    validation = Rule::new("!has(self.source.export) || self.source.export.sourceWorkspaceId != self.targetWorkspaceId").message("source.export.sourceWorkspaceId and targetWorkspaceId name the same workspace: export from another workspace"),
)]
#[serde(rename_all = "camelCase")]
pub struct DataWorksMigrationSpec {
    /// Region of both workspaces, e.g. `cn-hangzhou` (Migration Assistant: cn-hangzhou,
    /// cn-shanghai, cn-beijing, cn-zhangjiakou, cn-shenzhen, cn-chengdu, ap-southeast-1).
    #[schemars(regex(pattern = r"^[a-z]{2,}(-[a-z0-9]+)+$"), length(max = 63))]
    pub region: String,
    /// Credentials for the DataWorks API. The identity must hold `dataworks:*` (or
    /// `AliyunDataWorksFullAccess`) in RAM **and** be the Alibaba Cloud account or a Workspace
    /// Administrator of the target workspace (and of the source workspace for an export);
    /// other members may only view tasks. Defaults to the Secret `alibaba-cloud-credentials`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<CloudCredentials>,
    /// The DataWorks workspace (project) id the package is imported into (`ProjectId`).
    /// Frozen once a DataWorks task exists.
    #[schemars(range(min = 1))]
    pub target_workspace_id: i64,
    /// Where the package comes from: exactly one of `export`, `ossUrl`, `upload`. Frozen once
    /// a DataWorks task exists.
    pub source: PackageSource,
    /// Format of the package. Default `DataWorksModel` (the standard Migration Assistant
    /// format; `DataWorksV2`/`DataWorksV3`: Apsara Stack DataWorks V3.6.1–V3.11 / V3.12+;
    /// `Spec`: a FlowSpec package, sent as `SPEC`, not in the API documentation).
    #[serde(default)]
    pub package_type: PackageType,
    /// Compute-engine instance mapping (`CalculateEngineMap`), required as in the console: for
    /// every engine instance the package uses, the engine instance of the target workspace
    /// that replaces it. Instance **names** as shown under Compute Engine Information on the
    /// Workspace Management page, not MaxCompute project names.
    #[schemars(length(min = 1, max = 50))]
    pub engine_mapping: Vec<EngineMapping>,
    /// Resource-group mapping (`ResourceGroupMap`): scheduler and data-integration resource
    /// groups of the source workspace → groups of the target workspace, by identifier.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50))]
    pub resource_group_mapping: Vec<ResourceGroupMapping>,
    /// Workspace mapping (`WorkspaceMap`, the console's Dependency Mapping): the source
    /// workspace name in node code, inputs and outputs is replaced by the target's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50))]
    pub workspace_mapping: Vec<NameMapping>,
    /// Commit rules (`CommitRule`): what the import commits or deploys by itself (Professional
    /// edition or above). Everything defaults to false. Change Owner is console-only.
    #[serde(default)]
    pub commit_rules: CommitRules,
    /// Free text added to the tasks' descriptions (the operator appends its ownership marker).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub description: Option<String>,
    /// Any new value re-imports after a failed import (or re-exports after a failed export):
    /// the operator sends StartMigration for the failed task — the console's Re-import — when
    /// the import settings are unchanged, and creates a new import task when they changed or
    /// when DataWorks refuses or ignores the StartMigration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub retry_requested_at: Option<String>,
    /// What happens to the DataWorks tasks when this resource is deleted. Only `Retain`: the
    /// API cannot delete migration tasks (console-only).
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
}

/// Where the package comes from.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[x_kube(
    validation = Rule::new("(has(self.export) ? 1 : 0) + (has(self.ossUrl) ? 1 : 0) + (has(self.upload) ? 1 : 0) == 1").message("set exactly one of source.export, source.ossUrl and source.upload"),
)]
#[serde(rename_all = "camelCase")]
pub struct PackageSource {
    /// An export task the operator runs in a source workspace (CreateExportMigration); its
    /// package is then downloaded from the export's pre-signed URL (never stored) and uploaded
    /// for the import like `upload`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export: Option<ExportSource>,
    /// A package already in OSS, passed to CreateImportMigration as `PackageFile` unchanged,
    /// e.g. `http://<bucket>.oss-cn-hangzhou.aliyuncs.com/<key>.zip`. A plain object URL: a
    /// pre-signed URL is a credential, give it through `upload.urlSecretRef` instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 8, max = 2048),
        regex(pattern = r"^(https?|oss)://[^\s]+$")
    )]
    #[x_kube(validation = Rule::new("!self.contains('Signature=') && !self.contains('OSSAccessKeyId=')").message("source.ossUrl looks pre-signed (Signature=, OSSAccessKeyId=): a pre-signed URL is a credential, put it in a Secret and use source.upload.urlSecretRef"))]
    pub oss_url: Option<String>,
    /// A package (zip, at most 30 MiB) the operator uploads itself through the SDK's Advance
    /// flow: OpenPlatform AuthorizeFileUpload, an OSS form POST, then CreateImportMigration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload: Option<UploadSource>,
}

/// An export of a source workspace.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[x_kube(
    validation = Rule::new("self.mode != 'Incremental' || has(self.incrementalSince)").message("source.export.mode Incremental needs incrementalSince"),
    validation = Rule::new("self.mode == 'Incremental' || !has(self.incrementalSince)").message("source.export.incrementalSince only applies to mode Incremental"),
)]
#[serde(rename_all = "camelCase")]
pub struct ExportSource {
    /// The workspace (project) id to export from.
    #[schemars(range(min = 1))]
    pub source_workspace_id: i64,
    /// `Full` (default) or `Incremental` (objects changed since `incrementalSince`).
    #[serde(default)]
    pub mode: ExportMode,
    /// RFC 3339 time (sent as epoch milliseconds), for `mode: Incremental`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 20, max = 35))]
    #[x_kube(validation = Rule::new("self.matches('^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$')").message("incrementalSince must be an RFC 3339 time, e.g. 2026-05-20T00:00:00Z"))]
    pub incremental_since: Option<String>,
    /// Export only objects in this state (`ExportObjectStatus`); all when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_status: Option<ObjectStatus>,
}

/// Export modes.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ExportMode {
    #[default]
    Full,
    Incremental,
}

/// Object states an export can be limited to.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ObjectStatus {
    Saved,
    Submitted,
    Deployed,
}

/// A package the operator uploads: exactly one of the two sources.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[x_kube(validation = Rule::new("has(self.configMapRef) != has(self.urlSecretRef)").message("set exactly one of source.upload.configMapRef and source.upload.urlSecretRef"))]
#[serde(rename_all = "camelCase")]
pub struct UploadSource {
    /// A key of a ConfigMap's `binaryData` in this namespace holding the zip (a ConfigMap
    /// holds at most 1 MiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_ref: Option<KeyRef>,
    /// A Secret key in this namespace holding an http(s) URL (e.g. pre-signed) the operator
    /// downloads the zip from. Read at upload time, never stored or logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_secret_ref: Option<KeyRef>,
}

/// One key of a ConfigMap or Secret in the resource's namespace.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyRef {
    /// Object name.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key (of a ConfigMap's `binaryData` or `data`, or of a Secret's `data`).
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

/// Package formats (`PackageType`).
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum PackageType {
    /// `DATAWORKS_MODEL`, the standard format (ListMigrations may report it as `DWMA`).
    #[default]
    DataWorksModel,
    /// `DATAWORKS_V2`: Apsara Stack DataWorks V3.6.1 to V3.11.
    DataWorksV2,
    /// `DATAWORKS_V3`: Apsara Stack DataWorks V3.12 and later.
    DataWorksV3,
    /// `SPEC`: a FlowSpec package (what the open-source MigrationX tool sends; not in the API
    /// documentation).
    Spec,
}

impl PackageType {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            PackageType::DataWorksModel => "DATAWORKS_MODEL",
            PackageType::DataWorksV2 => "DATAWORKS_V2",
            PackageType::DataWorksV3 => "DATAWORKS_V3",
            PackageType::Spec => "SPEC",
        }
    }
}

/// Compute-engine types of `CalculateEngineMap`.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum EngineType {
    /// MaxCompute (`ODPS`).
    #[default]
    MaxCompute,
    /// E-MapReduce (`EMR`).
    Emr,
    /// CDH Hadoop (`HADOOP_CDH`).
    HadoopCdh,
    /// Hologres (`HOLOGRES`).
    Hologres,
}

impl EngineType {
    /// The wire key.
    pub fn as_str(self) -> &'static str {
        match self {
            EngineType::MaxCompute => "ODPS",
            EngineType::Emr => "EMR",
            EngineType::HadoopCdh => "HADOOP_CDH",
            EngineType::Hologres => "HOLOGRES",
        }
    }
}

/// One compute-engine instance of the source and its replacement in the target workspace.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EngineMapping {
    /// Engine type. Default `MaxCompute`.
    #[serde(default)]
    pub engine: EngineType,
    /// Engine instance name in the package (source workspace).
    #[schemars(length(min = 1, max = 128))]
    pub source: String,
    /// Engine instance name bound to the target workspace.
    #[schemars(length(min = 1, max = 128))]
    pub target: String,
}

/// Kinds of resource groups in `ResourceGroupMap`.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ResourceGroupKind {
    /// `SCHEDULER_RESOURCE_GROUP`.
    #[default]
    Scheduler,
    /// `DI_RESOURCE_GROUP` (data integration).
    DataIntegration,
}

impl ResourceGroupKind {
    /// The wire key.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceGroupKind::Scheduler => "SCHEDULER_RESOURCE_GROUP",
            ResourceGroupKind::DataIntegration => "DI_RESOURCE_GROUP",
        }
    }
}

/// A resource group of the source and its replacement.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceGroupMapping {
    /// `Scheduler` (default) or `DataIntegration`.
    #[serde(default)]
    pub kind: ResourceGroupKind,
    /// Resource-group identifier in the source workspace.
    #[schemars(length(min = 1, max = 128))]
    pub source: String,
    /// Resource-group identifier in the target workspace.
    #[schemars(length(min = 1, max = 128))]
    pub target: String,
}

/// A name of the source and its replacement.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NameMapping {
    /// Source workspace name.
    #[schemars(length(min = 1, max = 128))]
    pub source: String,
    /// Target workspace name.
    #[schemars(length(min = 1, max = 128))]
    pub target: String,
}

/// What the import commits or deploys by itself (`CommitRule`); all false by default.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommitRules {
    /// Commit imported resources (`resourceAutoCommit`).
    #[serde(default)]
    pub resource_auto_commit: bool,
    /// Deploy imported resources to production (`resourceAutoDeploy`).
    #[serde(default)]
    pub resource_auto_deploy: bool,
    /// Commit imported functions (`functionAutoCommit`).
    #[serde(default)]
    pub function_auto_commit: bool,
    /// Deploy imported functions to production (`functionAutoDeploy`).
    #[serde(default)]
    pub function_auto_deploy: bool,
    /// Commit imported tables to the development environment (`tableAutoCommitToDev`).
    #[serde(default)]
    pub table_auto_commit_to_dev: bool,
    /// Commit imported tables to the production environment (`tableAutoCommitToProd`).
    #[serde(default)]
    pub table_auto_commit_to_prod: bool,
    /// Update objects even when they are locked (`ignoreLock`).
    #[serde(default)]
    pub ignore_lock: bool,
    /// Commit imported nodes (files) (`fileAutoCommit`).
    #[serde(default)]
    pub file_auto_commit: bool,
    /// Deploy imported nodes (files) to production (`fileAutoDeploy`).
    #[serde(default)]
    pub file_auto_deploy: bool,
}

/// Observed state of a DataWorksMigration.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataWorksMigrationStatus {
    /// Generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready` (imported), `Exported`, `Imported`, `Synced` (the last reconcile reached
    /// DataWorks and the Kubernetes API).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    #[schemars(length(max = 8))]
    pub conditions: Vec<Condition>,
    /// Short human word (see DataWorksMigrationPhase).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<DataWorksMigrationPhase>,
    /// When the first DataWorks task (or upload) was requested; from then on the source and the
    /// target workspace are frozen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    /// The export task (source.export only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export: Option<MigrationTask>,
    /// The current import task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import: Option<MigrationTask>,
    /// The `PackageFile` the import task was (or will be) created with: the OSS object the
    /// operator uploaded (no signature; the upload grant and the export's download URL are
    /// never stored), or spec.source.ossUrl.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    pub package_file: Option<String>,
    /// Bytes of the package the operator uploaded, as it counted them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_bytes: Option<i64>,
    /// The state of a re-import (spec.retryRequestedAt) in progress or done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reimport: Option<Reimport>,
    /// The last spec.retryRequestedAt handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub last_retry_requested_at: Option<String>,
    /// When a read of the DataWorks tasks last changed this status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_polled_at: Option<Time>,
    /// The last `reconcile-requested-at` annotation value handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub last_handled_reconcile_at: Option<String>,
}

/// Coarse lifecycle of a DataWorksMigration.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum DataWorksMigrationPhase {
    /// The export task is being created or runs.
    Exporting,
    /// The operator moves the package to DataWorks' upload bucket.
    Uploading,
    /// The import task is being created or runs (also while a re-import is tried).
    Importing,
    /// IMPORT_SUCCESS.
    Succeeded,
    /// PARTIAL_SUCCESS: some objects were not imported; the console's import report says which.
    PartiallySucceeded,
    /// The export or the import failed; see the Ready message and spec.retryRequestedAt.
    Failed,
    /// The spec cannot be acted on; the Ready message says what to change.
    Invalid,
    /// Reconciliation paused by annotation.
    Paused,
}

/// One DataWorks migration task (export or import) as last read.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MigrationTask {
    /// `MigrationId`; absent until CreateImportMigration/CreateExportMigration answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// The task name the operator derived (unique in the workspace; only letters, digits,
    /// `_` and `.`).
    #[schemars(length(max = 128))]
    pub name: String,
    /// The workspace the task lives in.
    pub workspace_id: i64,
    /// 1 for the first task; a new task after a refused re-import counts up.
    pub attempt: i32,
    /// When the create was sent: a restart looks the name up before creating again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_requested_at: Option<Time>,
    /// When StartMigration was accepted for this task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    /// Status as GetMigrationSummary reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<MigrationState>,
    /// The status text when it is none the operator knows (then `status` is `Unknown`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub unknown_status: Option<String>,
    /// Steps from GetMigrationProcess (TaskName/TaskStatus), in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50))]
    pub steps: Vec<MigrationStep>,
    /// The task's message (ListMigrations `Message`, masked), e.g. why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub message: Option<String>,
    /// GmtCreate (DataWorks' clock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Time>,
    /// GmtModified (DataWorks' clock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_at: Option<Time>,
    /// Alibaba Cloud UID that created the task (masked if it ever looks like a credential).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub create_user: Option<String>,
    /// Alibaba Cloud UID of the last operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub op_user: Option<String>,
    /// Import tasks: a digest of the settings the task was created with (package type,
    /// mappings, commit rules); a re-import with other settings needs a new task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub settings_digest: Option<String>,
}

/// Task statuses of GetMigrationSummary (and ListMigrations' other spelling).
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MigrationState {
    Init,
    Editing,
    Importing,
    ImportError,
    ImportSuccess,
    Exporting,
    ExportError,
    ExportSuccess,
    Revoked,
    PartialSuccess,
    /// ListMigrations' documented set: RUNNING, FAILURE, SUCCESS.
    Running,
    Failure,
    Success,
    /// A value the operator does not know (see `unknownStatus`).
    Unknown,
}

/// One step of GetMigrationProcess.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MigrationStep {
    /// TaskName as DataWorks spells it (e.g. `IMPORE_PREPARE`).
    #[schemars(length(max = 128))]
    pub name: String,
    /// TaskStatus.
    pub status: StepState,
}

/// TaskStatus values of GetMigrationProcess.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StepState {
    Init,
    Running,
    Failure,
    Success,
    Unknown,
}

/// A re-import requested by spec.retryRequestedAt.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Reimport {
    /// The spec.retryRequestedAt value it answers.
    #[schemars(length(max = 64))]
    pub requested_at: String,
    /// `StartMigration` (the same task again) or `NewTask`.
    pub method: ReimportMethod,
    /// When the operator sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<Time>,
    /// GmtModified of the failed task before the StartMigration: a task that does not move
    /// past it did not re-import.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_modified_at: Option<Time>,
    /// Why StartMigration did not re-import (refused, or ignored), when it did not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub fallback_reason: Option<String>,
}

/// How a failed import is re-imported.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ReimportMethod {
    /// StartMigration on the failed task (the console's Re-import).
    #[default]
    StartMigration,
    /// A new import task with the current spec.
    NewTask,
}

#[cfg(test)]
mod tests {
    use kube::CustomResourceExt;
    use serde_json::Value;

    use super::DataWorksMigration;

    /// Every property of the schema, with its path, whose description is missing or empty.
    fn undescribed(path: &str, schema: &Value, out: &mut Vec<String>) {
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (name, prop) in props {
                let here = format!("{path}.{name}");
                let text = prop.get("description").and_then(Value::as_str);
                if text.is_none_or(|t| t.trim().is_empty()) {
                    out.push(here.clone());
                }
                undescribed(&here, prop, out);
            }
        }
        if let Some(items) = schema.get("items") {
            undescribed(&format!("{path}[]"), items, out);
        }
    }

    #[test]
    fn kubectl_explain_documents_every_field() {
        let crd = serde_json::to_value(DataWorksMigration::crd()).unwrap();
        let schema = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
        let mut missing = Vec::new();
        for top in ["spec", "status"] {
            let s = &schema["properties"][top];
            assert!(s["description"].as_str().is_some_and(|d| !d.is_empty()));
            undescribed(top, s, &mut missing);
        }
        assert!(
            missing.is_empty(),
            "fields without a description: {missing:?}"
        );
        let top = schema["description"].as_str().unwrap_or_default();
        assert!(top.contains("Migration Assistant"), "{top}");
    }

    #[test]
    fn the_crd_says_what_is_console_only() {
        let crd = serde_json::to_string(&DataWorksMigration::crd()).unwrap();
        for feature in ["dry-run", "Change Owner", "console-only", "import report"] {
            assert!(crd.contains(feature), "{feature} not named in the CRD");
        }
    }
}
