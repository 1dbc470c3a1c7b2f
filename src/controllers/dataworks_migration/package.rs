//! The bytes of a package to upload: an export's download (its pre-signed URL read from
//! DataWorks at this moment, never stored), a ConfigMap key, or a URL kept in a Secret.

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::ResourceExt;
use kube::api::Api;

use super::decide::PackageOrigin;
use crate::aliyun::{DataWorksClient, SecretString};
use crate::api::dataworks_migration::DataWorksMigration;
use crate::controllers::context::Context;
use crate::controllers::error::{Error, Result};

pub async fn read(
    ctx: &Context,
    dw: &DataWorksClient,
    m: &DataWorksMigration,
    origin: &PackageOrigin,
) -> Result<Vec<u8>> {
    let ns = m.namespace().unwrap_or_default();
    match origin {
        PackageOrigin::Export {
            project_id,
            migration_id,
        } => {
            let url = dw
                .export_download_url(*project_id, *migration_id)
                .await?
                .ok_or_else(|| {
                    Error::Dependency(format!(
                        "export task {migration_id} reports no download URL yet"
                    ))
                })?;
            Ok(dw.download_package(&url).await?)
        }
        PackageOrigin::ConfigMap { name, key } => {
            let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &ns);
            let cm = api.get_opt(name).await?.ok_or_else(|| {
                Error::InvalidSpec(format!(
                    "ConfigMap {name} (source.upload.configMapRef) does not exist"
                ))
            })?;
            cm.binary_data
                .as_ref()
                .and_then(|d| d.get(key))
                .map(|b| b.0.clone())
                .or_else(|| {
                    cm.data
                        .as_ref()
                        .and_then(|d| d.get(key))
                        .map(|s| s.as_bytes().to_vec())
                })
                .ok_or_else(|| {
                    Error::InvalidSpec(format!(
                        "ConfigMap {name} has no key {key} (binaryData or data)"
                    ))
                })
        }
        PackageOrigin::SecretUrl { name, key } => {
            let api: Api<Secret> = Api::namespaced(ctx.client.clone(), &ns);
            let secret = api.get_opt(name).await?.ok_or_else(|| {
                Error::Credentials(format!(
                    "Secret {name} (source.upload.urlSecretRef) does not exist"
                ))
            })?;
            let url = secret
                .data
                .as_ref()
                .and_then(|d| d.get(key))
                .map(|b| SecretString::new(String::from_utf8_lossy(&b.0).trim().to_string()))
                .ok_or_else(|| Error::Credentials(format!("Secret {name} has no key {key}")))?;
            Ok(dw.download_package(&url).await?)
        }
    }
}
