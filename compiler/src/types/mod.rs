//! nft datatypes: parse symbols and literals into typed values; print them canonically.
//!
//! A [`Type`] is what nft calls a datatype (`ipv4_addr`, `inet_service`, `ct_state`, …): a
//! name (as `type …` prints it in set declarations), a description, a size, a byte order, a
//! base type and maybe a table of symbolic constants. [`Type::parse`] turns a word of the rule
//! text into a [`Value`]; [`Type::print`] turns a value back into the text `nft list ruleset`
//! prints. The numbers in [`Type::netlink_id`] are nft's `TYPE_*` numbers (set key types).
//!
//! One file per family of types: `integer` (integer, bitmask, boolean, strings), `addr`
//! (IPv4/IPv6/link-layer addresses), `inet` (protocols, services, ether types), `time`
//! (relative times, dates, hours, days), `host` (marks, interfaces, users, classids, devgroups,
//! realms, cgroups), `ct` (conntrack labels) and `symbols` (every symbol table).

mod addr;
mod ct;
mod host;
mod inet;
mod integer;
mod symbols;
mod time;
pub mod value;

#[cfg(test)]
mod describe_oracle;
#[cfg(test)]
mod listing_oracle;

pub use addr::format_ipv6;
pub use host::with_interfaces;
pub use inet::{protocol_name, protocol_number, service_name, service_port};
pub use integer::{StringMatch, parse_number, print_string_match, string_match};
pub use symbols::{Base, SymbolTable};
pub use time::{
    format_date_at, format_hour_at, format_relative_ms, local_offset_secs, parse_date_at, parse_hour_at,
    parse_relative_ms, set_local_offset_override,
};
pub use value::{ByteOrder, Value, ValueError};

use std::fmt;

/// Every nft datatype the rule language uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Type {
    Invalid,
    Verdict,
    NfProto,
    Bitmask,
    Integer,
    String,
    LlAddr,
    Ipv4Addr,
    Ipv6Addr,
    EtherAddr,
    EtherType,
    ArpOp,
    InetProto,
    InetService,
    IcmpType,
    TcpFlag,
    DccpPktType,
    MhType,
    Time,
    Mark,
    IfIndex,
    IfType,
    Realm,
    ClassId,
    Uid,
    Gid,
    CtState,
    CtDir,
    CtStatus,
    Icmpv6Type,
    CtLabel,
    PktType,
    IcmpCode,
    Icmpv6Code,
    IcmpxCode,
    DevGroup,
    Dscp,
    Ecn,
    FibAddrType,
    Boolean,
    CtEvent,
    IfName,
    IgmpType,
    Date,
    Hour,
    Day,
    CgroupV2,
    /// An integer printed in hex (raw payloads, `ip frag-off`); netlink id of `integer`.
    XInteger,
    /// The 4-bit MPTCP option subtype (`tcp option mptcp subtype mp-join`).
    MptcpSubtype,
    /// `reject with icmp …` codes (printed symbolically, unlike `icmp code`).
    RejectIcmpCode,
    /// `reject with icmpv6 …` codes.
    RejectIcmpv6Code,
    /// `reject with icmpx …` codes.
    RejectIcmpxCode,
    /// A queue number (`typeof … : queue`, the data of maps `queue to … map` reads);
    /// netlink id of `integer`, not a name `type` accepts.
    Queue,
}

/// How a type's values are read and written, beyond its symbol table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Decimal integer.
    Decimal,
    /// `0x…` with at least this many hex digits (0: as many as needed).
    Hex(u8),
    /// Quoted string.
    Str,
    /// Dotted quad.
    Ipv4,
    /// RFC 5952 text.
    Ipv6,
    /// `aa:bb:…`.
    LlAddr,
    /// Protocol name or number.
    InetProto,
    /// Port number (service name with `-S`).
    Service,
    /// `1d2h3m4s5ms`.
    Time,
    /// `"YYYY-MM-DD HH:MM:SS"`.
    Date,
    /// `"HH:MM[:SS]"`.
    Hour,
    /// `major:minor`, `root`, `none`.
    ClassId,
    /// Interface name or index.
    IfIndex,
    /// User or group name or id.
    Uid,
    /// Conntrack label bit.
    CtLabel,
    /// Verdicts are not plain values.
    Verdict,
}

