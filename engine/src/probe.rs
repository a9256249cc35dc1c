//! Reading the residual stream: how far it points along each concept's direction after every
//! block, for the classroom's "inside the model" view.
//!
//! A probe is a [`ResidualHook`] that keeps, for the last position of each packed sequence, the
//! stream's projection onto each unit direction and its length. Everything stays on the device
//! until one readback after the forward pass (readback is async in a browser).

use std::collections::BTreeMap;

use burn::tensor::{Device, Tensor, TensorData};

use crate::kernels::ops;
use crate::model::{ModelError, ResidualHook, read_f32};

/// Unit directions per block for `k` concepts. A concept without a direction at a block reads
/// as NaN there (a NaN column only poisons its own output in the matmul).
#[derive(Clone, Debug)]
pub struct Probes {
    k: usize,
    /// Per block: [n_embd, k].
    per_layer: Vec<Tensor<2>>,
    /// The same in host memory, per block [k, n_embd] (a row per concept), for the host path.
    per_layer_host: Vec<Vec<f32>>,
}

impl Probes {
    /// `concepts[c]` maps block → direction (normalised here, so any scale works).
    pub fn new(concepts: &[&BTreeMap<usize, Vec<f32>>], n_layer: usize, n_embd: usize, device: &Device) -> Self {
        let k = concepts.len();
        let per_layer_host: Vec<Vec<f32>> = (0..n_layer)
            .map(|layer| {
                // Column-major by concept, then transposed: [n_embd, k].
                let mut cols = vec![f32::NAN; k * n_embd];
                for (c, dirs) in concepts.iter().enumerate() {
                    if let Some(d) = dirs.get(&layer).filter(|d| d.len() == n_embd) {
                        let norm = d.iter().map(|x| x * x).sum::<f32>().sqrt();
                        if norm > 0.0 && norm.is_finite() {
                            cols[c * n_embd..(c + 1) * n_embd].iter_mut().zip(d).for_each(|(o, x)| *o = x / norm);
                        }
                    }
                }
                cols
            })
            .collect();
        let per_layer = per_layer_host
            .iter()
            .map(|cols| Tensor::<2>::from_data(TensorData::new(cols.clone(), [k, n_embd]), device).transpose())
            .collect();
        Self { k, per_layer, per_layer_host }
    }

    pub fn concepts(&self) -> usize {
        self.k
    }

    /// A hook that reads the last row of each of the packed sequences of lengths `lens`.
    pub fn hook(&self, lens: &[usize]) -> ProbeHook<'_> {
        ProbeHook {
            probes: self,
            lens: lens.to_vec(),
            rows: Vec::with_capacity(self.per_layer.len()),
            host: Vec::new(),
        }
    }
}

/// What a probe saw at one position: after each block, the projection onto each concept's unit
/// direction (`[n_layer × k]`, by block; NaN = no direction there) and the stream's length.
#[derive(Clone, Debug, PartialEq)]
pub struct Reading {
    pub projections: Vec<f32>,
    pub norms: Vec<f32>,
}

pub struct ProbeHook<'p> {
    probes: &'p Probes,
    lens: Vec<usize>,
    /// Per block: [B, k + 1] (projections, then the norm).
    rows: Vec<Tensor<2>>,
    /// On the host path, the same rows, [blocks · B, k + 1].
    host: Vec<f32>,
}

impl ProbeHook<'_> {
    /// One [`Reading`] per sequence, in the order of the packed sequences.
    pub async fn read(self) -> Result<Vec<Reading>, ModelError> {
        let b = self.lens.len();
        let width = self.probes.k + 1;
        let n_layer = self.rows.len() + self.host.len() / (b * width);
        if n_layer == 0 {
            return Ok(vec![Reading { projections: Vec::new(), norms: Vec::new() }; b]);
        }
        let flat = match self.rows.is_empty() {
            true => self.host,
            false => read_f32(Tensor::cat(self.rows, 0)).await?, // [n_layer · B, k + 1]
        };
        let mut out = vec![
            Reading {
                projections: Vec::with_capacity(n_layer * self.probes.k),
                norms: Vec::with_capacity(n_layer)
            };
            b
        ];
        for (i, row) in flat.chunks_exact(width).enumerate() {
            let reading = &mut out[i % b];
            reading.projections.extend_from_slice(&row[..self.probes.k]);
            reading.norms.push(row[self.probes.k]);
        }
        Ok(out)
    }
}

impl ResidualHook for ProbeHook<'_> {
    fn after_block(&mut self, layer: usize, x: Tensor<2>) -> Tensor<2> {
        let last = if self.lens.iter().all(|&l| l == 1) {
            x.clone()
        } else {
            let mut end = 0;
            let rows = self
                .lens
                .iter()
                .map(|len| {
                    end += len;
                    x.clone().narrow(0, end - 1, 1)
                })
                .collect();
            Tensor::cat(rows, 0)
        }; // [B, n_embd]
        let norms = last.clone().mul(last.clone()).sum_dim(1).sqrt(); // [B, 1]
        let row = match self.probes.per_layer.get(layer) {
            Some(d) if self.probes.k > 0 => Tensor::cat(vec![last.matmul(d.clone()), norms], 1),
            _ => norms,
        };
        self.rows.push(row);
        x
    }

    fn after_block_rows(&mut self, layer: usize, x: Vec<f32>, n_embd: usize, _device: &Device) -> Vec<f32> {
        let directions = self.probes.per_layer_host.get(layer).filter(|_| self.probes.k > 0);
        let mut end = 0;
        for len in &self.lens {
            end += len;
            let last = &x[(end - 1) * n_embd..end * n_embd];
            if let Some(d) = directions {
                self.host.extend(d.chunks_exact(n_embd).map(|dir| ops::dot(last, dir)));
            }
            self.host.push(ops::dot(last, last).sqrt());
        }
        x
    }
}
