//! Connection-tracking helpers (FTP, TFTP, IRC, SANE, Amanda, PPTP): they read a control
//! connection's payload and announce expectations, so that the data connection is RELATED
//! to it, and with NAT rewrite the addresses or ports in the payload (FTP, IRC, Amanda) or
//! NAT the data connection like its master (all but SANE, which has no NAT helper; PPTP's
//! rewrites call IDs and NATs the call's GRE its own way).
//!
//! The broadcast helpers (NetBIOS name service, SNMP) and SNMP's trap helper attach too:
//! `ct helper "netbios-ns"` matches their connections and `conntrack -L` shows them. The
//! first two only ever act on a query the host itself broadcasts from a socket (the kernel's
//! `nf_conntrack_broadcast_help` expects the answers from the subnet), which nftvm — no
//! local sockets — never sends; so on the packets nftvm sees they do what the kernel's do
//! on forwarded and received ones: nothing. (SNMP's NAT helper, which rewrites addresses
//! inside SNMP messages of NATed connections, is not run: see the README.)
//!
//! As in Linux ≥ 4.7 there is no automatic assignment by port: a helper is attached to a
//! new connection explicitly (`ct helper set "ftp"`, [`crate::conntrack::Conntrack::set_helper`]).
//! The helper runs at the confirm point (end of postrouting / input), before sequence
//! adjustment, on every packet of a connection that has one.

pub mod amanda;
pub mod ftp;
pub mod irc;
pub mod mangle;
pub mod pptp;
pub mod sane;
pub mod tftp;

use crate::conntrack::Conntrack;
use crate::conntrack::expect::{ExpectError, Expectation};
use crate::conntrack::packet::Time;
use crate::conntrack::tuple::{L3, proto};

/// A helper that can be attached to a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Helper {
    Ftp,
    Tftp,
    Irc,
    Sane,
    Amanda,
    /// `netbios-ns` (`nf_conntrack_netbios_ns`).
    NetbiosNs,
    /// `snmp` (`nf_conntrack_snmp`).
    Snmp,
    /// `snmp_trap` (`nf_nat_snmp_basic`).
    SnmpTrap,
    Pptp,
}

impl Helper {
    /// Every helper nftvm attaches.
    pub const ALL: [Helper; 9] = [
        Helper::Ftp,
        Helper::Tftp,
        Helper::Irc,
        Helper::Sane,
        Helper::Amanda,
        Helper::NetbiosNs,
        Helper::Snmp,
        Helper::SnmpTrap,
        Helper::Pptp,
    ];

    /// The helper's name (`helper=…` in `conntrack -L`, `ct helper` in nft).
    pub fn name(self) -> &'static str {
        match self {
            Helper::Ftp => "ftp",
            Helper::Tftp => "tftp",
            Helper::Irc => "irc",
            Helper::Sane => "sane",
            Helper::Amanda => "amanda",
            Helper::NetbiosNs => "netbios-ns",
            Helper::Snmp => "snmp",
            Helper::SnmpTrap => "snmp_trap",
            Helper::Pptp => "pptp",
        }
    }

    /// Looks a helper up by name.
    pub fn from_name(name: &str) -> Option<Helper> {
        match name {
            "ftp" => Some(Helper::Ftp),
            "tftp" => Some(Helper::Tftp),
            "irc" => Some(Helper::Irc),
            "sane" => Some(Helper::Sane),
            "amanda" => Some(Helper::Amanda),
            "netbios-ns" => Some(Helper::NetbiosNs),
            "snmp" => Some(Helper::Snmp),
            "snmp_trap" => Some(Helper::SnmpTrap),
            "pptp" => Some(Helper::Pptp),
            _ => None,
        }
    }

    /// The layer-4 protocol the helper works on (a `ct helper` object for another
    /// protocol does not attach).
    pub fn l4proto(self) -> u8 {
        match self {
            Helper::Ftp | Helper::Irc | Helper::Sane | Helper::Pptp => proto::TCP,
            Helper::Tftp | Helper::Amanda | Helper::NetbiosNs | Helper::Snmp | Helper::SnmpTrap => proto::UDP,
        }
    }

    /// Does the kernel register the helper for this family? (IRC's, NetBIOS's, SNMP's and
    /// PPTP's are IPv4 only: an IPv6 connection they are set on gets no helper.)
    pub fn serves(self, l3: L3) -> bool {
        match self {
            Helper::Ftp | Helper::Tftp | Helper::Sane | Helper::Amanda => true,
            Helper::Irc | Helper::NetbiosNs | Helper::Snmp | Helper::SnmpTrap | Helper::Pptp => {
                l3 == L3::Ipv4
            }
        }
    }

    /// Expectations one master may have pending (`max_expected`; IRC's
    /// `max_dcc_channels`; 0: no limit, as SNMP trap's policy says). It bounds a `ct
    /// expectation` object's expectations on the connection too.
    pub fn max_expected(self) -> usize {
        match self {
            Helper::Ftp | Helper::Tftp | Helper::Sane | Helper::NetbiosNs | Helper::Snmp => 1,
            Helper::Irc => 8,
            Helper::Amanda => 3,
            Helper::Pptp => 2,
            Helper::SnmpTrap => 0,
        }
    }

    /// Lifetime of an expectation, in seconds (IRC's `dcc_timeout`).
    pub fn expect_timeout(self) -> u32 {
        match self {
            Helper::Ftp | Helper::Tftp | Helper::Irc | Helper::Sane | Helper::Pptp => 300,
            Helper::Amanda | Helper::SnmpTrap => 180,
            Helper::NetbiosNs => 3,
            Helper::Snmp => 30,
        }
    }
}

