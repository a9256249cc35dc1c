//! GGUF reader over a byte slice.
//!
//! The browser hands us the file as bytes and natively we read it into memory, so the reader
//! borrows a `&[u8]` and never trusts a length or offset it finds inside it: every read is bounds
//! checked and every count is checked against the bytes left before anything is allocated.

pub(crate) mod dequant;
mod error;
mod shared;
mod value;
mod write;

pub use dequant::{block_size, dequantize};
pub use error::GgufError;
pub use shared::SharedBytes;
pub use value::Value;
pub use write::{RawTensor, write_f32_gguf, write_gguf};

use std::collections::BTreeMap;

const MAGIC: &[u8; 4] = b"GGUF";
const DEFAULT_ALIGNMENT: u64 = 32;
/// ggml tensors have at most four dimensions.
const MAX_DIMS: u32 = 4;

/// ggml's tensor element types, by their on-disk id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TensorType {
    F32,
    F16,
    Q4_0,
    Q4_1,
    Q8_0,
    /// A type this reader knows the name of but cannot dequantize.
    Other(u32),
}

impl TensorType {
    fn from_id(id: u32) -> Self {
        match id {
            0 => Self::F32,
            1 => Self::F16,
            2 => Self::Q4_0,
            3 => Self::Q4_1,
            8 => Self::Q8_0,
            other => Self::Other(other),
        }
    }

    pub fn id(self) -> u32 {
        match self {
            Self::F32 => 0,
            Self::F16 => 1,
            Self::Q4_0 => 2,
            Self::Q4_1 => 3,
            Self::Q8_0 => 8,
            Self::Other(id) => id,
        }
    }

    /// ggml's name for the type, for error messages.
    pub fn name(self) -> String {
        let known = match self.id() {
            0 => "F32",
            1 => "F16",
            2 => "Q4_0",
            3 => "Q4_1",
            6 => "Q5_0",
            7 => "Q5_1",
            8 => "Q8_0",
            9 => "Q8_1",
            10 => "Q2_K",
            11 => "Q3_K",
            12 => "Q4_K",
            13 => "Q5_K",
            14 => "Q6_K",
            15 => "Q8_K",
            16 => "IQ2_XXS",
            17 => "IQ2_XS",
            18 => "IQ3_XXS",
            19 => "IQ1_S",
            20 => "IQ4_NL",
            21 => "IQ3_S",
            22 => "IQ2_S",
            23 => "IQ4_XS",
            24 => "I8",
            25 => "I16",
            26 => "I32",
            27 => "I64",
            28 => "F64",
            29 => "IQ1_M",
            30 => "BF16",
            34 => "TQ1_0",
            35 => "TQ2_0",
            39 => "MXFP4",
            _ => return format!("#{}", self.id()),
        };
        known.to_string()
    }
}

impl TensorType {
    /// (elements per block, bytes per block) of common formats this reader cannot decode: a
    /// file holding them still parses with every tensor bounds-checked, and `dequantize` then
    /// names the tensor it cannot read.
    fn storage_size(self) -> Option<(u64, u64)> {
        Some(match self.id() {
            6 => (32, 22),     // Q5_0
            7 => (32, 24),     // Q5_1
            9 => (32, 36),     // Q8_1
            10 => (256, 84),   // Q2_K
            11 => (256, 110),  // Q3_K
            12 => (256, 144),  // Q4_K
            13 => (256, 176),  // Q5_K
            14 => (256, 210),  // Q6_K
            15 => (256, 292),  // Q8_K
            20 => (32, 18),    // IQ4_NL
            23 => (256, 136),  // IQ4_XS
            24 => (1, 1),      // I8
            25 | 30 => (1, 2), // I16, BF16
            26 => (1, 4),      // I32
            27 | 28 => (1, 8), // I64, F64
            _ => return None,
        })
    }
}

/// Where a tensor lives in the file and what it holds.
#[derive(Clone, Debug)]
pub struct TensorInfo {
    pub name: String,
    /// ggml order: `dims[0]` is the contiguous (innermost) dimension.
    pub dims: Vec<u64>,
    pub ty: TensorType,
    /// Offset from the start of the data section.
    pub offset: u64,
}

