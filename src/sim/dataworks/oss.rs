//! The OSS side of DataWorks packages: the upload bucket that OpenPlatform `AuthorizeFileUpload`
//! grants form POSTs into (policy signed with HMAC-SHA1, as OSS PostObject checks it), and the
//! pre-signed GET of an export's package (`Expires`, `OSSAccessKeyId`, `Signature`).
//!
//! Recognised on the simulator's one port by shape: a `multipart/form-data` POST is a
//! PostObject; a GET of any other path carrying `Signature` and `OSSAccessKeyId` is a
//! pre-signed GetObject. Errors are OSS's XML (`<Error><Code>…</Code><Message>…`).

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha1::Sha1;

use crate::sim::ids::stable_hash;
use crate::sim::wire::Params;

/// The most a package may hold (the 30 MB DataWorks documents for uploads).
pub const MAX_OBJECT_BYTES: usize = 30 * 1024 * 1024;
/// How long grants and pre-signed URLs stay valid (real seconds).
const VALIDITY_SECS: i64 = 3600;

/// One upload grant.
#[derive(Debug, Clone)]
struct Grant {
    access_key_id: String,
    policy: String,
    signature: String,
    expires: i64,
}

/// Objects and grants.
#[derive(Debug)]
pub struct Store {
    pub bucket: String,
    pub endpoint: String,
    secret: String,
    access_key_id: String,
    objects: BTreeMap<String, Vec<u8>>,
    grants: BTreeMap<String, Grant>,
    counter: u64,
    seed: u64,
}

impl Store {
    pub fn new(region: &str, seed: u64) -> Self {
        Self {
            bucket: format!("dataworks-migration-{region}"),
            endpoint: format!("oss-{region}.aliyuncs.com"),
            secret: format!("{:016x}{:016x}", stable_hash(&["oss-secret"], seed), seed),
            access_key_id: format!("STS.NTsimOss{:010x}", stable_hash(&["oss-ak"], seed) >> 24),
            objects: BTreeMap::new(),
            grants: BTreeMap::new(),
            counter: 0,
            seed,
        }
    }

    fn sign(&self, text: &str) -> String {
        let mut mac = Hmac::<Sha1>::new_from_slice(self.secret.as_bytes()).expect("any key length");
        mac.update(text.as_bytes());
        B64.encode(mac.finalize().into_bytes())
    }

    pub fn put(&mut self, key: &str, bytes: Vec<u8>) {
        self.objects.insert(key.to_string(), bytes);
    }

    /// The object a `PackageFile` URL (`http://<bucket>.<endpoint>/<key>`) names.
    pub fn get_by_url(&self, url: &str) -> Option<Vec<u8>> {
        let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
        let (host, key) = rest.split_once('/')?;
        if !host.starts_with(&format!("{}.", self.bucket)) {
            return None;
        }
        self.objects.get(key.split('?').next()?).cloned()
    }

    /// A new upload grant (the body of AuthorizeFileUpload) for `account`.
    pub fn grant(&mut self, account: &str, now_secs: i64) -> Value {
        self.counter += 1;
        let key = format!(
            "dataworks/{account}/{:016x}.zip",
            stable_hash(&[account, &self.counter.to_string()], self.seed)
        );
        let expires = now_secs + VALIDITY_SECS;
        let expiration = jiff::Timestamp::from_second(expires)
            .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S.000Z").to_string())
            .unwrap_or_default();
        let policy = B64.encode(
            json!({
                "expiration": expiration,
                "conditions": [["content-length-range", 0, MAX_OBJECT_BYTES], ["eq", "$key", key]],
            })
            .to_string(),
        );
        let signature = self.sign(&policy);
        self.grants.insert(
            key.clone(),
            Grant {
                access_key_id: self.access_key_id.clone(),
                policy: policy.clone(),
                signature: signature.clone(),
                expires,
            },
        );
        json!({
            "AccessKeyId": self.access_key_id,
            "Bucket": self.bucket,
            "EncodedPolicy": policy,
            "Endpoint": self.endpoint,
            "ObjectKey": key,
            "Signature": signature,
            "UseAccelerate": false,
        })
    }

