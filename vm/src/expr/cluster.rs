//! `match name cluster rev 0` — iptables' `-m cluster`, run as iptables-nft runs it: the
//! kernel's match (`xt_cluster`). Nodes of a cluster that all see the same packets (a
//! switch flooding them, or a multicast MAC address) share the connections out by a hash of
//! each connection's original source address — the master's for an expected connection; of an
//! IPv6 address only the first 32 bits, as the kernel's hash reads them — so that each takes
//! its own: the match holds when the bit of the hash's node
//! (`jhash(address, seed)` scaled to the node count) is in this node's mask, `!` inverting
//! that. A packet without a connection (untracked, invalid) never matches. Like the kernel's
//! match, it turns connection tracking on for the family and, as a side effect, turns a
//! packet that came as link-layer multicast to a unicast address into one for this host.

use super::hash::jhash;
use super::numgen::scale;
use crate::interp::Eval;
use crate::keys::{Family, MetaKey};
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;
use std::net::IpAddr;

/// Most nodes (`XT_CLUSTER_NODES_MAX`).
pub const MAX_NODES: u32 = 32;
/// `PACKET_HOST` and `PACKET_MULTICAST` (`meta pkttype`).
const PACKET_HOST: u8 = 0;
const PACKET_MULTICAST: u8 = 2;

/// One `-m cluster` match (the kernel's `xt_cluster_match_info`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Cluster {
    pub total_nodes: u32,
    /// The hash values (node numbers from 0) this node takes, one bit each.
    pub node_mask: u32,
    pub hash_seed: u32,
    /// `!`: the packets of the other nodes.
    pub invert: bool,
}

impl Cluster {
    /// The node (0..total_nodes) a connection whose original source is `addr` belongs to.
    pub fn node_of(&self, addr: IpAddr) -> u32 {
        // For IPv6 the kernel hashes `NF_CT_TUPLE_L3SIZE / sizeof(u32)` words of the
        // address — a count of 4 bytes divided by 4: the first 32 bits only.
        let first = match addr {
            IpAddr::V4(a) => a.octets(),
            IpAddr::V6(a) => {
                let o = a.octets();
                [o[0], o[1], o[2], o[3]]
            }
        };
        let h = jhash(&first, self.hash_seed);
        scale(h, self.total_nodes)
    }

    /// Does a packet of a connection whose original source is `addr` match?
    pub fn takes(&self, addr: IpAddr) -> bool {
        let mine =
            1u64.checked_shl(self.node_of(addr)).is_some_and(|bit| u64::from(self.node_mask) & bit != 0);
        mine != self.invert
    }

    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let _ = write!(
            o,
            "name cluster rev 0 nodes {} mask 0x{:08x} seed 0x{:08x}",
            self.total_nodes, self.node_mask, self.hash_seed
        );
        if self.invert {
            o.push_str(" invert");
        }
    }

    pub(crate) fn parse(c: &mut Cursor, _a: &mut Asm) -> PResult<Cluster> {
        c.expect_all(&["name", "cluster", "rev", "0"])?;
        let total_nodes = c.keyed_num::<u32>("nodes")?;
        let hex32 = |c: &mut Cursor, word: &str| -> PResult<u32> {
            c.expect(word)?;
            u32::try_from(c.hex()?).map_err(|_| format!("cluster: {word} above 32 bits"))
        };
        let node_mask = hex32(c, "mask")?;
        let hash_seed = hex32(c, "seed")?;
        let invert = c.eat("invert");
        Ok(Cluster { total_nodes, node_mask, hash_seed, invert })
    }

    /// `xt_cluster_mt_checkentry`: at most [`MAX_NODES`] nodes, a mask of those nodes only.
    pub(crate) fn check(&self, _c: &mut Check) -> Result<(), String> {
        if self.total_nodes > MAX_NODES {
            return Err(format!("cluster: more than {MAX_NODES} nodes"));
        }
        if u64::from(self.node_mask) >= 1u64 << self.total_nodes {
            return Err("cluster: the node mask names nodes beyond the node count".into());
        }
        Ok(())
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        unicast_for_host(e);
        match e.env.ct_origin_source() {
            Some(addr) if self.takes(addr) => {}
            _ => e.brk(),
        }
    }
}

/// A packet that came as link-layer multicast to a unicast IP address is for this host
/// (what the kernel's match does to every packet it sees, so that a cluster can share a
/// multicast MAC address).
fn unicast_for_host(e: &mut Eval) {
    let mut pkttype = [0u8];
    if !e.env.meta_get(MetaKey::PktType, &mut pkttype) || pkttype[0] != PACKET_MULTICAST {
        return;
    }
    let nh = e.pkt.network_off;
    let multicast = match e.pkt.nfproto {
        Family::Ip => e.pkt.data.get(nh + 16).is_some_and(|b| b & 0xf0 == 0xe0),
        Family::Ip6 => e.pkt.data.get(nh + 24).is_some_and(|b| *b == 0xff),
        _ => true,
    };
    if !multicast {
        e.env.meta_set(MetaKey::PktType, &[PACKET_HOST]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_are_shared_out_by_source_address() {
        let all = |mask| Cluster { total_nodes: 2, node_mask: mask, hash_seed: 0xfeed_cafe, invert: false };
        let sources: Vec<IpAddr> = (1..=64u8).map(|k| IpAddr::from([10, 0, 1, k])).collect();
        // Every source belongs to exactly one of the two nodes, and both get some.
        let first = sources.iter().filter(|a| all(0b01).takes(**a)).count();
        let second = sources.iter().filter(|a| all(0b10).takes(**a)).count();
        assert_eq!(first + second, sources.len());
        assert!(first > 10 && second > 10, "{first} / {second}");
        let inverted = Cluster { invert: true, ..all(0b01) };
        assert!(sources.iter().all(|a| inverted.takes(*a) == all(0b10).takes(*a)));
    }
}
