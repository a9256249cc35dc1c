//! The small operations between a block's matrix products on a GPU, one kernel each: RMSNorm,
//! RoPE with the KV-cache write, causal attention over the cache, SwiGLU. [`super::ops`] does
//! the same on the host path.
//!
//! ```text
//! x ─rms_norm─► qkv product ─rope_store─► q, and k, v into the cache ─attend─► wo product ─► + x
//!   ─rms_norm─► gate|up product ─swiglu─► down product ─► + x
//! ```
//!
//! As burn tensor ops a decoded token took about 60 dispatches a block (RMSNorm alone is six
//! element-wise ops and a reduction; RoPE slices, multiplies and concatenates; attention
//! transposes, masks and runs a softmax of five ops). A dispatch costs the same whatever it
//! computes, and at one token it computes almost nothing, so these ops are one dispatch each:
//! nine a block with the products and the residual adds.

use burn::tensor::{DType, Shape, Tensor as BurnTensor};
use burn_cubecl::Cube;
use burn_cubecl::ops::numeric::empty_device_dtype;
use burn_cubecl::tensor::CubeTensor;
use cubecl::prelude::*;

use super::gpu::{cube_tensor, writable};
use super::ops::Heads;

/// Units of a cube that reduce one row of RMSNorm (a power of two: the sum is a tree of
/// `NORM_STEPS` halvings).
const NORM_UNITS: u32 = 128;
const NORM_STEPS: u32 = NORM_UNITS.trailing_zeros();
/// Keys a cube of `attend_kernel` scores at once; also its units.
const KEYS: u32 = 64;

fn empty(like: &CubeTensor, shape: [usize; 2]) -> CubeTensor {
    empty_device_dtype(like.client.clone(), like.device.clone(), Shape::new(shape), DType::F32)
}

/// x [rows, n] → x / sqrt(mean(x²) + eps) · γ, γ [1, n]: one cube per row.
pub fn rms_norm(x: BurnTensor<2>, gamma: &BurnTensor<2>, eps: f32) -> BurnTensor<2> {
    let [rows, n] = x.dims();
    let x = cube_tensor(x);
    let gamma = cube_tensor(gamma.clone());
    let y = empty(&x, [rows, n]);
    let client = x.client.clone();
    rms_norm_kernel::launch(
        &client,
        CubeCount::Static(rows as u32, 1, 1),
        CubeDim::new_1d(NORM_UNITS),
        x.into_tensor_arg(),
        gamma.into_tensor_arg(),
        y.clone().into_tensor_arg(),
        eps,
        n as u32,
    );
    BurnTensor::from_primitive::<Cube>(y)
}

#[cube(launch)]
fn rms_norm_kernel(x: &Tensor<f32>, gamma: &Tensor<f32>, y: &mut Tensor<f32>, eps: f32, n: u32) {
    let row = (CUBE_POS_X * n) as usize;
    let mut sq = 0.0f32;
    let mut i = UNIT_POS_X;
    while i < n {
        let v = x[row + i as usize];
        sq += v * v;
        i += NORM_UNITS;
    }
    let mut partial = Shared::<[f32]>::new_slice(NORM_UNITS as usize);
    partial[UNIT_POS_X as usize] = sq;
    sync_cube();
    #[unroll]
    for step in 0..NORM_STEPS {
        let stride = (NORM_UNITS >> 1u32) >> step;
        if UNIT_POS_X < stride {
            partial[UNIT_POS_X as usize] += partial[(UNIT_POS_X + stride) as usize];
        }
        sync_cube();
    }
    let inv_rms = 1.0f32 / f32::sqrt(partial[0] / f32::cast_from(n) + eps);
    let mut i = UNIT_POS_X;
    while i < n {
        let at = row + i as usize;
        y[at] = x[at] * inv_rms * gamma[i as usize];
        i += NORM_UNITS;
    }
}

/// Rows holding [gate | up] side by side, [rows, 2·n_ff] → silu(gate) ⊙ up [rows, n_ff].
pub fn swiglu(gate_up: BurnTensor<2>) -> BurnTensor<2> {
    let [rows, width] = gate_up.dims();
    let n_ff = width / 2;
    let gate_up = cube_tensor(gate_up);
    let y = empty(&gate_up, [rows, n_ff]);
    let client = gate_up.client.clone();
    let cube_dim = CubeDim::new(&client, rows * n_ff);
    swiglu_kernel::launch(
        &client,
        cubecl::calculate_cube_count_elemwise(&client, rows * n_ff, cube_dim),
        cube_dim,
        gate_up.into_tensor_arg(),
        y.clone().into_tensor_arg(),
        n_ff as u32,
    );
    BurnTensor::from_primitive::<Cube>(y)
}

