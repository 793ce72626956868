//! Fuzz target: packet sequences through the hook pipeline (conntrack, NAT, defragmentation,
//! the FTP, IRC, SANE, Amanda and PPTP helpers, reject/ICMP generation, `dup` and `fwd`, flowtables) under a
//! small fixed set of compiled rulesets, on the interpreter and on the JIT side by side.
//! Nothing may panic or hang, and both engines must produce the same outcomes and the same
//! connection table.
//!
//! Input: byte 0 picks the ruleset and conntrack settings; the rest is a sequence of
//! records, each a header byte (interface, clock advance, kind) and a kind-specific body:
//! raw frames (as given, with checksums fixed, or Ethernet-framed) and packets built from a
//! few fuzz bytes (TCP with sequence numbers tracked per port pair, FTP commands and
//! replies, IRC DCC offers, PPTP control messages, UDP, ICMP echo and errors quoting an
//! earlier packet, GRE (PPTP's and plain), IPv4/IPv6 fragments, IPv6 extension headers) so
//! that conntrack, NAT and the helpers see plausible flows.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nftvm_runtime::conntrack::{self, SECOND};
use nftvm_runtime::host::{ARPHRD_ETHER, Host};
use nftvm_runtime::io::IfaceId;
use nftvm_runtime::packet::{LinkType, PacketBuilder, dissect_ip};
use nftvm_runtime::pipeline::{Outcome, Pipeline, PipelineConfig, VmEngine};
use nftvm_vm::{Executable, VerifiedProgram};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, OnceLock};

const FIREWALL: &str = r#"
table inet filter {
    set allowed { type inet_service; flags interval; elements = { 21, 22, 80, 8000-8100 } }
    set seen { type ipv4_addr; size 16; flags dynamic, timeout; timeout 30s; }
    set perhost { type ipv4_addr; size 4; flags dynamic; }
    set bytes6 { type ipv6_addr; flags dynamic, timeout; timeout 2s; gc-interval 1s; }
    chain input {
        type filter hook input priority 0; policy drop;
        add @perhost { ip saddr ct count over 2 } counter drop
        update @bytes6 { ip6 saddr quota over 300 bytes } drop
        ct state established,related accept
        ct state invalid counter drop
        meta l4proto { icmp, ipv6-icmp } limit rate 5/second burst 2 packets accept
        tcp dport @allowed ct state new counter accept
        udp dport 53 add @seen { ip saddr } accept
        tcp dport 23 reject with tcp reset
        udp dport 69 reject
    }
    chain forward {
        type filter hook forward priority 0; policy drop;
        ct state vmap { established : accept, related : accept, invalid : drop }
        tcp flags syn tcp option maxseg size set 1200
        tcp flags syn tcp option maxseg size set rt mtu
        meta l4proto tcp ct count over 5 counter
        iifname "tuna" oifname "tunb" ct state new accept
        iifname "tunb" ip daddr 10.0.1.2 tcp dport { 80, 443 } accept
        meta l4proto tcp reject with tcp reset
        reject with icmpx type admin-prohibited
    }
    chain output {
        type filter hook output priority 0; policy accept;
        meta mark set 0x10 counter
    }
}
"#;

const NAT: &str = r#"
table ip nat {
    chain pre {
        type nat hook prerouting priority -100; policy accept;
        iifname "tunb" tcp dport 8080 dnat to 10.0.1.2:80
        iifname "tunb" udp dport 5353 dnat to 10.0.1.3
        tcp dport 2222 redirect to :22
    }
    chain post {
        type nat hook postrouting priority 100; policy accept;
        oifname "tunb" ip saddr 10.0.1.0/24 masquerade
        oifname "tunc" meta l4proto { tcp, udp } snat to 10.0.3.1:2000-2010
        oifname "tunc" snat to 10.0.3.1
    }
}
table ip6 nat {
    chain post {
        type nat hook postrouting priority 100; policy accept;
        oifname "tunb" masquerade
    }
}
table ip copies {
    chain pre {
        type filter hook prerouting priority 0; policy accept;
        udp dport 40000 dup to 10.0.3.9 device "tunc"
    }
    chain post {
        type filter hook postrouting priority 0; policy accept;
        tcp dport 80 dup to 10.0.2.9 meta mark set 3
    }
}
table netdev edge {
    chain in {
        type filter hook ingress device "tunc" priority 0; policy accept;
        udp dport 8080 fwd to "tuna"
        udp dport 20 dup to "tunb"
    }
}
table inet filter {
    chain forward {
        type filter hook forward priority 0; policy accept;
        ct state invalid drop
        ip protocol icmp ip daddr 10.0.2.2 meta nftrace set 1
    }
}
"#;

