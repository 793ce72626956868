//! `match name connlimit rev 1` — iptables' `-m connlimit`, run as iptables-nft runs it:
//! the kernel's match (`xt_connlimit` over `nf_conncount`), not the set of per-address
//! `ct count` elements `iptables-translate` writes. The two differ where a connection is
//! not new:
//!
//! - the first packet of an address group (the source or destination address under the
//!   mask, and the zone) makes the group's list with its connection in it, whatever the
//!   connection's state — a rule added under an established connection counts it;
//! - a packet of a group whose count is then 0 — the last connection it counted has closed
//!   (TIME_WAIT, CLOSE) or gone, and the packet's own is not added because it is
//!   established — is dropped (the kernel's "hotdrop"): without `--syn` the final ACK of a
//!   closed connection never passes the rule;
//! - a group's list stays when it empties (the kernel frees empty groups only in bulk, see
//!   the runtime's `conncount`), so the next established packet of the group is dropped,
//!   and its next new connection is counted.
//!
//! The match holds when the count is above the limit (`--connlimit-above`), or at most the
//! limit with the kernel's invert flag (`--connlimit-upto`). A packet conntrack reads no
//! tuple from is dropped. Like the kernel's match, it turns connection tracking on.

use super::connlimit::{ConnList, Count};
use crate::interp::Eval;
use crate::interp::packet::address_span;
use crate::keys::Family;
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

/// One `-m connlimit` match (the kernel's `xt_connlimit_info`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct XtConnlimit {
    pub limit: u32,
    /// `XT_CONNLIMIT_INVERT`: match while the count is at most `limit` (`--connlimit-upto`).
    pub upto: bool,
    /// `XT_CONNLIMIT_DADDR`: group by destination address (else source).
    pub daddr: bool,
    /// The prefix length grouping addresses (`--connlimit-mask`).
    pub mask_len: u8,
    /// The state slot naming this match's groups (assigned by the verifier).
    pub slot: u32,
}

impl XtConnlimit {
    /// The packet's group key: its source (destination) address under the mask, as a
    /// number (IPv4 in the low 32 bits). None for a packet of another family, or whose
    /// network header is cut short.
    fn key(&self, family: Family, data: &[u8], net: usize) -> Option<u128> {
        let (at, len) = address_span(family, self.daddr)?;
        let bytes = data.get(net + at..net + at + len)?;
        let addr = bytes.iter().fold(0u128, |a, b| a << 8 | u128::from(*b));
        let bits = 8 * len as u32;
        let all = u128::MAX >> (128 - bits);
        let mask = all & !all.checked_shr(u32::from(self.mask_len)).unwrap_or(0);
        Some(addr & mask)
    }

    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let op = if self.upto { "upto" } else { "above" };
        let dir = if self.daddr { "daddr" } else { "saddr" };
        let _ = write!(o, "name connlimit rev 1 {op} {} mask {} {dir}", self.limit, self.mask_len);
    }

    pub(crate) fn parse(c: &mut Cursor, _a: &mut Asm) -> PResult<XtConnlimit> {
        c.expect_all(&["name", "connlimit", "rev", "1"])?;
        let upto = match c.next()? {
            "upto" => true,
            "above" => false,
            other => return Err(format!("connlimit: expected `upto` or `above`, found `{other}`")),
        };
        let limit = c.num()?;
        let mask_len = c.keyed_num::<u8>("mask")?;
        let daddr = match c.next()? {
            "daddr" => true,
            "saddr" => false,
            other => return Err(format!("connlimit: expected `saddr` or `daddr`, found `{other}`")),
        };
        Ok(XtConnlimit { limit, upto, daddr, mask_len, slot: 0 })
    }

    /// `connlimit_mt_check`: the mask is a prefix of an address.
    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        let bits = if c.family == Family::Ip { 32 } else { 128 };
        if self.mask_len > bits {
            return Err(format!("connlimit: mask /{} longer than the address", self.mask_len));
        }
        Ok(())
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let Some(key) = self.key(e.pkt.nfproto, e.pkt.data, e.pkt.network_off) else {
            return e.brk();
        };
        let answer = match e.env.connlimit_count(ConnList::Group { slot: self.slot, key }) {
            // The packet's group counts nothing, its own connection not added: hotdrop.
            Count::Conns(0) | Count::NoTuple => None,
            Count::Conns(n) => Some((n > self.limit) != self.upto),
            Count::NotCounted => Some(false),
        };
        e.match_answer(answer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_addresses_under_the_mask() {
        let m = |daddr, mask_len| XtConnlimit { limit: 1, upto: false, daddr, mask_len, slot: 0 };
        let mut v4 = vec![0u8; 20];
        v4[12..16].copy_from_slice(&[10, 0, 1, 77]);
        v4[16..20].copy_from_slice(&[192, 0, 2, 9]);
        assert_eq!(m(false, 32).key(Family::Ip, &v4, 0), Some(0x0a00_014d));
        assert_eq!(m(false, 24).key(Family::Ip, &v4, 0), Some(0x0a00_0100));
        assert_eq!(m(true, 0).key(Family::Ip, &v4, 0), Some(0));
        assert_eq!(m(true, 32).key(Family::Ip, &v4, 0), Some(0xc000_0209));
        assert_eq!(m(false, 32).key(Family::Ip, &v4[..15], 0), None, "cut short");
        let mut v6 = vec![0u8; 40];
        v6[8..24].copy_from_slice(&[0xfd, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        assert_eq!(m(false, 128).key(Family::Ip6, &v6, 0), Some(0xfd00_0001_0000_0000_0000_0000_0000_0002));
        assert_eq!(m(false, 64).key(Family::Ip6, &v6, 0), Some(0xfd00_0001_0000_0000_0000_0000_0000_0000));
        assert_eq!(m(false, 32).key(Family::Arp, &v4, 0), None);
    }
}
