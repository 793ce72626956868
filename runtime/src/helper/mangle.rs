//! Payload rewriting for NAT helpers (`nf_nat_mangle_tcp_packet`): replace a span of the
//! TCP payload by new text, which may be longer or shorter, and record the length change
//! for sequence adjustment; the pipeline fixes lengths and checksums in the packet.

use nftvm_vm::keys::ct_status as st;

use crate::conntrack::Conntrack;
use crate::conntrack::confirm::Segment;
use crate::conntrack::entry::ConnId;
use crate::conntrack::expect::Expectation;

/// A rewritten payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mangled {
    pub payload: Vec<u8>,
    /// New length minus old length.
    pub delta: i32,
}

/// Replaces `payload[offset..offset + len]` by `with`. Fails when the span is outside the
/// payload or the packet (`l3_len` bytes now) would exceed 65535 bytes.
pub fn mangle(payload: &[u8], offset: usize, len: usize, with: &[u8], l3_len: u32) -> Option<Mangled> {
    let end = offset.checked_add(len)?;
    let head = payload.get(..offset)?;
    let tail = payload.get(end..)?;
    let grow = with.len().saturating_sub(len);
    if u64::from(l3_len) + grow as u64 > 65_535 {
        return None;
    }
    let mut out = Vec::with_capacity(head.len() + with.len() + tail.len());
    out.extend_from_slice(head);
    out.extend_from_slice(with);
    out.extend_from_slice(tail);
    let delta = i32::try_from(with.len()).ok()? - i32::try_from(len).ok()?;
    Some(Mangled { payload: out, delta })
}

/// Where a NAT helper rewrites a segment: the span of its payload and the new text.
pub(crate) struct Rewrite<'a> {
    pub offset: usize,
    pub len: usize,
    pub with: &'a [u8],
}

impl Conntrack {
    /// Rewrites `seg`'s payload (direction `dir` of connection `id`) as [`mangle`] does and,
    /// when its length changes, adjusts the sequence numbers of the rest of the connection.
    /// When the text cannot be put in, the expectation `exp` it announces is withdrawn and
    /// the packet dropped (`Err`), as the NAT helpers do.
    pub(crate) fn mangle_tcp(
        &mut self,
        id: ConnId,
        dir: usize,
        seg: &Segment<'_>,
        rewrite: Rewrite<'_>,
        exp: &Expectation,
    ) -> Result<Option<Mangled>, ()> {
        let Some(mangled) = mangle(seg.payload, rewrite.offset, rewrite.len, rewrite.with, seg.l3_len) else {
            self.expect.remove(exp);
            return Err(());
        };
        if mangled.delta != 0
            && let Some(c) = self.get_mut(id)
        {
            c.status |= st::SEQ_ADJUST;
            c.ext_mut().seqadj.set(dir, seg.seq, mangled.delta);
        }
        Ok(Some(mangled))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_span_and_reports_length_change() {
        let m = mangle(b"PORT 10,0,0,1,4,1\r\n", 5, 12, b"192,168,100,100,4,1", 60).unwrap();
        assert_eq!(m.payload, b"PORT 192,168,100,100,4,1\r\n");
        assert_eq!(m.delta, 7);
        assert!(mangle(b"abc", 2, 5, b"x", 60).is_none());
        assert!(mangle(b"abc", 0, 1, b"xx", 65_535).is_none());
    }
}
