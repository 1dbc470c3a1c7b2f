//! Lenient deserialization for Alibaba Cloud responses, whose JSON types drift between
//! operations and API versions (`docs/cloud-apis.md#dts-wire-quirks`): numbers arrive as strings,
//! booleans as `"true"`, lists as XML-style wrapper objects (`{"CheckItem": [...]}`), and masked
//! values as `"********"` where a number or boolean was. None of this may fail a whole response:
//! an unusable scalar becomes `None`, an unusable list item is skipped.
//!
//! Every helper reads through `serde_json::Value`, which is what the client parses into first
//! anyway (to mask it).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A scalar as text: strings as they are, numbers and booleans formatted; empty → `None`.
pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) if !s.is_empty() => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    })
}

/// An integer from a number or a numeric string (`"1612507847"`, `" 42 "`, `"42.0"`).
pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(value_i64(&Value::deserialize(d)?))
}

/// A float from a number or a numeric string.
pub fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(value_f64(&Value::deserialize(d)?))
}

/// A boolean from `true`, `"true"`, `"True"`, `1`, `"1"`, `"Y"` (and the negatives).
pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(value_bool(&Value::deserialize(d)?))
}

/// Like [`opt_string`], `""` when absent or unusable.
pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(opt_string(d)?.unwrap_or_default())
}

/// Like [`opt_i64`], `0` when absent or unusable (ids and counters).
pub fn int<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    Ok(opt_i64(d)?.unwrap_or_default())
}

/// Like [`opt_bool`], `false` when absent or unusable.
pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(opt_bool(d)?.unwrap_or_default())
}

/// A list of integers (numbers or numeric strings); other items are skipped.
pub fn int_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<i64>, D::Error> {
    Ok(items_of(Value::deserialize(d)?)
        .iter()
        .filter_map(value_i64)
        .collect())
}

/// A string → string map whose values may be any scalar; other entries are skipped.
pub fn string_map<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<std::collections::BTreeMap<String, String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Object(map) => map
            .into_iter()
            .filter_map(|(k, v)| value_string(&v).map(|v| (k, v)))
            .collect(),
        _ => Default::default(),
    })
}

/// A list that may arrive as an array, as a wrapper object with one list inside
/// (`{"CheckItem": [...]}`, the legacy XML-to-JSON shape), as a single object (a one-element
/// list after XML conversion), or as null / `""`. Items that do not parse are skipped.
pub fn vec_or_wrapped<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    Ok(items_of(Value::deserialize(d)?)
        .into_iter()
        .filter_map(|item| serde_json::from_value(item).ok())
        .collect())
}

/// A list of strings: an array of scalars, or a comma-separated string.
pub fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        other => items_of(other)
            .into_iter()
            .filter_map(|v| value_string(&v))
            .collect(),
    })
}

/// JSON that may arrive embedded in a string (`"Reserved": "{\"a\":1}"`) or as an object.
pub fn json_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(serde_json::from_str(&s).unwrap_or(Value::String(s))),
        other => Some(other),
    })
}

/// The elements of a list-ish value (see [`vec_or_wrapped`]).
pub fn items_of(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items,
        Value::Object(map) if map.len() == 1 => {
            let inner = map.into_iter().next().map(|(_, v)| v).unwrap_or_default();
            match inner {
                Value::Array(items) => items,
                obj @ Value::Object(_) => vec![obj],
                _ => Vec::new(),
            }
        }
        obj @ Value::Object(_) => vec![obj],
        _ => Vec::new(),
    }
}

/// Text of a scalar value.
pub fn value_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Integer of a scalar value.
pub fn value_i64(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<i64>().ok().or_else(|| {
                s.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .map(|f| f as i64)
            })
        }
        _ => None,
    }
}

/// Float of a scalar value.
pub fn value_f64(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

/// Boolean of a scalar value.
pub fn value_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_i64().map(|i| i != 0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "y" | "yes" => Some(true),
            "false" | "0" | "n" | "no" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Case-insensitive access to the members of a JSON object, for response shapes whose key
/// casing drifts (`DtsInstanceID`/`DtsInstanceId`, `Status`/`status`, `IP`/`Ip`).
#[derive(Debug, Clone, Copy)]
pub struct Fields<'a>(pub &'a Value);

impl<'a> Fields<'a> {
    /// The first member whose key equals one of `names`, ignoring ASCII case.
    pub fn get(&self, names: &[&str]) -> Option<&'a Value> {
        let map = self.0.as_object()?;
        names.iter().find_map(|name| {
            map.get(*name).or_else(|| {
                map.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v)
            })
        })
    }

    pub fn string(&self, names: &[&str]) -> Option<String> {
        self.get(names).and_then(value_string)
    }

    pub fn int(&self, names: &[&str]) -> Option<i64> {
        self.get(names).and_then(value_i64)
    }

    pub fn float(&self, names: &[&str]) -> Option<f64> {
        self.get(names).and_then(value_f64)
    }

    pub fn boolean(&self, names: &[&str]) -> Option<bool> {
        self.get(names).and_then(value_bool)
    }

    /// A nested object (also when it arrives as JSON text).
    pub fn object(&self, names: &[&str]) -> Option<Value> {
        match self.get(names)? {
            obj @ Value::Object(_) => Some(obj.clone()),
            Value::String(s) => serde_json::from_str::<Value>(s)
                .ok()
                .filter(Value::is_object),
            _ => None,
        }
    }

    /// A list, plain or wrapped (see [`items_of`]).
    pub fn list(&self, names: &[&str]) -> Vec<Value> {
        self.get(names).cloned().map(items_of).unwrap_or_default()
    }

    /// JSON that may be embedded in a string.
    pub fn json(&self, names: &[&str]) -> Option<Value> {
        match self.get(names)? {
            Value::Null => None,
            Value::String(s) if s.trim().is_empty() => None,
            Value::String(s) => Some(serde_json::from_str(s).unwrap_or(Value::String(s.clone()))),
            other => Some(other.clone()),
        }
    }
}

