//! `fib` lookups: `fib <flag>[ . <flag>…] <result>` — which packet fields key the routing
//! lookup (`saddr`, `daddr`, `mark`, `iif`, `oif`) and what it returns (`oif`, `oifname`,
//! `type`, or `check` for existence).

use crate::types::{ByteOrder, Type};

/// `NFTA_FIB_F_*` flags.
pub mod flags {
    pub const SADDR: u32 = 1 << 0;
    pub const DADDR: u32 = 1 << 1;
    pub const MARK: u32 = 1 << 2;
    pub const IIF: u32 = 1 << 3;
    pub const OIF: u32 = 1 << 4;
    pub const PRESENT: u32 = 1 << 5;
}

/// The flag words, in the order nft prints them.
pub static FLAG_WORDS: &[(&str, u32)] = &[
    ("saddr", flags::SADDR),
    ("daddr", flags::DADDR),
    ("mark", flags::MARK),
    ("iif", flags::IIF),
    ("oif", flags::OIF),
];

/// `NFT_FIB_RESULT_*`, plus `check` (oif with the PRESENT flag).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FibResult {
    Oif,
    OifName,
    AddrType,
    Check,
}

impl FibResult {
    /// The word that names it.
    pub fn token(self) -> &'static str {
        match self {
            FibResult::Oif => "oif",
            FibResult::OifName => "oifname",
            FibResult::AddrType => "type",
            FibResult::Check => "check",
        }
    }

    /// The kernel's result number (check is `oif` + [`flags::PRESENT`]).
    pub fn number(self) -> u32 {
        match self {
            FibResult::Oif | FibResult::Check => 1,
            FibResult::OifName => 2,
            FibResult::AddrType => 3,
        }
    }

    /// Datatype, width and byte order of the result.
    pub fn value_type(self) -> (Type, u32, ByteOrder) {
        match self {
            FibResult::Oif => (Type::IfIndex, 32, ByteOrder::Host),
            FibResult::OifName => (Type::IfName, 128, ByteOrder::Host),
            FibResult::AddrType => (Type::FibAddrType, 32, ByteOrder::Host),
            FibResult::Check => (Type::Boolean, 8, ByteOrder::Host),
        }
    }

    /// The result a word names.
    pub fn from_token(word: &str) -> Option<FibResult> {
        [FibResult::Oif, FibResult::OifName, FibResult::AddrType, FibResult::Check]
            .into_iter()
            .find(|r| r.token() == word)
    }
}

/// The flag a word names.
pub fn flag(word: &str) -> Option<u32> {
    FLAG_WORDS.iter().find(|(w, _)| *w == word).map(|&(_, f)| f)
}

/// nft's checks on a flag set and result.
pub fn validate(flag_set: u32, result: FibResult) -> Result<(), String> {
    let sd = flag_set & (flags::SADDR | flags::DADDR);
    if sd == 0 {
        return Err("fib: need either saddr or daddr".into());
    }
    if sd == flags::SADDR | flags::DADDR {
        return Err("fib: saddr and daddr are mutually exclusive".into());
    }
    if flag_set & flags::IIF != 0 && flag_set & flags::OIF != 0 {
        return Err("fib: iif and oif are mutually exclusive".into());
    }
    if result == FibResult::AddrType && flag_set & flags::OIF != 0 {
        return Err("fib: oif is not supported with type".into());
    }
    Ok(())
}

/// `fib saddr . iif` as nft prints the flags.
pub fn print_flags(flag_set: u32) -> String {
    FLAG_WORDS.iter().filter(|&&(_, f)| flag_set & f != 0).map(|&(w, _)| w).collect::<Vec<_>>().join(" . ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_matches_nfts_tests() {
        let f = |words: &[&str]| words.iter().map(|w| flag(w).unwrap()).fold(0, |a, b| a | b);
        assert!(validate(f(&["saddr", "daddr"]), FibResult::Oif).is_err());
        assert!(validate(f(&["iif", "oif", "daddr"]), FibResult::Oif).is_err());
        assert!(validate(f(&["mark"]), FibResult::Oif).is_err());
        assert!(validate(f(&["daddr", "oif"]), FibResult::AddrType).is_err());
        assert!(validate(f(&["saddr", "iif"]), FibResult::OifName).is_ok());
        assert_eq!(print_flags(f(&["iif", "saddr"])), "saddr . iif");
        assert_eq!(FibResult::from_token("type"), Some(FibResult::AddrType));
    }
}
