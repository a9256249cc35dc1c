//! AVX2 + FMA + F16C kernels. A block's 32 weights are widened to two vectors of 16 × i16 and
//! multiplied with the activations' i16 (`vpmaddwd`: 16 products summed in pairs).
//!
//! Work comes in tiles, so that independent multiply chains overlap and nothing is loaded twice:
//! four weight rows against one activation row in decode (the activation block is loaded once
//! for four rows), one weight row against four activation rows in a batch (the weight block is
//! unpacked once for four rows). Scales are widened from f16 in registers.

use std::arch::x86_64::*;

use super::QK;
use super::acts::ActRow;
use super::blocks::BlockKind;

/// out[r · n + i] = W[r] · xs[i] for every row r of `rows` (whole rows of `nb` blocks) and every
/// activation row i of `xs` (n of them).
///
/// # Safety
/// The processor must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn matmul(kind: BlockKind, rows: &[u8], nb: usize, xs: &[ActRow<'_>], out: &mut [f32]) {
    match kind {
        BlockKind::Q4_0 => tiles::<false, false, false>(rows, nb, xs, out),
        BlockKind::Q4_1 => tiles::<false, true, false>(rows, nb, xs, out),
        BlockKind::Q8_0 => tiles::<true, false, false>(rows, nb, xs, out),
    }
}

/// Blocks widened to f32 (the wide-batch path), the scalar loop compiled for AVX2: the
/// baseline x86-64 build has only SSE2, where each nibble-to-float costs several unpacks.
///
/// # Safety
/// The processor must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn widen_blocks(kind: BlockKind, blocks: &[u8], out: &mut [[f32; QK]]) {
    for (b, o) in blocks.chunks_exact(kind.bytes()).zip(out) {
        super::scalar::widen_block_into(kind, b, o);
    }
}

