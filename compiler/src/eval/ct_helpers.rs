//! The conntrack helpers the kernel registers, by name, protocol and family: a `ct helper`
//! object (or iptables' `-j CT --helper`) names one, and Linux refuses it (`No such file or
//! directory`) when it has none for the protocol and family. An `inet` object takes the
//! helper of each family the kernel has it for, and lists as that family (`irc` in an
//! inet table lists as `l3proto ip`: the kernel has no IPv6 IRC helper).
//!
//! A name the kernel does not have at all may still be a helper registered from userspace
//! (`nfct add helper`, conntrackd's `rpc`, `ssdp`, …), which nftvm cannot see: such names
//! are accepted (and attach nothing at run time).
//!
//! The table is Linux 6.18's (`nf_conntrack_*.c`, `nf_nat_snmp_basic.c`), checked against
//! the kernel by the `kernel_diff` suite (`ct_helper_objects_load_as_in_the_kernel`).

use crate::ir::Family;

/// Every helper: name, protocol, registered for IPv4, for IPv6.
pub const KERNEL_HELPERS: [(&str, u8, bool, bool); 14] = [
    ("ftp", TCP, true, true),
    ("tftp", UDP, true, true),
    ("irc", TCP, true, false),
    ("sip", TCP, true, true),
    ("sip", UDP, true, true),
    ("amanda", UDP, true, true),
    ("sane", TCP, true, true),
    ("netbios-ns", UDP, true, false),
    ("snmp", UDP, true, false),
    ("snmp_trap", UDP, true, false),
    ("pptp", TCP, true, false),
    ("RAS", UDP, true, true),
    ("Q.931", TCP, true, true),
    ("H.245", UDP, true, true),
];

const TCP: u8 = 6;
const UDP: u8 = 17;

/// What the kernel has for a helper name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// It has the helper: the family the object ends up with (its own, or for an `inet`
    /// object the one family the kernel has the helper for).
    Found(Family),
    /// It has the name, but not for this protocol and family: refused.
    Refused,
    /// Not a kernel helper (maybe a userspace one).
    Unknown,
}

/// What becomes of a helper `name` over `l4proto` asked for in `family` (a `ct helper`
/// object's `l3proto`, or its table's).
pub fn lookup(name: &str, l4proto: u8, family: Family) -> Lookup {
    if !KERNEL_HELPERS.iter().any(|(n, ..)| *n == name) {
        return Lookup::Unknown;
    }
    let (v4, v6) = KERNEL_HELPERS
        .iter()
        .filter(|(n, p, ..)| *n == name && *p == l4proto)
        .fold((false, false), |(a, b), &(_, _, v4, v6)| (a || v4, b || v6));
    let found = match family {
        Family::Ip => v4.then_some(Family::Ip),
        Family::Ip6 => v6.then_some(Family::Ip6),
        _ => match (v4, v6) {
            (true, true) => Some(family),
            (true, false) => Some(Family::Ip),
            (false, true) => Some(Family::Ip6),
            (false, false) => None,
        },
    };
    found.map_or(Lookup::Refused, Lookup::Found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_as_the_kernel_keeps_them() {
        assert_eq!(lookup("ftp", TCP, Family::Inet), Lookup::Found(Family::Inet));
        assert_eq!(lookup("irc", TCP, Family::Inet), Lookup::Found(Family::Ip));
        assert_eq!(lookup("irc", TCP, Family::Ip6), Lookup::Refused);
        assert_eq!(lookup("ftp", UDP, Family::Ip), Lookup::Refused);
        assert_eq!(lookup("ssdp", UDP, Family::Inet), Lookup::Unknown);
        assert_eq!(lookup("sip", UDP, Family::Ip6), Lookup::Found(Family::Ip6));
    }
}
