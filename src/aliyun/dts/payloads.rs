//! Typed builders for the JSON strings and endpoint parameters DTS takes, so callers never
//! write them by hand: `DbList`, legacy `MigrationObject`, `Reserve` / `MigrationReserved`, and
//! source/destination endpoints in both generations' spelling.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::aliyun::error::Error;
use crate::aliyun::mask::{mask, mask_text};
use crate::aliyun::secret::SecretString;
use crate::aliyun::transport::Pairs;

// ------------------------------------------------------------------------------ DbList

/// One table in a [`DbList`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbListTable {
    /// Source table name.
    pub source: String,
    /// Destination table name (for MaxCompute the base name; DTS adds `_base`/`_log`).
    pub target: String,
    /// Row filter, e.g. `id>10`.
    pub filter: Option<String>,
    /// DML operations to replicate, e.g. `insert,update,delete`.
    pub dml_op: Option<String>,
    /// DDL operations to replicate.
    pub ddl_op: Option<String>,
    /// The columns taken, source → destination name; empty: every column (`"all": true`).
    pub columns: Vec<(String, String)>,
}

impl DbListTable {
    /// A table kept under its name.
    pub fn same_name(name: impl Into<String>) -> Self {
        let name = name.into();
        Self::renamed(name.clone(), name)
    }

    /// A table renamed on the way.
    pub fn renamed(source: impl Into<String>, target: impl Into<String>) -> Self {
        Self {
            source: source.into(),
            target: target.into(),
            filter: None,
            dml_op: None,
            ddl_op: None,
            columns: Vec::new(),
        }
    }

    /// Only rows matching `filter`.
    pub fn with_filter(mut self, filter: impl Into<String>) -> Self {
        self.filter = Some(filter.into());
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct DbListDb {
    target: String,
    tables: Vec<DbListTable>,
    scope: Scope,
}

/// The statements incremental migration replays (`dml_op`, `ddl_op`), comma-separated words;
/// `None`: DTS's default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub dml_op: Option<String>,
    pub ddl_op: Option<String>,
}

/// The objects of a new-API task (`DbList` request parameter, `DbObject` in answers): a JSON
/// object keyed by source database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DbList {
    databases: BTreeMap<String, DbListDb>,
}

#[derive(Serialize)]
struct DbJson<'a> {
    name: &'a str,
    all: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    dml_op: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ddl_op: Option<&'a str>,
    #[serde(rename = "Table", skip_serializing_if = "BTreeMap::is_empty")]
    tables: BTreeMap<&'a str, TableJson<'a>>,
}

#[derive(Serialize)]
struct ColumnJson<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct TableJson<'a> {
    name: &'a str,
    all: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    filter: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dml_op: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ddl_op: Option<&'a str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    column: BTreeMap<&'a str, ColumnJson<'a>>,
}

impl DbList {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// A whole database, `source` → `target` (for MaxCompute: the project).
    pub fn whole_database(mut self, source: impl Into<String>, target: impl Into<String>) -> Self {
        self.databases.insert(
            source.into(),
            DbListDb {
                target: target.into(),
                tables: Vec::new(),
                scope: Scope::default(),
            },
        );
        self
    }

    /// Some tables of a database.
    pub fn tables(
        mut self,
        source: impl Into<String>,
        target: impl Into<String>,
        tables: impl IntoIterator<Item = DbListTable>,
    ) -> Self {
        self.databases.insert(
            source.into(),
            DbListDb {
                target: target.into(),
                tables: tables.into_iter().collect(),
                scope: Scope::default(),
            },
        );
        self
    }

    /// The statements replayed for the database last added (whole or by tables).
    pub fn with_scope(mut self, source: &str, scope: Scope) -> Self {
        if let Some(db) = self.databases.get_mut(source) {
            db.scope = scope;
        }
        self
    }

