//! Internet checksums: full computation and incremental update (RFC 1624).
