"""Malformed-packet flood for the live tests: flood.py DEVICE COUNT SEED.

Writes COUNT frames straight onto a TUN device through a packet socket (no IP stack in the
way): random bytes, and valid IPv4/IPv6/TCP/UDP/ICMP headers with lengths, header lengths,
fragment fields, extension-header chains, options and ICMP quotes broken in every way.
"""
import random
import socket
import struct
import sys

dev, count, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM)


def ipv4(proto, payload, **kw):
    ihl = kw.get("ihl", 5)
    total = kw.get("total", 20 + len(payload))
    frag = kw.get("frag", 0)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | (ihl & 15), 0, total & 0xFFFF, rng.randrange(65536),
                      frag, rng.choice([0, 1, 64, 255]), proto, 0,
                      bytes([10, 0, 1, 2]), bytes(rng.choice([[10, 0, 2, 2], [10, 0, 1, 1], [224, 0, 0, 1], [255] * 4])))
    return hdr + payload


def ipv6(nh, payload, plen=None):
    hdr = struct.pack("!IHBB16s16s", 0x60000000, (len(payload) if plen is None else plen) & 0xFFFF, nh,
                      rng.choice([0, 1, 64]), bytes.fromhex("fd000001" + "0" * 23 + "2"),
                      bytes.fromhex(rng.choice(["fd000002" + "0" * 23 + "2", "fd000001" + "0" * 23 + "1", "ff02" + "0" * 27 + "1"])))
    return hdr + payload


def l4(proto):
    ports = struct.pack("!HH", rng.randrange(65536), rng.choice([8080, 21, 80, 0, rng.randrange(65536)]))
    if proto == 6:
        body = ports + struct.pack("!IIBBHHH", rng.getrandbits(32), rng.getrandbits(32),
                                   rng.randrange(256), rng.randrange(256), rng.randrange(65536), 0, 0)
        return body + bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40)))
    if proto == 17:
        return ports + struct.pack("!HH", rng.randrange(65536), 0)
    if proto in (1, 58):
        t = rng.choice([0, 3, 8, 11, 12, 128, 129, 1, 2, 4, 135, 136])
        inner = ipv4(rng.choice([6, 17, 1]), l4(17)) if proto == 1 else ipv6(17, l4(17))
        return struct.pack("!BBHI", t, rng.randrange(16), 0, rng.getrandbits(32)) + inner[: rng.randrange(len(inner) + 1)]
    return bytes(rng.randrange(256) for _ in range(rng.randrange(0, 64)))


def frame():
    kind = rng.randrange(10)
    if kind == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
    if kind < 6:
        proto = rng.choice([6, 17, 1, 47, 132, 0, 255])
        p = ipv4(proto, l4(proto), ihl=rng.choice([5, 5, 5, 0, 4, 6, 15]),
                 frag=rng.choice([0, 0, 0x2000, 0x0001, 0x2005, 0x1fff, 0x4000]))
        if rng.random() < 0.3:
            p = p[: rng.randrange(1, len(p) + 1)]
        if rng.random() < 0.2:
            p = bytearray(p)
            p[2:4] = struct.pack("!H", rng.randrange(65536))
            p = bytes(p)
        return p
    nh = rng.choice([6, 17, 58, 0, 43, 44, 60, 59])
    body = l4(nh) if nh in (6, 17, 58) else bytes([rng.choice([0, 6, 17, 44, 60]), rng.randrange(8)]) + bytes(rng.randrange(256) for _ in range(rng.randrange(0, 60)))
    p = ipv6(nh, body, plen=rng.choice([None, None, 0, 65535, rng.randrange(200)]))
    if rng.random() < 0.3:
        p = p[: rng.randrange(1, len(p) + 1)]
    return p


sent = 0
for _ in range(count):
    f = frame()
    proto = 0x86DD if f and f[0] >> 4 == 6 else 0x0800
    try:
        s.sendto(f, (dev, proto))
        sent += 1
    except OSError:
        pass
print("sent", sent, flush=True)