/// Static facts about a datatype.
#[derive(Debug)]
pub struct TypeInfo {
    /// nft's `TYPE_*` number (what a set's key type holds).
    pub netlink_id: u32,
    /// Name as `type …` prints it.
    pub name: &'static str,
    /// Description as `nft describe` prints it (and error messages name it).
    pub desc: &'static str,
    /// Size in bits (0: variable, taken from the expression).
    pub bits: u32,
    /// Byte order of values of this type.
    pub order: ByteOrder,
    /// Base type (`ct_state` → `bitmask` → `integer`).
    pub base: Option<Type>,
    /// Symbolic constants, if any.
    pub symbols: Option<&'static SymbolTable>,
    /// Whether printing uses the symbols (`icmp code` parses them but prints numbers).
    pub print_symbols: bool,
    /// Whether printed symbols are quoted (`iifgroup "default"`).
    pub quote_symbols: bool,
    /// Literal format.
    pub format: Format,
}

/// Output switches, as `nft -n`, `-S`, `-u`, `-T` set them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PrintOpts {
    /// `-nn`: protocols as numbers (`ip protocol 6`); nft's py tests list this way.
    pub numeric_proto: bool,
    /// `-nnn`: symbolic constants as numbers.
    pub numeric_symbol: bool,
    /// `-T`: times in seconds.
    pub numeric_time: bool,
    /// `-S`: ports as service names.
    pub service_names: bool,
    /// `-u`: uids/gids as names.
    pub guid_names: bool,
}

/// A parse failure: the message nft would print (the caller adds the location).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeError {
    pub message: String,
}

impl TypeError {
    pub fn new(message: impl Into<String>) -> TypeError {
        TypeError { message: message.into() }
    }
}

impl fmt::Display for TypeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TypeError {}

impl From<ValueError> for TypeError {
    fn from(e: ValueError) -> TypeError {
        TypeError::new(e.to_string())
    }
}

macro_rules! info {
    ($id:expr, $name:expr, $desc:expr, $bits:expr, $order:ident, $base:expr, $syms:expr, $fmt:expr) => {
        TypeInfo {
            netlink_id: $id,
            name: $name,
            desc: $desc,
            bits: $bits,
            order: ByteOrder::$order,
            base: $base,
            symbols: $syms,
            print_symbols: true,
            quote_symbols: false,
            format: $fmt,
        }
    };
}

use Format as F;
use Type as T;

static INVALID: TypeInfo = info!(0, "invalid", "invalid", 0, Host, None, None, F::Hex(0));
static VERDICT: TypeInfo = info!(1, "verdict", "netfilter verdict", 0, Host, None, None, F::Verdict);
static NFPROTO: TypeInfo = info!(
    2,
    "nf_proto",
    "netfilter protocol",
    8,
    Host,
    Some(T::Integer),
    Some(&symbols::NFPROTO),
    F::Decimal
);
static BITMASK: TypeInfo = info!(3, "bitmask", "bitmask", 0, Host, Some(T::Integer), None, F::Hex(0));
static INTEGER: TypeInfo = info!(4, "integer", "integer", 0, Host, None, None, F::Decimal);
static STRING: TypeInfo = info!(5, "string", "string", 0, Host, None, None, F::Str);
static LLADDR: TypeInfo =
    info!(6, "ll_addr", "link layer address", 0, Network, Some(T::Integer), None, F::LlAddr);
static IPV4: TypeInfo = info!(7, "ipv4_addr", "IPv4 address", 32, Network, Some(T::Integer), None, F::Ipv4);
static IPV6: TypeInfo = info!(8, "ipv6_addr", "IPv6 address", 128, Network, Some(T::Integer), None, F::Ipv6);
static ETHERADDR: TypeInfo =
    info!(9, "ether_addr", "Ethernet address", 48, Network, Some(T::LlAddr), None, F::LlAddr);
static ETHERTYPE: TypeInfo = info!(
    10,
    "ether_type",
    "Ethernet protocol",
    16,
    Network,
    Some(T::Integer),
    Some(&symbols::ETHERTYPE),
    F::Hex(4)
);
static ARPOP: TypeInfo =
    info!(11, "arp_op", "ARP operation", 16, Network, Some(T::Integer), Some(&symbols::ARPOP), F::Decimal);
