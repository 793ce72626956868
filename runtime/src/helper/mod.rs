//! Connection-tracking helpers (FTP, TFTP): they read a control connection's payload and
//! announce expectations, so that the data connection is RELATED to it, and with NAT
//! rewrite the addresses in the payload (FTP) or NAT the data connection like its master.
//!
//! As in Linux ≥ 4.7 there is no automatic assignment by port: a helper is attached to a
//! new connection explicitly (`ct helper set "ftp"`, [`crate::conntrack::Conntrack::set_helper`]).
//! The helper runs at the confirm point (end of postrouting / input), before sequence
//! adjustment, on every packet of a connection that has one.

pub mod ftp;
pub mod mangle;
pub mod tftp;

use crate::conntrack::Conntrack;
use crate::conntrack::expect::{ExpectError, Expectation};
use crate::conntrack::packet::Time;
use crate::conntrack::tuple::proto;

/// A helper that can be attached to a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Helper {
    Ftp,
    Tftp,
}

impl Helper {
    /// The helper's name (`helper=…` in `conntrack -L`, `ct helper` in nft).
    pub fn name(self) -> &'static str {
        match self {
            Helper::Ftp => "ftp",
            Helper::Tftp => "tftp",
        }
    }

    /// Looks a helper up by name.
    pub fn from_name(name: &str) -> Option<Helper> {
        match name {
            "ftp" => Some(Helper::Ftp),
            "tftp" => Some(Helper::Tftp),
            _ => None,
        }
    }

    /// The layer-4 protocol the helper works on (a `ct helper` object for another
    /// protocol does not attach).
    pub fn l4proto(self) -> u8 {
        match self {
            Helper::Ftp => proto::TCP,
            Helper::Tftp => proto::UDP,
        }
    }

    /// Expectations one master may have pending (`max_expected`).
    pub fn max_expected(self) -> usize {
        match self {
            Helper::Ftp | Helper::Tftp => 1,
        }
    }

    /// Lifetime of an expectation, in seconds.
    pub fn expect_timeout(self) -> u32 {
        match self {
            Helper::Ftp | Helper::Tftp => 300,
        }
    }
}

/// Per-connection helper state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum HelperData {
    #[default]
    None,
    Ftp(ftp::FtpState),
}

impl HelperData {
    /// Fresh state for a connection the helper was just attached to.
    pub fn for_helper(helper: Helper) -> HelperData {
        match helper {
            Helper::Ftp => HelperData::Ftp(ftp::FtpState::default()),
            Helper::Tftp => HelperData::None,
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
        for h in [Helper::Ftp, Helper::Tftp] {
            assert!(nftvm_vm::expr::ct_template::RUN_HELPERS.contains(&h.name()), "{h:?}");
        }
    }
}
