//! Vectors made in the browser, on the UI side: what a build or import in flight has reached,
//! the requests that start them, downloads of any vector, and the checks of what the user typed.

use std::collections::BTreeSet;

use leptos::prelude::*;

use crate::protocol::{BuildMethod, PairSource, Request, Response, TypedPair, VectorInfo};

use super::format::one_line;
use super::i18n::{Block, Msg, PairPart};
use super::worker_bridge::Bridge;

/// Larger files are refused before they are read: control vectors are a few MB at most (8192
/// wide × 80 blocks of f32 is 2.6 MB), and a model picked by mistake would be copied for nothing.
pub const MAX_IMPORT_BYTES: f64 = 64.0 * 1024.0 * 1024.0;

/// The built-in pair sets, served beside the page (index.html copies data/concepts/ to
/// concepts/): (value, path). Their labels are `VectorsText::datasets`, in this order.
pub const DATASETS: [(&str, &str); 3] = [
    ("sentiment", "concepts/sentiment.jsonl"),
    ("formality", "concepts/formality.jsonl"),
    ("civility", "concepts/civility.jsonl"),
];

/// The layer range a build starts from when the sentiment vector is not loaded: the built-in
/// sentiment vector's (public/vectors/manifest.json).
pub const DEFAULT_LAYERS: (u32, u32) = (14, 24);

/// A build the worker is running.
#[derive(Clone, Debug, PartialEq)]
pub struct BuildRun {
    pub id: String,
    pub label: String,
    pub done: u32,
    /// Unknown until the worker has read the pairs.
    pub total: Option<u32>,
}

/// Builds, imports and downloads in flight, and what became of the last ones. Copying it shares
/// the same signals.
#[derive(Clone, Copy)]
pub struct VectorWork {
    pub build: RwSignal<Option<BuildRun>>,
    /// One line about the last build: how it failed, or that it worked.
    pub build_error: RwSignal<Option<Msg>>,
    pub build_done: RwSignal<Option<Msg>>,
    /// The id of the import in flight.
    pub importing: RwSignal<Option<String>>,
    pub import_error: RwSignal<Option<Msg>>,
    pub import_done: RwSignal<Option<Msg>>,
    /// Why the last download failed.
    pub export_error: RwSignal<Option<Msg>>,
    /// Ids whose bytes were asked for: only those become downloads.
    exports: StoredValue<BTreeSet<String>>,
}

impl VectorWork {
    pub fn new() -> Self {
        Self {
            build: RwSignal::new(None),
            build_error: RwSignal::new(None),
            build_done: RwSignal::new(None),
            importing: RwSignal::new(None),
            import_error: RwSignal::new(None),
            import_done: RwSignal::new(None),
            export_error: RwSignal::new(None),
            exports: StoredValue::new(BTreeSet::new()),
        }
    }

    /// Follows the worker's vector messages (a new vector itself joins the steering state, not
    /// this). Returns the bytes of a download the user asked for, as (id, bytes); ignores other
    /// messages.
    pub fn apply(&self, response: &Response) -> Option<(String, Vec<u8>)> {
        match response {
            Response::BuildProgress { id, done, total } => {
                self.build.update(|b| {
                    if let Some(run) = b.as_mut().filter(|run| &run.id == id) {
                        run.done = *done;
                        run.total = Some(*total);
                    }
                });
            }
            Response::VectorAdded(info) => {
                let label = one_line(&info.label);
                let added = move || {
                    let label = label.clone();
                    Some(Msg::new(move |t| (t.vectors.added)(&label)))
                };
                if self.build.with_untracked(|b| b.as_ref().is_some_and(|run| run.id == info.id)) {
                    self.build.set(None);
                    self.build_done.set(added());
                }
                if self.importing.with_untracked(|i| i.as_ref() == Some(&info.id)) {
                    self.importing.set(None);
                    self.import_done.set(added());
                }
            }
            Response::VectorBytes { id, bytes } => {
                let mut asked = false;
                self.exports.update_value(|e| asked = e.remove(id));
                if asked {
                    return Some((id.clone(), bytes.clone()));
                }
            }
            // Each failure goes to what failed, worded in the page's language when shown.
            Response::BuildFailed { id, error }
                if self.build.with_untracked(|b| b.as_ref().is_some_and(|run| &run.id == id)) =>
            {
                self.build.set(None);
                let error = error.clone();
                self.build_error.set(Some(Msg::new(move |t| (t.vectors.build_failed)(&(t.failure.failure)(&error)))));
            }
            Response::ImportFailed { id, error } if self.importing.with_untracked(|i| i.as_ref() == Some(id)) => {
                self.importing.set(None);
                let error = error.clone();
                self.import_error.set(Some(Msg::new(move |t| (t.vectors.import_failed)(&(t.failure.failure)(&error)))));
            }
            Response::ExportFailed { id, error } => {
                let mut exporting = false;
                self.exports.update_value(|e| exporting = e.remove(id));
                if exporting {
                    let (id, error) = (id.clone(), error.clone());
                    self.export_error
                        .set(Some(Msg::new(move |t| (t.vectors.download_failed)(&id, &(t.failure.failure)(&error)))));
                }
            }
            // The worker is gone, and with it whatever it was doing.
            Response::Crashed { .. } => {
                if self.build.with_untracked(Option::is_some) {
                    self.build.set(None);
                    self.build_error.set(Some(Msg::new(|t| t.vectors.crashed_during_build.into())));
                }
                self.importing.set(None);
                self.exports.update_value(BTreeSet::clear);
            }
            _ => {}
        }
        None
    }

