//! Every operation of the current DTS API: RPC wire format, signature, parsing with drift.

use aliyun_migration_operator::aliyun::dts::*;
use aliyun_migration_operator::aliyun::{DtsClient, REDACTED, SecretString};
use serde_json::{Value, json};

use crate::fake::{Fake, Recorded, Reply, assert_form, assert_query, assert_v3_headers, creds};

const VERSION: &str = "2020-01-01";

async fn setup() -> (Fake, DtsClient) {
    let fake = Fake::start().await;
    let dts = fake.cloud().dts("cn-hangzhou", creds());
    (fake, dts)
}

/// RPC: `POST /`, business parameters only (no `Action`/`Version` under V3).
fn assert_rpc(fake: &Fake, rec: &Recorded, action: &str) {
    assert_eq!(rec.method, "POST", "{action}");
    assert_eq!(rec.path, "/", "{action}");
    assert!(rec.query_value("Action").is_none() && rec.query_value("Version").is_none());
    assert_eq!(rec.query_value("RegionId"), Some("cn-hangzhou"), "{action}");
    assert_v3_headers(fake, rec, action, VERSION);
}

fn assert_no_body(rec: &Recorded) {
    assert!(rec.body.is_empty(), "{} has a body", rec.action);
    assert_eq!(rec.header("content-type"), None);
}

