//! The shared vocabulary of the bytecode: families, hooks, meta and ct keys, header bases,
//! comparison operators, conntrack state and status bits.
//!
//! Numbers follow the kernel's uapi (`linux/netfilter/nf_tables.h`, `nf_conntrack_common.h`)
//! so that values (e.g. `ct state` bitmasks, `meta nfproto` values) mean what they mean in
//! Linux; names are the ones `nft --debug=netlink` prints. The compiler's tables, the
//! disassembler, both engines and the runtime all use these types: one definition each.

/// Declares a `#[repr(u8)]` enum with its kernel number and its `--debug=netlink` name.
macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $num:expr => $text:expr,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum $name { $($(#[$vmeta])* $variant = $num,)* }

        impl $name {
            /// Every key, in kernel order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The name `nft --debug=netlink` prints.
            pub fn name(self) -> &'static str {
                match self { $($name::$variant => $text,)* }
            }

            /// Look a key up by its printed name.
            pub fn from_name(name: &str) -> Option<$name> {
                match name { $($text => Some($name::$variant),)* _ => None }
            }

            /// The kernel's number for this key.
            pub fn number(self) -> u8 {
                self as u8
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

named_enum! {
    /// Netfilter protocol families (`NFPROTO_*`), the value of `meta nfproto`.
    Family {
        Inet = 1 => "inet",
        Ip = 2 => "ip",
        Arp = 3 => "arp",
        Netdev = 5 => "netdev",
        Bridge = 7 => "bridge",
        Ip6 = 10 => "ip6",
    }
}

named_enum! {
    /// Netfilter hooks. The inet hooks use the kernel numbers (`NF_INET_*`); ingress/egress
    /// are the netdev hooks (and inet ingress).
    Hook {
        Prerouting = 0 => "prerouting",
        Input = 1 => "input",
        Forward = 2 => "forward",
        Output = 3 => "output",
        Postrouting = 4 => "postrouting",
        Ingress = 5 => "ingress",
        Egress = 6 => "egress",
    }
}

named_enum! {
    /// `NFT_PAYLOAD_*_HEADER`: where a payload offset is counted from.
    PayloadBase {
        Link = 0 => "link",
        Network = 1 => "network",
        Transport = 2 => "transport",
        Inner = 3 => "inner",
        /// Inner-header tunnel base, only inside `inner` expressions.
        Tunnel = 4 => "tunnel",
    }
}

named_enum! {
    /// `NFT_CMP_*`.
    CmpOp {
        Eq = 0 => "eq",
        Neq = 1 => "neq",
        Lt = 2 => "lt",
        Lte = 3 => "lte",
        Gt = 4 => "gt",
        Gte = 5 => "gte",
    }
}

named_enum! {
    /// `NFT_META_*` keys.
    MetaKey {
        Len = 0 => "len",
        Protocol = 1 => "protocol",
        Priority = 2 => "priority",
        Mark = 3 => "mark",
        Iif = 4 => "iif",
        Oif = 5 => "oif",
        IifName = 6 => "iifname",
        OifName = 7 => "oifname",
        IifType = 8 => "iiftype",
        OifType = 9 => "oiftype",
        SkUid = 10 => "skuid",
        SkGid = 11 => "skgid",
        Nftrace = 12 => "nftrace",
        RtClassid = 13 => "rtclassid",
        Secmark = 14 => "secmark",
        Nfproto = 15 => "nfproto",
        L4proto = 16 => "l4proto",
        BriIifName = 17 => "bri_iifname",
        BriOifName = 18 => "bri_oifname",
        PktType = 19 => "pkttype",
        Cpu = 20 => "cpu",
        IifGroup = 21 => "iifgroup",
        OifGroup = 22 => "oifgroup",
        Cgroup = 23 => "cgroup",
        Prandom = 24 => "prandom",
        Secpath = 25 => "secpath",
        IifKind = 26 => "iifkind",
        OifKind = 27 => "oifkind",
        BriIifPvid = 28 => "bri_iifpvid",
        BriIifVproto = 29 => "bri_iifvproto",
        TimeNs = 30 => "time",
        TimeDay = 31 => "day",
        TimeHour = 32 => "hour",
        Sdif = 33 => "sdif",
        SdifName = 34 => "sdifname",
        BriBroute = 35 => "broute",
        BriIifHwaddr = 36 => "ibrhwaddr",
    }
}

named_enum! {
    /// `NFT_CT_*` keys.
    CtKey {
        State = 0 => "state",
        Direction = 1 => "direction",
        Status = 2 => "status",
        Mark = 3 => "mark",
        Secmark = 4 => "secmark",
        Expiration = 5 => "expiration",
        Helper = 6 => "helper",
        L3Protocol = 7 => "l3protocol",
        Src = 8 => "src",
        Dst = 9 => "dst",
        Protocol = 10 => "protocol",
        ProtoSrc = 11 => "proto_src",
        ProtoDst = 12 => "proto_dst",
        Labels = 13 => "label",
        Pkts = 14 => "packets",
        Bytes = 15 => "bytes",
        AvgPkt = 16 => "avgpkt",
        Zone = 17 => "zone",
        EventMask = 18 => "event",
        SrcIp = 19 => "src_ip",
        DstIp = 20 => "dst_ip",
        SrcIp6 = 21 => "src_ip6",
        DstIp6 = 22 => "dst_ip6",
        Id = 23 => "id",
    }
}

named_enum! {
    /// Conntrack direction (`IP_CT_DIR_*`), as `ct load … , dir original|reply` prints it.
    CtDir {
        Original = 0 => "original",
        Reply = 1 => "reply",
    }
}

/// `ct state` bits as the kernel's `NF_CT_STATE_BIT` defines them (the value `ct load state`
/// puts in a register). `ct state new` is `0x08`, `established` `0x02`, `related` `0x04`,
/// `invalid` `0x01`, `untracked` `0x40`.
pub mod ct_state {
    pub const INVALID: u32 = 1 << 0;
    pub const ESTABLISHED: u32 = 1 << 1;
    pub const RELATED: u32 = 1 << 2;
    pub const NEW: u32 = 1 << 3;
    pub const UNTRACKED: u32 = 1 << 6;
}

/// `ct status` bits (`IPS_*`).
pub mod ct_status {
    pub const EXPECTED: u32 = 1 << 0;
    pub const SEEN_REPLY: u32 = 1 << 1;
    pub const ASSURED: u32 = 1 << 2;
    pub const CONFIRMED: u32 = 1 << 3;
    pub const SRC_NAT: u32 = 1 << 4;
    pub const DST_NAT: u32 = 1 << 5;
    pub const SEQ_ADJUST: u32 = 1 << 6;
    pub const SRC_NAT_DONE: u32 = 1 << 7;
    pub const DST_NAT_DONE: u32 = 1 << 8;
    pub const DYING: u32 = 1 << 9;
    pub const FIXED_TIMEOUT: u32 = 1 << 10;
    pub const TEMPLATE: u32 = 1 << 11;
    pub const UNTRACKED: u32 = 1 << 12;
    pub const HELPER: u32 = 1 << 13;
    pub const OFFLOAD: u32 = 1 << 14;
    pub const HW_OFFLOAD: u32 = 1 << 15;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_numbers_match_uapi() {
        for &k in MetaKey::ALL {
            assert_eq!(MetaKey::from_name(k.name()), Some(k));
        }
        for &k in CtKey::ALL {
            assert_eq!(CtKey::from_name(k.name()), Some(k));
        }
        assert_eq!(MetaKey::L4proto.number(), 16);
        assert_eq!(MetaKey::SdifName.number(), 34);
        assert_eq!(CtKey::Id.number(), 23);
        assert_eq!(Family::Ip6.number(), 10);
        assert_eq!(Hook::Postrouting.number(), 4);
    }
}
