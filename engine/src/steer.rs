//! Activation steering with llama.cpp's control-vector semantics, so files move freely between
//! Tiller, llama.cpp and repeng: `direction.N` (N ≥ 1) times its scale is added to the output of
//! block N at every position, for N inside an inclusive layer range; several vectors are summed.

use std::collections::BTreeMap;

use burn::tensor::{Device, Tensor, TensorData};
use thiserror::Error;

use crate::gguf::{Gguf, GgufError, TensorType, Value, write_f32_gguf};
use crate::model::ResidualHook;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum SteerError {
    #[error(transparent)]
    Gguf(#[from] GgufError),
    #[error("`{0}` is not a control-vector tensor name (expected direction.N with N ≥ 1)")]
    BadName(String),
    #[error("control-vector tensor `{name}` must be a 1-D F32 vector")]
    BadTensor { name: String },
    #[error("control vector has {got} dimensions but the model's embedding has {want}")]
    WidthMismatch { got: usize, want: usize },
    #[error("the control-vector file has no direction.N tensors")]
    Empty,
    #[error("layer range {start}..={end} is empty or starts at block 0 (valid: 1..={max})")]
    BadRange { start: usize, end: usize, max: usize },
    #[error("steering scale {0} is not a finite number")]
    BadScale(f32),
    #[error("control-vector tensor `{name}` holds a value that is not a finite number (NaN or infinity)")]
    NonFinite { name: String },
    #[error(
        "steering overflows at block {block}: the vector times its scale is too large for the model's f32 arithmetic; use a smaller scale"
    )]
    Overflow { block: usize },
    #[error("the control vector steers block {block}, but the model has {n_layer} blocks (0 to {}); it was made for another model", n_layer.saturating_sub(1))]
    PastTheModel { block: usize, n_layer: usize },
}

/// Per-block directions, keyed by the block whose output receives them.
#[derive(Clone, Debug, PartialEq)]
pub struct ControlVector {
    pub n_embd: usize,
    pub directions: BTreeMap<usize, Vec<f32>>,
}

impl ControlVector {
    /// Read a llama.cpp control-vector GGUF (as written by llama-cvector-generator or repeng).
    /// Like llama.cpp, metadata is not consulted and repeated `direction.N` tensors are summed.
    pub fn from_gguf(g: &Gguf<'_>) -> Result<Self, SteerError> {
        let mut directions: BTreeMap<usize, Vec<f32>> = BTreeMap::new();
        let mut n_embd = None;
        for info in g.tensors() {
            let layer = info
                .name
                .strip_prefix("direction.")
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|&n| n >= 1)
                .ok_or_else(|| SteerError::BadName(info.name.clone()))?;
            if info.ty != TensorType::F32 || info.dims.len() != 1 {
                return Err(SteerError::BadTensor { name: info.name.clone() });
            }
            let width = info.dims[0] as usize;
            if *n_embd.get_or_insert(width) != width {
                return Err(SteerError::WidthMismatch { got: width, want: n_embd.unwrap_or(width) });
            }
            let v = g.dequantize(&info.name)?;
            if !v.iter().all(|x| x.is_finite()) {
                return Err(SteerError::NonFinite { name: info.name.clone() });
            }
            let slot = directions.entry(layer).or_insert_with(|| vec![0.0; width]);
            slot.iter_mut().zip(v).for_each(|(a, b)| *a += b);
        }
        let n_embd = n_embd.ok_or(SteerError::Empty)?;
        Ok(Self { n_embd, directions })
    }

    /// Serialize as a llama.cpp control-vector GGUF.
    pub fn to_gguf(&self, model_hint: &str) -> Vec<u8> {
        let layer_count = self.directions.keys().max().copied().unwrap_or(0);
        let names: Vec<String> = self.directions.keys().map(|l| format!("direction.{l}")).collect();
        let tensors: Vec<(&str, Vec<u64>, &[f32])> = names
            .iter()
            .zip(self.directions.values())
            .map(|(n, v)| (n.as_str(), vec![self.n_embd as u64], v.as_slice()))
            .collect();
        write_f32_gguf(
            &[
                ("general.architecture", Value::String("controlvector".into())),
                ("controlvector.model_hint", Value::String(model_hint.into())),
                ("controlvector.layer_count", Value::I32(layer_count as i32)),
            ],
            &tensors,
        )
    }
}

