//! Header fields and packet metadata: `iprange`, `mac`, `length`, `ttl`, `hl`, `pkttype`,
//! `addrtype`, `dscp`, `ecn`, `realm`, `devgroup`, `cpu`, `cgroup` (the matching
//! libxt_/libipt_/libip6t_ files).

use super::buf::{Xl, xadd};
use super::{Cx, NoXlate, XResult};
use crate::iptables::Family;
use crate::iptables::matches::addrtype::Addrtype;
use crate::iptables::matches::dscp::Dscp;
use crate::iptables::matches::ecn::Ecn;
use crate::iptables::matches::iprange::Iprange;
use crate::iptables::matches::length::Length;
use crate::iptables::matches::mac::Mac;
use crate::iptables::matches::misc::{Cgroup, Cpu, Devgroup, Realm};
use crate::iptables::matches::pkttype::Pkttype;
use crate::iptables::matches::ttl::{CmpMode, Hl, Ttl};

pub fn iprange(r: &Iprange, cx: &Cx<'_>, xl: &mut Xl) -> XResult {
    let ip = match cx.family {
        Family::Ipv4 => "ip",
        Family::Ipv6 => "ip6",
    };
    for (dir, range) in [("saddr", &r.src), ("daddr", &r.dst)] {
        if let Some(range) = range {
            xadd!(xl, "{ip} {dir}{} {}", if range.invert { " !=" } else { "" }, range.value.from);
            xadd!(xl, "-{}", range.value.to);
        }
    }
    Ok(())
}

