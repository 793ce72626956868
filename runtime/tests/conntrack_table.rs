//! Table semantics: confirmation (a dropped first packet leaves nothing), both directions
//! findable, zones, early drop when full, expiry and garbage collection, ICMP/ICMPv6
//! lifecycles and errors RELATED to tracked flows.

#[path = "conntrack_support.rs"]
mod support;

use nftvm_runtime::conntrack::packet::{Quoted, QuotedL4};
use nftvm_runtime::conntrack::{Config, Conntrack, CtInfo, PacketInfo, Refused, SECOND, Tuple, builder};
use nftvm_vm::keys::{CtDir, ct_state, ct_status};
use support::*;

fn udp_pkt(sport: u16, now_s: u64) -> PacketInfo<'static> {
    builder::udp(ip("10.0.0.1"), ip("10.0.0.2"), sport, 53, 10, at(now_s))
}

fn accept(ct: &mut Conntrack, pkt: &PacketInfo<'_>) -> nftvm_runtime::conntrack::Tracked {
    let t = ct.track(pkt).unwrap();
    ct.finish(&t, None).unwrap();
    t
}

#[test]
fn new_entries_exist_only_once_confirmed() {
    let mut ct = Conntrack::new(Config { events: true, ..Config::default() });
    let t = ct.track(&udp_pkt(1000, 1)).unwrap();
    assert_eq!(t.info, CtInfo::New);
    assert_eq!(t.state_bits(), ct_state::NEW);
    assert_eq!(t.direction(), Some(CtDir::Original));
    let id = t.conn.unwrap();
    // Pending: readable by rules, but not in the table.
    assert!(ct.get(id).is_some_and(|c| !c.confirmed()));
    assert_eq!(ct.len(), 0);
    assert!(ct.find(&udp_pkt(1000, 1).tuple().unwrap(), 0).is_none());
    // The packet is dropped: nothing remains, no event.
    ct.abort(&t);
    assert!(ct.get(id).is_none());
    assert_eq!(ct.count(), 0);
    assert!(ct.drain_events().is_empty());

    // The next one is accepted: confirmed, findable from both directions.
    let t = accept(&mut ct, &udp_pkt(1000, 2));
    assert_eq!(t.info, CtInfo::New);
    let c = ct.get(t.conn.unwrap()).unwrap();
    assert!(c.confirmed() && c.has(ct_status::CONFIRMED));
    assert_eq!(ct.len(), 1);
    let reply = builder::udp(ip("10.0.0.2"), ip("10.0.0.1"), 53, 1000, 10, at(2));
    assert_eq!(ct.find(&reply.tuple().unwrap(), 0), Some((t.conn.unwrap(), 1)));
    assert_eq!(ct.drain_events().len(), 1);

    let r = accept(&mut ct, &reply);
    assert_eq!(r.info, CtInfo::EstablishedReply);
    assert_eq!(r.direction(), Some(CtDir::Reply));
    let again = accept(&mut ct, &udp_pkt(1000, 3));
    assert_eq!(again.info, CtInfo::Established);
    assert!(ct.get(again.conn.unwrap()).unwrap().has(ct_status::SEEN_REPLY));
}

#[test]
fn a_pending_entry_left_behind_is_discarded_by_the_next_packet() {
    let mut ct = Conntrack::new(Config::default());
    let t = ct.track(&udp_pkt(1000, 1)).unwrap();
    let _ = ct.track(&udp_pkt(2000, 1)).unwrap();
    assert!(ct.get(t.conn.unwrap()).is_none());
}

#[test]
fn zones_separate_identical_tuples() {
    let mut ct = Conntrack::new(Config::default());
    let a = accept(&mut ct, &udp_pkt(1000, 1));
    let mut p = udp_pkt(1000, 1);
    p.zone = 7;
    let b = accept(&mut ct, &p);
    assert_eq!(b.info, CtInfo::New);
    assert_ne!(a.conn, b.conn);
    assert_eq!(ct.len(), 2);
}

