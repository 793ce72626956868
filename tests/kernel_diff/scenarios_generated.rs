//! Generated rulesets: a seeded grammar of common firewall rules — `ct state`, addresses
//! and ports (single, anonymous sets, ranges, named sets, intervals), interface names and
//! indexes, marks and ct marks, counters, jumps/gotos/returns into user chains, verdict
//! maps, rejects, and NAT (dnat/snat maps, masquerade) — with traffic aimed at what the
//! rules name: TCP conversations, UDP exchanges and pings in both directions and to the
//! router itself. `limit` and other time-dependent statements are left out (the two sides
//! run on different clocks). Everything comes from the scenario's [`Rng`], so a seed
//! reproduces the suite exactly.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use crate::harness::Scenario;
use crate::pkt::*;

/// Ports the rules and the traffic share, so that rules match some packets and not others.
const PORTS: [u16; 9] = [22, 53, 80, 123, 443, 2222, 5000, 8080, 8443];

/// Port ranges the rules use (each contains some of [`PORTS`]).
const RANGES: [&str; 4] = ["20-25", "50-130", "1000-5999", "8000-8999"];

/// Non-overlapping client and server subnets (IPv4 and IPv6).
const NETS4: [&str; 4] = ["10.0.1.0/26", "10.0.1.128/28", "10.0.2.0/25", "10.0.2.200/29"];
const NETS6: [&str; 3] = ["fd00:1::/120", "fd00:2::/121", "fd00:1::100/124"];

/// What a generated table may use.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fam {
    Inet,
    Ip,
    Ip6,
}

impl Fam {
    fn name(self) -> &'static str {
        match self {
            Fam::Inet => "inet",
            Fam::Ip => "ip",
            Fam::Ip6 => "ip6",
        }
    }
    fn v4(self) -> bool {
        self != Fam::Ip6
    }
    fn v6(self) -> bool {
        self != Fam::Ip
    }
}

/// Where a rule sits: what it may use there.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// prerouting, mangle priority: marks only, no verdict but accept.
    Mangle,
    /// forward/input: everything.
    Filter,
    /// User chain number `k`, reached from filter chains: it may jump only to chains
    /// declared before it (higher numbers), so there are no loops; `return` allowed.
    User(usize),
}

struct Gen<'r> {
    rng: &'r mut Rng,
    fam: Fam,
    /// Named sets and maps declared in the table.
    ports_set: bool,
    nets4_set: bool,
    nets6_set: bool,
    vmap: bool,
    /// User chains, in the order of their numbers (declared in reverse: a chain's jump
    /// targets come before it in the file).
    chains: Vec<&'static str>,
    /// The network protocol the rule being generated has committed to (`true`: IPv4), so
    /// that it never mixes `ip` and `ip6` matches (nft rejects that).
    rule_v4: Option<bool>,
}

