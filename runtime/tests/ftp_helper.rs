//! The FTP helper: PORT / EPRT / 227 / 229 create expectations so the data connection is
//! RELATED to its control connection; with NAT the text is rewritten, later sequence
//! numbers are adjusted in both directions, and the data connection is NATed like its
//! master.
//!
//! Expected behaviour from `nf_conntrack_ftp.c` / `nf_nat_ftp.c`; the non-NAT PORT case
//! was also observed on Linux 6.18 (`conntrack -L expect` showed the expectation
//! `src=server dst=client sport=0 dport=51210` once the client sent `PORT 10,9,0,1,200,10`
//! as its second data segment).

#[path = "conntrack_support.rs"]
mod support;

use std::net::IpAddr;

use nftvm_runtime::conntrack::{
    Config, ConfirmDrop, Conntrack, CtInfo, Finish, L4Payload, SECOND, Segment, Tracked, Tuple, builder,
    packet::Time,
};
use nftvm_runtime::helper::Helper;
use nftvm_runtime::nat::{HeaderRewrite, Manip, NatAction, NatRange, Side};
use nftvm_vm::keys::ct_status;
use support::*;

/// An FTP control connection through the tracker, with the addresses each side uses and
/// the sequence offsets NAT introduced on the wire.
struct Ctl {
    ct: Conntrack,
    /// Where original-direction packets come from and go to.
    orig: (IpAddr, u16, IpAddr, u16),
    /// Where reply packets come from and go to (after NAT on the far side).
    reply: (IpAddr, u16, IpAddr, u16),
    seq: [u32; 2],
    /// How much the receiver's view of each side's sequence numbers is shifted.
    wire: [i32; 2],
    now: Time,
}

impl Ctl {
    /// Opens a control connection with the helper attached; `nat` binds NAT at the SYN.
    fn open(
        orig: (IpAddr, u16, IpAddr, u16),
        reply: (IpAddr, u16, IpAddr, u16),
        nat: &[(Manip, NatRange)],
    ) -> Ctl {
        let mut c = Ctl {
            ct: Conntrack::new(Config::default()),
            orig,
            reply,
            seq: [1000, 70_000],
            wire: [0, 0],
            now: at(1),
        };
        let syn = c.packet(0, SYN, &[]);
        let t = c.ct.track(&syn).unwrap();
        let id = t.conn.unwrap();
        assert!(c.ct.set_helper(id, Helper::Ftp));
        for (manip, range) in nat {
            c.ct.nat_setup(id, range, *manip).unwrap();
        }
        for manip in [Manip::Dst, Manip::Src] {
            if c.ct.nat_needed(&t, manip) {
                c.ct.nat_null_binding(id, manip).unwrap();
            }
        }
        c.ct.finish(&t, None).unwrap();
        c.seq[0] += 1;
        let (t, _) = c.send_raw(1, SYN | ACK, &[]);
        assert_eq!(t.info, CtInfo::EstablishedReply);
        c.seq[1] += 1;
        let (t, _) = c.send_raw(0, ACK, &[]);
        assert_eq!(t.info, CtInfo::Established);
        c
    }

    fn packet(&self, dir: usize, flags: u8, payload: &[u8]) -> nftvm_runtime::conntrack::PacketInfo<'static> {
        let (src, sport, dst, dport) = if dir == 0 { self.orig } else { self.reply };
        let ack =
            if flags & ACK != 0 { self.seq[1 - dir].wrapping_add(self.wire[1 - dir] as u32) } else { 0 };
        builder::tcp(
            src,
            dst,
            sport,
            dport,
            flags,
            self.seq[dir],
            ack,
            64_000,
            payload.len() as u32,
            &[],
            self.now,
        )
    }

    fn send_raw(&mut self, dir: usize, flags: u8, payload: &[u8]) -> (Tracked, Result<Finish, ConfirmDrop>) {
        let pkt = self.packet(dir, flags, payload);
        let nftvm_runtime::conntrack::L4::Tcp(tcp) = pkt.l4 else { unreachable!() };
        let t = self.ct.track(&pkt).unwrap();
        let seg = Segment { seq: tcp.seq, ack: tcp.ack, flags, payload, sack: &[], l3_len: pkt.len };
        let r = if t.info == CtInfo::Invalid {
            self.ct.abort(&t);
            Err(ConfirmDrop::Helper)
        } else {
            self.ct.finish(&t, Some(&L4Payload::Tcp(seg)))
        };
        (t, r)
    }

    /// Side `dir` sends a line that must get through; returns what the confirm point did.
    fn say(&mut self, dir: usize, text: &str) -> Finish {
        let (t, r) = self.try_say(dir, text);
        assert_ne!(t.info, CtInfo::Invalid, "{text:?}");
        r.unwrap_or_else(|e| panic!("{text:?} dropped: {e:?}"))
    }

    /// Side `dir` sends a line; returns the ctinfo and what the confirm point did.
    fn try_say(&mut self, dir: usize, text: &str) -> (Tracked, Result<Finish, ConfirmDrop>) {
        let (t, r) = self.send_raw(dir, ACK | PSH, text.as_bytes());
        // A dropped segment never arrives: the sender will send that data again.
        if let Ok(fin) = &r {
            self.wire[dir] += fin.delta;
            self.seq[dir] = self.seq[dir].wrapping_add(text.len() as u32);
        }
        (t, r)
    }

    fn control(&self) -> nftvm_runtime::conntrack::ConnId {
        let (src, sport, dst, dport) = self.orig;
        self.ct.find(&Tuple::ports(src, dst, 6, sport, dport), 0).unwrap().0
    }
}

