//! The builder's fragments reassemble into the packet it builds whole (RFC 791 / RFC 8200
//! reassembly done by hand here), with the headers laid out as the kernel's fragmenters do.

use nftvm_runtime::packet::ip::protocol;
use nftvm_runtime::packet::{PacketBuilder, dissect_ip};

/// Reassemble fragments: (unfragmentable header bytes, data in offset order).
fn reassemble(fragments: &[Vec<u8>]) -> (u32, Vec<u8>) {
    let mut data = Vec::new();
    let mut ident = None;
    for (index, fragment) in fragments.iter().enumerate() {
        let info = dissect_ip(fragment).unwrap();
        let frag = info.fragment.unwrap();
        assert_eq!(usize::from(frag.offset), data.len(), "fragments in order, without gaps");
        assert_eq!(frag.more, index + 1 < fragments.len());
        assert!(ident.is_none_or(|id| id == frag.ident));
        ident = Some(frag.ident);
        let start = frag.header_offset.map_or(usize::from(fragment[0] & 0x0f) * 4, |at| at + 8);
        data.extend_from_slice(&fragment[start..info.network_end]);
    }
    (ident.unwrap(), data)
}

#[test]
fn ipv4_fragments_reassemble() {
    let b = PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2]).ident(0x4242).udp(1, 2).payload(&[7; 100]);
    let whole = b.build();
    assert_eq!(b.build_fragments(108), vec![whole.clone()], "what fits is not fragmented");
    for size in [8, 16, 24, 60, 100] {
        let fragments = b.build_fragments(size);
        assert_eq!(fragments.len(), 108usize.div_ceil(size / 8 * 8));
        let (ident, data) = reassemble(&fragments);
        assert_eq!(ident, 0x4242);
        assert_eq!(data, whole[20..]);
        for fragment in &fragments {
            assert_eq!(&fragment[..4], &[0x45, 0, ((fragment.len() >> 8) as u8), fragment.len() as u8]);
        }
    }
}

#[test]
fn ipv6_fragments_keep_the_unfragmentable_part_in_front() {
    let b = PacketBuilder::ipv6([1u16; 8], [2u16; 8])
        .ident(77)
        .hop_by_hop(&[])
        .routing(0, 1, &[0; 16])
        .dest_options(&[])
        .tcp(1, 2)
        .payload(&[3; 50]);
    let whole = b.build();
    let fragments = b.build_fragments(32);
    assert_eq!(fragments.len(), 3, "8 (DST) + 20 (TCP) + 50 bytes in 32-byte pieces");
    for fragment in &fragments {
        let info = dissect_ip(fragment).unwrap();
        let kinds: Vec<u8> = info.ext_headers.as_slice().iter().map(|h| h.kind).collect();
        // Hop-by-hop and routing stay in front; the destination options header after the
        // routing header travels in the first fragment's data.
        assert_eq!(&kinds[..3], &[protocol::HOPOPTS, protocol::ROUTING, protocol::FRAGMENT]);
    }
    let (ident, data) = reassemble(&fragments);
    assert_eq!(ident, 77);
    // Unfragmentable part: 40 + 8 (HBH) + 24 (routing); the rest is the fragmentable part.
    assert_eq!(data, whole[72..]);
}
