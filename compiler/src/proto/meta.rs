//! `meta` keys: the rule-language token of each `NFT_META_*` key, its datatype, width and
//! byte order, whether it may be written without `meta` (`mark`, `iifname`) and whether
//! nft prints it that way (`iif`, `oifname`, `iifgroup`), and where it is allowed.

use crate::types::{ByteOrder, Type};
use nftvm_vm::keys::{Family, Hook, MetaKey};

/// Facts about one meta key.
#[derive(Debug, PartialEq)]
pub struct MetaInfo {
    pub key: MetaKey,
    /// The word after `meta` (and the printed name).
    pub token: &'static str,
    /// Older words accepted for the same key.
    pub aliases: &'static [&'static str],
    pub ty: Type,
    /// Width in bits (1 for `nftrace`/`broute`: a one-byte register holding 0 or 1).
    pub bits: u32,
    pub order: ByteOrder,
    /// May be written without the `meta` keyword.
    pub unqualified: bool,
    /// nft prints it without `meta`.
    pub prints_unqualified: bool,
    /// Families where it can be loaded (None: all).
    pub families: Option<&'static [Family]>,
    /// Hooks where the kernel allows loading it (None: all).
    pub hooks: Option<&'static [Hook]>,
    /// `meta <key> set …` is allowed.
    pub settable: bool,
}

const BRIDGE: Option<&[Family]> = Some(&[Family::Bridge]);
const SECPATH_HOOKS: Option<&[Hook]> = Some(&[Hook::Prerouting, Hook::Input, Hook::Forward, Hook::Ingress]);
const SDIF_HOOKS: Option<&[Hook]> = Some(&[Hook::Input, Hook::Forward]);

macro_rules! meta {
    ($key:ident, $tok:expr, $ty:ident, $bits:expr, $order:ident, $unq:expr, $punq:expr) => {
        meta!($key, $tok, $ty, $bits, $order, $unq, $punq, None, None, false, &[])
    };
    ($key:ident, $tok:expr, $ty:ident, $bits:expr, $order:ident, $unq:expr, $punq:expr,
     $fam:expr, $hooks:expr, $set:expr, $aliases:expr) => {
        MetaInfo {
            key: MetaKey::$key,
            token: $tok,
            aliases: $aliases,
            ty: Type::$ty,
            bits: $bits,
            order: ByteOrder::$order,
            unqualified: $unq,
            prints_unqualified: $punq,
            families: $fam,
            hooks: $hooks,
            settable: $set,
        }
    };
}

