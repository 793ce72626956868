//! Connection tracking matches: `conntrack`, `state`, `helper`, `connbytes`, `connlabel`,
//! `connlimit`, `cluster` (libxt_conntrack, libxt_helper, libxt_connbytes, libxt_connlabel,
//! libxt_connlimit, libxt_cluster).

use super::buf::{Xl, xadd};
use super::portproto::range_text;
use super::{Cx, XResult};
use crate::iptables::Family;
use crate::iptables::ip::Inv;
use crate::iptables::matches::conn::{Cluster, Connbytes, ConnbytesDir, ConnbytesMode, Connlabel};
use crate::iptables::matches::connlimit::Connlimit;
use crate::iptables::matches::conntrack::{Conntrack, CtDir, State, ct_state, ct_status};
use crate::iptables::matches::helper::Helper;
use crate::iptables::values::addr::{Addr, AddrMask};
use crate::iptables::values::ranges::PortRange;

/// `state_xlate_print`: `[! ]invalid,new,related,established,untracked`.
fn states(xl: &mut Xl, mask: u16, invert: bool) {
    if invert {
        xl.add("! ");
    }
    let mut sep = "";
    for (bit, name) in [
        (ct_state::INVALID, "invalid"),
        (ct_state::NEW, "new"),
        (ct_state::RELATED, "related"),
        (ct_state::ESTABLISHED, "established"),
        (ct_state::UNTRACKED, "untracked"),
    ] {
        if mask & bit != 0 {
            xadd!(xl, "{sep}{name}");
            sep = ",";
        }
    }
}

/// `status_xlate_print`.
fn statuses(xl: &mut Xl, mask: u16, invert: bool) {
    if invert {
        xl.add("! ");
    }
    let mut sep = "";
    for (bit, name) in [
        (ct_status::EXPECTED, "expected"),
        (ct_status::SEEN_REPLY, "seen-reply"),
        (ct_status::ASSURED, "assured"),
        (ct_status::CONFIRMED, "confirmed"),
    ] {
        if mask & bit != 0 {
            xadd!(xl, "{sep}{name}");
            sep = ",";
        }
    }
}

pub fn state(s: &State, xl: &mut Xl) -> XResult {
    xl.add("ct state ");
    states(xl, s.states.value, s.states.invert);
    Ok(())
}

/// `addr` followed by nothing (full mask), `/len` or `/mask`.
fn addr_text(a: &AddrMask) -> String {
    a.numeric_form()
}

pub fn conntrack(c: &Conntrack, _cx: &Cx<'_>, xl: &mut Xl) -> XResult {
    let mut space = "";
    let dir = if c.dir == Some(CtDir::Reply) { "reply" } else { "original" };
    if c.dir.is_some() {
        xadd!(xl, "ct direction {dir}");
        space = " ";
    }
    if let Some(p) = &c.proto {
        xadd!(xl, "{space}ct {dir} protocol {}{}", if p.invert { "!= " } else { "" }, p.value);
        space = " ";
    }
    if let Some(s) = &c.state {
        if s.value & (ct_state::SNAT | ct_state::DNAT) != 0 {
            let inv = c.status.is_some_and(|st| st.invert);
            let which = if s.value & ct_state::SNAT != 0 { "snat" } else { "dnat" };
            xadd!(xl, "{space}ct status {}{which}", if inv { "!=" } else { "" });
            if s.invert {
                xl.note("iptables-translate drops the negation of `! --ctstate SNAT/DNAT`");
            }
            if s.value & !(ct_state::SNAT | ct_state::DNAT) != 0 {
                xl.note("iptables-translate drops the other states of a --ctstate list that contains SNAT or DNAT");
            }
        } else {
            xadd!(xl, "{space}ct state ");
            states(xl, s.value, s.invert);
        }
        space = " ";
    }
    if let Some(st) = &c.status {
        xadd!(xl, "{space}ct status ");
        statuses(xl, st.value, st.invert);
        space = " ";
    }
    if let Some(e) = &c.expire {
        xadd!(xl, "{space}ct expiration {}", if e.invert { "!= " } else { "" });
        xl.add(&range_text(e.value.lo, e.value.hi));
        space = " ";
    }
    let addrs: [(&str, &Option<Inv<AddrMask>>); 4] = [
        ("original saddr", &c.orig_src),
        ("original daddr", &c.orig_dst),
        ("reply saddr", &c.repl_src),
        ("reply daddr", &c.repl_dst),
    ];
    for (what, a) in addrs {
        if let Some(a) = a {
            xadd!(xl, "{space}ct {what} {}", if a.invert { "!= " } else { "" });
            xl.add(&addr_text(&a.value));
            space = " ";
        }
    }
    let ports: [(&str, &Option<Inv<PortRange>>); 4] = [
        ("original proto-src", &c.orig_src_port),
        ("original proto-dst", &c.orig_dst_port),
        ("reply proto-src", &c.repl_src_port),
        ("reply proto-dst", &c.repl_dst_port),
    ];
    for (what, p) in ports {
        if let Some(p) = p {
            xadd!(xl, "{space}ct {what} {}", if p.invert { "!= " } else { "" });
            xl.add(&range_text(p.value.lo, p.value.hi));
            space = " ";
        }
    }
    Ok(())
}

