//! One normalised status model for both DTS API generations (DescribeDtsJobDetail,
//! DescribeDtsJobs, legacy DescribeMigrationJobStatus), built from masked JSON with
//! case-insensitive key lookup, so that key casing (`DtsInstanceID`/`DtsInstanceId`,
//! `Status`/`status`, `IP`/`Ip`), type drift (numbers as strings) and legacy wrapper objects
//! (`PrecheckStatus.Detail.CheckItem[]`) all read alike (`docs/cloud-apis.md#dts-wire-quirks`).
//!
//! # Lag
//!
//! [`DtsJobStatus::lag_seconds`] is always seconds; the source unit is kept in [`Lag`]:
//!
//! | source | field | unit |
//! |---|---|---|
//! | `DescribeDtsJobDetail` | `Delay` | milliseconds |
//! | `DescribeDtsJobs` item, `JobType=MIGRATION` (the default) | `Delay` | milliseconds |
//! | `DescribeDtsJobs` item, `JobType=SYNC` | `Delay` | seconds |
//! | legacy `DescribeMigrationJobStatus` | `DataSynchronizationStatus.Delay` | seconds |
//!
//! Negative values (`-1` = not applicable) read as "no lag known".

use serde_json::Value;

use crate::aliyun::lenient::{Fields, string_enum};
use crate::aliyun::mask::mask_text;

string_enum! {
    /// Top-level state of a DTS task, both generations' values
    /// (`docs/cloud-apis.md#dts-status-values-and-state-machine`).
    pub enum DtsJobState {
        NotConfigured => ["NotConfigured"],
        NotStarted => ["NotStarted"],
        Prechecking => ["Prechecking"],
        PrecheckFailed => ["PrecheckFailed"],
        PrecheckPassed => ["PreCheckPass", "PrecheckPass"],
        Migrating => ["Migrating"],
        /// Paused.
        Suspending => ["Suspending"],
        MigrationFailed => ["MigrationFailed"],
        Retrying => ["Retrying"],
        Finished => ["Finished"],
        Initializing => ["Initializing"],
        InitializeFailed => ["InitializeFailed"],
        Synchronizing => ["Synchronizing"],
        Failed => ["Failed"],
        Modifying => ["Modifying"],
        ModifyFailed => ["ModifyFailed"],
        Locked => ["Locked"],
        Upgrade => ["Upgrade"],
        Downgrade => ["Downgrade"],
        Starting => ["Starting"],
        Normal => ["Normal"],
        Abnormal => ["Abnormal"],
    }
}

impl DtsJobState {
    /// A failure state (the task needs attention or a restart).
    pub fn is_failed(&self) -> bool {
        matches!(
            self,
            DtsJobState::PrecheckFailed
                | DtsJobState::MigrationFailed
                | DtsJobState::InitializeFailed
                | DtsJobState::Failed
                | DtsJobState::ModifyFailed
                | DtsJobState::Abnormal
        )
    }

    /// `Finished`: ended, cannot be restarted.
    pub fn is_finished(&self) -> bool {
        matches!(self, DtsJobState::Finished)
    }

    /// Moving data (or about to, after a transient error).
    pub fn is_running(&self) -> bool {
        matches!(
            self,
            DtsJobState::Migrating
                | DtsJobState::Synchronizing
                | DtsJobState::Initializing
                | DtsJobState::Retrying
                | DtsJobState::Normal
        )
    }
}

string_enum! {
    /// State of a stage (precheck, schema, full data, incremental, verification) or of a
    /// precheck item.
    pub enum StageState {
        NotStarted => ["NotStarted"],
        Checking => ["Checking"],
        Migrating => ["Migrating"],
        /// Incremental migration has caught up (no latency).
        CaughtUp => ["Catched", "CaughtUp"],
        Finished => ["Finished"],
        Failed => ["Failed"],
        Suspending => ["Suspending"],
        Inconsistency => ["Inconsistency"],
        Warning => ["Warning"],
        Success => ["Success"],
    }
}

/// The unit a lag figure arrived in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LagUnit {
    Milliseconds,
    Seconds,
}

/// Replication lag as reported, with its unit and where it came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lag {
    pub value: f64,
    pub unit: LagUnit,
    /// The field it was read from, e.g. `DescribeDtsJobDetail.Delay`.
    pub source: &'static str,
}

