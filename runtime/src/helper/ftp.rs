//! The FTP helper (`nf_conntrack_ftp.c` with `nf_nat_ftp.c`).
//!
//! On the control connection it looks for `PORT` / `EPRT` in the original direction and
//! the `227` (PASV) / `229` (EPSV) replies in the reply direction, and expects the data
//! connection they announce, so its first packet is RELATED. Only a segment that starts
//! right after a line end seen earlier in that direction is searched, and only its start:
//! a command split across segments is not reassembled (and a segment that is a prefix of
//! a command is dropped), exactly as Linux does. With NAT on the control connection the
//! address and port in the text are rewritten (the text may change length; sequence
//! numbers are then adjusted for the rest of the connection) and the expected connection
//! is NATed like its master.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use nftvm_vm::keys::ct_status as st;

use super::mangle::{Mangled, Rewrite};
use super::{Helper, HelperData};
use crate::conntrack::Conntrack;
use crate::conntrack::config::secs;
use crate::conntrack::confirm::Segment;
use crate::conntrack::ctinfo::CtInfo;
use crate::conntrack::entry::ConnId;
use crate::conntrack::expect::{ExpectNat, Expectation};
use crate::conntrack::packet::Time;
use crate::conntrack::tcp::{after, before};
use crate::conntrack::tuple::{L3, Tuple, addr_bits, proto};

/// Sequence numbers just after a line end remembered per direction.
const NUM_SEQ_TO_REMEMBER: usize = 2;

/// Per-connection FTP state (`struct nf_ct_ftp_master`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FtpState {
    seq_aft_nl: [[u32; NUM_SEQ_TO_REMEMBER]; 2],
    seq_aft_nl_num: [u8; 2],
}

impl FtpState {
    /// Does a segment starting at `seq` follow a line end (`find_nl_seq`)?
    fn after_newline(&self, seq: u32, dir: usize) -> bool {
        let n = usize::from(self.seq_aft_nl_num[dir]).min(NUM_SEQ_TO_REMEMBER);
        self.seq_aft_nl[dir][..n].contains(&seq)
    }

    /// Remembers that a line ended just before `nl_seq` (`update_nl_seq`).
    fn note_newline(&mut self, nl_seq: u32, dir: usize) {
        let n = usize::from(self.seq_aft_nl_num[dir]).min(NUM_SEQ_TO_REMEMBER);
        let seqs = &mut self.seq_aft_nl[dir];
        if seqs[..n].contains(&nl_seq) {
            return;
        }
        if n < NUM_SEQ_TO_REMEMBER {
            seqs[n] = nl_seq;
            self.seq_aft_nl_num[dir] += 1;
        } else {
            let oldest = if before(seqs[0], seqs[1]) { 0 } else { 1 };
            if after(nl_seq, seqs[oldest]) {
                seqs[oldest] = nl_seq;
            }
        }
    }
}

/// The four messages that announce a data connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FtpKind {
    /// `PORT h1,h2,h3,h4,p1,p2` (client, active mode).
    Port,
    /// `EPRT |af|addr|port|` (client, active mode).
    Eprt,
    /// `227 … h1,h2,h3,h4,p1,p2` (server reply to PASV).
    Pasv,
    /// `229 … (|||port|)` (server reply to EPSV).
    Epsv,
}

/// A command found at the start of a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FtpCommand {
    pub kind: FtpKind,
    /// The address in the text (for EPSV: the sender's own address).
    pub addr: IpAddr,
    pub port: u16,
    /// Where the address/port text starts in the payload, and its length.
    pub offset: usize,
    pub len: usize,
}

/// What searching a segment found (`find_pattern`'s 1 / 0 / -1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Search {
    Found(FtpCommand),
    Nothing,
    /// The segment is a command cut short, or a malformed one: the kernel drops it.
    Partial,
}

/// The parsed address/port text: (address, port, length of the text).
type Parsed = (Option<IpAddr>, u16, usize);

