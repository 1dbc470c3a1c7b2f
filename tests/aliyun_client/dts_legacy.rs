//! The legacy migration-job generation (`*MigrationJob*` operations), spoken as 2020-01-01.

use aliyun_migration_operator::aliyun::dts::*;
use aliyun_migration_operator::aliyun::{DtsClient, SecretString};
use serde_json::json;

use crate::fake::{Fake, Recorded, Reply, assert_form, assert_query, assert_v3_headers, creds};

async fn setup() -> (Fake, DtsClient) {
    let fake = Fake::start().await;
    let dts = fake.cloud().dts("cn-hangzhou", creds());
    (fake, dts)
}

fn assert_rpc(fake: &Fake, rec: &Recorded, action: &str) {
    assert_eq!(
        (rec.method.as_str(), rec.path.as_str()),
        ("POST", "/"),
        "{action}"
    );
    assert_v3_headers(fake, rec, action, "2020-01-01");
}

fn ok() -> Reply {
    Reply::json(json!({"RequestId": "40E35BD9-002E-4D63-9BE5-FBA48833", "Success": "true"}))
}

#[tokio::test]
async fn create_migration_job_with_client_token() {
    let (fake, dts) = setup().await;
    fake.push(
        "CreateMigrationJob",
        Reply::json(
            json!({"RequestId": "R", "Success": "true", "MigrationJobId": "dtsb2c11sxpi3j"}),
        ),
    );
    let id = dts
        .create_migration_job(&CreateMigrationJobRequest {
            region: "cn-hangzhou".into(),
            migration_job_class: "small".into(),
            client_token: Some("uid-5f1c".into()),
        })
        .await
        .unwrap();
    assert_eq!(id, "dtsb2c11sxpi3j");
    let rec = fake.one("CreateMigrationJob");
    assert_rpc(&fake, &rec, "CreateMigrationJob");
    assert!(rec.body.is_empty());
    assert_query(
        &rec,
        &[
            ("Region", "cn-hangzhou"),
            ("MigrationJobClass", "small"),
            ("ClientToken", "uid-5f1c"),
            ("RegionId", "cn-hangzhou"),
        ],
    );
}

