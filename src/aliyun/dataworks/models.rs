//! Requests and answers of the Migration Assistant operations.

use serde_json::Value;

use super::text;
use crate::aliyun::error::Error;
use crate::aliyun::lenient::{string_enum, value_bool, value_i64};
use crate::aliyun::secret::SecretString;
use crate::aliyun::transport::ApiResponse;

string_enum! {
    /// Task types of ListMigrations.
    pub enum MigrationType {
        Import => ["IMPORT"],
        Export => ["EXPORT"],
    }
}

string_enum! {
    /// Task statuses: GetMigrationSummary's set and the other set ListMigrations documents
    /// (`docs/cloud-apis.md#dataworks-wire-quirks`; which one ListMigrations really uses is
    /// unverified).
    pub enum MigrationStatus {
        Init => ["INIT"],
        Editing => ["EDITING"],
        Importing => ["IMPORTING"],
        ImportError => ["IMPORT_ERROR"],
        ImportSuccess => ["IMPORT_SUCCESS"],
        Exporting => ["EXPORTING"],
        ExportError => ["EXPORT_ERROR"],
        ExportSuccess => ["EXPORT_SUCCESS"],
        Revoked => ["REVOKED"],
        PartialSuccess => ["PARTIAL_SUCCESS"],
        Running => ["RUNNING"],
        Failure => ["FAILURE"],
        Success => ["SUCCESS"],
    }
}

string_enum! {
    /// Step statuses of GetMigrationProcess (an older page spells INIT `INT`).
    pub enum StepStatus {
        Init => ["INIT", "INT"],
        Running => ["RUNNING"],
        Failure => ["FAILURE"],
        Success => ["SUCCESS"],
    }
}

/// CreateExportMigration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateExportMigrationRequest {
    /// The source workspace.
    pub project_id: i64,
    /// Unique in the workspace.
    pub name: String,
    /// `FULL` or `INCREMENTAL`.
    pub export_mode: String,
    /// Epoch milliseconds, with `INCREMENTAL`.
    pub incremental_since_ms: Option<i64>,
    /// `SAVED`, `SUBMITTED` or `DEPLOYED`.
    pub export_object_status: Option<String>,
    pub description: Option<String>,
}

impl CreateExportMigrationRequest {
    pub(crate) fn form(&self) -> Vec<(String, String)> {
        let mut form = vec![
            ("ProjectId".to_string(), self.project_id.to_string()),
            ("Name".to_string(), self.name.clone()),
            ("ExportMode".to_string(), self.export_mode.clone()),
        ];
        if let Some(since) = self.incremental_since_ms {
            form.push(("IncrementalSince".into(), since.to_string()));
        }
        if let Some(s) = &self.export_object_status {
            form.push(("ExportObjectStatus".into(), s.clone()));
        }
        if let Some(d) = self.description.as_ref().filter(|d| !d.is_empty()) {
            form.push(("Description".into(), d.clone()));
        }
        form
    }
}

/// CreateImportMigration.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateImportMigrationRequest {
    /// The target workspace.
    pub project_id: i64,
    /// Unique in the workspace.
    pub name: String,
    /// `DATAWORKS_MODEL`, `DATAWORKS_V2`, `DATAWORKS_V3` or `SPEC`.
    pub package_type: String,
    /// Where the package is (an OSS object URL).
    pub package_file: String,
    /// `{"ODPS": {"<source instance>": "<target instance>"}, ...}`; always sent (the older
    /// documentation page marks it required).
    pub calculate_engine_map: Value,
    /// Booleans such as `resourceAutoCommit`; always sent (same reason).
    pub commit_rule: Value,
    /// `{"SCHEDULER_RESOURCE_GROUP": {...}, "DI_RESOURCE_GROUP": {...}}`.
    pub resource_group_map: Option<Value>,
    /// `{"<source workspace>": "<target workspace>"}`.
    pub workspace_map: Option<Value>,
    pub description: Option<String>,
}

impl CreateImportMigrationRequest {
    pub(crate) fn form(&self) -> Vec<(String, String)> {
        let mut form = vec![
            ("ProjectId".to_string(), self.project_id.to_string()),
            ("Name".to_string(), self.name.clone()),
            ("PackageType".to_string(), self.package_type.clone()),
            ("PackageFile".to_string(), self.package_file.clone()),
            (
                "CalculateEngineMap".to_string(),
                self.calculate_engine_map.to_string(),
            ),
            ("CommitRule".to_string(), self.commit_rule.to_string()),
        ];
        if let Some(m) = &self.resource_group_map {
            form.push(("ResourceGroupMap".into(), m.to_string()));
        }
        if let Some(m) = &self.workspace_map {
            form.push(("WorkspaceMap".into(), m.to_string()));
        }
        if let Some(d) = self.description.as_ref().filter(|d| !d.is_empty()) {
            form.push(("Description".into(), d.clone()));
        }
        form
    }
}