const HELPERS: &str = r#"
table inet helpers {
    ct helper ftp-standard { type "ftp" protocol tcp; }
    ct helper irc-6667 { type "irc" protocol tcp; }
    ct helper sane-6566 { type "sane" protocol tcp; }
    ct helper amanda { type "amanda" protocol udp; }
    ct helper pptp-1723 { type "pptp" protocol tcp; }
    chain pre {
        type filter hook prerouting priority 0; policy accept;
        tcp dport 21 ct helper set "ftp-standard"
        tcp dport 6667 ct helper set "irc-6667"
        tcp dport 6566 ct helper set "sane-6566"
        udp dport 10080 ct helper set "amanda"
        tcp dport 1723 ct helper set "pptp-1723"
    }
    chain forward {
        type filter hook forward priority 0; policy drop;
        ct state established,related accept
        tcp dport { 21, 1723, 6566, 6667 } ct state new accept
        udp dport 10080 ct state new accept
        ct state new log prefix "new: " drop
    }
}
table ip nat {
    chain pre {
        type nat hook prerouting priority -100; policy accept;
        iifname "tunb" tcp dport 2121 dnat to 10.0.1.2:21
        iifname "tunb" tcp dport 6697 dnat to 10.0.1.2:6667
    }
    chain post {
        type nat hook postrouting priority 100; policy accept;
        oifname "tunb" masquerade
    }
}
"#;

const FLOWTABLE: &str = r#"
table inet fast {
    flowtable ft {
        hook ingress priority filter
        devices = { tuna, tunb, tunc }
        counter
    }
    chain forward {
        type filter hook forward priority 0; policy accept;
        ct state established meta l4proto { tcp, udp } flow add @ft counter
        tcp dport 25 drop
    }
    chain post {
        type nat hook postrouting priority 100; policy accept;
        oifname "tunb" masquerade
    }
}
"#;

const RULESETS: [&str; 4] = [FIREWALL, NAT, HELPERS, FLOWTABLE];

/// Each ruleset compiled once: the verified program and its JIT executable.
fn programs() -> &'static [(Arc<VerifiedProgram>, Executable)] {
    static PROGRAMS: OnceLock<Vec<(Arc<VerifiedProgram>, Executable)>> = OnceLock::new();
    PROGRAMS.get_or_init(|| {
        // Device names (`dup to … device "tunc"`) resolve against the host's interfaces.
        let interfaces: Vec<(String, u32)> = host().ifaces().iter().map(|i| (i.name.clone(), i.index)).collect();
        RULESETS
            .iter()
            .map(|text| {
                let mut sources = nftvm_grammar::SourceMap::new();
                let file = nftvm_grammar::nft::parse_str(&mut sources, "rules.nft", text)
                    .unwrap_or_else(|d| panic!("{}", nftvm_grammar::diag::render_all(&d, &sources)));
                let (prog, _) = nftvm_compiler::types::with_interfaces(&interfaces, || {
                    let rs = nftvm_compiler::eval::load(&file)
                        .unwrap_or_else(|d| panic!("{}", nftvm_grammar::diag::render_all(&d, &sources)));
                    nftvm_compiler::codegen::compile_verified(&rs).expect("codegen")
                });
                let prog = Arc::new(prog);
                let exe = Executable::new(prog.clone(), nftvm_vm::Engine::Jit).expect("jit");
                (prog, exe)
            })
            .collect()
    })
}