impl Lag {
    /// The lag in seconds.
    pub fn seconds(&self) -> f64 {
        match self.unit {
            LagUnit::Milliseconds => self.value / 1000.0,
            LagUnit::Seconds => self.value,
        }
    }

    fn read(value: Option<f64>, unit: LagUnit, source: &'static str) -> Option<Lag> {
        value.filter(|v| *v >= 0.0).map(|value| Lag {
            value,
            unit,
            source,
        })
    }
}

/// Which API generation a status came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtsApiGeneration {
    /// `*DtsJob*` operations (2020-01-01).
    Current,
    /// `*MigrationJob*` operations (the legacy generation).
    Legacy,
}

/// Which stages the task runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationMode {
    /// Schema migration.
    pub structure_initialization: Option<bool>,
    /// Full data migration.
    pub data_initialization: Option<bool>,
    /// Incremental migration (runs until stopped).
    pub data_synchronization: Option<bool>,
    pub full_data_check: Option<bool>,
    pub inc_data_check: Option<bool>,
    pub structure_data_check: Option<bool>,
}

/// Progress of one stage.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StageStatus {
    pub state: Option<StageState>,
    /// Percent done.
    pub percent: Option<f64>,
    /// Tables (schema) or rows (full data) done.
    pub progress: Option<i64>,
    pub error_message: Option<String>,
    /// Data checks: DTS's verdict whether the destination may take over (`CanSwitch`).
    pub can_switch: Option<bool>,
}

/// One precheck item, from any of the three shapes (new `Detail[]`, legacy
/// `Detail.CheckItem[]`, `DescribePreCheckStatus.JobProgress[]`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PrecheckItem {
    /// `CHECK_SRC`, `CHECK_DEST_TABLE_EMPTY`, ...
    pub name: String,
    pub description: Option<String>,
    /// `Success`, `Failed`, `Warning`, ...
    pub state: Option<StageState>,
    /// Why it failed.
    pub message: Option<String>,
    pub repair_method: Option<String>,
    pub can_skip: Option<bool>,
    pub skipped: Option<bool>,
}

impl PrecheckItem {
    /// Whether this item failed.
    pub fn failed(&self) -> bool {
        self.state == Some(StageState::Failed)
    }
}

/// The precheck stage with its items.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PrecheckStatus {
    pub state: Option<StageState>,
    pub percent: Option<f64>,
    pub error_message: Option<String>,
    pub items: Vec<PrecheckItem>,
}

/// DTS's automatic retry of a failed task (new API `RetryState`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RetryState {
    pub retrying: bool,
    pub retry_count: Option<i64>,
    /// Seconds spent retrying so far.
    pub retry_time_secs: Option<i64>,
    /// Seconds DTS will keep retrying.
    pub max_retry_time_secs: Option<i64>,
    /// `srcDB`, `destDB` or `inner_module`.
    pub target: Option<String>,
    pub module: Option<String>,
    pub error_message: Option<String>,
}

/// A source or destination as DTS reports it. `user_name` is masked when it is an AccessKey id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EndpointInfo {
    pub instance_type: Option<String>,
    pub instance_id: Option<String>,
    pub engine_name: Option<String>,
    pub region: Option<String>,
    pub ip: Option<String>,
    pub port: Option<String>,
    pub database_name: Option<String>,
    pub user_name: Option<String>,
}

/// A DTS task's status, whatever operation and generation it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct DtsJobStatus {
    pub generation: DtsApiGeneration,
    /// `DtsJobId` (legacy: `TaskId`).
    pub dts_job_id: Option<String>,
    /// `DtsInstanceID` (legacy: `MigrationJobId`).
    pub dts_instance_id: Option<String>,
    pub name: Option<String>,
    pub job_type: Option<String>,
    pub job_class: Option<String>,
    pub pay_type: Option<String>,
    pub state: Option<DtsJobState>,
    pub migration_mode: MigrationMode,
    pub precheck: Option<PrecheckStatus>,
    pub structure_initialization: Option<StageStatus>,
    pub data_initialization: Option<StageStatus>,
    pub data_synchronization: Option<StageStatus>,
    pub structure_data_check: Option<StageStatus>,
    pub full_data_check: Option<StageStatus>,
    pub inc_data_check: Option<StageStatus>,
    pub lag: Option<Lag>,
    /// Unix seconds of the last change applied by incremental migration.
    pub checkpoint: Option<i64>,
    pub etl_safe_checkpoint: Option<i64>,
    pub retry: Option<RetryState>,
    /// Why the task failed, if it did.
    pub error_message: Option<String>,
    pub create_time: Option<String>,
    pub finish_time: Option<String>,
    pub source: Option<EndpointInfo>,
    pub destination: Option<EndpointInfo>,
    /// `DbObject` (new) or `MigrationObject` (legacy), parsed when it is JSON.
    pub objects: Option<Value>,
    /// `Reserved`, parsed when it is JSON.
    pub reserved: Option<Value>,
    /// The masked JSON it was built from.
    pub raw: Value,
}

