//! The whole-program pass: tables, chains, named sets and stateful objects first (so that
//! rules can refer to them by id), then every rule of every chain, in listing order.

use super::error::CodegenError;
use super::origin::{Origins, RuleOrigin};
use super::{Compiled, rule, set};
use crate::ir::{self, ChainType, Policy, Ruleset};
use nftvm_grammar::SourceMap;
use nftvm_vm::flowtable::Flowtable;
use nftvm_vm::keys::Family;
use nftvm_vm::object::{Object, ObjectKind};
use nftvm_vm::program::{BaseChain, ChainKind};
use nftvm_vm::{ChainId, ObjId, Program, SetId, TableId};
use std::collections::HashMap;

/// What codegen knows about one table while lowering it.
pub(crate) struct TableCx {
    pub id: TableId,
    pub family: Family,
    pub chains: HashMap<String, ChainId>,
    pub sets: HashMap<String, SetId>,
    /// (NFT_OBJECT_* type, name) → object.
    pub objects: HashMap<(u32, String), ObjId>,
}

/// The program being built.
pub(crate) struct Cx<'r> {
    pub ruleset: &'r Ruleset,
    pub prog: Program,
    pub origins: Origins,
    pub sources: Option<&'r SourceMap>,
    pub tables: Vec<TableCx>,
}

impl<'r> Cx<'r> {
    /// The IR table `t`.
    pub fn ir_table(&self, t: usize) -> Option<&'r ir::Table> {
        self.ruleset.tables.get(t)
    }

    pub fn family(&self, t: usize) -> Family {
        self.tables.get(t).map_or(Family::Ip, |tc| tc.family)
    }

    pub fn table_id(&self, t: usize) -> TableId {
        self.tables.get(t).map_or(TableId(0), |tc| tc.id)
    }

    pub fn chain_id(&self, t: usize, name: &str) -> Result<ChainId, String> {
        self.tables
            .get(t)
            .and_then(|tc| tc.chains.get(name))
            .copied()
            .ok_or_else(|| format!("jump to unknown chain `{name}`"))
    }

    pub fn set_id(&self, t: usize, name: &str) -> Result<SetId, String> {
        self.tables
            .get(t)
            .and_then(|tc| tc.sets.get(name))
            .copied()
            .ok_or_else(|| format!("unknown set `@{name}`"))
    }

    /// The IR declaration of a named set.
    pub fn set_decl(&self, t: usize, name: &str) -> Option<&'r ir::Set> {
        self.ir_table(t)?.set(name)
    }

    pub fn object_id(&self, t: usize, type_number: u32, name: &str) -> Result<ObjId, String> {
        let tc = self.tables.get(t).ok_or("no table")?;
        if let Some(id) = tc.objects.get(&(type_number, name.to_string())) {
            return Ok(*id);
        }
        // Object maps with a type the element does not name.
        tc.objects
            .iter()
            .find(|((_, n), _)| n == name)
            .map(|(_, id)| *id)
            .ok_or_else(|| format!("unknown object `{name}`"))
    }
}

/// Lowers a ruleset.
pub(crate) fn lower(ruleset: &Ruleset, sources: Option<&SourceMap>) -> Result<Compiled, CodegenError> {
    let mut cx =
        Cx { ruleset, prog: Program::new(), origins: Origins::default(), sources, tables: Vec::new() };
    for table in &ruleset.tables {
        let id = cx.prog.add_table(table.family, &table.name);
        let mut tc = TableCx {
            id,
            family: table.family,
            chains: HashMap::new(),
            sets: HashMap::new(),
            objects: HashMap::new(),
        };
        for chain in &table.chains {
            let base = chain.base.as_ref().map(base_chain);
            tc.chains.insert(chain.name.clone(), cx.prog.add_chain(id, &chain.name, base));
        }
        for ft in &table.flowtables {
            cx.prog.add_flowtable(Flowtable {
                name: ft.name.clone(),
                table: id,
                priority: ft.priority,
                devices: ft.devices.clone(),
                counter: ft.counter,
            });
        }
        for obj in &table.objects {
            let o = Object { name: obj.name.clone(), table: id, kind: object_kind(&obj.kind) };
            let number = o.kind.type_number();
            tc.objects.insert((number, obj.name.clone()), cx.prog.add_object(o));
        }
        cx.tables.push(tc);
    }
    for (t, table) in ruleset.tables.iter().enumerate() {
        for s in &table.sets {
            let place = format!("{} {} set {}", table.family, table.name, s.name);
            let vm_set = set::named(&cx, t, s).map_err(|message| CodegenError::Lower {
                place,
                span: s.span,
                message,
            })?;
            let id = cx.prog.add_set(vm_set);
            if let Some(tc) = cx.tables.get_mut(t) {
                tc.sets.insert(s.name.clone(), id);
            }
        }
    }
    for (t, table) in ruleset.tables.iter().enumerate() {
        for chain in &table.chains {
            let chain_id = cx.chain_id(t, &chain.name).map_err(|message| CodegenError::Lower {
                place: format!("{} {}", table.family, table.name),
                span: chain.span,
                message,
            })?;
            for (index, r) in chain.rules.iter().enumerate() {
                let origin = RuleOrigin {
                    family: table.family,
                    table: table.name.clone(),
                    chain: chain.name.clone(),
                    index,
                    handle: r.handle,
                    span: r.span,
                };
                let place = format!("{} {} {} rule {}", table.family, table.name, chain.name, index + 1);
                let mut vm_rule = rule::lower(&mut cx, t, r)
                    .map_err(|(span, message)| CodegenError::Lower { place, span, message })?;
                vm_rule.source = cx.origins.push(origin);
                vm_rule.comment = cx.sources.and_then(|s| rule_text(s, r));
                cx.prog.add_rule(chain_id, vm_rule);
            }
        }
    }
    Ok(Compiled { program: cx.prog, origins: cx.origins })
}

