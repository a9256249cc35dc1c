use super::{GgufError, Reader};

/// Arrays of arrays are legal GGUF but no model uses more than one level; a bound keeps a
/// hostile file from recursing without end.
const MAX_NESTING: u32 = 4;

/// A metadata value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    U64(u64),
    I64(i64),
    F32(f32),
    F64(f64),
    Bool(bool),
    String(String),
    Array(Vec<Value>),
}

impl Value {
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, GgufError> {
        let ty = r.u32()?;
        Self::read_typed(r, ty, 0)
    }

    fn read_typed(r: &mut Reader<'_>, ty: u32, depth: u32) -> Result<Self, GgufError> {
        Ok(match ty {
            0 => Self::U8(r.u8()?),
            1 => Self::I8(r.u8()? as i8),
            2 => Self::U16(r.u16()?),
            3 => Self::I16(r.u16()? as i16),
            4 => Self::U32(r.u32()?),
            5 => Self::I32(r.u32()? as i32),
            6 => Self::F32(r.f32()?),
            7 => Self::Bool(r.u8()? != 0),
            8 => Self::String(r.string()?),
            9 => {
                if depth >= MAX_NESTING {
                    return Err(GgufError::NestedTooDeep);
                }
                let elem_ty = r.u32()?;
                let n = r.u64()?;
                r.check_count(n, 1)?;
                let mut items = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    items.push(Self::read_typed(r, elem_ty, depth + 1)?);
                }
                Self::Array(items)
            }
            10 => Self::U64(r.u64()?),
            11 => Self::I64(r.u64()? as i64),
            12 => Self::F64(r.f64()?),
            other => return Err(GgufError::BadValueType(other)),
        })
    }

    /// Any non-negative integer value.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Self::U8(v) => Some(v as u64),
            Self::U16(v) => Some(v as u64),
            Self::U32(v) => Some(v as u64),
            Self::U64(v) => Some(v),
            Self::I8(v) => u64::try_from(v).ok(),
            Self::I16(v) => u64::try_from(v).ok(),
            Self::I32(v) => u64::try_from(v).ok(),
            Self::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Self::I8(v) => Some(v as i64),
            Self::I16(v) => Some(v as i64),
            Self::I32(v) => Some(v as i64),
            Self::I64(v) => Some(v),
            _ => self.as_u64().and_then(|v| i64::try_from(v).ok()),
        }
    }

    /// Any numeric value.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Self::F32(v) => Some(v as f64),
            Self::F64(v) => Some(v),
            _ => self.as_i64().map(|v| v as f64),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Self::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Self::Array(a) => Some(a),
            _ => None,
        }
    }
}
