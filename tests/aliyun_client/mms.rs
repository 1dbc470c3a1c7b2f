//! Every MMS operation: method, path, query/body, headers, signature, and parsing.

use std::collections::BTreeMap;

use aliyun_migration_operator::aliyun::mms::*;
use aliyun_migration_operator::aliyun::{MmsClient, REDACTED};
use serde_json::{Value, json};

use crate::fake::{Fake, Recorded, Reply, assert_query, assert_v3_headers, creds};

const VERSION: &str = "2022-01-04";
const SRC: i64 = 2000001;

async fn setup() -> (Fake, MmsClient) {
    let fake = Fake::start().await;
    let mms = fake.cloud().mms("cn-hangzhou", creds());
    (fake, mms)
}

fn ok(data: Value) -> Reply {
    Reply::json(json!({"requestId": "0A1B2C3D-MMS", "data": data}))
}

/// GET, no body, no content-type.
fn assert_get(fake: &Fake, rec: &Recorded, action: &str, path: &str) {
    assert_eq!(rec.method, "GET", "{action}");
    assert_eq!(rec.path, path, "{action}");
    assert!(rec.body.is_empty(), "{action} has a body");
    assert_eq!(rec.header("content-type"), None, "{action}");
    assert_v3_headers(fake, rec, action, VERSION);
}

