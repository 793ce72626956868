//! Which functions run at each hook, in which order: the program's base chains and the
//! kernel's own netfilter users (defragmentation −400, conntrack −200, NAT −100 / 100,
//! conntrack confirmation at the very end), as `nf_hook_entries` would list them after
//! the ruleset was loaded.
//!
//! Facts this reproduces (checked against Linux 6.18 with the kernel oracle):
//! * An entry is inserted before the first existing one of the same or a higher priority,
//!   so among equal priorities the one registered **last** runs **first**. Base chains
//!   register in declaration order; conntrack registers when the first rule needing it is
//!   loaded (after its table's chains).
//! * Conntrack (and defragmentation with it) is enabled per family (`ip`, `ip6`; an `inet`
//!   table enables both) by rules that need it (`ct`, `nat`, `masquerade`, `redirect`,
//!   `connlimit`, ct objects), not by nat chains alone.
//! * nat chains do not run at their own priority: the first nat chain of a family registers
//!   the NAT hook functions at fixed priorities (destination NAT −100 in prerouting/output,
//!   source NAT 100 in postrouting/input), and these run the nat chains of their hook, in
//!   priority order, only for a connection's first packet.
//! * A device's ingress hook holds the netdev and inet chains bound to it (`hook ingress
//!   device "eth0"`), ordered the same way; it runs as the packet arrives, before the IP
//!   layer's prerouting (so before conntrack: `ct state` there finds no connection). Its
//!   egress hook (netdev chains) runs on each packet or fragment the device transmits,
//!   after postrouting, without an input device.

use nftvm_vm::expr::Expr;
use nftvm_vm::keys::{Family, Hook};
use nftvm_vm::object::ObjectKind;
use nftvm_vm::{ChainId, ChainKind, FlowtableId, Program};

use crate::nat::Manip;

/// Priority of IPv4/IPv6 defragmentation (`NF_IP_PRI_CONNTRACK_DEFRAG`).
pub const PRI_DEFRAG: i32 = -400;
/// Priority of the conntrack hook (`NF_IP_PRI_CONNTRACK`).
pub const PRI_CONNTRACK: i32 = -200;
/// Destination NAT (`NF_IP_PRI_NAT_DST`).
pub const PRI_NAT_DST: i32 = -100;
/// Source NAT (`NF_IP_PRI_NAT_SRC`).
pub const PRI_NAT_SRC: i32 = 100;
/// Conntrack confirmation (`NF_IP_PRI_CONNTRACK_CONFIRM`).
pub const PRI_CONFIRM: i32 = i32::MAX;

/// One function attached to a hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// A (non-nat) base chain of the program.
    Chain(ChainId),
    /// Reassembly of fragments (with conntrack).
    Defrag,
    /// Connection tracking (`nf_conntrack_in`).
    Conntrack,
    /// The NAT hook function: runs the hook's nat chains for new connections, then rewrites.
    Nat(Manip),
    /// Helper, sequence adjustment and confirmation (`nf_confirm`).
    Confirm,
}

/// The hooks the pipeline runs (index order of [`HookPlan`] tables).
pub const HOOKS: [Hook; 5] = [Hook::Prerouting, Hook::Input, Hook::Forward, Hook::Output, Hook::Postrouting];

fn hook_index(h: Hook) -> Option<usize> {
    HOOKS.iter().position(|x| *x == h)
}

fn family_index(f: Family) -> Option<usize> {
    match f {
        Family::Ip => Some(0),
        Family::Ip6 => Some(1),
        _ => None,
    }
}

/// Families a table of family `f` serves at the inet hooks.
pub(super) fn served(f: Family) -> &'static [Family] {
    match f {
        Family::Ip => &[Family::Ip],
        Family::Ip6 => &[Family::Ip6],
        Family::Inet => &[Family::Ip, Family::Ip6],
        _ => &[],
    }
}

