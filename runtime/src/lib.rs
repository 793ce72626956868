//! nftvm-runtime: packets through a netfilter-shaped hook pipeline.
//!
//! Packet views and checksums, the hook pipeline with base-chain priorities, connection
//! tracking, NAT, the FTP helper, the host model (interfaces, routes) and packet I/O (pcap,
//! pcapng, TUN).

pub mod checksum;
pub mod conntrack;
pub mod defrag;
pub mod flowtable;
pub mod helper;
pub mod host;
pub mod io;
pub mod live;
pub mod nat;
pub mod packet;
pub mod pipeline;
pub mod replay;
