//! Stage 3, size: raw bytes, gzip -9 (flate2), brotli q11, and the module
//! without custom sections. One deterministic sample per build.

use crate::wasmfile;
use anyhow::Result;
use std::io::Write;

/// Which size of an artifact a metric gates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SizeKind {
    Raw,
    Gzip,
    Brotli,
    Stripped,
}

/// Size figures of one artifact, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Sizes {
    /// The file as shipped.
    pub raw_bytes: u64,
    /// gzip, level 9.
    pub gzip_bytes: u64,
    /// brotli, quality 11, window 22.
    pub brotli_bytes: u64,
    /// Raw size with every custom section removed.
    pub stripped_bytes: u64,
}

pub fn gzip_len(bytes: &[u8]) -> Result<u64> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes)?;
    Ok(enc.finish()?.len() as u64)
}

pub fn brotli_len(bytes: &[u8]) -> Result<u64> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params)?;
    Ok(out.len() as u64)
}

/// Measure one artifact. Fails (not panics) on non-wasm input.
pub fn measure(bytes: &[u8], what: &str) -> Result<Sizes> {
    let stripped = wasmfile::without_custom_sections(bytes, what)?;
    Ok(Sizes {
        raw_bytes: bytes.len() as u64,
        gzip_bytes: gzip_len(bytes)?,
        brotli_bytes: brotli_len(bytes)?,
        stripped_bytes: stripped.len() as u64,
    })
}

/// One size of an artifact, by the metric source that names it.
pub fn bytes_of(s: &Sizes, kind: SizeKind) -> u64 {
    use SizeKind::*;
    match kind {
        Raw => s.raw_bytes,
        Gzip => s.gzip_bytes,
        Brotli => s.brotli_bytes,
        Stripped => s.stripped_bytes,
    }
}

/// How a size metric is computed, in words, for the report.
pub fn method(kind: SizeKind) -> &'static str {
    use SizeKind::*;
    match kind {
        Raw => "bytes of the optimized artifact",
        Gzip => "gzip level 9 (flate2) of the optimized artifact",
        Brotli => "brotli quality 11, window 22, of the optimized artifact",
        Stripped => "optimized artifact with every custom section removed",
    }
}

/// Bytes in a metric's unit (KiB, MiB or bytes).
pub fn in_unit(bytes: u64, unit: &str) -> f64 {
    bytes_in_unit(bytes as f64, unit)
}

/// A byte count (a size, or a heap sample) in KiB, MiB or bytes.
pub fn bytes_in_unit(bytes: f64, unit: &str) -> f64 {
    match unit {
        "KiB" => bytes / 1024.0,
        "MiB" => bytes / (1024.0 * 1024.0),
        _ => bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressed_sizes_are_smaller_for_repetitive_input() {
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        // A custom section "x" with 1000 zero bytes.
        m.extend_from_slice(&[0, 0xea, 0x07, 1, b'x']);
        m.extend(std::iter::repeat_n(0u8, 1000));
        let s = measure(&m, "t").unwrap();
        assert_eq!(s.raw_bytes, m.len() as u64);
        assert_eq!(s.stripped_bytes, 8);
        assert!(s.gzip_bytes < s.raw_bytes && s.brotli_bytes < s.raw_bytes);
    }

    #[test]
    fn non_wasm_is_an_error() {
        assert!(measure(b"not wasm at all", "t").is_err());
    }
}
