//! What the program states of several workers share.
//!
//! The kernel has one of each piece of a ruleset's state, whatever CPU a packet is handled
//! on: one token bucket per `limit`, one byte count per `quota`, one counter per `numgen
//! inc` (a rule's or a named object's), and one copy of each set — an address a rule adds
//! to `@blocklist` is seen by the next packet, whichever CPU takes it. nftvm's live workers
//! each run the program with a state of their own (counters are added up when listed, so
//! they may stay apart); a limit of its own per worker would let each worker's share
//! through (`limit rate 10/second` on two workers: twenty packets a second), and a set of
//! its own would block an address only on the flows of the worker that added it. States
//! given the same [`SharedState`] ([`ProgramState::share`]) keep those meters, and the sets
//! the packet path writes, in one place instead, each behind its own lock, taken only by a
//! rule that uses it. A set whose elements count connections (`add @s { ip saddr ct count
//! over 3 }`) is shared too: the element's expressions run inside the set's lock and ask
//! the runtime to count (its connection counts have a lock of their own, which takes no
//! other), and the runtime adds up what each worker's conntrack table holds.
//!
//! [`ProgramState::share`]: super::ProgramState::share

use super::Slot;
use crate::program::Program;
use crate::set::SetBackend;
use std::sync::{Mutex, OnceLock};

/// The state of one program shared by the states that use it (see the module
/// documentation). Empty until a state is attached; the first one gives the starting values.
#[derive(Debug, Default)]
pub struct SharedState {
    /// Per state slot: the shared slot of a meter, `None` for any other kind.
    meters: OnceLock<Vec<Option<Mutex<Slot>>>>,
    /// Per set: the shared backend of a set the packet path writes (a dynset's target),
    /// `None` for the others.
    sets: OnceLock<Vec<Option<Mutex<SetBackend>>>>,
}

impl SharedState {
    pub fn new() -> SharedState {
        SharedState::default()
    }

    /// Makes the shared meters and sets of `prog` from `slots` and `sets` (those of the
    /// first state attached) unless they are made already.
    pub(super) fn attach(&self, prog: &Program, slots: &[Slot], sets: &[SetBackend]) {
        self.meters
            .get_or_init(|| slots.iter().map(|s| is_meter(s).then(|| Mutex::new(s.clone()))).collect());
        self.sets.get_or_init(|| {
            sets.iter()
                .zip(prog.dynset_targets().into_iter().chain(std::iter::repeat(false)))
                .map(|(b, s)| s.then(|| Mutex::new(b.clone())))
                .collect()
        });
    }

    /// The shared slot `i`, when it is a meter's.
    pub(super) fn meter(&self, i: usize) -> Option<&Mutex<Slot>> {
        self.meters.get()?.get(i)?.as_ref()
    }

    /// The shared backend of set `i`, when it is shared.
    pub(super) fn set(&self, i: usize) -> Option<&Mutex<SetBackend>> {
        self.sets.get()?.get(i)?.as_ref()
    }
}