impl TensorInfo {
    pub fn n_elements(&self) -> u64 {
        self.dims.iter().product()
    }
}

/// A parsed GGUF file: metadata and the tensor index, borrowing the file's bytes.
pub struct Gguf<'a> {
    bytes: &'a [u8],
    pub version: u32,
    metadata: BTreeMap<String, Value>,
    tensors: Vec<TensorInfo>,
    data_start: usize,
    /// Set by [`Gguf::parse_shared`]: the owner of `bytes`, which loaded matrices then share.
    shared: Option<SharedBytes>,
}

impl<'a> Gguf<'a> {
    /// Parse the header, metadata and tensor index, and check that every tensor's data lies
    /// inside `bytes`. Tensor data is not touched until asked for.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, GgufError> {
        let mut r = Reader { bytes, pos: 0 };
        let magic = r.take(4)?;
        if magic != MAGIC {
            return Err(GgufError::BadMagic([magic[0], magic[1], magic[2], magic[3]]));
        }
        let version = r.u32()?;
        if !(2..=3).contains(&version) {
            return Err(GgufError::UnsupportedVersion(version));
        }
        let n_tensors = r.u64()?;
        let n_kv = r.u64()?;

        let mut metadata = BTreeMap::new();
        for _ in 0..n_kv {
            let key = r.string()?;
            let value = Value::read(&mut r)?;
            metadata.insert(key, value);
        }

        // Each tensor entry takes at least 8 (name len) + 4 + 4 + 8 bytes.
        r.check_count(n_tensors, 24)?;
        let mut tensors = Vec::with_capacity(n_tensors as usize);
        for _ in 0..n_tensors {
            let name = r.string()?;
            let n_dims = r.u32()?;
            if n_dims == 0 || n_dims > MAX_DIMS {
                return Err(GgufError::BadTensor { name, why: format!("{n_dims} dimensions") });
            }
            let mut dims = Vec::with_capacity(n_dims as usize);
            for _ in 0..n_dims {
                dims.push(r.u64()?);
            }
            let ty = TensorType::from_id(r.u32()?);
            let offset = r.u64()?;
            tensors.push(TensorInfo { name, dims, ty, offset });
        }

        let alignment = match metadata.get("general.alignment") {
            Some(v) => v
                .as_u64()
                .filter(|a| a.is_power_of_two())
                .ok_or_else(|| GgufError::BadMetadata { key: "general.alignment".into(), want: "a power of two" })?,
            None => DEFAULT_ALIGNMENT,
        };
        let data_start = (r.pos as u64).div_ceil(alignment).saturating_mul(alignment);
        if data_start > bytes.len() as u64 && !tensors.is_empty() {
            return Err(GgufError::Truncated { needed: data_start, have: bytes.len() as u64 });
        }
        let data_len = (bytes.len() as u64).saturating_sub(data_start);

        for t in &tensors {
            let size = tensor_byte_size(t)?;
            let end = t.offset.checked_add(size);
            if end.is_none_or(|end| end > data_len) {
                return Err(GgufError::TensorOutOfRange { name: t.name.clone(), offset: t.offset, size, data_len });
            }
        }

