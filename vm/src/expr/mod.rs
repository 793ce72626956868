//! The expressions, one file each like the kernel's `nft_*.c`: each holds the struct, its
//! text form (print and parse), its verifier rule and its interpreter semantics. [`Expr`]
//! dispatches to them.

pub mod bitwise;
pub mod bpf;
pub mod byteorder;
pub mod classify;
pub mod cluster;
pub mod cmp;
pub mod connlimit;
pub mod connmark;
pub mod counter;
pub mod ct;
pub mod ct_template;
pub mod dccpmatch;
pub mod dup;
pub mod dynset;
pub mod ecn;
pub mod exthdr;
pub mod fib;
pub mod flow_offload;
pub mod fragmatch;
pub mod fwd;
pub mod hash;
pub mod hmark;
pub mod icmpmatch;
pub mod immediate;
pub mod inner;
pub mod ipsecmatch;
pub mod ipv6header;
pub mod ipv6opts;
pub mod ipvs;
pub mod last;
pub mod limit;
pub mod loadkey;
pub mod log;
pub mod lookup;
pub mod masq;
pub mod meta;
pub mod mhmatch;
pub mod nat;
pub mod notrack;
pub mod npt;
pub mod numgen;
pub mod objref;
pub mod osf;
pub mod payload;
pub mod physdev;
pub mod policy;
pub mod queue;
pub mod quota;
pub mod range;
pub mod recent;
pub mod redir;
pub mod reject;
pub mod rt;
pub mod rtmatch;
pub mod sctpmatch;
pub mod socket;
pub mod srh;
pub mod string;
pub mod synproxy;
pub mod tcpmss;
pub mod time_match;
pub mod tproxy;
pub mod ttl;
pub mod tunnel;
pub mod u32match;
pub mod xfrm;
pub mod xt;
pub mod xt_connlimit;
pub mod xt_helper;
pub mod xt_nat;
pub mod xt_target;

use crate::data::ByteOrder;
use crate::interp::Eval;
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;

macro_rules! exprs {
    ($($variant:ident($ty:ty) => $name:literal,)*) => {
        /// One bytecode expression.
        #[derive(Clone, Debug, PartialEq)]
        pub enum Expr {
            $($variant($ty),)*
        }

        impl Expr {
            /// The name `nft --debug=netlink` prints first (`payload`, `cmp` …).
            pub fn name(&self) -> &'static str {
                match self { $(Expr::$variant(_) => $name,)* }
            }

            /// Appends the text after the name (`load 4b @ network header + 12 => reg 1`).
            pub fn print_body(&self, p: &Program, o: &mut String) {
                match self { $(Expr::$variant(x) => x.print(p, o),)* }
            }

            /// Parses the text after the name.
            pub fn parse(name: &str, body: &str, a: &mut Asm) -> PResult<Expr> {
                let mut c = Cursor::new(body);
                let e = match name {
                    $($name => Expr::$variant(<$ty>::parse(&mut c, a)?),)*
                    _ => return Err(format!("unknown expression `{name}`")),
                };
                c.done()?;
                Ok(e)
            }

            /// The verifier rule: registers read and written, references, context.
            pub fn check(&self, c: &mut Check) -> Result<(), String> {
                match self { $(Expr::$variant(x) => x.check(c),)* }
            }

            /// Interpreter semantics.
            pub fn eval(&self, e: &mut Eval) {
                match self { $(Expr::$variant(x) => x.eval(e),)* }
            }
        }
    };
}

exprs! {
    Payload(payload::Payload) => "payload",
    Meta(meta::Meta) => "meta",
    Ct(ct::Ct) => "ct",
    Cmp(cmp::Cmp) => "cmp",
    Bitwise(bitwise::Bitwise) => "bitwise",
    Byteorder(byteorder::Byteorder) => "byteorder",
    Range(range::Range) => "range",
    Lookup(lookup::Lookup) => "lookup",
    Immediate(immediate::Immediate) => "immediate",
    Dynset(dynset::Dynset) => "dynset",
    Counter(counter::Counter) => "counter",
    Limit(limit::Limit) => "limit",
    Quota(quota::Quota) => "quota",
    Log(log::Log) => "log",
    Reject(reject::Reject) => "reject",
    Notrack(notrack::Notrack) => "notrack",
    Nat(nat::Nat) => "nat",
    Masq(masq::Masq) => "masq",
    Redir(redir::Redir) => "redir",
    Exthdr(exthdr::Exthdr) => "exthdr",
    Fib(fib::Fib) => "fib",
    Numgen(numgen::Numgen) => "numgen",
    Hash(hash::Hash) => "hash",
    Objref(objref::Objref) => "objref",
    Queue(queue::Queue) => "queue",
    Rt(rt::Rt) => "rt",
    Socket(socket::Socket) => "socket",
    Osf(osf::Osf) => "osf",
    Xfrm(xfrm::Xfrm) => "xfrm",
    Tproxy(tproxy::Tproxy) => "tproxy",
    Dup(dup::Dup) => "dup",
    Fwd(fwd::Fwd) => "fwd",
    Synproxy(synproxy::Synproxy) => "synproxy",
    FlowOffload(flow_offload::FlowOffload) => "flow_offload",
    Inner(inner::Inner) => "inner",
    Last(last::Last) => "last",
    Connlimit(connlimit::Connlimit) => "connlimit",
    Tunnel(tunnel::Tunnel) => "tunnel",
    Classify(classify::Classify) => "classify",
    Match(xt::XtMatch) => "match",
    Target(xt_target::XtTarget) => "target",
}