pub fn mac(m: &Mac, xl: &mut Xl) -> XResult {
    xadd!(xl, "ether saddr{} ", if m.invert { " !=" } else { "" });
    let a = m.addr;
    xadd!(xl, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", a[0], a[1], a[2], a[3], a[4], a[5]);
    Ok(())
}

pub fn length(l: &Length, xl: &mut Xl) -> XResult {
    xadd!(xl, "meta length {}", if l.invert { "!= " } else { "" });
    xl.add(&super::portproto::range_text(l.range.lo, l.range.hi));
    Ok(())
}

pub fn ttl(t: &Ttl, xl: &mut Xl) -> XResult {
    xl.add(match t.0.mode {
        CmpMode::Eq => "ip ttl",
        CmpMode::Ne => "ip ttl !=",
        CmpMode::Lt => "ip ttl lt",
        CmpMode::Gt => "ip ttl gt",
    });
    xadd!(xl, " {}", t.0.value);
    Ok(())
}

pub fn hl(h: &Hl, xl: &mut Xl) -> XResult {
    let op = match h.0.mode {
        CmpMode::Eq => "",
        CmpMode::Ne => "!= ",
        CmpMode::Lt => "lt ",
        CmpMode::Gt => "gt ",
    };
    xadd!(xl, "ip6 hoplimit {op}{}", h.0.value);
    Ok(())
}

pub fn pkttype(p: &Pkttype, xl: &mut Xl) -> XResult {
    xadd!(xl, "pkttype{} ", if p.invert { " !=" } else { "" });
    match p.pkttype {
        0 => xl.add("unicast"),
        1 => xl.add("broadcast"),
        2 => xl.add("multicast"),
        n => xl.add(&n.to_string()),
    }
    Ok(())
}

/// `rtn_lnames`: the route types nft's `fib … type` knows, by bit.
const RTN_NAMES: [&str; 9] = [
    "unspec",
    "unicast",
    "local",
    "broadcast",
    "anycast",
    "multicast",
    "blackhole",
    "unreachable",
    "prohibit",
];

pub fn addrtype(a: &Addrtype, xl: &mut Xl) -> XResult {
    xl.add("fib ");
    let (val, invert) = match (a.src, a.dst) {
        (Some((v, inv)), other) => {
            xl.add("saddr ");
            if other.is_some() {
                xl.note("iptables-translate drops --dst-type when --src-type is also given");
            }
            (v, inv || other.is_some_and(|o| o.1))
        }
        (None, Some((v, inv))) => {
            xl.add("daddr ");
            (v, inv)
        }
        (None, None) => (0, false),
    };
    if a.limit_iface_in {
        xl.add(". iif ");
    } else if a.limit_iface_out {
        xl.add(". oif ");
    }
    xl.add("type ");
    if invert {
        xl.add("!= ");
    }
    let braces = val != 0 && (val >> (val.trailing_zeros() + 1)) > 0;
    if braces {
        xl.add("{ ");
    }
    let mut sep = "";
    for (i, name) in RTN_NAMES.iter().enumerate() {
        if val & (1 << i) != 0 {
            xadd!(xl, "{sep}{name}");
            sep = ", ";
        }
    }
    if val >> RTN_NAMES.len() != 0 {
        xl.note("iptables-translate drops the address types THROW, NAT and XRESOLVE");
    }
    if braces {
        xl.add(" }");
    }
    Ok(())
}

pub fn dscp(d: &Dscp, cx: &Cx<'_>, xl: &mut Xl) -> XResult {
    xl.add(match cx.family {
        Family::Ipv4 => "ip ",
        Family::Ipv6 => "ip6 ",
    });
    xadd!(xl, "dscp {}0x{:02x}", if d.invert { "!= " } else { "" }, d.dscp);
    Ok(())
}

pub fn ecn(e: &Ecn, xl: &mut Xl) -> XResult {
    // The kernel struct has one invert mask; the translation negates every test when any is.
    let invert = e.tcp_ece == Some(true) || e.tcp_cwr == Some(true) || e.ip_ect.is_some_and(|x| x.1);
    let neg = |xl: &mut Xl| {
        if invert {
            xl.add("!= ");
        }
    };
    if e.tcp_ece.is_some() {
        xl.add("tcp flags ");
        neg(xl);
        xl.add("ecn");
    }
    if e.tcp_cwr.is_some() {
        xl.add("tcp flags ");
        neg(xl);
        xl.add("cwr");
    }
    if let Some((ect, _)) = e.ip_ect {
        xl.add("ip ecn ");
        neg(xl);
        xl.add(match ect {
            0 => "not-ect",
            1 => "ect1",
            2 => "ect0",
            3 => "ce",
            _ => return Err(NoXlate::new("ecn: ECT codepoint out of range")),
        });
    }
    let negs = [e.tcp_ece, e.tcp_cwr, e.ip_ect.map(|x| x.1)];
    if negs.iter().flatten().any(|&n| n) && negs.iter().flatten().any(|&n| !n) {
        xl.note("iptables-translate negates every ecn test when any of them is negated");
    }
    Ok(())
}

/// ` 0x4`, ` != 0x32`, ` and 0xf == 0x1`.
fn id_mask(xl: &mut Xl, id: u32, mask: u32, invert: bool) {
    if mask != u32::MAX {
        xadd!(xl, " and 0x{mask:x} {} 0x{id:x}", if invert { "!=" } else { "==" });
    } else {
        xadd!(xl, " {}0x{id:x}", if invert { "!= " } else { "" });
    }
}

pub fn realm(r: &Realm, xl: &mut Xl) -> XResult {
    xl.add("rtclassid");
    id_mask(xl, r.id, r.mask, r.invert);
    Ok(())
}

pub fn devgroup(d: &Devgroup, xl: &mut Xl) -> XResult {
    // libxt_devgroup keeps the operator of the source test for the destination test.
    let mut invert = false;
    for (meta, g) in [("iifgroup", &d.src), ("oifgroup", &d.dst)] {
        let Some(g) = g else { continue };
        if g.invert {
            invert = true;
        } else if invert {
            xl.note("iptables-translate negates --dst-group when --src-group is negated");
        }
        let (id, mask) = g.value;
        xadd!(xl, "{meta} ");
        if mask != u32::MAX {
            xadd!(xl, "and 0x{mask:x} {} 0x{id:x}", if invert { "!=" } else { "==" });
        } else {
            xl.add(if invert { "!= " } else { "" });
            xadd!(xl, "0x{id:x}");
        }
    }
    Ok(())
}

pub fn cpu(c: &Cpu, xl: &mut Xl) -> XResult {
    xadd!(xl, "cpu{} {}", if c.invert { " !=" } else { "" }, c.cpu);
    Ok(())
}

pub fn cgroup(c: &Cgroup, xl: &mut Xl) -> XResult {
    if c.path.is_some() {
        return Err(NoXlate::new("cgroup: --path has no nft translation in iptables-translate"));
    }
    if let Some(id) = &c.classid {
        xadd!(xl, "meta cgroup {}{}", if id.invert { "!= " } else { "" }, id.value);
    }
    Ok(())
}
