//! Client-side evaluation of the CRDs' CEL rules.
//!
//! The apiserver enforces `x-kubernetes-validations` from Kubernetes 1.25 on; older servers drop
//! them silently. Controllers run the same rules so a contradictory spec is reported as
//! `InvalidSpec` on any cluster instead of being acted on.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use kube::CustomResourceExt;
use kube::core::cel::{CompiledSchema, Validator, compile_schema};
use serde_json::Value;

/// The openAPIV3Schema of a kind, as JSON.
pub fn schema_of<K: CustomResourceExt>() -> Value {
    let crd = super::portable(K::crd());
    let schema = crd.spec.versions[0]
        .schema
        .as_ref()
        .and_then(|s| s.open_api_v3_schema.as_ref())
        .expect("derived CRDs carry an openAPIV3Schema");
    serde_json::to_value(schema).expect("a schema serializes to JSON")
}

/// Evaluates every CEL rule of `K` on `object` (and transition rules against `old`, when given).
/// Returns the failed rules as `path: message` lines.
pub fn check<K: CustomResourceExt>(object: &Value, old: Option<&Value>) -> Result<(), Vec<String>> {
    Validator::new()
        .validate(&schema_of::<K>(), object, old)
        .map_err(|errors| errors.iter().map(|e| e.to_string()).collect())
}

/// Like [`check`] for a typed object, with the kind's rules compiled once per thread: the
/// controllers call this on every reconcile, and building the schema and compiling its rules
/// costs far more than evaluating them.
pub fn check_typed<K: CustomResourceExt + serde::Serialize>(object: &K) -> Result<(), Vec<String>> {
    let value = serde_json::to_value(object).expect("resources serialize to JSON");
    let compiled = COMPILED.with(|cache| {
        cache
            .borrow_mut()
            .entry(K::crd_name())
            .or_insert_with(|| Rc::new((Validator::new(), compile_schema(&schema_of::<K>()))))
            .clone()
    });
    let (validator, schema) = compiled.as_ref();
    validator
        .validate_compiled(schema, &value, None)
        .map_err(|errors| errors.iter().map(|e| e.to_string()).collect())
}

thread_local! {
    /// Compiled rules per CRD name (the validator is not `Sync`, so one per worker thread).
    static COMPILED: RefCell<HashMap<&'static str, Rc<(Validator, CompiledSchema)>>> =
        RefCell::new(HashMap::new());
}
