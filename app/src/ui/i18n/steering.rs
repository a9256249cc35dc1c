//! The steering panel: sliders, their notes, and the names of the built-in concepts. Vectors built
//! or imported by the user keep the names they were given.

use crate::protocol::{BuildMethod, GatedInfo, VectorInfo, VectorOrigin};

pub struct SteeringText {
    pub title: &'static str,
    pub none_loaded: &'static str,
    /// While a model loads (its vectors come with it).
    pub waiting_for_model: &'static str,
    /// Around `vectors/manifest.json`, shown as code.
    pub none_source: (&'static str, &'static str),
    /// The worker's reason why the model has no vectors, as it came.
    pub why_none: fn(&str) -> String,
    pub intro: &'static str,
    /// " (layers 14–24): " between a vector's label and its note.
    pub layers: fn(u32, u32) -> String,
    pub live_hint: &'static str,
    pub reset: &'static str,
    pub reset_label: fn(&str) -> String,
    pub download: &'static str,
    pub download_title: &'static str,
    pub download_label: fn(&str) -> String,
    /// The slider's spoken value: "0.50, toward positive".
    pub valuetext: fn(&str, Option<&str>) -> String,
    pub planned_valuetext: &'static str,
    pub concepts: [ConceptText; 3],
    /// The slider's conditional part: its blocks, the gate's block and threshold.
    pub gated: fn(&GatedInfo) -> String,
    /// Where a vector the page has no words of its own for came from (built here, imported).
    pub origin: fn(&VectorInfo) -> String,
}

/// A built-in concept's words, found by its id (public/vectors/manifest.json).
pub struct ConceptText {
    pub id: &'static str,
    pub label: &'static str,
    pub low: &'static str,
    pub high: &'static str,
    pub note: &'static str,
}

impl SteeringText {
    pub fn concept(&self, id: &str) -> Option<&ConceptText> {
        self.concepts.iter().find(|c| c.id == id)
    }
}

pub const EN: SteeringText = SteeringText {
    title: "Steering",
    none_loaded: "No steering vector is loaded for this model, so these controls are off. ",
    waiting_for_model: "The sliders switch on once a model has loaded: its steering vectors come with it.",
    none_source: ("Vectors come from ", " and are attached when they fit the model."),
    why_none: |why| why.to_string(),
    intro: "Each slider adds a direction in the model's hidden state (a steering vector), scaled by its value, at \
            every new token. Vectors built or imported here last until another model is loaded.",
    layers: |a, b| format!(" (layers {a}–{b}): "),
    live_hint: "Changes apply from the next token.",
    reset: "Reset",
    reset_label: |label| format!("Reset {label}"),
    download: "Download .gguf",
    download_title: "A llama.cpp control-vector file (use it with llama.cpp's --control-vector)",
    download_label: |label| format!("Download {label} as .gguf"),
    valuetext: |value, side| match side {
        Some(side) => format!("{value}, toward {side}"),
        None => value.to_string(),
    },
    planned_valuetext: "off: no vector loaded",
    // Kept equal to the manifest by a test.
    concepts: [
        ConceptText {
            id: "sentiment",
            label: "Sentiment",
            low: "negative",
            high: "positive",
            note: "Mean difference of 266 contrastive pairs (data/concepts/sentiment.jsonl), blocks 14–24; ±1 = the \
                   largest strength that kept perplexity within 1.75× on development prompts (docs/eval/).",
        },
        ConceptText {
            id: "formality",
            label: "Formality",
            low: "casual",
            high: "formal",
            note: "Mean difference of 260 contrastive pairs (data/concepts/formality.jsonl), blocks 10–20; ±1 = the \
                   largest strength that kept perplexity within 1.75× on development prompts (docs/eval/).",
        },
        ConceptText {
            id: "safety",
            label: "Safety strength",
            low: "off",
            high: "strong",
            note: "Civility, always on: mean difference of 230 pairs that differ only in civility, blocks 8–16 (at \
                   half strength while the gate is open). On held-out prompts at 1 the gate told harmful from borderline \
                   requests with AUROC 0.96 and opened for 88% of harmful and 7% of borderline ones, and the small model \
                   refused 65% of harmful requests (90% refused or deflected), against 5% of benign ones: see \
                   docs/eval/safety/.",
        },
    ],
    origin: |v| {
        let (a, b, s) = (v.layers.0, v.layers.1, v.strength);
        match &v.origin {
            VectorOrigin::Shipped { note } => note.clone(),
            VectorOrigin::Built { pairs, file, method } => format!(
                "Built here from {pairs} pairs ({}, {}), blocks {a}–{b}; ±1 = strength {s:.2}. Kept until another \
                 model loads: download it to keep it.",
                file.as_deref().unwrap_or("typed pairs"),
                match method {
                    BuildMethod::Mean => "mean difference",
                    BuildMethod::Pca => "PCA",
                }
            ),
            VectorOrigin::Imported { file } => {
                format!("Imported from {file}, blocks {a}–{b}; ±1 = strength {s:.2}. Kept until another model loads.")
            }
        }
    },
    gated: |g| {
        let civility = g.parent_share.map_or(String::new(), |share| {
            format!(
                " While it is open, civility is added at {:.0}% of its strength: at full strength it made refusals rarer.",
                share * 100.0
            )
        });
        format!(
            " Under the same slider, a refusal direction (blocks {}–{}) is added only when the safety gate opens: a probe \
             reads block {} at the end of the request, and a score above {:.2} steers the reply toward declining.{civility}",
            g.layers.0, g.layers.1, g.condition_block, g.threshold
        )
    },
};

