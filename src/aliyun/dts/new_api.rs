//! The current DTS API (`CreateDtsInstance`, `ConfigureDtsJob`, `*DtsJob`, `DescribeDtsJob*`,
//! `DescribePreCheckStatus`, `CreateJobMonitorRule`), as the official SDK (PyPI
//! `alibabacloud_dts20200101`) names its parameters.

use serde_json::Value;

use super::{
    DbList, DtsClient, DtsEndpoint, DtsJobStatus, LagUnit, PrecheckReport, Reserve, RpcParams,
};
use crate::aliyun::error::Error;
use crate::aliyun::lenient::{Fields, string_enum};
use crate::aliyun::page::Page;
use crate::aliyun::response::Ack;
use crate::aliyun::transport::Idempotency;

string_enum! {
    /// Kind of DTS task / instance.
    pub enum DtsJobType {
        Migration => ["MIGRATION"],
        Sync => ["SYNC"],
        Subscribe => ["SUBSCRIBE"],
        Check => ["CHECK"],
    }
}

string_enum! {
    /// Billing method.
    pub enum PayType {
        PrePaid => ["PrePaid"],
        PostPaid => ["PostPaid"],
    }
}

/// CreateDtsInstance: buy an instance. Either the task shape (type, regions, engines) or the
/// `job_id` of a task configured first.
///
/// The API has **no idempotency token**: a failure after sending is never retried (it could
/// buy twice). Prefer "configure first, buy later": ConfigureDtsJob without an instance gives
/// a `DtsJobId`, and `CreateDtsInstance(job_id)` attaches the purchase to it, so a controller can
/// see from `DescribeDtsJobDetail` whether the purchase happened before trying again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateDtsInstanceRequest {
    pub pay_type: PayType,
    /// `Type`: required unless `job_id` is set.
    pub job_type: Option<DtsJobType>,
    pub source_region: Option<String>,
    pub destination_region: Option<String>,
    /// e.g. `MySQL`, `PolarDB`.
    pub source_engine: Option<String>,
    /// e.g. `odps` for MaxCompute.
    pub destination_engine: Option<String>,
    /// `small`, `medium`, `large`, `xlarge`, `xxlarge`.
    pub instance_class: Option<String>,
    /// A task configured first (its `DtsJobId`).
    pub job_id: Option<String>,
    /// With `job_id`: start the task after the purchase.
    pub auto_start: Option<bool>,
    pub auto_pay: Option<bool>,
    /// PrePaid: `Year` or `Month`.
    pub period: Option<String>,
    /// PrePaid: duration in `period` units.
    pub used_time: Option<u32>,
    pub sync_architecture: Option<String>,
    pub database_count: Option<u32>,
    pub resource_group_id: Option<String>,
    /// Idempotency token (≤ 64 ASCII): a repeated purchase with the same token returns the
    /// instance bought the first time. DTS documents it for the legacy purchase
    /// (CreateMigrationJob); the simulator honours it here too.
    pub client_token: Option<String>,
}

impl Default for CreateDtsInstanceRequest {
    fn default() -> Self {
        Self {
            pay_type: PayType::PostPaid,
            job_type: Some(DtsJobType::Migration),
            source_region: None,
            destination_region: None,
            source_engine: None,
            destination_engine: None,
            instance_class: None,
            job_id: None,
            auto_start: None,
            auto_pay: None,
            period: None,
            used_time: None,
            sync_architecture: None,
            database_count: None,
            resource_group_id: None,
            client_token: None,
        }
    }
}

/// What CreateDtsInstance bought.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateDtsInstanceResponse {
    /// `dts…`.
    pub instance_id: String,
    pub job_id: Option<String>,
    pub request_id: Option<String>,
}

/// ConfigureDtsJob: configure (and by default start) a task.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigureDtsJobRequest {
    pub job_name: String,
    pub job_type: DtsJobType,
    /// The purchased instance (purchase-first flow); `None` in the configure-first flow.
    pub dts_instance_id: Option<String>,
    /// An existing task to reconfigure.
    pub dts_job_id: Option<String>,
    /// Schema migration.
    pub structure_initialization: bool,
    /// Full data migration.
    pub data_initialization: bool,
    /// Incremental migration.
    pub data_synchronization: bool,
    pub source: DtsEndpoint,
    pub destination: DtsEndpoint,
    /// The objects (sent as `DbList` in the form body).
    pub db_list: DbList,
    /// Extra settings (sent as `Reserve` in the form body).
    pub reserve: Option<Reserve>,
    /// Incremental start, unix seconds.
    pub checkpoint: Option<i64>,
    /// Data verification settings (`DataCheckConfigure`, JSON).
    pub data_check_configure: Option<Value>,
    pub resource_group_id: Option<String>,
    pub dedicated_cluster_id: Option<String>,
}