/// Is this the slot of a meter the kernel keeps once for all CPUs?
fn is_meter(s: &Slot) -> bool {
    matches!(s, Slot::Limit { .. } | Slot::Quota { .. } | Slot::Numgen { .. })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interp::{NullEnv, PacketCtx, ProgramState, RunOptions, RunResult};
    use crate::keys::Hook;
    use crate::verdict::Verdict;
    use crate::{ChainId, Engine, Executable, text, verify};
    use std::sync::Arc;

    /// A rule per meter: TCP over a limit of one packet a minute dropped, UDP past a quota
    /// of 100 bytes dropped, ICMP under a named limit object of one packet a minute
    /// accepted; any other protocol accepted where `numgen inc mod 5` gives 3.
    const PROGRAM: &str = "\
table ip t
chain ip t c type filter hook input priority 0 policy accept
object ip t lim limit rate 1/minute burst 1 type packets flags 0x0

ip t c
  [ meta load l4proto => reg 1 ]
  [ cmp eq reg 1 0x06 ]
  [ limit rate 1/minute burst 1 type packets flags 0x1 ]
  [ immediate reg 0 drop ]

ip t c
  [ meta load l4proto => reg 1 ]
  [ cmp eq reg 1 0x06 ]
  [ immediate reg 0 accept ]

ip t c
  [ meta load l4proto => reg 1 ]
  [ cmp eq reg 1 0x11 ]
  [ quota bytes 100 consumed 0 flags 1 ]
  [ immediate reg 0 drop ]

ip t c
  [ meta load l4proto => reg 1 ]
  [ cmp eq reg 1 0x11 ]
  [ immediate reg 0 accept ]

ip t c
  [ meta load l4proto => reg 1 ]
  [ cmp eq reg 1 0x01 ]
  [ objref type 4 name lim ]
  [ immediate reg 0 accept ]

ip t c
  [ meta load l4proto => reg 1 ]
  [ cmp eq reg 1 0x01 ]
  [ immediate reg 0 drop ]

ip t c
  [ numgen reg 1 = inc mod 5 ]
  [ cmp eq reg 1 0x03 ]
  [ immediate reg 0 accept ]

ip t c
  [ immediate reg 0 drop ]
";

    /// An IPv4 packet of protocol `proto` with 40 bytes in all.
    fn packet(proto: u8) -> Vec<u8> {
        let mut p = vec![0u8; 40];
        p[0] = 0x45;
        p[3] = 40;
        p[8] = 64;
        p[9] = proto;
        p[12..16].copy_from_slice(&[10, 0, 0, 1]);
        p[16..20].copy_from_slice(&[10, 0, 0, 2]);
        p
    }

    /// The verdicts of `protos` sent in turn to `workers` states (packet `i` to worker
    /// `i % workers`), all sharing one [`SharedState`] when `shared`.
    fn verdicts(engine: Engine, workers: usize, shared: bool, protos: &[u8]) -> Vec<Verdict> {
        run(PROGRAM, engine, workers, shared, protos)
    }

    /// [`verdicts`] for the program `source`.
    fn run(source: &str, engine: Engine, workers: usize, shared: bool, protos: &[u8]) -> Vec<Verdict> {
        let prog = Arc::new(verify(text::assemble(source).expect("assembles")).expect("verifies"));
        let exe = Executable::new(prog, engine).expect("compiles");
        let one = Arc::new(SharedState::new());
        let mut states: Vec<ProgramState> = (0..workers).map(|_| exe.new_state(0)).collect();
        if shared {
            states.iter_mut().for_each(|s| s.share(exe.program().program(), Arc::clone(&one)));
        }
        let mut out = RunResult::default();
        let mut got = Vec::new();
        for (i, &proto) in protos.iter().enumerate() {
            let mut data = packet(proto);
            let mut pkt = PacketCtx::from_ip(&mut data, Hook::Input);
            let state = &mut states[i % workers];
            exe.run_chain_into(state, ChainId(0), &mut pkt, &mut NullEnv, RunOptions::VERDICT, &mut out);
            got.push(out.verdict);
        }
        got
    }

    #[test]
    fn workers_sharing_meters_meter_as_one() {
        use Verdict::{Accept, Drop};
        for engine in Engine::ALL {
            // One token for TCP, then none: the second worker's first TCP packet is over.
            assert_eq!(verdicts(engine, 2, true, &[6, 6, 6]), [Accept, Drop, Drop], "{engine:?}");
            assert_eq!(verdicts(engine, 2, false, &[6, 6, 6]), [Accept, Accept, Drop], "{engine:?}");
            // 40 bytes a packet: the third UDP packet goes past 100 bytes, wherever it runs.
            assert_eq!(verdicts(engine, 3, true, &[17, 17, 17]), [Accept, Accept, Drop], "{engine:?}");
            assert_eq!(verdicts(engine, 3, false, &[17, 17, 17]), [Accept, Accept, Accept], "{engine:?}");
            // The named limit object: one ICMP packet a minute for all workers.
            assert_eq!(verdicts(engine, 2, true, &[1, 1]), [Accept, Drop], "{engine:?}");
            assert_eq!(verdicts(engine, 2, false, &[1, 1]), [Accept, Accept], "{engine:?}");
            // `numgen inc mod 5` counts 0, 1, 2, 3 … over all workers: the fourth packet is 3.
            let counted = verdicts(engine, 2, true, &[47; 6]);
            assert_eq!(counted, [Drop, Drop, Drop, Accept, Drop, Drop], "{engine:?}");
            let apart = verdicts(engine, 2, false, &[47; 8]);
            assert_eq!(apart, [Drop, Drop, Drop, Drop, Drop, Drop, Accept, Accept], "{engine:?}");
        }
    }

    /// UDP adds its source to `@blocked` (and is dropped); a source in `@blocked` is
    /// dropped; `@conns` (its elements counting connections) is written and shared too.
    const BLOCKLIST: &str = "\
table ip t
chain ip t c type filter hook input priority 0 policy accept
set ip t blocked flags 0x20 key 4n size 16
set ip t conns flags 0x20 key 4n size 16
set ip t fixed flags 0x0 key 4n

ip t c
  [ payload load 4b @ network header + 12 => reg 1 ]
  [ lookup reg 1 set blocked ]
  [ immediate reg 0 drop ]

ip t c
  [ meta load l4proto => reg 1 ]
  [ cmp eq reg 1 0x11 ]
  [ payload load 4b @ network header + 12 => reg 1 ]
  [ dynset add reg_key 1 set blocked ]
  [ immediate reg 0 drop ]

ip t c
  [ meta load l4proto => reg 1 ]
  [ cmp eq reg 1 0x2f ]
  [ payload load 4b @ network header + 12 => reg 1 ]
  [ dynset add reg_key 1 set conns expr [ connlimit count 2 flags 1 ] ]
  [ lookup reg 1 set fixed ]
";

    #[test]
    fn workers_sharing_a_set_see_what_another_added() {
        use Verdict::{Accept, Drop};
        for engine in Engine::ALL {
            // UDP from 10.0.0.1 on the first worker, then TCP from it on the second.
            assert_eq!(run(BLOCKLIST, engine, 2, true, &[17, 6]), [Drop, Drop], "{engine:?}");
            assert_eq!(run(BLOCKLIST, engine, 2, false, &[17, 6]), [Drop, Accept], "{engine:?}");
        }
        let prog = text::assemble(BLOCKLIST).expect("assembles");
        let shared = Arc::new(SharedState::new());
        ProgramState::new(&prog, 0).share(&prog, Arc::clone(&shared));
        assert_eq!(
            (0..3).map(|i| shared.set(i).is_some()).collect::<Vec<_>>(),
            [true, true, false],
            "written, written (counting connections), never written"
        );
    }

    #[test]
    fn the_first_state_attached_gives_the_starting_values() {
        let shared = SharedState::new();
        assert!(shared.meter(0).is_none(), "nothing before a state is attached");
        let first = [Slot::Counter { packets: 1, bytes: 2 }, Slot::Quota { consumed: 7 }];
        let prog = Program::new();
        shared.attach(&prog, &first, &[]);
        shared.attach(&prog, &[Slot::Counter { packets: 0, bytes: 0 }, Slot::Quota { consumed: 0 }], &[]);
        assert!(shared.meter(0).is_none(), "counters are not meters");
        let quota = shared.meter(1).expect("a quota is a meter").lock().expect("not poisoned").clone();
        assert_eq!(quota, Slot::Quota { consumed: 7 });
        assert!(shared.meter(2).is_none());
        assert!(shared.set(0).is_none());
    }
}
