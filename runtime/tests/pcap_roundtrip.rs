//! pcap and pcapng: round trips through our writers and readers, files laid out by hand from
//! the format specifications (other byte order, other timestamp resolutions, blocks our writer
//! never emits), and errors that name the file offset.

use nftvm_runtime::io::pcap::{
    CaptureErrorKind, CaptureReader, CaptureRecord, PcapReader, PcapWriter, Precision,
};
use nftvm_runtime::io::pcapng::{PcapngReader, PcapngWriter};
use nftvm_runtime::packet::{LinkType, PacketBuilder};
use std::sync::Arc;
use std::time::Duration;

fn records() -> Vec<CaptureRecord> {
    let frames = [
        PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2]).tcp(1, 2).flags(2).build(),
        PacketBuilder::ipv6([1u16; 8], [2u16; 8]).udp(3, 4).payload(b"xyz").build(),
        vec![0x45],
    ];
    frames
        .into_iter()
        .enumerate()
        .map(|(i, data)| CaptureRecord {
            timestamp: Duration::new(1_700_000_000 + i as u64, 123_456_789 * i as u32 % 1_000_000_000),
            interface_index: 0,
            interface_name: None,
            link_type: LinkType::Raw,
            original_len: data.len() as u32 + if i == 2 { 100 } else { 0 },
            data,
        })
        .collect()
}

#[test]
fn pcap_round_trip_in_both_precisions() {
    for precision in [Precision::Micro, Precision::Nano] {
        let mut writer = PcapWriter::new(Vec::new(), LinkType::Raw, precision).unwrap();
        for record in records() {
            writer.write_record(&record).unwrap();
        }
        let bytes = writer.finish().unwrap();
        let reader = PcapReader::new(&bytes[..]).unwrap();
        assert_eq!((reader.link_type(), reader.precision()), (LinkType::Raw, precision));
        let read: Vec<_> = reader.collect::<Result<_, _>>().unwrap();
        for (got, want) in read.iter().zip(records()) {
            let timestamp = match precision {
                Precision::Micro => {
                    Duration::new(want.timestamp.as_secs(), want.timestamp.subsec_micros() * 1000)
                }
                Precision::Nano => want.timestamp,
            };
            assert_eq!(got, &CaptureRecord { timestamp, ..want });
        }
        assert_eq!(read.len(), 3);
    }
}

/// A big-endian, microsecond pcap file with one Ethernet record, byte by byte from
/// pcap-savefile(5).
fn big_endian_pcap() -> Vec<u8> {
    let mut file =
        vec![0xa1, 0xb2, 0xc3, 0xd4, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0x10, 0, 0, 1];
    // ts 5 s 250000 µs, caplen 3, len 60.
    file.extend_from_slice(&[0, 0, 0, 5, 0, 3, 0xd0, 0x90, 0, 0, 0, 3, 0, 0, 0, 60, 0xaa, 0xbb, 0xcc]);
    file
}

#[test]
fn pcap_big_endian_and_link_type_flags() {
    let file = big_endian_pcap();
    let mut reader = PcapReader::new(&file[..]).unwrap();
    // The upper bits of the link-type field carry FCS information, not the link type.
    assert_eq!(reader.link_type(), LinkType::Ethernet);
    assert_eq!(reader.snaplen(), 0xffff);
    let record = reader.next_record().unwrap().unwrap();
    assert_eq!(record.timestamp, Duration::new(5, 250_000_000));
    assert_eq!((record.original_len, record.data), (60, vec![0xaa, 0xbb, 0xcc]));
    assert!(reader.next_record().unwrap().is_none());
}

