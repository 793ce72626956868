//! `iprange`: source/destination address ranges (`a.b.c.d-e.f.g.h`).

use crate::iptables::Family;
use crate::iptables::ext::{Extension, OptCall, OptSpec, ParseCx};
use crate::iptables::ip::Inv;
use crate::iptables::save::SaveBuf;
use crate::iptables::values::addr::{Addr, parse_addr};

/// An inclusive address range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AddrRange {
    pub from: Addr,
    pub to: Addr,
}

/// `from[-to]` (a single address is a one-address range); addresses are strict numeric
/// forms (`inet_pton`).
pub fn parse_addr_range(s: &str, family: Family) -> Result<AddrRange, String> {
    let strict = |a: &str| match family {
        Family::Ipv4 => a.parse::<std::net::Ipv4Addr>().ok().map(Addr::V4).or_else(|| parse_addr(a, family)),
        Family::Ipv6 => parse_addr(a, family),
    };
    let one =
        |a: &str| strict(a).ok_or_else(|| format!("\"{a}\" is not a valid {} address", family.addr_name()));
    match s.split_once('-') {
        Some((a, b)) => Ok(AddrRange { from: one(a)?, to: one(b)? }),
        None => {
            let a = one(s)?;
            Ok(AddrRange { from: a, to: a })
        }
    }
}

/// The iprange match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Iprange {
    pub src: Option<Inv<AddrRange>>,
    pub dst: Option<Inv<AddrRange>>,
}

static OPTS: [OptSpec; 2] = [OptSpec::arg("src-range", 0).inv(), OptSpec::arg("dst-range", 1).inv()];

impl Extension for Iprange {
    fn options(&self) -> &'static [OptSpec] {
        &OPTS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        let r = Some(Inv::new(parse_addr_range(call.arg, call.family())?, call.invert));
        if call.spec.id == 0 {
            self.src = r;
        } else {
            self.dst = r;
        }
        Ok(())
    }

    fn finish(&mut self, seen: u64, _cx: &ParseCx<'_>) -> Result<(), String> {
        if seen == 0 {
            return Err("You must specify `--src-range' or `--dst-range'".into());
        }
        Ok(())
    }

    fn save(&self, out: &mut SaveBuf) {
        for (name, r) in [("src-range", &self.src), ("dst-range", &self.dst)] {
            if let Some(r) = r {
                out.opt_val(r.invert, name, format!("{}-{}", r.value.from, r.value.to));
            }
        }
    }
}
