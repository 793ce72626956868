//! Zero-copy packet views and the dissector.
//!
//! One file per protocol, in the style of smoltcp's `wire` module: a view type
//! (`Ipv4Packet<T: AsRef<[u8]>>`, ...) with `new_checked` constructors that validate the
//! buffer, field getters, setters when `T: AsMut<[u8]>`, and a `Repr` to parse into and emit
//! from. Views never panic, even when built unchecked over a short buffer (they read zeros).
//!
//! On top of them:
//! * [`parse`] — the dissector: the offsets and tuples the VM and conntrack need, computed as
//!   the kernel computes them;
//! * [`rewrite`] — NAT and field rewrites with kernel-exact incremental checksums;
//! * [`payload_write`] — nf_tables' `payload write` with its checksum updates;
//! * [`build`] — a builder for test and example packets.

pub mod arp;
pub mod build;
pub mod error;
pub mod ethernet;
mod field;
pub mod gre;
pub mod hop_by_hop;
pub mod icmpv4;
pub mod icmpv6;
pub mod ip;
pub mod ipv4;
pub mod ipv6;
pub mod ipv6_chain;
pub mod ipv6_ext;
pub mod link;
pub mod parse;
pub mod payload_write;
pub mod rewrite;
pub mod sctp;
pub mod tcp;
pub mod tuple;
pub mod udp;
pub mod udplite;
pub mod vlan;

pub use build::PacketBuilder;
pub use error::{ErrorKind, ParseError};
pub use ip::IpVersion;
pub use link::LinkType;
pub use parse::{
    CtView, DissectOptions, IcmpErrorInfo, PacketInfo, Transport, dissect, dissect_ip, dissect_network_only,
    dissect_with,
};
pub use tuple::{Tuple, TupleL4};