fn host() -> Host {
    let specs = [
        "tuna=10.0.1.1/24",
        "tuna=fd00:1::1/64",
        "tunb=10.0.2.1/24",
        "tunb=fd00:2::1/64",
        "tunc=10.0.3.1/24",
    ];
    let specs: Vec<String> = specs.iter().map(|s| s.to_string()).collect();
    let mut host = Host::from_specs(&specs, &["192.0.2.0/24=tunb".to_string()]).expect("host");
    host.set_hw_type(IfaceId(2), ARPHRD_ETHER);
    host.set_mtu(IfaceId(1), 1280);
    host
}

/// A byte cursor that yields zeros once the input is used up.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }
    fn take(&mut self, n: usize) -> &[u8] {
        let (a, b) = self.0.split_at(n.min(self.0.len()));
        self.0 = b;
        a
    }
}

const V4: [[u8; 4]; 8] = [
    [10, 0, 1, 2],
    [10, 0, 2, 2],
    [10, 0, 1, 1],
    [10, 0, 2, 1],
    [10, 0, 3, 2],
    [192, 0, 2, 7],
    [10, 0, 1, 3],
    [255, 255, 255, 255],
];
const V6: [&str; 8] =
    ["fd00:1::2", "fd00:2::2", "fd00:1::1", "fd00:2::1", "fd00:3::2", "2001:db8::7", "fe80::1", "ff02::1"];
const PORTS: [u16; 9] = [21, 20, 6667, 80, 6566, 40000, 2121, 10080, 1723];

/// Addresses of one packet: the selector's bit 3 picks IPv6 for both.
fn addrs(sel: u8) -> (IpAddr, IpAddr) {
    let (s, d) = (usize::from(sel & 7), usize::from((sel >> 4) & 7));
    if sel & 8 == 0 {
        (IpAddr::V4(Ipv4Addr::from(V4[s])), IpAddr::V4(Ipv4Addr::from(V4[d])))
    } else {
        let p = |i: usize| IpAddr::V6(V6[i].parse::<Ipv6Addr>().unwrap_or(Ipv6Addr::LOCALHOST));
        (p(s), p(d))
    }
}

fn port(b: &mut Bytes<'_>, sel: u8) -> u16 {
    PORTS.get(usize::from(sel & 15)).copied().unwrap_or_else(|| b.u16())
}

/// Payloads: FTP commands and replies, IRC DCC offers, SANE requests and answers and Amanda
/// answers with fuzz numbers, or raw bytes.
fn payload(b: &mut Bytes<'_>) -> Vec<u8> {
    let sel = b.u8();
    let (a, p) = ([b.u8(), b.u8(), b.u8(), b.u8()], b.u16());
    let a = if sel & 8 == 0 { [10, 0, 1, 2] } else { a };
    let s = match sel & 7 {
        0 => String::new(),
        1 => format!("PORT {},{},{},{},{},{}\r\n", a[0], a[1], a[2], a[3], p >> 8, p & 0xff),
        2 => format!(
            "227 Entering Passive Mode ({},{},{},{},{},{}).\r\n",
            a[0],
            a[1],
            a[2],
            a[3],
            p >> 8,
            p & 0xff
        ),
        3 => format!("EPRT |1|{}.{}.{}.{}|{p}|\r\n", a[0], a[1], a[2], a[3]),
        4 => format!("229 Entering Extended Passive Mode (|||{p}|)\r\n"),
        5 => format!("EPRT |2|fd00:1::2|{p}|\r\n"),
        // A PPTP control message of any type, call IDs and result codes from the input.
        6 if sel & 16 != 0 => {
            let mut m = vec![0, 0, 0, 1, 0x1a, 0x2b, 0x3c, 0x4d, 0, b.u8() & 15, 0, 0];
            m.extend_from_slice(&[a[0], a[1], a[2], a[3], (p >> 8) as u8, p as u8]);
            m.resize(12 + usize::from(b.u8()), 0);
            return m;
        }
        6 => {
            let n = usize::from(b.u8());
            return b.take(n).to_vec();
        }
        _ if sel & 16 != 0 => {
            let kind = ["SEND f", "CHAT chat", "MOVE f", "TSEND f", "SCHAT chat"][usize::from(sel >> 5) % 5];
            format!("PRIVMSG bob :\u{1}DCC {kind} {} {p} 1\u{1}\r\n", u32::from_be_bytes(a))
        }
        // SANE_NET_START, and an answer naming a port.
        _ if sel & 32 != 0 => return vec![0, 0, 0, 7, a[0], a[1], a[2], a[3]],
        _ if sel & 64 != 0 => return vec![0, 0, 0, a[0] & 1, 0, a[1] & 1, (p >> 8) as u8, p as u8, a[2], a[3]],
        _ if sel & 128 != 0 => format!("CONNECT DATA {p} MESG {} INDEX {}\n", a[0], u32::from_be_bytes(a)),
        _ => "USER anonymous\r\n".to_string(),
    };
    s.into_bytes()
}

