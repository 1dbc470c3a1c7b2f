//! The two OSS exchanges of a package: the form POST of the SDK's Advance flow (with an
//! OpenPlatform grant) and the download of an export from its pre-signed URL. Neither is a
//! V3-signed API call: OSS checks the grant's policy signature or the URL's own signature.
//!
//! With [`CloudConfig::endpoint_override`](crate::aliyun::CloudConfig) set, both go to the
//! override (path and query kept), like every other cloud call.

use reqwest::Url;

use super::{DataWorksClient, UploadGrant};
use crate::aliyun::endpoint::Product;
use crate::aliyun::error::Error;
use crate::aliyun::retry::CallMeta;
use crate::aliyun::scrub::Scrubber;
use crate::aliyun::secret::SecretString;
use crate::aliyun::transport::{Idempotency, RawResponse, interpret, send};

/// The size cap DataWorks documents for packages uploaded from a local machine (30 MB); the
/// operator applies it to every package it moves.
pub const MAX_PACKAGE_BYTES: usize = 30 * 1024 * 1024;

impl DataWorksClient {
    fn oss_meta<'a>(&'a self, action: &'a str) -> CallMeta<'a> {
        CallMeta {
            product: Product::Oss,
            action,
            region: &self.region,
            identity: self.credentials.short_id(),
            // The same object key written twice holds the same bytes; a download is a read.
            idempotency: Idempotency::Idempotent,
            pacer: &self.pacer,
        }
    }

    /// Where a request for `url` goes: the override's scheme and authority when one is set.
    fn oss_url(&self, url: &str) -> Result<Url, Error> {
        let mut parsed =
            Url::parse(url).map_err(|_| Error::config("the OSS URL does not parse"))?;
        if let Some(base) = &self.cloud.inner.config.endpoint_override {
            let base = Url::parse(base)
                .map_err(|e| Error::config(format!("invalid endpoint override: {e}")))?;
            parsed
                .set_scheme(base.scheme())
                .map_err(|_| Error::config("cannot apply the endpoint override's scheme"))?;
            parsed
                .set_host(base.host_str())
                .map_err(|_| Error::config("cannot apply the endpoint override's host"))?;
            parsed
                .set_port(base.port())
                .map_err(|_| Error::config("cannot apply the endpoint override's port"))?;
        }
        Ok(parsed)
    }

    /// Uploads `package` (a zip) with `grant` (OSS PostObject, `success_action_status=201`);
    /// returns the `PackageFile` for CreateImportMigration.
    pub async fn upload_package(
        &self,
        grant: &UploadGrant,
        package: &[u8],
    ) -> Result<String, Error> {
        if package.len() > MAX_PACKAGE_BYTES {
            return Err(Error::config(format!(
                "the package has {} bytes; DataWorks accepts at most {MAX_PACKAGE_BYTES}",
                package.len()
            )));
        }
        let url = self.oss_url(&format!("https://{}.{}/", grant.bucket, grant.endpoint))?;
        let inner = &self.cloud.inner;
        let url = &url;
        inner
            .run(self.oss_meta("PostObject"), move |_| async move {
                let boundary = format!("amo{}", hex::encode(rand::random::<[u8; 12]>()));
                let body = form_body(&boundary, grant, package);
                let request = inner
                    .http
                    .post(url.clone())
                    .header(
                        "content-type",
                        format!("multipart/form-data; boundary={boundary}"),
                    )
                    .header("user-agent", &inner.config.user_agent)
                    .body(body)
                    .build()
                    .map_err(Error::from_reqwest)?;
                let raw = send(&inner.http, request, inner.config.attempt_timeout).await?;
                if (200..300).contains(&raw.status) {
                    Ok(())
                } else {
                    let sent = inner.sent.remember(
                        [
                            &grant.access_key_id,
                            &grant.signature,
                            &grant.encoded_policy,
                        ]
                        .into_iter()
                        .chain(grant.security_token.as_ref())
                        .map(|s| s.expose_secret().to_string())
                        .collect(),
                    );
                    Err(refusal(raw, "PostObject", &sent))
                }
            })
            .await?;
        Ok(grant.package_file())
    }

    /// Downloads a package from a pre-signed URL (an export's `DownloadUrl`, or one the user
    /// keeps in a Secret), at most [`MAX_PACKAGE_BYTES`].
    pub async fn download_package(&self, url: &SecretString) -> Result<Vec<u8>, Error> {
        let url = self.oss_url(url.expose_secret())?;
        let inner = &self.cloud.inner;
        let url = &url;
        inner
            .run(self.oss_meta("GetObject"), move |_| async move {
                let request = inner
                    .http
                    .get(url.clone())
                    .header("user-agent", &inner.config.user_agent)
                    .build()
                    .map_err(Error::from_reqwest)?;
                let fetch = async {
                    let mut response = inner.http.execute(request).await.map_err(Error::from_reqwest)?;
                    let status = response.status().as_u16();
                    let headers = response.headers().clone();
                    let mut body = Vec::new();
                    while let Some(chunk) = response.chunk().await.map_err(Error::from_reqwest)? {
                        body.extend_from_slice(&chunk);
                        if body.len() > MAX_PACKAGE_BYTES {
                            return Err(Error::config(format!(
                                "the package is larger than {MAX_PACKAGE_BYTES} bytes, the most DataWorks accepts"
                            )));
                        }
                    }
                    Ok(RawResponse { status, headers, body })
                };
                let raw = tokio::time::timeout(inner.config.attempt_timeout, fetch)
                    .await
                    .unwrap_or_else(|_| Err(Error::timeout("the package download did not finish in time")))?;
                if raw.status == 200 {
                    Ok(raw.body)
                } else {
                    // The pre-signed URL's query values are what this request sent.
                    let sent = inner.sent.remember(
                        url.query_pairs().map(|(_, v)| v.into_owned()).collect(),
                    );
                    Err(refusal(raw, "GetObject", &sent))
                }
            })
            .await
    }
}

/// The error an OSS refusal (XML `<Error><Code>…`) describes, scrubbed and masked like every
/// answer.
fn refusal(raw: RawResponse, action: &str, sent: &Scrubber) -> Error {
    match interpret(Product::Oss, raw, sent) {
        Err(e) => e.with_call("oss", action),
        Ok(_) => Error::decode(format!("OSS {action} failed without an error status")),
    }
}

/// The PostObject form: the grant's fields, then the file (OSS wants it last).
fn form_body(boundary: &str, grant: &UploadGrant, package: &[u8]) -> Vec<u8> {
    let mut fields: Vec<(&str, &str)> = vec![
        ("OSSAccessKeyId", grant.access_key_id.expose_secret()),
        ("policy", grant.encoded_policy.expose_secret()),
        ("Signature", grant.signature.expose_secret()),
        ("key", &grant.object_key),
        ("success_action_status", "201"),
    ];
    if let Some(token) = &grant.security_token {
        fields.push(("x-oss-security-token", token.expose_secret()));
    }
    let mut body = Vec::with_capacity(package.len() + 1024);
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\ncontent-disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\ncontent-disposition: form-data; name=\"file\"; filename=\"{}\"\r\ncontent-type: application/zip\r\n\r\n",
            grant.object_key
        )
        .as_bytes(),
    );
    body.extend_from_slice(package);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}