/// Declares a string enum with an `Other(String)` fallback, parsed case-insensitively from any
/// of its wire spellings (first one is canonical) and serialized back as the canonical spelling.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => [$canonical:literal $(, $alias:literal)* $(,)?] ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this client does not know (kept verbatim).
            Other(String),
        }

        impl $name {
            /// The canonical wire spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $canonical, )+
                    Self::Other(s) => s.as_str(),
                }
            }

            /// Parses any known spelling, ignoring case; unknown values become `Other`.
            pub fn parse(s: &str) -> Self {
                let t = s.trim();
                $(
                    if t.eq_ignore_ascii_case($canonical) $(|| t.eq_ignore_ascii_case($alias))* {
                        return Self::$variant;
                    }
                )+
                Self::Other(t.to_string())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(Self::parse(s))
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let v = <serde_json::Value as serde::Deserialize>::deserialize(d)?;
                $crate::aliyun::lenient::value_string(&v)
                    .map(|s| Self::parse(&s))
                    .ok_or_else(|| serde::de::Error::custom(concat!("expected a ", stringify!($name))))
            }
        }
    };
}

pub(crate) use string_enum;

/// `Option<enum>` fields: unknown shapes (null, empty, objects) become `None` instead of failing.
pub fn opt_enum<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let v = Value::deserialize(d)?;
    Ok(match v {
        Value::Null => None,
        Value::String(ref s) if s.is_empty() => None,
        other => serde_json::from_value(other).ok(),
    })
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize, Default)]
    #[serde(default)]
    struct Drift {
        #[serde(deserialize_with = "opt_i64")]
        n: Option<i64>,
        #[serde(deserialize_with = "opt_bool")]
        b: Option<bool>,
        #[serde(deserialize_with = "opt_string")]
        s: Option<String>,
        #[serde(deserialize_with = "vec_or_wrapped")]
        items: Vec<Item>,
        #[serde(deserialize_with = "string_list")]
        names: Vec<String>,
    }

    #[derive(Debug, Deserialize, Default, PartialEq)]
    #[serde(default)]
    struct Item {
        #[serde(rename = "ItemName")]
        name: String,
    }

    #[test]
    fn scalars_drift_between_strings_numbers_and_booleans() {
        let d: Drift =
            serde_json::from_value(json!({"n": "1612507847", "b": "True", "s": 95})).unwrap();
        assert_eq!(
            (d.n, d.b, d.s.as_deref()),
            (Some(1612507847), Some(true), Some("95"))
        );
        let d: Drift = serde_json::from_value(json!({"n": 3.0, "b": 0, "s": true})).unwrap();
        assert_eq!(
            (d.n, d.b, d.s.as_deref()),
            (Some(3), Some(false), Some("true"))
        );
        let d: Drift =
            serde_json::from_value(json!({"n": "********", "b": "********", "s": ""})).unwrap();
        assert_eq!((d.n, d.b, d.s), (None, None, None));
        let d: Drift = serde_json::from_value(json!({})).unwrap();
        assert_eq!(d.n, None);
    }

    #[test]
    fn lists_arrive_plain_wrapped_single_or_missing() {
        let want = vec![Item { name: "a".into() }, Item { name: "b".into() }];
        let plain: Drift =
            serde_json::from_value(json!({"items": [{"ItemName": "a"}, {"ItemName": "b"}]}))
                .unwrap();
        assert_eq!(plain.items, want);
        let wrapped: Drift = serde_json::from_value(
            json!({"items": {"CheckItem": [{"ItemName": "a"}, {"ItemName": "b"}]}}),
        )
        .unwrap();
        assert_eq!(wrapped.items, want);
        let single: Drift =
            serde_json::from_value(json!({"items": {"CheckItem": {"ItemName": "a"}}})).unwrap();
        assert_eq!(single.items, vec![Item { name: "a".into() }]);
        let junk: Drift =
            serde_json::from_value(json!({"items": [1, {"ItemName": "a"}], "names": "x, y"}))
                .unwrap();
        assert_eq!(junk.items, vec![Item { name: "a".into() }]);
        assert_eq!(junk.names, vec!["x", "y"]);
    }

    string_enum! {
        /// Test enum.
        pub enum Colour {
            Red => ["RED", "rouge"],
            Green => ["Green"],
        }
    }

    #[test]
    fn string_enums_parse_any_case_and_keep_unknowns() {
        assert_eq!(Colour::parse("red"), Colour::Red);
        assert_eq!(Colour::parse("Rouge"), Colour::Red);
        assert_eq!(Colour::parse("GREEN"), Colour::Green);
        assert_eq!(Colour::parse("blue"), Colour::Other("blue".into()));
        assert_eq!(serde_json::to_value(Colour::Red).unwrap(), json!("RED"));
        let c: Colour = serde_json::from_value(json!("green")).unwrap();
        assert_eq!(c, Colour::Green);
    }
}