static INETPROTO: TypeInfo =
    info!(12, "inet_proto", "Internet protocol", 8, Host, Some(T::Integer), None, F::InetProto);
static INETSERVICE: TypeInfo =
    info!(13, "inet_service", "internet network service", 16, Network, Some(T::Integer), None, F::Service);
static ICMPTYPE: TypeInfo =
    info!(14, "icmp_type", "ICMP type", 8, Network, Some(T::Integer), Some(&symbols::ICMP_TYPE), F::Decimal);
static TCPFLAG: TypeInfo =
    info!(15, "tcp_flag", "TCP flag", 8, Network, Some(T::Bitmask), Some(&symbols::TCP_FLAG), F::Hex(0));
static DCCPPKTTYPE: TypeInfo = info!(
    16,
    "dccp_pkttype",
    "DCCP packet type",
    4,
    Network,
    Some(T::Integer),
    Some(&symbols::DCCP_PKTTYPE),
    F::Decimal
);
static MHTYPE: TypeInfo = info!(
    17,
    "mh_type",
    "Mobility Header Type",
    8,
    Network,
    Some(T::Integer),
    Some(&symbols::MH_TYPE),
    F::Decimal
);
static TIME: TypeInfo = info!(18, "time", "relative time", 32, Host, Some(T::Integer), None, F::Time);
static MARK: TypeInfo = TypeInfo {
    quote_symbols: true,
    ..info!(19, "mark", "packet mark", 32, Host, Some(T::Integer), Some(&symbols::RT_MARKS), F::Hex(8))
};
static IFINDEX: TypeInfo =
    info!(20, "iface_index", "network interface index", 32, Host, Some(T::Integer), None, F::IfIndex);
static IFTYPE: TypeInfo = info!(
    21,
    "iface_type",
    "network interface type",
    16,
    Host,
    Some(T::Integer),
    Some(&symbols::ARPHRD),
    F::Decimal
);
static REALM: TypeInfo = TypeInfo {
    quote_symbols: true,
    ..info!(22, "realm", "routing realm", 32, Host, Some(T::Integer), Some(&symbols::RT_REALMS), F::Decimal)
};
static CLASSID: TypeInfo = info!(23, "classid", "TC classid", 32, Host, Some(T::Integer), None, F::ClassId);
static UID: TypeInfo = info!(24, "uid", "user ID", 32, Host, Some(T::Integer), None, F::Uid);
static GID: TypeInfo = info!(25, "gid", "group ID", 32, Host, Some(T::Integer), None, F::Uid);
static CTSTATE: TypeInfo =
    info!(26, "ct_state", "conntrack state", 32, Host, Some(T::Bitmask), Some(&symbols::CT_STATE), F::Hex(0));
static CTDIR: TypeInfo =
    info!(27, "ct_dir", "conntrack direction", 8, Host, Some(T::Integer), Some(&symbols::CT_DIR), F::Decimal);
static CTSTATUS: TypeInfo = info!(
    28,
    "ct_status",
    "conntrack status",
    32,
    Host,
    Some(T::Bitmask),
    Some(&symbols::CT_STATUS),
    F::Hex(0)
);
static ICMP6TYPE: TypeInfo = info!(
    29,
    "icmpv6_type",
    "ICMPv6 type",
    8,
    Network,
    Some(T::Integer),
    Some(&symbols::ICMPV6_TYPE),
    F::Decimal
);
static CTLABEL: TypeInfo = TypeInfo {
    quote_symbols: true,
    ..info!(30, "ct_label", "conntrack label", 128, Host, Some(T::Bitmask), None, F::CtLabel)
};
static PKTTYPE: TypeInfo =
    info!(31, "pkt_type", "packet type", 8, Host, Some(T::Integer), Some(&symbols::PKTTYPE), F::Decimal);
