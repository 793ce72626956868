//! Connection tracking: tuples, the flow table, per-protocol state machines (TCP with
//! window tracking, UDP, UDP-Lite, ICMP/ICMPv6, GRE, generic), timeouts on the packet
//! clock, expectations, events and `conntrack`-format output — Linux's `nf_conntrack`
//! semantics and defaults.
//!
//! The interface is independent of packet parsing: the pipeline describes each packet
//! with a [`PacketInfo`] and applies what comes back. Per packet, in hook order:
//!
//! 1. **raw chains** (priority < −200): a `notrack` verdict means the packet skips
//!    tracking and uses [`Tracked::untracked`]; `ct zone set` fills [`PacketInfo::zone`].
//! 2. **conntrack hook** (prerouting / output, −200): [`Conntrack::track`] →
//!    [`Tracked`] (connection handle + ctinfo). `Err(Refused::TableFull)`: drop the packet.
//! 3. **rule evaluation**: `ct state` = [`Tracked::state_bits`], `ct direction` =
//!    [`Tracked::direction`]; everything else from [`Conntrack::get`] ([`Conn`]: tuples,
//!    `status`, `mark`, `labels`, `zone`, `helper`, `id`, [`Conn::expiration_ms`],
//!    [`Conn::packets`], [`Conn::bytes`], [`Conn::avgpkt`]). Writes go through
//!    [`Conntrack::set_mark`], [`Conntrack::set_labels`], [`Conntrack::set_helper`]
//!    (`ct helper set`, only on the first packet).
//! 4. **NAT hooks** (dstnat −100 in prerouting/output, srcnat 100 in postrouting/input):
//!    see [`crate::nat`] — [`Conntrack::nat_needed`] → nat chains →
//!    [`Conntrack::nat_setup`] / [`Conntrack::nat_null_binding`]; then apply
//!    [`Conntrack::nat_rewrite`].
//! 5. **confirm point** (after the last postrouting / input chain, packet accepted):
//!    [`Conntrack::finish`] with the [`L4Payload`] (TCP: payload, seq/ack, SACK blocks from
//!    [`seqadj::sack_blocks`]; UDP: the payload) — runs the helper, returns payload and
//!    sequence rewrites to apply, inserts a new entry, delivers events. `Err` means drop
//!    the packet.
//!    A packet dropped anywhere (or not reaching the confirm point) instead calls
//!    [`Conntrack::abort`]: an entry it was creating leaves no trace.
//!
//! Housekeeping: [`Conntrack::gc`] periodically (expired entries and their DESTROY
//! events), [`Conntrack::drain_events`] for `conntrack -E`, [`Conntrack::dump`] for
//! `conntrack -L`, [`Conntrack::delete`] / [`Conntrack::flush`] for `-D` / `-F`,
//! [`Stats::line`] for `-S`.

pub mod builder;
pub mod config;
pub mod confirm;
pub mod ctinfo;
pub mod entry;
pub mod events;
pub mod expect;
pub mod expect_object;
pub mod format;
pub mod gre_keymap;
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
pub use confirm::{ConfirmDrop, Finish, L4Payload, Segment};
pub use ctinfo::{CtInfo, Tracked};
pub use entry::{Conn, ConnId, Counter, Dir, NatBinding};
pub use events::{Event, EventKind};
pub use format::FormatOptions;
pub use packet::{IcmpInfo, L4, PacketInfo, Quoted, QuotedL4, SECOND, TcpInfo, Time, UdpInfo};
pub use table::{Conntrack, Refused, Stats, TupleClaims};
pub use tcp::TcpState;
pub use tuple::{L3, Tuple};
