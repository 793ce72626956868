//! The tree against its definition: random classifiers (points, ranges, wildcards, intervals
//! that take an absent value) queried with values at and around every box end, absent
//! values included, from every entry — the answer must be the linear scan's.

use super::effects::RunFlags;
use super::tree::BoxHead;
use super::{ABSENT, Classifier, Entry, Field, Interval, MAX_FIELDS, Params, Recipe, Tree};
use crate::expr::Expr;
use crate::expr::payload::Payload;
use crate::keys::PayloadBase;
use crate::program::{ChainId, TableId};
use crate::reg::Reg;

use nftvm_testkit::Rng;

const WIDTHS: [u8; 5] = [4, 4, 2, 2, 1];

fn classifier(rng: &mut Rng, entries: usize) -> Classifier {
    classifier_with(rng, entries, false)
}

/// [`classifier`] with `nfields` fields (the widths repeating).
fn classifier_of(rng: &mut Rng, entries: usize, nfields: usize) -> Classifier {
    make(rng, entries, false, nfields)
}

/// With `narrow`, the fields of the first two bytes and the 4-byte field are always points or
/// short ranges (the latter clustered around 16-bit block boundaries), so parts get filters.
fn classifier_with(rng: &mut Rng, entries: usize, narrow: bool) -> Classifier {
    make(rng, entries, narrow, WIDTHS.len())
}

fn make(rng: &mut Rng, entries: usize, narrow: bool, nfields: usize) -> Classifier {
    // Narrow classifiers cut their first packet word into bytes, as prefixes do.
    let layout: Vec<(u32, u8)> = if narrow {
        vec![(0, 1), (1, 1), (2, 2), (4, 4), (8, 2)]
    } else {
        (0..nfields).map(|i| (4 * i as u32, WIDTHS[i % WIDTHS.len()])).collect()
    };
    let recipes = layout
        .iter()
        .map(|&(at, w)| Recipe {
            exprs: vec![Expr::Payload(Payload::load(PayloadBase::Network, at, w, Reg::R1))],
            len: w,
        })
        .collect();
    let fields: Vec<Field> = layout
        .iter()
        .enumerate()
        .map(|(i, (_, w))| Field { recipe: i as u8, offset: 0, width: *w })
        .collect();
    let interval = |rng: &mut Rng, f: &Field| {
        // Few distinct values, so boxes overlap and share ends.
        let max = f.max();
        let v = |rng: &mut Rng| ((rng.below(6) as u64) * (max / 5)).min(max);
        match rng.below(6) {
            0 | 1 => Interval::ANY,
            2 => Interval::point(v(rng)),
            3 => Interval::new(v(rng), ABSENT),
            _ => {
                let (a, b) = (v(rng), v(rng));
                Interval::new(a.min(b), a.max(b))
            }
        }
    };
    let near_block_ends = |rng: &mut Rng| {
        let v = ((rng.below(16) as u64) << 20) + (rng.below(5) as u64) * 0x7ffe;
        Interval::new(v, v + (rng.below(3) as u64) * 0x4001)
    };
    let entries = (0..entries)
        .map(|_| Entry {
            boxes: (0..1 + rng.below(2))
                .map(|_| {
                    let mut b: Vec<Interval> = fields.iter().map(|f| interval(rng, f)).collect();
                    // Which fields are narrow depends on the entry count: the first bytes,
                    // the 4-byte field or both (so each makes the key of some rounds).
                    let (bytes, word) = (entries % 3 != 1, !entries.is_multiple_of(3));
                    if narrow && bytes {
                        let byte = |rng: &mut Rng| (rng.below(9) as u64) * 0x1f;
                        b[0] = Interval::point(byte(rng));
                        let lo = byte(rng);
                        // Sometimes also absent: a filter must pass a packet without the byte.
                        b[1] = if rng.below(4) == 0 {
                            Interval::new(0xfe, ABSENT)
                        } else {
                            Interval::new(lo, lo + (rng.below(2) as u64))
                        };
                    }
                    if narrow && word {
                        b[3] = near_block_ends(rng);
                    }
                    b
                })
                .collect(),
        })
        .collect();
    Classifier {
        name: "__classify0".into(),
        table: TableId(0),
        chain: ChainId(0),
        first: 0,
        recipes,
        fields,
        entries,
        tree: Tree::default(),
    }
}

