use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::*;

#[test]
fn seed_keys_are_masked_whatever_the_value_type() {
    let masked = mask(json!({
        "Password": "p@ss",
        "dbPassword": 12345,
        "AccessKeySecret": "s",
        "SecurityToken": {"nested": "token body"},
        "access_key_id": "id",
        "access-id": "id2",
        "ACCESSKEYID": null,
        "AccessKey": "plain",
        "gcpCredentials": {"type": "service_account"},
        "private_key": "-----BEGIN",
        "keep": "visible",
    }));
    for key in [
        "Password",
        "dbPassword",
        "AccessKeySecret",
        "SecurityToken",
        "access_key_id",
        "access-id",
        "ACCESSKEYID",
        "AccessKey",
        "gcpCredentials",
        "private_key",
    ] {
        assert_eq!(masked[key], MASK, "{key}");
    }
    assert_eq!(masked["keep"], "visible");
}

#[test]
fn ltai_values_are_masked_in_objects_arrays_and_text() {
    let masked = mask(json!({
        "UserName": "LTAI5tAbCdEfGh123456",
        "list": ["LTAI5tZzz", "plain"],
        "ErrMessage": "The AccessKey LTAI5tAbCdEfGh123456 is disabled.",
    }));
    assert_eq!(masked["UserName"], MASK);
    assert_eq!(masked["list"], json!([MASK, "plain"]));
    assert_eq!(
        masked["ErrMessage"],
        format!("The AccessKey {MASK} is disabled.")
    );
}

#[test]
fn mms_config_items_are_masked_by_their_key_field() {
    let masked = mask(json!({"data": {"config": [
        {"key": "hive.password", "value": "hunter2", "type": "string"},
        {"key": "bigquery.credential.file", "value": "x", "type": "password"},
        {"key": "mc.default.project", "value": "mms_target", "type": "string"},
        {"key": "hive.kerberos.principal", "name": "Secret key file", "defaultValue": "dflt"},
    ]}}));
    let items = masked["data"]["config"].as_array().unwrap();
    assert_eq!(items[0]["value"], MASK);
    assert_eq!(items[0]["key"], "hive.password");
    assert_eq!(items[1]["value"], MASK);
    assert_eq!(items[2]["value"], "mms_target");
    assert_eq!(items[3]["defaultValue"], MASK);
}

#[test]
fn dataworks_download_urls_and_upload_grants_are_masked() {
    let url = "https://dw-export.oss-cn-hangzhou.aliyuncs.com/x/pkg.zip?Expires=1700000000&OSSAccessKeyId=STS.NVy&Signature=k%2Fq%2BPlanted%3D";
    let masked = mask(json!({
        "Data": {"DownloadUrl": url, "Status": "EXPORT_SUCCESS"},
        "Signature": "upload-signature",
        "EncodedPolicy": "eyJleHBpcmF0aW9uIjoi",
        "ObjectKey": "dataworks/123/pkg.zip",
        "Message": format!("could not fetch {url}"),
    }));
    assert_eq!(masked["Data"]["DownloadUrl"], MASK);
    assert_eq!(masked["Data"]["Status"], "EXPORT_SUCCESS");
    assert_eq!(masked["Signature"], MASK);
    assert_eq!(masked["EncodedPolicy"], MASK);
    assert_eq!(masked["ObjectKey"], "dataworks/123/pkg.zip");
    let text = masked["Message"].as_str().unwrap();
    assert!(
        !text.contains("Planted") && !text.contains("STS.NVy"),
        "{text}"
    );
    assert!(text.contains("Expires=1700000000"), "{text}");
    assert_eq!(
        mask_text(text),
        text,
        "masking a masked text changes nothing"
    );
}

#[test]
fn json_inside_strings_is_masked_only_when_needed() {
    let reserved = r#"{"srcPassword":"pw","targetTableMode":"2"}"#;
    let untouched = r#"{ "targetTableMode" : "2" }"#;
    let masked = mask(json!({"Reserved": reserved, "DbObject": untouched}));
    let inner: Value = serde_json::from_str(masked["Reserved"].as_str().unwrap()).unwrap();
    assert_eq!(inner["srcPassword"], MASK);
    assert_eq!(inner["targetTableMode"], "2");
    assert_eq!(masked["DbObject"], untouched, "byte-identical when clean");
}

#[test]
fn mask_text_scrubs_free_text() {
    assert_eq!(
        mask_text("key LTAI5tQwErTy is bad"),
        format!("key {MASK} is bad")
    );
    assert_eq!(mask_text("nothing here"), "nothing here");
}

// ---------------------------------------------------------------------------------------------
// Property tests

/// Text that contains nothing the rule would mask.
fn clean_text() -> impl Strategy<Value = String> {
    "[ -~]{0,16}".prop_filter("not secret-looking", |s| {
        !s.contains("LTAI")
            && !is_secret_key(s)
            && !s.trim_start().starts_with('{')
            && !s.trim_start().starts_with('[')
    })
}

fn clean_key() -> impl Strategy<Value = String> {
    "[a-zA-Z_.]{1,12}".prop_filter("not a secret or config-item key", |k| {
        !is_secret_key(k) && !CONFIG_NAME_FIELDS.contains(&k.as_str())
    })
}

