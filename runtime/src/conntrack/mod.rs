//! Connection tracking: tuples, the flow table, per-protocol state machines, timeouts.
