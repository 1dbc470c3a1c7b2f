use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use super::*;
use crate::aliyun::SecretString;

const VECTORS: &str = include_str!("../../../tests/data/signature-vectors.json");

/// [`super::interpret`] for a request that sent no secret.
fn interpret(product: Product, raw: RawResponse) -> Result<ApiResponse, Error> {
    super::interpret(product, raw, &Scrubber::default())
}

fn vector(name: &str) -> Value {
    let all: Value = serde_json::from_str(VECTORS).unwrap();
    all["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("vector {name}"))
        .clone()
}

/// Our request builder, fed a vector's inputs with its fixed date and nonce, produces the
/// official SDK's minimal-header signature byte for byte.
#[test]
fn signed_requests_reproduce_the_sdk_vectors() {
    for (name, product, action) in [
        ("v3_roa_post_json_sts_token", Product::Mms, "CreateMmsJob"),
        (
            "v3_roa_post_json_maxcompute_create_mms_job",
            Product::Mms,
            "CreateMmsJob",
        ),
        (
            "v3_roa_get_query_encoded_path_param",
            Product::Mms,
            "ListMmsJobs",
        ),
        (
            "v3_rpc_get_query_dts_describe_dts_job_detail",
            Product::Dts,
            "DescribeDtsJobDetail",
        ),
    ] {
        let v = vector(name);
        let inputs = &v["inputs"];
        let sent = &v["request_as_sent"];
        let query: Vec<(String, String)> = inputs["query"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let body = match sent["body"].as_str() {
            Some(b) => Body::Json(b.as_bytes().to_vec()),
            None => Body::Empty,
        };
        let req = ApiRequest {
            product,
            action,
            method: Method::from_bytes(inputs["method"].as_str().unwrap().as_bytes()).unwrap(),
            path: inputs["pathname"].as_str().unwrap().to_string(),
            query,
            body,
            idempotency: Idempotency::Idempotent,
            reveal: &[],
        };
        let endpoint = Endpoint {
            base: format!("https://{}", inputs["host"].as_str().unwrap()),
            host: inputs["host"].as_str().unwrap().to_string(),
        };
        let key = AccessKey {
            id: inputs["access_key_id"].as_str().unwrap().into(),
            secret: SecretString::new(inputs["access_key_secret"].as_str().unwrap()),
            token: inputs["security_token"].as_str().map(SecretString::new),
            expiration: None,
        };
        let signed = sign_v3_request(
            &req,
            &endpoint,
            &key,
            inputs["x_acs_date"].as_str().unwrap(),
            inputs["x_acs_signature_nonce"].as_str().unwrap(),
        )
        .unwrap();
        let auth = signed
            .headers
            .iter()
            .find(|(k, _)| k == "authorization")
            .unwrap();
        assert_eq!(
            auth.1,
            v["minimal_signed_headers_variant"]["authorization"]
                .as_str()
                .unwrap(),
            "{name}"
        );
        // The URL carries the canonical query (`%20`, never `+`), the path as given.
        assert_eq!(
            signed.url.path(),
            inputs["pathname"].as_str().unwrap(),
            "{name}"
        );
        assert!(!signed.url.as_str().contains('+'), "{name}: {}", signed.url);
    }
}

#[test]
fn bodiless_requests_have_no_content_type_and_hash_the_empty_string() {
    let req = ApiRequest::rpc(Product::Dts, "StartDtsJob", Idempotency::Idempotent);
    let endpoint = Endpoint {
        base: "http://127.0.0.1:1".into(),
        host: "127.0.0.1:1".into(),
    };
    let key = AccessKey {
        id: "id".into(),
        secret: SecretString::new("s"),
        token: None,
        expiration: None,
    };
    let signed = sign_v3_request(&req, &endpoint, &key, "2025-01-01T00:00:00Z", "n").unwrap();
    assert!(signed.body.is_empty());
    assert!(!signed.headers.iter().any(|(k, _)| k == "content-type"));
    assert!(
        !signed
            .headers
            .iter()
            .any(|(k, _)| k == "x-acs-security-token")
    );
    assert!(
        signed
            .headers
            .contains(&("x-acs-content-sha256".into(), EMPTY_SHA256.into()))
    );
    assert!(
        signed
            .headers
            .contains(&("host".into(), "127.0.0.1:1".into()))
    );
}

#[test]
fn form_bodies_use_rfc3986_encoding() {
    assert_eq!(
        encode_form(&[
            ("DbList".into(), r#"{"a b":1}"#.into()),
            ("K".into(), "*~+/".into())
        ]),
        "DbList=%7B%22a%20b%22%3A1%7D&K=%2A~%2B%2F"
    );
}

fn raw(status: u16, headers: &[(&str, &str)], body: &str) -> RawResponse {
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        map.insert(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    RawResponse {
        status,
        headers: map,
        body: body.as_bytes().to_vec(),
    }
}

#[test]
fn dts_success_false_in_a_200_is_an_error_with_dynamic_message() {
    let err = interpret(
        Product::Dts,
        raw(
            200,
            &[],
            r#"{"RequestId":"R1","Success":"false","ErrCode":"InvalidParameter",
               "ErrMessage":"The Value of Input Parameter %s is not valid","DynamicMessage":"DtsJobId",
               "HttpStatusCode":400}"#,
        ),
    )
    .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameter"));
    assert_eq!(
        err.message(),
        "The Value of Input Parameter DtsJobId is not valid"
    );
    assert_eq!(err.request_id(), Some("R1"));
    assert_eq!(err.http_status(), Some(200));
    assert!(err.is_terminal());

    let ok = interpret(
        Product::Dts,
        raw(
            200,
            &[],
            r#"{"RequestId":"R2","Success":true,"ErrCode":""}"#,
        ),
    )
    .unwrap();
    assert_eq!(ok.request_id.as_deref(), Some("R2"));
}

#[test]
fn gateway_errors_in_both_casings_and_xml() {
    let e = interpret(
        Product::Mms,
        raw(
            404,
            &[],
            r#"{"requestId":"r","code":"JobNotFound","message":"job 9 not found"}"#,
        ),
    )
    .unwrap_err();
    assert_eq!((e.code(), e.request_id()), (Some("JobNotFound"), Some("r")));
    assert!(e.is_not_found());

    let e = interpret(
        Product::Dts,
        raw(
            400,
            &[("content-type", "text/xml;charset=utf-8")],
            "<Error><RequestId>X1</RequestId><Code>Throttling.User</Code><Message>Request was denied due to user flow control.</Message></Error>",
        ),
    )
    .unwrap_err();
    assert_eq!(e.code(), Some("Throttling.User"));
    assert!(e.is_throttling());

    let e = interpret(
        Product::Dts,
        raw(
            502,
            &[("x-acs-request-id", "H1")],
            "<html>bad gateway</html>",
        ),
    )
    .unwrap_err();
    assert_eq!(e.http_status(), Some(502));
    assert!(e.is_retryable());

    let e = interpret(
        Product::Mms,
        raw(302, &[("location", "https://elsewhere")], ""),
    )
    .unwrap_err();
    assert!(e.is_terminal(), "redirects are not followed: {e}");

    let e = interpret(Product::Mms, raw(200, &[], "not json")).unwrap_err();
    assert_eq!(e.kind(), crate::aliyun::ErrorKind::Decode);
}

#[test]
fn retry_after_headers() {
    let h = |pairs: &[(&str, &str)]| raw(429, pairs, "").headers;
    assert_eq!(
        retry_after(&h(&[("x-acs-retry-after", "250")])),
        Some(Duration::from_millis(250))
    );
    assert_eq!(
        retry_after(&h(&[("retry-after", "2")])),
        Some(Duration::from_secs(2))
    );
    assert_eq!(
        retry_after(&h(&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")])),
        None
    );
    assert_eq!(retry_after(&h(&[("x-acs-retry-after", "0")])), None);
}

#[test]
fn error_bodies_are_masked_before_anything_reads_them() {
    let e = interpret(
        Product::Dts,
        raw(
            400,
            &[],
            r#"{"Code":"InvalidParameter","Message":"LTAI5tLeakedKeyId rejected","AccessKeySecret":"plaintext"}"#,
        ),
    )
    .unwrap_err();
    let shown = format!("{e} {e:?}");
    assert!(
        !shown.contains("LTAI5tLeakedKeyId") && !shown.contains("plaintext"),
        "{shown}"
    );
}

#[test]
fn idempotency_rule() {
    let throttled = Error::api(ApiErrorParts {
        code: Some("Throttling.User".into()),
        http_status: 400,
        ..Default::default()
    });
    let server = Error::api(ApiErrorParts {
        code: Some("InternalError".into()),
        http_status: 500,
        ..Default::default()
    });
    let timeout = Error::timeout("t");
    let terminal = Error::api(ApiErrorParts {
        code: Some("InvalidParameter".into()),
        http_status: 400,
        ..Default::default()
    });
    for e in [&throttled, &server, &timeout] {
        assert!(Idempotency::Idempotent.allows_retry(e));
        assert!(Idempotency::ClientToken.allows_retry(e));
    }
    assert!(Idempotency::NotIdempotent.allows_retry(&throttled));
    assert!(!Idempotency::NotIdempotent.allows_retry(&server));
    assert!(!Idempotency::NotIdempotent.allows_retry(&timeout));
    assert!(!Idempotency::Idempotent.allows_retry(&terminal));
    let _ = json!(null);
}