    /// Forgets the work of a worker that was ended (the page switched engines); its model and
    /// vectors went with it, so there is nothing to report.
    pub fn abandon(&self) {
        self.build.set(None);
        self.importing.set(None);
        self.exports.update_value(BTreeSet::clear);
    }

    /// Ids that a new vector must not take: those loaded and those on their way.
    fn taken(&self, vectors: RwSignal<Vec<VectorInfo>>) -> Vec<String> {
        let mut taken: Vec<String> = vectors.with_untracked(|vs| vs.iter().map(|v| v.id.clone()).collect());
        taken.extend(self.build.with_untracked(|b| b.as_ref().map(|run| run.id.clone())));
        taken.extend(self.importing.get_untracked());
        taken
    }

    /// Asks the worker to build a vector; its slider appears when it is done.
    #[allow(clippy::too_many_arguments)]
    pub fn start_build(
        &self,
        bridge: Bridge,
        vectors: RwSignal<Vec<VectorInfo>>,
        label: &str,
        low: &str,
        high: &str,
        pairs: PairSource,
        method: BuildMethod,
        layers: (u32, u32),
        default_label: &str,
    ) {
        let label = one_line(label);
        // The name is the slider's own from now on, in whatever language it was typed.
        let label = if label.is_empty() { default_label.to_string() } else { label };
        let id = unique_id(&label, &self.taken(vectors));
        let end = |s: &str, default: &str| {
            let s = one_line(s);
            if s.is_empty() { default.to_string() } else { s }
        };
        self.build_error.set(None);
        self.build_done.set(None);
        self.build.set(Some(BuildRun { id: id.clone(), label: label.clone(), done: 0, total: None }));
        bridge.send(Request::BuildVector {
            id,
            label,
            low: end(low, "−"),
            high: end(high, "+"),
            pairs,
            method,
            layers,
        });
    }

    pub fn cancel_build(&self, bridge: Bridge) {
        if let Some(run) = self.build.get_untracked() {
            bridge.send(Request::CancelBuild { id: run.id });
        }
    }

    /// Asks the worker to attach a control-vector file's bytes as a new slider.
    pub fn start_import(&self, bridge: Bridge, vectors: RwSignal<Vec<VectorInfo>>, name: String, bytes: Vec<u8>) {
        let stem = name.strip_suffix(".gguf").or_else(|| name.strip_suffix(".GGUF")).unwrap_or(&name);
        let id = unique_id(stem, &self.taken(vectors));
        self.import_error.set(None);
        self.import_done.set(None);
        self.importing.set(Some(id.clone()));
        bridge.send(Request::ImportVector { id, name, bytes });
    }

    /// Asks the worker for vector `id`'s GGUF; `apply` hands back the bytes to download.
    pub fn start_export(&self, bridge: Bridge, id: &str) {
        self.export_error.set(None);
        self.exports.update_value(|e| {
            e.insert(id.to_string());
        });
        bridge.send(Request::ExportVector { id: id.to_string() });
    }

    /// Shows a problem with a picked file (already on one line).
    pub fn show_import_error(&self, message: Msg) {
        self.import_done.set(None);
        self.import_error.set(Some(message));
    }
}

/// "My Vector!" → "my-vector", then "my-vector-2"… until it is not in `taken`. Ids name
/// coefficients and downloaded files, so they keep to lowercase letters, digits and "-".
pub fn unique_id(name: &str, taken: &[String]) -> String {
    let mut slug = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let mut slug: String = slug.trim_end_matches('-').chars().take(40).collect();
    slug = slug.trim_end_matches('-').to_string();
    if slug.is_empty() {
        slug = "vector".into();
    }
    if !taken.contains(&slug) {
        return slug;
    }
    (2..).map(|n| format!("{slug}-{n}")).find(|id| !taken.contains(id)).unwrap_or(slug)
}