impl Default for ConfigureDtsJobRequest {
    fn default() -> Self {
        Self {
            job_name: String::new(),
            job_type: DtsJobType::Migration,
            dts_instance_id: None,
            dts_job_id: None,
            structure_initialization: true,
            data_initialization: true,
            data_synchronization: false,
            source: DtsEndpoint::default(),
            destination: DtsEndpoint::default(),
            db_list: DbList::default(),
            reserve: None,
            checkpoint: None,
            data_check_configure: None,
            resource_group_id: None,
            dedicated_cluster_id: None,
        }
    }
}

/// What ConfigureDtsJob answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigureDtsJobResponse {
    pub dts_job_id: String,
    pub dts_instance_id: Option<String>,
    pub request_id: Option<String>,
}

/// Which task an operation addresses: `DtsJobId`, `DtsInstanceId`, or both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DtsJobRef {
    pub dts_job_id: Option<String>,
    pub dts_instance_id: Option<String>,
    /// Two-way sync only: `Forward` or `Reverse`.
    pub synchronization_direction: Option<String>,
}

impl DtsJobRef {
    /// By task id.
    pub fn job(id: impl Into<String>) -> Self {
        Self {
            dts_job_id: Some(id.into()),
            ..Self::default()
        }
    }

    /// By instance id.
    pub fn instance(id: impl Into<String>) -> Self {
        Self {
            dts_instance_id: Some(id.into()),
            ..Self::default()
        }
    }

    fn params(&self, instance_key: &str) -> RpcParams {
        let mut p = RpcParams::default();
        p.opt("DtsJobId", &self.dts_job_id)
            .opt(instance_key, &self.dts_instance_id)
            .opt("SynchronizationDirection", &self.synchronization_direction);
        p
    }
}

/// DescribeDtsJobs filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DescribeDtsJobsRequest {
    /// `MIGRATION` when `None` (the service default); also decides the `Delay` unit.
    pub job_type: Option<DtsJobType>,
    /// One id or a comma-separated list.
    pub dts_job_id: Option<String>,
    pub dts_instance_id: Option<String>,
    /// Status filter (same values as the task state).
    pub status: Option<String>,
    /// Query-by kind (`Type`): `instance`, `name` (fuzzy), `srcRds`, `rds`.
    pub query_type: Option<String>,
    /// The value for `query_type` (`Params`).
    pub query_value: Option<String>,
    pub page_number: Option<u32>,
    /// 10, 20 or 30.
    pub page_size: Option<u32>,
    /// `CreateTime`, `FinishTime`, `duLimit`.
    pub order_column: Option<String>,
    /// `ASC` or `DESC`.
    pub order_direction: Option<String>,
    /// Omit `DbObject` from the items.
    pub without_db_list: Option<bool>,
}

/// DescribePreCheckStatus stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobCode {
    /// `01`.
    Precheck,
    /// `02`.
    Schema,
    /// `03`.
    FullData,
    /// `04`.
    Incremental,
}

impl JobCode {
    pub fn as_str(&self) -> &'static str {
        match self {
            JobCode::Precheck => "01",
            JobCode::Schema => "02",
            JobCode::FullData => "03",
            JobCode::Incremental => "04",
        }
    }
}

/// DescribePreCheckStatus parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribePreCheckStatusRequest {
    pub dts_job_id: String,
    pub job_code: JobCode,
    /// `before` (schema phase, the default) or `after` (DDL during incremental).
    pub struct_type: String,
    /// Fuzzy table filter.
    pub name: Option<String>,
    pub page_no: Option<u32>,
    pub page_size: Option<u32>,
}

impl DescribePreCheckStatusRequest {
    /// The precheck items of a task.
    pub fn precheck(dts_job_id: impl Into<String>) -> Self {
        Self {
            dts_job_id: dts_job_id.into(),
            job_code: JobCode::Precheck,
            struct_type: "before".into(),
            name: None,
            page_no: None,
            page_size: None,
        }
    }
}

