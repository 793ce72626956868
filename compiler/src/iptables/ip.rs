//! The protocol-independent part of a rule (`struct ipt_ip` / `ip6t_ip6`): addresses,
//! interfaces, layer-4 protocol and the IPv4 fragment flag, each possibly negated.

use crate::iptables::Family;
use crate::iptables::save::SaveBuf;
use crate::iptables::values::addr::AddrMask;
use crate::iptables::values::protocols::chain_proto_name;

/// A value with its `!`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Inv<T> {
    pub value: T,
    pub invert: bool,
}

impl<T> Inv<T> {
    pub fn new(value: T, invert: bool) -> Inv<T> {
        Inv { value, invert }
    }
}

/// An interface name as iptables matches it: a trailing `+` makes it a prefix match (`eth+`);
/// `+` alone matches every interface.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Iface(pub String);

impl Iface {
    /// `eth+` → `Some("eth")`.
    pub fn prefix(&self) -> Option<&str> {
        self.0.strip_suffix('+')
    }

    /// `+`: any interface.
    pub fn is_wildcard(&self) -> bool {
        self.0 == "+"
    }
}

/// Addresses, interfaces, protocol and fragment flag. `None` means "not matched on" — the
/// canonical form drops what iptables-save would not print (`-s 0.0.0.0/0`, `-i +`, `-p all`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IpPart {
    pub src: Option<Inv<AddrMask>>,
    pub dst: Option<Inv<AddrMask>>,
    pub iniface: Option<Inv<Iface>>,
    pub outiface: Option<Inv<Iface>>,
    /// Layer-4 protocol number (never 0: `-p all` is no match, `! -p all` is rejected).
    pub proto: Option<Inv<u8>>,
    /// `-f` (second and further fragments), `true` when negated. IPv4 only.
    pub frag: Option<bool>,
}

impl IpPart {
    /// The protocol when it is matched positively (`-p tcp`, not `! -p tcp`).
    pub fn positive_proto(&self) -> Option<u8> {
        self.proto.as_ref().filter(|p| !p.invert).map(|p| p.value)
    }

    /// iptables-save's ` -s … -d … -i … -o … -p … -f`.
    pub fn save(&self, out: &mut SaveBuf) {
        for (letter, a) in [('s', &self.src), ('d', &self.dst)] {
            if let Some(a) = a
                && (a.invert || !a.value.is_any())
            {
                out.bang(a.invert);
                out.push(&format!(" -{letter} {}", a.value.save_form()));
            }
        }
        for (letter, i) in [('i', &self.iniface), ('o', &self.outiface)] {
            if let Some(i) = i
                && !i.value.0.is_empty()
                && (i.invert || !i.value.is_wildcard())
            {
                out.bang(i.invert);
                out.push(&format!(" -{letter} {}", i.value.0));
            }
        }
        if let Some(p) = &self.proto {
            out.bang(p.invert);
            match chain_proto_name(p.value) {
                Some(name) => out.push(&format!(" -p {name}")),
                None => out.push(&format!(" -p {}", p.value)),
            }
        }
        if let Some(inv) = self.frag {
            out.bang(inv);
            out.push(" -f");
        }
    }

    pub fn family_of(&self) -> Option<Family> {
        self.src.as_ref().or(self.dst.as_ref()).map(|a| a.value.family())
    }
}
