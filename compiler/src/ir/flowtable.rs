//! Flowtables: `flowtable f { hook ingress priority filter; devices = { eth0, eth1 }; }`.

use super::{Hook, Span};

#[derive(Clone, Debug, PartialEq)]
pub struct Flowtable {
    pub name: String,
    /// Always `ingress` today.
    pub hook: Hook,
    pub priority: i32,
    pub devices: Vec<String>,
    /// `flags offload`.
    pub offload: bool,
    /// `counter`.
    pub counter: bool,
    pub span: Span,
    pub handle: u64,
}
