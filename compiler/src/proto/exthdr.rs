//! Extension headers read by the `exthdr` expression: IPv6 extension headers (`hbh`, `rt`,
//! `rt0`, `rt2`, `srh`, `frag`, `dst`, `mh`), and the shared description type that TCP
//! options ([`super::tcpopt`]), IPv4 options ([`super::ipopt`]) and SCTP chunks
//! ([`super::sctp_chunk`]) use too.
//!
//! Field offsets count from the start of the extension header (or option/chunk); the
//! kernel finds the header by its type, so no payload dependency is needed, only `meta
//! nfproto ipv6` in inet tables.

use super::Field;
use crate::types::Type;

/// `NFT_EXTHDR_OP_*`: which kind of header the kernel searches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExthdrOp {
    Ipv6 = 0,
    TcpOpt = 1,
    Ipv4 = 2,
    Sctp = 3,
    Dccp = 4,
}

impl ExthdrOp {
    /// Name `--debug=netlink` prints after `exthdr load` (empty for IPv4/SCTP/DCCP).
    pub fn netlink_name(self) -> &'static str {
        match self {
            ExthdrOp::Ipv6 => "ipv6",
            ExthdrOp::TcpOpt => "tcpopt",
            ExthdrOp::Ipv4 | ExthdrOp::Sctp | ExthdrOp::Dccp => "",
        }
    }

    /// What nft lists before a header's name: `tcp option `, `ip option `, `sctp chunk `,
    /// `dccp option `; for IPv6 `exthdr ` in a presence test (`exthdr rt exists`), nothing
    /// before a field (`rt type`).
    pub fn listing_prefix(self, presence: bool) -> &'static str {
        match self {
            ExthdrOp::TcpOpt => "tcp option ",
            ExthdrOp::Ipv4 => "ip option ",
            ExthdrOp::Sctp => "sctp chunk ",
            ExthdrOp::Dccp => "dccp option ",
            ExthdrOp::Ipv6 if presence => "exthdr ",
            ExthdrOp::Ipv6 => "",
        }
    }
}

/// Fields repeated at a stride (`rt0 addr[1]`, `srh sid[2]`): field `n` (1-based) is at
/// `first + (n - 1) * stride`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Indexed {
    pub name: &'static str,
    pub ty: Type,
    pub first: u32,
    pub stride: u32,
    pub len: u32,
    pub max: u32,
}

impl Indexed {
    /// The field for index `n` (1-based).
    pub fn at(&self, n: u32) -> Option<Field> {
        if n == 0 || n > self.max {
            return None;
        }
        Some(Field::new(self.name, self.ty, self.first + (n - 1) * self.stride, self.len))
    }
}

/// One extension header, option or chunk.
#[derive(Debug, PartialEq)]
pub struct ExtDesc {
    /// Its name in the rule language (`hbh`, `maxseg`, `init-ack`).
    pub name: &'static str,
    /// Header type / option kind / chunk type the kernel searches for.
    pub kind: u32,
    pub fields: &'static [Field],
    /// Repeated fields, if any.
    pub indexed: Option<Indexed>,
}

impl ExtDesc {
    /// A field by name.
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

const NEXTHDR: Field = Field::new("nexthdr", Type::InetProto, 0, 8);
const HDRLENGTH: Field = Field::new("hdrlength", Type::Integer, 8, 8);

pub static HBH: ExtDesc = ExtDesc { name: "hbh", kind: 0, fields: &[NEXTHDR, HDRLENGTH], indexed: None };

pub static RT: ExtDesc = ExtDesc {
    name: "rt",
    kind: 43,
    fields: &[
        NEXTHDR,
        HDRLENGTH,
        Field::new("type", Type::Integer, 16, 8),
        Field::new("seg-left", Type::Integer, 24, 8),
    ],
    indexed: None,
};

pub static RT0: ExtDesc = ExtDesc {
    name: "rt0",
    kind: 43,
    fields: &[Field::new("reserved", Type::Integer, 32, 8)],
    indexed: Some(Indexed { name: "addr", ty: Type::Ipv6Addr, first: 64, stride: 128, len: 128, max: 16 }),
};

pub static RT2: ExtDesc = ExtDesc {
    name: "rt2",
    kind: 43,
    fields: &[Field::new("reserved", Type::Integer, 32, 32), Field::new("addr", Type::Ipv6Addr, 64, 128)],
    indexed: None,
};

pub static SRH: ExtDesc = ExtDesc {
    name: "srh",
    kind: 43,
    fields: &[
        Field::new("last-entry", Type::Integer, 32, 8),
        Field::new("flags", Type::Integer, 40, 8),
        Field::new("tag", Type::Integer, 48, 16),
    ],
    indexed: Some(Indexed { name: "sid", ty: Type::Ipv6Addr, first: 64, stride: 128, len: 128, max: 16 }),
};

pub static FRAG: ExtDesc = ExtDesc {
    name: "frag",
    kind: 44,
    fields: &[
        NEXTHDR,
        Field::new("reserved", Type::Integer, 8, 8),
        Field::new("frag-off", Type::Integer, 16, 13),
        Field::new("reserved2", Type::Integer, 29, 2),
        Field::new("more-fragments", Type::Integer, 31, 1),
        Field::new("id", Type::Integer, 32, 32),
    ],
    indexed: None,
};

pub static DST: ExtDesc = ExtDesc { name: "dst", kind: 60, fields: &[NEXTHDR, HDRLENGTH], indexed: None };

pub static MH: ExtDesc = ExtDesc {
    name: "mh",
    kind: 135,
    fields: &[
        NEXTHDR,
        HDRLENGTH,
        Field::new("type", Type::MhType, 16, 8),
        Field::new("reserved", Type::Integer, 24, 8),
        Field::new("checksum", Type::Integer, 32, 16),
    ],
    indexed: None,
};

/// The IPv6 extension headers, in nft's order.
pub static IPV6_HEADERS: &[&ExtDesc] = &[&HBH, &RT2, &RT0, &SRH, &RT, &FRAG, &DST, &MH];

/// An IPv6 extension header by name.
pub fn ipv6_header(name: &str) -> Option<&'static ExtDesc> {
    IPV6_HEADERS.iter().copied().find(|d| d.name == name)
}

/// Parse `name[N]` into the name and index.
pub fn split_index(word: &str) -> Option<(&str, u32)> {
    let (name, rest) = word.split_once('[')?;
    let n = rest.strip_suffix(']')?.parse().ok()?;
    Some((name, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexed_fields() {
        let sid2 = SRH.indexed.unwrap().at(2).unwrap();
        assert_eq!(sid2.load_span(), (24, 16));
        assert!(SRH.indexed.unwrap().at(0).is_none());
        assert_eq!(split_index("sid[2]"), Some(("sid", 2)));
        assert_eq!(split_index("sid"), None);
        let frag_off = FRAG.field("frag-off").unwrap();
        assert_eq!(frag_off.load_span(), (2, 2));
        assert_eq!(frag_off.mask().unwrap().bytes(), &[0xff, 0xf8]);
        assert_eq!(ipv6_header("mh").unwrap().kind, 135);
    }
}