/// `try_number`: `n` decimal numbers separated by `sep`, ended by `term` (or by anything
/// when `term` is `None`). Returns the numbers and the length read, or `None`.
fn numbers(data: &[u8], n: usize, sep: u8, term: Option<u8>) -> Option<([u32; 6], usize)> {
    let mut out = [0u32; 6];
    let mut i = 0;
    for (len, &c) in data.iter().enumerate() {
        if i >= n {
            break;
        }
        if c.is_ascii_digit() {
            out[i] = out[i].wrapping_mul(10).wrapping_add(u32::from(c - b'0'));
        } else if c == sep {
            i += 1;
        } else {
            return (term.is_none_or(|t| t == c) && i == n - 1).then_some((out, len));
        }
    }
    None
}

/// `try_rfc959`: `h1,h2,h3,h4,p1,p2` as an IPv4 address and port.
fn rfc959(data: &[u8], term: Option<u8>) -> Option<Parsed> {
    let (a, len) = numbers(data, 6, b',', term)?;
    let ip = (a[0] << 24) | (a[1] << 16) | (a[2] << 8) | a[3];
    let port = ((a[4] << 8) | a[5]) as u16;
    Some((Some(IpAddr::V4(Ipv4Addr::from(ip))), port, len))
}

/// `get_port`: digits up to `delim` from `start`; returns the index after the delimiter.
fn get_port(data: &[u8], start: usize, delim: u8) -> Option<(u16, usize)> {
    let mut port: u16 = 0;
    for (i, &c) in data.iter().enumerate().skip(start) {
        if c == delim {
            return (port != 0).then_some((port, i + 1));
        } else if c.is_ascii_digit() {
            port = port.wrapping_mul(10).wrapping_add(u16::from(c - b'0'));
        } else {
            return None;
        }
    }
    None
}

fn valid_delim(d: u8) -> bool {
    !d.is_ascii_digit() && (33..=126).contains(&d)
}

/// `try_eprt`: `|1|a.b.c.d|port|` or `|2|v6addr|port|` (the family must be the
/// connection's).
fn eprt(data: &[u8], l3: L3) -> Option<Parsed> {
    if data.len() <= 3 {
        return None;
    }
    let delim = data[0];
    if !valid_delim(delim) || data[2] != delim {
        return None;
    }
    let want = if l3 == L3::Ipv4 { b'1' } else { b'2' };
    if data[1] != want {
        return None;
    }
    let rest = &data[3..];
    let (addr, len) = if data[1] == b'1' {
        let (a, len) = numbers(rest, 4, b'.', Some(delim))?;
        let ip = (a[0] << 24) | (a[1] << 16) | (a[2] << 8) | a[3];
        (IpAddr::V4(Ipv4Addr::from(ip)), len)
    } else {
        let end = rest.iter().position(|&c| c == delim)?;
        let text = std::str::from_utf8(&rest[..end]).ok()?;
        (IpAddr::V6(text.parse::<Ipv6Addr>().ok()?), end)
    };
    if len == 0 {
        return None;
    }
    let (port, next) = get_port(data, 3 + len + 1, delim)?;
    Some((Some(addr), port, next))
}

/// `try_epsv_response`: `|||port|`.
fn epsv(data: &[u8]) -> Option<Parsed> {
    if data.len() <= 3 {
        return None;
    }
    let delim = data[0];
    if !valid_delim(delim) || data[1] != delim || data[2] != delim {
        return None;
    }
    let (port, next) = get_port(data, 3, delim)?;
    Some((None, port, next))
}

/// One search pattern of `search[dir]`.
struct Pattern {
    text: &'static [u8],
    skip: Option<u8>,
    kind: FtpKind,
}

const ORIGINAL_PATTERNS: [Pattern; 2] = [
    Pattern { text: b"PORT", skip: Some(b' '), kind: FtpKind::Port },
    Pattern { text: b"EPRT", skip: Some(b' '), kind: FtpKind::Eprt },
];
const REPLY_PATTERNS: [Pattern; 2] = [
    Pattern { text: b"227 ", skip: None, kind: FtpKind::Pasv },
    Pattern { text: b"229 ", skip: Some(b'('), kind: FtpKind::Epsv },
];

