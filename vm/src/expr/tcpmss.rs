//! `target name TCPMSS rev 0` — iptables' `-j TCPMSS`, run as iptables-nft runs it: the
//! kernel's target (`xt_TCPMSS`), not nft's `tcp option maxseg size set` (what
//! iptables-translate writes), which behaves differently: both only ever lower an MSS
//! (`--set-mss` lowers one that is larger), but the target also adds an MSS option to a
//! segment without one, and clamps to the smaller MTU of the route out and the route back
//! to the source.
//!
//! As the kernel, on any TCP segment (iptables-nft skips the "only with `--syn`" check):
//! nothing on a later fragment; a drop when the TCP header is shorter than 20 bytes, its
//! data offset runs past the packet, or (clamp) the path MTU leaves no room for the IP and
//! TCP headers (40 bytes for IPv4, 60 for IPv6); the options walked as the kernel walks
//! them, and the first MSS option (kind 2, length 4) lowered when larger, the TCP checksum
//! fixed as if the field were 16-bit aligned (it may not be). A segment without an MSS
//! option, without payload and with room in its header gets one at the start of its options
//! (at most 536 for IPv4, 1220 for IPv6): the packet grows by 4 bytes. The VM holds the
//! packet's bytes in place and cannot grow them, so it asks the runtime to
//! ([`MssInsert`], applied when the chain has run): the rest of the chain counts the 4
//! bytes ([`crate::interp::Eval::packet_len`]) but reads the packet as it was (`meta
//! length`, the options, the IP length), the following chains and hooks see it grown.

use super::exthdr::tcp_optlen;
use crate::interp::{Eval, csum, headers};
use crate::keys::Family;
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verdict::Verdict;
use crate::verify::Check;
use std::fmt::Write;

/// One `-j TCPMSS`: `--set-mss N`, or `--clamp-mss-to-pmtu` (`None`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Tcpmss {
    pub mss: Option<u16>,
}

/// The TCP MSS option: kind and length.
const MSS_KIND: u8 = 2;
const MSS_LEN: usize = 4;
/// The TCP header without options, and with the most options its data offset allows.
const TCP_MIN: usize = 20;
const TCP_MAX: usize = 60;

/// What the target does to a TCP segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// Nothing more to do (the MSS option lowered in place, or left as it is).
    Done,
    /// The headers are cut short: NF_DROP.
    Drop,
    /// The segment needs an MSS option inserted.
    Insert,
}

/// An MSS option to insert into the TCP segment at offset `th` of the packet (the
/// segment's new MSS before the default cap, as [`Tcpmss`] computed it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MssInsert {
    pub th: usize,
    pub mss: u16,
    /// The table is ip6 (the 1220 cap and the payload length), else ip.
    pub ipv6: bool,
}

impl Tcpmss {
    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        o.push_str("name TCPMSS rev 0");
        match self.mss {
            Some(m) => {
                let _ = write!(o, " mss {m}");
            }
            None => o.push_str(" clamp-mss-to-pmtu"),
        }
    }

    pub(crate) fn parse(c: &mut Cursor, _a: &mut Asm) -> PResult<Tcpmss> {
        c.expect_all(&["name", "TCPMSS", "rev", "0"])?;
        if c.eat("clamp-mss-to-pmtu") {
            return Ok(Tcpmss { mss: None });
        }
        c.expect("mss")?;
        Ok(Tcpmss { mss: Some(c.num()?) })
    }

    /// The kernel registers `TCPMSS` for IPv4 and IPv6 tables.
    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        if !matches!(c.family, Family::Ip | Family::Ip6) {
            return Err("target TCPMSS runs in ip and ip6 tables only".into());
        }
        Ok(())
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let ipv6 = e.table_family == Family::Ip6;
        let net = e.pkt.network_off;
        let Some(th) = transport(e.pkt.data, net, ipv6) else {
            e.regs.verdict = Verdict::Drop;
            return;
        };
        // A later fragment has no TCP header.
        let Some(th) = th else { return };
        let step = match self.new_mss(e, ipv6) {
            None => Step::Drop,
            Some(mss) => match lower(e.pkt.data.get_mut(th..).unwrap_or_default(), mss) {
                Step::Insert => {
                    e.env.tcp_mss_insert(MssInsert { th, mss, ipv6 });
                    // (One option however many ask: a later one finds the first's.)
                    e.deferred_growth = MSS_LEN;
                    Step::Done
                }
                step => step,
            },
        };
        if step == Step::Drop {
            e.regs.verdict = Verdict::Drop;
        }
    }

    /// The MSS to set: `--set-mss`, or the smaller MTU of the packet's route and of the
    /// route back to its source, less the headers; `None` (drop) when that leaves nothing.
    fn new_mss(&self, e: &mut Eval, ipv6: bool) -> Option<u16> {
        if let Some(m) = self.mss {
            return Some(m);
        }
        let headers = if ipv6 { 60 } else { 40 };
        let out = e.env.route_mtu(false)?;
        let back = e.env.route_mtu(true).unwrap_or(u32::MAX);
        let mtu = out.min(back);
        // (The kernel keeps the low 16 bits of the difference.)
        (mtu > headers).then(|| (mtu - headers) as u16)
    }
}

