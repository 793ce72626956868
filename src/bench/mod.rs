//! The measurement core of `nftvm bench`: rule evaluation timed per packet, interpreter vs
//! JIT, on a ClassBench filter set and its trace ([`classbench`]) or on any ruleset and
//! capture ([`capture`]), with correctness checks (the trace's expected filter; the
//! interpreter as the reference), a per-rule cost breakdown ([`profile`]) and, per part of
//! each classifier's tree, where the queries went ([`query_profile`]).
//!
//! Packets are built once ([`packets`]); the timed loop runs only the chain, through the
//! engines' allocation-free, verdict-only entry point (`Executable::run_chain_into`), against a
//! small per-flow environment ([`env`]), and is timed in batches with a robust median
//! ([`measure`]).
//!
//! [`env`]: mod@env

pub mod capture;
pub mod classbench;
pub mod compile;
pub mod engines;
pub mod env;
pub mod measure;
pub mod packets;
pub mod profile;
pub mod query_profile;