impl DtsJobStatus {
    /// Replication lag in seconds, whatever unit the source used.
    pub fn lag_seconds(&self) -> Option<f64> {
        self.lag.map(|l| l.seconds())
    }

    /// Lag computed from the checkpoint: `now - checkpoint` (seconds, never negative).
    pub fn checkpoint_lag_seconds(&self, now_unix: i64) -> Option<f64> {
        self.checkpoint
            .filter(|c| *c > 0)
            .map(|c| (now_unix - c).max(0) as f64)
    }

    /// Precheck items that failed.
    pub fn failed_precheck_items(&self) -> Vec<&PrecheckItem> {
        self.precheck
            .iter()
            .flat_map(|p| p.items.iter())
            .filter(|i| i.failed())
            .collect()
    }

    /// The first error message found: the task's, then the stages', then the retry state's.
    pub fn any_error_message(&self) -> Option<&str> {
        self.error_message
            .as_deref()
            .or_else(|| {
                [
                    &self.data_synchronization,
                    &self.data_initialization,
                    &self.structure_initialization,
                ]
                .into_iter()
                .flatten()
                .find_map(|s| s.error_message.as_deref())
            })
            .or_else(|| {
                self.precheck
                    .as_ref()
                    .and_then(|p| p.error_message.as_deref())
            })
            .or_else(|| self.retry.as_ref().and_then(|r| r.error_message.as_deref()))
    }

    fn empty(generation: DtsApiGeneration, raw: &Value) -> Self {
        Self {
            generation,
            dts_job_id: None,
            dts_instance_id: None,
            name: None,
            job_type: None,
            job_class: None,
            pay_type: None,
            state: None,
            migration_mode: MigrationMode::default(),
            precheck: None,
            structure_initialization: None,
            data_initialization: None,
            data_synchronization: None,
            structure_data_check: None,
            full_data_check: None,
            inc_data_check: None,
            lag: None,
            checkpoint: None,
            etl_safe_checkpoint: None,
            retry: None,
            error_message: None,
            create_time: None,
            finish_time: None,
            source: None,
            destination: None,
            objects: None,
            reserved: None,
            raw: raw.clone(),
        }
    }

    /// From a `DescribeDtsJobDetail` body or a `DescribeDtsJobs` item. `delay_unit` says how
    /// to read `Delay` (milliseconds for detail and migration lists, seconds for sync lists).
    pub(crate) fn from_current(
        value: &Value,
        delay_unit: LagUnit,
        delay_source: &'static str,
    ) -> Self {
        let f = Fields(value);
        let mut s = Self::empty(DtsApiGeneration::Current, value);
        s.dts_job_id = f.string(&["DtsJobId"]);
        s.dts_instance_id = f.string(&["DtsInstanceID", "DtsInstanceId"]);
        s.name = f.string(&["DtsJobName"]);
        s.job_type = f.string(&["JobType"]);
        s.job_class = f.string(&["DtsJobClass"]);
        s.pay_type = f.string(&["PayType"]);
        s.state = f.string(&["Status"]).map(|v| DtsJobState::parse(&v));
        s.migration_mode = f
            .object(&["MigrationMode"])
            .map(|m| mode(&m))
            .unwrap_or_default();
        s.precheck = f.object(&["PrecheckStatus"]).map(|p| precheck(&p));
        s.structure_initialization = f
            .object(&["StructureInitializationStatus"])
            .map(|v| stage(&v));
        s.data_initialization = f.object(&["DataInitializationStatus"]).map(|v| stage(&v));
        s.data_synchronization = f.object(&["DataSynchronizationStatus"]).map(|v| stage(&v));
        s.structure_data_check = f.object(&["StructureDataCheckStatus"]).map(|v| stage(&v));
        s.full_data_check = f.object(&["FullDataCheckStatus"]).map(|v| stage(&v));
        s.inc_data_check = f.object(&["IncDataCheckStatus"]).map(|v| stage(&v));
        s.lag = Lag::read(f.float(&["Delay"]), delay_unit, delay_source);
        s.checkpoint = f.int(&["Checkpoint"]).filter(|c| *c > 0);
        s.etl_safe_checkpoint = f.int(&["EtlSafeCheckpoint"]).filter(|c| *c > 0);
        s.retry = f.object(&["RetryState"]).map(|r| retry_state(&r));
        s.error_message = f.string(&["ErrorMessage", "MigrationErrMsg"]);
        s.create_time = f.string(&["CreateTime"]);
        s.finish_time = f.string(&["FinishTime"]);
        s.source = f.object(&["SourceEndpoint"]).map(|e| endpoint(&e));
        s.destination = f.object(&["DestinationEndpoint"]).map(|e| endpoint(&e));
        s.objects = f.json(&["DbObject"]);
        s.reserved = f.json(&["Reserved"]);
        s
    }