impl Expr {
    /// Does the expression make the kernel enable conntrack for its table's family
    /// (`nf_ct_netns_get` in the expression's init)? Anywhere in a ruleset — reachable or
    /// not — it makes every packet of the family tracked (the runtime's rule, and what the
    /// optimizer must keep when it drops rules).
    pub fn enables_conntrack(&self, prog: &Program) -> bool {
        use crate::object::ObjectKind;
        match self {
            Expr::Ct(_)
            | Expr::Nat(_)
            | Expr::Masq(_)
            | Expr::Redir(_)
            | Expr::Connlimit(_)
            | Expr::Synproxy(_)
            | Expr::FlowOffload(_) => true,
            Expr::Objref(objref::Objref::Imm { obj, .. }) => prog.object(*obj).is_some_and(|o| {
                matches!(o.kind, ObjectKind::CtHelper { .. } | ObjectKind::Connlimit(_))
                    || matches!(o.kind, ObjectKind::Other { type_number: 7 | 9, .. })
            }),
            Expr::Dynset(d) => prog
                .set(d.set)
                .map_or(d.exprs.as_slice(), |s| d.element_exprs(s))
                .iter()
                .any(|x| x.enables_conntrack(prog)),
            Expr::Target(t) => t.enables_conntrack(),
            Expr::Match(m) => m.enables_conntrack(),
            // A classified rule's tests live in its classifier's recipes (`ct state`, …).
            Expr::Classify(c) => prog
                .classifier(c.classifier)
                .is_some_and(|k| k.recipes.iter().flat_map(|r| &r.exprs).any(|x| x.enables_conntrack(prog))),
            _ => false,
        }
    }

    /// The expression as one disassembly line: `  [ name body ]`.
    pub fn line(&self, p: &Program) -> String {
        let mut body = String::new();
        self.print_body(p, &mut body);
        if body.is_empty() {
            format!("  [ {} ]", self.name())
        } else {
            format!("  [ {} {body} ]", self.name())
        }
    }

    /// Parses `[ name body ]` (surrounding whitespace allowed).
    pub fn parse_line(line: &str, a: &mut Asm) -> PResult<Expr> {
        let t = line.trim();
        let inner = t
            .strip_prefix('[')
            .and_then(|s| s.strip_suffix(']'))
            .ok_or_else(|| format!("expected `[ … ]`, found `{t}`"))?
            .trim();
        let (name, body) = inner.split_once(char::is_whitespace).unwrap_or((inner, ""));
        Expr::parse(name, body.trim(), a)
    }

    /// Assembler fix-up: re-read a constant whose byte order a later consumer decided.
    pub(crate) fn reinterpret(&mut self, order: ByteOrder) {
        if let Expr::Immediate(i) = self {
            i.reinterpret(order);
        }
    }

    /// Does this expression set a verdict or have an effect outside the registers (a
    /// "statement" in nft's terms)? Used for traces.
    pub fn is_statement(&self) -> bool {
        !matches!(
            self,
            Expr::Payload(payload::Payload { op: payload::PayloadOp::Load { .. }, .. })
                | Expr::Meta(meta::Meta { op: meta::MetaOp::Load { .. }, .. })
                | Expr::Ct(ct::Ct { op: ct::CtOp::Load { .. }, .. })
                | Expr::Cmp(_)
                | Expr::Bitwise(_)
                | Expr::Byteorder(_)
                | Expr::Range(_)
                | Expr::Fib(_)
                | Expr::Rt(_)
                | Expr::Socket(_)
                | Expr::Osf(_)
                | Expr::Xfrm(_)
                | Expr::Tunnel(_)
                | Expr::Hash(_)
                | Expr::Numgen(_)
                | Expr::Inner(_)
                | Expr::Classify(_)
        ) && !matches!(self, Expr::Lookup(l) if l.dreg.is_none() || l.dreg.is_some_and(|d| !d.is_verdict()))
            && !matches!(self, Expr::Exthdr(x) if matches!(x.action, exthdr::ExthdrAction::Load { .. }))
            && !matches!(self, Expr::Immediate(i) if !i.dreg.is_verdict())
    }
}
