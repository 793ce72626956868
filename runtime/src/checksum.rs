//! Internet checksums: full computation (RFC 1071), incremental update (RFC 1624), the
//! TCP/UDP/ICMPv6 pseudo-headers, verification, and the CRC32c that SCTP uses.
//!
//! # Arithmetic, and why it mirrors the kernel bit for bit
//!
//! nftvm's output is compared byte for byte with what Linux emits, so every incremental
//! update here is the kernel's own formula, not merely an equivalent one:
//!
//! * [`replace16`] is `csum_replace2` (16-bit end-around-carry arithmetic, RFC 1624 eqn. 3);
//! * [`replace32`] is `csum_replace4` (32-bit accumulator, then folded);
//! * [`replace_addr6`] is `inet_proto_csum_replace16`;
//! * [`nft_replace`] is nf_tables' `nft_csum_replace` (payload statement): `csum_replace4`
//!   followed by mapping a result of `0x0000` to `0xffff` (`CSUM_MANGLED_0`);
//! * [`decrement_ttl`] is `ip_decrease_ttl`.
//!
//! **±0.** In ones' complement `0x0000` and `0xffff` are the same number. A checksum computed
//! from scratch over data that is not all zero is never `0xffff` (the folded sum is never
//! `0x0000`), so the *canonical* form of a checksum lies in `0x0000..=0xfffe`. The kernel's
//! `csum_replace4`/`replace16` always return the canonical form (the 32-bit accumulator they
//! fold can never be zero), and `csum_replace2` does so whenever its input was canonical.
//! Hence, for every correctly checksummed packet, the incremental update here equals a full
//! recompute — the property tests check this over many random rewrites. Where the input is
//! *not* canonical (a peer sent `0xffff` for TCP), the result is whatever the kernel's formula
//! gives, because matching Linux is the goal. Two deliberate exceptions to "canonical":
//!
//! * UDP (and UDP-Lite) transmit a computed `0x0000` as `0xffff`, because `0x0000` means "no
//!   checksum" for UDP over IPv4 (RFC 768); NAT leaves a zero UDP checksum alone (see
//!   `packet::rewrite`). [`udp_checksum_v4`]/[`udp_checksum_v6`] apply that mapping.
//! * The nft payload statement ([`nft_replace`]) maps `0x0000` to `0xffff` for *every*
//!   checksum it touches (IPv4 header, TCP, UDP, ICMPv6), exactly as the kernel does.
//!
//! Sums are kept in network byte order: the ones' complement sum is byte-order independent
//! (RFC 1071 §2(B)), so the stored bytes equal the kernel's on any host.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Adds two 32-bit ones' complement partial sums (the kernel's `csum_add`).
pub fn add(a: u32, b: u32) -> u32 {
    let (sum, carry) = a.overflowing_add(b);
    // With a carry the wrapped sum is at most 0xfffffffe, so the +1 cannot overflow.
    sum.wrapping_add(u32::from(carry))
}

/// Subtracts a 32-bit partial sum (the kernel's `csum_sub`).
pub fn sub(a: u32, b: u32) -> u32 {
    add(a, !b)
}

/// Adds two 16-bit ones' complement values (the kernel's `csum16_add`).
fn add16(a: u16, b: u16) -> u16 {
    let (sum, carry) = a.overflowing_add(b);
    sum.wrapping_add(u16::from(carry))
}

/// The 32-bit partial sum of `data` taken as big-endian 16-bit words (a trailing odd byte is
/// the high byte of a last word), added to `initial` — the kernel's `csum_partial`.
pub fn sum(data: &[u8], initial: u32) -> u32 {
    let mut acc: u64 = 0;
    let mut words = data.chunks_exact(2);
    for word in &mut words {
        acc += u64::from(u16::from_be_bytes([word[0], word[1]]));
    }
    if let [last] = words.remainder() {
        acc += u64::from(*last) << 8;
    }
    // Fold the 64-bit accumulator into 32 bits with end-around carry.
    while acc >> 32 != 0 {
        acc = (acc & 0xffff_ffff) + (acc >> 32);
    }
    add(acc as u32, initial)
}

