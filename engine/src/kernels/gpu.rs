//! GPU kernels over packed quantized weights (cubecl, so WebGPU in the browser and Vulkan,
//! Metal or DX12 natively run the same code).
//!
//! ```text
//! PackedMatrix ──affine_blocks──► GpuMatrix { words, d, m } in device buffers (output-major)
//! x [n, cols] ──packed_matmul: cube (X, Y) = outputs X·64.., rows Y·tile..──► y [n, rows]
//! ```
//!
//! Every product reads the packed blocks (24 bytes per 32 Q4_1 weights instead of 128 as f32),
//! each weight word once for a tile of up to [`TILE`] activation rows: decode is one row,
//! Compare three, a prompt tiles of eight. The CPU kernels' activation quantization is not used
//! here: activations stay f32. (Prompts used to widen each matrix to f32 for burn's matmul: on
//! SwiftShader an 8-token prompt then took 40 s.)
//!
//! The blocks are stored output-major: block b of every output side by side, each as its 4 (or
//! 8) words (`words[(b·rows + o)·bits + k]`, scales `d[b·rows + o]`), so a unit computes one
//! output whole while neighbouring units, taking neighbouring outputs, read neighbouring
//! blocks, four words and four activations a load. No unit waits for another: an earlier kernel
//! split each output among 32 lanes and summed them in shared memory, and its barriers
//! dominated on the CPU-emulated GPUs (lavapipe, SwiftShader), which run a cube's units as
//! coroutines switched at every barrier.

use burn::tensor::{DType, Device, Shape, Tensor as BurnTensor};
use burn_cubecl::Cube;
use burn_cubecl::CubeDevice;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::ops::numeric::empty_device_dtype;
use burn_cubecl::tensor::CubeTensor;
use cubecl::client::Client;
use cubecl::prelude::*;
use cubecl::server::Handle;

use super::{AffineBlocks, PackedMatrix};

/// Activation rows a unit multiplies at once (its accumulators); a batch of up to this many
/// rows is one tile of exactly its size, a wider one tiles of this size.
pub const TILE: usize = 8;

/// Outputs a cube computes side by side, one a unit.
const OUTPUTS: u32 = 64;

/// A quantized weight matrix of `rows` outputs × `cols` inputs in device memory.
#[derive(Clone)]
pub struct GpuMatrix {
    rows: usize,
    cols: usize,
    bits: u32,
    words: Handle,
    d: Handle,
    m: Handle,
    client: Client,
    device: CubeDevice,
}

impl std::fmt::Debug for GpuMatrix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GpuMatrix {{ {} × {}, {}-bit }}", self.rows, self.cols, self.bits)
    }
}

/// Row-major [rows, per_row] words → [per_row / group, rows, group]: each output's groups of
/// `group` words side by side, as little-endian bytes.
fn output_major(v: &[u32], rows: usize, group: usize) -> Vec<u8> {
    let per_row = v.len() / rows;
    let mut out = vec![0u8; v.len() * 4];
    for (o, row) in v.chunks_exact(per_row).enumerate() {
        for (g, words) in row.chunks_exact(group).enumerate() {
            let at = (g * rows + o) * group * 4;
            for (i, w) in words.iter().enumerate() {
                out[at + 4 * i..at + 4 * i + 4].copy_from_slice(&w.to_le_bytes());
            }
        }
    }
    out
}

/// A burn tensor's cubecl primitive, contiguous, for a kernel argument.
pub(super) fn cube_tensor<const D: usize>(t: BurnTensor<D>) -> CubeTensor {
    into_contiguous(t.try_into_primitive::<Cube>().expect("a cubecl tensor on a GPU device"))
}

/// As [`cube_tensor`], for a kernel to write in place: a copy when another tensor still holds
/// the buffer (a cloned KV cache, a residual stream a hook kept), so no one else sees the write.
pub(super) fn writable<const D: usize>(t: BurnTensor<D>) -> CubeTensor {
    let t = cube_tensor(t);
    if t.can_mut() { t } else { t.copy() }
}

/// The cubecl side of a burn device: its client and device.
fn cube_of(device: &Device) -> Option<(Client, CubeDevice)> {
    let probe = BurnTensor::<1>::zeros([1], device).try_into_primitive::<Cube>().ok()?;
    Some((probe.client, probe.device))
}

impl GpuMatrix {
    /// Upload a packed matrix; `None` when it is not block-quantized (f16, f32) or the device
    /// is not a cubecl one.
    pub fn upload(matrix: &PackedMatrix, device: &Device) -> Option<Self> {
        let AffineBlocks { bits, words, d, m } = matrix.affine_blocks()?;
        let (client, device) = cube_of(device)?;
        let rows = matrix.rows();
        let floats = |v: Vec<f32>| v.into_iter().map(f32::to_bits).collect::<Vec<u32>>();
        Some(Self {
            rows,
            cols: matrix.cols(),
            bits,
            words: client.create_from_slice(&output_major(&words, rows, bits as usize)),
            d: client.create_from_slice(&output_major(&floats(d), rows, 1)),
            m: client.create_from_slice(&output_major(&floats(m), rows, 1)),
            client,
            device,
        })
    }

    fn words_arg(&self) -> BufferArg {
        // SAFETY: the lengths are those the buffers were created with in `upload`.
        unsafe { BufferArg::from_raw_parts(self.words.clone(), self.rows * self.cols / 32 * self.bits as usize) }
    }

