use half::f16;

use super::acts::{ActRow, QuantizedRows};
use super::block_rows::BlockRows;
use super::blocks::BlockKind;
use super::row_groups::{GROUP, RowGroups};
use super::{Isa, QK, scalar};
use crate::gguf::{GgufError, SharedBytes, TensorType};

/// Weight rows widened at a time on the wide-batch path: 128 × 1536 f32 is 768 KiB, within a
/// core's L2 beside the activations.
const WIDE_TILE_ROWS: usize = 128;

/// The output of a product, written by several threads at disjoint columns.
#[derive(Clone, Copy)]
struct SendPtr(*mut f32);
// SAFETY: only used by `matmul_widened`, whose threads write disjoint elements.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}
impl SendPtr {
    fn get(self) -> *mut f32 {
        self.0
    }
}

/// A quantized matrix in the one form the GPU kernels read: weight = d·q + m per 32-block, with
/// q unsigned (Q4_0's offset of 8 and Q8_0's sign folded into m). Scales are f32, since WebGPU
/// without `shader-f16` (SwiftShader, many laptops) cannot read f16. Output-major: block b of
/// every output side by side (`kernels::gpu` says why), built in that order so the upload hands
/// these vectors to the device as they are.
#[derive(Clone, Debug)]
pub struct AffineBlocks {
    /// 4 (Q4_0, Q4_1: word w of a block holds elements 4w..4w+3 in its low nibbles and
    /// 4w+16..4w+19 in its high ones, as ggml packs them) or 8 (Q8_0: word w holds 4w..4w+3).
    pub bits: u32,
    /// [cols / 32, rows, bits] words; a block is `bits` words.
    pub words: Vec<u32>,
    /// [cols / 32, rows]
    pub d: Vec<f32>,
    /// [cols / 32, rows]
    pub m: Vec<f32>,
}

/// The format a matrix came in; its blocks stay in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightFormat {
    Q4_0,
    Q4_1,
    Q8_0,
    F16,
    F32,
}

/// A weight matrix of `rows` outputs × `cols` inputs, kept in its GGUF block format, byte for
/// byte: a row is `cols / 32` blocks, each its f16 scale (and f16 minimum), then its quants.
/// Loaded from a file parsed with [`crate::gguf::Gguf::parse_shared`], the blocks are the
/// file's own bytes ([`BlockRows`]), not a copy — except where [`PackedMatrix::for_isa`]
/// reorders them for AVX-512 ([`RowGroups`]: the same bytes, sixteen rows interleaved).
///
/// The blocks are not widened to larger scales: decode reads every weight once per token, so
/// its speed is the memory traffic, and the file's 20 bytes per 32 Q4_1 weights are the least
/// there is (f32 scales would add 20%). Kernels widen the f16 scales in registers (F16C on x86).
#[derive(Clone, Debug)]
pub struct PackedMatrix {
    rows: usize,
    cols: usize,
    format: WeightFormat,
    storage: Storage,
}

#[derive(Clone, Debug)]
enum Storage {
    /// [rows, cols / 32] blocks of `kind.bytes()` each, as in the file.
    Blocks {
        kind: BlockKind,
        blocks: BlockRows,
    },
    /// The same blocks repacked sixteen rows at a time for the AVX-512 kernels
    /// ([`RowGroups`]), in memory of their own. Only x86-64 builds repack.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    Groups {
        groups: RowGroups,
    },
    F16 {
        w: Vec<f16>,
    },
    F32 {
        w: Vec<f32>,
    },
}

impl PackedMatrix {
    /// A GGUF tensor of ggml shape [cols, rows] (rows of `cols` contiguous values), copied.
    pub fn from_gguf(ty: TensorType, bytes: &[u8], rows: usize, cols: usize) -> Result<Self, GgufError> {
        Self::from_shared(ty, &SharedBytes::from(bytes.to_vec()), 0..bytes.len(), rows, cols)
    }

