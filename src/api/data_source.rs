//! `DataSource`: an MMS data source created in the MaxCompute console and adopted here.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::CloudCredentials;

/// Adopts an MMS data source (Hive, BigQuery, Snowflake, Redshift, Databricks, MaxCompute) by
/// name or id, checks it, and runs metadata scans. Data sources hold network links and source
/// credentials, so they are created in the MaxCompute console, never by this operator.
#[derive(CustomResource, KubeSchema, Deserialize, Serialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "migration.aliyun-operator.dev",
    version = "v1alpha1",
    kind = "DataSource",
    namespaced,
    doc = "An MMS data source created in the MaxCompute console, adopted by name or id.",
    status = "DataSourceStatus",
    shortname = "mmsds",
    category = "migration",
    printcolumn(name = "Ready", type_ = "string", json_path = r#".status.conditions[?(@.type=="Ready")].status"#),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(name = "Source-ID", type_ = "integer", json_path = ".status.sourceId"),
    printcolumn(name = "Type", type_ = "string", json_path = ".status.type"),
    printcolumn(name = "Tables", type_ = "integer", json_path = ".status.counts.tables"),
    printcolumn(name = "Reason", type_ = "string", priority = 1, json_path = r#".status.conditions[?(@.type=="Ready")].reason"#),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = Rule::new(
        "!has(oldSelf.status) || !has(oldSelf.status.sourceId) || ((has(self.spec.name) ? self.spec.name : '') == (has(oldSelf.spec.name) ? oldSelf.spec.name : '') && (!has(self.spec.sourceId) || self.spec.sourceId == oldSelf.status.sourceId))"
    ).message("spec.name and spec.sourceId cannot change once the DataSource is resolved (status.sourceId); create a new DataSource to adopt another MMS data source"),
)]
#[x_kube(validation = Rule::new("has(self.name) || has(self.sourceId)").message("set spec.name (resolved by exact match) or spec.sourceId (the MMS data source id)"))]
#[serde(rename_all = "camelCase")]
pub struct DataSourceSpec {
    /// Alibaba Cloud region of the MaxCompute project and MMS service, e.g. `cn-hangzhou`.
    #[schemars(regex(pattern = r"^[a-z]{2,}(-[a-z0-9]+)+$"), length(max = 64))]
    pub region: String,
    /// Credentials for the MaxCompute API. Defaults to the Secret `alibaba-cloud-credentials`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<CloudCredentials>,
    /// Name of the MMS data source as shown in the console. Resolved to an id by exact match:
    /// exactly one exact match is adopted; none or several (or only partial matches) are
    /// reported in status and nothing is guessed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 128))]
    pub name: Option<String>,
    /// The MMS data source id. Pins the data source (use it to settle an ambiguous name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub source_id: Option<i64>,
    /// The type the data source must have; a different type makes the DataSource not Ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_type: Option<SourceType>,
    /// Metadata scans (MMS "fetch metadata" jobs) that fill the catalogue of databases, tables
    /// and partitions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan: Option<ScanSpec>,
}

/// Data source types supported by MMS. Matching against the service is case-insensitive: the
/// service spells them its own way (`HIVE`, `BIGQUERY`).
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum SourceType {
    Hive,
    BigQuery,
    Snowflake,
    Redshift,
    Databricks,
    MaxCompute,
}

impl SourceType {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceType::Hive => "Hive",
            SourceType::BigQuery => "BigQuery",
            SourceType::Snowflake => "Snowflake",
            SourceType::Redshift => "Redshift",
            SourceType::Databricks => "Databricks",
            SourceType::MaxCompute => "MaxCompute",
        }
    }

    /// True when the service's spelling (`HIVE`, `BigQuery`, ...) names this type.
    pub fn matches(self, service_type: &str) -> bool {
        self.as_str().eq_ignore_ascii_case(service_type)
    }
}

/// When metadata scans run.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScanSpec {
    /// Scan once when the data source is first adopted and has never been scanned by us.
    #[serde(default)]
    pub on_create: bool,
    /// Scan again when the last finished scan is older than this many seconds (minimum 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 300))]
    pub interval_seconds: Option<i64>,
    /// Any new value (e.g. a timestamp) requests a scan now; the handled value is echoed in
    /// `status.lastScan.requestedAt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 128))]
    pub requested_at: Option<String>,
    /// Restrict scans to one source database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 256))]
    pub db_name: Option<String>,
    /// Restrict scans to these tables (needs `dbName`; at most 1000).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 1000), inner(length(min = 1, max = 256)))]
    pub table_names: Vec<String>,
}

/// Observed state of a DataSource.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataSourceStatus {
    /// Generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready` (summary), `Resolved` (name → id), `Scanned` (latest metadata scan).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// Short human word: Resolving, Scanning, Ready, NotFound, Ambiguous, Error, Paused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<DataSourcePhase>,
    /// The adopted MMS data source id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_id: Option<i64>,
    /// The data source name as the service spells it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_name: Option<String>,
    /// The data source type as the service spells it (e.g. `HIVE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    /// Service state of the data source: STARTING, STARTED, START_FAILED, STOPPING, STOPPED,
    /// STOP_FAILED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_status: Option<String>,
    /// Whether the MMS agent of the data source is online.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_online: Option<bool>,
    /// Default target MaxCompute project of the data source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dst_project: Option<String>,
    /// Catalogue counts as last reported by the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counts: Option<CatalogueCounts>,
    /// Source databases found by the last scan (at most 50 names; see `databasesTotal`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub databases: Vec<String>,
    /// Number of source databases in the catalogue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub databases_total: Option<i64>,
    /// The latest metadata scan started or observed by the operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_scan: Option<ScanStatus>,
    /// When a read of the cloud object last changed this status: a poll that finds nothing new leaves it (and the status) as it was, so idle objects cause no writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_polled_at: Option<Time>,
    /// The last `reconcile-requested-at` annotation value handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

/// Coarse lifecycle of a DataSource.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum DataSourcePhase {
    Resolving,
    Scanning,
    Ready,
    NotFound,
    Ambiguous,
    Error,
    Paused,
}

/// Catalogue counts of a data source.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CatalogueCounts {
    pub databases: i64,
    pub tables: i64,
    pub partitions: i64,
    pub tables_done: i64,
    pub tables_failed: i64,
    pub partitions_done: i64,
    pub partitions_failed: i64,
}

/// One metadata scan.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScanStatus {
    /// MMS scan id.
    pub id: i64,
    /// Service status of the scan (e.g. SCAN_DOING, DONE, FAILED).
    pub status: String,
    /// Whether the scan has finished (successfully or not).
    pub finished: bool,
    /// Whether the scan failed.
    #[serde(default)]
    pub failed: bool,
    /// Progress in percent (0–100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Time>,
    /// Why the scan ran: OnCreate, Requested, Interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
    /// The `spec.scan.requestedAt` value this scan answered, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_at: Option<String>,
    /// Databases, tables and partitions the scan found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub databases: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tables: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitions: Option<i64>,
    /// Error reported by the service (masked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
