//! The messages between the UI thread and the inference worker.
//!
//! ```text
//! UI                                   worker
//!  Load{source, backend}      ──►  fetch/cache ► parse ► upload ──► Progress… ► Ready | LoadFailed
//!  Generate{id, messages, …}  ──►  prefill ► step…              ──► Token… ► Done | GenerateFailed
//!  SetSteering{coefs} / Stop  ──►  applies from the next token
//!  BuildVector{id, pairs, …}  ──►  pairs through the model, 4 at a time ──► BuildProgress… ► VectorAdded | BuildFailed
//!  ImportVector{id, name, bytes} ──► parse, check width, measure norms ──► VectorAdded | ImportFailed
//!  ExportVector{id}           ──►  the vector as a control-vector GGUF ──► VectorBytes | ExportFailed
//!  Compare{id, messages, …}   ──►  one reply unsteered, one steered, in step ──► CompareStarted ► CompareStep… ► CompareDone | CompareFailed
//!
//! Every failure is a [`Failure`], which the UI words in the page's language.
//! ```
//!
//! gloo-worker encodes these with bincode, so they stay plain enums and structs (no tagged or
//! untagged serde attributes, no skipped fields).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The Cache API cache that holds models: the worker stores a downloaded model there, the page a
/// picked file (under a key of its own), and the service worker reads it when offline.
pub const MODEL_CACHE: &str = "tiller-models-v1";

/// Steering coefficients by concept id (the `id` of a vector in the manifest); a missing concept
/// is 0. The worker turns coefficient c into scale c × the vector's calibrated strength.
pub type Coefs = BTreeMap<String, f32>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// Load a model, replacing any loaded one. `vectors` is the absolute URL of the steering
    /// manifest, whose vectors are attached when they fit the model.
    Load { source: ModelSource, backend: BackendChoice, vectors: Option<String> },
    /// Reply to `messages` (the whole conversation, system prompt first). Tokens stream back
    /// tagged with `id`.
    Generate { id: u64, messages: Vec<ChatMessage>, sampling: Sampling, coefs: Coefs },
    /// New steering coefficients for the reply being generated (from its next token) and for the
    /// next ones.
    SetSteering { coefs: Coefs },
    /// End the reply being generated; it keeps the tokens streamed so far.
    Stop,
    /// Build a steering vector for the loaded model from contrastive pairs, and attach it as
    /// concept `id` (unique among the model's vectors). Progress comes as `BuildProgress`; the
    /// end as `VectorAdded` or `BuildFailed` with the same id. Chat keeps working meanwhile.
    BuildVector {
        id: String,
        label: String,
        low: String,
        high: String,
        pairs: PairSource,
        method: BuildMethod,
        /// Blocks whose output is steered, inclusive; block 0 never is.
        layers: (u32, u32),
    },
    /// Abandon build `id`; it ends with `BuildFailed` (`Failure::Cancelled`).
    CancelBuild { id: String },
    /// Attach a llama.cpp control-vector GGUF (from llama.cpp's cvector-generator, repeng or a
    /// Tiller download) as concept `id`; `name` is the file's name.
    ImportVector { id: String, name: String, bytes: Vec<u8> },
    /// The GGUF of vector `id` (built-in, built or imported), for a download: `VectorBytes`.
    ExportVector { id: String },
    /// Reply to `messages` twice with the same sampler seed, once without steering and once with
    /// `coefs`, token by token in step, reading the residual stream of both (classroom mode).
    /// Stop ends it; the chat's own KV cache is left alone. Failure: `CompareFailed` with `id`.
    Compare { id: u64, messages: Vec<ChatMessage>, sampling: Sampling, coefs: Coefs },
}

/// Where the pairs of a build come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PairSource {
    /// A JSONL file of `{"prompt", "positive", "negative"[, "system"]}` objects (the built-in
    /// datasets beside the site), as an absolute URL.
    Builtin { url: String },
    /// Pairs the user typed.
    Typed { pairs: Vec<TypedPair> },
}

