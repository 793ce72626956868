//! The runtime's side of the VM's [`Env`]: packet metadata from the packet in flight and
//! the host model, conntrack keys from the packet's connection, routing lookups (`fib`,
//! `rt`) against the host model, and the actions the VM requests — NAT bindings, reject,
//! notrack, log lines, ct helper assignment, `dup` and `fwd` — recorded or applied as the
//! kernel's expressions do.

use nftvm_vm::Verdict;
use nftvm_vm::expr::connlimit::{ConnList, Count};
use nftvm_vm::expr::fib::{flags as fib_flags, result as fib_result};
use nftvm_vm::expr::tcpmss::MssInsert;
use nftvm_vm::interp::{Env, FibQuery, IcmpErrorRequest, LogRequest, NatKind, NatRequest, RejectRequest};
use nftvm_vm::keys::{CtDir, CtKey, Family, Hook, MetaKey, ct_state, ct_status as st};
use nftvm_vm::object::{CtExpect, Object, ObjectKind};
use nftvm_vm::{FlowtableId, Program};

use super::conncount::{self, ConnLists};
use super::dup::{DupRequest, DupTo, FwdRequest, Neigh, neigh_forwarded};
use super::skb::SkbMeta;
use crate::conntrack::tuple::{L3, addr_bits, addr_from_bits};
use crate::conntrack::{Conntrack, CtInfo, Time};
use crate::flowtable::Flows;
use crate::helper::Helper;
use crate::host::{AddrType, Host, LOOPBACK};
use crate::io::IfaceId;
use crate::nat::{Manip, NatRange, flags as nat_flags};
use crate::packet::PacketInfo;

/// What the rules asked for that the pipeline carries out after the chain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Effects {
    /// `reject` statements (the packet is dropped; a reply is generated).
    pub rejects: Vec<RejectRequest>,
    /// ICMP errors targets send (`-j SNPT`/`DNPT` on an address they cannot map).
    pub icmp_errors: Vec<IcmpErrorRequest>,
    /// Formatted `log` lines.
    pub logs: Vec<String>,
    /// Notes for the trace (NAT bindings made …).
    pub notes: Vec<String>,
    /// MSS options `-j TCPMSS` adds (the packet grows).
    pub mss_inserts: Vec<MssInsert>,
    /// Copies `dup` sends, in the order of the statements.
    pub dups: Vec<DupRequest>,
    /// The packet as `fwd` sent it out of a device (the chain's verdict is then stolen).
    pub forwards: Vec<FwdRequest>,
}

/// The environment of one chain run.
pub struct RuntimeEnv<'a> {
    pub host: &'a Host,
    pub prog: &'a Program,
    pub hook: Hook,
    pub now: Time,
    /// The packet's dissection as the chain starts.
    pub info: &'a PacketInfo,
    /// The IP packet as the chain starts (for log lines); may be empty.
    pub view: &'a [u8],
    pub meta: &'a mut SkbMeta,
    pub ct: &'a mut Conntrack,
    pub effects: &'a mut Effects,
    pub rng: &'a mut u64,
    pub connlimit: &'a mut ConnLists,
    pub flows: &'a mut Flows,
}

/// Copies `bytes` into `out` (truncated or zero-padded to its length).
fn put(out: &mut [u8], bytes: &[u8]) -> bool {
    out.fill(0);
    let n = out.len().min(bytes.len());
    out[..n].copy_from_slice(&bytes[..n]);
    true
}

fn put_u32(out: &mut [u8], v: u32) -> bool {
    let b = v.to_le_bytes();
    let n = out.len().min(4);
    out[..n].copy_from_slice(&b[..n]);
    true
}

fn put_name(out: &mut [u8], name: &str) -> bool {
    out.fill(0);
    let b = name.as_bytes();
    let n = b.len().min(out.len().saturating_sub(1));
    out[..n].copy_from_slice(&b[..n]);
    true
}

/// Writes an address (4 or 16 bytes) into a register area, zero-padded.
fn put_addr(out: &mut [u8], addr: std::net::IpAddr) -> bool {
    out.fill(0);
    match addr {
        std::net::IpAddr::V4(a) => {
            let n = out.len().min(4);
            out[..n].copy_from_slice(&a.octets()[..n]);
        }
        std::net::IpAddr::V6(a) => {
            let n = out.len().min(16);
            out[..n].copy_from_slice(&a.octets()[..n]);
        }
    }
    true
}

