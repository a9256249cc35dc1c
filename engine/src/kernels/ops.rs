//! The small operations between a block's matrix products, on rows of f32 in host memory:
//! RMSNorm, RoPE, causal attention over a KV cache, SwiGLU, the residual add.
//!
//! On a CPU these run here rather than as burn tensor ops: a decoded token is ~40 tiny ops per
//! block, and burn's cost per op (dispatch, a fresh buffer, a pass over memory) was a third of
//! a decode step — more than the ops themselves. Each function is one pass over its rows.
//!
//! The inner loops keep eight partial sums, a shape the compiler turns into SIMD on every
//! target (SSE natively, simd128 in the worker) without `unsafe`. Attention's two loops per
//! cached position also have AVX-512 versions (`x86_attention`), picked at run time.

use super::Isa;

/// Σ a·b, in eight lanes.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0f32; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a8.remainder().iter().zip(b8.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in a8.zip(b8) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// out += w · x, elementwise over the row.
#[inline]
fn axpy(out: &mut [f32], w: f32, x: &[f32]) {
    out.iter_mut().zip(x).for_each(|(o, &v)| *o += w * v);
}

/// x += y.
pub fn add_assign(x: &mut [f32], y: &[f32]) {
    x.iter_mut().zip(y).for_each(|(a, &b)| *a += b);
}

/// Σ exp(x − shift) over `row`, for `shift` ≥ every element (a row's maximum): the normaliser
/// of a softmax over the vocabulary, which Compare needs for three rows a step. libm's `exp` is
/// scalar (49 152 calls took 0.3 ms); [`exp_nonpositive`] is plain arithmetic the compiler
/// turns into SIMD. Partial sums stay in f32 for 256 elements and are added in f64.
pub fn sum_exp(row: &[f32], shift: f32) -> f64 {
    row.chunks(256)
        .map(|chunk| {
            let mut acc = [0f32; 8];
            let c8 = chunk.chunks_exact(8);
            let tail: f32 = c8.remainder().iter().map(|&x| exp_nonpositive(x - shift)).sum();
            for x in c8 {
                for l in 0..8 {
                    acc[l] += exp_nonpositive(x[l] - shift);
                }
            }
            (acc.iter().sum::<f32>() + tail) as f64
        })
        .sum()
}

/// e^x for x ≤ 0 (NaN and −∞ give 0), to a few ulp: x = n·ln2 + f with n an integer and
/// |f| ≤ ln2/2, e^f by its Taylor series to degree 7, 2^n built in the exponent bits.
/// Branch-free and without libm, so it vectorizes on every target.
#[inline(always)]
pub fn exp_nonpositive(x: f32) -> f32 {
    // Below −87 the result would be subnormal: flush to 0 (also −∞; NaN fails the comparison).
    // A mask, not an `if`: a select there kept the loop scalar (four times slower).
    let live = (x >= -87.0) as u32;
    let x = x.clamp(-87.0, 0.0);
    // Adding 1.5 · 2²³ rounds to an integer, which then sits in the mantissa's low bits
    // (|x·log2 e| < 2²²): its bit pattern gives 2^n without a float-to-int conversion, which
    // kept the loop scalar.
    const ROUND: f32 = 12_582_912.0;
    let rounded = x * std::f32::consts::LOG2_E + ROUND;
    let n = rounded - ROUND;
    // f = x − n·ln2 with ln2 in two parts (Cody–Waite): n·LN2_HI is exact for |n| < 2⁹.
    const LN2_HI: f32 = 0.693_359_4; // 0x3f31_8000
    const LN2_LO: f32 = -2.121_944_4e-4;
    let f = (x - n * LN2_HI) - n * LN2_LO; // |f| ≤ ln2 / 2
    let p = 1.0
        + f * (1.0
            + f * (1.0 / 2.0
                + f * (1.0 / 6.0 + f * (1.0 / 24.0 + f * (1.0 / 120.0 + f * (1.0 / 720.0 + f * (1.0 / 5040.0)))))));
    // n + 127 ∈ [1, 127] lands in the exponent field; the pattern's high bits shift out.
    let scale = f32::from_bits(rounded.to_bits().wrapping_add(127) << 23);
    f32::from_bits((p * scale).to_bits() & live.wrapping_neg())
}