/// GetMigrationSummary's `Data`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationSummary {
    pub migration_id: Option<i64>,
    pub name: Option<String>,
    pub project_id: Option<i64>,
    pub status: Option<MigrationStatus>,
    /// Epoch milliseconds.
    pub gmt_create: Option<i64>,
    pub gmt_modified: Option<i64>,
    pub create_user: Option<String>,
    pub op_user: Option<String>,
    /// Whether a download URL was in the answer (its value is masked here).
    pub has_download_url: bool,
}

impl MigrationSummary {
    pub(crate) fn from_value(v: &Value) -> Self {
        Self {
            migration_id: v.get("MigrationId").and_then(value_i64),
            name: text(v, "Name"),
            project_id: v.get("ProjectId").and_then(value_i64),
            status: text(v, "Status").map(|s| MigrationStatus::parse(&s)),
            gmt_create: v.get("GmtCreate").and_then(value_i64),
            gmt_modified: v.get("GmtModified").and_then(value_i64),
            create_user: text(v, "CreateUser"),
            op_user: text(v, "OpUser"),
            has_download_url: text(v, "DownloadUrl").is_some(),
        }
    }
}

/// One step of GetMigrationProcess.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessStep {
    pub task_name: String,
    pub task_status: Option<StepStatus>,
}

impl ProcessStep {
    pub(crate) fn from_value(v: &Value) -> Self {
        Self {
            task_name: text(v, "TaskName").unwrap_or_default(),
            task_status: text(v, "TaskStatus").map(|s| StepStatus::parse(&s)),
        }
    }
}

/// One page of ListMigrations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationList {
    pub total_count: i64,
    pub items: Vec<MigrationItem>,
}

/// One task of ListMigrations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationItem {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub migration_type: Option<MigrationType>,
    pub package_type: Option<String>,
    pub status: Option<MigrationStatus>,
    /// Why it failed, as DataWorks says (masked).
    pub message: Option<String>,
    pub project_id: Option<i64>,
    pub create_time: Option<i64>,
    pub update_time: Option<i64>,
    pub create_user: Option<String>,
}

impl MigrationItem {
    pub(crate) fn from_value(v: &Value) -> Self {
        Self {
            id: v.get("Id").and_then(value_i64).unwrap_or_default(),
            name: text(v, "Name").unwrap_or_default(),
            description: text(v, "Description"),
            migration_type: text(v, "MigrationType").map(|s| MigrationType::parse(&s)),
            package_type: text(v, "PackageType"),
            status: text(v, "Status").map(|s| MigrationStatus::parse(&s)),
            message: text(v, "Message"),
            project_id: v.get("ProjectId").and_then(value_i64),
            create_time: v.get("CreateTime").and_then(value_i64),
            update_time: v.get("UpdateTime").and_then(value_i64),
            create_user: text(v, "CreateUser"),
        }
    }
}

/// An OpenPlatform upload grant: the form fields of one OSS PostObject. The id, signature,
/// policy and token are credentials (Debug shows them redacted).
#[derive(Debug, Clone)]
pub struct UploadGrant {
    pub bucket: String,
    /// OSS endpoint host, e.g. `oss-cn-hangzhou.aliyuncs.com`.
    pub endpoint: String,
    pub object_key: String,
    pub use_accelerate: bool,
    pub access_key_id: SecretString,
    pub signature: SecretString,
    pub encoded_policy: SecretString,
    pub security_token: Option<SecretString>,
}

impl UploadGrant {
    pub(crate) fn from_response(resp: &ApiResponse) -> Result<Self, Error> {
        let b = &resp.body;
        let need = |key: &str| {
            text(b, key)
                .ok_or_else(|| Error::decode(format!("AuthorizeFileUpload answered without {key}")))
        };
        let secret = |pointer: &str| {
            resp.revealed(pointer).cloned().ok_or_else(|| {
                Error::decode(format!(
                    "AuthorizeFileUpload answered without {}",
                    pointer.trim_start_matches('/')
                ))
            })
        };
        Ok(Self {
            bucket: need("Bucket")?,
            endpoint: need("Endpoint")?,
            object_key: need("ObjectKey")?,
            use_accelerate: b.get("UseAccelerate").and_then(value_bool).unwrap_or(false),
            access_key_id: secret("/AccessKeyId")?,
            signature: secret("/Signature")?,
            encoded_policy: secret("/EncodedPolicy")?,
            security_token: resp.revealed("/SecurityToken").cloned(),
        })
    }

    /// The `PackageFile` the SDK's Advance flow passes on: `http://<bucket>.<endpoint>/<key>`
    /// (plain http, the non-accelerated endpoint), no signature.
    pub fn package_file(&self) -> String {
        format!(
            "http://{}.{}/{}",
            self.bucket, self.endpoint, self.object_key
        )
    }
}