/// Values worth asking about: every box end, one either side, and absent.
fn probes(c: &Classifier, f: usize) -> Vec<u64> {
    let mut v = vec![ABSENT, 0, c.fields[f].max()];
    for b in c.entries.iter().flat_map(|e| &e.boxes) {
        let iv = b[f];
        v.extend(
            [iv.lo, iv.lo.saturating_sub(1), iv.hi, iv.hi + 1]
                .into_iter()
                .filter(|x| *x <= c.fields[f].max()),
        );
    }
    v.sort_unstable();
    v.dedup();
    v
}

#[test]
fn tree_answers_like_the_linear_scan() {
    let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
    let mut queries = 0;
    let mut heads = [0; 2];
    for round in 0..40 {
        // Every third round 13 fields: a box head of one word holds 64 entries then, so the
        // larger of those classifiers have heads of two words.
        let nfields = if round % 3 == 2 { 13 } else { WIDTHS.len() };
        let c = classifier_of(&mut rng, 5 + round * 3, nfields);
        let params = Params { leaf_max: 1 + round % 4, partition: round % 2 == 0, ..Params::default() };
        let tree = Tree::build(&c, &RunFlags::default(), &params);
        tree.check(&c).expect("a sound tree");
        heads[tree.head.words() - 1] += 1;
        let probes: Vec<Vec<u64>> = (0..c.fields.len()).map(|f| probes(&c, f)).collect();
        for _ in 0..400 {
            let mut values = [ABSENT; MAX_FIELDS];
            for (f, p) in probes.iter().enumerate() {
                values[f] = p[rng.below(p.len())];
            }
            for from in 0..c.entries.len() as u32 {
                queries += 1;
                assert_eq!(
                    tree.query(&values, from),
                    c.first_match_linear(&values, from),
                    "round {round}, values {values:?}, from {from}"
                );
            }
        }
    }
    assert!(queries > 100_000);
    assert!(heads[0] > 20 && heads[1] >= 5, "box heads of one and two words: {heads:?}");
}

#[test]
fn box_heads_take_one_word_when_the_entries_fit_beside_two_bits_per_field() {
    assert!(BoxHead::new(5, 1 << 22).is_one_word());
    assert!(!BoxHead::new(5, (1 << 22) + 1).is_one_word());
    assert!(BoxHead::new(15, 4).is_one_word());
    assert!(!BoxHead::new(15, 5).is_one_word());
    assert!(!BoxHead::new(16, 1).is_one_word());
    assert!(!BoxHead::new(0, 1).is_one_word());
}

#[test]
fn shadow_cuts_keep_first_matches() {
    let mut rng = Rng::new(0x2545_f491_4f6c_dd1d);
    for round in 0..40 {
        let c = classifier(&mut rng, 10 + round * 2);
        let flags = RunFlags { ends_chain: vec![true; c.entries.len()], prune: true };
        let tree = Tree::build(&c, &flags, &Params { leaf_max: 2, ..Params::default() });
        let probes: Vec<Vec<u64>> = (0..c.fields.len()).map(|f| probes(&c, f)).collect();
        for _ in 0..2000 {
            let mut values = [ABSENT; MAX_FIELDS];
            for (f, p) in probes.iter().enumerate() {
                values[f] = p[rng.below(p.len())];
            }
            // With every rule ending the chain, a run is only ever entered at its start.
            assert_eq!(tree.query(&values, 0), c.first_match_linear(&values, 0), "round {round}, {values:?}");
        }
    }
}

#[test]
fn part_filters_pass_over_parts_and_dispatch_like_the_linear_scan() {
    let mut rng = Rng::new(0x1234_5678_9abc_def1);
    let (mut filtered, mut dispatched) = (0, 0);
    for round in 0..30 {
        let c = classifier_with(&mut rng, 20 + round * 8, true);
        let params = Params { leaf_max: 1 + round % 4, partition: round % 2 == 0, ..Params::default() };
        let tree = Tree::build(&c, &RunFlags::default(), &params);
        tree.check(&c).expect("a sound tree");
        filtered += tree.stats.filters;
        dispatched += tree.stats.buckets;
        let mut probes: Vec<Vec<u64>> = (0..c.fields.len()).map(|f| probes(&c, f)).collect();
        // The 4-byte field also at the edges of the 16-bit blocks its boxes touch.
        let max = c.fields[3].max();
        let edges: Vec<u64> = probes[3]
            .iter()
            .filter(|v| **v <= max)
            .flat_map(|v| [v & !0xffff, v | 0xffff, ((v | 0xffff) + 1).min(max)])
            .collect();
        probes[3].extend(edges);
        for _ in 0..600 {
            let mut values = [ABSENT; MAX_FIELDS];
            for (f, p) in probes.iter().enumerate() {
                values[f] = p[rng.below(p.len())];
            }
            for from in [0, 1, c.entries.len() as u32 / 2] {
                assert_eq!(
                    tree.query(&values, from),
                    c.first_match_linear(&values, from),
                    "round {round}, values {values:?}, from {from}"
                );
            }
        }
    }
    assert!(filtered >= 30, "parts with a sparse key get filters ({filtered})");
    assert!(dispatched >= 100, "filters dispatch to per-key trees ({dispatched})");
}