    /// Whether no database was added.
    pub fn is_empty(&self) -> bool {
        self.databases.is_empty()
    }

    /// The compact JSON text DTS expects.
    pub fn to_json(&self) -> String {
        let dbs: BTreeMap<&str, DbJson<'_>> = self
            .databases
            .iter()
            .map(|(src, db)| {
                let tables = db
                    .tables
                    .iter()
                    .map(|t| {
                        (
                            t.source.as_str(),
                            TableJson {
                                name: &t.target,
                                all: t.columns.is_empty(),
                                filter: t.filter.as_deref(),
                                dml_op: t.dml_op.as_deref(),
                                ddl_op: t.ddl_op.as_deref(),
                                column: t
                                    .columns
                                    .iter()
                                    .map(|(src, dst)| (src.as_str(), ColumnJson { name: dst }))
                                    .collect(),
                            },
                        )
                    })
                    .collect();
                (
                    src.as_str(),
                    DbJson {
                        name: &db.target,
                        all: db.tables.is_empty(),
                        dml_op: db.scope.dml_op.as_deref(),
                        ddl_op: db.scope.ddl_op.as_deref(),
                        tables,
                    },
                )
            })
            .collect();
        serde_json::to_string(&dbs).unwrap_or_else(|_| "{}".to_string())
    }
}

// ------------------------------------------------------------------------------ MigrationObject

/// A column kept, optionally renamed (legacy `ColumnIncludes`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MigrationColumn {
    #[serde(rename = "ColumnName")]
    pub column_name: String,
    #[serde(rename = "NewColumnName", skip_serializing_if = "Option::is_none")]
    pub new_column_name: Option<String>,
}

/// A table of a legacy migration object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MigrationTable {
    #[serde(rename = "TableName")]
    pub table_name: String,
    #[serde(rename = "NewTableName", skip_serializing_if = "Option::is_none")]
    pub new_table_name: Option<String>,
    /// `where …` clause.
    #[serde(rename = "FilterCondition", skip_serializing_if = "Option::is_none")]
    pub filter_condition: Option<String>,
    /// AnalyticDB targets only.
    #[serde(rename = "PrimaryKey", skip_serializing_if = "Option::is_none")]
    pub primary_key: Option<String>,
    /// AnalyticDB targets only.
    #[serde(rename = "PartKey", skip_serializing_if = "Option::is_none")]
    pub part_key: Option<String>,
    #[serde(rename = "ColumnIncludes", skip_serializing_if = "Vec::is_empty")]
    pub column_includes: Vec<MigrationColumn>,
    #[serde(rename = "ColumnExcludes", skip_serializing_if = "Vec::is_empty")]
    pub column_excludes: Vec<MigrationColumn>,
}

/// A database of the legacy `MigrationObject` array.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MigrationObject {
    #[serde(rename = "DBName")]
    pub db_name: String,
    #[serde(rename = "NewDBName", skip_serializing_if = "Option::is_none")]
    pub new_db_name: Option<String>,
    /// SQL Server / PostgreSQL only.
    #[serde(rename = "SchemaName", skip_serializing_if = "Option::is_none")]
    pub schema_name: Option<String>,
    #[serde(rename = "NewSchemaName", skip_serializing_if = "Option::is_none")]
    pub new_schema_name: Option<String>,
    #[serde(rename = "AllTable", skip_serializing_if = "Option::is_none")]
    pub all_table: Option<bool>,
    #[serde(rename = "TableIncludes", skip_serializing_if = "Vec::is_empty")]
    pub table_includes: Vec<MigrationTable>,
    #[serde(rename = "TableExcludes", skip_serializing_if = "Vec::is_empty")]
    pub table_excludes: Vec<MigrationTable>,
}

impl MigrationObject {
    /// A whole database under its own name.
    pub fn database(name: impl Into<String>) -> Self {
        Self {
            db_name: name.into(),
            ..Self::default()
        }
    }