    /// As [`PackedMatrix::from_gguf`] for the tensor at `range` of `file`: block formats keep
    /// their bytes there; f16 and f32 are read into a matrix of their own.
    pub fn from_shared(
        ty: TensorType,
        file: &SharedBytes,
        range: std::ops::Range<usize>,
        rows: usize,
        cols: usize,
    ) -> Result<Self, GgufError> {
        let bytes = &file[range.clone()];
        let bad = |why: String| GgufError::BadTensor { name: String::new(), why };
        let (format, block, block_bytes): (_, usize, usize) = match ty {
            TensorType::Q4_0 => (WeightFormat::Q4_0, QK, 18),
            TensorType::Q4_1 => (WeightFormat::Q4_1, QK, 20),
            TensorType::Q8_0 => (WeightFormat::Q8_0, QK, 34),
            TensorType::F16 => (WeightFormat::F16, 1, 2),
            TensorType::F32 => (WeightFormat::F32, 1, 4),
            TensorType::Other(_) => return Err(GgufError::UnsupportedType { ty: ty.name(), tensor: String::new() }),
        };
        let n = rows.checked_mul(cols).ok_or_else(|| bad("too many elements".into()))?;
        if n == 0 || !cols.is_multiple_of(block) || (n / block).checked_mul(block_bytes) != Some(bytes.len()) {
            return Err(bad(format!("{} bytes do not hold {rows} rows of {cols} {} elements", bytes.len(), ty.name())));
        }
        let blocks = |kind: BlockKind| Storage::Blocks {
            kind,
            blocks: BlockRows::new(file.clone(), range.clone(), cols / QK * kind.bytes()),
        };
        let storage = match format {
            WeightFormat::Q4_0 => blocks(BlockKind::Q4_0),
            WeightFormat::Q4_1 => blocks(BlockKind::Q4_1),
            WeightFormat::Q8_0 => blocks(BlockKind::Q8_0),
            WeightFormat::F16 => {
                Storage::F16 { w: bytes.chunks_exact(2).map(|b| f16::from_le_bytes([b[0], b[1]])).collect() }
            }
            WeightFormat::F32 => Storage::F32 {
                w: bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
            },
        };
        let m = Self { rows, cols, format, storage };
        m.check_finite()?;
        Ok(m)
    }

    /// Stack matrices with the same inputs and format into one (their outputs one after
    /// another): q, k and v, or gate and up, then cost one pass over the activations.
    pub fn concat(parts: &[PackedMatrix]) -> Option<Self> {
        let first = parts.first()?;
        if parts.iter().any(|p| p.cols != first.cols || p.format != first.format) {
            return None;
        }
        let rows = parts.iter().map(|p| p.rows).sum();
        let storage = match &first.storage {
            // Fused before repacking; repacked matrices stay separate products.
            Storage::Groups { .. } => return None,
            Storage::Blocks { kind, .. } => Storage::Blocks {
                kind: *kind,
                blocks: BlockRows::concat(parts.iter().map(|p| match &p.storage {
                    Storage::Blocks { blocks, .. } => blocks,
                    _ => unreachable!("same format"),
                })),
            },
            Storage::F16 { .. } => Storage::F16 {
                w: parts
                    .iter()
                    .flat_map(|p| match &p.storage {
                        Storage::F16 { w } => w.iter().copied(),
                        _ => unreachable!("same format"),
                    })
                    .collect(),
            },
            Storage::F32 { .. } => Storage::F32 {
                w: parts
                    .iter()
                    .flat_map(|p| match &p.storage {
                        Storage::F32 { w } => w.iter().copied(),
                        _ => unreachable!("same format"),
                    })
                    .collect(),
            },
        };
        Some(Self { rows, cols: first.cols, format: first.format, storage })
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    pub fn format(&self) -> WeightFormat {
        self.format
    }

    /// The matrix in the layout `isa`'s kernels read best: for AVX-512, block matrices of whole
    /// groups of sixteen rows are repacked into [`RowGroups`] (a copy: the file's bytes are then
    /// no longer needed for it); every other matrix is returned as it is.
    pub fn for_isa(self, isa: Isa) -> Self {
        #[cfg(target_arch = "x86_64")]
        if isa == Isa::Avx512 {
            return self.in_row_groups();
        }
        let _ = isa;
        self
    }

    #[cfg(test)]
    pub(crate) fn is_in_row_groups(&self) -> bool {
        matches!(self.storage, Storage::Groups { .. })
    }

    /// Block matrices of whole groups repacked into [`RowGroups`]; others as they are.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    pub(crate) fn in_row_groups(self) -> Self {
        match &self.storage {
            Storage::Blocks { kind, blocks } if self.rows.is_multiple_of(GROUP) => {
                let groups = RowGroups::new(*kind, blocks, self.rows, self.cols / QK);
                Self { storage: Storage::Groups { groups }, ..self }
            }
            _ => self,
        }
    }

