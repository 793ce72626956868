#!/usr/bin/env python3
"""Write seed inputs for the fuzz targets into corpus/<target>/ (git-ignored).

Usage: python3 seeds.py [SHARED_DIR]   (default: $NFTVM_SHARED, or the shared/ the tests find)

- packet_dissect: IPv4/IPv6 TCP, UDP, ICMP(v6) packets with valid checksums, under each link
  type the target knows (mode byte + 8 knob bytes + frame);
- pcap_read: pcap (µs, ns, both byte orders) and pcapng files holding those packets, and the
  example capture;
- ipt_parse: the iptables-save dumps and the translation test command lines of the peer
  tests (mode byte first);
- nft_compile: the nftables shell-test dumps;
- pipeline: a few record sequences (TCP handshake and FTP PORT, UDP, ICMP error, fragments);
- vm_asm: the programs of the VM's filetests (vm/tests/filetests, one per `%program`).
"""
import glob
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def shared_dir():
    """As the tests find it: $NFTVM_SHARED, else a `shared/` beside an ancestor directory."""
    if len(sys.argv) > 1:
        return sys.argv[1]
    if os.environ.get("NFTVM_SHARED"):
        return os.environ["NFTVM_SHARED"]
    d = HERE
    while d != os.path.dirname(d):
        if os.path.isdir(os.path.join(d, "shared", "peer-tests")):
            return os.path.join(d, "shared")
        d = os.path.dirname(d)
    sys.exit("peer test data not found: give the shared/ directory as argument")


SHARED = shared_dir()


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ipv4(proto, l4, src=b"\x0a\x00\x01\x02", dst=b"\x0a\x00\x02\x02"):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, 0x4000, 64, proto, 0, src, dst)
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    pseudo = src + dst + struct.pack("!BBH", 0, proto, len(l4))
    return hdr, pseudo


def v4packet(proto, l4, ck_at):
    hdr, pseudo = ipv4(proto, l4)
    if ck_at is not None:
        base = pseudo if proto != 1 else b""
        c = csum(base + l4)
        l4 = l4[:ck_at] + struct.pack("!H", c) + l4[ck_at + 2:]
    return hdr + l4


def v6packet(nh, l4, ck_at):
    src = bytes.fromhex("fd000001000000000000000000000002")
    dst = bytes.fromhex("fd000002000000000000000000000002")
    pseudo = src + dst + struct.pack("!IxxxB", len(l4), nh)
    if ck_at is not None:
        c = csum(pseudo + l4)
        l4 = l4[:ck_at] + struct.pack("!H", c) + l4[ck_at + 2:]
    return struct.pack("!IHBB", 0x60000000, len(l4), nh, 64) + src + dst + l4


TCP = struct.pack("!HHIIBBHHH", 40000, 21, 1, 0, 0x60, 0x02, 65535, 0, 0) + bytes([2, 4, 5, 0xB4])
UDP_BODY = b"hello"
UDP = struct.pack("!HHHH", 5353, 53, 8 + len(UDP_BODY), 0) + UDP_BODY
ICMP = struct.pack("!BBHHH", 8, 0, 0, 7, 1) + b"ping"
ICMP6 = struct.pack("!BBHHH", 128, 0, 0, 7, 1) + b"ping"

PACKETS = [
    v4packet(6, TCP, 16),
    v4packet(17, UDP, 6),
    v4packet(1, ICMP, 2),
    v6packet(6, TCP, 16),
    v6packet(17, UDP, 6),
    v6packet(58, ICMP6, 2),
]
PACKETS.append(v4packet(1, struct.pack("!BBHI", 3, 3, 0, 0) + PACKETS[1][:28], 2))


def framed(link, pkt):
    """Frame a raw IP packet for the packet_dissect link index (see LINKS there)."""
    v6 = pkt[0] >> 4 == 6
    etype = 0x86DD if v6 else 0x0800
    if link == 1:  # Ethernet, one VLAN tag
        return b"\x02" * 6 + b"\x04" * 6 + struct.pack("!HHH", 0x8100, 5, etype) + pkt
    if link == 2:  # SLL
        return struct.pack("!HHH", 0, 1, 6) + b"\x02" * 6 + b"\0\0" + struct.pack("!H", etype) + pkt
    if link == 3:  # SLL2
        return struct.pack("!HHIHBB", etype, 0, 3, 1, 0, 6) + b"\x02" * 6 + b"\0\0" + pkt
    if link == 4:  # BSD loopback
        return struct.pack("<I", 30 if v6 else 2) + pkt
    return pkt


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def pcap(packets, magic=0xA1B2C3D4, endian="<"):
    out = struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, 65535, 101)
    for i, p in enumerate(packets):
        out += struct.pack(endian + "IIII", 1700000000 + i, 1000 * i, len(p), len(p)) + p
    return out


