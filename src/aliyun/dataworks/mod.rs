//! DataWorks Migration Assistant (`dataworks-public` 2020-05-18, RPC) and the package upload
//! of the SDK's Advance flow (OpenPlatform `AuthorizeFileUpload` 2019-12-19 + an OSS form
//! POST), as the official SDK (PyPI `alibabacloud-dataworks-public20200518`) sends them.
//!
//! Every business parameter travels in the form body (the SDK's `formData`), JSON-valued ones
//! (`CalculateEngineMap`, `CommitRule`, `ResourceGroupMap`, `WorkspaceMap`) as one JSON string
//! each; `RegionId` is not sent (the endpoint names the region). HTTP 200 answers with
//! `Success: false` are errors.
//!
//! Two answers carry credentials the caller needs in clear: the export's `DownloadUrl` (a
//! pre-signed OSS URL) and the upload grant. They are taken out as [`SecretString`]s before the
//! answer is masked and exist nowhere else: not in a log line, an error or a model.

mod models;
mod oss;

pub use models::*;

use serde_json::Value;

use super::cloud::Cloud;
use super::credentials::Credentials;
use super::endpoint::Product;
use super::error::Error;
use super::lenient::{value_bool, value_i64, value_string};
use super::pacing::Pacer;
use super::secret::SecretString;
use super::transport::{ApiRequest, ApiResponse, Body, Idempotency};

/// `ListMigrations` pages are at most this big.
pub const LIST_PAGE_SIZE: u32 = 100;
/// ... and at most this many pages are listable (`PageNumber` max 100).
pub const LIST_MAX_PAGES: u32 = 100;

const DOWNLOAD_URL: &str = "/Data/DownloadUrl";
const GRANT_FIELDS: &[&str] = &[
    "/AccessKeyId",
    "/Signature",
    "/EncodedPolicy",
    "/SecurityToken",
];

/// DataWorks Migration Assistant operations for one region and identity. Cheap to clone.
#[derive(Clone, Debug)]
pub struct DataWorksClient {
    cloud: Cloud,
    region: String,
    credentials: Credentials,
    /// DataWorks calls wait their turn in the account's budget (a handful per migration).
    pacer: Pacer,
}

impl Cloud {
    /// A DataWorks client for one region and identity (cheap; build one per reconcile).
    pub fn dataworks(
        &self,
        region: impl Into<String>,
        credentials: Credentials,
    ) -> DataWorksClient {
        DataWorksClient {
            cloud: self.clone(),
            region: region.into(),
            credentials,
            pacer: Pacer::default(),
        }
    }
}

impl DataWorksClient {
    /// The region this client calls.
    pub fn region(&self) -> &str {
        &self.region
    }

