//! Connection tracking: tuples, the flow table, per-protocol state machines (TCP with
//! window tracking, UDP, ICMP/ICMPv6, GRE, generic), timeouts on the packet clock,
//! expectations, events and `conntrack`-format output — Linux's `nf_conntrack` semantics
//! and defaults.
//!
//! The interface is independent of packet parsing: the pipeline describes each packet with
//! a [`PacketInfo`] and applies what comes back. Per packet:
//! 1. conntrack hook (prerouting/output, after raw chains): [`Conntrack::track`] →
//!    [`Tracked`] (connection handle + ctinfo, i.e. `ct state`/`ct direction`); a packet
//!    marked `notrack` skips this and uses [`Tracked::untracked`];
//! 2. rules may read the entry ([`Conntrack::get`]) and change it ([`Conntrack::set_mark`],
//!    [`Conntrack::set_labels`], [`Conntrack::set_helper`]);
//! 3. NAT hooks: see [`crate::nat`];
//! 4. end of postrouting / input, packet accepted: [`Conntrack::finish`] (helper, sequence
//!    adjustment, confirmation of a new entry, events); packet dropped anywhere:
//!    [`Conntrack::abort`].

pub mod builder;
pub mod config;
pub mod confirm;
pub mod ctinfo;
pub mod entry;
pub mod events;
pub mod expect;
pub mod format;
pub mod icmp;
pub mod index;
pub mod packet;
pub mod seqadj;
pub mod table;
pub mod tcp;
pub mod track;
pub mod tuple;
pub mod udp;

pub use config::{Config, TcpTimeouts, Timeouts};
pub use confirm::{ConfirmDrop, Finish, Segment};
pub use ctinfo::{CtInfo, Tracked};
pub use entry::{Conn, ConnId, Counter, Dir, NatBinding};
pub use events::{Event, EventKind};
pub use format::FormatOptions;
pub use packet::{IcmpInfo, L4, PacketInfo, Quoted, QuotedL4, SECOND, TcpInfo, Time, UdpInfo};
pub use table::{Conntrack, Refused, Stats};
pub use tcp::TcpState;
pub use tuple::{L3, Tuple};
