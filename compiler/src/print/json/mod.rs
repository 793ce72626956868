//! `nft -j list ruleset`: the ruleset in libnftables' JSON schema.
//!
//! ```text
//! {"nftables": [{"metainfo": {"version", "release_name", "json_schema_version"}},
//!               {"table": {…}}, {"chain": {…}}…, objects…, {"set"|"map"|"meter": {…}}…,
//!               {"flowtable": {…}}…, {"rule": {"family", "table", "chain", "handle", "expr": […]}}…]}
//! ```
//!
//! Per table, in the order current nft prints it: the table, its chains, its stateful
//! objects, its named sets, its flowtables, then the rules of every chain. Keys keep nft's
//! order ([`value::Json`] is an insertion-ordered tree). The printer walks the same IR as
//! the text printer and shares its decisions: which statements are listed
//! ([`crate::ir::Rule::visible`]), element order and interval decomposition, canonical
//! prefixes, NAT family visibility.

mod expr;
mod stmt;
pub mod value;

use self::expr::Ctx;
use super::ListOpts;
use crate::ir::{Chain, Flowtable, Object, ObjectKind, Rule, Ruleset, Set, SetData, SetKind, Table};
pub use value::Json;

/// The nft release whose JSON output this printer follows.
pub const NFT_VERSION: &str = "1.1.6";
/// Its release name.
pub const NFT_RELEASE_NAME: &str = "Commodore Bullmoose #7";
/// libnftables' `JSON_SCHEMA_VERSION`.
pub const JSON_SCHEMA_VERSION: i128 = 1;

/// The whole ruleset as one line of JSON, newline-terminated (what `nft -j list ruleset`
/// prints).
pub fn ruleset(rs: &Ruleset, opts: &ListOpts) -> String {
    let mut s = ruleset_value(rs, opts).to_text();
    s.push('\n');
    s
}

/// The whole ruleset, indented.
pub fn ruleset_pretty(rs: &Ruleset, opts: &ListOpts) -> String {
    let mut s = ruleset_value(rs, opts).to_pretty();
    s.push('\n');
    s
}

/// The `{"nftables": […]}` tree.
pub fn ruleset_value(rs: &Ruleset, opts: &ListOpts) -> Json {
    let mut items = vec![metainfo()];
    for t in &rs.tables {
        items.extend(table_items(t, opts));
    }
    Json::single("nftables", Json::Array(items))
}

/// `{"metainfo": {…}}`.
pub fn metainfo() -> Json {
    Json::single(
        "metainfo",
        Json::object([
            ("version", Json::str(NFT_VERSION)),
            ("release_name", Json::str(NFT_RELEASE_NAME)),
            ("json_schema_version", Json::Int(JSON_SCHEMA_VERSION)),
        ]),
    )
}

/// A rule's `expr` array (its visible statements).
pub fn rule_exprs(table: &Table, r: &Rule, opts: &ListOpts) -> Json {
    let c = Ctx { opts: *opts, table: Some(table) };
    Json::Array(r.visible().map(|s| stmt::stmt(&c, s)).collect())
}

/// Everything one table lists: the table, chains, objects, sets, flowtables, rules.
pub fn table_items(t: &Table, opts: &ListOpts) -> Vec<Json> {
    let mut out = vec![table(t)];
    // Chain bindings (`jump { … }`) are listed inside the rule that jumps to them.
    let chains = || t.chains.iter().filter(|c| !c.binding);
    out.extend(chains().map(|c| chain(t, c)));
    out.extend(t.objects.iter().map(|o| object(t, o)));
    out.extend(t.sets.iter().map(|s| set(t, s, opts)));
    out.extend(t.flowtables.iter().map(|f| flowtable(t, f)));
    for c in chains() {
        out.extend(c.rules.iter().map(|r| rule(t, c, r, opts)));
    }
    out
}

