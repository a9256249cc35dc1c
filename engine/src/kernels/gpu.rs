//! GPU kernels over packed quantized weights (cubecl, so WebGPU in the browser and Vulkan,
//! Metal or DX12 natively run the same code).
//!
//! ```text
//! PackedMatrix ──affine_blocks──► GpuMatrix { words, d, m } in device buffers (output-major)
//! x [n, cols] ──packed_matmul: cube (X, Y) = outputs X·64.., rows Y·tile..──► y [n, rows]
//! ```
//!
//! Every product reads the packed blocks (24 bytes per 32 Q4_1 weights instead of 128 as f32),
//! one unit's for a tile of up to [`TILE`] activation rows: decode is one row, Compare three, a
//! prompt tiles of eight. The CPU kernels' activation quantization is not used
//! here: activations stay f32. (Prompts used to widen each matrix to f32 for burn's matmul: on
//! SwiftShader an 8-token prompt then took 40 s.)
//!
//! The blocks are stored output-major: block b of every output side by side, each as its 4 (or
//! 8) words (`words[(b·rows + o)·bits + k]`, scales `d[b·rows + o]`), so a unit computes whole
//! outputs while neighbouring units, taking neighbouring outputs, read neighbouring blocks, four
//! words and four activations a load. Units wait for each other once, for the activations'
//! block sums: an earlier kernel split each output among 32 lanes and summed them in shared
//! memory, and its six barriers a cube dominated on the CPU-emulated GPUs (lavapipe,
//! SwiftShader), which run a cube's units as coroutines switched at every barrier.

use burn::tensor::{DType, Device, Shape, Tensor as BurnTensor};
use burn_cubecl::Cube;
use burn_cubecl::CubeDevice;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::ops::numeric::empty_device_dtype;
use burn_cubecl::tensor::CubeTensor;
use cubecl::bytes::Bytes;
use cubecl::client::Client;
use cubecl::prelude::*;
use cubecl::server::Handle;

use super::{AffineBlocks, PackedMatrix};

/// Activation rows a unit multiplies at once (its accumulators); a batch of up to this many
/// rows is one tile of exactly its size, a wider one tiles of this size.
pub const TILE: usize = 8;

/// f32s of shared memory a cube may use: WebGPU's guaranteed `maxComputeWorkgroupStorageSize`.
const SHARED_FLOATS: usize = 16384 / 4;

/// Units in a cube; each takes [`GpuMatrix::outputs_per_unit`] outputs, `OUTPUTS` apart.
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
    spread: u32,
    client: Client,
    device: CubeDevice,
}

impl std::fmt::Debug for GpuMatrix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GpuMatrix {{ {} × {}, {}-bit }}", self.rows, self.cols, self.bits)
    }
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
        // A software adapter (SwiftShader, lavapipe: no card behind it) runs four units at a
        // time in SIMD lanes and gathers every per-unit load lane by lane, so there a unit
        // takes several outputs and loads each activation once for them all: on SwiftShader a
        // block's four products took 6.6 → 4.2 ms, the Q8_0 head 53 → 43 ms (two outputs: its
        // words take twice Q4's registers, and four were slower). A GPU keeps one output a
        // unit, for parallelism.
        let software = client.properties().identity.physical.is_none();
        let spread = match (software, bits) {
            (false, _) => 1,
            (true, 4) => 4,
            (true, _) => 2,
        };
        Some(Self {
            rows,
            cols: matrix.cols(),
            bits,
            // Handed over, not copied (`create_from_slice` would copy): the head's blocks are
            // 35 MB. The device reads them little-endian, as every target Tiller runs on is.
            words: client.create(Bytes::from_elems(words)),
            d: client.create(Bytes::from_elems(d)),
            m: client.create(Bytes::from_elems(m)),
            spread,
            client,
            device,
        })
    }

    /// Outputs each unit computes (1, 2 or 4): chosen at upload for the adapter; the tests set
    /// each in turn, since one adapter would otherwise check only its own.
    pub fn outputs_per_unit(mut self, n: u32) -> Self {
        assert!(matches!(n, 1 | 2 | 4), "1, 2 or 4 outputs a unit, not {n}");
        self.spread = n;
        self
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
        // The block sums of a tile's rows live in shared memory: keep them within WebGPU's
        // guaranteed 16 KiB (a model wider than SmolLM2's 1536 gets shorter tiles).
        let tile = n.min(TILE).min(SHARED_FLOATS / (cols / 32)).max(1);
        let x = cube_tensor(x);
        packed_matmul::launch(
            &self.client,
            CubeCount::Static((self.rows as u32).div_ceil(OUTPUTS * self.spread), n.div_ceil(tile) as u32, 1),
            CubeDim::new_1d(OUTPUTS),
            4,
            x.into_tensor_arg(),
            self.words_arg(),
            self.scales_arg(&self.d),
            self.scales_arg(&self.m),
            y.clone().into_tensor_arg(),
            self.rows as u32,
            n as u32,
            self.cols as u32,
            self.bits,
            tile as u32,
            self.spread,
            accumulate,
        );
        BurnTensor::from_primitive::<Cube>(y)
    }
}