/// The summed, scaled vectors ready to add: one [1, n_embd] per steered block, on the device
/// and in host memory (for the host path).
#[derive(Clone, Debug, Default)]
pub struct Steering {
    per_layer: Vec<Option<Added>>,
}

#[derive(Clone, Debug)]
pub(crate) struct Added {
    pub(crate) tensor: Tensor<2>,
    pub(crate) host: Vec<f32>,
}

impl Steering {
    /// No steering.
    pub fn none() -> Self {
        Self::default()
    }

    /// Σ scale·direction for every block N in `range` (inclusive; default 1..=n_layer−1, as
    /// llama.cpp). Block 0 never gets a vector; directions past the last block are ignored.
    pub fn new(
        terms: &[(&ControlVector, f32)],
        range: Option<(usize, usize)>,
        n_layer: usize,
        n_embd: usize,
        device: &Device,
    ) -> Result<Self, SteerError> {
        let (start, end) = range.unwrap_or((1, n_layer.saturating_sub(1)));
        if start == 0 || start > end {
            return Err(SteerError::BadRange { start, end, max: n_layer.saturating_sub(1) });
        }
        let mut sums: Vec<Option<Vec<f32>>> = vec![None; n_layer];
        for &(cv, scale) in terms {
            if !scale.is_finite() {
                return Err(SteerError::BadScale(scale));
            }
            if cv.n_embd != n_embd {
                return Err(SteerError::WidthMismatch { got: cv.n_embd, want: n_embd });
            }
            if let Some(block) = cv.directions.keys().copied().find(|&b| b >= n_layer) {
                return Err(SteerError::PastTheModel { block, n_layer });
            }
            if let Some(layer) =
                cv.directions.iter().find_map(|(&l, d)| (!d.iter().all(|x| x.is_finite())).then_some(l))
            {
                return Err(SteerError::NonFinite { name: format!("direction.{layer}") });
            }
            for (&layer, dir) in cv.directions.range(start..=end.min(n_layer.saturating_sub(1))) {
                let sum = sums[layer].get_or_insert_with(|| vec![0.0; n_embd]);
                sum.iter_mut().zip(dir).for_each(|(a, &d)| *a += scale * d);
            }
        }
        // RMSNorm squares the stream: beyond this length the square overflows f32, and the
        // stream silently normalises to zero (an empty reply).
        let too_long = |v: &Vec<f32>| {
            let square: f64 = v.iter().map(|&x| x as f64 * x as f64).sum();
            square.is_nan() || square >= f32::MAX as f64 / 4.0
        };
        if let Some(block) = sums.iter().position(|s| s.as_ref().is_some_and(too_long)) {
            return Err(SteerError::Overflow { block });
        }
        let per_layer = sums
            .into_iter()
            .map(|s| {
                s.map(|v| Added { tensor: Tensor::from_data(TensorData::new(v.clone(), [1, n_embd]), device), host: v })
            })
            .collect();
        Ok(Self { per_layer })
    }

    pub fn is_empty(&self) -> bool {
        self.per_layer.iter().all(Option::is_none)
    }

    /// This steering and `other` at once: their vectors summed block by block.
    pub fn plus(&self, other: &Steering, device: &Device) -> Steering {
        let n = self.per_layer.len().max(other.per_layer.len());
        let per_layer = (0..n)
            .map(|layer| match (self.at(layer), other.at(layer)) {
                (None, None) => None,
                (Some(a), None) | (None, Some(a)) => Some(a.clone()),
                (Some(a), Some(b)) => {
                    let host: Vec<f32> = a.host.iter().zip(&b.host).map(|(x, y)| x + y).collect();
                    let width = host.len();
                    Some(Added { tensor: Tensor::from_data(TensorData::new(host.clone(), [1, width]), device), host })
                }
            })
            .collect();
        Steering { per_layer }
    }