#[test]
fn full_table_drops_unreplied_first_and_never_assured() {
    let cfg = Config { max: 3, ..Config::default() };
    let mut ct = Conntrack::new(cfg);
    // Flow 1 gets a reply (not assured yet), flows 2 and 3 stay unreplied.
    accept(&mut ct, &udp_pkt(1, 1));
    accept(&mut ct, &builder::udp(ip("10.0.0.2"), ip("10.0.0.1"), 53, 1, 10, at(1)));
    accept(&mut ct, &udp_pkt(2, 1));
    accept(&mut ct, &udp_pkt(3, 1));
    assert_eq!(ct.len(), 3);
    // A fourth evicts the oldest unreplied (2), then 3, then the replied one (1).
    accept(&mut ct, &udp_pkt(4, 1));
    let alive = |ct: &Conntrack, sport| ct.find(&udp_pkt(sport, 1).tuple().unwrap(), 0).is_some();
    assert!(alive(&ct, 1) && !alive(&ct, 2) && alive(&ct, 3) && alive(&ct, 4));
    assert_eq!(ct.stats().early_drop, 1);

    // When every entry is ASSURED the new flow is refused (the packet is dropped).
    let cfg = Config { max: 2, ..Config::default() };
    let mut ct = Conntrack::new(cfg);
    for sport in [1, 2] {
        accept(&mut ct, &udp_pkt(sport, 1));
        accept(&mut ct, &builder::udp(ip("10.0.0.2"), ip("10.0.0.1"), 53, sport, 10, at(1)));
        accept(&mut ct, &udp_pkt(sport, 4)); // > 2 s later: stream, ASSURED
        assert!(
            ct.get(ct.find(&udp_pkt(sport, 1).tuple().unwrap(), 0).unwrap().0)
                .unwrap()
                .has(ct_status::ASSURED)
        );
    }
    assert_eq!(ct.track(&udp_pkt(3, 5)), Err(Refused::TableFull));
    assert_eq!(ct.len(), 2);
}

#[test]
fn expiry_on_the_packet_clock_and_gc() {
    let mut ct = Conntrack::new(Config { events: true, ..Config::default() });
    accept(&mut ct, &udp_pkt(1000, 10));
    ct.drain_events();
    // 30 s unreplied timeout: still there at 39.9 s, gone at 40 s.
    assert_eq!(ct.dump(at(10) + 29 * SECOND + SECOND / 2).len(), 1);
    assert!(ct.dump(at(40)).is_empty());
    assert_eq!(ct.gc(at(39), 0), 0);
    assert_eq!(ct.gc(at(40), 0), 1);
    assert_eq!(ct.len(), 0);
    let ev = ct.drain_events();
    assert_eq!(ev.len(), 1);
    // An expired entry's destroy event has no timeout field.
    assert_eq!(
        ev[0].line,
        "[DESTROY] udp      17 src=10.0.0.1 dst=10.0.0.2 sport=1000 dport=53 packets=1 bytes=38 [UNREPLIED] \
         src=10.0.0.2 dst=10.0.0.1 sport=53 dport=1000 packets=0 bytes=0"
    );
    // A packet after expiry starts over.
    assert_eq!(accept(&mut ct, &udp_pkt(1000, 41)).info, CtInfo::New);
}

#[test]
fn icmp_echo_lifecycle() {
    let mut ct = Conntrack::new(Config::default());
    let (a, b) = (ip("10.0.0.1"), ip("10.0.0.2"));
    let req = accept(&mut ct, &builder::icmp(a, b, 8, 42, at(1)));
    assert_eq!(req.info, CtInfo::New);
    let rep = accept(&mut ct, &builder::icmp(b, a, 0, 42, at(1)));
    assert_eq!(rep.info, CtInfo::EstablishedReply);
    assert_eq!(ct.get(req.conn.unwrap()).unwrap().remaining_secs(at(1)), 30);
    // Another identifier is another flow.
    assert_eq!(accept(&mut ct, &builder::icmp(a, b, 8, 43, at(2))).info, CtInfo::New);
    // A reply nobody asked for, and types that cannot start a flow, are INVALID.
    assert_eq!(accept(&mut ct, &builder::icmp(b, a, 0, 99, at(2))).info, CtInfo::Invalid);
    assert_eq!(accept(&mut ct, &builder::icmp(a, b, 9, 0, at(2))).info, CtInfo::Invalid);
    assert_eq!(accept(&mut ct, &builder::icmp(a, b, 19, 0, at(2))).info, CtInfo::Invalid);
    // ICMPv6 echo works the same; neighbour discovery is untracked.
    let (a6, b6) = (ip("fd00::1"), ip("fd00::2"));
    assert_eq!(accept(&mut ct, &builder::icmp(a6, b6, 128, 7, at(3))).info, CtInfo::New);
    assert_eq!(accept(&mut ct, &builder::icmp(b6, a6, 129, 7, at(3))).info, CtInfo::EstablishedReply);
    let ns = accept(&mut ct, &builder::icmp(a6, b6, 135, 0, at(3)));
    assert_eq!((ns.info, ns.state_bits()), (CtInfo::Untracked, ct_state::UNTRACKED));
}