/// The run order of every (family, hook), and what the program needs.
#[derive(Clone, Debug, Default)]
pub struct HookPlan {
    /// `[family][hook]` → entries in run order with their priorities.
    lists: [[Vec<(i32, Entry)>; 5]; 2],
    /// `[family][hook]` → nat chains in run order.
    nat_chains: [[Vec<ChainId>; 5]; 2],
    /// Conntrack (and defragmentation) is in use for the family.
    conntrack: [bool; 2],
    /// The program may change packet bytes (payload or exthdr writes): re-dissect after
    /// each chain.
    pub writes_packet: bool,
    /// The program has `log` statements (the log line needs a view of the headers).
    pub logs: bool,
    /// The device hooks' entries in run order: (hook, priority, entry, device) — ingress
    /// (netdev and inet chains and flowtables share a device's ingress hook, so one order
    /// covers them all) and egress (netdev).
    device_entries: Vec<(Hook, i32, DeviceEntry, String)>,
}

/// One entry of a device's hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceEntry {
    Chain(ChainId),
    /// A flowtable's fast path (ingress only).
    Flowtable(FlowtableId),
}

impl HookPlan {
    /// Builds the plan for a program.
    pub fn new(prog: &Program) -> HookPlan {
        let mut plan = HookPlan::default();
        // Registration sequence: (family index, hook index, priority, entry).
        let mut regs: Vec<(usize, usize, i32, Entry)> = Vec::new();
        let mut nat_registered = [false; 2];
        for (ti, table) in prog.tables.iter().enumerate() {
            plan.add_device_entries(prog, ti, table.family);
            let fams: Vec<usize> = served(table.family).iter().filter_map(|f| family_index(*f)).collect();
            if fams.is_empty() {
                continue;
            }
            let mut needs_ct = false;
            for (ci, chain) in prog.chains.iter().enumerate() {
                if chain.table.index() != ti {
                    continue;
                }
                let id = ChainId(ci as u32);
                for rule in &chain.rules {
                    for e in &rule.exprs {
                        needs_ct |= needs_conntrack(prog, e);
                        plan.writes_packet |= writes_packet(e);
                        plan.logs |= matches!(e, Expr::Log(_));
                    }
                }
                let Some(base) = &chain.base else { continue };
                let Some(h) = hook_index(base.hook) else { continue };
                for &f in &fams {
                    if base.kind == ChainKind::Nat {
                        insert_sorted(&mut plan.nat_chains[f][h], prog, id);
                        if !nat_registered[f] {
                            nat_registered[f] = true;
                            regs.push((f, 0, PRI_NAT_DST, Entry::Nat(Manip::Dst)));
                            regs.push((f, 3, PRI_NAT_DST, Entry::Nat(Manip::Dst)));
                            regs.push((f, 1, PRI_NAT_SRC, Entry::Nat(Manip::Src)));
                            regs.push((f, 4, PRI_NAT_SRC, Entry::Nat(Manip::Src)));
                        }
                    } else {
                        regs.push((f, h, base.priority, Entry::Chain(id)));
                    }
                }
            }
            // Objects that need conntrack (ct helper, timeout, expectation; connlimit).
            for o in &prog.objects {
                if o.table.index() == ti {
                    needs_ct |= matches!(
                        o.kind,
                        ObjectKind::CtHelper { .. } | ObjectKind::CtExpect(_) | ObjectKind::Connlimit(_)
                    ) || matches!(o.kind, ObjectKind::Other { type_number: 7, .. });
                }
            }
            if needs_ct {
                for &f in &fams {
                    if !plan.conntrack[f] {
                        plan.conntrack[f] = true;
                        regs.push((f, 0, PRI_DEFRAG, Entry::Defrag));
                        regs.push((f, 3, PRI_DEFRAG, Entry::Defrag));
                        regs.push((f, 0, PRI_CONNTRACK, Entry::Conntrack));
                        regs.push((f, 3, PRI_CONNTRACK, Entry::Conntrack));
                        regs.push((f, 4, PRI_CONFIRM, Entry::Confirm));
                        regs.push((f, 1, PRI_CONFIRM, Entry::Confirm));
                    }
                }
            }
        }
        for (f, h, prio, entry) in regs {
            let list = &mut plan.lists[f][h];
            let at = list.iter().position(|(p, _)| *p >= prio).unwrap_or(list.len());
            list.insert(at, (prio, entry));
        }
        plan
    }