#[cube(launch)]
fn swiglu_kernel(gate_up: &Tensor<f32>, y: &mut Tensor<f32>, n_ff: u32) {
    let p = ABSOLUTE_POS;
    if p >= y.len() {
        terminate!();
    }
    let n = n_ff as usize;
    let at = (p / n) * 2 * n + p % n;
    let g = gate_up[at];
    y[p] = g / (1.0f32 + f32::exp(-g)) * gate_up[at + n];
}

/// One sequence of a packed batch, and its keys and values for one layer.
pub struct SeqKv {
    /// Its first row in the batch.
    pub first_row: usize,
    pub len: usize,
    /// The position of its first row: positions `..start` are in the cache already.
    pub start: usize,
    /// Keys and values after RoPE, [capacity, kv_dim] each, capacity ≥ start + len: the kernel
    /// writes positions `start..start + len`, in place, or into a copy when another tensor
    /// still holds the buffer (a cloned cache).
    pub k: BurnTensor<2>,
    pub v: BurnTensor<2>,
}

/// Causal grouped-query attention of packed sequences over their caches:
/// qkv [Σ len, q_dim + 2·kv_dim] (each row q | k | v) → [Σ len, q_dim], and each sequence's
/// keys and values with this step's written.
///
/// Two dispatches a sequence: `rope_store` rotates q and k (adjacent pairs, as
/// [`super::ops::RopeTables::rotate`]) and writes k and v into the sequence's cache; `attend`
/// then runs the softmax over every key a row may see.
pub fn attention(
    qkv: BurnTensor<2>,
    (cos, sin): (&BurnTensor<2>, &BurnTensor<2>),
    seqs: Vec<SeqKv>,
    heads: Heads,
) -> (BurnTensor<2>, Vec<(BurnTensor<2>, BurnTensor<2>)>) {
    let [rows, width] = qkv.dims();
    let (q_dim, kv_dim, hd) = (heads.q_dim(), heads.kv_dim(), heads.head_dim);
    assert_eq!(width, q_dim + 2 * kv_dim, "rows of q | k | v");
    let n_rot = 2 * cos.dims()[1];
    let qkv = cube_tensor(qkv);
    let (cos, sin) = (cube_tensor(cos.clone()), cube_tensor(sin.clone()));
    let client = qkv.client.clone();
    let q = empty(&qkv, [rows, q_dim]);
    let out = empty(&qkv, [rows, q_dim]);
    let mut caches = Vec::with_capacity(seqs.len());
    for s in seqs {
        let k = writable(s.k);
        let v = writable(s.v);
        let pairs = s.len * width / 2;
        let cube_dim = CubeDim::new(&client, pairs);
        rope_store_kernel::launch(
            &client,
            cubecl::calculate_cube_count_elemwise(&client, pairs, cube_dim),
            cube_dim,
            qkv.clone().into_tensor_arg(),
            cos.clone().into_tensor_arg(),
            sin.clone().into_tensor_arg(),
            q.clone().into_tensor_arg(),
            k.clone().into_tensor_arg(),
            v.clone().into_tensor_arg(),
            s.first_row as u32,
            s.len as u32,
            s.start as u32,
            q_dim as u32,
            kv_dim as u32,
            hd as u32,
            n_rot as u32,
        );
        attend_kernel::launch(
            &client,
            CubeCount::Static(heads.n_head as u32, s.len as u32, 1),
            CubeDim::new_1d(KEYS),
            q.clone().into_tensor_arg(),
            k.clone().into_tensor_arg(),
            v.clone().into_tensor_arg(),
            out.clone().into_tensor_arg(),
            s.first_row as u32,
            s.start as u32,
            1.0 / (hd as f32).sqrt(),
            heads.n_head as u32,
            heads.n_kv as u32,
            hd as u32,
        );
        caches.push((BurnTensor::from_primitive::<Cube>(k), BurnTensor::from_primitive::<Cube>(v)));
    }
    (BurnTensor::from_primitive::<Cube>(out), caches)
}

