//! What a running instance lists (`nftvm list ruleset`): the checked IR of the loaded
//! ruleset with the state the packet path changed written in — rule and object counters
//! ([`counters`]) and the elements of the sets the packet path writes ([`sets`]) — so the nft
//! printer lists it as `nft list ruleset` lists the kernel's. Every worker has its own
//! program state (sharing its meters and written sets with the others): each reports a
//! [`WorkerState`], and the listing adds them up — a shared set counted once.

pub mod counters;
pub mod sets;

use crate::program::LoadedProgram;
use nftvm_compiler::ir::{Family, Ruleset, SetKind};
use nftvm_vm::Program;
use nftvm_vm::interp::ProgramState;

/// What one worker reports for a listing.
#[derive(Clone, Debug, Default)]
pub struct WorkerState {
    pub counters: counters::CounterSlots,
    pub sets: sets::LiveSets,
    /// Per set: does the worker share it with the others ([`sets::shared`])?
    pub shared_sets: Vec<bool>,
    /// The time the worker's state was read at (ns, its clock: [`WorkerView::clock`]).
    ///
    /// [`WorkerView::clock`]: nftvm_runtime::live::WorkerView::clock
    pub now: u64,
}

impl WorkerState {
    /// The state of a worker running `prog`, read at `now`.
    pub fn of(prog: &Program, state: &ProgramState, now: u64) -> WorkerState {
        WorkerState {
            counters: counters::counter_slots(state),
            sets: sets::snapshot(prog, state, now),
            shared_sets: sets::shared(prog, state),
            now,
        }
    }
}

/// The IR of `loaded` as the workers' states make it; `None` when the program was loaded as
/// bytecode text (there is no IR to list).
pub fn ruleset(loaded: &LoadedProgram, workers: &[WorkerState]) -> Option<Ruleset> {
    let prog = loaded.program().program();
    let initial = counters::Initial::of(prog);
    let values = counters::sum_counters(&initial, workers.iter().map(|w| &w.counters));
    let mut rs = counters::with_counters(loaded, &values, initial.object_base)?;
    let now = workers.iter().map(|w| w.now).max().unwrap_or(0);
    let live: Vec<(&sets::LiveSets, &[bool])> =
        workers.iter().map(|w| (&w.sets, &w.shared_sets[..])).collect();
    sets::apply(&mut rs, prog, &sets::merge(&live), now);
    Some(rs)
}

/// What `nftvm list` asks a running instance for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Listing {
    /// `list ruleset`.
    Ruleset,
    /// `list set|map [FAMILY] TABLE NAME` (`map`: a map; nft's family defaults to `ip`).
    Set { map: bool, family: Family, table: String, name: String },
}

impl Listing {
    /// The listing the words after `list` ask for, and the words left (the options);
    /// `None` when they name none.
    pub fn parse(words: &[String]) -> Option<(Listing, &[String])> {
        let kind = words.first()?.as_str();
        let map = match kind {
            "ruleset" => return Some((Listing::Ruleset, &words[1..])),
            "set" => false,
            "map" => true,
            _ => return None,
        };
        let names: Vec<&str> =
            words[1..].iter().take_while(|w| !w.starts_with('-')).map(String::as_str).collect();
        let (family, table, name) = match names.as_slice() {
            [table, name] => (Family::Ip, *table, *name),
            [family, table, name, ..] => (Family::from_name(family)?, *table, *name),
            _ => return None,
        };
        let used = 1 + names.len().min(3);
        let listing = Listing::Set { map, family, table: table.to_string(), name: name.to_string() };
        Some((listing, &words[used..]))
    }