    /// The same matrix with its blocks in memory of its own, not in the file's bytes: for a
    /// matrix that outlives the rest of the file (the embedding of a model on a GPU).
    pub fn detached(&self) -> Self {
        let storage = match &self.storage {
            Storage::Blocks { kind, blocks } => Storage::Blocks { kind: *kind, blocks: blocks.detached() },
            other => other.clone(),
        };
        Self { storage, ..*self }
    }

    /// Bytes held, scales included.
    pub fn size_bytes(&self) -> usize {
        match &self.storage {
            Storage::Blocks { blocks, .. } => blocks.len_bytes(),
            Storage::Groups { groups } => groups.len_bytes(),
            Storage::F16 { w } => 2 * w.len(),
            Storage::F32 { w } => 4 * w.len(),
        }
    }

    /// Row `r` widened to f32 (the embedding lookup reads one row per token).
    pub fn row_f32(&self, r: usize) -> Vec<f32> {
        let c = self.cols;
        match &self.storage {
            Storage::Blocks { kind, blocks } => {
                let mut out = Vec::with_capacity(c);
                for b in blocks.row(r).chunks_exact(kind.bytes()) {
                    scalar::widen_block(*kind, b, &mut out);
                }
                out
            }
            Storage::Groups { groups } => {
                let mut out = Vec::with_capacity(c);
                for b in groups.row(r).chunks_exact(groups.kind().bytes()) {
                    scalar::widen_block(groups.kind(), b, &mut out);
                }
                out
            }
            Storage::F16 { w } => w[r * c..(r + 1) * c].iter().map(|v| v.to_f32()).collect(),
            Storage::F32 { w } => w[r * c..(r + 1) * c].to_vec(),
        }
    }

    /// x [n, cols] → x · Wᵀ [n, rows].
    pub fn matmul(&self, x: &[f32], isa: Isa) -> Vec<f32> {
        assert!(x.len().is_multiple_of(self.cols), "activations of {} columns", self.cols);
        let n = x.len() / self.cols;
        // Row groups stay in their integer kernel at any width: it does less per product than
        // widening and a GEMM (`kernel_throughput`).
        let grouped = matches!(self.storage, Storage::Groups { .. });
        if isa.widens_batches_of(n) && !grouped {
            self.matmul_widened(x, n, isa)
        } else {
            self.matmul_integer(x, n, isa)
        }
    }

    /// The product in `isa`'s kernel with activations rounded to i16 per block.
    pub(crate) fn matmul_integer(&self, x: &[f32], n: usize, isa: Isa) -> Vec<f32> {
        let quantized = match self.storage {
            Storage::Blocks { .. } | Storage::Groups { .. } => Some(QuantizedRows::quantize(x, self.cols)),
            _ => None,
        };
        let acts: Vec<ActRow<'_>> = quantized.iter().flat_map(|q| (0..q.rows()).map(|i| q.row(i))).collect();
        #[cfg(target_arch = "x86_64")]
        if let (Storage::Groups { groups }, Isa::Avx512) = (&self.storage, isa) {
            return self.matmul_groups_avx512(groups, &acts);
        }
        // Computed as [rows, n] so that threads own contiguous runs of weight rows.
        let mut out_t = vec![0f32; self.rows * n];
        super::parallel::for_row_chunks(&mut out_t, n, self.rows, self.cols, |first, chunk| {
            self.rows_dot(first, x, &acts, isa, chunk);
        });
        if n == 1 {
            return out_t;
        }
        let mut out = vec![0f32; n * self.rows];
        for (r, col) in out_t.chunks_exact(n).enumerate() {
            for (i, &v) in col.iter().enumerate() {
                out[i * self.rows + r] = v;
            }
        }
        out
    }

