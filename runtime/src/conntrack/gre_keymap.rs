//! The GRE keymap (`nf_ct_gre_keymap`): the source keys PPTP's GRE packets do not carry.
//!
//! An enhanced GRE packet (version 1, PPTP's) carries one key, the call ID its receiver
//! chose, which becomes its tuple's destination key; its source key — the call ID the other
//! side chose — is known only from the PPTP control connection. The PPTP helper adds, for
//! the call it sees set up, one entry per direction: addresses, protocol and destination key
//! of that direction's GRE packets, with the source key to give them. A GRE packet's tuple
//! takes its source key from the first entry matching it (0 without one), so both directions
//! of a call are one connection. Entries go with their call (its disconnect notice) or with
//! the control connection.

use super::entry::ConnId;
use super::tuple::Tuple;

/// The keymap entries of every control connection, in the order they were added.
#[derive(Clone, Debug, Default)]
pub struct GreKeymap {
    entries: Vec<(ConnId, [Tuple; 2])>,
}

/// What [`GreKeymap::add`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeymapAdd {
    /// The control connection's entries are these tuples now.
    Added,
    /// It had entries for these tuples already (a retransmitted call setup).
    Duplicate,
    /// It has entries for another call: one call per control connection.
    Refused,
}

/// Does entry tuple `km` give `t` its source key (`gre_key_cmpfn`: addresses, protocol and
/// destination key)?
fn covers(km: &Tuple, t: &Tuple) -> bool {
    km.l3 == t.l3 && km.src == t.src && km.dst == t.dst && km.proto == t.proto && km.dst_id == t.dst_id
}

impl GreKeymap {
    /// The source key for GRE tuple `t` (0 when no entry covers it).
    pub fn source_key(&self, t: &Tuple) -> u16 {
        self.entries
            .iter()
            .flat_map(|(_, pair)| pair.iter())
            .find(|km| covers(km, t))
            .map_or(0, |km| km.src_id)
    }

    /// `nf_ct_gre_keymap_add`: the entries of `master`'s call, original then reply
    /// direction.
    pub fn add(&mut self, master: ConnId, orig: Tuple, reply: Tuple) -> KeymapAdd {
        match self.entries.iter().find(|(m, _)| *m == master) {
            Some((_, [o, r])) if covers(o, &orig) && covers(r, &reply) => KeymapAdd::Duplicate,
            Some(_) => KeymapAdd::Refused,
            None => {
                self.entries.push((master, [orig, reply]));
                KeymapAdd::Added
            }
        }
    }

    /// `nf_ct_gre_keymap_destroy`: forgets `master`'s entries.
    pub fn remove(&mut self, master: ConnId) {
        if !self.entries.is_empty() {
            self.entries.retain(|(m, _)| *m != master);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn gre(src: &str, dst: &str, src_key: u16, dst_key: u16) -> Tuple {
        Tuple::gre(src.parse::<IpAddr>().unwrap(), dst.parse::<IpAddr>().unwrap(), src_key, dst_key)
    }

    #[test]
    fn a_call_gives_both_directions_their_source_keys() {
        let mut km = GreKeymap::default();
        let master = ConnId { slot: 1, generation: 0 };
        let (orig, reply) =
            (gre("10.0.1.2", "10.0.2.2", 0x11, 0x22), gre("10.0.2.2", "10.0.1.2", 0x22, 0x11));
        assert_eq!(km.add(master, orig, reply), KeymapAdd::Added);
        // A packet's tuple has its destination key only: the entry fills in the source key.
        assert_eq!(km.source_key(&gre("10.0.1.2", "10.0.2.2", 0, 0x22)), 0x11);
        assert_eq!(km.source_key(&gre("10.0.2.2", "10.0.1.2", 0, 0x11)), 0x22);
        assert_eq!(km.source_key(&gre("10.0.2.2", "10.0.1.2", 0, 0x12)), 0, "another call ID");
        assert_eq!(km.add(master, orig, reply), KeymapAdd::Duplicate);
        let other = gre("10.0.1.2", "10.0.2.2", 0x11, 0x23);
        assert_eq!(km.add(master, other, reply), KeymapAdd::Refused, "one call per control connection");
        km.remove(master);
        assert!(km.is_empty());
        assert_eq!(km.source_key(&gre("10.0.1.2", "10.0.2.2", 0, 0x22)), 0);
    }
}
