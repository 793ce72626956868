//! IPv6 extension headers: `frag`, `rt`, `hbh` (and `dst`, which has no translation), `mh`
//! (libip6t_frag, libip6t_rt, libip6t_hbh, libip6t_mh).

use super::buf::{Xl, xadd};
use super::portproto::range_text;
use super::{NoXlate, XResult};
use crate::iptables::matches::ipv6ext::{Frag, Mh, Opts, Rt};

const FULL32: u64 = u32::MAX as u64;

pub fn frag(f: &Frag, xl: &mut Xl) -> XResult {
    let flags = f.res || f.first || f.more || f.last;
    if !(f.id.value.lo == 0 && f.id.value.hi == FULL32 && !f.id.invert) {
        xadd!(xl, "frag id {}", if f.id.invert { "!= " } else { "" });
        xl.add(&range_text(f.id.value.lo, f.id.value.hi));
    } else if !flags {
        xl.add("exthdr frag exists");
        return Ok(());
    }
    if f.res {
        xl.add("frag reserved 1");
    }
    if f.first {
        xl.add("frag frag-off 0");
    }
    if f.more {
        xl.add("frag more-fragments 1");
    }
    if f.last {
        xl.add("frag more-fragments 0");
    }
    Ok(())
}

pub fn rt(r: &Rt, xl: &mut Xl) -> XResult {
    if let Some(t) = &r.rt_type {
        xadd!(xl, "rt type{} {}", if t.invert { " !=" } else { "" }, t.value);
    }
    let s = &r.segsleft;
    let flags = r.rt_type.is_some() || r.len.is_some() || r.res0 || !r.addrs.is_empty() || r.not_strict;
    if !(s.value.lo == 0 && s.value.hi == FULL32 && !s.invert) {
        xadd!(xl, "rt seg-left{} ", if s.invert { " !=" } else { "" });
        xl.add(&range_text(s.value.lo, s.value.hi));
    } else if !flags {
        xl.add("exthdr rt exists");
        return Ok(());
    }
    if let Some(l) = &r.len {
        xadd!(xl, "rt hdrlength{} {}", if l.invert { " !=" } else { "" }, l.value);
    }
    if r.res0 || !r.addrs.is_empty() || r.not_strict {
        return Err(NoXlate::new(
            "rt: --rt-0-res, --rt-0-addrs and --rt-0-not-strict have no nft translation",
        ));
    }
    Ok(())
}

pub fn opts(o: &Opts, xl: &mut Xl) -> XResult {
    if o.dst {
        return Err(NoXlate::new("match `dst' has no nft translation"));
    }
    match (&o.len, &o.opts) {
        (Some(l), None) => {
            xadd!(xl, "hbh hdrlength {}{}", if l.invert { "!= " } else { "" }, l.value);
            Ok(())
        }
        _ => Err(NoXlate::new("hbh: only --hbh-len alone has an nft translation")),
    }
}

pub fn mh(m: &Mh, xl: &mut Xl) -> XResult {
    let (lo, hi) = m.types.value;
    if lo == 0 && hi == 0xFF && !m.types.invert {
        xl.add("exthdr mh exists");
        return Ok(());
    }
    xadd!(xl, "mh type {}{}", if m.types.invert { "!= " } else { "" }, range_text(lo, hi));
    Ok(())
}
