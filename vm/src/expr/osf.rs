//! `osf`: passive OS fingerprint of a SYN (nft_osf.c). As in Linux 6.18, only an IPv4 TCP
//! segment with the SYN flag and 20 bytes of header gets a name — anything else breaks the
//! rule; the name is what the fingerprint database says ([`crate::interp::Env::osf_get`]),
//! `unknown` when no fingerprint fits. nftvm loads no fingerprints (the kernel's come from
//! `nfnl_osf -f pf.os`), so every such SYN is `unknown`, as on a kernel nobody gave
//! fingerprints. The header is read right after the IPv4 header whatever the fragment
//! offset, as Linux 6.18 reads it: a later fragment seen before reassembly (or with no
//! conntrack to reassemble it) is taken for a SYN when its data has that bit (kernels with
//! the 2026 `fragoff` check break there instead).

use crate::data::ByteOrder;
use crate::interp::{Eval, PacketCtx};
use crate::keys::Family;
use crate::program::Program;
use crate::reg::Reg;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

/// `NFT_OSF_MAXGENRELEN`.
pub const NAME_LEN: usize = 16;

#[derive(Clone, Debug, PartialEq)]
pub struct Osf {
    pub dreg: Reg,
    /// TTL handling option and flags (not printed).
    pub ttl: u8,
    pub flags: u32,
}

impl Osf {
    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let _ = write!(o, "dreg {}", self.dreg);
    }

    pub(crate) fn parse(c: &mut Cursor, a: &mut Asm) -> PResult<Osf> {
        c.expect("dreg")?;
        let dreg = c.reg()?;
        a.wrote(dreg, NAME_LEN, ByteOrder::Network);
        Ok(Osf { dreg, ttl: 0, flags: 0 })
    }

    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        c.write(self.dreg, NAME_LEN)
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        if !is_fingerprinted(e.pkt) {
            e.brk();
            return;
        }
        let mut buf = [0u8; NAME_LEN];
        if !e.env.osf_get(self.ttl, self.flags, &mut buf) {
            buf = UNKNOWN;
        }
        if !e.regs.store(self.dreg, &buf) {
            e.brk();
        }
    }
}

/// The name of a SYN no fingerprint fits, as the register holds it.
const UNKNOWN: [u8; NAME_LEN] = *b"unknown\0\0\0\0\0\0\0\0\0";

/// Does the kernel look for a fingerprint of this packet: IPv4 (an inet chain's IPv6
/// packets break), TCP, 20 bytes of TCP header after the IPv4 header (any fragment's), SYN
/// set?
fn is_fingerprinted(pkt: &PacketCtx<'_>) -> bool {
    const SYN: u8 = 0x02;
    if pkt.nfproto != Family::Ip || pkt.l4proto != 6 {
        return false;
    }
    let Some(ihl) = pkt.data.get(pkt.network_off).map(|b| usize::from(b & 0x0f) * 4) else { return false };
    let th = pkt.network_off + ihl;
    pkt.data.get(th..th + 20).is_some_and(|tcp| tcp[13] & SYN != 0)
}
