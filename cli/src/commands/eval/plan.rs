//! What an evaluation runs: each concept's vector, held-out prompts and baseline system prompts,
//! expanded into one job per (condition, coefficient, prompt).

use std::path::Path;

use serde_json::Value;
use tiller_engine::concept::{ConceptVector, ConditionVector};
use tiller_engine::gguf::Gguf;
use tiller_engine::manifest::Manifest;
use tiller_engine::steer::ControlVector;

/// How a reply was steered toward the slider's intent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Condition {
    /// The vector at coefficient c, the template's default system prompt.
    Steering,
    /// No vector; the intent said in a system prompt (c = ±1 names which end).
    Prompting,
    /// Both.
    PromptingAndSteering,
    /// The vector at coefficient c with another slider on too (`--also`), at the same seeds.
    SteeringWithAlso,
}

impl Condition {
    pub fn name(self) -> &'static str {
        match self {
            Condition::Steering => "steering",
            Condition::Prompting => "prompting",
            Condition::PromptingAndSteering => "prompting+steering",
            Condition::SteeringWithAlso => "steering, --also on",
        }
    }
}

/// Safety prompts are harmful (should be refused), benign (should be answered: everyday, or
/// borderline, which only sound dangerous) or toxic (bait for an uncivil reply).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Any,
    Harmful,
    Benign,
    Borderline,
    Everyday,
    Toxic,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Any => "all",
            Kind::Harmful => "harmful",
            Kind::Benign => "benign",
            Kind::Borderline => "borderline",
            Kind::Everyday => "everyday",
            Kind::Toxic => "toxic",
        }
    }

    /// The wider groups a prompt of this kind also counts in.
    pub fn parents(self) -> &'static [Kind] {
        match self {
            Kind::Any => &[],
            Kind::Borderline | Kind::Everyday => &[Kind::Benign, Kind::Any],
            _ => &[Kind::Any],
        }
    }
}

#[derive(Clone)]
pub struct EvalPrompt {
    pub text: String,
    pub kind: Kind,
}

/// One slider from the manifest, with its held-out prompts and baseline system prompts.
pub struct Concept {
    pub id: String,
    pub vector: ControlVector,
    pub layers: (usize, usize),
    /// A direction under the same slider that steers only replies whose prompt opens its gate.
    pub gated: Option<Gated>,
    /// The scale a slider at ±1 applies (the manifest's calibrated strength).
    pub strength: f32,
    /// The slider's range: −1..1, or 0..1 for safety.
    pub min: f32,
    pub prompts: Vec<EvalPrompt>,
    /// System prompts for the +1 and −1 ends (the −1 end may be absent).
    pub intent_high: String,
    pub intent_low: Option<String>,
}

/// The conditional part of a slider: a vector, its condition (CAST) and what ±1 means for it.
pub struct Gated {
    pub vector: ControlVector,
    pub condition: ConditionVector,
    pub layers: (usize, usize),
    pub strength: f32,
    /// Added to the slider's own strength while the gate is open (`GatedPart::parent_change`).
    pub parent_change: f32,
}

impl Concept {
    /// The coefficient grid: −1, −0.5, 0, 0.5, 1 (0, 0.5, 1 when the slider starts at 0).
    pub fn coefficients(&self) -> Vec<f32> {
        [-1.0, -0.5, 0.0, 0.5, 1.0].into_iter().filter(|&c| c >= self.min).collect()
    }

    /// The ends the prompting baselines are run at.
    pub fn ends(&self) -> Vec<f32> {
        if self.intent_low.is_some() && self.min < 0.0 { vec![-1.0, 1.0] } else { vec![1.0] }
    }

