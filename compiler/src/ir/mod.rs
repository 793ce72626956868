//! The canonical ruleset IR.
