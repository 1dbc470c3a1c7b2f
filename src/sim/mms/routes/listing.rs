//! Server-side filtering, sorting and paging of the MMS list actions.

use serde_json::{Value, json};

use crate::sim::clock::{SimMillis, parse_time};
use crate::sim::mms::catalog::ObjStatus;
use crate::sim::wire::{ApiError, Params};

/// A list item with the numbers the `sorter.*` parameters order by: rows, size, last DDL.
pub type SortableRow = (Value, i64, i64, SimMillis);

/// Case-insensitive substring match; no filter matches everything.
pub fn like(filter: Option<&str>, value: &str) -> bool {
    filter.is_none_or(|f| value.to_lowercase().contains(&f.to_lowercase()))
}

/// `status` of ListMmsTables/Partitions: a JSON array string (`["DONE","FAILED"]`) or one value.
pub fn status_list(raw: Option<&str>) -> Result<Vec<String>, ApiError> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    let values: Vec<String> = if raw.trim_start().starts_with('[') {
        serde_json::from_str(raw)
            .map_err(|_| ApiError::invalid_because("status", "expected a JSON array of statuses"))?
    } else {
        raw.split(',').map(|s| s.trim().to_string()).collect()
    };
    values
        .into_iter()
        .map(|s| {
            ObjStatus::parse(&s)
                .map(|s| s.as_str().to_string())
                .ok_or_else(|| ApiError::invalid("status"))
        })
        .collect()
}

/// A `YYYY-MM-DD HH:mm:ss` query parameter.
pub fn time_param(q: &Params, key: &str) -> Result<Option<SimMillis>, ApiError> {
    q.get(key)
        .map(|v| {
            parse_time(v)
                .ok_or_else(|| ApiError::invalid_because(key, "expected YYYY-MM-DD HH:mm:ss"))
        })
        .transpose()
}

/// Applies `sorter.numRows|size|lastDdlTime` to (item, rows, size, lastDdl) tuples.
pub fn sort_dotted(rows: &mut [SortableRow], q: &Params) -> Result<(), ApiError> {
    for (key, field) in [
        ("sorter.numRows", 1),
        ("sorter.size", 2),
        ("sorter.lastDdlTime", 3),
    ] {
        let Some(dir) = q.get(key) else { continue };
        let asc = match dir.to_ascii_lowercase().as_str() {
            "asc" => true,
            "desc" => false,
            _ => return Err(ApiError::invalid(key)),
        };
        rows.sort_by_key(|r| match field {
            1 => r.1,
            2 => r.2,
            _ => r.3,
        });
        if !asc {
            rows.reverse();
        }
    }
    Ok(())
}

/// Applies a ListMmsDbs JSON sorter (`{"numRows":"desc"}`).
pub fn apply_sorters<'a>(
    items: &mut [Value],
    sorters: impl Iterator<Item = (&'a str, &'a str)>,
) -> Result<(), ApiError> {
    for (key, dir) in sorters {
        let asc = match dir.to_ascii_lowercase().as_str() {
            "asc" => true,
            "desc" => false,
            _ => {
                return Err(ApiError::invalid_because(
                    "sorter",
                    "directions are asc or desc",
                ));
            }
        };
        if !["numRows", "size", "updateTime"].contains(&key) {
            return Err(ApiError::invalid_because(
                "sorter",
                "keys are numRows, size, updateTime",
            ));
        }
        items.sort_by(|a, b| {
            let ord = match key {
                "updateTime" => a[key].as_str().cmp(&b[key].as_str()),
                _ => a[key].as_i64().cmp(&b[key].as_i64()),
            };
            if asc { ord } else { ord.reverse() }
        });
    }
    Ok(())
}

/// Paging: `pageNum` is 1-based; default page size 20, at most 100. With `all_when_absent`
/// (ListMmsDataSources) omitting both returns everything.
pub fn page(items: Vec<Value>, q: &Params, all_when_absent: bool) -> Result<Value, ApiError> {
    let (num, size) = (q.int("pageNum")?, q.int("pageSize")?);
    let total = items.len();
    if all_when_absent && num.is_none() && size.is_none() {
        return Ok(json!({"objectList": items, "pageNum": 1, "pageSize": total, "total": total}));
    }
    let num = num.unwrap_or(1);
    let size = size.unwrap_or(20);
    if num < 1 {
        return Err(ApiError::invalid_because("pageNum", "must be at least 1"));
    }
    if size < 1 {
        return Err(ApiError::invalid_because("pageSize", "must be at least 1"));
    }
    let size = size.min(100);
    let list: Vec<Value> = items
        .into_iter()
        .skip(((num - 1) * size) as usize)
        .take(size as usize)
        .collect();
    Ok(json!({"objectList": list, "pageNum": num, "pageSize": size, "total": total}))
}