/// The state of one fuzz run besides the pipelines.
#[derive(Default)]
struct Flows {
    /// Next sequence number per (source port, destination port).
    next_seq: HashMap<(u16, u16), u32>,
    /// The last packet the pipeline sent out, and the last one fed in (ICMP errors quote them).
    last_out: Vec<u8>,
    last_in: Vec<u8>,
}

fn tcp(b: &mut Bytes<'_>, flows: &mut Flows) -> Vec<u8> {
    let (src, dst) = addrs(b.u8());
    let sel = b.u8();
    let (sport, dport) = (port(b, sel & 15), port(b, sel >> 4));
    const FLAGS: [u8; 8] = [0x02, 0x12, 0x10, 0x18, 0x11, 0x04, 0x14, 0x01];
    let fsel = b.u8();
    let flags = if fsel & 8 == 0 { FLAGS[usize::from(fsel & 7)] } else { b.u8() };
    let data = payload(b);
    let skew = if fsel & 0x10 != 0 { u32::from(b.u16()) } else { 0 };
    let seq = flows
        .next_seq
        .get(&(sport, dport))
        .copied()
        .unwrap_or(0x1000_0000 ^ u32::from(sport))
        .wrapping_add(skew);
    let ack = flows.next_seq.get(&(dport, sport)).copied().unwrap_or(0);
    let len = data.len() as u32 + u32::from(flags & 0x03 != 0);
    flows.next_seq.insert((sport, dport), seq.wrapping_add(len));
    let mut builder =
        PacketBuilder::ip(src, dst).tcp(sport, dport).flags(flags).seq(seq).ack(ack).window(65535);
    if fsel & 0x20 != 0 {
        builder = builder.mss(1460).window_scale(7).sack_permitted().timestamps(1, 0);
    }
    if fsel & 0x40 != 0 {
        builder = builder.dont_frag();
    }
    builder.payload(&data).build()
}

