//! ICMP and ICMPv6 tracking (`nf_conntrack_proto_icmp.c`, `..._icmpv6.c`): queries
//! (echo, timestamp, …) are tracked by identifier with a 30 s timeout; errors quoting a
//! tracked packet are RELATED to its connection; ICMPv6 neighbour discovery and MLD are
//! left untracked.

use super::tuple::proto;

/// What kind of ICMP message a packet is, for tracking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IcmpClass {
    /// A query or reply: tracked like a flow by identifier.
    Query,
    /// An error message: look up the quoted packet's connection.
    Error,
    /// Never tracked (ICMPv6 ND / MLD / multicast router discovery).
    Untracked,
    /// Rejected outright (an ICMP type above 18).
    Invalid,
}

/// Highest ICMP type conntrack knows (`NR_ICMP_TYPES`).
const NR_ICMP_TYPES: u8 = 18;

/// Classifies an ICMP (`l4proto == 1`) or ICMPv6 (`58`) message.
pub fn classify(l4proto: u8, icmp_type: u8) -> IcmpClass {
    if l4proto == proto::ICMP {
        if icmp_type > NR_ICMP_TYPES {
            IcmpClass::Invalid
        } else if matches!(icmp_type, 3 | 4 | 5 | 11 | 12) {
            IcmpClass::Error
        } else {
            IcmpClass::Query
        }
    } else if matches!(icmp_type, 130..=136 | 143 | 151 | 152) {
        IcmpClass::Untracked
    } else if icmp_type >= 128 {
        // Redirect (137) is a query for tracking purposes unless the pipeline hands us
        // its redirected header, see `Conntrack::track`.
        IcmpClass::Query
    } else {
        IcmpClass::Error
    }
}

/// Whether a connection may start with this type (`valid_new`).
pub fn may_start(l4proto: u8, icmp_type: u8) -> bool {
    if l4proto == proto::ICMP {
        matches!(icmp_type, 8 | 13 | 15 | 17)
    } else {
        matches!(icmp_type, 128 | 139)
    }
}

/// ICMP (v4) types whose identifier NAT may rewrite (queries and their replies).
pub fn has_id(l4proto: u8, icmp_type: u8) -> bool {
    if l4proto == proto::ICMP {
        matches!(icmp_type, 0 | 8 | 13 | 14 | 15 | 16 | 17 | 18)
    } else {
        matches!(icmp_type, 128 | 129)
    }
}

/// The ICMP "redirect" type of the family (5, or 137 for ICMPv6).
pub fn is_redirect(l4proto: u8, icmp_type: u8) -> bool {
    (l4proto == proto::ICMP && icmp_type == 5) || (l4proto == proto::ICMPV6 && icmp_type == 137)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_follows_the_kernel_tables() {
        assert_eq!(classify(proto::ICMP, 8), IcmpClass::Query);
        assert_eq!(classify(proto::ICMP, 3), IcmpClass::Error);
        assert_eq!(classify(proto::ICMP, 11), IcmpClass::Error);
        assert_eq!(classify(proto::ICMP, 19), IcmpClass::Invalid);
        assert_eq!(classify(proto::ICMPV6, 1), IcmpClass::Error);
        assert_eq!(classify(proto::ICMPV6, 135), IcmpClass::Untracked);
        assert_eq!(classify(proto::ICMPV6, 128), IcmpClass::Query);
        assert!(may_start(proto::ICMP, 8) && !may_start(proto::ICMP, 0));
        assert!(may_start(proto::ICMPV6, 128) && !may_start(proto::ICMPV6, 129));
    }
}