/// `find_pattern` for one pattern.
fn find_pattern(data: &[u8], p: &Pattern, l3: L3, own_addr: IpAddr) -> Search {
    let plen = p.text.len();
    if data.len() <= plen {
        return if data.eq_ignore_ascii_case(&p.text[..data.len()]) {
            Search::Partial
        } else {
            Search::Nothing
        };
    }
    if !data[..plen].eq_ignore_ascii_case(p.text) {
        return Search::Nothing;
    }
    let mut start = plen;
    if let Some(skip) = p.skip {
        match data[plen..].iter().position(|&c| c == skip) {
            Some(k) => start = plen + k + 1,
            None => return Search::Partial,
        }
    }
    let rest = &data[start..];
    let parsed = match p.kind {
        FtpKind::Port => rfc959(rest, Some(b'\r')).map(|r| (0, r)),
        FtpKind::Pasv => {
            // RFC 1123: scan to the first digit, the parentheses are optional.
            rest.iter().position(u8::is_ascii_digit).and_then(|k| rfc959(&rest[k..], None).map(|r| (k, r)))
        }
        FtpKind::Eprt => eprt(rest, l3).map(|r| (0, r)),
        FtpKind::Epsv => epsv(rest).map(|r| (0, r)),
    };
    match parsed {
        Some((shift, (addr, port, len))) if len > 0 => {
            let addr = match addr {
                Some(IpAddr::V4(v4)) if l3 == L3::Ipv6 => with_v4_prefix(own_addr, v4),
                Some(a) => a,
                None => own_addr,
            };
            Search::Found(FtpCommand { kind: p.kind, addr, port, offset: start + shift, len })
        }
        _ => Search::Partial,
    }
}

/// What the kernel compares when a `PORT`/`227` appears on an IPv6 connection: the IPv6
/// address with its first four bytes overwritten.
fn with_v4_prefix(own: IpAddr, v4: Ipv4Addr) -> IpAddr {
    match own {
        IpAddr::V6(v6) => {
            let mut b = v6.octets();
            b[..4].copy_from_slice(&v4.octets());
            IpAddr::V6(Ipv6Addr::from(b))
        }
        v4own => v4own,
    }
}

/// Searches the start of a segment of direction `dir` (0 original, 1 reply) of a
/// connection in family `l3`; `own_addr` is the sender's address (what EPSV implies).
pub fn search(payload: &[u8], dir: usize, l3: L3, own_addr: IpAddr) -> Search {
    let patterns = if dir == 0 { &ORIGINAL_PATTERNS } else { &REPLY_PATTERNS };
    for p in patterns {
        match find_pattern(payload, p, l3, own_addr) {
            Search::Nothing => continue,
            found => return found,
        }
    }
    Search::Nothing
}

/// The text NAT puts in place of the address/port (`nf_nat_ftp_fmt_cmd`).
pub fn format_command(kind: FtpKind, addr: IpAddr, port: u16) -> String {
    match kind {
        FtpKind::Port | FtpKind::Pasv => {
            let o = match addr {
                IpAddr::V4(a) => a.octets(),
                IpAddr::V6(a) => {
                    let b = a.octets();
                    [b[0], b[1], b[2], b[3]]
                }
            };
            format!("{},{},{},{},{},{}", o[0], o[1], o[2], o[3], port >> 8, port & 0xff)
        }
        FtpKind::Eprt => match addr {
            IpAddr::V4(a) => format!("|1|{a}|{port}|"),
            IpAddr::V6(a) => {
                // %pI6: eight groups of four hex digits, not compressed.
                let s = a.segments();
                format!(
                    "|2|{:04x}:{:04x}:{:04x}:{:04x}:{:04x}:{:04x}:{:04x}:{:04x}|{port}|",
                    s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]
                )
            }
        },
        FtpKind::Epsv => format!("|||{port}|"),
    }
}

