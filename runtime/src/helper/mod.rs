//! Connection-tracking helpers (FTP): they read a control connection's payload and
//! announce expectations, so that the data connection is RELATED to it, and with NAT
//! rewrite the addresses in the payload.
//!
//! As in Linux ≥ 4.7 there is no automatic assignment by port: a helper is attached to a
//! new connection explicitly (`ct helper set "ftp"`, [`crate::conntrack::Conntrack::set_helper`]).
//! The helper runs at the confirm point (end of postrouting / input), before sequence
//! adjustment, on every packet of a connection that has one.

pub mod ftp;
pub mod mangle;

use crate::conntrack::tuple::proto;

/// A helper that can be attached to a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Helper {
    Ftp,
}

impl Helper {
    /// The helper's name (`helper=…` in `conntrack -L`, `ct helper` in nft).
    pub fn name(self) -> &'static str {
        match self {
            Helper::Ftp => "ftp",
        }
    }

    /// Looks a helper up by name.
    pub fn from_name(name: &str) -> Option<Helper> {
        match name {
            "ftp" => Some(Helper::Ftp),
            _ => None,
        }
    }

    /// The layer-4 protocol the helper works on (a `ct helper` object for another
    /// protocol does not attach).
    pub fn l4proto(self) -> u8 {
        match self {
            Helper::Ftp => proto::TCP,
        }
    }

    /// Expectations one master may have pending (`max_expected`).
    pub fn max_expected(self) -> usize {
        match self {
            Helper::Ftp => 1,
        }
    }

    /// Lifetime of an expectation, in seconds.
    pub fn expect_timeout(self) -> u32 {
        match self {
            Helper::Ftp => 300,
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
        }
    }
}
