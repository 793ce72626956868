//! Random packets: IPv4/IPv6 with TCP, UDP, ICMP, SCTP or other payloads, addresses and
//! ports from small pools (so rules can match them), sometimes fragments, IPv4 options,
//! IPv6 extension headers, a link-layer header, or truncation.

use super::Rng;
use nftvm_vm::interp::PacketCtx;
use nftvm_vm::keys::{Family, Hook, PayloadBase};

#[derive(Clone, Debug)]
pub struct TestPacket {
    /// Link-layer header (empty or 14 bytes).
    pub link: Vec<u8>,
    /// From the IP header on.
    pub ip: Vec<u8>,
    /// A family other than the IP header's (bridge/netdev/arp hooks: `meta l4proto` is then
    /// the runtime's to answer).
    pub nfproto: Option<Family>,
}

const V4: [[u8; 4]; 4] = [[10, 0, 0, 1], [10, 0, 0, 2], [192, 168, 1, 1], [172, 16, 0, 5]];
const PORTS: [u16; 7] = [22, 53, 80, 443, 1024, 8080, 65535];
const PROTOS: [u8; 6] = [6, 17, 1, 58, 132, 47];

fn v6(r: &mut Rng) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[0] = 0x20;
    a[1] = 0x01;
    a[2] = 0x0d;
    a[3] = 0xb8;
    a[15] = *r.pick(&[1u8, 2, 3]);
    a
}

fn transport(r: &mut Rng, proto: u8) -> Vec<u8> {
    let sport = *r.pick(&PORTS);
    let dport = *r.pick(&PORTS);
    let mut t = match proto {
        6 => {
            let mut h = vec![0u8; 20];
            h[0..2].copy_from_slice(&sport.to_be_bytes());
            h[2..4].copy_from_slice(&dport.to_be_bytes());
            h[4..8].copy_from_slice(&r.bytes(4));
            let doff = if r.chance(85) { 5 } else { *r.pick(&[0u8, 4, 6, 15]) };
            h[12] = doff << 4;
            h[13] = *r.pick(&[0x02u8, 0x10, 0x12, 0x11, 0x04, 0x18]);
            h[14] = 0x72;
            h[16..18].copy_from_slice(&r.bytes(2));
            if doff == 6 {
                h.extend_from_slice(&[2, 4, 5, 0xb4]);
            }
            h
        }
        17 => {
            let mut h = vec![0u8; 8];
            h[0..2].copy_from_slice(&sport.to_be_bytes());
            h[2..4].copy_from_slice(&dport.to_be_bytes());
            h[6..8].copy_from_slice(&if r.chance(20) { [0, 0] } else { [0x12, 0x34] });
            h
        }
        1 | 58 => vec![*r.pick(&[8u8, 0, 3, 128, 129]), 0, 0x12, 0x34, 0, 1, 0, *r.pick(&[1u8, 2])],
        132 => {
            let mut h = vec![0u8; 12];
            h[0..2].copy_from_slice(&sport.to_be_bytes());
            h[2..4].copy_from_slice(&dport.to_be_bytes());
            h
        }
        _ => r.bytes(4),
    };
    let extra = r.below(24);
    t.extend(r.bytes(extra));
    t
}

pub fn random(r: &mut Rng) -> TestPacket {
    let proto = *r.pick(&PROTOS);
    let mut ip = if r.chance(60) {
        let opts = r.chance(10);
        let mut h = vec![0u8; if opts { 24 } else { 20 }];
        h[0] = if opts { 0x46 } else { 0x45 };
        h[1] = *r.pick(&[0u8, 0x10, 0xb8]);
        h[4..6].copy_from_slice(&r.bytes(2));
        if r.chance(8) {
            h[6] = 0x00;
            h[7] = 0x10; // a non-first fragment: no transport header
        }
        h[8] = *r.pick(&[1u8, 64, 128, 255]);
        h[9] = if proto == 58 { 1 } else { proto };
        h[12..16].copy_from_slice(&r.pick(&V4)[..]);
        h[16..20].copy_from_slice(&r.pick(&V4)[..]);
        let t = transport(r, h[9]);
        h.extend(t);
        let len = h.len() as u16;
        h[2..4].copy_from_slice(&len.to_be_bytes());
        h
    } else {
        let mut h = vec![0u8; 40];
        h[0] = 0x60;
        h[7] = *r.pick(&[1u8, 64, 255]);
        h[8..24].copy_from_slice(&v6(r));
        h[24..40].copy_from_slice(&v6(r));
        let proto = if proto == 1 { 58 } else { proto };
        if r.chance(15) {
            h[6] = 0; // hop-by-hop options, then the transport header
            h.extend_from_slice(&[proto, 0, 1, 4, 0, 0, 0, 0]);
        } else {
            h[6] = proto;
        }
        let t = transport(r, proto);
        h.extend(t);
        let plen = (h.len() - 40) as u16;
        h[4..6].copy_from_slice(&plen.to_be_bytes());
        h
    };
    if r.chance(10) {
        let keep = r.below(ip.len() + 1);
        ip.truncate(keep);
    }
    let link = if r.chance(25) {
        let mut l = r.bytes(12);
        l.extend_from_slice(if ip.first().map(|b| b >> 4) == Some(6) {
            &[0x86, 0xdd]
        } else {
            &[0x08, 0x00]
        });
        l
    } else {
        Vec::new()
    };
    let nfproto = r.chance(5).then(|| *r.pick(&[Family::Bridge, Family::Netdev, Family::Arp]));
    TestPacket { link, ip, nfproto }
}

impl TestPacket {
    pub fn bytes(&self) -> Vec<u8> {
        let mut b = self.link.clone();
        b.extend_from_slice(&self.ip);
        b
    }

    /// The packet context over `bytes` (from [`TestPacket::bytes`]).
    pub fn ctx<'a>(&self, bytes: &'a mut [u8], hook: Hook) -> PacketCtx<'a> {
        let nh = self.link.len();
        let (transport_off, l4proto, nfproto, protocol) = {
            let p = PacketCtx::from_ip(&mut bytes[nh..], hook);
            (p.transport_off, p.l4proto, p.nfproto, p.protocol)
        };
        PacketCtx {
            data: bytes,
            link_off: (nh > 0).then_some(0),
            network_off: nh,
            transport_off: transport_off.map(|t| t + nh),
            l4proto,
            nfproto: self.nfproto.unwrap_or(nfproto),
            protocol,
            hook,
        }
    }

    /// `len` bytes at `base + off`, if present.
    pub fn at(&self, base: PayloadBase, off: usize, len: usize) -> Option<Vec<u8>> {
        let mut bytes = self.bytes();
        let ctx = self.ctx(&mut bytes, Hook::Input);
        let b = ctx.base_offset(base)?;
        ctx.bytes(b + off, len).map(<[u8]>::to_vec)
    }

    pub fn hex(&self) -> String {
        let h = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        format!("link [{}] ip [{}]", h(&self.link), h(&self.ip))
    }
}