        Ok(Self { bytes, version, metadata, tensors, data_start: data_start as usize, shared: None })
    }

    /// As [`Gguf::parse`], for a file whose weights are to be kept in `bytes` themselves: the
    /// packed matrices a model loads from it are ranges of `bytes`, not copies.
    pub fn parse_shared(bytes: &'a SharedBytes) -> Result<Self, GgufError> {
        Ok(Self { shared: Some(bytes.clone()), ..Self::parse(bytes)? })
    }

    /// The file's bytes when it was parsed with [`Gguf::parse_shared`].
    pub fn shared(&self) -> Option<&SharedBytes> {
        self.shared.as_ref()
    }

    pub fn metadata(&self) -> &BTreeMap<String, Value> {
        &self.metadata
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.metadata.get(key)
    }

    /// A metadata value that must exist.
    pub fn require(&self, key: &str) -> Result<&Value, GgufError> {
        self.metadata.get(key).ok_or_else(|| GgufError::MissingKey(key.to_string()))
    }

    pub fn require_u64(&self, key: &str) -> Result<u64, GgufError> {
        self.require(key)?
            .as_u64()
            .ok_or_else(|| GgufError::BadMetadata { key: key.into(), want: "an unsigned integer" })
    }

    pub fn require_f32(&self, key: &str) -> Result<f32, GgufError> {
        self.require(key)?
            .as_f64()
            .map(|v| v as f32)
            .ok_or_else(|| GgufError::BadMetadata { key: key.into(), want: "a number" })
    }

    pub fn require_str(&self, key: &str) -> Result<&str, GgufError> {
        self.require(key)?.as_str().ok_or_else(|| GgufError::BadMetadata { key: key.into(), want: "a string" })
    }

    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    pub fn tensor_info(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// The raw bytes of a tensor (bounds were checked by `parse`).
    pub fn tensor_bytes(&self, info: &TensorInfo) -> &'a [u8] {
        &self.bytes[self.tensor_range(info)]
    }

    /// Where a tensor's bytes lie in the file.
    pub fn tensor_range(&self, info: &TensorInfo) -> std::ops::Range<usize> {
        let start = self.data_start + info.offset as usize;
        // `parse` checked the range and the size cannot have changed since.
        let size = tensor_byte_size(info).unwrap_or(0) as usize;
        start..start + size
    }

    /// A tensor's values as f32, in ggml order (innermost dimension first).
    pub fn dequantize(&self, name: &str) -> Result<Vec<f32>, GgufError> {
        let info = self.tensor_info(name).ok_or_else(|| GgufError::MissingTensor(name.into()))?;
        dequantize(info.ty, self.tensor_bytes(info), info.n_elements() as usize).map_err(|e| e.in_tensor(&info.name))
    }
}

/// Bytes a tensor takes on disk, refusing sizes that overflow or types we cannot size.
fn tensor_byte_size(t: &TensorInfo) -> Result<u64, GgufError> {
    let n = t
        .dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| GgufError::BadTensor { name: t.name.clone(), why: "too many elements".into() })?;
    let (block, bytes_per_block) = block_size(t.ty)
        .or_else(|| t.ty.storage_size())
        .ok_or_else(|| GgufError::UnsupportedType { ty: t.ty.name(), tensor: t.name.clone() })?;
    if !t.dims[0].is_multiple_of(block) {
        return Err(GgufError::BadTensor {
            name: t.name.clone(),
            why: format!("row of {} is not a multiple of the {}-element block", t.dims[0], block),
        });
    }
    (n / block)
        .checked_mul(bytes_per_block)
        .ok_or_else(|| GgufError::BadTensor { name: t.name.clone(), why: "too many bytes".into() })
}

/// A bounds-checked little-endian cursor.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], GgufError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or(GgufError::Truncated { needed: self.pos as u64 + n as u64, have: self.bytes.len() as u64 })?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], GgufError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, GgufError> {
        Ok(self.take(1)?[0])
    }
    pub(crate) fn u16(&mut self) -> Result<u16, GgufError> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    pub(crate) fn u32(&mut self) -> Result<u32, GgufError> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    pub(crate) fn u64(&mut self) -> Result<u64, GgufError> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    pub(crate) fn f32(&mut self) -> Result<f32, GgufError> {
        Ok(f32::from_le_bytes(self.array()?))
    }
    pub(crate) fn f64(&mut self) -> Result<f64, GgufError> {
        Ok(f64::from_le_bytes(self.array()?))
    }

    pub(crate) fn string(&mut self) -> Result<String, GgufError> {
        let len = self.u64()?;
        self.check_count(len, 1)?;
        let raw = self.take(len as usize)?;
        String::from_utf8(raw.to_vec()).map_err(|_| GgufError::BadString { at: self.pos as u64 })
    }

    /// Refuse a count whose elements (each at least `min_bytes`) cannot fit in what is left,
    /// before anything is allocated for them.
    pub(crate) fn check_count(&self, count: u64, min_bytes: u64) -> Result<(), GgufError> {
        let left = (self.bytes.len() - self.pos) as u64;
        match count.checked_mul(min_bytes) {
            Some(need) if need <= left => Ok(()),
            _ => Err(GgufError::Truncated {
                needed: (self.pos as u64).saturating_add(count.saturating_mul(min_bytes)),
                have: self.bytes.len() as u64,
            }),
        }
    }
}
