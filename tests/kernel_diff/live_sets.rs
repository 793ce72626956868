//! The named sets at the end of a scenario, as listed: the kernel's `nft list ruleset`
//! against nftvm's running listing (`nftvm::live`, what `nftvm list ruleset` answers), set
//! block by set block — the elements the packet path added, their own timeouts, their
//! statements' counters.
//!
//! Normalized: line wrapping (the blocks are compared word by word), the element count
//! newer nft notes after a set's size, the order of the elements (nft 1.0.6, this
//! machine's, sorts a concatenated key by its last member first, as one little-endian
//! number; newer nft, whose listings nftvm's printer follows, member by member), and the time
//! an element has left (`expires`): the kernel's clock runs while the harness works, nftvm's
//! moves a millisecond per step. Those times are compared within [`SLACK_MS`] instead.

use nftvm::live::{self, WorkerState};
use nftvm::program::LoadedProgram;
use nftvm_compiler::print::{ListOpts, nft};
use nftvm_runtime::pipeline::Pipeline;

/// How far apart the two sides' `expires` may be (ms).
const SLACK_MS: i64 = 3_000;

/// nftvm's listing of `pipeline`'s live ruleset (`None`: no IR to list).
pub fn listing(prog: &LoadedProgram, pipeline: &Pipeline) -> Option<String> {
    let state = WorkerState::of(pipeline.program().program(), pipeline.engine().state(), pipeline.now());
    let rs = live::ruleset(prog, &[state])?;
    Some(nft::ruleset(&rs, &ListOpts::default_listing()))
}

/// The `set`/`map` blocks of a listing, each named by its table.
fn blocks(listing: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut table = "";
    let mut current: Option<(String, Vec<String>)> = None;
    for line in listing.lines() {
        if line.starts_with("table ") {
            table = line.trim_end_matches(" {");
        } else if let Some((name, words)) = current.as_mut() {
            if line == "\t}" {
                out.push((name.clone(), std::mem::take(words)));
                current = None;
            } else {
                // nft from 1.1.1 on notes a sized set's element count (`size 4\t# count 2`),
                // this machine's 1.0.6 does not: the note is left out.
                let line = line.split_once("# count ").map_or(line, |(head, _)| head);
                words.extend(line.split_whitespace().map(str::to_string));
            }
        } else if (line.starts_with("\tset ") || line.starts_with("\tmap ")) && line.ends_with('{') {
            current = Some((format!("{table} {}", line.trim()), Vec::new()));
        }
    }
    out
}

/// A duration as nft prints it (`1d2h3m4s5ms`), in ms.
fn duration_ms(text: &str) -> Option<i64> {
    nftvm_compiler::types::parse_relative_ms(text).ok().and_then(|ms| i64::try_from(ms).ok())
}

/// The words of a block with its elements (`elements = { a, b … }`, each its words up to a
/// comma) in sorted order.
fn elements_sorted(words: &[String]) -> Vec<String> {
    let Some(open) = words.windows(3).position(|w| w[0] == "elements" && w[1] == "=" && w[2] == "{") else {
        return words.to_vec();
    };
    let body = &words[open + 3..];
    let Some(close) = body.iter().position(|w| w == "}") else { return words.to_vec() };
    let mut items: Vec<Vec<String>> = vec![Vec::new()];
    for w in &body[..close] {
        match w.strip_suffix(',') {
            Some(head) => {
                items.last_mut().into_iter().for_each(|i| i.push(head.to_string()));
                items.push(Vec::new());
            }
            None => items.last_mut().into_iter().for_each(|i| i.push(w.clone())),
        }
    }
    items.retain(|i| !i.is_empty());
    items.sort();
    let mut out = words[..open + 3].to_vec();
    let n = items.len();
    for (k, item) in items.into_iter().enumerate() {
        let last = item.len() - 1;
        for (j, w) in item.into_iter().enumerate() {
            out.push(if j == last && k + 1 < n { format!("{w},") } else { w });
        }
    }
    out.extend(body[close..].iter().cloned());
    out
}

/// The words with every time masked, and the masked times.
fn masked(words: &[String]) -> (Vec<String>, Vec<Option<i64>>) {
    let mut out = Vec::with_capacity(words.len());
    let mut times = Vec::new();
    for (i, w) in words.iter().enumerate() {
        if i > 0 && words[i - 1] == "expires" {
            let (value, tail) = w.split_at(w.trim_end_matches([',', '}']).len());
            times.push(duration_ms(value));
            out.push(format!("*{tail}"));
        } else {
            out.push(w.clone());
        }
    }
    (out, times)
}

/// What differs between the kernel's set blocks and nftvm's, if anything; with the number
/// of blocks compared.
pub fn compare(kernel: &str, nftvm: &str) -> (usize, Option<String>) {
    let (k, n) = (blocks(kernel), blocks(nftvm));
    let show = |b: &[(String, Vec<String>)]| {
        b.iter().map(|(name, words)| format!("{name} {}", words.join(" "))).collect::<Vec<_>>().join("\n    ")
    };
    let differs = || Some(format!("set listings differ:\n  kernel {}\n  nftvm  {}", show(&k), show(&n)));
    if k.len() != n.len() {
        return (k.len(), differs());
    }
    for ((kn, kw), (nn, nw)) in k.iter().zip(&n) {
        let ((km, kt), (nm, nt)) = (masked(&elements_sorted(kw)), masked(&elements_sorted(nw)));
        let close = kt.iter().zip(&nt).all(|(a, b)| match (a, b) {
            (Some(a), Some(b)) => (a - b).abs() <= SLACK_MS,
            _ => false,
        });
        if kn != nn || km != nm || !close {
            return (k.len(), differs());
        }
    }
    (k.len(), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_masks() {
        assert_eq!(duration_ms("28s792ms"), Some(28_792));
        assert_eq!(duration_ms("1m"), Some(60_000));
        assert_eq!(duration_ms("1d2h"), Some(93_600_000));
        assert_eq!(duration_ms("5x"), None);
        let words: Vec<String> = "{ 1.2.3.4 expires 9s, 1.2.3.5 timeout 10s expires 1s2ms }"
            .split_whitespace()
            .map(str::to_string)
            .collect();
        let (m, t) = masked(&words);
        assert_eq!(m.join(" "), "{ 1.2.3.4 expires *, 1.2.3.5 timeout 10s expires * }");
        assert_eq!(t, vec![Some(9_000), Some(1_002)]);
        let words: Vec<String> = "type x elements = { 2 . 1 counter packets 1, 1 . 2 }"
            .split_whitespace()
            .map(str::to_string)
            .collect();
        assert_eq!(elements_sorted(&words).join(" "), "type x elements = { 1 . 2, 2 . 1 counter packets 1 }");
    }
}
