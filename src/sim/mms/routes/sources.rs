//! Data source actions, and the configuration items each source type takes.

use serde_json::{Value, json};

use super::call::{Call, source_exists, str_field};
use super::listing::{like, page};
use crate::sim::mms::engine::Mms;
use crate::sim::mms::views;
use crate::sim::scenario::ConfigItemSpec;
use crate::sim::wire::ApiError;

/// Supported data source types (canonical upper case).
pub const SOURCE_TYPES: &[&str] = &[
    "HIVE",
    "BIGQUERY",
    "SNOWFLAKE",
    "REDSHIFT",
    "DATABRICKS",
    "MAXCOMPUTE",
];

/// ListMmsDataSources.
pub fn list(mms: &mut Mms, call: &Call<'_>) -> Result<Value, ApiError> {
    let query = call.query;
    let mut items: Vec<Value> = mms
        .sources
        .values()
        .filter(|s| like(query.get("name"), &s.name))
        .filter(|s| {
            query
                .get("type")
                .is_none_or(|t| t.eq_ignore_ascii_case(&s.kind))
        })
        .filter(|s| query.get("region").is_none_or(|r| r == s.region))
        .map(|s| views::data_source(mms, s.id, false, true))
        .collect();
    items.sort_by_key(|v| v["id"].as_i64());
    page(items, query, true)
}

/// GetMmsDataSource.
pub fn get(mms: &mut Mms, call: &Call<'_>) -> Result<Value, ApiError> {
    let id = call.source_id()?;
    source_exists(mms, id)?;
    let with_config = call.query.bool("withConfig")?.unwrap_or(false);
    Ok(views::data_source(mms, id, with_config, false))
}

/// CreateMmsDataSource.
pub fn create(mms: &mut Mms, call: &Call<'_>) -> Result<Value, ApiError> {
    let b = call.json_body()?;
    let name = str_field(&b, "name")?.ok_or_else(|| ApiError::missing("name"))?;
    let kind = str_field(&b, "type")?.ok_or_else(|| ApiError::missing("type"))?;
    if !SOURCE_TYPES.iter().any(|t| t.eq_ignore_ascii_case(&kind)) {
        return Err(ApiError::invalid_because(
            "type",
            "unsupported data source type",
        ));
    }
    let config = b
        .get("config")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let id = mms.create_source(
        &name,
        &kind,
        str_field(&b, "networklink")?,
        &config,
        call.region,
        call.now,
    );
    Ok(json!({"dataSourceId": id}))
}

/// UpdateMmsDataSource.
pub fn update(mms: &mut Mms, call: &Call<'_>) -> Result<Value, ApiError> {
    let id = call.source_id()?;
    let b = call.json_body()?;
    let action = str_field(&b, "action")?.unwrap_or_else(|| "UPDATE_CONFIG".into());
    let name = str_field(&b, "name")?;
    let config = b.get("config").and_then(Value::as_object);
    let async_id = mms.update_source(id, &action, name.as_deref(), config, call.now)?;
    Ok(json!({"sourceId": id, "asyncTaskId": async_id}))
}

/// DeleteMmsDataSource.
pub fn delete(mms: &mut Mms, call: &Call<'_>) -> Result<Value, ApiError> {
    let id = call.source_id()?;
    mms.delete_source(id)?;
    Ok(json!(id))
}

/// ListMmsDataSourceConfigItems.
pub fn list_config_items(_: &mut Mms, call: &Call<'_>) -> Result<Value, ApiError> {
    let kind = call.query.require("sourceType")?;
    let items = config_templates(kind)
        .ok_or_else(|| ApiError::invalid_because("sourceType", "unsupported data source type"))?;
    Ok(items.iter().map(views::config_template).collect())
}

fn item(key: &str, name: &str, kind: &str, required: bool) -> ConfigItemSpec {
    ConfigItemSpec {
        key: key.into(),
        name: Some(name.into()),
        desc: None,
        group: Some("basic_group".into()),
        kind: kind.into(),
        required,
        value: Value::Null,
    }
}

/// The configuration items a source type takes.
pub fn config_templates(kind: &str) -> Option<Vec<ConfigItemSpec>> {
    let mut items = match kind.to_ascii_uppercase().as_str() {
        "HIVE" => vec![
            item("hive.metastore.url", "Hive metastore URL", "string", true),
            item("hive.hdfs.user", "HDFS user", "string", false),
            item(
                "hive.metastore.password",
                "Metastore DB password",
                "password",
                false,
            ),
            item("hive.kerberos.keytab", "Kerberos keytab", "file", false),
        ],
        "BIGQUERY" => vec![
            item("bigquery.project.id", "GCP project", "string", true),
            item(
                "bigquery.service.account.key",
                "Service account key",
                "file",
                true,
            ),
            item(
                "bigquery.range.partition.migrate.type",
                "Range partition handling",
                "string",
                false,
            ),
        ],
        "SNOWFLAKE" => vec![
            item("snowflake.account", "Account", "string", true),
            item("snowflake.user", "User", "string", true),
            item("snowflake.password", "Password", "password", true),
            item("snowflake.warehouse", "Warehouse", "string", true),
        ],
        "REDSHIFT" => vec![
            item("redshift.endpoint", "Cluster endpoint", "string", true),
            item("redshift.user", "User", "string", true),
            item("redshift.password", "Password", "password", true),
        ],
        "DATABRICKS" => vec![
            item("databricks.workspace.url", "Workspace URL", "string", true),
            item("databricks.token", "Access token", "password", true),
            item("databricks.catalog", "Catalog", "string", false),
        ],
        "MAXCOMPUTE" => vec![
            item("mc.src.project", "Source project", "string", true),
            item("mc.src.endpoint", "Source endpoint", "string", true),
            item("mc.src.access.id", "AccessKey ID", "string", true),
            item("mc.src.access.key", "AccessKey secret", "password", true),
        ],
        _ => return None,
    };
    items.push(item(
        "mc.default.project",
        "Default MaxCompute project",
        "string",
        true,
    ));
    Some(items)
}