/// Every meta key, in kernel order.
pub static META_KEYS: &[MetaInfo] = &[
    meta!(Len, "length", Integer, 32, Host, false, false),
    meta!(Protocol, "protocol", EtherType, 16, Network, false, false),
    meta!(Priority, "priority", ClassId, 32, Host, false, false, None, None, true, &[]),
    meta!(Mark, "mark", Mark, 32, Host, true, false, None, None, true, &[]),
    meta!(Iif, "iif", IfIndex, 32, Host, true, true),
    meta!(Oif, "oif", IfIndex, 32, Host, true, true),
    meta!(IifName, "iifname", IfName, 128, Host, true, true),
    meta!(OifName, "oifname", IfName, 128, Host, true, true),
    meta!(IifType, "iiftype", IfType, 16, Host, true, false),
    meta!(OifType, "oiftype", IfType, 16, Host, true, false),
    meta!(SkUid, "skuid", Uid, 32, Host, true, false),
    meta!(SkGid, "skgid", Gid, 32, Host, true, false),
    meta!(Nftrace, "nftrace", Integer, 1, Host, true, false, None, None, true, &[]),
    meta!(RtClassid, "rtclassid", Realm, 32, Host, true, false),
    meta!(Secmark, "secmark", Integer, 32, Host, false, false, None, None, true, &[]),
    meta!(Nfproto, "nfproto", NfProto, 8, Host, false, false),
    meta!(L4proto, "l4proto", InetProto, 8, Host, false, false),
    meta!(BriIifName, "ibrname", IfName, 128, Host, true, false, BRIDGE, None, false, &["ibriport"]),
    meta!(BriOifName, "obrname", IfName, 128, Host, true, false, BRIDGE, None, false, &["obriport"]),
    meta!(PktType, "pkttype", PktType, 8, Host, true, false, None, None, true, &[]),
    meta!(Cpu, "cpu", Integer, 32, Host, true, false),
    meta!(IifGroup, "iifgroup", DevGroup, 32, Host, true, true),
    meta!(OifGroup, "oifgroup", DevGroup, 32, Host, true, true),
    meta!(Cgroup, "cgroup", Integer, 32, Host, true, false),
    meta!(Prandom, "random", Integer, 32, Network, false, false),
    meta!(Secpath, "ipsec", Boolean, 8, Host, false, false, None, SECPATH_HOOKS, false, &["secpath"]),
    meta!(IifKind, "iifkind", IfName, 128, Host, false, false),
    meta!(OifKind, "oifkind", IfName, 128, Host, false, false),
    meta!(BriIifPvid, "ibrpvid", Integer, 16, Host, false, false, BRIDGE, None, false, &[]),
    meta!(BriIifVproto, "ibrvproto", EtherType, 16, Network, false, false, BRIDGE, None, false, &[]),
    meta!(TimeNs, "time", Date, 64, Host, true, false),
    meta!(TimeDay, "day", Day, 8, Host, true, false),
    meta!(TimeHour, "hour", Hour, 32, Host, true, false),
    meta!(Sdif, "sdif", IfIndex, 32, Host, false, false, None, SDIF_HOOKS, false, &[]),
    meta!(SdifName, "sdifname", IfName, 128, Host, false, false, None, SDIF_HOOKS, false, &[]),
    meta!(BriBroute, "broute", Integer, 1, Host, false, false, BRIDGE, None, true, &[]),
    meta!(BriIifHwaddr, "ibrhwaddr", EtherAddr, 48, Network, false, false, BRIDGE, None, false, &[]),
];

/// The facts about a key.
pub fn info(key: MetaKey) -> &'static MetaInfo {
    META_KEYS.iter().find(|m| m.key == key).unwrap_or(&META_KEYS[0])
}

/// The key a word after `meta` names.
pub fn by_token(word: &str) -> Option<&'static MetaInfo> {
    META_KEYS.iter().find(|m| m.token == word || m.aliases.contains(&word))
}

/// The key a word names on its own (`mark`, `iifname`, `skuid`), without `meta`.
pub fn by_unqualified_token(word: &str) -> Option<&'static MetaInfo> {
    by_token(word).filter(|m| m.unqualified)
}

impl MetaInfo {
    /// How nft prints the expression (`meta mark`, `iifname`).
    pub fn printed(&self) -> String {
        if self.prints_unqualified { self.token.to_string() } else { format!("meta {}", self.token) }
    }

    /// Whether the key can be loaded in this family and hook (None: any hook).
    pub fn allowed_in(&self, family: Family, hook: Option<Hook>) -> bool {
        let fam_ok = self.families.is_none_or(|f| f.contains(&family));
        let hook_ok = match (self.hooks, hook) {
            (Some(h), Some(hook)) => h.contains(&hook),
            _ => true,
        };
        fam_ok && hook_ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kernel_key_has_one_entry() {
        for &k in MetaKey::ALL {
            assert_eq!(META_KEYS.iter().filter(|m| m.key == k).count(), 1, "{k}");
            assert_eq!(info(k).key, k);
        }
    }

    #[test]
    fn tokens_and_printing() {
        assert_eq!(by_unqualified_token("mark").unwrap().key, MetaKey::Mark);
        assert!(by_unqualified_token("l4proto").is_none());
        assert_eq!(by_token("l4proto").unwrap().key, MetaKey::L4proto);
        assert_eq!(by_token("ibriport").unwrap().key, MetaKey::BriIifName);
        assert_eq!(info(MetaKey::Iif).printed(), "iif");
        assert_eq!(info(MetaKey::Mark).printed(), "meta mark");
        assert!(!info(MetaKey::BriIifPvid).allowed_in(Family::Ip, None));
        assert!(!info(MetaKey::Secpath).allowed_in(Family::Inet, Some(Hook::Output)));
        assert!(info(MetaKey::Secpath).allowed_in(Family::Inet, Some(Hook::Input)));
    }
}
