//! GPU kernels over packed quantized weights (cubecl, so WebGPU in the browser and Vulkan,
//! Metal or DX12 natively run the same code).
//!
//! ```text
//! PackedMatrix ──affine_blocks──► GpuMatrix { words, d, m } in device buffers
//! x [n, cols] ─┬─ n ≤ MATVEC_ROWS: packed_matvec ───────────────────────► y [n, rows]
//!              └─ wider: packed_widen ─► Wᵀ [cols, rows] f32 ─► burn matmul ─► y [n, rows]
//! ```
//!
//! Decode (one row, or Compare's three) is bound by reading weights, so it reads the packed
//! blocks (24 bytes per 32 Q4_1 weights instead of 128 as f32). A long prompt is bound by
//! arithmetic: the matrix is widened once into a scratch buffer and burn's tuned matmul does
//! the rest. The CPU kernels' activation quantization is not used here: activations stay f32.

use burn::tensor::{DType, Device, Shape, Tensor as BurnTensor};
use burn_cubecl::Cube;
use burn_cubecl::CubeDevice;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::ops::numeric::empty_device_dtype;
use cubecl::client::Client;
use cubecl::prelude::*;
use cubecl::server::Handle;

use super::{AffineBlocks, PackedMatrix};

/// Activation rows up to which a product reads the packed blocks per row; wider batches widen
/// the matrix once and run a GEMM.
pub const MATVEC_ROWS: usize = 4;

/// Units of a cube that split one output's dot product (its reduction is unrolled for this).
const LANES: u32 = 32;
/// Outputs a cube computes side by side.
const OUTPUTS: u32 = 8;

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
        let bytes = |v: &[u32]| v.iter().flat_map(|w| w.to_le_bytes()).collect::<Vec<u8>>();
        let floats = |v: &[f32]| v.iter().flat_map(|w| w.to_le_bytes()).collect::<Vec<u8>>();
        Some(Self {
            rows: matrix.rows(),
            cols: matrix.cols(),
            bits,
            words: client.create_from_slice(&bytes(&words)),
            d: client.create_from_slice(&floats(&d)),
            m: client.create_from_slice(&floats(&m)),
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
        let [n, cols] = x.dims();
        assert_eq!(cols, self.cols, "activations of {} columns", self.cols);
        if n > MATVEC_ROWS {
            return x.matmul(self.widen());
        }
        let x = into_contiguous(x.try_into_primitive::<Cube>().expect("a cubecl tensor on a GPU device"));
        let y = empty_device_dtype(self.client.clone(), self.device.clone(), Shape::new([n, self.rows]), DType::F32);
        let cubes = (self.rows as u32).div_ceil(OUTPUTS);
        packed_matvec::launch(
            &self.client,
            CubeCount::Static(cubes, n as u32, 1),
            CubeDim::new_2d(LANES, OUTPUTS),
            x.into_tensor_arg(),
            self.words_arg(),
            self.scales_arg(&self.d),
            self.scales_arg(&self.m),
            y.clone().into_tensor_arg(),
            self.cols as u32,
            self.rows as u32,
            self.bits,
        );
        BurnTensor::from_primitive::<Cube>(y)
    }

    /// The whole matrix widened to f32, transposed: Wᵀ [cols, rows].
    pub fn widen(&self) -> BurnTensor<2> {
        let out = empty_device_dtype(
            self.client.clone(),
            self.device.clone(),
            Shape::new([self.cols, self.rows]),
            DType::F32,
        );
        let n = self.rows * self.cols;
        let cube_dim = CubeDim::new(&self.client, n);
        packed_widen::launch(
            &self.client,
            cubecl::calculate_cube_count_elemwise(&self.client, n, cube_dim),
            cube_dim,
            self.words_arg(),
            self.scales_arg(&self.d),
            self.scales_arg(&self.m),
            out.clone().into_tensor_arg(),
            self.cols as u32,
            self.rows as u32,
            self.bits,
        );
        BurnTensor::from_primitive::<Cube>(out)
    }
}