    /// From a legacy `DescribeMigrationJobStatus` body.
    pub(crate) fn from_legacy_status(value: &Value) -> Self {
        let f = Fields(value);
        let mut s = Self::empty(DtsApiGeneration::Legacy, value);
        s.dts_job_id = f.string(&["TaskId"]);
        s.dts_instance_id = f.string(&["MigrationJobId", "MigrationJobID"]);
        s.name = f.string(&["MigrationJobName"]);
        s.job_type = Some("MIGRATION".to_string());
        s.job_class = f.string(&["MigrationJobClass"]);
        s.pay_type = f.string(&["PayType"]);
        s.state = f
            .string(&["MigrationJobStatus"])
            .map(|v| DtsJobState::parse(&v));
        s.migration_mode = f
            .object(&["MigrationMode"])
            .map(|m| mode(&m))
            .unwrap_or_default();
        s.precheck = f
            .object(&["PrecheckStatus", "Precheck"])
            .map(|p| precheck(&p));
        s.structure_initialization = f
            .object(&["StructureInitializationStatus", "StructureInitialization"])
            .map(|v| stage(&v));
        s.data_initialization = f
            .object(&["DataInitializationStatus", "DataInitialization"])
            .map(|v| stage(&v));
        let sync = f.object(&["DataSynchronizationStatus", "DataSynchronization"]);
        s.data_synchronization = sync.as_ref().map(stage);
        if let Some(sync) = &sync {
            let sf = Fields(sync);
            s.lag = Lag::read(
                sf.float(&["Delay"]),
                LagUnit::Seconds,
                "DescribeMigrationJobStatus.DataSynchronizationStatus.Delay",
            );
            s.checkpoint = sf.int(&["Checkpoint"]).filter(|c| *c > 0);
        }
        s.error_message = f.string(&["ErrorMessage"]);
        s.source = f.object(&["SourceEndpoint"]).map(|e| endpoint(&e));
        s.destination = f.object(&["DestinationEndpoint"]).map(|e| endpoint(&e));
        s.objects = f.json(&["MigrationObject"]);
        s
    }
}

fn mode(v: &Value) -> MigrationMode {
    let f = Fields(v);
    MigrationMode {
        structure_initialization: f.boolean(&["StructureInitialization"]),
        data_initialization: f.boolean(&["DataInitialization"]),
        data_synchronization: f.boolean(&["DataSynchronization"]),
        full_data_check: f.boolean(&["FullDataCheck"]),
        inc_data_check: f.boolean(&["IncDataCheck"]),
        structure_data_check: f.boolean(&["StructureDataCheck"]),
    }
}

fn stage(v: &Value) -> StageStatus {
    let f = Fields(v);
    StageStatus {
        state: f.string(&["Status"]).map(|s| StageState::parse(&s)),
        percent: f.float(&["Percent"]),
        progress: f.int(&["Progress"]),
        error_message: f.string(&["ErrorMessage"]),
        can_switch: f.boolean(&["CanSwitch"]),
    }
}

fn precheck(v: &Value) -> PrecheckStatus {
    let f = Fields(v);
    PrecheckStatus {
        state: f.string(&["Status"]).map(|s| StageState::parse(&s)),
        percent: f.float(&["Percent"]),
        error_message: f.string(&["ErrorMessage"]),
        items: f.list(&["Detail"]).iter().map(precheck_item).collect(),
    }
}

