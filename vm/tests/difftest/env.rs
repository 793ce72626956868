//! A deterministic environment: per packet, a few metadata and conntrack answers, the verdict
//! NAT requests return (including jumps and gotos, to drive run-time verdicts), a random
//! sequence, and a log of every request in call order.

use super::Rng;
use nftvm_vm::interp::{Env, FibQuery, IcmpErrorRequest, LogRequest, NatRequest, RejectRequest};
use nftvm_vm::keys::{CtDir, CtKey, MetaKey};
use nftvm_vm::{ChainId, Verdict};

#[derive(Clone, Debug)]
pub struct EnvSpec {
    pub mark: Option<u32>,
    pub iifname: Option<[u8; 16]>,
    pub ct_state: u32,
    pub ct_mark: Option<u32>,
    pub nat_verdict: Verdict,
    pub fib: Option<u32>,
    pub random_seed: u32,
    /// Nanoseconds the packet clock advances before this packet.
    pub clock_step: u64,
}

impl EnvSpec {
    pub fn random(r: &mut Rng, chains: u32) -> EnvSpec {
        let last = ChainId(chains.saturating_sub(1));
        let nat_verdicts = [
            Verdict::Accept,
            Verdict::Accept,
            Verdict::Drop,
            Verdict::Continue,
            Verdict::Break,
            Verdict::Return,
            Verdict::Stolen,
            Verdict::Queue { num: 7, bypass: true },
            // Jumps may loop back: the jump stack overflows and drops, in both engines.
            Verdict::Jump(ChainId(r.below(chains as usize) as u32)),
            Verdict::Jump(ChainId(99)),
            // Gotos only to the last chain, which has no NAT (a goto loop never ends).
            Verdict::Goto(last),
            Verdict::Goto(ChainId(99)),
        ];
        let mut name = [0u8; 16];
        name[..4].copy_from_slice(*r.pick(&[b"eth0", b"eth1", b"tun0"]));
        EnvSpec {
            mark: r.chance(70).then(|| *r.pick(&[0u32, 1, 2, 0x1234, 0xffff_ffff])),
            iifname: r.chance(70).then_some(name),
            ct_state: *r.pick(&[1u32, 2, 4, 8, 64]),
            ct_mark: r.chance(50).then(|| *r.pick(&[0u32, 1, 7])),
            nat_verdict: *r.pick(&nat_verdicts),
            fib: r.chance(50).then(|| *r.pick(&[0u32, 1, 2])),
            random_seed: r.next_u64() as u32,
            clock_step: *r.pick(&[0u64, 1_000, 1_000_000, 400_000_000, 2_000_000_000]),
        }
    }
}

pub struct FuzzEnv {
    spec: EnvSpec,
    now: u64,
    rnd: u32,
    pub effects: Vec<String>,
}

impl FuzzEnv {
    pub fn new(spec: EnvSpec, now: u64) -> FuzzEnv {
        let rnd = spec.random_seed;
        FuzzEnv { spec, now, rnd, effects: Vec::new() }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn put_u32(out: &mut [u8], v: u32) -> bool {
    if out.len() != 4 {
        return false;
    }
    out.copy_from_slice(&v.to_le_bytes());
    true
}

impl Env for FuzzEnv {
    fn now_ns(&self) -> u64 {
        self.now
    }
    fn random_u32(&mut self) -> u32 {
        self.rnd = self.rnd.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        self.effects.push("random".into());
        self.rnd
    }
    fn meta_get(&mut self, key: MetaKey, out: &mut [u8]) -> bool {
        self.effects.push(format!("meta get {key}"));
        match key {
            MetaKey::Mark => self.spec.mark.is_some_and(|m| put_u32(out, m)),
            MetaKey::IifName if out.len() == 16 => match self.spec.iifname {
                Some(n) => {
                    out.copy_from_slice(&n);
                    true
                }
                None => false,
            },
            MetaKey::L4proto if out.len() == 1 => {
                out[0] = 6;
                true
            }
            _ => false,
        }
    }
    fn meta_set(&mut self, key: MetaKey, value: &[u8]) {
        nftvm_testkit::log_effect(&mut self.effects, format!("meta set {key} {}", hex(value)));
    }
    fn ct_get(&mut self, key: CtKey, dir: Option<CtDir>, out: &mut [u8]) -> bool {
        self.effects.push(format!("ct get {key} {dir:?}"));
        match key {
            CtKey::State => put_u32(out, self.spec.ct_state),
            CtKey::Mark => self.spec.ct_mark.is_some_and(|m| put_u32(out, m)),
            _ => false,
        }
    }
    fn ct_set(&mut self, key: CtKey, dir: Option<CtDir>, value: &[u8]) {
        self.effects.push(format!("ct set {key} {dir:?} {}", hex(value)));
    }
    fn notrack(&mut self) {
        self.effects.push("notrack".into());
    }
    fn fib(&mut self, q: FibQuery, out: &mut [u8]) -> bool {
        self.effects.push(format!("fib {q:?}"));
        self.spec.fib.is_some_and(|v| put_u32(out, v))
    }
    fn nat(&mut self, r: &NatRequest<'_>) -> Verdict {
        self.effects.push(format!("nat {r:?}"));
        self.spec.nat_verdict
    }
    fn reject(&mut self, r: RejectRequest) {
        self.effects.push(format!("reject {r:?}"));
    }

    fn icmp_error(&mut self, r: IcmpErrorRequest) {
        self.effects.push(format!("icmp error {r:?}"));
    }
    fn object(&mut self, obj: &nftvm_vm::object::Object) -> Verdict {
        self.effects.push(format!("object {} {}", obj.kind.type_number(), obj.name));
        Verdict::Continue
    }
    fn log(&mut self, r: &LogRequest<'_>) {
        self.effects.push(format!("log {r:?}"));
    }
}
