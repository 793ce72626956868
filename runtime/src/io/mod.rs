//! Packet I/O: pcap and pcapng files (offline replay and output) and live TUN devices.

pub mod pcap;
pub mod pcapng;
pub mod tun;