fn clean_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        clean_text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(clean_key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A secret key with random casing and optional prefix/suffix.
fn secret_key() -> impl Strategy<Value = String> {
    let bases = prop::sample::select(vec![
        "password",
        "secret",
        "token",
        "access_id",
        "access.key",
        "access-key",
        "accessKeyId",
        "accessKeySecret",
        "SecurityToken",
        "SourceEndpointPassword",
    ]);
    (
        bases,
        prop::collection::vec(any::<bool>(), 32),
        "[a-z]{0,3}",
        "[A-Z]{0,3}",
    )
        .prop_map(|(base, flips, prefix, suffix)| {
            let cased: String = base
                .chars()
                .zip(flips.iter().cycle())
                .map(|(c, up)| {
                    if *up {
                        c.to_ascii_uppercase()
                    } else {
                        c.to_ascii_lowercase()
                    }
                })
                .collect();
            format!("{prefix}{cased}{suffix}")
        })
}

#[derive(Debug, Clone)]
enum Plant {
    /// `{secret_key: "<marker>"}` merged into an object (or wrapped around a scalar/array).
    Keyed(String, String),
    /// An `LTAI…` string pushed into an array or set as a value.
    AccessKeyId(String),
    /// A config item `{"key": "x.password", "value": "<marker>"}`.
    ConfigItem(String),
}

fn plant() -> impl Strategy<Value = Plant> {
    prop_oneof![
        (secret_key(), "SECRET[A-Za-z0-9]{8,16}").prop_map(|(k, v)| Plant::Keyed(k, v)),
        "[A-Za-z0-9]{8,16}".prop_map(|v| Plant::AccessKeyId(format!("LTAI{v}"))),
        "SECRET[A-Za-z0-9]{8,16}".prop_map(Plant::ConfigItem),
    ]
}

impl Plant {
    fn marker(&self) -> &str {
        match self {
            Plant::Keyed(_, v) | Plant::AccessKeyId(v) | Plant::ConfigItem(v) => v,
        }
    }
}

/// Walks `path` (choices at each level) into `value` and plants the secret there.
fn plant_at(value: &mut Value, path: &[usize], secret: &Plant) {
    let here = |v: &mut Value| match (v, secret) {
        (Value::Object(map), Plant::Keyed(k, s)) => {
            map.insert(k.clone(), Value::String(s.clone()));
        }
        (Value::Array(items), Plant::AccessKeyId(s)) => items.push(Value::String(s.clone())),
        (Value::Array(items), Plant::ConfigItem(s)) => {
            items.push(json!({"key": "source.password", "value": s}))
        }
        (v, Plant::Keyed(k, s)) => {
            let old = v.take();
            *v = json!({"data": old, k.clone(): s});
        }
        (v, Plant::AccessKeyId(s)) => *v = json!([v.take(), s]),
        (v, Plant::ConfigItem(s)) => {
            let old = v.take();
            *v = json!({"data": old, "config": [{"key": "hive.password", "value": s}]});
        }
    };
    // A planted config item is kept whole: its `key` must stay the string that names it.
    let is_config_item = value
        .as_object()
        .is_some_and(|m| m.contains_key("key") && m.contains_key("value"));
    match (path.split_first(), &mut *value) {
        (Some((choice, rest)), Value::Object(map)) if !map.is_empty() && !is_config_item => {
            let idx = choice % map.len();
            let key = map.keys().nth(idx).cloned().expect("index in range");
            plant_at(map.get_mut(&key).expect("key exists"), rest, secret);
        }
        (Some((choice, rest)), Value::Array(items)) if !items.is_empty() => {
            let idx = choice % items.len();
            plant_at(&mut items[idx], rest, secret);
        }
        _ => here(value),
    }
}

proptest! {
    // No regression files: they would land outside `src/aliyun/`; failing inputs are shrunk and
    // printed, and worth turning into a named test.
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn planted_secrets_never_survive(
        base in clean_json(),
        plants in prop::collection::vec((prop::collection::vec(any::<usize>(), 0..5), plant()), 1..5),
    ) {
        let mut value = base;
        for (path, secret) in &plants {
            plant_at(&mut value, path, secret);
        }
        let masked = mask(value);
        let text = masked.to_string();
        for (_, secret) in &plants {
            prop_assert!(!text.contains(secret.marker()), "{} survived in {}", secret.marker(), text);
        }
        prop_assert!(!text.contains("LTAI"), "LTAI survived in {}", text);
    }

    #[test]
    fn non_secret_data_is_untouched(value in clean_json()) {
        let before = value.to_string();
        let mut masked = value.clone();
        prop_assert!(!mask_in_place(&mut masked));
        prop_assert_eq!(masked.to_string(), before);
    }

    #[test]
    fn masking_is_idempotent(base in clean_json(), secret in plant(), path in prop::collection::vec(any::<usize>(), 0..4)) {
        let mut value = base;
        plant_at(&mut value, &path, &secret);
        let once = mask(value);
        let twice = mask(once.clone());
        prop_assert_eq!(once, twice);
    }
}