/// y[r, o] = Σ_i x[r, i] · W[o, i]. A cube is `LANES` × `OUTPUTS` units: each row of units
/// takes one output and splits its words among its lanes; cube (X, Y) takes outputs
/// X·OUTPUTS.. for activation row Y.
#[cube(launch)]
fn packed_matvec(
    x: &Tensor<f32>,
    words: &[u32],
    d: &[f32],
    m: &[f32],
    y: &mut Tensor<f32>,
    cols: u32,
    rows: u32,
    #[comptime] bits: u32,
) {
    let o = CUBE_POS_X * OUTPUTS + UNIT_POS_Y;
    let r = CUBE_POS_Y;
    let blocks = cols / 32;
    // Words per block: 4 of nibbles, or 8 of bytes.
    let row_words = blocks * bits;
    let mut acc = 0.0f32;
    if o < rows {
        let mut w = UNIT_POS_X;
        while w < row_words {
            let b = w / bits;
            let k = w % bits;
            let word = words[(o * row_words + w) as usize];
            let base = (r * cols + b * 32 + 4 * k) as usize;
            let mut qx = 0.0f32;
            let mut sx = 0.0f32;
            if bits == 4 {
                #[unroll]
                for j in 0..4u32 {
                    let lo = f32::cast_from((word >> (8 * j)) & 15u32);
                    let hi = f32::cast_from((word >> (8 * j + 4)) & 15u32);
                    let x0 = x[base + j as usize];
                    let x1 = x[base + j as usize + 16];
                    qx += lo * x0 + hi * x1;
                    sx += x0 + x1;
                }
            } else {
                #[unroll]
                for j in 0..4u32 {
                    let q = f32::cast_from((word >> (8 * j)) & 255u32);
                    let x0 = x[base + j as usize];
                    qx += q * x0;
                    sx += x0;
                }
            }
            // Σ (d·q + m)·x = d·Σ q·x + m·Σ x
            let s = (o * blocks + b) as usize;
            acc += d[s] * qx + m[s] * sx;
            w += LANES;
        }
    }
    // Sum the lanes' partial dots: a tree in shared memory, barriers outside any branch.
    let mut partial = Shared::<[f32]>::new_slice((LANES * OUTPUTS) as usize);
    let me = (UNIT_POS_Y * LANES + UNIT_POS_X) as usize;
    partial[me] = acc;
    sync_cube();
    #[unroll]
    for step in 0..5u32 {
        let stride = (LANES >> 1u32) >> step;
        if UNIT_POS_X < stride {
            partial[me] += partial[me + stride as usize];
        }
        sync_cube();
    }
    if UNIT_POS_X == 0 && o < rows {
        y[(r * rows + o) as usize] = partial[me];
    }
}

/// out[i, o] = W[o, i] as f32: one unit per weight, writing consecutive outputs.
#[cube(launch)]
fn packed_widen(
    words: &[u32],
    d: &[f32],
    m: &[f32],
    out: &mut Tensor<f32>,
    cols: u32,
    rows: u32,
    #[comptime] bits: u32,
) {
    let p = ABSOLUTE_POS;
    if p >= (cols * rows) as usize {
        terminate!();
    }
    let o = (p % rows as usize) as u32;
    let i = (p / rows as usize) as u32;
    let blocks = cols / 32;
    let b = i / 32;
    let e = i % 32;
    let row = (o * blocks * bits + b * bits) as usize;
    let s = (o * blocks + b) as usize;
    if bits == 4 {
        // Element e < 16 is the low nibble of byte e, e ≥ 16 the high nibble of byte e − 16.
        let byte = e % 16;
        let shift = 8 * (byte % 4) + 4 * (e / 16);
        let q = (words[row + (byte / 4) as usize] >> shift) & 15u32;
        out[p] = d[s] * f32::cast_from(q) + m[s];
    } else {
        let q = (words[row + (e / 4) as usize] >> (8 * (e % 4))) & 255u32;
        out[p] = d[s] * f32::cast_from(q) + m[s];
    }
}
