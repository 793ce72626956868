//! Typed values of iptables arguments and their parsers: integers with C semantics,
//! addresses and masks, ports and ranges, services, protocols, and symbolic names.

pub mod addr;
pub mod names;
pub mod num;
pub mod protocols;
pub mod ranges;
pub mod services;
