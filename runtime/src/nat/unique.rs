//! Choosing the translated tuple of a new connection (`get_unique_tuple` and
//! `nf_nat_l4proto_unique_tuple` in `nf_nat_core.c`).
//!
//! Order: for source NAT without `random`, keep the original tuple if it is in range and
//! free, or reuse the mapping an earlier connection from the same source got; else pick
//! the address in the range by hashing (Jenkins' lookup3 `jhash2` with the kernel's
//! inputs and initial value, so the address matches the kernel's choice), keep the port
//! if it is in range and free, else search the port range from an offset for a free one.
//!
//! The kernel draws that offset (and the `random` offsets) from its RNG; we draw it from
//! the table's seeded generator. So on a collision the port chosen can differ from the
//! kernel's; what must match is that it lies in the same range and is free.

use nftvm_vm::keys::ct_status as st;

use super::range::{Manip, NatRange, flags};
use crate::conntrack::Conntrack;
use crate::conntrack::entry::ConnId;
use crate::conntrack::packet::Time;
use crate::conntrack::table::SrcKey;
use crate::conntrack::tcp::{TcpState, after};
use crate::conntrack::tuple::{L3, Tuple, proto};

const NF_NAT_MAX_ATTEMPTS: u32 = 128;
const NF_NAT_HARDER_THRESH: u32 = NF_NAT_MAX_ATTEMPTS / 4;

/// Bob Jenkins' lookup3 mix, as the kernel's `jhash2` uses it.
fn jhash_mix(a: &mut u32, b: &mut u32, c: &mut u32) {
    *a = a.wrapping_sub(*c);
    *a ^= c.rotate_left(4);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a);
    *b ^= a.rotate_left(6);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b);
    *c ^= b.rotate_left(8);
    *b = b.wrapping_add(*a);
    *a = a.wrapping_sub(*c);
    *a ^= c.rotate_left(16);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a);
    *b ^= a.rotate_left(19);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b);
    *c ^= b.rotate_left(4);
    *b = b.wrapping_add(*a);
}

/// lookup3's final mix.
fn jhash_final(a: &mut u32, b: &mut u32, c: &mut u32) {
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(14));
    *a ^= *c;
    *a = a.wrapping_sub(c.rotate_left(11));
    *b ^= *a;
    *b = b.wrapping_sub(a.rotate_left(25));
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(16));
    *a ^= *c;
    *a = a.wrapping_sub(c.rotate_left(4));
    *b ^= *a;
    *b = b.wrapping_sub(a.rotate_left(14));
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(24));
}

/// `jhash2(k, length, initval)`.
pub fn jhash2(k: &[u32], initval: u32) -> u32 {
    let init = 0xdead_beef_u32.wrapping_add((k.len() as u32) << 2).wrapping_add(initval);
    let (mut a, mut b, mut c) = (init, init, init);
    let mut rest = k;
    while rest.len() > 3 {
        a = a.wrapping_add(rest[0]);
        b = b.wrapping_add(rest[1]);
        c = c.wrapping_add(rest[2]);
        jhash_mix(&mut a, &mut b, &mut c);
        rest = &rest[3..];
    }
    match rest.len() {
        3 => {
            c = c.wrapping_add(rest[2]);
            b = b.wrapping_add(rest[1]);
            a = a.wrapping_add(rest[0]);
            jhash_final(&mut a, &mut b, &mut c);
        }
        2 => {
            b = b.wrapping_add(rest[1]);
            a = a.wrapping_add(rest[0]);
            jhash_final(&mut a, &mut b, &mut c);
        }
        1 => {
            a = a.wrapping_add(rest[0]);
            jhash_final(&mut a, &mut b, &mut c);
        }
        _ => {}
    }
    c
}

/// `reciprocal_scale`: maps `val` into `0..ep_ro`.
fn reciprocal_scale(val: u32, ep_ro: u32) -> u32 {
    ((u64::from(val) * u64::from(ep_ro)) >> 32) as u32
}

