//! Timing a per-packet workload robustly on a shared, noisy machine.
//!
//! The workload is "run packet `i`" for `i` in `0..n`, in trace order. After a warm-up pass
//! (caches, branch predictors, lazily built set backends), the packets are timed in batches
//! of consecutive packets (wrapping around at the end of the trace); each batch gives one
//! ns/packet sample. `repeat` passes over the trace are timed, and at least
//! [`MIN_SAMPLES`] batches and at least `min_time` of timed batches (a short trace is run
//! many times over: a few thousand runs of a 20 ns chain are over before the core has warmed
//! up, and their median is not what a longer run gives). The median over batches
//! is the headline figure: a batch that was preempted or shared its core with another
//! process is an outlier and cannot move it far, where a mean would. p10/p90 show the
//! spread; the mean is the total time over all timed packets.

use std::time::{Duration, Instant};

/// The fewest batches timed, however short the trace.
pub const MIN_SAMPLES: usize = 31;

/// How to time a workload.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MeasureOpts {
    /// Timed passes over all packets (at least 1).
    pub repeat: usize,
    /// Target wall time of one batch; the batch size is chosen from the warm-up pass so that
    /// a batch takes about this long (timer overhead is then negligible).
    pub batch_target: Duration,
    /// The least total time of the timed batches (more batches for short workloads).
    pub min_time: Duration,
}

impl Default for MeasureOpts {
    fn default() -> Self {
        MeasureOpts {
            repeat: 3,
            batch_target: Duration::from_micros(200),
            min_time: Duration::from_millis(300),
        }
    }
}

/// What the timing found (nanoseconds per packet).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Timing {
    pub median: f64,
    pub p10: f64,
    pub p90: f64,
    pub mean: f64,
    /// Packets per batch and number of batch samples.
    pub batch: usize,
    pub samples: usize,
    /// Packet runs timed (passes × packets).
    pub timed_runs: u64,
}

/// Times `run(i)` for `i in 0..n` as described in the module documentation; `progress` is
/// called with the fraction done (0.0..=1.0) after every batch.
pub fn measure(
    n: usize,
    opts: &MeasureOpts,
    mut run: impl FnMut(usize),
    mut progress: impl FnMut(f64),
) -> Timing {
    if n == 0 {
        return Timing::default();
    }
    let warm = Instant::now();
    for i in 0..n {
        run(i);
    }
    let per_packet = warm.elapsed().as_nanos() as f64 / n as f64;
    let batch = batch_size(per_packet, opts.batch_target);
    let for_time =
        (opts.min_time.as_secs_f64() / (per_packet * batch as f64 * 1e-9).max(1e-9)).ceil() as usize;
    let batches = (opts.repeat.max(1) * n).div_ceil(batch).max(MIN_SAMPLES).max(for_time);
    let mut samples = Vec::with_capacity(batches);
    let mut total = Duration::ZERO;
    let mut next = 0usize;
    for b in 0..batches {
        let t = Instant::now();
        for _ in 0..batch {
            run(next);
            next = if next + 1 == n { 0 } else { next + 1 };
        }
        let dt = t.elapsed();
        total += dt;
        samples.push(dt.as_nanos() as f64 / batch as f64);
        progress((b + 1) as f64 / batches as f64);
    }
    let timed_runs = (batches * batch) as u64;
    samples.sort_by(f64::total_cmp);
    Timing {
        median: quantile(&samples, 0.5),
        p10: quantile(&samples, 0.1),
        p90: quantile(&samples, 0.9),
        mean: total.as_nanos() as f64 / timed_runs as f64,
        batch,
        samples: samples.len(),
        timed_runs,
    }
}

/// Packets per batch so that a batch takes about `target`.
fn batch_size(per_packet_ns: f64, target: Duration) -> usize {
    ((target.as_nanos() as f64 / per_packet_ns.max(1.0)).ceil() as usize).max(1)
}

/// The `q` quantile of sorted samples (nearest rank, linear between neighbours).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => 0.0,
        1 => sorted[0],
        len => {
            let pos = q.clamp(0.0, 1.0) * (len - 1) as f64;
            let lo = pos.floor() as usize;
            let hi = (lo + 1).min(len - 1);
            let frac = pos - lo as f64;
            sorted[lo] * (1.0 - frac) + sorted[hi] * frac
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_between_samples() {
        let s = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile(&s, 0.5), 3.0);
        assert_eq!(quantile(&s, 0.0), 1.0);
        assert_eq!(quantile(&s, 1.0), 5.0);
        assert!((quantile(&[1.0, 2.0], 0.5) - 1.5).abs() < 1e-9);
        assert_eq!(quantile(&[], 0.5), 0.0);
    }

    #[test]
    fn every_packet_runs_equally_often_after_the_warm_up() {
        let mut runs = vec![0usize; 10];
        let opts = MeasureOpts { repeat: 4, batch_target: Duration::from_nanos(1), min_time: Duration::ZERO };
        let mut last = 0.0;
        let t = measure(10, &opts, |i| runs[i] += 1, |f| last = f);
        // One warm-up pass, then 40 one-packet batches (more than MIN_SAMPLES).
        assert!(runs.iter().all(|&r| r == 5), "{runs:?}");
        assert_eq!((t.timed_runs, t.samples, t.batch), (40, 40, 1));
        assert!((last - 1.0).abs() < 1e-9);
        assert!(t.p10 <= t.median && t.median <= t.p90);
    }

    #[test]
    fn a_short_trace_is_run_over_until_there_are_enough_samples() {
        let mut runs = 0usize;
        let opts = MeasureOpts { repeat: 1, batch_target: Duration::from_nanos(1), min_time: Duration::ZERO };
        let t = measure(1, &opts, |_| runs += 1, |_| {});
        assert_eq!(t.samples, MIN_SAMPLES);
        assert_eq!(runs, 1 + MIN_SAMPLES * t.batch);
    }
}
