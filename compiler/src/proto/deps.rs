//! Implicit protocol dependencies: the matches nft inserts before a payload expression so
//! that it only reads headers that are there.
//!
//! Each family starts with what its hook knows ([`ProtoCtx::new`]): `ip`/`ip6`/`arp` know
//! their network header; `bridge` knows Ethernet; `inet` and `netdev` only know placeholder
//! link layers whose protocol key is a meta key (`meta nfproto`, `meta protocol`). Asking
//! [`ProtoCtx::dependencies`] for a protocol returns the guards to insert and records what
//! they establish, exactly as nft's `payload_gen_dependency` and link-layer conflict
//! resolution do for a rule read left to right:
//!
//! | family | `tcp dport` | `ip saddr` | `icmp type` | `vlan id` | `ether saddr` |
//! |---|---|---|---|---|---|
//! | ip, ip6 | `meta l4proto 6` | — | `meta l4proto 1` | iiftype + `ether type 8021q` | `meta iiftype ether` |
//! | inet | `meta l4proto 6` | `meta nfproto ipv4` | nfproto + l4proto | iiftype + ether type | `meta iiftype ether` |
//! | bridge | `meta l4proto 6` | `meta protocol ip` | `ether type ip` + l4proto | `ether type 8021q` | — |
//! | netdev | `meta l4proto 6` | `meta protocol ip` | `meta protocol ip` + l4proto | iiftype + ether type | `meta iiftype ether` |

use super::{Field, IP_UPPER, LL_UPPER, Proto, ProtoDesc, ProtoKey};
use crate::types::{ByteOrder, Type, Value};
use nftvm_vm::keys::{Family, MetaKey, PayloadBase};

/// Placeholder link layer of inet tables: `meta nfproto` selects ip or ip6.
pub static INET: ProtoDesc = ProtoDesc {
    proto: Proto::Inet,
    name: "inet",
    base: PayloadBase::Link,
    fields: &[],
    protocol_key: Some(ProtoKey::Meta { key: MetaKey::Nfproto, ty: Type::NfProto, bits: 8 }),
    links: &[(2, Proto::Ip), (10, Proto::Ip6)],
    length: 0,
    checksum: None,
    inner: None,
};

/// Placeholder transport layer when the network protocol is unknown: `meta l4proto`.
pub static INET_SERVICE: ProtoDesc = ProtoDesc {
    proto: Proto::InetService,
    name: "inet-service",
    base: PayloadBase::Transport,
    fields: &[],
    protocol_key: Some(ProtoKey::Meta { key: MetaKey::L4proto, ty: Type::InetProto, bits: 8 }),
    links: IP_UPPER,
    length: 0,
    checksum: None,
    inner: None,
};

/// Placeholder link layer of netdev tables: `meta protocol` (skb->protocol) selects.
pub static NETDEV: ProtoDesc = ProtoDesc {
    proto: Proto::Netdev,
    name: "netdev",
    base: PayloadBase::Link,
    fields: &[],
    protocol_key: Some(ProtoKey::Meta { key: MetaKey::Protocol, ty: Type::EtherType, bits: 16 }),
    links: LL_UPPER,
    length: 0,
    checksum: None,
    inner: None,
};

/// What a guard compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuardKey {
    /// `meta <key>`.
    Meta(MetaKey),
    /// A header field of a protocol (`ether type`, `icmp type`).
    Payload { proto: Proto, field: &'static Field },
}

/// One implicit match: `key == value` (one value) or `key { values }` (several).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Guard {
    pub key: GuardKey,
    /// Datatype of the compared values (for printing them).
    pub ty: Type,
    pub values: Vec<Value>,
}

/// Why no dependency can be built (nft's wording).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DepError {
    pub message: String,
}

fn err(message: String) -> DepError {
    DepError { message }
}

fn rank(base: PayloadBase) -> u8 {
    match base {
        PayloadBase::Link => 1,
        PayloadBase::Network => 2,
        PayloadBase::Transport => 3,
        PayloadBase::Inner | PayloadBase::Tunnel => 4,
    }
}

fn base_name(rank: u8) -> &'static str {
    match rank {
        1 => "link layer",
        2 => "network layer",
        3 => "transport layer",
        4 => "inner",
        _ => "none",
    }
}

/// The protocol a family's hooks start from.
pub fn hook_proto(family: Family) -> Proto {
    match family {
        Family::Bridge => Proto::Ether,
        Family::Netdev => Proto::Netdev,
        Family::Inet => Proto::Inet,
        Family::Ip => Proto::Ip,
        Family::Ip6 => Proto::Ip6,
        Family::Arp => Proto::Arp,
    }
}