impl DescribePreCheckStatusRequest {
    /// The DDL statements the incremental stage met (`StructType=after`; paired with the schema
    /// stage's code, which the docs do not state outright).
    pub fn schema_changes(dts_job_id: impl Into<String>) -> Self {
        Self {
            dts_job_id: dts_job_id.into(),
            job_code: JobCode::Schema,
            struct_type: "after".into(),
            name: None,
            page_no: None,
            page_size: Some(100),
        }
    }
}

/// Kind of monitoring rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MonitorRuleType {
    /// Lag above `delay_rule_time` seconds.
    Delay,
    /// Task errors.
    Error,
    /// Full migration slower than `delay_rule_time` hours.
    FullTimeout,
}

impl MonitorRuleType {
    pub fn as_str(&self) -> &'static str {
        match self {
            MonitorRuleType::Delay => "delay",
            MonitorRuleType::Error => "error",
            MonitorRuleType::FullTimeout => "full_timeout",
        }
    }
}

/// CreateJobMonitorRule (an upsert; disable with `enabled: false`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobMonitorRule {
    pub dts_job_id: String,
    pub rule_type: MonitorRuleType,
    /// `State=Y|N`.
    pub enabled: bool,
    /// Seconds for `Delay`, hours for `FullTimeout`.
    pub delay_rule_time: Option<u64>,
    /// Comma-separated phone numbers (China mainland SMS only).
    pub phone: Option<String>,
}

impl DtsClient {
    /// CreateDtsInstance: buys an instance. Never retried after an ambiguous failure.
    pub async fn create_dts_instance(
        &self,
        req: &CreateDtsInstanceRequest,
    ) -> Result<CreateDtsInstanceResponse, Error> {
        let mut p = RpcParams::default();
        p.put("PayType", &req.pay_type)
            .opt("Type", &req.job_type)
            .opt("SourceRegion", &req.source_region)
            .opt("DestinationRegion", &req.destination_region)
            .opt("SourceEndpointEngineName", &req.source_engine)
            .opt("DestinationEndpointEngineName", &req.destination_engine)
            .opt("InstanceClass", &req.instance_class)
            .opt("JobId", &req.job_id)
            .opt("AutoStart", &req.auto_start)
            .opt("AutoPay", &req.auto_pay)
            .opt("Period", &req.period)
            .opt("UsedTime", &req.used_time)
            .opt("SyncArchitecture", &req.sync_architecture)
            .opt("DatabaseCount", &req.database_count)
            .opt("ResourceGroupId", &req.resource_group_id)
            .opt("ClientToken", &req.client_token)
            .put("Quantity", 1);
        // With a token an ambiguous failure may be retried: the service deduplicates.
        let idempotency = if req.client_token.is_some() {
            Idempotency::ClientToken
        } else {
            Idempotency::NotIdempotent
        };
        let resp = self.call("CreateDtsInstance", p, idempotency).await?;
        let f = Fields(&resp.body);
        Ok(CreateDtsInstanceResponse {
            instance_id: f
                .string(&["InstanceId", "DtsInstanceId"])
                .ok_or_else(|| Error::decode("CreateDtsInstance answered without InstanceId"))?,
            job_id: f.string(&["JobId", "DtsJobId"]),
            request_id: resp.request_id,
        })
    }

    /// ConfigureDtsJob. Retried after ambiguous failures only when it addresses an existing
    /// instance or task (reconfiguring converges); a configure-first call creates a task and is
    /// not retried.
    pub async fn configure_dts_job(
        &self,
        req: &ConfigureDtsJobRequest,
    ) -> Result<ConfigureDtsJobResponse, Error> {
        let mut p = RpcParams::default();
        p.put("DtsJobName", &req.job_name)
            .put("JobType", &req.job_type)
            .opt("DtsInstanceId", &req.dts_instance_id)
            .opt("DtsJobId", &req.dts_job_id)
            .put("StructureInitialization", req.structure_initialization)
            .put("DataInitialization", req.data_initialization)
            .put("DataSynchronization", req.data_synchronization)
            .opt("Checkpoint", &req.checkpoint)
            .opt("ResourceGroupId", &req.resource_group_id)
            .opt("DedicatedClusterId", &req.dedicated_cluster_id)
            .opt(
                "DataCheckConfigure",
                &req.data_check_configure.as_ref().map(Value::to_string),
            )
            .extend(req.source.new_api_params(false))
            .extend(req.destination.new_api_params(true))
            .form("DbList", req.db_list.to_json());
        if let Some(reserve) = req.reserve.as_ref().filter(|r| !r.is_empty()) {
            p.form("Reserve", reserve.to_json());
        }
        let idempotency = if req.dts_instance_id.is_some() || req.dts_job_id.is_some() {
            Idempotency::Idempotent
        } else {
            Idempotency::NotIdempotent
        };
        let resp = self.call("ConfigureDtsJob", p, idempotency).await?;
        let f = Fields(&resp.body);
        Ok(ConfigureDtsJobResponse {
            dts_job_id: f
                .string(&["DtsJobId"])
                .ok_or_else(|| Error::decode("ConfigureDtsJob answered without DtsJobId"))?,
            dts_instance_id: f.string(&["DtsInstanceId", "DtsInstanceID"]),
            request_id: resp.request_id,
        })
    }