static ICMPCODE: TypeInfo = TypeInfo {
    print_symbols: false,
    ..info!(32, "icmp_code", "icmp code", 8, Network, Some(T::Integer), Some(&symbols::ICMP_CODE), F::Decimal)
};
static ICMP6CODE: TypeInfo = TypeInfo {
    print_symbols: false,
    ..info!(
        33,
        "icmpv6_code",
        "icmpv6 code",
        8,
        Network,
        Some(T::Integer),
        Some(&symbols::ICMPV6_CODE),
        F::Decimal
    )
};
static ICMPXCODE: TypeInfo = TypeInfo {
    print_symbols: false,
    ..info!(
        34,
        "icmpx_code",
        "icmpx code",
        8,
        Network,
        Some(T::Integer),
        Some(&symbols::ICMPX_CODE),
        F::Decimal
    )
};
static DEVGROUP: TypeInfo = TypeInfo {
    quote_symbols: true,
    ..info!(
        35,
        "devgroup",
        "devgroup name",
        32,
        Host,
        Some(T::Integer),
        Some(&symbols::DEVGROUPS),
        F::Decimal
    )
};
static DSCP: TypeInfo = info!(
    36,
    "dscp",
    "Differentiated Services Code Point",
    6,
    Network,
    Some(T::Integer),
    Some(&symbols::DSCP),
    F::Hex(2)
);
static ECN: TypeInfo = info!(
    37,
    "ecn",
    "Explicit Congestion Notification",
    2,
    Network,
    Some(T::Integer),
    Some(&symbols::ECN),
    F::Hex(1)
);
static FIBADDR: TypeInfo = info!(
    38,
    "fib_addrtype",
    "fib address type",
    32,
    Host,
    Some(T::Integer),
    Some(&symbols::FIB_ADDRTYPE),
    F::Decimal
);
static BOOLEAN: TypeInfo =
    info!(39, "boolean", "boolean type", 1, Host, Some(T::Integer), Some(&symbols::BOOLEAN), F::Decimal);
static CTEVENT: TypeInfo = info!(
    40,
    "ct_event",
    "conntrack event bits",
    32,
    Host,
    Some(T::Bitmask),
    Some(&symbols::CT_EVENT),
    F::Hex(0)
);
static IFNAME: TypeInfo =
    info!(41, "ifname", "network interface name", 128, Host, Some(T::String), None, F::Str);
static IGMPTYPE: TypeInfo =
    info!(42, "igmp_type", "IGMP type", 8, Network, Some(T::Integer), Some(&symbols::IGMP_TYPE), F::Decimal);
static DATE: TypeInfo =
    info!(43, "time", "Relative time of packet reception", 64, Host, Some(T::Integer), None, F::Date);
static HOUR: TypeInfo =
    info!(44, "hour", "Hour of day of packet reception", 32, Host, Some(T::Integer), None, F::Hour);
static DAY: TypeInfo = TypeInfo {
    quote_symbols: true,
    ..info!(
        45,
        "day",
        "Day of week of packet reception",
        8,
        Host,
        Some(T::Integer),
        Some(&symbols::DAY),
        F::Decimal
    )
};
static CGROUPV2: TypeInfo =
    info!(46, "cgroupsv2", "cgroupsv2 path", 64, Host, Some(T::Integer), None, F::Decimal);
static XINTEGER: TypeInfo = info!(4, "integer", "integer", 0, Host, Some(T::Integer), None, F::Hex(0));
static QUEUE: TypeInfo = info!(4, "queue", "queue", 16, Host, Some(T::Integer), None, F::Decimal);
static MPTCPSUB: TypeInfo = info!(
    4,
    "integer",
    "mptcp option subtype",
    4,
    Network,
    Some(T::Integer),
    Some(&symbols::MPTCP_SUBTYPE),
    F::Decimal
);
static REJ_ICMP: TypeInfo = info!(
    0,
    "icmp_code",
    "reject icmp code",
    8,
    Network,
    Some(T::Integer),
    Some(&symbols::ICMP_CODE),
    F::Decimal
);
static REJ_ICMP6: TypeInfo = info!(
    0,
    "icmpv6_code",
    "reject icmpv6 code",
    8,
    Network,
    Some(T::Integer),
    Some(&symbols::ICMPV6_CODE),
    F::Decimal
);
static REJ_ICMPX: TypeInfo = info!(
    0,
    "icmpx_code",
    "reject icmpx code",
    8,
    Network,
    Some(T::Integer),
    Some(&symbols::ICMPX_CODE),
    F::Decimal
);

