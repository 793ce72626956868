//! Reassembly queues: one per datagram (addresses, identification, protocol for IPv4, and
//! the "user": conntrack zone or local delivery), holding fragments by offset until the
//! datagram is complete.

use std::collections::HashMap;
use std::net::IpAddr;

use super::FragLayout;
use crate::checksum;
use crate::conntrack::{SECOND, Time};

/// Who reassembles (the kernel's `IP_DEFRAG_*` users keep separate queues).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum User {
    /// Conntrack defragmentation in a zone.
    Conntrack(u16),
    /// Local delivery without conntrack.
    LocalDeliver,
}

/// Limits and timeouts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefragConfig {
    /// `ipfrag_time`.
    pub ipv4_timeout: Time,
    /// `nf_conntrack_frag6_timeout` (also used for IPv6 local reassembly, whose
    /// `ip6frag_time` has the same default).
    pub ipv6_timeout: Time,
    /// `ipfrag_high_thresh`: no new fragments are accepted above this much memory.
    pub high_thresh: usize,
}

impl Default for DefragConfig {
    fn default() -> Self {
        DefragConfig { ipv4_timeout: 30 * SECOND, ipv6_timeout: 60 * SECOND, high_thresh: 4 * 1024 * 1024 }
    }
}

/// Per-fragment memory overhead counted against `high_thresh`.
const FRAG_OVERHEAD: usize = 768;

/// What [`Defrag::gather`] did with a packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Gather {
    /// Not a fragment: carry on with it unchanged.
    Whole,
    /// Queued, waiting for the rest (the kernel's `NF_STOLEN`).
    Held,
    /// The datagram is complete: the reassembled IP packet.
    Done { packet: Vec<u8>, layout: FragLayout },
    /// Malformed or in conflict with the queue: the packet is dropped.
    Dropped(&'static str),
    /// IPv6 only: the queue died (length not a multiple of 8) and this fragment goes on
    /// unreassembled, as `nf_ct_frag6_gather` lets it.
    PassUnreassembled,
}

/// A queue that timed out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expired {
    /// The first fragment, when it had arrived (IPv4 answers with "fragment reassembly time
    /// exceeded" for packets to the host).
    pub first: Option<Vec<u8>>,
    pub user: User,
    pub ipv6: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    src: IpAddr,
    dst: IpAddr,
    id: u32,
    /// IPv4 protocol (IPv6 queues do not key on it).
    proto: u8,
    user: User,
    /// IPv6: the interface, for link-local and multicast destinations only.
    iif: Option<usize>,
}

#[derive(Clone, Debug)]
struct Frag {
    offset: usize,
    end: usize,
    data: Vec<u8>,
}

#[derive(Clone, Debug)]
struct Queue {
    created: Time,
    /// Creation order (queues expire in deadline order, then in the order they were made,
    /// as the kernel's per-queue timers fire — never in hash-table order).
    serial: u64,
    frags: Vec<Frag>,
    /// Known length of the datagram's fragmentable part.
    len: usize,
    first_in: bool,
    last_in: bool,
    meat: usize,
    max_size: usize,
    max_df_size: usize,
    /// ECN codepoints seen (`IPFRAG_ECN_*` bits).
    ecn: u8,
    /// The whole first fragment (headers for the reassembled packet).
    first: Option<Vec<u8>>,
    /// IPv6: offset of the next-header byte that names the fragment header, and the
    /// fragment header's own next header.
    v6_prev: usize,
    v6_next: u8,
    mem: usize,
}

impl Queue {
    fn new(now: Time, serial: u64) -> Queue {
        Queue {
            created: now,
            serial,
            frags: Vec::new(),
            len: 0,
            first_in: false,
            last_in: false,
            meat: 0,
            max_size: 0,
            max_df_size: 0,
            ecn: 0,
            first: None,
            v6_prev: 0,
            v6_next: 0,
            mem: 0,
        }
    }

    /// `inet_frag_queue_insert`: Ok, Err(true) duplicate, Err(false) overlap.
    fn insert(&mut self, f: Frag) -> Result<(), bool> {
        let mut at = self.frags.len();
        for (i, cur) in self.frags.iter().enumerate() {
            if f.end <= cur.offset {
                at = i;
                break;
            }
            if f.offset >= cur.end {
                continue;
            }
            if f.offset >= cur.offset && f.end <= cur.end {
                return Err(true);
            }
            return Err(false);
        }
        self.frags.insert(at, f);
        Ok(())
    }
}