pub const ZH: SteeringText = SteeringText {
    title: "激活引导",
    none_loaded: "当前模型没有加载引导向量，所以这些控件不可用。",
    waiting_for_model: "模型加载完成后滑块才会启用：引导向量随模型一同加载。",
    none_source: ("引导向量来自 ", "，与模型匹配时才会挂载。"),
    why_none: |why| format!("原因：{why}"),
    intro: "每个滑块都会在生成每个新词元时，把模型隐藏状态中的一个方向（引导向量）乘以滑块的值后加进去。\
            在这里构建或导入的向量会一直保留，直到加载另一个模型。",
    layers: |a, b| format!("（第 {a}–{b} 层）："),
    live_hint: "改动从下一个词元开始生效。",
    reset: "归零",
    reset_label: |label| format!("把“{label}”归零"),
    download: "下载 .gguf",
    download_title: "llama.cpp 控制向量文件（可配合 llama.cpp 的 --control-vector 使用）",
    download_label: |label| format!("把“{label}”下载为 .gguf"),
    valuetext: |value, side| match side {
        Some(side) => format!("{value}，偏向{side}"),
        None => value.to_string(),
    },
    planned_valuetext: "不可用：未加载向量",
    concepts: [
        ConceptText {
            id: "sentiment",
            label: "情感",
            low: "消极",
            high: "积极",
            note: "266 对对比样本（data/concepts/sentiment.jsonl）的均值差，作用于第 14–24 块；±1 对应在开发集\
                   提示词上困惑度不超过 1.75 倍时的最大强度（docs/eval/）。",
        },
        ConceptText {
            id: "formality",
            label: "正式程度",
            low: "随意",
            high: "正式",
            note: "260 对对比样本（data/concepts/formality.jsonl）的均值差，作用于第 10–20 块；±1 对应在开发集\
                   提示词上困惑度不超过 1.75 倍时的最大强度（docs/eval/）。",
        },
        ConceptText {
            id: "safety",
            label: "安全强度",
            low: "关闭",
            high: "强",
            note: "“文明”方向始终生效：230 对只在礼貌程度上不同的样本的均值差，作用于第 8–16 块（闸门开启时强度减半）。\
                   在留出集上（滑块为 1），闸门区分有害请求与边缘请求的 AUROC 为 0.96，对 88% 的有害请求和 7% 的边缘请求开启；\
                   这个小模型拒绝了 65% 的有害请求（90% 拒绝或回避），良性请求只被拒绝了 5%：\
                   见 docs/eval/safety/。",
        },
    ],
    origin: |v| {
        let (a, b, s) = (v.layers.0, v.layers.1, v.strength);
        match &v.origin {
            VectorOrigin::Shipped { note } => note.clone(),
            VectorOrigin::Built { pairs, file, method } => format!(
                "在本页用 {pairs} 对样本构建（{}，{}），作用于第 {a}–{b} 块；±1 对应强度 {s:.2}。加载另一个模型前一直保留：\
                 下载即可长期保存。",
                file.as_deref().unwrap_or("手动输入的样本"),
                match method {
                    BuildMethod::Mean => "均值差",
                    BuildMethod::Pca => "主成分分析",
                }
            ),
            VectorOrigin::Imported { file } => {
                format!("从 {file} 导入，作用于第 {a}–{b} 块；±1 对应强度 {s:.2}。加载另一个模型前一直保留。")
            }
        }
    },
    gated: |g| {
        let civility = g.parent_share.map_or(String::new(), |share| {
            format!("闸门开启时，“文明”方向只按其强度的 {:.0}% 加入：强度全开时，模型更少拒绝。", share * 100.0)
        });
        format!(
            " 同一个滑块下还有一个“拒绝”方向（第 {}–{} 块），只有安全闸门开启时才会加上：探针在请求末尾读取第 {} 块，\
             得分超过 {:.2} 时，回答会被引导为婉拒。{civility}",
            g.layers.0, g.layers.1, g.condition_block, g.threshold
        )
    },
};