/// What is known about a packet's headers at one point of a rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtoCtx {
    pub family: Family,
    /// Known protocol per base: link, network, transport.
    known: [Option<Proto>; 3],
    /// Link-layer headers below the current one (ether under vlan), for offsets.
    pub stacked_ll: Vec<Proto>,
}

impl ProtoCtx {
    /// The context at the start of a rule in `family`.
    pub fn new(family: Family) -> ProtoCtx {
        let mut ctx = ProtoCtx { family, known: [None; 3], stacked_ll: Vec::new() };
        let p = hook_proto(family);
        ctx.set(p.base(), p);
        ctx
    }

    /// The protocol known at a base.
    pub fn get(&self, base: PayloadBase) -> Option<Proto> {
        match rank(base) {
            r @ 1..=3 => self.known[usize::from(r - 1)],
            _ => None,
        }
    }

    /// Record a protocol at a base.
    pub fn set(&mut self, base: PayloadBase, proto: Proto) {
        if let r @ 1..=3 = rank(base) {
            self.known[usize::from(r - 1)] = Some(proto);
        }
    }

    /// Learn from a match `lower's protocol key == number` (e.g. `meta l4proto 6` after ip:
    /// transport is tcp; `meta nfproto ipv6`: network is ip6; `meta iiftype ether`).
    pub fn learn(&mut self, lower: Proto, number: u32) {
        if let Some(upper) = lower.desc().upper(number) {
            self.set(upper.base(), upper);
        }
    }

    /// Learn from a `meta` match on a protocol-selecting key.
    pub fn learn_meta(&mut self, key: MetaKey, number: u32) {
        match key {
            MetaKey::Nfproto => self.learn(Proto::Inet, number),
            MetaKey::Protocol => self.learn(Proto::Netdev, number),
            MetaKey::L4proto => {
                let lower = self.get(PayloadBase::Network).unwrap_or(Proto::InetService);
                let lower = if lower.desc().links.is_empty() { Proto::InetService } else { lower };
                self.learn(lower, number)
            }
            MetaKey::IifType if number == u32::from(super::ether::ARPHRD_ETHER) => {
                self.set(PayloadBase::Link, Proto::Ether)
            }
            _ => {}
        }
    }

    /// Offset in bits to add to a link-layer field of the current link protocol (the headers
    /// stacked below it).
    pub fn ll_offset(&self) -> u32 {
        self.stacked_ll.iter().map(|p| p.desc().length).sum()
    }

    /// Offset in bits of a link-layer protocol's header: the headers stacked below it (ether
    /// under a vlan tag is at 0, the tag at 112).
    pub fn ll_offset_of(&self, proto: Proto) -> u32 {
        match self.stacked_ll.iter().position(|&p| p == proto) {
            Some(i) => self.stacked_ll[..i].iter().map(|p| p.desc().length).sum(),
            None => self.ll_offset(),
        }
    }

    /// The guards nft inserts before a payload expression of `proto`, updating the context.
    pub fn dependencies(&mut self, proto: Proto) -> Result<Vec<Guard>, DepError> {
        let base = proto.base();
        if rank(base) > 3 || proto == Proto::Th {
            return Ok(Vec::new());
        }
        match self.get(base) {
            None => {
                let mut guards = self.gen_dependency(proto)?;
                match self.get(base) {
                    Some(cur) if cur != proto && base == PayloadBase::Link => {
                        guards.extend(self.resolve_ll(cur, proto)?);
                    }
                    _ => {}
                }
                Ok(guards)
            }
            Some(cur) if cur == proto => Ok(Vec::new()),
            Some(_) if base == PayloadBase::Link && self.stacked_ll.contains(&proto) => Ok(Vec::new()),
            Some(cur) if base == PayloadBase::Link => self.resolve_ll(cur, proto),
            Some(cur) => Err(err(format!(
                "conflicting {} protocols specified: {} vs. {}",
                base_name(rank(base)),
                cur.name(),
                proto.name()
            ))),
        }
    }

    /// The guards before an `exthdr` expression: IPv6 extension headers need IPv6 (`meta
    /// nfproto ipv6` in inet, `meta protocol ip6` in netdev), IPv4 options IPv4; TCP options
    /// and SCTP chunks get none (the kernel finds them or fails the match).
    pub fn exthdr_dependencies(&mut self, op: super::exthdr::ExthdrOp) -> Result<Vec<Guard>, DepError> {
        match op {
            super::exthdr::ExthdrOp::Ipv6 => self.dependencies(Proto::Ip6),
            super::exthdr::ExthdrOp::Ipv4 => self.dependencies(Proto::Ip),
            _ => Ok(Vec::new()),
        }
    }