/// Per-connection helper state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum HelperData {
    #[default]
    None,
    Ftp(ftp::FtpState),
    Sane(sane::SaneState),
    Pptp(pptp::PptpState),
}

impl HelperData {
    /// Fresh state for a connection the helper was just attached to.
    pub fn for_helper(helper: Helper) -> HelperData {
        match helper {
            Helper::Ftp => HelperData::Ftp(ftp::FtpState::default()),
            Helper::Sane => HelperData::Sane(sane::SaneState::default()),
            Helper::Pptp => HelperData::Pptp(pptp::PptpState::default()),
            Helper::Tftp
            | Helper::Irc
            | Helper::Amanda
            | Helper::NetbiosNs
            | Helper::Snmp
            | Helper::SnmpTrap => HelperData::None,
        }
    }
}

impl Conntrack {
    /// `nf_ct_expect_related`: registers `exp` under its master's helper policy (how many
    /// one master may have pending; no limit for a master without a helper, as for a `ct
    /// expectation` object's).
    pub(crate) fn expect_related(&mut self, exp: Expectation, now: Time) -> Result<(), ExpectError> {
        let per_master = self.get(exp.master).and_then(|c| c.helper).map_or(0, Helper::max_expected);
        let max = self.cfg.expect_max;
        self.expect.add(exp, per_master, max, now)?;
        self.stats.expect_create += 1;
        Ok(())
    }

    /// `nf_nat_exp_find_port`: registers `exp` on the announced `port` if it can be
    /// expected, else on a random one above it (up to 128 tries); the port it got, with
    /// `exp` updated to the registered expectation (to remove it if the helper then fails).
    pub(crate) fn expect_find_port(&mut self, exp: &mut Expectation, port: u16, now: Time) -> Option<u16> {
        let min = port;
        let range = 65535 - u32::from(port);
        let mut attempts_left = range.min(128) as i32;
        let mut port = port;
        loop {
            exp.tuple.dst_id = port;
            match self.expect_related(*exp, now) {
                Ok(()) => {
                    if let Some(e) = self.expect.iter().find(|e| e.same_as(exp)) {
                        *exp = *e;
                    }
                    return Some(port);
                }
                Err(ExpectError::Busy) => {
                    attempts_left -= 1;
                    if attempts_left < 0 {
                        return None;
                    }
                    port = min.wrapping_add((self.next_random() % u64::from(range.max(1))) as u16);
                }
                Err(_) => return None,
            }
        }
    }
}

#[cfg(test)]
mod run_helpers_tests {
    use super::Helper;

    /// The compiler warns about `-j CT --helper` names outside the VM's list: it must name
    /// exactly the helpers this runtime runs.
    #[test]
    fn the_vms_list_of_helpers_is_the_runtimes() {
        for name in nftvm_vm::expr::ct_template::RUN_HELPERS {
            assert_eq!(Helper::from_name(name).map(Helper::name), Some(name), "{name}");
        }
        for h in Helper::ALL {
            assert!(nftvm_vm::expr::ct_template::RUN_HELPERS.contains(&h.name()), "{h:?}");
        }
    }
}