impl RuntimeEnv<'_> {
    /// `ct expectation set "name"` (see [`crate::conntrack::expect_object`]).
    fn ct_expectation(&mut self, name: &str, e: &CtExpect) -> Verdict {
        use crate::conntrack::expect_object::ExpectObject;
        let Some(t) = self.meta.ct.tracked else { return Verdict::Break };
        let (Some(id), Some(dir)) = (t.conn, t.info.dir()) else { return Verdict::Break };
        match self.ct.expect_object(id, dir.index(), e) {
            ExpectObject::Expected => {
                self.effects.notes.push(format!("ct expectation {name} registered"));
                Verdict::Continue
            }
            ExpectObject::Break => Verdict::Break,
            ExpectObject::Drop => Verdict::Drop,
        }
    }

    fn iface_index(&self, id: Option<IfaceId>) -> u32 {
        id.and_then(|i| self.host.iface(i)).map_or(0, |i| i.index)
    }

    fn iface_name(&self, id: Option<IfaceId>) -> &str {
        id.and_then(|i| self.host.iface(i)).map_or("", |i| i.name.as_str())
    }

    fn tracked_info(&self) -> Option<CtInfo> {
        self.meta.ct.tracked.map(|t| t.info)
    }

    fn conn(&self) -> Option<(crate::conntrack::ConnId, &crate::conntrack::Conn)> {
        let id = self.meta.ct.tracked?.conn?;
        Some((id, self.ct.get(id)?))
    }

    fn next_random(&mut self) -> u32 {
        *self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) as u32
    }

    /// The NAT range a request asks for, with masquerade/redirect addresses resolved.
    fn nat_range(&self, req: &NatRequest<'_>) -> Result<NatRange, &'static str> {
        let mut flags = req.flags;
        let mut range = NatRange::default();
        if let (Some(min), Some(max)) = (req.addr_min, req.addr_max) {
            flags |= nat_flags::MAP_IPS;
            range.min_addr = bytes_addr(min);
            range.max_addr = bytes_addr(max);
            if req.flags & 0x40 != 0 {
                // NF_NAT_RANGE_NETMAP: keep the host part of the packet's address.
                let cur = if req.kind == NatKind::Snat { self.info.src_addr } else { self.info.dst_addr };
                let cur = addr_bits(cur);
                let mask = !(range.min_addr ^ range.max_addr);
                let new = (cur & !mask) | (range.min_addr & mask);
                range.min_addr = new;
                range.max_addr = new;
            }
        }
        if let Some(pmin) = req.proto_min {
            flags |= nat_flags::PROTO_SPECIFIED;
            range.min_proto = pmin;
            range.max_proto = req.proto_max.unwrap_or(pmin);
        }
        if let Some(base) = req.proto_base {
            flags |= nat_flags::PROTO_OFFSET;
            range.base_proto = base;
        }
        range.flags = flags & !0x40;
        match req.kind {
            NatKind::Snat | NatKind::Dnat => Ok(range),
            NatKind::Masquerade => {
                let oif = self.meta.oif.ok_or("masquerade without an out interface")?;
                let addr = self
                    .host
                    .masquerade_addr(oif, self.info.dst_addr)
                    .ok_or("no address to masquerade to")?;
                Ok(NatRange::masquerade(addr, &range))
            }
            NatKind::Redirect => {
                let iif = if self.hook == Hook::Output { None } else { self.meta.iif };
                let addr = self
                    .host
                    .redirect_addr(iif, self.info.dst_addr.is_ipv4())
                    .ok_or("no address to redirect to")?;
                Ok(NatRange::redirect(addr, &range))
            }
        }
    }
}

fn bytes_addr(b: &[u8]) -> u128 {
    match b.len() {
        4 => u128::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])),
        16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(b);
            u128::from_be_bytes(a)
        }
        _ => 0,
    }
}

