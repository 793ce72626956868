//! TODO
use super::Explain;
use crate::ir::Ruleset;

pub fn run(_rs: &mut Ruleset, _explain: &mut Explain) {}
