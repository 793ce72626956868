//! NAT: source/destination bindings made at a flow's first packet, applied to every later one.
