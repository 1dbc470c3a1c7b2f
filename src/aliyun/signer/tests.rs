//! Replays `tests/data/signature-vectors.json` (produced by the official Python SDK code).

use serde_json::Value;

use super::*;

const VECTORS: &str = include_str!("../../../tests/data/signature-vectors.json");

fn vectors() -> Vec<Value> {
    let all: Value = serde_json::from_str(VECTORS).expect("vectors parse");
    all["vectors"].as_array().expect("vectors array").clone()
}

fn pairs(map: &Value) -> Vec<(String, String)> {
    map.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().expect("string value").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} missing in {v}"))
}

/// Checks one V3 signing: canonical request, string to sign, signature and Authorization.
#[allow(clippy::too_many_arguments)]
fn check_v3(
    name: &str,
    method: &str,
    uri: &str,
    query: &[(String, String)],
    headers: &[(String, String)],
    payload: &str,
    key: (&str, &str),
    expected: &Value,
) {
    let input = CanonicalInput {
        method,
        canonical_uri: uri,
        query,
        headers,
        hashed_payload: payload,
    };
    let canonical = canonical_request(&input);
    assert_eq!(
        canonical.text,
        s(expected, "canonical_request"),
        "{name}: canonical request"
    );
    let sts = string_to_sign_v3(&canonical.text);
    assert_eq!(sts, s(expected, "string_to_sign"), "{name}: string to sign");
    let signature = signature_v3(key.1, &sts);
    assert_eq!(signature, s(expected, "signature"), "{name}: signature");
    assert_eq!(
        authorization_v3(key.0, &canonical.signed_headers, &signature),
        s(expected, "authorization"),
        "{name}: authorization"
    );
    assert_eq!(sign_v3(&input, key.0, key.1), s(expected, "authorization"));
}

#[test]
fn every_v3_vector_reproduces_exactly() {
    let mut checked = 0;
    for v in vectors() {
        if v["signature_algorithm"] != "ACS3-HMAC-SHA256" {
            continue;
        }
        let name = s(&v, "name");
        let inputs = &v["inputs"];
        let key = (s(inputs, "access_key_id"), s(inputs, "access_key_secret"));
        let payload = s(&v, "hashed_payload");
        if let Some(sent) = v.get("request_as_sent") {
            let query = pairs(&sent["query"]);
            let uri = s(sent, "pathname");
            let method = s(sent, "method");
            if let Some(body) = sent["body"].as_str() {
                assert_eq!(sha256_hex(body.as_bytes()), payload, "{name}: body hash");
            } else {
                assert_eq!(payload, EMPTY_SHA256);
            }
            // The Python SDK signs every header it sends.
            let all: Vec<(String, String)> = pairs(&sent["headers"])
                .into_iter()
                .filter(|(k, _)| k != "Authorization")
                .collect();
            check_v3(name, method, uri, &query, &all, payload, key, &v);
            // The variant a minimal signer produces: host, content-type, x-acs-*.
            let minimal = &v["minimal_signed_headers_variant"];
            let headers = pairs(&minimal["signed_headers_input"]);
            check_v3(name, method, uri, &query, &headers, payload, key, minimal);
            checked += 2;
        } else {
            let query = pairs(&inputs["query"]);
            let headers = pairs(&inputs["headers"]);
            let (method, uri) = (s(inputs, "method"), s(inputs, "pathname"));
            check_v3(name, method, uri, &query, &headers, payload, key, &v);
            checked += 1;
        }
    }
    assert_eq!(
        checked, 17,
        "all V3 vectors (8 with two variants, the doc example once)"
    );
}

#[test]
fn every_legacy_rpc_vector_reproduces_exactly() {
    let mut checked = 0;
    for v in vectors() {
        if !s(&v, "signature_algorithm").starts_with("HMAC-SHA1") {
            continue;
        }
        let name = s(&v, "name");
        let inputs = &v["inputs"];
        let params = match v.get("signed_params") {
            Some(p) => pairs(p),
            None => pairs(&inputs["params"]),
        };
        let sts = rpc_v2_string_to_sign(s(inputs, "method"), &params);
        assert_eq!(sts, s(&v, "string_to_sign"), "{name}: string to sign");
        assert_eq!(
            rpc_v2_signature(s(inputs, "access_key_secret"), &sts),
            s(&v, "signature"),
            "{name}: signature"
        );
        checked += 1;
    }
    assert_eq!(checked, 4);
}

#[test]
fn percent_encoding_follows_rfc3986() {
    assert_eq!(
        percent_encode("a b*c~d/e+f=&%"),
        "a%20b%2Ac~d%2Fe%2Bf%3D%26%25"
    );
    assert_eq!(percent_encode("数"), "%E6%95%B0");
    assert_eq!(percent_encode("AZaz09-_.~"), "AZaz09-_.~");
}

#[test]
fn empty_query_and_empty_uri() {
    let c = canonical_request(&CanonicalInput {
        method: "get",
        canonical_uri: "",
        query: &[],
        headers: &[("Host".into(), " h ".into())],
        hashed_payload: EMPTY_SHA256,
    });
    assert_eq!(c.text, format!("GET\n/\n\nhost:h\n\nhost\n{EMPTY_SHA256}"));
}

#[test]
fn repeated_headers_are_joined() {
    let c = canonical_request(&CanonicalInput {
        method: "GET",
        canonical_uri: "/",
        query: &[],
        headers: &[
            ("x-acs-a".into(), "2".into()),
            ("X-Acs-A".into(), "1".into()),
        ],
        hashed_payload: EMPTY_SHA256,
    });
    assert!(c.text.contains("x-acs-a:1,2\n"));
    assert_eq!(c.signed_headers, "x-acs-a");
}

#[test]
fn authorization_round_trips_through_the_parser() {
    let header = authorization_v3("testid", "host;x-acs-date", "abc123");
    let parsed = parse_authorization_v3(&header).unwrap();
    assert_eq!(parsed.access_key_id, "testid");
    assert_eq!(parsed.signed_headers, ["host", "x-acs-date"]);
    assert_eq!(parsed.signature, "abc123");
}

#[test]
fn malformed_authorizations_are_rejected() {
    for bad in [
        "",
        "ACS3-HMAC-SHA256",
        "ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host",
        "ACS3-HMAC-SHA1 Credential=a,SignedHeaders=host,Signature=x",
        "ACS3-HMAC-SHA256 Credential=,SignedHeaders=host,Signature=x",
        "ACS3-HMAC-SHA256 Credential=a,SignedHeaders=,Signature=x",
        "ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host,Signature=x,Extra=1",
    ] {
        assert!(parse_authorization_v3(bad).is_none(), "{bad:?} accepted");
    }
}

#[test]
fn constant_time_eq_compares_exactly() {
    assert!(constant_time_eq("abc", "abc"));
    assert!(!constant_time_eq("abc", "abd"));
    assert!(!constant_time_eq("abc", "ab"));
}
