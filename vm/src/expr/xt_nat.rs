//! `target name DNAT rev 2 …` / `target name SNAT rev 2 …` — iptables' `-j DNAT` / `-j SNAT`
//! with a shifted port map (`--to-destination 10.0.0.1:2000-2100/1000`), run as iptables-nft
//! runs it: the kernel's target (`xt_nat`, revision 2). nft's `dnat`/`snat` cannot carry a
//! base port, so iptables-nft loads the xt target for these (`xt target DNAT` in listings)
//! and nft's statement for every other NAT rule. The port range is taken with
//! `NF_NAT_RANGE_PROTO_OFFSET`: a connection to port `p` gets port `min + (p - base) mod
//! size` (the next free one after it when that is taken), so 1000-1100 maps onto 2000-2100
//! port by port.

use crate::interp::{Eval, NatKind, NatRequest};
use crate::keys::Family;
use crate::program::{ChainKind, Program};
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;
use std::net::IpAddr;

/// `NF_NAT_RANGE_PROTO_OFFSET`.
pub const RANGE_PROTO_OFFSET: u32 = 0x20;

/// One SNAT or DNAT target with a shifted port map.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct XtNat {
    /// Snat or Dnat.
    pub kind: NatKind,
    /// The table's family (ip or ip6).
    pub family: Family,
    /// First and last address (`NF_NAT_RANGE_MAP_IPS`), if given.
    pub addrs: Option<(IpAddr, IpAddr)>,
    /// First and last port.
    pub ports: (u16, u16),
    /// The port that maps to the first one.
    pub base: u16,
    /// `NF_NAT_RANGE_*` flags besides the range's own: random (0x4), persistent (0x8),
    /// fully random (0x10).
    pub flags: u32,
}

impl XtNat {
    pub fn name(&self) -> &'static str {
        if self.kind == NatKind::Snat { "SNAT" } else { "DNAT" }
    }

    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let _ = write!(o, "name {} rev 2 family {}", self.name(), self.family);
        if let Some((lo, hi)) = self.addrs {
            let _ = write!(o, " addr {lo} {hi}");
        }
        let _ =
            write!(o, " proto {} {} base {} flags 0x{:x}", self.ports.0, self.ports.1, self.base, self.flags);
    }

    pub(crate) fn parse(c: &mut Cursor, _a: &mut Asm) -> PResult<XtNat> {
        c.expect("name")?;
        let kind = match c.next()? {
            "SNAT" => NatKind::Snat,
            "DNAT" => NatKind::Dnat,
            w => return Err(format!("expected SNAT or DNAT, found `{w}`")),
        };
        c.expect_all(&["rev", "2", "family"])?;
        let f = c.next()?;
        let family = Family::from_name(f).ok_or_else(|| format!("unknown family `{f}`"))?;
        let addrs = if c.eat("addr") { Some((address(c.next()?)?, address(c.next()?)?)) } else { None };
        c.expect("proto")?;
        let ports = (c.num()?, c.num()?);
        let base = c.keyed_num("base")?;
        c.expect("flags")?;
        let flags = u32::try_from(c.hex()?).map_err(|_| "flags out of range".to_string())?;
        Ok(XtNat { kind, family, addrs, ports, base, flags })
    }

    /// What `xt_nat`'s `checkentry` and hook mask refuse: another table family than the
    /// addresses', another chain than a NAT chain of the target's hooks.
    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        let v6 = match c.family {
            Family::Ip => false,
            Family::Ip6 => true,
            f => return Err(format!("target {} runs in ip and ip6 tables only, not {f}", self.name())),
        };
        if self.family != c.family {
            return Err(format!("target {}: family {} in an {} table", self.name(), self.family, c.family));
        }
        if let Some((lo, hi)) = self.addrs
            && (lo.is_ipv6() != v6 || hi.is_ipv6() != v6)
        {
            return Err(format!("target {}: address {lo}-{hi} is not {}", self.name(), c.family));
        }
        c.require_base(&[ChainKind::Nat], super::nat::hooks(self.kind), self.name())
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        // Addresses as 16 bytes, an IPv4 one mapped (its 4 bytes last): the request takes
        // the table family's length from the end.
        let octets = |a: IpAddr| match a {
            IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
            IpAddr::V6(a) => a.octets(),
        };
        let at = if self.family == Family::Ip6 { 0 } else { 12 };
        let (lo, hi) = match self.addrs {
            Some((lo, hi)) => (octets(lo), octets(hi)),
            None => ([0; 16], [0; 16]),
        };
        let req = NatRequest {
            kind: self.kind,
            family: self.family,
            addr_min: self.addrs.map(|_| &lo[at..]),
            addr_max: self.addrs.map(|_| &hi[at..]),
            proto_min: Some(self.ports.0),
            proto_max: Some(self.ports.1),
            flags: self.flags | RANGE_PROTO_OFFSET,
            proto_base: Some(self.base),
        };
        e.regs.verdict = e.env.nat(&req);
    }
}

fn address(word: &str) -> PResult<IpAddr> {
    word.parse().map_err(|_| format!("bad address `{word}`"))
}

#[cfg(test)]
mod tests {
    use crate::text::{assemble, disassemble};

    const RULE: &str =
        "[ target name DNAT rev 2 family ip addr 10.0.0.1 10.0.0.2 proto 2000 2100 base 1000 flags 0x4 ]";

    fn program(family: &str, hook: &str, target: &str) -> String {
        format!(
            "table {family} t\nchain {family} t c type nat hook {hook} priority -100 policy accept\n{family} t c\n  {target}\n"
        )
    }

    #[test]
    fn text_round_trips() {
        let p = assemble(&program("ip", "prerouting", RULE)).unwrap();
        assert!(disassemble(&p).contains(RULE), "{}", disassemble(&p));
        let v6 = "[ target name SNAT rev 2 family ip6 proto 1 9 base 5 flags 0x0 ]";
        let p = assemble(&program("ip6", "postrouting", v6)).unwrap();
        assert!(disassemble(&p).contains(v6));
    }

    #[test]
    fn the_verifier_refuses_other_hooks_and_families() {
        let verified = |text: String| crate::verify::verify(assemble(&text).unwrap()).map(|_| ());
        assert!(verified(program("ip", "prerouting", RULE)).is_ok());
        assert!(verified(program("ip", "postrouting", RULE)).is_err());
        assert!(verified(program("ip6", "prerouting", RULE)).is_err());
        let bad_addr = RULE.replace("family ip addr 10.0.0.1", "family ip addr ::1");
        assert!(verified(program("ip", "prerouting", &bad_addr)).is_err());
    }
}