fn other(kind: u8, b: &mut Bytes<'_>, flows: &Flows) -> Vec<u8> {
    let (src, dst) = addrs(b.u8());
    let sel = b.u8();
    match kind {
        0 => {
            let (sport, dport) = (port(b, sel & 15), port(b, sel >> 4));
            PacketBuilder::ip(src, dst).udp(sport, dport).payload(&payload(b)).build()
        }
        1 => {
            let id = b.u16();
            let p = PacketBuilder::ip(src, dst);
            if sel & 1 == 0 { p.icmp_echo_request(id, 1) } else { p.icmp_echo_reply(id, 1) }.build()
        }
        2 => {
            let quoted = if sel & 1 == 0 { &flows.last_out } else { &flows.last_in };
            let (kind, code) = match (src, sel >> 1 & 3) {
                (IpAddr::V4(_), 0) => (3, 3),
                (IpAddr::V4(_), 1) => (11, 0),
                (IpAddr::V4(_), 2) => (3, 4),
                (IpAddr::V6(_), 0) => (1, 4),
                (IpAddr::V6(_), 1) => (3, 0),
                (IpAddr::V6(_), 2) => (2, 0),
                _ => (b.u8(), b.u8()),
            };
            PacketBuilder::ip(src, dst).icmp_error(kind, code, quoted).build()
        }
        // GRE: PPTP's (a call ID from the input) or plain.
        _ if sel & 0x30 == 0x30 => {
            let p = PacketBuilder::ip(src, dst);
            if sel & 1 == 0 { p.gre_pptp(b.u16()).payload(&[0xff, 3]) } else { p.gre(0x0800) }.build()
        }
        _ => {
            // IPv6 extension headers (IPv4: options) in front of UDP.
            let mut p = PacketBuilder::ip(src, dst);
            if src.is_ipv6() {
                if sel & 1 != 0 {
                    p = p.hop_by_hop(&[5, 2, 0, 0]);
                }
                if sel & 2 != 0 {
                    p = p.routing(0, sel >> 6, &[0; 20]);
                }
                if sel & 4 != 0 {
                    p = p.dest_options(&[1, 2, 0, 0]);
                }
                if sel & 8 != 0 {
                    p = p.auth_header(1, 2, &[0; 12]);
                }
            } else if sel & 1 != 0 {
                p = p.ipv4_options(&[7, 7, 4, 0, 0, 0, 0, 1]);
            }
            p.ttl(sel >> 4).udp(port(b, sel), 53).payload(b"q").build()
        }
    }
}

/// Fragments of a built UDP datagram, in an order the selector picks.
fn fragments(b: &mut Bytes<'_>) -> Vec<Vec<u8>> {
    let (src, dst) = addrs(b.u8());
    let sel = b.u8();
    let len = usize::from(b.u8()) * 12;
    let max = (usize::from(b.u8() & 0x7f) + 1) * 8;
    let body: Vec<u8> = (0..len).map(|i| i as u8).collect();
    let mut frags = PacketBuilder::ip(src, dst)
        .ident(u16::from(sel))
        .udp(port(b, sel), 53)
        .payload(&body)
        .build_fragments(max);
    match sel >> 6 {
        1 => frags.reverse(),
        2 => {
            if let Some(f) = frags.first().cloned() {
                frags.push(f); // a duplicate
            }
        }
        3 => {
            frags.pop(); // never completes
        }
        _ => {}
    }
    frags
}

/// Fix the IPv4 header checksum and the TCP/UDP/ICMP checksum of a raw IP packet.
fn fix_checksums(p: &mut [u8]) {
    use nftvm_runtime::packet::icmpv4::Icmpv4Packet;
    use nftvm_runtime::packet::ipv4::Ipv4Packet;
    use nftvm_runtime::packet::tcp::TcpPacket;
    use nftvm_runtime::packet::udp::UdpPacket;
    if p.first().is_none_or(|b| b >> 4 != 4) {
        return;
    }
    let mut ip = Ipv4Packet::new_unchecked(&mut *p);
    ip.fill_checksum();
    let (hl, tl, proto) = (ip.header_len(), usize::from(ip.total_len()), ip.protocol());
    let (src, dst, frag) = (ip.src_addr(), ip.dst_addr(), ip.is_fragment());
    let end = tl.min(p.len());
    if frag || hl >= end {
        return;
    }
    let seg = &mut p[hl..end];
    match proto {
        6 => TcpPacket::new_unchecked(seg).fill_checksum_v4(src, dst),
        17 => UdpPacket::new_unchecked(seg).fill_checksum_v4(src, dst),
        1 => Icmpv4Packet::new_unchecked(seg).fill_checksum(),
        _ => {}
    }
}

/// `NFTVM_FUZZ_DEBUG=1`: print every packet, outcome and the final connection table (for
/// looking at what an input does: `pipeline -runs=0 INPUT`).
fn debug() -> bool {
    static DEBUG: OnceLock<bool> = OnceLock::new();
    *DEBUG.get_or_init(|| std::env::var_os("NFTVM_FUZZ_DEBUG").is_some())
}

