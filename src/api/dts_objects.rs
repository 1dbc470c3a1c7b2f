//! What a DtsMigration takes from its source: databases, tables, columns, and the statements
//! incremental migration replays; and the rules DTS puts on them that no schema can say.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// DML statements incremental migration can replay (DbList `dml_op`).
#[derive(
    Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, JsonSchema,
)]
pub enum DmlOperation {
    Insert,
    Update,
    Delete,
}

impl DmlOperation {
    /// The word DTS takes in `dml_op` (comma-separated, lower case).
    pub fn wire(self) -> &'static str {
        match self {
            DmlOperation::Insert => "insert",
            DmlOperation::Update => "update",
            DmlOperation::Delete => "delete",
        }
    }
}

/// DDL statements incremental migration can replay (DbList `ddl_op`).
#[derive(
    Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, JsonSchema,
)]
pub enum DdlOperation {
    CreateTable,
    /// ALTER TABLE. Into MaxCompute only its ADD COLUMN form replicates.
    AlterTable,
    DropTable,
    RenameTable,
    TruncateTable,
}

impl DdlOperation {
    /// The words DTS takes in `ddl_op` (comma-separated, lower case).
    pub fn wire(self) -> &'static str {
        match self {
            DdlOperation::CreateTable => "create table",
            DdlOperation::AlterTable => "alter table",
            DdlOperation::DropTable => "drop table",
            DdlOperation::RenameTable => "rename table",
            DdlOperation::TruncateTable => "truncate table",
        }
    }

    /// Whether a MaxCompute destination replays it (seed 001: "DDL: ADD COLUMN").
    pub fn maxcompute_accepts(self) -> bool {
        self == DdlOperation::AlterTable
    }
}

/// A source database and what to take from it.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DtsDatabaseObject {
    /// Source database name.
    #[schemars(length(min = 1, max = 256))]
    pub name: String,
    /// Name in the destination (default: same; at most 128 characters, the MaxCompute limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 128))]
    pub target_name: Option<String>,
    /// Tables to migrate; empty means the whole database. Tables need a PRIMARY KEY or UNIQUE
    /// constraint (DTS precheck reports the ones that do not).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 1000))]
    pub tables: Vec<DtsTableObject>,
    /// The statements incremental migration replays for the whole database.
    #[serde(flatten)]
    pub scope: StatementScope,
}

/// A table and its mapping.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DtsTableObject {
    /// Source table name.
    #[schemars(length(min = 1, max = 256))]
    pub name: String,
    /// Name in the destination (for MaxCompute the base name; DTS adds `_base`/`_log`, so at
    /// most 123 characters within MaxCompute's 128).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 123))]
    pub target_name: Option<String>,
    /// Row filter (SQL WHERE condition without `WHERE`), e.g. `id > 10`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub filter: Option<String>,
    /// Columns to take, each optionally renamed (DbList `column`, legacy `ColumnIncludes`).
    /// Empty: every column under its own name. Renaming a column counts toward the task's
    /// 1,000-table limit for renamed objects.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 4096))]
    pub columns: Vec<DtsColumn>,
    /// Columns to leave out (legacy `ColumnExcludes`). Only `apiGeneration: MigrationJob` can
    /// say this; the DtsJob API's `DbList` lists the columns it takes, so there list the
    /// columns to keep in `columns` instead. Not together with `columns`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 4096), inner(length(min = 1, max = 128)))]
    pub exclude_columns: Vec<String>,
    /// The statements incremental migration replays for this table.
    #[serde(flatten)]
    pub scope: StatementScope,
}

/// Which statements incremental migration replays (DbList `dml_op`, `ddl_op`) for a database or
/// a table. Both need `apiGeneration: DtsJob`.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatementScope {
    /// DML statements to replay (DbList `dml_op`; needs `apiGeneration: DtsJob`). Empty: DTS's
    /// default, every DML statement. MaxCompute takes INSERT, UPDATE and DELETE.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 3))]
    pub dml_operations: Vec<DmlOperation>,
    /// DDL statements to replay (DbList `ddl_op`; needs `apiGeneration: DtsJob`). Empty: DTS's
    /// default. A MaxCompute destination takes only
    /// `AlterTable`, and of it only ADD COLUMN replicates (seed 001; an ADD COLUMN with
    /// attribute columns does not either); any other operation listed is refused there.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    pub ddl_operations: Vec<DdlOperation>,
}

