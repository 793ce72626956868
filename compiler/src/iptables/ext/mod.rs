//! The extension framework: how a match (`-m NAME`) or target (`-j NAME`) declares its
//! options, parses their arguments into typed values, validates the combination, prints its
//! canonical iptables-save form and states its load-time (kernel) constraints.
//!
//! This mirrors libxtables' option tables (`struct xt_option_entry`): every extension lists
//! its long options with an id, whether they take an argument, may be negated (`!`), repeated,
//! are mandatory, exclude or require each other. The generic checks run here, centrally, so an
//! extension only has to turn one argument into typed data ([`Extension::parse`]), check the
//! whole ([`Extension::finish`]) and print itself ([`Extension::save`]).
//!
//! The typed extension values are plain Rust structs gathered in the [`Match`] and
//! [`Target`] enums (see [`crate::iptables::matches`] and [`crate::iptables::targets`]), so
//! later stages (lowering to the IR, translation to nft) `match` on them.
//!
//! [`Match`]: crate::iptables::matches::Match
//! [`Target`]: crate::iptables::targets::Target

use crate::iptables::Family;
use crate::iptables::ip::IpPart;
use crate::iptables::save::SaveBuf;
use nftvm_grammar::iptables::ast::Word;
use std::fmt;

/// Whether an option takes an argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgKind {
    None,
    Required,
    /// Only as `--name=value`, like getopt's optional arguments.
    Optional,
}

/// One long option of an extension (`--name`).
#[derive(Clone, Copy, Debug)]
pub struct OptSpec {
    pub name: &'static str,
    /// The extension's own id for the option; several names may share an id (synonyms).
    pub id: u8,
    pub arg: ArgKind,
    /// May be preceded by `!`.
    pub invert: bool,
    /// May be given more than once.
    pub multi: bool,
    /// Must be given.
    pub mand: bool,
    /// Bit set (by id) of options this one cannot be combined with.
    pub excl: u64,
    /// Bit set (by id) of options this one requires.
    pub also: u64,
}

impl OptSpec {
    /// An option with one required argument.
    pub const fn arg(name: &'static str, id: u8) -> OptSpec {
        OptSpec {
            name,
            id,
            arg: ArgKind::Required,
            invert: false,
            multi: false,
            mand: false,
            excl: 0,
            also: 0,
        }
    }
    /// An option without argument.
    pub const fn flag(name: &'static str, id: u8) -> OptSpec {
        OptSpec { arg: ArgKind::None, ..OptSpec::arg(name, id) }
    }
    pub const fn optional(mut self) -> OptSpec {
        self.arg = ArgKind::Optional;
        self
    }
    pub const fn inv(mut self) -> OptSpec {
        self.invert = true;
        self
    }
    pub const fn multi(mut self) -> OptSpec {
        self.multi = true;
        self
    }
    pub const fn mand(mut self) -> OptSpec {
        self.mand = true;
        self
    }
    pub const fn excl(mut self, ids: u64) -> OptSpec {
        self.excl |= ids;
        self
    }
    pub const fn also(mut self, ids: u64) -> OptSpec {
        self.also |= ids;
        self
    }
}

/// Bit for an option id, for `excl`/`also` sets and `seen` masks.
pub const fn bit(id: u8) -> u64 {
    1u64 << id
}

/// What the rule looks like when an option is parsed (extensions consult the protocol).
#[derive(Clone, Copy, Debug)]
pub struct ParseCx<'a> {
    pub family: Family,
    pub table: &'a str,
    pub ip: &'a IpPart,
}

/// One option occurrence handed to [`Extension::parse`].
pub struct OptCall<'a> {
    pub spec: &'static OptSpec,
    /// The argument (empty when the option takes none).
    pub arg: &'a str,
    pub invert: bool,
    pub cx: ParseCx<'a>,
    /// Words following the option (for the few old-style options that take two arguments,
    /// such as `--tcp-flags MASK COMP`), and how many of them [`OptCall::take_word`] consumed.
    pub following: &'a [&'a Word],
    pub consumed: usize,
}

impl<'a> OptCall<'a> {
    /// Consume the next word as an extra argument, if it does not look like an option or `!`
    /// (iptables' `argv[optind]` checks).
    pub fn take_word(&mut self) -> Option<&'a str> {
        let w = self.following.get(self.consumed)?;
        if w.text.starts_with('-') || w.text.starts_with('!') {
            return None;
        }
        self.consumed += 1;
        Some(w.text.as_str())
    }

    pub fn family(&self) -> Family {
        self.cx.family
    }
}

/// Where a constraint is checked: the chain a rule is loaded into (what the kernel checks).
#[derive(Clone, Copy, Debug)]
pub struct LoadCx<'a> {
    pub family: Family,
    pub table: &'a str,
    /// The hook of a built-in chain; `None` for user-defined chains.
    pub hook: Option<Hook>,
    pub ip: &'a IpPart,
    /// The other matches of the rule (some targets need e.g. a SYN flag match).
    pub matches: &'a [crate::iptables::rule::MatchEntry],
    /// The ipsets that exist (`-m set` and `-j SET` name them).
    pub ipsets: &'a crate::ipset::Ipsets,
}

/// Netfilter hooks of the IPv4/IPv6 families.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Hook {
    Prerouting,
    Input,
    Forward,
    Output,
    Postrouting,
}