    /// Keeps what the listing shows of `rs`: all of it, or the one set's table with that set
    /// alone (as `nft list set` prints it); false when there is no such set.
    pub fn select(&self, rs: &mut Ruleset) -> bool {
        let Listing::Set { map, family, table, name } = self else { return true };
        rs.tables.retain(|t| t.family == *family && t.name == *table);
        let Some(t) = rs.tables.first_mut() else { return false };
        t.chains.clear();
        t.objects.clear();
        t.flowtables.clear();
        t.sets.retain(|s| s.name == *name && (s.kind == SetKind::Map) == *map);
        !t.sets.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::sets::LiveElem;
    use super::*;
    use crate::program::{Options, load_text};
    use nftvm_compiler::print::{ListOpts, nft};
    use nftvm_vm::interp::Slot;

    const RULESET: &str = "table ip t {
    set seen { type ipv4_addr . inet_service; flags dynamic,timeout; timeout 30s; counter; }
    map marks { type ipv4_addr : mark; flags dynamic; }
    set fixed { type ipv4_addr; elements = { 192.0.2.1 } }
    set two { type ipv4_addr; flags dynamic; elements = { 10.0.0.9 comment \"static\" } }
    chain c {
        type filter hook input priority filter; policy accept;
        add @seen { ip saddr . tcp dport }
        update @marks { ip saddr : 0x2a }
        ip saddr @fixed counter
        tcp dport 1 add @two { ip saddr counter }
        tcp dport 2 add @two { ip saddr quota 100 bytes }
    }
}
";

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn listings_are_named_as_nft_names_them() {
        let set = |map, family, table: &str, name: &str| Listing::Set {
            map,
            family,
            table: table.into(),
            name: name.into(),
        };
        let ruleset = words("ruleset -a");
        assert_eq!(Listing::parse(&ruleset), Some((Listing::Ruleset, &ruleset[1..])));
        let inet = words("set inet fw clients -s");
        assert_eq!(Listing::parse(&inet), Some((set(false, Family::Inet, "fw", "clients"), &inet[4..])));
        let ip = words("map t marks");
        assert_eq!(Listing::parse(&ip), Some((set(true, Family::Ip, "t", "marks"), &ip[3..])));
        for bad in ["sets", "set t", "set nofamily t s", ""] {
            assert_eq!(Listing::parse(&words(bad)), None, "{bad}");
        }
        let loaded = load_text("t.nft", RULESET, &Options::default()).unwrap();
        let rs = || loaded.ir().unwrap().0.clone();
        let mut one = rs();
        assert!(set(true, Family::Ip, "t", "marks").select(&mut one));
        let text = nft::ruleset(&one, &ListOpts::default_listing());
        assert!(text.starts_with("table ip t {\n\tmap marks {") && !text.contains("chain"), "{text}");
        assert!(!set(false, Family::Ip, "t", "marks").select(&mut rs()), "a map is not a set");
        assert!(!set(false, Family::Ip6, "t", "seen").select(&mut rs()), "no such table");
    }

    fn elem(
        key: &[u8],
        data: Option<&[u8]>,
        timeout_s: Option<u64>,
        left_ms: Option<u64>,
        slots: Vec<Slot>,
    ) -> LiveElem {
        LiveElem {
            key: key.to_vec(),
            data: data.map(<[u8]>::to_vec),
            timeout: timeout_s.map(|s| s * 1_000_000_000),
            expires_in: left_ms.map(|ms| ms * 1_000_000),
            slots,
            declared: false,
        }
    }

    fn counter(packets: u64, bytes: u64) -> Slot {
        Slot::Counter { packets, bytes }
    }

    /// Two workers' sets, listed: counters of an element both hold are added, the later
    /// expiry wins, each element lists its own timeout only where it is not the set's, and
    /// the declared set the packet path never writes stays as declared; each element of a set
    /// two dynsets write lists the statements of the one that added it; a declared element
    /// keeps its comment.
    #[test]
    fn workers_sets_are_merged_and_listed_as_nft_lists_them() {
        let loaded = load_text("t.nft", RULESET, &Options::default()).unwrap();
        let prog = loaded.program().program();
        let state = ProgramState::new(prog, 0);
        let idx = |name: &str| prog.sets.iter().position(|s| s.name == name).unwrap();
        let mut one = WorkerState::of(prog, &state, 0);
        let mut two = one.clone();
        assert!(one.sets[idx("fixed")].is_none(), "a set the packet path never writes is listed as declared");
        let k1 = [10, 0, 0, 1, 0, 22, 0, 0];
        let k2 = [10, 0, 0, 2, 0, 80, 0, 0];
        one.sets[idx("seen")] = Some(vec![
            elem(&k1, None, Some(30), Some(10_000), vec![counter(2, 120)]),
            elem(&k2, None, Some(10), Some(9_500), vec![counter(1, 60)]),
        ]);
        two.sets[idx("seen")] = Some(vec![elem(&k1, None, Some(30), Some(29_000), vec![counter(3, 180)])]);
        two.sets[idx("two")] = Some(vec![
            elem(&[10, 0, 0, 1], None, None, None, vec![counter(1, 40)]),
            elem(&[10, 0, 0, 2], None, None, None, vec![Slot::Quota { consumed: 140 }]),
        ]);
        two.sets[idx("marks")] =
            Some(vec![elem(&[10, 0, 0, 1], Some(&42u32.to_le_bytes()), None, None, vec![])]);
        let rs = ruleset(&loaded, &[one, two]).unwrap();
        let text = nft::ruleset(&rs, &ListOpts::default_listing());
        assert!(
            text.contains(
                "elements = { 10.0.0.1 . 22 counter packets 5 bytes 300 expires 29s,\n\t\t\t     10.0.0.2 . 80 counter packets 1 bytes 60 timeout 10s expires 9s500ms }"
            ),
            "{text}"
        );
        assert!(text.contains("elements = { 10.0.0.1 : 0x0000002a }"), "{text}");
        assert!(text.contains("elements = { 192.0.2.1 }"), "{text}");
        assert!(
            text.contains(
                "elements = { 10.0.0.1 counter packets 1 bytes 40,\n\t\t\t     10.0.0.2 quota 100 bytes used 100 bytes,\n\t\t\t     10.0.0.9 comment \"static\" }"
            ),
            "{text}"
        );
    }

    /// A set the workers share is listed as the copy a sharing worker reports — not added
    /// to the untouched copy of a worker that has not seen a packet yet (and so shares
    /// nothing), whose declared element the packet path deleted.
    #[test]
    fn a_shared_set_is_listed_once() {
        let loaded = load_text("t.nft", RULESET, &Options::default()).unwrap();
        let prog = loaded.program().program();
        let idx = |name: &str| prog.sets.iter().position(|s| s.name == name).unwrap();
        let mut sharing = WorkerState::of(prog, &ProgramState::new(prog, 0), 0);
        let waiting = sharing.clone();
        sharing.shared_sets = vec![false; prog.sets.len()];
        sharing.shared_sets[idx("two")] = true;
        sharing.sets[idx("two")] = Some(vec![elem(&[10, 0, 0, 1], None, None, None, vec![counter(4, 160)])]);
        let rs = ruleset(&loaded, &[waiting.clone(), sharing.clone(), sharing]).unwrap();
        let text = nft::ruleset(&rs, &ListOpts::default_listing());
        assert!(text.contains("elements = { 10.0.0.1 counter packets 4 bytes 160 }"), "{text}");
        let apart = ruleset(&loaded, &[waiting.clone(), waiting]).unwrap();
        let text = nft::ruleset(&apart, &ListOpts::default_listing());
        assert!(text.contains("elements = { 10.0.0.9 comment \"static\" }"), "{text}");
    }

    /// Counter statements and named counters, listed as the sum over the workers: the
    /// values the ruleset starts them from count once, not once per worker.
    #[test]
    fn workers_counters_add_up_with_the_initial_values_once() {
        let text = "table ip t {
    counter hits { packets 2 bytes 100 }
    chain c {
        type filter hook input priority filter; policy accept;
        counter packets 5 bytes 300 counter name \"hits\"
    }
}
";
        let loaded = load_text("t.nft", text, &Options::default()).unwrap();
        let prog = loaded.program().program();
        let worker = |add: u64| {
            let mut state = ProgramState::new(prog, 0);
            for slot in &mut state.slots {
                if let Slot::Counter { packets, bytes } = slot {
                    (*packets, *bytes) = (*packets + add, *bytes + 60 * add);
                }
            }
            WorkerState::of(prog, &state, 0)
        };
        let rs = ruleset(&loaded, &[worker(1), worker(3)]).unwrap();
        let listed = nft::ruleset(&rs, &ListOpts::default_listing());
        assert!(listed.contains("counter packets 9 bytes 540 counter name \"hits\""), "{listed}");
        assert!(listed.contains("counter hits {\n\t\tpackets 6 bytes 340\n\t}"), "{listed}");
    }
}