/// What is wrong with typed pairs; lines count from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PairsError {
    Parts { line: usize, found: usize },
    Empty { line: usize, part: PairPart },
    Same { line: usize },
    NoPairs,
}

impl PairsError {
    pub fn msg(self) -> Msg {
        Msg::new(move |t| {
            let v = &t.vectors;
            match self {
                Self::Parts { line, found } => (v.pair_parts)(line, found),
                Self::Empty { line, part } => (v.pair_empty)(line, part),
                Self::Same { line } => (v.pair_same)(line),
                Self::NoPairs => v.pair_none.into(),
            }
        })
    }
}

/// What is wrong with a block range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LayersError {
    NotNumber { block: Block, got: String },
    Zero,
    Order { start: u32, end: u32 },
    Beyond { last: u32 },
}

impl LayersError {
    pub fn msg(self) -> Msg {
        Msg::new(move |t| {
            let v = &t.vectors;
            match &self {
                Self::NotNumber { block, got } => (v.layer_not_number)(*block, got),
                Self::Zero => v.layer_zero.into(),
                Self::Order { start, end } => (v.layer_order)(*start, *end),
                Self::Beyond { last } => (v.layer_beyond)(*last),
            }
        })
    }
}

/// Typed pairs, one per line: `prompt | positive reply | negative reply`. Blank lines are
/// skipped; an error names the first wrong line.
pub fn parse_pairs(text: &str) -> Result<Vec<TypedPair>, PairsError> {
    let mut pairs = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let parts: Vec<&str> = line.split('|').map(str::trim).collect();
        let n = i + 1;
        if parts.len() != 3 {
            return Err(PairsError::Parts { line: n, found: parts.len() });
        }
        if let Some(part) = [PairPart::Prompt, PairPart::Positive, PairPart::Negative]
            .into_iter()
            .zip(&parts)
            .find_map(|(which, part)| part.is_empty().then_some(which))
        {
            return Err(PairsError::Empty { line: n, part });
        }
        if parts[1] == parts[2] {
            return Err(PairsError::Same { line: n });
        }
        pairs.push(TypedPair { prompt: parts[0].into(), positive: parts[1].into(), negative: parts[2].into() });
    }
    if pairs.is_empty() {
        return Err(PairsError::NoPairs);
    }
    Ok(pairs)
}

/// A layer range the model can steer: 1 ≤ start ≤ end ≤ n_layer − 1.
pub fn check_layers(start: &str, end: &str, n_layer: Option<u32>) -> Result<(u32, u32), LayersError> {
    let parse = |s: &str, block: Block| {
        s.trim().parse::<u32>().map_err(|_| LayersError::NotNumber { block, got: s.trim().to_string() })
    };
    let (start, end) = (parse(start, Block::First)?, parse(end, Block::Last)?);
    let last = n_layer.map(|n| n.saturating_sub(1));
    if start == 0 {
        return Err(LayersError::Zero);
    }
    if start > end {
        return Err(LayersError::Order { start, end });
    }
    if let Some(last) = last
        && end > last
    {
        return Err(LayersError::Beyond { last });
    }
    Ok((start, end))
}