#[tokio::test]
async fn create_dts_instance() {
    let (fake, dts) = setup().await;
    fake.push(
        "CreateDtsInstance",
        Reply::json(json!({"RequestId": "R-1", "InstanceId": "dtsza0i4l8x167",
                           "Success": "true", "JobId": "za0i4l8x167"})),
    );
    let bought = dts
        .create_dts_instance(&CreateDtsInstanceRequest {
            source_region: Some("cn-hangzhou".into()),
            destination_region: Some("cn-hangzhou".into()),
            source_engine: Some("PolarDB".into()),
            destination_engine: Some("odps".into()),
            instance_class: Some("small".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(bought.instance_id, "dtsza0i4l8x167");
    assert_eq!(bought.job_id.as_deref(), Some("za0i4l8x167"));
    assert_eq!(bought.request_id.as_deref(), Some("R-1"));
    let rec = fake.one("CreateDtsInstance");
    assert_rpc(&fake, &rec, "CreateDtsInstance");
    assert_no_body(&rec);
    assert_query(
        &rec,
        &[
            ("PayType", "PostPaid"),
            ("Type", "MIGRATION"),
            ("SourceRegion", "cn-hangzhou"),
            ("DestinationRegion", "cn-hangzhou"),
            ("SourceEndpointEngineName", "PolarDB"),
            ("DestinationEndpointEngineName", "odps"),
            ("InstanceClass", "small"),
            ("Quantity", "1"),
            ("RegionId", "cn-hangzhou"),
        ],
    );
}

fn polardb_to_maxcompute() -> ConfigureDtsJobRequest {
    ConfigureDtsJobRequest {
        job_name: "polardb to mc".into(),
        dts_instance_id: Some("dtsza0i4l8x167".into()),
        structure_initialization: true,
        data_initialization: true,
        data_synchronization: true,
        source: DtsEndpoint::instance("PolarDB", "PolarDB", "cn-hangzhou", "pc-bp1abc")
            .with_account("dts_reader", SecretString::new("src-db-pass")),
        destination: DtsEndpoint::maxcompute(
            "cn-hangzhou",
            "mc_project",
            "LTAI5tDestinationKey",
            SecretString::new("destination-ak-secret"),
        ),
        db_list: DbList::new().tables(
            "shop",
            "mc_project",
            [
                DbListTable::same_name("orders"),
                DbListTable::renamed("customer", "customers"),
            ],
        ),
        reserve: Some(Reserve::new().target_table_mode(TargetTableMode::IgnoreExisting)),
        ..Default::default()
    }
}

#[tokio::test]
async fn configure_dts_job_with_a_maxcompute_destination() {
    let (fake, dts) = setup().await;
    fake.push(
        "ConfigureDtsJob",
        Reply::json(
            json!({"RequestId": "R-2", "DtsJobId": "za0i4l8x167", "DtsInstanceId": "dtsza0i4l8x167",
                           "Success": "true", "HttpStatusCode": "200"}),
        ),
    );
    let configured = dts
        .configure_dts_job(&polardb_to_maxcompute())
        .await
        .unwrap();
    assert_eq!(configured.dts_job_id, "za0i4l8x167");
    assert_eq!(
        configured.dts_instance_id.as_deref(),
        Some("dtsza0i4l8x167")
    );
    let rec = fake.one("ConfigureDtsJob");
    assert_rpc(&fake, &rec, "ConfigureDtsJob");
    assert_eq!(
        rec.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_query(
        &rec,
        &[
            ("DtsJobName", "polardb to mc"),
            ("JobType", "MIGRATION"),
            ("DtsInstanceId", "dtsza0i4l8x167"),
            ("StructureInitialization", "true"),
            ("DataInitialization", "true"),
            ("DataSynchronization", "true"),
            ("SourceEndpointInstanceType", "PolarDB"),
            ("SourceEndpointEngineName", "PolarDB"),
            ("SourceEndpointInstanceID", "pc-bp1abc"),
            ("SourceEndpointRegion", "cn-hangzhou"),
            ("DestinationEndpointInstanceType", "ODPS"),
            ("DestinationEndpointEngineName", "ODPS"),
            ("DestinationEndpointRegion", "cn-hangzhou"),
            ("DestinationEndpointDataBaseName", "mc_project"),
            ("RegionId", "cn-hangzhou"),
        ],
    );
    let db_list: Value = serde_json::from_str(&rec.form_value("DbList").unwrap()).unwrap();
    assert_eq!(
        db_list,
        json!({"shop": {"name": "mc_project", "all": false, "Table": {
            "orders": {"name": "orders", "all": true},
            "customer": {"name": "customers", "all": true}}}})
    );
    assert_form(
        &rec,
        &[
            ("DbList", &rec.form_value("DbList").unwrap()),
            ("Reserve", r#"{"targetTableMode":"2"}"#),
            ("SourceEndpointUserName", "dts_reader"),
            ("SourceEndpointPassword", "src-db-pass"),
            ("DestinationEndpointUserName", "LTAI5tDestinationKey"),
            ("DestinationEndpointPassword", "destination-ak-secret"),
        ],
    );
    // Credentials never travel in the URL.
    for secret in [
        "src-db-pass",
        "destination-ak-secret",
        "LTAI5tDestinationKey",
    ] {
        assert!(!rec.raw_query.contains(secret), "{secret} in the query");
    }
}

#[tokio::test]
async fn start_suspend_stop_delete_dts_job() {
    let (fake, dts) = setup().await;
    let ok = Reply::json(json!({"RequestId": "R-3", "Success": true, "HttpStatusCode": 200}));
    for action in ["StartDtsJob", "SuspendDtsJob", "StopDtsJob", "DeleteDtsJob"] {
        fake.push(action, ok.clone());
    }
    let job = DtsJobRef::job("za0i4l8x167");
    dts.start_dts_job(&job).await.unwrap();
    dts.suspend_dts_job(&job).await.unwrap();
    dts.stop_dts_job(&job).await.unwrap();
    let ack = dts
        .delete_dts_job(&DtsJobRef::instance("dtsza0i4l8x167"))
        .await
        .unwrap();
    assert_eq!(ack.request_id.as_deref(), Some("R-3"));
    for action in ["StartDtsJob", "SuspendDtsJob", "StopDtsJob"] {
        let rec = fake.one(action);
        assert_rpc(&fake, &rec, action);
        assert_no_body(&rec);
        assert_query(
            &rec,
            &[("DtsJobId", "za0i4l8x167"), ("RegionId", "cn-hangzhou")],
        );
    }
    let rec = fake.one("DeleteDtsJob");
    assert_rpc(&fake, &rec, "DeleteDtsJob");
    assert_query(
        &rec,
        &[
            ("DtsInstanceId", "dtsza0i4l8x167"),
            ("RegionId", "cn-hangzhou"),
        ],
    );
}

#[tokio::test]
async fn describe_dts_job_detail_normalises_lag_and_masks() {
    let (fake, dts) = setup().await;
    fake.push(
        "DescribeDtsJobDetail",
        Reply::json(json!({
            "RequestId": "R-4", "Success": true, "HttpStatusCode": 200, "Code": 200,
            "DtsJobId": "za0i4l8x167", "DtsInstanceID": "dtsza0i4l8x167", "DtsJobName": "polardb to mc",
            "Status": "Migrating", "Delay": 3400, "Checkpoint": 1612507847, "ErrorMessage": "",
            "PayType": "PostPaid", "DtsJobClass": "small", "CreateTime": "2026-01-01T10:00:00Z",
            "MigrationMode": {"StructureInitialization": true, "DataInitialization": "true",
                              "DataSynchronization": true},
            "DataSynchronizationStatus": {"Status": "Catched", "Percent": "95", "Progress": "200001",
                                          "ErrorMessage": "", "NeedUpgrade": false},
            "RetryState": {"Retrying": "false", "RetryCount": 0, "RetryTime": 0, "MaxRetryTime": 43200},
            "SourceEndpoint": {"InstanceType": "PolarDB", "InstanceID": "pc-bp1abc", "EngineName": "MySQL",
                               "Region": "cn-hangzhou", "Ip": "", "Port": "3306", "UserName": "dts_reader",
                               "CanModifyPassword": true},
            "DestinationEndpoint": {"InstanceType": "ODPS", "EngineName": "ODPS",
                                    "DatabaseName": "mc_project", "UserName": "LTAI5tDestinationKey"},
            "DbObject": "{\"shop\":{\"name\":\"mc_project\",\"all\":true}}",
            "Reserved": "{\"targetTableMode\":\"2\",\"srcPassword\":\"leaked-pass\"}"
        })),
    );
    let status = dts
        .describe_dts_job_detail(&DtsJobRef::job("za0i4l8x167"))
        .await
        .unwrap();
    let rec = fake.one("DescribeDtsJobDetail");
    assert_rpc(&fake, &rec, "DescribeDtsJobDetail");
    assert_no_body(&rec);
    assert_query(
        &rec,
        &[("DtsJobId", "za0i4l8x167"), ("RegionId", "cn-hangzhou")],
    );

    assert_eq!(status.generation, DtsApiGeneration::Current);
    assert_eq!(status.dts_instance_id.as_deref(), Some("dtsza0i4l8x167"));
    assert_eq!(status.state, Some(DtsJobState::Migrating));
    assert!(status.state.as_ref().unwrap().is_running());
    let lag = status.lag.unwrap();
    assert_eq!((lag.value, lag.unit), (3400.0, LagUnit::Milliseconds));
    assert_eq!(status.lag_seconds(), Some(3.4));
    assert_eq!(status.checkpoint, Some(1612507847));
    assert_eq!(status.checkpoint_lag_seconds(1612507857), Some(10.0));
    assert_eq!(status.error_message, None);
    assert_eq!(status.migration_mode.data_initialization, Some(true));
    let sync = status.data_synchronization.as_ref().unwrap();
    assert_eq!(sync.state, Some(StageState::CaughtUp));
    assert_eq!((sync.percent, sync.progress), (Some(95.0), Some(200001)));
    assert_eq!(
        status.retry.as_ref().unwrap().max_retry_time_secs,
        Some(43200)
    );
    assert!(!status.retry.as_ref().unwrap().retrying);
    let src = status.source.as_ref().unwrap();
    assert_eq!(
        (src.instance_id.as_deref(), src.port.as_deref()),
        (Some("pc-bp1abc"), Some("3306"))
    );
    let dst = status.destination.as_ref().unwrap();
    assert_eq!(dst.database_name.as_deref(), Some("mc_project"));
    assert_eq!(dst.user_name.as_deref(), Some(REDACTED));
    assert_eq!(status.objects.as_ref().unwrap()["shop"]["all"], true);
    assert_eq!(status.reserved.as_ref().unwrap()["srcPassword"], REDACTED);
    let shown = format!("{status:?}");
    assert!(!shown.contains("LTAI5tDestinationKey") && !shown.contains("leaked-pass"));

    // By instance: the request key is `DtsInstanceID` (capital ID).
    fake.push(
        "DescribeDtsJobDetail",
        Reply::json(json!({"Success": true, "Status": "NotConfigured"})),
    );
    let s = dts
        .describe_dts_job_detail(&DtsJobRef::instance("dtsza0i4l8x167"))
        .await
        .unwrap();
    assert_eq!(s.state, Some(DtsJobState::NotConfigured));
    assert_eq!(s.lag, None);
    assert_query(
        &fake.requests_for("DescribeDtsJobDetail")[1],
        &[
            ("DtsInstanceID", "dtsza0i4l8x167"),
            ("RegionId", "cn-hangzhou"),
        ],
    );
}

#[tokio::test]
async fn describe_dts_job_detail_200_with_success_false_is_an_error() {
    let (fake, dts) = setup().await;
    fake.push(
        "DescribeDtsJobDetail",
        Reply::json(json!({"RequestId": "R-5", "Success": false, "HttpStatusCode": 403,
            "ErrCode": "Forbidden.InstanceNotFound", "ErrMessage": "Specified instance %s does not exist.",
            "DynamicMessage": "dtsgone", "DynamicCode": "403"})),
    );
    let err = dts
        .describe_dts_job_detail(&DtsJobRef::instance("dtsgone"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("Forbidden.InstanceNotFound"));
    assert_eq!(err.message(), "Specified instance dtsgone does not exist.");
    assert_eq!(
        (err.http_status(), err.request_id()),
        (Some(200), Some("R-5"))
    );
    assert!(err.is_not_found() && !err.is_retryable());
    assert_eq!(fake.requests_for("DescribeDtsJobDetail").len(), 1);

    fake.push(
        "StartDtsJob",
        Reply::json(
            json!({"RequestId": "R-6", "Success": "false", "ErrCode": "InvalidJobStatus",
                           "ErrMessage": "The job status is invalid."}),
        ),
    );
    let err = dts.start_dts_job(&DtsJobRef::job("j")).await.unwrap_err();
    assert!(err.is_invalid_state(), "{err:?}");
}

#[tokio::test]
async fn describe_dts_jobs_reads_stages_prechecks_and_lag_units() {
    let (fake, dts) = setup().await;
    fake.push(
        "DescribeDtsJobs",
        Reply::json(json!({
            "RequestId": "R-7", "Success": true, "HttpStatusCode": 200,
            "TotalRecordCount": "1", "PageNumber": 1, "PageRecordCount": 1,
            "DtsJobList": [{
                "DtsJobId": "za0i4l8x167", "DtsInstanceID": "dtsza0i4l8x167", "DtsJobName": "polardb to mc",
                "Status": "PrecheckFailed", "Delay": 1500, "Checkpoint": "1610540493",
                "EtlSafeCheckpoint": "1610540490", "ErrorMessage": "precheck failed",
                "MigrationMode": {"StructureInitialization": true, "DataInitialization": true,
                                  "DataSynchronization": false},
                "PrecheckStatus": {"Status": "Failed", "Percent": "100", "ErrorMessage": "",
                    "Detail": [
                        {"CheckItem": "CHECK_SRC", "CheckItemDescription": "source connectivity",
                         "CheckResult": "Success"},
                        {"CheckItem": "CHECK_DEST_TABLE_EMPTY", "CheckItemDescription": "dest tables",
                         "CheckResult": "Failed", "FailedReason": "table orders exists",
                         "RepairMethod": "drop it or set targetTableMode"}]},
                "StructureInitializationStatus": {"Status": "NotStarted", "Percent": "0", "Progress": "0"},
                "DataInitializationStatus": {"Status": "NotStarted", "Percent": 0, "Progress": 0},
                "FullDataCheckStatus": {"Status": "NotStarted", "CanSwitch": false},
                "RetryState": {"Retrying": true, "RetryCount": "3", "RetryTime": "120",
                               "MaxRetryTime": "43200", "RetryTarget": "srcDB",
                               "ErrMessage": "connect timeout"}
            }]
        })),
    );
    let page = dts
        .describe_dts_jobs(&DescribeDtsJobsRequest {
            dts_job_id: Some("za0i4l8x167".into()),
            job_type: Some(DtsJobType::Migration),
            page_number: Some(1),
            page_size: Some(20),
            ..Default::default()
        })
        .await
        .unwrap();
    let rec = fake.one("DescribeDtsJobs");
    assert_rpc(&fake, &rec, "DescribeDtsJobs");
    assert_query(
        &rec,
        &[
            ("JobType", "MIGRATION"),
            ("DtsJobId", "za0i4l8x167"),
            ("PageNumber", "1"),
            ("PageSize", "20"),
            ("Region", "cn-hangzhou"),
            ("RegionId", "cn-hangzhou"),
        ],
    );
    assert_eq!(page.total, 1);
    let job = &page.items[0];
    assert_eq!(job.state, Some(DtsJobState::PrecheckFailed));
    assert!(job.state.as_ref().unwrap().is_failed());
    assert_eq!(job.lag_seconds(), Some(1.5));
    assert_eq!(
        (job.checkpoint, job.etl_safe_checkpoint),
        (Some(1610540493), Some(1610540490))
    );
    let failed = job.failed_precheck_items();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].name, "CHECK_DEST_TABLE_EMPTY");
    assert_eq!(failed[0].message.as_deref(), Some("table orders exists"));
    assert_eq!(job.precheck.as_ref().unwrap().items.len(), 2);
    assert_eq!(
        job.structure_initialization.as_ref().unwrap().state,
        Some(StageState::NotStarted)
    );
    let retry = job.retry.as_ref().unwrap();
    assert!(retry.retrying);
    assert_eq!(
        (retry.retry_count, retry.target.as_deref()),
        (Some(3), Some("srcDB"))
    );
    assert_eq!(job.any_error_message(), Some("precheck failed"));

    // SYNC lists report Delay in seconds.
    fake.push(
        "DescribeDtsJobs",
        Reply::json(json!({"Success": true, "TotalRecordCount": 1,
            "DtsJobList": [{"DtsJobId": "s1", "Status": "synchronizing", "Delay": 2}]})),
    );
    let sync = dts
        .describe_dts_jobs(&DescribeDtsJobsRequest {
            job_type: Some(DtsJobType::Sync),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(sync.items[0].lag_seconds(), Some(2.0));
    assert_eq!(sync.items[0].state, Some(DtsJobState::Synchronizing));
}

#[tokio::test]
async fn describe_pre_check_status() {
    let (fake, dts) = setup().await;
    fake.push(
        "DescribePreCheckStatus",
        Reply::json(json!({
            "RequestId": "R-8", "Success": true, "HttpStatusCode": 200,
            "State": "Failed", "Code": "200", "Total": "7", "ErrorItem": 1,
            "PageNumber": 1, "TotalRecordCount": 7,
            "JobProgress": [
                {"Item": "CHECK_SRC", "Names": "source connectivity", "State": "Success", "CanSkip": false},
                {"Item": "CHECK_DEST_TABLE_EMPTY", "State": "Failed", "ErrMsg": "table exists",
                 "ErrDetail": "orders", "RepairMethod": "drop it", "CanSkip": "true", "Skip": "false"}
            ]
        })),
    );
    let report = dts
        .describe_pre_check_status(&DescribePreCheckStatusRequest {
            page_no: Some(1),
            page_size: Some(20),
            ..DescribePreCheckStatusRequest::precheck("za0i4l8x167")
        })
        .await
        .unwrap();
    let rec = fake.one("DescribePreCheckStatus");
    assert_rpc(&fake, &rec, "DescribePreCheckStatus");
    assert_query(
        &rec,
        &[
            ("DtsJobId", "za0i4l8x167"),
            ("JobCode", "01"),
            ("StructType", "before"),
            ("PageNo", "1"),
            ("PageSize", "20"),
            ("RegionId", "cn-hangzhou"),
        ],
    );
    assert_eq!(report.state, Some(StageState::Failed));
    assert_eq!((report.total, report.error_items), (Some(7), Some(1)));
    let failed = report.failed_items();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].message.as_deref(), Some("table exists: orders"));
    assert_eq!(
        (failed[0].can_skip, failed[0].skipped),
        (Some(true), Some(false))
    );
}

#[tokio::test]
async fn create_job_monitor_rule() {
    let (fake, dts) = setup().await;
    fake.push(
        "CreateJobMonitorRule",
        Reply::json(json!({"RequestId": "R-9", "Success": true, "DtsJobId": "za0i4l8x167"})),
    );
    dts.create_job_monitor_rule(&JobMonitorRule {
        dts_job_id: "za0i4l8x167".into(),
        rule_type: MonitorRuleType::Delay,
        enabled: true,
        delay_rule_time: Some(30),
        phone: None,
    })
    .await
    .unwrap();
    let rec = fake.one("CreateJobMonitorRule");
    assert_rpc(&fake, &rec, "CreateJobMonitorRule");
    assert_query(
        &rec,
        &[
            ("DtsJobId", "za0i4l8x167"),
            ("Type", "delay"),
            ("State", "Y"),
            ("DelayRuleTime", "30"),
            ("RegionId", "cn-hangzhou"),
        ],
    );
}
