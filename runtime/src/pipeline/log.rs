//! `log` statement lines in the kernel's `nf_log` text format (`IN=… OUT=… SRC=… DST=…
//! LEN=… TOS=… PREC=… TTL=… ID=… PROTO=TCP SPT=… DPT=… …`), written into the trace.

use std::fmt::Write;
use std::net::{Ipv4Addr, Ipv6Addr};

use nftvm_vm::interp::LogRequest;

/// `NF_LOG_TCPSEQ`.
const TCPSEQ: u32 = 0x01;

fn u16_at(p: &[u8], at: usize) -> u16 {
    match p.get(at..at + 2) {
        Some(b) => u16::from_be_bytes([b[0], b[1]]),
        None => 0,
    }
}

fn u32_at(p: &[u8], at: usize) -> u32 {
    match p.get(at..at + 4) {
        Some(b) => u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        None => 0,
    }
}

/// One log line for the IP packet `ip`, received on `iif` and leaving by `oif` (empty
/// names when there is none).
pub fn format(req: &LogRequest<'_>, ip: &[u8], iif: &str, oif: &str) -> String {
    let mut s = String::new();
    if let Some(p) = req.prefix {
        s.push_str(p);
    }
    if let Some(g) = req.group {
        let _ = write!(s, "[nflog group {g}] ");
    }
    let _ = write!(s, "IN={iif} OUT={oif} ");
    match ip.first().map(|b| b >> 4) {
        Some(4) if ip.len() >= 20 => ipv4(&mut s, ip, req.flags),
        Some(6) if ip.len() >= 40 => ipv6(&mut s, ip, req.flags),
        _ => s.push_str("(truncated)"),
    }
    s.trim_end().to_string()
}

fn ipv4(s: &mut String, p: &[u8], flags: u32) {
    let src = Ipv4Addr::new(p[12], p[13], p[14], p[15]);
    let dst = Ipv4Addr::new(p[16], p[17], p[18], p[19]);
    let tos = p[1];
    let _ = write!(
        s,
        "SRC={src} DST={dst} LEN={} TOS=0x{:02X} PREC=0x{:02X} TTL={} ID={} ",
        u16_at(p, 2),
        tos & 0x1e,
        tos & 0xe0,
        p[8],
        u16_at(p, 4)
    );
    let frag = u16_at(p, 6);
    if frag & 0x8000 != 0 {
        s.push_str("CE ");
    }
    if frag & 0x4000 != 0 {
        s.push_str("DF ");
    }
    if frag & 0x2000 != 0 {
        s.push_str("MF ");
    }
    if frag & 0x1fff != 0 {
        let _ = write!(s, "FRAG:{} ", frag & 0x1fff);
        return;
    }
    let th = usize::from(p[0] & 0x0f) * 4;
    transport(s, p, p[9], th, flags);
}

fn ipv6(s: &mut String, p: &[u8], flags: u32) {
    let mut a = [0u8; 16];
    a.copy_from_slice(&p[8..24]);
    let src = Ipv6Addr::from(a);
    a.copy_from_slice(&p[24..40]);
    let dst = Ipv6Addr::from(a);
    let first = u32_at(p, 0);
    let _ = write!(
        s,
        "SRC={src} DST={dst} LEN={} TC={} HOPLIMIT={} FLOWLBL={} ",
        usize::from(u16_at(p, 4)) + 40,
        (first >> 20) & 0xff,
        p[7],
        first & 0xfffff
    );
    let mut next = p[6];
    let mut pos = 40;
    for _ in 0..8 {
        match next {
            0 | 43 | 60 => {
                let Some(&hl) = p.get(pos + 1) else { return };
                next = p.get(pos).copied().unwrap_or(59);
                pos += (usize::from(hl) + 1) * 8;
            }
            44 => {
                let off = u16_at(p, pos + 2);
                let _ = write!(s, "FRAG:{} ID:{:08x} ", off & !7, u32_at(p, pos + 4));
                if off & !7 != 0 {
                    return;
                }
                next = p.get(pos).copied().unwrap_or(59);
                pos += 8;
            }
            _ => break,
        }
    }
    transport(s, p, next, pos, flags);
}

fn transport(s: &mut String, p: &[u8], proto: u8, th: usize, flags: u32) {
    match proto {
        6 => {
            let _ = write!(s, "PROTO=TCP SPT={} DPT={} ", u16_at(p, th), u16_at(p, th + 2));
            if flags & TCPSEQ != 0 {
                let _ = write!(s, "SEQ={} ACK={} ", u32_at(p, th + 4), u32_at(p, th + 8));
            }
            let f = p.get(th + 13).copied().unwrap_or(0);
            let _ = write!(
                s,
                "WINDOW={} RES=0x{:02x} ",
                u16_at(p, th + 14),
                p.get(th + 12).map_or(0, |b| (b & 0x0f) << 2)
            );
            for (bit, name) in [
                (0x80, "CWR"),
                (0x40, "ECE"),
                (0x20, "URG"),
                (0x10, "ACK"),
                (0x08, "PSH"),
                (0x04, "RST"),
                (0x02, "SYN"),
                (0x01, "FIN"),
            ] {
                if f & bit != 0 {
                    s.push_str(name);
                    s.push(' ');
                }
            }
            let _ = write!(s, "URGP={}", u16_at(p, th + 18));
        }
        17 | 136 => {
            let name = if proto == 17 { "UDP" } else { "UDPLITE" };
            let _ = write!(
                s,
                "PROTO={name} SPT={} DPT={} LEN={}",
                u16_at(p, th),
                u16_at(p, th + 2),
                u16_at(p, th + 4)
            );
        }
        1 | 58 => {
            let name = if proto == 1 { "ICMP" } else { "ICMPv6" };
            let (t, c) = (p.get(th).copied().unwrap_or(0), p.get(th + 1).copied().unwrap_or(0));
            let _ = write!(s, "PROTO={name} TYPE={t} CODE={c}");
            if matches!(t, 0 | 8 | 128 | 129) {
                let _ = write!(s, " ID={} SEQ={}", u16_at(p, th + 4), u16_at(p, th + 6));
            }
        }
        other => {
            let _ = write!(s, "PROTO={other}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::PacketBuilder;

    #[test]
    fn tcp_syn_line() {
        let p = PacketBuilder::ipv4(Ipv4Addr::new(10, 0, 1, 2), Ipv4Addr::new(10, 0, 2, 2))
            .ident(7)
            .dont_frag()
            .tcp(1000, 22)
            .flags(0x02)
            .window(512)
            .build();
        let req = LogRequest { prefix: Some("in: "), level: None, group: None, flags: 0 };
        assert_eq!(
            format(&req, &p, "tuna", ""),
            "in: IN=tuna OUT= SRC=10.0.1.2 DST=10.0.2.2 LEN=40 TOS=0x00 PREC=0x00 TTL=64 ID=7 DF PROTO=TCP SPT=1000 DPT=22 WINDOW=512 RES=0x00 SYN URGP=0"
        );
    }
}
