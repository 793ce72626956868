//! Binding NAT to a connection at its first packet (`nf_nat_setup_info`,
//! `nf_nat_alloc_null_binding`, `nf_nat_follow_master`).
//!
//! The nat chains of a hook run only for a packet that is NEW (or RELATED) and whose
//! connection has no binding for that hook's manipulation yet ([`Conntrack::nat_needed`]).
//! A `snat`/`dnat`/`masquerade`/`redirect` statement calls [`Conntrack::nat_setup`]; if
//! the chains end without one, [`Conntrack::nat_null_binding`] records the identity
//! mapping (which may still move a source port that clashes). The binding changes the
//! reply tuple, so replies are recognised, and sets `SRC_NAT`/`DST_NAT` when it changed
//! something; the `*_NAT_DONE` bits say the manipulation is decided.

use nftvm_vm::keys::ct_status as st;

use super::range::{Manip, NatRange, flags};
use crate::conntrack::Conntrack;
use crate::conntrack::ctinfo::{CtInfo, Tracked};
use crate::conntrack::entry::ConnId;
use crate::conntrack::expect::ExpectNat;
use crate::conntrack::table::SrcKey;

/// Why a binding could not be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NatError {
    /// The handle does not name a live connection.
    NoConnection,
    /// This manipulation was already bound (the kernel drops the packet).
    AlreadyBound,
}

fn done_bit(manip: Manip) -> u32 {
    match manip {
        Manip::Src => st::SRC_NAT_DONE,
        Manip::Dst => st::DST_NAT_DONE,
    }
}

impl Conntrack {
    /// `nf_nat_initialized`: the manipulation is decided for this connection.
    pub fn nat_initialized(&self, id: ConnId, manip: Manip) -> bool {
        self.get(id).is_some_and(|c| c.status & done_bit(manip) != 0)
    }

    /// Whether the nat chains of a hook doing `manip` must run for this packet: a NEW or
    /// RELATED packet (not an ICMP error) whose connection has no binding for it yet.
    pub fn nat_needed(&self, t: &Tracked, manip: Manip) -> bool {
        let Some(id) = t.conn else { return false };
        t.icmp_error.is_none()
            && matches!(t.info, CtInfo::New | CtInfo::Related | CtInfo::RelatedReply)
            && !self.nat_initialized(id, manip)
    }

    /// `nf_nat_setup_info`: binds `range` to a connection being created. A connection
    /// already in the table is left alone (`Ok`), as in the kernel.
    pub fn nat_setup(&mut self, id: ConnId, range: &NatRange, manip: Manip) -> Result<(), NatError> {
        let c = self.get(id).ok_or(NatError::NoConnection)?;
        if c.confirmed() {
            return Ok(());
        }
        if c.status & done_bit(manip) != 0 {
            return Err(NatError::AlreadyBound);
        }
        let Some(curr) = c.tuple[1].invert() else { return Err(NatError::NoConnection) };
        let now = self.now;
        let new = self.get_unique_tuple(id, &curr, range, manip, now);
        let c = self.get_mut(id).ok_or(NatError::NoConnection)?;
        if new != curr
            && let Some(reply) = new.invert()
        {
            c.tuple[1] = reply;
            c.status |= match manip {
                Manip::Src => st::SRC_NAT,
                Manip::Dst => st::DST_NAT,
            };
        }
        c.status |= done_bit(manip);
        if manip == Manip::Src {
            let key = SrcKey::of(&c.tuple[0], c.zone);
            self.bysrc.entry(key).or_default().push(id);
        }
        Ok(())
    }

    /// `nf_nat_alloc_null_binding`: no nat rule matched; map to the address the packet
    /// already has (letting the port move only if the tuple clashes).
    pub fn nat_null_binding(&mut self, id: ConnId, manip: Manip) -> Result<(), NatError> {
        let c = self.get(id).ok_or(NatError::NoConnection)?;
        let addr = match manip {
            Manip::Src => c.tuple[1].dst,
            Manip::Dst => c.tuple[1].src,
        };
        let range = NatRange { flags: flags::MAP_IPS, min_addr: addr, max_addr: addr, ..NatRange::default() };
        self.nat_setup(id, &range, manip)
    }

    /// `nf_nat_follow_master`: an expected connection of a NATed master is NATed the same
    /// way (source to where the master talks to, destination to the real inside host and
    /// port).
    pub(crate) fn nat_follow_master(&mut self, id: ConnId, master: ConnId, nat: ExpectNat) {
        let Some(m) = self.get(master) else { return };
        let d = 1 - (nat.dir & 1);
        let (to_src, to_dst) = (m.tuple[d].dst, m.tuple[d].src);
        let _ = self.nat_setup(id, &NatRange::exactly(to_src, None), Manip::Src);
        let _ = self.nat_setup(id, &NatRange::exactly(to_dst, Some(nat.saved_port)), Manip::Dst);
    }
}