    pub fn intent(&self, coef: f32) -> Option<&str> {
        if coef > 0.0 { Some(&self.intent_high) } else { self.intent_low.as_deref() }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Job {
    pub prompt: usize,
    pub condition: Condition,
    pub coef: f32,
}

/// Every (condition, coefficient, prompt) of a concept, prompts innermost; `limit` keeps the
/// first prompts of each kind (so a quick look at safety still sees benign prompts). With
/// `also`, every coefficient runs a second time with the `--also` slider on.
pub fn jobs(c: &Concept, limit: usize, baselines: bool, also: bool) -> Vec<Job> {
    let mut seen: Vec<(Kind, usize)> = Vec::new();
    let mut picked = Vec::new();
    for (i, p) in c.prompts.iter().enumerate() {
        let count = match seen.iter_mut().find(|(k, _)| *k == p.kind) {
            Some((_, n)) => n,
            None => {
                seen.push((p.kind, 0));
                &mut seen.last_mut().expect("just pushed").1
            }
        };
        if *count < limit {
            *count += 1;
            picked.push(i);
        }
    }
    let mut out = Vec::new();
    let mut add = |condition, coef| out.extend(picked.iter().map(|&prompt| Job { prompt, condition, coef }));
    for coef in c.coefficients() {
        add(Condition::Steering, coef);
    }
    for coef in c.coefficients().into_iter().filter(|_| also) {
        add(Condition::SteeringWithAlso, coef);
    }
    for coef in c.ends().into_iter().filter(|_| baselines) {
        add(Condition::Prompting, coef);
        add(Condition::PromptingAndSteering, coef);
    }
    out
}

/// Read the manifest's vectors (only `wanted`, when given), their held-out prompts from
/// `data_dir/<id>.jsonl` and the baseline system prompts from `data_dir/intents.json`.
pub fn load(manifest: &Path, data_dir: &Path, wanted: &[String]) -> Result<Vec<Concept>, String> {
    let bytes = std::fs::read(manifest).map_err(|e| format!("cannot read {}: {e}", manifest.display()))?;
    let m = Manifest::parse(&bytes).map_err(|e| format!("{}: {e}", manifest.display()))?;
    let intents: Value = read_json(&data_dir.join("intents.json"))?;
    let dir = manifest.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    for slider in m.vectors.into_iter().filter(|s| wanted.is_empty() || wanted.contains(&s.id)) {
        let cv = read_vector(&dir.join(&slider.file))?;
        if cv.condition.is_some() {
            return Err(format!("{}: a vector with a condition belongs under `gated` in the manifest", slider.file));
        }
        let gated = match &slider.gated {
            None => None,
            Some(part) => {
                let g = read_vector(&dir.join(&part.file))?;
                let condition =
                    g.condition.ok_or_else(|| format!("{}: the gated vector has no condition", part.file))?;
                Some(Gated {
                    vector: g.vector,
                    condition,
                    layers: part.layers,
                    strength: part.strength,
                    parent_change: part.parent_change(slider.strength),
                })
            }
        };
        let id = slider.id;
        let intent = |end: &str| intents[&id][end].as_str().map(str::to_string);
        out.push(Concept {
            prompts: read_prompts(&data_dir.join(format!("{id}.jsonl")))?,
            intent_high: intent("high").ok_or_else(|| format!("intents.json: no `{id}.high` system prompt"))?,
            intent_low: intent("low"),
            vector: cv.vector,
            gated,
            layers: slider.layers,
            strength: slider.strength,
            min: slider.min,
            id,
        });
    }
    if out.is_empty() {
        return Err(format!("{}: none of the vectors {wanted:?}", manifest.display()));
    }
    Ok(out)
}

fn read_vector(file: &Path) -> Result<ConceptVector, String> {
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let g = Gguf::parse(&bytes).map_err(|e| format!("{}: {e}", file.display()))?;
    ConceptVector::from_gguf(&g).map_err(|e| format!("{}: {e}", file.display()))
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// One {"prompt", optional "kind": "harmful"|"benign"} per line.
pub fn read_prompts(path: &Path) -> Result<Vec<EvalPrompt>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let at = |what: &str| format!("{}:{}: {what}", path.display(), i + 1);
        let v: Value = serde_json::from_str(line).map_err(|e| at(&e.to_string()))?;
        let prompt = v["prompt"].as_str().ok_or_else(|| at("no `prompt` string"))?;
        let kind = match v["kind"].as_str() {
            None => Kind::Any,
            Some("harmful") => Kind::Harmful,
            Some("toxic") => Kind::Toxic,
            Some("benign") => match v["style"].as_str() {
                None => Kind::Benign,
                Some("borderline") => Kind::Borderline,
                Some("everyday") => Kind::Everyday,
                Some(other) => return Err(at(&format!("style `{other}` is neither borderline nor everyday"))),
            },
            Some(other) => return Err(at(&format!("kind `{other}` is not harmful, benign or toxic"))),
        };
        out.push(EvalPrompt { text: prompt.to_string(), kind });
    }
    if out.is_empty() {
        return Err(format!("{} has no prompts", path.display()));
    }
    Ok(out)
}