/// The reassembly state of a host.
#[derive(Clone, Debug, Default)]
pub struct Defrag {
    cfg: DefragConfig,
    queues: HashMap<Key, Queue>,
    mem: usize,
    /// Queues made so far (the next queue's `serial`).
    made: u64,
}

/// ECN codepoint → `IPFRAG_ECN_*` bit.
fn ecn_bit(tos: u8) -> u8 {
    1 << (tos & 3)
}

/// `ip_frag_ecn_table`: the ECN bits to OR into the reassembled header, or None for an
/// invalid mix (not-ECT together with ECT/CE: the datagram is dropped).
fn ecn_combine(seen: u8) -> Option<u8> {
    let not_ect = seen & 1 != 0;
    let ect_or_ce = seen & 0b1110 != 0;
    if not_ect && ect_or_ce {
        return None;
    }
    Some(if seen & 0b1000 != 0 { 3 } else { 0 })
}

impl Defrag {
    pub fn new(cfg: DefragConfig) -> Defrag {
        Defrag { cfg, queues: HashMap::new(), mem: 0, made: 0 }
    }

    /// Datagrams waiting for fragments.
    pub fn pending(&self) -> usize {
        self.queues.len()
    }

    /// Removes queues older than their timeout at `now`.
    pub fn expire(&mut self, now: Time) -> Vec<Expired> {
        if self.queues.is_empty() {
            return Vec::new();
        }
        let (t4, t6) = (self.cfg.ipv4_timeout, self.cfg.ipv6_timeout);
        let mut dead: Vec<(Time, u64, Key)> = self
            .queues
            .iter()
            .map(|(k, q)| (q.created.saturating_add(if k.src.is_ipv4() { t4 } else { t6 }), q.serial, k))
            .filter(|(deadline, _, _)| now >= *deadline)
            .map(|(deadline, serial, k)| (deadline, serial, k.clone()))
            .collect();
        dead.sort_unstable_by_key(|(deadline, serial, _)| (*deadline, *serial));
        let mut out = Vec::new();
        for (_, _, k) in dead {
            if let Some(q) = self.kill(&k) {
                let first = if q.first_in { q.first } else { None };
                out.push(Expired { first, user: k.user, ipv6: k.src.is_ipv6() });
            }
        }
        out
    }

    fn kill(&mut self, k: &Key) -> Option<Queue> {
        let q = self.queues.remove(k)?;
        self.mem = self.mem.saturating_sub(q.mem);
        Some(q)
    }

    /// Feeds one IP packet (`packet` starts at its IP header and ends with it). `iif` keys
    /// IPv6 queues for link-local and multicast destinations.
    pub fn gather(&mut self, packet: &[u8], user: User, iif: usize, now: Time) -> Gather {
        match packet.first().map(|b| b >> 4) {
            Some(4) => self.gather_v4(packet, user, now),
            Some(6) => self.gather_v6(packet, user, iif, now),
            _ => Gather::Whole,
        }
    }

    fn queue_for(&mut self, key: Key, now: Time) -> Option<&mut Queue> {
        if !self.queues.contains_key(&key) {
            if self.mem > self.cfg.high_thresh {
                return None;
            }
            self.queues.insert(key.clone(), Queue::new(now, self.made));
            self.made += 1;
        }
        self.queues.get_mut(&key)
    }

    fn account(&mut self, key: &Key, bytes: usize) {
        let cost = bytes + FRAG_OVERHEAD;
        self.mem += cost;
        if let Some(q) = self.queues.get_mut(key) {
            q.mem += cost;
        }
    }