/// The types a set declaration can name, in nft's `TYPE_*` order.
pub const REGISTERED: &[Type] = &[
    T::Verdict,
    T::NfProto,
    T::Bitmask,
    T::Integer,
    T::String,
    T::LlAddr,
    T::Ipv4Addr,
    T::Ipv6Addr,
    T::EtherAddr,
    T::EtherType,
    T::ArpOp,
    T::InetProto,
    T::InetService,
    T::IcmpType,
    T::TcpFlag,
    T::DccpPktType,
    T::MhType,
    T::Time,
    T::Mark,
    T::IfIndex,
    T::IfType,
    T::Realm,
    T::ClassId,
    T::Uid,
    T::Gid,
    T::CtState,
    T::CtDir,
    T::CtStatus,
    T::Icmpv6Type,
    T::CtLabel,
    T::PktType,
    T::IcmpCode,
    T::Icmpv6Code,
    T::IcmpxCode,
    T::DevGroup,
    T::Dscp,
    T::Ecn,
    T::FibAddrType,
    T::Boolean,
    T::CtEvent,
    T::IfName,
    T::IgmpType,
    T::Date,
    T::Hour,
    T::Day,
    T::CgroupV2,
];

impl Type {
    /// Static facts about the type.
    pub fn info(self) -> &'static TypeInfo {
        match self {
            T::Invalid => &INVALID,
            T::Verdict => &VERDICT,
            T::NfProto => &NFPROTO,
            T::Bitmask => &BITMASK,
            T::Integer => &INTEGER,
            T::String => &STRING,
            T::LlAddr => &LLADDR,
            T::Ipv4Addr => &IPV4,
            T::Ipv6Addr => &IPV6,
            T::EtherAddr => &ETHERADDR,
            T::EtherType => &ETHERTYPE,
            T::ArpOp => &ARPOP,
            T::InetProto => &INETPROTO,
            T::InetService => &INETSERVICE,
            T::IcmpType => &ICMPTYPE,
            T::TcpFlag => &TCPFLAG,
            T::DccpPktType => &DCCPPKTTYPE,
            T::MhType => &MHTYPE,
            T::Time => &TIME,
            T::Mark => &MARK,
            T::IfIndex => &IFINDEX,
            T::IfType => &IFTYPE,
            T::Realm => &REALM,
            T::ClassId => &CLASSID,
            T::Uid => &UID,
            T::Gid => &GID,
            T::CtState => &CTSTATE,
            T::CtDir => &CTDIR,
            T::CtStatus => &CTSTATUS,
            T::Icmpv6Type => &ICMP6TYPE,
            T::CtLabel => &CTLABEL,
            T::PktType => &PKTTYPE,
            T::IcmpCode => &ICMPCODE,
            T::Icmpv6Code => &ICMP6CODE,
            T::IcmpxCode => &ICMPXCODE,
            T::DevGroup => &DEVGROUP,
            T::Dscp => &DSCP,
            T::Ecn => &ECN,
            T::FibAddrType => &FIBADDR,
            T::Boolean => &BOOLEAN,
            T::CtEvent => &CTEVENT,
            T::IfName => &IFNAME,
            T::IgmpType => &IGMPTYPE,
            T::Date => &DATE,
            T::Hour => &HOUR,
            T::Day => &DAY,
            T::CgroupV2 => &CGROUPV2,
            T::XInteger => &XINTEGER,
            T::Queue => &QUEUE,
            T::MptcpSubtype => &MPTCPSUB,
            T::RejectIcmpCode => &REJ_ICMP,
            T::RejectIcmpv6Code => &REJ_ICMP6,
            T::RejectIcmpxCode => &REJ_ICMPX,
        }
    }

    /// Name as set declarations print it.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// Description (`nft describe`, error messages).
    pub fn desc(self) -> &'static str {
        self.info().desc
    }

    /// Size in bits (0: variable).
    pub fn bits(self) -> u32 {
        self.info().bits
    }

    /// Byte order.
    pub fn order(self) -> ByteOrder {
        self.info().order
    }

    /// nft's `TYPE_*` number.
    pub fn netlink_id(self) -> u32 {
        self.info().netlink_id
    }

    /// The base type, if any.
    pub fn base(self) -> Option<Type> {
        self.info().base
    }

    /// The chain of base types (`ct_state` → `[bitmask, integer]`).
    pub fn base_chain(self) -> Vec<Type> {
        let mut out = Vec::new();
        let mut cur = self.base();
        while let Some(t) = cur {
            out.push(t);
            cur = t.base();
        }
        out
    }

    /// True for bitmask types (`ct state`, `tcp flags`): values combine with `,`/`|` and
    /// an implicit match tests bits.
    pub fn is_bitmask(self) -> bool {
        self == T::Bitmask || self.base_chain().contains(&T::Bitmask)
    }

    /// True for named-flag types whose *base* type is bitmask (`ct_state`, `tcp_flag`,
    /// `ct_status`, …): nft tests their bits on an implicit match and lists several bits as
    /// `a,b` / `a | b`. Plain `bitmask` fields (`comp flags`) compare and print as numbers.
    pub fn is_flag_set(self) -> bool {
        self != T::Bitmask && self.is_bitmask()
    }

    /// True for string-based types (`ifname`, `string`).
    pub fn is_string(self) -> bool {
        self == T::String || self.base() == Some(T::String)
    }

    /// True for address types that take a `/prefix`.
    pub fn takes_prefix(self) -> bool {
        matches!(self, T::Ipv4Addr | T::Ipv6Addr)
    }

    /// The symbol table (parsing), if any.
    pub fn symbols(self) -> Option<&'static SymbolTable> {
        self.info().symbols
    }

    /// Look a registered type up by the name set declarations use (`ipv4_addr`).
    pub fn from_name(name: &str) -> Option<Type> {
        REGISTERED.iter().copied().find(|t| t.name() == name)
    }

    /// Look a type up by its `TYPE_*` number.
    pub fn from_netlink_id(id: u32) -> Option<Type> {
        REGISTERED.iter().copied().find(|t| t.netlink_id() == id)
    }

    /// Parse a word (unquoted text of a symbol, number, address or string) at the type's own
    /// width and byte order.
    pub fn parse(self, text: &str) -> Result<Value, TypeError> {
        let info = self.info();
        self.parse_as(text, info.bits, info.order)
    }

    /// Parse at a given width and byte order: for selectors whose field is wider or narrower
    /// than the type's default (an `integer` field of 32 bits, `tcp doff` of 4).
    pub fn parse_as(self, text: &str, bits: u32, order: ByteOrder) -> Result<Value, TypeError> {
        if let Some(table) = self.symbols()
            && let Some(v) = table.lookup(text)
        {
            return Ok(Value::from_uint(bits, order, u128::from(v))?);
        }
        let parsed = match self.info().format {
            F::Ipv4 => addr::parse_ipv4(text),
            F::Ipv6 => addr::parse_ipv6(text),
            F::LlAddr => addr::parse_lladdr(text, bits),
            F::InetProto => inet::parse_proto(text),
            F::Service => inet::parse_service(text),
            F::Time => time::parse_relative(text).map(ParsedNum::Num),
            F::Date => time::parse_date(text).map(ParsedNum::Num),
            F::Hour => time::parse_hour(text).map(ParsedNum::Num),
            F::ClassId => host::parse_classid(text).map(ParsedNum::Num),
            F::IfIndex => host::parse_ifindex(text).map(ParsedNum::Num),
            F::Uid => host::parse_uid(self, text).map(ParsedNum::Num),
            F::CtLabel => ct::parse_label(text).map(ParsedNum::Num),
            F::Str => integer::parse_string(text, bits).map(ParsedNum::Val),
            F::Verdict => Err(TypeError::new(format!("Could not parse {}", self.desc()))),
            F::Decimal | F::Hex(_) => {
                integer::parse_number(text).map(ParsedNum::Num).ok_or_else(|| self.symbol_error(text))
            }
        }?;
        let value = match parsed {
            ParsedNum::Num(n) => {
                let n = if self == T::Boolean { u128::from(n != 0) } else { n };
                Value::from_uint(bits, order, n)?
            }
            ParsedNum::Val(v) => v,
        };
        Ok(value)
    }

    fn symbol_error(self, text: &str) -> TypeError {
        match self.symbols().and_then(|t| t.closest(text)) {
            Some(hint) => {
                TypeError::new(format!("Could not parse {} expression; did you mean `{hint}`?", self.desc()))
            }
            None => TypeError::new(format!("Could not parse {}", self.desc())),
        }
    }

    /// Print a value as `nft list ruleset` does.
    pub fn print(self, value: &Value, opts: &PrintOpts) -> String {
        let info = self.info();
        if info.print_symbols
            && !opts.numeric_symbol
            && let Some(table) = info.symbols
            && let Some(n) = value.to_u64()
            && let Some(name) = table.name_of(n)
        {
            return if info.quote_symbols { format!("\"{name}\"") } else { name.to_string() };
        }
        match info.format {
            F::Decimal => integer::print_decimal(value),
            F::Hex(width) => integer::print_hex(value, width),
            F::Str => integer::print_string(value),
            F::Ipv4 => addr::print_ipv4(value),
            F::Ipv6 => addr::print_ipv6(value),
            F::LlAddr => addr::print_lladdr(value),
            F::InetProto => inet::print_proto(value, opts),
            F::Service => inet::print_service(value, opts),
            F::Time => time::print_relative(value, opts),
            F::Date => time::print_date(value),
            F::Hour => time::print_hour(value),
            F::ClassId => host::print_classid(value),
            F::IfIndex => host::print_ifindex(value),
            F::Uid => host::print_uid(self, value, opts),
            F::CtLabel => ct::print_label(value),
            F::Verdict => integer::print_hex(value, 0),
        }
    }

    /// Print a bitmask value as a list of its flags in bit order, joined by `sep`
    /// (`ct state established,related,new`; `fin | syn` with `" | "`). Bits without a name
    /// print in the type's numeric format; zero prints as a number.
    pub fn print_flags(self, value: &Value, sep: &str, opts: &PrintOpts) -> String {
        let Some(n) = value.to_u128() else {
            return self.print(value, opts);
        };
        if n == 0 {
            return self.print(value, opts);
        }
        let mut parts = Vec::new();
        for bit in 0..value.bits().min(128) {
            let mask = 1u128 << bit;
            if n & mask == 0 {
                continue;
            }
            match Value::from_uint(value.bits(), value.order(), mask) {
                Ok(v) => parts.push(self.print(&v, opts)),
                Err(_) => return self.print(value, opts),
            }
        }
        parts.join(sep)
    }
}