/// POST without a body (Stop/Start/Retry/Delete).
fn assert_bodiless_post(fake: &Fake, rec: &Recorded, action: &str, path: &str) {
    assert_eq!(rec.method, "POST", "{action}");
    assert_eq!(rec.path, path, "{action}");
    assert!(rec.body.is_empty(), "{action} has a body");
    assert_eq!(rec.header("content-type"), None, "{action}");
    assert_eq!(
        rec.header("x-acs-content-sha256"),
        Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
    assert_query(rec, &[]);
    assert_v3_headers(fake, rec, action, VERSION);
}

/// POST with a compact JSON body.
fn assert_json_post(fake: &Fake, rec: &Recorded, action: &str, path: &str, body: &str) {
    assert_eq!(rec.method, "POST", "{action}");
    assert_eq!(rec.path, path, "{action}");
    assert_eq!(
        std::str::from_utf8(&rec.body).unwrap(),
        body,
        "{action} body"
    );
    assert_eq!(
        rec.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_query(rec, &[]);
    assert_v3_headers(fake, rec, action, VERSION);
}

#[tokio::test]
async fn list_mms_data_sources() {
    let (fake, mms) = setup().await;
    fake.push(
        "ListMmsDataSources",
        ok(json!({"objectList": [
            {"id": 2000001, "name": "hive-prod", "type": "HIVE", "region": "cn-hangzhou",
             "networklink": "vpc-abc:cn-hangzhou", "dstProject": "mms_target", "status": "STARTED",
             "agentIsOnline": "true", "scanId": "1000007", "scanStatus": "DONE",
             "dbNum": "5", "tableNum": 75, "partitionNum": 215, "tablesDoneNum": 10},
            {"id": "2000002", "name": "hive-prod-2", "type": "hive", "status": "START_FAILED",
             "errMsg": "agent offline", "scanStatus": "FAILED", "scanErrMsg": "timeout"}
        ], "pageNum": 1, "pageSize": 20, "total": 2})),
    );
    let page = mms
        .list_data_sources(&ListDataSourcesRequest {
            name: Some("hive prod".into()),
            source_type: Some("HIVE".into()),
            page_num: Some(1),
            page_size: Some(20),
            ..Default::default()
        })
        .await
        .unwrap();
    let rec = fake.one("ListMmsDataSources");
    assert_get(&fake, &rec, "ListMmsDataSources", "/api/v1/mms/datasources");
    assert_query(
        &rec,
        &[
            ("name", "hive prod"),
            ("type", "HIVE"),
            ("pageNum", "1"),
            ("pageSize", "20"),
        ],
    );
    assert!(rec.raw_query.contains("name=hive%20prod"));
    assert_eq!((page.total, page.page_num, page.page_size), (2, 1, 20));
    let a = &page.items[0];
    assert_eq!(
        (a.id, a.name.as_str(), a.source_type.as_str()),
        (2000001, "hive-prod", "HIVE")
    );
    assert_eq!(a.status, Some(DataSourceStatus::Started));
    assert_eq!(a.agent_is_online, Some(true));
    assert_eq!((a.scan_id, a.db_num, a.table_num), (Some(1000007), 5, 75));
    assert_eq!(a.scan_status, Some(AsyncStatus::Done));
    assert_eq!(a.raw["networklink"], "vpc-abc:cn-hangzhou");
    let b = &page.items[1];
    assert_eq!(b.id, 2000002);
    assert_eq!(b.status, Some(DataSourceStatus::StartFailed));
    assert_eq!(b.scan_status, Some(AsyncStatus::Failed));
    assert_eq!(b.err_msg.as_deref(), Some("agent offline"));
}

#[tokio::test]
async fn get_mms_data_source_masks_config_secrets() {
    let (fake, mms) = setup().await;
    fake.push(
        "GetMmsDataSource",
        ok(json!({"id": 2000001, "name": "hive-prod", "type": "HIVE", "status": "STARTED",
            "dstProjects": ["mms_target", "mms_other"],
            "config": [
                {"key": "hive.metastore.url", "name": "Metastore", "type": "string",
                 "value": "thrift://10.0.0.1:9083", "required": true, "group": "basic_group"},
                {"key": "hive.password", "name": "Password", "type": "password", "value": "Pl4intext!"},
                {"key": "mc.access.id", "type": "string", "value": "LTAI5tSourceKeyId"},
                {"key": "mc.access.key", "type": "string", "value": "sourceSecretValue"},
                {"key": "bigquery.credential", "type": "file", "value": "whole-file-content"},
                {"key": "bigquery.service.account", "type": "file", "subType": ".json",
                 "value": "{\"project_id\":\"p1\",\"private_key\":\"-----BEGIN\",\"client_secret\":\"xyz\"}"},
                {"key": "hive.kerberos.keytab.token", "type": "file", "value": "a2V5dGFi"}
            ]})),
    );
    let ds = mms.get_data_source(SRC, true).await.unwrap();
    let rec = fake.one("GetMmsDataSource");
    assert_get(
        &fake,
        &rec,
        "GetMmsDataSource",
        "/api/v1/mms/datasources/2000001",
    );
    assert_query(&rec, &[("withConfig", "true")]);
    assert_eq!(ds.dst_projects, ["mms_target", "mms_other"]);
    let value = |key: &str| {
        ds.config
            .iter()
            .find(|c| c.key == key)
            .and_then(|c| c.value.clone())
            .unwrap()
    };
    assert_eq!(value("hive.metastore.url"), "thrift://10.0.0.1:9083");
    for secret_key in [
        "bigquery.credential",
        "hive.password",
        "mc.access.id",
        "mc.access.key",
        "hive.kerberos.keytab.token",
    ] {
        assert_eq!(value(secret_key), REDACTED, "{secret_key}");
    }
    // A JSON credential file: the secret members inside the text are masked.
    let inner: Value =
        serde_json::from_str(value("bigquery.service.account").as_str().unwrap()).unwrap();
    assert_eq!(inner["client_secret"], REDACTED);
    assert_eq!(inner["private_key"], REDACTED);
    assert_eq!(inner["project_id"], "p1");
    let everything = format!("{ds:?} {}", ds.raw);
    for plaintext in [
        "Pl4intext!",
        "LTAI5tSourceKeyId",
        "sourceSecretValue",
        "xyz",
        "-----BEGIN",
        "a2V5dGFi",
        "whole-file-content",
    ] {
        assert!(!everything.contains(plaintext), "{plaintext} survived");
    }

    fake.push(
        "GetMmsDataSource",
        ok(json!({"id": 2000001, "name": "hive-prod"})),
    );
    mms.get_data_source(SRC, false).await.unwrap();
    assert_query(
        &fake.requests_for("GetMmsDataSource")[1],
        &[("withConfig", "false")],
    );
}

#[tokio::test]
async fn create_mms_fetch_metadata_job() {
    let (fake, mms) = setup().await;
    fake.push(
        "CreateMmsFetchMetadataJob",
        ok(json!({"scanId": "1000042"})),
    );
    fake.push("CreateMmsFetchMetadataJob", ok(json!({"scanId": 1000043})));
    let scan = mms
        .create_fetch_metadata_job(
            SRC,
            &FetchMetadataRequest {
                db_name: Some("sales".into()),
                table_names: vec!["orders".into(), "客户".into()],
            },
        )
        .await
        .unwrap();
    assert_eq!(scan, 1000042);
    let whole = mms
        .create_fetch_metadata_job(SRC, &FetchMetadataRequest::default())
        .await
        .unwrap();
    assert_eq!(whole, 1000043);
    let recs = fake.requests_for("CreateMmsFetchMetadataJob");
    let path = "/api/v1/mms/datasources/2000001/scans";
    assert_json_post(
        &fake,
        &recs[0],
        "CreateMmsFetchMetadataJob",
        path,
        r#"{"dbName":"sales","tableNames":["orders","客户"]}"#,
    );
    assert_json_post(&fake, &recs[1], "CreateMmsFetchMetadataJob", path, "{}");
}

#[tokio::test]
async fn get_mms_fetch_metadata_job() {
    let (fake, mms) = setup().await;
    fake.push(
        "GetMmsFetchMetadataJob",
        ok(
            json!({"id": 1000042, "sourceId": "2000001", "status": "SCAN_DOING", "progress": "4500",
                  "result": "{\"databases\":5,\"tables\":75,\"partitions\":215}",
                  "startTime": "2026-01-01 10:00:00"}),
        ),
    );
    let scan = mms.get_fetch_metadata_job(SRC, 1000042).await.unwrap();
    let rec = fake.one("GetMmsFetchMetadataJob");
    assert_get(
        &fake,
        &rec,
        "GetMmsFetchMetadataJob",
        "/api/v1/mms/datasources/2000001/scans/1000042",
    );
    assert_query(&rec, &[]);
    assert_eq!(scan.status, Some(AsyncStatus::Doing));
    assert!(!scan.status.as_ref().unwrap().is_terminal());
    assert_eq!(scan.progress_percent(), Some(45.0));
    let counts = scan.result_counts().unwrap();
    assert_eq!(
        (counts.databases, counts.tables, counts.partitions),
        (Some(5), Some(75), Some(215))
    );
}

#[tokio::test]
async fn list_mms_dbs_sends_the_sorter_as_json_text() {
    let (fake, mms) = setup().await;
    fake.push(
        "ListMmsDbs",
        ok(json!({"objectList": [{"id": 11, "sourceId": 2000001, "name": "sales", "status": "PART_DONE",
            "dstProjectName": "mms_target", "dstName": null, "tables": "12", "tablesDone": 7,
            "numRows": "123456789", "updated": "False", "extra": "{\"owner_type\":\"USER\"}"}],
            "pageNum": "1", "pageSize": "10", "total": "1"})),
    );
    let page = mms
        .list_dbs(
            SRC,
            &ListDbsRequest {
                name: Some("sales".into()),
                status: Some(MigrationStatus::PartDone),
                page_num: Some(1),
                page_size: Some(10),
                sort_by_num_rows: Some(SortOrder::Desc),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let rec = fake.one("ListMmsDbs");
    assert_get(
        &fake,
        &rec,
        "ListMmsDbs",
        "/api/v1/mms/datasources/2000001/dbs",
    );
    assert_query(
        &rec,
        &[
            ("name", "sales"),
            ("status", "PART_DONE"),
            ("pageNum", "1"),
            ("pageSize", "10"),
            ("sorter", r#"{"numRows":"desc"}"#),
        ],
    );
    let db = &page.items[0];
    assert_eq!(
        (db.id, db.name.as_str(), db.tables, db.tables_done),
        (11, "sales", 12, 7)
    );
    assert_eq!(db.status, Some(MigrationStatus::PartDone));
    assert_eq!(
        (db.num_rows, db.updated, db.dst_name.clone()),
        (Some(123456789), Some(false), None)
    );
    assert_eq!(db.extra.as_ref().unwrap()["owner_type"], "USER");
}

#[tokio::test]
async fn get_mms_db() {
    let (fake, mms) = setup().await;
    fake.push(
        "GetMmsDb",
        ok(json!({"id": 11, "name": "sales", "status": "DONE", "partitions": 40, "partitionsDone": "40"})),
    );
    let db = mms.get_db(SRC, 11).await.unwrap();
    let rec = fake.one("GetMmsDb");
    assert_get(
        &fake,
        &rec,
        "GetMmsDb",
        "/api/v1/mms/datasources/2000001/dbs/11",
    );
    assert_eq!((db.partitions, db.partitions_done), (40, 40));
    assert_eq!(db.status, Some(MigrationStatus::Done));
}

#[tokio::test]
async fn list_mms_tables_sends_status_as_a_json_array_string() {
    let (fake, mms) = setup().await;
    fake.push(
        "ListMmsTables",
        ok(
            json!({"objectList": [{"id": 101, "dbId": 11, "dbName": "sales", "name": "orders",
            "type": "MANAGED_TABLE", "hasPartitions": true, "status": "FAILED", "size": "1024",
            "dstProjectName": "mms_target", "dstSchemaName": null, "dstName": "orders"}],
            "pageNum": 2, "pageSize": 5, "total": 6}),
        ),
    );
    let page = mms
        .list_tables(
            SRC,
            &ListTablesRequest {
                db_name: Some("sales".into()),
                has_partitions: Some(true),
                status: vec![MigrationStatus::Done, MigrationStatus::Failed],
                page_num: Some(2),
                page_size: Some(5),
                sort_by_num_rows: Some(SortOrder::Desc),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let rec = fake.one("ListMmsTables");
    assert_get(
        &fake,
        &rec,
        "ListMmsTables",
        "/api/v1/mms/datasources/2000001/tables",
    );
    assert_query(
        &rec,
        &[
            ("dbName", "sales"),
            ("hasPartitions", "true"),
            ("status", r#"["DONE","FAILED"]"#),
            ("pageNum", "2"),
            ("pageSize", "5"),
            ("sorter.numRows", "desc"),
        ],
    );
    assert!(
        rec.raw_query
            .contains("status=%5B%22DONE%22%2C%22FAILED%22%5D")
    );
    assert_eq!((page.total, page.page_num), (6, 2));
    let t = &page.items[0];
    assert_eq!((t.id, t.db_id, t.name.as_str()), (101, 11, "orders"));
    assert_eq!((t.has_partitions, t.size), (Some(true), Some(1024)));
    assert_eq!(t.status, Some(MigrationStatus::Failed));
}

#[tokio::test]
async fn get_mms_table_with_schema() {
    let (fake, mms) = setup().await;
    fake.push(
        "GetMmsTable",
        ok(json!({"id": 101, "name": "orders", "serde": "org.apache.hadoop.hive.ql.io.orc.OrcSerde",
            "schema": {"name": "orders", "columns": [
                {"name": "id", "type": "BIGINT", "nullable": "false"},
                {"name": "amount", "type": "DECIMAL(10,2)", "comment": "€"}],
             "partitions": [{"name": "dt", "type": "STRING"}]}})),
    );
    let t = mms.get_table(SRC, 101).await.unwrap();
    let rec = fake.one("GetMmsTable");
    assert_get(
        &fake,
        &rec,
        "GetMmsTable",
        "/api/v1/mms/datasources/2000001/tables/101",
    );
    let schema = t.schema.unwrap();
    assert_eq!(schema.columns.len(), 2);
    assert_eq!(schema.columns[0].nullable, Some(false));
    assert_eq!(schema.partitions[0].name, "dt");
    assert!(t.serde_class.unwrap().ends_with("OrcSerde"));
}

#[tokio::test]
async fn list_mms_partitions() {
    let (fake, mms) = setup().await;
    fake.push(
        "ListMmsPartitions",
        ok(
            json!({"objectList": [{"id": 5001, "tableId": 101, "tableName": "orders",
            "value": "dt=2026-01-01/region=eu", "status": "DOING", "numRows": 10, "updated": 1}],
            "pageNum": 1, "pageSize": 50, "total": 1}),
        ),
    );
    let page = mms
        .list_partitions(
            SRC,
            &ListPartitionsRequest {
                table_name: Some("orders".into()),
                value: Some("dt=2026-01-01/region=eu".into()),
                updated: Some(false),
                status: vec![MigrationStatus::Doing],
                page_num: Some(1),
                page_size: Some(50),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let rec = fake.one("ListMmsPartitions");
    assert_get(
        &fake,
        &rec,
        "ListMmsPartitions",
        "/api/v1/mms/datasources/2000001/partitions",
    );
    assert_query(
        &rec,
        &[
            ("tableName", "orders"),
            ("value", "dt=2026-01-01/region=eu"),
            ("updated", "false"),
            ("status", r#"["DOING"]"#),
            ("pageNum", "1"),
            ("pageSize", "50"),
        ],
    );
    assert!(
        rec.raw_query
            .contains("value=dt%3D2026-01-01%2Fregion%3Deu")
    );
    let p = &page.items[0];
    assert_eq!(
        (p.id, p.value.as_str(), p.updated),
        (5001, "dt=2026-01-01/region=eu", Some(true))
    );
    assert_eq!(p.status, Some(MigrationStatus::Doing));
}

#[tokio::test]
async fn create_mms_job() {
    let (fake, mms) = setup().await;
    fake.push("CreateMmsJob", ok(json!({"asyncTaskId": 1000077})));
    let req = CreateMmsJobRequest {
        name: "sales-orders".into(),
        src_db_name: "sales".into(),
        dst_db_name: Some("mms_target".into()),
        tables: vec!["orders".into(), "customers".into()],
        partition_filters: BTreeMap::from([(
            "orders".to_string(),
            "dt >= '2026-01-01'".to_string(),
        )]),
        enable_schema_migration: Some(true),
        enable_data_migration: Some(true),
        enable_verification: Some(true),
        increment: Some(false),
        ..Default::default()
    };
    let async_task = mms.create_job(SRC, &req).await.unwrap();
    assert_eq!(async_task, 1000077);
    let rec = fake.one("CreateMmsJob");
    assert_eq!(rec.json()["tables"], json!(["orders", "customers"]));
    assert_json_post(
        &fake,
        &rec,
        "CreateMmsJob",
        "/api/v1/mms/datasources/2000001/jobs",
        concat!(
            r#"{"name":"sales-orders","srcDbName":"sales","dstDbName":"mms_target","#,
            r#""tables":["orders","customers"],"partitionFilters":{"orders":"dt >= '2026-01-01'"},"#,
            r#""enableSchemaMigration":true,"enableDataMigration":true,"enableVerification":true,"#,
            r#""increment":false}"#
        ),
    );
}

#[tokio::test]
async fn get_mms_async_task() {
    let (fake, mms) = setup().await;
    fake.push(
        "GetMmsAsyncTask",
        ok(
            json!({"id": 1000077, "sourceId": 2000001, "objectId": "42", "type": "TASK_CREATE",
                  "status": "DONE", "running": false, "progress": 100}),
        ),
    );
    fake.push(
        "GetMmsAsyncTask",
        ok(
            json!({"id": 1000078, "type": "TASK_CREATE", "status": "FAILED",
                  "errorMsg": "job name exists"}),
        ),
    );
    let done = mms.get_async_task(SRC, 1000077).await.unwrap();
    let rec = &fake.requests_for("GetMmsAsyncTask")[0];
    assert_get(
        &fake,
        rec,
        "GetMmsAsyncTask",
        "/api/v1/mms/datasources/2000001/asyncTasks/1000077",
    );
    assert_eq!(done.created_job_id(), Some(42));
    let failed = mms.get_async_task(SRC, 1000078).await.unwrap();
    assert_eq!(failed.created_job_id(), None);
    assert_eq!(failed.status, Some(AsyncStatus::Failed));
    assert_eq!(failed.error_msg.as_deref(), Some("job name exists"));
}

#[tokio::test]
async fn list_mms_jobs_sends_stopped_as_an_integer() {
    let (fake, mms) = setup().await;
    fake.push(
        "ListMmsJobs",
        ok(json!({"objectList": [{"id": 42, "name": "sales-orders", "srcDbName": "sales",
            "status": "DOING", "type": "Tables", "stopped": "true", "taskNum": "10", "taskDone": 4}],
            "pageNum": 1, "pageSize": 20, "total": 1})),
    );
    let page = mms
        .list_jobs(
            SRC,
            &ListJobsRequest {
                name: Some("sales-orders".into()),
                status: Some(JobStatus::Doing),
                stopped: Some(true),
                sort_by_status: Some(SortOrder::Desc),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let rec = fake.one("ListMmsJobs");
    assert_get(
        &fake,
        &rec,
        "ListMmsJobs",
        "/api/v1/mms/datasources/2000001/jobs",
    );
    assert_query(
        &rec,
        &[
            ("name", "sales-orders"),
            ("status", "DOING"),
            ("stopped", "1"),
            ("sorter.status", "desc"),
        ],
    );
    let job = &page.items[0];
    assert_eq!(
        (job.id, job.stopped, job.task_num, job.task_done),
        (42, true, 10, 4)
    );
    assert_eq!(job.job_type, Some(JobType::Tables));
}

#[tokio::test]
async fn get_mms_job() {
    let (fake, mms) = setup().await;
    fake.push(
        "GetMmsJob",
        ok(
            json!({"id": 42, "name": "sales-orders", "status": "FAILED", "stopped": false,
            "dstDbName": "mms_target", "eta": null,
            "config": {"tables": ["orders"], "partitions": ["5001", 5002],
                       "partitionFilters": {"orders": "dt >= '2026-01-01'"},
                       "increment": "false", "enableVerification": true}}),
        ),
    );
    let job = mms.get_job(SRC, 42).await.unwrap();
    let rec = fake.one("GetMmsJob");
    assert_get(
        &fake,
        &rec,
        "GetMmsJob",
        "/api/v1/mms/datasources/2000001/jobs/42",
    );
    assert_eq!(job.status, Some(JobStatus::Failed));
    let config = job.config.unwrap();
    assert_eq!(config.partitions, [5001, 5002]);
    assert_eq!(config.partition_filters["orders"], "dt >= '2026-01-01'");
    assert_eq!(
        (config.increment, config.enable_verification),
        (Some(false), Some(true))
    );
}

#[tokio::test]
async fn stop_start_retry_delete_mms_job() {
    let (fake, mms) = setup().await;
    for action in ["StopMmsJob", "StartMmsJob", "RetryMmsJob", "DeleteMmsJob"] {
        fake.push(action, ok(json!(42)));
    }
    let acks = [
        mms.stop_job(SRC, 42).await.unwrap(),
        mms.start_job(SRC, 42).await.unwrap(),
        mms.retry_job(SRC, 42).await.unwrap(),
        mms.delete_job(SRC, 42).await.unwrap(),
    ];
    assert!(
        acks.iter()
            .all(|a| a.request_id.as_deref() == Some("0A1B2C3D-MMS"))
    );
    let base = "/api/v1/mms/datasources/2000001/jobs/42";
    for (action, path) in [
        ("StopMmsJob", format!("{base}/stop")),
        ("StartMmsJob", format!("{base}/start")),
        ("RetryMmsJob", format!("{base}/retry")),
        ("DeleteMmsJob", base.to_string()),
    ] {
        assert_bodiless_post(&fake, &fake.one(action), action, &path);
    }
}

#[tokio::test]
async fn list_mms_tasks() {
    let (fake, mms) = setup().await;
    fake.push(
        "ListMmsTasks",
        ok(
            json!({"objectList": [{"id": 9001, "jobId": 42, "srcDbName": "sales",
            "srcTableName": "orders", "status": "DATA_FAILED", "running": "false",
            "retriedTimes": "2", "type": "HIVE", "startTime": "2026-01-01 10:00:00"}],
            "pageNum": 1, "pageSize": 20, "total": 3}),
        ),
    );
    let page = mms
        .list_tasks(
            SRC,
            &ListTasksRequest {
                job_id: Some(42),
                status: Some(TaskStatus::DataFailed),
                sort_by_start_time: Some(SortOrder::Desc),
                page_num: Some(1),
                page_size: Some(20),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let rec = fake.one("ListMmsTasks");
    assert_get(
        &fake,
        &rec,
        "ListMmsTasks",
        "/api/v1/mms/datasources/2000001/tasks",
    );
    assert_query(
        &rec,
        &[
            ("jobId", "42"),
            ("status", "DATA_FAILED"),
            ("pageNum", "1"),
            ("pageSize", "20"),
            ("sorter.startTime", "desc"),
        ],
    );
    assert_eq!(page.total, 3);
    let task = &page.items[0];
    assert_eq!(
        (task.id, task.retried_times, task.running),
        (9001, 2, false)
    );
    assert!(task.status.as_ref().unwrap().is_failed());
}

#[tokio::test]
async fn get_mms_task() {
    let (fake, mms) = setup().await;
    fake.push(
        "GetMmsTask",
        ok(
            json!({"id": 9001, "jobId": 42, "status": "VERIFICATION_DOING", "running": true,
                  "dstTableName": "orders"}),
        ),
    );
    let task = mms.get_task(SRC, 9001).await.unwrap();
    let rec = fake.one("GetMmsTask");
    assert_get(
        &fake,
        &rec,
        "GetMmsTask",
        "/api/v1/mms/datasources/2000001/tasks/9001",
    );
    assert_eq!(task.status, Some(TaskStatus::VerificationDoing));
    assert!(task.status.unwrap().is_in_progress());
}

#[tokio::test]
async fn list_mms_task_logs() {
    let (fake, mms) = setup().await;
    fake.push(
        "ListMmsTaskLogs",
        ok(json!([
            {"id": 1, "taskId": 9001, "status": "SCHEMA_DOING",
             "action": "create schema if not exists mms_test.default;", "msg": "ok"},
            {"id": 2, "taskId": 9001, "status": "DATA_DONG", "action": "select count", "msg": "src: 10, dsc: 10"},
        ])),
    );
    let logs = mms.list_task_logs(SRC, 9001).await.unwrap();
    let rec = fake.one("ListMmsTaskLogs");
    assert_get(
        &fake,
        &rec,
        "ListMmsTaskLogs",
        "/api/v1/mms/datasources/2000001/tasks/9001/logs",
    );
    assert_eq!(logs.len(), 2);
    assert_eq!(
        logs[1].status,
        Some(TaskStatus::DataDone),
        "documented typo DATA_DONG"
    );
    assert_eq!(logs[1].msg.as_deref(), Some("src: 10, dsc: 10"));
}

#[tokio::test]
async fn retry_mms_task() {
    let (fake, mms) = setup().await;
    fake.push("RetryMmsTask", ok(json!(9001)));
    mms.retry_task(SRC, 9001).await.unwrap();
    assert_bodiless_post(
        &fake,
        &fake.one("RetryMmsTask"),
        "RetryMmsTask",
        "/api/v1/mms/datasources/2000001/tasks/9001/retry",
    );
}

#[tokio::test]
async fn task_counts_per_status_use_page_size_one() {
    let (fake, mms) = setup().await;
    for (i, _) in TaskStatus::ALL.iter().enumerate() {
        fake.push(
            "ListMmsTasks",
            ok(json!({"objectList": [], "pageNum": 1, "pageSize": 1, "total": i * 10})),
        );
    }
    let counts = mms.count_tasks_by_status(SRC, 42).await.unwrap();
    assert_eq!(counts.len(), 11);
    assert_eq!(counts[&TaskStatus::Init], 0);
    assert_eq!(counts[&TaskStatus::Done], 100);
    let recs = fake.requests_for("ListMmsTasks");
    for (rec, status) in recs.iter().zip(TaskStatus::ALL) {
        assert_query(
            rec,
            &[
                ("jobId", "42"),
                ("status", status.as_str()),
                ("pageNum", "1"),
                ("pageSize", "1"),
            ],
        );
    }
}

#[tokio::test]
async fn list_all_jobs_walks_the_pages() {
    let (fake, mms) = setup().await;
    let job = |id: i64| json!({"id": id, "name": format!("j{id}")});
    fake.push(
        "ListMmsJobs",
        ok(json!({"objectList": (1..=50).map(job).collect::<Vec<_>>(), "pageNum": 1, "pageSize": 50, "total": 120})),
    );
    fake.push(
        "ListMmsJobs",
        ok(json!({"objectList": (51..=100).map(job).collect::<Vec<_>>(), "pageNum": 2, "pageSize": 50, "total": 120})),
    );
    fake.push(
        "ListMmsJobs",
        ok(json!({"objectList": (101..=120).map(job).collect::<Vec<_>>(), "pageNum": 3, "pageSize": 50, "total": 120})),
    );
    let all = mms
        .list_all_jobs(SRC, &ListJobsRequest::default(), 1000)
        .await
        .unwrap();
    assert_eq!(all.items.len(), 120);
    assert!(!all.truncated);
    let pages: Vec<String> = fake
        .requests_for("ListMmsJobs")
        .iter()
        .map(|r| r.query_value("pageNum").unwrap().to_string())
        .collect();
    assert_eq!(pages, ["1", "2", "3"]);
}

#[tokio::test]
async fn mms_not_found_is_classified() {
    let (fake, mms) = setup().await;
    fake.push(
        "GetMmsJob",
        Reply::json(json!({"requestId": "R-404", "code": "JobNotExist", "message": "job 404 does not exist"}))
            .status(404),
    );
    let err = mms.get_job(SRC, 404).await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(err.code(), Some("JobNotExist"));
    assert_eq!(err.request_id(), Some("R-404"));
    assert_eq!(err.http_status(), Some(404));
    assert_eq!(fake.requests_for("GetMmsJob").len(), 1, "not retried");
}

#[tokio::test]
async fn create_get_list_update_trigger_delete_mms_timer() {
    let (fake, mms) = setup().await;
    fake.push("CreateMmsTimer", ok(json!({"timerId": "31"})));
    let req = CreateMmsTimerRequest {
        name: "sales-hourly".into(),
        src_db_name: "sales".into(),
        schedule_type: "Hourly".into(),
        value: "05".into(),
        tables: vec!["order_items".into()],
        enable_verification: Some(true),
        ..Default::default()
    };
    assert_eq!(mms.create_timer(SRC, &req).await.unwrap(), 31);
    assert_json_post(
        &fake,
        &fake.one("CreateMmsTimer"),
        "CreateMmsTimer",
        "/api/v1/mms/datasources/2000001/timers",
        r#"{"name":"sales-hourly","srcDbName":"sales","scheduleType":"Hourly","value":"05","tables":["order_items"],"enableVerification":true}"#,
    );

    // GetMmsTimer: createTime is a Unix-ms string there; kept as text.
    fake.push(
        "GetMmsTimer",
        ok(
            json!({"id": 31, "sourceId": SRC, "name": "sales-hourly", "srcDbName": "sales",
                  "scheduleType": "Hourly", "value": "5", "stopped": "false",
                  "createTime": "1765000000000",
                  "config": {"tables": ["order_items"], "others": {"k": "v"}}}),
        ),
    );
    let t = mms.get_timer(SRC, 31).await.unwrap();
    assert_get(
        &fake,
        &fake.one("GetMmsTimer"),
        "GetMmsTimer",
        "/api/v1/mms/datasources/2000001/timers/31",
    );
    assert_eq!((t.id, t.stopped, t.value.as_str()), (31, false, "5"));
    assert_eq!(t.config.unwrap().tables, ["order_items"]);

    fake.push(
        "ListMmsTimers",
        ok(
            json!({"objectList": [{"id": 31, "name": "sales-hourly", "stopped": true}],
                  "pageNum": 1, "pageSize": 100, "total": 1}),
        ),
    );
    let page = mms
        .list_timers(SRC, Some("sales-hourly"), 1, 100)
        .await
        .unwrap();
    assert!(page.items[0].stopped);
    let rec = fake.one("ListMmsTimers");
    assert_eq!(rec.path, "/api/v1/mms/datasources/2000001/timers");
    assert_query(
        &rec,
        &[
            ("name", "sales-hourly"),
            ("pageNum", "1"),
            ("pageSize", "100"),
        ],
    );

    fake.push("UpdateMmsTimer", ok(json!(31)));
    let pause = UpdateMmsTimerRequest {
        stopped: Some(true),
        ..Default::default()
    };
    mms.update_timer(SRC, 31, &pause).await.unwrap();
    let rec = fake.one("UpdateMmsTimer");
    assert_eq!(rec.method, "PUT");
    assert_eq!(rec.path, "/api/v1/mms/datasources/2000001/timers/31");
    assert_eq!(
        std::str::from_utf8(&rec.body).unwrap(),
        r#"{"stopped":true}"#
    );
    assert_v3_headers(&fake, &rec, "UpdateMmsTimer", VERSION);

    fake.push("TriggerMmsTimer", ok(json!(31)));
    mms.trigger_timer(SRC, 31).await.unwrap();
    assert_bodiless_post(
        &fake,
        &fake.one("TriggerMmsTimer"),
        "TriggerMmsTimer",
        "/api/v1/mms/datasources/2000001/timers/31/trigger",
    );

    // The docs' example answers "success" where the type says int: both are taken.
    fake.push("DeleteMmsTimer", ok(json!("success")));
    mms.delete_timer(SRC, 31).await.unwrap();
    let rec = fake.one("DeleteMmsTimer");
    assert_eq!(rec.method, "DELETE");
    assert_eq!(rec.path, "/api/v1/mms/datasources/2000001/timers/31");
    assert!(rec.body.is_empty());
    assert_v3_headers(&fake, &rec, "DeleteMmsTimer", VERSION);
}
