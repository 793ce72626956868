//! Zero-copy packet views (IPv4/IPv6 with extension headers, TCP/UDP/ICMP/ICMPv6/SCTP).