    /// A pre-signed GET URL of `key`, valid for an hour from `now_secs`.
    pub fn presign(&self, key: &str, now_secs: i64) -> String {
        let expires = now_secs + VALIDITY_SECS;
        let signature = self.sign(&format!("GET\n\n\n{expires}\n/{}/{key}", self.bucket));
        format!(
            "https://{}.{}/{key}?Expires={expires}&OSSAccessKeyId={}&Signature={}",
            self.bucket,
            self.endpoint,
            self.access_key_id,
            crate::aliyun::signer::percent_encode(&signature)
        )
    }

    /// A form POST (PostObject): `(status, body)`.
    pub fn post_object(&mut self, content_type: &str, body: &[u8], now_secs: i64) -> (u16, String) {
        let Some(boundary) = content_type
            .split(';')
            .find_map(|p| p.trim().strip_prefix("boundary="))
            .map(|b| b.trim_matches('"').to_string())
        else {
            return error(400, "InvalidArgument", "multipart boundary missing");
        };
        let fields = multipart(body, &boundary);
        let field = |name: &str| {
            fields
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_slice())
        };
        let text = |name: &str| field(name).map(|v| String::from_utf8_lossy(v).into_owned());
        let (Some(key), Some(file)) = (text("key"), field("file")) else {
            return error(400, "InvalidArgument", "the form needs key and file");
        };
        let Some(grant) = self.grants.get(&key) else {
            return error(403, "AccessDenied", "no upload was authorized for this key");
        };
        if text("OSSAccessKeyId").as_deref() != Some(grant.access_key_id.as_str())
            || text("policy").as_deref() != Some(grant.policy.as_str())
            || text("Signature").as_deref() != Some(grant.signature.as_str())
        {
            return error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            );
        }
        if now_secs > grant.expires {
            return error(
                403,
                "AccessDenied",
                "Invalid according to Policy: Policy expired.",
            );
        }
        if file.len() > MAX_OBJECT_BYTES {
            return error(
                400,
                "EntityTooLarge",
                "Your proposed upload exceeds the maximum allowed size.",
            );
        }
        let etag = format!(
            "{:016X}",
            stable_hash(&[&key, &file.len().to_string()], self.seed)
        );
        self.objects.insert(key.clone(), file.to_vec());
        let status = text("success_action_status")
            .and_then(|s| s.parse::<u16>().ok())
            .filter(|s| matches!(s, 200 | 201 | 204))
            .unwrap_or(204);
        let body = if status == 201 {
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<PostResponse><Bucket>{}</Bucket><Location>http://{}.{}/{key}</Location><Key>{key}</Key><ETag>\"{etag}\"</ETag></PostResponse>",
                self.bucket, self.bucket, self.endpoint
            )
        } else {
            String::new()
        };
        (status, body)
    }

    /// A pre-signed GET: `(status, content type, body)`.
    pub fn get_object(
        &self,
        path: &str,
        query: &Params,
        now_secs: i64,
    ) -> (u16, &'static str, Vec<u8>) {
        let key = path.trim_start_matches('/');
        let key = percent_encoding::percent_decode_str(key)
            .decode_utf8_lossy()
            .into_owned();
        let expires = query.get("Expires").and_then(|e| e.parse::<i64>().ok());
        let expected = expires.map(|e| self.sign(&format!("GET\n\n\n{e}\n/{}/{key}", self.bucket)));
        let xml = |(s, b): (u16, String)| (s, "application/xml", b.into_bytes());
        if query.get("OSSAccessKeyId") != Some(self.access_key_id.as_str())
            || expected.as_deref() != query.get("Signature")
        {
            return xml(error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            ));
        }
        if expires.is_none_or(|e| now_secs > e) {
            return xml(error(403, "AccessDenied", "Request has expired."));
        }
        match self.objects.get(&key) {
            Some(bytes) => (200, "application/zip", bytes.clone()),
            None => xml(error(404, "NoSuchKey", "The specified key does not exist.")),
        }
    }
}

