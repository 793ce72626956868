//! Layer-4 protocol matches: `tcp`, `udp`, `multiport`, `sctp`, `dccp`, `icmp`, `icmp6`.

use super::expr::{cmp, cmp_range, masked_cmp, num, sel, set_of, value_or_range};
use super::rule::Mcx;
use super::{LResult, Unsupported};
use crate::iptables::ip::Inv;
use crate::iptables::matches::dccp::Dccp;
use crate::iptables::matches::icmp::{Icmp, Icmp6};
use crate::iptables::matches::multiport::{Multiport, MultiportKind};
use crate::iptables::matches::sctp::Sctp;
use crate::iptables::matches::tcpudp::{Tcp, Udp};
use crate::iptables::values::ranges::PortRange;
use crate::ir::build::concat;
use crate::ir::{ExprKind, Stmt};
use nftvm_vm::expr::dccpmatch::{DccpMatch, test_bits as dccp_bits};
use nftvm_vm::expr::icmpmatch::IcmpMatch;

/// `PROTO sport|dport [!=] N[-M]`, nothing for the match-everything default.
fn ports(cx: &Mcx<'_>, proto: &str, dir: &str, p: &Inv<PortRange>, out: &mut Vec<Stmt>) -> LResult<()> {
    if p.value.is_all() && !p.invert {
        return Ok(());
    }
    let left = sel(&format!("{proto} {dir}"), cx.fam)?;
    out.push(cmp_range(left, p.invert, p.value.lo.into(), p.value.hi.into())?);
    Ok(())
}

pub fn tcp(t: &Tcp, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    let mut out = Vec::new();
    ports(cx, "tcp", "sport", &t.sport, &mut out)?;
    ports(cx, "tcp", "dport", &t.dport, &mut out)?;
    if let Some(f) = &t.flags {
        // (flags & mask) == cmp, negated as a whole.
        let left = sel("tcp flags", cx.fam)?;
        out.push(masked_cmp(left, f.value.mask.into(), f.value.cmp.into(), f.invert)?);
    }
    if let Some(o) = &t.option {
        let left = sel(&format!("tcp option {}", o.value), cx.fam)?;
        let right = num(&left, u128::from(!o.invert))?;
        out.push(cmp(left, false, right));
    }
    Ok(out)
}

pub fn udp(u: &Udp, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    let mut out = Vec::new();
    ports(cx, "udp", "sport", &u.sport, &mut out)?;
    ports(cx, "udp", "dport", &u.dport, &mut out)?;
    Ok(out)
}

