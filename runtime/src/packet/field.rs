//! Bounds-safe big-endian field access shared by the protocol views.
//!
//! Views validate their buffer once (`new_checked`), after which field reads are in range.
//! These helpers still never panic: a view built with `new_unchecked` over a buffer that is
//! too short reads zeros and ignores writes, so misuse yields wrong values, not a crash.

/// The byte at `at`, or 0 when out of range.
pub fn get_u8(data: &[u8], at: usize) -> u8 {
    data.get(at).copied().unwrap_or(0)
}

/// The big-endian u16 at `at`, or 0 when out of range.
pub fn get_u16(data: &[u8], at: usize) -> u16 {
    match data.get(at..at.saturating_add(2)) {
        Some(&[a, b]) => u16::from_be_bytes([a, b]),
        _ => 0,
    }
}

/// The big-endian u32 at `at`, or 0 when out of range.
pub fn get_u32(data: &[u8], at: usize) -> u32 {
    match data.get(at..at.saturating_add(4)) {
        Some(&[a, b, c, d]) => u32::from_be_bytes([a, b, c, d]),
        _ => 0,
    }
}

/// `N` bytes at `at`, or zeros when out of range.
pub fn get_array<const N: usize>(data: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(src) = data.get(at..at.saturating_add(N)) {
        out.copy_from_slice(src);
    }
    out
}

/// The bytes from `from` to `to` (clamped to the buffer).
pub fn get_range(data: &[u8], from: usize, to: usize) -> &[u8] {
    let end = to.min(data.len());
    data.get(from.min(end)..end).unwrap_or(&[])
}

/// Mutable bytes from `from` to `to` (clamped to the buffer).
pub fn get_range_mut(data: &mut [u8], from: usize, to: usize) -> &mut [u8] {
    let end = to.min(data.len());
    let start = from.min(end);
    data.get_mut(start..end).unwrap_or_default()
}

/// Store a byte at `at` (ignored when out of range).
pub fn set_u8(data: &mut [u8], at: usize, value: u8) {
    if let Some(slot) = data.get_mut(at) {
        *slot = value;
    }
}

/// Store a big-endian u16 at `at` (ignored when out of range).
pub fn set_u16(data: &mut [u8], at: usize, value: u16) {
    set_bytes(data, at, &value.to_be_bytes());
}

/// Store a big-endian u32 at `at` (ignored when out of range).
pub fn set_u32(data: &mut [u8], at: usize, value: u32) {
    set_bytes(data, at, &value.to_be_bytes());
}

/// Store `bytes` at `at` (ignored when they do not fit).
pub fn set_bytes(data: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(slot) = data.get_mut(at..at.saturating_add(bytes.len())) {
        slot.copy_from_slice(bytes);
    }
}

/// Fail with a truncation error unless `data` holds at least `needed` bytes.
pub fn need(data: &[u8], header: &'static str, needed: usize) -> super::error::Result<()> {
    if data.len() < needed {
        Err(super::error::ParseError::truncated(0, header, needed, data.len()))
    } else {
        Ok(())
    }
}