fn head(t: &Table) -> [(&'static str, Json); 2] {
    [("family", Json::str(t.family.name())), ("table", Json::str(t.name.clone()))]
}

fn table(t: &Table) -> Json {
    let mut o = Json::object([
        ("family", Json::str(t.family.name())),
        ("name", Json::str(t.name.clone())),
        ("handle", Json::int(t.handle)),
    ]);
    o.push_nonempty("flags", t.flags.words().into_iter().map(Json::str).collect());
    if let Some(c) = &t.comment {
        o.push("comment", Json::str(c.clone()));
    }
    Json::single("table", o)
}

/// One name, or an array of several (`"dev"` of chains and flowtables).
fn devices(devs: &[String]) -> Option<Json> {
    match devs {
        [] => None,
        [one] => Some(Json::str(one.clone())),
        many => Some(Json::Array(many.iter().map(|d| Json::str(d.clone())).collect())),
    }
}

fn chain(t: &Table, c: &Chain) -> Json {
    let [fam, tab] = head(t);
    let mut o =
        Json::object([fam, tab, ("name", Json::str(c.name.clone())), ("handle", Json::int(c.handle))]);
    if let Some(cm) = &c.comment {
        o.push("comment", Json::str(cm.clone()));
    }
    if let Some(b) = &c.base {
        if let Some(d) = devices(&b.devices) {
            o.push("dev", d);
        }
        o.push("type", Json::str(b.chain_type.name()));
        o.push("hook", Json::str(b.hook.name()));
        o.push("prio", Json::int(b.priority));
        o.push("policy", Json::str(b.policy.name()));
    }
    Json::single("chain", o)
}

fn rule(t: &Table, c: &Chain, r: &Rule, opts: &ListOpts) -> Json {
    let [fam, tab] = head(t);
    let mut o =
        Json::object([fam, tab, ("chain", Json::str(c.name.clone())), ("handle", Json::int(r.handle))]);
    if let Some(cm) = &r.comment {
        o.push("comment", Json::str(cm.clone()));
    }
    match rule_exprs(t, r, opts) {
        Json::Array(items) if items.is_empty() => {}
        exprs => o.push("expr", exprs),
    }
    Json::single("rule", o)
}

/// A set's key or data types: one name, or an array for concatenations.
fn type_names(fields: &[crate::ir::KeyField]) -> Json {
    match fields {
        [one] => Json::str(one.ty.name()),
        many => Json::Array(many.iter().map(|f| Json::str(f.ty.name())).collect()),
    }
}

fn set(t: &Table, s: &Set, opts: &ListOpts) -> Json {
    let c = Ctx { opts: *opts, table: Some(t) };
    let kind = match s.kind {
        SetKind::Meter => "meter",
        _ if s.is_map() => "map",
        _ => "set",
    };
    let key = if s.key_typeof && s.key.iter().all(|k| k.expr.is_some()) {
        let exprs: Vec<Json> =
            s.key.iter().filter_map(|k| k.expr.as_ref()).map(|e| c.load(e, false)).collect();
        let inner = match <[Json; 1]>::try_from(exprs) {
            Ok([one]) => one,
            Err(many) => Json::single("concat", Json::Array(many)),
        };
        Json::single("typeof", inner)
    } else {
        type_names(&s.key)
    };
    let [fam, _] = head(t);
    let mut o = Json::object([
        fam,
        ("name", Json::str(s.name.clone())),
        ("table", Json::str(t.name.clone())),
        ("type", key),
        ("handle", Json::int(s.handle)),
    ]);
    if let Some(cm) = &s.comment {
        o.push("comment", Json::str(cm.clone()));
    }
    match &s.data {
        Some(SetData::Value { fields, .. }) => o.push("map", type_names(fields)),
        Some(SetData::Object(ty)) => o.push("map", Json::str(ty.name())),
        None => {}
    }
    if !s.flags.constant {
        if let Some(p) = s.policy
            && p != crate::ir::SetPolicy::Performance
        {
            o.push("policy", Json::str(p.name()));
        }
        if let Some(sz) = s.size {
            o.push("size", Json::int(sz));
        }
    }
    let mut flags = Vec::new();
    if s.flags.constant {
        flags.push(Json::str("constant"));
    }
    if s.flags.interval {
        flags.push(Json::str("interval"));
    }
    if s.flags.timeout || s.timeout.is_some() {
        flags.push(Json::str("timeout"));
    }
    if s.flags.dynamic {
        flags.push(Json::str("dynamic"));
    }
    o.push_nonempty("flags", flags);
    if let Some(tm) = s.timeout {
        o.push("timeout", Json::int(tm / 1000));
    }
    if let Some(g) = s.gc_interval {
        o.push("gc-interval", Json::int(g / 1000));
    }
    if s.auto_merge {
        o.push("auto-merge", Json::Bool(true));
    }
    if !s.elems.is_empty() {
        let interval_data =
            matches!(s.data, Some(SetData::Value { interval: true, ref fields }) if fields.len() == 1);
        o.push("elem", Json::Array(c.set_items(&s.elems, s.flags.interval, s.auto_merge, interval_data)));
    }
    if !s.stmts.is_empty() {
        let sc = Ctx { opts: ListOpts { stateless: true, ..*opts }, table: Some(t) };
        o.push("stmt", Json::Array(s.stmts.iter().map(|x| stmt::stmt(&sc, x)).collect()));
    }
    Json::single(kind, o)
}

fn proto_json(n: u8) -> Json {
    match crate::types::protocol_name(n) {
        Some(name) => Json::str(name),
        None => Json::int(n),
    }
}

fn object(t: &Table, ob: &Object) -> Json {
    let [fam, _] = head(t);
    let mut o = Json::object([
        fam,
        ("name", Json::str(ob.name.clone())),
        ("table", Json::str(t.name.clone())),
        ("handle", Json::int(ob.handle)),
    ]);
    if let Some(c) = &ob.comment {
        o.push("comment", Json::str(c.clone()));
    }
    match &ob.kind {
        ObjectKind::Counter(c) => {
            o.push("packets", Json::int(c.packets));
            o.push("bytes", Json::int(c.bytes));
        }
        ObjectKind::Quota(q) => {
            o.push("bytes", Json::int(q.bytes));
            o.push("used", Json::int(q.used));
            o.push("inv", Json::Bool(q.over));
        }
        ObjectKind::Secmark(ctx) => o.push("context", Json::str(ctx.clone())),
        ObjectKind::CtHelper(h) => {
            o.push("type", Json::str(h.helper.clone()));
            o.push("protocol", proto_json(h.l4proto));
            o.push("l3proto", Json::str(h.l3proto.name()));
        }
        ObjectKind::CtTimeout(ct) => {
            o.push("protocol", proto_json(ct.l4proto));
            o.push("l3proto", Json::str(ct.l3proto.name()));
            let defaults = crate::ir::object::default_timeouts(ct.l4proto);
            let mut policy = Json::object::<&str>([]);
            for (name, v) in &ct.timeouts {
                if defaults.iter().find(|(d, _)| d == name).is_none_or(|(_, dv)| dv != v) {
                    policy.push(*name, Json::int(*v));
                }
            }
            o.push("policy", if policy.is_empty_object() { Json::Null } else { policy });
        }
        ObjectKind::CtExpect(e) => {
            o.push("protocol", proto_json(e.l4proto));
            o.push("dport", Json::int(e.dport));
            o.push("timeout", Json::int(e.timeout));
            o.push("size", Json::int(e.size));
            o.push("l3proto", Json::str(e.l3proto.name()));
        }
        ObjectKind::Limit(l) => {
            if let Json::Object(pairs) = stmt::limit(l, false) {
                for (k, v) in pairs {
                    o.push(k, v);
                }
            }
        }
        ObjectKind::Synproxy(s) => {
            o.push("mss", Json::int(s.mss.unwrap_or(0)));
            o.push("wscale", Json::int(s.wscale.unwrap_or(0)));
            o.push_nonempty("flags", stmt::synproxy_flags(s.timestamp, s.sack_perm));
        }
        ObjectKind::Tunnel(_) => {}
    }
    let key = ob.kind.object_type().name();
    Json::single(key, o)
}

fn flowtable(t: &Table, f: &Flowtable) -> Json {
    let [fam, _] = head(t);
    let mut o = Json::object([
        fam,
        ("name", Json::str(f.name.clone())),
        ("table", Json::str(t.name.clone())),
        ("handle", Json::int(f.handle)),
        ("hook", Json::str(f.hook.name())),
        ("prio", Json::int(f.priority)),
    ]);
    if let Some(d) = devices(&f.devices) {
        o.push("dev", d);
    }
    Json::single("flowtable", o)
}