/// The 16 bytes of `union nf_inet_addr` for an address, as four words read the way a
/// little-endian kernel reads them (the reference machine is x86-64).
fn raw_words(l3: L3, addr: u128) -> [u32; 4] {
    let bytes: [u8; 16] = match l3 {
        L3::Ipv4 => {
            let mut b = [0u8; 16];
            b[..4].copy_from_slice(&(addr as u32).to_be_bytes());
            b
        }
        L3::Ipv6 => addr.to_be_bytes(),
    };
    let w = |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    [w(0), w(4), w(8), w(12)]
}

/// The host-order value of 32-bit word `i` of an address (`ntohl(addr.all[i])`).
fn host_word(l3: L3, addr: u128, i: usize) -> u32 {
    match l3 {
        L3::Ipv4 => addr as u32,
        L3::Ipv6 => (addr >> (96 - 32 * i)) as u32,
    }
}

fn set_host_word(l3: L3, addr: &mut u128, i: usize, v: u32) {
    match l3 {
        L3::Ipv4 => *addr = u128::from(v),
        L3::Ipv6 => {
            let shift = 96 - 32 * i;
            *addr = (*addr & !(u128::from(u32::MAX) << shift)) | (u128::from(v) << shift);
        }
    }
}

/// Is the source of `t` inside `range` (`nf_in_range`)?
pub fn in_range(t: &Tuple, range: &NatRange) -> bool {
    if range.has(flags::MAP_IPS) && !(range.min_addr <= t.src && t.src <= range.max_addr) {
        return false;
    }
    if !range.has(flags::PROTO_SPECIFIED) {
        return true;
    }
    l4_in_range(t, Manip::Src, range.min_proto, range.max_proto)
}

/// Is the manipulated port (or ICMP id) of `t` in `min..=max` (`l4proto_in_range`)?
pub fn l4_in_range(t: &Tuple, manip: Manip, min: u16, max: u16) -> bool {
    match t.proto {
        proto::ICMP | proto::ICMPV6 => (min..=max).contains(&t.src_id),
        proto::GRE | proto::TCP | proto::UDP | proto::UDPLITE | proto::SCTP => {
            let port = if manip == Manip::Src { t.src_id } else { t.dst_id };
            (min..=max).contains(&port)
        }
        _ => true,
    }
}

impl Conntrack {
    /// `nf_nat_used_tuple`: would a connection whose original tuple is `t` clash with one
    /// in the table (its reply tuple already taken)?
    pub(crate) fn nat_used_tuple(&self, t: &Tuple, zone: u16, me: ConnId, now: Time) -> bool {
        match t.invert() {
            Some(reply) => self.tuple_taken(&reply, zone, me, now) || self.translated_claim(t, &reply, me),
            None => false,
        }
    }

    /// Multi-worker live mode: a translated tuple whose reply belongs to another worker's
    /// table counts as taken, so port searches pick one that comes home. The untranslated
    /// tuple (a null binding, a master-following identity) is always ours to keep.
    fn translated_claim(&self, t: &Tuple, reply: &Tuple, me: ConnId) -> bool {
        self.get(me).is_none_or(|c| c.tuple[0] != *t) && self.claimed_elsewhere(reply)
    }

