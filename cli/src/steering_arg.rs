use std::path::{Path, PathBuf};

use burn::tensor::Device;
use clap::Args;
use tiller_engine::concept::ConditionVector;
use tiller_engine::gate::SteerPlan;
use tiller_engine::gguf::Gguf;
use tiller_engine::model::LlamaConfig;
use tiller_engine::steer::{ControlVector, Steering};

/// llama.cpp's control-vector flags, with its semantics.
#[derive(Args, Clone, Debug, Default)]
pub struct SteeringArgs {
    /// A llama.cpp control-vector GGUF and its scale, FILE:SCALE (scale 1 when omitted); repeatable, summed
    #[arg(long = "control-vector", value_name = "FILE:SCALE")]
    pub control_vectors: Vec<String>,
    /// Apply vectors only to blocks A..=B (default: 1 to the last block)
    #[arg(long = "layer-range", num_args = 2, value_names = ["A", "B"])]
    pub layer_range: Option<Vec<usize>>,
    /// Apply conditional vectors (files with a tiller.condition) to every prompt, ungated
    #[arg(long)]
    pub no_condition: bool,
    /// A control vector added only while the gate of a --control-vector file is open, FILE:SCALE
    /// (repeatable): the site's safety slider at 1 adds civility.gguf:-2 there, stepping
    /// civility down from 4 to 2 under a refusal
    #[arg(long = "gated-control-vector", value_name = "FILE:SCALE")]
    pub gated_control_vectors: Vec<String>,
}

impl SteeringArgs {
    /// The vectors' sum; a file that carries a condition (CAST) applies only to the replies of
    /// prompts that open its gate, unless `--no-condition`.
    pub fn build(&self, config: &LlamaConfig, device: &Device) -> Result<SteerPlan, String> {
        let (mut always, mut gated) = (Vec::new(), Vec::new());
        let mut condition: Option<ConditionVector> = None;
        for spec in &self.control_vectors {
            let (file, scale) = parse_spec(spec)?;
            let (cv, file_condition) = read_vector(&file)?;
            match file_condition {
                Some(c) if !self.no_condition => {
                    if condition.as_ref().is_some_and(|have| *have != c) {
                        return Err(format!(
                            "{}: a second condition; the vectors of one run can share one gate only (or pass --no-condition)",
                            file.display()
                        ));
                    }
                    condition = Some(c);
                    gated.push((cv, scale));
                }
                _ => always.push((cv, scale)),
            }
        }
        for spec in &self.gated_control_vectors {
            let (file, scale) = parse_spec(spec)?;
            // Added under the other file's gate; a condition of its own is not read.
            gated.push((read_vector(&file)?.0, scale));
        }
        if condition.is_none() && !self.gated_control_vectors.is_empty() && !self.no_condition {
            return Err("--gated-control-vector needs a --control-vector file with a condition to open its gate".into());
        }
        if self.no_condition {
            // Ungated, the condition's vectors apply everywhere; so do those added under it.
            always.append(&mut gated);
        }
        let range = self.layer_range.as_ref().map(|r| (r[0], r[1]));
        let sum = |vectors: &[(ControlVector, f32)]| -> Result<Steering, String> {
            let terms: Vec<(&ControlVector, f32)> = vectors.iter().map(|(cv, s)| (cv, *s)).collect();
            Steering::new(&terms, range, config.n_layer, config.n_embd, device).map_err(|e| e.to_string())
        };
        let plain = sum(&always)?;
        match condition {
            None => Ok(plain.into()),
            Some(c) => SteerPlan::gated(plain, &sum(&gated)?, c, config.n_layer, config.n_embd, device)
                .map_err(|e| e.to_string()),
        }
    }
}

/// A control-vector file's directions, and the condition it carries if any.
fn read_vector(file: &Path) -> Result<(ControlVector, Option<ConditionVector>), String> {
    let at = |e: &dyn std::fmt::Display| format!("{}: {e}", file.display());
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let g = Gguf::parse(&bytes).map_err(|e| at(&e))?;
    let cv = ControlVector::from_gguf(&g).map_err(|e| at(&e))?;
    Ok((cv, ConditionVector::from_gguf(&g).map_err(|e| at(&e))?))
}

/// FILE:SCALE, splitting at the last colon so paths with colons still work.
fn parse_spec(spec: &str) -> Result<(PathBuf, f32), String> {
    if let Some((file, scale)) = spec.rsplit_once(':')
        && let Ok(s) = scale.parse::<f32>()
    {
        if !s.is_finite() {
            return Err(format!("control-vector scale in `{spec}` must be a finite number"));
        }
        return Ok((PathBuf::from(file), s));
    }
    Ok((PathBuf::from(spec), 1.0))
}

#[cfg(test)]
mod tests {
    use super::parse_spec;

    #[test]
    fn specs() {
        assert_eq!(parse_spec("a.gguf:0.5").unwrap().1, 0.5);
        assert_eq!(parse_spec("a.gguf").unwrap().1, 1.0);
        assert_eq!(parse_spec("C:/x/a.gguf:-2").unwrap(), ("C:/x/a.gguf".into(), -2.0));
        assert!(parse_spec("a.gguf:inf").is_err());
    }
}
