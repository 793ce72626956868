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
//!
//! As in Linux, once any nat chain exists in a family, NAT runs at all four NAT hooks of
//! that family (prerouting, output, input, postrouting): a hook without a nat chain of
//! its own still makes the null binding in step 1 (so a clashing source port is moved
//! even without a `snat` rule). An ICMP error ([`crate::conntrack::Tracked::icmp_error`])
//! never runs nat chains; its rewrite translates the quoted header too, and
//! [`NatAction::Drop`] (a redirect about a NATed flow) drops it.

pub mod binding;
pub mod range;
pub mod rewrite;
pub mod unique;

pub use binding::NatError;
pub use range::{Manip, NatRange, flags};
pub use rewrite::{HeaderRewrite, NatAction, Side};
