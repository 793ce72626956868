//! NAT: source/destination bindings made at a flow's first packet and stored in its
//! conntrack entry (as the reply tuple and status bits), and the per-packet rewrites they
//! imply in both directions.
//!
//! Sequence for the pipeline at a NAT hook (nat chains of prerouting/output do
//! [`Manip::Dst`], of postrouting/input [`Manip::Src`]):
//! 1. if [`crate::conntrack::Conntrack::nat_needed`]: run the nat chains; a NAT statement resolves its
//!    [`NatRange`] (masquerade/redirect: the interface address) and calls
//!    [`crate::conntrack::Conntrack::nat_setup`]; stop once [`crate::conntrack::Conntrack::nat_initialized`]; if no rule bound
//!    anything, call [`crate::conntrack::Conntrack::nat_null_binding`];
//! 2. apply [`crate::conntrack::Conntrack::nat_rewrite`] to the packet.

pub mod binding;
pub mod range;
pub mod rewrite;
pub mod unique;

pub use binding::NatError;
pub use range::{Manip, NatRange, flags};
pub use rewrite::{HeaderRewrite, NatAction, Side};