/// RMSNorm of each row of `x` [rows, γ.len()]: x / sqrt(mean(x²) + eps) · γ.
pub fn rms_norm(x: &[f32], gamma: &[f32], eps: f32) -> Vec<f32> {
    let mut out = Vec::with_capacity(x.len());
    for row in x.chunks_exact(gamma.len()) {
        let inv_rms = 1.0 / (dot(row, row) / gamma.len() as f32 + eps).sqrt();
        out.extend(row.iter().zip(gamma).map(|(&v, &g)| v * inv_rms * g));
    }
    out
}

/// silu(gate) ⊙ up for rows holding [gate | up] side by side ([rows, 2·n_ff] → [rows, n_ff]).
pub fn swiglu(gate_up: &[f32], n_ff: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(gate_up.len() / 2);
    for row in gate_up.chunks_exact(2 * n_ff) {
        let (gate, up) = row.split_at(n_ff);
        out.extend(gate.iter().zip(up).map(|(&g, &u)| g / (1.0 + (-g).exp()) * u));
    }
    out
}

/// Rotary embedding tables: cos and sin of pos·base^(−2i/n_rot), [n_ctx, n_rot/2] each.
#[derive(Clone, Debug)]
pub struct RopeTables {
    pub n_rot: usize,
    pub cos: Vec<f32>,
    pub sin: Vec<f32>,
}

impl RopeTables {
    pub fn new(n_rot: usize, base: f32, n_ctx: usize) -> Self {
        let half = n_rot / 2;
        let (mut cos, mut sin) = (Vec::with_capacity(n_ctx * half), Vec::with_capacity(n_ctx * half));
        for pos in 0..n_ctx {
            for i in 0..half {
                let theta = pos as f64 * (base as f64).powf(-2.0 * i as f64 / n_rot as f64);
                cos.push(theta.cos() as f32);
                sin.push(theta.sin() as f32);
            }
        }
        Self { n_rot, cos, sin }
    }

    /// Rotate, in place, each head of `x` [head_dim] (heads side by side) at position `pos`:
    /// ADJACENT pairs (x[2i], x[2i+1]) of a head's first n_rot values, as llama.cpp's
    /// LLAMA_ROPE_TYPE_NORM does (see `model::rope`).
    pub fn rotate(&self, x: &mut [f32], head_dim: usize, pos: usize) {
        let half = self.n_rot / 2;
        let (cos, sin) = (&self.cos[pos * half..(pos + 1) * half], &self.sin[pos * half..(pos + 1) * half]);
        for head in x.chunks_exact_mut(head_dim) {
            for (pair, (&c, &s)) in head[..self.n_rot].chunks_exact_mut(2).zip(cos.iter().zip(sin)) {
                let (a, b) = (pair[0], pair[1]);
                pair[0] = a * c - b * s;
                pair[1] = a * s + b * c;
            }
        }
    }
}

/// The shape of grouped-query attention: `n_head` query heads, query head h reading kv head
/// h / (n_head / n_kv).
#[derive(Clone, Copy, Debug)]
pub struct Heads {
    pub n_head: usize,
    pub n_kv: usize,
    pub head_dim: usize,
}

/// Query rows from which [`attend`] multiplies with a GEMM instead of a dot per key.
const GEMM_ROWS: usize = 8;

impl Heads {
    pub fn q_dim(&self) -> usize {
        self.n_head * self.head_dim
    }

    pub fn kv_dim(&self) -> usize {
        self.n_kv * self.head_dim
    }