/// The layer range a build form starts with: the loaded sentiment vector's, else the built-in
/// one's, within the model's blocks.
pub fn default_layers(vectors: &[VectorInfo], n_layer: Option<u32>) -> (u32, u32) {
    let (start, end) = vectors.iter().find(|v| v.id == "sentiment").map_or(DEFAULT_LAYERS, |v| v.layers);
    match n_layer {
        Some(n) if n >= 2 => {
            let last = n - 1;
            let end = end.min(last);
            (start.clamp(1, end), end)
        }
        _ => (start, end),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Failure;

    fn info(id: &str) -> VectorInfo {
        VectorInfo {
            id: id.into(),
            label: format!("{id} label"),
            low: "−".into(),
            high: "+".into(),
            min: -1.0,
            max: 1.0,
            strength: 3.0,
            layers: (2, 4),
            origin: crate::protocol::VectorOrigin::Shipped { note: String::new() },
            gated: None,
        }
    }

    #[test]
    fn ids_are_slugs_and_unique() {
        assert_eq!(unique_id("My Vector!", &[]), "my-vector");
        assert_eq!(unique_id("  ***  ", &[]), "vector");
        assert_eq!(unique_id("Été 2024", &[]), "t-2024");
        let taken = vec!["sentiment".to_string(), "sentiment-2".to_string()];
        assert_eq!(unique_id("Sentiment", &taken), "sentiment-3");
        assert!(unique_id(&"x".repeat(100), &[]).len() <= 40);
    }

    #[test]
    fn typed_pairs_name_the_wrong_line() {
        let text = "Hi | Hello, lovely to see you! | Ugh, what now?\n\n How are you? | Great! | Awful.\n";
        let pairs = parse_pairs(text).unwrap();
        assert_eq!(pairs.len(), 2);
        assert_eq!(
            pairs[1],
            TypedPair { prompt: "How are you?".into(), positive: "Great!".into(), negative: "Awful.".into() }
        );
        let en = |e: PairsError| e.msg().render(&crate::ui::i18n::EN);
        let err = en(parse_pairs("a | b | c\nonly | two\n").unwrap_err());
        assert!(err.starts_with("line 2: expected 3 parts"), "{err}");
        let err = en(parse_pairs("a | b | c\n\nx |  | z").unwrap_err());
        assert_eq!(err, "line 3: the positive reply is empty");
        assert!(en(parse_pairs("a | same | same").unwrap_err()).contains("the same"));
        let zh = parse_pairs("x |  | z").unwrap_err().msg().render(&crate::ui::i18n::ZH);
        assert_eq!(zh, "第 1 行：正向回复为空");
        assert!(parse_pairs("  \n").is_err());
    }

    #[test]
    fn layer_ranges_are_checked_against_the_model() {
        assert_eq!(check_layers("3", " 5 ", Some(30)), Ok((3, 5)));
        let en = |e: LayersError| e.msg().render(&crate::ui::i18n::EN);
        assert!(en(check_layers("0", "5", Some(30)).unwrap_err()).contains("block 0"));
        assert!(en(check_layers("6", "5", Some(30)).unwrap_err()).contains("comes after"));
        assert!(en(check_layers("3", "30", Some(30)).unwrap_err()).contains("0–29"));
        assert!(check_layers("a", "5", None).is_err());
        assert_eq!(default_layers(&[], Some(30)), (14, 24));
        assert_eq!(default_layers(&[], Some(4)), (3, 3));
        let mut s = info("sentiment");
        s.layers = (10, 12);
        assert_eq!(default_layers(&[s], Some(30)), (10, 12));
    }

    #[test]
    fn a_build_reports_progress_then_ends() {
        let work = VectorWork::new();
        work.build.set(Some(BuildRun { id: "mine".into(), label: "Mine".into(), done: 0, total: None }));
        work.apply(&Response::BuildProgress { id: "other".into(), done: 9, total: 9 });
        work.apply(&Response::BuildProgress { id: "mine".into(), done: 2, total: 4 });
        assert_eq!(work.build.get_untracked().map(|r| (r.done, r.total)), Some((2, Some(4))));
        work.apply(&Response::VectorAdded(info("mine")));
        assert_eq!(work.build.get_untracked(), None);
        assert!(work.build_done.get_untracked().is_some());
    }

    #[test]
    fn failures_go_to_what_failed_on_one_line() {
        let work = VectorWork::new();
        work.importing.set(Some("imp".into()));
        let error = Failure::OtherWidth { vector: 4096, model: 576 };
        work.apply(&Response::BuildFailed { id: "imp".into(), error: error.clone() });
        assert!(work.import_error.get_untracked().is_none(), "a build's failure is not the import's");
        work.apply(&Response::ImportFailed { id: "imp".into(), error });
        assert_eq!(
            work.import_error.get_untracked().map(|m| m.render(&crate::ui::i18n::EN)).as_deref(),
            Some(
                "The vector could not be imported: this vector is for a model with 4096-wide activations; the loaded model has 576."
            )
        );
        assert_eq!(work.importing.get_untracked(), None);
        assert!(work.build_error.get_untracked().is_none());
    }

    #[test]
    fn only_asked_for_bytes_become_downloads() {
        let work = VectorWork::new();
        let bytes = Response::VectorBytes { id: "sentiment".into(), bytes: b"GGUF".to_vec() };
        assert_eq!(work.apply(&bytes), None);
        work.exports.update_value(|e| {
            e.insert("sentiment".into());
        });
        assert_eq!(work.apply(&bytes), Some(("sentiment".into(), b"GGUF".to_vec())));
        assert_eq!(work.apply(&bytes), None, "one download per click");
    }
}
