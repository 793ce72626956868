//! Internet checksum arithmetic for payload writes (RFC 1071/1624), computed the way the
//! kernel's `csum_partial`/`nft_csum_replace` do, on big-endian 16-bit words.

/// One's-complement 32-bit sum of `bytes` as 16-bit big-endian words (a trailing odd byte
/// is the high half of a word).
pub fn partial(bytes: &[u8]) -> u32 {
    let mut sum = 0u32;
    let mut chunks = bytes.chunks_exact(2);
    for w in &mut chunks {
        sum = add(sum, u16::from_be_bytes([w[0], w[1]]) as u32);
    }
    if let [last] = chunks.remainder() {
        sum = add(sum, (*last as u32) << 8);
    }
    sum
}

/// One's-complement addition with end-around carry.
pub fn add(a: u32, b: u32) -> u32 {
    let (s, carry) = a.overflowing_add(b);
    s.wrapping_add(carry as u32)
}

/// Folds a 32-bit sum to 16 bits and complements it (`csum_fold`).
pub fn fold(sum: u32) -> u16 {
    let s = (sum & 0xffff) + (sum >> 16);
    let s = (s & 0xffff) + (s >> 16);
    !(s as u16)
}

/// The checksum field after bytes summing to `fsum` were replaced by bytes summing to
/// `tsum` (`nft_csum_replace`: a result of 0 becomes 0xffff).
pub fn replace(field: u16, fsum: u32, tsum: u32) -> u16 {
    match replace_kernel(field, fsum, tsum) {
        0 => 0xffff,
        v => v,
    }
}

/// The checksum field after bytes summing to `fsum` were replaced by bytes summing to
/// `tsum`, as the kernel's `csum_replace2`/`inet_proto_csum_replace4` compute it (an x_tables
/// target's fix-up): unlike [`replace`], a result of 0 stays 0.
pub fn replace_kernel(field: u16, fsum: u32, tsum: u32) -> u16 {
    fold(add(add(!(field as u32), !fsum), tsum))
}

/// Applies [`replace_kernel`] to the 16-bit checksum at `at` in `data`; false if out of range.
pub fn replace_kernel_at(data: &mut [u8], at: usize, fsum: u32, tsum: u32) -> bool {
    replace_field(data, at, |old| replace_kernel(old, fsum, tsum))
}

/// Applies [`replace`] to the 16-bit checksum at `at` in `data`; false if out of range.
pub fn replace_at(data: &mut [u8], at: usize, fsum: u32, tsum: u32) -> bool {
    replace_field(data, at, |old| replace(old, fsum, tsum))
}

/// The 16-bit field at `at` in `data` replaced by `new(old)`; false if out of range.
fn replace_field(data: &mut [u8], at: usize, new: impl FnOnce(u16) -> u16) -> bool {
    let Some(field) = data.get_mut(at..at + 2) else { return false };
    let old = u16::from_be_bytes([field[0], field[1]]);
    field.copy_from_slice(&new(old).to_be_bytes());
    true
}

/// Sets byte `half` (0 or 1) of the 16-bit word at `word` to `new` and fixes the checksum
/// at `sum_at` for it as the kernel's xt targets do (`csum_replace2`, which keeps a result
/// of 0, unlike nft's payload writes); false, with nothing changed, when a byte is missing.
pub fn set_byte(data: &mut [u8], word: usize, half: usize, new: u8, sum_at: usize) -> bool {
    let Some(&[a, b]) = data.get(word..word + 2) else { return false };
    let mut after = [a, b];
    after[half & 1] = new;
    if data.get(sum_at..sum_at + 2).is_none() {
        return false;
    }
    replace_kernel_at(data, sum_at, partial(&[a, b]), partial(&after));
    data[word + (half & 1)] = new;
    true
}

/// Recomputes the CRC32c checksum of the SCTP packet whose header is at `th`.
pub fn sctp_update(data: &mut [u8], th: usize) {
    if data.len() < th + 12 {
        return;
    }
    data[th + 8..th + 12].fill(0);
    let crc = crc32c(&data[th..]);
    data[th + 8..th + 12].copy_from_slice(&crc.to_le_bytes());
}

fn crc32c(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0x82f6_3b78 } else { crc >> 1 };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The xt targets' byte write keeps a checksum that comes out 0 (`csum_replace2`);
    /// nft's payload write would make it 0xffff.
    #[test]
    fn target_byte_writes_keep_a_zero_checksum() {
        let mut d = [0x00, 0x00, 0x00, 0x01];
        assert!(set_byte(&mut d, 0, 1, 0x01, 2));
        assert_eq!(d, [0x00, 0x01, 0x00, 0x00]);
        let mut n = [0x00, 0x00, 0x00, 0x01];
        assert!(replace_at(&mut n, 2, partial(&[0, 0]), partial(&[0, 1])));
        assert_eq!(&n[2..], &[0xff, 0xff]);
    }

    #[test]
    fn incremental_update_matches_full_recompute() {
        // IPv4 header with checksum at 10.
        let mut h = [0x45u8, 0, 0, 0x54, 0, 0, 0x40, 0, 0x40, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
        let full = fold(partial(&h));
        h[10..12].copy_from_slice(&full.to_be_bytes());
        assert_eq!(fold(partial(&h)), 0);
        let old = [h[8], h[9]];
        let new = [0x3f, 1];
        assert!(replace_at(&mut h, 10, partial(&old), partial(&new)));
        h[8..10].copy_from_slice(&new);
        assert_eq!(fold(partial(&h)), 0);
    }
}
