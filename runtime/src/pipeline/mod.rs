//! The hook pipeline (placeholder while being built).
pub mod engine;
pub mod hooks;
pub mod outcome;
pub mod skb;
