//! The DDL statements incremental migration met, as a condition: whether DTS applied every one
//! it reported. Into MaxCompute only ADD COLUMN replicates (seed 001), so a DROP or a type
//! change on the source shows here as a failed statement, named with its table.

use crate::api::conditions::Desired;
use crate::api::dts_migration::SchemaChangesStatus;

pub const SCHEMA_CHANGES_APPLIED: &str = "SchemaChangesApplied";

/// `SchemaChangesApplied`, only once DTS was asked: `None` while nothing was read.
pub fn schema_changes_condition(changes: Option<&SchemaChangesStatus>) -> Option<Desired> {
    let c = changes?;
    let at = c
        .observed_at
        .as_ref()
        .map(|t| t.0.to_string())
        .unwrap_or_else(|| "an unknown time".into());
    if c.failed == 0 {
        return Some(Desired::true_(
            SCHEMA_CHANGES_APPLIED,
            "Applied",
            format!(
                "DTS applied all {} DDL statement(s) it reported for the incremental stage (read at {at})",
                c.total
            ),
        ));
    }
    let named = c
        .items
        .iter()
        .filter(|i| i.state.eq_ignore_ascii_case("failed"))
        .map(|i| {
            format!(
                "{}: {} ({})",
                i.table,
                i.statement.as_deref().unwrap_or("statement not reported"),
                i.message.as_deref().unwrap_or("no reason given")
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    Some(Desired::false_(
        SCHEMA_CHANGES_APPLIED,
        "SchemaChangeFailed",
        format!(
            "{} of {} DDL statement(s) were not applied (read at {at}): {named}. The destination's schema differs from the source's for these tables",
            c.failed, c.total
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::conditions::Status;
    use crate::api::dts_migration::SchemaChangeItem;

    #[test]
    fn nothing_read_is_no_condition_and_a_failed_statement_names_its_table() {
        assert!(schema_changes_condition(None).is_none());
        let ok = SchemaChangesStatus {
            total: 2,
            ..Default::default()
        };
        assert_eq!(
            schema_changes_condition(Some(&ok)).unwrap().status,
            Status::True
        );
        let failed = SchemaChangesStatus {
            total: 2,
            failed: 1,
            items: vec![SchemaChangeItem {
                table: "shop.orders".into(),
                statement: Some("ALTER TABLE orders DROP COLUMN note".into()),
                state: "Failed".into(),
                message: Some("MaxCompute takes only ADD COLUMN".into()),
            }],
            ..Default::default()
        };
        let c = schema_changes_condition(Some(&failed)).unwrap();
        assert_eq!(
            (c.status, c.reason.as_str()),
            (Status::False, "SchemaChangeFailed")
        );
        assert!(
            c.message
                .contains("shop.orders: ALTER TABLE orders DROP COLUMN note"),
            "{}",
            c.message
        );
    }
}
