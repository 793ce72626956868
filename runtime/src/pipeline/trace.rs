//! `--trace` output in the style of `nft monitor trace`: one line per event, each starting
//! with `trace id <id>`; chain events name `family table chain`, rule events show the
//! rule (its source text when the program has it) with its verdict and source location.
//!
//! ```text
//! trace id 00000001 ip filter input packet: iif "tuna" ip saddr 10.0.1.2 ip daddr 10.0.1.1 …
//! trace id 00000001 ip filter input rule tcp dport 22 accept (verdict accept) [rules.nft:7]
//! trace id 00000001 ip filter input policy drop
//! ```
//! Lines for what the host itself did (conntrack, NAT, routing, reassembly, host replies)
//! read `trace id <id> <what>`; `log` statements give `trace id <id> log <line>`.

use std::fmt::Write;

use nftvm_vm::keys::Hook;
use nftvm_vm::{ChainId, Program, SourceId, Verdict};

use super::outcome::TraceEvent;
use super::skb::Skb;
use crate::host::Host;

/// The `packet:` description of a packet at a hook.
pub fn summary(skb: &Skb, host: &Host, hook: Hook) -> String {
    let mut s = String::new();
    if let Some(i) = skb.meta.iif.filter(|_| hook != Hook::Output) {
        let _ = write!(s, "iif \"{}\" ", host.name(i));
    }
    if let Some(o) = skb.meta.oif.filter(|_| matches!(hook, Hook::Forward | Hook::Output | Hook::Postrouting))
    {
        let _ = write!(s, "oif \"{}\" ", host.name(o));
    }
    if skb.meta.mark != 0 {
        let _ = write!(s, "meta mark 0x{:08x} ", skb.meta.mark);
    }
    let ip = skb.ip();
    let info = &skb.info;
    if skb.is_v4() && ip.len() >= 20 {
        let _ = write!(
            s,
            "ip saddr {} ip daddr {} ip dscp 0x{:02x} ip ecn 0x{:x} ip ttl {} ip id {} ip length {} ",
            info.src_addr,
            info.dst_addr,
            ip[1] >> 2,
            ip[1] & 3,
            ip[8],
            u16::from_be_bytes([ip[4], ip[5]]),
            u16::from_be_bytes([ip[2], ip[3]])
        );
    } else if ip.len() >= 40 {
        let _ = write!(
            s,
            "ip6 saddr {} ip6 daddr {} ip6 hoplimit {} ip6 length {} ",
            info.src_addr,
            info.dst_addr,
            ip[7],
            u16::from_be_bytes([ip[4], ip[5]])
        );
    }
    if info.fragoff != 0 {
        let _ = write!(s, "(fragment, offset {})", info.fragoff);
        return s.trim_end().to_string();
    }
    if let Some(t) = info.transport {
        use crate::packet::Transport;
        let _ = match t {
            Transport::Tcp { src_port, dst_port, flags, window, .. } => write!(
                s,
                "tcp sport {src_port} tcp dport {dst_port} tcp flags == {} tcp window {window}",
                tcp_flags(flags)
            ),
            Transport::Udp { src_port, dst_port, length, .. } => {
                write!(s, "udp sport {src_port} udp dport {dst_port} udp length {length}")
            }
            Transport::Icmp { kind, code, ident, seq } => {
                write!(s, "icmp type {kind} icmp code {code} icmp id {ident} icmp sequence {seq}")
            }
            Transport::Icmpv6 { kind, code, ident, seq } => {
                write!(s, "icmpv6 type {kind} icmpv6 code {code} icmpv6 id {ident} icmpv6 sequence {seq}")
            }
            Transport::Sctp { src_port, dst_port, .. } => {
                write!(s, "sctp sport {src_port} sctp dport {dst_port}")
            }
            _ => write!(s, "meta l4proto {}", info.l4proto.unwrap_or(0)),
        };
    }
    s.trim_end().to_string()
}

fn tcp_flags(f: u8) -> String {
    let names = [
        (0x01, "fin"),
        (0x02, "syn"),
        (0x04, "rst"),
        (0x08, "psh"),
        (0x10, "ack"),
        (0x20, "urg"),
        (0x40, "ecn"),
        (0x80, "cwr"),
    ];
    let v: Vec<&str> = names.iter().filter(|(b, _)| f & b != 0).map(|(_, n)| *n).collect();
    if v.is_empty() { "0x0".into() } else { v.join(" | ") }
}

fn chain_head(prog: &Program, chain: ChainId) -> String {
    let c = prog.chain(chain);
    let t = c.and_then(|c| prog.table(c.table));
    format!(
        "{} {} {}",
        t.map_or("?", |t| t.family.name()),
        t.map_or("?", |t| t.name.as_str()),
        prog.chain_name(chain)
    )
}

/// A verdict as nft names it (`accept`, `jump other`, …).
pub fn verdict_text(prog: &Program, v: Verdict) -> String {
    match v {
        Verdict::Jump(c) => format!("jump {}", prog.chain_name(c)),
        Verdict::Goto(c) => format!("goto {}", prog.chain_name(c)),
        Verdict::Queue { num, .. } => format!("queue to {num}"),
        other => other.name().to_string(),
    }
}

/// One trace line. `source` names a rule's source location (`rules.nft:7`) when known.
pub fn format_event(ev: &TraceEvent, prog: &Program, source: &dyn Fn(SourceId) -> Option<String>) -> String {
    match ev {
        TraceEvent::Packet { id, chain, summary, .. } => {
            format!("trace id {id:08x} {} packet: {summary}", chain_head(prog, *chain))
        }
        TraceEvent::Rule { id, chain, rule, source: src, verdict } => {
            let r = prog.chain(*chain).and_then(|c| c.rules.get(*rule));
            let loc = source(*src);
            let text = match (r.and_then(|r| r.comment.as_deref()), &loc) {
                (Some(c), _) => c.to_string(),
                (None, Some(l)) => l.clone(),
                (None, None) => format!("#{rule}"),
            };
            let v = verdict.map_or_else(|| "continue".to_string(), |v| verdict_text(prog, v));
            let mut line =
                format!("trace id {id:08x} {} rule {text} (verdict {v})", chain_head(prog, *chain));
            if let Some(l) = loc {
                let _ = write!(line, " [{l}]");
            }
            line
        }
        TraceEvent::Policy { id, chain, verdict } => {
            format!("trace id {id:08x} {} policy {}", chain_head(prog, *chain), verdict_text(prog, *verdict))
        }
        TraceEvent::Log { id, line } => format!("trace id {id:08x} log {line}"),
        TraceEvent::Note { id, text } => format!("trace id {id:08x} {text}"),
    }
}
