//! Symbol tables: the named constants of each datatype (`ct state new`, `icmp type
//! echo-request`, `ip dscp cs7`, …).
//!
//! Values are the numbers the names denote (host meaning: `ether type ip` is `0x0800`), not
//! their byte images. Where two names share a value (`dscp cs0`/`df`/`be`) the first one is
//! what printing uses, as in nft.

/// The radix `nft describe` lists a table's values in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Base {
    Decimal,
    Hex,
}

/// A datatype's symbolic constants, in nft's order.
#[derive(Debug)]
pub struct SymbolTable {
    pub base: Base,
    pub symbols: &'static [(&'static str, u64)],
}

impl SymbolTable {
    /// The value of a name.
    pub fn lookup(&self, name: &str) -> Option<u64> {
        self.symbols.iter().find(|(n, _)| *n == name).map(|&(_, v)| v)
    }

    /// The first name of a value.
    pub fn name_of(&self, value: u64) -> Option<&'static str> {
        self.symbols.iter().find(|&&(_, v)| v == value).map(|&(n, _)| n)
    }

    /// The closest name to a misspelt word, if one is close enough to suggest.
    pub fn closest(&self, word: &str) -> Option<&'static str> {
        let limit = (word.len() / 3).clamp(1, 3);
        self.symbols
            .iter()
            .map(|&(n, _)| (edit_distance(word, n), n))
            .filter(|&(d, _)| d <= limit)
            .min_by_key(|&(d, _)| d)
            .map(|(_, n)| n)
    }
}

/// Levenshtein distance (for "did you mean" hints).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            let subst = prev[j] + usize::from(ca != cb);
            cur[j + 1] = subst.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

macro_rules! table {
    ($name:ident, $base:ident, [$(($sym:expr, $val:expr)),* $(,)?]) => {
        pub static $name: SymbolTable = SymbolTable { base: Base::$base, symbols: &[$(($sym, $val)),*] };
    };
}

table!(NFPROTO, Decimal, [("ipv4", 2), ("ipv6", 10)]);

table!(
    ETHERTYPE,
    Hex,
    [
        ("ip", 0x0800),
        ("arp", 0x0806),
        ("ip6", 0x86dd),
        ("8021q", 0x8100),
        ("8021ad", 0x88a8),
        ("vlan", 0x8100),
    ]
);

table!(
    ARPOP,
    Hex,
    [
        ("request", 1),
        ("reply", 2),
        ("rrequest", 3),
        ("rreply", 4),
        ("inrequest", 8),
        ("inreply", 9),
        ("nak", 10),
    ]
);

table!(
    ICMP_TYPE,
    Decimal,
    [
        ("echo-reply", 0),
        ("destination-unreachable", 3),
        ("source-quench", 4),
        ("redirect", 5),
        ("echo-request", 8),
        ("router-advertisement", 9),
        ("router-solicitation", 10),
        ("time-exceeded", 11),
        ("parameter-problem", 12),
        ("timestamp-request", 13),
        ("timestamp-reply", 14),
        ("info-request", 15),
        ("info-reply", 16),
        ("address-mask-request", 17),
        ("address-mask-reply", 18),
    ]
);

table!(
    ICMPV6_TYPE,
    Decimal,
    [
        ("destination-unreachable", 1),
        ("packet-too-big", 2),
        ("time-exceeded", 3),
        ("parameter-problem", 4),
        ("echo-request", 128),
        ("echo-reply", 129),
        ("mld-listener-query", 130),
        ("mld-listener-report", 131),
        ("mld-listener-done", 132),
        ("mld-listener-reduction", 132),
        ("nd-router-solicit", 133),
        ("nd-router-advert", 134),
        ("nd-neighbor-solicit", 135),
        ("nd-neighbor-advert", 136),
        ("nd-redirect", 137),
        ("router-renumbering", 138),
        ("ind-neighbor-solicit", 141),
        ("ind-neighbor-advert", 142),
        ("mld2-listener-report", 143),
    ]
);

table!(
    ICMP_CODE,
    Decimal,
    [
        ("net-unreachable", 0),
        ("host-unreachable", 1),
        ("prot-unreachable", 2),
        ("port-unreachable", 3),
        ("net-prohibited", 9),
        ("host-prohibited", 10),
        ("admin-prohibited", 13),
        ("frag-needed", 4),
    ]
);

table!(
    ICMPV6_CODE,
    Decimal,
    [
        ("no-route", 0),
        ("admin-prohibited", 1),
        ("addr-unreachable", 3),
        ("port-unreachable", 4),
        ("policy-fail", 5),
        ("reject-route", 6),
    ]
);

table!(
    ICMPX_CODE,
    Decimal,
    [("port-unreachable", 1), ("admin-prohibited", 3), ("no-route", 0), ("host-unreachable", 2),]
);

table!(
    IGMP_TYPE,
    Decimal,
    [
        ("membership-query", 0x11),
        ("membership-report-v1", 0x12),
        ("membership-report-v2", 0x16),
        ("membership-report-v3", 0x22),
        ("leave-group", 0x17),
    ]
);

table!(
    TCP_FLAG,
    Hex,
    [
        ("fin", 0x01),
        ("syn", 0x02),
        ("rst", 0x04),
        ("psh", 0x08),
        ("ack", 0x10),
        ("urg", 0x20),
        ("ecn", 0x40),
        ("cwr", 0x80),
    ]
);

table!(
    DCCP_PKTTYPE,
    Hex,
    [
        ("request", 0),
        ("response", 1),
        ("data", 2),
        ("ack", 3),
        ("dataack", 4),
        ("closereq", 5),
        ("close", 6),
        ("reset", 7),
        ("sync", 8),
        ("syncack", 9),
    ]
);

