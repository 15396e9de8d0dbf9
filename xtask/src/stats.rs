//! Statistics of the measurement protocol (DESIGN.md section 5).
//!
//! Samples go into an HdrHistogram (3 significant digits) per seed; the
//! per-seed figure is the histogram's 95th percentile (HdrHistogram's
//! `value_at_quantile`, i.e. the smallest recorded value with at least 95 %
//! of samples at or below it, to 3 significant digits); the gate value is the
//! median of the per-seed p95s (mean of the middle two for an even count).
//! The median of independent repeats is robust to one disturbed seed.
//! Histograms are merged exactly (bucket counts added), never by averaging
//! percentiles.

use crate::summary::HistogramBlob;
use anyhow::{anyhow, Result};
use base64::Engine;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;

/// Recorded integer = value in the metric's unit x SCALE. With 3 significant
/// digits this keeps 1/1000 of a unit at the bottom of the range.
pub const SCALE: f64 = 1000.0;
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
        h.record(v).map_err(|e| anyhow!("recording sample {s}: {e:?}"))?;
    }
    Ok(h)
}

pub fn p95(h: &Histogram<u64>) -> f64 {
    h.value_at_quantile(0.95) as f64 / SCALE
}

/// Median of a non-empty list.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 })
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
        return Err(anyhow!("unsupported histogram encoding {} (scale {})", b.encoding, b.scale));
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
        out.add(h).map_err(|e| anyhow!("merging histograms: {e:?}"))?;
    }
    Ok(out)
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
        let mut thin: Vec<(f64, f64)> = (0..max_points).map(|i| pts[(i as f64 * step) as usize]).collect();
        thin.push(*pts.last().unwrap());
        return thin;
    }
    pts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p95_of_1_to_100() {
        let s: Vec<f64> = (1..=100).map(|i| i as f64).collect();
        let h = histogram_of(&s).unwrap();
        // Exact to HdrHistogram's 3 significant digits.
        assert!((p95(&h) - 95.0).abs() / 95.0 < 1e-3, "{}", p95(&h));
    }

    #[test]
    fn median_odd_even() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn encode_decode_merge_is_exact() {
        let a = histogram_of(&[1.0, 2.0, 3.0]).unwrap();
        let b = histogram_of(&[10.0, 20.0]).unwrap();
        let a2 = decode(&encode(&a).unwrap()).unwrap();
        assert_eq!(a2, a);
        let m = merge(&[a, b]).unwrap();
        assert_eq!(m.len(), 5);
        let all = histogram_of(&[1.0, 2.0, 3.0, 10.0, 20.0]).unwrap();
        assert_eq!(m, all);
    }

    #[test]
    fn negative_samples_record_as_zero() {
        let h = histogram_of(&[-3.0, 1.0]).unwrap();
        assert_eq!(h.min(), 0);
    }
}