fn expectations(ct: &Conntrack) -> Vec<(IpAddr, IpAddr, u16)> {
    ct.expectations().map(|e| (e.tuple.src_addr(), e.tuple.dst_addr(), e.tuple.dport())).collect()
}

const CLIENT: &str = "10.9.0.1";
const SERVER: &str = "10.9.0.2";

fn plain() -> Ctl {
    let (c, s) = (ip(CLIENT), ip(SERVER));
    Ctl::open((c, 55958, s, 21), (s, 21, c, 55958), &[])
}

#[test]
fn active_mode_port_makes_the_data_connection_related() {
    let mut x = plain();
    assert_eq!(x.try_say(1, "220 hi\r\n").0.info, CtInfo::EstablishedReply);
    x.say(0, "USER a\r\n");
    assert!(expectations(&x.ct).is_empty());
    let fin = x.say(0, "PORT 10,9,0,1,200,10\r\n");
    assert_eq!(fin.payload, None, "no NAT: the text stays");
    assert_eq!(expectations(&x.ct), [(ip(SERVER), ip(CLIENT), 51210)]);
    // As `conntrack -L expect` showed it on Linux 6.18 for the same command (1 s later).
    assert_eq!(
        x.ct.dump_expectations(at(2)),
        ["299 proto=6 src=10.9.0.2 dst=10.9.0.1 sport=0 dport=51210 mask-src=255.255.255.255 \
          mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.9.0.1 master-dst=10.9.0.2 sport=55958 \
          dport=21 class=0 helper=ftp"]
    );

    // The server connects from port 20 (any source port matches).
    let syn = builder::tcp(ip(SERVER), ip(CLIENT), 20, 51210, SYN, 5, 0, 1000, 0, &[], at(2));
    let t = x.ct.track(&syn).unwrap();
    assert_eq!(t.info, CtInfo::Related);
    let id = t.conn.unwrap();
    x.ct.finish(&t, None).unwrap();
    let data = x.ct.get(id).unwrap();
    assert!(data.has(ct_status::EXPECTED));
    assert_eq!(data.master(), Some(x.control()));
    assert_eq!(data.helper, None);
    assert!(expectations(&x.ct).is_empty(), "an expectation is used once");
    // Until the client answers, the server's packets stay RELATED; then ESTABLISHED.
    let again = x.ct.track(&syn).unwrap();
    assert_eq!(again.info, CtInfo::Related);
    x.ct.finish(&again, None).unwrap();
    let synack = builder::tcp(ip(CLIENT), ip(SERVER), 51210, 20, SYN | ACK, 900, 6, 1000, 0, &[], at(2));
    assert_eq!(x.ct.track(&synack).unwrap().info, CtInfo::EstablishedReply);
}

#[test]
fn the_first_segment_of_a_direction_is_not_searched() {
    let mut x = plain();
    x.say(1, "220 hi\r\n");
    x.say(0, "PORT 10,9,0,1,200,10\r\n");
    assert!(expectations(&x.ct).is_empty());
    // The next one is (it follows a line end).
    x.say(0, "PORT 10,9,0,1,200,11\r\n");
    assert_eq!(expectations(&x.ct), [(ip(SERVER), ip(CLIENT), 51211)]);
}

#[test]
fn a_segment_not_following_a_line_end_is_not_searched() {
    let mut x = plain();
    x.say(1, "220 hi\r\n");
    x.say(0, "NOOP");
    x.say(0, "\r\nPORT 10,9,0,1,200,10\r\n");
    assert!(expectations(&x.ct).is_empty());
}

