//! ipset definitions: the sets iptables rules name in `-m set --match-set NAME src,dst`.
//!
//! The kernel keeps ipsets outside the rule tables, filled by `ipset restore` from a file
//! `ipset save` wrote (`/etc/iptables/ipsets`, `/etc/ipset.conf`). nftvm reads that file
//! (`--ipset FILE`, [`parse`]) and turns each set a rule uses into a named nft set in the
//! rule's table ([`to_nft`]) — what one does by hand when moving such a firewall to nft — so
//! both engines, `diff` and the listings see an ordinary set lookup.
//!
//! The model keeps what decides membership: the set type (storage method and dimensions),
//! the address family, `netmask`, timeouts, and every entry with its parts (an address
//! range or prefix, a protocol and port range, an interface name), `nomatch`.
//!
//! [`parse`]: fn@parse

mod entry;
mod parse;
pub mod to_nft;

pub use parse::parse;

use nftvm_grammar::Span;

/// How a set stores its entries (`hash:…`, `bitmap:…`, `list:set`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    Hash,
    Bitmap,
    List,
}

/// One dimension of a set type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dim {
    /// An address (`hash:ip`): stored whole, or masked by the set's `netmask`.
    Ip,
    /// A network (`hash:net`): a prefix; the most specific stored prefix decides.
    Net,
    /// A protocol and port (`hash:ip,port`), or just a TCP/UDP port (`bitmap:port`).
    Port,
    /// An interface name (`hash:net,iface`).
    Iface,
    Mac,
    Mark,
    /// A member set (`list:set`).
    Set,
}

/// A set type: `hash:ip,port` is `Hash` with `[Ip, Port]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SetType {
    pub method: Method,
    pub dims: Vec<Dim>,
}

/// The types the kernel provides (`ipset help` lists them).
const TYPES: &[&str] = &[
    "bitmap:ip",
    "bitmap:ip,mac",
    "bitmap:port",
    "hash:ip",
    "hash:ip,mac",
    "hash:ip,mark",
    "hash:ip,port",
    "hash:ip,port,ip",
    "hash:ip,port,net",
    "hash:mac",
    "hash:net",
    "hash:net,iface",
    "hash:net,net",
    "hash:net,port",
    "hash:net,port,net",
    "list:set",
];

impl SetType {
    /// The type named `name` (`hash:net,port`), if the kernel has it.
    pub fn parse(name: &str) -> Option<SetType> {
        if !TYPES.contains(&name) {
            return None;
        }
        let (method, dims) = name.split_once(':')?;
        let method = match method {
            "hash" => Method::Hash,
            "bitmap" => Method::Bitmap,
            _ => Method::List,
        };
        let dims = dims
            .split(',')
            .map(|d| match d {
                "ip" => Dim::Ip,
                "net" => Dim::Net,
                "port" => Dim::Port,
                "iface" => Dim::Iface,
                "mac" => Dim::Mac,
                "mark" => Dim::Mark,
                _ => Dim::Set,
            })
            .collect();
        Some(SetType { method, dims })
    }

    /// `hash:ip,port`.
    pub fn name(&self) -> String {
        let method = match self.method {
            Method::Hash => "hash",
            Method::Bitmap => "bitmap",
            Method::List => "list",
        };
        let dims: Vec<&str> = self
            .dims
            .iter()
            .map(|d| match d {
                Dim::Ip => "ip",
                Dim::Net => "net",
                Dim::Port => "port",
                Dim::Iface => "iface",
                Dim::Mac => "mac",
                Dim::Mark => "mark",
                Dim::Set => "set",
            })
            .collect();
        format!("{method}:{}", dims.join(","))
    }

    /// Can nftvm read this type's entries and match them (addresses, networks, ports,
    /// interfaces)?
    pub fn supported(&self) -> bool {
        self.method != Method::List
            && self.dims.iter().all(|d| matches!(d, Dim::Ip | Dim::Net | Dim::Port | Dim::Iface))
    }
}

/// `family inet` or `family inet6`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AddrFamily {
    V4,
    V6,
}

impl AddrFamily {
    pub fn bits(self) -> u32 {
        match self {
            AddrFamily::V4 => 32,
            AddrFamily::V6 => 128,
        }
    }
}

/// One part of an entry, per dimension.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Part {
    /// Addresses `lo..=hi`; `prefix` for a network entry (`10.0.0.0/8`).
    Addr { lo: u128, hi: u128, prefix: Option<u8> },
    /// Protocol `proto` (`None`: TCP or UDP, for `bitmap:port`) and ports `lo..=hi` (for
    /// ICMP the type in the high byte, the code in the low byte).
    Port { proto: Option<u8>, lo: u16, hi: u16 },
    /// An interface name; `physdev` for a bridge port (`physdev:eth0`).
    Iface { name: String, physdev: bool },
    /// A member set of a `list:set`.
    Member(String),
    /// An entry of a type nftvm does not read (kept as written).
    Raw(String),
}

/// One entry (`add NAME ENTRY [options]`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Entry {
    pub parts: Vec<Part>,
    /// `nomatch`: a network excepted from the wider networks around it.
    pub nomatch: bool,
    /// Seconds left (`timeout N`; 0 is permanent).
    pub timeout: Option<u32>,
    pub span: Span,
}

/// One set (`create NAME TYPE [options]` and its entries).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ipset {
    pub name: String,
    pub ty: SetType,
    pub family: AddrFamily,
    /// `netmask N`: addresses are stored (and looked up) masked to N bits.
    pub netmask: Option<u8>,
    /// `timeout N`: the default timeout of the set's entries, seconds.
    pub timeout: Option<u32>,
    /// `counters`: entries count packets and bytes (`--packets-gt` … test them).
    pub counters: bool,
    /// `maxelem N`: the most entries (rules that add stop adding there).
    pub maxelem: Option<u32>,
    pub entries: Vec<Entry>,
    pub span: Span,
}

/// The sets of one ipset file, in creation order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Ipsets {
    pub sets: Vec<Ipset>,
}

impl Ipset {
    /// Does the set hold addresses (and so belong to one family)? `bitmap:port` does not.
    pub fn has_addresses(&self) -> bool {
        self.ty.dims.iter().any(|d| matches!(d, Dim::Ip | Dim::Net))
    }
}

impl Ipsets {
    pub fn get(&self, name: &str) -> Option<&Ipset> {
        self.sets.iter().find(|s| s.name == name)
    }

    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }

    /// Adds the sets of `other` (a later `--ipset FILE`): an error names a set both define.
    pub fn merge(&mut self, other: Ipsets) -> Result<(), String> {
        for s in other.sets {
            if self.get(&s.name).is_some() {
                return Err(format!("set {} is defined twice", s.name));
            }
            self.sets.push(s);
        }
        Ok(())
    }
}

/// Every list of `heads` continued by every one of `tails` (a cartesian product, built a
/// dimension at a time).
fn continued<T: Clone>(heads: Vec<Vec<T>>, tails: &[Vec<T>]) -> Vec<Vec<T>> {
    heads
        .into_iter()
        .flat_map(|head| {
            tails.iter().map(move |tail| {
                let mut v = head.clone();
                v.extend(tail.iter().cloned());
                v
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