    fn gather_v4(&mut self, p: &[u8], user: User, now: Time) -> Gather {
        if p.len() < 20 {
            return Gather::Whole;
        }
        let ihl = usize::from(p[0] & 0x0f) * 4;
        let frag_off = u16::from_be_bytes([p[6], p[7]]);
        let mf = frag_off & 0x2000 != 0;
        let df = frag_off & 0x4000 != 0;
        let offset = usize::from(frag_off & 0x1fff) * 8;
        if !mf && offset == 0 {
            return Gather::Whole;
        }
        let total = usize::from(u16::from_be_bytes([p[2], p[3]])).min(p.len());
        if ihl < 20 || total < ihl {
            return Gather::Dropped("bad IPv4 header");
        }
        let key = Key {
            src: IpAddr::from([p[12], p[13], p[14], p[15]]),
            dst: IpAddr::from([p[16], p[17], p[18], p[19]]),
            id: u32::from(u16::from_be_bytes([p[4], p[5]])),
            proto: p[9],
            user,
            iif: None,
        };
        let payload = &p[ihl..total];
        let mut end = offset + payload.len();
        let Some(q) = self.queue_for(key.clone(), now) else {
            return Gather::Dropped("reassembly memory full");
        };
        if !mf {
            if end < q.len || (q.last_in && end != q.len) {
                self.kill(&key);
                return Gather::Dropped("fragment beyond the datagram's end");
            }
            q.last_in = true;
            q.len = end;
        } else {
            end &= !7;
            if end > q.len {
                if q.last_in {
                    self.kill(&key);
                    return Gather::Dropped("fragment beyond the datagram's end");
                }
                q.len = end;
            }
        }
        if end == offset {
            self.kill(&key);
            return Gather::Dropped("empty fragment");
        }
        let data = payload[..end - offset].to_vec();
        let dlen = data.len();
        match q.insert(Frag { offset, end, data }) {
            Ok(()) => {}
            Err(true) => return Gather::Dropped("duplicate fragment"),
            Err(false) => {
                self.kill(&key);
                return Gather::Dropped("overlapping fragment");
            }
        }
        if offset == 0 {
            q.first_in = true;
            q.first = Some(p[..total].to_vec());
        }
        q.ecn |= ecn_bit(p[1]);
        q.meat += dlen;
        let fragsize = dlen + ihl;
        q.max_size = q.max_size.max(fragsize);
        if df {
            q.max_df_size = q.max_df_size.max(fragsize);
        }
        let complete = q.first_in && q.last_in && q.meat == q.len;
        self.account(&key, dlen);
        if !complete {
            return Gather::Held;
        }
        let Some(q) = self.kill(&key) else { return Gather::Held };
        reassemble_v4(q)
    }

    fn gather_v6(&mut self, p: &[u8], user: User, iif: usize, now: Time) -> Gather {
        if p.len() < 40 {
            return Gather::Whole;
        }
        // Find the fragment header and the next-header byte that points to it.
        let Some((prev, fh)) = find_frag_header(p) else { return Gather::Whole };
        let payload_len = usize::from(u16::from_be_bytes([p[4], p[5]]));
        if payload_len == 0 {
            return Gather::Whole;
        }
        let plen_end = (40 + payload_len).min(p.len());
        let Some(fhdr) = p.get(fh..fh + 8) else { return Gather::Dropped("truncated fragment header") };
        let next = fhdr[0];
        let frag_off = u16::from_be_bytes([fhdr[2], fhdr[3]]);
        let mf = frag_off & 1 != 0;
        let offset = usize::from(frag_off & !7);
        let id = u32::from_be_bytes([fhdr[4], fhdr[5], fhdr[6], fhdr[7]]);
        let data_start = fh + 8;
        let Some(data_len) = plen_end.checked_sub(data_start) else {
            return Gather::Dropped("bad payload length");
        };
        let end = offset + data_len;
        if end > 65535 {
            return Gather::Dropped("fragment offset too large");
        }
        let mut dst_bytes = [0u8; 16];
        dst_bytes.copy_from_slice(&p[24..40]);
        let dst = std::net::Ipv6Addr::from(dst_bytes);
        let scoped = dst.is_multicast() || (dst.segments()[0] & 0xffc0) == 0xfe80;
        let mut src_bytes = [0u8; 16];
        src_bytes.copy_from_slice(&p[8..24]);
        let key = Key {
            src: IpAddr::from(src_bytes),
            dst: IpAddr::V6(dst),
            id,
            proto: 0,
            user,
            iif: scoped.then_some(iif),
        };
        let Some(q) = self.queue_for(key.clone(), now) else {
            return Gather::Dropped("reassembly memory full");
        };
        if !mf {
            if end < q.len || (q.last_in && end != q.len) {
                return Gather::Dropped("fragment beyond the datagram's end");
            }
            q.last_in = true;
            q.len = end;
        } else {
            if end & 7 != 0 {
                self.kill(&key);
                return Gather::PassUnreassembled;
            }
            if end > q.len {
                if q.last_in {
                    return Gather::Dropped("fragment beyond the datagram's end");
                }
                q.len = end;
            }
        }
        if end == offset {
            return Gather::Dropped("empty fragment");
        }
        let data = p[data_start..data_start + (end - offset)].to_vec();
        let dlen = data.len();
        match q.insert(Frag { offset, end, data }) {
            Ok(()) => {}
            Err(true) => return Gather::Held,
            Err(false) => {
                self.kill(&key);
                return Gather::Dropped("overlapping fragment");
            }
        }
        q.meat += dlen;
        q.ecn |= ecn_bit(((u16::from_be_bytes([p[0], p[1]]) >> 4) & 0xff) as u8);
        q.max_size = q.max_size.max(payload_len);
        if offset == 0 {
            q.first_in = true;
            q.first = Some(p[..plen_end].to_vec());
            q.v6_prev = prev;
            q.v6_next = next;
        }
        let complete = q.first_in && q.last_in && q.meat == q.len;
        self.account(&key, dlen);
        if !complete {
            return Gather::Held;
        }
        let Some(q) = self.kill(&key) else { return Gather::Held };
        reassemble_v6(q, id)
    }
}