/// One contrastive pair: the same user message answered two ways (the starts of two replies).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypedPair {
    pub prompt: String,
    pub positive: String,
    pub negative: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BuildMethod {
    /// Mean of the paired differences (CAA).
    Mean,
    /// First principal component of the paired differences, signed by their mean (RepE).
    Pca,
}

impl BuildMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mean => "mean",
            Self::Pca => "pca",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "mean" => Some(Self::Mean),
            "pca" => Some(Self::Pca),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ModelSource {
    /// An absolute URL. The worker looks in its cache first and stores what it downloads.
    Url { url: String },
    /// A file the user picked, already stored by the UI in the model cache under `key` (a URL that
    /// no server serves), so that it survives reloads like the default model.
    Cached { key: String, name: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BackendChoice {
    /// WebGPU when the browser gives an adapter, else the CPU.
    Auto,
    WebGpu,
    /// burn-flex on the CPU, matrix products in the engine's packed kernels.
    Cpu,
}

impl BackendChoice {
    /// The value of the `backend` URL parameter and of the settings menu.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "auto" => Some(Self::Auto),
            "webgpu" => Some(Self::WebGpu),
            // `flex` and `ndarray` name the CPU backends of earlier versions: old links still work.
            "cpu" | "flex" | "ndarray" => Some(Self::Cpu),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::WebGpu => "webgpu",
            Self::Cpu => "cpu",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    System,
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

/// What the UI exposes of the engine's sampler; temperature 0 is greedy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sampling {
    pub temperature: f32,
    pub top_p: f32,
    pub max_tokens: u32,
    pub seed: u64,
}

impl Default for Sampling {
    fn default() -> Self {
        Self { temperature: 0.7, top_p: 0.9, max_tokens: 256, seed: 42 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Response {
    Progress {
        phase: Phase,
        done: u64,
        total: Option<u64>,
    },
    /// `steering_note` says why no built-in vectors came with the model, when none did.
    Ready {
        model: ModelInfo,
        backend: BackendInfo,
        vectors: Vec<VectorInfo>,
        steering_note: Option<Failure>,
        load_ms: f64,
    },
    /// The model could not be loaded; any earlier model is gone too.
    LoadFailed {
        error: Failure,
    },
    Token {
        id: u64,
        piece: String,
    },
    /// What the steering's gate read from reply `id`'s prompt, before its first token (only when
    /// a slider with a gated part is on).
    Gate {
        id: u64,
        gate: GateReport,
    },
    Done {
        id: u64,
        stop: StopReason,
        stats: GenStats,
    },
    /// Reply `id` failed; the model stays loaded.
    GenerateFailed {
        id: u64,
        error: Failure,
    },
    /// The engine hit a bug or lost its device (a panic in the worker); load a model again.
    Crashed {
        message: String,
    },
    /// Build `id` has run `done` of `total` pairs through the model.
    BuildProgress {
        id: String,
        done: u32,
        total: u32,
    },
    /// A built or imported vector is attached to the loaded model (until another model loads).
    VectorAdded(VectorInfo),
    /// Vector `id` as a llama.cpp control-vector GGUF.
    VectorBytes {
        id: String,
        bytes: Vec<u8>,
    },
    /// Building vector `id` failed or was cancelled; the model stays loaded.
    BuildFailed {
        id: String,
        error: Failure,
    },
    /// Importing a file as vector `id` failed; the model stays loaded.
    ImportFailed {
        id: String,
        error: Failure,
    },
    /// The bytes of vector `id` could not be given.
    ExportFailed {
        id: String,
        error: Failure,
    },
    /// Comparison `id` has read its prompt. `concepts` are the vector ids whose directions the
    /// readings project onto, in the order of their columns.
    CompareStarted {
        id: u64,
        concepts: Vec<String>,
        n_layer: u32,
        prompt_tokens: u32,
        /// What the steered side's gate read from the prompt.
        gate: Option<GateReport>,
    },
    /// Token `step` of each reply; a side is `None` once it has ended.
    CompareStep {
        id: u64,
        step: u32,
        plain: Option<SideToken>,
        steered: Option<SideToken>,
    },
    CompareDone {
        id: u64,
        plain: StopReason,
        steered: StopReason,
        stats: GenStats,
    },
    /// Comparison `id` failed; the model stays loaded.
    CompareFailed {
        id: u64,
        error: Failure,
    },
}

/// Why a request failed, as the UI words it in each language. A `detail` is the engine's or the
/// browser's own line (English), shown after the worded lead-in; everything the user can act on
/// has its own case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Failure {
    /// No model is loaded yet.
    NoModel,
    /// The model file is not one Tiller can run (corrupt, truncated, another architecture,
    /// unsupported tensor types).
    ModelFile { detail: String },
    /// A picked model is no longer in the browser's cache.
    NotStored { name: String },
    /// A download failed (the model, a vector or a pair file).
    Download { url: String, detail: String },
    /// WebGPU was asked for and is not there.
    NoWebGpu(NoWebGpu),
    /// The conversation does not fit the model's context.
    ContextFull { needed: u32, limit: u32 },
    /// The model's output stopped being finite numbers: steering far too strong.
    NonFinite,
    /// A coefficient outside its slider's range.
    CoefOutOfRange { id: String, min: f32, max: f32, value: f32 },
    /// No vector of this id is loaded for this model.
    UnknownVector { id: String },
    /// The sampling settings cannot be used.
    Settings { detail: String },
    /// Not a usable name for a new vector (letters, digits, - and _, at most 64).
    BadVectorName { id: String },
    /// A vector of this id is loaded already.
    VectorNameTaken { id: String },
    /// The file is not a GGUF control vector (or not a usable one).
    NotControlVector { file: String, detail: String },
    /// The vector is for a model of another width.
    OtherWidth { vector: u32, model: u32 },
    /// The vector steers blocks the model does not have.
    BlocksPastModel { last: u32, n_layer: u32 },
    /// The layer range of a build is not within the blocks that can be steered.
    BadBlocks { start: u32, end: u32, last: u32 },
    /// The pairs of a build cannot be used.
    Pairs { source: String, detail: String },
    /// The user cancelled the build, or a new model replaced the one it was for.
    Cancelled,
    /// The site's built-in vectors were made for another model.
    VectorsForOtherModel,
    /// The page gave no steering manifest.
    NoManifest,
    /// Anything else, as the engine said it.
    Engine { detail: String },
}

/// Why WebGPU is not in use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum NoWebGpu {
    /// The browser has no `navigator.gpu`.
    NotExposed,
    /// `requestAdapter()` gave no adapter.
    NoAdapter,
    /// The adapter or device could not be had: the browser's or wgpu's line.
    Failed { detail: String },
    /// The page started the CPU-only worker (`tiller-worker`), which has no burn-wgpu.
    CpuOnlyEngine,
}

/// One token of one side of a comparison, with what the model looked like when it chose it (the
/// position that produced it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SideToken {
    pub token: u32,
    /// The text this token completes (empty while a multi-byte character is still partial).
    pub piece: String,
    /// The residual stream after each block projected onto each concept's unit direction:
    /// `n_layer × concepts`, by block; `None` where the concept has no direction at that block.
    pub projections: Vec<Option<f32>>,
    /// The residual stream's length after each block.
    pub norms: Vec<f32>,
    /// Steered side only: the same projections without steering, at the same context.
    pub unsteered: Option<Vec<Option<f32>>>,
    /// The most likely next tokens before and after steering (temperature 1), the chosen one
    /// included; on the plain side before = after.
    pub top: Vec<Candidate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub token: u32,
    pub piece: String,
    pub before: f32,
    pub after: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    /// Bytes from the network (done/total in bytes).
    Download,
    /// Bytes from the browser's cache (done/total in bytes).
    Cache,
    /// Reading the GGUF header, tokenizer and template.
    Parse,
    /// Dequantizing and uploading weights to the device (done/total in blocks).
    Upload,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    pub name: String,
    pub bytes: u64,
    pub n_layer: u32,
    pub n_embd: u32,
    pub n_ctx: u32,
    pub from_cache: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendInfo {
    /// "WebGPU" or "CPU (burn-flex)".
    pub name: String,
    /// The GPU adapter as the browser describes it, when on WebGPU.
    pub adapter: Option<String>,
    /// Why WebGPU was not used, when the choice was Auto and it fell back.
    pub fallback_reason: Option<NoWebGpu>,
}

/// A steering vector the worker attached to the loaded model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VectorInfo {
    pub id: String,
    pub label: String,
    /// Slider ends, e.g. ("negative", "positive").
    pub low: String,
    pub high: String,
    pub min: f32,
    pub max: f32,
    /// Scale at coefficient 1.
    pub strength: f32,
    pub layers: (u32, u32),
    /// Where the vector came from, worded next to the slider by the page in its language.
    pub origin: VectorOrigin,
    /// A second direction under the slider that only some prompts get (safety's refusal).
    pub gated: Option<GatedInfo>,
}

/// Where a vector came from: facts, not sentences, so the UI words them in English or Chinese.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum VectorOrigin {
    /// One of the site's vectors, with the manifest's note (the UI has its own words for the
    /// concepts it knows by id; the note is for those it does not).
    Shipped { note: String },
    /// Built in this page from pairs: typed ones, or a pair file of the site's (`file`).
    Built { pairs: u32, file: Option<String>, method: BuildMethod },
    /// Imported from a control-vector file.
    Imported { file: String },
}

/// The conditional part of a slider, shown under it: a direction added to the reply only when
/// a probe at one block says the prompt asks for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GatedInfo {
    pub layers: (u32, u32),
    pub strength: f32,
    /// The share of its strength the slider's own direction keeps while the gate is open,
    /// where it changes (safety's civility under a refusal).
    pub parent_share: Option<f32>,
    /// The block the gate's probe reads, and the score above which it opens.
    pub condition_block: u32,
    pub threshold: f32,
    pub note: String,
}