    async fn call(
        &self,
        action: &'static str,
        form: Vec<(String, String)>,
        idempotency: Idempotency,
        reveal: &'static [&'static str],
    ) -> Result<ApiResponse, Error> {
        let mut req = ApiRequest::rpc(Product::DataWorks, action, idempotency);
        req.body = Body::Form(form);
        req.reveal = reveal;
        self.cloud
            .inner
            .call(&self.region, &self.credentials, req, &self.pacer)
            .await
    }

    /// CreateExportMigration: creates (does not start) an export task; returns its id.
    /// No idempotency token: a failure after sending is not retried (look the name up).
    pub async fn create_export_migration(
        &self,
        req: &CreateExportMigrationRequest,
    ) -> Result<i64, Error> {
        let resp = self
            .call(
                "CreateExportMigration",
                req.form(),
                Idempotency::NotIdempotent,
                &[],
            )
            .await?;
        data_id(&resp, "CreateExportMigration")
    }

    /// CreateImportMigration: creates (does not start) an import task; returns its id.
    pub async fn create_import_migration(
        &self,
        req: &CreateImportMigrationRequest,
    ) -> Result<i64, Error> {
        let resp = self
            .call(
                "CreateImportMigration",
                req.form(),
                Idempotency::NotIdempotent,
                &[],
            )
            .await?;
        data_id(&resp, "CreateImportMigration")
    }

    /// StartMigration: starts an export or import task. `Ok(false)` when DataWorks answered
    /// success but `Data: false` (not started).
    pub async fn start_migration(&self, project_id: i64, migration_id: i64) -> Result<bool, Error> {
        let resp = self
            .call(
                "StartMigration",
                ids(project_id, migration_id),
                Idempotency::Idempotent,
                &[],
            )
            .await?;
        Ok(resp.body.get("Data").and_then(value_bool).unwrap_or(false))
    }

    /// GetMigrationSummary: status, times and users of a task (`DownloadUrl` masked; see
    /// [`Self::export_download_url`]).
    pub async fn get_migration_summary(
        &self,
        project_id: i64,
        migration_id: i64,
    ) -> Result<MigrationSummary, Error> {
        let resp = self
            .call(
                "GetMigrationSummary",
                ids(project_id, migration_id),
                Idempotency::Idempotent,
                &[],
            )
            .await?;
        let data = resp.body.get("Data").cloned().unwrap_or(Value::Null);
        if data.is_null() {
            return Err(Error::decode("GetMigrationSummary answered without Data"));
        }
        Ok(MigrationSummary::from_value(&data))
    }

    /// The export's pre-signed download URL, when DataWorks has one. A credential: keep it in
    /// memory only.
    pub async fn export_download_url(
        &self,
        project_id: i64,
        migration_id: i64,
    ) -> Result<Option<SecretString>, Error> {
        let resp = self
            .call(
                "GetMigrationSummary",
                ids(project_id, migration_id),
                Idempotency::Idempotent,
                &[DOWNLOAD_URL],
            )
            .await?;
        Ok(resp.revealed(DOWNLOAD_URL).cloned())
    }

    /// GetMigrationProcess: the task's steps (TaskName, TaskStatus), in order.
    pub async fn get_migration_process(
        &self,
        project_id: i64,
        migration_id: i64,
    ) -> Result<Vec<ProcessStep>, Error> {
        let resp = self
            .call(
                "GetMigrationProcess",
                ids(project_id, migration_id),
                Idempotency::Idempotent,
                &[],
            )
            .await?;
        Ok(items(resp.body.get("Data"))
            .iter()
            .map(ProcessStep::from_value)
            .collect())
    }

    /// ListMigrations: one page of a workspace's tasks of one type.
    pub async fn list_migrations(
        &self,
        project_id: i64,
        migration_type: MigrationType,
        page_number: u32,
        page_size: u32,
    ) -> Result<MigrationList, Error> {
        let form = vec![
            ("ProjectId".to_string(), project_id.to_string()),
            (
                "MigrationType".to_string(),
                migration_type.as_str().to_string(),
            ),
            ("PageNumber".to_string(), page_number.to_string()),
            (
                "PageSize".to_string(),
                page_size.clamp(1, LIST_PAGE_SIZE).to_string(),
            ),
        ];
        let resp = self
            .call("ListMigrations", form, Idempotency::Idempotent, &[])
            .await?;
        let data = resp.body.get("Data").cloned().unwrap_or(Value::Null);
        Ok(MigrationList {
            total_count: data.get("TotalCount").and_then(value_i64).unwrap_or(0),
            items: items(data.get("Migrations"))
                .iter()
                .map(MigrationItem::from_value)
                .collect(),
        })
    }

    /// Every task of `migration_type` named exactly `name` in a workspace, as far as the API
    /// lists (10,000 tasks). There is no name filter, so this pages through the list.
    pub async fn find_migrations_named(
        &self,
        project_id: i64,
        migration_type: MigrationType,
        name: &str,
    ) -> Result<Vec<MigrationItem>, Error> {
        let mut found = Vec::new();
        for page in 1..=LIST_MAX_PAGES {
            let list = self
                .list_migrations(project_id, migration_type.clone(), page, LIST_PAGE_SIZE)
                .await?;
            let n = list.items.len() as u32;
            found.extend(list.items.into_iter().filter(|m| m.name == name));
            if n < LIST_PAGE_SIZE || i64::from(page * LIST_PAGE_SIZE) >= list.total_count {
                break;
            }
        }
        Ok(found)
    }

    /// OpenPlatform AuthorizeFileUpload: a short-lived grant to POST one object into
    /// DataWorks' upload bucket.
    pub async fn authorize_file_upload(&self) -> Result<UploadGrant, Error> {
        let mut req = ApiRequest::rpc(
            Product::OpenPlatform,
            "AuthorizeFileUpload",
            Idempotency::Idempotent,
        );
        req.method = reqwest::Method::GET;
        req.query = vec![
            ("Product".to_string(), "dataworks-public".to_string()),
            ("RegionId".to_string(), self.region.clone()),
        ];
        req.reveal = GRANT_FIELDS;
        let resp = self
            .cloud
            .inner
            .call(&self.region, &self.credentials, req, &self.pacer)
            .await?;
        UploadGrant::from_response(&resp)
    }
}

fn ids(project_id: i64, migration_id: i64) -> Vec<(String, String)> {
    vec![
        ("ProjectId".to_string(), project_id.to_string()),
        ("MigrationId".to_string(), migration_id.to_string()),
    ]
}

fn data_id(resp: &ApiResponse, action: &str) -> Result<i64, Error> {
    resp.body
        .get("Data")
        .and_then(value_i64)
        .filter(|id| *id > 0)
        .ok_or_else(|| Error::decode(format!("{action} answered without a task id in Data")))
}

/// The items of a JSON list (absent or not a list: none).
fn items(value: Option<&Value>) -> Vec<Value> {
    value.and_then(Value::as_array).cloned().unwrap_or_default()
}

fn text(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(value_string)
}

#[cfg(test)]
mod tests;
