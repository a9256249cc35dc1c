//! The reference kernels: plain loops, the semantics every SIMD kernel must reproduce (the
//! integer part exactly; the f32 part up to summation order).

use super::QK;
use super::acts::ActRow;
use super::blocks::BlockKind;

/// f16 bits → f32 without a branch or a table: shift the exponent and mantissa into f32's
/// places, rescale by 2^112 (which also handles zero and subnormals), put the sign back.
/// Infinities and NaN never get here: loading refuses them.
#[inline(always)]
pub(crate) fn f16_to_f32(h: u16) -> f32 {
    let magnitude = f32::from_bits(((h & 0x7fff) as u32) << 13) * f32::from_bits(0x7780_0000);
    f32::from_bits(magnitude.to_bits() | (((h & 0x8000) as u32) << 16))
}

#[inline(always)]
pub(crate) fn f16_at(b: &[u8], i: usize) -> f32 {
    f16_to_f32(u16::from_le_bytes([b[i], b[i + 1]]))
}

/// (d, m) of a 4-bit block; Q4_0's (q − 8)·d is q·d + m with m = −8·d.
#[inline(always)]
pub(crate) fn q4_scales(kind: BlockKind, b: &[u8]) -> (f32, f32) {
    let d = f16_at(b, 0);
    match kind {
        BlockKind::Q4_1 => (d, f16_at(b, 2)),
        _ => (d, -8.0 * d),
    }
}

/// Offset of the quants in a block.
#[inline(always)]
pub(crate) const fn quants_at(kind: BlockKind) -> usize {
    match kind {
        BlockKind::Q4_1 => 4,
        _ => 2,
    }
}

/// W · x for one row: Σ_b d_w·d_x·Σ_j q_j·xq_j (+ m_w·Σ_j x_j for 4-bit blocks).
pub(crate) fn dot(kind: BlockKind, row: &[u8], x: ActRow<'_>) -> f32 {
    let mut acc = 0f32;
    for (b, block) in row.chunks_exact(kind.bytes()).enumerate() {
        let xq = &x.q[b * QK..(b + 1) * QK];
        let qs = &block[quants_at(kind)..];
        if kind == BlockKind::Q8_0 {
            let isum: i32 = qs.iter().zip(xq).map(|(&q, &x)| q as i8 as i32 * x as i32).sum();
            acc += f16_at(block, 0) * x.d[b] * isum as f32;
        } else {
            let (d, m) = q4_scales(kind, block);
            let mut isum = 0i32;
            for j in 0..16 {
                isum += (qs[j] & 0x0f) as i32 * xq[j] as i32 + (qs[j] >> 4) as i32 * xq[j + 16] as i32;
            }
            acc += d * x.d[b] * isum as f32 + m * x.s[b];
        }
    }
    acc
}

/// Append block `b`'s 32 values as f32.
pub(crate) fn widen_block(kind: BlockKind, b: &[u8], out: &mut Vec<f32>) {
    let mut block = [0f32; QK];
    widen_block_into(kind, b, &mut block);
    out.extend_from_slice(&block);
}

/// Block `b`'s 32 values as f32 into `out`. Fixed-size arrays throughout, so the compiler
/// drops the bounds checks and vectorises each half into a few instructions.
#[inline(always)]
pub(crate) fn widen_block_into(kind: BlockKind, b: &[u8], out: &mut [f32; QK]) {
    let at = quants_at(kind);
    let d = f16_at(b, 0);
    if kind == BlockKind::Q8_0 {
        let qs: &[u8; QK] = b[at..at + QK].try_into().expect("a Q8_0 block");
        for (o, &q) in out.iter_mut().zip(qs) {
            *o = q as i8 as f32 * d;
        }
        return;
    }
    let qs: &[u8; QK / 2] = b[at..at + QK / 2].try_into().expect("a 4-bit block");
    // Q4_0 as (q − 8)·d exactly, as ggml widens it; Q4_1 as q·d + m.
    let (offset, m) = match kind {
        BlockKind::Q4_1 => (0.0, f16_at(b, 2)),
        _ => (-8.0, 0.0),
    };
    let (lo, hi) = out.split_at_mut(QK / 2);
    for j in 0..QK / 2 {
        lo[j] = ((qs[j] & 0x0f) as f32 + offset) * d + m;
        hi[j] = ((qs[j] >> 4) as f32 + offset) * d + m;
    }
}
