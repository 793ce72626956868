//! ARP packets (RFC 826): enough to recognise and describe them, and to build Ethernet/IPv4
//! requests and replies. ARP never reaches the inet hooks; the dissector reports it as not-IP.

use super::error::{ErrorKind, ParseError, Result};
use super::ethernet::EthernetAddress;
use super::field::{get_array, get_range, get_u8, get_u16, need, set_bytes, set_u8, set_u16};
use std::net::Ipv4Addr;

/// Length of the fixed part (before the addresses).
pub const FIXED_LEN: usize = 8;

/// ARP operations.
pub mod operation {
    /// Request.
    pub const REQUEST: u16 = 1;
    /// Reply.
    pub const REPLY: u16 = 2;
}

/// A view of an ARP packet of any hardware/protocol address sizes.
#[derive(Clone, Copy, Debug)]
pub struct ArpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ArpPacket<T> {
    /// Wrap a buffer without checking its length.
    pub fn new_unchecked(buffer: T) -> ArpPacket<T> {
        ArpPacket { buffer }
    }

    /// Wrap a buffer that must hold the fixed part and all four addresses.
    pub fn new_checked(buffer: T) -> Result<ArpPacket<T>> {
        need(buffer.as_ref(), "ARP header", FIXED_LEN)?;
        let packet = ArpPacket { buffer };
        need(packet.buffer.as_ref(), "ARP addresses", packet.total_len())?;
        Ok(packet)
    }

    /// Hardware type (1 = Ethernet).
    pub fn hardware_type(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 0)
    }

    /// Protocol type (0x0800 = IPv4).
    pub fn protocol_type(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 2)
    }

    /// Hardware address length.
    pub fn hardware_len(&self) -> u8 {
        get_u8(self.buffer.as_ref(), 4)
    }

    /// Protocol address length.
    pub fn protocol_len(&self) -> u8 {
        get_u8(self.buffer.as_ref(), 5)
    }

    /// Operation (1 request, 2 reply).
    pub fn operation(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 6)
    }

    /// Length of the fixed part plus the four addresses.
    pub fn total_len(&self) -> usize {
        FIXED_LEN + 2 * (usize::from(self.hardware_len()) + usize::from(self.protocol_len()))
    }

    fn address(&self, index: usize) -> &[u8] {
        let hlen = usize::from(self.hardware_len());
        let plen = usize::from(self.protocol_len());
        let starts = [FIXED_LEN, FIXED_LEN + hlen, FIXED_LEN + hlen + plen, FIXED_LEN + 2 * hlen + plen];
        let lens = [hlen, plen, hlen, plen];
        get_range(self.buffer.as_ref(), starts[index], starts[index] + lens[index])
    }

    /// Sender hardware address.
    pub fn sender_hardware_addr(&self) -> &[u8] {
        self.address(0)
    }

    /// Sender protocol address.
    pub fn sender_protocol_addr(&self) -> &[u8] {
        self.address(1)
    }

    /// Target hardware address.
    pub fn target_hardware_addr(&self) -> &[u8] {
        self.address(2)
    }

    /// Target protocol address.
    pub fn target_protocol_addr(&self) -> &[u8] {
        self.address(3)
    }
}

/// An Ethernet/IPv4 ARP message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArpRepr {
    /// Operation.
    pub operation: u16,
    /// Sender MAC.
    pub sender_hardware_addr: EthernetAddress,
    /// Sender IPv4 address.
    pub sender_protocol_addr: Ipv4Addr,
    /// Target MAC.
    pub target_hardware_addr: EthernetAddress,
    /// Target IPv4 address.
    pub target_protocol_addr: Ipv4Addr,
}

impl ArpRepr {
    /// Length of an Ethernet/IPv4 ARP packet.
    pub const LEN: usize = 28;

    /// Parse an Ethernet/IPv4 ARP packet.
    pub fn parse<T: AsRef<[u8]>>(packet: &ArpPacket<T>) -> Result<ArpRepr> {
        if packet.hardware_type() != 1 || packet.hardware_len() != 6 {
            return Err(ParseError::new(
                0,
                ErrorKind::BadField {
                    header: "ARP",
                    field: "hardware type",
                    value: packet.hardware_type().into(),
                },
            ));
        }
        if packet.protocol_type() != 0x0800 || packet.protocol_len() != 4 {
            return Err(ParseError::new(
                2,
                ErrorKind::BadField {
                    header: "ARP",
                    field: "protocol type",
                    value: packet.protocol_type().into(),
                },
            ));
        }
        let mac = |bytes: &[u8]| EthernetAddress(get_array(bytes, 0));
        let ip = |bytes: &[u8]| Ipv4Addr::from(get_array::<4>(bytes, 0));
        Ok(ArpRepr {
            operation: packet.operation(),
            sender_hardware_addr: mac(packet.sender_hardware_addr()),
            sender_protocol_addr: ip(packet.sender_protocol_addr()),
            target_hardware_addr: mac(packet.target_hardware_addr()),
            target_protocol_addr: ip(packet.target_protocol_addr()),
        })
    }

    /// Write the packet into `buffer` (at least [`ArpRepr::LEN`] bytes).
    pub fn emit(&self, buffer: &mut [u8]) {
        set_u16(buffer, 0, 1);
        set_u16(buffer, 2, 0x0800);
        set_u8(buffer, 4, 6);
        set_u8(buffer, 5, 4);
        set_u16(buffer, 6, self.operation);
        set_bytes(buffer, 8, &self.sender_hardware_addr.0);
        set_bytes(buffer, 14, &self.sender_protocol_addr.octets());
        set_bytes(buffer, 18, &self.target_hardware_addr.0);
        set_bytes(buffer, 24, &self.target_protocol_addr.octets());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let repr = ArpRepr {
            operation: operation::REQUEST,
            sender_hardware_addr: EthernetAddress([2, 0, 0, 0, 0, 1]),
            sender_protocol_addr: Ipv4Addr::new(10, 0, 0, 1),
            target_hardware_addr: EthernetAddress([0; 6]),
            target_protocol_addr: Ipv4Addr::new(10, 0, 0, 2),
        };
        let mut buf = [0u8; ArpRepr::LEN];
        repr.emit(&mut buf);
        let packet = ArpPacket::new_checked(&buf[..]).unwrap();
        assert_eq!(ArpRepr::parse(&packet).unwrap(), repr);
        assert!(ArpPacket::new_checked(&buf[..27]).is_err());
    }
}