fn error(status: u16, code: &str, message: &str) -> (u16, String) {
    (
        status,
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>5F0000000000000000000000</RequestId><HostId>oss.aliyuncs.com</HostId></Error>"
        ),
    )
}

/// The parts of a multipart/form-data body: (name, bytes).
fn multipart(body: &[u8], boundary: &str) -> Vec<(String, Vec<u8>)> {
    let delimiter = format!("--{boundary}");
    let d = delimiter.as_bytes();
    let mut starts = Vec::new();
    let mut i = 0;
    while i + d.len() <= body.len() {
        if &body[i..i + d.len()] == d {
            starts.push(i);
            i += d.len();
        } else {
            i += 1;
        }
    }
    let mut out = Vec::new();
    for w in starts.windows(2) {
        let part = &body[w[0] + d.len()..w[1]];
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let Some(split) = part.windows(4).position(|x| x == b"\r\n\r\n") else {
            continue;
        };
        let headers = String::from_utf8_lossy(&part[..split]);
        let data = &part[split + 4..];
        let data = data.strip_suffix(b"\r\n").unwrap_or(data);
        let name = headers
            .split(';')
            .find_map(|h| h.trim().strip_prefix("name="))
            .map(|n| n.trim_matches('"').to_string());
        if let Some(name) = name {
            out.push((name, data.to_vec()));
        }
    }
    out
}

/// Whether a request is one of the two OSS shapes; `Some(action)` then.
pub fn classify(
    method: &str,
    path: &str,
    query: &Params,
    content_type: Option<&str>,
) -> Option<&'static str> {
    let multipart =
        content_type.is_some_and(|c| c.to_ascii_lowercase().starts_with("multipart/form-data"));
    if method == "POST" && multipart {
        return Some("PostObject");
    }
    if method == "GET"
        && path != "/"
        && !path.starts_with("/_sim")
        && query.get("Signature").is_some()
        && query.get("OSSAccessKeyId").is_some()
    {
        return Some("GetObject");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_granted_upload_is_stored_and_a_presigned_get_returns_it() {
        let mut s = Store::new("cn-hangzhou", 7);
        let g = s.grant("5000000000000001", 1000);
        let field = |k: &str| g[k].as_str().unwrap().to_string();
        let body = format!(
            "--b\r\ncontent-disposition: form-data; name=\"OSSAccessKeyId\"\r\n\r\n{}\r\n--b\r\ncontent-disposition: form-data; name=\"policy\"\r\n\r\n{}\r\n--b\r\ncontent-disposition: form-data; name=\"Signature\"\r\n\r\n{}\r\n--b\r\ncontent-disposition: form-data; name=\"key\"\r\n\r\n{}\r\n--b\r\ncontent-disposition: form-data; name=\"success_action_status\"\r\n\r\n201\r\n--b\r\ncontent-disposition: form-data; name=\"file\"; filename=\"x\"\r\n\r\nPK\x03\x04zip\r\n--b--\r\n",
            field("AccessKeyId"),
            field("EncodedPolicy"),
            field("Signature"),
            field("ObjectKey")
        );
        let (status, xml) = s.post_object("multipart/form-data; boundary=b", body.as_bytes(), 1001);
        assert_eq!(status, 201, "{xml}");
        let url = format!("http://{}.{}/{}", s.bucket, s.endpoint, field("ObjectKey"));
        assert_eq!(s.get_by_url(&url).unwrap(), b"PK\x03\x04zip");
        let tampered = body.replace(&field("Signature"), "AAAA");
        assert_eq!(
            s.post_object("multipart/form-data; boundary=b", tampered.as_bytes(), 1001)
                .0,
            403
        );

        let presigned = s.presign(&field("ObjectKey"), 1000);
        let (path, query) = presigned
            .split_once(".com")
            .unwrap()
            .1
            .split_once('?')
            .unwrap();
        let q = Params::from_query(query);
        assert_eq!(s.get_object(path, &q, 1500).0, 200);
        assert_eq!(s.get_object(path, &q, 9999).0, 403, "expired");
        let forged = Params::from_query(&query.replace("Signature=", "Signature=x"));
        assert_eq!(s.get_object(path, &forged, 1500).0, 403);
    }
}