/// The word nft uses for the transport protocol of `-p`.
fn port_proto(cx: &Mcx<'_>) -> LResult<&'static str> {
    Ok(match cx.proto() {
        Some(6) => "tcp",
        Some(17) => "udp",
        Some(136) => "udplite",
        Some(132) => "sctp",
        Some(33) => "dccp",
        _ => return Err(Unsupported::new("multiport needs -p tcp, udp, udplite, sctp or dccp")),
    })
}

pub fn multiport(m: &Multiport, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    let proto = port_proto(cx)?;
    match m.kind {
        MultiportKind::Source | MultiportKind::Destination => {
            let dir = if m.kind == MultiportKind::Source { "sport" } else { "dport" };
            let left = sel(&format!("{proto} {dir}"), cx.fam)?;
            let keys = m
                .ports
                .iter()
                .map(|r| value_or_range(&left, r.lo.into(), r.hi.into()))
                .collect::<LResult<Vec<_>>>()?;
            let right = if keys.len() == 1 {
                keys.into_iter().next().ok_or(Unsupported::new("empty"))?
            } else {
                set_of(&left, keys)
            };
            Ok(vec![cmp(left, m.invert, right)])
        }
        MultiportKind::Either => {
            // Source or destination in the list: `sport . dport { 0-65535 . P, P . 0-65535 }`.
            let s = sel(&format!("{proto} sport"), cx.fam)?;
            let d = sel(&format!("{proto} dport"), cx.fam)?;
            let mut keys = Vec::new();
            for r in &m.ports {
                let any_s = value_or_range(&s, 0, 65535)?;
                let any_d = value_or_range(&d, 0, 65535)?;
                keys.push(concat(vec![any_s, value_or_range(&d, r.lo.into(), r.hi.into())?]));
                keys.push(concat(vec![value_or_range(&s, r.lo.into(), r.hi.into())?, any_d]));
            }
            let left = concat(vec![s, d]);
            let mut right = set_of(&left, keys);
            if let ExprKind::Set(lit) = &mut right.kind {
                lit.interval = true;
            }
            Ok(vec![cmp(left, m.invert, right)])
        }
    }
}

/// `-m sctp`: the kernel's xt match itself, as iptables-nft loads it (nft's `sctp chunk`
/// tests differ on packets without chunks or with a zero-length one, which xt_sctp drops,
/// and cannot name every chunk type `only` must exclude). Both engines run it.
pub fn sctp(s: &Sctp, _cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    use nftvm_vm::expr::sctpmatch::{self as xt, SctpMatch, test_bits};
    let mut m = SctpMatch { sport: (0, u16::MAX), dport: (0, u16::MAX), ..SctpMatch::default() };
    for (bit, p, range) in
        [(test_bits::SPORT, &s.sport, &mut m.sport), (test_bits::DPORT, &s.dport, &mut m.dport)]
    {
        if let Some(p) = p {
            *range = (p.value.lo, p.value.hi);
            m.tests.make(bit, p.invert);
        }
    }
    if let Some(Inv { value: c, invert }) = &s.chunks {
        m.tests.make(test_bits::CHUNKS, *invert);
        m.mode = c.mode;
        let types: Vec<u8> = if c.all { (0..=255).collect() } else { c.types.clone() };
        for t in types {
            m.chunks[usize::from(t >> 6)] |= 1 << (t & 63);
        }
        if c.flags.len() > xt::MAX_FLAGS {
            return Err(Unsupported::new("sctp: more than 4 chunk types with flags"));
        }
        m.flags = c.flags.clone();
    }
    Ok(vec![Stmt::new(crate::ir::StmtKind::XtMatch(nftvm_vm::expr::xt::XtMatch::Sctp(m)))])
}

/// `-m dccp`: the kernel's match itself, as iptables-nft loads it — nft's `dccp sport`/
/// `dport`/`type` would say the ports and types, but not the option, and not the match's
/// drop of a packet whose DCCP header is cut short.
pub fn dccp(d: &Dccp, _cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    let mut m = DccpMatch { sport: (0, u16::MAX), dport: (0, u16::MAX), ..Default::default() };
    if let Some(o) = &d.option {
        m.tests.make(dccp_bits::OPTION, o.invert);
        m.option = o.value;
    }
    if let Some(p) = &d.sport {
        m.tests.make(dccp_bits::SPORT, p.invert);
        m.sport = (p.value.lo, p.value.hi);
    }
    if let Some(p) = &d.dport {
        m.tests.make(dccp_bits::DPORT, p.invert);
        m.dport = (p.value.lo, p.value.hi);
    }
    if let Some(t) = &d.types {
        m.tests.make(dccp_bits::TYPE, t.invert);
        m.types = t.value;
    }
    Ok(vec![Stmt::new(crate::ir::StmtKind::XtMatch(nftvm_vm::expr::xt::XtMatch::Dccp(m)))])
}

/// `--icmp-type`: the kernel's match itself (see `nftvm_vm::expr::icmpmatch`), as
/// iptables-nft loads it — it drops a packet whose ICMP header is shorter than 8 bytes,
/// which nft's `icmp type` would match.
pub fn icmp(i: &Icmp, _cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    Ok(icmp_match(false, i.typ, (i.code_min, i.code_max), i.invert))
}

/// `--icmpv6-type`: likewise the kernel's match.
pub fn icmp6(i: &Icmp6, _cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    Ok(icmp_match(true, i.typ, (i.code_min, i.code_max), i.invert))
}

fn icmp_match(v6: bool, typ: u8, codes: (u8, u8), invert: bool) -> Vec<Stmt> {
    let m = IcmpMatch { v6, typ, codes, invert };
    vec![Stmt::new(crate::ir::StmtKind::XtMatch(nftvm_vm::expr::xt::XtMatch::Icmp(m)))]
}