/// Reads any of the three item shapes.
pub(crate) fn precheck_item(v: &Value) -> PrecheckItem {
    let f = Fields(v);
    let detail = f.string(&["ErrDetail"]);
    let message = f
        .string(&["FailedReason", "ErrorMessage", "ErrMsg"])
        .map(|m| match &detail {
            Some(d) if !d.is_empty() && d != &m => format!("{m}: {d}"),
            _ => m,
        })
        .or(detail);
    PrecheckItem {
        name: f
            .string(&["CheckItem", "ItemName", "Item"])
            .unwrap_or_default(),
        description: f.string(&["CheckItemDescription", "Names"]),
        state: f
            .string(&["CheckResult", "CheckStatus", "State"])
            .map(|s| StageState::parse(&s)),
        message,
        repair_method: f.string(&["RepairMethod"]),
        can_skip: f.boolean(&["CanSkip"]),
        skipped: f.boolean(&["Skip"]),
    }
}

fn retry_state(v: &Value) -> RetryState {
    let f = Fields(v);
    RetryState {
        retrying: f.boolean(&["Retrying"]).unwrap_or(false),
        retry_count: f.int(&["RetryCount"]),
        retry_time_secs: f.int(&["RetryTime"]),
        max_retry_time_secs: f.int(&["MaxRetryTime"]),
        target: f.string(&["RetryTarget"]),
        module: f.string(&["Module"]),
        error_message: f.string(&["ErrMessage", "MigrationErrMsg"]),
    }
}

fn endpoint(v: &Value) -> EndpointInfo {
    let f = Fields(v);
    EndpointInfo {
        instance_type: f.string(&["InstanceType"]),
        instance_id: f.string(&["InstanceID", "InstanceId"]),
        engine_name: f.string(&["EngineName"]),
        region: f.string(&["Region"]),
        ip: f.string(&["Ip", "IP"]),
        port: f.string(&["Port"]),
        database_name: f.string(&["DatabaseName", "DataBaseName"]),
        user_name: f.string(&["UserName"]).map(|u| mask_text(&u)),
    }
}

/// A `DescribePreCheckStatus` answer: the items of one stage (`JobCode`).
#[derive(Debug, Clone, PartialEq)]
pub struct PrecheckReport {
    /// The stage's state.
    pub state: Option<StageState>,
    pub total: Option<i64>,
    pub error_items: Option<i64>,
    pub items: Vec<PrecheckItem>,
    pub page_number: Option<i64>,
    pub total_record_count: Option<i64>,
    /// The masked JSON it was built from.
    pub raw: Value,
}

impl PrecheckReport {
    pub(crate) fn from_value(value: &Value) -> Self {
        let f = Fields(value);
        Self {
            state: f.string(&["State"]).map(|s| StageState::parse(&s)),
            total: f.int(&["Total"]),
            error_items: f.int(&["ErrorItem"]),
            items: f.list(&["JobProgress"]).iter().map(precheck_item).collect(),
            page_number: f.int(&["PageNumber"]),
            total_record_count: f.int(&["TotalRecordCount"]),
            raw: value.clone(),
        }
    }

    /// Items that failed.
    pub fn failed_items(&self) -> Vec<&PrecheckItem> {
        self.items.iter().filter(|i| i.failed()).collect()
    }

    /// The items as DDL statements (a `StructType=after` answer). The statement text is masked.
    pub fn schema_changes(&self) -> Vec<SchemaChange> {
        Fields(&self.raw)
            .list(&["JobProgress"])
            .iter()
            .map(|v| {
                let f = Fields(v);
                let table = f.string(&["Names"]).unwrap_or_default();
                SchemaChange {
                    table: match f.string(&["SourceSchema"]) {
                        Some(db) if !db.is_empty() => format!("{db}.{table}"),
                        _ => table,
                    },
                    statement: f.string(&["DdlSql"]).map(|s| mask_text(&s)),
                    state: f.string(&["State"]).map(|s| StageState::parse(&s)),
                    message: f
                        .string(&["ErrMsg"])
                        .filter(|m| !m.is_empty())
                        .map(|m| mask_text(&m)),
                }
            })
            .collect()
    }
}

/// A DDL statement incremental migration met, and what DTS made of it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SchemaChange {
    /// `db.table`.
    pub table: String,
    pub statement: Option<String>,
    pub state: Option<StageState>,
    pub message: Option<String>,
}

impl SchemaChange {
    pub fn failed(&self) -> bool {
        self.state == Some(StageState::Failed)
    }
}