    /// Some tables of a database (kept under their names).
    pub fn tables(
        db: impl Into<String>,
        tables: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            db_name: db.into(),
            table_includes: tables
                .into_iter()
                .map(|t| MigrationTable {
                    table_name: t.into(),
                    ..MigrationTable::default()
                })
                .collect(),
            ..Self::default()
        }
    }
}

/// The compact JSON array for `MigrationObject`.
pub(crate) fn migration_object_json(objects: &[MigrationObject]) -> String {
    serde_json::to_string(objects).unwrap_or_else(|_| "[]".to_string())
}

// ------------------------------------------------------------------------------ Reserve

/// What the precheck does about same-name tables at the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetTableMode {
    /// `"0"`: the precheck fails when a same-name table exists.
    FailOnExisting,
    /// `"2"`: ignore existing tables and continue.
    IgnoreExisting,
}

/// `Reserve` (new API) / `MigrationReserved` (legacy): a JSON object of extra settings whose
/// numeric values DTS wants as strings. Unknown keys pass through (`DtsMigration.spec.reserve`).
/// `Debug` is masked (keys like `srcCaCertificatePassword` exist).
#[derive(Clone, Default, PartialEq)]
pub struct Reserve(Map<String, Value>);

impl fmt::Debug for Reserve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Reserve({})", mask(Value::Object(self.0.clone())))
    }
}

impl Reserve {
    /// No settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// From pass-through JSON; must be an object. Top-level numbers become strings.
    pub fn from_json(value: Value) -> Result<Self, Error> {
        match value {
            Value::Object(map) => Ok(map.into_iter().fold(Self::new(), |r, (k, v)| r.set(k, v))),
            _ => Err(Error::config("Reserve must be a JSON object")),
        }
    }

    /// Sets a key; numbers are stored as strings (the documented rule).
    pub fn set(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        let value = match value.into() {
            Value::Number(n) => Value::String(n.to_string()),
            other => other,
        };
        self.0.insert(key.into(), value);
        self
    }

    /// `false` → `autoStartModulesAfterConfig: "none"` (configure without starting the
    /// precheck; `StartDtsJob` starts it). `true` removes the key (the service default starts).
    pub fn auto_start(mut self, start: bool) -> Self {
        if start {
            self.0.remove("autoStartModulesAfterConfig");
            self
        } else {
            self.set("autoStartModulesAfterConfig", "none")
        }
    }

    /// `targetTableMode`.
    pub fn target_table_mode(self, mode: TargetTableMode) -> Self {
        let v = match mode {
            TargetTableMode::FailOnExisting => "0",
            TargetTableMode::IgnoreExisting => "2",
        };
        self.set("targetTableMode", v)
    }

    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `key` is set.
    pub fn contains(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// The compact JSON text.
    pub fn to_json(&self) -> String {
        Value::Object(self.0.clone()).to_string()
    }
}

// ------------------------------------------------------------------------------ endpoints

/// A source or destination of a DTS task, spelled per generation when sent.
///
/// `user_name`/`password` go into the form body, not the URL (see
/// [`DtsClient`](super::DtsClient) for why). `Debug` masks both.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct DtsEndpoint {
    /// `RDS`, `PolarDB`, `ODPS`, `ECS`, `OTHER`, ... (legacy: `RDS`, `POLARDB`, `LocalInstance`, ...).
    pub instance_type: String,
    pub engine_name: Option<String>,
    pub instance_id: Option<String>,
    pub region: Option<String>,
    pub ip: Option<String>,
    pub port: Option<u16>,
    /// Database (for MaxCompute: the project).
    pub database_name: Option<String>,
    pub user_name: Option<String>,
    pub password: Option<SecretString>,
    pub oracle_sid: Option<String>,
    /// Cross-account: the owning account id.
    pub owner_id: Option<String>,
    /// Cross-account: the authorized RAM role.
    pub role: Option<String>,
}