impl StatementScope {
    /// Whether DDL is scoped (the DDL DTS meets is then read and reported).
    pub fn scopes_ddl(&self) -> bool {
        !self.ddl_operations.is_empty()
    }
}

/// A column taken from a table.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DtsColumn {
    /// Source column name.
    #[schemars(length(min = 1, max = 128))]
    pub name: String,
    /// Name in the destination (default: same).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 128))]
    pub target_name: Option<String>,
}

impl DtsColumn {
    /// Whether the column changes its name on the way.
    pub fn renamed(&self) -> bool {
        self.target_name.as_ref().is_some_and(|t| t != &self.name)
    }
}

/// Seed 001: "If you select tables as migration objects and need to rename tables or columns, a
/// single task supports up to 1,000 tables."
pub const MAX_TABLES_WITH_RENAMES: usize = 1000;

/// What the destination and API generation allow of the objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectRules {
    /// The legacy migration-job API (`MigrationObject`): column exclusion, no statement scope.
    pub legacy: bool,
    /// The destination is MaxCompute: only ALTER TABLE (ADD COLUMN) replays.
    pub maxcompute: bool,
}

/// The objects' problems DTS would refuse or silently ignore, each saying what to change.
pub fn problems(objects: &[DtsDatabaseObject], rules: ObjectRules) -> Vec<String> {
    let mut out = Vec::new();
    for db in objects {
        statement_scope(&db.name, &db.scope, rules, &mut out);
        for t in &db.tables {
            let at = format!("{}.{}", db.name, t.name);
            statement_scope(&at, &t.scope, rules, &mut out);
            column_problems(&at, t, rules, &mut out);
        }
    }
    let tables: usize = objects.iter().map(|d| d.tables.len()).sum();
    if tables > MAX_TABLES_WITH_RENAMES && renames_anything(objects) {
        out.push(format!(
            "{tables} tables with renamed tables or columns: DTS takes at most {MAX_TABLES_WITH_RENAMES} tables in one task when objects are renamed; split the objects over several DtsMigrations or migrate whole databases"
        ));
    }
    out
}

fn statement_scope(at: &str, scope: &StatementScope, rules: ObjectRules, out: &mut Vec<String>) {
    let (dml, ddl) = (&scope.dml_operations, &scope.ddl_operations);
    if rules.legacy && (!dml.is_empty() || !ddl.is_empty()) {
        out.push(format!(
            "{at}: dmlOperations/ddlOperations need apiGeneration DtsJob (the legacy MigrationObject has no statement scope)"
        ));
    }
    if rules.maxcompute {
        let refused: Vec<String> = ddl
            .iter()
            .filter(|op| !op.maxcompute_accepts())
            .map(|op| format!("{op:?}"))
            .collect();
        if !refused.is_empty() {
            out.push(format!(
                "{at}: MaxCompute replays only ALTER TABLE ... ADD COLUMN; remove {} from ddlOperations",
                refused.join(", ")
            ));
        }
    }
    if has_duplicates(dml) || has_duplicates(ddl) {
        out.push(format!("{at}: an operation is listed twice"));
    }
}

fn column_problems(at: &str, t: &DtsTableObject, rules: ObjectRules, out: &mut Vec<String>) {
    if !t.columns.is_empty() && !t.exclude_columns.is_empty() {
        out.push(format!(
            "{at}: set columns (the ones to take) or excludeColumns (the ones to leave out), not both"
        ));
    }
    if !t.exclude_columns.is_empty() && !rules.legacy {
        out.push(format!(
            "{at}: excludeColumns needs apiGeneration MigrationJob; the DtsJob API lists the columns it takes, so list the ones to keep in columns"
        ));
    }
    let sources: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    let targets: Vec<&str> = t
        .columns
        .iter()
        .map(|c| c.target_name.as_deref().unwrap_or(&c.name))
        .collect();
    if has_duplicates(&sources) || has_duplicates(&targets) || has_duplicates(&t.exclude_columns) {
        out.push(format!(
            "{at}: two columns share a source or a destination name"
        ));
    }
}

fn renames_anything(objects: &[DtsDatabaseObject]) -> bool {
    objects.iter().flat_map(|d| &d.tables).any(|t| {
        t.target_name.as_ref().is_some_and(|n| n != &t.name)
            || t.columns.iter().any(DtsColumn::renamed)
    })
}

fn has_duplicates<T: Ord + Clone>(items: &[T]) -> bool {
    let mut sorted = items.to_vec();
    sorted.sort();
    sorted.windows(2).any(|w| w[0] == w[1])
}

