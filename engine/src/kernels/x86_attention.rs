//! AVX-512 for the two halves of one query row's attention over one head's cache: the scores
//! (a dot per cached key) and the values' weighted sum. A head of `16 · NC` values is NC
//! vectors, so a key's dot is NC fused multiply-adds and one horizontal sum.
//!
//! The portable loops in [`super::ops`] compile to 128-bit SSE natively (x86-64's baseline),
//! without fused multiply-adds: there three Compare sequences' attention was a fifth of a step.
//! Keys and values of position p start at `p · kv_dim`, the slices already offset to the head.

use std::arch::x86_64::*;

/// scores[p] = scale · q · k[p · kv_dim..][..16 · NC] for every p < scores.len().
///
/// # Safety
/// The processor must support AVX-512 F.
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn scores<const NC: usize>(q: &[f32], k: &[f32], kv_dim: usize, scale: f32, scores: &mut [f32]) {
    assert!(q.len() == 16 * NC, "a head of {} values", 16 * NC);
    assert!(scores.is_empty() || (scores.len() - 1) * kv_dim + 16 * NC <= k.len(), "a key per score");
    // SAFETY: AVX-512 F is enabled; every load is within q or within key p (asserted above).
    unsafe {
        let q: [__m512; NC] = std::array::from_fn(|c| _mm512_loadu_ps(q.as_ptr().add(16 * c)));
        for (p, s) in scores.iter_mut().enumerate() {
            let key = k.as_ptr().add(p * kv_dim);
            let mut acc = _mm512_mul_ps(q[0], _mm512_loadu_ps(key));
            for (c, &q) in q.iter().enumerate().skip(1) {
                acc = _mm512_fmadd_ps(q, _mm512_loadu_ps(key.add(16 * c)), acc);
            }
            *s = _mm512_reduce_add_ps(acc) * scale;
        }
    }
}

/// out = Σ_p weights[p] · v[p · kv_dim..][..16 · NC].
///
/// # Safety
/// The processor must support AVX-512 F.
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn weighted_sum<const NC: usize>(weights: &[f32], v: &[f32], kv_dim: usize, out: &mut [f32]) {
    assert!(out.len() == 16 * NC, "a head of {} values", 16 * NC);
    assert!(weights.is_empty() || (weights.len() - 1) * kv_dim + 16 * NC <= v.len(), "a value per weight");
    // SAFETY: AVX-512 F is enabled; every load is within value p, every store within `out`.
    unsafe {
        let mut acc = [_mm512_setzero_ps(); NC];
        for (p, &w) in weights.iter().enumerate() {
            let (value, w) = (v.as_ptr().add(p * kv_dim), _mm512_set1_ps(w));
            for (c, acc) in acc.iter_mut().enumerate() {
                *acc = _mm512_fmadd_ps(w, _mm512_loadu_ps(value.add(16 * c)), *acc);
            }
        }
        for (c, acc) in acc.into_iter().enumerate() {
            _mm512_storeu_ps(out.as_mut_ptr().add(16 * c), acc);
        }
    }
}
