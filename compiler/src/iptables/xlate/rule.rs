//! One rule: the IP part (interfaces, fragment flag, protocol, addresses — as iptables-nft's
//! `nft_ipv4_xlate` / `nft_ipv6_xlate` print them), every match in order, `counter`, the
//! action and the comment.

use super::buf::{Xl, xadd};
use super::{Cx, NoXlate, XResult, matches, targets};
use crate::iptables::Family;
use crate::iptables::ip::{Iface, Inv, IpPart};
use crate::iptables::rule::{Action, MatchEntry, Rule, Verdict};
use crate::iptables::values::addr::{Addr, AddrMask};
use crate::iptables::values::protocols::{CHAIN_PROTOS, chain_proto_name, etc_protocol_name};

/// `IFNAMSIZ`.
const IFNAMSIZ: usize = 16;

/// Translate one rule into `xl` (without the `add rule …` head).
pub fn xlate_rule(rule: &Rule, cx: &mut Cx<'_>, xl: &mut Xl) -> XResult {
    xlate_ifname(xl, "iifname", rule.ip.iniface.as_ref());
    xlate_ifname(xl, "oifname", rule.ip.outiface.as_ref());
    if let Some(inv) = rule.ip.frag {
        xadd!(xl, "ip frag-off & 0x1fff {}0 ", if inv { "" } else { "!= " });
    }
    xlate_proto(&rule.ip, &rule.matches, cx.family, xl);
    let (s, d) = match cx.family {
        Family::Ipv4 => ("ip saddr", "ip daddr"),
        Family::Ipv6 => ("ip6 saddr", "ip6 daddr"),
    };
    xlate_addr(xl, s, rule.ip.src.as_ref());
    xlate_addr(xl, d, rule.ip.dst.as_ref());
    for m in &rule.matches {
        let mut mcx = Cx { family: cx.family, ip: &rule.ip, connlimit_id: &mut *cx.connlimit_id };
        matches::xlate_match(m, &mut mcx, xl).map_err(|e| e.at(m.span))?;
        xl.place_notes(m.span);
    }
    xl.add("counter");
    xlate_action(rule, cx, xl)?;
    if let Some(c) = xl.comment().map(str::to_string) {
        xadd!(xl, " comment {c}");
    }
    Ok(())
}

/// `xlate_ifname`: a trailing `+` becomes `*`, a trailing `*` is escaped, `+` alone matches
/// everything (nothing printed) or, negated, nothing (an impossible name).
fn xlate_ifname(xl: &mut Xl, meta: &str, iface: Option<&Inv<Iface>>) {
    let Some(Inv { value: Iface(name), invert }) = iface else { return };
    if name.is_empty() || name.len() >= IFNAMSIZ {
        return;
    }
    let mut invert = *invert;
    let text = if name == "+" {
        if !invert {
            return;
        }
        invert = false;
        "INVAL/D".to_string()
    } else {
        let mut s = String::with_capacity(name.len() + 1);
        let last = name.len() - 1;
        for (i, c) in name.char_indices() {
            if c == '*' && i == last {
                s.push('\\');
            }
            if c == '+' && i == last {
                s.push('*');
            } else {
                s.push(c);
            }
        }
        s
    };
    xadd!(xl, "{meta} {}\"{text}\" ", if invert { "!= " } else { "" });
}

/// `ip protocol …` (`meta l4proto …` for IPv6) unless a match of the protocol's name follows
/// (`-p tcp --dport 22` is just `tcp dport 22`).
fn xlate_proto(ip: &IpPart, matches: &[MatchEntry], family: Family, xl: &mut Xl) {
    let Some(p) = ip.proto else { return };
    if has_proto_match(p.value, matches) {
        return;
    }
    xl.add(match family {
        Family::Ipv4 => "ip protocol",
        Family::Ipv6 => "meta l4proto",
    });
    if p.invert {
        xl.add(" !=");
    }
    match proto_name(p.value) {
        Some(n) => xl.add(n),
        None => xl.add(&p.value.to_string()),
    }
}

/// `proto_to_name`: iptables' own names first, then `/etc/protocols`.
pub fn proto_name(num: u8) -> Option<&'static str> {
    chain_proto_name(num).or_else(|| etc_protocol_name(num))
}

/// `xlate_find_protomatch`: a match named like the protocol (any of iptables' names for it,
/// or the system name).
fn has_proto_match(num: u8, matches: &[MatchEntry]) -> bool {
    let named = |n: &str| matches.iter().any(|m| m.name == n);
    CHAIN_PROTOS.iter().any(|&(n, p)| p == num && named(n)) || etc_protocol_name(num).is_some_and(named)
}

/// `ip saddr 10.0.0.0/8`, `ip saddr & 255.0.255.0 == 10.0.12.0`; nothing for `0.0.0.0/0`.
fn xlate_addr(xl: &mut Xl, selector: &str, a: Option<&Inv<AddrMask>>) {
    let Some(Inv { value, invert }) = a else { return };
    if !invert && value.addr.is_zero() && value.mask.is_zero() {
        return;
    }
    let op = if *invert { "!= " } else { "" };
    let full = value.family().addr_bits();
    match value.prefix_len() {
        None => xadd!(
            xl,
            "{selector} & {} {} {} ",
            mask_text(&value.mask),
            if *invert { "!=" } else { "==" },
            value.addr
        ),
        Some(len) if len == full => xadd!(xl, "{selector} {op}{} ", value.addr),
        Some(len) => xadd!(xl, "{selector} {op}{}/{len} ", value.addr),
    }
}

fn mask_text(mask: &Addr) -> String {
    mask.to_string()
}

/// `xlate_action`: built-in verdicts, jumps and gotos, or the target's own translation.
fn xlate_action(rule: &Rule, cx: &mut Cx<'_>, xl: &mut Xl) -> XResult {
    match &rule.action {
        None => Ok(()),
        Some(Action::Verdict(v, span)) => match v {
            Verdict::Accept => xl.put(" accept"),
            Verdict::Drop => xl.put(" drop"),
            Verdict::Return => xl.put(" return"),
            Verdict::Queue => {
                Err(NoXlate::new("QUEUE: the standard QUEUE verdict has no translation").at(*span))
            }
        },
        Some(Action::Jump(n)) => xl.put(&format!(" jump {}", n.text)),
        Some(Action::Goto(n)) => xl.put(&format!(" goto {}", n.text)),
        Some(Action::Target { name, t, span }) => {
            let mut tcx = Cx { family: cx.family, ip: &rule.ip, connlimit_id: &mut *cx.connlimit_id };
            targets::xlate_target(name, t, &mut tcx, xl).map_err(|e| e.at(*span))?;
            xl.place_notes(*span);
            Ok(())
        }
    }
}
