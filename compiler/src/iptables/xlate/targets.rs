//! Which translation each target has, and the small targets: `REJECT`, `CT`/`NOTRACK`,
//! `CLASSIFY`, `DSCP`, `TOS`, `NFQUEUE`, `SYNPROXY`, `TCPMSS`, `TEE`, `TPROXY`, `TRACE`
//! (the matching libxt_/libipt_/libip6t_ files). Targets without one in iptables (`TTL`,
//! `HL`, `ECN`, `CHECKSUM`, `SET`, `NETMAP`, …) are untranslatable here too.

use super::buf::{Xl, xadd};
use super::{Cx, NoXlate, XResult, log, mark, nat};
use crate::iptables::Family;
use crate::iptables::targets::Target;
use crate::iptables::targets::ct::Ct;
use crate::iptables::targets::header::{Classify, DscpTarget, TosTarget};
use crate::iptables::targets::misc::{Nfqueue, Synproxy, Tee, Tproxy};
use crate::iptables::targets::reject::{Reject, RejectWith};
use crate::iptables::targets::tcpmss::{MssAction, Tcpmss};
use crate::iptables::values::addr::Addr;

/// Translate the target of a rule.
pub fn xlate_target(name: &str, t: &Target, cx: &mut Cx<'_>, xl: &mut Xl) -> XResult {
    match t {
        Target::Reject(r) => reject(r, xl),
        Target::Log(l) => log::log(l, xl),
        Target::Nflog(n) => log::nflog(n, xl),
        Target::Audit(a) => log::audit(a, xl),
        Target::Mark(m) => mark::mark_target(m, xl),
        Target::Connmark(c) => mark::connmark_target(c, xl),
        Target::Ct(c) => ct(c, xl),
        Target::Notrack(_) => xl.put("notrack"),
        Target::Nat(n) => nat::nat(n, cx, xl),
        Target::Classify(c) => classify(c, xl),
        Target::Dscp(d) => dscp(d, cx, xl),
        Target::Tos(t) => tos(t, cx, xl),
        Target::Nfqueue(q) => nfqueue(q, xl),
        Target::Synproxy(s) => synproxy(s, xl),
        Target::Tcpmss(m) => tcpmss(m, xl),
        Target::Tee(t) => tee(t, xl),
        Target::Tproxy(t) => tproxy(t, cx, xl),
        Target::Trace(_) => xl.put("nftrace set 1"),
        Target::Netmap(_)
        | Target::Ttl(_)
        | Target::Ecn(_)
        | Target::Tcpoptstrip(_)
        | Target::Checksum(_)
        | Target::Secmark(_)
        | Target::Connsecmark(_)
        | Target::Idletimer(_)
        | Target::Led(_)
        | Target::Rateest(_)
        | Target::Npt(_)
        | Target::Set(_)
        | Target::Hmark(_) => Err(NoXlate::new(format!("target `{name}' has no nft translation"))),
    }
}

fn reject(r: &Reject, xl: &mut Xl) -> XResult {
    use RejectWith::*;
    let (icmp, name) = match r.with {
        IcmpPortUnreachable | Icmp6PortUnreachable => {
            xl.add("reject");
            return Ok(());
        }
        TcpReset => {
            xl.add("reject with tcp reset");
            return Ok(());
        }
        IcmpNetUnreachable => ("icmp", "net-unreachable"),
        IcmpHostUnreachable => ("icmp", "host-unreachable"),
        IcmpProtoUnreachable => ("icmp", "prot-unreachable"),
        IcmpNetProhibited => ("icmp", "net-prohibited"),
        IcmpHostProhibited => ("icmp", "host-prohibited"),
        IcmpAdminProhibited => ("icmp", "admin-prohibited"),
        Icmp6NoRoute => ("icmpv6", "no-route"),
        Icmp6AdmProhibited => ("icmpv6", "admin-prohibited"),
        Icmp6AddrUnreachable => ("icmpv6", "addr-unreachable"),
        Icmp6PolicyFail => ("icmpv6", "policy-fail"),
        Icmp6RejectRoute => ("icmpv6", "reject-route"),
    };
    xadd!(xl, "reject with {icmp} type {name}");
    Ok(())
}

fn ct(c: &Ct, xl: &mut Xl) -> XResult {
    if c.notrack {
        xl.add("notrack");
        Ok(())
    } else {
        Err(NoXlate::new("CT: only --notrack has an nft translation in iptables-translate"))
    }
}

