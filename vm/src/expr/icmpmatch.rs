//! `match name icmp rev 0` and `match name icmp6 rev 0` — iptables' `--icmp-type` and
//! ip6tables' `--icmpv6-type`, run as iptables-nft runs them: the kernel's matches
//! (`icmp_match` in ip_tables, `icmp6_match` in ip6_tables). The ICMP type, and the code
//! within a range, perhaps inverted; IPv4's type 255 (`any`) matches every type. A later
//! fragment never matches (inverted or not); an ICMP header shorter than its 8 bytes drops
//! the packet (the kernel's hotdrop) — nft's `icmp type` would read the one byte it needs.

use super::xt::on_transport;
use crate::interp::Eval;
use crate::keys::Family;
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

/// The ICMP header's length (`struct icmphdr`, `struct icmp6hdr`).
const LEN: usize = 8;
/// IPv4's "any type".
pub const ANY: u8 = 0xFF;

/// One `--icmp-type` (`v6`: `--icmpv6-type`) match.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IcmpMatch {
    pub v6: bool,
    pub typ: u8,
    pub codes: (u8, u8),
    pub invert: bool,
}

impl IcmpMatch {
    /// The answer for an ICMP header `icmp` (as much of it as the packet holds): `None`
    /// drops the packet.
    pub fn holds(&self, icmp: &[u8]) -> Option<bool> {
        let h = icmp.get(..LEN)?;
        let any = !self.v6 && self.typ == ANY;
        let hit = any || (h[0] == self.typ && (self.codes.0..=self.codes.1).contains(&h[1]));
        Some(hit != self.invert)
    }

    fn name(&self) -> &'static str {
        if self.v6 { "icmp6" } else { "icmp" }
    }

    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let _ =
            write!(o, "name {} rev 0 type {} codes {}-{}", self.name(), self.typ, self.codes.0, self.codes.1);
        if self.invert {
            o.push_str(" invert");
        }
    }

    pub(crate) fn parse(c: &mut Cursor, _a: &mut Asm) -> PResult<IcmpMatch> {
        c.expect("name")?;
        let v6 = match c.next()? {
            "icmp" => false,
            "icmp6" => true,
            other => return Err(format!("expected icmp or icmp6, found `{other}`")),
        };
        c.expect_all(&["rev", "0"])?;
        let typ = c.keyed_num::<u8>("type")?;
        c.expect("codes")?;
        let codes = super::xt::num_range(c, "icmp codes")?;
        Ok(IcmpMatch { v6, typ, codes, invert: c.eat("invert") })
    }

    /// `icmp` in ip tables, `icmp6` in ip6 tables (each is registered for its family only).
    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        let family = if self.v6 { Family::Ip6 } else { Family::Ip };
        if c.family != family {
            return Err(format!("{}: only in {} tables", self.name(), family.name()));
        }
        Ok(())
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let proto = if self.v6 { 58 } else { 1 };
        let answer = on_transport(e, proto, |icmp| self.holds(icmp));
        e.match_answer(answer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_code_and_any_as_the_kernel_tests_them() {
        let echo = IcmpMatch { v6: false, typ: 8, codes: (0, 255), invert: false };
        assert_eq!(echo.holds(&[8, 3, 0, 0, 0, 0, 0, 0]), Some(true));
        assert_eq!(echo.holds(&[0, 0, 0, 0, 0, 0, 0, 0]), Some(false));
        let unreach = IcmpMatch { v6: false, typ: 3, codes: (1, 1), invert: true };
        assert_eq!(unreach.holds(&[3, 2, 0, 0, 0, 0, 0, 0]), Some(true));
        assert_eq!(unreach.holds(&[3, 1, 0, 0, 0, 0, 0, 0]), Some(false));
        let any = IcmpMatch { v6: false, typ: ANY, codes: (0, 255), invert: false };
        assert_eq!(any.holds(&[42, 0, 0, 0, 0, 0, 0, 0]), Some(true));
        let v6_255 = IcmpMatch { v6: true, ..any };
        assert_eq!(v6_255.holds(&[42, 0, 0, 0, 0, 0, 0, 0]), Some(false), "no `any` in ip6tables");
    }

    #[test]
    fn a_short_icmp_header_drops_the_packet() {
        let echo = IcmpMatch { v6: true, typ: 128, codes: (0, 255), invert: true };
        assert_eq!(echo.holds(&[128, 0, 0, 0]), None);
    }
}
