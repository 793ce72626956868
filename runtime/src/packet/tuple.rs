//! The connection-tracking tuple of a packet, as the kernel's `nf_ct_get_tuple` extracts it:
//! addresses, protocol, and per protocol the ports, the ICMP id/type/code, or GRE keys.

use std::fmt;
use std::net::IpAddr;

/// The layer-4 part of a [`Tuple`] (the kernel's `nf_conntrack_man_proto` union).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TupleL4 {
    /// A protocol without ports (conntrack's "generic" tracker): all zero.
    None,
    /// TCP, UDP, UDP-Lite, SCTP, DCCP: source and destination ports.
    Ports {
        /// Source port.
        src: u16,
        /// Destination port.
        dst: u16,
    },
    /// ICMP/ICMPv6: identifier (source side) and type/code (destination side).
    Icmp {
        /// Echo identifier (bytes 4..6 of the message, whatever its type).
        id: u16,
        /// Message type.
        kind: u8,
        /// Code.
        code: u8,
    },
    /// GRE version 1 (PPTP): the destination key is the call id; the source key comes from
    /// the PPTP helper's keymap (0 until a helper sets one), as in `gre_pkt_to_tuple`.
    Gre {
        /// Source key.
        src_key: u16,
        /// Destination key (call id).
        dst_key: u16,
    },
}

/// A connection-tracking tuple in one direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tuple {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Layer-4 protocol number.
    pub protocol: u8,
    /// Layer-4 part.
    pub l4: TupleL4,
}

impl Tuple {
    /// Source port, or 0.
    pub fn src_port(&self) -> u16 {
        match self.l4 {
            TupleL4::Ports { src, .. } => src,
            _ => 0,
        }
    }

    /// Destination port, or 0.
    pub fn dst_port(&self) -> u16 {
        match self.l4 {
            TupleL4::Ports { dst, .. } => dst,
            _ => 0,
        }
    }
}

impl fmt::Display for Tuple {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = super::ip::protocol::name(self.protocol).unwrap_or("unknown");
        write!(f, "{name} src={} dst={}", self.src, self.dst)?;
        match self.l4 {
            TupleL4::None => Ok(()),
            TupleL4::Ports { src, dst } => write!(f, " sport={src} dport={dst}"),
            TupleL4::Icmp { id, kind, code } => write!(f, " type={kind} code={code} id={id}"),
            TupleL4::Gre { src_key, dst_key } => write!(f, " srckey={src_key:#x} dstkey={dst_key:#x}"),
        }
    }
}