#[test]
fn icmp_errors_are_related_to_the_quoted_flow() {
    let mut ct = Conntrack::new(Config::default());
    let (a, b, router) = (ip("10.0.0.1"), ip("10.0.0.2"), ip("10.0.9.9"));
    let flow = accept(&mut ct, &builder::udp(a, b, 5000, 53, 10, at(1)));
    let quoted = Quoted { src: a, dst: b, proto: 17, l4: QuotedL4::Ports { sport: 5000, dport: 53 } };
    // The destination answers "port unreachable": an error about the original direction
    // travelling the reply way.
    let t = accept(&mut ct, &builder::icmp_error(b, a, 3, 3, quoted, at(2)));
    assert_eq!((t.info, t.conn, t.icmp_error), (CtInfo::RelatedReply, flow.conn, Some(3)));
    assert_eq!(t.state_bits(), ct_state::RELATED);
    // A router reports it too (outer destination still the sender).
    assert_eq!(
        accept(&mut ct, &builder::icmp_error(router, a, 11, 0, quoted, at(2))).info,
        CtInfo::RelatedReply
    );
    // An error about the reply direction, sent towards the server.
    let back = Quoted { src: b, dst: a, proto: 17, l4: QuotedL4::Ports { sport: 53, dport: 5000 } };
    assert_eq!(accept(&mut ct, &builder::icmp_error(a, b, 3, 1, back, at(2))).info, CtInfo::Related);
    // The outer destination must be that direction's destination.
    assert_eq!(accept(&mut ct, &builder::icmp_error(b, router, 3, 3, quoted, at(2))).info, CtInfo::Invalid);
    // About no known flow, or with nothing usable quoted: INVALID.
    let other = Quoted { l4: QuotedL4::Ports { sport: 5001, dport: 53 }, ..quoted };
    assert_eq!(accept(&mut ct, &builder::icmp_error(b, a, 3, 3, other, at(2))).info, CtInfo::Invalid);
    let mut cut = builder::icmp_error(b, a, 3, 3, quoted, at(2));
    if let nftvm_runtime::conntrack::L4::Icmp(ref mut i) = cut.l4 {
        i.quoted = None;
    }
    assert_eq!(accept(&mut ct, &cut).info, CtInfo::Invalid);
    // Errors do not refresh or count on the flow.
    let c = ct.get(flow.conn.unwrap()).unwrap();
    assert_eq!((c.counters[0].packets, c.counters[1].packets), (1, 0));
    assert!(!c.has(ct_status::SEEN_REPLY));
}

#[test]
fn tcp_error_in_an_icmp_quote_of_an_established_flow() {
    let mut f = Flow::new(Config::default());
    f.send(0, SYN, 0);
    f.send(1, SYN | ACK, 0);
    f.send(0, ACK, 0);
    let q =
        Quoted { src: f.addr[0], dst: f.addr[1], proto: 6, l4: QuotedL4::Ports { sport: 40000, dport: 80 } };
    let t = f.run(&builder::icmp_error(f.addr[1], f.addr[0], 3, 4, q, f.now));
    assert_eq!(t.info, CtInfo::RelatedReply);
}

#[test]
fn flush_and_delete() {
    let mut ct = Conntrack::new(Config::default());
    for p in 1..=5 {
        accept(&mut ct, &udp_pkt(p, 1));
    }
    let (id, _) = ct.find(&udp_pkt(3, 1).tuple().unwrap(), 0).unwrap();
    assert!(ct.delete(id));
    assert!(!ct.delete(id));
    assert_eq!(ct.len(), 4);
    assert_eq!(ct.flush(), 4);
    assert_eq!((ct.len(), ct.count()), (0, 0));
    let _ = Tuple::default();
}

#[test]
fn statistics_line_like_conntrack_s() {
    let mut ct = Conntrack::new(Config::default());
    // One packet nothing can track (an ICMP type that cannot start a flow).
    accept(&mut ct, &builder::icmp(ip("10.0.0.1"), ip("10.0.0.2"), 0, 1, at(1)));
    // The line format of `conntrack -S` on Linux 6.18; `invalid` counts it (nf_conntrack_in).
    assert_eq!(
        ct.stats().line(0),
        "cpu=0   \tfound=0 invalid=1 insert=0 insert_failed=0 drop=0 early_drop=0 error=0 search_restart=0 \
         clash_resolve=0 chaintoolong=0 "
    );
}
