//! pcapng capture files: reading (with interface names) and writing.
