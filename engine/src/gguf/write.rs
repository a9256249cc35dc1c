//! A minimal GGUF v3 writer: F32 tensors for llama.cpp control vectors and the tests' small
//! files, and tensors of any supported type as raw bytes (the benchmark's random-weight model).

use super::{TensorType, Value};

/// Serialize `metadata` and 1-D or N-D F32 `tensors` (ggml dims order) into a GGUF v3 file.
pub fn write_f32_gguf(metadata: &[(&str, Value)], tensors: &[(&str, Vec<u64>, &[f32])]) -> Vec<u8> {
    let bytes: Vec<Vec<u8>> =
        tensors.iter().map(|(_, _, d)| d.iter().flat_map(|v| v.to_le_bytes()).collect()).collect();
    let raw: Vec<RawTensor<'_>> = tensors
        .iter()
        .zip(&bytes)
        .map(|((name, dims, _), data)| RawTensor { name, dims: dims.clone(), ty: TensorType::F32, data })
        .collect();
    write_gguf(metadata, &raw)
}

/// A tensor already encoded in its type's blocks.
pub struct RawTensor<'a> {
    pub name: &'a str,
    /// ggml order: innermost first.
    pub dims: Vec<u64>,
    pub ty: TensorType,
    pub data: &'a [u8],
}

/// Serialize `metadata` and `tensors` into a GGUF v3 file.
pub fn write_gguf(metadata: &[(&str, Value)], tensors: &[RawTensor<'_>]) -> Vec<u8> {
    const ALIGN: usize = 32;
    let mut out = Vec::new();
    out.extend(b"GGUF");
    out.extend(3u32.to_le_bytes());
    out.extend((tensors.len() as u64).to_le_bytes());
    out.extend((metadata.len() as u64).to_le_bytes());
    for (key, value) in metadata {
        put_str(&mut out, key);
        put_value(&mut out, value, true);
    }
    let mut offset = 0u64;
    for t in tensors {
        put_str(&mut out, t.name);
        out.extend((t.dims.len() as u32).to_le_bytes());
        for d in &t.dims {
            out.extend(d.to_le_bytes());
        }
        out.extend(t.ty.id().to_le_bytes());
        out.extend(offset.to_le_bytes());
        offset += t.data.len().next_multiple_of(ALIGN) as u64;
    }
    out.resize(out.len().next_multiple_of(ALIGN), 0);
    for t in tensors {
        out.extend_from_slice(t.data);
        out.resize(out.len().next_multiple_of(ALIGN), 0);
    }
    out
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend((s.len() as u64).to_le_bytes());
    out.extend(s.as_bytes());
}

fn type_id(v: &Value) -> u32 {
    match v {
        Value::U8(_) => 0,
        Value::I8(_) => 1,
        Value::U16(_) => 2,
        Value::I16(_) => 3,
        Value::U32(_) => 4,
        Value::I32(_) => 5,
        Value::F32(_) => 6,
        Value::Bool(_) => 7,
        Value::String(_) => 8,
        Value::Array(_) => 9,
        Value::U64(_) => 10,
        Value::I64(_) => 11,
        Value::F64(_) => 12,
    }
}

fn put_value(out: &mut Vec<u8>, v: &Value, with_type: bool) {
    if with_type {
        out.extend(type_id(v).to_le_bytes());
    }
    match v {
        Value::U8(x) => out.push(*x),
        Value::I8(x) => out.push(*x as u8),
        Value::U16(x) => out.extend(x.to_le_bytes()),
        Value::I16(x) => out.extend(x.to_le_bytes()),
        Value::U32(x) => out.extend(x.to_le_bytes()),
        Value::I32(x) => out.extend(x.to_le_bytes()),
        Value::U64(x) => out.extend(x.to_le_bytes()),
        Value::I64(x) => out.extend(x.to_le_bytes()),
        Value::F32(x) => out.extend(x.to_le_bytes()),
        Value::F64(x) => out.extend(x.to_le_bytes()),
        Value::Bool(x) => out.push(*x as u8),
        Value::String(s) => put_str(out, s),
        Value::Array(items) => {
            out.extend(items.first().map_or(0, type_id).to_le_bytes());
            out.extend((items.len() as u64).to_le_bytes());
            for item in items {
                put_value(out, item, false);
            }
        }
    }
}