#[test]
fn the_check_refuses_filter_words_out_of_range() {
    let mut rng = Rng::new(0x000f_17e5);
    let trees: Vec<(Classifier, Tree)> = (0..30)
        .map(|round| {
            let c = classifier_with(&mut rng, 20 + round * 8, true);
            let tree = Tree::build(&c, &RunFlags::default(), &Params::default());
            (c, tree)
        })
        .collect();
    let (c, tree) = trees
        .iter()
        .find(|(_, t)| t.parts.iter().filter_map(|p| p.filter).any(|f| f.dispatch))
        .expect("some tree has a dispatching filter");
    tree.check(c).expect("a sound tree");
    let f = tree.parts.iter().filter_map(|p| p.filter).find(|f| f.dispatch).expect("a dispatching filter");
    // A rank past the per-key trees: a set bit of its word would index past them.
    let mut bad = tree.clone();
    let word = (0..super::filter::WORDS)
        .position(|i| tree.filter_words[f.at as usize + 2 * i] != 0)
        .expect("a set bit");
    bad.filter_words[f.at as usize + 2 * word + 1] = tree.bucket_roots.len() as u64;
    assert!(bad.check(c).is_err(), "a rank out of range");
    // Words cut short: the filter's last pair is missing.
    let mut short = tree.clone();
    short.filter_words.truncate(f.at as usize + f.len() - 1);
    assert!(short.check(c).is_err(), "filter words cut short");
}

/// Runs of rules that go on after they match ask again from the next entry; the walks kept
/// between those queries must give the linear scan's answers — also when a rule changes a
/// value in between (fresh walks) and when two classifiers take turns with one [`Walks`]
/// (the same rules in two differently built trees: the same values, other leaves).
#[test]
fn kept_walks_answer_like_the_linear_scan_as_values_change() {
    use super::walks::{MAX_PARTS, Walks};
    use crate::program::ClassifierId;
    let mut rng = Rng::new(0x005e_ed0f_3a1c);
    let mut kept = 0;
    for round in 0..24 {
        let c = classifier_with(&mut rng, 20 + round * 6, round % 2 == 0);
        let flags = RunFlags { ends_chain: vec![false; c.entries.len()], prune: false };
        let pair: Vec<(Classifier, Tree)> = (0..2)
            .map(|k| {
                let params =
                    Params { leaf_max: 1 + (round + 2 * k) % 4, partition: k == 0, ..Params::default() };
                let tree = Tree::build(&c, &flags, &params);
                tree.check(&c).expect("a sound tree");
                (c.clone(), tree)
            })
            .collect();
        kept += pair.iter().filter(|(_, t)| t.may_requery() && t.parts() <= MAX_PARTS).count();
        let probes: Vec<Vec<u64>> = (0..c.fields.len()).map(|f| probes(&c, f)).collect();
        let mut walks = Walks::default();
        let mut values = [ABSENT; MAX_FIELDS];
        for _ in 0..150 {
            let k = rng.below(2);
            let (c, tree) = &pair[k];
            // Half the time the same packet as the last query (maybe the other tree's).
            if rng.below(2) == 0 {
                for (f, p) in probes.iter().enumerate() {
                    values[f] = p[rng.below(p.len())];
                }
            }
            let packet = values;
            let mut from = 0;
            loop {
                let got = walks.query(ClassifierId(k as u32), tree, &values, from);
                assert_eq!(got, c.first_match_linear(&values, from), "round {round}, {values:?} from {from}");
                let Some(e) = got else { break };
                from = e + 1;
                if rng.below(3) == 0 {
                    // The matched rule changed the packet: one field takes another value.
                    let f = rng.below(c.fields.len());
                    values[f] = probes[f][rng.below(probes[f].len())];
                }
            }
            values = packet;
        }
    }
    assert!(kept >= 24, "trees whose walks are kept ({kept})");
}