impl Conntrack {
    /// The FTP helper on one packet at the confirm point. `Ok(Some(..))`: replace the
    /// payload; `Err(())`: drop the packet.
    pub(crate) fn ftp_help(
        &mut self,
        id: ConnId,
        dir: usize,
        info: CtInfo,
        seg: &Segment<'_>,
        now: Time,
    ) -> Result<Option<Mangled>, ()> {
        // Until there has been traffic both ways, don't look in packets.
        if !matches!(info, CtInfo::Established | CtInfo::EstablishedReply) || seg.payload.is_empty() {
            return Ok(None);
        }
        let Some(c) = self.get(id) else { return Ok(None) };
        let mut state = match &c.ext.as_ref().map(|e| &e.helper_data) {
            Some(HelperData::Ftp(s)) => *s,
            _ => FtpState::default(),
        };
        let payload = seg.payload;
        let ends_in_nl = payload.last() == Some(&b'\n');
        let next_seq = seg.seq.wrapping_add(payload.len() as u32);
        let mut result = Ok(None);
        if state.after_newline(seg.seq, dir) {
            let l3 = c.tuple[0].l3;
            let own = c.tuple[dir].src_addr();
            match search(payload, dir, l3, own) {
                Search::Partial => return Err(()),
                Search::Nothing => {}
                Search::Found(cmd) => result = self.ftp_expect(id, dir, &cmd, seg, now),
            }
        }
        if ends_in_nl {
            state.note_newline(next_seq, dir);
        }
        if let Some(c) = self.get_mut(id) {
            c.ext_mut().helper_data = HelperData::Ftp(state);
        }
        result
    }

