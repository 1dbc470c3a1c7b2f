//! Whether an adopted DTS task migrates the objects the spec names. A task that moves other
//! databases or tables must not feed a Cutover gate under this spec's name.

use serde_json::Value;

use crate::api::dts_migration::DtsDatabaseObject;

use super::endpoints::db_list;

/// How the task's `DbObject` differs from the spec's objects: databases, their destination
/// names, whole or by tables, the tables and their destination names. `None`: the same. A task
/// whose objects DTS does not return cannot be checked, and is not taken.
pub fn objects_difference(
    task: &str,
    objects: &[DtsDatabaseObject],
    db_object: Option<&Value>,
) -> Option<String> {
    let Some(Value::Object(got)) = db_object else {
        return Some(format!(
            "DescribeDtsJobDetail returned no DbObject for task {task}: its objects cannot be checked"
        ));
    };
    let want: Value = serde_json::from_str(&db_list(objects).to_json()).unwrap_or_default();
    let want = want.as_object().cloned().unwrap_or_default();
    let mut diffs = Vec::new();
    let keys = |m: &serde_json::Map<String, Value>| m.keys().cloned().collect::<Vec<_>>();
    if keys(&want) != keys(got) {
        diffs.push(format!(
            "databases are {:?} in the spec, {:?} in the task",
            keys(&want),
            keys(got)
        ));
    }
    for (db, w) in &want {
        let Some(g) = got.get(db) else { continue };
        let field = |v: &Value, k: &str| v.get(k).cloned().unwrap_or(Value::Null);
        for k in ["name", "all"] {
            if field(w, k) != field(g, k) {
                diffs.push(format!(
                    "{db}.{k} is {} in the spec, {} in the task",
                    field(w, k),
                    field(g, k)
                ));
            }
        }
        let tables = |v: &Value| {
            v.get("Table")
                .and_then(Value::as_object)
                .map(|t| {
                    t.iter()
                        .map(|(name, e)| (name.clone(), field(e, "name")))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        };
        if tables(w) != tables(g) {
            diffs.push(format!(
                "{db} tables (source, destination) are {:?} in the spec, {:?} in the task",
                tables(w),
                tables(g)
            ));
        }
    }
    (!diffs.is_empty()).then(|| {
        format!(
            "DTS task {task} does not migrate what spec.objects names: {}; make the spec name the task's objects, or adopt another task",
            diffs.join("; ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::dts_migration::DtsTableObject;
    use serde_json::json;

    fn objects() -> Vec<DtsDatabaseObject> {
        vec![DtsDatabaseObject {
            name: "shop".into(),
            tables: vec![
                DtsTableObject {
                    name: "orders".into(),
                    ..Default::default()
                },
                DtsTableObject {
                    name: "order_items".into(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        }]
    }

    #[test]
    fn the_same_objects_in_another_key_order_match() {
        let task = json!({"shop": {"all": false, "name": "shop", "state": "normal", "Table": {
            "order_items": {"name": "order_items", "all": true},
            "orders": {"all": true, "name": "orders"}}}});
        assert_eq!(objects_difference("t1", &objects(), Some(&task)), None);
    }

    #[test]
    fn another_table_set_or_a_missing_answer_is_named() {
        let task = json!({"shop": {"name": "shop", "all": false, "Table": {
            "orders": {"name": "orders", "all": true}}}});
        let why = objects_difference("t1", &objects(), Some(&task)).unwrap();
        assert!(
            why.starts_with("DTS task t1 does not migrate what spec.objects names"),
            "{why}"
        );
        assert!(why.contains("shop tables (source, destination)"), "{why}");
        let whole =
            json!({"shop": {"name": "shop", "all": true}, "crm": {"name": "crm", "all": true}});
        let why = objects_difference("t1", &objects(), Some(&whole)).unwrap();
        assert!(
            why.contains(r#"databases are ["shop"] in the spec, ["crm", "shop"] in the task"#),
            "{why}"
        );
        assert!(
            why.contains("shop.all is false in the spec, true in the task"),
            "{why}"
        );
        assert!(
            objects_difference("t1", &objects(), None)
                .unwrap()
                .contains("cannot be checked")
        );
    }
}
