//! Compile-time properties the controllers rely on: clients and their futures can cross
//! `tokio::spawn`, errors can be stored and shared.

use aliyun_migration_operator::aliyun::dts::{ConfigureDtsJobRequest, DtsJobRef};
use aliyun_migration_operator::aliyun::mms::{CreateMmsJobRequest, ListJobsRequest};
use aliyun_migration_operator::aliyun::{
    Cloud, CloudConfig, Credentials, DtsClient, Error, MmsClient,
};

use crate::fake::creds;

fn assert_send<T: Send>(_: &T) {}
fn assert_shareable<T: Send + Sync + Clone + 'static>() {}

#[tokio::test]
async fn clients_and_their_futures_are_send() {
    assert_shareable::<Cloud>();
    assert_shareable::<MmsClient>();
    assert_shareable::<DtsClient>();
    assert_shareable::<Credentials>();
    assert_shareable::<Error>();
    let cloud = Cloud::new(CloudConfig {
        endpoint_override: Some("http://127.0.0.1:9".into()),
        ..CloudConfig::default()
    })
    .unwrap();
    let mms = cloud.mms("cn-hangzhou", creds().assume_role("acs:ram::1:role/r"));
    let dts = cloud.dts("cn-hangzhou", creds());
    let create = CreateMmsJobRequest::default();
    let filter = ListJobsRequest::default();
    let configure = ConfigureDtsJobRequest::default();
    let job = DtsJobRef::job("j");
    assert_send(&mms.get_job(1, 2));
    assert_send(&mms.create_job(1, &create));
    assert_send(&mms.list_all_jobs(1, &filter, 10));
    assert_send(&mms.count_tasks_by_status(1, 2));
    assert_send(&dts.configure_dts_job(&configure));
    assert_send(&dts.describe_dts_job_detail(&job));
    assert_send(&dts.describe_migration_job_status("dtsx"));
    assert_send(&cloud.check_credentials(&creds()));
}

#[test]
fn an_invalid_endpoint_override_fails_at_construction() {
    let err = Cloud::new(CloudConfig {
        endpoint_override: Some("ftp://nowhere".into()),
        ..CloudConfig::default()
    })
    .unwrap_err();
    assert!(err.is_terminal(), "{err}");
}
