//! The heap trend: whether a steady-state heap is steady.

use super::{median, quantile_in_place};

/// Whether a "steady-state" heap is steady. A p95 of a growing series can
/// sit under its cap while the page leaks, so the heap metric also checks
/// the trend of each seed's sampling window (samples in operation order):
///
/// - the window is cut in four quarters and each quarter's median taken
///   (medians, so one GC-timing outlier moves nothing);
/// - a seed is **rising** when the four medians rise strictly, one after
///   the other, *and* the last exceeds the first by at least
///   `min_growth` (in bytes: two wasm pages, 128 KiB, or 2 % of the level,
///   whichever is larger). One or two steps of wasm memory (the allocator
///   taking a page once) do not rise through all four quarters; a leak
///   does. Noise that is flat rises through all four by chance in 1 of 24
///   seeds;
/// - or, for figures that move in page steps (linear memory alone), the
///   medians of sixteen segments rise step after step ([`steps_up`]);
/// - the heap is **growing** when most seeds rise. The growth is reported
///   per 100 operations: the median over seeds of (last - first quarter
///   median) / (the 3/4 window between the quarters' centres).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HeapGrowth {
    /// Seeds whose window grew through all four quarters.
    pub growing_seeds: u32,
    /// Seeds checked.
    pub seeds: u32,
    /// Median over seeds of the growth, in bytes per 100 operations.
    pub bytes_per_100_ops: f64,
    /// Operations in one seed's sampling window.
    pub window_ops: u64,
    /// The same growth for each part of the figure (`js heap`, `wasm
    /// memory`), when the probe reported them.
    #[serde(default)]
    pub parts: Vec<(String, f64)>,
}

impl HeapGrowth {
    pub fn growing(&self) -> bool {
        self.growing_seeds * 2 > self.seeds
    }
}

/// Two wasm pages: the least growth over a window that counts.
pub const MIN_HEAP_GROWTH_BYTES: f64 = 2.0 * 65536.0;

/// One seed's quarter medians, its growth per operation, and whether it
/// rises (see [`HeapGrowth`]). `None` under 8 samples.
pub fn seed_growth(samples_bytes: &[f64]) -> Option<([f64; 4], f64, bool)> {
    let n = samples_bytes.len();
    if n < 8 {
        return None;
    }
    let mut q = [0.0; 4];
    for (i, slot) in q.iter_mut().enumerate() {
        let mut part = samples_bytes[i * n / 4..(i + 1) * n / 4].to_vec();
        *slot = quantile_in_place(&mut part, 0.5);
    }
    let per_op = (q[3] - q[0]) / (0.75 * n as f64);
    let least = MIN_HEAP_GROWTH_BYTES.max(0.02 * q[0]);
    let rising = q.windows(2).all(|w| w[1] > w[0]) && q[3] - q[0] >= least;
    Some((q, per_op, rising || steps_up(samples_bytes, least)))
}

/// Segments of the window for [`steps_up`].
const STEP_SEGMENTS: usize = 16;

/// Linear memory alone grows in page steps, unevenly (an allocator that
/// doubles a buffer takes 1, 1, then 2 pages): a leak of about 50 KiB per
/// 100 operations read as quarter medians of 20, 20, 23, 23 pages, never
/// rising through all four. It does rise step after step: the medians of
/// sixteen segments never fall, rise at least three separate times, and end
/// at least `least` bytes above where they began. One or two steps (the
/// allocator taking pages once or twice) do not count, and noisy figures
/// (a JS heap) almost never hold still or rise sixteen times in order.
fn steps_up(samples_bytes: &[f64], least: f64) -> bool {
    let n = samples_bytes.len();
    if n < 2 * STEP_SEGMENTS {
        return false;
    }
    let m: Vec<f64> = (0..STEP_SEGMENTS)
        .map(|i| {
            let mut part =
                samples_bytes[i * n / STEP_SEGMENTS..(i + 1) * n / STEP_SEGMENTS].to_vec();
            quantile_in_place(&mut part, 0.5)
        })
        .collect();
    let rises = m.windows(2).filter(|w| w[1] > w[0]).count();
    m.windows(2).all(|w| w[1] >= w[0]) && rises >= 3 && m[STEP_SEGMENTS - 1] - m[0] >= least
}

/// The growth check over every seed's window (bytes, operation order), and
/// over each named part's windows.
pub fn heap_growth(seeds: &[Vec<f64>], parts: &[(String, Vec<Vec<f64>>)]) -> Option<HeapGrowth> {
    let per: Vec<([f64; 4], f64, bool)> = seeds.iter().filter_map(|s| seed_growth(s)).collect();
    if per.is_empty() {
        return None;
    }
    let rate = |per: &[([f64; 4], f64, bool)]| {
        median(&per.iter().map(|p| p.1 * 100.0).collect::<Vec<_>>()).unwrap_or(0.0)
    };
    Some(HeapGrowth {
        growing_seeds: per.iter().filter(|p| p.2).count() as u32,
        seeds: per.len() as u32,
        bytes_per_100_ops: rate(&per),
        window_ops: seeds.iter().map(|s| s.len() as u64).min().unwrap_or(0),
        parts: parts
            .iter()
            .map(|(name, windows)| {
                (
                    name.clone(),
                    rate(
                        &windows
                            .iter()
                            .filter_map(|s| seed_growth(s))
                            .collect::<Vec<_>>(),
                    ),
                )
            })
            .collect(),
    })
}
