//! The environment benchmarked rules run against: what the runtime would answer for a packet
//! of one flow, without the hook pipeline around it.
//!
//! `meta mark` reads and writes a field (so a ClassBench rule's `meta mark set i` is
//! observable), `ct state` answers a fixed state (new by default; `established` models a
//! packet of an established flow), and `meta iif`/`oif` answer fixed interface indexes when
//! given. Everything else is the VM's default: the lookup fails and the rule does not match.

use nftvm_vm::interp::Env;
use nftvm_vm::keys::{CtDir, CtKey, MetaKey, ct_state};

/// A per-flow environment (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BenchEnv {
    /// The packet mark (`meta mark`).
    pub mark: u32,
    /// `ct state` bits ([`ct_state`]).
    pub ct_state: u32,
    /// `meta iif` / `meta oif` interface indexes, when known.
    pub iif: Option<u32>,
    pub oif: Option<u32>,
}

impl Default for BenchEnv {
    fn default() -> Self {
        BenchEnv { mark: 0, ct_state: ct_state::NEW, iif: None, oif: None }
    }
}

impl BenchEnv {
    /// The `ct state` bits of a state name (`new`, `established`, `related`, `invalid`,
    /// `untracked`).
    pub fn ct_state_named(name: &str) -> Option<u32> {
        Some(match name {
            "new" => ct_state::NEW,
            "established" => ct_state::ESTABLISHED,
            "related" => ct_state::RELATED,
            "invalid" => ct_state::INVALID,
            "untracked" => ct_state::UNTRACKED,
            _ => return None,
        })
    }
}

fn put_u32(out: &mut [u8], v: u32) -> bool {
    if out.len() != 4 {
        return false;
    }
    out.copy_from_slice(&v.to_le_bytes());
    true
}

impl Env for BenchEnv {
    fn meta_get(&mut self, key: MetaKey, out: &mut [u8]) -> bool {
        match key {
            MetaKey::Mark => put_u32(out, self.mark),
            MetaKey::Iif => self.iif.is_some_and(|i| put_u32(out, i)),
            MetaKey::Oif => self.oif.is_some_and(|i| put_u32(out, i)),
            _ => false,
        }
    }

    fn meta_set(&mut self, key: MetaKey, value: &[u8]) {
        if let (MetaKey::Mark, Ok(b)) = (key, <[u8; 4]>::try_from(value)) {
            self.mark = u32::from_le_bytes(b);
        }
    }

    fn ct_get(&mut self, key: CtKey, _dir: Option<CtDir>, out: &mut [u8]) -> bool {
        key == CtKey::State && put_u32(out, self.ct_state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mark_round_trips_and_ct_state_answers() {
        let mut env = BenchEnv::default();
        env.meta_set(MetaKey::Mark, &7u32.to_le_bytes());
        let mut out = [0u8; 4];
        assert!(env.meta_get(MetaKey::Mark, &mut out));
        assert_eq!(u32::from_le_bytes(out), 7);
        assert!(env.ct_get(CtKey::State, None, &mut out));
        assert_eq!(u32::from_le_bytes(out), ct_state::NEW);
        assert!(!env.meta_get(MetaKey::Iif, &mut out));
        assert_eq!(BenchEnv::ct_state_named("established"), Some(ct_state::ESTABLISHED));
        assert_eq!(BenchEnv::ct_state_named("bogus"), None);
    }
}