pub fn helper(h: &Helper, xl: &mut Xl) -> XResult {
    xadd!(xl, "ct helper{} \"{}\"", if h.invert { " !=" } else { "" }, h.name);
    Ok(())
}

pub fn connbytes(c: &Connbytes, xl: &mut Xl) -> XResult {
    xl.add("ct ");
    match c.dir {
        ConnbytesDir::Original => xl.add("original "),
        ConnbytesDir::Reply => xl.add("reply "),
        ConnbytesDir::Both => {}
    }
    xl.add(match c.mode {
        ConnbytesMode::Packets => "packets ",
        ConnbytesMode::Bytes => "bytes ",
        ConnbytesMode::AvgPkt => "avgpkt ",
    });
    let (from, to, invert) = c.range();
    if from == to {
        xadd!(xl, "{from}");
    } else if to == u64::MAX {
        xadd!(xl, "{} {from}", if invert { "lt" } else { "ge" });
    } else {
        xadd!(xl, "{}{from}-{to}", if invert { "!= " } else { "" });
    }
    Ok(())
}

pub fn connlabel(c: &Connlabel, xl: &mut Xl) -> XResult {
    let name = c.bit.to_string();
    if c.set {
        xadd!(xl, "ct label set {name} ");
    }
    xl.add("ct label ");
    if c.invert {
        xadd!(xl, "and {name} != ");
    }
    xl.add(&name);
    Ok(())
}

pub fn connlimit(c: &Connlimit, cx: &mut Cx<'_>, xl: &mut Xl) -> XResult {
    let full = cx.family.addr_bits();
    let netmask = if c.mask_len != full {
        format!("and {} ", Addr::prefix_mask(cx.family, c.mask_len))
    } else {
        String::new()
    };
    let id = *cx.connlimit_id;
    *cx.connlimit_id += 1;
    xl.set_add(&format!("connlimit{id} {{ type ipv4_addr; flags dynamic; }}"));
    if cx.family == Family::Ipv6 {
        xl.note("iptables-translate declares the connlimit set with `type ipv4_addr` also for IPv6; nft rejects it");
    }
    xadd!(
        xl,
        "add @connlimit{id} {{ {} {} {netmask}ct count {}{} }}",
        if cx.family == Family::Ipv4 { "ip" } else { "ip6" },
        if c.daddr { "daddr" } else { "saddr" },
        if c.upto { "" } else { "over " },
        c.limit
    );
    Ok(())
}

pub fn cluster(c: &Cluster, xl: &mut Xl) -> XResult {
    const JHASH: &str = "jhash ct original saddr mod";
    const PKTTYPE: &str = "meta pkttype set host";
    let mask = c.node_mask;
    if mask & mask.wrapping_sub(1) == 0 {
        let node = if mask <= 2 { mask } else { 32 - mask.leading_zeros() };
        xadd!(xl, "{JHASH} {} seed 0x{:08x} eq {node} {PKTTYPE}", c.total_nodes, c.hash_seed);
        if mask != 0 && node != mask.trailing_zeros() {
            xl.note(format!(
                "iptables-translate compares the cluster hash with {node}, but this node owns hash value {}",
                mask.trailing_zeros()
            ));
        }
    } else {
        xadd!(xl, "{JHASH} {} seed 0x{:08x} ", c.total_nodes, c.hash_seed);
        let nodes: Vec<String> = (0..32).filter(|n| mask & (1u32 << n) != 0).map(|n| n.to_string()).collect();
        xadd!(xl, "{{ {} }}", nodes.join(", "));
        xadd!(xl, " {PKTTYPE}");
    }
    if c.invert {
        xl.note("iptables-translate drops the negation of the cluster match");
    }
    Ok(())
}
