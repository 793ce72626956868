//! `match name srh rev 1` — ip6tables' `-m srh`, run as iptables-nft runs it: the kernel's
//! match (`ip6t_srh`, revision 1). It finds the packet's first routing header the way
//! `ipv6_find_hdr` does; only a whole type-4 header (Segment Routing) whose Segments Left is
//! at most its Last Entry is tested. Then each test the rule makes, `!` on each: Next Header,
//! Hdr Ext Len, Segments Left and Last Entry (each `==`, `>` and `<` one shared value, as the
//! kernel's match keeps it), Tag (read in the host's byte order, as the kernel reads it),
//! and the previous, next and last segment (an address under a mask) — a segment the header
//! does not have fails its test whatever `!` says.

use super::xt::Tests;
use crate::interp::{Eval, headers};
use crate::keys::Family;
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;
use std::net::Ipv6Addr;

/// `IP6T_SRH_*`: the tests the match makes (bits of its [`Tests`]).
pub mod test_bits {
    pub const NEXT_HDR: u16 = 0x0001;
    pub const LEN_EQ: u16 = 0x0002;
    pub const LEN_GT: u16 = 0x0004;
    pub const LEN_LT: u16 = 0x0008;
    pub const SEGS_EQ: u16 = 0x0010;
    pub const SEGS_GT: u16 = 0x0020;
    pub const SEGS_LT: u16 = 0x0040;
    pub const LAST_EQ: u16 = 0x0080;
    pub const LAST_GT: u16 = 0x0100;
    pub const LAST_LT: u16 = 0x0200;
    pub const TAG: u16 = 0x0400;
    pub const PSID: u16 = 0x0800;
    pub const NSID: u16 = 0x1000;
    pub const LSID: u16 = 0x2000;
    /// Every test.
    pub const ALL: u16 = 0x3fff;
}

/// The routing type of a Segment Routing Header.
const SRH_TYPE: u8 = 4;
/// Bytes of the header before its segment list.
const FIXED: usize = 8;

/// A segment test: the segment, masked, equals `addr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Sid {
    pub addr: [u8; 16],
    pub mask: [u8; 16],
}

impl Sid {
    /// `ipv6_masked_addr_cmp(segment, mask, addr) == 0`.
    fn holds(&self, segment: &[u8]) -> bool {
        segment.iter().zip(&self.addr).zip(&self.mask).all(|((s, a), m)| (s ^ a) & m == 0)
    }

    fn print(&self) -> String {
        format!("{}/{}", Ipv6Addr::from(self.addr), Ipv6Addr::from(self.mask))
    }

    fn parse(s: &str) -> Result<Sid, String> {
        let bad = || format!("expected ADDRESS/MASK, found `{s}`");
        let (a, m) = s.split_once('/').ok_or_else(bad)?;
        let addr = a.parse::<Ipv6Addr>().map_err(|_| bad())?;
        let mask = m.parse::<Ipv6Addr>().map_err(|_| bad())?;
        Ok(Sid { addr: addr.octets(), mask: mask.octets() })
    }
}

/// One `-m srh` match (the kernel's `ip6t_srh1`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct SrhMatch {
    pub next_hdr: u8,
    /// The value all three Hdr Ext Len tests compare with (likewise the next two).
    pub hdr_len: u8,
    pub segs_left: u8,
    pub last_entry: u8,
    pub tag: u16,
    pub psid: Sid,
    pub nsid: Sid,
    pub lsid: Sid,
    /// Which of [`test_bits`] the match makes.
    pub tests: Tests,
}

/// The three comparisons of one field.
fn compare(t: Tests, [eq, gt, lt]: [u16; 3], field: u8, value: u8) -> bool {
    t.holds(eq, field == value) && t.holds(gt, field > value) && t.holds(lt, field < value)
}

