//! 802.1Q / 802.1ad VLAN tags: the 4 bytes after a VLAN TPID (tag control information and the
//! encapsulated ethertype).

use super::error::Result;
use super::field::{get_range, get_u16, need, set_u16};

/// Length of a VLAN tag (after the TPID, which sits in the ethertype slot before it).
pub const TAG_LEN: usize = 4;

/// A view of a VLAN tag: TCI (priority, DEI, VLAN id) and the inner ethertype.
#[derive(Clone, Copy, Debug)]
pub struct VlanTag<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> VlanTag<T> {
    /// Wrap a buffer without checking its length.
    pub fn new_unchecked(buffer: T) -> VlanTag<T> {
        VlanTag { buffer }
    }

    /// Wrap a buffer that must hold the 4-byte tag.
    pub fn new_checked(buffer: T) -> Result<VlanTag<T>> {
        need(buffer.as_ref(), "VLAN tag", TAG_LEN)?;
        Ok(VlanTag { buffer })
    }

    /// The tag control information (priority:3, DEI:1, id:12).
    pub fn tci(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 0)
    }

    /// Priority code point.
    pub fn priority(&self) -> u8 {
        (self.tci() >> 13) as u8
    }

    /// Drop eligible indicator.
    pub fn dei(&self) -> bool {
        self.tci() & 0x1000 != 0
    }

    /// VLAN identifier.
    pub fn vlan_id(&self) -> u16 {
        self.tci() & 0x0fff
    }

    /// The encapsulated ethertype.
    pub fn ethertype(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 2)
    }

    /// Everything after the tag.
    pub fn payload(&self) -> &[u8] {
        get_range(self.buffer.as_ref(), TAG_LEN, usize::MAX)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> VlanTag<T> {
    /// Set the tag control information.
    pub fn set_tci(&mut self, tci: u16) {
        set_u16(self.buffer.as_mut(), 0, tci);
    }

    /// Set the encapsulated ethertype.
    pub fn set_ethertype(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), 2, value);
    }
}

/// A parsed VLAN tag, including the TPID that introduced it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VlanRepr {
    /// The tag protocol identifier (0x8100, 0x88a8, ...).
    pub tpid: u16,
    /// Tag control information.
    pub tci: u16,
    /// The encapsulated ethertype.
    pub ethertype: u16,
}

impl VlanRepr {
    /// Read a checked tag that followed `tpid`.
    pub fn parse<T: AsRef<[u8]>>(tpid: u16, tag: &VlanTag<T>) -> VlanRepr {
        VlanRepr { tpid, tci: tag.tci(), ethertype: tag.ethertype() }
    }

    /// The VLAN id.
    pub fn vlan_id(&self) -> u16 {
        self.tci & 0x0fff
    }

    /// Write TCI and inner ethertype (the TPID goes in the preceding ethertype slot).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, tag: &mut VlanTag<T>) {
        tag.set_tci(self.tci);
        tag.set_ethertype(self.ethertype);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tci_fields() {
        let tag = VlanTag::new_checked(&[0xb0, 0x64, 0x08, 0x00][..]).unwrap();
        assert_eq!(tag.priority(), 5);
        assert!(tag.dei());
        assert_eq!(tag.vlan_id(), 100);
        assert_eq!(tag.ethertype(), 0x0800);
        assert!(VlanTag::new_checked(&[0u8; 3][..]).is_err());
    }
}
