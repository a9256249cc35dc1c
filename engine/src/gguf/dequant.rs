//! One function per block format. Layouts follow ggml (reference README, pitfall 3): a block
//! stores its scale (and minimum) as f16, then packed quants; in 4-bit formats element `j` is the
//! low nibble of byte `j` and element `j + 16` its high nibble.

use half::f16;

use super::{GgufError, TensorType};

const QK: usize = 32;

/// (elements per block, bytes per block), or None for types we cannot read.
pub fn block_size(ty: TensorType) -> Option<(u64, u64)> {
    match ty {
        TensorType::F32 => Some((1, 4)),
        TensorType::F16 => Some((1, 2)),
        TensorType::Q4_0 => Some((32, 18)),
        TensorType::Q4_1 => Some((32, 20)),
        TensorType::Q8_0 => Some((32, 34)),
        TensorType::Other(_) => None,
    }
}

/// Decode `n` elements of type `ty` from `bytes` into f32.
pub fn dequantize(ty: TensorType, bytes: &[u8], n: usize) -> Result<Vec<f32>, GgufError> {
    let (block, block_bytes) =
        block_size(ty).ok_or_else(|| GgufError::UnsupportedType { ty: ty.name(), tensor: String::new() })?;
    let (block, block_bytes) = (block as usize, block_bytes as usize);
    // Checked: a wrapped product could match a short slice and then size the output from `n`.
    if !n.is_multiple_of(block) || (n / block).checked_mul(block_bytes) != Some(bytes.len()) {
        return Err(GgufError::BadTensor {
            name: String::new(),
            why: format!("{} bytes do not hold {n} {} elements", bytes.len(), ty.name()),
        });
    }
    let mut out = Vec::with_capacity(n);
    match ty {
        TensorType::F32 => out.extend(bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
        TensorType::F16 => out.extend(bytes.chunks_exact(2).map(|b| f16_at(b, 0))),
        TensorType::Q4_0 => bytes.chunks_exact(block_bytes).for_each(|b| q4_0(b, &mut out)),
        TensorType::Q4_1 => bytes.chunks_exact(block_bytes).for_each(|b| q4_1(b, &mut out)),
        TensorType::Q8_0 => bytes.chunks_exact(block_bytes).for_each(|b| q8_0(b, &mut out)),
        TensorType::Other(_) => unreachable!("block_size refused it"),
    }
    Ok(out)
}

fn f16_at(b: &[u8], i: usize) -> f32 {
    f16::from_le_bytes([b[i], b[i + 1]]).to_f32()
}

/// f16 d, 16 bytes of nibbles; x = (q − 8)·d.
fn q4_0(b: &[u8], out: &mut Vec<f32>) {
    let d = f16_at(b, 0);
    let qs = &b[2..18];
    out.extend(qs.iter().map(|q| ((q & 0x0f) as i32 - 8) as f32 * d));
    out.extend(qs.iter().map(|q| ((q >> 4) as i32 - 8) as f32 * d));
}

/// f16 d, f16 m, 16 bytes of nibbles; x = q·d + m.
fn q4_1(b: &[u8], out: &mut Vec<f32>) {
    let d = f16_at(b, 0);
    let m = f16_at(b, 2);
    let qs = &b[4..20];
    out.extend(qs.iter().map(|q| (q & 0x0f) as f32 * d + m));
    out.extend(qs.iter().map(|q| (q >> 4) as f32 * d + m));
}

/// f16 d, 32 signed bytes; x = q·d.
fn q8_0(b: &[u8], out: &mut Vec<f32>) {
    let d = f16_at(b, 0);
    out.extend(b[2..2 + QK].iter().map(|&q| q as i8 as f32 * d));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q4_1_block_layout() {
        // d = 0.5, m = -1.0, nibbles: low = j % 16, high = 15 - j % 16
        let mut b = Vec::new();
        b.extend(f16::from_f32(0.5).to_le_bytes());
        b.extend(f16::from_f32(-1.0).to_le_bytes());
        for j in 0..16u8 {
            b.push(j | ((15 - j) << 4));
        }
        let x = dequantize(TensorType::Q4_1, &b, 32).unwrap();
        assert_eq!(x[0], -1.0);
        assert_eq!(x[15], 15.0 * 0.5 - 1.0);
        assert_eq!(x[16], 15.0 * 0.5 - 1.0);
        assert_eq!(x[31], -1.0);
    }

    #[test]
    fn q4_0_and_q8_0_blocks() {
        let mut b = f16::from_f32(2.0).to_le_bytes().to_vec();
        b.extend([0x80u8; 16]); // low nibble 0 → −8, high nibble 8 → 0
        let x = dequantize(TensorType::Q4_0, &b, 32).unwrap();
        assert!(x[..16].iter().all(|&v| v == -16.0));
        assert!(x[16..].iter().all(|&v| v == 0.0));

        let mut b = f16::from_f32(0.25).to_le_bytes().to_vec();
        b.extend((0..32).map(|i| (i as i8 - 16) as u8));
        let x = dequantize(TensorType::Q8_0, &b, 32).unwrap();
        assert_eq!(x[0], -4.0);
        assert_eq!(x[31], 15.0 * 0.25);
    }

    #[test]
    fn wrong_length_is_an_error() {
        assert!(dequantize(TensorType::Q4_1, &[0u8; 19], 32).is_err());
        assert!(dequantize(TensorType::Other(12), &[0u8; 144], 256).is_err());
    }
}
