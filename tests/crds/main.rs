//! The CRDs without a server: the generated files are current, every user-set value is bounded,
//! and every CEL rule does what its message says.

mod bounds;
mod cel_rules;
mod fresh;