/// Folds a 32-bit partial sum to 16 bits with end-around carry (not complemented). The result
/// is `0` only when `partial` is `0`.
pub fn fold(partial: u32) -> u16 {
    let once = (partial & 0xffff) + (partial >> 16);
    let twice = (once & 0xffff) + (once >> 16);
    twice as u16
}

/// Folds and complements a partial sum into a checksum value (the kernel's `csum_fold`).
pub fn finish(partial: u32) -> u16 {
    !fold(partial)
}

/// The Internet checksum of `data` (RFC 1071).
pub fn checksum(data: &[u8]) -> u16 {
    finish(sum(data, 0))
}

/// True when `data`, checksum field included, sums to `0xffff` (i.e. the checksum is right).
pub fn verify(data: &[u8], initial: u32) -> bool {
    fold(sum(data, initial)) == 0xffff
}

/// The partial sum of the IPv4 pseudo-header (RFC 793/768): addresses, protocol, length.
pub fn pseudo_header_v4(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, length: u32) -> u32 {
    let mut partial = sum(&src.octets(), 0);
    partial = sum(&dst.octets(), partial);
    partial = add(partial, u32::from(protocol));
    add(partial, length)
}

/// The partial sum of the IPv6 pseudo-header (RFC 8200 §8.1).
pub fn pseudo_header_v6(src: Ipv6Addr, dst: Ipv6Addr, protocol: u8, length: u32) -> u32 {
    let mut partial = sum(&src.octets(), 0);
    partial = sum(&dst.octets(), partial);
    partial = add(partial, u32::from(protocol));
    add(partial, length)
}

/// TCP (or any pseudo-header protocol) checksum over `segment` whose checksum field is zero.
pub fn transport_checksum_v4(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, segment: &[u8]) -> u16 {
    let length = u32::try_from(segment.len()).unwrap_or(u32::MAX);
    finish(sum(segment, pseudo_header_v4(src, dst, protocol, length)))
}

/// IPv6 counterpart of [`transport_checksum_v4`] (TCP, UDP, ICMPv6).
pub fn transport_checksum_v6(src: Ipv6Addr, dst: Ipv6Addr, protocol: u8, segment: &[u8]) -> u16 {
    let length = u32::try_from(segment.len()).unwrap_or(u32::MAX);
    finish(sum(segment, pseudo_header_v6(src, dst, protocol, length)))
}

/// A computed UDP checksum as transmitted: `0x0000` becomes `0xffff` (RFC 768).
pub fn udp_transmitted(computed: u16) -> u16 {
    if computed == 0 { 0xffff } else { computed }
}

/// UDP over IPv4 checksum of `datagram` (checksum field zero), in its transmitted form.
pub fn udp_checksum_v4(src: Ipv4Addr, dst: Ipv4Addr, datagram: &[u8]) -> u16 {
    udp_transmitted(transport_checksum_v4(src, dst, crate::packet::ip::protocol::UDP, datagram))
}

/// UDP over IPv6 checksum of `datagram` (checksum field zero), in its transmitted form.
pub fn udp_checksum_v6(src: Ipv6Addr, dst: Ipv6Addr, datagram: &[u8]) -> u16 {
    udp_transmitted(transport_checksum_v6(src, dst, crate::packet::ip::protocol::UDP, datagram))
}

/// RFC 1624 eqn. 3 for one 16-bit field, exactly as the kernel's `csum_replace2`:
/// `HC' = ~(~HC + ~m + m')` in 16-bit end-around-carry arithmetic.
pub fn replace16(check: u16, old: u16, new: u16) -> u16 {
    !add16(add16(!check, !old), new)
}

/// The same for a 32-bit field (an IPv4 address), as the kernel's `csum_replace4`.
pub fn replace32(check: u16, old: u32, new: u32) -> u16 {
    let unfolded = !u32::from(check);
    finish(add(sub(unfolded, old), new))
}

/// The same for a 128-bit field (an IPv6 address), as `inet_proto_csum_replace16`.
pub fn replace_addr6(check: u16, old: &[u8; 16], new: &[u8; 16]) -> u16 {
    let mut diff = [0u8; 32];
    for (slot, byte) in diff.iter_mut().zip(old.iter().map(|b| !b).chain(new.iter().copied())) {
        *slot = byte;
    }
    finish(sum(&diff, !u32::from(check)))
}

