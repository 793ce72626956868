//! Per-packet NAT: what a NAT hook must write into a packet of a bound connection
//! (`nf_nat_packet` / `nf_nat_manip_pkt`, and `nf_nat_icmp_reply_translation` for ICMP
//! errors, whose quoted header is translated back too).
//!
//! The pipeline applies the instructions with the packet layer's checksum-aware setters
//! (for an ICMP error it must also recompute the ICMP checksum over the changed quote).

use std::net::IpAddr;

use nftvm_vm::keys::ct_status as st;

use super::range::Manip;
use crate::conntrack::Conntrack;
use crate::conntrack::ctinfo::{CtInfo, Tracked};
use crate::conntrack::icmp;
use crate::conntrack::tuple::{Tuple, addr_from_bits, proto};

/// Which side of a header to rewrite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Src,
    Dst,
}

/// One header rewrite: the address of `side`, and the layer-4 key of that side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderRewrite {
    pub side: Side,
    pub addr: IpAddr,
    /// TCP / UDP / UDP-Lite / SCTP: the port of `side`. ICMP / ICMPv6: the identifier
    /// (write it only into query messages: echo, timestamp, info, address mask and their
    /// replies; the kernel leaves other types alone). `None`: no layer-4 change.
    pub l4: Option<u16>,
}

/// The rewrites of one packet at one NAT hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NatAction {
    /// Nothing to change.
    None,
    /// Rewrite the packet's header, and for an ICMP error the quoted header too.
    Rewrite { outer: HeaderRewrite, inner: Option<HeaderRewrite> },
    /// Drop the packet (an ICMP redirect about a NATed connection).
    Drop,
}

fn l4_key(t: &Tuple, side: Side) -> Option<u16> {
    if t.is_icmp() {
        Some(t.src_id)
    } else if t.has_ports() || t.proto == crate::conntrack::tuple::proto::GRE {
        Some(match side {
            Side::Src => t.src_id,
            Side::Dst => t.dst_id,
        })
    } else {
        None
    }
}

/// `manip_pkt` with `target`: the side's address and key taken from `target`.
fn header(target: &Tuple, side: Side) -> HeaderRewrite {
    let addr = match side {
        Side::Src => addr_from_bits(target.l3, target.src),
        Side::Dst => addr_from_bits(target.l3, target.dst),
    };
    HeaderRewrite { side, addr, l4: l4_key(target, side) }
}

fn side_of(manip: Manip) -> Side {
    match manip {
        Manip::Src => Side::Src,
        Manip::Dst => Side::Dst,
    }
}

impl Conntrack {
    /// What the NAT hook doing `manip` must change in the packet tracked as `t`.
    pub fn nat_rewrite(&self, t: &Tracked, manip: Manip) -> NatAction {
        let Some(id) = t.conn else { return NatAction::None };
        let Some(dir) = t.info.dir() else { return NatAction::None };
        let Some(c) = self.get(id) else { return NatAction::None };
        let dir = dir.index();
        let mut bit = match manip {
            Manip::Src => st::SRC_NAT,
            Manip::Dst => st::DST_NAT,
        };
        if dir == 1 {
            bit ^= st::SRC_NAT | st::DST_NAT;
        }
        let other = c.tuple[1 - dir];

        if let Some(icmp_type) = t.icmp_error {
            let l4 =
                if c.tuple[0].l3 == crate::conntrack::tuple::L3::Ipv4 { proto::ICMP } else { proto::ICMPV6 };
            if icmp::is_redirect(l4, icmp_type) {
                if c.status & (st::SRC_NAT | st::DST_NAT) != 0 {
                    return NatAction::Drop;
                }
                if t.info == CtInfo::Related {
                    return NatAction::None;
                }
            }
            if c.status & bit == 0 {
                return NatAction::None;
            }
            // The quoted packet travelled the other way: undo on it the opposite side.
            let inner = header(&other, side_of(manip.other()));
            // The error itself must look like a reply to the inverted other direction.
            let side = side_of(manip);
            let addr = match side {
                Side::Src => addr_from_bits(other.l3, other.dst),
                Side::Dst => addr_from_bits(other.l3, other.src),
            };
            let outer = HeaderRewrite { side, addr, l4: None };
            return NatAction::Rewrite { outer, inner: Some(inner) };
        }

        if c.status & bit == 0 {
            return NatAction::None;
        }
        let Some(target) = other.invert() else { return NatAction::None };
        NatAction::Rewrite { outer: header(&target, side_of(manip)), inner: None }
    }
}