/// What a gate read from one prompt.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GateReport {
    /// The probe's score, 0..1.
    pub score: f32,
    pub threshold: f32,
}

impl GateReport {
    pub fn engaged(&self) -> bool {
        self.score > self.threshold
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StopReason {
    EndOfGeneration,
    MaxTokens,
    ContextFull,
    Stopped,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct GenStats {
    /// Tokens in the rendered conversation, and how many of them were run (the rest were reused
    /// from the KV cache).
    pub prompt_tokens: u32,
    pub prefilled_tokens: u32,
    pub generated_tokens: u32,
    pub prefill_ms: f64,
    pub decode_ms: f64,
    /// The worker's wasm memory when the reply ended (it never shrinks, so this is its peak).
    pub engine_memory_bytes: u64,
}

impl GenStats {
    pub fn prefill_tok_s(&self) -> f64 {
        per_second(self.prefilled_tokens, self.prefill_ms)
    }

    /// Tokens after the first, over the time after the first: the steady decode rate.
    pub fn decode_tok_s(&self) -> f64 {
        per_second(self.generated_tokens.saturating_sub(1), self.decode_ms)
    }
}

fn per_second(n: u32, ms: f64) -> f64 {
    if ms > 0.0 { n as f64 * 1000.0 / ms } else { 0.0 }
}

/// The messages of a Generate request: the system prompt first when there is one, then the turns
/// in order. Empty turns (a reply that failed before its first token) are left out.
pub fn conversation(system_prompt: &str, history: &[(Role, String)]) -> Vec<ChatMessage> {
    let system = system_prompt.trim();
    let system = (!system.is_empty()).then(|| ChatMessage { role: Role::System, content: system.to_string() });
    system
        .into_iter()
        .chain(
            history
                .iter()
                .filter(|(_, text)| !text.is_empty())
                .map(|(role, text)| ChatMessage { role: *role, content: text.clone() }),
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_prompt_comes_first_and_only_when_set() {
        let history = vec![(Role::User, "hi".to_string()), (Role::Assistant, "hello".to_string())];
        let with = conversation("  Be brief. ", &history);
        assert_eq!(with.len(), 3);
        assert_eq!(with[0], ChatMessage { role: Role::System, content: "Be brief.".into() });
        assert_eq!(with[2].role, Role::Assistant);
        assert_eq!(conversation("  ", &history).len(), 2);
    }
}