/// What a literal parser produced: a number still to be sized, or a finished value.
enum ParsedNum {
    Num(u128),
    Val(Value),
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(t: Type, input: &str, printed: &str) {
        let v = t.parse(input).unwrap_or_else(|e| panic!("{t} {input}: {e}"));
        assert_eq!(t.print(&v, &PrintOpts::default()), printed, "{t} {input}");
    }

    #[test]
    fn canonical_forms() {
        round_trip(T::Dscp, "0x38", "cs7");
        round_trip(T::Dscp, "0x20", "cs4");
        round_trip(T::Mark, "0x4", "0x00000004");
        round_trip(T::Mark, "50", "0x00000032");
        round_trip(T::CtState, "8", "new");
        round_trip(T::EtherType, "vlan", "8021q");
        round_trip(T::EtherType, "0x1234", "0x1234");
        round_trip(T::Ecn, "1", "ect1");
        round_trip(T::InetService, "ssh", "22");
        round_trip(T::InetService, "0x10", "16");
        round_trip(T::IcmpCode, "port-unreachable", "3");
        round_trip(T::RejectIcmpCode, "3", "port-unreachable");
        round_trip(T::DevGroup, "0", "\"default\"");
        round_trip(T::Day, "1", "\"Monday\"");
        round_trip(T::TcpFlag, "0xff", "0xff");
        round_trip(T::Boolean, "exists", "exists");
        round_trip(T::Boolean, "5", "exists");
        round_trip(T::Uid, "root", "0");
        round_trip(T::ClassId, "0x87654321", "8765:4321");
        round_trip(T::Time, "30000ms", "30s");
        round_trip(T::CtLabel, "127", "127");
        round_trip(T::IfName, "eth0", "\"eth0\"");
        round_trip(T::PktType, "unicast", "host");
        round_trip(T::MptcpSubtype, "1", "mp-join");
    }