impl Gen<'_> {
    fn port(&mut self) -> u16 {
        *self.rng.pick(&PORTS)
    }

    fn ports(&mut self, n: usize) -> Vec<u16> {
        let mut v: Vec<u16> = Vec::new();
        while v.len() < n {
            let p = self.port();
            if !v.contains(&p) {
                v.push(p);
            }
        }
        v
    }

    fn port_list(&mut self, n: usize) -> String {
        self.ports(n).iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
    }

    fn mark(&mut self) -> String {
        format!("0x{:x}", *self.rng.pick(&[0x1u32, 0x2, 0x10, 0x11, 0x20]))
    }

    fn ct_states(&mut self) -> String {
        let all = ["new", "established", "related", "invalid"];
        match self.rng.below(5) {
            0 => "ct state established,related".to_string(),
            1 => "ct state new".to_string(),
            2 => "ct state invalid".to_string(),
            3 => {
                let a = *self.rng.pick(&all);
                let mut b = *self.rng.pick(&all);
                if a == b {
                    b = if a == "new" { "established" } else { "new" };
                }
                format!("ct state {{ {a}, {b} }}")
            }
            _ => format!("ct state != {}", self.rng.pick(&all)),
        }
    }

    /// A transport match (with its protocol implied, as nft adds the dependency).
    fn transport(&mut self) -> String {
        let proto = *self.rng.pick(&["tcp", "udp"]);
        match self.rng.below(7) {
            0 => format!("{proto} dport {}", self.port()),
            1 => {
                let n = 2 + self.rng.below(2);
                format!("{proto} dport {{ {} }}", self.port_list(n))
            }
            2 => format!("{proto} dport {}", self.rng.pick(&RANGES)),
            3 if self.ports_set => format!("{proto} dport @ports"),
            4 => format!("{proto} dport != {}", self.port()),
            5 => format!("th dport {}", self.port()),
            _ => format!("{proto} sport {}", self.rng.pick(&RANGES)),
        }
    }

    fn address(&mut self) -> Option<String> {
        let dir = *self.rng.pick(&["saddr", "daddr"]);
        let v4 = match (self.fam, self.rule_v4) {
            (Fam::Ip, _) => true,
            (Fam::Ip6, _) => false,
            (Fam::Inet, Some(v4)) => v4,
            (Fam::Inet, None) => self.rng.bool(),
        };
        self.rule_v4 = Some(v4);
        Some(if v4 {
            match self.rng.below(4) {
                0 => format!("ip {dir} {}", self.rng.pick(&NETS4)),
                1 if self.nets4_set => format!("ip {dir} @nets4"),
                2 => format!("ip {dir} != {}", self.rng.pick(&NETS4)),
                _ => format!("ip {dir} {{ {}, {} }}", self.rng.pick(&NETS4[..2]), self.rng.pick(&NETS4[2..])),
            }
        } else {
            match self.rng.below(3) {
                0 => format!("ip6 {dir} {}", self.rng.pick(&NETS6)),
                1 if self.nets6_set => format!("ip6 {dir} @nets6"),
                _ => format!("ip6 {dir} != {}", self.rng.pick(&NETS6)),
            }
        })
    }

    fn interface(&mut self, place: Place) -> String {
        let name = *self.rng.pick(&["tuna", "tunb"]);
        let out = place != Place::Mangle && self.rng.bool();
        let dir = if out { "o" } else { "i" };
        match self.rng.below(3) {
            0 => format!("{dir}if \"{name}\""),
            1 => format!("{dir}ifname \"{name}\""),
            _ => format!("{dir}ifname != \"{name}\""),
        }
    }

    fn meta(&mut self) -> String {
        match self.rng.below(7) {
            0 => format!("meta mark {}", self.mark()),
            1 => format!("meta mark & 0xf0 == {}", *self.rng.pick(&["0x0", "0x10", "0x20"])),
            2 => format!("ct mark {}", self.mark()),
            3 => format!("ct direction {}", self.rng.pick(&["original", "reply"])),
            4 => format!("meta length {} {}", self.rng.pick(&["<", ">"]), 60 + self.rng.below(120)),
            5 => "meta l4proto { tcp, udp }".to_string(),
            _ => format!("ct status {}", self.rng.pick(&["seen-reply", "dnat", "snat", "assured"])),
        }
    }

    fn icmp(&mut self) -> Option<String> {
        match self.fam {
            Fam::Ip => Some("icmp type echo-request".into()),
            Fam::Ip6 => Some("icmpv6 type { echo-request, echo-reply }".into()),
            Fam::Inet => Some(match self.rule_v4 {
                Some(false) => "icmpv6 type echo-request".into(),
                Some(true) => "icmp type echo-request".into(),
                None if self.rng.bool() => "meta l4proto { icmp, ipv6-icmp }".into(),
                None => {
                    self.rule_v4 = Some(true);
                    "icmp type echo-request".into()
                }
            }),
        }
    }

    /// A protocol match at the network layer (`ip protocol`, `ip6 nexthdr`).
    fn network_proto(&mut self) -> Option<String> {
        let v4 = match (self.fam, self.rule_v4) {
            (Fam::Ip, _) => true,
            (Fam::Ip6, _) => false,
            (Fam::Inet, Some(v4)) => v4,
            (Fam::Inet, None) => self.rng.bool(),
        };
        self.rule_v4 = Some(v4);
        let what = *self.rng.pick(&["{ tcp, udp }", "udp", "tcp", "!= tcp"]);
        Some(if v4 { format!("ip protocol {what}") } else { format!("ip6 nexthdr {what}") })
    }

    /// Other header fields: DSCP, TTL / hop limit, UDP length, interval port sets.
    fn header_field(&mut self) -> Option<String> {
        let v4 = match (self.fam, self.rule_v4) {
            (Fam::Ip, _) => true,
            (Fam::Ip6, _) => false,
            (Fam::Inet, Some(v4)) => v4,
            (Fam::Inet, None) => self.rng.bool(),
        };
        match self.rng.below(4) {
            0 => {
                self.rule_v4 = Some(v4);
                let (ip, dscp) =
                    (if v4 { "ip" } else { "ip6" }, *self.rng.pick(&["cs0", "cs1", "af11", "ef"]));
                Some(format!("{ip} dscp {}{dscp}", if self.rng.bool() { "" } else { "!= " }))
            }
            1 => {
                self.rule_v4 = Some(v4);
                let n = *self.rng.pick(&[1u8, 2, 63, 64, 65]);
                let op = *self.rng.pick(&["", "< ", "> ", "!= "]);
                Some(if v4 { format!("ip ttl {op}{n}") } else { format!("ip6 hoplimit {op}{n}") })
            }
            2 => Some(format!("ct mark & 0x{:x} != 0", *self.rng.pick(&[0x1u32, 0x10, 0xf0]))),
            _ => Some(format!("meta mark != {}", self.mark())),
        }
    }

    fn tcp_flags(&mut self) -> String {
        match self.rng.below(3) {
            0 => "tcp flags syn".into(),
            1 => "tcp flags & (syn | ack) == syn".into(),
            _ => "tcp flags & (fin | rst) != 0".into(),
        }
    }

    /// Zero to three matches.
    fn matches(&mut self, place: Place) -> Vec<String> {
        let n = self.rng.below(4);
        let mut out = Vec::new();
        let mut has_l4 = false;
        self.rule_v4 = None;
        for _ in 0..n {
            let m = match self.rng.below(12) {
                0 | 1 => Some(self.ct_states()),
                2 | 3 if !has_l4 => {
                    has_l4 = true;
                    Some(self.transport())
                }
                4 => self.address(),
                5 => Some(self.interface(place)),
                6 => {
                    let m = self.meta();
                    if m.contains("l4proto") {
                        if has_l4 {
                            continue;
                        }
                        has_l4 = true;
                    }
                    Some(m)
                }
                7 if !has_l4 => {
                    has_l4 = true;
                    self.icmp()
                }
                8 if !has_l4 => {
                    has_l4 = true;
                    Some(self.tcp_flags())
                }
                9 if !has_l4 => {
                    has_l4 = true;
                    self.network_proto()
                }
                10 => self.header_field(),
                11 if !has_l4 && self.rule_v4 != Some(false) && self.fam.v4() => {
                    has_l4 = true;
                    self.rule_v4 = Some(true);
                    let proto = *self.rng.pick(&["tcp", "udp"]);
                    let (a, b) = (self.rng.pick(&NETS4).to_string(), self.rng.pick(&NETS4).to_string());
                    let (p, q) = (self.port(), self.port());
                    Some(format!("ip daddr . {proto} dport {{ {a} . {p}, {b} . {q} }}"))
                }
                _ => None,
            };
            // nft 1.0.6 (the oracle's loader) merges adjacent `!=` payload matches into one
            // `cmp neq` on both fields, which is not what the rule says (fixed in later nft,
            // whose tests nftvm follows): at most one negated payload match per rule.
            let negated_payload = |x: &String| {
                x.contains(" != ") && ["ip ", "ip6 ", "tcp ", "udp ", "th "].iter().any(|p| x.starts_with(p))
            };
            if let Some(x) = &m
                && negated_payload(x)
                && out.iter().any(negated_payload)
            {
                continue;
            }
            out.extend(m);
        }
        out
    }

    fn statements(&mut self, place: Place) -> Vec<String> {
        let mut out = Vec::new();
        if self.rng.below(3) == 0 {
            out.push("counter".to_string());
        }
        let marks = if place == Place::Mangle { 2 } else { 5 };
        if self.rng.below(marks) == 0 {
            out.push(match self.rng.below(7) {
                0 => format!("meta mark set {}", self.mark()),
                1 => "ct mark set meta mark".into(),
                2 => format!("ct mark set {}", self.mark()),
                3 => "meta mark set ct mark".into(),
                4 => format!("meta mark set meta mark | 0x{:x}", *self.rng.pick(&[0x4u32, 0x100])),
                5 => "ct mark set ct mark & 0xffff00ff".into(),
                _ => format!("meta mark set meta mark ^ {}", self.mark()),
            });
        }
        if place == Place::Mangle && self.rng.below(3) == 0 {
            // Payload writes (checksums follow).
            let v4 = match (self.fam, self.rule_v4) {
                (Fam::Ip, _) | (Fam::Inet, Some(true)) => true,
                (Fam::Ip6, _) | (Fam::Inet, Some(false)) => false,
                (Fam::Inet, None) => {
                    let v4 = self.rng.bool();
                    self.rule_v4 = Some(v4);
                    v4
                }
            };
            let dscp = *self.rng.pick(&["cs1", "af21", "ef"]);
            out.push(if v4 { format!("ip dscp set {dscp}") } else { format!("ip6 dscp set {dscp}") });
        }
        if place != Place::Mangle && self.rng.below(12) == 0 {
            out.push(format!("quota over {} bytes", 100 + self.rng.below(400)));
        }
        out
    }

    /// A chain `place` may jump to.
    fn jump_target(&mut self, place: Place) -> Option<&'static str> {
        let first = match place {
            Place::Mangle => return None,
            Place::Filter => 0,
            Place::User(k) => k + 1,
        };
        let targets = self.chains.get(first..).filter(|t| !t.is_empty())?;
        Some(*self.rng.pick(targets))
    }

    fn verdict(&mut self, place: Place) -> Option<String> {
        if place == Place::Mangle {
            return None;
        }
        let user = matches!(place, Place::User(_));
        Some(match self.rng.below(14) {
            0..=2 => "accept".into(),
            3 | 4 => "drop".into(),
            5 | 6 => match self.jump_target(place) {
                Some(t) => format!("jump {t}"),
                None => return None,
            },
            7 => match self.jump_target(place) {
                Some(t) => format!("goto {t}"),
                None => return None,
            },
            8 if !user => "reject".into(),
            9 if user => "return".into(),
            10 => "continue".into(),
            _ => return None,
        })
    }

    /// A rule: either matches + statements + verdict, or a verdict map.
    fn rule(&mut self, place: Place) -> String {
        if place != Place::Mangle && self.rng.below(7) == 0 {
            return self.vmap_rule(place);
        }
        let mut parts = self.matches(place);
        let verdict = self.verdict(place);
        if verdict.as_deref() == Some("reject") {
            // A reset needs TCP; otherwise an ICMP error of the family (icmpx: any).
            if self.rng.bool() {
                parts.retain(|p| {
                    !["udp", "icmp", "th ", "l4proto", "protocol", "nexthdr"].iter().any(|w| p.contains(w))
                });
                if !parts.iter().any(|p| p.starts_with("tcp")) {
                    parts.push(format!("tcp dport {}", self.port()));
                }
                parts.extend(self.statements(place));
                parts.push("reject with tcp reset".into());
                return parts.join(" ");
            }
            parts.extend(self.statements(place));
            parts.push(
                match self.fam {
                    Fam::Inet => "reject with icmpx admin-prohibited",
                    Fam::Ip => "reject with icmp host-prohibited",
                    Fam::Ip6 => "reject with icmpv6 admin-prohibited",
                }
                .into(),
            );
            return parts.join(" ");
        }
        parts.extend(self.statements(place));
        parts.extend(verdict);
        if parts.is_empty() {
            parts.push("counter".into());
        }
        parts.join(" ")
    }

    fn vmap_rule(&mut self, place: Place) -> String {
        let target = |g: &mut Gen| -> String {
            match g.rng.below(4) {
                0 => "accept".into(),
                1 => "drop".into(),
                _ => g.jump_target(place).map_or_else(|| "accept".into(), |t| format!("jump {t}")),
            }
        };
        match self.rng.below(4) {
            0 if self.vmap => format!("{} dport vmap @portv", self.rng.pick(&["tcp", "udp"])),
            1 => {
                let a = target(self);
                let b = target(self);
                format!("meta l4proto vmap {{ tcp : {a}, udp : {b} }}")
            }
            2 => {
                let new = target(self);
                let invalid = *self.rng.pick(&["drop", "accept"]);
                format!(
                    "ct state vmap {{ established : accept, related : accept, invalid : {invalid}, new : {new} }}"
                )
            }
            _ => {
                let ports = self.ports(2);
                let a = target(self);
                let b = target(self);
                let proto = *self.rng.pick(&["tcp", "udp"]);
                format!("{proto} dport vmap {{ {} : {a}, {} : {b} }}", ports[0], ports[1])
            }
        }
    }

    fn chain(&mut self, out: &mut String, name: &str, head: Option<&str>, place: Place, rules: usize) {
        let _ = writeln!(out, "    chain {name} {{");
        if let Some(h) = head {
            let _ = writeln!(out, "        {h}");
        }
        for _ in 0..rules {
            let r = self.rule(place);
            let _ = writeln!(out, "        {r}");
        }
        let _ = writeln!(out, "    }}");
    }

    /// The filter table.
    fn table(&mut self) -> String {
        let mut t = format!("table {} fw {{\n", self.fam.name());
        if self.rng.bool() {
            self.ports_set = true;
            let _ = writeln!(
                t,
                "    set ports {{\n        type inet_service\n        elements = {{ {} }}\n    }}",
                {
                    let n = 2 + self.rng.below(3);
                    self.port_list(n)
                }
            );
        }
        if self.fam.v4() && self.rng.bool() {
            self.nets4_set = true;
            let _ = writeln!(
                t,
                "    set nets4 {{\n        type ipv4_addr\n        flags interval\n        elements = {{ {}, {} }}\n    }}",
                self.rng.pick(&NETS4[..2]),
                self.rng.pick(&NETS4[2..])
            );
        }
        if self.fam.v6() && self.rng.bool() {
            self.nets6_set = true;
            let _ = writeln!(
                t,
                "    set nets6 {{\n        type ipv6_addr\n        flags interval\n        elements = {{ {} }}\n    }}",
                self.rng.pick(&NETS6)
            );
        }
        let users = self.rng.below(4);
        self.chains = ["web", "udpc", "tail"].into_iter().take(users).collect();
        for k in (0..users).rev() {
            let n = 1 + self.rng.below(3);
            self.chain(&mut t, self.chains[k], None, Place::User(k), n);
        }
        if self.rng.bool() {
            self.vmap = true;
            let ports = self.ports(3);
            let targets: Vec<String> = ports
                .iter()
                .map(|p| {
                    let v = match self.rng.below(3) {
                        0 => "accept".to_string(),
                        1 => "drop".to_string(),
                        _ => self
                            .jump_target(Place::Filter)
                            .map_or_else(|| "accept".into(), |t| format!("jump {t}")),
                    };
                    format!("{p} : {v}")
                })
                .collect();
            let _ = writeln!(
                t,
                "    map portv {{\n        type inet_service : verdict\n        elements = {{ {} }}\n    }}",
                targets.join(", ")
            );
        }
        if self.rng.below(6) == 0 {
            let port = self.port();
            let _ = writeln!(
                t,
                "    chain raw {{\n        type filter hook prerouting priority raw; policy accept;\n        udp dport {port} notrack\n        udp sport {port} notrack\n    }}"
            );
        }
        if self.rng.bool() {
            let n = 1 + self.rng.below(3);
            self.chain(
                &mut t,
                "mangle",
                Some("type filter hook prerouting priority mangle; policy accept;"),
                Place::Mangle,
                n,
            );
        }
        let policy = *self.rng.pick(&["accept", "drop"]);
        let n = 3 + self.rng.below(6);
        let head = format!("type filter hook forward priority filter; policy {policy};");
        self.chain(&mut t, "forward", Some(&head), Place::Filter, n);
        if self.rng.below(3) == 0 {
            let n = 1 + self.rng.below(4);
            self.chain(
                &mut t,
                "input",
                Some("type filter hook input priority filter; policy accept;"),
                Place::Filter,
                n,
            );
        }
        t.push_str("}\n");
        t
    }

    /// An `ip nat` table (IPv4 only) with dnat to servers behind tunb and source NAT.
    fn nat(&mut self, servers: &[IpAddr]) -> String {
        let mut t = String::from("table ip nat {\n");
        let s0 = servers[0];
        let s1 = servers[1 % servers.len()];
        let pre = match self.rng.below(5) {
            0 => format!("tcp dport 8080 dnat to {s0}:80"),
            1 => format!("dnat to tcp dport map {{ 8080 : {s0}, 8443 : {s1} }}"),
            2 => {
                let _ = writeln!(
                    t,
                    "    map dports {{\n        type inet_service : ipv4_addr\n        elements = {{ 8080 : {s0}, 5000 : {s1} }}\n    }}"
                );
                "dnat to tcp dport map @dports".to_string()
            }
            3 => "tcp dport 2222 redirect to :22".to_string(),
            _ => format!("udp dport {{ 5000, 53 }} dnat to {s1}"),
        };
        let _ = writeln!(
            t,
            "    chain pre {{\n        type nat hook prerouting priority dstnat; policy accept;\n        {pre}\n    }}"
        );
        let post = match self.rng.below(3) {
            0 => "oifname \"tunb\" masquerade".to_string(),
            1 => "snat to ip saddr map { 10.0.1.0/25 : 10.0.2.1, 10.0.1.128/25 : 10.0.2.3 }".to_string(),
            _ => "ip saddr 10.0.1.0/24 oifname \"tunb\" snat to 10.0.2.1".to_string(),
        };
        let _ = writeln!(
            t,
            "    chain post {{\n        type nat hook postrouting priority srcnat; policy accept;\n        {post}\n    }}"
        );
        t.push_str("}\n");
        t
    }
}

