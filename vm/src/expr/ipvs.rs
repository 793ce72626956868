//! `match name ipvs rev 1` — iptables' `-m ipvs`, run as iptables-nft runs it: the kernel's
//! match (`xt_ipvs`). It tests whether the packet belongs to an IPVS (in-kernel load
//! balancer) connection and that connection's virtual service. nftvm has no IPVS, so no
//! packet it sees has the kernel's `ipvs_property`, and the kernel's answer for such a packet
//! is the whole answer: `! --ipvs` alone matches, anything else does not (with any test but
//! `--ipvs`, the kernel answers "no" before it looks at the inversions). The service values
//! are kept for the listing. Like the kernel's match, it turns connection tracking on for the
//! family (`nf_ct_netns_get`).

use super::xt::Tests;
use crate::interp::Eval;
use crate::keys::Family;
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;
use std::net::IpAddr;

/// `XT_IPVS_*`: the tests the match makes (bits of its [`Tests`]).
pub mod test_bits {
    pub const IPVS_PROPERTY: u16 = 1 << 0;
    pub const PROTO: u16 = 1 << 1;
    pub const VADDR: u16 = 1 << 2;
    pub const VPORT: u16 = 1 << 3;
    pub const DIR: u16 = 1 << 4;
    pub const METHOD: u16 = 1 << 5;
    pub const VPORTCTL: u16 = 1 << 6;
    /// Every test.
    pub const ALL: u16 = 0x7f;
}

/// One `-m ipvs` match (the kernel's `xt_ipvs_mtinfo`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Ipvs {
    pub tests: Tests,
    /// `--vproto`.
    pub l4proto: u8,
    /// `--vaddr ADDR[/MASK]` (unspecified when not given).
    pub vaddr: Option<(IpAddr, IpAddr)>,
    pub vport: u16,
    pub vportctl: u16,
    /// `--vmethod`: the kernel's `IP_VS_CONN_F_*` forwarding method (MASQ 0, IPIP 2, GATE 3).
    pub method: u32,
}

impl Ipvs {
    /// The kernel's answer for a packet no IPVS connection handled.
    pub fn matches_without_ipvs(&self) -> bool {
        self.tests.made == test_bits::IPVS_PROPERTY && self.tests.inverted & test_bits::IPVS_PROPERTY != 0
    }

    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        o.push_str("name ipvs rev 1 ");
        self.tests.print(o, 2);
        let _ = write!(o, " proto {}", self.l4proto);
        match self.vaddr {
            Some((a, m)) => {
                let _ = write!(o, " addr {a} mask {m}");
            }
            None => o.push_str(" addr - mask -"),
        }
        let _ = write!(o, " port {} method {} portctl {}", self.vport, self.method, self.vportctl);
    }

    pub(crate) fn parse(c: &mut Cursor, _a: &mut Asm) -> PResult<Ipvs> {
        c.expect_all(&["name", "ipvs", "rev", "1"])?;
        let tests = Tests::parse(c, test_bits::ALL)?;
        let number = |c: &mut Cursor, word: &str, max: u64| -> PResult<u64> {
            c.expect(word)?;
            let n = c.next()?;
            n.parse::<u64>().ok().filter(|v| *v <= max).ok_or_else(|| format!("bad {word} `{n}`"))
        };
        let l4proto = number(c, "proto", 255)? as u8;
        let address = |c: &mut Cursor, word: &str| -> PResult<Option<IpAddr>> {
            c.expect(word)?;
            let n = c.next()?;
            if n == "-" {
                return Ok(None);
            }
            n.parse().map(Some).map_err(|_| format!("bad {word} `{n}`"))
        };
        let vaddr = match (address(c, "addr")?, address(c, "mask")?) {
            (Some(a), Some(m)) if a.is_ipv4() == m.is_ipv4() => Some((a, m)),
            (None, None) => None,
            _ => return Err("ipvs: an address needs a mask of its family".into()),
        };
        let vport = number(c, "port", u64::from(u16::MAX))? as u16;
        let method = number(c, "method", u64::from(u32::MAX))? as u32;
        let vportctl = number(c, "portctl", u64::from(u16::MAX))? as u16;
        Ok(Ipvs { tests, l4proto, vaddr, vport, vportctl, method })
    }

    /// `ipvs_mt_check`: an ip or ip6 table; some test, no unknown one.
    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        if !matches!(c.family, Family::Ip | Family::Ip6) {
            return Err(format!("ipvs: only in ip and ip6 tables, not {}", c.family.name()));
        }
        if self.tests.made == 0 || !self.tests.within(test_bits::ALL) {
            return Err("ipvs: no test, or unknown test bits".into());
        }
        Ok(())
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        if !self.matches_without_ipvs() {
            e.brk();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(made: u16, inverted: u16) -> Ipvs {
        Ipvs { tests: Tests { made, inverted }, ..Ipvs::default() }
    }

    #[test]
    fn without_ipvs_only_not_ipvs_alone_matches() {
        use test_bits::*;
        assert!(with(IPVS_PROPERTY, IPVS_PROPERTY).matches_without_ipvs(), "! --ipvs");
        assert!(!with(IPVS_PROPERTY, 0).matches_without_ipvs(), "--ipvs");
        // Any other test needs an IPVS connection, whatever its inversions say.
        assert!(!with(PROTO, PROTO).matches_without_ipvs(), "! --vproto tcp");
        assert!(!with(VPORTCTL | VADDR, VPORTCTL | VADDR).matches_without_ipvs());
        assert!(!with(DIR, DIR).matches_without_ipvs(), "--vdir REPLY");
    }
}
