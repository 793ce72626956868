//! iptables rules as a typed model: extension option tables, validation, canonical iptables-save form; lowering to the IR.