    fn scales_arg(&self, h: &Handle) -> BufferArg {
        // SAFETY: one f32 per block, as uploaded.
        unsafe { BufferArg::from_raw_parts(h.clone(), self.rows * self.cols / 32) }
    }

    /// x [n, cols] → x · Wᵀ [n, rows], on the device.
    pub fn matmul(&self, x: BurnTensor<2>) -> BurnTensor<2> {
        let [n, _] = x.dims();
        let y = empty_device_dtype(self.client.clone(), self.device.clone(), Shape::new([n, self.rows]), DType::F32);
        self.launch(x, y, false)
    }

    /// residual + x · Wᵀ [n, rows]: the product added into `residual` in place (into a copy
    /// when another tensor still holds its buffer), which saves the residual stream's add a
    /// dispatch of its own.
    pub fn matmul_add(&self, x: BurnTensor<2>, residual: BurnTensor<2>) -> BurnTensor<2> {
        assert_eq!(residual.dims(), [x.dims()[0], self.rows], "a residual of the product's shape");
        self.launch(x, writable(residual), true)
    }

    fn launch(&self, x: BurnTensor<2>, y: CubeTensor, accumulate: bool) -> BurnTensor<2> {
        let [n, cols] = x.dims();
        assert_eq!(cols, self.cols, "activations of {} columns", self.cols);
        let tile = n.min(TILE);
        let x = cube_tensor(x);
        packed_matmul::launch(
            &self.client,
            CubeCount::Static((self.rows as u32).div_ceil(OUTPUTS), n.div_ceil(tile) as u32, 1),
            CubeDim::new_1d(OUTPUTS),
            4,
            x.into_tensor_arg(),
            self.words_arg(),
            self.scales_arg(&self.d),
            self.scales_arg(&self.m),
            y.clone().into_tensor_arg(),
            self.cols as u32,
            self.rows as u32,
            n as u32,
            self.bits,
            tile as u32,
            accumulate,
        );
        BurnTensor::from_primitive::<Cube>(y)
    }
}

/// y[r, o] = Σ_i x[r, i] · W[o, i]: unit u of cube (X, Y) takes output X·OUTPUTS + u for rows
/// Y·tile.. (fewer in a last, partial tile), reading each of its weight words once for them all;
/// with `accumulate`, adds to what y holds. Activations and words are read four at a time
/// (`N` = 4): a block is one or two loads of words and eight of activations.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
fn packed_matmul<N: Size>(
    x: &Tensor<Vector<f32, N>>,
    words: &[Vector<u32, N>],
    d: &[f32],
    m: &[f32],
    y: &mut Tensor<f32>,
    cols: u32,
    rows: u32,
    n_rows: u32,
    #[comptime] bits: u32,
    #[comptime] tile: u32,
    #[comptime] accumulate: bool,
) {
    let o = CUBE_POS_X * OUTPUTS + UNIT_POS_X;
    if o >= rows {
        terminate!();
    }
    let first = CUBE_POS_Y * tile;
    let mut acc = Array::<f32>::new(tile as usize);
    #[unroll]
    for r in 0..tile {
        acc[r as usize] = 0.0f32;
    }
    for b in 0..cols / 32 {
        let s = (b * rows + o) as usize;
        let db = d[s];
        let mb = m[s];
        // This output's words of block b: four of nibbles (word k holds elements 4k + j in its
        // low nibbles and 4k + j + 16 in its high ones), or eight of bytes (elements 4k + j).
        let w0 = words[s * (bits / 4) as usize];
        let mut w1 = w0;
        if bits == 8 {
            w1 = words[s * 2 + 1];
        }
        #[unroll]
        for r in 0..tile {
            if first + r < n_rows {
                let base = (((first + r) * cols + b * 32) / 4) as usize;
                let mut qx = 0.0f32;
                let mut sx = 0.0f32;
                #[unroll]
                for k in 0..4u32 {
                    let lo = x[base + k as usize];
                    let hi = x[base + 4 + k as usize];
                    let sum = lo + hi;
                    sx += sum.extract(0usize) + sum.extract(1usize) + sum.extract(2usize) + sum.extract(3usize);
                    if bits == 4 {
                        let word = w0.extract(k as usize);
                        #[unroll]
                        for j in 0..4u32 {
                            qx += f32::cast_from((word >> (8 * j)) & 15u32) * lo.extract(j as usize);
                            qx += f32::cast_from((word >> (8 * j + 4)) & 15u32) * hi.extract(j as usize);
                        }
                    } else {
                        let word_lo = w0.extract(k as usize);
                        let word_hi = w1.extract(k as usize);
                        #[unroll]
                        for j in 0..4u32 {
                            qx += f32::cast_from((word_lo >> (8 * j)) & 255u32) * lo.extract(j as usize);
                            qx += f32::cast_from((word_hi >> (8 * j)) & 255u32) * hi.extract(j as usize);
                        }
                    }
                }
                // Σ (d·q + m)·x = d·Σ q·x + m·Σ x
                acc[r as usize] += db * qx + mb * sx;
            }
        }
    }
    #[unroll]
    for r in 0..tile {
        if first + r < n_rows {
            let at = ((first + r) * rows + o) as usize;
            if accumulate {
                y[at] += acc[r as usize];
            } else {
                y[at] = acc[r as usize];
            }
        }
    }
}
