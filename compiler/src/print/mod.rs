//! IR → text. [`nft`] reproduces `nft list ruleset`; the JSON (`nft -j`) and iptables-save
//! printers plug in next to it (see [`Format`]).
//!
//! The nft printer works like nft's delinearizer + printer: it lists what the kernel would
//! give back for the IR — implicit statements left out ([`crate::ir::Stmt::implicit`], see
//! [`crate::check::hide`]), values in their canonical forms (`ct state 8` → `ct state new`,
//! `0x0a` → `10`, protocols by name or number per [`ListOpts`]), set elements sorted,
//! priorities named (`priority filter`, `srcnat + 10`).

mod expr;
pub mod json;
mod listed_match;
pub mod nft;
mod stmt;

pub use crate::types::PrintOpts;

/// Output switches for listings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListOpts {
    /// Value formatting (`-n`, `-S`, `-T`, …).
    pub values: PrintOpts,
    /// `-s`: no counter values, quota usage or element expiries.
    pub stateless: bool,
    /// `-a`: print handles.
    pub handles: bool,
    /// `-y`: priorities as numbers.
    pub numeric_priority: bool,
}

impl ListOpts {
    /// What `nft list ruleset` prints by default (the shell dumps' form).
    pub fn default_listing() -> ListOpts {
        ListOpts::default()
    }

    /// What nftables' py tests compare against (`nft -nn -s list`: protocols as numbers,
    /// no counter values).
    pub fn py_tests() -> ListOpts {
        ListOpts {
            values: PrintOpts { numeric_proto: true, ..PrintOpts::default() },
            stateless: true,
            ..ListOpts::default()
        }
    }
}

/// Output formats of `nftvm list`. Only `Nft` is implemented here; `Json` and
/// `IptablesSave` are the hooks for the JSON and iptables-save printers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Nft,
    Json,
    IptablesSave,
}

impl Format {
    pub fn from_name(name: &str) -> Option<Format> {
        match name {
            "nft" => Some(Format::Nft),
            "json" => Some(Format::Json),
            "iptables-save" => Some(Format::IptablesSave),
            _ => None,
        }
    }
}