/// Replace the partial sum `from` of some bytes by `to` (of their new value), as nf_tables'
/// `nft_csum_replace` does for `payload write ... csum_type inet` and the L4 pseudo-header
/// flag: `csum_replace4`, then a `0x0000` result is stored as `0xffff`.
pub fn nft_replace(check: u16, from: u32, to: u32) -> u16 {
    let updated = replace32(check, from, to);
    if updated == 0 { 0xffff } else { updated }
}

/// The IPv4 header checksum after decrementing the TTL by one, as `ip_decrease_ttl`: add
/// `0x0100` with end-around carry; a result of `0xffff` becomes `0x0000`.
pub fn decrement_ttl(check: u16) -> u16 {
    let bumped = u32::from(check) + 0x0100;
    (bumped + u32::from(bumped >= 0xffff)) as u16
}

/// The Castagnoli CRC-32 lookup table (reflected polynomial 0x82f63b78), built at compile
/// time.
const CRC32C_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut index = 0;
    while index < 256 {
        let mut crc = index as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0x82f6_3b78 } else { crc >> 1 };
            bit += 1;
        }
        table[index] = crc;
        index += 1;
    }
    table
};

/// Continue a CRC32c over `data` from the (un-inverted) running value `crc`.
fn crc32c_update(mut crc: u32, data: &[u8]) -> u32 {
    for &byte in data {
        crc = CRC32C_TABLE[((crc ^ u32::from(byte)) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

/// CRC32c (RFC 3720 §B.4) of `data`: initial value all ones, final complement.
pub fn crc32c(data: &[u8]) -> u32 {
    !crc32c_update(!0, data)
}

/// The SCTP checksum of a packet (common header + chunks), computed with the 4-byte checksum
/// field at `checksum_at..checksum_at + 4` taken as zero, in the byte order it is stored in
/// the packet (the CRC is stored least significant byte first, as `sctp_compute_cksum`).
pub fn sctp_checksum(packet: &[u8], checksum_at: usize) -> [u8; 4] {
    let split = checksum_at.min(packet.len());
    let after = checksum_at.saturating_add(4).min(packet.len());
    let mut crc = crc32c_update(!0, &packet[..split]);
    crc = crc32c_update(crc, &[0u8; 4][..after - split]);
    crc = crc32c_update(crc, &packet[after..]);
    (!crc).to_le_bytes()
}

/// The result of verifying a transport checksum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChecksumStatus {
    /// The checksum is correct.
    Valid,
    /// The checksum is wrong.
    Invalid,
    /// The packet carries no checksum (UDP with a zero checksum field).
    Absent,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example_words() {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (folded).
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(sum(&data, 0)), 0xddf2);
        assert_eq!(checksum(&data), !0xddf2);
    }

    #[test]
    fn ttl_decrement_matches_little_endian_kernel_formula() {
        // ip_decrease_ttl as it runs on a little-endian host: the stored bytes are loaded as
        // a little-endian u16 and htons(0x0100) == 0x0001 is added.
        for check in 0..=u16::MAX {
            let le = u32::from(u16::from_le_bytes(check.to_be_bytes())) + 1;
            let le = (le + u32::from(le >= 0xffff)) as u16;
            let kernel = u16::from_be_bytes(le.to_le_bytes());
            assert_eq!(decrement_ttl(check), kernel, "check {check:#06x}");
        }
    }

    #[test]
    fn crc32c_rfc3720_vectors() {
        assert_eq!(crc32c(&[0u8; 32]), 0x8a91_36aa);
        assert_eq!(crc32c(&[0xffu8; 32]), 0x62a8_ab43);
        let ascending: Vec<u8> = (0u8..32).collect();
        assert_eq!(crc32c(&ascending), 0x46dd_794e);
        let descending: Vec<u8> = (0u8..32).rev().collect();
        assert_eq!(crc32c(&descending), 0x113f_db5c);
    }
}