/// Where the TCP header of the packet at `net` starts, as the target finds it: `Some(None)`
/// for a later fragment, `None` (drop) when an IPv6 extension header is cut short.
fn transport(d: &[u8], net: usize, ipv6: bool) -> Option<Option<usize>> {
    if ipv6 {
        let (th, frag_off) = headers::ipv6_skip_exthdr(d, net).ok()?;
        return Some((frag_off & !7 == 0).then_some(th));
    }
    // (The IP layer has checked the header: no offset means a later fragment.)
    Some(headers::ipv4_transport(d, net).0)
}

/// Lowers the MSS option of the TCP segment `seg` (header on, to the packet's end) to `mss`
/// where it is larger; [`Step::Insert`] when the segment has none and can take one.
fn lower(seg: &mut [u8], mss: u16) -> Step {
    let len = seg.len();
    if len < TCP_MIN {
        return Step::Drop;
    }
    let hdrlen = usize::from(seg[12] >> 4) * 4;
    if len < hdrlen || hdrlen < TCP_MIN {
        return Step::Drop;
    }
    let mut i = TCP_MIN;
    while i + MSS_LEN <= hdrlen {
        if seg[i] == MSS_KIND && usize::from(seg[i + 1]) == MSS_LEN {
            let old = [seg[i + 2], seg[i + 3]];
            if u16::from_be_bytes(old) > mss {
                let new = mss.to_be_bytes();
                seg[i + 2..i + 4].copy_from_slice(&new);
                csum::replace_kernel_at(seg, 16, csum::partial(&old), csum::partial(&new));
            }
            return Step::Done;
        }
        i += tcp_optlen(&seg[..hdrlen], i);
    }
    // Data after the header would have to move (and the segment might grow too large); a
    // full header has no room.
    if len > hdrlen || hdrlen >= TCP_MAX { Step::Done } else { Step::Insert }
}

impl MssInsert {
    /// Applies the insertion to `packet`, whose network header is at `net`: the segment gets
    /// an MSS option of at most 536 (IPv4) or 1220 (IPv6) at the start of its options, its
    /// data offset, the IP length and the checksums follow — unless an option was inserted
    /// since the request was made (two TCPMSS targets in one chain), which is then lowered
    /// as the second target would. False when the packet no longer has the segment.
    pub fn apply(&self, packet: &mut Vec<u8>, net: usize) -> bool {
        let th = self.th;
        let Some(seg) = packet.get_mut(th..) else { return false };
        match lower(seg, self.mss) {
            Step::Drop => return false,
            Step::Done => return true,
            Step::Insert => {}
        }
        let len = seg.len();
        let mss = self.mss.min(if self.ipv6 { 1220 } else { 536 });
        let [hi, lo] = mss.to_be_bytes();
        let option = [MSS_KIND, MSS_LEN as u8, hi, lo];
        let old_doff = [seg[12], seg[13]];
        // One more 4-byte word in the data offset (the high nibble).
        let new_doff = [seg[12] + ((MSS_LEN as u8 / 4) << 4), seg[13]];
        // The pseudo-header's length, the option's bytes and the data offset, in one sum.
        let (old_len, new_len) = (len as u16, (len + MSS_LEN) as u16);
        let fsum = csum::add(csum::partial(&old_len.to_be_bytes()), csum::partial(&old_doff));
        let tsum = csum::add(
            csum::add(csum::partial(&new_len.to_be_bytes()), csum::partial(&option)),
            csum::partial(&new_doff),
        );
        seg[12] = new_doff[0];
        csum::replace_kernel_at(seg, 16, fsum, tsum);
        let at = th + TCP_MIN;
        packet.splice(at..at, option);
        if self.ipv6 {
            grow_length(packet, net + 4, None)
        } else {
            grow_length(packet, net + 2, Some(net + 10))
        }
    }
}

