//! A concept vector on disk: a llama.cpp control-vector GGUF (which llama.cpp and repeng load as
//! is, ignoring keys they do not know) with the build statistics under `tiller.*` keys.

use crate::gguf::{Gguf, Value, write_f32_gguf};
use crate::steer::ControlVector;

use super::{ConceptError, ConceptVector, ConditionVector, Method};

const METHOD: &str = "tiller.method";
const PAIRS: &str = "tiller.pairs";
const RESIDUAL_NORMS: &str = "tiller.residual_norms";
const SEPARATION: &str = "tiller.separation";

impl ConceptVector {
    pub fn to_gguf(&self, model_hint: &str) -> Vec<u8> {
        let cv = &self.vector;
        let layer_count = cv.directions.keys().max().copied().unwrap_or(0);
        let names: Vec<String> = cv.directions.keys().map(|l| format!("direction.{l}")).collect();
        let tensors: Vec<(&str, Vec<u64>, &[f32])> = names
            .iter()
            .zip(cv.directions.values())
            .map(|(n, v)| (n.as_str(), vec![cv.n_embd as u64], v.as_slice()))
            .collect();
        let floats = |v: &[f32]| Value::Array(v.iter().map(|&x| Value::F32(x)).collect());
        let mut keys = vec![
            ("general.architecture", Value::String("controlvector".into())),
            ("controlvector.model_hint", Value::String(model_hint.into())),
            ("controlvector.layer_count", Value::I32(layer_count as i32)),
            (METHOD, Value::String(self.method.name().into())),
            (PAIRS, Value::U32(self.pairs as u32)),
            (RESIDUAL_NORMS, floats(&self.residual_norms)),
            (SEPARATION, floats(&self.separation)),
        ];
        keys.extend(self.condition.iter().flat_map(|c| c.keys()));
        write_f32_gguf(&keys, &tensors)
    }

    /// Any control-vector GGUF; statistics a file lacks (one not built by Tiller) come back empty.
    pub fn from_gguf(g: &Gguf<'_>) -> Result<Self, ConceptError> {
        let floats = |key: &str| -> Vec<f32> {
            let items = g.get(key).and_then(Value::as_array).unwrap_or_default();
            items.iter().filter_map(|v| v.as_f64()).map(|x| x as f32).collect()
        };
        Ok(Self {
            vector: ControlVector::from_gguf(g)?,
            method: g.get(METHOD).and_then(Value::as_str).and_then(Method::from_name).unwrap_or_default(),
            residual_norms: floats(RESIDUAL_NORMS),
            separation: floats(SEPARATION),
            pairs: g.get(PAIRS).and_then(Value::as_u64).unwrap_or(0) as usize,
            condition: ConditionVector::from_gguf(g)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn round_trips_and_stays_a_plain_control_vector() {
        let directions = BTreeMap::from([(2, vec![0.6, 0.8]), (3, vec![1.0, 0.0])]);
        let cv = ConceptVector {
            vector: ControlVector { n_embd: 2, directions },
            method: Method::Pca,
            residual_norms: vec![1.0, 2.0, 3.5, 4.0],
            separation: vec![0.0, 0.1, 0.2, 0.3],
            pairs: 32,
            condition: Some(ConditionVector {
                layer: 5,
                probe: crate::concept::Logistic { weights: vec![0.0, 1.0], bias: -2.5 },
                threshold: 0.5,
                tail: 6,
                prompt_tokens: Some(3),
                reply_tokens: None,
            }),
        };
        let bytes = cv.to_gguf("llama");
        let g = Gguf::parse(&bytes).unwrap();
        assert_eq!(ConceptVector::from_gguf(&g).unwrap(), cv);
        assert_eq!(ControlVector::from_gguf(&g).unwrap(), cv.vector);
        assert_eq!(g.get("controlvector.layer_count").and_then(Value::as_i64), Some(3));
    }
}