/// The comparable part of an outcome (trace ids and events aside).
fn summary(o: &Outcome) -> String {
    format!("{:?} {:?} {:?} {:?}", o.packet, o.generated, o.emitted, o.reassembled)
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let cfg_byte = b.u8();
    let (prog, exe) = &programs()[usize::from(cfg_byte) % RULESETS.len()];
    let cfg = PipelineConfig {
        conntrack: conntrack::Config {
            max: if cfg_byte & 0x10 != 0 { 4 } else { 1024 },
            tcp_loose: cfg_byte & 0x20 == 0,
            tcp_be_liberal: cfg_byte & 0x40 != 0,
            ..conntrack::Config::default()
        },
        trace: cfg_byte & 0x80 != 0,
        ..PipelineConfig::default()
    };
    let interp = VmEngine::interpreter(prog.clone(), 0);
    let jit = VmEngine::new(exe.clone(), 0);
    let mut pipes =
        [Pipeline::new(host(), Box::new(interp), cfg.clone()), Pipeline::new(host(), Box::new(jit), cfg)];
    let mut flows = Flows::default();
    let mut now = 0u64;
    let mut frames = 0;
    let mut reused = Outcome::empty(IfaceId(0));
    while !b.0.is_empty() && frames < 48 {
        let h = b.u8();
        let iif = IfaceId(usize::from(h & 3) % 3);
        now += match (h >> 2) & 3 {
            0 => 0,
            1 => SECOND / 1000,
            2 => SECOND,
            _ => u64::from(b.u8()) * 10 * SECOND,
        };
        let (link, packets) = match h >> 4 {
            0..=2 => {
                let n = usize::from(b.u8()) * 2;
                (LinkType::Raw, vec![b.take(n).to_vec()])
            }
            3..=5 => {
                let n = usize::from(b.u8()) * 2;
                let mut p = b.take(n).to_vec();
                fix_checksums(&mut p);
                (LinkType::Raw, vec![p])
            }
            6 => {
                let n = usize::from(b.u8());
                (LinkType::Ethernet, vec![b.take(n).to_vec()])
            }
            7..=10 => (LinkType::Raw, vec![tcp(&mut b, &mut flows)]),
            11..=13 => {
                let kind = b.u8() & 3;
                (LinkType::Raw, vec![other(kind, &mut b, &flows)])
            }
            _ => (LinkType::Raw, fragments(&mut b)),
        };
        for frame in packets {
            frames += 1;
            if link == LinkType::Raw && dissect_ip(&frame).is_ok() {
                flows.last_in = frame.clone();
            }
            // The interpreter's pipeline makes a fresh outcome per packet, the JIT's reuses one
            // (as the live workers do): reuse must not show.
            let [interp, jit] = &mut pipes;
            let fresh = interp.process(iif, now, frame.clone(), link);
            jit.process_into(iif, now, frame.clone(), link, &mut reused);
            assert_eq!(summary(&fresh), summary(&reused), "interpreter and JIT differ on {frame:02x?}");
            if debug() {
                eprintln!("{frame:02x?}\n  => {}", summary(&fresh));
            }
            if let Some(e) = fresh.emitted.last() {
                flows.last_out = e.bytes.clone();
            }
        }
        if h & 0x0c == 0x0c {
            let ticks: Vec<String> = pipes.iter_mut().map(|p| format!("{:?}", p.tick(now))).collect();
            assert_eq!(ticks[0], ticks[1], "timers differ between engines");
        }
    }
    let dumps: Vec<Vec<String>> = pipes.iter().map(|p| p.conntrack().dump(p.now())).collect();
    if debug() {
        eprintln!(
            "conntrack:\n{}\n{:?}",
            dumps[0].join("\n"),
            pipes[0].conntrack().dump_expectations(pipes[0].now())
        );
    }
    assert_eq!(dumps[0], dumps[1], "connection tables differ between engines");
});