    /// Causal attention of `seq` query rows at positions `start..start + seq` over keys and
    /// values [start + seq, kv_dim] (row p is position p). `q` rows are `q_stride` apart, the
    /// first q_dim values of each being its heads. Returns [seq, q_dim].
    pub fn attend(&self, q: &[f32], q_stride: usize, seq: usize, start: usize, k: &[f32], v: &[f32]) -> Vec<f32> {
        let (hd, kv_dim) = (self.head_dim, self.kv_dim());
        let group = self.n_head / self.n_kv;
        let scale = 1.0 / (hd as f32).sqrt();
        let total = start + seq;
        let mut out = vec![0f32; seq * self.q_dim()];
        if seq >= GEMM_ROWS {
            let mut scores = vec![0f32; seq * total];
            for h in 0..self.n_head {
                let kv = (h / group) * hd;
                // scores [seq, total] = q_h [seq, hd] · k_kv [total, hd]ᵀ
                // SAFETY: strides describe q (rows q_stride apart, head h at h·hd), k and v
                // ([total, kv_dim], kv head at kv) and `scores`/`out` as allocated, all in bounds.
                unsafe {
                    gemm_strided(
                        seq,
                        total,
                        hd,
                        &mut scores,
                        total,
                        1,
                        &q[h * hd..],
                        q_stride,
                        1,
                        &k[kv..],
                        1,
                        kv_dim,
                        scale,
                    )
                };
                for (i, row) in scores.chunks_exact_mut(total).enumerate() {
                    softmax_causal(row, start + i + 1);
                }
                // out_h [seq, hd] = scores [seq, total] · v_kv [total, hd]
                unsafe {
                    gemm_strided(
                        seq,
                        hd,
                        total,
                        &mut out[h * hd..],
                        self.q_dim(),
                        1,
                        &scores,
                        total,
                        1,
                        &v[kv..],
                        kv_dim,
                        1,
                        1.0,
                    )
                };
            }
            return out;
        }
        let isa = Isa::detect();
        for h in 0..self.n_head {
            let o = self.attend_head(&SeqAttention { q, seq, start, k, v }, q_stride, h, isa);
            for (i, o) in o.chunks_exact(hd).enumerate() {
                out[(i * self.n_head + h) * hd..(i * self.n_head + h + 1) * hd].copy_from_slice(o);
            }
        }
        out
    }

    /// Query head `h` of [`Heads::attend`]'s rows, a dot per key: [seq, head_dim].
    fn attend_head(&self, s: &SeqAttention<'_>, q_stride: usize, h: usize, isa: Isa) -> Vec<f32> {
        let SeqAttention { q, seq, start, k, v } = *s;
        let (hd, kv_dim) = (self.head_dim, self.kv_dim());
        let kv = (h / (self.n_head / self.n_kv)) * hd;
        let (k, v) = (&k[kv..], &v[kv..]);
        let scale = 1.0 / (hd as f32).sqrt();
        let mut out = vec![0f32; seq * hd];
        let mut scores = vec![0f32; start + seq];
        for (i, o) in out.chunks_exact_mut(hd).enumerate() {
            let seen = &mut scores[..start + i + 1];
            let q_h = &q[i * q_stride + h * hd..i * q_stride + (h + 1) * hd];
            head_scores(isa, q_h, k, kv_dim, scale, seen);
            softmax_causal(seen, seen.len());
            head_values(isa, seen, v, kv_dim, o);
        }
        out
    }