    /// Registers the expectation a command announces; with NAT, rewrites the text.
    fn ftp_expect(
        &mut self,
        id: ConnId,
        dir: usize,
        cmd: &FtpCommand,
        seg: &Segment<'_>,
        now: Time,
    ) -> Result<Option<Mangled>, ()> {
        let Some(c) = self.get(id) else { return Ok(None) };
        if addr_bits(cmd.addr) != c.tuple[dir].src
            || crate::conntrack::tuple::L3::of(cmd.addr) != c.tuple[dir].l3
        {
            // The command names another host: not recorded (the helper's `loose=0`).
            return Ok(None);
        }
        let other = c.tuple[1 - dir];
        let nat = c.status & (st::SRC_NAT | st::DST_NAT) != 0;
        let mut exp = Expectation {
            tuple: Tuple {
                src: other.src,
                dst: other.dst,
                src_id: 0,
                dst_id: cmd.port,
                proto: proto::TCP,
                l3: other.l3,
            },
            exact_src_id: false,
            any_src: false,
            zone: c.zone,
            master: id,
            timeout: now.saturating_add(secs(Helper::Ftp.expect_timeout())),
            nat: None,
            serial: 0,
        };
        if !nat {
            return match self.expect_related(exp, now) {
                Ok(()) => Ok(None),
                Err(_) => Err(()),
            };
        }
        // NAT: the data connection will come from wherever this packet goes.
        let new_addr = crate::conntrack::tuple::addr_from_bits(other.l3, other.dst);
        exp.nat = Some(ExpectNat { dir: 1 - dir, saved_port: cmd.port });
        let Some(port) = self.expect_find_port(&mut exp, cmd.port, now) else { return Err(()) };
        let text = format_command(cmd.kind, new_addr, port);
        self.mangle_tcp(
            id,
            dir,
            seg,
            Rewrite { offset: cmd.offset, len: cmd.len, with: text.as_bytes() },
            &exp,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn found(s: Search) -> FtpCommand {
        match s {
            Search::Found(c) => c,
            other => panic!("expected a command, got {other:?}"),
        }
    }

    #[test]
    fn port_command() {
        let c = found(search(b"PORT 10,0,0,1,4,1\r\n", 0, L3::Ipv4, v4("10.0.0.1")));
        assert_eq!((c.kind, c.addr, c.port, c.offset, c.len), (FtpKind::Port, v4("10.0.0.1"), 1025, 5, 12));
        // Case-insensitive, like strncasecmp.
        assert!(matches!(search(b"port 10,0,0,1,4,1\r\n", 0, L3::Ipv4, v4("10.0.0.1")), Search::Found(_)));
        // No CR before LF: the terminator is wrong, the kernel drops the packet.
        assert_eq!(search(b"PORT 10,0,0,1,4,1\n", 0, L3::Ipv4, v4("10.0.0.1")), Search::Partial);
        // A prefix of the command alone is "partial".
        assert_eq!(search(b"POR", 0, L3::Ipv4, v4("10.0.0.1")), Search::Partial);
        assert_eq!(search(b"USER ftp\r\n", 0, L3::Ipv4, v4("10.0.0.1")), Search::Nothing);
        // Replies are not searched for commands and vice versa.
        assert_eq!(search(b"PORT 10,0,0,1,4,1\r\n", 1, L3::Ipv4, v4("10.0.0.1")), Search::Nothing);
    }

    #[test]
    fn pasv_reply_scans_to_first_digit() {
        let p = b"227 Entering Passive Mode (192,168,1,2,195,80).\r\n";
        let c = found(search(p, 1, L3::Ipv4, v4("192.168.1.2")));
        assert_eq!((c.addr, c.port), (v4("192.168.1.2"), 50000));
        assert_eq!(&p[c.offset..c.offset + c.len], b"192,168,1,2,195,80");
    }

    #[test]
    fn eprt_and_epsv() {
        let p = b"EPRT |1|132.235.1.2|6275|\r\n";
        let c = found(search(p, 0, L3::Ipv4, v4("132.235.1.2")));
        assert_eq!((c.kind, c.port), (FtpKind::Eprt, 6275));
        assert_eq!(&p[c.offset..c.offset + c.len], b"|1|132.235.1.2|6275|");
        let p6 = b"EPRT |2|fd00::1|5282|\r\n";
        let c = found(search(p6, 0, L3::Ipv6, "fd00::1".parse().unwrap()));
        assert_eq!((c.addr, c.port), ("fd00::1".parse().unwrap(), 5282));
        // The family must be the connection's.
        assert_eq!(search(p6, 0, L3::Ipv4, v4("10.0.0.1")), Search::Partial);
        let e = b"229 Entering Extended Passive Mode (|||6446|)\r\n";
        let c = found(search(e, 1, L3::Ipv4, v4("10.0.0.2")));
        assert_eq!((c.kind, c.addr, c.port), (FtpKind::Epsv, v4("10.0.0.2"), 6446));
        assert_eq!(&e[c.offset..c.offset + c.len], b"|||6446|");
    }

    #[test]
    fn nat_text_formats() {
        assert_eq!(format_command(FtpKind::Port, v4("192.0.2.7"), 1025), "192,0,2,7,4,1");
        assert_eq!(format_command(FtpKind::Eprt, v4("192.0.2.7"), 1025), "|1|192.0.2.7|1025|");
        assert_eq!(
            format_command(FtpKind::Eprt, "fd00::7".parse().unwrap(), 80),
            "|2|fd00:0000:0000:0000:0000:0000:0000:0007|80|"
        );
        assert_eq!(format_command(FtpKind::Epsv, v4("192.0.2.7"), 6446), "|||6446|");
    }

    #[test]
    fn newline_memory_keeps_two_latest() {
        let mut s = FtpState::default();
        assert!(!s.after_newline(100, 0));
        s.note_newline(100, 0);
        s.note_newline(200, 0);
        s.note_newline(300, 0);
        assert!(s.after_newline(300, 0) && s.after_newline(200, 0) && !s.after_newline(100, 0));
        assert!(!s.after_newline(300, 1));
    }
}