fn classify(c: &Classify, xl: &mut Xl) -> XResult {
    xl.add("meta priority set ");
    match c.priority {
        0xFFFF_FFFF => xl.add("root"),
        0 => xl.add("none"),
        h => xadd!(xl, "{:x}:{:x}", h >> 16, h & 0xFFFF),
    }
    Ok(())
}

fn dscp(d: &DscpTarget, cx: &Cx<'_>, xl: &mut Xl) -> XResult {
    let ip = match cx.family {
        Family::Ipv4 => "ip",
        Family::Ipv6 => "ip6",
    };
    xadd!(xl, "{ip} dscp set 0x{:02x}", d.dscp);
    Ok(())
}

fn tos(t: &TosTarget, cx: &Cx<'_>, xl: &mut Xl) -> XResult {
    // iptables uses the revision-1 translation for both families, and it says `ip6`.
    let ip = "ip6";
    if cx.family == Family::Ipv4 {
        xl.note(
            "iptables-translate writes `ip6 dscp set` for an IPv4 TOS target; nft rejects it in an ip table",
        );
    }
    let (tos, mask) = (t.value, t.mask);
    xadd!(xl, "{ip} dscp set ");
    if mask & 0x3f == 0x3f {
        xadd!(xl, "0x{:02x}", tos >> 2);
    } else if tos == 0 {
        xadd!(xl, "{ip} dscp and 0x{:02x}", !mask >> 2);
    } else if tos == mask {
        xadd!(xl, "{ip} dscp or 0x{:02x}", tos >> 2);
    } else if mask == 0 {
        xadd!(xl, "{ip} dscp xor 0x{:02x}", tos >> 2);
    } else {
        xadd!(xl, "{ip} dscp and 0x{:02x} xor 0x{:02x}", !mask >> 2, tos >> 2);
    }
    if (tos | mask) & 0x03 != 0 && mask & 0x3f != 0x3f {
        xl.note("TOS also changes the two ECN bits; `dscp set` does not");
    }
    Ok(())
}

fn nfqueue(q: &Nfqueue, xl: &mut Xl) -> XResult {
    let first = u32::from(q.queue_num);
    if q.queues_total > 1 {
        xadd!(xl, "queue num {first}-{} ", first + u32::from(q.queues_total) - 1);
    } else {
        xadd!(xl, "queue num {first} ");
    }
    if q.bypass {
        xl.add("bypass");
    }
    if q.cpu_fanout {
        xadd!(xl, "{}fanout ", if q.bypass { "," } else { "" });
    }
    Ok(())
}

fn synproxy(s: &Synproxy, xl: &mut Xl) -> XResult {
    xl.add("synproxy ");
    if s.sack_perm {
        xl.add("sack-perm ");
    }
    if s.timestamp {
        xl.add("timestamp ");
    }
    if let Some(w) = s.wscale {
        xadd!(xl, "wscale {w} ");
    }
    if let Some(m) = s.mss {
        xadd!(xl, "mss {m} ");
    }
    if s.ecn {
        xl.add("ecn ");
    }
    Ok(())
}

fn tcpmss(m: &Tcpmss, xl: &mut Xl) -> XResult {
    match m.action {
        MssAction::ClampToPmtu => xl.add("tcp option maxseg size set rt mtu"),
        MssAction::Set(v) => xadd!(xl, "tcp option maxseg size set {v}"),
    }
    Ok(())
}

fn tee(t: &Tee, xl: &mut Xl) -> XResult {
    xadd!(xl, "dup to {}", t.gateway);
    if let Some(oif) = &t.oif {
        xadd!(xl, " device {oif}");
    }
    Ok(())
}

fn tproxy(t: &Tproxy, cx: &Cx<'_>, xl: &mut Xl) -> XResult {
    xl.add("tproxy to");
    let mut port_mandatory = false;
    match (&t.addr, cx.family) {
        (Addr::V6(a), Family::Ipv6) if !a.is_unspecified() => xadd!(xl, "[{}]", t.addr),
        (Addr::V4(a), Family::Ipv4) if !a.is_unspecified() => xl.add(&t.addr.to_string()),
        _ => port_mandatory = true,
    }
    if port_mandatory {
        xadd!(xl, " :{}", t.port);
    } else if t.port != 0 {
        xadd!(xl, ":{}", t.port);
    }
    if t.mask == u32::MAX {
        xadd!(xl, "meta mark set 0x{:x}", t.mark);
    } else if t.mask != 0 || t.mark != 0 {
        xadd!(xl, "meta mark set meta mark & 0x{:x} xor 0x{:x}", !t.mask, t.mark);
    }
    xl.add("accept");
    Ok(())
}