/// As [`matmul`], with AVX-512 (F + BW): a whole block is one vector of 32 × i16, so a block
/// costs one `vpmaddwd` per activation row instead of two and an add.
///
/// # Safety
/// The processor must support AVX-512 F and BW, AVX2, FMA and F16C.
#[target_feature(enable = "avx512f,avx512bw,avx2,fma,f16c")]
pub(crate) unsafe fn matmul_avx512(kind: BlockKind, rows: &[u8], nb: usize, xs: &[ActRow<'_>], out: &mut [f32]) {
    match kind {
        BlockKind::Q4_0 => tiles::<false, false, true>(rows, nb, xs, out),
        BlockKind::Q4_1 => tiles::<false, true, true>(rows, nb, xs, out),
        BlockKind::Q8_0 => tiles::<true, false, true>(rows, nb, xs, out),
    }
}

/// How far ahead decode prefetches, in rows: two tiles.
const PREFETCH_ROWS: usize = 8;

const fn stride(q8: bool, min: bool) -> usize {
    if q8 {
        34
    } else if min {
        20
    } else {
        18
    }
}

/// `WIDE`: the AVX-512 tiles; the caller has checked the processor has them.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn tiles<const Q8: bool, const MIN: bool, const WIDE: bool>(
    rows: &[u8],
    nb: usize,
    xs: &[ActRow<'_>],
    out: &mut [f32],
) {
    let row_bytes = nb * stride(Q8, MIN);
    let n_rows = rows.len() / row_bytes;
    let n = xs.len();
    assert!(rows.len() == n_rows * row_bytes && out.len() == n_rows * n, "whole rows and one output each");
    assert!(xs.iter().all(|x| x.q.len() == nb * QK && x.d.len() == nb && x.s.len() == nb), "activations of nb blocks");
    // Up to three activation rows (decode; Compare's three sequences) share each pass over the
    // weights: a tile of four weight rows against all of them, so the matrix is read once.
    // AVX2 has 16 vector registers: four weight rows against two or three activation rows
    // would spill the accumulators (three rows cost 3.5× one), so it takes two weight rows.
    match xs {
        [x] => few::<Q8, MIN, WIDE, 4, 1>(rows, row_bytes, nb, [x], out),
        [x, y] if WIDE => few::<Q8, MIN, WIDE, 4, 2>(rows, row_bytes, nb, [x, y], out),
        [x, y] => few::<Q8, MIN, WIDE, 2, 2>(rows, row_bytes, nb, [x, y], out),
        [x, y, z] if WIDE => few::<Q8, MIN, WIDE, 4, 3>(rows, row_bytes, nb, [x, y, z], out),
        [x, y, z] => few::<Q8, MIN, WIDE, 2, 3>(rows, row_bytes, nb, [x, y, z], out),
        _ => many::<Q8, MIN, WIDE>(rows, row_bytes, nb, xs, out),
    }
}

/// Every weight row against `XR` (1 to 3) activation rows, `WR` weight rows at a time.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn few<const Q8: bool, const MIN: bool, const WIDE: bool, const WR: usize, const XR: usize>(
    rows: &[u8],
    row_bytes: usize,
    nb: usize,
    xs: [&ActRow<'_>; XR],
    out: &mut [f32],
) {
    let (n_rows, ahead) = (rows.len() / row_bytes, PREFETCH_ROWS * row_bytes);
    let row = |r: usize| rows[r * row_bytes..].as_ptr();
    let mut r = 0;
    while r + WR <= n_rows {
        let w: [*const u8; WR] = std::array::from_fn(|k| row(r + k));
        // SAFETY: rows r..r+WR exist; the activation rows have nb blocks (asserted by `tiles`).
        let t = unsafe { pick::<Q8, MIN, WIDE, WR, XR>(w, nb, xs, ahead) };
        for (k, t) in t.iter().enumerate() {
            out[(r + k) * XR..(r + k + 1) * XR].copy_from_slice(t);
        }
        r += WR;
    }
    for r in r..n_rows {
        // SAFETY: as above.
        let t = unsafe { pick::<Q8, MIN, WIDE, 1, XR>([row(r)], nb, xs, 0) };
        out[r * XR..(r + 1) * XR].copy_from_slice(&t[0]);
    }
}

/// Every weight row against four or more activation rows: a weight block is unpacked once for
/// four of them.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn many<const Q8: bool, const MIN: bool, const WIDE: bool>(
    rows: &[u8],
    row_bytes: usize,
    nb: usize,
    xs: &[ActRow<'_>],
    out: &mut [f32],
) {
    let (n_rows, n) = (rows.len() / row_bytes, xs.len());
    let row = |r: usize| rows[r * row_bytes..].as_ptr();
    for r in 0..n_rows {
        let mut i = 0;
        while i + 4 <= n {
            // SAFETY: row r exists; the activation rows have nb blocks (asserted by `tiles`).
            let t =
                unsafe { pick::<Q8, MIN, WIDE, 1, 4>([row(r)], nb, [&xs[i], &xs[i + 1], &xs[i + 2], &xs[i + 3]], 0) };
            out[r * n + i..r * n + i + 4].copy_from_slice(&t[0]);
            i += 4;
        }
        for i in i..n {
            // SAFETY: as above.
            out[r * n + i] = unsafe { pick::<Q8, MIN, WIDE, 1, 1>([row(r)], nb, [&xs[i]], 0) }[0][0];
        }
    }
}

/// The AVX-512 or the AVX2 tile.
///
/// # Safety
/// As [`tile`]; with `WIDE` the processor must support AVX-512 F and BW.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
unsafe fn pick<const Q8: bool, const MIN: bool, const WIDE: bool, const WR: usize, const XR: usize>(
    w: [*const u8; WR],
    nb: usize,
    xs: [&ActRow<'_>; XR],
    ahead: usize,
) -> [[f32; XR]; WR] {
    // SAFETY: passed on from the caller.
    unsafe {
        if WIDE { tile512::<Q8, MIN, WR, XR>(w, nb, xs, ahead) } else { tile::<Q8, MIN, WR, XR>(w, nb, xs, ahead) }
    }
}

/// WR weight rows (pointers to their first block) against XR activation rows. With `ahead` > 0
/// the rows `ahead` bytes further on are prefetched as these are read: a decode product streams
/// the whole matrix from L3 or memory, and the hardware prefetcher alone left it waiting on loads.
///
/// # Safety
/// Each pointer must start `nb` blocks of this format; each activation row must hold `nb` blocks.
/// Prefetching an address past the matrix is harmless (it never faults).
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
unsafe fn tile<const Q8: bool, const MIN: bool, const WR: usize, const XR: usize>(
    w: [*const u8; WR],
    nb: usize,
    xs: [&ActRow<'_>; XR],
    ahead: usize,
) -> [[f32; XR]; WR] {
    let stride = stride(Q8, MIN);
    let quants = if MIN { 4 } else { 2 };
    let mask = _mm_set1_epi8(0x0f);
    let mut acc = [[_mm256_setzero_ps(); XR]; WR];
    let mut mins = [[0f32; XR]; WR];
    for b in 0..nb {
        // The activations' block: 2 × 16 i16, their scale and their sum.
        let mut xq = [[_mm256_setzero_si256(); 2]; XR];
        let (mut xd, mut xs_sum) = ([0f32; XR], [0f32; XR]);
        for j in 0..XR {
            // SAFETY: block b of an activation row of nb blocks.
            unsafe {
                let q = xs[j].q.as_ptr().add(b * QK);
                xq[j] = [_mm256_loadu_si256(q.cast()), _mm256_loadu_si256(q.add(16).cast())];
                xd[j] = *xs[j].d.get_unchecked(b);
                xs_sum[j] = *xs[j].s.get_unchecked(b);
            }
        }
        for k in 0..WR {
            // SAFETY: block b of a row of nb blocks; unaligned loads are allowed.
            let (dm, lo, hi) = unsafe {
                let block = w[k].add(b * stride);
                if ahead > 0 {
                    _mm_prefetch::<_MM_HINT_T0>(block.wrapping_add(ahead).cast());
                }
                // d (and m) in lanes 0 (and 1)
                let dm = _mm_cvtph_ps(_mm_cvtsi32_si128((block as *const i32).read_unaligned()));
                let (lo, hi) = if Q8 {
                    let q = block.add(2);
                    (
                        _mm256_cvtepi8_epi16(_mm_loadu_si128(q.cast())),
                        _mm256_cvtepi8_epi16(_mm_loadu_si128(q.add(16).cast())),
                    )
                } else {
                    let raw = _mm_loadu_si128(block.add(quants).cast());
                    (
                        _mm256_cvtepu8_epi16(_mm_and_si128(raw, mask)), // elements 0..16
                        _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(raw, 4), mask)), // 16..32
                    )
                };
                (dm, lo, hi)
            };
            let d = _mm_cvtss_f32(dm);
            let m = if MIN { _mm_cvtss_f32(_mm_movehdup_ps(dm)) } else { -8.0 * d };
            for j in 0..XR {
                let sum = _mm256_add_epi32(_mm256_madd_epi16(lo, xq[j][0]), _mm256_madd_epi16(hi, xq[j][1]));
                acc[k][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum), _mm256_set1_ps(d * xd[j]), acc[k][j]);
                if !Q8 {
                    mins[k][j] += m * xs_sum[j];
                }
            }
        }
    }
    let mut out = [[0f32; XR]; WR];
    for k in 0..WR {
        for j in 0..XR {
            out[k][j] = hsum(acc[k][j]) + mins[k][j];
        }
    }
    out
}