/// The IPv6 fragment header's offset and the offset of the next-header byte naming it.
fn find_frag_header(p: &[u8]) -> Option<(usize, usize)> {
    let mut prev = 6;
    let mut next = *p.get(6)?;
    let mut pos = 40;
    for _ in 0..16 {
        match next {
            44 => return Some((prev, pos)),
            0 | 43 | 60 | 135 => {
                let hl = usize::from(*p.get(pos + 1)?);
                prev = pos;
                next = *p.get(pos)?;
                pos += (hl + 1) * 8;
            }
            51 => {
                let hl = usize::from(*p.get(pos + 1)?);
                prev = pos;
                next = *p.get(pos)?;
                pos += (hl + 2) * 4;
            }
            _ => return None,
        }
    }
    None
}

fn reassemble_v4(q: Queue) -> Gather {
    let Some(first) = q.first else { return Gather::Dropped("no first fragment") };
    let ihl = usize::from(first[0] & 0x0f) * 4;
    let total = ihl + q.len;
    if total > 65535 {
        return Gather::Dropped("reassembled datagram too large");
    }
    let Some(ecn) = ecn_combine(q.ecn) else { return Gather::Dropped("inconsistent ECN bits") };
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&first[..ihl]);
    for f in &q.frags {
        out.extend_from_slice(&f.data);
    }
    out[1] |= ecn;
    out[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    let pmtu_df = q.max_df_size > 0 && q.max_df_size == q.max_size;
    let frag_off: u16 = if pmtu_df { 0x4000 } else { 0 };
    out[6..8].copy_from_slice(&frag_off.to_be_bytes());
    out[10..12].copy_from_slice(&[0, 0]);
    let c = checksum::checksum(&out[..ihl]);
    out[10..12].copy_from_slice(&c.to_be_bytes());
    let layout = FragLayout {
        sizes: q.frags.iter().map(|f| f.data.len()).collect(),
        max_size: q.max_size.max(q.max_df_size),
        pmtu_df,
        ident: u32::from(u16::from_be_bytes([first[4], first[5]])),
    };
    Gather::Done { packet: out, layout }
}