impl fmt::Debug for DtsEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DtsEndpoint")
            .field("instance_type", &self.instance_type)
            .field("engine_name", &self.engine_name)
            .field("instance_id", &self.instance_id)
            .field("region", &self.region)
            .field("ip", &self.ip)
            .field("port", &self.port)
            .field("database_name", &self.database_name)
            .field("user_name", &self.user_name.as_deref().map(mask_text))
            .field("password", &self.password)
            .finish_non_exhaustive()
    }
}

impl DtsEndpoint {
    /// MaxCompute as destination (new API only): instance type and engine `ODPS`, the project
    /// as database, an AccessKey pair of the project's account as user/password.
    pub fn maxcompute(
        region: impl Into<String>,
        project: impl Into<String>,
        access_key_id: impl Into<String>,
        access_key_secret: SecretString,
    ) -> Self {
        Self {
            instance_type: "ODPS".into(),
            engine_name: Some("ODPS".into()),
            region: Some(region.into()),
            database_name: Some(project.into()),
            user_name: Some(access_key_id.into()),
            password: Some(access_key_secret),
            ..Self::default()
        }
    }

    /// An Alibaba Cloud database instance (`RDS` + `MYSQL`, `PolarDB` + `PolarDB`, ...).
    pub fn instance(
        instance_type: impl Into<String>,
        engine_name: impl Into<String>,
        region: impl Into<String>,
        instance_id: impl Into<String>,
    ) -> Self {
        Self {
            instance_type: instance_type.into(),
            engine_name: Some(engine_name.into()),
            region: Some(region.into()),
            instance_id: Some(instance_id.into()),
            ..Self::default()
        }
    }

    /// Adds the database account.
    pub fn with_account(mut self, user_name: impl Into<String>, password: SecretString) -> Self {
        self.user_name = Some(user_name.into());
        self.password = Some(password);
        self
    }

    /// Adds the database name.
    pub fn with_database(mut self, database: impl Into<String>) -> Self {
        self.database_name = Some(database.into());
        self
    }

    /// Parameters for the new API (`SourceEndpointInstanceType`, ...; the destination's
    /// database key is `DestinationEndpointDataBaseName`). Returns (query, form) pairs.
    pub(crate) fn new_api_params(&self, destination: bool) -> (Pairs, Pairs) {
        let prefix = if destination {
            "DestinationEndpoint"
        } else {
            "SourceEndpoint"
        };
        let db_key = if destination {
            "DataBaseName"
        } else {
            "DatabaseName"
        };
        self.params(|field| format!("{prefix}{field}"), db_key, true)
    }

    /// Parameters for the legacy API (`SourceEndpoint.InstanceType`, ...; the destination's
    /// database key is `DestinationEndpoint.DataBaseName`; the destination has no
    /// `OwnerID`/`Role`).
    pub(crate) fn legacy_params(&self, destination: bool) -> (Pairs, Pairs) {
        let prefix = if destination {
            "DestinationEndpoint"
        } else {
            "SourceEndpoint"
        };
        let db_key = if destination {
            "DataBaseName"
        } else {
            "DatabaseName"
        };
        self.params(|field| format!("{prefix}.{field}"), db_key, !destination)
    }