    /// The type match an ICMP field needs (`icmp id` → `icmp type { echo-request,
    /// echo-reply }`), unless the context already pins a compatible type.
    pub fn icmp_guard(field: &Field, known_type: Option<u8>) -> Option<Guard> {
        let dep = field.icmp_dep?;
        if known_type.is_some_and(|t| dep.types().contains(&t)) {
            return None;
        }
        let proto = if dep.type_datatype() == Type::IcmpType { Proto::Icmp } else { Proto::Icmpv6 };
        let type_field = proto.desc().field("type")?;
        let values =
            dep.types().iter().filter_map(|&t| Value::from_uint(8, ByteOrder::Network, t.into()).ok());
        Some(Guard {
            key: GuardKey::Payload { proto, field: type_field },
            ty: dep.type_datatype(),
            values: values.collect(),
        })
    }

    fn resolve_ll(&mut self, cur: Proto, proto: Proto) -> Result<Vec<Guard>, DepError> {
        let mut guards = Vec::new();
        let mut cur = cur;
        if cur.desc().is_dummy() {
            guards.push(self.iiftype_guard());
            cur = Proto::Ether;
            if cur == proto {
                return Ok(guards);
            }
        }
        guards.push(self.add_dependency(cur, proto)?);
        self.stacked_ll.push(cur);
        Ok(guards)
    }

    fn iiftype_guard(&mut self) -> Guard {
        self.set(PayloadBase::Link, Proto::Ether);
        let value = Value::from_uint(16, ByteOrder::Host, u128::from(super::ether::ARPHRD_ETHER))
            .unwrap_or_else(|_| Value::raw_string(""));
        Guard { key: GuardKey::Meta(MetaKey::IifType), ty: Type::IfType, values: vec![value] }
    }

    fn ll_placeholder(&self) -> Option<Proto> {
        match self.family {
            Family::Inet => Some(Proto::Inet),
            Family::Bridge => Some(Proto::Ether),
            Family::Netdev => Some(Proto::Netdev),
            _ => None,
        }
    }

    fn gen_dependency(&mut self, proto: Proto) -> Result<Vec<Guard>, DepError> {
        let base = proto.base();
        let hook_rank = rank(hook_proto(self.family).base());
        if rank(base) < hook_rank {
            if rank(base) + 1 < hook_rank {
                return Err(err("payload base is invalid for this family".into()));
            }
            if proto != Proto::Ether && Proto::Ether.desc().link_number(proto).is_none() {
                return Err(err("protocol specification is invalid for this family".into()));
            }
            return Ok(vec![self.iiftype_guard()]);
        }
        let mut guards = Vec::new();
        let lower = match rank(base) {
            2 => self.get(PayloadBase::Link),
            3 => self.get(PayloadBase::Network),
            _ => None,
        };
        let lower = match lower {
            Some(l) => Some(l),
            None => match base {
                PayloadBase::Link => self.ll_placeholder(),
                PayloadBase::Transport if matches!(proto, Proto::Icmp | Proto::Icmpv6 | Proto::Igmp) => {
                    match self.get(PayloadBase::Link).or_else(|| self.ll_placeholder()) {
                        Some(ll) => {
                            let upper = if proto == Proto::Icmpv6 { Proto::Ip6 } else { Proto::Ip };
                            guards.push(self.add_dependency(ll, upper)?);
                            Some(upper)
                        }
                        None => None,
                    }
                }
                PayloadBase::Transport => Some(Proto::InetService),
                _ => None,
            },
        };
        let Some(mut lower) = lower else {
            return Err(err(format!(
                "ambiguous payload specification: no {} protocol specified",
                base_name(rank(base) - 1)
            )));
        };
        if self.family == Family::Bridge && lower == Proto::Ether && matches!(proto, Proto::Ip | Proto::Ip6) {
            lower = Proto::Netdev;
        }
        guards.push(self.add_dependency(lower, proto)?);
        Ok(guards)
    }

    fn add_dependency(&mut self, lower: Proto, upper: Proto) -> Result<Guard, DepError> {
        let desc = lower.desc();
        let number = desc.link_number(upper).ok_or_else(|| {
            err(format!("conflicting protocols specified: {} vs. {}", desc.name, upper.name()))
        })?;
        let guard = match desc.protocol_key {
            Some(ProtoKey::Meta { key, ty, bits }) => {
                let order = if key == MetaKey::Protocol { ByteOrder::Network } else { ByteOrder::Host };
                let value =
                    Value::from_uint(bits, order, u128::from(number)).map_err(|e| err(e.to_string()))?;
                Guard { key: GuardKey::Meta(key), ty, values: vec![value] }
            }
            Some(ProtoKey::Field(name)) => {
                let field = desc.field(name).ok_or_else(|| err(format!("{}: no field {name}", desc.name)))?;
                let value = Value::from_uint(field.len, field.order, u128::from(number))
                    .map_err(|e| err(e.to_string()))?;
                Guard { key: GuardKey::Payload { proto: lower, field }, ty: field.ty, values: vec![value] }
            }
            None => return Err(err(format!("{} has no protocol key", desc.name))),
        };
        self.set(upper.base(), upper);
        Ok(guard)
    }
}