#[test]
fn filter_keys_pair_first_bytes_before_second_ones_and_stay_few() {
    use super::recipe::FieldRead;
    let payload = |start: u32, width: u8| FieldRead::Payload {
        base: PayloadBase::Network,
        start,
        len: width,
        at: 0,
        width,
    };
    // ClassBench's five fields: every pair of first or second bytes is tried.
    let five: Vec<FieldRead> =
        [(12, 4), (16, 4), (40, 2), (42, 2), (9, 1)].map(|(s, w)| payload(s, w)).to_vec();
    let keys = super::filter::keys(&five);
    let first = |f: u8, width: u8| super::filter::KeyByte { field: f, shift: 8 * (width - 1) };
    let second = |f: u8, width: u8| super::filter::KeyByte { field: f, shift: 8 * (width - 2) };
    assert!(keys.contains(&[first(0, 4), second(1, 4)]), "source high byte with destination's second");
    assert!(keys.contains(&[second(3, 2), first(0, 4)]));
    let at = |k: super::filter::Key| keys.iter().position(|x| *x == k);
    assert!(
        at([first(0, 4), first(1, 4)]) < at([first(0, 4), second(1, 4)]),
        "first bytes' pairs come first"
    );
    // Sixteen four-byte fields would make 992 pairs: the list stops at its bound, first
    // bytes' pairs kept.
    let many: Vec<FieldRead> = (0..16).map(|f| payload(64 * f, 4)).collect();
    let keys = super::filter::keys(&many);
    assert!(keys.len() <= 256, "{} keys", keys.len());
    assert!(keys.contains(&[first(15, 4), first(14, 4)]));
}

/// A profile counts what the queries did without changing their answers: each query answered
/// by one part or by none, a part asked only when the one before it was (the parts are in
/// the order of their first entries), every asked part either passed over or walked unless
/// an earlier query's walk is reused, and boxes tested only in parts that were walked.
#[test]
fn query_profiles_count_what_the_queries_did() {
    use super::walks::Walks;
    use crate::program::ClassifierId;
    let mut rng = Rng::new(0x0970_f11e);
    let (mut filtered, mut answered_later, mut ended) = (0u64, 0u64, 0u64);
    for round in 0..20 {
        let c = classifier_with(&mut rng, 30 + round * 10, true);
        let ends = round % 2 == 0;
        let flags = RunFlags { ends_chain: vec![ends; c.entries.len()], prune: false };
        let tree = Tree::build(&c, &flags, &Params { leaf_max: 1 + round % 4, ..Params::default() });
        tree.check(&c).expect("a sound tree");
        let probes: Vec<Vec<u64>> = (0..c.fields.len()).map(|f| probes(&c, f)).collect();
        let (mut plain, mut profiled) = (Walks::default(), Walks::default());
        profiled.profile();
        assert!(plain.profiles().is_none(), "no profile unless asked for");
        let (mut queries, mut answers) = (0u64, 0u64);
        for _ in 0..300 {
            let mut values = [ABSENT; MAX_FIELDS];
            for (f, p) in probes.iter().enumerate() {
                values[f] = p[rng.below(p.len())];
            }
            let from = if ends { 0 } else { rng.below(c.entries.len()) as u32 };
            let id = ClassifierId(0);
            let want = plain.query(id, &tree, &values, from);
            assert_eq!(profiled.query(id, &tree, &values, from), want, "round {round}, {values:?}");
            queries += 1;
            answers += u64::from(want.is_some());
        }
        let p = &profiled.profiles().expect("profiling")[0];
        assert_eq!((p.queries, p.answered()), (queries, answers), "round {round}");
        assert!(p.parts.len() <= tree.parts(), "round {round}");
        for (i, k) in p.parts.iter().enumerate() {
            assert!(k.answered <= k.walked && k.walked <= k.asked, "round {round} part {i}: {k:?}");
            assert!(k.passed_over + k.ended + k.walked <= k.asked, "round {round} part {i}: {k:?}");
            if !tree.may_requery() {
                // No walk is kept: every asked part is passed over, ends the query or is
                // walked, now.
                assert_eq!(k.passed_over + k.ended + k.walked, k.asked, "round {round} part {i}: {k:?}");
            }
            assert!(i > 0 || k.ended == 0, "round {round}: no answer yet at the first part");
            assert!(k.walked > 0 || k.tested == 0, "round {round} part {i}: {k:?}");
            if let Some(before) = i.checked_sub(1).and_then(|j| p.parts.get(j)) {
                assert!(k.asked <= before.asked, "round {round}: part {i} asked more than part {}", i - 1);
            }
            filtered += k.passed_over;
            answered_later += if i > 0 { k.answered } else { 0 };
            ended += k.ended;
        }
    }
    assert!(filtered > 0, "filters passed over parts");
    assert!(answered_later > 0, "parts after the first answered");
    assert!(ended > 0, "final answers ended queries");
}
