//! simd128 kernels: the nibbles or bytes of a block widened to i16 and multiplied with the i16
//! activations by `i32x4.dot_i16x8_s` (8 products summed in pairs), the pattern of llama.cpp's
//! wasm kernels, for Q4_1 too (llama.cpp has none for it). Up to four activation rows share one
//! unpacked block.

use core::arch::wasm32::*;

use super::QK;
use super::acts::ActRow;
use super::blocks::BlockKind;
use super::scalar::f16_at;

/// out[r · n + i] = W[r] · xs[i] for every row r of `rows` (whole rows of `nb` blocks), in tiles
/// as the x86 kernels: four weight rows × one activation row, or one × four.
pub(crate) fn matmul(kind: BlockKind, rows: &[u8], nb: usize, xs: &[ActRow<'_>], out: &mut [f32]) {
    match kind {
        BlockKind::Q4_0 => tiles::<false, false>(rows, nb, xs, out),
        BlockKind::Q4_1 => tiles::<false, true>(rows, nb, xs, out),
        BlockKind::Q8_0 => tiles::<true, false>(rows, nb, xs, out),
    }
}

const fn stride(q8: bool, min: bool) -> usize {
    if q8 {
        34
    } else if min {
        20
    } else {
        18
    }
}

fn tiles<const Q8: bool, const MIN: bool>(rows: &[u8], nb: usize, xs: &[ActRow<'_>], out: &mut [f32]) {
    let row_bytes = nb * stride(Q8, MIN);
    let n_rows = rows.len() / row_bytes;
    let n = xs.len();
    let row = |r: usize| &rows[r * row_bytes..(r + 1) * row_bytes];
    // Up to three activation rows (decode; Compare's three sequences) share each pass over the
    // weights, so the matrix is read once.
    match xs {
        [x] => few::<Q8, MIN, 1>(&row, n_rows, nb, [x], out),
        [x, y] => few::<Q8, MIN, 2>(&row, n_rows, nb, [x, y], out),
        [x, y, z] => few::<Q8, MIN, 3>(&row, n_rows, nb, [x, y, z], out),
        _ => {
            for r in 0..n_rows {
                let mut i = 0;
                while i + 4 <= n {
                    let t = tile::<Q8, MIN, 1, 4>([row(r)], nb, [&xs[i], &xs[i + 1], &xs[i + 2], &xs[i + 3]]);
                    out[r * n + i..r * n + i + 4].copy_from_slice(&t[0]);
                    i += 4;
                }
                for i in i..n {
                    out[r * n + i] = tile::<Q8, MIN, 1, 1>([row(r)], nb, [&xs[i]])[0][0];
                }
            }
        }
    }
}

/// Every weight row against `XR` (1 to 3) activation rows, four weight rows at a time.
#[inline(always)]
fn few<'r, const Q8: bool, const MIN: bool, const XR: usize>(
    row: &impl Fn(usize) -> &'r [u8],
    n_rows: usize,
    nb: usize,
    xs: [&ActRow<'_>; XR],
    out: &mut [f32],
) {
    let mut r = 0;
    while r + 4 <= n_rows {
        let t = tile::<Q8, MIN, 4, XR>([row(r), row(r + 1), row(r + 2), row(r + 3)], nb, xs);
        for (k, t) in t.iter().enumerate() {
            out[(r + k) * XR..(r + k + 1) * XR].copy_from_slice(t);
        }
        r += 4;
    }
    for r in r..n_rows {
        out[r * XR..(r + 1) * XR].copy_from_slice(&tile::<Q8, MIN, 1, XR>([row(r)], nb, xs)[0]);
    }
}

/// The four i16x8 vectors of activation block `b`.
#[inline(always)]
fn x_block(x: &ActRow<'_>, b: usize) -> [v128; 4] {
    let q = &x.q[b * QK..(b + 1) * QK];
    // SAFETY: `q` holds 32 i16, 64 bytes; v128_load has no alignment requirement.
    unsafe {
        let p = q.as_ptr() as *const v128;
        [v128_load(p), v128_load(p.add(1)), v128_load(p.add(2)), v128_load(p.add(3))]
    }
}

#[inline(always)]
fn dot4(w: &[v128; 4], x: [v128; 4]) -> v128 {
    i32x4_add(
        i32x4_add(i32x4_dot_i16x8(w[0], x[0]), i32x4_dot_i16x8(w[1], x[1])),
        i32x4_add(i32x4_dot_i16x8(w[2], x[2]), i32x4_dot_i16x8(w[3], x[3])),
    )
}

#[inline(always)]
fn tile<const Q8: bool, const MIN: bool, const WR: usize, const XR: usize>(
    w: [&[u8]; WR],
    nb: usize,
    xs: [&ActRow<'_>; XR],
) -> [[f32; XR]; WR] {
    let stride = stride(Q8, MIN);
    let quants = if MIN { 4 } else { 2 };
    let mask = u8x16_splat(0x0f);
    let mut acc = [[f32x4_splat(0.0); XR]; WR];
    let mut mins = [[0f32; XR]; WR];
    for b in 0..nb {
        let xq: [[v128; 4]; XR] = core::array::from_fn(|j| x_block(xs[j], b));
        for k in 0..WR {
            let block = &w[k][b * stride..(b + 1) * stride];
            let d = f16_at(block, 0);
            let q = &block[quants..];
            // SAFETY: a block holds 16 (4-bit) or 32 (8-bit) quant bytes after its scales.
            let wq = unsafe {
                if Q8 {
                    let (a, c) = (v128_load(q.as_ptr() as *const v128), v128_load(q.as_ptr().add(16) as *const v128));
                    [
                        i16x8_extend_low_i8x16(a),
                        i16x8_extend_high_i8x16(a),
                        i16x8_extend_low_i8x16(c),
                        i16x8_extend_high_i8x16(c),
                    ]
                } else {
                    let raw = v128_load(q.as_ptr() as *const v128);
                    let (lo, hi) = (v128_and(raw, mask), u8x16_shr(raw, 4));
                    [
                        u16x8_extend_low_u8x16(lo),
                        u16x8_extend_high_u8x16(lo),
                        u16x8_extend_low_u8x16(hi),
                        u16x8_extend_high_u8x16(hi),
                    ]
                }
            };
            let m = if MIN { f16_at(block, 2) } else { -8.0 * d };
            for j in 0..XR {
                let sum = dot4(&wq, xq[j]);
                acc[k][j] = f32x4_add(acc[k][j], f32x4_mul(f32x4_convert_i32x4(sum), f32x4_splat(d * xs[j].d[b])));
                if !Q8 {
                    mins[k][j] += m * xs[j].s[b];
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

#[inline(always)]
fn hsum(v: v128) -> f32 {
    f32x4_extract_lane::<0>(v) + f32x4_extract_lane::<1>(v) + f32x4_extract_lane::<2>(v) + f32x4_extract_lane::<3>(v)
}
