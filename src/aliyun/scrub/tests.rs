use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::aliyun::SecretString;
use crate::aliyun::endpoint::Product;
use crate::aliyun::transport::Idempotency;

const PASSWORD: &str = "Pl4nted/DB+Pass\"w0rd=";

fn key() -> AccessKey {
    AccessKey {
        id: "LTAI5tPlantedKeyId0001".into(),
        secret: SecretString::new("PlantedSigningSecret000"),
        token: Some(SecretString::new("CAISplantedSecurityToken")),
        expiration: None,
    }
}

fn configure_request() -> ApiRequest {
    let mut req = ApiRequest::rpc(Product::Dts, "ConfigureDtsJob", Idempotency::NotIdempotent);
    req.query = vec![
        ("DtsJobName".into(), "orders".into()),
        ("ClientToken".into(), "amo-token-0001".into()),
    ];
    req.body = Body::Form(vec![
        ("SourceEndpointUserName".into(), "reader".into()),
        ("SourceEndpointPassword".into(), PASSWORD.into()),
        (
            "DestinationEndpointUserName".into(),
            "LTAI5tDestinationKey01".into(),
        ),
        (
            "DestinationEndpointPassword".into(),
            "DestinationAkSecret0001".into(),
        ),
    ]);
    req
}

#[test]
fn every_sent_secret_and_encoding_is_scrubbed_from_every_string() {
    let scrub = Scrubber::new(
        request_secrets(&configure_request(), &key())
            .iter()
            .map(String::as_str),
    );
    let secrets = [
        PASSWORD,
        "DestinationAkSecret0001",
        "LTAI5tDestinationKey01",
        "PlantedSigningSecret000",
        "CAISplantedSecurityToken",
    ];
    for secret in secrets {
        for form in encodings(secret) {
            let mut body = json!({
                "ErrMessage": format!("connect failed for {form}: denied"),
                "Detail": [{"FailedReason": form.clone()}],
                "data": {"msg": format!("[{form}]"), form.clone(): 1},
            });
            scrub.value(&mut body);
            let text = body.to_string();
            assert!(!text.contains(form.as_str()), "{form} survived: {text}");
            assert!(
                text.contains("connect failed for ********: denied"),
                "{text}"
            );
        }
    }
}

#[test]
fn what_is_not_a_secret_stays() {
    let scrub = Scrubber::new(
        request_secrets(&configure_request(), &key())
            .iter()
            .map(String::as_str),
    );
    let mut body = json!({"DtsJobName": "orders", "token": "amo-token-0001", "user": "reader"});
    let before = body.clone();
    scrub.value(&mut body);
    assert_eq!(body, before);
    // Too short to scrub without corrupting unrelated text.
    assert!(Scrubber::new(["abc"]).text("abcdef").is_none());
}

proptest! {
    #[test]
    fn no_encoding_of_any_secret_survives(
        secret in "[ -~]{6,40}",
        prefix in "[ -~]{0,20}",
        suffix in "[ -~]{0,20}",
        pick in 0usize..10,
    ) {
        let forms = encodings(&secret);
        let form = &forms[pick % forms.len()];
        let text = format!("{prefix}{form}{suffix}");
        let scrubbed = Scrubber::new([secret.as_str()]).text(&text).unwrap_or(text.clone());
        prop_assert!(!scrubbed.contains(form.as_str()), "{} in {}", form, scrubbed);
        prop_assert!(!scrubbed.contains(secret.as_str()));
    }
}

#[test]
fn later_answers_are_scrubbed_of_earlier_requests_secrets() {
    let sent = SentSecrets::default();
    sent.remember_request(&configure_request(), &key());
    let describe = ApiRequest::rpc(Product::Dts, "DescribeDtsJobs", Idempotency::Idempotent);
    let scrub = sent.remember_request(&describe, &key());
    assert_eq!(
        scrub
            .text(&format!("precheck: access denied for {PASSWORD}"))
            .as_deref(),
        Some("precheck: access denied for ********")
    );
}