    async fn job_action(&self, action: &'static str, job: &DtsJobRef) -> Result<Ack, Error> {
        let resp = self
            .call(action, job.params("DtsInstanceId"), Idempotency::Idempotent)
            .await?;
        Ok(Ack::from(&resp))
    }

    /// StartDtsJob: starts a configured task or resumes a paused one.
    pub async fn start_dts_job(&self, job: &DtsJobRef) -> Result<Ack, Error> {
        self.job_action("StartDtsJob", job).await
    }

    /// SkipPreCheck: waives precheck items by their code (DescribePreCheckStatus `Item`, e.g.
    /// `CHECK_DEST_TABLE_EMPTY`; only items with `CanSkip`) and full name (`…_DETAIL`), both as
    /// JSON arrays, as the official SDK documents them. The precheck must then run again
    /// (StartDtsJob) for the task to go on.
    pub async fn skip_pre_check(&self, dts_job_id: &str, items: &[String]) -> Result<Ack, Error> {
        let json = |names: Vec<String>| serde_json::to_string(&names).expect("strings serialize");
        // The full names correspond one to one: the code plus `_DETAIL`.
        let full: Vec<String> = items.iter().map(|i| format!("{i}_DETAIL")).collect();
        let mut p = RpcParams::default();
        p.put("DtsJobId", dts_job_id)
            .put("Skip", "true")
            .put("SkipPreCheckItems", json(items.to_vec()))
            .put("SkipPreCheckNames", json(full));
        let resp = self
            .call("SkipPreCheck", p, Idempotency::Idempotent)
            .await?;
        Ok(Ack::from(&resp))
    }

    /// SuspendDtsJob: pauses (state `Suspending`). Incremental tasks must not stay paused
    /// for more than 6 hours, and a paused pay-as-you-go task is still billed.
    pub async fn suspend_dts_job(&self, job: &DtsJobRef) -> Result<Ack, Error> {
        self.job_action("SuspendDtsJob", job).await
    }

    /// StopDtsJob: ends the task (`Finished`); it cannot be started again.
    pub async fn stop_dts_job(&self, job: &DtsJobRef) -> Result<Ack, Error> {
        self.job_action("StopDtsJob", job).await
    }

    /// DeleteDtsJob: releases the instance (stops billing). A task already gone answers
    /// `Forbidden.InstanceNotFound`/`InvalidJobId` (`Error::is_not_found`).
    pub async fn delete_dts_job(&self, job: &DtsJobRef) -> Result<Ack, Error> {
        self.job_action("DeleteDtsJob", job).await
    }

    /// DescribeDtsJobDetail (request key `DtsInstanceID`, capital ID). `Delay` is read as
    /// milliseconds.
    pub async fn describe_dts_job_detail(&self, job: &DtsJobRef) -> Result<DtsJobStatus, Error> {
        let resp = self
            .call(
                "DescribeDtsJobDetail",
                job.params("DtsInstanceID"),
                Idempotency::Idempotent,
            )
            .await?;
        Ok(DtsJobStatus::from_current(
            &resp.body,
            LagUnit::Milliseconds,
            "DescribeDtsJobDetail.Delay",
        ))
    }