def pcapng(packets):
    def block(kind, body):
        body += b"\0" * (-len(body) % 4)
        n = len(body) + 12
        return struct.pack("<II", kind, n) + body + struct.pack("<I", n)

    out = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    name = b"tuna"
    opts = struct.pack("<HH", 2, len(name)) + name + b"\0" * (-len(name) % 4)
    opts += struct.pack("<HHB3x", 9, 1, 9) + struct.pack("<HH", 0, 0)
    out += block(1, struct.pack("<HHI", 101, 0, 0) + opts)
    for i, p in enumerate(packets):
        out += block(6, struct.pack("<IIIII", 0, 0, i * 1000, len(p), len(p)) + p)
    out += block(3, struct.pack("<I", len(packets[0])) + packets[0])
    return out


def main():
    for i, pkt in enumerate(PACKETS):
        for link in range(7):
            write("packet_dissect", "p%d-l%d" % (i, link), bytes([link]) + bytes(8) + framed(link, pkt))

    write("pcap_read", "us-le", pcap(PACKETS))
    write("pcap_read", "us-be", pcap(PACKETS, endian=">"))
    write("pcap_read", "ns-le", pcap(PACKETS, magic=0xA1B23C4D))
    write("pcap_read", "ng", pcapng(PACKETS))
    for f in glob.glob(os.path.join(HERE, "..", "examples", "*.pcap*")):
        write("pcap_read", os.path.basename(f), open(f, "rb").read())

    ipt = os.path.join(SHARED, "peer-tests", "iptables")
    for f in sorted(glob.glob(os.path.join(ipt, "save-dumps", "**", "*"), recursive=True)):
        if os.path.isfile(f) and os.path.getsize(f) < 8192:
            six = b"ip6" in open(f, "rb").read(64)
            write("ipt_parse", "save-" + os.path.basename(f), bytes([1 if six else 0]) + open(f, "rb").read())
    for f in sorted(glob.glob(os.path.join(ipt, "txlate", "*"))):
        if os.path.isfile(f):
            lines = [l[len("iptables-translate "):] for l in open(f, errors="replace").read().splitlines()
                     if l.startswith("iptables-translate ")]
            for j in range(0, len(lines), 8):
                write("ipt_parse", "xl-%s-%d" % (os.path.basename(f), j), b"\0" + "\n".join(lines[j:j + 8]).encode())

    nft = os.path.join(SHARED, "peer-tests", "nftables", "shell-dumps")
    for f in sorted(glob.glob(os.path.join(nft, "**", "*.nft"), recursive=True)):
        if os.path.getsize(f) < 8192:
            write("nft_compile", os.path.basename(os.path.dirname(f)) + "-" + os.path.basename(f), open(f, "rb").read())

    # pipeline records (see fuzz_targets/pipeline.rs): header byte = kind << 4 | clock << 2 | iface.
    def tcp(iface, addrs, ports, flags, pay):
        return bytes([0x70 | (1 << 2) | iface, addrs]) + ports + bytes([flags]) + pay

    none = bytes(7)
    port_cmd = bytes([1, 10, 0, 1, 2, 0x9C, 0x41])

    def ftp(reply_to):
        c2s, s2c, data = bytes([0x05]), bytes([0x50]), bytes([0x71, 0x9C, 0x41])
        return (tcp(0, 0x10, c2s, 0, none) + tcp(1, reply_to, s2c, 1, none) + tcp(0, 0x10, c2s, 2, none)
                + tcp(0, 0x10, c2s, 3, bytes([7]) + bytes(6)) + tcp(0, 0x10, c2s, 3, port_cmd) + tcp(1, reply_to, s2c, 2, none)
                + tcp(1, reply_to, data, 0, none) + bytes([0x8C, 30, 0x01, 0x05, 5]))

    for f in sorted(glob.glob(os.path.join(HERE, "..", "vm", "tests", "filetests", "*.nftvm"))):
        for i, part in enumerate(open(f).read().split("%program")[1:]):
            program = part.split("%run")[0]
            write("vm_asm", "%s-%d" % (os.path.basename(f), i), program.encode())

    for rs in range(4):
        write("pipeline", "ftp-%d" % rs, bytes([rs]) + ftp(0x01 if rs == 0 else 0x31))
        write("pipeline", "udp-icmp-%d" % rs, bytes([rs]) + bytes([0xB4, 0, 0x10, 0x55, 0, 0, 0, 0, 0, 0, 0])
              + bytes([0xB5, 2, 0x01, 0x00]) + bytes([0xE0, 0x10, 0x00, 200, 20]))
        write("pipeline", "v6-%d" % rs, bytes([rs]) + tcp(0, 0x18, bytes([0x35]), 0, none) + bytes([0xB0, 3, 0x18, 0x0F]))


main()