impl Env for RuntimeEnv<'_> {
    fn now_ns(&self) -> u64 {
        self.now
    }

    fn random_u32(&mut self) -> u32 {
        self.next_random()
    }

    fn meta_get(&mut self, key: MetaKey, out: &mut [u8]) -> bool {
        use MetaKey::*;
        let (iif, oif) = (self.meta.iif, self.meta.oif);
        let dev = |id: Option<IfaceId>| id.and_then(|i| self.host.iface(i));
        match key {
            Priority => put_u32(out, self.meta.priority),
            Mark => put_u32(out, self.meta.mark),
            Iif => put_u32(out, self.iface_index(iif)),
            Oif => put_u32(out, self.iface_index(oif)),
            IifName => put_name(out, self.iface_name(iif)),
            OifName => put_name(out, self.iface_name(oif)),
            IifType | OifType => match dev(if key == IifType { iif } else { oif }) {
                Some(d) => put(out, &d.hw_type.to_le_bytes()),
                None => false,
            },
            IifGroup | OifGroup => match dev(if key == IifGroup { iif } else { oif }) {
                Some(d) => put_u32(out, d.group),
                None => false,
            },
            IifKind | OifKind => match dev(if key == IifKind { iif } else { oif }) {
                Some(d) if !d.kind.is_empty() => put_name(out, d.kind),
                _ => false,
            },
            Nftrace => put(out, &[u8::from(self.meta.nftrace)]),
            PktType => put(out, &[self.meta.pkttype]),
            Secmark | Secpath => {
                out.fill(0);
                true
            }
            RtClassid => oif.is_some() && put_u32(out, 0),
            Sdif => put_u32(out, 0),
            SdifName => put_name(out, ""),
            _ => false,
        }
    }

    fn meta_set(&mut self, key: MetaKey, value: &[u8]) {
        let v = {
            let mut b = [0u8; 4];
            let n = value.len().min(4);
            b[..n].copy_from_slice(&value[..n]);
            u32::from_le_bytes(b)
        };
        match key {
            MetaKey::Mark => self.meta.mark = v,
            MetaKey::Priority => self.meta.priority = v,
            MetaKey::PktType => self.meta.pkttype = value.first().copied().unwrap_or(0),
            MetaKey::Nftrace => self.meta.nftrace = value.first().is_some_and(|b| *b & 1 != 0),
            _ => {}
        }
    }

    fn ct_template_helper(&mut self, helper: &str) {
        if self.meta.ct.tracked.is_none() && !self.meta.ct.notrack {
            self.meta.ct.helper = Helper::from_name(helper);
        }
    }

    fn ct_origin_source(&mut self) -> Option<std::net::IpAddr> {
        let (_, c) = self.conn()?;
        let origin = c.master().and_then(|m| self.ct.get(m)).unwrap_or(c);
        Some(origin.original().src_addr())
    }

    fn ct_get(&mut self, key: CtKey, dir: Option<CtDir>, out: &mut [u8]) -> bool {
        if key == CtKey::State {
            let bits = match self.meta.ct.tracked {
                Some(t) => t.state_bits(),
                None if self.meta.ct.notrack => ct_state::UNTRACKED,
                None => ct_state::INVALID,
            };
            return put_u32(out, bits);
        }
        let Some(info) = self.tracked_info() else { return false };
        let Some((_, c)) = self.conn() else { return false };
        let d = dir.map(|d| d.number() as usize);
        use CtKey::*;
        match key {
            Direction => match info.dir() {
                Some(x) => put(out, &[x.index() as u8]),
                None => false,
            },
            Status => put_u32(out, c.status),
            Mark => put_u32(out, c.mark),
            Secmark => put_u32(out, 0),
            Expiration => {
                let ms = c.timeout.saturating_sub(self.now) / 1_000_000;
                put_u32(out, u32::try_from(ms).unwrap_or(u32::MAX))
            }
            // The helper of the connection's master, as `nft_ct_get_eval` reads it: `ct helper
            // "ftp"` matches the data connections an FTP control connection expected, not the
            // control connection itself.
            Helper => match c.master().and_then(|m| self.ct.get(m)).and_then(|m| m.helper) {
                Some(h) => put_name(out, h.name()),
                None => false,
            },
            L3Protocol => put(out, &[c.original().l3.nfproto()]),
            Protocol => put(out, &[c.l4proto()]),
            Src | Dst | SrcIp | DstIp | SrcIp6 | DstIp6 => {
                let Some(d) = d else { return false };
                let t = c.tuple[d & 1];
                let v4 = t.l3 == crate::conntrack::L3::Ipv4;
                if matches!(key, SrcIp | DstIp) && !v4 || matches!(key, SrcIp6 | DstIp6) && v4 {
                    return false;
                }
                let addr = if matches!(key, Src | SrcIp | SrcIp6) { t.src_addr() } else { t.dst_addr() };
                put_addr(out, addr)
            }
            ProtoSrc | ProtoDst => {
                let Some(d) = d else { return false };
                let t = c.tuple[d & 1];
                let v = if key == ProtoSrc { t.src_id } else { t.dst_id };
                put(out, &v.to_be_bytes())
            }
            Labels => {
                let b = c.labels.to_le_bytes();
                let n = out.len().min(16);
                out[..n].copy_from_slice(&b[..n]);
                true
            }
            Pkts | Bytes | AvgPkt => {
                let (p, b) = match d {
                    Some(d) => (c.counters[d & 1].packets, c.counters[d & 1].bytes),
                    None => (
                        c.counters[0].packets + c.counters[1].packets,
                        c.counters[0].bytes + c.counters[1].bytes,
                    ),
                };
                let v = match key {
                    Pkts => p,
                    Bytes => b,
                    _ => b.checked_div(p).unwrap_or(0),
                };
                let bytes = v.to_le_bytes();
                let n = out.len().min(8);
                out[..n].copy_from_slice(&bytes[..n]);
                true
            }
            Zone => put(out, &c.zone.to_le_bytes()),
            Id => put_u32(out, c.id),
            EventMask => put_u32(out, 0),
            State => false,
        }
    }

    fn ct_set(&mut self, key: CtKey, _dir: Option<CtDir>, value: &[u8]) {
        if key == CtKey::Zone {
            if self.meta.ct.tracked.is_none() {
                let mut b = [0u8; 2];
                let n = value.len().min(2);
                b[..n].copy_from_slice(&value[..n]);
                self.meta.ct.zone = u16::from_le_bytes(b);
            }
            return;
        }
        let Some(id) = self.meta.ct.tracked.and_then(|t| t.conn) else { return };
        match key {
            CtKey::Mark => {
                let mut b = [0u8; 4];
                let n = value.len().min(4);
                b[..n].copy_from_slice(&value[..n]);
                self.ct.set_mark(id, u32::from_le_bytes(b));
            }
            CtKey::Labels => {
                let mut b = [0u8; 16];
                let n = value.len().min(16);
                b[..n].copy_from_slice(&value[..n]);
                self.ct.set_labels(id, u128::from_le_bytes(b));
            }
            CtKey::Expiration => {
                let mut b = [0u8; 4];
                let n = value.len().min(4);
                b[..n].copy_from_slice(&value[..n]);
                let ms = u64::from(u32::from_le_bytes(b));
                let now = self.now;
                if let Some(c) = self.ct.get_mut(id) {
                    c.timeout = now.saturating_add(ms * 1_000_000);
                }
            }
            _ => {}
        }
    }

    fn notrack(&mut self) {
        if self.meta.ct.tracked.is_none() {
            self.meta.ct.notrack = true;
        }
    }

    fn flow_offload(&mut self, flowtable: FlowtableId) -> bool {
        self.offload(flowtable)
    }

    fn connlimit_count(&mut self, list: ConnList) -> Count {
        let info = self.meta.ct.tracked.as_ref().map(|t| t.info);
        let (me, established) = match self.conn() {
            Some((_, conn)) => {
                let seen_both = info == Some(CtInfo::Established);
                ((*conn.original(), conn.zone), conn.confirmed() && (conn.has(st::ASSURED) || seen_both))
            }
            // No connection (untracked, invalid): the packet's own tuple, as the kernel reads
            // it (`nf_ct_get_tuplepr`: none, and the packet is dropped, where a header is cut
            // short), and the connection holding it, if any — an invalid packet's conntrack
            // info reads as "established" there.
            None => {
                let zone = self.meta.ct.zone;
                let Some(packet) = self.info.tuple() else { return Count::NoTuple };
                let tuple = conncount::packet_tuple(&packet);
                let tuple = match packet.l4 {
                    crate::packet::TupleL4::Gre { .. } => self.ct.with_gre_source_key(tuple),
                    _ => tuple,
                };
                let conn = self.ct.find(&tuple, zone).and_then(|(id, _)| self.ct.get(id));
                let established = conn.is_some_and(|c| c.has(st::ASSURED) || info != Some(CtInfo::Untracked));
                ((tuple, zone), established)
            }
        };
        Count::Conns(self.connlimit.count(list, me, established, self.ct, self.now))
    }

    fn connlimit_gc(&mut self, list: ConnList) -> bool {
        self.connlimit.collect_list(list, self.ct, self.now)
    }

    fn fib(&mut self, q: FibQuery, out: &mut [u8]) -> bool {
        let addr = if q.flags & fib_flags::DADDR != 0 { self.info.dst_addr } else { self.info.src_addr };
        let dev = if q.flags & fib_flags::IIF != 0 {
            self.meta.iif
        } else if q.flags & fib_flags::OIF != 0 {
            self.meta.oif
        } else {
            None
        };
        if q.result == fib_result::ADDRTYPE {
            let t = self.host.addr_type(addr, dev);
            return put_u32(out, t as u32);
        }
        let found = match self.host.addr_type(addr, None) {
            AddrType::Local | AddrType::Broadcast | AddrType::Multicast => None,
            _ => self.host.lookup(addr).map(|r| r.iface),
        };
        let found = match (found, dev) {
            (Some(f), Some(d)) if f != d => None,
            (f, _) => f,
        };
        if q.flags & fib_flags::PRESENT != 0 {
            return put(out, &[u8::from(found.is_some())]);
        }
        if q.result == fib_result::OIFNAME {
            return put_name(out, self.iface_name(found));
        }
        put_u32(out, self.iface_index(found))
    }

    fn rt_get(&mut self, key: u32, out: &mut [u8]) -> bool {
        if self.meta.oif.is_none() {
            return false;
        }
        match key {
            0 | 4 => put_u32(out, 0),
            1 if self.info.dst_addr.is_ipv4() => put_addr(out, self.info.dst_addr),
            2 if self.info.dst_addr.is_ipv6() => put_addr(out, self.info.dst_addr),
            // `get_tcpmss`: the smaller MTU of the route out and the route back to the
            // source, less the IP and TCP headers; 536 when that is not above them or the
            // MTU is past 16 bits (an IPv6 route over loopback).
            3 => {
                let Some(out_mtu) = self.route_mtu(false) else { return false };
                let mtu = self.route_mtu(true).map_or(out_mtu, |back| out_mtu.min(back));
                let min = if self.info.dst_addr.is_ipv4() { 40 } else { 60 };
                let mss = match u16::try_from(mtu) {
                    Ok(m) if u32::from(m) > min => m - min as u16,
                    _ => 536,
                };
                put(out, &mss.to_le_bytes())
            }
            _ => false,
        }
    }

    fn route_mtu(&mut self, to_source: bool) -> Option<u32> {
        let src = self.info.src_addr;
        let iface = match (to_source, self.host.is_local(src)) {
            (false, _) => self.meta.oif?,
            (true, true) => LOOPBACK,
            (true, false) => self.host.lookup(src)?.iface,
        };
        let mtu = self.host.iface(iface)?.mtu;
        // `ipv4_mtu` / `ip6_mtu`: at most the largest packet of the family.
        Some(mtu.min(if src.is_ipv4() { 65_535 } else { 65_575 }))
    }

    fn tcp_mss_insert(&mut self, req: MssInsert) {
        self.effects.mss_inserts.push(req);
    }

    fn symhash(&mut self) -> u32 {
        let (a, b) = (addr_bits(self.info.src_addr), addr_bits(self.info.dst_addr));
        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        for x in [lo, hi] {
            h = (h ^ (x as u64) ^ ((x >> 64) as u64)).wrapping_mul(0x0100_0000_01b3);
        }
        (h ^ (h >> 32)) as u32
    }

    fn nat(&mut self, req: &NatRequest<'_>) -> Verdict {
        let pf = if self.info.dst_addr.is_ipv4() { Family::Ip } else { Family::Ip6 };
        if !matches!(req.kind, NatKind::Masquerade | NatKind::Redirect)
            && req.family != pf
            && req.family != Family::Inet
        {
            return Verdict::Continue;
        }
        let Some(t) = self.meta.ct.tracked else { return Verdict::Accept };
        let Some(id) = t.conn else { return Verdict::Accept };
        let range = match self.nat_range(req) {
            Ok(r) => r,
            Err(why) => {
                self.effects.notes.push(format!("nat: {why}: drop"));
                return Verdict::Drop;
            }
        };
        let manip = Manip::of_hook(self.hook);
        match self.ct.nat_setup(id, &range, manip) {
            Ok(()) => {
                if let Some(c) = self.ct.get(id) {
                    self.effects.notes.push(format!("nat: reply tuple now {}", c.reply()));
                }
                Verdict::Accept
            }
            Err(e) => {
                self.effects.notes.push(format!("nat: {e:?}: drop"));
                Verdict::Drop
            }
        }
    }

    fn reject(&mut self, req: RejectRequest) {
        self.effects.rejects.push(req);
    }

    fn icmp_error(&mut self, req: IcmpErrorRequest) {
        self.effects.icmp_errors.push(req);
    }

    fn object(&mut self, obj: &Object) -> Verdict {
        let (helper, l3proto, l4proto) = match &obj.kind {
            ObjectKind::CtExpect(e) => return self.ct_expectation(&obj.name, e),
            ObjectKind::CtHelper { helper, l3proto, l4proto } => (helper, *l3proto, *l4proto),
            _ => return Verdict::Continue,
        };
        let Some(t) = self.meta.ct.tracked else { return Verdict::Continue };
        let (Some(id), CtInfo::New) = (t.conn, t.info) else { return Verdict::Continue };
        let Some(h) = Helper::from_name(helper) else { return Verdict::Continue };
        // The object holds a helper for its family only (both for inet).
        let family_ok = |l3: L3| match l3 {
            L3::Ipv4 => l3proto != u16::from(Family::Ip6.number()),
            L3::Ipv6 => l3proto != u16::from(Family::Ip.number()),
        };
        if self.ct.get(id).is_some_and(|c| c.l4proto() == l4proto && family_ok(c.original().l3))
            && self.ct.set_helper(id, h)
        {
            self.effects.notes.push(format!("ct helper {} attached", h.name()));
        }
        Verdict::Continue
    }

    fn dup(&mut self, packet: &[u8], addr: Option<&[u8]>, dev: Option<u32>) {
        let to = match (addr, dev) {
            (Some(a), oif) => {
                let l3 = match a.len() {
                    4 => L3::Ipv4,
                    16 => L3::Ipv6,
                    _ => return,
                };
                DupTo::Route { gw: addr_from_bits(l3, bytes_addr(a)), oif }
            }
            (None, Some(dev)) => DupTo::Device(dev),
            (None, None) => return,
        };
        let (mark, priority, nftrace) = (self.meta.mark, self.meta.priority, self.meta.nftrace);
        self.effects.dups.push(DupRequest { packet: packet.to_vec(), to, mark, priority, nftrace });
    }

    fn fwd(&mut self, packet: &[u8], dev: u32, addr: Option<&[u8]>, nfproto: u8) -> Verdict {
        let packet = match addr {
            None => packet.to_vec(),
            Some(_) => match neigh_forwarded(packet, nfproto) {
                Neigh::Send(p) => p,
                Neigh::Expired => return Verdict::Drop,
                Neigh::OtherFamily => return Verdict::Break,
            },
        };
        self.effects.forwards.push(FwdRequest { packet, oif: dev });
        Verdict::Stolen
    }

    fn log(&mut self, req: &LogRequest<'_>) {
        let iif = self.iface_name(self.meta.iif).to_string();
        let oif = self.iface_name(self.meta.oif).to_string();
        let line = super::log::format(req, self.view, &iif, &oif);
        self.effects.logs.push(line);
    }
}