    /// Registers table `ti`'s device chains — ingress (netdev and inet tables) and egress
    /// (netdev) — then its flowtables (ingress of each of their devices); a device's entries
    /// are ordered like any hook's: before the first of the same or a higher priority.
    fn add_device_entries(&mut self, prog: &Program, ti: usize, family: Family) {
        // Device chains exist in netdev and inet tables, flowtables in ip, ip6 and inet ones.
        let chains = matches!(family, Family::Netdev | Family::Inet);
        let flowtables = matches!(family, Family::Ip | Family::Ip6 | Family::Inet);
        let own_chains = prog.chains.iter().enumerate().filter(|(_, c)| chains && c.table.index() == ti);
        for (ci, chain) in own_chains {
            let Some(base) = chain.base.as_ref() else { continue };
            let device_hook =
                base.hook == Hook::Ingress || family == Family::Netdev && base.hook == Hook::Egress;
            let Some(device) = base.device.clone().filter(|_| device_hook) else { continue };
            if family == Family::Netdev {
                for e in chain.rules.iter().flat_map(|r| &r.exprs) {
                    self.writes_packet |= writes_packet(e);
                    self.logs |= matches!(e, Expr::Log(_));
                }
            }
            self.register_device_entry(
                base.hook,
                base.priority,
                DeviceEntry::Chain(ChainId(ci as u32)),
                device,
            );
        }
        let own_flowtables =
            prog.flowtables.iter().enumerate().filter(|(_, f)| flowtables && f.table.index() == ti);
        for (fi, ft) in own_flowtables {
            for device in &ft.devices {
                let entry = DeviceEntry::Flowtable(FlowtableId(fi as u32));
                self.register_device_entry(Hook::Ingress, ft.priority, entry, device.clone());
            }
        }
    }

    fn register_device_entry(&mut self, hook: Hook, priority: i32, entry: DeviceEntry, device: String) {
        let list = &self.device_entries;
        let at = list.iter().position(|(h, p, _, _)| *h == hook && *p >= priority).unwrap_or(list.len());
        self.device_entries.insert(at, (hook, priority, entry, device));
    }

    /// The chains of `hook` (ingress or egress) on device `name`, in run order.
    pub fn device_chains<'a>(&'a self, hook: Hook, name: &'a str) -> impl Iterator<Item = ChainId> + 'a {
        self.device_entries(hook, name).filter_map(|e| match e {
            DeviceEntry::Chain(c) => Some(c),
            DeviceEntry::Flowtable(_) => None,
        })
    }

    /// Every entry of `hook` on device `name` (chains and flowtables), in run order.
    pub fn device_entries<'a>(&'a self, hook: Hook, name: &'a str) -> impl Iterator<Item = DeviceEntry> + 'a {
        self.device_entries.iter().filter(move |(h, _, _, d)| *h == hook && d == name).map(|(_, _, e, _)| *e)
    }

    /// The entries of `hook` for packets of `family` (ip or ip6), in run order.
    pub fn entries(&self, family: Family, hook: Hook) -> &[(i32, Entry)] {
        match (family_index(family), hook_index(hook)) {
            (Some(f), Some(h)) => &self.lists[f][h],
            _ => &[],
        }
    }

    /// The nat chains of `hook` for `family`, in run order.
    pub fn nat_chains(&self, family: Family, hook: Hook) -> &[ChainId] {
        match (family_index(family), hook_index(hook)) {
            (Some(f), Some(h)) => &self.nat_chains[f][h],
            _ => &[],
        }
    }

    /// Whether conntrack runs for packets of `family`.
    pub fn conntrack(&self, family: Family) -> bool {
        family_index(family).is_some_and(|f| self.conntrack[f])
    }
}