    /// The first block a vector is added after, if any.
    pub(crate) fn first_block(&self) -> Option<usize> {
        self.per_layer.iter().position(Option::is_some)
    }

    /// The [1, n_embd] sum added after block `layer`, if any.
    pub(crate) fn at(&self, layer: usize) -> Option<&Added> {
        self.per_layer.get(layer).and_then(Option::as_ref)
    }
}

impl ResidualHook for Steering {
    fn after_block(&mut self, layer: usize, x: Tensor<2>) -> Tensor<2> {
        match self.at(layer) {
            Some(v) => x.add(v.tensor.clone()),
            None => x,
        }
    }

    fn after_block_rows(&mut self, layer: usize, mut x: Vec<f32>, _n_embd: usize, _device: &Device) -> Vec<f32> {
        if let Some(v) = self.at(layer) {
            x.chunks_exact_mut(v.host.len()).for_each(|row| crate::kernels::ops::add_assign(row, &v.host));
        }
        x
    }
}

/// Each packed sequence gets its own steering: one broadcast add when they all agree, else a
/// [rows, n_embd] stack of each sequence's vector repeated over its rows.
pub(crate) struct PerSequence<'a> {
    pub(crate) steerings: Vec<&'a Steering>,
    pub(crate) lens: Vec<usize>,
}

impl ResidualHook for PerSequence<'_> {
    fn after_block(&mut self, layer: usize, x: Tensor<2>) -> Tensor<2> {
        let first = self.steerings[0];
        if self.steerings.iter().all(|s| std::ptr::eq(*s, first)) {
            return match first.at(layer) {
                Some(v) => x.add(v.tensor.clone()),
                None => x,
            };
        }
        if self.steerings.iter().all(|s| s.at(layer).is_none()) {
            return x;
        }
        let n_embd = x.dims()[1];
        let parts = self
            .steerings
            .iter()
            .zip(&self.lens)
            .map(|(s, &len)| match s.at(layer) {
                Some(v) => v.tensor.clone().expand([len, n_embd]),
                None => Tensor::zeros([len, n_embd], &x.device()),
            })
            .collect();
        x.add(Tensor::cat(parts, 0))
    }

    fn after_block_rows(&mut self, layer: usize, mut x: Vec<f32>, n_embd: usize, _device: &Device) -> Vec<f32> {
        let mut first = 0;
        for (steering, &len) in self.steerings.iter().zip(&self.lens) {
            if let Some(v) = steering.at(layer) {
                let mine = &mut x[first * n_embd..(first + len) * n_embd];
                mine.chunks_exact_mut(n_embd).for_each(|row| crate::kernels::ops::add_assign(row, &v.host));
            }
            first += len;
        }
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_vector_round_trips_through_gguf() {
        let mut directions = BTreeMap::new();
        directions.insert(1, vec![1.0, 2.0, 3.0, 4.0]);
        directions.insert(7, vec![-1.0, 0.5, 0.0, 2.0]);
        let cv = ControlVector { n_embd: 4, directions };
        let bytes = cv.to_gguf("llama");
        let back = ControlVector::from_gguf(&Gguf::parse(&bytes).unwrap()).unwrap();
        assert_eq!(back, cv);
    }

    #[test]
    fn direction_zero_is_refused() {
        let bytes = write_f32_gguf(&[], &[("direction.0", vec![2], &[1.0, 2.0])]);
        let err = ControlVector::from_gguf(&Gguf::parse(&bytes).unwrap()).unwrap_err();
        assert_eq!(err, SteerError::BadName("direction.0".into()));
    }
}