fn host_on(rng: &mut Rng, v6: bool, b: bool) -> IpAddr {
    // Addresses inside and outside the rules' subnets (2..=254 avoids the router's .1).
    let n = 2 + rng.below(253) as u16;
    match (v6, b) {
        (false, false) => ip(&format!("10.0.1.{n}")),
        (false, true) => ip(&format!("10.0.2.{n}")),
        (true, false) => ip(&format!("fd00:1::{n:x}")),
        (true, true) => ip(&format!("fd00:2::{n:x}")),
    }
}

/// The conversations of generated rulesets, which may drop any packet.
const TALK: Talk = Talk { data: 60, answer: 60, may_drop: true, may_reset: true };

/// One flow of random kind between a client and a server (either direction), or to the
/// router itself.
fn flow(sc: &mut Scenario, rng: &mut Rng, fam: Fam, nat_servers: &[IpAddr]) {
    let v6 = match fam {
        Fam::Ip => false,
        Fam::Ip6 => true,
        Fam::Inet => rng.bool(),
    };
    // Mostly tuna → tunb; sometimes the other way, sometimes to the router.
    let (cif, sif, reverse) =
        if rng.below(4) == 0 { ("tunb", "tuna", true) } else { ("tuna", "tunb", false) };
    let c = host_on(rng, v6, reverse);
    let to_router = rng.below(6) == 0;
    let s = if to_router {
        ip(match (v6, reverse) {
            (false, false) => "10.0.1.1",
            (false, true) => "10.0.2.1",
            (true, false) => "fd00:1::1",
            (true, true) => "fd00:2::1",
        })
    } else if !v6 && !reverse && !nat_servers.is_empty() && rng.below(3) == 0 {
        // An address the dnat rules send on (their ports, too).
        ip("10.0.2.250")
    } else {
        host_on(rng, v6, !reverse)
    };
    let port = *rng.pick(&PORTS);
    let sport = if rng.below(4) == 0 { 1000 + rng.below(5000) as u16 } else { rng.port() };
    match rng.below(5) {
        0 | 1 => tcp_conversation(
            sc,
            rng,
            (SocketAddr::new(c, sport), SocketAddr::new(s, port)),
            (cif, sif),
            &TALK,
        ),
        2 | 3 => {
            let n = 1 + rng.below(80);
            let q = sc.send(cif, udp(SocketAddr::new(c, sport), SocketAddr::new(s, port), &rng.bytes(n)));
            let m = rng.below(120);
            let answer = rng.bytes(m);
            sc.reply_if_sent(sif, q, move |seen| udp_reply(seen, &answer));
        }
        _ => {
            let id = rng.next_u64() as u16;
            let e = sc.send(cif, echo(c, s, id, 1));
            sc.reply_if_sent(sif, e, echo_reply);
            sc.send(cif, echo(c, s, id, 2));
        }
    }
}

