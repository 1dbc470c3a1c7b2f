//! Builders for CEL rules that the derive macros embed in the CRDs.

/// A root-level transition rule: once `status.<status_field>` is set (the cloud object exists),
/// each of `spec_fields` keeps its presence and value. Before that the spec may still be edited.
pub fn immutable_once_set(status_field: &str, spec_fields: &[&str]) -> String {
    let unchanged: Vec<String> = spec_fields
        .iter()
        .map(|f| {
            format!(
                "(has(self.spec.{f}) == has(oldSelf.spec.{f}) && (!has(self.spec.{f}) || self.spec.{f} == oldSelf.spec.{f}))"
            )
        })
        .collect();
    format!(
        "!has(oldSelf.status) || !has(oldSelf.status.{status_field}) || ({})",
        unchanged.join(" && ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_mentions_every_field_and_guards_on_status() {
        let rule = immutable_once_set("jobId", &["a", "b"]);
        assert!(rule.starts_with("!has(oldSelf.status) || !has(oldSelf.status.jobId) || ("));
        assert!(rule.contains("self.spec.a == oldSelf.spec.a"));
        assert!(rule.contains("has(self.spec.b) == has(oldSelf.spec.b)"));
    }
}