/// One unit per pair of adjacent values of a row: q's and k's pairs within a head's first
/// `n_rot` values turn by their position's angle; q goes to `q`, k and v to the cache rows.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
fn rope_store_kernel(
    qkv: &Tensor<f32>,
    cos: &Tensor<f32>,
    sin: &Tensor<f32>,
    q: &mut Tensor<f32>,
    k: &mut Tensor<f32>,
    v: &mut Tensor<f32>,
    first_row: u32,
    len: u32,
    start: u32,
    #[comptime] q_dim: u32,
    #[comptime] kv_dim: u32,
    #[comptime] head_dim: u32,
    #[comptime] n_rot: u32,
) {
    let width = q_dim + 2 * kv_dim;
    let pairs = width / 2;
    let p = ABSOLUTE_POS;
    if p >= (len * pairs) as usize {
        terminate!();
    }
    let i = p as u32 / pairs;
    let c = 2 * (p as u32 % pairs);
    let row = first_row + i;
    let pos = start + i;
    let src = (row * width + c) as usize;
    let a = qkv[src];
    let b = qkv[src + 1];
    let mut x0 = a;
    let mut x1 = b;
    let e = c % head_dim;
    if c < q_dim + kv_dim && e < n_rot {
        let t = (pos * (n_rot / 2) + e / 2) as usize;
        let cs = cos[t];
        let sn = sin[t];
        x0 = a * cs - b * sn;
        x1 = a * sn + b * cs;
    }
    if c < q_dim {
        let at = (row * q_dim + c) as usize;
        q[at] = x0;
        q[at + 1] = x1;
    } else if c < q_dim + kv_dim {
        let at = (pos * kv_dim + c - q_dim) as usize;
        k[at] = x0;
        k[at + 1] = x1;
    } else {
        let at = (pos * kv_dim + c - q_dim - kv_dim) as usize;
        v[at] = x0;
        v[at + 1] = x1;
    }
}

/// Cube (h, i): query head h of row `first_row + i`, at position `start + i`, over keys
/// `0..=start + i` of kv head h / (n_head / n_kv). The keys go by in chunks of `KEYS`, one per
/// unit, with the softmax kept online (a running maximum and sum, the output rescaled when the
/// maximum grows), so no score row of the context's length is stored; then unit u sums the
/// output's dimensions u, u + KEYS, …. One barrier a chunk: CPU-emulated GPUs switch every unit
/// at each one.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
fn attend_kernel(
    q: &Tensor<f32>,
    k: &Tensor<f32>,
    v: &Tensor<f32>,
    out: &mut Tensor<f32>,
    first_row: u32,
    start: u32,
    scale: f32,
    #[comptime] n_head: u32,
    #[comptime] n_kv: u32,
    #[comptime] head_dim: u32,
) {
    let h = CUBE_POS_X;
    let i = CUBE_POS_Y;
    let u = UNIT_POS_X;
    let q_dim = n_head * head_dim;
    let kv_dim = n_kv * head_dim;
    let kv_at = (h / (n_head / n_kv)) * head_dim;
    let seen = start + i + 1;
    let q_at = ((first_row + i) * q_dim + h * head_dim) as usize;

    let mut q_h = Shared::<[f32]>::new_slice(head_dim as usize);
    // Two chunks' scores: chunk c writes half c % 2, so a unit still reading chunk c − 1's
    // scores is never overwritten, and one barrier a chunk suffices (chunk c + 1 writes this
    // half again only after every unit has passed chunk c's barrier, done with c − 1).
    let mut scores = Shared::<[f32]>::new_slice((2 * KEYS) as usize);
    let mut d = u;
    while d < head_dim {
        q_h[d as usize] = q[q_at + d as usize];
        d += KEYS;
    }
    sync_cube();

    let dims = comptime!(head_dim.div_ceil(KEYS));
    let mut acc = Array::<f32>::new(dims as usize);
    #[unroll]
    for t in 0..dims {
        acc[t as usize] = 0.0f32;
    }
    let mut max_so_far = f32::new(-1e30);
    let mut sum = 0.0f32;
    #[allow(clippy::manual_div_ceil)] // a kernel has no div_ceil
    let chunks = (seen + KEYS - 1) / KEYS;
    for c in 0..chunks {
        let first = c * KEYS;
        let half = ((c % 2) * KEYS) as usize;
        let p = first + u;
        if p < seen {
            let at = (p * kv_dim + kv_at) as usize;
            let mut dot = 0.0f32;
            for e in 0..head_dim {
                dot += q_h[e as usize] * k[at + e as usize];
            }
            scores[half + u as usize] = dot * scale;
        }
        sync_cube();
        let mut here = seen - first;
        if here > KEYS {
            here = KEYS;
        }
        // Every unit reads the chunk's scores itself (the exponentials again for each output
        // dimension), which costs less than the barriers of sharing them would.
        let mut new_max = max_so_far;
        for j in 0..here {
            let s = scores[half + j as usize];
            if s > new_max {
                new_max = s;
            }
        }
        let rescale = f32::exp(max_so_far - new_max);
        sum *= rescale;
        #[unroll]
        for t in 0..dims {
            acc[t as usize] *= rescale;
        }
        for j in 0..here {
            let w = f32::exp(scores[half + j as usize] - new_max);
            sum += w;
            let at = ((first + j) * kv_dim + kv_at) as usize;
            #[unroll]
            for t in 0..dims {
                let d = u + t * KEYS;
                if d < head_dim {
                    acc[t as usize] += w * v[at + d as usize];
                }
            }
        }
        max_so_far = new_max;
    }
    #[unroll]
    for t in 0..dims {
        let d = u + t * KEYS;
        if d < head_dim {
            out[q_at + d as usize] = acc[t as usize] / sum;
        }
    }
}