fn reassemble_v6(q: Queue, id: u32) -> Gather {
    let Some(first) = q.first else { return Gather::Dropped("no first fragment") };
    let Some((_, fh)) = find_frag_header(&first) else { return Gather::Dropped("no fragment header") };
    let payload_len = fh - 40 + q.len;
    if payload_len > 65535 {
        return Gather::Dropped("reassembled datagram too large");
    }
    let Some(ecn) = ecn_combine(q.ecn) else { return Gather::Dropped("inconsistent ECN bits") };
    let mut out = Vec::with_capacity(40 + payload_len);
    out.extend_from_slice(&first[..fh]);
    for f in &q.frags {
        out.extend_from_slice(&f.data);
    }
    if let Some(b) = out.get_mut(q.v6_prev) {
        *b = q.v6_next;
    }
    out[4..6].copy_from_slice(&(payload_len as u16).to_be_bytes());
    // Traffic class ECN bits live in bits 20..22 of the first word.
    out[1] |= ecn << 4;
    let layout = FragLayout {
        sizes: q.frags.iter().map(|f| f.data.len()).collect(),
        max_size: 40 + q.max_size,
        pmtu_df: false,
        ident: id,
    };
    Gather::Done { packet: out, layout }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::PacketBuilder;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn v4_frags() -> (Vec<u8>, Vec<Vec<u8>>) {
        let b = PacketBuilder::ipv4(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2))
            .ident(77)
            .udp(1, 2)
            .payload(&[5u8; 100]);
        (b.build(), b.build_fragments(40))
    }

    #[test]
    fn ipv4_in_any_order_gives_the_original_back() {
        let (whole, frags) = v4_frags();
        assert_eq!(frags.len(), 3);
        let mut d = Defrag::default();
        assert_eq!(d.gather(&frags[2], User::Conntrack(0), 0, 0), Gather::Held);
        assert_eq!(d.gather(&frags[0], User::Conntrack(0), 0, 0), Gather::Held);
        match d.gather(&frags[1], User::Conntrack(0), 0, 0) {
            Gather::Done { packet, layout } => {
                assert_eq!(packet, whole);
                assert_eq!(layout.sizes, vec![40, 40, 28]);
                assert_eq!(layout.max_size, 60);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(d.pending(), 0);
    }

    #[test]
    fn duplicates_overlaps_and_timeouts() {
        let (_, frags) = v4_frags();
        let mut d = Defrag::default();
        assert_eq!(d.gather(&frags[0], User::Conntrack(0), 0, 0), Gather::Held);
        assert_eq!(d.gather(&frags[0], User::Conntrack(0), 0, 0), Gather::Dropped("duplicate fragment"));
        // A fragment overlapping the first by 8 bytes kills the queue.
        let mut bad = frags[1].clone();
        bad[6..8].copy_from_slice(&(0x2000u16 | 4).to_be_bytes());
        bad[10..12].copy_from_slice(&[0, 0]);
        let c = checksum::checksum(&bad[..20]);
        bad[10..12].copy_from_slice(&c.to_be_bytes());
        assert_eq!(d.gather(&bad, User::Conntrack(0), 0, 0), Gather::Dropped("overlapping fragment"));
        assert_eq!(d.pending(), 0);
        // Separate users keep separate queues; expiry after 30 s reports the first fragment.
        assert_eq!(d.gather(&frags[0], User::Conntrack(0), 0, 0), Gather::Held);
        assert_eq!(d.gather(&frags[1], User::LocalDeliver, 0, 0), Gather::Held);
        assert!(d.expire(29 * SECOND).is_empty());
        let gone = d.expire(30 * SECOND);
        assert_eq!(gone.len(), 2);
        assert!(gone.iter().any(|e| e.user == User::Conntrack(0) && e.first.is_some()));
    }

    #[test]
    fn ipv6_reassembly_removes_the_fragment_header() {
        let b = PacketBuilder::ipv6(Ipv6Addr::LOCALHOST, "fd00::2".parse::<Ipv6Addr>().unwrap())
            .ident(0x0304)
            .udp(1, 2)
            .payload(&[9u8; 100]);
        let whole = b.build();
        let frags = b.build_fragments(48);
        let mut d = Defrag::default();
        let mut last = Gather::Whole;
        for f in frags.iter().rev() {
            last = d.gather(f, User::Conntrack(0), 0, 0);
        }
        match last {
            Gather::Done { packet, layout } => {
                assert_eq!(packet, whole);
                assert_eq!(layout.ident, 0x0304);
                assert_eq!(layout.sizes.iter().sum::<usize>(), 108);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(d.gather(&whole, User::Conntrack(0), 0, 0), Gather::Whole);
    }

    #[test]
    fn queues_expire_in_deadline_then_creation_order() {
        // Eight datagrams' first fragments, all held at the same instant but one (a later
        // deadline); expiry reports them in the order they came, whatever the hash order.
        let mut d = Defrag::default();
        for ident in 1..=8u16 {
            let b = PacketBuilder::ipv4(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2))
                .ident(ident)
                .udp(1, 2)
                .payload(&[ident as u8; 100]);
            let when = if ident == 3 { SECOND } else { 0 };
            assert_eq!(d.gather(&b.build_fragments(40)[0], User::Conntrack(0), 0, when), Gather::Held);
        }
        let gone = d.expire(31 * SECOND);
        let idents: Vec<u16> =
            gone.iter().map(|e| e.first.as_ref().map_or(0, |f| u16::from_be_bytes([f[4], f[5]]))).collect();
        assert_eq!(idents, vec![1, 2, 4, 5, 6, 7, 8, 3]);
    }
}