    #[test]
    fn bitmask_lists_print_in_bit_order() {
        let opts = PrintOpts::default();
        let v = Value::from_uint(32, ByteOrder::Host, 0x4e).unwrap();
        assert_eq!(T::CtState.print_flags(&v, ",", &opts), "established,related,new,untracked");
        let f = Value::from_uint(8, ByteOrder::Network, 0x12).unwrap();
        assert_eq!(T::TcpFlag.print_flags(&f, ",", &opts), "syn,ack");
        assert_eq!(T::TcpFlag.print_flags(&f, " | ", &opts), "syn | ack");
        let e = Value::from_uint(32, ByteOrder::Host, 0).unwrap();
        assert_eq!(T::CtEvent.print_flags(&e, ",", &opts), "0x0");
        let s = Value::from_uint(32, ByteOrder::Host, 0x22f).unwrap();
        assert_eq!(
            T::CtStatus.print_flags(&s, ",", &opts),
            "expected,seen-reply,assured,confirmed,dnat,dying"
        );
    }

    #[test]
    fn errors_name_what_was_expected() {
        assert_eq!(T::CtState.parse("xxx").unwrap_err().message, "Could not parse conntrack state");
        assert_eq!(T::Ecn.parse("7").unwrap_err().message, "Value 7 exceeds valid range 0-3");
        assert_eq!(T::InetService.parse("70000").unwrap_err().message, "Service out of range");
        assert!(T::CtDir.parse("xxx").is_err());
        let hint = T::CtState.parse("establshed").unwrap_err().message;
        assert!(hint.contains("did you mean `established`"), "{hint}");
    }

