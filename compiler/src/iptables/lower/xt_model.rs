//! What some of the kernel's xt matches say about a packet whose headers are whole, written
//! as nft expressions — for `diff`, which models packets by their fields (present, absent,
//! a later fragment) and not by headers cut short, where these matches drop the packet. With
//! it, `diff` compares a rule that runs `--icmp-type`, `--icmpv6-type`, `-m esp`, `-m ah`
//! (IPv4), `-m frag`, `-m rt`, `-m mh` or `-m dccp` with its translation (`icmp type`,
//! `esp spi`, `ah spi`, `frag id`, `rt type`, `mh type`, `dccp dport` …) instead of taking
//! the match as a free input.
//!
//! A transport field's test is written even when it passes every value: nft's load of the
//! field fails where the kernel's match answers "no" (no such header, a later fragment) —
//! where iptables-translate writes nothing, the translation differs on later fragments.

use super::expr::{cmp, cmp_range, num, sel, set_of, value_or_range};
use super::{LResult, Unsupported};
use crate::ir::build::concat;
use crate::ir::{Family, MatchOp, Stmt};
use nftvm_vm::expr::icmpmatch::ANY;
use nftvm_vm::expr::xt::XtMatch;

/// Is `m`, in a table of `family`, one of the matches [`as_nft`] writes out? Not IPv6's
/// `ah`: the kernel's match finds AH anywhere in the extension header chain, nft's `ah`
/// only as the transport (`meta l4proto ah`, which an IPv6 packet never has).
/// Nor `dccp --dccp-option`, `rt`'s type-0 tests, or `rt` tests of values no header has in
/// fields nft reads as one byte.
pub fn modelled(m: &XtMatch, family: Family) -> bool {
    use nftvm_vm::expr::{dccpmatch::test_bits as dccp, rtmatch::test_bits as rt};
    match m {
        XtMatch::Esp(_) | XtMatch::Frag(_) | XtMatch::Icmp(_) | XtMatch::Mh(_) => true,
        XtMatch::Ah(_) => family == Family::Ip,
        XtMatch::Dccp(d) => d.tests.made & dccp::OPTION == 0,
        XtMatch::Rt(r) => {
            let made = |bit| r.tests.made & bit != 0;
            !made(rt::RES | rt::ADDRS | rt::ADDRS_NOT_STRICT)
                && (!made(rt::TYPE) || r.rt_type <= 255)
                && (!made(rt::SEGSLEFT) || r.segsleft.1 <= 255)
                && (!made(rt::LEN) || rt_units(r.hdrlen).is_some())
        }
        _ => false,
    }
}

/// A routing header length in bytes as nft's `rt hdrlength` (8-byte units after the first).
fn rt_units(bytes: u32) -> Option<u8> {
    (bytes >= 8 && bytes.is_multiple_of(8)).then(|| u8::try_from(bytes / 8 - 1).ok()).flatten()
}

/// `m` as nft expressions in a table of `family` (`None`: not [`modelled`]).
pub fn as_nft(m: &XtMatch, family: Family) -> Option<LResult<Vec<Stmt>>> {
    modelled(m, family).then(|| write_out(m, family))
}

fn write_out(m: &XtMatch, family: Family) -> LResult<Vec<Stmt>> {
    // `words == v`, or `!=` when inverted.
    let is = |words: &str, v: u128, invert: bool| -> LResult<Stmt> {
        let left = sel(words, family)?;
        let right = num(&left, v)?;
        Ok(cmp(left, invert, right))
    };
    let eq = |words: &str, v: u128| is(words, v, false);
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
        XtMatch::Mh(h) => {
            out.push(eq("meta l4proto", 135)?);
            out.push(match h.types == (0, 255) && !h.invert {
                true => eq("exthdr mh", 1)?,
                false => range("mh type", (h.types.0.into(), h.types.1.into()), h.invert)?,
            });
        }
        XtMatch::Dccp(d) => {
            use nftvm_vm::expr::dccpmatch::test_bits as bits;
            out.push(eq("meta l4proto", 33)?);
            let t = d.tests;
            for (bit, words, (lo, hi)) in
                [(bits::SPORT, "dccp sport", d.sport), (bits::DPORT, "dccp dport", d.dport)]
            {
                if t.made & bit != 0 {
                    out.push(range(words, (lo.into(), hi.into()), t.inverted & bit != 0)?);
                }
            }
            let left = sel("dccp type", family)?;
            let keys = (0..16u16).filter(|k| d.types & (1 << k) != 0).map(|k| num(&left, k.into()));
            let mut keys = keys.collect::<LResult<Vec<_>>>()?;
            match (t.made & bits::TYPE != 0, keys.len()) {
                // No test: the header is read all the same (a later fragment has none).
                (false, _) if t.made == 0 => out.push(range("dccp type", (0, 15), false)?),
                (false, _) => {}
                (true, 0) => return Err(Unsupported::new("dccp: an empty type list")),
                (true, 1) => out.push(cmp(left, t.inverted & bits::TYPE != 0, keys.remove(0))),
                (true, _) => out.push(cmp(left.clone(), t.inverted & bits::TYPE != 0, set_of(&left, keys))),
            }
        }
        XtMatch::Rt(r) => {
            use nftvm_vm::expr::rtmatch::test_bits as bits;
            let t = r.tests;
            let inv = |bit| t.inverted & bit != 0;
            if t.made & bits::TYPE != 0 {
                out.push(is("rt type", r.rt_type.into(), inv(bits::TYPE))?);
            }
            if t.made & bits::SEGSLEFT != 0 {
                out.push(range("rt seg-left", r.segsleft, inv(bits::SEGSLEFT))?);
            }
            if t.made & bits::LEN != 0 {
                let units =
                    rt_units(r.hdrlen).ok_or_else(|| Unsupported::new("rt: no header has that length"))?;
                out.push(is("rt hdrlength", units.into(), inv(bits::LEN))?);
            }
            if out.is_empty() {
                out.push(eq("exthdr rt", 1)?);
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