    /// [`Heads::attend`] for several sequences at once (a batch's, Compare's three), their
    /// outputs one after another: [Σ seq, q_dim]. Decoding sequences split by (sequence, head)
    /// across threads: one sequence's attention on one thread was a quarter of a Compare step
    /// with the other thread idle.
    pub fn attend_many(&self, q_stride: usize, seqs: &[SeqAttention<'_>]) -> Vec<f32> {
        let per_head = |s: &SeqAttention<'_>| s.seq < GEMM_ROWS;
        let isa = Isa::detect();
        // (sequence, head), or (sequence, None) for a prompt's whole GEMM route.
        let units: Vec<(usize, Option<usize>)> = seqs
            .iter()
            .enumerate()
            .flat_map(|(i, s)| {
                let heads: Vec<Option<usize>> =
                    if per_head(s) { (0..self.n_head).map(Some).collect() } else { vec![None] };
                heads.into_iter().map(move |h| (i, h))
            })
            .collect();
        let parts = super::parallel::map(units.len(), |u| {
            let (i, h) = units[u];
            let s = &seqs[i];
            match h {
                Some(h) => self.attend_head(s, q_stride, h, isa),
                None => self.attend(s.q, q_stride, s.seq, s.start, s.k, s.v),
            }
        });
        let (q_dim, hd) = (self.q_dim(), self.head_dim);
        let firsts: Vec<usize> = seqs.iter().scan(0, |at, s| Some(std::mem::replace(at, *at + s.seq))).collect();
        let mut out = vec![0f32; seqs.iter().map(|s| s.seq).sum::<usize>() * q_dim];
        for (&(i, h), part) in units.iter().zip(parts) {
            let rows = &mut out[firsts[i] * q_dim..(firsts[i] + seqs[i].seq) * q_dim];
            match h {
                Some(h) => {
                    for (row, o) in rows.chunks_exact_mut(q_dim).zip(part.chunks_exact(hd)) {
                        row[h * hd..(h + 1) * hd].copy_from_slice(o);
                    }
                }
                None => rows.copy_from_slice(&part),
            }
        }
        out
    }
}

/// One sequence's part of [`Heads::attend_many`]: its query rows (`q_stride` apart), how many,
/// the position of the first, and its keys and values [start + seq, kv_dim].
#[derive(Clone, Copy)]
pub struct SeqAttention<'a> {
    pub q: &'a [f32],
    pub seq: usize,
    pub start: usize,
    pub k: &'a [f32],
    pub v: &'a [f32],
}

/// scores[p] = scale · q · k[p · kv_dim..][..q.len()]: one head's query against its cached keys.
fn head_scores(isa: Isa, q: &[f32], k: &[f32], kv_dim: usize, scale: f32, scores: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx512 {
        use super::x86_attention::scores as avx512;
        // SAFETY: `Isa::Avx512` is only detected, or listed by `Isa::all`, where the processor
        // has AVX-512 F.
        match q.len() {
            16 => return unsafe { avx512::<1>(q, k, kv_dim, scale, scores) },
            32 => return unsafe { avx512::<2>(q, k, kv_dim, scale, scores) },
            64 => return unsafe { avx512::<4>(q, k, kv_dim, scale, scores) },
            128 => return unsafe { avx512::<8>(q, k, kv_dim, scale, scores) },
            _ => {}
        }
    }
    let _ = isa;
    let hd = q.len();
    for (p, s) in scores.iter_mut().enumerate() {
        *s = dot(q, &k[p * kv_dim..p * kv_dim + hd]) * scale;
    }
}

/// out = Σ_p weights[p] · v[p · kv_dim..][..out.len()]: one head's output from its cached values.
fn head_values(isa: Isa, weights: &[f32], v: &[f32], kv_dim: usize, out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx512 {
        use super::x86_attention::weighted_sum as avx512;
        // SAFETY: as in `head_scores`.
        match out.len() {
            16 => return unsafe { avx512::<1>(weights, v, kv_dim, out) },
            32 => return unsafe { avx512::<2>(weights, v, kv_dim, out) },
            64 => return unsafe { avx512::<4>(weights, v, kv_dim, out) },
            128 => return unsafe { avx512::<8>(weights, v, kv_dim, out) },
            _ => {}
        }
    }
    let _ = isa;
    let hd = out.len();
    for (p, &w) in weights.iter().enumerate() {
        axpy(out, w, &v[p * kv_dim..p * kv_dim + hd]);
    }
}

/// Softmax over `row[..seen]`; the keys after it (later positions) get weight 0. A NaN score
/// makes the whole row NaN, as libm's `exp` would.
fn softmax_causal(row: &mut [f32], seen: usize) {
    let (live, masked) = row.split_at_mut(seen);
    let max = live.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let poisoned = live.iter().fold(false, |p, s| p | s.is_nan());
    let mut sum = 0.0;
    for s in live.iter_mut() {
        // libm's scalar `exp` was a tenth of attention's time.
        *s = exp_nonpositive(*s - max);
        sum += *s;
    }
    let inv = if poisoned { f32::NAN } else { 1.0 / sum };
    live.iter_mut().for_each(|s| *s *= inv);
    masked.fill(0.0);
}