#[tokio::test]
async fn configure_migration_job_uses_dotted_keys_and_the_documented_typo() {
    let (fake, dts) = setup().await;
    fake.push("ConfigureMigrationJob", ok());
    let req = ConfigureMigrationJobRequest {
        migration_job_id: "dtsl3m1213ye7l".into(),
        migration_job_name: "MySQL_TO_RDS".into(),
        structure_initialization: true,
        data_initialization: true,
        data_synchronization: false,
        source: DtsEndpoint::instance("RDS", "MySQL", "cn-hangzhou", "rm-bp1i99e8l7913")
            .with_account("dtstestaccount", SecretString::new("Test123456")),
        destination: DtsEndpoint {
            instance_type: "RDS".into(),
            instance_id: Some("rm-bp1r46452ai50".into()),
            region: Some("cn-hangzhou".into()),
            database_name: Some("dtstestdatabase".into()),
            user_name: Some("dst_user".into()),
            password: Some(SecretString::new("dst-pass")),
            ..Default::default()
        },
        migration_object: vec![MigrationObject::tables("dtstestdata", ["customer"])],
        migration_reserved: Some(Reserve::new().auto_start(false)),
        checkpoint: None,
    };
    dts.configure_migration_job(&req).await.unwrap();
    let rec = fake.one("ConfigureMigrationJob");
    assert_rpc(&fake, &rec, "ConfigureMigrationJob");
    assert_eq!(
        rec.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_query(
        &rec,
        &[
            ("MigrationJobId", "dtsl3m1213ye7l"),
            ("MigrationJobName", "MySQL_TO_RDS"),
            ("MigrationMode.StructureIntialization", "true"),
            ("MigrationMode.DataIntialization", "true"),
            ("MigrationMode.DataSynchronization", "false"),
            (
                "MigrationReserved",
                r#"{"autoStartModulesAfterConfig":"none"}"#,
            ),
            ("SourceEndpoint.InstanceType", "RDS"),
            ("SourceEndpoint.EngineName", "MySQL"),
            ("SourceEndpoint.InstanceID", "rm-bp1i99e8l7913"),
            ("SourceEndpoint.Region", "cn-hangzhou"),
            ("DestinationEndpoint.InstanceType", "RDS"),
            ("DestinationEndpoint.InstanceID", "rm-bp1r46452ai50"),
            ("DestinationEndpoint.Region", "cn-hangzhou"),
            ("DestinationEndpoint.DataBaseName", "dtstestdatabase"),
            ("RegionId", "cn-hangzhou"),
        ],
    );
    assert_form(
        &rec,
        &[
            (
                "MigrationObject",
                r#"[{"DBName":"dtstestdata","TableIncludes":[{"TableName":"customer"}]}]"#,
            ),
            ("SourceEndpoint.UserName", "dtstestaccount"),
            ("SourceEndpoint.Password", "Test123456"),
            ("DestinationEndpoint.UserName", "dst_user"),
            ("DestinationEndpoint.Password", "dst-pass"),
        ],
    );
}

#[tokio::test]
async fn start_suspend_stop_delete_migration_job() {
    let (fake, dts) = setup().await;
    for action in [
        "StartMigrationJob",
        "SuspendMigrationJob",
        "StopMigrationJob",
        "DeleteMigrationJob",
    ] {
        fake.push(action, ok());
    }
    dts.start_migration_job("dtsl3m1213ye7l").await.unwrap();
    dts.suspend_migration_job("dtsl3m1213ye7l", Some("tok-1"))
        .await
        .unwrap();
    dts.stop_migration_job("dtsl3m1213ye7l", Some("tok-2"))
        .await
        .unwrap();
    dts.delete_migration_job("dtsl3m1213ye7l").await.unwrap();
    let base = [
        ("MigrationJobId", "dtsl3m1213ye7l"),
        ("RegionId", "cn-hangzhou"),
    ];
    for (action, token) in [
        ("StartMigrationJob", None),
        ("SuspendMigrationJob", Some("tok-1")),
        ("StopMigrationJob", Some("tok-2")),
        ("DeleteMigrationJob", None),
    ] {
        let rec = fake.one(action);
        assert_rpc(&fake, &rec, action);
        assert!(rec.body.is_empty());
        let mut expected = base.to_vec();
        if let Some(t) = token {
            expected.push(("ClientToken", t));
        }
        assert_query(&rec, &expected);
    }
}

#[tokio::test]
async fn describe_migration_job_status_maps_to_the_common_model() {
    let (fake, dts) = setup().await;
    fake.push(
        "DescribeMigrationJobStatus",
        Reply::json(json!({
            "RequestId": "R", "Success": "true",
            "MigrationJobId": "dtsl3m1213ye7l", "TaskId": "l3m1213ye7l", "MigrationJobName": "MySQL_TO_RDS",
            "MigrationJobClass": "small", "PayType": "PostPaid", "MigrationJobStatus": "Migrating",
            "MigrationObject": "[{\"DBName\":\"dtstestdata\"}]",
            "MigrationMode": {"structureInitialization": "true", "dataInitialization": true,
                              "dataSynchronization": "true"},
            "SourceEndpoint": {"InstanceType": "RDS", "InstanceId": "rm-1", "EngineName": "MySQL",
                               "IP": "172.16.88.1", "Port": "3306", "UserName": "reader",
                               "DatabaseName": "", "oracleSID": ""},
            "DestinationEndpoint": {"InstanceType": "RDS", "InstanceId": "rm-2", "UserName": "LTAI5tLegacyDest"},
            "PrecheckStatus": {"Status": "Finished", "Percent": "100", "Detail": {"CheckItem": [
                {"ItemName": "CHECK_CONN_SRC", "CheckStatus": "Success", "ErrorMessage": "", "RepairMethod": ""},
                {"ItemName": "CHECK_ENGINE_VERSION", "CheckStatus": "Failed",
                 "ErrorMessage": "version too old", "RepairMethod": "upgrade"}]}},
            "StructureInitializationStatus": {"Status": "Finished", "Percent": "100", "Progress": "12",
                                              "ErrorMessage": ""},
            "DataInitializationStatus": {"Status": "Finished", "Percent": "100", "Progress": "200001"},
            "DataSynchronizationStatus": {"Status": "Migrating", "Percent": "95", "Delay": "7",
                                          "Checkpoint": "1612507847", "ErrorMessage": ""}
        })),
    );
    let s = dts
        .describe_migration_job_status("dtsl3m1213ye7l")
        .await
        .unwrap();
    let rec = fake.one("DescribeMigrationJobStatus");
    assert_rpc(&fake, &rec, "DescribeMigrationJobStatus");
    assert_query(
        &rec,
        &[
            ("MigrationJobId", "dtsl3m1213ye7l"),
            ("RegionId", "cn-hangzhou"),
        ],
    );
    assert_eq!(s.generation, DtsApiGeneration::Legacy);
    assert_eq!(s.dts_instance_id.as_deref(), Some("dtsl3m1213ye7l"));
    assert_eq!(s.dts_job_id.as_deref(), Some("l3m1213ye7l"));
    assert_eq!(s.state, Some(DtsJobState::Migrating));
    let lag = s.lag.unwrap();
    assert_eq!((lag.value, lag.unit), (7.0, LagUnit::Seconds));
    assert_eq!(s.lag_seconds(), Some(7.0));
    assert_eq!(s.checkpoint, Some(1612507847));
    assert_eq!(s.migration_mode.structure_initialization, Some(true));
    assert_eq!(s.migration_mode.data_synchronization, Some(true));
    let items = &s.precheck.as_ref().unwrap().items;
    assert_eq!(
        items.len(),
        2,
        "wrapper object Detail.CheckItem[] unwrapped"
    );
    let failed = s.failed_precheck_items();
    assert_eq!(failed[0].name, "CHECK_ENGINE_VERSION");
    assert_eq!(failed[0].message.as_deref(), Some("version too old"));
    assert_eq!(
        s.structure_initialization.as_ref().unwrap().progress,
        Some(12)
    );
    assert_eq!(
        s.data_initialization.as_ref().unwrap().state,
        Some(StageState::Finished)
    );
    let src = s.source.as_ref().unwrap();
    assert_eq!(
        (src.ip.as_deref(), src.instance_id.as_deref()),
        (Some("172.16.88.1"), Some("rm-1"))
    );
    assert_eq!(
        s.destination.as_ref().unwrap().user_name.as_deref(),
        Some(aliyun_migration_operator::aliyun::REDACTED)
    );
    assert_eq!(s.objects.as_ref().unwrap()[0]["DBName"], "dtstestdata");
}