    fn params(
        &self,
        key: impl Fn(&str) -> String,
        db_key: &str,
        cross_account: bool,
    ) -> (Pairs, Pairs) {
        let mut query = vec![(key("InstanceType"), self.instance_type.clone())];
        let mut opt = |field: &str, value: &Option<String>| {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                query.push((key(field), v.to_string()));
            }
        };
        opt("EngineName", &self.engine_name);
        opt("InstanceID", &self.instance_id);
        opt("Region", &self.region);
        opt("IP", &self.ip);
        opt("Port", &self.port.map(|p| p.to_string()));
        opt(db_key, &self.database_name);
        opt("OracleSID", &self.oracle_sid);
        if cross_account {
            opt("OwnerID", &self.owner_id);
            opt("Role", &self.role);
        }
        let mut form = Vec::new();
        if let Some(user) = self.user_name.as_deref().filter(|u| !u.is_empty()) {
            form.push((key("UserName"), user.to_string()));
        }
        if let Some(password) = &self.password {
            form.push((key("Password"), password.expose_secret().to_string()));
        }
        (query, form)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn db_list_matches_the_documented_shapes() {
        let whole = DbList::new().whole_database("dtstestdata", "dtstestdata");
        assert_eq!(
            whole.to_json(),
            r#"{"dtstestdata":{"name":"dtstestdata","all":true}}"#
        );
        let tables = DbList::new().tables(
            "shop",
            "mc_project",
            [
                DbListTable::same_name("orders"),
                DbListTable::renamed("customer", "customers").with_filter("id>10"),
            ],
        );
        let v: Value = serde_json::from_str(&tables.to_json()).unwrap();
        assert_eq!(
            v,
            json!({"shop": {"name": "mc_project", "all": false, "Table": {
                "orders": {"name": "orders", "all": true},
                "customer": {"name": "customers", "all": true, "filter": "id>10"}}}})
        );
    }

    #[test]
    fn migration_object_matches_the_doc_example() {
        let objs = [MigrationObject::tables("dtstestdata", ["customer"])];
        assert_eq!(
            migration_object_json(&objs),
            r#"[{"DBName":"dtstestdata","TableIncludes":[{"TableName":"customer"}]}]"#
        );
        assert_eq!(
            migration_object_json(&[MigrationObject::database("d")]),
            r#"[{"DBName":"d"}]"#
        );
    }

    #[test]
    fn reserve_stringifies_numbers_and_passes_unknown_keys() {
        let r = Reserve::from_json(json!({"maxRetryTime": 720, "custom": {"x": 1}}))
            .unwrap()
            .auto_start(false)
            .target_table_mode(TargetTableMode::IgnoreExisting);
        let v: Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(
            v,
            json!({"maxRetryTime": "720", "custom": {"x": 1},
                   "autoStartModulesAfterConfig": "none", "targetTableMode": "2"})
        );
        assert!(Reserve::from_json(json!([1])).is_err());
    }

    #[test]
    fn endpoints_are_spelled_per_generation_with_credentials_in_the_form() {
        let mc = DtsEndpoint::maxcompute(
            "cn-hangzhou",
            "mc_proj",
            "LTAI5tAk",
            SecretString::new("sk"),
        );
        let (q, f) = mc.new_api_params(true);
        assert!(q.contains(&("DestinationEndpointInstanceType".into(), "ODPS".into())));
        assert!(q.contains(&("DestinationEndpointEngineName".into(), "ODPS".into())));
        assert!(q.contains(&("DestinationEndpointDataBaseName".into(), "mc_proj".into())));
        assert!(f.contains(&("DestinationEndpointUserName".into(), "LTAI5tAk".into())));
        assert!(f.contains(&("DestinationEndpointPassword".into(), "sk".into())));
        assert!(!q.iter().any(|(_, v)| v == "sk" || v == "LTAI5tAk"));
        let shown = format!("{mc:?}");
        assert!(
            !shown.contains("LTAI5tAk") && !shown.contains("\"sk\""),
            "{shown}"
        );

        let src =
            DtsEndpoint::instance("RDS", "MySQL", "cn-hangzhou", "rm-1").with_database("shop");
        let (q, _) = src.legacy_params(false);
        assert!(q.contains(&("SourceEndpoint.InstanceID".into(), "rm-1".into())));
        assert!(q.contains(&("SourceEndpoint.DatabaseName".into(), "shop".into())));
        let (q, _) = src.legacy_params(true);
        assert!(q.contains(&("DestinationEndpoint.DataBaseName".into(), "shop".into())));
    }
}
