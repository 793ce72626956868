//! Final answers: the entries whose answer ends a query at once.
//!
//! A query asks the tree's parts in order and keeps the earliest entry found; a part whose
//! first entry is not before that answer is not asked ([`super::tree`]). That test knows
//! nothing of the packet: in ipc1_10K, 45 % of the queries asked part 1 and 40 % part 2
//! (walking them 14 % and 33 % of the time), which gave 6.5 % and 5 % of the answers.
//!
//! An entry is *final* when no box of an earlier entry in a later part meets one of its
//! boxes ("later": after the first part that holds one of its boxes). A packet the entry
//! holds is then held by no earlier entry of a part the query has not asked yet, so the
//! query ends instead of walking one. One bit per entry, worked out from the boxes when the
//! tree is built; the verifier checks the bitmap's length, native code reads the bit of the
//! best answer before it walks a later part.

use super::build::Boxes;

/// Most pairs of boxes compared: beyond it the entries not yet looked at stay not final
/// (never wrong, only slower). The 10,000-rule ClassBench sets compare at most 1.5 million.
const BUDGET: u64 = 1 << 26;

/// Bit `e` of word `e / 64`: is an answer of entry `e` final? `parts` holds the boxes of
/// each part, in query order and box order. One bit more than there are entries, always
/// clear (native code reads it for "no answer yet").
pub(super) fn of(boxes: &Boxes, parts: &[&[u32]], entries: usize) -> Vec<u64> {
    within(boxes, parts, entries, BUDGET)
}

/// [`of`], comparing at most about `budget` pairs of boxes.
fn within(boxes: &Boxes, parts: &[&[u32]], entries: usize, budget: u64) -> Vec<u64> {
    // Per entry: the first part that holds one of its boxes.
    let mut first = vec![usize::MAX; entries];
    for (p, items) in parts.iter().enumerate() {
        for &b in *items {
            let e = boxes.entry.get(b as usize).map(|&e| e as usize);
            if let Some(f) = e.and_then(|e| first.get_mut(e)) {
                *f = (*f).min(p);
            }
        }
    }
    let mut bits = vec![0u64; entries / 64 + 1];
    let mut compared = 0u64;
    // Boxes come in entry order: an entry is final when none of its boxes is bettered.
    let mut b = 0;
    while b < boxes.entry.len() && compared < budget {
        let e = boxes.entry[b];
        let own = boxes.entry[b..].iter().take_while(|&&x| x == e).count();
        let Some(&p) = first.get(e as usize) else { break };
        let bettered = (b..b + own).any(|b| {
            parts.iter().skip(p.saturating_add(1)).any(|items| {
                let earlier =
                    items.iter().take_while(|&&x| boxes.entry.get(x as usize).is_some_and(|&ex| ex < e));
                earlier.inspect(|_| compared += 1).any(|&x| meet(boxes, b as u32, x))
            })
        });
        if !bettered {
            bits[e as usize / 64] |= 1 << (e % 64);
        }
        b += own;
    }
    bits
}

/// Do boxes `a` and `b` share a point?
fn meet(boxes: &Boxes, a: u32, b: u32) -> bool {
    boxes.get(a).iter().zip(boxes.get(b)).all(|(x, y)| x.intersects(*y))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::Interval;

    /// Boxes of two fields, one per entry in entry order: `(lo, hi)` per field.
    fn boxes(spec: &[[(u64, u64); 2]]) -> Boxes {
        Boxes {
            intervals: spec.iter().flatten().map(|&(lo, hi)| Interval::new(lo, hi)).collect(),
            entry: (0..spec.len() as u32).collect(),
            nfields: 2,
        }
    }

    #[test]
    fn an_answer_is_final_unless_an_earlier_entry_of_a_later_part_meets_it() {
        let b = boxes(&[
            [(0, 9), (0, 9)],     // 0, part 0
            [(0, 99), (50, 59)],  // 1, part 1: meets part 0's 3 only
            [(10, 19), (10, 19)], // 2, part 0: meets nothing later that is earlier
            [(20, 29), (50, 59)], // 3, part 0: bettered by 1
            [(0, 99), (0, 99)],   // 4, part 1: meets all, but is later than 0, 2 and 3
            [(20, 29), (50, 59)], // 5, part 1: the last part has nothing after it
        ]);
        let bits = of(&b, &[&[0, 2, 3], &[1, 4, 5]], 6);
        let finals: Vec<bool> = (0..6).map(|e| bits[0] >> e & 1 != 0).collect();
        assert_eq!(finals, [true, true, true, false, true, true]);
        assert_eq!(bits.len(), 1, "one word, its bits from 6 on clear");
        assert_eq!(bits[0] >> 6, 0);
        // Out of budget after one comparison (entry 2 with entry 1): the entries after
        // entry 2 stay not final.
        assert_eq!(within(&b, &[&[0, 2, 3], &[1, 4, 5]], 6, 1), vec![0b111]);
    }

    #[test]
    fn an_entry_is_final_only_when_none_of_its_boxes_is_bettered() {
        // Entry 2 has a box in part 0 and one in part 1, which entry 1 (part 1) meets: an
        // answer of 2 is not final (the bit does not say which box answered).
        let b = Boxes {
            intervals: [(0, 9), (20, 29), (50, 59), (20, 29), (50, 59)]
                .map(|(lo, hi)| Interval::new(lo, hi))
                .to_vec(),
            entry: vec![0, 1, 2, 2, 3],
            nfields: 1,
        };
        let bits = of(&b, &[&[0, 2], &[1, 3, 4]], 4);
        let finals: Vec<bool> = (0..4).map(|e| bits[0] >> e & 1 != 0).collect();
        assert_eq!(finals, [true, true, false, true]);
    }
}