    /// `nf_nat_used_tuple_harder`: in the last attempts for a TCP SYN, a colliding
    /// source-NATed connection in TIME_WAIT whose sequence numbers are behind ours is
    /// evicted instead.
    fn nat_used_tuple_harder(
        &mut self,
        t: &Tuple,
        zone: u16,
        me: ConnId,
        attempts_left: u32,
        now: Time,
    ) -> bool {
        let my_tcp = self.get(me).and_then(|c| c.tcp().copied());
        let syn_sent = my_tcp.is_some_and(|tcp| tcp.state == TcpState::SynSent);
        if attempts_left > NF_NAT_HARDER_THRESH || t.proto != proto::TCP || !syn_sent {
            return self.nat_used_tuple(t, zone, me, now);
        }
        let Some(reply) = t.invert() else { return false };
        let Some((other, dir)) = self.find(&reply, zone) else { return self.translated_claim(t, &reply, me) };
        let Some(o) = self.get(other) else { return false };
        if o.expired(now) {
            return false;
        }
        if dir == 0 || other == me {
            return true;
        }
        let old_state = o.tcp().map_or(TcpState::None, |t| t.state);
        let may_kill = old_state >= TcpState::TimeWait
            && o.status & (st::FIXED_TIMEOUT | st::DYING) == 0
            && o.status & st::SRC_NAT != 0;
        let advanced = match (o.tcp(), my_tcp) {
            (Some(old), Some(new)) => after(new.seen[0].td_end, old.seen[0].td_end),
            _ => false,
        };
        if !may_kill || !advanced {
            return true;
        }
        self.kill(other, now, false);
        false
    }

    /// `find_appropriate_src`: the source mapping an earlier connection from the same
    /// source (address, port, protocol, zone) got, if it fits `range`.
    fn find_appropriate_src(&self, orig: &Tuple, zone: u16, range: &NatRange) -> Option<Tuple> {
        let list = self.bysrc.get(&SrcKey::of(orig, zone))?;
        list.iter().find_map(|&id| {
            let c = self.get(id)?;
            let o = &c.tuple[0];
            if o.proto != orig.proto || o.src != orig.src || o.src_id != orig.src_id || o.l3 != orig.l3 {
                return None;
            }
            let mapped = c.tuple[1].invert()?;
            let result = Tuple { src: mapped.src, src_id: mapped.src_id, ..*orig };
            in_range(&result, range).then_some(result)
        })
    }

    /// `find_best_ips_proto`: the address within the range, chosen by hash so a source
    /// keeps getting the same address (always, with `persistent`).
    fn find_best_ips(&self, zone: u16, t: &mut Tuple, range: &NatRange, manip: Manip) {
        if !range.has(flags::MAP_IPS) {
            return;
        }
        if range.min_addr == range.max_addr {
            match manip {
                Manip::Src => t.src = range.min_addr,
                Manip::Dst => t.dst = range.min_addr,
            }
            return;
        }
        let words = if t.l3 == L3::Ipv4 { 1 } else { 4 };
        let max = words - 1;
        let src_raw = raw_words(t.l3, t.src);
        let dst_raw = raw_words(t.l3, t.dst);
        let persistent = range.has(flags::PERSISTENT);
        let mut j = jhash2(&src_raw, if persistent { 0 } else { dst_raw[max] ^ u32::from(zone) });
        let mut var = match manip {
            Manip::Src => t.src,
            Manip::Dst => t.dst,
        };
        let mut full_range = false;
        for (i, &dst_word) in dst_raw.iter().enumerate().take(words) {
            let (minip, dist) = if !full_range {
                let lo = host_word(t.l3, range.min_addr, i);
                let hi = host_word(t.l3, range.max_addr, i);
                (lo, hi.wrapping_sub(lo).wrapping_add(1))
            } else {
                (0, u32::MAX)
            };
            let v = minip.wrapping_add(reciprocal_scale(j, dist));
            set_host_word(t.l3, &mut var, i, v);
            if v != host_word(t.l3, range.max_addr, i) {
                full_range = true;
            }
            if !persistent {
                j ^= dst_word;
            }
        }
        match manip {
            Manip::Src => t.src = var,
            Manip::Dst => t.dst = var,
        }
    }