impl Hook {
    /// The hook of a built-in chain name.
    pub fn of_builtin_chain(name: &str) -> Option<Hook> {
        Some(match name {
            "PREROUTING" => Hook::Prerouting,
            "INPUT" => Hook::Input,
            "FORWARD" => Hook::Forward,
            "OUTPUT" => Hook::Output,
            "POSTROUTING" => Hook::Postrouting,
            _ => return None,
        })
    }

    pub fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// Hook bit sets for load constraints.
pub mod hooks {
    use super::Hook;
    pub const PRE: u8 = 1 << Hook::Prerouting as u8;
    pub const IN: u8 = 1 << Hook::Input as u8;
    pub const FWD: u8 = 1 << Hook::Forward as u8;
    pub const OUT: u8 = 1 << Hook::Output as u8;
    pub const POST: u8 = 1 << Hook::Postrouting as u8;
    pub const ALL: u8 = PRE | IN | FWD | OUT | POST;
}

impl<'a> LoadCx<'a> {
    /// The chain's hook must be in `allowed` (user chains pass: the kernel validates them when
    /// they are jumped to).
    pub fn require_hooks(&self, allowed: u8, what: &str) -> Result<(), String> {
        match self.hook {
            Some(h) if h.bit() & allowed == 0 => Err(format!("{what} cannot be used in this chain")),
            _ => Ok(()),
        }
    }

    /// The rule must match exactly protocol `proto` (`-p` given, not negated).
    pub fn require_proto(&self, protos: &[u8], what: &str) -> Result<(), String> {
        match self.ip.proto {
            Some(p) if !p.invert && protos.contains(&p.value) => Ok(()),
            _ => Err(format!("{what} requires {}", proto_requirement(protos))),
        }
    }

    pub fn require_table(&self, tables: &[&str], what: &str) -> Result<(), String> {
        if tables.contains(&self.table) {
            Ok(())
        } else {
            Err(format!("{what} is only valid in the {} table", tables.join("/")))
        }
    }
}

fn proto_requirement(protos: &[u8]) -> String {
    let names: Vec<String> = protos
        .iter()
        .map(|&p| {
            crate::iptables::values::protocols::chain_proto_name(p)
                .map_or_else(|| p.to_string(), str::to_string)
        })
        .collect();
    format!("\"-p {}\"", names.join("\" or \"-p "))
}

/// Behaviour every match and target implements.
pub trait Extension: fmt::Debug {
    /// The option table.
    fn options(&self) -> &'static [OptSpec];

    /// Turn one option occurrence into typed data. The generic checks (repetition, `!`,
    /// presence of the argument) have already passed.
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String>;

    /// Check the combination once all options are parsed (after the generic mandatory /
    /// exclusion checks); `seen` has the bits of the option ids given.
    fn finish(&mut self, seen: u64, cx: &ParseCx<'_>) -> Result<(), String> {
        let _ = (seen, cx);
        Ok(())
    }

    /// Append the canonical iptables-save form of the options (each piece starts with a
    /// space, as iptables prints it).
    fn save(&self, out: &mut SaveBuf);

    /// Load-time constraints (what the kernel's checkentry enforces).
    fn check_load(&self, cx: &LoadCx<'_>) -> Result<(), String> {
        let _ = cx;
        Ok(())
    }
}

/// The generic checks of libxtables' option framework, run after all options of one
/// extension instance have been parsed: mandatory options, exclusions, requirements.
pub fn generic_final_check(ext: &str, specs: &[OptSpec], seen: u64) -> Result<(), String> {
    for spec in specs {
        if spec.mand && seen & bit(spec.id) == 0 {
            return Err(format!("{ext}: option \"--{}\" must be specified", spec.name));
        }
    }
    for spec in specs {
        if seen & bit(spec.id) == 0 {
            continue;
        }
        for other in specs {
            if other.id == spec.id {
                continue;
            }
            if spec.also & bit(other.id) != 0 && seen & bit(other.id) == 0 {
                return Err(format!("{ext}: option \"--{}\" also requires \"--{}\"", spec.name, other.name));
            }
            if spec.excl & bit(other.id) != 0 && seen & bit(other.id) != 0 {
                return Err(format!(
                    "{ext}: option \"--{}\" cannot be used together with \"--{}\"",
                    spec.name, other.name
                ));
            }
        }
    }
    Ok(())
}

/// Declares an enum of extension structs with `ext()`/`ext_mut()` giving the
/// [`Extension`] behind each variant.
macro_rules! ext_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $var:ident($ty:ty)),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Debug, PartialEq)]
        pub enum $name { $($(#[$vm])* $var($ty)),* }

        impl $name {
            /// The extension behaviour of this value.
            pub fn ext(&self) -> &dyn $crate::iptables::ext::Extension {
                match self { $($name::$var(x) => x),* }
            }

            /// Mutable access, for parsing.
            pub fn ext_mut(&mut self) -> &mut dyn $crate::iptables::ext::Extension {
                match self { $($name::$var(x) => x),* }
            }
        }
    };
}
pub(crate) use ext_enum;

/// A registered extension: the name iptables knows it by, the family it exists for
/// (`None`: both), and how to make a fresh instance.
pub struct ExtDef<T: 'static> {
    pub name: &'static str,
    pub family: Option<Family>,
    pub new: fn(Family) -> T,
}

/// Find an extension by name for a family.
pub fn find_def<T>(defs: &'static [ExtDef<T>], name: &str, family: Family) -> Option<&'static ExtDef<T>> {
    defs.iter().find(|d| d.name == name && d.family.is_none_or(|f| f == family))
}