/// Nat chains run among themselves in priority order (later registration first on ties).
fn insert_sorted(list: &mut Vec<ChainId>, prog: &Program, id: ChainId) {
    let prio = |c: ChainId| prog.chain(c).and_then(|c| c.base.as_ref()).map_or(0, |b| b.priority);
    let p = prio(id);
    let at = list.iter().position(|c| prio(*c) >= p).unwrap_or(list.len());
    list.insert(at, id);
}

/// Does an expression make the kernel enable conntrack (`nf_ct_netns_get` in its init)?
fn needs_conntrack(prog: &Program, e: &Expr) -> bool {
    e.enables_conntrack(prog)
}

/// Does an expression write packet bytes the packet is dissected for (its headers are
/// parsed again after the chain)?
fn writes_packet(e: &Expr) -> bool {
    use nftvm_vm::expr::{exthdr, payload};
    matches!(e, Expr::Payload(payload::Payload { op: payload::PayloadOp::Write { .. }, .. }))
        || matches!(e, Expr::Exthdr(x) if !matches!(x.action, exthdr::ExthdrAction::Load { .. }))
        || matches!(e, Expr::Target(t) if t.rewrites_addresses())
}

#[cfg(test)]
mod tests {
    use super::*;
    use nftvm_vm::text::assemble;

    fn plan(text: &str) -> (Program, HookPlan) {
        let p = assemble(text).unwrap();
        let plan = HookPlan::new(&p);
        (p, plan)
    }

    fn names(p: &Program, plan: &HookPlan, f: Family, h: Hook) -> Vec<String> {
        plan.entries(f, h)
            .iter()
            .map(|(_, e)| match e {
                Entry::Chain(c) => p.chain_name(*c).to_string(),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn ties_run_latest_registration_first_and_nat_is_fixed() {
        let (p, plan) = plan(
            "table ip t
chain ip t a type filter hook prerouting priority 0 policy accept
chain ip t b type filter hook prerouting priority 0 policy accept
chain ip t n type nat hook prerouting priority 0 policy accept
chain ip t r type filter hook prerouting priority -300 policy accept

ip t n
  [ ct load state => reg 1 ]
",
        );
        assert_eq!(
            names(&p, &plan, Family::Ip, Hook::Prerouting),
            ["Defrag", "r", "Conntrack", "Nat(Dst)", "b", "a"]
        );
        assert_eq!(names(&p, &plan, Family::Ip, Hook::Postrouting), ["Nat(Src)", "Confirm"]);
        assert!(plan.conntrack(Family::Ip) && !plan.conntrack(Family::Ip6));
        assert_eq!(plan.nat_chains(Family::Ip, Hook::Prerouting).len(), 1);
        assert!(names(&p, &plan, Family::Ip6, Hook::Prerouting).is_empty());
    }

    #[test]
    fn inet_serves_both_families_and_stateless_needs_no_conntrack() {
        let (p, plan) = plan(
            "table inet f
chain inet f input type filter hook input priority 0 policy drop
",
        );
        assert_eq!(names(&p, &plan, Family::Ip, Hook::Input), ["input"]);
        assert_eq!(names(&p, &plan, Family::Ip6, Hook::Input), ["input"]);
        assert!(!plan.conntrack(Family::Ip) && !plan.conntrack(Family::Ip6));
    }

    #[test]
    fn an_ipvs_match_turns_conntrack_on_for_its_family() {
        // As `ipvs_mt_check`'s `nf_ct_netns_get` does in the kernel.
        let (_, plan) = plan(
            "table ip6 f
chain ip6 f input type filter hook input priority 0 policy accept

ip6 f input
  [ match name ipvs rev 1 tests 0x01 invert 0x01 proto 0 addr - mask - port 0 method 0 portctl 0 ]
",
        );
        assert!(plan.conntrack(Family::Ip6) && !plan.conntrack(Family::Ip));
    }
}