/// [`tile`] with a block in one 512-bit vector.
///
/// # Safety
/// As [`tile`], and the processor must support AVX-512 F and BW.
#[target_feature(enable = "avx512f,avx512bw,avx2,fma,f16c")]
#[inline]
unsafe fn tile512<const Q8: bool, const MIN: bool, const WR: usize, const XR: usize>(
    w: [*const u8; WR],
    nb: usize,
    xs: [&ActRow<'_>; XR],
    ahead: usize,
) -> [[f32; XR]; WR] {
    let stride = stride(Q8, MIN);
    let quants = if MIN { 4 } else { 2 };
    let mask = _mm_set1_epi8(0x0f);
    let mut acc = [[_mm512_setzero_ps(); XR]; WR];
    let mut mins = [[0f32; XR]; WR];
    for b in 0..nb {
        let mut xq = [_mm512_setzero_si512(); XR];
        let (mut xd, mut xs_sum) = ([_mm512_setzero_ps(); XR], [0f32; XR]);
        for j in 0..XR {
            // SAFETY: block b of an activation row of nb blocks.
            unsafe {
                xq[j] = _mm512_loadu_si512(xs[j].q.as_ptr().add(b * QK).cast());
                xd[j] = _mm512_set1_ps(*xs[j].d.get_unchecked(b));
                xs_sum[j] = *xs[j].s.get_unchecked(b);
            }
        }
        for k in 0..WR {
            // SAFETY: block b of a row of nb blocks; unaligned loads are allowed.
            let (dm, wq) = unsafe {
                let block = w[k].add(b * stride);
                if ahead > 0 {
                    _mm_prefetch::<_MM_HINT_T0>(block.wrapping_add(ahead).cast());
                }
                let dm = _mm_cvtph_ps(_mm_cvtsi32_si128((block as *const i32).read_unaligned()));
                let wq = if Q8 {
                    _mm512_cvtepi8_epi16(_mm256_loadu_si256(block.add(2).cast()))
                } else {
                    let raw = _mm_loadu_si128(block.add(quants).cast());
                    let (lo, hi) = (_mm_and_si128(raw, mask), _mm_and_si128(_mm_srli_epi16(raw, 4), mask));
                    _mm512_cvtepu8_epi16(_mm256_set_m128i(hi, lo)) // elements 0..32 in order
                };
                (dm, wq)
            };
            let d = _mm_cvtss_f32(dm);
            let m = if MIN { _mm_cvtss_f32(_mm_movehdup_ps(dm)) } else { -8.0 * d };
            // Broadcast once per weight block and multiplied per activation row in the vector
            // unit: a scalar product and a broadcast per row cost a Compare step more.
            let dv = _mm512_set1_ps(d);
            for j in 0..XR {
                let sum = _mm512_madd_epi16(wq, xq[j]);
                acc[k][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), _mm512_mul_ps(dv, xd[j]), acc[k][j]);
                if !Q8 {
                    mins[k][j] += m * xs_sum[j];
                }
            }
        }
    }
    let mut out = [[0f32; XR]; WR];
    for k in 0..WR {
        for j in 0..XR {
            out[k][j] = _mm512_reduce_add_ps(acc[k][j]) + mins[k][j];
        }
    }
    out
}

#[target_feature(enable = "avx2,fma")]
#[inline]
fn hsum(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    _mm_cvtss_f32(s)
}