    /// `nf_nat_l4proto_unique_tuple`: search the port (or ICMP id) range for a free one.
    fn l4_unique_tuple(
        &mut self,
        t: &mut Tuple,
        zone: u16,
        range: &NatRange,
        manip: Manip,
        me: ConnId,
        now: Time,
    ) {
        let icmp = matches!(t.proto, proto::ICMP | proto::ICMPV6);
        let (min, size): (u32, u32);
        if icmp {
            if range.has(flags::PROTO_SPECIFIED) {
                min = u32::from(range.min_proto);
                size = u32::from(range.max_proto).wrapping_sub(min).wrapping_add(1);
            } else {
                min = 0;
                size = 65536;
            }
        } else if t.has_ports() {
            let key = if manip == Manip::Src { t.src_id } else { t.dst_id };
            if !range.has(flags::PROTO_SPECIFIED) {
                if manip == Manip::Dst {
                    return;
                }
                (min, size) = if key < 1024 {
                    if key < 512 { (1, 511) } else { (600, 1023 - 600 + 1) }
                } else {
                    (1024, 65535 - 1024 + 1)
                };
            } else {
                let (lo, hi) = (range.min_proto.min(range.max_proto), range.min_proto.max(range.max_proto));
                min = u32::from(lo);
                size = u32::from(hi) - min + 1;
            }
        } else if t.proto == proto::GRE {
            // Only an expected GRE connection (PPTP's) has its key changed.
            if self.get(me).is_none_or(|c| c.master().is_none()) {
                return;
            }
            (min, size) = if range.has(flags::PROTO_SPECIFIED) {
                let min = u32::from(range.min_proto);
                (min, u32::from(range.max_proto).wrapping_sub(min).wrapping_add(1))
            } else {
                (1, 65535)
            };
        } else {
            return;
        }
        if size == 0 {
            return;
        }
        let current = if icmp || manip == Manip::Src { t.src_id } else { t.dst_id };
        let mut off: u16 = if range.has(flags::PROTO_OFFSET) {
            current.wrapping_sub(range.base_proto)
        } else if range.has(flags::PROTO_RANDOM_ALL) || manip != Manip::Dst {
            self.next_random() as u16
        } else {
            0
        };
        let mut attempts = size.min(NF_NAT_MAX_ATTEMPTS);
        loop {
            for i in 0..attempts {
                let key = (min + u32::from(off) % size) as u16;
                if icmp || manip == Manip::Src {
                    t.src_id = key;
                } else {
                    t.dst_id = key;
                }
                if !self.nat_used_tuple_harder(t, zone, me, attempts - i, now) {
                    return;
                }
                off = off.wrapping_add(1);
            }
            if attempts >= size || attempts < 16 {
                return;
            }
            attempts /= 2;
            off = self.next_random() as u16;
        }
    }

    /// `get_unique_tuple`: the original-direction tuple after this manipulation.
    pub(crate) fn get_unique_tuple(
        &mut self,
        me: ConnId,
        orig: &Tuple,
        range: &NatRange,
        manip: Manip,
        now: Time,
    ) -> Tuple {
        let zone = self.get(me).map_or(0, |c| c.zone);
        if manip == Manip::Src && !range.has(flags::PROTO_RANDOM_ALL) {
            if in_range(orig, range) {
                if !self.nat_used_tuple(orig, zone, me, now) {
                    return *orig;
                }
            } else if let Some(t) = self.find_appropriate_src(orig, zone, range)
                && !self.nat_used_tuple(&t, zone, me, now)
            {
                return t;
            }
        }
        let mut t = *orig;
        self.find_best_ips(zone, &mut t, range, manip);
        if !range.has(flags::PROTO_RANDOM_ALL) {
            if range.has(flags::PROTO_SPECIFIED) {
                if !range.has(flags::PROTO_OFFSET)
                    && l4_in_range(&t, manip, range.min_proto, range.max_proto)
                    && (range.min_proto == range.max_proto || !self.nat_used_tuple(&t, zone, me, now))
                {
                    return t;
                }
            } else if !self.nat_used_tuple(&t, zone, me, now) {
                return t;
            }
        }
        self.l4_unique_tuple(&mut t, zone, range, manip, me, now);
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jhash2_known_vectors() {
        // lookup3 hashword() test values published with the algorithm:
        // hashword of zero words with initval 0 is 0xdeadbeef.
        assert_eq!(jhash2(&[], 0), 0xdead_beef);
    }
}
