//! STS credentials: AssumeRole wire format and caching across `Credentials` instances,
//! refresh before expiry, single flight, `InvalidSecurityToken` refresh-and-retry-once,
//! RRSA/OIDC with the token file re-read on every exchange.

use std::collections::HashMap;
use std::time::Duration;

use aliyun_migration_operator::aliyun::credentials::env;
use aliyun_migration_operator::aliyun::{Credentials, ErrorKind, SecretString};
use serde_json::json;

use crate::fake::{AK_ID, AK_SECRET, Fake, Reply, creds, verify_rpc_v2, verify_v3};

const ROLE: &str = "acs:ram::1234567890123456:role/migration-operator";

fn sts_reply(id: &str, secret: &str, token: &str, valid_for: Duration) -> Reply {
    let expiration = jiff::Timestamp::now() + jiff::SignedDuration::try_from(valid_for).unwrap();
    Reply::json(json!({
        "RequestId": format!("STS-{id}"),
        "AssumedRoleUser": {"Arn": format!("{ROLE}/s"), "AssumedRoleId": "3xx:s"},
        "Credentials": {
            "AccessKeyId": id, "AccessKeySecret": secret, "SecurityToken": token,
            "Expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        }
    }))
}

fn job() -> Reply {
    Reply::json(json!({"requestId": "R", "data": {"id": 42}}))
}

#[tokio::test]
async fn assume_role_is_signed_cached_and_shared_across_credentials_instances() {
    let fake = Fake::start().await;
    fake.push(
        "AssumeRole",
        sts_reply(
            "STS.first",
            "sts-secret-1",
            "CAIS-token-1",
            Duration::from_secs(3600),
        ),
    );
    fake.set_default("GetMmsJob", job());
    let cloud = fake.cloud();
    // Two reconciles, each building its Credentials from the Secret afresh.
    for _ in 0..2 {
        let assumed = creds().assume_role(ROLE);
        cloud
            .mms("cn-hangzhou", assumed)
            .get_job(1, 42)
            .await
            .unwrap();
    }
    let sts = fake.one("AssumeRole");
    assert_eq!((sts.method.as_str(), sts.path.as_str()), ("POST", "/"));
    for (k, v) in [
        ("Action", "AssumeRole"),
        ("Format", "JSON"),
        ("Version", "2015-04-01"),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("AccessKeyId", AK_ID),
    ] {
        assert_eq!(sts.query_value(k), Some(v), "{k}");
    }
    assert!(sts.query_value("Timestamp").is_some() && sts.query_value("SignatureNonce").is_some());
    assert_eq!(sts.form_value("RoleArn").as_deref(), Some(ROLE));
    assert_eq!(sts.form_value("DurationSeconds").as_deref(), Some("3600"));
    assert!(
        sts.form_value("RoleSessionName")
            .unwrap()
            .starts_with("aliyun-migration-operator-")
    );
    assert_eq!(
        sts.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(sts.header("host"), Some(fake.host.as_str()));
    verify_rpc_v2(&sts, AK_SECRET);

    let calls = fake.requests_for("GetMmsJob");
    assert_eq!(calls.len(), 2);
    for call in &calls {
        assert_eq!(call.header("x-acs-security-token"), Some("CAIS-token-1"));
        assert_eq!(call.header("x-acs-accesskey-id"), Some("STS.first"));
        verify_v3(call, "STS.first", "sts-secret-1");
    }
}

#[tokio::test]
async fn sts_sessions_are_refreshed_before_they_expire() {
    let fake = Fake::start().await;
    // A 2 s session is refreshed once half of it has passed.
    fake.push(
        "AssumeRole",
        sts_reply("STS.short", "s1", "t1", Duration::from_secs(2)),
    );
    fake.push(
        "AssumeRole",
        sts_reply("STS.next", "s2", "t2", Duration::from_secs(3600)),
    );
    fake.set_default("GetMmsJob", job());
    let cloud = fake.cloud();
    let assumed = creds().assume_role(ROLE);
    let mms = cloud.mms("cn-hangzhou", assumed);
    mms.get_job(1, 42).await.unwrap();
    mms.get_job(1, 42).await.unwrap();
    assert_eq!(fake.requests_for("AssumeRole").len(), 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    mms.get_job(1, 42).await.unwrap();
    assert_eq!(fake.requests_for("AssumeRole").len(), 2);
    let calls = fake.requests_for("GetMmsJob");
    verify_v3(&calls[1], "STS.short", "s1");
    verify_v3(&calls[2], "STS.next", "s2");
}

#[tokio::test]
async fn concurrent_callers_share_one_exchange() {
    let fake = Fake::start().await;
    fake.push(
        "AssumeRole",
        sts_reply("STS.one", "s", "t", Duration::from_secs(3600)).delay(Duration::from_millis(200)),
    );
    fake.set_default("GetMmsJob", job());
    let cloud = fake.cloud();
    let calls = (0..10).map(|_| {
        let mms = cloud.mms("cn-hangzhou", creds().assume_role(ROLE));
        async move { mms.get_job(1, 42).await }
    });
    for r in futures::future::join_all(calls).await {
        r.unwrap();
    }
    assert_eq!(fake.requests_for("AssumeRole").len(), 1);
    assert_eq!(fake.requests_for("GetMmsJob").len(), 10);
}

#[tokio::test]
async fn invalid_security_token_forces_one_refresh_and_one_retry() {
    let fake = Fake::start().await;
    fake.push(
        "AssumeRole",
        sts_reply("STS.old", "s-old", "t-old", Duration::from_secs(3600)),
    );
    fake.push(
        "AssumeRole",
        sts_reply("STS.new", "s-new", "t-new", Duration::from_secs(3600)),
    );
    fake.push(
        "GetMmsJob",
        Reply::error(
            400,
            "InvalidSecurityToken.Expired",
            "Specified SecurityToken is expired.",
        ),
    );
    fake.push("GetMmsJob", job());
    let cloud = fake.cloud();
    cloud
        .mms("cn-hangzhou", creds().assume_role(ROLE))
        .get_job(1, 42)
        .await
        .unwrap();
    assert_eq!(fake.requests_for("AssumeRole").len(), 2);
    let calls = fake.requests_for("GetMmsJob");
    assert_eq!(calls.len(), 2);
    verify_v3(&calls[0], "STS.old", "s-old");
    verify_v3(&calls[1], "STS.new", "s-new");

    // Only once: a second rejection is reported.
    fake.push(
        "AssumeRole",
        sts_reply("STS.third", "s3", "t3", Duration::from_secs(3600)),
    );
    fake.push(
        "GetMmsJob",
        Reply::error(400, "InvalidSecurityToken.Expired", "x"),
    );
    fake.push(
        "GetMmsJob",
        Reply::error(400, "InvalidSecurityToken.Expired", "x"),
    );
    let err = cloud
        .mms("cn-hangzhou", creds().assume_role(ROLE))
        .get_job(1, 42)
        .await
        .unwrap_err();
    assert!(err.is_invalid_security_token() && err.is_terminal());
    assert_eq!(fake.requests_for("GetMmsJob").len(), 4);
}

#[tokio::test]
async fn a_handed_in_sts_token_cannot_be_refreshed() {
    let fake = Fake::start().await;
    fake.push(
        "GetMmsJob",
        Reply::error(400, "InvalidSecurityToken.Expired", "expired"),
    );
    let sts = Credentials::static_key(
        "STS.fromSecret",
        SecretString::new("s"),
        Some(SecretString::new("CAIS-from-secret")),
    );
    let err = fake
        .cloud()
        .mms("cn-hangzhou", sts)
        .get_job(1, 42)
        .await
        .unwrap_err();
    assert!(err.is_invalid_security_token());
    let call = fake.one("GetMmsJob");
    assert_eq!(
        call.header("x-acs-security-token"),
        Some("CAIS-from-secret")
    );
    verify_v3(&call, "STS.fromSecret", "s");
    assert!(fake.requests_for("AssumeRole").is_empty());
}

#[tokio::test]
async fn sts_failures_are_masked_errors() {
    let fake = Fake::start().await;
    fake.push(
        "AssumeRole",
        Reply::json(json!({"RequestId": "STS-E", "Code": "NoPermission",
            "Message": "You are not authorized to do this action. AccessKeySecret=leaky LTAI5tAnotherKey"}))
        .status(403),
    );
    let err = fake
        .cloud()
        .mms("cn-hangzhou", creds().assume_role(ROLE))
        .get_job(1, 42)
        .await
        .unwrap_err();
    assert_eq!(
        (err.product(), err.action()),
        (Some("sts"), Some("AssumeRole"))
    );
    assert_eq!(err.code(), Some("NoPermission"));
    assert!(err.is_terminal());
    assert!(!err.to_string().contains("LTAI5tAnotherKey"));
    assert!(fake.requests_for("GetMmsJob").is_empty());
}

#[tokio::test]
async fn rrsa_rereads_the_token_file_on_every_exchange() {
    let fake = Fake::start().await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "eyJhbGciOiJSUzI1NiJ9.first.sig\n").unwrap();
    let vars: HashMap<&str, String> = HashMap::from([
        (env::ROLE_ARN, ROLE.to_string()),
        (
            env::OIDC_PROVIDER_ARN,
            "acs:ram::1234567890123456:oidc-provider/ack-rrsa-c1".to_string(),
        ),
        (env::OIDC_TOKEN_FILE, token_file.display().to_string()),
        (env::ROLE_SESSION_NAME, "operator-pod".to_string()),
        // The override sends STS to the fake even so.
        (
            env::STS_ENDPOINT,
            "sts-vpc.cn-hangzhou.aliyuncs.com".to_string(),
        ),
        (env::STS_REGION, "cn-hangzhou".to_string()),
        (env::VPC_ENDPOINT_ENABLED, "true".to_string()),
    ]);
    let rrsa = Credentials::rrsa_from_env_with(|k| vars.get(k).cloned()).unwrap();
    fake.push(
        "AssumeRoleWithOIDC",
        sts_reply("STS.oidc1", "o1", "ot1", Duration::from_secs(3600)),
    );
    fake.push(
        "AssumeRoleWithOIDC",
        sts_reply("STS.oidc2", "o2", "ot2", Duration::from_secs(3600)),
    );
    fake.push("GetMmsJob", job());
    fake.push(
        "GetMmsJob",
        Reply::error(400, "InvalidSecurityToken.Expired", "x"),
    );
    fake.push("GetMmsJob", job());
    let mms = fake.cloud().mms("cn-hangzhou", rrsa);
    mms.get_job(1, 42).await.unwrap();
    // kubelet rotates the projected token
    std::fs::write(&token_file, "eyJhbGciOiJSUzI1NiJ9.second.sig").unwrap();
    mms.get_job(1, 42).await.unwrap();

    let exchanges = fake.requests_for("AssumeRoleWithOIDC");
    assert_eq!(exchanges.len(), 2);
    for (rec, token) in exchanges.iter().zip([
        "eyJhbGciOiJSUzI1NiJ9.first.sig",
        "eyJhbGciOiJSUzI1NiJ9.second.sig",
    ]) {
        assert_eq!((rec.method.as_str(), rec.path.as_str()), ("POST", "/"));
        assert_eq!(rec.header("host"), Some(fake.host.as_str()));
        for (k, v) in [
            ("Action", "AssumeRoleWithOIDC"),
            ("Format", "JSON"),
            ("Version", "2015-04-01"),
        ] {
            assert_eq!(rec.query_value(k), Some(v));
        }
        assert!(rec.query_value("Signature").is_none() && rec.query_value("AccessKeyId").is_none());
        assert_eq!(rec.form_value("OIDCToken").as_deref(), Some(token));
        assert_eq!(rec.form_value("RoleArn").as_deref(), Some(ROLE));
        assert_eq!(
            rec.form_value("OIDCProviderArn").as_deref(),
            Some("acs:ram::1234567890123456:oidc-provider/ack-rrsa-c1")
        );
        assert_eq!(
            rec.form_value("RoleSessionName").as_deref(),
            Some("operator-pod")
        );
        assert_eq!(rec.form_value("DurationSeconds").as_deref(), Some("3600"));
        assert!(
            !rec.raw_query.contains("eyJ"),
            "the token travels in the body"
        );
    }
    let calls = fake.requests_for("GetMmsJob");
    verify_v3(&calls[0], "STS.oidc1", "o1");
    verify_v3(&calls[2], "STS.oidc2", "o2");
}

#[tokio::test]
async fn a_missing_token_file_is_a_credentials_error() {
    let fake = Fake::start().await;
    let vars: HashMap<&str, &str> = HashMap::from([
        (env::ROLE_ARN, ROLE),
        (env::OIDC_PROVIDER_ARN, "acs:ram::1:oidc-provider/p"),
        (env::OIDC_TOKEN_FILE, "/nonexistent/rrsa/token"),
    ]);
    let rrsa = Credentials::rrsa_from_env_with(|k| vars.get(k).map(|v| v.to_string())).unwrap();
    let err = fake
        .cloud()
        .mms("cn-hangzhou", rrsa)
        .get_job(1, 42)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Credentials);
    assert!(err.is_retryable(), "kubelet may still be writing the token");
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn chained_roles_over_rrsa() {
    let fake = Fake::start().await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "jwt").unwrap();
    let rrsa = Credentials::oidc(aliyun_migration_operator::aliyun::OidcSettings {
        role_arn: ROLE.into(),
        oidc_provider_arn: "acs:ram::1:oidc-provider/p".into(),
        token_file,
        session_name: None,
        duration: Some(Duration::from_secs(900)),
        policy: None,
        sts: Default::default(),
    });
    fake.push(
        "AssumeRoleWithOIDC",
        sts_reply("STS.base", "bs", "bt", Duration::from_secs(900)),
    );
    fake.push(
        "AssumeRole",
        sts_reply("STS.target", "ts", "tt", Duration::from_secs(3600)),
    );
    fake.push("GetMmsJob", job());
    fake.cloud()
        .mms("cn-hangzhou", rrsa.assume_role("acs:ram::999:role/target"))
        .get_job(1, 42)
        .await
        .unwrap();
    assert_eq!(
        fake.one("AssumeRoleWithOIDC")
            .form_value("DurationSeconds")
            .as_deref(),
        Some("900")
    );
    let assume = fake.one("AssumeRole");
    assert_eq!(assume.query_value("AccessKeyId"), Some("STS.base"));
    assert_eq!(assume.query_value("SecurityToken"), Some("bt"));
    verify_rpc_v2(&assume, "bs");
    verify_v3(&fake.one("GetMmsJob"), "STS.target", "ts");
}

#[tokio::test]
async fn a_failed_exchange_lets_even_a_create_be_retried() {
    let fake = Fake::start().await;
    for _ in 0..3 {
        fake.push(
            "AssumeRole",
            Reply::error(503, "ServiceUnavailable", "busy"),
        );
    }
    fake.push(
        "AssumeRole",
        sts_reply("STS.late", "s", "t", Duration::from_secs(3600)),
    );
    fake.push(
        "CreateMmsJob",
        Reply::json(json!({"requestId": "R", "data": {"asyncTaskId": 77}})),
    );
    let req = aliyun_migration_operator::aliyun::mms::CreateMmsJobRequest {
        name: "j".into(),
        src_db_name: "db".into(),
        ..Default::default()
    };
    let id = fake
        .cloud()
        .mms("cn-hangzhou", creds().assume_role(ROLE))
        .create_job(1, &req)
        .await
        .unwrap();
    assert_eq!(id, 77);
    assert_eq!(fake.requests_for("AssumeRole").len(), 4);
    assert_eq!(fake.requests_for("CreateMmsJob").len(), 1);
}
