//! Fuzz target: arbitrary bytes as a pcap or pcapng file, read with `CaptureReader` until the
//! end. Reading must never panic, hang or allocate what the file merely claims; after an
//! error the reader must stay at the end.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nftvm_runtime::io::pcap::CaptureReader;
use nftvm_runtime::packet::dissect;
use std::hint::black_box;

fuzz_target!(|data: &[u8]| {
    let mut reader = match CaptureReader::new(data) {
        Ok(r) => r,
        Err(e) => {
            black_box(e.to_string());
            return;
        }
    };
    // Every record consumes at least a header of the input, so the records are bounded by
    // the input length.
    let mut records = 0usize;
    loop {
        match reader.next_record() {
            Ok(Some(rec)) => {
                records += 1;
                assert!(records <= data.len(), "more records than input bytes");
                black_box((rec.timestamp, rec.interface_index, &rec.interface_name, rec.original_len));
                let _ = dissect(&rec.data, rec.link_type);
            }
            Ok(None) => break,
            Err(e) => {
                black_box(e.to_string());
                assert!(matches!(reader.next_record(), Ok(None)), "reader continued after an error");
                break;
            }
        }
    }
});
