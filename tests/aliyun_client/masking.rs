//! Nothing the client logs, returns or reports as an error contains a credential.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aliyun_migration_operator::aliyun::dts::{
    ConfigureDtsJobRequest, DbList, DtsEndpoint, DtsJobRef,
};
use aliyun_migration_operator::aliyun::{SecretString, mask};
use serde_json::json;
use tracing_subscriber::fmt::MakeWriter;

use crate::fake::{AK_SECRET, Fake, Reply, creds};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

const PLANTED: [&str; 7] = [
    "LTAI5tPlantedInResponse",
    "planted-response-password",
    "planted-sts-token",
    "db-password-in-request",
    "destination-ak-secret",
    "LTAI5tDestinationAk",
    AK_SECRET,
];

#[tokio::test]
async fn errors_built_from_responses_with_secrets_do_not_show_them() {
    let fake = Fake::start().await;
    fake.push(
        "GetMmsDataSource",
        Reply::json(json!({
            "requestId": "R-1", "code": "InvalidConfig",
            "message": "login failed for LTAI5tPlantedInResponse",
            "password": "planted-response-password",
            "detail": {"SecurityToken": "planted-sts-token"}
        }))
        .status(400),
    );
    let err = fake
        .cloud()
        .mms("cn-hangzhou", creds())
        .get_data_source(1, true)
        .await
        .unwrap_err();
    let shown = format!("{err} | {err:?} | {}", err.message());
    for secret in PLANTED {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    assert!(
        shown.contains("InvalidConfig") && shown.contains("R-1"),
        "{shown}"
    );
}

#[tokio::test]
async fn logs_never_contain_credentials() {
    let fake = Fake::start().await;
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("aliyun_migration_operator=trace")
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    fake.push(
        "ConfigureDtsJob",
        Reply::error(400, "InvalidParameter", "bad LTAI5tPlantedInResponse"),
    );
    fake.push(
        "DescribeDtsJobDetail",
        Reply::error(503, "ServiceUnavailable", "busy").header("x-acs-retry-after", "10"),
    );
    fake.push(
        "DescribeDtsJobDetail",
        Reply::json(json!({"Success": true, "Status": "Migrating",
            "DestinationEndpoint": {"UserName": "LTAI5tPlantedInResponse", "Password": "planted-response-password"}})),
    );
    let dts = fake.cloud().dts("cn-hangzhou", creds());
    let err = dts
        .configure_dts_job(&ConfigureDtsJobRequest {
            job_name: "j".into(),
            source: DtsEndpoint::instance("RDS", "MYSQL", "cn-hangzhou", "rm-1")
                .with_account("reader", SecretString::new("db-password-in-request")),
            destination: DtsEndpoint::maxcompute(
                "cn-hangzhou",
                "proj",
                "LTAI5tDestinationAk",
                SecretString::new("destination-ak-secret"),
            ),
            db_list: DbList::new().whole_database("shop", "proj"),
            dts_instance_id: Some("dtsx".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    tracing::debug!(error = %err, "controller logs the error");
    let status = dts
        .describe_dts_job_detail(&DtsJobRef::job("j"))
        .await
        .unwrap();
    tracing::debug!(raw = %status.raw, "controller logs the raw status");
    tokio::time::sleep(Duration::from_millis(10)).await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("aliyun_call"), "spans were captured: {logs}");
    assert!(logs.contains("ConfigureDtsJob") && logs.contains("DescribeDtsJobDetail"));
    assert!(logs.contains("request_id"), "{logs}");
    assert!(logs.contains("retrying"), "{logs}");
    for secret in PLANTED {
        assert!(
            !logs.contains(secret),
            "{secret} leaked into the logs:\n{logs}"
        );
    }
}

#[test]
fn mask_is_public_for_callers_that_store_raw_json() {
    let masked = mask::mask(json!({"AccessKeyId": "x", "list": ["LTAI5tAbc"], "ok": 1}));
    assert_eq!(
        masked,
        json!({"AccessKeyId": "********", "list": ["********"], "ok": 1})
    );
}