/// y[r, o] = Σ_i x[r, i] · W[o, i]: unit u of cube (X, Y) takes outputs X·OUTPUTS·spread + u +
/// e·OUTPUTS (e < spread) for rows Y·tile.. (fewer in a last, partial tile), reading each
/// activation once for all its outputs and each weight word once a row (from cache after the
/// first: holding a block's words for all rows in registers made SwiftShader's decode 1.15×
/// slower); with `accumulate`, adds to what y holds. Activations and words are read four at a
/// time (`N` = 4).
///
/// The m·Σx term needs each block's activation sum: the cube's units compute them first, once
/// for all its outputs, into shared memory (the cube's one barrier). Per weight the inner loop is
/// then a mask, a convert and a multiply-add: the quant in byte j of a word is taken in place,
/// as q·2^(8j) (exact in f32: at most eight significant bits), into one of eight partial sums,
/// scaled back once a block. Eight independent sums instead of one chain also let an emulator's
/// compiler overlap them: with the shifts and one sum the same kernel was 1.6× slower on
/// SwiftShader.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
fn packed_matmul<N: Size>(
    x: &Tensor<Vector<f32, N>>,
    words: &[Vector<u32, N>],
    d: &[f32],
    m: &[f32],
    y: &mut Tensor<f32>,
    rows: u32,
    n_rows: u32,
    #[comptime] cols: u32,
    #[comptime] bits: u32,
    #[comptime] tile: u32,
    #[comptime] spread: u32,
    #[comptime] accumulate: bool,
) {
    let blocks = comptime!(cols / 32);
    let first = CUBE_POS_Y * tile;
    let mut sums = Shared::<[f32]>::new_slice((tile * blocks) as usize);
    let mut i = UNIT_POS_X;
    while i < tile * blocks {
        let r = i / blocks;
        let mut s = 0.0f32;
        if first + r < n_rows {
            let base = (((first + r) * cols + (i % blocks) * 32) / 4) as usize;
            let mut v = x[base];
            #[unroll]
            for k in 1..8u32 {
                v += x[base + k as usize];
            }
            s = v.extract(0usize) + v.extract(1usize) + v.extract(2usize) + v.extract(3usize);
        }
        sums[i as usize] = s;
        i += OUTPUTS;
    }
    sync_cube();

    let o0 = CUBE_POS_X * OUTPUTS * spread + UNIT_POS_X;
    let mut acc = Array::<f32>::new((tile * spread) as usize);
    #[unroll]
    for r in 0..tile * spread {
        acc[r as usize] = 0.0f32;
    }
    for b in 0..blocks {
        #[unroll]
        for r in 0..tile {
            if first + r < n_rows {
                let base = (((first + r) * cols + b * 32) / 4) as usize;
                let mut xs = Array::<Vector<f32, N>>::new(8usize);
                #[unroll]
                for k in 0..8u32 {
                    xs[k as usize] = x[base + k as usize];
                }
                let sx = sums[(r * blocks + b) as usize];
                #[unroll]
                for e in 0..spread {
                    let o = o0 + e * OUTPUTS;
                    if o < rows {
                        let s = (b * rows + o) as usize;
                        let w0 = words[s * (bits / 4) as usize];
                        let mut w1 = w0;
                        if bits == 8 {
                            w1 = words[s * 2 + 1];
                        }
                        let mut part = Array::<f32>::new(8usize);
                        #[unroll]
                        for j in 0..8u32 {
                            part[j as usize] = 0.0f32;
                        }
                        #[unroll]
                        for k in 0..4u32 {
                            let lo = xs[k as usize];
                            let hi = xs[4 + k as usize];
                            if bits == 4 {
                                let word = w0.extract(k as usize);
                                #[unroll]
                                for j in 0..4u32 {
                                    let j = j as usize;
                                    part[j] += f32::cast_from(word & comptime!(15u32 << (8 * j))) * lo.extract(j);
                                    part[4 + j] += f32::cast_from(word & comptime!(240u32 << (8 * j))) * hi.extract(j);
                                }
                            } else {
                                let word_lo = w0.extract(k as usize);
                                let word_hi = w1.extract(k as usize);
                                #[unroll]
                                for j in 0..4u32 {
                                    let j = j as usize;
                                    part[j] += f32::cast_from(word_lo & comptime!(255u32 << (8 * j))) * lo.extract(j);
                                    part[4 + j] +=
                                        f32::cast_from(word_hi & comptime!(255u32 << (8 * j))) * hi.extract(j);
                                }
                            }
                        }
                        let mut qx = part[0];
                        #[unroll]
                        for j in 1..4u32 {
                            qx += part[j as usize] * comptime!(1.0f32 / (1u32 << (8 * j)) as f32);
                        }
                        #[unroll]
                        for j in 0..4u32 {
                            // The high half: nibbles 4 bits up in their byte, or bytes in place.
                            let shift = comptime!(8 * j + if bits == 4 { 4 } else { 0 });
                            qx += part[4 + j as usize] * comptime!(1.0f32 / (1u64 << shift) as f32);
                        }
                        // Σ (d·q + m)·x = d·Σ q·x + m·Σ x
                        acc[(r * spread + e) as usize] += d[s] * qx + m[s] * sx;
                    }
                }
            }
        }
    }
    #[unroll]
    for r in 0..tile {
        #[unroll]
        for e in 0..spread {
            let o = o0 + e * OUTPUTS;
            if first + r < n_rows && o < rows {
                let at = ((first + r) * rows + o) as usize;
                if accumulate {
                    y[at] += acc[(r * spread + e) as usize];
                } else {
                    y[at] = acc[(r * spread + e) as usize];
                }
            }
        }
    }
}