#[test]
fn passive_and_extended_passive_replies() {
    let mut x = plain();
    x.say(1, "220 hi\r\n");
    x.say(0, "PASV\r\n");
    x.say(1, "227 Entering Passive Mode (10,9,0,2,195,80).\r\n");
    assert_eq!(expectations(&x.ct), [(ip(CLIENT), ip(SERVER), 50000)]);
    let t =
        x.ct.track(&builder::tcp(ip(CLIENT), ip(SERVER), 41000, 50000, SYN, 1, 0, 1000, 0, &[], at(2)))
            .unwrap();
    assert_eq!(t.info, CtInfo::Related);
    x.ct.finish(&t, None).unwrap();

    x.say(0, "EPSV\r\n");
    x.say(1, "229 Entering Extended Passive Mode (|||6446|)\r\n");
    assert_eq!(expectations(&x.ct), [(ip(CLIENT), ip(SERVER), 6446)]);
}

#[test]
fn eprt_and_one_expectation_per_master() {
    let mut x = plain();
    x.say(1, "220 hi\r\n");
    x.say(0, "USER a\r\n");
    x.say(0, "EPRT |1|10.9.0.1|6275|\r\n");
    assert_eq!(expectations(&x.ct), [(ip(SERVER), ip(CLIENT), 6275)]);
    // A new announcement replaces the pending one (max_expected = 1).
    x.say(0, "PORT 10,9,0,1,200,10\r\n");
    assert_eq!(expectations(&x.ct), [(ip(SERVER), ip(CLIENT), 51210)]);
    // An announcement naming another host is not recorded.
    x.say(0, "PORT 10,9,0,7,200,12\r\n");
    assert_eq!(expectations(&x.ct), [(ip(SERVER), ip(CLIENT), 51210)]);
    // Expectations time out after 5 minutes.
    let late = builder::tcp(ip(SERVER), ip(CLIENT), 20, 51210, SYN, 5, 0, 1000, 0, &[], at(1 + 301));
    assert_eq!(x.ct.track(&late).unwrap().info, CtInfo::New);
}

#[test]
fn a_cut_command_drops_the_packet() {
    let mut x = plain();
    x.say(1, "220 hi\r\n");
    x.say(0, "USER a\r\n");
    let (_, r) = x.try_say(0, "PORT 10,9,0");
    assert_eq!(r, Err(ConfirmDrop::Helper));
    let (_, r) = x.try_say(0, "POR");
    assert_eq!(r, Err(ConfirmDrop::Helper));
    assert!(expectations(&x.ct).is_empty());
}

#[test]
fn expectations_die_with_their_master() {
    let mut x = plain();
    x.say(1, "220 hi\r\n");
    x.say(0, "USER a\r\n");
    x.say(0, "PORT 10,9,0,1,200,10\r\n");
    assert_eq!(x.ct.expectations().count(), 1);
    let id = x.control();
    x.ct.delete(id);
    assert_eq!(x.ct.expectations().count(), 0);
}

#[test]
fn snat_active_mode_rewrites_port_and_adjusts_sequence_numbers() {
    // Client 10.0.0.1 behind SNAT to 192.0.2.1, server 198.51.100.7.
    let (c, nat, s) = (ip("10.0.0.1"), ip("192.0.2.1"), ip("198.51.100.7"));
    let mut x = Ctl::open((c, 40000, s, 21), (s, 21, nat, 40000), &[(Manip::Src, NatRange::addr(nat))]);
    x.say(1, "220 hi\r\n");
    x.say(0, "USER a\r\n");
    let port_seq = x.seq[0];
    let fin = x.say(0, "PORT 10,0,0,1,200,10\r\n");
    assert_eq!(fin.payload.as_deref(), Some(&b"PORT 192,0,2,1,200,10\r\n"[..]));
    assert_eq!(fin.delta, 1);
    // The segment carrying the change keeps its sequence number.
    assert_eq!(fin.seq, None, "no adjustment existed before this segment");
    assert!(x.ct.get(x.control()).unwrap().has(ct_status::SEQ_ADJUST));
    assert_eq!(expectations(&x.ct), [(s, nat, 51210)]);

    // The server acknowledges the longer text; conntrack maps the ACK back (and the
    // window check accepts it), the client gets its own numbers.
    let adj = x.say(1, "200 PORT ok\r\n").seq.expect("adjusted");
    assert_eq!(adj.ack, Some(port_seq + 22));
    // Later client data moves up by one byte on the wire.
    let next = x.seq[0];
    assert_eq!(x.say(0, "LIST\r\n").seq.unwrap().seq, next + 1);

    // The server's data connection to 192.0.2.1:51210 is RELATED and follows the master:
    // destination back to the client's real address and port.
    let syn = builder::tcp(s, nat, 20, 51210, SYN, 5, 0, 1000, 0, &[], at(2));
    let t = x.ct.track(&syn).unwrap();
    assert_eq!(t.info, CtInfo::Related);
    assert!(!x.ct.nat_needed(&t, Manip::Dst), "bound already, the nat chains are skipped");
    assert_eq!(
        x.ct.nat_rewrite(&t, Manip::Dst),
        NatAction::Rewrite {
            outer: HeaderRewrite { side: Side::Dst, addr: c, l4: Some(51210) },
            inner: None
        }
    );
    assert_eq!(x.ct.nat_rewrite(&t, Manip::Src), NatAction::None);
    x.ct.finish(&t, None).unwrap();
}

