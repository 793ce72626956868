//! How iptables-nft registers the built-in chains of its tables (`nft.c`'s table
//! definitions): chain type, hook and priority.

use crate::iptables::check::builtin_hook;
use crate::iptables::ext::Hook as IptHook;
use crate::ir::{ChainType, Hook};

/// A base chain registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainReg {
    pub chain_type: ChainType,
    pub hook: Hook,
    pub priority: i32,
}

/// The priority iptables-nft gives the chains of a table at a hook (`NF_IP_PRI_*`).
pub fn table_priority(table: &str, hook: Hook) -> i32 {
    match table {
        "raw" => -300,
        "mangle" => -150,
        "security" => 50,
        "nat" => match hook {
            Hook::Prerouting | Hook::Output => -100,
            _ => 100,
        },
        _ => 0,
    }
}

fn ir_hook(h: IptHook) -> Hook {
    match h {
        IptHook::Prerouting => Hook::Prerouting,
        IptHook::Input => Hook::Input,
        IptHook::Forward => Hook::Forward,
        IptHook::Output => Hook::Output,
        IptHook::Postrouting => Hook::Postrouting,
    }
}

/// The registration of `chain` in `table`, None for user chains.
pub fn chain_registration(table: &str, chain: &str) -> Option<ChainReg> {
    let hook = ir_hook(builtin_hook(table, chain)?);
    let chain_type = match (table, chain) {
        ("nat", _) => ChainType::Nat,
        ("mangle", "OUTPUT") => ChainType::Route,
        _ => ChainType::Filter,
    };
    Some(ChainReg { chain_type, hook, priority: table_priority(table, hook) })
}