#[cfg(test)]
mod tests {
    use super::*;

    const DTS_JOB: ObjectRules = ObjectRules {
        legacy: false,
        maxcompute: true,
    };

    fn table(name: &str) -> DtsTableObject {
        DtsTableObject {
            name: name.into(),
            ..Default::default()
        }
    }

    fn db(tables: Vec<DtsTableObject>) -> Vec<DtsDatabaseObject> {
        vec![DtsDatabaseObject {
            name: "shop".into(),
            tables,
            ..Default::default()
        }]
    }

    #[test]
    fn a_plain_selection_has_no_problem() {
        let mut t = table("orders");
        t.columns = vec![DtsColumn {
            name: "id".into(),
            target_name: Some("order_id".into()),
        }];
        t.scope.dml_operations = vec![DmlOperation::Insert, DmlOperation::Update];
        t.scope.ddl_operations = vec![DdlOperation::AlterTable];
        assert_eq!(problems(&db(vec![t]), DTS_JOB), Vec::<String>::new());
    }

    #[test]
    fn maxcompute_refuses_ddl_other_than_alter_table() {
        let mut t = table("orders");
        t.scope.ddl_operations = vec![DdlOperation::AlterTable, DdlOperation::DropTable];
        let p = problems(&db(vec![t]), DTS_JOB);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].contains("shop.orders") && p[0].contains("DropTable"),
            "{p:?}"
        );
        let mut other = table("orders");
        other.scope.ddl_operations = vec![DdlOperation::DropTable];
        let rules = ObjectRules {
            maxcompute: false,
            ..DTS_JOB
        };
        assert!(problems(&db(vec![other]), rules).is_empty());
    }

    #[test]
    fn column_exclusion_needs_the_legacy_api_and_excludes_an_include_list() {
        let mut t = table("users");
        t.exclude_columns = vec!["password_hash".into()];
        let p = problems(&db(vec![t.clone()]), DTS_JOB);
        assert!(
            p.iter()
                .any(|m| m.contains("excludeColumns needs apiGeneration MigrationJob")),
            "{p:?}"
        );
        let legacy = ObjectRules {
            legacy: true,
            maxcompute: false,
        };
        assert!(problems(&db(vec![t.clone()]), legacy).is_empty());
        t.columns = vec![DtsColumn {
            name: "id".into(),
            target_name: None,
        }];
        assert!(
            problems(&db(vec![t]), legacy)
                .iter()
                .any(|m| m.contains("not both"))
        );
    }

    #[test]
    fn the_legacy_api_has_no_statement_scope() {
        let mut d = db(vec![]);
        d[0].scope.dml_operations = vec![DmlOperation::Insert];
        let legacy = ObjectRules {
            legacy: true,
            maxcompute: false,
        };
        assert!(problems(&d, legacy)[0].contains("need apiGeneration DtsJob"));
    }

    #[test]
    fn duplicate_names_are_refused() {
        let mut t = table("users");
        t.columns = vec![
            DtsColumn {
                name: "a".into(),
                target_name: Some("x".into()),
            },
            DtsColumn {
                name: "b".into(),
                target_name: Some("x".into()),
            },
        ];
        t.scope.dml_operations = vec![DmlOperation::Insert, DmlOperation::Insert];
        assert_eq!(problems(&db(vec![t]), DTS_JOB).len(), 2);
    }

    #[test]
    fn renames_limit_a_task_to_1000_tables() {
        let many = |renamed: Option<usize>| {
            let tables = (0..1001)
                .map(|i| {
                    let mut t = table(&format!("t{i}"));
                    if renamed == Some(i) {
                        t.target_name = Some(format!("r{i}"));
                    }
                    t
                })
                .collect();
            db(tables)
        };
        assert!(
            problems(&many(None), DTS_JOB).is_empty(),
            "no rename, no limit"
        );
        let p = problems(&many(Some(1000)), DTS_JOB);
        assert!(p[0].starts_with("1001 tables with renamed"), "{p:?}");
        // A column rename counts as a rename.
        let mut by_column = many(None);
        by_column[0].tables[5].columns = vec![DtsColumn {
            name: "a".into(),
            target_name: Some("b".into()),
        }];
        assert_eq!(problems(&by_column, DTS_JOB).len(), 1);
        // The same name is no rename.
        let mut same = many(None);
        same[0].tables[0].target_name = Some("t0".into());
        assert!(problems(&same, DTS_JOB).is_empty());
    }
}