/// The rule's source text (one line, as `.payload` comments show it).
fn rule_text(sources: &SourceMap, r: &ir::Rule) -> Option<String> {
    if r.span == nftvm_grammar::Span::default() {
        return None;
    }
    let (_, file) = sources.files().find(|(f, _)| *f == r.span.file)?;
    let text = file.text.get(r.span.start as usize..r.span.end as usize)?;
    Some(text.split_whitespace().collect::<Vec<_>>().join(" "))
}

fn base_chain(b: &ir::BaseChain) -> BaseChain {
    BaseChain {
        kind: match b.chain_type {
            ChainType::Filter => ChainKind::Filter,
            ChainType::Nat => ChainKind::Nat,
            ChainType::Route => ChainKind::Route,
        },
        hook: b.hook,
        priority: b.priority,
        policy: match b.policy {
            Policy::Accept => nftvm_vm::Policy::Accept,
            Policy::Drop => nftvm_vm::Policy::Drop,
        },
        device: b.devices.first().cloned(),
    }
}

fn object_kind(k: &ir::ObjectKind) -> ObjectKind {
    use nftvm_vm::expr::{counter, quota, synproxy};
    match k {
        ir::ObjectKind::Counter(c) => {
            ObjectKind::Counter(counter::Counter { packets: c.packets, bytes: c.bytes, slot: 0 })
        }
        ir::ObjectKind::Quota(q) => ObjectKind::Quota(quota::Quota {
            bytes: q.bytes,
            consumed: q.used,
            flags: u32::from(q.over),
            slot: 0,
        }),
        ir::ObjectKind::Limit(l) => ObjectKind::Limit(super::stmt::limit(l)),
        ir::ObjectKind::CtHelper(h) => ObjectKind::CtHelper {
            helper: h.helper.clone(),
            l3proto: u16::from(h.l3proto.number()),
            l4proto: h.l4proto,
        },
        ir::ObjectKind::Synproxy(s) => {
            let (mss, wscale, flags) = super::stmt::synproxy_params(s);
            ObjectKind::Synproxy(synproxy::Synproxy { mss, wscale, flags })
        }
        ir::ObjectKind::CtTimeout(t) => ObjectKind::Other {
            type_number: 7,
            args: format!(
                "l3proto {} l4proto {} {}",
                t.l3proto,
                t.l4proto,
                t.timeouts.iter().map(|(s, v)| format!("{s}={v}")).collect::<Vec<_>>().join(",")
            ),
        },
        ir::ObjectKind::CtExpect(e) => ObjectKind::CtExpect(nftvm_vm::object::CtExpect {
            l3proto: u16::from(e.l3proto.number()),
            l4proto: e.l4proto,
            dport: e.dport,
            timeout_ms: e.timeout,
            size: e.size,
        }),
        ir::ObjectKind::Secmark(ctx) => ObjectKind::Other { type_number: 8, args: ctx.clone() },
        ir::ObjectKind::Tunnel(lines) => ObjectKind::Other { type_number: 6, args: lines.join("; ") },
    }
}