/// A generated ruleset and traffic for it.
pub fn generated(rng: &mut Rng, i: usize) -> Scenario {
    let fam = match rng.below(4) {
        0 => Fam::Ip,
        1 => Fam::Ip6,
        _ => Fam::Inet,
    };
    let mut g = Gen {
        rng,
        fam,
        ports_set: false,
        nets4_set: false,
        nets6_set: false,
        vmap: false,
        chains: Vec::new(),
        rule_v4: None,
    };
    let mut ruleset = g.table();
    let mut nat_servers = Vec::new();
    if fam.v4() && g.rng.below(3) == 0 {
        nat_servers = vec![host_on(g.rng, false, true), host_on(g.rng, false, true)];
        ruleset.push_str(&g.nat(&nat_servers));
    }
    if fam.v6() && g.rng.below(4) == 0 {
        ruleset.push_str("table ip6 nat6 {\n    chain post {\n        type nat hook postrouting priority srcnat; policy accept;\n        oifname \"tunb\" masquerade\n    }\n}\n");
        nat_servers.push(ip("fd00:2::1"));
    }
    let mut sc = Scenario::new(format!("generated-{i}"), ruleset);
    // NAT picks ports at random in Linux when the original is taken; flows here never
    // collide, but the map of a snat may reuse ports across clients.
    sc.port_choice_free = !nat_servers.is_empty();
    for _ in 0..2 + rng.below(4) {
        flow(&mut sc, rng, fam, &nat_servers);
    }
    sc
}
