//! Authentication like the gateways: V3 signatures with any signed-header list, the legacy
//! HMAC-SHA1 scheme, STS credentials, and the documented refusals with their codes and bodies.

use aliyun_migration_operator::aliyun::signer;
use aliyun_migration_operator::sim::scenario::{DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET};
use serde_json::Value;

use crate::support::{Client, Tamper, frozen};

#[tokio::test]
async fn valid_signatures_are_accepted_with_either_header_list() {
    let sim = frozen().await;
    let c = Client::new(&sim);
    let r = c.dts("DescribeDtsJobs", &[("PageSize", "10")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["Success"], true);
    let rid = r.body["RequestId"].as_str().unwrap();
    assert_eq!(rid.len(), 36);
    assert_eq!(rid, rid.to_uppercase());
    let python_style = Tamper {
        sign_everything: true,
        ..Tamper::default()
    };
    let r = c
        .rpc("DescribeDtsJobs", "2020-01-01", &[], &[], &python_style)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    sim.shutdown().await;
}

#[tokio::test]
async fn refusals_use_the_gateway_codes_and_body() {
    let sim = frozen().await;
    let c = Client::new(&sim);
    let wrong = Tamper {
        secret: Some("not-the-secret".into()),
        ..Tamper::default()
    };
    let r = c
        .rpc("DescribeDtsJobs", "2020-01-01", &[], &[], &wrong)
        .await;
    assert_eq!((r.status, r.code()), (400, Some("SignatureDoesNotMatch")));
    for key in ["RequestId", "HostId", "Code", "Message", "Recommend"] {
        assert!(r.body.get(key).is_some(), "missing {key} in {}", r.body);
    }

    let stranger = Client::with_key(&sim, "LTAI5tNobodyKnowsThisKey", "x");
    let r = stranger.dts("DescribeDtsJobs", &[]).await;
    assert_eq!(
        (r.status, r.code()),
        (404, Some("InvalidAccessKeyId.NotFound"))
    );

    let stale_date = (jiff::Timestamp::now() - jiff::SignedDuration::from_mins(20))
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let stale = Tamper {
        date: Some(stale_date),
        ..Tamper::default()
    };
    let r = c
        .rpc("DescribeDtsJobs", "2020-01-01", &[], &[], &stale)
        .await;
    assert_eq!(
        (r.status, r.code()),
        (400, Some("InvalidTimeStamp.Expired"))
    );

    let replay = Tamper {
        nonce: Some("the-same-nonce".into()),
        ..Tamper::default()
    };
    assert_eq!(
        c.rpc("DescribeDtsJobs", "2020-01-01", &[], &[], &replay)
            .await
            .status,
        200
    );
    let r = c
        .rpc("DescribeDtsJobs", "2020-01-01", &[], &[], &replay)
        .await;
    assert_eq!((r.status, r.code()), (400, Some("SignatureNonceUsed")));

    let unsigned = Tamper {
        unsigned_date: true,
        ..Tamper::default()
    };
    let r = c
        .rpc("DescribeDtsJobs", "2020-01-01", &[], &[], &unsigned)
        .await;
    assert_eq!((r.status, r.code()), (400, Some("IncompleteSignature")));

    let swapped = Tamper {
        swap_body: true,
        ..Tamper::default()
    };
    let r = c
        .rpc(
            "ConfigureDtsJob",
            "2020-01-01",
            &[],
            &[("DbList", "{}")],
            &swapped,
        )
        .await;
    assert_eq!((r.status, r.code()), (400, Some("SignatureDoesNotMatch")));

    let http = crate::support::http();
    let r = http
        .post(format!(
            "{}/?Action=DescribeDtsJobs&Version=2020-01-01",
            sim.base_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["Code"], "MissingParameter");
    let r = http
        .get(format!("{}/api/v1/mms/datasources", sim.base_url()))
        .header("authorization", "ACS3-HMAC-SHA256 garbage")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["code"], "IncompleteSignature",
        "MMS errors carry lower-case keys: {body}"
    );
    assert_eq!(body["Code"], "IncompleteSignature");
    assert!(body["requestId"].is_string() && body["message"].is_string());

    let log = sim.admin().requests(0).await.unwrap();
    let text = serde_json::to_string(&log).unwrap();
    assert!(
        !text.contains(DEFAULT_ACCESS_KEY_SECRET),
        "the request log must not hold secrets"
    );
    assert!(text.contains(DEFAULT_ACCESS_KEY_ID));
    sim.shutdown().await;
}

/// The legacy RPC signature (HMAC-SHA1 over query + form), as Terraform and the credential
/// libraries still send it.
fn v1_url(base: &str, params: &[(&str, &str)], secret: &str) -> String {
    let mut all: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let now = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    for (k, v) in [
        ("Format", "JSON"),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("AccessKeyId", DEFAULT_ACCESS_KEY_ID),
        ("Timestamp", now.as_str()),
        (
            "SignatureNonce",
            &format!("v1-{}", jiff::Timestamp::now().as_nanosecond()),
        ),
    ] {
        all.push((k.into(), v.into()));
    }
    let signature = signer::rpc_v2_signature(secret, &signer::rpc_v2_string_to_sign("GET", &all));
    all.push(("Signature".into(), signature));
    format!("{base}/?{}", signer::canonical_query(&all))
}

#[tokio::test]
async fn legacy_hmac_sha1_and_sts_credentials() {
    let sim = frozen().await;
    let http = crate::support::http();
    let role = "acs:ram::5000000000000001:role/migration-operator";
    let params = [
        ("Action", "AssumeRole"),
        ("Version", "2015-04-01"),
        ("RoleArn", role),
        ("RoleSessionName", "sim-test"),
        ("DurationSeconds", "900"),
    ];
    let r = http
        .get(v1_url(&sim.base_url(), &params, DEFAULT_ACCESS_KEY_SECRET))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let creds = &body["Credentials"];
    let (id, secret, token) = (
        creds["AccessKeyId"].as_str().unwrap(),
        creds["AccessKeySecret"].as_str().unwrap(),
        creds["SecurityToken"].as_str().unwrap(),
    );
    assert!(id.starts_with("STS."));
    let r = http
        .get(v1_url(&sim.base_url(), &params, "tampered"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    let c = Client::new(&sim);
    let sts = c.with_sts(id, secret, token);
    let r = sts.dts("DescribeDtsJobs", &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = sts
        .rpc(
            "GetCallerIdentity",
            "2015-04-01",
            &[],
            &[],
            &Tamper::default(),
        )
        .await;
    assert_eq!(r.body["IdentityType"], "AssumedRoleUser");
    let mut tokenless = sts.clone();
    tokenless.token = None;
    let r = tokenless.dts("DescribeDtsJobs", &[]).await;
    assert_eq!(r.code(), Some("InvalidSecurityToken.Malformed"));
    assert_eq!(sim.admin().expire_sts(Some(id)).await.unwrap(), 1);
    let r = sts.dts("DescribeDtsJobs", &[]).await;
    assert_eq!(
        (r.status, r.code()),
        (400, Some("InvalidSecurityToken.Expired"))
    );
    sim.shutdown().await;
}
