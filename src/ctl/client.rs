//! The client side: send one request to a running `nftvm run`, relay its answer.

use std::io::{BufRead, BufReader, Write};

use super::CtlAddr;
use crate::cli::Failure;

/// Sends `args` to the instance at `addr` and prints the answer as it arrives; returns the
/// exit code the server chose.
pub fn request(addr: &CtlAddr, args: &[String]) -> Result<u8, Failure> {
    let mut stream = addr.connect().map_err(|e| {
        Failure::runtime(format!(
            "nftvm: cannot reach a running `nftvm run` at {addr}: {e} (is it running in this network namespace? see --ctl)"
        ))
    })?;
    let line = serde_json::to_string(args).map_err(|e| Failure::runtime(e.to_string()))?;
    // A server that refuses us may close before reading everything: its answer still
    // says why, so a failed write is only reported when no answer follows.
    let sent = stream.write_all(format!("{line}\n").as_bytes());
    let reader = BufReader::new(stream);
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    for line in reader.lines() {
        let line = line.map_err(|e| Failure::runtime(format!("nftvm: reading from {addr}: {e}")))?;
        if let Some(text) = line.strip_prefix("1 ") {
            let mut out = stdout.lock();
            // A closed stdout (`| head`) ends the request quietly.
            if writeln!(out, "{text}").and_then(|()| out.flush()).is_err() {
                return Ok(0);
            }
        } else if let Some(text) = line.strip_prefix("2 ") {
            let _ = writeln!(stderr.lock(), "{text}");
        } else if let Some(code) = line.strip_prefix("= ") {
            return Ok(code.trim().parse().unwrap_or(2));
        }
    }
    match sent {
        Err(e) => Err(Failure::runtime(format!("nftvm: sending to {addr}: {e}"))),
        Ok(()) => Err(Failure::runtime(format!("nftvm: {addr} closed the connection without an answer"))),
    }
}

/// Splits `--ctl PATH` / `--ctl=PATH` out of an argument list.
pub fn take_ctl(args: Vec<std::ffi::OsString>) -> Result<(Option<String>, Vec<String>), Failure> {
    let mut ctl = None;
    let mut rest = Vec::new();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let a = a.into_string().map_err(|a| Failure::usage(format!("not valid UTF-8: {a:?}")))?;
        if a == "--ctl" {
            let v = it.next().ok_or_else(|| Failure::usage("--ctl needs a value"))?;
            ctl =
                Some(v.into_string().map_err(|v| Failure::usage(format!("--ctl: not valid UTF-8: {v:?}")))?);
        } else if let Some(v) = a.strip_prefix("--ctl=") {
            ctl = Some(v.to_string());
        } else {
            rest.push(a);
        }
    }
    Ok((ctl, rest))
}