impl SrhMatch {
    /// Does the Segment Routing Header at `srh` (at least [`FIXED`] bytes, its whole length
    /// in `ip`) pass every test?
    fn holds(&self, ip: &[u8], srh: usize) -> bool {
        use test_bits::*;
        let byte = |i: usize| ip.get(srh + i).copied().unwrap_or(0);
        let (next_hdr, hdr_len, segs_left, last_entry) = (byte(0), byte(1), byte(3), byte(4));
        // The kernel compares the header's tag as it lies in memory with the rule's value
        // in host byte order (`ipv6_sr_hdr.tag` is a plain `__u16`): on a little-endian host,
        // as this model's, `--srh-tag 7` matches the tag 0x0700 on the wire.
        let tag = u16::from_le_bytes([byte(6), byte(7)]);
        let t = self.tests;
        let fixed = t.holds(NEXT_HDR, next_hdr == self.next_hdr)
            && compare(t, [LEN_EQ, LEN_GT, LEN_LT], hdr_len, self.hdr_len)
            && compare(t, [SEGS_EQ, SEGS_GT, SEGS_LT], segs_left, self.segs_left)
            && compare(t, [LAST_EQ, LAST_GT, LAST_LT], last_entry, self.last_entry)
            && t.holds(TAG, tag == self.tag);
        if !fixed {
            return false;
        }
        // Segment `i` of the list (16 bytes each after the fixed part), if the packet has it.
        let segment = |i: usize| ip.get(srh + FIXED + 16 * i..srh + FIXED + 16 * (i + 1));
        let sid_holds = |which: u16, sid: &Sid, at: Option<usize>| {
            if t.made & which == 0 {
                return true;
            }
            match at.and_then(segment) {
                Some(s) => t.holds(which, sid.holds(s)),
                None => false,
            }
        };
        let (left, last) = (usize::from(segs_left), usize::from(last_entry));
        sid_holds(PSID, &self.psid, (left != last).then_some(left + 1))
            && sid_holds(NSID, &self.nsid, left.checked_sub(1))
            && sid_holds(LSID, &self.lsid, Some(0))
    }

    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        o.push_str("name srh rev 1 ");
        self.tests.print(o, 4);
        let _ = write!(
            o,
            " next-hdr {} hdr-len {} segs-left {} last-entry {} tag {}",
            self.next_hdr, self.hdr_len, self.segs_left, self.last_entry, self.tag
        );
        for (name, which, sid) in [
            ("psid", test_bits::PSID, &self.psid),
            ("nsid", test_bits::NSID, &self.nsid),
            ("lsid", test_bits::LSID, &self.lsid),
        ] {
            if self.tests.made & which != 0 {
                let _ = write!(o, " {name} {}", sid.print());
            }
        }
    }

    pub(crate) fn parse(c: &mut Cursor, _a: &mut Asm) -> PResult<SrhMatch> {
        c.expect_all(&["name", "srh", "rev", "1"])?;
        let tests = Tests::parse(c, test_bits::ALL)?;
        let byte = |c: &mut Cursor, name: &str| -> PResult<u8> {
            c.expect(name)?;
            let v = c.next()?;
            v.parse().map_err(|_| format!("bad {name} `{v}` (0-255)"))
        };
        let next_hdr = byte(c, "next-hdr")?;
        let hdr_len = byte(c, "hdr-len")?;
        let segs_left = byte(c, "segs-left")?;
        let last_entry = byte(c, "last-entry")?;
        c.expect("tag")?;
        let v = c.next()?;
        let tag = v.parse().map_err(|_| format!("bad tag `{v}` (0-65535)"))?;
        let mut m = SrhMatch { next_hdr, hdr_len, segs_left, last_entry, tag, tests, ..SrhMatch::default() };
        for (name, which) in [("psid", test_bits::PSID), ("nsid", test_bits::NSID), ("lsid", test_bits::LSID)]
        {
            if tests.made & which == 0 {
                continue;
            }
            c.expect(name)?;
            let sid = Sid::parse(c.next()?)?;
            match which {
                test_bits::PSID => m.psid = sid,
                test_bits::NSID => m.nsid = sid,
                _ => m.lsid = sid,
            }
        }
        Ok(m)
    }

    pub(crate) fn check(&self, _c: &mut Check) -> Result<(), String> {
        if !self.tests.within(test_bits::ALL) {
            return Err("srh: unknown test bits".into());
        }
        Ok(())
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        if e.pkt.nfproto != Family::Ip6 {
            return e.brk();
        }
        let ip = e.pkt.data.get(e.pkt.network_off..).unwrap_or(&[]);
        let found = headers::ipv6_find_ext(ip, 0, headers::ROUTING).filter(|&srh| {
            let Some(fixed) = ip.get(srh..srh + FIXED) else { return false };
            let whole = (usize::from(fixed[1]) + 1) * 8;
            ip.len() - srh >= whole && fixed[2] == SRH_TYPE && fixed[3] <= fixed[4]
        });
        match found {
            Some(srh) if self.holds(ip, srh) => {}
            _ => e.brk(),
        }
    }
}