#[test]
fn pcap_modified_format_and_nanosecond_little_endian() {
    // Kuznetzov's format: 8 more bytes per record header.
    let mut file = vec![0x34, 0xcd, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 101, 0, 0, 0];
    file.extend_from_slice(&[1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9, 9, 9, 9, 9, 9, 9, 9, 0x60]);
    let record = PcapReader::new(&file[..]).unwrap().next_record().unwrap().unwrap();
    assert_eq!((record.timestamp, record.data), (Duration::new(1, 2000), vec![0x60]));

    let mut nano = vec![0x4d, 0x3c, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 229, 0, 0, 0];
    nano.extend_from_slice(&[1, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    let mut reader = PcapReader::new(&nano[..]).unwrap();
    assert_eq!(reader.link_type(), LinkType::Ipv6);
    assert_eq!(reader.next_record().unwrap().unwrap().timestamp, Duration::new(1, 7));
}

#[test]
fn pcap_errors_name_the_offset() {
    let file = big_endian_pcap();
    // Cut inside the record's data (which starts at 24 + 16 = 40).
    let mut reader = PcapReader::new(&file[..41]).unwrap();
    let err = reader.next_record().unwrap_err();
    assert_eq!(err.offset, 40);
    assert!(matches!(err.kind, CaptureErrorKind::Truncated { .. }));
    assert!(err.to_string().starts_with("at file offset 40:"));
    assert!(reader.next_record().unwrap().is_none(), "a failed reader stays at the end");
    // Cut inside the record header.
    let err = PcapReader::new(&file[..30]).unwrap().next_record().unwrap_err();
    assert_eq!(err.offset, 24);
    // Bad magic, short header, absurd lengths, wrong version.
    assert!(matches!(
        PcapReader::new(&b"GIF89a........................"[..]).unwrap_err().kind,
        CaptureErrorKind::BadMagic(_)
    ));
    assert_eq!(PcapReader::new(&file[..10]).unwrap_err().offset, 4);
    let mut huge = file.clone();
    huge[32..36].copy_from_slice(&[0x7f, 0, 0, 0]);
    let err = PcapReader::new(&huge[..]).unwrap().next_record().unwrap_err();
    assert_eq!(err.offset, 32);
    let mut version = file.clone();
    version[5] = 9;
    assert!(matches!(
        PcapReader::new(&version[..]).unwrap_err().kind,
        CaptureErrorKind::UnsupportedVersion { .. }
    ));
}

#[test]
fn pcapng_round_trip_with_interface_names() {
    let mut writer = PcapngWriter::new(Vec::new()).unwrap();
    let mut expected = Vec::new();
    for (i, mut record) in records().into_iter().enumerate() {
        record.interface_name = Some(Arc::from(if i == 1 { "tunb" } else { "tuna" }));
        record.link_type = if i == 1 { LinkType::Ipv6 } else { LinkType::Raw };
        record.interface_index = if i == 1 { 1 } else { 0 };
        writer.write_record(&record).unwrap();
        expected.push(record);
    }
    // An interface without a name, declared explicitly.
    let unnamed = writer.add_interface(None, LinkType::Ethernet).unwrap();
    writer.write_packet(unnamed, Duration::new(3, 1), &[1, 2, 3, 4, 5], 5).unwrap();
    let bytes = writer.finish().unwrap();

    let mut reader = CaptureReader::new(&bytes[..]).unwrap();
    assert!(matches!(reader, CaptureReader::Pcapng(_)));
    for want in &expected {
        assert_eq!(&reader.next_record().unwrap().unwrap(), want);
    }
    let last = reader.next_record().unwrap().unwrap();
    assert_eq!((last.interface_index, last.interface_name, last.link_type), (2, None, LinkType::Ethernet));
    assert_eq!(last.timestamp, Duration::new(3, 1));
    assert!(reader.next_record().unwrap().is_none());
    if let CaptureReader::Pcapng(reader) = reader {
        assert_eq!(reader.interfaces().len(), 3);
        assert_eq!(reader.interfaces()[1].name.as_deref(), Some("tunb"));
    }
}

/// Little helpers to lay out pcapng blocks by hand, in either byte order.
struct Blocks {
    big: bool,
    bytes: Vec<u8>,
}

impl Blocks {
    fn u16(&self, v: u16) -> [u8; 2] {
        if self.big { v.to_be_bytes() } else { v.to_le_bytes() }
    }

    fn u32(&self, v: u32) -> [u8; 4] {
        if self.big { v.to_be_bytes() } else { v.to_le_bytes() }
    }

    fn block(&mut self, kind: u32, body: &[u8]) {
        let mut body = body.to_vec();
        body.resize(body.len().div_ceil(4) * 4, 0);
        let total = (body.len() + 12) as u32;
        let (k, t) = (self.u32(kind), self.u32(total));
        self.bytes.extend_from_slice(&k);
        self.bytes.extend_from_slice(&t);
        self.bytes.extend_from_slice(&body);
        self.bytes.extend_from_slice(&t);
    }

    fn shb(&mut self, big: bool) {
        self.big = big;
        let mut body = self.u32(0x1a2b_3c4d).to_vec();
        body.extend_from_slice(&self.u16(1));
        body.extend_from_slice(&self.u16(0));
        body.extend_from_slice(&[0xff; 8]);
        self.block(0x0a0d_0d0a, &body);
    }

    fn option(&self, body: &mut Vec<u8>, code: u16, value: &[u8]) {
        body.extend_from_slice(&self.u16(code));
        body.extend_from_slice(&self.u16(value.len() as u16));
        body.extend_from_slice(value);
        body.resize(body.len().div_ceil(4) * 4, 0);
    }

    fn idb(&mut self, link: u16, snaplen: u32, options: &[(u16, Vec<u8>)]) {
        let mut body = self.u16(link).to_vec();
        body.extend_from_slice(&[0, 0]);
        body.extend_from_slice(&self.u32(snaplen));
        for (code, value) in options {
            self.option(&mut body, *code, value);
        }
        self.option(&mut body, 0, &[]);
        self.block(1, &body);
    }

    fn epb(&mut self, interface: u32, ts: u64, data: &[u8], original: u32) {
        let mut body = self.u32(interface).to_vec();
        body.extend_from_slice(&self.u32((ts >> 32) as u32));
        body.extend_from_slice(&self.u32(ts as u32));
        body.extend_from_slice(&self.u32(data.len() as u32));
        body.extend_from_slice(&self.u32(original));
        body.extend_from_slice(data);
        self.block(6, &body);
    }
}

#[test]
fn pcapng_by_hand_sections_resolutions_and_block_kinds() {
    let mut b = Blocks { big: true, bytes: Vec::new() };
    b.shb(true);
    // Interface 0: 2^-10 s units, +100 s offset, named "eth0".
    b.idb(1, 0, &[(2, b"eth0".to_vec()), (9, vec![0x8a]), (14, 100i64.to_be_bytes().to_vec())]);
    b.epb(0, 1024 * 3 + 512, &[0xde, 0xad], 2);
    // An unknown block (a name resolution block) is skipped.
    b.block(4, &[0, 0, 0, 0]);
    // A simple packet block: captured length min(original, snaplen, block).
    let mut spb = b.u32(3).to_vec();
    spb.extend_from_slice(&[1, 2, 3]);
    b.block(3, &spb);
    // A second, little-endian section: interfaces start again; 10^-9 units.
    b.shb(false);
    b.idb(101, 65535, &[(9, vec![9])]);
    b.epb(0, 1_000_000_123, &[0x45], 1);
    // The obsolete packet block: 16-bit interface id and drops count.
    let mut pb = b.u16(0).to_vec();
    pb.extend_from_slice(&b.u16(0));
    pb.extend_from_slice(&b.u32(0));
    pb.extend_from_slice(&b.u32(5_000));
    pb.extend_from_slice(&b.u32(1));
    pb.extend_from_slice(&b.u32(1));
    pb.push(0x60);
    b.block(2, &pb);

    let mut reader = PcapngReader::new(&b.bytes[..]).unwrap();
    let first = reader.next_record().unwrap().unwrap();
    assert_eq!(first.interface_name.as_deref(), Some("eth0"));
    assert_eq!(first.link_type, LinkType::Ethernet);
    assert_eq!(first.timestamp, Duration::new(103, 500_000_000));
    let simple = reader.next_record().unwrap().unwrap();
    assert_eq!((simple.data, simple.original_len, simple.timestamp), (vec![1, 2, 3], 3, Duration::ZERO));
    let third = reader.next_record().unwrap().unwrap();
    assert_eq!((third.link_type, third.interface_name.clone()), (LinkType::Raw, None));
    assert_eq!(third.timestamp, Duration::new(1, 123));
    let fourth = reader.next_record().unwrap().unwrap();
    assert_eq!((fourth.data, fourth.timestamp), (vec![0x60], Duration::new(0, 5_000)));
    assert!(reader.next_record().unwrap().is_none());
}

#[test]
fn pcapng_errors_name_the_offset() {
    let mut b = Blocks { big: false, bytes: Vec::new() };
    b.shb(false);
    let shb_len = b.bytes.len() as u64;
    b.idb(1, 0, &[]);
    let epb_at = b.bytes.len() as u64;
    b.epb(0, 1, &[1, 2, 3, 4], 4);
    let good = b.bytes.clone();
    assert_eq!(PcapngReader::new(&good[..]).unwrap().count(), 1);

    // Truncated inside the packet block.
    let err = PcapngReader::new(&good[..good.len() - 3]).unwrap().next_record().unwrap_err();
    assert!(matches!(err.kind, CaptureErrorKind::Truncated { .. }));
    assert!(err.offset >= epb_at);
    // A block length that is not a multiple of 4.
    let mut bad = good.clone();
    bad[epb_at as usize + 4] += 1;
    let err = PcapngReader::new(&bad[..]).unwrap().next_record().unwrap_err();
    assert_eq!((err.offset, matches!(err.kind, CaptureErrorKind::BadLength { .. })), (epb_at + 4, true));
    // Trailing length disagreeing with the leading one.
    let mut bad = good.clone();
    let last = bad.len() - 4;
    bad[last] ^= 4;
    let err = PcapngReader::new(&bad[..]).unwrap().next_record().unwrap_err();
    assert_eq!(err.offset, last as u64);
    // A packet for an interface that was never declared.
    let mut bad = good.clone();
    bad[epb_at as usize + 8] = 7;
    let err = PcapngReader::new(&bad[..]).unwrap().next_record().unwrap_err();
    assert!(matches!(err.kind, CaptureErrorKind::UnknownInterface(7)));
    // A captured length larger than the block.
    let mut bad = good.clone();
    bad[epb_at as usize + 20] = 200;
    assert!(PcapngReader::new(&bad[..]).unwrap().next_record().is_err());
    // Not a section header / bad byte-order magic.
    assert!(PcapngReader::new(&good[shb_len as usize..]).is_err());
    let mut bad = good.clone();
    bad[8] = 0;
    assert_eq!(PcapngReader::new(&bad[..]).unwrap_err().offset, 8);
}

#[test]
fn capture_reader_opens_files_of_either_format() {
    let dir = std::env::temp_dir().join(format!("nftvm-pcap-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pcap = dir.join("a.pcap");
    let mut writer =
        PcapWriter::new(std::fs::File::create(&pcap).unwrap(), LinkType::Raw, Precision::Nano).unwrap();
    writer.write_record(&records()[0]).unwrap();
    writer.finish().unwrap();
    let pcapng = dir.join("a.pcapng");
    let mut writer = PcapngWriter::new(std::fs::File::create(&pcapng).unwrap()).unwrap();
    writer.write_record(&records()[0]).unwrap();
    writer.finish().unwrap();
    for path in [&pcap, &pcapng] {
        let read: Vec<_> = CaptureReader::open(path).unwrap().collect::<Result<_, _>>().unwrap();
        assert_eq!(read, vec![records()[0].clone()]);
    }
    assert!(CaptureReader::open(dir.join("missing")).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}