#[test]
fn dnat_passive_mode_rewrites_the_227_reply() {
    // The server 10.1.1.10 is published as 192.0.2.1 (DNAT); the client is outside.
    let (client, public, server) = (ip("198.51.100.7"), ip("192.0.2.1"), ip("10.1.1.10"));
    let mut x = Ctl::open(
        (client, 41000, public, 21),
        (server, 21, client, 41000),
        &[(Manip::Dst, NatRange::addr(server))],
    );
    x.say(1, "220 hi\r\n");
    x.say(0, "PASV\r\n");
    let fin = x.say(1, "227 Entering Passive Mode (10,1,1,10,195,80).\r\n");
    assert_eq!(fin.payload.as_deref(), Some(&b"227 Entering Passive Mode (192,0,2,1,195,80).\r\n"[..]));
    assert_eq!(fin.delta, 0);
    assert_eq!(expectations(&x.ct), [(client, public, 50000)]);
    let t = x.ct.track(&builder::tcp(client, public, 41001, 50000, SYN, 1, 0, 1000, 0, &[], at(2))).unwrap();
    assert_eq!(t.info, CtInfo::Related);
    assert_eq!(
        x.ct.nat_rewrite(&t, Manip::Dst),
        NatAction::Rewrite {
            outer: HeaderRewrite { side: Side::Dst, addr: server, l4: Some(50000) },
            inner: None
        }
    );
    x.ct.finish(&t, None).unwrap();
}

#[test]
fn snat_eprt_and_epsv_texts() {
    let (c, nat, s) = (ip("10.0.0.1"), ip("192.0.2.1"), ip("198.51.100.7"));
    let mut x = Ctl::open((c, 40000, s, 21), (s, 21, nat, 40000), &[(Manip::Src, NatRange::addr(nat))]);
    x.say(1, "220 hi\r\n");
    x.say(0, "USER a\r\n");
    let fin = x.say(0, "EPRT |1|10.0.0.1|6275|\r\n");
    assert_eq!(fin.payload.as_deref(), Some(&b"EPRT |1|192.0.2.1|6275|\r\n"[..]));
    assert_eq!(fin.delta, 1);
    x.say(1, "200 ok\r\n");
    // EPSV names no address: only the port, unchanged here.
    x.say(0, "EPSV\r\n");
    let fin = x.say(1, "229 Entering Extended Passive Mode (|||6446|)\r\n");
    assert_eq!(fin.payload.as_deref(), Some(&b"229 Entering Extended Passive Mode (|||6446|)\r\n"[..]));
}

/// The same exchange through Linux 6.18 with `snat to 10.9.0.100` and the ftp helper: the
/// server received `PORT 10,9,0,100,200,10` and `EPRT |1|10.9.0.100|6275|`, and
/// `conntrack -L expect` then listed only the EPRT expectation.
#[test]
fn snat_as_observed_on_linux() {
    let (c, nat, s) = (ip("10.9.0.1"), ip("10.9.0.100"), ip("10.9.0.2"));
    let mut x = Ctl::open((c, 43148, s, 21), (s, 21, nat, 43148), &[(Manip::Src, NatRange::addr(nat))]);
    x.say(1, "220 hi\r\n");
    x.say(0, "USER a\r\n");
    let fin = x.say(0, "PORT 10,9,0,1,200,10\r\n");
    assert_eq!(fin.payload.as_deref(), Some(&b"PORT 10,9,0,100,200,10\r\n"[..]));
    x.say(1, "200 PORT ok\r\n");
    let fin = x.say(0, "EPRT |1|10.9.0.1|6275|\r\n");
    assert_eq!(fin.payload.as_deref(), Some(&b"EPRT |1|10.9.0.100|6275|\r\n"[..]));
    x.say(1, "200 EPRT ok\r\n");
    assert_eq!(
        x.ct.dump_expectations(at(1) + SECOND / 2),
        ["299 proto=6 src=10.9.0.2 dst=10.9.0.100 sport=0 dport=6275 mask-src=255.255.255.255 \
          mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.9.0.1 master-dst=10.9.0.2 sport=43148 \
          dport=21 class=0 helper=ftp"]
    );
    let line = x.ct.dump(at(1)).pop().unwrap();
    assert!(line.starts_with("tcp      6 "), "{line}");
    assert!(line.contains("src=10.9.0.2 dst=10.9.0.100 sport=21 dport=43148"), "{line}");
    assert!(line.ends_with("[ASSURED] mark=0 helper=ftp use=1"), "{line}");
}