    /// The AVX-512 kernel over row groups, each thread's run of groups writing its columns of
    /// the output [n, rows] itself: sixteen outputs are one vector store, where a transposed
    /// copy of [rows, n] cost a Compare step half a millisecond on the calling thread.
    #[cfg(target_arch = "x86_64")]
    fn matmul_groups_avx512(&self, groups: &RowGroups, acts: &[ActRow<'_>]) -> Vec<f32> {
        let (rows, n, nb) = (self.rows, acts.len(), self.cols / QK);
        let mut out = vec![0f32; n * rows];
        let dst = SendPtr(out.as_mut_ptr());
        let vnni = std::is_x86_feature_detected!("avx512vnni");
        super::parallel::for_row_ranges(rows, n, self.cols, GROUP, |first, count| {
            let bytes = groups.groups(first / GROUP..(first + count) / GROUP);
            // SAFETY: Isa::Avx512 is only chosen when the processor reports AVX-512 F and BW,
            // AVX2, FMA and F16C, and VNNI is checked above. Runs are whole groups (aligned to
            // GROUP, and rows is a multiple of it); each writes columns first..first + count of
            // every output row, which no other run writes, all inside `out` [n, rows].
            unsafe {
                let at = dst.get().add(first);
                if vnni {
                    super::x86_groups::matmul_vnni(groups.kind(), bytes, nb, acts, at, rows)
                } else {
                    super::x86_groups::matmul(groups.kind(), bytes, nb, acts, at, rows)
                }
            }
        });
        out
    }

    /// A wide batch (a long prompt, a batch of pairs): each tile of weight rows is widened to
    /// f32 once and multiplied by every activation row with an f32 GEMM (the `gemm` crate,
    /// which burn-flex builds anyway). At this width the integer kernels are bound by
    /// arithmetic, not by reading weights, and a register-blocked f32 GEMM does more of it per
    /// instruction than unpacking nibbles for each activation row; the widening is paid once
    /// per tile, not per row. Activations stay f32 (no rounding to i16).
    pub(crate) fn matmul_widened(&self, x: &[f32], n: usize, isa: Isa) -> Vec<f32> {
        let (rows, cols) = (self.rows, self.cols);
        let mut out = vec![0f32; n * rows];
        // Each run of weight rows writes its own columns of `out` [n, rows], straight from the
        // GEMM: no transposed copy, which cost as much as the widening.
        let dst = SendPtr(out.as_mut_ptr());
        super::parallel::for_row_ranges(rows, n, cols, 1, |first, count| {
            let mut tile = vec![0f32; WIDE_TILE_ROWS.min(count) * cols];
            for start in (first..first + count).step_by(WIDE_TILE_ROWS) {
                let tile_rows = WIDE_TILE_ROWS.min(first + count - start);
                let tile = &mut tile[..tile_rows * cols];
                self.widen_rows(start, tile, isa);
                // out[i, start + r] = Σ_k x[i, k] · tile[r, k]: m = n activation rows, n = tile rows.
                // SAFETY: the strides describe `x` [n, cols], `tile` [tile_rows, cols] read as its
                // transpose, and columns start..start + tile_rows of `out` [n, rows], in bounds;
                // runs of rows are disjoint, so no two threads write the same element.
                unsafe {
                    gemm::gemm(
                        n,
                        tile_rows,
                        cols,
                        dst.get().add(start),
                        1,
                        rows as isize,
                        false,
                        x.as_ptr(),
                        1,
                        cols as isize,
                        tile.as_ptr(),
                        cols as isize,
                        1,
                        0.0,
                        1.0,
                        false,
                        false,
                        false,
                        gemm::Parallelism::None,
                    );
                }
            }
        });
        out
    }

    /// Weight rows `first..` widened to f32 into `out` [rows, cols].
    pub(crate) fn widen_rows(&self, first: usize, out: &mut [f32], isa: Isa) {
        let c = self.cols;
        match &self.storage {
            Storage::Blocks { kind, blocks } => {
                let rows = out.len() / c;
                for (start, piece) in blocks.runs(first..first + rows) {
                    let out = &mut out[(start - first) * c..][..piece.len() / kind.bytes() * QK];
                    let out = out.as_chunks_mut::<QK>().0;
                    match isa {
                        #[cfg(target_arch = "x86_64")]
                        // SAFETY: both x86 instruction sets imply AVX2, FMA and F16C (Isa::supported).
                        Isa::Avx2 | Isa::Avx512 => unsafe { super::x86::widen_blocks(*kind, piece, out) },
                        _ => {
                            for (b, o) in piece.chunks_exact(kind.bytes()).zip(out) {
                                scalar::widen_block_into(*kind, b, o);
                            }
                        }
                    }
                }
            }
            // Only the tests widen row groups (their products never do): row by row, as stored.
            Storage::Groups { .. } => {
                for (r, o) in out.chunks_exact_mut(c).enumerate() {
                    o.copy_from_slice(&self.row_f32(first + r));
                }
            }
            Storage::F16 { w } => {
                out.iter_mut().zip(&w[first * c..]).for_each(|(o, v)| *o = v.to_f32());
            }
            Storage::F32 { w } => out.copy_from_slice(&w[first * c..first * c + out.len()]),
        }
    }

    /// Weight rows `first..` against every activation row: out[r · n + i] = W[first + r] · x[i],
    /// for as many rows as `out` holds. `xs` are the quantized rows of `x` (empty for f16 and f32
    /// weights, which read `x`).
    fn rows_dot(&self, first: usize, x: &[f32], xs: &[ActRow<'_>], isa: Isa, out: &mut [f32]) {
        let (c, n) = (self.cols, x.len() / self.cols);
        let rows = first..first + out.len() / n;
        match &self.storage {
            Storage::Blocks { kind, blocks } => {
                let (nb, len) = (c / QK, c / QK * kind.bytes());
                for (start, bytes) in blocks.runs(rows.clone()) {
                    let out = &mut out[(start - rows.start) * n..][..bytes.len() / len * n];
                    match isa {
                        Isa::Scalar => {
                            for (row, out) in bytes.chunks_exact(len).zip(out.chunks_exact_mut(n)) {
                                xs.iter().zip(out).for_each(|(x, o)| *o = scalar::dot(*kind, row, *x));
                            }
                        }
                        #[cfg(target_arch = "x86_64")]
                        // SAFETY: Isa::Avx2 is only chosen when the processor reports AVX2, FMA and F16C.
                        Isa::Avx2 => unsafe { super::x86::matmul(*kind, bytes, nb, xs, out) },
                        #[cfg(target_arch = "x86_64")]
                        // SAFETY: Isa::Avx512 is only chosen when the processor reports AVX-512 F and BW too.
                        Isa::Avx512 => unsafe { super::x86::matmul_avx512(*kind, bytes, nb, xs, out) },
                        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
                        Isa::Simd128 => super::wasm::matmul(*kind, bytes, nb, xs, out),
                    }
                }
            }
            Storage::Groups { groups } => {
                let kind = groups.kind();
                // The reference kernel on ggml's rows (AVX-512 takes `matmul_groups_avx512`).
                for (r, out) in rows.zip(out.chunks_exact_mut(n)) {
                    let row = groups.row(r);
                    xs.iter().zip(out).for_each(|(x, o)| *o = scalar::dot(kind, &row, *x));
                }
            }
            Storage::F16 { w } => {
                for (r, out) in rows.zip(out.chunks_exact_mut(n)) {
                    let row: Vec<f32> = w[r * c..(r + 1) * c].iter().map(|v| v.to_f32()).collect();
                    x.chunks_exact(c).zip(out).for_each(|(xi, o)| *o = super::ops::dot(&row, xi));
                }
            }
            Storage::F32 { w } => {
                for (r, out) in rows.zip(out.chunks_exact_mut(n)) {
                    x.chunks_exact(c).zip(out).for_each(|(xi, o)| *o = super::ops::dot(&w[r * c..(r + 1) * c], xi));
                }
            }
        }
    }

    /// The blocks as a GPU kernel reads them ([`AffineBlocks`]); `None` for f16 and f32
    /// matrices, which a GPU multiplies dense.
    pub fn affine_blocks(&self) -> Option<AffineBlocks> {
        if let Storage::Groups { groups } = &self.storage {
            // Not on a GPU's load path, which never repacks; kept whole for any caller.
            let rows: Vec<u8> = (0..self.rows).flat_map(|r| groups.row(r)).collect();
            let (len, kind) = (rows.len(), groups.kind());
            let plain = Storage::Blocks {
                kind,
                blocks: BlockRows::new(SharedBytes::from(rows), 0..len, self.cols / QK * kind.bytes()),
            };
            return Self { storage: plain, ..*self }.affine_blocks();
        }
        let Storage::Blocks { kind, blocks: rows } = &self.storage else { return None };
        let blocks = rows.len_bytes() / kind.bytes();
        let per_row = self.cols / 32;
        let bits = if *kind == BlockKind::Q8_0 { 8 } else { 4 };
        let mut out =
            AffineBlocks { bits, words: vec![0; blocks * bits as usize], d: vec![0.0; blocks], m: vec![0.0; blocks] };
        let word = |q: &[u8]| u32::from_le_bytes([q[0], q[1], q[2], q[3]]);
        for (i, b) in rows.all().flat_map(|run| run.chunks_exact(kind.bytes())).enumerate() {
            // Block i is block i % per_row of output i / per_row; it goes to (block, output).
            let at = (i % per_row) * self.rows + i / per_row;
            let words = &mut out.words[at * bits as usize..(at + 1) * bits as usize];
            let d = f16::from_le_bytes([b[0], b[1]]).to_f32();
            out.d[at] = d;
            match kind {
                BlockKind::Q4_0 => {
                    out.m[at] = -8.0 * d;
                    words.iter_mut().zip(b[2..18].chunks_exact(4)).for_each(|(w, q)| *w = word(q));
                }
                BlockKind::Q4_1 => {
                    out.m[at] = f16::from_le_bytes([b[2], b[3]]).to_f32();
                    words.iter_mut().zip(b[4..20].chunks_exact(4)).for_each(|(w, q)| *w = word(q));
                }
                BlockKind::Q8_0 => {
                    // i8 → u8 by adding 128, so every format reads as d·q + m with q unsigned.
                    out.m[at] = -128.0 * d;
                    for (w, q) in words.iter_mut().zip(b[2..34].chunks_exact(4)) {
                        *w = u32::from_le_bytes([0, 1, 2, 3].map(|j| (q[j] as i8 as i16 + 128) as u8));
                    }
                }
            }
        }
        Some(out)
    }

    /// A weight or scale that is NaN or infinite makes every product it touches meaningless.
    fn check_finite(&self) -> Result<(), GgufError> {
        let finite = match &self.storage {
            Storage::Blocks { kind, blocks } => {
                let scales = if *kind == BlockKind::Q4_1 { 2 } else { 1 };
                blocks
                    .all()
                    .flat_map(|run| run.chunks_exact(kind.bytes()))
                    .all(|b| (0..scales).all(|i| f16::from_le_bytes([b[2 * i], b[2 * i + 1]]).is_finite()))
            }
            Storage::Groups { .. } => true, // repacked from checked blocks
            Storage::F16 { w } => w.iter().all(|v| v.is_finite()),
            Storage::F32 { w } => w.iter().all(|v| v.is_finite()),
        };
        if finite {
            Ok(())
        } else {
            Err(GgufError::BadTensor { name: String::new(), why: "it holds NaN or infinite values".into() })
        }
    }
}