/// dst [m, n] = alpha · a [m, k] · b [k, n], each given by its first element and its row and
/// column strides.
///
/// # Safety
/// Every element the strides reach must lie inside its slice.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_strided(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [f32],
    dst_rs: usize,
    dst_cs: usize,
    a: &[f32],
    a_rs: usize,
    a_cs: usize,
    b: &[f32],
    b_rs: usize,
    b_cs: usize,
    alpha: f32,
) {
    debug_assert!((m - 1) * dst_rs + (n - 1) * dst_cs < dst.len());
    debug_assert!((m - 1) * a_rs + (k - 1) * a_cs < a.len());
    debug_assert!((k - 1) * b_rs + (n - 1) * b_cs < b.len());
    // SAFETY: the caller's promise; `dst` is written only (beta = 0: read_dst false).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            dst_cs as isize,
            dst_rs as isize,
            false,
            a.as_ptr(),
            a_cs as isize,
            a_rs as isize,
            b.as_ptr(),
            b_cs as isize,
            b_rs as isize,
            0.0,
            alpha,
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (s >> 8) as f32 / (1 << 24) as f32 - 0.5
            })
            .collect()
    }

    /// The GEMM route of a prompt (many query rows at once) and the per-key route of decoding
    /// (one row at a time, each seeing one more key) give the same attention.
    #[test]
    fn prompt_and_decode_attention_agree() {
        let heads = Heads { n_head: 6, n_kv: 2, head_dim: 16 };
        let (seq, start, stride) = (13, 5, heads.q_dim() + 7);
        let total = start + seq;
        let q = values(seq * stride, 1);
        let (k, v) = (values(total * heads.kv_dim(), 2), values(total * heads.kv_dim(), 3));
        let all = heads.attend(&q, stride, seq, start, &k, &v);
        for i in 0..seq {
            let seen = (start + i + 1) * heads.kv_dim();
            let one = heads.attend(&q[i * stride..(i + 1) * stride], stride, 1, start + i, &k[..seen], &v[..seen]);
            let row = &all[i * heads.q_dim()..(i + 1) * heads.q_dim()];
            let worst = one.iter().zip(row).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
            assert!(worst < 1e-5, "row {i}: max |Δ| {worst}");
        }
    }

    /// Several sequences at once (split by head across threads) equal each alone.
    #[test]
    fn many_sequences_attend_as_each_alone() {
        let heads = Heads { n_head: 6, n_kv: 2, head_dim: 16 };
        let stride = heads.q_dim() + 5;
        let shapes = [(1, 9), (3, 0), (12, 4), (1, 0)];
        let data: Vec<_> = shapes
            .iter()
            .enumerate()
            .map(|(i, &(seq, start))| {
                let n = (start + seq) * heads.kv_dim();
                (values(seq * stride, 10 + i as u32), values(n, 20 + i as u32), values(n, 30 + i as u32))
            })
            .collect();
        let seqs: Vec<SeqAttention<'_>> =
            shapes.iter().zip(&data).map(|(&(seq, start), (q, k, v))| SeqAttention { q, seq, start, k, v }).collect();
        let many = heads.attend_many(stride, &seqs);
        let alone: Vec<f32> = seqs.iter().flat_map(|s| heads.attend(s.q, stride, s.seq, s.start, s.k, s.v)).collect();
        assert_eq!(many, alone);
    }

    /// Every instruction set's attention rows (AVX-512's for heads of 16–128 values) match the
    /// portable loops', and a NaN key poisons the rows that see it on each.
    #[test]
    fn attention_rows_match_across_isas() {
        for hd in [16, 24, 32, 64, 128] {
            let heads = Heads { n_head: 6, n_kv: 2, head_dim: hd };
            let stride = heads.q_dim() + 3;
            let (seq, start) = (3, 37);
            let q: Vec<f32> = values(seq * stride, 1).iter().map(|x| 4.0 * x).collect();
            let (mut k, v) = (values((start + seq) * heads.kv_dim(), 2), values((start + seq) * heads.kv_dim(), 3));
            for poisoned in [false, true] {
                if poisoned {
                    k[(start + 1) * heads.kv_dim() + 1] = f32::NAN; // kv head 0 at the second row's position
                }
                let s = SeqAttention { q: &q, seq, start, k: &k, v: &v };
                for h in 0..heads.n_head {
                    let want = heads.attend_head(&s, stride, h, Isa::Scalar);
                    for isa in Isa::all() {
                        let got = heads.attend_head(&s, stride, h, isa);
                        for (i, (a, b)) in got.iter().zip(&want).enumerate() {
                            let (row, ok) = (i / hd, (a - b).abs() < 1e-5 || (a.is_nan() && b.is_nan()));
                            assert!(ok, "{} hd {hd} head {h} row {row}: {a} vs {b}", isa.name());
                            assert_eq!(b.is_nan(), poisoned && h < 3 && row >= 1, "which rows a NaN key reaches");
                        }
                    }
                }
            }
        }
    }

    /// Attention to a single key returns its value, whatever the scores.
    #[test]
    fn one_key_returns_its_value() {
        let heads = Heads { n_head: 4, n_kv: 1, head_dim: 8 };
        let (q, k, v) = (values(heads.q_dim(), 4), values(8, 5), values(8, 6));
        let out = heads.attend(&q, heads.q_dim(), 1, 0, &k, &v);
        for head in out.chunks_exact(8) {
            assert_eq!(head, v.as_slice());
        }
    }

    #[test]
    fn rope_turns_adjacent_pairs() {
        let t = RopeTables::new(4, 10_000.0, 8);
        let mut x = vec![1.0, 0.0, 0.0, 1.0, 7.0, 7.0];
        t.rotate(&mut x, 6, 3);
        let (c0, s0) = (3f32.cos(), 3f32.sin());
        let a1 = 3.0 * 10_000f32.powf(-0.5);
        assert!((x[0] - c0).abs() < 1e-6 && (x[1] - s0).abs() < 1e-6);
        assert!((x[2] + a1.sin()).abs() < 1e-6 && (x[3] - a1.cos()).abs() < 1e-6);
        assert_eq!(&x[4..], &[7.0, 7.0], "values past n_rot stay");
    }

    #[test]
    fn exp_nonpositive_matches_std() {
        let mut worst = 0f64;
        for i in 0..=200_000 {
            let x = -(i as f32) * 87.0 / 200_000.0;
            let want = (x as f64).exp();
            let rel = ((exp_nonpositive(x) as f64 - want) / want).abs();
            worst = worst.max(rel);
        }
        assert!(worst < 5e-7, "relative error {worst:e}");
        for x in [f32::NEG_INFINITY, f32::NAN, -88.0, -1e30] {
            assert_eq!(exp_nonpositive(x), 0.0, "e^{x}");
        }
        assert_eq!(exp_nonpositive(0.0), 1.0);
        let row = values(1000, 3);
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let want: f64 = row.iter().map(|&x| ((x - max) as f64).exp()).sum();
        assert!((sum_exp(&row, max) - want).abs() / want < 1e-6);
    }

    #[test]
    fn rms_norm_and_swiglu_match_their_formulas() {
        let x = [3.0, 4.0];
        let y = rms_norm(&x, &[1.0, 2.0], 0.0);
        let rms = 12.5f32.sqrt();
        assert!((y[0] - 3.0 / rms).abs() < 1e-6 && (y[1] - 8.0 / rms).abs() < 1e-6);
        let z = swiglu(&[2.0, 3.0], 1);
        assert!((z[0] - 2.0 / (1.0 + (-2f32).exp()) * 3.0).abs() < 1e-6);
    }
}
