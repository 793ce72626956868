//! TCP sequence adjustment after payload mangling (`nf_conntrack_seqadj.c`).
//!
//! When a helper changes the length of a segment (FTP `PORT` rewritten by NAT), every later
//! sequence number of that direction, and every acknowledgement (and SACK edge) of the
//! other direction, must be shifted. Each direction remembers the position of the last
//! change and the offsets before and after it, so retransmissions of older data are
//! adjusted with the older offset.

use super::tcp::{after, before};

/// The adjustment of one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeqAdjDir {
    pub correction_pos: u32,
    pub offset_before: i32,
    pub offset_after: i32,
}

/// Both directions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeqAdj {
    pub dir: [SeqAdjDir; 2],
}

/// The rewritten sequence numbers of one segment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeqRewrite {
    pub seq: u32,
    /// The new acknowledgement number (only when the segment has ACK set).
    pub ack: Option<u32>,
    /// SACK blocks `(left, right)` rewritten, in the order given.
    pub sack: Vec<(u32, u32)>,
}

impl SeqAdj {
    /// `nf_ct_seqadj_set`: a segment of direction `dir` starting at `seq` grew by `off`
    /// bytes (negative: shrank).
    pub fn set(&mut self, dir: usize, seq: u32, off: i32) {
        if off == 0 {
            return;
        }
        let d = &mut self.dir[dir & 1];
        if d.offset_before == d.offset_after || before(d.correction_pos, seq) {
            d.correction_pos = seq;
            d.offset_before = d.offset_after;
            d.offset_after = d.offset_after.wrapping_add(off);
        }
    }

    /// `nf_ct_seq_offset`: the offset applied to direction `dir` at sequence `seq`.
    pub fn offset(&self, dir: usize, seq: u32) -> i32 {
        let d = &self.dir[dir & 1];
        if after(seq, d.correction_pos) { d.offset_after } else { d.offset_before }
    }

    /// `nf_ct_seq_adjust`: the new sequence, acknowledgement and SACK edges of a segment of
    /// direction `dir` (its own data moves by this direction's offset, its acknowledgements
    /// by the other direction's).
    pub fn adjust(&self, dir: usize, seq: u32, ack: Option<u32>, sack: &[(u32, u32)]) -> SeqRewrite {
        let this = &self.dir[dir & 1];
        let other = &self.dir[(dir & 1) ^ 1];
        let seqoff = if after(seq, this.correction_pos) { this.offset_after } else { this.offset_before };
        let new_seq = seq.wrapping_add(seqoff as u32);
        let Some(ack) = ack else {
            return SeqRewrite { seq: new_seq, ack: None, sack: Vec::new() };
        };
        let back = |v: u32| {
            let off = if after(v.wrapping_sub(other.offset_before as u32), other.correction_pos) {
                other.offset_after
            } else {
                other.offset_before
            };
            v.wrapping_sub(off as u32)
        };
        SeqRewrite {
            seq: new_seq,
            ack: Some(back(ack)),
            sack: sack.iter().map(|&(l, r)| (back(l), back(r))).collect(),
        }
    }
}

/// The SACK blocks in TCP option bytes: `(offset of the block in `options`, left, right)`,
/// so the pipeline can pass them to [`SeqAdj::adjust`] (via [`super::Segment::sack`]) and
/// write the results back at the same offsets. Malformed options end the list, as in the
/// kernel's `nf_ct_sack_adjust`.
pub fn sack_blocks(options: &[u8]) -> Vec<(usize, u32, u32)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < options.len() {
        match options[i] {
            0 => break,
            1 => i += 1,
            kind => {
                let Some(&len) = options.get(i + 1) else { break };
                let len = usize::from(len);
                if len < 2 || i + len > options.len() {
                    break;
                }
                if kind == 5 && len >= 10 && (len - 2) % 8 == 0 {
                    for off in (i + 2..i + len).step_by(8) {
                        let b = &options[off..off + 8];
                        let left = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
                        let right = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
                        out.push((off, left, right));
                    }
                }
                i += len;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sack_blocks_are_located() {
        let opts = [1, 1, 5, 18, 0, 0, 3, 232, 0, 0, 7, 208, 0, 0, 0, 100, 0, 0, 0, 200];
        assert_eq!(sack_blocks(&opts), vec![(4, 1000, 2000), (12, 100, 200)]);
        assert!(sack_blocks(&[5, 30, 0]).is_empty());
    }

    #[test]
    fn later_data_moves_and_older_retransmissions_do_not() {
        let mut a = SeqAdj::default();
        // A 20-byte segment at 1000 grew by 4 bytes.
        a.set(0, 1000, 4);
        // That segment itself keeps its sequence; data after it moves by 4.
        assert_eq!(a.adjust(0, 1000, None, &[]).seq, 1000);
        assert_eq!(a.adjust(0, 1020, None, &[]).seq, 1024);
        // The peer acknowledges in the mangled space: 1024 means 1020 to the sender.
        let r = a.adjust(1, 5000, Some(1024), &[(1030, 1040)]);
        assert_eq!(r.ack, Some(1020));
        assert_eq!(r.sack, vec![(1026, 1036)]);
        // A second change accumulates.
        a.set(0, 2000, -2);
        assert_eq!(a.offset(0, 2001), 2);
        assert_eq!(a.offset(0, 1500), 4);
    }
}