table!(
    MH_TYPE,
    Decimal,
    [
        ("binding-refresh-request", 0),
        ("home-test-init", 1),
        ("careof-test-init", 2),
        ("home-test", 3),
        ("careof-test", 4),
        ("binding-update", 5),
        ("binding-acknowledgement", 6),
        ("binding-error", 7),
        ("fast-binding-update", 8),
        ("fast-binding-acknowledgement", 9),
        ("fast-binding-advertisement", 10),
        ("experimental-mobility-header", 11),
        ("home-agent-switch-message", 12),
    ]
);

table!(
    DSCP,
    Hex,
    [
        ("cs0", 0x00),
        ("cs1", 0x08),
        ("cs2", 0x10),
        ("cs3", 0x18),
        ("cs4", 0x20),
        ("cs5", 0x28),
        ("cs6", 0x30),
        ("cs7", 0x38),
        ("df", 0x00),
        ("be", 0x00),
        ("lephb", 0x01),
        ("af11", 0x0a),
        ("af12", 0x0c),
        ("af13", 0x0e),
        ("af21", 0x12),
        ("af22", 0x14),
        ("af23", 0x16),
        ("af31", 0x1a),
        ("af32", 0x1c),
        ("af33", 0x1e),
        ("af41", 0x22),
        ("af42", 0x24),
        ("af43", 0x26),
        ("va", 0x2c),
        ("ef", 0x2e),
    ]
);

table!(ECN, Hex, [("not-ect", 0), ("ect1", 1), ("ect0", 2), ("ce", 3)]);

table!(
    CT_STATE,
    Hex,
    [("invalid", 0x01), ("new", 0x08), ("established", 0x02), ("related", 0x04), ("untracked", 0x40),]
);

table!(CT_DIR, Decimal, [("original", 0), ("reply", 1)]);

table!(
    CT_STATUS,
    Hex,
    [
        ("expected", 1 << 0),
        ("seen-reply", 1 << 1),
        ("assured", 1 << 2),
        ("confirmed", 1 << 3),
        ("snat", 1 << 4),
        ("dnat", 1 << 5),
        ("seq-adjust", 1 << 6),
        ("snat-done", 1 << 7),
        ("dnat-done", 1 << 8),
        ("dying", 1 << 9),
        ("fixed-timeout", 1 << 10),
        ("helper", 1 << 13),
        ("offload", 1 << 14),
        ("hw-offload", 1 << 15),
    ]
);

table!(
    CT_EVENT,
    Hex,
    [
        ("new", 1 << 0),
        ("related", 1 << 1),
        ("destroy", 1 << 2),
        ("reply", 1 << 3),
        ("assured", 1 << 4),
        ("protoinfo", 1 << 5),
        ("helper", 1 << 6),
        ("mark", 1 << 7),
        ("seqadj", 1 << 8),
        ("secmark", 1 << 9),
        ("label", 1 << 10),
    ]
);

table!(
    ARPHRD,
    Hex,
    [
        ("ether", 1),
        ("ppp", 512),
        ("ipip", 768),
        ("ipip6", 769),
        ("loopback", 772),
        ("sit", 776),
        ("ipgre", 778),
    ]
);

table!(PKTTYPE, Decimal, [("host", 0), ("unicast", 0), ("broadcast", 1), ("multicast", 2), ("other", 3),]);

table!(
    FIB_ADDRTYPE,
    Decimal,
    [
        ("unspec", 0),
        ("unicast", 1),
        ("local", 2),
        ("broadcast", 3),
        ("anycast", 4),
        ("multicast", 5),
        ("blackhole", 6),
        ("unreachable", 7),
        ("prohibit", 8),
    ]
);

table!(BOOLEAN, Decimal, [("exists", 1), ("missing", 0)]);

table!(
    DAY,
    Decimal,
    [
        ("Sunday", 0),
        ("Monday", 1),
        ("Tuesday", 2),
        ("Wednesday", 3),
        ("Thursday", 4),
        ("Friday", 5),
        ("Saturday", 6),
    ]
);

table!(
    MPTCP_SUBTYPE,
    Decimal,
    [
        ("mp-capable", 0),
        ("mp-join", 1),
        ("dss", 2),
        ("add-addr", 3),
        ("remove-addr", 4),
        ("mp-prio", 5),
        ("mp-fail", 6),
        ("mp-fastclose", 7),
        ("mp-tcprst", 8),
    ]
);

// The iproute2 databases nft reads at run time (`/etc/iproute2/group`, `rt_realms`,
// `rt_marks`). We embed what a stock system ships so listings do not depend on the host.
table!(DEVGROUPS, Decimal, [("default", 0)]);
table!(RT_REALMS, Decimal, [("cosmos", 0)]);
table!(RT_MARKS, Hex, []);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_and_first_name_wins() {
        assert_eq!(DSCP.lookup("cs7"), Some(0x38));
        assert_eq!(DSCP.name_of(0), Some("cs0"));
        assert_eq!(ETHERTYPE.name_of(0x8100), Some("8021q"));
        assert_eq!(ICMPV6_TYPE.name_of(132), Some("mld-listener-done"));
        assert_eq!(CT_STATE.lookup("untracked"), Some(0x40));
        assert_eq!(CT_STATE.lookup("nonsense"), None);
    }

    #[test]
    fn misspellings_get_hints() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(CT_STATE.closest("relatd"), Some("related"));
        assert_eq!(CT_STATE.closest("xxx"), None);
    }
}
