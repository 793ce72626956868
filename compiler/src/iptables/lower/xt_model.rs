//! What some of the kernel's xt matches say about a packet whose headers are whole, written
//! as nft expressions — for `diff`, which models packets by their fields (present, absent,
//! a later fragment) and not by headers cut short, where these matches drop the packet. With
//! it, `diff` compares a rule that runs `--icmp-type`, `--icmpv6-type`, `-m esp`, `-m ah`
//! (IPv4) or `-m frag` with its translation (`icmp type`, `esp spi`, `ah spi`, `frag id` …) instead of taking the match as a free input.
//!
//! A transport field's test is written even when it passes every value: nft's load of the
//! field fails where the kernel's match answers "no" (no such header, a later fragment) —
//! where iptables-translate writes nothing, the translation differs on later fragments.

use super::expr::{cmp, cmp_range, num, sel, value_or_range};
use super::{LResult, Unsupported};
use crate::ir::build::concat;
use crate::ir::{Family, MatchOp, Stmt};
use nftvm_vm::expr::icmpmatch::ANY;
use nftvm_vm::expr::xt::XtMatch;

/// Is `m`, in a table of `family`, one of the matches [`as_nft`] writes out? Not IPv6's
/// `ah`: the kernel's match finds AH anywhere in the extension header chain, nft's `ah`
/// only as the transport (`meta l4proto ah`, which an IPv6 packet never has).
pub fn modelled(m: &XtMatch, family: Family) -> bool {
    match m {
        XtMatch::Esp(_) | XtMatch::Frag(_) | XtMatch::Icmp(_) => true,
        XtMatch::Ah(_) => family == Family::Ip,
        _ => false,
    }
}

/// `m` as nft expressions in a table of `family` (`None`: not [`modelled`]).
pub fn as_nft(m: &XtMatch, family: Family) -> Option<LResult<Vec<Stmt>>> {
    modelled(m, family).then(|| write_out(m, family))
}

fn write_out(m: &XtMatch, family: Family) -> LResult<Vec<Stmt>> {
    let eq = |words: &str, v: u128| -> LResult<Stmt> {
        let left = sel(words, family)?;
        let right = num(&left, v)?;
        Ok(cmp(left, false, right))
    };
    let range = |words: &str, (lo, hi): (u32, u32), invert: bool| -> LResult<Stmt> {
        cmp_range(sel(words, family)?, invert, lo.into(), hi.into())
    };
    let mut out = Vec::new();
    match m {
        // (The transport protocol first, as nft's checker puts it before a transport field.)
        XtMatch::Esp(e) => {
            out.push(eq("meta l4proto", 50)?);
            out.push(range("esp spi", e.spis.range, e.spis.invert)?);
        }
        XtMatch::Ah(a) => {
            out.push(eq("meta l4proto", 51)?);
            out.push(range("ah spi", a.spis.range, a.spis.invert)?);
            let (len, invert) = a.len;
            if len != 0 {
                // The match compares the length in bytes, (hdrlength + 2) * 4.
                let left = sel("ah hdrlength", family)?;
                match (len.is_multiple_of(4) && (8..=1028).contains(&len), invert) {
                    (true, _) => {
                        let right = num(&left, u128::from(len / 4 - 2))?;
                        out.push(cmp(left, invert, right));
                    }
                    // No header has that length: never, or (inverted) any AH header.
                    (false, false) => out.push(super::expr::never(family)?),
                    (false, true) => {}
                }
            }
            if a.res {
                out.push(eq("ah reserved", 0)?);
            }
        }
        XtMatch::Frag(f) => {
            if f.ids != (0, u32::MAX) || f.invert_ids {
                out.push(range("frag id", f.ids, f.invert_ids)?);
            }
            let flags = [
                (f.res, "frag reserved", 0),
                (f.res, "frag reserved2", 0),
                (f.first, "frag frag-off", 0),
                (f.more, "frag more-fragments", 1),
                (f.last, "frag more-fragments", 0),
            ];
            for (on, words, v) in flags {
                if on {
                    out.push(eq(words, v)?);
                }
            }
            if out.is_empty() {
                // Every identification, no flag: the header is there.
                out.push(eq("exthdr frag", 1)?);
            }
        }
        XtMatch::Icmp(i) => {
            let proto = if i.v6 { "icmpv6" } else { "icmp" };
            out.push(eq("meta l4proto", if i.v6 { 58 } else { 1 })?);
            if !i.v6 && i.typ == ANY {
                // Any type: the type is read all the same (a later fragment has none).
                out.push(match i.invert {
                    false => range(&format!("{proto} type"), (0, 255), false)?,
                    true => super::expr::never(family)?,
                });
            } else {
                out.extend(type_code(family, proto, i.typ, i.codes, i.invert)?);
            }
        }
        _ => {}
    }
    Ok(out)
}

/// `TYPE`, or `TYPE . CODE` when the code range is not everything.
fn type_code(family: Family, proto: &str, typ: u8, (lo, hi): (u8, u8), invert: bool) -> LResult<Vec<Stmt>> {
    let t = sel(&format!("{proto} type"), family)?;
    let tv = num(&t, typ.into())?;
    if lo == 0 && hi == 0xFF {
        return Ok(vec![cmp(t, invert, tv)]);
    }
    let c = sel(&format!("{proto} code"), family)?;
    if !invert {
        let cr = value_or_range(&c, lo.into(), hi.into())?;
        return Ok(vec![cmp(t, false, tv), cmp(c, false, cr)]);
    }
    if lo != hi {
        return Err(Unsupported::new(format!("! --{proto}-type with a code range cannot be expressed")));
    }
    let cv = num(&c, lo.into())?;
    Ok(vec![Stmt::matches(concat(vec![t, c]), MatchOp::Ne, concat(vec![tv, cv]))])
}