    #[test]
    fn names_and_ids_are_nfts() {
        assert_eq!(Type::from_name("ipv4_addr"), Some(T::Ipv4Addr));
        assert_eq!(Type::from_name("time"), Some(T::Time));
        assert_eq!(Type::from_name("cgroupsv2"), Some(T::CgroupV2));
        assert_eq!(T::CgroupV2.netlink_id(), 46);
        assert_eq!(T::InetService.netlink_id(), 13);
        assert_eq!(Type::from_netlink_id(26), Some(T::CtState));
        assert_eq!(T::CtState.base_chain(), vec![T::Bitmask, T::Integer]);
        assert!(T::TcpFlag.is_bitmask() && !T::Mark.is_bitmask());
        assert!(T::IfName.is_string());
        for (i, t) in REGISTERED.iter().enumerate() {
            assert_eq!(t.netlink_id() as usize, i + 1, "{t}");
        }
    }

    #[test]
    fn garbage_never_panics() {
        let inputs = [
            "",
            "-",
            "0x",
            "0b",
            "08",
            "::",
            ":::",
            "[",
            "]",
            "1.2.3.4.5",
            "99999999999999999999999999999999999999999",
            "0xffffffffffffffffffffffffffffffffffffffff",
            "1d1d",
            "ms",
            "25:61",
            "9999-99-99",
            "a:b:c",
            ":",
            "@",
            "*",
            "\\*",
            "é",
            "1:2:3:4:5:6:7:8:9",
            "0/0",
            "1-",
            "root:",
            "255.255.255.256",
            "ffff:",
            "4294967296",
        ];
        let mut types: Vec<Type> = REGISTERED.to_vec();
        types.extend([
            T::XInteger,
            T::MptcpSubtype,
            T::RejectIcmpCode,
            T::RejectIcmpv6Code,
            T::RejectIcmpxCode,
            T::Queue,
        ]);
        for t in types {
            for text in inputs {
                for (bits, order) in [
                    (0, ByteOrder::Host),
                    (1, ByteOrder::Host),
                    (8, ByteOrder::Network),
                    (200, ByteOrder::Network),
                ] {
                    if let Ok(v) = t.parse_as(text, bits, order) {
                        let _ = t.print(&v, &PrintOpts::default());
                        let _ = t.print_flags(&v, ",", &PrintOpts::default());
                    }
                }
                if let Ok(v) = t.parse(text) {
                    let _ = t.print(&v, &PrintOpts::default());
                }
            }
        }
    }

    #[test]
    fn parse_as_overrides_width() {
        let v = T::Integer.parse_as("0x1234", 16, ByteOrder::Network).unwrap();
        assert_eq!(v.bytes(), &[0x12, 0x34]);
        let e = T::Integer.parse_as("22", 4, ByteOrder::Network).unwrap_err();
        assert_eq!(e.message, "Value 22 exceeds valid range 0-15");
        assert!(T::Integer.parse_as("junk", 8, ByteOrder::Host).is_err());
    }
}