/// The guards for a single payload match of `proto` at the start of a rule in `family`.
pub fn implicit_dependencies(family: Family, proto: Proto) -> Result<Vec<Guard>, DepError> {
    ProtoCtx::new(family).dependencies(proto)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn describe(g: &Guard) -> String {
        let key = match g.key {
            GuardKey::Meta(k) => format!("meta {}", k.name()),
            GuardKey::Payload { proto, field } => format!("{} {}", proto.name(), field.name),
        };
        let vals: Vec<String> = g.values.iter().map(|v| format!("{:x}", v.to_u128().unwrap_or(0))).collect();
        format!("{key}={}", vals.join(","))
    }

    fn deps(family: Family, proto: Proto) -> Vec<String> {
        implicit_dependencies(family, proto).unwrap().iter().map(describe).collect()
    }

    #[test]
    fn guards_per_family_match_nfts_payload_files() {
        assert_eq!(deps(Family::Ip, Proto::Tcp), ["meta l4proto=6"]);
        assert_eq!(deps(Family::Ip, Proto::Ip), Vec::<String>::new());
        assert_eq!(deps(Family::Inet, Proto::Tcp), ["meta l4proto=6"]);
        assert_eq!(deps(Family::Inet, Proto::Ip), ["meta nfproto=2"]);
        assert_eq!(deps(Family::Inet, Proto::Ip6), ["meta nfproto=a"]);
        assert_eq!(deps(Family::Inet, Proto::Icmp), ["meta nfproto=2", "meta l4proto=1"]);
        assert_eq!(deps(Family::Bridge, Proto::Ip), ["meta protocol=800"]);
        assert_eq!(deps(Family::Bridge, Proto::Icmp), ["ether type=800", "meta l4proto=1"]);
        assert_eq!(deps(Family::Bridge, Proto::Vlan), ["ether type=8100"]);
        assert_eq!(deps(Family::Bridge, Proto::Ether), Vec::<String>::new());
        assert_eq!(deps(Family::Netdev, Proto::Ip), ["meta protocol=800"]);
        assert_eq!(deps(Family::Netdev, Proto::Vlan), ["meta iiftype=1", "ether type=8100"]);
        assert_eq!(deps(Family::Inet, Proto::Ether), ["meta iiftype=1"]);
        assert_eq!(deps(Family::Ip, Proto::Ether), ["meta iiftype=1"]);
        assert_eq!(deps(Family::Ip6, Proto::Icmpv6), ["meta l4proto=3a"]);
        assert_eq!(deps(Family::Inet, Proto::Th), Vec::<String>::new());
    }

    #[test]
    fn conflicts_are_reported() {
        let e = implicit_dependencies(Family::Ip, Proto::Ip6).unwrap_err();
        assert_eq!(e.message, "conflicting network layer protocols specified: ip vs. ip6");
        let e = implicit_dependencies(Family::Inet, Proto::Arp).unwrap_err();
        assert_eq!(e.message, "conflicting protocols specified: inet vs. arp");
        let mut ctx = ProtoCtx::new(Family::Inet);
        ctx.dependencies(Proto::Tcp).unwrap();
        assert!(ctx.dependencies(Proto::Udp).is_err());
        assert!(ctx.dependencies(Proto::Tcp).unwrap().is_empty());
    }

    #[test]
    fn stacked_link_layers() {
        let mut ctx = ProtoCtx::new(Family::Bridge);
        ctx.dependencies(Proto::Vlan).unwrap();
        assert_eq!(ctx.ll_offset_of(Proto::Vlan), 112);
        assert!(ctx.dependencies(Proto::Ether).unwrap().is_empty());
        assert_eq!(ctx.ll_offset_of(Proto::Ether), 0);
    }

    #[test]
    fn context_learns_from_protocol_matches() {
        let mut ctx = ProtoCtx::new(Family::Inet);
        ctx.learn_meta(MetaKey::Nfproto, 10);
        assert_eq!(ctx.get(PayloadBase::Network), Some(Proto::Ip6));
        ctx.learn_meta(MetaKey::L4proto, 58);
        assert!(ctx.dependencies(Proto::Icmpv6).unwrap().is_empty());
    }

    #[test]
    fn icmp_fields_need_message_types() {
        let id = super::super::icmp::DESC.field("id").unwrap();
        let g = ProtoCtx::icmp_guard(id, None).unwrap();
        assert_eq!(describe(&g), "icmp type=8,0");
        assert!(ProtoCtx::icmp_guard(id, Some(8)).is_none());
        let code = super::super::icmp::DESC.field("code").unwrap();
        assert!(ProtoCtx::icmp_guard(code, None).is_none());
    }
}
