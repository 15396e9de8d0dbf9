//! Samples as HdrHistograms: recording, the exact merge of shards, the
//! serialized form a summary carries, and the statistics read off them.

use anyhow::{anyhow, Result};
use base64::Engine;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// A serialized hdrhistogram of one record's samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistogramBlob {
    /// `hdrhistogram-v2-deflate-base64`: the V2 deflate serialization of
    /// HdrHistogram, base64 encoded; any HdrHistogram implementation reads it.
    pub encoding: String,
    /// Recorded integers are value-in-unit x scale.
    pub scale: f64,
    pub samples: u64,
    pub data: String,
}

/// Recorded integer = value in the metric's unit x SCALE. A million keeps
/// micro-operations (0.013 us) at HdrHistogram's 3 significant digits; a
/// thousand quantized them in steps of 8 %.
pub const SCALE: f64 = 1_000_000.0;
pub const ENCODING: &str = "hdrhistogram-v2-deflate-base64";

pub fn new_histogram() -> Histogram<u64> {
    Histogram::new(3).expect("3 significant digits is a valid HdrHistogram precision")
}

/// A histogram of samples given in the metric's unit. Negative samples (a
/// relative overhead that came out below zero) are recorded as zero.
pub fn histogram_of(samples: &[f64]) -> Result<Histogram<u64>> {
    let mut h = new_histogram();
    for &s in samples {
        if !s.is_finite() {
            return Err(anyhow!("non-finite sample {s}"));
        }
        let v = (s.max(0.0) * SCALE).round() as u64;
        h.record(v)
            .map_err(|e| anyhow!("recording sample {s}: {e:?}"))?;
    }
    Ok(h)
}

pub fn p95(h: &Histogram<u64>) -> f64 {
    h.value_at_quantile(0.95) as f64 / SCALE
}

pub fn encode(h: &Histogram<u64>) -> Result<HistogramBlob> {
    let mut buf = Vec::new();
    V2DeflateSerializer::new()
        .serialize(h, &mut buf)
        .map_err(|e| anyhow!("serializing histogram: {e:?}"))?;
    Ok(HistogramBlob {
        encoding: ENCODING.into(),
        scale: SCALE,
        samples: h.len(),
        data: base64::engine::general_purpose::STANDARD.encode(buf),
    })
}

pub fn decode(b: &HistogramBlob) -> Result<Histogram<u64>> {
    if b.encoding != ENCODING || b.scale != SCALE {
        return Err(anyhow!(
            "unsupported histogram encoding {} (scale {})",
            b.encoding,
            b.scale
        ));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&b.data)
        .map_err(|e| anyhow!("histogram base64: {e}"))?;
    Deserializer::new()
        .deserialize(&mut &bytes[..])
        .map_err(|e| anyhow!("histogram data: {e:?}"))
}

/// Exact merge of histograms (bucket counts added).
pub fn merge(hs: &[Histogram<u64>]) -> Result<Histogram<u64>> {
    let mut out = new_histogram();
    for h in hs {
        out.add(h)
            .map_err(|e| anyhow!("merging histograms: {e:?}"))?;
    }
    Ok(out)
}

/// One key's distribution for a plot, in the metric's unit: CDF points
/// (value, cumulative fraction) of the candidate and, when it was measured
/// in the same session, of the base; and the quantile the per-seed figure
/// is read at (0.95 for p95, 0.5 for medians).
#[derive(Debug, Clone, PartialEq)]
pub struct Cdf {
    pub candidate: Vec<(f64, f64)>,
    pub base: Option<Vec<(f64, f64)>>,
    pub quantile: f64,
}

/// (value, cumulative fraction) points of a histogram, for CDF plots.
pub fn cdf_points(h: &Histogram<u64>, max_points: usize) -> Vec<(f64, f64)> {
    let total = h.len().max(1) as f64;
    let mut pts = Vec::new();
    let mut acc = 0u64;
    for v in h.iter_recorded() {
        acc += v.count_at_value();
        pts.push((v.value_iterated_to() as f64 / SCALE, acc as f64 / total));
    }
    if pts.len() > max_points && max_points > 1 {
        let step = pts.len() as f64 / max_points as f64;
        let mut thin: Vec<(f64, f64)> = (0..max_points)
            .map(|i| pts[(i as f64 * step) as usize])
            .collect();
        thin.push(*pts.last().unwrap());
        return thin;
    }
    pts
}

/// Which statistic of a seed's samples is the per-seed figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Statistic {
    /// 95th percentile (latencies, heap).
    #[default]
    P95,
    /// Median (relative overheads: the median of the per-round ratios of
    /// two workloads is the stable comparison of their typical cost).
    Median,
}

impl Statistic {
    pub fn quantile(self) -> f64 {
        match self {
            Statistic::P95 => 0.95,
            Statistic::Median => 0.5,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Statistic::P95 => "p95",
            Statistic::Median => "median",
        }
    }
}

/// The statistic of a histogram: the p95 is HdrHistogram's value at the
/// quantile; the median is the midpoint of the two middle recorded values
/// for an even count, as `median` (a relative metric's seed holds one value
/// per round, 8 of them: the nearest-rank median, the lower middle one,
/// read the replay overhead about half a point low).
pub fn statistic_of(h: &Histogram<u64>, s: Statistic) -> f64 {
    match s {
        Statistic::P95 => h.value_at_quantile(s.quantile()) as f64 / SCALE,
        Statistic::Median => histogram_median(h),
    }
}

fn histogram_median(h: &Histogram<u64>) -> f64 {
    let n = h.len();
    if n == 0 {
        return 0.0;
    }
    // 0-based ranks of the two middle values (the same one for an odd n).
    let (lo, hi) = ((n - 1) / 2, n / 2);
    let (mut at_lo, mut seen) = (None, 0u64);
    for v in h.iter_recorded() {
        seen += v.count_at_value();
        let value = h.highest_equivalent(v.value_iterated_to()) as f64 / SCALE;
        if at_lo.is_none() && seen > lo {
            at_lo = Some(value);
        }
        if seen > hi {
            return (at_lo.unwrap_or(value) + value) / 2.0;
        }
    }
    unreachable!("a histogram's counts add up to its length")
}