    /// DescribeDtsJobs: a page of tasks with per-stage status and precheck items. `Delay` is
    /// milliseconds for migration tasks and seconds for sync tasks.
    pub async fn describe_dts_jobs(
        &self,
        req: &DescribeDtsJobsRequest,
    ) -> Result<Page<DtsJobStatus>, Error> {
        let mut p = RpcParams::default();
        p.opt("JobType", &req.job_type)
            .opt("DtsJobId", &req.dts_job_id)
            .opt("DtsInstanceId", &req.dts_instance_id)
            .opt("Status", &req.status)
            .opt("Type", &req.query_type)
            .opt("Params", &req.query_value)
            .opt("PageNumber", &req.page_number)
            .opt("PageSize", &req.page_size)
            .opt("OrderColumn", &req.order_column)
            .opt("OrderDirection", &req.order_direction)
            .opt("WithoutDbList", &req.without_db_list)
            .put("Region", &self.region);
        let resp = self
            .call("DescribeDtsJobs", p, Idempotency::Idempotent)
            .await?;
        let (unit, source) = match req.job_type {
            Some(DtsJobType::Sync) => (LagUnit::Seconds, "DescribeDtsJobs.Delay (SYNC)"),
            _ => (LagUnit::Milliseconds, "DescribeDtsJobs.Delay (MIGRATION)"),
        };
        let f = Fields(&resp.body);
        let items: Vec<DtsJobStatus> = f
            .list(&["DtsJobList"])
            .iter()
            .map(|item| DtsJobStatus::from_current(item, unit, source))
            .collect();
        Ok(Page {
            total: f
                .int(&["TotalRecordCount"])
                .map(|t| t.max(0) as u64)
                .unwrap_or(items.len() as u64),
            page_num: f
                .int(&["PageNumber"])
                .map(|n| n as u32)
                .or(req.page_number)
                .unwrap_or(1),
            page_size: req
                .page_size
                .or_else(|| f.int(&["PageRecordCount"]).map(|n| n as u32))
                .unwrap_or(items.len() as u32),
            items,
        })
    }

    /// DescribePreCheckStatus: the items of one stage (page parameters are strings on the
    /// wire).
    pub async fn describe_pre_check_status(
        &self,
        req: &DescribePreCheckStatusRequest,
    ) -> Result<PrecheckReport, Error> {
        let mut p = RpcParams::default();
        p.put("DtsJobId", &req.dts_job_id)
            .put("JobCode", req.job_code.as_str())
            .put("StructType", &req.struct_type)
            .opt("Name", &req.name)
            .opt("PageNo", &req.page_no)
            .opt("PageSize", &req.page_size);
        let resp = self
            .call("DescribePreCheckStatus", p, Idempotency::Idempotent)
            .await?;
        Ok(PrecheckReport::from_value(&resp.body))
    }

    /// DescribeJobMonitorRule: the task's alert rules (`delay`, `error`, ...), enabled or not.
    pub async fn describe_job_monitor_rule(
        &self,
        dts_job_id: &str,
    ) -> Result<Vec<JobMonitorRule>, Error> {
        let mut p = RpcParams::default();
        p.put("DtsJobId", dts_job_id);
        let resp = self
            .call("DescribeJobMonitorRule", p, Idempotency::Idempotent)
            .await?;
        Ok(crate::aliyun::lenient::Fields(&resp.body)
            .list(&["MonitorRules"])
            .iter()
            .filter_map(|rule| {
                let f = crate::aliyun::lenient::Fields(rule);
                let rule_type = match f.string(&["Type"])?.to_ascii_lowercase().as_str() {
                    "delay" => MonitorRuleType::Delay,
                    "error" => MonitorRuleType::Error,
                    "full_timeout" => MonitorRuleType::FullTimeout,
                    _ => return None,
                };
                Some(JobMonitorRule {
                    dts_job_id: dts_job_id.to_string(),
                    rule_type,
                    enabled: f
                        .string(&["State"])
                        .is_some_and(|s| s.eq_ignore_ascii_case("Y")),
                    delay_rule_time: f
                        .int(&["DelayRuleTime"])
                        .and_then(|n| u64::try_from(n).ok()),
                    phone: f.string(&["Phone"]).filter(|p| !p.is_empty()),
                })
            })
            .collect())
    }

    /// CreateJobMonitorRule: creates or updates a rule.
    pub async fn create_job_monitor_rule(&self, rule: &JobMonitorRule) -> Result<Ack, Error> {
        let mut p = RpcParams::default();
        p.put("DtsJobId", &rule.dts_job_id)
            .put("Type", rule.rule_type.as_str())
            .put("State", if rule.enabled { "Y" } else { "N" })
            .opt("DelayRuleTime", &rule.delay_rule_time)
            .opt("Phone", &rule.phone);
        let resp = self
            .call("CreateJobMonitorRule", p, Idempotency::Idempotent)
            .await?;
        Ok(Ack::from(&resp))
    }
}
