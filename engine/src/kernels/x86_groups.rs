//! AVX-512 products over row groups ([`super::row_groups`]): lane r of every vector is row r of
//! a group of sixteen, so a block costs per activation row sixteen multiply-adds of element
//! pairs (one `vpdpwssd` each with AVX-512 VNNI) and its scales are applied once for the
//! group. No horizontal sum: a group's sixteen outputs come out as one vector.

use std::arch::x86_64::*;

use super::QK;
use super::acts::ActRow;
use super::blocks::BlockKind;
use super::row_groups::GROUP;

/// Group-blocks ahead of the one in use that a pass prefetches: two (a Q4_1 group-block is
/// 320 bytes) took longer per chat step than six, eight or twelve, alternating the binaries
/// with `tiller bench`; twenty was slower again.
const PREFETCH_AHEAD: usize = 8;

/// Activation rows one pass over a group's weights serves; more are taken this many at a time
/// while the group's blocks are still in cache.
const PASS: usize = 4;

/// out[i · stride + r] = W[r] · xs[i] for every row r of `groups` (whole groups of `nb` blocks)
/// and every activation row i of `xs`: a group's sixteen outputs for one activation row are
/// one vector store.
///
/// # Safety
/// The processor must support AVX-512 F and BW, AVX2, FMA and F16C. `out` must be valid for
/// writes at every such index, and the activation rows must hold `nb` blocks.
#[target_feature(enable = "avx512f,avx512bw,avx2,fma,f16c")]
pub(crate) unsafe fn matmul(
    kind: BlockKind,
    groups: &[u8],
    nb: usize,
    xs: &[ActRow<'_>],
    out: *mut f32,
    stride: usize,
) {
    // SAFETY: passed on from the caller.
    unsafe { by_kind::<false>(kind, groups, nb, xs, out, stride) }
}

/// As [`matmul`], summing the pairs with `vpdpwssd`.
///
/// # Safety
/// As [`matmul`], and the processor must support AVX-512 VNNI.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma,f16c")]
pub(crate) unsafe fn matmul_vnni(
    kind: BlockKind,
    groups: &[u8],
    nb: usize,
    xs: &[ActRow<'_>],
    out: *mut f32,
    stride: usize,
) {
    // SAFETY: passed on from the caller.
    unsafe { by_kind::<true>(kind, groups, nb, xs, out, stride) }
}

/// # Safety
/// As [`matmul`]; inlined into the two entry points, which enable the instruction sets.
#[inline(always)]
unsafe fn by_kind<const VNNI: bool>(
    kind: BlockKind,
    groups: &[u8],
    nb: usize,
    xs: &[ActRow<'_>],
    out: *mut f32,
    stride: usize,
) {
    // SAFETY: passed on from the caller.
    unsafe {
        match kind {
            BlockKind::Q4_0 => passes::<false, false, VNNI>(groups, nb, xs, out, stride),
            BlockKind::Q4_1 => passes::<false, true, VNNI>(groups, nb, xs, out, stride),
            BlockKind::Q8_0 => passes::<true, false, VNNI>(groups, nb, xs, out, stride),
        }
    }
}

/// Bytes of a group-block.
const fn stride_of(q8: bool, min: bool) -> usize {
    GROUP
        * if q8 {
            34
        } else if min {
            20
        } else {
            18
        }
}

/// # Safety
/// As [`matmul`].
#[inline(always)]
unsafe fn passes<const Q8: bool, const MIN: bool, const VNNI: bool>(
    groups: &[u8],
    nb: usize,
    xs: &[ActRow<'_>],
    out: *mut f32,
    stride: usize,
) {
    let group_bytes = nb * stride_of(Q8, MIN);
    let n_groups = groups.len() / group_bytes;
    assert!(groups.len() == n_groups * group_bytes, "whole groups");
    assert!(xs.iter().all(|x| x.q.len() == nb * QK && x.d.len() == nb && x.s.len() == nb), "activations of nb blocks");
    for g in 0..n_groups {
        let group = groups[g * group_bytes..].as_ptr();
        for (i, rows) in xs.chunks(PASS).enumerate() {
            // SAFETY: group g holds nb group-blocks; the activation rows have nb blocks
            // (asserted); the caller lets us write the group's outputs.
            unsafe {
                let out = out.add(i * PASS * stride + g * GROUP);
                match rows {
                    [a] => store(out, stride, group_pass::<Q8, MIN, VNNI, 1>(group, nb, [a])),
                    [a, b] => store(out, stride, group_pass::<Q8, MIN, VNNI, 2>(group, nb, [a, b])),
                    [a, b, c] => store(out, stride, group_pass::<Q8, MIN, VNNI, 3>(group, nb, [a, b, c])),
                    [a, b, c, d] => store(out, stride, group_pass::<Q8, MIN, VNNI, 4>(group, nb, [a, b, c, d])),
                    _ => unreachable!("passes of 1 to {PASS} rows"),
                }
            }
        }
    }
}

/// A group's sixteen outputs for each of XR activation rows, `stride` apart.
///
/// # Safety
/// `out + j · stride .. + GROUP` must be valid for writes for every j < XR.
#[inline(always)]
unsafe fn store<const XR: usize>(out: *mut f32, stride: usize, acc: [__m512; XR]) {
    for (j, v) in acc.into_iter().enumerate() {
        // SAFETY: the caller's contract.
        unsafe { _mm512_storeu_ps(out.add(j * stride), v) };
    }
}

/// One group (a pointer to its first group-block) against `XR` activation rows: each lane's
/// row · x for every x.
///
/// # Safety
/// `group` must start `nb` group-blocks of this format; each activation row must hold `nb`
/// blocks. Prefetching past the matrix is harmless (it never faults).
#[inline(always)]
unsafe fn group_pass<const Q8: bool, const MIN: bool, const VNNI: bool, const XR: usize>(
    group: *const u8,
    nb: usize,
    xs: [&ActRow<'_>; XR],
) -> [__m512; XR] {
    let size = stride_of(Q8, MIN);
    // SAFETY: the caller's contract; every load below is within group-block b or the
    // activations' block b.
    unsafe {
        let mut acc = [_mm512_setzero_ps(); XR];
        for b in 0..nb {
            let block = group.add(b * size);
            // The stream the hardware prefetcher follows, started early.
            for line in (0..size).step_by(64) {
                _mm_prefetch::<_MM_HINT_T0>(block.wrapping_add(PREFETCH_AHEAD * size + line).cast());
            }
            let d = _mm512_cvtph_ps(_mm256_loadu_si256(block.cast()));
            let mut isum = [_mm512_setzero_si512(); XR];
            if Q8 {
                let q = block.add(2 * GROUP);
                for p in 0..QK / 2 {
                    let w = _mm512_cvtepi8_epi16(_mm256_loadu_si256(q.add(32 * p).cast()));
                    for j in 0..XR {
                        isum[j] = dot::<VNNI>(isum[j], w, pair(xs[j], b, p));
                    }
                }
            } else {
                // Nibbles 0 and 1 of a lane are masked out in place (nibble 1 after one shift),
                // nibbles 2 and 3 as 256 times their value into sums of their own, exact
                // multiples of 256 that one shift brings back per row: three shifts a chunk
                // were as many instructions as the multiply-adds of one row, on the same port.
                // |Σ| ≤ 16 elements · 15 · 256 · 32767 < 2³¹.
                let (low, high) = (_mm512_set1_epi16(0x000f), _mm512_set1_epi16(0x0f00));
                let mut isum_high = [_mm512_setzero_si512(); XR];
                let q = block.add(if MIN { 4 } else { 2 } * GROUP);
                for c in 0..4 {
                    let raw = _mm512_loadu_si512(q.add(64 * c).cast());
                    let odd = _mm512_srli_epi16::<4>(raw);
                    let (w0, w1) = (_mm512_and_si512(raw, low), _mm512_and_si512(odd, low));
                    let (w2, w3) = (_mm512_and_si512(raw, high), _mm512_and_si512(odd, high));
                    for j in 0..XR {
                        isum[j] = dot::<VNNI>(isum[j], w0, pair(xs[j], b, 4 * c));
                        isum[j] = dot::<VNNI>(isum[j], w1, pair(xs[j], b, 4 * c + 1));
                        isum_high[j] = dot::<VNNI>(isum_high[j], w2, pair(xs[j], b, 4 * c + 2));
                        isum_high[j] = dot::<VNNI>(isum_high[j], w3, pair(xs[j], b, 4 * c + 3));
                    }
                }
                for j in 0..XR {
                    isum[j] = _mm512_add_epi32(isum[j], _mm512_srai_epi32::<8>(isum_high[j]));
                }
            }
            let m = if MIN {
                _mm512_cvtph_ps(_mm256_loadu_si256(block.add(2 * GROUP).cast()))
            } else {
                _mm512_mul_ps(d, _mm512_set1_ps(-8.0))
            };
            for j in 0..XR {
                let scale = _mm512_mul_ps(d, _mm512_set1_ps(*xs[j].d.get_unchecked(b)));
                acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[j]), scale, acc[j]);
                if !Q8 {
                    acc[j] = _mm512_fmadd_ps(m, _mm512_set1_ps(*xs[j].s.get_unchecked(b)), acc[j]);
                }
            }
        }
        acc
    }
}

/// Element pair p of block b of `x`, in both i16 halves of every i32 lane.
#[inline(always)]
unsafe fn pair(x: &ActRow<'_>, b: usize, p: usize) -> __m512i {
    // SAFETY: the caller passes a pair within the row.
    unsafe { _mm512_set1_epi32((x.q.as_ptr().add(b * QK + 2 * p) as *const i32).read_unaligned()) }
}

/// acc + the pairwise products of w and x, summed per i32 lane.
#[inline(always)]
unsafe fn dot<const VNNI: bool>(acc: __m512i, w: __m512i, x: __m512i) -> __m512i {
    // SAFETY: inlined only into functions that enable AVX-512 BW (and VNNI when `VNNI`).
    unsafe { if VNNI { _mm512_dpwssd_epi32(acc, w, x) } else { _mm512_add_epi32(acc, _mm512_madd_epi16(w, x)) } }
}