/// Adds the option's 4 bytes to the IP length field at `at` (fixing the header checksum at
/// `sum_at`, IPv4's).
fn grow_length(packet: &mut [u8], at: usize, sum_at: Option<usize>) -> bool {
    let Some(field) = packet.get_mut(at..at + 2) else { return false };
    let old = [field[0], field[1]];
    let new = u16::from_be_bytes(old).wrapping_add(MSS_LEN as u16).to_be_bytes();
    field.copy_from_slice(&new);
    sum_at.is_none_or(|s| csum::replace_kernel_at(packet, s, csum::partial(&old), csum::partial(&new)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 20-byte TCP header with `options` (padded to 4 bytes), checksum 0x1234, then `data`.
    fn segment(options: &[u8], data: &[u8]) -> Vec<u8> {
        let mut opts = options.to_vec();
        opts.resize(options.len().div_ceil(4) * 4, 0);
        let mut s = vec![0u8; 20];
        s[12] = (((20 + opts.len()) / 4) << 4) as u8;
        s[13] = 0x02;
        s[16..18].copy_from_slice(&[0x12, 0x34]);
        s.extend(opts);
        s.extend(data);
        s
    }

    /// The TCP checksum over `seg` with an IPv4 pseudo-header of zero addresses.
    fn checksum_ok(seg: &[u8]) -> bool {
        let pseudo = [0, 6, (seg.len() >> 8) as u8, seg.len() as u8];
        csum::fold(csum::add(csum::partial(&pseudo), csum::partial(seg))) == 0
    }

    /// `seg` with a correct checksum (IPv4 pseudo-header of zero addresses).
    fn summed(mut seg: Vec<u8>) -> Vec<u8> {
        seg[16..18].fill(0);
        let pseudo = [0, 6, (seg.len() >> 8) as u8, seg.len() as u8];
        let c = csum::fold(csum::add(csum::partial(&pseudo), csum::partial(&seg)));
        seg[16..18].copy_from_slice(&c.to_be_bytes());
        seg
    }

    #[test]
    fn lowers_a_larger_mss_and_never_raises_one() {
        let mut s = summed(segment(&[2, 4, 0x05, 0xb4], b""));
        assert_eq!(lower(&mut s, 1400), Step::Done);
        assert_eq!(&s[22..24], &1400u16.to_be_bytes());
        assert!(checksum_ok(&s));
        let before = segment(&[2, 4, 0x04, 0xb0], b"");
        let mut s = before.clone();
        assert_eq!(lower(&mut s, 1400), Step::Done);
        assert_eq!(s, before);
    }

    #[test]
    fn walks_options_as_the_kernel_does() {
        // A zero length counts one byte, so the MSS option after it is found at 23.
        let mut s = summed(segment(&[1, 8, 0, 2, 4, 0x05, 0xb4], b""));
        assert_eq!(lower(&mut s, 1000), Step::Done);
        assert_eq!(&s[25..27], &1000u16.to_be_bytes());
        // The checksum is fixed as if the field were aligned: at an odd offset it is wrong,
        // as the kernel leaves it.
        assert!(!checksum_ok(&s));
        // An MSS option of another length is not the MSS option.
        let mut s = segment(&[2, 3, 0, 1], b"");
        assert_eq!(lower(&mut s, 1000), Step::Insert);
    }

    #[test]
    fn cut_short_headers_drop() {
        assert_eq!(lower(&mut [0u8; 19], 1000), Step::Drop);
        let mut s = segment(&[2, 4, 5, 0xb4], b"");
        s.truncate(22);
        assert_eq!(lower(&mut s, 1000), Step::Drop);
        let mut s = segment(&[], b"");
        s[12] = 0x40;
        assert_eq!(lower(&mut s, 1000), Step::Drop);
    }

    #[test]
    fn no_option_is_added_before_payload_or_to_a_full_header() {
        assert_eq!(lower(&mut segment(&[], b"data"), 1000), Step::Done);
        assert_eq!(lower(&mut segment(&[1; 40], b""), 1000), Step::Done);
        assert_eq!(lower(&mut segment(&[1; 36], b""), 1000), Step::Insert);
    }

    #[test]
    fn an_inserted_option_grows_the_ipv4_packet_and_keeps_its_checksums() {
        let seg = summed(segment(&[4, 2], b""));
        let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let total = (20 + seg.len()) as u16;
        ip[2..4].copy_from_slice(&total.to_be_bytes());
        let c = csum::fold(csum::partial(&ip));
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        ip.extend(&seg);
        let insert = MssInsert { th: 20, mss: 1460, ipv6: false };
        assert!(insert.apply(&mut ip, 0));
        assert_eq!(ip.len(), 20 + seg.len() + 4);
        assert_eq!(u16::from_be_bytes([ip[2], ip[3]]), total + 4);
        assert_eq!(csum::fold(csum::partial(&ip[..20])), 0);
        let tcp = &ip[20..];
        assert_eq!(tcp[12] >> 4, 7);
        assert_eq!(&tcp[20..26], &[2, 4, 0x02, 0x18, 4, 2]);
        assert!(checksum_ok(tcp));
        // Applied again (a second TCPMSS in the chain), it lowers the option it finds.
        let lower_again = MssInsert { th: 20, mss: 500, ipv6: false };
        assert!(lower_again.apply(&mut ip, 0));
        assert_eq!(ip.len(), 20 + seg.len() + 4);
        assert_eq!(&ip[42..44], &500u16.to_be_bytes());
    }

    #[test]
    fn later_fragments_are_left_alone_and_cut_ipv6_chains_drop() {
        let mut v4 = vec![0x45, 0, 0, 40, 0, 0, 0, 0x10, 64, 6];
        v4.resize(40, 0);
        assert_eq!(transport(&v4, 0, false), Some(None));
        v4[7] = 0;
        assert_eq!(transport(&v4, 0, false), Some(Some(20)));
        let mut v6 = vec![0x60, 0, 0, 0, 0, 8, 0, 64];
        v6.resize(40, 0);
        assert_eq!(transport(&v6, 0, true), None);
        v6.extend([6, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(transport(&v6, 0, true), Some(Some(48)));
        v6[6] = 44;
        v6[42..44].copy_from_slice(&[0, 8]);
        assert_eq!(transport(&v6, 0, true), Some(None));
    }
}
